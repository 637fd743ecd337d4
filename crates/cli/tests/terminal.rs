//! Evidence cannot write to the analyst's terminal: host names, rule
//! titles, file names and warnings reach stdout/stderr with their control
//! characters escaped, and evidence cannot forge a `warning:` line.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use std::process::{Command, Stdio};

const RULE: &str = "title: \"Hostile \\e[2J title\"
id: 00000000-0000-4000-8000-0000000000aa
status: test
level: high
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|contains: mimikatz
    condition: selection
";

#[test]
fn hunt_output_escapes_control_characters_from_evidence_and_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    let evidence = dir.path().join("evidence");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::create_dir_all(&evidence).unwrap();
    std::fs::write(rules.join("r.yml"), RULE).unwrap();
    // A host name with a screen-clearing escape and a forged line.
    let event = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"EventRecordID":11,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS1\u001b[2J\nwarning: forged host","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:00:00Z"}}},"EventData":{"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c mimikatz.exe","User":"CORP\\bob"}}}"##;
    std::fs::write(evidence.join("events.jsonl"), format!("{event}\n")).unwrap();
    // A file whose name forges a warning line, with content no reader takes.
    std::fs::write(
        evidence.join("x\nwarning: forged file \u{1b}[31m.bin"),
        [0xffu8, 0x00, 0x13, 0x37].repeat(64),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .arg("hunt")
        .arg(&evidence)
        .arg("--rules")
        .arg(&rules)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run kahu");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Hostile"),
        "the rule fired and its title was printed: {stdout}"
    );
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!text.contains('\u{1b}'), "raw escape on {name}: {text:?}");
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with("warning: forged")),
            "forged line on {name}: {text}"
        );
    }
}

/// `kahu rules check` prints each rejection with the rule's file name and
/// the offending construct: neither can send an escape or forge a line.
#[test]
fn rules_check_escapes_rule_file_names_and_constructs() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("r.yml"), RULE).unwrap();
    std::fs::write(
        dir.path().join("bad\u{1b}[2J\nwarning: forged file.yml"),
        "title: bad\nid: \"x\\e[31m\"\nlogsource: {product: windows}\ndetection:\n    sel:\n        \"Foo|bogus\\e[2J\\nwarning: forged modifier\": 1\n    condition: sel\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args(["rules", "check"])
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run kahu");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("rejected"),
        "the bad rule was rejected: {stdout}"
    );
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!text.contains('\u{1b}'), "raw escape on {name}: {text:?}");
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with("warning: forged")),
            "forged line on {name}: {text}"
        );
    }
}
