//! Behavioural tests of the knowledge base and attribution engine; they run
//! on the embedded knowledge base, without `/work/shared`.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_attack::*;

fn kb() -> &'static KnowledgeBase {
    KnowledgeBase::embedded()
}

fn ev(techs: &[&str], sw: &[&str]) -> CaseEvidence {
    let mut e = CaseEvidence::default();
    techs.iter().for_each(|t| e.add_technique(t));
    sw.iter().for_each(|s| e.add_software(s));
    e
}

#[test]
fn embedded_kb_has_attack_18_1_facts() {
    let kb = kb();
    assert_eq!(kb.version(), "18.1");
    assert_eq!(kb.data().groups.len(), 172);
    assert_eq!(kb.data().techniques.len(), 691);
    assert!(kb.data().copyright.contains("The MITRE Corporation"));
    let g = kb.group("G0065").expect("Leviathan");
    assert!(g.aliases.iter().any(|a| a == "APT40"));
    assert_eq!(
        kb.group_by_name("apt40").map(|g| g.id.as_str()),
        Some("G0065")
    );
    assert_eq!(
        kb.technique("T1505.003").map(|t| t.name.as_str()),
        Some("Web Shell")
    );
    let c = kb.campaign("C0049").expect("C0049");
    assert!(c.first_seen.is_some());
}

#[test]
fn revoked_ids_map_to_replacements() {
    // T1086 (PowerShell) was revoked by T1059.001; G0074 by G0035 in ATT&CK.
    assert_eq!(kb().resolve("t1086"), "T1059.001");
    assert_eq!(kb().resolve("T1100"), "T1505.003");
    assert_eq!(kb().resolve("T1190"), "T1190");
    let res = Attribution::rank(kb(), &[], &ev(&["T1086"], &[]), &RankOptions::default());
    assert_eq!(
        res.evidence.remapped,
        vec![("T1086".to_string(), "T1059.001".to_string())]
    );
    assert_eq!(res.evidence.techniques, 1);
}

#[test]
fn exclusivity_weights_rare_techniques_higher() {
    let a = Attributor::new(kb(), &[], &Exclusions::default(), &Params::default());
    let n = a.group_count();
    let common = a.technique_users("T1059.001").unwrap();
    let rare = a.technique_users("T1584.008").unwrap();
    assert!(
        common > 5 * rare.max(1),
        "PowerShell {common} vs SOHO routers {rare}"
    );
    // The explanation states the exclusivity as x/N groups.
    let res = a.rank(&ev(&["T1059.001"], &[]), &RankOptions::default());
    let item = &res.candidates[0].supporting[0];
    assert!(
        item.detail
            .contains(&format!("used by {common}/{n} groups")),
        "{}",
        item.detail
    );
    let res_rare = a.rank(&ev(&["T1584.008"], &[]), &RankOptions::default());
    assert!(res_rare.candidates[0].supporting[0].weight > item.weight);
}

#[test]
fn sub_technique_credits_parent_partially() {
    // Find a group that has T1505.003 but no other T1505 member, then observe a sibling.
    let kb = kb();
    let p = Params::default();
    let a = Attributor::new(kb, &[], &Exclusions::default(), &p);
    let res_exact = a.rank(
        &ev(&["T1505.003"], &[]),
        &RankOptions {
            top: 200,
            ..Default::default()
        },
    );
    let res_sib = a.rank(
        &ev(&["T1505.001"], &[]),
        &RankOptions {
            top: 200,
            ..Default::default()
        },
    );
    let g = "G0065";
    let exact = res_exact.candidates.iter().find(|c| c.id == g).unwrap();
    let sib = res_sib.candidates.iter().find(|c| c.id == g).unwrap();
    assert_eq!(exact.supporting[0].kind, EvidenceKind::Technique);
    assert_eq!(sib.supporting[0].kind, EvidenceKind::RelatedTechnique);
    assert!(
        sib.supporting[0].weight > 0.0
            && sib.supporting[0].weight < exact.supporting[0].weight * 1.5
    );
    assert!(sib.supporting[0].detail.contains("T1505 family"));
}

#[test]
fn unknown_outcome_when_nothing_fits() {
    // One ubiquitous technique: no actor stands out against an unknown cluster.
    let res = Attribution::rank(kb(), &[], &ev(&["T1059.001"], &[]), &RankOptions::default());
    assert_eq!(res.outcome, Outcome::UnknownCluster);
    // No judgment made, so no evidence counts that would contradict the
    // candidates' supporting lists ("0 scored evidence item(s)").
    assert!(
        res.confidence
            .reasons
            .iter()
            .all(|r| !r.contains("0 scored evidence item(s)") && !r.contains("listed as context")),
        "{:?}",
        res.confidence.reasons
    );
    // One item is thin evidence, and the basis says so.
    assert!(
        res.confidence
            .reasons
            .iter()
            .any(|r| r.contains("only 1 scored evidence item")),
        "{:?}",
        res.confidence.reasons
    );
    assert!(
        res.candidates[0].likelihood < kahu_attack::attribution::MIN_ATTRIBUTION,
        "{}",
        res.candidates[0].likelihood
    );
    let empty = Attribution::rank(kb(), &[], &CaseEvidence::default(), &RankOptions::default());
    assert_eq!(empty.outcome, Outcome::InsufficientEvidence);
}

#[test]
fn distinctive_evidence_attributes_with_explanation() {
    // C0049's own techniques with the full KB (leaky on purpose): G0065 must lead and explain.
    let mut e = CaseEvidence::default();
    for r in kb()
        .data()
        .relations
        .iter()
        .filter(|r| r.from == "C0049" && r.kind == RelKind::Uses)
    {
        e.add_technique(&r.to);
    }
    // Techniques alone: G0065 is the best fit but is not named (technique
    // overlap cannot name an author), and the basis says why.
    let alone = Attribution::rank(kb(), &embedded_profiles(), &e, &RankOptions::default());
    assert_eq!(alone.candidates[0].id, "G0065");
    assert_eq!(alone.outcome, Outcome::UnknownCluster);
    assert!(
        alone.candidates[0].likelihood < 0.45,
        "{}",
        alone.candidates[0].likelihood
    );
    assert!(
        alone
            .confidence
            .reasons
            .iter()
            .any(|r| r.contains("ATT&CK techniques alone")),
        "{:?}",
        alone.confidence.reasons
    );
    // A CVE from the actor's profile corroborates: now it is named.
    e.add_cve("CVE-2021-26084");
    let res = Attribution::rank(kb(), &embedded_profiles(), &e, &RankOptions::default());
    let top = &res.candidates[0];
    assert_eq!(top.id, "G0065");
    assert!(matches!(&res.outcome, Outcome::Attributed { id, .. } if id == "G0065"));
    assert!(top.likelihood > alone.candidates[0].likelihood);
    assert!(
        top.supporting
            .iter()
            .any(|i| i.detail.contains("via campaign C0049"))
    );
    assert!(!top.hunt_next.is_empty());
    // hunting list is sorted most exclusive first
    assert!(
        top.hunt_next
            .windows(2)
            .all(|w| w[0].groups_using <= w[1].groups_using)
    );
    // The margin names the hypothesis it is measured against, and a
    // reader can reproduce it from the numbers shown.
    let margin = res
        .confidence
        .reasons
        .iter()
        .find(|r| r.starts_with("likelihood margin"))
        .expect("a margin reason");
    let runner_up = res.candidates[1].likelihood;
    let (next, p) = if runner_up >= res.likelihood_unknown {
        (res.candidates[1].name.as_str(), runner_up)
    } else {
        ("an actor not in the knowledge base", res.likelihood_unknown)
    };
    assert_eq!(
        *margin,
        format!(
            "likelihood margin over the next hypothesis, {next}{} at {:.1}%, {:.0} points",
            if next == res.candidates[1].name {
                format!(" ({})", res.candidates[1].id)
            } else {
                String::new()
            },
            p * 100.0,
            (top.likelihood - p) * 100.0
        )
    );
    let json = serde_json::to_value(&res).unwrap();
    assert_eq!(json["outcome"]["kind"], "attributed");
}

#[test]
fn profile_evidence_and_contradictions() {
    let profiles = embedded_profiles();
    let mut e = ev(&["T1190", "T1505.003"], &[]);
    e.add_cve("cve-2021-44228");
    e.add_region("Brazil");
    e.add_sector("government");
    let a = Attributor::new(kb(), &profiles, &Exclusions::default(), &Params::default());
    let res = a.rank(
        &e,
        &RankOptions {
            top: 200,
            ..Default::default()
        },
    );
    let c = res.candidates.iter().find(|c| c.id == "G0065").unwrap();
    assert!(c.profiled);
    assert!(
        c.supporting
            .iter()
            .any(|i| i.kind == EvidenceKind::Cve && i.detail.contains("AA24-190A"))
    );
    assert!(
        c.contradicting
            .iter()
            .any(|i| i.kind == EvidenceKind::Region && i.detail.contains("BR"))
    );
    // Excluding the advisory removes its CVE from the profile evidence.
    let ex = Exclusions {
        sources: ["CISA Leviathan 2024".to_string()].into(),
        ..Default::default()
    };
    let a2 = Attributor::new(kb(), &profiles, &ex, &Params::default());
    let res2 = a2.rank(
        &e,
        &RankOptions {
            top: 200,
            ..Default::default()
        },
    );
    let c2 = res2.candidates.iter().find(|c| c.id == "G0065").unwrap();
    assert!(!c2.supporting.iter().any(|i| i.kind == EvidenceKind::Cve));
}

#[test]
fn icd203_words_and_bands() {
    assert_eq!(
        Likelihood::from_probability(0.02),
        Likelihood::AlmostNoChance
    );
    assert_eq!(Likelihood::from_probability(0.10), Likelihood::VeryUnlikely);
    assert_eq!(Likelihood::from_probability(0.30), Likelihood::Unlikely);
    assert_eq!(
        Likelihood::from_probability(0.50),
        Likelihood::RoughlyEvenChance
    );
    assert_eq!(
        Likelihood::from_probability(0.55),
        Likelihood::RoughlyEvenChance
    );
    assert_eq!(Likelihood::from_probability(0.70), Likelihood::Likely);
    assert_eq!(Likelihood::from_probability(0.90), Likelihood::VeryLikely);
    assert_eq!(
        Likelihood::from_probability(0.999),
        Likelihood::AlmostCertain
    );
    assert_eq!(
        Likelihood::from_probability(f64::NAN),
        Likelihood::AlmostNoChance
    );
    assert_eq!(Likelihood::VeryLikely.band(), (0.80, 0.95));
    assert_eq!(Likelihood::Likely.to_string(), "likely (55–80%)");
    assert_eq!(Confidence::assess(12, 3, 0.5).level, ConfidenceLevel::High);
    assert_eq!(Confidence::assess(12, 1, 0.5).level, ConfidenceLevel::Low);
    assert_eq!(
        Confidence::assess(6, 2, 0.2).level,
        ConfidenceLevel::Moderate
    );
}

#[test]
fn likelihoods_sum_to_one_and_respect_temperature() {
    let (l, u) = kahu_attack::attribution::likelihoods(&[3.0, 1.0], 0.0, 1.0);
    assert!((l.iter().sum::<f64>() + u - 1.0).abs() < 1e-9);
    let (l_hot, _) = kahu_attack::attribution::likelihoods(&[3.0, 1.0], 0.0, 10.0);
    assert!(l_hot[0] < l[0]);
}

#[test]
fn navigator_layer_round_trip() {
    let e = ev(&["T1190", "T1505.003", "T1059.001"], &[]);
    let res = Attribution::rank(kb(), &[], &e, &RankOptions::default());
    let layer = navigator_layer(kb(), &e, &res.candidates[0]);
    assert_eq!(layer["domain"], "enterprise-attack");
    assert_eq!(layer["versions"]["layer"], "4.5");
    let techs = techniques_from_layer(&layer).unwrap();
    assert_eq!(techs.len(), 3);
    assert!(layer["techniques"][0]["comment"].as_str().is_some());
    assert!(techniques_from_layer(&serde_json::json!({"x": 1})).is_err());
}

#[test]
fn profile_validation_rejects_bad_input() {
    let bad = "id: X-1\nname: t\ncves:\n  - {value: CVE-1, sources: [NOPE]}\n";
    assert!(
        ActorProfile::parse(bad, "t.yaml")
            .unwrap_err()
            .to_string()
            .contains("NOPE")
    );
    let bad_ip = "id: X-1\nname: t\ninfrastructure:\n  - {kind: ip, value: 999.1.1.1}\n";
    assert!(ActorProfile::parse(bad_ip, "t.yaml").is_err());
    assert!(ActorProfile::parse("{{{", "t.yaml").is_err());
    let reversed = "id: X-1\nname: t\nactive: {from: 2020-01-01, to: 2019-01-01}\n";
    assert!(
        ActorProfile::parse(reversed, "t.yaml")
            .unwrap_err()
            .to_string()
            .contains("after")
    );
    assert!(ActorProfile::parse("id: \"X-\\u0000a\"\nname: t\n", "t.yaml").is_err());
    let p = &embedded_profiles()[0];
    assert_eq!(p.id, "G0065");
    assert!(p.cves.iter().any(|c| c.value == "CVE-2021-44228"));
}

#[test]
fn findings_feed_evidence() {
    use std::sync::Arc;
    let f = kahu_finding::Finding {
        kind: kahu_finding::FindingKind::Sigma,
        rule_id: Arc::from("r1"),
        title: Arc::from("web shell"),
        level: kahu_finding::Level::High,
        techniques: vec![Arc::from("T1505.003")],
        software: vec![Arc::from("S0020")],
        groups: vec![Arc::from("G0065")],
        timestamp: kahu_event::parse_timestamp("2021-05-01T00:00:00Z"),
        host: None,
        channel: None,
        event_id: None,
        fields: vec![],
        provenance: kahu_event::Provenance::new(
            Arc::from("x.evtx"),
            kahu_event::Location::Record(1),
        ),
        related: vec![],
    };
    // An IOC hit whose feed ties it to a group becomes an attributed
    // indicator, labelled with the feed's file name (not its local path).
    let mut ioc = f.clone();
    ioc.kind = kahu_finding::FindingKind::Ioc;
    ioc.fields = vec![
        (Arc::from("ioc"), "ip 203.0.113.77".to_string()),
        (
            Arc::from("ioc_source"),
            "/home/analyst/intel/partner.json".to_string(),
        ),
    ];
    let e = CaseEvidence::from_findings(&[f.clone(), ioc.clone()]);
    assert!(e.techniques.contains("T1505.003"));
    assert!(e.software.contains("S0020"));
    assert!(e.group_hints.contains("G0065"));
    assert_eq!(
        e.attributed_indicators
            .get("ip 203.0.113.77 (partner.json)")
            .map(|g| g.iter().cloned().collect::<Vec<_>>()),
        Some(vec!["G0065".to_string()])
    );
    assert_eq!(
        e.attributed_indicators.len(),
        1,
        "Sigma findings are not indicators"
    );
    assert_eq!(
        e.first_seen.map(|d| d.to_string()).as_deref(),
        Some("2021-05-01")
    );
    // The platforms the findings' logs can show, as assess's coverage
    // gives them: the hunting lists of `attribute --findings` then leave
    // out what no victim log records (resource development).
    let mut win = f.clone();
    win.channel = Some(Arc::from("Microsoft-Windows-Sysmon/Operational"));
    let mut zeek = f.clone();
    zeek.channel = Some(Arc::from("conn"));
    let e = CaseEvidence::from_findings(std::slice::from_ref(&win));
    assert_eq!(e.platforms.iter().collect::<Vec<_>>(), ["Windows"]);
    let e = CaseEvidence::from_findings(&[win, zeek]);
    assert!(
        e.platforms.contains("Network Devices") && e.platforms.contains("Linux"),
        "{:?}",
        e.platforms
    );
    assert!(
        CaseEvidence::from_findings(std::slice::from_ref(&f))
            .platforms
            .is_empty()
    );
    // A collapsed burst (or a beacon) ends at its LastSeen: the case's span
    // runs to it, as the headline's does.
    let mut burst = ioc.clone();
    burst.fields = vec![(Arc::from("LastSeen"), "2021-05-10T11:46:09Z".to_string())];
    let e = CaseEvidence::from_findings(&[f.clone(), burst]);
    assert_eq!(
        (
            e.first_seen.map(|d| d.to_string()),
            e.last_seen.map(|d| d.to_string())
        ),
        (Some("2021-05-01".into()), Some("2021-05-10".into()))
    );
}

#[test]
fn compiled_file_matches_shared_bundle() {
    let base = std::env::var("KAHU_SHARED")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared").into());
    let path = std::path::Path::new(&base).join("attack/enterprise-attack.json");
    if !path.exists() {
        eprintln!("SKIP: ATT&CK bundle not found at {}", path.display());
        return;
    }
    let compiled = kahu_attack::stix::compile_file(&path, "18.1").unwrap();
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/attack/enterprise-attack-v18.1.kb.json"
    ))
    .unwrap();
    assert!(
        compiled.to_json_lines() == committed,
        "committed KB differs from compiler output: rerun kahu-attack-compile"
    );
}

#[test]
fn garbage_bundles_are_errors_not_panics() {
    assert!(kahu_attack::stix::compile_bytes(b"not json", "x").is_err());
    assert!(
        kahu_attack::stix::compile_bytes(b"{\"type\":\"bundle\",\"objects\":[]}", "x").is_err()
    );
    assert!(kahu_attack::stix::compile_bytes(b"{\"objects\":[{\"type\":1}]}", "x").is_err());
}

#[test]
fn issue_protocol_keeps_other_campaigns_relations() {
    use kahu_attack::eval::{Protocol, campaign_cases};
    let kb = kb();
    let cases = campaign_cases(kb);
    assert_eq!(cases.len(), 22, "ATT&CK 18.1 single-group campaigns");
    assert!(
        cases
            .iter()
            .any(|c| c.campaign == "C0049" && c.group == "G0065")
    );
    let p = Params::default();
    let users = |a: &Attributor| -> u32 {
        kb.data()
            .techniques
            .iter()
            .filter_map(|t| a.technique_users(&t.id))
            .sum()
    };
    let mut looser = 0;
    for c in &cases {
        let issue = Attributor::new(kb, &[], &c.exclusions(false, Protocol::Issue), &p);
        let strict = Attributor::new(kb, &[], &c.exclusions(false, Protocol::Strict), &p);
        let full = Attributor::new(kb, &[], &Exclusions::default(), &p);
        let (ui, us, uf) = (users(&issue), users(&strict), users(&full));
        // The strict filter removes a superset of what the issue's protocol removes.
        assert!(us <= ui && ui <= uf, "{}: {us} {ui} {uf}", c.campaign);
        if us < ui {
            looser += 1;
        }
    }
    assert!(looser > 0, "the two protocols never differ");
}

#[test]
fn temperature_scales_with_attainable_score() {
    let p = Params {
        temperature: 3.0,
        temperature_scale: 40.0,
        ..Params::default()
    };
    assert!((Attributor::effective_temperature(&p, 80.0) - 6.0).abs() < 1e-9);
    // Floor: profile-only evidence (no ATT&CK score attainable) is not sharpened to certainty.
    assert!((Attributor::effective_temperature(&p, 0.0) - 0.75).abs() < 1e-9);
    let abs = Params {
        temperature_scale: 0.0,
        ..p
    };
    assert_eq!(Attributor::effective_temperature(&abs, 80.0), 3.0);
}

#[test]
fn shipped_profiles_extend_live_groups_and_cite_attack_sources() {
    let kb = kb();
    let profiles = embedded_profiles();
    assert!(profiles.len() >= 4, "APT40 plus its competing hypotheses");
    for p in &profiles {
        assert!(
            kb.group(&p.id).is_some(),
            "{} ({}) is not a live ATT&CK group",
            p.id,
            p.name
        );
        // A citation name that ATT&CK does not know would silently defeat
        // the leakage filter of the evaluation.
        for (key, s) in &p.sources {
            for c in &s.attack_citations {
                assert!(
                    kb.source_index(c).is_some(),
                    "{}: source {key} cites {c:?}, unknown to ATT&CK",
                    p.name
                );
            }
        }
    }
    assert!(
        profiles.iter().any(|p| p.id == "G0065"),
        "APT40 profile shipped"
    );
}

#[test]
fn profile_items_shared_between_actors_are_split() {
    let profiles = embedded_profiles();
    let listing = |cve: &str| {
        profiles
            .iter()
            .filter(|p| p.cves.iter().any(|c| c.value == cve))
            .count()
    };
    // Log4Shell is exploited by several profiled actors; the Confluence OGNL
    // bug is listed for APT40 alone (counts read from the profile data).
    let shared = "CVE-2021-44228";
    let exclusive = "CVE-2021-26084";
    assert!(listing(shared) >= 2);
    assert_eq!(listing(exclusive), 1);
    let p = Params::default();
    let a = Attributor::new(kb(), &profiles, &Exclusions::default(), &p);
    let weight_for = |cve: &str, actor: &str| {
        let mut e = CaseEvidence::default();
        e.add_cve(cve);
        let res = a.rank(
            &e,
            &RankOptions {
                top: 200,
                ..Default::default()
            },
        );
        let c = res.candidates.iter().find(|c| c.id == actor).unwrap();
        // No technique telemetry: nothing is "absent", so the score is the CVE alone.
        assert_eq!(
            c.absent_penalty, 0.0,
            "{actor} penalised without techniques"
        );
        let item = c
            .supporting
            .iter()
            .find(|i| i.kind == EvidenceKind::Cve)
            .unwrap();
        assert!((profile_part(c) - item.weight).abs() < 1e-3);
        item.weight
    };
    let w_shared = weight_for(shared, "G0065");
    assert!((w_shared - p.cve_weight / listing(shared) as f64).abs() < 1e-9);
    assert!((weight_for(shared, "G0096") - w_shared).abs() < 1e-9);
    assert!((weight_for(exclusive, "G0065") - p.cve_weight).abs() < 1e-9);
}

#[test]
fn shared_infrastructure_kind_is_not_exclusive_evidence() {
    let profiles = embedded_profiles();
    let with_soho: Vec<(&str, f64)> = profiles
        .iter()
        .filter_map(|p| {
            p.infrastructure
                .iter()
                .find(|i| i.kind == "soho-router")
                .map(|i| (p.id.as_str(), item_reliability(i.note.as_deref())))
        })
        .collect();
    assert!(with_soho.len() >= 2, "{with_soho:?}");
    let mut e = CaseEvidence::default();
    e.infrastructure_kinds.insert("soho-router".into());
    let a = Attributor::new(kb(), &profiles, &Exclusions::default(), &Params::default());
    let res = a.rank(
        &e,
        &RankOptions {
            top: 200,
            ..Default::default()
        },
    );
    for (id, reliability) in &with_soho {
        let s = profile_part(res.candidates.iter().find(|c| &c.id == id).unwrap());
        let expect = Params::default().victim_weight * reliability / with_soho.len() as f64;
        // scores are reported to three decimals
        assert!((s - expect).abs() < 1e-3, "{id}: {s} vs {expect}");
    }
}

#[test]
fn attributed_indicators_score_as_infrastructure_overlap() {
    let p = Params::default();
    let a = Attributor::new(kb(), &[], &Exclusions::default(), &p);
    let score_of = |e: &CaseEvidence, id: &str| {
        let res = a.rank(
            e,
            &RankOptions {
                top: 200,
                ..Default::default()
            },
        );
        res.candidates
            .iter()
            .find(|c| c.id == id)
            .map(profile_part)
            .unwrap()
    };
    let mut e = CaseEvidence::default();
    // Rule tags naming a group are hints only.
    e.group_hints.insert("G0065".into());
    assert_eq!(score_of(&e, "G0065"), 0.0);
    // One indicator attributed by name (alias) to APT40: full weight.
    e.attributed_indicators
        .entry("ip 203.0.113.77 (partner.json)".into())
        .or_default()
        .insert("APT40".into());
    assert!((score_of(&e, "G0065") - p.infra_weight).abs() < 1e-3);
    // A second indicator shared with APT41 counts half for each.
    e.attributed_indicators
        .entry("domain c2.example (partner.json)".into())
        .or_default()
        .extend(["G0065".to_string(), "G0096".to_string()]);
    assert!((score_of(&e, "G0065") - 1.5 * p.infra_weight).abs() < 1e-3);
    assert!((score_of(&e, "G0096") - 0.5 * p.infra_weight).abs() < 1e-3);
    // Many hits cannot outweigh two indicators' worth.
    for i in 0..20 {
        e.attributed_indicators
            .entry(format!("ip 198.51.100.{i} (feed)"))
            .or_default()
            .insert("G0065".into());
    }
    assert!((score_of(&e, "G0065") - 2.0 * p.infra_weight).abs() < 1e-3);
}

#[test]
fn weak_and_unverified_profile_items_count_less() {
    assert_eq!(item_reliability(None), 1.0);
    assert_eq!(item_reliability(Some("Atlassian Confluence")), 1.0);
    assert_eq!(
        item_reliability(Some("weak: vendor says 'very likely'")),
        0.5
    );
    assert_eq!(
        item_reliability(Some("Unverified: advisory text not found")),
        0.25
    );
    // Find a CVE listed by exactly one shipped profile with a weak note and
    // check its credited weight (from the profile data, not hard-coded).
    let profiles = embedded_profiles();
    let (actor, cve, note) = profiles
        .iter()
        .flat_map(|p| p.cves.iter().map(move |c| (p, c)))
        .filter(|(_, c)| item_reliability(c.note.as_deref()) < 1.0)
        .find(|(_, c)| {
            profiles
                .iter()
                .filter(|q| q.cves.iter().any(|x| x.value == c.value))
                .count()
                == 1
        })
        .map(|(p, c)| (p.id.clone(), c.value.clone(), c.note.clone()))
        .expect("a shipped profile has a weak or unverified CVE of its own");
    let mut e = CaseEvidence::default();
    e.add_cve(&cve);
    let p = Params::default();
    let a = Attributor::new(kb(), &profiles, &Exclusions::default(), &p);
    let res = a.rank(
        &e,
        &RankOptions {
            top: 200,
            ..Default::default()
        },
    );
    let c = res.candidates.iter().find(|c| c.id == actor).unwrap();
    let item = c
        .supporting
        .iter()
        .find(|i| i.kind == EvidenceKind::Cve)
        .unwrap();
    let expect = p.cve_weight * item_reliability(note.as_deref());
    assert!(
        (item.weight - expect).abs() < 1e-3,
        "{cve}: {}",
        item.weight
    );
}

/// The headline false name of issue 12: a generic SigmaHQ behaviour rule
/// tagged with PowerDuke (S0139) must not put PowerDuke into the scored
/// evidence; a rule whose title names the tool does.
#[test]
fn generic_rule_software_tag_is_not_scored() {
    use std::sync::Arc;
    let finding = |title: &str, sw: &str| kahu_finding::Finding {
        kind: kahu_finding::FindingKind::Sigma,
        rule_id: Arc::from(title),
        title: Arc::from(title),
        level: kahu_finding::Level::High,
        techniques: vec![Arc::from("T1564.004")],
        software: vec![Arc::from(sw)],
        groups: vec![],
        timestamp: None,
        host: None,
        channel: None,
        event_id: None,
        fields: vec![],
        provenance: kahu_event::Provenance::new(
            Arc::from("x.evtx"),
            kahu_event::Location::Record(1),
        ),
        related: vec![],
    };
    let kb = kb();
    // Expected names come from the knowledge base, not from the code under test.
    let mimikatz = kb
        .software_by_name("Mimikatz")
        .expect("Mimikatz in KB")
        .id
        .clone();
    let generic = finding("Hidden Executable In NTFS Alternate Data Stream", "S0139");
    let specific = finding("HackTool - Mimikatz Execution", &mimikatz);
    let e = CaseEvidence::from_detections(&[generic.clone(), specific], kb);
    assert!(!e.software.contains("S0139"), "{:?}", e.software);
    assert!(e.software.contains(&mimikatz), "{:?}", e.software);
    assert!(e.techniques.contains("T1564.004"), "techniques still count");
    // The same tag from an indicator feed names what it matched: kept.
    let mut ioc = generic;
    ioc.kind = kahu_finding::FindingKind::Ioc;
    let e = CaseEvidence::from_detections(&[ioc], kb);
    assert!(e.software.contains("S0139"));
}

#[test]
fn actors_are_shown_by_their_best_known_name() {
    // The names come from the ATT&CK data: G0065's MITRE name is
    // "Leviathan" with "APT40" among its aliases.
    let g = kb().group("G0065").expect("G0065 in the KB");
    assert_eq!(g.name, "Leviathan");
    assert!(g.aliases.iter().any(|a| a == "APT40"));
    let (name, aliases) = g.display_names();
    assert_eq!(name, "APT40");
    assert_eq!(aliases.first().map(String::as_str), Some("Leviathan"));
    assert!(!aliases.contains(&name), "{aliases:?}");
    // Kimsuky keeps its name although ATT&CK lists the partly-overlapping APT43.
    let k = kb().group("G0094").expect("G0094 in the KB");
    assert_eq!(k.display_names().0, k.name);
    // Ranked candidates carry the display name.
    let mut e = CaseEvidence::default();
    e.add_software("S0020");
    e.add_cve("CVE-2021-26084");
    let res = Attribution::rank(kb(), &embedded_profiles(), &e, &RankOptions::default());
    let lead = res
        .candidates
        .iter()
        .find(|c| c.id == "G0065")
        .expect("G0065 ranked");
    assert_eq!(lead.name, "APT40");
}

/// The profile-evidence part of a candidate's learned score (CVE,
/// infrastructure, victims, attributed indicators), in the IDF scorer's
/// units: the values of the `profile_cve_tool_port` and `analyst_profile`
/// contributions.
fn profile_part(c: &kahu_attack::Candidate) -> f64 {
    let part = |name: &str| {
        c.contributions
            .iter()
            .find(|x| x.feature == name)
            .map(|x| x.value)
            .expect("the learned ranker explains the profile evidence")
    };
    part("profile_cve_tool_port") + part("analyst_profile")
}

/// A CVE is profile evidence of the kind whose logit scale is fitted
/// (`Params::fact_logit_scale`): it lands in the `profile_cve_tool_port`
/// contribution, nothing in `analyst_profile`, and changing that scale moves
/// the score by exactly the change times the CVE's weight.
#[test]
fn a_cve_counts_at_the_fact_scale() {
    let profiles = embedded_profiles();
    let p = Params::default();
    let a = Attributor::new(kb(), &profiles, &Exclusions::default(), &p);
    let mut e = CaseEvidence::default();
    // Listed for APT40 alone among the shipped profiles (see
    // `profile_items_shared_between_actors_are_split`).
    e.add_cve("CVE-2021-26084");
    let apt40 = |params: Params| {
        a.rank(
            &e,
            &RankOptions {
                top: 200,
                params,
                ..Default::default()
            },
        )
        .candidates
        .into_iter()
        .find(|c| c.id == "G0065")
        .expect("G0065 ranked")
    };
    let part = |c: &kahu_attack::Candidate, name: &str| {
        c.contributions
            .iter()
            .find(|x| x.feature == name)
            .map(|x| (x.value, x.weight))
            .expect("profile contribution listed")
    };
    let c = apt40(p);
    let (value, weight) = part(&c, "profile_cve_tool_port");
    assert!((value - p.cve_weight).abs() < 1e-9, "{value}");
    assert_eq!(weight, p.fact_logit_scale);
    assert_eq!(part(&c, "analyst_profile").0, 0.0);
    let doubled = apt40(Params {
        fact_logit_scale: 2.0 * p.fact_logit_scale,
        ..p
    });
    assert!(
        // Scores are reported to three decimals.
        (doubled.score - c.score - p.fact_logit_scale * p.cve_weight).abs() < 2e-3,
        "{} → {}",
        c.score,
        doubled.score
    );
}

#[test]
fn learned_contributions_sum_to_the_score() {
    let profiles = embedded_profiles();
    let a = Attributor::new(kb(), &profiles, &Exclusions::default(), &Params::default());
    let mut e = CaseEvidence::default();
    for t in [
        "T1190",
        "T1505.003",
        "T1003.001",
        "T1021.001",
        "T1560.001",
        "T1090.003",
    ] {
        e.add_technique(t);
    }
    e.add_software("S0020");
    e.add_cve("CVE-2021-44228");
    let res = a.rank(
        &e,
        &RankOptions {
            top: 10,
            ..Default::default()
        },
    );
    assert_eq!(res.candidates.len(), 10);
    let w = kahu_attack::ranker::RankerWeights::shipped();
    for c in &res.candidates {
        let names: Vec<&str> = c.contributions.iter().map(|x| x.feature.as_str()).collect();
        // The features, then the profile evidence in two parts (CVEs, tools
        // and ports at the fitted scale; the rest).
        assert_eq!(
            names.len(),
            kahu_attack::ranker::N_FEATURES + 2,
            "{names:?}"
        );
        let sum: f64 = c.contributions.iter().map(|x| x.contribution).sum();
        assert!(
            (sum - c.score).abs() < 1e-3,
            "{}: {sum} vs {}",
            c.id,
            c.score
        );
        for (x, weight) in c.contributions.iter().zip(&w.weights) {
            assert!((x.contribution - x.weight * x.value).abs() < 1e-12);
            assert_eq!(x.weight, *weight, "{}", x.feature);
        }
    }
    // Candidates are listed by the likelihood they are shown with; within
    // one kind of support (here: techniques alone, exact or related) that follows the learned
    // score. The features differ between candidates (a ranker that ignored
    // the evidence would tie them).
    assert!(
        res.candidates
            .windows(2)
            .all(|p| p[0].likelihood >= p[1].likelihood)
    );
    let technique_only: Vec<_> = res
        .candidates
        .iter()
        .filter(|c| {
            c.supporting.iter().all(|i| {
                matches!(
                    i.kind,
                    kahu_attack::EvidenceKind::Technique
                        | kahu_attack::EvidenceKind::RelatedTechnique
                )
            })
        })
        .collect();
    assert!(technique_only.len() > 2);
    assert!(technique_only.windows(2).all(|p| p[0].score >= p[1].score));
    assert!(res.candidates[0].score > res.candidates[9].score);
    // The IDF scorer is still there and explains nothing feature by feature.
    let old = a.rank(
        &e,
        &RankOptions {
            top: 3,
            params: Params {
                learned_ranker: false,
                ..Params::default()
            },
            ..Default::default()
        },
    );
    assert!(old.candidates.iter().all(|c| c.contributions.is_empty()));
}

/// The learned ranker with kahu's safety layers off (thin evidence,
/// technique-only share): what the conditional logit alone says.
fn learned_only() -> RankOptions {
    RankOptions {
        top: 5,
        params: Params {
            full_evidence_items: 0.0,
            techniques_only_weight: 1.0,
            ..Params::default()
        },
        ..Default::default()
    }
}

/// A group's own techniques in ATT&CK (group-level `uses`), most exclusive
/// first (fewest groups using them), then by id.
fn own_techniques(a: &Attributor<'_>, group: &str) -> Vec<String> {
    let mut t: Vec<String> = kb()
        .data()
        .relations
        .iter()
        .filter(|r| r.kind == RelKind::Uses && r.from == group && r.to.starts_with('T'))
        .map(|r| r.to.clone())
        .collect();
    t.sort_by_key(|id| (a.technique_users(id).unwrap_or(u32::MAX), id.clone()));
    t.dedup();
    t
}

#[test]
fn more_evidence_for_the_same_leader_lowers_p_unknown() {
    let a = Attributor::new(kb(), &[], &Exclusions::default(), &Params::default());
    for group in ["G0016", "G0007", "G0032"] {
        let techs = own_techniques(&a, group);
        assert!(techs.len() >= 16, "{group}: {}", techs.len());
        for opts in [learned_only(), RankOptions::default()] {
            let mut last: Option<f64> = None;
            for n in [4, 8, 16] {
                let mut e = CaseEvidence::default();
                techs[..n].iter().for_each(|t| e.add_technique(t));
                let res = a.rank(&e, &opts);
                assert_eq!(
                    res.candidates[0].id, group,
                    "{group} leads on {n} of its techniques"
                );
                // The unknown logit is the sum of its feature contributions.
                let names: Vec<&str> = res
                    .unknown_contributions
                    .iter()
                    .map(|c| c.feature.as_str())
                    .collect();
                assert_eq!(names, ranker::UNKNOWN_FEATURES);
                if let Some(before) = last {
                    assert!(
                        res.likelihood_unknown < before,
                        "{group}: P(unknown) {before} with fewer items, {} with {n}",
                        res.likelihood_unknown
                    );
                }
                last = Some(res.likelihood_unknown);
            }
        }
    }
}

#[test]
fn generic_items_end_unknown_and_unknown_is_then_the_largest() {
    // The ten techniques most groups use (the data decides which).
    let a = Attributor::new(kb(), &[], &Exclusions::default(), &Params::default());
    let mut common: Vec<(u32, String)> = kb()
        .data()
        .techniques
        .iter()
        .map(|t| (a.technique_users(&t.id).unwrap_or(0), t.id.clone()))
        .collect();
    common.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
    let mut e = CaseEvidence::default();
    common[..10].iter().for_each(|(_, t)| e.add_technique(t));
    assert!(common[9].0 >= 40, "{common:?}");
    for opts in [learned_only(), RankOptions::default()] {
        let res = a.rank(&e, &opts);
        assert_eq!(
            res.outcome,
            Outcome::UnknownCluster,
            "{:?}",
            res.candidates[0]
        );
        // "Unknown" is shown as the outcome, so it is the most likely answer.
        assert!(
            res.candidates
                .iter()
                .all(|c| c.likelihood < res.likelihood_unknown),
            "P(unknown) {} vs leader {} {}",
            res.likelihood_unknown,
            res.candidates[0].id,
            res.candidates[0].likelihood
        );
    }
}
