//! Files named on the command line besides the evidence (rules, YARA,
//! tuning, profiles, ATT&CK bundles, layers, findings, token files) must be
//! regular files (or folders where a folder is allowed): a FIFO would block
//! the run forever and `/dev/zero` would be read until memory runs out.
//! Checked on the path's metadata, which never opens (so never blocks on) a
//! FIFO. Files inside folders are skipped by the loaders when not regular.

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// Largest single input file read whole (a tuning file, a profile, a
/// Navigator layer, a token file).
pub(crate) const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// Largest ATT&CK STIX bundle (the v18.1 enterprise bundle is about 45 MB).
pub(crate) const MAX_ATTACK_BYTES: u64 = 1024 * 1024 * 1024;

/// What a flag accepts.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// A regular file of at most this many bytes (`None`: any size; the
    /// reader streams it).
    File(Option<u64>),
    /// A regular file or a folder.
    FileOrFolder,
}

/// Refuse a path given to `flag` that is neither a regular file nor (where
/// allowed) a folder, or a file over its cap. A path that does not exist is
/// left to the loader, which names it in its own error.
pub(crate) fn check<'a>(
    flag: &str,
    paths: impl IntoIterator<Item = &'a PathBuf>,
    kind: Kind,
) -> Result<()> {
    for p in paths {
        check_one(flag, p, kind)?;
    }
    Ok(())
}

fn check_one(flag: &str, path: &Path, kind: Kind) -> Result<()> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if meta.is_dir() && matches!(kind, Kind::FileOrFolder) {
        return Ok(());
    }
    if !meta.is_file() {
        bail!(
            "{flag} {}: {}; only regular files{} are read",
            crate::output::terminal_safe(&path.display().to_string()),
            kahu_intel::file_kind(&meta),
            if matches!(kind, Kind::FileOrFolder) {
                " and folders"
            } else {
                ""
            }
        );
    }
    if let Kind::File(Some(cap)) = kind
        && meta.len() > cap
    {
        bail!(
            "{flag} {}: {} bytes is over the {cap}-byte limit; not read",
            crate::output::terminal_safe(&path.display().to_string()),
            meta.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_oversized_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("t.yaml");
        std::fs::write(&small, "rules: []\n").unwrap();
        assert!(check_one("--tuning", &small, Kind::File(Some(64))).is_ok());
        assert!(check_one("--tuning", &small, Kind::File(Some(4))).is_err());
        assert!(check_one("--rules", dir.path(), Kind::FileOrFolder).is_ok());
        assert!(check_one("--tuning", dir.path(), Kind::File(None)).is_err());
        let zero = check_one("--tuning", Path::new("/dev/zero"), Kind::File(None));
        assert!(zero.unwrap_err().to_string().contains("a device"));
        let fifo = dir.path().join("f");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = check_one("--profile", &fifo, Kind::File(None)).unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
        // A missing path is the loader's to report.
        assert!(check_one("--layer", &dir.path().join("none"), Kind::File(None)).is_ok());
    }
}
