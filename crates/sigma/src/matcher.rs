//! Compiled string matchers. Needles are prepared once (lower-cased unless
//! `cased`, wildcards split into literal segments, substring finders built)
//! so matching an event is a handful of `memchr`/`memmem` calls.

use crate::pattern::{Pattern, Piece};
use aho_corasick::{AhoCorasick, Anchored, Input, StartKind};
use memchr::memmem;
use std::cell::RefCell;
use std::collections::HashSet;

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
    Contains(Box<memmem::Finder<'static>>),
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
        if p.contains(&Piece::One) {
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
            (1, true, true) => {
                StrPat::Contains(Box::new(memmem::Finder::new(lits[0]).into_owned()))
            }
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
            StrPat::Exact(n) => h.len() == n.len() && h == n.as_slice(),
            // Compare one byte before calling memcmp: most candidates differ there.
            StrPat::Prefix(n) => h.len() >= n.len() && h.first() == n.first() && h.starts_with(n),
            StrPat::Suffix(n) => h.len() >= n.len() && h.last() == n.last() && h.ends_with(n),
            StrPat::Contains(f) => f.find(h).is_some(),
            StrPat::Segments(s) => s.is_match(h),
            StrPat::Glob(p) => glob(p, h),
        }
    }

    /// A literal every matching value contains (the longest one), or `None`
    /// when the pattern can match values without any literal.
    pub(crate) fn required_literal(&self) -> Option<&[u8]> {
        let l: &[u8] = match self {
            StrPat::Any => return None,
            // Each literal piece of a glob occurs in every match as is.
            StrPat::Glob(p) => p
                .iter()
                .filter_map(|x| match x {
                    Piece::Lit(l) => Some(l.as_slice()),
                    _ => None,
                })
                .max_by_key(|x| x.len())?,
            StrPat::Exact(n) | StrPat::Prefix(n) | StrPat::Suffix(n) => n,
            StrPat::Contains(f) => f.needle(),
            StrPat::Segments(s) => s
                .head
                .as_deref()
                .into_iter()
                .chain(s.tail.as_deref())
                .chain(s.middle.iter().map(|f| f.needle()))
                .max_by_key(|x| x.len())?,
        };
        (!l.is_empty()).then_some(l)
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
///
/// OR-ed sets with many needles of one shape (SigmaHQ rules often list
/// dozens of `endswith` image names) are grouped so one pass answers for
/// the group: a hash set for exact values, anchored automata for prefixes
/// and (over the reversed value) suffixes, one automaton for substrings.
#[derive(Debug, Clone)]
pub(crate) struct StrSet {
    pats: Vec<StrPat>,
    exact: Option<HashSet<Vec<u8>>>,
    prefix: Option<AhoCorasick>,
    suffix: Option<AhoCorasick>,
    bulk: Option<AhoCorasick>,
    bulk_needles: Vec<Vec<u8>>,
    /// One required literal per pattern (before grouping): a value matching
    /// the set contains at least one of them. Empty when some pattern has none.
    pub(crate) gate: Vec<Vec<u8>>,
    /// Substring needles answered by the rule set's per-field scan
    /// (global needle ids), see [`StrSet::extract_contains`].
    pub(crate) ids: Vec<u32>,
    all: bool,
}

/// Group needles of one shape from this many up.
const BULK_MIN: usize = 4;

fn anchored(needles: &[Vec<u8>]) -> Option<AhoCorasick> {
    AhoCorasick::builder()
        .start_kind(StartKind::Anchored)
        .build(needles)
        .ok()
}

thread_local! {
    static REVERSED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl StrSet {
    pub(crate) fn new(pats: Vec<StrPat>, all: bool) -> StrSet {
        let gate: Option<Vec<Vec<u8>>> = pats
            .iter()
            .map(|p| p.required_literal().map(<[u8]>::to_vec))
            .collect();
        let mut set = StrSet {
            gate: gate.unwrap_or_default(),
            pats,
            exact: None,
            prefix: None,
            suffix: None,
            bulk: None,
            bulk_needles: Vec::new(),
            ids: Vec::new(),
            all,
        };
        if all {
            return set;
        }
        let exact: Vec<Vec<u8>> = set
            .pats
            .iter()
            .filter_map(|p| {
                if let StrPat::Exact(n) = p {
                    Some(n.clone())
                } else {
                    None
                }
            })
            .collect();
        if exact.len() >= BULK_MIN {
            set.exact = Some(exact.into_iter().collect());
            set.pats.retain(|p| !matches!(p, StrPat::Exact(_)));
        }
        let prefixes: Vec<Vec<u8>> = set
            .pats
            .iter()
            .filter_map(|p| {
                if let StrPat::Prefix(n) = p {
                    Some(n.clone())
                } else {
                    None
                }
            })
            .collect();
        if prefixes.len() >= BULK_MIN
            && let Some(ac) = anchored(&prefixes)
        {
            set.prefix = Some(ac);
            set.pats.retain(|p| !matches!(p, StrPat::Prefix(_)));
        }
        let suffixes: Vec<Vec<u8>> = set
            .pats
            .iter()
            .filter_map(|p| {
                if let StrPat::Suffix(n) = p {
                    Some(n.iter().rev().copied().collect())
                } else {
                    None
                }
            })
            .collect();
        if suffixes.len() >= BULK_MIN
            && let Some(ac) = anchored(&suffixes)
        {
            set.suffix = Some(ac);
            set.pats.retain(|p| !matches!(p, StrPat::Suffix(_)));
        }
        let needles: Vec<&[u8]> = set
            .pats
            .iter()
            .filter_map(StrPat::contains_needle)
            .collect();
        if needles.len() >= BULK_MIN
            && let Ok(ac) = AhoCorasick::new(&needles)
        {
            set.bulk = Some(ac);
            set.bulk_needles = needles.iter().map(|n| n.to_vec()).collect();
            set.pats.retain(|p| p.contains_needle().is_none());
        }
        set
    }

    /// Remove the substring needles so the rule set can answer them all
    /// with one scan per field; the caller stores their ids in `ids`.
    pub(crate) fn extract_contains(&mut self) -> Vec<Vec<u8>> {
        let mut out = std::mem::take(&mut self.bulk_needles);
        self.bulk = None;
        self.pats.retain(|p| match p.contains_needle() {
            Some(n) => {
                out.push(n.to_vec());
                false
            }
            None => true,
        });
        out
    }

    /// Match, with substring needles answered by `hit(id)`.
    #[inline]
    pub(crate) fn is_match_with(&self, h: &[u8], hit: impl Fn(u32) -> bool) -> bool {
        if self.all {
            return self.ids.iter().all(|&i| hit(i)) && self.pats.iter().all(|p| p.is_match(h));
        }
        self.ids.iter().any(|&i| hit(i)) || self.is_match(h)
    }

    #[inline]
    pub(crate) fn is_match(&self, h: &[u8]) -> bool {
        if self.all {
            return self.pats.iter().all(|p| p.is_match(h));
        }
        if let Some(ex) = &self.exact
            && ex.contains(h)
        {
            return true;
        }
        if let Some(ac) = &self.prefix
            && ac.is_match(Input::new(h).anchored(Anchored::Yes))
        {
            return true;
        }
        if let Some(ac) = &self.suffix {
            let hit = REVERSED.with(|r| {
                let Ok(mut r) = r.try_borrow_mut() else {
                    return false;
                };
                r.clear();
                r.extend(h.iter().rev());
                ac.is_match(Input::new(&r[..]).anchored(Anchored::Yes))
            });
            if hit {
                return true;
            }
        }
        if let Some(ac) = &self.bulk
            && ac.is_match(h)
        {
            return true;
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
    fn grouped_sets_equal_linear_or() {
        let vals = [
            "\\cmd.exe",
            "\\powershell.exe",
            "\\pwsh.exe",
            "\\wscript.exe",
            "\\x.exe",
        ];
        for (shape, wrap) in [("suffix", "*{}"), ("prefix", "{}*"), ("exact", "{}")] {
            let pats: Vec<StrPat> = vals
                .iter()
                .map(|v| StrPat::compile(&parse_wildcards(&wrap.replace("{}", v)), true))
                .collect();
            let grouped = StrSet::new(pats.clone(), false);
            assert!(grouped.pats.is_empty(), "{shape} not grouped");
            for h in [
                "c:\\windows\\cmd.exe",
                "\\pwsh.exe",
                "\\pwsh.exe.bak",
                "x\\x.exe",
                "",
                "\\x.ex",
            ] {
                let linear = pats.iter().any(|p| p.is_match(h.as_bytes()));
                assert_eq!(grouped.is_match(h.as_bytes()), linear, "{shape} on {h}");
            }
        }
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
