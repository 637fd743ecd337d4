//! Another engine for the detection pass: the same detectors run by
//! something other than kahu's readers and matcher threads (the DataFusion
//! engine over Parquet shards, `kahu hunt --engine datafusion`). The rest
//! of the detection stage — tuning, minimum level, ordering, repeats — is
//! shared, so both engines' findings go through the same steps.

use crate::detect::{ExcludedCounts, Progress};
use kahu_correlation::{Outcome, SigmaRules};
use kahu_event::EventFilter;
use kahu_finding::Finding;
use kahu_ingest::Warning;
use kahu_intel::IocSet;
use std::path::PathBuf;
use std::sync::Arc;

/// What an engine is given.
pub struct EngineJob<'a> {
    /// The evidence paths as given.
    pub evidence: &'a [PathBuf],
    /// Compiled rule sets, in the order the embedded engine runs them.
    pub rules: &'a [Arc<SigmaRules>],
    /// Indicators.
    pub iocs: &'a Arc<IocSet>,
    /// Events to leave out.
    pub filter: &'a EventFilter,
    /// Progress callbacks.
    pub progress: &'a dyn Progress,
}

/// What an engine produced.
#[derive(Debug, Default)]
pub struct EngineOutput {
    /// Detection and indicator findings (no correlation findings).
    pub findings: Vec<Finding>,
    /// One correlation outcome per rule set, finished.
    pub correlation: Vec<Outcome>,
    /// Problems with the evidence that did not stop the run.
    pub warnings: Vec<Warning>,
    /// Events read.
    pub events: u64,
    /// Events left out by the filter.
    pub excluded: ExcludedCounts,
    /// Files found, with their sizes.
    pub files: Vec<(PathBuf, u64)>,
}

/// A detection engine other than the embedded one.
pub trait DetectionEngine: Send + Sync + std::fmt::Debug {
    /// Its name, for messages (`datafusion`).
    fn name(&self) -> &'static str;
    /// Run the detectors over the evidence.
    fn run(&self, job: EngineJob<'_>) -> anyhow::Result<EngineOutput>;
}
