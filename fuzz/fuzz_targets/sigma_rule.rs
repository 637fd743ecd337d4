//! Fuzz the Sigma rule parser and compiler, then evaluate whatever compiled
//! against an event built from the same bytes. Nothing may panic, hang or
//! allocate without bound.
//!
//! The body is `kahu_sigma::fuzzing::sigma_rule`, which
//! `crates/sigma/tests/fuzz_corpus.rs` replays the seed corpus through.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kahu_sigma::fuzzing::sigma_rule(data);
});
