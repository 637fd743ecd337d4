//! The assessment's views of techniques, the timeline and incidents: what
//! the report and `assessment.json` show, built from reconstruction's
//! results.

use crate::assemble::{detail, time_text};
use chrono::{DateTime, Utc};
use kahu_attack::AttackView;
use kahu_finding::{Finding, Level};
use kahu_report::assessment::{IncidentView, TechniqueView, TimelineEntry};
use std::collections::{BTreeMap, BTreeSet};

/// Every technique detected at low level or above, with its counts,
/// hosts, rules, time span and sample evidence; ids, names and tactics in
/// `view`'s ATT&CK release (v18.1 ids that became one v19 id are merged).
pub fn techniques(findings: &[Finding], view: &AttackView<'_>) -> Vec<TechniqueView> {
    struct Acc {
        /// The technique id as first observed, for its name and tactics.
        observed: String,
        count: u64,
        max_level: Level,
        hosts: BTreeSet<String>,
        rules: BTreeSet<String>,
        first: Option<DateTime<Utc>>,
        last: Option<DateTime<Utc>>,
        evidence: Vec<String>,
    }
    let mut techniques: BTreeMap<String, Acc> = BTreeMap::new();
    // Low-level detections' techniques are kept (marked by level), not
    // dropped: weak alone, they still tell the analyst where to look.
    for f in findings.iter().filter(|f| f.level >= Level::Low) {
        for t in &f.techniques {
            let id = view.technique_id(t);
            let a = techniques.entry(id).or_insert_with(|| Acc {
                observed: t.to_string(),
                count: 0,
                max_level: f.level,
                hosts: BTreeSet::new(),
                rules: BTreeSet::new(),
                first: None,
                last: None,
                evidence: Vec::new(),
            });
            a.count += kahu_reconstruct::repeat_count(f);
            a.max_level = a.max_level.max(f.level);
            if let Some(h) = &f.host
                && a.hosts.len() < 20
            {
                a.hosts.insert(h.to_string());
            }
            if a.rules.len() < 10 {
                a.rules.insert(f.title.to_string());
            }
            if let Some(t) = f.timestamp {
                a.first = Some(a.first.map_or(t, |x| x.min(t)));
            }
            if let Some(t) = kahu_reconstruct::last_seen(f) {
                a.last = Some(a.last.map_or(t, |x| x.max(t)));
            }
            if a.evidence.len() < 3 {
                a.evidence.push(f.provenance.to_string());
            }
        }
    }
    techniques
        .into_iter()
        .map(|(id, a)| TechniqueView {
            name: view.technique_name(&a.observed),
            tactics: view
                .tactics(&a.observed)
                .iter()
                .map(|t| t.short_name().to_string())
                .collect(),
            id,
            detections: a.count,
            max_level: a.max_level,
            hosts: a.hosts.into_iter().collect(),
            rules: a.rules.into_iter().collect(),
            first_seen: a.first,
            last_seen: a.last,
            evidence: a.evidence,
        })
        .collect()
}

/// Technique ids in `view`'s release, in their first order, without
/// repeats (two v18.1 ids can become one v19 id), and the ids as the rule
/// tagged them when those differ (empty when they do not).
fn shown_ids(tagged: &[impl AsRef<str>], view: &AttackView<'_>) -> (Vec<String>, Vec<String>) {
    let mut shown: Vec<String> = Vec::new();
    for t in tagged {
        let id = view.technique_id(t.as_ref());
        if !shown.contains(&id) {
            shown.push(id);
        }
    }
    let tagged: Vec<String> = tagged.iter().map(|t| t.as_ref().to_string()).collect();
    let differ = tagged.len() != shown.len()
        || tagged
            .iter()
            .zip(&shown)
            .any(|(t, s)| !t.trim().eq_ignore_ascii_case(s));
    (shown, if differ { tagged } else { Vec::new() })
}

/// The timeline entries; technique ids in `view`'s release.
pub fn timeline(
    timeline: &kahu_reconstruct::Timeline,
    view: &AttackView<'_>,
) -> Vec<TimelineEntry> {
    timeline
        .entries
        .iter()
        .map(|e| {
            let (techniques, techniques_tagged) = shown_ids(&e.finding.finding.techniques, view);
            TimelineEntry {
                phase: e
                    .tactics
                    .first()
                    .map(|t| t.short_name().to_string())
                    .unwrap_or_else(|| "unclassified".into()),
                first_seen: e.finding.first_seen,
                last_seen: e.finding.last_seen,
                count: e.finding.count,
                title: e.finding.finding.title.to_string(),
                rule_id: e.finding.finding.rule_id.to_string(),
                level: e.finding.finding.level,
                host: e.finding.finding.host.as_deref().map(str::to_string),
                techniques,
                techniques_tagged,
                detail: detail(&e.finding.finding),
                provenance: e.finding.finding.provenance.to_string(),
            }
        })
        .collect()
}

/// The incidents, each with its evidence lines; technique ids in
/// `view`'s release.
pub fn incidents(
    incidents: &[kahu_reconstruct::Incident],
    view: &AttackView<'_>,
) -> Vec<IncidentView> {
    incidents
        .iter()
        .map(|i| {
            let (techniques, techniques_tagged) = shown_ids(&i.techniques, view);
            IncidentView {
                id: i.id.clone(),
                title: i.title.clone(),
                severity: i.severity,
                severity_reason: i.severity_reason.clone(),
                hosts: i.hosts.clone(),
                accounts: i.accounts.clone(),
                first_seen: i.first_seen,
                last_seen: i.last_seen,
                phases: i
                    .tactics
                    .iter()
                    .map(|t| t.short_name().to_string())
                    .collect(),
                techniques,
                techniques_tagged,
                evidence: i
                    .evidence
                    .iter()
                    .map(|e| {
                        let title = &e.finding.finding.title;
                        format!(
                            "{} [{}] {}{} (×{}) — {}",
                            time_text(e.finding.first_seen),
                            e.phase.map(|p| p.short_name()).unwrap_or("unclassified"),
                            title,
                            kahu_finding::on_host(
                                title,
                                e.finding.finding.host.as_deref().unwrap_or("host unknown")
                            ),
                            e.finding.count,
                            e.finding.finding.provenance
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}
