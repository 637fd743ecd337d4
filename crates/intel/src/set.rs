//! [`IocSet`]: the loaded indicators and their lookup indexes.

use crate::compile::{canonical_key, parse_asn};
use crate::indicator::{Atom, Conj, IdRepr, Indicator, IndicatorMeta, IocType, NumOp, Test};
use crate::normalize::{self, HashAlg};
use hashbrown::HashMap;
use smallvec::SmallVec;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Points at one conjunction of one indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Ref {
    pub ind: u32,
    pub conj: u32,
}

pub(crate) type Refs = SmallVec<[Ref; 1]>;

/// Observable categories, as bits, so extraction can skip what no
/// indicator asks for.
pub(crate) mod cat {
    pub(crate) const IP: u32 = 1;
    pub(crate) const DOMAIN: u32 = 1 << 1;
    pub(crate) const URL: u32 = 1 << 2;
    pub(crate) const URI: u32 = 1 << 3;
    pub(crate) const HASH: u32 = 1 << 4;
    pub(crate) const FILENAME: u32 = 1 << 5;
    pub(crate) const EMAIL: u32 = 1 << 6;
    pub(crate) const UA: u32 = 1 << 7;
    pub(crate) const CMDLINE: u32 = 1 << 8;
    pub(crate) const REGKEY: u32 = 1 << 9;
    pub(crate) const PORT: u32 = 1 << 10;
    pub(crate) const ASN: u32 = 1 << 11;
}

/// The category bit of an observable type.
pub(crate) fn cat_of(t: IocType) -> u32 {
    match t {
        IocType::Ip | IocType::Cidr => cat::IP,
        IocType::Domain => cat::DOMAIN,
        IocType::Url => cat::URL,
        IocType::UriPath => cat::URI,
        IocType::Hash(_) => cat::HASH,
        IocType::FileName => cat::FILENAME,
        IocType::Email => cat::EMAIL,
        IocType::UserAgent => cat::UA,
        IocType::CommandLine => cat::CMDLINE,
        IocType::RegistryKey => cat::REGKEY,
        IocType::DstPort | IocType::SrcPort => cat::PORT,
        IocType::Asn => cat::ASN,
        IocType::Pattern => 0,
    }
}

/// Hash tables from canonical keys to the conjunctions they anchor.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub ip: HashMap<u128, Refs>,
    /// Networks by (prefix length in the u128 key space, masked key).
    pub cidr: HashMap<(u8, u128), Refs>,
    /// Distinct prefix lengths present, so a lookup probes only those.
    pub cidr_lens: Vec<u8>,
    pub domain: HashMap<Box<str>, Refs>,
    pub url: HashMap<Box<str>, Refs>,
    pub uri: HashMap<Box<str>, Refs>,
    pub md5: HashMap<[u8; 16], Refs>,
    pub sha1: HashMap<[u8; 20], Refs>,
    pub sha256: HashMap<[u8; 32], Refs>,
    pub sha512: HashMap<[u8; 64], Refs>,
    pub filename: HashMap<Box<str>, Refs>,
    pub email: HashMap<Box<str>, Refs>,
    pub ua: HashMap<Box<str>, Refs>,
    pub cmdline: HashMap<Box<str>, Refs>,
    pub regkey: HashMap<Box<str>, Refs>,
    pub dst_port: HashMap<u16, Refs>,
    pub src_port: HashMap<u16, Refs>,
    pub asn: HashMap<u32, Refs>,
    /// Conjunctions with no indexable test, checked on every event.
    pub scan: Vec<Ref>,
    /// Categories that any anchored conjunction needs.
    pub mask: u32,
    /// Categories that scan conjunctions need.
    pub scan_mask: u32,
}

/// What went wrong or was loosened while loading one indicator or line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoadIssue {
    /// Feed file.
    pub source: Arc<str>,
    /// Indicator id (STIX id, MISP uuid), when known.
    pub indicator: Option<String>,
    /// 1-based line (text feeds).
    pub line: Option<u64>,
    /// Severity of the issue.
    pub kind: IssueKind,
    /// What happened, in words an analyst can act on.
    pub reason: String,
}

/// How serious a [`LoadIssue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// The indicator was not loaded: kahu cannot evaluate it.
    Unsupported,
    /// The indicator was not loaded: its content is malformed.
    Invalid,
    /// The indicator was loaded but matches more loosely than written.
    Downgraded,
    /// Loaded as context only, or information worth knowing.
    Note,
}

impl fmt::Display for LoadIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(i) = &self.indicator {
            write!(f, " {i}")?;
        }
        let k = match self.kind {
            IssueKind::Unsupported => "unsupported",
            IssueKind::Invalid => "invalid",
            IssueKind::Downgraded => "downgraded",
            IssueKind::Note => "note",
        };
        write!(f, ": {k}: {}", self.reason)
    }
}

/// Summary of one load.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LoadReport {
    /// Detection indicators added.
    pub loaded: usize,
    /// Context-only indicators added (not reported unless asked).
    pub context: usize,
    /// Problems, downgrades and notes, one per indicator or line.
    pub issues: Vec<LoadIssue>,
}

impl LoadReport {
    pub(crate) fn merge(&mut self, o: LoadReport) {
        self.loaded += o.loaded;
        self.context += o.context;
        self.issues.extend(o.issues);
    }
}

/// Errors that stop a whole feed from loading.
#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The feed or rule file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("{file}:{line}:{column}: {message}")]
    Json {
        /// The feed file.
        file: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What serde_json said.
        message: String,
    },
    /// The content is not a feed kahu understands.
    #[error("{file}: {message}")]
    Format {
        /// The feed file.
        file: String,
        /// Why.
        message: String,
    },
    /// A YARA rule file failed to compile.
    #[error("{file}: YARA: {message}")]
    Yara {
        /// The rule file.
        file: String,
        /// The compiler diagnostic.
        message: String,
    },
}

impl IntelError {
    pub(crate) fn json(file: &str, e: serde_json::Error) -> Self {
        IntelError::Json {
            file: file.to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}

/// A set of indicators of compromise, indexed for per-event matching.
///
/// Load feeds with the `load_*` methods (they can be mixed), then call
/// [`IocSet::match_event`] for every event. Lookups are hash probes on
/// canonical values, so cost per event depends on the event's size, not
/// on the number of indicators.
#[derive(Debug, Default)]
pub struct IocSet {
    pub(crate) indicators: Vec<Indicator>,
    pub(crate) idx: Index,
    pub(crate) match_context: bool,
    pub(crate) strict_validity: bool,
}

/// A decoded hash key for the hash tables.
pub(crate) fn hash_bytes(alg: HashAlg, hex: &str) -> Option<[u8; 64]> {
    let mut buf = [0u8; 64];
    let (a, _) = normalize::decode_hash(hex, &mut buf)?;
    (a == alg).then_some(buf)
}

fn push(refs: &mut Refs, r: Ref) {
    refs.push(r);
}

fn anchor_rank(a: &Atom) -> Option<u8> {
    if a.negated {
        return None;
    }
    let base = match (&a.test, a.target) {
        (Test::Eq(_), IocType::Hash(_)) => 0,
        (Test::Eq(_), IocType::Url) => 1,
        (Test::Eq(_), IocType::Email) => 2,
        (Test::Eq(_), IocType::Ip) => 3,
        (Test::Eq(_), IocType::Domain) => 4,
        (Test::Eq(_), IocType::UriPath) => 5,
        (Test::Eq(_), IocType::RegistryKey) => 6,
        (Test::Eq(_), IocType::CommandLine) => 7,
        (Test::Eq(_), IocType::UserAgent) => 8,
        (Test::Eq(_), IocType::FileName) => 9,
        (Test::Num(NumOp::Eq, _), IocType::Asn) => 10,
        (Test::Cidr(_), _) => 11,
        (Test::Num(NumOp::Eq, _), IocType::DstPort | IocType::SrcPort) => 12,
        _ => return None,
    };
    Some(base)
}

impl IocSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of indicators (detections and context).
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    /// `true` when nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// All indicators, in load order; [`IocMatch::indicator`](crate::IocMatch) indexes this.
    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    /// Give every indicator loaded from index `from` on that its feed left
    /// unmarked the TLP level `tlp`, and return how many were marked. A
    /// feed's own markings are never loosened. Indicators sharing one
    /// context keep sharing it.
    pub fn mark_unmarked(&mut self, from: usize, tlp: crate::Tlp) -> usize {
        let mut remarked: HashMap<*const IndicatorMeta, Arc<IndicatorMeta>> = HashMap::new();
        let mut count = 0;
        for ind in self.indicators.iter_mut().skip(from) {
            if ind.meta.tlp.is_some() {
                continue;
            }
            let key = Arc::as_ptr(&ind.meta);
            let marked = remarked
                .entry(key)
                .or_insert_with(|| {
                    let mut m = (*ind.meta).clone();
                    m.tlp = Some(tlp);
                    Arc::new(m)
                })
                .clone();
            ind.meta = marked;
            count += 1;
        }
        count
    }

    /// Report matches of context indicators (MISP `to_ids: false`, bare
    /// STIX observables) too, at informational level. Off by default.
    pub fn set_match_context(&mut self, on: bool) {
        self.match_context = on;
    }

    /// Match indicators only inside their STIX `valid_from`/`valid_until`
    /// window. Off by default: OpenCTI and MISP set `valid_from` to the
    /// publication date, so a strict window makes a new indicator blind to
    /// the older logs a retro-hunt is for; hits outside the window are
    /// reported with a note saying so instead.
    pub fn set_strict_validity(&mut self, on: bool) {
        self.strict_validity = on;
    }

    /// Load a feed file, choosing the reader from its content: JSON with
    /// `"type": "bundle"` → STIX, JSON with `Event` → MISP, a directory
    /// with `manifest.json` → MISP feed, another directory → each file in
    /// it, `.csv`/`.tsv` or a delimited header → CSV, anything else →
    /// plain list. Only regular files of at most
    /// [`MAX_FEED_BYTES`](crate::MAX_FEED_BYTES) are read: a FIFO, a
    /// device or a larger file is an error saying so.
    pub fn load_path(&mut self, path: &Path) -> Result<LoadReport, IntelError> {
        let file = path.display().to_string();
        if path.is_dir() {
            if path.join("manifest.json").is_file() {
                return crate::misp::load_feed_dir(self, path);
            }
            return self.load_dir(path);
        }
        let bytes = crate::feedfile::read_feed(path)?;
        self.load_bytes(&bytes, &file)
    }

    /// Every regular file directly in `dir` (sorted, hidden files
    /// skipped); a file that fails to load becomes an issue, not an error.
    fn load_dir(&mut self, dir: &Path) -> Result<LoadReport, IntelError> {
        let file = dir.display().to_string();
        let rd = std::fs::read_dir(dir).map_err(|source| IntelError::Io {
            file: file.clone(),
            source,
        })?;
        let mut paths: Vec<_> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .collect();
        paths.sort();
        let mut report = LoadReport::default();
        for p in paths {
            match self.load_path(&p) {
                Ok(r) => report.merge(r),
                Err(e) => report.issues.push(LoadIssue {
                    source: Arc::from(p.display().to_string()),
                    indicator: None,
                    line: None,
                    kind: IssueKind::Invalid,
                    reason: e.to_string(),
                }),
            }
        }
        Ok(report)
    }

    /// Load feed content already in memory; `source` names it in
    /// provenance and errors.
    pub fn load_bytes(&mut self, bytes: &[u8], source: &str) -> Result<LoadReport, IntelError> {
        let head = &bytes[..bytes.len().min(4096)];
        let trimmed = head
            .iter()
            .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
        let first = trimmed.map(|i| head[i]);
        if matches!(first, Some(b'{') | Some(b'[')) {
            let text = String::from_utf8_lossy(head);
            if text.contains("\"Event\"") || text.contains("\"Attribute\"") {
                return crate::misp::load_event(self, bytes, source);
            }
            return crate::stix::load_bundle(self, bytes, source);
        }
        let text = String::from_utf8_lossy(bytes);
        let lower = source.to_ascii_lowercase();
        if lower.ends_with(".csv") || lower.ends_with(".tsv") || crate::text::looks_like_csv(&text)
        {
            Ok(crate::text::load_csv(self, &text, source))
        } else {
            Ok(crate::text::load_list(self, &text, source))
        }
    }

    /// Add one simple indicator of a known type. Returns `false` (adding
    /// nothing) if the value is not valid for the type.
    pub(crate) fn add_simple(
        &mut self,
        id: IdRepr,
        t: IocType,
        value: &str,
        detect: bool,
        meta: &Arc<IndicatorMeta>,
    ) -> bool {
        let atom = match simple_atom(t, value) {
            Some(a) => a,
            None => return false,
        };
        let shown = match &atom.test {
            Test::Eq(k) => k.to_string(),
            Test::Cidr(n) => n.to_string(),
            Test::Num(_, n) => n.to_string(),
            Test::Regex(r) => r.as_str().to_string(),
        };
        self.add_compiled(
            id,
            t,
            shown.into(),
            None,
            detect,
            meta.clone(),
            vec![vec![atom]],
        );
        true
    }

    /// Add an indicator with compiled alternatives.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add_compiled(
        &mut self,
        id: IdRepr,
        t: IocType,
        value: Box<str>,
        pattern: Option<Box<str>>,
        detect: bool,
        meta: Arc<IndicatorMeta>,
        alternatives: Vec<Vec<Atom>>,
    ) {
        let Ok(ind) = u32::try_from(self.indicators.len()) else {
            return; // 4 billion indicators: refuse quietly rather than wrap.
        };
        let mut conjs = SmallVec::with_capacity(alternatives.len());
        for (ci, mut atoms) in alternatives.into_iter().enumerate() {
            let r = Ref {
                ind,
                conj: ci as u32,
            };
            let anchor = atoms
                .iter()
                .enumerate()
                .filter_map(|(i, a)| anchor_rank(a).map(|k| (k, i)))
                .min()
                .map(|(_, i)| i);
            match anchor {
                Some(i) => {
                    let a = atoms.remove(i);
                    self.index_atom(&a, r);
                }
                None => {
                    for a in &atoms {
                        self.idx.scan_mask |= cat_of(a.target);
                    }
                    self.idx.scan.push(r);
                }
            }
            conjs.push(Conj {
                rest: atoms.into_boxed_slice(),
            });
        }
        self.indicators.push(Indicator {
            id,
            ioc_type: t,
            value,
            pattern,
            detect,
            meta,
            conjs,
        });
    }

    fn index_atom(&mut self, a: &Atom, r: Ref) {
        let idx = &mut self.idx;
        idx.mask |= cat_of(a.target);
        match (&a.test, a.target) {
            (Test::Eq(k), IocType::Ip) => {
                if let Some(ip) = normalize::parse_ip(k) {
                    push(idx.ip.entry(normalize::ip_key(ip)).or_default(), r);
                }
            }
            (Test::Eq(k), IocType::Hash(alg)) => {
                if let Some(b) = hash_bytes(alg, k) {
                    let e = match alg {
                        HashAlg::Md5 => idx.md5.entry(first(&b)).or_default(),
                        HashAlg::Sha1 => idx.sha1.entry(first(&b)).or_default(),
                        HashAlg::Sha256 => idx.sha256.entry(first(&b)).or_default(),
                        HashAlg::Sha512 => idx.sha512.entry(b).or_default(),
                    };
                    push(e, r);
                }
            }
            (Test::Eq(k), t) => {
                let map = match t {
                    IocType::Domain => &mut idx.domain,
                    IocType::Url => &mut idx.url,
                    IocType::UriPath => &mut idx.uri,
                    IocType::FileName => &mut idx.filename,
                    IocType::Email => &mut idx.email,
                    IocType::UserAgent => &mut idx.ua,
                    IocType::CommandLine => &mut idx.cmdline,
                    IocType::RegistryKey => &mut idx.regkey,
                    _ => return,
                };
                push(map.entry(k.clone()).or_default(), r);
            }
            (Test::Cidr(net), _) => {
                let ip = net.network();
                let len = normalize::key_prefix_len(ip, net.prefix_len());
                let key = normalize::mask(normalize::ip_key(ip), len);
                push(idx.cidr.entry((len, key)).or_default(), r);
                if let Err(pos) = idx.cidr_lens.binary_search_by(|x| len.cmp(x)) {
                    idx.cidr_lens.insert(pos, len);
                }
            }
            (Test::Num(_, n), IocType::Asn) => {
                if let Ok(n) = u32::try_from(*n) {
                    push(idx.asn.entry(n).or_default(), r);
                }
            }
            (Test::Num(_, n), IocType::DstPort | IocType::SrcPort) => {
                if let Ok(p) = u16::try_from(*n) {
                    let m = if a.target == IocType::DstPort {
                        &mut idx.dst_port
                    } else {
                        &mut idx.src_port
                    };
                    push(m.entry(p).or_default(), r);
                }
            }
            _ => {}
        }
    }
}

fn first<const N: usize>(b: &[u8; 64]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[..N]);
    out
}

/// The atom for a typed value from a feed (`ip-dst`, `sha256`…).
pub(crate) fn simple_atom(t: IocType, value: &str) -> Option<Atom> {
    let test = match t {
        IocType::Cidr => Test::Cidr(value.trim().parse::<ipnet::IpNet>().ok()?.trunc()),
        IocType::Ip if value.contains('/') => {
            return simple_atom(IocType::Cidr, value).map(|mut a| {
                a.target = IocType::Cidr;
                a
            });
        }
        IocType::DstPort | IocType::SrcPort => {
            Test::Num(NumOp::Eq, value.trim().parse::<u16>().ok()?.into())
        }
        IocType::Asn => Test::Num(NumOp::Eq, parse_asn(value)?.into()),
        IocType::Pattern => return None,
        _ => Test::Eq(canonical_key(t, value)?.into()),
    };
    Some(Atom {
        target: t,
        test,
        negated: false,
    })
}
