//! Canonical forms of indicator values, shared by feed loading and event
//! matching so that both sides compare the same bytes.
//!
//! Everything here is cheap, allocation-free where the input is already
//! canonical, and total: hostile input yields `None`, never a panic.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP address as one `u128`, with IPv4 stored as its IPv4-mapped IPv6
/// form so both families share one hash table and one prefix table.
pub fn ip_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(v4.to_ipv6_mapped()),
            None => u128::from(v6),
        },
    }
}

/// Prefix length in the `u128` key space for a prefix of `len` bits of
/// an address of the given family (IPv4 prefixes sit under `::ffff:0:0/96`).
pub fn key_prefix_len(ip: IpAddr, len: u8) -> u8 {
    match ip {
        IpAddr::V4(_) => 96 + len.min(32),
        IpAddr::V6(_) => len.min(128),
    }
}

/// Mask a key to its first `len` bits.
pub fn mask(key: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else if len >= 128 {
        key
    } else {
        key & (!0u128 << (128 - len))
    }
}

/// Parse an IP address as found in evidence: plain, `[v6]`, `[v6]:port`,
/// `v4:port`, IPv4-mapped IPv6, and IPv6 with a zone (`fe80::1%eth0`).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let b = s.as_bytes();
    // Cheap reject: IPs are short and start with a hex digit, ':' or '['.
    if b.is_empty() || b.len() > 64 {
        return None;
    }
    if !(b[0].is_ascii_hexdigit() || b[0] == b':' || b[0] == b'[') {
        return None;
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        let inner = &rest[..end];
        let inner = inner.split('%').next().unwrap_or(inner);
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Some((host, port)) = s.rsplit_once(':')
        && !host.contains(':')
        && !port.is_empty()
        && port.bytes().all(|c| c.is_ascii_digit())
    {
        return host.parse::<Ipv4Addr>().ok().map(IpAddr::V4);
    }
    if let Some((addr, _zone)) = s.split_once('%') {
        return addr.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    None
}

/// Hash algorithms known by their hex length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashAlg {
    /// MD5 (also Sysmon `IMPHASH`, which has the same shape).
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// The algorithm a hex string of this length would be.
    pub fn from_hex_len(len: usize) -> Option<HashAlg> {
        match len {
            32 => Some(HashAlg::Md5),
            40 => Some(HashAlg::Sha1),
            64 => Some(HashAlg::Sha256),
            128 => Some(HashAlg::Sha512),
            _ => None,
        }
    }

    /// STIX hash name (`MD5`, `SHA-1`, `SHA-256`, `SHA-512`).
    pub fn stix_name(self) -> &'static str {
        match self {
            HashAlg::Md5 => "MD5",
            HashAlg::Sha1 => "SHA-1",
            HashAlg::Sha256 => "SHA-256",
            HashAlg::Sha512 => "SHA-512",
        }
    }

    /// Parse a hash name as spelled by STIX, MISP, Sysmon and others.
    pub fn from_name(name: &str) -> Option<HashAlg> {
        let n: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match n.as_str() {
            "md5" | "imphash" => Some(HashAlg::Md5),
            "sha1" => Some(HashAlg::Sha1),
            "sha256" => Some(HashAlg::Sha256),
            "sha512" => Some(HashAlg::Sha512),
            _ => None,
        }
    }
}

/// Decode a hex hash into `out` (at most 64 bytes); `None` unless the
/// string is all hex of a known hash length.
pub fn decode_hash(s: &str, out: &mut [u8; 64]) -> Option<(HashAlg, usize)> {
    let alg = HashAlg::from_hex_len(s.len())?;
    let b = s.as_bytes();
    let n = b.len() / 2;
    for i in 0..n {
        let hi = hex_val(b[2 * i])?;
        let lo = hex_val(b[2 * i + 1])?;
        out[i] = (hi << 4) | lo;
    }
    Some((alg, n))
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lower-case ASCII without allocating when already lower-case.
pub fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Whether `s` is shaped like a DNS name: labels of letters, digits, `-`
/// and `_`, at least two labels, and a last label that is not numeric
/// (so version strings and IPs are not domains).
pub fn looks_like_domain(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    let b = s.as_bytes();
    if b.len() < 3 || b.len() > 253 || b[0] == b'.' || b[0] == b'-' {
        return false;
    }
    let mut dots = 0;
    let mut label_len = 0;
    for &c in b {
        match c {
            b'.' => {
                if label_len == 0 {
                    return false;
                }
                dots += 1;
                label_len = 0;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => {
                label_len += 1;
                if label_len > 63 {
                    return false;
                }
            }
            _ => return false,
        }
    }
    if dots == 0 || label_len == 0 {
        return false;
    }
    let tld = &s[s.len() - label_len..];
    tld.bytes().any(|c| c.is_ascii_alphabetic())
}

/// Canonical domain: lower-case, no trailing dot.
pub fn normalize_domain(s: &str) -> Option<String> {
    let s = s.trim();
    if !looks_like_domain(s) {
        return None;
    }
    Some(s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase())
}

/// The parts of a URL that matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    /// Canonical URL text.
    pub canonical: String,
    /// Lower-case host (no brackets for IPv6, no port).
    pub host: String,
    /// Path (percent-decoded where unreserved), always starting with `/`.
    pub path: String,
}

/// Canonical URL: scheme and host lower-cased, default port removed,
/// percent-encoded unreserved characters decoded, fragment dropped, a
/// trailing `/` of the path removed (so `http://a/x/` equals `http://a/x`
/// and `http://a/` equals `http://a`).
pub fn normalize_url(s: &str) -> Option<UrlParts> {
    let s = s.trim();
    if s.len() > 8192 {
        return None;
    }
    let (scheme, rest) = s.split_once("://")?;
    if scheme.is_empty()
        || scheme.len() > 16
        || !scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'-' || c == b'.')
    {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let rest = rest.split('#').next().unwrap_or("");
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    // Drop credentials: `user:pass@host`.
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = split_host_port(hostport);
    if host.is_empty() {
        return None;
    }
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host).to_string();
    let default_port = match scheme.as_str() {
        "http" | "ws" => Some("80"),
        "https" | "wss" => Some("443"),
        "ftp" => Some("21"),
        _ => None,
    };
    let port = port.filter(|p| !p.is_empty() && Some(*p) != default_port);
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    let mut path = decode_unreserved(path);
    while path.ends_with('/') {
        path.pop();
    }
    let mut canonical = String::with_capacity(s.len());
    canonical.push_str(&scheme);
    canonical.push_str("://");
    if host.contains(':') {
        canonical.push('[');
        canonical.push_str(&host);
        canonical.push(']');
    } else {
        canonical.push_str(&host);
    }
    if let Some(p) = port {
        canonical.push(':');
        canonical.push_str(p);
    }
    canonical.push_str(&path);
    if let Some(q) = query {
        canonical.push('?');
        canonical.push_str(&decode_unreserved(q));
    }
    if path.is_empty() {
        path.push('/');
    }
    Some(UrlParts {
        canonical,
        host,
        path,
    })
}

fn split_host_port(hp: &str) -> (&str, Option<&str>) {
    if let Some(rest) = hp.strip_prefix('[') {
        if let Some((h, after)) = rest.split_once(']') {
            return (h, after.strip_prefix(':'));
        }
        return (rest, None);
    }
    match hp.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (hp, None),
    }
}

/// Decode `%XX` only where it encodes an RFC 3986 unreserved character;
/// other escapes are kept but their hex is upper-cased.
pub fn decode_unreserved(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
        {
            let c = (h << 4) | l;
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                out.push(c);
            } else {
                out.push(b'%');
                out.push(b[i + 1].to_ascii_uppercase());
                out.push(b[i + 2].to_ascii_uppercase());
            }
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    // Only ASCII bytes were substituted for ASCII escapes, so UTF-8 holds.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The last component of a Windows or POSIX path.
pub fn basename(s: &str) -> &str {
    match s.rfind(['\\', '/']) {
        Some(i) => &s[i + 1..],
        None => s,
    }
}

/// Canonical registry key: lower-case with the hive abbreviated the way
/// Sysmon writes it (`HKEY_LOCAL_MACHINE` and `\REGISTRY\MACHINE` → `hklm`).
pub fn normalize_registry(s: &str) -> Option<String> {
    let t = s.trim().trim_end_matches('\\');
    let l = t.to_ascii_lowercase();
    const HIVES: &[(&str, &str)] = &[
        ("hkey_local_machine", "hklm"),
        ("\\registry\\machine", "hklm"),
        ("hkey_current_user", "hkcu"),
        ("hkey_users", "hku"),
        ("\\registry\\user", "hku"),
        ("hkey_classes_root", "hkcr"),
        ("hkey_current_config", "hkcc"),
        ("hklm", "hklm"),
        ("hkcu", "hkcu"),
        ("hku", "hku"),
        ("hkcr", "hkcr"),
        ("hkcc", "hkcc"),
    ];
    for (long, short) in HIVES {
        if let Some(rest) = l.strip_prefix(long)
            && (rest.is_empty() || rest.starts_with('\\'))
        {
            return Some(format!("{short}{rest}"));
        }
    }
    None
}

/// Whether `s` is shaped like an e-mail address (`local@domain.tld`).
pub fn looks_like_email(s: &str) -> bool {
    match s.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 128
                && !local
                    .bytes()
                    .any(|c| c.is_ascii_whitespace() || c == b'@' || c == b'<')
                && looks_like_domain(domain)
        }
        None => false,
    }
}

/// Undo common defanging (`hxxp://`, `[.]`, `(.)`, `[:]`, `[@]`, `[at]`).
pub fn refang(s: &str) -> Cow<'_, str> {
    if !s.contains(['[', '(', '{']) && !s.starts_with("hxxp") && !s.starts_with("fxp") {
        return Cow::Borrowed(s);
    }
    let mut t = s
        .replace("[.]", ".")
        .replace("(.)", ".")
        .replace("{.}", ".")
        .replace("[dot]", ".")
        .replace("[:]", ":")
        .replace("[://]", "://")
        .replace("[@]", "@")
        .replace("[at]", "@");
    for (from, to) in [("hxxps", "https"), ("hxxp", "http"), ("fxp", "ftp")] {
        if t.starts_with(from) {
            t = format!("{to}{}", &t[from.len()..]);
            break;
        }
    }
    Cow::Owned(t)
}

/// File extensions that make `name.ext` a file name rather than a domain
/// when a bare value has to be classified.
const FILE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "sys", "ps1", "psm1", "bat", "cmd", "vbs", "vbe", "js", "jse", "hta", "aspx",
    "asp", "ashx", "asmx", "jsp", "jspx", "php", "scr", "lnk", "msi", "jar", "py", "sh", "elf",
    "bin", "tmp", "dat", "doc", "docx", "docm", "xls", "xlsx", "xlsm", "ppt", "pdf", "rtf", "iso",
    "img", "vhd", "rar", "7z", "gz", "tar", "cab", "cpl", "ocx", "war", "config", "txt", "log",
    "ini", "inf",
];

/// Whether a bare `name.ext` value should be read as a file name.
pub fn has_file_extension(s: &str) -> bool {
    match s.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            FILE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_in_evidence_forms() {
        assert_eq!(parse_ip("10.1.2.3"), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(parse_ip("10.1.2.3:443"), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(
            parse_ip("[2001:db8::1]:443"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(parse_ip("fe80::1%eth0"), Some("fe80::1".parse().unwrap()));
        assert_eq!(parse_ip("cafe.example"), None);
        assert_eq!(parse_ip("10.1.2"), None);
        let mapped = ip_key(parse_ip("::ffff:10.1.2.3").unwrap());
        assert_eq!(mapped, ip_key(parse_ip("10.1.2.3").unwrap()));
    }

    #[test]
    fn urls_are_canonical() {
        let a = normalize_url("HTTP://Evil.Example:80/a%2Db/%7Euser/?q=%41#frag").unwrap();
        assert_eq!(a.canonical, "http://evil.example/a-b/~user?q=A");
        assert_eq!(a.host, "evil.example");
        assert_eq!(a.path, "/a-b/~user");
        let b = normalize_url("https://evil.example:8443/x%2Fy").unwrap();
        assert_eq!(b.canonical, "https://evil.example:8443/x%2Fy");
        let c = normalize_url("https://user:pw@[2001:DB8::1]:443/").unwrap();
        assert_eq!(c.canonical, "https://[2001:db8::1]");
        assert_eq!(c.path, "/");
        assert!(normalize_url("not a url").is_none());
        assert!(normalize_url("http:///nohost").is_none());
        // A truncated escape at the end must not panic.
        assert_eq!(
            normalize_url("http://a/b%4").unwrap().canonical,
            "http://a/b%4"
        );
        assert_eq!(
            normalize_url("http://a/b%").unwrap().canonical,
            "http://a/b%"
        );
    }

    #[test]
    fn domains_and_registry() {
        assert!(looks_like_domain("a.b.evil.com"));
        assert!(looks_like_domain("evil.com."));
        assert!(!looks_like_domain("1.2.3.4"));
        assert!(!looks_like_domain("10.0.17763"));
        assert!(!looks_like_domain("evil..com"));
        assert!(!looks_like_domain("nodot"));
        assert_eq!(
            normalize_registry("HKEY_LOCAL_MACHINE\\Software\\Run\\").as_deref(),
            Some("hklm\\software\\run")
        );
        assert_eq!(
            normalize_registry("\\REGISTRY\\USER\\S-1").as_deref(),
            Some("hku\\s-1")
        );
        assert_eq!(normalize_registry("HKLMX\\a"), None);
    }

    #[test]
    fn refang_and_hashes() {
        assert_eq!(refang("hxxps://evil[.]com/a"), "https://evil.com/a");
        assert_eq!(refang("bad[@]evil(.)com"), "bad@evil.com");
        let mut buf = [0u8; 64];
        assert_eq!(
            decode_hash("D41D8CD98F00B204E9800998ECF8427E", &mut buf),
            Some((HashAlg::Md5, 16))
        );
        assert_eq!(buf[0], 0xd4);
        assert!(decode_hash("z41d8cd98f00b204e9800998ecf8427e", &mut buf).is_none());
        assert!(has_file_extension("shell.aspx"));
        assert!(!has_file_extension("evil.com"));
    }
}
