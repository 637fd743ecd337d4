#![no_main]
//! Fuzz the JSON / JSON-lines reader (every record shape: EVTX JSON,
//! Winlogbeat, NXLog, generic): arbitrary bytes must never panic or hang.
//!
//! The body is `kahu_ingest::fuzzing::json_reader`, which
//! `crates/ingest/tests/fuzz_corpus.rs` replays the seed corpus through.

use kahu_ingest::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzzing::json_reader(data, &mut fuzzing::Discard);
});
