//! How `events.fields` is stored: the event's fields as a JSON object,
//! either as text or, from schema version 5, as a raw-deflate BLOB.
//!
//! Event records repeat their field names and values (Windows records
//! carry a rendered `Message` of their own fields), so deflate shrinks them
//! about 2.5×, but only large records repay the cost of compressing them
//! ([`COMPRESS_MIN`]). Readers accept both, so cases written before
//! version 5 read as they did.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use rusqlite::types::ValueRef;
use std::cell::RefCell;

/// JSON shorter than this is stored as text. Setting up a deflate stream
/// clears about 160 KiB of state, which costs more than writing a typical
/// 2 KiB record uncompressed (measured: deflating every record made the
/// Mordor assessment 25 % slower); large records (scripts, long command
/// lines) compress well and would otherwise spill to overflow pages.
pub(crate) const COMPRESS_MIN: usize = 4096;

/// Largest JSON a stored BLOB may inflate to; more means a damaged or
/// forged case file, read as no fields rather than exhausting memory.
const MAX_INFLATED: usize = 64 << 20;

/// A stored `fields` value.
#[derive(Debug, Clone)]
pub(crate) enum StoredFields {
    /// JSON text.
    Text(String),
    /// Raw deflate of the JSON text.
    Deflated(Vec<u8>),
}

impl rusqlite::ToSql for StoredFields {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(match self {
            StoredFields::Text(s) => {
                rusqlite::types::ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
            }
            StoredFields::Deflated(b) => rusqlite::types::ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

impl StoredFields {
    /// Encode JSON text for storage.
    pub(crate) fn encode(json: String) -> StoredFields {
        if json.len() < COMPRESS_MIN {
            return StoredFields::Text(json);
        }
        thread_local! {
            // One compressor per thread: setting one up costs more than
            // compressing a 2 KiB record.
            static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), false));
        }
        DEFLATE.with(|d| {
            let mut d = d.borrow_mut();
            d.reset();
            // Deflate never grows data by more than a few bytes per 16 KiB block.
            let mut out = Vec::with_capacity(json.len() + json.len() / 64 + 64);
            match d.compress_vec(json.as_bytes(), &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) if out.len() < json.len() => StoredFields::Deflated(out),
                _ => StoredFields::Text(json),
            }
        })
    }

    /// Bytes held.
    pub(crate) fn len(&self) -> usize {
        match self {
            StoredFields::Text(s) => s.len(),
            StoredFields::Deflated(b) => b.len(),
        }
    }
}

/// Decode a stored `fields` column into JSON (`Null` when unreadable).
pub(crate) fn decode(v: ValueRef<'_>) -> serde_json::Value {
    match v {
        ValueRef::Text(t) => serde_json::from_slice(t).unwrap_or(serde_json::Value::Null),
        ValueRef::Blob(b) => match inflate(b) {
            Some(json) => serde_json::from_slice(&json).unwrap_or(serde_json::Value::Null),
            None => serde_json::Value::Null,
        },
        _ => serde_json::Value::Null,
    }
}

fn inflate(b: &[u8]) -> Option<Vec<u8>> {
    let mut d = Decompress::new(false);
    let mut out = Vec::with_capacity((b.len() * 4).clamp(1024, MAX_INFLATED));
    loop {
        let consumed = d.total_in() as usize;
        let produced = d.total_out();
        match d.decompress_vec(&b[consumed..], &mut out, FlushDecompress::None) {
            Ok(Status::StreamEnd) => return Some(out),
            Ok(_) if out.len() == out.capacity() => {
                if out.len() >= MAX_INFLATED {
                    return None;
                }
                out.reserve_exact(out.len().min(MAX_INFLATED - out.len()));
            }
            // No progress with room left: the stream is truncated.
            Ok(_) if d.total_out() == produced && d.total_in() as usize == consumed => {
                return None;
            }
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(json: &str) -> serde_json::Value {
        match StoredFields::encode(json.to_string()) {
            StoredFields::Text(s) => decode(ValueRef::Text(s.as_bytes())),
            StoredFields::Deflated(b) => decode(ValueRef::Blob(&b)),
        }
    }

    #[test]
    fn large_objects_are_deflated_and_read_back() {
        let obj: serde_json::Map<String, serde_json::Value> = (0..200)
            .map(|i| {
                (
                    format!("Field{i}"),
                    serde_json::json!(format!("value {i} C:\\Windows\\x.exe")),
                )
            })
            .collect();
        let json = serde_json::Value::Object(obj).to_string();
        let stored = StoredFields::encode(json.clone());
        assert!(matches!(stored, StoredFields::Deflated(_)));
        assert!(stored.len() * 2 < json.len());
        assert_eq!(
            round_trip(&json),
            serde_json::from_str::<serde_json::Value>(&json).unwrap()
        );
    }

    #[test]
    fn small_objects_stay_text() {
        assert!(matches!(
            StoredFields::encode(r#"{"a":"b"}"#.into()),
            StoredFields::Text(_)
        ));
        assert_eq!(round_trip(r#"{"a":"b"}"#), serde_json::json!({"a": "b"}));
    }

    #[test]
    fn damaged_blobs_read_as_no_fields() {
        assert_eq!(
            decode(ValueRef::Blob(b"\xff\xfe not deflate")),
            serde_json::Value::Null
        );
        assert_eq!(decode(ValueRef::Blob(b"")), serde_json::Value::Null);
        // A deflate bomb (64 MiB+ of one byte) is cut off, not inflated.
        let big = vec![b'a'; MAX_INFLATED + 1];
        let mut c = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(1 << 20);
        c.compress_vec(&big, &mut out, FlushCompress::Finish)
            .unwrap();
        assert_eq!(decode(ValueRef::Blob(&out)), serde_json::Value::Null);
    }
}
