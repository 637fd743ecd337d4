//! Analytics on synthetic events built here: thresholds at and just past
//! their boundaries, out-of-order arrival, missing fields, merging, caps.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;
use common::*;
use kahu_finding::Level;
use kahu_reconstruct::analytics::{AuthKind, Protocol};
use kahu_reconstruct::classify::IpClass;
use kahu_reconstruct::{Analytics, AnalyticsConfig};

fn run(events: &[kahu_event::Event]) -> kahu_reconstruct::AnalyticsReport {
    let mut a = Analytics::default();
    for e in events {
        a.observe(e);
    }
    a.finish()
}

/// `n` failures for one account spread evenly over `span` seconds.
fn burst(n: i64, span: i64, user: &str, ip: &str) -> Vec<kahu_event::Event> {
    (0..n)
        .map(|i| fail_4625("DC01", i * span / (n - 1), user, ip))
        .collect()
}

#[test]
fn brute_force_fires_exactly_at_threshold_and_window() {
    // Default: 10 failures with first and last at most 600 s apart.
    let r = run(&burst(10, 600, "alice", "10.0.0.66"));
    assert_eq!(r.brute_force.len(), 1);
    let b = &r.brute_force[0];
    assert_eq!(
        (b.account.as_str(), b.source.as_str()),
        ("alice", "10.0.0.66")
    );
    assert_eq!(b.failures_in_window, 10);
    assert_eq!(b.kind, AuthKind::Logon);
    assert!(b.succeeded_after.is_none());
    assert_eq!(b.failure_reasons[0].value, "bad password");
    assert!(!b.approximate);

    // One second wider: the densest window holds only 9.
    let r = run(&burst(10, 601, "alice", "10.0.0.66"));
    assert!(r.brute_force.is_empty(), "{:?}", r.brute_force);
    // One fewer failure.
    assert!(
        run(&burst(9, 60, "alice", "10.0.0.66"))
            .brute_force
            .is_empty()
    );
}

#[test]
fn brute_force_is_order_independent_and_success_raises_severity() {
    let mut events = burst(12, 300, "bob", "203.0.113.9");
    events.push(ok_4624("DC01", 900, "bob", "203.0.113.9", "3"));
    events.reverse();
    events.swap(2, 9);
    let r = run(&events);
    assert_eq!(r.brute_force.len(), 1);
    let b = &r.brute_force[0];
    assert_eq!(b.failures_in_window, 12);
    assert_eq!(b.succeeded_after, ts(900));
    assert_eq!(b.window_start, ts(0));
    assert_eq!(b.source_class, Some(IpClass::External));
    let f = r.findings();
    let bf = f
        .iter()
        .find(|f| &*f.rule_id == "kahu.analytic.brute_force")
        .unwrap();
    assert_eq!(bf.level, Level::High);
    assert!(bf.techniques.iter().any(|t| &**t == "T1110.001"));
    assert_eq!(bf.timestamp, ts(0));

    // Success more than the look-ahead (1 h) after the burst does not count.
    let mut late = burst(12, 300, "bob", "203.0.113.9");
    late.push(ok_4624("DC01", 300 + 3601, "bob", "203.0.113.9", "3"));
    assert!(run(&late).brute_force[0].succeeded_after.is_none());
}

#[test]
fn spraying_needs_many_accounts_few_attempts() {
    let spray: Vec<_> = (0..12)
        .map(|i| fail_4625("DC01", i * 30, &format!("user{i}"), "10.9.9.9"))
        .collect();
    let mut with_hit = spray.clone();
    with_hit.push(ok_4624("DC01", 500, "user3", "10.9.9.9", "3"));
    let r = run(&with_hit);
    assert_eq!(r.spraying.len(), 1);
    let s = &r.spraying[0];
    assert_eq!(s.accounts_in_window, 12);
    assert_eq!(s.attempts_in_window, 12);
    assert_eq!(s.compromised, vec!["user3".to_string()]);
    assert!(r.brute_force.is_empty());
    let f = r.findings();
    let sf = f
        .iter()
        .find(|f| &*f.rule_id == "kahu.analytic.password_spray")
        .unwrap();
    assert_eq!(sf.level, Level::High);
    assert_eq!(&*sf.techniques[0], "T1110.003");

    // Four accounts: below the default 5.
    assert!(run(&spray[..4]).spraying.is_empty());
    // Exactly five.
    assert_eq!(run(&spray[..5]).spraying.len(), 1);
    // Ten accounts, four tries each: too many per account for a spray.
    let heavy: Vec<_> = (0..40)
        .map(|i| fail_4625("DC01", i, &format!("user{}", i % 10), "10.9.9.9"))
        .collect();
    assert!(run(&heavy).spraying.is_empty());
    // A stale password hammering one account does not hide the spray.
    let mut mixed = spray.clone();
    mixed.extend((0..20).map(|i| fail_4625("DC01", i * 10, "svc_old", "10.9.9.9")));
    let r = run(&mixed);
    assert_eq!(
        (
            r.spraying.len(),
            r.spraying[0].sprayed_accounts,
            r.spraying[0].accounts_in_window
        ),
        (1, 12, 13)
    );
    assert_eq!(r.brute_force.len(), 1);
    // Five accounts but spread beyond the 1 h window (first to last 3,604 s).
    let slow: Vec<_> = (0..5)
        .map(|i| fail_4625("DC01", i * 901, &format!("u{i}"), "10.9.9.9"))
        .collect();
    assert!(run(&slow).spraying.is_empty());
}

#[test]
fn kerberos_preauth_spray_and_reason() {
    let events: Vec<_> = (0..15)
        .map(|i| {
            ev(
                "DC01",
                "Security",
                4771,
                i,
                &[
                    ("TargetUserName", &format!("svc{i}")),
                    ("IpAddress", "::ffff:10.0.0.12"),
                    ("Status", "0x18"),
                ],
            )
        })
        .collect();
    let r = run(&events);
    assert_eq!(r.spraying.len(), 1);
    assert_eq!(r.spraying[0].kind, AuthKind::Kerberos);
    assert_eq!(
        r.spraying[0].source, "10.0.0.12",
        "IPv4-mapped address is unwrapped"
    );
    let l = r.logons.iter().find(|l| l.account == "svc0").unwrap();
    assert_eq!(
        l.failure_reasons[0].value,
        "bad password (pre-authentication failed)"
    );
}

#[test]
fn ssh_from_reader_fields_and_from_message_text() {
    let mut events = Vec::new();
    for i in 0..10 {
        // Shape produced by kahu-ingest's syslog reader.
        let mut e = ev(
            "web01",
            "auth",
            0,
            i,
            &[
                ("user", "root"),
                ("src_ip", "198.51.100.4"),
                ("outcome", "failure"),
                ("action", "ssh_login"),
            ],
        );
        e.event_id = None;
        e.provider = Some("sshd".into());
        events.push(e);
        // The preceding "Invalid user" line must not count twice.
        let mut inv = ev(
            "web01",
            "auth",
            0,
            i,
            &[("message", "Invalid user root from 198.51.100.4 port 22")],
        );
        inv.event_id = None;
        inv.provider = Some("sshd".into());
        events.push(inv);
    }
    // A reader that only kept the raw text.
    let mut raw = ev(
        "web01",
        "syslog",
        0,
        20,
        &[(
            "message",
            "sshd[42]: Accepted password for root from 198.51.100.4 port 5555 ssh2",
        )],
    );
    raw.event_id = None;
    events.push(raw);
    // A sudo line with an outcome is not sshd.
    let mut sudo = ev(
        "web01",
        "auth",
        0,
        21,
        &[("user", "root"), ("outcome", "failure")],
    );
    sudo.event_id = None;
    sudo.provider = Some("sudo".into());
    events.push(sudo);
    let r = run(&events);
    assert_eq!(r.brute_force.len(), 1);
    let b = &r.brute_force[0];
    assert_eq!(
        (b.kind, b.total_failures, b.failures_in_window),
        (AuthKind::Ssh, 10, 10)
    );
    assert_eq!(b.succeeded_after, ts(20));
    let edge = r
        .lateral
        .edges
        .iter()
        .find(|e| e.protocol == Protocol::Ssh)
        .unwrap();
    assert_eq!(
        (edge.source.as_str(), edge.target.as_str()),
        ("ip:198.51.100.4", "host:web01")
    );
    // A logon from the Internet is a way in (T1133 external remote
    // services, T1078 a working account), not lateral movement (T1021).
    let logon = r
        .findings()
        .into_iter()
        .find(|f| f.title.contains("198.51.100.4") && f.title.starts_with("SSH"))
        .unwrap();
    assert_eq!(
        logon.techniques.iter().map(|t| &**t).collect::<Vec<_>>(),
        ["T1133", "T1078"]
    );
    assert!(
        logon
            .title
            .starts_with("SSH logon from Internet address 198.51.100.4 to web01"),
        "{}",
        logon.title
    );
}

#[test]
fn missing_fields_are_tolerated() {
    let r = run(&[
        ev("DC01", "Security", 4625, 0, &[("IpAddress", "10.0.0.1")]),
        ev(
            "DC01",
            "Security",
            4625,
            1,
            &[("TargetUserName", "-"), ("IpAddress", "10.0.0.1")],
        ),
        ev(
            "DC01",
            "Security",
            4625,
            2,
            &[
                ("TargetUserName", "carol"),
                ("IpAddress", "-"),
                ("WorkstationName", "KALI"),
            ],
        ),
        ev("DC01", "Security", 4625, 3, &[("TargetUserName", "dave")]),
        ev("DC01", "Security", 4769, 4, &[]),
        ev("DC01", "System", 7045, 5, &[]),
        ev("DC01", "Microsoft-Windows-Sysmon/Operational", 1, 6, &[]),
        ev(
            "DC01",
            "Microsoft-Windows-Sysmon/Operational",
            3,
            7,
            &[("SourceIp", "x"), ("DestinationPort", "445")],
        ),
    ]);
    assert_eq!(r.logons.len(), 2);
    assert!(
        r.logons
            .iter()
            .any(|l| l.account == "carol" && l.source == "kali")
    );
    assert!(
        r.logons
            .iter()
            .any(|l| l.account == "dave" && l.source == "local")
    );
    assert_eq!(
        r.services.len(),
        1,
        "a 7045 without fields is still a service install"
    );
    assert!(r.process_stacks.rarest.is_empty());
}

#[test]
fn kerberoasting_counts_rc4_user_services_only() {
    let mut events = Vec::new();
    for (i, svc) in [
        "MSSQLSvc",
        "http_svc",
        "backup",
        "sap",
        "sharepoint",
        "WS01$",
        "krbtgt",
    ]
    .iter()
    .enumerate()
    {
        events.push(ev(
            "DC01",
            "Security",
            4769,
            i as i64,
            &[
                ("TargetUserName", "eve@CORP.LOCAL"),
                ("ServiceName", svc),
                ("TicketEncryptionType", "0x17"),
                ("IpAddress", "::ffff:10.0.0.50"),
                ("Status", "0x0"),
            ],
        ));
    }
    // AES ticket: normal.
    events.push(ev(
        "DC01",
        "Security",
        4769,
        9,
        &[
            ("TargetUserName", "frank"),
            ("ServiceName", "MSSQLSvc"),
            ("TicketEncryptionType", "0x12"),
            ("Status", "0x0"),
        ],
    ));
    let r = run(&events);
    assert_eq!(r.kerberoasting.len(), 1);
    let k = &r.kerberoasting[0];
    assert_eq!(
        (k.account.as_str(), k.distinct_services, k.many_services),
        ("eve", 5, true)
    );
    let f = r.findings();
    let kf = f
        .iter()
        .find(|f| &*f.rule_id == "kahu.analytic.kerberoasting")
        .unwrap();
    assert_eq!((kf.level, &*kf.techniques[0]), (Level::High, "T1558.003"));
}

#[test]
fn services_and_tasks_listed_with_commands() {
    let xml = "<Task><Actions Context=\"Author\"><Exec><Command>C:\\Users\\Public\\u.exe</Command><Arguments>-k run</Arguments></Exec></Actions></Task>";
    let r = run(&[
        ev(
            "WS01",
            "System",
            7045,
            0,
            &[
                ("ServiceName", "BTOBTO"),
                (
                    "ImagePath",
                    "%COMSPEC% /Q /c echo dir > \\\\127.0.0.1\\C$\\__output",
                ),
                ("AccountName", "LocalSystem"),
            ],
        ),
        ev(
            "WS01",
            "System",
            7045,
            1,
            &[
                ("ServiceName", "Updater"),
                ("ImagePath", "C:\\Program Files\\Vendor\\upd.exe"),
            ],
        ),
        ev(
            "WS01",
            "Security",
            4698,
            2,
            &[
                ("TaskName", "\\Evil"),
                ("TaskContent", xml),
                ("SubjectUserName", "alice"),
            ],
        ),
        ev(
            "WS01",
            "Microsoft-Windows-TaskScheduler/Operational",
            200,
            3,
            &[
                ("TaskName", "\\Evil"),
                ("ActionName", "C:\\Users\\Public\\u.exe"),
            ],
        ),
    ]);
    assert_eq!(r.services.len(), 2);
    let evil = r.services.iter().find(|s| s.name == "BTOBTO").unwrap();
    assert!(evil.suspicious.is_some());
    assert_eq!(evil.account.as_deref(), Some("LocalSystem"));
    assert!(
        r.services
            .iter()
            .any(|s| s.name == "Updater" && s.suspicious.is_none())
    );
    assert_eq!(r.tasks.len(), 2);
    let created = r.tasks.iter().find(|t| t.action == "created").unwrap();
    assert_eq!(created.command, "C:\\Users\\Public\\u.exe -k run");
    assert_eq!(created.account.as_deref(), Some("alice"));
    let f = r.findings();
    assert_eq!(
        f.iter()
            .filter(|f| &*f.rule_id == "kahu.analytic.new_service" && f.level == Level::High)
            .count(),
        1
    );
    assert!(
        f.iter()
            .any(|f| &*f.rule_id == "kahu.analytic.scheduled_task" && f.level == Level::High)
    );
}

#[test]
fn stacking_puts_rare_images_first() {
    let sysmon = "Microsoft-Windows-Sysmon/Operational";
    let mut events = Vec::new();
    for (i, h) in ["WS01", "WS02", "WS03"].iter().enumerate() {
        for j in 0..5 {
            events.push(ev(
                h,
                sysmon,
                1,
                (i * 10 + j) as i64,
                &[("Image", "C:\\Windows\\System32\\svchost.exe")],
            ));
        }
    }
    events.push(ev(
        "WS02",
        sysmon,
        1,
        100,
        &[
            ("Image", "C:\\Users\\Public\\rc.exe"),
            ("CommandLine", "rc.exe -connect 1.2.3.4"),
            ("ParentImage", "C:\\Windows\\System32\\cmd.exe"),
        ],
    ));
    events.push(ev(
        "WS02",
        "Security",
        4688,
        99,
        &[("NewProcessName", "C:\\USERS\\PUBLIC\\RC.EXE")],
    ));
    let r = run(&events);
    let s = &r.process_stacks;
    assert_eq!(s.distinct_images, 2);
    assert_eq!(s.rarest[0].image, "c:\\users\\public\\rc.exe");
    assert_eq!((s.rarest[0].host_count, s.rarest[0].executions), (1, 2));
    assert_eq!(s.rarest[1].host_count, 3);
    let ws02 = s.hosts.iter().find(|h| h.host == "ws02").unwrap();
    assert_eq!(ws02.rarest[0].image, "c:\\users\\public\\rc.exe");
    assert_eq!(ws02.rarest[0].first_seen, ts(99));
    assert_eq!(ws02.rarest[0].fleet_hosts, 1);
}

#[test]
fn lateral_graph_edges_and_ip_resolution() {
    let sysmon = "Microsoft-Windows-Sysmon/Operational";
    let r = run(&[
        ok_4624("SRV01", 10, "alice", "10.0.0.21", "10"),
        ok_4624("SRV01", 11, "alice", "10.0.0.21", "10"),
        ok_4624("SRV01", 12, "SRV01$", "10.0.0.21", "3"),
        ok_4624("SRV01", 13, "ANONYMOUS LOGON", "10.0.0.21", "3"),
        ok_4624("SRV02", 14, "alice", "127.0.0.1", "10"),
        ev(
            "WS01",
            "Security",
            4648,
            15,
            &[
                ("SubjectUserName", "alice"),
                ("TargetUserName", "admin"),
                ("TargetServerName", "DC01.corp.local"),
            ],
        ),
        // WS01 connects to SRV01 over SMB; this also tells us WS01 is 10.0.0.21.
        ev(
            "WS01",
            sysmon,
            3,
            16,
            &[
                ("SourceIp", "10.0.0.21"),
                ("DestinationIp", "10.0.0.30"),
                ("DestinationPort", "445"),
                ("Initiated", "true"),
                ("User", "CORP\\alice"),
            ],
        ),
        ev(
            "WS01",
            sysmon,
            3,
            17,
            &[
                ("SourceIp", "10.0.0.21"),
                ("DestinationIp", "8.8.8.8"),
                ("DestinationPort", "445"),
                ("Initiated", "true"),
            ],
        ),
    ]);
    let g = &r.lateral;
    let rdp = g
        .edges
        .iter()
        .find(|e| e.protocol == Protocol::Rdp && !e.tunnelled)
        .unwrap();
    assert_eq!(
        (rdp.source.as_str(), rdp.target.as_str(), rdp.count),
        ("host:ws01", "host:srv01", 2)
    );
    assert!(
        g.edges
            .iter()
            .any(|e| e.tunnelled && e.target == "host:srv02")
    );
    assert!(
        g.edges
            .iter()
            .any(|e| e.protocol == Protocol::ExplicitCredentials
                && e.target == "host:dc01"
                && e.account == "admin")
    );
    assert!(
        g.edges
            .iter()
            .any(|e| e.protocol == Protocol::Smb && e.target == "ip:10.0.0.30")
    );
    assert!(
        !g.edges.iter().any(|e| e.target.contains("8.8.8.8")),
        "external destinations are not lateral"
    );
    assert!(
        !g.edges
            .iter()
            .any(|e| e.account.ends_with('$') || e.account.contains("anonymous"))
    );
    assert!(
        g.nodes
            .iter()
            .any(|n| n.id == "host:ws01" && n.out_edges >= 3)
    );
    let json = serde_json::to_value(g).unwrap();
    assert!(json["edges"][0]["source"].is_string());
    let f = r.findings();
    assert!(
        f.iter()
            .any(|f| f.title.starts_with("Tunnelled RDP") && f.level == Level::High)
    );
}

#[test]
fn pass_the_hash_logon_type_9() {
    let r = run(&[ev(
        "WS01",
        "Security",
        4624,
        0,
        &[
            ("TargetUserName", "alice"),
            ("SubjectUserName", "alice"),
            ("LogonType", "9"),
            ("LogonProcessName", "seclogo  "),
        ],
    )]);
    assert_eq!(r.pass_the_hash.len(), 1);
    assert!(
        r.findings()
            .iter()
            .any(|f| &*f.techniques[0] == "T1550.002")
    );
}

#[test]
fn merging_split_streams_equals_one_stream() {
    let mut events = burst(12, 300, "bob", "10.1.1.1");
    events.extend((0..12).map(|i| fail_4625("DC02", i * 7, &format!("sp{i}"), "10.2.2.2")));
    events.push(ok_4624("DC01", 400, "bob", "10.1.1.1", "3"));
    let whole = run(&events);
    let parts: Vec<Analytics> = events
        .chunks(5)
        .map(|c| {
            let mut a = Analytics::default();
            c.iter().rev().for_each(|e| a.observe(e));
            a
        })
        .collect();
    let merged = parts
        .into_iter()
        .rev()
        .reduce(Analytics::merge)
        .unwrap()
        .finish();
    let j = |r: &kahu_reconstruct::AnalyticsReport| {
        (
            serde_json::to_string(&r.brute_force).unwrap(),
            serde_json::to_string(&r.spraying).unwrap(),
            serde_json::to_string(&r.logons).unwrap(),
        )
    };
    assert_eq!(j(&whole), j(&merged));
    assert_eq!(merged.events, events.len() as u64);
}

#[test]
fn caps_bound_tables_and_report_drops() {
    let cfg = AnalyticsConfig {
        max_keys: 10,
        max_series_keys: 5,
        series_points: 4,
        ..Default::default()
    };
    let mut a = Analytics::new(cfg);
    for i in 0..100 {
        a.observe(&fail_4625("DC01", i, &format!("u{i}"), "10.0.0.1"));
    }
    // One key with many points gets coarsened but keeps counting.
    for i in 0..1000 {
        a.observe(&fail_4625("DC01", i * 3, "u0", "10.0.0.1"));
    }
    let r = a.finish();
    assert_eq!(r.logons.len(), 10);
    assert_eq!(r.accounts.len(), 10);
    assert!(r.dropped.iter().any(|(t, n)| t == "logons" && *n == 90));
    assert!(
        r.dropped
            .iter()
            .any(|(t, n)| t == "auth_series" && *n == 95)
    );
    let b = r.brute_force.iter().find(|b| b.account == "u0").unwrap();
    assert_eq!(b.total_failures, 1001);
    assert!(b.approximate);
}

#[test]
fn rayon_fold_reduce_matches_sequential() {
    use rayon::prelude::*;
    let events: Vec<_> = (0..2000)
        .map(|i| {
            fail_4625(
                "DC01",
                (i * 37) % 5000,
                &format!("u{}", i % 40),
                &format!("10.0.{}.1", i % 7),
            )
        })
        .collect();
    let seq = run(&events);
    let par = events
        .par_iter()
        .fold(Analytics::default, |mut a, e| {
            a.observe(e);
            a
        })
        .reduce(Analytics::default, Analytics::merge)
        .finish();
    assert_eq!(
        serde_json::to_string(&seq.brute_force).unwrap(),
        serde_json::to_string(&par.brute_force).unwrap()
    );
    assert_eq!(
        serde_json::to_string(&seq.spraying).unwrap(),
        serde_json::to_string(&par.spraying).unwrap()
    );
    assert_eq!(seq.logons.len(), par.logons.len());
    assert_eq!(par.events, 2000);
}

#[test]
fn guessing_across_accounts_from_one_source_is_brute_force() {
    // 8 accounts × 4 failures in 5 minutes from one source: under the
    // per-account threshold (10) and over spraying's 3 tries per account,
    // yet 32 failures in the window (threshold 2 × 10) — then a success.
    let mut events = Vec::new();
    for i in 0..32 {
        events.push(fail_4625(
            "LNX",
            i * 9,
            &format!("acct{}", i % 8),
            "10.20.5.10",
        ));
    }
    events.push(ok_4624("LNX", 300, "acct3", "10.20.5.10", "3"));
    let r = run(&events);
    assert!(r.spraying.is_empty(), "{:?}", r.spraying);
    let b = r
        .brute_force
        .iter()
        .find(|b| b.source == "10.20.5.10")
        .expect("guessing from one source reported");
    assert_eq!(b.accounts_tried.len(), 8);
    assert_eq!(b.account, "acct3", "the account that logged on afterwards");
    assert!(b.succeeded_after.is_some());
    assert_eq!(b.failures_in_window, 32);
    let f = r.findings();
    assert!(
        f.iter()
            .any(|f| f.rule_id.as_ref() == "kahu.analytic.brute_force" && f.level == Level::High)
    );

    // Just under the threshold: 19 failures across accounts is not reported.
    let few: Vec<_> = (0..19)
        .map(|i| fail_4625("LNX", i * 9, &format!("acct{}", i % 5), "10.20.5.11"))
        .collect();
    assert!(run(&few).brute_force.is_empty());
}

/// A workstation's ordinary morning with its domain controller: Kerberos,
/// LDAP, SMB (Group Policy) and RPC (lsarpc, ProtectedStorage) connections
/// from the user's processes, a network logon on the DC, and the DC's own
/// `IPC$` pipe opens for those endpoints.
fn workstation_to_dc(start: i64) -> Vec<kahu_event::Event> {
    let sysmon = "Microsoft-Windows-Sysmon/Operational";
    let conn = |secs: i64, port: &str| {
        ev(
            "WS01.corp.local",
            sysmon,
            3,
            start + secs,
            &[
                ("SourceIp", "10.0.0.21"),
                ("DestinationIp", "10.0.0.5"),
                ("DestinationPort", port),
                ("Initiated", "true"),
                ("User", "CORP\\alice"),
            ],
        )
    };
    let dc_own = |secs: i64| {
        // The DC's own connection tells which host 10.0.0.5 is.
        ev(
            "DC01.corp.local",
            sysmon,
            3,
            start + secs,
            &[
                ("SourceIp", "10.0.0.5"),
                ("DestinationIp", "10.0.0.7"),
                ("DestinationPort", "53"),
                ("Initiated", "true"),
                ("User", "NT AUTHORITY\\SYSTEM"),
            ],
        )
    };
    let pipe = |secs: i64, name: &str| {
        ev(
            "DC01.corp.local",
            "Security",
            5145,
            start + secs,
            &[
                ("SubjectUserName", "alice"),
                ("IpAddress", "10.0.0.21"),
                ("ShareName", "\\\\*\\IPC$"),
                ("RelativeTargetName", name),
            ],
        )
    };
    vec![
        dc_own(0),
        conn(1, "88"),
        conn(2, "389"),
        conn(3, "445"),
        conn(4, "135"),
        ok_4624("DC01.corp.local", start + 3, "alice", "10.0.0.21", "3"),
        pipe(5, "lsarpc"),
        pipe(6, "protected_storage"),
        pipe(7, "samr"),
    ]
}

fn lateral_findings(r: &kahu_reconstruct::AnalyticsReport) -> Vec<kahu_finding::Finding> {
    r.findings()
        .into_iter()
        .filter(|f| &*f.rule_id == kahu_reconstruct::LATERAL_MOVEMENT_RULE)
        .collect()
}

#[test]
fn ordinary_workstation_to_dc_traffic_is_not_lateral_movement() {
    let r = run(&workstation_to_dc(0));
    // The graph still records who talked to whom…
    assert!(r.lateral.edges.iter().any(|e| e.protocol == Protocol::Smb));
    assert!(r.lateral.edges.iter().any(|e| e.protocol == Protocol::Rpc));
    assert!(r.lateral.edges.iter().all(|e| e.remote_execution.is_none()));
    // …but nothing of it is reported as lateral movement.
    let lm = lateral_findings(&r);
    assert!(
        lm.is_empty(),
        "{:#?}",
        lm.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    let f = r.findings();
    let logon = f
        .iter()
        .find(|f| &*f.rule_id == "kahu.analytic.network_logon")
        .expect("the network logon is listed as such");
    assert_eq!(logon.level, kahu_finding::Level::Informational);
    assert!(logon.techniques.is_empty());
}

#[test]
fn network_logon_then_service_install_is_lateral_movement() {
    let mut events = workstation_to_dc(0);
    // PsExec pattern: network logon, svcctl pipe, PSEXESVC installed.
    events.push(ev(
        "DC01.corp.local",
        "Security",
        5145,
        20,
        &[
            ("SubjectUserName", "alice"),
            ("IpAddress", "10.0.0.21"),
            ("ShareName", "\\\\*\\IPC$"),
            ("RelativeTargetName", "svcctl"),
        ],
    ));
    events.push(ev(
        "DC01",
        "System",
        7045,
        21,
        &[
            ("ServiceName", "PSEXESVC"),
            ("ImagePath", "%SystemRoot%\\PSEXESVC.exe"),
        ],
    ));
    let r = run(&events);
    let lm = lateral_findings(&r);
    assert!(!lm.is_empty());
    let logon = lm
        .iter()
        .find(|f| {
            f.title
                .starts_with("Network logon from ws01 to dc01 as alice, then")
        })
        .unwrap_or_else(|| panic!("{:#?}", lm.iter().map(|f| &f.title).collect::<Vec<_>>()));
    assert_eq!(logon.techniques, vec![std::sync::Arc::from("T1021.002")]);
    assert_eq!(
        kahu_finding::field(logon, "RemoteExecution"),
        Some("service control pipe opened over SMB")
    );
    // The SMB connection that carried it is lateral movement too.
    assert!(
        lm.iter()
            .any(|f| f.title.starts_with("SMB from ws01 to dc01"))
    );
    // A service installed an hour later does not make the morning's
    // traffic lateral movement.
    let mut late = workstation_to_dc(0);
    late.push(ev("DC01", "System", 7045, 3600, &[("ServiceName", "upd")]));
    assert!(lateral_findings(&run(&late)).is_empty());
}

#[test]
fn one_host_under_two_names_is_one_host_in_persistence_and_stacking() {
    let sysmon = "Microsoft-Windows-Sysmon/Operational";
    let svc = |host: &str, secs: i64| {
        ev(
            host,
            "System",
            7045,
            secs,
            &[
                ("ServiceName", "upd"),
                ("ImagePath", "C:\\ProgramData\\upd.exe"),
            ],
        )
    };
    let proc = |host: &str, secs: i64| {
        ev(
            host,
            sysmon,
            1,
            secs,
            &[("Image", "C:\\Users\\Public\\rc.exe")],
        )
    };
    let r = run(&[
        svc("MKT01.pandalab.com", 0),
        svc("mkt01", 5),
        proc("MKT01.pandalab.com", 10),
        proc("mkt01", 11),
    ]);
    assert_eq!(r.services.len(), 1, "{:?}", r.services);
    assert_eq!(r.services[0].count, 2);
    let row = r
        .process_stacks
        .rarest
        .iter()
        .find(|s| s.image.ends_with("rc.exe"))
        .unwrap();
    assert_eq!(row.host_count, 1);
}

/// A Sysmon network connection (event 3) from `host` made by `image`.
fn connection(host: &str, secs: i64, image: &str, dst: &str, port: &str) -> kahu_event::Event {
    ev(
        host,
        "Microsoft-Windows-Sysmon/Operational",
        3,
        secs,
        &[
            ("Image", image),
            ("Initiated", "true"),
            ("DestinationIp", dst),
            ("DestinationPort", port),
        ],
    )
}

/// The beacons of `events` as reader threads may deliver them: in order,
/// reversed, and split between two accumulators merged either way.
fn beacons_in_every_order(mut events: Vec<kahu_event::Event>) -> Vec<String> {
    let as_json = |r: kahu_reconstruct::AnalyticsReport| {
        serde_json::to_string(&r.beacons).expect("beacons serialise")
    };
    let mut out = vec![as_json(run(&events))];
    events.reverse();
    out.push(as_json(run(&events)));
    let half = events.len() / 3;
    for swap in [false, true] {
        let (mut a, mut b) = (Analytics::default(), Analytics::default());
        for (i, e) in events.iter().enumerate() {
            if (i < half) != swap {
                a.observe(e)
            } else {
                b.observe(e)
            }
        }
        out.push(as_json(a.merge(b).finish()));
    }
    out
}

#[test]
fn a_beacon_names_the_same_processes_whatever_order_events_arrive_in() {
    let (ps, np) = (
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r"C:\Windows\System32\notepad.exe",
    );
    // One poll every 60 s to the same address and port, 30 times from
    // PowerShell and 12 from Notepad (an injected implant moving on).
    let events: Vec<_> = (0..42)
        .map(|i| {
            connection(
                "WS5",
                i * 60,
                if i % 7 < 2 { np } else { ps },
                "203.0.113.5",
                "80",
            )
        })
        .collect();
    let runs = beacons_in_every_order(events.clone());
    assert!(runs.iter().all(|r| *r == runs[0]), "{runs:#?}");
    let r = run(&events);
    assert_eq!(r.beacons.len(), 1, "{:?}", r.beacons);
    let b = &r.beacons[0];
    assert_eq!(b.process.as_deref(), Some(ps), "the most frequent one");
    assert_eq!(
        b.processes,
        vec![(ps.to_string(), 30), (np.to_string(), 12)]
    );
    // The finding names both, with their counts.
    let findings = r.findings();
    let finding = findings
        .iter()
        .find(|f| &*f.rule_id == "kahu.analytic.beaconing")
        .expect("a beaconing finding");
    let images = finding
        .fields
        .iter()
        .find(|(k, _)| &**k == "Images")
        .map(|(_, v)| v.as_str());
    assert_eq!(images, Some(format!("{ps} (30); {np} (12)").as_str()));
}

#[test]
fn a_long_beacon_keeps_its_earliest_contacts_whatever_order_events_arrive_in() {
    // More contacts than a series keeps for timing (1,024), in three times
    // as many: which ones are kept must not depend on delivery order.
    let events: Vec<_> = (0..3_100)
        .map(|i| {
            connection(
                "WS5",
                i * 60,
                "C:\\Users\\u\\implant.exe",
                "198.51.100.7",
                "8443",
            )
        })
        .collect();
    let runs = beacons_in_every_order(events.clone());
    assert!(runs.iter().all(|r| *r == runs[0]));
    let r = run(&events);
    let b = &r.beacons[0];
    assert!(b.truncated);
    assert_eq!(b.contacts, 1_024);
    assert_eq!(b.first, ts(0).expect("time"));
    assert_eq!(b.last, ts(1_023 * 60).expect("time"));
}

#[test]
fn sshd_text_inside_a_windows_event_is_not_an_ssh_logon() {
    // A Sysmon process-creation record whose command line echoes sshd log
    // lines (attacker-controlled text) must not become SSH logons; the same
    // line from OpenSSH for Windows still counts.
    let line = "sshd[42]: Failed password for root from 198.51.100.4 port 5555 ssh2";
    let mut events = Vec::new();
    for i in 0..12 {
        let mut e = ev(
            "ws01",
            "Microsoft-Windows-Sysmon/Operational",
            1,
            i,
            &[("Message", line), ("CommandLine", line)],
        );
        e.provider = Some("Microsoft-Windows-Sysmon".into());
        events.push(e);
    }
    let r = run(&events);
    assert!(r.brute_force.is_empty(), "{:?}", r.brute_force);
    assert!(
        !r.lateral.edges.iter().any(|e| e.protocol == Protocol::Ssh),
        "{:?}",
        r.lateral.edges
    );
    for e in &mut events {
        e.channel = Some("OpenSSH/Operational".into());
        e.provider = Some("OpenSSH".into());
        e.event_id = Some(4);
    }
    let r = run(&events);
    assert_eq!(r.brute_force.len(), 1, "OpenSSH for Windows still counts");
    assert_eq!(r.brute_force[0].kind, AuthKind::Ssh);
}

/// rsyslog folds repeats (`message repeated 5 times: [ Failed password …]`,
/// on by default on Ubuntu): each such line stands for five failures. The
/// brute force was reported at a third of its size (one per line).
#[test]
fn folded_syslog_repeats_count_as_the_attempts_they_stand_for() {
    struct Collect(Vec<kahu_event::Event>);
    impl kahu_ingest::Sink for Collect {
        fn event(&mut self, e: kahu_event::Event) -> bool {
            self.0.push(e);
            true
        }
        fn warning(&mut self, _: kahu_ingest::Warning) {}
    }
    let mut log = String::new();
    for m in 0..10 {
        let t = format!("Nov 28 13:4{m}:00");
        log.push_str(&format!(
            "{t} web01 sshd[{m}]: Failed password for root from 185.191.171.12 port 40000 ssh2\n\
             {t} web01 sshd[{m}]: message repeated 5 times: [ Failed password for root from 185.191.171.12 port 40000 ssh2]\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("auth.log");
    std::fs::write(&p, &log).unwrap();
    let mut c = Collect(Vec::new());
    kahu_ingest::read_path(&p, &mut c).unwrap();
    assert_eq!(c.0.len(), 20, "one event per line");
    // 10 lines of one failure, 10 of five.
    let want: u64 = log
        .lines()
        .map(|l| {
            l.split("message repeated ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .map_or(1, |n| n.parse().unwrap())
        })
        .sum();
    assert_eq!(want, 60);
    let r = run(&c.0);
    assert_eq!(r.brute_force.len(), 1, "{:?}", r.brute_force);
    assert_eq!(r.brute_force[0].total_failures, want);
    let root = r.accounts.iter().find(|a| a.account == "root").unwrap();
    assert_eq!(root.failures, want);
}

/// A spray logged on one host names that host (the finding said "host
/// unknown" on a one-host attack).
#[test]
fn a_spray_on_one_host_names_it() {
    let mut events = Vec::new();
    for (i, user) in ["alice", "bob", "carol", "dave", "erin", "frank"]
        .iter()
        .enumerate()
    {
        let mut e = kahu_event::Event::new(kahu_event::Provenance::new(
            "auth.log".into(),
            kahu_event::Location::Line(i as u64 + 1),
        ));
        e.timestamp = ts(i as i64 * 30);
        e.host = Some("web01".into());
        e.provider = Some("sshd".into());
        e.channel = Some("auth".into());
        e.fields.insert(
            "message",
            kahu_event::Value::str(&format!(
                "Failed password for {user} from 185.191.171.12 port 4000{i} ssh2"
            )),
        );
        events.push(e);
    }
    let r = run(&events);
    assert_eq!(r.spraying.len(), 1, "{:?}", r.spraying);
    assert_eq!(r.spraying[0].target_hosts, ["web01"]);
    let f = r
        .findings()
        .into_iter()
        .find(|f| &*f.rule_id == "kahu.analytic.password_spray")
        .expect("a spray finding");
    assert_eq!(f.host.as_deref(), Some("web01"));
}

/// Each host's loopback is its own: tunnelled RDP logons on PC01 and PC02
/// were drawn as one "127.0.0.1" source that reached both (a pivot that
/// never happened: `DE_RDP_Tunnel_5156.evtx` and another sample).
#[test]
fn tunnelled_rdp_sources_stay_on_their_own_host() {
    let r = run(&[
        ok_4624("PC01", 1, "admin01", "127.0.0.1", "10"),
        ok_4624("PC02", 2, "ieuser", "127.0.0.1", "10"),
    ]);
    let tunnels: Vec<(&str, &str)> = r
        .lateral
        .edges
        .iter()
        .filter(|e| e.tunnelled)
        .map(|e| (e.source.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(tunnels.len(), 2, "{:?}", r.lateral.edges);
    assert_ne!(
        tunnels[0].0, tunnels[1].0,
        "one loopback node for two hosts: {tunnels:?}"
    );
    for (src, dst) in &tunnels {
        let host = dst.strip_prefix("host:").unwrap();
        assert!(src.contains(&format!("tunnel on {host}")), "{src} → {dst}");
    }
}

/// A Zeek DNS record: no host, the querier in `id.orig_h`.
fn zeek_dns(secs: i64, orig: &str, query: &str) -> kahu_event::Event {
    zeek_dns_to(secs, orig, "192.0.2.53", query)
}

/// The same, sent to `server`.
fn zeek_dns_to(secs: i64, orig: &str, server: &str, query: &str) -> kahu_event::Event {
    let mut e = ev(
        "",
        "dns",
        0,
        secs,
        &[
            ("id.orig_h", orig),
            ("id.resp_h", server),
            ("id.resp_p", "53"),
            ("query", query),
        ],
    );
    e.host = None;
    e.event_id = None;
    e.logsource = kahu_event::LogSource::product("zeek").with_service("dns");
    e
}

/// The demo's domain controller forwards every lookup of the network to
/// the Internet, so a sensor outside it logs it as the querier of the C2
/// domain; it was made an incident host of its own ("10.20.1.10"). An
/// address that sent (nearly) all of a log's many lookups is the resolver,
/// and a lookup it sent names no host; a client among others, or a short
/// log, is not called a resolver.
#[test]
fn the_networks_dns_resolver_is_recognised_and_its_lookups_name_no_host() {
    let resolver = |events: &[kahu_event::Event]| run(events).lateral.dns_resolvers;
    let mut forwarded: Vec<_> = (0..300)
        .map(|i| zeek_dns(i, "10.20.1.10", "www.example.org"))
        .collect();
    forwarded.push(zeek_dns(301, "10.20.1.77", "www.example.org"));
    let ip: std::net::IpAddr = "10.20.1.10".parse().unwrap();
    assert_eq!(resolver(&forwarded), vec![ip]);
    // Below the minimum number of lookups: not enough to tell.
    assert!(resolver(&forwarded[..150]).is_empty());
    // Clients querying the Internet directly, none dominant.
    let clients: Vec<_> = (0..300)
        .map(|i| {
            zeek_dns(
                i,
                if i % 2 == 0 {
                    "10.20.1.10"
                } else {
                    "10.20.1.11"
                },
                "a.example",
            )
        })
        .collect();
    assert!(resolver(&clients).is_empty());
    // A sensor inside the network: one client (a DNS tunnel, say) sends
    // nearly every lookup to the network's own resolver. It is a client.
    let tunnel: Vec<_> = (0..300)
        .map(|i| zeek_dns_to(i, "10.20.1.66", "10.20.1.10", &format!("x{i}.t.example")))
        .collect();
    assert!(resolver(&tunnel).is_empty());

    let mut names = kahu_reconstruct::HostNames::default();
    let lookup = {
        let mut f = finding(
            "ioc",
            Level::Medium,
            "",
            5,
            &[],
            &[("id.orig_h", "10.20.1.10"), ("query", "c2.example")],
        );
        f.host = None;
        f
    };
    let connection = {
        let mut f = finding(
            "ioc",
            Level::Medium,
            "",
            5,
            &[],
            &[("id.orig_h", "10.20.1.10"), ("id.resp_p", "443")],
        );
        f.host = None;
        f
    };
    assert_eq!(names.of_finding(&lookup).as_deref(), Some("10.20.1.10"));
    names.learn_resolver(ip);
    assert_eq!(names.of_finding(&lookup), None);
    // The resolver's own connections still name it.
    assert_eq!(names.of_finding(&connection).as_deref(), Some("10.20.1.10"));
}
