//! `kahu convert --to parquet` end to end, and `kahu hunt` on the
//! converted folder finding what it finds on the original evidence.
#![cfg(feature = "columnar")]
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;

use common::{json, kahu, lines as findings, s};
use kahu_test_support::shared;
use std::path::{Path, PathBuf};

#[test]
fn hunt_on_the_converted_evtx_attack_samples_finds_what_it_finds_on_the_evtx() {
    let (Some(evtx), Some(rules)) = (
        shared("evtx/EVTX-ATTACK-SAMPLES"),
        shared("sigma/rules/windows"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("parquet");
    let out = kahu(&["convert", s(&evtx), "--to", "parquet", s(&dir), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conv = json(&out);
    let read = conv["events_read"].as_u64().expect("events_read");
    assert_eq!(conv["events_written"].as_u64(), Some(read));
    assert!(read > 7_000, "{conv}");
    assert!(conv["shards"].as_u64().expect("shards") >= conv["partitions"].as_u64().expect("p"));

    let a = tmp.path().join("evtx.jsonl");
    let b = tmp.path().join("parquet.jsonl");
    let hunt = |evidence: &Path, timeline: &Path| {
        let out = kahu(&[
            "hunt",
            s(evidence),
            "--rules",
            s(&rules),
            "--no-default-tuning",
            "-o",
            s(timeline),
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json(&out)
    };
    let on_evtx = hunt(&evtx, &a);
    let on_parquet = hunt(&dir, &b);
    assert_eq!(on_evtx["events"], on_parquet["events"]);
    assert_eq!(on_evtx["events"].as_u64(), Some(read));
    assert_eq!(on_evtx["findings"], on_parquet["findings"]);
    assert_eq!(on_evtx["detections"], on_parquet["detections"]);
    assert_eq!(on_evtx["by_level"], on_parquet["by_level"]);
    assert!(
        on_evtx["findings"].as_u64().expect("findings") > 100,
        "{on_evtx}"
    );
    // Finding by finding: rule, level, provenance (the original EVTX file
    // and record, not the shard), time, host, matched fields, counts.
    let (fa, fb) = (findings(&a), findings(&b));
    assert_eq!(fa.len(), fb.len());
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x, y);
    }
    // The original file: an EVTX, or one of the samples' web logs (kahu's
    // web rules fire on the Tomcat access log since session 19).
    assert!(
        fb.iter()
            .all(|l| l.contains("EVTX-ATTACK-SAMPLES") && !l.contains(".parquet")),
        "{fb:?}"
    );
    assert!(fb.iter().any(|l| l.contains(".evtx")));
}

#[test]
fn convert_refuses_the_evidence_and_a_non_empty_folder_and_counts_what_it_wrote() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let ev = tmp.path().join("ev");
    std::fs::create_dir(&ev).expect("mkdir");
    let lines = [
        r#"{"@timestamp":"2021-05-04T01:02:03Z","host":{"name":"WS1"},"event":{"code":4688},"winlog":{"channel":"Security","event_data":{"CommandLine":"whoami"}}}"#,
        r#"{"@timestamp":"2021-05-05T01:02:03Z","host":{"name":"../../x"},"message":"two"}"#,
        "not json at all",
        r#"{"message":"no time, no host"}"#,
    ];
    std::fs::write(ev.join("a.jsonl"), lines.join("\n") + "\n").expect("write");
    // Inside the evidence: refused, nothing created.
    let inside = ev.join("out");
    let out = kahu(&["convert", s(&ev), "--to", "parquet", s(&inside)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inside the evidence"));
    assert!(!inside.exists());

    let dir = tmp.path().join("pq");
    let out = kahu(&["convert", s(&ev), "--to", "parquet", s(&dir), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conv = json(&out);
    assert_eq!(conv["events_read"], 3, "{conv}");
    assert_eq!(conv["events_written"], 3);
    assert_eq!(conv["partitions"], 3);
    // The bad line is a warning naming the file and line.
    let details = conv["warning_details"].to_string();
    assert!(
        details.contains("a.jsonl") && details.contains(r#"{"kind":"line","value":3}"#),
        "{details}"
    );
    let mut parts: Vec<PathBuf> = kahu_test_support::files_under(&dir);
    parts.sort();
    let rel: Vec<String> = parts
        .iter()
        .map(|p| {
            p.strip_prefix(&dir)
                .expect("inside")
                .parent()
                .expect("dir")
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        rel,
        [
            "day=2021-05-04/host=WS1",
            "day=2021-05-05/host=%2E.%2F..%2Fx",
            "day=_unknown/host=_unknown"
        ]
    );
    // Again into the same folder: refused without --force, replaced with it.
    let again = kahu(&["convert", s(&ev), "--to", "parquet", s(&dir)]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    let forced = kahu(&[
        "convert",
        s(&ev),
        "--to",
        "parquet",
        s(&dir),
        "--force",
        "--json",
    ]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert_eq!(kahu_test_support::files_under(&dir).len(), 3);
    // The converted folder reads back as the same three events.
    let events = kahu(&["events", s(&dir)]);
    assert!(events.status.success());
    let text = String::from_utf8_lossy(&events.stdout);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.contains("whoami") && text.contains("a.jsonl"),
        "{text}"
    );
}
