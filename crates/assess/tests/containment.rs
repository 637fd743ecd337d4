//! Containment lists hold up against the evidence: no Windows binary's
//! hash on a block list, every account to reset authenticated or was
//! changed, and the demo's known attacker infrastructure and files still
//! listed. Expected values are read from the evidence and the demo's
//! ground truth, never from kahu's own output.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_assess::{AssessConfig, demo_config, run};
use kahu_event::Event;
use kahu_ingest::{Sink, Warning};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn shared() -> Option<PathBuf> {
    kahu_test_support::shared("")
}

/// What the evidence itself says: every path each SHA-256 was recorded
/// for, and every account seen authenticating, acting or being changed.
#[derive(Default)]
struct Facts {
    paths_by_sha: BTreeMap<String, BTreeSet<String>>,
    accounts: BTreeSet<String>,
}

fn text(e: &Event, name: &str) -> Option<String> {
    e.fields
        .get(name)
        .and_then(|v| v.as_text())
        .map(|c| c.into_owned())
}

fn norm_account(a: &str) -> String {
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
            for part in h.split(',') {
                if let Some((alg, v)) = part.split_once('=')
                    && alg.trim().eq_ignore_ascii_case("sha256")
                    && let Some(p) = &path
                {
                    self.paths_by_sha
                        .entry(v.trim().to_lowercase())
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

fn facts(evidence: &Path) -> Facts {
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

fn column(csv_path: &Path) -> Vec<String> {
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

fn check_lists(out: &Path, evidence: &Path) {
    let f = facts(evidence);
    let hashes = column(&out.join("containment/blocklist-hashes.csv"));
    for h in &hashes {
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

#[test]
fn demo_containment_keeps_the_attacker_and_drops_windows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = demo_config(dir.path()).expect("demo");
    cfg.store_case = false;
    run(&cfg, &()).expect("assessment");
    let demo = dir.path().join("demo");
    let truth: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(demo.join("ground-truth.json")).expect("ground truth"),
    )
    .expect("ground truth json");
    check_lists(dir.path(), &demo.join("evidence"));

    let ips = column(&dir.path().join("containment/blocklist-ips.csv"));
    for c2 in truth["infrastructure"]["c2_ips"]
        .as_array()
        .expect("c2 ips")
    {
        let c2 = c2.as_str().expect("ip");
        assert!(
            ips.iter().any(|i| i == c2),
            "C2 {c2} not in the IP block list: {ips:?}"
        );
    }
    let domains = column(&dir.path().join("containment/blocklist-domains.csv"));
    for d in truth["infrastructure"]["domains"]
        .as_array()
        .expect("domains")
    {
        let d = d.as_str().expect("domain");
        assert!(
            domains.iter().any(|x| x == d),
            "C2 domain {d} not in the domain block list: {domains:?}"
        );
    }
    let files: BTreeSet<String> = column(&dir.path().join("containment/files-to-remove.csv"))
        .into_iter()
        .map(|f| f.to_lowercase())
        .collect();
    let infra = &truth["infrastructure"];
    for key in ["tools", "webshells"] {
        for f in infra[key].as_array().expect("paths") {
            let f = f.as_str().expect("path").to_lowercase();
            assert!(
                files.contains(&f),
                "{f} missing from files to remove: {files:?}"
            );
        }
    }
    // The dropped payload's own hash is on the list: the first tool the
    // ground truth names, as Sysmon recorded it when it ran.
    let hashes = column(&dir.path().join("containment/blocklist-hashes.csv"));
    let tool = infra["tools"][0].as_str().expect("tool").to_lowercase();
    let facts = facts(&demo.join("evidence"));
    let payload: Vec<&String> = facts
        .paths_by_sha
        .iter()
        .filter(|(_, paths)| paths.contains(&tool))
        .map(|(h, _)| h)
        .collect();
    assert!(
        !payload.is_empty(),
        "the evidence records a hash for {tool}"
    );
    assert!(
        payload.iter().all(|h| hashes.contains(h)),
        "the payload {tool} hash is not blocked: {hashes:?}"
    );
    // Its reason names the file and the rule a responder can check.
    let list = dir.path().join("containment/blocklist-hashes.csv");
    for rec in csv::Reader::from_path(&list).expect("hash list").records() {
        let rec = rec.expect("csv row");
        if payload.iter().any(|h| **h == rec[0]) {
            let reason = rec[1].to_lowercase();
            assert!(
                reason.contains(&tool)
                    && (reason.contains("flagged by rule \"")
                        || reason.contains("(a file to remove: ")),
                "{}",
                &rec[1]
            );
        }
    }
}

#[test]
fn evtx_attack_samples_containment_holds_up() {
    let Some(shared) = shared() else { return };
    let evidence = shared.join("evtx/EVTX-ATTACK-SAMPLES");
    let rules = shared.join("sigma/rules");
    if !evidence.is_dir() || !rules.is_dir() {
        eprintln!(
            "SKIP: {} or {} missing",
            evidence.display(),
            rules.display()
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = AssessConfig::new(vec![evidence.clone()], dir.path().to_path_buf());
    cfg.rules = vec![rules];
    cfg.store_case = false;
    run(&cfg, &()).expect("assessment");
    check_lists(dir.path(), &evidence);
    // Every hash says which file it is and why: the rule, indicator or
    // YARA match a responder can look up.
    let list = dir.path().join("containment/blocklist-hashes.csv");
    let mut n = 0;
    for rec in csv::Reader::from_path(&list).expect("hash list").records() {
        let rec = rec.expect("csv row");
        n += 1;
        assert!(
            rec[1].starts_with("SHA-256 of ") || rec[1].starts_with("named by indicator: "),
            "{}",
            &rec[1]
        );
        assert!(
            [
                "flagged by rule \"",
                "(a file to remove: ",
                ", which matched ",
                "named by indicator: "
            ]
            .iter()
            .any(|w| rec[1].contains(w)),
            "{}",
            &rec[1]
        );
    }
    assert!(n > 0, "the samples' tools are hashed");
    let accounts = column(&dir.path().join("containment/accounts-to-reset.csv"));
    assert!(
        !accounts
            .iter()
            .any(|a| a.eq_ignore_ascii_case("Administrators")),
        "a group is not an account to reset: {accounts:?}"
    );
    // CDN edge addresses are flagged, never blocked.
    let ips = column(&dir.path().join("containment/blocklist-ips.csv"));
    let shared_ips = column(
        &dir.path()
            .join("containment/shared-infrastructure-do-not-block.csv"),
    );
    for ip in ["151.101.0.133", "104.20.208.21"] {
        assert!(
            !ips.iter().any(|i| i == ip),
            "{ip} (a CDN edge) on the block list"
        );
        assert!(
            shared_ips.iter().any(|i| i == ip),
            "{ip} not flagged as shared: {shared_ips:?}"
        );
    }
}
