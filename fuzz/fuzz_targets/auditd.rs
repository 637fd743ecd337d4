#![no_main]
//! Fuzz the auditd text-log reader: detection and reading of arbitrary bytes
//! must never panic, hang or grow without bound.
//!
//! The body is `kahu_ingest::fuzzing::auditd`, which
//! `crates/ingest/tests/fuzz_corpus.rs` replays the seed corpus through.

use kahu_ingest::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzzing::auditd(data, &mut fuzzing::Discard);
});
