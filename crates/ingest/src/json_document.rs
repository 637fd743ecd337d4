//! JSON that is not one object per line: a document, several concatenated
//! documents, or a top-level array of records, streamed value by value.
//!
//! Only one value is held at a time: the elements of a top-level array are
//! cut out of the stream one by one (a 200 MB array costs the largest
//! element, not the array), and a value over [`MAX_VALUE`] bytes is
//! drained without being kept and reported. The cutting only tracks
//! strings and brackets; each value is then parsed on its own, so a
//! malformed element is a warning naming its line and its neighbours are
//! still read.

use crate::json::{MAX_VALUE, to_event};
use crate::jsonvalue::{self, KeyCache};
use crate::{Origin, Sink};
use kahu_event::Location;
use std::io::BufRead;

/// Brackets checked for matching pairs; deeper nesting is only counted
/// (the value parser refuses it anyway), so hostile `[[[[…` costs nothing.
const CHECKED_DEPTH: usize = 1024;

/// Read every value of `r`, sending one event per object.
pub(crate) fn read(
    r: Box<dyn BufRead + Send + '_>,
    origin: &Origin,
    sink: &mut dyn Sink,
    keys: &mut KeyCache,
) -> std::io::Result<()> {
    read_with_cap(r, origin, sink, keys, MAX_VALUE)
}

/// [`read`] with the value cap as a parameter, for tests.
pub(crate) fn read_with_cap(
    r: Box<dyn BufRead + Send + '_>,
    origin: &Origin,
    sink: &mut dyn Sink,
    keys: &mut KeyCache,
    cap: usize,
) -> std::io::Result<()> {
    let mut s = Scanner {
        r,
        line: 1,
        in_array: false,
        cap,
    };
    s.skip_bom()?;
    let mut buf = Vec::new();
    loop {
        let resync = match s.next(&mut buf)? {
            Piece::Eof => return Ok(()),
            Piece::TooLong { line, len } => {
                sink.warning(origin.warning(
                    Some(Location::Line(line)),
                    format!("JSON value of {len} bytes is over the {cap}-byte limit; skipped"),
                ));
                false
            }
            Piece::Stray { line, byte } => {
                sink.warning(origin.warning(
                    Some(Location::Line(line)),
                    format!("malformed JSON: unexpected `{}`", char::from(byte)),
                ));
                true
            }
            Piece::Value { line, whole } => match jsonvalue::parse_lossy(&buf, keys) {
                Ok((v, lossy)) => {
                    if lossy {
                        sink.warning(
                            origin
                                .warning(Some(Location::Line(line)), jsonvalue::LOSSY_UTF8_WARNING),
                        );
                    }
                    match to_event(v, None, origin) {
                        Ok(mut ev) => {
                            // Records in a document have no line of their
                            // own; those without a record id get the line
                            // their value starts on.
                            if ev.provenance.location == Location::File {
                                ev.provenance.location = Location::Line(line);
                            }
                            if !sink.event(ev) {
                                return Ok(());
                            }
                        }
                        Err(why) => sink.warning(origin.warning(Some(Location::Line(line)), why)),
                    }
                    false
                }
                Err(e) => {
                    // serde_json counts lines from the start of the value.
                    let at = line + (e.line() as u64).saturating_sub(1);
                    // Its own "at line 17 column 5" counts from the value,
                    // beside a warning that gives the file's line: keep
                    // one position, in the file's terms.
                    let text = e.to_string();
                    let own = format!(" at line {} column {}", e.line(), e.column());
                    let what = text.strip_suffix(&own).unwrap_or(&text);
                    let column = if e.line() > 1 {
                        format!(" (column {})", e.column())
                    } else {
                        String::new()
                    };
                    sink.warning(origin.warning(
                        Some(Location::Line(at)),
                        format!("malformed JSON: {what}{column}"),
                    ));
                    // A broken object or array still ends where its
                    // brackets do; anything else leaves no clean boundary.
                    !whole || !matches!(buf.first(), Some(b'{' | b'['))
                }
            },
        };
        if resync {
            s.resync()?;
        }
    }
}

/// The length (newline included) of an `evtx_dump` record header line,
/// `Record 17`, at the start of `b`: `evtx_dump -o json` writes one before
/// each record, and the records between are read as any concatenated JSON.
pub(crate) fn record_header_len(b: &[u8]) -> Option<usize> {
    let rest = b.strip_prefix(b"Record ")?;
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 20 {
        return None;
    }
    let after = &rest[digits..];
    let eol = match after {
        [b'\n', ..] => 1,
        [b'\r', b'\n', ..] => 2,
        _ => return None,
    };
    Some(7 + digits + eol)
}

/// What the scanner cut out of the stream.
enum Piece {
    Eof,
    /// A value (in the caller's buffer) starting on `line`; `whole` is false
    /// when its brackets did not match or the input ended inside it.
    Value {
        line: u64,
        whole: bool,
    },
    /// A value over the cap, drained.
    TooLong {
        line: u64,
        len: u64,
    },
    /// A closing bracket or comma where no value was open.
    Stray {
        line: u64,
        byte: u8,
    },
}

struct Scanner<'a> {
    r: Box<dyn BufRead + Send + 'a>,
    /// Current 1-based line.
    line: u64,
    /// Inside a top-level array: its elements are the values.
    in_array: bool,
    cap: usize,
}

impl Scanner<'_> {
    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        Ok(self.r.fill_buf()?.first().copied())
    }

    fn skip_bom(&mut self) -> std::io::Result<()> {
        if self.r.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
            self.r.consume(3);
        }
        Ok(())
    }

    fn next(&mut self, buf: &mut Vec<u8>) -> std::io::Result<Piece> {
        buf.clear();
        let first = loop {
            let Some(b) = self.peek()? else {
                return Ok(Piece::Eof);
            };
            match b {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                b',' if self.in_array => {}
                b']' if self.in_array => self.in_array = false,
                b'[' if !self.in_array => self.in_array = true,
                b'R' if !self.in_array => {
                    if let Some(n) = record_header_len(self.r.fill_buf()?) {
                        self.r.consume(n);
                        self.line += 1;
                        continue;
                    }
                    break b;
                }
                _ => break b,
            }
            self.r.consume(1);
        };
        let line = self.line;
        match first {
            b'}' | b']' | b',' => {
                self.r.consume(1);
                Ok(Piece::Stray { line, byte: first })
            }
            b'{' | b'[' => self.nested(buf, line),
            _ => self.scalar(buf, line),
        }
    }

    /// Keep `bytes` if the value is still under the cap.
    fn keep(cap: usize, buf: &mut Vec<u8>, len: u64, bytes: &[u8]) {
        if len <= cap as u64 {
            let room = cap - buf.len();
            buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }

    fn finish(&self, line: u64, len: u64, whole: bool) -> Piece {
        if len > self.cap as u64 {
            Piece::TooLong { line, len }
        } else {
            Piece::Value { line, whole }
        }
    }

    /// An object or array, up to its matching closing bracket.
    fn nested(&mut self, buf: &mut Vec<u8>, line: u64) -> std::io::Result<Piece> {
        let mut closers: Vec<u8> = Vec::new();
        let mut unchecked = 0u64;
        let (mut in_str, mut esc) = (false, false);
        let mut len = 0u64;
        loop {
            let chunk = self.r.fill_buf()?;
            if chunk.is_empty() {
                return Ok(self.finish(line, len, false));
            }
            let mut end = None;
            let mut whole = true;
            let mut newlines = 0;
            for (i, &b) in chunk.iter().enumerate() {
                if in_str {
                    if esc {
                        esc = false;
                    } else if b == b'\\' {
                        esc = true;
                    } else if b == b'"' {
                        in_str = false;
                    } else if b == b'\n' {
                        newlines += 1;
                    }
                    continue;
                }
                match b {
                    b'"' => in_str = true,
                    b'{' | b'[' => {
                        if closers.len() < CHECKED_DEPTH {
                            closers.push(if b == b'{' { b'}' } else { b']' });
                        } else {
                            unchecked += 1;
                        }
                    }
                    b'}' | b']' => {
                        if unchecked > 0 {
                            unchecked -= 1;
                        } else if closers.pop() != Some(b) {
                            whole = false;
                        }
                        if closers.is_empty() || !whole {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    b'\n' => newlines += 1,
                    _ => {}
                }
            }
            let take = end.unwrap_or(chunk.len());
            len += take as u64;
            Self::keep(self.cap, buf, len, &chunk[..take]);
            self.r.consume(take);
            self.line += newlines;
            if end.is_some() {
                return Ok(self.finish(line, len, whole));
            }
        }
    }

    /// A string, number or literal (or garbage), up to the next delimiter.
    fn scalar(&mut self, buf: &mut Vec<u8>, line: u64) -> std::io::Result<Piece> {
        let (mut in_str, mut esc) = (false, false);
        let mut len = 0u64;
        loop {
            let chunk = self.r.fill_buf()?;
            if chunk.is_empty() {
                return Ok(self.finish(line, len, !in_str));
            }
            let mut end = None;
            for (i, &b) in chunk.iter().enumerate() {
                if len == 0 && i == 0 && b == b'"' {
                    in_str = true;
                } else if in_str {
                    if esc {
                        esc = false;
                    } else if b == b'\\' {
                        esc = true;
                    } else if b == b'"' {
                        end = Some(i + 1);
                        break;
                    }
                } else if b.is_ascii_whitespace() || b",]}{[\"".contains(&b) {
                    end = Some(i);
                    break;
                }
            }
            let take = end.unwrap_or(chunk.len());
            len += take as u64;
            Self::keep(self.cap, buf, len, &chunk[..take]);
            self.r.consume(take);
            if end.is_some() {
                return Ok(self.finish(line, len, true));
            }
        }
    }

    /// Skip to the next line that opens an object or array.
    fn resync(&mut self) -> std::io::Result<()> {
        loop {
            let chunk = self.r.fill_buf()?;
            if chunk.is_empty() {
                return Ok(());
            }
            match memchr::memchr(b'\n', chunk) {
                None => {
                    let n = chunk.len();
                    self.r.consume(n);
                }
                Some(i) => {
                    self.r.consume(i + 1);
                    self.line += 1;
                    while let Some(b' ' | b'\t' | b'\r') = self.peek()? {
                        self.r.consume(1);
                    }
                    if let Some(b'{' | b'[') = self.peek()? {
                        return Ok(());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Warning;
    use kahu_event::Event;
    use std::io::{BufReader, Read};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn origin() -> Origin {
        Origin {
            file: Arc::from("doc.json"),
            member: None,
            host_hint: None,
            modified: None,
        }
    }

    #[derive(Default)]
    struct Log {
        events: Vec<Event>,
        warnings: Vec<Warning>,
        stop_after: Option<usize>,
    }

    impl Sink for Log {
        fn event(&mut self, e: Event) -> bool {
            self.events.push(e);
            self.stop_after.is_none_or(|n| self.events.len() < n)
        }
        fn warning(&mut self, w: Warning) {
            self.warnings.push(w);
        }
    }

    /// A top-level array of `n` records made on the fly, counting the
    /// bytes pulled from it.
    struct ArrayGen {
        n: u64,
        next: u64,
        pending: Vec<u8>,
        pulled: Arc<AtomicU64>,
    }

    impl Read for ArrayGen {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.pending.is_empty() {
                self.pending = match self.next {
                    i if i == self.n => b"\n]\n".to_vec(),
                    i if i > self.n => return Ok(0),
                    i => format!(
                        "{}\n  {{\"EventID\": 4624, \"Computer\": \"h{i}\", \"pad\": \"{}\"}}",
                        if i == 0 { "[" } else { "," },
                        "x".repeat(60)
                    )
                    .into_bytes(),
                };
                self.next += 1;
            }
            let k = out.len().min(self.pending.len());
            out[..k].copy_from_slice(&self.pending[..k]);
            self.pending.drain(..k);
            self.pulled.fetch_add(k as u64, Ordering::Relaxed);
            Ok(k)
        }
    }

    #[test]
    fn a_200_mb_top_level_array_is_streamed_element_by_element() {
        let pulled = Arc::new(AtomicU64::new(0));
        let array = ArrayGen {
            n: 2_500_000, // about 240 MB of text, never held
            next: 0,
            pending: Vec::new(),
            pulled: pulled.clone(),
        };
        let mut log = Log {
            stop_after: Some(10),
            ..Log::default()
        };
        let r = Box::new(BufReader::with_capacity(64 * 1024, array));
        read(r, &origin(), &mut log, &mut KeyCache::default()).unwrap();
        assert_eq!(log.events.len(), 10);
        // Reading the whole array first would have pulled all of it.
        let n = pulled.load(Ordering::Relaxed);
        assert!(n <= 128 * 1024, "pulled {n} bytes for 10 records");
        assert_eq!(log.events[9].provenance.location, Location::Line(11));
    }

    #[test]
    fn an_element_over_the_cap_or_malformed_is_skipped_and_its_neighbours_read() {
        let big = "y".repeat(200);
        let text = format!(
            "[\n {{\"a\":1}},\n {{\"big\":\"{big}\"}},\n {{\"b\": tru}},\n {{\"c\":[1,\"]\"]}}\n]\n{{\"d\":4}}"
        );
        let mut log = Log::default();
        let r = Box::new(std::io::Cursor::new(text.into_bytes()));
        read_with_cap(r, &origin(), &mut log, &mut KeyCache::default(), 64).unwrap();
        let lines: Vec<_> = log.events.iter().map(|e| e.provenance.location).collect();
        assert_eq!(
            lines,
            [Location::Line(2), Location::Line(5), Location::Line(7)]
        );
        assert_eq!(log.warnings.len(), 2, "{:?}", log.warnings);
        assert_eq!(log.warnings[0].location, Some(Location::Line(3)));
        assert!(log.warnings[0].reason.contains("over the 64-byte limit"));
        assert_eq!(log.warnings[1].location, Some(Location::Line(4)));
    }

    #[test]
    fn evtx_dump_record_lines_are_skipped_between_records() {
        // `evtx_dump -o json` (its default output) was "no reader
        // recognises this file's format".
        let text = "Record 1\n{\n  \"Event\": {\"System\": {\"EventID\": 4624, \"Channel\": \"Security\", \"Computer\": \"DC01\"}}\n}\nRecord 2\r\n{\n  \"Event\": {\"System\": {\"EventID\": 4625, \"Channel\": \"Security\", \"Computer\": \"DC01\"}}\n}\n";
        assert!(crate::Format::detect(
            &crate::json::Json,
            text.as_bytes(),
            "dump.json"
        ));
        let mut log = Log::default();
        let r = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        read(r, &origin(), &mut log, &mut KeyCache::default()).unwrap();
        assert!(log.warnings.is_empty(), "{:?}", log.warnings);
        let ids: Vec<_> = log.events.iter().map(|e| e.event_id).collect();
        assert_eq!(ids, [Some(4624), Some(4625)]);
        // Not a record header: a stray word is still malformed JSON.
        assert_eq!(record_header_len(b"Record x\n"), None);
        assert_eq!(record_header_len(b"Records 1\n"), None);
    }

    #[test]
    fn a_malformed_element_gives_one_position_in_file_terms() {
        // "line 50: … at line 17 column 5": two lines, one of them counted
        // from the element.
        let text = "[\n{\"a\": 1},\n{\n  \"b\": 2,\n  \"c\": \"unterminated\n";
        let mut log = Log::default();
        let r = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        read(r, &origin(), &mut log, &mut KeyCache::default()).unwrap();
        assert_eq!(log.warnings.len(), 1, "{:?}", log.warnings);
        let w = &log.warnings[0];
        assert!(!w.reason.contains(" at line "), "{}", w.reason);
        assert!(w.reason.starts_with("malformed JSON: "), "{}", w.reason);
    }
}
