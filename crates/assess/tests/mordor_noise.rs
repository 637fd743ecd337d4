//! Noise on real attack datasets nobody here wrote: `kahu assess` over
//! OTRF's Mordor atomic sets (`shared/mordor/atomic`, all 156 archives,
//! 680k events) with SigmaHQ's Windows rules and kahu's bundled rules, as
//! a responder would run it. Most records there are the lab's own routine
//! activity around one short attack, so this is where rules that describe
//! Windows itself float to the top.
//!
//! The whole set is used, not a subset: the noisy rules sit in a few
//! archives each (DSC on the domain controllers, VSS on the shadow-copy
//! sets), so a subset would hide exactly what this test is for. It takes
//! about 40 s on 2 cores with the workspace's optimised dev profile.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;

use kahu_assess::{AssessConfig, run};
use kahu_finding::Level;
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn mordor_atomic_top_rules_are_not_known_noise_and_bursts_are_collapsed() {
    let shared = kahu_test_support::shared_dir();
    let mordor = shared.join("mordor/atomic");
    let rules = shared.join("sigma/rules/windows");
    if !mordor.is_dir() || !rules.is_dir() {
        eprintln!(
            "SKIP: {} or {} not found; Mordor noise NOT tested",
            mordor.display(),
            rules.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = AssessConfig::new(vec![mordor.clone()], dir.path().join("out"));
    cfg.rules = vec![rules];
    cfg.store_case = false;
    let r = run(&cfg, &()).unwrap();
    assert!(
        r.findings.len() > 100,
        "Mordor atomic raised {} findings; was the set read?",
        r.findings.len()
    );

    // Detections each rule stands for (a collapsed finding counts its repeats).
    let mut by_rule: BTreeMap<&str, (u64, &str)> = BTreeMap::new();
    // Separate findings per rule and evidence file.
    let mut per_file: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for f in &r.findings {
        let e = by_rule.entry(&f.rule_id).or_insert((0, &f.title));
        e.0 += kahu_reconstruct::repeat_count(f);
        *per_file
            .entry((&f.rule_id, &f.provenance.file))
            .or_default() += 1;
    }
    let mut top: Vec<(&str, u64, &str)> =
        by_rule.iter().map(|(id, (n, t))| (*id, *n, *t)).collect();
    top.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    eprintln!(
        "Mordor atomic: {} findings standing for {} detections",
        r.findings.len(),
        top.iter().map(|t| t.1).sum::<u64>()
    );
    for (id, n, title) in top.iter().take(10) {
        eprintln!("  {n:>5}  {id}  {title}");
    }

    // Without the shipped list, "Alternate PowerShell Hosts - PowerShell
    // Module" (2,404 detections) and "User Logoff Event" led this ranking.
    let shipped = kahu_sigma::Tuning::shipped();
    for (id, n, title) in top.iter().take(3) {
        assert!(
            shipped.get(id).is_none(),
            "known-noisy rule {title} ({id}) in the top three with {n} detections"
        );
    }

    // kahu's own pack on the same data, measured for BENCHMARKS.md: Mordor
    // labels no set benign, so every pack finding above low was reviewed by
    // hand (docs/rules.md); the count keeps a noisy new rule from slipping in.
    let pack_ids: BTreeSet<&str> = kahu_demo::windows_rule_pack()
        .iter()
        .flat_map(|(_, yaml)| yaml.lines())
        .filter_map(|l| l.strip_prefix("id: "))
        .map(str::trim)
        .collect();
    let mut pack_by_level: BTreeMap<Level, u64> = BTreeMap::new();
    for f in r.findings.iter().filter(|f| pack_ids.contains(&*f.rule_id)) {
        *pack_by_level.entry(f.level).or_default() += kahu_reconstruct::repeat_count(f);
    }
    let events = r.assessment.evidence.events;
    let pack_total: u64 = pack_by_level.values().sum();
    let pack_above_low: u64 = pack_by_level
        .iter()
        .filter(|(l, _)| **l > Level::Low)
        .map(|(_, n)| n)
        .sum();
    eprintln!(
        "kahu pack on Mordor atomic: {pack_total} detections over {events} events ({:.2} per 10k), {pack_above_low} above low ({:.2} per 10k): {pack_by_level:?}",
        pack_total as f64 * 1e4 / events.max(1) as f64,
        pack_above_low as f64 * 1e4 / events.max(1) as f64,
    );
    // Measured 180 above low: 63 log clears (Mordor's recordings start with
    // one), 63 from the audit-policy attack set, the rest attack steps; a
    // rule firing on the lab's routine activity would add hundreds. Session
    // 7: 182, the two new ones the DCOM connection into explorer.exe in
    // empire_dcom_shellwindows_stager (Sysmon 3 and Security 5156).
    // Session 8: 180, after two fixes for routine activity (the spray
    // correlation and the default WMI binding, docs/rules.md); the rest
    // sorted by bench/mordor-pack-review.py.
    assert!(
        pack_above_low <= 250,
        "kahu's pack: {pack_above_low} detections above low on Mordor atomic"
    );
    // Each of them is explained (issue #16: no pack finding above low on
    // routine activity): on a technique the set's _metadata labels name, a
    // log clear at the start of a recording, or a (rule, archive) pair read
    // by a person and listed with its reason in
    // tests/data/mordor-pack-reviewed.tsv. The same sort as
    // bench/mordor-pack-review.py.
    let labels = mordor_labels(&mordor.join("_metadata"));
    let reviewed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/mordor-pack-reviewed.tsv"),
    )
    .unwrap();
    let reviewed: BTreeSet<(&str, &str)> = reviewed
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut c = l.split('\t');
            let pair = (c.next().unwrap(), c.next().unwrap());
            assert!(
                c.next().is_some_and(|why| !why.trim().is_empty()),
                "no reason: {l}"
            );
            pair
        })
        .collect();
    const CLEARS: [&str; 2] = [
        "Security Event Log Cleared",
        "Event Log Cleared (System Log Record)",
    ];
    let mut unexplained = BTreeMap::new();
    for f in r
        .findings
        .iter()
        .filter(|f| pack_ids.contains(&*f.rule_id) && f.level > Level::Low)
    {
        let archive = std::path::Path::new(&*f.provenance.file)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let explained = match labels.get(archive) {
            Some(set) => {
                f.techniques.iter().any(|t| {
                    set.contains(&**t)
                        || set
                            .iter()
                            .any(|l| l.split('.').next() == t.split('.').next())
                }) || CLEARS.contains(&&*f.title)
            }
            None => false,
        } || reviewed.contains(&(&*f.title, archive));
        if !explained {
            *unexplained
                .entry((f.title.to_string(), archive.to_string()))
                .or_insert(0) += kahu_reconstruct::repeat_count(f);
        }
    }
    assert!(
        unexplained.is_empty(),
        "kahu's pack fired above low on Mordor outside the sets' labels, log clears and the reviewed list \
         (read each, then fix the rule or add it to tests/data/mordor-pack-reviewed.tsv with why): {unexplained:#?}"
    );

    // Issue #13's containment checks, as on the demo and EVTX-ATTACK-SAMPLES
    // (`containment.rs`): no Windows binary's hash on the block list and
    // every account to reset seen authenticating, acting or changed, both
    // read from the evidence independently of kahu's detection.
    let out = dir.path().join("out");
    common::containment::check_lists(&out, &mordor);
    let lists = |name: &str| common::containment::column(&out.join("containment").join(name)).len();
    eprintln!(
        "Mordor atomic containment: {} hashes, {} accounts to reset, {} IPs to block, {} shared-infrastructure IPs",
        lists("blocklist-hashes.csv"),
        lists("accounts-to-reset.csv"),
        lists("blocklist-ips.csv"),
        lists("shared-infrastructure-do-not-block.csv"),
    );
    // Every incident title names its host(s), or says it has none.
    let incidents = &r.assessment.incidents;
    eprintln!("Mordor atomic: {} incidents", incidents.len());
    for v in incidents {
        assert!(
            v.hosts.iter().any(|h| v.title.contains(h.as_str()))
                || v.title.contains("host unknown"),
            "incident title names no host: {}",
            v.title
        );
    }

    // A burst is one finding with a count: no rule fills a file with
    // separate findings, and the largest bursts were indeed joined.
    let (worst, most) = per_file
        .iter()
        .max_by_key(|(k, n)| (**n, k.0, k.1))
        .map(|(k, n)| (*k, *n))
        .unwrap();
    assert!(
        most <= 50,
        "rule {} made {most} separate findings in {}",
        worst.0,
        worst.1
    );
    let largest = r
        .findings
        .iter()
        .map(kahu_reconstruct::repeat_count)
        .max()
        .unwrap();
    assert!(
        largest >= 100,
        "no finding stands for a burst of 100 or more (largest {largest})"
    );
}

/// ATT&CK technique ids each Mordor archive is labelled with, by archive
/// file name, read from the sets' `_metadata/*.yaml` (`technique: T1234`
/// with an optional `sub-technique: "001"` on the next line, and the
/// archive's `link:`).
fn mordor_labels(dir: &std::path::Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let mut techniques = BTreeSet::new();
        for (i, l) in lines.iter().enumerate() {
            let Some(t) = l
                .strip_prefix("- technique:")
                .or_else(|| l.strip_prefix("technique:"))
            else {
                continue;
            };
            let t = t.trim().trim_matches('"');
            if !t.starts_with('T') {
                continue;
            }
            techniques.insert(t.to_string());
            let sub = lines
                .get(i + 1)
                .and_then(|n| n.strip_prefix("sub-technique:"))
                .map(|s| s.trim().trim_matches('"'))
                .filter(|s| !s.is_empty());
            if let Some(sub) = sub {
                techniques.insert(format!("{t}.{sub}"));
            }
        }
        for l in &lines {
            if let Some(link) = l.strip_prefix("link:") {
                let link = link.trim();
                if link.ends_with(".zip") || link.ends_with(".tar.gz") {
                    let name = link.rsplit('/').next().unwrap_or(link);
                    out.insert(name.to_string(), techniques.clone());
                }
            }
        }
    }
    out
}
