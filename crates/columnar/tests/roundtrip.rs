//! Events written as shards and read back are the same events, field by
//! field: real evidence of every family kahu reads (EVTX, JSON lines,
//! Zeek, syslog, auditd) and generated hostile values.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_columnar::{ShardWriter, WriteSummary, WriterOptions, read_shard};
use kahu_event::{Event, Fields, Location, LogSource, Provenance, Value, parse_timestamp};
use kahu_ingest::{Reader, Sink, Warning};
use kahu_test_support::shared;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Default)]
struct Collect {
    events: Vec<Event>,
    warnings: Vec<Warning>,
}

impl Sink for Collect {
    fn event(&mut self, e: Event) -> bool {
        self.events.push(e);
        true
    }
    fn warning(&mut self, w: Warning) {
        self.warnings.push(w);
    }
}

fn read_evidence(paths: &[PathBuf]) -> Vec<Event> {
    let mut c = Collect::default();
    for p in paths {
        Reader::new()
            .read_path(p, &mut c)
            .expect("evidence readable");
    }
    c.events
}

fn write(events: &[Event], dir: &Path, opts: WriterOptions) -> WriteSummary {
    let mut w = ShardWriter::new(dir, opts).expect("writer");
    for e in events {
        assert_eq!(w.write(e).expect("written"), None, "event refused");
    }
    w.finish().expect("finished")
}

fn shards(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = kahu_test_support::files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    out.sort();
    out
}

fn read_back(dir: &Path) -> Vec<Event> {
    let mut out = Vec::new();
    for s in shards(dir) {
        let f = std::fs::File::open(&s).expect("shard opens");
        read_shard(f, |item| {
            out.push(item.expect("every row valid"));
            true
        })
        .unwrap_or_else(|e| panic!("{}: {e}", s.display()));
    }
    out
}

/// Every member of an event in a form that compares exactly: `Debug`
/// names each value's type (`Int(5)` vs `UInt(5)` vs `Str("5")`), prints
/// floats exactly (`-0.0`, `NaN`, `inf`) and strings escaped.
fn members(e: &Event) -> [String; 8] {
    [
        format!("{:?}", e.provenance),
        format!(
            "{:?}",
            e.timestamp
                .map(|t| (t.timestamp(), t.timestamp_subsec_nanos()))
        ),
        format!("{:?}", e.host),
        format!("{:?}", e.channel),
        format!("{:?}", e.provider),
        format!("{:?}", e.event_id),
        format!("{:?} {:?}", e.logsource, e.alt_logsources),
        format!("{:?}", e.fields),
    ]
}

/// The same multiset of events, compared member by member (order across
/// shards is not kept: shards are per day and host).
fn assert_same_events(original: &[Event], back: &[Event]) {
    assert_eq!(original.len(), back.len(), "event count");
    let mut a: Vec<[String; 8]> = original.iter().map(members).collect();
    let mut b: Vec<[String; 8]> = back.iter().map(members).collect();
    a.sort();
    b.sort();
    for (x, y) in a.iter().zip(&b) {
        for (i, (mx, my)) in x.iter().zip(y).enumerate() {
            assert_eq!(mx, my, "member {i} of the event from {}", x[0]);
        }
    }
}

fn small_shards() -> WriterOptions {
    WriterOptions {
        max_shard_rows: 700,
        batch_rows: 100,
        ..WriterOptions::default()
    }
}

fn round_trip(paths: &[PathBuf], what: &str) -> usize {
    let events = read_evidence(paths);
    assert!(!events.is_empty(), "{what}: no events read");
    let tmp = tempfile::tempdir().expect("temp dir");
    let summary = write(&events, tmp.path(), small_shards());
    assert_eq!(summary.events, events.len() as u64);
    assert_eq!(
        summary.shards.iter().map(|s| s.rows).sum::<u64>(),
        events.len() as u64
    );
    assert!(summary.shards.iter().all(|s| s.rows <= 700));
    let back = read_back(tmp.path());
    assert_same_events(&events, &back);
    events.len()
}

#[test]
fn evtx_attack_samples_round_trip_exactly() {
    let Some(dir) = shared("evtx/EVTX-ATTACK-SAMPLES") else {
        return;
    };
    let n = round_trip(&[dir], "EVTX-ATTACK-SAMPLES");
    // The set's records as kahu's EVTX reader counts them (ingest tests).
    assert!(n > 7_000, "{n} events");
}

#[test]
fn mordor_json_lines_and_auditd_round_trip_exactly() {
    let Some(dir) = shared("mordor/atomic") else {
        return;
    };
    // A spread of the sets, small enough for a debug test: Winlogbeat and
    // NXLog JSON lines (Windows) and auditd text (Linux).
    let picks = [
        "windows/credential_access/host/empire_mimikatz_logonpasswords.zip",
        "windows/defense_evasion/host/psh_hh_local_html_payload.zip",
        "windows/lateral_movement/host/schtask_modification.zip",
        "linux/discovery/host/sh_arp_cache.zip",
        "linux/defense_evasion/host/sh_binary_padding_dd.zip",
    ];
    let paths: Vec<PathBuf> = picks
        .iter()
        .map(|p| dir.join(p))
        .filter(|p| p.exists())
        .collect();
    assert!(paths.len() >= 4, "Mordor sets missing: {paths:?}");
    let events = read_evidence(&paths);
    let linux = events
        .iter()
        .filter(|e| e.logsource.product.as_deref() == Some("linux"))
        .count();
    assert!(linux > 0, "no auditd events among {}", events.len());
    round_trip(&paths, "Mordor");
}

#[test]
fn zeek_syslog_and_web_logs_round_trip_exactly() {
    // /work/shared holds no Zeek or syslog evidence; the readers' own
    // fixtures (real-format samples) stand in.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/data/textlogs");
    let paths: Vec<PathBuf> = kahu_test_support::files_under(&dir);
    let events = read_evidence(&paths);
    for product in ["zeek", "linux"] {
        assert!(
            events
                .iter()
                .any(|e| e.logsource.product.as_deref() == Some(product)),
            "no {product} events in the fixtures"
        );
    }
    round_trip(&paths, "text logs");
    if let Some(web) = shared("evtx/EVTX-ATTACK-SAMPLES/Command and Control") {
        let logs: Vec<PathBuf> = kahu_test_support::files_under(&web)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "txt" || x == "log"))
            .collect();
        round_trip(&logs, "web logs");
    }
}

fn ev(file: &str, location: Location) -> Event {
    Event::new(Provenance::new(Arc::from(file), location))
}

fn obj(pairs: Vec<(&str, Value)>) -> Fields {
    let mut f = Fields::default();
    for (k, v) in pairs {
        // `push`, not `insert`: duplicate names are kept, as readers keep them.
        f.push(Arc::from(k), v);
    }
    f
}

/// Values an attacker controls or that readers produce at the edges.
fn hostile_events() -> Vec<Event> {
    let huge = "A\0\n\r\u{1b}[31m".repeat(3 << 20);
    let mut out = Vec::new();
    let mut e = ev("C:\\evidence\\Security.evtx", Location::Record(42));
    e.timestamp = parse_timestamp("2021-05-04T01:02:03.1234567Z");
    e.host = Some(Arc::from("../../etc/passwd\0"));
    e.channel = Some(Arc::from("Security"));
    e.provider = Some(Arc::from("Microsoft-Windows-Security-Auditing"));
    e.event_id = Some(4688);
    e.fields = obj(vec![
        ("CommandLine", Value::str("cmd.exe /c \"whoami\"\n\0tail")),
        ("CommandLine", Value::str("duplicate name, kept in order")),
        ("", Value::str("empty name")),
        ("process.name", Value::str("flat dotted name")),
        ("Null", Value::Null),
        ("EmptyStr", Value::str("")),
        ("Int", Value::Int(i64::MIN)),
        ("UIntSmall", Value::UInt(5)),
        ("UIntBig", Value::UInt(u64::MAX)),
        ("IntSmall", Value::Int(5)),
        ("Text5", Value::str("5")),
        ("NegZero", Value::Float(-0.0)),
        ("NaN", Value::Float(f64::NAN)),
        ("Inf", Value::Float(f64::NEG_INFINITY)),
        ("Tiny", Value::Float(5e-324)),
        ("True", Value::Bool(true)),
        ("False", Value::Bool(false)),
        ("EmptyArray", Value::Array(vec![])),
        ("EmptyObject", Value::Object(Fields::default())),
        (
            "Nested",
            Value::Array(vec![
                Value::Array(vec![Value::Null, Value::Array(vec![])]),
                Value::Object(obj(vec![
                    ("a", Value::Object(obj(vec![("b", Value::Int(1))]))),
                    ("a", Value::Array(vec![Value::str("x"), Value::Bool(false)])),
                ])),
                Value::str("after"),
            ]),
        ),
        (
            "Trailing",
            Value::Object(obj(vec![(
                "deep",
                Value::Array(vec![Value::Object(Fields::default())]),
            )])),
        ),
    ]);
    e.logsource = LogSource::product("windows").with_service("security");
    e.alt_logsources = vec![
        LogSource::product("windows").with_category("process_creation"),
        LogSource::default(),
    ];
    out.push(e);

    let mut e = ev("collection.zip", Location::Line(7));
    e.provenance.member = Some(Arc::from("host1/var/log/auth.log!inner.gz"));
    e.fields = obj(vec![("Huge", Value::Str(Arc::from(huge.as_str())))]);
    e.host = Some(Arc::from(""));
    out.push(e);

    // A leap second, the ends of chrono's range, before 1970, 100 ns steps.
    for (i, t) in [
        chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .map(|t| t.and_utc()),
        Some(chrono::DateTime::<chrono::Utc>::MIN_UTC),
        Some(chrono::DateTime::<chrono::Utc>::MAX_UTC),
        parse_timestamp("1601-01-01T00:00:00.0000001Z"),
        parse_timestamp("1969-12-31T23:59:59.999999999Z"),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = ev("times.jsonl", Location::Offset(i as u64));
        e.timestamp = t;
        e.host = (i % 2 == 0).then(|| Arc::from(format!("host-{i}").as_str()));
        out.push(e);
    }
    let mut e = ev("yara", Location::File);
    e.host = Some(Arc::from("é".repeat(300).as_str()));
    out.push(e);
    out
}

#[test]
fn hostile_values_round_trip_exactly() {
    let events = hostile_events();
    let tmp = tempfile::tempdir().expect("temp dir");
    let summary = write(&events, tmp.path(), WriterOptions::default());
    assert_eq!(summary.events, events.len() as u64);
    let back = read_back(tmp.path());
    assert_same_events(&events, &back);
    // The huge value came back whole.
    let huge = back
        .iter()
        .find_map(|e| e.fields.get_exact("Huge"))
        .and_then(Value::as_text)
        .map(|s| s.len());
    assert_eq!(huge, Some(9 * (3 << 20)));
    // Every shard sits two safe folders below the root.
    for s in shards(tmp.path()) {
        let rel = s.strip_prefix(tmp.path()).expect("inside the root");
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        assert_eq!(parts.len(), 3, "{rel:?}");
        assert!(
            parts[0].starts_with("day=") && parts[1].starts_with("host="),
            "{rel:?}"
        );
        assert!(
            parts
                .iter()
                .all(|p| p.bytes().all(|b| b.is_ascii_graphic())),
            "{rel:?}"
        );
    }
    let dirs: Vec<String> = shards(tmp.path())
        .iter()
        .map(|s| {
            s.strip_prefix(tmp.path())
                .expect("inside")
                .parent()
                .expect("dir")
                .display()
                .to_string()
        })
        .collect();
    assert!(
        dirs.contains(&"day=2021-05-04/host=%2E.%2F..%2Fetc%2Fpasswd%00".to_string()),
        "{dirs:?}"
    );
    assert!(
        dirs.contains(&"day=_unknown/host=_empty".to_string()),
        "{dirs:?}"
    );
    assert!(
        dirs.contains(&"day=_unknown/host=_unknown".to_string()),
        "{dirs:?}"
    );
    assert!(
        dirs.contains(&"day=2016-12-31/host=host-0".to_string()),
        "{dirs:?}"
    );
}

#[test]
fn too_deep_events_are_skipped_with_a_reason_and_the_rest_written() {
    let mut deep = Value::Null;
    for _ in 0..300 {
        deep = Value::Array(vec![deep]);
    }
    let mut bad = ev("deep.json", Location::Line(1));
    bad.fields = obj(vec![("x", deep)]);
    let good = ev("deep.json", Location::Line(2));
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut w = ShardWriter::new(tmp.path(), WriterOptions::default()).expect("writer");
    assert_eq!(
        w.write(&bad).expect("no io error"),
        Some(kahu_columnar::SkipReason::TooDeep)
    );
    assert_eq!(w.write(&good).expect("written"), None);
    let s = w.finish().expect("finished");
    assert_eq!((s.events, s.skipped_total), (1, 1));
    assert_same_events(&[good], &read_back(tmp.path()));
}

#[test]
fn shards_are_bounded_and_memory_stays_within_the_budget() {
    // 2,400 events of ~2 KiB over 6 hosts (all open at once: the memory
    // budget has to act), then 600 over 40 hosts (more than may be open:
    // the least recently used shard is closed and a new one opened later).
    let events: Vec<Event> = (0..3000u64)
        .map(|i| {
            let mut e = ev("big.jsonl", Location::Line(i + 1));
            let hosts = if i < 2400 { 6 } else { 40 };
            e.host = Some(Arc::from(format!("ws{:02}", i % hosts).as_str()));
            e.timestamp = parse_timestamp("2020-01-01T00:00:00Z");
            e.fields = obj(vec![("Payload", Value::str(&format!("{i:0>2048}")))]);
            e
        })
        .collect();
    let opts = WriterOptions {
        max_shard_rows: 400,
        max_open: 8,
        batch_rows: 16,
        batch_bytes: 16 << 10,
        row_group_bytes: 1 << 20,
        memory_budget: 256 << 10,
        ..WriterOptions::default()
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut w = ShardWriter::new(tmp.path(), opts).expect("writer");
    let mut peak = 0;
    for e in &events {
        w.write(e).expect("written");
        peak = peak.max(w.held_bytes());
    }
    let s = w.finish().expect("finished");
    // Without the budget six shards would each hold up to a 1 MiB row
    // group; with it, the budget plus about one batch.
    assert!(s.early_flushes > 0, "the budget was never needed");
    assert!(peak <= (256 << 10) + (64 << 10), "peak {peak}");
    // Each of the 6 hosts filled one shard of exactly 400; then hosts
    // evicted from the 8 open shards came back in new ones.
    assert!(s.shards.iter().all(|x| x.rows <= 400));
    assert_eq!(s.shards.iter().filter(|x| x.rows == 400).count(), 6);
    assert!(s.shards.len() > 40 + 6, "{} shards", s.shards.len());
    assert_eq!(s.shards.len(), shards(tmp.path()).len());
    assert_same_events(&events, &read_back(tmp.path()));
}

#[test]
fn a_shard_byte_limit_rotates_shards() {
    let events: Vec<Event> = (0..200u64)
        .map(|i| {
            let mut e = ev("x.jsonl", Location::Line(i + 1));
            // Incompressible-ish text so the byte limit, not the row limit, acts.
            let text: String = (0..4000u64)
                .map(|j| char::from(b'a' + ((i * 7919 + j * 104_729) % 26) as u8))
                .collect();
            e.fields = obj(vec![("T", Value::Str(Arc::from(text.as_str())))]);
            e
        })
        .collect();
    let opts = WriterOptions {
        max_shard_bytes: 100 << 10,
        batch_rows: 8,
        ..WriterOptions::default()
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let s = write(&events, tmp.path(), opts);
    assert!(s.shards.len() >= 4, "{} shards", s.shards.len());
    // Closed at the first batch past the limit: at most a batch over.
    assert!(
        s.shards
            .iter()
            .all(|x| x.bytes < (100 << 10) + 8 * 5000 + 16_384),
        "{:?}",
        s.shards
    );
    assert_same_events(&events, &read_back(tmp.path()));
}

mod generated {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<u64>().prop_map(Value::UInt),
            any::<f64>().prop_map(Value::Float),
            ".{0,40}".prop_map(|s| Value::Str(Arc::from(s.as_str()))),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-zA-Z.]{0,6}", inner), 0..6).prop_map(|kv| {
                    Value::Object(obj(kv
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.clone()))
                        .collect()))
                }),
            ]
        })
    }

    fn event() -> impl Strategy<Value = Event> {
        (
            prop::collection::vec(("[a-zA-Z_]{0,8}", value()), 0..8),
            prop::option::of(-8_000_000_000_000i64..8_000_000_000_000),
            0u32..1_000_000_000,
            prop::option::of(".{0,12}"),
            prop::option::of(any::<u32>()),
            any::<u64>(),
        )
            .prop_map(|(fields, secs, nanos, host, id, line)| {
                let mut e = ev("gen.jsonl", Location::Line(line));
                e.fields = obj(fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect());
                e.timestamp = secs.and_then(|s| chrono::DateTime::from_timestamp(s, nanos));
                e.host = host.map(|h| Arc::from(h.as_str()));
                e.event_id = id;
                e
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn any_events_round_trip_exactly(events in prop::collection::vec(event(), 1..40)) {
            let tmp = tempfile::tempdir().expect("temp dir");
            let s = write(&events, tmp.path(), WriterOptions { batch_rows: 7, ..WriterOptions::default() });
            prop_assert_eq!(s.events, events.len() as u64);
            assert_same_events(&events, &read_back(tmp.path()));
        }
    }
}
