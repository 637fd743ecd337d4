//! Zip, tar and gzip containers, read member by member into memory.
//!
//! Nothing is ever extracted to disk, so hostile member names (`../x`,
//! `/etc/passwd`) cannot write anywhere; they are still reported, because an
//! archive built that way is itself suspicious. Every member is read in
//! chunks through four checks, whatever sizes its headers declare: a
//! per-member cap, a per-top-level-file expansion allowance, a
//! decompression-ratio check (a member that has expanded past
//! [`Limits::ratio_floor`] to more than [`Limits::max_ratio`] times the
//! compressed bytes consumed is a bomb) and a [`MemoryBudget`] shared by
//! every thread of one reader, which bounds the bytes of members held in
//! memory at once (nested archives hold their parent too). A `.tar.gz` is
//! streamed: the tar is read straight out of the decompressor
//! (`walk.rs`), so only its members are held.

use kahu_event::Timestamp;
use std::cell::Cell;
use std::io::{Read, Seek, SeekFrom};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Container kinds recognised by magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    Zip,
    Tar,
    Gzip,
}

impl Container {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Container::Zip => "zip",
            Container::Tar => "tar",
            Container::Gzip => "gzip",
        }
    }
}

/// Identify a container from a file's first bytes.
pub(crate) fn detect(head: &[u8]) -> Option<Container> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Container::Zip)
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Some(Container::Gzip)
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Some(Container::Tar)
    } else {
        None
    }
}

/// Limits on what archives may expand to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest member read into memory, in bytes.
    pub max_member: u64,
    /// Most bytes all members of one top-level file may expand to.
    pub max_total: u64,
    /// Deepest archive nesting opened (an archive in an archive is depth 2).
    pub max_depth: u32,
    /// Most members read from one top-level file.
    pub max_members: u64,
    /// Largest accepted ratio of decompressed bytes to compressed bytes
    /// consumed, checked once a member has expanded past `ratio_floor`.
    /// Deflate tops out near 1032:1 on a run of one byte; text logs rarely
    /// pass 100:1, so 250:1 tells a bomb from evidence.
    pub max_ratio: u64,
    /// Decompressed size below which the ratio is not checked (small,
    /// very repetitive members such as mostly empty EVTX chunks are fine).
    pub ratio_floor: u64,
    /// Most bytes of archive members held in memory at once, across every
    /// thread reading with one [`crate::Reader`] (a member of a nested
    /// archive counts with its parent).
    pub max_in_memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_member: 512 << 20,
            max_total: 8 << 30,
            max_depth: 4,
            max_members: 1_000_000,
            max_ratio: 250,
            ratio_floor: 32 << 20,
            max_in_memory: 1 << 30,
        }
    }
}

/// Bytes of archive members held in memory by every thread of one reader,
/// against [`Limits::max_in_memory`].
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    limit: u64,
    held: AtomicU64,
    peak: AtomicU64,
}

impl MemoryBudget {
    pub(crate) fn new(limit: u64) -> Self {
        MemoryBudget {
            limit,
            held: AtomicU64::new(0),
            peak: AtomicU64::new(0),
        }
    }

    /// Reserve `n` bytes; `false` (nothing reserved) if that would pass the limit.
    fn try_take(&self, n: u64) -> bool {
        let taken = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                h.checked_add(n).filter(|&t| t <= self.limit)
            });
        match taken {
            Ok(before) => {
                self.peak.fetch_max(before + n, Ordering::AcqRel);
                true
            }
            Err(_) => false,
        }
    }

    fn give_back(&self, n: u64) {
        self.held.fetch_sub(n, Ordering::AcqRel);
    }

    /// Most bytes ever held at once.
    pub(crate) fn peak(&self) -> u64 {
        self.peak.load(Ordering::Acquire)
    }
}

/// A member's bytes, accounted in the [`MemoryBudget`] until dropped.
pub(crate) struct MemberBuf<'m> {
    data: Vec<u8>,
    held: u64,
    memory: &'m MemoryBudget,
}

impl MemberBuf<'_> {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Drop the last line of text when the data was cut inside it (a
    /// truncated or damaged stream): half a record would be read as a whole
    /// one ("Failed password for invali" still fired a rule). Returns the
    /// line number dropped and its length, or `None` when the data ends at
    /// a line end or is not text.
    pub(crate) fn cut_partial_line(&mut self) -> Option<(u64, usize)> {
        let head = &self.data[..self.data.len().min(4096)];
        if self.data.last() == Some(&b'\n') || head.contains(&0) {
            return None;
        }
        let keep = self.data.iter().rposition(|&b| b == b'\n')? + 1;
        let line = self.data[..keep].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let cut = self.data.len() - keep;
        self.data.truncate(keep);
        Some((line, cut))
    }
}

impl Drop for MemberBuf<'_> {
    fn drop(&mut self) {
        self.memory.give_back(self.held);
    }
}

/// Why a member was not read whole.
enum Stop<'m> {
    /// Longer than the cap.
    OverCap,
    /// Expanded past the ratio floor at more than the ratio limit.
    Ratio { out: u64, consumed: u64 },
    /// The shared memory budget could not hold more.
    Memory { wanted: u64 },
    /// The stream failed; what was read before is kept.
    Io(std::io::Error, MemberBuf<'m>),
}

/// Counts the bytes read from (compressed) input, so decompressed sizes
/// can be compared with what they cost. The count is shared with the
/// caller, which reads it while the archive library owns the reader.
pub(crate) struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R> Counting<R> {
    pub(crate) fn new(inner: R) -> (Self, Rc<Cell<u64>>) {
        let count = Rc::new(Cell::new(0));
        (
            Counting {
                inner,
                count: count.clone(),
            },
            count,
        )
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Read one member through every check. `consumed` reports the compressed
/// bytes read so far (from the archive's [`Counting`] reader).
fn read_member<'m>(
    r: &mut dyn Read,
    cap: u64,
    size_hint: u64,
    consumed: &dyn Fn() -> u64,
    limits: &Limits,
    memory: &'m MemoryBudget,
) -> Result<MemberBuf<'m>, Stop<'m>> {
    const CHUNK: usize = 64 * 1024;
    let start = consumed();
    let mut buf = MemberBuf {
        data: Vec::new(),
        held: 0,
        memory,
    };
    let mut chunk = vec![0u8; CHUNK];
    // Start at the declared size, but only up to the ratio floor (headers
    // lie, and a bomb must be caught before it costs more), then double,
    // never past `cap + 1`: capacity, not length, is what memory holds.
    let first = size_hint.min(limits.ratio_floor + CHUNK as u64);
    let mut next = first.max(CHUNK as u64).min(cap + 1);
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => return Ok(buf),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Stop::Io(e, buf)),
        };
        let len = (buf.data.len() + n) as u64;
        if len > cap {
            return Err(Stop::OverCap);
        }
        if len > limits.ratio_floor {
            let used = consumed().saturating_sub(start).max(1);
            if len > used.saturating_mul(limits.max_ratio) {
                return Err(Stop::Ratio {
                    out: len,
                    consumed: used,
                });
            }
        }
        if len > buf.data.capacity() as u64 {
            let want = next.max(len).min(cap + 1);
            let extra = want - buf.held;
            if !memory.try_take(extra) {
                return Err(Stop::Memory { wanted: want });
            }
            buf.held = want;
            buf.data.reserve_exact(want as usize - buf.data.len());
            next = want.saturating_mul(2);
        }
        buf.data.extend_from_slice(&chunk[..n]);
    }
}

/// What is left of a top-level file's expansion allowance.
#[derive(Debug)]
pub(crate) struct Budget {
    /// Bytes members may still expand to.
    pub(crate) bytes: Cell<u64>,
    /// Members that may still be read.
    pub(crate) members: Cell<u64>,
}

impl Budget {
    /// Take one member from the allowance; `false` if none is left.
    fn take_member(&self) -> bool {
        let m = self.members.get();
        if m == 0 {
            return false;
        }
        self.members.set(m - 1);
        true
    }

    fn spend(&self, n: usize) {
        self.bytes.set(self.bytes.get().saturating_sub(n as u64));
    }
}

/// One member handed to the caller, or a problem with one.
pub(crate) enum Item<'a> {
    /// A regular member, fully read, with the time the archive records
    /// for it.
    Member {
        name: &'a str,
        data: &'a [u8],
        modified: Option<Timestamp>,
    },
    /// Something to report; `stop` if the archive cannot be read further.
    Problem {
        name: Option<&'a str>,
        reason: String,
    },
}

/// Whether a member name would escape an extraction directory.
pub(crate) fn is_unsafe_name(name: &str) -> bool {
    name.starts_with('/')
        || name.starts_with('\\')
        || name.as_bytes().get(1) == Some(&b':')
        || name.split(['/', '\\']).any(|c| c == "..")
}

/// The budget for the next member, and whether any is left.
fn member_cap(limits: &Limits, budget: &Budget) -> u64 {
    limits.max_member.min(budget.bytes.get())
}

fn over_cap_reason(limits: &Limits, budget: &Budget, declared: Option<u64>) -> String {
    let which = if budget.bytes.get() < limits.max_member {
        format!(
            "the archive's remaining expansion allowance ({} bytes)",
            budget.bytes.get()
        )
    } else {
        format!("the per-member limit ({} bytes)", limits.max_member)
    };
    match declared {
        Some(d) => format!(
            "expands beyond {which} (declared size {d}); skipped as a possible archive bomb"
        ),
        None => format!("expands beyond {which}; skipped as a possible archive bomb"),
    }
}

/// What a member that was not read whole is reported as.
fn stop_reason(stop: &Stop<'_>, limits: &Limits, budget: &Budget, declared: Option<u64>) -> String {
    match stop {
        Stop::OverCap => over_cap_reason(limits, budget, declared),
        Stop::Ratio { out, consumed } => format!(
            "expanded to over {out} bytes from {consumed} compressed bytes (more than {}:1); \
             skipped as a likely archive bomb",
            limits.max_ratio
        ),
        Stop::Memory { wanted } => format!(
            "needs {wanted} bytes in memory but the {}-byte budget for archive members \
             (all threads, nested archives included) is in use; skipped",
            limits.max_in_memory
        ),
        Stop::Io(e, _) => format!("could not be decompressed: {e}"),
    }
}

/// Count one more member against the top-level file's allowance; past it,
/// say so and return `false` (the walk stops there).
fn take_member(budget: &Budget, f: &mut dyn FnMut(Item<'_>) -> bool) -> bool {
    if budget.take_member() {
        return true;
    }
    f(Item::Problem {
        name: None,
        reason: "too many archive members; the rest were not read".into(),
    });
    false
}

/// What [`admit`] decided for a zip or tar member.
enum Admit {
    /// Read it, at most `cap` bytes.
    Read { cap: u64 },
    /// Its declared size is over the cap: reported, not read.
    Skip,
    /// The receiver asked the walk to stop.
    Stop,
}

/// The checks a named zip or tar member passes before it is read, on its
/// header alone: a name pointing outside the archive is reported (the
/// member is still read, in memory only), and a declared size over the
/// member cap is reported and the member skipped.
fn admit(
    name: &str,
    declared: u64,
    limits: &Limits,
    budget: &Budget,
    f: &mut dyn FnMut(Item<'_>) -> bool,
) -> Admit {
    if is_unsafe_name(name)
        && !f(Item::Problem {
            name: Some(name),
            reason: "member name points outside the archive (path traversal); read in memory only"
                .into(),
        })
    {
        return Admit::Stop;
    }
    let cap = member_cap(limits, budget);
    if declared <= cap {
        Admit::Read { cap }
    } else if f(Item::Problem {
        name: Some(name),
        reason: over_cap_reason(limits, budget, Some(declared)),
    }) {
        Admit::Skip
    } else {
        Admit::Stop
    }
}

/// Walk a zip archive.
pub(crate) fn zip<R: Read + Seek>(
    r: R,
    limits: &Limits,
    budget: &Budget,
    memory: &MemoryBudget,
    f: &mut dyn FnMut(Item<'_>) -> bool,
) {
    let (r, consumed) = Counting::new(r);
    let consumed = move || consumed.get();
    let mut z = match zip::ZipArchive::new(r) {
        Ok(z) => z,
        Err(e) => {
            f(Item::Problem {
                name: None,
                reason: format!("unreadable zip archive: {e}"),
            });
            return;
        }
    };
    for i in 0..z.len() {
        if !take_member(budget, f) {
            return;
        }
        // The central directory names every member, even an encrypted one
        // whose data cannot be read without the password.
        let listed = z.name_for_index(i).map(str::to_string);
        let mut m = match z.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                let reason = match e {
                    zip::result::ZipError::UnsupportedArchive(
                        zip::result::ZipError::PASSWORD_REQUIRED,
                    ) => "encrypted zip member (password required); not read".to_string(),
                    e => format!("zip member unreadable: {e}"),
                };
                let (name, reason) = match &listed {
                    Some(n) => (Some(n.as_str()), reason),
                    None => (None, format!("zip member #{i}: {reason}")),
                };
                if !f(Item::Problem { name, reason }) {
                    return;
                }
                continue;
            }
        };
        if m.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(m.name_raw()).into_owned();
        let modified = m.last_modified().and_then(zip_time);
        let declared = m.size();
        let cap = match admit(&name, declared, limits, budget, f) {
            Admit::Read { cap } => cap,
            Admit::Skip => continue,
            Admit::Stop => return,
        };
        let buf = match read_member(&mut m, cap, declared, &consumed, limits, memory) {
            Ok(buf) => buf,
            // Keep what decompressed, as for gzip: one bad byte (a failed
            // checksum) or a damaged tail must not lose a whole log.
            Err(Stop::Io(e, mut buf)) if !buf.bytes().is_empty() => {
                let total = buf.bytes().len();
                let checksum = e.to_string().contains("checksum");
                // A failed checksum has every byte; damage cuts the data.
                let cut = if checksum {
                    String::new()
                } else {
                    buf.cut_partial_line()
                        .map(|(line, n)| {
                            format!("; line {line}, cut off after {n} bytes, is left out")
                        })
                        .unwrap_or_default()
                };
                let reason = if checksum {
                    format!(
                        "zip member failed its checksum ({e}): read as it is, {total} bytes; some records may be damaged"
                    )
                } else {
                    format!(
                        "zip member damaged after {total} bytes ({e}): the records before the damage are read{cut}"
                    )
                };
                if !f(Item::Problem {
                    name: Some(&name),
                    reason,
                }) {
                    return;
                }
                buf
            }
            Err(stop) => {
                let reason = match &stop {
                    Stop::Io(e, _) => format!("zip member could not be decompressed: {e}"),
                    other => stop_reason(other, limits, budget, Some(declared)),
                };
                drop(stop);
                if !f(Item::Problem {
                    name: Some(&name),
                    reason,
                }) {
                    return;
                }
                continue;
            }
        };
        budget.spend(buf.bytes().len());
        drop(m);
        if buf.bytes().len() as u64 != declared {
            let reason = format!(
                "declared size {declared} but {} bytes decompressed",
                buf.bytes().len()
            );
            if !f(Item::Problem {
                name: Some(&name),
                reason,
            }) {
                return;
            }
        }
        if !f(Item::Member {
            name: &name,
            data: buf.bytes(),
            modified,
        }) {
            return;
        }
    }
}

/// A zip member's time. Zip stores the local time of the machine that
/// made the archive, without its zone: taken as UTC, it is hours off at
/// most, which is enough to date year-less lines.
fn zip_time(t: zip::DateTime) -> Option<Timestamp> {
    let naive = chrono::NaiveDate::from_ymd_opt(t.year().into(), t.month().into(), t.day().into())?
        .and_hms_opt(t.hour().into(), t.minute().into(), t.second().into())?;
    Some(naive.and_utc())
}

/// Seconds since the Unix epoch as a time; 0 (gzip's "no time") is none.
fn epoch_time(secs: u64) -> Option<Timestamp> {
    if secs == 0 {
        return None;
    }
    chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)
}

/// Walk a tar archive. `compressed` counts the compressed bytes behind
/// `r` when the tar is streamed out of a gzip (for the ratio check);
/// `None` counts `r` itself.
pub(crate) fn tar(
    r: &mut dyn Read,
    compressed: Option<&dyn Fn() -> u64>,
    limits: &Limits,
    budget: &Budget,
    memory: &MemoryBudget,
    f: &mut dyn FnMut(Item<'_>) -> bool,
) {
    let (r, own) = Counting::new(r);
    let own = move || own.get();
    let consumed: &dyn Fn() -> u64 = compressed.unwrap_or(&own);
    let mut a = tar::Archive::new(r);
    let entries = match a.entries() {
        Ok(e) => e,
        Err(e) => {
            f(Item::Problem {
                name: None,
                reason: format!("unreadable tar archive: {e}"),
            });
            return;
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                // A tar stream cannot be resynchronised after a bad header.
                f(Item::Problem {
                    name: None,
                    reason: format!("tar archive damaged; rest not read: {e}"),
                });
                return;
            }
        };
        if !matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        ) {
            continue;
        }
        if !take_member(budget, f) {
            return;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let modified = entry.header().mtime().ok().and_then(epoch_time);
        let declared = entry.size();
        let cap = match admit(&name, declared, limits, budget, f) {
            Admit::Read { cap } => cap,
            Admit::Skip => continue,
            Admit::Stop => return,
        };
        let buf = match read_member(&mut entry, cap, declared, consumed, limits, memory) {
            Ok(buf) => buf,
            Err(Stop::Io(e, _)) => {
                f(Item::Problem {
                    name: Some(&name),
                    reason: format!("tar member truncated: {e}"),
                });
                return;
            }
            Err(stop) => {
                let reason = stop_reason(&stop, limits, budget, Some(declared));
                drop(stop);
                if !f(Item::Problem {
                    name: Some(&name),
                    reason,
                }) {
                    return;
                }
                continue;
            }
        };
        budget.spend(buf.bytes().len());
        if !f(Item::Member {
            name: &name,
            data: buf.bytes(),
            modified,
        }) {
            return;
        }
    }
}

/// Decompress a gzip stream (all concatenated members) into memory.
pub(crate) fn gunzip(
    r: &mut dyn Read,
    name: &str,
    limits: &Limits,
    budget: &Budget,
    memory: &MemoryBudget,
    f: &mut dyn FnMut(Item<'_>) -> bool,
) {
    if !take_member(budget, f) {
        return;
    }
    let (r, consumed) = Counting::new(r);
    let consumed = move || consumed.get();
    let mut d = flate2::read::MultiGzDecoder::new(r);
    let cap = member_cap(limits, budget);
    let buf = match read_member(&mut d, cap, 0, &consumed, limits, memory) {
        Ok(buf) => buf,
        Err(Stop::Io(e, mut buf)) => {
            // Keep what decompressed before the damage: a truncated
            // `.jsonl.gz` still holds good records; not the record cut.
            let total = buf.bytes().len();
            let cut = buf
                .cut_partial_line()
                .map(|(line, n)| format!("; line {line}, cut off after {n} bytes, is left out"))
                .unwrap_or_default();
            f(Item::Problem {
                name: Some(name),
                reason: format!("gzip stream damaged or truncated after {total} bytes: {e}{cut}"),
            });
            if buf.bytes().is_empty() {
                return;
            }
            buf
        }
        Err(stop) => {
            let reason = stop_reason(&stop, limits, budget, None);
            drop(stop);
            f(Item::Problem {
                name: Some(name),
                reason,
            });
            return;
        }
    };
    budget.spend(buf.bytes().len());
    // The time gzip recorded for the file it compressed (logrotate's
    // `auth.log.2.gz` keeps the rotated log's), when it kept one.
    let modified = d
        .header()
        .map(|h| u64::from(h.mtime()))
        .and_then(epoch_time);
    f(Item::Member {
        name,
        data: buf.bytes(),
        modified,
    });
}
