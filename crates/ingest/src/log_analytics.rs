//! Records exported from a Log Analytics workspace (Microsoft Sentinel,
//! Azure Monitor): one JSON object per table row, with the table's columns
//! as keys, the table name in `Type`, the time in `TimeGenerated` and the
//! workspace bookkeeping (`TenantId`, `SourceSystem`, `MG`, `_ResourceId`).
//! OTRF's Security-Datasets Log4Shell lab (recorded with "Microsoft
//! Sentinel To-Go", `datasets/compound/Log4Shell/`) is of this kind: the
//! `Event` table (Windows event logs, here Sysmon, the event's data as
//! `<DataItem …><EventData><Data Name="…">` XML text in `EventData`),
//! `SecurityEvent`, `Syslog` (whole Sysmon for Linux events and auoms
//! records in `SyslogMessage`) and `VMConnection`.
//!
//! Before this reader such rows went to the NXLog or generic shapes, which
//! do not read `TimeGenerated` (NXLog) or the message columns, so most of
//! them had no time and the Sysmon events no fields. Now:
//! - every row's time is `TimeGenerated` (the record's own time fields are
//!   kept as fields, and the Sysmon for Linux `UtcTime` wins as elsewhere);
//! - `Event`, `SecurityEvent` and `WindowsEvent` rows are Windows events:
//!   channel from `EventLog`/`Channel`, provider from `Source`/
//!   `EventSourceName`/`Provider`, and the `EventData` items added under
//!   their own names (columns the table already has are kept);
//! - `Syslog` rows are read as the syslog reader reads a message: Sysmon
//!   for Linux and auoms records become those events, other text gets the
//!   `syslog`/`auth` channel and the authentication fields;
//! - other tables keep their columns; the table name is the channel, so
//!   the coverage report names them instead of counting them unclassified.

use crate::shapes::{self, text, timestamp_of};
use kahu_event::{Event, Fields, Provenance, Value};
use std::sync::Arc;

/// Whether an object is a Log Analytics row: a table name, a
/// `TimeGenerated`, and at least one of the workspace's own columns.
pub(crate) fn is_log_analytics(o: &Fields) -> bool {
    matches!(o.get_exact("Type"), Some(Value::Str(_)))
        && o.get_exact("TimeGenerated").is_some()
        && ["TenantId", "_ResourceId", "SourceSystem", "MG"]
            .iter()
            .any(|k| o.get_exact(k).is_some())
}

/// The event of one Log Analytics row (see the module documentation).
pub(crate) fn to_event(o: Fields, prov: Provenance) -> Event {
    let table = o.get_exact("Type").and_then(text);
    let generated = o.get_exact("TimeGenerated").and_then(timestamp_of);
    match table.as_deref() {
        Some("Event" | "SecurityEvent" | "WindowsEvent") => {
            let mut ev = windows(o, prov);
            ev.timestamp = generated.or(ev.timestamp);
            ev
        }
        Some("Syslog") => syslog(o, prov, generated),
        _ => {
            let mut ev = shapes::generic(o, prov);
            ev.timestamp = generated.or(ev.timestamp);
            if ev.channel.is_none() {
                ev.channel = table;
            }
            ev
        }
    }
}

/// A Windows event row: the `EventData` items beside the columns, then the
/// NXLog-style names (`Channel`, `Computer`, `Provider_Name`…).
fn windows(mut o: Fields, prov: Provenance) -> Event {
    let data: Vec<(Arc<str>, Value)> = match o.get_exact("EventData") {
        Some(Value::Str(xml)) => crate::linux::data_elements(xml)
            .into_iter()
            .map(|(k, v)| (Arc::from(k), Value::from(v)))
            .collect(),
        // `WindowsEvent` (Azure Monitor Agent) parses it into an object.
        Some(Value::Object(d)) => d.clone().into_entries().collect(),
        _ => Vec::new(),
    };
    for (k, v) in data {
        if o.get_exact(&k).is_none() {
            o.push(k, v);
        }
    }
    if o.get_exact("Provider_Name").is_none()
        && let Some(p) = ["Source", "EventSourceName", "Provider"]
            .iter()
            .find_map(|k| o.get_exact(k).cloned())
    {
        o.push(Arc::from("Provider_Name"), p);
    }
    shapes::nxlog(o, prov)
}

/// A `Syslog` row: host, program and time from the columns, the message
/// read as the syslog reader reads one; every column kept after the
/// message's own fields.
fn syslog(o: Fields, prov: Provenance, generated: Option<kahu_event::Timestamp>) -> Event {
    let mut ev = Event::new(prov);
    ev.host = ["Computer", "HostName"]
        .iter()
        .find_map(|k| o.get_exact(k).and_then(text));
    ev.timestamp = generated.or_else(|| o.get_exact("EventTime").and_then(timestamp_of));
    let program = o.get_exact("ProcessName").and_then(text);
    if let Some(msg) = o.get_exact("SyslogMessage").and_then(text) {
        // A Sysmon XML that cannot be read stays syslog text (searchable).
        let _readable = crate::linux::message_event(program.as_deref(), &msg, &mut ev);
    } else {
        ev.channel = Some(Arc::from("Syslog"));
    }
    for (k, v) in o.into_entries() {
        if ev.fields.get_exact(&k).is_none() {
            ev.fields.push(k, v);
        }
    }
    ev
}
