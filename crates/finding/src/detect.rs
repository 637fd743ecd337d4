//! The boundary every detection engine implements.
//!
//! Engines (Sigma rules, IOC sets, correlation scans) live in their own
//! crates and implement [`Detector`] directly, so the pipeline that reads
//! evidence can run any mix of them without wrapper types. A compiled
//! engine is immutable and shared by every matcher thread; state that a
//! single run accumulates (correlation windows) lives in a per-run value
//! the engine hands out, never in the compiled engine, so compiling once
//! and scanning many times gives the same answer every time.

use crate::Finding;
use kahu_event::Event;

/// Something that looks at every event and reports what it recognises.
pub trait Detector: Sync {
    /// Inspect one event, appending findings to `out`.
    fn inspect(&self, event: &Event, out: &mut Vec<Finding>);
}

/// Per-event hook that sees every event after detection (analytics, the
/// case store). Must be cheap: it runs on matcher threads, one value per
/// thread, merged at the end.
pub trait Observer: Send {
    /// Look at one event.
    fn observe(&mut self, event: &Event);
    /// [`Observer::observe`], told whether a detector reported a finding
    /// on this event (the case store can keep only those). The default
    /// ignores `detected`.
    fn observe_detected(&mut self, event: &Event, detected: bool) {
        let _ = detected;
        self.observe(event);
    }
    /// Combine the state of another matcher thread into this one.
    fn merge(&mut self, other: Self)
    where
        Self: Sized;
}

/// An observer that keeps nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn observe(&mut self, _: &Event) {}
    fn merge(&mut self, _: Self) {}
}
