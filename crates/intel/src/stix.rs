//! STIX 2.1 bundles: loading indicators (with their ATT&CK context) and
//! writing an [`IocSet`] back out as a bundle.

use crate::Tlp;
use crate::compile::compile_comparison;
use crate::indicator::{FeedFormat, IdRepr, IndicatorMeta, IocType};
use crate::set::{IntelError, IocSet, IssueKind, LoadIssue, LoadReport};
use crate::software::{push_unique, software_ids_in};
use kahu_event::{Timestamp, parse_timestamp};
use serde::Deserialize;
use serde_json::{Value as J, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[derive(Deserialize)]
struct Bundle {
    #[serde(rename = "type", default)]
    ty: Option<String>,
    #[serde(default)]
    objects: Vec<MaybeObj>,
}

/// Objects are read one at a time; a malformed one is reported and
/// skipped instead of failing the whole bundle.
#[derive(Deserialize)]
#[serde(untagged)]
enum MaybeObj {
    Ok(Box<Obj>),
    Bad(J),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Obj {
    #[serde(rename = "type")]
    ty: String,
    id: String,
    name: Option<String>,
    description: Option<String>,
    pattern: Option<String>,
    pattern_type: Option<String>,
    valid_from: Option<String>,
    valid_until: Option<String>,
    confidence: Option<J>,
    labels: Vec<J>,
    indicator_types: Vec<J>,
    external_references: Vec<ExtRef>,
    relationship_type: Option<String>,
    source_ref: Option<String>,
    target_ref: Option<String>,
    revoked: Option<bool>,
    x_mitre_deprecated: Option<bool>,
    value: Option<J>,
    hashes: Option<BTreeMap<String, String>>,
    x_kahu_detect: Option<bool>,
    object_marking_refs: Vec<String>,
    granular_markings: Vec<GranularMarking>,
    definition_type: Option<String>,
    definition: Option<J>,
    extensions: Option<J>,
}

/// STIX 2.1 §7.2.3: a marking applied to some properties of an object.
/// kahu cannot share half an indicator, so a marking on any property
/// marks the whole indicator.
#[derive(Deserialize, Default)]
#[serde(default)]
struct GranularMarking {
    marking_ref: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExtRef {
    source_name: Option<String>,
    external_id: Option<String>,
}

/// ATT&CK id kind by its first letter.
fn attack_id(s: &str) -> Option<(char, &str)> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[1..5].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let k = b[0].to_ascii_uppercase() as char;
    let ok = match k {
        'T' => {
            b.len() == 5 || (b.len() == 9 && b[5] == b'.' && b[6..].iter().all(u8::is_ascii_digit))
        }
        'S' | 'G' | 'C' => b.len() == 5,
        _ => false,
    };
    ok.then_some((k, s))
}

fn text_list(v: &[J]) -> Vec<Arc<str>> {
    v.iter().filter_map(|x| x.as_str()).map(Arc::from).collect()
}

/// STIX timestamp; the Unix epoch means "unset" (kahu writes it for
/// indicators whose feed had no start of validity).
fn stix_time(s: Option<&str>) -> Result<Option<Timestamp>, String> {
    match s {
        None => Ok(None),
        Some(s) => match parse_timestamp(s) {
            Some(t) if t.timestamp() == 0 => Ok(None),
            Some(t) => Ok(Some(t)),
            None => Err(format!("bad timestamp `{s}`")),
        },
    }
}

/// Load a STIX 2.1 bundle (or a bare array of objects).
pub(crate) fn load_bundle(
    set: &mut IocSet,
    bytes: &[u8],
    source: &str,
) -> Result<LoadReport, IntelError> {
    let bundle: Bundle = match serde_json::from_slice::<Bundle>(bytes) {
        Ok(b) => b,
        Err(e) => match serde_json::from_slice::<Vec<MaybeObj>>(bytes) {
            Ok(objects) => Bundle { ty: None, objects },
            Err(_) => return Err(IntelError::json(source, e)),
        },
    };
    if bundle.ty.as_deref().is_some_and(|t| t != "bundle") {
        return Err(IntelError::Format {
            file: source.into(),
            message: format!(
                "JSON object of type `{}`, expected a STIX bundle",
                bundle.ty.unwrap_or_default()
            ),
        });
    }
    let src: Arc<str> = Arc::from(source);
    let mut report = LoadReport::default();
    let issue = |id: Option<&str>, kind, reason: String| LoadIssue {
        source: src.clone(),
        indicator: id.map(str::to_string),
        line: None,
        kind,
        reason,
    };
    let mut objs = Vec::with_capacity(bundle.objects.len());
    for (i, o) in bundle.objects.into_iter().enumerate() {
        match o {
            MaybeObj::Ok(o) if !o.id.is_empty() && !o.ty.is_empty() => objs.push(*o),
            MaybeObj::Ok(_) => report.issues.push(issue(
                None,
                IssueKind::Invalid,
                format!("object #{i} has no `type` or `id`"),
            )),
            MaybeObj::Bad(v) => {
                let id = v.get("id").and_then(J::as_str).map(str::to_string);
                report.issues.push(issue(
                    id.as_deref(),
                    IssueKind::Invalid,
                    format!("object #{i} is malformed (a property has the wrong JSON type)"),
                ));
            }
        }
    }
    // ATT&CK ids of the objects indicators may point at.
    let mut attack: HashMap<&str, Vec<(char, String)>> = HashMap::new();
    for o in &objs {
        if !matches!(
            o.ty.as_str(),
            "attack-pattern" | "malware" | "tool" | "intrusion-set" | "campaign"
        ) {
            continue;
        }
        let mut ids: Vec<(char, String)> = o
            .external_references
            .iter()
            .filter(|r| {
                r.source_name
                    .as_deref()
                    .is_some_and(|s| s.starts_with("mitre"))
            })
            .filter_map(|r| r.external_id.as_deref())
            .filter_map(attack_id)
            .map(|(k, s)| (k, s.to_ascii_uppercase()))
            .collect();
        if ids.is_empty()
            && matches!(o.ty.as_str(), "malware" | "tool")
            && let Some(n) = &o.name
        {
            ids.extend(software_ids_in(n).into_iter().map(|s| ('S', s.to_string())));
        }
        attack.insert(o.id.as_str(), ids);
    }
    // TLP levels of the marking definitions the bundle carries (well-known
    // ids are also recognised without their definition object).
    let mut markings: HashMap<&str, Tlp> = HashMap::new();
    for o in objs.iter().filter(|o| o.ty == "marking-definition") {
        let from_def = o
            .definition
            .as_ref()
            .and_then(|d| d.get("tlp"))
            .and_then(J::as_str)
            .filter(|_| o.definition_type.as_deref().is_none_or(|t| t == "tlp"))
            .and_then(Tlp::parse);
        let from_extension = o.extensions.as_ref().and_then(Tlp::from_stix_extensions);
        let found = [
            from_def,
            from_extension,
            o.name.as_deref().and_then(Tlp::parse),
        ];
        // A definition that says two levels is read at the stricter one.
        if let Some(t) = found.into_iter().flatten().max() {
            markings.insert(o.id.as_str(), t);
        }
    }
    let mut indicates: HashMap<&str, Vec<&str>> = HashMap::new();
    for o in &objs {
        if o.ty == "relationship"
            && o.relationship_type.as_deref() == Some("indicates")
            && let (Some(s), Some(t)) = (&o.source_ref, &o.target_ref)
        {
            indicates.entry(s.as_str()).or_default().push(t.as_str());
        }
    }
    let mut scos = 0usize;
    for o in &objs {
        if o.revoked == Some(true) || o.x_mitre_deprecated == Some(true) {
            continue;
        }
        match o.ty.as_str() {
            "indicator" => {
                load_indicator(set, o, &src, &attack, &indicates, &markings, &mut report)
            }
            "ipv4-addr" | "ipv6-addr" | "domain-name" | "url" | "email-addr" | "file" => {
                scos += load_sco(set, o, &src);
            }
            _ => {}
        }
    }
    if scos > 0 {
        report.context += scos;
        report.issues.push(issue(
            None,
            IssueKind::Note,
            format!("{scos} bare STIX observables loaded as context (matched only with context matching on)"),
        ));
    }
    Ok(report)
}

fn load_indicator(
    set: &mut IocSet,
    o: &Obj,
    src: &Arc<str>,
    attack: &HashMap<&str, Vec<(char, String)>>,
    indicates: &HashMap<&str, Vec<&str>>,
    markings: &HashMap<&str, Tlp>,
    report: &mut LoadReport,
) {
    let mut issue = |kind, reason: String| {
        report.issues.push(LoadIssue {
            source: src.clone(),
            indicator: Some(o.id.clone()),
            line: None,
            kind,
            reason,
        })
    };
    let pt = o.pattern_type.as_deref().unwrap_or("stix");
    if !pt.eq_ignore_ascii_case("stix") {
        issue(
            IssueKind::Unsupported,
            format!("pattern_type `{pt}` is not evaluated (only `stix`)"),
        );
        return;
    }
    let Some(pattern) = o.pattern.as_deref() else {
        issue(IssueKind::Invalid, "indicator has no pattern".into());
        return;
    };
    let parsed = match crate::pattern::parse(pattern) {
        Ok(p) => p,
        Err(e) => {
            issue(IssueKind::Invalid, format!("pattern error {e}"));
            return;
        }
    };
    let (valid_from, valid_until) = match (
        stix_time(o.valid_from.as_deref()),
        stix_time(o.valid_until.as_deref()),
    ) {
        (Ok(f), Ok(u)) => (f, u),
        (Err(e), _) | (_, Err(e)) => {
            issue(IssueKind::Invalid, e);
            return;
        }
    };
    if let (Some(f), Some(u)) = (valid_from, valid_until)
        && u <= f
    {
        issue(
            IssueKind::Invalid,
            "valid_until is not after valid_from".into(),
        );
        return;
    }
    let mut alternatives = Vec::new();
    let mut dropped = Vec::new();
    for alt in &parsed.alternatives {
        match alt
            .iter()
            .map(compile_comparison)
            .collect::<Result<Vec<_>, _>>()
        {
            // `[ipv4-addr:value != 'X']` holds for every other address:
            // as an indicator it would flag (and block-list) all of them.
            Ok(atoms) if atoms.iter().all(|a| a.negated) => dropped.push(
                "a comparison set of negations only (`!=`, `NOT`) matches almost every observation"
                    .to_string(),
            ),
            Ok(atoms) => alternatives.push(atoms),
            Err(e) => dropped.push(e.to_string()),
        }
    }
    if alternatives.is_empty() {
        dropped.dedup();
        issue(IssueKind::Unsupported, dropped.join("; "));
        return;
    }
    let mut downgrades = parsed.downgrades.clone();
    if !dropped.is_empty() {
        dropped.dedup();
        downgrades.push(format!(
            "alternatives not evaluated: {}",
            dropped.join("; ")
        ));
    }
    let downgrade = (!downgrades.is_empty()).then(|| Arc::<str>::from(downgrades.join("; ")));
    if let Some(d) = &downgrade {
        issue(IssueKind::Downgraded, d.to_string());
    }
    let mut meta = IndicatorMeta {
        source: src.clone(),
        format: Some(FeedFormat::Stix),
        name: o.name.as_deref().map(Arc::from),
        description: o.description.as_deref().map(Arc::from),
        confidence: o
            .confidence
            .as_ref()
            .and_then(J::as_u64)
            .map(|c| c.min(100) as u8),
        valid_from,
        valid_until,
        labels: text_list(&o.labels),
        indicator_types: text_list(&o.indicator_types),
        downgrade,
        tlp: o
            .object_marking_refs
            .iter()
            .chain(
                o.granular_markings
                    .iter()
                    .filter_map(|g| g.marking_ref.as_ref()),
            )
            .filter_map(|m| {
                markings
                    .get(m.as_str())
                    .copied()
                    .or_else(|| Tlp::from_marking_id(m))
            })
            .max(),
        ..Default::default()
    };
    for target in indicates.get(o.id.as_str()).into_iter().flatten() {
        for (k, id) in attack.get(target).into_iter().flatten() {
            let list = match k {
                'T' => &mut meta.techniques,
                'S' => &mut meta.software,
                'G' => &mut meta.groups,
                _ => continue,
            };
            push_unique(list, id);
        }
    }
    crate::software::tag_meta(&mut meta);
    let detect =
        o.x_kahu_detect.unwrap_or(true) && !meta.indicator_types.iter().any(|t| &**t == "benign");
    let single = alternatives.len() == 1 && alternatives[0].len() == 1;
    let (t, value) = match (&alternatives[0][0].test, single) {
        (crate::indicator::Test::Eq(k), true) => (alternatives[0][0].target, k.to_string()),
        (crate::indicator::Test::Cidr(n), true) => (IocType::Cidr, n.to_string()),
        _ => (IocType::Pattern, pattern.to_string()),
    };
    if detect {
        report.loaded += 1;
    } else {
        report.context += 1;
    }
    set.add_compiled(
        IdRepr::Named(Arc::from(o.id.as_str())),
        t,
        value.into(),
        Some(pattern.into()),
        detect,
        Arc::new(meta),
        alternatives,
    );
}

fn load_sco(set: &mut IocSet, o: &Obj, src: &Arc<str>) -> usize {
    let meta = Arc::new(IndicatorMeta {
        source: src.clone(),
        format: Some(FeedFormat::Stix),
        ..Default::default()
    });
    let id = || IdRepr::Named(Arc::from(o.id.as_str()));
    let value = o.value.as_ref().and_then(J::as_str);
    let t = match o.ty.as_str() {
        "ipv4-addr" | "ipv6-addr" => IocType::Ip,
        "domain-name" => IocType::Domain,
        "url" => IocType::Url,
        "email-addr" => IocType::Email,
        _ => {
            let mut n = 0;
            for (alg, h) in o.hashes.iter().flatten() {
                if let Some(a) = crate::normalize::HashAlg::from_name(alg) {
                    n += usize::from(set.add_simple(id(), IocType::Hash(a), h, false, &meta));
                }
            }
            return n;
        }
    };
    value.map_or(0, |v| usize::from(set.add_simple(id(), t, v, false, &meta)))
}

/// STIX string literal with quotes and backslashes escaped.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The STIX pattern for a simple typed value.
pub(crate) fn pattern_for(t: IocType, v: &str) -> String {
    let ip_obj = if v.contains(':') {
        "ipv6-addr"
    } else {
        "ipv4-addr"
    };
    match t {
        IocType::Ip | IocType::Cidr => format!("[{ip_obj}:value = {}]", lit(v)),
        IocType::Domain => format!("[domain-name:value = {}]", lit(v)),
        IocType::Url => format!("[url:value = {}]", lit(v)),
        IocType::UriPath => format!(
            "[url:value LIKE {}]",
            lit(&format!("%{}", v.replace('%', "_")))
        ),
        IocType::Hash(a) => format!("[file:hashes.'{}' = {}]", a.stix_name(), lit(v)),
        IocType::FileName => format!("[file:name = {}]", lit(v)),
        IocType::Email => format!("[email-addr:value = {}]", lit(v)),
        IocType::UserAgent => format!(
            "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = {}]",
            lit(v)
        ),
        IocType::CommandLine => format!("[process:command_line = {}]", lit(v)),
        IocType::RegistryKey => format!("[windows-registry-key:key = {}]", lit(v)),
        IocType::DstPort => format!("[network-traffic:dst_port = {v}]"),
        IocType::SrcPort => format!("[network-traffic:src_port = {v}]"),
        IocType::Asn => format!("[autonomous-system:number = {v}]"),
        IocType::Pattern => v.to_string(),
    }
}

/// A name-based UUID (SHA-256 of the name, version 4 layout) so that
/// exporting the same set twice gives the same ids.
pub(crate) fn stable_uuid(name: &str) -> String {
    let d = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn stix_ts(t: &Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl IocSet {
    /// The whole set as a STIX 2.1 bundle: one `indicator` per indicator
    /// (ids kept when they are STIX ids, otherwise stable name-based
    /// ids), plus `attack-pattern` / `malware` / `intrusion-set` objects
    /// for the ATT&CK ids and `indicates` relationships to them.
    pub fn to_stix_bundle(&self) -> J {
        let now = stix_ts(&chrono::Utc::now());
        let epoch = "1970-01-01T00:00:00.000Z".to_string();
        let mut objects = Vec::with_capacity(self.indicators.len() + 16);
        let mut attack_objs: BTreeMap<String, String> = BTreeMap::new();
        let mut rels = Vec::new();
        for ind in &self.indicators {
            let raw_id = ind.id();
            let id = if raw_id.starts_with("indicator--") {
                raw_id.to_string()
            } else {
                format!(
                    "indicator--{}",
                    stable_uuid(&format!("kahu-indicator:{raw_id}"))
                )
            };
            let m = &ind.meta;
            let created = m.valid_from.as_ref().map_or_else(|| now.clone(), stix_ts);
            let mut o = json!({
                "type": "indicator",
                "spec_version": "2.1",
                "id": id,
                "created": created,
                "modified": created,
                "pattern": ind.stix_pattern(),
                "pattern_type": "stix",
                "valid_from": m.valid_from.as_ref().map_or_else(|| epoch.clone(), stix_ts),
            });
            let obj = o.as_object_mut().expect("json! object literal");
            if let Some(n) = &m.name {
                obj.insert("name".into(), json!(n));
            }
            if let Some(d) = &m.description {
                obj.insert("description".into(), json!(d));
            }
            if let Some(u) = &m.valid_until {
                obj.insert("valid_until".into(), json!(stix_ts(u)));
            }
            if let Some(c) = m.confidence {
                obj.insert("confidence".into(), json!(c));
            }
            if !m.labels.is_empty() {
                obj.insert("labels".into(), json!(m.labels));
            }
            if !m.indicator_types.is_empty() {
                obj.insert("indicator_types".into(), json!(m.indicator_types));
            }
            if !ind.detect {
                obj.insert("x_kahu_detect".into(), json!(false));
            }
            objects.push(o);
            for (ty, list) in [
                ("attack-pattern", &m.techniques),
                ("malware", &m.software),
                ("intrusion-set", &m.groups),
            ] {
                for ext in list {
                    let oid = format!("{ty}--{}", stable_uuid(&format!("kahu-attack:{ext}")));
                    attack_objs.insert(ext.to_string(), oid.clone());
                    rels.push((id.clone(), oid));
                }
            }
        }
        for (ext, oid) in &attack_objs {
            let ty = oid.split("--").next().unwrap_or("malware");
            let mut o = json!({
                "type": ty,
                "spec_version": "2.1",
                "id": oid,
                "created": now,
                "modified": now,
                "name": ext,
                "external_references": [{"source_name": "mitre-attack", "external_id": ext}],
            });
            if ty == "malware" {
                o["is_family"] = json!(true);
            }
            objects.push(o);
        }
        for (src, dst) in rels {
            objects.push(json!({
                "type": "relationship",
                "spec_version": "2.1",
                "id": format!("relationship--{}", stable_uuid(&format!("kahu-rel:{src}:{dst}"))),
                "created": now,
                "modified": now,
                "relationship_type": "indicates",
                "source_ref": src,
                "target_ref": dst,
            }));
        }
        json!({
            "type": "bundle",
            "id": format!("bundle--{}", stable_uuid(&format!("kahu-bundle:{}:{now}", self.indicators.len()))),
            "objects": objects,
        })
    }
}
