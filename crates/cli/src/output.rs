//! Writing detection timelines (CSV, JSON-lines) and terminal summaries.

use kahu_event::Location;
use kahu_finding::{Finding, Level};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};

/// Output format of the detection timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TimelineFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line (the `kahu attribute --findings` input).
    Jsonl,
    /// Timesketch's import shape: `message`, `datetime`, `timestamp_desc`
    /// and one column per attribute; JSON-lines when the output file ends
    /// in `.jsonl`/`.json`, else CSV. Findings without a time are left out
    /// (Timesketch cannot place them) and counted on stderr.
    Timesketch,
}

impl TimelineFormat {
    /// `true` when a file of this name should hold JSON-lines.
    pub(crate) fn jsonl_name(path: &std::path::Path) -> bool {
        path.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("json"))
    }

    /// Guess from a file extension, defaulting to CSV.
    pub(crate) fn from_path(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("json") => {
                TimelineFormat::Jsonl
            }
            _ => TimelineFormat::Csv,
        }
    }
}

/// Timesketch's fixed attribute columns, after `message`, `datetime` and
/// `timestamp_desc`.
const TIMESKETCH_COLUMNS: &[&str] = &[
    "rule_id",
    "rule_title",
    "level",
    "detector",
    "techniques",
    "hostname",
    "channel",
    "event_id",
    "evidence_file",
    "evidence_member",
    "evidence_location",
    "fields",
];

/// A finding's key fields on one line, `name=value` joined by ` ¦ `
/// (the Timesketch message and the CSV `fields` column).
fn fields_text(f: &Finding) -> String {
    f.fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ¦ ")
}

/// One finding as Timesketch attributes (`None` without a time).
fn timesketch_record(f: &Finding) -> Option<Vec<(&'static str, String)>> {
    let t = f.timestamp?;
    let fields = fields_text(f);
    let message = format!(
        "[{}] {}{}{}",
        f.level.as_str(),
        f.title,
        f.host
            .as_deref()
            .map(|h| kahu_finding::on_host(&f.title, h))
            .unwrap_or_default(),
        if fields.is_empty() {
            String::new()
        } else {
            format!(": {fields}")
        }
    );
    Some(vec![
        ("message", message),
        (
            "datetime",
            t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        ),
        ("timestamp_desc", format!("kahu {} detection", kind_name(f))),
        ("rule_id", f.rule_id.to_string()),
        ("rule_title", f.title.to_string()),
        ("level", f.level.as_str().to_string()),
        ("detector", kind_name(f).to_string()),
        (
            "techniques",
            f.techniques
                .iter()
                .map(|t| &**t)
                .collect::<Vec<_>>()
                .join(";"),
        ),
        ("hostname", f.host.as_deref().unwrap_or("").to_string()),
        ("channel", f.channel.as_deref().unwrap_or("").to_string()),
        (
            "event_id",
            f.event_id.map(|e| e.to_string()).unwrap_or_default(),
        ),
        ("evidence_file", f.provenance.file.to_string()),
        (
            "evidence_member",
            f.provenance.member.as_deref().unwrap_or("").to_string(),
        ),
        ("evidence_location", location_text(&f.provenance.location)),
        ("fields", fields),
    ])
}

/// Write findings in Timesketch's import shape; returns how many were left
/// out for having no time.
pub(crate) fn write_timesketch<W: Write>(
    w: W,
    findings: &[Finding],
    jsonl: bool,
) -> io::Result<usize> {
    let mut skipped = 0;
    if jsonl {
        let mut w = io::BufWriter::new(w);
        for f in findings {
            let Some(rec) = timesketch_record(f) else {
                skipped += 1;
                continue;
            };
            let mut obj: serde_json::Map<String, serde_json::Value> = rec
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect();
            // Each event field as a flat attribute Timesketch can filter on.
            obj.extend(fields_object(
                f.fields
                    .iter()
                    .map(|(k, v)| (timesketch_attribute(k), v.as_str())),
            ));
            serde_json::to_writer(&mut w, &obj)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
    } else {
        let mut w = kahu_report::safe::SpreadsheetCsv::new(w);
        let mut header = vec!["message", "datetime", "timestamp_desc"];
        header.extend_from_slice(TIMESKETCH_COLUMNS);
        w.row(&header)?;
        for f in findings {
            let Some(rec) = timesketch_record(f) else {
                skipped += 1;
                continue;
            };
            w.row(rec.iter().map(|(_, v)| v))?;
        }
        w.flush()?;
    }
    Ok(skipped)
}

pub(crate) use kahu_assess::write::RuleFiles;

/// How JSON-lines findings carry the matched event's fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FieldsForm {
    /// `[["Name", "value"], …]`: every field in the event's order (what
    /// existing scripts read).
    #[default]
    Pairs,
    /// `{"Name": "value", …}`: a name that occurs more than once holds an
    /// array of its values, in the event's order.
    Object,
}

/// Fields as one JSON object: a name met once holds its value, a name met
/// more than once an array of all its values in order (an event may repeat
/// a name, e.g. unnamed EventData items; none is dropped).
pub(crate) fn fields_object<'a>(
    fields: impl Iterator<Item = (String, &'a str)>,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let mut obj = serde_json::Map::new();
    for (k, v) in fields {
        match obj.get_mut(&k) {
            None => {
                obj.insert(k, Value::from(v));
            }
            Some(Value::Array(a)) => a.push(Value::from(v)),
            Some(first) => *first = Value::Array(vec![first.take(), Value::from(v)]),
        }
    }
    obj
}

/// A Timesketch attribute name for an event field: `field_` and the name
/// with every character other than ASCII letters, digits, `_` and `-`
/// replaced by `_`. The prefix keeps fields apart from kahu's own
/// attributes and from the names Timesketch drops (`_id`, `_index`…); no
/// dot survives, because OpenSearch reads `a.b` as an object path and a
/// document with both `a` and `a.b` would be refused.
fn timesketch_attribute(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 6);
    out.push_str("field_");
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// Write findings as CSV.
pub(crate) fn write_csv<W: Write>(
    w: W,
    findings: &[Finding],
    tz: Option<crate::timezone::OutputZone>,
    rule_files: &RuleFiles,
) -> io::Result<()> {
    // Evidence values reach these cells: the spreadsheet writer never lets
    // a spreadsheet run them.
    let mut w = kahu_report::safe::SpreadsheetCsv::new(w);
    w.row([
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
        "rule_file",
    ])?;
    for f in findings {
        let fields = fields_text(f);
        let techniques = f
            .techniques
            .iter()
            .map(|t| &**t)
            .collect::<Vec<_>>()
            .join(";");
        // RFC 3339 with its offset either way: a time shifted by --tz
        // still says which instant it is.
        let time = f
            .timestamp
            .map(|t| match tz {
                Some(zone) => zone.rfc3339(t),
                None => t.to_rfc3339(),
            })
            .unwrap_or_default();
        let event_id = f.event_id.map(|e| e.to_string()).unwrap_or_default();
        let location = location_text(&f.provenance.location);
        let related = f
            .related
            .iter()
            .take(10)
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(" | ");
        let row = [
            time.as_str(),
            f.level.as_str(),
            kind_name(f),
            &f.rule_id,
            &f.title,
            &techniques,
            f.host.as_deref().unwrap_or(""),
            f.channel.as_deref().unwrap_or(""),
            &event_id,
            &fields,
            &f.provenance.file,
            f.provenance.member.as_deref().unwrap_or(""),
            &location,
            &related,
            rule_files.of_finding(f),
        ];
        w.row(row)?;
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
pub(crate) fn location_text(l: &Location) -> String {
    match *l {
        Location::Record(r) => format!("record {r}"),
        Location::Line(n) => format!("line {n}"),
        Location::Offset(o) => format!("offset {o}"),
        Location::File => String::new(),
    }
}

/// Write findings as JSON-lines: each finding as `kahu attribute
/// --findings` reads it, plus `rule_file` for a Sigma rule loaded from a
/// file; `fields` as pairs or as an object ([`FieldsForm`]).
pub(crate) fn write_jsonl<W: Write>(
    mut w: W,
    findings: &[Finding],
    rule_files: &RuleFiles,
    form: FieldsForm,
) -> io::Result<()> {
    for f in findings {
        match form {
            FieldsForm::Pairs => rule_files.write_finding(&mut w, f)?,
            FieldsForm::Object => {
                let mut v = serde_json::to_value(f)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert(
                        "fields".into(),
                        serde_json::Value::Object(fields_object(
                            f.fields.iter().map(|(k, v)| (k.to_string(), v.as_str())),
                        )),
                    );
                    let file = rule_files.of_finding(f);
                    if !file.is_empty() {
                        o.insert("rule_file".into(), file.into());
                    }
                }
                serde_json::to_writer(&mut w, &v)?;
                w.write_all(b"\n")?;
            }
        }
    }
    w.flush()
}

/// Machine-readable summary of a detection run (`--json`).
#[derive(Serialize, Debug)]
pub(crate) struct Summary {
    /// Evidence files read.
    pub files: usize,
    /// Events read.
    pub events: u64,
    /// Where the rules came from, with counts.
    pub rule_sources: Vec<String>,
    /// Events read but left out by `--from/--to/--host/--channel/--event-id`.
    pub events_excluded: u64,
    /// Those limits in words, with what each left out.
    pub scope_limits: Vec<String>,
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
    /// ATT&CK techniques seen, most first, in `attack_version`'s ids.
    pub techniques: Vec<(String, usize)>,
    /// The ATT&CK release technique ids are shown in (`18.1`, `19`;
    /// `--attack-version`).
    pub attack_version: String,
    /// Wall-clock seconds for the run.
    pub elapsed_seconds: f64,
    /// Events per second over the whole run.
    pub events_per_second: f64,
    /// Where the timeline was written.
    pub output: Option<String>,
    /// The warnings themselves (first 1,000), for scripts.
    pub warning_details: Vec<kahu_assess::RunWarning>,
    /// Rules and correlation rules rejected, with the reason (first 1,000).
    pub rule_problems: Vec<String>,
}

/// One line of the top-rules table.
#[derive(Serialize, Debug)]
pub(crate) struct RuleCount {
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
pub(crate) type Tally = (
    BTreeMap<String, usize>,
    Vec<RuleCount>,
    Vec<(String, usize)>,
    Vec<(String, usize)>,
);

/// Count findings by level, rule, host and technique.
/// Technique ids are counted as `shown` gives them (the run's ATT&CK
/// release), so two tags of one technique count once.
pub(crate) fn tally(findings: &[Finding], shown: &dyn Fn(&str) -> String) -> Tally {
    let mut by_level = BTreeMap::new();
    let mut rules: BTreeMap<&str, (usize, &Finding)> = BTreeMap::new();
    let mut hosts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut techniques: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings {
        *by_level.entry(f.level.as_str().to_string()).or_insert(0) += 1;
        rules.entry(&f.rule_id).or_insert((0, f)).0 += 1;
        *hosts
            .entry(f.host.as_deref().unwrap_or("(unknown)"))
            .or_insert(0) += 1;
        let ids: std::collections::BTreeSet<String> =
            f.techniques.iter().map(|t| shown(t)).collect();
        for t in ids {
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
    let mut techniques: Vec<_> = techniques.into_iter().collect();
    techniques.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    (by_level, top, hosts, techniques)
}

/// ANSI styling that switches itself off when the stream is not a terminal
/// or `NO_COLOR` is set.
#[derive(Clone, Copy)]
pub(crate) struct Style {
    on: bool,
}

impl Style {
    /// Styling for stdout.
    pub(crate) fn stdout(quiet: bool) -> Self {
        Style {
            on: !quiet && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// No styling (text for a file or another stream).
    pub(crate) fn plain() -> Self {
        Style { on: false }
    }

    /// Wrap text in a colour for a level.
    pub(crate) fn level(&self, level: Level, text: &str) -> String {
        use anstyle::{AnsiColor, Effects};
        let style = match level {
            Level::Critical => AnsiColor::BrightWhite
                .on(AnsiColor::Red)
                .effects(Effects::BOLD),
            Level::High => AnsiColor::Red.on_default().effects(Effects::BOLD),
            Level::Medium => AnsiColor::Yellow.on_default(),
            Level::Low => AnsiColor::Cyan.on_default(),
            Level::Informational => anstyle::Style::new().effects(Effects::DIMMED),
        };
        self.paint(style, text)
    }

    /// A level's name padded to `width` columns, then coloured: the
    /// padding is counted on the visible text, so columns line up with
    /// colour on (padding a coloured string counted its escape codes).
    pub(crate) fn level_cell(&self, level: Level, width: usize) -> String {
        self.level(level, &format!("{:<width$}", level.as_str()))
    }

    /// Bold text.
    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint(anstyle::Style::new().bold(), text)
    }

    fn paint(&self, style: anstyle::Style, text: &str) -> String {
        if self.on {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

/// Print the human summary of a detection run.
pub(crate) fn print_summary(
    out: &mut dyn Write,
    s: &Summary,
    style: Style,
    warnings_preview: &[String],
) {
    let _ = writeln!(
        out,
        "{}  {} files, {} events, {} rules ({} rejected), {:.2}s ({:.0} events/s)",
        style.bold("kahu hunt"),
        s.files,
        s.events,
        s.rules_loaded,
        s.rules_rejected,
        s.elapsed_seconds,
        s.events_per_second
    );
    if !s.rule_sources.is_empty() {
        let _ = writeln!(
            out,
            "{} {}",
            style.bold("Rules from:"),
            terminal_safe(&s.rule_sources.join("; "))
        );
    }
    for l in &s.scope_limits {
        let _ = writeln!(
            out,
            "{} {}",
            style.bold("Part of the evidence only:"),
            terminal_safe(l)
        );
    }
    let _ = writeln!(out);
    let _ = write!(out, "{}  ", style.bold("Detections by level:"));
    for level in Level::ALL.iter().rev() {
        let n = s.by_level.get(level.as_str()).copied().unwrap_or(0);
        let _ = write!(
            out,
            "{}  ",
            style.level(*level, &format!("{}: {n}", level.as_str()))
        );
    }
    if s.detections as usize > s.findings {
        let _ = writeln!(
            out,
            "(total {}, standing for {} detections: repeats collapsed, see RepeatCount; --collapse-window 0 lists each)",
            s.findings, s.detections
        );
    } else {
        let _ = writeln!(out, "(total {})", s.findings);
    }
    if !s.top_rules.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", style.bold("Top rules:"));
        for r in s.top_rules.iter().take(15) {
            let _ = writeln!(
                out,
                "  {:>6}  {} {}",
                r.count,
                style.level_cell(r.level, 13),
                terminal_safe(&r.title)
            );
        }
    }
    if !s.hosts.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", style.bold("Hosts with detections:"));
        for (h, c) in s.hosts.iter().take(10) {
            let _ = writeln!(out, "  {c:>6}  {}", terminal_safe(h));
        }
    }
    if !s.techniques.is_empty() {
        let _ = writeln!(out);
        let list: Vec<String> = s
            .techniques
            .iter()
            .take(20)
            .map(|(t, c)| format!("{} ({c})", terminal_safe(t)))
            .collect();
        let _ = writeln!(
            out,
            "{} {}",
            style.bold(&format!("ATT&CK v{} techniques:", s.attack_version)),
            list.join(", ")
        );
    }
    if s.warnings > 0 {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{} {} (first shown):",
            style.bold("Evidence warnings:"),
            s.warnings
        );
        for w in warnings_preview.iter().take(5) {
            let _ = writeln!(out, "  {}", terminal_safe(w));
        }
    }
    if let Some(o) = &s.output {
        let _ = writeln!(out);
        let _ = writeln!(out, "Timeline written to {}", terminal_safe(o));
    }
}

/// Print, on stderr, the rules that could not be used (first few) and how
/// each IOC feed loaded when it had problems.
pub(crate) fn print_load_problems(
    rule_errors: &[String],
    rule_notes: &[String],
    feeds: &[kahu_assess::detection::FeedLoad],
) {
    const SHOWN: usize = 5;
    for n in rule_notes {
        eprintln!("warning: {}", terminal_safe(n));
    }
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
            terminal_safe(&f.path.display().to_string()),
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
/// An error and its causes joined by ": ", as `{:#}` joins them, except
/// that a cause already quoted by the message before it is not repeated
/// (errors that print their source, as `"{file}: {source}"` does, gave
/// "x.csv: No such file or directory (os error 2): No such file or
/// directory (os error 2)").
pub(crate) fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.is_empty() {
            out = text;
        } else if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

pub(crate) fn terminal_safe(s: &str) -> String {
    kahu_report::safe::single_line(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_the_message_already_quotes_is_not_repeated() {
        #[derive(Debug)]
        struct Quoting {
            file: String,
            source: std::io::Error,
        }
        impl std::fmt::Display for Quoting {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}: {}", self.file, self.source)
            }
        }
        impl std::error::Error for Quoting {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.source)
            }
        }
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = anyhow::Error::new(Quoting {
            file: "f.csv".into(),
            source: io,
        })
        .context("cannot load IOC feed f.csv");
        assert_eq!(error_chain(&e), "cannot load IOC feed f.csv: f.csv: gone");
        // Causes that are not quoted are all kept, as `{:#}` keeps them.
        let plain = anyhow::anyhow!("inner").context("middle").context("outer");
        assert_eq!(error_chain(&plain), format!("{plain:#}"));
        assert_eq!(error_chain(&plain), "outer: middle: inner");
    }

    /// Visible text: ANSI escape sequences removed.
    fn visible(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                // CSI: ESC [ params final-byte
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn coloured_level_cells_keep_their_column_width() {
        let on = Style { on: true };
        let cells: Vec<String> = Level::ALL.iter().map(|l| on.level_cell(*l, 13)).collect();
        assert!(cells.iter().all(|c| c.contains('\u{1b}')), "{cells:?}");
        for (c, l) in cells.iter().zip(Level::ALL) {
            assert_eq!(visible(c), format!("{:<13}", l.as_str()));
        }
        // Before, the escape codes were padded: `{:<13}` of a coloured
        // "high" added no spaces at all.
        assert_eq!(
            visible(&format!("{:<13}|", on.level(Level::High, "high"))),
            "high|"
        );
        assert_eq!(Style::plain().level_cell(Level::Low, 6), "low   ");
    }
    use kahu_event::{Location, Provenance};
    use kahu_finding::{FindingKind, Level};
    use std::sync::Arc;

    #[test]
    fn timeline_csv_cells_never_run_as_formulas() {
        let f = Finding {
            kind: FindingKind::Sigma,
            rule_id: Arc::from("r1"),
            title: Arc::from("=HYPERLINK(\"http://evil\",\"x\")"),
            level: Level::High,
            techniques: Vec::new(),
            software: Vec::new(),
            groups: Vec::new(),
            timestamp: None,
            host: Some(Arc::from("@WS01\nwarning: forged")),
            channel: None,
            event_id: Some(1),
            fields: vec![(Arc::from("CommandLine"), "-x".into())],
            provenance: Provenance::new(Arc::from("+a.evtx"), Location::Record(1)),
            related: Vec::new(),
        };
        let mut out = Vec::new();
        write_csv(&mut out, &[f], None, &RuleFiles::default()).expect("write");
        let mut r = csv::Reader::from_reader(out.as_slice());
        let rec = r.records().next().expect("one row").expect("csv");
        for cell in rec.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "formula cell {cell:?}"
            );
            assert!(!cell.contains('\n'), "line break in {cell:?}");
        }
        assert!(
            rec.iter()
                .any(|c| c == "'=HYPERLINK(\"http://evil\",\"x\")")
        );
    }
}
