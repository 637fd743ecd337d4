//! Analytics on real attack recordings from `../shared` (skipped loudly
//! when the data is absent). Expected results come from what the datasets
//! document: folder/file names of EVTX-ATTACK-SAMPLES and the Mordor
//! `_metadata` technique lists.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::Event;
use kahu_ingest::{Sink, Warning};
use kahu_reconstruct::analytics::{AuthKind, Protocol};
use kahu_reconstruct::{Analytics, AnalyticsReport};
use std::path::PathBuf;

fn shared() -> Option<PathBuf> {
    kahu_test_support::shared("")
}

struct Collect(Analytics, usize);
impl Sink for Collect {
    fn event(&mut self, e: Event) -> bool {
        self.0.observe(&e);
        true
    }
    fn warning(&mut self, _: Warning) {
        self.1 += 1;
    }
}

/// Run the analytics over one evidence file, or `None` (with a SKIP line)
/// when the shared data is missing.
fn analyse(rel: &str) -> Option<AnalyticsReport> {
    let Some(root) = shared() else {
        eprintln!(
            "SKIP: shared data not found at {} (set KAHU_SHARED)",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")
        );
        return None;
    };
    let path = root.join(rel);
    if !path.exists() {
        eprintln!("SKIP: {} not found", path.display());
        return None;
    }
    let mut sink = Collect(Analytics::default(), 0);
    kahu_ingest::read_path(&path, &mut sink).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let r = sink.0.finish();
    assert!(r.events > 0, "{rel}: no events read");
    Some(r)
}

const EAS: &str = "evtx/EVTX-ATTACK-SAMPLES";

#[test]
fn kerberos_password_spray_4771() {
    let Some(r) = analyse(&format!(
        "{EAS}/Credential Access/kerberos_pwd_spray_4771.evtx"
    )) else {
        return;
    };
    assert_eq!(r.spraying.len(), 1, "{:?}", r.spraying);
    let s = &r.spraying[0];
    assert_eq!(
        (s.kind, s.source.as_str(), s.sprayed_accounts),
        (AuthKind::Kerberos, "172.16.66.1", 9)
    );
    assert!(s.accounts.contains(&"administrator".to_string()));
    let f = r.findings();
    assert!(
        f.iter()
            .any(|f| f.techniques.iter().any(|t| &**t == "T1110.003"))
    );
    // Decoded Kerberos failure codes: 0x6 unknown user and 0x18 bad password both occur.
    let reasons: Vec<&str> = r
        .logons
        .iter()
        .flat_map(|l| l.failure_reasons.iter().map(|c| c.value.as_str()))
        .collect();
    assert!(reasons.contains(&"unknown principal (no such user)"));
    assert!(reasons.contains(&"bad password (pre-authentication failed)"));
}

#[test]
fn mordor_purplesharp_spray_kerberoast_winrm() {
    // _metadata/SDWIN-201022042947.yaml: T1110.003, T1558.003, T1135, T1021.006.
    let Some(r) =
        analyse("mordor/atomic/windows/lateral_movement/host/purplesharp_ad_playbook_I.zip")
    else {
        return;
    };
    assert!(
        r.spraying
            .iter()
            .any(|s| s.source == "workstation5" && s.sprayed_accounts >= 7),
        "{:?}",
        r.spraying
    );
    assert!(
        r.kerberoasting
            .iter()
            .any(|k| k.account == "pgustavo" && k.many_services)
    );
    assert!(
        r.lateral.edges.iter().any(|e| e.protocol == Protocol::WinRm
            && e.source == "host:workstation5"
            && e.target == "host:mordordc"),
        "{:?}",
        r.lateral.edges
    );
    let techs: Vec<String> = r
        .findings()
        .iter()
        .flat_map(|f| f.techniques.iter().map(|t| t.to_string()))
        .collect();
    for t in ["T1110.003", "T1558.003", "T1021.006"] {
        assert!(techs.iter().any(|x| x == t), "{t} missing from {techs:?}");
    }
}

#[test]
fn pass_the_hash_source_machine() {
    let Some(r) = analyse(&format!(
        "{EAS}/Lateral Movement/LM_4624_mimikatz_sekurlsa_pth_source_machine.evtx"
    )) else {
        return;
    };
    assert_eq!(r.pass_the_hash.len(), 1);
    assert_eq!(r.pass_the_hash[0].subject_account, "user01");
}

#[test]
fn remote_service_and_scheduled_task() {
    let Some(r) = analyse(&format!(
        "{EAS}/Lateral Movement/LM_Remote_Service02_7045.evtx"
    )) else {
        return;
    };
    let names: Vec<&str> = r.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&"spoolfool") && names.contains(&"remotesvc"));
    assert!(
        r.services
            .iter()
            .any(|s| s.command == "cmd.exe" && s.suspicious.is_some())
    );

    let Some(r) = analyse(&format!(
        "{EAS}/Lateral Movement/LM_ScheduledTask_ATSVC_target_host.evtx"
    )) else {
        return;
    };
    let t = r
        .tasks
        .iter()
        .find(|t| t.name == "\\CYAlyNSS")
        .expect("task from 4698");
    assert!(t.command.starts_with("cmd.exe /C tasklist"));
    // The remote side of the AT/ATSVC call: administrator from 10.0.2.17 over a network logon.
    assert!(r.lateral.edges.iter().any(|e| e.source == "ip:10.0.2.17"
        && e.account == "administrator"
        && e.protocol == Protocol::NetworkLogon));
}

#[test]
fn whole_corpus_without_panics_and_bounded_output() {
    let Some(r) = analyse(EAS) else { return };
    eprintln!(
        "EVTX-ATTACK-SAMPLES: {} events, {} logon rows, {} brute force, {} sprays, {} services, {} tasks, {} edges, {} findings",
        r.events,
        r.logons.len(),
        r.brute_force.len(),
        r.spraying.len(),
        r.services.len(),
        r.tasks.len(),
        r.lateral.edges.len(),
        r.findings().len()
    );
    assert!(r.events > 5000);
    assert!(r.dropped.is_empty());
    assert!(!r.services.is_empty() && !r.tasks.is_empty() && !r.lateral.edges.is_empty());
    // Building incidents from the analytic findings must not panic either.
    let f = r.findings();
    let inc = kahu_reconstruct::build_incidents(&f, &Default::default(), None);
    assert!(!inc.is_empty());
}
