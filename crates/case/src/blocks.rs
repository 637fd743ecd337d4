//! Event fields stored in compressed blocks (schema v7; binary fields
//! from v8).
//!
//! Writing every event's fields JSON as its own row was most of what a
//! bulk load cost: 1.6 GB of rows for 680k Mordor events through one
//! SQLite writer (B-tree pages, WAL frames, the checkpoint copying them
//! again). A bulk load ([`BlockBuilder`], used by the pipeline's matcher
//! threads) instead packs the fields of up to [`BLOCK_EVENTS`] consecutive
//! events — which come from one file, so they repeat each other's names
//! and values — into one LZ4-compressed row of `event_blocks`, and each
//! `events` row names its block and position (`block_id`, `block_pos`;
//! its own `fields` column is left empty). Encoding and compression run on
//! the matcher threads; the writer only inserts a few small rows.
//!
//! Reading one event inflates its block (at most [`BLOCK_BYTES`] plus one
//! event; LZ4 is chosen for its cheap inflation); readers that walk many events in order
//! (a timeline page, the full-text build) keep the last block in a
//! [`BlockCache`]. An event whose encoding alone is larger than
//! [`OWN_ROW_MIN`] keeps a row of its own (JSON, `crate::fields`), so a
//! block stays small whatever the evidence holds.
//!
//! Two block encodings, named by `event_blocks.encoding`, all integers
//! little-endian, compressed with `lz4_flex::block` with the uncompressed
//! size prepended:
//!
//! * 0, JSON (schema v7, still read): `u32` event count, `u32` end offset
//!   of each event's JSON, then the JSON texts.
//! * 1, binary (schema v8, written): `u32` event count `n`, `u32` length
//!   of the events' encodings, `u32` end offset of each event's encoding,
//!   the encodings, then the block's field-name table
//!   (`crate::binfields`). Serialising the fields to JSON was the largest
//!   part of the store's cost; this form writes each field name once per
//!   block and no escapes.

use crate::Result;
use crate::writer::EncodedEvent;
use rusqlite::OptionalExtension;
use rusqlite::types::ValueRef;

/// Events per block at most.
pub const BLOCK_EVENTS: usize = 64;

/// Encoded bytes (events and names) that close a block (the event that
/// passes it is included).
pub const BLOCK_BYTES: usize = 128 << 10;

/// An event whose encoding is at least this long is stored in a row of
/// its own (JSON, deflated), not in a block: random reads of a block stay
/// cheap.
pub const OWN_ROW_MIN: usize = 256 << 10;

/// Largest block inflated on reading; more means a damaged or forged case
/// file, read as no fields rather than exhausting memory. A block holds
/// less than [`BLOCK_BYTES`] of encodings and names before its last event,
/// that event less than [`OWN_ROW_MIN`], plus the header and the name
/// table's count (a varint of at most 10 bytes).
const MAX_BLOCK: usize = BLOCK_BYTES + OWN_ROW_MIN + HEADER_MAX + 10;

/// `event_blocks.encoding` of JSON blocks (schema v7).
pub(crate) const ENCODING_JSON: i64 = 0;
/// `event_blocks.encoding` of binary blocks (schema v8).
pub(crate) const ENCODING_BINARY: i64 = 1;

/// Header bytes of a full binary block; the builder reserves them at the
/// front of its buffer and writes the header in place, so the encoded
/// events are never copied before compression.
const HEADER_MAX: usize = 8 + 4 * BLOCK_EVENTS;

/// Events encoded together, their fields compressed into one block.
#[derive(Debug, Clone)]
pub struct EventBlock {
    /// The events, in order; those whose fields are in the block carry
    /// their position in it.
    pub(crate) events: Vec<EncodedEvent>,
    /// The compressed block; empty when no event's fields went into it.
    pub(crate) data: Vec<u8>,
}

impl EventBlock {
    /// Events in the block.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the block holds no event.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Bytes held on the heap (for bounding queues).
    pub fn heap_size(&self) -> usize {
        self.data.len()
            + self
                .events
                .iter()
                .map(EncodedEvent::heap_size)
                .sum::<usize>()
    }
}

/// Collects events into [`EventBlock`]s (on any thread).
#[derive(Debug)]
pub struct BlockBuilder {
    events: Vec<EncodedEvent>,
    ends: Vec<u32>,
    /// [`HEADER_MAX`] reserved bytes, then the events' encodings.
    buf: Vec<u8>,
    names: crate::binfields::Encoder,
}

impl Default for BlockBuilder {
    fn default() -> Self {
        BlockBuilder {
            events: Vec::new(),
            ends: Vec::new(),
            buf: vec![0; HEADER_MAX],
            names: Default::default(),
        }
    }
}

impl BlockBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes encoded so far (events and field names).
    fn encoded_len(&self) -> usize {
        self.buf.len() - HEADER_MAX + self.names.table_len()
    }

    /// Encode `ev` into the block being built (without its full-text
    /// entry, which a bulk load leaves for `Case::build_indexes`).
    pub fn push(&mut self, ev: &kahu_event::Event) -> Result<()> {
        let start = self.buf.len();
        let mark = self.names.mark();
        self.names.encode_event(&ev.fields, &mut self.buf);
        let len = self.buf.len() - start + self.names.table_len() - mark.table_len();
        let mut encoded = EncodedEvent::meta_only(ev);
        if len >= OWN_ROW_MIN {
            // Too large to share a block: a row of its own, as JSON (rare;
            // the block forgets its names again).
            self.buf.truncate(start);
            self.names.rollback(mark);
            encoded.set_own_fields(serde_json::to_string(&ev.fields)?);
        } else {
            encoded.set_block_pos(self.ends.len() as u32);
            self.ends.push((self.buf.len() - HEADER_MAX) as u32);
        }
        self.events.push(encoded);
        Ok(())
    }

    /// Whether the block should be sent now.
    pub fn is_full(&self) -> bool {
        self.ends.len() >= BLOCK_EVENTS || self.encoded_len() >= BLOCK_BYTES
    }

    /// Whether nothing was pushed since the last [`BlockBuilder::take`].
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The block built so far (compressed); the builder starts afresh.
    pub fn take(&mut self) -> EventBlock {
        let n = self.ends.len();
        let data = if n == 0 {
            Vec::new()
        } else if n > BLOCK_EVENTS {
            // Only a caller ignoring `is_full` gets here: no room for the
            // header in place, so build it in front of a copy.
            let mut raw = header(n, self.buf.len() - HEADER_MAX, &self.ends);
            raw.extend_from_slice(&self.buf[HEADER_MAX..]);
            self.names.write_names(&mut raw);
            lz4_flex::block::compress_prepend_size(&raw)
        } else {
            let body = self.buf.len() - HEADER_MAX;
            let head = header(n, body, &self.ends);
            let from = HEADER_MAX - head.len();
            self.buf[from..HEADER_MAX].copy_from_slice(&head);
            self.names.write_names(&mut self.buf);
            lz4_flex::block::compress_prepend_size(&self.buf[from..])
        };
        self.ends.clear();
        self.buf.truncate(HEADER_MAX);
        self.names.clear();
        EventBlock {
            events: std::mem::take(&mut self.events),
            data,
        }
    }
}

/// The header of a binary block of `n` events whose encodings take `body`
/// bytes and end at `ends`.
fn header(n: usize, body: usize, ends: &[u32]) -> Vec<u8> {
    let mut h = Vec::with_capacity(8 + 4 * n);
    h.extend_from_slice(&(n as u32).to_le_bytes());
    h.extend_from_slice(&(body as u32).to_le_bytes());
    for e in ends {
        h.extend_from_slice(&e.to_le_bytes());
    }
    h
}

/// The last block read, inflated, so events read in order inflate each
/// block once (and decode a binary block's name table once).
#[derive(Debug, Default)]
pub(crate) struct BlockCache {
    id: Option<i64>,
    raw: Vec<u8>,
    encoding: i64,
    /// The name table of a binary block; `None` when damaged.
    names: Option<crate::binfields::Names>,
}

/// Inflate a stored block; `None` when it is damaged.
fn inflate(data: &[u8]) -> Option<Vec<u8>> {
    let size = u32::from_le_bytes(data.get(..4)?.try_into().ok()?) as usize;
    if size > MAX_BLOCK {
        return None;
    }
    lz4_flex::block::decompress(&data[4..], size)
        .ok()
        .filter(|raw| raw.len() == size)
}

/// Little-endian `u32` number `i` of `raw`.
fn word(raw: &[u8], i: usize) -> Option<usize> {
    let at = i.checked_mul(4)?;
    Some(u32::from_le_bytes(raw.get(at..at.checked_add(4)?)?.try_into().ok()?) as usize)
}

/// The JSON of event `pos` in an inflated JSON block; `None` when out of
/// range.
fn slice(raw: &[u8], pos: usize) -> Option<&[u8]> {
    let n = word(raw, 0)?;
    if pos >= n {
        return None;
    }
    let base = n.checked_mul(4)?.checked_add(4)?;
    let start = if pos == 0 { 0 } else { word(raw, pos)? };
    let end = word(raw, pos + 1)?;
    raw.get(base.checked_add(start)?..base.checked_add(end)?)
}

/// The parts of an inflated binary block: the encodings (all events) and
/// the name table; `None` when the header does not fit the bytes.
fn binary_parts(raw: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = word(raw, 0)?;
    let body = word(raw, 1)?;
    let base = n.checked_mul(4)?.checked_add(8)?;
    let names_at = base.checked_add(body)?;
    Some((raw.get(base..names_at)?, raw.get(names_at..)?))
}

/// The encoding of event `pos` in an inflated binary block.
fn binary_slice(raw: &[u8], pos: usize) -> Option<&[u8]> {
    let n = word(raw, 0)?;
    if pos >= n {
        return None;
    }
    let (body, _) = binary_parts(raw)?;
    let start = if pos == 0 { 0 } else { word(raw, pos + 1)? };
    let end = word(raw, pos + 2)?;
    body.get(start..end)
}

/// The field a stored event's fields are replaced by when its block cannot
/// be read.
pub const STORE_ERROR_FIELD: &str = "kahu_store_error";

impl BlockCache {
    /// The fields of event `pos` of block `id`, read through `conn`.
    fn fields(
        &mut self,
        conn: &rusqlite::Connection,
        id: i64,
        pos: i64,
    ) -> rusqlite::Result<serde_json::Value> {
        if self.id != Some(id) {
            let row: Option<(Vec<u8>, i64)> = conn
                .prepare_cached("SELECT data, encoding FROM event_blocks WHERE id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let (data, encoding) = row.unwrap_or_default();
            self.raw = inflate(&data).unwrap_or_default();
            self.encoding = encoding;
            self.names = if encoding == ENCODING_BINARY {
                binary_parts(&self.raw)
                    .and_then(|(_, names)| crate::binfields::Names::decode(names).ok())
            } else {
                None
            };
            self.id = Some(id);
        }
        let fields = usize::try_from(pos)
            .ok()
            .and_then(|pos| match (self.encoding, &self.names) {
                (ENCODING_JSON, _) => {
                    slice(&self.raw, pos).and_then(|j| serde_json::from_slice(j).ok())
                }
                (ENCODING_BINARY, Some(names)) => binary_slice(&self.raw, pos)
                    .and_then(|b| crate::binfields::decode_event(b, names).ok()),
                // Damaged, or an encoding this build does not know.
                _ => None,
            });
        // A damaged block showed its events with no fields and no word
        // anywhere (probe 18): say so in the event, where the analyst, the
        // export and a search see it.
        Ok(fields.unwrap_or_else(|| {
            serde_json::json!({ STORE_ERROR_FIELD: format!(
                "the case store's event block {id} (position {pos}) is damaged or of an encoding this kahu does not know: this event's fields could not be read; the evidence file still holds them"
            ) })
        }))
    }
}

/// The fields of a stored event: from its block when `block` (id,
/// position) is set, else from its own `fields` column.
pub(crate) fn event_fields(
    conn: &rusqlite::Connection,
    cache: &mut BlockCache,
    own: ValueRef<'_>,
    block: (Option<i64>, Option<i64>),
) -> rusqlite::Result<serde_json::Value> {
    match block {
        (Some(id), Some(pos)) => cache.fields(conn, id, pos),
        _ => Ok(crate::fields::decode(own)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(fields: &[(&str, kahu_event::Value)]) -> kahu_event::Event {
        let mut e = kahu_event::Event::new(kahu_event::Provenance::new(
            std::sync::Arc::from("f"),
            kahu_event::Location::Record(1),
        ));
        for (k, v) in fields {
            e.fields.insert(k, v.clone());
        }
        e
    }

    fn read(block: &EventBlock, pos: usize) -> Option<serde_json::Value> {
        let raw = inflate(&block.data)?;
        let (_, names) = binary_parts(&raw)?;
        let names = crate::binfields::Names::decode(names).ok()?;
        crate::binfields::decode_event(binary_slice(&raw, pos)?, &names).ok()
    }

    #[test]
    fn every_event_reads_back_from_its_block() {
        use kahu_event::Value;
        let mut b = BlockBuilder::new();
        let events: Vec<_> = (0..10)
            .map(|i| {
                event(&[
                    ("n", Value::Int(i)),
                    ("s", Value::str(&format!("é{i}"))),
                    (&format!("only{i}"), Value::Bool(i % 2 == 0)),
                ])
            })
            .collect();
        for e in &events {
            b.push(e).unwrap();
        }
        let block = b.take();
        for (i, e) in events.iter().enumerate() {
            let want: serde_json::Value =
                serde_json::from_str(&serde_json::to_string(&e.fields).unwrap()).unwrap();
            assert_eq!(read(&block, i), Some(want));
        }
        assert!(read(&block, 10).is_none());
        // The builder starts afresh: a second block holds only its events.
        b.push(&events[3]).unwrap();
        let second = b.take();
        assert_eq!(second.len(), 1);
        assert_eq!(
            read(&second, 0),
            Some(serde_json::json!({"n": 3, "s": "é3", "only3": false}))
        );
    }

    #[test]
    fn a_block_closes_at_its_event_or_byte_limit() {
        use kahu_event::Value;
        let mut b = BlockBuilder::new();
        for _ in 0..BLOCK_EVENTS - 1 {
            b.push(&event(&[("a", Value::Int(1))])).unwrap();
        }
        assert!(!b.is_full());
        b.push(&event(&[("a", Value::Int(1))])).unwrap();
        assert!(b.is_full());
        b.take();
        // Field names count towards the bytes: many distinct long names
        // close a block as values would.
        let names: Vec<(String, Value)> = (0..BLOCK_BYTES / 1000 + 1)
            .map(|i| (format!("{i}{}", "n".repeat(1000)), Value::Null))
            .collect();
        let refs: Vec<(&str, Value)> = names.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        b.push(&event(&refs)).unwrap();
        assert!(b.is_full());
        // An event larger than a block may hold gets a row of its own, and
        // its names do not stay in the block.
        let mut b = BlockBuilder::new();
        let huge: Vec<(String, Value)> = (0..OWN_ROW_MIN / 1000 + 1)
            .map(|i| (format!("{i}{}", "h".repeat(1000)), Value::Null))
            .collect();
        let refs: Vec<(&str, Value)> = huge.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        b.push(&event(&refs)).unwrap();
        assert!(b.encoded_len() < 100, "{}", b.encoded_len());
        b.push(&event(&[("x", Value::Int(7))])).unwrap();
        let block = b.take();
        assert_eq!(block.events[0].block_pos(), None);
        assert_eq!(block.events[1].block_pos(), Some(0));
        assert_eq!(read(&block, 0), Some(serde_json::json!({"x": 7})));
    }

    #[test]
    fn damaged_blocks_read_as_nothing() {
        assert!(inflate(b"").is_none());
        assert!(inflate(b"\xff\xff\xff\x7fabc").is_none(), "forged size");
        assert!(inflate(b"\x10\x00\x00\x00garbage").is_none());
        // Offsets past the data.
        let mut raw = Vec::new();
        raw.extend_from_slice(&1u32.to_le_bytes());
        raw.extend_from_slice(&1000u32.to_le_bytes());
        raw.extend_from_slice(b"{}");
        assert!(slice(&raw, 0).is_none());
        // Offsets going backwards.
        let mut raw = Vec::new();
        raw.extend_from_slice(&2u32.to_le_bytes());
        raw.extend_from_slice(&2u32.to_le_bytes());
        raw.extend_from_slice(&1u32.to_le_bytes());
        raw.extend_from_slice(b"{}");
        assert!(slice(&raw, 1).is_none());
        // Binary blocks: a count or body length past the bytes, offsets
        // past the body or backwards.
        let bin = |words: &[u32], rest: &[u8]| {
            let mut raw: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            raw.extend_from_slice(rest);
            raw
        };
        assert!(binary_parts(&bin(&[u32::MAX, 0], b"")).is_none());
        assert!(binary_parts(&bin(&[1, 1000, 1], b"\x00")).is_none());
        assert!(binary_slice(&bin(&[1, 1, 5], b"\x00\x00"), 0).is_none());
        assert!(binary_slice(&bin(&[2, 2, 2, 1], b"\x00\x00\x00"), 1).is_none());
        assert!(binary_slice(&bin(&[1, 1, 1], b"\x00\x00"), 1).is_none());
        assert_eq!(
            binary_slice(&bin(&[1, 1, 1], b"\x07\x00"), 0),
            Some(&b"\x07"[..])
        );
    }
}
