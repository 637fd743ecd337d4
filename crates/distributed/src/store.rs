//! Where a hunt's shards are: local paths, or objects under an object
//! store URL — `file:///abs/path/` (object_store's local file system
//! store) and, with the `object-store` feature, `s3://bucket/prefix/`
//! (`AmazonS3Builder::from_env`: credentials, region, `AWS_ENDPOINT`,
//! `AWS_ALLOW_HTTP` from the standard AWS variables). URLs are parsed,
//! stores opened and prefixes listed by `kahu-remote`, as for raw
//! evidence, so both read the same URLs with the same caps and errors.
//!
//! DataFusion scans objects through the store registered under the scan's
//! URL; the driver's own reads (footers, and shards read again with
//! kahu's reader) go through the same store, in ranges ([`ObjectReader`]).
//! One store per hunt: a plan names one store URL.
//!
//! A shard in a store is named by its URL (`s3://bucket/key`,
//! `file:///path`) in warnings and errors. Unlike a local shard, whose
//! damage is a warning (the evidence folder is the analyst's to inspect),
//! a store shard that cannot be fetched or read fails the hunt: a
//! truncated object is most often an upload cut short, and the hunt would
//! otherwise report the bucket's events as read when some were not.

use crate::run::{Error, ShardWarning};
use bytes::Bytes;
use datafusion_execution::object_store::ObjectStoreUrl;
use kahu_remote::Source;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::file::reader::{ChunkReader, Length};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The store a hunt reads, and the objects listed in it by name.
pub(crate) struct Stores {
    /// The URL the scan plan names (`file://` or `s3://bucket`).
    pub url: ObjectStoreUrl,
    /// The store itself, as registered for `url`.
    pub store: Arc<dyn ObjectStore>,
    /// Shards listed from a URL, by the name they are shown under; a name
    /// not here is a local path.
    objects: HashMap<PathBuf, ObjectPath>,
    /// Where the driver's blocking reads run.
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("url", &self.url.as_str())
            .field("objects", &self.objects.len())
            .finish()
    }
}

/// `p` as a URL when it is meant as one: it does not exist as a local
/// path and starts with `scheme://` (the CLI's own rule).
pub(crate) fn as_url(p: &Path) -> Option<&str> {
    if p.exists() {
        return None;
    }
    let s = p.to_str()?;
    let (scheme, _) = s.split_once("://")?;
    (!scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
    .then_some(s)
}

fn bad(url: &str, reason: impl Into<String>) -> Error {
    Error::Store {
        url: url.to_string(),
        reason: reason.into(),
    }
}

fn open(arg: &str, url: &Source) -> Result<(ObjectStoreUrl, Arc<dyn ObjectStore>), Error> {
    let store = url.open(arg)?;
    let surl = match url {
        Source::File { .. } => ObjectStoreUrl::local_filesystem(),
        Source::S3 { bucket, .. } => {
            ObjectStoreUrl::parse(format!("s3://{bucket}")).map_err(|e| bad(arg, e.to_string()))?
        }
    };
    Ok((surl, store))
}

/// Files with their sizes, the problems met listing them, and the store.
pub(crate) type Listed = (Vec<(PathBuf, u64)>, Vec<ShardWarning>, Stores);

/// Every file under `paths`: local folders walked (links inside not
/// followed), URLs listed in their store (at most `max_objects` objects
/// per URL, or an error). Files not named `*.parquet` are warnings.
pub(crate) fn list(
    paths: &[PathBuf],
    max_objects: usize,
    runtime: tokio::runtime::Handle,
) -> Result<Listed, Error> {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    let mut objects = HashMap::new();
    let mut store: Option<(ObjectStoreUrl, Arc<dyn ObjectStore>)> = None;
    let mut local: Option<String> = None;
    for p in paths {
        if let Some(arg) = as_url(p) {
            let url = Source::parse(arg)?;
            let (surl, st) = open(arg, &url)?;
            match &store {
                Some((u, _)) if *u != surl => return Err(mixed(arg, u.as_str())),
                Some(_) => {}
                None => store = Some((surl.clone(), st.clone())),
            }
            if let Some(l) = &local
                && surl != ObjectStoreUrl::local_filesystem()
            {
                return Err(mixed(arg, l));
            }
            let metas = runtime.block_on(kahu_remote::list(st.as_ref(), &url, arg, max_objects))?;
            for meta in metas {
                let name = PathBuf::from(url.name_of(&meta.location).0);
                if meta.location.extension() == Some("parquet") {
                    files.push((name.clone(), meta.size));
                    objects.insert(name, meta.location);
                } else {
                    warnings.push(not_parquet(name));
                }
            }
            continue;
        }
        if !p.exists() {
            return Err(Error::Missing(p.clone()));
        }
        if let Some((u, _)) = &store
            && *u != ObjectStoreUrl::local_filesystem()
        {
            return Err(mixed(&p.display().to_string(), u.as_str()));
        }
        local.get_or_insert_with(|| p.display().to_string());
        walk(p, &mut files, &mut warnings);
    }
    let (url, store) = store.unwrap_or_else(|| {
        (
            ObjectStoreUrl::local_filesystem(),
            Arc::new(object_store::local::LocalFileSystem::new()),
        )
    });
    let stores = Stores {
        url,
        store,
        objects,
        runtime,
    };
    Ok((files, warnings, stores))
}

fn mixed(arg: &str, other: &str) -> Error {
    bad(
        arg,
        format!(
            "the DataFusion engine reads the shards of one run from one store; \
             {other} is another (run one hunt per store, or copy the shards into one)"
        ),
    )
}

fn not_parquet(file: PathBuf) -> ShardWarning {
    ShardWarning {
        file,
        row: None,
        reason: "not a .parquet file: the DataFusion engine reads only kahu Parquet shards; file skipped".into(),
    }
}

fn walk(p: &Path, files: &mut Vec<(PathBuf, u64)>, warnings: &mut Vec<ShardWarning>) {
    for entry in walkdir::WalkDir::new(p)
        .follow_links(false)
        .sort_by_file_name()
    {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let size = e.metadata().map_or(0, |m| m.len());
                let path = e.into_path();
                if path.extension().is_some_and(|x| x == "parquet") {
                    files.push((path, size));
                } else {
                    warnings.push(not_parquet(path));
                }
            }
            Ok(_) => {}
            Err(err) => warnings.push(ShardWarning {
                file: err.path().unwrap_or(p).to_path_buf(),
                row: None,
                reason: format!("cannot read: {err}"),
            }),
        }
    }
}

impl Stores {
    /// The location the scan plan gives `name` in [`Stores::store`].
    pub fn location(&self, name: &Path) -> Result<ObjectPath, Error> {
        if let Some(l) = self.objects.get(name) {
            return Ok(l.clone());
        }
        // The object store's own conversion (percent-encoding and all), as
        // DataFusion's listing does it.
        ObjectPath::from_filesystem_path(name).map_err(|e| {
            Error::DataFusion(datafusion_common::DataFusionError::External(Box::new(e)))
        })
    }

    /// Whether `name` is a shard in a store (not a local path).
    pub fn is_object(&self, name: &Path) -> bool {
        self.objects.contains_key(name)
    }

    /// A reader of shard `name` for the Parquet crate: the local file, or
    /// the object read in ranges through the store.
    pub fn reader(&self, name: &Path, size: u64) -> Result<ShardReader, String> {
        match self.objects.get(name) {
            Some(location) => Ok(ShardReader::Object(ObjectReader {
                store: self.store.clone(),
                location: location.clone(),
                size,
                runtime: self.runtime.clone(),
                block: Arc::default(),
            })),
            None => std::fs::File::open(name)
                .map(ShardReader::Local)
                .map_err(|e| format!("cannot read: {e}")),
        }
    }

    /// The first problem with a store shard among `warnings`, as the error
    /// that fails the hunt (see the module documentation); files that are
    /// not `.parquet` are not shards and stay warnings.
    pub fn fail_on_damage(&self, warnings: &[ShardWarning]) -> Result<(), Error> {
        match warnings
            .iter()
            .find(|w| self.is_object(&w.file) && !w.reason.starts_with("not a .parquet file"))
        {
            Some(w) => Err(Error::Shard {
                object: w.file.display().to_string(),
                row: w.row,
                // The hunt stops: nothing of the file is skipped to go on.
                reason: w
                    .reason
                    .trim_end_matches("; rest of the file skipped")
                    .to_string(),
            }),
            None => Ok(()),
        }
    }
}

/// A shard for the Parquet crate's readers.
pub(crate) enum ShardReader {
    /// A local file.
    Local(std::fs::File),
    /// An object in a store.
    Object(ObjectReader),
}

impl Length for ShardReader {
    fn len(&self) -> u64 {
        match self {
            ShardReader::Local(f) => f.len(),
            ShardReader::Object(o) => o.size,
        }
    }
}

impl ChunkReader for ShardReader {
    type T = Box<dyn std::io::Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        match self {
            ShardReader::Local(f) => Ok(Box::new(f.get_read(start)?)),
            ShardReader::Object(o) => Ok(Box::new(ObjectRead {
                object: o.clone(),
                pos: start.min(o.size),
                buf: Bytes::new(),
            })),
        }
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self {
            ShardReader::Local(f) => f.get_bytes(start, length),
            ShardReader::Object(o) => o.bytes(start, length),
        }
    }
}

/// Bytes fetched from the store at once when a small range is asked for:
/// the sync Parquet reader asks for each page header, then its data, so
/// one fetch serves many pages.
const BLOCK: u64 = 8 << 20;

/// An object read in ranges (blocking, on the hunt's runtime), with the
/// last block fetched kept.
#[derive(Clone)]
pub(crate) struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    location: ObjectPath,
    size: u64,
    runtime: tokio::runtime::Handle,
    /// The last block fetched: its start and bytes.
    block: Arc<Mutex<Option<(u64, Bytes)>>>,
}

impl ObjectReader {
    fn bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let end = start
            .checked_add(length as u64)
            .filter(|&e| e <= self.size)
            .ok_or_else(|| {
                parquet::errors::ParquetError::EOF(format!(
                    "bytes {start}+{length} asked of an object of {} bytes",
                    self.size
                ))
            })?;
        let mut block = self.block.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, b)) = block.as_ref()
            && start >= *at
            && end <= at + b.len() as u64
        {
            return Ok(b.slice((start - at) as usize..(end - at) as usize));
        }
        if end - start > BLOCK {
            return self.fetch(start..end);
        }
        let b = self.fetch(start..(start + BLOCK).min(self.size))?;
        let out = b.slice(..length);
        *block = Some((start, b));
        Ok(out)
    }

    fn fetch(&self, range: std::ops::Range<u64>) -> parquet::errors::Result<Bytes> {
        let want = range.end - range.start;
        let got = self
            .runtime
            .block_on(self.store.get_range(&self.location, range))
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        if got.len() as u64 != want {
            // The object changed (shrank) since it was listed.
            return Err(parquet::errors::ParquetError::EOF(format!(
                "{want} bytes asked, {} fetched: the object changed since it was listed",
                got.len()
            )));
        }
        Ok(got)
    }
}

/// Sequential reads of an object from a position, block by block.
struct ObjectRead {
    object: ObjectReader,
    pos: u64,
    buf: Bytes,
}

impl std::io::Read for ObjectRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.buf.is_empty() {
            let n = (self.object.size - self.pos).min(BLOCK) as usize;
            if n == 0 {
                return Ok(0);
            }
            self.buf = self
                .object
                .bytes(self.pos, n)
                .map_err(std::io::Error::other)?;
            self.pos += n as u64;
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        Ok(n)
    }
}

/// The object stores a kahu executor reads shards from: the local file
/// system (DataFusion's default), and per S3 bucket a store built from
/// the executor's own AWS environment when a plan first names it
/// (feature `object-store`): the plan carries the bucket, never
/// credentials.
#[cfg(feature = "cluster")]
#[derive(Debug, Default)]
pub(crate) struct KahuStores {
    inner: datafusion_execution::object_store::DefaultObjectStoreRegistry,
}

#[cfg(feature = "cluster")]
impl datafusion_execution::object_store::ObjectStoreRegistry for KahuStores {
    fn register_store(
        &self,
        url: &url::Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn deregister_store(&self, url: &url::Url) -> datafusion_common::Result<Arc<dyn ObjectStore>> {
        self.inner.deregister_store(url)
    }

    fn get_store(&self, url: &url::Url) -> datafusion_common::Result<Arc<dyn ObjectStore>> {
        let err = match self.inner.get_store(url) {
            Ok(s) => return Ok(s),
            Err(e) => e,
        };
        #[cfg(feature = "object-store")]
        if let ("s3", Some(bucket)) = (url.scheme(), url.host_str()) {
            let store = kahu_remote::s3_store(bucket).map_err(|e| {
                datafusion_common::DataFusionError::Execution(format!(
                    "kahu executor cannot open s3://{bucket}: {e}"
                ))
            })?;
            self.inner.register_store(url, store.clone());
            return Ok(store);
        }
        Err(err)
    }
}
