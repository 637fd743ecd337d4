//! One CLI test per flag that had none (#15 "CLI tests for each flag"):
//! the real binary on a small fixture written to a temporary directory.
//!
//! Fixture, read by hand: four events in the EVTX JSON rendering —
//! 1. 2024-05-01T10:00Z WS1 Sysmon 1, cmd.exe running mimikatz (the one
//!    rule below fires on it),
//! 2. 10:05Z WS1 Sysmon 1, powershell Get-Process,
//! 3. 10:06Z DC1 Security 4624, bob from 203.0.113.77,
//! 4. 10:07Z WS2 Sysmon 3, powershell connecting to 198.51.100.7.
//!
//! Feed: `ip-2025` (203.0.113.77, valid from 2025-01-01: after event 3)
//! and `ip-2020` (198.51.100.7, valid from 2020-01-01: event 4 inside).
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const KAHU: &str = env!("CARGO_BIN_EXE_kahu");

const RULE_ID: &str = "00000000-0000-4000-8000-0000000000f1";
const RULE: &str = r"title: Flags Test Mimikatz
id: 00000000-0000-4000-8000-0000000000f1
status: test
level: high
tags:
    - attack.credential-access
    - attack.t1003.001
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|contains: mimikatz
    condition: selection
";

const EVENTS: &str = concat!(
    r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"EventRecordID":11,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS1.corp.local","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:00:00Z"}}},"EventData":{"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c mimikatz.exe sekurlsa::logonpasswords","User":"CORP\\bob"}}}"##,
    "\n",
    r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"EventRecordID":12,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS1.corp.local","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:05:00Z"}}},"EventData":{"Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","CommandLine":"powershell Get-Process","User":"CORP\\bob"}}}"##,
    "\n",
    r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},"EventID":4624,"EventRecordID":13,"Channel":"Security","Computer":"DC1.corp.local","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:06:00Z"}}},"EventData":{"TargetUserName":"bob","LogonType":3,"IpAddress":"203.0.113.77"}}}"##,
    "\n",
    r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":3,"EventRecordID":14,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS2.corp.local","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:07:00Z"}}},"EventData":{"Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","DestinationIp":"198.51.100.7","DestinationPort":443}}}"##,
    "\n",
);

const FEED: &str = r#"{"type":"bundle","id":"bundle--00000000-0000-4000-8000-0000000000f0","objects":[
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-0000000000f1","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"ip-2025","pattern":"[ipv4-addr:value = '203.0.113.77']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z","indicator_types":["malicious-activity"]},
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-0000000000f2","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","name":"ip-2020","pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z","indicator_types":["malicious-activity"]}
]}"#;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("rules")).unwrap();
        std::fs::write(dir.path().join("rules/mimikatz.yml"), RULE).unwrap();
        std::fs::create_dir_all(dir.path().join("evidence")).unwrap();
        std::fs::write(dir.path().join("evidence/events.jsonl"), EVENTS).unwrap();
        std::fs::write(dir.path().join("feed.json"), FEED).unwrap();
        Fixture { dir }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn s(&self, p: &str) -> String {
        self.path(p).display().to_string()
    }
}

fn kahu(args: &[&str]) -> Output {
    Command::new(KAHU)
        .args(args)
        .env("NO_COLOR", "1")
        // No `kahu rules update` package of the machine's user in the run.
        .env("KAHU_RULES_DIR", "/nonexistent/kahu-flags-test")
        .stdin(Stdio::null())
        .output()
        .expect("run kahu")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "kahu failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

fn jsonl(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn field<'a>(f: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    f["fields"]
        .as_array()?
        .iter()
        .find(|kv| kv[0] == name)
        .and_then(|kv| kv[1].as_str())
}

/// IOC findings of a hunt with the fixture's feed, as (indicator value,
/// note).
fn ioc_hits(fx: &Fixture, extra: &[&str]) -> Vec<(String, String)> {
    let out = fx.s("iocs.jsonl");
    let mut args = vec!["hunt", "-q", "--no-bundled-rules", "--rules"];
    let (rules, ev, feed) = (fx.s("rules"), fx.s("evidence"), fx.s("feed.json"));
    args.extend([
        rules.as_str(),
        ev.as_str(),
        "--ioc",
        feed.as_str(),
        "-o",
        &out,
    ]);
    args.extend(extra);
    ok(kahu(&args));
    jsonl(&fx.path("iocs.jsonl"))
        .iter()
        .filter(|f| f["kind"] == "ioc")
        .map(|f| {
            (
                field(f, "ioc").unwrap_or("").to_string(),
                field(f, "ioc_note").unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// `--ioc-strict-validity`: by default an indicator matches outside its
/// `valid_from` window and the hit says so; with the flag it does not,
/// and a hit inside its window is kept either way.
#[test]
fn ioc_strict_validity_drops_hits_outside_the_window() {
    let fx = Fixture::new();
    let hits = ioc_hits(&fx, &[]);
    assert_eq!(hits.len(), 2, "{hits:?}");
    let early = hits
        .iter()
        .find(|(ioc, _)| ioc.contains("203.0.113.77"))
        .expect("the 2025 indicator matches the 2024 logon by default");
    assert!(
        early.1.contains("outside the indicator's validity window")
            && early.1.contains("2025-01-01"),
        "{early:?}"
    );
    let inside = hits
        .iter()
        .find(|(ioc, _)| ioc.contains("198.51.100.7"))
        .expect("the 2020 indicator matches");
    assert!(!inside.1.contains("outside"), "{inside:?}");

    let strict = ioc_hits(&fx, &["--ioc-strict-validity"]);
    assert_eq!(strict.len(), 1, "{strict:?}");
    assert!(strict[0].0.contains("198.51.100.7"), "{strict:?}");
}

/// `hunt --jsonl-fields object`: `fields` is an object (repeated names
/// become arrays); the default stays pairs.
#[test]
fn jsonl_fields_object_form() {
    let fx = Fixture::new();
    let (rules, ev) = (fx.s("rules"), fx.s("evidence"));
    for (form, out) in [(None, "pairs.jsonl"), (Some("object"), "object.jsonl")] {
        let o = fx.s(out);
        let mut args = vec![
            "hunt",
            "-q",
            "--no-bundled-rules",
            "--rules",
            &rules,
            &ev,
            "-o",
            &o,
        ];
        if let Some(f) = form {
            args.extend(["--jsonl-fields", f]);
        }
        ok(kahu(&args));
    }
    let pairs = jsonl(&fx.path("pairs.jsonl"));
    let object = jsonl(&fx.path("object.jsonl"));
    assert_eq!(pairs.len(), 1);
    assert_eq!(object.len(), 1);
    assert!(pairs[0]["fields"].is_array());
    let o = object[0]["fields"].as_object().expect("fields object");
    assert_eq!(
        o["CommandLine"],
        "cmd.exe /c mimikatz.exe sekurlsa::logonpasswords"
    );
    // Same fields, same values, only the shape differs.
    let n_pairs = pairs[0]["fields"].as_array().unwrap().len();
    let n_values: usize = o.values().map(|v| v.as_array().map_or(1, Vec::len)).sum();
    assert_eq!(n_pairs, n_values);
    for kv in pairs[0]["fields"].as_array().unwrap() {
        let v = &o[kv[0].as_str().unwrap()];
        assert!(
            *v == kv[1] || v.as_array().is_some_and(|a| a.contains(&kv[1])),
            "{kv} in {o:?}"
        );
    }
    assert_eq!(object[0]["rule_id"], RULE_ID);
    assert_eq!(object[0]["rule_file"], pairs[0]["rule_file"]);
    // `attribute --findings` reads either form, to the same evidence.
    let evidence = |file: &str| -> serde_json::Value {
        let out = ok(kahu(&["attribute", "--findings", &fx.s(file), "--json"]));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["evidence"].clone()
    };
    let from_pairs = evidence("pairs.jsonl");
    assert_eq!(from_pairs["techniques"], 1, "{from_pairs}");
    assert_eq!(evidence("object.jsonl"), from_pairs);
    let bad = kahu(&["hunt", "-q", &ev, "--jsonl-fields", "map"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
}

fn assess(fx: &Fixture, out: &str, extra: &[&str]) -> PathBuf {
    let (rules, ev, o) = (fx.s("rules"), fx.s("evidence"), fx.s(out));
    let mut args = vec!["assess", "-q", &ev, "--rules", &rules, "--out", &o];
    args.extend(extra);
    ok(kahu(&args));
    fx.path(out)
}

/// Events stored in the case, counted row by row.
fn case_events(dir: &Path) -> u64 {
    let case = kahu_case::Case::open(dir).unwrap();
    let mut n = 0;
    case.for_each_event(&kahu_case::EventQuery::default(), |_, _| {
        n += 1;
        true
    })
    .unwrap();
    n
}

/// `--case-events detected` keeps only the events a rule or indicator
/// reported; the default keeps all four.
#[test]
fn case_events_detected_keeps_only_reported_events() {
    let fx = Fixture::new();
    let all = assess(&fx, "all", &["--no-bundled-rules"]);
    assert_eq!(case_events(&all), 4);
    let detected = assess(
        &fx,
        "detected",
        &["--no-bundled-rules", "--case-events", "detected"],
    );
    // One event fires the one rule (event 1).
    assert_eq!(case_events(&detected), 1);
    let with_feed = assess(
        &fx,
        "detected-ioc",
        &[
            "--no-bundled-rules",
            "--case-events",
            "detected",
            "--ioc",
            &fx.s("feed.json"),
        ],
    );
    // Events 1, 3 and 4 (the two indicator hits).
    assert_eq!(case_events(&with_feed), 3);
}

/// `--victim` names the affected organisation in the report and in the
/// STIX bundle (an identity the sightings point at); without it no victim
/// identity is written.
#[test]
fn victim_is_named_only_when_given() {
    let fx = Fixture::new();
    let victim = "Flags Test Ministry";
    let named = assess(
        &fx,
        "named",
        &["--no-bundled-rules", "--no-case", "--victim", victim],
    );
    let a: serde_json::Value =
        serde_json::from_slice(&std::fs::read(named.join("assessment.json")).unwrap()).unwrap();
    assert_eq!(a["case"]["victim"], victim);
    let stix: serde_json::Value =
        serde_json::from_slice(&std::fs::read(named.join("stix-bundle.json")).unwrap()).unwrap();
    let identities: Vec<&serde_json::Value> = stix["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "identity")
        .collect();
    assert!(
        identities.iter().any(|i| i["name"] == victim),
        "{identities:?}"
    );

    let anonymous = assess(&fx, "anonymous", &["--no-bundled-rules", "--no-case"]);
    let a: serde_json::Value =
        serde_json::from_slice(&std::fs::read(anonymous.join("assessment.json")).unwrap()).unwrap();
    assert!(a["case"]["victim"].is_null(), "{}", a["case"]);
    let bundle = std::fs::read_to_string(anonymous.join("stix-bundle.json")).unwrap();
    assert!(!bundle.contains(victim));
    let stix: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    let identities = stix["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "identity")
        .count();
    assert_eq!(identities, 1, "only the producer's identity");
}

/// `events --count` prints counts, not events: the fixture's four.
#[test]
fn events_count_counts_the_fixture() {
    let fx = Fixture::new();
    let out = ok(kahu(&["events", "-q", &fx.s("evidence"), "--count"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["events"], EVENTS.lines().count() as u64);
    assert_eq!(v["files"], 1);
    assert_eq!(text(&out.stdout).lines().count(), 1, "one JSON line");
    // Without --count every event is printed, one per line.
    let all = ok(kahu(&["events", "-q", &fx.s("evidence")]));
    assert_eq!(
        text(&all.stdout).lines().filter(|l| !l.is_empty()).count(),
        EVENTS.lines().count()
    );
}

/// `metrics --top N` prints at most N rows per table and says so.
#[test]
fn metrics_top_limits_the_rows() {
    let fx = Fixture::new();
    let section = |out: &str, head: &str| -> usize {
        out.lines()
            .skip_while(|l| !l.starts_with(head))
            .skip(2) // the heading and the column line
            .take_while(|l| !l.trim().is_empty())
            .count()
    };
    let full = text(&ok(kahu(&["metrics", "-q", &fx.s("evidence")])).stdout);
    // Three computers in the fixture (WS1, DC1, WS2).
    assert_eq!(section(&full, "Computers:"), 3, "{full}");
    assert!(!full.contains("rows per table"), "{full}");
    let top = text(&ok(kahu(&["metrics", "-q", &fx.s("evidence"), "--top", "1"])).stdout);
    assert_eq!(section(&top, "Computers:"), 1, "{top}");
    assert_eq!(section(&top, "Events by channel and event id:"), 1, "{top}");
    assert!(top.contains("(first 1 rows per table"), "{top}");
}

/// `search --max N` prints at most N events and says it stopped;
/// `--field` looks only in the named field.
#[test]
fn search_max_and_field() {
    let fx = Fixture::new();
    let ev = fx.s("evidence");
    let lines = |o: &Output| text(&o.stdout).lines().filter(|l| !l.is_empty()).count();
    // "powershell" occurs in events 2 and 4.
    let all = ok(kahu(&["search", &ev, "-k", "powershell"]));
    assert_eq!(lines(&all), 2);
    let one = ok(kahu(&["search", &ev, "-k", "powershell", "--max", "1"]));
    assert_eq!(lines(&one), 1);
    assert!(
        text(&one.stderr).contains("stopped at --max 1"),
        "{}",
        text(&one.stderr)
    );
    // In CommandLine only event 2 holds it (event 4 has it in Image).
    let cmd = ok(kahu(&[
        "search",
        &ev,
        "-k",
        "powershell",
        "--field",
        "CommandLine",
    ]));
    assert_eq!(lines(&cmd), 1);
    assert!(text(&cmd.stdout).contains("Get-Process"));
    let image = ok(kahu(&[
        "search",
        &ev,
        "-k",
        "powershell",
        "--field",
        "Image",
    ]));
    assert_eq!(lines(&image), 2);
}

/// `attribute --top N` shows N candidates.
#[test]
fn attribute_top_shows_that_many_candidates() {
    for n in [1usize, 3, 7] {
        let top = n.to_string();
        let out = ok(kahu(&[
            "attribute",
            "--techniques",
            "T1190,T1505.003,T1003.001,T1021.002",
            "--top",
            &top,
            "--json",
        ]));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["candidates"].as_array().unwrap().len(), n, "--top {n}");
    }
}

/// `attribute --attack BUNDLE` ranks the groups of that bundle instead of
/// the embedded v18.1: a one-group bundle gives one actor ranked, in the
/// release its file name says.
#[test]
fn attack_bundle_replaces_the_embedded_knowledge_base() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("enterprise-attack-99.1.json");
    let ext = |id: &str| {
        serde_json::json!([{"source_name": "mitre-attack", "external_id": id,
            "url": format!("https://attack.mitre.org/{id}")}])
    };
    let objects = serde_json::json!([
        {"type": "attack-pattern", "id": "attack-pattern--00000000-0000-4000-8000-0000000000a1",
         "name": "Exploit Public-Facing Application", "external_references": ext("T1190"),
         "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}],
         "modified": "2030-01-01T00:00:00.000Z"},
        {"type": "intrusion-set", "id": "intrusion-set--00000000-0000-4000-8000-0000000000a2",
         "name": "Flags Test Group", "aliases": ["Flags Test Group"],
         "external_references": ext("G9999"), "modified": "2030-01-01T00:00:00.000Z"},
        {"type": "relationship", "id": "relationship--00000000-0000-4000-8000-0000000000a3",
         "relationship_type": "uses",
         "source_ref": "intrusion-set--00000000-0000-4000-8000-0000000000a2",
         "target_ref": "attack-pattern--00000000-0000-4000-8000-0000000000a1",
         "external_references": [{"source_name": "Flags Test Report", "url": "https://example.org/r"}]}
    ]);
    std::fs::write(
        &bundle,
        serde_json::to_vec(&serde_json::json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-0000000000a0", "objects": objects})).unwrap(),
    )
    .unwrap();
    let run = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "attribute",
            "--techniques",
            "T1190",
            "--no-default-profiles",
            "--json",
        ];
        args.extend(extra);
        serde_json::from_slice(&ok(kahu(&args)).stdout).unwrap()
    };
    let embedded = run(&[]);
    assert_eq!(embedded["attack_version"], "18.1");
    assert!(
        embedded["actors_ranked"].as_u64().unwrap() > 100,
        "{}",
        embedded["actors_ranked"]
    );
    let b = bundle.display().to_string();
    let custom = run(&["--attack", &b]);
    assert_eq!(custom["attack_version"], "99.1");
    assert_eq!(custom["actors_ranked"], 1);
    let ids: Vec<&str> = custom["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(ids.iter().all(|i| *i == "G9999"), "{ids:?}");
}

/// The phase lines `assess` prints on a terminal (only there): each phase
/// with its count and elapsed time. Run under a pseudo terminal made by
/// util-linux `script`.
#[test]
fn assess_phase_lines_on_a_terminal() {
    let script = Path::new("/usr/bin/script");
    if !script.exists() {
        eprintln!("SKIP: /usr/bin/script (util-linux) not found: phase lines not tested");
        return;
    }
    let fx = Fixture::new();
    let cmd = format!(
        "'{KAHU}' assess '{}' --rules '{}' --no-bundled-rules --out '{}'",
        fx.s("evidence"),
        fx.s("rules"),
        fx.s("out")
    );
    let out = Command::new(script)
        .args(["-qefc", &cmd, "/dev/null"])
        .env("NO_COLOR", "1")
        .env("KAHU_RULES_DIR", "/nonexistent/kahu-flags-test")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("run script");
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{shown}\n{}", text(&out.stderr));
    // "  done: NAME   0.1s  DETAIL": name, seconds, then a count.
    let line = |name: &str| -> String {
        shown
            .split(['\n', '\r'])
            .find(|l| l.contains(&format!("done: {name} ")))
            .unwrap_or_else(|| panic!("no phase line for {name}:\n{shown:?}"))
            .to_string()
    };
    for (name, count) in [
        ("read and detect", "4 events"),
        ("reconstruct and attribute", "incidents"),
        ("write report", "files"),
        ("write case store", "case.sqlite"),
    ] {
        let l = line(name);
        let after = l.split_once(name).unwrap().1;
        let secs = after.split_whitespace().next().unwrap_or("");
        assert!(
            secs.ends_with('s') && secs.trim_end_matches('s').parse::<f64>().is_ok(),
            "elapsed time in {l:?}"
        );
        assert!(l.contains(count), "{count} in {l:?}");
        assert!(l.chars().any(|c| c.is_ascii_digit()), "a count in {l:?}");
    }
    // Not on a pipe: the same run without a terminal prints no phase line.
    let piped = ok(kahu(&[
        "assess",
        &fx.s("evidence"),
        "--rules",
        &fx.s("rules"),
        "--no-bundled-rules",
        "--out",
        &fx.s("out2"),
    ]));
    assert!(
        !text(&piped.stderr).contains("done: "),
        "{}",
        text(&piped.stderr)
    );
}

/// Timesketch's import rules, as its importer applies them
/// (google/timesketch `timesketch/lib/utils.py`, read at commit 00cd366:
/// `TIMESKETCH_FIELDS`, `FIELDS_TO_REMOVE`, `read_and_validate_csv`,
/// `read_and_validate_jsonl`):
/// - CSV: the header holds `message`, `datetime` and `timestamp_desc`
///   (else "Missing mandatory CSV headers"); a row whose `datetime` is
///   empty or not a date is dropped; a `tag` column is parsed as a list.
/// - JSONL: every line is one JSON object holding the three fields (else
///   "Missing field(s) at line N"); `datetime` is read by dateutil; a
///   `timestamp` key, when present, is taken as an integer.
/// - `_id`, `_type`, `_index`, `_source`, `__ts_timeline_id` are removed
///   from every event.
///
/// kahu's stricter rule on top: attribute names are flat (`[A-Za-z0-9_-]`,
/// no dot, which OpenSearch would read as an object path) and values are
/// strings or arrays of strings.
#[test]
fn timesketch_output_follows_the_importers_rules() {
    const MANDATORY: [&str; 3] = ["message", "datetime", "timestamp_desc"];
    const REMOVED: [&str; 5] = ["_id", "_type", "_index", "_source", "__ts_timeline_id"];
    let fx = Fixture::new();
    // Zeek JSON with dotted names (id.resp_h) matching the 2020 indicator.
    std::fs::write(
        fx.path("evidence/http.json"),
        r#"{"ts":"2024-05-01T10:08:00.000000Z","uid":"CFlags1","id.orig_h":"10.0.0.7","id.orig_p":50000,"id.resp_h":"198.51.100.7","id.resp_p":443,"method":"GET","host":"c2.example.net","uri":"/news.php"}
"#,
    )
    .unwrap();
    let (rules, ev, feed) = (fx.s("rules"), fx.s("evidence"), fx.s("feed.json"));
    let run = |out: &str| {
        ok(kahu(&[
            "hunt",
            "-q",
            "--no-bundled-rules",
            "--rules",
            &rules,
            &ev,
            "--ioc",
            &feed,
            "--format",
            "timesketch",
            "-o",
            out,
        ]))
    };
    let flat = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };

    let csv_path = fx.s("timeline.csv");
    run(&csv_path);
    let mut r = csv::Reader::from_path(&csv_path).unwrap();
    let head: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    for m in MANDATORY {
        assert!(
            head.iter().any(|h| h == m),
            "CSV header lacks {m}: {head:?}"
        );
    }
    for h in &head {
        assert!(
            !REMOVED.contains(&h.as_str()) && h != "tag" && flat(h),
            "column {h}"
        );
    }
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    // The mimikatz rule, the 2025 indicator (logon), the 2020 indicator
    // twice (Sysmon 3 and Zeek): every finding has a time, none is dropped.
    assert_eq!(rows.len(), 4, "{rows:?}");
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    for row in &rows {
        assert_eq!(row.len(), head.len());
        assert!(
            chrono::DateTime::parse_from_rfc3339(&row[col("datetime")]).is_ok(),
            "{row:?}"
        );
        assert!(!row[col("message")].is_empty() && !row[col("timestamp_desc")].is_empty());
    }

    let jsonl_path = fx.s("timeline.jsonl");
    run(&jsonl_path);
    let text = std::fs::read_to_string(&jsonl_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    let mut dotted_field_seen = false;
    for (n, line) in lines.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let o = v
            .as_object()
            .unwrap_or_else(|| panic!("line {n} is not an object"));
        for m in MANDATORY {
            assert!(
                o.get(m).is_some_and(|x| x.is_string()),
                "line {n} lacks {m}: {line}"
            );
        }
        assert!(
            chrono::DateTime::parse_from_rfc3339(o["datetime"].as_str().unwrap()).is_ok(),
            "{line}"
        );
        assert!(o.get("timestamp").is_none_or(|t| t.is_i64()), "{line}");
        assert!(o.get("tag").is_none(), "{line}");
        for (k, val) in o {
            assert!(
                !REMOVED.contains(&k.as_str()) && flat(k),
                "attribute {k:?} in {line}"
            );
            let strings = val.is_string()
                || val
                    .as_array()
                    .is_some_and(|a| a.iter().all(|x| x.is_string()));
            assert!(strings, "attribute {k} is not flat text: {val}");
        }
        dotted_field_seen |= o
            .get("field_id_resp_h")
            .is_some_and(|x| x == "198.51.100.7");
    }
    assert!(
        dotted_field_seen,
        "Zeek's id.resp_h as field_id_resp_h: {text}"
    );
}

/// `--channel`, `--exclude-channel`, `--exclude-host` (shared by hunt,
/// assess, metrics and search) select what they say: counted by `metrics`.
#[test]
fn channel_and_host_filters_select_the_events_they_name() {
    let fx = Fixture::new();
    let ev = fx.s("evidence");
    let events = |extra: &[&str]| -> u64 {
        let mut args = vec!["metrics", "-q", "--json", ev.as_str()];
        args.extend(extra);
        let v: serde_json::Value = serde_json::from_slice(&ok(kahu(&args)).stdout).unwrap();
        // `events` counts what was read, `events_excluded` what the filter
        // left out; the computers table holds only what was kept.
        let kept = v["events"].as_u64().unwrap() - v["events_excluded"].as_u64().unwrap();
        assert_eq!(v["events_counted"].as_u64(), Some(kept), "{v}");
        // The text header says what was left out, and the percentages of
        // the table add up to 100 over what was counted.
        let mut targs = vec!["metrics", "-q", ev.as_str()];
        targs.extend(extra);
        let t = text(&ok(kahu(&targs)).stdout);
        let excluded = v["events_excluded"].as_u64().unwrap();
        if excluded > 0 {
            assert!(
                t.contains(&format!(
                    "{excluded} left out by the scope filter ({kept} counted below)"
                )),
                "{t}"
            );
        }
        let percent: f64 = t
            .lines()
            .skip_while(|l| !l.starts_with("Events by channel"))
            .skip(2)
            .take_while(|l| !l.trim().is_empty())
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .sum();
        if kept > 0 {
            assert!((percent - 100.0).abs() < 0.1, "{percent}: {t}");
        }
        let per_computer: u64 = v["computers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["events"].as_u64().unwrap())
            .sum();
        assert_eq!(kept, per_computer, "{v}");
        kept
    };
    let count = |pred: &dyn Fn(&str) -> bool| EVENTS.lines().filter(|l| pred(l)).count() as u64;
    assert_eq!(events(&[]), 4);
    assert_eq!(
        events(&["--channel", "Security"]),
        count(&|l| l.contains(r#""Channel":"Security""#))
    );
    assert_eq!(
        events(&["--exclude-channel", "Security"]),
        count(&|l| !l.contains(r#""Channel":"Security""#))
    );
    assert_eq!(
        events(&["--exclude-host", "WS1.corp.local"]),
        count(&|l| !l.contains(r#""Computer":"WS1.corp.local""#))
    );
    // The hunt over a filter keeps only the findings of what is left:
    // without WS1 the mimikatz rule has nothing to fire on.
    let out = ok(kahu(&[
        "hunt",
        "-q",
        "--no-bundled-rules",
        "--rules",
        &fx.s("rules"),
        &ev,
        "--exclude-host",
        "WS1.corp.local",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"], 0, "{v}");
    assert_eq!(v["events_excluded"], 2, "{v}");
}

/// `attribute --software --cve --ip --domain --port --first-seen
/// --last-seen` each add evidence: counted in the summary, and those that
/// match APT40's profile (data/attack/profiles: CVE-2021-26084, ports
/// 9998/9999, activity dates) are listed as its supporting evidence.
#[test]
fn attribute_evidence_flags_are_scored() {
    let run = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "attribute",
            "--techniques",
            "T1190,T1505.003",
            "--top",
            "10",
            "--json",
        ];
        args.extend(extra);
        serde_json::from_slice(&ok(kahu(&args)).stdout).unwrap()
    };
    let base = run(&[]);
    for k in ["software", "cves", "infrastructure"] {
        assert_eq!(base["evidence"][k], 0, "{k}");
    }
    let more = run(&[
        "--software",
        "S0020",
        "--cve",
        "CVE-2021-26084",
        "--ip",
        "203.0.113.7",
        "--domain",
        "evil.example",
        "--port",
        "9998,9999",
        "--first-seen",
        "2021-01-01",
        "--last-seen",
        "2021-03-01",
    ]);
    assert_eq!(more["evidence"]["software"], 1);
    assert_eq!(more["evidence"]["cves"], 1);
    assert_eq!(
        more["evidence"]["infrastructure"], 2,
        "the IP and the domain"
    );
    let apt40 = more["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "G0065")
        .expect("APT40 among the top 10");
    let supporting: Vec<(String, String)> = apt40["supporting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").to_string(),
                e["id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for want in [
        ("software", "S0020"),
        ("cve", "CVE-2021-26084"),
        ("port", "9998"),
        ("port", "9999"),
        ("time", "2021-01-01/2021-03-01"),
    ] {
        assert!(
            supporting.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} not in {supporting:?}"
        );
    }
}

/// `rules check --strict` exits 1 when a rule is rejected, 0 when none is.
#[test]
fn rules_check_strict_fails_on_a_rejected_rule() {
    let fx = Fixture::new();
    let rules = fx.s("rules");
    assert_eq!(
        kahu(&["rules", "check", &rules, "--strict"]).status.code(),
        Some(0)
    );
    std::fs::write(
        fx.path("rules/broken.yml"),
        "title: broken\nid: 00000000-0000-4000-8000-0000000000f9\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|nosuchmodifier: x\n  condition: sel\n",
    )
    .unwrap();
    // Without --strict a rejection is reported, not an error.
    assert_eq!(kahu(&["rules", "check", &rules]).status.code(), Some(0));
    let strict = kahu(&["rules", "check", &rules, "--strict"]);
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict.stdout));
}

/// A rejected correlation counts among the errors ("0 errors" beside it
/// read as a clean set), the others stay usable, and `--json` gives it the
/// shape detection-rule rejections have.
#[test]
fn rules_check_counts_rejected_correlations_as_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("c.yml");
    std::fs::write(
        &rules,
        "title: failed logon
id: 33333333-0000-4000-8000-000000000001
name: failed_logon
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4625
  condition: sel
---
title: good
id: 33333333-0000-4000-8000-0000000000a1
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [IpAddress]
  timespan: 5m
  condition: {gte: 3}
---
title: bad
id: 33333333-0000-4000-8000-0000000000b1
correlation:
  type: event_count
  rules: [does_not_exist]
  timespan: 5m
  condition: {gte: 3}
",
    )
    .unwrap();
    let r = rules.to_str().unwrap();
    let out = kahu(&["rules", "check", r]);
    let t = text(&out.stdout);
    assert!(
        t.lines()
            .next()
            .unwrap()
            .contains("2 correlation rules (1 usable, 1 rejected), 0 filters, 1 errors"),
        "{t}"
    );
    let out = kahu(&["rules", "check", r, "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &j["correlation_rejected"][0];
    assert_eq!(c["rule_id"], "33333333-0000-4000-8000-0000000000b1", "{j}");
    assert_eq!(c["construct"], "correlation.rules[0]", "{j}");
    assert!(c["file"].as_str().unwrap().ends_with("c.yml"), "{j}");
    assert_eq!(
        kahu(&["rules", "check", r, "--strict"]).status.code(),
        Some(1)
    );
}

/// `--ioc-tlp` marks the indicators a feed leaves unmarked (a CSV marks
/// none): TLP:RED by default, the level given otherwise.
#[test]
fn ioc_tlp_marks_unmarked_feeds() {
    let fx = Fixture::new();
    std::fs::write(fx.path("feed.csv"), "value,type\n198.51.100.7,ipv4\n").unwrap();
    let tlp = |extra: &[&str]| -> Vec<String> {
        let out = fx.s("tlp.jsonl");
        let (rules, ev, feed) = (fx.s("rules"), fx.s("evidence"), fx.s("feed.csv"));
        let mut args = vec![
            "hunt",
            "-q",
            "--no-bundled-rules",
            "--rules",
            &rules,
            &ev,
            "--ioc",
            &feed,
            "-o",
            &out,
        ];
        args.extend(extra);
        ok(kahu(&args));
        jsonl(&fx.path("tlp.jsonl"))
            .iter()
            .filter(|f| f["kind"] == "ioc")
            .map(|f| field(f, "ioc_tlp").unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(tlp(&[]), ["TLP:RED"]);
    assert_eq!(tlp(&["--ioc-tlp", "TLP:GREEN"]), ["TLP:GREEN"]);
    let per_feed = format!("{}=TLP:AMBER", fx.s("feed.csv"));
    assert_eq!(tlp(&["--ioc-tlp", &per_feed]), ["TLP:AMBER"]);
    // A feed name that is no --ioc (a typo) is refused, not ignored: the
    // feed's indicators would stay TLP:RED while the analyst thinks them
    // marked.
    let typo = format!("{}=TLP:AMBER", fx.s("feeds.csv"));
    let (rules, ev, feed) = (fx.s("rules"), fx.s("evidence"), fx.s("feed.csv"));
    let out = kahu(&[
        "hunt",
        "-q",
        "--rules",
        &rules,
        &ev,
        "--ioc",
        &feed,
        "--ioc-tlp",
        &typo,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("feeds.csv, which is not given with --ioc (feeds: ")
            && err.contains("feed.csv"),
        "{err}"
    );
    // An --exclude-rule id no loaded rule has (a typo) leaves the noisy
    // rule running: said on stderr, not silent.
    let typo = kahu(&[
        "hunt",
        "--rules",
        &rules,
        &ev,
        "--exclude-rule",
        "no-such-rule-id",
    ]);
    assert!(
        text(&typo.stderr).contains(
            "--exclude-rule no-such-rule-id: no loaded rule has this id; nothing excluded"
        ),
        "{}",
        text(&typo.stderr)
    );
}

/// `events -o FILE` and `search -o FILE` write what they would print.
#[test]
fn events_and_search_write_to_a_file() {
    let fx = Fixture::new();
    let ev = fx.s("evidence");
    let printed = ok(kahu(&["events", "-q", &ev])).stdout;
    let file = fx.s("events.out");
    let out = ok(kahu(&["events", "-q", &ev, "-o", &file]));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert_eq!(std::fs::read(&file).unwrap(), printed);

    let printed = ok(kahu(&["search", "-q", &ev, "-k", "powershell"])).stdout;
    let file = fx.s("search.out");
    let out = ok(kahu(&[
        "search",
        "-q",
        &ev,
        "-k",
        "powershell",
        "-o",
        &file,
    ]));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert_eq!(std::fs::read(&file).unwrap(), printed);
    assert_eq!(text(&printed).lines().count(), 2);
}

/// `rules update --dir DIR` installs there, whatever `KAHU_RULES_DIR` says.
#[test]
fn rules_update_dir_chooses_the_folder() {
    let fx = Fixture::new();
    let dir = fx.path("installed");
    let out = ok(kahu(&[
        "rules",
        "update",
        "--from",
        &fx.s("rules"),
        "--dir",
        &dir.display().to_string(),
    ]));
    assert!(dir.join("manifest.json").is_file(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.join("rules/mimikatz.yml")).unwrap(),
        RULE
    );
    assert!(!Path::new("/nonexistent/kahu-flags-test").exists());
}

/// One HTTP request to `kahu serve`: status and body.
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    let code = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (code, body)
}

/// `serve --token-file FILE --user NAME`: only the file's tokens open the
/// case; a `TOKEN NAME` line makes NAME the author of what is done with it,
/// a bare `TOKEN` the server's analyst (`--user`).
#[test]
fn serve_token_file_and_user_name_the_authors() {
    use std::io::BufRead;
    let fx = Fixture::new();
    let case = assess(&fx, "case", &["--no-bundled-rules"]);
    const MAIN: &str = "flags-main-token-0123456789";
    const ALICE: &str = "flags-alice-token-0123456789";
    std::fs::write(
        fx.path("tokens"),
        format!("# analysts\n{MAIN}\n{ALICE} alice\n"),
    )
    .unwrap();
    let mut serve = Command::new(KAHU)
        .arg("serve")
        .arg(&case)
        .args(["--bind", "127.0.0.1:0", "--user", "server-analyst"])
        .arg("--token-file")
        .arg(fx.path("tokens"))
        .env_remove("KAHU_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let note = |token: Option<&str>, text: &str| {
        http(
            &addr,
            "POST",
            "/api/notes",
            token,
            &format!(r#"{{"target_kind":"event","target_id":"1","body":"{text}"}}"#),
        )
        .0
    };
    let codes = [
        note(None, "anonymous"),
        note(Some("flags-wrong-token-0123456789"), "wrong"),
        note(Some(MAIN), "by the server's analyst"),
        note(Some(ALICE), "by alice"),
    ];
    let (_, notes) = http(
        &addr,
        "GET",
        "/api/notes?target_kind=event&target_id=1",
        Some(ALICE),
        "",
    );
    serve.kill().ok();
    serve.wait().ok();
    assert_eq!(codes, [401, 401, 201, 201], "{notes}");
    let notes: serde_json::Value = serde_json::from_str(&notes).unwrap();
    let by = |text: &str| -> String {
        notes
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["body"] == text)
            .map(|n| n["author"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert_eq!(by("by alice"), "alice");
    assert_eq!(by("by the server's analyst"), "server-analyst");
    assert_eq!(notes.as_array().unwrap().len(), 2, "{notes}");
}

/// `--ioc-strict-validity` is offered only by the commands that read IOC
/// feeds; `metrics` and `search` listed it in their help and accepted it
/// without effect.
#[test]
fn ioc_strict_validity_is_offered_only_where_feeds_are_read() {
    for cmd in ["metrics", "search"] {
        let help = text(&kahu(&[cmd, "--help"]).stdout);
        assert!(!help.contains("--ioc-strict-validity"), "{cmd}: {help}");
    }
    for cmd in ["hunt", "assess"] {
        let help = text(&kahu(&[cmd, "--help"]).stdout);
        assert!(help.contains("--ioc-strict-validity"), "{cmd}");
    }
}

/// Zone-less syslog times are read as UTC unless `--syslog-offset` gives
/// the host's offset (a host logging in NZ summer time had its reverse
/// shell 13 hours before the logon that opened it). Times with a zone are
/// not moved.
#[test]
fn syslog_offset_moves_zone_less_times_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(
        &log,
        "Nov 29 02:50:05 web03 sshd[5002]: Accepted password for deploy from 185.191.171.12 port 40990 ssh2\n\
         2026-11-29T03:10:05.000+13:00 web03 sshd[5003]: Accepted password for deploy from 10.0.2.11 port 43210 ssh2\n",
    )
    .unwrap();
    let times = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["events", log.to_str().unwrap(), "-q"];
        args.extend_from_slice(extra);
        let out = kahu(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["timestamp"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    };
    let utc = times(&[]);
    let nz = times(&["--syslog-offset", "+13:00"]);
    assert!(utc[0].starts_with("2026-11-29T02:50:05"), "{utc:?}");
    assert!(nz[0].starts_with("2026-11-28T13:50:05"), "{nz:?}");
    assert_eq!(utc[1], nz[1], "a time with its own zone is not moved");
    assert!(nz[1].starts_with("2026-11-28T14:10:05"), "{nz:?}");
    let bad = kahu(&["events", log.to_str().unwrap(), "--syslog-offset", "13"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
}
