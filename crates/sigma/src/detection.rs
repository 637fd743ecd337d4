//! Search identifiers (rules specification, Detection): maps of
//! `field|modifier|…: value(s)`, lists of maps, and keyword lists.

use crate::error::Problem;
use serde_json::Value as J;

/// A value modifier (modifiers appendix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// `contains`.
    Contains,
    /// `startswith`.
    StartsWith,
    /// `endswith`.
    EndsWith,
    /// `all`: values are AND-ed.
    All,
    /// `base64`.
    Base64,
    /// `base64offset`.
    Base64Offset,
    /// `utf16le` / `wide`.
    Utf16Le,
    /// `utf16be`.
    Utf16Be,
    /// `utf16` (with byte order mark).
    Utf16,
    /// `windash`.
    Windash,
    /// `re`.
    Re,
    /// `re|i`.
    ReInsensitive,
    /// `re|m`.
    ReMultiline,
    /// `re|s`.
    ReDotAll,
    /// `cidr`.
    Cidr,
    /// `exists`.
    Exists,
    /// `fieldref`.
    FieldRef,
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
    /// `neq`.
    Neq,
    /// `expand`: placeholders.
    Expand,
    /// `cased`.
    Cased,
    /// `minute` (time modifiers).
    Minute,
    /// `hour`.
    Hour,
    /// `day`.
    Day,
    /// `week`.
    Week,
    /// `month`.
    Month,
    /// `year`.
    Year,
}

impl Modifier {
    fn parse(s: &str, after_re: bool) -> Result<Modifier, ModifierError> {
        Ok(match s {
            "contains" => Modifier::Contains,
            "startswith" => Modifier::StartsWith,
            "endswith" => Modifier::EndsWith,
            "all" => Modifier::All,
            "base64" => Modifier::Base64,
            "base64offset" => Modifier::Base64Offset,
            "utf16le" | "wide" => Modifier::Utf16Le,
            "utf16be" => Modifier::Utf16Be,
            "utf16" => Modifier::Utf16,
            "windash" => Modifier::Windash,
            "re" => Modifier::Re,
            "i" if after_re => Modifier::ReInsensitive,
            "m" if after_re => Modifier::ReMultiline,
            "s" if after_re => Modifier::ReDotAll,
            "cidr" => Modifier::Cidr,
            "exists" => Modifier::Exists,
            "fieldref" => Modifier::FieldRef,
            "gt" => Modifier::Gt,
            "gte" => Modifier::Gte,
            "lt" => Modifier::Lt,
            "lte" => Modifier::Lte,
            "neq" => Modifier::Neq,
            "expand" => Modifier::Expand,
            "cased" => Modifier::Cased,
            "minute" => Modifier::Minute,
            "hour" => Modifier::Hour,
            "day" => Modifier::Day,
            "week" => Modifier::Week,
            "month" => Modifier::Month,
            "year" => Modifier::Year,
            "i" | "m" | "s" => {
                return Err(ModifierError::SubModifierFirst(s.to_string()));
            }
            other => return Err(ModifierError::Unknown(other.to_string())),
        })
    }
}

/// A field modifier that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModifierError {
    /// `i`, `m` or `s` not after `re`.
    #[error("modifier `{0}` is a sub-modifier of `re` and must follow it")]
    SubModifierFirst(String),
    /// No such modifier.
    #[error("unknown modifier `{0}`")]
    Unknown(String),
}

/// A value as written in the rule.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleValue {
    /// A string (wildcards and escapes not yet interpreted).
    Str(String),
    /// A number, with its text as written (well, as YAML resolved it).
    Num(f64, String),
    /// A boolean.
    Bool(bool),
    /// `null`: the field is absent or null.
    Null,
}

/// One `field|modifiers: values` item, or a keyword list (`field` is `None`).
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// The field name; `None` for keyword searches.
    pub field: Option<String>,
    /// Modifiers in the order written.
    pub modifiers: Vec<Modifier>,
    /// The values (one or more).
    pub values: Vec<RuleValue>,
    /// Where in the rule, for diagnostics.
    pub path: String,
}

/// A search identifier's definition: alternatives (OR) of conjunctions (AND).
#[derive(Debug, Clone)]
pub struct Search {
    /// OR over these; each is an AND over its items.
    pub alternatives: Vec<Vec<FieldSpec>>,
}

/// Upper bound on values per item; hostile rules could otherwise make the
/// compiler allocate without limit.
const MAX_VALUES: usize = 100_000;

fn rule_value(v: &J, path: &str) -> Result<RuleValue, Problem> {
    Ok(match v {
        J::String(s) => RuleValue::Str(s.clone()),
        J::Number(n) => RuleValue::Num(n.as_f64().unwrap_or(f64::NAN), n.to_string()),
        J::Bool(b) => RuleValue::Bool(*b),
        J::Null => RuleValue::Null,
        J::Array(_) | J::Object(_) => {
            return Err(Problem::new(
                path,
                "nested lists or maps are not valid values",
            ));
        }
    })
}

fn values(v: &J, path: &str) -> Result<Vec<RuleValue>, Problem> {
    match v {
        J::Array(a) => {
            if a.len() > MAX_VALUES {
                return Err(Problem::new(path, format!("more than {MAX_VALUES} values")));
            }
            a.iter().map(|x| rule_value(x, path)).collect()
        }
        other => Ok(vec![rule_value(other, path)?]),
    }
}

fn field_spec(key: &str, v: &J, path: &str) -> Result<FieldSpec, Problem> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default().trim();
    let mut modifiers = Vec::new();
    let mut after_re = false;
    for m in parts {
        let m = m.trim();
        let parsed = Modifier::parse(m, after_re).map_err(|r| Problem::new(path, r.to_string()))?;
        after_re |= parsed == Modifier::Re;
        modifiers.push(parsed);
    }
    Ok(FieldSpec {
        field: if field.is_empty() {
            None
        } else {
            Some(field.to_string())
        },
        modifiers,
        values: values(v, path)?,
        path: path.to_string(),
    })
}

fn map_items(m: &serde_json::Map<String, J>, path: &str) -> Result<Vec<FieldSpec>, Problem> {
    m.iter()
        .map(|(k, v)| field_spec(k, v, &format!("{path}.{k}")))
        .collect()
}

/// Parse one search identifier's value.
pub(crate) fn parse_search(v: &J, path: &str) -> Result<Search, Problem> {
    match v {
        J::Object(m) => {
            if m.is_empty() {
                return Err(Problem::new(path, "empty map"));
            }
            Ok(Search {
                alternatives: vec![map_items(m, path)?],
            })
        }
        J::Array(a) => {
            if a.is_empty() {
                return Err(Problem::new(path, "empty list"));
            }
            let mut alternatives = Vec::new();
            let mut keywords = Vec::new();
            for (i, item) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                match item {
                    J::Object(m) => alternatives.push(map_items(m, &p)?),
                    J::Array(_) => return Err(Problem::new(p, "nested lists are not valid")),
                    other => keywords.push(rule_value(other, &p)?),
                }
            }
            if !keywords.is_empty() {
                alternatives.push(vec![FieldSpec {
                    field: None,
                    modifiers: Vec::new(),
                    values: keywords,
                    path: path.to_string(),
                }]);
            }
            Ok(Search { alternatives })
        }
        J::String(_) | J::Number(_) => Ok(Search {
            alternatives: vec![vec![FieldSpec {
                field: None,
                modifiers: Vec::new(),
                values: vec![rule_value(v, path)?],
                path: path.to_string(),
            }]],
        }),
        _ => Err(Problem::new(path, "expected a map, a list or a keyword")),
    }
}
