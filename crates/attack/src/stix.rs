//! Compile a STIX 2.1 bundle as MITRE publishes it into a [`CompiledKb`]:
//! live objects only, revoked ids mapped to replacements, deprecated
//! objects and everything without an ATT&CK id dropped, prose discarded.

use crate::kb::{
    Campaign, CompiledKb, Group, KB_FORMAT, KbError, RelKind, Relation, Software, Technique,
};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// Terms under which MITRE publishes ATT&CK; kept with the compiled data.
pub const ATTACK_TERMS: &str = "MITRE ATT&CK(R) content: The MITRE Corporation grants a royalty-free, non-exclusive, irrevocable license to reproduce, prepare derivative works of, and distribute ATT&CK, provided this copyright notice and the terms of use (https://attack.mitre.org/resources/legal-and-branding/terms-of-use/) are kept with every copy. This file is a derivative work: facts (identifiers, names, aliases, tactics, technique platforms, relationships with citation source names, campaign dates) extracted by kahu-attack-compile, without description text.";

#[derive(Deserialize)]
struct Bundle {
    #[serde(default)]
    objects: Vec<Obj>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Obj {
    #[serde(rename = "type")]
    ty: String,
    id: String,
    name: Option<String>,
    aliases: Vec<String>,
    x_mitre_aliases: Vec<String>,
    revoked: bool,
    x_mitre_deprecated: bool,
    external_references: Vec<ExtRef>,
    kill_chain_phases: Vec<Phase>,
    x_mitre_platforms: Vec<String>,
    first_seen: Option<String>,
    last_seen: Option<String>,
    relationship_type: Option<String>,
    source_ref: Option<String>,
    target_ref: Option<String>,
    modified: Option<String>,
    definition: Option<Definition>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExtRef {
    source_name: String,
    external_id: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Phase {
    kill_chain_name: String,
    phase_name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Definition {
    statement: Option<String>,
}

impl Obj {
    fn attack_id(&self) -> Option<String> {
        self.external_references
            .iter()
            .find(|r| r.source_name == "mitre-attack")
            .and_then(|r| r.external_id.clone())
    }
    fn live(&self) -> bool {
        !self.revoked && !self.x_mitre_deprecated
    }
}

/// Guess the ATT&CK release from a file name such as `enterprise-attack-18.1.json`.
pub fn version_from_file_name(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let tail = stem.rsplit(['-', '_', 'v']).next()?;
    let ok = tail.contains('.')
        && tail
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| tail.to_string())
}

/// The release of a compiled bundle: `named` (from the file name, else
/// `unknown`), raised to `19` when a technique sits under a tactic only
/// ATT&CK v19 and later have (`stealth`, `defense-impairment`: v19 split
/// Defense Evasion into them). MITRE's bundles carry no release number
/// outside an optional collection object, and a v19 bundle saved as
/// `enterprise-attack.json` must not be taken for an older one and mapped
/// through the v18.1 → v19 crosswalk a second time.
pub fn release_of(kb: &CompiledKb, named: Option<String>) -> String {
    let v19_tactics = kb.techniques.iter().any(|t| {
        t.tactics
            .iter()
            .any(|x| x == "stealth" || x == "defense-impairment")
    });
    let major = |v: &str| {
        v.split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .unwrap_or(0)
    };
    match named {
        Some(v) if !v19_tactics || major(&v) >= 19 => v,
        _ if v19_tactics => "19".into(),
        _ => "unknown".into(),
    }
}

/// Read and compile a bundle file.
pub fn compile_file(path: &Path, attack_version: &str) -> Result<CompiledKb, KbError> {
    let p = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| KbError::Io {
        path: p.clone(),
        source,
    })?;
    compile_bytes(&bytes, attack_version).map_err(|e| match e {
        CompileError::Json(source) => KbError::Json {
            path: p.clone(),
            source,
        },
        CompileError::Invalid(msg) => KbError::Invalid { path: p, msg },
    })
}

/// Why a bundle could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// Not JSON of bundle shape.
    #[error(transparent)]
    Json(serde_json::Error),
    /// JSON but not an ATT&CK bundle.
    #[error("{0}")]
    Invalid(String),
}

/// Compile bundle bytes.
pub fn compile_bytes(bytes: &[u8], attack_version: &str) -> Result<CompiledKb, CompileError> {
    compile_bytes_keyed(bytes, attack_version, &|name, _url| name.to_string())
}

/// Compile bundle bytes, naming each citation by `source_key(source_name,
/// url)` instead of its source name. The report-level evaluation
/// (`eval_report`) keys citations by normalised URL, because ATT&CK cites
/// the same report under different names.
pub fn compile_bytes_keyed(
    bytes: &[u8],
    attack_version: &str,
    source_key: &dyn Fn(&str, Option<&str>) -> String,
) -> Result<CompiledKb, CompileError> {
    let bundle: Bundle = serde_json::from_slice(bytes).map_err(CompileError::Json)?;
    let objs = bundle.objects;
    let revocations = Revocations::of(&objs);
    let mut source_set: BTreeSet<String> = BTreeSet::new();
    let Objects {
        copyright,
        bundle_modified,
        mut techniques,
        mut groups,
        mut software,
        campaigns: campaigns_raw,
    } = collect_objects(&objs, source_key, &mut source_set);
    if techniques.is_empty() || groups.is_empty() {
        return Err(CompileError::Invalid(
            "no live ATT&CK techniques or groups: not an ATT&CK bundle".into(),
        ));
    }
    let rels = collect_relations(&objs, &revocations, source_key, &mut source_set);
    let sources: Vec<String> = source_set.into_iter().collect();
    let sidx: HashMap<&str, u32> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect();
    let relations = rels
        .into_iter()
        .map(|((from, kind, to), names)| Relation {
            kind,
            from,
            to,
            sources: names
                .iter()
                .filter_map(|n| sidx.get(n.as_str()).copied())
                .collect(),
        })
        .collect();
    let mut campaigns: Vec<Campaign> = campaigns_raw
        .into_iter()
        .map(|(mut c, names)| {
            c.sources = names
                .iter()
                .filter_map(|n| sidx.get(n.as_str()).copied())
                .collect();
            c.sources.sort_unstable();
            c.sources.dedup();
            c
        })
        .collect();
    techniques.sort_by(|a, b| a.id.cmp(&b.id));
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    software.sort_by(|a, b| a.id.cmp(&b.id));
    campaigns.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(CompiledKb {
        format: KB_FORMAT.into(),
        domain: "enterprise-attack".into(),
        attack_version: attack_version.into(),
        copyright,
        terms: ATTACK_TERMS.into(),
        bundle_modified,
        sources,
        techniques,
        groups,
        software,
        campaigns,
        relations,
        revoked: revocations.revoked_ids(),
    })
}

/// Where revoked objects went: the ATT&CK id of every STIX object that has
/// one, which of them are live, and each revoked object's replacement.
struct Revocations<'a> {
    ext: HashMap<&'a str, String>,
    live: HashMap<&'a str, bool>,
    revoked_stix: HashMap<&'a str, &'a str>,
}

impl<'a> Revocations<'a> {
    fn of(objs: &'a [Obj]) -> Self {
        // STIX id → ATT&CK id for every object that has one, live or not.
        let mut ext: HashMap<&str, String> = HashMap::new();
        let mut live: HashMap<&str, bool> = HashMap::new();
        for o in objs {
            if let Some(id) = o.attack_id() {
                ext.insert(o.id.as_str(), id);
                live.insert(o.id.as_str(), o.live());
            }
        }

        // Revocations: old ATT&CK id → new, following chains (bounded).
        let mut revoked_stix: HashMap<&str, &str> = HashMap::new();
        for o in objs {
            if o.ty == "relationship"
                && o.relationship_type.as_deref() == Some("revoked-by")
                && let (Some(s), Some(t)) = (&o.source_ref, &o.target_ref)
            {
                revoked_stix.insert(s.as_str(), t.as_str());
            }
        }
        Revocations {
            ext,
            live,
            revoked_stix,
        }
    }

    /// The live object a revoked one leads to, following chains (bounded:
    /// a malformed bundle could contain a revocation cycle).
    fn follow(&self, mut s: &'a str) -> Option<&'a str> {
        for _ in 0..16 {
            match self.revoked_stix.get(s) {
                Some(t) => s = t,
                None => return self.live.get(s).copied().unwrap_or(false).then_some(s),
            }
        }
        None
    }

    /// Old ATT&CK id → live ATT&CK id.
    fn revoked_ids(&self) -> BTreeMap<String, String> {
        let mut revoked = BTreeMap::new();
        for (&old, _) in self.revoked_stix.iter() {
            if let (Some(old_id), Some(new)) = (self.ext.get(old), self.follow(old))
                && let Some(new_id) = self.ext.get(new)
                && old_id != new_id
            {
                revoked.insert(old_id.clone(), new_id.clone());
            }
        }
        revoked
    }

    /// A STIX ref of a live object (after revocation mapping) → ATT&CK id.
    fn live_id(&self, stix: &'a str) -> Option<String> {
        let s = if self.revoked_stix.contains_key(stix) {
            self.follow(stix)?
        } else {
            stix
        };
        if self.live.get(s).copied().unwrap_or(false) {
            self.ext.get(s).cloned()
        } else {
            None
        }
    }
}

/// The bundle's live techniques, groups, software and campaigns (with the
/// citation keys of each campaign), and its MITRE marking.
#[derive(Default)]
struct Objects {
    copyright: String,
    bundle_modified: Option<String>,
    techniques: Vec<Technique>,
    groups: Vec<Group>,
    software: Vec<Software>,
    campaigns: Vec<(Campaign, Vec<String>)>,
}

fn collect_objects(
    objs: &[Obj],
    source_key: &dyn Fn(&str, Option<&str>) -> String,
    source_set: &mut BTreeSet<String>,
) -> Objects {
    let mut found = Objects::default();
    for o in objs {
        if let Some(m) = &o.modified
            && found.bundle_modified.as_ref().is_none_or(|b| m > b)
        {
            found.bundle_modified = Some(m.clone());
        }
        if o.ty == "marking-definition" {
            if let Some(st) = o.definition.as_ref().and_then(|d| d.statement.as_ref())
                && st.contains("MITRE")
            {
                found.copyright = st.clone();
            }
            continue;
        }
        if !o.live() {
            continue;
        }
        let Some(id) = o.attack_id() else { continue };
        let name = o.name.clone().unwrap_or_default();
        match o.ty.as_str() {
            "attack-pattern" => {
                let mut tactics: Vec<String> = o
                    .kill_chain_phases
                    .iter()
                    .filter(|p| p.kill_chain_name == "mitre-attack")
                    .map(|p| p.phase_name.clone())
                    .collect();
                tactics.dedup();
                found.techniques.push(Technique {
                    id,
                    name,
                    tactics,
                    platforms: o.x_mitre_platforms.clone(),
                });
            }
            "intrusion-set" => found.groups.push(Group {
                id,
                name,
                aliases: o.aliases.clone(),
            }),
            "malware" | "tool" => found.software.push(Software {
                id,
                name,
                kind: o.ty.clone(),
                aliases: o.x_mitre_aliases.clone(),
            }),
            "campaign" => {
                // Alias entries also live in external_references; they are not citations.
                let names: Vec<String> = o
                    .external_references
                    .iter()
                    .filter(|r| {
                        r.source_name != "mitre-attack"
                            && r.url.is_some()
                            && !o.aliases.contains(&r.source_name)
                    })
                    .map(|r| source_key(&r.source_name, r.url.as_deref()))
                    .collect();
                source_set.extend(names.iter().cloned());
                let day =
                    |d: &Option<String>| d.as_ref().map(|s| s.chars().take(10).collect::<String>());
                found.campaigns.push((
                    Campaign {
                        id,
                        name,
                        aliases: o.aliases.clone(),
                        first_seen: day(&o.first_seen),
                        last_seen: day(&o.last_seen),
                        sources: Vec::new(),
                    },
                    names,
                ));
            }
            _ => {}
        }
    }
    found
}

/// (from, kind, to) → citation keys.
type RelationSources = BTreeMap<(String, RelKind, String), BTreeSet<String>>;

/// Relations, remapped through revocations and merged when duplicates result.
fn collect_relations<'a>(
    objs: &'a [Obj],
    revocations: &Revocations<'a>,
    source_key: &dyn Fn(&str, Option<&str>) -> String,
    source_set: &mut BTreeSet<String>,
) -> RelationSources {
    let mut rels: RelationSources = BTreeMap::new();
    for o in objs {
        if o.ty != "relationship" || !o.live() {
            continue;
        }
        let kind = match o.relationship_type.as_deref() {
            Some("uses") => RelKind::Uses,
            Some("attributed-to") => RelKind::AttributedTo,
            Some("subtechnique-of") => RelKind::SubtechniqueOf,
            _ => continue,
        };
        let (Some(s), Some(t)) = (&o.source_ref, &o.target_ref) else {
            continue;
        };
        let (Some(from), Some(to)) = (revocations.live_id(s), revocations.live_id(t)) else {
            continue;
        };
        if from == to {
            continue;
        }
        let names: BTreeSet<String> = o
            .external_references
            .iter()
            .filter(|r| r.source_name != "mitre-attack")
            .map(|r| source_key(&r.source_name, r.url.as_deref()))
            .collect();
        source_set.extend(names.iter().cloned());
        rels.entry((from, kind, to)).or_default().extend(names);
    }
    rels
}
