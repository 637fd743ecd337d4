//! The self-contained HTML report: one file, inline CSS and SVG, no
//! scripts and no network fetches, readable offline and on paper.
//!
//! Every string that can come from evidence goes through [`esc`]: evidence
//! is attacker-controlled and a report must never execute it.

use crate::assessment::*;
use crate::charts::{self, ReportAnalytics};
use kahu_finding::Level;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Kill-chain order of ATT&CK enterprise tactics, v18.1's and v19's (the
/// one table, in `kahu_finding::tactic`); a report shows one release's
/// matrix (`AttackRelease::tactics`).
pub const TACTICS: [&str; 16] = kahu_finding::tactic::SHORT_NAMES;

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

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

/// ` class="print-cut"` for the rows past [`PRINT_ROWS`].
fn cut(i: usize, keep: usize) -> &'static str {
    if i >= keep {
        " class=\"print-cut\""
    } else {
        ""
    }
}

/// A note printed (only on paper) where rows were cut.
fn print_note(h: &mut String, shown: usize, total: usize, where_: &str) {
    if total > shown {
        let _ = write!(
            h,
            "<p class=\"print-only mut\">Printed: {shown} of {total}; all in {}.</p>",
            esc(where_)
        );
    }
}

fn level_badge(l: Level) -> String {
    format!("<span class=\"lv lv-{0}\">{0}</span>", l.as_str())
}

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

const CSS: &str = r#"
:root{--fg:#1b1f24;--mut:#5b6570;--bd:#d8dee4;--bg:#fff;--acc:#0b4f6c;--crit:#7f0000;--high:#c62828;--med:#e08e0b;--low:#2e7d9a;--info:#8a8f98}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0}
header{background:var(--acc);color:#fff;padding:20px 32px}header h1{margin:0 0 4px;font-size:24px}header .meta{opacity:.85}
.tlp{float:right;background:#000;color:#ffc000;font-weight:700;padding:4px 10px;border-radius:3px}
nav{padding:8px 32px;border-bottom:1px solid var(--bd);background:#f6f8fa}nav a{margin-right:14px;color:var(--acc);text-decoration:none}
main{padding:8px 32px 40px;max-width:1400px}section{margin-top:28px;page-break-inside:auto}h2{border-bottom:2px solid var(--acc);padding-bottom:4px;color:var(--acc)}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-size:13px}th,td{border:1px solid var(--bd);padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f0f3f6}td.num{text-align:right}tr:nth-child(even) td{background:#fbfcfd}
.lv{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px}.lv-critical{background:var(--crit)}.lv-high{background:var(--high)}.lv-medium{background:var(--med)}.lv-low{background:var(--low)}.lv-informational{background:var(--info)}
.verdict{font-size:18px;font-weight:600;padding:10px 14px;border-left:6px solid var(--acc);background:#eef5f8}
.verdict.compromise_detected{border-color:var(--high);background:#fdecea}.verdict.insufficient_evidence{border-color:var(--info);background:#f3f4f6}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.card{border:1px solid var(--bd);border-radius:6px;padding:10px 14px;min-width:150px}.card b{display:block;font-size:22px}
.judgement{font-size:16px;padding:10px 14px;background:#f6f8fa;border-radius:6px}
.matrix{display:grid;grid-template-columns:repeat(14,minmax(80px,1fr));gap:4px;font-size:11px}.matrix .col h4{margin:0 0 4px;font-size:11px;min-height:28px}
.cell{border:1px solid var(--bd);border-radius:3px;padding:3px;margin-bottom:3px;word-break:break-word}.cell.expected{border-style:dashed;color:var(--mut)}
.mut{color:var(--mut)}code,.mono{font-family:ui-monospace,SFMono-Regular,Consolas,monospace;font-size:12px;word-break:break-all}
ul.check{list-style:none;padding-left:0}ul.check li:before{content:"☐ ";font-size:16px}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
svg text{font-size:10px;fill:var(--mut)}
.print-only{display:none}figure.chart{margin:8px 0 16px}figure.chart svg{display:block}figcaption{font-size:12px}.part{font-size:13px;text-transform:uppercase;letter-spacing:.08em;color:var(--mut);margin:36px 0 0;border-top:4px double var(--bd);padding-top:8px}
@media print{@page{size:A4;margin:14mm}body{font-size:11px}nav{display:none}header{background:#fff;color:#000;border-bottom:3px solid #000;padding:8px 0}main{padding:0;max-width:none}
section{page-break-before:auto;margin-top:14px}h2{font-size:16px;margin:8px 0 4px}a{color:inherit;text-decoration:none}table{font-size:9px;margin:4px 0 8px}th,td{padding:2px 4px}
.exec details:not([open]){display:none}.exec details[open]>summary{list-style:none}.exec .print-cut{display:none}code,.mono{font-size:9px}td.mono{word-break:normal;overflow-wrap:anywhere;min-width:18ch}ul.check li{margin:0}ul.check li:before{font-size:11px}.exec .why{display:-webkit-box;-webkit-line-clamp:1;-webkit-box-orient:vertical;overflow:hidden}.print-only{display:block}
#appendix{page-break-before:always}.appendix details{display:block}.appendix details>summary{list-style:none}figure.chart,tr,.card{page-break-inside:avoid}}
"#;

/// Render the report from the assessment alone (no analytics charts: their
/// sections say there is no data).
pub fn render(a: &Assessment) -> String {
    render_with(a, &ReportAnalytics::default())
}

/// Render the report: the executive part (summary with the kill-chain
/// strip, scope, containment, attribution) first, then the appendix
/// (timeline, host × day heat map, lateral-movement graph, logons, ATT&CK,
/// incidents, hunts, detections, evidence).
pub fn render_with(a: &Assessment, x: &ReportAnalytics) -> String {
    let mut h = String::with_capacity(256 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <title>Compromise assessment — {}</title><style>{CSS}</style></head><body>",
        esc(&a.case.name)
    );
    let _ = write!(
        h,
        "<header><span class=\"tlp\">{}</span><h1>Compromise assessment: {}</h1>\
         <div class=\"meta\">Produced by {} with {} {} on {} UTC · assessment schema {}</div></header>",
        esc(a.case.tlp.label()),
        esc(&a.case.name),
        esc(&a.case.producer),
        esc(&a.generator.name),
        esc(&a.generator.version),
        a.generated_at.format("%Y-%m-%d %H:%M"),
        esc(&a.schema_version)
    );
    h.push_str(
        "<nav><a href=\"#summary\">Summary</a><a href=\"#scope\">Scope</a><a href=\"#containment\">Containment</a>\
         <a href=\"#attribution\">Attribution</a><a href=\"#appendix\">Appendix:</a><a href=\"#timeline\">Timeline</a>\
         <a href=\"#activity\">Activity</a><a href=\"#lateral\">Lateral movement</a><a href=\"#logons\">Logons</a>\
         <a href=\"#matrix\">ATT&amp;CK</a><a href=\"#incidents\">Incidents</a><a href=\"#hunts\">Hunts</a>\
         <a href=\"#detections\">Detections</a><a href=\"#evidence\">Evidence</a></nav><main>",
    );
    // What the victim needs first: what happened, what is affected, what to
    // do; then who did it. The executive part prints on its own (see CSS).
    h.push_str("<div class=\"exec\">");
    summary(&mut h, a);
    scope(&mut h, a);
    containment(&mut h, a);
    attribution(&mut h, a);
    h.push_str("</div><div class=\"appendix\"><h2 class=\"part\" id=\"appendix\">Appendix: the detail</h2>");
    timeline(&mut h, a);
    activity(&mut h, x);
    lateral(&mut h, x);
    logons(&mut h, x);
    matrix(&mut h, a);
    incidents(&mut h, a);
    hunts(&mut h, a);
    detections(&mut h, a);
    evidence(&mut h, a);
    h.push_str("</div>");
    h.push_str("</main></body></html>\n");
    h
}

fn summary(h: &mut String, a: &Assessment) {
    let s = &a.summary;
    let verdict = match s.verdict {
        Verdict::CompromiseDetected => "Compromise detected",
        Verdict::SuspiciousActivity => "Suspicious activity: investigate",
        Verdict::NoDetections => "No detections in the evidence examined",
        Verdict::InsufficientEvidence => "Insufficient evidence to assess",
    };
    let class = serde_json::to_value(s.verdict)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = write!(
        h,
        "<section id=\"summary\"><h2>Executive summary</h2><div class=\"verdict {class}\">{verdict}</div><p>{}</p>",
        esc(&s.headline)
    );
    h.push_str("<div class=\"cards\">");
    let total: u64 = s.detections_by_level.values().sum();
    for (label, value) in [
        ("First malicious activity", time(&s.first_activity)),
        ("Last malicious activity", time(&s.last_activity)),
        ("Hosts affected", s.hosts_affected.to_string()),
        ("Accounts implicated", s.accounts_affected.to_string()),
        ("Detections", total.to_string()),
        ("Events examined", a.evidence.events.to_string()),
    ] {
        let _ = write!(
            h,
            "<div class=\"card\"><b>{}</b>{}</div>",
            esc(&value),
            esc(label)
        );
    }
    h.push_str("</div>");
    if !s.key_points.is_empty() {
        h.push_str("<ul>");
        for p in &s.key_points {
            let _ = write!(h, "<li>{}</li>", esc(p));
        }
        h.push_str("</ul>");
    }
    h.push_str("<p>");
    for l in Level::ALL.iter().rev() {
        let n = s.detections_by_level.get(l.as_str()).copied().unwrap_or(0);
        let _ = write!(h, "{} {n} &nbsp; ", level_badge(*l));
    }
    h.push_str("</p><h3>Kill chain</h3>");
    charts::killchain_strip(h, &a.techniques, &a.timeline, &a.attack);
    h.push_str("</section>");
}

fn activity(h: &mut String, x: &ReportAnalytics) {
    h.push_str("<section id=\"activity\"><h2>Activity by host and day (UTC)</h2>");
    charts::host_day_heatmap(h, &x.host_days);
    h.push_str("</section>");
}

fn lateral(h: &mut String, x: &ReportAnalytics) {
    h.push_str("<section id=\"lateral\"><h2>Lateral movement</h2>");
    charts::lateral_graph(h, &x.hops);
    h.push_str("</section>");
}

fn logons(h: &mut String, x: &ReportAnalytics) {
    h.push_str("<section id=\"logons\"><h2>Logons by account and host</h2>");
    charts::logon_table(h, &x.logons);
    h.push_str("</section>");
}

fn evidence_table(h: &mut String, items: &[EvidenceItemView], empty: &str) {
    if items.is_empty() {
        let _ = write!(h, "<p class=\"mut\">{}</p>", esc(empty));
        return;
    }
    h.push_str("<table><tr><th>Kind</th><th>Item</th><th>Why it matters</th><th>Weight</th></tr>");
    for (i, e) in items.iter().enumerate() {
        let _ = write!(
            h,
            "<tr{}><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"num\">{:.2}</td></tr>",
            cut(i, PRINT_ROWS),
            esc(&e.kind),
            esc(&e.value),
            esc(&e.detail),
            e.weight
        );
    }
    h.push_str("</table>");
    print_note(
        h,
        PRINT_ROWS,
        items.len(),
        "the screen version and attribution.json",
    );
}

fn attribution(h: &mut String, a: &Assessment) {
    let at = &a.attribution;
    let _ = write!(
        h,
        "<section id=\"attribution\"><h2>Attribution</h2><p class=\"judgement\">{}</p>",
        esc(&at.judgement)
    );
    if !at.candidates.is_empty() {
        h.push_str("<table><tr><th>#</th><th>Group</th><th>Also known as</th><th>Likelihood</th><th>Probability</th><th>Analytic confidence</th><th>Score</th><th>Supporting</th><th>Contradicting</th></tr>");
        for c in &at.candidates {
            let _ = write!(
                h,
                "<tr><td class=\"num\">{}</td><td><b>{}</b> ({})</td><td>{}</td><td>{}</td><td class=\"num\">{:.0}%</td><td>{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                c.rank,
                esc(&c.name),
                esc(&c.group_id),
                esc(&c
                    .aliases
                    .iter()
                    .take(6)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")),
                esc(&c.likelihood),
                c.probability * 100.0,
                esc(&c.confidence),
                c.score,
                c.supporting.len(),
                c.contradicting.len()
            );
        }
        h.push_str("</table>");
        for c in at.candidates.iter().take(5) {
            let open = if c.rank == 1 { " open" } else { "" };
            let _ = write!(
                h,
                "<details{open}><summary>{} ({}): {} — overlap with the case</summary>",
                esc(&c.name),
                esc(&c.group_id),
                esc(&c.likelihood)
            );
            h.push_str("<h4>Supporting evidence</h4>");
            evidence_table(h, &c.supporting, "None.");
            h.push_str("<h4>Contradicting evidence</h4>");
            evidence_table(h, &c.contradicting, "None found.");
            let _ = write!(
                h,
                "<h4>Known techniques not yet observed ({})</h4><p class=\"print-cut\">",
                c.not_observed.len()
            );
            for t in c.not_observed.iter().take(60) {
                let _ = write!(h, "<code>{}</code> {}; ", esc(&t.id), esc(&t.name));
            }
            h.push_str("</p></details>");
        }
    }
    if !a.case.infrastructure.is_empty() || !a.case.sectors.is_empty() || !a.case.regions.is_empty()
    {
        let _ = write!(
            h,
            "<p class=\"mut\"><b>Analyst input used as evidence.</b> Victim sectors: {}; regions: {}; infrastructure enrichment: {}.</p>",
            esc(&a.case.sectors.join(", ")),
            esc(&a.case.regions.join(", ")),
            esc(&a
                .case
                .infrastructure
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "))
        );
    }
    let _ = write!(
        h,
        "<p class=\"mut\"><b>Method.</b> {} Knowledge base: MITRE ATT&amp;CK® v{} (© The MITRE Corporation).</p></section>",
        esc(&at.method),
        esc(&at.attack_version)
    );
}

fn timeline(h: &mut String, a: &Assessment) {
    h.push_str("<section id=\"timeline\"><h2>Intrusion timeline</h2>");
    charts::activity_chart(h, &a.activity);
    if a.timeline.is_empty() {
        h.push_str("<p class=\"mut\">No detections.</p></section>");
        return;
    }
    let mut by_phase: BTreeMap<usize, Vec<&TimelineEntry>> = BTreeMap::new();
    for e in &a.timeline {
        let idx = TACTICS
            .iter()
            .position(|t| *t == e.phase)
            .unwrap_or(TACTICS.len());
        by_phase.entry(idx).or_default().push(e);
    }
    for (idx, entries) in by_phase {
        let name = TACTICS
            .get(idx)
            .map(|t| title_case(t))
            .unwrap_or_else(|| "Unclassified".into());
        let _ = write!(
            h,
            "<h3>{}</h3><table><tr><th>First seen (UTC)</th><th>Last seen (UTC)</th><th>#</th><th>Level</th><th>Detection</th><th>Host</th><th>Techniques</th><th>Detail</th><th>Evidence</th></tr>",
            esc(&name)
        );
        for e in entries.iter().take(200) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                time(&e.first_seen),
                time(&e.last_seen),
                e.count,
                level_badge(e.level),
                esc(&e.title),
                esc(e.host.as_deref().unwrap_or("")),
                esc(&e.techniques.join(", ")),
                esc(&e.detail),
                esc(&e.provenance)
            );
        }
        h.push_str("</table>");
        if entries.len() > 200 {
            let _ = write!(
                h,
                "<p class=\"mut\">{} more entries in assessment.json.</p>",
                entries.len() - 200
            );
        }
    }
    h.push_str("</section>");
}

fn matrix(h: &mut String, a: &Assessment) {
    h.push_str("<section id=\"matrix\"><h2>ATT&amp;CK techniques observed</h2>");
    if !a.attack.note.is_empty() {
        let _ = write!(h, "<p class=\"mut\">{}</p>", esc(&a.attack.note));
    }
    if a.techniques.is_empty() {
        h.push_str("<p class=\"mut\">No ATT&amp;CK techniques observed.</p></section>");
        return;
    }
    let max = a
        .techniques
        .iter()
        .map(|t| t.detections)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let expected: Vec<&TechniqueRef> = a
        .attribution
        .candidates
        .first()
        .map(|c| c.not_observed.iter().collect())
        .unwrap_or_default();
    h.push_str("<div class=\"matrix\">");
    let shown = a.attack.tactics(
        a.techniques
            .iter()
            .flat_map(|t| t.tactics.iter().map(String::as_str)),
    );
    for tactic in shown {
        let _ = write!(
            h,
            "<div class=\"col\"><h4>{}</h4>",
            esc(&title_case(tactic))
        );
        for t in a
            .techniques
            .iter()
            .filter(|t| t.tactics.iter().any(|x| x == tactic))
        {
            let heat = (t.detections as f64 / max).sqrt();
            let r = 255.0;
            let g = 235.0 - heat * 160.0;
            let b = 225.0 - heat * 180.0;
            let _ = write!(
                h,
                "<div class=\"cell\" style=\"background:rgb({r:.0},{g:.0},{b:.0})\" title=\"{} detections\"><b>{}</b><br>{}</div>",
                t.detections,
                esc(&t.id),
                esc(&t.name)
            );
        }
        h.push_str("</div>");
    }
    h.push_str("</div>");
    let _ = write!(
        h,
        "<p class=\"mut\">Cells are observed techniques, shaded by number of detections. {} techniques known for the leading candidate were not observed: see Hunts.</p>",
        expected.len()
    );
    h.push_str("<table><tr><th>Technique</th><th>Tactics</th><th>Detections</th><th>Highest level</th><th>Hosts</th><th>First seen (UTC)</th><th>Last seen (UTC)</th><th>Rules</th><th>Evidence</th></tr>");
    for t in &a.techniques {
        let _ = write!(
            h,
            "<tr><td><b>{}</b> {}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
            esc(&t.id),
            esc(&t.name),
            esc(&t.tactics.join(", ")),
            t.detections,
            t.max_level,
            esc(&t.hosts.join(", ")),
            time(&t.first_seen),
            time(&t.last_seen),
            esc(&t.rules.join("; ")),
            esc(&t.evidence.join("\n"))
        );
    }
    h.push_str("</table></section>");
}

fn entity_table(h: &mut String, title: &str, items: &[EntityView]) {
    let _ = write!(h, "<h3>{} ({})</h3>", esc(title), items.len());
    if items.is_empty() {
        h.push_str("<p class=\"mut\">None.</p>");
        return;
    }
    h.push_str("<table><tr><th>Value</th><th>Kind</th><th>First seen (UTC)</th><th>Last seen (UTC)</th><th>Detections</th><th>Implicated by</th></tr>");
    for (i, e) in items.iter().take(300).enumerate() {
        let _ = write!(
            h,
            "<tr{}><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td><span class=\"why\">{}</span></td></tr>",
            cut(i, PRINT_ROWS),
            esc(&e.value),
            esc(&e.kind),
            time(&e.first_seen),
            time(&e.last_seen),
            e.detections,
            esc(&e.rules.join("; "))
        );
    }
    h.push_str("</table>");
    print_note(
        h,
        PRINT_ROWS,
        items.len(),
        "the screen version and assessment.json",
    );
}

fn scope(h: &mut String, a: &Assessment) {
    h.push_str("<section id=\"scope\"><h2>Scope</h2>");
    entity_table(h, "Hosts", &a.scope.hosts);
    entity_table(h, "Accounts", &a.scope.accounts);
    entity_table(h, "IP addresses", &a.scope.ips);
    entity_table(h, "Files", &a.scope.files);
    h.push_str("</section>");
}

fn incidents(h: &mut String, a: &Assessment) {
    let _ = write!(
        h,
        "<section id=\"incidents\"><h2>Incidents ({})</h2>",
        a.incidents.len()
    );
    if a.incidents.is_empty() {
        h.push_str("<p class=\"mut\">No incidents.</p>");
    }
    for i in a.incidents.iter().take(50) {
        let _ = write!(
            h,
            "<details><summary>{} {} — {} to {}</summary><p>Hosts: {} · Accounts: {} · Phases: {} · Techniques: {}</p><ol>",
            level_badge(i.severity),
            esc(&i.title),
            time(&i.first_seen),
            time(&i.last_seen),
            esc(&i.hosts.join(", ")),
            esc(&i.accounts.join(", ")),
            esc(&i.phases.join(" → ")),
            esc(&i.techniques.join(", "))
        );
        for e in i.evidence.iter().take(100) {
            let _ = write!(h, "<li class=\"mono\">{}</li>", esc(e));
        }
        h.push_str("</ol></details>");
    }
    h.push_str("</section>");
}

fn containment(h: &mut String, a: &Assessment) {
    let c = &a.containment;
    h.push_str(
        "<section id=\"containment\"><h2>Containment and eradication</h2><ul class=\"check\">",
    );
    let mut any = false;
    for (what, list) in [
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
    ] {
        for (i, item) in list.iter().take(100).enumerate() {
            any = true;
            let _ = write!(
                h,
                "<li{}>{} <code>{}</code> <span class=\"mut why\">— {} ({} detections, {} to {})</span></li>",
                cut(i, CONTAINMENT_PRINT_ITEMS),
                esc(what),
                esc(&item.value),
                esc(&item.reason),
                item.detections,
                esc(&utc_text(item.first_seen.as_deref())),
                esc(&utc_text(item.last_seen.as_deref()))
            );
        }
    }
    for item in &c.actions {
        any = true;
        let _ = write!(
            h,
            "<li>{} <span class=\"mut\">— because of: {}</span></li>",
            esc(&item.value),
            esc(&item.reason)
        );
    }
    if any {
        h.push_str("<li>Keep the evidence and this report; re-run kahu on fresh collections after eradication</li>");
    } else {
        h.push_str(
            "<li class=\"mut\">Nothing to contain was identified in the evidence examined.</li>",
        );
    }
    h.push_str("</ul>");
    for (what, list) in [
        ("hosts", &c.hosts),
        ("accounts", &c.accounts),
        ("files", &c.files),
        ("IP addresses", &c.ips),
        ("domains", &c.domains),
        ("URLs", &c.urls),
        ("hashes", &c.hashes),
        ("internal addresses", &c.internal_ips),
    ] {
        print_note(
            h,
            CONTAINMENT_PRINT_ITEMS,
            list.len(),
            &format!("containment/ (all {what})"),
        );
    }
    if !c.excluded.is_empty() {
        let _ = write!(
            h,
            "<details><summary>Considered and left out ({})</summary><ul>",
            c.excluded.len()
        );
        for item in c.excluded.iter().take(200) {
            let _ = write!(
                h,
                "<li><code>{}</code> <span class=\"mut\">— {}</span></li>",
                esc(&item.value),
                esc(&item.reason)
            );
        }
        h.push_str("</ul></details>");
    }
    h.push_str("<p class=\"mut\">Machine-readable lists are in <code>containment/</code> (plain text and CSV, each entry with its reason; how entries are chosen: docs/containment.md).</p></section>");
}

fn hunts(h: &mut String, a: &Assessment) {
    let _ = write!(
        h,
        "<section id=\"hunts\"><h2>Recommended hunts ({})</h2>",
        a.hunts.len()
    );
    if a.hunts.is_empty() {
        h.push_str(
            "<p class=\"mut\">No leading candidate, so no candidate-specific hunts.</p></section>",
        );
        return;
    }
    h.push_str("<table><tr><th>Technique</th><th>Tactics</th><th>Why</th></tr>");
    for t in &a.hunts {
        let _ = write!(
            h,
            "<tr><td><b>{}</b> {}</td><td>{}</td><td>{}</td></tr>",
            esc(&t.technique_id),
            esc(&t.name),
            esc(&t.tactics.join(", ")),
            esc(&t.reason)
        );
    }
    h.push_str("</table></section>");
}

fn detections(h: &mut String, a: &Assessment) {
    let _ = write!(
        h,
        "<section id=\"detections\"><h2>Appendix: detections ({} of {})</h2>",
        a.detections.len(),
        a.detections_total
    );
    if a.detections.is_empty() {
        h.push_str("<p class=\"mut\">None.</p></section>");
        return;
    }
    h.push_str("<table><tr><th>Time (UTC)</th><th>Level</th><th>Kind</th><th>Detection</th><th>Host</th><th>Event</th><th>Key fields</th><th>Provenance</th></tr>");
    for d in &a.detections {
        let fields = d
            .fields
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n");
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}<br><span class=\"mut mono\">{}</span></td><td>{}</td><td>{} {}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
            time(&d.timestamp),
            level_badge(d.level),
            esc(&d.kind),
            esc(&d.title),
            esc(&d.rule_id),
            esc(d.host.as_deref().unwrap_or("")),
            esc(d.channel.as_deref().unwrap_or("")),
            d.event_id.map(|e| e.to_string()).unwrap_or_default(),
            esc(&fields),
            esc(&d.provenance)
        );
    }
    h.push_str("</table></section>");
}

fn evidence(h: &mut String, a: &Assessment) {
    let e = &a.evidence;
    let _ = write!(
        h,
        "<section id=\"evidence\"><h2>Evidence examined</h2><p>{} files, {} events; {} rules used ({} rejected); {} warnings.</p><ul>",
        e.files, e.events, e.rules_loaded, e.rules_rejected, e.warnings
    );
    for p in &e.paths {
        let _ = write!(h, "<li class=\"mono\">{}</li>", esc(p));
    }
    h.push_str("</ul>");
    if !e.scope_limits.is_empty() {
        h.push_str("<p><b>Part of the evidence only:</b></p><ul>");
        for l in &e.scope_limits {
            let _ = write!(h, "<li>{}</li>", esc(l));
        }
        h.push_str("</ul>");
    }
    if !e.warning_samples.is_empty() {
        h.push_str("<details><summary>Warnings (first shown)</summary><ul>");
        for w in &e.warning_samples {
            let _ = write!(h, "<li class=\"mono\">{}</li>", esc(w));
        }
        h.push_str("</ul></details>");
    }
    h.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<script>alert('x')</script>&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
        assert_eq!(esc("a\u{0}b"), "a\u{FFFD}b");
    }
}
