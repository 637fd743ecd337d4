//! Evaluation of compiled rules against one event.
//!
//! A per-thread [`Ctx`] caches, for the event being evaluated, each field's
//! text and lower-cased text the first time a rule asks for it; later rules
//! reuse it. Buffers are reused across events, so steady-state matching
//! does not allocate.

use crate::compile::{Accessor, Check, Node, Op, TimePart, ValueTest};
use crate::logsource::{Transform, transform_value};
use crate::pattern::lower_bytes_into;
use chrono::Datelike as _;
use chrono::Timelike as _;
use kahu_event::{Event, Value};
use std::fmt::Write as _;

#[derive(Default)]
pub(crate) struct SlotVal {
    orig: String,
    lower: Vec<u8>,
    num: Option<f64>,
}

#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Absent,
    Null,
    Present,
}

#[derive(Default)]
struct Slot {
    generation: u32,
    state: State,
    n: usize,
    vals: Vec<SlotVal>,
}

/// Per-thread evaluation scratch space.
#[derive(Default)]
pub(crate) struct Ctx {
    set_id: u64,
    generation: u32,
    slots: Vec<Slot>,
    kw_generation: u32,
    kw_n: usize,
    kw: Vec<SlotVal>,
    /// Per global substring needle: generation in which it was found.
    hits: Vec<u32>,
    /// Per accessor: generation in which its value was scanned for needles.
    scanned: Vec<u32>,
    /// Needles first found during this event, in order (for gate postings).
    pub(crate) new_hits: Vec<u32>,
    /// Scratch bit set of variants opened by their gates.
    pub(crate) marks: Vec<u64>,
    /// Whether the event has a field name with a space (see [`spaced_field`]):
    /// 0 not known yet, 1 no, 2 yes. Absent fields are common, and this saves
    /// scanning every name for spaces on each miss.
    spaced: u8,
    /// Scratch text for keyword scanning of non-ASCII and non-string leaves.
    kw_buf: Vec<u8>,
    /// Bloom filter of the event's top-level field names (see [`NameBloom`]).
    names: NameBloom,
}

/// A 256-bit Bloom filter over an event's top-level field names, keyed by
/// length and ASCII-lower-cased first and last byte: names equal under
/// ASCII case folding (how [`kahu_event::Fields::get`] compares) set the same
/// bit, so a clear bit proves a name absent without scanning the fields
/// (twice: exact, then case-insensitive). Built on the event's first lookup.
#[derive(Default)]
struct NameBloom {
    built: bool,
    bits: [u64; 4],
}

impl NameBloom {
    #[inline]
    fn bit(name: &str) -> usize {
        let b = name.as_bytes();
        let first = b.first().map_or(0, u8::to_ascii_lowercase) as usize;
        let last = b.last().map_or(0, u8::to_ascii_lowercase) as usize;
        (b.len().wrapping_mul(31) ^ first.wrapping_mul(7) ^ last.wrapping_mul(131)) & 255
    }

    /// Whether a top-level field may be named `name` (ASCII case-insensitively).
    fn may_contain(&mut self, e: &Event, name: &str) -> bool {
        if !self.built {
            self.bits = [0; 4];
            for (k, _) in e.fields.iter() {
                let i = Self::bit(k);
                self.bits[i / 64] |= 1 << (i % 64);
            }
            self.built = true;
        }
        let i = Self::bit(name);
        self.bits[i / 64] & (1 << (i % 64)) != 0
    }
}

/// Rule sets whose evaluation scratch a thread keeps at once. `hunt` and
/// `assess` run up to two sets over every event (kahu's bundled rules, and
/// the installed rules or the analyst's `--rules`); the bound leaves room
/// for callers with more and keeps memory flat when sets are built and
/// dropped repeatedly (tests).
const MAX_CTXS: usize = 4;

/// One [`Ctx`] per rule set recently evaluated on this thread.
///
/// A single shared `Ctx` was reset whenever the set changed, i.e. twice per
/// event with two sets: every slot's buffers freed and the needle-hit table
/// zeroed (≈ 10 % of `hunt`'s CPU on 1M JSON lines, issue #17).
#[derive(Default)]
pub(crate) struct Ctxs {
    sets: Vec<Ctx>,
}

impl Ctxs {
    /// The scratch of rule set `set_id`; the caller still calls
    /// [`Ctx::begin`]. When all places are taken, the one used longest ago
    /// is dropped.
    pub(crate) fn for_set(&mut self, set_id: u64) -> &mut Ctx {
        let i = match self.sets.iter().position(|c| c.set_id == set_id) {
            Some(i) => i,
            None => {
                if self.sets.len() >= MAX_CTXS {
                    self.sets.remove(0);
                }
                self.sets.push(Ctx::default());
                self.sets.len() - 1
            }
        };
        // Most recently used last, so eviction takes the oldest.
        let last = self.sets.len() - 1;
        if i != last {
            self.sets[i..].rotate_left(1);
        }
        &mut self.sets[last]
    }
}

impl Ctx {
    /// Start a new event for rule set `set_id` with `n` accessors.
    pub(crate) fn begin(&mut self, set_id: u64, n: usize, needles: usize) {
        if self.set_id != set_id || self.slots.len() < n || self.hits.len() < needles {
            self.set_id = set_id;
            self.slots.clear();
            self.slots.resize_with(n, Slot::default);
            self.hits.clear();
            self.hits.resize(needles, 0);
            self.scanned.clear();
            self.scanned.resize(n, 0);
            self.generation = 0;
            self.kw_generation = 0;
        }
        self.new_hits.clear();
        self.spaced = 0;
        self.names.built = false;
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Wrapped: make every slot stale explicitly.
            for s in &mut self.slots {
                s.generation = 0;
            }
            self.hits.iter_mut().for_each(|h| *h = 0);
            self.scanned.iter_mut().for_each(|h| *h = 0);
            self.kw_generation = 0;
            self.generation = 1;
        }
    }
}

fn set_val(v: &mut SlotVal, value: &Value) {
    v.orig.clear();
    v.num = None;
    match value {
        Value::Str(s) => {
            v.orig.push_str(s);
            let b = s.as_bytes();
            if b.first().is_some_and(|c| c.is_ascii_digit() || *c == b'-') {
                v.num = value.as_f64();
            }
        }
        Value::Int(i) => {
            let _ = write!(v.orig, "{i}");
            v.num = Some(*i as f64);
        }
        Value::UInt(u) => {
            let _ = write!(v.orig, "{u}");
            v.num = Some(*u as f64);
        }
        Value::Float(f) => {
            let _ = write!(v.orig, "{f}");
            v.num = Some(*f);
        }
        Value::Bool(b) => v.orig.push_str(if *b { "true" } else { "false" }),
        Value::Null | Value::Array(_) | Value::Object(_) => {}
    }
    lower_bytes_into(&v.orig, &mut v.lower);
}

fn push_val(vals: &mut Vec<SlotVal>, n: &mut usize, value: &Value) {
    if *n == vals.len() {
        vals.push(SlotVal::default());
    }
    set_val(&mut vals[*n], value);
    *n += 1;
}

/// Typed members stand in for their Windows field names when absent.
fn typed_fallback(e: &Event, name: &str) -> Option<Value> {
    if name.eq_ignore_ascii_case("EventID") {
        e.event_id.map(|i| Value::Int(i64::from(i)))
    } else if name.eq_ignore_ascii_case("Channel") {
        e.channel.clone().map(Value::Str)
    } else if name.eq_ignore_ascii_case("Provider_Name") {
        e.provider.clone().map(Value::Str)
    } else if name.eq_ignore_ascii_case("Computer") {
        e.host.clone().map(Value::Str)
    } else {
        None
    }
}

/// Rules specification, "Field Usage" 2: Sigma names are the log's field
/// names with spaces stripped (`Threat Name` → `ThreatName`, as in Windows
/// Defender events). Only consulted when the exact name is absent.
fn spaced_field<'e>(e: &'e Event, name: &str) -> Option<&'e Value> {
    if name.contains('.') {
        return None;
    }
    e.fields.iter().find_map(|(k, v)| {
        if !k.contains(' ') {
            return None;
        }
        let mut a = k.bytes().filter(|b| *b != b' ');
        let mut b = name.bytes();
        loop {
            match (a.next(), b.next()) {
                (None, None) => return Some(v),
                (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => {}
                _ => return None,
            }
        }
    })
}

/// Whether `b` has an ASCII space, eight bytes at a time: field names are
/// short, and `str::contains` (a `memchr` call per name) cost ~50
/// instructions each on every event that misses a field.
#[inline]
fn has_space(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w) ^ (ONES * u64::from(b' '));
        // A zero byte in `x` is a space in `c`.
        if x.wrapping_sub(ONES) & !x & (ONES << 7) != 0 {
            return true;
        }
    }
    chunks.remainder().contains(&b' ')
}

/// [`spaced_field`], skipped when the event has no spaced name at all.
fn spaced_lookup<'e>(e: &'e Event, name: &str, spaced: &mut u8) -> Option<&'e Value> {
    if *spaced == 0 {
        *spaced = if e.fields.iter().any(|(k, _)| has_space(k.as_bytes())) {
            2
        } else {
            1
        };
    }
    if *spaced == 2 {
        spaced_field(e, name)
    } else {
        None
    }
}

fn fill(slot: &mut Slot, acc: &Accessor, e: &Event, spaced: &mut u8, names: &mut NameBloom) {
    slot.n = 0;
    slot.state = State::Absent;
    if acc.transform != Transform::None {
        if slot.vals.is_empty() {
            slot.vals.push(SlotVal::default());
        }
        let v = &mut slot.vals[0];
        if transform_value(acc.transform, e, &acc.name, &mut v.orig) {
            v.num = None;
            lower_bytes_into(&v.orig, &mut v.lower);
            slot.n = 1;
            slot.state = State::Present;
        }
        return;
    }
    let owned;
    // A dotted name may also be a path into nested objects; others are
    // top-level names only, which the Bloom filter can rule out.
    let lookup = if acc.dotted || names.may_contain(e, &acc.name) {
        e.fields.get_path(&acc.name)
    } else {
        None
    };
    let value = match lookup {
        Some(v) => v,
        None => match typed_fallback(e, &acc.name) {
            Some(v) => {
                owned = v;
                &owned
            }
            None => match spaced_lookup(e, &acc.name, spaced) {
                Some(v) => v,
                None => return,
            },
        },
    };
    match value {
        Value::Null => slot.state = State::Null,
        Value::Array(items) => {
            slot.state = State::Present;
            for it in items {
                if !matches!(it, Value::Array(_) | Value::Object(_)) {
                    push_val(&mut slot.vals, &mut slot.n, it);
                }
            }
        }
        Value::Object(_) => slot.state = State::Present,
        scalar => {
            slot.state = State::Present;
            push_val(&mut slot.vals, &mut slot.n, scalar);
        }
    }
}

fn leaves(v: &Value, vals: &mut Vec<SlotVal>, n: &mut usize, depth: usize) {
    match v {
        Value::Object(f) if depth < 32 => {
            for (_, x) in f.iter() {
                leaves(x, vals, n, depth + 1);
            }
        }
        Value::Array(a) if depth < 32 => {
            for x in a {
                leaves(x, vals, n, depth + 1);
            }
        }
        Value::Null | Value::Object(_) | Value::Array(_) => {}
        scalar => push_val(vals, n, scalar),
    }
}

struct KwScan<'a> {
    sc: &'a Scanner,
    g: u32,
    hits: &'a mut Vec<u32>,
    new_hits: &'a mut Vec<u32>,
    buf: &'a mut Vec<u8>,
    tmp: String,
}

impl KwScan<'_> {
    /// Mirrors [`leaves`] and [`set_val`]: same leaves, same text.
    fn leaf(&mut self, v: &Value, depth: usize) {
        match v {
            Value::Object(f) if depth < 32 => {
                for (_, x) in f.iter() {
                    self.leaf(x, depth + 1);
                }
                return;
            }
            Value::Array(a) if depth < 32 => {
                for x in a {
                    self.leaf(x, depth + 1);
                }
                return;
            }
            Value::Null | Value::Object(_) | Value::Array(_) => return,
            // Lower-casing keeps an ASCII text's length: too short for
            // every needle means no hit.
            Value::Str(s) if s.len() < self.sc.min_len && s.is_ascii() => return,
            Value::Str(s) => lower_bytes_into(s, self.buf),
            Value::Int(_) | Value::UInt(_) | Value::Float(_) if !self.sc.numeric => return,
            Value::Int(i) => {
                self.tmp.clear();
                let _ = write!(self.tmp, "{i}");
                self.buf.clear();
                self.buf.extend_from_slice(self.tmp.as_bytes());
            }
            Value::UInt(u) => {
                self.tmp.clear();
                let _ = write!(self.tmp, "{u}");
                self.buf.clear();
                self.buf.extend_from_slice(self.tmp.as_bytes());
            }
            Value::Float(f) => {
                // Rendered then lower-cased, as `set_val` does (`inf`, `NaN`).
                self.tmp.clear();
                let _ = write!(self.tmp, "{f}");
                lower_bytes_into(&self.tmp, self.buf);
            }
            Value::Bool(b) => {
                self.buf.clear();
                self.buf
                    .extend_from_slice(if *b { b"true" } else { b"false" });
            }
        }
        Self::find(
            self.sc,
            self.buf.as_slice(),
            self.g,
            self.hits,
            self.new_hits,
        );
    }

    fn find(sc: &Scanner, h: &[u8], g: u32, hits: &mut [u32], new_hits: &mut Vec<u32>) {
        // Most leaves contain no keyword at all; a plain search (which can
        // use the automaton's prefilter) rejects them before the overlapping one.
        if h.len() < sc.min_len {
            return;
        }
        if let Some(pre) = &sc.pre
            && !pre.is_match(h)
        {
            return;
        }
        sc.ac.each(h, |pid| {
            let id = sc.ids[pid];
            let slot = &mut hits[id as usize];
            if *slot != g {
                *slot = g;
                new_hits.push(id);
            }
        });
    }
}

/// Evaluates rules of one rule set for one event.
pub(crate) struct Evaluator<'a> {
    pub ctx: &'a mut Ctx,
    pub accessors: &'a [Accessor],
    pub scanners: &'a [Option<Scanner>],
    pub event: &'a Event,
}

/// An overlapping (every occurrence of every needle) Aho-Corasick search,
/// driven byte by byte through `aho-corasick`'s automaton API instead of
/// `find_overlapping_iter`: the iterator re-enters the search through
/// dynamic dispatch for every match, and field values such as command lines
/// hit dozens of short needles each (`\\`, `.exe`, ` -`), so that call per
/// match cost more than the byte transitions. Same automaton choice as
/// `AhoCorasick::new`: a DFA for at most 100 needles (or when asked),
/// otherwise a contiguous NFA, else the noncontiguous one.
pub(crate) enum Overlapping {
    Dfa(aho_corasick::dfa::DFA),
    Contiguous(aho_corasick::nfa::contiguous::NFA),
    Noncontiguous(aho_corasick::nfa::noncontiguous::NFA),
}

impl Overlapping {
    /// `None` only when the needles are too large to build an automaton.
    /// A DFA is built when asked, for at most 100 needles, or when its
    /// table is bounded by [`DFA_BUDGET`] before it is built.
    pub(crate) fn new(needles: &[&[u8]], dfa: bool) -> Option<Overlapping> {
        use aho_corasick::{dfa, nfa};
        let nfa = nfa::noncontiguous::NFA::builder()
            .prefilter(false)
            .build(needles)
            .ok()?;
        if (dfa || needles.len() <= 100 || dfa_bound(&nfa, needles) <= DFA_BUDGET)
            && let Ok(d) = dfa::DFA::builder().build_from_noncontiguous(&nfa)
        {
            return Some(Overlapping::Dfa(d));
        }
        match nfa::contiguous::NFA::builder().build_from_noncontiguous(&nfa) {
            Ok(c) => Some(Overlapping::Contiguous(c)),
            Err(_) => Some(Overlapping::Noncontiguous(nfa)),
        }
    }

    /// Call `f` with the pattern index of every occurrence in `h`.
    #[inline]
    pub(crate) fn each(&self, h: &[u8], f: impl FnMut(usize)) {
        match self {
            Overlapping::Dfa(a) => each_overlapping(a, h, f),
            Overlapping::Contiguous(a) => each_overlapping(a, h, f),
            Overlapping::Noncontiguous(a) => each_overlapping(a, h, f),
        }
    }
}

/// Largest transition table, in bytes, for which a gate scanner with more
/// than 100 needles is built as a DFA. A DFA takes one table lookup per
/// byte where the contiguous NFA follows failure transitions: on Mordor's
/// PowerShell `ContextInfo` values (287 needles) the scan costs about half
/// (issue #17). Field scanners with thousands of needles (`CommandLine`:
/// ≈ 9,000) stay NFAs: their DFA would take hundreds of megabytes.
pub(crate) const DFA_BUDGET: usize = 4 << 20;

/// An upper bound of the size of the DFA `aho-corasick` builds from `nfa`
/// (over `needles`), computed without building it (building first and
/// measuring made loading SigmaHQ's rules a third slower). The transition
/// table has a row per NFA state (at most one per needle byte, plus the
/// dead, fail and two start states) of 4-byte state ids, as many as the
/// byte classes rounded up to a power of two; a class boundary falls on
/// each side of every byte a needle uses. Match lists hold what the NFA's
/// do (short needles are inherited by every state they are a suffix of),
/// so the NFA's own size, plus a list header per state, bounds the rest.
pub(crate) fn dfa_bound(nfa: &aho_corasick::nfa::noncontiguous::NFA, needles: &[&[u8]]) -> usize {
    use aho_corasick::automaton::Automaton as _;
    let mut boundary = [false; 256];
    let mut bytes = 0usize;
    for n in needles {
        bytes = bytes.saturating_add(n.len());
        for &b in *n {
            boundary[b as usize] = true;
            if b > 0 {
                boundary[b as usize - 1] = true;
            }
        }
    }
    let classes = boundary[..255].iter().filter(|s| **s).count() + 1;
    let states = bytes.saturating_add(4);
    let row = classes.next_power_of_two() * 4 + 24;
    states
        .saturating_mul(row)
        .saturating_add(nfa.memory_usage())
}

/// The loop of `aho-corasick`'s `try_find_overlapping_fwd` without a
/// prefilter, reporting pattern ids instead of returning one match per call.
#[inline]
fn each_overlapping<A: aho_corasick::automaton::Automaton>(
    aut: &A,
    h: &[u8],
    mut f: impl FnMut(usize),
) {
    let Ok(mut sid) = aut.start_state(aho_corasick::Anchored::No) else {
        return;
    };
    // An empty needle matches at the start.
    if aut.is_match(sid) {
        for i in 0..aut.match_len(sid) {
            f(aut.match_pattern(sid, i).as_usize());
        }
    }
    for &b in h {
        sid = aut.next_state(aho_corasick::Anchored::No, sid, b);
        if aut.is_special(sid) {
            if aut.is_dead(sid) {
                return;
            }
            if aut.is_match(sid) {
                for i in 0..aut.match_len(sid) {
                    f(aut.match_pattern(sid, i).as_usize());
                }
            }
        }
    }
}

/// An existence test for any of a few needles, for texts that mostly
/// contain none: `aho-corasick`'s packed (Teddy, vectorised) searcher called
/// directly where it can be built (up to 64 needles or so), which skips the
/// per-call layers of `AhoCorasick::is_match` (most keyword leaves are
/// short, so those dominated); else a leftmost-first automaton, whose
/// search uses the same prefilter when it has one.
pub(crate) enum Prefilter {
    Packed(aho_corasick::packed::Searcher),
    Automaton(aho_corasick::AhoCorasick),
}

impl Prefilter {
    pub(crate) fn new(needles: &[&[u8]]) -> Option<Prefilter> {
        if let Some(s) = aho_corasick::packed::Searcher::new(needles) {
            return Some(Prefilter::Packed(s));
        }
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(needles)
            .ok()
            .map(Prefilter::Automaton)
    }

    /// Whether some needle occurs in `h`.
    #[inline]
    pub(crate) fn is_match(&self, h: &[u8]) -> bool {
        match self {
            Prefilter::Packed(s) => s.find(h).is_some(),
            Prefilter::Automaton(a) => a.is_match(h),
        }
    }
}

/// One automaton over every substring needle rules test on a field, so a
/// field value is scanned once per event however many rules look in it.
pub(crate) struct Scanner {
    pub ac: Overlapping,
    /// Automaton pattern index → global needle id.
    pub ids: Vec<u32>,
    /// The same needles with leftmost semantics, whose `is_match` can use
    /// a vectorised prefilter (overlapping search cannot): a cheap test
    /// for values that contain no needle at all.
    pub pre: Option<Prefilter>,
    /// Length of the shortest needle.
    pub min_len: usize,
    /// Whether some needle can occur in a rendered number (digits, sign,
    /// point, `inf`, `nan`); if not, numeric values cannot hit.
    pub numeric: bool,
}

impl Scanner {
    pub(crate) fn new(
        ac: Overlapping,
        needles: &[&[u8]],
        ids: Vec<u32>,
        pre: Option<Prefilter>,
    ) -> Scanner {
        Scanner {
            ac,
            ids,
            pre,
            min_len: needles.iter().map(|n| n.len()).min().unwrap_or(0),
            numeric: needles
                .iter()
                .any(|n| n.iter().all(|b| b"0123456789+-.einfa".contains(b))),
        }
    }
}

impl Evaluator<'_> {
    fn slot(&mut self, acc: u32) -> &Slot {
        let generation = self.ctx.generation;
        let ctx = &mut *self.ctx;
        let slot = &mut ctx.slots[acc as usize];
        if slot.generation != generation {
            fill(
                slot,
                &self.accessors[acc as usize],
                self.event,
                &mut ctx.spaced,
                &mut ctx.names,
            );
            slot.generation = generation;
        }
        slot
    }

    /// The values of `acc` for this event, numeric value or lower-cased
    /// text each (empty when absent or null).
    pub(crate) fn values(&mut self, acc: u32) -> impl Iterator<Item = (Option<f64>, &[u8])> {
        let slot = self.slot(acc);
        let n = if slot.state == State::Present {
            slot.n
        } else {
            0
        };
        slot.vals[..n].iter().map(|v| (v.num, v.lower.as_slice()))
    }

    /// Find every needle of `acc`'s scanner in the field's lower-cased
    /// value(s), once per event. With several values (arrays) hits are
    /// pooled across them.
    pub(crate) fn scan(&mut self, acc: u32) {
        let g = self.ctx.generation;
        if self.ctx.scanned[acc as usize] == g {
            return;
        }
        self.ctx.scanned[acc as usize] = g;
        let scanners = self.scanners;
        let Some(Some(sc)) = scanners.get(acc as usize) else {
            return;
        };
        self.slot(acc);
        let ctx = &mut *self.ctx;
        let slot = &ctx.slots[acc as usize];
        let (hits, new_hits) = (&mut ctx.hits, &mut ctx.new_hits);
        for v in &slot.vals[..slot.n] {
            sc.ac.each(v.lower.as_slice(), |pid| {
                let id = sc.ids[pid];
                let h = &mut hits[id as usize];
                if *h != g {
                    *h = g;
                    new_hits.push(id);
                }
            });
        }
    }

    /// Scan every leaf value for keyword gate literals (lower-case): each
    /// leaf is rendered and lower-cased exactly as [`Evaluator::keywords`]
    /// does. Scanning ASCII leaves as they are, with a case-insensitive
    /// automaton, would save the copy, but `aho-corasick` then has no
    /// vectorised prefilter, and most leaves hold no keyword (issue #17).
    pub(crate) fn scan_keywords(&mut self, sc: &Scanner) {
        let ctx = &mut *self.ctx;
        let mut buf = std::mem::take(&mut ctx.kw_buf);
        let mut k = KwScan {
            sc,
            g: ctx.generation,
            hits: &mut ctx.hits,
            new_hits: &mut ctx.new_hits,
            buf: &mut buf,
            tmp: String::new(),
        };
        for (_, v) in self.event.fields.iter() {
            k.leaf(v, 0);
        }
        ctx.kw_buf = buf;
    }

    fn keywords(&mut self) {
        if self.ctx.kw_generation != self.ctx.generation {
            let mut n = 0;
            for (_, v) in self.event.fields.iter() {
                leaves(v, &mut self.ctx.kw, &mut n, 0);
            }
            self.ctx.kw_n = n;
            self.ctx.kw_generation = self.ctx.generation;
        }
    }

    pub(crate) fn node(&mut self, n: &Node, checks: &[Check]) -> bool {
        match n {
            Node::Const(b) => *b,
            Node::Check(i) => self.check(&checks[*i as usize]),
            Node::And(items) => items.iter().all(|x| self.node(x, checks)),
            Node::Or(items) => items.iter().any(|x| self.node(x, checks)),
            Node::Not(x) => !self.node(x, checks),
            Node::AtLeast(k, items) => {
                let mut hits = 0;
                for x in items {
                    if self.node(x, checks) {
                        hits += 1;
                        if hits >= *k {
                            return true;
                        }
                    }
                }
                false
            }
        }
    }

    fn check(&mut self, c: &Check) -> bool {
        match c {
            Check::Exists { acc, want } => (self.slot(*acc).state != State::Absent) == *want,
            Check::Null { acc } => self.slot(*acc).state != State::Present,
            Check::Field {
                acc,
                tests,
                all,
                neq,
            } => {
                let state = self.slot(*acc).state;
                if state == State::Absent {
                    return false;
                }
                let hit = if *all {
                    tests.iter().all(|t| self.field_test(*acc, t))
                } else {
                    tests.iter().any(|t| self.field_test(*acc, t))
                };
                hit != *neq
            }
            Check::Keywords { tests, all } => {
                self.keywords();
                let vals = &self.ctx.kw[..self.ctx.kw_n];
                let one = |t: &ValueTest| vals.iter().any(|v| value_test(t, v, None));
                if *all {
                    tests.iter().all(one)
                } else {
                    tests.iter().any(one)
                }
            }
        }
    }

    fn field_test(&mut self, acc: u32, t: &ValueTest) -> bool {
        if let ValueTest::FieldRef(other) = t {
            // Fill the other slot first; then both are read immutably.
            self.slot(*other);
            let a = &self.ctx.slots[acc as usize];
            let b = &self.ctx.slots[*other as usize];
            return a.vals[..a.n]
                .iter()
                .any(|x| b.vals[..b.n].iter().any(|y| x.lower == y.lower));
        }
        if let ValueTest::Str(set) = t
            && !set.ids.is_empty()
        {
            self.scan(acc);
            let g = self.ctx.generation;
            let hits = &self.ctx.hits;
            let slot = &self.ctx.slots[acc as usize];
            let hit = |i: u32| hits[i as usize] == g;
            if slot.state == State::Null {
                return set.is_match_with(b"", hit);
            }
            return slot.vals[..slot.n]
                .iter()
                .any(|v| set.is_match_with(v.lower.as_slice(), hit));
        }
        let slot = &self.ctx.slots[acc as usize];
        if slot.state == State::Null {
            // An empty XML element reads as null: it matches the empty string.
            return value_test(t, &SlotVal::default(), None);
        }
        slot.vals[..slot.n].iter().any(|v| value_test(t, v, None))
    }
}

fn value_test(t: &ValueTest, v: &SlotVal, _: Option<()>) -> bool {
    match t {
        ValueTest::Str(set) => set.is_match(v.lower.as_slice()),
        ValueTest::StrCased(set) => set.is_match(v.orig.as_bytes()),
        ValueTest::Num { op, v: want, text } => match v.num {
            Some(n) => op.test(n, *want),
            None => *op == Op::Eq && v.lower.as_slice() == text.as_slice(),
        },
        ValueTest::Regex(re, _) => re.is_match(v.orig.as_bytes()),
        ValueTest::Cidr(nets) => {
            let t = v.orig.trim().trim_start_matches('[').trim_end_matches(']');
            let Ok(mut ip) = t.parse::<std::net::IpAddr>() else {
                return false;
            };
            if let std::net::IpAddr::V6(v6) = ip
                && let Some(v4) = v6.to_ipv4_mapped()
            {
                ip = std::net::IpAddr::V4(v4);
            }
            nets.iter().any(|n| n.contains(&ip))
        }
        ValueTest::FieldRef(_) => false,
        ValueTest::Time { part, op, v: want } => {
            let Some(ts) = kahu_event::parse_timestamp(&v.orig) else {
                return false;
            };
            let got = match part {
                TimePart::Minute => ts.minute(),
                TimePart::Hour => ts.hour(),
                TimePart::Day => ts.day(),
                TimePart::Week => ts.iso_week().week(),
                TimePart::Month => ts.month(),
                TimePart::Year => ts.year() as u32,
            };
            op.test(f64::from(got), *want)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Ctxs, MAX_CTXS, has_space};

    // Scratch is kept per rule set, for at most MAX_CTXS sets, the least
    // recently used one dropped first.
    #[test]
    fn ctxs_are_per_set_and_bounded() {
        let mut c = Ctxs::default();
        for id in 1..=10u64 {
            c.for_set(id).begin(id, 3, 5);
            assert!(c.sets.len() <= MAX_CTXS);
        }
        let kept: Vec<u64> = c.sets.iter().map(|x| x.set_id).collect();
        assert_eq!(kept, vec![7, 8, 9, 10]);
        // Using 8 again makes 7 the oldest: the next new set evicts 7.
        c.for_set(8).begin(8, 3, 5);
        c.for_set(11).begin(11, 3, 5);
        let kept: Vec<u64> = c.sets.iter().map(|x| x.set_id).collect();
        assert_eq!(kept, vec![9, 10, 8, 11]);
        // A set's scratch survives another set's turn (no reset to generation 1).
        let g = c.for_set(9).generation;
        c.for_set(10).begin(10, 3, 5);
        c.for_set(9).begin(9, 3, 5);
        assert_eq!(c.for_set(9).generation, g + 1);
    }

    // The size bound used to choose a DFA before building it is never
    // below what the built DFA takes, for needle sets with shared
    // prefixes, repeated bytes, non-ASCII bytes and the empty needle.
    #[test]
    fn dfa_bound_is_an_upper_bound_of_the_built_dfa() {
        use aho_corasick::automaton::Automaton as _;
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..300 {
            let alphabet = 1 + (next() % 200) as usize;
            let count = 1 + (next() % 400) as usize;
            let needles: Vec<Vec<u8>> = (0..count)
                .map(|_| {
                    let len = (next() % 24) as usize + usize::from(case % 7 != 0);
                    (0..len)
                        .map(|_| (next() % alphabet as u64) as u8 + 20)
                        .collect()
                })
                .collect();
            let texts: Vec<&[u8]> = needles.iter().map(Vec::as_slice).collect();
            let nfa = aho_corasick::nfa::noncontiguous::NFA::builder()
                .prefilter(false)
                .build(&texts)
                .unwrap();
            let dfa = aho_corasick::dfa::DFA::builder()
                .build_from_noncontiguous(&nfa)
                .unwrap();
            assert!(
                dfa.memory_usage() <= super::dfa_bound(&nfa, &texts),
                "case {case}: {} needles over {alphabet} bytes: DFA {} > bound {}",
                texts.len(),
                dfa.memory_usage(),
                super::dfa_bound(&nfa, &texts)
            );
        }
    }

    // The eight-bytes-at-a-time test agrees with a byte search at every
    // position and length, including bytes next to a space (0x1f, 0x21, 0xa0).
    #[test]
    fn has_space_matches_byte_search() {
        for len in 0..40 {
            for fill in [b'a', 0x1f, 0x21, 0xa0, 0x00, 0xff] {
                let base = vec![fill; len];
                assert_eq!(has_space(&base), base.contains(&b' '));
                for i in 0..len {
                    let mut b = base.clone();
                    b[i] = b' ';
                    assert!(has_space(&b), "len {len} fill {fill:#x} at {i}");
                }
            }
        }
    }
}
