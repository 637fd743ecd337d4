//! Restricted intelligence never reaches a bundle shared at a lower TLP:
//! an unmarked feed is TLP:RED unless the analyst says otherwise, and a
//! STIX indicator marked RED on one property only is RED.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_assess::{AssessConfig, UnmarkedTlp, run};
use kahu_finding::FindingKind;
use kahu_intel::Tlp;
use std::path::Path;

const C2: &str = "203.0.113.9";

fn evidence(dir: &Path) -> std::path::PathBuf {
    let log = dir.join("auth.log");
    std::fs::write(
        &log,
        format!("Mar  3 10:00:01 web01 sshd[811]: Accepted password for root from {C2} port 50022 ssh2\n"),
    )
    .expect("write evidence");
    log
}

/// Assess with one feed; whether the C2 address is in a shared indicator.
fn shared_in_clear_bundle(dir: &Path, feed: &Path, ioc_tlp: UnmarkedTlp) -> bool {
    let mut cfg = AssessConfig::new(vec![evidence(dir)], dir.join("out"));
    cfg.iocs.push(feed.to_path_buf());
    cfg.ioc_tlp = ioc_tlp;
    cfg.case.tlp = kahu_intel::Tlp::Clear;
    cfg.store_case = false;
    let r = run(&cfg, &()).expect("assessment");
    assert!(
        r.findings.iter().any(|f| f.kind == FindingKind::Ioc),
        "the indicator is used for detection whatever its TLP"
    );
    let bundle: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("out").join("stix-bundle.json")).expect("bundle"),
    )
    .expect("bundle json");
    bundle["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["type"] == "indicator")
        .any(|o| o["pattern"].as_str().is_some_and(|p| p.contains(C2)))
}

#[test]
fn an_unmarked_feed_is_red_unless_the_analyst_marks_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, format!("{C2}\n")).expect("write feed");
    assert!(
        !shared_in_clear_bundle(dir.path(), &feed, UnmarkedTlp::default()),
        "an unmarked list went out in a TLP:CLEAR bundle"
    );
    let cleared = UnmarkedTlp::parse(&[format!("{}=TLP:CLEAR", feed.display())]).expect("spec");
    assert_eq!(cleared.for_feed(&feed), Tlp::Clear);
    assert!(
        shared_in_clear_bundle(dir.path(), &feed, cleared),
        "--ioc-tlp FEED=TLP:CLEAR shares it"
    );
    assert!(UnmarkedTlp::parse(&["TLP:PURPLE".into()]).is_err());
}

#[test]
fn a_granular_red_marking_keeps_the_indicator_out_of_a_clear_bundle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let feed = dir.path().join("partner.json");
    let bundle = format!(
        r#"{{"type":"bundle","id":"bundle--1","objects":[
      {{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000001",
       "created":"2021-01-01T00:00:00Z","modified":"2021-01-01T00:00:00Z","valid_from":"2021-01-01T00:00:00Z",
       "pattern":"[ipv4-addr:value = '{C2}']","pattern_type":"stix",
       "object_marking_refs":["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"],
       "granular_markings":[{{"marking_ref":"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1","selectors":["pattern"]}}]}}
    ]}}"#
    );
    std::fs::write(&feed, bundle).expect("write feed");
    // Even with unmarked feeds declared CLEAR: this one is marked.
    let all_clear = UnmarkedTlp::parse(&["clear".into()]).expect("spec");
    assert!(!shared_in_clear_bundle(dir.path(), &feed, all_clear));
}
