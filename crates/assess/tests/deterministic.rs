//! Two runs on the same evidence write the same outputs: an analyst who
//! re-runs an assessment (or a reviewer who diffs two) must not see
//! entries change places or labels because a hash map iterated in another
//! order. Hash maps are seeded per instance, so two runs in one process
//! already iterate differently.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_assess::{demo_config, run};

/// The run's JSON outputs with the run's own folder and the generation
/// time taken out.
fn outputs(dir: &std::path::Path) -> Vec<(String, String)> {
    let out = dir.join("report");
    let mut cfg = demo_config(&out).unwrap();
    cfg.store_case = false;
    run(&cfg, &()).unwrap();
    let prefix = out.to_string_lossy().into_owned();
    [
        "analytics.json",
        "findings.jsonl",
        "assessment.json",
        "attribution.json",
    ]
    .iter()
    .map(|name| {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        let text = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("\"generated_at\""))
            .collect::<Vec<_>>()
            .join("\n")
            .replace(&prefix, "<out>");
        (name.to_string(), text)
    })
    .collect()
}

#[test]
fn two_demo_runs_write_the_same_outputs() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for ((name, x), (_, y)) in outputs(a.path()).into_iter().zip(outputs(b.path())) {
        if x != y {
            let line = x
                .lines()
                .zip(y.lines())
                .position(|(p, q)| p != q)
                .unwrap_or(0);
            panic!(
                "{name} differs between two runs from line {}:\n{}\n---\n{}",
                line + 1,
                x.lines().skip(line).take(3).collect::<Vec<_>>().join("\n"),
                y.lines().skip(line).take(3).collect::<Vec<_>>().join("\n"),
            );
        }
    }
}
