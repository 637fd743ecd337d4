//! The detection pass shared by `hunt` and `assess`: read evidence in
//! parallel and run every detector over each event exactly once.
//!
//! Files are read on rayon's pool (one file per task, so hundreds of small
//! EVTX files cost almost nothing each); events travel in batches over a
//! bounded channel to matcher threads, so a single huge file still uses
//! every core (one parses while the others match) and memory stays bounded
//! by the channel depth.

use crossbeam_channel::{Receiver, Sender, bounded};
use kahu_event::{Event, EventFilter, Excluded};
use kahu_finding::{Detector, Finding, Observer};
use kahu_ingest::{EvidenceCoverage, Sink, Warning};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const BATCH: usize = 512;

/// Size from which one JSON-lines input is parsed on every reader thread
/// when there are fewer files than threads (`kahu_ingest::json::set_parallel_lines`).
const SPLIT_LINES_FROM: u64 = 16 << 20;

/// What the pass produced.
pub struct DetectionOutput<O> {
    /// All findings, in no particular order.
    pub findings: Vec<Finding>,
    /// Problems with the evidence that did not stop reading.
    pub warnings: Vec<Warning>,
    /// Events read.
    pub events: u64,
    /// Of those, how many had no time, host or log source.
    pub coverage: EvidenceCoverage,
    /// Files (or archive roots) given to the readers.
    pub files: Vec<PathBuf>,
    /// Merged observer state.
    pub observer: O,
    /// Events read but left out by the filter.
    pub excluded: ExcludedCounts,
    /// The format each file and archive member was read as (at most
    /// [`MAX_FORMATS`]), for the case store's evidence inventory.
    pub formats: Vec<EvidenceFormat>,
}

/// Files and members whose format is kept for the inventory: a triage
/// archive of a million members still costs a bounded amount.
pub const MAX_FORMATS: usize = 100_000;

/// The reader that read one evidence file or archive member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFormat {
    /// The file on disk, as the case store names it.
    pub file: Arc<str>,
    /// The member inside an archive.
    pub member: Option<Arc<str>>,
    /// The format (`evtx`, `json`, `zeek`…) or container (`zip`, `gzip`…).
    pub format: &'static str,
}

/// Progress callbacks (the CLI drives a progress bar with them).
pub trait Progress: Sync {
    /// Reading starts: `files` files totalling `bytes` on disk.
    fn start(&self, files: u64, bytes: u64) {
        let _ = (files, bytes);
    }
    /// A file was finished; `bytes` is its size on disk.
    fn file_done(&self, bytes: u64);
    /// A later stage starts (`reconstruct and attribute`, `write report`…):
    /// the run is not stuck at a full bar.
    fn phase_start(&self, name: &str) {
        let _ = name;
    }
    /// The current stage (reading, or the last `phase_start`) finished;
    /// `detail` says what it produced (counts).
    fn phase_done(&self, detail: &str) {
        let _ = detail;
    }
}

impl Progress for () {
    fn file_done(&self, _: u64) {}
}

struct ChannelSink<'a> {
    batch: Vec<Event>,
    tx: &'a Sender<Vec<Event>>,
    warnings: Vec<Warning>,
    events: u64,
    coverage: EvidenceCoverage,
    filter: &'a EventFilter,
    excluded: ExcludedCounts,
    members: Option<MemberHook<'a>>,
    formats: Vec<EvidenceFormat>,
}

/// Called with every archive member the readers hold in memory (not the
/// archives themselves), on the reader's thread, before it is read for
/// events: `--yara` scans members here instead of decompressing every
/// archive a second time.
pub type MemberHook<'a> = &'a (dyn Fn(&kahu_ingest::Origin, &[u8]) + Sync);

/// Events read but left out by the analyst's [`EventFilter`], by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExcludedCounts {
    /// Outside the time window.
    pub time: u64,
    /// Without a time while a window was set.
    pub undated: u64,
    /// Host, channel or event id not selected.
    pub selection: u64,
}

impl ExcludedCounts {
    /// All events left out.
    pub fn total(&self) -> u64 {
        self.time + self.undated + self.selection
    }

    /// Add another pass's counts to these.
    pub fn add(&mut self, o: &ExcludedCounts) {
        self.time += o.time;
        self.undated += o.undated;
        self.selection += o.selection;
    }
}

/// The analyst's limits in words, with what each left out, for reports
/// and summaries; empty when nothing was filtered.
pub fn scope_limits(f: &EventFilter, n: &ExcludedCounts) -> Vec<String> {
    let mut out = Vec::new();
    let fmt = |t: &kahu_event::Timestamp| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    if f.from.is_some() || f.to.is_some() {
        out.push(format!(
            "time window {} to {}: {} event(s) outside it and {} without a time left out",
            f.from.as_ref().map_or("the start".into(), fmt),
            f.to.as_ref().map_or("the end".into(), fmt),
            n.time,
            n.undated
        ));
    }
    let mut sel = Vec::new();
    let list = |v: &[String]| v.join(", ");
    if !f.hosts.is_empty() {
        sel.push(format!("hosts {}", list(&f.hosts)));
    }
    if !f.exclude_hosts.is_empty() {
        sel.push(format!("not hosts {}", list(&f.exclude_hosts)));
    }
    if !f.channels.is_empty() {
        sel.push(format!("channels {}", list(&f.channels)));
    }
    if !f.exclude_channels.is_empty() {
        sel.push(format!("not channels {}", list(&f.exclude_channels)));
    }
    let ids = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    if !f.event_ids.is_empty() {
        sel.push(format!("event ids {}", ids(&f.event_ids)));
    }
    if !f.exclude_event_ids.is_empty() {
        sel.push(format!("not event ids {}", ids(&f.exclude_event_ids)));
    }
    if !sel.is_empty() {
        out.push(format!(
            "only {}: {} event(s) not selected",
            sel.join("; "),
            n.selection
        ));
    }
    out
}

impl Sink for ChannelSink<'_> {
    fn event(&mut self, event: Event) -> bool {
        self.events += 1;
        if let Some(why) = self.filter.check(&event) {
            match why {
                Excluded::Time => self.excluded.time += 1,
                Excluded::Undated => self.excluded.undated += 1,
                Excluded::Selection => self.excluded.selection += 1,
            }
            return true;
        }
        self.batch.push(event);
        if self.batch.len() >= BATCH {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            // The receiver only goes away when matching failed; stop reading then.
            return self.tx.send(full).is_ok();
        }
        true
    }

    fn warning(&mut self, warning: Warning) {
        // Bound memory on evidence that produces a warning per line.
        if self.warnings.len() < 10_000 {
            self.warnings.push(warning);
        }
    }

    fn file_read(&mut self, entry: &kahu_ingest::FileEntry) {
        self.coverage.merge(&entry.coverage);
        if let Some(format) = entry.format
            && self.formats.len() < MAX_FORMATS
        {
            self.formats.push(EvidenceFormat {
                file: entry.path.clone(),
                member: entry.member.clone(),
                format,
            });
        }
    }

    fn member(&mut self, origin: &kahu_ingest::Origin, data: &[u8]) {
        if let Some(hook) = self.members {
            hook(origin, data);
        }
    }
}

/// The files to read under the given paths, as [`kahu_ingest::list_files`]
/// lists them (archives are files here; the readers open them), each with
/// its size, largest first, and the warnings about what was not listed.
pub fn list_files(paths: &[PathBuf]) -> (Vec<(PathBuf, u64)>, Vec<Warning>) {
    let mut warnings = Warnings(Vec::new());
    let mut files: Vec<(PathBuf, u64)> = kahu_ingest::list_files(paths, &mut warnings)
        .into_iter()
        .map(|p| {
            let size = std::fs::metadata(&p).map_or(0, |m| m.len());
            (p, size)
        })
        .collect();
    // Largest first so a big file does not start last and stretch the run.
    files.sort_by_key(|f| std::cmp::Reverse(f.1));
    (files, warnings.0)
}

/// Keeps the warnings of a file listing (a listing sends no events).
struct Warnings(Vec<Warning>);

impl Sink for Warnings {
    fn event(&mut self, _: Event) -> bool {
        true
    }
    fn warning(&mut self, warning: Warning) {
        self.0.push(warning);
    }
}

/// Read every file and run the detectors over every event.
pub fn run<O, F>(
    files: &[(PathBuf, u64)],
    detectors: &[&dyn Detector],
    make_observer: F,
    progress: &dyn Progress,
) -> DetectionOutput<O>
where
    O: Observer,
    F: Fn() -> O + Sync,
{
    run_filtered(
        files,
        detectors,
        &EventFilter::default(),
        make_observer,
        progress,
    )
}

/// [`run`] over the events `filter` keeps; the others are counted in
/// [`DetectionOutput::excluded`] and reach neither detectors nor observers.
pub fn run_filtered<O, F>(
    files: &[(PathBuf, u64)],
    detectors: &[&dyn Detector],
    filter: &EventFilter,
    make_observer: F,
    progress: &dyn Progress,
) -> DetectionOutput<O>
where
    O: Observer,
    F: Fn() -> O + Sync,
{
    run_with_members(files, detectors, filter, None, make_observer, progress)
}

/// [`run_filtered`], handing every archive member read to `members` too.
pub fn run_with_members<O, F>(
    files: &[(PathBuf, u64)],
    detectors: &[&dyn Detector],
    filter: &EventFilter,
    members: Option<MemberHook<'_>>,
    make_observer: F,
    progress: &dyn Progress,
) -> DetectionOutput<O>
where
    O: Observer,
    F: Fn() -> O + Sync,
{
    let excluded = Mutex::new(ExcludedCounts::default());
    progress.start(files.len() as u64, files.iter().map(|f| f.1).sum());
    let threads = rayon::current_num_threads().max(1);
    // With fewer files than reader threads (one large export, say) the
    // other threads would sit idle: cut large JSON-lines inputs into
    // blocks of lines parsed on every thread (same events, same order,
    // same line numbers). With more files every thread already has one,
    // and splitting would only add hand-off work.
    kahu_ingest::json::set_parallel_lines((files.len() < threads).then_some(SPLIT_LINES_FROM));
    let (tx, rx) = bounded::<Vec<Event>>(threads * 4);
    let warnings = Mutex::new(Vec::new());
    let events = AtomicU64::new(0);
    let coverage = Mutex::new(EvidenceCoverage::default());
    let formats = Mutex::new(Vec::new());

    let (findings, observer) = std::thread::scope(|scope| {
        let matchers: Vec<_> = (0..threads)
            .map(|_| {
                let rx: Receiver<Vec<Event>> = rx.clone();
                let obs = make_observer();
                scope.spawn(move || match_loop(rx, detectors, obs))
            })
            .collect();
        drop(rx);

        {
            use rayon::prelude::*;
            files.par_iter().for_each(|(path, size)| {
                let mut sink = ChannelSink {
                    batch: Vec::with_capacity(BATCH),
                    tx: &tx,
                    warnings: Vec::new(),
                    events: 0,
                    coverage: EvidenceCoverage::default(),
                    filter,
                    excluded: ExcludedCounts::default(),
                    members,
                    formats: Vec::new(),
                };
                if let Err(e) = kahu_ingest::read_path(path, &mut sink) {
                    sink.warnings.push(Warning {
                        file: kahu_event::display_evidence_path(path).into(),
                        member: None,
                        location: None,
                        reason: format!("cannot read: {e}"),
                    });
                }
                if !sink.batch.is_empty() {
                    let _ = tx.send(std::mem::take(&mut sink.batch));
                }
                tracing::debug!(
                    file = ?path,
                    bytes = size,
                    events = sink.events,
                    warnings = sink.warnings.len(),
                    "file read"
                );
                events.fetch_add(sink.events, Ordering::Relaxed);
                excluded
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .add(&sink.excluded);
                coverage
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .merge(&sink.coverage);
                {
                    let mut f = formats.lock().unwrap_or_else(|e| e.into_inner());
                    let room = MAX_FORMATS.saturating_sub(f.len());
                    f.extend(sink.formats.into_iter().take(room));
                }
                if !sink.warnings.is_empty() {
                    let mut w = warnings.lock().unwrap_or_else(|e| e.into_inner());
                    w.extend(sink.warnings);
                }
                progress.file_done(*size);
            });
        }
        drop(tx);

        let mut all = Vec::new();
        let mut merged: Option<O> = None;
        for m in matchers {
            // A matcher thread only panics on a bug; surface it rather than hide it.
            let (f, o) = m.join().expect("matcher thread panicked");
            all.extend(f);
            match merged.as_mut() {
                Some(acc) => acc.merge(o),
                None => merged = Some(o),
            }
        }
        (all, merged.unwrap_or_else(&make_observer))
    });

    let mut warnings = warnings.into_inner().unwrap_or_else(|e| e.into_inner());
    // Files finish in scheduling order; reports must not depend on it. The
    // sort is stable, so each file's warnings keep their reading order.
    warnings.sort_by(|a, b| (&a.file, &a.member).cmp(&(&b.file, &b.member)));
    DetectionOutput {
        findings,
        warnings,
        events: events.into_inner(),
        coverage: coverage.into_inner().unwrap_or_else(|e| e.into_inner()),
        files: files.iter().map(|(p, _)| p.clone()).collect(),
        observer,
        excluded: excluded.into_inner().unwrap_or_else(|e| e.into_inner()),
        formats: {
            let mut f = formats.into_inner().unwrap_or_else(|e| e.into_inner());
            f.sort_by(|a, b| (&a.file, &a.member).cmp(&(&b.file, &b.member)));
            f
        },
    }
}

fn match_loop<O: Observer>(
    rx: Receiver<Vec<Event>>,
    detectors: &[&dyn Detector],
    mut observer: O,
) -> (Vec<Finding>, O) {
    let mut out = Vec::new();
    for batch in rx {
        for event in &batch {
            let before = out.len();
            for d in detectors {
                d.inspect(event, &mut out);
            }
            observer.observe_detected(event, out.len() > before);
        }
    }
    (out, observer)
}

#[cfg(test)]
mod tests {
    use super::list_files;

    /// The listing `hunt` and `assess` read from: files with their sizes,
    /// largest first, and a link inside a directory reported, not followed.
    #[cfg(unix)]
    #[test]
    fn list_files_sizes_largest_first_and_reports_links_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.jsonl"), [b'x'; 10]).unwrap();
        std::fs::write(dir.path().join("b.jsonl"), [b'x'; 100]).unwrap();
        std::fs::write(outside.path().join("c.jsonl"), [b'x'; 1000]).unwrap();
        std::os::unix::fs::symlink(outside.path().join("c.jsonl"), dir.path().join("link"))
            .unwrap();

        let (files, warnings) = list_files(&[dir.path().to_path_buf()]);
        assert_eq!(
            files,
            vec![
                (dir.path().join("b.jsonl"), 100),
                (dir.path().join("a.jsonl"), 10)
            ]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].file.ends_with("link"), "{warnings:?}");
        assert!(warnings[0].reason.contains("symbolic link not followed"));

        // A link given as evidence is read, with the size of what it names.
        let (files, warnings) = list_files(&[dir.path().join("link")]);
        assert_eq!(files, vec![(dir.path().join("link"), 1000)]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}
