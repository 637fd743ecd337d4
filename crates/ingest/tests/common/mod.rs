//! Helpers shared by the integration tests.
#![allow(dead_code)]

use kahu_event::Event;
use kahu_ingest::{Sink, Warning};
use std::path::PathBuf;

/// The shared reference data, or `None` (after a loud SKIP) when absent.
pub fn shared(sub: &str) -> Option<PathBuf> {
    let base = std::env::var_os("KAHU_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let p = base.join(sub);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: shared data {sub} not found at {}", p.display());
        None
    }
}

/// Collects everything a reader sends.
#[derive(Default)]
pub struct Collect {
    pub events: Vec<Event>,
    pub warnings: Vec<Warning>,
}

impl Sink for Collect {
    fn event(&mut self, e: Event) -> bool {
        self.events.push(e);
        true
    }
    fn warning(&mut self, w: Warning) {
        self.warnings.push(w);
    }
}

/// Counts without keeping.
#[derive(Default)]
pub struct Count {
    pub events: u64,
    pub warnings: Vec<Warning>,
}

impl Sink for Count {
    fn event(&mut self, _: Event) -> bool {
        self.events += 1;
        true
    }
    fn warning(&mut self, w: Warning) {
        self.warnings.push(w);
    }
}
