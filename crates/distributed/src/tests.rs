//! The DataFusion path against the embedded engine's own detector
//! (`SigmaScan` over the same events): findings, correlation findings,
//! several partitions, routing, and a damaged shard. Events are built here
//! (what each rule must find is read off them), so these tests need no
//! shared data.

use crate::{Detection, HuntOptions, HuntOutput, hunt};
use kahu_columnar::{ShardWriter, WriterOptions};
use kahu_correlation::SigmaRules;
use kahu_event::{Event, Location, LogSource, Provenance, Value};
use kahu_finding::{Detector, Finding};
use kahu_intel::IocSet;
use kahu_sigma::{LoadOptions, RuleSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) const WHOAMI: &str = r"title: Whoami
id: 00000000-0000-4000-8000-0000000000a1
status: test
level: medium
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\whoami.exe'
    condition: selection
";

pub(crate) const BURST: &str = r"title: Whoami burst
id: 00000000-0000-4000-8000-0000000000a2
status: test
level: high
correlation:
    type: event_count
    rules:
        - 00000000-0000-4000-8000-0000000000a1
    group-by:
        - Computer
    timespan: 1h
    condition:
        gte: 3
    generate: true
";

pub(crate) const LINUX: &str = r"title: Linux id
id: 00000000-0000-4000-8000-0000000000a3
status: test
level: low
logsource:
    product: linux
detection:
    keywords:
        - 'uid=0'
    condition: keywords
";

/// A fresh directory under the system temp dir.
pub(crate) fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "kahu-distributed-{name}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Sysmon process creations on three hosts over two days (every fifth one
/// whoami), and Linux syslog lines on a fourth host.
pub(crate) fn events() -> Vec<Event> {
    let mut out = Vec::new();
    for i in 0..600u64 {
        let mut e = Event::new(Provenance::new(
            "Sysmon.evtx".into(),
            Location::Record(i + 1),
        ));
        e.channel = Some("Microsoft-Windows-Sysmon/Operational".into());
        e.event_id = Some(1);
        let host = ["WS1", "WS2", "DC1"][(i % 3) as usize];
        e.host = Some(host.into());
        e.fields.insert("Computer", Value::Str(host.into()));
        let day = 4 + (i / 300);
        e.timestamp = chrono::DateTime::from_timestamp(
            1_620_000_000 + (day as i64) * 86_400 + i as i64 * 7,
            0,
        );
        let image = if i % 5 == 0 {
            "C:\\Windows\\System32\\whoami.exe"
        } else {
            "C:\\Windows\\System32\\svchost.exe"
        };
        e.fields.insert("Image", Value::Str(image.into()));
        out.push(e);
    }
    for i in 0..50u64 {
        let mut e = Event::new(Provenance::new("auth.log".into(), Location::Line(i + 1)));
        e.host = Some("web1".into());
        e.logsource = LogSource {
            product: Some("linux".into()),
            service: Some("auth".into()),
            category: None,
        };
        e.fields.insert(
            "message",
            Value::Str(format!("session opened uid={}", i % 2).into()),
        );
        e.timestamp = chrono::DateTime::from_timestamp(1_620_400_000 + i as i64, 0);
        out.push(e);
    }
    out
}

pub(crate) fn convert(events: &[Event], dir: &Path) {
    let opts = WriterOptions {
        max_shard_rows: 40,
        ..WriterOptions::default()
    };
    let mut w = ShardWriter::new(dir, opts).expect("writer");
    for e in events {
        w.write(e).expect("write");
    }
    w.finish().expect("finish");
}

pub(crate) fn rules(docs: &[(&str, &str)]) -> Arc<SigmaRules> {
    Arc::new(SigmaRules::new(RuleSet::from_yaml(
        docs,
        &LoadOptions::default(),
    )))
}

pub(crate) fn key(f: &Finding) -> String {
    serde_json::to_string(f).expect("finding serialises")
}

/// The embedded engine's detector over the events, correlations finished.
pub(crate) fn truth(set: &SigmaRules, events: &[Event]) -> Vec<String> {
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

pub(crate) fn run(
    set: &Arc<SigmaRules>,
    dir: &Path,
    partitions: usize,
    routing: bool,
) -> (Vec<String>, HuntOutput) {
    let detection = Arc::new(Detection {
        rules: vec![set.clone()],
        iocs: Arc::new(IocSet::new()),
        filter: Default::default(),
    });
    let opts = HuntOptions {
        partitions,
        routing,
        ..HuntOptions::default()
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

#[test]
fn partitions_find_what_the_embedded_detector_finds_correlations_included() {
    let evs = events();
    let dir = temp("parity");
    convert(&evs, &dir);
    let set = rules(&[
        ("whoami.yml", WHOAMI),
        ("burst.yml", BURST),
        ("linux.yml", LINUX),
    ]);
    assert_eq!(set.correlation_count(), 1);
    let want = truth(&set, &evs);
    // 120 whoami, 25 uid=0 lines, and bursts per host.
    assert!(want.iter().filter(|k| k.contains("0000000000a1")).count() == 120);
    assert!(want.iter().filter(|k| k.contains("0000000000a3")).count() == 25);
    assert!(
        want.iter().any(|k| k.contains("0000000000a2")),
        "a correlation finding"
    );
    for partitions in [1, 3, 8] {
        let (got, out) = run(&set, &dir, partitions, true);
        assert!(
            out.partitions == partitions,
            "{} partitions",
            out.partitions
        );
        assert_eq!(out.events, evs.len() as u64);
        assert_eq!(out.reread, 0, "{:?}", out.failed_partitions);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        // A Linux rule is loaded: nothing may be skipped.
        assert_eq!(out.routed_out, (0, 0));
        assert!(got == want, "{partitions} partitions: findings differ");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn routing_skips_the_linux_shards_under_windows_rules_and_drops_no_finding() {
    let evs = events();
    let dir = temp("routing");
    convert(&evs, &dir);
    let set = rules(&[("whoami.yml", WHOAMI), ("burst.yml", BURST)]);
    let want = truth(&set, &evs);
    let (routed, out) = run(&set, &dir, 2, true);
    // 50 Linux lines in shards of at most 40 rows: two shards.
    assert_eq!(out.routed_out, (2, 50));
    assert_eq!(out.events, evs.len() as u64);
    let (plain, unrouted) = run(&set, &dir, 2, false);
    assert_eq!(unrouted.routed_out, (0, 0));
    assert!(routed == want && plain == want, "findings differ");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_damaged_shard_and_a_foreign_file_are_warnings_naming_them() {
    let evs = events();
    let dir = temp("damaged");
    convert(&evs, &dir);
    let set = rules(&[("whoami.yml", WHOAMI)]);
    let mut shards: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.to_string_lossy().contains("host=WS1"))
        .collect();
    shards.sort();
    let victim = shards[0].clone();
    // What the victim holds, read before it is damaged.
    let mut in_victim = Vec::new();
    kahu_columnar::read_shard(std::fs::File::open(&victim).expect("open"), |e| {
        in_victim.push(e.expect("row"));
        true
    })
    .expect("victim reads");
    let lost = truth(&set, &in_victim).len();
    assert!(lost > 0, "the victim holds a whoami");
    // Overwrite the column data (from the first page header on), not the
    // footer: the footer check passes and DataFusion's scan fails.
    let mut bytes = std::fs::read(&victim).expect("read");
    let n = bytes.len();
    let footer_len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().expect("4 bytes")) as usize;
    let data_end = n - 8 - footer_len;
    for b in &mut bytes[4..data_end] {
        *b = 0xA5;
    }
    std::fs::write(&victim, &bytes).expect("write");
    std::fs::write(dir.join("notes.parquet"), b"PAR1 not a shard").expect("write");
    let (got, out) = run(&set, &dir, 3, true);
    let named = |p: &Path| out.warnings.iter().any(|w| w.file == p);
    assert!(named(&victim), "{:?}", out.warnings);
    assert!(named(&dir.join("notes.parquet")), "{:?}", out.warnings);
    assert!(out.reread > 0, "the victim's partition was read again");
    // Every whoami outside the damaged shard is found, none twice.
    let all = truth(&set, &evs).len();
    assert_eq!(got.len(), all - lost);
    let mut dedup = got.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), got.len(), "a finding counted twice");
    std::fs::remove_dir_all(&dir).ok();
}
