//! Windows XML event logs (`.evtx`), read with the `evtx` crate.
//!
//! Each record is rendered to the EVTX JSON shape by `evtx` and normalised
//! by [`crate::winevent`], the same code that reads JSON exports, so both
//! produce identical events. A damaged chunk or record becomes a warning
//! with its position; reading continues with the next one.

use crate::evtx_recover::{CHUNK_MAGIC, Rebased, find_first_chunk};
use crate::jsonvalue::{self, KeyCache};
use crate::{Format, Input, Origin, Sink, winevent};
use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};
use kahu_event::Location;
use std::io::{Cursor, Read, Seek};

/// File header magic.
const MAGIC: &[u8; 8] = b"ElfFile\0";
/// Size of the file header block before the first chunk.
const HEADER_BLOCK: u64 = 4096;
/// Size of a chunk.
const CHUNK: u64 = 65536;

/// The EVTX format.
#[derive(Debug, Default, Clone, Copy)]
pub struct Evtx;

impl Format for Evtx {
    fn name(&self) -> &'static str {
        "evtx"
    }

    fn detect(&self, head: &[u8], _file_name: &str) -> bool {
        // A zeroed or damaged file header still leaves the first chunk at
        // its place (or first, in a file carved from disk).
        head.starts_with(MAGIC)
            || head.starts_with(CHUNK_MAGIC)
            || head.get(HEADER_BLOCK as usize..HEADER_BLOCK as usize + 8) == Some(CHUNK_MAGIC)
    }

    fn read(&self, input: Input<'_>, origin: &Origin, sink: &mut dyn Sink) -> std::io::Result<()> {
        match input {
            // An EVTX file never starts with NUL bytes, so it is never read
            // from an offset; read it whole either way.
            Input::File(p) | Input::FileFrom(p, _) => {
                read_from(std::fs::File::open(p)?, origin, sink)
            }
            Input::Memory(b) => read_from(Cursor::new(b), origin, sink),
        }
    }
}

fn read_from<R: Read + Seek>(
    mut data: R,
    origin: &Origin,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    let mut magic = [0u8; 8];
    let whole = data.read_exact(&mut magic).is_ok();
    if whole
        && &magic != MAGIC
        && let Some(base) = find_first_chunk(&mut data)?
    {
        sink.warning(origin.warning(
            Some(Location::Offset(0)),
            format!(
                "EVTX file header is zeroed or damaged; chunks recovered by their \
                     ElfChnk signature from offset {base}"
            ),
        ));
        return read_records(Rebased::new(data, base)?, origin, sink);
    }
    data.seek(std::io::SeekFrom::Start(0))?;
    read_records(data, origin, sink)
}

fn read_records<R: Read + Seek>(
    mut data: R,
    origin: &Origin,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    // A collection cut short (copy interrupted, disk full) ends inside a
    // chunk; the parser skips that partial chunk without a word, so say so.
    let len = data.seek(std::io::SeekFrom::End(0))?;
    data.seek(std::io::SeekFrom::Start(0))?;
    if len > HEADER_BLOCK && !(len - HEADER_BLOCK).is_multiple_of(CHUNK) {
        let partial = HEADER_BLOCK + (len - HEADER_BLOCK) / CHUNK * CHUNK;
        sink.warning(origin.warning(
            Some(Location::Offset(partial)),
            format!(
                "file is truncated: the last chunk has {} of {CHUNK} bytes; records in it are not read",
                len - partial
            ),
        ));
    }
    let parser = match EvtxParser::from_read_seek(data) {
        Ok(p) => p,
        Err(e) => {
            sink.warning(origin.warning(
                Some(Location::Offset(0)),
                format!("not a readable EVTX file: {}", chain(&e)),
            ));
            return Ok(());
        }
    };
    // One thread per file: parallelism comes from reading many files at
    // once, and evtx's own pool would block a rayon worker waiting on tasks
    // queued behind it.
    let settings = ParserSettings::new()
        .num_threads(1)
        .separate_json_attributes(false)
        .indent(false);
    let mut parser = parser.with_configuration(settings);
    let mut keys = KeyCache::default();
    for record in parser.records_json_bytes() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                sink.warning(origin.warning(Some(location(&e)), chain(&e)));
                continue;
            }
        };
        let loc = Location::Record(record.event_record_id);
        let root = match jsonvalue::parse(&record.data, &mut keys) {
            Ok(v) => v,
            Err(e) => {
                sink.warning(
                    origin.warning(Some(loc), format!("record rendered to invalid JSON: {e}")),
                );
                continue;
            }
        };
        match winevent::normalise(root, origin.provenance(loc)) {
            Some(mut ev) => {
                // The record's own EventRecordID, as analysts and JSON
                // exports cite it (the record header's number differs in
                // filtered exports).
                if let Some(id) = ev
                    .fields
                    .get_exact("EventRecordID")
                    .and_then(|v| v.as_i64())
                    && let Ok(id) = u64::try_from(id)
                {
                    ev.provenance.location = Location::Record(id);
                }
                if !sink.event(ev) {
                    return Ok(());
                }
            }
            None => sink.warning(origin.warning(Some(loc), "record has no Event/System element")),
        }
    }
    Ok(())
}

/// Where in the file an `evtx` error points.
fn location(e: &EvtxError) -> Location {
    match e {
        EvtxError::FailedToParseRecord { record_id, .. } => Location::Record(*record_id),
        EvtxError::FailedToParseChunk { chunk_id, .. } => {
            Location::Offset(HEADER_BLOCK.saturating_add(chunk_id.saturating_mul(CHUNK)))
        }
        EvtxError::FailedToReadRecordAt { chunk, offset, .. } => Location::Offset(
            chunk
                .map(|c| HEADER_BLOCK.saturating_add(c.saturating_mul(CHUNK)))
                .unwrap_or(0)
                .saturating_add(*offset),
        ),
        _ => Location::File,
    }
}

/// An error and all its causes on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    let mut depth = 0;
    while let Some(c) = cur {
        depth += 1;
        if depth > 8 {
            break;
        }
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
