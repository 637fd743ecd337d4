//! How much of the evidence kahu understood: per file, how many events
//! lack a time, a host or a log source. An event without a log source
//! matches no rule written for one, so a file of them yields no detections
//! whatever it holds; the counts let reports say so instead of implying the
//! evidence was clean.

use kahu_event::Event;
use serde::Serialize;

/// How coverage notes (this module's per-file gaps and the time
/// disagreement note) begin, so they can be told from reading problems.
pub const NOTE_PREFIX: &str = "coverage: ";

/// Share of unclassified events above which the evidence as a whole counts
/// as not understood (see [`EvidenceCoverage::mostly_unclassified`]).
const MOSTLY: f64 = 0.5;

/// Counts of events kahu could not place, for one file or merged over many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EvidenceCoverage {
    /// Events seen.
    pub events: u64,
    /// Events without a usable timestamp (placeholders included).
    pub no_time: u64,
    /// Events whose timestamp was a placeholder, read as none
    /// ([`placeholder_time`]).
    pub placeholder_time: u64,
    /// Events whose timestamp lay in the future when kahu read them, read
    /// as none ([`FUTURE_SLACK`]).
    pub future_time: u64,
    /// Events without a host (neither in the record nor from the
    /// collection layout).
    pub no_host: u64,
    /// Events with no log source: no channel and no product, service or
    /// category, so no log-source-specific rule can apply to them.
    pub no_logsource: u64,
    /// Kinds of system the events were logged on (what ATT&CK techniques
    /// the evidence could show at all; [`EvidenceCoverage::attack_platforms`]).
    #[serde(skip)]
    pub platforms: Platforms,
}

/// Kinds of system evidence was logged on, from the events' log sources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Platforms {
    /// Windows hosts: EVTX and other Windows channels, IIS.
    pub windows: bool,
    /// Linux hosts: auth, syslog, auditd, Sysmon for Linux.
    pub linux: bool,
    /// macOS hosts.
    pub macos: bool,
    /// On-premises network sensors (Zeek): they see the traffic of hosts of
    /// any operating system, and network devices.
    pub network: bool,
    /// Cloud or SaaS audit logs (AWS, Azure, GCP, Microsoft 365, Okta…).
    pub cloud: bool,
    /// Container orchestration logs (Kubernetes).
    pub containers: bool,
    /// Web server logs (IIS, Apache, Nginx): they also record reconnaissance
    /// against the victim's sites (ATT&CK's `PRE` platform).
    pub web: bool,
}

impl Platforms {
    /// Record the system an event was logged on.
    fn observe(&mut self, e: &Event) {
        for l in e.logsources() {
            if l.category.as_deref() == Some("webserver") {
                self.web = true;
            }
            match l.product.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("windows" | "iis") => self.windows = true,
                Some("linux") => self.linux = true,
                Some("macos") => self.macos = true,
                Some("zeek") => self.network = true,
                Some(
                    "aws" | "azure" | "gcp" | "m365" | "okta" | "onelogin" | "google_workspace"
                    | "github" | "bitbucket" | "cisco_duo" | "microsoft365",
                ) => self.cloud = true,
                Some("kubernetes") => self.containers = true,
                _ => {}
            }
        }
        // EVTX and Windows JSON exports carry a Windows channel and event id
        // and no product.
        if e.logsource.product.is_none() && e.event_id.is_some() && e.channel.is_some() {
            self.windows = true;
        }
    }

    fn merge(&mut self, o: &Platforms) {
        self.windows |= o.windows;
        self.linux |= o.linux;
        self.macos |= o.macos;
        self.network |= o.network;
        self.cloud |= o.cloud;
        self.containers |= o.containers;
        self.web |= o.web;
    }

    /// The ATT&CK platforms (`x_mitre_platforms` names, older and current)
    /// whose techniques this evidence could show, sorted; empty when no
    /// event's system is known.
    pub fn attack_platforms(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.windows || self.network {
            out.push("Windows");
        }
        if self.linux || self.network {
            out.push("Linux");
        }
        if self.macos || self.network {
            out.push("macOS");
        }
        if self.network {
            out.push("Network Devices");
        }
        // Scanning and searching the victim's sites show in web and network
        // logs; host event logs do not see them.
        if self.network || self.web {
            out.push("PRE");
        }
        if self.cloud {
            out.extend([
                "IaaS",
                "SaaS",
                "Office Suite",
                "Identity Provider",
                "Office 365",
                "Azure AD",
                "Google Workspace",
            ]);
        }
        if self.containers {
            out.push("Containers");
        }
        out.sort_unstable();
        out
    }
}

impl EvidenceCoverage {
    /// Count one event.
    pub fn observe(&mut self, e: &Event) {
        self.events += 1;
        self.no_time += u64::from(e.timestamp.is_none());
        self.no_host += u64::from(e.host.as_deref().is_none_or(str::is_empty));
        self.no_logsource += u64::from(!has_logsource(e));
        self.platforms.observe(e);
    }

    /// Add another file's counts.
    pub fn merge(&mut self, other: &EvidenceCoverage) {
        self.events += other.events;
        self.no_time += other.no_time;
        self.placeholder_time += other.placeholder_time;
        self.future_time += other.future_time;
        self.no_host += other.no_host;
        self.no_logsource += other.no_logsource;
        self.platforms.merge(&other.platforms);
    }

    /// ATT&CK platforms the evidence could show ([`Platforms::attack_platforms`]).
    pub fn attack_platforms(&self) -> Vec<&'static str> {
        self.platforms.attack_platforms()
    }

    /// Whether most events could not be classified (had no log source).
    pub fn mostly_unclassified(&self) -> bool {
        self.events > 0 && self.no_logsource as f64 > self.events as f64 * MOSTLY
    }

    /// One sentence per kind of gap, e.g. "531 of 674 events have no
    /// timestamp"; empty when every event was placed. (Warnings made from
    /// them start with [`NOTE_PREFIX`].)
    pub fn gaps(&self) -> Vec<String> {
        let m = self.events;
        let mut out = Vec::new();
        if self.no_logsource > 0 {
            out.push(format!(
                "{} of {m} events could not be classified (no channel or log source); no log-source rule was applied to them",
                self.no_logsource
            ));
        }
        if self.placeholder_time > 0 {
            out.push(format!(
                "{} of {m} events carry a placeholder time (before 1980, e.g. the zero of Windows FILETIME, 1601-01-01, or of Unix time, 1970-01-01; or in the year 9999 or later); kahu read them as having no timestamp",
                self.placeholder_time
            ));
        }
        if self.future_time > 0 {
            out.push(format!(
                "{} of {m} events carry a time more than two days after kahu read them (a forged record or a wrong clock, e.g. 2999-12-31); kahu read them as having no timestamp, and the record keeps the time as written",
                self.future_time
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

/// Whether `t` is a placeholder rather than a time an event happened: an
/// unset field reads as the zero of its clock (Windows FILETIME's
/// 1601-01-01, Unix's 1970-01-01) or as a "never" far in the future. No
/// system that writes these logs ran before 1980. Taken at face value,
/// one such record stretches the case's first/last seen, its timeline and
/// its time windows over centuries.
pub(crate) fn placeholder_time(t: &kahu_event::Timestamp) -> bool {
    use chrono::Datelike;
    // The UTC date as stored: `DateTime::year` goes through the local
    // time (an offset added), which cost ≈ 140 instructions per event.
    let year = t.naive_utc().year();
    !(1980..9999).contains(&year)
}

/// How far past the time of reading an event's time may lie: a host clock
/// a little ahead is common; a record dated years ahead (one forged
/// `2999-12-31` stretched a case's histogram over a millennium, probe 18)
/// is not a time anything happened.
pub(crate) const FUTURE_SLACK: chrono::TimeDelta = chrono::TimeDelta::days(2);

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
                placeholder_time: 0,
                future_time: 0,
                no_host: 1,
                no_logsource: 1,
                platforms: Platforms {
                    network: true,
                    ..Platforms::default()
                },
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
        // A channel without an event id (the Security line above has none)
        // is not taken for Windows; Zeek traffic is on-premises hosts.
        assert_eq!(
            a.attack_platforms(),
            ["Linux", "Network Devices", "PRE", "Windows", "macOS"]
        );
    }

    #[test]
    fn platforms_follow_the_log_sources() {
        let mut c = EvidenceCoverage::default();
        let mut evtx = event(true, true, Some("Security"), LogSource::default());
        evtx.event_id = Some(4624);
        c.observe(&evtx);
        c.observe(&event(
            true,
            true,
            Some("iis"),
            LogSource::product("iis").with_category("webserver"),
        ));
        assert_eq!(c.attack_platforms(), ["PRE", "Windows"]);
        let mut cloud = EvidenceCoverage::default();
        cloud.observe(&event(
            true,
            true,
            None,
            LogSource::product("aws").with_service("cloudtrail"),
        ));
        c.merge(&cloud);
        assert!(c.attack_platforms().contains(&"IaaS"));
        assert!(c.attack_platforms().contains(&"Windows"));
        assert!(!c.attack_platforms().contains(&"Linux"));
        assert!(!EvidenceCoverage::default().mostly_unclassified());
    }
}
