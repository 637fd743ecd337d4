//! The one normaliser for Windows events rendered as JSON
//! (`{"Event": {"System": …, "EventData": …}}`).
//!
//! The EVTX reader renders every record to this JSON shape with the `evtx`
//! crate and the JSON reader parses exports of the same shape, and both call
//! [`normalise`]: an event read from a `.evtx` and from its JSON rendering
//! are therefore identical, field for field.
//!
//! Field names follow Sigma and Hayabusa: `EventData` names at the top level
//! (`Image`, `CommandLine`), `System` values under `EventID`, `Channel`,
//! `Computer`, `Provider_Name`, `EventRecordID`, `Level`, `Task`, `Opcode`,
//! `Keywords`, `Version`, `ProcessID`, `ThreadID`, `SecurityUserID`…

use chrono::Timelike;
use kahu_event::{Event, Fields, Provenance, Value, parse_timestamp};
use std::sync::Arc;

/// Whether a parsed JSON object is a Windows event in the EVTX JSON shape.
pub(crate) fn is_evtx_json(root: &Fields) -> bool {
    matches!(root.get_exact("Event"), Some(Value::Object(e)) if e.get_exact("System").is_some())
}

/// Turn an EVTX-JSON root object into an [`Event`]; `None` if it has no
/// `Event.System`.
pub(crate) fn normalise(root: Value, provenance: Provenance) -> Option<Event> {
    let Value::Object(root) = root else {
        return None;
    };
    let Some(Value::Object(event)) = take(root, "Event") else {
        return None;
    };
    let mut system = None;
    let mut sections = Vec::new();
    for (k, v) in event.into_entries() {
        match &*k {
            "System" => system = Some(v),
            "#attributes" => {}
            _ => sections.push((k, v)),
        }
    }
    let Some(Value::Object(system)) = system else {
        return None;
    };

    let mut ev = Event::new(provenance);
    let mut fields = Fields::with_capacity(32);
    system_fields(system, &mut ev, &mut fields);
    let n_system = fields.len();
    for (name, section) in sections {
        match &*name {
            "EventData" | "ProcessingErrorData" | "DebugData" => {
                flatten_data(section, &mut fields, n_system)
            }
            // UserData holds one provider-defined element whose children are
            // the fields (`LogFileCleared/SubjectUserName`).
            "UserData" => {
                if let Value::Object(ud) = section {
                    for (_, inner) in ud.into_entries() {
                        flatten_data(inner, &mut fields, n_system);
                    }
                }
            }
            "RenderingInfo" => {
                if let Value::Object(ri) = section
                    && let Some(m) = ri.get_exact("Message")
                {
                    fields.push(Arc::from("Message"), unwrap_text(m.clone()));
                }
            }
            _ => fields.push(name, section),
        }
    }
    ev.fields = fields;
    Some(ev)
}

/// Hoist the `System` element into typed members and Sigma-named fields.
fn system_fields(system: Fields, ev: &mut Event, out: &mut Fields) {
    for (k, v) in system.into_entries() {
        match &*k {
            "Provider" => {
                for (ak, av) in attributes(v) {
                    let name = match &*ak {
                        "Name" => {
                            ev.provider = av.as_text().map(|s| Arc::from(&*s));
                            "Provider_Name"
                        }
                        "Guid" => "Provider_Guid",
                        "EventSourceName" => "EventSourceName",
                        _ => continue,
                    };
                    out.push(Arc::from(name), canonical_guid(av));
                }
            }
            "EventID" => {
                let (id, qualifiers) = split_text(v);
                ev.event_id = id.as_i64().and_then(|i| u32::try_from(i).ok());
                out.push(k, id);
                if let Some(q) = qualifiers {
                    out.push(Arc::from("Qualifiers"), q);
                }
            }
            "TimeCreated" => {
                for (ak, av) in attributes(v) {
                    if &*ak == "SystemTime" {
                        // EVTX keeps 100 ns ticks, most JSON exports keep
                        // microseconds: truncate so both renderings agree.
                        let t = av
                            .as_text()
                            .and_then(|s| parse_timestamp(&s))
                            .and_then(|t| {
                                let nanos = t.timestamp_subsec_nanos();
                                t.with_nanosecond(nanos - nanos % 1000)
                            });
                        ev.timestamp = t;
                        let text = match t {
                            Some(t) => Value::Str(Arc::from(
                                t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                            )),
                            None => av,
                        };
                        out.push(Arc::from("SystemTime"), text);
                    }
                }
            }
            "Correlation" | "Execution" => {
                for (ak, av) in attributes(v) {
                    out.push(ak, canonical_guid(av));
                }
            }
            "Security" => {
                for (ak, av) in attributes(v) {
                    if &*ak == "UserID" {
                        out.push(Arc::from("SecurityUserID"), av);
                    }
                }
            }
            "Channel" => {
                ev.channel = v.as_text().map(|s| Arc::from(&*s));
                out.push(k, v);
            }
            "Computer" => {
                ev.host = v.as_text().map(|s| Arc::from(&*s));
                out.push(k, v);
            }
            _ => out.push(k, unwrap_text(v)),
        }
    }
}

/// Flatten an `EventData`-like element: named values at the top level,
/// unnamed `<Data>` values as the list `Data`.
fn flatten_data(section: Value, out: &mut Fields, n_system: usize) {
    let Value::Object(data) = section else {
        // `"EventData": null` (no data) or a bare string.
        if !section.is_null() {
            push_data(out, section);
        }
        return;
    };
    for (k, v) in data.into_entries() {
        match &*k {
            "#attributes" => {}
            "Data" => push_data(out, v),
            _ => {
                let v = trim_end(unwrap_text(v));
                // An EventData name equal to a System one (rare) wins: rules
                // written for the event's data mean the data.
                if out.iter().take(n_system).any(|(name, _)| name == &*k) {
                    out.insert(&k, v);
                } else {
                    out.push(k, v);
                }
            }
        }
    }
}

/// Trailing spaces dropped from text data. Windows appends a space to
/// many command lines (`"cmd.exe" `); SigmaHQ's reference JSON renderings
/// and rules (`endswith: 'cmd.exe"'`) are written without it, so both
/// renderings are normalised to the trimmed form.
fn trim_end(v: Value) -> Value {
    match &v {
        Value::Str(s) if s.ends_with(' ') => Value::Str(Arc::from(s.trim_end_matches(' '))),
        _ => v,
    }
}

/// Append unnamed data to the `Data` list.
fn push_data(out: &mut Fields, v: Value) {
    let items = match unwrap_text(v) {
        Value::Array(a) => a.into_iter().map(unwrap_text).collect(),
        other => vec![other],
    };
    match out.get_mut_exact("Data") {
        Some(Value::Array(existing)) => existing.extend(items),
        _ => out.push(Arc::from("Data"), Value::Array(items)),
    }
}

/// `{"#text": x, "#attributes": …}` → `x`; anything else unchanged except
/// GUIDs, see [`canonical_guid`].
fn unwrap_text(v: Value) -> Value {
    canonical_guid(split_text(v).0)
}

/// GUIDs in the form Event Viewer shows them, `{54849625-…-3E3B0328C30D}`:
/// `evtx` renders GUID-typed values as `{lowercase}`, other exporters as
/// bare uppercase, and a rule or an analyst must not see the difference.
/// Only values that are exactly one GUID are touched.
pub(crate) fn canonical_guid(v: Value) -> Value {
    let Value::Str(s) = &v else { return v };
    let inner = match s.len() {
        36 => &s[..],
        38 if s.starts_with('{') && s.ends_with('}') => &s[1..37],
        _ => return v,
    };
    let b = inner.as_bytes();
    let shape_ok = b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    if !shape_ok || (s.len() == 38 && !b.iter().any(u8::is_ascii_lowercase)) {
        return v;
    }
    let mut out = String::with_capacity(38);
    out.push('{');
    out.push_str(&inner.to_ascii_uppercase());
    out.push('}');
    Value::Str(Arc::from(out))
}

/// `{"#text": x, "#attributes": a}` → `(x, Some(first attribute value))`.
fn split_text(v: Value) -> (Value, Option<Value>) {
    match v {
        Value::Object(o)
            if o.get_exact("#text").is_some() || o.get_exact("#attributes").is_some() =>
        {
            let mut text = Value::Null;
            let mut attr = None;
            for (k, v) in o.into_entries() {
                match &*k {
                    "#text" => text = v,
                    "#attributes" => {
                        if let Value::Object(a) = v {
                            attr = a.into_entries().next().map(|(_, v)| v);
                        }
                    }
                    _ => {}
                }
            }
            (text, attr)
        }
        other => (other, None),
    }
}

/// The `#attributes` of an element, or nothing.
fn attributes(v: Value) -> Vec<(Arc<str>, Value)> {
    match v {
        Value::Object(o) => match take(o, "#attributes") {
            Some(Value::Object(a)) => a.into_entries().collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn take(o: Fields, key: &str) -> Option<Value> {
    o.into_entries().find(|(k, _)| &**k == key).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonvalue::{KeyCache, parse};
    use kahu_event::Location;

    fn norm(text: &str) -> Event {
        let v = parse(text.as_bytes(), &mut KeyCache::default()).unwrap();
        normalise(v, Provenance::new(Arc::from("t"), Location::File)).unwrap()
    }

    #[test]
    fn qualified_event_id_unnamed_data_and_user_data() {
        let e = norm(
            r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"PowerShell"}},
            "EventID":{"#attributes":{"Qualifiers":0},"#text":400},"Channel":"Windows PowerShell",
            "Computer":"H","TimeCreated":{"#attributes":{"SystemTime":"2021-01-01T00:00:00.1234567Z"}},
            "Security":null},
            "EventData":{"Data":{"#text":["Available","None","HostName=ConsoleHost "]},"Binary":null},
            "UserData":{"LogFileCleared":{"#attributes":{"xmlns":"x"},"SubjectUserName":"bob"}}}}"##,
        );
        assert_eq!(e.event_id, Some(400));
        assert_eq!(e.get("EventID"), Some(&Value::Int(400)));
        assert_eq!(e.get("Qualifiers"), Some(&Value::Int(0)));
        assert_eq!(e.provider.as_deref(), Some("PowerShell"));
        assert_eq!(e.get_str("Provider_Name").as_deref(), Some("PowerShell"));
        assert_eq!(
            e.get("Data"),
            Some(&Value::Array(vec![
                Value::str("Available"),
                Value::str("None"),
                Value::str("HostName=ConsoleHost ")
            ]))
        );
        assert_eq!(e.get_str("SubjectUserName").as_deref(), Some("bob"));
        assert_eq!(
            e.get_str("SystemTime").as_deref(),
            Some("2021-01-01T00:00:00.123456Z")
        );
        assert_eq!(e.timestamp.unwrap().timestamp_subsec_micros(), 123456);
    }

    #[test]
    fn guids_take_event_viewer_form() {
        assert_eq!(
            canonical_guid(Value::str("{54849625-5478-4994-a5ba-3e3b0328c30d}")),
            Value::str("{54849625-5478-4994-A5BA-3E3B0328C30D}")
        );
        assert_eq!(
            canonical_guid(Value::str("54849625-5478-4994-A5BA-3E3B0328C30D")),
            Value::str("{54849625-5478-4994-A5BA-3E3B0328C30D}")
        );
        assert_eq!(
            canonical_guid(Value::str("not-a-guid")),
            Value::str("not-a-guid")
        );
    }
}
