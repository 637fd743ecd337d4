#![no_main]
//! Fuzz the EVTX reader (evtx crate + kahu's normaliser). Seed the corpus
//! with real files, e.g. `cp ../../shared/evtx/EVTX-ATTACK-SAMPLES/*/*.evtx corpus/evtx_reader/`.
//!
//! The body is `kahu_ingest::fuzzing::evtx_reader`, which
//! `crates/ingest/tests/fuzz_corpus.rs` replays the seed corpus through.

use kahu_ingest::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzzing::evtx_reader(data, &mut fuzzing::Discard);
});
