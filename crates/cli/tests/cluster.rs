//! `kahu hunt --cluster` on a Ballista cluster of separate `kahu`
//! processes on loopback (one `kahu cluster scheduler`, two `kahu cluster
//! executor`s) gives the timeline `kahu hunt` gives over the original
//! evidence, line for line; and an executor killed mid-query never leaves
//! a partial result reported as complete.
#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;

use common::{KAHU, convert, hunt_args, kahu, lines, ok, repo_rules, s, same_hunt};
use kahu_test_support::shared;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The cluster's processes, killed (and reaped) when the test ends, however
/// it ends.
struct Cluster {
    scheduler: String,
    children: Vec<(String, Child)>,
    logs: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A loopback port nothing listens on, with the next one free too (an
/// executor takes port and port + 1).
fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two free adjacent ports on loopback");
}

fn wait_listening(port: u16, what: &str, child: &mut Child) {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} not listening on {port} after 60 s");
}

impl Cluster {
    /// One scheduler and `executors` executors, one task slot each.
    fn start(executors: usize, dir: &Path) -> Cluster {
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).expect("logs");
        let spawn = |name: &str, args: &[String]| -> Child {
            let log = std::fs::File::create(logs.join(format!("{name}.log"))).expect("log");
            Command::new(KAHU)
                .arg("cluster")
                .args(args)
                .env("KAHU_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("kahu cluster starts")
        };
        let port = free_port_pair();
        let scheduler = format!("127.0.0.1:{port}");
        let mut cluster = Cluster {
            scheduler: scheduler.clone(),
            children: Vec::new(),
            logs: logs.clone(),
        };
        let mut child = spawn(
            "scheduler",
            &[
                "scheduler".into(),
                "--bind".into(),
                scheduler.clone(),
                "--executor-timeout".into(),
                "5".into(),
            ],
        );
        wait_listening(port, "scheduler", &mut child);
        cluster.children.push(("scheduler".into(), child));
        for i in 0..executors {
            let port = free_port_pair();
            let work = dir.join(format!("work{i}"));
            std::fs::create_dir_all(&work).expect("work dir");
            let name = format!("executor{i}");
            let mut child = spawn(
                &name,
                &[
                    "executor".into(),
                    "--scheduler".into(),
                    scheduler.clone(),
                    "--bind".into(),
                    format!("127.0.0.1:{port}"),
                    "--concurrency".into(),
                    "1".into(),
                    "--heartbeat".into(),
                    "1".into(),
                    "--work-dir".into(),
                    s(&work).into(),
                ],
            );
            wait_listening(port, &name, &mut child);
            cluster.children.push((name, child));
        }
        // Executors register with their first heartbeat.
        std::thread::sleep(Duration::from_secs(3));
        cluster
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.join(format!("{name}.log"))).unwrap_or_default()
    }
}

/// `kahu hunt` over `evidence` against `kahu hunt --cluster` over its
/// conversion: same summary counts, same timeline line for line.
fn compare(cluster: &Cluster, evidence: &Path, rules: &[&Path], tmp: &Path) -> serde_json::Value {
    let dir = tmp.join("parquet");
    convert(evidence, &dir, "2000");
    let (a, b) = (tmp.join("a.jsonl"), tmp.join("b.jsonl"));
    let embedded = ok(&kahu(&hunt_args(evidence, &a, rules)));
    let mut args = hunt_args(&dir, &b, rules);
    args.extend(["--cluster", &cluster.scheduler, "--partitions", "4"]);
    let out = kahu(&args);
    if !out.status.success() {
        panic!(
            "{}\nscheduler: {}\nexecutor0: {}",
            String::from_utf8_lossy(&out.stderr),
            cluster.log("scheduler"),
            cluster.log("executor0")
        );
    }
    let clustered = ok(&out);
    same_hunt(&embedded, &clustered, &a, &b);
    embedded
}

#[test]
fn a_two_executor_cluster_finds_what_hunt_finds_on_the_original_evidence() {
    let (Some(evtx), Some(mordor), Some(sigma)) = (
        shared("evtx/EVTX-ATTACK-SAMPLES"),
        shared("mordor/atomic/windows/lateral_movement"),
        shared("sigma/rules/windows"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::start(2, tmp.path());
    let rules = repo_rules();

    let evtx_tmp = tmp.path().join("evtx");
    std::fs::create_dir(&evtx_tmp).expect("mkdir");
    let summary = compare(&cluster, &evtx, &[&sigma, &rules], &evtx_tmp);
    assert!(summary["findings"].as_u64().expect("n") > 500, "{summary}");
    let timeline = lines(&evtx_tmp.join("b.jsonl"));
    // The original file, not the shard: an EVTX, or one of the samples'
    // web logs (kahu's web rules fire on the Tomcat access log since
    // session 19).
    assert!(
        timeline
            .iter()
            .all(|l| l.contains("EVTX-ATTACK-SAMPLES") && !l.contains(".parquet"))
    );
    assert!(timeline.iter().any(|l| l.contains(".evtx")));
    assert!(
        timeline.iter().any(|l| l.contains("\"related\"")),
        "no correlation finding in the timeline"
    );

    let mordor_tmp = tmp.path().join("mordor");
    std::fs::create_dir(&mordor_tmp).expect("mkdir");
    let summary = compare(&cluster, &mordor, &[&sigma], &mordor_tmp);
    assert!(summary["events"].as_u64().expect("n") > 50_000, "{summary}");
    assert!(summary["findings"].as_u64().expect("n") > 100, "{summary}");

    // Both executors took part: each wrote result files.
    for i in 0..2 {
        let work = tmp.path().join(format!("work{i}"));
        assert!(
            !kahu_test_support::files_under(&work).is_empty(),
            "executor{i} ran no task"
        );
    }
}

#[test]
fn an_executor_killed_mid_query_never_gives_a_partial_result_as_complete() {
    let (Some(mordor), Some(sigma)) = (
        shared("mordor/atomic/windows"),
        shared("sigma/rules/windows"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("parquet");
    convert(&mordor, &dir, "5000");
    let full = tmp.path().join("full.jsonl");
    let single = ok(&kahu(&hunt_args(&dir, &full, &[&sigma])));

    let mut cluster = Cluster::start(2, tmp.path());
    let partial = tmp.path().join("cluster.jsonl");
    let mut args: Vec<String> = hunt_args(&dir, &partial, &[&sigma])
        .into_iter()
        .map(String::from)
        .collect();
    args.extend([
        "--cluster".into(),
        cluster.scheduler.clone(),
        "--partitions".into(),
        "8".into(),
    ]);
    let client = Command::new(KAHU)
        .args(["--quiet", "--threads", "2"])
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("client starts");
    // Kill executor1 as soon as it writes its first result file: it is
    // running a task, and with 8 partitions on 2 one-slot executors the job
    // has more to do.
    let work = tmp.path().join("work1");
    let start = Instant::now();
    while kahu_test_support::files_under(&work).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "executor1 never ran a task: {}",
            cluster.log("executor1")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut client = client;
    assert!(
        client.try_wait().expect("client status").is_none(),
        "the query ended before the kill: nothing was tested"
    );
    let (_, victim) = &mut cluster.children[2];
    victim.kill().expect("kill executor1");
    let _ = victim.wait();
    let out = client.wait_with_output().expect("client ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        // Ballista ran the lost tasks again elsewhere: the result must be
        // complete — the single-node findings exactly.
        eprintln!("kill test: the hunt finished after the kill (lost tasks re-run)");
        let got = ok(&out);
        assert_eq!(got["events"], single["events"], "{got}");
        assert_eq!(got["findings"], single["findings"], "{got}");
        assert_eq!(lines(&partial), lines(&full));
    } else {
        // Or the query failed: a non-zero exit naming the cluster, and no
        // timeline written as if complete.
        eprintln!("kill test: the hunt failed after the kill: {stderr}");
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("Ballista cluster"), "{stderr}");
        assert!(
            !partial.exists(),
            "a timeline was written for a failed query"
        );
    }
}

/// `kahu assess` over `evidence` into `out` (extra flags after), with the
/// case name fixed so runs over different paths can be compared.
fn assess(evidence: &Path, out: &Path, rules: &[&Path], extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "assess",
        s(evidence),
        "--out",
        s(out),
        "--json",
        "--name",
        "cluster parity",
    ];
    for r in rules {
        args.extend(["--rules", s(r)]);
    }
    args.extend(extra);
    let out = kahu(&args);
    ok(&out)
}

/// An `assess --json` summary without what names this run rather than
/// what it found: the output folder, the files written there and the time
/// taken.
fn findings_summary(mut v: serde_json::Value) -> serde_json::Value {
    let m = v.as_object_mut().expect("summary object");
    for key in ["out", "written", "elapsed_seconds"] {
        assert!(m.remove(key).is_some(), "{key} in the summary");
    }
    v
}

/// Every product of an assessment but the case store, by name, as text,
/// with the instant of the run (`assessment.json`'s `generated_at`) blanked
/// wherever it is written (the report, the STIX bundle's `created` times):
/// it says when the run was, not what it found. So are the STIX report's
/// and bundle's ids, which kahu derives from that instant (each run is a
/// new STIX report: `crates/report/src/stix.rs`).
fn products(out: &Path) -> std::collections::BTreeMap<String, String> {
    let assessment: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("assessment.json")).unwrap()).unwrap();
    let at = assessment["generated_at"]
        .as_str()
        .expect("generated_at")
        .to_string();
    let when = chrono::DateTime::parse_from_rfc3339(&at).expect("rfc3339");
    // The instant as each product writes it.
    let forms = [
        at.clone(),
        when.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        when.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        when.format("%Y-%m-%d %H:%M").to_string(),
    ];
    let run_ids = regex::Regex::new(r"(bundle|report)--[0-9a-f-]{36}").unwrap();
    let mut map = std::collections::BTreeMap::new();
    for f in kahu_test_support::files_under(out) {
        let name = f.strip_prefix(out).unwrap().display().to_string();
        if name.starts_with("case.sqlite") {
            continue;
        }
        let mut text = String::from_utf8(std::fs::read(&f).unwrap()).unwrap();
        for form in &forms {
            text = text.replace(form.as_str(), "<generated_at>");
        }
        if name == "stix-bundle.json" {
            text = run_ids.replace_all(&text, "$1--<run>").into_owned();
        }
        map.insert(name, text);
    }
    map
}

/// The case store's bookkeeping counts and the events in it, row by row.
fn case_store(out: &Path) -> (String, u64) {
    let case = kahu_case::Case::open(out).unwrap();
    let summary = case.summary().unwrap();
    let mut rows = 0;
    case.for_each_event(&kahu_case::EventQuery::default(), |_, _| {
        rows += 1;
        true
    })
    .unwrap();
    (format!("{summary:?}"), rows)
}

/// Assert two assessments wrote the same products, naming the first that
/// differs and where.
fn same_products(a: &Path, b: &Path) {
    let (pa, pb) = (products(a), products(b));
    assert_eq!(
        pa.keys().collect::<Vec<_>>(),
        pb.keys().collect::<Vec<_>>(),
        "outputs written"
    );
    for (name, x) in &pa {
        let y = &pb[name];
        if x != y {
            let at = x
                .bytes()
                .zip(y.bytes())
                .position(|(p, q)| p != q)
                .unwrap_or(x.len().min(y.len()));
            let lo = at.saturating_sub(200);
            panic!(
                "{name} differs at byte {at}:\n single: {}\ncluster: {}",
                x.get(lo..(at + 200).min(x.len())).unwrap_or(""),
                y.get(lo..(at + 200).min(y.len())).unwrap_or("")
            );
        }
    }
}

/// `kahu assess --cluster` over the shards writes what `kahu assess` writes
/// over the same shards on one machine — findings, attribution,
/// containment lists, analytics, the assessment (all but the time it was
/// generated) and the case store — and the findings `kahu assess` writes
/// over the original evidence. The analytics, scope and case store come
/// from the client's local pass: the test fails if it were skipped (hosts,
/// accounts, lateral movement and stored events would be empty).
#[test]
fn assess_on_a_two_executor_cluster_writes_what_assess_writes_on_one_machine() {
    let (Some(evtx), Some(mordor), Some(sigma)) = (
        shared("evtx/EVTX-ATTACK-SAMPLES"),
        shared("mordor/atomic/windows/lateral_movement"),
        shared("sigma/rules/windows"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::start(2, tmp.path());
    let rules = repo_rules();
    let on_cluster = ["--cluster", cluster.scheduler.as_str(), "--partitions", "4"];

    // EVTX-ATTACK-SAMPLES, with the case store (every event, then
    // detected events only: the two passes run one after the other then).
    let dir = tmp.path().join("evtx-parquet");
    convert(&evtx, &dir, "2000");
    let rules_e: [&Path; 2] = [&sigma, &rules];
    let (single, clustered, original) = (
        tmp.path().join("evtx-single"),
        tmp.path().join("evtx-cluster"),
        tmp.path().join("evtx-original"),
    );
    let a = assess(&dir, &single, &rules_e, &[]);
    let b = assess(&dir, &clustered, &rules_e, &on_cluster);
    let events = a["events"].as_u64().expect("events");
    assert_eq!(findings_summary(a), findings_summary(b), "--json summaries");
    same_products(&single, &clustered);
    // Every event read is in the store (15,216 in EVTX-ATTACK-SAMPLES).
    let (summary, rows) = case_store(&single);
    assert_eq!(rows, events, "{summary}");
    assert_eq!(case_store(&clustered), (summary, rows));
    // The local pass ran: scope and lateral movement come from it.
    let assessment: serde_json::Value =
        serde_json::from_slice(&std::fs::read(clustered.join("assessment.json")).unwrap()).unwrap();
    for key in ["hosts", "accounts"] {
        let n = assessment["scope"][key].as_array().map_or(0, Vec::len);
        assert!(n > 3, "scope.{key}: {n}");
    }
    // Over the original EVTX files: the same findings, line for line.
    assess(&evtx, &original, &rules_e, &["--no-case"]);
    let findings = |d: &Path| lines(&d.join("findings.jsonl"));
    assert!(findings(&single).len() > 500);
    assert_eq!(findings(&original), findings(&clustered));

    let (single_d, clustered_d) = (
        tmp.path().join("evtx-single-detected"),
        tmp.path().join("evtx-cluster-detected"),
    );
    let detected = ["--case-events", "detected"];
    assess(&dir, &single_d, &rules_e, &detected);
    let mut args = detected.to_vec();
    args.extend(on_cluster);
    assess(&dir, &clustered_d, &rules_e, &args);
    let (summary_d, rows_d) = case_store(&single_d);
    assert!(rows_d > 100 && rows_d < rows, "{summary_d}");
    assert_eq!(case_store(&clustered_d), (summary_d, rows_d));

    // A Mordor set, without case stores (time), with an indicator: the
    // address of a lab workstation in the set's Windows Security logs
    // (`SourceAddress` 172.18.39.5), matched in the client's local pass.
    let dir = tmp.path().join("mordor-parquet");
    convert(&mordor, &dir, "2000");
    let feed = tmp.path().join("feed.txt");
    std::fs::write(&feed, "172.18.39.5\n").unwrap();
    let (single, clustered, original) = (
        tmp.path().join("mordor-single"),
        tmp.path().join("mordor-cluster"),
        tmp.path().join("mordor-original"),
    );
    let mut args = vec!["--no-case", "--ioc", s(&feed)];
    let a = assess(&dir, &single, &[&sigma], &args);
    let base = args.clone();
    args.extend(on_cluster);
    let b = assess(&dir, &clustered, &[&sigma], &args);
    assert_eq!(
        findings_summary(a.clone()),
        findings_summary(b),
        "--json summaries"
    );
    same_products(&single, &clustered);
    assert!(a["events"].as_u64().expect("events") > 50_000, "{a}");
    assess(&mordor, &original, &[&sigma], &base);
    assert_eq!(findings(&original), findings(&clustered));
    let ioc = findings(&clustered)
        .iter()
        .filter(|l| l.contains("\"kind\":\"ioc\""))
        .count();
    assert!(ioc > 0, "no indicator finding");
    let analytics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(clustered.join("analytics.json")).unwrap()).unwrap();
    assert!(
        analytics.to_string().len() > 1000,
        "analytics.json nearly empty: {analytics}"
    );
}

/// All of `mordor/atomic` (≈ 680k events, Windows and Linux sets) through
/// the cluster, against `kahu hunt` over the original evidence: minutes of
/// CPU in the dev profile, so only with `KAHU_CLUSTER_FULL=1`
/// (`bench/cluster.sh` runs the same comparison with timings).
#[test]
fn all_of_mordor_atomic_through_the_cluster_when_asked() {
    if std::env::var_os("KAHU_CLUSTER_FULL").is_none_or(|v| v != "1") {
        eprintln!("SKIP: set KAHU_CLUSTER_FULL=1 to hunt all of mordor/atomic on the cluster");
        return;
    }
    let (Some(mordor), Some(sigma)) = (shared("mordor/atomic"), shared("sigma/rules/windows"))
    else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::start(2, tmp.path());
    let summary = compare(&cluster, &mordor, &[&sigma], tmp.path());
    assert!(
        summary["events"].as_u64().expect("n") > 600_000,
        "{summary}"
    );
}

/// `kahu hunt --cluster` and `kahu assess --cluster` over a `file://` URL:
/// the executors (on this machine) read the shards through object_store's
/// local file system store, as they read `s3://` through the S3 store each
/// opens from its own AWS environment (scripts/test-object-store.sh); the
/// client's footers, its local pass (copies made by `kahu-remote`) and
/// its findings are those of the same shards as a folder. A prefix with
/// nothing under it is an error naming it, before any job is submitted.
#[cfg(feature = "object-store")]
#[test]
fn the_cluster_reads_shards_from_a_file_url_as_from_the_folder() {
    let (Some(evtx), Some(sigma)) = (
        shared("evtx/EVTX-ATTACK-SAMPLES/Lateral Movement"),
        shared("sigma/rules/windows"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::start(2, tmp.path());
    let rules = repo_rules();
    let dir = tmp.path().join("parquet");
    convert(&evtx, &dir, "200");
    let url = format!("file://{}/", s(&dir));
    let on_cluster = ["--cluster", cluster.scheduler.as_str(), "--partitions", "4"];

    let hunt = |evidence: &str, timeline: &Path| {
        let mut args = vec!["hunt", evidence, "-o", s(timeline), "--json"];
        args.extend(["--rules", s(&sigma), "--rules", s(&rules)]);
        args.extend(on_cluster);
        let out = kahu(&args);
        if !out.status.success() {
            panic!(
                "{}\nexecutor0: {}",
                String::from_utf8_lossy(&out.stderr),
                cluster.log("executor0")
            );
        }
        ok(&out)
    };
    let (a, b, c) = (
        tmp.path().join("a.jsonl"),
        tmp.path().join("b.jsonl"),
        tmp.path().join("c.jsonl"),
    );
    let folder = hunt(s(&dir), &a);
    let store = hunt(&url, &b);
    assert_eq!(folder["files"], store["files"]);
    same_hunt(&folder, &store, &a, &b);
    assert!(folder["findings"].as_u64().expect("n") > 20, "{folder}");
    // And the embedded engine over the original EVTX files.
    ok(&kahu(&hunt_args(&evtx, &c, &[&sigma, &rules])));
    assert!(
        lines(&a) == lines(&c),
        "the cluster's timeline differs from hunt's"
    );

    let (x, y) = (
        tmp.path().join("assess-folder"),
        tmp.path().join("assess-url"),
    );
    let extra = ["--no-case", "--cluster", cluster.scheduler.as_str()];
    assess(&dir, &x, &[&sigma], &extra);
    assess(Path::new(&url), &y, &[&sigma], &extra);
    for name in ["findings.jsonl", "analytics.json", "attribution.json"] {
        let read = |d: &Path| std::fs::read_to_string(d.join(name)).expect(name);
        assert!(read(&x) == read(&y), "{name} differs");
    }

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let missing = format!("file://{}/", s(&empty));
    let mut args = vec!["hunt", missing.as_str(), "--json"];
    args.extend(on_cluster);
    let out = kahu(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&missing) && err.contains("no object under this prefix"),
        "{err}"
    );
}
