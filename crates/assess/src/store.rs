//! Persisting an assessment as a case (`case.sqlite`) for `kahu serve`.
//!
//! Events are written while detection runs: matcher threads encode each
//! event for the store (fields in a binary form, packed with the next events of the
//! same batch into an LZ4-compressed block, `kahu_case::BlockBuilder`) and
//! hand the blocks to one writer thread (SQLite has one writer), so the
//! encoding and compression run on every core, the writer only inserts a
//! block row and one narrow row per event, and there is no extra pass over
//! the evidence. At most [`QUEUED_BLOCKS`] blocks wait for the writer:
//! memory stays bounded whatever the number or size of events (a block
//! holds at most `kahu_case::BLOCK_BYTES` of encoded fields plus one event). The
//! full-text index is not built here: it was
//! about a third of the writer's work, and the assessment does not need it;
//! `kahu serve` builds it on first use (`Case::build_indexes`). Evidence files already in
//! the case (same SHA-256) are not stored again; findings and documents are
//! replaced by each run, because they are recomputed over all evidence.

use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, Sender, bounded};
use kahu_case::{BlockBuilder, Case, DocKind, EventBlock, EventRuns, EvidenceInfo};
use kahu_event::Event;
use kahu_finding::Observer;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Blocks queued for the writer thread at most (≈ 64 events each).
const QUEUED_BLOCKS: usize = 256;

/// The event side of a case being written.
pub struct CaseStore {
    tx: Option<Sender<EventBlock>>,
    writer: Option<JoinHandle<Result<(u64, EventRuns)>>>,
    skip: Arc<HashSet<String>>,
    dir: PathBuf,
    events: CaseEvents,
}

/// Which events the case store keeps (`assess --case-events`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CaseEvents {
    /// Every event read (the default): the case holds the evidence, and
    /// `kahu serve` can show what happened around a finding even when the
    /// evidence is gone.
    #[default]
    All,
    /// Only the events a Sigma rule or an indicator reported: a far
    /// smaller and faster store, but the timeline, search and process
    /// trees of `kahu serve` then see only those events, and the events
    /// behind correlation and analytics findings (logon bursts, lateral
    /// movement, beacons) are not stored — their findings are, with
    /// provenance pointing into the evidence.
    Detected,
}

/// Which stored findings a run replaces.
pub enum Replace<'a> {
    /// All of them (an assessment is recomputed over all evidence).
    All,
    /// Those on these files (a hunt over some evidence of the case).
    Files(&'a [(PathBuf, u64)]),
}

/// A matcher thread's handle on the store.
pub struct CaseSink {
    tx: Option<Sender<EventBlock>>,
    block: BlockBuilder,
    skip: Arc<HashSet<String>>,
    events: CaseEvents,
}

impl CaseSink {
    fn flush(&mut self) {
        if !self.block.is_empty()
            && let Some(tx) = &self.tx
        {
            let _ = tx.send(self.block.take());
        }
    }
}

impl Drop for CaseSink {
    fn drop(&mut self) {
        self.flush();
    }
}

impl CaseSink {
    /// Queue one event for storage (unless its file is already stored,
    /// or only detected events are kept and `detected` is false).
    pub fn push(&mut self, event: &Event, detected: bool) {
        if self.tx.is_none()
            || (self.events == CaseEvents::Detected && !detected)
            || self.skip.contains(&*event.provenance.file)
        {
            return;
        }
        if let Err(e) = self.block.push(event) {
            tracing::warn!(file = %event.provenance.file, error = %e, "event not stored in the case");
            return;
        }
        if self.block.is_full() {
            self.flush();
        }
    }

    /// Send what another thread's handle still holds.
    pub fn absorb(&mut self, mut other: CaseSink) {
        other.flush();
    }
}

impl CaseStore {
    /// Open or create the case in `dir`, register the evidence files
    /// (hashing them), and start the writer thread.
    ///
    /// `claim`: the evidence set's fingerprint and description; a case
    /// bound to another set is refused (see `Case::claim_evidence_set`).
    pub fn open(
        dir: &Path,
        files: &[(PathBuf, u64)],
        claim: Option<&(String, String)>,
        events: CaseEvents,
    ) -> Result<CaseStore> {
        kahu_report::safe::create_output_root(dir)?;
        let mut case = if dir.join("case.sqlite").exists() {
            Case::open(dir)
        } else {
            Case::create(dir)
        }
        .with_context(|| format!("cannot open the case store in {}", dir.display()))?;
        if let Some((fingerprint, described)) = claim {
            case.claim_evidence_set(fingerprint, described)?;
        }
        let mut skip = HashSet::new();
        {
            // Hashed on every core before registering: a serial pass over
            // Mordor atomic's 76 MB was a tenth of a second before
            // detection could start. Registered in the evidence order, as
            // the first of two identical files is the one stored.
            let hashes: Vec<Option<String>> = {
                use rayon::prelude::*;
                files
                    .par_iter()
                    .map(|(path, _)| kahu_case::sha256_file(path).ok())
                    .collect()
            };
            let mut w = case.writer()?;
            for ((path, size), sha) in files.iter().zip(hashes) {
                let info = EvidenceInfo {
                    path: kahu_event::display_evidence_path(path),
                    member: None,
                    size: Some(*size),
                    sha256: sha,
                    format: None,
                };
                if w.begin_evidence(&info)?.is_none() {
                    skip.insert(kahu_event::display_evidence_path(path));
                }
            }
            w.finish()?;
        }
        drop(case);
        let (tx, rx) = bounded::<EventBlock>(QUEUED_BLOCKS);
        let d = dir.to_path_buf();
        let writer = std::thread::spawn(move || write_events(&d, rx));
        Ok(CaseStore {
            tx: Some(tx),
            writer: Some(writer),
            skip: Arc::new(skip),
            dir: dir.to_path_buf(),
            events,
        })
    }

    /// A handle for one matcher thread.
    pub fn sink(&self) -> CaseSink {
        CaseSink {
            tx: self.tx.clone(),
            block: BlockBuilder::new(),
            skip: self.skip.clone(),
            events: self.events,
        }
    }

    /// Files skipped because the case already holds them.
    pub fn skipped(&self) -> usize {
        self.skip.len()
    }

    /// Wait for the events to be written, then replace findings and store
    /// the documents (`attribution`, `assessment`, `attack-tactics`, `analytics`,
    /// and [`DocKind::CorrelationWarnings`]: the run's correlation warnings,
    /// which are about no evidence file).
    pub fn finish(
        mut self,
        findings: &[kahu_finding::Finding],
        documents: &[(DocKind, serde_json::Value)],
        warnings: &[crate::warning::RunWarning],
        formats: &[crate::detect::EvidenceFormat],
        replace: Replace<'_>,
    ) -> Result<u64> {
        self.tx = None;
        let (stored, runs) = match self.writer.take() {
            Some(h) => h
                .join()
                .map_err(|_| anyhow::anyhow!("case writer thread panicked"))??,
            None => (0, EventRuns::default()),
        };
        let t = std::time::Instant::now();
        let mut case = Case::open(&self.dir)?;
        {
            let mut w = case.writer()?;
            match replace {
                Replace::All => {
                    w.clear_findings()?;
                }
                Replace::Files(files) => {
                    for (p, _) in files {
                        w.clear_findings_for_file(&kahu_event::display_evidence_path(p))?;
                    }
                }
            }
            w.add_findings_after(findings, &runs)?;
            for f in formats {
                w.set_evidence_format(&f.file, f.member.as_deref(), f.format)?;
            }
            for warn in warnings.iter().take(10_000) {
                // A correlation warning is about no evidence file: it goes
                // to its own document below.
                if let (Some(file), Ok(v)) = (warn.file(), serde_json::to_value(warn)) {
                    w.add_warning(file, warn.member(), v)?;
                }
            }
            w.finish()?;
        }
        for (kind, body) in documents {
            case.set_document(kind.as_str(), 1, body, "kahu")?;
        }
        let correlation: Vec<_> = warnings.iter().filter(|w| w.is_correlation()).collect();
        case.set_document(
            DocKind::CorrelationWarnings.as_str(),
            1,
            &serde_json::to_value(&correlation)?,
            "kahu",
        )?;
        tracing::info!(
            findings = findings.len(),
            seconds = t.elapsed().as_secs_f64(),
            "case store: findings and documents written"
        );
        Ok(stored)
    }
}

fn write_events(dir: &Path, rx: Receiver<EventBlock>) -> Result<(u64, EventRuns)> {
    let mut case = Case::open(dir)?;
    // A new case's events are written once instead of twice (WAL, then
    // checkpoint): ≈ half of the store's I/O.
    let first_load = case.begin_first_load()?;
    tracing::info!(
        first_load,
        "case store: rollback journal for a new case's load"
    );
    let loaded = load_events(&mut case, rx)?;
    if first_load {
        case.end_first_load()?;
    }
    Ok(loaded)
}

/// Write the blocks; returns the events written and where their rows went
/// (the findings are linked to them in `CaseStore::finish`).
fn load_events(case: &mut Case, rx: Receiver<EventBlock>) -> Result<(u64, EventRuns)> {
    let mut w = case.bulk_writer()?;
    let mut n = 0;
    // Stage timings for `-v`: time inserting vs. waiting for batches, and
    // the commit (deferred index builds, WAL checkpoint).
    let mut inserting = std::time::Duration::ZERO;
    let started = std::time::Instant::now();
    for block in rx {
        let t = std::time::Instant::now();
        w.add_block(&block)?;
        n += block.len() as u64;
        inserting += t.elapsed();
    }
    let t = std::time::Instant::now();
    let loading = t - started;
    let runs = w.take_event_runs();
    w.finish()?;
    tracing::info!(
        events = n,
        inserting_s = inserting.as_secs_f64(),
        waiting_s = loading.saturating_sub(inserting).as_secs_f64(),
        commit_s = t.elapsed().as_secs_f64(),
        "case store: events written"
    );
    Ok((n, runs))
}

/// Analytics and (optionally) case storage on each matcher thread.
pub struct PipelineObserver {
    /// Analytics accumulator.
    pub analytics: Option<kahu_reconstruct::Analytics>,
    /// Case store handle.
    pub case: Option<CaseSink>,
    /// Hashes of non-system files, for containment.
    pub file_hashes: Option<crate::file_hashes::FileHashes>,
}

impl Observer for PipelineObserver {
    fn observe(&mut self, event: &Event) {
        self.observe_detected(event, false);
    }
    fn observe_detected(&mut self, event: &Event, detected: bool) {
        if let Some(a) = self.analytics.as_mut() {
            a.observe(event);
        }
        if let Some(c) = self.case.as_mut() {
            c.push(event, detected);
        }
        if let Some(h) = self.file_hashes.as_mut() {
            h.observe(event);
        }
    }
    fn merge(&mut self, other: Self) {
        self.analytics = match (self.analytics.take(), other.analytics) {
            (Some(a), Some(b)) => Some(a.merge(b)),
            (a, b) => a.or(b),
        };
        self.file_hashes = match (self.file_hashes.take(), other.file_hashes) {
            (Some(mut a), Some(b)) => {
                a.merge(b);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        match (self.case.as_mut(), other.case) {
            (Some(mine), Some(theirs)) => mine.absorb(theirs),
            (None, Some(theirs)) => self.case = Some(theirs),
            _ => {}
        }
    }
}
