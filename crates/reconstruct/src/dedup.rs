//! Deduplication: the same rule firing on the same thing again and again
//! (a beacon every minute, a service restarting) becomes one row with a
//! count and a time span.

use crate::repeats::{last_seen, repeat_count};
use crate::util::Span;
use hashbrown::HashMap;
use kahu_event::Timestamp;
use kahu_finding::{CORRELATION_FIELDS, Finding};
use serde::Serialize;

/// A finding standing for `count` identical detections.
#[derive(Debug, Clone, Serialize)]
pub struct DedupedFinding {
    /// The earliest instance.
    pub finding: Finding,
    /// How many detections were collapsed (a finding that is itself a
    /// collapsed burst counts its [`repeat_count`]).
    pub count: u64,
    /// Earliest instance time.
    pub first_seen: Option<Timestamp>,
    /// Latest instance time.
    pub last_seen: Option<Timestamp>,
    /// Indices of the instances in the slice given to [`dedup`], ascending.
    pub ids: Vec<usize>,
}

/// The identity of a detection for deduplication: host (case-folded),
/// rule id, and the finding's main field value, which is its first key
/// field (detectors put the most telling field first, see
/// `kahu_finding::KEY_FIELDS`); correlation ids are skipped because they
/// differ on every instance.
pub fn dedup_key(f: &Finding) -> (String, &str, &str) {
    let host = f.host.as_deref().unwrap_or("").to_lowercase();
    let main = f
        .fields
        .iter()
        .find(|(k, _)| !CORRELATION_FIELDS.iter().any(|c| c.eq_ignore_ascii_case(k)))
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    (host, &f.rule_id, main)
}

fn earlier(a: Option<Timestamp>, b: Option<Timestamp>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a < b,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Collapse identical detections, keeping the earliest instance as the
/// representative. The result is ordered by first-seen time (undated
/// last), then rule id, regardless of input order.
pub fn dedup(findings: &[Finding]) -> Vec<DedupedFinding> {
    let mut index: HashMap<(String, &str, &str), usize> = HashMap::new();
    let mut out: Vec<(DedupedFinding, Span)> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let key = dedup_key(f);
        match index.get(&key) {
            Some(&j) => {
                let (d, span) = &mut out[j];
                d.count += repeat_count(f);
                d.ids.push(i);
                span.observe(f.timestamp);
                span.observe(last_seen(f));
                if earlier(f.timestamp, d.finding.timestamp) {
                    d.finding = f.clone();
                }
            }
            None => {
                index.insert(key, out.len());
                let mut span = Span::default();
                span.observe(f.timestamp);
                span.observe(last_seen(f));
                out.push((
                    DedupedFinding {
                        finding: f.clone(),
                        count: repeat_count(f),
                        first_seen: None,
                        last_seen: None,
                        ids: vec![i],
                    },
                    span,
                ));
            }
        }
    }
    let mut v: Vec<DedupedFinding> = out
        .into_iter()
        .map(|(mut d, s)| {
            d.first_seen = s.first_seen;
            d.last_seen = s.last_seen;
            d
        })
        .collect();
    v.sort_by(|a, b| {
        let ka = (
            a.first_seen.is_none(),
            a.first_seen,
            &a.finding.rule_id,
            a.ids[0],
        );
        let kb = (
            b.first_seen.is_none(),
            b.first_seen,
            &b.finding.rule_id,
            b.ids[0],
        );
        ka.cmp(&kb)
    });
    v
}
