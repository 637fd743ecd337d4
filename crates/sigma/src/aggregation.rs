//! Legacy aggregation conditions (`selection | count() by IpAddress > 5`
//! with `timeframe: 5m`), the Sigma 1 form that Sigma 2 replaced by
//! correlation rules but that Hayabusa's, Chainsaw's and many shared rule
//! packs still use.
//!
//! kahu does not evaluate aggregations itself: the loader translates each
//! one into the equivalent correlation rule (specification v2.1.0) that
//! references the rule's plain condition, so one engine counts everything.
//!
//! | legacy | correlation |
//! |---|---|
//! | `count()` | `event_count` |
//! | `count(F)` | `value_count` of `F` |
//! | `sum(F)` / `avg(F)` | `value_sum` / `value_avg` of `F` |
//! | `by G` | `group-by: [G]` |
//! | `timeframe: T` | `timespan: T` (absent: [`WHOLE_EVIDENCE`]) |
//! | `> >= < <= == !=` | `gt gte lt lte eq neq` |
//!
//! `min(F)` and `max(F)` have no correlation type and are rejected with
//! that reason.

use serde_json::{Map, Value as J, json};

/// The window used when a legacy aggregation has no `timeframe`: Sigma 1
/// then aggregated over all the data searched, so the longest timespan the
/// correlation engine accepts stands for "the whole evidence".
pub const WHOLE_EVIDENCE: &str = "100y";

/// The aggregation function of a legacy condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `count()` (events) or `count(F)` (distinct values of `F`).
    Count,
    /// `sum(F)`.
    Sum,
    /// `avg(F)`.
    Avg,
}

/// A parsed `| agg(field) by group op value` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    /// The function.
    pub function: Function,
    /// The aggregated field, if any (`count(F)`, `sum(F)`, `avg(F)`).
    pub field: Option<String>,
    /// The `by` field, if any.
    pub group_by: Option<String>,
    /// The correlation-condition key of the comparison (`gt`, `gte`…).
    pub op: &'static str,
    /// The threshold.
    pub value: f64,
    /// The expression as written, for notes.
    pub text: String,
}

impl Aggregation {
    /// The correlation type this aggregation translates to.
    pub fn correlation_type(&self) -> &'static str {
        match (self.function, &self.field) {
            (Function::Count, None) => "event_count",
            (Function::Count, Some(_)) => "value_count",
            (Function::Sum, _) => "value_sum",
            (Function::Avg, _) => "value_avg",
        }
    }
}

/// Split a condition into its plain part and the aggregation after `|`,
/// if there is one.
pub fn split(condition: &str) -> (&str, Option<&str>) {
    match condition.split_once('|') {
        Some((plain, agg)) => (plain.trim(), Some(agg.trim())),
        None => (condition, None),
    }
}

fn is_field_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Parse the part after `|`: `count() by IpAddress > 5`, `count(User) by Ip >= 3`.
pub fn parse(text: &str) -> Result<Aggregation, AggregationError> {
    let s = text.trim();
    let fail = |problem: AggregationProblem| AggregationError {
        text: s.to_string(),
        problem,
    };
    let open = s
        .find('(')
        .ok_or_else(|| fail(AggregationProblem::NoFunction))?;
    let func_name = s[..open].trim().to_ascii_lowercase();
    let close = s[open..]
        .find(')')
        .map(|i| open + i)
        .ok_or_else(|| fail(AggregationProblem::MissingParen))?;
    let arg = s[open + 1..close].trim();
    if !arg.chars().all(is_field_char) {
        return Err(fail(AggregationProblem::NotAField(arg.to_string())));
    }
    let field = (!arg.is_empty()).then(|| arg.to_string());
    let function = match func_name.as_str() {
        "count" => Function::Count,
        "sum" => Function::Sum,
        "avg" => Function::Avg,
        "min" | "max" => {
            return Err(fail(AggregationProblem::NoCorrelationType(func_name)));
        }
        other => return Err(fail(AggregationProblem::UnknownFunction(other.to_string()))),
    };
    if function != Function::Count && field.is_none() {
        return Err(fail(AggregationProblem::NeedsField(func_name)));
    }
    let mut rest = s[close + 1..].trim_start();
    let mut group_by = None;
    if let Some(after) = rest
        .strip_prefix("by ")
        .or_else(|| rest.strip_prefix("BY "))
    {
        let after = after.trim_start();
        let end = after
            .find(|c: char| !is_field_char(c))
            .unwrap_or(after.len());
        if end == 0 {
            return Err(fail(AggregationProblem::ByNeedsField));
        }
        group_by = Some(after[..end].to_string());
        rest = after[end..].trim_start();
    }
    let (op, number) = [
        (">=", "gte"),
        ("<=", "lte"),
        ("==", "eq"),
        ("!=", "neq"),
        (">", "gt"),
        ("<", "lt"),
        ("=", "eq"),
    ]
    .iter()
    .find_map(|(sym, key)| rest.strip_prefix(sym).map(|n| (*key, n.trim())))
    .ok_or_else(|| fail(AggregationProblem::NoComparison))?;
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| fail(AggregationProblem::NotANumber(number.to_string())))?;
    Ok(Aggregation {
        function,
        field,
        group_by,
        op,
        value,
        text: s.to_string(),
    })
}

/// A legacy aggregation (`| count() by X > 5`) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("aggregation `{text}`: {problem}")]
pub struct AggregationError {
    /// The aggregation as written (trimmed).
    pub text: String,
    /// What is wrong with it.
    pub problem: AggregationProblem,
}

/// What is wrong with an aggregation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregationProblem {
    /// No `function(` at all.
    #[error("expected `function(field)`")]
    NoFunction,
    /// `(` without `)`.
    #[error("missing `)`")]
    MissingParen,
    /// The argument is not a field name.
    #[error("`{0}` is not a field name")]
    NotAField(String),
    /// `min()`/`max()`: no correlation rule type does that.
    #[error(
        "{0}() has no equivalent correlation rule type (event_count, value_count, value_sum, value_avg); rewrite it as a correlation rule"
    )]
    NoCorrelationType(String),
    /// Not count, sum, avg, min or max.
    #[error("unknown function `{0}`")]
    UnknownFunction(String),
    /// `sum()`/`avg()` without a field.
    #[error("{0}() needs a field")]
    NeedsField(String),
    /// `by` without a field.
    #[error("`by` needs a field name")]
    ByNeedsField,
    /// No comparison after the function.
    #[error("expected a comparison (>, >=, <, <=, ==, !=) and a number")]
    NoComparison,
    /// The comparison's value is not a finite number.
    #[error("`{0}` is not a number")]
    NotANumber(String),
}

/// The correlation document equivalent to `agg` over the detection rule
/// named `base`, carrying the legacy rule's identity (`id`, `title`,
/// `level`, `tags`…) so its findings read like the rule's own.
pub fn correlation_document(rule: &J, base: &str, agg: &Aggregation, timeframe: Option<&str>) -> J {
    let mut condition = Map::new();
    condition.insert(agg.op.to_string(), json!(agg.value));
    if let Some(f) = &agg.field {
        condition.insert("field".into(), json!(f));
    }
    let mut correlation = Map::new();
    correlation.insert("type".into(), json!(agg.correlation_type()));
    correlation.insert("rules".into(), json!([base]));
    if let Some(g) = &agg.group_by {
        correlation.insert("group-by".into(), json!([g]));
    }
    correlation.insert(
        "timespan".into(),
        json!(timeframe.unwrap_or(WHOLE_EVIDENCE)),
    );
    correlation.insert("condition".into(), J::Object(condition));
    let mut doc = Map::new();
    for key in [
        "title",
        "id",
        "status",
        "level",
        "description",
        "author",
        "tags",
        "references",
        "falsepositives",
    ] {
        if let Some(v) = rule.get(key)
            && !v.is_null()
        {
            doc.insert(key.into(), v.clone());
        }
    }
    doc.insert("correlation".into(), J::Object(correlation));
    J::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_by_field_parses() {
        let a = parse("count() by IpAddress >= 5").unwrap();
        assert_eq!(a.function, Function::Count);
        assert_eq!(a.field, None);
        assert_eq!(a.group_by.as_deref(), Some("IpAddress"));
        assert_eq!((a.op, a.value), ("gte", 5.0));
        assert_eq!(a.correlation_type(), "event_count");
    }

    #[test]
    fn count_of_field_is_a_value_count() {
        let a = parse("count(TargetUserName) by IpAddress > 3").unwrap();
        assert_eq!(a.field.as_deref(), Some("TargetUserName"));
        assert_eq!(a.correlation_type(), "value_count");
        assert_eq!(a.op, "gt");
        let a = parse("avg(Bytes)>100").unwrap();
        assert_eq!((a.correlation_type(), a.group_by), ("value_avg", None));
    }

    #[test]
    fn unsupported_forms_say_why() {
        assert!(
            parse("max(Bytes) > 5")
                .unwrap_err()
                .to_string()
                .contains("no equivalent")
        );
        assert!(
            parse("sum() > 5")
                .unwrap_err()
                .to_string()
                .contains("needs a field")
        );
        assert!(
            parse("count() by > 5")
                .unwrap_err()
                .to_string()
                .contains("needs a field")
        );
        assert!(
            parse("count() by X")
                .unwrap_err()
                .to_string()
                .contains("comparison")
        );
        assert!(
            parse("count() > five")
                .unwrap_err()
                .to_string()
                .contains("not a number")
        );
        assert!(parse("count( > 5").unwrap_err().problem == AggregationProblem::MissingParen);
        assert!(parse("near x").is_err());
    }

    #[test]
    fn the_correlation_document_carries_the_rule_identity() {
        let rule = json!({"title": "T", "id": "abc", "level": "high", "tags": ["attack.t1110"]});
        let a = parse("count() by IpAddress > 5").unwrap();
        let d = correlation_document(&rule, "abc#base", &a, Some("5m"));
        assert_eq!(d["id"], "abc");
        assert_eq!(d["level"], "high");
        assert_eq!(d["correlation"]["type"], "event_count");
        assert_eq!(d["correlation"]["rules"][0], "abc#base");
        assert_eq!(d["correlation"]["group-by"][0], "IpAddress");
        assert_eq!(d["correlation"]["timespan"], "5m");
        assert_eq!(d["correlation"]["condition"]["gt"], 5.0);
        let d = correlation_document(&rule, "b", &a, None);
        assert_eq!(d["correlation"]["timespan"], WHOLE_EVIDENCE);
    }
}
