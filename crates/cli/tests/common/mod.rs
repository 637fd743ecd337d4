//! Helpers shared by the CLI tests that run `kahu` as a process and read
//! its JSON summary and timelines (`convert`, `--engine datafusion`,
//! `--cluster`). A module, not a test target: each test binary that needs
//! it says `mod common;` and uses what it needs.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The kahu binary under test.
pub(crate) const KAHU: &str = env!("CARGO_BIN_EXE_kahu");

/// `kahu --quiet --threads 2 ARGS…`, run to completion.
pub(crate) fn kahu(args: &[&str]) -> Output {
    Command::new(KAHU)
        .args(["--quiet", "--threads", "2"])
        .args(args)
        .output()
        .expect("kahu runs")
}

/// Standard output as JSON (both streams shown when it is not).
pub(crate) fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The JSON summary of a run that must have succeeded.
pub(crate) fn ok(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(out)
}

/// A path as an argument.
pub(crate) fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// kahu's own rule pack: it holds correlation rules, so correlation
/// findings are compared too.
pub(crate) fn repo_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

/// A timeline's lines, sorted: each names the rule, the level, the event
/// (file, member, record or line, time, host) and the matched values.
pub(crate) fn lines(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(path)
        .expect("timeline written")
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// `kahu convert EVIDENCE --to parquet DIR` in shards of at most
/// `max_events` events; more than four shards, so that partitions differ.
pub(crate) fn convert(evidence: &Path, dir: &Path, max_events: &str) -> serde_json::Value {
    let conv = ok(&kahu(&[
        "convert",
        s(evidence),
        "--to",
        "parquet",
        s(dir),
        "--json",
        "--max-shard-events",
        max_events,
    ]));
    assert!(conv["shards"].as_u64().expect("shards") > 4, "{conv}");
    conv
}

/// `hunt EVIDENCE -o TIMELINE --json --rules R…`.
pub(crate) fn hunt_args<'a>(
    evidence: &'a Path,
    timeline: &'a Path,
    rules: &[&'a Path],
) -> Vec<&'a str> {
    let mut args = vec!["hunt", s(evidence), "-o", s(timeline), "--json"];
    for r in rules {
        args.extend(["--rules", s(r)]);
    }
    args
}

/// Two hunts found the same: the same summary counts, and timelines `a`
/// and `b` the same line for line. Returns `a`'s lines, sorted.
pub(crate) fn same_hunt(
    summary_a: &serde_json::Value,
    summary_b: &serde_json::Value,
    a: &Path,
    b: &Path,
) -> Vec<String> {
    for key in [
        "events",
        "findings",
        "detections",
        "by_level",
        "hosts",
        "top_rules",
    ] {
        assert_eq!(summary_a[key], summary_b[key], "{key}");
    }
    let (la, lb) = (lines(a), lines(b));
    assert_eq!(la.len(), lb.len());
    for (x, y) in la.iter().zip(&lb) {
        assert_eq!(x, y);
    }
    la
}
