//! `kahu hunt --case DIR` stores events and detections, incrementally.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use std::path::Path;
use std::process::Command;

fn kahu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args(args)
        .output()
        .expect("run kahu")
}

fn event(n: u32, cmd: &str) -> String {
    format!(
        r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon"}}}},"EventID":1,"TimeCreated":{{"#attributes":{{"SystemTime":"2021-09-07T03:00:{n:02}.000000Z"}}}},"EventRecordID":{n},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS1"}},"EventData":{{"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"{cmd}"}}}}}}"##
    )
}

fn count(db: &Path, table: &str) -> i64 {
    let out = Command::new("python3")
        .args(["-c", &format!("import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from {table}').fetchone()[0])")])
        .arg(db)
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count")
}

#[test]
fn hunt_into_a_case_is_incremental() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("r.yml"),
        "title: Whoami\nid: 11111111-2222-4333-8444-555555555555\nstatus: test\nlevel: high\n\
         logsource: {category: process_creation, product: windows}\n\
         detection: {sel: {CommandLine|contains: whoami}, condition: sel}\n",
    )
    .unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    std::fs::write(
        &a,
        format!("{}\n{}\n", event(1, "whoami /all"), event(2, "dir")),
    )
    .unwrap();
    std::fs::write(&b, format!("{}\n", event(3, "whoami"))).unwrap();
    let case = dir.path().join("case");
    let r = rules.to_str().unwrap();
    let c = case.to_str().unwrap();

    let out = kahu(&[
        "hunt",
        a.to_str().unwrap(),
        "--rules",
        r,
        "--case",
        c,
        "-q",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = case.join("case.sqlite");
    assert_eq!(count(&db, "events"), 2);
    assert_eq!(count(&db, "findings"), 1);

    // Same file again plus a new one: the old file's events are not stored
    // twice, its findings are replaced, the new file is added.
    let out = kahu(&[
        "hunt",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--rules",
        r,
        "--case",
        c,
        "-q",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&db, "events"), 3);
    assert_eq!(count(&db, "findings"), 2);
    assert_eq!(count(&db, "evidence"), 2);
}

#[test]
fn hunt_runs_yara_over_evidence_files() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../intel/tests/data");
    let out = kahu(&[
        "hunt",
        &format!("{data}/webroot"),
        "--yara",
        &format!("{data}/yara/webshells.yar"),
        "--json",
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = v["top_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule_id"].as_str().unwrap())
        .collect();
    assert!(
        rules.iter().any(|r| r.contains("ChinaChopper")),
        "{rules:?}"
    );
    assert!(v["techniques"].to_string().contains("T1505.003"));
}

#[test]
fn placeholders_make_expand_rules_usable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.yml"),
        "title: Logon at an admin workstation\nid: 21111111-2222-4333-8444-555555555555\nstatus: test\nlevel: medium\n\
         logsource: {product: windows, service: security}\n\
         detection: {sel: {EventID: 4624, WorkstationName|expand: '%Admins_Workstations%'}, condition: sel}\n",
    )
    .unwrap();
    let p = dir.path().to_str().unwrap();
    // In an exclusion (`and not filter`) a placeholder without a value is
    // an empty allow-list: the rule compiles, with a note saying so.
    let negated = tempfile::tempdir().unwrap();
    std::fs::write(
        negated.path().join("n.yml"),
        "title: Admin logon from elsewhere\nid: 31111111-2222-4333-8444-555555555555\nstatus: test\nlevel: medium\n\
         logsource: {product: windows, service: security}\n\
         detection: {sel: {EventID: 4624}, filter: {WorkstationName|expand: '%Admins_Workstations%'}, condition: sel and not filter}\n",
    )
    .unwrap();
    let out = kahu(&["rules", "check", negated.path().to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["compiled"], 1, "{v}");
    assert!(
        v["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("%Admins_Workstations%") && n.contains("excludes nothing")),
        "{v}"
    );
    let without = kahu(&["rules", "check", p, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&without.stdout).unwrap();
    assert_eq!(v["compiled"], 0);
    assert!(
        v["rejected"][0]["message"]
            .as_str()
            .unwrap()
            .contains("--placeholder Admins_Workstations=")
    );
    let with = kahu(&[
        "rules",
        "check",
        p,
        "--json",
        "--placeholder",
        "Admins_Workstations=ADM-PC01",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&with.stdout).unwrap();
    assert_eq!(v["compiled"], 1, "{v}");
    let bad = kahu(&["rules", "check", p, "--placeholder", "novalue"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// The `events` and `max_id` of the Parquet timeline's manifest.
#[cfg(feature = "columnar")]
fn manifest(case: &Path) -> (u64, i64) {
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(case.join("timeline").join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["format"], "kahu-case-timeline/1");
    (m["events"].as_u64().unwrap(), m["max_id"].as_i64().unwrap())
}

#[cfg(feature = "columnar")]
#[test]
fn case_parquet_writes_and_rewrites_the_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    std::fs::write(&a, format!("{}\n{}\n", event(1, "whoami"), event(2, "dir"))).unwrap();
    std::fs::write(&b, format!("{}\n", event(3, "net user"))).unwrap();
    let case = dir.path().join("case");
    let c = case.to_str().unwrap();
    let hunt = |files: &[&Path]| {
        let mut args = vec!["hunt"];
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        args.extend(["--case", c, "-q", "--json"]);
        let out = kahu(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    hunt(&[&a]);
    let out = kahu(&["case", "parquet", c]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Parquet timeline: 2 events"), "{err}");
    let db = case.join("case.sqlite");
    assert_eq!(manifest(&case).0, count(&db, "events") as u64);
    assert!(case.join("timeline").join("part-00000.parquet").is_file());

    // The case grows; the timeline is rewritten over it.
    hunt(&[&a, &b]);
    let out = kahu(&["case", "parquet", c, "-q"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(manifest(&case), (3, 3));

    // A file kahu did not write in the timeline folder: refused, kept.
    std::fs::write(case.join("timeline").join("mine.txt"), "x").unwrap();
    let out = kahu(&["case", "parquet", c]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mine.txt"), "{err}");
    assert!(case.join("timeline").join("mine.txt").is_file());

    // Not a case.
    let out = kahu(&["case", "parquet", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a kahu case"));
}

#[cfg(feature = "columnar")]
#[test]
fn assess_case_parquet_writes_the_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = kahu(&[
        "assess",
        "--demo",
        "--out",
        out_dir.to_str().unwrap(),
        "--case-parquet",
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = count(&out_dir.join("case.sqlite"), "events");
    assert!(events > 1000, "{events}");
    assert_eq!(manifest(&out_dir).0, events as u64);
}

#[cfg(not(feature = "columnar"))]
#[test]
fn case_parquet_without_columnar_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = kahu(&["case", "parquet", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--features columnar"));
}
