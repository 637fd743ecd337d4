//! Evaluation at `finish`: sort each correlation's records by (group,
//! time), slide a window over every group, emit findings, and feed the
//! hits of inner correlations to the correlations chained on them.

use crate::engine::{CorrState, CorrelationEngine, CorrelationWarning, Origin, Outcome, Rec, Src};
use crate::intern::parts;
use crate::rule::CorrelationType;
use crate::set::BoundCorrelation;
use chrono::{DateTime, SecondsFormat, Utc};
use kahu_event::Provenance;
use kahu_finding::{Finding, FindingKind};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Aggregate state of the current window of one group.
struct Win {
    kind: CorrelationType,
    n: usize,
    sum: f64,
    /// value id → occurrences (value_count, value_percentile).
    counts: HashMap<u64, u32>,
    /// occurrences → number of values with that many (value_percentile).
    count_of_counts: BTreeMap<u32, u32>,
    /// occurrences per slot (temporal types).
    slots: Vec<u32>,
    distinct_slots: usize,
}

impl Win {
    fn new(kind: CorrelationType, nslots: usize) -> Self {
        Win {
            kind,
            n: 0,
            sum: 0.0,
            counts: HashMap::new(),
            count_of_counts: BTreeMap::new(),
            slots: vec![0; nslots],
            distinct_slots: 0,
        }
    }

    fn bump_cc(&mut self, c: u32, delta: i32) {
        if c == 0 || self.kind != CorrelationType::ValuePercentile {
            return;
        }
        let e = self.count_of_counts.entry(c).or_insert(0);
        if delta > 0 {
            *e += 1;
        } else {
            *e = e.saturating_sub(1);
            if *e == 0 {
                self.count_of_counts.remove(&c);
            }
        }
    }

    fn add(&mut self, r: &Rec) {
        self.n += 1;
        match self.kind {
            CorrelationType::ValueSum | CorrelationType::ValueAvg => {
                self.sum += f64::from_bits(r.val)
            }
            CorrelationType::ValueCount | CorrelationType::ValuePercentile => {
                let c = self.counts.entry(r.val).or_insert(0);
                let old = *c;
                *c += 1;
                self.bump_cc(old, -1);
                self.bump_cc(old + 1, 1);
            }
            CorrelationType::Temporal | CorrelationType::TemporalOrdered => {
                let s = &mut self.slots[r.slot as usize];
                if *s == 0 {
                    self.distinct_slots += 1;
                }
                *s += 1;
            }
            CorrelationType::EventCount => {}
        }
    }

    fn remove(&mut self, r: &Rec) {
        self.n -= 1;
        match self.kind {
            CorrelationType::ValueSum | CorrelationType::ValueAvg => {
                self.sum -= f64::from_bits(r.val);
                if self.n == 0 {
                    // Drop accumulated rounding error at every empty window.
                    self.sum = 0.0;
                }
            }
            CorrelationType::ValueCount | CorrelationType::ValuePercentile => {
                if let Some(c) = self.counts.get_mut(&r.val) {
                    let old = *c;
                    *c -= 1;
                    let now = *c;
                    if now == 0 {
                        self.counts.remove(&r.val);
                    }
                    self.bump_cc(old, -1);
                    self.bump_cc(now, 1);
                }
            }
            CorrelationType::Temporal | CorrelationType::TemporalOrdered => {
                let s = &mut self.slots[r.slot as usize];
                *s -= 1;
                if *s == 0 {
                    self.distinct_slots -= 1;
                }
            }
            CorrelationType::EventCount => {}
        }
    }
}

/// The aggregate a window matched with.
enum Agg {
    Count(usize),
    Distinct(usize),
    Rules { slots: Vec<u16>, matched: usize },
    Sum(f64),
    Avg(f64),
    Share { count: u32, pct: f64 },
}

/// Evaluate the condition on the window `[i, end)`; `ordered_end[i]` is
/// the earliest end of an in-order sequence starting at or after `i`.
fn evaluate(
    b: &BoundCorrelation,
    w: &Win,
    i: usize,
    end: usize,
    ordered_end: &[u32],
) -> Option<Agg> {
    let cond = &b.def.condition;
    match b.def.kind {
        CorrelationType::EventCount => cond.holds(w.n as f64).then_some(Agg::Count(w.n)),
        CorrelationType::ValueCount => {
            let k = w.counts.len();
            cond.holds(k as f64).then_some(Agg::Distinct(k))
        }
        CorrelationType::Temporal | CorrelationType::TemporalOrdered => {
            let all = w.slots.len();
            let matched = if b.def.kind == CorrelationType::Temporal {
                w.distinct_slots
            } else if ordered_end
                .get(i)
                .is_some_and(|&e| e != u32::MAX && (e as usize) < end)
            {
                all
            } else {
                w.distinct_slots.min(all - 1)
            };
            cond.holds(matched as f64).then(|| Agg::Rules {
                slots: (0..all as u16)
                    .filter(|s| w.slots[*s as usize] > 0)
                    .collect(),
                matched,
            })
        }
        CorrelationType::ValueSum => cond.holds(w.sum).then_some(Agg::Sum(w.sum)),
        CorrelationType::ValueAvg => {
            let avg = w.sum / w.n as f64;
            cond.holds(avg).then_some(Agg::Avg(avg))
        }
        CorrelationType::ValuePercentile => {
            // The rarest qualifying occurrence count; the number of distinct
            // counts is at most sqrt(2n), so this scan stays cheap.
            let c = w
                .count_of_counts
                .keys()
                .copied()
                .find(|&c| cond.holds(100.0 * f64::from(c) / w.n as f64))?;
            Some(Agg::Share {
                count: c,
                pct: 100.0 * f64::from(c) / w.n as f64,
            })
        }
    }
}

/// For `temporal_ordered`: per position, the earliest index ending an
/// in-order sequence of all slots that starts at or after it.
fn ordered_ends(g: &[Rec], nslots: usize) -> Vec<u32> {
    let mut best = vec![u32::MAX; nslots];
    let mut out = vec![u32::MAX; g.len()];
    for p in (0..g.len()).rev() {
        let k = g[p].slot as usize;
        if k + 1 == nslots {
            best[k] = p as u32;
        } else if best[k + 1] != u32::MAX {
            best[k] = best[k + 1];
        }
        out[p] = best[0];
    }
    out
}

fn micros(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(ts).unwrap_or_default()
}

fn cmp_origin(origins: &[Origin], a: &Rec, b: &Rec) -> Ordering {
    let (oa, ob) = (&origins[a.origin as usize], &origins[b.origin as usize]);
    oa.file
        .cmp(&ob.file)
        .then_with(|| oa.member.cmp(&ob.member))
        .then_with(|| a.loc.cmp(&b.loc))
}

fn provenance(origins: &[Origin], r: &Rec) -> Provenance {
    let o = &origins[r.origin as usize];
    Provenance {
        file: o.file.clone(),
        member: o.member.clone(),
        location: r.loc,
    }
}

struct Hit {
    fields: Vec<(Arc<str>, Arc<str>)>,
    trigger: Rec,
}

pub(crate) fn finish(mut eng: CorrelationEngine) -> Outcome {
    let inner = eng.bound.inner.clone();
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    for &c in &inner.order {
        let b = &inner.corrs[c];
        let mut st: CorrState = std::mem::take(&mut eng.states[c]);
        let origins = &eng.origins;
        st.recs.sort_unstable_by(|x, y| {
            x.key
                .cmp(&y.key)
                .then(x.ts.cmp(&y.ts))
                .then(x.slot.cmp(&y.slot))
                .then_with(|| cmp_origin(origins, x, y))
        });
        let mut hits: Vec<Hit> = Vec::new();
        let mut emitted = 0usize;
        let mut start = 0;
        while start < st.recs.len() {
            let key = st.recs[start].key;
            let mut stop = start;
            while stop < st.recs.len() && st.recs[stop].key == key {
                stop += 1;
            }
            let g = &st.recs[start..stop];
            scan(b, g, &mut |agg, i, end| {
                let trigger = g[end - 1];
                let mut fields: Vec<(Arc<str>, Arc<str>)> = b
                    .def
                    .group_by
                    .iter()
                    .zip(parts(st.keys.get(key)))
                    .map(|(n, v)| (Arc::from(n.as_str()), Arc::from(v)))
                    .collect();
                if !inner.consumers[c].is_empty() {
                    let row = st.carry.get(trigger.carry as usize);
                    for (k, name) in b.carry.iter().enumerate() {
                        if let Some(Some(v)) = row.and_then(|r| r.get(k)) {
                            fields.push((Arc::from(name.as_str()), v.clone()));
                        }
                    }
                    hits.push(Hit {
                        fields: fields.clone(),
                        trigger,
                    });
                }
                if b.suppressed {
                    return;
                }
                if emitted >= eng.limits.max_findings {
                    eng.stats.dropped_findings += 1;
                    return;
                }
                emitted += 1;
                findings.push(finding(
                    b,
                    &st,
                    g,
                    i,
                    end,
                    agg,
                    fields,
                    origins,
                    &eng.limits,
                ));
            });
            start = stop;
        }
        if st.dropped_groups > 0 {
            warnings.push(CorrelationWarning {
                rule_id: Some(b.def.rule_id()),
                // The rule id is the warning's `rule_id`, shown before it.
                reason: format!(
                    "`{}`: group cap of {} reached, {} matched events of new groups were not correlated",
                    b.def.title, eng.limits.max_groups, st.dropped_groups
                ),
            });
        }
        drop(st);
        // Chained correlations see this one's hits as their events.
        for h in hits {
            for &(o, slot) in &inner.consumers[c] {
                let mut origin = Some((h.trigger.origin, h.trigger.loc));
                eng.record(
                    o as usize,
                    slot,
                    h.trigger.ts,
                    &Src::Hit(&h.fields),
                    &mut origin,
                    |_| unreachable!("origin is given"),
                );
            }
        }
    }
    if eng.stats.dropped_record_cap > 0 {
        warnings.push(CorrelationWarning::engine(format!(
            "record cap of {} reached: {} matched events were not correlated",
            eng.limits.max_records, eng.stats.dropped_record_cap
        )));
    }
    if eng.stats.dropped_findings > 0 {
        warnings.push(CorrelationWarning::engine(format!(
            "{} correlation findings beyond {} per correlation were dropped",
            eng.stats.dropped_findings, eng.limits.max_findings
        )));
    }
    if eng.stats.mismatched_merges > 0 {
        warnings.push(CorrelationWarning::engine(format!(
            "{} engines bound to other correlation sets were not merged",
            eng.stats.mismatched_merges
        )));
    }
    if eng.stats.no_timestamp > 0 {
        warnings.push(CorrelationWarning::engine(format!(
            "{} matched events without a timestamp could not be correlated",
            eng.stats.no_timestamp
        )));
    }
    findings.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.fields.cmp(&b.fields))
    });
    Outcome {
        findings,
        warnings,
        stats: eng.stats,
    }
}

/// Slide over one group's time-sorted records. The window is anchored on
/// each event and holds every event up to `timespan` after it
/// (inclusive). The condition is checked on each window that reaches an
/// event the previous window did not (the maximal windows; any set of
/// events within `timespan` lies in one of them). After a match the scan
/// restarts after the matched window, so one burst yields one finding.
fn scan(b: &BoundCorrelation, g: &[Rec], emit: &mut dyn FnMut(Agg, usize, usize)) {
    let span = b.def.timespan_us;
    let nslots = b.sources.len();
    let ordered = if b.def.kind == CorrelationType::TemporalOrdered {
        ordered_ends(g, nslots)
    } else {
        Vec::new()
    };
    let mut w = Win::new(b.def.kind, nslots);
    let (mut i, mut end, mut prev_end) = (0, 0, 0);
    while i < g.len() {
        if end < i {
            end = i;
        }
        while end < g.len() && g[end].ts.saturating_sub(g[i].ts) <= span {
            w.add(&g[end]);
            end += 1;
        }
        if end > prev_end {
            prev_end = end;
            if let Some(agg) = evaluate(b, &w, i, end, &ordered) {
                emit(agg, i, end);
                for r in &g[i..end] {
                    w.remove(r);
                }
                i = end;
                continue;
            }
        }
        w.remove(&g[i]);
        i += 1;
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.3}")
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    b: &BoundCorrelation,
    st: &CorrState,
    g: &[Rec],
    i: usize,
    end: usize,
    agg: Agg,
    group: Vec<(Arc<str>, Arc<str>)>,
    origins: &[Origin],
    limits: &crate::Limits,
) -> Finding {
    let def = &b.def;
    let trigger = &g[end - 1];
    let o = &origins[trigger.origin as usize];
    let mut fields: Vec<(Arc<str>, String)> = Vec::new();
    fields.push((Arc::from("correlation_type"), def.kind.as_str().to_string()));
    for (k, v) in group {
        fields.push((k, v.to_string()));
    }
    // The shown fields of the event that completed it (absent when that
    // event has none).
    let row = st.carry.get(trigger.carry as usize);
    for name in &def.shown_fields {
        let value = b
            .carry
            .iter()
            .position(|c| c == name)
            .and_then(|k| row.and_then(|r| r.get(k)).cloned().flatten());
        if let Some(v) = value {
            fields.push((Arc::from(name.as_str()), v.to_string()));
        }
    }
    let field_name = def.fields.join(",");
    match agg {
        Agg::Count(n) => fields.push((Arc::from("event_count"), n.to_string())),
        Agg::Distinct(k) => {
            fields.push((Arc::from("value_count"), k.to_string()));
            fields.push((Arc::from("value_field"), field_name));
        }
        Agg::Rules { slots, matched } => {
            let names: Vec<&str> = slots
                .iter()
                .map(|s| def.rules[*s as usize].as_str())
                .collect();
            fields.push((Arc::from("rules_matched"), matched.to_string()));
            fields.push((Arc::from("rules"), names.join(", ")));
        }
        Agg::Sum(x) => {
            fields.push((Arc::from("value_sum"), fmt_num(x)));
            fields.push((Arc::from("value_field"), field_name));
        }
        Agg::Avg(x) => {
            fields.push((Arc::from("value_avg"), fmt_num(x)));
            fields.push((Arc::from("value_field"), field_name));
        }
        Agg::Share { count, pct } => {
            // Name the value with that share; the smallest text when several
            // tie, so the choice does not depend on arrival order.
            let mut counts: HashMap<u64, u32> = HashMap::new();
            for r in &g[i..end] {
                *counts.entry(r.val).or_insert(0) += 1;
            }
            let value = counts
                .iter()
                .filter(|(_, n)| **n == count)
                .map(|(v, _)| st.values.get(*v as u32))
                .min()
                .unwrap_or("");
            fields.push((Arc::from("value_percentile"), fmt_num(pct)));
            fields.push((Arc::from("value_field"), field_name));
            fields.push((Arc::from("value"), parts(value).join(",")));
        }
    }
    fields.push((Arc::from("events"), (end - i).to_string()));
    let rfc = |ts| micros(ts).to_rfc3339_opts(SecondsFormat::AutoSi, true);
    fields.push((Arc::from("first_seen"), rfc(g[i].ts)));
    fields.push((Arc::from("last_seen"), rfc(trigger.ts)));
    fields.push((Arc::from("timespan"), def.timespan_text.clone()));
    fields.push((Arc::from("condition"), def.condition.describe()));
    Finding {
        kind: FindingKind::Correlation,
        rule_id: def.rule_id(),
        title: def.title.clone(),
        level: b.level,
        techniques: b.attack.techniques.clone(),
        software: b.attack.software.clone(),
        groups: b.attack.groups.clone(),
        timestamp: Some(micros(trigger.ts)),
        host: o.host.clone(),
        channel: o.channel.clone(),
        event_id: o.event_id,
        fields,
        provenance: provenance(origins, trigger),
        related: g[i..end]
            .iter()
            .take(limits.max_related)
            .map(|r| provenance(origins, r))
            .collect(),
    }
}
