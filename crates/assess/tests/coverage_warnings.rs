//! Evidence not analysed is said: a file YARA skips is a run warning,
//! not a silent gap.

use kahu_assess::{DetectConfig, detect};

#[test]
fn a_file_over_the_yara_size_cap_is_reported_as_not_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    std::fs::create_dir(&ev).unwrap();
    std::fs::write(ev.join("a.jsonl"), "{\"EventID\":1}\n").unwrap();
    // Sparse: the size is what matters, not the bytes.
    let big = ev.join("big.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(kahu_intel::DEFAULT_MAX_FILE_SIZE + 1).unwrap();
    drop(f);
    let rules = dir.path().join("r.yar");
    std::fs::write(&rules, "rule t { strings: $a = \"evil\" condition: $a }\n").unwrap();
    let run = detect(
        &DetectConfig {
            evidence: vec![ev.clone()],
            yara: vec![rules],
            bundled_rules: true,
            ..Default::default()
        },
        &(),
    )
    .expect("detect");
    let w = run
        .warnings
        .iter()
        .find(|w| w.file().ends_with("big.bin") && w.reason.starts_with("YARA:"))
        .unwrap_or_else(|| panic!("no YARA warning: {:?}", run.warnings));
    assert!(w.reason.contains("not scanned"), "{w}");
}
