//! Resource limits and evidence coverage through the real binary: feeds
//! that are not regular files, evidence given as a link, costly rules.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const KAHU: &str = env!("CARGO_BIN_EXE_kahu");

const RULE: &str = "title: Any event 1\nid: 00000000-0000-4000-8000-000000000101\n\
status: test\nlevel: high\nlogsource:\n    product: windows\n\
detection:\n    selection:\n        EventID: 1\n    condition: selection\n";

/// Run kahu; a run that has not ended after a minute is killed and fails
/// the test (a hang is the bug some of these tests look for).
fn kahu(args: &[&str]) -> Output {
    let mut child = Command::new(KAHU)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kahu");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            panic!("kahu {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yml"), RULE).unwrap();
    std::fs::write(
        dir.path().join("ev.jsonl"),
        "{\"EventID\":1,\"Channel\":\"Security\",\"Computer\":\"h\"}\n",
    )
    .unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn an_ioc_feed_that_is_a_device_or_a_fifo_is_refused_not_read() {
    let dir = fixture();
    let fifo = dir.path().join("feed.fifo");
    let c = std::ffi::CString::new(s(&fifo)).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let out_csv = dir.path().join("out.csv");
    for feed in [Path::new("/dev/zero"), fifo.as_path()] {
        let out = kahu(&[
            "hunt",
            s(&dir.path().join("ev.jsonl")),
            "--rules",
            s(&dir.path().join("r.yml")),
            "--ioc",
            s(feed),
            "-o",
            s(&out_csv),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{feed:?}: {err}");
        assert!(err.contains("not a regular file"), "{feed:?}: {err}");
    }
}

#[cfg(unix)]
#[test]
fn hunt_reads_evidence_given_as_a_link_to_a_file() {
    let dir = fixture();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(dir.path().join("ev.jsonl"), &link).unwrap();
    let out = kahu(&[
        "hunt",
        s(&link),
        "--rules",
        s(&dir.path().join("r.yml")),
        "--json",
        "-o",
        s(&dir.path().join("out.csv")),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["events"], 1, "{summary}");
    assert_eq!(summary["detections"], 1, "{summary}");
}

#[test]
fn rules_check_names_a_rule_rejected_as_too_costly() {
    let dir = fixture();
    let mut costly = String::from(
        "title: Costly\nid: 00000000-0000-4000-8000-000000000102\nlevel: high\n\
         logsource:\n    product: windows\ndetection:\n    selection:\n        CommandLine|re:\n",
    );
    for i in 0..5000 {
        costly.push_str(&format!("            - 'x{i}[a-z]+\\d{{2,8}}'\n"));
    }
    costly.push_str("    condition: selection\n");
    std::fs::write(dir.path().join("costly.yml"), costly).unwrap();
    let out = kahu(&["rules", "check", s(dir.path()), "--json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rule too costly"), "{text}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["compiled"], 1, "the other rule still loads: {v}");
}

/// An output never replaces an indicator feed, rule or tuning file the run
/// reads: `hunt -o feed.csv --ioc feed.csv`, `hunt -o RULES/r.yml --rules
/// RULES` and `assess --out DIR --ioc DIR/stix-bundle.json` (a partner's
/// bundle under the name of kahu's own) are refused and the inputs kept.
#[test]
fn outputs_never_replace_a_feed_rule_or_tuning_file_the_run_reads() {
    let dir = fixture();
    let ev = dir.path().join("ev.jsonl");
    let rule = dir.path().join("r.yml");
    let feed = dir.path().join("feed.csv");
    let feed_text = "indicator,type\n198.51.100.7,ipv4-addr\n";
    std::fs::write(&feed, feed_text).unwrap();
    let bundle = dir.path().join("stix-bundle.json");
    let bundle_text =
        r#"{"type":"bundle","id":"bundle--6f1c5bb2-43f3-4f8e-9d8c-3f5e4b4d7a10","objects":[]}"#;
    std::fs::write(&bundle, bundle_text).unwrap();
    let tuning = dir.path().join("tuning.yaml");
    std::fs::write(&tuning, "rules: []\n").unwrap();
    let refused = |args: &[&str]| {
        let out = kahu(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("which this run reads"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    refused(&[
        "hunt",
        s(&ev),
        "--rules",
        s(&rule),
        "--ioc",
        s(&feed),
        "-o",
        s(&feed),
    ]);
    refused(&["hunt", s(&ev), "--rules", s(dir.path()), "-o", s(&rule)]);
    refused(&[
        "hunt",
        s(&ev),
        "--rules",
        s(&rule),
        "--tuning",
        s(&tuning),
        "-o",
        s(&tuning),
    ]);
    let out_dir = dir.path();
    refused(&[
        "assess",
        s(&ev),
        "--ioc",
        s(&bundle),
        "--out",
        s(out_dir),
        "--no-case",
    ]);
    // A tuning file under an output's name.
    let tuning_named = dir.path().join("analytics.json");
    std::fs::write(&tuning_named, "rules: []\n").unwrap();
    refused(&[
        "assess",
        s(&ev),
        "--tuning",
        s(&tuning_named),
        "--out",
        s(out_dir),
        "--no-case",
    ]);
    assert_eq!(
        std::fs::read_to_string(&tuning_named).unwrap(),
        "rules: []\n"
    );
    assert_eq!(std::fs::read_to_string(&feed).unwrap(), feed_text);
    assert_eq!(std::fs::read_to_string(&bundle).unwrap(), bundle_text);
    assert_eq!(std::fs::read_to_string(&tuning).unwrap(), "rules: []\n");
    assert_eq!(std::fs::read_to_string(&rule).unwrap(), RULE);
    // Beside the inputs is fine.
    let ok = kahu(&[
        "hunt",
        s(&ev),
        "--rules",
        s(&rule),
        "--ioc",
        s(&feed),
        "-o",
        s(&dir.path().join("t.csv")),
    ]);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
}

/// Not only `--ioc`: every other file named on the command line (tuning,
/// rules, YARA, profiles, layers, findings) that is a device or a FIFO is
/// refused at once, not read until memory runs out or waited on forever.
#[test]
fn every_input_file_flag_refuses_devices_and_fifos() {
    let dir = fixture();
    let fifo = dir.path().join("input.fifo");
    let c = std::ffi::CString::new(s(&fifo)).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let ev = dir.path().join("ev.jsonl");
    let rule = dir.path().join("r.yml");
    let out = dir.path().join("o.csv");
    let assess_out = dir.path().join("report");
    for bad in [Path::new("/dev/zero"), fifo.as_path()] {
        for args in [
            vec![
                "hunt",
                s(&ev),
                "--rules",
                s(&rule),
                "--tuning",
                s(bad),
                "-o",
                s(&out),
            ],
            vec!["hunt", s(&ev), "--rules", s(bad), "-o", s(&out)],
            vec![
                "hunt",
                s(&ev),
                "--rules",
                s(&rule),
                "--yara",
                s(bad),
                "-o",
                s(&out),
            ],
            vec![
                "assess",
                s(&ev),
                "--profile",
                s(bad),
                "--out",
                s(&assess_out),
                "--no-case",
            ],
            vec!["attribute", "--findings", s(bad)],
            vec!["attribute", "--layer", s(bad)],
            vec!["attribute", "--techniques", "T1190", "--profile", s(bad)],
        ] {
            let r = kahu(&args);
            assert_eq!(r.status.code(), Some(2), "{args:?}: {r:?}");
            let err = String::from_utf8_lossy(&r.stderr);
            assert!(err.contains("only regular files"), "{args:?}: {err}");
        }
    }
}
