//! What every partition runs on each event: the embedded engine's
//! detectors, in the same order, with a correlation engine of its own.

use kahu_correlation::{CorrelationEngine, SigmaRules};
use kahu_event::{Event, EventFilter};
use kahu_finding::{Detector, Finding};
use kahu_intel::IocSet;
use std::sync::Arc;

/// The detectors a query runs: compiled Sigma rule sets (with their
/// correlation rules), indicators, and the analyst's event filter.
pub struct Detection {
    /// Rule sets, in the order the embedded engine runs them.
    pub rules: Vec<Arc<SigmaRules>>,
    /// Indicators of compromise (may be empty).
    pub iocs: Arc<IocSet>,
    /// Events left out before detection (time window, hosts, channels…).
    pub filter: EventFilter,
}

/// Events read but left out by [`Detection::filter`], by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Excluded {
    /// Outside the time window.
    pub time: u64,
    /// Without a time while a window was set.
    pub undated: u64,
    /// Host, channel or event id not selected.
    pub selection: u64,
}

impl Excluded {
    pub(crate) fn add(&mut self, o: &Excluded) {
        self.time += o.time;
        self.undated += o.undated;
        self.selection += o.selection;
    }
}

/// One partition's detection state.
pub(crate) struct PartitionState {
    /// Findings not yet handed on.
    pub findings: Vec<Finding>,
    /// One correlation engine per rule set (`None`: no correlation there).
    pub engines: Vec<Option<CorrelationEngine>>,
    /// Events decoded.
    pub events: u64,
    /// Of those, left out by the filter.
    pub excluded: Excluded,
}

impl PartitionState {
    pub fn new(d: &Detection) -> Self {
        PartitionState {
            findings: Vec::new(),
            engines: d.rules.iter().map(|r| r.partition_engine()).collect(),
            events: 0,
            excluded: Excluded::default(),
        }
    }

    /// Filter, then run every detector on `e` (rule sets first, then the
    /// indicators: the embedded engine's order).
    pub fn event(&mut self, d: &Detection, e: &Event) {
        self.events += 1;
        if let Some(why) = d.filter.check(e) {
            match why {
                kahu_event::Excluded::Time => self.excluded.time += 1,
                kahu_event::Excluded::Undated => self.excluded.undated += 1,
                kahu_event::Excluded::Selection => self.excluded.selection += 1,
            }
            return;
        }
        for (set, engine) in d.rules.iter().zip(self.engines.iter_mut()) {
            set.inspect_into(e, &mut self.findings, engine.as_mut());
        }
        d.iocs.inspect(e, &mut self.findings);
    }
}
