//! Memory and throughput of the correlation engine on a long stream with
//! many distinct group keys, arriving out of order.
//!
//! ```text
//! cargo bench -p kahu-correlation --bench bounded            # 5M events, 1M keys
//! KAHU_BENCH_EVENTS=5000000 KAHU_BENCH_KEYS=1000000 KAHU_BENCH_MAX_RECORDS=1000000 \
//!   /usr/bin/time -v target/release/deps/bounded-<hash>      # with a record cap
//! ```
//!
//! The detection step is bypassed (`observe` is called with the rule index
//! directly) so the numbers are the correlation engine's alone.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_correlation::{CorrelationSet, Limits};
use kahu_event::{Event, Location, Provenance, Value};
use kahu_sigma::{LoadOptions, RuleSet};
use std::sync::Arc;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const YAML: &str = "title: failed\nname: failed\nlogsource:\n  product: test\ndetection:\n  sel:\n    kind: fail\n  condition: sel\n---\ntitle: spray\nid: bench-count\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [User]\n  timespan: 5m\n  condition:\n    gte: 8\n---\ntitle: many sources\nid: bench-distinct\ncorrelation:\n  type: value_count\n  rules: [failed]\n  group-by: [User]\n  timespan: 1h\n  condition:\n    field: IpAddress\n    gte: 4\n";

fn main() {
    let n = env("KAHU_BENCH_EVENTS", 5_000_000);
    let keys = env("KAHU_BENCH_KEYS", 1_000_000).max(1);
    let limits = Limits {
        max_records: env("KAHU_BENCH_MAX_RECORDS", Limits::default().max_records),
        ..Default::default()
    };
    let report = RuleSet::from_yaml(&[("bench.yml", YAML)], &LoadOptions::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let set = CorrelationSet::from_yaml(&[("bench.yml", YAML)]);
    let bound = set.bind(&report.ruleset).expect("bench rules bind");
    let idx = report.ruleset.find("failed").expect("rule loaded");
    let mut eng = bound.engine_with(limits);

    let files: Vec<Arc<str>> = (0..64)
        .map(|i| Arc::from(format!("host{i}/Security.evtx")))
        .collect();
    let mut e = Event::new(Provenance::new(files[0].clone(), Location::Record(0)));
    e.host = Some(Arc::from("DC01"));
    e.channel = Some(Arc::from("Security"));
    e.event_id = Some(4625);
    let t0 = 1_700_000_000i64;
    // Baseline: building the events alone, to subtract from `observe`.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let start = Instant::now();
    let mut sink = 0usize;
    for i in 0..n as u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = (x % keys as u64) as usize;
        let secs = t0 + (key as i64 % 720) * 3600 + ((x >> 20) % 3600) as i64;
        e.timestamp = chrono::DateTime::from_timestamp(secs, 0);
        e.provenance = Provenance::new(
            files[(x >> 40) as usize % files.len()].clone(),
            Location::Record(i),
        );
        e.fields.insert("User", Value::from(format!("user{key}")));
        e.fields.insert(
            "IpAddress",
            Value::from(format!("10.0.{}.{}", (x >> 8) % 4, (x >> 16) % 2)),
        );
        sink += e.fields.len();
    }
    let baseline = start.elapsed();
    std::hint::black_box(sink);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let start = Instant::now();
    for i in 0..n as u64 {
        // xorshift: keys, times and files arrive in no particular order.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = (x % keys as u64) as usize;
        // 30 days of activity; each key's events cluster around its own hour.
        let secs = t0 + (key as i64 % 720) * 3600 + ((x >> 20) % 3600) as i64;
        e.timestamp = chrono::DateTime::from_timestamp(secs, 0);
        e.provenance = Provenance::new(
            files[(x >> 40) as usize % files.len()].clone(),
            Location::Record(i),
        );
        e.fields.insert("User", Value::from(format!("user{key}")));
        e.fields.insert(
            "IpAddress",
            Value::from(format!("10.0.{}.{}", (x >> 8) % 4, (x >> 16) % 2)),
        );
        eng.observe(idx, &e);
    }
    let fed = start.elapsed();
    let stats = eng.stats().clone();
    let t = Instant::now();
    let out = eng.finish_report();
    let fin = t.elapsed();
    let total = start.elapsed();
    println!("events            {n}");
    println!("distinct keys     {keys}");
    println!("max_records       {}", limits.max_records);
    println!("records buffered  {}", stats.recorded);
    println!(
        "observe           {:.2} s ({:.0} events/s)",
        fed.as_secs_f64(),
        n as f64 / fed.as_secs_f64()
    );
    println!(
        "event building    {:.2} s (baseline, included in observe)",
        baseline.as_secs_f64()
    );
    println!(
        "observe - build   {:.0} events/s",
        n as f64 / (fed.as_secs_f64() - baseline.as_secs_f64()).max(1e-9)
    );
    println!("finish            {:.2} s", fin.as_secs_f64());
    println!(
        "total             {:.2} s ({:.0} events/s)",
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64()
    );
    println!("findings          {}", out.findings.len());
    for w in &out.warnings {
        println!("warning           {w}");
    }
}
