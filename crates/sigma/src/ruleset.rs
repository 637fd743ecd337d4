//! [`RuleSet`]: rules loaded, compiled once per applicable field mapping,
//! indexed by log source, and evaluated per event.

use crate::compile::{self, Accessor, Check, Compiled, Env, ValueTest};
use crate::error::{Problem, RuleError};
use crate::eval::{Ctxs, Evaluator, Overlapping, Prefilter, Scanner};
use crate::gate::{FxHasher, FxMap, GateIndex, gates_of, mark, num_bits, set_bit};
use crate::logsource::{Mapping, applies_any, event_sources, mappings_for};
use crate::rule::{self, CorrelationRule, Document, FilterRule, SigmaRule, Status};
use kahu_event::Event;
use kahu_finding::{Finding, FindingKind, Level};
use rayon::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Index of a rule in a [`RuleSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleIdx(pub u32);

/// What to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Skip rules below this level.
    pub min_level: Level,
    /// Statuses to load; rules without a status are always loaded.
    pub statuses: Vec<Status>,
    /// Values for `%name%` placeholders used with `|expand`.
    pub placeholders: HashMap<String, Vec<String>>,
    /// Rules to leave out or relevel (applied before the level filter).
    /// Empty by default; `hunt` and `assess` start from
    /// [`Tuning::shipped`](crate::tuning::Tuning::shipped).
    pub tuning: crate::tuning::Tuning,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            min_level: Level::Informational,
            statuses: vec![Status::Stable, Status::Test, Status::Experimental],
            placeholders: HashMap::new(),
            tuning: crate::tuning::Tuning::default(),
        }
    }
}

/// The outcome of loading rules.
#[derive(Debug)]
pub struct LoadReport {
    /// The compiled rules.
    pub ruleset: RuleSet,
    /// Rules (or files) that could not be loaded, with the reason.
    pub errors: Vec<RuleError>,
    /// Rules loaded with a note: a legacy aggregation translated into a
    /// correlation rule, a missing condition read as the only search, an
    /// exclusion left empty by a placeholder without a value.
    /// Same shape as [`LoadReport::errors`], but the rule is in use.
    pub notes: Vec<RuleError>,
    /// Rule files read.
    pub files: usize,
    /// Detection rules parsed.
    pub parsed: usize,
    /// Detection rules compiled into the set.
    pub compiled: usize,
    /// Rules skipped by level or status filter.
    pub skipped: usize,
    /// Rules left out by tuning (`--exclude-rule`, tuning files).
    pub excluded: usize,
    /// Ids of the rules and correlations some tuning entry named, so an
    /// entry that named none (a typo in `--exclude-rule`) can be told.
    pub tuned: std::collections::BTreeSet<String>,
    /// Rules whose level tuning changed.
    pub releveled: usize,
    /// Correlation rules, deferred to the correlation stage.
    pub correlations: Vec<CorrelationRule>,
    /// Global filters found (applied to the rules they name).
    pub filters: Vec<FilterRule>,
}

struct Variant {
    rule: u32,
    compiled: Compiled,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    product: Option<Arc<str>>,
    service: Option<Arc<str>>,
    category: Option<Arc<str>>,
    channel: Option<Arc<str>>,
    event_id: Option<u32>,
    alt: Vec<kahu_event::LogSource>,
}

impl CacheKey {
    fn borrowed_eq(&self, e: &Event) -> bool {
        self.product == e.logsource.product
            && self.service == e.logsource.service
            && self.category == e.logsource.category
            && self.channel == e.channel
            && self.event_id == e.event_id
            && self.alt == e.alt_logsources
    }
}

fn key_hash(e: &Event) -> u64 {
    let mut h = FxHasher::default();
    e.logsource.product.hash(&mut h);
    e.logsource.service.hash(&mut h);
    e.logsource.category.hash(&mut h);
    e.channel.hash(&mut h);
    e.event_id.hash(&mut h);
    e.alt_logsources.hash(&mut h);
    h.finish()
}

/// The rules that apply to one log source, with what it takes to gate them.
struct Plan {
    /// Applicable variants in rule order.
    list: Vec<u32>,
    /// Bit set of applicable gated variants.
    gated: Vec<u64>,
    /// Bit set of applicable variants without a gate (always evaluated).
    ungated: Vec<u64>,
    /// Bit set of applicable gated variants with a single gate.
    single: Vec<u64>,
    /// Accessors to scan for gate needles.
    scan_accs: Vec<u32>,
    /// Exact-value gates to look up.
    value_gates: Vec<u32>,
    /// Keyword literals of the applicable variants' gates, in one
    /// automaton (shared between plans with the same literals), or `None`
    /// when no applicable gate has keyword literals.
    kw_scanner: Option<Arc<Scanner>>,
}

type Candidates = Arc<Plan>;

/// Distinct log-source keys cached; evidence with more (hostile event ids)
/// is still matched, just planned per event.
const MAX_CACHED_PLANS: usize = 4096;

/// Distinct keyword-literal sets with their own scanner.
const MAX_KW_SCANNERS: usize = 64;

/// The scanner for keyword literals (lower-case), searched in lower-cased
/// leaf values: an existence test first (most leaves hold no keyword), then
/// the overlapping search.
fn kw_scanner(needles: &[(u32, Vec<u8>)]) -> Option<Scanner> {
    if needles.is_empty() {
        return None;
    }
    let texts: Vec<&[u8]> = needles.iter().map(|(_, n)| n.as_slice()).collect();
    let pre = Prefilter::new(&texts);
    Overlapping::new(&texts, true)
        .map(|ac| Scanner::new(ac, &texts, needles.iter().map(|(id, _)| *id).collect(), pre))
}

/// Compiled Sigma detection rules. `Send + Sync`: share one across threads.
pub struct RuleSet {
    id: u64,
    rules: Vec<SigmaRule>,
    variants: Vec<Variant>,
    /// Variant index per (rule, mapping).
    by_rule: Vec<Vec<(Mapping, u32)>>,
    accessors: Vec<Accessor>,
    /// Per accessor: the shared substring scan (see [`Scanner`]).
    scanners: Vec<Option<Scanner>>,
    /// Keyword gate literals (global needle id → lower-case text), sorted by id.
    kw_needles: Vec<(u32, Vec<u8>)>,
    /// Keyword scanners by the set of needle ids they find (bounded).
    kw_scanners: RwLock<FxMap<Vec<u32>, Arc<Scanner>>>,
    /// Every keyword literal, for plans beyond the scanner cache.
    kw_all: Option<Arc<Scanner>>,
    needles: usize,
    gates: GateIndex,
    /// Whether matching uses gates (off only for differential testing).
    gating: bool,
    cache: RwLock<FxMap<u64, Vec<(CacheKey, Candidates)>>>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.len())
            .field("variants", &self.variants.len())
            .field("accessors", &self.accessors.len())
            .finish()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static CTX: RefCell<Ctxs> = RefCell::new(Ctxs::default());
}

/// A parsed document with its origin, before compilation.
struct Parsed {
    origin: Arc<str>,
    index: usize,
    result: Result<Document, (Option<String>, Option<String>, Problem)>,
}

fn parse_text(origin: &Arc<str>, text: &str) -> Result<Vec<Parsed>, RuleError> {
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(text).map_err(|e| RuleError {
            origin: origin.clone(),
            document: 0,
            rule_id: None,
            title: None,
            construct: String::new(),
            reason: crate::error::yaml_reason(&e),
        })?;
    Ok(docs
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.is_null())
        .map(|(index, d)| Parsed {
            origin: origin.clone(),
            index,
            result: rule::parse_document(d, origin).map_err(|p| {
                let (id, title) = rule::identity(d);
                (id, title, p)
            }),
        })
        .collect())
}

/// Rule files under `paths` (files as given; directories walked for `.yml`/`.yaml`), sorted.
pub fn rule_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<RuleError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_file() {
            files.push(p.clone());
            continue;
        }
        for entry in walkdir::WalkDir::new(p).follow_links(true) {
            match entry {
                Ok(e) => {
                    let ext = e.path().extension().and_then(|x| x.to_str()).unwrap_or("");
                    if e.file_type().is_file()
                        && (ext.eq_ignore_ascii_case("yml") || ext.eq_ignore_ascii_case("yaml"))
                    {
                        files.push(e.into_path());
                    }
                }
                Err(err) => errors.push(RuleError {
                    origin: Arc::from(p.display().to_string()),
                    document: 0,
                    rule_id: None,
                    title: None,
                    construct: String::new(),
                    reason: format!("cannot walk: {err}"),
                }),
            }
        }
    }
    files.sort();
    (files, errors)
}

/// Rule files larger than this are rejected: rules are small text files.
const MAX_RULE_FILE: u64 = 16 << 20;

/// Parsed documents sorted by kind, tuning, level and status applied,
/// before anything is compiled.
#[derive(Default)]
struct Sorted {
    /// Detection rules to compile, with their document index.
    rules: Vec<(usize, SigmaRule)>,
    correlations: Vec<CorrelationRule>,
    filters: Vec<FilterRule>,
    errors: Vec<RuleError>,
    notes: Vec<RuleError>,
    /// Detection rules parsed (or failed to parse).
    parsed: usize,
    skipped: usize,
    excluded: usize,
    releveled: usize,
    tuned: std::collections::BTreeSet<String>,
}

/// Sort parsed documents: tuning's exclusions and levels applied, rules
/// under the minimum level or of an unwanted status counted as skipped, a
/// legacy aggregation's translated correlation kept beside its rule.
fn sort_documents(parsed: Vec<Parsed>, opts: &LoadOptions) -> Sorted {
    let mut d = Sorted::default();
    for p in parsed {
        match p.result {
            Ok(Document::Rule(mut r)) => {
                d.parsed += 1;
                if opts.tuning.get(&r.id).is_some() {
                    d.tuned.insert(r.id.to_string());
                }
                match opts.tuning.get(&r.id).map(|a| &a.action) {
                    Some(crate::tuning::Action::Exclude) => {
                        d.excluded += 1;
                        continue;
                    }
                    Some(crate::tuning::Action::Level(l)) => {
                        r.level = *l;
                        d.releveled += 1;
                    }
                    // Added to the global filters in `build` (`tuning_filters`).
                    Some(crate::tuning::Action::Filter(_)) | None => {}
                }
                let status_ok = r.status.is_none_or(|s| opts.statuses.contains(&s));
                if r.level < opts.min_level || !status_ok {
                    d.skipped += 1;
                } else {
                    for (construct, reason) in &r.detection.notes {
                        d.notes.push(RuleError {
                            origin: p.origin.clone(),
                            document: p.index,
                            rule_id: (!r.id.is_empty()).then(|| r.id.to_string()),
                            title: Some(r.title.to_string()),
                            construct: construct.clone(),
                            reason: reason.clone(),
                        });
                    }
                    if let Some(mut c) = r.aggregation.take() {
                        // Relevelling applies to the translated rule too.
                        if let Some(crate::tuning::Action::Level(l)) =
                            opts.tuning.get(&r.id).map(|a| &a.action)
                        {
                            c.document["level"] = serde_json::json!(l.as_str());
                        }
                        d.correlations.push(*c);
                    }
                    d.rules.push((p.index, *r));
                }
            }
            Ok(Document::Correlation(c)) => {
                if opts.tuning.get(&c.id).is_some() {
                    d.tuned.insert(c.id.to_string());
                }
                if matches!(
                    opts.tuning.get(&c.id).map(|a| &a.action),
                    Some(crate::tuning::Action::Exclude)
                ) {
                    d.excluded += 1;
                } else {
                    d.correlations.push(*c);
                }
            }
            Ok(Document::Filter(f)) => d.filters.push(*f),
            Err((rule_id, title, prob)) => {
                d.parsed += 1;
                d.errors.push(RuleError {
                    origin: p.origin,
                    document: p.index,
                    rule_id,
                    title,
                    construct: prob.construct,
                    reason: prob.reason,
                })
            }
        }
    }
    d
}

impl RuleSet {
    /// Read, parse and compile rule files and directories, in parallel.
    pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> LoadReport {
        let (files, mut errors) = rule_files(paths);
        let results: Vec<Result<Vec<Parsed>, RuleError>> = files
            .par_iter()
            .map(|f| {
                let origin: Arc<str> = Arc::from(f.display().to_string());
                let text = read_rule_file(f).map_err(|reason| RuleError {
                    origin: origin.clone(),
                    document: 0,
                    rule_id: None,
                    title: None,
                    construct: String::new(),
                    reason: reason.to_string(),
                })?;
                parse_text(&origin, &text)
            })
            .collect();
        let mut parsed = Vec::new();
        for r in results {
            match r {
                Ok(p) => parsed.extend(p),
                Err(e) => errors.push(e),
            }
        }
        let mut report = Self::build(parsed, opts);
        report.files = files.len();
        errors.append(&mut report.errors);
        report.errors = errors;
        report
    }

    /// Parse and compile rules given as text (`(origin name, yaml)`), e.g. embedded rule sets.
    pub fn from_yaml(docs: &[(&str, &str)], opts: &LoadOptions) -> LoadReport {
        let mut parsed = Vec::new();
        let mut errors = Vec::new();
        for (name, text) in docs {
            match parse_text(&Arc::from(*name), text) {
                Ok(p) => parsed.extend(p),
                Err(e) => errors.push(e),
            }
        }
        let mut report = Self::build(parsed, opts);
        report.files = docs.len();
        errors.append(&mut report.errors);
        report.errors = errors;
        report
    }

    fn build(parsed: Vec<Parsed>, opts: &LoadOptions) -> LoadReport {
        let Sorted {
            rules,
            correlations,
            mut filters,
            mut errors,
            mut notes,
            parsed: n_parsed,
            skipped,
            excluded,
            releveled,
            tuned,
        } = sort_documents(parsed, opts);
        filters.extend(tuning_filters(&opts.tuning, &mut errors));
        let env_ph = &opts.placeholders;
        let filters_for = |r: &SigmaRule| -> Vec<&rule::Detection> {
            filters
                .iter()
                .filter(|f| {
                    f.rules.iter().any(|x| {
                        (!r.id.is_empty() && **x == *r.id) || r.name.as_deref() == Some(x.as_str())
                    })
                })
                .map(|f| &f.detection)
                .collect()
        };
        // Costly rules are turned away before compiling, in load order, so
        // one hostile rule cannot take the memory or time of the rest.
        let mut regexes = 0usize;
        let rules: Vec<(usize, SigmaRule)> = rules
            .into_iter()
            .filter_map(|(index, r)| {
                match compile::charge_regexes(&r.detection, &filters_for(&r), &mut regexes) {
                    Ok(()) => Some((index, r)),
                    Err(p) => {
                        errors.push(rule_error(&r, index, p.construct, p.reason));
                        None
                    }
                }
            })
            .collect();
        let compiled: Vec<Result<Vec<(Mapping, Compiled)>, RuleError>> = rules
            .par_iter()
            .map(|(index, r)| {
                let fs = filters_for(r);
                mappings_for(&r.logsource)
                    .into_iter()
                    .map(|mapping| {
                        let env = Env {
                            mapping,
                            placeholders: env_ph,
                        };
                        compile::compile(&r.detection, &fs, &env).map(|c| (mapping, c))
                    })
                    .collect::<Result<Vec<_>, Problem>>()
                    .map_err(|p| rule_error(r, *index, p.construct, p.reason))
            })
            .collect();
        let mut set = RuleSet {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            rules: Vec::new(),
            variants: Vec::new(),
            by_rule: Vec::new(),
            accessors: Vec::new(),
            scanners: Vec::new(),
            kw_needles: Vec::new(),
            kw_scanners: RwLock::new(FxMap::default()),
            kw_all: None,
            needles: 0,
            gates: GateIndex::default(),
            gating: true,
            cache: RwLock::new(FxMap::default()),
        };
        let mut acc_index: HashMap<Accessor, u32> = HashMap::new();
        for ((index, mut r), c) in rules.into_iter().zip(compiled) {
            match c {
                Err(e) => errors.push(e),
                Ok(variants) => {
                    // Every mapping compiles the same searches: one list.
                    if let Some((_, first)) = variants.first() {
                        r.unapplied_exclusions = first.unapplied.clone();
                    }
                    for (search, ph) in &r.unapplied_exclusions {
                        let reason = format!(
                            "placeholder `%{ph}%` has no value: the exclusion `{search}` \
                             is taken as an empty list and excludes nothing, so the rule \
                             reports every event it would have let pass (findings say so in \
                             `UnappliedExclusions`; give --placeholder {ph}=VALUE)"
                        );
                        notes.push(rule_error(&r, index, format!("detection.{search}"), reason));
                    }
                    let ridx = set.rules.len() as u32;
                    let mut by = Vec::new();
                    for (mapping, mut comp) in variants {
                        let map: Vec<u32> = comp
                            .accessors
                            .iter()
                            .map(|a| {
                                *acc_index.entry(a.clone()).or_insert_with(|| {
                                    set.accessors.push(a.clone());
                                    set.accessors.len() as u32 - 1
                                })
                            })
                            .collect();
                        comp.remap(&map);
                        by.push((mapping, set.variants.len() as u32));
                        set.variants.push(Variant {
                            rule: ridx,
                            compiled: comp,
                        });
                    }
                    set.rules.push(r);
                    set.by_rule.push(by);
                }
            }
        }
        set.build_scanners();
        LoadReport {
            compiled: set.rules.len(),
            ruleset: set,
            errors,
            files: 0,
            parsed: n_parsed,
            skipped,
            excluded,
            releveled,
            tuned,
            correlations,
            filters,
            notes,
        }
    }

    /// Move every case-insensitive substring needle into one automaton per
    /// field; string sets keep only the needles' global ids.
    fn build_scanners(&mut self) {
        // One more needle list than accessors: keyword gate literals.
        let kw = self.accessors.len() as u32;
        let mut per_acc: Vec<Vec<Vec<u8>>> = vec![Vec::new(); self.accessors.len() + 1];
        let mut per_acc_ids: Vec<Vec<u32>> = vec![Vec::new(); self.accessors.len() + 1];
        let mut index: HashMap<(u32, Vec<u8>), u32> = HashMap::new();
        let mut next = 0u32;
        let mut intern = |acc: u32,
                          n: Vec<u8>,
                          per_acc: &mut Vec<Vec<Vec<u8>>>,
                          per_acc_ids: &mut Vec<Vec<u32>>|
         -> u32 {
            *index.entry((acc, n.clone())).or_insert_with(|| {
                per_acc[acc as usize].push(n);
                per_acc_ids[acc as usize].push(next);
                next += 1;
                next - 1
            })
        };
        let mut gates = GateIndex::default();
        for (vi, v) in self.variants.iter_mut().enumerate() {
            // Gate literals are lower-case like the scanned values.
            let mut g = gates_of(&v.compiled.root, &v.compiled.checks, kw);
            g.retain(|keys| keys.len() <= 4096);
            if !g.is_empty() {
                gates.add(vi as u32, kw, g, |acc, lit| {
                    intern(acc, lit, &mut per_acc, &mut per_acc_ids)
                });
            }
            for c in &mut v.compiled.checks {
                let Check::Field { acc, tests, .. } = c else {
                    continue;
                };
                for t in tests {
                    let ValueTest::Str(set) = t else { continue };
                    let needles = set.extract_contains();
                    set.ids = needles
                        .into_iter()
                        .map(|n| intern(*acc, n, &mut per_acc, &mut per_acc_ids))
                        .collect();
                }
            }
        }
        self.needles = next as usize;
        gates.lit_post.resize_with(self.needles, Vec::new);
        self.gates = gates;
        // Keyword literals are searched in lower-cased leaf values
        // (`Evaluator::scan_keywords`).
        let (kw_needles, kw_ids) = (
            per_acc.pop().unwrap_or_default(),
            per_acc_ids.pop().unwrap_or_default(),
        );
        let mut kw: Vec<(u32, Vec<u8>)> = kw_ids.into_iter().zip(kw_needles).collect();
        kw.sort_unstable();
        self.kw_all = kw_scanner(&kw).map(Arc::new);
        self.kw_needles = kw;
        self.scanners = per_acc
            .into_iter()
            .zip(per_acc_ids)
            .map(|(needles, ids)| {
                if needles.is_empty() {
                    return None;
                }
                // Building can only fail on absurd sizes; needles are bounded by the rule files.
                let texts: Vec<&[u8]> = needles.iter().map(Vec::as_slice).collect();
                Overlapping::new(&texts, false).map(|ac| Scanner::new(ac, &texts, ids, None))
            })
            .collect();
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// `true` when no rule loaded.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// A rule by index.
    pub fn rule(&self, idx: RuleIdx) -> &SigmaRule {
        &self.rules[idx.0 as usize]
    }

    /// All rules with their indices.
    pub fn rules(&self) -> impl Iterator<Item = (RuleIdx, &SigmaRule)> {
        self.rules
            .iter()
            .enumerate()
            .map(|(i, r)| (RuleIdx(i as u32), r))
    }

    /// Find a rule by `id` or `name`.
    pub fn find(&self, id_or_name: &str) -> Option<RuleIdx> {
        self.rules
            .iter()
            .position(|r| &*r.id == id_or_name || r.name.as_deref() == Some(id_or_name))
            .map(|i| RuleIdx(i as u32))
    }

    fn candidates(&self, e: &Event) -> Candidates {
        let h = key_hash(e);
        if let Ok(cache) = self.cache.read()
            && let Some(list) = cache.get(&h)
            && let Some((_, c)) = list.iter().find(|(k, _)| k.borrowed_eq(e))
        {
            return c.clone();
        }
        let sources = event_sources(e);
        let mut cands = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            if let Some(m) = applies_any(&r.logsource, &sources)
                && let Some((_, v)) = self.by_rule[i].iter().find(|(mm, _)| *mm == m)
            {
                cands.push(*v);
            }
        }
        let cands: Candidates = Arc::new(self.plan(cands));
        let key = CacheKey {
            product: e.logsource.product.clone(),
            service: e.logsource.service.clone(),
            category: e.logsource.category.clone(),
            channel: e.channel.clone(),
            event_id: e.event_id,
            alt: e.alt_logsources.clone(),
        };
        if let Ok(mut cache) = self.cache.write()
            && (cache.len() < MAX_CACHED_PLANS || cache.contains_key(&h))
        {
            let list = cache.entry(h).or_default();
            if list.len() < 8 && !list.iter().any(|(k, _)| *k == key) {
                list.push((key, cands.clone()));
            }
        }
        cands
    }

    /// Split applicable variants into gated and ungated bit sets and
    /// collect the gate inputs they need.
    fn plan(&self, list: Vec<u32>) -> Plan {
        let words = self.variants.len().div_ceil(64);
        let mut plan = Plan {
            gated: vec![0; words],
            ungated: vec![0; words],
            single: vec![0; words],
            scan_accs: Vec::new(),
            value_gates: Vec::new(),
            kw_scanner: None,
            list: Vec::new(),
        };
        let mut kw_lits = Vec::new();
        for &v in &list {
            match self.gates.of(v) {
                Some(g) => {
                    set_bit(&mut plan.gated, v);
                    if !g.two {
                        set_bit(&mut plan.single, v);
                    }
                    plan.scan_accs.extend(&g.scan_accs);
                    plan.value_gates.extend(&g.value_gates);
                    kw_lits.extend(&g.kw_lits);
                }
                None => set_bit(&mut plan.ungated, v),
            }
        }
        plan.scan_accs.sort_unstable();
        plan.scan_accs.dedup();
        plan.value_gates.sort_unstable();
        plan.value_gates.dedup();
        kw_lits.sort_unstable();
        kw_lits.dedup();
        plan.kw_scanner = self.kw_scanner_for(kw_lits);
        plan.list = list;
        plan
    }

    /// The keyword scanner for exactly these needle ids, built once per
    /// distinct set; past [`MAX_KW_SCANNERS`] sets, the scanner over every
    /// keyword literal (its extra hits only open inapplicable variants,
    /// which the plan's bit sets mask out).
    fn kw_scanner_for(&self, ids: Vec<u32>) -> Option<Arc<Scanner>> {
        if ids.is_empty() {
            return None;
        }
        if let Ok(m) = self.kw_scanners.read()
            && let Some(s) = m.get(&ids)
        {
            return Some(s.clone());
        }
        if self
            .kw_scanners
            .read()
            .map_or(true, |m| m.len() >= MAX_KW_SCANNERS)
        {
            return self.kw_all.clone();
        }
        let needles: Vec<(u32, Vec<u8>)> = self
            .kw_needles
            .iter()
            .filter(|(id, _)| ids.binary_search(id).is_ok())
            .cloned()
            .collect();
        let Some(sc) = kw_scanner(&needles).map(Arc::new) else {
            return self.kw_all.clone();
        };
        if let Ok(mut m) = self.kw_scanners.write()
            && m.len() < MAX_KW_SCANNERS
        {
            m.insert(ids, sc.clone());
        }
        Some(sc)
    }

    /// How many rules can apply to `event` by log source (diagnostics).
    pub fn applicable(&self, event: &Event) -> usize {
        self.candidates(event).list.len()
    }

    /// Turn gate evaluation off (`false`) or on: every applicable rule is
    /// then evaluated in full. Results are identical either way; this
    /// exists for differential tests and for measuring what gates save.
    #[doc(hidden)]
    pub fn set_gating(&mut self, on: bool) {
        self.gating = on;
    }

    /// Append the rules matching `event` to `out` (in rule order).
    pub fn matches(&self, event: &Event, out: &mut Vec<RuleIdx>) {
        let plan = self.candidates(event);
        if plan.list.is_empty() {
            return;
        }
        CTX.with(|c| {
            let Ok(mut ctxs) = c.try_borrow_mut() else {
                return;
            };
            let ctx = ctxs.for_set(self.id);
            ctx.begin(self.id, self.accessors.len(), self.needles);
            let mut marks = std::mem::take(&mut ctx.marks);
            let mut ev = Evaluator {
                ctx,
                accessors: &self.accessors,
                scanners: &self.scanners,
                event,
            };
            if self.gating {
                self.open_gates(&plan, &mut ev, &mut marks);
                for (w, bits) in marks.iter().enumerate() {
                    let mut bits = *bits;
                    while bits != 0 {
                        let v = (w * 64) as u32 + bits.trailing_zeros();
                        bits &= bits - 1;
                        let var = &self.variants[v as usize];
                        if ev.node(&var.compiled.root, &var.compiled.checks) {
                            out.push(RuleIdx(var.rule));
                        }
                    }
                }
            } else {
                for &v in &plan.list {
                    let var = &self.variants[v as usize];
                    if ev.node(&var.compiled.root, &var.compiled.checks) {
                        out.push(RuleIdx(var.rule));
                    }
                }
            }
            ctx.marks = marks;
        });
    }

    /// Rules with a variant that has no gate, evaluated on every applicable
    /// event (diagnostics).
    #[doc(hidden)]
    pub fn ungated_rules(&self) -> Vec<RuleIdx> {
        let mut out: Vec<RuleIdx> = (0..self.variants.len() as u32)
            .filter(|&v| self.gates.of(v).is_none())
            .map(|v| RuleIdx(self.variants[v as usize].rule))
            .collect();
        out.dedup();
        out
    }

    /// Gate diagnostics for one event: (applicable rules, of which ungated,
    /// rules evaluated in full after gating).
    #[doc(hidden)]
    pub fn gate_profile(&self, event: &Event) -> (usize, usize, usize) {
        let plan = self.candidates(event);
        let ungated = plan.ungated.iter().map(|w| w.count_ones() as usize).sum();
        let evaluated = CTX.with(|c| {
            let Ok(mut ctxs) = c.try_borrow_mut() else {
                return 0;
            };
            let ctx = ctxs.for_set(self.id);
            ctx.begin(self.id, self.accessors.len(), self.needles);
            let mut marks = std::mem::take(&mut ctx.marks);
            let mut ev = Evaluator {
                ctx,
                accessors: &self.accessors,
                scanners: &self.scanners,
                event,
            };
            self.open_gates(&plan, &mut ev, &mut marks);
            let n = marks.iter().map(|w| w.count_ones() as usize).sum();
            ctx.marks = marks;
            n
        });
        (plan.list.len(), ungated, evaluated)
    }

    /// Fill `marks` with the variants to evaluate: ungated ones, and gated
    /// ones with a gate key present in the event.
    fn open_gates(&self, plan: &Plan, ev: &mut Evaluator<'_>, marks: &mut Vec<u64>) {
        let words = plan.gated.len();
        marks.clear();
        marks.resize(2 * words, 0);
        for &acc in &plan.scan_accs {
            ev.scan(acc);
        }
        if let Some(sc) = &plan.kw_scanner {
            ev.scan_keywords(sc);
        }
        for &id in &ev.ctx.new_hits {
            for &p in &self.gates.lit_post[id as usize] {
                mark(marks, words, p);
            }
        }
        for &g in &plan.value_gates {
            let vg = &self.gates.values[g as usize];
            for (num, text) in ev.values(vg.acc) {
                let post = match num {
                    Some(n) => vg.nums.get(&num_bits(n)),
                    None => vg.texts.get(text),
                };
                for &p in post.into_iter().flatten() {
                    mark(marks, words, p);
                }
            }
        }
        let (first, second) = marks.split_at_mut(words);
        for (i, m) in first.iter_mut().enumerate() {
            *m = (*m & (second[i] | plan.single[i]) & plan.gated[i]) | plan.ungated[i];
        }
        marks.truncate(words);
    }

    /// Whether one rule matches, ignoring its log source (for tests and tools).
    pub fn rule_matches(&self, idx: RuleIdx, event: &Event) -> bool {
        let sources = event_sources(event);
        let m =
            applies_any(&self.rules[idx.0 as usize].logsource, &sources).unwrap_or(Mapping::Native);
        let by = &self.by_rule[idx.0 as usize];
        let Some((_, v)) = by.iter().find(|(mm, _)| *mm == m).or(by.first()) else {
            return false;
        };
        CTX.with(|c| {
            let Ok(mut ctxs) = c.try_borrow_mut() else {
                return false;
            };
            let ctx = ctxs.for_set(self.id);
            ctx.begin(self.id, self.accessors.len(), self.needles);
            let var = &self.variants[*v as usize];
            Evaluator {
                ctx,
                accessors: &self.accessors,
                scanners: &self.scanners,
                event,
            }
            .node(&var.compiled.root, &var.compiled.checks)
        })
    }

    /// A finding for a match of rule `idx` on `event`.
    pub fn finding(&self, idx: RuleIdx, event: &Event) -> Finding {
        let r = self.rule(idx);
        let tags = kahu_finding::attack_tags(r.tags.iter().map(|t| &**t));
        let mut fields = kahu_finding::key_fields(event, 8);
        if let Some(template) = &r.details {
            let summary = crate::hayabusa::render_details(template, event);
            fields.insert(0, (Arc::from("Summary"), summary));
        }
        if !r.unapplied_exclusions.is_empty() {
            let text = r
                .unapplied_exclusions
                .iter()
                .map(|(search, ph)| format!("{search} (%{ph}% has no value)"))
                .collect::<Vec<_>>()
                .join("; ");
            fields.push((Arc::from("UnappliedExclusions"), text));
        }
        Finding {
            kind: FindingKind::Sigma,
            rule_id: if r.id.is_empty() {
                r.title.clone()
            } else {
                r.id.clone()
            },
            title: r.title.clone(),
            level: r.level,
            techniques: tags.techniques,
            software: tags.software,
            groups: tags.groups,
            timestamp: event.timestamp,
            host: event.host.clone(),
            channel: event.channel.clone(),
            event_id: event.event_id,
            fields,
            provenance: event.provenance.clone(),
            related: Vec::new(),
        }
    }
}

/// Read a rule file as UTF-8 text, refusing files over 16 MiB (rule files
/// come from anywhere, and the whole text is parsed). Shared with the
/// correlation loader, which reads the same files.
pub fn read_rule_file(p: &Path) -> Result<String, RuleFileError> {
    let meta = std::fs::metadata(p).map_err(RuleFileError::Read)?;
    if meta.len() > MAX_RULE_FILE {
        return Err(RuleFileError::TooLarge { bytes: meta.len() });
    }
    let bytes = std::fs::read(p).map_err(RuleFileError::Read)?;
    String::from_utf8(bytes).map_err(|e| RuleFileError::NotUtf8 {
        valid_up_to: e.utf8_error().valid_up_to(),
    })
}

/// Why a rule file could not be read; the caller's [`RuleError`] names the
/// file.
#[derive(Debug, thiserror::Error)]
pub enum RuleFileError {
    /// The file could not be opened or read.
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    /// Larger than the 16 MiB a rule file may have.
    #[error("{bytes} bytes: too large for a rule file")]
    TooLarge {
        /// The file's size.
        bytes: u64,
    },
    /// Not UTF-8 text.
    #[error("not UTF-8 (byte {valid_up_to})")]
    NotUtf8 {
        /// Bytes before the first invalid sequence.
        valid_up_to: usize,
    },
}

/// Tuning entries with a `filter` as global filters on their rule. The
/// filter was checked when the tuning file was read; should it still fail
/// here, the rule loads unfiltered and the reason is listed as an error.
fn tuning_filters(
    tuning: &crate::tuning::Tuning,
    errors: &mut Vec<RuleError>,
) -> Vec<crate::rule::FilterRule> {
    let mut out = Vec::new();
    for (id, adj) in tuning.entries() {
        let crate::tuning::Action::Filter(doc) = &adj.action else {
            continue;
        };
        match crate::rule::parse_detection(doc, "filter") {
            Ok(detection) => out.push(crate::rule::FilterRule {
                id: Arc::from(format!("tuning:{id}")),
                title: Arc::from(format!("tuning filter for {id}")),
                logsource: Default::default(),
                rules: vec![id.to_string()],
                detection,
                origin: Arc::from(adj.origin.as_str()),
            }),
            Err(p) => errors.push(RuleError {
                origin: Arc::from(adj.origin.as_str()),
                document: 0,
                rule_id: Some(id.to_string()),
                title: None,
                construct: p.construct,
                reason: p.reason,
            }),
        }
    }
    out
}

/// A problem with (or note on) rule `r`, document `document` of its file.
fn rule_error(r: &SigmaRule, document: usize, construct: String, reason: String) -> RuleError {
    RuleError {
        origin: r.origin.clone(),
        document,
        rule_id: (!r.id.is_empty()).then(|| r.id.to_string()),
        title: Some(r.title.to_string()),
        construct,
        reason,
    }
}
