//! Beaconing: one source contacting one destination and port at a regular
//! interval, the signature of an implant polling its C2 server. Read from
//! Sysmon network connections (event 3) and Zeek `conn` records.
//!
//! A series is a beacon when it has at least [`MIN_CONTACTS`] contacts
//! (connections within one second count once), a median interval between
//! [`MIN_INTERVAL_SECS`] and one day, and at least [`MIN_REGULARITY`] of
//! its intervals within 20 % (and at least 2 s) of the median. Protocols
//! that are periodic by design (DNS, NTP, Kerberos, LDAP, NetBIOS, SSDP,
//! syslog, SNMP, DHCP) are not considered: their regularity says nothing.
//!
//! Memory: at most [`MAX_SERIES`] series of at most 2 × [`MAX_POINTS`]
//! times and [`MAX_PROCESSES`] process names each; series and points
//! turned away are counted.
//!
//! Runs repeat exactly whatever order the reader threads deliver events
//! in: a series keeps its earliest [`MAX_POINTS`] times (not the first
//! delivered), and names the process seen most often (ties: the first by
//! name), not the first one delivered.

use crate::classify::{IpClass, classify_ip, parse_ip};
use crate::util::{CappedMap, int, text};
use kahu_event::{Event, Provenance, Timestamp};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Contacts a series needs before its regularity means anything.
pub(super) const MIN_CONTACTS: usize = 10;
/// Shortest median interval considered (faster is streaming, not polling).
pub(super) const MIN_INTERVAL_SECS: f64 = 5.0;
/// Share of intervals near the median that makes a series regular.
pub(super) const MIN_REGULARITY: f64 = 0.7;
/// Series kept.
pub(super) const MAX_SERIES: usize = 10_000;
/// Process names counted per series; more distinct names are counted
/// together as others.
pub(super) const MAX_PROCESSES: usize = 16;
/// Times kept per series.
pub(super) const MAX_POINTS: usize = 1024;

/// Ports whose traffic is periodic by design.
const PERIODIC_BY_DESIGN: &[i64] = &[
    53, 67, 68, 88, 123, 137, 138, 161, 162, 389, 514, 636, 1900, 3268, 3269, 5353, 5355,
];

/// One beaconing series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Beacon {
    /// The polling side: host name (Sysmon) or address (Zeek).
    pub source: String,
    /// Destination address.
    pub destination: String,
    /// Destination class (internal C2 relays are as real as external ones).
    pub destination_class: IpClass,
    /// Destination port.
    pub port: u16,
    /// The process that connected (Sysmon `Image`), when known: the one
    /// seen in the most contacts.
    pub process: Option<String>,
    /// Every process seen with its connection count, most first (empty
    /// without Sysmon); connections of processes past the per-series cap
    /// are in [`Beacon::other_process_connections`].
    #[serde(default)]
    pub processes: Vec<(String, u64)>,
    /// Connections made by processes not counted by name.
    #[serde(default)]
    pub other_process_connections: u64,
    /// Contacts counted (connections within one second count once).
    pub contacts: u64,
    /// Median interval between contacts, in seconds.
    pub interval_secs: f64,
    /// Share of intervals within 20 % of the median.
    pub regularity: f64,
    /// First contact.
    pub first: Timestamp,
    /// Last contact.
    pub last: Timestamp,
    /// More contacts happened than were kept for timing.
    pub truncated: bool,
    /// Records to look at.
    pub samples: Vec<Provenance>,
}

#[derive(Debug, Clone, Default)]
struct Series {
    times: Vec<i64>,
    seen: u64,
    processes: Vec<(String, u64)>,
    other_processes: u64,
    samples: Vec<Provenance>,
}

impl Series {
    fn add_time(&mut self, t: i64) {
        self.times.push(t);
        if self.times.len() >= 2 * MAX_POINTS {
            keep_earliest(&mut self.times);
        }
    }

    fn add_process(&mut self, name: &str, n: u64) {
        if let Some(p) = self.processes.iter_mut().find(|(p, _)| p == name) {
            p.1 += n;
        } else if self.processes.len() < MAX_PROCESSES {
            self.processes.push((name.to_string(), n));
        } else {
            self.other_processes += n;
        }
    }
}

/// The earliest [`MAX_POINTS`] times, sorted.
fn keep_earliest(times: &mut Vec<i64>) {
    times.sort_unstable();
    times.truncate(MAX_POINTS);
}

type Key = (String, IpAddr, u16);

/// Accumulator for beacon series.
#[derive(Debug, Clone)]
pub(crate) struct Beacons {
    series: CappedMap<Key, Series>,
}

impl Beacons {
    pub(crate) fn new() -> Self {
        Beacons {
            series: CappedMap::new(MAX_SERIES),
        }
    }

    pub(crate) fn observe(&mut self, e: &Event) {
        let sysmon =
            e.event_id == Some(3) && e.channel.as_deref().is_some_and(|c| c.contains("Sysmon"));
        let zeek = e.logsource.product.as_deref() == Some("zeek")
            && e.logsource.service.as_deref() == Some("conn");
        if !(sysmon || zeek) {
            return;
        }
        let Some(t) = e.timestamp else { return };
        if sysmon
            && e.get("Initiated")
                .and_then(|v| v.as_text())
                .is_some_and(|v| v.eq_ignore_ascii_case("false"))
        {
            return;
        }
        let Some(dst) =
            text(e, &["DestinationIp", "id.resp_h", "dst_ip"]).and_then(|s| parse_ip(&s))
        else {
            return;
        };
        if !matches!(classify_ip(dst), IpClass::Internal | IpClass::External) {
            return;
        }
        let Some(port) = int(e, &["DestinationPort", "id.resp_p", "dst_port"])
            .filter(|p| (1..=65535).contains(p) && !PERIODIC_BY_DESIGN.contains(p))
        else {
            return;
        };
        let source = match (sysmon, e.host.as_deref()) {
            (true, Some(h)) => h.split('.').next().unwrap_or(h).to_lowercase(),
            _ => match text(e, &["SourceIp", "id.orig_h", "src_ip"]).and_then(|s| parse_ip(&s)) {
                Some(ip) if ip != dst => ip.to_string(),
                _ => return,
            },
        };
        let key: Key = (source, dst, port as u16);
        let Some(s) = self.series.slot(&key, || (key.clone(), Series::default())) else {
            return;
        };
        s.seen += 1;
        s.add_time(t.timestamp_millis());
        if sysmon && let Some(image) = text(e, &["Image"]) {
            s.add_process(&image, 1);
        }
        keep_sample(&mut s.samples, e.provenance.clone());
    }

    pub(crate) fn merge(&mut self, other: Beacons) {
        self.series.merge(other.series, |a, b| {
            a.seen += b.seen;
            for t in b.times {
                a.add_time(t);
            }
            for (p, n) in &b.processes {
                a.add_process(p, *n);
            }
            a.other_processes += b.other_processes;
            for s in b.samples {
                keep_sample(&mut a.samples, s);
            }
        });
    }

    pub(crate) fn dropped(&self) -> [(&'static str, u64); 2] {
        let points = self
            .series
            .map
            .values()
            .map(|s| s.seen.saturating_sub(MAX_POINTS as u64))
            .sum();
        [
            ("beacon_series", self.series.dropped),
            ("beacon_times", points),
        ]
    }

    pub(crate) fn finish(self) -> Vec<Beacon> {
        let mut out: Vec<Beacon> = self
            .series
            .map
            .into_iter()
            .filter_map(|((source, dst, port), s)| {
                let mut times = s.times;
                keep_earliest(&mut times);
                // Several connections in one second are one contact.
                times.dedup_by(|b, a| *b - *a < 1000);
                let timing = regularity(&times)?;
                let first = Timestamp::from_timestamp_millis(*times.first()?)?;
                let last = Timestamp::from_timestamp_millis(*times.last()?)?;
                let samples = s.samples;
                let mut processes = s.processes;
                processes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                Some(Beacon {
                    source,
                    destination: dst.to_string(),
                    destination_class: classify_ip(dst),
                    port,
                    process: processes.first().map(|p| p.0.clone()),
                    processes,
                    other_process_connections: s.other_processes,
                    contacts: times.len() as u64,
                    interval_secs: timing.0,
                    regularity: timing.1,
                    first,
                    last,
                    truncated: s.seen > MAX_POINTS as u64,
                    samples,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.contacts.cmp(&a.contacts).then_with(|| {
                (&a.source, &a.destination, a.port).cmp(&(&b.source, &b.destination, b.port))
            })
        });
        out
    }
}

/// Keep the three smallest provenances: the same records whatever order
/// the threads saw them in, so runs repeat exactly.
fn keep_sample(samples: &mut Vec<Provenance>, p: Provenance) {
    if (samples.len() < 3 || samples.last().is_some_and(|l| p < *l))
        && let Err(i) = samples.binary_search(&p)
    {
        samples.insert(i, p);
        samples.truncate(3);
    }
}

/// (median interval in seconds, share of regular intervals) when `times`
/// (sorted, ms) is a beacon.
pub(crate) fn regularity(times: &[i64]) -> Option<(f64, f64)> {
    if times.len() < MIN_CONTACTS {
        return None;
    }
    let mut gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2] as f64 / 1000.0;
    if !(MIN_INTERVAL_SECS..=86_400.0).contains(&median) {
        return None;
    }
    let tolerance = (median * 0.2).max(2.0);
    let near = gaps
        .iter()
        .filter(|&&g| (g as f64 / 1000.0 - median).abs() <= tolerance)
        .count();
    let share = near as f64 / gaps.len() as f64;
    (share >= MIN_REGULARITY).then_some((median, share))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(start: i64, step: i64, n: usize, jitter: impl Fn(usize) -> i64) -> Vec<i64> {
        (0..n)
            .map(|i| start + step * i as i64 + jitter(i))
            .collect()
    }

    #[test]
    fn a_jittered_poll_is_a_beacon_and_random_traffic_is_not() {
        // 60 s ± 5 s jitter, 30 contacts.
        let b = series(0, 60_000, 30, |i| ((i * 7919) % 11) as i64 * 1000 - 5000);
        let (m, share) = regularity(&b).expect("beacon");
        assert!(
            (50.0..=70.0).contains(&m) && share >= MIN_REGULARITY,
            "{m} {share}"
        );
        // Irregular: gaps from a scrambled sequence between 1 s and 10 min.
        let mut t = 0;
        let r: Vec<i64> = (0..40)
            .map(|i| {
                t += 1000 + ((i * 104_729) % 600) as i64 * 1000;
                t
            })
            .collect();
        assert!(regularity(&r).is_none());
        // Too few contacts, too fast.
        assert!(regularity(&series(0, 60_000, 5, |_| 0)).is_none());
        assert!(regularity(&series(0, 1000, 100, |_| 0)).is_none());
    }
}
