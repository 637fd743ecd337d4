//! Hashes of files outside the operating system's own folders, as Sysmon
//! recorded them (process images, loaded modules, created and deleted
//! files). Containment uses them to block what the attacker brought —
//! the payload a detection named only by path — without ever reading the
//! hash of a Windows binary off an event.

use crate::paths::{is_os_path, is_windows_binary_name, normalise};
use kahu_event::{Event, Timestamp};
use kahu_finding::Observer;
use std::collections::{BTreeSet, HashMap};

/// Distinct paths kept; evidence with more is a flood, not a triage set.
const MAX_PATHS: usize = 200_000;
/// Distinct hashes kept per path (a path rewritten many times).
const MAX_PER_PATH: usize = 4;

/// SHA-256 hashes by normalised path.
#[derive(Debug, Default, Clone)]
pub struct FileHashes {
    by_path: HashMap<String, Sighting>,
    /// Hashes of Windows' own files (system folders, Windows program
    /// names), with one path each: a copy elsewhere has the same hash, and
    /// that hash must never be blocked.
    system: HashMap<String, String>,
    /// Paths turned away at the cap.
    pub dropped: u64,
}

/// What was seen of one path.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// SHA-256 values, lower-case.
    pub sha256: BTreeSet<String>,
    /// Hosts that recorded it.
    pub hosts: BTreeSet<String>,
    /// Earliest record.
    pub first_seen: Option<Timestamp>,
}

impl FileHashes {
    /// What was seen of `path` (any spelling of it).
    pub fn get(&self, path: &str) -> Option<&Sighting> {
        self.by_path.get(&normalise(path))
    }

    /// The Windows file whose content has this hash, if one was seen.
    pub fn system_file(&self, sha256: &str) -> Option<&str> {
        self.system.get(sha256).map(String::as_str)
    }

    /// Number of paths with a hash.
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// `true` when no hash was seen.
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    fn add(&mut self, path: &str, sha: String, host: Option<&str>, t: Option<Timestamp>) {
        let key = normalise(path);
        if !self.by_path.contains_key(&key) && self.by_path.len() >= MAX_PATHS {
            self.dropped += 1;
            return;
        }
        let s = self.by_path.entry(key).or_default();
        if s.sha256.len() < MAX_PER_PATH {
            s.sha256.insert(sha);
        }
        if let Some(h) = host
            && s.hosts.len() < 16
        {
            s.hosts.insert(h.to_ascii_lowercase());
        }
        s.first_seen = match (s.first_seen, t) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// The file a Sysmon event's `Hashes` field describes.
fn hashed_path_field(event_id: Option<u32>) -> &'static str {
    match event_id {
        Some(6 | 7) => "ImageLoaded",
        Some(15 | 23 | 26 | 29) => "TargetFilename",
        _ => "Image",
    }
}

/// The SHA-256 in a Sysmon `Hashes` value (`SHA1=…,MD5=…,SHA256=…`).
pub fn sha256_of(hashes: &str) -> Option<String> {
    hashes.split(',').find_map(|part| {
        let (alg, h) = part.split_once('=')?;
        let h = h.trim();
        (alg.trim().eq_ignore_ascii_case("SHA256")
            && h.len() == 64
            && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| h.to_ascii_lowercase())
    })
}

impl Observer for FileHashes {
    fn observe(&mut self, e: &Event) {
        let Some(hashes) = e
            .fields
            .get("Hashes")
            .or_else(|| e.fields.get("Hash"))
            .and_then(|v| v.as_text())
        else {
            return;
        };
        let Some(sha) = sha256_of(&hashes) else {
            return;
        };
        let Some(path) = e
            .fields
            .get(hashed_path_field(e.event_id))
            .and_then(|v| v.as_text())
        else {
            return;
        };
        if path.is_empty() {
            return;
        }
        // A file the event shows unsigned or signed by someone else is not
        // Windows' own wherever it lies (an unsigned DLL planted in
        // System32, a vendor's vulnerable driver in `drivers\`).
        let str_field = |k: &str| match e.fields.get(k) {
            Some(kahu_event::Value::Str(s)) => Some(&**s),
            _ => None,
        };
        let foreign = matches!(
            crate::signer::signer(str_field),
            crate::signer::Signer::Other(_) | crate::signer::Signer::Unsigned
        );
        if !foreign && (is_os_path(&path) || is_windows_binary_name(&path)) {
            if self.system.len() < MAX_PATHS {
                let e = self.system.entry(sha).or_insert_with(|| path.to_string());
                if *path < **e {
                    *e = path.into_owned();
                }
            }
            return;
        }
        self.add(&path, sha, e.host.as_deref(), e.timestamp);
    }

    fn merge(&mut self, other: Self) {
        self.dropped += other.dropped;
        for (sha, path) in other.system {
            if self.system.len() >= MAX_PATHS {
                break;
            }
            // The smallest path, so the reason reads the same on every run.
            let e = self.system.entry(sha).or_insert_with(|| path.clone());
            if path < *e {
                *e = path;
            }
        }
        for (k, s) in other.by_path {
            let t = s.first_seen;
            for sha in s.sha256 {
                let host = s.hosts.iter().next().map(String::as_str);
                self.add(&k, sha, host, t);
            }
            if let Some(mine) = self.by_path.get_mut(&k) {
                for h in s.hosts {
                    if mine.hosts.len() < 16 {
                        mine.hosts.insert(h);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kahu_event::{Location, Provenance, Value};
    use std::sync::Arc;

    fn sysmon(eid: u32, field: &str, path: &str, sha: &str) -> Event {
        let mut e = Event::new(Provenance::new(Arc::from("s.evtx"), Location::Record(1)));
        e.event_id = Some(eid);
        e.host = Some(Arc::from("WS01"));
        e.fields.insert(field, Value::str(path));
        e.fields.insert(
            "Hashes",
            Value::str(&format!("MD5=00,SHA256={sha},IMPHASH=11")),
        );
        e
    }

    #[test]
    fn keeps_dropped_files_and_never_os_binaries() {
        let payload = "B586AF60F8FA19D4FCD832A2D234E80CF2CF7CE6C01919B3523C4B7304B4D866";
        let cmd = "46FBCCB67F22A02F0E72B833451E6504AF69CA2FA93D39C33B5742823A8FBC8F";
        let mut h = FileHashes::default();
        h.observe(&sysmon(1, "Image", "C:\\ProgramData\\dsync.exe", payload));
        h.observe(&sysmon(1, "Image", "C:\\Windows\\System32\\cmd.exe", cmd));
        h.observe(&sysmon(
            7,
            "ImageLoaded",
            "C:\\Windows\\SysWOW64\\ntdll.dll",
            cmd,
        ));
        assert_eq!(h.len(), 1);
        let s = h
            .get("c:\\programdata\\DSYNC.exe")
            .expect("payload hash kept");
        assert!(s.sha256.contains(&payload.to_ascii_lowercase()));
        assert!(h.get("C:\\Windows\\System32\\cmd.exe").is_none());
        // …but its content is known to be Windows' own.
        assert!(h.system_file(&cmd.to_ascii_lowercase()).is_some());
    }

    #[test]
    fn malformed_hash_values_are_ignored() {
        assert_eq!(sha256_of("SHA256=abc"), None);
        assert_eq!(sha256_of("SHA256=zz"), None);
        assert_eq!(sha256_of("MD5=4C8B073FBD2AFBBBCFA6FE888CC5EA9B"), None);
        let ok = "a".repeat(64);
        assert_eq!(sha256_of(&format!("SHA1=x, sha256={ok}")), Some(ok));
    }
}
