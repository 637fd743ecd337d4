//! JSON and JSON-lines evidence, told apart by content.
//!
//! One object per line (JSONL, what Winlogbeat, NXLog, Logstash and kahu's
//! demo generator write) streams in bounded memory, large files parsed on
//! several threads (see [`crate::json_lines`]): a malformed line is a
//! warning naming its line number, a line over [`MAX_LINE`] is skipped with
//! a warning. Anything else (a pretty-printed
//! document, several concatenated documents, an array of records) is read
//! whole, up to [`MAX_DOCUMENT`], and its values streamed.
//!
//! Each object is normalised by shape (see [`crate::shapes`]): the EVTX JSON
//! rendering goes through the same normaliser as `.evtx` files.

use crate::jsonvalue::{self, KeyCache};
use crate::shapes::{self, Shape};
use crate::{Format, Input, Origin, Sink, json_lines, winevent};
use kahu_event::{Event, Location, Provenance, Value};
use serde_json::value::RawValue;
use std::io::{BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};

/// Longest JSON line read; longer lines are skipped with a warning.
pub const MAX_LINE: usize = 16 * 1024 * 1024;
/// Largest non-line-delimited JSON document read into memory.
pub const MAX_DOCUMENT: u64 = 512 * 1024 * 1024;

/// Size from which one JSON-lines input is parsed on several threads; 0 is
/// off. See [`set_parallel_lines`].
static PARALLEL_MIN: AtomicU64 = AtomicU64::new(0);

/// Parse JSON-lines inputs of at least `min_bytes` on the whole rayon pool
/// instead of one thread (`None`: never, the default; values under 4 MiB
/// count as 4 MiB). Events still reach the one sink of the file in line
/// order with exact line numbers. Worth it when one big export is read
/// while the pool is otherwise idle (a single file, `Reader::read_path`
/// called outside the pool); when many files are read in parallel they
/// already occupy every thread and splitting only adds hand-off work (about
/// 14% more instructions, measured in `docs/benchmarks/ingest.md`).
/// Process-wide, like the rayon pool it uses.
pub fn set_parallel_lines(min_bytes: Option<u64>) {
    let v = min_bytes.map_or(0, |m| m.max(json_lines::PARALLEL_FLOOR));
    PARALLEL_MIN.store(v, Ordering::Relaxed);
}

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
            let size = match input {
                Input::File(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
                Input::Memory(b) => b.len() as u64,
            };
            let min = PARALLEL_MIN.load(Ordering::Relaxed);
            if min > 0 && size >= min && rayon::current_num_threads() > 1 {
                json_lines::read_parallel(r, origin, sink)
            } else {
                json_lines::read_sequential(r, origin, sink, &mut keys)
            }
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
pub(crate) fn to_event(
    v: Value,
    line: Option<u64>,
    origin: &Origin,
) -> Result<Event, &'static str> {
    let Value::Object(o) = v else {
        return Err("not a JSON object");
    };
    let at = |loc| origin.provenance(loc);
    if crate::zeek::is_zeek_object(&o) {
        let loc = line.map_or(Location::File, Location::Line);
        return Ok(crate::zeek::Kinds::new(origin).event(o, origin, loc));
    }
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
                Shape::WinlogbeatLegacy => shapes::winlogbeat_legacy(o, prov),
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
