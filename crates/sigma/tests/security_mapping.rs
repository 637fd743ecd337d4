//! Security-log events read through the Sysmon-shaped rules (field
//! mapping): values the Security log spells differently must not turn
//! SigmaHQ's exclusions into misses (false positives) or its selections
//! into misses (false negatives).
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::{Event, Location, Provenance, Value};
use kahu_ingest::{Sink, Warning};
use kahu_sigma::{LoadOptions, RuleSet};
use std::path::PathBuf;

struct Collect(Vec<Event>);

impl Sink for Collect {
    fn event(&mut self, event: Event) -> bool {
        self.0.push(event);
        true
    }
    fn warning(&mut self, _: Warning) {}
}

fn shared() -> PathBuf {
    kahu_test_support::shared_dir()
}

fn security(eid: u32, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new(Provenance::new("t".into(), Location::Record(1)));
    e.channel = Some("Security".into());
    e.event_id = Some(eid);
    e.fields.insert("EventID", Value::Int(eid.into()));
    e.fields.insert("Channel", Value::str("Security"));
    for (k, v) in fields {
        e.fields.insert(k, Value::str(v));
    }
    e
}

fn hits(rules: &RuleSet, e: &Event) -> Vec<String> {
    let mut out = Vec::new();
    rules.matches(e, &mut out);
    out.iter()
        .map(|i| rules.rule(*i).title.to_string())
        .collect()
}

const KERBEROS_RULE: &str =
    "rules/windows/network_connection/net_connection_win_susp_outbound_kerberos_connection.yml";

/// SigmaHQ's "Uncommon Outbound Kerberos Connection" excludes
/// `C:\Windows\System32\lsass.exe`; WFP 5156 names lsass by its kernel
/// path. Every 5156 from lsass to port 88 in EVTX-ATTACK-SAMPLES must pass
/// the exclusion, and a non-system program must still fire.
#[test]
fn kerberos_exclusion_matches_device_paths_on_real_5156() {
    let sh = shared();
    let rule = sh.join("sigma").join(KERBEROS_RULE);
    let samples = sh.join("evtx/EVTX-ATTACK-SAMPLES");
    if !rule.is_file() || !samples.is_dir() {
        eprintln!(
            "SKIP: {KERBEROS_RULE} or EVTX-ATTACK-SAMPLES not found under {}",
            sh.display()
        );
        return;
    }
    let report = RuleSet::load(&[rule], &LoadOptions::default());
    assert_eq!(report.compiled, 1, "{:?}", report.errors);
    let rules = report.ruleset;

    let mut events = Collect(Vec::new());
    for e in walkdir::WalkDir::new(&samples).into_iter().flatten() {
        if e.path().extension().is_some_and(|x| x == "evtx") {
            let _ = kahu_ingest::read_path(e.path(), &mut events);
        }
    }
    let lsass_to_88: Vec<&Event> = events
        .0
        .iter()
        .filter(|e| e.event_id == Some(5156) && e.channel.as_deref() == Some("Security"))
        .filter(|e| e.get_str("DestPort").as_deref() == Some("88"))
        .filter(|e| {
            e.get_str("Application").is_some_and(|a| {
                let a = a.to_ascii_lowercase();
                a.starts_with("\\device\\harddiskvolume")
                    && a.ends_with("\\windows\\system32\\lsass.exe")
            })
        })
        .collect();
    assert!(
        !lsass_to_88.is_empty(),
        "expected lsass Kerberos 5156 events with device paths in EVTX-ATTACK-SAMPLES"
    );
    for e in &lsass_to_88 {
        assert!(
            hits(&rules, e).is_empty(),
            "lsass Kerberos traffic flagged: {}",
            e.provenance
        );
    }

    let rubeus = security(
        5156,
        &[
            (
                "Application",
                "\\device\\harddiskvolume2\\users\\bob\\rubeus.exe",
            ),
            ("DestPort", "88"),
            ("Direction", "%%14593"),
        ],
    );
    assert_eq!(hits(&rules, &rubeus).len(), 1);
}

/// Process ids (hex in Security), protocol numbers and kernel paths read as
/// Sysmon spells them.
#[test]
fn security_values_read_in_sysmon_spelling() {
    let rules = RuleSet::from_yaml(
        &[(
            "fixture.yml",
            r#"
title: pid
id: 00000000-0000-0000-0000-000000000001
logsource: {product: windows, category: process_creation}
detection:
    sel: {ProcessId: 420, ParentImage: 'C:\Windows\explorer.exe'}
    condition: sel
level: high
---
title: proto
id: 00000000-0000-0000-0000-000000000002
logsource: {product: windows, category: network_connection}
detection:
    sel: {Protocol: udp, DestinationIp|startswith: '10.', Image|endswith: '\tool.exe'}
    condition: sel
level: high
---
title: file
id: 00000000-0000-0000-0000-000000000003
logsource: {product: windows, category: file_access}
detection:
    sel: {TargetFilename|startswith: 'C:\Users\'}
    condition: sel
level: high
"#,
        )],
        &LoadOptions::default(),
    );
    assert_eq!(rules.compiled, 3, "{:?}", rules.errors);
    let rules = rules.ruleset;
    let p = security(
        4688,
        &[
            ("NewProcessId", "0x1a4"),
            ("ParentProcessName", "C:\\Windows\\explorer.exe"),
        ],
    );
    assert_eq!(hits(&rules, &p), ["pid"]);
    let n = security(
        5156,
        &[
            ("Protocol", "17"),
            ("DestAddress", "::ffff:10.1.2.3"),
            ("Application", "\\device\\harddiskvolume3\\x\\tool.exe"),
        ],
    );
    assert_eq!(hits(&rules, &n), ["proto"]);
    let f = security(
        4663,
        &[(
            "ObjectName",
            "\\Device\\HarddiskVolume2\\Users\\bob\\secret.txt",
        )],
    );
    assert_eq!(hits(&rules, &f), ["file"]);
}

/// Real 4657s from the Mordor set that switches command-line auditing
/// off (a REG_DWORD the Security log writes as `0`) read by a Sysmon-style
/// `registry_set` rule written the way SigmaHQ writes `Details`.
#[test]
fn registry_set_details_match_on_real_4657() {
    let zip = shared().join(
        "mordor/atomic/windows/defense_evasion/host/reg_cmd_process_commandline_logging_disabled.zip",
    );
    if !zip.is_file() {
        eprintln!("SKIP: {} not found", zip.display());
        return;
    }
    let mut events = Collect(Vec::new());
    kahu_ingest::read_path(&zip, &mut events).expect("readable");
    let target: Vec<&Event> = events
        .0
        .iter()
        .filter(|e| e.event_id == Some(4657))
        .filter(|e| {
            e.get_str("ObjectValueName").as_deref() == Some("ProcessCreationIncludeCmdLine_Enabled")
                && e.get_str("NewValueType").as_deref() == Some("%%1876")
                && e.get_str("NewValue").as_deref() == Some("0")
        })
        .collect();
    assert!(!target.is_empty(), "expected the audit-policy 4657 events");
    let rules = RuleSet::from_yaml(
        &[(
            "fixture.yml",
            r#"
title: cmdline auditing off
id: 00000000-0000-0000-0000-000000000004
logsource: {product: windows, category: registry_set}
detection:
    sel:
        TargetObject|endswith: '\Policies\System\Audit\ProcessCreationIncludeCmdLine_Enabled'
        Details: 'DWORD (0x00000000)'
    condition: sel
level: high
"#,
        )],
        &LoadOptions::default(),
    );
    assert_eq!(rules.compiled, 1, "{:?}", rules.errors);
    for e in target {
        assert_eq!(
            hits(&rules.ruleset, e),
            ["cmdline auditing off"],
            "{}",
            e.provenance
        );
    }
}
