//! `kahu serve` on a case whose bulk load left the full-text index out (as
//! `kahu assess` does): the server builds it in the background, a search
//! waits for it, and `/api/case` says when it is done.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use kahu_case::{Case, EncodedEvent};
use kahu_event::{Event, Location, Provenance, Value};
use std::sync::Arc;
use tower::ServiceExt;

async fn get_json(app: &kahu_web::App, uri: &str) -> (StatusCode, serde_json::Value) {
    let req = Request::get(uri)
        .header(header::HOST, "127.0.0.1:8080")
        .body(Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_on_a_freshly_assessed_case_waits_for_the_index() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut case = Case::create(dir.path()).unwrap();
        let mut w = case.bulk_writer().unwrap();
        for i in 0..3000u64 {
            let mut e = Event::new(Provenance::new(Arc::from("a.log"), Location::Line(i)));
            let msg = if i == 2345 {
                "needle-term found".to_string()
            } else if i == 7 {
                // More distinct words than an event's index budget holds.
                (0..30_000).map(|w| format!("w{w:05} ")).collect()
            } else {
                format!("ordinary line {i}")
            };
            e.fields.insert("Message", Value::str(&msg));
            w.add_encoded(&EncodedEvent::without_full_text(&e).unwrap())
                .unwrap();
        }
        w.finish().unwrap();
        assert!(case.index_backlog().unwrap().is_some());
    }
    let mut cfg = kahu_web::ServeConfig::new(dir.path());
    cfg.bind = "127.0.0.1:0".parse().unwrap();
    let app = kahu_web::build(cfg).unwrap();
    let (s, v) = get_json(&app, "/api/events?q=needle-term").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rows = v["events"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    // The search waited for the build, so the case now says it is done.
    let (s, v) = get_json(&app, "/api/case").await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["indexing"].is_null(), "{v}");
    // The event indexed only in part is counted, with the word that lists
    // it, and that search finds it.
    assert_eq!(v["indexed_in_part"], 1, "{v}");
    let word = v["indexed_in_part_word"].as_str().unwrap().to_string();
    let (_, v) = get_json(&app, &format!("/api/events?q={word}")).await;
    assert_eq!(v["events"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(
        Case::open(dir.path()).unwrap().index_backlog().unwrap(),
        None
    );
}

/// A host forged with a NUL (`HOST-NUL\0HIDDEN`) was listed in the facets
/// but filtering the timeline to it was HTTP 400, while findings and the
/// process tree took it (probe 18). Names are bound as SQLite parameters
/// and carry a NUL; only a search (FTS5 stops at one) refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_with_a_nul_can_be_filtered_to() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut case = Case::create(dir.path()).unwrap();
        let mut w = case.writer().unwrap();
        for (i, host) in ["HOST-NUL\0HIDDEN", "HOST-NUL", "WS01"].iter().enumerate() {
            let mut e = Event::new(Provenance::new(
                Arc::from("a.log"),
                Location::Line(i as u64),
            ));
            e.host = Some(Arc::from(*host));
            e.fields.insert("Message", Value::str("x"));
            w.add_event(&e).unwrap();
        }
        w.finish().unwrap();
    }
    let mut cfg = kahu_web::ServeConfig::new(dir.path());
    cfg.bind = "127.0.0.1:0".parse().unwrap();
    let app = kahu_web::build(cfg).unwrap();
    let (s, v) = get_json(&app, "/api/events?host=HOST-NUL%00HIDDEN").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rows = v["events"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["host"], "HOST-NUL\u{0}HIDDEN", "{v}");
    let (s, _) = get_json(&app, "/api/events?q=a%00b").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
