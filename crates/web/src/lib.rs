//! `kahu serve`: the analyst web UI over a case directory.
//!
//! One process, no install: an axum server with every asset compiled in
//! (see [`assets`]), a JSON API under `/api/` that the UI uses and scripts
//! may call, and the views an analyst pivots through — timeline with
//! histogram and full-text search, event detail, process tree, detections,
//! incidents, ATT&CK matrix, attribution with disputes and verdicts.
//!
//! Security model (see [`security`]): loopback-only by default; any other
//! bind needs a bearer token; state-changing requests need the CSRF token
//! and a same-origin `Origin`/`Sec-Fetch-Site`; a strict CSP forbids inline
//! script, and the UI renders evidence with `textContent` only.

pub mod api;
pub mod assets;
mod indexer;
pub mod security;

use anyhow::Context;
use kahu_case::{Case, DisputedEvidence};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Recompute attribution after the analyst disputes evidence. The CLI
/// provides it (it knows the attribution engine); without one, disputes
/// are only stored.
pub trait Reattribute: Send + Sync {
    /// A new attribution document computed without the disputed evidence.
    fn recompute(
        &self,
        case: &Case,
        disputed: &[DisputedEvidence],
    ) -> anyhow::Result<serde_json::Value>;
}

/// Default of [`ServeConfig::query_time_limit`].
pub const DEFAULT_QUERY_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(15);

/// Most words a search may have: each is an FTS5 term, and thousands of
/// prefix terms keep a reader busy for minutes.
pub const MAX_SEARCH_TERMS: usize = 64;

/// One running read that may be stopped: by the time limit (the watchdog
/// thread) or because the client went away (dropped with the request).
pub(crate) struct QueryBudget {
    deadline: std::time::Instant,
    /// The connection running the query, while it runs.
    handle: Mutex<Option<kahu_case::InterruptHandle>>,
    /// 0 while running, else the [`StopReason`] that stopped it first.
    stopped: std::sync::atomic::AtomicU8,
}

/// Why a budgeted query was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum StopReason {
    /// It ran past the server's query time limit.
    TimeLimit = 1,
    /// Its client disconnected (the request was dropped).
    ClientLeft = 2,
}

impl StopReason {
    fn as_str(self) -> &'static str {
        match self {
            StopReason::TimeLimit => "time limit",
            StopReason::ClientLeft => "client left",
        }
    }
}

impl QueryBudget {
    pub(crate) fn new(limit: std::time::Duration) -> Self {
        QueryBudget {
            deadline: std::time::Instant::now() + limit,
            handle: Mutex::new(None),
            stopped: Default::default(),
        }
    }

    /// Stop the query (now, or before it starts); the first reason stays.
    pub(crate) fn stop(&self, reason: StopReason) {
        let _ = self.stopped.compare_exchange(
            0,
            reason as u8,
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
        );
        // Under the lock: the handle is cleared (under it too) before its
        // connection serves another query, which is never interrupted.
        if let Some(h) = &*self.handle.lock().unwrap_or_else(|p| p.into_inner()) {
            h.interrupt();
        }
    }

    fn stop_reason(&self) -> Option<StopReason> {
        match self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            0 => None,
            1 => Some(StopReason::TimeLimit),
            _ => Some(StopReason::ClientLeft),
        }
    }

    fn is_stopped(&self) -> bool {
        self.stop_reason().is_some()
    }
}

/// Stops a query whose request is dropped: axum drops the handler's future
/// when the client disconnects.
pub(crate) struct StopOnDrop(pub(crate) Arc<QueryBudget>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // Also runs after a normal answer, when the query is done: then
        // there is nothing left to interrupt and nothing is reported.
        self.0.stop(StopReason::ClientLeft);
    }
}

/// How to serve a case.
#[derive(Clone)]
pub struct ServeConfig {
    /// The case directory (holds `case.sqlite`).
    pub case_dir: PathBuf,
    /// Address to listen on; loopback unless the user says otherwise.
    pub bind: SocketAddr,
    /// Access token. Required (and generated when `None`) for a
    /// non-loopback bind; may be set on loopback to demand one anyway.
    pub token: Option<String>,
    /// Further access tokens, each bound to the analyst whose name the
    /// audit trail records for what is done with it (`--token-file` lines
    /// `TOKEN NAME`).
    pub analyst_tokens: Vec<(String, String)>,
    /// The server's analyst: the audit author for the main token (and
    /// without a token). A name the browser sends is recorded beside it.
    pub default_user: String,
    /// Longest a timeline, histogram or facet query may run before it is
    /// stopped (HTTP 503).
    pub query_time_limit: std::time::Duration,
    /// How long a connection may take to send a request's headers before
    /// it is closed (default [`DEFAULT_HEADER_READ_TIMEOUT`]).
    pub header_read_timeout: std::time::Duration,
    /// Attribution recompute hook.
    pub reattribute: Option<Arc<dyn Reattribute>>,
    /// A timeline index outside SQLite (the Parquet timeline, injected by
    /// a `kahu` built with DataFusion), used for the `/api/events` queries
    /// [`kahu_case::route`] sends to it.
    pub timeline_index: Option<Arc<dyn kahu_case::TimelineIndex>>,
}

impl ServeConfig {
    /// Defaults: 127.0.0.1:8080, OS user name, no token, no hook.
    pub fn new(case_dir: impl Into<PathBuf>) -> Self {
        ServeConfig {
            case_dir: case_dir.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            analyst_tokens: Vec::new(),
            default_user: os_user(),
            query_time_limit: DEFAULT_QUERY_TIME_LIMIT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            reattribute: None,
            timeline_index: None,
        }
    }
}

/// Default [`ServeConfig::header_read_timeout`]. Without one, a client
/// that opens connections and never finishes a request's headers held
/// each open for good (`axum::serve` sets no timer): a few hundred such
/// connections from anyone who can reach a `--bind 0.0.0.0` server
/// exhaust the process's file descriptors.
pub const DEFAULT_HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The OS user name, or `analyst`.
pub fn os_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "analyst".to_string())
}

/// Shared server state.
pub struct AppState {
    pub(crate) readers: Vec<Mutex<Case>>,
    /// CSV exports streaming now (at most [`api::MAX_EXPORTS`]); each has
    /// its own connection, as a client that stops reading holds it.
    pub(crate) exports: std::sync::atomic::AtomicUsize,
    pub(crate) writer: Mutex<Case>,
    pub(crate) next_reader: std::sync::atomic::AtomicUsize,
    pub(crate) case_dir: PathBuf,
    pub(crate) case_name: String,
    pub(crate) default_user: String,
    pub(crate) security: security::Security,
    pub(crate) reattribute: Option<Arc<dyn Reattribute>>,
    pub(crate) timeline_index: Option<Arc<dyn kahu_case::TimelineIndex>>,
    pub(crate) query_time_limit: std::time::Duration,
    /// Reads under a budget, for the watchdog.
    pub(crate) running: Mutex<Vec<std::sync::Weak<QueryBudget>>>,
    /// The index build (timeline and full-text), when `kahu assess` left it
    /// to the server.
    pub(crate) full_text: Arc<indexer::FullTextIndexer>,
}

impl AppState {
    /// Run `f` on a read connection (blocking: call from `spawn_blocking`).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Case) -> T) -> T {
        // Prefer an idle connection; otherwise queue on one round-robin.
        for c in &self.readers {
            if let Ok(g) = c.try_lock() {
                return f(&g);
            }
        }
        let i = self
            .next_reader
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % self.readers.len();
        let g = self.readers[i].lock().unwrap_or_else(|p| p.into_inner());
        f(&g)
    }

    /// Run `f` on a read connection under `budget`: it is interrupted when
    /// the budget is stopped, and then reported as stopped (HTTP 503).
    pub(crate) fn read_budgeted<T>(
        &self,
        budget: &Arc<QueryBudget>,
        f: impl Fn(&Case) -> kahu_case::Result<T>,
    ) -> Result<T, api::ApiError> {
        let stopped = || {
            api::ApiError::unavailable(format!(
                "the query ran longer than {} s (or its client left) and was stopped: narrow the time range or the search",
                self.query_time_limit.as_secs()
            ))
        };
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::downgrade(budget));
        let attempt = || {
            self.read(|c| {
                if budget.is_stopped() || std::time::Instant::now() >= budget.deadline {
                    return None;
                }
                *budget.handle.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(c.interrupt_handle());
                let out = f(c);
                *budget.handle.lock().unwrap_or_else(|p| p.into_inner()) = None;
                Some(out)
            })
        };
        let mut out = attempt();
        // A search before the background index build is done waits for it
        // (within the same budget) instead of failing at once.
        if let Some(Err(kahu_case::Error::FullTextPending { .. })) = &out
            && self.full_text.wait_ready(budget.deadline)
        {
            out = attempt();
        }
        match out {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) if !budget.is_stopped() => Err(api::ApiError::from(e)),
            // Stopped while running, or not started (stopped, or past its
            // deadline while it waited for a connection).
            _ => {
                let reason = budget.stop_reason().unwrap_or(StopReason::TimeLimit);
                tracing::info!(reason = reason.as_str(), "query stopped");
                Err(stopped())
            }
        }
    }

    /// Stop every budgeted read past its deadline; forget finished ones.
    fn stop_overdue(&self) {
        let now = std::time::Instant::now();
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|w| match w.upgrade() {
                Some(b) if now >= b.deadline => {
                    b.stop(StopReason::TimeLimit);
                    false
                }
                Some(_) => true,
                None => false,
            });
    }

    /// Run `f` on the write connection.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut Case) -> T) -> T {
        let mut g = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }
}

/// A ready-to-serve application: the router and the token the user needs
/// (printed once by the CLI).
pub struct App {
    /// The axum router.
    pub router: axum::Router,
    /// Access token, when one is required.
    pub token: Option<String>,
    /// Where to listen.
    pub bind: SocketAddr,
    /// See [`ServeConfig::header_read_timeout`].
    pub header_read_timeout: std::time::Duration,
}

/// Open the case and build the router.
pub fn build(config: ServeConfig) -> anyhow::Result<App> {
    let dir = config.case_dir.clone();
    // Open read-write once first: upgrades an older schema in place.
    let writer = Case::open(&dir).with_context(|| format!("opening case {}", dir.display()))?;
    // `kahu assess` leaves the timeline and full-text indexes to be built
    // later: build them now, beside serving.
    let full_text = match writer.index_backlog()? {
        Some(backlog) => {
            tracing::info!(
                events = backlog.remaining(),
                "indexing… building the case's indexes"
            );
            indexer::FullTextIndexer::start(dir.clone(), backlog.remaining())
                .context("starting the full-text index build")?
        }
        None => indexer::FullTextIndexer::ready(),
    };
    let mut readers = Vec::new();
    for _ in 0..4 {
        readers.push(Mutex::new(Case::open_read_only(&dir)?));
    }
    let token = if config.bind.ip().is_loopback() {
        config.token
    } else {
        Some(config.token.unwrap_or_else(security::random_token))
    };
    let mut tokens: Vec<(String, Option<String>)> =
        token.iter().map(|t| (t.clone(), None)).collect();
    tokens.extend(
        config
            .analyst_tokens
            .iter()
            .map(|(t, who)| (t.clone(), Some(who.clone()))),
    );
    let case_name = std::fs::canonicalize(&dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    let state = Arc::new(AppState {
        readers,
        exports: Default::default(),
        writer: Mutex::new(writer),
        next_reader: Default::default(),
        case_dir: dir,
        case_name,
        default_user: config.default_user,
        security: security::Security::new(tokens, config.bind.ip().is_loopback()),
        reattribute: config.reattribute,
        timeline_index: config.timeline_index,
        query_time_limit: config.query_time_limit,
        running: Mutex::new(Vec::new()),
        full_text,
    });
    // The watchdog stops overdue reads; it ends with the server state.
    let weak = Arc::downgrade(&state);
    std::thread::Builder::new()
        .name("kahu-query-watchdog".into())
        .spawn(move || {
            while let Some(s) = weak.upgrade() {
                s.stop_overdue();
                drop(s);
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
        .context("starting the query watchdog")?;
    Ok(App {
        router: api::router(state),
        token,
        bind: config.bind,
        header_read_timeout: config.header_read_timeout,
    })
}

/// Serve until Ctrl-C. `on_ready` gets the bound address (port 0 binds a
/// free port) and the token, to print.
pub async fn serve(
    app: App,
    on_ready: impl FnOnce(SocketAddr, Option<&str>),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(app.bind)
        .await
        .with_context(|| format!("binding {}", app.bind))?;
    let addr = listener.local_addr()?;
    on_ready(addr, app.token.as_deref());
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of
                    // spinning, as axum::serve does.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return Ok(()),
        };
        let service = hyper_util::service::TowerToHyperService::new(app.router.clone());
        let timeout = app.header_read_timeout;
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(timeout);
            if let Err(e) = http
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection closed");
            }
        });
    }
}

/// [`serve`] on a runtime of its own, for synchronous callers (the CLI).
pub fn serve_blocking(
    app: App,
    on_ready: impl FnOnce(SocketAddr, Option<&str>),
) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(serve(app, on_ready))
}
