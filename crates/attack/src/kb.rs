//! The compiled ATT&CK knowledge base: facts only (ids, names, aliases,
//! tactics, relations with their cited source names, campaign dates), no
//! description prose, so it can be embedded in the binary and diffed in git.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Format tag of the compiled file; bump on incompatible change.
pub const KB_FORMAT: &str = "kahu-attack-kb/1";

/// The compiled file shipped with kahu (ATT&CK Enterprise v18.1).
const EMBEDDED: &str = include_str!("../../../data/attack/enterprise-attack-v18.1.kb.json");

/// Errors while loading or compiling a knowledge base.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// File that failed.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("parsing {path}: {source}")]
    Json {
        /// File that failed.
        path: String,
        /// Underlying error (carries line and column).
        source: serde_json::Error,
    },
    /// The content is well-formed but not usable.
    #[error("{path}: {msg}")]
    Invalid {
        /// File that failed.
        path: String,
        /// What is wrong.
        msg: String,
    },
}

/// A technique or sub-technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technique {
    /// `T1505.003`.
    pub id: String,
    /// `Web Shell`.
    pub name: String,
    /// Tactic short names (`persistence`).
    pub tactics: Vec<String>,
    /// ATT&CK platforms where the technique can be seen (`Windows`,
    /// `IaaS`, `Office Suite`…): `hunt_next` suggests only techniques the
    /// case's evidence could show.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
}

/// A threat group (STIX intrusion-set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// `G0065`.
    pub id: String,
    /// `Leviathan`.
    pub name: String,
    /// Other names (`APT40`, `TEMP.Periscope`…), including the name itself when MITRE lists it.
    pub aliases: Vec<String>,
}

impl Group {
    /// The name and alias list to show an analyst: the name most reports
    /// use first, MITRE's name first among the aliases. ATT&CK names groups
    /// after the first reporting vendor (`Leviathan`, `ZIRCONIUM`), while
    /// government advisories and the press use the Mandiant `APT<n>` number
    /// (APT40, APT31); a reader who knows only "APT40" must find it in the
    /// headline, not cut off at the end of an alias list.
    pub fn display_names(&self) -> (String, Vec<String>) {
        best_known_name(&self.id, &self.name, &self.aliases)
    }
}

/// Groups whose `APT<n>` alias names a different or newer cluster than the
/// one analysts know the group by: Mandiant's APT43 overlaps Kimsuky only in
/// part, and "Sandworm" is the name in every public attribution of the
/// Ukrainian grid attacks.
const KEEP_ATTACK_NAME: &[&str] = &["G0094", "G0034"];

/// See [`Group::display_names`]; also used for profile-only actors.
pub fn best_known_name(id: &str, name: &str, aliases: &[String]) -> (String, Vec<String>) {
    let is_apt =
        |n: &str| n.len() > 3 && n.starts_with("APT") && n[3..].bytes().all(|b| b.is_ascii_digit());
    let best = if is_apt(name) || KEEP_ATTACK_NAME.contains(&id) {
        name.to_string()
    } else {
        aliases
            .iter()
            .find(|a| is_apt(a))
            .cloned()
            .unwrap_or_else(|| name.to_string())
    };
    let mut out: Vec<String> = Vec::with_capacity(aliases.len() + 1);
    for n in std::iter::once(name).chain(aliases.iter().map(String::as_str)) {
        if n != best && !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    (best, out)
}

/// Malware or tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Software {
    /// `S0020`.
    pub id: String,
    /// `China Chopper`.
    pub name: String,
    /// `malware` or `tool`.
    pub kind: String,
    /// Other names.
    pub aliases: Vec<String>,
}

/// A campaign with its observed period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    /// `C0049`.
    pub id: String,
    /// Campaign name.
    pub name: String,
    /// Other names.
    pub aliases: Vec<String>,
    /// First seen (`YYYY-MM-DD`).
    pub first_seen: Option<String>,
    /// Last seen (`YYYY-MM-DD`).
    pub last_seen: Option<String>,
    /// Indices into [`CompiledKb::sources`] cited by the campaign object itself.
    pub sources: Vec<u32>,
}

/// Kind of relation kept from the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelKind {
    /// Group/campaign/software uses technique or software.
    Uses,
    /// Campaign attributed to group.
    AttributedTo,
    /// Sub-technique of a technique.
    SubtechniqueOf,
}

/// One relation between two live objects, by ATT&CK id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    /// Relation type.
    pub kind: RelKind,
    /// Source ATT&CK id (`G0065`, `C0049`, `S0020`, `T1505.003`).
    pub from: String,
    /// Target ATT&CK id.
    pub to: String,
    /// Indices into [`CompiledKb::sources`]: the `external_references`
    /// source names the relation cites (needed for leakage-free evaluation).
    pub sources: Vec<u32>,
}

/// The serialised knowledge base, exactly as stored in the compiled file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompiledKb {
    /// [`KB_FORMAT`].
    pub format: String,
    /// `enterprise-attack`.
    pub domain: String,
    /// ATT&CK release (`18.1`).
    pub attack_version: String,
    /// MITRE's copyright statement from the bundle's marking definition.
    pub copyright: String,
    /// ATT&CK terms of use, which require keeping the copyright notice.
    pub terms: String,
    /// Latest `modified` timestamp of any object in the bundle.
    pub bundle_modified: Option<String>,
    /// Interned citation source names.
    pub sources: Vec<String>,
    /// Live techniques and sub-techniques, sorted by id.
    pub techniques: Vec<Technique>,
    /// Live groups, sorted by id.
    pub groups: Vec<Group>,
    /// Live software, sorted by id.
    pub software: Vec<Software>,
    /// Live campaigns, sorted by id.
    pub campaigns: Vec<Campaign>,
    /// Relations between live objects, sorted.
    pub relations: Vec<Relation>,
    /// Revoked ATT&CK id → live replacement id (chains resolved).
    pub revoked: BTreeMap<String, String>,
}

impl CompiledKb {
    /// Serialise in the committed layout: one object per line, so git diffs
    /// between ATT&CK releases stay readable.
    pub fn to_json_lines(&self) -> String {
        fn list<T: Serialize>(out: &mut String, key: &str, items: &[T], last: bool) {
            out.push_str(&format!("\"{key}\":[\n"));
            for (i, it) in items.iter().enumerate() {
                out.push_str(&serde_json::to_string(it).unwrap_or_default());
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push(']');
            out.push_str(if last { "\n" } else { ",\n" });
        }
        fn s<T: Serialize>(v: &T) -> String {
            serde_json::to_string(v).unwrap_or_else(|_| "null".into())
        }
        let mut out = String::from("{\n");
        out.push_str(&format!("\"format\":{},\n", s(&self.format)));
        out.push_str(&format!("\"domain\":{},\n", s(&self.domain)));
        out.push_str(&format!(
            "\"attack_version\":{},\n",
            s(&self.attack_version)
        ));
        out.push_str(&format!("\"copyright\":{},\n", s(&self.copyright)));
        out.push_str(&format!("\"terms\":{},\n", s(&self.terms)));
        out.push_str(&format!(
            "\"bundle_modified\":{},\n",
            s(&self.bundle_modified)
        ));
        list(&mut out, "sources", &self.sources, false);
        list(&mut out, "techniques", &self.techniques, false);
        list(&mut out, "groups", &self.groups, false);
        list(&mut out, "software", &self.software, false);
        list(&mut out, "campaigns", &self.campaigns, false);
        list(&mut out, "relations", &self.relations, false);
        out.push_str(&format!("\"revoked\":{}\n", s(&self.revoked)));
        out.push_str("}\n");
        out
    }
}

/// The ATT&CK knowledge base with lookup indices.
#[derive(Debug, Clone)]
pub struct KnowledgeBase {
    data: CompiledKb,
    technique_idx: HashMap<String, usize>,
    group_idx: HashMap<String, usize>,
    software_idx: HashMap<String, usize>,
    campaign_idx: HashMap<String, usize>,
    /// Lower-cased software name/alias → software index.
    software_names: HashMap<String, usize>,
    /// Lower-cased group name/alias → group index.
    group_names: HashMap<String, usize>,
}

impl KnowledgeBase {
    /// The knowledge base compiled into kahu (ATT&CK Enterprise v18.1); works offline.
    pub fn embedded() -> &'static KnowledgeBase {
        static KB: std::sync::OnceLock<KnowledgeBase> = std::sync::OnceLock::new();
        KB.get_or_init(|| {
            let data: CompiledKb = serde_json::from_str(EMBEDDED)
                .expect("embedded ATT&CK knowledge base is valid (checked by tests)");
            KnowledgeBase::from_compiled(data)
        })
    }

    /// Load a newer ATT&CK release from a STIX 2.1 bundle as MITRE publishes it.
    /// The release number is taken from the file name when it contains one
    /// (`enterprise-attack-18.1.json`), otherwise it is `unknown`; a bundle
    /// whose techniques sit under a tactic only ATT&CK v19 has (Stealth,
    /// Defense Impairment) is at least `19` whatever its name says
    /// ([`crate::stix::release_of`]), so that its own ids and tactics are
    /// used and shown, never mapped again through the v18.1 → v19 crosswalk.
    pub fn from_stix_bundle(path: &Path) -> Result<KnowledgeBase, KbError> {
        let named = crate::stix::version_from_file_name(path);
        let mut compiled = crate::stix::compile_file(path, named.as_deref().unwrap_or("unknown"))?;
        compiled.attack_version = crate::stix::release_of(&compiled, named);
        Ok(KnowledgeBase::from_compiled(compiled))
    }

    /// Load a compiled knowledge base file (the format this crate writes).
    pub fn from_compiled_file(path: &Path) -> Result<KnowledgeBase, KbError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| KbError::Io {
            path: p.clone(),
            source,
        })?;
        let data: CompiledKb = serde_json::from_str(&text).map_err(|source| KbError::Json {
            path: p.clone(),
            source,
        })?;
        if data.format != KB_FORMAT {
            return Err(KbError::Invalid {
                path: p,
                msg: format!("format `{}`, expected `{KB_FORMAT}`", data.format),
            });
        }
        Ok(KnowledgeBase::from_compiled(data))
    }

    /// Build indices over compiled data.
    pub fn from_compiled(data: CompiledKb) -> KnowledgeBase {
        let index = |ids: Vec<&String>| {
            ids.into_iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), i))
                .collect::<HashMap<_, _>>()
        };
        let technique_idx = index(data.techniques.iter().map(|t| &t.id).collect());
        let group_idx = index(data.groups.iter().map(|t| &t.id).collect());
        let software_idx = index(data.software.iter().map(|t| &t.id).collect());
        let campaign_idx = index(data.campaigns.iter().map(|t| &t.id).collect());
        let mut software_names = HashMap::new();
        for (i, s) in data.software.iter().enumerate() {
            for n in std::iter::once(&s.name).chain(&s.aliases) {
                software_names.entry(n.to_lowercase()).or_insert(i);
            }
        }
        let mut group_names = HashMap::new();
        for (i, g) in data.groups.iter().enumerate() {
            for n in std::iter::once(&g.name).chain(&g.aliases) {
                group_names.entry(n.to_lowercase()).or_insert(i);
            }
        }
        KnowledgeBase {
            data,
            technique_idx,
            group_idx,
            software_idx,
            campaign_idx,
            software_names,
            group_names,
        }
    }

    /// The underlying facts.
    pub fn data(&self) -> &CompiledKb {
        &self.data
    }

    /// ATT&CK release of this knowledge base.
    pub fn version(&self) -> &str {
        &self.data.attack_version
    }

    /// Map a possibly revoked ATT&CK id to its live replacement; ids are
    /// upper-cased and trimmed. Returns the input when not revoked.
    pub fn resolve(&self, id: &str) -> String {
        let id = id.trim().to_ascii_uppercase();
        if let Some(live) = self.data.revoked.get(&id) {
            return live.clone();
        }
        if self.technique(&id).is_some() {
            return id;
        }
        // The ATT&CK v18.1 → v19 crosswalk, in the direction this release
        // needs: a v19 id (SigmaHQ tags in v19) a v18.1 knowledge base does
        // not know becomes its v18.1 predecessor; a v18.1 id a v19 bundle
        // given with `--attack` does not know (the bundle lacks MITRE's
        // revocation objects) becomes its v19 successor. Either way the
        // ranking works on the knowledge base's own ids.
        if let Some(old) = v19_to_v18(&id)
            && self.technique(old).is_some()
        {
            return old.to_string();
        }
        if let Some(new) = crate::view::v19_successor(&id)
            && self.technique(new).is_some()
        {
            return new.to_string();
        }
        id
    }

    /// Technique by (live) id.
    pub fn technique(&self, id: &str) -> Option<&Technique> {
        self.technique_idx
            .get(id)
            .map(|&i| &self.data.techniques[i])
    }
    /// Group by (live) id.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.group_idx.get(id).map(|&i| &self.data.groups[i])
    }
    /// Software by (live) id.
    pub fn software(&self, id: &str) -> Option<&Software> {
        self.software_idx.get(id).map(|&i| &self.data.software[i])
    }
    /// Campaign by (live) id.
    pub fn campaign(&self, id: &str) -> Option<&Campaign> {
        self.campaign_idx.get(id).map(|&i| &self.data.campaigns[i])
    }
    /// Software by name or alias, case-insensitive (`china chopper` → S0020).
    pub fn software_by_name(&self, name: &str) -> Option<&Software> {
        self.software_names
            .get(&name.trim().to_lowercase())
            .map(|&i| &self.data.software[i])
    }
    /// Group by name or alias, case-insensitive (`APT40` → G0065).
    pub fn group_by_name(&self, name: &str) -> Option<&Group> {
        self.group_names
            .get(&name.trim().to_lowercase())
            .map(|&i| &self.data.groups[i])
    }
    /// Dense index of a technique.
    pub fn technique_index(&self, id: &str) -> Option<usize> {
        self.technique_idx.get(id).copied()
    }
    /// Dense index of a group.
    pub fn group_index(&self, id: &str) -> Option<usize> {
        self.group_idx.get(id).copied()
    }
    /// Dense index of a software.
    pub fn software_index(&self, id: &str) -> Option<usize> {
        self.software_idx.get(id).copied()
    }
    /// Dense index of a campaign.
    pub fn campaign_index(&self, id: &str) -> Option<usize> {
        self.campaign_idx.get(id).copied()
    }
    /// Citation source names of a relation.
    pub fn source_names<'a>(&'a self, rel: &'a Relation) -> impl Iterator<Item = &'a str> + 'a {
        rel.sources
            .iter()
            .filter_map(|&i| self.data.sources.get(i as usize).map(String::as_str))
    }
    /// Index of a source name, if cited anywhere.
    pub fn source_index(&self, name: &str) -> Option<u32> {
        self.data
            .sources
            .iter()
            .position(|s| s == name)
            .map(|i| i as u32)
    }
}

/// Parent id of a sub-technique (`T1505.003` → `T1505`).
pub fn parent_of(id: &str) -> Option<&str> {
    id.split_once('.').map(|(p, _)| p)
}

/// The v18.1 technique a v19 technique id replaced (from
/// `data/attack/v19-to-v18.1.tsv`, generated by
/// `scripts/attack-crosswalk.py`).
pub fn v19_to_v18(id: &str) -> Option<&'static str> {
    static MAP: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static str>> =
        std::sync::OnceLock::new();
    MAP.get_or_init(|| {
        include_str!("../../../data/attack/v19-to-v18.1.tsv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(a, b)| (a.trim(), b.trim()))
            .collect()
    })
    .get(id)
    .copied()
}
