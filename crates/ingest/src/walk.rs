//! Reading evidence paths: directories, archives and plain files, one file
//! at a time or many in parallel, with a per-file inventory.

use crate::archive::{self, Budget, Container, Item, Limits, MemoryBudget};
use crate::timecheck::TimeAgreement;
use crate::{
    EvidenceCoverage, Format, Input, NOTE_PREFIX, Origin, SNIFF_LEN, Sink, Warning, all_formats,
    hostname,
};
use kahu_event::{Event, Timestamp};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One evidence file (or archive member) as read: what the inventory of a
/// case lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    /// The file on disk.
    pub path: Arc<str>,
    /// Member path inside an archive (nested members joined with `!`).
    pub member: Option<Arc<str>>,
    /// Size in bytes (decompressed size for members).
    pub size: u64,
    /// SHA-256 of the content, when hashing was asked for.
    pub sha256: Option<String>,
    /// Format name (`evtx`, `json`…), container kind (`zip`, `tar`,
    /// `gzip`), or `None` when no reader recognised it.
    pub format: Option<&'static str>,
    /// Events read from it.
    pub events: u64,
    /// Warnings raised while reading it.
    pub warnings: u64,
    /// Host name inferred from the collection layout.
    pub host_hint: Option<Arc<str>>,
    /// Events in it without time, host or log source.
    pub coverage: EvidenceCoverage,
}

/// What [`Reader::read_paths_parallel`] returns.
#[derive(Debug)]
pub struct ParallelRead<S> {
    /// The sinks made by the caller's factory, each having received the
    /// events of some of the files.
    pub sinks: Vec<S>,
    /// Every file and member read, sorted by path and member.
    pub inventory: Vec<FileEntry>,
}

/// Reads evidence with a fixed set of formats and limits. Cheap to share
/// between threads.
pub struct Reader {
    formats: Vec<Box<dyn Format>>,
    limits: Limits,
    /// Archive member bytes held in memory, shared by every thread.
    memory: Arc<MemoryBudget>,
    sha256: bool,
}

impl Default for Reader {
    fn default() -> Self {
        Reader::new()
    }
}

impl Reader {
    /// A reader with every registered format and default limits, no hashing.
    pub fn new() -> Self {
        Reader {
            formats: all_formats(),
            limits: Limits::default(),
            memory: Arc::new(MemoryBudget::new(Limits::default().max_in_memory)),
            sha256: false,
        }
    }

    /// Use these archive limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self.memory = Arc::new(MemoryBudget::new(limits.max_in_memory));
        self
    }

    /// The most bytes of archive members this reader has held in memory
    /// at once, across threads (bounded by [`Limits::max_in_memory`]).
    pub fn peak_archive_memory(&self) -> u64 {
        self.memory.peak()
    }

    /// Compute a SHA-256 for every file and member (costs a second pass
    /// over the bytes; off by default).
    pub fn with_sha256(mut self, on: bool) -> Self {
        self.sha256 = on;
        self
    }

    /// Use only these formats (tests, or a `--format` option).
    pub fn with_formats(mut self, formats: Vec<Box<dyn Format>>) -> Self {
        self.formats = formats;
        self
    }

    /// Every regular file under `paths`, as [`list_files`] lists them.
    pub fn files(&self, paths: &[PathBuf], sink: &mut dyn Sink) -> Vec<PathBuf> {
        list_files(paths, sink)
    }

    /// Read a file or a directory tree into `sink`; returns the inventory.
    /// `Err` only when `path` itself does not exist or cannot be read.
    pub fn read_path(&self, path: &Path, sink: &mut dyn Sink) -> std::io::Result<Vec<FileEntry>> {
        std::fs::symlink_metadata(path)?;
        let mut inventory = Vec::new();
        for f in self.files(&[path.to_path_buf()], sink) {
            if !self.read_file(&f, sink, &mut inventory) {
                break;
            }
        }
        Ok(inventory)
    }

    /// Read many paths on the rayon pool, one file per task (largest
    /// first, for balance). Each task feeds a sink from `make_sink`; events
    /// of one file always go to one sink, in file order.
    pub fn read_paths_parallel<S, F>(&self, paths: &[PathBuf], make_sink: F) -> ParallelRead<S>
    where
        S: Sink + Send,
        F: Fn() -> S + Sync + Send,
    {
        let mut first = make_sink();
        let mut files: Vec<(u64, PathBuf)> = self
            .files(paths, &mut first)
            .into_iter()
            .map(|p| (std::fs::metadata(&p).map_or(0, |m| m.len()), p))
            .collect();
        files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let parts: Vec<(S, Vec<FileEntry>)> = files
            .par_iter()
            .fold(
                || (make_sink(), Vec::new()),
                |(mut sink, mut inv), (_, p)| {
                    self.read_file(p, &mut sink, &mut inv);
                    (sink, inv)
                },
            )
            .collect();
        let mut sinks = vec![first];
        let mut inventory = Vec::new();
        for (s, inv) in parts {
            sinks.push(s);
            inventory.extend(inv);
        }
        inventory.sort_by(|a, b| (&a.path, &a.member).cmp(&(&b.path, &b.member)));
        ParallelRead { sinks, inventory }
    }

    /// Read one file on disk (plain or archive). Returns `false` if the
    /// sink asked to stop.
    pub fn read_file(
        &self,
        path: &Path,
        sink: &mut dyn Sink,
        inventory: &mut Vec<FileEntry>,
    ) -> bool {
        // A local copy of an object (`s3://…`) is named, and its host and
        // format hints taken, from the object, not from the spool file.
        let alias = kahu_event::evidence_name(path);
        let file = alias
            .as_ref()
            .map_or_else(|| path_str(path), |a| a.name.clone());
        let comps: Vec<String> = match &alias {
            Some(a) => a.components.clone(),
            None => path
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect(),
        };
        if let Some(reason) = alias.as_ref().and_then(|a| a.not_read.as_deref()) {
            // An object left in the store (over a spool cap): listed in the
            // inventory with the reason, never silently absent.
            sink.warning(Warning {
                file: file.clone(),
                member: None,
                location: None,
                reason: reason.to_string(),
            });
            inventory.push(FileEntry {
                path: file,
                member: None,
                size: 0,
                sha256: None,
                format: None,
                events: 0,
                warnings: 1,
                host_hint: None,
                coverage: EvidenceCoverage::default(),
            });
            return true;
        }
        let budget = Budget {
            bytes: Cell::new(self.limits.max_total),
            members: Cell::new(self.limits.max_members),
        };
        let mut ctx = Ctx {
            file,
            budget: &budget,
            sink,
            inventory,
            stopped: false,
            decoded: false,
        };
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .map(Timestamp::from);
        self.dispatch(Input::File(path), &comps, None, modified, 1, &mut ctx);
        !ctx.stopped
    }

    /// Read bytes already in memory as if they were the file `name`
    /// (archives included). Returns `false` if the sink asked to stop.
    pub fn read_memory(
        &self,
        name: &str,
        bytes: &[u8],
        sink: &mut dyn Sink,
        inventory: &mut Vec<FileEntry>,
    ) -> bool {
        let comps: Vec<String> = name
            .split(['/', '\\'])
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        let budget = Budget {
            bytes: Cell::new(self.limits.max_total),
            members: Cell::new(self.limits.max_members),
        };
        let mut ctx = Ctx {
            file: Arc::from(name),
            budget: &budget,
            sink,
            inventory,
            stopped: false,
            decoded: false,
        };
        self.dispatch(Input::Memory(bytes), &comps, None, None, 1, &mut ctx);
        !ctx.stopped
    }

    /// Read one input: open containers, or hand it to the first format
    /// that recognises it.
    fn dispatch(
        &self,
        input: Input<'_>,
        comps: &[String],
        member: Option<Arc<str>>,
        modified: Option<Timestamp>,
        depth: u32,
        ctx: &mut Ctx<'_>,
    ) {
        let host_hint = hostname::infer_host(comps).map(|h| Arc::<str>::from(h.as_str()));
        let origin = Origin {
            file: ctx.file.clone(),
            member: member.clone(),
            host_hint: host_hint.clone(),
            modified,
        };
        let mut entry = FileEntry {
            path: ctx.file.clone(),
            member,
            size: 0,
            sha256: None,
            format: None,
            events: 0,
            warnings: 0,
            host_hint: host_hint.clone(),
            coverage: EvidenceCoverage::default(),
        };
        let (head, size) = match head_and_size(input) {
            Ok(x) => x,
            Err(e) => {
                ctx.sink
                    .warning(origin.warning(None, format!("cannot read: {e}")));
                entry.warnings = 1;
                ctx.inventory.push(entry);
                return;
            }
        };
        entry.size = size;
        // UTF-16 text with a byte-order mark (Windows PowerShell 5.1's
        // `>` and `Out-File` write it): decoded and read as the same file.
        if let Some(le) = utf16_bom(&head) {
            // YARA rules are written for the bytes as stored.
            if let (Some(_), Input::Memory(data)) = (&origin.member, input) {
                ctx.sink.member(&origin, data);
            }
            match decode_utf16(input, le, self.limits.max_member) {
                Ok(text) => {
                    ctx.sink.warning(origin.warning(
                        None,
                        format!(
                            "{NOTE_PREFIX}UTF-16 text ({}, with a byte-order mark): decoded to UTF-8 to read",
                            if le { "little-endian" } else { "big-endian" }
                        ),
                    ));
                    let at = ctx.inventory.len();
                    let outer = std::mem::replace(&mut ctx.decoded, true);
                    self.dispatch(
                        Input::Memory(text.as_bytes()),
                        comps,
                        origin.member.clone(),
                        modified,
                        depth,
                        ctx,
                    );
                    ctx.decoded = outer;
                    // The inventory describes the evidence as stored, not
                    // the decoded copy.
                    if let Some(e) = ctx.inventory.get_mut(at) {
                        e.size = size;
                        e.sha256 = if self.sha256 {
                            sha256(input).ok()
                        } else {
                            None
                        };
                        e.warnings += 1;
                    }
                }
                Err(why) => {
                    ctx.sink.warning(origin.warning(None, why));
                    entry.warnings = 1;
                    ctx.inventory.push(entry);
                }
            }
            return;
        }
        if let (Some(_), Input::Memory(data)) = (&origin.member, input)
            && archive::detect(&head).is_none()
            && !ctx.decoded
        {
            ctx.sink.member(&origin, data);
        }
        if self.sha256 && !ctx.decoded {
            entry.sha256 = sha256(input).ok();
        }
        let name = comps.last().map_or("", String::as_str);
        let mut pre_warnings = 0;
        let recognised =
            archive::detect(&head).is_some() || self.formats.iter().any(|f| f.detect(&head, name));
        let skipped = if recognised {
            Ok(None)
        } else {
            skip_nul_run(input, &head)
        };
        let (input, head) = match skipped {
            Ok(None) => (input, head),
            Ok(Some((rest, rest_head, skipped))) => {
                let reason = if rest_head.is_empty() {
                    format!("holds only NUL bytes ({skipped}); nothing to read")
                } else {
                    format!(
                        "{skipped} leading NUL bytes skipped (a log truncated in place, as \
                         copytruncate rotation leaves it); read from offset {skipped}"
                    )
                };
                ctx.sink
                    .warning(origin.warning(Some(kahu_event::Location::Offset(0)), reason));
                pre_warnings = 1;
                if rest_head.is_empty() {
                    entry.warnings = 1;
                    ctx.inventory.push(entry);
                    return;
                }
                (rest, rest_head)
            }
            Err(e) => {
                ctx.sink
                    .warning(origin.warning(None, format!("cannot read: {e}")));
                entry.warnings = 1;
                ctx.inventory.push(entry);
                return;
            }
        };

        if let Some(kind) = archive::detect(&head) {
            entry.format = Some(kind.name());
            if depth > self.limits.max_depth {
                ctx.sink.warning(origin.warning(
                    None,
                    format!(
                        "{} archive nested deeper than {} levels; not opened",
                        kind.name(),
                        self.limits.max_depth
                    ),
                ));
                entry.warnings = 1;
                ctx.inventory.push(entry);
                return;
            }
            let at = ctx.inventory.len();
            ctx.inventory.push(entry);
            let warnings = self.open_container(kind, input, comps, &origin, depth, ctx);
            ctx.inventory[at].warnings = warnings + pre_warnings;
            ctx.sink.file_read(&ctx.inventory[at]);
            return;
        }

        let Some(format) = self.formats.iter().find(|f| f.detect(&head, name)) else {
            // A real EVTX always has a header: an empty one is a cleared or
            // failed collection worth a line, not silence.
            if size == 0 && name.to_ascii_lowercase().ends_with(".evtx") {
                ctx.sink.warning(origin.warning(
                    None,
                    format!("{NOTE_PREFIX}empty file (0 bytes): no event log in it (a failed collection?)"),
                ));
                entry.warnings = 1 + pre_warnings;
            }
            if size > 0 {
                let why = match unsupported_container(&head) {
                    Some(kind) => format!(
                        "{kind}, which kahu does not open: extract or decompress it first; skipped"
                    ),
                    None => "no reader recognises this file's format; skipped".to_string(),
                };
                ctx.sink.warning(origin.warning(None, why));
                entry.warnings = 1 + pre_warnings;
            }
            ctx.inventory.push(entry);
            return;
        };
        entry.format = Some(format.name());
        let mut tally = Tally {
            inner: &mut *ctx.sink,
            host: host_hint,
            events: 0,
            warnings: 0,
            stopped: false,
            coverage: EvidenceCoverage::default(),
            times: TimeAgreement::default(),
            latest: chrono::Utc::now() + crate::coverage::FUTURE_SLACK,
        };
        let cut = if LINE_FORMATS.contains(&format.name()) {
            unterminated_last_line(input)
        } else {
            None
        };
        if let Err(e) = format.read(input, &origin, &mut tally) {
            tally.warning(origin.warning(None, format!("{} reader stopped: {e}", format.name())));
        }
        if let Some(at) = cut {
            tally.warning(origin.warning(
                Some(kahu_event::Location::Offset(at)),
                "the file ends without a newline: its last line, from this byte offset, may be cut off (a log copied while it was being written) and was read as it is",
            ));
        }
        // What was not understood is said per file, so an analyst knows
        // which evidence the absence of detections covers.
        for gap in tally.coverage.gaps() {
            tally.warning(origin.warning(None, format!("{NOTE_PREFIX}{gap}")));
        }
        if let Some(w) = tally.times.warning(&origin) {
            tally.warning(w);
        }
        entry.events = tally.events;
        entry.warnings = tally.warnings + pre_warnings;
        entry.coverage = tally.coverage;
        ctx.stopped |= tally.stopped;
        ctx.sink.file_read(&entry);
        ctx.inventory.push(entry);
    }

    /// Read a `.tar.gz` member by member straight out of the decompressor,
    /// so the tar is never held whole (a triage collection is often many
    /// GiB). Its inventory is what reading the tar in memory gave: an entry
    /// for the inner tar, its members under it. `None` when the gzip does
    /// not hold a tar (the caller then decompresses it into memory).
    fn stream_tar_gz(
        &self,
        input: Input<'_>,
        comps: &[String],
        origin: &Origin,
        depth: u32,
        ctx: &mut Ctx<'_>,
    ) -> std::io::Result<Option<()>> {
        let (raw, compressed) = archive::Counting::new(input.open()?);
        let (plain, plain_len) = archive::Counting::new(flate2::read::MultiGzDecoder::new(raw));
        let mut r = std::io::BufReader::with_capacity(64 * 1024, plain);
        let mut head = Vec::with_capacity(512);
        (&mut r).take(512).read_to_end(&mut head).ok();
        if archive::detect(&head) != Some(Container::Tar) {
            return Ok(None);
        }
        let inner = gunzipped_name(comps.last().map_or("", String::as_str));
        let mut c = comps.to_vec();
        c.push(inner.clone());
        let inner_origin = Origin {
            file: ctx.file.clone(),
            member: Some(join_member(origin.member.as_deref(), &inner)),
            host_hint: hostname::infer_host(&c).map(|h| Arc::<str>::from(h.as_str())),
            modified: origin.modified,
        };
        let mut entry = FileEntry {
            path: ctx.file.clone(),
            member: inner_origin.member.clone(),
            size: 0,
            sha256: None,
            format: Some(Container::Tar.name()),
            events: 0,
            warnings: 0,
            host_hint: inner_origin.host_hint.clone(),
            coverage: EvidenceCoverage::default(),
        };
        if depth + 1 > self.limits.max_depth {
            ctx.sink.warning(inner_origin.warning(
                None,
                format!(
                    "tar archive nested deeper than {} levels; not opened",
                    self.limits.max_depth
                ),
            ));
            entry.warnings = 1;
            ctx.inventory.push(entry);
            return Ok(Some(()));
        }
        let at = ctx.inventory.len();
        ctx.inventory.push(entry);
        let mut hasher = self.sha256.then(Sha256::new);
        // The bytes already sniffed, then the rest of the stream, hashed as
        // they go by when hashes are asked for.
        let mut tar_stream = Hashing {
            inner: Cursor::new(head).chain(r),
            hasher: hasher.as_mut(),
        };
        let consumed = move || compressed.get();
        let limits = self.limits;
        let memory = &*self.memory;
        let budget = ctx.budget;
        let warnings = self.walk_items(&c, &inner_origin, depth + 1, ctx, &mut |on_item| {
            archive::tar(
                &mut tar_stream,
                Some(&consumed),
                &limits,
                budget,
                memory,
                on_item,
            );
            // Past the end-of-archive blocks: the whole stream is hashed and
            // its size known.
            std::io::copy(&mut tar_stream, &mut std::io::sink())
                .map(|_| ())
                .map_err(|e| {
                    std::io::Error::new(e.kind(), format!("gzip stream damaged or truncated: {e}"))
                })
        });
        ctx.inventory[at].warnings = warnings;
        ctx.inventory[at].size = plain_len.get();
        ctx.inventory[at].sha256 = hasher.map(|h| hex::encode(h.finalize()));
        ctx.sink.file_read(&ctx.inventory[at]);
        Ok(Some(()))
    }

    /// Hand every item `run` produces to the sink (problems) or to
    /// [`Self::dispatch`] (members, at `depth + 1`); returns the warnings
    /// about the container itself.
    fn walk_items(
        &self,
        comps: &[String],
        origin: &Origin,
        depth: u32,
        ctx: &mut Ctx<'_>,
        run: &mut dyn FnMut(&mut OnItem<'_>) -> std::io::Result<()>,
    ) -> u64 {
        let mut warnings = 0u64;
        let mut on_item = |item: Item<'_>| -> bool {
            match item {
                Item::Problem { name, reason } => {
                    warnings += 1;
                    let mut o = origin.clone();
                    if let Some(n) = name {
                        o.member = Some(join_member(origin.member.as_deref(), n));
                    }
                    ctx.sink.warning(o.warning(None, reason));
                }
                Item::Member {
                    name,
                    data,
                    modified,
                } => {
                    let mut c = comps.to_vec();
                    c.extend(
                        name.split(['/', '\\'])
                            .filter(|s| !s.is_empty())
                            .map(str::to_string),
                    );
                    let member = join_member(origin.member.as_deref(), name);
                    self.dispatch(
                        Input::Memory(data),
                        &c,
                        Some(member),
                        modified.or(origin.modified),
                        depth + 1,
                        ctx,
                    );
                }
            }
            !ctx.stopped
        };
        if let Err(e) = run(&mut on_item) {
            on_item(Item::Problem {
                name: None,
                reason: e.to_string(),
            });
        }
        warnings
    }

    /// Read every member of a container; returns the warnings about the
    /// container itself.
    fn open_container(
        &self,
        kind: Container,
        input: Input<'_>,
        comps: &[String],
        origin: &Origin,
        depth: u32,
        ctx: &mut Ctx<'_>,
    ) -> u64 {
        if kind == Container::Gzip {
            match self.stream_tar_gz(input, comps, origin, depth, ctx) {
                Ok(Some(())) => return 0,
                Ok(None) => {}
                Err(e) => {
                    ctx.sink
                        .warning(origin.warning(None, format!("cannot open archive: {e}")));
                    return 1;
                }
            }
        }
        let limits = self.limits;
        // Shared (cells) so nested archives draw from the same allowance.
        let budget = ctx.budget;
        let memory = &*self.memory;
        let inner = gunzipped_name(comps.last().map_or("", String::as_str));
        self.walk_items(comps, origin, depth, ctx, &mut |on_item| {
            match (kind, input) {
                (Container::Zip, Input::File(p) | Input::FileFrom(p, _)) => std::fs::File::open(p)
                    .map(|f| archive::zip(f, &limits, budget, memory, on_item)),
                (Container::Zip, Input::Memory(b)) => {
                    archive::zip(Cursor::new(b), &limits, budget, memory, on_item);
                    Ok(())
                }
                (Container::Tar, _) => input
                    .open()
                    .map(|mut r| archive::tar(&mut r, None, &limits, budget, memory, on_item)),
                (Container::Gzip, _) => input
                    .open()
                    .map(|mut r| archive::gunzip(&mut r, &inner, &limits, budget, memory, on_item)),
            }
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot open archive: {e}")))
        })
    }
}

/// Containers kahu does not open, named by their magic bytes, so the
/// warning does not read like a damaged file.
fn unsupported_container(head: &[u8]) -> Option<&'static str> {
    const KINDS: &[(&[u8], &str)] = &[
        (b"\xFD7zXZ\x00", "an xz-compressed file"),
        (b"BZh", "a bzip2-compressed file"),
        (b"\x28\xB5\x2F\xFD", "a zstd-compressed file"),
        (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
        (b"Rar!\x1A\x07", "a RAR archive"),
    ];
    KINDS
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, kind)| *kind)
}

/// `Some(little_endian)` when `head` starts with a UTF-16 byte-order mark
/// and is not something else that starts so (EVTX, archives never do).
fn utf16_bom(head: &[u8]) -> Option<bool> {
    match head {
        [0xFF, 0xFE, ..] if head.get(2..4) != Some(&[0, 0]) => Some(true),
        [0xFE, 0xFF, ..] => Some(false),
        _ => None,
    }
}

/// The text of a UTF-16 input, up to `cap` bytes of it; unpaired
/// surrogates become U+FFFD.
fn decode_utf16(input: Input<'_>, le: bool, cap: u64) -> Result<String, String> {
    let mut bytes = Vec::new();
    input
        .open()
        .and_then(|r| r.take(cap.saturating_add(1)).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > cap {
        return Err(format!(
            "UTF-16 text over {cap} bytes: not decoded (convert it to UTF-8 to read it)"
        ));
    }
    let units = bytes[2..].chunks_exact(2).map(|p| {
        if le {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        }
    });
    Ok(char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect())
}

/// Receives each item of a container; `false` asks the walk to stop.
type OnItem<'a> = dyn FnMut(Item<'_>) -> bool + 'a;

/// A reader that feeds what it reads to a hasher, when there is one.
struct Hashing<'h, R> {
    inner: R,
    hasher: Option<&'h mut Sha256>,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        if let Some(h) = self.hasher.as_deref_mut() {
            h.update(&out[..n]);
        }
        Ok(n)
    }
}

/// State of reading one top-level file.
struct Ctx<'a> {
    file: Arc<str>,
    budget: &'a Budget,
    sink: &'a mut dyn Sink,
    inventory: &'a mut Vec<FileEntry>,
    stopped: bool,
    /// The input being dispatched is a decoded copy of stored bytes
    /// (UTF-16 text): the member hook has seen the stored bytes, and the
    /// inventory's hash is theirs, so neither is done again on the copy.
    decoded: bool,
}

/// Counts what a reader sends, fills in the inferred host and checks
/// what was understood of each event.
struct Tally<'a> {
    inner: &'a mut dyn Sink,
    host: Option<Arc<str>>,
    events: u64,
    warnings: u64,
    stopped: bool,
    coverage: EvidenceCoverage,
    times: TimeAgreement,
    /// Latest plausible event time: when reading began, plus
    /// [`crate::coverage::FUTURE_SLACK`].
    latest: Timestamp,
}

impl Sink for Tally<'_> {
    fn event(&mut self, mut event: Event) -> bool {
        if event.host.is_none() {
            event.host = self.host.clone();
        }
        if event
            .timestamp
            .as_ref()
            .is_some_and(crate::coverage::placeholder_time)
        {
            // Kept as read in the record's fields; only its time is unset.
            event.timestamp = None;
            self.coverage.placeholder_time += 1;
        } else if event.timestamp.is_some_and(|t| t > self.latest) {
            event.timestamp = None;
            self.coverage.future_time += 1;
        }
        self.events += 1;
        self.coverage.observe(&event);
        self.times.observe(&event);
        let go = self.inner.event(event);
        self.stopped |= !go;
        go
    }
    fn warning(&mut self, warning: Warning) {
        self.warnings += 1;
        self.inner.warning(warning);
    }
}

/// Every regular file under `paths` (directories recursed, symbolic
/// links inside them not followed; a path given is followed even when
/// it is a link), each path's files in name order. Archives are files here;
/// the readers open them. What cannot be listed, and each link not followed, is a warning.
pub fn list_files(paths: &[PathBuf], sink: &mut dyn Sink) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if is_link_to_file(p) {
            out.push(p.clone());
            continue;
        }
        for entry in walkdir::WalkDir::new(p)
            .follow_links(false)
            .sort_by_file_name()
        {
            match entry {
                Ok(e) if e.file_type().is_file() => out.push(e.into_path()),
                Ok(e) if e.path_is_symlink() && e.depth() > 0 => sink.warning(Warning {
                    file: path_str(e.path()),
                    member: None,
                    location: None,
                    reason: "symbolic link not followed".into(),
                }),
                Ok(e) if !e.file_type().is_dir() && !e.path_is_symlink() => {
                    // A named pipe would block the read forever and a
                    // device never ends: say it was skipped, or a
                    // collection holding one reads as "no evidence".
                    sink.warning(Warning {
                        file: path_str(e.path()),
                        member: None,
                        location: None,
                        reason: format!("{}: not read", special_kind(e.file_type())),
                    })
                }
                Ok(_) => {}
                Err(e) => sink.warning(Warning {
                    file: path_str(e.path().unwrap_or(p)),
                    member: None,
                    location: None,
                    reason: format!(
                        "cannot read: {}",
                        e.io_error().map_or(e.to_string(), |io| io.to_string())
                    ),
                }),
            }
        }
    }
    out
}

/// What a file that is neither a regular file, a directory nor a link is.
fn special_kind(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "named pipe, not a regular file";
        }
        if t.is_socket() {
            return "socket, not a regular file";
        }
        if t.is_char_device() || t.is_block_device() {
            return "device, not a regular file";
        }
    }
    let _ = t;
    "not a regular file"
}

/// Whether `path` is a symbolic link to a regular file. A link the analyst
/// names as evidence is read (walkdir would list it as a link and nothing
/// would be read); links met inside directories are still not followed.
pub fn is_link_to_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
        && std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Readers of one record per line: a last line without a newline is most
/// likely cut (syslog, auditd and web servers end every line). JSON readers
/// are left out: a cut JSON record fails to parse and is reported as such,
/// and a pretty-printed document ends without a newline.
const LINE_FORMATS: &[&str] = &["syslog", "auditd", "iis", "apache-access", "zeek-tsv"];

/// Where the last line of `input` starts when the input does not end with
/// a newline (`None` when it does, is empty or cannot be read).
fn unterminated_last_line(input: Input<'_>) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    // A line longer than this was skipped by the reader anyway.
    const BACK: u64 = crate::text::MAX_LINE as u64 + 1;
    let tail_of = |tail: &[u8], tail_start: u64| -> Option<u64> {
        match tail.last() {
            None | Some(b'\n') => None,
            Some(_) => Some(
                memchr::memrchr(b'\n', tail)
                    .map(|i| tail_start + i as u64 + 1)
                    .unwrap_or(tail_start),
            ),
        }
    };
    match input {
        Input::Memory(b) => tail_of(b, 0),
        Input::File(p) | Input::FileFrom(p, _) => {
            let mut f = std::fs::File::open(p).ok()?;
            let len = f.metadata().ok()?.len();
            let from = match input {
                Input::FileFrom(_, o) => o,
                _ => 0,
            };
            if len <= from {
                return None;
            }
            // Most files end with a newline: one byte says so.
            let mut last = [0u8; 1];
            f.seek(SeekFrom::Start(len - 1)).ok()?;
            f.read_exact(&mut last).ok()?;
            if last[0] == b'\n' {
                return None;
            }
            let start = len.saturating_sub(BACK).max(from);
            f.seek(SeekFrom::Start(start)).ok()?;
            let mut tail = Vec::with_capacity((len - start) as usize);
            f.take(len - start).read_to_end(&mut tail).ok()?;
            tail_of(&tail, start)
        }
    }
}

/// Read `path` (file or directory) with default settings.
pub fn read_path(path: &Path, sink: &mut dyn Sink) -> std::io::Result<()> {
    Reader::new().read_path(path, sink).map(|_| ())
}

/// Read many paths in parallel with default settings; see
/// [`Reader::read_paths_parallel`].
pub fn read_paths_parallel<S, F>(paths: &[PathBuf], make_sink: F) -> Vec<S>
where
    S: Sink + Send,
    F: Fn() -> S + Sync + Send,
{
    Reader::new().read_paths_parallel(paths, make_sink).sinks
}

fn path_str(p: &Path) -> Arc<str> {
    Arc::from(p.to_string_lossy().as_ref())
}

fn join_member(parent: Option<&str>, name: &str) -> Arc<str> {
    match parent {
        Some(p) => Arc::from(format!("{p}!{name}")),
        None => Arc::from(name),
    }
}

/// `x.json.gz` → `x.json`; `x.tgz` → `x.tar`.
fn gunzipped_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tgz") {
        format!("{}.tar", &name[..name.len() - 4])
    } else if lower.ends_with(".gz") {
        name[..name.len() - 3].to_string()
    } else {
        format!("{name}.gunzipped")
    }
}

fn head_and_size(input: Input<'_>) -> std::io::Result<(Vec<u8>, u64)> {
    match input {
        Input::Memory(b) => Ok((b[..b.len().min(SNIFF_LEN)].to_vec(), b.len() as u64)),
        Input::File(p) | Input::FileFrom(p, _) => {
            let f = std::fs::File::open(p)?;
            let size = f.metadata()?.len();
            let mut head = Vec::with_capacity(SNIFF_LEN);
            f.take(SNIFF_LEN as u64).read_to_end(&mut head)?;
            Ok((head, size))
        }
    }
}

/// A leading run of NUL bytes at least this long is skipped before the
/// format is detected (shorter ones can start a binary header).
const NUL_RUN_MIN: usize = 16;

/// If `head` starts with a run of NUL bytes (a log truncated in place by
/// copytruncate rotation, written again from the old offset), where the
/// content starts and its head; `None` when there is no such run.
fn skip_nul_run<'a>(
    input: Input<'a>,
    head: &[u8],
) -> std::io::Result<Option<(Input<'a>, Vec<u8>, u64)>> {
    if head.len() < NUL_RUN_MIN || head[..NUL_RUN_MIN].iter().any(|&b| b != 0) {
        return Ok(None);
    }
    Ok(Some(match input {
        Input::Memory(b) => {
            let n = b.iter().position(|&x| x != 0).unwrap_or(b.len());
            let rest = &b[n..];
            let head = rest[..rest.len().min(SNIFF_LEN)].to_vec();
            (Input::Memory(rest), head, n as u64)
        }
        Input::File(p) | Input::FileFrom(p, _) => {
            let mut r = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(p)?);
            let mut n = 0u64;
            loop {
                let chunk = std::io::BufRead::fill_buf(&mut r)?;
                if chunk.is_empty() {
                    break;
                }
                match chunk.iter().position(|&x| x != 0) {
                    Some(i) => {
                        n += i as u64;
                        break;
                    }
                    None => {
                        let k = chunk.len();
                        n += k as u64;
                        std::io::BufRead::consume(&mut r, k);
                    }
                }
            }
            let rest = Input::FileFrom(p, n);
            let mut head = Vec::with_capacity(SNIFF_LEN);
            rest.open()?.take(SNIFF_LEN as u64).read_to_end(&mut head)?;
            (rest, head, n)
        }
    }))
}

fn sha256(input: Input<'_>) -> std::io::Result<String> {
    let mut h = Sha256::new();
    match input {
        Input::Memory(b) => h.update(b),
        Input::File(p) | Input::FileFrom(p, _) => {
            let mut f = std::fs::File::open(p)?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
        }
    }
    Ok(hex::encode(h.finalize()))
}
