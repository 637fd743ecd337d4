//! `/api/events` with an injected timeline index (what `kahu serve` built
//! with DataFusion injects: the Parquet timeline): used for the queries
//! routed to it, SQLite otherwise, and SQLite with the reason when the
//! index fails.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use axum::body::Body;
use axum::http::StatusCode;
use kahu_case::{Case, Cursor, EventQuery, IndexExtent, Routing, TimelineIndex};
use kahu_web::ServeConfig;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

mod common;
use common::{get, send};

/// An index that finds pages with SQLite itself (so its answers are right
/// by construction) and counts its calls, or fails when `broken`.
struct Mirror {
    case: Mutex<Case>,
    calls: AtomicUsize,
    broken: bool,
}

impl TimelineIndex for Mirror {
    fn name(&self) -> &'static str {
        "parquet"
    }
    fn extent(&self) -> Result<IndexExtent, String> {
        self.case
            .lock()
            .unwrap()
            .timeline_extent()
            .map_err(|e| e.to_string())
    }
    fn page_keys(&self, q: &EventQuery, limit: usize) -> Result<Vec<Cursor>, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.broken {
            return Err("part-00000.parquet: corrupt footer".into());
        }
        let q = EventQuery { limit, ..q.clone() };
        let page = self
            .case
            .lock()
            .unwrap()
            .query_events(&q)
            .map_err(|e| e.to_string())?;
        Ok(page
            .events
            .iter()
            .map(|e| Cursor {
                ts: e.ts.unwrap_or(kahu_case::NO_TIME),
                id: e.id,
            })
            .collect())
    }
    fn routing(&self) -> Routing {
        Routing {
            min_events: 0,
            common_term_matches: 1,
        }
    }
}

fn make_case() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let opts = kahu_case::synth::SynthOptions {
        events: 800,
        hosts: 3,
        ..Default::default()
    };
    kahu_case::synth::build(&mut case, &opts).unwrap();
    dir
}

async fn events(app: &kahu_web::App, query: &str) -> Value {
    let (s, _, body) = send(
        app,
        get(&format!("/api/events?{query}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn ids(v: &Value) -> Vec<i64> {
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_injected_index_answers_routed_queries_and_sqlite_the_rest() {
    let dir = make_case();
    let mirror = Arc::new(Mirror {
        case: Mutex::new(Case::open_read_only(dir.path()).unwrap()),
        calls: AtomicUsize::new(0),
        broken: false,
    });
    let mut cfg = ServeConfig::new(dir.path());
    cfg.timeline_index = Some(mirror.clone());
    let app = kahu_web::build(cfg).unwrap();
    let plain = kahu_web::build(ServeConfig::new(dir.path())).unwrap();

    let routed = "q=svc_sql&host=WS01.corp.local&limit=7";
    let a = events(&app, routed).await;
    assert_eq!(a["backend"], "parquet", "{a}");
    assert!(a.get("fallback").is_none(), "{a}");
    assert_eq!(mirror.calls.load(Ordering::SeqCst), 1);
    let b = events(&plain, routed).await;
    assert_eq!(b["backend"], "sqlite");
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(ids(&a).len(), 7);
    assert_eq!(a["next"], b["next"]);
    // The next page through the cursor, also routed.
    let next = a["next"].as_str().unwrap();
    let a2 = events(&app, &format!("{routed}&cursor={next}")).await;
    let b2 = events(&plain, &format!("{routed}&cursor={next}")).await;
    assert_eq!(
        (a2["backend"].as_str(), ids(&a2)),
        (Some("parquet"), ids(&b2))
    );

    // Not the measured shape (no term; a rule filter; a non-ASCII term):
    // SQLite, and no fallback, since the index was not expected to answer.
    for q in [
        "q=caf%C3%A9",
        "host=WS01.corp.local",
        "rule=x&q=svc_sql&host=WS01.corp.local",
    ] {
        let v = events(&app, q).await;
        assert_eq!(v["backend"], "sqlite", "{q}: {v}");
        assert!(v.get("fallback").is_none(), "{q}: {v}");
    }
    assert_eq!(mirror.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failing_index_falls_back_to_sqlite_with_the_reason() {
    let dir = make_case();
    let mirror = Arc::new(Mirror {
        case: Mutex::new(Case::open_read_only(dir.path()).unwrap()),
        calls: AtomicUsize::new(0),
        broken: true,
    });
    let mut cfg = ServeConfig::new(dir.path());
    cfg.timeline_index = Some(mirror.clone());
    let app = kahu_web::build(cfg).unwrap();
    let plain = kahu_web::build(ServeConfig::new(dir.path())).unwrap();
    let q = "q=svc_sql&host=WS01.corp.local";
    let a = events(&app, q).await;
    assert_eq!(a["backend"], "sqlite");
    let reason = a["fallback"].as_str().unwrap();
    assert!(reason.contains("corrupt footer"), "{reason}");
    assert_eq!(ids(&a), ids(&events(&plain, q).await));
    assert_eq!(mirror.calls.load(Ordering::SeqCst), 1);
}
