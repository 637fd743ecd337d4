//! Evidence arguments that are object store URLs (`s3://bucket/prefix/`,
//! `file:///abs/path/`): with the `object-store` feature their objects are
//! copied to a private spool folder (see `kahu_remote`) and read like any
//! folder, each event and warning naming its object; without it, a clear
//! error naming the feature.

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

/// The flag of the engine in use when it is not the embedded one (for
/// [`resolve`]).
pub(crate) fn other_engine(cluster: bool, engine: crate::engine::Engine) -> Option<&'static str> {
    match (cluster, engine) {
        (true, _) => Some("--cluster"),
        (false, crate::engine::Engine::Datafusion) => Some("--engine datafusion"),
        (false, crate::engine::Engine::Embedded) => None,
    }
}

/// Copy the objects the URL arguments name (none: the paths as given).
/// `engine`: the `--engine`/`--cluster` in use other than the embedded
/// one, which reads shards where they are and so cannot take a URL.
pub(crate) fn resolve(paths: &[PathBuf], engine: Option<&str>, quiet: bool) -> Result<Evidence> {
    let urls = urls(paths);
    if urls.is_empty() {
        return Ok(Evidence {
            paths: paths.to_vec(),
            local: Vec::new(),
            #[cfg(feature = "object-store")]
            _spool: None,
        });
    }
    if let Some(engine) = engine {
        anyhow::bail!(
            "{}: object store evidence is read by the embedded engine only; {engine} reads \
             Parquet shards at a path every node sees (docs/scale-out.md)",
            urls[0]
        );
    }
    spool(paths, &urls, quiet)
}

#[cfg(not(feature = "object-store"))]
fn spool(_: &[PathBuf], urls: &[String], _: bool) -> Result<Evidence> {
    anyhow::bail!(
        "{}: evidence in an object store (s3://, file://) needs kahu built with the \
         `object-store` feature (cargo install --locked --path crates/cli --features object-store)",
        urls[0]
    )
}

#[cfg(feature = "object-store")]
fn spool(paths: &[PathBuf], urls: &[String], quiet: bool) -> Result<Evidence> {
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
    let mut roots = spool.roots.iter();
    let paths = paths
        .iter()
        .map(|p| match p.to_str() {
            Some(s) if urls.iter().any(|u| u == s) => roots.next().cloned().unwrap_or_default(),
            _ => p.clone(),
        })
        .collect();
    Ok(Evidence {
        paths,
        local,
        _spool: Some(spool),
    })
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

    #[test]
    fn urls_are_refused_with_another_engine_before_any_copy() {
        let e = resolve(&[PathBuf::from("s3://bucket/p/")], Some("--cluster"), true)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("s3://bucket/p/: object store evidence is read by the embedded engine only; --cluster"),
            "{e}"
        );
        // Local paths are not affected.
        let dir = tempfile::tempdir().unwrap();
        let ev = resolve(&[dir.path().to_path_buf()], Some("--cluster"), true).unwrap();
        assert_eq!(ev.paths, [dir.path()]);
    }

    #[cfg(not(feature = "object-store"))]
    #[test]
    fn without_the_feature_a_url_names_the_feature() {
        let e = resolve(&[PathBuf::from("s3://bucket/p/")], None, true)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--features object-store"), "{e}");
    }
}
