//! Which events an analyst asked to look at (`--from/--to`, `--host`,
//! `--channel`, `--event-id` and their exclusions). Applied as events are
//! read, before any detector, so filtered events cost no matching.

use crate::{Event, Timestamp};
use chrono::{NaiveDate, TimeZone, Utc};

/// Event selection; the default selects everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    /// Earliest event time kept (inclusive).
    pub from: Option<Timestamp>,
    /// Latest event time kept (inclusive).
    pub to: Option<Timestamp>,
    /// Keep only these hosts (case-insensitive; `ws01` also matches
    /// `WS01.corp.example`). Empty: every host.
    pub hosts: Vec<String>,
    /// Drop these hosts (same matching).
    pub exclude_hosts: Vec<String>,
    /// Keep only these channels / log names (case-insensitive).
    pub channels: Vec<String>,
    /// Drop these channels.
    pub exclude_channels: Vec<String>,
    /// Keep only these event ids.
    pub event_ids: Vec<u32>,
    /// Drop these event ids.
    pub exclude_event_ids: Vec<u32>,
}

/// Why an event was left out (counted and reported, never silent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Excluded {
    /// Outside `--from/--to`.
    Time,
    /// A time window was set and the event has no time.
    Undated,
    /// Host, channel or event id not selected.
    Selection,
}

fn host_matches(want: &str, host: &str) -> bool {
    host.eq_ignore_ascii_case(want)
        || host
            .split('.')
            .next()
            .is_some_and(|short| short.eq_ignore_ascii_case(want))
}

impl EventFilter {
    /// True when the filter keeps every event.
    pub fn is_empty(&self) -> bool {
        *self == EventFilter::default()
    }

    /// `None` when the event is kept, else why it is not.
    pub fn check(&self, e: &Event) -> Option<Excluded> {
        if self.from.is_some() || self.to.is_some() {
            match e.timestamp {
                None => return Some(Excluded::Undated),
                Some(t) => {
                    if self.from.is_some_and(|f| t < f) || self.to.is_some_and(|to| t > to) {
                        return Some(Excluded::Time);
                    }
                }
            }
        }
        let host = e.host.as_deref().unwrap_or("");
        let channel = e.channel.as_deref().unwrap_or("");
        let selected = (self.hosts.is_empty() || self.hosts.iter().any(|h| host_matches(h, host)))
            && !self.exclude_hosts.iter().any(|h| host_matches(h, host))
            && (self.channels.is_empty()
                || self
                    .channels
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(channel)))
            && !self
                .exclude_channels
                .iter()
                .any(|c| c.eq_ignore_ascii_case(channel))
            && (self.event_ids.is_empty()
                || e.event_id.is_some_and(|i| self.event_ids.contains(&i)))
            && !e
                .event_id
                .is_some_and(|i| self.exclude_event_ids.contains(&i));
        (!selected).then_some(Excluded::Selection)
    }
}

/// Parse a `--from`/`--to` bound: RFC 3339 or any evidence time form
/// (taken as UTC without an offset), or a date. A date alone means the
/// start of that day for `--from` and its last instant for `--to`, so
/// `--from 2021-03-01 --to 2021-03-01` is the whole day.
pub fn parse_time_bound(s: &str, end_of_day: bool) -> Result<Timestamp, TimeBoundError> {
    if let Some(t) = crate::parse_timestamp(s) {
        return Ok(t);
    }
    let not_a_time = || TimeBoundError {
        text: s.to_string(),
    };
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| not_a_time())?;
    let t = if end_of_day {
        d.and_hms_nano_opt(23, 59, 59, 999_999_999)
    } else {
        d.and_hms_opt(0, 0, 0)
    }
    .ok_or_else(not_a_time)?;
    Ok(Utc.from_utc_datetime(&t))
}

/// A `--from`/`--to` bound that is no time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?} is not a time: use 2021-03-01, 2021-03-01T10:00:00Z or 2021-03-01 10:00:00 (UTC)"
)]
pub struct TimeBoundError {
    /// The text given.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Provenance};
    use std::sync::Arc;

    fn ev(t: Option<&str>, host: &str, channel: &str, id: u32) -> Event {
        let mut e = Event::new(Provenance::new(Arc::from("x.evtx"), Location::Record(1)));
        e.timestamp = t.and_then(crate::parse_timestamp);
        e.host = Some(Arc::from(host));
        e.channel = Some(Arc::from(channel));
        e.event_id = Some(id);
        e
    }

    #[test]
    fn a_bound_that_is_no_time_says_what_was_given_and_what_is_expected() {
        let err = parse_time_bound("2021-13-01", false).unwrap_err();
        assert_eq!(err.text, "2021-13-01");
        assert!(
            err.to_string()
                .starts_with("\"2021-13-01\" is not a time: use 2021-03-01")
        );
    }

    #[test]
    fn window_is_inclusive_and_undated_events_are_reported() {
        let f = EventFilter {
            from: Some(parse_time_bound("2021-03-01", false).unwrap()),
            to: Some(parse_time_bound("2021-03-01", true).unwrap()),
            ..Default::default()
        };
        assert_eq!(
            f.check(&ev(Some("2021-03-01T00:00:00Z"), "a", "Security", 1)),
            None
        );
        assert_eq!(
            f.check(&ev(Some("2021-03-01T23:59:59.5Z"), "a", "Security", 1)),
            None
        );
        assert_eq!(
            f.check(&ev(Some("2021-03-02T00:00:00Z"), "a", "Security", 1)),
            Some(Excluded::Time)
        );
        assert_eq!(
            f.check(&ev(None, "a", "Security", 1)),
            Some(Excluded::Undated)
        );
        assert!(parse_time_bound("yesterday", false).is_err());
    }

    #[test]
    fn hosts_channels_and_ids_select_and_exclude() {
        let f = EventFilter {
            hosts: vec!["ws01".into()],
            exclude_event_ids: vec![4688],
            channels: vec!["security".into()],
            ..Default::default()
        };
        assert_eq!(
            f.check(&ev(None, "WS01.corp.example", "Security", 4624)),
            None
        );
        assert!(f.check(&ev(None, "WS02", "Security", 4624)).is_some());
        assert!(f.check(&ev(None, "WS01", "System", 7045)).is_some());
        assert!(f.check(&ev(None, "WS01", "Security", 4688)).is_some());
        assert!(EventFilter::default().is_empty() && !f.is_empty());
    }
}
