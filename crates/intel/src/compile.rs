//! From parsed STIX comparisons and typed feed values to matchable atoms.

use crate::indicator::{Atom, IocType, NumOp, Test};
use crate::normalize::{self, HashAlg};
use crate::pattern::{CmpOp, Comparison, Literal};
use regex::{Regex, RegexBuilder};

/// Canonical form of a value of the given type, or `None` if the value
/// is not of that type. Both feeds and events go through this.
pub(crate) fn canonical_key(t: IocType, v: &str) -> Option<String> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    match t {
        IocType::Ip => normalize::parse_ip(v).map(|ip| canonical_ip(normalize::ip_key(ip))),
        IocType::Cidr => v
            .parse::<ipnet::IpNet>()
            .ok()
            .map(|n| n.trunc().to_string()),
        IocType::Domain => normalize::normalize_domain(v),
        IocType::Url => normalize::normalize_url(v).map(|u| u.canonical),
        IocType::UriPath => canonical_path(v),
        IocType::Hash(alg) => {
            let mut buf = [0u8; 64];
            match normalize::decode_hash(v, &mut buf) {
                Some((a, _)) if a == alg => Some(v.to_ascii_lowercase()),
                _ => None,
            }
        }
        IocType::FileName => {
            let b = normalize::basename(v).trim();
            (!b.is_empty() && b.len() <= 255).then(|| b.to_lowercase())
        }
        IocType::Email => {
            let e = v.strip_prefix("mailto:").unwrap_or(v);
            let e = e.trim_matches(|c| c == '<' || c == '>');
            normalize::looks_like_email(e).then(|| e.to_ascii_lowercase())
        }
        IocType::UserAgent | IocType::CommandLine => Some(v.to_string()),
        IocType::RegistryKey => normalize::normalize_registry(v),
        IocType::DstPort | IocType::SrcPort => v.parse::<u16>().ok().map(|p| p.to_string()),
        IocType::Asn => parse_asn(v).map(|n| n.to_string()),
        IocType::Pattern => None,
    }
}

/// An IP key rendered back as text (IPv4 for mapped addresses).
pub(crate) fn canonical_ip(key: u128) -> String {
    let v6 = std::net::Ipv6Addr::from(key);
    match v6.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => v6.to_string(),
    }
}

/// Canonical URL path: leading `/`, unreserved escapes decoded, no
/// trailing `/` except for the root.
pub(crate) fn canonical_path(v: &str) -> Option<String> {
    if !v.starts_with('/') || v.len() > 8192 {
        return None;
    }
    let v = v.split(['?', '#']).next().unwrap_or(v);
    let mut p = normalize::decode_unreserved(v);
    while p.len() > 1 && p.ends_with('/') {
        p.pop();
    }
    Some(p)
}

/// `AS64500`, `as64500` or `64500`.
pub(crate) fn parse_asn(v: &str) -> Option<u32> {
    let d = v.trim();
    let d = d
        .strip_prefix("AS")
        .or_else(|| d.strip_prefix("as"))
        .unwrap_or(d);
    d.parse().ok()
}

/// Map a STIX object path to the observable type kahu matches it as.
fn target_of(c: &Comparison) -> Result<IocType, ComparisonError> {
    let path = c.path.to_ascii_lowercase();
    let obj = c.object.as_str();
    let t = match (obj, path.as_str()) {
        ("ipv4-addr" | "ipv6-addr", "value") => {
            if c.op == CmpOp::IsSubset || matches!(&c.value, Literal::Str(s) if s.contains('/')) {
                IocType::Cidr
            } else {
                IocType::Ip
            }
        }
        ("network-traffic", "dst_ref.value" | "src_ref.value") => match &c.value {
            Literal::Str(s) if s.contains('/') => IocType::Cidr,
            Literal::Str(s) if normalize::parse_ip(s).is_some() => IocType::Ip,
            _ => IocType::Domain,
        },
        ("domain-name", "value") => IocType::Domain,
        ("url", "value") => IocType::Url,
        ("file" | "artifact" | "x509-certificate", p) if p.starts_with("hashes.") => {
            let name = &c.path["hashes.".len()..];
            match HashAlg::from_name(name) {
                Some(alg) => IocType::Hash(alg),
                None => {
                    return Err(ComparisonError::HashAlgorithm(name.to_string()));
                }
            }
        }
        ("file", "name") | ("process", "name" | "image_ref.name") => IocType::FileName,
        ("email-addr", "value")
        | (
            "email-message",
            "from_ref.value" | "sender_ref.value" | "to_refs[*].value" | "cc_refs[*].value",
        ) => IocType::Email,
        ("network-traffic", "dst_port") => IocType::DstPort,
        ("network-traffic", "src_port") => IocType::SrcPort,
        ("network-traffic", "extensions.http-request-ext.request_header.user-agent") => {
            IocType::UserAgent
        }
        ("process", "command_line") => IocType::CommandLine,
        ("windows-registry-key", "key") => IocType::RegistryKey,
        ("autonomous-system", "number") => IocType::Asn,
        _ => {
            return Err(ComparisonError::ObjectPath {
                object: c.object.clone(),
                path: c.path.clone(),
            });
        }
    };
    Ok(t)
}

fn case_insensitive(t: IocType) -> bool {
    matches!(
        t,
        IocType::Domain
            | IocType::FileName
            | IocType::Email
            | IocType::RegistryKey
            | IocType::Hash(_)
    )
}

/// Compile one comparison into an atom.
pub(crate) fn compile_comparison(c: &Comparison) -> Result<Atom, ComparisonError> {
    let target = target_of(c)?;
    let numeric = matches!(target, IocType::DstPort | IocType::SrcPort | IocType::Asn);
    let test = match (c.op, &c.value) {
        (CmpOp::Eq, Literal::Int(n)) if numeric => Test::Num(NumOp::Eq, *n),
        (CmpOp::Eq, Literal::Str(s)) if numeric => {
            let n = if target == IocType::Asn {
                parse_asn(s).map(i64::from)
            } else {
                s.trim().parse().ok()
            };
            Test::Num(
                NumOp::Eq,
                n.ok_or_else(|| ComparisonError::NotANumber(s.clone()))?,
            )
        }
        (CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge, Literal::Int(n)) if numeric => {
            let op = match c.op {
                CmpOp::Lt => NumOp::Lt,
                CmpOp::Le => NumOp::Le,
                CmpOp::Gt => NumOp::Gt,
                _ => NumOp::Ge,
            };
            Test::Num(op, *n)
        }
        (CmpOp::Eq | CmpOp::IsSubset, Literal::Str(s)) if target == IocType::Cidr => {
            let net: ipnet::IpNet = s
                .trim()
                .parse()
                .or_else(|_| normalize::parse_ip(s).map(ipnet::IpNet::from).ok_or(()))
                .map_err(|_| ComparisonError::NotANetwork(s.clone()))?;
            Test::Cidr(net.trunc())
        }
        (CmpOp::Eq, Literal::Str(s)) => {
            let key = canonical_key(target, s).ok_or_else(|| ComparisonError::InvalidValue {
                value: s.clone(),
                target,
            })?;
            Test::Eq(key.into())
        }
        (CmpOp::Like, Literal::Str(s)) => Test::Regex(like_regex(s, case_insensitive(target))?),
        (CmpOp::Matches, Literal::Str(s)) => Test::Regex(
            RegexBuilder::new(s)
                .case_insensitive(case_insensitive(target))
                .size_limit(1 << 20)
                .build()
                .map_err(|e| ComparisonError::Regex(first_line(&e.to_string()).to_string()))?,
        ),
        (CmpOp::IsSuperset, _) => return Err(ComparisonError::IsSuperset),
        (op, v) => {
            return Err(ComparisonError::Operator {
                op: format!("{op:?}"),
                value: format!("{v:?}"),
                target,
            });
        }
    };
    Ok(Atom {
        target,
        test,
        negated: c.negated,
    })
}

/// Why a STIX pattern comparison is not matched; the feed reader reports
/// it with the indicator's id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ComparisonError {
    /// `hashes.X` with an algorithm kahu does not compute.
    #[error("hash algorithm `{0}` is not matched (MD5, SHA-1, SHA-256, SHA-512 are)")]
    HashAlgorithm(String),
    /// An object path kahu has no observable for.
    #[error("object path `{object}:{path}` is not matched by kahu")]
    ObjectPath {
        /// The object type (`file`).
        object: String,
        /// The property path (`size`).
        path: String,
    },
    /// A numeric observable compared to text that is no number.
    #[error("`{0}` is not a number")]
    NotANumber(String),
    /// A network comparison whose value is no network.
    #[error("`{0}` is not an IP network")]
    NotANetwork(String),
    /// A value that is not valid for its observable type.
    #[error("`{value}` is not a valid {} value", target.as_str())]
    InvalidValue {
        /// The value.
        value: String,
        /// The observable type.
        target: IocType,
    },
    /// A `MATCHES` regex the regex engine refuses.
    #[error("MATCHES regex not supported: {0}")]
    Regex(String),
    /// A `LIKE` pattern over the regex size limit.
    #[error("LIKE pattern too large: {0}")]
    LikeTooLarge(String),
    /// `ISSUPERSET`.
    #[error("ISSUPERSET is not supported")]
    IsSuperset,
    /// An operator and value kahu does not apply to this observable type.
    #[error("operator {op} with value {value} is not supported on {}", target.as_str())]
    Operator {
        /// The operator, as parsed.
        op: String,
        /// The value, as parsed.
        value: String,
        /// The observable type.
        target: IocType,
    },
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

/// SQL `LIKE` (`%` any run, `_` one character) as an anchored regex.
fn like_regex(s: &str, ci: bool) -> Result<Regex, ComparisonError> {
    let mut re = String::with_capacity(s.len() + 8);
    re.push_str("(?s)^");
    for ch in s.chars() {
        match ch {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            c => re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    re.push('$');
    RegexBuilder::new(&re)
        .case_insensitive(ci)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| ComparisonError::LikeTooLarge(first_line(&e.to_string()).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::parse;

    fn atom(p: &str) -> Result<Atom, ComparisonError> {
        compile_comparison(&parse(p).unwrap().alternatives[0][0])
    }

    #[test]
    fn paths_map_to_types() {
        assert_eq!(
            atom("[ipv4-addr:value = '10.0.0.0/8']").unwrap().target,
            IocType::Cidr
        );
        assert_eq!(
            atom("[ipv4-addr:value ISSUBSET '10.0.0.0/8']")
                .unwrap()
                .target,
            IocType::Cidr
        );
        assert_eq!(
            atom("[network-traffic:dst_ref.value = 'evil.com']")
                .unwrap()
                .target,
            IocType::Domain
        );
        assert_eq!(
            atom("[file:hashes.SHA256 = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855']").unwrap().target,
            IocType::Hash(HashAlg::Sha256)
        );
        assert_eq!(
            atom("[file:hashes.SSDEEP = '3:a:b']").unwrap_err(),
            ComparisonError::HashAlgorithm("SSDEEP".into())
        );
        assert!(
            atom("[mutex:name = 'x']")
                .unwrap_err()
                .to_string()
                .contains("mutex:name")
        );
        assert!(matches!(
            atom("[file:hashes.MD5 = 'nothex']"),
            Err(ComparisonError::InvalidValue { .. })
        ));
        assert_eq!(
            atom("[ipv4-addr:value ISSUPERSET '10.0.0.1']").unwrap_err(),
            ComparisonError::IsSuperset
        );
        assert!(matches!(
            atom("[url:value MATCHES '(?<=x)y']"),
            Err(ComparisonError::Regex(_))
        ));
    }

    #[test]
    fn like_is_anchored() {
        let a = atom("[file:name LIKE '%.as_x']").unwrap();
        let Test::Regex(re) = a.test else { panic!() };
        assert!(re.is_match("shell.aspx"));
        assert!(!re.is_match("shell.aspx.bak"));
    }
}
