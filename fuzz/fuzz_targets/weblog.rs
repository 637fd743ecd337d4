#![no_main]
//! Fuzz the web-server text-log readers (IIS W3C, access log): detection and
//! reading of arbitrary bytes must never panic, hang or grow without bound.
//!
//! The body is `kahu_ingest::fuzzing::weblog`, which
//! `crates/ingest/tests/fuzz_corpus.rs` replays the seed corpus through.

use kahu_ingest::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzzing::weblog(data, &mut fuzzing::Discard);
});
