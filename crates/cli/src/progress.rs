//! Progress bars on stderr for long runs.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

/// A bar counting evidence bytes read, labelled with files done.
pub(crate) struct FileProgress {
    bar: ProgressBar,
    files: AtomicU64,
    /// The stage under way and when it started.
    phase: std::sync::Mutex<(String, std::time::Instant)>,
}

impl FileProgress {
    /// A bar sized when reading starts; hidden when `quiet` or when stderr
    /// is not a terminal.
    pub(crate) fn new(quiet: bool) -> Self {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        };
        FileProgress {
            bar,
            files: AtomicU64::new(0),
            phase: std::sync::Mutex::new(("read and detect".into(), std::time::Instant::now())),
        }
    }

    /// Remove the bar.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl kahu_assess::detect::Progress for FileProgress {
    fn start(&self, files: u64, bytes: u64) {
        self.files.store(files, Ordering::Relaxed);
        self.bar.set_length(bytes);
    }

    fn file_done(&self, bytes: u64) {
        self.bar.inc(bytes);
        self.bar
            .set_message(format!("of {} files", self.files.load(Ordering::Relaxed)));
    }

    fn phase_start(&self, name: &str) {
        let mut p = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        *p = (name.to_string(), std::time::Instant::now());
        if !self.bar.is_hidden() {
            self.bar.reset();
            self.bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            self.bar.set_message(format!("{name}…"));
            self.bar
                .enable_steady_tick(std::time::Duration::from_millis(120));
        }
    }

    fn phase_done(&self, detail: &str) {
        let p = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        if !self.bar.is_hidden() {
            // println on the bar keeps the line above the bar, not under it.
            self.bar.println(format!(
                "  done: {:<26} {:>7.1}s  {}",
                p.0,
                p.1.elapsed().as_secs_f64(),
                detail
            ));
        }
    }
}
