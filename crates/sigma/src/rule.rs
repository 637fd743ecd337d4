//! The Sigma rule model and its construction from a parsed YAML document.
//!
//! A YAML document is one of three kinds (rules specification, correlation
//! specification, filters specification): a detection rule (has
//! `detection`), a correlation rule (has `correlation`) or a global filter
//! (has `filter`). Only detection rules compile into matchers here;
//! correlations are returned to the caller for a later correlation stage.

use crate::aggregation::{self, Aggregation};
use crate::condition::{self, Cond};
use crate::detection::{self, Search};
use crate::error::Problem;
use kahu_finding::Level;
use serde_json::Value as J;
use std::sync::Arc;

/// Sigma rule `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Ready for production use.
    Stable,
    /// Probably fine, may need tuning.
    Test,
    /// New, untested.
    Experimental,
    /// Replaced or obsolete.
    Deprecated,
    /// Cannot be used in its current state.
    Unsupported,
}

impl Status {
    /// Parse a Sigma status (`stable`, `test`, `experimental`,
    /// `deprecated`, `unsupported`; case-insensitive).
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "stable" => Status::Stable,
            "test" | "testing" => Status::Test,
            "experimental" => Status::Experimental,
            "deprecated" => Status::Deprecated,
            "unsupported" => Status::Unsupported,
            _ => return None,
        })
    }

    /// Sigma's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Test => "test",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
            Status::Unsupported => "unsupported",
        }
    }
}

/// A rule's `logsource`; all attributes are lower-cased for matching.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RuleLogSource {
    /// `product` (`windows`, `linux`…).
    pub product: Option<Arc<str>>,
    /// `service` (`security`, `sysmon`, `auth`…).
    pub service: Option<Arc<str>>,
    /// `category` (`process_creation`…).
    pub category: Option<Arc<str>>,
    /// `definition`: free text describing prerequisites.
    pub definition: Option<String>,
}

/// One entry of `related`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The related rule's id.
    pub id: String,
    /// `derived`, `obsolete`, `merged`, `renamed` or `similar`.
    pub kind: String,
}

/// The parsed `detection` section: named searches and the condition.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Search identifiers in document order.
    pub searches: Vec<(String, Search)>,
    /// The condition(s); several are OR-ed (rules specification, Condition).
    pub conditions: Vec<Cond>,
    /// A legacy `| count() …` aggregation after the condition, if any
    /// (translated into a correlation rule by [`parse_document`]).
    pub aggregation: Option<Aggregation>,
    /// The legacy `timeframe` that goes with [`Detection::aggregation`].
    pub timeframe: Option<String>,
    /// Accepted deviations from the specification: `(construct, note)`.
    pub notes: Vec<(String, String)>,
}

/// A parsed Sigma detection rule.
#[derive(Debug, Clone)]
pub struct SigmaRule {
    /// `id` (a UUID by convention); empty when the rule has none.
    pub id: Arc<str>,
    /// `name`: a unique human-readable identifier, used by correlations.
    pub name: Option<Arc<str>>,
    /// `title`.
    pub title: Arc<str>,
    /// `status`.
    pub status: Option<Status>,
    /// `level`; `informational` when absent.
    pub level: Level,
    /// `description`.
    pub description: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// `date`.
    pub date: Option<String>,
    /// `modified`.
    pub modified: Option<String>,
    /// `tags` (`attack.t1059.001`…).
    pub tags: Vec<Arc<str>>,
    /// `references`.
    pub references: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `fields` worth showing.
    pub fields: Vec<String>,
    /// `related`.
    pub related: Vec<Related>,
    /// `logsource`.
    pub logsource: RuleLogSource,
    /// `detection`.
    pub detection: Detection,
    /// Where the rule was read from.
    pub origin: Arc<str>,
    /// The correlation rule a legacy aggregation condition was translated
    /// into. This rule then holds only the plain condition, under a `name`
    /// the correlation references; the loader moves the correlation into
    /// [`LoadReport::correlations`](crate::LoadReport::correlations).
    pub aggregation: Option<Box<CorrelationRule>>,
    /// Hayabusa's `details:` template (`User: %TargetUserName%`), rendered
    /// into each finding's `Summary` field.
    pub details: Option<String>,
    /// Exclusions compiled empty because a placeholder in them has no value,
    /// as (search identifier, placeholder name); set by the loader and shown
    /// in each finding's `UnappliedExclusions` field.
    pub unapplied_exclusions: Vec<(String, String)>,
}

/// A correlation rule, kept as parsed YAML for the correlation stage.
///
/// Per the correlation specification, rules referenced by a correlation
/// still match on their own; whether their own matches are reported is
/// the correlation's `generate` flag (default `false`), applied by the
/// correlation stage, not here.
#[derive(Debug, Clone)]
pub struct CorrelationRule {
    /// `id`.
    pub id: Arc<str>,
    /// `name`.
    pub name: Option<Arc<str>>,
    /// `title`.
    pub title: Arc<str>,
    /// Where it was read from.
    pub origin: Arc<str>,
    /// The whole document.
    pub document: serde_json::Value,
}

/// A global filter (filters specification): extra conditions excluding
/// events from the named rules.
#[derive(Debug, Clone)]
pub struct FilterRule {
    /// `id`.
    pub id: Arc<str>,
    /// `title`.
    pub title: Arc<str>,
    /// `logsource`.
    pub logsource: RuleLogSource,
    /// Rule ids or names the filter applies to.
    pub rules: Vec<String>,
    /// The filter's searches and condition.
    pub detection: Detection,
    /// Where it was read from.
    pub origin: Arc<str>,
}

/// What a YAML document turned out to be.
#[derive(Debug, Clone)]
pub enum Document {
    /// A detection rule.
    Rule(Box<SigmaRule>),
    /// A correlation rule (deferred to the correlation stage).
    Correlation(Box<CorrelationRule>),
    /// A global filter.
    Filter(Box<FilterRule>),
}

pub(crate) fn str_of(v: &J) -> Option<String> {
    match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn opt_str(doc: &J, key: &str) -> Result<Option<String>, Problem> {
    match doc.get(key) {
        None | Some(J::Null) => Ok(None),
        Some(v) => str_of(v)
            .map(Some)
            .ok_or_else(|| Problem::new(key, "expected a string")),
    }
}

fn str_list(doc: &J, key: &str) -> Result<Vec<String>, Problem> {
    match doc.get(key) {
        None | Some(J::Null) => Ok(Vec::new()),
        Some(J::Array(a)) => a
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_null())
            .map(|(i, v)| {
                str_of(v).ok_or_else(|| Problem::new(format!("{key}[{i}]"), "expected a string"))
            })
            .collect(),
        Some(v) => str_of(v)
            .map(|s| vec![s])
            .ok_or_else(|| Problem::new(key, "expected a list of strings")),
    }
}

fn logsource(doc: &J) -> Result<RuleLogSource, Problem> {
    let ls = match doc.get("logsource") {
        Some(J::Object(_)) => doc.get("logsource").unwrap_or(&J::Null),
        None | Some(J::Null) => return Err(Problem::new("logsource", "missing (mandatory)")),
        Some(_) => return Err(Problem::new("logsource", "expected a map")),
    };
    let attr = |k: &str| -> Result<Option<Arc<str>>, Problem> {
        Ok(opt_str(ls, k)
            .map_err(|p| Problem::new(format!("logsource.{}", p.construct), p.reason))?
            .map(|s| Arc::from(s.trim().to_ascii_lowercase())))
    };
    Ok(RuleLogSource {
        product: attr("product")?,
        service: attr("service")?,
        category: attr("category")?,
        definition: opt_str(ls, "definition").unwrap_or(None),
    })
}

/// Identity fields read before anything else, so errors can name the rule.
pub(crate) fn identity(doc: &J) -> (Option<String>, Option<String>) {
    (
        doc.get("id").and_then(str_of),
        doc.get("title").and_then(str_of),
    )
}

/// Parse the `detection` map (rules specification, Detection).
pub(crate) fn parse_detection(det: &J, path: &str) -> Result<Detection, Problem> {
    let J::Object(map) = det else {
        return Err(Problem::new(
            path,
            "expected a map of search identifiers and a condition",
        ));
    };
    let mut searches = Vec::new();
    let mut conditions = Vec::new();
    let mut aggregation = None;
    let mut timeframe = None;
    let mut notes = Vec::new();
    for (name, value) in map {
        match name.as_str() {
            "condition" => {
                let list: Vec<&J> = match value {
                    J::Array(a) => a.iter().collect(),
                    v => vec![v],
                };
                let several = list.len() > 1;
                for (i, c) in list.into_iter().enumerate() {
                    let at = if i == 0 {
                        String::new()
                    } else {
                        format!("[{i}]")
                    };
                    let construct = format!("{path}.condition{at}");
                    let J::String(text) = c else {
                        return Err(Problem::new(construct, "expected a string"));
                    };
                    let (plain, agg) = aggregation::split(text);
                    if let Some(agg) = agg {
                        if several {
                            return Err(Problem::new(
                                construct,
                                "a legacy `| …` aggregation is only accepted in a rule with a single condition",
                            ));
                        }
                        aggregation = Some(
                            aggregation::parse(agg)
                                .map_err(|r| Problem::new(&construct, r.to_string()))?,
                        );
                    }
                    let cond = condition::parse(plain)
                        .map_err(|r| Problem::new(construct, r.to_string()))?;
                    conditions.push(cond);
                }
            }
            // The window of a legacy aggregation (Sigma 1).
            "timeframe" => timeframe = str_of(value),
            _ => {
                let search = detection::parse_search(value, &format!("{path}.{name}"))?;
                searches.push((name.clone(), search));
            }
        }
    }
    if conditions.is_empty() {
        // Hayabusa accepts a rule whose only search is its condition.
        let [(only, _)] = searches.as_slice() else {
            return Err(Problem::new(
                format!("{path}.condition"),
                "missing (mandatory)",
            ));
        };
        let cond = condition::parse(only).map_err(|_| {
            Problem::new(
                format!("{path}.condition"),
                "missing (mandatory); the only search's name cannot stand as one",
            )
        })?;
        notes.push((
            format!("{path}.condition"),
            format!(
                "missing: the only search `{only}` is used as the condition (Hayabusa's reading)"
            ),
        ));
        conditions.push(cond);
    }
    if let Some(agg) = &aggregation {
        let window = match &timeframe {
            Some(t) => format!("timespan {t}"),
            None => format!(
                "no timeframe, so timespan {} (the whole evidence)",
                aggregation::WHOLE_EVIDENCE
            ),
        };
        notes.push((
            format!("{path}.condition"),
            format!(
                "legacy aggregation `| {}` translated into a {} correlation rule ({window})",
                agg.text,
                agg.correlation_type()
            ),
        ));
    }
    Ok(Detection {
        searches,
        conditions,
        aggregation,
        timeframe,
        notes,
    })
}

/// Turn one YAML document into a [`Document`].
pub(crate) fn parse_document(doc: &J, origin: &Arc<str>) -> Result<Document, Problem> {
    if !doc.is_object() {
        return Err(Problem::new("", "a rule document must be a YAML map"));
    }
    let id: Arc<str> = Arc::from(opt_str(doc, "id")?.unwrap_or_default());
    let title: Arc<str> = Arc::from(
        opt_str(doc, "title")?.ok_or_else(|| Problem::new("title", "missing (mandatory)"))?,
    );
    let name = opt_str(doc, "name")?.map(Arc::from);
    if doc.get("correlation").is_some() {
        return Ok(Document::Correlation(Box::new(CorrelationRule {
            id,
            name,
            title,
            origin: origin.clone(),
            document: doc.clone(),
        })));
    }
    if let Some(filter) = doc.get("filter")
        && doc.get("detection").is_none()
    {
        let rules = str_list(filter, "rules")
            .map_err(|p| Problem::new(format!("filter.{}", p.construct), p.reason))?;
        let detection = parse_detection(filter, "filter")?;
        if detection.aggregation.is_some() {
            return Err(Problem::new(
                "filter.condition",
                "a global filter cannot aggregate",
            ));
        }
        return Ok(Document::Filter(Box::new(FilterRule {
            id,
            title,
            logsource: logsource(doc)?,
            rules,
            detection,
            origin: origin.clone(),
        })));
    }
    let hayabusa = crate::hayabusa::is_hayabusa(doc);
    let detection = match doc.get("detection") {
        Some(d) if hayabusa => {
            parse_detection(&crate::hayabusa::rewrite_detection(d), "detection")?
        }
        Some(d) => parse_detection(d, "detection")?,
        None => return Err(Problem::new("detection", "missing (mandatory)")),
    };
    // A legacy aggregation: this rule keeps the plain condition under a
    // name the equivalent correlation rule references.
    let (name, aggregation) = match &detection.aggregation {
        None => (name, None),
        Some(agg) => {
            let base: Arc<str> = name.unwrap_or_else(|| {
                let key = if id.is_empty() { &title } else { &id };
                Arc::from(format!("{key}#legacy-aggregation"))
            });
            let document =
                aggregation::correlation_document(doc, &base, agg, detection.timeframe.as_deref());
            let correlation = CorrelationRule {
                id: id.clone(),
                name: None,
                title: title.clone(),
                origin: origin.clone(),
                document,
            };
            (Some(base), Some(Box::new(correlation)))
        }
    };
    let status = match opt_str(doc, "status")? {
        None => None,
        Some(s) => Some(Status::parse(&s).ok_or_else(|| {
            Problem::new(
                "status",
                format!(
                    "unknown status `{s}` (stable, test, experimental, deprecated, unsupported)"
                ),
            )
        })?),
    };
    let level = match opt_str(doc, "level")? {
        None => Level::Informational,
        Some(s) => s
            .parse::<Level>()
            .map_err(|e| Problem::new("level", e.to_string()))?,
    };
    let related = match doc.get("related") {
        Some(J::Array(a)) => a
            .iter()
            .filter_map(|r| {
                Some(Related {
                    id: r.get("id").and_then(str_of)?,
                    kind: r.get("type").and_then(str_of).unwrap_or_default(),
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Document::Rule(Box::new(SigmaRule {
        id,
        name,
        title,
        status,
        level,
        description: opt_str(doc, "description")?,
        author: opt_str(doc, "author")?,
        date: opt_str(doc, "date")?,
        modified: opt_str(doc, "modified")?,
        tags: str_list(doc, "tags")?.into_iter().map(Arc::from).collect(),
        references: str_list(doc, "references")?,
        falsepositives: str_list(doc, "falsepositives")?,
        fields: str_list(doc, "fields")?,
        related,
        logsource: logsource(doc)?,
        detection,
        origin: origin.clone(),
        aggregation,
        // Hayabusa's summary template; other rules' `details` is free text.
        details: if hayabusa {
            opt_str(doc, "details").ok().flatten()
        } else {
            None
        },
        unapplied_exclusions: Vec::new(),
    })))
}
