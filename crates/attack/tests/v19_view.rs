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

/// The MISP galaxy's ATT&CK v19 attack-pattern clusters: technique id →
/// its v19 tactic short names and name.
fn misp_v19() -> Option<std::collections::HashMap<String, (Vec<String>, String)>> {
    let p = kahu_test_support::shared("intel/misp-galaxy/mitre-attack-pattern.json")?;
    let v: Value = serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json");
    let mut out = std::collections::HashMap::new();
    for c in v["values"].as_array().expect("values") {
        let Some(id) = c["meta"]["external_id"].as_str() else {
            continue;
        };
        let tactics: Vec<String> = c["meta"]["kill_chain"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k.as_str()?.split_once(':').map(|(_, t)| t.to_string()))
            .collect();
        let name = c["value"].as_str().unwrap_or_default();
        let name = name.rsplit_once(" - ").map_or(name, |(n, _)| n).to_string();
        out.insert(id.to_string(), (tactics, name));
    }
    Some(out)
}

fn sorted_tactics(names: &[String]) -> Vec<Tactic> {
    let mut v: Vec<Tactic> = names
        .iter()
        .map(|t| Tactic::parse(t).unwrap_or_else(|| panic!("unknown tactic {t}")))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn v19_only_techniques_get_their_v19_tactics_and_defense_evasion_in_v18_1() {
    let (Some(cw), Some(misp)) = (crosswalk(), misp_v19()) else {
        return;
    };
    let kb = KnowledgeBase::embedded();
    let v19 = AttackView::v19(kb);
    let v18 = AttackView::native(kb);
    let revoked = cw["revoked_by_v18_live"].as_object().expect("revoked map");
    let mut without_predecessor = Vec::new();
    for id in cw["new_v19_technique_ids"].as_array().expect("new ids") {
        let id = id.as_str().expect("id");
        let (tactics, name) = misp
            .get(id)
            .unwrap_or_else(|| panic!("{id} not in MISP v19"));
        assert!(!tactics.is_empty(), "{id} has tactics in MISP v19");
        // A new id that replaced v18.1 ids is shown under one of them in
        // v18.1; one with no predecessor keeps its own id.
        let olds: Vec<&str> = revoked
            .iter()
            .filter(|(_, n)| n.as_str() == Some(id))
            .map(|(o, _)| o.as_str())
            .collect();
        let shown_v18 = v18.technique_id(id);
        let in_v18: Vec<Tactic> = sorted_tactics(tactics)
            .into_iter()
            .map(|t| {
                if t.is_v19_only() {
                    Tactic::DefenseEvasion
                } else {
                    t
                }
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let has_parent_mapping = olds.is_empty()
            && revoked
                .values()
                .any(|n| n.as_str().is_some_and(|n| n.starts_with(&format!("{id}."))));
        if olds.is_empty() && !has_parent_mapping && kb.technique(&shown_v18).is_none() {
            without_predecessor.push(id.to_string());
            assert_eq!(shown_v18, id, "no v18.1 id for {id}");
            assert_eq!(v19.technique_id(id), id);
            assert_eq!(v19.tactics(id), sorted_tactics(tactics), "{id} in v19");
            assert_eq!(v18.tactics(id), in_v18, "{id} in v18.1");
            assert_eq!(v19.technique_name(id), *name, "{id}");
            assert!(v18.technique_name(id).starts_with(name.as_str()), "{id}");
            let shown = v19.shown(id).unwrap_or_else(|| panic!("{id} shown in v19"));
            assert_eq!(shown.tactics, sorted_tactics(tactics));
            assert_eq!(shown.name.as_deref(), Some(name.as_str()));
        } else if !olds.is_empty() {
            assert!(
                olds.contains(&shown_v18.as_str()),
                "{id} shown in v18.1 as {shown_v18}, not one of {olds:?}"
            );
            assert!(
                v18.technique_name(id).ends_with(&format!("(v19 {id})")),
                "the v19 tag kept in the v18.1 name: {}",
                v18.technique_name(id)
            );
        }
    }
    without_predecessor.sort();
    // What the note's "T1682, T1683.*, T1687, T1027.018" are, per the data.
    for id in [
        "T1027.018",
        "T1682",
        "T1683",
        "T1683.001",
        "T1683.002",
        "T1687",
    ] {
        assert!(
            without_predecessor.iter().any(|x| x == id),
            "{id}: {without_predecessor:?}"
        );
    }
}

#[test]
fn a_release_asked_for_wins_over_the_evidence() {
    use kahu_attack::AttackVersion;
    let Some(cw) = crosswalk() else { return };
    let kb = KnowledgeBase::embedded();
    assert_eq!("auto".parse(), Ok(AttackVersion::Auto));
    assert_eq!("18.1".parse(), Ok(AttackVersion::V18_1));
    assert_eq!("v19".parse(), Ok(AttackVersion::V19));
    assert!("17".parse::<AttackVersion>().is_err());
    let revoked = cw["revoked_by_v18_live"].as_object().expect("revoked map");
    let (old, new) = ("T1070.001", revoked["T1070.001"].as_str().expect("v19 id"));
    // Evidence tagged in v19, shown in v18.1 as asked: the v18.1 id.
    let v18 = AttackView::select_for_ids(kb, AttackVersion::V18_1, [new]).expect("18.1");
    assert!(!v18.is_v19());
    assert_eq!(v18.release(), "18.1");
    assert_eq!(v18.requested(), AttackVersion::V18_1);
    assert_eq!(v18.technique_id(new), old);
    assert_eq!(v18.tactics(new), vec![Tactic::DefenseEvasion]);
    assert!(v18.note().contains("--attack-version"));
    // Evidence tagged in v18.1, shown in v19 as asked: the v19 id.
    let v19 = AttackView::select_for_ids(kb, AttackVersion::V19, [old]).expect("19");
    assert_eq!(v19.release(), "19");
    assert_eq!(v19.technique_id(old), new);
    assert!(v19.technique_name(old).contains(old));
    // Auto follows the evidence.
    assert!(
        AttackView::select_for_ids(kb, AttackVersion::Auto, [new])
            .expect("auto")
            .is_v19()
    );
    assert!(
        !AttackView::select_for_ids(kb, AttackVersion::Auto, [old])
            .expect("auto")
            .is_v19()
    );
}
