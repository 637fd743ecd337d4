//! `kahu events`: read evidence and print the normalised events.
//!
//! Useful to see what kahu makes of a file (field names, host, time) before
//! writing a rule, and as the parse-only baseline of the benchmarks.

use crate::progress::FileProgress;
use anyhow::{Context, Result};
use kahu_assess::detect;
use kahu_event::Event;
use kahu_finding::Finding;
use kahu_finding::{Detector, NoObserver};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

/// Print the normalised events of evidence files as JSON-lines.
///
///   kahu events Security.evtx | head
///
///   kahu events ./triage --count      (parse only; prints counts)
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Evidence files, directories or archives.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Only count events (and report speed); print no events.
    #[arg(long)]
    pub count: bool,
    /// Write events to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

struct Dump<W: Write + Send> {
    out: Mutex<W>,
}

impl<W: Write + Send> Detector for Dump<W> {
    fn inspect(&self, event: &Event, _: &mut Vec<Finding>) {
        let line = serde_json::to_string(event).unwrap_or_default();
        let mut w = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(w, "{line}");
    }
}

struct Nothing;
impl Detector for Nothing {
    fn inspect(&self, _: &Event, _: &mut Vec<Finding>) {}
}

/// Run.
pub(crate) fn run(args: Args, global: &super::Global) -> Result<ExitCode> {
    let started = Instant::now();
    for p in &args.paths {
        if !p.exists() {
            anyhow::bail!("evidence path {} does not exist", p.display());
        }
    }
    if let Some(out) = &args.output {
        kahu_assess::guard::refuse_outputs_on_evidence(&[out.as_path()], &args.paths)?;
    }
    let (files, walk_warnings) = detect::list_files(&args.paths);
    let progress = FileProgress::new(global.quiet || !args.count);
    let out = if args.count {
        detect::run(&files, &[&Nothing], || NoObserver, &progress)
    } else {
        let sink: Box<dyn Write + Send> = match &args.output {
            Some(p) => Box::new(std::io::BufWriter::new(
                kahu_report::safe::create_output_file(p)
                    .with_context(|| format!("cannot create {}", p.display()))?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stdout())),
        };
        let dump = Dump {
            out: Mutex::new(sink),
        };
        let out = detect::run(&files, &[&dump], || NoObserver, &progress);
        dump.out
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .flush()?;
        out
    };
    progress.finish();
    for w in walk_warnings.iter().chain(out.warnings.iter()).take(20) {
        eprintln!("warning: {}", crate::output::terminal_safe(&w.to_string()));
    }
    if args.count {
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({
                "files": out.files.len(),
                "events": out.events,
                "warnings": out.warnings.len() + walk_warnings.len(),
                "elapsed_seconds": secs,
                "events_per_second": out.events as f64 / secs.max(1e-9),
            })
        );
    }
    if out.events == 0 {
        eprintln!("error: no event could be read from the evidence (see the warnings)");
        return Ok(ExitCode::from(crate::NO_EVIDENCE_EXIT));
    }
    Ok(ExitCode::SUCCESS)
}
