//! YARA over the evidence: every file (large ones in windows, see
//! `kahu_intel::yara`) and every archive member (zip, tar, gzip, nested).
//!
//! Members are scanned during the detection pass itself
//! ([`MemberScan::scan`], called through `kahu_ingest::Sink::member` as
//! the readers hand each member to its format): each member is
//! decompressed once, for event reading and YARA alike, by the same
//! archive code and limits, so a zip bomb costs YARA nothing more. Files
//! on disk are scanned afterwards by [`scan`] (read, not decompressed).

use kahu_finding::Finding;
use kahu_ingest::{Origin, Warning};
use kahu_intel::{ScanWarning, YaraScanner};
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Scans the archive members the readers hold in memory; collects the
/// findings and a `YARA: …` warning for each member not (fully) scanned.
pub struct MemberScan {
    scanner: Arc<YaraScanner>,
    found: Mutex<Vec<Finding>>,
    warnings: Mutex<Vec<Warning>>,
}

impl MemberScan {
    /// A member scanner with `scanner`'s rules.
    pub fn new(scanner: Arc<YaraScanner>) -> Self {
        MemberScan {
            scanner,
            found: Mutex::new(Vec::new()),
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// Scan one member (any thread); files outside archives are left to
    /// [`scan`].
    pub fn scan(&self, origin: &Origin, data: &[u8]) {
        let Some(member) = &origin.member else {
            return;
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
    }
}

/// Scan `files` as they are on disk and add what `members` found in their
/// archive members during the detection pass; returns the findings (each
/// file's, then the members' sorted by file, member and rule) and a
/// `YARA: …` warning for each file or member not (fully) scanned.
pub fn scan(
    scanner: &Arc<YaraScanner>,
    files: &[(PathBuf, u64)],
    members: MemberScan,
) -> (Vec<Finding>, Vec<Warning>) {
    let per_file: Vec<(Vec<Finding>, Vec<ScanWarning>)> = files
        .par_iter()
        .map(|(p, _)| {
            let mut skipped = Vec::new();
            let mut findings = scanner.scan_path_with(p, &mut skipped);
            findings.sort_by(|a, b| a.rule_id.cmp(&b.rule_id));
            (findings, skipped)
        })
        .collect();
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
    let mut from_members = members
        .found
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    from_members.sort_by(|a, b| {
        (&a.provenance.file, &a.provenance.member, &a.rule_id).cmp(&(
            &b.provenance.file,
            &b.provenance.member,
            &b.rule_id,
        ))
    });
    findings.extend(from_members);
    let mut member_warnings = members
        .warnings
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    // Members finish in scheduling order; reports must not depend on it.
    member_warnings.sort_by(|a, b| (&a.file, &a.member).cmp(&(&b.file, &b.member)));
    warnings.extend(member_warnings);
    (findings, warnings)
}
