//! Fuzz the threat-intelligence feed loader: `IocSet::load_bytes` detects
//! and reads STIX 2.1 bundles (patterns, marking definitions, relationships),
//! MISP events, CSV and plain lists. Whatever loads is matched against one
//! fixed synthetic event, turned into findings, and exported back out as a
//! STIX bundle. Nothing may panic, hang or allocate without bound.
//!
//! The body is `kahu_intel::fuzzing::ioc_feed`, which
//! `crates/intel/tests/fuzz_corpus.rs` replays the seed corpus through.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kahu_intel::fuzzing::ioc_feed(data);
});
