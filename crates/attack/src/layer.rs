//! The one ATT&CK Navigator layer writer (layer format 4.5): every layer
//! kahu writes — the case layer of `assess`, the case ∩ candidate layer of
//! `attribute --navigator-out` — goes through [`Layer::to_json`], so both
//! carry the same versions, parent techniques, tactics and links.
//!
//! What the format asks (attack-navigator `layers/spec/v4.5/layerformat.md`)
//! and what Navigator does otherwise: a sub-technique whose parent is absent
//! is hidden under a collapsed, unannotated parent; `showSubtechniques` is
//! valid only on a technique that has sub-techniques; a technique object
//! without `tactic` is painted under every tactic it belongs to, so kahu
//! writes one object per (technique, tactic) to keep comments per cell.

use crate::kb::KnowledgeBase;
use crate::view::AttackView;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Navigator version the layers are written for (the newest release whose
/// layer format is 4.5).
pub const NAVIGATOR_VERSION: &str = "5.1.0";
/// Layer format version.
pub const LAYER_FORMAT: &str = "4.5";

/// One annotated technique.
#[derive(Debug, Clone)]
pub struct LayerEntry {
    /// Technique id as observed (`T1059.001`); resolved through the KB.
    pub id: String,
    /// Score (detections, or an explanation strength).
    pub score: f64,
    /// Explicit colour (`#d62728`) or `None` for the gradient's.
    pub color: Option<String>,
    /// Hover text.
    pub comment: String,
    /// Extra name/value pairs shown in the tooltip.
    pub metadata: Vec<(String, String)>,
}

/// A layer before it is written.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Layer name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Annotated techniques; ids unknown to the KB are left out.
    pub entries: Vec<LayerEntry>,
    /// Gradient colours from low to high score.
    pub gradient: Vec<String>,
    /// Gradient maximum (the minimum is 0).
    pub max_score: f64,
    /// Legend (label, colour).
    pub legend: Vec<(String, String)>,
}

/// The ATT&CK page of a technique (`T1059.001` → `…/techniques/T1059/001/`).
pub fn technique_url(id: &str) -> String {
    format!(
        "https://attack.mitre.org/techniques/{}/",
        id.replace('.', "/")
    )
}

impl Layer {
    /// The layer as Navigator JSON, in the knowledge base's own release.
    pub fn to_json(&self, kb: &KnowledgeBase) -> Value {
        self.to_json_in(&AttackView::native(kb))
    }

    /// The layer as Navigator JSON in `view`'s release: its `attack`
    /// version, technique ids and tactic short names are that release's
    /// (a v18.1 knowledge base shown in v19 writes `T1685` under
    /// `defense-impairment`, never `T1562.001` under `defense-evasion`).
    pub fn to_json_in(&self, view: &AttackView<'_>) -> Value {
        let kb = view.kb();
        // Resolve (revoked/deprecated ids, v19 ids), translate to the
        // view's ids and merge duplicates.
        let mut entries: BTreeMap<String, LayerEntry> = BTreeMap::new();
        for e in &self.entries {
            if kb.technique(&kb.resolve(&e.id)).is_none() {
                continue;
            }
            let id = view.technique_id(&e.id);
            entries
                .entry(id.clone())
                .and_modify(|x| {
                    if e.score > x.score {
                        x.score = e.score;
                        x.color = e.color.clone();
                    }
                })
                .or_insert_with(|| LayerEntry { id, ..e.clone() });
        }
        // Parents of annotated sub-techniques, expanded; unannotated
        // parents get score 0 so a re-import does not count them observed.
        let parents: Vec<String> = entries
            .keys()
            .filter_map(|id| id.split_once('.').map(|(p, _)| p.to_string()))
            .collect();
        for p in &parents {
            if view.shown(p).is_none() {
                continue;
            }
            entries.entry(p.clone()).or_insert_with(|| LayerEntry {
                id: p.clone(),
                score: 0.0,
                color: None,
                comment: "parent of annotated sub-technique(s)".into(),
                metadata: Vec::new(),
            });
        }
        let mut techniques = Vec::new();
        for (id, e) in &entries {
            let Some(t) = view.shown(id) else { continue };
            let mut metadata: Vec<Value> = e
                .metadata
                .iter()
                .map(|(n, v)| json!({"name": n, "value": v}))
                .collect();
            if let Some(name) = &t.name {
                metadata.push(json!({"name": "name", "value": name}));
            }
            let mut obj = json!({
                "techniqueID": id,
                "score": e.score,
                "color": e.color.clone().unwrap_or_default(),
                "comment": e.comment,
                "enabled": true,
                "metadata": metadata,
                "links": [{"label": format!("ATT&CK {id}"), "url": technique_url(id)}],
            });
            if parents.contains(id) {
                obj["showSubtechniques"] = json!(true);
            }
            if t.tactics.is_empty() {
                techniques.push(obj);
            } else {
                for tactic in &t.tactics {
                    let mut o = obj.clone();
                    o["tactic"] = json!(tactic.short_name());
                    techniques.push(o);
                }
            }
        }
        let release = if view.is_crosswalked() {
            format!(
                "19 (knowledge base {} mapped with the v18.1→v19 crosswalk)",
                kb.version()
            )
        } else {
            kb.version().to_string()
        };
        json!({
            "name": self.name,
            "versions": {"attack": view.navigator_attack_version(), "navigator": NAVIGATOR_VERSION, "layer": LAYER_FORMAT},
            "domain": "enterprise-attack",
            "description": self.description,
            "sorting": 3,
            "layout": {
                "layout": "side",
                "showID": true,
                "showName": true,
                "expandedSubtechniques": "annotated"
            },
            "hideDisabled": false,
            "techniques": techniques,
            "gradient": {
                "colors": self.gradient,
                "minValue": 0,
                "maxValue": if self.max_score > 0.0 { self.max_score } else { 1.0 }
            },
            "legendItems": self
                .legend
                .iter()
                .map(|(l, c)| json!({"label": l, "color": c}))
                .collect::<Vec<_>>(),
            "metadata": [{"name": "generator", "value": "kahu"}, {"name": "ATT&CK release", "value": release}],
            "links": [{"label": "ATT&CK Enterprise matrix", "url": "https://attack.mitre.org/matrices/enterprise/"}],
            "showTacticRowBackground": false,
            "selectTechniquesAcrossTactics": true,
            "selectSubtechniquesWithParent": false,
        })
    }
}
