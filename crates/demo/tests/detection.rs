//! The key regression test: the real readers and the Sigma engine with the
//! bundled rules, over the generated case, scored against the ground truth.
//!
//! Recall is measured over the malicious records the ground truth expects
//! a single-event Sigma rule to find (`detector: sigma`); precision over
//! every record any bundled rule fired on. A record counts as detected when
//! a finding's provenance points at its file and line.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_demo::{DEFAULT_SEED, DemoOptions, Detector, GroundTruth, generate};
use kahu_event::{Event, Location};
use kahu_ingest::{Sink, Warning};
use kahu_sigma::{LoadOptions, RuleIdx, RuleSet};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

struct Detect<'a> {
    rules: &'a RuleSet,
    evidence: String,
    /// (relative file, line) → titles of the rules that fired.
    hits: BTreeMap<(String, u64), Vec<String>>,
    events: u64,
    warnings: Vec<Warning>,
    scratch: Vec<RuleIdx>,
    /// Names of the rules correlation rules consume.
    correlation_inputs: BTreeSet<String>,
}

impl Sink for Detect<'_> {
    fn event(&mut self, event: Event) -> bool {
        self.events += 1;
        self.scratch.clear();
        self.rules.matches(&event, &mut self.scratch);
        // Inputs of correlation rules are not reported on their own
        // (`generate: false`, the correlation specification's default).
        let inputs = &self.correlation_inputs;
        self.scratch.retain(|i| {
            let r = self.rules.rule(*i);
            !r.name.as_deref().is_some_and(|n| inputs.contains(n))
        });
        if !self.scratch.is_empty() {
            let p = &event.provenance;
            let file = p.file.replace('\\', "/");
            let rel = file
                .strip_prefix(&self.evidence)
                .unwrap_or(&file)
                .trim_start_matches('/')
                .to_string();
            let line = match p.location {
                Location::Line(n) => n,
                other => panic!("{file}: expected a line location, got {other:?}"),
            };
            let titles = self
                .scratch
                .iter()
                .map(|i| self.rules.rule(*i).title.to_string())
                .collect();
            self.hits.insert((rel, line), titles);
        }
        true
    }
    fn warning(&mut self, warning: Warning) {
        self.warnings.push(warning);
    }
}

fn score(truth: &GroundTruth, dir: &Path) -> (f64, f64, usize) {
    let report = RuleSet::from_yaml(kahu_demo::bundled_rules(), &LoadOptions::default());
    assert!(
        report.errors.is_empty(),
        "rules failed to load: {:?}",
        report.errors
    );
    let evidence = dir.join(&truth.evidence_dir);
    let mut sink = Detect {
        rules: &report.ruleset,
        evidence: evidence.to_string_lossy().replace('\\', "/"),
        hits: BTreeMap::new(),
        events: 0,
        warnings: Vec::new(),
        scratch: Vec::new(),
        correlation_inputs: report
            .correlations
            .iter()
            .filter_map(|c| c.document["correlation"]["rules"].as_array())
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
    };
    kahu_ingest::read_path(&evidence, &mut sink).expect("read evidence");
    eprintln!(
        "read {} events, {} warnings",
        sink.events,
        sink.warnings.len()
    );
    for w in sink.warnings.iter().take(10) {
        eprintln!("  warning: {w}");
    }
    assert_eq!(
        sink.events, truth.total_records,
        "every generated record must be read as one event"
    );

    let malicious: BTreeMap<(String, u64), &kahu_demo::MaliciousEvent> = truth
        .malicious
        .iter()
        .map(|m| ((m.file.clone(), m.line), m))
        .collect();
    let expected: Vec<_> = truth
        .malicious
        .iter()
        .filter(|m| m.detector == Detector::Sigma)
        .collect();

    // Per-step recall.
    let mut per_step: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut missed = Vec::new();
    for m in &expected {
        let e = per_step.entry(&m.step).or_default();
        e.1 += 1;
        if sink.hits.contains_key(&(m.file.clone(), m.line)) {
            e.0 += 1;
        } else {
            missed.push(m);
        }
    }
    eprintln!("per-step recall (sigma-detectable records):");
    for (s, (hit, all)) in &per_step {
        eprintln!("  {s:<20} {hit}/{all}");
    }
    for m in missed.iter().take(30) {
        eprintln!(
            "  MISSED {}:{} [{}] {:?}",
            m.file, m.line, m.step, m.techniques
        );
    }
    let tp_expected = expected.len() - missed.len();
    let recall = tp_expected as f64 / expected.len().max(1) as f64;

    // Precision over everything the rules fired on.
    let mut fps = BTreeMap::<String, usize>::new();
    let mut fp_examples = Vec::new();
    let mut tp = 0;
    for (key, titles) in &sink.hits {
        if malicious.contains_key(key) {
            tp += 1;
        } else {
            for t in titles {
                *fps.entry(t.clone()).or_default() += 1;
            }
            if fp_examples.len() < 15 {
                fp_examples.push(format!("{}:{} {:?}", key.0, key.1, titles));
            }
        }
    }
    let fp: usize = sink.hits.len() - tp;
    let precision = tp as f64 / sink.hits.len().max(1) as f64;
    eprintln!("false positives by rule:");
    for (t, n) in &fps {
        eprintln!("  {n:>4}  {t}");
    }
    for e in &fp_examples {
        eprintln!("  FP {e}");
    }
    let titles: BTreeSet<&String> = sink.hits.values().flatten().collect();
    eprintln!(
        "recall {recall:.3} ({tp_expected}/{}), precision {precision:.3} ({tp}/{}), {fp} false positives, {} rules fired",
        expected.len(),
        sink.hits.len(),
        titles.len()
    );
    (recall, precision, fp)
}

#[test]
fn bundled_rules_find_the_intrusion_default_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let truth = generate(dir.path(), DEFAULT_SEED, &DemoOptions::default()).expect("generate");
    let (recall, precision, _) = score(&truth, dir.path());
    assert!(recall >= 0.95, "recall {recall:.3} < 0.95");
    assert!(precision >= 0.9, "precision {precision:.3} < 0.9");
}

#[test]
fn bundled_rules_find_the_intrusion_other_seed_small_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let truth = generate(dir.path(), 20_210_720, &DemoOptions::small()).expect("generate");
    let (recall, precision, _) = score(&truth, dir.path());
    assert!(recall >= 0.95, "recall {recall:.3} < 0.95");
    assert!(precision >= 0.9, "precision {precision:.3} < 0.9");
}
