//! Parse-only throughput: read evidence paths in parallel, count events,
//! print events/s. `--dump N` prints the first N events as JSON instead.
//!
//! ```text
//! cargo run --release -p kahu-ingest --example read -- PATH... [--dump N] [--threads N] [--split-lines]
//! ```
//!
//! `--split-lines` parses each large JSON-lines file on the whole pool
//! (`kahu_ingest::json::set_parallel_lines`).

use kahu_event::Event;
use kahu_ingest::{Reader, Sink, Warning};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Default)]
struct Count {
    events: u64,
    warnings: u64,
    dump: usize,
    first_warnings: Vec<String>,
}

impl Sink for Count {
    fn event(&mut self, e: Event) -> bool {
        self.events += 1;
        if self.dump > 0 {
            self.dump -= 1;
            println!("{}", serde_json::to_string(&e).unwrap_or_default());
        }
        true
    }
    fn warning(&mut self, w: Warning) {
        self.warnings += 1;
        if self.first_warnings.len() < 5 {
            self.first_warnings.push(w.to_string());
        }
    }
}

fn main() {
    let mut paths = Vec::new();
    let mut dump = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dump" => dump = args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            "--split-lines" => kahu_ingest::json::set_parallel_lines(Some(0)),
            "--threads" => {
                let n = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build_global()
                    .ok();
            }
            _ => paths.push(PathBuf::from(a)),
        }
    }
    let reader = Reader::new();
    let t = Instant::now();
    let out = if dump > 0 {
        let mut sink = Count {
            dump,
            ..Count::default()
        };
        for p in &paths {
            if let Err(e) = reader.read_path(p, &mut sink) {
                eprintln!("{}: {e}", p.display());
            }
        }
        vec![sink]
    } else {
        reader.read_paths_parallel(&paths, Count::default).sinks
    };
    let secs = t.elapsed().as_secs_f64();
    let events: u64 = out.iter().map(|s| s.events).sum();
    let warnings: u64 = out.iter().map(|s| s.warnings).sum();
    for s in &out {
        for w in &s.first_warnings {
            eprintln!("warning: {w}");
        }
    }
    eprintln!(
        "{events} events, {warnings} warnings in {secs:.3} s = {:.0} events/s",
        events as f64 / secs
    );
}
