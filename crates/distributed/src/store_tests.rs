//! Shards read through an object store (`file://` URLs: object_store's
//! local file system store, the code path `s3://` takes but for opening
//! the store): the findings of the same shards as a local folder, and
//! clean errors for bad URLs, empty prefixes and damaged shards.

use crate::tests::{WHOAMI, convert, events, key, rules, temp, truth};
use crate::{Detection, Error, HuntOptions, hunt};
use kahu_intel::IocSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn file_url(dir: &Path) -> PathBuf {
    PathBuf::from(format!("file://{}", dir.display()))
}

fn detection() -> Arc<Detection> {
    Arc::new(Detection {
        rules: vec![rules(&[("whoami.yml", WHOAMI)])],
        iocs: Arc::new(IocSet::new()),
        filter: Default::default(),
    })
}

fn hunt_keys(paths: &[PathBuf], partitions: usize) -> Result<(Vec<String>, u64), Error> {
    let opts = HuntOptions {
        partitions,
        ..HuntOptions::default()
    };
    let out = hunt(paths, detection(), &opts, &|_| {})?;
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    let mut keys: Vec<String> = out.findings.iter().map(key).collect();
    keys.sort();
    Ok((keys, out.events))
}

fn shards_under(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    v.sort();
    v
}

#[test]
fn a_file_url_finds_what_the_folder_finds() {
    let evs = events();
    let dir = temp("store-parity");
    convert(&evs, &dir);
    let set = rules(&[("whoami.yml", WHOAMI)]);
    let want = truth(&set, &evs);
    assert!(want.len() >= 100, "{} findings expected", want.len());
    let (local, n) = hunt_keys(std::slice::from_ref(&dir), 3).expect("folder");
    assert_eq!(n, evs.len() as u64);
    assert!(
        local == want,
        "the folder's findings differ from the detector's"
    );
    for partitions in [1, 3] {
        let (remote, n) = hunt_keys(&[file_url(&dir)], partitions).expect("file://");
        assert_eq!(n, evs.len() as u64);
        assert!(
            remote == want,
            "{partitions} partitions: file:// findings differ"
        );
    }
    // A prefix naming one host's shards only.
    let ws1 = shards_under(&dir)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("host=WS1"))
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .expect("a WS1 folder");
    let (one, _) = hunt_keys(&[file_url(&ws1)], 2).expect("prefix");
    let (folder, _) = hunt_keys(&[ws1], 2).expect("folder");
    assert!(!one.is_empty() && one == folder);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn shards_are_named_by_url_and_other_objects_are_warnings() {
    let dir = temp("store-names");
    convert(&events(), &dir);
    std::fs::write(dir.join("README.txt"), "not a shard").expect("write");
    let out = hunt(
        &[file_url(&dir)],
        detection(),
        &HuntOptions::default(),
        &|_| {},
    )
    .expect("hunt");
    assert!(!out.files.is_empty());
    let prefix = format!("file://{}/", dir.display());
    for (f, size) in &out.files {
        assert!(f.to_string_lossy().starts_with(&prefix), "{}", f.display());
        assert!(*size > 0);
    }
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert_eq!(
        out.warnings[0].file,
        PathBuf::from(format!("{prefix}README.txt"))
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn store_error(paths: &[PathBuf]) -> String {
    match hunt(paths, detection(), &HuntOptions::default(), &|_| {}) {
        Ok(out) => panic!("no error: {} findings", out.findings.len()),
        Err(e @ (Error::Store { .. } | Error::Remote(_) | Error::Shard { .. })) => e.to_string(),
        Err(e) => panic!("another error: {e}"),
    }
}

#[test]
fn bad_urls_and_empty_prefixes_are_errors_naming_them() {
    let dir = temp("store-errors");
    convert(&events(), &dir);
    let cases = [
        ("gs://bucket/shards/", "`gs://` is not read"),
        ("s3:///shards/", "no bucket"),
        ("file://otherhost/shards/", "absolute path on this machine"),
    ];
    for (url, why) in cases {
        let e = store_error(&[PathBuf::from(url)]);
        assert!(e.starts_with(url) && e.contains(why), "{url}: {e}");
    }
    let missing = format!("file://{}/no-such-prefix/", dir.display());
    let e = store_error(&[PathBuf::from(&missing)]);
    assert!(
        e.starts_with(&missing) && e.contains("no object under this prefix"),
        "{e}"
    );
    // One store per run: a bucket with a local folder is refused.
    let e = store_error(&[dir.clone(), PathBuf::from("s3://bucket/shards/")]);
    assert!(e.starts_with("s3://bucket/shards/"), "{e}");
    // A listing over the cap is an error, not a partial read.
    let opts = HuntOptions {
        max_objects: 2,
        ..HuntOptions::default()
    };
    match hunt(&[file_url(&dir)], detection(), &opts, &|_| {}) {
        Err(Error::Remote(kahu_remote::RemoteError::TooMany { max, .. })) => assert_eq!(max, 2),
        other => panic!("{:?}", other.map(|o| o.events)),
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_truncated_or_damaged_shard_in_a_store_fails_the_hunt_naming_it() {
    let dir = temp("store-damage");
    convert(&events(), &dir);
    // A Windows host's shard: routing would skip a Linux one unread.
    let victim = shards_under(&dir)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("host=WS1"))
        .expect("a WS1 shard");
    let url_of = |p: &Path| format!("file://{}", p.display());
    let original = std::fs::read(&victim).expect("read");

    // Cut short (an upload that stopped): the footer is gone.
    std::fs::write(&victim, &original[..original.len() / 2]).expect("write");
    let e = store_error(&[file_url(&dir)]);
    assert!(e.starts_with(&url_of(&victim)), "{e}");
    assert!(e.contains("nothing is reported"), "{e}");

    // The footer intact, the column data overwritten: DataFusion's
    // partition fails, kahu's reader names the shard.
    let mut bytes = original.clone();
    let n = bytes.len();
    let footer = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().expect("4 bytes")) as usize;
    for b in &mut bytes[4..n - 8 - footer] {
        *b = 0xA5;
    }
    std::fs::write(&victim, &bytes).expect("write");
    let e = store_error(&[file_url(&dir)]);
    assert!(e.starts_with(&url_of(&victim)), "{e}");

    // The same damage in a local folder stays a warning (the other shards
    // are hunted), as before.
    let out = hunt(
        std::slice::from_ref(&dir),
        detection(),
        &HuntOptions::default(),
        &|_| {},
    )
    .expect("local hunt");
    assert!(out.warnings.iter().any(|w| w.file == victim));
    std::fs::remove_dir_all(&dir).ok();
}
