//! Fuzz the actor-profile parser (`ActorProfile::parse`: YAML, schema,
//! validation of sources, IPs, CIDRs, AS numbers, normalisation), then rank
//! every profile that parses against the embedded ATT&CK knowledge base on
//! a small fixed case. Nothing may panic, hang or allocate without bound.
#![no_main]

use kahu_attack::{ActorProfile, Attribution, CaseEvidence, KnowledgeBase, RankOptions};
use libfuzzer_sys::fuzz_target;

/// A small case touching each kind of profile evidence (technique, CVE,
/// region, sector, IP, domain, ASN, port, tool, date). Keep in step with
/// `crates/attack/tests/fuzz_corpus.rs`.
fn evidence() -> CaseEvidence {
    let mut ev = CaseEvidence::default();
    ev.add_technique("T1190");
    ev.add_cve("CVE-2021-44228");
    ev.add_region("NZ");
    ev.add_sector("government");
    ev.add_domain("c2.evil.example");
    ev.ips.insert("203.0.113.10".parse().expect("IP literal"));
    ev.asns.insert(64500);
    ev.ports.insert(9998);
    ev.tools.insert("China Chopper".into());
    ev.observe_date(chrono::NaiveDate::from_ymd_opt(2024, 3, 1).expect("date literal"));
    ev
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profile) = ActorProfile::parse(text, "fuzz") else {
        return;
    };
    // The knowledge base is parsed once and cached by `embedded()`.
    let _ = Attribution::rank(
        KnowledgeBase::embedded(),
        &[profile],
        &evidence(),
        &RankOptions::default(),
    );
});
