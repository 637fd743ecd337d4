//! Sysmon for Linux events, which arrive as one-line XML documents in syslog
//! (`… sysmon: <Event><System>…</System><EventData><Data Name="Image">…`).
//!
//! The XML is small, regular and written by one program, so a tolerant
//! hand-written scanner is enough: it takes `EventID`, `Computer`,
//! `Channel`, `Provider Name`, `TimeCreated SystemTime` and every
//! `<Data Name="…">` element, decoding the five XML entities and numeric
//! character references. Field names are Sysmon's (`Image`, `CommandLine`,
//! `ParentImage`, `User`, `TargetFilename`, `DestinationIp`…), which is
//! what SigmaHQ's `product: linux` category rules are written against.

use kahu_event::{Event, Fields, LogSource, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// A parsed Sysmon for Linux event.
pub(super) struct SysmonEvent {
    event_id: Option<u32>,
    computer: Option<String>,
    channel: Option<String>,
    provider: Option<String>,
    system_time: Option<String>,
    data: Vec<(String, String)>,
    /// The XML ends before `</Event>` (syslog's message size limit cut
    /// it): the fields after the cut are missing.
    pub(super) truncated: bool,
}

/// Sigma category of a Sysmon event id, as SigmaHQ maps them.
fn category(id: u32) -> Option<&'static str> {
    Some(match id {
        1 => "process_creation",
        3 => "network_connection",
        4 | 16 => "sysmon_status",
        5 => "process_termination",
        9 => "raw_access_read",
        11 => "file_event",
        23 | 26 => "file_delete",
        255 => "sysmon_error",
        _ => return None,
    })
}

impl SysmonEvent {
    /// Fill `ev` (which already has provenance and the syslog host).
    pub(super) fn apply(self, ev: &mut Event) {
        ev.event_id = self.event_id;
        ev.channel = Some(Arc::from(
            self.channel
                .as_deref()
                .unwrap_or("Linux-Sysmon/Operational"),
        ));
        ev.provider = Some(Arc::from(
            self.provider.as_deref().unwrap_or("Linux-Sysmon"),
        ));
        if let Some(c) = self.computer.as_deref().filter(|c| !c.is_empty()) {
            ev.host = Some(Arc::from(c));
        }
        let mut ls = LogSource::product("linux");
        if let Some(c) = self.event_id.and_then(category) {
            ls = ls.with_category(c);
        }
        ev.logsource = ls;
        ev.alt_logsources
            .push(LogSource::product("linux").with_service("sysmon"));
        let mut f = Fields::with_capacity(self.data.len() + 4);
        if let Some(id) = self.event_id {
            f.insert("EventID", Value::Int(i64::from(id)));
        }
        if let Some(c) = &ev.channel {
            f.insert("Channel", Value::Str(c.clone()));
        }
        if let Some(c) = &ev.host {
            f.insert("Computer", Value::Str(c.clone()));
        }
        let mut utc = None;
        for (k, v) in self.data {
            if k == "UtcTime" {
                utc = kahu_event::parse_timestamp(&v);
            }
            f.insert(&k, Value::from(v));
        }
        ev.timestamp = utc
            .or_else(|| {
                self.system_time
                    .as_deref()
                    .and_then(kahu_event::parse_timestamp)
            })
            .or(ev.timestamp);
        ev.fields = f;
    }
}

/// Parse the `<Event>` XML; `None` if it has no `System` part at all.
pub(super) fn parse(xml: &str) -> Option<SysmonEvent> {
    let system_end = xml.find("</System>")?;
    let system = &xml[..system_end];
    let data = data_elements(&xml[system_end..]);
    Some(SysmonEvent {
        event_id: element(system, "EventID").and_then(|v| v.trim().parse().ok()),
        computer: element(system, "Computer").map(|v| unescape(v).into_owned()),
        channel: element(system, "Channel").map(|v| unescape(v).into_owned()),
        provider: attribute(system, "<Provider ", "Name").map(|v| unescape(v).into_owned()),
        system_time: attribute(system, "<TimeCreated ", "SystemTime").map(str::to_owned),
        data,
        truncated: !xml.trim_end().ends_with("</Event>"),
    })
}

/// Every `<Data Name="…">…</Data>` (or empty `<Data Name="…"/>`) element of
/// an event's XML, in order, names and values decoded. Bounded by the
/// input's length: each step consumes input. Windows `EventData` XML has
/// the same form (Log Analytics keeps it as text, see `log_analytics`).
pub(crate) fn data_elements(xml: &str) -> Vec<(String, String)> {
    let mut data = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<Data Name=\"") {
        rest = &rest[i + 12..];
        let Some(q) = rest.find('"') else { break };
        let name = unescape(&rest[..q]).into_owned();
        rest = &rest[q + 1..];
        let after = rest.trim_start();
        if after.starts_with("/>") {
            data.push((name, String::new()));
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        rest = &rest[gt + 1..];
        // A value cut off with the record is not kept as if whole.
        let Some(end) = rest.find("</Data>") else {
            break;
        };
        data.push((name, unescape(&rest[..end]).into_owned()));
        rest = &rest[end..];
    }
    data
}

/// Text of `<name>…</name>` (also `<name attr="…">…</name>`).
fn element<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}");
    let mut from = 0;
    loop {
        let i = from + s[from..].find(&open)?;
        let after = &s[i + open.len()..];
        match after.as_bytes().first() {
            Some(b'>') | Some(b' ') => {
                let gt = after.find('>')?;
                if after[..gt].ends_with('/') {
                    return Some("");
                }
                let body = &after[gt + 1..];
                let end = body.find("</")?;
                return Some(&body[..end]);
            }
            _ => from = i + open.len(),
        }
    }
}

/// Value of `attr="…"` inside the first tag starting with `tag`.
fn attribute<'a>(s: &'a str, tag: &str, attr: &str) -> Option<&'a str> {
    let t = s.find(tag)?;
    let tag_text = &s[t..t + s[t..].find('>')?];
    let key = format!("{attr}=\"");
    let a = tag_text.find(&key)? + key.len();
    let v = &tag_text[a..];
    Some(&v[..v.find('"')?])
}

/// Decode XML entities and character references; unknown ones stay as written.
pub(super) fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // Search bytes, not `str`: 12 bytes in may fall inside a multi-byte
        // character, and `;` is ASCII so its index is a char boundary.
        let Some(semi) = rest.as_bytes()[..rest.len().min(12)]
            .iter()
            .position(|&b| b == b';')
        else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let ent = &rest[1..semi];
        let ch = match ent {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .or_else(|| ent.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_process_creation() {
        let x = r#"<Event><System><Provider Name="Linux-Sysmon" Guid="{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"/><EventID>1</EventID><TimeCreated SystemTime="2021-10-19T21:41:06.434727000Z"/><Channel>Linux-Sysmon/Operational</Channel><Computer>ubuntu</Computer></System><EventData><Data Name="RuleName">-</Data><Data Name="UtcTime">2021-10-19 21:41:06.439</Data><Data Name="Image">/usr/bin/curl</Data><Data Name="CommandLine">curl -d &quot;a&amp;b&quot; http://x</Data><Data Name="CurrentDirectory"/><Data Name="User">root</Data></EventData></Event>"#;
        let e = parse(x).unwrap();
        assert_eq!(e.event_id, Some(1));
        assert_eq!(e.computer.as_deref(), Some("ubuntu"));
        assert_eq!(e.provider.as_deref(), Some("Linux-Sysmon"));
        let cmd = e.data.iter().find(|(k, _)| k == "CommandLine").unwrap();
        assert_eq!(cmd.1, r#"curl -d "a&b" http://x"#);
        assert!(
            e.data
                .iter()
                .any(|(k, v)| k == "CurrentDirectory" && v.is_empty())
        );
        assert_eq!(unescape("&#x41;&#66;&bogus;&"), "AB&bogus;&");
    }

    /// Found by fuzzing (syslog target): a multi-byte character straddling
    /// the 12-byte entity window made `unescape` slice inside it and panic.
    #[test]
    fn unescape_multibyte_after_ampersand() {
        let s = "&amp\u{FFFD}\u{FFFD}\u{FFFD}; persist";
        assert_eq!(unescape(s), s);
        assert_eq!(
            unescape("&am\u{E9}\u{E9}\u{E9}\u{E9}\u{E9};x"),
            "&am\u{E9}\u{E9}\u{E9}\u{E9}\u{E9};x"
        );
        assert_eq!(unescape("&\u{1F600}&lt;"), "&\u{1F600}<");
    }
}
