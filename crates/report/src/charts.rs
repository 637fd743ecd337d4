//! The report's charts and analytic tables: the lateral-movement graph, the
//! logon table, the host × day heat map, the kill-chain strip and the
//! detections-over-time chart. Each builder computes the geometry here and
//! renders its template (`templates/charts/`) into inline SVG or HTML that
//! needs no script, font or stylesheet from elsewhere.
//!
//! Host names, accounts and addresses come from evidence and are
//! attacker-controlled: the templates escape every value (askama with
//! [`crate::escape::Html`]), inside SVG too.
//! Every builder is bounded (nodes, rows, columns) so hostile evidence
//! cannot make the report grow without limit, and says so when it cuts.
//! Empty input gives a "no data" paragraph (class `nodata`), never an empty
//! or broken chart.

use crate::assessment::{ActivityBucket, AttackRelease, TechniqueView, TimelineEntry};
use crate::html::title_case;
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Most hosts or addresses drawn in the lateral-movement graph.
pub const MAX_GRAPH_NODES: usize = 30;
/// Most rows in the logon table.
pub const MAX_LOGON_ROWS: usize = 200;
/// Most hosts (rows) in the heat map.
pub const MAX_HEAT_HOSTS: usize = 30;
/// Most days (columns) in the heat map.
pub const MAX_HEAT_DAYS: usize = 60;

/// What the report draws from the event analytics (`analytics.json`) and
/// from every finding, beyond the assessment itself. Built by the pipeline;
/// not part of the `assessment.json` contract.
#[derive(Debug, Clone, Default)]
pub struct ReportAnalytics {
    /// Lateral-movement hops.
    pub hops: Vec<HopView>,
    /// Logon summaries (one per account, source, host and logon type).
    pub logons: Vec<LogonView>,
    /// Detections per host per UTC day.
    pub host_days: Vec<HostDayCount>,
    /// The Sigma rules that fired, with their files and texts, for the
    /// detections appendix.
    pub rules: Vec<crate::html::RuleText>,
}

/// One lateral-movement hop as the analytics saw it.
#[derive(Debug, Clone)]
pub struct HopView {
    /// Host or address the hop came from.
    pub source: String,
    /// Host or address the hop went to.
    pub target: String,
    /// How (`rdp`, `smb`, `network_logon`…).
    pub protocol: String,
    /// Account used (may be empty).
    pub account: String,
    /// Times seen.
    pub count: u64,
    /// First hop.
    pub first_seen: Option<DateTime<Utc>>,
}

/// Logon attempts of one account on one host.
#[derive(Debug, Clone)]
pub struct LogonView {
    /// Account name.
    pub account: String,
    /// Host that recorded the logon (the target).
    pub host: String,
    /// Windows logon type, when known.
    pub logon_type: Option<u32>,
    /// Successful attempts.
    pub successes: u64,
    /// Failed attempts.
    pub failures: u64,
    /// Earliest attempt.
    pub first_seen: Option<DateTime<Utc>>,
    /// Latest attempt.
    pub last_seen: Option<DateTime<Utc>>,
}

/// Detections on one host on one UTC day.
#[derive(Debug, Clone)]
pub struct HostDayCount {
    /// Host name.
    pub host: String,
    /// The UTC day.
    pub day: NaiveDate,
    /// Detections.
    pub detections: u64,
}

/// A time as the report prints it: always with the year and "UTC".
pub fn utc(t: &Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "—".into())
}

/// The paragraph shown instead of a chart without data.
#[derive(Template)]
#[template(path = "charts/nodata.html")]
struct NoData<'a> {
    what: &'a str,
}

fn nodata(what: &str) -> askama::Result<String> {
    NoData { what }.render()
}

/// Level colours, lowest first, shared by the chart and its legend.
const LEVEL_COLOURS: &[(&str, &str)] = &[
    ("informational", "#8a8f98"),
    ("low", "#2e7d9a"),
    ("medium", "#e08e0b"),
    ("high", "#c62828"),
    ("critical", "#7f0000"),
];

/// The detections-over-time chart, laid out.
#[derive(Template)]
#[template(path = "charts/activity.html")]
struct ActivityChart {
    width: f64,
    height: f64,
    max: f64,
    bars: Vec<Bar>,
    ticks: Vec<(f64, String)>,
    legend: Vec<Swatch>,
}

/// One level's part of one time bucket.
struct Bar {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    colour: &'static str,
    start: String,
    level: &'static str,
    count: f64,
}

/// One legend entry: swatch at `x`, then the level's name.
struct Swatch {
    x: f64,
    colour: &'static str,
    level: &'static str,
}

/// Detections over time, stacked by level, with a legend, dates with the
/// year and a "UTC" axis caption.
pub fn activity_chart(buckets: &[ActivityBucket]) -> askama::Result<String> {
    if buckets.is_empty() {
        return nodata("No detections over time to chart.");
    }
    let width = 1100.0f64;
    let height = 160.0f64;
    let left = 40.0;
    let bw = ((width - left) / buckets.len() as f64).max(1.0);
    let max = buckets
        .iter()
        .map(|b| b.counts.values().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let mut bars = Vec::new();
    for (i, b) in buckets.iter().enumerate() {
        let x = left + i as f64 * bw;
        let mut y = height;
        for (level, colour) in LEVEL_COLOURS {
            let n = b.counts.get(*level).copied().unwrap_or(0) as f64;
            if n > 0.0 {
                let bh = (n / max * (height - 12.0)).max(1.0);
                y -= bh;
                bars.push(Bar {
                    x,
                    y,
                    width: (bw - 1.0).max(0.5),
                    height: bh,
                    colour,
                    start: b.start.format("%Y-%m-%d %H:%M").to_string(),
                    level,
                    count: n,
                });
            }
        }
    }
    let step = (buckets.len() / 6).max(1);
    let ticks = buckets
        .iter()
        .enumerate()
        .step_by(step)
        .map(|(i, b)| {
            (
                left + i as f64 * bw,
                b.start.format("%Y-%m-%d %H:%M").to_string(),
            )
        })
        .collect();
    // The legend: one swatch per level, highest first, in the colours above.
    let legend = LEVEL_COLOURS
        .iter()
        .rev()
        .enumerate()
        .map(|(i, (level, colour))| Swatch {
            x: left + 110.0 * i as f64,
            colour,
            level,
        })
        .collect();
    ActivityChart {
        width,
        height,
        max,
        bars,
        ticks,
        legend,
    }
    .render()
}

/// The kill-chain strip, laid out.
#[derive(Template)]
#[template(path = "charts/killchain.html")]
struct KillchainStrip {
    width: f64,
    boxes: Vec<TacticBox>,
}

/// One tactic's box in the strip.
struct TacticBox {
    x: f64,
    width: f64,
    centre: f64,
    fill: String,
    name: String,
    short: String,
    detections: u64,
}

/// The kill-chain strip: one box per ATT&CK tactic in kill-chain order,
/// shaded by the detections of techniques in that tactic.
/// The boxes are `release`'s matrix (v19: Stealth and Defense Impairment
/// where v18.1 has Defense Evasion).
pub fn killchain_strip(
    techniques: &[TechniqueView],
    timeline: &[TimelineEntry],
    release: &AttackRelease,
) -> askama::Result<String> {
    let mut per_tactic: BTreeMap<&str, u64> = BTreeMap::new();
    for t in techniques {
        for tactic in &t.tactics {
            *per_tactic.entry(tactic.as_str()).or_default() += t.detections;
        }
    }
    // Timeline phases count too: a detection without technique still has a phase.
    if per_tactic.is_empty() {
        for e in timeline {
            *per_tactic.entry(e.phase.as_str()).or_default() += e.count;
        }
    }
    if per_tactic.values().all(|n| *n == 0) {
        return nodata("No ATT&CK tactics observed: no kill-chain strip to draw.");
    }
    let max = per_tactic.values().copied().max().unwrap_or(1).max(1) as f64;
    let bw = 80.0;
    let shown = release.tactics(per_tactic.keys().copied());
    let boxes = shown
        .iter()
        .enumerate()
        .map(|(i, tactic)| {
            let n = per_tactic.get(tactic).copied().unwrap_or(0);
            let x = i as f64 * bw;
            let fill = if n == 0 {
                "#f3f4f6".to_string()
            } else {
                let heat = (n as f64 / max).sqrt();
                format!(
                    "rgb(255,{:.0},{:.0})",
                    225.0 - heat * 160.0,
                    215.0 - heat * 180.0
                )
            };
            let name = title_case(tactic);
            TacticBox {
                x: x + 1.0,
                width: bw - 2.0,
                centre: x + bw / 2.0,
                fill,
                short: short_tactic(&name),
                name,
                detections: n,
            }
        })
        .collect();
    KillchainStrip {
        width: bw * shown.len() as f64,
        boxes,
    }
    .render()
}

/// Tactic names shortened to fit a strip box.
fn short_tactic(name: &str) -> String {
    match name {
        "Resource Development" => "Resource Dev.".into(),
        "Privilege Escalation" => "Priv. Escalation".into(),
        "Command And Control" => "Command & Ctrl".into(),
        "Credential Access" => "Credential Acc.".into(),
        "Defense Evasion" => "Def. Evasion".into(),
        "Defense Impairment" => "Def. Impairment".into(),
        "Lateral Movement" => "Lateral Mvmt".into(),
        other => other.into(),
    }
}

/// One drawn edge: hops between two nodes, summed over protocols and accounts.
struct Edge {
    count: u64,
    first: Option<DateTime<Utc>>,
    protocols: BTreeSet<String>,
    accounts: BTreeSet<String>,
}

/// The lateral-movement graph, laid out.
#[derive(Template)]
#[template(path = "charts/lateral.html")]
struct LateralGraph<'a> {
    width: f64,
    height: f64,
    edges: Vec<EdgeLine>,
    nodes: Vec<NodeMark<'a>>,
    dropped_nodes: usize,
}

/// An edge as drawn: a line stopped at the target's circle, its label at
/// the middle.
struct EdgeLine {
    x1: f64,
    y1: f64,
    x2: f64,
    y2: f64,
    stroke_width: f64,
    detail: String,
    label_x: f64,
    label_y: f64,
    label: String,
}

/// A node as drawn: a circle and its (clipped) name.
struct NodeMark<'a> {
    x: f64,
    y: f64,
    name: &'a str,
    hops: u64,
    label_x: f64,
    label_y: f64,
    anchor: &'static str,
    label: String,
}

/// The lateral-movement graph: hosts and addresses as nodes on a circle,
/// hops as arrows labelled with their count and first time (UTC).
pub fn lateral_graph(hops: &[HopView]) -> askama::Result<String> {
    let mut edges: BTreeMap<(&str, &str), Edge> = BTreeMap::new();
    for hop in hops {
        let e = edges
            .entry((hop.source.as_str(), hop.target.as_str()))
            .or_insert(Edge {
                count: 0,
                first: None,
                protocols: BTreeSet::new(),
                accounts: BTreeSet::new(),
            });
        e.count = e.count.saturating_add(hop.count);
        e.first = match (e.first, hop.first_seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        e.protocols.insert(hop.protocol.clone());
        if !hop.account.is_empty() {
            e.accounts.insert(hop.account.clone());
        }
    }
    if edges.is_empty() {
        return nodata("No lateral movement observed: no graph to draw.");
    }
    // The busiest nodes, by hops touching them, up to the cap.
    let mut weight: BTreeMap<&str, u64> = BTreeMap::new();
    for ((s, t), e) in &edges {
        *weight.entry(s).or_default() += e.count;
        *weight.entry(t).or_default() += e.count;
    }
    let mut nodes: Vec<(&str, u64)> = weight.into_iter().collect();
    nodes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let dropped_nodes = nodes.len().saturating_sub(MAX_GRAPH_NODES);
    nodes.truncate(MAX_GRAPH_NODES);
    nodes.sort_by(|a, b| a.0.cmp(b.0));
    let index: BTreeMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.0, i)).collect();
    let n = nodes.len() as f64;
    let (w, hgt) = (900.0f64, 560.0f64);
    let (cx, cy, r) = (w / 2.0, hgt / 2.0, 210.0f64);
    let pos = |i: usize| {
        let a = std::f64::consts::TAU * i as f64 / n - std::f64::consts::FRAC_PI_2;
        (cx + r * a.cos(), cy + r * a.sin())
    };
    let mut lines = Vec::new();
    for ((s, t), e) in &edges {
        let (Some(&si), Some(&ti)) = (index.get(s), index.get(t)) else {
            continue;
        };
        let (x1, y1) = pos(si);
        let (x2, y2) = pos(ti);
        // Stop the arrow at the target's circle.
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let label = format!(
            "{}× from {}",
            e.count,
            e.first
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "?".into())
        );
        let detail = format!(
            "{s} → {t}: {label}; {}; accounts: {}",
            e.protocols.iter().cloned().collect::<Vec<_>>().join(", "),
            e.accounts.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        lines.push(EdgeLine {
            x1,
            y1,
            x2: x2 - dx / len * 14.0,
            y2: y2 - dy / len * 14.0,
            stroke_width: 1.0 + (e.count as f64).ln_1p().min(4.0),
            detail,
            label_x: (x1 + x2) / 2.0,
            label_y: (y1 + y2) / 2.0 - 3.0,
            label,
        });
    }
    let marks = nodes
        .iter()
        .enumerate()
        .map(|(i, (name, hops))| {
            let (x, y) = pos(i);
            let anchor = if x < cx - 1.0 {
                "end"
            } else if x > cx + 1.0 {
                "start"
            } else {
                "middle"
            };
            let label_x = match anchor {
                "end" => x - 14.0,
                "start" => x + 14.0,
                _ => x,
            };
            let label_y = if anchor == "middle" && y < cy {
                y - 16.0
            } else if anchor == "middle" {
                y + 24.0
            } else {
                y + 4.0
            };
            NodeMark {
                x,
                y,
                name,
                hops: *hops,
                label_x,
                label_y,
                anchor,
                label: clip(name, 40),
            }
        })
        .collect();
    LateralGraph {
        width: w,
        height: hgt,
        edges: lines,
        nodes: marks,
        dropped_nodes,
    }
    .render()
}

/// At most `n` characters, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// The logon table, merged and ordered.
#[derive(Template)]
#[template(path = "charts/logons.html")]
struct LogonTable<'a> {
    rows: Vec<LogonRow<'a>>,
    more: usize,
}

/// One account × host row.
struct LogonRow<'a> {
    account: &'a str,
    host: &'a str,
    types: String,
    ok: u64,
    failed: u64,
    first: String,
    last: String,
}

/// Logons per account and host: logon types, successes, failures, first
/// and last (UTC).
pub fn logon_table(logons: &[LogonView]) -> askama::Result<String> {
    struct Row {
        types: BTreeSet<u32>,
        ok: u64,
        failed: u64,
        first: Option<DateTime<Utc>>,
        last: Option<DateTime<Utc>>,
    }
    let mut rows: BTreeMap<(&str, &str), Row> = BTreeMap::new();
    for l in logons {
        let r = rows
            .entry((l.account.as_str(), l.host.as_str()))
            .or_insert(Row {
                types: BTreeSet::new(),
                ok: 0,
                failed: 0,
                first: None,
                last: None,
            });
        r.types.extend(l.logon_type);
        r.ok = r.ok.saturating_add(l.successes);
        r.failed = r.failed.saturating_add(l.failures);
        r.first = match (r.first, l.first_seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        r.last = match (r.last, l.last_seen) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    if rows.is_empty() {
        return nodata("No logons in the evidence examined.");
    }
    let mut rows: Vec<_> = rows.into_iter().collect();
    // Most failures first (guessing, spraying), then most successes.
    rows.sort_by(|a, b| b.1.failed.cmp(&a.1.failed).then(b.1.ok.cmp(&a.1.ok)));
    let more = rows.len().saturating_sub(MAX_LOGON_ROWS);
    let rows = rows
        .into_iter()
        .take(MAX_LOGON_ROWS)
        .map(|((account, host), r)| LogonRow {
            account,
            host,
            types: r
                .types
                .iter()
                .map(|t| logon_type_name(*t))
                .collect::<Vec<_>>()
                .join(", "),
            ok: r.ok,
            failed: r.failed,
            first: utc(&r.first),
            last: utc(&r.last),
        })
        .collect();
    LogonTable { rows, more }.render()
}

/// A Windows logon type with its meaning.
fn logon_type_name(t: u32) -> String {
    let name = match t {
        2 => "interactive",
        3 => "network",
        4 => "batch",
        5 => "service",
        7 => "unlock",
        8 => "network cleartext",
        9 => "new credentials",
        10 => "remote interactive (RDP)",
        11 => "cached interactive",
        _ => return t.to_string(),
    };
    format!("{t} {name}")
}

/// The host × day heat map, laid out.
#[derive(Template)]
#[template(path = "charts/heatmap.html")]
struct Heatmap<'a> {
    width: f64,
    height: f64,
    label_w: f64,
    top: f64,
    days: Vec<(f64, String)>,
    rows: Vec<HeatRow<'a>>,
    max: f64,
    dropped_hosts: usize,
    dropped_days: usize,
}

/// One host's row of cells.
struct HeatRow<'a> {
    host: &'a str,
    label: String,
    label_y: f64,
    cells: Vec<HeatCell>,
}

/// One host-day cell.
struct HeatCell {
    x: f64,
    y: f64,
    size: f64,
    fill: String,
    day: String,
    detections: u64,
}

/// Host × day heat map of detections: the most active hosts as rows, the
/// UTC days with detections as columns.
pub fn host_day_heatmap(cells: &[HostDayCount]) -> askama::Result<String> {
    let mut per_host: BTreeMap<&str, u64> = BTreeMap::new();
    let mut per_day: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    let mut grid: BTreeMap<(&str, NaiveDate), u64> = BTreeMap::new();
    for c in cells.iter().filter(|c| c.detections > 0) {
        *per_host.entry(c.host.as_str()).or_default() += c.detections;
        *per_day.entry(c.day).or_default() += c.detections;
        *grid.entry((c.host.as_str(), c.day)).or_default() += c.detections;
    }
    if grid.is_empty() {
        return nodata("No detections with a host and a time: no heat map to draw.");
    }
    let mut hosts: Vec<(&str, u64)> = per_host.into_iter().collect();
    hosts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let dropped_hosts = hosts.len().saturating_sub(MAX_HEAT_HOSTS);
    hosts.truncate(MAX_HEAT_HOSTS);
    let mut days: Vec<(NaiveDate, u64)> = per_day.into_iter().collect();
    let dropped_days = days.len().saturating_sub(MAX_HEAT_DAYS);
    if dropped_days > 0 {
        // Keep the busiest days, shown in date order.
        days.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        days.truncate(MAX_HEAT_DAYS);
        days.sort();
    }
    let max = hosts
        .iter()
        .flat_map(|(host, _)| days.iter().map(move |(d, _)| (*host, *d)))
        .filter_map(|k| grid.get(&k).copied())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (label_w, cell, top) = (170.0f64, 26.0f64, 70.0f64);
    let rows = hosts
        .iter()
        .enumerate()
        .map(|(i, (host, _))| {
            let y = top + 6.0 + i as f64 * cell;
            let cells = days
                .iter()
                .enumerate()
                .map(|(j, (day, _))| {
                    let n = grid.get(&(*host, *day)).copied().unwrap_or(0);
                    let fill = if n == 0 {
                        "#f6f8fa".to_string()
                    } else {
                        let heat = (n as f64 / max).sqrt();
                        format!(
                            "rgb({:.0},{:.0},{:.0})",
                            255.0 - heat * 60.0,
                            225.0 - heat * 180.0,
                            205.0 - heat * 180.0
                        )
                    };
                    HeatCell {
                        x: label_w + j as f64 * cell,
                        y,
                        size: cell - 2.0,
                        fill,
                        day: day.format("%Y-%m-%d").to_string(),
                        detections: n,
                    }
                })
                .collect();
            HeatRow {
                host,
                label: clip(host, 28),
                label_y: y + cell / 2.0 + 3.0,
                cells,
            }
        })
        .collect();
    let day_labels = days
        .iter()
        .enumerate()
        .map(|(j, (day, _))| {
            (
                label_w + j as f64 * cell + cell / 2.0,
                day.format("%Y-%m-%d").to_string(),
            )
        })
        .collect();
    let height = top + cell * hosts.len() as f64 + 30.0;
    Heatmap {
        width: label_w + cell * days.len() as f64 + 70.0,
        height,
        label_w,
        top,
        days: day_labels,
        rows,
        max,
        dropped_hosts,
        dropped_days,
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const HOSTILE: &str = "<script>alert(1)</script>\"><svg onload=x>&";

    fn hop(s: &str, t: &str, n: u64) -> HopView {
        HopView {
            source: s.into(),
            target: t.into(),
            protocol: "rdp".into(),
            account: "bob".into(),
            count: n,
            first_seen: Some(Utc.with_ymd_and_hms(2024, 3, 5, 10, 0, 0).unwrap()),
        }
    }

    fn assert_escaped(out: &str) {
        assert!(!out.contains("<script"), "raw script tag in {out}");
        assert!(!out.contains("<svg onload"), "raw svg tag in {out}");
        assert!(
            out.contains(
                "&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#62;&#60;svg onload=x&#62;&#38;"
            ),
            "escaped name missing in {out}"
        );
    }

    #[test]
    fn lateral_graph_escapes_host_names_and_labels_edges() {
        let h = lateral_graph(&[hop(HOSTILE, "dc01", 3), hop("ws1", HOSTILE, 2)]).unwrap();
        assert_escaped(&h);
        assert_eq!(h.matches("class=\"node\"").count(), 3);
        assert_eq!(h.matches("class=\"edge\"").count(), 2);
        assert!(h.contains("3× from 2024-03-05 10:00 UTC"), "{h}");
    }

    #[test]
    fn lateral_graph_caps_nodes_and_says_so() {
        let hops: Vec<HopView> = (0..100).map(|i| hop(&format!("h{i}"), "dc01", 1)).collect();
        let h = lateral_graph(&hops).unwrap();
        assert_eq!(h.matches("class=\"node\"").count(), MAX_GRAPH_NODES);
        assert!(h.contains("71 less active nodes not drawn"), "{h}");
    }

    #[test]
    fn empty_inputs_give_no_data_not_a_chart() {
        let h = [
            lateral_graph(&[]),
            logon_table(&[]),
            host_day_heatmap(&[]),
            killchain_strip(&[], &[], &AttackRelease::default()),
            activity_chart(&[]),
        ]
        .map(Result::unwrap)
        .concat();
        assert_eq!(h.matches("class=\"mut nodata\"").count(), 5, "{h}");
        assert!(!h.contains("<svg"), "{h}");
        assert!(!h.contains("<table"), "{h}");
    }

    #[test]
    fn heatmap_escapes_hosts_and_bounds_rows_and_columns() {
        let day =
            |d: u32| NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(d as u64);
        let mut cells = vec![HostDayCount {
            host: HOSTILE.into(),
            day: day(0),
            detections: 500,
        }];
        for i in 0..50u32 {
            for d in 0..100u32 {
                cells.push(HostDayCount {
                    host: format!("host{i}"),
                    day: day(d),
                    detections: 1,
                });
            }
        }
        let h = host_day_heatmap(&cells).unwrap();
        assert_escaped(&h);
        assert_eq!(h.matches("class=\"host-label\"").count(), MAX_HEAT_HOSTS);
        assert_eq!(
            h.matches("class=\"cell\"").count(),
            MAX_HEAT_HOSTS * MAX_HEAT_DAYS
        );
        assert!(h.contains("21 less active hosts not shown"), "{h}");
        assert!(h.contains("40 less active days not shown"), "{h}");
        assert!(h.contains("2024-01-01 UTC: 500 detections"));
    }

    #[test]
    fn logon_table_merges_types_per_account_and_host() {
        let t = |h| Some(Utc.with_ymd_and_hms(2024, 3, 5, h, 0, 0).unwrap());
        let l = |ty, ok, bad, first, last| LogonView {
            account: HOSTILE.into(),
            host: "dc01".into(),
            logon_type: Some(ty),
            successes: ok,
            failures: bad,
            first_seen: first,
            last_seen: last,
        };
        let h = logon_table(&[l(3, 1, 5, t(9), t(10)), l(10, 2, 0, t(8), t(12))]).unwrap();
        assert_escaped(&h);
        assert_eq!(
            h.matches("<tr>").count(),
            2,
            "one header and one merged row"
        );
        assert!(h.contains("3 network, 10 remote interactive (RDP)"), "{h}");
        assert!(h.contains("2024-03-05 08:00:00 UTC") && h.contains("2024-03-05 12:00:00 UTC"));
        assert!(
            h.contains("<td class=\"num\">3</td><td class=\"num\">5</td>"),
            "{h}"
        );
    }

    #[test]
    fn killchain_strip_marks_observed_tactics() {
        let t = TechniqueView {
            id: "T1021.001".into(),
            name: "RDP".into(),
            tactics: vec!["lateral-movement".into()],
            detections: 4,
            max_level: kahu_finding::Level::High,
            hosts: vec![],
            rules: vec![],
            first_seen: None,
            last_seen: None,
            evidence: vec![],
            blanket_only: false,
        };
        let h = killchain_strip(std::slice::from_ref(&t), &[], &AttackRelease::default()).unwrap();
        assert_eq!(h.matches("class=\"tactic seen\"").count(), 1);
        // v18.1's 14 tactics: Defense Evasion, no Stealth.
        assert_eq!(h.matches("class=\"tactic\"").count(), 13);
        assert!(
            h.contains("<title>Defense Evasion: 0 detections</title>")
                && !h.contains("<title>Stealth:"),
            "{h}"
        );
    }

    #[test]
    fn killchain_strip_of_a_v19_run_shows_stealth_and_defense_impairment() {
        let t = TechniqueView {
            id: "T1685.005".into(),
            name: "Clear Windows Event Logs".into(),
            tactics: vec!["defense-impairment".into()],
            detections: 2,
            max_level: kahu_finding::Level::High,
            hosts: vec![],
            rules: vec![],
            first_seen: None,
            last_seen: None,
            evidence: vec![],
            blanket_only: false,
        };
        let v19 = AttackRelease {
            version: "19".into(),
            requested: "auto".into(),
            note: String::new(),
        };
        let h = killchain_strip(&[t], &[], &v19).unwrap();
        // v19's 15 tactics, the observed one Defense Impairment.
        assert_eq!(h.matches("class=\"tactic seen\"").count(), 1);
        assert_eq!(h.matches("class=\"tactic\"").count(), 14);
        assert!(
            h.contains("<title>Defense Impairment: 2 detections</title>"),
            "{h}"
        );
        assert!(
            h.contains(">Stealth<") && !h.contains("Defense Evasion"),
            "{h}"
        );
    }

    #[test]
    fn activity_chart_has_legend_year_and_utc() {
        let b = ActivityBucket {
            start: Utc.with_ymd_and_hms(2024, 3, 5, 10, 0, 0).unwrap(),
            seconds: 3600,
            counts: [("high".to_string(), 2u64)].into_iter().collect(),
        };
        let h = activity_chart(&[b]).unwrap();
        assert_eq!(h.matches("class=\"legend\"").count(), LEVEL_COLOURS.len());
        assert!(h.contains(">2024-03-05 10:00<"), "{h}");
        assert!(h.contains("time (UTC)"));
    }
}
