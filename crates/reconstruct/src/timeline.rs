//! The assessment timeline: deduplicated findings in time order, and the
//! same grouped by kill-chain phase.

use crate::dedup::{DedupedFinding, dedup};
use crate::tactic::{Tactic, TacticLookup, resolve};
use crate::util::Span;
use kahu_event::Timestamp;
use kahu_finding::{Finding, Level};
use serde::Serialize;

/// One row of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// Tactics of the finding's techniques, in kill-chain order.
    pub tactics: Vec<Tactic>,
    /// The deduplicated finding (ids index the input slice).
    #[serde(flatten)]
    pub finding: DedupedFinding,
}

/// The entries of one kill-chain phase.
#[derive(Debug, Clone, Serialize)]
pub struct TimelinePhase {
    /// The phase; `None` for findings without a known tactic.
    pub tactic: Option<Tactic>,
    /// Indices into [`Timeline::entries`], in time order. An entry with
    /// several tactics appears under each.
    pub entries: Vec<usize>,
    /// Earliest entry of the phase.
    pub first_seen: Option<Timestamp>,
    /// Latest entry of the phase.
    pub last_seen: Option<Timestamp>,
}

/// Findings in time order and by phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// Deduplicated findings, earliest first (undated last).
    pub entries: Vec<TimelineEntry>,
    /// Phases in kill-chain order; the unknown phase last.
    pub phases: Vec<TimelinePhase>,
}

impl Timeline {
    /// Build from findings at or above `min_level`; ids in entries are
    /// indices into `findings`.
    pub fn build(
        findings: &[Finding],
        min_level: Level,
        lookup: Option<TacticLookup<'_>>,
    ) -> Timeline {
        let keep: Vec<usize> = (0..findings.len())
            .filter(|&i| findings[i].level >= min_level)
            .collect();
        let subset: Vec<Finding> = keep.iter().map(|&i| findings[i].clone()).collect();
        let entries: Vec<TimelineEntry> = dedup(&subset)
            .into_iter()
            .map(|mut d| {
                d.ids = d.ids.iter().map(|&j| keep[j]).collect();
                let mut tactics: Vec<Tactic> = d
                    .finding
                    .techniques
                    .iter()
                    .flat_map(|t| resolve(t, lookup))
                    .collect();
                tactics.sort();
                tactics.dedup();
                TimelineEntry {
                    tactics,
                    finding: d,
                }
            })
            .collect();
        let mut phases: Vec<TimelinePhase> = Vec::new();
        let slots = Tactic::ALL.into_iter().map(Some).chain([None]);
        for tactic in slots {
            let mut span = Span::default();
            let idx: Vec<usize> = entries
                .iter()
                .enumerate()
                .filter(|(_, e)| match tactic {
                    Some(t) => e.tactics.contains(&t),
                    None => e.tactics.is_empty(),
                })
                .map(|(i, e)| {
                    span.observe(e.finding.first_seen);
                    span.observe(e.finding.last_seen);
                    i
                })
                .collect();
            if !idx.is_empty() {
                phases.push(TimelinePhase {
                    tactic,
                    entries: idx,
                    first_seen: span.first_seen,
                    last_seen: span.last_seen,
                });
            }
        }
        Timeline { entries, phases }
    }
}
