//! The self-contained HTML report: one file, inline CSS and SVG, no
//! scripts and no network fetches, readable offline and on paper.
//!
//! The markup is in askama templates (`templates/report.html` and the
//! section templates under `templates/report/`), checked at compile time.
//! This module only arranges the assessment for them (grouping, ordering,
//! cuts); every string that can come from evidence is escaped by the
//! templates ([`crate::escape::Html`]): evidence is attacker-controlled and
//! a report must never execute it.

use crate::assessment::*;
use crate::charts::{self, ReportAnalytics};
use crate::containment::Item;
use askama::Template;
use kahu_finding::Level;
use std::collections::BTreeMap;

/// Kill-chain order of ATT&CK enterprise tactics, v18.1's and v19's (the
/// one table, in `kahu_finding::tactic`); a report shows one release's
/// matrix (`AttackRelease::tactics`).
pub const TACTICS: [&str; 16] = kahu_finding::tactic::SHORT_NAMES;

/// Every time in the report says UTC.
fn time(t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    crate::charts::utc(t)
}

/// An RFC 3339 time from a containment entry, printed as the rest of the
/// report prints times ("… UTC"); anything else is shown as it is.
fn utc_text(t: Option<&str>) -> String {
    match t {
        None => "?".into(),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| time(&Some(d.with_timezone(&chrono::Utc))))
            .unwrap_or_else(|_| t.to_string()),
    }
}

/// Rows of an executive-part table printed on paper; the rest shows on
/// screen only (class `print-cut`) so the executive part prints in ≤ 5 pages.
const PRINT_ROWS: usize = 10;
/// Containment entries printed per list (hosts, accounts…).
const CONTAINMENT_PRINT_ITEMS: usize = 12;
/// Timeline entries shown per phase (the rest are in assessment.json).
const TIMELINE_ROWS: usize = 200;

pub(crate) fn title_case(tactic: &str) -> String {
    tactic
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Filters the report templates use.
// askama's `#[filter_fn]` expands each filter into `pub` items of its own,
// which `unreachable_pub` flags at the filter's signature whatever its
// visibility; nothing here leaves the crate (the module is private).
#[allow(unreachable_pub)]
mod filters {
    use chrono::{DateTime, Utc};

    /// A time as the report prints it (`2024-03-05 10:00:00 UTC`, `—` when unknown).
    #[askama::filter_fn]
    pub fn utc(t: &Option<DateTime<Utc>>, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::time(t))
    }

    /// A detection's key fields, one `name: value` per line.
    #[askama::filter_fn]
    pub fn key_fields(
        fields: &[(String, String)],
        _: &dyn askama::Values,
    ) -> askama::Result<String> {
        Ok(fields
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

/// Bytes of a rule's text the report carries; a longer text is cut (at a
/// character boundary) with a note saying how much was left out. SigmaHQ's
/// rules are a few KiB; the cap keeps one odd rule from swelling a report
/// that is mailed to the victim.
pub const RULE_TEXT_CAP: usize = 64 * 1024;

/// A rule that fired, as the detections appendix shows it: its file and
/// its text (escaped by the template like every other string).
#[derive(Debug, Clone, Default)]
pub struct RuleText {
    /// Rule id, as findings carry it.
    pub id: String,
    /// Rule title.
    pub title: String,
    /// The rule file relative to the rules folder it was loaded from
    /// (`windows/process_creation/x.yml`), or `rules/NAME.yml` for kahu's
    /// bundled rules.
    pub file: String,
    /// The rule's YAML, at most [`RULE_TEXT_CAP`] bytes; empty when the
    /// file could no longer be read.
    pub text: String,
    /// Bytes of the text left out by the cap.
    pub cut_bytes: usize,
}

impl RuleText {
    /// Set the text, cut to [`RULE_TEXT_CAP`] bytes at a character
    /// boundary.
    pub fn with_text(mut self, text: &str) -> Self {
        let mut end = text.len().min(RULE_TEXT_CAP);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.text = text[..end].to_string();
        self.cut_bytes = text.len() - end;
        self
    }
}

/// The whole report, arranged for `templates/report.html`.
#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    a: &'a Assessment,
    /// Generation time, minute precision (the header adds "UTC").
    generated: String,
    verdict: &'static str,
    verdict_class: &'static str,
    /// Summary cards: (value, label).
    cards: Vec<(String, String)>,
    /// Detections per level, highest level first.
    levels: Vec<(Level, u64)>,
    /// Informational findings: counted in the cards, not in the appendix.
    informational: u64,
    killchain: String,
    activity_chart: String,
    heatmap: String,
    lateral: String,
    logons: String,
    phases: Vec<Phase<'a>>,
    matrix: Vec<MatrixColumn<'a>>,
    /// Techniques of the leading candidate not observed.
    expected: usize,
    /// Some candidate has supporting evidence: without any, a ranking
    /// would only list names at 0 % (the judgement says why none is named).
    ranked: bool,
    containment: Vec<ContainmentLine<'a>>,
    /// (list name, entries) for the containment print notes.
    containment_notes: Vec<(&'static str, usize)>,
    infrastructure: String,
    print_rows: usize,
    containment_print_items: usize,
    /// The rules that fired (file and text), in the appendix.
    rules: &'a [RuleText],
    rule_text_cap: usize,
}

impl ReportPage<'_> {
    /// The appendix entry of a detection's rule: its index (the
    /// `rule-N` anchor) and its file and text.
    fn rule_of(&self, id: &str) -> Option<(usize, &RuleText)> {
        self.rules.iter().enumerate().find(|(_, r)| r.id == id)
    }
}

/// Timeline entries of one kill-chain phase.
struct Phase<'a> {
    name: String,
    entries: Vec<&'a TimelineEntry>,
    more: usize,
}

/// One tactic's column of the ATT&CK matrix.
struct MatrixColumn<'a> {
    name: String,
    cells: Vec<MatrixCell<'a>>,
}

/// An observed technique in a matrix column, shaded by its detections.
struct MatrixCell<'a> {
    technique: &'a TechniqueView,
    background: String,
}

/// One line of the containment checklist.
struct ContainmentLine<'a> {
    what: &'static str,
    item: &'a Item,
    /// Shown on screen only (past the print cut of its list).
    cut: bool,
    /// "1 detection" / "N detections".
    count: String,
    /// "at T", "T1 to T2" or "time unknown".
    when: String,
}

/// When a containment entry was seen: one moment is "at T", not "T to T",
/// and an entry without times says so instead of "? to ?".
fn seen_text(first: Option<&str>, last: Option<&str>) -> String {
    if first.is_none() && last.is_none() {
        return "time unknown".into();
    }
    // Compared as shown (to the second), not as stored.
    match (utc_text(first), utc_text(last)) {
        (a, b) if a == b => format!("at {a}"),
        (a, b) => format!("{a} to {b}"),
    }
}

/// The ATT&CK page of a technique id (`T1059.001` →
/// `https://attack.mitre.org/techniques/T1059/001/`), so a reader can check
/// what kahu calls it. `None` for anything not shaped like a technique id:
/// ids come from rule tags, and a link is only made from a known shape.
pub fn technique_url(id: &str) -> Option<String> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let rest = id.strip_prefix('T')?;
    match rest.split_once('.') {
        None if digits(rest, 4) => Some(format!("https://attack.mitre.org/techniques/T{rest}/")),
        Some((t, sub)) if digits(t, 4) && digits(sub, 3) => {
            Some(format!("https://attack.mitre.org/techniques/T{t}/{sub}/"))
        }
        _ => None,
    }
}

impl ReportPage<'_> {
    /// [`technique_url`] for the templates.
    fn attack_url(&self, id: &str) -> Option<String> {
        technique_url(id)
    }
}

/// Render the report from the assessment alone (no analytics charts: their
/// sections say there is no data).
pub fn render(a: &Assessment) -> askama::Result<String> {
    render_with(a, &ReportAnalytics::default())
}

/// Render the report: the executive part (summary with the kill-chain
/// strip, scope, containment, attribution) first, then the appendix
/// (timeline, host × day heat map, lateral-movement graph, logons, ATT&CK,
/// incidents, hunts, detections, evidence).
pub fn render_with(a: &Assessment, x: &ReportAnalytics) -> askama::Result<String> {
    let s = &a.summary;
    let (verdict, verdict_class) = verdict_words(s.verdict);
    let total: u64 = s.detections_by_level.values().sum();
    // Accounts seen acting and accounts to reset differ (Kerberoasted
    // service accounts never log on): both numbers, or the card
    // understates the credentials exposed.
    let to_reset = a.containment.accounts.len() as u64;
    let accounts = if to_reset > s.accounts_affected {
        format!("User accounts implicated ({to_reset} to reset)")
    } else {
        "User accounts implicated".to_string()
    };
    let cards = vec![
        (
            time(&s.first_activity),
            "First malicious activity".to_string(),
        ),
        (
            time(&s.last_activity),
            "Last malicious activity".to_string(),
        ),
        (s.hosts_affected.to_string(), "Hosts affected".to_string()),
        (s.accounts_affected.to_string(), accounts),
        // Findings, each standing for its repeats: the unit the level bar
        // and the detections appendix count.
        (total.to_string(), "Findings, all levels".to_string()),
        (a.evidence.events.to_string(), "Events examined".to_string()),
    ];
    let levels = Level::ALL
        .iter()
        .rev()
        .map(|l| {
            let n = s.detections_by_level.get(l.as_str()).copied().unwrap_or(0);
            (*l, n)
        })
        .collect();
    let (matrix, expected) = matrix(a);
    let (containment, containment_notes) = containment(&a.containment);
    let page = ReportPage {
        a,
        generated: a.generated_at.format("%Y-%m-%d %H:%M").to_string(),
        verdict,
        verdict_class,
        cards,
        levels,
        informational: s
            .detections_by_level
            .get(Level::Informational.as_str())
            .copied()
            .unwrap_or(0),
        killchain: charts::killchain_strip(&a.techniques, &a.timeline, &a.attack)?,
        activity_chart: charts::activity_chart(&a.activity)?,
        heatmap: charts::host_day_heatmap(&x.host_days)?,
        lateral: charts::lateral_graph(&x.hops)?,
        logons: charts::logon_table(&x.logons)?,
        phases: phases(&a.timeline),
        matrix,
        expected,
        ranked: a
            .attribution
            .candidates
            .iter()
            .any(|c| !c.supporting.is_empty()),
        containment,
        containment_notes,
        infrastructure: a
            .case
            .infrastructure
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        print_rows: PRINT_ROWS,
        containment_print_items: CONTAINMENT_PRINT_ITEMS,
        rules: &x.rules,
        rule_text_cap: RULE_TEXT_CAP,
    };
    let mut html = page.render()?;
    html.push('\n');
    Ok(html)
}

/// The verdict as the report states it, and its CSS class (the verdict's
/// `assessment.json` name).
fn verdict_words(v: Verdict) -> (&'static str, &'static str) {
    match v {
        Verdict::CompromiseDetected => ("Compromise detected", "compromise_detected"),
        Verdict::SuspiciousActivity => ("Suspicious activity: investigate", "suspicious_activity"),
        Verdict::NoDetections => ("No detections in the evidence examined", "no_detections"),
        Verdict::InsufficientEvidence => {
            ("Insufficient evidence to assess", "insufficient_evidence")
        }
    }
}

/// Timeline entries grouped by kill-chain phase, in kill-chain order, the
/// unclassified last.
fn phases(timeline: &[TimelineEntry]) -> Vec<Phase<'_>> {
    let mut by_phase: BTreeMap<usize, Vec<&TimelineEntry>> = BTreeMap::new();
    for e in timeline {
        let idx = TACTICS
            .iter()
            .position(|t| *t == e.phase)
            .unwrap_or(TACTICS.len());
        by_phase.entry(idx).or_default().push(e);
    }
    by_phase
        .into_iter()
        .map(|(idx, mut entries)| {
            let more = entries.len().saturating_sub(TIMELINE_ROWS);
            entries.truncate(TIMELINE_ROWS);
            Phase {
                name: TACTICS
                    .get(idx)
                    .map(|t| title_case(t))
                    .unwrap_or_else(|| "Unclassified".into()),
                entries,
                more,
            }
        })
        .collect()
}

/// The ATT&CK matrix columns (observed techniques shaded by detections) and
/// the number of the leading candidate's techniques not observed.
fn matrix(a: &Assessment) -> (Vec<MatrixColumn<'_>>, usize) {
    let max = a
        .techniques
        .iter()
        .map(|t| t.detections)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let expected = a
        .attribution
        .candidates
        .first()
        .map_or(0, |c| c.not_observed.len());
    let shown = a.attack.tactics(
        a.techniques
            .iter()
            .flat_map(|t| t.tactics.iter().map(String::as_str)),
    );
    let columns = shown
        .into_iter()
        .map(|tactic| MatrixColumn {
            name: title_case(tactic),
            cells: a
                .techniques
                .iter()
                .filter(|t| t.tactics.iter().any(|x| x == tactic))
                .map(|t| {
                    let heat = (t.detections as f64 / max).sqrt();
                    let (r, g, b) = (255.0, 235.0 - heat * 160.0, 225.0 - heat * 180.0);
                    MatrixCell {
                        technique: t,
                        background: format!("rgb({r:.0},{g:.0},{b:.0})"),
                    }
                })
                .collect(),
        })
        .collect();
    (columns, expected)
}

/// The containment checklist (each list cut at 100 entries, the print cut
/// marked) and the per-list print notes.
fn containment(
    c: &crate::containment::Containment,
) -> (Vec<ContainmentLine<'_>>, Vec<(&'static str, usize)>) {
    let lists: [(&'static str, &Vec<Item>); 10] = [
        ("Isolate and image host", &c.hosts),
        (
            "Reset credentials (and revoke Kerberos tickets) of account",
            &c.accounts,
        ),
        ("Collect, then remove file", &c.files),
        ("Block IP address", &c.ips),
        ("Block range", &c.cidrs),
        ("Block/sinkhole domain", &c.domains),
        ("Block URL", &c.urls),
        ("Block hash", &c.hashes),
        (
            "Investigate internal address (possible C2 or pivot)",
            &c.internal_ips,
        ),
        (
            "Do not block (shared infrastructure)",
            &c.shared_infrastructure,
        ),
    ];
    let lines = lists
        .iter()
        .flat_map(|(what, list)| {
            list.iter()
                .take(100)
                .enumerate()
                .map(|(i, item)| ContainmentLine {
                    what,
                    item,
                    cut: i >= CONTAINMENT_PRINT_ITEMS,
                    count: match item.detections {
                        1 => "1 detection".into(),
                        n => format!("{n} detections"),
                    },
                    when: seen_text(item.first_seen.as_deref(), item.last_seen.as_deref()),
                })
        })
        .collect();
    let notes = vec![
        ("hosts", c.hosts.len()),
        ("accounts", c.accounts.len()),
        ("files", c.files.len()),
        ("IP addresses", c.ips.len()),
        ("domains", c.domains.len()),
        ("URLs", c.urls.len()),
        ("hashes", c.hashes.len()),
        ("internal addresses", c.internal_ips.len()),
    ];
    (lines, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_times_read_as_a_moment_a_range_or_unknown() {
        let t = "2024-05-01T10:00:00Z";
        assert_eq!(seen_text(Some(t), Some(t)), "at 2024-05-01 10:00:00 UTC");
        assert_eq!(
            seen_text(Some(t), Some("2024-05-02T10:00:00Z")),
            "2024-05-01 10:00:00 UTC to 2024-05-02 10:00:00 UTC"
        );
        assert_eq!(seen_text(None, None), "time unknown");
        assert_eq!(
            seen_text(Some(t), Some("2024-05-01T10:00:00.750Z")),
            "at 2024-05-01 10:00:00 UTC"
        );
    }

    #[test]
    fn technique_links_only_for_technique_ids() {
        assert_eq!(
            technique_url("T1059.001").as_deref(),
            Some("https://attack.mitre.org/techniques/T1059/001/")
        );
        assert_eq!(
            technique_url("T1190").as_deref(),
            Some("https://attack.mitre.org/techniques/T1190/")
        );
        for odd in [
            "",
            "T",
            "T119",
            "T11900",
            "T1059.01",
            "T1059.0011",
            "S0002",
            "T1059/../x",
            "T1059.001\n",
            "t1059",
        ] {
            assert_eq!(technique_url(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn long_rule_texts_are_cut_at_a_character_boundary_and_say_so() {
        let short = RuleText::default().with_text("title: x\n");
        assert_eq!((short.text.as_str(), short.cut_bytes), ("title: x\n", 0));
        // 'é' is two bytes: the cap falls inside one of them.
        let long = "é".repeat(RULE_TEXT_CAP);
        let r = RuleText::default().with_text(&long);
        assert_eq!(r.text.len(), RULE_TEXT_CAP);
        assert_eq!(r.cut_bytes, long.len() - RULE_TEXT_CAP);
        let odd = format!("a{long}");
        let r = RuleText::default().with_text(&odd);
        assert_eq!(r.text.len(), RULE_TEXT_CAP - 1);
        assert_eq!(r.text.len() + r.cut_bytes, odd.len());
    }

    #[test]
    fn verdict_classes_are_the_json_names() {
        for v in [
            Verdict::CompromiseDetected,
            Verdict::SuspiciousActivity,
            Verdict::NoDetections,
            Verdict::InsufficientEvidence,
        ] {
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::json!(verdict_words(v).1)
            );
        }
    }
}
