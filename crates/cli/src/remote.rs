//! Evidence arguments that are object store URLs (`s3://bucket/prefix/`,
//! `file:///abs/path/`): with the `object-store` feature their objects are
//! copied to a private spool folder (see `kahu_remote`) and read like any
//! folder, each event and warning naming its object; without it, a clear
//! error naming the feature.
//!
//! With `--engine datafusion` or `--cluster` the engine reads the Parquet
//! shards under the URL from the store itself (`kahu_distributed`: the
//! client's and every executor's DataFusion runtime open it); the spool
//! folder then stands for the URL, holding copies only when a local pass
//! (analytics, case store, indicators on a cluster) must read every event
//! on this machine, and nothing otherwise.

use anyhow::Result;
use std::path::PathBuf;

/// The evidence paths to read, with the copies they need kept alive.
pub(crate) struct Evidence {
    /// The arguments as given, each URL replaced by its spool folder.
    pub paths: Vec<PathBuf>,
    /// The local folders `file://` URLs name: outputs may not go there
    /// any more than into a local evidence folder.
    pub local: Vec<PathBuf>,
    /// The copies, removed when this is dropped (end of the command).
    #[cfg(feature = "object-store")]
    _spool: Option<kahu_remote::Spool>,
}

/// Whether `arg` is meant as a URL (`scheme://…`) rather than a path.
fn looks_like_url(arg: &str) -> bool {
    arg.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// The URL arguments: a URL-looking argument that exists as a local path
/// is a path.
fn urls(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .filter(|p| !p.exists())
        .filter_map(|p| p.to_str())
        .filter(|s| looks_like_url(s))
        .map(str::to_string)
        .collect()
}

/// How URL arguments are read with these flags (for [`resolve`]):
/// `local_pass` says whether the detection stage will read every event on
/// this machine besides the engine.
pub(crate) fn reading(cluster: bool, engine: crate::engine::Engine, local_pass: bool) -> Reading {
    match (cluster, engine) {
        (false, crate::engine::Engine::Embedded) => Reading::Embedded,
        _ => Reading::Engine { local_pass },
    }
}

/// How the URL arguments are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// By kahu's readers on this machine: every object copied.
    Embedded,
    /// By `--engine datafusion` or `--cluster` from the store, and by a
    /// local pass over copies when `local_pass`.
    Engine {
        /// The detection stage reads every event here too (analytics,
        /// case store, indicators the engine does not match).
        #[cfg_attr(
            not(feature = "object-store"),
            allow(dead_code, reason = "without the feature every URL is refused")
        )]
        local_pass: bool,
    },
}

/// Copy the objects the URL arguments name (none: the paths as given),
/// or, for an engine, stand a spool folder in for each URL (see the
/// module documentation).
pub(crate) fn resolve(paths: &[PathBuf], reading: Reading, quiet: bool) -> Result<Evidence> {
    let urls = urls(paths);
    if urls.is_empty() {
        return Ok(Evidence {
            paths: paths.to_vec(),
            local: Vec::new(),
            #[cfg(feature = "object-store")]
            _spool: None,
        });
    }
    spool(paths, &urls, reading, quiet)
}

/// The paths an engine reads for `paths` (the detection stage's evidence):
/// a spool folder standing for a URL is the URL again.
#[cfg(feature = "datafusion")]
pub(crate) fn engine_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    let roots = ENGINE_URLS.lock().unwrap_or_else(|e| e.into_inner());
    paths
        .iter()
        .map(|p| match roots.iter().find(|(root, _)| root == p) {
            Some((_, url)) => PathBuf::from(url),
            None => p.clone(),
        })
        .collect()
}

/// Spool folders standing for URLs an engine reads from the store.
#[cfg(feature = "datafusion")]
static ENGINE_URLS: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());

#[cfg(not(feature = "object-store"))]
fn spool(_: &[PathBuf], urls: &[String], _: Reading, _: bool) -> Result<Evidence> {
    anyhow::bail!(
        "{}: evidence in an object store (s3://, file://) needs kahu built with the \
         `object-store` feature (cargo install --locked --path crates/cli --features object-store)",
        urls[0]
    )
}

#[cfg(feature = "object-store")]
fn spool(paths: &[PathBuf], urls: &[String], reading: Reading, quiet: bool) -> Result<Evidence> {
    use anyhow::Context;
    let limits = limits()?;
    let mut local = Vec::new();
    for u in urls {
        if let kahu_remote::Source::File { .. } = kahu_remote::Source::parse(u)? {
            let path = url_file_path(u)?;
            if !path.exists() {
                anyhow::bail!("{u}: {} does not exist", path.display());
            }
            local.push(path);
        }
    }
    let copy = match reading {
        Reading::Embedded => true,
        Reading::Engine { local_pass } => {
            if !cfg!(feature = "datafusion") {
                anyhow::bail!(
                    "{}: an engine other than the embedded one needs kahu built with `datafusion`",
                    urls[0]
                );
            }
            local_pass
        }
    };
    if !copy {
        let spool =
            kahu_remote::placeholders(urls, None).context("object store evidence not read")?;
        return Ok(engine_evidence(paths, urls, local, spool));
    }
    if !quiet {
        eprintln!(
            "copying the objects under {} to a private spool folder (removed at the end)…",
            urls.join(", ")
        );
    }
    let spool =
        kahu_remote::spool(urls, None, &limits).context("object store evidence not read")?;
    if !quiet {
        eprintln!(
            "object store: {} object(s), {} bytes copied{}",
            spool.objects,
            spool.bytes,
            match spool.not_copied.len() {
                0 => String::new(),
                n => format!("; {n} over the spool caps not read (named in the warnings)"),
            }
        );
    }
    Ok(match reading {
        Reading::Embedded => Evidence {
            paths: replace_urls(paths, urls, &spool),
            local,
            _spool: Some(spool),
        },
        Reading::Engine { .. } => engine_evidence(paths, urls, local, spool),
    })
}

/// `paths` with each URL replaced by its spool folder.
#[cfg(feature = "object-store")]
fn replace_urls(paths: &[PathBuf], urls: &[String], spool: &kahu_remote::Spool) -> Vec<PathBuf> {
    let mut roots = spool.roots.iter();
    paths
        .iter()
        .map(|p| match p.to_str() {
            Some(s) if urls.iter().any(|u| u == s) => roots.next().cloned().unwrap_or_default(),
            _ => p.clone(),
        })
        .collect()
}

/// The evidence of an engine run: spool folders in place of the URLs,
/// each remembered as standing for its URL (`engine_paths`).
#[cfg(feature = "object-store")]
fn engine_evidence(
    paths: &[PathBuf],
    urls: &[String],
    local: Vec<PathBuf>,
    spool: kahu_remote::Spool,
) -> Evidence {
    #[cfg(feature = "datafusion")]
    ENGINE_URLS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(spool.roots.iter().cloned().zip(urls.iter().cloned()));
    Evidence {
        paths: replace_urls(paths, urls, &spool),
        local,
        _spool: Some(spool),
    }
}

/// The `KAHU_OBJECT_MAX_COUNT` cap for an engine's listing of a URL.
#[cfg(feature = "datafusion")]
pub(crate) fn max_objects() -> usize {
    #[cfg(feature = "object-store")]
    if let Ok(l) = limits() {
        return l.max_objects;
    }
    kahu_distributed::HuntOptions::default().max_objects
}

/// The local path a `file://` URL names.
#[cfg(feature = "object-store")]
fn url_file_path(u: &str) -> Result<PathBuf> {
    url::Url::parse(u)
        .ok()
        .and_then(|x| x.to_file_path().ok())
        .ok_or_else(|| anyhow::anyhow!("{u}: not a file URL naming an absolute path"))
}

/// The caps, from `KAHU_OBJECT_MAX_COUNT`, `KAHU_OBJECT_MAX_BYTES` and
/// `KAHU_SPOOL_MAX_BYTES` when set.
#[cfg(feature = "object-store")]
fn limits() -> Result<kahu_remote::Limits> {
    let mut l = kahu_remote::Limits::default();
    let var = |name: &str| -> Result<Option<u64>> {
        match std::env::var(name) {
            Ok(v) => v
                .trim()
                .parse::<u64>()
                .map(Some)
                .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a whole number")),
            Err(_) => Ok(None),
        }
    };
    if let Some(n) = var("KAHU_OBJECT_MAX_COUNT")? {
        l.max_objects = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = var("KAHU_OBJECT_MAX_BYTES")? {
        l.max_object_bytes = n;
    }
    if let Some(n) = var("KAHU_SPOOL_MAX_BYTES")? {
        l.max_total_bytes = n;
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths() {
        assert!(looks_like_url("s3://b/x") && looks_like_url("file:///x"));
        assert!(looks_like_url("gs://b/x"), "refused later with a reason");
        assert!(!looks_like_url("./s3:/x") && !looks_like_url("/evidence/a.evtx"));
        assert!(!looks_like_url("a b://x") && !looks_like_url("://x"));
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            urls(&[PathBuf::from("s3://bucket/p/"), dir.path().to_path_buf()]),
            ["s3://bucket/p/"]
        );
    }

    /// An engine with no local pass gets an empty folder standing for
    /// the URL (nothing copied, nothing listed yet), which it reads as the
    /// URL again; local paths are not touched.
    #[cfg(all(feature = "object-store", feature = "datafusion"))]
    #[test]
    fn an_engine_reads_the_url_itself_and_nothing_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        let url = PathBuf::from("s3://bucket-that-is-never-listed/p/");
        let reading = reading(true, crate::engine::Engine::Embedded, false);
        let ev = resolve(&[url.clone(), dir.path().to_path_buf()], reading, true).unwrap();
        assert_ne!(ev.paths[0], url);
        assert_eq!(ev.paths[1], dir.path());
        assert_eq!(std::fs::read_dir(&ev.paths[0]).unwrap().count(), 0);
        assert_eq!(engine_paths(&ev.paths), [url, dir.path().to_path_buf()]);
        // A URL kahu does not read is refused before anything else.
        let e = resolve(&[PathBuf::from("gs://b/p/")], reading, true)
            .err()
            .unwrap();
        assert!(format!("{e:#}").contains("`gs://` is not read"), "{e:#}");
    }

    #[cfg(not(feature = "object-store"))]
    #[test]
    fn without_the_feature_a_url_names_the_feature() {
        let e = resolve(&[PathBuf::from("s3://bucket/p/")], Reading::Embedded, true)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--features object-store"), "{e}");
    }
}
