//! Fuzz the actor-profile parser (`ActorProfile::parse`: YAML, schema,
//! validation of sources, IPs, CIDRs, AS numbers, normalisation), then rank
//! every profile that parses against the embedded ATT&CK knowledge base on
//! a small fixed case. Nothing may panic, hang or allocate without bound.
//!
//! The body is `kahu_attack::fuzzing::actor_profile`, which
//! `crates/attack/tests/fuzz_corpus.rs` replays the seed corpus through.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kahu_attack::fuzzing::actor_profile(data);
});
