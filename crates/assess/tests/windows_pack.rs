//! kahu's rule pack for Windows' built-in logs (`rules/`): every rule
//! fires on an event built from Microsoft's documentation of the event and
//! stays quiet on a near miss; the correlations fire on a burst and not
//! below their threshold.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_correlation::SigmaRules;
use kahu_event::{Event, Location, Provenance, Value};
use kahu_finding::{Detector, Finding};
use kahu_sigma::{LoadOptions, RuleSet};
use std::collections::BTreeSet;
use std::sync::Arc;

const SECURITY: &str = "Security";
const SYSTEM: &str = "System";
const PS: &str = "Microsoft-Windows-PowerShell/Operational";
const PS_CLASSIC: &str = "Windows PowerShell";
const DEFENDER: &str = "Microsoft-Windows-Windows Defender/Operational";
const RDP: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational";
const WINRM: &str = "Microsoft-Windows-WinRM/Operational";
const WMI: &str = "Microsoft-Windows-WMI-Activity/Operational";

fn pack() -> SigmaRules {
    let report = RuleSet::from_yaml(kahu_demo::windows_rule_pack(), &LoadOptions::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let rules = SigmaRules::new(report);
    assert!(
        rules.correlation_errors.is_empty(),
        "{:?}",
        rules.correlation_errors
    );
    rules
}

/// A Windows event: channel, event id, provider and data fields.
fn win(channel: &str, eid: u32, provider: &str, secs: i64, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new(Provenance::new(Arc::from("t.evtx"), Location::Record(1)));
    e.timestamp = chrono::DateTime::from_timestamp(1_700_000_000 + secs, 0);
    e.host = Some(Arc::from("dc01.corp.example"));
    e.channel = Some(Arc::from(channel));
    e.provider = Some(Arc::from(provider));
    e.event_id = Some(eid);
    e.fields.insert("EventID", Value::Int(i64::from(eid)));
    e.fields.insert("Channel", Value::str(channel));
    e.fields.insert("Provider_Name", Value::str(provider));
    for (k, v) in fields {
        e.fields.insert(k, Value::str(v));
    }
    e
}

fn sec(eid: u32, fields: &[(&str, &str)]) -> Event {
    win(
        SECURITY,
        eid,
        "Microsoft-Windows-Security-Auditing",
        0,
        fields,
    )
}

/// Titles of the findings the pack makes on `events` (one scan).
fn titles(rules: &SigmaRules, events: &[Event]) -> BTreeSet<String> {
    let scan = rules.scan();
    let mut out: Vec<Finding> = Vec::new();
    for e in events {
        scan.inspect(e, &mut out);
    }
    out.extend(scan.finish().findings);
    out.iter().map(|f| f.title.to_string()).collect()
}

/// `hit` makes the rule titled `title` fire; `miss` does not.
fn check(rules: &SigmaRules, title: &str, hit: &[Event], miss: &[Event]) {
    assert!(
        rules.rules.rules().any(|(_, r)| &*r.title == title) || titles(rules, hit).contains(title),
        "no rule titled {title:?}"
    );
    let got = titles(rules, hit);
    assert!(got.contains(title), "{title}: did not fire; got {got:?}");
    let got = titles(rules, miss);
    assert!(!got.contains(title), "{title}: fired on the near miss");
}

#[test]
fn explicit_credentials_and_new_credentials_logons() {
    let r = pack();
    let base = [
        ("SubjectUserName", "alice"),
        ("TargetUserName", "svc_backup"),
        ("TargetServerName", "fs01.corp.example"),
        ("ProcessName", "C:\\Windows\\System32\\net.exe"),
    ];
    let mut local = base;
    local[3] = ("ProcessName", "C:\\Windows\\System32\\lsass.exe");
    check(
        &r,
        "Explicit Credentials Used Against Another Host",
        &[sec(4648, &base)],
        &[sec(4648, &local)],
    );
    check(
        &r,
        "Logon With New Credentials For Outbound Connections",
        &[sec(
            4624,
            &[("LogonType", "9"), ("LogonProcessName", "seclogo")],
        )],
        &[sec(
            4624,
            &[("LogonType", "2"), ("LogonProcessName", "User32")],
        )],
    );
}

/// `n` events built by `make(i)` one second apart.
fn burst(n: usize, make: impl Fn(usize) -> Event) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let mut e = make(i);
            e.timestamp = chrono::DateTime::from_timestamp(1_700_000_000 + i as i64, 0);
            e.provenance = Provenance::new(Arc::from("t.evtx"), Location::Record(i as u64 + 1));
            e
        })
        .collect()
}

#[test]
fn password_spraying_and_guessing_correlations() {
    let r = pack();
    let users = |i: usize| format!("user{i}");
    let spray_4648 = |n| {
        burst(n, |i| {
            sec(
                4648,
                &[
                    ("SubjectUserName", "alice"),
                    ("TargetUserName", &users(i)),
                    ("TargetServerName", "dc01"),
                    ("ProcessName", "C:\\Users\\alice\\spray.exe"),
                ],
            )
        })
    };
    check(
        &r,
        "Password Spraying Through Explicit-Credential Logons",
        &spray_4648(6),
        &spray_4648(4),
    );
    // A boot and one user logon, as Mordor's WORKSTATION5 recorded them:
    // the machine account's 4648s for the sessions' virtual accounts
    // (DWM-N, UMFD-N), the machine account itself and the user.
    let logon_sequence = burst(7, |i| {
        let (user, domain, process) = [
            ("DWM-1", "Window Manager", "winlogon.exe"),
            ("UMFD-0", "Font Driver Host", "wininit.exe"),
            ("UMFD-1", "Font Driver Host", "winlogon.exe"),
            ("WS5$", "CORP.EXAMPLE", "taskhostw.exe"),
            ("UMFD-2", "Font Driver Host", "winlogon.exe"),
            ("DWM-2", "Window Manager", "winlogon.exe"),
            ("pgustavo", "CORP", "svchost.exe"),
        ][i];
        sec(
            4648,
            &[
                ("SubjectUserName", "WS5$"),
                ("TargetUserName", user),
                ("TargetDomainName", domain),
                ("TargetServerName", "localhost"),
                ("ProcessName", &format!("C:\\Windows\\System32\\{process}")),
            ],
        )
    });
    assert!(
        !titles(&r, &logon_sequence)
            .contains("Password Spraying Through Explicit-Credential Logons"),
        "a boot and a logon are not a spray"
    );
    let fail_4625 = |n, same_user: bool| {
        burst(n, |i| {
            sec(
                4625,
                &[
                    (
                        "TargetUserName",
                        &if same_user { "bob".into() } else { users(i) },
                    ),
                    ("SubStatus", "0xc000006a"),
                    ("IpAddress", "10.1.2.3"),
                ],
            )
        })
    };
    check(
        &r,
        "Password Spraying From One Address",
        &fail_4625(5, false),
        &fail_4625(12, true),
    );
    check(
        &r,
        "Password Guessing Against One Account",
        &fail_4625(10, true),
        &fail_4625(9, true),
    );
    let krb = |n, status: &'static str| {
        burst(n, move |i| {
            sec(
                4771,
                &[
                    ("TargetUserName", &users(i)),
                    ("Status", status),
                    ("IpAddress", "::ffff:10.1.2.3"),
                ],
            )
        })
    };
    check(
        &r,
        "Kerberos Pre-Authentication Failures For Many Accounts",
        &krb(5, "0x18"),
        // 0x12: account disabled/locked, not a wrong password.
        &krb(8, "0x12"),
    );
    let ntlm = |n| {
        burst(n, |i| {
            sec(
                4776,
                &[
                    ("TargetUserName", &users(i)),
                    ("Status", "0xc000006a"),
                    ("Workstation", "KALI"),
                ],
            )
        })
    };
    check(
        &r,
        "NTLM Credential Validation Failures For Many Accounts",
        &ntlm(5),
        &ntlm(4),
    );
}

#[test]
fn account_and_group_changes() {
    let r = pack();
    let anon = [
        ("SubjectUserSid", "S-1-5-7"),
        ("SubjectUserName", "ANONYMOUS LOGON"),
        ("TargetUserName", "DC01$"),
    ];
    let by_dc = [
        ("SubjectUserSid", "S-1-5-18"),
        ("SubjectUserName", "DC01$"),
        ("TargetUserName", "DC01$"),
    ];
    check(
        &r,
        "Computer Account Changed By ANONYMOUS LOGON",
        &[sec(4742, &anon)],
        &[sec(4742, &by_dc)],
    );
    check(
        &r,
        "User Account Or Group Changed By ANONYMOUS LOGON",
        &[sec(4724, &anon)],
        &[sec(4724, &[("SubjectUserSid", "S-1-5-21-1-2-3-500")])],
    );
    check(
        &r,
        "User Created Or Added To A Group By A Machine Account",
        &[sec(4732, &[("SubjectUserName", "WS01$")])],
        &[sec(4732, &[("SubjectUserName", "alice")])],
    );
    check(
        &r,
        "Member Added To A Privileged Group",
        &[sec(4728, &[("TargetUserName", "Domain Admins")])],
        &[sec(4728, &[("TargetUserName", "Finance Users")])],
    );
    check(
        &r,
        "User Account Created",
        &[sec(4720, &[("TargetUserName", "helpdesk2")])],
        &[sec(4726, &[("TargetUserName", "helpdesk2")])],
    );
}

#[test]
fn privileged_service_named_hacking_tool() {
    let r = pack();
    let tool = [
        ("ProcessName", "C:\\Users\\a\\Desktop\\mimikatz.exe"),
        ("PrivilegeList", "SeDebugPrivilege"),
    ];
    let lsass = [
        ("ProcessName", "C:\\Windows\\System32\\lsass.exe"),
        ("PrivilegeList", "SeTcbPrivilege"),
    ];
    check(
        &r,
        "Privileged Service Or Object Used By A Known Hacking Tool",
        &[sec(4673, &tool), sec(4674, &tool)],
        &[sec(4673, &lsass)],
    );
}

#[test]
fn services_and_scheduled_tasks() {
    let r = pack();
    let scm = |path: &str| {
        win(
            SYSTEM,
            7045,
            "Service Control Manager",
            0,
            &[("ServiceName", "upd"), ("ImagePath", path)],
        )
    };
    check(
        &r,
        "Service Installed That Runs A Script Host Or Download Tool",
        &[
            scm("regsvr32 /s /u /i:http://x/a.sct scrobj.dll"),
            scm("\\\\10.0.0.5\\share\\svc.exe"),
        ],
        &[scm("C:\\Program Files\\Vendor\\agent.exe")],
    );
    check(
        &r,
        "Service Installed That Runs A Shell, Script Host Or Download Tool (Security Log)",
        &[sec(
            4697,
            &[("ServiceFileName", "%COMSPEC% /c echo x > \\\\.\\pipe\\y")],
        )],
        &[sec(
            4697,
            &[(
                "ServiceFileName",
                "C:\\Windows\\System32\\svchost.exe -k netsvcs",
            )],
        )],
    );
    let task = |name: &str, cmd: &str| {
        sec(
            4698,
            &[
                ("TaskName", name),
                (
                    "TaskContent",
                    &format!("<Actions><Exec><Command>{cmd}</Command></Exec></Actions>"),
                ),
            ],
        )
    };
    check(
        &r,
        "Scheduled Task Created That Runs A Shell Or Script Host",
        &[task("\\Updater", "powershell.exe -nop -w hidden -c ...")],
        &[
            task("\\Updater", "C:\\Program Files\\Vendor\\update.exe"),
            task(
                "\\Microsoft\\Windows\\Defrag\\ScheduledDefrag",
                "cmd.exe /c defrag",
            ),
        ],
    );
}

#[test]
fn logs_cleared_logging_stopped_and_auditing_removed() {
    let r = pack();
    check(
        &r,
        "Security Event Log Cleared",
        &[win(SECURITY, 1102, "Microsoft-Windows-Eventlog", 0, &[])],
        &[win(SECURITY, 1100, "Microsoft-Windows-Eventlog", 0, &[])],
    );
    check(
        &r,
        "Event Log Cleared (System Log Record)",
        &[win(SYSTEM, 104, "Microsoft-Windows-Eventlog", 0, &[])],
        &[win(SYSTEM, 104, "Some-Other-Provider", 0, &[])],
    );
    let start_type = |key: &str, to: &str| {
        win(
            SYSTEM,
            7040,
            "Service Control Manager",
            0,
            &[
                ("param1", "Windows Event Log"),
                ("param2", "auto start"),
                ("param3", to),
                ("param4", key),
            ],
        )
    };
    check(
        &r,
        "Windows Event Log Service Disabled",
        &[start_type("EventLog", "disabled")],
        &[
            start_type("EventLog", "auto start"),
            start_type("wuauserv", "disabled"),
        ],
    );
    check(
        &r,
        "Audit Policy Changed To Stop Auditing",
        &[sec(
            4719,
            &[
                ("SubjectUserName", "alice"),
                ("AuditPolicyChanges", "%%8448, %%8450"),
            ],
        )],
        &[
            sec(
                4719,
                &[
                    ("SubjectUserName", "alice"),
                    ("AuditPolicyChanges", "%%8449"),
                ],
            ),
            sec(
                4719,
                &[
                    ("SubjectUserName", "DC01$"),
                    ("AuditPolicyChanges", "%%8448"),
                ],
            ),
        ],
    );
}

#[test]
fn kerberos_rc4_and_preauthentication() {
    let r = pack();
    let tgs = |n: usize, service: fn(usize) -> String| {
        burst(n, move |i| {
            sec(
                4769,
                &[
                    ("TargetUserName", "alice@CORP"),
                    ("ServiceName", &service(i)),
                    ("TicketEncryptionType", "0x17"),
                    ("Status", "0x0"),
                ],
            )
        })
    };
    check(
        &r,
        "Kerberoasting Burst",
        &tgs(3, |i| format!("svc_sql{i}")),
        &tgs(6, |i| format!("WS{i}$")),
    );
    check(
        &r,
        "Kerberos TGT Issued Without Pre-Authentication",
        &[sec(4768, &[("Status", "0x0"), ("PreAuthType", "0")])],
        &[sec(4768, &[("Status", "0x0"), ("PreAuthType", "2")])],
    );
    check(
        &r,
        "Kerberos Pre-Authentication Disabled On An Account",
        &[sec(4738, &[("UserAccountControl", "%%2096")])],
        &[sec(4738, &[("UserAccountControl", "%%2089")])],
    );
}

#[test]
fn rdp_from_loopback_and_remote_authentication() {
    let r = pack();
    let rcm = |ip: &str| {
        win(
            RDP,
            1149,
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
            0,
            &[("Param1", "administrator"), ("Param3", ip)],
        )
    };
    check(
        &r,
        "RDP Connection From A Loopback Address",
        &[rcm("127.0.0.1")],
        &[rcm("10.0.2.16")],
    );
    check(
        &r,
        "RDP Network Authentication Succeeded",
        &[rcm("10.0.2.16")],
        &[win(
            RDP,
            261,
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
            0,
            &[],
        )],
    );
    check(
        &r,
        "RDP Session Reconnected Or Disconnected From A Loopback Address",
        &[sec(4778, &[("ClientAddress", "::1")])],
        &[sec(4778, &[("ClientAddress", "10.0.0.7")])],
    );
}

#[test]
fn powershell_script_content() {
    let r = pack();
    let block = |text: &str| {
        win(
            PS,
            4104,
            "Microsoft-Windows-PowerShell",
            0,
            &[("ScriptBlockText", text)],
        )
    };
    check(
        &r,
        "PowerShell Script Block With Offensive Tool Content",
        &[block("function Invoke-Kerberoast { ... }")],
        &[block("Get-ChildItem C:\\Logs | Remove-Item")],
    );
    let module = |text: &str| {
        win(
            PS,
            4103,
            "Microsoft-Windows-PowerShell",
            0,
            &[("Payload", text)],
        )
    };
    check(
        &r,
        "PowerShell Module Logging Of Offensive Tool Commands",
        &[module(
            "CommandInvocation(Invoke-Mimikatz): \"Invoke-Mimikatz\"",
        )],
        &[module("CommandInvocation(Get-Date): \"Get-Date\"")],
    );
    let classic = |cmd: &str| {
        let mut e = win(PS_CLASSIC, 400, "PowerShell", 0, &[]);
        e.fields.insert(
            "Data",
            Value::Array(vec![
                Value::str("Available"),
                Value::str("None"),
                Value::str(&format!("\tHostApplication={cmd}")),
            ]),
        );
        e
    };
    check(
        &r,
        "PowerShell Engine Started With A Hidden, Encoded Or Download Command Line",
        &[classic("powershell.exe -nop -enc SQBFAFgA")],
        &[classic("powershell.exe -File C:\\Scripts\\report.ps1")],
    );
}

#[test]
fn defender_detections_and_tampering() {
    let r = pack();
    let d = |eid: u32, fields: &[(&str, &str)]| {
        win(
            DEFENDER,
            eid,
            "Microsoft-Windows-Windows Defender",
            0,
            fields,
        )
    };
    check(
        &r,
        "Microsoft Defender Detected Malware",
        &[d(
            1116,
            &[("Threat Name", "Trojan:PowerShell/Powersploit.M")],
        )],
        &[d(1000, &[])],
    );
    check(
        &r,
        "Microsoft Defender Protection Turned Off",
        &[d(5001, &[])],
        &[d(5000, &[])],
    );
    check(
        &r,
        "Microsoft Defender Exclusion Added",
        &[d(
            5007,
            &[(
                "New Value",
                "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths\\C:\\Temp = 0x0",
            )],
        )],
        &[d(
            5007,
            &[(
                "New Value",
                "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\X = 0x1",
            )],
        )],
    );
}

#[test]
fn winrm_and_wmi_activity() {
    let r = pack();
    check(
        &r,
        "WinRM Remote Shell Created",
        &[win(WINRM, 91, "Microsoft-Windows-WinRM", 0, &[])],
        &[win(WINRM, 142, "Microsoft-Windows-WinRM", 0, &[])],
    );
    let binding = |consumer: &str| {
        win(
            WMI,
            5861,
            "Microsoft-Windows-WMI-Activity",
            0,
            &[("Consumer", consumer)],
        )
    };
    check(
        &r,
        "WMI Permanent Event Subscription Registered",
        &[binding("CommandLineEventConsumer=\"Updater\"")],
        &[binding(
            "NTEventLogEventConsumer=\"SCM Event Log Consumer\"",
        )],
    );
    // The same default binding from an export that drops UserData (NXLog):
    // only the message names it (text as on Mordor's WORKSTATION5).
    let message_only = |message: &str| {
        win(
            WMI,
            5861,
            "Microsoft-Windows-WMI-Activity",
            0,
            &[("Message", message)],
        )
    };
    check(
        &r,
        "WMI Permanent Event Subscription Registered",
        &[message_only(
            "Namespace = //./root/subscription; Eventfilter = Updater (refer to its activate eventid:5859); Consumer = CommandLineEventConsumer=\"Updater\"; PossibleCause = Binding EventFilter:",
        )],
        &[message_only(
            "Namespace = //./root/subscription; Eventfilter = SCM Event Log Filter (refer to its activate eventid:5859); Consumer = NTEventLogEventConsumer=\"SCM Event Log Consumer\"; PossibleCause = Binding EventFilter:",
        )],
    );
    let provider = |path: &str| {
        win(
            WMI,
            5857,
            "Microsoft-Windows-WMI-Activity",
            0,
            &[("ProviderPath", path)],
        )
    };
    check(
        &r,
        "WMI Provider Started From An Unusual Location",
        &[provider("C:\\Users\\Public\\prov.dll")],
        &[
            provider("%SystemRoot%\\system32\\wbem\\wmiprvsd.dll"),
            // A forwarder that dropped UserData: the path is only in the message.
            win(
                WMI,
                5857,
                "Microsoft-Windows-WMI-Activity",
                0,
                &[(
                    "Message",
                    "CIMWin32 provider started with result code 0x0. ProviderPath = %systemroot%\\system32\\wbem\\cimwin32.dll",
                )],
            ),
        ],
    );
}

#[test]
fn every_pack_rule_is_exercised_by_a_test_above() {
    // Titles checked above; a new rule without a test fails here.
    let tested = include_str!("windows_pack.rs");
    let report = RuleSet::from_yaml(kahu_demo::windows_rule_pack(), &LoadOptions::default());
    let corr = kahu_correlation::CorrelationSet::from_rules(&report.correlations);
    let bases: BTreeSet<&str> = corr
        .correlations
        .iter()
        .flat_map(|c| c.rules.iter().map(String::as_str))
        .collect();
    for (_, r) in report.ruleset.rules() {
        if r.name.as_deref().is_some_and(|n| bases.contains(n)) {
            continue;
        }
        assert!(
            tested.contains(&format!("\"{}\"", r.title)),
            "untested rule {}",
            r.title
        );
    }
    for c in &corr.correlations {
        assert!(
            tested.contains(&format!("\"{}\"", c.title)),
            "untested correlation {}",
            c.title
        );
    }
}

/// Runs the pack over every event the readers produce.
struct PackSink<'a> {
    scan: kahu_correlation::SigmaScan<'a>,
    findings: Vec<Finding>,
    events: u64,
}

impl kahu_ingest::Sink for PackSink<'_> {
    fn event(&mut self, event: Event) -> bool {
        self.events += 1;
        self.scan.inspect(&event, &mut self.findings);
        true
    }
    fn warning(&mut self, _: kahu_ingest::Warning) {}
}

/// `(relative file, line)` of a finding's record and of its correlation members.
fn records(f: &Finding, evidence: &str) -> Vec<(String, u64)> {
    std::iter::once(&f.provenance)
        .chain(&f.related)
        .filter_map(|p| {
            let kahu_event::Location::Line(n) = p.location else {
                return None;
            };
            let file = p.file.replace('\\', "/");
            let rel = file.strip_prefix(evidence).unwrap_or(&file);
            Some((rel.trim_start_matches('/').to_string(), n))
        })
        .collect()
}

#[test]
fn no_finding_above_low_on_the_demo_benign_activity() {
    let dir = tempfile::tempdir().expect("tempdir");
    let truth = kahu_demo::generate(
        dir.path(),
        kahu_demo::DEFAULT_SEED,
        &kahu_demo::DemoOptions::default(),
    )
    .expect("generate");
    let malicious: BTreeSet<(String, u64)> = truth
        .malicious
        .iter()
        .map(|m| (m.file.clone(), m.line))
        .collect();
    let rules = pack();
    let evidence_dir = dir.path().join(&truth.evidence_dir);
    let evidence = evidence_dir.to_string_lossy().replace('\\', "/");
    let mut sink = PackSink {
        scan: rules.scan(),
        findings: Vec::new(),
        events: 0,
    };
    kahu_ingest::read_path(&evidence_dir, &mut sink).expect("read evidence");
    let PackSink {
        scan,
        mut findings,
        events,
    } = sink;
    findings.extend(scan.finish().findings);
    let benign_events = events - malicious.len() as u64;
    let benign: Vec<&Finding> = findings
        .iter()
        .filter(|f| !records(f, &evidence).iter().any(|r| malicious.contains(r)))
        .collect();
    let above_low: Vec<String> = benign
        .iter()
        .filter(|f| f.level > kahu_finding::Level::Low)
        .map(|f| {
            format!(
                "{} {:?} {:?}",
                f.title, f.provenance.file, f.provenance.location
            )
        })
        .collect();
    eprintln!(
        "kahu pack on the demo: {} findings ({} on benign records, {:.2} per 10k benign events; {} benign above low) over {events} events",
        findings.len(),
        benign.len(),
        benign.len() as f64 * 10_000.0 / benign_events.max(1) as f64,
        above_low.len()
    );
    for f in &findings {
        eprintln!("  {} [{}]", f.title, f.level.as_str());
    }
    assert!(
        events > 10_000,
        "the demo's three weeks were read: {events}"
    );
    assert!(above_low.is_empty(), "{above_low:#?}");
}

#[test]
fn kerberos_enumeration_resets_enumeration_and_pipes() {
    let r = pack();
    let unknown = |n: usize, status: &'static str| {
        burst(n, move |i| {
            sec(
                4768,
                &[
                    ("TargetUserName", &format!("guess{i}")),
                    ("Status", status),
                    ("IpAddress", "::ffff:172.16.66.1"),
                ],
            )
        })
    };
    check(
        &r,
        "Kerberos TGT Requests For Many Unknown Accounts",
        &unknown(5, "0x6"),
        &unknown(9, "0x12"),
    );
    check(
        &r,
        "Account Password Reset By An Administrator",
        &[sec(4724, &[("TargetUserName", "DC01$")])],
        &[sec(4723, &[("TargetUserName", "bob")])],
    );
    let enumerated = |caller: &str| {
        sec(
            4799,
            &[
                ("TargetUserName", "Administrators"),
                ("CallerProcessName", caller),
            ],
        )
    };
    check(
        &r,
        "Local Group Or User Membership Enumerated By A Non-System Process",
        &[enumerated("C:\\Windows\\System32\\net1.exe")],
        // The Volume Shadow Copy service enumerates Administrators and Backup
        // Operators on every shadow copy (Mordor's esentutl and ntdsutil sets).
        &[
            enumerated("C:\\Windows\\System32\\svchost.exe"),
            enumerated("C:\\Windows\\System32\\VSSVC.exe"),
        ],
    );
    let pipe =
        |share: &str, name: &str| sec(5145, &[("ShareName", share), ("RelativeTargetName", name)]);
    check(
        &r,
        "Remote Access To The Service Control Pipe",
        &[pipe("\\\\*\\IPC$", "svcctl")],
        &[pipe("\\\\*\\C$", "svcctl"), pipe("\\\\*\\IPC$", "lsarpc")],
    );
    check(
        &r,
        "Remote Access To The Print Spooler Or Key Backup Pipe",
        &[
            pipe("\\\\*\\IPC$", "spoolss"),
            pipe("\\\\*\\IPC$", "protected_storage"),
        ],
        &[pipe("\\\\*\\IPC$", "srvsvc")],
    );
    check(
        &r,
        "Remote Access To The Event Log Pipe",
        &[pipe("\\\\*\\IPC$", "eventlog")],
        &[pipe("\\\\*\\IPC$", "winreg")],
    );
}

#[test]
fn boot_options_services_netlogon_and_privileges() {
    let r = pack();
    check(
        &r,
        "Boot Configuration With Kernel Debugging Or Test Signing",
        &[sec(
            4826,
            &[("KernelDebug", "%%1842"), ("TestSigning", "%%1843")],
        )],
        &[sec(
            4826,
            &[("KernelDebug", "%%1843"), ("TestSigning", "%%1843")],
        )],
    );
    let scm = |eid: u32, name: &str| {
        win(
            SYSTEM,
            eid,
            "Service Control Manager",
            0,
            &[("param1", name), ("param2", "stopped")],
        )
    };
    check(
        &r,
        "Windows Event Log Service Changed State",
        &[scm(7036, "Windows Event Log")],
        &[scm(7036, "Print Spooler")],
    );
    check(
        &r,
        "Service Installed That Runs A Shell Directly",
        &[win(
            SYSTEM,
            7045,
            "Service Control Manager",
            0,
            &[("ImagePath", "cmd.exe")],
        )],
        &[win(
            SYSTEM,
            7045,
            "Service Control Manager",
            0,
            &[("ImagePath", "C:\\Program Files\\App\\svc.exe")],
        )],
    );
    check(
        &r,
        "Netlogon Secure Channel Authentication Failure Or Vulnerable Connection",
        &[win(SYSTEM, 5805, "NETLOGON", 0, &[])],
        &[win(SYSTEM, 5719, "NETLOGON", 0, &[])],
    );
    let adjusted = |process: &str| {
        sec(
            4703,
            &[
                ("EnabledPrivilegeList", "SeDebugPrivilege"),
                ("ProcessName", process),
            ],
        )
    };
    check(
        &r,
        "Debug Privilege Enabled By A Non-System Process",
        &[adjusted("C:\\Users\\a\\AppData\\Local\\Temp\\x.exe")],
        &[adjusted("C:\\Windows\\System32\\svchost.exe")],
    );
}

#[test]
fn obfuscation_bits_rdp_core_lsass_exit_and_sql() {
    let r = pack();
    let obfuscated = "$a=(('ne'+'w-')+('it'+'em'))";
    let block = |text: &str| {
        win(
            PS,
            4104,
            "Microsoft-Windows-PowerShell",
            0,
            &[("ScriptBlockText", text)],
        )
    };
    check(
        &r,
        "PowerShell Script Built From Concatenated String Fragments",
        &[block(obfuscated)],
        &[block("$path = 'C:\\' + 'Logs'")],
    );
    let pipeline = |text: &str| {
        let mut e = win(PS_CLASSIC, 800, "PowerShell", 0, &[]);
        e.fields
            .insert("Data", Value::Array(vec![Value::str(text)]));
        e
    };
    check(
        &r,
        "PowerShell Pipeline Built From Concatenated String Fragments",
        &[pipeline(obfuscated)],
        &[pipeline("Get-Item C:\\Logs")],
    );
    let bits = |url: &str| {
        win(
            "Microsoft-Windows-Bits-Client/Operational",
            59,
            "Microsoft-Windows-Bits-Client",
            0,
            &[("url", url)],
        )
    };
    check(
        &r,
        "BITS Transfer Job Started",
        &[bits("http://203.0.113.9/a.exe")],
        &[bits(
            "http://au.download.windowsupdate.com/c/msdownload/x.cab",
        )],
    );
    let core = |eid: u32| {
        win(
            "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational",
            eid,
            "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS",
            0,
            &[("ClientIP", "10.0.2.16:52202")],
        )
    };
    check(&r, "RDP Connection Accepted", &[core(131)], &[core(68)]);
    let exit = |target: &str| {
        win(
            "Application",
            3001,
            "Microsoft-Windows-ProcessExitMonitor",
            0,
            &[("param1", target)],
        )
    };
    check(
        &r,
        "LSASS Exit Monitored By A Silent Process Exit Handler",
        &[exit("C:\\Windows\\System32\\lsass.exe")],
        &[exit("C:\\Program Files\\App\\app.exe")],
    );
    let sql = |eid: u32, option: &str| {
        let mut e = win("Application", eid, "MSSQLSERVER", 0, &[]);
        e.fields.insert(
            "Data",
            Value::Array(vec![Value::str(option), Value::str("0"), Value::str("1")]),
        );
        e
    };
    check(
        &r,
        "SQL Server xp_cmdshell Enabled Or Used",
        &[sql(15457, "xp_cmdshell"), sql(15281, "xp_cmdshell")],
        &[sql(15457, "show advanced options")],
    );
}

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const RDPCORE: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational";
const PCA: &str = "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant";
const TELEMETRY: &str = "Microsoft-Windows-Application-Experience/Program-Telemetry";

fn network_logon(package: &str, user: &str, ip: &str, extra: &[(&str, &str)]) -> Event {
    let mut fields = vec![
        ("LogonType", "3"),
        ("AuthenticationPackageName", package),
        ("TargetUserName", user),
        ("TargetUserSid", "S-1-5-21-1-2-3-1104"),
        ("IpAddress", ip),
    ];
    fields.extend_from_slice(extra);
    sec(4624, &fields)
}

#[test]
fn ntlm_relay_and_loopback_logons() {
    let r = pack();
    check(
        &r,
        "Computer Account Network Logon With NTLM",
        &[network_logon("NTLM", "DC01$", "10.0.0.66", &[])],
        &[
            network_logon("Kerberos", "DC01$", "10.0.0.66", &[]),
            network_logon("NTLM", "alice", "10.0.0.66", &[]),
            network_logon("NTLM", "DC01$", "127.0.0.1", &[]),
        ],
    );
    check(
        &r,
        "NTLM Version 1 Network Logon",
        &[network_logon(
            "NTLM",
            "alice",
            "10.0.0.66",
            &[("LmPackageName", "NTLM V1")],
        )],
        &[network_logon(
            "NTLM",
            "alice",
            "10.0.0.66",
            &[("LmPackageName", "NTLM V2")],
        )],
    );
    let admin = [
        ("TargetUserSid", "S-1-5-21-1-2-3-500"),
        ("ElevatedToken", "%%1842"),
    ];
    let mut system = admin;
    system[0] = ("TargetUserSid", "S-1-5-18");
    system[1] = ("ElevatedToken", "%%1842");
    check(
        &r,
        "Privileged Network Logon From Loopback",
        &[network_logon(
            "Kerberos",
            "Administrator",
            "127.0.0.1",
            &admin,
        )],
        &[
            network_logon("Kerberos", "Administrator", "10.0.0.5", &admin),
            network_logon("Negotiate", "SYSTEM", "::1", &system),
            network_logon("NTLM", "alice", "127.0.0.1", &[("ElevatedToken", "%%1843")]),
        ],
    );
}

#[test]
fn transactions_wmi_children_and_dcom() {
    let r = pack();
    let txf = |process: &str| sec(4985, &[("ProcessName", process), ("NewState", "48")]);
    check(
        &r,
        "File System Transaction By A Process Outside System Folders",
        &[txf("C:\\ProgramData\\loader.exe")],
        &[txf("C:\\Windows\\System32\\msiexec.exe")],
    );
    // 4688 without ParentProcessName (Windows before 10): only pids link
    // the provider host to its child.
    let created = |secs: i64, creator: &str, new_pid: &str, image: &str| {
        let mut e = sec(
            4688,
            &[
                ("Computer", "ws01.corp.example"),
                ("ProcessId", creator),
                ("NewProcessId", new_pid),
                ("NewProcessName", image),
            ],
        );
        e.timestamp = chrono::DateTime::from_timestamp(1_700_000_000 + secs, 0);
        e
    };
    let wmiprvse = created(
        0,
        "0x248",
        "0xae8",
        "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
    );
    check(
        &r,
        "Process Started By The WMI Provider Host",
        &[
            wmiprvse.clone(),
            created(1, "0xae8", "0x424", "C:\\Windows\\System32\\calc.exe"),
        ],
        &[
            wmiprvse.clone(),
            // Another parent; and the provider host's child, but an hour later.
            created(1, "0x1f0", "0x424", "C:\\Windows\\System32\\calc.exe"),
            created(3600, "0xae8", "0x428", "C:\\Windows\\System32\\calc.exe"),
        ],
    );
    let dcom = |place: &str, clsid: &str| {
        win(
            SYSTEM,
            10016,
            "Microsoft-Windows-DistributedCOM",
            0,
            &[
                ("param1", "application-specific"),
                ("param2", place),
                ("param3", "Launch"),
                ("param4", clsid),
                ("param9", "10.0.2.17"),
            ],
        )
    };
    check(
        &r,
        "Remote Launch Of A DCOM Object Used For Lateral Movement",
        &[dcom("Remote", "{C08AFD90-F2A1-11D1-8455-00A0C91F3880}")],
        &[
            dcom("Local", "{C08AFD90-F2A1-11D1-8455-00A0C91F3880}"),
            dcom("Remote", "Windows.SecurityCenter.WscBrokerManager"),
        ],
    );
}

#[test]
fn control_panel_applets_shims_and_rdp_time_zone() {
    let r = pack();
    let pca = |resolver: &str, path: &str| {
        win(
            PCA,
            17,
            "Microsoft-Windows-Program-Compatibility-Assistant",
            0,
            &[("ResolverName", resolver), ("ExePath", path)],
        )
    };
    check(
        &r,
        "Control Panel Applet Run From A User Folder",
        &[pca(
            "ControlPanelApplet",
            "C:\\Users\\bob\\Downloads\\invoice.cpl",
        )],
        &[
            pca("ControlPanelApplet", "C:\\Windows\\System32\\desk.cpl"),
            pca("WrpKeyMitigation", "C:\\Users\\bob\\Desktop\\tool.exe"),
        ],
    );
    let shim = |fix: &str, path: &str| {
        win(
            TELEMETRY,
            500,
            "Microsoft-Windows-Application-Experience",
            0,
            &[("FixName", fix), ("ExePath", path)],
        )
    };
    check(
        &r,
        "Application Compatibility Shim Applied To A Windows Binary",
        &[
            shim("CorrectFilePaths", "C:\\Windows\\System32\\osk.exe"),
            shim("InjectDll", "C:\\Program Files\\Vendor\\app.exe"),
        ],
        &[shim(
            "CorrectFilePaths",
            "C:\\Program Files\\OldApp\\app.exe",
        )],
    );
    check(
        &r,
        "RDP Client Time Zone Reported",
        &[win(
            RDPCORE,
            104,
            "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS",
            0,
            &[("TimezoneBiasHour", "[1]")],
        )],
        &[win(
            RDPCORE,
            102,
            "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS",
            0,
            &[],
        )],
    );
}

/// A Sysmon registry event (12 create/delete, 13 set value).
fn registry(eid: u32, event_type: &str, key: &str, details: &str) -> Event {
    win(
        SYSMON,
        eid,
        "Microsoft-Windows-Sysmon",
        0,
        &[
            ("EventType", event_type),
            ("TargetObject", key),
            ("Details", details),
            ("Image", "C:\\Windows\\System32\\reg.exe"),
        ],
    )
}

#[test]
fn sysmon_registry_defense_changes_and_elevation() {
    let r = pack();
    let policy =
        "HKLM\\SOFTWARE\\Microsoft\\PowerShell\\1\\ShellIds\\Microsoft.PowerShell\\ExecutionPolicy";
    check(
        &r,
        "PowerShell Execution Policy Set To Bypass Or Unrestricted In The Registry",
        &[registry(13, "SetValue", policy, "Unrestricted")],
        &[registry(13, "SetValue", policy, "RemoteSigned")],
    );
    let lockdown = "HKLM\\System\\CurrentControlSet\\Control\\SESSION MANAGER\\Environment\\__PSLockdownPolicy";
    check(
        &r,
        "PowerShell Constrained Language Mode Lockdown Removed",
        &[
            registry(12, "DeleteValue", lockdown, ""),
            registry(13, "SetValue", lockdown, "DWORD (0x00000008)"),
        ],
        &[registry(13, "SetValue", lockdown, "DWORD (0x00000004)")],
    );
    let usched = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Orchestrator\\UScheduler\\51999\\";
    check(
        &r,
        "Update Orchestrator Scheduler Command Written To The Registry",
        &[registry(
            13,
            "SetValue",
            &format!("{usched}cmdLine"),
            "c:\\windows\\system32\\cmd.exe",
        )],
        &[
            registry(
                13,
                "SetValue",
                &format!("{usched}cmdLine"),
                "C:\\Windows\\System32\\MusNotification.exe",
            ),
            registry(13, "SetValue", &format!("{usched}queuedTime"), "cmd.exe"),
        ],
    );
    check(
        &r,
        "IEAK Pending Group Policy INF Registered",
        &[registry(
            13,
            "SetValue",
            "HKU\\S-1-5-21-1-2-3-1000\\Software\\Microsoft\\IEAK\\GroupPolicy\\PendingGPOs\\Path1",
            "c:\\programdata\\gpo.inf",
        )],
        &[registry(
            13,
            "SetValue",
            "HKU\\S-1-5-21-1-2-3-1000\\Software\\Microsoft\\Internet Explorer\\Main\\Start Page",
            "about:blank",
        )],
    );
    let names = "HKLM\\SAM\\SAM\\Domains\\Account\\Users\\Names\\support";
    check(
        &r,
        "Local User Account Created In The SAM",
        &[registry(12, "CreateKey", names, "")],
        &[registry(12, "DeleteKey", names, "")],
    );
    check(
        &r,
        "Auto-Elevating Handler Command Set In The User's Classes",
        &[registry(
            13,
            "SetValue",
            "HKU\\S-1-5-21-1-2-3-1000_Classes\\Launcher.SystemSettings\\shell\\open\\command\\(Default)",
            "c:\\Windows\\System32\\cmd.exe",
        )],
        &[registry(
            13,
            "SetValue",
            "HKU\\S-1-5-21-1-2-3-1000_Classes\\txtfile\\shell\\open\\command\\(Default)",
            "notepad.exe %1",
        )],
    );
    check(
        &r,
        "System Root Overridden In The User's Volatile Environment",
        &[registry(
            13,
            "SetValue",
            "HKU\\S-1-5-21-1-2-3-1000\\Volatile Environment\\SYSTEMROOT",
            "c:\\users\\bob\\appdata\\local\\temp",
        )],
        &[registry(
            13,
            "SetValue",
            "HKU\\S-1-5-21-1-2-3-1000\\Volatile Environment\\LOGONSERVER",
            "\\\\DC01",
        )],
    );
}

#[test]
fn one_workstation_name_from_several_addresses() {
    let r = pack();
    let from = |ips: &'static [&'static str]| {
        burst(ips.len(), move |i| {
            network_logon("NTLM", "alice", ips[i], &[("WorkstationName", "WS01")])
        })
    };
    check(
        &r,
        "One Workstation Name Authenticating With NTLM From Several Addresses",
        &from(&["10.0.0.5", "10.0.0.66"]),
        &[
            // One host's IPv4, IPv6 and mapped addresses are one source.
            from(&[
                "10.0.0.5",
                "fe80::1c2d:3e4f:5a6b:7c8d",
                "::ffff:10.0.0.5",
                "10.0.0.5",
            ]),
        ]
        .concat(),
    );
}

#[test]
fn sysmon_service_pipes_and_image_loads() {
    let r = pack();
    let pipe = |name: &str| {
        win(
            SYSMON,
            17,
            "Microsoft-Windows-Sysmon",
            0,
            &[
                ("EventType", "CreatePipe"),
                ("PipeName", name),
                ("Image", "C:\\Windows\\updsvc.exe"),
            ],
        )
    };
    check(
        &r,
        "PsExec-Style Service Pipes Under Another Service Name",
        &[pipe("\\updsvc-WS01-8116-stdin")],
        &[
            pipe("\\PSEXESVC-WS01-8116-stdin"),
            pipe("\\updsvc"),
            pipe("\\mojo.5688.8052.183894939787088877-stdin"),
        ],
    );
    let load = |image: &str, dll: &str| {
        win(
            SYSMON,
            7,
            "Microsoft-Windows-Sysmon",
            0,
            &[("Image", image), ("ImageLoaded", dll)],
        )
    };
    check(
        &r,
        "Windows Update Client Loaded A DLL From Outside System Folders",
        &[load(
            "C:\\Windows\\System32\\wuauclt.exe",
            "C:\\ProgramData\\Intel\\helper.dll",
        )],
        &[load(
            "C:\\Windows\\System32\\wuauclt.exe",
            "C:\\Windows\\System32\\wuaueng.dll",
        )],
    );
    check(
        &r,
        "RDP ActiveX Client Loaded By A Program Outside System Folders",
        &[load(
            "C:\\ProgramData\\USOShared\\rdp.exe",
            "C:\\Windows\\SysWOW64\\mstscax.dll",
        )],
        &[
            load(
                "C:\\Windows\\System32\\mstsc.exe",
                "C:\\Windows\\System32\\mstscax.dll",
            ),
            load(
                "C:\\Program Files\\RDCMan\\RDCMan.exe",
                "C:\\Windows\\System32\\mstscax.dll",
            ),
        ],
    );
}

#[test]
fn sysmon_eventlog_crash_injection_and_registry_links() {
    let r = pack();
    let sysmon =
        |eid: u32, fields: &[(&str, &str)]| win(SYSMON, eid, "Microsoft-Windows-Sysmon", 0, fields);
    // WER is started by the crashed process's service host: `-s EventLog`
    // names the service the host runs.
    let wer = |parent_cmd: &str| {
        sysmon(
            1,
            &[
                ("Image", "C:\\Windows\\System32\\WerFault.exe"),
                (
                    "CommandLine",
                    "C:\\Windows\\system32\\WerFault.exe -u -p 3004 -s 632",
                ),
                ("ParentImage", "C:\\Windows\\System32\\svchost.exe"),
                ("ParentCommandLine", parent_cmd),
            ],
        )
    };
    check(
        &r,
        "Event Log Service Crash Reported",
        &[wer(
            "C:\\Windows\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p -s EventLog",
        )],
        &[wer(
            "C:\\Windows\\System32\\svchost.exe -k netsvcs -p -s Schedule",
        )],
    );
    let pipe = |event_type: &str, image: &str| {
        sysmon(
            if event_type == "ConnectPipe" { 18 } else { 17 },
            &[
                ("EventType", event_type),
                ("PipeName", "\\eventlog"),
                ("Image", image),
            ],
        )
    };
    check(
        &r,
        "Legacy Event Log Pipe Opened From The Network",
        &[pipe("ConnectPipe", "System")],
        // The service creating its own pipe, and a local client.
        &[
            pipe("CreatePipe", "C:\\Windows\\System32\\svchost.exe"),
            pipe("ConnectPipe", "C:\\Windows\\System32\\mmc.exe"),
        ],
    );
    let child = |parent: &str, image: &str| {
        sysmon(
            1,
            &[
                ("ParentImage", parent),
                ("Image", image),
                ("CommandLine", "cmd.exe"),
            ],
        )
    };
    check(
        &r,
        "Internet Explorer Started A Shell Or Script Host",
        &[child(
            "C:\\Program Files\\Internet Explorer\\iexplore.exe",
            "C:\\Windows\\System32\\cmd.exe",
        )],
        // IE starting its own tab process, and Explorer starting a shell.
        &[
            child(
                "C:\\Program Files\\Internet Explorer\\iexplore.exe",
                "C:\\Program Files (x86)\\Internet Explorer\\iexplore.exe",
            ),
            child(
                "C:\\Windows\\explorer.exe",
                "C:\\Windows\\System32\\cmd.exe",
            ),
        ],
    );
    let link = |image: &str, key: &str| {
        sysmon(
            13,
            &[
                ("EventType", "SetValue"),
                ("TargetObject", key),
                (
                    "Details",
                    "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\x",
                ),
                ("Image", image),
            ],
        )
    };
    check(
        &r,
        "Registry Symbolic Link Written By A Program Outside System Folders",
        &[link(
            "C:\\Users\\u\\Desktop\\poc.exe",
            "HKLM\\SOFTWARE\\Vendor\\Link\\SymbolicLinkValue",
        )],
        &[
            link(
                "C:\\Windows\\System32\\svchost.exe",
                "HKLM\\SOFTWARE\\Vendor\\Link\\SymbolicLinkValue",
            ),
            link(
                "C:\\Users\\u\\Desktop\\poc.exe",
                "HKLM\\SOFTWARE\\Vendor\\Link\\Value",
            ),
        ],
    );
    let access = |source: &str, access: &str| {
        sysmon(
            10,
            &[
                ("SourceImage", source),
                (
                    "TargetImage",
                    "C:\\Program Files\\TeamViewer\\TeamViewer.exe",
                ),
                ("GrantedAccess", access),
            ],
        )
    };
    // 0x1010 = PROCESS_VM_READ | PROCESS_QUERY_LIMITED_INFORMATION;
    // 0x1000 alone (query limited information) cannot read memory.
    check(
        &r,
        "TeamViewer Memory Read By A Program In A User Or Temporary Folder",
        &[access(
            "C:\\Users\\u\\AppData\\Local\\Temp\\tvd.exe",
            "0x1010",
        )],
        &[
            access("C:\\Users\\u\\AppData\\Local\\Temp\\tvd.exe", "0x1000"),
            access(
                "C:\\Program Files\\TeamViewer\\TeamViewer_Service.exe",
                "0x1fffff",
            ),
        ],
    );
    let thread = |source: &str, module: &str| {
        sysmon(
            8,
            &[
                ("SourceImage", source),
                ("TargetImage", "C:\\Windows\\explorer.exe"),
                ("StartModule", module),
                ("StartFunction", ""),
            ],
        )
    };
    let conn = |image: &str, initiated: &str, remote: &str| {
        sysmon(
            3,
            &[
                ("Image", image),
                ("Initiated", initiated),
                ("SourceIp", "10.0.2.16"),
                ("SourcePort", "49158"),
                ("DestinationIp", remote),
                ("DestinationPort", "58172"),
            ],
        )
    };
    check(
        &r,
        "Explorer Accepted A Network Connection From Another Host",
        &[conn("C:\\Windows\\explorer.exe", "false", "10.0.2.17")],
        &[
            // Explorer browsing a share, and a loopback connection.
            conn("C:\\Windows\\explorer.exe", "true", "10.0.2.17"),
            conn("C:\\Windows\\explorer.exe", "false", "127.0.0.1"),
            conn("C:\\Windows\\System32\\svchost.exe", "false", "10.0.2.17"),
        ],
    );
    check(
        &r,
        "Remote Thread Started In Unbacked Memory By A Program Outside System Folders",
        &[thread("\\\\fileserver\\tools\\m.exe", "")],
        &[
            thread(
                "\\\\fileserver\\tools\\m.exe",
                "C:\\Windows\\System32\\kernel32.dll",
            ),
            thread("C:\\Windows\\System32\\csrss.exe", ""),
        ],
    );
}

/// The correlation of a `\eventlog` pipe connect with the Event Log
/// service host's crash report. Shapes from the public sample
/// `DE_remote_eventlog_svc_crash_byt3bl33d3r_sysmon_17_1_3.evtx` (Sysmon 18
/// ConnectPipe by `System`, then 0.19 s later Sysmon 1 WerFault.exe under
/// `svchost.exe -k LocalServiceNetworkRestricted`); each near miss drops
/// one of the two, reverses them, moves them apart or onto two hosts.
#[test]
fn eventlog_pipe_connect_then_service_crash() {
    let r = pack();
    const TITLE: &str = "Event Log Service Crashed After A Connection To Its Pipe";
    let connect = |secs: i64| {
        win(
            SYSMON,
            18,
            "Microsoft-Windows-Sysmon",
            secs,
            &[
                ("EventType", "ConnectPipe"),
                ("PipeName", "\\eventlog"),
                ("Image", "System"),
            ],
        )
    };
    let wer = |secs: i64, parent_cmd: &str| {
        win(
            SYSMON,
            1,
            "Microsoft-Windows-Sysmon",
            secs,
            &[
                ("Image", "C:\\Windows\\System32\\WerFault.exe"),
                (
                    "CommandLine",
                    "C:\\Windows\\system32\\WerFault.exe -u -p 5424 -s 4616",
                ),
                ("ParentImage", "C:\\Windows\\System32\\svchost.exe"),
                ("ParentCommandLine", parent_cmd),
            ],
        )
    };
    let shared = "C:\\Windows\\System32\\svchost.exe -k LocalServiceNetworkRestricted";
    let own = "C:\\Windows\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p -s EventLog";
    let other = "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule";
    let fires = |events: &[Event]| titles(&r, events).contains(TITLE);

    assert!(fires(&[connect(0), wer(1, shared)]), "shared service host");
    assert!(fires(&[connect(0), wer(59, own)]), "own service host, 59 s");
    // The near misses.
    let restarted = win(
        SYSMON,
        17,
        "Microsoft-Windows-Sysmon",
        30,
        &[
            ("EventType", "CreatePipe"),
            ("PipeName", "\\eventlog"),
            ("Image", "C:\\Windows\\System32\\svchost.exe"),
        ],
    );
    assert!(!fires(&[connect(0), restarted]), "pipe connect, no crash");
    assert!(!fires(&[wer(1, shared)]), "crash, no pipe connect");
    assert!(
        !fires(&[connect(0), wer(1, other)]),
        "another service crashed"
    );
    assert!(
        !fires(&[wer(0, shared), connect(1)]),
        "crash before the connect"
    );
    assert!(!fires(&[connect(0), wer(120, shared)]), "two minutes apart");
    let mut elsewhere = wer(1, shared);
    elsewhere.host = Some(Arc::from("ws07.corp.example"));
    assert!(!fires(&[connect(0), elsewhere]), "crash on another host");
}
