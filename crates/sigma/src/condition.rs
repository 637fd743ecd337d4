//! The `condition` language (rules specification, Condition): `and`, `or`,
//! `not`, parentheses, `1 of pattern`, `all of pattern`, `N of pattern`,
//! `them`. Precedence from least to most binding: or, and, not, x of,
//! parentheses.

/// How many searches of a group must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// `all of`.
    All,
    /// `N of` (`1 of` is the common case).
    AtLeast(u32),
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// A search identifier.
    Ident(String),
    /// `x of pattern` (`pattern` is `None` for `them`).
    Of(Quantifier, Option<String>),
    /// Conjunction.
    And(Vec<Cond>),
    /// Disjunction.
    Or(Vec<Cond>),
    /// Negation.
    Not(Box<Cond>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Of,
    Word(String),
}

/// Nesting limit: conditions are short; deep nesting is hostile input.
const MAX_DEPTH: usize = 64;

fn tokenize(s: &str) -> Result<Vec<Tok>, ConditionError> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' {
            out.push(Tok::LParen);
            chars.next();
        } else if c == ')' {
            out.push(Tok::RParen);
            chars.next();
        } else if c.is_alphanumeric() || matches!(c, '_' | '*' | '-' | '.' | '?') {
            let mut end = i;
            while let Some(&(j, d)) = chars.peek() {
                if d.is_alphanumeric() || matches!(d, '_' | '*' | '-' | '.' | '?') {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let w = &s[i..end];
            out.push(match w.to_ascii_lowercase().as_str() {
                "and" => Tok::And,
                "or" => Tok::Or,
                "not" => Tok::Not,
                "of" => Tok::Of,
                _ => Tok::Word(w.to_string()),
            });
        } else if c == '|' {
            return Err(ConditionError::Aggregation { offset: i });
        } else {
            return Err(ConditionError::UnexpectedChar {
                found: c,
                offset: i,
            });
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn enter(&mut self) -> Result<(), ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ConditionError::TooDeep);
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Cond, ConditionError> {
        self.enter()?;
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.next();
            items.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Cond::Or(Vec::new()))
        } else {
            Cond::Or(items)
        })
    }

    fn and(&mut self) -> Result<Cond, ConditionError> {
        let mut items = vec![self.not()?];
        while self.peek() == Some(&Tok::And) {
            self.next();
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Cond::And(Vec::new()))
        } else {
            Cond::And(items)
        })
    }

    fn not(&mut self) -> Result<Cond, ConditionError> {
        if self.peek() == Some(&Tok::Not) {
            self.next();
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Cond, ConditionError> {
        match self.next() {
            Some(Tok::LParen) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(inner),
                    _ => Err(ConditionError::MissingParen),
                }
            }
            Some(Tok::Word(w)) => {
                if self.peek() == Some(&Tok::Of) {
                    self.next();
                    let q = if w.eq_ignore_ascii_case("all") {
                        Quantifier::All
                    } else {
                        match w.parse::<u32>() {
                            Ok(n) if n > 0 => Quantifier::AtLeast(n),
                            _ => {
                                return Err(ConditionError::BadQuantifier(w));
                            }
                        }
                    };
                    match self.next() {
                        Some(Tok::Word(p)) if p.eq_ignore_ascii_case("them") => {
                            Ok(Cond::Of(q, None))
                        }
                        Some(Tok::Word(p)) => Ok(Cond::Of(q, Some(p))),
                        _ => Err(ConditionError::OfWithoutPattern(w)),
                    }
                } else {
                    Ok(Cond::Ident(w))
                }
            }
            Some(t) => Err(ConditionError::Unexpected(format!("{t:?}"))),
            None => Err(ConditionError::UnexpectedEnd),
        }
    }
}

/// Parse a condition string.
pub fn parse(s: &str) -> Result<Cond, ConditionError> {
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err(ConditionError::Empty);
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let c = p.or()?;
    if p.pos < p.toks.len() {
        return Err(ConditionError::Trailing(format!("{:?}", p.toks[p.pos])));
    }
    Ok(c)
}

/// Why a condition could not be parsed (the loader adds file, rule and
/// construct).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// Nothing to parse.
    #[error("empty condition")]
    Empty,
    /// A legacy `| count() …` aggregation where a plain condition is expected.
    #[error(
        "`|` at offset {offset}: aggregation expressions (`| count() …`) are deprecated; use a correlation rule"
    )]
    Aggregation {
        /// Byte offset of the `|`.
        offset: usize,
    },
    /// A character no token starts with.
    #[error("unexpected character `{found}` at offset {offset}")]
    UnexpectedChar {
        /// The character.
        found: char,
        /// Its byte offset.
        offset: usize,
    },
    /// Deeper than the nesting limit (hostile input).
    #[error("nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    /// `(` without `)`.
    #[error("missing `)`")]
    MissingParen,
    /// `x of` where x is neither `all` nor a positive number.
    #[error("`{0} of`: expected `all` or a positive number")]
    BadQuantifier(String),
    /// `x of` at the end, or before something other than a pattern.
    #[error("`{0} of` must be followed by a search pattern or `them`")]
    OfWithoutPattern(String),
    /// A token where an expression should start.
    #[error("unexpected {0}")]
    Unexpected(String),
    /// The condition stops in the middle of an expression.
    #[error("unexpected end of condition")]
    UnexpectedEnd,
    /// More after a complete expression.
    #[error("unexpected {0} after a complete expression")]
    Trailing(String),
}

/// Whether a search identifier matches an `x of` pattern (`*` wildcards).
pub(crate) fn pattern_matches(pattern: &str, name: &str) -> bool {
    crate::matcher::simple_glob(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    fn id(s: &str) -> Cond {
        Cond::Ident(s.into())
    }

    // Spec: "Operator Precedence (least to most binding): or, and, not, x of, ( expression )".
    #[test]
    fn precedence_not_and_or() {
        assert_eq!(
            parse("a or b and not c").unwrap(),
            Cond::Or(vec![
                id("a"),
                Cond::And(vec![id("b"), Cond::Not(Box::new(id("c")))])
            ])
        );
        assert_eq!(
            parse("not a and b").unwrap(),
            Cond::And(vec![Cond::Not(Box::new(id("a"))), id("b")])
        );
        assert_eq!(
            parse("(a or b) and c").unwrap(),
            Cond::And(vec![Cond::Or(vec![id("a"), id("b")]), id("c")])
        );
    }

    #[test]
    fn of_forms() {
        assert_eq!(
            parse("1 of selection* and not all of filter_*").unwrap(),
            Cond::And(vec![
                Cond::Of(Quantifier::AtLeast(1), Some("selection*".into())),
                Cond::Not(Box::new(Cond::Of(Quantifier::All, Some("filter_*".into()))))
            ])
        );
        assert_eq!(
            parse("all of them").unwrap(),
            Cond::Of(Quantifier::All, None)
        );
        assert_eq!(
            parse("2 of sel_*").unwrap(),
            Cond::Of(Quantifier::AtLeast(2), Some("sel_*".into()))
        );
    }

    #[test]
    fn rejects_malformed() {
        assert!(parse("a and").is_err());
        assert!(parse("(a or b").is_err());
        assert!(parse("a b").is_err());
        assert!(parse("selection | count() > 5").is_err());
        assert!(parse("0 of them").is_err());
        assert_eq!(parse(&"(".repeat(500)), Err(ConditionError::TooDeep));
        assert_eq!(
            parse("a of them").unwrap_err().to_string(),
            "`a of`: expected `all` or a positive number"
        );
        assert!(parse(&"not ".repeat(500)).is_err());
    }
}
