//! Small bounded building blocks shared by the analytics: tolerant field
//! lookup, first/last-seen spans, earliest-N samples, capped maps and
//! bounded time series.
//!
//! Every structure here is mergeable, so per-thread accumulators can be
//! combined in any order.

use hashbrown::HashMap;
use kahu_event::{Event, Provenance, Timestamp};
use serde::Serialize;
use std::borrow::Cow;
use std::hash::Hash;

/// The first of `names` present on the event with a meaningful value
/// (not empty, not `-`). Readers disagree on names, so analytics always ask
/// for a list of candidates.
pub(crate) fn text<'a>(e: &'a Event, names: &[&str]) -> Option<Cow<'a, str>> {
    for n in names {
        if let Some(v) = e.get_str(n) {
            let t = v.trim();
            if !t.is_empty() && t != "-" {
                return Some(match v {
                    Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
                    Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
                });
            }
        }
    }
    None
}

/// A field parsed as an integer (decimal or `0x` hex).
pub(crate) fn int(e: &Event, names: &[&str]) -> Option<i64> {
    names.iter().find_map(|n| e.get(n).and_then(|v| v.as_i64()))
}

/// Cut attacker-controlled text to a bounded length on a char boundary.
pub(crate) use kahu_event::text::clip_marked as clip;

/// Upper bound on any stored string (account names, command lines, paths).
pub(crate) const MAX_TEXT: usize = 1024;

/// Milliseconds since the epoch, the compact time unit used in series.
pub(crate) fn ms(t: &Timestamp) -> i64 {
    t.timestamp_millis()
}

/// Back from milliseconds; out-of-range values (impossible for values that
/// came from a `Timestamp`) become `None`.
pub(crate) fn from_ms(ms: i64) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp_millis(ms)
}

/// First and last time something was seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Earliest timestamp seen.
    pub first_seen: Option<Timestamp>,
    /// Latest timestamp seen.
    pub last_seen: Option<Timestamp>,
}

impl Span {
    /// Widen the span to include `t`.
    pub fn observe(&mut self, t: Option<Timestamp>) {
        let Some(t) = t else { return };
        if self.first_seen.is_none_or(|f| t < f) {
            self.first_seen = Some(t);
        }
        if self.last_seen.is_none_or(|l| t > l) {
            self.last_seen = Some(t);
        }
    }

    /// Widen the span to include another.
    pub fn merge(&mut self, other: &Span) {
        self.observe(other.first_seen);
        self.observe(other.last_seen);
    }
}

/// The earliest `N` pieces of evidence by timestamp (events without time
/// sort last). Keeping the earliest rather than the first-arrived makes the
/// result independent of the order files were read in.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub(crate) struct Samples {
    items: Vec<(Option<Timestamp>, Provenance)>,
}

/// How many provenance samples each table row keeps.
pub(crate) const SAMPLES: usize = 3;

impl Samples {
    pub(crate) fn add(&mut self, t: Option<Timestamp>, p: &Provenance) {
        // Ties in time are broken by provenance: matcher threads see events
        // in a different order on every run, and the kept samples must not.
        let key = (sort_key(t), p);
        if self.items.len() >= SAMPLES {
            let worst = self.items.last().map(|(t, q)| (sort_key(*t), q));
            if worst.is_some_and(|w| key >= w) {
                return;
            }
            self.items.pop();
        }
        let at = self
            .items
            .partition_point(|(x, q)| (sort_key(*x), q) <= key);
        self.items.insert(at, (t, p.clone()));
    }

    pub(crate) fn merge(&mut self, other: Samples) {
        for (t, p) in other.items {
            self.add(t, &p);
        }
    }

    /// The samples, earliest first.
    pub(crate) fn provenances(&self) -> impl Iterator<Item = &Provenance> {
        self.items.iter().map(|(_, p)| p)
    }
}

fn sort_key(t: Option<Timestamp>) -> i64 {
    t.map(|t| ms(&t)).unwrap_or(i64::MAX)
}

/// A hash map that stops admitting new keys at `cap` and counts what it
/// turned away, so a flood of distinct attacker-chosen values (random user
/// names in a spray) cannot exhaust memory. Existing keys keep updating.
#[derive(Debug, Clone)]
pub(crate) struct CappedMap<K, V> {
    pub(crate) map: HashMap<K, V>,
    pub(crate) cap: usize,
    /// Observations whose key was refused because the map was full.
    pub(crate) dropped: u64,
}

impl<K: Hash + Eq, V> CappedMap<K, V> {
    pub(crate) fn new(cap: usize) -> Self {
        CappedMap {
            map: HashMap::new(),
            cap,
            dropped: 0,
        }
    }

    /// The entry for `k`, created with `make` if there is room; `None`
    /// (and a dropped count) when the map is full and `k` is new.
    pub(crate) fn slot<Q>(&mut self, k: &Q, make: impl FnOnce() -> (K, V)) -> Option<&mut V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.map.contains_key(k) {
            if self.map.len() >= self.cap {
                self.dropped += 1;
                return None;
            }
            let (key, v) = make();
            self.map.insert(key, v);
        }
        self.map.get_mut(k)
    }

    /// Fold another map in, combining values present in both.
    pub(crate) fn merge(&mut self, other: CappedMap<K, V>, mut combine: impl FnMut(&mut V, V)) {
        self.dropped += other.dropped;
        for (k, v) in other.map {
            if let Some(mine) = self.map.get_mut(&k) {
                combine(mine, v);
            } else if self.map.len() < self.cap {
                self.map.insert(k, v);
            } else {
                self.dropped += 1;
            }
        }
    }
}

/// A bounded series of event times for windowed counting.
///
/// Times are exact (millisecond) until the series holds more than `cap`
/// distinct instants; then it is coarsened by bucketing (1 s, 2 s, 4 s…)
/// until it fits. Window counts on a coarsened series may include events up
/// to `resolution_ms` beyond the window, which callers report.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimeSeries {
    /// Bucket width in ms; 0 while exact.
    pub(crate) resolution_ms: i64,
    points: Vec<(i64, u32)>,
    /// Points before this index are sorted, deduplicated and bucketed.
    clean: usize,
}

impl TimeSeries {
    /// `n` events at one instant (a record standing for repeats).
    pub(crate) fn push_n(&mut self, t_ms: i64, n: u32, cap: usize) {
        self.points.push((t_ms, n.max(1)));
        if self.points.len() >= cap.max(1) * 2 {
            self.compact(cap);
        }
    }

    pub(crate) fn merge(&mut self, other: TimeSeries, cap: usize) {
        self.resolution_ms = self.resolution_ms.max(other.resolution_ms);
        self.points.extend(other.points);
        self.clean = 0;
        self.compact(cap);
    }

    /// Sort, bucket and coarsen until at most `cap` points remain.
    pub(crate) fn compact(&mut self, cap: usize) {
        let cap = cap.max(1);
        loop {
            let res = self.resolution_ms;
            if res > 0 {
                for p in &mut self.points {
                    p.0 = p.0.div_euclid(res) * res;
                }
            }
            self.points.sort_unstable_by_key(|p| p.0);
            self.points.dedup_by(|b, a| {
                if a.0 == b.0 {
                    a.1 = a.1.saturating_add(b.1);
                    true
                } else {
                    false
                }
            });
            if self.points.len() <= cap {
                break;
            }
            self.resolution_ms = if res == 0 {
                1000
            } else {
                res.saturating_mul(2)
            };
        }
        self.clean = self.points.len();
    }

    /// Sorted `(time, count)` points. Requires a prior `compact`.
    pub(crate) fn points(&self) -> &[(i64, u32)] {
        debug_assert_eq!(self.clean, self.points.len(), "compact before reading");
        &self.points
    }

    #[cfg(test)]
    pub(crate) fn total(&self) -> u64 {
        self.points.iter().map(|p| p.1 as u64).sum()
    }
}

/// The densest window: the largest number of events whose times lie within
/// `window_ms` of each other (inclusive), with the window's first and last
/// point. `points` must be sorted.
pub(crate) fn densest_window(points: &[(i64, u32)], window_ms: i64) -> Option<(u64, i64, i64)> {
    let mut best: Option<(u64, i64, i64)> = None;
    let mut start = 0;
    let mut sum: u64 = 0;
    for end in 0..points.len() {
        sum += points[end].1 as u64;
        while points[end].0 - points[start].0 > window_ms {
            sum -= points[start].1 as u64;
            start += 1;
        }
        if best.is_none_or(|b| sum > b.0) {
            best = Some((sum, points[start].0, points[end].0));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_stays_bounded_and_keeps_total() {
        let mut s = TimeSeries::default();
        for i in (0..10_000i64).rev() {
            s.push_n(i * 10, 1, 64);
        }
        s.compact(64);
        assert!(s.points().len() <= 64);
        assert_eq!(s.total(), 10_000);
        assert!(s.resolution_ms >= 1000);
        assert!(s.points().windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn densest_window_is_inclusive() {
        let pts = [(0, 1), (1000, 1), (2000, 1), (5000, 1)];
        assert_eq!(densest_window(&pts, 2000), Some((3, 0, 2000)));
        assert_eq!(densest_window(&pts, 1999).map(|b| b.0), Some(2));
        assert_eq!(densest_window(&[], 10), None);
    }

    #[test]
    fn capped_map_refuses_and_counts() {
        let mut m: CappedMap<String, u32> = CappedMap::new(2);
        for k in ["a", "b", "c", "a", "d"] {
            if let Some(v) = m.slot(k, || (k.to_string(), 0)) {
                *v += 1;
            }
        }
        assert_eq!(m.map.len(), 2);
        assert_eq!(m.map["a"], 2);
        assert_eq!(m.dropped, 2);
    }

    #[test]
    fn samples_keep_earliest_regardless_of_arrival() {
        let p = |n| Provenance::new("f".into(), kahu_event::Location::Record(n));
        let t = |s| from_ms(s * 1000);
        let mut a = Samples::default();
        for n in [5u64, 1, 4, 2, 3] {
            a.add(t(n as i64), &p(n));
        }
        let got: Vec<_> = a.provenances().map(|p| p.location).collect();
        assert_eq!(
            got,
            vec![
                kahu_event::Location::Record(1),
                kahu_event::Location::Record(2),
                kahu_event::Location::Record(3)
            ]
        );
    }
}
