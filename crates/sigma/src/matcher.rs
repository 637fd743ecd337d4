//! Compiled string matchers. Needles are prepared once (lower-cased unless
//! `cased`, wildcards split into literal segments, substring finders built)
//! so matching an event is a handful of `memchr`/`memmem` calls.

use crate::pattern::{Pattern, Piece};
use aho_corasick::AhoCorasick;
use memchr::memmem;

/// One compiled string pattern, matched against a whole field value.
#[derive(Debug, Clone)]
pub(crate) enum StrPat {
    /// `*` alone: any value.
    Any,
    /// Whole value equal.
    Exact(Vec<u8>),
    /// Value starts with.
    Prefix(Vec<u8>),
    /// Value ends with.
    Suffix(Vec<u8>),
    /// Value contains.
    Contains(memmem::Finder<'static>),
    /// Literal segments separated by `*` only.
    Segments(Segments),
    /// General glob with `?`.
    Glob(Vec<Piece>),
}

/// `a*b*c` style globs: anchored head and tail, middle found in order.
#[derive(Debug, Clone)]
pub(crate) struct Segments {
    head: Option<Vec<u8>>,
    tail: Option<Vec<u8>>,
    middle: Vec<memmem::Finder<'static>>,
}

impl StrPat {
    /// Compile a pattern; `lower` lower-cases literals for case-insensitive matching.
    pub(crate) fn compile(p: &Pattern, lower: bool) -> StrPat {
        let p: Vec<Piece> = p
            .iter()
            .map(|x| match x {
                Piece::Lit(l) if lower => Piece::Lit(crate::pattern::lower_bytes(l)),
                other => other.clone(),
            })
            .collect();
        if p.iter().any(|x| *x == Piece::One) {
            return StrPat::Glob(p);
        }
        let starts_star = p.first() == Some(&Piece::Star);
        let ends_star = p.len() > 1 && p.last() == Some(&Piece::Star);
        let lits: Vec<&Vec<u8>> = p
            .iter()
            .filter_map(|x| if let Piece::Lit(l) = x { Some(l) } else { None })
            .collect();
        match (lits.len(), starts_star, ends_star) {
            (0, true, _) => StrPat::Any,
            (0, false, _) => StrPat::Exact(Vec::new()),
            (1, false, false) => StrPat::Exact(lits[0].clone()),
            (1, false, true) => StrPat::Prefix(lits[0].clone()),
            (1, true, false) => StrPat::Suffix(lits[0].clone()),
            (1, true, true) => StrPat::Contains(memmem::Finder::new(lits[0]).into_owned()),
            _ => {
                let head = (!starts_star).then(|| lits[0].clone());
                let tail = (!ends_star).then(|| lits[lits.len() - 1].clone());
                let lo = usize::from(!starts_star);
                let hi = lits.len() - usize::from(!ends_star);
                let middle = lits[lo..hi]
                    .iter()
                    .map(|l| memmem::Finder::new(l.as_slice()).into_owned())
                    .collect();
                StrPat::Segments(Segments { head, tail, middle })
            }
        }
    }

    /// Whether `h` matches.
    #[inline]
    pub(crate) fn is_match(&self, h: &[u8]) -> bool {
        match self {
            StrPat::Any => true,
            StrPat::Exact(n) => h == n.as_slice(),
            StrPat::Prefix(n) => h.starts_with(n),
            StrPat::Suffix(n) => h.ends_with(n),
            StrPat::Contains(f) => f.find(h).is_some(),
            StrPat::Segments(s) => s.is_match(h),
            StrPat::Glob(p) => glob(p, h),
        }
    }

    /// The literal a `contains` pattern searches for, for bulk automata.
    pub(crate) fn contains_needle(&self) -> Option<&[u8]> {
        match self {
            StrPat::Contains(f) => Some(f.needle()),
            _ => None,
        }
    }
}

impl Segments {
    fn is_match(&self, h: &[u8]) -> bool {
        let mut lo = 0;
        let mut hi = h.len();
        if let Some(head) = &self.head {
            if !h.starts_with(head) {
                return false;
            }
            lo = head.len();
        }
        if let Some(tail) = &self.tail {
            if hi < lo + tail.len() || !h.ends_with(tail) {
                return false;
            }
            hi -= tail.len();
        }
        // Leftmost placement of each middle literal is optimal for `*`-only globs.
        for f in &self.middle {
            match f.find(&h[lo..hi]) {
                Some(i) => lo += i + f.needle().len(),
                None => return false,
            }
        }
        true
    }
}

fn char_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Glob with `*` and `?` (one character) over bytes; iterative with single
/// star backtracking, so O(len(h) * len(p)) at worst, never exponential.
fn glob(p: &[Piece], h: &[u8]) -> bool {
    // Flatten to tokens: Some(byte) literal, None for `?`, and star markers.
    #[derive(Clone, Copy, PartialEq)]
    enum T {
        B(u8),
        One,
        Star,
    }
    let toks: Vec<T> = p
        .iter()
        .flat_map(|x| -> Vec<T> {
            match x {
                Piece::Lit(l) => l.iter().map(|&b| T::B(b)).collect(),
                Piece::One => vec![T::One],
                Piece::Star => vec![T::Star],
            }
        })
        .collect();
    let (mut pi, mut hi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while hi < h.len() {
        match toks.get(pi) {
            Some(T::B(b)) if *b == h[hi] => {
                pi += 1;
                hi += 1;
                continue;
            }
            Some(T::One) => {
                pi += 1;
                hi += char_len(h[hi]);
                continue;
            }
            Some(T::Star) => {
                star = Some((pi, hi));
                pi += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, sh)) => {
                let next = sh + char_len(h[sh]);
                star = Some((sp, next));
                pi = sp + 1;
                hi = next;
            }
            None => return false,
        }
    }
    hi == h.len() && toks[pi.min(toks.len())..].iter().all(|t| *t == T::Star)
}

/// Byte glob for search-identifier patterns (`selection_*`).
pub(crate) fn simple_glob(p: &[u8], h: &[u8]) -> bool {
    let pieces: Vec<Piece> = p
        .iter()
        .map(|&b| match b {
            b'*' => Piece::Star,
            b'?' => Piece::One,
            c => Piece::Lit(vec![c]),
        })
        .collect();
    glob(&pieces, h)
}

/// A set of patterns for one field, OR-ed or AND-ed (`|all`).
#[derive(Debug, Clone)]
pub(crate) struct StrSet {
    pats: Vec<StrPat>,
    /// When OR-ing many `contains` needles, one automaton pass replaces them.
    bulk: Option<AhoCorasick>,
    all: bool,
}

/// Use an automaton from this many `contains` needles up.
const BULK_MIN: usize = 8;

impl StrSet {
    pub(crate) fn new(pats: Vec<StrPat>, all: bool) -> StrSet {
        let mut set = StrSet {
            pats,
            bulk: None,
            all,
        };
        if !all {
            let needles: Vec<&[u8]> = set
                .pats
                .iter()
                .filter_map(StrPat::contains_needle)
                .collect();
            if needles.len() >= BULK_MIN {
                if let Ok(ac) = AhoCorasick::new(&needles) {
                    set.bulk = Some(ac);
                    set.pats.retain(|p| p.contains_needle().is_none());
                }
            }
        }
        set
    }

    #[inline]
    pub(crate) fn is_match(&self, h: &[u8]) -> bool {
        if self.all {
            return self.pats.iter().all(|p| p.is_match(h));
        }
        if let Some(ac) = &self.bulk {
            if ac.is_match(h) {
                return true;
            }
        }
        self.pats.iter().any(|p| p.is_match(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::parse_wildcards;

    fn m(p: &str, h: &str) -> bool {
        StrPat::compile(&parse_wildcards(p), true).is_match(h.to_lowercase().as_bytes())
    }

    // Rules specification, "String Wildcard": `?` one character, `*` any run.
    #[test]
    fn wildcards() {
        assert!(m("prog?.exe", "progA.exe"));
        assert!(!m("prog?.exe", "progAB.exe"));
        assert!(m("antivirus_V*.exe", "antivirus_V21.2.1.exe"));
        assert!(m("*\\cmd.exe", "C:\\Windows\\System32\\cmd.exe"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXcYYb"));
        assert!(m("*ab*ab*", "xabyab"));
        assert!(!m("ab*ba", "aba"));
        assert!(m("*", "anything"));
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(m("?é*", "xÉtoile"));
        assert!(m("*a?c*", "zzabczz"));
    }

    #[test]
    fn escaped_wildcards_are_literal() {
        assert!(m(r"what\?", "what?"));
        assert!(!m(r"what\?", "whatx"));
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "axxb"));
    }

    #[test]
    fn bulk_automaton_equals_linear_or() {
        let needles: Vec<String> = (0..20).map(|i| format!("needle{i}x")).collect();
        let pats: Vec<StrPat> = needles
            .iter()
            .map(|n| StrPat::compile(&parse_wildcards(&format!("*{n}*")), true))
            .collect();
        let set = StrSet::new(pats, false);
        assert!(set.bulk.is_some());
        assert!(set.is_match(b"aaa needle13x bbb"));
        assert!(!set.is_match(b"aaa needle13 bbb"));
    }
}
