//! Routes: the JSON API under `/api/`, case files under `/files/`, and
//! the embedded UI.

use crate::{AppState, assets, security};
use axum::Router;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, middleware};
use kahu_case::{Case, Cursor, EventQuery, FindingQuery, VerdictKind};
use kahu_finding::Level;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

type St = State<Arc<AppState>>;

/// Case files the UI links to when the assessment wrote them.
pub const CASE_FILES: &[(&str, &str)] = &[
    ("report.html", "text/html; charset=utf-8"),
    ("stix-bundle.json", "application/json"),
    ("navigator-layer.json", "application/json"),
];

/// ATT&CK Enterprise tactics in matrix order, v18.1's and v19's (the one
/// table, in `kahu_finding::tactic`); the matrix shows the case's release.
pub const TACTICS: [(&str, &str); 16] = kahu_finding::tactic::NAMES;

/// An API error as JSON.
pub struct ApiError(StatusCode, String);

impl ApiError {
    /// 503: the server stopped the work (time limit, client gone).
    pub(crate) fn unavailable(msg: String) -> Self {
        ApiError(StatusCode::SERVICE_UNAVAILABLE, msg)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<kahu_case::Error> for ApiError {
    fn from(e: kahu_case::Error) -> Self {
        match e {
            kahu_case::Error::Invalid(m) => ApiError(StatusCode::BAD_REQUEST, m),
            // The index is still being built (the message says "indexing…").
            e @ kahu_case::Error::FullTextPending { .. } => {
                ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            // FTS5 rejects some inputs at run time; that is the user's query,
            // not a server fault.
            kahu_case::Error::Sql(rusqlite_err) if rusqlite_err.to_string().contains("fts5") => {
                ApiError(StatusCode::BAD_REQUEST, format!("search: {rusqlite_err}"))
            }
            other => ApiError(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

type ApiResult = Result<Response, ApiError>;

/// Run blocking case work off the async threads.
async fn blocking<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || f(&s))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

/// Run a timeline query on a read connection under the time limit; it is
/// stopped when the limit passes or when the client disconnects (axum
/// drops this future, and with it the guard).
async fn read_query<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl Fn(&Case) -> kahu_case::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let budget = Arc::new(crate::QueryBudget::new(state.query_time_limit));
    let _stop_if_dropped = crate::StopOnDrop(budget.clone());
    blocking(state, move |s| s.read_budgeted(&budget, f)).await
}

/// The router with every route and the security guard.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/static/{name}", get(static_file))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/files/{name}", get(case_file))
        .route("/api/session", get(session))
        .route("/api/case", get(case_info))
        .route("/api/events", get(events))
        .route("/api/events/{id}", get(event))
        .route("/api/histogram", get(histogram))
        .route("/api/facets", get(facets))
        .route("/api/export.csv", get(export_csv))
        .route("/api/process-tree", get(process_tree))
        .route("/api/findings", get(findings))
        .route("/api/rules", get(rules))
        .route("/api/attack-matrix", get(attack_matrix))
        .route("/api/documents/{kind}", get(document))
        .route("/api/attribution", get(attribution))
        .route("/api/notes", get(notes).post(add_note))
        .route("/api/verdicts", post(add_verdict))
        .route("/api/disputes", post(add_dispute))
        .route("/api/disputes/{id}/withdraw", post(withdraw_dispute))
        .route("/api/audit", get(audit))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such page".into()) })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::guard,
        ))
        .with_state(state)
}

async fn index(State(s): St) -> Response {
    match assets::index_html(&s.case_name, s.security.csrf()) {
        Ok(html) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("page shell: {e}"),
        )
        .into_response(),
    }
}

async fn static_file(Path(name): Path<String>) -> Response {
    match assets::get(&name) {
        Some((body, ctype)) => (
            [
                (header::CONTENT_TYPE, ctype),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
        None => ApiError(StatusCode::NOT_FOUND, "no such asset".into()).into_response(),
    }
}

async fn case_file(State(s): St, Path(name): Path<String>) -> ApiResult {
    // Only the known names: the path never comes from the request.
    let Some((fname, ctype)) = CASE_FILES.iter().find(|(n, _)| *n == name) else {
        return Err(ApiError(StatusCode::NOT_FOUND, "no such file".into()));
    };
    let path = s.case_dir.join(fname);
    let body = tokio::fs::read(&path).await.map_err(|_| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("{fname} is not in this case"),
        )
    })?;
    let mut r = ([(header::CONTENT_TYPE, *ctype)], body).into_response();
    if fname.ends_with(".html") {
        // The report is a self-contained page of its own: sandbox it into an
        // opaque origin so nothing in it can call this API with our cookies.
        r.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "sandbox allow-scripts allow-popups; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
            ),
        );
    } else {
        let cd = format!("attachment; filename=\"{fname}\"");
        if let Ok(v) = HeaderValue::from_str(&cd) {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(r)
}

/// The audit author: the analyst the request's token is bound to, else
/// the server's analyst (`--user`). A name the browser gives
/// (`X-Kahu-User`, `kahu_user` cookie) cannot replace that identity; when
/// it differs it is recorded beside it: `alice (as bob)`.
fn who(s: &AppState, h: &HeaderMap, bound: &security::BoundAnalyst) -> String {
    let identity = bound.0.clone().unwrap_or_else(|| s.default_user.clone());
    let claimed = h
        .get("x-kahu-user")
        .and_then(|v| v.to_str().ok())
        // The UI percent-encodes it (headers carry Latin-1 only).
        .map(percent_decode)
        .or_else(|| security::cookie(h, "kahu_user").map(percent_decode))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 64 && !v.chars().any(char::is_control));
    match claimed {
        Some(c) if c != identity => format!("{identity} (as {c})"),
        _ => identity,
    }
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn session(
    State(s): St,
    Extension(bound): Extension<security::BoundAnalyst>,
    h: HeaderMap,
) -> Json<Value> {
    Json(
        json!({ "csrf": s.security.csrf(), "user": who(&s, &h, &bound), "default_user": bound.0.as_deref().unwrap_or(&s.default_user) }),
    )
}

async fn case_info(State(s): St) -> ApiResult {
    let files: Vec<&str> = CASE_FILES
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| s.case_dir.join(n).is_file())
        .collect();
    let name = s.case_name.clone();
    let summary = blocking(&s, |s| Ok(s.read(|c| c.summary())?)).await?;
    // Events whose text the full-text index holds only in part (padded or
    // very long values): the UI says a search may miss words in them.
    let in_part = blocking(&s, |s| Ok(s.read(|c| c.events_indexed_in_part())?)).await?;
    // `indexing`: events the background full-text build has still to do
    // (null when search is ready), so the UI can say "indexing…".
    let indexing = match s.full_text.state() {
        crate::indexer::IndexState::Building { remaining } => json!({ "remaining": remaining }),
        crate::indexer::IndexState::Failed(e) => json!({ "error": e }),
        crate::indexer::IndexState::Ready => Value::Null,
    };
    Ok(Json(json!({ "name": name, "summary": summary, "files": files, "recompute": s.reattribute.is_some(), "indexing": indexing, "indexed_in_part": in_part, "indexed_in_part_word": kahu_case::INDEXED_IN_PART })).into_response())
}

/// Parse `from`/`to`: µs since the epoch, or RFC 3339.
fn parse_time(v: &str) -> Result<i64, ApiError> {
    if let Ok(n) = v.trim().parse::<i64>() {
        return Ok(n);
    }
    chrono_parse(v).ok_or_else(|| {
        bad(format!(
            "bad time `{v}`: use µs since the epoch or RFC 3339"
        ))
    })
}

fn chrono_parse(v: &str) -> Option<i64> {
    kahu_event::parse_timestamp(v).map(|t| t.timestamp_micros())
}

fn pairs(q: &Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Build an [`EventQuery`] from repeated URL parameters.
pub fn event_query(q: &Option<String>) -> Result<EventQuery, ApiError> {
    let mut out = EventQuery::default();
    for (k, v) in pairs(q) {
        if v.is_empty() {
            continue;
        }
        // FTS5 stops at a NUL: a search with one is malformed. Names are
        // bound as SQLite parameters, which carry a NUL: a host or account
        // forged with one (listed in the facets) must stay filterable.
        if k == "q" && v.contains('\0') {
            return Err(bad(format!("parameter `{k}` contains a NUL byte")));
        }
        match k.as_str() {
            "from" => out.from = Some(parse_time(&v)?),
            "to" => out.to = Some(parse_time(&v)?),
            "host" => out.hosts.push(v),
            "account" => out.accounts.push(v),
            "channel" => out.channels.push(v),
            "event_id" => out.event_ids.push(
                v.trim()
                    .parse()
                    .map_err(|_| bad(format!("bad event_id `{v}`")))?,
            ),
            "rule" => out.rule_ids.push(v),
            "level" => out
                .levels
                .push(v.parse::<Level>().map_err(|e| bad(e.to_string()))?),
            "q" => {
                let terms = v.split_whitespace().count();
                if terms > crate::MAX_SEARCH_TERMS {
                    return Err(bad(format!(
                        "search has {terms} words; at most {} are allowed",
                        crate::MAX_SEARCH_TERMS
                    )));
                }
                out.text = Some(v)
            }
            "cursor" => out.after = Some(Cursor::decode(&v).ok_or_else(|| bad("bad cursor"))?),
            "limit" => out.limit = v.parse().map_err(|_| bad("bad limit"))?,
            _ => {}
        }
    }
    Ok(out)
}

fn param(q: &Option<String>, name: &str) -> Option<String> {
    pairs(q)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// A timeline page: `events`, `next`, and `backend` (`"sqlite"` or
/// `"parquet"`), with `fallback` saying why when the Parquet timeline was
/// expected to answer but SQLite did.
async fn events(State(s): St, RawQuery(q): RawQuery) -> ApiResult {
    let eq = event_query(&q)?;
    let index = s.timeline_index.clone();
    let answer = read_query(&s, move |c| c.query_timeline(&eq, index.as_deref())).await?;
    if let Some(reason) = &answer.fallback {
        tracing::info!(
            reason = reason.as_str(),
            "timeline query answered by SQLite"
        );
    }
    Ok(Json(answer).into_response())
}

async fn event(State(s): St, Path(id): Path<i64>) -> ApiResult {
    match blocking(&s, move |s| Ok(s.read(|c| c.event(id))?)).await? {
        Some(e) => Ok(Json(e).into_response()),
        None => Err(ApiError(StatusCode::NOT_FOUND, format!("no event {id}"))),
    }
}

async fn histogram(State(s): St, RawQuery(q): RawQuery) -> ApiResult {
    let eq = event_query(&q)?;
    let buckets = param(&q, "buckets")
        .and_then(|b| b.parse().ok())
        .unwrap_or(120);
    let h = read_query(&s, move |c| c.histogram(&eq, buckets)).await?;
    Ok(Json(h).into_response())
}

async fn facets(State(s): St, RawQuery(q): RawQuery) -> ApiResult {
    let eq = event_query(&q)?;
    let k = param(&q, "k").and_then(|b| b.parse().ok()).unwrap_or(50);
    let f = read_query(&s, move |c| c.facets(&eq, k)).await?;
    Ok(Json(f).into_response())
}

/// Columns of the timeline export.
const EXPORT_HEADER: [&str; 13] = [
    "id", "time", "host", "channel", "provider", "event_id", "account", "level", "summary", "file",
    "member", "location", "fields",
];

/// Columns of the timeline export in Timesketch's import shape
/// (`?format=timesketch`): the three columns Timesketch requires first,
/// then the event's attributes under the names `kahu hunt --format
/// timesketch` gives them.
const TIMESKETCH_HEADER: [&str; 13] = [
    "message",
    "datetime",
    "timestamp_desc",
    "case_event_id",
    "hostname",
    "channel",
    "provider",
    "event_id",
    "account",
    "level",
    "evidence_file",
    "evidence_member",
    "fields",
];

/// One event as the cells of the export: kahu's columns, or Timesketch's
/// (`None` for an event without a time, which Timesketch cannot place and
/// which is left out).
fn export_cells(
    row: &kahu_case::EventRow,
    fields: &Value,
    timesketch: bool,
) -> Option<Vec<String>> {
    let text = |o: &Option<String>| o.clone().unwrap_or_default();
    let event_id = row.event_id.map(|e| e.to_string()).unwrap_or_default();
    let level = row.level.map(|l| l.to_string()).unwrap_or_default();
    if !timesketch {
        let loc = serde_json::to_string(&row.provenance.location).unwrap_or_default();
        return Some(vec![
            row.id.to_string(),
            text(&row.time),
            text(&row.host),
            text(&row.channel),
            text(&row.provider),
            event_id,
            text(&row.account),
            level,
            row.summary.clone(),
            row.provenance.file.clone(),
            text(&row.provenance.member),
            loc,
            fields.to_string(),
        ]);
    }
    let time = row.time.clone()?;
    // Timesketch shows `message` as the event's line: the level when a
    // detection points at the event, where it happened, what it says.
    let mut message = String::new();
    if !level.is_empty() {
        message.push_str(&format!("[{level}] "));
    }
    message.push_str(&format!("{} {}", text(&row.channel), event_id));
    if let Some(h) = &row.host {
        message.push_str(&format!(" on {h}"));
    }
    if !row.summary.is_empty() {
        message.push_str(&format!(": {}", row.summary));
    }
    Some(vec![
        message.trim().to_string(),
        time,
        "Event Recorded".to_string(),
        row.id.to_string(),
        text(&row.host),
        text(&row.channel),
        text(&row.provider),
        event_id,
        text(&row.account),
        level,
        row.provenance.file.clone(),
        text(&row.provenance.member),
        fields.to_string(),
    ])
}

/// Sends what the CSV writer writes to the response in chunks of 64 KiB;
/// a write fails once the client has gone away.
struct ChunkSender {
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
}

impl ChunkSender {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.tx
            .blocking_send(std::mem::take(&mut self.buf))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

impl std::io::Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 * 1024 {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// CSV exports streaming at once. An export runs as long as its client
/// reads, on its own read connection: on a shared one, four clients that
/// stopped reading held every connection, and the whole UI waited.
pub(crate) const MAX_EXPORTS: usize = 2;

/// One export's place among [`MAX_EXPORTS`], given back when dropped.
struct ExportSlot(Arc<crate::AppState>);

impl Drop for ExportSlot {
    fn drop(&mut self) {
        self.0
            .exports
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

async fn export_csv(State(s): St, RawQuery(q): RawQuery) -> ApiResult {
    let eq = event_query(&q)?;
    let timesketch = match param(&q, "format").as_deref() {
        None | Some("" | "kahu") => false,
        Some("timesketch") => true,
        Some(other) => {
            return Err(bad(format!(
                "unknown export format `{other}` (kahu or timesketch)"
            )));
        }
    };
    if s.exports.fetch_add(1, std::sync::atomic::Ordering::AcqRel) >= MAX_EXPORTS {
        s.exports.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        return Err(ApiError::unavailable(format!(
            "{MAX_EXPORTS} exports are already running: try again when one has finished"
        )));
    }
    let slot = ExportSlot(s.clone());
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
    tokio::task::spawn_blocking(move || {
        let slot = slot;
        // Every cell goes through kahu-report's spreadsheet writer, like the
        // `hunt` and containment CSVs: formula prefixes defused, control
        // characters escaped, quoting by the `csv` crate.
        let mut csv = kahu_report::safe::SpreadsheetCsv::new(ChunkSender {
            tx,
            buf: Vec::new(),
        });
        let _ = if timesketch {
            csv.row(TIMESKETCH_HEADER)
        } else {
            csv.row(EXPORT_HEADER)
        };
        let res = Case::open_read_only(&slot.0.case_dir).and_then(|c| {
            c.for_each_event(&eq, |row, fields| {
                match export_cells(row, fields, timesketch) {
                    // An error is the client gone away: stop reading the case.
                    Some(cells) => csv.row(&cells).is_ok(),
                    None => true,
                }
            })
        });
        if let Err(e) = res {
            // Said in a last row either way (the status line is already
            // sent); Timesketch skips it for having no time, so a cut
            // export shows only to a person reading the file.
            let _ = csv.row([format!("# export stopped: {e}")]);
        }
        let _ = csv.flush();
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
    });
    let disposition = if timesketch {
        "attachment; filename=\"kahu-timeline-timesketch.csv\""
    } else {
        "attachment; filename=\"kahu-timeline.csv\""
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

async fn process_tree(State(s): St, RawQuery(q): RawQuery) -> ApiResult {
    let host = param(&q, "host").ok_or_else(|| bad("host is required"))?;
    let root = param(&q, "root").filter(|r| !r.is_empty());
    let t = blocking(&s, move |s| {
        Ok(s.read(|c| c.process_tree(&host, root.as_deref()))?)
    })
    .await?;
    Ok(Json(t).into_response())
}

async fn findings(State(s): St, RawQuery(q): RawQuery) -> ApiResult {
    let mut fq = FindingQuery::default();
    for (k, v) in pairs(&q) {
        match k.as_str() {
            "level" => fq
                .levels
                .push(v.parse::<Level>().map_err(|e| bad(e.to_string()))?),
            "rule" => fq.rule_ids.push(v),
            "host" => fq.hosts.push(v),
            "technique" => fq.technique = Some(v),
            "cursor" => fq.after = Some(Cursor::decode(&v).ok_or_else(|| bad("bad cursor"))?),
            "limit" => fq.limit = v.parse().map_err(|_| bad("bad limit"))?,
            _ => {}
        }
    }
    let (rows, next) = blocking(&s, move |s| Ok(s.read(|c| c.query_findings(&fq))?)).await?;
    Ok(Json(json!({ "findings": rows, "next": next })).into_response())
}

async fn rules(State(s): St) -> ApiResult {
    let r = blocking(&s, |s| Ok(s.read(|c| c.rule_summary())?)).await?;
    Ok(Json(r).into_response())
}

/// The technique → tactics map of the stored `attack-tactics` document and
/// whether its release is ATT&CK v19 or later. The document is
/// `{"attack_version": "19", "techniques": {"T1059.001": ["execution"]}}`;
/// case stores written before it carried the release hold the bare map,
/// which is v18.1.
fn tactic_document(doc: Value) -> (Value, bool) {
    match doc {
        Value::Object(mut o) if o.get("techniques").is_some_and(Value::is_object) => {
            let v19 = o
                .get("attack_version")
                .and_then(Value::as_str)
                .and_then(|v| v.split('.').next()?.parse::<u32>().ok())
                .is_some_and(|m| m >= 19);
            (o.remove("techniques").unwrap_or(Value::Null), v19)
        }
        other => (other, false),
    }
}

/// Tactics of a technique from the `attack-tactics` map
/// (`{"T1059.001": ["execution"]}`), falling back to the parent technique.
fn tactics_of<'a>(map: &'a Value, t: &str) -> Vec<&'a str> {
    let get = |k: &str| {
        map.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
    };
    get(t)
        .or_else(|| t.split_once('.').and_then(|(p, _)| get(p)))
        .unwrap_or_default()
}

async fn attack_matrix(State(s): St) -> ApiResult {
    let (counts, map) = blocking(&s, |s| {
        s.read(|c| {
            let counts = c.technique_counts()?;
            let map = c
                .document(kahu_case::DocKind::AttackTactics.as_str())?
                .map(|d| d.body)
                .unwrap_or(Value::Null);
            Ok::<_, kahu_case::Error>((counts, map))
        })
        .map_err(ApiError::from)
    })
    .await?;
    let (map, v19) = tactic_document(map);
    let matrix = kahu_finding::Tactic::matrix(v19);
    let mut columns: Vec<Value> = Vec::new();
    let mut placed = std::collections::HashSet::new();
    for (tactic, (id, name)) in kahu_finding::Tactic::ALL.iter().zip(&TACTICS) {
        let techniques: Vec<Value> = counts
            .iter()
            .filter(|(t, _, _)| tactics_of(&map, t).contains(id))
            .map(|(t, n, h)| {
                placed.insert(t.clone());
                json!({ "id": t, "findings": n, "hosts": h })
            })
            .collect();
        // The case's release's columns, and any other that holds a
        // technique (nothing observed is hidden).
        if matrix.contains(tactic) || !techniques.is_empty() {
            columns.push(json!({ "id": id, "name": name, "techniques": techniques }));
        }
    }
    let unmapped: Vec<Value> = counts
        .iter()
        .filter(|(t, _, _)| !placed.contains(t))
        .map(|(t, n, h)| json!({ "id": t, "findings": n, "hosts": h }))
        .collect();
    Ok(Json(json!({ "tactics": columns, "unmapped": unmapped })).into_response())
}

async fn document(State(s): St, Path(kind): Path<String>) -> ApiResult {
    if kind.is_empty()
        || kind.len() > 64
        || !kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
    {
        return Err(bad("document kinds are lower-case words"));
    }
    let d = blocking(&s, move |s| Ok(s.read(|c| c.document(&kind))?)).await?;
    Ok(Json(d).into_response())
}

async fn attribution(State(s): St) -> ApiResult {
    let v = blocking(&s, |s| {
        s.read(|c| {
            Ok::<_, kahu_case::Error>(json!({
                "document": c.document(kahu_case::DocKind::Attribution.as_str())?,
                "disputes": c.disputes(false)?,
                "verdicts": c.verdicts(None)?,
                "notes": c.notes(None)?,
            }))
        })
        .map_err(ApiError::from)
    })
    .await?;
    Ok(Json(v).into_response())
}

async fn notes(State(s): St, RawQuery(q): RawQuery) -> ApiResult {
    let kind = param(&q, "target_kind");
    let id = param(&q, "target_id");
    let n = blocking(&s, move |s| {
        let t = kind.as_deref().zip(id.as_deref());
        Ok(s.read(|c| c.notes(t))?)
    })
    .await?;
    Ok(Json(n).into_response())
}

/// Body of `POST /api/notes`.
#[derive(Deserialize)]
pub struct NoteIn {
    target_kind: String,
    target_id: String,
    body: String,
}

async fn add_note(
    State(s): St,
    Extension(bound): Extension<security::BoundAnalyst>,
    h: HeaderMap,
    Json(n): Json<NoteIn>,
) -> ApiResult {
    let user = who(&s, &h, &bound);
    let note = blocking(&s, move |s| {
        Ok(s.write(|c| c.add_note(&n.target_kind, &n.target_id, &n.body, &user))?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(note)).into_response())
}

/// Body of `POST /api/verdicts`.
#[derive(Deserialize)]
pub struct VerdictIn {
    #[serde(default = "candidate")]
    target_kind: String,
    target_id: String,
    verdict: VerdictKind,
    rationale: String,
}

fn candidate() -> String {
    "candidate".into()
}

async fn add_verdict(
    State(s): St,
    Extension(bound): Extension<security::BoundAnalyst>,
    h: HeaderMap,
    Json(v): Json<VerdictIn>,
) -> ApiResult {
    let user = who(&s, &h, &bound);
    let out = blocking(&s, move |s| {
        Ok(s.write(|c| {
            c.set_verdict(&v.target_kind, &v.target_id, v.verdict, &v.rationale, &user)
        })?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Body of `POST /api/disputes`.
#[derive(Deserialize)]
pub struct DisputeIn {
    target_kind: String,
    target_id: String,
    #[serde(default)]
    reason: String,
}

/// After a dispute changes, recompute attribution when a hook exists. The
/// caller holds the write connection from the dispute to here, and the
/// recompute reads the disputes and stores its document in one write
/// transaction: two concurrent disputes can never leave a stored
/// attribution that ignores one of them.
fn recompute(s: &AppState, c: &mut Case, user: &str) -> Result<bool, kahu_case::Error> {
    let Some(hook) = &s.reattribute else {
        return Ok(false);
    };
    c.update_document(
        kahu_case::DocKind::Attribution.as_str(),
        &format!("kahu (recomputed for {user})"),
        |c, current| {
            let disputed = c.disputes(true)?;
            let version = current.map_or(1, |d| d.version);
            let doc = hook.recompute(c, &disputed).map_err(|e| {
                kahu_case::Error::Invalid(format!("recomputing attribution: {e:#}"))
            })?;
            Ok((version, doc))
        },
    )?;
    Ok(true)
}

async fn add_dispute(
    State(s): St,
    Extension(bound): Extension<security::BoundAnalyst>,
    h: HeaderMap,
    Json(d): Json<DisputeIn>,
) -> ApiResult {
    let user = who(&s, &h, &bound);
    let out = blocking(&s, move |s| {
        let (d, recomputed) = s.write(|c| {
            let d = c.add_dispute(&d.target_kind, &d.target_id, &d.reason, &user)?;
            let recomputed = recompute(s, c, &user)?;
            Ok::<_, kahu_case::Error>((d, recomputed))
        })?;
        Ok(json!({ "dispute": d, "recomputed": recomputed }))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

async fn withdraw_dispute(
    State(s): St,
    Extension(bound): Extension<security::BoundAnalyst>,
    h: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult {
    let user = who(&s, &h, &bound);
    let out = blocking(&s, move |s| {
        let (d, recomputed) = s.write(|c| {
            let d = c.withdraw_dispute(id, &user)?;
            let recomputed = recompute(s, c, &user)?;
            Ok::<_, kahu_case::Error>((d, recomputed))
        })?;
        Ok(json!({ "dispute": d, "recomputed": recomputed }))
    })
    .await?;
    Ok(Json(out).into_response())
}

async fn audit(State(s): St, RawQuery(q): RawQuery) -> ApiResult {
    let limit = param(&q, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(500);
    let a = blocking(&s, move |s| Ok(s.read(|c| c.audit_log(limit))?)).await?;
    Ok(Json(a).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_parses_to_micros() {
        // 2020-06-10T02:50:56.537Z = 1591757456.537 s (checked with `date -d ... +%s`).
        assert_eq!(
            chrono_parse("2020-06-10T02:50:56.537Z"),
            Some(1_591_757_456_537_000)
        );
        assert_eq!(chrono_parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(chrono_parse("yesterday"), None);
    }

    #[test]
    fn tactic_document_carries_its_release_and_older_ones_are_v18() {
        let (map, v19) = tactic_document(json!({
            "attack_version": "19",
            "techniques": {"T1685.005": ["defense-impairment"]}
        }));
        assert!(v19);
        assert_eq!(tactics_of(&map, "T1685.005"), vec!["defense-impairment"]);
        let (map, v19) = tactic_document(json!({"T1027": ["defense-evasion"]}));
        assert!(!v19);
        assert_eq!(tactics_of(&map, "T1027.002"), vec!["defense-evasion"]);
    }
}
