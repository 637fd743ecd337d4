//! The correlation rule model and its parser (Sigma correlation rules
//! specification v2.1.0, with the `value_*` metric types).

use crate::error::Problem;
use kahu_finding::Level;
use serde_json::Value as J;
use std::sync::Arc;

/// The seven correlation types of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationType {
    /// Number of matched events in the window.
    EventCount,
    /// Number of distinct values of `condition.field` in the window.
    ValueCount,
    /// Number of distinct referenced rules matched in the window.
    Temporal,
    /// Like `temporal`, and the rules must match in the order listed.
    TemporalOrdered,
    /// Sum of the numeric `condition.field` in the window.
    ValueSum,
    /// Mean of the numeric `condition.field` in the window.
    ValueAvg,
    /// Share (in percent) of the window's events carrying one value of
    /// `condition.field`; fires when some value's share meets the condition.
    ValuePercentile,
}

impl CorrelationType {
    /// The specification's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile => "value_percentile",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "event_count" => CorrelationType::EventCount,
            "value_count" => CorrelationType::ValueCount,
            "temporal" => CorrelationType::Temporal,
            "temporal_ordered" => CorrelationType::TemporalOrdered,
            "value_sum" => CorrelationType::ValueSum,
            "value_avg" => CorrelationType::ValueAvg,
            "value_percentile" => CorrelationType::ValuePercentile,
            _ => return None,
        })
    }

    /// Whether `condition.field` is required.
    pub fn needs_field(self) -> bool {
        matches!(
            self,
            CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
        )
    }

    /// Whether the aggregated field is numeric (`value_sum`, `value_avg`).
    pub fn numeric(self) -> bool {
        matches!(self, CorrelationType::ValueSum | CorrelationType::ValueAvg)
    }

    fn is_temporal(self) -> bool {
        matches!(
            self,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        )
    }
}

/// A correlation condition: every predicate given must hold (a range is
/// `gt` + `lte`, for example).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condition {
    /// Greater than.
    pub gt: Option<f64>,
    /// Greater than or equal.
    pub gte: Option<f64>,
    /// Less than.
    pub lt: Option<f64>,
    /// Less than or equal.
    pub lte: Option<f64>,
    /// Equal.
    pub eq: Option<f64>,
    /// Not equal.
    pub neq: Option<f64>,
}

impl Condition {
    /// Whether `x` satisfies every predicate.
    pub fn holds(&self, x: f64) -> bool {
        self.gt.is_none_or(|v| x > v)
            && self.gte.is_none_or(|v| x >= v)
            && self.lt.is_none_or(|v| x < v)
            && self.lte.is_none_or(|v| x <= v)
            && self.eq.is_none_or(|v| x == v)
            && self.neq.is_none_or(|v| x != v)
    }

    /// `gte: n`, the implicit condition of `temporal` types (all rules).
    pub fn at_least(n: usize) -> Self {
        Condition {
            gte: Some(n as f64),
            ..Default::default()
        }
    }

    /// Human form, e.g. `>= 10 and < 20`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            (">", self.gt),
            (">=", self.gte),
            ("<", self.lt),
            ("<=", self.lte),
            ("==", self.eq),
            ("!=", self.neq),
        ]
        .iter()
        .filter_map(|(op, v)| v.map(|v| format!("{op} {v}")))
        .collect();
        parts.join(" and ")
    }
}

/// One field-name alias: the alias name and, per referenced rule name,
/// the event field it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    /// The alias, usable in `group-by`.
    pub name: String,
    /// `(rule name, field name)` pairs.
    pub fields: Vec<(String, String)>,
}

/// A parsed correlation rule.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// `id`, if any.
    pub id: Option<Arc<str>>,
    /// `name`, if any (how other correlations refer to it).
    pub name: Option<Arc<str>>,
    /// `title`.
    pub title: Arc<str>,
    /// `level`, if given (the bound correlation defaults to the highest
    /// level of the rules it references).
    pub level: Option<Level>,
    /// `tags` (ATT&CK ids are taken from these).
    pub tags: Vec<Arc<str>>,
    /// `correlation.type`.
    pub kind: CorrelationType,
    /// `correlation.rules`: ids or names of detection or correlation rules.
    pub rules: Vec<String>,
    /// `correlation.group-by`; empty means one group for all events.
    pub group_by: Vec<String>,
    /// `correlation.timespan`, in microseconds.
    pub timespan_us: i64,
    /// `correlation.timespan` as written.
    pub timespan_text: String,
    /// `correlation.condition` (for `temporal*` without one: all rules).
    pub condition: Condition,
    /// `correlation.condition.field`: one or more fields (`value_count`
    /// counts distinct tuples when several are given).
    pub fields: Vec<String>,
    /// `correlation.aliases`.
    pub aliases: Vec<Alias>,
    /// Top-level `fields` (as in a detection rule: fields worth showing):
    /// their values in the event that completed the correlation are put
    /// in its finding, so a finding can name, say, the URL a web shell
    /// answered, which its group-by values do not.
    pub shown_fields: Vec<String>,
    /// `correlation.generate` (top-level `generate` is accepted too);
    /// default `false`: referenced rules are not reported on their own.
    pub generate: bool,
    /// Where it was read from.
    pub origin: Arc<str>,
    /// 0-based document index in its file, if known.
    pub document: Option<usize>,
}

impl Correlation {
    /// The identifier findings carry: `id`, else `name`, else `title`.
    pub fn rule_id(&self) -> Arc<str> {
        self.id
            .clone()
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| self.title.clone())
    }
}

/// Top-level `fields` a correlation may name at most.
const MAX_SHOWN_FIELDS: usize = 16;

/// Timespans longer than this are rejected (and overflow is impossible).
const MAX_TIMESPAN_US: i64 = 100 * 365 * 86_400 * 1_000_000;

/// Parse `number + unit`: `s` seconds, `m` minutes, `h` hours, `d` days,
/// `w` weeks, `M` months (30 days), `y` years (365 days). The number is a
/// whole number, as the specification's `90m` example shows.
pub fn parse_timespan(s: &str) -> Result<i64, TimespanError> {
    let s = s.trim();
    let Some(unit) = s.chars().last() else {
        return Err(TimespanError::Empty);
    };
    let fail = |kind: TimespanProblem| TimespanError::Invalid {
        text: s.to_string(),
        problem: kind,
    };
    let digits = &s[..s.len() - unit.len_utf8()];
    let secs: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'M' => 30 * 86_400,
        'y' => 365 * 86_400,
        _ => return Err(fail(TimespanProblem::NoUnit)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(TimespanProblem::NotWhole));
    }
    let n: i64 = digits
        .parse()
        .map_err(|_| fail(TimespanProblem::NumberTooLarge))?;
    if n == 0 {
        return Err(fail(TimespanProblem::NotPositive));
    }
    n.checked_mul(secs)
        .and_then(|v| v.checked_mul(1_000_000))
        .filter(|v| *v <= MAX_TIMESPAN_US)
        .ok_or_else(|| fail(TimespanProblem::OverHundredYears))
}

/// A correlation `timespan` that is no timespan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimespanError {
    /// Nothing given.
    #[error("empty timespan")]
    Empty,
    /// The text given and what is wrong with it.
    #[error("`{text}`: {problem}")]
    Invalid {
        /// The timespan as written (trimmed).
        text: String,
        /// What is wrong.
        problem: TimespanProblem,
    },
}

/// What is wrong with a timespan's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimespanProblem {
    /// No known unit at the end.
    #[error("expected a number and a unit (s, m, h, d, w, M or y), e.g. `90m`")]
    NoUnit,
    /// The number is not a whole number.
    #[error("expected a whole number before the unit")]
    NotWhole,
    /// The number does not fit.
    #[error("number too large")]
    NumberTooLarge,
    /// Zero.
    #[error("timespan must be positive")]
    NotPositive,
    /// Over the 100-year limit.
    #[error("longer than 100 years")]
    OverHundredYears,
}

fn text(v: &J) -> Option<String> {
    match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn opt_text(doc: &J, key: &str, path: &str) -> Result<Option<String>, Problem> {
    match doc.get(key) {
        None | Some(J::Null) => Ok(None),
        Some(v) => text(v)
            .map(Some)
            .ok_or_else(|| Problem::new(path, "expected a string")),
    }
}

fn text_list(doc: &J, key: &str, path: &str) -> Result<Vec<String>, Problem> {
    match doc.get(key) {
        None | Some(J::Null) => Ok(Vec::new()),
        Some(J::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| {
                text(v).ok_or_else(|| Problem::new(format!("{path}[{i}]"), "expected a string"))
            })
            .collect(),
        Some(v) => text(v)
            .map(|s| vec![s])
            .ok_or_else(|| Problem::new(path, "expected a list of strings")),
    }
}

fn unique(list: &[String], path: &str) -> Result<(), Problem> {
    for (i, a) in list.iter().enumerate() {
        if list[..i].contains(a) {
            return Err(Problem::new(path, format!("`{a}` listed twice")));
        }
    }
    Ok(())
}

fn condition(c: &J, kind: CorrelationType) -> Result<(Condition, Vec<String>), Problem> {
    let J::Object(map) = c else {
        return Err(Problem::new(
            "correlation.condition",
            "expected a map such as `gte: 10`",
        ));
    };
    let mut cond = Condition::default();
    let mut fields = Vec::new();
    for (k, v) in map {
        let path = format!("correlation.condition.{k}");
        if k == "field" {
            fields = text_list(c, "field", &path)?;
            continue;
        }
        let slot = match k.as_str() {
            "gt" => &mut cond.gt,
            "gte" => &mut cond.gte,
            "lt" => &mut cond.lt,
            "lte" => &mut cond.lte,
            "eq" => &mut cond.eq,
            "neq" => &mut cond.neq,
            other => {
                return Err(Problem::new(
                    path,
                    format!("unknown condition `{other}` (gt, gte, lt, lte, eq, neq, field)"),
                ));
            }
        };
        let n = match v {
            J::Number(n) => n.as_f64(),
            _ => None,
        }
        .filter(|n| n.is_finite())
        .ok_or_else(|| Problem::new(&path, "expected a number"))?;
        *slot = Some(n);
    }
    if cond == Condition::default() {
        return Err(Problem::new(
            "correlation.condition",
            "no comparison (gt, gte, lt, lte, eq or neq)",
        ));
    }
    if kind.needs_field() && fields.is_empty() {
        return Err(Problem::new(
            "correlation.condition.field",
            format!("missing (mandatory for {})", kind.as_str()),
        ));
    }
    if !kind.needs_field() && !fields.is_empty() {
        return Err(Problem::new(
            "correlation.condition.field",
            format!("not used by {}", kind.as_str()),
        ));
    }
    if kind != CorrelationType::ValueCount && fields.len() > 1 {
        return Err(Problem::new(
            "correlation.condition.field",
            format!("{} aggregates exactly one field", kind.as_str()),
        ));
    }
    Ok((cond, fields))
}

fn aliases(v: &J) -> Result<Vec<Alias>, Problem> {
    let J::Object(map) = v else {
        return Err(Problem::new(
            "correlation.aliases",
            "expected a map of alias → {rule name: field}",
        ));
    };
    let mut out = Vec::new();
    for (name, per) in map {
        let path = format!("correlation.aliases.{name}");
        let J::Object(per) = per else {
            return Err(Problem::new(path, "expected a map of rule name → field"));
        };
        let mut fields = Vec::new();
        for (rule, field) in per {
            let field = text(field)
                .ok_or_else(|| Problem::new(format!("{path}.{rule}"), "expected a field name"))?;
            fields.push((rule.clone(), field));
        }
        out.push(Alias {
            name: name.clone(),
            fields,
        });
    }
    Ok(out)
}

/// The identity used in error messages before anything else is parsed.
pub(crate) fn identity(doc: &J) -> Option<String> {
    ["id", "name", "title"]
        .iter()
        .find_map(|k| doc.get(*k).and_then(text))
}

/// Parse one YAML document that has a `correlation` key.
pub(crate) fn parse(
    doc: &J,
    origin: &Arc<str>,
    document: Option<usize>,
) -> Result<Correlation, Problem> {
    if !doc.is_object() {
        return Err(Problem::new(
            "",
            "a correlation document must be a YAML map",
        ));
    }
    let title = opt_text(doc, "title", "title")?
        .ok_or_else(|| Problem::new("title", "missing (mandatory)"))?;
    let c = match doc.get("correlation") {
        Some(c @ J::Object(_)) => c,
        Some(_) => return Err(Problem::new("correlation", "expected a map")),
        None => return Err(Problem::new("correlation", "missing")),
    };
    let kind_text = opt_text(c, "type", "correlation.type")?
        .ok_or_else(|| Problem::new("correlation.type", "missing (mandatory)"))?;
    let kind = CorrelationType::parse(&kind_text).ok_or_else(|| {
        Problem::new(
            "correlation.type",
            format!(
                "unknown type `{kind_text}` (event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile)"
            ),
        )
    })?;
    let rules = text_list(c, "rules", "correlation.rules")?;
    if rules.is_empty() {
        return Err(Problem::new("correlation.rules", "missing (mandatory)"));
    }
    unique(&rules, "correlation.rules")?;
    if kind.is_temporal() && rules.len() < 2 {
        return Err(Problem::new(
            "correlation.rules",
            format!("{} needs at least two rules", kind.as_str()),
        ));
    }
    if rules.len() > u16::MAX as usize {
        return Err(Problem::new("correlation.rules", "too many rules"));
    }
    let group_by = text_list(c, "group-by", "correlation.group-by")?;
    unique(&group_by, "correlation.group-by")?;
    let timespan_text = opt_text(c, "timespan", "correlation.timespan")?
        .ok_or_else(|| Problem::new("correlation.timespan", "missing (mandatory)"))?;
    let timespan_us = parse_timespan(&timespan_text)
        .map_err(|r| Problem::new("correlation.timespan", r.to_string()))?;
    let (condition, fields) = match c.get("condition") {
        None | Some(J::Null) if kind.is_temporal() => {
            (Condition::at_least(rules.len()), Vec::new())
        }
        None | Some(J::Null) => {
            return Err(Problem::new(
                "correlation.condition",
                format!("missing (mandatory for {})", kind.as_str()),
            ));
        }
        Some(v) => condition(v, kind)?,
    };
    let aliases = match c.get("aliases") {
        None | Some(J::Null) => Vec::new(),
        Some(v) => aliases(v)?,
    };
    let generate = match c.get("generate").or_else(|| doc.get("generate")) {
        None | Some(J::Null) => false,
        Some(J::Bool(b)) => *b,
        Some(_) => {
            return Err(Problem::new(
                "correlation.generate",
                "expected true or false",
            ));
        }
    };
    let shown_fields = text_list(doc, "fields", "fields")?;
    unique(&shown_fields, "fields")?;
    if shown_fields.len() > MAX_SHOWN_FIELDS {
        return Err(Problem::new(
            "fields",
            format!(
                "at most {MAX_SHOWN_FIELDS} fields (each is kept for every event the correlation holds)"
            ),
        ));
    }
    let level = match opt_text(doc, "level", "level")? {
        None => None,
        Some(s) => Some(
            s.parse::<Level>()
                .map_err(|e| Problem::new("level", e.to_string()))?,
        ),
    };
    Ok(Correlation {
        id: opt_text(doc, "id", "id")?.map(Arc::from),
        name: opt_text(doc, "name", "name")?.map(Arc::from),
        title: Arc::from(title),
        level,
        tags: text_list(doc, "tags", "tags")?
            .into_iter()
            .map(Arc::from)
            .collect(),
        kind,
        rules,
        group_by,
        timespan_us,
        timespan_text,
        condition,
        fields,
        aliases,
        shown_fields,
        generate,
        origin: origin.clone(),
        document,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_follow_the_specification_units() {
        assert_eq!(parse_timespan("90m"), Ok(90 * 60 * 1_000_000));
        assert_eq!(parse_timespan("1h"), Ok(3_600_000_000));
        assert_eq!(parse_timespan("2d"), Ok(2 * 86_400_000_000));
        assert_eq!(parse_timespan("1w"), Ok(7 * 86_400_000_000));
        assert_eq!(parse_timespan("1M"), Ok(30 * 86_400_000_000));
        assert_eq!(parse_timespan("1y"), Ok(365 * 86_400_000_000));
        for bad in [
            "",
            "h",
            "1.5h",
            "-1h",
            "0s",
            "10",
            "1H",
            "99999999999999999999y",
            "101y",
        ] {
            assert!(parse_timespan(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bad_timespan_names_the_text_and_the_problem() {
        let err = parse_timespan(" 101y ").unwrap_err();
        assert_eq!(
            err,
            TimespanError::Invalid {
                text: "101y".into(),
                problem: TimespanProblem::OverHundredYears
            }
        );
        assert_eq!(err.to_string(), "`101y`: longer than 100 years");
        assert_eq!(
            parse_timespan("1.5h").unwrap_err().to_string(),
            "`1.5h`: expected a whole number before the unit"
        );
        assert_eq!(parse_timespan("  "), Err(TimespanError::Empty));
    }

    #[test]
    fn range_conditions_are_conjunctions() {
        let c = Condition {
            gt: Some(100.0),
            lte: Some(200.0),
            ..Default::default()
        };
        assert!(!c.holds(100.0));
        assert!(c.holds(101.0));
        assert!(c.holds(200.0));
        assert!(!c.holds(201.0));
    }
}
