//! How much of the evidence kahu understood: per file, how many events
//! lack a time, a host or a log source. An event without a log source
//! matches no rule written for one, so a file of them yields no detections
//! whatever it holds; the counts let reports say so instead of implying the
//! evidence was clean.

use kahu_event::Event;
use serde::Serialize;

/// Share of unclassified events above which the evidence as a whole counts
/// as not understood (see [`EvidenceCoverage::mostly_unclassified`]).
const MOSTLY: f64 = 0.5;

/// Counts of events kahu could not place, for one file or merged over many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EvidenceCoverage {
    /// Events seen.
    pub events: u64,
    /// Events without a usable timestamp.
    pub no_time: u64,
    /// Events without a host (neither in the record nor from the
    /// collection layout).
    pub no_host: u64,
    /// Events with no log source: no channel and no product, service or
    /// category, so no log-source-specific rule can apply to them.
    pub no_logsource: u64,
}

impl EvidenceCoverage {
    /// Count one event.
    pub fn observe(&mut self, e: &Event) {
        self.events += 1;
        self.no_time += u64::from(e.timestamp.is_none());
        self.no_host += u64::from(e.host.as_deref().is_none_or(str::is_empty));
        self.no_logsource += u64::from(!has_logsource(e));
    }

    /// Add another file's counts.
    pub fn merge(&mut self, other: &EvidenceCoverage) {
        self.events += other.events;
        self.no_time += other.no_time;
        self.no_host += other.no_host;
        self.no_logsource += other.no_logsource;
    }

    /// Whether most events could not be classified (had no log source).
    pub fn mostly_unclassified(&self) -> bool {
        self.events > 0 && self.no_logsource as f64 > self.events as f64 * MOSTLY
    }

    /// One sentence per kind of gap, e.g. "531 of 674 events have no
    /// timestamp"; empty when every event was placed.
    pub fn gaps(&self) -> Vec<String> {
        let m = self.events;
        let mut out = Vec::new();
        if self.no_logsource > 0 {
            out.push(format!(
                "{} of {m} events could not be classified (no channel or log source); no log-source rule was applied to them",
                self.no_logsource
            ));
        }
        if self.no_time > 0 {
            out.push(format!(
                "{} of {m} events have no timestamp; they are missing from timelines and time windows",
                self.no_time
            ));
        }
        if self.no_host > 0 {
            out.push(format!(
                "{} of {m} events have no host; findings on them name no host",
                self.no_host
            ));
        }
        out
    }
}

fn has_logsource(e: &Event) -> bool {
    let named = |s: &Option<std::sync::Arc<str>>| s.as_deref().is_some_and(|s| !s.is_empty());
    named(&e.channel)
        || e.logsources()
            .any(|l| named(&l.product) || named(&l.service) || named(&l.category))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kahu_event::{Location, LogSource, Provenance};

    fn event(time: bool, host: bool, channel: Option<&str>, ls: LogSource) -> Event {
        let mut e = Event::new(Provenance::new("f".into(), Location::Line(1)));
        if time {
            e.timestamp = kahu_event::parse_timestamp("2020-01-01T00:00:00Z");
        }
        if host {
            e.host = Some("h".into());
        }
        e.channel = channel.map(Into::into);
        e.logsource = ls;
        e
    }

    #[test]
    fn counts_each_gap_and_merges() {
        let mut a = EvidenceCoverage::default();
        a.observe(&event(true, true, Some("Security"), LogSource::default()));
        a.observe(&event(false, true, None, LogSource::product("zeek")));
        a.observe(&event(true, false, None, LogSource::default()));
        assert_eq!(
            a,
            EvidenceCoverage {
                events: 3,
                no_time: 1,
                no_host: 1,
                no_logsource: 1
            }
        );
        assert!(!a.mostly_unclassified());
        let mut b = EvidenceCoverage::default();
        b.observe(&event(false, false, None, LogSource::default()));
        b.observe(&event(false, false, Some(""), LogSource::default()));
        a.merge(&b);
        assert_eq!(
            (a.events, a.no_time, a.no_host, a.no_logsource),
            (5, 3, 3, 3)
        );
        assert!(a.mostly_unclassified());
        let gaps = a.gaps();
        assert_eq!(gaps.len(), 3);
        assert!(gaps[0].starts_with("3 of 5 events could not be classified"));
        assert!(gaps[1].starts_with("3 of 5 events have no timestamp"));
        assert!(EvidenceCoverage::default().gaps().is_empty());
        assert!(!EvidenceCoverage::default().mostly_unclassified());
    }
}
