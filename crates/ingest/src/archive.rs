//! Zip, tar and gzip containers, read member by member into memory.
//!
//! Nothing is ever extracted to disk, so hostile member names (`../x`,
//! `/etc/passwd`) cannot write anywhere; they are still reported, because an
//! archive built that way is itself suspicious. Every member is read through
//! a hard cap (per member and for the whole top-level file) so a zip bomb
//! costs at most the cap, whatever sizes its headers declare.

use std::cell::Cell;
use std::io::{Read, Seek};

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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_member: 1 << 30,
            max_total: 8 << 30,
            max_depth: 4,
            max_members: 1_000_000,
        }
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
    /// A regular member, fully read.
    Member { name: &'a str, data: &'a [u8] },
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

/// Read up to `cap` bytes; `Err(n)` (with at least `cap + 1` bytes seen)
/// if the stream is longer.
fn read_capped(r: &mut dyn Read, cap: u64, out: &mut Vec<u8>) -> std::io::Result<Result<(), u64>> {
    out.clear();
    let n = r.take(cap.saturating_add(1)).read_to_end(out)? as u64;
    if n > cap {
        out.clear();
        out.shrink_to(1 << 20);
        return Ok(Err(n));
    }
    Ok(Ok(()))
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

/// Walk a zip archive.
pub(crate) fn zip<R: Read + Seek>(
    r: R,
    limits: &Limits,
    budget: &Budget,
    f: &mut dyn FnMut(Item<'_>) -> bool,
) {
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
    let mut buf = Vec::new();
    for i in 0..z.len() {
        if !budget.take_member() {
            f(Item::Problem {
                name: None,
                reason: "too many archive members; the rest were not read".into(),
            });
            return;
        }
        let mut m = match z.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                if !f(Item::Problem {
                    name: None,
                    reason: format!("zip member #{i} unreadable: {e}"),
                }) {
                    return;
                }
                continue;
            }
        };
        if m.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(m.name_raw()).into_owned();
        if is_unsafe_name(&name) {
            let reason =
                "member name points outside the archive (path traversal); read in memory only"
                    .to_string();
            if !f(Item::Problem {
                name: Some(&name),
                reason,
            }) {
                return;
            }
        }
        let declared = m.size();
        let cap = member_cap(limits, budget);
        if declared > cap {
            let reason = over_cap_reason(limits, budget, Some(declared));
            if !f(Item::Problem {
                name: Some(&name),
                reason,
            }) {
                return;
            }
            continue;
        }
        match read_capped(&mut m, cap, &mut buf) {
            Err(e) => {
                let reason = format!("zip member could not be decompressed: {e}");
                if !f(Item::Problem {
                    name: Some(&name),
                    reason,
                }) {
                    return;
                }
                continue;
            }
            Ok(Err(_)) => {
                let reason = over_cap_reason(limits, budget, Some(declared));
                if !f(Item::Problem {
                    name: Some(&name),
                    reason,
                }) {
                    return;
                }
                continue;
            }
            Ok(Ok(())) => {}
        }
        budget.spend(buf.len());
        drop(m);
        if buf.len() as u64 != declared {
            let reason = format!(
                "declared size {declared} but {} bytes decompressed",
                buf.len()
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
            data: &buf,
        }) {
            return;
        }
    }
}

/// Walk a tar archive.
pub(crate) fn tar(
    r: &mut dyn Read,
    limits: &Limits,
    budget: &Budget,
    f: &mut dyn FnMut(Item<'_>) -> bool,
) {
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
    let mut buf = Vec::new();
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
        if !budget.take_member() {
            f(Item::Problem {
                name: None,
                reason: "too many archive members; the rest were not read".into(),
            });
            return;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if is_unsafe_name(&name) {
            let reason =
                "member name points outside the archive (path traversal); read in memory only"
                    .to_string();
            if !f(Item::Problem {
                name: Some(&name),
                reason,
            }) {
                return;
            }
        }
        let declared = entry.size();
        let cap = member_cap(limits, budget);
        if declared > cap {
            if !f(Item::Problem {
                name: Some(&name),
                reason: over_cap_reason(limits, budget, Some(declared)),
            }) {
                return;
            }
            continue;
        }
        match read_capped(&mut entry, cap, &mut buf) {
            Ok(Ok(())) => {}
            Ok(Err(_)) => continue, // tar sizes are exact; unreachable in practice
            Err(e) => {
                f(Item::Problem {
                    name: Some(&name),
                    reason: format!("tar member truncated: {e}"),
                });
                return;
            }
        }
        budget.spend(buf.len());
        if !f(Item::Member {
            name: &name,
            data: &buf,
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
    f: &mut dyn FnMut(Item<'_>) -> bool,
) {
    if !budget.take_member() {
        f(Item::Problem {
            name: None,
            reason: "too many archive members; the rest were not read".into(),
        });
        return;
    }
    let mut d = flate2::read::MultiGzDecoder::new(r);
    let mut buf = Vec::new();
    let cap = member_cap(limits, budget);
    match read_capped(&mut d, cap, &mut buf) {
        Ok(Ok(())) => {}
        Ok(Err(_)) => {
            f(Item::Problem {
                name: Some(name),
                reason: over_cap_reason(limits, budget, None),
            });
            return;
        }
        Err(e) => {
            // Keep what decompressed before the damage: a truncated
            // `.jsonl.gz` still holds good records.
            f(Item::Problem {
                name: Some(name),
                reason: format!(
                    "gzip stream damaged or truncated after {} bytes: {e}",
                    buf.len()
                ),
            });
            if buf.is_empty() {
                return;
            }
        }
    }
    budget.spend(buf.len());
    f(Item::Member { name, data: &buf });
}
