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

/// `kahu rules update` installs a package built here (no network), refuses
/// paths that leave its folder, keeps the old set when a package has no
/// usable rule, and hunt uses the installed set when no --rules is given.
#[test]
fn rules_update_installs_a_package_that_hunt_then_uses() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("temp dir");
    let rule = "title: Whoami Run By Package\nid: 0a1b2c3d-0000-4000-8000-0000000000aa\nstatus: test\nlevel: high\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n";
    let pkg = dir.path().join("sigma_core.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&pkg).unwrap());
        let o = zip::write::SimpleFileOptions::default();
        z.start_file("sigma/rules/windows/whoami.yml", o).unwrap();
        z.write_all(rule.as_bytes()).unwrap();
        z.start_file("../escape.yml", o).unwrap();
        z.write_all(rule.as_bytes()).unwrap();
        z.start_file("sigma/README.md", o).unwrap();
        z.write_all(b"not a rule").unwrap();
        z.finish().unwrap();
    }
    let home = dir.path().join("rules-home");
    let h = home.to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args(["rules", "update", "--from", pkg.to_str().unwrap(), "--json"])
        .env("KAHU_RULES_DIR", h)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"], 1);
    assert_eq!(v["compiled"], 1);
    assert!(v["skipped"][0].as_str().unwrap().contains("unsafe path"));
    assert!(home.join("rules/sigma/rules/windows/whoami.yml").is_file());
    assert!(!dir.path().join("escape.yml").exists() && !home.join("escape.yml").exists());
    assert!(home.join("manifest.json").is_file());

    // A package with no usable rule leaves the installed set alone.
    let bad = dir.path().join("empty.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&bad).unwrap());
        z.start_file("x.yml", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(b"title: broken\n").unwrap();
        z.finish().unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args(["rules", "update", "--from", bad.to_str().unwrap()])
        .env("KAHU_RULES_DIR", h)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(home.join("rules/sigma/rules/windows/whoami.yml").is_file());

    // hunt without --rules: the bundled set plus the installed package.
    let ev = dir.path().join("ev.jsonl");
    std::fs::write(&ev, r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"EventRecordID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS1","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:00:00Z"}}},"EventData":{"Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami"}}}"##).unwrap();
    let hunt = |rules_dir: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
            .args(["hunt", ev.to_str().unwrap(), "--json", "-q"])
            .env("KAHU_RULES_DIR", rules_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let with = hunt(h);
    let without = hunt(dir.path().join("nothing-here").to_str().unwrap());
    assert!(
        with["top_rules"]
            .to_string()
            .contains("Whoami Run By Package"),
        "{}",
        with["top_rules"]
    );
    assert!(
        !without["top_rules"]
            .to_string()
            .contains("Whoami Run By Package")
    );
    assert_eq!(
        with["rules_loaded"].as_u64().unwrap(),
        without["rules_loaded"].as_u64().unwrap() + 1
    );
}
