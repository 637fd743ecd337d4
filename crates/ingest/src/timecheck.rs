//! Records whose own time field disagrees with the event time. Exports
//! re-stamp records (`@timestamp` as ingest time, a collector's local zone
//! taken as UTC); when the record also carries the source's own UTC time
//! (Sysmon's `UtcTime`) and the two differ by more than clock jitter and
//! queueing, every time-based conclusion on that file is off by the
//! difference. One warning per file says by how much.

use crate::{Origin, Warning};
use kahu_event::{Event, Location, Value, parse_timestamp};

/// Differences up to this are delivery delay, not a wrong clock or zone.
const TOLERANCE_SECS: i64 = 60;
/// Records checked in full before sampling (parsing a time per record
/// costs a measurable share of reading).
const CHECK_ALL: u64 = 1000;
/// After [`CHECK_ALL`], one candidate record in this many is checked.
const SAMPLE_EVERY: u64 = 64;

/// Record fields holding the source's own UTC time of the event.
const OWN_TIME_FIELDS: &[&str] = &["UtcTime"];

/// Per-file tally of record times against event times.
#[derive(Debug, Default)]
pub(crate) struct TimeAgreement {
    candidates: u64,
    checked: u64,
    disagree: u64,
    /// Largest absolute difference seen: (record time - event time, field, where).
    worst: Option<(i64, &'static str, Location)>,
}

impl TimeAgreement {
    /// Compare one event's time with its record's own time, if it has one.
    pub(crate) fn observe(&mut self, e: &Event) {
        let Some(t) = e.timestamp else {
            return;
        };
        let Some((field, Value::Str(s))) = OWN_TIME_FIELDS
            .iter()
            .find_map(|f| e.fields.get_exact(f).map(|v| (*f, v)))
        else {
            return;
        };
        self.candidates += 1;
        if self.candidates > CHECK_ALL && !self.candidates.is_multiple_of(SAMPLE_EVERY) {
            return;
        }
        let Some(own) = parse_timestamp(s) else {
            return;
        };
        self.checked += 1;
        let diff = (own - t).num_seconds();
        if diff.abs() <= TOLERANCE_SECS {
            return;
        }
        self.disagree += 1;
        if self.worst.is_none_or(|(w, _, _)| diff.abs() > w.abs()) {
            self.worst = Some((diff, field, e.provenance.location));
        }
    }

    /// The file's warning, if any record disagreed.
    pub(crate) fn warning(&self, origin: &Origin) -> Option<Warning> {
        let (diff, field, at) = self.worst?;
        Some(origin.warning(
            Some(at),
            format!(
                "{}record times disagree with event times: {field} differs from the event timestamp by more than {TOLERANCE_SECS} s in {} of {} records checked (largest: {field} is {} {} the event time); kahu used the event timestamp, so times from this file may be off by that much (check the export's time zone)",
                crate::NOTE_PREFIX,
                self.disagree,
                self.checked,
                duration_text(diff.unsigned_abs()),
                if diff > 0 { "after" } else { "before" },
            ),
        ))
    }
}

/// `3h 00m 05s`, `12m 30s`, `45s`.
fn duration_text(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s:02}s"),
        _ => format!("{h}h {m:02}m {s:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kahu_event::Provenance;
    use std::sync::Arc;

    fn event(ts: &str, utc: &str, line: u64) -> Event {
        let mut e = Event::new(Provenance::new("f".into(), Location::Line(line)));
        e.timestamp = parse_timestamp(ts);
        e.fields.insert("UtcTime", Value::str(utc));
        e
    }

    fn origin() -> Origin {
        Origin {
            file: Arc::from("export.json"),
            member: None,
            host_hint: None,
            modified: None,
        }
    }

    #[test]
    fn warns_once_with_the_largest_offset() {
        let mut t = TimeAgreement::default();
        t.observe(&event(
            "2020-05-02T03:00:00.100Z",
            "2020-05-02 03:00:00.000",
            1,
        ));
        assert!(t.warning(&origin()).is_none(), "sub-second jitter is fine");
        // An export whose timestamp was written in UTC-4 and read as UTC.
        t.observe(&event("2020-05-01T23:00:00Z", "2020-05-02 03:00:00.000", 2));
        t.observe(&event("2020-05-01T23:00:10Z", "2020-05-02 03:00:20.000", 3));
        let w = t.warning(&origin()).expect("warning");
        assert_eq!(w.location, Some(Location::Line(3)));
        assert!(
            w.reason.contains("in 2 of 3 records checked"),
            "{}",
            w.reason
        );
        assert!(
            w.reason.contains("UtcTime is 4h 00m 10s after"),
            "{}",
            w.reason
        );
    }

    #[test]
    fn records_without_both_times_are_not_checked() {
        let mut t = TimeAgreement::default();
        let mut e = event("2020-05-01T23:00:00Z", "not a time", 1);
        t.observe(&e);
        e.timestamp = None;
        e.fields
            .insert("UtcTime", Value::str("2020-05-02 03:00:00"));
        t.observe(&e);
        assert_eq!(t.checked, 0);
        assert!(t.warning(&origin()).is_none());
        assert_eq!(duration_text(45), "45s");
        assert_eq!(duration_text(750), "12m 30s");
    }
}
