//! Object store evidence end to end (feature `object-store`): `kahu hunt`,
//! `assess` and `convert` over a `file://` URL (object_store's local file
//! system store, the code path `s3://` takes) find what they find over the
//! same folder, naming each object by its URL; a size cap leaves an object
//! out with a warning naming it; and, when `scripts/test-object-store.sh`
//! has started a local S3 server (moto), `kahu hunt s3://…` against it.
//!
//! `cargo test -p kahu --features object-store --offline --test object_store`
//! (add `columnar` for the `convert` test).
#![cfg(feature = "object-store")]
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_test_support::shared;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const KAHU: &str = env!("CARGO_BIN_EXE_kahu");

fn kahu(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(KAHU)
        .args(["--quiet", "--threads", "2"])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("kahu runs")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "status {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Two EVTX files (one of them 1.1 MB), a Mordor zip of JSON events and
/// an EVTX inside a subfolder, copied from the shared data into a fresh
/// folder (never into the repository); `None` (SKIP printed) without it.
fn evidence() -> Option<(tempfile::TempDir, PathBuf, PathBuf)> {
    let lm = shared("evtx/EVTX-ATTACK-SAMPLES/Lateral Movement")?;
    let zip =
        shared("mordor/atomic/windows/lateral_movement/host/covenant_copy_smb_CreateRequest.zip")?;
    let rules = shared("sigma/rules/windows")?;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("evidence");
    std::fs::create_dir_all(dir.join("wks/logs")).unwrap();
    for (from, to) in [
        (
            lm.join("LM_Remote_Service02_7045.evtx"),
            "Service_7045.evtx",
        ),
        (
            lm.join("LM_5145_Remote_FileCopy.evtx"),
            "wks/logs/FileCopy_5145.evtx",
        ),
        (
            lm.join("LM_PowershellRemoting_sysmon_1_wsmprovhost.evtx"),
            "wks/logs/psremoting.evtx",
        ),
        (zip, "mordor.zip"),
    ] {
        std::fs::copy(&from, dir.join(to)).unwrap();
    }
    Some((tmp, dir, rules))
}

/// `kahu hunt` over `evidence`: the JSON summary and the timeline's
/// lines, sorted.
fn hunt(
    evidence: &str,
    rules: &Path,
    timeline: &Path,
    env: &[(&str, &str)],
) -> (serde_json::Value, Vec<String>) {
    let out = kahu(
        &[
            "hunt",
            evidence,
            "--rules",
            s(rules),
            "--no-default-tuning",
            "-o",
            s(timeline),
            "--format",
            "jsonl",
            "--json",
        ],
        env,
    );
    let summary = json(&out);
    let mut lines: Vec<String> = std::fs::read_to_string(timeline)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    (summary, lines)
}

#[test]
fn hunt_over_a_file_url_finds_what_hunt_finds_over_the_folder_naming_the_objects() {
    let Some((tmp, dir, rules)) = evidence() else {
        return;
    };
    let url = format!("file://{}/", dir.display());
    let (local, local_lines) = hunt(s(&dir), &rules, &tmp.path().join("a.jsonl"), &[]);
    let (remote, remote_lines) = hunt(&url, &rules, &tmp.path().join("b.jsonl"), &[]);

    // The evidence holds detections of every kind asked for: EVTX records
    // and a zip member.
    assert!(local["findings"].as_u64().unwrap() > 0, "{local}");
    assert!(
        local_lines
            .iter()
            .any(|l| l.contains("\"kind\":\"record\""))
    );
    assert!(
        local_lines
            .iter()
            .any(|l| l.contains("mordor.zip\",\"member\":")),
        "a finding in the zip's member"
    );
    for key in [
        "files",
        "events",
        "findings",
        "detections",
        "warnings",
        "by_level",
        "top_rules",
        "hosts",
        "techniques",
    ] {
        assert_eq!(local[key], remote[key], "{key}");
    }
    // Line for line, but for the name of the evidence: `file://` + path.
    let local_as_urls: Vec<String> = local_lines
        .iter()
        .map(|l| {
            l.replace(
                &format!("\"{}/", dir.display()),
                &format!("\"file://{}/", dir.display()),
            )
        })
        .collect();
    assert_eq!(local_as_urls.len(), remote_lines.len());
    for (a, b) in local_as_urls.iter().zip(&remote_lines) {
        assert_eq!(a, b);
    }
    assert!(
        remote_lines
            .iter()
            .all(|l| !l.contains("kahu-spool") && l.contains("file://")),
        "no finding names the spool copy"
    );
}

#[test]
fn an_object_over_the_size_cap_is_a_warning_naming_it_and_the_rest_is_read() {
    let Some((tmp, dir, rules)) = evidence() else {
        return;
    };
    let url = format!("file://{}/", dir.display());
    // The 1.1 MB EVTX is over a 200 kB cap; the three others are under it.
    let (summary, lines) = hunt(
        &url,
        &rules,
        &tmp.path().join("t.jsonl"),
        &[("KAHU_OBJECT_MAX_BYTES", "200000")],
    );
    let big = format!("file://{}/wks/logs/FileCopy_5145.evtx", dir.display());
    let warnings = summary["warning_details"].as_array().unwrap();
    let w = warnings
        .iter()
        .find(|w| w["file"] == big.as_str())
        .unwrap_or_else(|| panic!("a warning names {big}: {warnings:?}"));
    let reason = w["reason"].as_str().unwrap();
    assert!(
        reason.contains("1118208 bytes") && reason.contains("200000-byte cap per object"),
        "{reason}"
    );
    assert!(reason.contains("evidence is incomplete"), "{reason}");
    // The other objects were read: as many files, and the events of all
    // but the one left out.
    let (all, _) = hunt(s(&dir), &rules, &tmp.path().join("u.jsonl"), &[]);
    assert_eq!(summary["files"], all["files"]);
    let only_big = tmp.path().join("big");
    std::fs::create_dir(&only_big).unwrap();
    std::fs::copy(
        dir.join("wks/logs/FileCopy_5145.evtx"),
        only_big.join("x.evtx"),
    )
    .unwrap();
    let (big_alone, _) = hunt(s(&only_big), &rules, &tmp.path().join("v.jsonl"), &[]);
    assert_eq!(
        summary["events"].as_u64().unwrap(),
        all["events"].as_u64().unwrap() - big_alone["events"].as_u64().unwrap()
    );
    assert!(big_alone["events"].as_u64().unwrap() > 0);
    assert!(!lines.iter().any(|l| l.contains("FileCopy_5145")));
    assert!(!lines.is_empty());

    // The total cap: at 100 kB only the objects that fit in key order are
    // copied, each left out named.
    let (summary, _) = hunt(
        &url,
        &rules,
        &tmp.path().join("w.jsonl"),
        &[("KAHU_SPOOL_MAX_BYTES", "100000")],
    );
    let capped: Vec<_> = summary["warning_details"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| {
            w["reason"]
                .as_str()
                .unwrap()
                .contains("100000-byte total cap")
        })
        .collect();
    assert!(!capped.is_empty(), "{summary}");
}

#[test]
fn a_missing_prefix_a_listing_over_the_cap_and_a_cluster_engine_are_errors() {
    let Some((tmp, dir, rules)) = evidence() else {
        return;
    };
    let missing = format!("file://{}/nothing-here/", dir.display());
    let out = kahu(&["hunt", &missing, "--rules", s(&rules)], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nothing-here") && err.contains("does not exist"),
        "{err}"
    );

    let url = format!("file://{}/", dir.display());
    let out = kahu(
        &[
            "hunt",
            &url,
            "--rules",
            s(&rules),
            "-o",
            s(&tmp.path().join("x.csv")),
        ],
        &[("KAHU_OBJECT_MAX_COUNT", "3")],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&url) && err.contains("more than 3 objects"),
        "{err}"
    );
    assert!(
        !tmp.path().join("x.csv").exists(),
        "nothing written on failure"
    );

    // Refused before any copy in a build without `datafusion` (with it,
    // the engine reads Parquet shards from the URL: tests/datafusion.rs).
    if !cfg!(feature = "datafusion") {
        let out = kahu(&["hunt", &url, "--engine", "datafusion"], &[]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("`datafusion` feature"), "{err}");
    }

    // An output inside the folder a file:// URL names is refused, as it
    // is for a local evidence folder.
    let out = kahu(&["hunt", &url, "-o", s(&dir.join("t.csv"))], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inside the evidence folder"));
    assert!(!dir.join("t.csv").exists());
}

#[test]
fn assess_over_a_file_url_names_the_objects_in_the_report_and_the_case_store() {
    let Some((tmp, dir, rules)) = evidence() else {
        return;
    };
    let url = format!("file://{}/", dir.display());
    let out_dir = tmp.path().join("case");
    let out = kahu(
        &[
            "assess",
            &url,
            "--rules",
            s(&rules),
            "--out",
            s(&out_dir),
            "--json",
        ],
        &[],
    );
    let summary = json(&out);
    assert!(summary["events"].as_u64().unwrap() > 0, "{summary}");
    // Every byte written (the case store with its journal, the report,
    // findings, STIX, containment lists): no spool path anywhere.
    let mut written = Vec::new();
    let mut stack = vec![out_dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                assert!(
                    !text.contains("kahu-spool"),
                    "{} names a spool copy",
                    p.display()
                );
                written.push((p, text));
            }
        }
    }
    let text_of = |name: &str| -> String {
        written
            .iter()
            .filter(|(p, _)| p.file_name().unwrap().to_string_lossy().starts_with(name))
            .map(|(_, t)| t.as_str())
            .collect()
    };
    let object = format!("file://{}/wks/logs/psremoting.evtx", dir.display());
    assert!(
        text_of("case.sqlite").contains(&object),
        "the case store names {object}"
    );
    assert!(text_of("findings.jsonl").contains(&format!("file://{}/", dir.display())));
    assert!(
        text_of("assessment.json").contains(&url),
        "the evidence is named by its URL"
    );
}

#[cfg(feature = "columnar")]
#[test]
fn convert_over_a_file_url_keeps_the_objects_as_provenance() {
    let Some((tmp, dir, rules)) = evidence() else {
        return;
    };
    let url = format!("file://{}/", dir.display());
    let parquet = tmp.path().join("parquet");
    let out = kahu(
        &["convert", &url, "--to", "parquet", s(&parquet), "--json"],
        &[],
    );
    let conv = json(&out);
    assert!(conv["events_written"].as_u64().unwrap() > 0, "{conv}");
    let (from_shards, lines) = hunt(s(&parquet), &rules, &tmp.path().join("p.jsonl"), &[]);
    let (from_url, url_lines) = hunt(&url, &rules, &tmp.path().join("q.jsonl"), &[]);
    assert_eq!(from_shards["findings"], from_url["findings"]);
    assert_eq!(lines, url_lines, "the shards name the objects");
}

/// Against a local S3 server: `scripts/test-object-store.sh` starts moto,
/// uploads the evidence folder and sets `KAHU_TEST_S3_URL` (and the AWS
/// variables); otherwise this test says SKIP.
#[test]
fn hunt_over_s3_finds_what_hunt_finds_over_the_folder() {
    let (Ok(url), Ok(local)) = (
        std::env::var("KAHU_TEST_S3_URL"),
        std::env::var("KAHU_TEST_S3_LOCAL"),
    ) else {
        eprintln!("SKIP: no local S3 server (run scripts/test-object-store.sh)");
        return;
    };
    let Some(rules) = shared("sigma/rules/windows") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (a, a_lines) = hunt(&local, &rules, &tmp.path().join("a.jsonl"), &[]);
    let (b, b_lines) = hunt(&url, &rules, &tmp.path().join("b.jsonl"), &[]);
    assert!(a["findings"].as_u64().unwrap() > 0);
    for key in [
        "files",
        "events",
        "findings",
        "detections",
        "warnings",
        "hosts",
    ] {
        assert_eq!(a[key], b[key], "{key}");
    }
    let local = local.trim_end_matches('/');
    let url = url.trim_end_matches('/');
    let mapped: Vec<String> = a_lines
        .iter()
        .map(|l| l.replace(&format!("\"{local}/"), &format!("\"{url}/")))
        .collect();
    assert_eq!(mapped, b_lines);
    eprintln!(
        "S3: {} files, {} events, {} findings, line for line equal to the folder's",
        b["files"], b["events"], b["findings"]
    );
}
