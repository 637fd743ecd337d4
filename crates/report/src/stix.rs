//! A STIX 2.1 bundle of the assessment, for partners (OpenCTI, MISP…).
//!
//! What goes in: the producer's `identity`, the victim `identity`, an
//! `indicator` per detection rule that fired (`pattern_type: sigma`) and per
//! IOC that matched (`pattern_type: stix`), a `sighting` of each with the
//! `observed-data` behind it, the `attack-pattern`s observed, a `campaign`
//! standing for the intrusion that `uses` them, the candidate
//! `intrusion-set`s with `attributed-to` relationships carrying the
//! confidence (0–100, by the DNI scale of STIX 2.1 Appendix A), and a
//! `report` that refers to all of it.
//!
//! Identifiers are deterministic (UUIDv5): SCOs by the specification's
//! ID-contributing properties and namespace, SDOs from a kahu namespace and
//! their defining content, so two runs over the same evidence produce the
//! same bundle and partners can de-duplicate.

use chrono::{DateTime, Utc};
use kahu_finding::Tlp;
use kahu_finding::tlp::TLP2_EXTENSION_ID;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The STIX 2.1 namespace for SCO identifiers (specification §2.9).
const SCO_NAMESPACE: Uuid = Uuid::from_bytes([
    0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7,
]);
/// kahu's own namespace for SDO/SRO identifiers.
const KAHU_NAMESPACE: Uuid = Uuid::from_bytes([
    0x6b, 0x61, 0x68, 0x75, 0x2d, 0x73, 0x74, 0x69, 0x78, 0x2d, 0x6e, 0x73, 0x2d, 0x76, 0x31, 0x00,
]);

/// An observable value attached to a sighting.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Observable {
    /// An IPv4 address.
    Ipv4(String),
    /// An IPv6 address.
    Ipv6(String),
    /// A domain name.
    Domain(String),
    /// A URL.
    Url(String),
    /// A user account (login name).
    Account(String),
    /// A file by name and optional SHA-256.
    File {
        /// File name (no directory).
        name: String,
        /// SHA-256, lower-case hex.
        sha256: Option<String>,
    },
}

/// A detection rule that fired.
#[derive(Debug, Clone)]
pub struct RuleIndicator {
    /// Sigma rule id.
    pub rule_id: String,
    /// Rule title.
    pub title: String,
    /// Rule description, if any.
    pub description: Option<String>,
    /// The rule's Sigma YAML (the indicator's pattern).
    pub pattern: String,
    /// `sigma` for rules, `stix` for IOC patterns.
    pub pattern_type: &'static str,
    /// ATT&CK techniques the rule names.
    pub techniques: Vec<String>,
    /// Validity start; defaults to the first sighting.
    pub valid_from: Option<DateTime<Utc>>,
}

/// Repeated detections of one rule, summarised.
#[derive(Debug, Clone)]
pub struct Sighting {
    /// The rule or indicator that fired (matches [`RuleIndicator::rule_id`]).
    pub rule_id: String,
    /// First detection.
    pub first_seen: DateTime<Utc>,
    /// Last detection.
    pub last_seen: DateTime<Utc>,
    /// Number of detections.
    pub count: u64,
    /// Values seen in the detected events.
    pub observables: Vec<Observable>,
}

/// A candidate threat actor.
#[derive(Debug, Clone)]
pub struct CandidateActor {
    /// ATT&CK group id (`G0065`).
    pub group_id: String,
    /// Group name.
    pub name: String,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Likelihood in ICD 203 words.
    pub likelihood: String,
    /// Analytic confidence (low/moderate/high).
    pub confidence: String,
    /// The numeric probability behind the likelihood words (0–1).
    pub probability: f64,
}

/// Everything the bundle is built from.
#[derive(Debug, Clone)]
pub struct BundleInput {
    /// Who produced the assessment (the CERT).
    pub producer: String,
    /// The affected organisation, if it may be named.
    pub victim: Option<String>,
    /// Case name (report and campaign titles).
    pub case_name: String,
    /// Summary text for the report.
    pub summary: String,
    /// Production time.
    pub created: DateTime<Utc>,
    /// Rules and IOCs that fired.
    pub indicators: Vec<RuleIndicator>,
    /// Their sightings.
    pub sightings: Vec<Sighting>,
    /// Observed ATT&CK techniques: (id, name, tactic short names), all in
    /// the run's one ATT&CK release (`Assessment::attack`).
    pub techniques: Vec<(String, String, Vec<String>)>,
    /// Candidate actors, most likely first.
    pub candidates: Vec<CandidateActor>,
    /// Whether the assessment names the first candidate as the actor.
    /// Only then is there an `attributed-to` relationship (to that one
    /// actor): consumers draw every such relationship as an edge, so a
    /// hypothesis the assessment rejects must not be one. Otherwise, and
    /// for the other candidates, the hypotheses are written in text.
    pub attributed: bool,
    /// First and last activity of the intrusion.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last activity.
    pub last_seen: Option<DateTime<Utc>>,
    /// TLP of the product (`TLP:CLEAR`, `TLP:AMBER+STRICT`…): every object
    /// is marked with it. `None`: unmarked.
    pub tlp: Option<Tlp>,
    /// Indicators left out because their source's TLP is stricter than the
    /// product's (said in the report object, so the recipient knows).
    pub withheld: usize,
}

/// The marking definition for a product TLP. CLEAR, GREEN, AMBER and
/// RED use STIX 2.1 §7.2.1.4's predefined TLP 1.0 definitions (CLEAR is
/// WHITE), which every STIX consumer knows; AMBER+STRICT has no TLP 1.0
/// equivalent, so it is the official TLP 2.0 definition (id, timestamp and
/// extension as OASIS publishes them). The flag is `true` for AMBER+STRICT,
/// whose restriction the report also states in words for TLP 1.0 readers.
fn tlp_marking(tlp: Tlp) -> (Value, bool) {
    let (id, name, tlp) = match tlp {
        Tlp::Clear => ("613f2e26-407d-48c7-9eca-b8e91df99dc9", "TLP:WHITE", "white"),
        Tlp::Green => ("34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN", "green"),
        Tlp::Amber => ("f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER", "amber"),
        Tlp::AmberStrict => {
            return (
                json!({
                    "type": "marking-definition", "spec_version": "2.1",
                    "id": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
                    "created": "2022-10-01T00:00:00.000Z",
                    "name": "TLP:AMBER+STRICT",
                    "extensions": {
                        TLP2_EXTENSION_ID: {
                            "extension_type": "property-extension",
                            "tlp_2_0": "amber+strict"
                        }
                    }
                }),
                true,
            );
        }
        Tlp::Red => ("5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED", "red"),
    };
    (
        json!({
            "type": "marking-definition", "spec_version": "2.1",
            "id": format!("marking-definition--{id}"),
            "created": "2017-01-20T00:00:00.000Z",
            "definition_type": "tlp", "name": name, "definition": {"tlp": tlp}
        }),
        false,
    )
}

/// STIX confidence (0–100) for ICD 203 likelihood words, by the DNI scale
/// of STIX 2.1 Appendix A (“Almost No Chance / Remote” → 5 … “Almost
/// Certain / Nearly Certain” → 95). Unknown words map to `None`.
pub fn dni_confidence(likelihood: &str) -> Option<u8> {
    let l = likelihood
        .trim()
        .to_ascii_lowercase()
        .replace(['-', '_'], " ");
    Some(match l.as_str() {
        "almost no chance" | "remote" => 5,
        "very unlikely" | "highly improbable" => 15,
        "unlikely" | "improbable" => 30,
        "roughly even chance" | "roughly even odds" | "even chance" => 50,
        "likely" | "probable" => 70,
        "very likely" | "highly probable" => 85,
        "almost certain" | "nearly certain" => 95,
        _ => return None,
    })
}

/// STIX timestamp with millisecond precision, as the specification requires.
pub fn stix_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn sdo_id(kind: &str, key: &str) -> String {
    format!(
        "{kind}--{}",
        Uuid::new_v5(&KAHU_NAMESPACE, format!("{kind}|{key}").as_bytes())
    )
}

/// SCO id per STIX 2.1 §2.9: UUIDv5 over the canonical JSON of the
/// ID-contributing properties.
fn sco_id(kind: &str, contributing: &Value) -> String {
    let canonical = canonical_json(contributing);
    format!(
        "{kind}--{}",
        Uuid::new_v5(&SCO_NAMESPACE, canonical.as_bytes())
    )
}

/// JSON with object keys sorted (RFC 8785 for the string/object values we use).
fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            let parts: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical_json(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical_json).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

fn sco(o: &Observable) -> Value {
    match o {
        Observable::Ipv4(v) => {
            json!({"type": "ipv4-addr", "spec_version": "2.1", "id": sco_id("ipv4-addr", &json!({"value": v})), "value": v})
        }
        Observable::Ipv6(v) => {
            json!({"type": "ipv6-addr", "spec_version": "2.1", "id": sco_id("ipv6-addr", &json!({"value": v})), "value": v})
        }
        Observable::Domain(v) => {
            json!({"type": "domain-name", "spec_version": "2.1", "id": sco_id("domain-name", &json!({"value": v})), "value": v})
        }
        Observable::Url(v) => {
            json!({"type": "url", "spec_version": "2.1", "id": sco_id("url", &json!({"value": v})), "value": v})
        }
        Observable::Account(v) => json!({
            "type": "user-account", "spec_version": "2.1",
            "id": sco_id("user-account", &json!({"account_login": v})),
            "account_login": v
        }),
        Observable::File { name, sha256 } => {
            let mut contributing = Map::new();
            let mut obj = Map::new();
            if let Some(h) = sha256 {
                contributing.insert("hashes".into(), json!({"SHA-256": h}));
                obj.insert("hashes".into(), json!({"SHA-256": h}));
            }
            contributing.insert("name".into(), json!(name));
            obj.insert("type".into(), json!("file"));
            obj.insert("spec_version".into(), json!("2.1"));
            obj.insert(
                "id".into(),
                json!(sco_id("file", &Value::Object(contributing))),
            );
            obj.insert("name".into(), json!(name));
            Value::Object(obj)
        }
    }
}

fn attack_ref(id: &str) -> Value {
    let url = if id.starts_with('T') {
        format!(
            "https://attack.mitre.org/techniques/{}",
            id.replace('.', "/")
        )
    } else {
        format!("https://attack.mitre.org/groups/{id}")
    };
    json!([{"source_name": "mitre-attack", "external_id": id, "url": url}])
}

/// The bundle under construction: objects in emission order, each id once.
struct BundleBuilder {
    /// `created`/`modified` of every object: the run's time.
    now: String,
    producer_id: String,
    objects: Vec<Value>,
    /// Ids already emitted, in order; they become the report's `object_refs`.
    refs: Vec<String>,
}

impl BundleBuilder {
    /// Adds an object unless one with its id is already in the bundle.
    fn push(&mut self, v: Value) {
        if let Some(id) = v["id"].as_str()
            && !self.refs.iter().any(|r| r == id)
        {
            self.refs.push(id.to_string());
            self.objects.push(v);
        }
    }

    /// Stamps the properties every object the producer creates carries.
    fn common(&self, v: &mut Value) {
        v["spec_version"] = json!("2.1");
        v["created"] = json!(self.now);
        v["modified"] = json!(self.now);
        v["created_by_ref"] = json!(self.producer_id);
    }

    /// [`common`](Self::common) then [`push`](Self::push).
    fn add(&mut self, mut v: Value) {
        self.common(&mut v);
        self.push(v);
    }

    /// A relationship object whose id derives from its two ends.
    fn relate(&mut self, source: &str, kind: &str, target: &str) {
        self.add(json!({
            "type": "relationship", "id": sdo_id("relationship", &format!("{source}|{kind}|{target}")),
            "relationship_type": kind, "source_ref": source, "target_ref": target
        }));
    }
}

/// Build the bundle.
pub fn build_bundle(input: &BundleInput) -> Value {
    let now = stix_time(&input.created);
    let producer_id = sdo_id("identity", &format!("producer|{}", input.producer));
    let mut b = BundleBuilder {
        now,
        producer_id,
        objects: Vec::new(),
        refs: Vec::new(),
    };
    let victim_id = add_identities(&mut b, input);
    let campaign_id = add_campaign(&mut b, input);
    let technique_ids = add_attack_patterns(&mut b, input, &campaign_id);
    let indicator_ids = add_indicators(&mut b, input, &campaign_id, &technique_ids);
    add_sightings(&mut b, input, &indicator_ids, victim_id.as_deref());
    add_attribution(&mut b, input, &campaign_id);
    let report_id = add_report_and_marking(&mut b, input);
    json!({
        "type": "bundle",
        "id": format!("bundle--{}", Uuid::new_v5(&KAHU_NAMESPACE, report_id.as_bytes())),
        "objects": b.objects,
    })
}

/// The producer's identity and, when named, the victim's; returns the
/// victim's id.
fn add_identities(b: &mut BundleBuilder, input: &BundleInput) -> Option<String> {
    // The producer's identity is its own creator: no `created_by_ref`.
    b.push(json!({
        "type": "identity", "spec_version": "2.1", "id": b.producer_id,
        "created": b.now, "modified": b.now,
        "name": input.producer, "identity_class": "organization",
        "description": "Producer of this compromise assessment (generated by kahu)."
    }));
    input.victim.as_ref().map(|v| {
        let id = sdo_id("identity", &format!("victim|{v}"));
        b.add(json!({"type": "identity", "id": id, "name": v, "identity_class": "organization"}));
        id
    })
}

/// The campaign standing for this intrusion; returns its id.
fn add_campaign(b: &mut BundleBuilder, input: &BundleInput) -> String {
    let campaign_id = sdo_id(
        "campaign",
        &format!("{}|{}", input.producer, input.case_name),
    );
    let mut campaign = json!({
        "type": "campaign", "id": campaign_id,
        "name": format!("Intrusion: {}", input.case_name),
        "description": input.summary,
    });
    if let Some(f) = input.first_seen {
        campaign["first_seen"] = json!(stix_time(&f));
    }
    if let Some(l) = input.last_seen {
        campaign["last_seen"] = json!(stix_time(&l));
    }
    b.add(campaign);
    campaign_id
}

/// One attack-pattern per technique, each used by the campaign; returns
/// technique id → attack-pattern id.
fn add_attack_patterns(
    b: &mut BundleBuilder,
    input: &BundleInput,
    campaign_id: &str,
) -> BTreeMap<String, String> {
    let mut technique_ids = BTreeMap::new();
    for (tid, name, tactics) in &input.techniques {
        let id = sdo_id("attack-pattern", tid);
        let mut ap = json!({"type": "attack-pattern", "id": id, "name": if name.is_empty() { tid.as_str() } else { name.as_str() }, "external_references": attack_ref(tid)});
        // ATT&CK's own form: one phase per tactic, kill chain `mitre-attack`.
        if !tactics.is_empty() {
            ap["kill_chain_phases"] = tactics
                .iter()
                .map(|t| json!({"kill_chain_name": "mitre-attack", "phase_name": t}))
                .collect();
        }
        b.add(ap);
        b.relate(campaign_id, "uses", &id);
        technique_ids.insert(tid.clone(), id);
    }
    technique_ids
}

/// One indicator per rule, indicating its techniques and the campaign;
/// returns rule id → indicator id.
fn add_indicators(
    b: &mut BundleBuilder,
    input: &BundleInput,
    campaign_id: &str,
    technique_ids: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    // An indicator without its own validity start is valid from its first
    // sighting, which is when the evidence shows it was first useful.
    let first_sighting: BTreeMap<&str, DateTime<Utc>> =
        input.sightings.iter().fold(BTreeMap::new(), |mut m, s| {
            let e = m.entry(s.rule_id.as_str()).or_insert(s.first_seen);
            if s.first_seen < *e {
                *e = s.first_seen;
            }
            m
        });
    let mut indicator_ids = BTreeMap::new();
    for ind in &input.indicators {
        let id = sdo_id(
            "indicator",
            &format!("{}|{}", ind.pattern_type, ind.rule_id),
        );
        let valid_from = ind
            .valid_from
            .or_else(|| first_sighting.get(ind.rule_id.as_str()).copied())
            .unwrap_or(input.created);
        let mut o = json!({
            "type": "indicator", "id": id, "name": ind.title,
            "indicator_types": ["malicious-activity"],
            "pattern": ind.pattern, "pattern_type": ind.pattern_type,
            "valid_from": stix_time(&valid_from),
        });
        if let Some(d) = &ind.description {
            o["description"] = json!(d);
        }
        if ind.pattern_type == "sigma" {
            o["external_references"] =
                json!([{"source_name": "sigma", "external_id": ind.rule_id}]);
        }
        b.add(o);
        for t in &ind.techniques {
            if let Some(ap) = technique_ids.get(t) {
                b.relate(&id, "indicates", ap);
            }
        }
        b.relate(&id, "indicates", campaign_id);
        indicator_ids.insert(ind.rule_id.clone(), id);
    }
    indicator_ids
}

/// Sightings of the indicators, each with observed-data over its
/// observables when it has any.
fn add_sightings(
    b: &mut BundleBuilder,
    input: &BundleInput,
    indicator_ids: &BTreeMap<String, String>,
    victim_id: Option<&str>,
) {
    for s in &input.sightings {
        let Some(ind_id) = indicator_ids.get(&s.rule_id) else {
            continue;
        };
        let mut observed_refs = Vec::new();
        if !s.observables.is_empty() {
            observed_refs.push(add_observed_data(b, s));
        }
        let mut sighting = json!({
            "type": "sighting",
            "id": sdo_id("sighting", &format!("{ind_id}|{}|{}", stix_time(&s.first_seen), observed_refs.join(","))),
            "sighting_of_ref": ind_id,
            "first_seen": stix_time(&s.first_seen),
            "last_seen": stix_time(&s.last_seen),
            "count": s.count.min(999_999_999),
        });
        if !observed_refs.is_empty() {
            sighting["observed_data_refs"] = json!(observed_refs);
        }
        if let Some(v) = victim_id {
            sighting["where_sighted_refs"] = json!([v]);
        }
        b.add(sighting);
    }
}

/// The sighting's observables as SCOs and one observed-data over them;
/// returns the observed-data id.
fn add_observed_data(b: &mut BundleBuilder, s: &Sighting) -> String {
    let mut sco_refs = Vec::new();
    for o in &s.observables {
        let v = sco(o);
        sco_refs.push(v["id"].as_str().unwrap_or_default().to_string());
        b.push(v);
    }
    sco_refs.sort();
    sco_refs.dedup();
    let od_id = sdo_id(
        "observed-data",
        &format!(
            "{}|{}|{}",
            s.rule_id,
            stix_time(&s.first_seen),
            sco_refs.join(",")
        ),
    );
    b.add(json!({
        "type": "observed-data", "id": od_id,
        "first_observed": stix_time(&s.first_seen),
        "last_observed": stix_time(&s.last_seen),
        "number_observed": s.count.clamp(1, 999_999_999),
        "object_refs": sco_refs,
    }));
    od_id
}

/// The attributed actor: an intrusion-set and an attributed-to
/// relationship carrying its likelihood, the other hypotheses named in its
/// description.
fn add_attribution(b: &mut BundleBuilder, input: &BundleInput, campaign_id: &str) {
    if !input.attributed {
        return;
    }
    if let Some(c) = input.candidates.first() {
        let is_id = sdo_id("intrusion-set", &c.group_id);
        let mut o = json!({
            "type": "intrusion-set", "id": is_id, "name": c.name,
            "external_references": attack_ref(&c.group_id),
        });
        if !c.aliases.is_empty() {
            o["aliases"] = json!(c.aliases);
        }
        b.add(o);
        let confidence = dni_confidence(&c.likelihood)
            .unwrap_or_else(|| (c.probability * 100.0).round().clamp(0.0, 100.0) as u8);
        b.add(json!({
            "type": "relationship",
            "id": sdo_id("relationship", &format!("{campaign_id}|attributed-to|{is_id}")),
            "relationship_type": "attributed-to", "source_ref": campaign_id, "target_ref": is_id,
            "confidence": confidence,
            "description": format!(
                "{} that this intrusion was conducted by {} ({}); analytic confidence in this judgement: {}.{}",
                estimate(c),
                c.name,
                c.group_id,
                c.confidence,
                alternatives(&input.candidates[1..], " Other hypotheses considered")
            ),
        }));
    }
}

/// "It is likely (70%)", "There is almost no chance (<1%)": the estimative
/// words as the start of a sentence.
fn estimate(c: &CandidateActor) -> String {
    let pct = percent(c.probability);
    let lead = match c.likelihood.as_str() {
        "almost no chance" | "roughly even chance" | "remote" => "There is",
        _ => "It is",
    };
    let article = if c.likelihood == "roughly even chance" {
        "a "
    } else {
        ""
    };
    format!("{lead} {article}{} ({pct})", c.likelihood)
}

/// A probability as a whole percentage; under half a percent but not zero
/// is "<1%", not a flat "0%".
fn percent(p: f64) -> String {
    let p = p * 100.0;
    if p > 0.0 && p < 0.5 {
        "<1%".to_string()
    } else {
        format!("{p:.0}%")
    }
}

/// `"{intro}: X (G…), unlikely (30%); …."`, or nothing for no candidates.
fn alternatives(cs: &[CandidateActor], intro: &str) -> String {
    if cs.is_empty() {
        return String::new();
    }
    let items: Vec<String> = cs
        .iter()
        .map(|c| {
            format!(
                "{} ({}), {} ({})",
                c.name,
                c.group_id,
                c.likelihood,
                percent(c.probability)
            )
        })
        .collect();
    format!("{intro}: {}.", items.join("; "))
}

/// The report over every other object, then the TLP marking applied to all
/// objects; returns the report's id.
fn add_report_and_marking(b: &mut BundleBuilder, input: &BundleInput) -> String {
    let report_id = sdo_id(
        "report",
        &format!("{}|{}|{}", input.producer, input.case_name, b.now),
    );
    let mut refs: Vec<String> = b
        .refs
        .iter()
        .filter(|r| !r.starts_with("identity--") || **r != b.producer_id)
        .cloned()
        .collect();
    if refs.is_empty() {
        refs.push(b.producer_id.clone());
    }
    let marking = input.tlp.map(tlp_marking);
    let mut description = input.summary.clone();
    if marking.as_ref().is_some_and(|(_, strict)| *strict) {
        description.push_str(" Shared as TLP:AMBER+STRICT: the recipient's organisation only.");
    }
    if !input.attributed {
        description.push_str(&alternatives(
            &input.candidates,
            " No actor is attributed; hypotheses considered",
        ));
    }
    if input.withheld > 0 {
        description.push_str(&format!(
            " {} indicator(s) received under a stricter TLP than this bundle's were withheld.",
            input.withheld
        ));
    }
    let mut report = json!({
        "type": "report", "id": report_id,
        "name": format!("Compromise assessment: {}", input.case_name),
        "description": description,
        "report_types": ["threat-report", "campaign", "attack-pattern", "indicator", "observed-data"],
        "published": b.now,
        "object_refs": refs,
    });
    b.common(&mut report);
    // The report is appended even if its id repeats: it must always be there.
    b.objects.push(report);
    if let Some((def, _)) = marking {
        let id = def["id"].clone();
        for o in &mut b.objects {
            o["object_marking_refs"] = json!([id.clone()]);
        }
        b.objects.insert(0, def);
    }
    report_id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amber_strict_is_marked_with_the_tlp2_definition() {
        let (def, strict) = tlp_marking(Tlp::AmberStrict);
        assert!(strict);
        assert_eq!(
            def["id"],
            "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
        );
        assert_eq!(
            def["extensions"][TLP2_EXTENSION_ID]["tlp_2_0"],
            "amber+strict"
        );
        assert!(def.get("definition").is_none(), "not TLP 1.0 AMBER");
        let (amber, _) = tlp_marking(Tlp::Amber);
        assert_ne!(amber["id"], def["id"]);
    }

    #[test]
    fn dni_scale_matches_stix_appendix() {
        assert_eq!(dni_confidence("almost no chance"), Some(5));
        assert_eq!(dni_confidence("Very likely"), Some(85));
        assert_eq!(dni_confidence("almost-certain"), Some(95));
        assert_eq!(dni_confidence("roughly even chance"), Some(50));
        assert_eq!(dni_confidence("perhaps"), None);
    }

    #[test]
    fn sco_ids_follow_the_specification() {
        // Example from STIX 2.1 §2.9 style: ipv4-addr ids are UUIDv5 of
        // {"value":"..."} in the SCO namespace; recompute independently.
        let v = sco(&Observable::Ipv4("198.51.100.3".into()));
        let expected = Uuid::new_v5(&SCO_NAMESPACE, br#"{"value":"198.51.100.3"}"#);
        assert_eq!(v["id"], json!(format!("ipv4-addr--{expected}")));
    }

    #[test]
    fn bundle_links_sightings_and_attribution() {
        let t = Utc::now();
        let b = build_bundle(&sample_input(t));
        check_sample_bundle(&b);
    }

    fn candidate(id: &str, name: &str, likelihood: &str, p: f64) -> CandidateActor {
        CandidateActor {
            group_id: id.into(),
            name: name.into(),
            aliases: vec![],
            likelihood: likelihood.into(),
            confidence: "high".into(),
            probability: p,
        }
    }

    #[test]
    fn only_the_attributed_actor_gets_an_attributed_to_relationship() {
        // The demo's bundle carried "attributed-to" edges to ToddyCat and
        // Wizard Spider at 0 %; a partner's OpenCTI draws each as a link.
        let t = Utc::now();
        let mut input = sample_input(t);
        input
            .candidates
            .push(candidate("G1022", "ToddyCat", "almost no chance", 0.004));
        input
            .candidates
            .push(candidate("G0102", "Wizard Spider", "almost no chance", 0.0));
        let b = build_bundle(&input);
        let objs = b["objects"].as_array().unwrap();
        let rels: Vec<&Value> = objs
            .iter()
            .filter(|o| o["relationship_type"] == "attributed-to")
            .collect();
        assert_eq!(rels.len(), 1, "{rels:#?}");
        let is = objs.iter().filter(|o| o["type"] == "intrusion-set").count();
        assert_eq!(is, 1);
        let d = rels[0]["description"].as_str().unwrap();
        assert!(
            d.starts_with(
                "It is likely (70%) that this intrusion was conducted by Leviathan (G0065)"
            ),
            "{d}"
        );
        assert!(
            d.contains("Other hypotheses considered: ToddyCat (G1022), almost no chance (<1%); Wizard Spider (G0102), almost no chance (0%)."),
            "{d}"
        );
        // Not attributed (an unknown cluster): no edge at all, the
        // hypotheses in the report's text.
        input.attributed = false;
        let b = build_bundle(&input);
        let objs = b["objects"].as_array().unwrap();
        assert!(
            !objs
                .iter()
                .any(|o| o["relationship_type"] == "attributed-to")
        );
        assert!(!objs.iter().any(|o| o["type"] == "intrusion-set"));
        let report = objs.iter().find(|o| o["type"] == "report").unwrap();
        assert!(
            report["description"]
                .as_str()
                .unwrap()
                .contains("No actor is attributed; hypotheses considered: Leviathan (G0065), likely (70%); ToddyCat"),
            "{}",
            report["description"]
        );
        assert_eq!(
            estimate(&candidate("G1", "X", "roughly even chance", 0.5)),
            "There is a roughly even chance (50%)"
        );
    }

    fn sample_input(t: DateTime<Utc>) -> BundleInput {
        BundleInput {
            producer: "Test CERT".into(),
            victim: Some("Victim".into()),
            case_name: "case".into(),
            summary: "s".into(),
            created: t,
            indicators: vec![RuleIndicator {
                rule_id: "r1".into(),
                title: "Rule".into(),
                description: None,
                pattern: "title: Rule".into(),
                pattern_type: "sigma",
                techniques: vec!["T1190".into()],
                valid_from: None,
            }],
            sightings: vec![Sighting {
                rule_id: "r1".into(),
                first_seen: t,
                last_seen: t,
                count: 2,
                observables: vec![Observable::Ipv4("203.0.113.9".into())],
            }],
            techniques: vec![(
                "T1190".into(),
                "Exploit Public-Facing Application".into(),
                vec!["initial-access".into()],
            )],
            candidates: vec![CandidateActor {
                group_id: "G0065".into(),
                name: "Leviathan".into(),
                aliases: vec!["APT40".into()],
                likelihood: "likely".into(),
                confidence: "moderate".into(),
                probability: 0.7,
            }],
            attributed: true,
            first_seen: Some(t),
            last_seen: Some(t),
            tlp: Some(Tlp::Clear),
            withheld: 2,
        }
    }

    fn check_sample_bundle(b: &Value) {
        let objs = b["objects"].as_array().unwrap();
        // Marked TLP:CLEAR with STIX's TLP:WHITE definition, every object.
        let white = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
        assert_eq!(objs[0]["id"], white);
        assert_eq!(objs[0]["definition"]["tlp"], "white");
        assert!(
            objs[1..]
                .iter()
                .all(|o| o["object_marking_refs"] == json!([white]))
        );
        let report = objs.iter().find(|o| o["type"] == "report").unwrap();
        assert!(
            report["description"]
                .as_str()
                .unwrap()
                .contains("2 indicator(s) received under a stricter TLP")
        );
        let rel = objs
            .iter()
            .find(|o| o["relationship_type"] == "attributed-to")
            .unwrap();
        assert_eq!(rel["confidence"], 70);
        let sighting = objs.iter().find(|o| o["type"] == "sighting").unwrap();
        let ind = objs.iter().find(|o| o["type"] == "indicator").unwrap();
        assert_eq!(sighting["sighting_of_ref"], ind["id"]);
        assert_eq!(ind["pattern_type"], "sigma");
        let report = objs.iter().find(|o| o["type"] == "report").unwrap();
        let refs = report["object_refs"].as_array().unwrap();
        for o in objs.iter().filter(|o| {
            o["type"] != "report"
                && o["type"] != "marking-definition"
                && o["id"] != report["created_by_ref"]
        }) {
            assert!(
                refs.contains(&o["id"]),
                "{} not referenced by the report",
                o["id"]
            );
        }
    }
}
