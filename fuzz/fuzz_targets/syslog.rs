#![no_main]
//! Fuzz the syslog text-log reader: detection and reading of arbitrary bytes
//! must never panic, hang or grow without bound.
//!
//! The body is `kahu_ingest::fuzzing::syslog`, which
//! `crates/ingest/tests/fuzz_corpus.rs` replays the seed corpus through.

use kahu_ingest::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzzing::syslog(data, &mut fuzzing::Discard);
});
