//! YARA over the evidence: every file (large ones in windows, see
//! `kahu_intel::yara`) and every archive member (zip, tar, gzip, nested),
//! opened by the same archive code and limits as the readers, so a zip
//! bomb costs YARA no more memory than it costs ingest.

use kahu_finding::Finding;
use kahu_ingest::{Format, Input, Origin, Reader, Sink, Warning};
use kahu_intel::{ScanWarning, YaraScanner};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Scan `files` (and the members of those that are archives); returns the
/// findings and a `YARA: …` warning for each file or member not (fully)
/// scanned.
pub fn scan(scanner: &Arc<YaraScanner>, files: &[(PathBuf, u64)]) -> (Vec<Finding>, Vec<Warning>) {
    let found = Arc::new(Mutex::new(Vec::new()));
    let members = Arc::new(Mutex::new(Vec::new()));
    // One reader for every thread: one archive memory budget.
    let reader = Reader::new().with_formats(vec![Box::new(MemberScan {
        scanner: scanner.clone(),
        found: found.clone(),
        warnings: members.clone(),
    })]);
    let per_file: Vec<(Vec<Finding>, Vec<ScanWarning>)> = files
        .par_iter()
        .map(|(p, _)| {
            let mut skipped = Vec::new();
            let mut findings = scanner.scan_path_with(p, &mut skipped);
            if is_archive(p) {
                // Problems opening members were reported by the read of
                // the evidence (same code, same limits): not twice.
                let mut quiet = Quiet;
                reader.read_file(p, &mut quiet, &mut Vec::new());
            }
            findings.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
            (findings, skipped)
        })
        .collect();
    drop(reader);
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    for (found, skipped) in per_file {
        findings.extend(found);
        // A file YARA did not (fully) scan is evidence not analysed: say
        // so, like any reader does.
        warnings.extend(skipped.into_iter().map(|w| Warning {
            file: w.path.into(),
            member: None,
            location: None,
            reason: format!("YARA: {}", w.reason),
        }));
    }
    let mut from_members = std::mem::take(&mut *found.lock().unwrap_or_else(|e| e.into_inner()));
    from_members.sort_by(|a, b| {
        (&a.provenance.file, &a.provenance.member, &a.rule_id).cmp(&(
            &b.provenance.file,
            &b.provenance.member,
            &b.rule_id,
        ))
    });
    findings.extend(from_members);
    warnings.extend(std::mem::take(
        &mut *members.lock().unwrap_or_else(|e| e.into_inner()),
    ));
    (findings, warnings)
}

/// Whether the file starts like a container the readers open.
fn is_archive(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 512];
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut n = 0;
    let mut f = f.take(512);
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    kahu_ingest::is_container(&head[..n])
}

/// A "format" that takes every archive member and scans it with YARA:
/// it lets the readers' archive walk (limits, nesting, member names)
/// hand YARA the members. Files outside archives are scanned elsewhere.
struct MemberScan {
    scanner: Arc<YaraScanner>,
    found: Arc<Mutex<Vec<Finding>>>,
    warnings: Arc<Mutex<Vec<Warning>>>,
}

impl Format for MemberScan {
    fn name(&self) -> &'static str {
        "yara-member"
    }

    fn detect(&self, _head: &[u8], _file_name: &str) -> bool {
        true
    }

    fn read(&self, input: Input<'_>, origin: &Origin, _sink: &mut dyn Sink) -> std::io::Result<()> {
        let (Some(member), Input::Memory(data)) = (&origin.member, input) else {
            return Ok(());
        };
        let mut skipped = Vec::new();
        let found = self
            .scanner
            .scan_member(&origin.file, member, data, &mut skipped);
        if !found.is_empty() {
            self.found
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(found);
        }
        if !skipped.is_empty() {
            self.warnings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(skipped.into_iter().map(|w| Warning {
                    file: origin.file.clone(),
                    member: Some(member.clone()),
                    location: None,
                    reason: format!("YARA: {}", w.reason),
                }));
        }
        Ok(())
    }
}

/// Drops what the member walk reports: the evidence read reported it.
struct Quiet;

impl Sink for Quiet {
    fn event(&mut self, _event: kahu_event::Event) -> bool {
        true
    }
    fn warning(&mut self, _warning: Warning) {}
}
