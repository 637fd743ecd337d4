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

    fn event(&self, origin: &Origin, at: Location) -> Event {
        let mut ev = Event::new(origin.provenance(at));
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
    // Shippers that cannot store dots in names write `id_orig_h`; rules
    // use Zeek's `id.orig_h`.
    for (flat, dotted) in [
        ("id_orig_h", "id.orig_h"),
        ("id_orig_p", "id.orig_p"),
        ("id_resp_h", "id.resp_h"),
        ("id_resp_p", "id.resp_p"),
    ] {
        copy(f, flat, dotted);
    }
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
            let mut ev = kind.event(origin, Location::Line(n));
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

/// Keys naming the log type of a Zeek JSON record: Zeek's own `_path`,
/// then the stream keys log shippers write (`@path`, `@stream`, as in the
/// APT29 evaluation's Zeek logs).
const PATH_KEYS: &[&str] = &["_path", "@path", "@stream"];

/// The log type a record names, normalised: `conn`, `zeek_conn.log` and
/// `bro-conn` all read as `conn`. `None` when no key names one usably.
fn record_path(f: &Fields) -> Option<String> {
    let raw = PATH_KEYS
        .iter()
        .find_map(|k| f.get_exact(k).and_then(Value::as_text))?;
    let lower = raw.trim().to_ascii_lowercase();
    let stem = lower.split('.').next().unwrap_or("");
    let stem = ["zeek_", "zeek-", "bro_", "bro-"]
        .iter()
        .find_map(|p| stem.strip_prefix(p))
        .unwrap_or(stem);
    let ok = !stem.is_empty()
        && stem.len() < 64
        && stem
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    ok.then(|| stem.to_owned())
}

/// Whether a JSON object is a Zeek record under a shipper's envelope: a
/// log-type key, `ts` and Zeek's connection keys. Lets the generic JSON
/// reader hand such records to [`Kinds::event`] when a file mixes them
/// with other records.
pub(crate) fn is_zeek_object(f: &Fields) -> bool {
    PATH_KEYS.iter().any(|k| f.get_exact(k).is_some())
        && f.get_exact("ts").is_some()
        && ["uid", "id.orig_h", "id_orig_h", "id"]
            .iter()
            .any(|k| f.get_exact(k).is_some())
}

/// The log types seen in one file, built once each.
pub(crate) struct Kinds {
    fallback: Kind,
    seen: Vec<Kind>,
}

impl Kinds {
    /// Log types for a file, with the file name's type as the fallback.
    pub(crate) fn new(origin: &Origin) -> Self {
        let fallback = path_from_name(origin.member.as_deref().unwrap_or(&origin.file));
        Kinds {
            fallback: Kind::new(&fallback),
            seen: Vec::new(),
        }
    }

    /// The event for one parsed record, its log type from the record's
    /// path keys or else the file name.
    pub(crate) fn event(&mut self, f: Fields, origin: &Origin, at: Location) -> Event {
        let kind = match record_path(&f) {
            Some(p) => match self.seen.iter().position(|k| *k.path == *p) {
                Some(i) => &self.seen[i],
                None => {
                    if self.seen.len() > 64 {
                        self.seen.clear();
                    }
                    self.seen.push(Kind::new(&p));
                    &self.seen[self.seen.len() - 1]
                }
            },
            None => &self.fallback,
        };
        let mut ev = kind.event(origin, at);
        ev.fields = f;
        let path = kind.path.clone();
        enrich(&mut ev, &path);
        ev
    }
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
        // specific enough to leave other JSON to the generic reader. Log
        // shippers put their stream key (`@stream`, `@path`) first.
        let key = first[1..].trim_start();
        let zeek_keys = first.contains("\"id.orig_h\"")
            || first.contains("\"id_orig_h\"")
            || first.contains("\"uid\"");
        ((key.starts_with("\"ts\"") || key.starts_with("\"_path\""))
            && (zeek_keys || first.contains("\"_path\"")))
            || (PATH_KEYS[1..]
                .iter()
                .any(|k| first.contains(&format!("\"{k}\"")))
                && first.contains("\"ts\"")
                && zeek_keys)
    }

    fn read(&self, input: Input<'_>, origin: &Origin, sink: &mut dyn Sink) -> std::io::Result<()> {
        let mut lines = LineReader::new(input.open()?);
        let mut kinds = Kinds::new(origin);
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
            let Value::Object(f) = Value::from_json(serde_json::Value::Object(obj)) else {
                continue;
            };
            let ev = kinds.event(f, origin, Location::Line(n));
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

    fn origin(file: &str) -> Origin {
        Origin {
            file: Arc::from(file),
            member: None,
            host_hint: None,
            modified: None,
        }
    }

    #[derive(Default)]
    struct Collect(Vec<Event>, Vec<crate::Warning>);
    impl Sink for Collect {
        fn event(&mut self, e: Event) -> bool {
            self.0.push(e);
            true
        }
        fn warning(&mut self, w: crate::Warning) {
            self.1.push(w);
        }
    }

    /// The shape of the APT29 evaluation's Zeek logs: one file of many log
    /// types, each record naming its type under `@stream` (or `@path`),
    /// the shipper's keys first.
    #[test]
    fn stream_keyed_json_reads_as_native_zeek() {
        let text = concat!(
            r#"{"@stream":"conn","@system":"sensor1","@proc":"zeek","ts":"2020-05-02T03:00:01.250Z","uid":"C1","id.orig_h":"10.0.1.4","id.orig_p":49700,"id.resp_h":"192.0.2.8","id.resp_p":443,"proto":"tcp"}"#,
            "
",
            r#"{"@stream":"dns","ts":"2020-05-02T03:00:02Z","uid":"C2","id_orig_h":"10.0.1.4","id_orig_p":5353,"id_resp_h":"10.0.1.1","id_resp_p":53,"query":"evil.example","qtype_name":"A"}"#,
            "
",
            r#"{"@path":"zeek_http.log","ts":1588388403.5,"uid":"C3","id.orig_h":"10.0.1.4","id.orig_p":49701,"id.resp_h":"192.0.2.8","id.resp_p":80,"uri":"/a/b.ps1?x=1","method":"GET","host":"evil.example"}"#,
            "
",
            r#"{"@stream":"smb_files","ts":"2020-05-02T03:00:04Z","uid":"C4","id.orig_h":"10.0.1.4","id.orig_p":49702,"id.resp_h":"10.0.1.5","id.resp_p":445,"name":"x.exe"}"#,
            "
"
        );
        let z = ZeekJson;
        assert!(z.detect(text.as_bytes(), "zeek.json"));
        let mut c = Collect::default();
        z.read(Input::Memory(text.as_bytes()), &origin("zeek.json"), &mut c)
            .unwrap();
        assert!(c.1.is_empty(), "{:?}", c.1);
        let services: Vec<_> = c.0.iter().map(|e| e.logsource.service.as_deref()).collect();
        assert_eq!(
            services,
            [Some("conn"), Some("dns"), Some("http"), Some("smb_files")]
        );
        assert!(
            c.0.iter()
                .all(|e| e.logsource.product.as_deref() == Some("zeek"))
        );
        assert!(c.0.iter().all(|e| e.timestamp.is_some()));
        assert_eq!(c.0[1].get_str("id.orig_h").as_deref(), Some("10.0.1.4"));
        assert_eq!(c.0[1].get_str("dst_port").as_deref(), Some("53"));
        assert_eq!(c.0[1].get_str("record_type").as_deref(), Some("A"));
        assert_eq!(c.0[2].get_str("c-uri-extension").as_deref(), Some("ps1"));
        assert_eq!(c.0[2].alt_logsources[0].category.as_deref(), Some("proxy"));
    }

    /// The generic JSON reader hands Zeek records it meets (a file whose
    /// first record is something else) to the same normaliser.
    #[test]
    fn generic_json_reader_recognises_stream_keyed_zeek_records() {
        let text = concat!(
            r#"{"note":"export header","ts":"2020-05-02T03:00:00Z"}"#,
            "
",
            r#"{"@stream":"kerberos","ts":"2020-05-02T03:00:05Z","uid":"C5","id.orig_h":"10.0.1.4","id.orig_p":49703,"id.resp_h":"10.0.1.2","id.resp_p":88,"request_type":"TGS"}"#,
            "
"
        );
        assert!(!ZeekJson.detect(text.as_bytes(), "x.json"));
        let mut c = Collect::default();
        crate::json::Json
            .read(Input::Memory(text.as_bytes()), &origin("x.json"), &mut c)
            .unwrap();
        assert_eq!(c.0.len(), 2);
        assert_eq!(c.0[1].logsource.service.as_deref(), Some("kerberos"));
        assert_eq!(c.0[1].channel.as_deref(), Some("kerberos"));
        assert_eq!(c.0[1].get_str("dst_port").as_deref(), Some("88"));
    }
}
