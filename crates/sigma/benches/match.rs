//! Rule loading and matching throughput (harness = false).
//!
//! Run: `cargo bench -p kahu-sigma --bench match`
//! `KAHU_BENCH_PROFILE=1`: cost and gate statistics per (channel, event id).
//! `KAHU_BENCH_PASSES=1`: exactly one pass per input instead of ~3 s, e.g.
//! under `valgrind --tool=callgrind --toggle-collect='*RuleSet::matches*'`.
//! Inputs: all rules under `../shared/sigma/rules/windows` (plus the
//! emerging-threats and threat-hunting Windows folders), and every event of
//! `../shared/sigma/regression_data` (Sysmon EVTX) and
//! `../shared/evtx/EVTX-ATTACK-SAMPLES`, replayed until ~3 s have elapsed.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::Event;
use kahu_ingest::{Sink, Warning};
use kahu_sigma::{LoadOptions, RuleSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Collect(Vec<Event>);
impl Sink for Collect {
    fn event(&mut self, e: Event) -> bool {
        self.0.push(e);
        true
    }
    fn warning(&mut self, _: Warning) {}
}

fn shared() -> PathBuf {
    std::env::var_os("KAHU_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

fn main() {
    let sh = shared();
    let sigma = sh.join("sigma");
    if !sigma.is_dir() {
        eprintln!("SKIP: shared data not found at {}", sh.display());
        return;
    }
    let rule_dirs: Vec<PathBuf> = [
        "rules/windows",
        "rules-emerging-threats",
        "rules-threat-hunting/windows",
    ]
    .iter()
    .map(|d| sigma.join(d))
    .collect();
    let opts = LoadOptions::default();
    let t = Instant::now();
    let report = RuleSet::load(&rule_dirs, &opts);
    let load = t.elapsed();
    let set = report.ruleset;
    println!(
        "load: {} files, {} rules compiled, {} errors in {:.3} s ({} rayon threads)",
        report.files,
        set.len(),
        report.errors.len(),
        load.as_secs_f64(),
        rayon::current_num_threads()
    );

    let mut events = Collect(Vec::new());
    for dir in [
        sigma.join("regression_data"),
        sh.join("evtx/EVTX-ATTACK-SAMPLES"),
    ] {
        for e in walkdir::WalkDir::new(&dir).into_iter().flatten() {
            if e.path().extension().is_some_and(|x| x == "evtx") {
                let _ = kahu_ingest::read_path(e.path(), &mut events);
            }
        }
    }
    let events = events.0;
    let sysmon: Vec<&Event> = events
        .iter()
        .filter(|e| e.channel.as_deref() == Some("Microsoft-Windows-Sysmon/Operational"))
        .collect();
    println!("events: {} ({} Sysmon)", events.len(), sysmon.len());

    if std::env::var_os("KAHU_BENCH_PROFILE").is_some() {
        // Cost by (channel, event id).
        let mut groups: std::collections::BTreeMap<(String, u32), Vec<&Event>> = Default::default();
        for e in &events {
            groups
                .entry((
                    e.channel.as_deref().unwrap_or("").to_string(),
                    e.event_id.unwrap_or(0),
                ))
                .or_default()
                .push(e);
        }
        let mut out = Vec::new();
        for ((ch, id), evs) in &groups {
            if evs.len() < 50 {
                continue;
            }
            let t = Instant::now();
            for _ in 0..3 {
                for e in evs {
                    out.clear();
                    set.matches(e, &mut out);
                }
            }
            let us = t.elapsed().as_secs_f64() * 1e6 / (3 * evs.len()) as f64;
            let (mut ung, mut evald) = (0, 0);
            for e in evs {
                let (_, u, n) = set.gate_profile(e);
                ung += u;
                evald += n;
            }
            println!(
                "  {ch} {id}: {} events, {} applicable rules ({:.0} ungated), {:.1} evaluated/event, {us:.1} µs/event",
                evs.len(),
                set.applicable(evs[0]),
                ung as f64 / evs.len() as f64,
                evald as f64 / evs.len() as f64,
            );
        }
        let ung = set.ungated_rules();
        println!("ungated rules: {}", ung.len());
        for i in &ung {
            let r = set.rule(*i);
            println!("  ungated: {} {} ({:?})", r.id, r.title, r.logsource);
        }
        // Per-rule cost, to find outliers.
        let sys: Vec<&Event> = events
            .iter()
            .filter(|e| e.channel.as_deref() == Some("Microsoft-Windows-Sysmon/Operational"))
            .collect();
        let mut costs: Vec<(f64, String)> = set
            .rules()
            .map(|(i, r)| {
                let t = Instant::now();
                for e in &sys {
                    let _ = set.rule_matches(i, e);
                }
                (t.elapsed().as_secs_f64(), format!("{} {}", r.id, r.title))
            })
            .collect();
        costs.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (c, r) in costs.iter().take(15) {
            println!("  {:.1} µs/event  {r}", c * 1e6 / sys.len() as f64);
        }
    }
    for (name, evs) in [
        ("all EVTX events", events.iter().collect::<Vec<_>>()),
        ("Sysmon only", sysmon),
    ] {
        if evs.is_empty() {
            continue;
        }
        let mut out = Vec::new();
        // Warm the candidate cache and thread-local buffers.
        for e in &evs {
            out.clear();
            set.matches(e, &mut out);
        }
        let mut n = 0u64;
        let mut hits = 0u64;
        let t = Instant::now();
        // A fixed number of passes (for callgrind), else ~3 s of passes.
        let passes: Option<u64> = std::env::var("KAHU_BENCH_PASSES")
            .ok()
            .and_then(|p| p.parse().ok());
        while match passes {
            Some(p) => n < p * evs.len() as u64,
            None => t.elapsed() < Duration::from_secs(3),
        } {
            for e in &evs {
                out.clear();
                set.matches(e, &mut out);
                hits += out.len() as u64;
            }
            n += evs.len() as u64;
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "match ({name}), 1 thread: {n} events in {secs:.3} s = {:.0} events/s, {:.2} µs/event, {hits} rule hits",
            n as f64 / secs,
            secs * 1e6 / n as f64
        );
    }
}
