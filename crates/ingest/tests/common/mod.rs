//! Helpers shared by the integration tests.
#![allow(dead_code)]

use kahu_event::Event;
use kahu_ingest::{Sink, Warning};
use std::path::PathBuf;

/// The shared reference data, or `None` (after a loud SKIP) when absent.
pub(crate) fn shared(sub: &str) -> Option<PathBuf> {
    kahu_test_support::shared(sub)
}

/// Whether a warning is a file's coverage summary ("N of M events have no
/// timestamp") rather than a problem with one record or the file.
pub(crate) fn is_coverage(w: &Warning) -> bool {
    w.is_coverage_note() && !is_time_note(w)
}

/// Whether a warning is a file's note that record times disagree with
/// event times (a fact about the evidence, not a reading problem).
pub(crate) fn is_time_note(w: &Warning) -> bool {
    w.is_coverage_note() && w.reason.contains("record times disagree")
}

/// Collects everything a reader sends; coverage summaries apart.
#[derive(Default)]
pub(crate) struct Collect {
    pub events: Vec<Event>,
    pub warnings: Vec<Warning>,
    pub coverage: Vec<Warning>,
}

impl Sink for Collect {
    fn event(&mut self, e: Event) -> bool {
        self.events.push(e);
        true
    }
    fn warning(&mut self, w: Warning) {
        if is_coverage(&w) {
            self.coverage.push(w);
        } else {
            self.warnings.push(w);
        }
    }
}

/// Counts without keeping; coverage summaries and time notes apart.
#[derive(Default)]
pub(crate) struct Count {
    pub events: u64,
    pub warnings: Vec<Warning>,
    pub notes: Vec<Warning>,
}

impl Sink for Count {
    fn event(&mut self, _: Event) -> bool {
        self.events += 1;
        true
    }
    fn warning(&mut self, w: Warning) {
        if is_coverage(&w) || is_time_note(&w) {
            self.notes.push(w);
        } else {
            self.warnings.push(w);
        }
    }
}
