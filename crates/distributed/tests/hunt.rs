//! The DataFusion engine against the embedded engine's own detector
//! (`SigmaScan` over every event of the original evidence, read by
//! kahu-ingest): the same findings, over several partitions, with and
//! without log-source routing.

use kahu_columnar::{ShardWriter, WriterOptions};
use kahu_correlation::SigmaRules;
use kahu_distributed::{Detection, HuntOptions, hunt};
use kahu_event::Event;
use kahu_finding::{Detector, Finding};
use kahu_ingest::{Sink, Warning};
use kahu_intel::IocSet;
use kahu_sigma::{LoadOptions, RuleSet};
use kahu_test_support::shared;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Collect(Vec<Event>);

impl Sink for Collect {
    fn event(&mut self, event: Event) -> bool {
        self.0.push(event);
        true
    }
    fn warning(&mut self, _: Warning) {}
}

fn events(paths: &[&Path]) -> Vec<Event> {
    let mut sink = Collect(Vec::new());
    for p in paths {
        kahu_ingest::read_path(p, &mut sink).expect("evidence reads");
    }
    sink.0
}

/// Write `events` as shards of at most `rows` rows under `dir`.
fn convert(events: &[Event], dir: &Path, rows: u64) -> usize {
    let opts = WriterOptions {
        max_shard_rows: rows,
        ..WriterOptions::default()
    };
    let mut w = ShardWriter::new(dir, opts).expect("writer");
    for e in events {
        w.write(e).expect("write");
    }
    w.finish().expect("finish");
    kahu_test_support::files_under(dir).len()
}

fn rules(paths: &[PathBuf]) -> Arc<SigmaRules> {
    Arc::new(SigmaRules::new(RuleSet::load(paths, &LoadOptions::default())))
}

/// One line per finding: what the timeline compares.
fn key(f: &Finding) -> String {
    serde_json::to_string(f).expect("finding serialises")
}

/// The embedded engine's detector over the events, correlations finished.
fn truth(set: &SigmaRules, events: &[Event]) -> Vec<String> {
    let scan = set.scan();
    let mut out = Vec::new();
    for e in events {
        scan.inspect(e, &mut out);
    }
    out.extend(scan.finish().findings);
    let mut keys: Vec<String> = out.iter().map(key).collect();
    keys.sort();
    keys
}

fn run(set: &Arc<SigmaRules>, dir: &Path, partitions: usize, routing: bool) -> (Vec<String>, kahu_distributed::HuntOutput) {
    let detection = Arc::new(Detection {
        rules: vec![set.clone()],
        iocs: Arc::new(IocSet::new()),
        filter: Default::default(),
    });
    let opts = HuntOptions {
        partitions,
        routing,
    };
    let mut out = hunt(&[dir.to_path_buf()], detection, &opts, &|_| {}).expect("hunt");
    let mut all = std::mem::take(&mut out.findings);
    for c in &mut out.correlation {
        all.append(&mut c.findings);
    }
    let mut keys: Vec<String> = all.iter().map(key).collect();
    keys.sort();
    (keys, out)
}

fn repo_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

#[test]
fn four_partitions_find_what_the_embedded_detector_finds_on_evtx_attack_samples() {
    let (Some(evtx), Some(sigma)) = (
        shared("evtx/EVTX-ATTACK-SAMPLES"),
        shared("sigma/rules/windows"),
    ) else {
        return;
    };
    let evs = events(&[&evtx]);
    let tmp = tempfile::tempdir().expect("tmp");
    let shards = convert(&evs, tmp.path(), 500);
    assert!(shards > 8, "{shards} shards");
    let set = rules(&[sigma, repo_rules()]);
    let want = truth(&set, &evs);
    assert!(want.len() > 500, "{}", want.len());
    assert!(want.iter().any(|k| k.contains("\"related\"")), "a correlation finding");
    let (got, out) = run(&set, tmp.path(), 4, true);
    assert_eq!(out.partitions, 4);
    assert_eq!(out.events, evs.len() as u64);
    assert_eq!(out.reread, 0);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "findings differ");
}

#[test]
fn routing_skips_shards_no_rule_applies_to_and_drops_no_finding() {
    let (Some(evtx), Some(sigma)) = (
        shared("evtx/EVTX-ATTACK-SAMPLES/Credential Access"),
        shared("sigma/rules/windows/builtin/security"),
    ) else {
        return;
    };
    let audit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/data/textlogs/audit.log");
    let evs = events(&[&evtx, &audit]);
    let linux = evs
        .iter()
        .filter(|e| e.logsource.product.as_deref() == Some("linux"))
        .count();
    assert!(linux > 0, "the auditd fixture reads as Linux events");
    let tmp = tempfile::tempdir().expect("tmp");
    convert(&evs, tmp.path(), 200);
    // Windows rules only: the Linux shards are skipped, findings unchanged.
    let set = rules(&[sigma.clone()]);
    let want = truth(&set, &evs);
    assert!(!want.is_empty());
    let (routed, out) = run(&set, tmp.path(), 2, true);
    assert!(out.routed_out.0 > 0, "no shard skipped");
    assert!(out.routed_out.1 >= linux as u64, "{:?} < {linux}", out.routed_out);
    assert_eq!(out.events, evs.len() as u64);
    let (unrouted, plain) = run(&set, tmp.path(), 2, false);
    assert_eq!(plain.routed_out, (0, 0));
    assert!(routed == want && unrouted == want, "findings differ");
}
