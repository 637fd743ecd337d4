//! Entry point of the `sigma_rule` cargo-fuzz target
//! (`fuzz/fuzz_targets/sigma_rule.rs`), shared with the corpus-replay test
//! (`tests/fuzz_corpus.rs`) so both drive the compiler the same way. Not
//! part of kahu's interface.

use crate::{LoadOptions, LoadReport, RuleSet};
use kahu_event::{Event, Location, LogSource, Provenance, Value};

/// What one input produced.
#[derive(Debug)]
pub struct SigmaRuleOutcome {
    /// The load report of the input read as a rule file.
    pub report: LoadReport,
    /// How many compiled rules matched the event built from the input.
    pub matched: usize,
}

/// `sigma_rule`: parse and compile `data` as a rule file, then evaluate
/// whatever compiled against an event built from the same bytes and build
/// the findings. `None` for input that is not UTF-8.
pub fn sigma_rule(data: &[u8]) -> Option<SigmaRuleOutcome> {
    let text = std::str::from_utf8(data).ok()?;
    let report = RuleSet::from_yaml(&[("fuzz", text)], &LoadOptions::default());
    let mut e = Event::new(Provenance::new("fuzz".into(), Location::Line(1)));
    // A Sysmon process creation, so Windows rules are routed to it and
    // evaluated, not just parsed.
    e.logsource = LogSource::product("windows");
    e.channel = Some("Microsoft-Windows-Sysmon/Operational".into());
    e.event_id = Some(1);
    e.fields.insert("CommandLine", Value::from(text));
    e.fields
        .insert("Image", Value::from("C:\\Windows\\System32\\cmd.exe"));
    let mut out = Vec::new();
    report.ruleset.matches(&e, &mut out);
    for &idx in &out {
        std::hint::black_box(report.ruleset.finding(idx, &e));
    }
    Some(SigmaRuleOutcome {
        report,
        matched: out.len(),
    })
}
