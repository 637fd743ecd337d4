//! `hunt` and `assess` share one detection stage, and a run is
//! reproducible: the same evidence gives the same findings and the same
//! assessment, whatever the thread scheduling.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_assess::{DetectConfig, demo_config, detect, run};
use kahu_finding::{Finding, FindingKind};

fn lines(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| serde_json::to_string(f).expect("findings serialise"))
        .collect()
}

/// The assessment without its generation time.
fn assessment_json(a: &kahu_report::Assessment) -> serde_json::Value {
    let mut v = serde_json::to_value(a).expect("assessment serialises");
    if let Some(o) = v.as_object_mut() {
        o.remove("generated_at");
    }
    v
}

#[test]
fn hunt_and_assess_detect_the_same_on_the_demo_and_runs_repeat_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = demo_config(dir.path()).expect("demo case");
    cfg.store_case = false;
    cfg.out = dir.path().join("a");
    let first = run(&cfg, &()).expect("first assessment");
    cfg.out = dir.path().join("b");
    let second = run(&cfg, &()).expect("second assessment");
    assert_eq!(lines(&first.findings), lines(&second.findings));
    assert_eq!(
        assessment_json(&first.assessment),
        assessment_json(&second.assessment),
        "two runs over the same evidence wrote different assessments"
    );

    // The hunt's view of the same evidence: bundled rules and the same
    // feed, no analytics.
    let hunt = detect(
        &DetectConfig {
            evidence: cfg.evidence.clone(),
            bundled_rules: true,
            iocs: cfg.iocs.clone(),
            ..Default::default()
        },
        &(),
    )
    .expect("hunt detection");
    let detections: Vec<Finding> = first
        .findings
        .iter()
        .filter(|f| f.kind != FindingKind::Analytic)
        .cloned()
        .collect();
    assert!(
        detections.iter().any(|f| f.kind == FindingKind::Ioc)
            && detections.iter().any(|f| f.kind == FindingKind::Sigma),
        "the demo has both rule and indicator detections"
    );
    assert_eq!(lines(&hunt.findings), lines(&detections));
    assert_eq!(hunt.events, first.assessment.evidence.events);
}

#[test]
fn feed_problems_reach_the_assessment_warnings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let evidence = dir.path().join("auth.log");
    std::fs::write(
        &evidence,
        "Mar  3 10:00:01 web01 sshd[811]: Accepted password for root from 203.0.113.9 port 50022 ssh2\n",
    )
    .expect("write evidence");
    let feed = dir.path().join("feed.csv");
    // One good indicator and one that is not an indicator of any type.
    std::fs::write(
        &feed,
        "type,value\nipv4,203.0.113.9\nbanana,not-an-indicator\n",
    )
    .expect("write feed");
    let mut cfg = kahu_assess::AssessConfig::new(vec![evidence], dir.path().join("out"));
    cfg.iocs.push(feed.clone());
    cfg.store_case = false;
    let r = run(&cfg, &()).expect("assessment");
    let feed_name = feed.display().to_string();
    assert_eq!(r.feeds.len(), 1);
    assert_eq!(r.feeds[0].loaded, 1, "{:?}", r.feeds[0].issues);
    assert!(
        r.warnings.iter().any(|w| w.file() == Some(&*feed_name)),
        "the feed problem is an assessment warning: {:?}",
        r.warnings
    );
    assert!(
        r.findings.iter().any(|f| f.kind == FindingKind::Ioc),
        "the good indicator still matched"
    );
}
