//! Builders for synthetic events and findings.
#![allow(dead_code)]

use kahu_event::{Event, Location, Provenance, Value};
use kahu_finding::{Finding, FindingKind, Level};
use std::sync::Arc;

pub(crate) const T0: i64 = 1_700_000_000;

pub(crate) fn ts(secs: i64) -> Option<kahu_event::Timestamp> {
    chrono::DateTime::from_timestamp(T0 + secs, 0)
}

pub(crate) fn ev(host: &str, channel: &str, eid: u32, secs: i64, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new(Provenance::new(
        Arc::from("synthetic.evtx"),
        Location::Record(secs.unsigned_abs()),
    ));
    e.host = Some(Arc::from(host));
    e.channel = Some(Arc::from(channel));
    e.event_id = Some(eid);
    e.timestamp = ts(secs);
    for (k, v) in fields {
        e.fields.insert(k, Value::str(v));
    }
    e
}

pub(crate) fn fail_4625(host: &str, secs: i64, user: &str, ip: &str) -> Event {
    ev(
        host,
        "Security",
        4625,
        secs,
        &[
            ("TargetUserName", user),
            ("IpAddress", ip),
            ("LogonType", "3"),
            ("Status", "0xC000006D"),
            ("SubStatus", "0xC000006A"),
        ],
    )
}

pub(crate) fn ok_4624(host: &str, secs: i64, user: &str, ip: &str, logon_type: &str) -> Event {
    ev(
        host,
        "Security",
        4624,
        secs,
        &[
            ("TargetUserName", user),
            ("IpAddress", ip),
            ("LogonType", logon_type),
        ],
    )
}

pub(crate) fn finding(
    rule: &str,
    level: Level,
    host: &str,
    secs: i64,
    techniques: &[&str],
    fields: &[(&str, &str)],
) -> Finding {
    Finding {
        kind: FindingKind::Sigma,
        rule_id: Arc::from(rule),
        title: Arc::from(format!("rule {rule}")),
        level,
        techniques: techniques.iter().map(|t| Arc::from(*t)).collect(),
        software: vec![],
        groups: vec![],
        timestamp: ts(secs),
        host: Some(Arc::from(host)),
        channel: None,
        event_id: None,
        fields: fields
            .iter()
            .map(|(k, v)| (Arc::from(*k), v.to_string()))
            .collect(),
        provenance: Provenance::new(Arc::from("f.evtx"), Location::Record(secs.unsigned_abs())),
        related: vec![],
    }
}
