//! A rule set is a [`Detector`]: matched rules become findings carrying the
//! lineage and logon-session fields reconstruction chains incidents by.

use crate::{RuleIdx, RuleSet};
use kahu_event::Event;
use kahu_finding::{Detector, Finding};
use std::cell::RefCell;

thread_local! {
    // A per-thread scratch buffer: matching runs once per event, and
    // allocating a vector each time shows up in profiles.
    static HITS: RefCell<Vec<RuleIdx>> = const { RefCell::new(Vec::new()) };
}

impl RuleSet {
    /// Run `f` over the indices of the rules matching `event`, using a
    /// reused per-thread buffer.
    pub fn for_each_match(&self, event: &Event, mut f: impl FnMut(RuleIdx)) {
        HITS.with(|h| {
            // Re-entrancy (a callback matching another event on the same
            // thread) would need a second buffer; fall back to a fresh one.
            match h.try_borrow_mut() {
                Ok(mut hits) => {
                    hits.clear();
                    self.matches(event, &mut hits);
                    for &idx in hits.iter() {
                        f(idx);
                    }
                }
                Err(_) => {
                    let mut hits = Vec::new();
                    self.matches(event, &mut hits);
                    hits.into_iter().for_each(f);
                }
            }
        });
    }

    /// The finding for a match of `idx`, with the fields reconstruction
    /// chains findings by (process lineage, logon session).
    pub fn detection(&self, idx: RuleIdx, event: &Event) -> Finding {
        let mut f = self.finding(idx, event);
        f.fields.extend(kahu_finding::correlation_fields(event));
        f
    }
}

impl Detector for RuleSet {
    fn inspect(&self, event: &Event, out: &mut Vec<Finding>) {
        self.for_each_match(event, |idx| out.push(self.detection(idx, event)));
    }
}
