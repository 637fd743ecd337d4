//! Writing outputs that evidence cannot turn against their readers or the
//! evidence itself: spreadsheet cells that never run as formulas, list
//! entries that never split into two lines, and files that are never
//! written through a link an attacker (or an earlier mistake) left in the
//! output folder.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// A CSV cell a spreadsheet will not run: evidence-controlled text that
/// starts like a formula gets a leading apostrophe (OWASP's advice for
/// CSV injection), control characters are shown escaped.
pub fn spreadsheet_cell(s: &str) -> String {
    let clean = single_line(s);
    if clean.starts_with(['=', '+', '-', '@']) || s.starts_with(['\t', '\r']) {
        format!("'{clean}")
    } else {
        clean
    }
}

/// The one CSV writer for outputs people open in a spreadsheet (the `hunt`
/// timeline, the containment lists): every cell goes through
/// [`spreadsheet_cell`], so no caller can forget to neutralise one.
pub struct SpreadsheetCsv<W: io::Write> {
    inner: csv::Writer<W>,
}

impl<W: io::Write> SpreadsheetCsv<W> {
    /// A writer over `w`.
    pub fn new(w: W) -> Self {
        SpreadsheetCsv {
            inner: csv::Writer::from_writer(w),
        }
    }

    /// Write one row; each cell is neutralised.
    pub fn row<I, T>(&mut self, cells: I) -> io::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.inner
            .write_record(cells.into_iter().map(|c| spreadsheet_cell(c.as_ref())))
            .map_err(io::Error::other)
    }

    /// Flush to the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Text on one line: control characters (newlines, escapes) shown escaped,
/// so one value can never become two lines of a list or rewrite a terminal;
/// so are the invisible characters that make a value read as another
/// ([`is_spoofing`]: `C:\Users\x\u{202e}txt.exe` shows as `…exe.txt`,
/// `bob\u{200b}` as `bob`).
pub fn single_line(s: &str) -> String {
    let escaped = |c: char| c.is_control() || is_spoofing(c);
    if !s.chars().any(escaped) {
        return s.to_string();
    }
    s.chars()
        .flat_map(|c| {
            if escaped(c) {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Invisible characters that reorder or hide text: bidirectional
/// embeddings, overrides, isolates and marks, zero-width spaces and
/// joiners, word joiners and invisible operators, the byte-order mark.
pub fn is_spoofing(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Create (or replace) an output file without following a link at its
/// path: an existing file or link of that name is removed first, then the
/// file is created exclusively, which fails rather than follow a link
/// planted in between. A hard link to evidence loses only this name.
///
/// Nothing else is ever removed: a FIFO or a character device (`/dev/null`,
/// `/dev/stdout`'s target, a pipe to another tool) is written through, as
/// any Unix tool does, so `/dev/full` fails with "no space"; a block device
/// or a socket is refused. (Removing them replaced `/dev/null` with a
/// regular file when kahu ran as root.)
pub fn create_output_file(path: &Path) -> io::Result<File> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is a directory", path.display()),
            ));
        }
        Ok(m) if m.is_file() || m.file_type().is_symlink() => std::fs::remove_file(path)?,
        Ok(m) => return open_special(path, &m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// An output path that is neither a file, a link nor a directory: written
/// through when it is a stream (FIFO, character device), else refused.
fn open_special(path: &Path, m: &std::fs::Metadata) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_fifo() || t.is_char_device() {
            return OpenOptions::new().write(true).open(path);
        }
        let what = if t.is_block_device() {
            "a block device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is {what}; not written", path.display()),
        ))
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file; not written", path.display()),
        ))
    }
}

/// Write `bytes` to a new output file at `path` (see [`create_output_file`]).
pub fn write_output_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use io::Write;
    let mut f = create_output_file(path)?;
    f.write_all(bytes)?;
    f.flush()
}

/// The output folder the analyst names (`--out`): used as it is when it is
/// a directory or a link to one (an output disk mounted elsewhere), else
/// created as [`create_output_dir`] does. Only the names kahu creates
/// inside it never follow links. (Outputs on evidence are refused before,
/// on the link-resolved path.)
pub fn create_output_root(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    create_output_dir(path)
}

/// Create an output directory; a link at its path is replaced by a real
/// directory rather than followed.
pub fn create_output_dir(path: &Path) -> io::Result<()> {
    if let Ok(m) = std::fs::symlink_metadata(path)
        && m.file_type().is_symlink()
    {
        std::fs::remove_file(path)?;
    }
    // io errors carry no path; "File exists" alone does not say which.
    std::fs::create_dir_all(path).map_err(|e| {
        let why = if path.is_file() {
            "a file of that name exists".to_string()
        } else {
            e.to_string()
        };
        io::Error::new(
            e.kind(),
            format!("cannot create the directory {}: {why}", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_and_line_breaks_are_neutralised() {
        assert_eq!(spreadsheet_cell("=1+2"), "'=1+2");
        assert_eq!(spreadsheet_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_cell("\tx"), "'\\tx");
        assert_eq!(spreadsheet_cell("a\nb"), "a\\nb");
        assert_eq!(spreadsheet_cell("C:\\x.exe"), "C:\\x.exe");
        assert_eq!(single_line("\u{1b}[2J"), "\\u{1b}[2J");
    }

    /// `HOST-BIDI\u{202e}exe.txt`, `C:\Users\x\u{202e}txt.exe` and
    /// `bob\u{200b}` reached both CSV exports unchanged, where they read as
    /// `…exe.txt` and `bob` (probe 18). They are shown escaped; letters of
    /// other scripts are not.
    #[test]
    fn invisible_reordering_characters_are_shown_escaped() {
        assert_eq!(
            spreadsheet_cell("C:\\Users\\x\\\u{202e}txt.exe"),
            "C:\\Users\\x\\\\u{202e}txt.exe"
        );
        assert_eq!(single_line("bob\u{200b}"), "bob\\u{200b}");
        assert_eq!(
            single_line("\u{2066}x\u{2069}\u{feff}"),
            "\\u{2066}x\\u{2069}\\u{feff}"
        );
        assert_eq!(single_line("Māui 漢 عربي"), "Māui 漢 عربي");
    }

    #[test]
    fn the_spreadsheet_writer_neutralises_every_cell() {
        let mut out = Vec::new();
        let mut w = SpreadsheetCsv::new(&mut out);
        w.row(["=cmd|' /C calc'!A0", "+1", "-2", "@x", "\tt", "\rr", "ok"])
            .unwrap();
        w.flush().unwrap();
        drop(w);
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(out.as_slice());
        let rec = r.records().next().unwrap().unwrap();
        for cell in rec.iter().take(6) {
            assert!(cell.starts_with('\''), "{cell:?} not neutralised");
        }
        assert_eq!(&rec[6], "ok");
    }

    #[cfg(unix)]
    #[test]
    fn a_pipe_is_written_through_and_a_socket_refused_never_removed() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        // `-o` naming a pipe another tool reads (or /dev/null, /dev/full:
        // character devices take the same path).
        let fifo = dir.path().join("to-siem");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_output_file(&fifo, b"timeline\n").unwrap();
        assert_eq!(reader.join().unwrap(), b"timeline\n");
        let t = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(t.is_fifo(), "the pipe was replaced: {t:?}");

        let sock = dir.path().join("agent.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let err = write_output_file(&sock, b"x").unwrap_err();
        assert!(
            err.to_string().contains("is a socket; not written"),
            "{err}"
        );
        assert!(
            std::fs::symlink_metadata(&sock)
                .unwrap()
                .file_type()
                .is_socket()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_the_output_folder_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let evidence = dir.path().join("Security.evtx");
        std::fs::write(&evidence, b"evidence").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&evidence, out.join("findings.jsonl")).unwrap();
        write_output_file(&out.join("findings.jsonl"), b"{}\n").unwrap();
        assert_eq!(std::fs::read(&evidence).unwrap(), b"evidence");
        assert_eq!(std::fs::read(out.join("findings.jsonl")).unwrap(), b"{}\n");
        // A linked output directory is replaced too.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("containment")).unwrap();
        create_output_dir(&out.join("containment")).unwrap();
        assert!(
            !std::fs::symlink_metadata(out.join("containment"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
