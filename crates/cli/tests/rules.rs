//! `kahu rules list` and `kahu rules show`: a finding's rule id leads to
//! the rule's file, metadata and text.

use std::process::Command;

fn kahu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args(args)
        .output()
        .expect("run kahu")
}

#[test]
fn list_and_show_trace_a_rule_to_its_file_and_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rule = dir.path().join("proc_creation_test.yml");
    std::fs::write(
        &rule,
        "title: Whoami Run\nid: 0a1b2c3d-0000-4000-8000-000000000001\nstatus: test\nlevel: low\nauthor: someone\nreferences:\n  - https://example.invalid/whoami\nfalsepositives:\n  - Admins\ntags: [attack.discovery, attack.t1033]\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n",
    )
    .expect("write rule");
    let dir_arg = dir.path().to_str().expect("utf-8 path");
    let out = kahu(&["rules", "list", dir_arg, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json list");
    let first = &list[0];
    assert_eq!(first["id"], "0a1b2c3d-0000-4000-8000-000000000001");
    assert!(
        first["file"]
            .as_str()
            .expect("file")
            .ends_with("proc_creation_test.yml")
    );

    let out = kahu(&[
        "rules",
        "show",
        "0a1b2c3d-0000-4000-8000-000000000001",
        dir_arg,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "Whoami Run",
        "proc_creation_test.yml",
        "https://example.invalid/whoami",
        "Admins",
        "attack.t1033",
        "Image|endswith",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }

    let out = kahu(&["rules", "show", "no-such-id", dir_arg]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-id"));
}

#[test]
fn bundled_rules_show_their_text() {
    let out = kahu(&["rules", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json list");
    let id = list[0]["id"].as_str().expect("id").to_string();
    let out = kahu(&["rules", "show", &id]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("detection:"));
}
