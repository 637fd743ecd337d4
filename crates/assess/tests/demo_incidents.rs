//! The demo's incidents are a number a person can read, each says where it
//! happened, and every ground-truth intrusion step that detection found is
//! inside one. Expected values come from the generator's
//! `ground-truth.json`, not from kahu's output.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

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

    // Every host in the demo has a name the evidence gives (Sysmon,
    // syslog) and an address its own logs tie to it, so no incident is
    // "on host unknown" (the Zeek sensor's beacons belong to the hosts that
    // polled) and no host is counted twice, once by name and once by the
    // address an IIS log records it under. Lookups of the C2 domain the
    // sensor saw leave through the network's resolver (the domain
    // controller): the client that asked is not in the log, so those
    // findings are "with host unknown", and the resolver's address is no
    // incident host. The resolver is read off the sensor's DNS log: the
    // one querier of all its lookups.
    let resolver = dns_queriers(&out);
    assert_eq!(resolver.len(), 1, "{resolver:?}");
    let resolver = resolver.into_iter().next().unwrap();
    for v in views {
        assert!(
            !v.title.contains("on host unknown"),
            "incident with no host: {}",
            v.title
        );
        assert!(
            !v.hosts.contains(&resolver),
            "the DNS resolver's address made an incident host: {:?}",
            v.hosts
        );
    }
    let hosts = &result.assessment.scope.hosts;
    assert!(
        hosts
            .iter()
            .all(|h| h.value.parse::<std::net::IpAddr>().is_err()),
        "a host counted by its address: {:?}",
        hosts.iter().map(|h| &h.value).collect::<Vec<_>>()
    );
    for h in truth_hosts(&out) {
        assert!(
            hosts
                .iter()
                .any(|e| e.value.to_lowercase().starts_with(&h.to_lowercase())),
            "compromised host {h} not in scope"
        );
    }
    assert_eq!(
        result.assessment.summary.hosts_affected as usize,
        hosts.len()
    );

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
    // The C2 address's block-list entry says it beaconed (the reason a
    // firewall owner checks first) and spans all its detections, not one.
    for ip in &c2 {
        let item = result
            .assessment
            .containment
            .ips
            .iter()
            .find(|i| &i.value == ip)
            .unwrap_or_else(|| panic!("C2 {ip} not on the block list"));
        assert!(item.reason.contains("Regular connections"), "{item:?}");
        assert!(item.detections > 1, "{item:?}");
        assert!(item.last_seen > item.first_seen, "{item:?}");
        // It lasts as long as its beacons did (a collapsed finding's time is
        // its first instance; its `LastSeen` is the end).
        let time = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
        let beacons_end = result
            .findings
            .iter()
            .filter(|f| kahu_finding::field(f, "DestinationIp") == Some(ip.as_str()))
            .filter_map(|f| kahu_finding::field(f, "LastSeen"))
            .map(time)
            .max()
            .expect("the C2's beacons");
        assert!(
            time(item.last_seen.as_deref().unwrap()) >= beacons_end,
            "{item:?} ends before its beacons ({beacons_end})"
        );
    }
    // One C2 address contacted a thousand times is one thread of one incident.
    assert_eq!(c2_incidents.len(), 1, "C2 hits split over {c2_incidents:?}");
}

/// The generator's list of compromised hosts (its answer key).
/// The `id.orig_h` column of the demo sensor's Zeek DNS log.
fn dns_queriers(out: &std::path::Path) -> BTreeSet<String> {
    let log = std::fs::read_to_string(out.join("demo/evidence/sensor01/zeek/dns.log")).unwrap();
    let fields: Vec<&str> = log
        .lines()
        .find_map(|l| l.strip_prefix("#fields\t"))
        .unwrap()
        .split('\t')
        .collect();
    let col = fields.iter().position(|f| *f == "id.orig_h").unwrap();
    log.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').nth(col).map(str::to_string))
        .collect()
}

fn truth_hosts(out: &std::path::Path) -> Vec<String> {
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("demo/ground-truth.json")).unwrap())
            .unwrap();
    truth["compromised_hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// On the public EVTX-ATTACK-SAMPLES with SigmaHQ's Windows rules:
/// techniques seen only in low-level detections stay in the technique
/// summary marked `low` (not counted in the headline); the shipped noisy
/// list keeps its rules out of the top three; incidents name their hosts.
#[test]
fn attack_samples_keep_low_techniques_marked_and_noise_out_of_the_top() {
    let shared = kahu_test_support::shared_dir();
    let samples = shared.join("evtx/EVTX-ATTACK-SAMPLES");
    let rules = shared.join("sigma/rules/windows");
    if !samples.exists() || !rules.exists() {
        eprintln!(
            "SKIP: {} not found; technique levels and noise NOT tested",
            samples.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = kahu_assess::AssessConfig::new(vec![samples], dir.path().join("out"));
    cfg.rules = vec![rules];
    cfg.store_case = false;
    let r = run(&cfg, &()).unwrap();
    let a = &r.assessment;

    // Techniques named only by findings below medium, from the findings.
    let at = |pred: &dyn Fn(Level) -> bool| -> BTreeSet<String> {
        r.findings
            .iter()
            .filter(|f| pred(f.level))
            // As the technique view does: v19 ids under their v18.1 id.
            .flat_map(|f| {
                f.techniques.iter().map(|t| {
                    kahu_attack::kb::v19_to_v18(t).map_or_else(|| t.to_string(), str::to_string)
                })
            })
            .collect()
    };
    let strong = at(&|l| l >= Level::Medium);
    let low_only: BTreeSet<String> = at(&|l| l == Level::Low)
        .difference(&strong)
        .cloned()
        .collect();
    assert!(!low_only.is_empty(), "the samples have low-only techniques");
    let listed_low: Vec<&kahu_report::assessment::TechniqueView> = a
        .techniques
        .iter()
        .filter(|t| low_only.contains(&t.id))
        .collect();
    assert!(
        !listed_low.is_empty(),
        "low-only techniques dropped: {low_only:?}"
    );
    for t in &listed_low {
        assert_eq!(t.max_level, Level::Low, "{}", t.id);
    }
    let counted = a
        .techniques
        .iter()
        .filter(|t| t.max_level >= Level::Medium)
        .count();
    assert!(
        a.summary
            .headline
            .contains(&format!(" {counted} ATT&CK techniques")),
        "{}",
        a.summary.headline
    );

    // The top three rules by detections are not on the shipped noisy list.
    let shipped = kahu_sigma::Tuning::shipped();
    let mut by_rule: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &r.findings {
        *by_rule.entry(&f.rule_id).or_default() += kahu_reconstruct::repeat_count(f);
    }
    let mut top: Vec<(&str, u64)> = by_rule.into_iter().collect();
    top.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    for (id, n) in top.iter().take(3) {
        assert!(
            shipped.get(id).is_none(),
            "noisy rule {id} in the top three ({n})"
        );
    }

    for v in &a.incidents {
        assert!(
            v.hosts.iter().any(|h| v.title.contains(h.as_str()))
                || v.title.contains("host unknown"),
            "{}",
            v.title
        );
    }
}
