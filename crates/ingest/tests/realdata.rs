//! Conformance on the shared reference data: EVTX-ATTACK-SAMPLES record
//! counts, EVTX vs JSON rendering equivalence, Mordor zips.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;

use common::{Collect, Count, is_time_note, shared};
use kahu_event::Event;
use kahu_event::Value;
use kahu_ingest::Reader;
use std::io::Read;
use std::path::{Path, PathBuf};

fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == ext))
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

fn read_all(p: &Path) -> Collect {
    let mut c = Collect::default();
    Reader::new().read_path(p, &mut c).expect("readable");
    c
}

/// Everything but the file name of the provenance.
fn comparable(e: &Event) -> String {
    let mut e = e.clone();
    e.provenance.file = "".into();
    serde_json::to_string(&e).unwrap()
}

#[test]
fn evtx_and_json_renderings_give_identical_events() {
    let Some(dir) = shared("sigma/regression_data") else {
        return;
    };
    let mut pairs = 0;
    let mut mismatches = Vec::new();
    let mut case_only = 0;
    for evtx in files_with_ext(&dir, "evtx") {
        let json = evtx.with_extension("json");
        if !json.exists() {
            continue;
        }
        pairs += 1;
        let a = read_all(&evtx);
        let b = read_all(&json);
        assert!(
            a.warnings.is_empty(),
            "{}: {:?}",
            evtx.display(),
            a.warnings
        );
        assert!(
            b.warnings.is_empty(),
            "{}: {:?}",
            json.display(),
            b.warnings
        );
        assert!(!a.events.is_empty(), "{}", evtx.display());
        assert_eq!(a.events.len(), b.events.len(), "{}", evtx.display());
        for (x, y) in a.events.iter().zip(&b.events) {
            if comparable(x) == comparable(y) {
                continue;
            }
            // One reference JSON was edited by hand (`Explorer.EXE` written
            // `Explorer.exe`): tolerate a difference in case only, and count it.
            let only_case = x.fields.len() == y.fields.len()
                && x.fields.iter().zip(y.fields.iter()).all(|((k1, v1), (k2, v2))| {
                    k1 == k2
                        && (v1 == v2
                            || matches!((v1, v2), (Value::Str(p), Value::Str(q)) if p.eq_ignore_ascii_case(q)))
                });
            if only_case {
                case_only += 1;
            } else {
                mismatches.push(format!(
                    "{}\n  evtx: {}\n  json: {}",
                    evtx.display(),
                    comparable(x),
                    comparable(y)
                ));
            }
        }
    }
    assert!(pairs >= 200, "only {pairs} evtx/json pairs found");
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first:\n{}",
        mismatches.len(),
        mismatches[0]
    );
    assert!(case_only <= 1, "{case_only} records differ in letter case");
}

/// Expected counts come from `labels.csv`, written by a different tool.
#[test]
fn evtx_attack_samples_record_counts_match_labels() {
    let (Some(root), Some(labels)) = (shared("evtx"), shared("evtx/labels.csv")) else {
        return;
    };
    let text = std::fs::read_to_string(labels).unwrap();
    let mut header = text.lines().next().unwrap().split(',');
    let records_col = header.position(|h| h == "records").expect("records column");
    let mut expected = Vec::new();
    for line in text.lines().skip(1) {
        // Paths have no commas in this file; later columns may, so split
        // only as far as needed.
        let cols: Vec<&str> = line.splitn(records_col + 2, ',').collect();
        if cols[0].starts_with("evtx/EVTX-ATTACK-SAMPLES/") && cols[0].ends_with(".evtx") {
            expected.push((
                root.join(cols[0].trim_start_matches("evtx/")),
                cols[records_col].parse::<u64>().unwrap(),
            ));
        }
    }
    assert_eq!(
        expected.len(),
        277,
        "labels.csv rows for EVTX-ATTACK-SAMPLES"
    );
    let paths: Vec<PathBuf> = expected.iter().map(|(p, _)| p.clone()).collect();
    let out = Reader::new().read_paths_parallel(&paths, Count::default);
    let warnings: Vec<_> = out.sinks.iter().flat_map(|s| &s.warnings).collect();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(out.inventory.len(), 277);
    let mut wrong = Vec::new();
    for (p, n) in &expected {
        let e = out
            .inventory
            .iter()
            .find(|e| *e.path == *p.to_string_lossy())
            .expect("in inventory");
        assert_eq!(e.format, Some("evtx"));
        if e.events != *n {
            wrong.push(format!("{}: {} read, {n} expected", p.display(), e.events));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let total: u64 = out.sinks.iter().map(|s| s.events).sum();
    assert_eq!(total, expected.iter().map(|(_, n)| n).sum::<u64>());
}

/// Every Mordor zip: the JSON members' line count (counted here with the
/// zip crate directly) equals the events read.
#[test]
fn mordor_zips_read_every_json_line() {
    let Some(dir) = shared("mordor/atomic") else {
        return;
    };
    let zips = files_with_ext(&dir, "zip");
    assert!(zips.len() >= 100);
    // A sample keeps the debug-profile test fast; every 8th zip plus the
    // smallest ones.
    let sample: Vec<PathBuf> = zips.iter().step_by(8).cloned().collect();
    let mut expected_total = 0u64;
    for z in &sample {
        let mut a = zip::ZipArchive::new(std::fs::File::open(z).unwrap()).unwrap();
        for i in 0..a.len() {
            let mut m = a.by_index(i).unwrap();
            let name = m.name().to_string();
            if !name.ends_with(".json") || name.contains("__MACOSX") {
                continue;
            }
            let mut s = String::new();
            m.read_to_string(&mut s).unwrap();
            expected_total += s
                .lines()
                .filter(|l| l.trim_start().starts_with('{'))
                .count() as u64;
        }
    }
    let out = Reader::new().read_paths_parallel(&sample, Count::default);
    let events: u64 = out.sinks.iter().map(|s| s.events).sum();
    let json_events: u64 = out
        .inventory
        .iter()
        .filter(|e| {
            e.member
                .as_deref()
                .is_some_and(|m| m.ends_with(".json") && !m.contains("__MACOSX"))
        })
        .map(|e| e.events)
        .sum();
    assert_eq!(json_events, expected_total);
    assert!(events >= expected_total);
    let warnings: Vec<_> = out.sinks.iter().flat_map(|s| &s.warnings).collect();
    let json_warnings: Vec<_> = warnings
        .iter()
        .filter(|w| {
            w.member
                .as_deref()
                .is_some_and(|m| m.ends_with(".json") && !m.contains("__MACOSX"))
        })
        .collect();
    assert!(json_warnings.is_empty(), "{json_warnings:?}");
}

/// The Winlogbeat 6.x Mordor sets (Empire) are classified: every event has
/// a channel, and the file's coverage says so.
#[test]
fn mordor_winlogbeat6_sets_are_classified() {
    let Some(z) =
        shared("mordor/atomic/windows/credential_access/host/empire_mimikatz_opth.tar.gz")
    else {
        return;
    };
    let mut c = Count::default();
    let inv = Reader::new().read_path(&z, &mut c).unwrap();
    let json: Vec<_> = inv
        .iter()
        .filter(|e| e.member.as_deref().is_some_and(|m| m.ends_with(".json")))
        .collect();
    assert_eq!(json.len(), 1, "{inv:?}");
    let cov = json[0].coverage;
    assert!(cov.events > 1000, "{cov:?}");
    assert_eq!(cov.events, json[0].events);
    assert_eq!(cov.no_logsource, 0, "{cov:?}");
    assert_eq!(cov.no_host, 0, "{cov:?}");
    // (The archive itself is truncated; that warning is about the tar.)
    let on_json: Vec<_> = c
        .warnings
        .iter()
        .filter(|w| w.member.as_deref().is_some_and(|m| m.ends_with(".json")))
        .collect();
    assert!(on_json.is_empty(), "{on_json:?}");
}

/// An NXLog export whose `TimeCreated` is local time marked `Z` (Sysmon's
/// own `UtcTime` says otherwise) gets one warning naming the offset, which
/// is computed here from the first record with both fields.
#[test]
fn mordor_local_time_marked_utc_is_warned_once() {
    let Some(z) = shared("mordor/atomic/windows/lateral_movement/host/schtask_modification.zip")
    else {
        return;
    };
    let mut a = zip::ZipArchive::new(std::fs::File::open(&z).unwrap()).unwrap();
    let mut text = String::new();
    for i in 0..a.len() {
        let mut m = a.by_index(i).unwrap();
        if m.name().ends_with(".json") {
            m.read_to_string(&mut text).unwrap();
        }
    }
    let offset_hours = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| {
            let own = v.get("UtcTime")?.as_str()?;
            let created = v.get("TimeCreated")?.as_str()?;
            let own = chrono::NaiveDateTime::parse_from_str(own, "%Y-%m-%d %H:%M:%S%.f").ok()?;
            let created = chrono::DateTime::parse_from_rfc3339(created)
                .ok()?
                .naive_utc();
            Some((own - created).num_minutes() as f64 / 60.0)
        })
        .expect("a record with UtcTime and TimeCreated");
    assert!(offset_hours.abs() >= 1.0, "data changed: {offset_hours} h");
    let mut c = Count::default();
    Reader::new().read_path(&z, &mut c).unwrap();
    let notes: Vec<_> = c.notes.iter().filter(|w| is_time_note(w)).collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    let hours = format!("{}h 00m", offset_hours.abs().round());
    assert!(
        notes[0].reason.contains(&hours),
        "{hours}: {}",
        notes[0].reason
    );
}

/// NXLog-flattened Mordor records come out with Windows names and a host.
#[test]
fn mordor_nxlog_shape_is_normalised() {
    let Some(z) =
        shared("mordor/atomic/windows/defense_evasion/host/psh_hh_local_html_payload.zip")
    else {
        return;
    };
    let c = read_all(&z);
    assert!(c.events.len() > 100);
    let e = c
        .events
        .iter()
        .find(|e| e.event_id == Some(4688))
        .expect("a 4688");
    assert_eq!(e.channel.as_deref(), Some("Security"));
    assert_eq!(e.host.as_deref(), Some("WORKSTATION5"));
    assert_eq!(
        e.provider.as_deref(),
        Some("Microsoft-Windows-Security-Auditing")
    );
    assert!(e.timestamp.is_some());
    assert_eq!(e.get_str("Computer").as_deref(), Some("WORKSTATION5"));
    assert!(e.get("NewProcessName").is_some());
    assert!(matches!(
        e.provenance.location,
        kahu_event::Location::Line(_)
    ));
}
