//! Timeline query latency on a large synthetic case.
//!
//! ```text
//! cargo bench -p kahu-case --bench timeline
//! KAHU_BENCH_CASE=/tmp/kahu-bench-5m KAHU_BENCH_EVENTS=5000000 cargo bench -p kahu-case --bench timeline
//! ```
//!
//! Builds the case once (kept at `KAHU_BENCH_CASE`, outside the repo) with
//! [`kahu_case::synth`]: Security/Sysmon/PowerShell-like events on 50
//! hosts over 30 days, one evidence file per (host, channel) written in
//! record order, so timestamps arrive interleaved across files as in a
//! real ingest. Then times each typical UI query `ITER` times on a
//! read-only connection and prints median and p95 in milliseconds.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_case::{Case, Cursor, EventQuery};
use std::time::{Duration, Instant};

const ITER: usize = 21;

fn main() {
    let dir = std::env::var("KAHU_BENCH_CASE").unwrap_or_else(|_| "/tmp/kahu-bench-case".into());
    let events: u64 = std::env::var("KAHU_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    if std::env::args().any(|a| a == "--test") {
        return; // `cargo test --benches` smoke mode: nothing to check here.
    }
    let exists = std::path::Path::new(&dir).join(kahu_case::DB_FILE).exists();
    if !exists {
        let t = Instant::now();
        let mut case = Case::create(&dir).expect("create case");
        let opts = kahu_case::synth::SynthOptions {
            events,
            hosts: 50,
            days: 30,
            seed: 42,
            documents: true,
        };
        let stats = kahu_case::synth::build(&mut case, &opts).expect("build case");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "built {dir}: {} events in {secs:.1} s = {:.0} events/s (one transaction, FTS + 6 indexes)",
            stats.events,
            stats.events as f64 / secs
        );
    }
    let size: u64 = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    // A case built by an older schema is upgraded once (migrations).
    let t = Instant::now();
    drop(Case::open(&dir).expect("open/upgrade case"));
    println!(
        "open (and upgrade if needed): {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let case = Case::open_read_only(&dir).expect("open case");
    let s = case.summary().expect("summary");
    println!(
        "case {dir}: {} events, {} hosts, {:.2} GiB on disk",
        s.events,
        s.hosts,
        size as f64 / (1u64 << 30) as f64
    );
    let (lo, hi) = case.time_bounds().unwrap().unwrap();
    let mid = lo + (hi - lo) / 2;
    let day = 86_400_000_000i64;
    let page = |q: EventQuery| EventQuery { limit: 200, ..q };
    type Query<'a> = (&'static str, Box<dyn Fn() -> usize + 'a>);
    let cases: Vec<Query> = vec![
        (
            "first page, unfiltered",
            Box::new(|| {
                case.query_events(&page(EventQuery::default()))
                    .unwrap()
                    .events
                    .len()
            }),
        ),
        (
            "first page, host filter",
            Box::new(|| {
                case.query_events(&page(EventQuery {
                    hosts: vec!["WS17.corp.local".into()],
                    ..Default::default()
                }))
                .unwrap()
                .events
                .len()
            }),
        ),
        (
            "1-day range + channel",
            Box::new(|| {
                case.query_events(&page(EventQuery {
                    from: Some(mid),
                    to: Some(mid + day),
                    channels: vec!["Microsoft-Windows-Sysmon/Operational".into()],
                    ..Default::default()
                }))
                .unwrap()
                .events
                .len()
            }),
        ),
        (
            "host + event id + account",
            Box::new(|| {
                case.query_events(&page(EventQuery {
                    hosts: vec!["DC01.corp.local".into()],
                    event_ids: vec![4624],
                    accounts: vec!["svc_backup".into()],
                    ..Default::default()
                }))
                .unwrap()
                .events
                .len()
            }),
        ),
        (
            "FTS rare term (planted)",
            Box::new(|| {
                case.query_events(&page(EventQuery {
                    text: Some("sekurlsa".into()),
                    ..Default::default()
                }))
                .unwrap()
                .events
                .len()
            }),
        ),
        (
            "FTS common term (7.5% of events)",
            Box::new(|| {
                case.query_events(&page(EventQuery {
                    text: Some("\"update.example.org\"".into()),
                    ..Default::default()
                }))
                .unwrap()
                .events
                .len()
            }),
        ),
        (
            "FTS common term (12.5%) + host",
            Box::new(|| {
                case.query_events(&page(EventQuery {
                    text: Some("svc_sql".into()),
                    hosts: vec!["WS17.corp.local".into()],
                    ..Default::default()
                }))
                .unwrap()
                .events
                .len()
            }),
        ),
        (
            "deep keyset page (mid-case)",
            Box::new(|| {
                case.query_events(&page(EventQuery {
                    after: Some(Cursor { ts: mid, id: 0 }),
                    ..Default::default()
                }))
                .unwrap()
                .events
                .len()
            }),
        ),
        (
            "histogram 120 buckets, unfiltered",
            Box::new(|| {
                case.histogram(&EventQuery::default(), 120)
                    .unwrap()
                    .counts
                    .len()
            }),
        ),
        (
            "histogram 120 buckets, host",
            Box::new(|| {
                case.histogram(
                    &EventQuery {
                        hosts: vec!["WS17.corp.local".into()],
                        ..Default::default()
                    },
                    120,
                )
                .unwrap()
                .counts
                .len()
            }),
        ),
        (
            "histogram 120 buckets, 1 day",
            Box::new(|| {
                case.histogram(
                    &EventQuery {
                        from: Some(mid),
                        to: Some(mid + day),
                        ..Default::default()
                    },
                    120,
                )
                .unwrap()
                .counts
                .len()
            }),
        ),
        (
            "facets, unfiltered",
            Box::new(|| case.facets(&EventQuery::default(), 50).unwrap().hosts.len()),
        ),
        (
            "event detail",
            Box::new(|| {
                case.event(12345)
                    .unwrap()
                    .map_or(0, |e| e.findings.len() + 1)
            }),
        ),
    ];
    println!("\n| query | median ms | p95 ms | rows |\n|---|---:|---:|---:|");
    for (name, f) in &cases {
        let mut times: Vec<Duration> = Vec::with_capacity(ITER);
        let mut n = 0;
        for _ in 0..ITER {
            let t = Instant::now();
            n = f();
            times.push(t.elapsed());
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let p95 = times[((ITER as f64 * 0.95).ceil() as usize).min(ITER) - 1];
        println!(
            "| {name} | {:.1} | {:.1} | {n} |",
            ms(times[ITER / 2]),
            ms(p95)
        );
    }
}
