//! A compact binary form of event fields, for the blocks of schema v8
//! (`crate::blocks`).
//!
//! Serialising every event's fields to JSON for its block was the largest
//! single cost of the case store: escaping every string, quoting and
//! repeating every field name. Here a block names each field once, in a
//! name table at its end, and each event refers to names by number; values
//! are a tag byte and their bytes. Reading gives the same
//! `serde_json::Value` that parsing the event's JSON gave (same order,
//! duplicate names resolved the same way, numbers of the same kind).
//!
//! Layout of one event: `varint n`, then `n` times `varint name index`
//! and a value. A value is one tag byte ([`Tag`]) followed by: nothing
//! (null, false, true); a zig-zag varint (int); a varint (uint); 8 bytes
//! little-endian (float); `varint len` and UTF-8 bytes (string); `varint
//! n` and `n` values (array); or `varint n` and `n` (name index, value)
//! pairs (object). The name table is `varint n` then `n` times `varint
//! len` and UTF-8 bytes.
//!
//! Decoding is checked: a case file is as untrusted as the evidence it
//! holds, so every length is checked against the bytes left before
//! anything is allocated, nesting is bounded, strings must be UTF-8, and
//! anything else is an [`DecodeError`], never a panic.

use hashbrown::HashMap;
use kahu_event::{Fields, Value};

/// Nesting deeper than this is refused on decoding (serde_json's own
/// recursion limit, so nothing that parsed as JSON before is refused).
pub(crate) const MAX_DEPTH: usize = 128;

/// Value tags.
#[repr(u8)]
enum Tag {
    Null = 0,
    False = 1,
    True = 2,
    Int = 3,
    UInt = 4,
    Float = 5,
    Str = 6,
    Array = 7,
    Object = 8,
}

/// Why a stored block could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    /// The bytes end inside a value.
    #[error("truncated")]
    Truncated,
    /// A length, count or index larger than what the block holds.
    #[error("length or index out of range")]
    OutOfRange,
    /// An unknown value tag.
    #[error("bad tag {0}")]
    BadTag(u8),
    /// A string that is not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("nested too deeply")]
    TooDeep,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Encodes events' fields for one block, interning field names.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    /// The name table so far, without its count: `varint len` and bytes
    /// of each name, in order of first use.
    table: Vec<u8>,
    /// Byte range of each name in `table`, by index.
    ranges: Vec<(usize, usize)>,
    /// Index of each name in the table.
    index: HashMap<Box<str>, u32>,
    /// The name last interned at each top-level position, as (index, byte
    /// range in `table`): events of one file repeat the same names in the
    /// same order, so comparing a few bytes usually replaces hashing.
    last: Vec<(u32, usize, usize)>,
}

/// The state of an [`Encoder`]'s name table, to roll back to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    table: usize,
    names: usize,
}

impl Mark {
    /// Bytes of the name table at the mark.
    pub(crate) fn table_len(&self) -> usize {
        self.table
    }
}

impl Encoder {
    /// Bytes of the name table so far.
    pub(crate) fn table_len(&self) -> usize {
        self.table.len()
    }

    /// The current state of the name table.
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            table: self.table.len(),
            names: self.ranges.len(),
        }
    }

    /// Forget the names interned since `mark` (an event that went to a
    /// row of its own must not leave its names in the block).
    pub(crate) fn rollback(&mut self, mark: Mark) {
        for &(s, e) in &self.ranges[mark.names.min(self.ranges.len())..] {
            if let Ok(name) = std::str::from_utf8(&self.table[s..e]) {
                self.index.remove(name);
            }
        }
        self.ranges.truncate(mark.names);
        self.table.truncate(mark.table);
        self.last.clear();
    }

    /// Forget the names (a new block starts).
    pub(crate) fn clear(&mut self) {
        self.table.clear();
        self.ranges.clear();
        self.index.clear();
        self.last.clear();
    }

    /// The index of `name`, and its bytes' range in the table.
    fn intern(&mut self, name: &str) -> (u32, usize, usize) {
        if let Some(&i) = self.index.get(name) {
            let (s, e) = self.ranges[i as usize];
            return (i, s, e);
        }
        let i = self.ranges.len() as u32;
        put_varint(&mut self.table, name.len() as u64);
        let start = self.table.len();
        self.table.extend_from_slice(name.as_bytes());
        self.ranges.push((start, self.table.len()));
        self.index.insert(name.into(), i);
        (i, start, self.table.len())
    }

    /// Append the encoding of `fields` (one event) to `out`.
    pub(crate) fn encode_event(&mut self, fields: &Fields, out: &mut Vec<u8>) {
        put_varint(out, fields.len() as u64);
        for (pos, (name, value)) in fields.iter().enumerate() {
            let i = match self.last.get(pos) {
                Some(&(i, s, e))
                    if self
                        .table
                        .get(s..e)
                        .is_some_and(|cached| same_name(cached, name.as_bytes())) =>
                {
                    i
                }
                _ => {
                    let (i, s, e) = self.intern(name);
                    if pos < self.last.len() {
                        self.last[pos] = (i, s, e);
                    } else if pos == self.last.len() {
                        self.last.push((i, s, e));
                    }
                    i
                }
            };
            put_varint(out, u64::from(i));
            self.encode_value(value, out);
        }
    }

    fn encode_value(&mut self, v: &Value, out: &mut Vec<u8>) {
        match v {
            Value::Null => out.push(Tag::Null as u8),
            Value::Bool(false) => out.push(Tag::False as u8),
            Value::Bool(true) => out.push(Tag::True as u8),
            Value::Int(i) => {
                out.push(Tag::Int as u8);
                put_varint(out, ((i << 1) ^ (i >> 63)) as u64);
            }
            Value::UInt(u) => {
                out.push(Tag::UInt as u8);
                put_varint(out, *u);
            }
            Value::Float(f) => {
                out.push(Tag::Float as u8);
                out.extend_from_slice(&f.to_le_bytes());
            }
            Value::Str(s) => {
                out.push(Tag::Str as u8);
                put_varint(out, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Array(a) => {
                out.push(Tag::Array as u8);
                put_varint(out, a.len() as u64);
                for item in a {
                    self.encode_value(item, out);
                }
            }
            Value::Object(o) => {
                out.push(Tag::Object as u8);
                put_varint(out, o.len() as u64);
                for (name, value) in o.iter() {
                    let (i, _, _) = self.intern(name);
                    put_varint(out, u64::from(i));
                    self.encode_value(value, out);
                }
            }
        }
    }

    /// Append the name table to `out`.
    pub(crate) fn write_names(&self, out: &mut Vec<u8>) {
        put_varint(out, self.ranges.len() as u64);
        out.extend_from_slice(&self.table);
    }
}

/// `a == b` for field names, inline for the usual 4 to 16 bytes: the
/// cache check runs for every field of every stored event, and a library
/// `memcmp` call per name showed in the profile.
#[inline]
fn same_name(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // Two overlapping words cover 8..=16 bytes; two half-words 4..=8.
    fn word<const W: usize>(s: &[u8], at: usize) -> [u8; W] {
        let mut w = [0u8; W];
        w.copy_from_slice(&s[at..at + W]);
        w
    }
    match n {
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        _ => a == b,
    }
}

/// A cursor over untrusted bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::OutOfRange)
    }

    /// A count or length that must fit in the bytes left (each item takes
    /// at least `min_item` bytes), so no forged count allocates.
    fn count(&mut self, min_item: usize) -> Result<usize, DecodeError> {
        let n = self.varint()?;
        let left = (self.buf.len() - self.pos) as u64;
        if n.saturating_mul(min_item as u64) > left {
            return Err(DecodeError::OutOfRange);
        }
        Ok(n as usize)
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::OutOfRange)?;
        let b = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(b)
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = self.count(1)?;
        std::str::from_utf8(self.bytes(n)?).map_err(|_| DecodeError::NotUtf8)
    }
}

/// A block's name table, decoded.
#[derive(Debug, Default, Clone)]
pub(crate) struct Names(Vec<String>);

impl Names {
    /// Decode a name table (all of `buf`, nothing after it).
    pub(crate) fn decode(buf: &[u8]) -> Result<Names, DecodeError> {
        let mut r = Reader { buf, pos: 0 };
        let n = r.count(1)?;
        let mut names = Vec::with_capacity(n);
        for _ in 0..n {
            names.push(r.str()?.to_string());
        }
        if r.pos != buf.len() {
            return Err(DecodeError::OutOfRange);
        }
        Ok(Names(names))
    }

    fn get(&self, i: u64) -> Result<&str, DecodeError> {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.0.get(i))
            .map(String::as_str)
            .ok_or(DecodeError::OutOfRange)
    }
}

/// Decode one event's fields (all of `buf`) into the JSON object that
/// parsing its JSON text would give.
pub(crate) fn decode_event(buf: &[u8], names: &Names) -> Result<serde_json::Value, DecodeError> {
    let mut r = Reader { buf, pos: 0 };
    let v = object(&mut r, names, 0)?;
    if r.pos != buf.len() {
        return Err(DecodeError::OutOfRange);
    }
    Ok(v)
}

fn object(
    r: &mut Reader<'_>,
    names: &Names,
    depth: usize,
) -> Result<serde_json::Value, DecodeError> {
    if depth >= MAX_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    // Each entry is at least a name index and a tag.
    let n = r.count(2)?;
    let mut m = serde_json::Map::with_capacity(n);
    for _ in 0..n {
        let name = names.get(r.varint()?)?;
        let v = value(r, names, depth + 1)?;
        // `insert` as the JSON parser does: a repeated name keeps its
        // first position and takes the last value.
        m.insert(name.to_string(), v);
    }
    Ok(serde_json::Value::Object(m))
}

fn value(
    r: &mut Reader<'_>,
    names: &Names,
    depth: usize,
) -> Result<serde_json::Value, DecodeError> {
    use serde_json::Value as J;
    let tag = r.byte()?;
    Ok(match tag {
        t if t == Tag::Null as u8 => J::Null,
        t if t == Tag::False as u8 => J::Bool(false),
        t if t == Tag::True as u8 => J::Bool(true),
        t if t == Tag::Int as u8 => {
            let z = r.varint()?;
            J::from(((z >> 1) as i64) ^ -((z & 1) as i64))
        }
        t if t == Tag::UInt as u8 => J::from(r.varint()?),
        t if t == Tag::Float as u8 => {
            let b: [u8; 8] = r.bytes(8)?.try_into().map_err(|_| DecodeError::Truncated)?;
            // Non-finite floats were written to JSON as null.
            serde_json::Number::from_f64(f64::from_le_bytes(b)).map_or(J::Null, J::Number)
        }
        t if t == Tag::Str as u8 => J::String(r.str()?.to_string()),
        t if t == Tag::Array as u8 => {
            if depth >= MAX_DEPTH {
                return Err(DecodeError::TooDeep);
            }
            let n = r.count(1)?;
            let mut a = Vec::with_capacity(n);
            for _ in 0..n {
                a.push(value(r, names, depth + 1)?);
            }
            J::Array(a)
        }
        t if t == Tag::Object as u8 => object(r, names, depth)?,
        other => return Err(DecodeError::BadTag(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Encode events as one block would (body, then name table).
    fn encode(events: &[Fields]) -> (Vec<Vec<u8>>, Names) {
        let mut e = Encoder::default();
        let bodies = events
            .iter()
            .map(|f| {
                let mut out = Vec::new();
                e.encode_event(f, &mut out);
                out
            })
            .collect();
        let mut table = Vec::new();
        e.write_names(&mut table);
        (bodies, Names::decode(&table).unwrap())
    }

    fn fields(json: &str) -> Fields {
        match Value::from_json(serde_json::from_str(json).unwrap()) {
            Value::Object(f) => f,
            _ => panic!("not an object"),
        }
    }

    /// What the v7 blocks stored: the JSON text, parsed back.
    fn via_json(f: &Fields) -> serde_json::Value {
        serde_json::from_str(&serde_json::to_string(f).unwrap()).unwrap()
    }

    #[test]
    fn decoding_gives_what_parsing_the_json_gave() {
        let mut dup = fields(r#"{"a": 1}"#);
        dup.push(Arc::from("b"), Value::str("x"));
        dup.push(Arc::from("a"), Value::str("second"));
        let mut odd = Fields::default();
        odd.push(Arc::from("nan"), Value::Float(f64::NAN));
        odd.push(Arc::from("inf"), Value::Float(f64::INFINITY));
        odd.push(Arc::from("negzero"), Value::Float(-0.0));
        odd.push(Arc::from("one"), Value::Float(1.0));
        odd.push(Arc::from("min"), Value::Int(i64::MIN));
        odd.push(Arc::from("max"), Value::UInt(u64::MAX));
        odd.push(Arc::from("zero"), Value::Int(0));
        odd.push(Arc::from("neg"), Value::Int(-5));
        let events = vec![
            fields(
                r#"{"EventID": 4688, "CommandLine": "cmd /c \"echo\" é\u0001\n", "Nested": {"a": [1, -2, 2.5, null, true, false, {"b": "c"}], "EventID": "x"}, "Empty": {}, "List": []}"#,
            ),
            fields(r#"{"CommandLine": "other", "EventID": 1}"#),
            fields(r#"{}"#),
            dup,
            odd,
        ];
        let (bodies, names) = encode(&events);
        for (f, b) in events.iter().zip(&bodies) {
            let got = decode_event(b, &names).unwrap();
            let want = via_json(f);
            assert_eq!(got, want);
            // Same text too (number kinds, key order).
            assert_eq!(got.to_string(), want.to_string());
        }
    }

    #[test]
    fn name_comparison_is_equality() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..40 {
            let a = &base[..n];
            assert!(same_name(a, a));
            assert!(!same_name(a, &base[..n + 1]));
            // A difference at any one position is seen.
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same_name(a, &b), "length {n}, byte {at}");
            }
        }
    }

    #[test]
    fn names_are_stored_once_per_block() {
        let events: Vec<Fields> = (0..50)
            .map(|i| fields(&format!(r#"{{"SomeRatherLongFieldName": {i}}}"#)))
            .collect();
        let mut e = Encoder::default();
        let mut out = Vec::new();
        for f in &events {
            e.encode_event(f, &mut out);
        }
        // 50 × (count, index, tag, value): no name in the body.
        assert!(out.len() <= 50 * 5, "{}", out.len());
        let mut table = Vec::new();
        e.write_names(&mut table);
        assert_eq!(
            Names::decode(&table).unwrap().0,
            ["SomeRatherLongFieldName"]
        );
    }

    #[test]
    fn hostile_bytes_are_errors_not_panics() {
        let f = fields(r#"{"a": "hello", "b": [1, {"c": 2.5}], "d": -7}"#);
        let (bodies, names) = encode(std::slice::from_ref(&f));
        let body = &bodies[0];
        // Every truncation is an error.
        for n in 0..body.len() {
            assert!(decode_event(&body[..n], &names).is_err(), "prefix {n}");
        }
        // Trailing bytes.
        let mut long = body.clone();
        long.push(0);
        assert_eq!(decode_event(&long, &names), Err(DecodeError::OutOfRange));
        // Bad tag: the first value's tag is at offset 2 (count, index).
        let mut bad = body.clone();
        bad[2] = 0x63;
        assert_eq!(decode_event(&bad, &names), Err(DecodeError::BadTag(0x63)));
        // A name index past the table.
        let mut bad = body.clone();
        bad[1] = 100;
        assert_eq!(decode_event(&bad, &names), Err(DecodeError::OutOfRange));
        // Oversized counts and lengths: refused before allocating.
        let huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        let mut forged = huge.to_vec();
        assert_eq!(decode_event(&forged, &names), Err(DecodeError::OutOfRange));
        forged = vec![1, 0, Tag::Str as u8];
        forged.extend_from_slice(&huge);
        assert_eq!(decode_event(&forged, &names), Err(DecodeError::OutOfRange));
        forged = vec![1, 0, Tag::Array as u8];
        forged.extend_from_slice(&huge);
        assert_eq!(decode_event(&forged, &names), Err(DecodeError::OutOfRange));
        // A varint that never ends.
        assert_eq!(
            decode_event(&[0x80; 11], &names),
            Err(DecodeError::OutOfRange)
        );
        // Invalid UTF-8 in a value and in the name table.
        assert_eq!(
            decode_event(&[1, 0, Tag::Str as u8, 2, 0xc3, 0x28], &names),
            Err(DecodeError::NotUtf8)
        );
        assert_eq!(
            Names::decode(&[1, 1, 0xff]).unwrap_err(),
            DecodeError::NotUtf8
        );
        assert!(Names::decode(&[5, 1, b'a']).is_err());
        assert!(Names::decode(&[0xff, 0xff, 0xff, 0x0f]).is_err());
        // Deep nesting: arrays in arrays past the limit.
        let mut deep = vec![1, 0];
        deep.extend(std::iter::repeat_n([Tag::Array as u8, 1], MAX_DEPTH + 1).flatten());
        deep.push(Tag::Null as u8);
        assert_eq!(decode_event(&deep, &names), Err(DecodeError::TooDeep));
        // Random bytes never panic.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let len = (x % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 12) as u8
                })
                .collect();
            let _ = decode_event(&bytes, &names);
            let _ = Names::decode(&bytes);
        }
    }
}
