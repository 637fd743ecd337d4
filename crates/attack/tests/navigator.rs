//! Navigator layers checked against the layer format 4.5 specification
//! (attack-navigator `layers/spec/v4.5/layerformat.md`): required
//! properties, version strings, valid enumerations, `showSubtechniques`
//! only on techniques with sub-techniques, parents present for every
//! sub-technique, tactics the technique belongs to, https links.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_attack::{
    AttackView, Attribution, CaseEvidence, KnowledgeBase, ObservedTechnique, RankOptions,
    case_layer, navigator_layer, techniques_from_layer,
};
use serde_json::Value;

fn kb() -> &'static KnowledgeBase {
    KnowledgeBase::embedded()
}

/// Every rule of the 4.5 spec that a generator can break; returns the
/// violations.
fn violations(l: &Value, kb: &KnowledgeBase) -> Vec<String> {
    let mut bad = Vec::new();
    let s = |v: &Value| v.as_str().map(str::to_string);
    if s(&l["name"]).is_none() {
        bad.push("name missing".into());
    }
    if l["domain"] != "enterprise-attack" {
        bad.push(format!("domain {}", l["domain"]));
    }
    if l["versions"]["layer"] != "4.5" {
        bad.push(format!("layer version {}", l["versions"]["layer"]));
    }
    let nav = s(&l["versions"]["navigator"]).unwrap_or_default();
    let nav_parts: Vec<u32> = nav.split('.').filter_map(|p| p.parse().ok()).collect();
    if nav_parts.len() != 3 || nav_parts < vec![4, 9, 0] {
        bad.push(format!("navigator version {nav} (must be ≥ 4.9.0)"));
    }
    let attack = s(&l["versions"]["attack"]).unwrap_or_default();
    if attack.contains('.') || attack.parse::<u32>().is_err() {
        bad.push(format!("attack version {attack:?} is not a major version"));
    }
    let exp = &l["layout"]["expandedSubtechniques"];
    if !["none", "all", "annotated"].contains(&exp.as_str().unwrap_or("")) {
        bad.push(format!("expandedSubtechniques {exp}"));
    }
    let g = &l["gradient"];
    if g["colors"].as_array().is_none_or(|c| c.len() < 2)
        || g["maxValue"].as_f64() <= g["minValue"].as_f64()
    {
        bad.push(format!("gradient {g}"));
    }
    let techs = l["techniques"].as_array().cloned().unwrap_or_default();
    let ids: Vec<String> = techs.iter().filter_map(|t| s(&t["techniqueID"])).collect();
    let has_subs = |id: &str| {
        kb.data()
            .techniques
            .iter()
            .any(|t| t.id.starts_with(&format!("{id}.")))
    };
    for t in &techs {
        let Some(id) = s(&t["techniqueID"]) else {
            bad.push("technique without techniqueID".into());
            continue;
        };
        let Some(te) = kb.technique(&id) else {
            bad.push(format!("{id} unknown to ATT&CK"));
            continue;
        };
        if t.get("showSubtechniques").is_some() && !has_subs(&id) {
            bad.push(format!(
                "{id}: showSubtechniques on a technique without sub-techniques"
            ));
        }
        if let Some((parent, _)) = id.split_once('.')
            && !ids.iter().any(|i| i == parent)
        {
            bad.push(format!("{id}: parent {parent} missing"));
        }
        if let Some(tac) = s(&t["tactic"])
            && !te.tactics.contains(&tac)
        {
            bad.push(format!("{id}: tactic {tac} not one of {:?}", te.tactics));
        }
        for link in t["links"].as_array().into_iter().flatten() {
            if !s(&link["url"]).is_some_and(|u| u.starts_with("https://"))
                || link["label"].is_null()
            {
                bad.push(format!("{id}: bad link {link}"));
            }
        }
    }
    bad
}

fn observed(ids: &[&str]) -> Vec<ObservedTechnique> {
    ids.iter()
        .map(|id| ObservedTechnique {
            id: id.to_string(),
            count: 2,
            comment: format!("{id} seen"),
        })
        .collect()
}

#[test]
fn case_layer_follows_the_spec_with_parents_expanded() {
    let known = [
        "T1190".to_string(),
        "T1505.003".to_string(),
        "T1003.001".to_string(),
    ];
    let l = case_layer(
        &AttackView::native(kb()),
        "case",
        &observed(&["T1059.001", "T1190", "T1021.002"]),
        Some(("G0065", "APT40", &known)),
    );
    assert_eq!(violations(&l, kb()), Vec::<String>::new());
    let techs = l["techniques"].as_array().unwrap();
    let of =
        |id: &str| -> Vec<&Value> { techs.iter().filter(|t| t["techniqueID"] == id).collect() };
    // Parent of an observed sub-technique: present, expanded, score 0.
    let t1059 = of("T1059");
    assert!(!t1059.is_empty());
    assert!(
        t1059
            .iter()
            .all(|t| t["showSubtechniques"] == true && t["score"] == 0.0)
    );
    // Sub-techniques never carry showSubtechniques.
    assert!(
        of("T1059.001")
            .iter()
            .all(|t| t.get("showSubtechniques").is_none())
    );
    // One object per tactic, each a tactic of the technique.
    let tactics: Vec<&str> = of("T1190")
        .iter()
        .filter_map(|t| t["tactic"].as_str())
        .collect();
    assert_eq!(tactics, kb().technique("T1190").unwrap().tactics);
    // Known but unobserved: a hunting lead, and its parent is added too.
    assert!(!of("T1505.003").is_empty() && !of("T1505").is_empty());
    // Re-import counts only what was observed.
    let mut back = techniques_from_layer(&l).unwrap();
    back.sort();
    assert_eq!(back, vec!["T1021.002", "T1059.001", "T1190"]);
}

#[test]
fn attribute_layer_uses_the_same_writer() {
    let mut e = CaseEvidence::default();
    for t in ["T1190", "T1505.003", "T1059.001"] {
        e.add_technique(t);
    }
    let res = Attribution::rank(kb(), &[], &e, &RankOptions::default());
    let l = navigator_layer(kb(), &e, &res.candidates[0]);
    assert_eq!(violations(&l, kb()), Vec::<String>::new());
    let c = case_layer(
        &AttackView::native(kb()),
        "case",
        &observed(&["T1190"]),
        None,
    );
    assert_eq!(l["versions"], c["versions"]);
    assert_eq!(l["layout"], c["layout"]);
}

#[test]
fn the_checker_catches_what_the_old_writers_did() {
    // The layer kahu wrote before: a sub-technique without its parent,
    // showSubtechniques on it, a dotted ATT&CK version, no layout mode.
    let old = serde_json::json!({
        "name": "old", "domain": "enterprise-attack",
        "versions": {"attack": "18.1", "navigator": "4.9.1", "layer": "4.5"},
        "layout": {"layout": "side"},
        "gradient": {"colors": ["#fff", "#f00"], "minValue": 0, "maxValue": 1},
        "techniques": [{"techniqueID": "T1059.001", "score": 1, "showSubtechniques": true}]
    });
    let v = violations(&old, kb());
    assert!(
        v.iter().any(|x| x.contains("parent T1059 missing")),
        "{v:?}"
    );
    assert!(v.iter().any(|x| x.contains("showSubtechniques")), "{v:?}");
    assert!(v.iter().any(|x| x.contains("attack version")), "{v:?}");
    assert!(
        v.iter().any(|x| x.contains("expandedSubtechniques")),
        "{v:?}"
    );
}
