//! The C2 an implant polls is surfaced, even on an internal address: a
//! regular series of connections from a host with significant detections
//! becomes a significant finding and an internal address to investigate,
//! while the same regularity from a clean host (an updater) stays low and
//! off the lists. Evidence is generated here.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_assess::{AssessConfig, run};
use std::fmt::Write as _;

fn sysmon(id: u32, rec: u64, host: &str, t: &str, data: &str) -> String {
    format!(
        r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon"}}}},"EventID":{id},"EventRecordID":{rec},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"{host}","TimeCreated":{{"#attributes":{{"SystemTime":"{t}"}}}}}},"EventData":{{{data}}}}}}}"##
    )
}

fn conn(rec: u64, host: &str, secs: i64, src: &str, dst: &str, port: u16, image: &str) -> String {
    let t = chrono::DateTime::from_timestamp(1_630_000_000 + secs, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    sysmon(
        3,
        rec,
        host,
        &t,
        &format!(
            r#""Image":"{}","Initiated":"true","Protocol":"tcp","SourceIp":"{src}","SourcePort":"50000","DestinationIp":"{dst}","DestinationPort":"{port}","User":"CORP\\svc""#,
            image.replace('\\', "\\\\")
        ),
    )
}

#[test]
fn a_beacon_from_a_compromised_host_is_a_c2_candidate_and_an_updater_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("evidence");
    std::fs::create_dir(&ev).unwrap();
    let mut s = String::new();
    // WS7 runs Mimikatz, then its implant polls 10.9.9.9:8080 every ~300 s.
    s.push_str(&sysmon(
        1,
        1,
        "WS7.corp.local",
        "2021-08-26T17:00:00Z",
        r#""Image":"C:\\Users\\Public\\m.exe","CommandLine":"m.exe privilege::debug sekurlsa::logonpasswords exit","User":"CORP\\bob","ParentImage":"C:\\Windows\\System32\\cmd.exe""#,
    ));
    s.push('\n');
    for i in 0..40i64 {
        let jitter = (i * 37 % 21) - 10;
        let _ = writeln!(
            s,
            "{}",
            conn(
                100 + i as u64,
                "WS7.corp.local",
                600 + i * 300 + jitter,
                "10.1.1.7",
                "10.9.9.9",
                8080,
                r"C:\Users\Public\svc.exe"
            )
        );
        // WS8 (no detections) has an updater polling as regularly.
        let _ = writeln!(
            s,
            "{}",
            conn(
                500 + i as u64,
                "WS8.corp.local",
                600 + i * 300 + jitter,
                "10.1.1.8",
                "10.9.9.10",
                8443,
                r"C:\Program Files\Vendor\update.exe"
            )
        );
    }
    std::fs::write(ev.join("sysmon.jsonl"), s).unwrap();
    let out = dir.path().join("out");
    let mut cfg = AssessConfig::new(vec![ev], out.clone());
    cfg.store_case = false;
    let r = run(&cfg, &()).expect("assess");
    let beacons: Vec<_> = r
        .findings
        .iter()
        .filter(|f| &*f.rule_id == kahu_reconstruct::BEACONING_RULE)
        .collect();
    assert_eq!(
        beacons.len(),
        2,
        "{:?}",
        beacons.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    let field = |f: &kahu_finding::Finding, k: &str| {
        f.fields
            .iter()
            .find(|(n, _)| &**n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let c2 = beacons
        .iter()
        .find(|f| field(f, "DestinationIp") == "10.9.9.9")
        .expect("the implant's beacon");
    let updater = beacons
        .iter()
        .find(|f| field(f, "DestinationIp") == "10.9.9.10")
        .expect("the updater's beacon");
    assert!(c2.level >= kahu_assess::SIGNIFICANT, "{:?}", c2);
    assert!(
        field(c2, "Escalation").contains("C2 candidate"),
        "{:?}",
        c2.fields
    );
    assert!(updater.level < kahu_assess::SIGNIFICANT);
    let interval: f64 = field(c2, "IntervalSeconds").parse().unwrap();
    assert!((280.0..=320.0).contains(&interval), "{interval}");
    // The internal C2 is listed to investigate; the updater's server is not.
    let internal =
        std::fs::read_to_string(out.join("containment/internal-ips-to-investigate.txt")).unwrap();
    assert!(internal.contains("10.9.9.9"), "{internal}");
    assert!(!internal.contains("10.9.9.10"), "{internal}");
    // analytics.json carries both series for the analyst.
    let a: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("analytics.json")).unwrap()).unwrap();
    assert_eq!(a["beacons"].as_array().map(Vec::len), Some(2));
}
