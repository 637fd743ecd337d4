//! JSON and JSON-lines evidence, told apart by content.
//!
//! One object per line (JSONL, what Winlogbeat, NXLog, Logstash and kahu's
//! demo generator write) streams line by line in bounded memory: a malformed
//! line is a warning naming its line number, a line over
//! [`MAX_LINE`] is skipped with a warning. Anything else (a pretty-printed
//! document, several concatenated documents, an array of records) is read
//! whole, up to [`MAX_DOCUMENT`], and its values streamed.
//!
//! Each object is normalised by shape (see [`crate::shapes`]): the EVTX JSON
//! rendering goes through the same normaliser as `.evtx` files.

use crate::jsonvalue::{self, KeyCache};
use crate::shapes::{self, Shape};
use crate::{Format, Input, Origin, Sink, winevent};
use kahu_event::{Event, Location, Provenance, Value};
use serde_json::value::RawValue;
use std::io::{BufRead, Read};

/// Longest JSON line read; longer lines are skipped with a warning.
pub const MAX_LINE: usize = 16 * 1024 * 1024;
/// Largest non-line-delimited JSON document read into memory.
pub const MAX_DOCUMENT: u64 = 512 * 1024 * 1024;

/// JSON documents and JSON lines.
#[derive(Debug, Default, Clone, Copy)]
pub struct Json;

impl Format for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn detect(&self, head: &[u8], _file_name: &str) -> bool {
        matches!(first_significant(head), Some(b'{' | b'['))
    }

    fn read(&self, input: Input<'_>, origin: &Origin, sink: &mut dyn Sink) -> std::io::Result<()> {
        let mut r = input.open()?;
        let head = r.fill_buf()?;
        let mut keys = KeyCache::default();
        if looks_like_lines(head) {
            read_lines(r, origin, sink, &mut keys)
        } else {
            read_document(r, origin, sink, &mut keys)
        }
    }
}

/// First byte that is not whitespace or a UTF-8 byte-order mark.
fn first_significant(head: &[u8]) -> Option<u8> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// JSON lines if the first non-blank line is a complete object by itself.
fn looks_like_lines(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let rest = &head[start..];
    if rest.first() != Some(&b'{') {
        return false;
    }
    let Some(end) = memchr::memchr(b'\n', rest) else {
        return false;
    };
    serde_json::from_slice::<serde::de::IgnoredAny>(&rest[..end]).is_ok()
}

/// Turn one parsed object into an event, by shape.
fn to_event(v: Value, line: Option<u64>, origin: &Origin) -> Result<Event, &'static str> {
    let Value::Object(o) = v else {
        return Err("not a JSON object");
    };
    let at = |loc| origin.provenance(loc);
    Ok(match shapes::classify(&o) {
        Shape::EvtxJson => {
            let loc = match line {
                Some(l) => Location::Line(l),
                None => record_id(&o).map_or(Location::File, Location::Record),
            };
            winevent::normalise(Value::Object(o), at(loc)).ok_or("Event without System")?
        }
        shape => {
            let prov: Provenance = at(line.map_or(Location::File, Location::Line));
            match shape {
                Shape::Winlogbeat => shapes::winlogbeat(o, prov),
                Shape::Nxlog => shapes::nxlog(o, prov),
                _ => shapes::generic(o, prov),
            }
        }
    })
}

fn record_id(o: &kahu_event::Fields) -> Option<u64> {
    let Some(Value::Object(e)) = o.get_exact("Event") else {
        return None;
    };
    let Some(Value::Object(s)) = e.get_exact("System") else {
        return None;
    };
    s.get_exact("EventRecordID")?
        .as_i64()
        .and_then(|i| u64::try_from(i).ok())
}

fn read_lines(
    mut r: Box<dyn BufRead + Send + '_>,
    origin: &Origin,
    sink: &mut dyn Sink,
    keys: &mut KeyCache,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut line_no = 0u64;
    loop {
        line_no += 1;
        let line = match next_line(&mut r, &mut buf, MAX_LINE)? {
            Line::Eof => return Ok(()),
            Line::TooLong(n) => {
                sink.warning(origin.warning(
                    Some(Location::Line(line_no)),
                    format!("line of {n} bytes is over the {MAX_LINE}-byte limit; skipped"),
                ));
                continue;
            }
            Line::Text => trim(&buf),
        };
        if line.is_empty() {
            continue;
        }
        let v = match jsonvalue::parse(line, keys) {
            Ok(v) => v,
            Err(e) => {
                sink.warning(origin.warning(
                    Some(Location::Line(line_no)),
                    format!("malformed JSON: {e}"),
                ));
                continue;
            }
        };
        match to_event(v, Some(line_no), origin) {
            Ok(ev) => {
                if !sink.event(ev) {
                    return Ok(());
                }
            }
            Err(why) => sink.warning(origin.warning(Some(Location::Line(line_no)), why)),
        }
    }
}

enum Line {
    Eof,
    /// The line is in the buffer (without its `\n`).
    Text,
    /// The line was longer than the cap and has been skipped.
    TooLong(u64),
}

/// Read one line into `buf`, never holding more than `cap` bytes of it.
fn next_line(r: &mut dyn BufRead, buf: &mut Vec<u8>, cap: usize) -> std::io::Result<Line> {
    buf.clear();
    let mut seen = 0u64;
    let mut too_long = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(match (seen, too_long) {
                (0, _) => Line::Eof,
                (n, true) => Line::TooLong(n),
                _ => Line::Text,
            });
        }
        let (chunk, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..i], Some(i + 1)),
            None => (avail, None),
        };
        seen += chunk.len() as u64;
        if !too_long {
            if buf.len() + chunk.len() > cap {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = done.unwrap_or(avail.len());
        r.consume(used);
        if done.is_some() {
            return Ok(if too_long {
                Line::TooLong(seen)
            } else {
                Line::Text
            });
        }
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn read_document(
    r: Box<dyn BufRead + Send + '_>,
    origin: &Origin,
    sink: &mut dyn Sink,
    keys: &mut KeyCache,
) -> std::io::Result<()> {
    let mut data = Vec::new();
    r.take(MAX_DOCUMENT + 1).read_to_end(&mut data)?;
    if data.len() as u64 > MAX_DOCUMENT {
        data.truncate(MAX_DOCUMENT as usize);
        sink.warning(origin.warning(
            Some(Location::Offset(MAX_DOCUMENT)),
            format!("JSON document over the {MAX_DOCUMENT}-byte limit; only the start was read"),
        ));
    }
    let mut pos = data.strip_prefix(b"\xEF\xBB\xBF").map_or(0, |_| 3);
    let mut lines = LineCounter::default();
    while pos < data.len() {
        let mut stream =
            serde_json::Deserializer::from_slice(&data[pos..]).into_iter::<&RawValue>();
        match stream.next() {
            None => break,
            Some(Ok(raw)) => {
                let consumed = stream.byte_offset();
                let v = match jsonvalue::parse(raw.get().as_bytes(), keys) {
                    Ok(v) => v,
                    Err(e) => {
                        // Valid JSON the value builder refused (nesting too deep).
                        let line = lines.line_at(&data, pos);
                        sink.warning(origin.warning(
                            Some(Location::Line(line)),
                            format!("unreadable JSON value: {e}"),
                        ));
                        pos += consumed.max(1);
                        continue;
                    }
                };
                let elems = match v {
                    Value::Array(items) => items,
                    other => vec![other],
                };
                for v in elems {
                    let ev = match to_event(v, None, origin) {
                        Ok(ev) => ev,
                        Err(why) => {
                            let line = lines.line_at(&data, pos);
                            sink.warning(origin.warning(Some(Location::Line(line)), why));
                            continue;
                        }
                    };
                    let ev = with_line_if_unplaced(ev, &mut lines, &data, pos);
                    if !sink.event(ev) {
                        return Ok(());
                    }
                }
                pos += consumed.max(1);
                // Skip whitespace between documents so the end is seen cleanly.
                while pos < data.len() && data[pos].is_ascii_whitespace() {
                    pos += 1;
                }
            }
            Some(Err(e)) => {
                // serde_json counts lines from the start of the slice.
                let line = lines.line_at(&data, pos) + (e.line() as u64).saturating_sub(1);
                sink.warning(
                    origin.warning(Some(Location::Line(line)), format!("malformed JSON: {e}")),
                );
                // Resynchronise at the next line that opens a value.
                match resync(&data, pos) {
                    Some(next) => pos = next,
                    None => break,
                }
            }
        }
    }
    Ok(())
}

/// Records in a document have no line of their own; give those without a
/// record id the line their value starts on.
fn with_line_if_unplaced(mut ev: Event, lines: &mut LineCounter, data: &[u8], pos: usize) -> Event {
    if ev.provenance.location == Location::File {
        ev.provenance.location = Location::Line(lines.line_at(data, pos));
    }
    ev
}

/// The next offset after `from` where a line starts with `{` or `[`.
fn resync(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < data.len() {
        let nl = memchr::memchr(b'\n', &data[i..])? + i + 1;
        if matches!(data.get(nl), Some(b'{' | b'[')) {
            return Some(nl);
        }
        i = nl;
    }
    None
}

/// Incremental byte offset → 1-based line number, for forward scans.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: u64,
}

impl LineCounter {
    fn line_at(&mut self, data: &[u8], at: usize) -> u64 {
        if at < self.offset {
            self.offset = 0;
            self.line = 0;
        }
        self.line += memchr::memchr_iter(b'\n', &data[self.offset..at]).count() as u64;
        self.offset = at;
        self.line + 1
    }
}
