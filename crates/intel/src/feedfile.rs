//! Reading one feed file: regular files only, up to a size cap.
//!
//! `--ioc` names come from the analyst but point anywhere: a FIFO would
//! block the run forever and `/dev/zero` would fill memory, so a feed must
//! be a regular file (checked on the opened descriptor, which is opened
//! non-blocking so a FIFO cannot hang the open itself) of at most
//! [`MAX_FEED_BYTES`].

use crate::IntelError;
use std::io::Read;
use std::path::Path;

/// Largest feed file read (STIX bundles of millions of indicators fit).
pub const MAX_FEED_BYTES: u64 = 256 * 1024 * 1024;

/// The bytes of the regular file `path`, or a clear error.
pub(crate) fn read_feed(path: &Path) -> Result<Vec<u8>, IntelError> {
    read_capped(path, MAX_FEED_BYTES)
}

pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, IntelError> {
    let file = path.display().to_string();
    let io = |source| IntelError::Io {
        file: file.clone(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let f = opts.open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(IntelError::Format {
            file,
            message: format!(
                "not a regular file ({}); feeds are read from regular files only",
                file_kind(&meta)
            ),
        });
    }
    let too_big = |size: u64| IntelError::Format {
        file: file.clone(),
        message: format!("feed of {size} bytes is over the {cap}-byte limit; not read"),
    };
    if meta.len() > cap {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may grow while it is read: the cap holds regardless.
    f.take(cap + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > cap {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// What a path that is not a regular file is, in words for an error
/// message ("a FIFO", "a device", "a socket", "a folder").
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_refused_not_read_until_memory_runs_out() {
        let err = read_feed(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(err.contains("not a regular file (a device)"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("feed.fifo");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Without the non-blocking open this call never returns.
        let err = read_feed(&p).unwrap_err().to_string();
        assert!(err.contains("not a regular file (a FIFO)"), "{err}");
    }

    #[test]
    fn a_feed_over_the_cap_is_refused_with_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.txt");
        std::fs::write(&p, "198.51.100.7\n".repeat(100)).unwrap();
        let err = read_capped(&p, 1000).unwrap_err().to_string();
        assert!(
            err.contains("feed of 1300 bytes is over the 1000-byte limit"),
            "{err}"
        );
        assert_eq!(read_capped(&p, 1300).unwrap().len(), 1300);
    }
}
