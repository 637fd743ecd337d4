//! Normalisers for the JSON record shapes other than the EVTX rendering:
//! Winlogbeat/ECS, NXLog-flattened Windows events and generic objects.
//!
//! Each keeps every original field and adds the Sigma/Hayabusa names
//! (`EventID`, `Channel`, `Computer`, `Provider_Name`…) so Windows rules
//! match regardless of which shipper produced the export.

use kahu_event::{Event, Fields, Provenance, Timestamp, Value, parse_timestamp};
use std::sync::Arc;

/// The JSON record shapes kahu recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `{"Event": {"System": …}}`, as rendered by `evtx_dump`.
    EvtxJson,
    /// Winlogbeat / Elastic Common Schema (`winlog.*`).
    Winlogbeat,
    /// Winlogbeat before 7.0: the same values at the top level
    /// (`log_name`, `source_name`, `computer_name`, `event_data`…).
    WinlogbeatLegacy,
    /// NXLog `im_msvistalog` flattened (`Hostname`, `SourceName`, `EventID`…).
    Nxlog,
    /// An AWS CloudTrail record (`eventSource`, `eventName`, `awsRegion`…).
    CloudTrail,
    /// Any other object.
    Generic,
}

/// Decide the shape of one parsed object.
pub(crate) fn classify(o: &Fields) -> Shape {
    if crate::winevent::is_evtx_json(o) {
        Shape::EvtxJson
    } else if matches!(o.get_exact("winlog"), Some(Value::Object(_))) {
        Shape::Winlogbeat
    } else if o.get_exact("log_name").is_some()
        && o.get_exact("event_id").is_some()
        && (o.get_exact("source_name").is_some() || o.get_exact("computer_name").is_some())
    {
        Shape::WinlogbeatLegacy
    } else if o.get_exact("EventID").is_some()
        && ["SourceModuleType", "Hostname", "SourceName"]
            .iter()
            .chain(CHANNEL_KEYS)
            .any(|k| o.get_exact(k).is_some())
    {
        Shape::Nxlog
    } else if o.get_exact("eventSource").is_some()
        && o.get_exact("eventName").is_some()
        && ["eventVersion", "awsRegion", "userIdentity"]
            .iter()
            .any(|k| o.get_exact(k).is_some())
    {
        Shape::CloudTrail
    } else {
        Shape::Generic
    }
}

/// AWS CloudTrail: fields kept under CloudTrail's names (what SigmaHQ's
/// `aws/cloudtrail` rules use), time from `eventTime`, log source
/// `product: aws, service: cloudtrail`, channel the API's service
/// (`ec2.amazonaws.com`). No host: the events are about an account.
pub(crate) fn cloudtrail(o: Fields, prov: Provenance) -> Event {
    let mut ev = generic(o, prov);
    if let Some(t) = ev.fields.get_exact("eventTime").and_then(timestamp_of) {
        ev.timestamp = Some(t);
    }
    ev.logsource = kahu_event::LogSource::product("aws").with_service("cloudtrail");
    ev.channel = ev.fields.get_exact("eventSource").and_then(text);
    ev.provider = Some(Arc::from("cloudtrail"));
    // `host`/`hostname` keys in CloudTrail are request data, not a computer.
    ev.host = None;
    ev
}

/// Winlogbeat: `winlog.event_data` and `winlog.user_data` flattened to the top
/// level, `winlog.*` system values under Sigma names, everything else kept
/// nested and reachable by dotted name (`host.name`, `winlog.opcode`).
pub(crate) fn winlogbeat(o: Fields, prov: Provenance) -> Event {
    let mut ev = Event::new(prov);
    let mut canon = Fields::with_capacity(48);
    let mut data = Vec::new();
    let mut rest = Fields::with_capacity(o.len());
    for (k, v) in o.into_entries() {
        if &*k != "winlog" {
            rest.push(k, v);
            continue;
        }
        let Value::Object(w) = v else {
            rest.push(k, v);
            continue;
        };
        let mut kept = Fields::with_capacity(w.len());
        for (wk, wv) in w.into_entries() {
            match &*wk {
                "event_data" | "user_data" => data.push(wv),
                "channel" => {
                    ev.channel = text(&wv);
                    canon.push(Arc::from("Channel"), wv.clone());
                    kept.push(wk, wv);
                }
                "event_id" => {
                    ev.event_id = wv.as_i64().and_then(|i| u32::try_from(i).ok());
                    canon.push(
                        Arc::from("EventID"),
                        ev.event_id.map_or(wv.clone(), |i| Value::Int(i.into())),
                    );
                    kept.push(wk, wv);
                }
                "computer_name" => {
                    ev.host = text(&wv);
                    canon.push(Arc::from("Computer"), wv.clone());
                    kept.push(wk, wv);
                }
                "provider_name" => {
                    ev.provider = text(&wv);
                    canon.push(Arc::from("Provider_Name"), wv.clone());
                    kept.push(wk, wv);
                }
                "record_id" => {
                    canon.push(Arc::from("EventRecordID"), wv.clone());
                    kept.push(wk, wv);
                }
                "process" => {
                    if let Some(pid) = path(&wv, &["pid"]) {
                        canon.push(Arc::from("ProcessID"), pid.clone());
                    }
                    if let Some(tid) = path(&wv, &["thread", "id"]) {
                        canon.push(Arc::from("ThreadID"), tid.clone());
                    }
                    kept.push(wk, wv);
                }
                "user" => {
                    if let Some(sid) = path(&wv, &["identifier"]) {
                        canon.push(Arc::from("SecurityUserID"), sid.clone());
                    }
                    kept.push(wk, wv);
                }
                _ => kept.push(wk, wv),
            }
        }
        rest.push(k, Value::Object(kept));
    }
    if ev.host.is_none() {
        ev.host = rest.get_path("host.name").and_then(text);
    }
    ev.timestamp = rest.get_exact("@timestamp").and_then(timestamp_of);
    let n_canon = canon.len();
    for d in data {
        if let Value::Object(d) = d {
            for (k, v) in d.into_entries() {
                push_unique(&mut canon, n_canon, k, v);
            }
        }
    }
    for (k, v) in rest.into_entries() {
        canon.push(k, v);
    }
    ev.fields = canon;
    ev
}

/// Winlogbeat before 7.0: system values at the top level under their own
/// names, `event_data`/`user_data` flattened, Sigma names added. The record's
/// `host.name` is the collector (a WEC server) in forwarded logs, so the
/// host is `computer_name`.
pub(crate) fn winlogbeat_legacy(o: Fields, prov: Provenance) -> Event {
    let mut ev = Event::new(prov);
    let mut canon = Fields::with_capacity(48);
    let mut data = Vec::new();
    let mut rest = Fields::with_capacity(o.len());
    for (k, v) in o.into_entries() {
        let sigma = match &*k {
            "event_data" | "user_data" => {
                data.push(v);
                continue;
            }
            "log_name" => {
                ev.channel = text(&v);
                "Channel"
            }
            "event_id" => {
                ev.event_id = v.as_i64().and_then(|i| u32::try_from(i).ok());
                if let Some(id) = ev.event_id {
                    canon.push(Arc::from("EventID"), Value::Int(id.into()));
                }
                rest.push(k, v);
                continue;
            }
            "computer_name" => {
                ev.host = text(&v);
                "Computer"
            }
            "source_name" => {
                ev.provider = text(&v);
                "Provider_Name"
            }
            "record_number" => "EventRecordID",
            "process_id" => "ProcessID",
            "thread_id" => "ThreadID",
            "user" => {
                if let Some(sid) = path(&v, &["identifier"]) {
                    canon.push(Arc::from("SecurityUserID"), sid.clone());
                }
                rest.push(k, v);
                continue;
            }
            _ => {
                rest.push(k, v);
                continue;
            }
        };
        canon.push(Arc::from(sigma), v.clone());
        rest.push(k, v);
    }
    if ev.host.is_none() {
        ev.host = rest.get_path("host.name").and_then(text);
    }
    ev.timestamp = rest.get_exact("@timestamp").and_then(timestamp_of);
    let n_canon = canon.len();
    for d in data {
        if let Value::Object(d) = d {
            for (k, v) in d.into_entries() {
                push_unique(&mut canon, n_canon, k, v);
            }
        }
    }
    for (k, v) in rest.into_entries() {
        if canon.get_exact(&k).is_none() {
            canon.push(k, v);
        }
    }
    ev.fields = canon;
    ev
}

/// Keys exports use for the Windows channel: NXLog and most shippers write
/// `Channel`; others `EventLog` (some Sysmon JSON exports), `LogName`
/// (PowerShell's `Get-WinEvent | ConvertTo-Json`) or `log_name`.
const CHANNEL_KEYS: &[&str] = &["Channel", "EventLog", "LogName", "log_name"];

/// Names [`nxlog`] reads: how many, and the slot of each in [`NxKeys`]
/// (a `match` on the name compiles to a switch on its length and a few
/// comparisons, instead of comparing with every name in turn).
const NX_NAMES: usize = 21;

fn nx_slot(name: &str) -> Option<usize> {
    Some(match name {
        "Hostname" => 0,
        "Computer" => 1,
        "MachineName" => 2,
        "computer_name" => 3,
        "Channel" => 4,
        "EventLog" => 5,
        "LogName" => 6,
        "log_name" => 7,
        "SourceName" => 8,
        "Provider_Name" => 9,
        "ProviderName" => 10,
        "EventID" => 11,
        "TimeCreated" => 12,
        "@timestamp" => 13,
        "EventTime" => 14,
        "EventRecordID" => 15,
        "RecordNumber" => 16,
        "SecurityUserID" => 17,
        "UserID" => 18,
        "ProcessID" => 19,
        "ExecutionProcessID" => 20,
        _ => return None,
    })
}

/// The first value of each name [`nx_slot`] knows in a record, found in one pass
/// over its fields. Looking each name up in turn scanned the record's
/// fields about 30 times per event, mostly for names it does not have
/// (issue #17).
struct NxKeys<'a>([Option<&'a Value>; NX_NAMES]);

impl<'a> NxKeys<'a> {
    fn of(o: &'a Fields) -> Self {
        let mut found = [None; NX_NAMES];
        for (k, v) in o.iter() {
            if let Some(i) = nx_slot(k)
                && found[i].is_none()
            {
                found[i] = Some(v);
            }
        }
        NxKeys(found)
    }

    /// The first value named `name` (a name [`nx_slot`] knows), as
    /// [`Fields::get_exact`] would find it.
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.0[nx_slot(name)?]
    }
}

/// NXLog-flattened (and other flat Windows exports): every field is already
/// at the top level; add the Sigma names that the export spells
/// differently.
pub(crate) fn nxlog(mut o: Fields, prov: Provenance) -> Event {
    let mut ev = Event::new(prov);
    // Aliases to add, in order, once the record is no longer borrowed.
    let mut add: Vec<(&'static str, Value)> = Vec::new();
    {
        let keys = NxKeys::of(&o);
        ev.host = ["Hostname", "Computer", "MachineName", "computer_name"]
            .iter()
            .find_map(|k| keys.get(k).and_then(text));
        ev.channel = CHANNEL_KEYS.iter().find_map(|k| keys.get(k).and_then(text));
        ev.provider = ["SourceName", "Provider_Name", "ProviderName"]
            .iter()
            .find_map(|k| keys.get(k).and_then(text));
        ev.event_id = keys
            .get("EventID")
            .and_then(Value::as_i64)
            .and_then(|i| u32::try_from(i).ok());
        // `TimeCreated` (when the shipper kept it) is the event's own UTC time;
        // `@timestamp` is when Logstash received it; `EventTime` is in the
        // collector's local zone, so it is the last resort.
        ev.timestamp = ["TimeCreated", "@timestamp", "EventTime"]
            .iter()
            .find_map(|k| keys.get(k).and_then(timestamp_of));
        if let Some(c) = &ev.channel
            && keys.get("Channel").is_none()
        {
            add.push(("Channel", Value::Str(c.clone())));
        }
        for (alias, from) in [
            ("Computer", "Hostname"),
            ("Computer", "MachineName"),
            ("Provider_Name", "SourceName"),
            ("Provider_Name", "ProviderName"),
            ("EventRecordID", "RecordNumber"),
            ("SecurityUserID", "UserID"),
            ("ProcessID", "ExecutionProcessID"),
        ] {
            // Present in the record, or added by an earlier pair.
            let present = keys.get(alias).is_some() || add.iter().any(|(a, _)| *a == alias);
            if !present && let Some(v) = keys.get(from) {
                add.push((alias, v.clone()));
            }
        }
    }
    for (alias, v) in add {
        o.push(Arc::from(alias), v);
    }
    if let Some(id) = ev.event_id
        && let Some(v) = o.get_mut_exact("EventID")
    {
        // NXLog writes it as text in some pipelines; rules compare numbers.
        *v = Value::Int(id.into());
    }
    ev.fields = o;
    ev
}

/// Keys tried, in order, for the time of a generic record. After the
/// common ones: Azure Monitor / Sentinel exports (`TimeGenerated`),
/// Defender advanced hunting (`Timestamp`), Splunk (`_time`), and last
/// NXLog's receipt time.
const TIME_KEYS: &[&str] = &[
    "@timestamp",
    "timestamp",
    "ts",
    "time",
    "EventTime",
    "UtcTime",
    "TimeCreated",
    "eventTime",
    "TimeGenerated",
    "Timestamp",
    "_time",
    "date",
    "EventReceivedTime",
];

/// Any other object: fields kept as they are; time, host and event id found
/// under their usual names.
pub(crate) fn generic(o: Fields, prov: Provenance) -> Event {
    let mut ev = Event::new(prov);
    ev.timestamp = TIME_KEYS
        .iter()
        .find_map(|k| o.get_exact(k).and_then(timestamp_of));
    ev.host = [
        "host.name",
        "hostname",
        "Hostname",
        "host",
        "computer_name",
        "Computer",
        "HostName",
        "DeviceName",
        "ComputerName",
    ]
    .iter()
    .find_map(|k| o.get_path(k).and_then(text));
    ev.event_id = ["EventID", "event_id"]
        .iter()
        .find_map(|k| o.get_exact(k).and_then(Value::as_i64))
        .and_then(|i| u32::try_from(i).ok());
    ev.channel = ["Channel", "_path"]
        .iter()
        .find_map(|k| o.get_exact(k).and_then(text));
    ev.fields = o;
    ev
}

/// A time value: text in any form [`parse_timestamp`] knows, or epoch
/// seconds / milliseconds as a number.
pub(crate) fn timestamp_of(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Str(s) => parse_timestamp(s),
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => {
            let n = v.as_f64()?;
            // Below 1e11 the number is seconds (until year 5138); above, ms.
            let secs = if n < 1e11 { n } else { n / 1000.0 };
            if !(0.0..1e11).contains(&secs) {
                return None;
            }
            let whole = secs.trunc() as i64;
            let nanos = ((secs - secs.trunc()) * 1e9) as u32;
            chrono::DateTime::from_timestamp(whole, nanos)
        }
        _ => None,
    }
}

/// Non-empty text of a value (numbers and booleans as text).
pub(crate) fn text(v: &Value) -> Option<Arc<str>> {
    match v {
        Value::Str(s) if !s.is_empty() => Some(s.clone()),
        Value::Str(_) => None,
        other => other.as_text().map(|s| Arc::from(&*s)),
    }
}

fn path<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for k in keys {
        match cur {
            Value::Object(o) => cur = o.get_exact(k)?,
            _ => return None,
        }
    }
    Some(cur)
}

/// Push a data field; one that collides with the first `n` (system) names
/// replaces it, as in [`crate::winevent`].
fn push_unique(out: &mut Fields, n: usize, k: Arc<str>, v: Value) {
    if out.iter().take(n).any(|(name, _)| name == &*k) {
        out.insert(&k, v);
    } else {
        out.push(k, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonvalue::{KeyCache, parse};
    use kahu_event::Location;

    fn obj(text: &str) -> Fields {
        match parse(text.as_bytes(), &mut KeyCache::default()).unwrap() {
            Value::Object(o) => o,
            _ => panic!("not an object"),
        }
    }

    fn prov() -> Provenance {
        Provenance::new(Arc::from("t"), Location::Line(1))
    }

    #[test]
    fn winlogbeat_is_flattened_with_sigma_names() {
        let o = obj(
            r#"{"@timestamp":"2021-06-30T01:02:03.456Z","host":{"name":"ws1.corp"},
            "winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"1",
            "computer_name":"WS1.corp.local","provider_name":"Microsoft-Windows-Sysmon","record_id":42,
            "process":{"pid":3000,"thread":{"id":7}},"user":{"identifier":"S-1-5-18"},
            "event_data":{"Image":"C:\\w\\cmd.exe","CommandLine":"cmd /c whoami"},"opcode":"Info"},
            "message":"Process Create"}"#,
        );
        assert_eq!(classify(&o), Shape::Winlogbeat);
        let e = winlogbeat(o, prov());
        assert_eq!(e.event_id, Some(1));
        assert_eq!(e.host.as_deref(), Some("WS1.corp.local"));
        assert_eq!(
            e.channel.as_deref(),
            Some("Microsoft-Windows-Sysmon/Operational")
        );
        assert_eq!(e.provider.as_deref(), Some("Microsoft-Windows-Sysmon"));
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2021-06-30T01:02:03.456+00:00"
        );
        assert_eq!(e.get("EventID"), Some(&Value::Int(1)));
        assert_eq!(e.get_str("Image").as_deref(), Some("C:\\w\\cmd.exe"));
        assert_eq!(e.get_str("CommandLine").as_deref(), Some("cmd /c whoami"));
        assert_eq!(e.get("ProcessID"), Some(&Value::Int(3000)));
        assert_eq!(e.get("ThreadID"), Some(&Value::Int(7)));
        assert_eq!(e.get_str("SecurityUserID").as_deref(), Some("S-1-5-18"));
        assert_eq!(e.get("EventRecordID"), Some(&Value::Int(42)));
        assert_eq!(e.get_str("winlog.opcode").as_deref(), Some("Info"));
        assert_eq!(e.get_str("host.name").as_deref(), Some("ws1.corp"));
        assert_eq!(e.get_str("message").as_deref(), Some("Process Create"));
        // Flattened, not duplicated.
        assert!(e.get("winlog.event_data.Image").is_none());
    }

    #[test]
    fn nxlog_gets_aliases_and_numeric_event_id() {
        let o = obj(
            r#"{"EventID":"4688","Hostname":"WS5","SourceName":"Microsoft-Windows-Security-Auditing",
            "Channel":"Security","EventTime":"2020-10-22 08:21:36","@timestamp":"2020-10-22T12:21:36.601Z",
            "RecordNumber":9,"NewProcessName":"C:\\x.exe"}"#,
        );
        assert_eq!(classify(&o), Shape::Nxlog);
        let e = nxlog(o, prov());
        assert_eq!(e.event_id, Some(4688));
        assert_eq!(e.get("EventID"), Some(&Value::Int(4688)));
        assert_eq!(e.get_str("Computer").as_deref(), Some("WS5"));
        assert_eq!(
            e.get_str("Provider_Name").as_deref(),
            Some("Microsoft-Windows-Security-Auditing")
        );
        assert_eq!(e.get("EventRecordID"), Some(&Value::Int(9)));
        // `@timestamp` (UTC) beats the collector-local `EventTime`.
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2020-10-22T12:21:36.601+00:00"
        );
    }

    /// `nxlog` as it was before the one-pass key index (issue #17): every
    /// name looked up in turn. The reference for the differential test.
    fn nxlog_by_lookups(mut o: Fields, prov: Provenance) -> Event {
        let mut ev = Event::new(prov);
        ev.host = ["Hostname", "Computer", "MachineName", "computer_name"]
            .iter()
            .find_map(|k| o.get_exact(k).and_then(text));
        ev.channel = CHANNEL_KEYS
            .iter()
            .find_map(|k| o.get_exact(k).and_then(text));
        ev.provider = ["SourceName", "Provider_Name", "ProviderName"]
            .iter()
            .find_map(|k| o.get_exact(k).and_then(text));
        ev.event_id = o
            .get_exact("EventID")
            .and_then(Value::as_i64)
            .and_then(|i| u32::try_from(i).ok());
        ev.timestamp = ["TimeCreated", "@timestamp", "EventTime"]
            .iter()
            .find_map(|k| o.get_exact(k).and_then(timestamp_of));
        if let Some(c) = &ev.channel
            && o.get_exact("Channel").is_none()
        {
            o.push(Arc::from("Channel"), Value::Str(c.clone()));
        }
        for (alias, from) in [
            ("Computer", "Hostname"),
            ("Computer", "MachineName"),
            ("Provider_Name", "SourceName"),
            ("Provider_Name", "ProviderName"),
            ("EventRecordID", "RecordNumber"),
            ("SecurityUserID", "UserID"),
            ("ProcessID", "ExecutionProcessID"),
        ] {
            if o.get_exact(alias).is_none()
                && let Some(v) = o.get_exact(from).cloned()
            {
                o.push(Arc::from(alias), v);
            }
        }
        if let Some(id) = ev.event_id
            && let Some(v) = o.get_mut_exact("EventID")
        {
            *v = Value::Int(id.into());
        }
        ev.fields = o;
        ev
    }

    // The one-pass key index gives exactly the events of the name-by-name
    // lookups: random records drawing from every name nxlog reads (and
    // near-misses in case), with duplicates, empty and numeric values.
    #[test]
    fn nxlog_one_pass_equals_lookups() {
        let names = [
            "Hostname",
            "Computer",
            "MachineName",
            "computer_name",
            "Channel",
            "EventLog",
            "LogName",
            "log_name",
            "SourceName",
            "Provider_Name",
            "ProviderName",
            "EventID",
            "TimeCreated",
            "@timestamp",
            "EventTime",
            "EventRecordID",
            "RecordNumber",
            "SecurityUserID",
            "UserID",
            "ProcessID",
            "ExecutionProcessID",
            "hostname",
            "eventid",
            "Image",
            "CommandLine",
        ];
        let values = [
            Value::str(""),
            Value::str("WS1"),
            Value::str("4688"),
            Value::str("2020-10-22T12:21:36.601Z"),
            Value::Int(7),
            Value::Int(-1),
            Value::Null,
            Value::str("Security"),
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..5000 {
            let mut o = Fields::default();
            for _ in 0..next(12) {
                o.push(
                    Arc::from(names[next(names.len())]),
                    values[next(values.len())].clone(),
                );
            }
            let want = serde_json::to_string(&nxlog_by_lookups(o.clone(), prov())).unwrap();
            let got = serde_json::to_string(&nxlog(o, prov())).unwrap();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn generic_finds_time_and_host() {
        let o = obj(r#"{"ts":1591757456.5,"host":{"name":"h1"},"x":{"y":1}}"#);
        assert_eq!(classify(&o), Shape::Generic);
        let e = generic(o, prov());
        assert_eq!(e.timestamp.unwrap().timestamp(), 1591757456);
        assert_eq!(e.host.as_deref(), Some("h1"));
        assert_eq!(e.get("x.y"), Some(&Value::Int(1)));
        let e = generic(obj(r#"{"timestamp":1591757456789}"#), prov());
        assert_eq!(e.timestamp.unwrap().timestamp_millis(), 1591757456789);
        // Sentinel / Log Analytics and Defender exports.
        let e = generic(
            obj(
                r#"{"TimeGenerated":"2021-12-14T19:26:40.123Z","Computer":"web01","SyslogMessage":"x"}"#,
            ),
            prov(),
        );
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2021-12-14T19:26:40.123+00:00"
        );
        assert_eq!(e.host.as_deref(), Some("web01"));
        let e = generic(
            obj(
                r#"{"Timestamp":"2021-12-14T19:26:41Z","DeviceName":"ws7.corp","ActionType":"ProcessCreated"}"#,
            ),
            prov(),
        );
        assert_eq!(e.timestamp.unwrap().timestamp(), 1639510001);
        assert_eq!(e.host.as_deref(), Some("ws7.corp"));
    }

    #[test]
    fn winlogbeat_6_top_level_names_get_sigma_names() {
        // The Winlogbeat 6.x shape of the Mordor Empire datasets: the host
        // is `computer_name` (`host.name` is the WEC collector).
        let o = obj(
            r#"{"@timestamp":"2019-05-18T20:43:36.801Z","computer_name":"HR001.shire.com",
            "host":{"name":"WECserver"},"process_id":2440,"log_name":"Microsoft-Windows-Sysmon/Operational",
            "record_number":"2237957","source_name":"Microsoft-Windows-Sysmon","thread_id":3144,
            "event_id":1,"user":{"identifier":"S-1-5-18"},"level":"Information",
            "event_data":{"Image":"C:\\Windows\\System32\\wscript.exe","UtcTime":"2019-05-18 20:43:36.728"}}"#,
        );
        assert_eq!(classify(&o), Shape::WinlogbeatLegacy);
        let e = winlogbeat_legacy(o, prov());
        assert_eq!(e.event_id, Some(1));
        assert_eq!(
            e.channel.as_deref(),
            Some("Microsoft-Windows-Sysmon/Operational")
        );
        assert_eq!(e.host.as_deref(), Some("HR001.shire.com"));
        assert_eq!(e.provider.as_deref(), Some("Microsoft-Windows-Sysmon"));
        assert_eq!(e.get("EventID"), Some(&Value::Int(1)));
        assert_eq!(
            e.get_str("Channel").as_deref(),
            Some("Microsoft-Windows-Sysmon/Operational")
        );
        assert_eq!(e.get_str("Computer").as_deref(), Some("HR001.shire.com"));
        assert_eq!(
            e.get_str("Image").as_deref(),
            Some("C:\\Windows\\System32\\wscript.exe")
        );
        assert_eq!(e.get_str("EventRecordID").as_deref(), Some("2237957"));
        assert_eq!(e.get_str("SecurityUserID").as_deref(), Some("S-1-5-18"));
        assert!(e.get("event_data.Image").is_none());
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2019-05-18T20:43:36.801+00:00"
        );
    }

    #[test]
    fn flat_exports_with_eventlog_or_logname_get_a_channel() {
        for key in ["EventLog", "LogName", "log_name"] {
            let o = obj(&format!(
                r#"{{"EventID":1,"{key}":"Microsoft-Windows-Sysmon/Operational","Computer":"WS1",
                "UtcTime":"2020-05-02 03:00:01.000","Image":"C:\\x.exe"}}"#
            ));
            assert_eq!(classify(&o), Shape::Nxlog, "{key}");
            let e = nxlog(o, prov());
            assert_eq!(
                e.channel.as_deref(),
                Some("Microsoft-Windows-Sysmon/Operational"),
                "{key}"
            );
            assert_eq!(
                e.get_str("Channel").as_deref(),
                Some("Microsoft-Windows-Sysmon/Operational")
            );
            assert_eq!(e.host.as_deref(), Some("WS1"));
            assert_eq!(e.event_id, Some(1));
        }
    }

    #[test]
    fn cloudtrail_records_get_the_aws_log_source() {
        let o = obj(
            r#"{"eventVersion":"1.05","eventTime":"2020-09-14T00:44:23Z","eventSource":"s3.amazonaws.com",
            "eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"1.2.3.4",
            "userIdentity":{"type":"IAMUser","userName":"pedro"},"requestParameters":{"host":"b.s3.amazonaws.com"},
            "@timestamp":"2020-09-14T00:50:00.000Z"}"#,
        );
        assert_eq!(classify(&o), Shape::CloudTrail);
        let e = cloudtrail(o, prov());
        assert_eq!(e.logsource.product.as_deref(), Some("aws"));
        assert_eq!(e.logsource.service.as_deref(), Some("cloudtrail"));
        assert_eq!(e.channel.as_deref(), Some("s3.amazonaws.com"));
        // The API's own time, not the shipper's.
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2020-09-14T00:44:23+00:00"
        );
        assert_eq!(e.host, None);
        assert_eq!(e.get_str("userIdentity.type").as_deref(), Some("IAMUser"));
    }
}
