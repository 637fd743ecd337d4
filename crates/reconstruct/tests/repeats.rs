//! Collapsing bursts of repeats into one finding with a count.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;
use common::*;
use kahu_finding::{Finding, Level, field};
use kahu_reconstruct::{
    IncidentConfig, RepeatConfig, build_incidents, collapse_repeats, dedup, repeat_count,
};

fn failed_logon(secs: i64, ip: &str, user: &str) -> Finding {
    finding(
        "failed-logon",
        Level::High,
        "DC01.corp.local",
        secs,
        &["T1110"],
        &[
            ("TargetUserName", user),
            ("IpAddress", ip),
            ("LogonType", "3"),
        ],
    )
}

#[test]
fn a_brute_force_burst_is_one_finding_with_count_and_span() {
    // 3,561 failures two seconds apart, as in the brute force run,
    // plus one later burst and one from another source.
    let mut fs: Vec<Finding> = (0..3561)
        .map(|i| failed_logon(i * 2, "10.0.0.9", "admin"))
        .collect();
    fs.push(failed_logon(100_000, "10.0.0.9", "admin"));
    fs.push(failed_logon(10, "10.0.0.66", "admin"));
    fs[7].level = Level::Critical;
    let out = collapse_repeats(fs, &RepeatConfig::default());
    assert_eq!(out.len(), 3, "one burst, one late repeat, one other source");
    let burst = &out[0];
    assert_eq!(repeat_count(burst), 3561);
    assert_eq!(
        field(burst, "FirstSeen"),
        Some(ts(0).unwrap().to_rfc3339().as_str())
    );
    assert_eq!(
        field(burst, "LastSeen"),
        Some(ts(3560 * 2).unwrap().to_rfc3339().as_str())
    );
    assert_eq!(burst.level, Level::Critical, "highest level of the burst");
    assert_eq!(burst.related.len(), kahu_reconstruct::MAX_RELATED);
    assert!(out[1..].iter().all(|f| repeat_count(f) == 1));
    // Deduplication and incidents count detections, not rows.
    let d = dedup(&out);
    assert_eq!(d.iter().map(|d| d.count).sum::<u64>(), 3563);
}

#[test]
fn window_zero_untimed_and_different_values_are_kept_apart() {
    let fs: Vec<Finding> = (0..5)
        .map(|i| failed_logon(i, "10.0.0.9", "admin"))
        .collect();
    let off = collapse_repeats(fs.clone(), &RepeatConfig { window_secs: 0 });
    assert_eq!(off.len(), 5);
    let mut untimed = fs.clone();
    for f in &mut untimed {
        f.timestamp = None;
    }
    assert_eq!(collapse_repeats(untimed, &RepeatConfig::default()).len(), 5);
    // Another account or another host is not a repeat.
    let mut other = fs.clone();
    other[1] = failed_logon(1, "10.0.0.9", "bob");
    other[2].host = Some("WS07".into());
    assert_eq!(collapse_repeats(other, &RepeatConfig::default()).len(), 3);
    // FQDN and short name are one host.
    let mut named = fs;
    named[3].host = Some("dc01".into());
    assert_eq!(collapse_repeats(named, &RepeatConfig::default()).len(), 1);
}

#[test]
fn a_collapsed_stream_of_indicator_hits_is_one_incident_counting_all() {
    let fs: Vec<Finding> = (0..1000)
        .map(|i| {
            let mut f = finding(
                "indicator--c2",
                Level::Medium,
                "",
                i * 60,
                &[],
                &[("id.resp_h", "203.0.113.77"), ("id.orig_h", "10.20.5.10")],
            );
            f.host = None;
            f.kind = kahu_finding::FindingKind::Ioc;
            f
        })
        .collect();
    let out = collapse_repeats(fs, &RepeatConfig::default());
    assert_eq!(out.len(), 1);
    let inc = build_incidents(&out, &IncidentConfig::default(), None);
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].finding_count, 1000);
    assert_eq!(inc[0].last_seen, ts(999 * 60));
}

/// A scanner's XSS probe answered 400 (lowered as a refused attempt) and
/// the same probe answered 200 a moment later collapse into one finding:
/// it is high, and no longer says "the attempt failed" (EVTX-ATTACK-SAMPLES'
/// Tomcat log, lines 363 and 365).
#[test]
fn a_burst_with_an_answered_repeat_drops_the_refused_attempt_note() {
    let probe = |secs: i64, status: &str| {
        finding(
            "xss",
            Level::High,
            "tomcat",
            secs,
            &["T1189"],
            &[("c-ip", "192.168.105.83"), ("sc-status", status)],
        )
    };
    let mut fs = vec![probe(0, "400"), probe(1, "200")];
    assert_eq!(kahu_reconstruct::lower_refused_web_attempts(&mut fs), 1);
    let out = collapse_repeats(fs, &RepeatConfig::default());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].level, Level::High);
    assert_eq!(field(&out[0], kahu_reconstruct::ATTEMPT_FIELD), None);
    // Refused every time: low, with the note.
    let mut fs = vec![probe(0, "400"), probe(1, "404")];
    kahu_reconstruct::lower_refused_web_attempts(&mut fs);
    let out = collapse_repeats(fs, &RepeatConfig::default());
    assert_eq!(out[0].level, Level::Low);
    assert!(field(&out[0], kahu_reconstruct::ATTEMPT_FIELD).is_some());
}
