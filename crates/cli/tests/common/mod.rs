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
