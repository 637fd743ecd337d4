#![no_main]
//! Fuzz the Zeek text-log readers (TSV, JSON): detection and reading of
//! arbitrary bytes must never panic, hang or grow without bound.
//!
//! The body is `kahu_ingest::fuzzing::zeek`, which
//! `crates/ingest/tests/fuzz_corpus.rs` replays the seed corpus through.

use kahu_ingest::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzzing::zeek(data, &mut fuzzing::Discard);
});
