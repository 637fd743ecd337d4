//! Timeline queries on SQLite and on the Parquet timeline, side by side,
//! on a large synthetic case: the measurements behind
//! `kahu_case::route` (bench/case-timeline.sh runs this; numbers in
//! BENCHMARKS.md and docs/scale-out.md "Case store at scale").
//!
//! ```text
//! cargo run --release -p kahu-distributed --example case_timeline -- CASE_DIR EVENTS [ITER]
//! ```
//!
//! Builds the case when CASE_DIR has none (`kahu_case::synth`, 50 hosts,
//! 30 days, seed 42: the case of `cargo bench -p kahu-case --bench
//! timeline`), and its Parquet timeline when missing. Then runs each query
//! ITER times (default 11) on each backend after one warm-up run, checks
//! that both give the same event ids, and prints the median wall time and
//! the process CPU time per query (ITER 0: only build the case) (user + system, all threads, from
//! /proc/self/stat), in ms.
#![allow(clippy::unwrap_used, reason = "bench code may unwrap")]

use kahu_case::{Case, Cursor, EventQuery};
use kahu_distributed::timeline::ParquetTimeline;
use std::time::Instant;

/// User + system CPU of this process so far, ms.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    // USER_HZ is 100 on Linux.
    ticks * 10.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "/tmp/kahu-timeline-case".into());
    let events: u64 = args
        .get(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let iter: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(11);
    if !std::path::Path::new(&dir).join(kahu_case::DB_FILE).exists() {
        let t = Instant::now();
        let mut case = Case::create(&dir).unwrap();
        let opts = kahu_case::synth::SynthOptions {
            events,
            hosts: 50,
            days: 30,
            seed: 42,
            documents: true,
        };
        let stats = kahu_case::synth::build(&mut case, &opts).unwrap();
        case.build_indexes(|_| {}).unwrap();
        println!(
            "built case {dir}: {} events in {:.1} s",
            stats.events,
            t.elapsed().as_secs_f64()
        );
    }
    if iter == 0 {
        return; // ITER 0: build the case only.
    }
    if !ParquetTimeline::exists(std::path::Path::new(&dir)) {
        let case = Case::open(&dir).unwrap();
        let (t, c) = (Instant::now(), cpu_ms());
        let m = kahu_columnar::timeline::write_timeline(&case, Default::default(), |_| {}).unwrap();
        let bytes: u64 = m.files.iter().map(|f| f.bytes).sum();
        println!(
            "wrote timeline: {} events, {} files, {:.0} MiB in {:.1} s wall, {:.1} CPU-s",
            m.events,
            m.files.len(),
            bytes as f64 / (1u64 << 20) as f64,
            t.elapsed().as_secs_f64(),
            (cpu_ms() - c) / 1000.0
        );
    }
    let case = Case::open_read_only(&dir).unwrap();
    // Raw Parquet (no time budget), and what `kahu serve` does: the
    // routing with the default budget.
    let index = ParquetTimeline::open(std::path::Path::new(&dir)).with_budget(None);
    let served = ParquetTimeline::open(std::path::Path::new(&dir));
    let extent = case.timeline_extent().unwrap();
    use kahu_case::TimelineIndex;
    assert_eq!(
        index.extent(),
        Ok(extent),
        "timeline out of date: remove {dir}/timeline"
    );
    let (lo, hi) = case.time_bounds().unwrap().unwrap();
    let mid = lo + (hi - lo) / 2;
    let day = 86_400_000_000i64;
    println!(
        "case {dir}: {} events; {iter} runs per query and backend, limit 200",
        extent.events
    );
    let s = |v: &str| vec![v.to_string()];
    let text = |t: &str| Some(t.to_string());
    let queries: Vec<(&str, EventQuery)> = vec![
        ("first page, unfiltered", EventQuery::default()),
        (
            "host",
            EventQuery {
                hosts: s("WS17.corp.local"),
                ..Default::default()
            },
        ),
        (
            "1-day range + channel",
            EventQuery {
                from: Some(mid),
                to: Some(mid + day),
                channels: s("Microsoft-Windows-Sysmon/Operational"),
                ..Default::default()
            },
        ),
        (
            "host + event id + account",
            EventQuery {
                hosts: s("DC01.corp.local"),
                event_ids: vec![4624],
                accounts: s("svc_backup"),
                ..Default::default()
            },
        ),
        (
            "deep keyset page (mid-case)",
            EventQuery {
                after: Some(Cursor { ts: mid, id: 0 }),
                ..Default::default()
            },
        ),
        (
            "rare term (planted)",
            EventQuery {
                text: text("sekurlsa"),
                ..Default::default()
            },
        ),
        (
            "common term 7.5% alone",
            EventQuery {
                text: text("\"update.example.org\""),
                ..Default::default()
            },
        ),
        (
            "common term 12.5% alone",
            EventQuery {
                text: text("svc_sql"),
                ..Default::default()
            },
        ),
        (
            "common term + host",
            EventQuery {
                text: text("svc_sql"),
                hosts: s("WS17.corp.local"),
                ..Default::default()
            },
        ),
        (
            "common term + channel",
            EventQuery {
                text: text("svc_sql"),
                channels: s("Microsoft-Windows-PowerShell/Operational"),
                ..Default::default()
            },
        ),
        (
            "common term + event id",
            EventQuery {
                text: text("svc_sql"),
                event_ids: vec![4688],
                ..Default::default()
            },
        ),
        (
            "common term + account",
            EventQuery {
                text: text("\"update.example.org\""),
                accounts: s("alice"),
                ..Default::default()
            },
        ),
        (
            "common term + host, deep page",
            EventQuery {
                text: text("svc_sql"),
                hosts: s("WS17.corp.local"),
                after: Some(Cursor { ts: mid, id: 0 }),
                ..Default::default()
            },
        ),
        (
            "common term + host + 1 day",
            EventQuery {
                text: text("svc_sql"),
                hosts: s("WS17.corp.local"),
                from: Some(mid),
                to: Some(mid + day),
                ..Default::default()
            },
        ),
        (
            "common term + filter, no match",
            EventQuery {
                text: text("\"update.example.org\""),
                event_ids: vec![4624],
                ..Default::default()
            },
        ),
    ];
    println!(
        "| query | matches on page | SQLite median ms | SQLite CPU-ms | Parquet median ms | Parquet CPU-ms | served by | served median ms | served CPU-ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, q) in queries {
        let q = EventQuery { limit: 200, ..q };
        let sqlite = || case.query_events(&q).unwrap();
        let parquet = || case.page_from_index(&index, &q, extent).unwrap();
        let a = sqlite();
        let b = parquet();
        let ids = |p: &kahu_case::EventPage| p.events.iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b), "{name}: the backends differ");
        assert_eq!(a.next, b.next, "{name}: the cursors differ");
        let measure = |f: &dyn Fn() -> kahu_case::EventPage| {
            let mut wall = Vec::with_capacity(iter);
            let c = cpu_ms();
            for _ in 0..iter {
                let t = Instant::now();
                std::hint::black_box(f());
                wall.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            let cpu = (cpu_ms() - c) / iter as f64;
            wall.sort_by(f64::total_cmp);
            (wall[iter / 2], cpu)
        };
        let routed = || case.query_timeline(&q, Some(&served)).unwrap();
        let r = routed();
        assert_eq!(ids(&a), ids(&r.page), "{name}: the served page differs");
        let by = match &r.fallback {
            Some(_) => format!("{} (fallback)", r.backend),
            None => r.backend.to_string(),
        };
        let (sw, sc) = measure(&sqlite);
        let (pw, pc) = measure(&parquet);
        let (rw, rc) = measure(&|| routed().page);
        println!(
            "| {name} | {} | {sw:.1} | {sc:.1} | {pw:.1} | {pc:.1} | {by} | {rw:.1} | {rc:.1} |",
            a.events.len()
        );
    }
}
