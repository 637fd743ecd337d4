//! The same Windows events exported in other shapes must fire the same
//! rules. SigmaHQ's regression suite gives, per rule, events on which it
//! fires; here each file's events are re-written as a flat export keyed
//! `EventLog` (instead of `Channel`) and as Winlogbeat 6.x records
//! (`log_name`, `event_data`), read back through kahu's JSON reader, and the
//! named rule must match exactly as often as on the original rendering.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::Event;
use kahu_ingest::{Format, Input, Origin, Sink, Warning};
use kahu_sigma::{LoadOptions, RuleIdx, RuleSet};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Default)]
struct Collect(Vec<Event>, Vec<String>);

impl Sink for Collect {
    fn event(&mut self, event: Event) -> bool {
        self.0.push(event);
        true
    }
    fn warning(&mut self, w: Warning) {
        if !w.is_coverage_note() {
            self.1.push(w.to_string());
        }
    }
}

fn sigma_dir() -> Option<PathBuf> {
    let base = std::env::var_os("KAHU_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
        .join("sigma");
    if !base.join("regression_data").is_dir() || !base.join("rules/windows").is_dir() {
        eprintln!(
            "SKIP: Sigma regression data or rules not found at {}",
            base.display()
        );
        return None;
    }
    Some(base)
}

/// A flat export: every field at the top level, the channel under `EventLog`.
fn eventlog_keyed(e: &Event) -> serde_json::Value {
    let mut o = match e.fields.to_json() {
        serde_json::Value::Object(o) => o,
        _ => serde_json::Map::new(),
    };
    o.remove("Channel");
    o.insert("EventLog".into(), e.channel.as_deref().into());
    o.insert("EventID".into(), e.event_id.into());
    serde_json::Value::Object(o)
}

/// Winlogbeat 6.x: system values under their own names, the rest in `event_data`.
fn winlogbeat6(e: &Event) -> serde_json::Value {
    let mut data = match e.fields.to_json() {
        serde_json::Value::Object(o) => o,
        _ => serde_json::Map::new(),
    };
    for k in ["Channel", "EventID", "Computer", "Provider_Name"] {
        data.remove(k);
    }
    serde_json::json!({
        "@timestamp": e.timestamp.map(|t| t.to_rfc3339()),
        "log_name": e.channel.as_deref(),
        "event_id": e.event_id,
        "computer_name": e.host.as_deref(),
        "source_name": e.provider.as_deref(),
        "event_data": data,
    })
}

fn count(set: &RuleSet, idx: RuleIdx, events: &[Event]) -> usize {
    let mut out = Vec::new();
    events
        .iter()
        .filter(|e| {
            out.clear();
            set.matches(e, &mut out);
            out.contains(&idx)
        })
        .count()
}

fn reread(lines: &str) -> Collect {
    let origin = Origin {
        file: Arc::from("export.jsonl"),
        member: None,
        host_hint: None,
        modified: None,
    };
    let mut c = Collect::default();
    kahu_ingest::json::Json
        .read(Input::Memory(lines.as_bytes()), &origin, &mut c)
        .expect("in-memory read");
    c
}

#[test]
fn sysmon_rules_fire_on_eventlog_keyed_and_winlogbeat6_exports() {
    let Some(base) = sigma_dir() else { return };
    let report = RuleSet::load(&[base.join("rules/windows")], &LoadOptions::default());
    let set = report.ruleset;
    let by_id: HashMap<String, RuleIdx> = set.rules().map(|(i, r)| (r.id.to_string(), i)).collect();
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in walkdir::WalkDir::new(base.join("regression_data/rules/windows"))
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        if entry.file_name() != "info.yml" {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let Ok(doc) = serde_saphyr::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let Some(&idx) = doc["rule_metadata"][0]["id"]
            .as_str()
            .and_then(|id| by_id.get(id))
        else {
            continue;
        };
        for t in doc["regression_tests_info"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(path) = t["path"].as_str() else {
                continue;
            };
            let json = base.join(path).with_extension("json");
            let mut original = Collect::default();
            if kahu_ingest::read_path(&json, &mut original).is_err() {
                continue;
            }
            let events: Vec<Event> = original
                .0
                .into_iter()
                .filter(|e| e.channel.as_deref() == Some("Microsoft-Windows-Sysmon/Operational"))
                .collect();
            let want = count(&set, idx, &events);
            if events.is_empty() || want == 0 {
                continue;
            }
            checked += 1;
            for (shape, make) in [
                (
                    "EventLog-keyed",
                    eventlog_keyed as fn(&Event) -> serde_json::Value,
                ),
                ("Winlogbeat 6", winlogbeat6),
            ] {
                let lines: String = events.iter().map(|e| format!("{}\n", make(e))).collect();
                let back = reread(&lines);
                let got = count(&set, idx, &back.0);
                if got != want || !back.1.is_empty() {
                    failures.push(format!(
                        "{} ({}), {shape}: {got} matches, {want} on the original; warnings {:?}",
                        set.rule(idx).title,
                        json.display(),
                        back.1
                    ));
                }
            }
        }
    }
    assert!(
        checked >= 50,
        "only {checked} Sysmon regression cases found"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
