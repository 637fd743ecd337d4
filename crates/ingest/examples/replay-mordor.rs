//! Build a large JSON-lines benchmark input by replaying the Mordor atomic
//! datasets (`$KAHU_SHARED/mordor/atomic/**.zip`) with shifted timestamps.
//!
//! ```text
//! cargo run --release -p kahu-ingest --example replay-mordor -- /tmp/mordor-1m.jsonl 1000000
//! ```
//!
//! Every JSON line of every zip is a template; the output cycles through
//! them, and each cycle shifts `@timestamp`, `EventTime`, `TimeCreated` and
//! `UtcTime` one day later, so the events stay realistic and distinct.

use chrono::{Duration, NaiveDateTime};
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or("usage: replay-mordor OUT.jsonl COUNT")?);
    let count: u64 = args
        .next()
        .ok_or("usage: replay-mordor OUT.jsonl COUNT")?
        .parse()?;
    let shared = std::env::var_os("KAHU_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let root = shared.join("mordor/atomic");
    let mut templates: Vec<String> = Vec::new();
    let mut zips: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "zip"))
        .map(|e| e.into_path())
        .collect();
    zips.sort();
    for z in &zips {
        let mut a = zip::ZipArchive::new(std::fs::File::open(z)?)?;
        for i in 0..a.len() {
            let mut m = a.by_index(i)?;
            if !m.name().ends_with(".json") || m.name().contains("__MACOSX") {
                continue;
            }
            let mut s = String::new();
            if m.read_to_string(&mut s).is_err() {
                continue;
            }
            templates.extend(s.lines().filter(|l| l.starts_with('{')).map(str::to_string));
        }
    }
    if templates.is_empty() {
        return Err(format!("no Mordor JSON lines under {}", root.display()).into());
    }
    eprintln!(
        "{} template lines from {} zips",
        templates.len(),
        zips.len()
    );
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    let mut written = 0u64;
    let mut cycle = 0i64;
    'outer: loop {
        let shift = Duration::days(cycle);
        for t in &templates {
            if written == count {
                break 'outer;
            }
            let line = if cycle == 0 {
                t.clone()
            } else {
                shifted(t, shift)
            };
            w.write_all(line.as_bytes())?;
            w.write_all(b"\n")?;
            written += 1;
        }
        cycle += 1;
    }
    w.flush()?;
    eprintln!("wrote {written} events to {}", out.display());
    Ok(())
}

fn shifted(line: &str, by: Duration) -> String {
    let Ok(serde_json::Value::Object(mut o)) = serde_json::from_str::<serde_json::Value>(line)
    else {
        return line.to_string();
    };
    for key in [
        "@timestamp",
        "EventTime",
        "TimeCreated",
        "UtcTime",
        "EventReceivedTime",
    ] {
        if let Some(serde_json::Value::String(s)) = o.get_mut(key)
            && let Some(new) = shift_text(s, by)
        {
            *s = new;
        }
    }
    serde_json::Value::Object(o).to_string()
}

fn shift_text(s: &str, by: Duration) -> Option<String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some((t + by).to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some((t + by).format(fmt).to_string());
        }
    }
    None
}
