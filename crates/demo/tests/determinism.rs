//! Same seed → byte-identical output; different seed → different output.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_demo::{DEFAULT_SEED, DemoOptions, generate};
use sha2::{Digest, Sha256};
use std::path::Path;

fn tree_hash(dir: &Path) -> (String, u64, usize) {
    let mut files: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().to_path_buf())
        .collect();
    files.sort();
    let mut h = Sha256::new();
    let mut bytes = 0;
    for f in &files {
        let data = std::fs::read(f).expect("read generated file");
        bytes += data.len() as u64;
        h.update(
            f.strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .as_bytes(),
        );
        h.update([0]);
        h.update(&data);
    }
    (hex::encode(h.finalize()), bytes, files.len())
}

#[test]
fn same_seed_gives_identical_bytes() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let opts = DemoOptions::small();
    let ta = generate(a.path(), DEFAULT_SEED, &opts).expect("generate a");
    let tb = generate(b.path(), DEFAULT_SEED, &opts).expect("generate b");
    assert_eq!(ta, tb);
    let (ha, bytes, n) = tree_hash(a.path());
    let (hb, _, _) = tree_hash(b.path());
    assert_eq!(ha, hb, "same seed must give byte-identical trees");
    assert!(n > 10 && bytes > 1_000_000, "{n} files, {bytes} bytes");

    let c = tempfile::tempdir().expect("tempdir");
    generate(c.path(), DEFAULT_SEED + 1, &opts).expect("generate c");
    assert_ne!(
        tree_hash(c.path()).0,
        ha,
        "a different seed must change the output"
    );
}
