//! `kahu metrics`: what the evidence holds before any rule runs — events
//! per channel and event id, per computer, and a logon summary (Hayabusa's
//! `eid-metrics`, `computer-metrics` and `logon-summary` in one pass).

use crate::filter::FilterArgs;
use crate::output::terminal_safe;
use crate::progress::FileProgress;
use anyhow::Result;
use kahu_assess::detect;
use kahu_event::{Event, Timestamp};
use kahu_finding::{Detector, Finding, Observer};
use kahu_reconstruct::Analytics;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Event-id, computer and logon metrics of evidence.
///
///   kahu metrics ./triage
///   kahu metrics Security.evtx --json
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Evidence files, directories or archives.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Rows per table in the text output (JSON has every row).
    #[arg(long, default_value_t = 30)]
    pub top: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub select: FilterArgs,
}

/// Distinct keys kept per table: metrics over hostile evidence stay bounded.
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
struct Metrics {
    by_eid: HashMap<(String, Option<u32>), u64>,
    by_host: HashMap<String, (u64, Option<Timestamp>, Option<Timestamp>)>,
    dropped: u64,
    analytics: Analytics,
}

fn widen(
    slot: &mut (u64, Option<Timestamp>, Option<Timestamp>),
    n: u64,
    a: Option<Timestamp>,
    b: Option<Timestamp>,
) {
    slot.0 += n;
    slot.1 = match (slot.1, a) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    slot.2 = match (slot.2, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
}

impl Observer for Metrics {
    fn observe(&mut self, e: &Event) {
        let key = (e.channel.as_deref().unwrap_or("").to_string(), e.event_id);
        if let Some(c) = self.by_eid.get_mut(&key) {
            *c += 1;
        } else if self.by_eid.len() < MAX_KEYS {
            self.by_eid.insert(key, 1);
        } else {
            self.dropped += 1;
        }
        let host = e.host.as_deref().unwrap_or("").to_string();
        if let Some(s) = self.by_host.get_mut(&host) {
            widen(s, 1, e.timestamp, e.timestamp);
        } else if self.by_host.len() < MAX_KEYS {
            self.by_host.insert(host, (1, e.timestamp, e.timestamp));
        } else {
            self.dropped += 1;
        }
        self.analytics.observe(e);
    }

    fn merge(&mut self, o: Self) {
        for (k, v) in o.by_eid {
            *self.by_eid.entry(k).or_default() += v;
        }
        for (k, (n, a, b)) in o.by_host {
            widen(self.by_host.entry(k).or_default(), n, a, b);
        }
        self.dropped += o.dropped;
        self.analytics = std::mem::take(&mut self.analytics).merge(o.analytics);
    }
}

struct Nothing;
impl Detector for Nothing {
    fn inspect(&self, _: &Event, _: &mut Vec<Finding>) {}
}

fn time(t: Option<Timestamp>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}

/// Run.
pub(crate) fn run(args: Args, global: &super::Global) -> Result<ExitCode> {
    for p in &args.paths {
        if !p.exists() {
            anyhow::bail!("evidence path {} does not exist", p.display());
        }
    }
    let filter = args.select.filter()?;
    let (files, walk_warnings) = detect::list_files(&args.paths);
    let progress = FileProgress::new(global.quiet || args.json);
    let out = detect::run_filtered(&files, &[&Nothing], &filter, Metrics::default, &progress);
    progress.finish();
    let m = out.observer;
    // The tables count the events the filter kept: percentages of those,
    // and the header says how many were left out.
    let excluded = out.excluded.total();
    let kept = out.events.saturating_sub(excluded);
    let total = kept.max(1) as f64;
    let mut eids: Vec<_> = m.by_eid.into_iter().collect();
    eids.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut hosts: Vec<_> = m.by_host.into_iter().collect();
    hosts.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    let logons = m.analytics.finish().logons;
    let warnings = walk_warnings.len() + out.warnings.len();
    if args.json {
        let v = serde_json::json!({
            "files": out.files.len(),
            "events": out.events,
            "events_excluded": excluded,
            "events_counted": kept,
            "warnings": warnings,
            "warning_details": walk_warnings
                .iter()
                .chain(out.warnings.iter())
                .map(|w| w.to_string())
                .collect::<Vec<_>>(),
            "keys_dropped": m.dropped,
            "event_ids": eids.iter().map(|((ch, id), n)| serde_json::json!({
                "channel": ch, "event_id": id, "events": n, "percent": *n as f64 * 100.0 / total,
            })).collect::<Vec<_>>(),
            "computers": hosts.iter().map(|(h, (n, a, b))| serde_json::json!({
                "computer": h, "events": n, "first": a, "last": b,
            })).collect::<Vec<_>>(),
            "logons": logons,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(nothing_read(out.events));
    }
    for w in walk_warnings.iter().chain(out.warnings.iter()).take(20) {
        eprintln!("warning: {}", terminal_safe(&w.to_string()));
    }
    if warnings > 20 {
        eprintln!(
            "warning: … and {} more (all in `kahu metrics --json`)",
            warnings - 20
        );
    }
    println!(
        "{} files, {} events read{}{}",
        out.files.len(),
        out.events,
        if excluded > 0 {
            format!(", {excluded} left out by the scope filter ({kept} counted below)")
        } else {
            String::new()
        },
        if warnings > 0 {
            format!(", {warnings} warnings")
        } else {
            String::new()
        }
    );
    println!("\nEvents by channel and event id:");
    println!("  {:>9}  {:>6}  {:>6}  channel", "events", "%", "id");
    for ((ch, id), n) in eids.iter().take(args.top) {
        println!(
            "  {n:>9}  {:>6.2}  {:>6}  {}",
            *n as f64 * 100.0 / total,
            id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
            terminal_safe(if ch.is_empty() { "(none)" } else { ch })
        );
    }
    println!("\nComputers:");
    println!(
        "  {:>9}  {:<20}  {:<20}  computer",
        "events", "first (UTC)", "last (UTC)"
    );
    for (h, (n, a, b)) in hosts.iter().take(args.top) {
        println!(
            "  {n:>9}  {:<20}  {:<20}  {}",
            time(*a),
            time(*b),
            terminal_safe(if h.is_empty() { "(unknown)" } else { h })
        );
    }
    println!("\nLogons (account, source → host, type: successes / failures):");
    for l in logons.iter().take(args.top) {
        println!(
            "  {:>6} / {:<6}  {} from {} → {} (type {})",
            l.successes,
            l.failures,
            terminal_safe(&l.account),
            terminal_safe(&l.source),
            terminal_safe(&l.target_host),
            l.logon_type
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into())
        );
    }
    if eids.len() > args.top || hosts.len() > args.top || logons.len() > args.top {
        println!(
            "\n(first {} rows per table; --top N or --json for all)",
            args.top
        );
    }
    Ok(nothing_read(out.events))
}

/// Success, or [`crate::NO_EVIDENCE_EXIT`] with a line saying why when no
/// event was read.
fn nothing_read(events: u64) -> ExitCode {
    if events == 0 {
        eprintln!("error: no event could be read from the evidence (see the warnings)");
        return ExitCode::from(crate::NO_EVIDENCE_EXIT);
    }
    ExitCode::SUCCESS
}
