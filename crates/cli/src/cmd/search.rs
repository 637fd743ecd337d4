//! `kahu search`: find events by keyword or regular expression, across
//! every field or one, without writing a rule (Chainsaw's `search`).

use crate::filter::FilterArgs;
use crate::progress::FileProgress;
use anyhow::{Context, Result};
use kahu_assess::detect;
use kahu_event::{Event, Value};
use kahu_finding::{Detector, Finding, NoObserver};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Find events whose fields contain every keyword (case-insensitive) and
/// match every regular expression; print them as JSON-lines.
///
///   kahu search ./triage -k mimikatz
///   kahu search Security.evtx -e '(?i)\\\\temp\\\\.*\.exe' --field CommandLine --event-id 4688
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Evidence files, directories or archives.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Keyword (repeatable: all must occur, in any fields).
    #[arg(short = 'k', long = "keyword", value_name = "TEXT")]
    pub keywords: Vec<String>,
    /// Regular expression (Rust syntax, linear time; repeatable: all must match).
    #[arg(short = 'e', long = "regex", value_name = "REGEX")]
    pub regexes: Vec<String>,
    /// Only look in these fields (repeatable; default every field).
    #[arg(long = "field", value_name = "NAME")]
    pub fields: Vec<String>,
    /// Stop after this many matches.
    #[arg(long, default_value_t = 10_000)]
    pub max: u64,
    /// Write matches to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub select: FilterArgs,
}

struct Search {
    keywords: Vec<String>,
    regexes: Vec<regex::Regex>,
    fields: Vec<String>,
    max: u64,
    found: AtomicU64,
    out: Mutex<Box<dyn Write + Send>>,
}

fn text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    v.as_text()
}

impl Search {
    fn values<'a>(&'a self, e: &'a Event) -> Vec<std::borrow::Cow<'a, str>> {
        e.fields
            .iter()
            .filter(|(k, _)| {
                self.fields.is_empty() || self.fields.iter().any(|f| f.eq_ignore_ascii_case(k))
            })
            .filter_map(|(_, v)| text(v))
            .collect()
    }

    fn matches(&self, e: &Event) -> bool {
        let values = self.values(e);
        let lower: Vec<String> = if self.keywords.is_empty() {
            Vec::new()
        } else {
            values.iter().map(|v| v.to_lowercase()).collect()
        };
        self.keywords
            .iter()
            .all(|k| lower.iter().any(|v| v.contains(k.as_str())))
            && self
                .regexes
                .iter()
                .all(|r| values.iter().any(|v| r.is_match(v)))
    }
}

impl Detector for Search {
    fn inspect(&self, e: &Event, _: &mut Vec<Finding>) {
        if self.found.load(Ordering::Relaxed) >= self.max || !self.matches(e) {
            return;
        }
        if self.found.fetch_add(1, Ordering::Relaxed) >= self.max {
            return;
        }
        let line = serde_json::to_string(e).unwrap_or_default();
        let mut w = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(w, "{line}");
    }
}

/// Run.
pub(crate) fn run(args: Args, global: &super::Global) -> Result<ExitCode> {
    if args.keywords.is_empty() && args.regexes.is_empty() {
        anyhow::bail!("give at least one --keyword or --regex");
    }
    for p in &args.paths {
        if !p.exists() {
            anyhow::bail!("evidence path {} does not exist", p.display());
        }
    }
    if let Some(out) = &args.output {
        kahu_assess::guard::refuse_outputs_on_evidence(&[out.as_path()], &args.paths)?;
    }
    let regexes = args
        .regexes
        .iter()
        .map(|r| {
            regex::RegexBuilder::new(r)
                .size_limit(1 << 20)
                .build()
                .with_context(|| format!("--regex {r:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let sink: Box<dyn Write + Send> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            kahu_report::safe::create_output_file(p)
                .with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let search = Search {
        keywords: args.keywords.iter().map(|k| k.to_lowercase()).collect(),
        regexes,
        fields: args.fields.clone(),
        max: args.max,
        found: AtomicU64::new(0),
        out: Mutex::new(sink),
    };
    let filter = args.select.filter()?;
    let (files, walk_warnings) = detect::list_files(&args.paths);
    let progress = FileProgress::new(global.quiet);
    let out = detect::run_filtered(&files, &[&search], &filter, || NoObserver, &progress);
    progress.finish();
    search
        .out
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .flush()?;
    let found = search.found.into_inner().min(args.max);
    for w in walk_warnings.iter().chain(out.warnings.iter()).take(20) {
        eprintln!("warning: {}", crate::output::terminal_safe(&w.to_string()));
    }
    if !global.quiet {
        eprintln!(
            "{found} matching event(s) of {} read{}",
            out.events,
            if found >= args.max {
                format!(" (stopped at --max {})", args.max)
            } else {
                String::new()
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
