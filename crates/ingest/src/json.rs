//! JSON and JSON-lines evidence, told apart by content.
//!
//! One object per line (JSONL, what Winlogbeat, NXLog, Logstash and kahu's
//! demo generator write) streams in bounded memory, large files parsed on
//! several threads (see [`crate::json_lines`]): a malformed line is a
//! warning naming its line number, a line over [`MAX_LINE`] is skipped with
//! a warning. Anything else (a pretty-printed
//! document, several concatenated documents, an array of records) is
//! streamed value by value, array elements one at a time, each up to
//! [`MAX_VALUE`] (see [`crate::json_document`]). A record with invalid
//! UTF-8 is decoded lossily (U+FFFD) and kept, with a warning.
//!
//! Each object is normalised by shape (see [`crate::shapes`]): the EVTX JSON
//! rendering goes through the same normaliser as `.evtx` files.

use crate::jsonvalue::KeyCache;
use crate::shapes::{self, Shape};
use crate::{Format, Input, Origin, Sink, json_document, json_lines, winevent};
use kahu_event::{Event, Location, Provenance, Value};
use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};

/// Longest JSON line read; longer lines are skipped with a warning.
pub const MAX_LINE: usize = 16 * 1024 * 1024;
/// Largest single value of non-line-delimited JSON (a top-level document,
/// or one element of a top-level array) held in memory; larger ones are
/// skipped with a warning. The same as [`MAX_LINE`], so a first JSON-lines
/// line too long to be recognised as one is held to the line cap too.
pub const MAX_VALUE: usize = MAX_LINE;

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
        match first_significant(head) {
            Some(b'{' | b'[') => true,
            // `evtx_dump -o json` (its default) puts `Record N` before
            // each pretty-printed record.
            Some(b'R') => {
                let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
                let start = head
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .unwrap_or(0);
                crate::json_document::record_header_len(&head[start..])
                    .is_some_and(|n| first_significant(&head[start + n..]) == Some(b'{'))
            }
            _ => false,
        }
    }

    fn read(&self, input: Input<'_>, origin: &Origin, sink: &mut dyn Sink) -> std::io::Result<()> {
        let mut r = input.open()?;
        let head = r.fill_buf()?;
        let mut keys = KeyCache::default();
        if looks_like_lines(head) {
            let size = match input {
                Input::File(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
                Input::FileFrom(p, at) => std::fs::metadata(p).map_or(0, |m| m.len() - at),
                Input::Memory(b) => b.len() as u64,
            };
            let min = PARALLEL_MIN.load(Ordering::Relaxed);
            if min > 0 && size >= min && rayon::current_num_threads() > 1 {
                json_lines::read_parallel(r, origin, sink)
            } else {
                json_lines::read_sequential(r, origin, sink, &mut keys)
            }
        } else {
            json_document::read(r, origin, sink, &mut keys)
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
    if crate::log_analytics::is_log_analytics(&o) {
        let loc = line.map_or(Location::File, Location::Line);
        return Ok(crate::log_analytics::to_event(o, at(loc)));
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
                Shape::CloudTrail => shapes::cloudtrail(o, prov),
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
