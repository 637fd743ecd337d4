//! Indicators and their compiled form.

use crate::normalize::HashAlg;
use kahu_event::Timestamp;
use regex::Regex;
use std::borrow::Cow;
use std::sync::Arc;

/// What kind of observable an indicator (or one test inside it) is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IocType {
    /// IPv4 or IPv6 address.
    Ip,
    /// IPv4 or IPv6 network (CIDR).
    Cidr,
    /// Domain name; also matches its subdomains.
    Domain,
    /// Full URL (canonicalised).
    Url,
    /// URL path only (MISP `uri`).
    UriPath,
    /// File hash.
    Hash(HashAlg),
    /// File name (matched against the basename of paths, case-insensitive).
    FileName,
    /// E-mail address.
    Email,
    /// HTTP user agent (exact).
    UserAgent,
    /// Process command line (exact, trimmed).
    CommandLine,
    /// Windows registry key (case-insensitive, hive abbreviated).
    RegistryKey,
    /// Destination port.
    DstPort,
    /// Source port.
    SrcPort,
    /// Autonomous system number.
    Asn,
    /// A STIX pattern combining several tests.
    Pattern,
}

impl IocType {
    /// Short name for display and CSV export.
    pub fn as_str(self) -> &'static str {
        match self {
            IocType::Ip => "ip",
            IocType::Cidr => "cidr",
            IocType::Domain => "domain",
            IocType::Url => "url",
            IocType::UriPath => "uri",
            IocType::Hash(HashAlg::Md5) => "md5",
            IocType::Hash(HashAlg::Sha1) => "sha1",
            IocType::Hash(HashAlg::Sha256) => "sha256",
            IocType::Hash(HashAlg::Sha512) => "sha512",
            IocType::FileName => "filename",
            IocType::Email => "email",
            IocType::UserAgent => "user-agent",
            IocType::CommandLine => "command-line",
            IocType::RegistryKey => "regkey",
            IocType::DstPort => "dst-port",
            IocType::SrcPort => "src-port",
            IocType::Asn => "asn",
            IocType::Pattern => "stix-pattern",
        }
    }
}

/// Which feed format an indicator came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedFormat {
    /// STIX 2.1 bundle.
    Stix,
    /// MISP event JSON (single event or feed member).
    Misp,
    /// CSV with or without header.
    Csv,
    /// Plain list, one value per line.
    Text,
}

/// Context shared by one or many indicators (a STIX indicator has its
/// own; all lines of a plain list share one).
#[derive(Debug, Clone, Default)]
pub struct IndicatorMeta {
    /// Feed file the indicator was loaded from.
    pub source: Arc<str>,
    /// Feed format.
    pub format: Option<FeedFormat>,
    /// Title (STIX `name`, MISP event `info`).
    pub name: Option<Arc<str>>,
    /// Free-text description or comment.
    pub description: Option<Arc<str>>,
    /// Confidence 0–100, where the feed gives one.
    pub confidence: Option<u8>,
    /// Start of validity; events before it do not match.
    pub valid_from: Option<Timestamp>,
    /// End of validity; events at or after it do not match.
    pub valid_until: Option<Timestamp>,
    /// STIX `labels` and MISP tags.
    pub labels: Vec<Arc<str>>,
    /// STIX `indicator_types`.
    pub indicator_types: Vec<Arc<str>>,
    /// ATT&CK technique ids (`T1505.003`).
    pub techniques: Vec<Arc<str>>,
    /// ATT&CK software ids (`S0020`).
    pub software: Vec<Arc<str>>,
    /// ATT&CK group ids (`G0065`).
    pub groups: Vec<Arc<str>>,
    /// Why the indicator matches more loosely than its feed says, if it does.
    pub downgrade: Option<Arc<str>>,
    /// The strictest TLP marking the feed gave it (STIX marking, MISP tag).
    pub tlp: Option<crate::Tlp>,
}

/// How an indicator is identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdRepr {
    /// The feed's own id (STIX id, MISP attribute uuid, CSV id column).
    Named(Arc<str>),
    /// Line number in a list without ids; rendered as `file:line`.
    Line(u64),
}

/// One indicator of compromise.
#[derive(Debug, Clone)]
pub struct Indicator {
    pub(crate) id: IdRepr,
    /// Primary observable type.
    pub ioc_type: IocType,
    /// Primary value as given (canonicalised), or the STIX pattern text.
    pub value: Box<str>,
    /// STIX pattern, when the feed gave one (otherwise derived on export).
    pub(crate) pattern: Option<Box<str>>,
    /// `true` for detections; `false` for context (MISP `to_ids: false`,
    /// bare STIX observables), reported only when context matching is on.
    pub detect: bool,
    /// Shared context.
    pub meta: Arc<IndicatorMeta>,
    /// Compiled tests: the indicator matches when any conjunction holds.
    /// Inline for the usual single alternative: one less allocation per
    /// indicator at feed scale.
    pub(crate) conjs: smallvec::SmallVec<[Conj; 1]>,
}

impl Indicator {
    /// Stable id: the feed's id, or `file:line` for lists without ids.
    pub fn id(&self) -> Cow<'_, str> {
        match &self.id {
            IdRepr::Named(s) => Cow::Borrowed(s),
            IdRepr::Line(l) => Cow::Owned(format!("{}:{l}", self.meta.source)),
        }
    }

    /// Title for findings: the feed's name, else `type value`.
    pub fn title(&self) -> String {
        match &self.meta.name {
            Some(n) if self.ioc_type == IocType::Pattern => n.to_string(),
            Some(n) => format!("{n}: {} {}", self.ioc_type.as_str(), self.value),
            None => format!("IOC {} {}", self.ioc_type.as_str(), self.value),
        }
    }

    /// The STIX pattern equivalent to this indicator.
    pub fn stix_pattern(&self) -> String {
        if let Some(p) = &self.pattern {
            return p.to_string();
        }
        crate::stix::pattern_for(self.ioc_type, &self.value)
    }
}

/// One conjunction: all atoms must hold on the same event. The anchor
/// atom (if any) lives only in the index; `rest` holds the others.
#[derive(Debug, Clone)]
pub(crate) struct Conj {
    pub rest: Box<[Atom]>,
}

/// One test on one kind of observable.
#[derive(Debug, Clone)]
pub(crate) struct Atom {
    pub target: IocType,
    pub test: Test,
    pub negated: bool,
}

/// The comparison of an [`Atom`].
#[derive(Debug, Clone)]
pub(crate) enum Test {
    /// Equality against the canonical key.
    Eq(Box<str>),
    /// IP inside a network.
    Cidr(ipnet::IpNet),
    /// SQL `LIKE` or PCRE `MATCHES`, compiled; tested on the canonical text.
    Regex(Regex),
    /// Numeric comparison (ports, ASNs).
    Num(NumOp, i64),
}

/// Numeric comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}
