//! Differential: rule gates only skip work. On every event of the shared
//! EVTX corpora (EVTX-ATTACK-SAMPLES and SigmaHQ's regression data), with
//! every SigmaHQ Windows rule, gated matching yields exactly the rules that
//! evaluating every applicable rule in full yields.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::Event;
use kahu_ingest::{Sink, Warning};
use kahu_sigma::{LoadOptions, RuleSet};
use std::path::PathBuf;

struct Collect(Vec<Event>);

impl Sink for Collect {
    fn event(&mut self, event: Event) -> bool {
        self.0.push(event);
        true
    }
    fn warning(&mut self, _: Warning) {}
}

fn shared() -> PathBuf {
    kahu_test_support::shared_dir()
}

#[test]
fn gated_equals_ungated_on_evtx_corpora() {
    let sh = shared();
    let samples = sh.join("evtx/EVTX-ATTACK-SAMPLES");
    let sigma = sh.join("sigma");
    if !samples.is_dir() || !sigma.join("rules/windows").is_dir() {
        eprintln!(
            "SKIP: EVTX-ATTACK-SAMPLES or Sigma rules not found under {}",
            sh.display()
        );
        return;
    }
    let dirs: Vec<PathBuf> = [
        "rules/windows",
        "rules-emerging-threats",
        "rules-threat-hunting/windows",
    ]
    .iter()
    .map(|d| sigma.join(d))
    .collect();
    let report = RuleSet::load(&dirs, &LoadOptions::default());
    assert!(report.compiled > 2000, "only {} rules", report.compiled);
    let gated = report.ruleset;
    let mut ungated = RuleSet::load(&dirs, &LoadOptions::default()).ruleset;
    ungated.set_gating(false);

    let mut events = Collect(Vec::new());
    for dir in [samples, sigma.join("regression_data")] {
        for e in walkdir::WalkDir::new(&dir).into_iter().flatten() {
            if e.path().extension().is_some_and(|x| x == "evtx") {
                let _ = kahu_ingest::read_path(e.path(), &mut events);
            }
        }
    }
    assert!(events.0.len() > 5000, "only {} events", events.0.len());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut hits = 0;
    let mut differ = Vec::new();
    for e in &events.0 {
        a.clear();
        b.clear();
        gated.matches(e, &mut a);
        ungated.matches(e, &mut b);
        if a != b {
            differ.push(format!(
                "{} {:?}/{:?}: gated {:?} ungated {:?}",
                e.provenance.file,
                e.channel,
                e.event_id,
                a.iter().map(|i| &gated.rule(*i).title).collect::<Vec<_>>(),
                b.iter().map(|i| &gated.rule(*i).title).collect::<Vec<_>>()
            ));
        }
        hits += b.len();
    }
    assert!(
        differ.is_empty(),
        "{} events differ, first: {:#?}",
        differ.len(),
        &differ[..differ.len().min(5)]
    );
    // The comparison is only meaningful if rules fire.
    assert!(hits > 1000, "only {hits} rule hits");
}
