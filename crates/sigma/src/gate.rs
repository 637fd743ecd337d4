//! Rule gates: which rules are worth evaluating for an event.
//!
//! Most Sigma rules have a necessary operand whose truth implies a literal:
//! `Image|endswith: '\x.exe'` needs the substring `\x.exe` in `Image`,
//! `EventID: 4624` needs the value 4624. A rule's *gate* is such a set of
//! keys, at least one of which must be present for the rule to match.
//!
//! Gates are inverted: every gate key posts the variants it gates, so an
//! event costs one substring scan per gated field plus a hash lookup per
//! gated numeric value, and only variants reached through a posting (or
//! without any gate) are evaluated. Nothing is evaluated per non-matching
//! rule, which is what makes thousands of rules cheap.

use crate::compile::{Check, Node, Op, ValueTest};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash (rustc's hasher): a multiply-rotate per word. Only for keys that
/// are either built from rules or in bounded maps, so hash flooding by
/// evidence cannot grow any chain without bound.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Hash maps keyed by rule-derived data.
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// One key of a gate, before interning.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Key {
    /// A lower-case substring of the field's value.
    Lit(u32, Vec<u8>),
    /// A numeric field value (normalised `f64` bits).
    Num(u32, u64),
    /// A non-numeric field value equal to this lower-case text.
    Text(u32, Vec<u8>),
}

/// `f64` bits with `-0.0` folded into `0.0`, so equal numbers hash equal.
#[inline]
pub(crate) fn num_bits(v: f64) -> u64 {
    if v == 0.0 { 0 } else { v.to_bits() }
}

/// Keys of which at least one must be present for `n` to be true. Keyword
/// literals are keys of the pseudo-accessor `kw`.
pub(crate) fn gate_of(n: &Node, checks: &[Check], kw: u32) -> Option<Vec<Key>> {
    match n {
        Node::Check(i) => match &checks[*i as usize] {
            // A keyword matches some leaf value; any of its literals must occur in one.
            Check::Keywords { tests, .. } => {
                let mut out = Vec::new();
                for t in tests {
                    match t {
                        ValueTest::Str(set) if !set.gate.is_empty() => {
                            out.extend(set.gate.iter().map(|l| Key::Lit(kw, l.clone())));
                        }
                        _ => return None,
                    }
                }
                (!out.is_empty()).then_some(out)
            }
            Check::Field {
                acc,
                tests,
                neq: false,
                ..
            } => {
                // With `all`, every test holds, so in particular any one does:
                // the union of the tests' keys is necessary either way.
                let mut out = Vec::new();
                for t in tests {
                    match t {
                        ValueTest::Str(set) if !set.gate.is_empty() => {
                            out.extend(set.gate.iter().map(|l| Key::Lit(*acc, l.clone())));
                        }
                        // Matched on the original text; the literals are
                        // lower-case and the scan sees the lower-cased text.
                        ValueTest::Regex(_, lits) if !lits.is_empty() => {
                            out.extend(lits.iter().map(|l| Key::Lit(*acc, l.clone())));
                        }
                        // A numeric field equals `v`; any other value (and an
                        // empty/null one, as "") equals `text`.
                        ValueTest::Num {
                            op: Op::Eq,
                            v,
                            text,
                        } if !text.is_empty() && !v.is_nan() => {
                            out.push(Key::Num(*acc, num_bits(*v)));
                            out.push(Key::Text(*acc, text.clone()));
                        }
                        _ => return None,
                    }
                }
                (!out.is_empty()).then_some(out)
            }
            _ => None,
        },
        // Any necessary operand gates a conjunction; pick the one with fewest keys.
        Node::And(items) => items
            .iter()
            .filter_map(|x| gate_of(x, checks, kw))
            .min_by_key(Vec::len),
        // A disjunction needs every operand gated.
        Node::Or(items) | Node::AtLeast(_, items) => {
            let mut out = Vec::new();
            for x in items {
                out.extend(gate_of(x, checks, kw)?);
            }
            Some(out)
        }
        Node::Not(_) | Node::Const(_) => None,
    }
}

/// Up to two independent necessary gates of `n`, fewest keys first: a
/// conjunction's operands (flattened through nested conjunctions) are each
/// necessary, so a variant can require a hit in both of two of them.
pub(crate) fn gates_of(n: &Node, checks: &[Check], kw: u32) -> Vec<Vec<Key>> {
    fn necessary(n: &Node, checks: &[Check], kw: u32, out: &mut Vec<Vec<Key>>) {
        match n {
            Node::And(items) => {
                for x in items {
                    necessary(x, checks, kw, out);
                }
            }
            other => out.extend(gate_of(other, checks, kw)),
        }
    }
    let mut all = Vec::new();
    necessary(n, checks, kw, &mut all);
    all.sort_by_key(Vec::len);
    // Two gates on the same field and keys would be redundant; keep distinct ones.
    all.dedup();
    all.truncate(2);
    all
}

/// Marks a posting for the second of a variant's two gates.
pub(crate) const SECOND: u32 = 1 << 31;

/// Postings of exact field values (numbers and texts) for one accessor.
#[derive(Default)]
pub(crate) struct ValueGate {
    pub acc: u32,
    pub nums: FxMap<u64, Vec<u32>>,
    pub texts: FxMap<Vec<u8>, Vec<u32>>,
}

/// Where each variant's gate lives (for per-candidate-set plans).
#[derive(Default, Clone)]
pub(crate) struct VariantGate {
    /// Accessors whose substring scan can open the gate.
    pub scan_accs: Vec<u32>,
    /// Indexes into [`GateIndex::values`].
    pub value_gates: Vec<u32>,
    /// Whether the variant has a second gate that must open too.
    pub two: bool,
    /// Whether a gate has keyword literals.
    pub kw: bool,
    /// Global needle ids of the keyword literals (sorted, unique).
    pub kw_lits: Vec<u32>,
}

impl VariantGate {
    pub(crate) fn is_gated(&self) -> bool {
        !self.scan_accs.is_empty() || !self.value_gates.is_empty() || self.kw
    }
}

/// The inverted gates of a rule set.
#[derive(Default)]
pub(crate) struct GateIndex {
    /// Per global substring needle id: variants it opens.
    pub lit_post: Vec<Vec<u32>>,
    /// Exact-value gates, one per accessor that has any.
    pub values: Vec<ValueGate>,
    /// Per variant.
    pub of_variant: Vec<VariantGate>,
}

impl GateIndex {
    /// Record that variant `var` is opened by `keys`; `intern` turns a
    /// substring literal of an accessor into its global needle id.
    pub(crate) fn add(
        &mut self,
        var: u32,
        kw: u32,
        groups: Vec<Vec<Key>>,
        mut intern: impl FnMut(u32, Vec<u8>) -> u32,
    ) {
        let mut g = VariantGate {
            two: groups.len() > 1,
            ..VariantGate::default()
        };
        for (gi, keys) in groups.into_iter().take(2).enumerate() {
            let var = if gi == 0 { var } else { var | SECOND };
            self.add_keys(var, kw, keys, &mut g, &mut intern);
        }
        let i = (var & !SECOND) as usize;
        if self.of_variant.len() <= i {
            self.of_variant.resize_with(i + 1, VariantGate::default);
        }
        self.of_variant[i] = g;
    }

    fn add_keys(
        &mut self,
        var: u32,
        kw: u32,
        keys: Vec<Key>,
        g: &mut VariantGate,
        intern: &mut impl FnMut(u32, Vec<u8>) -> u32,
    ) {
        for k in keys {
            match k {
                Key::Lit(acc, lit) => {
                    let id = intern(acc, lit) as usize;
                    if self.lit_post.len() <= id {
                        self.lit_post.resize_with(id + 1, Vec::new);
                    }
                    push_unique(&mut self.lit_post[id], var);
                    if acc == kw {
                        g.kw = true;
                        if let Err(i) = g.kw_lits.binary_search(&(id as u32)) {
                            g.kw_lits.insert(i, id as u32);
                        }
                    } else {
                        push_unique(&mut g.scan_accs, acc);
                    }
                }
                Key::Num(acc, bits) => {
                    let vg = self.value_gate(acc);
                    push_unique(self.values[vg].nums.entry(bits).or_default(), var);
                    push_unique(&mut g.value_gates, vg as u32);
                }
                Key::Text(acc, text) => {
                    let vg = self.value_gate(acc);
                    push_unique(self.values[vg].texts.entry(text).or_default(), var);
                    push_unique(&mut g.value_gates, vg as u32);
                }
            }
        }
    }

    fn value_gate(&mut self, acc: u32) -> usize {
        if let Some(i) = self.values.iter().position(|v| v.acc == acc) {
            return i;
        }
        self.values.push(ValueGate {
            acc,
            ..ValueGate::default()
        });
        self.values.len() - 1
    }

    /// The gate of variant `v` (ungated when it has none).
    pub(crate) fn of(&self, v: u32) -> Option<&VariantGate> {
        self.of_variant.get(v as usize).filter(|g| g.is_gated())
    }
}

fn push_unique(v: &mut Vec<u32>, x: u32) {
    if v.last() != Some(&x) && !v.contains(&x) {
        v.push(x);
    }
}

/// A fixed-size bit set over variant indices.
pub(crate) fn set_bit(bits: &mut [u64], i: u32) {
    if let Some(w) = bits.get_mut(i as usize / 64) {
        *w |= 1 << (i % 64);
    }
}

/// Record a posting in `marks`: two bit sets of `words` words each, one per
/// gate of a variant.
#[inline]
pub(crate) fn mark(marks: &mut [u64], words: usize, posting: u32) {
    let (v, off) = if posting & SECOND != 0 {
        (posting & !SECOND, words)
    } else {
        (posting, 0)
    };
    if let Some(w) = marks.get_mut(off + v as usize / 64) {
        *w |= 1 << (v % 64);
    }
}

#[cfg(test)]
mod tests {
    use crate::{LoadOptions, RuleIdx, RuleSet};
    use kahu_event::{Event, Location, LogSource, Provenance, Value};

    fn set(detection: &str) -> (RuleSet, RuleSet) {
        let yaml = format!(
            "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  product: test\ndetection:\n{detection}\n"
        );
        let load = || {
            let r = RuleSet::from_yaml(&[("inline", &yaml)], &LoadOptions::default());
            assert!(r.errors.is_empty(), "{:?}", r.errors);
            r.ruleset
        };
        let mut ungated = load();
        ungated.set_gating(false);
        (load(), ungated)
    }

    fn ev(fields: &[(&str, Value)]) -> Event {
        let mut e = Event::new(Provenance::new("t".into(), Location::Line(1)));
        e.logsource = LogSource::product("test");
        for (k, v) in fields {
            e.fields.insert(k, v.clone());
        }
        e
    }

    /// Gated and ungated agree, and both give `want`.
    fn check(sets: &(RuleSet, RuleSet), e: &Event, want: bool) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        sets.0.matches(e, &mut a);
        sets.1.matches(e, &mut b);
        assert_eq!(b == vec![RuleIdx(0)], want, "ungated on {e:?}");
        assert_eq!(a, b, "gated differs on {e:?}");
    }

    // Rules spec: numbers match numerically on numeric fields, as text otherwise.
    #[test]
    fn numeric_value_gates_follow_number_semantics() {
        let s = set("  sel:\n    EventID: 4624\n    Logon: x\n  condition: sel");
        let x = ("Logon", Value::str("x"));
        for (v, want) in [
            (Value::Int(4624), true),
            (Value::str("4624"), true),
            (Value::str("04624"), true),
            (Value::str("0x1210"), true),
            (Value::Float(4624.0), true),
            (Value::str("4625"), false),
            (Value::str("a4624"), false),
            (Value::Null, false),
        ] {
            check(&s, &ev(&[("EventID", v), x.clone()]), want);
        }
        check(&s, &ev(&[x]), false);
    }

    // Two necessary selections: both gates must open.
    #[test]
    fn conjunction_needs_both_gates() {
        let s = set(
            "  a:\n    Image|endswith: '\\x.exe'\n  b:\n    CommandLine|contains: ' -y '\n  f:\n    User: z\n  condition: a and b and not f",
        );
        let img = ("Image", Value::str("C:\\X.EXE"));
        let cli = ("CommandLine", Value::str("x -Y 1"));
        check(&s, &ev(&[img.clone(), cli.clone()]), true);
        check(&s, &ev(std::slice::from_ref(&img)), false);
        check(&s, &ev(std::slice::from_ref(&cli)), false);
        check(&s, &ev(&[img, cli, ("User", Value::str("Z"))]), false);
    }

    // Keywords match any leaf, case-insensitively, including nested and
    // non-ASCII values (the Kelvin sign lower-cases to ASCII `k`).
    #[test]
    fn keyword_gates_see_every_leaf() {
        let s = set("  kw:\n    - 'mimikatz'\n    - '31337'\n  condition: kw");
        check(&s, &ev(&[("a", Value::str("run MimiKatz now"))]), true);
        check(
            &s,
            &ev(&[("a", Value::str("run MIMI\u{212A}ATZ now"))]),
            true,
        );
        check(&s, &ev(&[("a", Value::Int(9931337))]), true);
        check(
            &s,
            &ev(&[(
                "a",
                Value::Array(vec![Value::Null, Value::str("é mimikatz")]),
            )]),
            true,
        );
        check(&s, &ev(&[("a", Value::str("mimi katz"))]), false);
        check(&s, &ev(&[]), false);
    }

    // Regexes are gated by a literal every match contains (lower-cased;
    // `s` is left out of case-insensitive literals because of `ſ`); globs
    // with `?` by their longest literal piece.
    #[test]
    fn regex_and_glob_gates() {
        let s = set("  sel:\n    CommandLine|re: 'ipconfig\\s+/all'\n  condition: sel");
        check(
            &s,
            &ev(&[("CommandLine", Value::str("x ipconfig  /all"))]),
            true,
        );
        check(
            &s,
            &ev(&[("CommandLine", Value::str("IPCONFIG /all"))]),
            false,
        );
        check(&s, &ev(&[("CommandLine", Value::str("ipconfig"))]), false);
        let s = set("  sel:\n    CommandLine|re|i: 'net\\s+stop'\n  condition: sel");
        check(&s, &ev(&[("CommandLine", Value::str("NET  STOP x"))]), true);
        check(
            &s,
            &ev(&[("CommandLine", Value::str("net \u{17F}top x"))]),
            true,
        );
        check(&s, &ev(&[("CommandLine", Value::str("net start"))]), false);
        let s = set("  sel:\n    CommandLine|contains: 'ms-app://?source='\n  condition: sel");
        check(
            &s,
            &ev(&[("CommandLine", Value::str("MS-APP://?SOURCE=x"))]),
            true,
        );
        check(
            &s,
            &ev(&[("CommandLine", Value::str("ms-app://Xsource=x"))]),
            true,
        );
        check(
            &s,
            &ev(&[("CommandLine", Value::str("ms-app:/source=x"))]),
            false,
        );
    }

    // The keyword scan skips values too short for every literal and numbers
    // when no literal can occur in a rendered number; neither may lose a hit.
    #[test]
    fn keyword_scan_shortcuts_keep_hits() {
        let s = set("  kw:\n    - 'kali'\n    - 'lsadump::'\n  condition: kw");
        check(&s, &ev(&[("a", Value::str("KALI"))]), true);
        check(&s, &ev(&[("a", Value::str("kal"))]), false);
        // Kelvin sign: 6 bytes that lower-case to the 4 bytes of `kali`.
        check(&s, &ev(&[("a", Value::str("\u{212A}ali"))]), true);
        check(
            &s,
            &ev(&[("a", Value::Int(4242)), ("b", Value::Bool(true))]),
            false,
        );
        let n = set("  kw:\n    - '-1'\n  condition: kw");
        check(&n, &ev(&[("a", Value::Int(-1))]), true);
        check(&n, &ev(&[("a", Value::Float(-1.5))]), true);
        check(&n, &ev(&[("a", Value::Int(1))]), false);
    }
}
