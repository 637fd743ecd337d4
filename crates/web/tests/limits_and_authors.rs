//! `kahu serve` limits and identities: malformed or oversized searches are
//! refused (400), a query past the time limit is stopped (503), the audit
//! author is bound to the token, the token cookie is per port, and
//! concurrent disputes never leave a stale attribution.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kahu_case::{Case, DisputedEvidence};
use kahu_web::{App, Reattribute, ServeConfig};
use std::sync::Arc;

mod common;
use common::{csrf_of, get, send};

fn make_case() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let opts = kahu_case::synth::SynthOptions {
        events: 300,
        hosts: 2,
        ..Default::default()
    };
    kahu_case::synth::build(&mut case, &opts).unwrap();
    dir
}

fn config(dir: &std::path::Path) -> ServeConfig {
    let mut cfg = ServeConfig::new(dir);
    cfg.bind = "127.0.0.1:0".parse().unwrap();
    cfg.default_user = "tester".into();
    cfg
}

#[tokio::test]
async fn nul_bytes_and_too_many_search_terms_are_bad_requests() {
    let dir = make_case();
    let app = kahu_web::build(config(dir.path())).unwrap();
    let (s, _, body) = send(
        &app,
        get("/api/events?q=a%00b").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let many = vec!["a*"; kahu_web::MAX_SEARCH_TERMS + 1].join("+");
    let (s, _, body) = send(
        &app,
        get(&format!("/api/events?q={many}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("at most"), "{body}");
    let enough = vec!["cmd"; kahu_web::MAX_SEARCH_TERMS].join("+");
    let (s, _, body) = send(
        &app,
        get(&format!("/api/events?q={enough}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_query_past_the_time_limit_is_stopped() {
    let dir = make_case();
    let mut cfg = config(dir.path());
    cfg.query_time_limit = std::time::Duration::ZERO;
    let app = kahu_web::build(cfg).unwrap();
    let (s, _, body) = send(&app, get("/api/events?q=cmd*").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("stopped"), "{body}");
}

async fn note_author(app: &App, extra: &[(&str, &str)]) -> String {
    let (_, _, html) = send(app, {
        let mut r = get("/");
        for (k, v) in extra.iter().filter(|(k, _)| *k == "authorization") {
            r = r.header(*k, *v);
        }
        r.body(Body::empty()).unwrap()
    })
    .await;
    let mut req = Request::post("/api/notes")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-csrf-token", csrf_of(&html));
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let (s, _, body) = send(
        app,
        req.body(Body::from(
            r#"{"target_kind":"event","target_id":"1","body":"looked"}"#,
        ))
        .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["author"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_audit_author_is_bound_to_the_token_not_chosen_by_the_client() {
    let dir = make_case();
    let app = kahu_web::build(config(dir.path())).unwrap();
    // No token: the server's analyst, with the claimed name beside it.
    assert_eq!(
        note_author(&app, &[("x-kahu-user", "mallory")]).await,
        "tester (as mallory)"
    );
    assert_eq!(note_author(&app, &[]).await, "tester");
    // The UI percent-encodes the name (a header is Latin-1 only: "Māui"
    // made every API call fail in the browser, "Zoë" was dropped).
    assert_eq!(
        note_author(&app, &[("x-kahu-user", "M%C4%81ui%20Tane")]).await,
        "tester (as Māui Tane)"
    );
    // Tokens bound to analysts.
    let mut cfg = config(dir.path());
    cfg.token = Some("SERVERTOKEN-0123456789".into());
    cfg.analyst_tokens = vec![("ALICETOKEN-0123456789".into(), "alice".into())];
    let app = kahu_web::build(cfg).unwrap();
    let alice = [
        ("authorization", "Bearer ALICETOKEN-0123456789"),
        ("x-kahu-user", "alice"),
    ];
    assert_eq!(note_author(&app, &alice).await, "alice");
    let pretending = [
        ("authorization", "Bearer ALICETOKEN-0123456789"),
        ("x-kahu-user", "tester"),
    ];
    assert_eq!(note_author(&app, &pretending).await, "alice (as tester)");
    let server = [("authorization", "Bearer SERVERTOKEN-0123456789")];
    assert_eq!(note_author(&app, &server).await, "tester");
}

#[tokio::test]
async fn the_token_cookie_is_named_for_the_port() {
    let dir = make_case();
    let mut cfg = config(dir.path());
    cfg.bind = "0.0.0.0:0".parse().unwrap();
    let app = kahu_web::build(cfg).unwrap();
    let token = app.token.clone().unwrap();
    let (s, h, _) = send(
        &app,
        Request::get(format!("/?token={token}"))
            .header(header::HOST, "10.0.0.1:9999")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let cookie = h[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("kahu_token_9999="), "{cookie}");
    // The cookie another port's server set is not this server's.
    let (s, _, _) = send(
        &app,
        Request::get("/api/case")
            .header(header::HOST, "10.0.0.1:9999")
            .header(header::COOKIE, format!("kahu_token_8080={token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// Stores how many disputes were active when it ran, slowly, so that two
/// recomputes overlap if the store lets them.
struct CountDisputes;
impl Reattribute for CountDisputes {
    fn recompute(
        &self,
        _case: &Case,
        disputed: &[DisputedEvidence],
    ) -> anyhow::Result<serde_json::Value> {
        std::thread::sleep(std::time::Duration::from_millis(20));
        Ok(serde_json::json!({ "active_disputes": disputed.len() }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_disputes_never_leave_a_stale_attribution() {
    let dir = make_case();
    let mut cfg = config(dir.path());
    cfg.reattribute = Some(Arc::new(CountDisputes));
    let app = Arc::new(kahu_web::build(cfg).unwrap());
    let (_, _, html) = send(&app, get("/").body(Body::empty()).unwrap()).await;
    let csrf = csrf_of(&html);
    const N: usize = 12;
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let app = app.clone();
            let csrf = csrf.clone();
            tokio::spawn(async move {
                let body =
                    format!(r#"{{"target_kind":"technique","target_id":"T{i}","reason":"noise"}}"#);
                let (s, _, b) = send(
                    &app,
                    Request::post("/api/disputes")
                        .header(header::HOST, "127.0.0.1:8080")
                        .header(header::CONTENT_TYPE, "application/json")
                        .header("x-csrf-token", csrf)
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await;
                assert_eq!(s, StatusCode::CREATED, "{b}");
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let (_, _, a) = send(&app, get("/api/attribution").body(Body::empty()).unwrap()).await;
    let a: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(a["document"]["body"]["active_disputes"], N);
}
