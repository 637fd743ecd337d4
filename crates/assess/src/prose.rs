//! The prose of an assessment: the verdict, the headline and the key
//! points, written from the views the assessment already holds. Kept apart
//! from the data assembly so the wording can be reviewed (and changed) in
//! one place.

use crate::assemble::{Inputs, significant, time_text};
use kahu_attack::{Attribution, Outcome};
use kahu_finding::{Finding, Level};
use kahu_report::assessment::{IncidentView, TechniqueView, Verdict};
use kahu_report::containment::Containment;
use std::collections::{BTreeMap, BTreeSet};

/// The summary section of an assessment.
pub struct Summary {
    /// Findings per level name.
    pub by_level: BTreeMap<String, u64>,
    /// Earliest significant activity.
    pub first: Option<kahu_event::Timestamp>,
    /// Latest significant activity (a collapsed burst counts to its end).
    pub last: Option<kahu_event::Timestamp>,
    /// The verdict.
    pub verdict: Verdict,
    /// One paragraph for the reader who reads nothing else.
    pub headline: String,
    /// What to look at first.
    pub key_points: Vec<String>,
}

/// Write the summary: verdict, headline and key points.
pub fn summary(
    inputs: &Inputs<'_>,
    technique_views: &[TechniqueView],
    attribution: &Attribution,
    hosts: usize,
    incident_views: &[IncidentView],
    containment: &Containment,
) -> Summary {
    let findings = inputs.findings;
    let mut by_level: BTreeMap<String, u64> = BTreeMap::new();
    for f in findings {
        *by_level.entry(f.level.as_str().to_string()).or_insert(0) += 1;
    }
    let sig: Vec<&Finding> = findings.iter().filter(|f| significant(f)).collect();
    let first = sig.iter().filter_map(|f| f.timestamp).min();
    // A collapsed burst of repeats lasts until its last instance.
    let last = sig
        .iter()
        .filter_map(|f| kahu_reconstruct::last_seen(f))
        .max();
    let max_level = findings.iter().map(|f| f.level).max();
    let verdict = if inputs.events == 0 {
        Verdict::InsufficientEvidence
    } else if max_level >= Some(Level::High) {
        Verdict::CompromiseDetected
    } else if max_level >= Some(Level::Medium) {
        Verdict::SuspiciousActivity
    } else if inputs.coverage.mostly_unclassified() {
        // Rules never ran on most of it: that is not "no detections".
        Verdict::InsufficientEvidence
    } else {
        Verdict::NoDetections
    };
    let significant_techniques = technique_views
        .iter()
        .filter(|t| t.max_level >= Level::Medium)
        .count();
    let tactics_seen: BTreeSet<&str> = technique_views
        .iter()
        .filter(|t| t.max_level >= Level::Medium)
        .flat_map(|t| t.tactics.iter().map(String::as_str))
        .collect();
    let ordered_tactics: Vec<&str> = kahu_report::html::TACTICS
        .iter()
        .copied()
        .filter(|t| tactics_seen.contains(t))
        .collect();
    let lead = match &attribution.outcome {
        Outcome::Attributed { id, name } => format!(
            " Leading attribution hypothesis: {name} ({id}), {}.",
            attribution.candidates[0].likelihood_words.words()
        ),
        // Not "a new cluster": generic activity fits no profile either.
        Outcome::UnknownCluster => {
            " No actor is named: none of those ATT&CK describes fits well.".into()
        }
        Outcome::InsufficientEvidence => " Insufficient evidence for attribution.".into(),
    };
    let headline = match verdict {
        Verdict::InsufficientEvidence if inputs.events > 0 => format!(
            "Evidence not understood: {} of {} events could not be classified (no channel or log source), so no rule for a log source ran on them. Nothing can be concluded about compromise from these events; see Evidence for the files concerned.",
            inputs.coverage.no_logsource, inputs.events
        ),
        Verdict::InsufficientEvidence => format!(
            "No events could be read from the {} evidence file(s) given; nothing can be concluded about compromise or attribution.",
            inputs.files
        ),
        Verdict::NoDetections => format!(
            "{} from {} {} examined and no rule, indicator or analytic fired at medium level or above. This does not prove the absence of compromise: coverage is limited to the evidence and rules used.",
            counted(inputs.events, "event", "events"),
            counted(inputs.files, "file", "files"),
            if inputs.events == 1 { "was" } else { "were" },
        ),
        _ => format!(
            "Malicious activity on {} {}: {}.{lead}",
            match hosts {
                0 => "unknown hosts".to_string(),
                n => format!("{n} host(s)"),
            },
            match (first, last) {
                (Some(_), Some(_)) if time_text(first) == time_text(last) =>
                    format!("at {}", time_text(first)),
                (Some(_), Some(_)) =>
                    format!("between {} and {}", time_text(first), time_text(last)),
                _ => "at unknown times".to_string(),
            },
            techniques_phrase(
                significant_techniques,
                &ordered_tactics,
                technique_views.iter().filter(|t| t.blanket_only).count()
            ),
        ),
    };
    let mut key_points = Vec::new();
    for i in incident_views.iter().take(5) {
        key_points.push(format!(
            "{} ({}): {}",
            i.title,
            match &i.severity_reason {
                Some(why) => format!("{}, {why}", i.severity),
                None => i.severity.to_string(),
            },
            // Compared as shown (to the second): "17:15:29 to 17:15:29"
            // reads as a mistake.
            match (time_text(i.first_seen), time_text(i.last_seen)) {
                (a, b) if a == b => format!("at {a}"),
                (a, b) => format!("{a} to {b}"),
            }
        ));
    }
    if !containment.is_empty() {
        key_points.push(format!(
            "Act now: isolate {} host(s), reset {} account(s), block {} address(es), remove {} file(s) — see Containment.",
            containment.hosts.len(),
            containment.accounts.len(),
            containment.ips.len(),
            containment.files.len()
        ));
    }
    for gap in inputs.coverage.gaps() {
        key_points.push(format!("Evidence coverage: {gap}; see Evidence."));
    }
    let problems = inputs
        .warnings
        .iter()
        .filter(|w| !w.is_coverage_note())
        .count();
    if problems > 0 {
        // Some problems keep what they concern (a line kept as raw text, a
        // checksum failure read as it is), so not all were "skipped".
        key_points.push(format!(
            "{problems} evidence {} (corrupt or partly read records, unknown formats); each warning says what was skipped or kept; see Evidence.",
            if problems == 1 {
                "problem was reported"
            } else {
                "problems were reported"
            }
        ));
    }

    Summary {
        by_level,
        first,
        last,
        verdict,
        headline,
        key_points,
    }
}

/// "3 ATT&CK techniques across 2 tactics (execution → persistence)", in
/// the singular where it is one; indicator or analytic hits alone map to
/// no technique, which is said rather than "0 … across 0 tactics ()".
fn techniques_phrase(techniques: usize, tactics: &[&str], blanket_only: usize) -> String {
    // Techniques only a broad rule's blanket tags name are not claimed,
    // but their absence from the count is said.
    let blanket = match blanket_only {
        0 => String::new(),
        n => format!(" ({n} more named only by broad rules' blanket tags, not counted)"),
    };
    if techniques == 0 {
        return format!(
            "no ATT&CK technique identified at medium level or above{}",
            blanket.replace(" more ", " ")
        );
    }
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{} across {} ({}){blanket}",
        plural(techniques, "ATT&CK technique", "ATT&CK techniques"),
        plural(tactics.len(), "tactic", "tactics"),
        tactics
            .iter()
            .map(|t| t.replace('-', " "))
            .collect::<Vec<_>>()
            .join(" → ")
    )
}

/// `n` and the noun in its number ("1 event", "2 events"): Mordor's
/// one-record Linux sets read "1 events from 1 files were examined".
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod phrase_tests {
    use super::{counted, techniques_phrase};

    #[test]
    fn counts_take_the_nouns_number() {
        assert_eq!(counted(1, "event", "events"), "1 event");
        assert_eq!(counted(0, "file", "files"), "0 files");
        assert_eq!(counted(2, "file", "files"), "2 files");
    }

    #[test]
    fn technique_counts_read_as_english() {
        assert_eq!(
            techniques_phrase(1, &["credential-access"], 0),
            "1 ATT&CK technique across 1 tactic (credential access)"
        );
        assert_eq!(
            techniques_phrase(3, &["execution", "lateral-movement"], 0),
            "3 ATT&CK techniques across 2 tactics (execution → lateral movement)"
        );
        assert_eq!(
            techniques_phrase(0, &[], 0),
            "no ATT&CK technique identified at medium level or above"
        );
        // Blanket tags of broad rules are not counted, and it is said.
        assert_eq!(
            techniques_phrase(0, &[], 5),
            "no ATT&CK technique identified at medium level or above (5 named only by broad rules' blanket tags, not counted)"
        );
        assert_eq!(
            techniques_phrase(1, &["execution"], 2),
            "1 ATT&CK technique across 1 tactic (execution) (2 more named only by broad rules' blanket tags, not counted)"
        );
    }
}
