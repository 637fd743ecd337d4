//! Sigma detection and correlation as one detector.
//!
//! Detection rules are matched on every event; matches of rules that some
//! correlation references are also fed to the correlation engine, and
//! matches of rules referenced only for correlation (`generate: false`,
//! the specification's default) are not emitted on their own.
//!
//! The engine sits behind a mutex: only events that matched a rule a
//! correlation references reach it, which are few next to all events, so
//! contention is negligible and per-thread engines are not worth the
//! plumbing. The engine sorts at `finish`, so arrival order does not matter.

use crate::detect::Detector;
use kahu_correlation::{BoundCorrelations, CorrelationEngine, CorrelationSet};
use kahu_event::Event;
use kahu_finding::Finding;
use kahu_sigma::{LoadReport, RuleIdx, RuleSet};
use std::cell::RefCell;
use std::sync::Mutex;

/// A compiled rule set with its bound correlation rules.
pub struct SigmaDetector {
    /// The detection rules.
    pub rules: RuleSet,
    correlations: Option<BoundCorrelations>,
    engine: Mutex<Option<CorrelationEngine>>,
    /// Problems binding correlation rules (unresolved references…).
    pub correlation_errors: Vec<String>,
}

impl SigmaDetector {
    /// Build from a rule-loading report, binding the correlation rules found
    /// in the same files.
    pub fn new(report: LoadReport) -> Self {
        let mut errors = Vec::new();
        let set = CorrelationSet::from_rules(&report.correlations);
        errors.extend(set.errors.iter().map(|e| e.to_string()));
        let correlations = if set.correlations.is_empty() {
            None
        } else {
            match set.bind(&report.ruleset) {
                Ok(b) => Some(b),
                Err(es) => {
                    errors.extend(es.iter().map(|e| e.to_string()));
                    None
                }
            }
        };
        let engine = correlations.as_ref().map(|b| b.engine());
        SigmaDetector {
            rules: report.ruleset,
            correlations,
            engine: Mutex::new(engine),
            correlation_errors: errors,
        }
    }

    /// Number of correlation rules in use.
    pub fn correlation_count(&self) -> usize {
        self.correlations
            .as_ref()
            .map_or(0, |b| b.correlations().len())
    }

    /// Evaluate the correlation windows: findings and warnings (caps hit).
    pub fn finish(&self) -> (Vec<Finding>, Vec<String>) {
        let engine = self.engine.lock().unwrap_or_else(|e| e.into_inner()).take();
        match engine {
            Some(e) => {
                let out = e.finish_report();
                (out.findings, out.warnings)
            }
            None => (Vec::new(), Vec::new()),
        }
    }
}

thread_local! {
    static HITS: RefCell<Vec<RuleIdx>> = const { RefCell::new(Vec::new()) };
}

impl Detector for SigmaDetector {
    fn inspect(&self, event: &Event, out: &mut Vec<Finding>) {
        HITS.with(|h| {
            let mut hits = h.borrow_mut();
            hits.clear();
            self.rules.matches(event, &mut hits);
            for &idx in hits.iter() {
                let (emit, feed) = match &self.correlations {
                    Some(b) => (!b.suppressed(idx), b.wants(idx)),
                    None => (true, false),
                };
                if emit {
                    let mut f = self.rules.finding(idx, event);
                    f.fields.extend(kahu_finding::correlation_fields(event));
                    out.push(f);
                }
                if feed {
                    let mut guard = self.engine.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(engine) = guard.as_mut() {
                        engine.observe(idx, event);
                    }
                }
            }
        });
    }
}
