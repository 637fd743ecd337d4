//! Line handling shared by the text-log readers (web servers, Linux logs,
//! Zeek): bounded line reading, lossy decoding, detection helpers.
//!
//! Evidence is attacker-controlled, so a "line" can be a gigabyte of
//! garbage without a newline. [`LineReader`] never holds more than
//! [`MAX_LINE`] bytes of one line: longer lines are skipped (drained up to
//! the next newline) and reported so the reader can warn with the line
//! number.

use crate::Origin;
use kahu_event::{Event, Location, Value};
use std::borrow::Cow;
use std::io::BufRead;
use std::sync::Arc;

/// Longest line the text readers accept, in bytes. Real log lines are a few
/// hundred bytes; even huge web requests or auditd `EXECVE` records stay far
/// below this.
pub(crate) const MAX_LINE: usize = 1024 * 1024;

/// One physical line of a text file.
pub(crate) enum Line<'a> {
    /// A line within the limit, without its `\n` / `\r\n` terminator,
    /// decoded as UTF-8 (invalid sequences replaced).
    Text(Cow<'a, str>),
    /// A line longer than the limit; its content was skipped.
    TooLong(u64),
}

/// Streams the lines of a [`BufRead`] with bounded memory.
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
    line_no: u64,
}

impl<R: BufRead> LineReader<R> {
    /// A reader with the default [`MAX_LINE`] limit.
    pub(crate) fn new(inner: R) -> Self {
        Self::with_limit(inner, MAX_LINE)
    }

    /// A reader with a custom line limit (tests use small ones).
    pub(crate) fn with_limit(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            buf: Vec::with_capacity(1024),
            max,
            line_no: 0,
        }
    }

    /// The next line and its 1-based number, `None` at end of input.
    pub(crate) fn next_line(&mut self) -> std::io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        let mut total: u64 = 0;
        let mut over = false;
        let mut saw_any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            saw_any = true;
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            // Keep bytes only while under the limit; past it, just count.
            let content = if done {
                &chunk[..take - 1]
            } else {
                &chunk[..take]
            };
            if !over && self.buf.len() + content.len() <= self.max {
                self.buf.extend_from_slice(content);
            } else if !over {
                over = true;
                self.buf.clear();
            }
            total += content.len() as u64;
            self.inner.consume(take);
            if done {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.line_no += 1;
        if over {
            return Ok(Some((self.line_no, Line::TooLong(total))));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some((
            self.line_no,
            Line::Text(String::from_utf8_lossy(&self.buf)),
        )))
    }
}

/// The lines of a detection sniff buffer (the last one may be cut short),
/// decoded lossily.
pub(crate) fn head_lines(head: &[u8]) -> impl Iterator<Item = Cow<'_, str>> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.split(|&b| b == b'\n').map(|l| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        String::from_utf8_lossy(l)
    })
}

/// Whether a sniff buffer is plausibly 8-bit text: under 1% NUL bytes.
/// UTF-16 and binary formats have far more; a few stray NULs are normal in
/// real logs (a TLS handshake logged as a request line, syslog after a
/// crash) and must not hide the file from its reader.
pub(crate) fn is_texty(head: &[u8]) -> bool {
    !head.is_empty() && memchr::memchr_iter(0, head).count() * 100 < head.len()
}

/// The last path component of a file name, lower-cased.
pub(crate) fn base_name(file_name: &str) -> String {
    file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(file_name)
        .to_ascii_lowercase()
}

/// Month number (1-12) from an English three-letter abbreviation.
pub(crate) fn month_from_abbr(m: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if m.len() != 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|x| x.eq_ignore_ascii_case(m))
        .map(|i| i as u32 + 1)
}

/// Sets `host` from the record when known, else from the collection layout.
pub(crate) fn set_host(ev: &mut Event, host: Option<&str>, origin: &Origin) {
    ev.host = match host {
        Some(h) if !h.is_empty() && h != "-" => Some(Arc::from(h)),
        _ => origin.host_hint.clone(),
    };
}

/// A field value from log text: integers become [`Value::Int`] so numeric
/// comparisons work; everything else stays text.
pub(crate) fn num_or_str(s: &str) -> Value {
    if !s.is_empty()
        && s.len() < 19
        && s.bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-' && s.len() > 1))
        && !(s.len() > 1 && s.starts_with('0'))
        && let Ok(i) = s.parse::<i64>()
    {
        return Value::Int(i);
    }
    Value::str(s)
}

/// A warning for a line, by number.
pub(crate) fn line_warning(
    origin: &Origin,
    line: u64,
    reason: impl Into<String>,
) -> crate::Warning {
    origin.warning(Some(Location::Line(line)), reason)
}

/// The standard warning for a line over the length limit.
pub(crate) fn too_long_warning(origin: &Origin, line: u64, len: u64) -> crate::Warning {
    line_warning(
        origin,
        line,
        format!("line of {len} bytes exceeds the {MAX_LINE}-byte limit; skipped"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn collect(data: &[u8], max: usize) -> Vec<(u64, Option<String>)> {
        let mut r = LineReader::with_limit(Cursor::new(data), max);
        let mut out = Vec::new();
        while let Some((n, l)) = r.next_line().unwrap() {
            out.push((
                n,
                match l {
                    Line::Text(t) => Some(t.into_owned()),
                    Line::TooLong(_) => None,
                },
            ));
        }
        out
    }

    #[test]
    fn lines_crlf_truncated_and_too_long() {
        let got = collect(b"a\r\nbb\n\nxxxxxxxxxx\nlast", 5);
        assert_eq!(
            got,
            vec![
                (1, Some("a".into())),
                (2, Some("bb".into())),
                (3, Some("".into())),
                (4, None),
                (5, Some("last".into()))
            ]
        );
    }

    #[test]
    fn too_long_across_buffer_refills() {
        let mut data = vec![b'x'; 100_000];
        data.extend_from_slice(b"\nok\n");
        let r = std::io::BufReader::with_capacity(64, Cursor::new(data));
        let mut lr = LineReader::with_limit(r, 1000);
        let (n, l) = lr.next_line().unwrap().unwrap();
        assert_eq!(n, 1);
        assert!(matches!(l, Line::TooLong(100_000)));
        let (n, l) = lr.next_line().unwrap().unwrap();
        assert_eq!(n, 2);
        assert!(matches!(l, Line::Text(ref t) if t == "ok"));
        assert!(lr.next_line().unwrap().is_none());
    }

    #[test]
    fn invalid_utf8_is_lossy() {
        let got = collect(b"a\xffb\n", 100);
        assert_eq!(got, vec![(1, Some("a\u{fffd}b".into()))]);
    }

    #[test]
    fn numbers() {
        assert_eq!(num_or_str("200"), Value::Int(200));
        assert_eq!(num_or_str("-1"), Value::Int(-1));
        assert_eq!(num_or_str("007"), Value::str("007"));
        assert_eq!(num_or_str("-"), Value::str("-"));
        assert_eq!(num_or_str("12a"), Value::str("12a"));
    }
}
