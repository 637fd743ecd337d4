//! Hive-style partition folders, `day=YYYY-MM-DD/host=NAME`, from an
//! event's UTC day and host.
//!
//! Host names come from the evidence, so they are attacker-controlled: the
//! folder name keeps only `A-Z a-z 0-9 . - _` and percent-encodes every
//! other byte (`/` is `%2F`, a NUL `%00`, `%` itself `%25`), so no name
//! can leave the output folder (`..` becomes `%2E.`), hide a folder, or
//! carry a control character. The encoding is reversible up to the length
//! cap ([`MAX_HOST_DIR`]); the exact host is in each row's `host` column
//! either way, and that column, not the folder, is what the reader returns.

use kahu_event::Event;

/// Partition value for events without a time or without a host. It starts
/// with `_`, which [`host_dir`] always encodes, so no host can be named so.
pub const UNKNOWN: &str = "_unknown";
/// Partition value for an empty host name (`""`), apart from no host.
pub const EMPTY: &str = "_empty";

/// Longest encoded host kept whole in a folder name; longer ones keep
/// their first bytes and a hash of the whole name, so the folder name
/// stays under file-system limits (255 bytes) and distinct names stay apart.
pub const MAX_HOST_DIR: usize = 120;

/// The partition an event belongs to: (`day=…`, `host=…`) folder names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    /// `day=YYYY-MM-DD` (UTC) or `day=_unknown`.
    pub day: String,
    /// `host=NAME` (encoded), `host=_unknown` or `host=_empty`.
    pub host: String,
}

impl PartitionKey {
    /// The partition of `event`.
    pub fn of(event: &Event) -> Self {
        let day = match &event.timestamp {
            // `%Y` gives a sign for years outside 0..=9999 (`+12345`), never `/`.
            Some(t) => format!("day={}", t.format("%Y-%m-%d")),
            None => format!("day={UNKNOWN}"),
        };
        let host = match event.host.as_deref() {
            Some(h) => format!("host={}", host_dir(h)),
            None => format!("host={UNKNOWN}"),
        };
        PartitionKey { day, host }
    }

    /// The folder below the output root: `day=…/host=…`.
    pub fn relative(&self) -> std::path::PathBuf {
        std::path::Path::new(&self.day).join(&self.host)
    }
}

/// A host name as a safe folder-name value (see the module docs).
pub fn host_dir(host: &str) -> String {
    if host.is_empty() {
        return EMPTY.to_string();
    }
    let mut out = String::with_capacity(host.len());
    for (i, b) in host.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'-' || ((b == b'.' || b == b'_') && i > 0);
        if plain {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > MAX_HOST_DIR {
        // Cut at a byte that starts no escape, so no `%X` is left dangling.
        let mut cut = MAX_HOST_DIR - 20;
        while out.as_bytes()[cut - 1] == b'%' || out.as_bytes()[cut - 2] == b'%' {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str(&format!("~{:016x}", fnv1a(host.as_bytes())));
    }
    out
}

/// FNV-1a, 64 bits: a stable hash (the same name gives the same folder in
/// every run and on every machine), unlike std's randomised hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use kahu_event::{Location, Provenance};
    use std::sync::Arc;

    #[test]
    fn hostile_host_names_stay_one_safe_folder_name() {
        assert_eq!(host_dir("WS01.corp.local"), "WS01.corp.local");
        assert_eq!(host_dir(".."), "%2E.");
        assert_eq!(host_dir("../../etc"), "%2E.%2F..%2Fetc");
        assert_eq!(host_dir("a/b\\c"), "a%2Fb%5Cc");
        assert_eq!(host_dir("x\0y\nz"), "x%00y%0Az");
        assert_eq!(host_dir("100%"), "100%25");
        assert_eq!(host_dir("_unknown"), "%5Funknown");
        assert_eq!(host_dir(""), EMPTY);
        assert_eq!(host_dir("héte"), "h%C3%A9te");
        for name in ["..", ".", "/", "a/../b", "\u{202e}evil", "con", "_empty"] {
            let d = host_dir(name);
            assert!(!d.contains('/') && !d.contains('\\') && d != "." && d != "..");
            assert!(!d.starts_with('.') && d.bytes().all(|b| b.is_ascii_graphic()));
        }
        let long = "é".repeat(500);
        let d = host_dir(&long);
        assert!(d.len() <= MAX_HOST_DIR, "{}", d.len());
        assert_ne!(d, host_dir(&"é".repeat(501)));
        // Never a dangling escape before the hash.
        let cut = d.split('~').next().expect("prefix");
        assert!(!cut[cut.len() - 2..].contains('%'), "{cut}");
    }

    #[test]
    fn events_without_time_or_host_go_to_the_unknown_partition() {
        let mut e = Event::new(Provenance::new(Arc::from("f"), Location::Line(1)));
        let k = PartitionKey::of(&e);
        assert_eq!(
            (k.day.as_str(), k.host.as_str()),
            ("day=_unknown", "host=_unknown")
        );
        e.host = Some(Arc::from("dc01"));
        e.timestamp = kahu_event::parse_timestamp("2021-05-04T23:59:59.9999999+10:00");
        let k = PartitionKey::of(&e);
        assert_eq!(
            k.relative(),
            std::path::Path::new("day=2021-05-04/host=dc01")
        );
        e.timestamp = kahu_event::parse_timestamp("99999999999");
        assert_eq!(PartitionKey::of(&e).day, "day=5138-11-16");
    }
}
