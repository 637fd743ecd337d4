//! Zeek (Bro) logs: the native tab-separated format ([`ZeekTsv`]) and the
//! JSON-lines format (`LogAscii::use_json`, [`ZeekJson`]).
//!
//! Every log type is read; the log type (`#path` header, `_path` key, or
//! the file name: `conn.log`, `dns.00:00:00-01:00:00.log`) becomes
//! `service` under `product: zeek` and the channel. Field names are Zeek's
//! own (`ts`, `uid`, `id.orig_h`, `id.resp_p`, `query`, `uri`…), which is
//! what SigmaHQ's Zeek rules use. `ts` becomes the event time (epoch or
//! ISO 8601, UTC).
//!
//! Extra log sources so generic rules apply:
//! * `http` is also `category: proxy`, with the proxy names `c-uri`
//!   (the request target, path and query), `cs-uri`, `c-uri-stem`,
//!   `c-uri-query`, `c-uri-extension` (extension of the last path segment,
//!   without the dot), `c-useragent`, `cs-method`, `cs-host` and `r-dns`
//!   (host), `cs-referrer`, `sc-status`, `cs-version`, `cs-bytes`,
//!   `sc-bytes`, `src_ip`, `dst_ip`, `dst_port`;
//! * `dns` is also `category: dns`, with `record_type` (`qtype_name`) and
//!   `answer` (`answers`).
//!
//! All logs get `src_ip`, `src_port`, `dst_ip`, `dst_port` copies of the
//! `id.*` fields for IOC matching across formats. The host of the events is
//! the collection layout's hint (Zeek sensors log traffic of many hosts).

use crate::text::{
    Line, LineReader, base_name, head_lines, is_texty, line_warning, num_or_str, set_host,
    too_long_warning,
};
use crate::{Format, Input, Origin, Sink};
use kahu_event::{Event, Fields, Location, LogSource, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// The log type from a Zeek file name: `conn.log`, `http.log.gz` (already
/// decompressed by the archive layer), `dns.00:00:00-01:00:00.log`,
/// `conn_20200101.log`. Falls back to `zeek`.
fn path_from_name(file_name: &str) -> String {
    let b = base_name(file_name);
    let stem = b.split('.').next().unwrap_or("");
    if stem.is_empty()
        || !stem
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        "zeek".to_owned()
    } else {
        stem.to_owned()
    }
}

/// Log sources and aliases for one Zeek log type.
struct Kind {
    path: Arc<str>,
    logsource: LogSource,
    alt: Vec<LogSource>,
}

impl Kind {
    fn new(path: &str) -> Self {
        let mut alt = Vec::new();
        match path {
            "http" => alt.push(LogSource::default().with_category("proxy")),
            "dns" => alt.push(LogSource::default().with_category("dns")),
            _ => {}
        }
        Kind {
            path: Arc::from(path),
            logsource: LogSource::product("zeek").with_service(path),
            alt,
        }
    }

    fn event(&self, origin: &Origin, line: u64) -> Event {
        let mut ev = Event::new(origin.provenance(Location::Line(line)));
        ev.logsource = self.logsource.clone();
        ev.alt_logsources = self.alt.clone();
        ev.channel = Some(self.path.clone());
        ev.provider = Some(Arc::from("zeek"));
        set_host(&mut ev, None, origin);
        ev
    }
}

/// Add derived fields: the event time, generic endpoint names and, for
/// `http`/`dns`, the proxy/dns category names.
fn enrich(ev: &mut Event, path: &str) {
    let f = &mut ev.fields;
    if let Some(ts) = f.get("ts") {
        ev.timestamp = match ts {
            Value::Float(x) => kahu_event::parse_timestamp(&format!("{x:.6}")),
            v => v.as_text().and_then(|t| kahu_event::parse_timestamp(&t)),
        };
    }
    let copy = |f: &mut Fields, from: &str, to: &str| {
        if f.get(to).is_none()
            && let Some(v) = f.get_path(from).cloned()
        {
            f.insert(to, v);
        }
    };
    copy(f, "id.orig_h", "src_ip");
    copy(f, "id.orig_p", "src_port");
    copy(f, "id.resp_h", "dst_ip");
    copy(f, "id.resp_p", "dst_port");
    match path {
        "http" => {
            if let Some(uri) = f.get("uri").and_then(Value::as_text).map(Cow::into_owned) {
                let (stem, query) = match uri.split_once('?') {
                    Some((s, q)) => (s.to_owned(), Some(q.to_owned())),
                    None => (uri.clone(), None),
                };
                let last = stem.rsplit('/').next().unwrap_or("");
                let ext = last
                    .rsplit_once('.')
                    .map(|(_, e)| e.to_owned())
                    .filter(|e| !e.is_empty());
                f.insert("c-uri", Value::str(&uri));
                f.insert("cs-uri", Value::str(&uri));
                f.insert("c-uri-stem", Value::str(&stem));
                f.insert("cs-uri-stem", Value::from(stem));
                if let Some(q) = query {
                    f.insert("c-uri-query", Value::from(q));
                }
                if let Some(e) = ext {
                    f.insert("c-uri-extension", Value::from(e));
                }
            }
            copy(f, "user_agent", "c-useragent");
            copy(f, "method", "cs-method");
            copy(f, "host", "cs-host");
            copy(f, "host", "r-dns");
            copy(f, "referrer", "cs-referrer");
            copy(f, "status_code", "sc-status");
            copy(f, "version", "cs-version");
            copy(f, "request_body_len", "cs-bytes");
            copy(f, "response_body_len", "sc-bytes");
        }
        "dns" => {
            copy(f, "qtype_name", "record_type");
            copy(f, "answers", "answer");
        }
        _ => {}
    }
}

/// Zeek's native TSV logs. Honours `#separator` (written escaped, `\x09`),
/// `#set_separator`, `#empty_field`, `#unset_field`, `#path`, `#fields` and
/// `#types` wherever they appear (a concatenation of several logs restarts
/// the header). Unset fields (`-`) are left out; empty fields (`(empty)`)
/// become empty strings or lists; `set[…]`/`vector[…]` values become lists;
/// `count`/`int`/`port` become integers, `double`/`interval` floats,
/// `bool` booleans; `\xHH` escapes in strings are decoded.
#[derive(Debug, Default, Clone, Copy)]
pub struct ZeekTsv;

impl Format for ZeekTsv {
    fn name(&self) -> &'static str {
        "zeek-tsv"
    }

    fn detect(&self, head: &[u8], _file_name: &str) -> bool {
        is_texty(head)
            && head.starts_with(b"#separator ")
            && head_lines(head).take(12).any(|l| l.starts_with("#fields"))
    }

    fn read(&self, input: Input<'_>, origin: &Origin, sink: &mut dyn Sink) -> std::io::Result<()> {
        let mut lines = LineReader::new(input.open()?);
        let mut sep = "\t".to_owned();
        let mut set_sep = ",".to_owned();
        let mut empty = "(empty)".to_owned();
        let mut unset = "-".to_owned();
        let mut names: Vec<Arc<str>> = Vec::new();
        let mut types: Vec<String> = Vec::new();
        let fallback = path_from_name(origin.member.as_deref().unwrap_or(&origin.file));
        let mut kind = Kind::new(&fallback);
        while let Some((n, line)) = lines.next_line()? {
            let line = match line {
                Line::Text(t) => t,
                Line::TooLong(len) => {
                    sink.warning(too_long_warning(origin, n, len));
                    continue;
                }
            };
            if line.is_empty() {
                continue;
            }
            if let Some(h) = line.strip_prefix('#') {
                if let Some(v) = h.strip_prefix("separator ") {
                    let s = unescape(v.trim_end_matches('\r'));
                    if s.is_empty() {
                        sink.warning(line_warning(
                            origin,
                            n,
                            "empty #separator; keeping the previous one",
                        ));
                    } else {
                        sep = s.into_owned();
                    }
                    continue;
                }
                let mut parts = h.splitn(2, sep.as_str());
                let key = parts.next().unwrap_or("");
                let value = parts.next().unwrap_or("");
                match key {
                    "set_separator" => set_sep = unescape(value).into_owned(),
                    "empty_field" => empty = unescape(value).into_owned(),
                    "unset_field" => unset = unescape(value).into_owned(),
                    "path" => kind = Kind::new(value.trim()),
                    "fields" => {
                        names = value.split(sep.as_str()).map(Arc::from).collect();
                        types.clear();
                    }
                    "types" => types = value.split(sep.as_str()).map(str::to_owned).collect(),
                    _ => {} // #open, #close, comments
                }
                continue;
            }
            if names.is_empty() {
                sink.warning(line_warning(
                    origin,
                    n,
                    "record before any #fields header; skipped",
                ));
                continue;
            }
            let values: Vec<&str> = line.split(sep.as_str()).collect();
            if values.len() != names.len() {
                sink.warning(line_warning(
                    origin,
                    n,
                    format!(
                        "{} values for {} #fields names; skipped",
                        values.len(),
                        names.len()
                    ),
                ));
                continue;
            }
            let mut ev = kind.event(origin, n);
            let mut f = Fields::with_capacity(names.len() + 8);
            for (i, (name, raw)) in names.iter().zip(values).enumerate() {
                if raw == unset {
                    continue;
                }
                let ty = types.get(i).map(String::as_str).unwrap_or("string");
                let v = if raw == empty {
                    if ty.starts_with("set[") || ty.starts_with("vector[") {
                        Value::Array(Vec::new())
                    } else {
                        Value::str("")
                    }
                } else {
                    typed(raw, ty, &set_sep)
                };
                f.push(name.clone(), v);
            }
            ev.fields = f;
            enrich(&mut ev, &kind.path);
            if ev.timestamp.is_none() {
                sink.warning(line_warning(origin, n, "record without a usable ts"));
            }
            if !sink.event(ev) {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// Convert a TSV value by its Zeek type.
fn typed(raw: &str, ty: &str, set_sep: &str) -> Value {
    if let Some(inner) = ty
        .strip_prefix("set[")
        .or_else(|| ty.strip_prefix("vector["))
        .and_then(|t| t.strip_suffix(']'))
    {
        return Value::Array(
            raw.split(set_sep)
                .map(|e| typed(e, inner, set_sep))
                .collect(),
        );
    }
    match ty {
        "count" | "int" | "port" => num_or_str(raw),
        "double" | "interval" => raw
            .parse()
            .map(Value::Float)
            .unwrap_or_else(|_| Value::str(raw)),
        "bool" => match raw {
            "T" => Value::Bool(true),
            "F" => Value::Bool(false),
            _ => Value::str(raw),
        },
        // time stays text so `ts` keeps Zeek's exact decimal form.
        _ => Value::from(unescape(raw).into_owned()),
    }
}

/// Decode Zeek's `\xHH` escapes (and `\\`); invalid UTF-8 is replaced.
fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if b.get(i + 1) == Some(&b'x') {
                if let Some(h) = s
                    .get(i + 2..i + 4)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    out.push(h);
                    i += 4;
                    continue;
                }
            } else if b.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Zeek JSON logs: one object per line with `ts` and Zeek's connection keys
/// (`uid`, `id.orig_h`…). Detected by those keys, so it must be registered
/// before the generic JSON reader. The log type comes from `_path` when
/// Zeek wrote it (`LogAscii::json_include_path`… or a log shipper), else
/// from the file name.
#[derive(Debug, Default, Clone, Copy)]
pub struct ZeekJson;

impl Format for ZeekJson {
    fn name(&self) -> &'static str {
        "zeek-json"
    }

    fn detect(&self, head: &[u8], _file_name: &str) -> bool {
        if !is_texty(head) {
            return false;
        }
        let Some(first) = head_lines(head).find(|l| !l.trim().is_empty()) else {
            return false;
        };
        let first = first.trim_start();
        if !first.starts_with('{') {
            return false;
        }
        // Zeek writes `ts` first; `uid` + `id.orig_h` (or `_path`) are
        // specific enough to leave other JSON to the generic reader.
        let key = first[1..].trim_start();
        (key.starts_with("\"ts\"") || key.starts_with("\"_path\""))
            && (first.contains("\"id.orig_h\"")
                || first.contains("\"uid\"")
                || first.contains("\"_path\""))
    }

    fn read(&self, input: Input<'_>, origin: &Origin, sink: &mut dyn Sink) -> std::io::Result<()> {
        let mut lines = LineReader::new(input.open()?);
        let fallback = path_from_name(origin.member.as_deref().unwrap_or(&origin.file));
        let default_kind = Kind::new(&fallback);
        let mut kinds: Vec<Kind> = Vec::new();
        while let Some((n, line)) = lines.next_line()? {
            let line = match line {
                Line::Text(t) => t,
                Line::TooLong(len) => {
                    sink.warning(too_long_warning(origin, n, len));
                    continue;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            let obj = match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(serde_json::Value::Object(o)) => o,
                Ok(_) => {
                    sink.warning(line_warning(
                        origin,
                        n,
                        "JSON value is not an object; skipped",
                    ));
                    continue;
                }
                Err(e) => {
                    sink.warning(line_warning(
                        origin,
                        n,
                        format!("invalid JSON: {e}; skipped"),
                    ));
                    continue;
                }
            };
            let path = obj.get("_path").and_then(|p| p.as_str()).map(str::to_owned);
            let kind = match path {
                Some(p) if !p.is_empty() && p.len() < 64 => {
                    match kinds.iter().position(|k| *k.path == *p) {
                        Some(i) => &kinds[i],
                        None => {
                            if kinds.len() > 64 {
                                kinds.clear();
                            }
                            kinds.push(Kind::new(&p));
                            kinds.last().expect("just pushed")
                        }
                    }
                }
                _ => &default_kind,
            };
            let mut ev = kind.event(origin, n);
            let Value::Object(f) = Value::from_json(serde_json::Value::Object(obj)) else {
                continue;
            };
            ev.fields = f;
            let path = kind.path.clone();
            enrich(&mut ev, &path);
            if ev.timestamp.is_none() {
                sink.warning(line_warning(origin, n, "record without a usable ts"));
            }
            if !sink.event(ev) {
                return Ok(());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_escapes() {
        assert_eq!(path_from_name("/x/conn.log"), "conn");
        assert_eq!(path_from_name("dns.00:00:00-01:00:00.log"), "dns");
        assert_eq!(path_from_name("smb_files.log"), "smb_files");
        assert_eq!(unescape("\\x09"), "\t");
        assert_eq!(unescape("a\\x2cb\\\\"), "a,b\\");
        assert_eq!(unescape("\\xZZ"), "\\xZZ");
    }

    #[test]
    fn typed_values() {
        assert_eq!(typed("53", "port", ","), Value::Int(53));
        assert_eq!(typed("T", "bool", ","), Value::Bool(true));
        assert_eq!(
            typed("a,b", "set[string]", ","),
            Value::Array(vec![Value::str("a"), Value::str("b")])
        );
    }
}
