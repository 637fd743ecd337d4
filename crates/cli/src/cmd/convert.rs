//! `kahu convert EVIDENCE... --to parquet DIR`: evidence as Parquet event
//! shards partitioned by UTC day and host, for query engines (DataFusion,
//! Ballista) and for kahu itself (`kahu hunt DIR` reads them back).
//!
//! Files are read in parallel (as `hunt` reads them); events go over
//! bounded channels to writer threads, each owning a fixed share of the
//! partitions (by hash), so each partition is written by one thread and
//! memory stays bounded by the writers' limits whatever the evidence size.

use crate::progress::FileProgress;
use anyhow::{Context, Result, bail};
use crossbeam_channel::{Receiver, Sender, bounded};
use kahu_assess::detect::{self, Progress};
use kahu_columnar::{PartitionKey, ShardInfo, ShardWriter, WriteSummary, WriterOptions};
use kahu_event::Event;
use kahu_ingest::{Sink, Warning};
use serde::Serialize;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Convert evidence into Parquet event shards.
///
/// Every event kahu reads (the same events `hunt` examines) becomes one row
/// of `DIR/day=YYYY-MM-DD/host=NAME/part-NNNNN.parquet` (UTC day; events
/// without a time or host under `day=_unknown` / `host=_unknown`). Reading
/// DIR back (`kahu hunt DIR`) gives the same events, with the provenance of
/// the original evidence. Layout: docs/scale-out.md.
///
///   kahu convert ./triage --to parquet ./triage-parquet
///
///   kahu convert Security.evtx logs.zip --to parquet out/ --json
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Evidence files, directories or archives; with kahu built with the
    /// `object-store` feature also `s3://BUCKET/PREFIX/` (AWS environment
    /// variables; an `http://` endpoint needs `AWS_ALLOW_HTTP=true`) and
    /// `file:///ABS/PATH/`.
    #[arg(required = true, value_name = "EVIDENCE")]
    pub paths: Vec<PathBuf>,
    /// Output format and folder: `--to parquet DIR` (the only format). DIR
    /// is created if missing and must be empty unless `--force`.
    #[arg(long = "to", num_args = 2, value_names = ["FORMAT", "DIR"], required = true)]
    pub to: Vec<PathBuf>,
    /// Replace an earlier conversion in DIR. Only a folder holding nothing
    /// but `kahu convert` shards is replaced; anything else there is refused.
    #[arg(long)]
    pub force: bool,
    /// Close a shard at this many events.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub max_shard_events: u64,
    /// Close a shard at this many MiB of Parquet.
    #[arg(long, default_value_t = 128, value_name = "MIB")]
    pub max_shard_mib: u64,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What a conversion did (`--json`).
#[derive(Serialize)]
struct Summary {
    output: String,
    evidence_files: usize,
    evidence_bytes: u64,
    events_read: u64,
    events_written: u64,
    events_skipped: u64,
    skipped_reasons: Vec<String>,
    shards: usize,
    partitions: usize,
    parquet_bytes: u64,
    elapsed_seconds: f64,
    events_per_second: f64,
    warnings: usize,
    warning_details: Vec<Warning>,
}

/// Events per channel message: the same batching as `hunt`'s reader.
const BATCH: usize = 512;

/// Bytes the writer threads together may hold in Arrow batches and Parquet
/// row groups in progress before the fullest shard writes out early.
const WRITE_MEMORY: usize = 256 << 20;

/// Events travelling from a reader to a writer thread.
type Batch = Vec<Event>;

/// Writer threads: one per reading thread (at most 8).
fn writer_threads() -> usize {
    rayon::current_num_threads().clamp(1, 8)
}

/// Run.
pub(crate) fn run(mut args: Args, global: &super::Global) -> Result<ExitCode> {
    let started = Instant::now();
    let [format, dir] = args.to.as_slice() else {
        bail!("--to takes a format and a folder: --to parquet DIR");
    };
    if format.as_os_str() != "parquet" {
        bail!(
            "unknown output format {:?} (kahu convert writes `parquet`)",
            format.display().to_string()
        );
    }
    let dir = dir.clone();
    // `s3://…` and `file://…` arguments become a spool folder of copies,
    // kept until the end of the run; shards keep the objects' names.
    let evidence = crate::remote::resolve(
        &args.paths,
        crate::remote::Reading::Embedded,
        global.quiet || args.json,
    )?;
    kahu_assess::guard::refuse_outputs_on_evidence(&[dir.as_path()], &evidence.local)?;
    args.paths.clone_from(&evidence.paths);
    for p in &args.paths {
        if !p.exists() {
            bail!("evidence path {} does not exist", p.display());
        }
    }
    prepare_output(&dir, &args.paths, args.force)?;
    let (files, walk_warnings) = detect::list_files(&args.paths);
    let evidence_bytes: u64 = files.iter().map(|f| f.1).sum();
    let writers = writer_threads();
    let opts = WriterOptions {
        max_shard_rows: args.max_shard_events.max(1),
        max_shard_bytes: args.max_shard_mib.max(1) << 20,
        // One budget for the run, shared by the writer threads.
        memory_budget: WRITE_MEMORY / writers,
        ..WriterOptions::default()
    };
    let progress = FileProgress::new(global.quiet || args.json);
    let out = convert(&files, &dir, opts, &progress)?;
    progress.finish();

    let mut warnings = walk_warnings;
    warnings.extend(out.warnings);
    let elapsed = started.elapsed().as_secs_f64();
    let partitions: std::collections::BTreeSet<&Path> = out
        .written
        .shards
        .iter()
        .filter_map(|s| s.path.parent())
        .collect();
    let summary = Summary {
        output: dir.display().to_string(),
        evidence_files: files.len(),
        evidence_bytes,
        events_read: out.events,
        events_written: out.written.events,
        events_skipped: out.written.skipped_total,
        skipped_reasons: out.written.skipped.iter().map(|r| r.to_string()).collect(),
        shards: out.written.shards.len(),
        partitions: partitions.len(),
        parquet_bytes: out.written.shards.iter().map(|s| s.bytes).sum(),
        elapsed_seconds: elapsed,
        events_per_second: out.events as f64 / elapsed.max(1e-9),
        warnings: warnings.len(),
        warning_details: warnings.iter().take(1000).cloned().collect(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary, &warnings, global.quiet);
    }
    if out.events == 0 {
        eprintln!("error: no event could be read from the evidence (see the warnings)");
        return Ok(ExitCode::from(crate::NO_EVIDENCE_EXIT));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(s: &Summary, warnings: &[Warning], quiet: bool) {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "Converted {} of {} events from {} file(s) ({:.1} MiB) into {} shard(s) in {} partition(s), {:.1} MiB of Parquet, in {:.1}s ({:.0} events/s): {}",
        s.events_written,
        s.events_read,
        s.evidence_files,
        mib(s.evidence_bytes),
        s.shards,
        s.partitions,
        mib(s.parquet_bytes),
        s.elapsed_seconds,
        s.events_per_second,
        crate::output::terminal_safe(&s.output),
    );
    if s.events_skipped > 0 {
        println!(
            "Not converted: {} event(s) ({})",
            s.events_skipped,
            s.skipped_reasons.first().map_or("", String::as_str)
        );
    }
    if !warnings.is_empty() && !quiet {
        println!(
            "Warnings: {} (first 5 below; --json lists them)",
            warnings.len()
        );
        for w in warnings.iter().take(5) {
            eprintln!("warning: {}", crate::output::terminal_safe(&w.to_string()));
        }
    }
}

/// What [`convert`] produced.
struct Converted {
    events: u64,
    warnings: Vec<Warning>,
    written: WriteSummary,
}

/// Read `files` in parallel and write their events under `dir`.
fn convert(
    files: &[(PathBuf, u64)],
    dir: &Path,
    opts: WriterOptions,
    progress: &dyn Progress,
) -> Result<Converted> {
    progress.start(files.len() as u64, files.iter().map(|f| f.1).sum());
    let writers = writer_threads();
    let counter = Arc::new(AtomicU64::new(0));
    let failed = AtomicBool::new(false);
    let warnings = Mutex::new(Vec::new());
    let events = AtomicU64::new(0);
    let (txs, rxs): (Vec<Sender<Batch>>, Vec<Receiver<Batch>>) =
        (0..writers).map(|_| bounded(4)).unzip();
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = rxs
            .into_iter()
            .map(|rx| {
                let counter = counter.clone();
                let failed = &failed;
                scope.spawn(move || write_loop(rx, dir, opts, counter, failed))
            })
            .collect();
        {
            use rayon::prelude::*;
            files.par_iter().for_each(|(path, size)| {
                if failed.load(Ordering::Relaxed) {
                    return;
                }
                let mut sink = RouteSink {
                    batches: vec![Vec::new(); writers],
                    txs: &txs,
                    warnings: Vec::new(),
                    events: 0,
                };
                if let Err(e) = kahu_ingest::read_path(path, &mut sink) {
                    sink.warning(Warning {
                        file: path.display().to_string().into(),
                        member: None,
                        location: None,
                        reason: format!("cannot read: {e}"),
                    });
                }
                sink.flush_all();
                events.fetch_add(sink.events, Ordering::Relaxed);
                if !sink.warnings.is_empty() {
                    let mut w = warnings.lock().unwrap_or_else(|e| e.into_inner());
                    w.extend(sink.warnings);
                }
                progress.file_done(*size);
            });
        }
        drop(txs);
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a writer thread failed")))
            })
            .collect::<Vec<_>>()
    });
    let mut written = WriteSummary::default();
    for r in results {
        let s = r?;
        written.events += s.events;
        written.skipped_total += s.skipped_total;
        written.early_flushes += s.early_flushes;
        written.skipped.extend(s.skipped);
        written.shards.extend(s.shards);
    }
    written
        .shards
        .sort_by(|a: &ShardInfo, b| a.path.cmp(&b.path));
    let mut warnings = warnings.into_inner().unwrap_or_else(|e| e.into_inner());
    warnings.sort_by(|a, b| (&a.file, &a.member).cmp(&(&b.file, &b.member)));
    Ok(Converted {
        events: events.into_inner(),
        warnings,
        written,
    })
}

/// One writer thread: its partitions' events into shards. On an error it
/// stops taking events (the readers then stop) and returns the error.
fn write_loop(
    rx: Receiver<Batch>,
    dir: &Path,
    opts: WriterOptions,
    counter: Arc<AtomicU64>,
    failed: &AtomicBool,
) -> Result<WriteSummary> {
    let mut w = ShardWriter::with_counter(dir, opts, counter)?;
    for batch in rx {
        for e in &batch {
            if let Err(err) = w.write(e) {
                failed.store(true, Ordering::Relaxed);
                return Err(err).context("cannot write the Parquet shards");
            }
        }
    }
    w.finish().context("cannot finish the Parquet shards")
}

/// Routes each event to the writer owning its partition.
struct RouteSink<'a> {
    batches: Vec<Vec<Event>>,
    txs: &'a [Sender<Batch>],
    warnings: Vec<Warning>,
    events: u64,
}

impl RouteSink<'_> {
    fn send(&mut self, i: usize) -> bool {
        let full = std::mem::take(&mut self.batches[i]);
        // A writer only goes away after an error: stop reading then.
        self.txs[i].send(full).is_ok()
    }

    fn flush_all(&mut self) {
        for i in 0..self.batches.len() {
            if !self.batches[i].is_empty() {
                self.send(i);
            }
        }
    }
}

impl Sink for RouteSink<'_> {
    fn event(&mut self, event: Event) -> bool {
        self.events += 1;
        let mut h = DefaultHasher::new();
        PartitionKey::of(&event).hash(&mut h);
        let i = (h.finish() % self.txs.len() as u64) as usize;
        self.batches[i].push(event);
        if self.batches[i].len() >= BATCH {
            return self.send(i);
        }
        true
    }

    fn warning(&mut self, warning: Warning) {
        // Bound memory on evidence that produces a warning per line.
        if self.warnings.len() < 10_000 {
            self.warnings.push(warning);
        }
    }
}

/// Refuse an output folder that is, or lies inside, the evidence, or that
/// holds the evidence; create it, or with `force` empty an earlier
/// conversion in it. A non-empty folder is refused without `force`.
fn prepare_output(dir: &Path, evidence: &[PathBuf], force: bool) -> Result<()> {
    kahu_assess::guard::refuse_outputs_on_evidence(&[dir], evidence)?;
    let out = kahu_assess::guard::resolved(dir);
    for e in evidence {
        if kahu_assess::guard::resolved(e).starts_with(&out) {
            bail!(
                "refusing to write into {}: it holds the evidence {} (choose an output folder outside it)",
                dir.display(),
                e.display()
            );
        }
    }
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()));
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
        Ok(m) if !std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) => {
            bail!(
                "{} exists and is not a folder ({:?})",
                dir.display(),
                m.file_type()
            )
        }
        Ok(_) => {}
    }
    let mut entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if entries.next().is_none() {
        return Ok(());
    }
    if !force {
        bail!(
            "{} is not empty; choose an empty or new folder, or --force to replace an earlier kahu convert output there",
            dir.display()
        );
    }
    remove_earlier_conversion(dir)
}

/// Remove an earlier `kahu convert` output: only when every entry is a
/// `day=…/host=…/part-N.parquet` shard (real folders and files, no links),
/// checked in full before anything is removed.
fn remove_earlier_conversion(dir: &Path) -> Result<()> {
    let mut shards = Vec::new();
    let mut folders = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false).min_depth(1) {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let t = entry.file_type();
        let ok = match parts.as_slice() {
            [d] => t.is_dir() && d.starts_with("day="),
            [d, h] => t.is_dir() && d.starts_with("day=") && h.starts_with("host="),
            [_, _, f] => t.is_file() && is_shard_name(f),
            _ => false,
        };
        if !ok {
            bail!(
                "refusing to replace {}: {} was not written by kahu convert (remove it yourself, or choose another folder)",
                dir.display(),
                entry.path().display()
            );
        }
        if t.is_dir() {
            folders.push(entry.into_path());
        } else {
            shards.push(entry.into_path());
        }
    }
    for s in &shards {
        std::fs::remove_file(s).with_context(|| format!("cannot remove {}", s.display()))?;
    }
    // Deepest first, so each folder is empty when removed.
    folders.sort_by_key(|f| std::cmp::Reverse(f.components().count()));
    for f in &folders {
        std::fs::remove_dir(f).with_context(|| format!("cannot remove {}", f.display()))?;
    }
    Ok(())
}

/// `part-<digits>.parquet`.
fn is_shard_name(name: &str) -> bool {
    name.strip_prefix("part-")
        .and_then(|r| r.strip_suffix(".parquet"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn force_replaces_only_an_earlier_conversion() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let ev = tmp.path().join("ev.jsonl");
        std::fs::write(&ev, "{}\n").expect("write");
        let out = tmp.path().join("out");
        // New folder: created.
        prepare_output(&out, std::slice::from_ref(&ev), false).expect("new folder");
        let shard = out.join("day=2021-01-01/host=ws1/part-00000.parquet");
        std::fs::create_dir_all(shard.parent().expect("parent")).expect("mkdir");
        std::fs::write(&shard, "PAR1").expect("write");
        // Not empty: refused without --force, replaced with it.
        let err = prepare_output(&out, std::slice::from_ref(&ev), false).expect_err("not empty");
        assert!(err.to_string().contains("not empty"), "{err}");
        prepare_output(&out, std::slice::from_ref(&ev), true).expect("replace");
        assert!(!shard.exists() && out.exists());
        assert_eq!(std::fs::read_dir(&out).expect("read").count(), 0);
        // Anything else in the folder: refused even with --force, nothing removed.
        std::fs::create_dir_all(shard.parent().expect("parent")).expect("mkdir");
        std::fs::write(&shard, "PAR1").expect("write");
        let notes = out.join("notes.txt");
        std::fs::write(&notes, "mine").expect("write");
        let err = prepare_output(&out, std::slice::from_ref(&ev), true).expect_err("foreign file");
        assert!(
            err.to_string().contains("not written by kahu convert"),
            "{err}"
        );
        assert!(shard.exists() && notes.exists());
    }

    #[test]
    fn the_output_can_neither_be_in_nor_hold_the_evidence() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let ev_dir = tmp.path().join("triage");
        std::fs::create_dir(&ev_dir).expect("mkdir");
        std::fs::write(ev_dir.join("a.jsonl"), "{}\n").expect("write");
        let inside = ev_dir.join("parquet");
        let err = prepare_output(&inside, std::slice::from_ref(&ev_dir), true).expect_err("inside");
        assert!(err.to_string().contains("inside the evidence"), "{err}");
        assert!(!inside.exists());
        let err =
            prepare_output(tmp.path(), std::slice::from_ref(&ev_dir), true).expect_err("holds");
        assert!(err.to_string().contains("holds the evidence"), "{err}");
        assert!(ev_dir.join("a.jsonl").exists());
    }

    #[test]
    fn shard_names() {
        assert!(is_shard_name("part-00000.parquet"));
        assert!(is_shard_name("part-1234567.parquet"));
        assert!(!is_shard_name("part-.parquet"));
        assert!(!is_shard_name("part-1.parquet.bak"));
        assert!(!is_shard_name("x.parquet"));
    }
}
