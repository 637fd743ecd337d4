//! Compilation of a parsed rule into a matcher tree: every value is turned
//! into a prepared test once, field names are resolved to accessor slots,
//! and `x of` patterns are expanded, so evaluation does no parsing at all.

use crate::condition::{self, Cond, Quantifier};
use crate::detection::{FieldSpec, Modifier, RuleValue};
use crate::error::Problem;
use crate::logsource::{Mapping, Transform, map_field};
use crate::matcher::{StrPat, StrSet};
use crate::pattern::{self, Pattern, Piece};
use crate::rule::Detection;
use ipnet::IpNet;
use std::collections::HashMap;
use std::sync::Arc;

/// How to read one rule field from an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Accessor {
    pub name: Arc<str>,
    pub transform: Transform,
    /// Whether `name` contains a dot (a path into nested objects, too).
    pub dotted: bool,
}

/// Numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Op {
    pub(crate) fn test(self, a: f64, b: f64) -> bool {
        match self {
            Op::Eq => a == b,
            Op::Gt => a > b,
            Op::Gte => a >= b,
            Op::Lt => a < b,
            Op::Lte => a <= b,
        }
    }
}

/// Date parts for the time modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// One test of one value of a field.
#[derive(Debug, Clone)]
pub(crate) enum ValueTest {
    /// Patterns over the lower-cased text.
    Str(StrSet),
    /// Patterns over the original text (`cased`).
    StrCased(StrSet),
    /// A number: numeric comparison when the field is numeric, else text equality.
    Num { op: Op, v: f64, text: Vec<u8> },
    /// `re`, with lower-case literals of which every match contains one
    /// (empty when none is known; see [`crate::pattern::regex_literals`]).
    Regex(regex::bytes::Regex, Vec<Vec<u8>>),
    /// `cidr`.
    Cidr(Vec<IpNet>),
    /// `fieldref`: equal to another field (case-insensitive).
    FieldRef(u32),
    /// Time modifiers.
    Time { part: TimePart, op: Op, v: f64 },
}

/// A leaf of the matcher tree.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    /// `field|exists: bool`.
    Exists { acc: u32, want: bool },
    /// `field: null`: absent or null.
    Null { acc: u32 },
    /// Values of a field; `all` AND-s the tests; `neq` negates for present fields.
    Field {
        acc: u32,
        tests: Vec<ValueTest>,
        all: bool,
        neq: bool,
    },
    /// Keywords anywhere in the event.
    Keywords { tests: Vec<ValueTest>, all: bool },
}

/// The matcher tree.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Const(bool),
    Check(u32),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    AtLeast(u32, Vec<Node>),
}

/// A compiled rule (one per applicable field mapping).
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub checks: Vec<Check>,
    pub root: Node,
    /// Accessors referenced by `checks`, local numbering (remapped on merge).
    pub accessors: Vec<Accessor>,
    /// Exclusions left empty because a placeholder in them has no value:
    /// (search identifier, placeholder name). See [`Builder::expand`].
    pub unapplied: Vec<(String, String)>,
}

/// Compile-time inputs besides the rule.
pub(crate) struct Env<'a> {
    pub mapping: Mapping,
    pub placeholders: &'a HashMap<String, Vec<String>>,
}

struct Builder<'a> {
    env: &'a Env<'a>,
    checks: Vec<Check>,
    accessors: Vec<Accessor>,
    index: HashMap<Accessor, u32>,
    /// Placeholders without a value met in the search being compiled, with
    /// the construct (`detection.filter.User|expand`) that holds each.
    unresolved: Vec<(String, String)>,
    /// (search, placeholder) for searches with such placeholders that the
    /// condition uses only negated.
    unapplied: Vec<(String, String)>,
    /// Searches the condition uses without negation.
    positive_uses: usize,
}

/// A detection's searches by identifier: the compiled node and the
/// placeholders without a value met in it.
type Searches<'s> = HashMap<&'s str, (Node, Vec<(String, String)>)>;

/// Regexes in rules are small; this caps hostile ones.
const REGEX_SIZE_LIMIT: usize = 16 << 20;

/// Lazy DFA cache per regex and thread (the `regex` crate's default).
const REGEX_DFA_LIMIT: usize = 2 << 20;

/// Lazy DFA cache for regexes with a large counted repetition
/// (`.{1000,}`): their states are large, and with the default cache the
/// DFA gives up on long values and falls back to a backtracker that costs
/// ~0.5 ms per value.
const REGEX_LARGE_DFA_LIMIT: usize = 4 << 20;

/// Whether `pattern` has a counted repetition `{n}`, `{n,}` or `{m,n}`
/// with `n >= 32` (a textual check; a wrong answer only changes the
/// cache size).
fn large_repetition(pattern: &str) -> bool {
    pattern.split('{').skip(1).any(|rest| {
        let body = rest.split('}').next().unwrap_or("");
        body.split(',').any(|n| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n.len() > 2 || n.parse::<u32>().is_ok_and(|n| n >= 32))
        })
    })
}

impl Builder<'_> {
    fn accessor(&mut self, field: &str) -> u32 {
        let acc = match map_field(self.env.mapping, field) {
            Some(m) => Accessor {
                name: Arc::from(m.name),
                transform: m.transform,
                dotted: m.name.contains('.'),
            },
            None => Accessor {
                name: Arc::from(field),
                transform: Transform::None,
                dotted: field.contains('.'),
            },
        };
        if let Some(&i) = self.index.get(&acc) {
            return i;
        }
        let i = self.accessors.len() as u32;
        self.accessors.push(acc.clone());
        self.index.insert(acc, i);
        i
    }

    fn push(&mut self, c: Check) -> Node {
        self.checks.push(c);
        Node::Check(self.checks.len() as u32 - 1)
    }

    fn spec(&mut self, s: &FieldSpec) -> Result<Node, Problem> {
        let has = |m: Modifier| s.modifiers.contains(&m);
        let err = |r: String| Problem::new(s.path.clone(), r);
        if s.values.is_empty() {
            return Err(err("no values".into()));
        }
        if has(Modifier::Exists) {
            let Some(field) = &s.field else {
                return Err(err("`exists` needs a field".into()));
            };
            let want = match s.values.as_slice() {
                [RuleValue::Bool(b)] => *b,
                [RuleValue::Str(t)] if t.eq_ignore_ascii_case("true") => true,
                [RuleValue::Str(t)] if t.eq_ignore_ascii_case("false") => false,
                _ => return Err(err("`exists` takes a single boolean".into())),
            };
            let acc = self.accessor(field);
            return Ok(self.push(Check::Exists { acc, want }));
        }
        let all = has(Modifier::All);
        let neq = has(Modifier::Neq);
        let mut nodes = Vec::new();
        if s.values.contains(&RuleValue::Null) {
            let Some(field) = &s.field else {
                return Err(err("`null` is not a keyword".into()));
            };
            let acc = self.accessor(field);
            nodes.push(self.push(Check::Null { acc }));
        }
        let values: Vec<&RuleValue> = s.values.iter().filter(|v| **v != RuleValue::Null).collect();
        if !values.is_empty() {
            let tests = self.tests(s, &values).map_err(err)?;
            if tests.is_empty() {
                // Every value was a placeholder without a value: an empty
                // value list, which no event matches.
                return Ok(match nodes.pop() {
                    Some(null) => null,
                    None => Node::Const(false),
                });
            }
            let check = match &s.field {
                Some(f) => Check::Field {
                    acc: self.accessor(f),
                    tests,
                    all,
                    neq,
                },
                None => Check::Keywords { tests, all },
            };
            nodes.push(self.push(check));
        }
        Ok(if nodes.len() == 1 {
            nodes.pop().unwrap_or(Node::Const(false))
        } else {
            Node::Or(nodes)
        })
    }

    fn tests(&mut self, s: &FieldSpec, values: &[&RuleValue]) -> Result<Vec<ValueTest>, String> {
        let has = |m: Modifier| s.modifiers.contains(&m);
        let all = has(Modifier::All);
        let text = |v: &RuleValue| -> String {
            match v {
                RuleValue::Str(t) => t.clone(),
                RuleValue::Num(_, t) => t.clone(),
                RuleValue::Bool(b) => b.to_string(),
                RuleValue::Null => String::new(),
            }
        };
        if has(Modifier::FieldRef) {
            return Ok(values
                .iter()
                .map(|v| ValueTest::FieldRef(self.accessor(&text(v))))
                .collect());
        }
        if has(Modifier::Re) {
            let mut out = Vec::new();
            for v in values {
                let re = regex::bytes::RegexBuilder::new(&text(v))
                    .case_insensitive(has(Modifier::ReInsensitive))
                    .multi_line(has(Modifier::ReMultiline))
                    .dot_matches_new_line(has(Modifier::ReDotAll))
                    .size_limit(REGEX_SIZE_LIMIT)
                    .dfa_size_limit(if large_repetition(&text(v)) {
                        REGEX_LARGE_DFA_LIMIT
                    } else {
                        REGEX_DFA_LIMIT
                    })
                    .build()
                    .map_err(|e| format!("invalid regular expression: {e}"))?;
                let lits = crate::pattern::regex_literals(&text(v), has(Modifier::ReInsensitive))
                    .unwrap_or_default();
                out.push(ValueTest::Regex(re, lits));
            }
            return Ok(out);
        }
        if has(Modifier::Cidr) {
            let mut nets = Vec::new();
            for v in values {
                let t = text(v);
                let net = t
                    .trim()
                    .parse::<IpNet>()
                    .or_else(|_| t.trim().parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{t}` is not a CIDR network"))?;
                nets.push(net);
            }
            return Ok(if all {
                nets.into_iter().map(|n| ValueTest::Cidr(vec![n])).collect()
            } else {
                vec![ValueTest::Cidr(nets)]
            });
        }
        let time = [
            (Modifier::Minute, TimePart::Minute),
            (Modifier::Hour, TimePart::Hour),
            (Modifier::Day, TimePart::Day),
            (Modifier::Week, TimePart::Week),
            (Modifier::Month, TimePart::Month),
            (Modifier::Year, TimePart::Year),
        ]
        .into_iter()
        .find(|(m, _)| has(*m))
        .map(|(_, p)| p);
        let cmp = [
            (Modifier::Gt, Op::Gt),
            (Modifier::Gte, Op::Gte),
            (Modifier::Lt, Op::Lt),
            (Modifier::Lte, Op::Lte),
        ]
        .into_iter()
        .find(|(m, _)| has(*m))
        .map(|(_, o)| o);
        if time.is_some() || cmp.is_some() {
            let mut out = Vec::new();
            for v in values {
                let n = match v {
                    RuleValue::Num(n, _) => *n,
                    RuleValue::Str(t) => t
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| format!("`{t}` is not a number"))?,
                    _ => return Err("numeric modifiers need numbers".into()),
                };
                let op = cmp.unwrap_or(Op::Eq);
                out.push(match time {
                    Some(part) => ValueTest::Time { part, op, v: n },
                    None => ValueTest::Num {
                        op,
                        v: n,
                        text: Vec::new(),
                    },
                });
            }
            return Ok(out);
        }
        let cased = has(Modifier::Cased);
        let plain = !s
            .modifiers
            .iter()
            .any(|m| !matches!(m, Modifier::All | Modifier::Neq | Modifier::Cased));
        let mut out = Vec::new();
        let mut pats = Vec::new();
        for v in values {
            // Numbers without string modifiers compare as numbers too.
            if let (RuleValue::Num(n, t), true, Some(_)) = (v, plain, &s.field) {
                out.push(ValueTest::Num {
                    op: Op::Eq,
                    v: *n,
                    text: t.to_ascii_lowercase().into_bytes(),
                });
                continue;
            }
            let expanded = self.expand(s, &text(v))?;
            let mut variants = Vec::new();
            for p in expanded {
                variants.extend(self.encode(s, p)?);
            }
            let compiled: Vec<StrPat> = variants
                .iter()
                .map(|p| StrPat::compile(p, !cased))
                .collect();
            if all && s.field.is_none() {
                // Keywords with `|all`: each value may sit in a different field.
                let set = StrSet::new(compiled, false);
                out.push(if cased {
                    ValueTest::StrCased(set)
                } else {
                    ValueTest::Str(set)
                });
            } else if all && compiled.len() > 1 {
                // One written value, several encodings: any encoding satisfies that value.
                let set = StrSet::new(compiled, false);
                out.push(if cased {
                    ValueTest::StrCased(set)
                } else {
                    ValueTest::Str(set)
                });
            } else {
                pats.extend(compiled);
            }
        }
        if !pats.is_empty() {
            let set = StrSet::new(pats, all);
            out.push(if cased {
                ValueTest::StrCased(set)
            } else {
                ValueTest::Str(set)
            });
        }
        Ok(out)
    }

    /// `expand`: replace `%name%` placeholders from the load options.
    ///
    /// A placeholder without a value expands to no value at all (an empty
    /// value list: the field test can never hold) and is recorded in
    /// `unresolved`; [`Builder::cond`] then accepts the search only where
    /// the condition negates it (an exclusion that excludes nothing: the
    /// rule over-reports, never goes silent) and rejects the rule where
    /// the placeholder would select what the rule looks for.
    fn expand(&mut self, s: &FieldSpec, v: &str) -> Result<Vec<String>, String> {
        if !s.modifiers.contains(&Modifier::Expand) {
            return Ok(vec![v.to_string()]);
        }
        let mut results = vec![String::new()];
        let b = v.as_bytes();
        let mut i = 0;
        let mut lit_start = 0;
        while i < b.len() {
            if b[i] == b'\\' && b.get(i + 1) == Some(&b'%') {
                for r in &mut results {
                    r.push_str(&v[lit_start..i]);
                    r.push('%');
                }
                i += 2;
                lit_start = i;
                continue;
            }
            if b[i] == b'%'
                && let Some(end) = v[i + 1..].find('%')
            {
                let name = &v[i + 1..i + 1 + end];
                let Some(vals) = self.env.placeholders.get(name) else {
                    if s.modifiers.contains(&Modifier::All) {
                        return Err(format!(
                            "placeholder `%{name}%` has no value and `all` needs every value \
                             (give one with --placeholder {name}=VALUE)"
                        ));
                    }
                    if !self.unresolved.iter().any(|(n, _)| n == name) {
                        self.unresolved.push((name.to_string(), s.path.clone()));
                    }
                    return Ok(Vec::new());
                };
                if vals.is_empty() || results.len() * vals.len() > 10_000 {
                    return Err(format!(
                        "placeholder `%{name}%` expands to no or too many values"
                    ));
                }
                let mut next = Vec::with_capacity(results.len() * vals.len());
                for r in &results {
                    for val in vals {
                        let mut x = r.clone();
                        x.push_str(&v[lit_start..i]);
                        x.push_str(val);
                        next.push(x);
                    }
                }
                results = next;
                i += end + 2;
                lit_start = i;
                continue;
            }
            i += 1;
        }
        for r in &mut results {
            r.push_str(&v[lit_start..]);
        }
        Ok(results)
    }

    /// Apply wildcards, encodings and position modifiers in the order written.
    fn encode(&self, s: &FieldSpec, v: String) -> Result<Vec<Pattern>, String> {
        let mut cur: Vec<Pattern> = vec![pattern::parse_wildcards(&v)];
        for m in &s.modifiers {
            let lit = |p: &Pattern, name: &str| {
                pattern::literal(p)
                    .ok_or_else(|| format!("`{name}` cannot encode a value with wildcards"))
            };
            let mut next = Vec::new();
            for p in &cur {
                match m {
                    Modifier::Base64 => {
                        next.push(vec![Piece::Lit(pattern::base64(&lit(p, "base64")?))])
                    }
                    Modifier::Base64Offset => {
                        for e in pattern::base64_offsets(&lit(p, "base64offset")?) {
                            next.push(vec![Piece::Lit(e)]);
                        }
                    }
                    Modifier::Utf16Le => {
                        next.push(vec![Piece::Lit(pattern::utf16le(&lit(p, "utf16le")?))])
                    }
                    Modifier::Utf16Be => {
                        next.push(vec![Piece::Lit(pattern::utf16be(&lit(p, "utf16be")?))])
                    }
                    Modifier::Utf16 => {
                        next.push(vec![Piece::Lit(pattern::utf16_bom(&lit(p, "utf16")?))])
                    }
                    Modifier::Windash => {
                        next.extend(pattern::windash(p).map_err(|e| e.to_string())?)
                    }
                    _ => next.push(p.clone()),
                }
            }
            cur = next;
        }
        let contains = s.modifiers.contains(&Modifier::Contains) || s.field.is_none();
        let starts = s.modifiers.contains(&Modifier::StartsWith);
        let ends = s.modifiers.contains(&Modifier::EndsWith);
        for p in &mut cur {
            if (contains || ends) && p.first() != Some(&Piece::Star) {
                p.insert(0, Piece::Star);
            }
            if (contains || starts) && p.last() != Some(&Piece::Star) {
                p.push(Piece::Star);
            }
        }
        Ok(cur)
    }

    fn search(&mut self, alternatives: &[Vec<FieldSpec>]) -> Result<Node, Problem> {
        let mut ors = Vec::new();
        for alt in alternatives {
            let mut ands = Vec::new();
            for spec in alt {
                ands.push(self.spec(spec)?);
            }
            ors.push(if ands.len() == 1 {
                ands.pop().unwrap_or(Node::Const(true))
            } else {
                Node::And(ands)
            });
        }
        Ok(if ors.len() == 1 {
            ors.pop().unwrap_or(Node::Const(false))
        } else {
            Node::Or(ors)
        })
    }

    /// A search used by the condition. `positive` is false under an odd
    /// number of `not`s: only there may a search hold a placeholder without
    /// a value (it then excludes nothing).
    fn use_search(
        &mut self,
        name: &str,
        searches: &Searches<'_>,
        positive: bool,
    ) -> Result<Option<Node>, Problem> {
        let Some((node, unresolved)) = searches.get(name) else {
            return Ok(None);
        };
        if positive {
            self.positive_uses += 1;
        }
        if let Some((ph, construct)) = unresolved.first() {
            if positive {
                return Err(Problem::new(
                    construct.clone(),
                    format!(
                        "placeholder `%{ph}%` has no value (give one with --placeholder \
                         {ph}=VALUE); it is in `{name}`, which selects what the rule looks \
                         for, so the rule cannot run without it"
                    ),
                ));
            }
            for (ph, _) in unresolved {
                let entry = (name.to_string(), ph.clone());
                if !self.unapplied.contains(&entry) {
                    self.unapplied.push(entry);
                }
            }
        }
        Ok(Some(node.clone()))
    }

    fn cond(
        &mut self,
        c: &Cond,
        searches: &Searches<'_>,
        names: &[&str],
        path: &str,
        positive: bool,
    ) -> Result<Node, Problem> {
        Ok(match c {
            Cond::Ident(name) => self.use_search(name, searches, positive)?.ok_or_else(|| {
                Problem::new(
                    path,
                    format!("condition names `{name}`, which is not a search identifier"),
                )
            })?,
            Cond::Not(inner) => Node::Not(Box::new(
                self.cond(inner, searches, names, path, !positive)?,
            )),
            Cond::And(items) => Node::And(
                items
                    .iter()
                    .map(|i| self.cond(i, searches, names, path, positive))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Or(items) => Node::Or(
                items
                    .iter()
                    .map(|i| self.cond(i, searches, names, path, positive))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Of(q, pat) => {
                let mut members: Vec<Node> = Vec::new();
                for n in names.iter().filter(|n| match pat {
                    // `them` excludes identifiers starting with `_` (rules specification).
                    None => !n.starts_with('_'),
                    Some(p) => condition::pattern_matches(p, n),
                }) {
                    if let Some(node) = self.use_search(n, searches, positive)? {
                        members.push(node);
                    }
                }
                if members.is_empty() {
                    return Err(Problem::new(
                        path,
                        format!(
                            "`of {}` matches no search identifier",
                            pat.as_deref().unwrap_or("them")
                        ),
                    ));
                }
                match q {
                    Quantifier::All => Node::And(members),
                    Quantifier::AtLeast(1) => Node::Or(members),
                    Quantifier::AtLeast(n) => Node::AtLeast(*n, members),
                }
            }
        })
    }

    /// `positive` is false for a global filter, which the rule's condition
    /// negates as a whole.
    fn detection(&mut self, d: &Detection, path: &str, positive: bool) -> Result<Node, Problem> {
        let mut searches = HashMap::new();
        let mut names = Vec::new();
        for (name, s) in &d.searches {
            self.unresolved.clear();
            let node = self.search(&s.alternatives)?;
            searches.insert(name.as_str(), (node, std::mem::take(&mut self.unresolved)));
            names.push(name.as_str());
        }
        let mut roots = Vec::new();
        for c in &d.conditions {
            roots.push(self.cond(c, &searches, &names, &format!("{path}.condition"), positive)?);
        }
        Ok(if roots.len() == 1 {
            roots.pop().unwrap_or(Node::Const(false))
        } else {
            Node::Or(roots)
        })
    }
}

/// Most `|re` values one rule may have, global filters included (SigmaHQ's
/// largest has 19). Every value is its own automaton: 50,000 of them took
/// 5.4 GB and 29 s to compile and made matching 200 events take 85 s.
pub const MAX_REGEX_PER_RULE: usize = 128;
/// Most bytes of regular-expression source in one rule.
pub const MAX_REGEX_BYTES_PER_RULE: usize = 256 * 1024;
/// Most `|re` values in one rule set (all of SigmaHQ has about 220).
pub const MAX_REGEX_TOTAL: usize = 2048;

/// Check a rule's regular expressions against the per-rule caps and what
/// is left of the rule set's `total` (taken from it when the rule fits),
/// before anything is compiled: a rejected rule costs nothing.
pub(crate) fn charge_regexes(
    d: &Detection,
    filters: &[&Detection],
    total: &mut usize,
) -> Result<(), Problem> {
    let (mut count, mut bytes) = (0usize, 0usize);
    for det in std::iter::once(d).chain(filters.iter().copied()) {
        for (_, search) in &det.searches {
            for spec in search.alternatives.iter().flatten() {
                if !spec.modifiers.contains(&Modifier::Re) {
                    continue;
                }
                count += spec.values.len();
                bytes += spec.values.iter().map(value_len).sum::<usize>();
                if count > MAX_REGEX_PER_RULE {
                    return Err(Problem::new(
                        spec.path.clone(),
                        format!(
                            "rule too costly: more than {MAX_REGEX_PER_RULE} regular expressions \
                             (each compiles to its own automaton); rejected"
                        ),
                    ));
                }
                if bytes > MAX_REGEX_BYTES_PER_RULE {
                    return Err(Problem::new(
                        spec.path.clone(),
                        format!(
                            "rule too costly: more than {MAX_REGEX_BYTES_PER_RULE} bytes of \
                             regular expressions; rejected"
                        ),
                    ));
                }
            }
        }
    }
    if *total + count > MAX_REGEX_TOTAL {
        return Err(Problem::new(
            "detection",
            format!(
                "rule set too costly: its {count} regular expressions would pass the limit of \
                 {MAX_REGEX_TOTAL} for all rules loaded together; rejected"
            ),
        ));
    }
    *total += count;
    Ok(())
}

fn value_len(v: &RuleValue) -> usize {
    match v {
        RuleValue::Str(t) | RuleValue::Num(_, t) => t.len(),
        RuleValue::Bool(_) | RuleValue::Null => 5,
    }
}

/// Compile a detection (and the global filters that apply to it).
pub(crate) fn compile(
    d: &Detection,
    filters: &[&Detection],
    env: &Env<'_>,
) -> Result<Compiled, Problem> {
    let mut b = Builder {
        env,
        checks: Vec::new(),
        accessors: Vec::new(),
        index: HashMap::new(),
        unresolved: Vec::new(),
        unapplied: Vec::new(),
        positive_uses: 0,
    };
    let mut root = b.detection(d, "detection", true)?;
    if let (0, Some((search, ph))) = (b.positive_uses, b.unapplied.first()) {
        // `condition: not filter`: with the allow-list empty the rule
        // would report every event of its log source.
        return Err(Problem::new(
            format!("detection.{search}"),
            format!(
                "placeholder `%{ph}%` has no value (give one with --placeholder {ph}=VALUE); \
                 the rule's condition only excludes, so with `{search}` empty it would report \
                 every event of its log source"
            ),
        ));
    }
    for f in filters {
        let fnode = b.detection(f, "filter", false)?;
        root = Node::And(vec![root, Node::Not(Box::new(fnode))]);
    }
    Ok(Compiled {
        checks: b.checks,
        root,
        accessors: b.accessors,
        unapplied: b.unapplied,
    })
}

impl Compiled {
    /// Renumber accessors into the rule set's shared table.
    pub(crate) fn remap(&mut self, map: &[u32]) {
        for c in &mut self.checks {
            match c {
                Check::Exists { acc, .. } | Check::Null { acc } => *acc = map[*acc as usize],
                Check::Field { acc, tests, .. } => {
                    *acc = map[*acc as usize];
                    for t in tests {
                        if let ValueTest::FieldRef(a) = t {
                            *a = map[*a as usize];
                        }
                    }
                }
                Check::Keywords { tests, .. } => {
                    for t in tests {
                        if let ValueTest::FieldRef(a) = t {
                            *a = map[*a as usize];
                        }
                    }
                }
            }
        }
        self.accessors.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::large_repetition;

    #[test]
    fn large_repetitions_are_recognised() {
        assert!(large_repetition(".{1000,}"));
        assert!(large_repetition(r"\s[a-f0-9]{64}\s"));
        assert!(large_repetition(r"-k\s\w{1,64}"));
        assert!(!large_repetition(r"\d{1,3}\.\d{2}"));
        assert!(!large_repetition(r#""(?:\{\d\})+"\s*-f"#));
        assert!(!large_repetition("{"));
    }
}
