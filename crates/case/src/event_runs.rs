//! Where a bulk load put each file's events, so the findings written after
//! it are linked to their events without reading the events table.
//!
//! A first load into an empty case drops the provenance index (it is
//! built later, with the other timeline indexes), so linking a finding to
//! its event meant scanning every row of the load: on Mordor atomic
//! (680k events) a tenth of a second with both cores idle, once detection
//! was over. The load's writer already knows each row's id and provenance;
//! it keeps them as runs of consecutive rows from one file (a block is
//! 64 events of one or two files: about one run a block), and a finding's
//! event is then looked up inside the few runs whose range holds its
//! location, by row id.

use crate::Result;
use rusqlite::{OptionalExtension, Transaction, params};

/// Runs kept at most (≈ 48 bytes each: 64 million events at one run a
/// block). A larger load keeps none, and its findings are linked by a scan.
const MAX_RUNS: usize = 1 << 20;

/// Consecutive rows of one evidence file and location kind.
#[derive(Debug, Clone, Copy)]
struct Run {
    evidence: i64,
    loc_kind: i64,
    min_loc: i64,
    max_loc: i64,
    first_id: i64,
    last_id: i64,
}

/// The rows a load wrote, as runs of consecutive ids ([`crate::CaseWriter::take_event_runs`]).
#[derive(Debug, Default)]
pub struct EventRuns {
    runs: Vec<Run>,
    /// The load began on an empty case, so its runs cover every event.
    covers_case: bool,
    /// More than [`MAX_RUNS`]: the runs were dropped.
    overflowed: bool,
}

impl EventRuns {
    pub(crate) fn new(covers_case: bool) -> Self {
        EventRuns {
            covers_case,
            ..Default::default()
        }
    }

    /// Record row `id` of evidence `evidence` at location (`loc_kind`,
    /// `loc`). Rows come in id order.
    pub(crate) fn record(&mut self, evidence: i64, loc_kind: i64, loc: Option<i64>, id: i64) {
        if self.overflowed {
            return;
        }
        // A row without a location is never a finding's event; it still
        // ends the run, whose ids must be consecutive.
        let Some(loc) = loc else {
            return;
        };
        if let Some(r) = self.runs.last_mut()
            && r.evidence == evidence
            && r.loc_kind == loc_kind
            && r.last_id + 1 == id
        {
            r.min_loc = r.min_loc.min(loc);
            r.max_loc = r.max_loc.max(loc);
            r.last_id = id;
            return;
        }
        if self.runs.len() >= MAX_RUNS {
            self.overflowed = true;
            self.runs = Vec::new();
            return;
        }
        self.runs.push(Run {
            evidence,
            loc_kind,
            min_loc: loc,
            max_loc: loc,
            first_id: id,
            last_id: id,
        });
    }

    /// Whether every event of the case is in these runs, so a key found
    /// in none of them has no event.
    pub(crate) fn complete(&self) -> bool {
        self.covers_case && !self.overflowed
    }

    /// The first row stored under `key` (evidence, location kind,
    /// location), read inside the runs that may hold it.
    pub(crate) fn find(&self, tx: &Transaction<'_>, key: (i64, i64, i64)) -> Result<Option<i64>> {
        let (evidence, loc_kind, loc) = key;
        let mut st = tx.prepare_cached(
            "SELECT id FROM events WHERE id BETWEEN ?1 AND ?2
               AND evidence_id = ?3 AND loc_kind = ?4 AND loc = ?5 ORDER BY id LIMIT 1",
        )?;
        for r in self.runs.iter().filter(|r| {
            r.evidence == evidence
                && r.loc_kind == loc_kind
                && (r.min_loc..=r.max_loc).contains(&loc)
        }) {
            let id: Option<i64> = st
                .query_row(
                    params![r.first_id, r.last_id, evidence, loc_kind, loc],
                    |row| row.get(0),
                )
                .optional()?;
            if id.is_some() {
                return Ok(id);
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_rows_of_one_file_make_one_run() {
        let mut runs = EventRuns::new(true);
        for (id, loc) in [(1, 10), (2, 12), (3, 11)] {
            runs.record(7, 1, Some(loc), id);
        }
        // Another file, a gap in the ids, a row without a location.
        runs.record(8, 1, Some(5), 4);
        runs.record(7, 1, Some(13), 6);
        runs.record(7, 1, None, 7);
        runs.record(7, 1, Some(14), 8);
        let spans: Vec<_> = runs
            .runs
            .iter()
            .map(|r| (r.evidence, r.min_loc, r.max_loc, r.first_id, r.last_id))
            .collect();
        assert_eq!(
            spans,
            [
                (7, 10, 12, 1, 3),
                (8, 5, 5, 4, 4),
                (7, 13, 13, 6, 6),
                (7, 14, 14, 8, 8)
            ]
        );
        assert!(runs.complete());
        assert!(
            !EventRuns::new(false).complete(),
            "a load into a case that had events"
        );
        assert!(!EventRuns::default().complete());
    }

    #[test]
    fn too_many_runs_are_dropped_and_say_so() {
        let mut runs = EventRuns::new(true);
        // Alternating files: one run a row.
        for id in 0..=MAX_RUNS as i64 {
            runs.record(id % 2, 1, Some(id), id);
        }
        assert!(!runs.complete());
        assert!(runs.runs.is_empty(), "the memory is given back");
    }
}
