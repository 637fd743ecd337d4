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
        /// A broad rule's blanket tag at medium or above named it.
        blanket_significant: bool,
    }
    let mut techniques: BTreeMap<String, Acc> = BTreeMap::new();
    // Low-level detections' techniques are kept (marked by level), not
    // dropped: weak alone, they still tell the analyst where to look.
    for f in findings.iter().filter(|f| f.level >= Level::Low) {
        // A broad rule's blanket tags (Malicious PowerShell Commandlets:
        // discovery of trusts, accounts and groups when a framework merely
        // loads its functions) describe a family of behaviour, not what
        // happened; attribution already discounts them. They count as low
        // here, so a technique only they name is listed for the analyst
        // but claimed nowhere: not in the headline's tactics, the STIX
        // bundle or the Navigator layer.
        let blanket = f.kind != kahu_finding::FindingKind::Ioc
            && f.techniques.len() >= kahu_attack::quality::BROAD_RULE_TECHNIQUES;
        let level = if blanket {
            f.level.min(Level::Low)
        } else {
            f.level
        };
        for t in &f.techniques {
            let id = view.technique_id(t);
            let a = techniques.entry(id).or_insert_with(|| Acc {
                observed: t.to_string(),
                count: 0,
                max_level: level,
                hosts: BTreeSet::new(),
                rules: BTreeSet::new(),
                first: None,
                last: None,
                evidence: Vec::new(),
                blanket_significant: false,
            });
            a.blanket_significant |= blanket && f.level >= Level::Medium;
            a.count += kahu_reconstruct::repeat_count(f);
            a.max_level = a.max_level.max(level);
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
            blanket_only: a.blanket_significant && a.max_level < Level::Medium,
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

#[cfg(test)]
mod tests {
    use super::*;
    use kahu_event::{Location, Provenance};
    use kahu_finding::FindingKind;

    fn finding(title: &str, level: Level, techniques: &[&str]) -> Finding {
        Finding {
            kind: FindingKind::Sigma,
            rule_id: title.into(),
            title: title.into(),
            level,
            techniques: techniques.iter().map(|t| (*t).into()).collect(),
            software: Vec::new(),
            groups: Vec::new(),
            timestamp: None,
            host: Some("WORKSTATION5".into()),
            channel: None,
            event_id: None,
            fields: Vec::new(),
            provenance: Provenance::new("a.evtx".into(), Location::Record(1)),
            related: Vec::new(),
        }
    }

    /// Mordor's psexec run claimed trust, account and group discovery in
    /// its headline, STIX bundle and Navigator layer from the blanket tags
    /// of "Malicious PowerShell Commandlets" alone, which its own
    /// attribution discounted. A broad rule's tags count as low; a tag it
    /// shares with a focused rule keeps that rule's level.
    #[test]
    fn a_broad_rules_blanket_tags_count_as_low() {
        let kb = kahu_attack::KnowledgeBase::embedded();
        let view = AttackView::native(kb);
        let fs = vec![
            finding(
                "Malicious PowerShell Commandlets",
                Level::High,
                &["T1482", "T1087", "T1069", "T1059.001"],
            ),
            finding("Encoded PowerShell", Level::High, &["T1059.001"]),
        ];
        let t = techniques(&fs, &view);
        let level = |id: &str| t.iter().find(|v| v.id == id).map(|v| v.max_level);
        assert_eq!(level("T1482"), Some(Level::Low));
        assert_eq!(level("T1087"), Some(Level::Low));
        assert_eq!(level("T1059.001"), Some(Level::High));
        // An indicator's techniques are intelligence, not blanket tags.
        let mut ioc = finding(
            "APT40 C2",
            Level::Critical,
            &["T1071", "T1573", "T1090", "T1105"],
        );
        ioc.kind = FindingKind::Ioc;
        let t = techniques(&[ioc], &view);
        assert!(t.iter().all(|v| v.max_level == Level::Critical));
    }
}
