//! Evidence is attacker-controlled: every string the report renders from
//! it (host names, accounts, rule titles, command lines, paths, analyst
//! input) must come out as text, in element content and in SVG alike.
//!
//! Each field below gets its own tagged payload carrying markup, quotes,
//! `</style>`, a CDATA end (`]]>`), an entity and a control character. The
//! test checks that (1) every tagged payload is in the report, escaped
//! (so each place that renders it was exercised), (2) no payload appears
//! raw, (3) every tag in the document is one the templates write, with
//! only the templates' attributes, and the style block closes once.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use chrono::{TimeZone, Utc};
use kahu_finding::Level;
use kahu_report::assessment::*;
use kahu_report::charts::{HopView, HostDayCount, LogonView, ReportAnalytics};
use kahu_report::containment::{Containment, Item};

/// A payload tagged with the field it is put in.
fn evil(field: &str) -> String {
    format!("{field}<script>alert(1)</script>\"'</style>]]><b onmouseover=x>&amp;\u{1b}[31m")
}

/// The payload as the report must show it: askama's character references,
/// the control character as U+FFFD.
fn escaped(field: &str) -> String {
    format!(
        "{field}&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#39;&#60;/style&#62;]]&#62;&#60;b onmouseover=x&#62;&#38;amp;\u{FFFD}[31m"
    )
}

fn t(h: u32) -> Option<chrono::DateTime<Utc>> {
    Some(Utc.with_ymd_and_hms(2024, 3, 5, h, 0, 0).unwrap())
}

fn item(field: &str) -> Item {
    Item {
        value: evil(&format!("{field}.value")),
        reason: evil(&format!("{field}.reason")),
        // Not RFC 3339: shown as given.
        first_seen: Some(evil(&format!("{field}.first"))),
        last_seen: Some("2024-03-05T10:00:00Z".into()),
        detections: 2,
    }
}

fn entity(field: &str) -> EntityView {
    EntityView {
        value: evil(&format!("{field}.value")),
        kind: evil(&format!("{field}.kind")),
        first_seen: t(1),
        last_seen: t(2),
        detections: 3,
        rules: vec![evil(&format!("{field}.rule"))],
    }
}

fn evidence_item(field: &str) -> EvidenceItemView {
    EvidenceItemView {
        kind: evil(&format!("{field}.kind")),
        value: evil(&format!("{field}.value")),
        detail: evil(&format!("{field}.detail")),
        weight: 0.5,
    }
}

fn hostile_assessment() -> Assessment {
    let technique = TechniqueView {
        id: evil("technique.id"),
        name: evil("technique.name"),
        tactics: vec!["execution".into()],
        detections: 4,
        max_level: Level::High,
        hosts: vec![evil("technique.host")],
        rules: vec![evil("technique.rule")],
        first_seen: t(1),
        last_seen: t(2),
        evidence: vec![evil("technique.evidence")],
        blanket_only: false,
    };
    let candidate = CandidateView {
        rank: 1,
        group_id: evil("candidate.group_id"),
        name: evil("candidate.name"),
        aliases: vec![evil("candidate.alias")],
        score: 1.5,
        probability: 0.7,
        likelihood: evil("candidate.likelihood"),
        confidence: evil("candidate.confidence"),
        supporting: vec![evidence_item("supporting")],
        contradicting: vec![evidence_item("contradicting")],
        not_observed: vec![TechniqueRef {
            id: evil("not_observed.id"),
            name: evil("not_observed.name"),
        }],
    };
    Assessment {
        schema_version: evil("schema_version"),
        attack: Default::default(),
        generator: Generator {
            name: evil("generator.name"),
            version: evil("generator.version"),
        },
        generated_at: Utc.with_ymd_and_hms(2024, 3, 6, 0, 0, 0).unwrap(),
        case: CaseInfo {
            name: evil("case.name"),
            producer: evil("case.producer"),
            victim: None,
            sectors: vec![evil("case.sector")],
            regions: vec![evil("case.region")],
            infrastructure: vec!["203.0.113.7=soho-router".parse().unwrap()],
            ..Default::default()
        },
        evidence: EvidenceSummary {
            paths: vec![evil("evidence.path")],
            files: 1,
            events: 10,
            warnings: 1,
            warning_samples: vec![evil("evidence.warning")],
            rules_loaded: 5,
            rules_rejected: 0,
            scope_limits: vec![evil("evidence.scope_limit")],
        },
        summary: ExecutiveSummary {
            verdict: Verdict::CompromiseDetected,
            headline: evil("summary.headline"),
            key_points: vec![evil("summary.key_point")],
            first_activity: t(1),
            last_activity: t(2),
            hosts_affected: 1,
            accounts_affected: 1,
            detections_by_level: [("high".to_string(), 4u64)].into_iter().collect(),
        },
        attribution: AttributionSection {
            outcome: evil("attribution.outcome"),
            judgement: evil("attribution.judgement"),
            candidates: vec![candidate],
            method: evil("attribution.method"),
            attack_version: evil("attribution.attack_version"),
        },
        techniques: vec![technique],
        timeline: vec![TimelineEntry {
            phase: "execution".into(),
            first_seen: t(1),
            last_seen: t(2),
            count: 4,
            title: evil("timeline.title"),
            rule_id: evil("timeline.rule_id"),
            level: Level::High,
            host: Some(evil("timeline.host")),
            techniques: vec![evil("timeline.technique")],
            techniques_tagged: vec![evil("timeline.technique_tagged")],
            detail: evil("timeline.detail"),
            provenance: evil("timeline.provenance"),
        }],
        scope: ScopeView {
            hosts: vec![entity("scope.host")],
            accounts: vec![entity("scope.account")],
            ips: vec![entity("scope.ip")],
            files: vec![entity("scope.file")],
        },
        incidents: vec![IncidentView {
            id: evil("incident.id"),
            title: evil("incident.title"),
            severity: Level::Critical,
            severity_reason: Some("raised from high: 3 tactics".to_string()),
            hosts: vec![evil("incident.host")],
            accounts: vec![evil("incident.account")],
            first_seen: t(1),
            last_seen: t(2),
            phases: vec![evil("incident.phase")],
            techniques: vec![evil("incident.technique")],
            techniques_tagged: vec![evil("incident.technique_tagged")],
            evidence: vec![evil("incident.evidence")],
        }],
        containment: Containment {
            hosts: vec![item("containment.host")],
            accounts: vec![item("containment.account")],
            files: vec![item("containment.file")],
            ips: vec![item("containment.ip")],
            cidrs: vec![item("containment.cidr")],
            domains: vec![item("containment.domain")],
            urls: vec![item("containment.url")],
            hashes: vec![item("containment.hash")],
            internal_ips: vec![item("containment.internal_ip")],
            shared_infrastructure: vec![item("containment.shared")],
            excluded: vec![item("containment.excluded")],
            actions: vec![item("containment.action")],
        },
        hunts: vec![HuntView {
            technique_id: evil("hunt.technique_id"),
            name: evil("hunt.name"),
            tactics: vec![evil("hunt.tactic")],
            reason: evil("hunt.reason"),
        }],
        activity: vec![ActivityBucket {
            start: Utc.with_ymd_and_hms(2024, 3, 5, 1, 0, 0).unwrap(),
            seconds: 3600,
            counts: [("high".to_string(), 4u64)].into_iter().collect(),
        }],
        detections: vec![DetectionView {
            timestamp: t(1),
            level: Level::High,
            kind: evil("detection.kind"),
            rule_id: evil("detection.rule_id"),
            title: evil("detection.title"),
            techniques: vec![],
            host: Some(evil("detection.host")),
            channel: Some(evil("detection.channel")),
            event_id: Some(4688),
            fields: vec![(evil("detection.field_name"), evil("detection.field_value"))],
            provenance: evil("detection.provenance"),
        }],
        detections_total: 1,
    }
}

fn hostile_analytics() -> ReportAnalytics {
    ReportAnalytics {
        hops: vec![HopView {
            source: evil("hop.source"),
            target: evil("hop.target"),
            protocol: evil("hop.protocol"),
            account: evil("hop.account"),
            count: 3,
            first_seen: t(1),
        }],
        logons: vec![LogonView {
            account: evil("logon.account"),
            host: evil("logon.host"),
            logon_type: Some(3),
            successes: 1,
            failures: 2,
            first_seen: t(1),
            last_seen: t(2),
        }],
        host_days: vec![HostDayCount {
            host: evil("heatmap.host"),
            day: chrono::NaiveDate::from_ymd_opt(2024, 3, 5).unwrap(),
            detections: 4,
        }],
        rules: vec![
            kahu_report::html::RuleText {
                id: evil("rule.id"),
                title: evil("rule.title"),
                file: evil("rule.file"),
                ..Default::default()
            }
            .with_text(&format!("title: x\n{}\n", evil("rule.text"))),
        ],
    }
}

/// Every field given a payload above, by tag.
const FIELDS: &[&str] = &[
    "rule.id",
    "rule.title",
    "rule.file",
    "rule.text",
    "schema_version",
    "generator.name",
    "generator.version",
    "case.name",
    "case.producer",
    "case.sector",
    "case.region",
    "evidence.path",
    "evidence.warning",
    "evidence.scope_limit",
    "summary.headline",
    "summary.key_point",
    "attribution.judgement",
    "attribution.method",
    "attribution.attack_version",
    "candidate.group_id",
    "candidate.name",
    "candidate.alias",
    "candidate.likelihood",
    "candidate.confidence",
    "supporting.kind",
    "supporting.value",
    "supporting.detail",
    "contradicting.kind",
    "contradicting.value",
    "contradicting.detail",
    "not_observed.id",
    "not_observed.name",
    "technique.id",
    "technique.name",
    "technique.host",
    "technique.rule",
    "technique.evidence",
    "timeline.title",
    "timeline.host",
    "timeline.technique",
    "timeline.detail",
    "timeline.provenance",
    "scope.host.value",
    "scope.host.kind",
    "scope.host.rule",
    "scope.account.value",
    "scope.ip.value",
    "scope.file.value",
    "incident.title",
    "incident.host",
    "incident.account",
    "incident.phase",
    "incident.technique",
    "incident.evidence",
    "containment.host.value",
    "containment.host.reason",
    "containment.host.first",
    "containment.account.value",
    "containment.file.value",
    "containment.ip.value",
    "containment.cidr.value",
    "containment.domain.value",
    "containment.url.value",
    "containment.hash.value",
    "containment.internal_ip.value",
    "containment.shared.value",
    "containment.excluded.value",
    "containment.excluded.reason",
    "containment.action.value",
    "containment.action.reason",
    "hunt.technique_id",
    "hunt.name",
    "hunt.tactic",
    "hunt.reason",
    "detection.kind",
    "detection.rule_id",
    "detection.title",
    "detection.host",
    "detection.channel",
    "detection.field_name",
    "detection.provenance",
    // SVG: edge titles and labels, node titles, heat-map labels and titles.
    "hop.source",
    "hop.target",
    "hop.protocol",
    "hop.account",
    "logon.account",
    "logon.host",
    "heatmap.host",
];

/// Elements the report's templates write.
const TAGS: &[&str] = &[
    "!DOCTYPE",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "span",
    "h1",
    "h2",
    "h3",
    "h4",
    "div",
    "nav",
    "a",
    "main",
    "section",
    "p",
    "ul",
    "ol",
    "li",
    "table",
    "tr",
    "th",
    "td",
    "b",
    "br",
    "code",
    "details",
    "summary",
    "pre",
    "figure",
    "figcaption",
    "svg",
    "text",
    "rect",
    "g",
    "line",
    "circle",
    "defs",
    "marker",
    "path",
];

/// Attributes the report's templates write.
const ATTRIBUTES: &[&str] = &[
    "lang",
    "charset",
    "name",
    "content",
    "http-equiv",
    "class",
    "href",
    "id",
    "style",
    "title",
    "open",
    "textLength",
    "lengthAdjust",
    "role",
    "aria-label",
    "viewBox",
    "width",
    "height",
    "preserveAspectRatio",
    "x",
    "y",
    "fill",
    "text-anchor",
    "stroke",
    "transform",
    "dx",
    "refX",
    "refY",
    "markerUnits",
    "markerWidth",
    "markerHeight",
    "orient",
    "d",
    "x1",
    "y1",
    "x2",
    "y2",
    "stroke-width",
    "marker-end",
    "cx",
    "cy",
    "r",
];

/// Every tag of the document: its name and attribute names. Attribute
/// values are double-quoted by the templates; a value that could close its
/// quote early would show here as an unknown attribute.
fn tags(html: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        let after = &rest[i + 1..];
        let Some(end) = after.find('>') else {
            out.push(("<unclosed>".to_string(), Vec::new()));
            break;
        };
        let inner = after[..end].trim_start_matches('/').trim_end_matches('/');
        let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
        let name = inner[..name_end].to_string();
        let mut attrs = Vec::new();
        let mut a = inner[name_end..].trim_start();
        if name != "!DOCTYPE" {
            while !a.is_empty() {
                let first = a.chars().next().map_or(1, char::len_utf8);
                let n_end = a.find(['=', ' ']).unwrap_or(a.len()).max(first);
                attrs.push(a[..n_end].to_string());
                a = &a[n_end..];
                if let Some(v) = a.strip_prefix("=\"") {
                    let Some(close) = v.find('"') else {
                        attrs.push("<unterminated value>".to_string());
                        break;
                    };
                    a = &v[close + 1..];
                } else if let Some(v) = a.strip_prefix('=') {
                    // The templates quote every value.
                    attrs.push("<unquoted value>".to_string());
                    a = &v[v.find(char::is_whitespace).unwrap_or(v.len())..];
                }
                a = a.trim_start();
            }
        }
        out.push((name, attrs));
        rest = &after[end + 1..];
    }
    out
}

#[test]
fn evidence_strings_are_text_everywhere_they_are_rendered() {
    let html = kahu_report::html::render_with(&hostile_assessment(), &hostile_analytics()).unwrap();

    let missing: Vec<&&str> = FIELDS
        .iter()
        .filter(|f| !html.contains(&escaped(f)))
        .collect();
    assert!(missing.is_empty(), "not rendered escaped: {missing:?}");
    for raw in ["<script", "<b onmouseover", "]]>", "\u{1b}", "'</style>"] {
        assert!(!html.contains(raw), "raw {raw:?} in the report");
    }
    assert_eq!(
        html.matches("</style>").count(),
        1,
        "the style block closes once"
    );

    // The charts were drawn, not replaced by "no data".
    for id in [
        "killchain",
        "activity-chart",
        "heatmap",
        "lateral-graph",
        "logon-table",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} not drawn");
    }
    assert!(!html.contains("nodata"));

    // Outside the style block, every tag and attribute is the templates'.
    let style = html.find("<style>").unwrap()..html.find("</style>").unwrap();
    let body = format!("{}{}", &html[..style.start], &html[style.end..]);
    for (name, attrs) in tags(&body) {
        assert!(TAGS.contains(&name.as_str()), "unexpected element <{name}>");
        for a in attrs {
            assert!(
                ATTRIBUTES.contains(&a.as_str()),
                "unexpected attribute {a} on <{name}>"
            );
        }
    }
}

#[test]
fn the_checker_sees_an_injected_element_and_attribute() {
    // The structural check above must be able to fail: a raw payload in an
    // attribute and in text is seen.
    let tags = tags(&format!("<p title=\"{}\">{}</p>", evil("x"), evil("y")));
    assert!(
        tags.iter()
            .any(|(_, attrs)| attrs.iter().any(|a| !ATTRIBUTES.contains(&a.as_str())))
    );
    assert!(tags.iter().any(|(n, _)| n == "script"));
}

/// With no candidate supported by anything (insufficient evidence), the
/// report lists no actor at 0 %: the judgement alone says why none is
/// named. With support, the ranking is there.
#[test]
fn no_ranking_is_rendered_when_no_candidate_has_support() {
    let analytics = hostile_analytics();
    let supported = hostile_assessment();
    assert!(
        supported
            .attribution
            .candidates
            .iter()
            .any(|c| !c.supporting.is_empty())
    );
    let html = kahu_report::html::render_with(&supported, &analytics).unwrap();
    assert!(html.contains("<th>Analytic confidence</th>"));
    let mut bare = supported.clone();
    for c in &mut bare.attribution.candidates {
        c.supporting.clear();
    }
    let html = kahu_report::html::render_with(&bare, &analytics).unwrap();
    assert!(!html.contains("<th>Analytic confidence</th>"));
    assert!(!html.contains("— overlap with the case"));
}

/// The cards and the appendix say what they count: the card counts
/// findings of every level, the appendix those at low and above, and it
/// says where the informational ones are ("238 of 238" sat under a card
/// of 365); the accounts card gives the accounts to reset when they are
/// more than the accounts seen acting (2 beside "reset 8 accounts").
#[test]
fn counts_on_the_cards_and_the_appendix_say_what_they_count() {
    let mut a = hostile_assessment();
    a.summary
        .detections_by_level
        .insert("informational".to_string(), 3);
    let extra = a.containment.accounts[0].clone();
    a.containment.accounts.push(extra.clone());
    a.containment.accounts.push(extra);
    let html = kahu_report::html::render_with(&a, &hostile_analytics()).unwrap();
    let text = html.replace(['\n'], " ");
    assert!(text.contains("Findings, all levels"), "cards");
    assert!(
        text.contains("Appendix: findings at low level and above (1 shown of 1; 3 informational only in findings.jsonl)"),
        "appendix heading"
    );
    assert!(
        text.contains("User accounts implicated (3 to reset)"),
        "accounts card"
    );
}
