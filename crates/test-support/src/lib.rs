//! Test helpers shared by kahu's crates. A dev-dependency only: nothing
//! here is compiled into kahu.
//!
//! Tests on real data read `../shared` (beside the repository) or the
//! folder `KAHU_SHARED` names, and skip loudly, with a line starting
//! `SKIP:`, when it is absent, so a missing data set never passes as green
//! in silence.
//!
//! The fuzz seed corpora (`fuzz/corpus-seed/<target>/`) are replayed by
//! each crate's `tests/fuzz_corpus.rs` through [`replay_fuzz_seeds`].

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

/// The committed seed corpus of a fuzz target (`fuzz/corpus-seed/<target>/`).
pub fn fuzz_seed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus-seed")
        .join(target)
}

/// Feeds every seed of the fuzz target `target` (sorted by name, so a
/// failure is reproducible) to `run`, the target's entry point, and returns
/// what each produced by seed name. Fails when the corpus is missing or
/// holds fewer than 8 seeds, when a seed is 4 KiB or more (seeds stay
/// small), and names every seed that panicked.
pub fn replay_fuzz_seeds<T>(target: &str, run: impl Fn(&[u8]) -> T) -> Vec<(String, T)> {
    let dir = fuzz_seed_dir(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {} missing: {e}", dir.display()))
        .map(|e| {
            let p = e.expect("seed directory entry").path();
            let name = p
                .file_name()
                .expect("seed file name")
                .to_string_lossy()
                .into_owned();
            let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name, data)
        })
        .collect();
    seeds.sort();
    assert!(
        seeds.len() >= 8,
        "{target}: only {} seeds in {}",
        seeds.len(),
        dir.display()
    );
    let mut panicked = Vec::new();
    let mut results = Vec::new();
    for (name, data) in seeds {
        assert!(
            data.len() < 4096,
            "{target}/{name}: seeds must stay < 4 KiB"
        );
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data))) {
            Ok(r) => results.push((name, r)),
            Err(_) => panicked.push(name),
        }
    }
    assert!(panicked.is_empty(), "{target}: panicked on {panicked:?}");
    results
}

/// What the seed `name` produced in a [`replay_fuzz_seeds`] result.
pub fn seed_result<'a, T>(results: &'a [(String, T)], name: &str) -> &'a T {
    &results
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("seed {name} missing"))
        .1
}

/// Every file below `dir` (recursively, links followed as `is_dir` does),
/// in the order the directory listings give; panics on an unreadable
/// folder, as a test should.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("readable dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
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
