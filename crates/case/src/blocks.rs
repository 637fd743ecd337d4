//! Event fields stored in compressed blocks (schema v7).
//!
//! Writing every event's fields JSON as its own row was most of what a
//! bulk load cost: 1.6 GB of rows for 680k Mordor events through one
//! SQLite writer (B-tree pages, WAL frames, the checkpoint copying them
//! again). A bulk load ([`BlockBuilder`], used by the pipeline's matcher
//! threads) instead packs the fields of up to [`BLOCK_EVENTS`] consecutive
//! events — which come from one file, so they repeat each other's names
//! and values — into one LZ4-compressed row of `event_blocks`, and each
//! `events` row names its block and position (`block_id`, `block_pos`;
//! its own `fields` column is left empty). Compression runs on the
//! matcher threads; the writer only inserts a few small rows.
//!
//! Reading one event inflates its block (at most [`BLOCK_BYTES`] plus one
//! event; LZ4 is chosen for its cheap inflation); readers that walk many events in order
//! (a timeline page, the full-text build) keep the last block in a
//! [`BlockCache`]. An event whose JSON alone is larger than
//! [`OWN_ROW_MIN`] keeps a row of its own (`crate::fields`), so a block
//! stays small whatever the evidence holds.
//!
//! Block layout before compression: `u32` event count, `u32` end offset of
//! each event's JSON, then the JSON texts, all little-endian; compressed
//! with `lz4_flex::block` with the uncompressed size prepended.

use crate::writer::EncodedEvent;
use crate::{Error, Result};
use rusqlite::OptionalExtension;
use rusqlite::types::ValueRef;

/// Events per block at most.
pub const BLOCK_EVENTS: usize = 64;

/// JSON bytes that close a block (the event that passes it is included).
pub const BLOCK_BYTES: usize = 128 << 10;

/// An event whose fields JSON is at least this long is stored in a row of
/// its own (deflated), not in a block: random reads of a block stay cheap.
pub const OWN_ROW_MIN: usize = 256 << 10;

/// Largest block inflated on reading; more means a damaged or forged case
/// file, read as no fields rather than exhausting memory.
const MAX_BLOCK: usize = BLOCK_BYTES + OWN_ROW_MIN + 4 * (BLOCK_EVENTS + 1);

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
#[derive(Debug, Default)]
pub struct BlockBuilder {
    events: Vec<EncodedEvent>,
    ends: Vec<u32>,
    json: Vec<u8>,
}

impl BlockBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encode `ev` into the block being built (without its full-text
    /// entry, which a bulk load leaves for `Case::build_indexes`).
    pub fn push(&mut self, ev: &kahu_event::Event) -> Result<()> {
        let start = self.json.len();
        serde_json::to_writer(&mut self.json, &ev.fields)?;
        let len = self.json.len() - start;
        let mut encoded = EncodedEvent::meta_only(ev);
        if len >= OWN_ROW_MIN {
            // Too large to share a block: a row of its own.
            let own = String::from_utf8(self.json.split_off(start))
                .map_err(|e| Error::Invalid(format!("event fields are not UTF-8: {e}")))?;
            encoded.set_own_fields(own);
        } else {
            encoded.set_block_pos(self.ends.len() as u32);
            self.ends.push(self.json.len() as u32);
        }
        self.events.push(encoded);
        Ok(())
    }

    /// Whether the block should be sent now.
    pub fn is_full(&self) -> bool {
        self.ends.len() >= BLOCK_EVENTS || self.json.len() >= BLOCK_BYTES
    }

    /// Whether nothing was pushed since the last [`BlockBuilder::take`].
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The block built so far (compressed); the builder starts afresh.
    pub fn take(&mut self) -> EventBlock {
        let data = if self.ends.is_empty() {
            Vec::new()
        } else {
            let mut raw = Vec::with_capacity(4 + 4 * self.ends.len() + self.json.len());
            raw.extend_from_slice(&(self.ends.len() as u32).to_le_bytes());
            for e in &self.ends {
                raw.extend_from_slice(&e.to_le_bytes());
            }
            raw.extend_from_slice(&self.json);
            lz4_flex::block::compress_prepend_size(&raw)
        };
        self.ends.clear();
        self.json.clear();
        EventBlock {
            events: std::mem::take(&mut self.events),
            data,
        }
    }
}

/// The last block read, inflated, so events read in order inflate each
/// block once.
#[derive(Debug, Default)]
pub(crate) struct BlockCache {
    id: Option<i64>,
    raw: Vec<u8>,
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

/// The JSON of event `pos` in an inflated block; `None` when out of range.
fn slice(raw: &[u8], pos: usize) -> Option<&[u8]> {
    let word = |i: usize| -> Option<usize> {
        Some(u32::from_le_bytes(raw.get(4 * i..4 * i + 4)?.try_into().ok()?) as usize)
    };
    let n = word(0)?;
    if pos >= n {
        return None;
    }
    let base = 4 + 4 * n;
    let start = if pos == 0 { 0 } else { word(pos)? };
    let end = word(pos + 1)?;
    raw.get(base.checked_add(start)?..base.checked_add(end)?)
}

impl BlockCache {
    /// The fields of event `pos` of block `id`, read through `conn`.
    fn fields(
        &mut self,
        conn: &rusqlite::Connection,
        id: i64,
        pos: i64,
    ) -> rusqlite::Result<serde_json::Value> {
        if self.id != Some(id) {
            let data: Option<Vec<u8>> = conn
                .prepare_cached("SELECT data FROM event_blocks WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            self.raw = data.as_deref().and_then(inflate).unwrap_or_default();
            self.id = Some(id);
        }
        Ok(usize::try_from(pos)
            .ok()
            .and_then(|p| slice(&self.raw, p))
            .and_then(|j| serde_json::from_slice(j).ok())
            .unwrap_or(serde_json::Value::Null))
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

    #[test]
    fn every_event_reads_back_from_its_block() {
        let mut b = BlockBuilder::new();
        let jsons: Vec<String> = (0..10)
            .map(|i| format!(r#"{{"n":{i},"s":"é{i}"}}"#))
            .collect();
        let mut raw = Vec::new();
        let mut ends = Vec::new();
        for j in &jsons {
            raw.extend_from_slice(j.as_bytes());
            ends.push(raw.len() as u32);
        }
        b.ends = ends;
        b.json = raw;
        let block = b.take();
        let inflated = inflate(&block.data).unwrap();
        for (i, j) in jsons.iter().enumerate() {
            assert_eq!(slice(&inflated, i).unwrap(), j.as_bytes());
        }
        assert!(slice(&inflated, 10).is_none());
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
    }
}
