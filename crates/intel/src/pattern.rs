//! A small parser for the STIX 2.1 patterning language.
//!
//! It understands the whole grammar (observation expressions with `AND`,
//! `OR`, `FOLLOWEDBY`, qualifiers; comparison expressions with every
//! operator, `NOT`, parentheses and all literal forms) so that it can say
//! precisely what it does not *evaluate*. Evaluation is per event, so:
//!
//! - `OR` between observations: exact.
//! - `AND` / `FOLLOWEDBY` between observations, and the qualifiers
//!   `WITHIN`, `REPEATS`, `START … STOP`: **downgraded** — every observation
//!   becomes an independent alternative, and the downgrade is reported
//!   with the indicator. Correlating several events is the job of the
//!   timeline, not of a per-event matcher.
//!
//! Comparison expressions inside one observation are converted to
//! disjunctive normal form (bounded in size) so that each conjunction can
//! be indexed by one equality test and checked in full only on a hit.

use std::fmt;

/// Longest pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 64 * 1024;
const MAX_DEPTH: usize = 64;
const MAX_CONJUNCTIONS: usize = 256;
const MAX_ATOMS_PER_CONJUNCTION: usize = 64;

/// A literal value in a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `'text'`
    Str(String),
    /// Integer.
    Int(i64),
    /// Floating point.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `t'2020-01-01T00:00:00Z'`
    Timestamp(String),
    /// `h'ff00'`
    Hex(String),
    /// `b'AAEC'`
    Binary(String),
}

impl Literal {
    /// The literal as text (strings as they are, numbers formatted).
    pub fn text(&self) -> String {
        match self {
            Literal::Str(s) | Literal::Timestamp(s) | Literal::Hex(s) | Literal::Binary(s) => {
                s.clone()
            }
            Literal::Int(i) => i.to_string(),
            Literal::Float(f) => f.to_string(),
            Literal::Bool(b) => b.to_string(),
        }
    }
}

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE`
    Like,
    /// `MATCHES`
    Matches,
    /// `ISSUBSET`
    IsSubset,
    /// `ISSUPERSET`
    IsSuperset,
}

/// One comparison `object:path OP value` (an `IN` list becomes one
/// comparison per member).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Object type (`ipv4-addr`).
    pub object: String,
    /// Property path with quotes removed and list indexes kept
    /// (`hashes.SHA-256`, `to_refs[*].value`).
    pub path: String,
    /// `NOT` before the operator.
    pub negated: bool,
    /// The operator.
    pub op: CmpOp,
    /// The value.
    pub value: Literal,
}

/// A parsed pattern as alternatives of conjunctions of comparisons.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPattern {
    /// Any one conjunction matching means the pattern matches.
    pub alternatives: Vec<Vec<Comparison>>,
    /// What was loosened to make the pattern evaluable per event.
    pub downgrades: Vec<String>,
}

/// Why a pattern could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// Byte offset in the pattern.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for PatternError {}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Op(CmpOp),
    Word(String),
    Path(String, String),
    Lit(Literal),
}

fn lex(s: &str) -> Result<Vec<(usize, Tok)>, PatternError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let err = |offset: usize, m: &str| PatternError {
        offset,
        message: m.to_string(),
    };
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'[' => {
                out.push((start, Tok::LBracket));
                i += 1;
            }
            b']' => {
                out.push((start, Tok::RBracket));
                i += 1;
            }
            b'(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            b')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            b',' => {
                out.push((start, Tok::Comma));
                i += 1;
            }
            b'=' => {
                out.push((start, Tok::Op(CmpOp::Eq)));
                i += if b.get(i + 1) == Some(&b'=') { 2 } else { 1 };
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                out.push((start, Tok::Op(CmpOp::Ne)));
                i += 2;
            }
            b'<' | b'>' => {
                let eq = b.get(i + 1) == Some(&b'=');
                let op = match (c, eq) {
                    (b'<', false) => CmpOp::Lt,
                    (b'<', true) => CmpOp::Le,
                    (_, false) => CmpOp::Gt,
                    (_, true) => CmpOp::Ge,
                };
                out.push((start, Tok::Op(op)));
                i += if eq { 2 } else { 1 };
            }
            b'\'' => {
                let (v, next) = quoted(s, i).ok_or_else(|| err(start, "unterminated string"))?;
                out.push((start, Tok::Lit(Literal::Str(v))));
                i = next;
            }
            b't' | b'h' | b'b' if b.get(i + 1) == Some(&b'\'') => {
                let (v, next) =
                    quoted(s, i + 1).ok_or_else(|| err(start, "unterminated literal"))?;
                let lit = match c {
                    b't' => Literal::Timestamp(v),
                    b'h' => Literal::Hex(v),
                    _ => Literal::Binary(v),
                };
                out.push((start, Tok::Lit(lit)));
                i = next;
            }
            b'-' | b'+' | b'0'..=b'9' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                    j += 1;
                }
                let text = &s[i..j];
                let lit = if text.contains('.') {
                    Literal::Float(text.parse().map_err(|_| err(start, "bad number"))?)
                } else {
                    Literal::Int(text.parse().map_err(|_| err(start, "bad integer"))?)
                };
                out.push((start, Tok::Lit(lit)));
                i = j;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'-')
                {
                    j += 1;
                }
                let word = &s[i..j];
                if b.get(j) == Some(&b':') {
                    let (path, next) =
                        object_path(s, j + 1).map_err(|m| err(j + 1, &m.to_string()))?;
                    out.push((start, Tok::Path(word.to_ascii_lowercase(), path)));
                    i = next;
                } else {
                    let tok = match word.to_ascii_uppercase().as_str() {
                        "LIKE" => Tok::Op(CmpOp::Like),
                        "MATCHES" => Tok::Op(CmpOp::Matches),
                        "ISSUBSET" => Tok::Op(CmpOp::IsSubset),
                        "ISSUPERSET" => Tok::Op(CmpOp::IsSuperset),
                        "TRUE" => Tok::Lit(Literal::Bool(true)),
                        "FALSE" => Tok::Lit(Literal::Bool(false)),
                        _ => Tok::Word(word.to_ascii_uppercase()),
                    };
                    out.push((start, tok));
                    i = j;
                }
            }
            _ => {
                return Err(err(
                    start,
                    &format!(
                        "unexpected character {:?}",
                        s[i..].chars().next().unwrap_or('?')
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Read a `'…'` literal starting at the quote; returns the unescaped
/// text and the index after the closing quote.
fn quoted(s: &str, open: usize) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s[open + 1..].char_indices();
    while let Some((k, ch)) = chars.next() {
        match ch {
            '\\' => {
                let (_, e) = chars.next()?;
                out.push(e);
            }
            '\'' => return Some((out, open + 1 + k + 1)),
            _ => out.push(ch),
        }
    }
    None
}

/// What is wrong with an object path (the caller adds the offset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum PathError {
    #[error("unterminated quoted path step")]
    UnterminatedQuote,
    #[error("empty object path step")]
    EmptyStep,
    #[error("unterminated list index")]
    UnterminatedIndex,
    #[error("bad list index `{0}`")]
    BadIndex(String),
}

/// Read a property path after `type:`; quotes are removed, indexes kept.
fn object_path(s: &str, start: usize) -> Result<(String, usize), PathError> {
    let b = s.as_bytes();
    let mut i = start;
    let mut out = String::new();
    loop {
        // One step: a name or a quoted name.
        if b.get(i) == Some(&b'\'') {
            let (v, next) = quoted(s, i).ok_or(PathError::UnterminatedQuote)?;
            out.push_str(&v);
            i = next;
        } else {
            let j0 = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                i += 1;
            }
            if i == j0 {
                return Err(PathError::EmptyStep);
            }
            out.push_str(&s[j0..i]);
        }
        while b.get(i) == Some(&b'[') {
            let close = s[i..].find(']').ok_or(PathError::UnterminatedIndex)? + i;
            let idx = s[i + 1..close].trim();
            if idx != "*" && !idx.bytes().all(|c| c.is_ascii_digit()) {
                return Err(PathError::BadIndex(idx.to_string()));
            }
            out.push('[');
            out.push_str(idx);
            out.push(']');
            i = close + 1;
        }
        if b.get(i) == Some(&b'.') {
            out.push('.');
            i += 1;
        } else {
            return Ok((out, i));
        }
    }
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    depth: usize,
    downgrades: Vec<String>,
}

type Dnf = Vec<Vec<Comparison>>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }
    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(o, _)| *o)
    }
    fn err<T>(&self, m: impl Into<String>) -> Result<T, PatternError> {
        Err(PatternError {
            offset: self.offset(),
            message: m.into(),
        })
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }
    fn expect(&mut self, t: Tok, what: &str) -> Result<(), PatternError> {
        if self.peek() == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(format!("expected {what}"))
        }
    }
    fn enter(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("pattern nested too deeply");
        }
        Ok(())
    }

    // Observation level: every operator yields a union of alternatives;
    // AND / FOLLOWEDBY are recorded as downgrades.
    fn obs_or(&mut self) -> Result<Dnf, PatternError> {
        let mut alts = self.obs_and()?;
        while self.is_word("OR") {
            self.pos += 1;
            alts.extend(self.obs_and()?);
            check_size(&alts, self)?;
        }
        Ok(alts)
    }
    fn obs_and(&mut self) -> Result<Dnf, PatternError> {
        let mut alts = self.obs_seq()?;
        while self.is_word("AND") {
            self.pos += 1;
            self.note("AND between observations (each observation matched on its own)");
            alts.extend(self.obs_seq()?);
            check_size(&alts, self)?;
        }
        Ok(alts)
    }
    fn obs_seq(&mut self) -> Result<Dnf, PatternError> {
        let mut alts = self.obs_qualified()?;
        while self.is_word("FOLLOWEDBY") {
            self.pos += 1;
            self.note("FOLLOWEDBY (each observation matched on its own, order not checked)");
            alts.extend(self.obs_qualified()?);
            check_size(&alts, self)?;
        }
        Ok(alts)
    }
    fn obs_qualified(&mut self) -> Result<Dnf, PatternError> {
        let alts = self.obs_primary()?;
        loop {
            if self.is_word("WITHIN") {
                self.pos += 1;
                self.number("WITHIN")?;
                if !self.is_word("SECONDS") {
                    return self.err("expected SECONDS after WITHIN n");
                }
                self.pos += 1;
                self.note("WITHIN qualifier ignored");
            } else if self.is_word("REPEATS") {
                self.pos += 1;
                self.number("REPEATS")?;
                if !self.is_word("TIMES") {
                    return self.err("expected TIMES after REPEATS n");
                }
                self.pos += 1;
                self.note("REPEATS qualifier ignored (one occurrence matches)");
            } else if self.is_word("START") {
                self.pos += 1;
                self.timestamp("START")?;
                if !self.is_word("STOP") {
                    return self.err("expected STOP after START t'…'");
                }
                self.pos += 1;
                self.timestamp("STOP")?;
                self.note("START/STOP qualifier ignored (use valid_from/valid_until)");
            } else {
                return Ok(alts);
            }
        }
    }
    fn number(&mut self, what: &str) -> Result<(), PatternError> {
        match self.peek() {
            Some(Tok::Lit(Literal::Int(_) | Literal::Float(_))) => {
                self.pos += 1;
                Ok(())
            }
            _ => self.err(format!("expected a number after {what}")),
        }
    }
    fn timestamp(&mut self, what: &str) -> Result<(), PatternError> {
        match self.peek() {
            Some(Tok::Lit(Literal::Timestamp(_))) => {
                self.pos += 1;
                Ok(())
            }
            _ => self.err(format!("expected t'…' after {what}")),
        }
    }
    fn obs_primary(&mut self) -> Result<Dnf, PatternError> {
        self.enter()?;
        let r = match self.peek() {
            Some(Tok::LBracket) => {
                self.pos += 1;
                let d = self.cmp_or()?;
                self.expect(Tok::RBracket, "`]` closing the observation")?;
                Ok(d)
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let d = self.obs_or()?;
                self.expect(Tok::RParen, "`)`")?;
                Ok(d)
            }
            _ => self.err("expected `[` starting an observation"),
        };
        self.depth -= 1;
        r
    }
    fn note(&mut self, s: &str) {
        if !self.downgrades.iter().any(|d| d == s) {
            self.downgrades.push(s.to_string());
        }
    }

    fn cmp_or(&mut self) -> Result<Dnf, PatternError> {
        let mut alts = self.cmp_and()?;
        while self.is_word("OR") {
            self.pos += 1;
            alts.extend(self.cmp_and()?);
            check_size(&alts, self)?;
        }
        Ok(alts)
    }
    fn cmp_and(&mut self) -> Result<Dnf, PatternError> {
        let mut alts = self.cmp_primary()?;
        while self.is_word("AND") {
            self.pos += 1;
            let rhs = self.cmp_primary()?;
            alts = and_dnf(&alts, &rhs, self)?;
        }
        Ok(alts)
    }
    fn cmp_primary(&mut self) -> Result<Dnf, PatternError> {
        self.enter()?;
        let r = if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let d = self.cmp_or();
            d.and_then(|d| {
                self.expect(Tok::RParen, "`)`")?;
                Ok(d)
            })
        } else {
            self.comparison()
        };
        self.depth -= 1;
        r
    }
    fn comparison(&mut self) -> Result<Dnf, PatternError> {
        let Some(Tok::Path(object, path)) = self.peek().cloned() else {
            return self.err("expected an object path such as `ipv4-addr:value`");
        };
        self.pos += 1;
        let negated = if self.is_word("NOT") {
            self.pos += 1;
            true
        } else {
            false
        };
        if self.is_word("IN") {
            self.pos += 1;
            self.expect(Tok::LParen, "`(` after IN")?;
            let mut values = Vec::new();
            loop {
                match self.peek().cloned() {
                    Some(Tok::Lit(l)) => {
                        self.pos += 1;
                        values.push(l);
                    }
                    _ => return self.err("expected a literal in the IN list"),
                }
                if values.len() > MAX_CONJUNCTIONS {
                    return self.err("IN list too long");
                }
                match self.peek() {
                    Some(Tok::Comma) => self.pos += 1,
                    Some(Tok::RParen) => {
                        self.pos += 1;
                        break;
                    }
                    _ => return self.err("expected `,` or `)` in the IN list"),
                }
            }
            let mk = |value: Literal| Comparison {
                object: object.clone(),
                path: path.clone(),
                negated,
                op: CmpOp::Eq,
                value,
            };
            // `x IN (a, b)` is `x = a OR x = b`; `x NOT IN (a, b)` is
            // `x != a AND x != b`.
            return Ok(if negated {
                vec![values.into_iter().map(mk).collect()]
            } else {
                values.into_iter().map(|v| vec![mk(v)]).collect()
            });
        }
        let Some(Tok::Op(op)) = self.peek().cloned() else {
            return self.err("expected a comparison operator");
        };
        self.pos += 1;
        let Some(Tok::Lit(value)) = self.peek().cloned() else {
            return self.err("expected a literal value");
        };
        self.pos += 1;
        // `!=` is sugar for NOT =; NOT != is =.
        let (op, negated) = if op == CmpOp::Ne {
            (CmpOp::Eq, !negated)
        } else {
            (op, negated)
        };
        Ok(vec![vec![Comparison {
            object,
            path,
            negated,
            op,
            value,
        }]])
    }
}

fn check_size(d: &Dnf, p: &Parser) -> Result<(), PatternError> {
    if d.len() > MAX_CONJUNCTIONS {
        return p.err(format!(
            "pattern expands to more than {MAX_CONJUNCTIONS} alternatives"
        ));
    }
    Ok(())
}

fn and_dnf(a: &Dnf, b: &Dnf, p: &Parser) -> Result<Dnf, PatternError> {
    if a.len().saturating_mul(b.len()) > MAX_CONJUNCTIONS {
        return p.err(format!(
            "pattern expands to more than {MAX_CONJUNCTIONS} alternatives"
        ));
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            if x.len() + y.len() > MAX_ATOMS_PER_CONJUNCTION {
                return p.err("too many comparisons joined by AND");
            }
            let mut c = x.clone();
            c.extend(y.iter().cloned());
            out.push(c);
        }
    }
    Ok(out)
}

/// Parse a STIX 2.1 pattern.
pub fn parse(pattern: &str) -> Result<ParsedPattern, PatternError> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(PatternError {
            offset: MAX_PATTERN_LEN,
            message: format!("pattern longer than {MAX_PATTERN_LEN} bytes"),
        });
    }
    let toks = lex(pattern)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end: pattern.len(),
        depth: 0,
        downgrades: Vec::new(),
    };
    let alternatives = p.obs_or()?;
    if p.pos != p.toks.len() {
        return p.err("unexpected text after the pattern");
    }
    Ok(ParsedPattern {
        alternatives,
        downgrades: p.downgrades,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_and_compound() {
        let p = parse("[ipv4-addr:value = '198.51.100.1']").unwrap();
        assert_eq!(p.alternatives.len(), 1);
        assert_eq!(p.alternatives[0][0].object, "ipv4-addr");
        assert_eq!(p.alternatives[0][0].path, "value");
        let p = parse("[file:hashes.'SHA-256' = 'ab' OR file:hashes.MD5 = 'cd'] OR [domain-name:value = 'x.com']").unwrap();
        assert_eq!(p.alternatives.len(), 3);
        assert_eq!(p.alternatives[0][0].path, "hashes.SHA-256");
        assert!(p.downgrades.is_empty());
        let p = parse("[a:x = 1 AND (b:y = 2 OR b:z = 3)]").unwrap();
        assert_eq!(p.alternatives.len(), 2);
        assert_eq!(p.alternatives[1].len(), 2);
    }

    #[test]
    fn in_not_and_qualifiers() {
        let p = parse("[ipv4-addr:value IN ('1.1.1.1', '2.2.2.2')]").unwrap();
        assert_eq!(p.alternatives.len(), 2);
        let p = parse("[ipv4-addr:value NOT IN ('1.1.1.1', '2.2.2.2')]").unwrap();
        assert_eq!(p.alternatives.len(), 1);
        assert!(p.alternatives[0].iter().all(|c| c.negated));
        let p = parse("[x:v != 'a']").unwrap();
        assert!(p.alternatives[0][0].negated && p.alternatives[0][0].op == CmpOp::Eq);
        let p = parse("([a:b = 'x'] AND [c:d = 'y']) WITHIN 300 SECONDS").unwrap();
        assert_eq!(p.alternatives.len(), 2);
        assert_eq!(p.downgrades.len(), 2);
        let p = parse("[a:b = 'x'] START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z'")
            .unwrap();
        assert_eq!(p.downgrades.len(), 1);
    }

    #[test]
    fn escapes_and_paths() {
        let p = parse(r"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'it\'s']").unwrap();
        let c = &p.alternatives[0][0];
        assert_eq!(
            c.path,
            "extensions.http-request-ext.request_header.User-Agent"
        );
        assert_eq!(c.value, Literal::Str("it's".into()));
        let p = parse("[email-message:to_refs[*].value = 'a@b.c']").unwrap();
        assert_eq!(p.alternatives[0][0].path, "to_refs[*].value");
    }

    #[test]
    fn errors_have_offsets() {
        for bad in [
            "",
            "[",
            "[a:b = ]",
            "[a:b = 'x'",
            "a:b = 'x'",
            "[a:b ~ 'x']",
            "[a:b = 'x'] WITHIN",
            "[a:b IN ('x',]",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.offset <= bad.len(), "{bad}: {e}");
        }
        let deep = format!("{}[a:b = 'x']{}", "(".repeat(1000), ")".repeat(1000));
        assert!(parse(&deep).unwrap_err().message.contains("deeply"));
    }
}
