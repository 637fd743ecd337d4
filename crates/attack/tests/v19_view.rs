//! A v18.1 knowledge base shown in ATT&CK v19: every technique's v19 id and
//! tactics are the shared crosswalk's (read here from the shared file, not
//! from kahu's generated copy), and a Navigator layer written in v19 uses
//! only v19 ids and tactics.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_attack::{AttackView, KnowledgeBase, ObservedTechnique, case_layer};
use kahu_finding::Tactic;
use serde_json::Value;

fn crosswalk() -> Option<Value> {
    let p = kahu_test_support::shared("attack/attack-v18.1-to-v19-crosswalk.json")?;
    Some(serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json"))
}

#[test]
fn every_defense_evasion_technique_gets_its_v19_tactics_and_id_from_the_crosswalk() {
    let Some(cw) = crosswalk() else { return };
    let kb = KnowledgeBase::embedded();
    let v19 = AttackView::v19(kb);
    let revoked = cw["revoked_by_v18_live"].as_object().expect("revoked map");
    let mut checked = 0;
    for t in &kb.data().techniques {
        if !t.tactics.iter().any(|x| x == "defense-evasion") {
            continue;
        }
        let mut expected: Vec<Tactic> = cw["v19_tactics_of_v18_technique"][&t.id]
            .as_array()
            .unwrap_or_else(|| panic!("{} not in the crosswalk", t.id))
            .iter()
            .map(|x| Tactic::parse(x.as_str().expect("tactic")).expect("known tactic"))
            .collect();
        expected.sort();
        assert_eq!(v19.tactics(&t.id), expected, "{}", t.id);
        assert!(
            !v19.tactics(&t.id).contains(&Tactic::DefenseEvasion),
            "{}",
            t.id
        );
        let id = revoked.get(&t.id).and_then(Value::as_str).unwrap_or(&t.id);
        assert_eq!(v19.technique_id(&t.id), id, "{}", t.id);
        checked += 1;
    }
    // ATT&CK v18.1 has 215 live Defense Evasion techniques and sub-techniques.
    assert!(checked > 200, "{checked}");
}

#[test]
fn a_v19_layer_speaks_v19_only() {
    let Some(cw) = crosswalk() else { return };
    let kb = KnowledgeBase::embedded();
    let observed: Vec<ObservedTechnique> = [
        "T1070.001",
        "T1562.001",
        "T1685.005",
        "T1036.005",
        "T1059.001",
    ]
    .iter()
    .map(|id| ObservedTechnique {
        id: id.to_string(),
        count: 1,
        comment: String::new(),
    })
    .collect();
    let layer = case_layer(&AttackView::v19(kb), "case", &observed, None);
    assert_eq!(layer["versions"]["attack"], "19");
    let revoked = cw["revoked_by_v18_live"].as_object().expect("revoked map");
    let v19_of = |id: &str| -> Vec<String> {
        // The v19 tactics of a v19 id: those of the v18.1 ids that became it
        // (or, for a v19-only parent, its sub-techniques).
        let mut out: Vec<String> = Vec::new();
        for (old, tactics) in cw["v19_tactics_of_v18_technique"].as_object().expect("map") {
            let new = revoked.get(old).and_then(Value::as_str).unwrap_or(old);
            if new == id
                || new.split_once('.').is_some_and(|(p, _)| {
                    p == id
                        && !revoked.values().any(|v| v == id)
                        && cw["v19_tactics_of_v18_technique"].get(id).is_none()
                })
            {
                out.extend(
                    tactics
                        .as_array()
                        .expect("list")
                        .iter()
                        .filter_map(Value::as_str)
                        .map(String::from),
                );
            }
        }
        out
    };
    let mut ids = Vec::new();
    for t in layer["techniques"].as_array().expect("techniques") {
        let id = t["techniqueID"].as_str().expect("id");
        let tactic = t["tactic"]
            .as_str()
            .expect("every technique has a tactic here");
        assert!(!revoked.contains_key(id), "v18.1 id {id} in a v19 layer");
        assert!(
            v19_of(id).iter().any(|x| x == tactic),
            "{id} under {tactic}"
        );
        ids.push(id.to_string());
    }
    for want in ["T1685.005", "T1685", "T1036.005", "T1036", "T1059.001"] {
        assert!(ids.iter().any(|i| i == want), "{want} missing from {ids:?}");
    }
}
