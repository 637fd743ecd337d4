//! Sigma detection and correlation rules as one engine, compiled once and
//! scanned many times (the shape of yara-x's `Rules`/`Scanner`).
//!
//! [`SigmaRules`] is immutable: the compiled detection rules and the bound
//! correlations. Each run asks it for a [`SigmaScan`], which owns that
//! run's correlation windows; finishing the scan consumes it, so a second
//! run over the same rules starts from empty windows instead of silently
//! finding none.
//!
//! Matches of rules that some correlation references are fed to the scan's
//! engine, and matches of rules referenced only for correlation
//! (`generate: false`, the specification's default) are not emitted on
//! their own. The engine sits behind a mutex: only events that matched a
//! rule a correlation references reach it, which are few next to all
//! events, so contention is negligible. The engine sorts at `finish`, so
//! arrival order does not matter.

use crate::{BoundCorrelations, CorrelationEngine, CorrelationSet, Outcome};
use kahu_event::Event;
use kahu_finding::{Detector, Finding};
use kahu_sigma::{LoadReport, RuleSet};
use std::sync::Mutex;

/// Compiled Sigma detection rules with their bound correlation rules.
pub struct SigmaRules {
    /// The detection rules.
    pub rules: RuleSet,
    correlations: Option<BoundCorrelations>,
    /// Correlation rules that could not be used (parse errors, unresolved
    /// references), with the reason.
    pub correlation_errors: Vec<String>,
}

impl SigmaRules {
    /// Build from a rule-loading report, binding the correlation rules found
    /// in the same files.
    pub fn new(report: LoadReport) -> Self {
        let mut errors = Vec::new();
        let set = CorrelationSet::from_rules(&report.correlations);
        errors.extend(set.errors.iter().map(|e| e.to_string()));
        let correlations = if set.correlations.is_empty() {
            None
        } else {
            let (bound, es) = set.bind_usable(&report.ruleset);
            errors.extend(es.iter().map(|e| e.to_string()));
            bound
        };
        SigmaRules {
            rules: report.ruleset,
            correlations,
            correlation_errors: errors,
        }
    }

    /// The correlation rules in use, for reports naming the rules that
    /// fired.
    pub fn correlation_rules(&self) -> impl Iterator<Item = &crate::rule::Correlation> {
        self.correlations
            .iter()
            .flat_map(|b| b.correlations().iter().map(|c| &c.def))
    }

    /// Number of correlation rules in use.
    pub fn correlation_count(&self) -> usize {
        self.correlations
            .as_ref()
            .map_or(0, |b| b.correlations().len())
    }

    /// A correlation engine with fresh windows for one partition of a
    /// run whose partitions are scanned apart (a query engine's
    /// partitions), or `None` when no correlation rule is in use. Feed it
    /// with [`SigmaRules::inspect_into`]; gather the partitions' engines in
    /// one place with [`CorrelationEngine::merge`] and finish that one.
    pub fn partition_engine(&self) -> Option<CorrelationEngine> {
        self.correlations.as_ref().map(|b| b.engine())
    }

    /// What [`SigmaScan`]'s `inspect` does, with a partition's own engine
    /// (from [`SigmaRules::partition_engine`]) instead of the scan's
    /// shared one: findings of rules not suppressed by a correlation go to
    /// `out`, matches a correlation consumes go to `engine`.
    pub fn inspect_into(
        &self,
        event: &Event,
        out: &mut Vec<Finding>,
        engine: Option<&mut CorrelationEngine>,
    ) {
        let set = &self.rules;
        let Some(bound) = &self.correlations else {
            set.inspect(event, out);
            return;
        };
        let mut engine = engine;
        set.for_each_match(event, |idx| {
            if !bound.suppressed(idx) {
                out.push(set.detection(idx, event));
            }
            if bound.wants(idx)
                && let Some(engine) = engine.as_deref_mut()
            {
                engine.observe(idx, event);
            }
        });
    }

    /// Start a run: a detector with fresh correlation windows.
    pub fn scan(&self) -> SigmaScan<'_> {
        SigmaScan {
            rules: self,
            engine: self.correlations.as_ref().map(|b| Mutex::new(b.engine())),
        }
    }
}

/// One run of [`SigmaRules`] over a stream of events.
pub struct SigmaScan<'r> {
    rules: &'r SigmaRules,
    engine: Option<Mutex<CorrelationEngine>>,
}

impl SigmaScan<'_> {
    /// Evaluate the correlation windows of this run.
    pub fn finish(self) -> Outcome {
        match self.engine {
            Some(m) => m
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .finish_report(),
            None => Outcome::default(),
        }
    }
}

impl Detector for SigmaScan<'_> {
    fn inspect(&self, event: &Event, out: &mut Vec<Finding>) {
        let set = &self.rules.rules;
        let Some(bound) = &self.rules.correlations else {
            set.inspect(event, out);
            return;
        };
        set.for_each_match(event, |idx| {
            if !bound.suppressed(idx) {
                out.push(set.detection(idx, event));
            }
            if bound.wants(idx)
                && let Some(engine) = &self.engine
            {
                engine
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .observe(idx, event);
            }
        });
    }
}
