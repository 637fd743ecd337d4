//! SigmaHQ's rules over Log Analytics (Microsoft Sentinel) rows in the
//! shape of OTRF's Log4Shell lab (`kahu-ingest`'s
//! `tests/data/log_analytics/log4shell_lab_shape.jsonl`; its README says
//! where the shape comes from). Before kahu read these rows, the Sysmon
//! events of the `Event` table had no `Image`/`ParentImage` (they were only
//! in the `EventData` XML text) and the `Syslog` table's Sysmon for Linux
//! events were unparsed text, so the rules below could not fire.
//!
//! Expectations were checked by hand against each fixture line and the
//! rule's detection (noted beside them), not taken from kahu's output.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_correlation::SigmaRules;
use kahu_event::{Event, Location};
use kahu_finding::{Detector, Finding};
use kahu_sigma::{LoadOptions, RuleSet};
use std::collections::BTreeSet;
use std::path::PathBuf;

struct Scan<'a> {
    scan: kahu_correlation::SigmaScan<'a>,
    findings: Vec<Finding>,
}

impl kahu_ingest::Sink for Scan<'_> {
    fn event(&mut self, event: Event) -> bool {
        self.scan.inspect(&event, &mut self.findings);
        true
    }
    fn warning(&mut self, _: kahu_ingest::Warning) {}
}

#[test]
fn sigmahq_process_rules_fire_on_the_log4shell_lab_rows() {
    let rules_dir = kahu_test_support::shared_dir().join("sigma/rules");
    let dirs: Vec<PathBuf> = ["windows/process_creation", "linux/process_creation"]
        .iter()
        .map(|d| rules_dir.join(d))
        .collect();
    if !dirs.iter().all(|d| d.is_dir()) {
        eprintln!(
            "SKIP: {} not found; Log Analytics rows NOT tested with SigmaHQ",
            rules_dir.display()
        );
        return;
    }
    let rules = SigmaRules::new(RuleSet::load(&dirs, &LoadOptions::default()));
    let fixture = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ingest/tests/data/log_analytics/log4shell_lab_shape.jsonl"
    ));
    let mut sink = Scan {
        scan: rules.scan(),
        findings: Vec::new(),
    };
    kahu_ingest::read_path(&fixture, &mut sink).expect("fixture readable");
    let Scan { scan, mut findings } = sink;
    findings.extend(scan.finish().findings);
    let hits: BTreeSet<(u64, &str)> = findings
        .iter()
        .filter_map(|f| match f.provenance.location {
            Location::Line(n) => Some((n, &*f.rule_id)),
            _ => None,
        })
        .collect();
    // proc_creation_win_java_susp_child_process_2 ("Shell Process Spawned
    // by Java.EXE"): ParentImage ends with \java.exe, Image \cmd.exe.
    // Line 1: the Event table's Sysmon 1 (fields from the EventData XML);
    // line 3: the SecurityEvent 4688 (ParentProcessName / NewProcessName).
    for line in [1, 3] {
        assert!(
            hits.contains(&(line, "dff1e1cc-d3fd-47c8-bfc2-aeb878a754c0")),
            "line {line}: {hits:?}"
        );
    }
    // proc_creation_lnx_susp_java_children ("Suspicious Java Children
    // Processes"): ParentImage ends with /java, CommandLine contains
    // /bin/sh. Line 5: the Syslog table's Sysmon for Linux event 1.
    assert!(
        hits.contains(&(5, "d292e0af-9a18-420c-9525-ec0ac3936892")),
        "{hits:?}"
    );
    // Nothing else in these two folders matches the eight rows: the network
    // rows, the auoms record (no parent image), cron and VMConnection.
    assert_eq!(hits.len(), 3, "{hits:?}");
}
