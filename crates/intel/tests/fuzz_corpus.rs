//! Replays the committed `ioc_feed` fuzz seeds (`fuzz/corpus-seed/ioc_feed/`)
//! through the same code path as `fuzz/fuzz_targets/ioc_feed.rs` (load with
//! format sniffing, match one fixed event, build findings, export STIX), so
//! every `cargo test` re-checks them without cargo-fuzz.

use kahu_event::{Event, Location, Provenance, Value, parse_timestamp};
use kahu_finding::Finding;
use kahu_intel::{IntelError, IocSet, LoadReport};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus-seed/ioc_feed")
}

/// Mirror of the fuzz target's event; keep the two in step.
fn event() -> Event {
    let mut e = Event::new(Provenance::new("fuzz.evtx".into(), Location::Record(1)));
    e.timestamp = parse_timestamp("2024-03-01T10:00:00Z");
    e.host = Some("WEB01".into());
    for (k, v) in [
        ("DestinationIp", "203.0.113.10"),
        ("DestinationPort", "8443"),
        ("SourceIp", "2001:db8::bad"),
        ("QueryName", "c2.evil.example"),
        ("url", "https://evil.example/gate.php?id=1"),
        ("cs-uri-stem", "/owa/auth/errorEE.aspx"),
        (
            "Hashes",
            "MD5=098F6BCD4621D373CADE4E832627B4F6,SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
        ),
        ("Image", r"C:\inetpub\wwwroot\shell.aspx"),
        ("CommandLine", "powershell.exe -nop -enc SQBFAFgA"),
        (
            "TargetObject",
            r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\updater",
        ),
        ("sender", "phish@bad.example"),
        ("cs(User-Agent)", "Mozilla/5.0+(kahu-fuzz)"),
        ("asn", "AS64500"),
    ] {
        e.fields.insert(k, Value::str(v));
    }
    e
}

/// What one seed produced.
struct Outcome {
    load: Result<LoadReport, IntelError>,
    indicators: usize,
    findings: Vec<Finding>,
    exported: usize,
}

/// Mirror of the fuzz target body; keep the two in step.
fn run(data: &[u8]) -> Outcome {
    let mut set = IocSet::new();
    set.set_match_context(true);
    let load = set.load_bytes(data, "fuzz");
    let mut out = Outcome {
        indicators: set.len(),
        load,
        findings: Vec::new(),
        exported: 0,
    };
    if out.load.is_ok() {
        out.findings = set.findings_for(&event());
        let bundle = set.to_stix_bundle();
        out.exported = bundle["objects"]
            .as_array()
            .map_or(0, |o| o.iter().filter(|o| o["type"] == "indicator").count());
    }
    out
}

fn replay() -> Vec<(String, Outcome)> {
    let dir = seed_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {} missing: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "only {} seeds in {}",
        files.len(),
        dir.display()
    );
    let mut panicked = Vec::new();
    let mut out = Vec::new();
    for p in files {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&p).unwrap();
        assert!(data.len() < 4096, "{name}: seeds must stay < 4 KiB");
        match catch_unwind(AssertUnwindSafe(|| run(&data))) {
            Ok(o) => out.push((name, o)),
            Err(_) => panicked.push(name),
        }
    }
    assert!(panicked.is_empty(), "ioc_feed: panicked on {panicked:?}");
    out
}

fn outcome<'a>(all: &'a [(String, Outcome)], name: &str) -> &'a Outcome {
    &all.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("seed {name} missing"))
        .1
}

/// The load report of a seed that must load.
fn loaded<'a>(all: &'a [(String, Outcome)], name: &str) -> &'a LoadReport {
    match &outcome(all, name).load {
        Ok(r) => r,
        Err(e) => panic!("{name} did not load: {e}"),
    }
}

#[test]
fn ioc_feed_seeds() {
    let all = replay();

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
