//! Fuzz the Sigma rule parser and compiler, then evaluate whatever compiled
//! against an event built from the same bytes. Nothing may panic, hang or
//! allocate without bound.
#![no_main]

use kahu_event::{Event, Location, LogSource, Provenance, Value};
use kahu_sigma::{LoadOptions, RuleSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
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
    for idx in out {
        let _ = report.ruleset.finding(idx, &e);
    }
});
