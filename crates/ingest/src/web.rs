//! Web server access logs: IIS / W3C extended ([`IisW3c`]) and the Apache /
//! Nginx common and combined formats ([`AccessLog`]).
//!
//! Events carry `category: webserver` and the field names SigmaHQ
//! `webserver` rules use (`c-ip`, `cs-method`, `cs-uri-stem`,
//! `cs-uri-query`, `sc-status`, `cs-user-agent`, `cs-referer`…), so the
//! same rule runs on IIS and Apache evidence alike. Values logged as `-`
//! (W3C and Apache both write `-` for "not available") are left out: a rule
//! asking for a field then sees it as absent, as Sigma intends.

use crate::text::{
    Line, LineReader, head_lines, is_texty, line_warning, month_from_abbr, num_or_str, set_host,
    too_long_warning,
};
use crate::{Format, Input, Origin, Sink};
use chrono::{FixedOffset, NaiveDate, TimeZone, Utc};
use kahu_event::{Event, Fields, Location, LogSource, Timestamp, Value};
use std::sync::Arc;

/// The default field list of an IIS log with no `#Fields:` header (a
/// fragment cut out of a larger log, say): IIS 7-10's default selection.
const IIS_DEFAULT_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";

/// W3C names whose values are numbers, stored as integers.
const W3C_NUMERIC: &[&str] = &[
    "s-port",
    "sc-status",
    "sc-substatus",
    "sc-win32-status",
    "sc-bytes",
    "cs-bytes",
    "time-taken",
];

/// IIS and other W3C extended log files (`#Software`, `#Version`, `#Date`,
/// `#Fields` directives, space-separated values).
///
/// The `#Fields:` directive is honoured wherever it appears: IIS writes a
/// new header block whenever the service restarts or logging fields are
/// changed, and the new list applies to the lines that follow. Without any
/// header the IIS default field list is assumed (with a warning).
/// Timestamps (`date` + `time`) are UTC, as IIS always logs them.
/// `+` in `cs(User-Agent)` stands for a space and is decoded; the value is
/// stored under both the W3C name (`cs(User-Agent)`) and the Sigma name
/// (`cs-user-agent`); likewise `cs(Referer)`/`cs-referer` and
/// `cs(Cookie)`/`cs-cookie`.
///
/// Events: `category: webserver`, `product: iis` (a hint; `webserver`
/// rules name no product), channel `iis`, host from `s-computername`.
#[derive(Debug, Default, Clone, Copy)]
pub struct IisW3c;

impl Format for IisW3c {
    fn name(&self) -> &'static str {
        "iis"
    }

    fn detect(&self, head: &[u8], _file_name: &str) -> bool {
        if !is_texty(head) {
            return false;
        }
        for line in head_lines(head).take(64) {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            if let Some(f) = line.strip_prefix("#Fields:") {
                // Exchange and others write comma-separated W3C-like logs;
                // only the space-separated web server flavour is ours.
                return !f.contains(',')
                    && f.split_ascii_whitespace()
                        .any(|n| matches!(n, "cs-method" | "cs-uri-stem" | "c-ip" | "sc-status"));
            }
            if line.starts_with("#Software: Microsoft Internet Information Services") {
                return true;
            }
            if line.starts_with('#') {
                continue;
            }
            // Headerless IIS: date time then the default 15 fields.
            let n = line.split(' ').count();
            if !(n == 15 && is_w3c_date(line.get(..10).unwrap_or(""))) {
                return false;
            }
            return line.get(10..11) == Some(" ") && line.get(13..14) == Some(":");
        }
        false
    }

    fn read(&self, input: Input<'_>, origin: &Origin, sink: &mut dyn Sink) -> std::io::Result<()> {
        let mut lines = LineReader::new(input.open()?);
        let mut fields: Vec<Arc<str>> = Vec::new();
        let mut sigma_alias: Vec<Option<Arc<str>>> = Vec::new();
        let mut warned_default = false;
        let mut software: Option<Arc<str>> = None;
        let logsource = LogSource {
            product: Some(Arc::from("iis")),
            service: None,
            category: Some(Arc::from("webserver")),
        };
        let channel: Arc<str> = Arc::from("iis");
        while let Some((n, line)) = lines.next_line()? {
            let line = match line {
                Line::Text(t) => t,
                Line::TooLong(len) => {
                    sink.warning(too_long_warning(origin, n, len));
                    continue;
                }
            };
            let line = line.trim_end_matches([' ', '\t', '\r']);
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix('#') {
                if let Some(list) = rest.strip_prefix("Fields:") {
                    fields = list.split_ascii_whitespace().map(Arc::from).collect();
                    sigma_alias = fields.iter().map(|f| w3c_alias(f).map(Arc::from)).collect();
                    if fields.is_empty() {
                        sink.warning(line_warning(origin, n, "empty #Fields: directive"));
                    }
                } else if let Some(sw) = rest.strip_prefix("Software:") {
                    software = Some(Arc::from(sw.trim()));
                }
                // #Version, #Date, #Start-Date, #Remark and comments carry
                // nothing an event needs.
                continue;
            }
            if fields.is_empty() {
                if !warned_default {
                    sink.warning(line_warning(
                        origin,
                        n,
                        "no #Fields: directive before the first record; assuming the IIS default field list",
                    ));
                    warned_default = true;
                }
                fields = IIS_DEFAULT_FIELDS.split(' ').map(Arc::from).collect();
                sigma_alias = fields.iter().map(|f| w3c_alias(f).map(Arc::from)).collect();
            }
            let values: Vec<&str> = line.split(' ').collect();
            let mut ev = Event::new(origin.provenance(Location::Line(n)));
            ev.logsource = logsource.clone();
            ev.channel = Some(channel.clone());
            if values.len() != fields.len() {
                sink.warning(line_warning(
                    origin,
                    n,
                    format!(
                        "{} values for {} #Fields names; kept as raw message only",
                        values.len(),
                        fields.len()
                    ),
                ));
                ev.fields.insert("message", Value::str(line));
                set_host(&mut ev, None, origin);
                if !sink.event(ev) {
                    return Ok(());
                }
                continue;
            }
            let mut f = Fields::with_capacity(fields.len() + 4);
            let (mut date, mut time, mut host, mut server_ip) = (None, None, None, None);
            for ((name, alias), raw) in fields.iter().zip(&sigma_alias).zip(&values) {
                if *raw == "-" || raw.is_empty() {
                    continue;
                }
                let value = match &**name {
                    "date" => {
                        date = Some(*raw);
                        Value::str(raw)
                    }
                    "time" => {
                        time = Some(*raw);
                        Value::str(raw)
                    }
                    "s-computername" => {
                        host = Some(*raw);
                        Value::str(raw)
                    }
                    "s-ip" => {
                        server_ip = Some(*raw);
                        Value::str(raw)
                    }
                    "cs(User-Agent)" | "cs-user-agent" => Value::from(raw.replace('+', " ")),
                    n if W3C_NUMERIC.contains(&n) => num_or_str(raw),
                    _ => Value::str(raw),
                };
                if let Some(a) = alias {
                    f.push(a.clone(), value.clone());
                }
                f.push(name.clone(), value);
            }
            if let Some(sw) = &software {
                f.push(Arc::from("s-software"), Value::Str(sw.clone()));
            }
            // IIS behind a proxy logs the client in a custom field.
            // (Compared in place: a lower-cased copy of every field name of
            // every line was an allocation per field on the read path.)
            let client = fields.iter().zip(&values).find_map(|(name, raw)| {
                (name.eq_ignore_ascii_case("x-forwarded-for")
                    || name.eq_ignore_ascii_case("cs(x-forwarded-for)"))
                .then(|| forwarded_client(&raw.replace('+', " ")))
                .flatten()
            });
            if let Some(c) = client {
                f.push(Arc::from("forwarded-client"), Value::from(c));
            }
            ev.fields = f;
            ev.timestamp = match (date, time) {
                (Some(d), Some(t)) => kahu_event::parse_timestamp(&format!("{d} {t}")),
                _ => None,
            };
            // IIS logs s-computername only when configured to; the default
            // field set has s-ip. Without a name or a collection-layout hint,
            // the server's address ties the web findings to the server
            // (host identity later joins it to the name, where evidence
            // links the two) instead of to no host at all.
            if host.is_none() && origin.host_hint.is_none() {
                host = server_ip;
            }
            set_host(&mut ev, host, origin);
            if !sink.event(ev) {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// The Sigma `webserver` name for a W3C field whose W3C name differs.
fn w3c_alias(name: &str) -> Option<&'static str> {
    Some(match name {
        "cs(User-Agent)" => "cs-user-agent",
        "cs(Referer)" => "cs-referer",
        "cs(Cookie)" => "cs-cookie",
        "cs(Host)" => "cs-host",
        _ => return None,
    })
}

fn is_w3c_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Apache httpd and Nginx access logs in the common (`%h %l %u %t "%r" %>s
/// %b`) and combined (`… "%{Referer}i" "%{User-agent}i"`) formats, with or
/// without a leading virtual host (`%v` or `%v:%p`, Apache's
/// `vhost_combined`); Nginx's extra trailing quoted fields are kept as
/// `extra`, except a list of addresses (`$http_x_forwarded_for` behind a
/// reverse proxy, load balancer or WAF), read as `x-forwarded-for` with
/// its left-most address, the client the first proxy saw, as
/// `forwarded-client`: there `c-ip` is the proxy, and block-listing it
/// cuts off every visitor.
///
/// The request line is split into `cs-method`, `cs-uri-stem`,
/// `cs-uri-query` (without the `?`) and `cs-version`; the whole request is
/// also kept as `request` (`cs-uri` holds stem and query together). Requests
/// that are not HTTP (TLS handshakes sent to a plain-text port, scanners'
/// junk) keep only `request`. Unescaped quotes inside the request, which
/// Apache writes verbatim for some malformed requests, are handled by
/// finding the closing quote that is followed by a status code.
/// `[10/Oct/2000:13:55:36 -0700]` is converted to UTC; `date`/`time` hold
/// the UTC date and time as IIS would write them.
///
/// Events: `category: webserver`, channel `apache` (Nginx writes the same
/// format and cannot be told apart), host from the collection layout.
#[derive(Debug, Default, Clone, Copy)]
pub struct AccessLog;

impl Format for AccessLog {
    fn name(&self) -> &'static str {
        "apache-access"
    }

    fn detect(&self, head: &[u8], _file_name: &str) -> bool {
        if !is_texty(head) {
            return false;
        }
        let lines: Vec<_> = head_lines(head).collect();
        // The last line of the sniff buffer may be cut short.
        let complete = if head.ends_with(b"\n") {
            lines.len()
        } else {
            lines.len().saturating_sub(1)
        };
        let (mut good, mut total) = (0, 0);
        for l in lines
            .iter()
            .take(complete)
            .filter(|l| !l.trim().is_empty())
            .take(20)
        {
            total += 1;
            if parse_access(l).is_some() {
                good += 1;
            }
        }
        good > 0 && good * 2 > total
    }

    fn read(&self, input: Input<'_>, origin: &Origin, sink: &mut dyn Sink) -> std::io::Result<()> {
        let mut lines = LineReader::new(input.open()?);
        let logsource = LogSource::default().with_category("webserver");
        let channel: Arc<str> = Arc::from("apache");
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
            let mut ev = Event::new(origin.provenance(Location::Line(n)));
            ev.logsource = logsource.clone();
            ev.channel = Some(channel.clone());
            set_host(&mut ev, None, origin);
            match parse_access(&line) {
                Some(rec) => {
                    ev.timestamp = rec.time;
                    ev.fields = rec.into_fields();
                }
                None => {
                    sink.warning(line_warning(
                        origin,
                        n,
                        "not an access log record; kept as raw message only",
                    ));
                    ev.fields.insert("message", Value::str(&line));
                }
            }
            if !sink.event(ev) {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// One parsed access-log line, borrowing from it.
#[derive(Debug)]
struct AccessRecord<'a> {
    vhost: Option<&'a str>,
    client: &'a str,
    ident: &'a str,
    user: &'a str,
    time: Option<Timestamp>,
    request: &'a str,
    status: &'a str,
    bytes: &'a str,
    quoted: Vec<String>,
}

impl AccessRecord<'_> {
    fn into_fields(self) -> Fields {
        let mut f = Fields::with_capacity(20);
        let mut put = |k: &str, v: Value| f.push(Arc::from(k), v);
        if let Some(t) = self.time {
            put("date", Value::from(t.format("%Y-%m-%d").to_string()));
            put("time", Value::from(t.format("%H:%M:%S").to_string()));
        }
        put("c-ip", Value::str(self.client));
        if self.ident != "-" {
            put("ident", Value::str(self.ident));
        }
        if self.user != "-" && !self.user.is_empty() {
            put("cs-username", Value::str(self.user));
        }
        if let Some(v) = self.vhost {
            match v.rsplit_once(':') {
                Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    put("cs-host", Value::str(h));
                    put("s-port", num_or_str(p));
                }
                _ => put("cs-host", Value::str(v)),
            }
        }
        put("request", Value::str(self.request));
        if let Some((method, target, version)) = split_request(self.request) {
            put("cs-method", Value::str(method));
            put("cs-uri", Value::str(target));
            let (stem, query) = match target.split_once('?') {
                Some((s, q)) => (s, Some(q)),
                None => (target, None),
            };
            put("cs-uri-stem", Value::str(stem));
            if let Some(q) = query.filter(|q| !q.is_empty()) {
                put("cs-uri-query", Value::str(q));
            }
            if let Some(v) = version {
                put("cs-version", Value::str(v));
            }
        }
        put("sc-status", num_or_str(self.status));
        if self.bytes != "-" {
            put("sc-bytes", num_or_str(self.bytes));
        }
        let mut quoted = self.quoted.into_iter();
        if let Some(r) = quoted.next().filter(|r| r != "-" && !r.is_empty()) {
            put("cs-referer", Value::from(r));
        }
        if let Some(ua) = quoted.next().filter(|r| r != "-" && !r.is_empty()) {
            put("cs-user-agent", Value::from(ua));
        }
        let mut extra: Vec<Value> = Vec::new();
        let mut forwarded = false;
        for q in quoted.filter(|r| r != "-") {
            match forwarded_client(&q) {
                Some(client) if !forwarded => {
                    forwarded = true;
                    put("forwarded-client", Value::from(client));
                    put("x-forwarded-for", Value::from(q));
                }
                _ => extra.push(Value::from(q)),
            }
        }
        if !extra.is_empty() {
            put("extra", Value::Array(extra));
        }
        f
    }
}

/// The left-most address of an `X-Forwarded-For` value (`client, proxy1,
/// proxy2`), when every entry is an address (or `unknown`, which proxies
/// write for a hidden hop) and at least one is.
pub fn forwarded_client(v: &str) -> Option<String> {
    let mut first = None;
    for part in v.split(',') {
        let p = part.trim();
        if p.eq_ignore_ascii_case("unknown") {
            continue;
        }
        // `[2001:db8::1]:443` and `192.0.2.1:443` carry a port.
        let host = p
            .strip_prefix('[')
            .and_then(|r| r.split_once(']').map(|(h, _)| h))
            .unwrap_or_else(|| match p.rsplit_once(':') {
                Some((h, port)) if h.contains('.') && port.bytes().all(|b| b.is_ascii_digit()) => h,
                _ => p,
            });
        let ip: std::net::IpAddr = host.parse().ok()?;
        first.get_or_insert(ip.to_string());
    }
    first
}

/// `METHOD TARGET [HTTP/x.y]`, if the request line looks like HTTP.
fn split_request(req: &str) -> Option<(&str, &str, Option<&str>)> {
    let (method, rest) = req.split_once(' ')?;
    if method.is_empty()
        || method.len() > 32
        || !method
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
    {
        return None;
    }
    // Targets can contain spaces in hostile requests: the version, if any,
    // is the last word.
    match rest.rsplit_once(' ') {
        Some((target, v)) if v.starts_with("HTTP/") => Some((method, target, Some(v))),
        _ => Some((method, rest, None)),
    }
}

/// Parse one access-log line; `None` if it is not one.
fn parse_access(line: &str) -> Option<AccessRecord<'_>> {
    let open = line.find(" [")?;
    let prefix = &line[..open];
    let mut toks = prefix.split(' ').filter(|t| !t.is_empty());
    let parts: Vec<&str> = toks.by_ref().take(5).collect();
    let (vhost, client, ident, user) = match parts.as_slice() {
        [h, l, u] => (None, *h, *l, *u),
        [v, h, l, u] => (Some(*v), *h, *l, *u),
        _ => return None,
    };
    let after = &line[open + 2..];
    let close = after.find(']')?;
    let time = parse_clf_time(&after[..close]);
    time?;
    let rest = after[close + 1..].strip_prefix(' ')?;
    let rest = rest.strip_prefix('"')?;
    // The request ends at the first quote followed by ` <status> <bytes>`.
    let mut search = 0;
    let (request, tail) = loop {
        let q = search + rest[search..].find('"')?;
        let after_q = &rest[q + 1..];
        if let Some(t) = status_tail(after_q) {
            break (&rest[..q], t);
        }
        search = q + 1;
    };
    let (status, bytes, mut tail) = tail;
    let mut quoted = Vec::new();
    loop {
        tail = tail.trim_start();
        if tail.is_empty() || quoted.len() >= 8 {
            break;
        }
        match take_quoted(tail) {
            Some((v, t)) => {
                quoted.push(v);
                tail = t;
            }
            None => break,
        }
    }
    Some(AccessRecord {
        vhost,
        client,
        ident,
        user,
        time,
        request,
        status,
        bytes,
        quoted,
    })
}

/// After the closing quote of the request: ` 200 1234` then end or space.
fn status_tail(s: &str) -> Option<(&str, &str, &str)> {
    let s = s.strip_prefix(' ')?;
    let status = s.get(..3)?;
    if !status.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let s = s[3..].strip_prefix(' ')?;
    let end = s.find(' ').unwrap_or(s.len());
    let bytes = &s[..end];
    if !(bytes == "-" || (!bytes.is_empty() && bytes.bytes().all(|b| b.is_ascii_digit()))) {
        return None;
    }
    Some((status, bytes, &s[end..]))
}

/// A `"…"` string with `\"` and `\\` escapes, and what follows it.
fn take_quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('"' | '\\'))) => out.push(e),
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            },
            '"' => return Some((out, &body[i + 1..])),
            c => out.push(c),
        }
    }
    // Unterminated: keep what there is (truncated final line).
    Some((out, ""))
}

/// `10/Oct/2000:13:55:36 -0700` → UTC.
fn parse_clf_time(s: &str) -> Option<Timestamp> {
    let (dt, zone) = s.split_once(' ').unwrap_or((s, "+0000"));
    let mut it = dt.splitn(3, '/');
    let day: u32 = it.next()?.parse().ok()?;
    let month = month_from_abbr(it.next()?)?;
    let rest = it.next()?;
    let mut it = rest.split(':');
    let year: i32 = it.next()?.parse().ok()?;
    let h: u32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let sec = it.next()?;
    let (sec, nanos) = match sec.split_once('.') {
        Some((s, f)) => {
            let digits = f.get(..f.len().min(9))?;
            let n: u32 = digits.parse().ok()?;
            (s, n * 10u32.pow(9 - digits.len() as u32))
        }
        None => (sec, 0),
    };
    let sec: u32 = sec.parse().ok()?;
    let naive = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_nano_opt(h, m, sec, nanos)?;
    let zb = zone.as_bytes();
    if zb.len() != 5 || !(zb[0] == b'+' || zb[0] == b'-') {
        return None;
    }
    let zh: i32 = zone.get(1..3)?.parse().ok()?;
    let zm: i32 = zone.get(3..5)?.parse().ok()?;
    let off = (zh * 3600 + zm * 60) * if zb[0] == b'-' { -1 } else { 1 };
    let tz = FixedOffset::east_opt(off)?;
    Some(tz.from_local_datetime(&naive).single()?.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_time_to_utc() {
        let t = parse_clf_time("10/Oct/2000:13:55:36 -0700").unwrap();
        assert_eq!(t.to_rfc3339(), "2000-10-10T20:55:36+00:00");
        assert!(parse_clf_time("10/Foo/2000:13:55:36 -0700").is_none());
        assert!(parse_clf_time("99/Oct/2000:13:55:36 -0700").is_none());
    }

    #[test]
    fn combined_with_escaped_quotes() {
        let l = r#"10.0.0.1 - bob [10/Oct/2000:13:55:36 -0700] "GET /a.php?x=1 HTTP/1.1" 200 2326 "http://r/" "Mozilla \"quoted\" agent""#;
        let r = parse_access(l).unwrap();
        assert_eq!(r.user, "bob");
        assert_eq!(r.request, "GET /a.php?x=1 HTTP/1.1");
        assert_eq!(
            r.quoted,
            vec![
                "http://r/".to_string(),
                "Mozilla \"quoted\" agent".to_string()
            ]
        );
        let f = r.into_fields();
        assert_eq!(f.get("cs-uri-stem"), Some(&Value::str("/a.php")));
        assert_eq!(f.get("cs-uri-query"), Some(&Value::str("x=1")));
        assert_eq!(f.get("sc-status"), Some(&Value::Int(200)));
    }

    #[test]
    fn x_forwarded_for_names_the_client_behind_a_proxy() {
        let l = r#"45.60.12.34 - - [28/Nov/2026:14:41:09 +0000] "GET / HTTP/1.1" 200 88 "-" "curl/8" "198.51.100.77, 45.60.12.1" "tls1.3""#;
        let f = parse_access(l).unwrap().into_fields();
        assert_eq!(f.get("c-ip"), Some(&Value::str("45.60.12.34")));
        assert_eq!(
            f.get("forwarded-client"),
            Some(&Value::str("198.51.100.77"))
        );
        assert_eq!(
            f.get("x-forwarded-for"),
            Some(&Value::str("198.51.100.77, 45.60.12.1"))
        );
        // What is not an address list stays `extra`.
        assert_eq!(
            f.get("extra"),
            Some(&Value::Array(vec![Value::str("tls1.3")]))
        );
        for (v, want) in [
            ("unknown, 203.0.113.5", Some("203.0.113.5")),
            ("[2001:db8::1]:443, 10.0.0.5", Some("2001:db8::1")),
            ("192.0.2.1:8443", Some("192.0.2.1")),
            ("2001:db8::2", Some("2001:db8::2")),
            ("unknown", None),
            ("example.org, 10.0.0.5", None),
            ("", None),
        ] {
            assert_eq!(forwarded_client(v).as_deref(), want, "{v}");
        }
    }

    #[test]
    fn unescaped_quote_in_request() {
        let l = r#"1.2.3.4 - - [11/Jul/2018:09:32:27 +0300] "GET /x.dll?p="><script>foo</script> HTTP/1.1" 404 997"#;
        let r = parse_access(l).unwrap();
        assert_eq!(r.request, r#"GET /x.dll?p="><script>foo</script> HTTP/1.1"#);
        assert_eq!(r.status, "404");
    }

    #[test]
    fn vhost_prefix() {
        let l = r#"www.example.com:443 1.2.3.4 - - [11/Jul/2018:09:32:27 +0300] "GET / HTTP/1.1" 200 -"#;
        let f = parse_access(l).unwrap().into_fields();
        assert_eq!(f.get("cs-host"), Some(&Value::str("www.example.com")));
        assert_eq!(f.get("s-port"), Some(&Value::Int(443)));
        assert_eq!(f.get("sc-bytes"), None);
    }
}
