//! Writing detection timelines (CSV, JSON-lines) and terminal summaries.

use kahu_event::Location;
use kahu_finding::{Finding, Level};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};

/// Output format of the detection timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TimelineFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line (the `kahu attribute --findings` input).
    Jsonl,
}

impl TimelineFormat {
    /// Guess from a file extension, defaulting to CSV.
    pub fn from_path(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("json") => {
                TimelineFormat::Jsonl
            }
            _ => TimelineFormat::Csv,
        }
    }
}

/// Write findings as CSV.
pub fn write_csv<W: Write>(w: W, findings: &[Finding]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(w);
    w.write_record([
        "timestamp",
        "level",
        "kind",
        "rule_id",
        "title",
        "techniques",
        "host",
        "channel",
        "event_id",
        "fields",
        "file",
        "member",
        "location",
        "related",
    ])?;
    for f in findings {
        let fields = f
            .fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ¦ ");
        let techniques = f
            .techniques
            .iter()
            .map(|t| &**t)
            .collect::<Vec<_>>()
            .join(";");
        w.write_record([
            f.timestamp
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
                .as_str(),
            f.level.as_str(),
            kind_name(f),
            &f.rule_id,
            &f.title,
            &techniques,
            f.host.as_deref().unwrap_or(""),
            f.channel.as_deref().unwrap_or(""),
            &f.event_id.map(|e| e.to_string()).unwrap_or_default(),
            &fields,
            &f.provenance.file,
            f.provenance.member.as_deref().unwrap_or(""),
            &location_text(&f.provenance.location),
            &f.related
                .iter()
                .take(10)
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(" | "),
        ])?;
    }
    w.flush()
}

fn kind_name(f: &Finding) -> &'static str {
    match f.kind {
        kahu_finding::FindingKind::Sigma => "sigma",
        kahu_finding::FindingKind::Correlation => "correlation",
        kahu_finding::FindingKind::Ioc => "ioc",
        kahu_finding::FindingKind::Yara => "yara",
        kahu_finding::FindingKind::Analytic => "analytic",
    }
}

/// `record 12`, `line 40`, `offset 4096` or empty.
pub fn location_text(l: &Location) -> String {
    match *l {
        Location::Record(r) => format!("record {r}"),
        Location::Line(n) => format!("line {n}"),
        Location::Offset(o) => format!("offset {o}"),
        Location::File => String::new(),
    }
}

/// Write findings as JSON-lines.
pub fn write_jsonl<W: Write>(mut w: W, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        serde_json::to_writer(&mut w, f)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// Machine-readable summary of a detection run (`--json`).
#[derive(Serialize, Debug)]
pub struct Summary {
    /// Evidence files read.
    pub files: usize,
    /// Events read.
    pub events: u64,
    /// Evidence warnings (corrupt records, unknown formats…).
    pub warnings: usize,
    /// Rules compiled and used.
    pub rules_loaded: usize,
    /// Rules rejected with a reason.
    pub rules_rejected: usize,
    /// Findings at or above `--min-level`.
    pub findings: usize,
    /// Detections those findings stand for (a burst of repeats collapsed
    /// into one finding counts each of its records).
    pub detections: u64,
    /// Findings per level.
    pub by_level: BTreeMap<String, usize>,
    /// Most frequent rules: (rule id, title, level, count).
    pub top_rules: Vec<RuleCount>,
    /// Hosts with findings, most first.
    pub hosts: Vec<(String, usize)>,
    /// ATT&CK techniques seen, most first.
    pub techniques: Vec<(String, usize)>,
    /// Wall-clock seconds for the run.
    pub elapsed_seconds: f64,
    /// Events per second over the whole run.
    pub events_per_second: f64,
    /// Where the timeline was written.
    pub output: Option<String>,
}

/// One line of the top-rules table.
#[derive(Serialize, Debug)]
pub struct RuleCount {
    /// Rule id.
    pub rule_id: String,
    /// Rule title.
    pub title: String,
    /// Rule level.
    pub level: Level,
    /// Number of findings.
    pub count: usize,
}

/// Findings per level, top rules, hosts and techniques.
pub type Tally = (
    BTreeMap<String, usize>,
    Vec<RuleCount>,
    Vec<(String, usize)>,
    Vec<(String, usize)>,
);

/// Count findings by level, rule, host and technique.
pub fn tally(findings: &[Finding]) -> Tally {
    let mut by_level = BTreeMap::new();
    let mut rules: BTreeMap<&str, (usize, &Finding)> = BTreeMap::new();
    let mut hosts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut techniques: BTreeMap<&str, usize> = BTreeMap::new();
    for f in findings {
        *by_level.entry(f.level.as_str().to_string()).or_insert(0) += 1;
        rules.entry(&f.rule_id).or_insert((0, f)).0 += 1;
        *hosts
            .entry(f.host.as_deref().unwrap_or("(unknown)"))
            .or_insert(0) += 1;
        for t in &f.techniques {
            *techniques.entry(t).or_insert(0) += 1;
        }
    }
    let mut top: Vec<RuleCount> = rules
        .into_iter()
        .map(|(id, (count, f))| RuleCount {
            rule_id: id.to_string(),
            title: f.title.to_string(),
            level: f.level,
            count,
        })
        .collect();
    top.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(b.count.cmp(&a.count))
            .then(a.rule_id.cmp(&b.rule_id))
    });
    let mut hosts: Vec<_> = hosts.into_iter().map(|(h, c)| (h.to_string(), c)).collect();
    hosts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut techniques: Vec<_> = techniques
        .into_iter()
        .map(|(h, c)| (h.to_string(), c))
        .collect();
    techniques.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    (by_level, top, hosts, techniques)
}

/// ANSI styling that switches itself off when the stream is not a terminal
/// or `NO_COLOR` is set.
#[derive(Clone, Copy)]
pub struct Style {
    on: bool,
}

impl Style {
    /// Styling for stdout.
    pub fn stdout(quiet: bool) -> Self {
        Style {
            on: !quiet && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// Wrap text in a colour for a level.
    pub fn level(&self, level: Level, text: &str) -> String {
        let code = match level {
            Level::Critical => "1;97;41",
            Level::High => "1;31",
            Level::Medium => "33",
            Level::Low => "36",
            Level::Informational => "2",
        };
        self.paint(code, text)
    }

    /// Bold text.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Print the human summary of a detection run.
pub fn print_summary(s: &Summary, style: Style, warnings_preview: &[String]) {
    println!(
        "{}  {} files, {} events, {} rules ({} rejected), {:.2}s ({:.0} events/s)",
        style.bold("kahu hunt"),
        s.files,
        s.events,
        s.rules_loaded,
        s.rules_rejected,
        s.elapsed_seconds,
        s.events_per_second
    );
    println!();
    print!("{}  ", style.bold("Detections by level:"));
    for level in Level::ALL.iter().rev() {
        let n = s.by_level.get(level.as_str()).copied().unwrap_or(0);
        print!(
            "{}  ",
            style.level(*level, &format!("{}: {n}", level.as_str()))
        );
    }
    if s.detections as usize > s.findings {
        println!(
            "(total {}, standing for {} detections: repeats collapsed, see RepeatCount; --collapse-window 0 lists each)",
            s.findings, s.detections
        );
    } else {
        println!("(total {})", s.findings);
    }
    if !s.top_rules.is_empty() {
        println!();
        println!("{}", style.bold("Top rules:"));
        for r in s.top_rules.iter().take(15) {
            println!(
                "  {:>6}  {:<13} {}",
                r.count,
                style.level(r.level, r.level.as_str()),
                r.title
            );
        }
    }
    if !s.hosts.is_empty() {
        println!();
        println!("{}", style.bold("Hosts with detections:"));
        for (h, c) in s.hosts.iter().take(10) {
            println!("  {c:>6}  {h}");
        }
    }
    if !s.techniques.is_empty() {
        println!();
        let list: Vec<String> = s
            .techniques
            .iter()
            .take(20)
            .map(|(t, c)| format!("{t} ({c})"))
            .collect();
        println!("{} {}", style.bold("ATT&CK techniques:"), list.join(", "));
    }
    if s.warnings > 0 {
        println!();
        println!(
            "{} {} (first shown):",
            style.bold("Evidence warnings:"),
            s.warnings
        );
        for w in warnings_preview.iter().take(5) {
            println!("  {w}");
        }
    }
    if let Some(o) = &s.output {
        println!();
        println!("Timeline written to {o}");
    }
}

/// Print, on stderr, the rules that could not be used (first few) and how
/// each IOC feed loaded when it had problems.
pub fn print_load_problems(rule_errors: &[String], feeds: &[kahu_assess::detection::FeedLoad]) {
    const SHOWN: usize = 5;
    for e in rule_errors.iter().take(SHOWN) {
        eprintln!("warning: rule rejected: {}", terminal_safe(e));
    }
    if rule_errors.len() > SHOWN {
        eprintln!(
            "warning: {} more rules rejected (see `kahu rules check`)",
            rule_errors.len() - SHOWN
        );
    }
    for f in feeds.iter().filter(|f| !f.issues.is_empty()) {
        eprintln!(
            "warning: {}: {} indicator(s) loaded, {} problem(s) (first: {})",
            f.path.display(),
            f.loaded,
            f.issues.len(),
            f.issues
                .first()
                .map(|i| terminal_safe(&i.to_string()))
                .unwrap_or_default()
        );
    }
}

/// Evidence- and rule-controlled text made safe for a terminal: control
/// characters (escape sequences, newlines) shown escaped.
pub fn terminal_safe(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
