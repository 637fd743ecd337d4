//! Actor profiles: what an analyst knows about a threat actor beyond
//! ATT&CK (exploited CVEs, infrastructure, tooling names, victimology,
//! active period, ports), every item with the sources that support it.
//! The YAML format is documented in `docs/actor-profile.md`.

use chrono::NaiveDate;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

/// The shipped profiles: APT40 (the case kahu was built for), the PRC
/// actors most easily confused with it on technique evidence alone, and the
/// actors that most often out-rank the true group in the evaluation or on
/// the demo (Mustang Panda, APT29, Kimsuky). Shipping
/// only APT40's would hand it every CVE, router and sector match (profile
/// bias); profile items shared between actors are split among them.
const SHIPPED: [(&str, &str); 7] = [
    (
        "data/attack/profiles/apt40.yaml",
        include_str!("../../../data/attack/profiles/apt40.yaml"),
    ),
    (
        "data/attack/profiles/apt41.yaml",
        include_str!("../../../data/attack/profiles/apt41.yaml"),
    ),
    (
        "data/attack/profiles/volt-typhoon.yaml",
        include_str!("../../../data/attack/profiles/volt-typhoon.yaml"),
    ),
    (
        "data/attack/profiles/apt31.yaml",
        include_str!("../../../data/attack/profiles/apt31.yaml"),
    ),
    (
        "data/attack/profiles/mustang-panda.yaml",
        include_str!("../../../data/attack/profiles/mustang-panda.yaml"),
    ),
    (
        "data/attack/profiles/apt29.yaml",
        include_str!("../../../data/attack/profiles/apt29.yaml"),
    ),
    (
        "data/attack/profiles/kimsuky.yaml",
        include_str!("../../../data/attack/profiles/kimsuky.yaml"),
    ),
];

/// Errors loading a profile.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Could not read the file.
    #[error("reading {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// YAML syntax or shape error (message carries line/column).
    #[error("parsing {path}: {msg}")]
    Yaml {
        /// File.
        path: String,
        /// Parser message.
        msg: String,
    },
    /// Well-formed but wrong content.
    #[error("{path}: {problem}")]
    Invalid {
        /// File.
        path: String,
        /// What is wrong.
        problem: ProfileProblem,
    },
}

/// What is wrong with a well-formed profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileProblem {
    /// No `id`.
    #[error("`id` is empty")]
    EmptyId,
    /// `id` or `name` with control characters (they reach terminals).
    #[error("`id` and `name` must not contain control characters")]
    ControlCharacters,
    /// An item cites a source the profile does not define.
    #[error("{item}: source `{source_key}` is not defined under `sources`")]
    UndefinedSource {
        /// The item (CVE, sector, infrastructure kind, port…).
        item: String,
        /// The source key it cites.
        source_key: String,
    },
    /// An `ip`, `cidr` or `asn` infrastructure value that is not one.
    #[error("infrastructure {kind} `{value}` is not {expected}")]
    BadInfrastructureValue {
        /// `ip`, `cidr` or `asn`.
        kind: &'static str,
        /// The value given.
        value: String,
        /// What it should be, in words.
        expected: &'static str,
    },
    /// An `ip`, `cidr`, `domain` or `asn` item without a value.
    #[error("infrastructure `{0}` needs a value")]
    MissingInfrastructureValue(String),
    /// `active.from` after `active.to`.
    #[error("active: `from` {from} is after `to` {to}")]
    ActiveRangeReversed {
        /// Start given.
        from: String,
        /// End given.
        to: String,
    },
}

/// A cited source (advisory, report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Title.
    pub title: String,
    /// Where to read it.
    #[serde(default)]
    pub url: Option<String>,
    /// Publication date.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// ATT&CK citation names of the same document (`CISA Leviathan 2024`),
    /// so the evaluation can drop profile items from the document under test.
    #[serde(default)]
    pub attack_citations: Vec<String>,
}

/// A value with its sources (keys into [`ActorProfile::sources`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sourced {
    /// The value (`CVE-2021-44228`, `manufacturing`, `AU`).
    pub value: String,
    /// Free-text note (product, context).
    #[serde(default)]
    pub note: Option<String>,
    /// Source keys.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// Attacker infrastructure: a concrete indicator or a kind of infrastructure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Infrastructure {
    /// `ip`, `cidr`, `domain`, `asn`, or a kind such as `soho-router`, `vps`.
    pub kind: String,
    /// The indicator for ip/cidr/domain/asn; absent for kinds.
    #[serde(default)]
    pub value: Option<String>,
    /// Free-text note.
    #[serde(default)]
    pub note: Option<String>,
    /// Source keys.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// Active period (either end may be open).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Active {
    /// Earliest reported activity.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Latest reported activity, absent when still active.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// Source keys.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// An analyst's actor profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorProfile {
    /// ATT&CK group id this profile extends (`G0065`); profiles of actors
    /// not in ATT&CK use a local id (`X-…`) and score on profile evidence only.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Other names.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Cited documents, by key.
    #[serde(default)]
    pub sources: BTreeMap<String, Source>,
    /// Active period.
    #[serde(default)]
    pub active: Option<Active>,
    /// Exploited vulnerabilities.
    #[serde(default)]
    pub cves: Vec<Sourced>,
    /// Infrastructure.
    #[serde(default)]
    pub infrastructure: Vec<Infrastructure>,
    /// Tool and malware names (ATT&CK names or aliases resolve to software ids).
    #[serde(default)]
    pub tooling: Vec<Sourced>,
    /// Victim sectors.
    #[serde(default)]
    pub sectors: Vec<Sourced>,
    /// Victim countries (ISO 3166 alpha-2).
    #[serde(default)]
    pub regions: Vec<Sourced>,
    /// Ports of note.
    #[serde(default)]
    pub ports: Vec<SourcedPort>,
    /// Free-text notes.
    #[serde(default)]
    pub notes: Vec<Sourced>,
    /// Earliest day the actor is documented active, and why (generated
    /// facts: first campaign day, KEV listing of a CVE it exploited). Shown,
    /// never scored: a first documented day is not the day it began.
    #[serde(skip)]
    pub documented_since: Option<(NaiveDate, String)>,
    /// Written (at least in part) by an analyst, not generated facts alone.
    #[serde(skip)]
    pub analyst: bool,
}

/// A port with its sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcedPort {
    /// Port number.
    pub port: u16,
    /// Note.
    #[serde(default)]
    pub note: Option<String>,
    /// Source keys.
    #[serde(default)]
    pub sources: Vec<String>,
}

impl ActorProfile {
    /// Load and validate a YAML profile.
    pub fn load(path: &Path) -> Result<ActorProfile, ProfileError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: p.clone(),
            source,
        })?;
        Self::parse(&text, &p)
    }

    /// Parse and validate YAML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<ActorProfile, ProfileError> {
        let mut prof: ActorProfile =
            serde_saphyr::from_str(text).map_err(|e| ProfileError::Yaml {
                path: origin.to_string(),
                // The parser's first line (line, column, what is wrong),
                // without the source excerpt under it.
                msg: e.to_string().lines().next().unwrap_or_default().to_string(),
            })?;
        prof.validate().map_err(|problem| ProfileError::Invalid {
            path: origin.to_string(),
            problem,
        })?;
        prof.normalise();
        prof.analyst = true;
        Ok(prof)
    }

    fn validate(&self) -> Result<(), ProfileProblem> {
        if self.id.trim().is_empty() {
            return Err(ProfileProblem::EmptyId);
        }
        if self.id.chars().any(char::is_control) || self.name.chars().any(char::is_control) {
            return Err(ProfileProblem::ControlCharacters);
        }
        let check = |what: &str, srcs: &[String]| -> Result<(), ProfileProblem> {
            match srcs.iter().find(|s| !self.sources.contains_key(*s)) {
                Some(s) => Err(ProfileProblem::UndefinedSource {
                    item: what.to_string(),
                    source_key: s.clone(),
                }),
                None => Ok(()),
            }
        };
        for c in &self.cves {
            check(&c.value, &c.sources)?;
        }
        for c in self
            .tooling
            .iter()
            .chain(&self.sectors)
            .chain(&self.regions)
            .chain(&self.notes)
        {
            check(&c.value, &c.sources)?;
        }
        for i in &self.infrastructure {
            check(&i.kind, &i.sources)?;
            match (i.kind.as_str(), &i.value) {
                ("ip", Some(v)) if v.parse::<IpAddr>().is_err() => {
                    return Err(ProfileProblem::BadInfrastructureValue {
                        kind: "ip",
                        value: v.clone(),
                        expected: "an IP address",
                    });
                }
                ("cidr", Some(v)) if v.parse::<IpNet>().is_err() => {
                    return Err(ProfileProblem::BadInfrastructureValue {
                        kind: "cidr",
                        value: v.clone(),
                        expected: "a CIDR",
                    });
                }
                ("asn", Some(v)) if parse_asn(v).is_none() => {
                    return Err(ProfileProblem::BadInfrastructureValue {
                        kind: "asn",
                        value: v.clone(),
                        expected: "an AS number",
                    });
                }
                ("ip" | "cidr" | "domain" | "asn", None) => {
                    return Err(ProfileProblem::MissingInfrastructureValue(i.kind.clone()));
                }
                _ => {}
            }
        }
        for p in &self.ports {
            check(&p.port.to_string(), &p.sources)?;
        }
        if let Some(a) = &self.active {
            check("active", &a.sources)?;
            if let (Some(from), Some(to)) = (a.from, a.to)
                && from > to
            {
                return Err(ProfileProblem::ActiveRangeReversed {
                    from: from.to_string(),
                    to: to.to_string(),
                });
            }
        }
        Ok(())
    }

    fn normalise(&mut self) {
        self.id = self.id.trim().to_ascii_uppercase();
        for c in &mut self.cves {
            c.value = c.value.trim().to_ascii_uppercase();
        }
        for s in &mut self.sectors {
            s.value = s.value.trim().to_lowercase();
        }
        for r in &mut self.regions {
            r.value = country_code(&r.value);
        }
        for i in &mut self.infrastructure {
            i.kind = i.kind.trim().to_lowercase();
            if i.kind == "domain" {
                i.value = i
                    .value
                    .as_ref()
                    .map(|v| v.trim().trim_end_matches('.').to_ascii_lowercase());
            }
        }
    }

    /// True when any of `sources` (profile keys) survives the exclusion of
    /// documents whose titles, keys or ATT&CK citation names are in `excluded`.
    /// Items without sources are kept (the analyst vouches for them).
    pub fn item_allowed(&self, sources: &[String], excluded: &[String]) -> bool {
        if excluded.is_empty() || sources.is_empty() {
            return true;
        }
        sources.iter().any(|key| {
            let hit = |n: &String| excluded.iter().any(|e| e.eq_ignore_ascii_case(n));
            if hit(key) {
                return false;
            }
            match self.sources.get(key) {
                Some(s) => !hit(&s.title) && !s.attack_citations.iter().any(hit),
                None => true,
            }
        })
    }
}

/// Profiles shipped with kahu: APT40 (G0065), APT41 (G0096), Volt Typhoon (G1017), APT31 (G0128),
/// Mustang Panda (G0129), APT29 (G0016), Kimsuky (G0094).
pub fn embedded_profiles() -> Vec<ActorProfile> {
    SHIPPED
        .iter()
        .map(|(path, text)| {
            ActorProfile::parse(text, path).expect("shipped profiles are valid (checked by tests)")
        })
        .collect()
}

/// How much a profile item counts, from the convention that an item's
/// `note` starts with `weak:` (the source is second-hand or the attribution
/// hedged: half) or `unverified:` (the supporting text was not found: a
/// quarter). Everything else is confirmed (full weight).
pub fn item_reliability(note: Option<&str>) -> f64 {
    let n = note.unwrap_or("").trim_start().to_ascii_lowercase();
    if n.starts_with("unverified") {
        0.25
    } else if n.starts_with("weak") {
        0.5
    } else {
        1.0
    }
}

/// `AS4134`, `as4134` or `4134` → 4134.
pub fn parse_asn(s: &str) -> Option<u32> {
    let s = s.trim();
    let digits = s
        .strip_prefix("AS")
        .or_else(|| s.strip_prefix("as"))
        .unwrap_or(s);
    digits.parse().ok()
}

/// Country name or code → ISO 3166 alpha-2 (upper-case). Common English
/// names of countries that appear in advisories are mapped; anything else
/// is upper-cased as given so exact codes still match.
pub fn country_code(s: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("new zealand", "NZ"),
        ("aotearoa", "NZ"),
        ("australia", "AU"),
        ("united states", "US"),
        ("usa", "US"),
        ("united states of america", "US"),
        ("united kingdom", "GB"),
        ("uk", "GB"),
        ("great britain", "GB"),
        ("canada", "CA"),
        ("germany", "DE"),
        ("japan", "JP"),
        ("south korea", "KR"),
        ("republic of korea", "KR"),
        ("korea", "KR"),
        ("cambodia", "KH"),
        ("malaysia", "MY"),
        ("indonesia", "ID"),
        ("philippines", "PH"),
        ("vietnam", "VN"),
        ("viet nam", "VN"),
        ("thailand", "TH"),
        ("singapore", "SG"),
        ("taiwan", "TW"),
        ("hong kong", "HK"),
        ("china", "CN"),
        ("india", "IN"),
        ("saudi arabia", "SA"),
        ("israel", "IL"),
        ("france", "FR"),
        ("italy", "IT"),
        ("spain", "ES"),
        ("netherlands", "NL"),
        ("belgium", "BE"),
        ("norway", "NO"),
        ("switzerland", "CH"),
        ("austria", "AT"),
        ("finland", "FI"),
        ("kenya", "KE"),
        ("ukraine", "UA"),
        ("russia", "RU"),
        ("iran", "IR"),
        ("north korea", "KP"),
        ("brazil", "BR"),
    ];
    let t = s.trim();
    let low = t.to_lowercase();
    NAMES
        .iter()
        .find(|(n, _)| *n == low)
        .map(|(_, c)| c.to_string())
        .unwrap_or_else(|| t.to_ascii_uppercase())
}
