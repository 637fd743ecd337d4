//! Windows XML event logs (`.evtx`), read with the `evtx` crate.
//!
//! Each record is rendered to the EVTX JSON shape by `evtx` and normalised
//! by [`crate::winevent`], the same code that reads JSON exports, so both
//! produce identical events. A damaged chunk or record becomes a warning
//! with its position; reading continues with the next one.
//!
//! The parser reads chunks on the 64 KiB grid only. When that read met a
//! problem (a damaged chunk, a truncated or shifted file), the file is
//! searched for chunk signatures off the grid (bytes inserted or lost
//! before a chunk, a file carved with slack) and each one found is read on
//! its own with the `evtx` crate's chunk API (`EvtxChunkData`), its
//! checksums required, so a stray `ElfChnk` string in record data is not
//! taken for a chunk.

use crate::evtx_recover::{CHUNK_MAGIC, Rebased, Seen, find_first_chunk, off_grid_chunks};
use crate::jsonvalue::{self, KeyCache};
use crate::{Format, Input, Origin, Sink, winevent};
use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxParser, ParserSettings, SerializedEvtxRecord};
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
                read_evtx(|| std::fs::File::open(p), origin, sink)
            }
            Input::Memory(b) => read_evtx(|| Ok(Cursor::new(b)), origin, sink),
        }
    }
}

/// What the read along the chunk grid saw.
struct GridRead {
    /// Offset of the grid's first chunk in the file.
    base: u64,
    /// Whether anything was wrong (then chunks off the grid are looked for).
    problems: bool,
    /// Whether the sink asked to stop.
    stopped: bool,
}

fn read_evtx<R: Read + Seek>(
    open: impl Fn() -> std::io::Result<R>,
    origin: &Origin,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    let grid = read_from(open()?, origin, sink)?;
    if grid.problems && !grid.stopped {
        read_off_grid(open()?, grid.base, origin, sink)?;
    }
    Ok(())
}

fn parser_settings() -> ParserSettings {
    // One thread per file: parallelism comes from reading many files at
    // once, and evtx's own pool would block a rayon worker waiting on tasks
    // queued behind it.
    ParserSettings::new()
        .num_threads(1)
        .separate_json_attributes(false)
        .indent(false)
}

/// Read the chunks whose signature lies off the grid the parser read.
fn read_off_grid<R: Read + Seek>(
    mut data: R,
    base: u64,
    origin: &Origin,
    sink: &mut dyn Sink,
) -> std::io::Result<()> {
    let settings = std::sync::Arc::new(parser_settings());
    let mut keys = KeyCache::default();
    let (mut chunks, mut records, mut first) = (0u64, 0u64, None);
    let mut stopped = false;
    off_grid_chunks(&mut data, base, CHUNK, &mut |at, bytes| {
        let mut chunk = match EvtxChunkData::new(bytes, true) {
            Ok(c) => c,
            Err(e) => {
                sink.warning(origin.warning(
                    Some(Location::Offset(at)),
                    format!(
                        "ElfChnk signature off the {CHUNK}-byte chunk grid is not a valid \
                         chunk ({}); not read",
                        chain(&e)
                    ),
                ));
                return Seen::NotAChunk;
            }
        };
        let mut parsed = match chunk.parse(settings.clone()) {
            Ok(c) => c,
            Err(e) => {
                sink.warning(origin.warning(
                    Some(Location::Offset(at)),
                    format!("chunk off the grid cannot be read: {}", chain(&e)),
                ));
                return Seen::NotAChunk;
            }
        };
        chunks += 1;
        first.get_or_insert(at);
        for record in parsed.iter() {
            match record.and_then(|r| r.into_json_bytes()) {
                Ok(r) => {
                    records += 1;
                    if !emit(r, origin, sink, &mut keys) {
                        stopped = true;
                        return Seen::Stop;
                    }
                }
                Err(e) => sink.warning(origin.warning(Some(Location::Offset(at)), chain(&e))),
            }
        }
        Seen::Chunk
    })?;
    if let Some(first) = first {
        sink.warning(origin.warning(
            Some(Location::Offset(first)),
            format!(
                "{chunks} chunk(s) found off the {CHUNK}-byte grid (bytes inserted or lost before \
                 them, or a carved file), first at offset {first}, read by their ElfChnk \
                 signature: {records} records{}",
                if stopped {
                    " (reading stopped early)"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(())
}

fn read_from<R: Read + Seek>(
    mut data: R,
    origin: &Origin,
    sink: &mut dyn Sink,
) -> std::io::Result<GridRead> {
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
        let (problems, stopped) = read_records(Rebased::new(data, base)?, origin, sink)?;
        return Ok(GridRead {
            base,
            problems,
            stopped,
        });
    }
    data.seek(std::io::SeekFrom::Start(0))?;
    let (problems, stopped) = read_records(data, origin, sink)?;
    Ok(GridRead {
        base: HEADER_BLOCK,
        problems,
        stopped,
    })
}

/// Read the records of the chunks on the grid; returns (whether anything
/// was wrong, whether the sink asked to stop).
fn read_records<R: Read + Seek>(
    mut data: R,
    origin: &Origin,
    sink: &mut dyn Sink,
) -> std::io::Result<(bool, bool)> {
    let mut problems = false;
    // A collection cut short (copy interrupted, disk full) ends inside a
    // chunk; the parser skips that partial chunk without a word, so say so.
    let len = data.seek(std::io::SeekFrom::End(0))?;
    data.seek(std::io::SeekFrom::Start(0))?;
    // Cut at the end of the header (a copy stopped at a chunk boundary):
    // the parser finds no chunk and says nothing, though the header
    // declares records.
    if len <= HEADER_BLOCK {
        let mut head = [0u8; 44];
        if data.read_exact(&mut head).is_ok() && head.starts_with(MAGIC) {
            let next_record = u64::from_le_bytes(head[24..32].try_into().unwrap_or([0; 8]));
            let chunks = u16::from_le_bytes([head[42], head[43]]);
            if chunks > 0 || next_record > 1 {
                problems = true;
                sink.warning(origin.warning(
                    Some(Location::Offset(len)),
                    format!(
                        "file ends after its header: the header declares {chunks} chunk(s) and records up to {}; none is in the file (a copy cut short?)",
                        next_record.saturating_sub(1)
                    ),
                ));
            }
        }
        data.seek(std::io::SeekFrom::Start(0))?;
    }
    if len > HEADER_BLOCK && !(len - HEADER_BLOCK).is_multiple_of(CHUNK) {
        problems = true;
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
            return Ok((true, false));
        }
    };
    let mut parser = parser.with_configuration(parser_settings());
    let mut keys = KeyCache::default();
    for record in parser.records_json_bytes() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems = true;
                sink.warning(origin.warning(Some(location(&e)), chain(&e)));
                continue;
            }
        };
        if !emit(record, origin, sink, &mut keys) {
            return Ok((problems, true));
        }
    }
    Ok((problems, false))
}

/// Normalise one rendered record and send it; `false` if the sink asked
/// to stop.
fn emit(
    record: SerializedEvtxRecord<Vec<u8>>,
    origin: &Origin,
    sink: &mut dyn Sink,
    keys: &mut KeyCache,
) -> bool {
    let loc = Location::Record(record.event_record_id);
    let root = match jsonvalue::parse(&record.data, keys) {
        Ok(v) => v,
        Err(e) => {
            sink.warning(
                origin.warning(Some(loc), format!("record rendered to invalid JSON: {e}")),
            );
            return true;
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
            sink.event(ev)
        }
        None => {
            sink.warning(origin.warning(Some(loc), "record has no Event/System element"));
            true
        }
    }
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
