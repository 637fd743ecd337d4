//! Another engine for the detection pass: the same detectors run by
//! something other than kahu's readers and matcher threads (the DataFusion
//! engine over Parquet shards, `kahu hunt --engine datafusion`, and a
//! Ballista cluster, `--cluster`). The rest of the detection stage —
//! tuning, minimum level, ordering, repeats — is shared, so both engines'
//! findings go through the same steps.
//!
//! An engine returns findings, not events. What needs every event — the
//! analytics (logons, lateral movement, scope), file hashes, coverage, the
//! case store — and the indicators an engine does not match come from a
//! *local pass*: kahu's own readers over the same evidence with no Sigma
//! detector, only the observers (and the indicators). It runs on this
//! machine while the engine runs (a second thread), so the two overlap; it
//! does not scale out, and it is exact by construction, because it is the
//! embedded pass minus the Sigma detectors, whose findings the engine
//! gives.

use crate::detect::{DetectionOutput, ExcludedCounts, Progress};
use crate::detection::{
    DetectConfig, DetectionRun, FeedLoad, LoadedRules, feed_warnings, finish_findings, open_case,
};
use crate::file_hashes::FileHashes;
use crate::store::{CaseEvents, CaseStore, PipelineObserver};
use crate::warning::RunWarning;
use anyhow::Result;
use kahu_correlation::{Outcome, SigmaRules};
use kahu_event::{Event, EventFilter, Provenance};
use kahu_finding::{Detector, Finding, Observer};
use kahu_ingest::Warning;
use kahu_intel::IocSet;
use kahu_reconstruct::Analytics;
use std::collections::HashSet;
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
    /// Whether [`DetectionEngine::run`] matches [`EngineJob::iocs`]. An
    /// engine that cannot (a cluster's executors do not have the feeds)
    /// gets an empty set and the indicators run in the local pass, which
    /// is exactly as correct: indicator matching is per event.
    fn runs_iocs(&self) -> bool {
        true
    }
}

/// Marks an event as detected when the engine reported a finding on it, so
/// a case store keeping detected events only (`--case-events detected`)
/// keeps the same events as with the embedded engine.
struct Marked<'a> {
    inner: PipelineObserver,
    by_engine: Option<&'a HashSet<Provenance>>,
}

impl Observer for Marked<'_> {
    fn observe(&mut self, event: &Event) {
        self.observe_detected(event, false);
    }
    fn observe_detected(&mut self, event: &Event, detected: bool) {
        let detected = detected
            || self
                .by_engine
                .is_some_and(|m| m.contains(&event.provenance));
        self.inner.observe_detected(event, detected);
    }
    fn merge(&mut self, other: Self) {
        self.inner.merge(other.inner);
    }
}

/// The local pass: every event read by kahu's readers, with only
/// `detectors` (the indicators, or none) and the pipeline's observers.
fn local_pass<'a>(
    cfg: &DetectConfig,
    files: &[(PathBuf, u64)],
    detectors: &[&dyn Detector],
    case: Option<&CaseStore>,
    by_engine: Option<&'a HashSet<Provenance>>,
    progress: &dyn Progress,
) -> DetectionOutput<Marked<'a>> {
    crate::detect::run_with_members(
        files,
        detectors,
        &cfg.filter,
        None,
        || Marked {
            inner: PipelineObserver {
                analytics: cfg.analytics.then(Analytics::default),
                case: case.map(CaseStore::sink),
                file_hashes: cfg.analytics.then(FileHashes::default),
            },
            by_engine,
        },
        progress,
    )
}

/// The detection stage with the pass run by `engine` (see the module
/// documentation): the engine's findings, and the local pass for what
/// needs every event. `listed` is the evidence's file listing and its
/// warnings, as the embedded pass would read it.
pub(crate) fn detect_on_engine(
    cfg: &DetectConfig,
    engine: &dyn DetectionEngine,
    rules: LoadedRules,
    iocs: Arc<IocSet>,
    feeds: Vec<FeedLoad>,
    listed: (Vec<(PathBuf, u64)>, Vec<Warning>),
    progress: &dyn Progress,
) -> Result<DetectionRun> {
    let name = engine.name();
    if !cfg.yara.is_empty() {
        anyhow::bail!(
            "YARA scans the evidence files themselves; it does not run on the {name} engine \
             (run `kahu assess` or `kahu hunt --yara` on the evidence without --engine/--cluster)"
        );
    }
    let local_iocs = !iocs.is_empty() && !engine.runs_iocs();
    let engine_iocs = if local_iocs {
        Arc::new(IocSet::new())
    } else {
        iocs.clone()
    };
    let job = EngineJob {
        evidence: &cfg.evidence,
        rules: &rules.sets,
        iocs: &engine_iocs,
        filter: &cfg.filter,
        progress,
    };
    if !(cfg.analytics || cfg.case_dir.is_some() || local_iocs) {
        let out = engine.run(job)?;
        let files = out.files.clone();
        return Ok(engine_only(cfg, name, out, files, rules, iocs, feeds));
    }
    let (files, walk_warnings) = listed;
    let case = open_case(cfg, &files)?;
    let local_detectors: Vec<&dyn Detector> = if local_iocs {
        vec![iocs.as_ref() as &dyn Detector]
    } else {
        Vec::new()
    };
    let (out, mut local) = if case.is_some() && cfg.case_events == CaseEvents::Detected {
        // Which events were detected is known only once the engine is
        // done: the two passes run one after the other.
        let out = engine.run(job)?;
        let by_engine: HashSet<Provenance> =
            out.findings.iter().map(|f| f.provenance.clone()).collect();
        progress.phase_start("read on this machine (analytics, case store)");
        let local = local_pass(
            cfg,
            &files,
            &local_detectors,
            case.as_ref(),
            Some(&by_engine),
            &(),
        );
        (out, strip(local))
    } else {
        // The local pass reports progress (it reads every byte here; the
        // engine's own progress would count the same files twice).
        let job = EngineJob {
            progress: &(),
            ..job
        };
        std::thread::scope(|s| -> Result<_> {
            let remote = s.spawn(|| engine.run(job));
            let local = local_pass(cfg, &files, &local_detectors, case.as_ref(), None, progress);
            if !remote.is_finished() {
                progress.phase_done(&format!("{} events read on this machine", local.events));
                progress.phase_start(&format!("waiting for the {name} engine"));
            }
            let out = remote
                .join()
                .map_err(|_| anyhow::anyhow!("the {name} engine's thread panicked"))??;
            Ok((out, strip(local)))
        })?
    };
    if out.events != local.events {
        anyhow::bail!(
            "the {name} engine read {} events, this machine {} from the same evidence \
             (a file there that is not a kahu Parquet shard, or evidence that changed \
             during the run); nothing is reported from an inconsistent read",
            out.events,
            local.events
        );
    }
    // Dropping the last handle flushes its batch to the case writer.
    local.observer.case = None;
    let analytics = local.observer.analytics.take().map(|a| a.finish());
    let file_hashes = local.observer.file_hashes.take().unwrap_or_default();

    let mut findings = out.findings;
    findings.extend(local.findings);
    let mut warnings: Vec<Warning> = walk_warnings;
    warnings.extend(local.warnings);
    // The engine re-reads a failed partition with kahu's reader, which
    // says what the local pass said about it: keep one of each.
    let seen: HashSet<String> = warnings.iter().map(|w| format!("{w:?}")).collect();
    warnings.extend(
        out.warnings
            .into_iter()
            .filter(|w| !seen.contains(&format!("{w:?}"))),
    );
    let warnings = with_correlation(&mut findings, warnings, &feeds, out.correlation);
    tracing::info!(
        engine = name,
        events = local.events,
        findings = findings.len(),
        warnings = warnings.len(),
        "detection pass done (engine and local pass)"
    );
    if let Some(a) = &analytics {
        findings.extend(a.findings());
    }
    let findings = finish_findings(cfg, findings, analytics.is_some());
    Ok(DetectionRun {
        findings,
        warnings,
        events: local.events,
        excluded: local.excluded,
        files,
        rules,
        iocs,
        feeds,
        analytics,
        file_hashes,
        coverage: local.coverage,
        case,
        formats: local.formats,
    })
}

/// The run's warnings — evidence, feeds, correlation — in report order,
/// with the correlation findings added to `findings`.
fn with_correlation(
    findings: &mut Vec<Finding>,
    evidence: Vec<Warning>,
    feeds: &[FeedLoad],
    correlation: Vec<Outcome>,
) -> Vec<RunWarning> {
    let mut warnings: Vec<RunWarning> = evidence.into_iter().map(RunWarning::from).collect();
    warnings.extend(feed_warnings(feeds).map(RunWarning::from));
    for outcome in correlation {
        findings.extend(outcome.findings);
        warnings.extend(outcome.warnings.into_iter().map(RunWarning::correlation));
    }
    warnings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    warnings
}

/// The local pass's output without the engine's marks.
fn strip(out: DetectionOutput<Marked<'_>>) -> DetectionOutput<PipelineObserver> {
    DetectionOutput {
        findings: out.findings,
        warnings: out.warnings,
        events: out.events,
        coverage: out.coverage,
        files: out.files,
        observer: out.observer.inner,
        excluded: out.excluded,
        formats: out.formats,
    }
}

/// The detection stage from the engine's output alone (no local pass was
/// needed: no analytics, no case store, the engine matched the indicators).
fn engine_only(
    cfg: &DetectConfig,
    name: &str,
    out: EngineOutput,
    files: Vec<(PathBuf, u64)>,
    rules: LoadedRules,
    iocs: Arc<IocSet>,
    feeds: Vec<FeedLoad>,
) -> DetectionRun {
    let mut findings = out.findings;
    let warnings = with_correlation(&mut findings, out.warnings, &feeds, out.correlation);
    tracing::info!(
        engine = name,
        events = out.events,
        findings = findings.len(),
        warnings = warnings.len(),
        "detection pass done"
    );
    let findings = finish_findings(cfg, findings, false);
    DetectionRun {
        findings,
        warnings,
        events: out.events,
        excluded: out.excluded,
        files,
        rules,
        iocs,
        feeds,
        analytics: None,
        file_hashes: FileHashes::default(),
        coverage: kahu_ingest::EvidenceCoverage::default(),
        case: None,
        formats: Vec::new(),
    }
}
