//! The streaming side: matched events are reduced to compact records,
//! keyed per (correlation, group) and buffered until [`CorrelationEngine::finish`].

use crate::intern::{Interner, push_part};
use crate::rule::CorrelationType;
use crate::set::BoundCorrelations;
use kahu_event::{Event, Location};
use kahu_sigma::RuleIdx;
use std::borrow::Cow;
use std::sync::Arc;

/// Caps that keep memory bounded on hostile or huge evidence. When a cap
/// bites, the engine keeps going, counts what it dropped in [`Stats`] and
/// reports a warning in [`Outcome::warnings`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Matched-event records buffered across all correlations (a record
    /// is 48 bytes plus its group key and origin, shared between records).
    pub max_records: usize,
    /// Distinct group keys (and distinct `value_count` values) per
    /// correlation. Records for new keys beyond the cap are dropped; the
    /// keys already seen keep exact results.
    pub max_groups: usize,
    /// Contributing events listed in [`kahu_finding::Finding::related`].
    pub max_related: usize,
    /// Findings per correlation.
    pub max_findings: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_records: 8_000_000,
            max_groups: 1_000_000,
            max_related: 32,
            max_findings: 10_000,
        }
    }
}

/// Counters of what the engine saw and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// `observe` calls.
    pub observed: u64,
    /// Records buffered (one per consuming correlation).
    pub recorded: u64,
    /// Matches skipped because the event has no timestamp.
    pub no_timestamp: u64,
    /// Records skipped because a `group-by` field is absent (the
    /// specification groups by values, and an absent field has none).
    pub missing_group_field: u64,
    /// Records skipped because the `condition.field` value is absent (or,
    /// for `value_sum`/`value_avg`, not a finite number).
    pub missing_value: u64,
    /// `merge` calls with an engine of different [`BoundCorrelations`]
    /// (ignored: its group keys would not line up).
    pub mismatched_merges: u64,
    /// Records dropped by [`Limits::max_records`].
    pub dropped_record_cap: u64,
    /// Records dropped by [`Limits::max_groups`].
    pub dropped_group_cap: u64,
    /// Findings dropped by [`Limits::max_findings`].
    pub dropped_findings: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.observed += o.observed;
        self.recorded += o.recorded;
        self.no_timestamp += o.no_timestamp;
        self.missing_group_field += o.missing_group_field;
        self.missing_value += o.missing_value;
        self.dropped_record_cap += o.dropped_record_cap;
        self.dropped_group_cap += o.dropped_group_cap;
        self.dropped_findings += o.dropped_findings;
        self.mismatched_merges += o.mismatched_merges;
    }
}

/// A cap that bit or another reason correlation results may be incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationWarning {
    /// The correlation at fault, when one is (a per-correlation cap); `None`
    /// for the engine's own limits.
    pub rule_id: Option<std::sync::Arc<str>>,
    /// What happened, in words (the correlation's title when there is
    /// one; its id is `rule_id`).
    pub reason: String,
}

impl CorrelationWarning {
    /// A warning about the engine as a whole.
    pub(crate) fn engine(reason: String) -> Self {
        CorrelationWarning {
            rule_id: None,
            reason,
        }
    }
}

/// `correlation RULE-ID: reason`, or `correlation engine: reason` for the
/// engine's own limits: where the warning comes from, then what happened.
impl std::fmt::Display for CorrelationWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule_id {
            Some(id) => write!(f, "correlation {id}: {}", self.reason),
            None => write!(f, "correlation engine: {}", self.reason),
        }
    }
}

/// Everything [`CorrelationEngine::finish_report`] produces.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Correlation findings, sorted by time, then rule.
    pub findings: Vec<kahu_finding::Finding>,
    /// Caps that bit, and other reasons results may be incomplete.
    pub warnings: Vec<CorrelationWarning>,
    /// Counters.
    pub stats: Stats,
}

/// One buffered match.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rec {
    /// Microseconds since the epoch.
    pub ts: i64,
    /// `f64` bits (numeric types) or an interned value id.
    pub val: u64,
    pub loc: Location,
    pub key: u32,
    pub origin: u32,
    /// Index into [`CorrState::carry`], or `u32::MAX`.
    pub carry: u32,
    pub slot: u16,
}

/// What identifies where a record came from, interned once per
/// (file, member, host, channel, event id) — few per evidence file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Origin {
    pub file: Arc<str>,
    pub member: Option<Arc<str>>,
    pub host: Option<Arc<str>>,
    pub channel: Option<Arc<str>>,
    pub event_id: Option<u32>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn records_stay_small() {
        // The memory budget in the docs and benchmarks assumes this.
        assert!(std::mem::size_of::<super::Rec>() <= 48);
    }
}

#[derive(Default)]
pub(crate) struct CorrState {
    pub keys: Interner,
    pub values: Interner,
    pub recs: Vec<Rec>,
    pub carry: Vec<Box<[Option<Arc<str>>]>>,
    pub dropped_groups: u64,
}

/// Field access over an event or over a correlation hit (chaining).
pub(crate) enum Src<'a> {
    Event(&'a Event),
    Hit(&'a [(Arc<str>, Arc<str>)]),
}

impl Src<'_> {
    fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        match self {
            Src::Event(e) => e.get_str(name).or_else(|| typed_member(e, name)),
            Src::Hit(f) => f
                .iter()
                .find(|(k, _)| &**k == name)
                .or_else(|| f.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| Cow::Borrowed(&**v)),
        }
    }

    fn number(&self, name: &str) -> Option<f64> {
        match self {
            Src::Event(e) => e.get(name).and_then(|v| v.as_f64()),
            Src::Hit(_) => self.text(name).and_then(|t| t.trim().parse().ok()),
        }
        .filter(|x: &f64| x.is_finite())
    }
}

/// The event's typed members under the names correlation rules use for
/// them when the record has no such field: SigmaHQ correlations group by
/// `ComputerName`, which Windows events carry as `Computer` (hoisted to
/// [`Event::host`]).
fn typed_member<'a>(e: &'a Event, name: &str) -> Option<Cow<'a, str>> {
    let n = name.to_ascii_lowercase();
    match n.as_str() {
        "computer" | "computername" | "hostname" | "host.name" | "host.hostname" => {
            e.host.as_deref().map(Cow::Borrowed)
        }
        "channel" => e.channel.as_deref().map(Cow::Borrowed),
        "provider_name" => e.provider.as_deref().map(Cow::Borrowed),
        "eventid" => e.event_id.map(|i| Cow::Owned(i.to_string())),
        _ => None,
    }
}

/// Windowed evaluation of bound correlations over matched events.
///
/// Feed it with [`observe`](Self::observe) for every match of a rule that
/// [`BoundCorrelations::wants`]; call [`finish`](Self::finish) once all
/// evidence is read. The engine is `Send`: use one per worker thread and
/// [`merge`](Self::merge) them at the end, or feed one engine from a
/// collector thread — results are identical either way, because all
/// ordering happens in `finish`.
pub struct CorrelationEngine {
    pub(crate) bound: BoundCorrelations,
    pub(crate) limits: Limits,
    origin_ids: hashbrown::HashMap<Origin, u32>,
    pub(crate) origins: Vec<Origin>,
    pub(crate) states: Vec<CorrState>,
    pub(crate) stats: Stats,
    pub(crate) total: usize,
    keybuf: String,
    valbuf: String,
}

impl std::fmt::Debug for CorrelationEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorrelationEngine")
            .field("correlations", &self.states.len())
            .field("records", &self.total)
            .field("stats", &self.stats)
            .finish()
    }
}

impl CorrelationEngine {
    pub(crate) fn new(bound: BoundCorrelations, limits: Limits) -> Self {
        let n = bound.len();
        CorrelationEngine {
            bound,
            limits,
            origin_ids: hashbrown::HashMap::new(),
            origins: Vec::new(),
            states: (0..n).map(|_| CorrState::default()).collect(),
            stats: Stats::default(),
            total: 0,
            keybuf: String::new(),
            valbuf: String::new(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Records buffered so far.
    pub fn buffered(&self) -> usize {
        self.total
    }

    /// Take one match of detection rule `idx` on `event`. Cheap for rules
    /// no correlation consumes; events without a timestamp are counted and
    /// skipped (they cannot be placed in a window).
    pub fn observe(&mut self, idx: RuleIdx, event: &Event) {
        let inner = self.bound.inner.clone();
        let Some(routes) = inner.routes.get(idx.0 as usize) else {
            return;
        };
        if routes.is_empty() {
            return;
        }
        self.stats.observed += 1;
        let Some(ts) = event.timestamp else {
            self.stats.no_timestamp += 1;
            return;
        };
        let ts = ts.timestamp_micros();
        let mut origin = None;
        for &(c, slot) in routes {
            self.record(c as usize, slot, ts, &Src::Event(event), &mut origin, |e| {
                let Src::Event(ev) = e else {
                    unreachable!("observe passes an event")
                };
                (
                    Origin {
                        file: ev.provenance.file.clone(),
                        member: ev.provenance.member.clone(),
                        host: ev.host.clone(),
                        channel: ev.channel.clone(),
                        event_id: ev.event_id,
                    },
                    ev.provenance.location,
                )
            });
        }
    }

    /// Buffer one record for correlation `c`. `origin` caches the interned
    /// origin across the correlations one event feeds.
    pub(crate) fn record(
        &mut self,
        c: usize,
        slot: u16,
        ts: i64,
        src: &Src<'_>,
        origin: &mut Option<(u32, Location)>,
        make_origin: impl FnOnce(&Src<'_>) -> (Origin, Location),
    ) {
        let inner = self.bound.inner.clone();
        let b = &inner.corrs[c];
        if self.total >= self.limits.max_records {
            self.stats.dropped_record_cap += 1;
            return;
        }
        let mut key = std::mem::take(&mut self.keybuf);
        key.clear();
        for f in &b.group_fields[slot as usize] {
            match src.text(f) {
                Some(v) => push_part(&mut key, &v),
                None => {
                    self.stats.missing_group_field += 1;
                    self.keybuf = key;
                    return;
                }
            }
        }
        let st = &mut self.states[c];
        let fields = &b.value_fields[slot as usize];
        let val = match b.def.kind {
            k if k.numeric() => match fields.first().and_then(|f| src.number(f)) {
                Some(x) => x.to_bits(),
                None => {
                    self.stats.missing_value += 1;
                    self.keybuf = key;
                    return;
                }
            },
            CorrelationType::ValueCount | CorrelationType::ValuePercentile => {
                let mut vb = std::mem::take(&mut self.valbuf);
                vb.clear();
                let mut ok = true;
                for f in fields {
                    match src.text(f) {
                        Some(v) => push_part(&mut vb, &v),
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                let id = if ok {
                    st.values.intern(&vb, self.limits.max_groups)
                } else {
                    None
                };
                self.valbuf = vb;
                match id {
                    Some(id) => u64::from(id),
                    None => {
                        if ok {
                            st.dropped_groups += 1;
                            self.stats.dropped_group_cap += 1;
                        } else {
                            self.stats.missing_value += 1;
                        }
                        self.keybuf = key;
                        return;
                    }
                }
            }
            _ => 0,
        };
        let key_id = st.keys.intern(&key, self.limits.max_groups);
        self.keybuf = key;
        let Some(key_id) = key_id else {
            st.dropped_groups += 1;
            self.stats.dropped_group_cap += 1;
            return;
        };
        let (origin_id, loc) = match origin {
            Some(o) => *o,
            None => {
                let (o, loc) = make_origin(src);
                let next = self.origins.len() as u32;
                let id = *self.origin_ids.entry(o).or_insert_with_key(|o| {
                    self.origins.push(o.clone());
                    next
                });
                *origin = Some((id, loc));
                (id, loc)
            }
        };
        let st = &mut self.states[c];
        let carry = if b.carry.is_empty() {
            u32::MAX
        } else {
            st.carry.push(
                b.carry
                    .iter()
                    .map(|f| src.text(f).map(|v| Arc::from(&*v)))
                    .collect(),
            );
            (st.carry.len() - 1) as u32
        };
        st.recs.push(Rec {
            ts,
            val,
            loc,
            key: key_id,
            origin: origin_id,
            carry,
            slot,
        });
        self.total += 1;
        self.stats.recorded += 1;
    }

    /// Fold another engine into this one, e.g. per-thread engines at the
    /// end of a parallel scan. Both must come from the same
    /// [`BoundCorrelations`] (or a clone of it); otherwise nothing is merged
    /// and `finish` reports it. Caps apply to the merged total.
    pub fn merge(&mut self, other: CorrelationEngine) {
        if !Arc::ptr_eq(&self.bound.inner, &other.bound.inner) {
            self.stats.mismatched_merges += 1;
            return;
        }
        let CorrelationEngine {
            origins,
            states,
            mut stats,
            ..
        } = other;
        // Records are re-counted as they are re-added below.
        stats.recorded = 0;
        self.stats.add(&stats);
        let mut origin_map: Vec<Option<u32>> = vec![None; origins.len()];
        for (c, st) in states.into_iter().enumerate() {
            if c >= self.states.len() {
                break;
            }
            let numeric = self.bound.inner.corrs[c].def.kind.numeric();
            let interned = matches!(
                self.bound.inner.corrs[c].def.kind,
                CorrelationType::ValueCount | CorrelationType::ValuePercentile
            );
            for r in st.recs {
                if self.total >= self.limits.max_records {
                    self.stats.dropped_record_cap += 1;
                    continue;
                }
                let mine = &mut self.states[c];
                let Some(key) = mine.keys.intern(st.keys.get(r.key), self.limits.max_groups) else {
                    mine.dropped_groups += 1;
                    self.stats.dropped_group_cap += 1;
                    continue;
                };
                let val = if interned && !numeric {
                    match mine
                        .values
                        .intern(st.values.get(r.val as u32), self.limits.max_groups)
                    {
                        Some(v) => u64::from(v),
                        None => {
                            mine.dropped_groups += 1;
                            self.stats.dropped_group_cap += 1;
                            continue;
                        }
                    }
                } else {
                    r.val
                };
                let carry = if r.carry == u32::MAX {
                    u32::MAX
                } else {
                    let row = st.carry.get(r.carry as usize).cloned().unwrap_or_default();
                    mine.carry.push(row);
                    (mine.carry.len() - 1) as u32
                };
                let origin = match origin_map.get(r.origin as usize).copied().flatten() {
                    Some(o) => o,
                    None => {
                        let o = origins[r.origin as usize].clone();
                        let next = self.origins.len() as u32;
                        let id = *self.origin_ids.entry(o).or_insert_with_key(|o| {
                            self.origins.push(o.clone());
                            next
                        });
                        origin_map[r.origin as usize] = Some(id);
                        id
                    }
                };
                self.states[c].recs.push(Rec {
                    key,
                    val,
                    carry,
                    origin,
                    ..r
                });
                self.total += 1;
                self.stats.recorded += 1;
            }
        }
    }

    /// Evaluate every correlation and return its findings (see
    /// [`finish_report`](Self::finish_report) for warnings and counters).
    pub fn finish(self) -> Vec<kahu_finding::Finding> {
        self.finish_report().findings
    }

    /// Evaluate every correlation: findings, warnings and counters.
    pub fn finish_report(self) -> Outcome {
        crate::window::finish(self)
    }
}
