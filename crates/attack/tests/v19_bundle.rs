//! One ATT&CK release per run (issue 12 item 4: "a newer bundle given with
//! `--attack` wins"). A small v19-shaped bundle is built here from the
//! shared v18.1 → v19 crosswalk (a technique ATT&CK v19 revoked for a new
//! id, under its v19 tactic, and a group using it), saved under a name that
//! carries no release: kahu must take it for ATT&CK v19, rank on its own
//! ids (a v18.1-tagged finding counts toward the v19 technique), show it
//! natively (never through the crosswalk again) and write Navigator layers
//! in v19. The v18.1 knowledge base shown in v19 writes its
//! case ∩ candidate layer in v19 too.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_attack::{
    AttackVersion, AttackView, Attribution, CaseEvidence, KnowledgeBase, RankOptions,
    navigator_layer, navigator_layer_in,
};
use kahu_finding::Tactic;
use serde_json::{Value, json};

fn crosswalk() -> Option<Value> {
    let p = kahu_test_support::shared("attack/attack-v18.1-to-v19-crosswalk.json")?;
    Some(serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
}

/// The v18.1 technique used here and its v19 id and tactics, read from the
/// shared crosswalk (not from kahu's generated copy of it).
struct Moved {
    v18: &'static str,
    v19: String,
    tactics: Vec<String>,
}

fn moved(cw: &Value) -> Moved {
    let v18 = "T1070.001";
    let v19 = cw["revoked_by_v18_live"][v18].as_str().unwrap().to_string();
    let tactics = cw["v19_tactics_of_v18_technique"][v18]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    Moved { v18, v19, tactics }
}

/// A bundle in ATT&CK v19's shape: the moved technique under its v19 id and
/// tactics (no revocation objects for the v18.1 id), T1059.001 under
/// Execution, G9001 using both, G9002 using T1059.001 only.
fn v19_bundle(m: &Moved) -> Value {
    let ext = |id: &str| {
        json!([{"source_name": "mitre-attack", "external_id": id,
            "url": format!("https://attack.mitre.org/{id}")}])
    };
    let cite = |n: &str| json!([{"source_name": n, "url": format!("https://example.org/{n}")}]);
    let phases = |ts: &[String]| -> Value {
        ts.iter()
            .map(|t| json!({"kill_chain_name": "mitre-attack", "phase_name": t}))
            .collect()
    };
    let uses = |n: u32, from: &str, to: &str, report: &str| {
        json!({"type": "relationship", "id": format!("relationship--00000000-0000-4000-8000-0000000001{n:02}"),
            "relationship_type": "uses", "source_ref": from, "target_ref": to,
            "external_references": cite(report)})
    };
    let (t_moved, t_exec) = (
        "attack-pattern--00000000-0000-4000-8000-000000000001",
        "attack-pattern--00000000-0000-4000-8000-000000000002",
    );
    let (g1, g2) = (
        "intrusion-set--00000000-0000-4000-8000-000000000011",
        "intrusion-set--00000000-0000-4000-8000-000000000012",
    );
    json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [
        {"type": "attack-pattern", "id": t_moved, "name": "Clear Windows Event Logs",
         "external_references": ext(&m.v19), "kill_chain_phases": phases(&m.tactics),
         "x_mitre_platforms": ["Windows"]},
        {"type": "attack-pattern", "id": t_exec, "name": "PowerShell",
         "external_references": ext("T1059.001"),
         "kill_chain_phases": phases(&["execution".to_string()]), "x_mitre_platforms": ["Windows"]},
        {"type": "intrusion-set", "id": g1, "name": "Log Wipers", "aliases": ["Log Wipers"],
         "external_references": ext("G9001")},
        {"type": "intrusion-set", "id": g2, "name": "Script Users", "aliases": ["Script Users"],
         "external_references": ext("G9002")},
        uses(1, g1, t_moved, "r1"),
        uses(2, g1, t_exec, "r1"),
        uses(3, g2, t_exec, "r2"),
    ]})
}

fn load(bundle: &Value) -> KnowledgeBase {
    let dir = tempfile::tempdir().unwrap();
    // No release in the name, as MITRE's download is usually saved.
    let p = dir.path().join("enterprise-attack.json");
    std::fs::write(&p, serde_json::to_vec(bundle).unwrap()).unwrap();
    KnowledgeBase::from_stix_bundle(&p).unwrap()
}

fn evidence(ids: &[&str]) -> CaseEvidence {
    let mut e = CaseEvidence::default();
    ids.iter().for_each(|t| e.add_technique(t));
    e
}

#[test]
fn a_v19_bundle_is_v19_and_ranks_on_its_own_ids() {
    let Some(cw) = crosswalk() else { return };
    let m = moved(&cw);
    assert_eq!(
        (m.v19.as_str(), m.tactics.as_slice()),
        ("T1685.005", &["defense-impairment".to_string()][..])
    );
    let kb = load(&v19_bundle(&m));
    assert_eq!(kb.version(), "19", "release read from the v19 tactics");
    // The v18.1 id the evidence may carry (older SigmaHQ rules) is the
    // bundle's v19 technique: the crosswalk forward, not "unknown".
    assert_eq!(kb.resolve(m.v18), m.v19);
    assert_eq!(kb.resolve(&m.v19), m.v19);

    let by_v18 = Attribution::rank(
        &kb,
        &[],
        &evidence(&[m.v18, "T1059.001"]),
        &RankOptions::default(),
    );
    assert!(
        by_v18.evidence.unknown_ids.is_empty(),
        "{:?}",
        by_v18.evidence.unknown_ids
    );
    assert_eq!(
        by_v18.evidence.remapped,
        vec![(m.v18.to_string(), m.v19.clone())]
    );
    assert_eq!(by_v18.attack_version, "19");
    let lead = &by_v18.candidates[0];
    assert_eq!(
        lead.id, "G9001",
        "the group using the moved technique leads"
    );
    assert!(
        lead.score > by_v18.candidates[1].score,
        "{} vs {}",
        lead.score,
        by_v18.candidates[1].score
    );
    assert!(
        lead.supporting.iter().any(|i| i.id == m.v19),
        "supported by the v19 id"
    );

    // Either release's id ranks alike: one version per run.
    let by_v19 = Attribution::rank(
        &kb,
        &[],
        &evidence(&[&m.v19, "T1059.001"]),
        &RankOptions::default(),
    );
    let scores = |a: &Attribution| {
        a.candidates
            .iter()
            .map(|c| (c.id.clone(), c.score))
            .collect::<Vec<_>>()
    };
    assert_eq!(scores(&by_v18), scores(&by_v19));
}

#[test]
fn a_v19_bundle_is_shown_natively_in_v19() {
    let Some(cw) = crosswalk() else { return };
    let m = moved(&cw);
    let kb = load(&v19_bundle(&m));
    let view = AttackView::select(&kb, AttackVersion::Auto, [], |_| false).unwrap();
    assert!(view.is_v19() && !view.is_crosswalked(), "{view:?}");
    assert_eq!(view.release(), "19");
    assert_eq!(view.technique_id(m.v18), m.v19);
    assert_eq!(view.tactics(m.v18), vec![Tactic::DefenseImpairment]);
    assert!(
        view.technique_name(m.v18).contains("(v18.1 T1070.001)"),
        "{}",
        view.technique_name(m.v18)
    );
    // There is no way back to v18.1 from a v19 knowledge base.
    assert!(AttackView::select(&kb, AttackVersion::V18_1, [], |_| false).is_err());

    let e = evidence(&[m.v18, "T1059.001"]);
    let res = Attribution::rank(&kb, &[], &e, &RankOptions::default());
    let layer = navigator_layer_in(&view, &e, &res.candidates[0]);
    assert_eq!(layer["versions"]["attack"], "19");
    let cells: Vec<(String, String)> = layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["techniqueID"].as_str().unwrap().to_string(),
                t["tactic"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        cells.contains(&(m.v19.clone(), m.tactics[0].clone())),
        "{cells:?}"
    );
    assert!(!cells.iter().any(|(id, _)| id == m.v18), "{cells:?}");
}

#[test]
fn a_named_release_is_kept_and_a_v18_shaped_bundle_is_not_raised() {
    let Some(cw) = crosswalk() else { return };
    let m = moved(&cw);
    let mut b = v19_bundle(&m);
    // The same bundle with the v18.1 id under Defense Evasion: no v19 tactic.
    b["objects"][0]["external_references"][0]["external_id"] = json!(m.v18);
    b["objects"][0]["kill_chain_phases"][0]["phase_name"] = json!("defense-evasion");
    let kb = load(&b);
    assert_eq!(kb.version(), "unknown");
    assert_eq!(
        kb.resolve(&m.v19),
        m.v18,
        "v19 ids map back to a pre-v19 bundle"
    );
}

/// The v18.1 knowledge base with v19-tagged evidence, shown in v19: the
/// case ∩ candidate layer (`attribute --navigator-out`) names ATT&CK 19 and
/// carries only v19 ids and tactics; written natively it is v18.1 with the
/// predecessor's id.
#[test]
fn the_candidate_layer_is_written_in_the_release_shown() {
    let Some(cw) = crosswalk() else { return };
    let m = moved(&cw);
    let kb = KnowledgeBase::embedded();
    let e = evidence(&[&m.v19, "T1059.001", "T1021.002"]);
    let res = Attribution::rank(kb, &[], &e, &RankOptions::default());
    let lead = &res.candidates[0];
    let view = AttackView::select_for_ids(kb, AttackVersion::Auto, [m.v19.as_str()]).unwrap();
    assert!(view.is_crosswalked());
    let ids = |l: &Value| -> Vec<(String, String)> {
        l["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["techniqueID"].as_str().unwrap().to_string(),
                    t["tactic"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let v19 = navigator_layer_in(&view, &e, lead);
    assert_eq!(v19["versions"]["attack"], "19");
    assert!(
        ids(&v19).contains(&(m.v19.clone(), m.tactics[0].clone())),
        "{:?}",
        ids(&v19)
    );
    assert!(
        !ids(&v19)
            .iter()
            .any(|(id, t)| id == m.v18 || t == "defense-evasion"),
        "{:?}",
        ids(&v19)
    );
    let native = navigator_layer(kb, &e, lead);
    assert_eq!(native["versions"]["attack"], "18");
    assert!(ids(&native).contains(&(m.v18.to_string(), "defense-evasion".to_string())));
    // The same colours either way: the match against the candidate's
    // profile uses the knowledge base's ids.
    let scores = |l: &Value| {
        let mut s: Vec<f64> = l["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["score"].as_f64().unwrap())
            .collect();
        s.sort_by(f64::total_cmp);
        s
    };
    assert_eq!(scores(&v19), scores(&native));
}
