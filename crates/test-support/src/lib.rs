//! Test helpers shared by kahu's crates. A dev-dependency only: nothing
//! here is compiled into kahu.
//!
//! Tests on real data read `../shared` (beside the repository) or the
//! folder `KAHU_SHARED` names, and skip loudly, with a line starting
//! `SKIP:`, when it is absent, so a missing data set never passes as green
//! in silence.

use std::path::{Path, PathBuf};

/// The shared data directory: `$KAHU_SHARED`, else `shared` beside the
/// repository. It may not exist; see [`shared`].
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("KAHU_SHARED") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// `sub` inside the shared data directory (`""` for the directory itself)
/// when it exists; otherwise prints `SKIP: …` naming the path and returns
/// `None`, so the caller returns early.
pub fn shared(sub: &str) -> Option<PathBuf> {
    let p = if sub.is_empty() {
        shared_dir()
    } else {
        shared_dir().join(sub)
    };
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: shared data {sub} not found at {} (set KAHU_SHARED)",
            p.display()
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_data_set_is_none_and_the_directory_is_found_from_the_environment() {
        // The only test touching KAHU_SHARED in this binary.
        let dir = std::env::temp_dir().join(format!("kahu-test-support-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("evtx")).unwrap();
        // SAFETY: single-threaded use of the environment in this test binary.
        unsafe { std::env::set_var("KAHU_SHARED", &dir) };
        assert_eq!(shared_dir(), dir);
        assert_eq!(shared("evtx"), Some(dir.join("evtx")));
        assert_eq!(shared("no-such-set"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
