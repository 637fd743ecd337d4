//! The demo's incidents are a number a person can read, each says where it
//! happened, and every ground-truth intrusion step that detection found is
//! inside one. Expected values come from the generator's
//! `ground-truth.json`, not from kahu's output.

use kahu_assess::{demo_config, run};
use kahu_event::Location;
use kahu_finding::Level;
use kahu_reconstruct::{IncidentConfig, build_incidents};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn demo_incidents_are_few_name_their_hosts_and_hold_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let mut cfg = demo_config(&out).unwrap();
    cfg.store_case = false;
    let evidence = cfg.evidence[0].to_string_lossy().replace('\\', "/");
    let result = run(&cfg, &()).unwrap();

    let views = &result.assessment.incidents;
    assert!(!views.is_empty());
    assert!(
        views.len() <= 30,
        "{} incidents: {:#?}",
        views.len(),
        views.iter().map(|v| &v.title).collect::<Vec<_>>()
    );
    for v in views {
        assert!(
            v.hosts.iter().any(|h| v.title.contains(h.as_str()))
                || v.title.contains("host unknown"),
            "incident title names no host: {}",
            v.title
        );
    }

    // The same incidents, with the finding ids the view leaves out.
    let config = IncidentConfig {
        min_level: Level::Medium,
        ..IncidentConfig::default()
    };
    let incidents = build_incidents(&result.findings, &config, None);
    let mut incident_of: BTreeMap<usize, usize> = BTreeMap::new();
    for (n, i) in incidents.iter().enumerate() {
        for &id in &i.finding_ids {
            assert!(
                incident_of.insert(id, n).is_none(),
                "finding {id} in two incidents"
            );
        }
    }

    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("demo/ground-truth.json")).unwrap())
            .unwrap();
    // (file, line) → step, from the answer key.
    let mut step_of: BTreeMap<(String, u64), String> = BTreeMap::new();
    for m in truth["malicious"].as_array().unwrap() {
        step_of.insert(
            (
                m["file"].as_str().unwrap().to_string(),
                m["line"].as_u64().unwrap(),
            ),
            m["step"].as_str().unwrap().to_string(),
        );
    }
    let mut found_steps: BTreeSet<String> = BTreeSet::new();
    let mut in_incident: BTreeSet<String> = BTreeSet::new();
    let mut c2_incidents: BTreeSet<usize> = BTreeSet::new();
    let c2: Vec<String> = truth["infrastructure"]["c2_ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    for (id, f) in result.findings.iter().enumerate() {
        if f.level < Level::Medium {
            continue;
        }
        let file = f.provenance.file.replace('\\', "/");
        let Some(rel) = file.strip_prefix(&evidence) else {
            continue;
        };
        let Location::Line(line) = f.provenance.location else {
            continue;
        };
        let Some(step) = step_of.get(&(rel.trim_start_matches('/').to_string(), line)) else {
            continue;
        };
        found_steps.insert(step.clone());
        if let Some(&n) = incident_of.get(&id) {
            in_incident.insert(step.clone());
            if f.kind == kahu_finding::FindingKind::Ioc
                && f.fields.iter().any(|(_, v)| c2.contains(v))
            {
                c2_incidents.insert(n);
            }
        }
    }
    assert!(
        found_steps.len() >= 5,
        "detection found steps {found_steps:?}"
    );
    assert_eq!(found_steps, in_incident, "steps found but in no incident");
    // One C2 address contacted a thousand times is one thread of one incident.
    assert_eq!(c2_incidents.len(), 1, "C2 hits split over {c2_incidents:?}");
}
