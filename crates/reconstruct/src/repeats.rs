//! Repeats: a burst of the same rule firing on the same thing, on the same
//! host, for the same account and from the same source (a brute force's
//! thousands of 4625s, every file of one copy through `C$` in 5145, a
//! beacon in every `conn.log` line) becomes one finding that says how many
//! times and from when to when.
//!
//! Unlike [`dedup`](crate::dedup), which groups a whole case for display,
//! this changes the finding list itself (`hunt` output, `findings.jsonl`),
//! so it only joins instances no further apart than a window: the same
//! rule on the same host a week later is a new finding.

use crate::host::host_key;
use crate::keys::CorrelationKeys;
use crate::util::ms;
use hashbrown::HashMap;
use kahu_finding::{CORRELATION_FIELDS, Finding};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Field added to a collapsed finding: how many detections it stands for.
pub const REPEAT_COUNT_FIELD: &str = "RepeatCount";
/// Field added to a collapsed finding: its first instance's time (RFC 3339).
pub const FIRST_SEEN_FIELD: &str = "FirstSeen";
/// Field added to a collapsed finding: its last instance's time (RFC 3339).
pub const LAST_SEEN_FIELD: &str = "LastSeen";

/// Instances' records kept in a collapsed finding's `related` list.
pub const MAX_RELATED: usize = 100;

/// How repeats are collapsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RepeatConfig {
    /// Instances at most this many seconds after the previous one join its
    /// burst; 0 keeps every finding. Default 3,600 (1 h).
    pub window_secs: u64,
}

impl Default for RepeatConfig {
    fn default() -> Self {
        RepeatConfig { window_secs: 3600 }
    }
}

/// Where traffic or a logon came from, for the burst key.
const SOURCE_FIELDS: &[&str] = &[
    "IpAddress",
    "SourceIp",
    // Behind a reverse proxy every request has its `c-ip`: the client it
    // forwarded for tells two attackers apart.
    "forwarded-client",
    "c-ip",
    "id.orig_h",
    "src_ip",
    "WorkstationName",
];

/// Rule, host identity, account, source, and the finding's main value
/// (its first non-correlation field, as in `dedup_key`): what must be equal
/// for two findings to be repeats.
fn burst_key(f: &Finding) -> (Arc<str>, String, String, String, String) {
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| kahu_finding::field(f, n))
            .unwrap_or("")
            .to_lowercase()
    };
    let account = CorrelationKeys::extract(f)
        .accounts
        .into_iter()
        .next()
        .unwrap_or_default();
    let main = f
        .fields
        .iter()
        .find(|(k, _)| !CORRELATION_FIELDS.iter().any(|c| c.eq_ignore_ascii_case(k)))
        .map(|(_, v)| v.to_lowercase())
        .unwrap_or_default();
    (
        f.rule_id.clone(),
        f.host.as_deref().and_then(host_key).unwrap_or_default(),
        account,
        field(SOURCE_FIELDS),
        main,
    )
}

/// The number of detections a finding stands for (1 unless collapsed).
pub fn repeat_count(f: &Finding) -> u64 {
    kahu_finding::field(f, REPEAT_COUNT_FIELD)
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// When a finding's last instance happened: [`LAST_SEEN_FIELD`] of a
/// collapsed finding, else its own time.
pub fn last_seen(f: &Finding) -> Option<kahu_event::Timestamp> {
    kahu_finding::field(f, LAST_SEEN_FIELD)
        .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .or(f.timestamp)
}

/// Collapse bursts of repeats. Findings without a time are never joined
/// (nothing says they were one burst). The representative is the earliest
/// instance, raised to the burst's highest level, with
/// [`REPEAT_COUNT_FIELD`], [`FIRST_SEEN_FIELD`] and [`LAST_SEEN_FIELD`]
/// added and up to [`MAX_RELATED`] other instances' records in `related`.
/// The result keeps the input's order of representatives.
pub fn collapse_repeats(findings: Vec<Finding>, config: &RepeatConfig) -> Vec<Finding> {
    if config.window_secs == 0 || findings.len() < 2 {
        return findings;
    }
    let window = (config.window_secs as i64).saturating_mul(1000);
    // Indices per key, ordered by time, split into bursts.
    let mut by_key: HashMap<_, Vec<usize>> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        if f.timestamp.is_some() {
            by_key.entry(burst_key(f)).or_default().push(i);
        }
    }
    // Representative index → the other members of its burst.
    let mut absorbed = vec![false; findings.len()];
    let mut bursts: Vec<(usize, Vec<usize>)> = Vec::new();
    for (_, mut ids) in by_key {
        ids.sort_by_key(|&i| (findings[i].timestamp, i));
        let mut start = 0;
        for j in 1..=ids.len() {
            let split = j == ids.len() || {
                let t = |k: usize| findings[ids[k]].timestamp.as_ref().map(ms).unwrap_or(0);
                t(j) - t(j - 1) > window
            };
            if split {
                if j - start > 1 {
                    for &k in &ids[start + 1..j] {
                        absorbed[k] = true;
                    }
                    bursts.push((ids[start], ids[start..j].to_vec()));
                }
                start = j;
            }
        }
    }
    let mut members: HashMap<usize, Vec<usize>> = bursts.into_iter().collect();
    let mut out = Vec::with_capacity(findings.len() - absorbed.iter().filter(|a| **a).count());
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    for i in 0..slots.len() {
        if absorbed[i] {
            continue;
        }
        let Some(mut rep) = slots[i].take() else {
            continue;
        };
        if let Some(ids) = members.remove(&i) {
            merge_burst(&mut rep, &slots_view(&slots, &ids));
        }
        out.push(rep);
    }
    out
}

/// The absorbed members (still in their slots) of a burst.
fn slots_view<'a>(slots: &'a [Option<Finding>], ids: &[usize]) -> Vec<&'a Finding> {
    ids.iter()
        .skip(1)
        .filter_map(|&k| slots[k].as_ref())
        .collect()
}

fn merge_burst(rep: &mut Finding, others: &[&Finding]) {
    let mut last = last_seen(rep);
    let mut count = repeat_count(rep);
    // A finding collapsed before (a hunt's output read back) adds its count.
    rep.fields
        .retain(|(k, _)| ![REPEAT_COUNT_FIELD, FIRST_SEEN_FIELD, LAST_SEEN_FIELD].contains(&&**k));
    for f in others {
        count += repeat_count(f);
        let l = last_seen(f);
        if f.level > rep.level {
            rep.level = f.level;
            // The representative was lowered as a refused attempt; a
            // repeat the server answered stands for the burst now.
            rep.fields
                .retain(|(k, _)| &**k != crate::escalate::ATTEMPT_FIELD);
        }
        if l > last {
            last = l;
        }
        for p in std::iter::once(&f.provenance).chain(&f.related) {
            if rep.related.len() >= MAX_RELATED {
                break;
            }
            rep.related.push(p.clone());
        }
    }
    let time = |t: Option<kahu_event::Timestamp>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    rep.fields
        .push((Arc::from(REPEAT_COUNT_FIELD), count.to_string()));
    rep.fields
        .push((Arc::from(FIRST_SEEN_FIELD), time(rep.timestamp)));
    rep.fields.push((Arc::from(LAST_SEEN_FIELD), time(last)));
}
