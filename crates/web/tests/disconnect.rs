//! A search whose client disconnects is stopped at once (its SQLite
//! statement interrupted), not left to occupy a reader until it ends.
//! Its own test binary: it installs the process-wide log subscriber that
//! shows why a query was stopped.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use axum::body::Body;
use axum::http::StatusCode;
use kahu_case::Case;
use kahu_web::ServeConfig;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::{get, send};

/// The log lines the server writes, captured.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn count(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .matches(needle)
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_whose_client_leaves_is_interrupted() {
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let opts = kahu_case::synth::SynthOptions {
        events: 250_000,
        hosts: 4,
        documents: false,
        ..Default::default()
    };
    kahu_case::synth::build(&mut case, &opts).unwrap();
    drop(case);
    // As many prefix terms as a search may have, each matching most events
    // (field names and values of the synthetic Windows events), so no term
    // lets the full-text index stop early.
    let letters = "stcwaneu";
    let heavy = letters
        .chars()
        .cycle()
        .take(kahu_web::MAX_SEARCH_TERMS)
        .map(|c| format!("{c}*"))
        .collect::<Vec<_>>()
        .join("+");
    let heavy = format!("/api/events?q={heavy}");

    let build = |limit: Duration| {
        let mut cfg = ServeConfig::new(dir.path());
        cfg.bind = "127.0.0.1:0".parse().unwrap();
        cfg.query_time_limit = limit;
        kahu_web::build(cfg).unwrap()
    };

    // Calibration: how long the search takes on this machine when nothing
    // stops it (the faster of two runs, the second with a warm cache).
    let app = build(Duration::from_secs(600));
    let mut full = Duration::MAX;
    for _ in 0..2 {
        let t = Instant::now();
        let (s, _, body) = send(&app, get(&heavy).body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        full = full.min(t.elapsed());
    }
    assert!(
        full >= Duration::from_millis(400),
        "the search takes only {full:?} here: too fast to test stopping it (grow the case)"
    );
    let early = full / 4;
    drop(app);

    // The time limit stops it (the watchdog looks every 100 ms).
    let app = build(early);
    let (s, _, body) = send(&app, get(&heavy).body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(log.count("reason=\"time limit\""), 1);
    drop(app);

    // The client gives up a quarter of the way through (the request
    // future is dropped, as axum drops it when the connection closes); the
    // time limit is far. Unstopped, the search would end without a log
    // line; stopped, it logs that its client left.
    let app = build(Duration::from_secs(600));
    let left =
        tokio::time::timeout(early, send(&app, get(&heavy).body(Body::empty()).unwrap())).await;
    assert!(left.is_err(), "the search answered within {early:?}");
    let t = Instant::now();
    while log.count("reason=\"client left\"") == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the search went on after its client left"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The readers are free again: a small query answers.
    let (s, _, body) = send(
        &app,
        get("/api/events?limit=1").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}
