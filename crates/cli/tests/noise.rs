//! `hunt` noise options: repeats collapsed into one finding with a count,
//! `--exclude-rule`, `--tuning` and the shipped list. Events are generated
//! here; expected counts follow from how many were written.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use std::process::Command;

const KAHU: &str = env!("CARGO_BIN_EXE_kahu");
const RULE_ID: &str = "00000000-0000-4000-8000-0000000000aa";

fn rule() -> String {
    format!(
        "title: Test Failed Logon\nid: {RULE_ID}\nstatus: test\nlevel: medium\ntags:\n    - attack.t1110.001\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID: 4625\n    condition: selection\n"
    )
}

/// `n` failed logons for `admin` from one address, `step` seconds apart.
fn failures(n: u32, step: u32) -> String {
    let mut s = String::new();
    for i in 0..n {
        let t = chrono::DateTime::from_timestamp(1_714_557_600 + i64::from(i * step), 0).unwrap();
        s.push_str(&format!(
            r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Security-Auditing"}}}},"EventID":4625,"EventRecordID":{},"Channel":"Security","Computer":"DC1.corp.local","TimeCreated":{{"#attributes":{{"SystemTime":"{}"}}}}}},"EventData":{{"TargetUserName":"admin","LogonType":3,"IpAddress":"10.0.0.66"}}}}}}"##,
            i + 1,
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
        s.push('\n');
    }
    s
}

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(events: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("rules")).unwrap();
        std::fs::write(dir.path().join("rules/r.yml"), rule()).unwrap();
        // A second rule, so excluding the first leaves a usable set.
        std::fs::write(
            dir.path().join("rules/other.yml"),
            "title: Other\nid: 00000000-0000-4000-8000-0000000000bb\nlevel: high\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID: 1102\n    condition: selection\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("ev")).unwrap();
        std::fs::write(dir.path().join("ev/security.jsonl"), events).unwrap();
        Case { dir }
    }

    /// Run `hunt` with extra arguments; the timeline's rows.
    fn hunt(&self, extra: &[&str]) -> Vec<serde_json::Value> {
        let out_path = self.dir.path().join("t.jsonl");
        let d = |p: &str| self.dir.path().join(p).display().to_string();
        let mut args = vec![
            "hunt".to_string(),
            d("ev"),
            "--rules".into(),
            d("rules"),
            "-o".into(),
            out_path.display().to_string(),
            "--json".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = Command::new(KAHU).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&out_path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn field<'a>(row: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    row["fields"]
        .as_array()?
        .iter()
        .find(|kv| kv[0] == name)
        .and_then(|kv| kv[1].as_str())
}

#[test]
fn a_burst_of_failures_is_one_finding_with_its_count() {
    let case = Case::new(&failures(120, 2));
    let rows = case.hunt(&[]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(field(&rows[0], "RepeatCount"), Some("120"));
    assert_eq!(
        field(&rows[0], "FirstSeen"),
        Some("2024-05-01T10:00:00+00:00")
    );
    assert_eq!(
        field(&rows[0], "LastSeen"),
        Some("2024-05-01T10:03:58+00:00")
    );
    // Every instance on its own row when asked.
    assert_eq!(case.hunt(&["--collapse-window", "0"]).len(), 120);
    // Ten minutes apart with a five-minute window: no burst.
    let spaced = Case::new(&failures(4, 600));
    assert_eq!(spaced.hunt(&["--collapse-window", "300"]).len(), 4);
}

#[test]
fn exclude_rule_and_tuning_file() {
    let case = Case::new(&failures(3, 7200));
    assert_eq!(case.hunt(&[]).len(), 3);
    assert!(case.hunt(&["--exclude-rule", RULE_ID]).is_empty());
    let tuning = case.dir.path().join("tuning.yaml");
    std::fs::write(
        &tuning,
        format!("rules:\n  - id: {RULE_ID}\n    level: low\n    reason: test\n"),
    )
    .unwrap();
    let t = tuning.display().to_string();
    let rows = case.hunt(&["--tuning", &t]);
    assert!(rows.iter().all(|r| r["level"] == "low"), "{rows:?}");
    // The level filter sees the tuned level.
    assert!(
        case.hunt(&["--tuning", &t, "--min-level", "medium"])
            .is_empty()
    );
    // A broken tuning file is an error (exit 2), not silently ignored.
    std::fs::write(&tuning, "rules:\n  - id: x\n    level: loud\n").unwrap();
    let d = |p: &str| case.dir.path().join(p).display().to_string();
    let out = Command::new(KAHU)
        .args(["hunt", &d("ev"), "--rules", &d("rules"), "--tuning", &t])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
