//! ATT&CK v19 input shown in v19: a SigmaHQ rule tagged in v19
//! (`attack.defense-impairment`, `attack.t1685.005`) firing on a cleared
//! Security log puts the detection under Defense Impairment in the
//! timeline, the incidents, the report, the Navigator layer and the STIX
//! bundle, with the v19 technique id; the same rule tagged in v18.1 keeps
//! the run in v18.1 (Defense Evasion, T1070.001).
//!
//! Expected tactics and ids are read from the shared ATT&CK v18.1 → v19
//! crosswalk, not from kahu's embedded copy of it.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_assess::{AssessConfig, run};
use kahu_attack::AttackVersion;
use serde_json::Value;
use std::path::{Path, PathBuf};

const RULE: &str = "windows/builtin/security/win_security_audit_log_cleared.yml";
const EVIDENCE: &str = "EVTX-ATTACK-SAMPLES/Defense Evasion/DE_1102_security_log_cleared.evtx";

struct Shared {
    rule: PathBuf,
    evidence: PathBuf,
    crosswalk: Value,
}

fn shared() -> Option<Shared> {
    Some(Shared {
        rule: kahu_test_support::shared(&format!("sigma/rules/{RULE}"))?,
        evidence: kahu_test_support::shared(&format!("evtx/{EVIDENCE}"))?,
        crosswalk: serde_json::from_slice(
            &std::fs::read(kahu_test_support::shared(
                "attack/attack-v18.1-to-v19-crosswalk.json",
            )?)
            .expect("read crosswalk"),
        )
        .expect("crosswalk json"),
    })
}

fn json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).expect("output written")).expect("output json")
}

/// Assess the cleared-log sample with `rule_text` as the only rule.
fn assess(dir: &Path, evidence: &Path, rule_text: &str) -> PathBuf {
    assess_in(dir, evidence, rule_text, AttackVersion::Auto)
}

/// As [`assess`], shown in the release `version` (`--attack-version`).
fn assess_in(dir: &Path, evidence: &Path, rule_text: &str, version: AttackVersion) -> PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(rules.join("rule.yml"), rule_text).expect("write rule");
    let out = dir.join("out");
    let mut cfg = AssessConfig::new(vec![evidence.to_path_buf()], out.clone());
    cfg.rules = vec![rules];
    cfg.no_bundled_rules = true;
    cfg.store_case = false;
    cfg.attack_version = version;
    let r = run(&cfg, &()).expect("assessment");
    assert!(
        r.findings
            .iter()
            .any(|f| &*f.rule_id == "d99b79d2-0a6f-4f46-ad8b-260b6e17f982"),
        "the log-clearing rule fired"
    );
    out
}

/// Layer entries (technique id, tactic).
fn layer_cells(layer: &Value) -> Vec<(String, String)> {
    layer["techniques"]
        .as_array()
        .expect("techniques")
        .iter()
        .map(|t| {
            (
                t["techniqueID"].as_str().unwrap_or_default().to_string(),
                t["tactic"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_v19_tagged_detection_is_shown_under_its_v19_tactic_everywhere() {
    let Some(s) = shared() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let rule_text = std::fs::read_to_string(&s.rule).expect("rule");
    assert!(
        rule_text.contains("attack.defense-impairment") && rule_text.contains("attack.t1685.005")
    );
    let out = assess(dir.path(), &s.evidence, &rule_text);

    // From the crosswalk: T1685.005 replaced T1070.001; its v19 tactics.
    let v19_id = s.crosswalk["revoked_by_v18_live"]["T1070.001"]
        .as_str()
        .expect("T1070.001 revoked in v19");
    assert_eq!(v19_id, "T1685.005");
    let tactics: Vec<&str> = s.crosswalk["v19_tactics_of_v18_technique"]["T1070.001"]
        .as_array()
        .expect("v19 tactics of T1070.001")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(tactics, ["defense-impairment"]);

    let a = json(&out.join("assessment.json"));
    assert_eq!(a["attack"]["version"], "19");
    let tech = a["techniques"]
        .as_array()
        .expect("techniques")
        .iter()
        .find(|t| t["id"] == v19_id)
        .unwrap_or_else(|| panic!("{v19_id} in techniques: {}", a["techniques"]));
    assert_eq!(tech["tactics"], serde_json::json!(tactics));
    assert!(
        tech["name"]
            .as_str()
            .is_some_and(|n| n.contains("T1070.001")),
        "the name ties the v19 id to the knowledge base's: {}",
        tech["name"]
    );
    let phases: Vec<&str> = a["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["phase"].as_str())
        .collect();
    assert!(
        !phases.is_empty() && phases.iter().all(|p| *p == tactics[0]),
        "{phases:?}"
    );
    let incidents = a["incidents"].as_array().expect("incidents");
    assert!(!incidents.is_empty(), "a high detection makes an incident");
    for i in incidents {
        assert_eq!(i["phases"], serde_json::json!(tactics), "{i}");
    }

    let layer = json(&out.join("navigator-layer.json"));
    assert_eq!(layer["versions"]["attack"], "19");
    let cells = layer_cells(&layer);
    assert!(
        cells.contains(&(v19_id.to_string(), tactics[0].to_string())),
        "{cells:?}"
    );
    // Its v19 parent (T1685) is there for Navigator to expand; nothing in
    // v18.1 terms.
    assert!(cells.iter().any(|(id, _)| id == "T1685"), "{cells:?}");
    let revoked = s.crosswalk["revoked_by_v18_live"].as_object().expect("map");
    for (id, tactic) in &cells {
        assert!(!revoked.contains_key(id), "v18.1 id {id} in a v19 layer");
        assert_ne!(tactic, "defense-evasion", "{id}");
    }

    let bundle = json(&out.join("stix-bundle.json"));
    let ap = bundle["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| {
            o["type"] == "attack-pattern" && o["external_references"][0]["external_id"] == v19_id
        })
        .unwrap_or_else(|| panic!("attack-pattern {v19_id}"));
    assert_eq!(
        ap["kill_chain_phases"],
        serde_json::json!([{"kill_chain_name": "mitre-attack", "phase_name": tactics[0]}])
    );

    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(
        html.contains("<h4>Defense Impairment</h4>")
            && html.contains("<title>Defense Impairment: 1 detection</title>"),
        "matrix column and kill-chain box of the v19 tactic"
    );
    assert!(
        !html.contains("<h4>Defense Evasion</h4>") && !html.contains("<title>Defense Evasion:"),
        "no v18.1 tactic column or box in a v19 report"
    );
    assert!(
        // The escaper writes `&` as a numeric reference.
        html.contains("ATT&#38;CK v19") || html.contains("ATT&amp;CK v19"),
        "the report says which release it shows"
    );
}

#[test]
fn the_same_detection_tagged_in_v18_1_stays_in_v18_1() {
    let Some(s) = shared() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let rule_text = std::fs::read_to_string(&s.rule)
        .expect("rule")
        .replace("attack.defense-impairment", "attack.defense-evasion")
        .replace("attack.t1685.005", "attack.t1070.001");
    let out = assess(dir.path(), &s.evidence, &rule_text);
    let a = json(&out.join("assessment.json"));
    assert_eq!(a["attack"]["version"], "18.1");
    let tech = a["techniques"]
        .as_array()
        .expect("techniques")
        .iter()
        .find(|t| t["id"] == "T1070.001")
        .expect("T1070.001");
    assert_eq!(tech["tactics"], serde_json::json!(["defense-evasion"]));
    let layer = json(&out.join("navigator-layer.json"));
    assert_eq!(layer["versions"]["attack"], "18");
    assert!(layer_cells(&layer).contains(&("T1070.001".into(), "defense-evasion".into())));
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(html.contains("<h4>Defense Evasion</h4>") && !html.contains("Defense Impairment"));
}

/// Timeline entries and incidents of the log-clearing rule: (techniques,
/// techniques as tagged) of each.
fn technique_lists(a: &Value) -> Vec<(Value, Value)> {
    let timeline = a["timeline"].as_array().expect("timeline").iter();
    let incidents = a["incidents"].as_array().expect("incidents").iter();
    timeline
        .filter(|e| e["rule_id"] == "d99b79d2-0a6f-4f46-ad8b-260b6e17f982")
        .chain(incidents)
        .map(|e| (e["techniques"].clone(), e["techniques_tagged"].clone()))
        .collect()
}

#[test]
fn a_v19_tagged_detection_shown_in_v18_1_as_asked_gets_its_v18_1_id() {
    let Some(s) = shared() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let rule_text = std::fs::read_to_string(&s.rule).expect("rule");
    let out = assess_in(dir.path(), &s.evidence, &rule_text, AttackVersion::V18_1);
    // From the crosswalk: the v18.1 id that T1685.005 replaced.
    let old = s.crosswalk["revoked_by_v18_live"]
        .as_object()
        .expect("map")
        .iter()
        .find(|(_, v)| *v == "T1685.005")
        .map(|(k, _)| k.clone())
        .expect("a v18.1 predecessor of T1685.005");
    let a = json(&out.join("assessment.json"));
    assert_eq!(a["attack"]["version"], "18.1");
    assert_eq!(a["attack"]["requested"], "18.1");
    let lists = technique_lists(&a);
    assert!(
        lists.len() >= 2,
        "a timeline entry and an incident: {lists:?}"
    );
    for (shown, tagged) in &lists {
        assert_eq!(*shown, serde_json::json!([old]));
        assert_eq!(*tagged, serde_json::json!(["T1685.005"]));
    }
    let tech = a["techniques"]
        .as_array()
        .expect("techniques")
        .iter()
        .find(|t| t["id"] == old.as_str())
        .unwrap_or_else(|| panic!("{old} in techniques: {}", a["techniques"]));
    assert_eq!(tech["tactics"], serde_json::json!(["defense-evasion"]));
    assert!(
        tech["name"]
            .as_str()
            .is_some_and(|n| n.contains("T1685.005"))
    );
    let phases: Vec<&str> = a["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["phase"].as_str())
        .collect();
    assert!(phases.iter().all(|p| *p == "defense-evasion"), "{phases:?}");
    let layer = json(&out.join("navigator-layer.json"));
    assert_eq!(layer["versions"]["attack"], "18");
}

#[test]
fn a_v18_1_tagged_detection_shown_in_v19_as_asked_gets_its_v19_id() {
    let Some(s) = shared() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let rule_text = std::fs::read_to_string(&s.rule)
        .expect("rule")
        .replace("attack.defense-impairment", "attack.defense-evasion")
        .replace("attack.t1685.005", "attack.t1070.001");
    let out = assess_in(dir.path(), &s.evidence, &rule_text, AttackVersion::V19);
    let new = s.crosswalk["revoked_by_v18_live"]["T1070.001"]
        .as_str()
        .expect("v19 id of T1070.001");
    let a = json(&out.join("assessment.json"));
    assert_eq!(a["attack"]["version"], "19");
    assert_eq!(a["attack"]["requested"], "19");
    let lists = technique_lists(&a);
    assert!(lists.len() >= 2, "{lists:?}");
    for (shown, tagged) in &lists {
        assert_eq!(*shown, serde_json::json!([new]));
        assert_eq!(*tagged, serde_json::json!(["T1070.001"]));
    }
}

#[test]
fn auto_keeps_ids_as_tagged_when_the_release_matches() {
    let Some(s) = shared() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let rule_text = std::fs::read_to_string(&s.rule).expect("rule");
    let out = assess(dir.path(), &s.evidence, &rule_text);
    let a = json(&out.join("assessment.json"));
    assert_eq!(a["attack"]["requested"], "auto");
    for (shown, tagged) in technique_lists(&a) {
        assert_eq!(shown, serde_json::json!(["T1685.005"]));
        assert!(tagged.is_null(), "no second list when ids are as tagged");
    }
}

/// A v19 bundle given with `--attack` wins (issue 12 item 4): the same
/// detection tagged in v18.1 (`attack.t1070.001`, Defense Evasion),
/// assessed against a small v19-shaped bundle (built from the crosswalk:
/// the v19 technique under its v19 tactic, one group using it) saved as
/// `enterprise-attack.json` with no release in its name, is shown in v19
/// natively and attributed on the bundle's v19 id: T1070.001 is mapped to
/// its v19 successor, not ignored as unknown.
#[test]
fn a_v19_bundle_given_with_attack_wins_over_v18_tags() {
    let Some(s) = shared() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let v19_id = s.crosswalk["revoked_by_v18_live"]["T1070.001"]
        .as_str()
        .expect("T1070.001 revoked in v19");
    let tactic = s.crosswalk["v19_tactics_of_v18_technique"]["T1070.001"][0]
        .as_str()
        .expect("v19 tactic");
    let ext = |id: &str| {
        serde_json::json!([{"source_name": "mitre-attack", "external_id": id,
            "url": format!("https://attack.mitre.org/{id}")}])
    };
    let (t, g) = (
        "attack-pattern--00000000-0000-4000-8000-000000000001",
        "intrusion-set--00000000-0000-4000-8000-000000000011",
    );
    let bundle = serde_json::json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [
        {"type": "attack-pattern", "id": t, "name": "Clear Windows Event Logs", "external_references": ext(v19_id),
         "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": tactic}], "x_mitre_platforms": ["Windows"]},
        {"type": "intrusion-set", "id": g, "name": "Log Wipers", "aliases": ["Log Wipers"], "external_references": ext("G9001")},
        {"type": "relationship", "id": "relationship--00000000-0000-4000-8000-000000000101",
         "relationship_type": "uses", "source_ref": g, "target_ref": t,
         "external_references": [{"source_name": "r1", "url": "https://example.org/r1"}]},
    ]});
    let bundle_path = dir.path().join("enterprise-attack.json");
    std::fs::write(&bundle_path, serde_json::to_vec(&bundle).expect("bundle")).expect("write");
    let rule_text = std::fs::read_to_string(&s.rule)
        .expect("rule")
        .replace("attack.defense-impairment", "attack.defense-evasion")
        .replace("attack.t1685.005", "attack.t1070.001");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    std::fs::write(rules.join("rule.yml"), rule_text).expect("write rule");
    let out = dir.path().join("out");
    let mut cfg = AssessConfig::new(vec![s.evidence.clone()], out.clone());
    cfg.rules = vec![rules];
    cfg.no_bundled_rules = true;
    cfg.store_case = false;
    cfg.attack_bundle = Some(bundle_path);
    run(&cfg, &()).expect("assessment");

    let a = json(&out.join("assessment.json"));
    assert_eq!(a["attack"]["version"], "19", "{}", a["attack"]);
    let phases: Vec<&str> = a["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["phase"].as_str())
        .collect();
    assert!(
        !phases.is_empty() && phases.iter().all(|p| *p == tactic),
        "{phases:?}"
    );
    let attribution = json(&out.join("attribution.json"));
    assert_eq!(attribution["attack_version"], "19");
    assert_eq!(
        attribution["evidence"]["unknown_ids"],
        serde_json::json!([]),
        "the v18.1 tag is the bundle's v19 technique, not unknown"
    );
    assert_eq!(
        attribution["evidence"]["remapped"],
        serde_json::json!([["T1070.001", v19_id]])
    );
    let layer = json(&out.join("navigator-layer.json"));
    assert_eq!(layer["versions"]["attack"], "19");
    let cells = layer_cells(&layer);
    assert!(
        cells.contains(&(v19_id.to_string(), tactic.to_string())),
        "{cells:?}"
    );
    assert!(!cells.iter().any(|(id, _)| id == "T1070.001"), "{cells:?}");
}
