//! JSON text straight into [`kahu_event::Value`], without a `serde_json::Value`
//! in between.
//!
//! Field names repeat on every record of a log, so they are interned: each
//! distinct key is allocated once per reader and shared by reference count.
//! That removes most of the allocations of building an event.

use kahu_event::{Fields, Value};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Distinct keys a cache keeps before it stops growing. Logs have a few
/// hundred field names; hostile input with unique keys on every line must not
/// grow the cache without bound.
const MAX_INTERNED: usize = 16 * 1024;

/// Longest key worth interning; longer keys are allocated each time.
const MAX_INTERNED_KEY: usize = 128;

/// Scratch entries kept between records; a hostile record with millions of
/// fields must not pin that much memory for the rest of the file.
const MAX_SCRATCH_KEPT: usize = 4096;

/// Shared field names and reusable scratch space for one reader.
///
/// The map uses hashbrown's default (foldhash) hasher: keys come from the
/// evidence, but the cache is capped at [`MAX_INTERNED`] entries, so a
/// collision flood costs at most that many probes per lookup, and SipHash
/// was an eighth of the JSON-lines parse time.
#[derive(Default)]
pub(crate) struct KeyCache {
    keys: hashbrown::HashMap<Box<str>, Arc<str>>,
    /// Entries of the objects being built, innermost last. Objects are
    /// collected here and copied out at their exact size, which saves the
    /// reallocations of growing each `Fields` from empty (serde_json gives
    /// no size hint).
    pub(crate) fields: Vec<(Arc<str>, Value)>,
    /// The same for arrays.
    pub(crate) items: Vec<Value>,
    /// Escape-decoding buffer of the fast path, kept between records.
    pub(crate) unescaped: String,
    /// Recently seen short string values, see [`KeyCache::value`].
    values: Vec<Option<Arc<str>>>,
    hasher: hashbrown::DefaultHashBuilder,
    /// The previous record's keys in the order read, see
    /// [`KeyCache::next_key`].
    by_position: Vec<Arc<str>>,
    /// Keys read so far in the current record.
    position: usize,
}

/// Key positions remembered per record; keys past this are looked up by
/// hash only.
const MAX_KEY_POSITIONS: usize = 512;

/// Slots of the string value cache (a power of two).
const VALUE_SLOTS: usize = 4096;

/// Longest string value worth sharing. Short values repeat across records
/// (`Security`, `0x0`, `-`, `%%1833`, host and user names); long ones
/// (command lines, messages) rarely do.
const MAX_SHARED_VALUE: usize = 40;

impl KeyCache {
    /// The shared copy of `key`.
    pub(crate) fn get(&mut self, key: &str) -> Arc<str> {
        if let Some(k) = self.keys.get(key) {
            return k.clone();
        }
        let arc: Arc<str> = Arc::from(key);
        if self.keys.len() < MAX_INTERNED && key.len() <= MAX_INTERNED_KEY {
            self.keys.insert(Box::from(key), arc.clone());
        }
        arc
    }

    /// A string value, shared with an earlier identical one if the cache
    /// still holds it. The cache is direct-mapped: a fixed number of slots,
    /// each keeping the last value that hashed to it, so memory stays
    /// bounded and hostile input with unique values only costs the hash.
    /// Sharing saves an allocation per repeated value and the memory of
    /// every copy in events kept for the rest of a run.
    pub(crate) fn value(&mut self, v: &str) -> Arc<str> {
        if v.len() > MAX_SHARED_VALUE {
            return Arc::from(v);
        }
        if self.values.is_empty() {
            self.values = vec![None; VALUE_SLOTS];
        }
        let h = self.hasher.hash_one(v) as usize;
        let slot = &mut self.values[h & (VALUE_SLOTS - 1)];
        if let Some(a) = slot
            && **a == *v
        {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(v);
        *slot = Some(a.clone());
        a
    }

    /// The shared copy of the record's next key. Records of one log list
    /// their keys in the same order, so the key at the same position in
    /// the previous record is checked first: a compare instead of hashing
    /// every key of every record.
    pub(crate) fn next_key(&mut self, key: &str) -> Arc<str> {
        let n = self.position;
        self.position += 1;
        if let Some(k) = self.by_position.get(n)
            && **k == *key
        {
            return k.clone();
        }
        let k = self.get(key);
        if let Some(slot) = self.by_position.get_mut(n) {
            *slot = k.clone();
        } else if n == self.by_position.len() && n < MAX_KEY_POSITIONS {
            self.by_position.push(k.clone());
        }
        k
    }

    /// After a record that may have failed half-way: its partial entries
    /// are still on the scratch stacks.
    fn after_record(&mut self) {
        self.fields.clear();
        self.items.clear();
        self.trim_scratch();
    }

    fn trim_scratch(&mut self) {
        if self.fields.capacity() > MAX_SCRATCH_KEPT {
            self.fields = Vec::new();
        }
        if self.items.capacity() > MAX_SCRATCH_KEPT {
            self.items = Vec::new();
        }
        if self.unescaped.capacity() > 64 * MAX_SCRATCH_KEPT {
            self.unescaped = String::new();
        }
    }
}

/// Room left in every record for the few aliases the normalisers add
/// (`Computer`, `Provider_Name`…), so adding them does not reallocate.
pub(crate) const OBJECT_SLACK: usize = 8;

/// The warning for a record kept after decoding it lossily.
pub(crate) const LOSSY_UTF8_WARNING: &str =
    "record holds invalid UTF-8; read with the bad bytes replaced by U+FFFD";

/// [`parse`], but invalid UTF-8 (a Latin-1 byte in an nginx `escape=json`
/// log, say) is replaced by U+FFFD instead of failing the whole record;
/// `true` when that happened, so the caller can warn.
pub(crate) fn parse_lossy(
    bytes: &[u8],
    keys: &mut KeyCache,
) -> Result<(Value, bool), serde_json::Error> {
    if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
        return parse_text(text, keys).map(|v| (v, false));
    }
    let text = String::from_utf8_lossy(bytes);
    parse(text.as_bytes(), keys).map(|v| (v, true))
}

/// Parse one complete JSON value from `bytes` (surrounding whitespace allowed).
pub(crate) fn parse(bytes: &[u8], keys: &mut KeyCache) -> Result<Value, serde_json::Error> {
    // serde_json validates UTF-8 string by string when reading bytes, which
    // costs more than one pass over the whole text; valid text is parsed as
    // `str` without the per-string check. Invalid text takes the byte path
    // so the error (and its position) is what it always was.
    let Ok(text) = simdutf8::basic::from_utf8(bytes) else {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let out = ValueSeed { keys: &mut *keys }
            .deserialize(&mut de)
            .and_then(|v| de.end().map(|()| v));
        keys.after_record();
        return out;
    };
    parse_text(text, keys)
}

/// [`parse`] of text already known to be UTF-8.
fn parse_text(text: &str, keys: &mut KeyCache) -> Result<Value, serde_json::Error> {
    keys.position = 0;
    if let Some(v) = crate::jsonfast::parse(text, keys) {
        return Ok(v);
    }
    // Not in the fast subset: start over with serde_json.
    keys.fields.clear();
    keys.items.clear();
    let mut de = serde_json::Deserializer::from_str(text);
    let out = ValueSeed { keys: &mut *keys }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    keys.after_record();
    out
}

/// serde_json alone, for checking the fast path against it.
#[cfg(test)]
pub(crate) fn parse_serde(bytes: &[u8], keys: &mut KeyCache) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let out = ValueSeed { keys: &mut *keys }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    keys.fields.clear();
    keys.items.clear();
    out
}

/// Builds a [`Value`] using a [`KeyCache`] for object keys.
pub(crate) struct ValueSeed<'k> {
    pub(crate) keys: &'k mut KeyCache,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(v),
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(self.keys.value(v)))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let start = self.keys.items.len();
        while let Some(v) = seq.next_element_seed(ValueSeed {
            keys: &mut *self.keys,
        })? {
            self.keys.items.push(v);
        }
        let out: Vec<Value> = self.keys.items.drain(start..).collect();
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let start = self.keys.fields.len();
        while let Some(k) = map.next_key_seed(KeySeed {
            keys: &mut *self.keys,
        })? {
            let v = map.next_value_seed(ValueSeed {
                keys: &mut *self.keys,
            })?;
            self.keys.fields.push((k, v));
        }
        let n = self.keys.fields.len() - start;
        // Only records (objects not inside another object) get the slack.
        let slack = if start == 0 { OBJECT_SLACK } else { 0 };
        let mut out = Fields::with_capacity(n + slack);
        // `push`, not `insert`: a duplicate key is kept twice (lookups
        // find the first) rather than paying a quadratic scan on objects
        // with thousands of keys.
        for (k, v) in self.keys.fields.drain(start..) {
            out.push(k, v);
        }
        Ok(Value::Object(out))
    }
}

struct KeySeed<'k> {
    keys: &'k mut KeyCache,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Arc<str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Arc<str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Arc<str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Arc<str>, E> {
        Ok(self.keys.get(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json() {
        let text = br#"{"a": [1, -2, 18446744073709551615, 1.5, "x", null, true], "b": {"c": {}}}"#;
        let mut keys = KeyCache::default();
        let ours = parse(text, &mut keys).unwrap();
        let theirs = Value::from_json(serde_json::from_slice(text).unwrap());
        assert_eq!(ours, theirs);
    }

    #[test]
    fn rejects_trailing_garbage_and_deep_nesting() {
        let mut keys = KeyCache::default();
        assert!(parse(b"{} x", &mut keys).is_err());
        let deep = "[".repeat(100_000);
        assert!(parse(deep.as_bytes(), &mut keys).is_err());
    }

    #[test]
    fn invalid_utf8_is_refused_and_the_next_record_is_clean() {
        let mut keys = KeyCache::default();
        let err = parse(b"{\"a\": {\"c\": 1, \"b\": \"\xff\"}}", &mut keys).unwrap_err();
        // Same message and position as serde_json reading the bytes itself.
        let theirs =
            serde_json::from_slice::<serde_json::Value>(b"{\"a\": {\"c\": 1, \"b\": \"\xff\"}}")
                .unwrap_err();
        assert_eq!(err.to_string(), theirs.to_string());
        // The reader carries on with the next record.
        let v = parse("{\"k\": [\"é\", {\"x\": 1}]}".as_bytes(), &mut keys).unwrap();
        let theirs =
            Value::from_json(serde_json::from_str("{\"k\": [\"é\", {\"x\": 1}]}").unwrap());
        assert_eq!(v, theirs);
    }

    #[test]
    fn keys_are_shared() {
        let mut keys = KeyCache::default();
        let a = keys.get("Image");
        let b = keys.get("Image");
        assert!(Arc::ptr_eq(&a, &b));
    }
}
