//! Builds a case's timeline and full-text indexes in the background when
//! `kahu serve` opens a case whose bulk load left them out (`kahu assess`
//! does, to finish sooner; `kahu_case::Case::build_indexes`). The timeline
//! answers meanwhile (more slowly); a search waits for the full-text index
//! up to the query time limit and then answers 503 "indexing…".

use kahu_case::Case;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// Where the index build stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IndexState {
    /// Every event is searchable.
    Ready,
    /// Events still to index.
    Building { remaining: u64 },
    /// The build failed; searches report why.
    Failed(String),
}

/// The build's state, shared by the server threads.
pub(crate) struct FullTextIndexer {
    state: Mutex<IndexState>,
    changed: Condvar,
}

impl FullTextIndexer {
    /// A case whose index is complete.
    pub(crate) fn ready() -> Arc<Self> {
        Arc::new(FullTextIndexer {
            state: Mutex::new(IndexState::Ready),
            changed: Condvar::new(),
        })
    }

    /// Start building the index of the case in `dir` on its own thread and
    /// connection (`remaining`: the backlog found when the case was opened).
    pub(crate) fn start(dir: PathBuf, remaining: u64) -> anyhow::Result<Arc<Self>> {
        let me = Arc::new(FullTextIndexer {
            state: Mutex::new(IndexState::Building { remaining }),
            changed: Condvar::new(),
        });
        let shared = me.clone();
        std::thread::Builder::new()
            .name("kahu-fts-index".into())
            .spawn(move || {
                let result = Case::open(&dir).and_then(|mut case| {
                    case.build_indexes(|b| {
                        shared.set(IndexState::Building {
                            remaining: b.remaining(),
                        })
                    })
                });
                match result {
                    Ok(n) => {
                        tracing::info!(events = n, "case indexes built");
                        shared.set(IndexState::Ready);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "building the case indexes failed");
                        shared.set(IndexState::Failed(e.to_string()));
                    }
                }
            })?;
        Ok(me)
    }

    fn set(&self, s: IndexState) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = s;
        self.changed.notify_all();
    }

    /// The current state.
    pub(crate) fn state(&self) -> IndexState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Wait until the build is over or `deadline` passes; whether the
    /// index is ready.
    pub(crate) fn wait_ready(&self, deadline: Instant) -> bool {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match &*g {
                IndexState::Ready => return true,
                IndexState::Failed(_) => return false,
                IndexState::Building { .. } => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            g = self
                .changed
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}
