//! ATT&CK Navigator layers (layer format 4.5).

use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One technique of the case.
#[derive(Debug, Clone)]
pub struct LayerTechnique {
    /// Technique id (`T1059.001`).
    pub id: String,
    /// How many (deduplicated) detections carried it.
    pub count: u64,
    /// Text shown on hover (rules, hosts).
    pub comment: String,
}

/// Build a layer of the case's techniques, scored by detection count, with
/// the leading candidate's known techniques overlaid: observed and known
/// ones are highlighted, known but unobserved ones are shown as hunting
/// leads with score 0.
pub fn case_layer(
    name: &str,
    attack_version: &str,
    observed: &[LayerTechnique],
    candidate: Option<(&str, &str, &[String])>,
) -> Value {
    let max = observed.iter().map(|t| t.count).max().unwrap_or(1).max(1);
    let mut techniques: BTreeMap<String, Value> = BTreeMap::new();
    let known: Vec<&String> = candidate.map(|c| c.2.iter().collect()).unwrap_or_default();
    for t in observed {
        let overlap = known.iter().any(|k| **k == t.id);
        let mut comment = t.comment.clone();
        if let (true, Some((gid, gname, _))) = (overlap, candidate) {
            comment.push_str(&format!("\nAlso used by {gname} ({gid})."));
        }
        techniques.insert(
            t.id.clone(),
            json!({
                "techniqueID": t.id,
                "score": t.count,
                "color": if overlap { "#d62728" } else { "" },
                "comment": comment,
                "enabled": true,
                "metadata": [{"name": "detections", "value": t.count.to_string()}],
                "showSubtechniques": true,
            }),
        );
    }
    if let Some((gid, gname, list)) = candidate {
        for id in list {
            techniques.entry(id.clone()).or_insert_with(|| {
                json!({
                    "techniqueID": id,
                    "score": 0,
                    "color": "#9ecae1",
                    "comment": format!("Known for {gname} ({gid}); not observed in this case: hunt for it."),
                    "enabled": true,
                    "metadata": [],
                    "showSubtechniques": false,
                })
            });
        }
    }
    let mut legend =
        vec![json!({"label": "Observed in the case (score = detections)", "color": "#fcbba1"})];
    if let Some((gid, gname, _)) = candidate {
        legend.push(
            json!({"label": format!("Observed and known for {gname} ({gid})"), "color": "#d62728"}),
        );
        legend
            .push(json!({"label": format!("Known for {gname}, not observed"), "color": "#9ecae1"}));
    }
    json!({
        "name": name,
        "versions": {"attack": attack_version, "navigator": "5.1.0", "layer": "4.5"},
        "domain": "enterprise-attack",
        "description": "Techniques observed by kahu in this case, scored by number of detections.",
        "sorting": 3,
        "layout": {"layout": "side", "showID": true, "showName": true},
        "hideDisabled": false,
        "techniques": techniques.into_values().collect::<Vec<_>>(),
        "gradient": {"colors": ["#ffffff", "#fcbba1", "#fb6a4a"], "minValue": 0, "maxValue": max},
        "legendItems": legend,
        "showTacticRowBackground": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_has_required_fields_and_overlay() {
        let l = case_layer(
            "case",
            "18",
            &[LayerTechnique {
                id: "T1190".into(),
                count: 3,
                comment: "x".into(),
            }],
            Some((
                "G0065",
                "Leviathan",
                &["T1190".to_string(), "T1505.003".to_string()],
            )),
        );
        assert_eq!(l["domain"], "enterprise-attack");
        assert_eq!(l["versions"]["layer"], "4.5");
        let t = l["techniques"].as_array().unwrap();
        assert_eq!(t.len(), 2);
        let webshell = t.iter().find(|x| x["techniqueID"] == "T1505.003").unwrap();
        assert_eq!(webshell["score"], 0);
        let exploit = t.iter().find(|x| x["techniqueID"] == "T1190").unwrap();
        assert_eq!(exploit["score"], 3);
        assert_eq!(exploit["color"], "#d62728");
    }
}
