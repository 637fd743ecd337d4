//! Containment-list checks shared by the tests that run `kahu assess` on
//! real evidence (`containment.rs`, `mordor_noise.rs`): what the evidence
//! itself says (hashes and the paths they were recorded for, accounts that
//! authenticated, acted or were changed), read independently of kahu's
//! detection, and the list checks against it.

#![allow(dead_code)]

use kahu_event::Event;
use kahu_ingest::{Sink, Warning};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What the evidence itself says: every path each SHA-256 was recorded
/// for, and every account seen authenticating, acting or being changed.
#[derive(Default)]
pub(crate) struct Facts {
    pub paths_by_sha: BTreeMap<String, BTreeSet<String>>,
    pub accounts: BTreeSet<String>,
    /// Hashes some event records as unsigned, or validly signed by someone
    /// other than Microsoft (Sysmon 6/7 `Signed`, `Signature`): not
    /// Windows' own, wherever the file lies.
    pub foreign_sha: BTreeSet<String>,
    /// Hashes some event records as validly signed by Microsoft.
    pub microsoft_sha: BTreeSet<String>,
}

fn text(e: &Event, name: &str) -> Option<String> {
    e.fields
        .get(name)
        .and_then(|v| v.as_text())
        .map(|c| c.into_owned())
}

pub(crate) fn norm_account(a: &str) -> String {
    let a = a.trim();
    let a = a.rsplit('\\').next().unwrap_or(a);
    a.split('@').next().unwrap_or(a).to_lowercase()
}

impl Sink for Facts {
    fn event(&mut self, e: Event) -> bool {
        if let Some(h) = text(&e, "Hashes") {
            let path = match e.event_id {
                Some(6 | 7) => text(&e, "ImageLoaded"),
                Some(15 | 23 | 26 | 29) => text(&e, "TargetFilename"),
                _ => text(&e, "Image"),
            };
            let signed = text(&e, "Signed").map(|s| s.to_lowercase());
            let signature = text(&e, "Signature").unwrap_or_default();
            let valid = text(&e, "SignatureStatus").is_none_or(|s| s.eq_ignore_ascii_case("valid"));
            for part in h.split(',') {
                if let Some((alg, v)) = part.split_once('=')
                    && alg.trim().eq_ignore_ascii_case("sha256")
                    && let Some(p) = &path
                {
                    let sha = v.trim().to_lowercase();
                    match signed.as_deref() {
                        Some("false") => {
                            self.foreign_sha.insert(sha.clone());
                        }
                        Some("true") if valid && signature.starts_with("Microsoft ") => {
                            self.microsoft_sha.insert(sha.clone());
                        }
                        Some("true") if valid && !signature.is_empty() => {
                            self.foreign_sha.insert(sha.clone());
                        }
                        _ => {}
                    }
                    self.paths_by_sha
                        .entry(sha)
                        .or_default()
                        .insert(p.to_lowercase());
                }
            }
        }
        // Successful logons, explicit credentials, Kerberos tickets issued,
        // account creation and changes: the target authenticated or changed.
        let target_counts = matches!(
            e.event_id,
            Some(
                4624 | 4648 | 4768 | 4769 | 4720 | 4722
                    ..=4726 | 4738 | 4740 | 4765 | 4766 | 4767 | 4781 | 4662 | 5136
            )
        );
        if target_counts && let Some(t) = text(&e, "TargetUserName") {
            self.accounts.insert(norm_account(&t));
        }
        for acting in ["SubjectUserName", "User", "user", "UserName"] {
            if let Some(a) = text(&e, acting) {
                self.accounts.insert(norm_account(&a));
            }
        }
        // SSH and similar logs say "Accepted … for NAME".
        if let Some(m) = text(&e, "message").or_else(|| text(&e, "Message"))
            && let Some(rest) = m.split("Accepted ").nth(1)
            && let Some(name) = rest.split(" for ").nth(1)
        {
            self.accounts
                .insert(norm_account(name.split_whitespace().next().unwrap_or("")));
        }
        true
    }
    fn warning(&mut self, _: Warning) {}
}

pub(crate) fn facts(evidence: &Path) -> Facts {
    let mut f = Facts::default();
    for entry in walk(evidence) {
        let _ = kahu_ingest::read_path(&entry, &mut f);
    }
    f
}

fn walk(p: &Path) -> Vec<PathBuf> {
    if p.is_file() {
        return vec![p.to_path_buf()];
    }
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            out.extend(walk(&e.path()));
        }
    }
    out
}

pub(crate) fn column(csv_path: &Path) -> Vec<String> {
    let mut r =
        csv::Reader::from_path(csv_path).unwrap_or_else(|e| panic!("{}: {e}", csv_path.display()));
    r.records()
        .map(|rec| rec.expect("csv row")[0].to_string())
        .collect()
}

/// Programs the issue names as Windows' own: their hashes must never be
/// blocked, wherever a copy sits.
const WINDOWS: &[&str] = &[
    "cmd.exe",
    "powershell.exe",
    "lsass.exe",
    "svchost.exe",
    "rundll32.exe",
    "reg.exe",
    "whoami.exe",
    "net.exe",
    "sc.exe",
    "certutil.exe",
    "schtasks.exe",
    "ntdsutil.exe",
];

pub(crate) fn check_lists(out: &Path, evidence: &Path) {
    let f = facts(evidence);
    let hashes = column(&out.join("containment/blocklist-hashes.csv"));
    for h in &hashes {
        assert!(
            !f.microsoft_sha.contains(h),
            "hash {h} on the block list is signed by Microsoft in the evidence"
        );
        // A file the evidence shows unsigned or signed by a vendor is not
        // Windows' own, even in System32 (planted DLLs, vulnerable drivers).
        if f.foreign_sha.contains(h) {
            continue;
        }
        for p in f.paths_by_sha.get(h).into_iter().flatten() {
            let name = p.rsplit(['\\', '/']).next().unwrap_or("");
            assert!(
                !(p.contains("\\windows\\system32\\")
                    || p.contains("\\windows\\syswow64\\")
                    || p.contains("\\windows\\winsxs\\")
                    || WINDOWS.contains(&name)),
                "hash {h} on the block list is the hash of {p}"
            );
        }
    }
    let accounts = column(&out.join("containment/accounts-to-reset.csv"));
    for a in &accounts {
        let kerberoasted = std::fs::read_to_string(out.join("containment/accounts-to-reset.csv"))
            .expect("accounts csv")
            .lines()
            .any(|l| l.starts_with(&format!("{a},")) && l.contains("Kerberoasting"));
        assert!(
            kerberoasted || f.accounts.contains(&norm_account(a)),
            "account {a} is to be reset but never authenticated, acted or was changed in the evidence"
        );
    }
}
