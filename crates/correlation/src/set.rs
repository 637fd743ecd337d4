//! Loading correlation documents and binding their `rules` references to
//! compiled detection rules.

use crate::error::{CorrelationError, Problem};
use crate::rule::{self, Correlation};
use kahu_finding::{AttackTags, Level};
use kahu_sigma::{RuleIdx, RuleSet};
use serde_json::Value as J;
use std::path::PathBuf;
use std::sync::Arc;

/// Parsed correlation rules, not yet tied to a [`RuleSet`].
#[derive(Debug, Clone, Default)]
pub struct CorrelationSet {
    /// The correlations, in load order.
    pub correlations: Vec<Correlation>,
    /// Documents that looked like correlations but could not be parsed,
    /// and files that could not be read.
    pub errors: Vec<CorrelationError>,
}

impl CorrelationSet {
    /// Parse `(origin name, yaml)` texts. Multi-document texts may mix
    /// detection rules and correlations; only documents with a
    /// `correlation` key are taken, the rest belong to the Sigma loader.
    pub fn from_yaml(docs: &[(&str, &str)]) -> Self {
        let mut set = CorrelationSet::default();
        for (name, text) in docs {
            set.add_text(&Arc::from(*name), text);
        }
        set
    }

    /// Read files and directories (walked for `.yml`/`.yaml`, like the
    /// detection-rule loader does).
    pub fn load(paths: &[PathBuf]) -> Self {
        let (files, walk_errors) = kahu_sigma::rule_files(paths);
        let mut set = CorrelationSet::default();
        for e in walk_errors {
            set.errors
                .push(CorrelationError::new(&e.origin, None, None, "", e.reason));
        }
        for f in files {
            let origin: Arc<str> = Arc::from(f.display().to_string());
            match kahu_sigma::read_rule_file(&f) {
                Ok(text) => {
                    // Cheap pre-filter: most rule files hold no correlation.
                    if text.contains("correlation") {
                        set.add_text(&origin, &text)
                    }
                }
                Err(reason) => set.errors.push(CorrelationError::new(
                    &origin,
                    None,
                    None,
                    "",
                    reason.to_string(),
                )),
            }
        }
        set
    }

    /// Take the correlation documents the Sigma loader already found
    /// ([`kahu_sigma::LoadReport::correlations`]), so files are read once.
    pub fn from_rules(rules: &[kahu_sigma::CorrelationRule]) -> Self {
        let mut set = CorrelationSet::default();
        for r in rules {
            set.add_doc(&r.origin, None, &r.document);
        }
        set
    }

    fn add_text(&mut self, origin: &Arc<str>, text: &str) {
        match serde_saphyr::from_multiple::<J>(text) {
            Ok(docs) => {
                for (i, d) in docs.iter().enumerate() {
                    if d.get("correlation").is_some() {
                        self.add_doc(origin, Some(i), d);
                    }
                }
            }
            Err(e) => self.errors.push(CorrelationError::new(
                origin,
                None,
                None,
                "",
                kahu_sigma::yaml_reason(&e),
            )),
        }
    }

    fn add_doc(&mut self, origin: &Arc<str>, document: Option<usize>, doc: &J) {
        match rule::parse(doc, origin, document) {
            Ok(c) => self.correlations.push(c),
            Err(Problem { construct, reason }) => self.errors.push(CorrelationError::new(
                origin,
                document,
                rule::identity(doc),
                construct,
                reason,
            )),
        }
    }

    /// Number of correlations.
    pub fn len(&self) -> usize {
        self.correlations.len()
    }

    /// `true` when there are none.
    pub fn is_empty(&self) -> bool {
        self.correlations.is_empty()
    }

    /// Resolve every `rules` reference (by `id` or `name`) to a detection
    /// rule of `rules` or to another correlation of this set, resolve
    /// aliases, and order chained correlations. All problems are returned
    /// at once; an unresolved reference names the correlation and the
    /// reference.
    pub fn bind(&self, rules: &RuleSet) -> Result<BoundCorrelations, Vec<CorrelationError>> {
        crate::bind::bind(self, rules)
    }

    /// [`CorrelationSet::bind`], keeping every correlation that binds: a
    /// correlation an error names is left out (and one that references it
    /// then fails to resolve, and is left out too), and the rest are bound
    /// again. Binding is all or nothing, so one bad correlation used to
    /// cost every correlation of the run. Returns the bound rest (`None`
    /// when none is left) and every error.
    pub fn bind_usable(
        &self,
        rules: &RuleSet,
    ) -> (Option<BoundCorrelations>, Vec<CorrelationError>) {
        let mut kept = self.correlations.clone();
        let mut errors = Vec::new();
        while !kept.is_empty() {
            let set = CorrelationSet {
                correlations: kept.clone(),
                errors: Vec::new(),
            };
            match set.bind(rules) {
                Ok(b) => return (Some(b), errors),
                Err(es) => {
                    let before = kept.len();
                    kept.retain(|c| !es.iter().any(|e| names(e, c)));
                    errors.extend(es);
                    if kept.len() == before {
                        // An error that names no correlation: nothing
                        // can be kept safely.
                        return (None, errors);
                    }
                }
            }
        }
        (None, errors)
    }
}

/// Whether `e` is about correlation `c`.
fn names(e: &CorrelationError, c: &Correlation) -> bool {
    e.origin == c.origin && e.document == c.document && e.rule.as_deref() == Some(&*c.rule_id())
}

/// What a correlation's `rules` entry resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A detection rule.
    Rule(RuleIdx),
    /// Another correlation (index into [`BoundCorrelations::correlations`]).
    Correlation(usize),
}

/// A correlation with its references resolved.
#[derive(Debug, Clone)]
pub struct BoundCorrelation {
    /// The parsed rule.
    pub def: Correlation,
    /// One entry per `rules` reference, in the order written (the slot).
    pub sources: Vec<Source>,
    /// Per slot: the event field read for each `group-by` entry (aliases
    /// applied).
    pub group_fields: Vec<Vec<String>>,
    /// Per slot: the event fields read for `condition.field`.
    pub value_fields: Vec<Vec<String>>,
    /// Fields the correlations chained on top of this one need from its
    /// triggering events (beyond its own group-by values).
    pub carry: Vec<String>,
    /// Effective level: `level`, else the highest referenced level.
    pub level: Level,
    /// ATT&CK ids: from `tags`, else from the referenced rules' tags.
    pub attack: AttackTags,
    /// `true` when another correlation refers to this one and none of the
    /// referring correlations says `generate: true`.
    pub suppressed: bool,
}

/// Correlations bound to one [`RuleSet`]; cheap to clone and `Send + Sync`.
#[derive(Debug, Clone)]
pub struct BoundCorrelations {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub corrs: Vec<BoundCorrelation>,
    /// Evaluation order: every correlation after those it refers to.
    pub order: Vec<usize>,
    /// Per detection rule: `(correlation, slot)` pairs that consume it.
    pub routes: Vec<Vec<(u32, u16)>>,
    /// Per detection rule: matches are not reported on their own.
    pub suppressed: Vec<bool>,
    /// Per correlation: `(outer correlation, slot)` pairs fed by its hits.
    pub consumers: Vec<Vec<(u32, u16)>>,
}

impl BoundCorrelations {
    /// `true` when some correlation consumes matches of rule `idx`; the
    /// pipeline calls [`crate::CorrelationEngine::observe`] only then.
    #[inline]
    pub fn wants(&self, idx: RuleIdx) -> bool {
        self.inner
            .routes
            .get(idx.0 as usize)
            .is_some_and(|r| !r.is_empty())
    }

    /// `true` when matches of rule `idx` must not be emitted as ordinary
    /// findings: the rule is referenced by at least one correlation and
    /// none of those sets `generate: true` (the specification's default
    /// is to generate only the correlation).
    #[inline]
    pub fn suppressed(&self, idx: RuleIdx) -> bool {
        self.inner
            .suppressed
            .get(idx.0 as usize)
            .copied()
            .unwrap_or(false)
    }

    /// The bound correlations.
    pub fn correlations(&self) -> &[BoundCorrelation] {
        &self.inner.corrs
    }

    /// Number of correlations.
    pub fn len(&self) -> usize {
        self.inner.corrs.len()
    }

    /// `true` when there are none.
    pub fn is_empty(&self) -> bool {
        self.inner.corrs.is_empty()
    }

    /// A fresh engine with default [`crate::Limits`].
    pub fn engine(&self) -> crate::CorrelationEngine {
        crate::CorrelationEngine::new(self.clone(), crate::Limits::default())
    }

    /// A fresh engine with the given limits.
    pub fn engine_with(&self, limits: crate::Limits) -> crate::CorrelationEngine {
        crate::CorrelationEngine::new(self.clone(), limits)
    }
}
