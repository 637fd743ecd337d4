//! Entry point of the `actor_profile` cargo-fuzz target
//! (`fuzz/fuzz_targets/actor_profile.rs`), shared with the corpus-replay
//! test (`tests/fuzz_corpus.rs`) so both drive the profile parser and the
//! ranking the same way. Not part of kahu's interface.

use crate::{ActorProfile, Attribution, CaseEvidence, KnowledgeBase, ProfileError, RankOptions};

/// A small case touching each kind of profile evidence (technique, CVE,
/// region, sector, IP, domain, ASN, port, tool, date).
pub fn probe_case() -> CaseEvidence {
    let mut ev = CaseEvidence::default();
    ev.add_technique("T1190");
    ev.add_cve("CVE-2021-44228");
    ev.add_region("NZ");
    ev.add_sector("government");
    ev.add_domain("c2.evil.example");
    ev.ips.insert(std::net::IpAddr::from([203, 0, 113, 10]));
    ev.asns.insert(64500);
    ev.ports.insert(9998);
    ev.tools.insert("China Chopper".into());
    if let Some(day) = chrono::NaiveDate::from_ymd_opt(2024, 3, 1) {
        ev.observe_date(day);
    }
    ev
}

/// `actor_profile`: parse and validate `data` as an actor profile, then
/// rank the profile against the embedded ATT&CK knowledge base on
/// [`probe_case`]. `None` for input that is not UTF-8.
pub fn actor_profile(data: &[u8]) -> Option<Result<(ActorProfile, Attribution), ProfileError>> {
    let text = std::str::from_utf8(data).ok()?;
    Some(ActorProfile::parse(text, "fuzz").map(|profile| {
        // The knowledge base is parsed once and cached by `embedded()`.
        let ranked = Attribution::rank(
            KnowledgeBase::embedded(),
            std::slice::from_ref(&profile),
            &probe_case(),
            &RankOptions::default(),
        );
        (profile, ranked)
    }))
}
