//! YARA scanning of a small web root with a China Chopper one-liner.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

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
    // Files over the whole-file size are scanned in windows, not skipped;
    // there `filesize` is undefined, so the China Chopper rule
    // (`filesize < 4KB and …`) cannot match.
    let s = scanner().with_max_file_size(16).with_window(64, 32);
    let mut warnings = Vec::new();
    let found = s.scan_path_with(&data("webroot"), &mut warnings);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(found.is_empty(), "{found:#?}");

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

/// The marker the large-file tests look for, and a rule that also reads
/// bytes at an offset (`uint32(0)`), which a windowed scan must fetch.
const MARKER: &[u8] = b"KAHU-LARGE-FILE-MARKER";
const MARKER_RULE: &str = r#"
rule marker { strings: $m = "KAHU-LARGE-FILE-MARKER" condition: $m }
rule elf_marker { strings: $m = "KAHU-LARGE-FILE-MARKER" condition: uint32(0) == 0x464c457f and $m }
"#;

fn marker_offset(f: &kahu_finding::Finding) -> u64 {
    let s = f
        .fields
        .iter()
        .find(|(k, _)| &**k == "yara_strings")
        .map(|(_, v)| v.clone())
        .unwrap();
    s.trim_start_matches("$m@").parse().unwrap()
}

#[test]
fn a_file_over_64_mib_is_scanned_in_windows_and_its_marker_past_64_mib_found() {
    use std::io::{Seek, SeekFrom, Write};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.bin");
    let at = kahu_intel::DEFAULT_MAX_FILE_SIZE + 4321;
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(b"\x7fELF").unwrap();
    // Sparse up to the marker, which straddles a window boundary too.
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(MARKER).unwrap();
    f.set_len(65 * 1024 * 1024).unwrap();
    drop(f);
    let s = YaraScanner::compile_str(MARKER_RULE, "t").unwrap();
    let mut w = Vec::new();
    let found = s.scan_path_with(&p, &mut w);
    assert!(w.is_empty(), "{w:?}");
    let ids: Vec<&str> = found.iter().map(|f| &*f.rule_id).collect();
    assert_eq!(ids, ["t:marker", "t:elf_marker"], "{found:#?}");
    assert_eq!(marker_offset(&found[0]), at, "offset in the file");
    let sha = found[0]
        .fields
        .iter()
        .find(|(k, _)| &**k == "sha256")
        .unwrap();
    assert_eq!(sha.1.len(), 64);
}

#[test]
fn a_string_up_to_the_overlap_is_found_across_every_window_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let (window, overlap) = (64usize, MARKER.len());
    let s = YaraScanner::compile_str(MARKER_RULE, "t")
        .unwrap()
        .with_max_file_size(100)
        .with_window(window, overlap);
    // Every position of the marker relative to the window grid.
    for at in 100..100 + window as u64 {
        let mut bytes = vec![b'.'; 400];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[at as usize..at as usize + MARKER.len()].copy_from_slice(MARKER);
        let p = dir.path().join("f.bin");
        std::fs::write(&p, &bytes).unwrap();
        let mut w = Vec::new();
        let found = s.scan_path_with(&p, &mut w);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(found.len(), 2, "marker at {at}: {found:#?}");
        assert_eq!(marker_offset(&found[0]), at);
    }
    // The stated limit: an occurrence longer than the overlap + 1 that
    // starts before window 2 and ends after window 1 is in no window.
    let overlap = MARKER.len() - 2;
    let short = s.with_window(window, overlap);
    let mut bytes = vec![b'.'; 400];
    let step = window - overlap;
    let at = step + window - overlap - 1;
    bytes[at..at + MARKER.len()].copy_from_slice(MARKER);
    let p = dir.path().join("g.bin");
    std::fs::write(&p, &bytes).unwrap();
    assert!(short.scan_path_with(&p, &mut Vec::new()).is_empty());
}
