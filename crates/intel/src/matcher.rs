//! Matching events against an [`IocSet`] and turning matches into findings.

use crate::compile::canonical_ip;
use crate::extract::{self, Obs, Probe};
use crate::indicator::{Atom, Indicator, IocType, NumOp, Test};
use crate::normalize::HashAlg;
use crate::set::{Index, IocSet, Ref, Refs, cat};
use kahu_event::text::clip_marked;
use kahu_event::{Event, Value};
use kahu_finding::{Finding, FindingKind, Level};
use std::sync::Arc;

/// One indicator matching one event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IocMatch {
    /// Index into [`IocSet::indicators`].
    pub indicator: usize,
    /// Dotted path of the event field that matched (`CommandLine`, `id.resp_h`).
    pub field: String,
    /// The text in that field the observable was read from.
    pub value: String,
    /// Caveat for the analyst (validity not checked, port not checked…).
    pub note: Option<String>,
}

struct Hit {
    r: Ref,
    field: String,
    raw: String,
    /// The observed name, when it matched a domain indicator as one of the
    /// names under it (the indicator itself was not seen).
    under: Option<String>,
}

struct Fast<'a> {
    idx: &'a Index,
    hits: Vec<Hit>,
    /// Conjunctions already hit: a value repeated thousands of times in
    /// one hostile field yields one hit, not thousands of copies.
    seen: hashbrown::HashSet<Ref>,
}

impl Fast<'_> {
    fn add(&mut self, refs: Option<&Refs>, field: &str, raw: &str) {
        self.add_under(refs, field, raw, None);
    }

    fn add_under(&mut self, refs: Option<&Refs>, field: &str, raw: &str, under: Option<&str>) {
        if let Some(refs) = refs {
            for r in refs {
                if !self.seen.insert(*r) {
                    continue;
                }
                self.hits.push(Hit {
                    r: *r,
                    field: field.to_string(),
                    raw: raw.to_string(),
                    under: under.map(str::to_string),
                });
            }
        }
    }
}

impl Probe for Fast<'_> {
    fn obs(&mut self, field: &str, raw: &str, o: Obs<'_>) {
        let idx = self.idx;
        match o {
            Obs::Ip(k) => {
                self.add(idx.ip.get(&k), field, raw);
                for &len in &idx.cidr_lens {
                    self.add(
                        idx.cidr.get(&(len, crate::normalize::mask(k, len))),
                        field,
                        raw,
                    );
                }
            }
            Obs::Domain(d) => {
                // `a.b.evil.com` matches indicators for itself and every
                // parent domain: probe each label suffix.
                self.add(idx.domain.get(d), field, raw);
                for (i, _) in d.match_indices('.') {
                    self.add_under(idx.domain.get(&d[i + 1..]), field, raw, Some(d));
                }
            }
            Obs::Url(u) => self.add(idx.url.get(u), field, raw),
            Obs::Uri(u) => self.add(idx.uri.get(u), field, raw),
            Obs::Hash(alg, b) => match alg {
                HashAlg::Md5 => self.add(
                    b.try_into().ok().and_then(|k: [u8; 16]| idx.md5.get(&k)),
                    field,
                    raw,
                ),
                HashAlg::Sha1 => self.add(
                    b.try_into().ok().and_then(|k: [u8; 20]| idx.sha1.get(&k)),
                    field,
                    raw,
                ),
                HashAlg::Sha256 => self.add(
                    b.try_into().ok().and_then(|k: [u8; 32]| idx.sha256.get(&k)),
                    field,
                    raw,
                ),
                HashAlg::Sha512 => self.add(
                    b.try_into().ok().and_then(|k: [u8; 64]| idx.sha512.get(&k)),
                    field,
                    raw,
                ),
            },
            Obs::FileName(f) => self.add(idx.filename.get(f), field, raw),
            Obs::Email(e) => self.add(idx.email.get(e), field, raw),
            Obs::UserAgent(u) => self.add(idx.ua.get(u), field, raw),
            Obs::CommandLine(c) => self.add(idx.cmdline.get(c), field, raw),
            Obs::Registry(k) => self.add(idx.regkey.get(k), field, raw),
            Obs::Port { dst, port } => {
                let m = if dst { &idx.dst_port } else { &idx.src_port };
                self.add(m.get(&port), field, raw);
            }
            Obs::Asn(a) => self.add(idx.asn.get(&a), field, raw),
        }
    }
}

/// An observable kept for the slow path (compound patterns, LIKE, MATCHES).
#[derive(Debug)]
struct Owned {
    field: String,
    raw: String,
    kind: OwnedKind,
}

#[derive(Debug)]
enum OwnedKind {
    Ip(u128),
    Text(IocType, String),
    Hash(HashAlg, String),
    Port(bool, u16),
    Asn(u32),
}

#[derive(Default)]
struct Collect(Vec<Owned>);

impl Probe for Collect {
    fn obs(&mut self, field: &str, raw: &str, o: Obs<'_>) {
        let kind = match o {
            Obs::Ip(k) => OwnedKind::Ip(k),
            Obs::Domain(d) => OwnedKind::Text(IocType::Domain, d.to_string()),
            Obs::Url(u) => OwnedKind::Text(IocType::Url, u.to_string()),
            Obs::Uri(u) => OwnedKind::Text(IocType::UriPath, u.to_string()),
            Obs::Hash(a, b) => OwnedKind::Hash(a, b.iter().map(|x| format!("{x:02x}")).collect()),
            Obs::FileName(f) => OwnedKind::Text(IocType::FileName, f.to_string()),
            Obs::Email(e) => OwnedKind::Text(IocType::Email, e.to_string()),
            Obs::UserAgent(u) => OwnedKind::Text(IocType::UserAgent, u.to_string()),
            Obs::CommandLine(c) => OwnedKind::Text(IocType::CommandLine, c.to_string()),
            Obs::Registry(k) => OwnedKind::Text(IocType::RegistryKey, k.to_string()),
            Obs::Port { dst, port } => OwnedKind::Port(dst, port),
            Obs::Asn(a) => OwnedKind::Asn(a),
        };
        self.0.push(Owned {
            field: field.to_string(),
            raw: raw.to_string(),
            kind,
        });
    }
}

fn visit<P: Probe>(event: &Event, mask: u32, p: &mut P) {
    let mut buf = String::new();
    event.fields.for_each_leaf(|path, v| match v {
        Value::Str(s) => extract::string(mask, path, s, &mut buf, p),
        Value::Int(i) => extract::number(mask, path, *i, p),
        Value::UInt(u) => {
            if let Ok(i) = i64::try_from(*u) {
                extract::number(mask, path, i, p);
            }
        }
        _ => {}
    });
    if let Some(h) = &event.host {
        extract::string(mask & (cat::IP | cat::DOMAIN), "host", h, &mut buf, p);
    }
}

/// Whether an observation is of the kind an atom tests, and its text.
fn applies<'o>(a: &Atom, o: &'o Owned) -> Option<std::borrow::Cow<'o, str>> {
    use std::borrow::Cow;
    match (&o.kind, a.target) {
        (OwnedKind::Ip(k), IocType::Ip | IocType::Cidr) => Some(Cow::Owned(canonical_ip(*k))),
        (OwnedKind::Hash(alg, hex), IocType::Hash(want)) if *alg == want => {
            Some(Cow::Borrowed(hex))
        }
        (OwnedKind::Text(t, s), want) if *t == want => Some(Cow::Borrowed(s)),
        (OwnedKind::Port(dst, p), IocType::DstPort | IocType::SrcPort)
            if *dst == (a.target == IocType::DstPort) =>
        {
            Some(Cow::Owned(p.to_string()))
        }
        (OwnedKind::Asn(n), IocType::Asn) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

fn test_holds(a: &Atom, o: &Owned, text: &str) -> bool {
    match &a.test {
        Test::Eq(k) => match a.target {
            IocType::Domain => {
                text == &**k
                    || (text.ends_with(&**k) && text[..text.len() - k.len()].ends_with('.'))
            }
            _ => text == &**k,
        },
        Test::Cidr(net) => match o.kind {
            OwnedKind::Ip(k) => {
                let v6 = std::net::Ipv6Addr::from(k);
                let ip = v6
                    .to_ipv4_mapped()
                    .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4);
                net.contains(&ip)
            }
            _ => false,
        },
        Test::Regex(re) => re.is_match(text),
        Test::Num(op, n) => match text.parse::<i64>() {
            Ok(v) => match op {
                NumOp::Eq => v == *n,
                NumOp::Lt => v < *n,
                NumOp::Le => v <= *n,
                NumOp::Gt => v > *n,
                NumOp::Ge => v >= *n,
            },
            Err(_) => false,
        },
    }
}

/// Evaluate atoms on the slow path; returns the first observation that
/// satisfied an atom (for display) and a note, or `None` if any fails.
fn eval_all<'o>(atoms: &[Atom], obs: &'o [Owned]) -> Option<(Option<&'o Owned>, Option<String>)> {
    let mut first = None;
    let mut note = None;
    for a in atoms {
        let mut seen = false;
        let mut ok = None;
        for o in obs {
            if let Some(text) = applies(a, o) {
                seen = true;
                if test_holds(a, o, &text) != a.negated {
                    ok = Some(o);
                    break;
                }
            }
        }
        match ok {
            Some(o) => {
                first.get_or_insert(o);
            }
            None if !seen && matches!(a.target, IocType::DstPort | IocType::SrcPort) => {
                note = Some("port not checked: the event has no port field".to_string());
            }
            None => return None,
        }
    }
    Some((first, note))
}

impl IocSet {
    /// Match one event against every indicator; matches are appended to
    /// `out` (at most one per indicator per event).
    pub fn match_event(&self, event: &Event, out: &mut Vec<IocMatch>) {
        if self.indicators.is_empty() {
            return;
        }
        let mut fast = Fast {
            idx: &self.idx,
            hits: Vec::new(),
            seen: hashbrown::HashSet::new(),
        };
        if self.idx.mask != 0 {
            visit(event, self.idx.mask, &mut fast);
        }
        let mut hits = fast.hits;
        if hits.is_empty() && self.idx.scan.is_empty() {
            return;
        }
        hits.sort_by_key(|h| h.r);
        let mut slow: Option<Vec<Owned>> = None;
        // The slow path extracts only the categories its atoms test:
        // copying every value as a user agent or command line is costly.
        let mut slow_mask = self.idx.scan_mask;
        for h in &hits {
            for a in self.indicators[h.r.ind as usize].conjs[h.r.conj as usize]
                .rest
                .iter()
            {
                slow_mask |= crate::set::cat_of(a.target);
            }
        }
        let observe = |slow: &mut Option<Vec<Owned>>| {
            if slow.is_none() {
                let mut c = Collect::default();
                visit(event, slow_mask, &mut c);
                *slow = Some(c.0);
            }
        };
        let start = out.len();
        for h in &hits {
            if out[start..].iter().any(|m| m.indicator == h.r.ind as usize) {
                continue;
            }
            let ind = &self.indicators[h.r.ind as usize];
            let Some(valid_note) = self.eligible(ind, event) else {
                continue;
            };
            let rest = &ind.conjs[h.r.conj as usize].rest;
            // STIX `=` and a MISP `domain` are exact; matching the names
            // under an indicator's domain is kahu's choice, so say so.
            let under = h.under.as_ref().map(|d| {
                format!(
                    "subdomain match: {} is under the indicator's domain {}, which the indicator names exactly",
                    clip_marked(d, 256),
                    clip_marked(&ind.value, 256)
                )
            });
            let mut note = join(valid_note, under);
            if !rest.is_empty() {
                observe(&mut slow);
                match eval_all(rest, slow.as_deref().unwrap_or(&[])) {
                    Some((_, n)) => note = join(note, n),
                    None => continue,
                }
            }
            out.push(IocMatch {
                indicator: h.r.ind as usize,
                field: h.field.clone(),
                value: h.raw.clone(),
                note,
            });
        }
        for r in &self.idx.scan {
            if out[start..].iter().any(|m| m.indicator == r.ind as usize) {
                continue;
            }
            let ind = &self.indicators[r.ind as usize];
            let Some(valid_note) = self.eligible(ind, event) else {
                continue;
            };
            observe(&mut slow);
            let atoms = &ind.conjs[r.conj as usize].rest;
            if let Some((Some(o), n)) = eval_all(atoms, slow.as_deref().unwrap_or(&[])) {
                out.push(IocMatch {
                    indicator: r.ind as usize,
                    field: o.field.clone(),
                    value: o.raw.clone(),
                    note: join(valid_note, n),
                });
            }
        }
    }

    /// `None` if the indicator must not match this event (context only,
    /// outside validity); otherwise an optional note.
    fn eligible(&self, ind: &Indicator, event: &Event) -> Option<Option<String>> {
        if !ind.detect && !self.match_context {
            return None;
        }
        let m = &ind.meta;
        if m.valid_from.is_none() && m.valid_until.is_none() {
            return Some(None);
        }
        let day = |t: &kahu_event::Timestamp| t.format("%Y-%m-%d").to_string();
        match event.timestamp {
            Some(t) => {
                let early = m.valid_from.filter(|f| t < *f);
                let late = m.valid_until.filter(|u| t >= *u);
                match (early, late) {
                    (None, None) => Some(None),
                    _ if self.strict_validity => None,
                    (Some(f), _) => Some(Some(format!(
                        "outside the indicator's validity window: the event predates valid_from {} (often the publication date: activity before the indicator was known)",
                        day(&f)
                    ))),
                    (None, Some(u)) => Some(Some(format!(
                        "outside the indicator's validity window: the event is after valid_until {} (the indicator had expired; infrastructure may have changed hands)",
                        day(&u)
                    ))),
                }
            }
            None => Some(Some(
                "event has no timestamp: indicator validity window not checked".into(),
            )),
        }
    }

    /// Turn a match into a finding about `event`.
    pub fn to_finding(&self, m: &IocMatch, event: &Event) -> Finding {
        let ind = &self.indicators[m.indicator];
        let meta = &ind.meta;
        let mut fields: Vec<(Arc<str>, String)> = vec![
            (Arc::from(m.field.as_str()), clip_marked(&m.value, 2048)),
            (
                Arc::from("ioc"),
                format!("{} {}", ind.ioc_type.as_str(), clip_marked(&ind.value, 512)),
            ),
            (Arc::from("ioc_source"), meta.source.to_string()),
        ];
        if let Some(c) = meta.confidence {
            fields.push((Arc::from("ioc_confidence"), c.to_string()));
        }
        if let Some(t) = meta.tlp {
            fields.push((Arc::from("ioc_tlp"), t.label().to_string()));
        }
        if let Some(n) = &m.note {
            fields.push((Arc::from("ioc_note"), n.clone()));
        }
        if let Some(d) = &meta.downgrade {
            fields.push((Arc::from("ioc_downgrade"), d.to_string()));
        }
        for (k, v) in kahu_finding::key_fields(event, 8) {
            if !fields.iter().any(|(f, _)| *f == k) {
                fields.push((k, v));
            }
        }
        Finding {
            kind: FindingKind::Ioc,
            rule_id: Arc::from(ind.id().as_ref()),
            title: Arc::from(ind.title()),
            level: level_of(ind),
            techniques: meta.techniques.clone(),
            software: meta.software.clone(),
            groups: meta.groups.clone(),
            timestamp: event.timestamp,
            host: event.host.clone(),
            channel: event.channel.clone(),
            event_id: event.event_id,
            fields,
            provenance: event.provenance.clone(),
            related: Vec::new(),
        }
    }

    /// Match one event and convert every match to a finding.
    pub fn findings_for(&self, event: &Event) -> Vec<Finding> {
        let mut ms = Vec::new();
        self.match_event(event, &mut ms);
        ms.iter().map(|m| self.to_finding(m, event)).collect()
    }
}

impl kahu_finding::Detector for IocSet {
    fn inspect(&self, event: &Event, out: &mut Vec<Finding>) {
        if self.is_empty() {
            return;
        }
        for mut f in self.findings_for(event) {
            // Lineage and logon-session ids let reconstruction chain an
            // indicator hit into the incident around it.
            f.fields.extend(kahu_finding::correlation_fields(event));
            out.push(f);
        }
    }
}

fn join(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}

/// Severity of a match: by how specific the observable is, raised for
/// high feed confidence and lowered for low confidence; context
/// indicators are informational.
pub fn level_of(ind: &Indicator) -> Level {
    if !ind.detect {
        return Level::Informational;
    }
    let base = match ind.ioc_type {
        IocType::Hash(_) | IocType::Url | IocType::CommandLine | IocType::Pattern => Level::High,
        IocType::Ip
        | IocType::Domain
        | IocType::Email
        | IocType::UserAgent
        | IocType::RegistryKey
        | IocType::UriPath => Level::Medium,
        IocType::Cidr | IocType::FileName | IocType::Asn | IocType::DstPort | IocType::SrcPort => {
            Level::Low
        }
    };
    // A pattern matched more loosely than written (FOLLOWEDBY, WITHIN…
    // evaluated per event) is weaker evidence.
    let base = match (base, &ind.meta.downgrade) {
        (Level::High, Some(_)) => Level::Medium,
        (Level::Medium, Some(_)) => Level::Low,
        (l, _) => l,
    };
    match ind.meta.confidence {
        Some(c) if c >= 85 => match base {
            Level::High => Level::Critical,
            Level::Medium => Level::High,
            Level::Low => Level::Medium,
            l => l,
        },
        Some(c) if c <= 30 => match base {
            Level::High => Level::Medium,
            Level::Medium => Level::Low,
            l => l,
        },
        _ => base,
    }
}
