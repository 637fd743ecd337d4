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
    /// Analyst name used when the browser sends none.
    pub default_user: String,
    /// Attribution recompute hook.
    pub reattribute: Option<Arc<dyn Reattribute>>,
}

impl ServeConfig {
    /// Defaults: 127.0.0.1:8080, OS user name, no token, no hook.
    pub fn new(case_dir: impl Into<PathBuf>) -> Self {
        ServeConfig {
            case_dir: case_dir.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            default_user: os_user(),
            reattribute: None,
        }
    }
}

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
    pub(crate) writer: Mutex<Case>,
    pub(crate) next_reader: std::sync::atomic::AtomicUsize,
    pub(crate) case_dir: PathBuf,
    pub(crate) case_name: String,
    pub(crate) default_user: String,
    pub(crate) security: security::Security,
    pub(crate) reattribute: Option<Arc<dyn Reattribute>>,
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
}

/// Open the case and build the router.
pub fn build(config: ServeConfig) -> anyhow::Result<App> {
    let dir = config.case_dir.clone();
    // Open read-write once first: upgrades an older schema in place.
    let writer = Case::open(&dir).with_context(|| format!("opening case {}", dir.display()))?;
    let mut readers = Vec::new();
    for _ in 0..4 {
        readers.push(Mutex::new(Case::open_read_only(&dir)?));
    }
    let token = if config.bind.ip().is_loopback() {
        config.token
    } else {
        Some(config.token.unwrap_or_else(security::random_token))
    };
    let case_name = std::fs::canonicalize(&dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    let state = Arc::new(AppState {
        readers,
        writer: Mutex::new(writer),
        next_reader: Default::default(),
        case_dir: dir,
        case_name,
        default_user: config.default_user,
        security: security::Security::new(token.clone(), config.bind.ip().is_loopback()),
        reattribute: config.reattribute,
    });
    Ok(App {
        router: api::router(state),
        token,
        bind: config.bind,
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
    axum::serve(listener, app.router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
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
