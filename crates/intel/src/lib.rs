//! Threat intelligence for kahu: indicators of compromise from partner
//! feeds (STIX 2.1, MISP, CSV, plain lists) matched against every event,
//! YARA on evidence files, and malware/tool names mapped to ATT&CK
//! software ids for attribution.
//!
//! What is matched, and how:
//!
//! | observable | STIX object path | MISP types | matched against |
//! |---|---|---|---|
//! | IP | `ipv4-addr:value`, `ipv6-addr:value`, `network-traffic:dst_ref.value`/`src_ref.value` | `ip-src`, `ip-dst` | any value or token that parses as an IP (`ip:port`, `[v6]`, mapped v4) |
//! | network | `… = 'a.b.c.d/n'`, `ISSUBSET` | `ip-*` with `/n` | IPs, by prefix table |
//! | domain | `domain-name:value` | `domain`, `hostname` | host names, URL hosts, e-mail domains; subdomains included |
//! | URL | `url:value` (`=`, `LIKE`, `MATCHES`) | `url` | canonical URLs in any value |
//! | URL path | — | `uri` | values and log-line tokens starting with `/`, URL paths |
//! | hash | `file:hashes.*`, `x509-certificate:hashes.*`, `artifact:hashes.*` (MD5, SHA-1, SHA-256, SHA-512) | `md5`, `sha1`, `sha256`, `sha512`, `imphash`, `filename\|hash`, `x509-fingerprint-*`, `ja3-fingerprint-md5` | hex tokens, including Sysmon `Hashes=` lists |
//! | file name | `file:name`, `process:name` | `filename` | basenames of paths and tokens, case-insensitive |
//! | e-mail | `email-addr:value`, `email-message:from_ref.value`… | `email`, `email-src`, `email-dst` | address tokens |
//! | user agent | `network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'` | `user-agent` | whole values (IIS `+` for space too) |
//! | command line | `process:command_line` | — | whole values |
//! | registry key | `windows-registry-key:key` | `regkey`, `regkey\|value` | values starting with a hive, hive names normalised |
//! | port | `network-traffic:dst_port`/`src_port` (`=`, `<`, `>`…) | `ip-dst\|port`, `hostname\|port` | port fields by name (Sysmon, Zeek, ECS, IIS) |
//! | AS number | `autonomous-system:number` | `AS` | `*.as.number`, `asn` fields |
//!
//! STIX `AND`/`OR` inside an observation are exact; `OR` between
//! observations is exact; `AND`/`FOLLOWEDBY` between observations and the
//! `WITHIN`/`REPEATS`/`START STOP` qualifiers are downgraded (each
//! observation matches alone) and reported. A comparison set made of
//! negations only (`[ipv4-addr:value != 'X']`, `NOT =`) is refused as
//! unsupported: it holds for every other value, so as an indicator it would
//! flag (and block-list) them all; a negation beside a positive comparison
//! is kept. Anything else is reported as unsupported with the indicator
//! id, never dropped silently.
//!
//! ```no_run
//! # use kahu_intel::IocSet;
//! let mut iocs = IocSet::new();
//! let report = iocs.load_path(std::path::Path::new("partner-bundle.json"))?;
//! for issue in &report.issues {
//!     eprintln!("{issue}"); // unsupported patterns, downgrades, bad lines
//! }
//! # let event: kahu_event::Event = unimplemented!();
//! let mut matches = Vec::new();
//! iocs.match_event(&event, &mut matches);
//! let findings: Vec<_> = matches.iter().map(|m| iocs.to_finding(m, &event)).collect();
//! # Ok::<(), kahu_intel::IntelError>(())
//! ```

mod compile;
mod extract;
mod feedfile;
/// Entry point of the fuzz target and its corpus-replay test.
#[doc(hidden)]
pub mod fuzzing;
mod indicator;
mod matcher;
mod misp;
pub mod normalize;
pub mod pattern;
mod set;
mod software;
mod stix;
mod text;
mod yara;

pub use feedfile::{MAX_FEED_BYTES, file_kind};
pub use indicator::{FeedFormat, Indicator, IndicatorMeta, IocType};
/// TLP levels live beside `Finding` so the report types can carry them
/// without depending on the IOC and YARA engines.
pub use kahu_finding::Tlp;
pub use matcher::{IocMatch, level_of};
pub use normalize::HashAlg;
pub use set::{IntelError, IocSet, IssueKind, LoadIssue, LoadReport};
pub use software::software_ids_in;
pub use text::{infer_type, type_from_name};
pub use yara::{DEFAULT_MAX_FILE_SIZE, ScanWarning, YaraScanner};

/// ATT&CK ids written in free text (`T1505.003`, `T1505_003`, `S0020`,
/// `G0065`), as (kind letter, canonical id), whole tokens only.
pub fn attack_ids_in(text: &str) -> Vec<(char, String)> {
    let b = text.as_bytes();
    let mut out: Vec<(char, String)> = Vec::new();
    let mut i = 0;
    while i + 5 <= b.len() {
        let c = b[i].to_ascii_uppercase();
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if boundary
            && matches!(c, b'T' | b'S' | b'G')
            && b[i + 1..i + 5].iter().all(u8::is_ascii_digit)
        {
            let mut end = i + 5;
            let mut id = format!("{}{}", c as char, &text[i + 1..i + 5]);
            if c == b'T'
                && b.len() >= i + 9
                && matches!(b[i + 5], b'.' | b'_')
                && b[i + 6..i + 9].iter().all(u8::is_ascii_digit)
            {
                id.push('.');
                id.push_str(&text[i + 6..i + 9]);
                end = i + 9;
            }
            if b.get(end).is_none_or(|x| !x.is_ascii_alphanumeric()) {
                if !out.iter().any(|(_, x)| *x == id) {
                    out.push((c as char, id));
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sets and scanners are shared across reader threads.
    #[test]
    fn shareable_across_threads() {
        fn sync<T: Send + Sync>() {}
        sync::<IocSet>();
        sync::<YaraScanner>();
    }

    #[test]
    fn attack_ids_from_text() {
        let ids = attack_ids_in(
            "misp-galaxy:mitre-attack-pattern=\"Web Shell - T1505.003\" T1505_003 s0020, G0065 T12345 xT1059",
        );
        let ids: Vec<_> = ids.into_iter().map(|(_, s)| s).collect();
        assert_eq!(ids, vec!["T1505.003", "S0020", "G0065"]);
    }
}
