#![no_main]
//! Fuzz the archive walk (zip, tar, gzip, nesting) and format dispatch,
//! with small caps so bombs are cut quickly.
//!
//! The body is `kahu_ingest::fuzzing::archive_reader`, which
//! `crates/ingest/tests/fuzz_corpus.rs` replays the seed corpus through.

use kahu_ingest::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzzing::archive_reader(data, &mut fuzzing::Discard);
});
