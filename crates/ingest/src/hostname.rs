//! Inferring the host an evidence file was collected from, from the layout
//! of triage collections.
//!
//! KAPE writes `<out>/<HOST>/C/Windows/System32/winevt/Logs/…`; Velociraptor
//! offline collections are `Collection-<HOST>-<time>.zip` holding
//! `uploads/auto/C%3A/Windows/…` (or `uploads/ntfs/%5C%5C.%5CC%3A/…`). The
//! folder above the drive, skipping the collector's own folders, names the
//! host.

/// Folders collectors put between the host and the drive.
const WRAPPERS: &[&str] = &[
    "auto",
    "ntfs",
    "lazy_ntfs",
    "mft",
    "vss",
    "uploads",
    "files",
    "file",
];

/// Top-level folders of a Windows volume, which mark the component before
/// them as a drive.
const VOLUME_ROOTS: &[&str] = &["windows", "users", "programdata", "inetpub", "$mft"];

/// Names that are never hosts.
const NOT_HOSTS: &[&str] = &[
    "collection",
    "triage",
    "kape",
    "output",
    "out",
    "evidence",
    "tout",
    "logs",
    "tmp",
    "temp",
    "data",
    "c",
    "d",
    "e",
    "uploads",
    "results",
    "artifacts",
    "modules",
    "targets",
];

/// The host named by a path's layout, if it follows a known collection
/// layout. `components` are the path's parts from the root, archive file
/// names included (`Collection-WS1-2021-06-30T01_02_03Z.zip`).
pub fn infer_host<S: AsRef<str>>(components: &[S]) -> Option<String> {
    let c: Vec<&str> = components.iter().map(AsRef::as_ref).collect();
    for i in (0..c.len().saturating_sub(1)).rev() {
        if !is_drive(c[i])
            || !VOLUME_ROOTS
                .iter()
                .any(|r| c[i + 1].eq_ignore_ascii_case(r))
        {
            continue;
        }
        let mut j = i;
        while j > 0 {
            j -= 1;
            if WRAPPERS.iter().any(|w| c[j].eq_ignore_ascii_case(w)) {
                continue;
            }
            return clean(c[j]);
        }
        return None;
    }
    unix_host(&c)
}

/// Unix triage layouts: `<HOST>/var/log/…` (a folder per host, as
/// responders copy `/var/log`), UAC's `uac-<HOST>-linux-<time>/[root]/var/log/…`.
/// An `audit.log` has no host in its records unless auditd was set to
/// write one (`name_format`), so without this a reverse shell it recorded
/// was "on host unknown" and its host was not isolated.
fn unix_host(c: &[&str]) -> Option<String> {
    let i = (1..c.len().saturating_sub(1))
        .rev()
        .find(|&i| c[i] == "var" && c[i + 1] == "log")?;
    let mut j = i;
    while j > 0 {
        j -= 1;
        if c[j] == "[root]" || WRAPPERS.iter().any(|w| c[j].eq_ignore_ascii_case(w)) {
            continue;
        }
        let name = c[j];
        if let Some(rest) = strip_prefix_ci(name, "uac-") {
            let host = [
                "-linux-",
                "-macos-",
                "-freebsd-",
                "-openbsd-",
                "-netbsd-",
                "-solaris-",
                "-aix-",
                "-esxi-",
                "-android-",
            ]
            .iter()
            .find_map(|os| rest.to_ascii_lowercase().find(os).map(|k| &rest[..k]))?;
            return clean(host);
        }
        return clean(name);
    }
    None
}

fn is_drive(s: &str) -> bool {
    let b = s.as_bytes();
    let letter = |i: usize| b.get(i).is_some_and(u8::is_ascii_alphabetic);
    match b.len() {
        1 => letter(0),
        2 => letter(0) && (b[1] == b':' || b[1] == b'$'),
        4 => letter(0) && s[1..].eq_ignore_ascii_case("%3A"),
        // `%5C%5C.%5CC%3A` is `\\.\C:`, Velociraptor's raw NTFS device.
        _ => {
            let lower = s.to_ascii_lowercase();
            lower.starts_with("%5c%5c.%5c") && lower.ends_with("%3a") && lower.len() == 14
        }
    }
}

/// A host name from a collection folder or archive name, if it looks like one.
fn clean(name: &str) -> Option<String> {
    let mut s = name;
    for ext in [".zip", ".tar.gz", ".tgz", ".tar", ".7z"] {
        if s.len() > ext.len() && s[s.len() - ext.len()..].eq_ignore_ascii_case(ext) {
            s = &s[..s.len() - ext.len()];
        }
    }
    if let Some(rest) = strip_prefix_ci(s, "Collection-") {
        s = rest;
        // Velociraptor appends `-YYYY-MM-DDTHH_MM_SSZ`.
        if let Some(i) = find_date(s) {
            s = s[..i].trim_end_matches(['-', '_']);
        }
    } else if let Some(i) = find_date(s)
        && i == 0
        && let Some(u) = s.find('_')
    {
        // KAPE's `2021-06-30T010203_HOST`.
        s = &s[u + 1..];
    }
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !s.bytes().all(|b| b.is_ascii_digit())
        && !NOT_HOSTS.iter().any(|n| s.eq_ignore_ascii_case(n));
    ok.then(|| s.to_string())
}

fn strip_prefix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    (s.len() >= p.len() && s.is_char_boundary(p.len()) && s[..p.len()].eq_ignore_ascii_case(p))
        .then(|| &s[p.len()..])
}

/// Offset of the first `YYYY-MM-DD` or `YYYYMMDD` date in `s`.
fn find_date(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (0..b.len()).find(|&i| {
        let d = |k: usize| b.get(i + k).is_some_and(u8::is_ascii_digit);
        let year = (0..4).all(d) && matches!(b.get(i..i + 2), Some(b"19" | b"20"));
        let boundary = i == 0 || !b[i - 1].is_ascii_digit();
        year && boundary
            && ((b.get(i + 4) == Some(&b'-')
                && d(5)
                && d(6)
                && b.get(i + 7) == Some(&b'-')
                && d(8)
                && d(9))
                || ((4..8).all(d) && b.get(i + 8).is_none_or(|c| !c.is_ascii_digit())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(p: &str) -> Option<String> {
        let parts: Vec<&str> = p.split(['/', '\\']).filter(|s| !s.is_empty()).collect();
        infer_host(&parts)
    }

    #[test]
    fn kape_layout() {
        assert_eq!(
            host("/cases/x/kape/WS042/C/Windows/System32/winevt/Logs/Security.evtx").as_deref(),
            Some("WS042")
        );
        assert_eq!(
            host(
                "E:\\out\\2021-06-30T010203_DC01\\C\\Windows\\System32\\winevt\\Logs\\System.evtx"
            )
            .as_deref(),
            Some("DC01")
        );
    }

    #[test]
    fn velociraptor_layout() {
        assert_eq!(
            host("/ev/Collection-WIN-7ABC-2021-06-30T01_02_03Z.zip/uploads/auto/C%3A/Windows/System32/winevt/Logs/Security.evtx")
                .as_deref(),
            Some("WIN-7ABC")
        );
        assert_eq!(
            host("/ev/srv9/uploads/ntfs/%5C%5C.%5CC%3A/Windows/System32/winevt/Logs/a.evtx")
                .as_deref(),
            Some("srv9")
        );
    }

    #[test]
    fn unix_layouts() {
        assert_eq!(
            host("/cases/linux/web03/var/log/audit/audit.log").as_deref(),
            Some("web03")
        );
        assert_eq!(
            host("/ev/uac-web04-linux-20231201120000/[root]/var/log/auth.log").as_deref(),
            Some("web04")
        );
        // The analyst's own /var/log, and folders that name no host.
        assert_eq!(host("/var/log/auth.log"), None);
        assert_eq!(host("/srv/evidence/var/log/auth.log"), None);
        assert_eq!(host("/srv/evidence/[root]/var/log/auth.log"), None);
    }

    #[test]
    fn no_layout_no_host() {
        assert_eq!(host("/tmp/Security.evtx"), None);
        assert_eq!(host("C/Windows/System32/winevt/Logs/a.evtx"), None);
        assert_eq!(host("/evidence/C/Windows/a.evtx"), None);
    }
}
