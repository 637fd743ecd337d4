//! Facts for every ATT&CK group, compiled by `scripts/actor-facts.py` into
//! `data/attack/actor-facts.json` and embedded like the knowledge base: CVE
//! ids, ports and rare tool names named in ATT&CK descriptions; victim
//! countries, sectors, suspected sponsor and synonyms from the MISP galaxy
//! threat-actor and Tidal groups clusters; KEV dates of the CVEs. Ids and
//! short facts only, each with where it comes from, so the explanation can
//! say so.
//!
//! Each group's facts become an [`ActorProfile`] and the analyst's
//! hand-written profiles are laid on top field by field
//! ([`actor_profiles`]): where an analyst wrote a field, theirs is used.

use crate::KnowledgeBase;
use crate::profile::{ActorProfile, Source, Sourced, SourcedPort, embedded_profiles};
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Format tag of the facts file; bump on incompatible change.
pub const FACTS_FORMAT: &str = "kahu-actor-facts/1";

/// The compiled facts shipped with kahu.
const EMBEDDED: &str = include_str!("../../../data/attack/actor-facts.json");

/// Source keys of generated facts start with one of these; analysts' keys
/// (`AA24-190A`) never contain a colon in the shipped profiles.
const FACT_KEY_PREFIXES: [&str; 3] = ["attack:", "misp:", "tidal:"];

/// Where a fact comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FactSource {
    /// `attack-description`, `misp-galaxy threat-actor` or `tidal`.
    pub kind: String,
    /// Phrase for the explanation (`named in ATT&CK campaign C0049 (…) description`).
    pub title: String,
    /// ATT&CK citation names of the text the fact was read from, so an
    /// evaluation holding a report out drops facts resting only on it.
    #[serde(default)]
    pub citations: Vec<String>,
}

/// One fact value with its source keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Fact<T> {
    /// The value (`CVE-2021-26084`, `US`, `government`, `S0020`, a port).
    pub value: T,
    /// Keys into [`FactsFile::sources`].
    pub sources: Vec<String>,
    /// For a CVE: the day CISA added it to the KEV catalogue.
    #[serde(default)]
    pub kev_added: Option<NaiveDate>,
}

/// The facts about one ATT&CK group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ActorFacts {
    /// ATT&CK group id.
    pub id: String,
    /// CVE ids named in its ATT&CK descriptions.
    #[serde(default)]
    pub cves: Vec<Fact<String>>,
    /// Ports named in its ATT&CK descriptions.
    #[serde(default)]
    pub ports: Vec<Fact<u16>>,
    /// ATT&CK software ids named in its descriptions but not among its
    /// ATT&CK software relations, rare software only.
    #[serde(default)]
    pub tools: Vec<Fact<String>>,
    /// Victim countries (ISO 3166 alpha-2).
    #[serde(default)]
    pub countries: Vec<Fact<String>>,
    /// Victim sectors (lower-case, as the galaxies name them).
    #[serde(default)]
    pub sectors: Vec<Fact<String>>,
    /// Suspected state sponsor.
    #[serde(default)]
    pub sponsor: Vec<Fact<String>>,
    /// Country the actor is attributed to (ISO code).
    #[serde(default)]
    pub origin: Vec<Fact<String>>,
    /// Names ATT&CK does not list.
    #[serde(default)]
    pub synonyms: Vec<Fact<String>>,
}

/// The compiled facts file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FactsFile {
    /// [`FACTS_FORMAT`].
    pub format: String,
    /// ATT&CK release the descriptions were read from.
    pub attack_version: String,
    /// KEV catalogue version.
    pub kev: String,
    /// Tools named by more groups than this were left out.
    pub rare_tool_groups: u32,
    /// Sources by key.
    pub sources: BTreeMap<String, FactSource>,
    /// One entry per live ATT&CK group, sorted by id.
    pub actors: Vec<ActorFacts>,
}

/// Why a facts file was refused.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    /// Not JSON of the facts file's shape.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Another format tag (another `scripts/actor-facts.py` output version).
    #[error("format `{found}`, expected `{FACTS_FORMAT}`")]
    Format {
        /// The file's format tag.
        found: String,
    },
}

impl FactsFile {
    /// The facts compiled into kahu.
    pub fn embedded() -> &'static FactsFile {
        static FACTS: std::sync::OnceLock<FactsFile> = std::sync::OnceLock::new();
        FACTS.get_or_init(|| {
            Self::parse(EMBEDDED).expect("embedded actor facts are valid (checked by tests)")
        })
    }

    /// Parse a facts file.
    pub fn parse(text: &str) -> Result<FactsFile, FactsError> {
        let f: FactsFile = serde_json::from_str(text)?;
        if f.format != FACTS_FORMAT {
            return Err(FactsError::Format { found: f.format });
        }
        Ok(f)
    }

    /// The profile made of `facts` alone (names from `kb`).
    pub fn profile(&self, facts: &ActorFacts, kb: &KnowledgeBase) -> ActorProfile {
        let mut sources = BTreeMap::new();
        let mut cite = |keys: &[String]| -> Vec<String> {
            for k in keys {
                if let Some(s) = self.sources.get(k) {
                    sources.entry(k.clone()).or_insert_with(|| Source {
                        title: s.title.clone(),
                        url: None,
                        date: None,
                        attack_citations: s.citations.clone(),
                    });
                }
            }
            keys.iter()
                .filter(|k| self.sources.contains_key(*k))
                .cloned()
                .collect()
        };
        let plain = |f: &Fact<String>, cite: &mut dyn FnMut(&[String]) -> Vec<String>| Sourced {
            value: f.value.clone(),
            note: None,
            sources: cite(&f.sources),
        };
        let cves = facts
            .cves
            .iter()
            .map(|f| Sourced {
                value: f.value.to_ascii_uppercase(),
                note: f.kev_added.map(|d| format!("in CISA KEV since {d}")),
                sources: cite(&f.sources),
            })
            .collect();
        let tooling = facts
            .tools
            .iter()
            .filter_map(|f| {
                let sw = kb.software(&kb.resolve(&f.value))?;
                Some(Sourced {
                    value: sw.name.clone(),
                    note: Some(sw.id.clone()),
                    sources: cite(&f.sources),
                })
            })
            .collect();
        let ports = facts
            .ports
            .iter()
            .map(|f| SourcedPort {
                port: f.value,
                note: None,
                sources: cite(&f.sources),
            })
            .collect();
        let regions = facts
            .countries
            .iter()
            .map(|f| plain(f, &mut cite))
            .collect();
        let sectors = facts.sectors.iter().map(|f| plain(f, &mut cite)).collect();
        let mut notes: Vec<Sourced> = Vec::new();
        for (what, list) in [
            ("suspected sponsor", &facts.sponsor),
            ("origin", &facts.origin),
        ] {
            for f in list {
                notes.push(Sourced {
                    value: format!("{what}: {}", f.value),
                    note: None,
                    sources: cite(&f.sources),
                });
            }
        }
        let aliases = facts.synonyms.iter().map(|f| f.value.clone()).collect();
        let group = kb.group(&facts.id);
        let documented_since = self.documented_since(facts, kb);
        ActorProfile {
            id: facts.id.clone(),
            name: group.map_or_else(|| facts.id.clone(), |g| g.name.clone()),
            aliases,
            sources,
            active: None,
            cves,
            infrastructure: Vec::new(),
            tooling,
            sectors,
            regions,
            ports,
            notes,
            documented_since,
            analyst: false,
        }
    }

    /// The earliest day the actor is documented active: the first day of
    /// its ATT&CK campaigns. A lower bound on what is known, not on when
    /// the actor began, so it is shown but never counts against a case.
    /// (The day CISA listed a CVE it exploits is no such day: 2021-11-03,
    /// the catalogue's launch, was read as "active since" for actors that
    /// exploited the CVE a year before.)
    fn documented_since(
        &self,
        facts: &ActorFacts,
        kb: &KnowledgeBase,
    ) -> Option<(NaiveDate, String)> {
        let d = kb.data();
        let mut best: Option<(NaiveDate, String)> = None;
        let mut consider = |day: NaiveDate, why: String| {
            if best.as_ref().is_none_or(|(b, _)| day < *b) {
                best = Some((day, why));
            }
        };
        for r in &d.relations {
            if r.kind == crate::RelKind::AttributedTo
                && r.to == facts.id
                && let Some(c) = kb.campaign(&r.from)
                && let Some(day) = c
                    .first_seen
                    .as_deref()
                    .and_then(|s| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok())
            {
                consider(day, format!("ATT&CK campaign {} first seen", c.id));
            }
        }
        best
    }
}

/// Is `key` the source key of a generated fact (not an analyst's)?
pub fn is_fact_key(key: &str) -> bool {
    FACT_KEY_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Lay the analyst's profile over the generated one: every field the
/// analyst wrote wins; fields the analyst left empty come from the facts.
/// Names are merged (the analyst's first).
pub fn overlay(analyst: ActorProfile, facts: ActorProfile) -> ActorProfile {
    fn pick<T>(mine: Vec<T>, theirs: Vec<T>) -> Vec<T> {
        if mine.is_empty() { theirs } else { mine }
    }
    let mut aliases = analyst.aliases;
    for a in facts.aliases {
        if !aliases.iter().any(|x| x.eq_ignore_ascii_case(&a))
            && !a.eq_ignore_ascii_case(&analyst.name)
        {
            aliases.push(a);
        }
    }
    let mut sources = facts.sources;
    sources.extend(analyst.sources);
    ActorProfile {
        id: analyst.id,
        name: analyst.name,
        aliases,
        sources,
        active: analyst.active,
        cves: pick(analyst.cves, facts.cves),
        infrastructure: pick(analyst.infrastructure, facts.infrastructure),
        tooling: pick(analyst.tooling, facts.tooling),
        sectors: pick(analyst.sectors, facts.sectors),
        regions: pick(analyst.regions, facts.regions),
        ports: pick(analyst.ports, facts.ports),
        notes: pick(analyst.notes, facts.notes),
        documented_since: analyst.documented_since.or(facts.documented_since),
        analyst: true,
    }
}

/// Add an analyst's profile (`--profile FILE`) to `profiles`: laid over the
/// profile of the same actor when there is one ([`overlay`]), so the facts
/// the analyst did not rewrite are kept; appended otherwise.
pub fn add_analyst_profile(profiles: &mut Vec<ActorProfile>, analyst: ActorProfile) {
    match profiles.iter().position(|p| p.id == analyst.id) {
        Some(i) => {
            let base = std::mem::replace(&mut profiles[i], analyst.clone());
            profiles[i] = overlay(analyst, base);
        }
        None => profiles.push(analyst),
    }
}

/// The profiles kahu ranks with by default: one per ATT&CK group from the
/// embedded facts, with the shipped hand-written profiles laid over them
/// ([`overlay`]); hand-written profiles of actors without facts are kept.
pub fn actor_profiles() -> Vec<ActorProfile> {
    static ALL: std::sync::OnceLock<Vec<ActorProfile>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let kb = KnowledgeBase::embedded();
        let facts = FactsFile::embedded();
        let mut by_id: BTreeMap<String, ActorProfile> = facts
            .actors
            .iter()
            .map(|a| (a.id.clone(), facts.profile(a, kb)))
            .collect();
        let mut extra = Vec::new();
        for analyst in embedded_profiles() {
            match by_id.remove(&analyst.id) {
                Some(generated) => {
                    by_id.insert(analyst.id.clone(), overlay(analyst, generated));
                }
                None => extra.push(analyst),
            }
        }
        by_id.into_values().chain(extra).collect()
    })
    .clone()
}
