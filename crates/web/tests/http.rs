//! HTTP behaviour of the router: access token, CSRF and cross-site
//! refusal, security headers, inert evidence, analyst writes.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kahu_case::{Case, DisputedEvidence, EventQuery};
use kahu_web::{App, Reattribute, ServeConfig};
use std::net::SocketAddr;
use std::sync::Arc;

mod common;
use common::{csrf_of, get, send};

fn make_case() -> tempfile::TempDir {
    make_case_of(600)
}

/// A synthetic case of `events` events over three hosts.
fn make_case_of(events: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let opts = kahu_case::synth::SynthOptions {
        events,
        hosts: 3,
        ..Default::default()
    };
    kahu_case::synth::build(&mut case, &opts).unwrap();
    dir
}

fn app(dir: &std::path::Path, bind: &str) -> App {
    let mut cfg = ServeConfig::new(dir);
    cfg.bind = bind.parse::<SocketAddr>().unwrap();
    cfg.default_user = "tester".into();
    kahu_web::build(cfg).unwrap()
}

#[tokio::test]
async fn token_is_required_off_loopback() {
    let dir = make_case();
    let app = app(dir.path(), "0.0.0.0:0");
    let token = app
        .token
        .clone()
        .expect("a token is generated for a non-loopback bind");
    assert_eq!(token.len(), 64);
    let (s, _, _) = send(&app, get("/api/case").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = send(&app, get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = send(
        &app,
        get("/api/case")
            .header(header::AUTHORIZATION, "Bearer nope")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, body) = send(
        &app,
        get("/api/case")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // ?token= is traded for an HttpOnly cookie and removed from the URL.
    let (s, h, _) = send(
        &app,
        get(&format!("/?token={token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(h[header::LOCATION], "/");
    let cookie = h[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let (s, _, html) = send(
        &app,
        get("/")
            .header(header::COOKIE, pair)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("kahu-csrf"));
    let (s, _, _) = send(&app, get("/?token=wrong").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn loopback_needs_no_token_but_rejects_foreign_host_names() {
    let dir = make_case();
    let app = app(dir.path(), "127.0.0.1:0");
    assert!(app.token.is_none());
    let (s, _, _) = send(&app, get("/api/case").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = send(
        &app,
        Request::get("/api/case")
            .header(header::HOST, "localhost:9")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // DNS rebinding: a hostile name resolved to 127.0.0.1.
    let (s, _, _) = send(
        &app,
        Request::get("/api/case")
            .header(header::HOST, "evil.example:8080")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn security_headers_are_strict() {
    let dir = make_case();
    let app = app(dir.path(), "127.0.0.1:0");
    for uri in ["/", "/api/events", "/static/app.js", "/no/such/page"] {
        let (_, h, _) = send(&app, get(uri).body(Body::empty()).unwrap()).await;
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{uri}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{uri}: {csp}"
        );
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    }
    let (_, _, html) = send(&app, get("/").body(Body::empty()).unwrap()).await;
    assert!(!html.contains("<script>"), "no inline script in the page");
    assert!(html.contains("<script src=\"/static/app.js\""));
}

#[tokio::test]
async fn cross_site_and_tokenless_posts_are_rejected() {
    let dir = make_case();
    let app = app(dir.path(), "127.0.0.1:0");
    let (_, _, html) = send(&app, get("/").body(Body::empty()).unwrap()).await;
    let csrf = csrf_of(&html);
    let note = r#"{"target_kind":"event","target_id":"1","body":"pwned"}"#;
    let post = || {
        Request::post("/api/notes")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::CONTENT_TYPE, "application/json")
    };
    // A cross-site form/fetch: browsers send Origin and Sec-Fetch-Site.
    let (s, _, _) = send(
        &app,
        post()
            .header(header::ORIGIN, "http://evil.example")
            .header("sec-fetch-site", "cross-site")
            .header("x-csrf-token", &csrf)
            .body(Body::from(note))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = send(
        &app,
        post()
            .header(header::ORIGIN, "http://evil.example")
            .header("x-csrf-token", &csrf)
            .body(Body::from(note))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = send(
        &app,
        post()
            .header(header::ORIGIN, "http://127.0.0.1:8080")
            .body(Body::from(note))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no CSRF token");
    let (s, _, _) = send(
        &app,
        post()
            .header("x-csrf-token", "0".repeat(64))
            .body(Body::from(note))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "wrong CSRF token");
    let (s, _, body) = send(
        &app,
        post()
            .header(header::ORIGIN, "http://127.0.0.1:8080")
            .header("sec-fetch-site", "same-origin")
            .header("x-csrf-token", &csrf)
            .header("x-kahu-user", "Dana Scully")
            .body(Body::from(
                r#"{"target_kind":"event","target_id":"1","body":"looks like lateral movement"}"#,
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let case = Case::open(dir.path()).unwrap();
    let notes = case.notes(None).unwrap();
    assert_eq!(notes.len(), 1, "only the same-origin note was stored");
    // The browser's name is recorded beside the server's analyst, never
    // instead of it.
    assert_eq!(notes[0].author, "tester (as Dana Scully)");
    assert_eq!(case.audit_log(1).unwrap()[0].who, "tester (as Dana Scully)");
}

#[tokio::test]
async fn xss_payloads_come_back_as_inert_data() {
    let dir = make_case();
    let id = {
        let case = Case::open(dir.path()).unwrap();
        let q = EventQuery {
            text: Some("kahuxssmarker".into()),
            ..Default::default()
        };
        case.query_events(&q).unwrap().events[0].id
    };
    let app = app(dir.path(), "127.0.0.1:0");
    let (s, h, body) = send(
        &app,
        get(&format!("/api/events/{id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["fields"]["CommandLine"],
        kahu_case::synth::XSS_PAYLOADS[0]
    );
    assert_eq!(v["fields"]["Image"], kahu_case::synth::XSS_PAYLOADS[1]);
    // The UI inserts data with textContent only.
    let (_, _, js) = send(&app, get("/static/app.js").body(Body::empty()).unwrap()).await;
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
    ] {
        assert!(!js.contains(sink), "app.js uses {sink}");
    }
    // The CSV export defuses spreadsheet formulas and keeps the payload as text.
    let (s, h, csv) = send(
        &app,
        get("/api/export.csv?q=kahuxssmarker")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("<script>alert('kahu-xss')</script>"));
}

#[tokio::test]
async fn timeline_api_filters_and_pages() {
    let dir = make_case();
    let app = app(dir.path(), "127.0.0.1:0");
    let (s, _, body) = send(
        &app,
        get("/api/events?host=DC01.corp.local&limit=10")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let rows = v["events"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|r| r["host"] == "DC01.corp.local"));
    let next = v["next"].as_str().unwrap();
    let (_, _, body2) = send(
        &app,
        get(&format!(
            "/api/events?host=DC01.corp.local&limit=10&cursor={next}"
        ))
        .body(Body::empty())
        .unwrap(),
    )
    .await;
    let v2: serde_json::Value = serde_json::from_str(&body2).unwrap();
    assert!(v2["events"][0]["id"] != rows[9]["id"]);
    let (s, _, _) = send(
        &app,
        get("/api/events?level=severe").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, body) = send(
        &app,
        get("/api/histogram?buckets=24&from=2021-03-04T00:00:00Z&to=2021-03-05T00:00:00Z")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let h: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h["counts"].as_array().unwrap().len(), 24);
    assert_eq!(h["bucket_us"], 3_600_000_000i64);
    let (_, _, m) = send(&app, get("/api/attack-matrix").body(Body::empty()).unwrap()).await;
    let m: serde_json::Value = serde_json::from_str(&m).unwrap();
    let cred = m["tactics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "credential-access")
        .unwrap();
    let ids: Vec<&str> = cred["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["T1003.001", "T1003.002"]);
}

#[tokio::test]
async fn case_files_are_whitelisted_and_the_report_is_sandboxed() {
    let dir = make_case();
    std::fs::write(
        dir.path().join("report.html"),
        "<html><script>1</script></html>",
    )
    .unwrap();
    let app = app(dir.path(), "127.0.0.1:0");
    let (s, h, _) = send(&app, get("/files/report.html").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    for bad in [
        "/files/case.sqlite",
        "/files/..%2Fcase.sqlite",
        "/files/stix-bundle.json",
    ] {
        let (s, _, _) = send(&app, get(bad).body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
    }
}

struct DropDisputed;
impl Reattribute for DropDisputed {
    fn recompute(
        &self,
        case: &Case,
        disputed: &[DisputedEvidence],
    ) -> anyhow::Result<serde_json::Value> {
        let mut doc = case.document("attribution")?.unwrap().body;
        doc["recomputed_without"] = disputed.iter().map(|d| d.target_id.clone()).collect();
        Ok(doc)
    }
}

#[tokio::test]
async fn disputes_trigger_the_recompute_hook() {
    let dir = make_case();
    let mut cfg = ServeConfig::new(dir.path());
    cfg.bind = "127.0.0.1:0".parse().unwrap();
    cfg.reattribute = Some(Arc::new(DropDisputed));
    let app = kahu_web::build(cfg).unwrap();
    let (_, _, html) = send(&app, get("/").body(Body::empty()).unwrap()).await;
    let (s, _, body) = send(
        &app,
        Request::post("/api/disputes")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-csrf-token", csrf_of(&html))
            .body(Body::from(
                r#"{"target_kind":"technique","target_id":"T1003.001","reason":"admin tool"}"#,
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert!(body.contains("\"recomputed\":true"));
    let (_, _, a) = send(&app, get("/api/attribution").body(Body::empty()).unwrap()).await;
    let a: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(a["document"]["body"]["recomputed_without"][0], "T1003.001");
    assert_eq!(a["disputes"][0]["target_id"], "T1003.001");
}

/// The CSV export writes through kahu-report's spreadsheet writer (the one
/// `hunt` and the containment lists use): a hostile host, account and file
/// name cannot run as a formula, add a row or carry a terminal escape.
#[tokio::test]
async fn the_csv_export_neutralises_hostile_fields_like_every_other_csv() {
    use kahu_event::{Event, Location, Provenance, Value};
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    {
        let mut w = case.writer().unwrap();
        let file = "evidence/\nwarning: forged.jsonl";
        w.begin_evidence(&kahu_case::EvidenceInfo {
            path: file.into(),
            member: None,
            size: Some(1),
            sha256: Some("ab".repeat(32)),
            format: Some("jsonl".into()),
        })
        .unwrap();
        let mut e = Event::new(Provenance::new(Arc::from(file), Location::Line(1)));
        e.host = Some(Arc::from("=HYPERLINK(\"http://x\",\"y\")"));
        e.fields.insert("User", Value::str("+cmd|' /C calc'!A0"));
        e.fields
            .insert("CommandLine", Value::str("@SUM(1)\r\nx\x1b[2J"));
        w.add_event(&e).unwrap();
        w.finish().unwrap();
    }
    drop(case);
    let app = app(dir.path(), "127.0.0.1:0");
    let (s, _, csv) = send(&app, get("/api/export.csv").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{csv}");
    assert_eq!(csv.lines().count(), 2, "header and one row: {csv}");
    assert!(!csv.contains('\x1b') && !csv.contains('\r'), "{csv:?}");
    assert!(
        csv.contains("'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")"),
        "the host is defused: {csv}"
    );
    assert!(csv.contains("evidence/\\nwarning: forged.jsonl"), "{csv}");
    // No cell of the row starts like a formula once its quotes are off.
    let row = csv.lines().nth(1).unwrap();
    for cell in row.split(',') {
        let cell = cell.trim_start_matches('"');
        assert!(!cell.starts_with(['=', '+', '@']), "{cell} in {row}");
    }
}

/// `?format=timesketch` gives the export Timesketch's import shape (its
/// importer, `timesketch/lib/utils.py` `read_and_validate_csv`, refuses a
/// CSV without `message`, `datetime` and `timestamp_desc` columns and drops
/// rows whose `datetime` is empty or unparsable): the three columns first,
/// an ISO 8601 time on every row, events without a time left out.
#[tokio::test]
async fn the_csv_export_has_a_timesketch_shape() {
    use kahu_event::{Event, Location, Provenance, Value};
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    {
        let mut w = case.writer().unwrap();
        let file = "evidence/security.jsonl";
        w.begin_evidence(&kahu_case::EvidenceInfo {
            path: file.into(),
            member: None,
            size: Some(1),
            sha256: Some("cd".repeat(32)),
            format: Some("jsonl".into()),
        })
        .unwrap();
        let mut timed = Event::new(Provenance::new(Arc::from(file), Location::Line(1)));
        timed.timestamp = kahu_event::parse_timestamp("2024-05-01T10:06:00Z");
        timed.host = Some(Arc::from("DC1.corp.local"));
        timed.channel = Some(Arc::from("Security"));
        timed.event_id = Some(4624);
        timed.fields.insert("TargetUserName", Value::str("bob"));
        w.add_event(&timed).unwrap();
        let mut timeless = Event::new(Provenance::new(Arc::from(file), Location::Line(2)));
        timeless.host = Some(Arc::from("WS9.corp.local"));
        timeless
            .fields
            .insert("TargetUserName", Value::str("nobody-timeless"));
        w.add_event(&timeless).unwrap();
        w.finish().unwrap();
    }
    drop(case);
    let app = app(dir.path(), "127.0.0.1:0");
    let (s, _, plain) = send(&app, get("/api/export.csv").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{plain}");
    assert_eq!(
        plain.lines().count(),
        3,
        "kahu's export keeps both: {plain}"
    );

    let (s, h, csv) = send(
        &app,
        get("/api/export.csv?format=timesketch")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{csv}");
    assert!(
        h[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("timesketch"),
        "{h:?}"
    );
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let head: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        &head[..3],
        ["message", "datetime", "timestamp_desc"],
        "{csv}"
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "the event without a time is left out: {csv}");
    let row = &rows[0];
    assert_eq!(row.len(), head.len());
    let at = chrono::DateTime::parse_from_rfc3339(&row[1]).unwrap();
    assert_eq!(at.to_rfc3339(), "2024-05-01T10:06:00+00:00");
    assert!(!row[2].is_empty());
    assert!(
        row[0].contains("Security 4624 on DC1.corp.local"),
        "message: {}",
        &row[0]
    );
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    assert_eq!(&row[col("hostname")], "DC1.corp.local");
    assert_eq!(&row[col("event_id")], "4624");
    assert!(row[col("fields")].contains("bob"));
    assert!(!csv.contains("nobody-timeless"), "{csv}");

    let (s, _, body) = send(
        &app,
        get("/api/export.csv?format=xlsx")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
}

/// A client that starts a CSV export and stops reading holds it open. On
/// the shared read connections, four such clients froze the whole UI
/// (`/api/case`, `/api/events`… waited forever). Exports now run on their
/// own connection, at most two at a time; a third is refused (503) and
/// the rest of the UI answers meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_exports_cannot_freeze_the_ui() {
    use tower::ServiceExt;
    let dir = make_case_of(20_000);
    let app = app(dir.path(), "127.0.0.1:0");
    // Four exports whose bodies nobody reads.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..4 {
        let resp = app
            .router
            .clone()
            .oneshot(get("/api/export.csv").body(Body::empty()).unwrap())
            .await
            .unwrap();
        if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
            refused += 1;
        }
        held.push(resp);
    }
    assert_eq!(refused, 2, "two exports run, the others are refused");
    // Give the running exports time to fill their buffers and block.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for uri in ["/api/case", "/api/events?limit=5"] {
        let answered = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            send(&app, get(uri).body(Body::empty()).unwrap()),
        )
        .await;
        let (s, _, body) =
            answered.unwrap_or_else(|_| panic!("{uri} hangs behind stalled exports"));
        assert_eq!(s, StatusCode::OK, "{uri}: {body}");
    }
    drop(held);
}
