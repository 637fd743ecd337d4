//! Replays the committed `ioc_feed` fuzz seeds (`fuzz/corpus-seed/ioc_feed/`)
//! through the entry point `fuzz/fuzz_targets/ioc_feed.rs` calls
//! (`kahu_intel::fuzzing::ioc_feed`: load with format sniffing, match one
//! fixed event, build findings, export STIX), so every `cargo test`
//! re-checks them without cargo-fuzz.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_intel::LoadReport;
use kahu_intel::fuzzing::{IocFeedOutcome, ioc_feed};
use kahu_test_support::{replay_fuzz_seeds, seed_result};

fn outcome<'a>(all: &'a [(String, IocFeedOutcome)], name: &str) -> &'a IocFeedOutcome {
    seed_result(all, name)
}

/// The load report of a seed that must load.
fn loaded<'a>(all: &'a [(String, IocFeedOutcome)], name: &str) -> &'a LoadReport {
    match &outcome(all, name).load {
        Ok(r) => r,
        Err(e) => panic!("{name} did not load: {e}"),
    }
}

#[test]
fn ioc_feed_seeds() {
    let all = replay_fuzz_seeds("ioc_feed", ioc_feed);

    // Expected values come from the seed texts written by fuzz/make-seeds.py;
    // they show the replay reaches the loaders, the matcher, the finding
    // builder and the exporter rather than stopping at format detection.
    // (load count, context count, findings on the fixed event)
    for (name, n, ctx, hits) in [
        ("stix-bundle.json", 2, 0, 2),
        ("stix-patterns.json", 11, 0, 11),
        ("stix-scos.json", 0, 5, 5),
        ("stix-array.json", 1, 1, 2),
        ("stix-bad-objects.json", 1, 0, 1),
        ("stix-pattern-nesting.json", 1, 0, 1),
        ("json-deep-unknown-field.json", 1, 0, 1),
        ("misp-event.json", 10, 1, 10),
        ("misp-response.json", 10, 1, 10),
        ("misp-attribute-only.json", 1, 0, 1),
        ("misp-export.csv", 2, 1, 3),
        ("feed.csv", 3, 0, 3),
        ("feed.tsv", 6, 0, 6),
        ("headerless.csv", 2, 0, 2),
        ("list.txt", 11, 0, 11),
        ("list-crlf-bom.txt", 2, 0, 2),
    ] {
        let r = loaded(&all, name);
        assert_eq!((r.loaded, r.context), (n, ctx), "{name}: {:#?}", r.issues);
        let o = outcome(&all, name);
        assert_eq!(o.findings.len(), hits, "{name}: findings");
        assert_eq!(o.exported, o.indicators, "{name}: every indicator exported");
    }

    // The STIX seed's marking definition and `indicates` relationships
    // reach the finding: ATT&CK technique and group, strictest TLP.
    let o = outcome(&all, "stix-bundle.json");
    let ip = o
        .findings
        .iter()
        .find(|f| f.fields.iter().any(|(_, v)| v.contains("203.0.113.10")))
        .expect("the IP indicator matched");
    assert!(ip.techniques.iter().any(|t| &**t == "T1190"), "{ip:?}");
    assert!(ip.groups.iter().any(|g| &**g == "G0065"), "{ip:?}");
    assert!(
        ip.fields
            .iter()
            .any(|(k, v)| &**k == "ioc_tlp" && v == "TLP:AMBER+STRICT"),
        "{:?}",
        ip.fields
    );

    // Broken input is reported per object or line, never loaded.
    assert!(loaded(&all, "stix-bad-objects.json").issues.len() >= 10);
    assert!(loaded(&all, "misp-bad-types.json").issues.len() >= 10);
    assert!(loaded(&all, "list-bad-values.txt").issues.len() >= 10);
    for bad in [
        "stix-truncated.json",
        "misp-truncated.json",
        "stix-wrong-type.json",
        "json-number-out-of-range.json",
        "json-deep-nesting.json",
        "invalid-utf8.json",
    ] {
        assert!(outcome(&all, bad).load.is_err(), "{bad} loaded");
    }
    for empty in ["empty.txt", "whitespace.txt", "json-empty-object.json"] {
        assert_eq!(outcome(&all, empty).indicators, 0, "{empty}");
    }
}
