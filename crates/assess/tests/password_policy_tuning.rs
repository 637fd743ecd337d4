//! Issue #13 item 6: SigmaHQ's "Password Policy Enumerated" (Security 4661
//! on a SAM object with `ReadPasswordParameters`, `%%5392`) was the second
//! rule by count on Mordor atomic (245 hits). Every SAM 4661 names
//! lsass.exe as the process (the SAM server runs in lsass; the subject is
//! the caller it impersonates), so the shipped tuning
//! (`data/tuning/noisy-rules.yaml`) filters on the subject instead: the
//! domain controllers' own LocalSystem sessions (S-1-5-18) are left out,
//! every other caller is kept.
//!
//! Expected counts were read from the Mordor JSON with a separate script
//! (4661, `ObjectServer` "Security Account Manager", `AccessList`
//! containing `%%5392`, grouped by `SubjectUserSid`), not from kahu.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::Event;
use kahu_sigma::{LoadOptions, RuleSet, Tuning};

const RULE_ID: &str = "12ba6a38-adb3-4d6b-91ba-a7fb248e3199";

/// The `SubjectUserName` of every event the rule fires on.
struct Sink<'a> {
    rules: &'a RuleSet,
    subjects: Vec<String>,
}

impl kahu_ingest::Sink for Sink<'_> {
    fn event(&mut self, event: Event) -> bool {
        let mut hits = Vec::new();
        self.rules.matches(&event, &mut hits);
        for idx in hits {
            if &*self.rules.finding(idx, &event).rule_id == RULE_ID {
                let subject = event
                    .fields
                    .get("SubjectUserName")
                    .and_then(|v| v.as_text());
                self.subjects
                    .push(subject.map(|s| s.to_string()).unwrap_or_default());
            }
        }
        true
    }
    fn warning(&mut self, _: kahu_ingest::Warning) {}
}

fn hits(rules: &RuleSet, path: &std::path::Path) -> Vec<String> {
    let mut sink = Sink {
        rules,
        subjects: Vec::new(),
    };
    kahu_ingest::read_path(path, &mut sink).expect("Mordor set readable");
    sink.subjects
}

#[test]
fn lsass_local_system_handle_opens_are_filtered_and_remote_samr_still_fires() {
    let shared = kahu_test_support::shared_dir();
    let rule = shared
        .join("sigma/rules/windows/builtin/security/win_security_password_policy_enumerated.yml");
    let atomic = shared.join("mordor/atomic/windows");
    if !rule.is_file() || !atomic.is_dir() {
        eprintln!(
            "SKIP: {} or {} not found; Password Policy Enumerated tuning NOT tested",
            rule.display(),
            atomic.display()
        );
        return;
    }
    let text = std::fs::read_to_string(&rule).unwrap();
    let load = |tuning: Tuning| {
        let opts = LoadOptions {
            tuning,
            ..LoadOptions::default()
        };
        let r = RuleSet::from_yaml(&[("rule.yml", &text)], &opts);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.compiled, 1);
        r.ruleset
    };
    let plain = load(Tuning::new());
    let tuned = load(Tuning::shipped());

    // True positive: a domain user (pgustavo) enumerating the domain over
    // SAMR from a workstation; the 4661 on the DC is still lsass.exe.
    let samr = atomic.join("discovery/host/empire_shell_samr_EnumDomainUsers.zip");
    for rules in [&plain, &tuned] {
        let f = hits(rules, &samr);
        assert_eq!(f, ["pgustavo"]);
    }

    // Routine: the DC's LocalSystem opening its own SAM domain, 11 times
    // in a workstation attack set that never touched SAM.
    let mic = atomic.join("collection/host/msf_record_mic.zip");
    assert_eq!(hits(&plain, &mic).len(), 11);
    assert_eq!(hits(&tuned, &mic).len(), 0);

    // Mixed: DC01$ (LocalSystem, 60) and the Administrator session that
    // ran ntdsutil (126); only the Administrator's are kept.
    let ntds = atomic.join("credential_access/host/cmd_dumping_ntds_dit_file_ntdsutil.zip");
    assert_eq!(hits(&plain, &ntds).len(), 186);
    let kept = hits(&tuned, &ntds);
    assert_eq!(kept.len(), 126);
    assert!(
        kept.iter().all(|s| s == "Administrator"),
        "only the Administrator session's handle requests are kept"
    );
}
