//! YARA scanning of a small web root with a China Chopper one-liner.

use kahu_event::Location;
use kahu_finding::{FindingKind, Level};
use kahu_intel::YaraScanner;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn scanner() -> YaraScanner {
    YaraScanner::compile(&[data("yara/webshells.yar")]).expect("rules compile")
}

#[test]
fn china_chopper_found_with_attack_ids() {
    let s = scanner();
    assert_eq!(s.rule_count(), 2);
    let root = data("webroot");
    let shell = root.join("aspnet_client/errorEE.aspx");
    let before = (
        std::fs::read(&shell).unwrap(),
        std::fs::metadata(&shell).unwrap().modified().unwrap(),
    );
    let mut warnings = Vec::new();
    let found = s.scan_path_with(&root, &mut warnings);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(found.len(), 1, "only the web shell matches: {found:#?}");
    let f = &found[0];
    assert_eq!(f.kind, FindingKind::Yara);
    assert_eq!(&*f.rule_id, "webshells:Webshell_ChinaChopper_aspx");
    assert_eq!(f.level, Level::Critical);
    assert_eq!(f.techniques, vec![Arc::<str>::from("T1505.003")]);
    assert_eq!(f.software, vec![Arc::<str>::from("S0020")]);
    assert_eq!(&*f.provenance.file, shell.display().to_string());
    assert_eq!(f.provenance.location, Location::File);
    assert!(f.timestamp.is_some(), "file mtime is the evidence time");
    let field = |k: &str| {
        f.fields
            .iter()
            .find(|(n, _)| &**n == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("yara_tags").as_deref(), Some("webshell T1505_003"));
    assert!(field("yara_strings").unwrap().contains("$eval@"));
    assert_eq!(field("sha256").unwrap().len(), 64);
    // Evidence is never modified.
    let after = (
        std::fs::read(&shell).unwrap(),
        std::fs::metadata(&shell).unwrap().modified().unwrap(),
    );
    assert_eq!(before, after);
}

#[test]
fn process_start_rule_uses_score_and_file_scan() {
    let s = scanner();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cmd.aspx");
    std::fs::write(
        &p,
        "<%@ Page Language=\"C#\" %><% System.Diagnostics.Process.Start(\"cmd.exe\"); %>",
    )
    .unwrap();
    let found = s.scan_path(&p);
    assert_eq!(found.len(), 1);
    assert_eq!(&*found[0].rule_id, "webshells:Suspicious_Aspx_ProcessStart");
    assert_eq!(found[0].level, Level::Medium, "score 60");
    assert!(found[0].techniques.is_empty());
}

#[test]
fn caps_links_and_errors() {
    let s = scanner().with_max_file_size(16);
    let mut warnings = Vec::new();
    let found = s.scan_path_with(&data("webroot"), &mut warnings);
    assert!(found.is_empty());
    assert_eq!(
        warnings.len(),
        3,
        "every file is over 16 bytes: {warnings:?}"
    );
    assert!(warnings.iter().all(|w| w.reason.contains("cap")));

    #[cfg(unix)]
    {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.aspx");
        std::os::unix::fs::symlink(data("webroot/aspnet_client/errorEE.aspx"), &link).unwrap();
        let mut w = Vec::new();
        assert!(
            scanner().scan_path_with(dir.path(), &mut w).is_empty(),
            "links are not followed"
        );
        let mut w = Vec::new();
        assert!(scanner().scan_path_with(&link, &mut w).is_empty());
        assert!(w[0].reason.contains("not a regular file"));
    }
    let mut w = Vec::new();
    assert!(
        scanner()
            .scan_path_with(&data("does-not-exist"), &mut w)
            .is_empty()
    );
    assert_eq!(w.len(), 1);

    let err = YaraScanner::compile(&[data("yara/broken.yar.txt")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broken.yar.txt") && err.contains("$b"),
        "{err}"
    );
    assert!(YaraScanner::compile_str("rule x { condition: ", "t").is_err());
}
