//! Progress bars on stderr for long runs.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

/// A bar counting evidence bytes read, labelled with files done.
pub struct FileProgress {
    bar: ProgressBar,
    files: AtomicU64,
}

impl FileProgress {
    /// A bar sized when reading starts; hidden when `quiet` or when stderr
    /// is not a terminal.
    pub fn new(quiet: bool) -> Self {
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
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
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
}
