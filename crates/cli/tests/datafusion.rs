//! `kahu hunt --engine datafusion` over `kahu convert` output gives the
//! findings `kahu hunt` gives over the original evidence: rule, level,
//! provenance (file, record or line), time, host, matched values, repeat
//! counts and correlation findings, line for line.
#![cfg(feature = "datafusion")]
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;

use common::{convert, hunt_args, kahu, ok, repo_rules, s, same_hunt};
use kahu_test_support::shared;
use std::path::Path;

/// Convert `evidence`, hunt it with the embedded engine and its
/// conversion with DataFusion (`partitions` partitions), and compare.
/// Returns the embedded run's summary and timeline lines.
fn compare(evidence: &Path, rules: &[&Path], partitions: &str) -> (serde_json::Value, Vec<String>) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("parquet");
    convert(evidence, &dir, "2000");
    let hunt = |engine: &[&str], evidence: &Path, timeline: &Path| {
        let mut args = hunt_args(evidence, timeline, rules);
        args.extend(engine);
        ok(&kahu(&args))
    };
    let (a, b) = (tmp.path().join("a.jsonl"), tmp.path().join("b.jsonl"));
    let embedded = hunt(&[], evidence, &a);
    let df = hunt(
        &["--engine", "datafusion", "--partitions", partitions],
        &dir,
        &b,
    );
    let la = same_hunt(&embedded, &df, &a, &b);
    (embedded, la)
}

#[test]
fn datafusion_finds_on_the_converted_evtx_attack_samples_what_hunt_finds_on_the_evtx() {
    let (Some(evtx), Some(sigma)) = (
        shared("evtx/EVTX-ATTACK-SAMPLES"),
        shared("sigma/rules/windows"),
    ) else {
        return;
    };
    let rules = repo_rules();
    let (summary, timeline) = compare(&evtx, &[&sigma, &rules], "3");
    assert!(summary["findings"].as_u64().expect("n") > 500, "{summary}");
    // Provenance is the EVTX record, not the shard.
    // The original file, not the shard: an EVTX, or one of the samples'
    // web logs (kahu's web rules fire on the Tomcat access log since
    // session 19).
    assert!(
        timeline
            .iter()
            .all(|l| l.contains("EVTX-ATTACK-SAMPLES") && !l.contains(".parquet"))
    );
    assert!(timeline.iter().any(|l| l.contains(".evtx")));
    // Correlation findings are among those compared.
    let correlations = timeline
        .iter()
        .filter(|l| l.contains("\"related\""))
        .count();
    assert!(correlations > 0, "no correlation finding in the timeline");
}

#[test]
fn datafusion_finds_on_a_converted_mordor_set_what_hunt_finds_on_it() {
    let (Some(mordor), Some(sigma)) = (
        shared("mordor/atomic/windows/lateral_movement"),
        shared("sigma/rules/windows"),
    ) else {
        return;
    };
    let (summary, _) = compare(&mordor, &[&sigma], "2");
    assert!(summary["events"].as_u64().expect("n") > 50_000, "{summary}");
    assert!(summary["findings"].as_u64().expect("n") > 100, "{summary}");
}

#[test]
fn a_damaged_shard_is_a_warning_naming_it_and_the_other_shards_are_hunted() {
    let Some(sigma) = shared("sigma/rules/windows/process_creation") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let ev = tmp.path().join("ev");
    std::fs::create_dir(&ev).expect("mkdir");
    let event = |day: u32, host: &str| {
        format!(
            r#"{{"@timestamp":"2021-05-{day:02}T01:02:03Z","host":{{"name":"{host}"}},"event":{{"code":"1"}},"winlog":{{"channel":"Microsoft-Windows-Sysmon/Operational","provider_name":"Microsoft-Windows-Sysmon","event_id":1,"event_data":{{"Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all","ParentImage":"C:\\Windows\\System32\\cmd.exe"}}}}}}"#
        )
    };
    // Three hosts on two days: six shards; one host's name is percent-encoded
    // in its folder.
    let mut text = String::new();
    for day in [4, 5] {
        for host in ["WS1", "WS2", "../x y"] {
            text.push_str(&event(day, host));
            text.push('\n');
        }
    }
    std::fs::write(ev.join("a.jsonl"), text).expect("write");
    let dir = tmp.path().join("pq");
    ok(&kahu(&[
        "convert",
        s(&ev),
        "--to",
        "parquet",
        s(&dir),
        "--json",
    ]));
    let mut shards = kahu_test_support::files_under(&dir);
    shards.sort();
    assert_eq!(shards.len(), 6);

    let hunt = |dir: &Path| {
        ok(&kahu(&[
            "hunt",
            s(dir),
            "--engine",
            "datafusion",
            "--partitions",
            "2",
            "--rules",
            s(&sigma),
            "--json",
            "-o",
            s(&tmp.path().join("t.csv")),
        ]))
    };
    let whole = hunt(&dir);
    assert_eq!(whole["events"], 6, "{whole}");
    let per_shard = whole["findings"].as_u64().expect("n") / 6;
    assert!(per_shard > 0, "SigmaHQ flags whoami /all: {whole}");
    assert_eq!(whole["warnings"], 0, "{whole}");

    // Overwrite the middle of one shard (its data pages), keeping the
    // footer: DataFusion's partition fails, the shard is named, and every
    // other shard is still hunted.
    let victim = &shards[1];
    let mut bytes = std::fs::read(victim).expect("read");
    let mid = bytes.len() / 3;
    for b in &mut bytes[8..mid] {
        *b = 0xA5;
    }
    std::fs::write(victim, &bytes).expect("write");
    // And a file that is not a shard at all.
    std::fs::write(dir.join("notes.parquet"), b"PAR1 not really").expect("write");
    let damaged = hunt(&dir);
    let details = damaged["warning_details"].to_string();
    assert!(
        details.contains(s(victim)) && details.contains("notes.parquet"),
        "{details}"
    );
    assert!(damaged["warnings"].as_u64().expect("n") >= 2, "{damaged}");
    assert_eq!(
        damaged["findings"].as_u64().expect("n"),
        5 * per_shard,
        "{damaged}"
    );
}

/// `kahu assess --engine datafusion` over the converted EVTX-ATTACK-SAMPLES
/// writes the findings, analytics, attribution and containment lists `kahu
/// assess` writes over the same shards, and the same assessment but for
/// the instant it was generated; its analytics come from the local pass
/// (`kahu_assess::engine`), so the scope is not empty.
#[test]
fn assess_on_datafusion_writes_what_assess_writes() {
    let (Some(evtx), Some(sigma)) = (
        shared("evtx/EVTX-ATTACK-SAMPLES"),
        shared("sigma/rules/windows"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("parquet");
    ok(&kahu(&[
        "convert",
        s(&evtx),
        "--to",
        "parquet",
        s(&dir),
        "--json",
    ]));
    let assess = |out: &Path, engine: &[&str]| {
        let mut args = vec!["assess", s(&dir), "--out", s(out), "--json", "--no-case"];
        args.extend(["--rules", s(&sigma)]);
        args.extend(engine);
        ok(&kahu(&args))
    };
    let (a, b) = (tmp.path().join("embedded"), tmp.path().join("datafusion"));
    assess(&a, &[]);
    assess(&b, &["--engine", "datafusion", "--partitions", "3"]);
    for name in [
        "findings.jsonl",
        "analytics.json",
        "attribution.json",
        "containment/accounts-to-reset.csv",
        "containment/hosts-to-isolate.csv",
        "containment/files-to-remove.csv",
    ] {
        let read = |d: &Path| std::fs::read_to_string(d.join(name)).expect(name);
        assert!(read(&a) == read(&b), "{name} differs");
    }
    let assessment = |d: &Path| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("assessment.json")).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("generated_at");
        v
    };
    let (x, y) = (assessment(&a), assessment(&b));
    assert!(x == y, "assessment.json differs");
    assert!(
        y["scope"]["hosts"].as_array().map_or(0, Vec::len) > 3,
        "{}",
        y["scope"]
    );
}

/// `kahu hunt --engine datafusion file:///…/shards` reads the shards
/// through object_store's local file system store — the code path of
/// `s3://` but for opening the store (scripts/test-object-store.sh runs
/// it against a local S3 server) — and finds what it finds on the same
/// shards as a folder; `assess --engine datafusion file://…` (its local
/// pass over copies of the objects) writes the same findings. A URL kahu
/// does not read, an empty prefix and a damaged shard in the store are
/// errors naming them (exit 2), with no timeline written.
#[cfg(feature = "object-store")]
#[test]
fn datafusion_over_a_file_url_finds_what_it_finds_over_the_folder() {
    let (Some(evtx), Some(sigma)) = (
        shared("evtx/EVTX-ATTACK-SAMPLES/Lateral Movement"),
        shared("sigma/rules/windows"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("parquet");
    convert(&evtx, &dir, "200");
    let url = format!("file://{}/", s(&dir));
    let hunt = |evidence: &str, timeline: &Path| {
        kahu(&[
            "hunt",
            evidence,
            "--engine",
            "datafusion",
            "--partitions",
            "3",
            "--rules",
            s(&sigma),
            "-o",
            s(timeline),
            "--json",
        ])
    };
    let (a, b) = (tmp.path().join("a.jsonl"), tmp.path().join("b.jsonl"));
    let folder = ok(&hunt(s(&dir), &a));
    let store = ok(&hunt(&url, &b));
    assert_eq!(folder["files"], store["files"]);
    same_hunt(&folder, &store, &a, &b);
    assert!(folder["findings"].as_u64().expect("n") > 20, "{folder}");
    assert_eq!(store["warnings"], 0, "{store}");

    let assess = |evidence: &str, out: &Path| {
        ok(&kahu(&[
            "assess",
            evidence,
            "--out",
            s(out),
            "--json",
            "--no-case",
            "--rules",
            s(&sigma),
            "--engine",
            "datafusion",
        ]))
    };
    let (x, y) = (
        tmp.path().join("assess-folder"),
        tmp.path().join("assess-url"),
    );
    let (sx, sy) = (assess(s(&dir), &x), assess(&url, &y));
    assert_eq!(sx["events"], sy["events"]);
    for name in ["findings.jsonl", "analytics.json"] {
        let read = |d: &Path| std::fs::read_to_string(d.join(name)).expect(name);
        assert!(read(&x) == read(&y), "{name} differs");
    }

    let fails = |evidence: &str, why: &str| {
        let t = tmp.path().join("never.jsonl");
        let out = hunt(evidence, &t);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{evidence}: {err}");
        assert!(
            err.contains(evidence) && err.contains(why),
            "{evidence}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(!t.exists(), "{evidence}: a timeline was written");
        err.to_string()
    };
    fails("gs://bucket/shards/", "`gs://` is not read");
    fails(&format!("{url}no-such-prefix/"), "does not exist");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    fails(
        &format!("file://{}/", s(&empty)),
        "no object under this prefix",
    );
    // A shard cut short in the store: the hunt stops, naming it.
    let mut shards = kahu_test_support::files_under(&dir);
    shards.sort();
    let victim = &shards[shards.len() / 2];
    let bytes = std::fs::read(victim).expect("read");
    std::fs::write(victim, &bytes[..bytes.len() / 2]).expect("write");
    let err = fails(&url, "nothing is reported");
    assert!(err.contains(&format!("file://{}", s(victim))), "{err}");
}
