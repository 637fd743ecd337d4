//! Evidence in an object store: `s3://bucket/prefix/` (and
//! `file:///abs/path/`, through `object_store`'s local file system store,
//! the same code path) listed and copied to a private local folder, which
//! kahu's readers then read like any folder of evidence.
//!
//! Why a copy: EVTX and zip readers seek, and every other kahu reader takes
//! a file; a copy keeps one reading path for every format, with the same
//! results as a local folder. What bounds it: each object is streamed to
//! disk in the chunks the store sends (memory stays at one chunk), an
//! object over [`Limits::max_object_bytes`] or past
//! [`Limits::max_total_bytes`] is not copied but named with the reason
//! (the readers turn that into a warning, see
//! [`kahu_event::EvidenceName::not_read`]), and a listing of more than
//! [`Limits::max_objects`] objects is an error.
//!
//! Object keys are attacker-influenced: a local copy's file name is its
//! number in the listing (`000001`), never the key, so no key can name a
//! path outside the spool folder; the key is only the name shown (through
//! [`kahu_event::register_evidence_name`]), which outputs escape as they
//! escape any evidence file name.
//!
//! Only reads are made (list, head, get): the store is never written.

use futures::StreamExt;
use kahu_event::EvidenceName;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Caps on what one run copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most objects one URL may list (a listing over it is an error, not a
    /// partial read).
    pub max_objects: usize,
    /// Largest object copied; a larger one is named with the reason.
    pub max_object_bytes: u64,
    /// Most bytes copied in all; objects past it are named with the reason.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    /// 100,000 objects, 4 GiB per object, 32 GiB in all.
    fn default() -> Self {
        Limits {
            max_objects: 100_000,
            max_object_bytes: 4 << 30,
            max_total_bytes: 32 << 30,
        }
    }
}

/// Why object store evidence could not be read. Every variant names the
/// URL (and the object) it is about.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The argument is not an object store URL kahu reads.
    #[error("{url}: {reason}")]
    BadUrl {
        /// The argument.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store could not be set up (missing bucket, bad configuration).
    #[error("{url}: cannot open the object store: {error}")]
    Open {
        /// The URL.
        url: String,
        /// object_store's error (in the message, not a `source()`: its
        /// text already holds its causes, and the CLI prints chains).
        error: object_store::Error,
    },
    /// Listing the prefix failed (network, permissions, an object name
    /// object_store refuses).
    #[error("{url}: cannot list the objects: {error}")]
    List {
        /// The URL.
        url: String,
        /// object_store's error (in the message, see `Open`).
        error: object_store::Error,
    },
    /// More objects than [`Limits::max_objects`].
    #[error(
        "{url}: more than {max} objects under this prefix; not read (name a narrower prefix, or raise KAHU_OBJECT_MAX_COUNT)"
    )]
    TooMany {
        /// The URL.
        url: String,
        /// The cap.
        max: usize,
    },
    /// Nothing under the prefix.
    #[error("{url}: no object under this prefix")]
    Empty {
        /// The URL.
        url: String,
    },
    /// Fetching an object failed (after object_store's own retries).
    #[error("{object}: cannot fetch the object: {error}")]
    Fetch {
        /// The object's URL.
        object: String,
        /// object_store's error (in the message, see `Open`).
        error: object_store::Error,
    },
    /// The local copy could not be written.
    #[error("{what}: {error}")]
    Spool {
        /// What was being done.
        what: String,
        /// The file system's error.
        error: std::io::Error,
    },
}

/// A URL kahu reads evidence from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `s3://bucket/prefix`.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix.
        prefix: ObjectPath,
    },
    /// `file:///abs/path`: the local file system through object_store.
    File {
        /// The path, relative to the file system root.
        prefix: ObjectPath,
    },
}

impl Source {
    /// Parse an evidence argument.
    pub fn parse(arg: &str) -> Result<Source, RemoteError> {
        let bad = |reason: &str| RemoteError::BadUrl {
            url: arg.to_string(),
            reason: reason.to_string(),
        };
        let url = url::Url::parse(arg).map_err(|e| bad(&format!("not a URL ({e})")))?;
        let prefix = ObjectPath::from_url_path(url.path())
            .map_err(|e| bad(&format!("not an object path ({e})")))?;
        match url.scheme() {
            "s3" => {
                let bucket = url.host_str().unwrap_or_default();
                if bucket.is_empty() {
                    return Err(bad("no bucket (s3://BUCKET/PREFIX)"));
                }
                Ok(Source::S3 {
                    bucket: bucket.to_string(),
                    prefix,
                })
            }
            "file" => {
                if url
                    .host_str()
                    .is_some_and(|h| !h.is_empty() && h != "localhost")
                {
                    return Err(bad(
                        "a file URL names an absolute path on this machine (file:///abs/path)",
                    ));
                }
                Ok(Source::File { prefix })
            }
            other => Err(bad(&format!(
                "`{other}://` is not read; object store evidence is `s3://` or `file://`"
            ))),
        }
    }

    /// The store to read from: S3 configured only from the standard AWS
    /// environment variables (credentials, region, `AWS_ENDPOINT`,
    /// `AWS_ALLOW_HTTP`), never from the command line. `url` is the
    /// argument, for the error.
    pub fn open(&self, url: &str) -> Result<Arc<dyn ObjectStore>, RemoteError> {
        match self {
            #[cfg(feature = "s3")]
            Source::S3 { bucket, .. } => s3_store(bucket).map_err(|error| RemoteError::Open {
                url: url.to_string(),
                error,
            }),
            #[cfg(not(feature = "s3"))]
            Source::S3 { .. } => Err(RemoteError::BadUrl {
                url: url.to_string(),
                reason: "`s3://` needs kahu built with the `object-store` feature".into(),
            }),
            Source::File { .. } => Ok(Arc::new(object_store::local::LocalFileSystem::new())),
        }
    }

    /// The key prefix (or one object's key) the URL names.
    pub fn prefix(&self) -> &ObjectPath {
        match self {
            Source::S3 { prefix, .. } | Source::File { prefix } => prefix,
        }
    }

    /// The name an object is shown by, and its path components (what a
    /// local file's path would give the host and format hints).
    pub fn name_of(&self, location: &ObjectPath) -> (String, Vec<String>) {
        let parts = location.parts().map(|p| p.as_ref().to_string());
        match self {
            Source::S3 { bucket, .. } => (
                format!("s3://{bucket}/{location}"),
                std::iter::once(bucket.clone()).chain(parts).collect(),
            ),
            Source::File { .. } => (
                format!("file:///{location}"),
                std::iter::once("/".to_string()).chain(parts).collect(),
            ),
        }
    }
}

/// The S3 store for `bucket`, configured from the AWS environment only
/// (see [`Source::open`]); also what a kahu cluster executor opens for a
/// bucket a plan names.
#[cfg(feature = "s3")]
pub fn s3_store(bucket: &str) -> Result<Arc<dyn ObjectStore>, object_store::Error> {
    object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
}

/// One object not copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotCopied {
    /// The object's URL.
    pub object: String,
    /// Why (the cap it is over).
    pub reason: String,
}

/// The local copies of the objects under some URLs. The folder and every
/// copy are removed when it is dropped.
#[derive(Debug)]
pub struct Spool {
    dir: tempfile::TempDir,
    /// One local folder per URL, in the order given: the evidence paths to
    /// read instead of the URLs.
    pub roots: Vec<PathBuf>,
    /// Objects copied.
    pub objects: usize,
    /// Bytes copied.
    pub bytes: u64,
    /// Objects listed but not copied, with the reason.
    pub not_copied: Vec<NotCopied>,
}

impl Spool {
    /// The private folder holding the copies.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        kahu_event::forget_evidence_names_under(self.dir.path());
    }
}

/// List every URL and copy its objects into a new private folder under
/// `parent` (the system's temporary folder when `None`), registering each
/// copy's name. Blocks until every object is copied; any listing or fetch
/// error fails the whole call (and the folder is removed): an object that
/// could not be fetched would otherwise be evidence silently missing.
pub fn spool(
    urls: &[String],
    parent: Option<&Path>,
    limits: &Limits,
) -> Result<Spool, RemoteError> {
    let sources: Vec<Source> = urls
        .iter()
        .map(|u| Source::parse(u))
        .collect::<Result<_, _>>()?;
    let stores = sources
        .iter()
        .zip(urls)
        .map(|(s, u)| s.open(u))
        .collect::<Result<Vec<_>, _>>()?;
    let targets: Vec<(Arc<dyn ObjectStore>, Source, String)> = stores
        .into_iter()
        .zip(sources)
        .zip(urls.iter().cloned())
        .map(|((st, so), u)| (st, so, u))
        .collect();
    spool_from(&targets, parent, limits)
}

/// A spool folder with one empty local folder per URL, registered under
/// the URL's name, and nothing copied: for a run whose engine reads the
/// objects from the store itself (the DataFusion engine over Parquet
/// shards, `kahu hunt --engine datafusion s3://…`) and needs no local
/// copy. The URLs are checked as [`spool`] checks them.
pub fn placeholders(urls: &[String], parent: Option<&Path>) -> Result<Spool, RemoteError> {
    for u in urls {
        Source::parse(u)?;
    }
    let mut spool = new_spool(parent)?;
    for (i, url) in urls.iter().enumerate() {
        spool.add_root(i, url)?;
    }
    Ok(spool)
}

fn new_spool(parent: Option<&Path>) -> Result<Spool, RemoteError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("kahu-spool-");
    let dir = match parent {
        Some(p) => builder.tempdir_in(p),
        None => builder.tempdir(),
    }
    .map_err(|error| RemoteError::Spool {
        what: "cannot create a spool folder".into(),
        error,
    })?;
    Ok(Spool {
        dir,
        roots: Vec::new(),
        objects: 0,
        bytes: 0,
        not_copied: Vec::new(),
    })
}

impl Spool {
    /// A new folder for the `i`th URL, standing for it (case fingerprint,
    /// report).
    fn add_root(&mut self, i: usize, url: &str) -> Result<PathBuf, RemoteError> {
        let root = self.dir.path().join(format!("{:03}", i + 1));
        std::fs::create_dir(&root).map_err(|error| RemoteError::Spool {
            what: "cannot create a spool folder".into(),
            error,
        })?;
        kahu_event::register_evidence_name(
            root.clone(),
            EvidenceName {
                name: Arc::from(url),
                components: Vec::new(),
                not_read: None,
            },
        );
        self.roots.push(root.clone());
        Ok(root)
    }
}

/// [`spool`] over stores already opened (tests use object_store's
/// in-memory store).
pub fn spool_from(
    targets: &[(Arc<dyn ObjectStore>, Source, String)],
    parent: Option<&Path>,
    limits: &Limits,
) -> Result<Spool, RemoteError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |error| RemoteError::Spool { what, error }
    };
    let mut spool = new_spool(parent)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io("cannot start the object store client"))?;
    for (i, (store, source, url)) in targets.iter().enumerate() {
        let root = spool.add_root(i, url)?;
        let objects = runtime.block_on(list(store.as_ref(), source, url, limits.max_objects))?;
        for (n, meta) in objects.iter().enumerate() {
            let local = root.join(format!("{:06}", n + 1));
            runtime.block_on(copy(
                store.as_ref(),
                source,
                meta,
                &local,
                limits,
                &mut spool,
            ))?;
        }
    }
    Ok(spool)
}

/// Every object under the source's prefix, in key order; the object the
/// prefix names when it is one object's key. Nothing there is an error
/// ([`RemoteError::Empty`]), as is a listing over `max` objects (never a
/// partial read). `url` is the argument, for the errors.
pub async fn list(
    store: &dyn ObjectStore,
    source: &Source,
    url: &str,
    max: usize,
) -> Result<Vec<ObjectMeta>, RemoteError> {
    let list_err = |error| RemoteError::List {
        url: url.to_string(),
        error,
    };
    let prefix = source.prefix();
    let mut out = Vec::new();
    let mut stream = store.list(Some(prefix));
    while let Some(meta) = stream.next().await {
        if out.len() == max {
            return Err(RemoteError::TooMany {
                url: url.to_string(),
                max,
            });
        }
        out.push(meta.map_err(list_err)?);
    }
    if out.is_empty() && !prefix.as_ref().is_empty() {
        match store.head(prefix).await {
            Ok(meta) => out.push(meta),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(list_err(e)),
        }
    }
    if out.is_empty() {
        return Err(RemoteError::Empty {
            url: url.to_string(),
        });
    }
    out.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(out)
}

/// Copy one object to `local` (a new file), or leave `local` empty and
/// name the object with the cap it is over.
async fn copy(
    store: &dyn ObjectStore,
    source: &Source,
    meta: &ObjectMeta,
    local: &Path,
    limits: &Limits,
    spool: &mut Spool,
) -> Result<(), RemoteError> {
    let (name, components) = source.name_of(&meta.location);
    let spool_err = |error| RemoteError::Spool {
        what: format!("cannot copy {name} to {}", local.display()),
        error,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(local)
        .map_err(spool_err)?;
    let mut not_read = over_cap(meta.size, spool.bytes, limits, "");
    if not_read.is_none() {
        let fetch_err = |error| RemoteError::Fetch {
            object: name.clone(),
            error,
        };
        let mut stream = store
            .get(&meta.location)
            .await
            .map_err(fetch_err)?
            .into_stream();
        let mut copied = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(fetch_err)?;
            copied += chunk.len() as u64;
            // The object may have grown since it was listed.
            if let Some(why) = over_cap(copied, spool.bytes, limits, "at least ") {
                not_read = Some(why);
                break;
            }
            file.write_all(&chunk).map_err(spool_err)?;
        }
        if not_read.is_none() {
            spool.bytes += copied;
            spool.objects += 1;
        } else {
            file.set_len(0).map_err(spool_err)?;
        }
    }
    if let Some(reason) = &not_read {
        spool.not_copied.push(NotCopied {
            object: name.clone(),
            reason: reason.clone(),
        });
    }
    kahu_event::register_evidence_name(
        local.to_path_buf(),
        EvidenceName {
            name: Arc::from(name),
            components,
            not_read,
        },
    );
    Ok(())
}

/// Why an object of `size` bytes (`at`: "" when the size is known, "at
/// least " while it is being copied) is not copied when `total` are
/// already, or `None`.
fn over_cap(size: u64, total: u64, limits: &Limits, at: &str) -> Option<String> {
    if size > limits.max_object_bytes {
        Some(format!(
            "object of {at}{size} bytes is over the {}-byte cap per object \
             (KAHU_OBJECT_MAX_BYTES); not read, the evidence is incomplete",
            limits.max_object_bytes
        ))
    } else if total.saturating_add(size) > limits.max_total_bytes {
        Some(format!(
            "object of {at}{size} bytes would take the copied evidence past the \
             {}-byte total cap (KAHU_SPOOL_MAX_BYTES); not read, the evidence is incomplete",
            limits.max_total_bytes
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
