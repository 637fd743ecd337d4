//! Report-level, leak-free evaluation ("leave-one-report-out"), built from
//! the ATT&CK bundle alone (issue 12, item 1).
//!
//! - A *source* is a cited report: its normalised URL ([`source_key`]), else
//!   its `source_name` (ATT&CK cites one report under several names).
//! - A group's items are the techniques and software of its own `uses`
//!   relations plus those of the campaigns attributed to it.
//! - Each (group G, source S) where S is cited for at least N of G's items
//!   is a test case; the query is every item S is cited for under G.
//! - For the case, S is removed *everywhere*: from every relation of every
//!   group, campaign and software, and so from the document statistics. A
//!   relation survives only if another source supports it (a relation that
//!   cites nothing is kept: no report can leak through it).
//!
//! The baselines (plain IDF overlap, BM25) are rebuilt incrementally: only
//! the groups citing S get a new profile, and document frequencies are
//! adjusted from the full-bundle ones. kahu's own scorer needs a
//! [`KnowledgeBase`], so [`held_out_kb`] makes a copy without S.

use crate::evidence::CaseEvidence;
use crate::kb::{KnowledgeBase, RelKind};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The identity of a cited report: its URL with scheme and host lower-cased,
/// a leading `www.` and trailing slashes dropped; `source_name` when there
/// is no URL.
pub fn source_key(source_name: &str, url: Option<&str>) -> String {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return source_name.to_string();
    };
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => (String::new(), url),
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = rest[..host_end].to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let path = rest[host_end..].trim_end_matches('/');
    if scheme.is_empty() {
        format!("{host}{path}")
    } else {
        format!("{scheme}://{host}{path}")
    }
}

/// Compile a STIX bundle with citations keyed by [`source_key`].
pub fn compile_report_kb(
    bytes: &[u8],
    attack_version: &str,
) -> Result<KnowledgeBase, crate::stix::CompileError> {
    crate::stix::compile_bytes_keyed(bytes, attack_version, &source_key)
        .map(KnowledgeBase::from_compiled)
}

/// Does a relation citing `sources` survive the removal of `held_out`?
fn survives(sources: &[u32], held_out: Option<u32>) -> bool {
    sources.is_empty() || sources.iter().any(|&s| Some(s) != held_out)
}

/// One way a group comes to use an item: a relation of its own, or of a
/// campaign attributed to it (then both relations must survive).
#[derive(Debug, Clone)]
struct ItemPath {
    item: u32,
    sources: Vec<u32>,
    attribution: Option<Vec<u32>>,
}

/// A group's profile: item → number of independent sources supporting it
/// (at least 1: an uncited relation still puts the item in the profile).
pub type Profile = HashMap<u32, u32>;

/// One test case: group `group` (index into the KB's groups) and the items
/// source `source` is cited for under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCase {
    /// Group index.
    pub group: usize,
    /// Source index (into the KB's sources).
    pub source: u32,
    /// Query items, sorted: technique indices, then software as
    /// `techniques.len() + software index`.
    pub items: Vec<u32>,
}

/// Items of every group with their citations, and the full-bundle profiles.
#[derive(Debug, Clone)]
pub struct ReportIndex {
    n_techniques: usize,
    paths: Vec<Vec<ItemPath>>,
    citing: HashMap<u32, Vec<usize>>,
    base: Vec<Profile>,
    base_df: Vec<u32>,
}

impl ReportIndex {
    /// Index `kb` (compiled with [`compile_report_kb`] for URL-keyed sources).
    pub fn new(kb: &KnowledgeBase) -> ReportIndex {
        let d = kb.data();
        let nt = d.techniques.len();
        let item_of = |id: &str| {
            kb.technique_index(id)
                .map(|t| t as u32)
                .or_else(|| kb.software_index(id).map(|s| (nt + s) as u32))
        };
        let mut attributed: HashMap<usize, Vec<(usize, Vec<u32>)>> = HashMap::new();
        for r in &d.relations {
            if r.kind == RelKind::AttributedTo
                && let (Some(c), Some(g)) = (kb.campaign_index(&r.from), kb.group_index(&r.to))
            {
                attributed
                    .entry(c)
                    .or_default()
                    .push((g, r.sources.clone()));
            }
        }
        let mut paths: Vec<Vec<ItemPath>> = vec![Vec::new(); d.groups.len()];
        for r in d.relations.iter().filter(|r| r.kind == RelKind::Uses) {
            let Some(item) = item_of(&r.to) else { continue };
            if let Some(g) = kb.group_index(&r.from) {
                paths[g].push(ItemPath {
                    item,
                    sources: r.sources.clone(),
                    attribution: None,
                });
            } else if let Some(c) = kb.campaign_index(&r.from) {
                for (g, attr) in attributed.get(&c).into_iter().flatten() {
                    paths[*g].push(ItemPath {
                        item,
                        sources: r.sources.clone(),
                        attribution: Some(attr.clone()),
                    });
                }
            }
        }
        let mut citing: HashMap<u32, BTreeSet<usize>> = HashMap::new();
        for (g, ps) in paths.iter().enumerate() {
            for p in ps {
                for &s in p.sources.iter().chain(p.attribution.iter().flatten()) {
                    citing.entry(s).or_default().insert(g);
                }
            }
        }
        let base: Vec<Profile> = paths.iter().map(|p| profile(p, None)).collect();
        let n_items = nt + d.software.len();
        let mut base_df = vec![0u32; n_items];
        for p in &base {
            for &i in p.keys() {
                base_df[i as usize] += 1;
            }
        }
        ReportIndex {
            n_techniques: nt,
            paths,
            citing: citing
                .into_iter()
                .map(|(s, g)| (s, g.into_iter().collect()))
                .collect(),
            base,
            base_df,
        }
    }

    /// Number of candidate groups.
    pub fn groups(&self) -> usize {
        self.paths.len()
    }

    /// Is `item` a technique (not software)?
    pub fn is_technique(&self, item: u32) -> bool {
        (item as usize) < self.n_techniques
    }

    /// Every (group, source) pair where the source is cited for at least
    /// `min_items` of the group's items (techniques only when
    /// `techniques_only`), in group then source order.
    pub fn cases(&self, min_items: usize, techniques_only: bool) -> Vec<ReportCase> {
        let mut out = Vec::new();
        for (g, ps) in self.paths.iter().enumerate() {
            let mut by_source: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
            for p in ps {
                if techniques_only && !self.is_technique(p.item) {
                    continue;
                }
                for &s in &p.sources {
                    by_source.entry(s).or_default().insert(p.item);
                }
            }
            for (source, items) in by_source {
                if items.len() >= min_items {
                    out.push(ReportCase {
                        group: g,
                        source,
                        items: items.into_iter().collect(),
                    });
                }
            }
        }
        out
    }

    /// The model with `source` removed everywhere.
    pub fn held_out(&self, source: u32) -> HeldOut<'_> {
        let mut df = self.base_df.clone();
        let mut changed = HashMap::new();
        for &g in self.citing.get(&source).map(Vec::as_slice).unwrap_or(&[]) {
            let p = profile(&self.paths[g], Some(source));
            for i in self.base[g].keys() {
                if !p.contains_key(i) {
                    df[*i as usize] -= 1;
                }
            }
            changed.insert(g, p);
        }
        let mut held = HeldOut {
            index: self,
            changed,
            df,
            lengths: Vec::new(),
            mean_length: 1.0,
        };
        held.lengths = (0..self.groups())
            .map(|g| held.profile(g).values().map(|&tf| f64::from(tf)).sum())
            .collect();
        let total: f64 = held.lengths.iter().sum();
        held.mean_length = (total / self.groups().max(1) as f64).max(1.0);
        held
    }
}

/// Profile from a group's item paths with `held_out` removed.
fn profile(paths: &[ItemPath], held_out: Option<u32>) -> Profile {
    let mut support: HashMap<u32, BTreeSet<u32>> = HashMap::new();
    for p in paths {
        if !survives(&p.sources, held_out)
            || p.attribution
                .as_deref()
                .is_some_and(|a| !survives(a, held_out))
        {
            continue;
        }
        support
            .entry(p.item)
            .or_default()
            .extend(p.sources.iter().filter(|&&s| Some(s) != held_out));
    }
    support
        .into_iter()
        .map(|(i, s)| (i, (s.len() as u32).max(1)))
        .collect()
}

/// BM25 term-frequency saturation.
const BM25_K1: f64 = 1.2;
/// BM25 length normalisation.
const BM25_B: f64 = 0.75;

/// Profiles and statistics with one source removed.
#[derive(Debug)]
pub struct HeldOut<'a> {
    index: &'a ReportIndex,
    changed: HashMap<usize, Profile>,
    df: Vec<u32>,
    lengths: Vec<f64>,
    mean_length: f64,
}

impl HeldOut<'_> {
    /// Group `g`'s profile without the source.
    pub fn profile(&self, g: usize) -> &Profile {
        self.changed.get(&g).unwrap_or(&self.index.base[g])
    }

    /// Number of groups using `item` without the source.
    pub fn df(&self, item: u32) -> u32 {
        self.df[item as usize]
    }

    /// Plain IDF overlap: Σ over query items in the profile of ln(N / df).
    pub fn idf_scores(&self, query: &[u32]) -> Vec<f64> {
        let n = self.index.groups() as f64;
        (0..self.index.groups())
            .map(|g| {
                let p = self.profile(g);
                query
                    .iter()
                    .filter(|i| p.contains_key(i))
                    .map(|&i| (n / f64::from(self.df(i).max(1))).ln())
                    .sum()
            })
            .collect()
    }

    /// BM25 (k1 = 1.2, b = 0.75) with tf = number of independent sources
    /// supporting the item and document length = Σ tf of the profile.
    pub fn bm25_scores(&self, query: &[u32]) -> Vec<f64> {
        let n = self.index.groups() as f64;
        (0..self.index.groups())
            .map(|g| {
                let p = self.profile(g);
                let norm = 1.0 - BM25_B + BM25_B * self.lengths[g] / self.mean_length;
                query
                    .iter()
                    .filter_map(|i| p.get(i).map(|&tf| (*i, f64::from(tf))))
                    .map(|(i, tf)| {
                        let df = f64::from(self.df(i));
                        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                        idf * tf * (BM25_K1 + 1.0) / (tf + BM25_K1 * norm)
                    })
                    .sum()
            })
            .collect()
    }
}

/// A copy of `kb` without `source`: removed from every relation's citations,
/// and every relation it alone supported dropped (group, campaign,
/// attribution and software relations alike).
pub fn held_out_kb(kb: &KnowledgeBase, source: u32) -> KnowledgeBase {
    let mut data = kb.data().clone();
    data.relations.retain_mut(|r| {
        let keep = survives(&r.sources, Some(source));
        r.sources.retain(|&s| s != source);
        keep
    });
    for c in &mut data.campaigns {
        c.sources.retain(|&s| s != source);
    }
    KnowledgeBase::from_compiled(data)
}

/// The query of a case as kahu evidence.
pub fn case_evidence(kb: &KnowledgeBase, items: &[u32], techniques_only: bool) -> CaseEvidence {
    let d = kb.data();
    let nt = d.techniques.len();
    let mut ev = CaseEvidence::default();
    for &i in items {
        let i = i as usize;
        if i < nt {
            ev.add_technique(&d.techniques[i].id);
        } else if !techniques_only {
            ev.add_software(&d.software[i - nt].id);
        }
    }
    ev
}

/// Scores closer than this (relative) are a tie: the same items summed in
/// another order differ in the last bits, and a tie must not depend on that.
const TIE_TOLERANCE: f64 = 1e-9;

/// 1-based rank of `target` in `scores` (ties count against the target).
pub fn rank_in(scores: &[f64], target: usize) -> usize {
    let s = scores[target];
    let floor = s - TIE_TOLERANCE * s.abs().max(1.0);
    1 + scores
        .iter()
        .enumerate()
        .filter(|&(g, &x)| g != target && x >= floor)
        .count()
}

/// Probability of the leader under a softmax of `scores` at temperature 1
/// (the baselines' uncalibrated confidence).
pub fn softmax_top(scores: &[f64]) -> f64 {
    let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return 0.0;
    }
    let z: f64 = scores.iter().map(|&x| (x - m).exp()).sum();
    1.0 / z
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn obj(ty: &str, stix: &str, attack_id: &str) -> Value {
        json!({"type": ty, "id": stix, "name": attack_id,
            "external_references": [{"source_name": "mitre-attack", "external_id": attack_id}]})
    }

    fn rel(kind: &str, from: &str, to: &str, cites: &[(&str, Option<&str>)]) -> Value {
        let refs: Vec<Value> = cites
            .iter()
            .map(|(name, url)| json!({"source_name": name, "url": url}))
            .collect();
        json!({"type": "relationship", "id": format!("relationship--{from}-{to}"),
            "relationship_type": kind, "source_ref": from, "target_ref": to,
            "external_references": refs})
    }

    /// Report A is cited under two names whose URLs differ only in case,
    /// `www.` and a trailing slash; report B is a second, independent one.
    fn bundle() -> KnowledgeBase {
        let a1 = ("Vendor 2020", Some("HTTPS://WWW.Example.com/a/"));
        let a2 = ("Vendor Report", Some("https://example.com/a"));
        let b = ("Other 2021", Some("https://example.org/b"));
        let mut objects: Vec<Value> = (1..=6)
            .map(|i| {
                obj(
                    "attack-pattern",
                    &format!("attack-pattern--{i}"),
                    &format!("T100{i}"),
                )
            })
            .collect();
        objects.extend([
            obj("intrusion-set", "intrusion-set--1", "G0001"),
            obj("intrusion-set", "intrusion-set--2", "G0002"),
            obj("tool", "tool--1", "S0001"),
            obj("campaign", "campaign--1", "C0001"),
            rel("uses", "intrusion-set--1", "attack-pattern--1", &[a1]),
            rel("uses", "intrusion-set--1", "attack-pattern--2", &[a1, b]),
            rel("uses", "intrusion-set--1", "attack-pattern--3", &[a2]),
            rel("uses", "intrusion-set--2", "attack-pattern--1", &[b]),
            rel("uses", "tool--1", "attack-pattern--4", &[a2]),
            rel("uses", "tool--1", "attack-pattern--5", &[a1, b]),
            rel("uses", "campaign--1", "attack-pattern--6", &[b]),
            rel("attributed-to", "campaign--1", "intrusion-set--1", &[a1]),
        ]);
        let text = json!({"type": "bundle", "objects": objects}).to_string();
        compile_report_kb(text.as_bytes(), "test").expect("synthetic bundle compiles")
    }

    fn item(kb: &KnowledgeBase, id: &str) -> u32 {
        kb.technique_index(id).expect("technique") as u32
    }

    #[test]
    fn source_key_normalises_scheme_host_www_and_trailing_slash() {
        assert_eq!(
            source_key("x", Some(" HTTPS://WWW.Example.COM/Report/Path/ ")),
            "https://example.com/Report/Path"
        );
        assert_eq!(source_key("x", Some("http://www.a.org")), "http://a.org");
        assert_eq!(
            source_key("x", Some("https://a.org/p?q=1")),
            "https://a.org/p?q=1"
        );
        assert_eq!(source_key("Vendor 2020", None), "Vendor 2020");
        assert_eq!(source_key("Vendor 2020", Some("")), "Vendor 2020");
        // The two names of report A become one source.
        let kb = bundle();
        assert_eq!(kb.data().sources.len(), 2, "{:?}", kb.data().sources);
    }

    #[test]
    fn cases_are_group_report_pairs_with_enough_items() {
        let kb = bundle();
        let index = ReportIndex::new(&kb);
        let a = kb.source_index("https://example.com/a").expect("A");
        let b = kb.source_index("https://example.org/b").expect("B");
        let g1 = kb.group_index("G0001").expect("G0001");
        let cases = index.cases(3, false);
        assert_eq!(cases.len(), 1, "{cases:?}");
        let want: Vec<u32> = ["T1001", "T1002", "T1003"]
            .iter()
            .map(|t| item(&kb, t))
            .collect();
        assert_eq!(
            cases[0],
            ReportCase {
                group: g1,
                source: a,
                items: want
            }
        );
        // B supports T1002 directly and T1006 through the attributed campaign.
        let two = index.cases(2, true);
        assert!(
            two.iter()
                .any(|c| c.group == g1 && c.source == b && c.items.len() == 2)
        );
    }

    #[test]
    fn held_out_report_is_removed_everywhere() {
        let kb = bundle();
        let index = ReportIndex::new(&kb);
        let a = kb.source_index("https://example.com/a").expect("A");
        let (g1, g2) = (
            kb.group_index("G0001").unwrap(),
            kb.group_index("G0002").unwrap(),
        );
        let [t1, t2, t3, t6] = ["T1001", "T1002", "T1003", "T1006"].map(|t| item(&kb, t));
        assert_eq!(index.held_out(u32::MAX).df(t1), 2);
        let held = index.held_out(a);
        let p = held.profile(g1);
        // Supported only by A: gone (T1003 was cited under A's other name).
        assert!(!p.contains_key(&t1) && !p.contains_key(&t3));
        // Also supported by B: survives, now with one source.
        assert_eq!(p.get(&t2), Some(&1));
        // The campaign's attribution cited only A, so its technique goes too.
        assert!(!p.contains_key(&t6));
        assert!(held.profile(g2).contains_key(&t1));
        assert_eq!(held.df(t1), 1, "document statistics follow the removal");
        let scores = held.idf_scores(&[t1]);
        assert_eq!(scores[g1], 0.0);
        assert!(scores[g2] > 0.0);

        // The KB copy used by kahu's scorer: software relations too.
        let kb2 = held_out_kb(&kb, a);
        let has = |from: &str, to: &str| {
            kb2.data()
                .relations
                .iter()
                .find(|r| r.from == from && r.to == to)
                .map(|r| r.sources.clone())
        };
        assert_eq!(has("G0001", "T1001"), None);
        assert_eq!(has("G0001", "T1002").map(|s| s.contains(&a)), Some(false));
        assert_eq!(has("S0001", "T1004"), None);
        assert!(has("S0001", "T1005").is_some());
        assert_eq!(has("C0001", "G0001"), None);
        assert!(has("C0001", "T1006").is_some());
    }

    #[test]
    fn bm25_counts_independent_sources() {
        let kb = bundle();
        let index = ReportIndex::new(&kb);
        let held = index.held_out(u32::MAX);
        let (g1, g2) = (
            kb.group_index("G0001").unwrap(),
            kb.group_index("G0002").unwrap(),
        );
        let t2 = item(&kb, "T1002");
        assert_eq!(held.profile(g1).get(&t2), Some(&2));
        assert!(held.profile(g2).get(&t2).is_none());
        assert!(held.bm25_scores(&[t2])[g1] > 0.0);
        assert_eq!(
            rank_in(&[1.0, 1.0, 0.5], 0),
            2,
            "ties count against the target"
        );
    }
}
