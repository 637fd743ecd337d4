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
