//! Replays the committed fuzz seed corpora (`fuzz/corpus-seed/<target>/`)
//! through the same code paths as the cargo-fuzz targets in `fuzz/`, so every
//! `cargo test` re-checks the inputs fuzzing found interesting (and the
//! `crash-*` regressions) without needing cargo-fuzz or a nightly compiler.
//!
//! Each target function below mirrors `fuzz/fuzz_targets/<target>.rs`; keep
//! them in step.

mod common;

use common::Collect;
use kahu_ingest::{Format, Input, Limits, Origin, Reader, SNIFF_LEN};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn seed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus-seed")
        .join(target)
}

/// Every seed file of `target`, sorted so failures are reproducible.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = seed_dir(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {} missing: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn origin(file: &str) -> Origin {
    Origin {
        file: Arc::from(file),
        member: None,
        host_hint: None,
    }
}

/// Detect then read with each format, as the text-log fuzz targets do
/// (every format reads every input). Only what the formats that claim the
/// input produce is returned: that is what `kahu` would show.
fn run_formats(formats: &[Box<dyn Format>], file: &str, data: &[u8]) -> Collect {
    let mut claimed = Collect::default();
    for f in formats {
        let detected = f.detect(&data[..data.len().min(SNIFF_LEN)], file);
        let mut c = Collect::default();
        let _ = f.read(Input::Memory(data), &origin(file), &mut c);
        if detected {
            claimed.events.extend(c.events);
            claimed.warnings.extend(c.warnings);
        }
    }
    claimed
}

fn json_reader(data: &[u8]) -> Collect {
    run_formats(&[Box::new(kahu_ingest::json::Json)], "fuzz.json", data)
}

fn evtx_reader(data: &[u8]) -> Collect {
    let mut c = Collect::default();
    let _ = kahu_ingest::evtx::Evtx.read(Input::Memory(data), &origin("fuzz.evtx"), &mut c);
    c
}

fn archive_reader(data: &[u8]) -> Collect {
    // The same caps as the fuzz target, so bombs are cut quickly.
    let reader = Reader::new().with_limits(Limits {
        max_member: 4 << 20,
        max_total: 16 << 20,
        max_depth: 4,
        max_members: 10_000,
        ..Limits::default()
    });
    let mut c = Collect::default();
    let mut inventory = Vec::new();
    reader.read_memory("fuzz.bin", data, &mut c, &mut inventory);
    c
}

fn weblog(data: &[u8]) -> Collect {
    run_formats(
        &[
            Box::new(kahu_ingest::web::IisW3c),
            Box::new(kahu_ingest::web::AccessLog),
        ],
        "fuzz.log",
        data,
    )
}

fn syslog(data: &[u8]) -> Collect {
    run_formats(
        &[Box::new(kahu_ingest::linux::Syslog::default())],
        "fuzz.log",
        data,
    )
}

fn auditd(data: &[u8]) -> Collect {
    run_formats(&[Box::new(kahu_ingest::linux::Auditd)], "fuzz.log", data)
}

fn zeek(data: &[u8]) -> Collect {
    run_formats(
        &[
            Box::new(kahu_ingest::zeek::ZeekTsv),
            Box::new(kahu_ingest::zeek::ZeekJson),
        ],
        "fuzz.log",
        data,
    )
}

/// Feeds every seed of `target` to `run`; fails naming each seed that
/// panicked. Returns the results by seed name for further checks.
fn replay(target: &str, run: fn(&[u8]) -> Collect) -> Vec<(String, Collect)> {
    let all = seeds(target);
    assert!(
        all.len() >= 8,
        "{target}: only {} seeds in {}",
        all.len(),
        seed_dir(target).display()
    );
    let mut panicked = Vec::new();
    let mut results = Vec::new();
    for (name, data) in all {
        assert!(
            data.len() < 4096,
            "{target}/{name}: seeds must stay < 4 KiB"
        );
        match catch_unwind(AssertUnwindSafe(|| run(&data))) {
            Ok(c) => results.push((name, c)),
            Err(_) => panicked.push(name),
        }
    }
    assert!(panicked.is_empty(), "{target}: panicked on {panicked:?}");
    results
}

/// Events read from the seed `name` (which must exist).
fn events(results: &[(String, Collect)], name: &str) -> usize {
    results
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("seed {name} missing"))
        .1
        .events
        .len()
}

// The expected counts below are the records written into each seed by
// fuzz/make-seeds.py; they show the replay reaches the real parsers rather
// than bouncing off detection.

#[test]
fn json_reader_seeds() {
    let r = replay("json_reader", json_reader);
    assert_eq!(events(&r, "jsonl-mixed.jsonl"), 5);
    assert_eq!(events(&r, "array.json"), 2);
    assert_eq!(events(&r, "bad-line-between.jsonl"), 2);
    assert_eq!(events(&r, "empty.json"), 0);
}

#[test]
fn evtx_reader_seeds() {
    let r = replay("evtx_reader", evtx_reader);
    // No seed holds a whole 64 KiB chunk, so none yields an event; each
    // damaged header must be reported, not silently accepted.
    for (name, c) in &r {
        assert_eq!(c.events.len(), 0, "{name}");
    }
    let warned = r.iter().filter(|(_, c)| !c.warnings.is_empty()).count();
    assert!(warned >= r.len() / 2, "only {warned} of {} warned", r.len());
}

#[test]
fn archive_reader_seeds() {
    let r = replay("archive_reader", archive_reader);
    // 2 syslog lines + 1 NXLog record.
    assert_eq!(events(&r, "zip-deflate.zip"), 3);
    assert_eq!(events(&r, "zip-nested.zip"), 2);
    assert_eq!(events(&r, "tar-gz.tar.gz"), 4);
    assert_eq!(events(&r, "gz-jsonl.gz"), 4);
    assert_eq!(events(&r, "gz-of-gz.gz"), 2);
}

#[test]
fn weblog_seeds() {
    let r = replay("weblog", weblog);
    assert_eq!(events(&r, "combined.log"), 5);
    assert_eq!(events(&r, "iis.log"), 2);
    assert_eq!(events(&r, "iis-crlf.log"), 2);
}

#[test]
fn syslog_seeds() {
    let r = replay("syslog", syslog);
    assert_eq!(events(&r, "auth.log"), 7);
    assert_eq!(events(&r, "rfc5424.log"), 3);
}

#[test]
fn auditd_seeds() {
    let r = replay("auditd", auditd);
    // Six records of one audit serial make one event.
    assert_eq!(events(&r, "execve.log"), 1);
    // Two serials (501 and 777) interleaved.
    assert_eq!(events(&r, "interleaved.log"), 2);
    assert_eq!(events(&r, "empty.log"), 0);
}

#[test]
fn zeek_seeds() {
    let r = replay("zeek", zeek);
    assert_eq!(events(&r, "conn.log"), 2);
    assert_eq!(events(&r, "http-json.log"), 2);
    assert_eq!(events(&r, "dns.log"), 1);
}
