//! `kahu hunt` end to end: the real binary on small evidence and rule sets
//! written to a temporary directory.
//!
//! Fixture: three events in the EVTX JSON rendering (two Sysmon process
//! creations, one Security logon) and three rules — `high` on a mimikatz
//! command line, `low` on cmd.exe, `informational` on any Sysmon event 1.
//! Expected findings, by reading the fixture: event 1 (cmd.exe running
//! mimikatz) fires all three rules, event 2 (powershell) only the
//! informational one, event 3 (Security 4624) none: 4 findings.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const KAHU: &str = env!("CARGO_BIN_EXE_kahu");

const HIGH_ID: &str = "00000000-0000-4000-8000-000000000001";
const LOW_ID: &str = "00000000-0000-4000-8000-000000000002";
const INFO_ID: &str = "00000000-0000-4000-8000-000000000003";

const RULE_HIGH: &str = r"title: Test Mimikatz Command Line
id: 00000000-0000-4000-8000-000000000001
status: test
level: high
tags:
    - attack.credential-access
    - attack.t1003.001
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|contains: mimikatz
    condition: selection
";

const RULE_LOW: &str = r"title: Test Cmd Shell
id: 00000000-0000-4000-8000-000000000002
status: test
level: low
tags:
    - attack.execution
    - attack.t1059.003
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\cmd.exe'
    condition: selection
";

const RULE_INFO: &str = r"title: Test Any Sysmon Process
id: 00000000-0000-4000-8000-000000000003
status: test
level: informational
logsource:
    product: windows
    service: sysmon
detection:
    selection:
        EventID: 1
    condition: selection
";

const EVENTS: &str = concat!(
    r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"EventRecordID":11,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS1.corp.local","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:00:00Z"}}},"EventData":{"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c mimikatz.exe sekurlsa::logonpasswords","User":"CORP\\bob"}}}"##,
    "\n",
    r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"EventRecordID":12,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS1.corp.local","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:05:00Z"}}},"EventData":{"Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","CommandLine":"powershell Get-Process","User":"CORP\\bob"}}}"##,
    "\n",
    r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},"EventID":4624,"EventRecordID":13,"Channel":"Security","Computer":"DC1.corp.local","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:06:00Z"}}},"EventData":{"TargetUserName":"bob","LogonType":3,"IpAddress":"10.0.0.9"}}}"##,
    "\n",
);

/// A temp dir with `rules/` (the three rules) and `evidence/events.jsonl`.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = dir.path().join("rules");
        std::fs::create_dir_all(&rules).unwrap();
        std::fs::write(rules.join("high.yml"), RULE_HIGH).unwrap();
        std::fs::write(rules.join("low.yml"), RULE_LOW).unwrap();
        std::fs::write(rules.join("info.yml"), RULE_INFO).unwrap();
        let ev = dir.path().join("evidence");
        std::fs::create_dir_all(&ev).unwrap();
        std::fs::write(ev.join("events.jsonl"), EVENTS).unwrap();
        Fixture { dir }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn rules(&self) -> String {
        self.path("rules").display().to_string()
    }
    fn evidence(&self) -> String {
        self.path("evidence").display().to_string()
    }
}

fn kahu(args: &[&str]) -> Output {
    Command::new(KAHU)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run kahu")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "kahu failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn summary(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("--json output is not JSON ({e}):\n{}", text(&out.stdout)))
}

fn read_csv(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(p).expect("csv readable");
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("csv record").iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn read_jsonl(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .expect("jsonl readable")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line ({e}): {l}")))
        .collect()
}

#[test]
fn csv_timeline_has_the_columns_and_values() {
    let fx = Fixture::new();
    let csv_path = fx.path("out.csv");
    let out = kahu(&[
        "hunt",
        "-q",
        &fx.evidence(),
        "--rules",
        &fx.rules(),
        "-o",
        csv_path.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let (header, rows) = read_csv(&csv_path);
    assert_eq!(
        header,
        [
            "timestamp",
            "level",
            "kind",
            "rule_id",
            "title",
            "techniques",
            "host",
            "channel",
            "event_id",
            "fields",
            "file",
            "member",
            "location",
            "related",
            "rule_file"
        ]
    );
    assert_eq!(rows.len(), 4, "{rows:?}");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    // Timeline order: time, then rule id.
    let ids: Vec<&str> = rows.iter().map(|r| r[col("rule_id")].as_str()).collect();
    assert_eq!(ids, [HIGH_ID, LOW_ID, INFO_ID, INFO_ID]);
    let high = &rows[0];
    assert_eq!(high[col("timestamp")], "2024-05-01T10:00:00+00:00");
    assert_eq!(high[col("level")], "high");
    assert_eq!(high[col("kind")], "sigma");
    assert_eq!(high[col("title")], "Test Mimikatz Command Line");
    assert_eq!(high[col("techniques")], "T1003.001");
    assert_eq!(high[col("host")], "WS1.corp.local");
    assert_eq!(high[col("channel")], "Microsoft-Windows-Sysmon/Operational");
    assert_eq!(high[col("event_id")], "1");
    assert!(
        high[col("fields")]
            .contains("CommandLine=cmd.exe /c mimikatz.exe sekurlsa::logonpasswords"),
        "key fields: {}",
        high[col("fields")]
    );
    assert!(
        high[col("file")].ends_with("events.jsonl"),
        "{}",
        high[col("file")]
    );
    assert_eq!(high[col("member")], "");
    assert_eq!(high[col("location")], "line 1");
    assert_eq!(rows[1][col("techniques")], "T1059.003");
    assert_eq!(rows[3][col("timestamp")], "2024-05-01T10:05:00+00:00");
    assert_eq!(rows[3][col("location")], "line 2");
    // Each finding names the rule file it came from (as Hayabusa's verbose
    // profile does), the file the fixture wrote that rule into.
    let files: Vec<&str> = rows.iter().map(|r| r[col("rule_file")].as_str()).collect();
    for (file, name) in files
        .iter()
        .zip(["high.yml", "low.yml", "info.yml", "info.yml"])
    {
        assert!(
            Path::new(file).ends_with(Path::new("rules").join(name)),
            "{files:?}"
        );
    }
    // The JSON-lines timeline says the same, and stays a findings file.
    let jsonl = fx.path("out.jsonl");
    assert_ok(&kahu(&[
        "hunt",
        "-q",
        &fx.evidence(),
        "--rules",
        &fx.rules(),
        "-o",
        jsonl.to_str().unwrap(),
    ]));
    let lines = read_jsonl(&jsonl);
    assert!(
        Path::new(lines[0]["rule_file"].as_str().unwrap()).ends_with("rules/high.yml"),
        "{}",
        lines[0]
    );
    let ranked = Command::new(KAHU)
        .args(["attribute", "--findings", jsonl.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(ranked.status.success(), "{ranked:?}");
}

#[test]
fn jsonl_timeline_has_the_fields() {
    let fx = Fixture::new();
    let p = fx.path("out.jsonl");
    assert_ok(&kahu(&[
        "hunt",
        "-q",
        &fx.evidence(),
        "--rules",
        &fx.rules(),
        "-o",
        p.to_str().unwrap(),
    ]));
    let lines = read_jsonl(&p);
    assert_eq!(lines.len(), 4);
    let f = &lines[0];
    assert_eq!(f["kind"], "sigma");
    assert_eq!(f["rule_id"], HIGH_ID);
    assert_eq!(f["title"], "Test Mimikatz Command Line");
    assert_eq!(f["level"], "high");
    assert_eq!(f["techniques"], serde_json::json!(["T1003.001"]));
    assert_eq!(f["host"], "WS1.corp.local");
    assert_eq!(f["channel"], "Microsoft-Windows-Sysmon/Operational");
    assert_eq!(f["event_id"], 1);
    let ts = f["timestamp"].as_str().expect("timestamp string");
    assert!(ts.starts_with("2024-05-01T10:00:00"), "{ts}");
    let fields = f["fields"].as_array().expect("fields array");
    assert!(
        fields.iter().any(|kv| kv[0] == "CommandLine"
            && kv[1] == "cmd.exe /c mimikatz.exe sekurlsa::logonpasswords"),
        "{fields:?}"
    );
    assert!(
        f["provenance"]["file"]
            .as_str()
            .unwrap()
            .ends_with("events.jsonl")
    );
    assert_eq!(
        f["provenance"]["location"],
        serde_json::json!({"kind": "line", "value": 1})
    );
}

#[test]
fn format_flag_beats_extension() {
    let fx = Fixture::new();
    let is_csv = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .starts_with("timestamp,level,")
    };
    let is_jsonl = |p: &Path| std::fs::read_to_string(p).unwrap().starts_with('{');
    for (name, flag, want_jsonl) in [
        ("a.jsonl", None, true),
        ("b.json", None, true),
        ("c.txt", None, false),
        ("d.csv", None, false),
        ("e.txt", Some("jsonl"), true),
        ("f.jsonl", Some("csv"), false),
    ] {
        let p = fx.path(name);
        let mut args = vec!["hunt", "-q", "--rules"];
        let rules = fx.rules();
        let ev = fx.evidence();
        args.extend([rules.as_str(), ev.as_str(), "-o", p.to_str().unwrap()]);
        if let Some(f) = flag {
            args.extend(["--format", f]);
        }
        assert_ok(&kahu(&args));
        if want_jsonl {
            assert!(is_jsonl(&p), "{name} {flag:?} should be JSONL");
            assert_eq!(read_jsonl(&p).len(), 4);
        } else {
            assert!(is_csv(&p), "{name} {flag:?} should be CSV");
        }
    }
}

#[test]
fn min_level_filters_output_and_summary() {
    let fx = Fixture::new();
    for (level, want) in [("informational", 4), ("low", 2), ("medium", 1), ("high", 1)] {
        let p = fx.path(&format!("{level}.csv"));
        let out = kahu(&[
            "hunt",
            &fx.evidence(),
            "--rules",
            &fx.rules(),
            "--min-level",
            level,
            "--json",
            "-o",
            p.to_str().unwrap(),
        ]);
        assert_ok(&out);
        let s = summary(&out);
        let (_, rows) = read_csv(&p);
        assert_eq!(rows.len(), want, "--min-level {level}");
        assert_eq!(s["findings"], want, "--min-level {level}");
        assert!(
            rows.iter().all(|r| level_rank(&r[1]) >= level_rank(level)),
            "--min-level {level}: {rows:?}"
        );
    }
    // No rule at or above critical: nothing to run, and the message says why.
    let out = kahu(&[
        "hunt",
        &fx.evidence(),
        "--rules",
        &fx.rules(),
        "--min-level",
        "critical",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("3 skipped by --min-level"), "{err}");
    let out = kahu(&[
        "hunt",
        &fx.evidence(),
        "--rules",
        &fx.rules(),
        "--min-level",
        "severe",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown level is a usage error"
    );
}

fn level_rank(l: &str) -> u8 {
    match l {
        "informational" => 0,
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        other => panic!("unknown level {other}"),
    }
}

#[test]
fn json_summary_agrees_with_the_timeline() {
    let fx = Fixture::new();
    let p = fx.path("t.jsonl");
    let out = kahu(&[
        "hunt",
        &fx.evidence(),
        "--rules",
        &fx.rules(),
        "--no-bundled-rules",
        "--json",
        "-o",
        p.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let s = summary(&out);
    let lines = read_jsonl(&p);
    assert_eq!(s["files"], 1);
    assert_eq!(s["events"], 3);
    assert_eq!(s["warnings"], 0);
    assert_eq!(s["rules_loaded"], 3);
    assert_eq!(s["rules_rejected"], 0);
    assert_eq!(s["findings"], lines.len());
    assert_eq!(s["output"], p.display().to_string());
    // Per level, rule and host, the summary counts what the file holds.
    for (level, n) in s["by_level"].as_object().unwrap() {
        let in_file = lines.iter().filter(|l| l["level"] == *level).count();
        assert_eq!(n.as_u64().unwrap() as usize, in_file, "level {level}");
    }
    assert_eq!(
        s["by_level"],
        serde_json::json!({"high": 1, "informational": 2, "low": 1})
    );
    for r in s["top_rules"].as_array().unwrap() {
        let in_file = lines
            .iter()
            .filter(|l| l["rule_id"] == r["rule_id"])
            .count();
        assert_eq!(r["count"].as_u64().unwrap() as usize, in_file, "{r}");
    }
    // Highest level first.
    assert_eq!(s["top_rules"][0]["rule_id"], HIGH_ID);
    assert_eq!(s["hosts"], serde_json::json!([["WS1.corp.local", 4]]));
    let tech = s["techniques"].as_array().unwrap();
    assert!(
        tech.contains(&serde_json::json!(["T1003.001", 1])),
        "{tech:?}"
    );
    // No rule here is tagged in v19: the summary's ids are the embedded
    // v18.1's (`--attack-version auto`).
    assert_eq!(s["attack_version"], "18.1");
    // Nothing but the JSON document on stdout.
    assert!(text(&out.stdout).trim_end().ends_with('}'));
}

#[test]
fn missing_evidence_path_is_exit_2() {
    let fx = Fixture::new();
    let missing = fx.path("no-such-dir");
    let out = kahu(&["hunt", missing.to_str().unwrap(), "--rules", &fx.rules()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("evidence path") && err.contains("does not exist"),
        "{err}"
    );
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn missing_rules_path_is_exit_2() {
    let fx = Fixture::new();
    let missing = fx.path("no-rules-here");
    let out = kahu(&["hunt", &fx.evidence(), "--rules", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("rule path") && err.contains(missing.to_str().unwrap()),
        "{err}"
    );
}

#[test]
fn rules_dir_without_usable_rules_is_exit_2() {
    let fx = Fixture::new();
    let bad = fx.path("bad-rules");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("broken.yml"), "title: [unclosed\ndetection: {").unwrap();
    std::fs::write(
        bad.join("nodetect.yml"),
        "title: No detection\nid: 00000000-0000-4000-8000-0000000000ff\nlogsource:\n    product: windows\n",
    )
    .unwrap();
    let out = kahu(&["hunt", &fx.evidence(), "--rules", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("no usable Sigma rules"), "{err}");
    assert!(err.contains("2 rejected, 0 skipped"), "{err}");
    assert!(
        err.contains("broken.yml") || err.contains("nodetect.yml"),
        "names a rejected file: {err}"
    );

    let empty = fx.path("empty-rules");
    std::fs::create_dir_all(&empty).unwrap();
    let out = kahu(&["hunt", &fx.evidence(), "--rules", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no usable Sigma rules"));
}

#[test]
fn hostile_evidence_is_reported_and_good_records_still_detected() {
    let fx = Fixture::new();
    let ev = fx.path("evidence");
    std::fs::write(ev.join("empty.evtx"), b"").unwrap();
    std::fs::write(
        ev.join("garbage.bin"),
        (0..5000u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    // EVTX magic then junk: recognised as EVTX, unreadable.
    let mut fake = b"ElfFile\0".to_vec();
    fake.extend(std::iter::repeat_n(0xA5u8, 9000));
    std::fs::write(ev.join("fake.evtx"), fake).unwrap();
    // A malformed line between two good ones.
    let mixed = EVENTS.lines().take(1).collect::<Vec<_>>().join("\n")
        + "\n{\"Event\": {\"System\": garbage\n"
        + EVENTS.lines().nth(1).unwrap()
        + "\n";
    std::fs::write(ev.join("mixed.jsonl"), mixed).unwrap();

    let p = fx.path("t.csv");
    // Every record on its own row (the copies in two files would otherwise
    // be collapsed as repeats).
    let out = kahu(&[
        "hunt",
        ev.to_str().unwrap(),
        "--rules",
        &fx.rules(),
        "--collapse-window",
        "0",
        "-o",
        p.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    // Text summary: the warnings, each with the file and where in it.
    assert!(stdout.contains("Evidence warnings"), "{stdout}");
    assert!(stdout.contains("mixed.jsonl line 2"), "{stdout}");
    assert!(stdout.contains("garbage.bin"), "{stdout}");
    assert!(stdout.contains("fake.evtx"), "{stdout}");
    // Good records of events.jsonl and of mixed.jsonl (lines 1 and 3).
    let (_, rows) = read_csv(&p);
    let from = |f: &str, loc: &str| {
        rows.iter()
            .filter(|r| r[10].ends_with(f) && r[12] == loc)
            .count()
    };
    assert_eq!(from("mixed.jsonl", "line 1"), 3);
    assert_eq!(from("mixed.jsonl", "line 3"), 1);
    assert_eq!(from("events.jsonl", "line 1"), 3);
    assert_eq!(rows.len(), 8);
}

#[test]
fn truncated_evtx_keeps_its_complete_chunks() {
    let shared = match std::env::var_os("KAHU_SHARED") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")),
    };
    let src = shared.join(
        "evtx/EVTX-ATTACK-SAMPLES/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx",
    );
    let Ok(bytes) = std::fs::read(&src) else {
        eprintln!("SKIP: shared EVTX sample not found at {}", src.display());
        return;
    };
    let fx = Fixture::new();
    let ev = fx.path("evtx");
    std::fs::create_dir_all(&ev).unwrap();
    // File header (4 KiB) + 4 complete 64 KiB chunks + part of the fifth.
    let cut = 4096 + 4 * 65536 + 30_000;
    assert!(bytes.len() > cut);
    std::fs::write(ev.join("trunc.evtx"), &bytes[..cut]).unwrap();
    let full = summary(&kahu(&[
        "hunt",
        src.to_str().unwrap(),
        "--rules",
        &fx.rules(),
        "--json",
    ]));
    let out = kahu(&[
        "hunt",
        ev.to_str().unwrap(),
        "--rules",
        &fx.rules(),
        "--json",
    ]);
    assert_ok(&out);
    let s = summary(&out);
    let (got, all) = (
        s["events"].as_u64().unwrap(),
        full["events"].as_u64().unwrap(),
    );
    assert_eq!(all, 565, "records in the sample (labels.csv)");
    assert!(
        got > 100 && got < all,
        "records from the complete chunks: {got}"
    );
    // Every Sysmon record fires the informational rule.
    assert!(s["findings"].as_u64().unwrap() > 0);
}

#[test]
fn closed_stdout_is_not_a_panic() {
    let fx = Fixture::new();
    // Close the read end before kahu writes its summary: the write fails
    // with EPIPE. The process must end quietly (SIGPIPE or exit 0), not
    // panic with "failed printing to stdout".
    for extra in [&["--json"][..], &[][..]] {
        let mut child = Command::new(KAHU)
            .args(["hunt", &fx.evidence(), "--rules", &fx.rules()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kahu");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait kahu");
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{extra:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{extra:?}: {err}");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert!(
                out.status.success() || out.status.signal() == Some(13),
                "{extra:?}: {:?} {err}",
                out.status
            );
        }
    }
}

/// Timesketch imports CSV and JSONL that carry `message`, `datetime` (ISO
/// 8601) and `timestamp_desc` on every row (its documented import format);
/// other columns become attributes.
#[test]
fn timesketch_timelines_have_the_required_columns() {
    let fx = Fixture::new();
    let csv_path = fx.path("ts.csv");
    assert_ok(&kahu(&[
        "hunt",
        "-q",
        &fx.evidence(),
        "--rules",
        &fx.rules(),
        "--format",
        "timesketch",
        "-o",
        csv_path.to_str().unwrap(),
    ]));
    let (header, rows) = read_csv(&csv_path);
    assert_eq!(&header[..3], ["message", "datetime", "timestamp_desc"]);
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert!(!r[0].is_empty(), "message");
        assert!(
            chrono::DateTime::parse_from_rfc3339(&r[1]).is_ok(),
            "datetime {}",
            r[1]
        );
        assert!(!r[2].is_empty(), "timestamp_desc");
    }
    assert!(
        rows.iter()
            .any(|r| r[0].contains("Test Mimikatz Command Line"))
    );

    let jsonl = fx.path("ts.jsonl");
    assert_ok(&kahu(&[
        "hunt",
        "-q",
        &fx.evidence(),
        "--rules",
        &fx.rules(),
        "--format",
        "timesketch",
        "-o",
        jsonl.to_str().unwrap(),
    ]));
    let lines = read_jsonl(&jsonl);
    assert_eq!(lines.len(), 4);
    for l in &lines {
        for key in ["message", "datetime", "timestamp_desc"] {
            assert!(l[key].is_string(), "{key} in {l}");
        }
    }
    // Fields are attributes Timesketch can filter on, not an array of pairs.
    assert!(
        lines
            .iter()
            .any(|l| l["field_CommandLine"] == "cmd.exe /c mimikatz.exe sekurlsa::logonpasswords"),
        "{lines:?}"
    );
}

/// `-o -` writes the timeline to stdout and the summary to stderr.
#[test]
fn dash_output_is_stdout() {
    let fx = Fixture::new();
    let out = kahu(&[
        "hunt",
        &fx.evidence(),
        "--rules",
        &fx.rules(),
        "--format",
        "jsonl",
        "-o",
        "-",
    ]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    for l in stdout.lines() {
        serde_json::from_str::<serde_json::Value>(l).expect("a JSON finding per line");
    }
    assert!(text(&out.stderr).contains("kahu hunt"));
    assert!(!fx.path("-").exists() && !std::path::Path::new("-").exists());
}

/// No `-o` and no `--json`: the timeline goes to stdout, the summary to
/// stderr (the Hayabusa/Chainsaw habit).
#[test]
fn no_output_file_prints_the_timeline() {
    let fx = Fixture::new();
    let out = kahu(&[
        "hunt",
        &fx.evidence(),
        "--rules",
        &fx.rules(),
        "--format",
        "jsonl",
    ]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    assert!(text(&out.stderr).contains("kahu hunt"));
}

/// `--from/--to/--host/--event-id` keep exactly the findings of the events
/// they select: the filtered run equals the unfiltered timeline filtered
/// here by its own host, time and event id columns.
#[test]
fn event_filters_select_what_they_say_and_report_the_rest() {
    let fx = Fixture::new();
    let all = |extra: &[&str]| -> (Vec<serde_json::Value>, serde_json::Value) {
        let p = fx.path(&format!(
            "f{}.jsonl",
            extra.join("_").replace([':', ' '], "")
        ));
        let mut args = vec!["hunt", "-q", "--json", "--collapse-window", "0", "--rules"];
        let rules = fx.rules();
        let ev = fx.evidence();
        let ps = p.to_str().unwrap().to_string();
        args.extend([rules.as_str(), ev.as_str(), "-o", ps.as_str()]);
        args.extend(extra);
        let out = kahu(&args);
        assert_ok(&out);
        (read_jsonl(&p), summary(&out))
    };
    let (base, s0) = all(&[]);
    assert_eq!(s0["events_excluded"], 0);
    let host_of = |f: &serde_json::Value| f["host"].as_str().unwrap_or("").to_ascii_lowercase();
    let time_of = |f: &serde_json::Value| f["timestamp"].as_str().unwrap_or("").to_string();
    let key = |f: &serde_json::Value| format!("{}|{}|{}", f["rule_id"], host_of(f), time_of(f));
    let keys = |v: &[serde_json::Value]| {
        let mut k: Vec<String> = v.iter().map(key).collect();
        k.sort();
        k
    };
    // Host, short name matching the FQDN: a host with findings keeps
    // them, a host without (the DC's logon fires no rule) has none.
    for (flag, fqdn) in [("ws1", "ws1.corp.local"), ("DC1", "dc1.corp.local")] {
        let (got, s1) = all(&["--host", flag]);
        let want: Vec<serde_json::Value> = base
            .iter()
            .filter(|f| host_of(f) == fqdn)
            .cloned()
            .collect();
        assert_eq!(keys(&got), keys(&want), "--host {flag}");
        assert!(s1["events_excluded"].as_u64().unwrap() > 0);
        assert!(
            s1["scope_limits"][0]
                .as_str()
                .unwrap()
                .contains(&format!("hosts {flag}"))
        );
    }
    assert!(base.iter().any(|f| host_of(f) == "ws1.corp.local"));
    // Time window: only findings at or before 10:00:00 on the day.
    let (early, s2) = all(&["--from", "2024-05-01", "--to", "2024-05-01T10:00:00Z"]);
    let want: Vec<serde_json::Value> = base
        .iter()
        .filter(|f| time_of(f).as_str() <= "2024-05-01T10:00:00Z" && !time_of(f).is_empty())
        .cloned()
        .collect();
    assert!(!want.is_empty() && want.len() < base.len(), "{base:?}");
    assert_eq!(keys(&early), keys(&want));
    assert!(
        s2["scope_limits"][0]
            .as_str()
            .unwrap()
            .starts_with("time window")
    );
    // Event id exclusion.
    let (no4624, _) = all(&["--exclude-event-id", "4624"]);
    let want: Vec<serde_json::Value> = base
        .iter()
        .filter(|f| f["event_id"] != 4624)
        .cloned()
        .collect();
    assert_eq!(keys(&no4624), keys(&want));
    // A bad bound is an error naming the flag.
    let out = kahu(&[
        "hunt",
        &fx.evidence(),
        "--rules",
        &fx.rules(),
        "--to",
        "soon",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--to"));
}

/// `--threads 1` finds exactly what the default thread count finds; 0 is refused.
#[test]
fn thread_count_changes_speed_not_results() {
    let fx = Fixture::new();
    let run = |extra: &[&str]| {
        let p = fx.path(&format!("t{}.jsonl", extra.len()));
        let mut args: Vec<&str> = extra.to_vec();
        let (ev, rules, ps) = (fx.evidence(), fx.rules(), p.to_str().unwrap().to_string());
        args.extend([
            "hunt",
            "-q",
            ev.as_str(),
            "--rules",
            rules.as_str(),
            "-o",
            ps.as_str(),
        ]);
        assert_ok(&kahu(&args));
        let mut lines: Vec<String> = read_jsonl(&p)
            .iter()
            .map(|f| format!("{}|{}", f["rule_id"], f["timestamp"]))
            .collect();
        lines.sort();
        lines
    };
    let one = run(&["--threads", "1"]);
    assert!(!one.is_empty());
    assert_eq!(one, run(&[]));
    let out = kahu(&["--threads", "0", "hunt", &fx.evidence()]);
    assert_eq!(out.status.code(), Some(2));
}

/// `kahu metrics` counts what the fixture holds; `kahu search` finds the
/// events with a keyword and a field-bound regex, and nothing else.
#[test]
fn metrics_and_search_agree_with_the_evidence() {
    let fx = Fixture::new();
    let out = kahu(&["metrics", &fx.evidence(), "--json", "-q"]);
    assert_ok(&out);
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Expected counts from the fixture text itself.
    let text = EVENTS.to_string();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(m["events"].as_u64().unwrap() as usize, lines.len());
    let ws1 = lines
        .iter()
        .filter(|l| l.contains("\"Computer\":\"WS1.corp.local\""))
        .count();
    let row = m["computers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["computer"] == "WS1.corp.local")
        .expect("WS1 row");
    assert_eq!(row["events"].as_u64().unwrap() as usize, ws1);
    let sec = lines
        .iter()
        .filter(|l| l.contains("\"EventID\":4624"))
        .count();
    let eid = m["event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["event_id"] == 4624)
        .expect("4624 row");
    assert_eq!(eid["events"].as_u64().unwrap() as usize, sec);

    let out = kahu(&["search", &fx.evidence(), "-k", "MIMIKATZ", "-q"]);
    assert_ok(&out);
    let found = text_lines(&out.stdout);
    let want = lines
        .iter()
        .filter(|l| l.to_lowercase().contains("mimikatz"))
        .count();
    assert!(want > 0);
    assert_eq!(found.len(), want);
    // A regex bound to a field that does not hold the text finds nothing.
    let out = kahu(&[
        "search",
        &fx.evidence(),
        "-e",
        "(?i)mimikatz",
        "--field",
        "User",
        "-q",
    ]);
    assert_ok(&out);
    assert!(text_lines(&out.stdout).is_empty());
    // Neither keyword nor regex: refused.
    assert_eq!(kahu(&["search", &fx.evidence()]).status.code(), Some(2));
}

fn text_lines(b: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(b)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// `--tz +12:00` shows CSV times at that offset (the same instants);
/// a malformed offset is an error.
#[test]
fn tz_shifts_csv_times_but_not_the_instants() {
    let fx = Fixture::new();
    let p = fx.path("tz.csv");
    let out = kahu(&[
        "hunt",
        "-q",
        &fx.evidence(),
        "--rules",
        &fx.rules(),
        "--tz",
        "+12:00",
        "-o",
        p.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let (header, rows) = read_csv(&p);
    let c = header.iter().position(|h| h == "timestamp").unwrap();
    // The fixture's first event is at 2024-05-01T10:00:00Z.
    assert_eq!(rows[0][c], "2024-05-01T22:00:00+12:00");
    let out = kahu(&["hunt", &fx.evidence(), "--tz", "Atlantis/Capital"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("time zone name"),
        "{}",
        text(&out.stderr)
    );
}

/// `--tz Pacific/Auckland` takes the offset in force at each event: two
/// events two minutes apart across the end of New Zealand daylight time
/// (2024-04-07 03:00 NZDT = 2024-04-06 14:00 UTC) get +13:00 and +12:00.
#[test]
fn a_named_tz_applies_daylight_saving_per_event() {
    let fx = Fixture::new();
    let line = EVENTS.lines().next().unwrap();
    let ev = format!(
        "{}\n{}\n",
        line.replace("2024-05-01T10:00:00Z", "2024-04-06T13:59:00Z"),
        line.replace("2024-05-01T10:00:00Z", "2024-04-06T14:01:00Z")
            .replace("\"EventRecordID\":11", "\"EventRecordID\":21")
            .replace("sekurlsa::logonpasswords", "privilege::debug"),
    );
    let dst = fx.path("dst");
    std::fs::create_dir_all(&dst).unwrap();
    std::fs::write(dst.join("events.jsonl"), ev).unwrap();
    let p = fx.path("dst.csv");
    let out = kahu(&[
        "hunt",
        "-q",
        dst.to_str().unwrap(),
        "--rules",
        &fx.rules(),
        "--tz",
        "Pacific/Auckland",
        "-o",
        p.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let (header, rows) = read_csv(&p);
    let c = header.iter().position(|h| h == "timestamp").unwrap();
    let mut times: Vec<&str> = rows.iter().map(|r| r[c].as_str()).collect();
    times.sort();
    times.dedup();
    assert_eq!(
        times,
        ["2024-04-07T02:01:00+12:00", "2024-04-07T02:59:00+13:00"],
        "{rows:?}"
    );
}

/// `--rule-status` loads only rules of the given statuses.
#[test]
fn rule_status_selects_rules() {
    let fx = Fixture::new();
    let dir = fx.path("status-rules");
    std::fs::create_dir_all(&dir).unwrap();
    for (n, status) in [("a", "stable"), ("b", "experimental")] {
        std::fs::write(
            dir.join(format!("{n}.yml")),
            format!("title: Status {status}\nid: 0a1b2c3d-0000-4000-8000-0000000000b{}\nstatus: {status}\nlevel: low\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n", if n == "a" { 1 } else { 2 }),
        )
        .unwrap();
    }
    let d = dir.to_str().unwrap();
    let loaded = |extra: &[&str]| {
        let mut args = vec!["hunt", "-q", "--json", "--no-bundled-rules"];
        let ev = fx.evidence();
        args.extend([ev.as_str(), "--rules", d]);
        args.extend(extra);
        let out = kahu(&args);
        assert_ok(&out);
        summary(&out)["rules_loaded"].as_u64().unwrap()
    };
    assert_eq!(loaded(&[]), 2);
    assert_eq!(loaded(&["--rule-status", "stable"]), 1);
    assert_eq!(loaded(&["--rule-status", "stable,experimental"]), 2);
    let out = kahu(&[
        "hunt",
        &fx.evidence(),
        "--rules",
        d,
        "--rule-status",
        "shiny",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// Evidence that yields not one event: outputs are still written, but the
/// exit status (3) tells a script that nothing was examined.
#[test]
fn nothing_readable_is_exit_3_not_a_clean_result() {
    let fx = Fixture::new();
    let ev = fx.path("junk");
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::write(ev.join("x.bin"), [0xffu8, 0x00, 0x13, 0x37]).unwrap();
    let out = kahu(&["hunt", ev.to_str().unwrap(), "--json", "-q"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(summary(&out)["events"], 0);
    let dir = fx.path("out");
    let out = kahu(&[
        "assess",
        ev.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--no-case",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(dir.join("report.html").is_file());
    // `events` and `metrics` said nothing and exited 0 (session 18).
    for args in [
        vec!["events", ev.to_str().unwrap(), "--count", "-q"],
        vec!["events", ev.to_str().unwrap(), "-q"],
        vec!["metrics", ev.to_str().unwrap(), "-q"],
        vec!["metrics", ev.to_str().unwrap(), "--json", "-q"],
    ] {
        let out = kahu(&args);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("no event could be read"),
            "{args:?}"
        );
    }
    // The fixture's readable evidence is a normal 0.
    assert_ok(&kahu(&["hunt", &fx.evidence(), "--json", "-q"]));
    assert_ok(&kahu(&["events", &fx.evidence(), "--count", "-q"]));
    assert_ok(&kahu(&["metrics", &fx.evidence(), "-q"]));
}

/// `--rules` means the same in `hunt` and `assess`: the given rules are
/// added to kahu's bundled set (the summaries name the same rule sources),
/// and `--no-bundled-rules` leaves only the given rules in both.
#[test]
fn rules_add_to_the_bundled_set_in_hunt_as_in_assess() {
    let fx = Fixture::new();
    let sources = |cmd: &str, extra: &[&str]| {
        let out_path = fx.path(&format!("{cmd}-{}", extra.len()));
        let ev = fx.evidence();
        let rules = fx.rules();
        let mut args = vec![cmd, ev.as_str(), "--rules", rules.as_str(), "--json"];
        args.extend(extra);
        let out_flag = if cmd == "hunt" { "-o" } else { "--out" };
        args.extend([out_flag, out_path.to_str().unwrap()]);
        if cmd == "assess" {
            args.push("--no-case");
        }
        let out = Command::new(KAHU)
            .args(&args)
            .env("NO_COLOR", "1")
            // No rule package installed by `kahu rules update` on this machine.
            .env("KAHU_RULES_DIR", fx.path("no-installed-rules"))
            .stdin(Stdio::null())
            .output()
            .expect("run kahu");
        assert_ok(&out);
        let s = summary(&out);
        s["rule_sources"]
            .as_array()
            .expect("rule_sources")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    let hunt = sources("hunt", &[]);
    assert_eq!(hunt, sources("assess", &[]));
    assert_eq!(hunt.len(), 2, "bundled and the given rules: {hunt:?}");
    assert!(hunt[0].starts_with("kahu's bundled rules"), "{hunt:?}");
    // The bundled set holds correlations: the source says how its count
    // splits, and the parts add up (the summary's total counts both).
    let counts: Vec<u64> = hunt[0]
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(
        hunt[0].contains(" detection, ") && hunt[0].ends_with(" correlation)"),
        "{hunt:?}"
    );
    assert_eq!(counts.len(), 3, "{hunt:?}");
    assert_eq!(counts[0], counts[1] + counts[2], "{hunt:?}");
    assert!(hunt[1].contains("(3 rules)"), "{hunt:?}");
    let alone = sources("hunt", &["--no-bundled-rules"]);
    assert_eq!(alone, sources("assess", &["--no-bundled-rules"]));
    assert_eq!(alone.len(), 1, "{alone:?}");
    assert!(alone[0].contains("(3 rules)"), "{alone:?}");
}

/// `--json` carries the warnings' texts, not only their count: a malformed
/// line is named with its file, line and reason, in `hunt` and in `assess`.
#[test]
fn json_summaries_list_each_warning_with_file_line_and_reason() {
    let fx = Fixture::new();
    let ev = fx.path("mixed.jsonl");
    std::fs::write(
        &ev,
        format!(
            "{}not json\n",
            EVENTS.lines().next().unwrap().to_owned() + "\n"
        ),
    )
    .unwrap();
    let ev = ev.to_str().unwrap().to_string();
    let hunt_out = fx.path("h.csv");
    let assess_out = fx.path("report");
    for args in [
        vec![
            "hunt",
            ev.as_str(),
            "--json",
            "-o",
            hunt_out.to_str().unwrap(),
        ],
        vec![
            "assess",
            ev.as_str(),
            "--json",
            "--no-case",
            "--out",
            assess_out.to_str().unwrap(),
        ],
    ] {
        let out = kahu(&args);
        assert_ok(&out);
        let s = summary(&out);
        let details = s["warning_details"].as_array().expect("warning_details");
        assert_eq!(s["warnings"].as_u64(), Some(details.len() as u64), "{s}");
        let bad = details
            .iter()
            .find(|w| w["location"]["value"] == 2)
            .unwrap_or_else(|| panic!("no warning for line 2: {details:?}"));
        assert!(
            bad["file"].as_str().unwrap().ends_with("mixed.jsonl"),
            "{bad}"
        );
        assert_eq!(bad["location"]["kind"], "line");
        assert!(
            bad["reason"].as_str().unwrap().contains("malformed JSON"),
            "{bad}"
        );
    }
}

/// `--utc` is the default made explicit: the same timeline as without it;
/// with `--tz` it is a usage error.
#[test]
fn utc_is_the_default_and_conflicts_with_tz() {
    let fx = Fixture::new();
    let run = |extra: &[&str], name: &str| {
        let p = fx.path(name);
        let mut args = vec!["hunt", "-q"];
        let ev = fx.evidence();
        let rules = fx.rules();
        args.extend([
            ev.as_str(),
            "--rules",
            rules.as_str(),
            "-o",
            p.to_str().unwrap(),
        ]);
        args.extend(extra);
        (kahu(&args), p)
    };
    let (plain, p1) = run(&[], "plain.csv");
    let (utc, p2) = run(&["--utc"], "utc.csv");
    assert_ok(&plain);
    assert_ok(&utc);
    assert_eq!(
        std::fs::read_to_string(p1).unwrap(),
        std::fs::read_to_string(p2).unwrap()
    );
    let (both, _) = run(&["--utc", "--tz", "+12:00"], "both.csv");
    assert_eq!(both.status.code(), Some(2), "{both:?}");
}

/// Without the `datafusion` feature the engine is refused by name, with
/// the feature to build with, before any evidence is read.
#[cfg(not(feature = "datafusion"))]
#[test]
fn engine_datafusion_without_the_feature_says_which_feature_to_build_with() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let report = tmp.path().join("out");
    for command in [
        &["hunt"][..],
        &["assess", "--out", report.to_str().unwrap()],
    ] {
        let out = Command::new(KAHU)
            .args(command)
            .args(["--engine", "datafusion"])
            .arg(tmp.path())
            .output()
            .expect("kahu runs");
        let command = command[0];
        assert_eq!(out.status.code(), Some(2), "{command}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--features datafusion"), "{command}: {err}");
    }
    assert!(!report.exists(), "assess wrote nothing");
}

/// Without the `cluster` feature, `hunt --cluster` and `kahu cluster` are
/// refused with the feature to build with, before any evidence is read.
#[cfg(not(feature = "cluster"))]
#[test]
fn cluster_without_the_feature_says_which_feature_to_build_with() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let hunt = Command::new(KAHU)
        .args(["hunt", "--cluster", "127.0.0.1:9"])
        .arg(tmp.path())
        .output()
        .expect("kahu runs");
    let assess = Command::new(KAHU)
        .args(["assess", "--cluster", "127.0.0.1:9", "--out"])
        .arg(tmp.path().join("out"))
        .arg(tmp.path())
        .output()
        .expect("kahu runs");
    assert!(!tmp.path().join("out").exists(), "assess wrote nothing");
    let node = Command::new(KAHU)
        .args(["cluster", "scheduler"])
        .output()
        .expect("kahu runs");
    for out in [hunt, assess, node] {
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--features cluster"), "{err}");
    }
}

/// In a build without the `object-store` feature, `s3://` and `file://`
/// evidence is refused naming the feature to build with, and nothing is
/// written.
#[cfg(not(feature = "object-store"))]
#[test]
fn object_store_urls_without_the_feature_say_which_feature_to_build_with() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let hunt = Command::new(KAHU)
        .args(["hunt", "s3://evidence-bucket/case/", "-o"])
        .arg(tmp.path().join("t.csv"))
        .output()
        .expect("kahu runs");
    let file_url = format!("file://{}/", tmp.path().display());
    let assess = Command::new(KAHU)
        .args(["assess", &file_url, "--out"])
        .arg(tmp.path().join("out"))
        .output()
        .expect("kahu runs");
    for out in [hunt, assess] {
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--features object-store"), "{err}");
    }
    assert!(!tmp.path().join("t.csv").exists() && !tmp.path().join("out").exists());
}
