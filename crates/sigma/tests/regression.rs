//! Conformance: SigmaHQ's regression suite. For each
//! `../shared/sigma/regression_data/**/info.yml`, the named rule must fire on
//! the `.evtx` file and on its `.json` rendering, as many times as
//! `match_count` says when given.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::Event;
use kahu_ingest::{Sink, Warning};
use kahu_sigma::{RuleIdx, RuleSet, corpus};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

struct Collect(Vec<Event>, Vec<String>);

impl Sink for Collect {
    fn event(&mut self, event: Event) -> bool {
        self.0.push(event);
        true
    }
    fn warning(&mut self, w: Warning) {
        self.1.push(w.to_string());
    }
}

fn sigma_dir() -> Option<PathBuf> {
    let base = std::env::var_os("KAHU_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
        .join("sigma");
    if !base.join("regression_data").is_dir() {
        eprintln!(
            "SKIP: Sigma regression data not found at {}",
            base.display()
        );
        return None;
    }
    Some(base)
}

fn count(set: &RuleSet, idx: RuleIdx, path: &Path) -> Result<usize, String> {
    let mut sink = Collect(Vec::new(), Vec::new());
    kahu_ingest::read_path(path, &mut sink).map_err(|e| format!("read {}: {e}", path.display()))?;
    if sink.0.is_empty() {
        return Err(format!(
            "reader produced no events from {} ({:?})",
            path.display(),
            sink.1
        ));
    }
    let mut out = Vec::new();
    let mut n = 0;
    for e in &sink.0 {
        out.clear();
        set.matches(e, &mut out);
        n += usize::from(out.contains(&idx));
    }
    Ok(n)
}

#[test]
fn regression_suite() {
    let Some(base) = sigma_dir() else { return };
    let dirs: Vec<PathBuf> = [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
        "rules-compliance",
    ]
    .iter()
    .map(|d| base.join(d))
    .filter(|p| p.is_dir())
    .collect();
    let report = corpus::check(&dirs);
    let set = &report.ruleset;
    let by_id: HashMap<String, RuleIdx> = set.rules().map(|(i, r)| (r.id.to_string(), i)).collect();
    let mut infos = Vec::new();
    for e in walkdir::WalkDir::new(base.join("regression_data"))
        .into_iter()
        .flatten()
    {
        if e.file_name() == "info.yml" {
            infos.push(e.into_path());
        }
    }
    infos.sort();
    let (mut total, mut passed) = (0, 0);
    let mut failures = Vec::new();
    for info in &infos {
        let text = std::fs::read_to_string(info).unwrap_or_default();
        let doc: serde_json::Value = match serde_saphyr::from_str(&text) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{}: bad info.yml: {e}", info.display()));
                total += 1;
                continue;
            }
        };
        let Some(rule_id) = doc["rule_metadata"][0]["id"].as_str() else {
            continue;
        };
        let Some(tests) = doc["regression_tests_info"].as_array() else {
            continue;
        };
        for t in tests {
            if t["type"].as_str() != Some("evtx") {
                continue;
            }
            total += 1;
            let Some(&idx) = by_id.get(rule_id) else {
                failures.push(format!("{rule_id}: rule not loaded (see corpus report)"));
                continue;
            };
            let evtx = base.join(t["path"].as_str().unwrap_or_default());
            let json = evtx.with_extension("json");
            let want = t["match_count"].as_u64().map(|n| n as usize);
            let mut ok = true;
            for file in [&evtx, &json] {
                match count(set, idx, file) {
                    Ok(n) if n > 0 && want.is_none_or(|w| w == n) => {}
                    Ok(n) => {
                        ok = false;
                        failures.push(format!(
                            "{rule_id} ({}): {} matched {n} events, expected {}",
                            set.rule(idx).title,
                            file.display(),
                            want.map_or("at least 1".into(), |w| w.to_string())
                        ));
                    }
                    Err(e) => {
                        ok = false;
                        failures.push(format!("{rule_id}: {e}"));
                    }
                }
            }
            passed += usize::from(ok);
        }
    }
    println!("regression: {passed}/{total} passed");
    for f in &failures {
        println!("  FAIL {f}");
    }
    assert!(
        total > 150,
        "expected the SigmaHQ regression suite, found {total} cases"
    );
    let rate = passed as f64 / total as f64;
    assert!(rate >= 0.98, "regression pass rate {:.1}%", rate * 100.0);
}
