//! Logon summaries, per-account summaries, brute force, password spraying
//! and Kerberoasting, all from [`Auth`] records.

use super::AnalyticsConfig;
use super::auth::{Auth, AuthKind};
use crate::classify::{AccountClass, IpClass, classify_account, classify_ip, normalize_account};
use crate::util::{CappedMap, Samples, Span, TimeSeries, densest_window, from_ms, ms, text};
use hashbrown::HashMap;
use kahu_event::{Event, Provenance, Timestamp};
use serde::Serialize;
use std::collections::HashSet;

/// Small bounded list of distinct values with counts (failure reasons,
/// hosts). Values past `cap` are counted in `other`.
#[derive(Debug, Clone, Default)]
pub(crate) struct TopList {
    items: Vec<(Box<str>, u64)>,
    other: u64,
}

impl TopList {
    pub(crate) fn add(&mut self, v: &str, n: u64, cap: usize) {
        if let Some(e) = self.items.iter_mut().find(|(k, _)| &**k == v) {
            e.1 += n;
        } else if self.items.len() < cap {
            self.items.push((v.into(), n));
        } else {
            self.other += n;
        }
    }
    pub(crate) fn merge(&mut self, o: TopList, cap: usize) {
        self.other += o.other;
        for (k, n) in o.items {
            self.add(&k, n, cap);
        }
    }
    pub(crate) fn counts(&self) -> Vec<Count> {
        let mut v: Vec<Count> = self
            .items
            .iter()
            .map(|(k, n)| Count {
                value: k.to_string(),
                count: *n,
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        v
    }
    pub(crate) fn values(&self) -> Vec<String> {
        self.counts().into_iter().map(|c| c.value).collect()
    }
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

/// A value and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The value.
    pub value: String,
    /// Occurrences.
    pub count: u64,
}

const LIST_CAP: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LogonKey {
    kind: AuthKind,
    account: Box<str>,
    source: Box<str>,
    logon_type: Option<u32>,
    host: Box<str>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct LogonAcc {
    domain: Option<String>,
    successes: u64,
    failures: u64,
    reasons: TopList,
    span: Span,
    samples: Samples,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PairKey {
    kind: AuthKind,
    account: Box<str>,
    source: Box<str>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PairAcc {
    fails: TimeSeries,
    succs: TimeSeries,
    fail_total: u64,
    hosts: TopList,
    reasons: TopList,
    samples: Samples,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct AccountAcc {
    successes: u64,
    failures: u64,
    privileged: u64,
    logoffs: u64,
    hosts: TopList,
    sources: TopList,
    span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct KerbKey {
    account: Box<str>,
    source: Box<str>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct KerbAcc {
    rc4: u64,
    services: TopList,
    span: Span,
    samples: Samples,
}

/// Accumulator for everything authentication-related.
#[derive(Debug, Clone)]
pub(crate) struct LogonTables {
    logons: CappedMap<LogonKey, LogonAcc>,
    pairs: CappedMap<PairKey, PairAcc>,
    accounts: CappedMap<Box<str>, AccountAcc>,
    kerb: CappedMap<KerbKey, KerbAcc>,
    series_points: usize,
}

fn host_of(e: &Event) -> &str {
    e.host.as_deref().unwrap_or("")
}

impl LogonTables {
    pub(crate) fn new(c: &AnalyticsConfig) -> Self {
        LogonTables {
            logons: CappedMap::new(c.max_keys),
            pairs: CappedMap::new(c.max_series_keys),
            accounts: CappedMap::new(c.max_keys),
            kerb: CappedMap::new(c.max_series_keys),
            series_points: c.series_points,
        }
    }

    pub(crate) fn observe_auth(&mut self, e: &Event, a: &Auth) {
        let t = e.timestamp;
        let host = host_of(e);
        let reason_text = a
            .reason
            .map(str::to_string)
            .or_else(|| a.status.map(|s| format!("status 0x{s:X}")));
        if a.kind != AuthKind::KerberosService {
            let key = LogonKey {
                kind: a.kind,
                account: a.account.as_str().into(),
                source: a.source.as_str().into(),
                logon_type: a.logon_type,
                host: host.into(),
            };
            if let Some(acc) = self
                .logons
                .slot(&key, || (key.clone(), LogonAcc::default()))
            {
                let n = u64::from(a.count);
                if a.success {
                    acc.successes += n;
                } else {
                    acc.failures += n;
                    if let Some(r) = &reason_text {
                        acc.reasons.add(r, n, 8);
                    }
                }
                keep_first_domain(&mut acc.domain, a.domain.as_deref());
                acc.span.observe(t);
                acc.samples.add(t, &e.provenance);
            }
            let pk = PairKey {
                kind: a.kind,
                account: a.account.as_str().into(),
                source: a.source.as_str().into(),
            };
            let cap = self.series_points;
            if let Some(p) = self.pairs.slot(&pk, || (pk.clone(), PairAcc::default())) {
                if a.success {
                    if let Some(t) = t {
                        p.succs.push_n(ms(&t), a.count, cap);
                    }
                } else {
                    p.fail_total += u64::from(a.count);
                    if let Some(t) = t {
                        p.fails.push_n(ms(&t), a.count, cap);
                    }
                    if let Some(r) = &reason_text {
                        p.reasons.add(r, u64::from(a.count), 8);
                    }
                    p.samples.add(t, &e.provenance);
                }
                if !host.is_empty() {
                    p.hosts.add(host, 1, LIST_CAP);
                }
            }
        }
        self.account(&a.account, t, |acc| {
            if a.success {
                acc.successes += u64::from(a.count);
                if !host.is_empty() {
                    acc.hosts.add(host, 1, LIST_CAP);
                }
                acc.sources.add(&a.source, 1, LIST_CAP);
            } else {
                acc.failures += u64::from(a.count);
            }
        });
    }

    fn account(&mut self, name: &str, t: Option<Timestamp>, f: impl FnOnce(&mut AccountAcc)) {
        if let Some(acc) = self
            .accounts
            .slot(name, || (name.into(), AccountAcc::default()))
        {
            acc.span.observe(t);
            f(acc);
        }
    }

    /// 4672 special privileges, 4634/4647 logoffs: account table only.
    pub(crate) fn observe_session(&mut self, e: &Event) {
        let (field, privileged) = match e.event_id {
            Some(4672) => ("SubjectUserName", true),
            Some(4634 | 4647) => ("TargetUserName", false),
            _ => return,
        };
        let Some(name) = text(e, &[field]).and_then(|u| normalize_account(&u)) else {
            return;
        };
        self.account(&name, e.timestamp, |acc| {
            if privileged {
                acc.privileged += 1;
            } else {
                acc.logoffs += 1;
            }
        });
    }

    /// 4769 with RC4 encryption for a user service account.
    pub(crate) fn observe_tgs(&mut self, e: &Event, a: &Auth) {
        if !a.success {
            return;
        }
        let enc = crate::util::int(e, &["TicketEncryptionType"]);
        if !matches!(enc, Some(0x17 | 0x18)) {
            return;
        }
        let Some(service) = text(e, &["ServiceName"]) else {
            return;
        };
        let svc = service.to_lowercase();
        // Tickets for computer accounts and krbtgt are routine, never roastable.
        if svc.ends_with('$') || svc == "krbtgt" || svc.starts_with("krbtgt/") {
            return;
        }
        let key = KerbKey {
            account: a.account.as_str().into(),
            source: a.source.as_str().into(),
        };
        if let Some(k) = self.kerb.slot(&key, || (key.clone(), KerbAcc::default())) {
            k.rc4 += 1;
            k.services.add(&crate::util::clip(&svc, 256), 1, 64);
            k.span.observe(e.timestamp);
            k.samples.add(e.timestamp, &e.provenance);
        }
    }

    pub(crate) fn merge(&mut self, o: LogonTables) {
        let cap = self.series_points;
        self.logons.merge(o.logons, |a, b| {
            a.successes += b.successes;
            a.failures += b.failures;
            a.reasons.merge(b.reasons, 8);
            keep_first_domain(&mut a.domain, b.domain.as_deref());
            a.span.merge(&b.span);
            a.samples.merge(b.samples);
        });
        self.pairs.merge(o.pairs, |a, b| {
            a.fails.merge(b.fails, cap);
            a.succs.merge(b.succs, cap);
            a.fail_total += b.fail_total;
            a.hosts.merge(b.hosts, LIST_CAP);
            a.reasons.merge(b.reasons, 8);
            a.samples.merge(b.samples);
        });
        self.accounts.merge(o.accounts, |a, b| {
            a.successes += b.successes;
            a.failures += b.failures;
            a.privileged += b.privileged;
            a.logoffs += b.logoffs;
            a.hosts.merge(b.hosts, LIST_CAP);
            a.sources.merge(b.sources, LIST_CAP);
            a.span.merge(&b.span);
        });
        self.kerb.merge(o.kerb, |a, b| {
            a.rc4 += b.rc4;
            a.services.merge(b.services, 64);
            a.span.merge(&b.span);
            a.samples.merge(b.samples);
        });
    }

    pub(crate) fn dropped(&self) -> [(&'static str, u64); 4] {
        [
            ("logons", self.logons.dropped),
            ("auth_series", self.pairs.dropped),
            ("accounts", self.accounts.dropped),
            ("kerberos_rc4", self.kerb.dropped),
        ]
    }

    pub(crate) fn finish(mut self, c: &AnalyticsConfig) -> LogonReport {
        for p in self.pairs.map.values_mut() {
            p.fails.compact(c.series_points);
            p.succs.compact(c.series_points);
        }
        let brute_force = brute_force(&self.pairs.map, c);
        let spraying = spraying(&self.pairs.map, c);
        let mut logons: Vec<LogonSummary> = self
            .logons
            .map
            .into_iter()
            .map(|(k, v)| LogonSummary {
                kind: k.kind,
                account_class: classify_account(&k.account),
                account: k.account.into(),
                domain: v.domain,
                source_class: source_class(&k.source),
                source: k.source.into(),
                logon_type: k.logon_type,
                target_host: k.host.into(),
                successes: v.successes,
                failures: v.failures,
                failure_reasons: v.reasons.counts(),
                first_seen: v.span.first_seen,
                last_seen: v.span.last_seen,
                samples: v.samples.provenances().cloned().collect(),
            })
            .collect();
        // Every part of the summaries' key takes part, so equal counts never
        // leave the order to the hash map's (per-process random) order.
        logons.sort_by(|a, b| {
            (
                b.failures,
                b.successes,
                &a.account,
                &a.source,
                &a.target_host,
                a.kind,
                a.logon_type,
            )
                .cmp(&(
                    a.failures,
                    a.successes,
                    &b.account,
                    &b.source,
                    &b.target_host,
                    b.kind,
                    b.logon_type,
                ))
        });
        let mut accounts: Vec<AccountSummary> = self
            .accounts
            .map
            .into_iter()
            .map(|(k, v)| AccountSummary {
                class: classify_account(&k),
                account: k.into(),
                successes: v.successes,
                failures: v.failures,
                privileged_logons: v.privileged,
                logoffs: v.logoffs,
                hosts: v.hosts.values(),
                sources: v.sources.values(),
                first_seen: v.span.first_seen,
                last_seen: v.span.last_seen,
            })
            .collect();
        accounts.sort_by(|a, b| {
            (b.failures + b.successes, &a.account).cmp(&(a.failures + a.successes, &b.account))
        });
        let mut kerberoasting: Vec<Kerberoast> = self
            .kerb
            .map
            .into_iter()
            .map(|(k, v)| Kerberoast {
                distinct_services: v.services.len(),
                account: k.account.into(),
                source: k.source.into(),
                rc4_requests: v.rc4,
                services: v.services.values(),
                first_seen: v.span.first_seen,
                last_seen: v.span.last_seen,
                many_services: v.services.len() >= c.kerberoast_min_services,
                samples: v.samples.provenances().cloned().collect(),
            })
            .collect();
        kerberoasting.sort_by(|a, b| {
            (b.distinct_services, b.rc4_requests, &a.account, &a.source).cmp(&(
                a.distinct_services,
                a.rc4_requests,
                &b.account,
                &b.source,
            ))
        });
        LogonReport {
            logons,
            accounts,
            brute_force,
            spraying,
            kerberoasting,
        }
    }
}

fn source_class(s: &str) -> Option<IpClass> {
    crate::classify::parse_ip(s).map(classify_ip)
}

pub(crate) struct LogonReport {
    pub logons: Vec<LogonSummary>,
    pub accounts: Vec<AccountSummary>,
    pub brute_force: Vec<BruteForce>,
    pub spraying: Vec<Spraying>,
    pub kerberoasting: Vec<Kerberoast>,
}

fn brute_force(pairs: &HashMap<PairKey, PairAcc>, c: &AnalyticsConfig) -> Vec<BruteForce> {
    let window = c.brute_force_window_secs as i64 * 1000;
    let lookahead = c.success_lookahead_secs as i64 * 1000;
    let mut out = Vec::new();
    for (k, p) in pairs {
        let Some((n, start, end)) = densest_window(p.fails.points(), window) else {
            continue;
        };
        if n < c.brute_force_threshold {
            continue;
        }
        let succeeded_after = p
            .succs
            .points()
            .iter()
            .find(|(t, _)| *t >= start && *t <= end.saturating_add(lookahead))
            .and_then(|(t, _)| from_ms(*t));
        out.push(BruteForce {
            kind: k.kind,
            account: k.account.to_string(),
            account_class: classify_account(&k.account),
            source: k.source.to_string(),
            source_class: source_class(&k.source),
            failures_in_window: n,
            total_failures: p.fail_total,
            window_start: from_ms(start),
            window_end: from_ms(end),
            succeeded_after,
            target_hosts: p.hosts.values(),
            failure_reasons: p.reasons.counts(),
            approximate: p.fails.resolution_ms > 0,
            samples: p.samples.provenances().cloned().collect(),
            accounts_tried: Vec::new(),
        });
    }
    // Guessing across accounts: one source failing many times against
    // several accounts (SSH bots try root, admin, oracle…), too many tries per
    // account for spraying and too few per account for the per-account
    // threshold. Judged per source on all its failures; reported once, with
    // the accounts, unless a per-account burst from the source was found.
    let covered: HashSet<(AuthKind, String)> =
        out.iter().map(|b| (b.kind, b.source.clone())).collect();
    let mut by_source: HashMap<(AuthKind, &str), Vec<(&str, &PairAcc)>> = HashMap::new();
    for (k, p) in pairs {
        if p.fail_total > 0 {
            by_source
                .entry((k.kind, &*k.source))
                .or_default()
                .push((&k.account, p));
        }
    }
    for ((kind, source), accts) in by_source {
        if accts.len() < 2 || covered.contains(&(kind, source.to_string())) {
            continue;
        }
        let mut pts: Vec<(i64, u32)> = accts
            .iter()
            .flat_map(|(_, p)| p.fails.points().iter().copied())
            .collect();
        pts.sort_unstable();
        let Some((n, start, end)) = densest_window(&pts, window) else {
            continue;
        };
        if n < c.brute_force_threshold * 2 {
            continue;
        }
        let mut compromised: Vec<(i64, &str)> = accts
            .iter()
            .filter_map(|(a, p)| {
                p.succs
                    .points()
                    .iter()
                    .find(|(t, _)| *t >= start && *t <= end.saturating_add(lookahead))
                    .map(|(t, _)| (*t, *a))
            })
            .collect();
        compromised.sort_unstable();
        let mut names: Vec<&str> = accts.iter().map(|(a, _)| *a).collect();
        names.sort_unstable();
        let mut samples = Samples::default();
        let mut hosts = Vec::new();
        let mut reasons = Vec::new();
        for (_, p) in &accts {
            samples.merge(p.samples.clone());
            hosts.extend(p.hosts.values());
            reasons.extend(p.reasons.counts());
        }
        hosts.sort();
        hosts.dedup();
        let account = match compromised.first() {
            Some((_, a)) => a.to_string(),
            None => names.first().map(|a| a.to_string()).unwrap_or_default(),
        };
        out.push(BruteForce {
            kind,
            account_class: classify_account(&account),
            account,
            source: source.to_string(),
            source_class: source_class(source),
            failures_in_window: n,
            total_failures: accts.iter().map(|(_, p)| p.fail_total).sum(),
            window_start: from_ms(start),
            window_end: from_ms(end),
            succeeded_after: compromised.first().and_then(|(t, _)| from_ms(*t)),
            target_hosts: hosts,
            failure_reasons: {
                // Summed per reason and ordered, so the result does not
                // depend on hash-map iteration order.
                let mut by: std::collections::BTreeMap<String, u64> = Default::default();
                for r in reasons {
                    *by.entry(r.value).or_default() += r.count;
                }
                let mut v: Vec<Count> = by
                    .into_iter()
                    .map(|(value, count)| Count { value, count })
                    .collect();
                v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                v.truncate(5);
                v
            },
            approximate: accts.iter().any(|(_, p)| p.fails.resolution_ms > 0),
            samples: samples.provenances().cloned().collect(),
            accounts_tried: names
                .iter()
                .take(SPRAY_ACCOUNTS_SHOWN)
                .map(|a| a.to_string())
                .collect(),
        });
    }
    out.sort_by(|a, b| {
        (
            b.succeeded_after.is_some(),
            b.failures_in_window,
            &a.account,
            &a.source,
            a.kind,
            a.window_start,
        )
            .cmp(&(
                a.succeeded_after.is_some(),
                a.failures_in_window,
                &b.account,
                &b.source,
                b.kind,
                b.window_start,
            ))
    });
    out
}

fn spraying(pairs: &HashMap<PairKey, PairAcc>, c: &AnalyticsConfig) -> Vec<Spraying> {
    let window = c.spray_window_secs as i64 * 1000;
    let lookahead = c.success_lookahead_secs as i64 * 1000;
    let mut by_source: HashMap<(AuthKind, &str), Vec<(&str, &PairAcc)>> = HashMap::new();
    for (k, p) in pairs {
        if p.fail_total > 0 {
            by_source
                .entry((k.kind, &*k.source))
                .or_default()
                .push((&k.account, p));
        }
    }
    let mut out = Vec::new();
    for ((kind, source), accts) in by_source {
        if accts.len() < c.spray_min_accounts {
            continue;
        }
        let mut pts: Vec<(i64, u32, usize)> = Vec::new();
        for (i, (_, p)) in accts.iter().enumerate() {
            pts.extend(p.fails.points().iter().map(|&(t, n)| (t, n, i)));
        }
        pts.sort_unstable();
        // Sliding window tracking attempts per account. Only maximal
        // windows (that cannot extend further right) are judged, so a
        // round-robin of many passwords is not mistaken for a single round.
        // `light` counts accounts tried at most `k` times in the window.
        let k = c.spray_max_attempts_per_account.max(1);
        let mut in_win: HashMap<usize, u64> = HashMap::new();
        let mut attempts = 0u64;
        let mut light = 0usize;
        let mut lo = 0;
        let mut best: Option<(usize, usize, u64, usize, usize)> = None;
        for hi in 0..pts.len() {
            let (_, n, i) = pts[hi];
            let c0 = in_win.get(&i).copied().unwrap_or(0);
            let c1 = c0 + n as u64;
            in_win.insert(i, c1);
            light += usize::from(c0 == 0 && c1 <= k);
            light -= usize::from(c0 > 0 && c0 <= k && c1 > k);
            attempts += n as u64;
            while pts[hi].0 - pts[lo].0 > window {
                let (_, n, i) = pts[lo];
                attempts -= n as u64;
                let c0 = in_win.get(&i).copied().unwrap_or(0);
                let c1 = c0.saturating_sub(n as u64);
                light += usize::from(c0 > k && c1 <= k && c1 > 0);
                light -= usize::from(c0 <= k && c1 == 0);
                if c1 == 0 {
                    in_win.remove(&i);
                } else {
                    in_win.insert(i, c1);
                }
                lo += 1;
            }
            let maximal = hi + 1 == pts.len() || pts[hi + 1].0 - pts[lo].0 > window;
            if maximal && best.is_none_or(|b| light > b.0) {
                best = Some((light, in_win.len(), attempts, lo, hi));
            }
        }
        let Some((light, distinct, attempts, lo, hi)) = best else {
            continue;
        };
        if light < c.spray_min_accounts {
            continue;
        }
        let (start, end) = (pts[lo].0, pts[hi].0);
        let mut accounts: Vec<String> = pts[lo..=hi]
            .iter()
            .map(|p| accts[p.2].0.to_string())
            .collect();
        accounts.sort();
        accounts.dedup();
        let mut compromised: Vec<String> = accts
            .iter()
            .filter(|(_, p)| {
                p.succs
                    .points()
                    .iter()
                    .any(|(t, _)| *t >= start && *t <= end.saturating_add(lookahead))
            })
            .map(|(a, _)| a.to_string())
            .collect();
        compromised.sort();
        let approximate = accts.iter().any(|(_, p)| p.fails.resolution_ms > 0);
        let mut samples = Samples::default();
        let mut target_hosts: Vec<String> = Vec::new();
        for (_, p) in &accts {
            samples.merge(p.samples.clone());
            target_hosts.extend(p.hosts.values());
        }
        target_hosts.sort();
        target_hosts.dedup();
        target_hosts.truncate(64);
        accounts.truncate(SPRAY_ACCOUNTS_SHOWN);
        out.push(Spraying {
            kind,
            source: source.to_string(),
            source_class: source_class(source),
            accounts_in_window: distinct,
            sprayed_accounts: light,
            attempts_in_window: attempts,
            window_start: from_ms(start),
            window_end: from_ms(end),
            accounts,
            compromised,
            target_hosts,
            approximate,
            samples: samples.provenances().cloned().collect(),
        });
    }
    // Sources come out of a HashMap: the kind and window break ties, so
    // two runs over the same evidence list them in the same order.
    out.sort_by(|a, b| {
        (b.accounts_in_window, &a.source, a.kind, a.window_start).cmp(&(
            a.accounts_in_window,
            &b.source,
            b.kind,
            b.window_start,
        ))
    });
    out
}

/// How many sprayed account names a [`Spraying`] lists.
pub const SPRAY_ACCOUNTS_SHOWN: usize = 50;

/// Successes and failures of one account from one source on one host.
#[derive(Debug, Clone, Serialize)]
pub struct LogonSummary {
    /// Mechanism.
    pub kind: AuthKind,
    /// Normalised account name.
    pub account: String,
    /// User, machine or built-in.
    pub account_class: AccountClass,
    /// Domain as logged (the first by name when the logons gave several).
    pub domain: Option<String>,
    /// Source IP, workstation name, or `local`.
    pub source: String,
    /// Class of the source when it is an IP.
    pub source_class: Option<IpClass>,
    /// Windows logon type (2 interactive, 3 network, 10 RDP…).
    pub logon_type: Option<u32>,
    /// The host that recorded the event (the logon target).
    pub target_host: String,
    /// Successful attempts.
    pub successes: u64,
    /// Failed attempts.
    pub failures: u64,
    /// Decoded failure reasons, most frequent first.
    pub failure_reasons: Vec<Count>,
    /// Earliest attempt.
    pub first_seen: Option<Timestamp>,
    /// Latest attempt.
    pub last_seen: Option<Timestamp>,
    /// Earliest evidence records.
    pub samples: Vec<Provenance>,
}

/// Everything seen for one account across hosts.
#[derive(Debug, Clone, Serialize)]
pub struct AccountSummary {
    /// Normalised account name.
    pub account: String,
    /// User, machine or built-in.
    pub class: AccountClass,
    /// Successful authentications.
    pub successes: u64,
    /// Failed authentications.
    pub failures: u64,
    /// 4672 special-privilege logons (administrator-equivalent sessions).
    pub privileged_logons: u64,
    /// 4634/4647 logoffs.
    pub logoffs: u64,
    /// Hosts logged on to (up to 16, most frequent first).
    pub hosts: Vec<String>,
    /// Sources logged on from (up to 16).
    pub sources: Vec<String>,
    /// Earliest activity.
    pub first_seen: Option<Timestamp>,
    /// Latest activity.
    pub last_seen: Option<Timestamp>,
}

/// Many failures for one account from one source in a short window.
#[derive(Debug, Clone, Serialize)]
pub struct BruteForce {
    /// Mechanism.
    pub kind: AuthKind,
    /// Targeted account.
    pub account: String,
    /// User, machine or built-in.
    pub account_class: AccountClass,
    /// Attacking source.
    pub source: String,
    /// Class of the source when it is an IP.
    pub source_class: Option<IpClass>,
    /// Failures in the densest window.
    pub failures_in_window: u64,
    /// All failures for this account and source.
    pub total_failures: u64,
    /// First failure of the densest window.
    pub window_start: Option<Timestamp>,
    /// Last failure of the densest window.
    pub window_end: Option<Timestamp>,
    /// First success from the same source at or after the window start
    /// (within the look-ahead): the password was probably guessed.
    pub succeeded_after: Option<Timestamp>,
    /// Hosts that recorded the failures.
    pub target_hosts: Vec<String>,
    /// Decoded failure reasons.
    pub failure_reasons: Vec<Count>,
    /// The series was coarsened to stay bounded; counts may include events
    /// slightly outside the window.
    pub approximate: bool,
    /// Earliest failure records.
    pub samples: Vec<Provenance>,
    /// For guessing across accounts from one source: every account tried
    /// (then `account` is the one that logged on afterwards, or the first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts_tried: Vec<String>,
}

/// One source failing against many accounts, a few attempts each.
#[derive(Debug, Clone, Serialize)]
pub struct Spraying {
    /// Mechanism.
    pub kind: AuthKind,
    /// Spraying source.
    pub source: String,
    /// Class of the source when it is an IP.
    pub source_class: Option<IpClass>,
    /// Distinct accounts failed in the window.
    pub accounts_in_window: usize,
    /// Of those, accounts tried at most `spray_max_attempts_per_account`
    /// times (the sprayed ones; at least `spray_min_accounts`).
    pub sprayed_accounts: usize,
    /// Failed attempts in that window.
    pub attempts_in_window: u64,
    /// Start of the window.
    pub window_start: Option<Timestamp>,
    /// End of the window.
    pub window_end: Option<Timestamp>,
    /// Sprayed accounts (first [`SPRAY_ACCOUNTS_SHOWN`], sorted).
    pub accounts: Vec<String>,
    /// Accounts that then logged on successfully from the same source.
    pub compromised: Vec<String>,
    /// Hosts the attempts were logged on (sorted; at most 64).
    #[serde(default)]
    pub target_hosts: Vec<String>,
    /// Some series were coarsened.
    pub approximate: bool,
    /// Earliest failure records.
    pub samples: Vec<Provenance>,
}

/// RC4 service tickets requested by one account (4769, encryption 0x17/0x18).
#[derive(Debug, Clone, Serialize)]
pub struct Kerberoast {
    /// Requesting account.
    pub account: String,
    /// Requesting address.
    pub source: String,
    /// RC4 service tickets requested.
    pub rc4_requests: u64,
    /// Distinct service accounts (up to 64 listed).
    pub services: Vec<String>,
    /// Number of distinct services (saturates at 64).
    pub distinct_services: usize,
    /// At least `kerberoast_min_services` distinct services.
    pub many_services: bool,
    /// Earliest request.
    pub first_seen: Option<Timestamp>,
    /// Latest request.
    pub last_seen: Option<Timestamp>,
    /// Earliest records.
    pub samples: Vec<Provenance>,
}

/// Keep the first domain by name among those an account's logons gave, so
/// the one shown does not depend on which reader thread saw its logon first.
fn keep_first_domain(kept: &mut Option<String>, seen: Option<&str>) {
    if let Some(d) = seen
        && kept.as_deref().is_none_or(|k| d < k)
    {
        *kept = Some(d.to_string());
    }
}
