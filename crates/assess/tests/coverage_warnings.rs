//! Evidence not analysed is said: a file YARA skips is a run warning,
//! not a silent gap.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_assess::{DetectConfig, detect};

const MARKER: &str = "KAHU-YARA-MARKER-7f3a";

fn marker_rules(dir: &std::path::Path) -> std::path::PathBuf {
    let rules = dir.join("r.yar");
    std::fs::write(
        &rules,
        format!("rule marker {{ strings: $a = \"{MARKER}\" condition: $a }}\n"),
    )
    .unwrap();
    rules
}

fn detect_with_yara(ev: &std::path::Path, rules: std::path::PathBuf) -> kahu_assess::DetectionRun {
    detect(
        &DetectConfig {
            evidence: vec![ev.to_path_buf()],
            yara: vec![rules],
            bundled_rules: true,
            ..Default::default()
        },
        &(),
    )
    .expect("detect")
}

#[test]
fn a_file_over_64_mib_is_scanned_and_its_marker_past_64_mib_found() {
    use std::io::{Seek, SeekFrom, Write};
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    std::fs::create_dir(&ev).unwrap();
    std::fs::write(ev.join("a.jsonl"), "{\"EventID\":1}\n").unwrap();
    // Sparse: 65 MiB of which only the marker is written, past 64 MiB.
    let big = ev.join("big.bin");
    let mut f = std::fs::File::create(&big).unwrap();
    f.seek(SeekFrom::Start(kahu_intel::DEFAULT_MAX_FILE_SIZE + 1000))
        .unwrap();
    f.write_all(MARKER.as_bytes()).unwrap();
    f.set_len(65 * 1024 * 1024).unwrap();
    drop(f);
    let run = detect_with_yara(&ev, marker_rules(dir.path()));
    assert!(
        !run.warnings.iter().any(|w| w.reason.starts_with("YARA:")),
        "{:?}",
        run.warnings
    );
    let hit = run
        .findings
        .iter()
        .find(|f| &*f.rule_id == "r:marker")
        .unwrap_or_else(|| panic!("no YARA finding: {:?}", run.findings));
    assert!(hit.provenance.file.ends_with("big.bin"));
    assert_eq!(hit.provenance.member, None);
}

#[test]
fn archive_members_are_scanned_and_findings_name_archive_and_member() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    std::fs::create_dir(&ev).unwrap();
    // A zip whose member holds the marker; its compressed bytes do not.
    let mut zip_bytes = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut zip_bytes);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        z.start_file("www/clean.txt", opts).unwrap();
        z.write_all(b"nothing here").unwrap();
        z.start_file("www/shell.aspx", opts).unwrap();
        z.write_all(format!("<% {MARKER} %>").repeat(50).as_bytes())
            .unwrap();
        z.finish().unwrap();
    }
    let zip_bytes = zip_bytes.into_inner();
    assert!(
        !zip_bytes
            .windows(MARKER.len())
            .any(|w| w == MARKER.as_bytes())
    );
    std::fs::write(ev.join("site.zip"), &zip_bytes).unwrap();
    // The same zip inside a .tar.gz: nested members are named with `!`.
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(zip_bytes.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "backup/site.zip", &zip_bytes[..])
        .unwrap();
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    std::fs::write(ev.join("collection.tar.gz"), gz.finish().unwrap()).unwrap();

    let run = detect_with_yara(&ev, marker_rules(dir.path()));
    let mut hits: Vec<(String, String)> = run
        .findings
        .iter()
        .filter(|f| &*f.rule_id == "r:marker")
        .map(|f| {
            let file = std::path::Path::new(&*f.provenance.file);
            (
                file.file_name().unwrap().to_string_lossy().into_owned(),
                f.provenance.member.as_deref().unwrap_or("").to_string(),
            )
        })
        .collect();
    hits.sort();
    assert_eq!(
        hits,
        [
            (
                "collection.tar.gz".to_string(),
                "collection.tar!backup/site.zip!www/shell.aspx".to_string()
            ),
            ("site.zip".to_string(), "www/shell.aspx".to_string()),
        ],
        "{:#?}",
        run.findings
    );
    let zip_hit = run
        .findings
        .iter()
        .find(|f| f.provenance.member.as_deref() == Some("www/shell.aspx"))
        .unwrap();
    let field = |k: &str| {
        zip_hit
            .fields
            .iter()
            .find(|(n, _)| &**n == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("archive_member").as_deref(), Some("www/shell.aspx"));
    assert!(field("file").unwrap().ends_with("site.zip"));
}
