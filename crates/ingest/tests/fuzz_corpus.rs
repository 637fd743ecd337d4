//! Replays the committed fuzz seed corpora (`fuzz/corpus-seed/<target>/`)
//! through the entry points the cargo-fuzz targets in `fuzz/` call
//! (`kahu_ingest::fuzzing`), so every `cargo test` re-checks the inputs
//! fuzzing found interesting (and the `crash-*` regressions) without
//! needing cargo-fuzz or a nightly compiler.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;

use common::Collect;
use kahu_ingest::{Sink, fuzzing};
use kahu_test_support::{replay_fuzz_seeds, seed_result};

/// Feeds every seed of `target` to its entry point `run`, collecting what
/// reaches the sink; fails naming each seed that panicked.
fn replay(target: &str, run: fn(&[u8], &mut dyn Sink)) -> Vec<(String, Collect)> {
    replay_fuzz_seeds(target, |data| {
        let mut c = Collect::default();
        run(data, &mut c);
        c
    })
}

/// Events read from the seed `name` (which must exist).
fn events(results: &[(String, Collect)], name: &str) -> usize {
    seed_result(results, name).events.len()
}

// The expected counts below are the records written into each seed by
// fuzz/make-seeds.py; they show the replay reaches the real parsers rather
// than bouncing off detection.

#[test]
fn json_reader_seeds() {
    let r = replay("json_reader", fuzzing::json_reader);
    assert_eq!(events(&r, "jsonl-mixed.jsonl"), 5);
    assert_eq!(events(&r, "array.json"), 2);
    assert_eq!(events(&r, "bad-line-between.jsonl"), 2);
    assert_eq!(events(&r, "empty.json"), 0);
}

#[test]
fn evtx_reader_seeds() {
    let r = replay("evtx_reader", fuzzing::evtx_reader);
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
    let r = replay("archive_reader", fuzzing::archive_reader);
    // 2 syslog lines + 1 NXLog record.
    assert_eq!(events(&r, "zip-deflate.zip"), 3);
    assert_eq!(events(&r, "zip-nested.zip"), 2);
    assert_eq!(events(&r, "tar-gz.tar.gz"), 4);
    assert_eq!(events(&r, "gz-jsonl.gz"), 4);
    assert_eq!(events(&r, "gz-of-gz.gz"), 2);
}

#[test]
fn weblog_seeds() {
    let r = replay("weblog", fuzzing::weblog);
    assert_eq!(events(&r, "combined.log"), 5);
    assert_eq!(events(&r, "iis.log"), 2);
    assert_eq!(events(&r, "iis-crlf.log"), 2);
}

#[test]
fn syslog_seeds() {
    let r = replay("syslog", fuzzing::syslog);
    assert_eq!(events(&r, "auth.log"), 7);
    assert_eq!(events(&r, "rfc5424.log"), 3);
}

#[test]
fn auditd_seeds() {
    let r = replay("auditd", fuzzing::auditd);
    // Six records of one audit serial make one event.
    assert_eq!(events(&r, "execve.log"), 1);
    // Two serials (501 and 777) interleaved.
    assert_eq!(events(&r, "interleaved.log"), 2);
    assert_eq!(events(&r, "empty.log"), 0);
}

#[test]
fn zeek_seeds() {
    let r = replay("zeek", fuzzing::zeek);
    assert_eq!(events(&r, "conn.log"), 2);
    assert_eq!(events(&r, "http-json.log"), 2);
    assert_eq!(events(&r, "dns.log"), 1);
}
