//! A fast path for the JSON that logs are made of, used before serde_json.
//!
//! Log records are objects of strings, small integers, booleans and nulls,
//! with long string values (messages, command lines). serde_json scans
//! strings through several checks per byte run and regrows its escape
//! buffer for every record; this parser finds the end of a plain run (quote,
//! backslash or control byte) with one combined word-at-a-time test,
//! decodes escapes into one buffer kept between records, and builds the
//! [`Value`] tree through the same [`KeyCache`]. (Handing long runs to
//! SIMD `memchr2` measured no better: NXLog messages have an escape every
//! few dozen bytes.)
//!
//! It only accepts what it is sure serde_json accepts, with the same
//! result: anything else (floats, `-0`, integers past 64 bits, control
//! characters in strings, lone surrogates, deep nesting, any syntax error)
//! returns `None` and the caller re-parses with serde_json, so values and
//! error messages stay exactly serde_json's.

use crate::jsonvalue::KeyCache;
use kahu_event::{Fields, Value};
use std::sync::Arc;

/// Nesting beyond this goes to serde_json (whose own limit is 127 levels).
const MAX_DEPTH: u32 = 100;

/// Room left in every record for the aliases normalisers add; the same as
/// the serde_json path.
use crate::jsonvalue::OBJECT_SLACK;

/// Parse `text` as one JSON value with surrounding whitespace, or `None` if
/// it is not in the subset handled here.
pub(crate) fn parse(text: &str, keys: &mut KeyCache) -> Option<Value> {
    let mut p = Parser {
        text,
        b: text.as_bytes(),
        i: 0,
        keys,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    (p.i == p.b.len()).then_some(v)
}

struct Parser<'a, 'k> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    keys: &'k mut KeyCache,
}

/// A decoded string: a slice of the input when it had no escapes, else in
/// the cache's escape buffer.
enum Text<'a> {
    Input(&'a str),
    Decoded,
}

impl<'a> Parser<'a, '_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: u32) -> Option<Value> {
        match self.peek()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => {
                self.i += 1;
                Some(Value::Str(match self.string()? {
                    Text::Input(s) => self.keys.value(s),
                    Text::Decoded => {
                        let s = std::mem::take(&mut self.keys.unescaped);
                        let v = self.keys.value(&s);
                        self.keys.unescaped = s;
                        v
                    }
                }))
            }
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'n' => self.literal(b"null", Value::Null),
            b'-' | b'0'..=b'9' => self.integer(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Option<Value> {
        self.b[self.i..].starts_with(word).then(|| {
            self.i += word.len();
            v
        })
    }

    /// An integer without fraction or exponent that fits 64 bits; `-0`
    /// and everything else is left to serde_json.
    fn integer(&mut self) -> Option<Value> {
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            self.i += 1;
        }
        let digits = self.i - start;
        // No digits, a leading zero, or a float.
        if digits == 0
            || (digits > 1 && self.b[start] == b'0')
            || matches!(self.peek(), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        if neg {
            if n == 0 {
                return None;
            }
            // serde_json gives i64 when it fits, else a float.
            let v = 0i64.checked_sub_unsigned(n)?;
            Some(Value::Int(v))
        } else {
            Some(match i64::try_from(n) {
                Ok(i) => Value::Int(i),
                Err(_) => Value::UInt(n),
            })
        }
    }

    /// A string body, after its opening quote.
    fn string(&mut self) -> Option<Text<'a>> {
        let start = self.i;
        let end = find_special(self.b, start)?;
        match self.b[end] {
            b'"' => {
                self.i = end + 1;
                // Both ends are ASCII, so they are character boundaries.
                self.text.get(start..end).map(Text::Input)
            }
            b'\\' => {
                let mut out = std::mem::take(&mut self.keys.unescaped);
                out.clear();
                let ok = self.unescape(start, end, &mut out);
                self.keys.unescaped = out;
                ok.then_some(Text::Decoded)
            }
            // A raw control character: serde_json's error.
            _ => None,
        }
    }

    /// Decode a string whose plain text runs from `from` to the backslash
    /// at `end` into `out`; `false` if serde_json should judge it.
    ///
    /// Escapes come in runs in log messages (`\r\n\t`), so an escape
    /// right after another is decoded without a new scan or copy: the
    /// scan's set-up and the copy call cost more than the escape itself.
    fn unescape(&mut self, mut from: usize, mut end: usize, out: &mut String) -> bool {
        loop {
            // `self.b[end]` is a backslash.
            let Some(chunk) = self.text.get(from..end) else {
                return false;
            };
            out.push_str(chunk);
            let mut at = end;
            loop {
                let Some(&esc) = self.b.get(at + 1) else {
                    return false;
                };
                at += 2;
                let c = match esc {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => match self.code_point(&mut at) {
                        Some(c) => c,
                        None => return false,
                    },
                    _ => return false,
                };
                out.push(c);
                if self.b.get(at) != Some(&b'\\') {
                    break;
                }
            }
            from = at;
            let Some(next) = find_special(self.b, from) else {
                return false;
            };
            end = next;
            match self.b[end] {
                b'"' => {
                    let Some(chunk) = self.text.get(from..end) else {
                        return false;
                    };
                    out.push_str(chunk);
                    self.i = end + 1;
                    return true;
                }
                b'\\' => {}
                _ => return false,
            }
        }
    }

    /// The character of a `\\u` escape whose four hex digits start at
    /// `at`, moving `at` past it; `None` where serde_json should judge.
    fn code_point(&self, at: &mut usize) -> Option<char> {
        let hi = self.hex4(*at)?;
        *at += 4;
        let code = match hi {
            0xD800..=0xDBFF => {
                // Only a well-formed pair; serde_json judges the rest.
                if self.b.get(*at..*at + 2) != Some(b"\\u") {
                    return None;
                }
                let lo @ 0xDC00..=0xDFFF = self.hex4(*at + 2)? else {
                    return None;
                };
                *at += 6;
                0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00)
            }
            0xDC00..=0xDFFF => return None,
            _ => u32::from(hi),
        };
        char::from_u32(code)
    }

    fn hex4(&self, at: usize) -> Option<u16> {
        let digits = self.b.get(at..at + 4)?;
        let mut v = 0u16;
        for &d in digits {
            v = v * 16 + (d as char).to_digit(16)? as u16;
        }
        Some(v)
    }

    fn object(&mut self, depth: u32) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.i += 1;
        let start = self.keys.fields.len();
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
        } else {
            loop {
                if self.peek()? != b'"' {
                    return None;
                }
                self.i += 1;
                let k: Arc<str> = match self.string()? {
                    Text::Input(s) => self.keys.next_key(s),
                    Text::Decoded => {
                        let s = std::mem::take(&mut self.keys.unescaped);
                        let k = self.keys.next_key(&s);
                        self.keys.unescaped = s;
                        k
                    }
                };
                self.ws();
                if self.peek()? != b':' {
                    return None;
                }
                self.i += 1;
                self.ws();
                let v = self.value(depth)?;
                self.keys.fields.push((k, v));
                self.ws();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.ws();
                    }
                    b'}' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let n = self.keys.fields.len() - start;
        let slack = if start == 0 { OBJECT_SLACK } else { 0 };
        let mut out = Fields::with_capacity(n + slack);
        for (k, v) in self.keys.fields.drain(start..) {
            out.push(k, v);
        }
        Some(Value::Object(out))
    }

    fn array(&mut self, depth: u32) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.i += 1;
        let start = self.keys.items.len();
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
        } else {
            loop {
                let v = self.value(depth)?;
                self.keys.items.push(v);
                self.ws();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.ws();
                    }
                    b']' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let out: Vec<Value> = self.keys.items.drain(start..).collect();
        Some(Value::Array(out))
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Offset of the first byte at or after `from` that ends a plain run of
/// string text: a quote, a backslash or a control character (which JSON
/// forbids raw). Eight bytes at a time over the rest of the record (not
/// only the string, so a short string needs no byte-wise tail): the
/// classic "has zero byte" / "has byte less than" word tricks, whose lowest
/// flagged byte is always a true match (false flags only arise above a
/// true one, from the borrow).
fn find_special(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(w) = b.get(i..i + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(w);
        let w = u64::from_le_bytes(bytes);
        let quote = w ^ (ONES * u64::from(b'"'));
        let slash = w ^ (ONES * u64::from(b'\\'));
        let flags = (quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        let flags = flags & HIGH;
        if flags != 0 {
            return Some(i + (flags.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b.get(i..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use crate::jsonvalue::{KeyCache, parse as parse_any, parse_serde};
    use proptest::prelude::*;

    /// The fast path plus fallback gives what serde_json alone gives: the
    /// same value, or an error with the same message.
    fn same_as_serde(text: &[u8]) -> Result<(), TestCaseError> {
        let ours = parse_any(text, &mut KeyCache::default());
        let theirs = parse_serde(text, &mut KeyCache::default());
        match (ours, theirs) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => prop_assert!(
                false,
                "{:?} vs {:?} for {:?}",
                a,
                b,
                String::from_utf8_lossy(text)
            ),
        }
        Ok(())
    }

    #[test]
    fn tricky_inputs_match_serde_json() {
        let cases: &[&str] = &[
            r#"{"a":"C:\\Windows\\System32\\cmd.exe","b":"line\r\n\ttab \/ \" \b\f"}"#,
            r#"{"e":"\u00e9\u0041\u20AC\ud83d\ude00","z":"\u0000"}"#,
            r#"["\ud800"]"#,
            r#"["\udc00x"]"#,
            r#"["\ud800\u0041"]"#,
            r#"["\x"]"#,
            r#"["\u12"]"#,
            r#"["\u12G4"]"#,
            "[\"raw\tcontrol\"]",
            "[\"raw\u{1}control\\n\"]",
            r#"[0, -0, 1, -1, 007, 1.5, -2e3, 1E2, 18446744073709551615, 18446744073709551616, -9223372036854775808, -9223372036854775809, 9223372036854775807, 9223372036854775808]"#,
            r#"[-, 01, 1., .5, +1, 0x10]"#,
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":1 "b":2}"#,
            r#"{,}"#,
            r#"[1,]"#,
            r#"[1 2]"#,
            r#"{"a":tru}"#,
            r#"{"a":truex}"#,
            r#"{"a":nul}"#,
            r#"{} {}"#,
            r#"  {"a" : [ true , false , null ] }  "#,
            "\u{feff}{}",
            "",
            "   ",
            r#"{"dup":1,"dup":2}"#,
            r#"{"a":{"b":{"c":[[],{}]}}}"#,
            r#""just a string""#,
            r#"12"#,
            r#"{"a":"unterminated}"#,
            r#"{"a":"esc at end\"#,
            r#"["\r\n\t", "x\\\\y\"", "\u0041\n\u00e9\\", "\\", "a\tb\rc"]"#,
            r#"["\r\n\q"]"#,
            r#"["ok\r\n\"#,
            "{\"a\":\"\u{7f}\u{80}\"}",
        ];
        for c in cases {
            same_as_serde(c.as_bytes()).unwrap();
        }
        for depth in [99, 100, 101, 126, 127, 128, 129] {
            let t = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            same_as_serde(t.as_bytes()).unwrap();
            let t = format!("{}1{}", "{\"k\":".repeat(depth), "}".repeat(depth));
            same_as_serde(t.as_bytes()).unwrap();
        }
    }

    #[test]
    fn special_bytes_are_found_first() {
        for len in (0..40).chain([63, 64, 65, 100, 257]) {
            for at in 0..len {
                for special in [b'"', b'\\', 0u8, 0x1f] {
                    // Plain text around the special byte, including bytes
                    // just above the thresholds and non-ASCII.
                    let mut b: Vec<u8> = (0..len)
                        .map(|i| [b'a', 0x20, 0x21, 0x5d, 0xff][i % 5])
                        .collect();
                    b[at] = special;
                    if at + 1 < len {
                        b[at + 1] = b'"';
                    }
                    assert_eq!(super::find_special(&b, 0), Some(at), "{b:?}");
                }
            }
            let plain: Vec<u8> = (0..len)
                .map(|i| [b'a', 0x20, 0x7f, 0x80, 0xff][i % 5])
                .collect();
            assert_eq!(super::find_special(&plain, 0), None);
        }
    }

    #[test]
    fn log_records_take_the_fast_path() {
        // Otherwise the tests above would pass with the fast path unused.
        let rec = r#"{"EventID":4688,"Hostname":"WS1","Message":"A new process\r\n\tC:\\x.exe","Ok":true,"N":null,"L":[1,-2]}"#;
        let mut keys = KeyCache::default();
        assert!(super::parse(rec, &mut keys).is_some());
        assert!(super::parse(r#"{"f":1.5}"#, &mut keys).is_none());
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value as J;
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::Bool),
            any::<i64>().prop_map(J::from),
            any::<u64>().prop_map(J::from),
            any::<f64>().prop_map(J::from),
            any::<String>().prop_map(J::String),
            "[a-z\\\\\"\\n\\t\u{e9}\u{1F600}]{0,12}".prop_map(J::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::vec(("[a-zA-Z_@.\\\\\"]{0,8}", inner), 0..6)
                    .prop_map(|kv| { serde_json::Value::Object(kv.into_iter().collect()) }),
            ]
        })
    }

    proptest! {
        #[test]
        fn special_scan_matches_a_plain_loop(
            // Mostly plain text, so long runs reach the SIMD path.
            b in prop::collection::vec(
                prop_oneof![
                    200 => prop::sample::select(b"ab \x20\x21\x5d\x7f\x80\xff".to_vec()),
                    1 => prop::sample::select(b"\x1f\"\\\x00".to_vec()),
                ],
                0..400,
            ),
            from in any::<prop::sample::Index>(),
        ) {
            let from = from.index(b.len() + 1);
            let want = b[from..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .map(|p| from + p);
            prop_assert_eq!(super::find_special(&b, from), want);
        }

        #[test]
        fn serialised_values_match_serde_json(v in json_value()) {
            same_as_serde(serde_json::to_string(&v).unwrap().as_bytes())?;
            same_as_serde(serde_json::to_string_pretty(&v).unwrap().as_bytes())?;
        }

        #[test]
        fn records_read_with_one_cache_match_serde_json(
            records in prop::collection::vec(
                prop::collection::vec(
                    (prop::sample::select(vec!["Image", "User", "Host", "a", "ab", "Imagf", ""]), 0u8..3),
                    0..6,
                ),
                1..8,
            ),
        ) {
            // The key cache predicts each key from the previous record's
            // key at the same position; records with the keys reordered,
            // renamed, added or dropped must still read as serde_json
            // reads them with a fresh cache.
            let mut keys = KeyCache::default();
            for fields in records {
                let text = format!(
                    "{{{}}}",
                    fields
                        .iter()
                        .map(|(k, v)| format!("\"{k}\":{v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                );
                let ours = parse_any(text.as_bytes(), &mut keys).unwrap();
                let theirs = parse_serde(text.as_bytes(), &mut KeyCache::default()).unwrap();
                prop_assert_eq!(ours, theirs);
            }
        }

        #[test]
        fn damaged_values_match_serde_json(
            v in json_value(),
            at in any::<prop::sample::Index>(),
            byte in prop::sample::select(b"\"\\{}[],:-0.eu \x01\xff".to_vec()),
            delete in any::<bool>(),
        ) {
            let mut text = serde_json::to_string(&v).unwrap().into_bytes();
            let i = at.index(text.len() + 1);
            if delete && i < text.len() {
                text.remove(i);
            } else {
                text.insert(i, byte);
            }
            same_as_serde(&text)?;
        }
    }
}
