//! A search whose client disconnects is stopped at once (its SQLite
//! statement interrupted), not left to occupy a reader until it ends.
//! Its own test binary: it installs the process-wide log subscriber that
//! shows why a query was stopped.

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
        events: 150_000,
        hosts: 4,
        documents: false,
        ..Default::default()
    };
    kahu_case::synth::build(&mut case, &opts).unwrap();
    drop(case);
    // As many prefix terms as a search may have: each matches most events.
    let letters = "abcdefghijklmnopqrstuvwxyz0123456789";
    let heavy = letters
        .chars()
        .cycle()
        .take(kahu_web::MAX_SEARCH_TERMS)
        .map(|c| format!("{c}*"))
        .collect::<Vec<_>>()
        .join("+");
    let heavy = format!("/api/events?q={heavy}");

    // Calibration: under a 1 s limit the search is stopped by the limit,
    // so it runs for longer than the 200 ms the client waits below.
    let mut cfg = ServeConfig::new(dir.path());
    cfg.bind = "127.0.0.1:0".parse().unwrap();
    cfg.query_time_limit = Duration::from_secs(1);
    let app = kahu_web::build(cfg).unwrap();
    let (s, _, body) = send(&app, get(&heavy).body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(log.count("reason=\"time limit\""), 1);
    drop(app);

    // The client gives up after 200 ms (the request future is dropped, as
    // axum drops it when the connection closes); the time limit is far.
    let mut cfg = ServeConfig::new(dir.path());
    cfg.bind = "127.0.0.1:0".parse().unwrap();
    cfg.query_time_limit = Duration::from_secs(600);
    let app = kahu_web::build(cfg).unwrap();
    let left = tokio::time::timeout(
        Duration::from_millis(200),
        send(&app, get(&heavy).body(Body::empty()).unwrap()),
    )
    .await;
    assert!(left.is_err(), "the search answered within 200 ms");
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
