//! CSV feeds (with or without a header) and plain lists, one value a line.

use crate::compile::parse_asn;
use crate::indicator::{FeedFormat, IdRepr, IndicatorMeta, IocType};
use crate::normalize::{self, HashAlg};
use crate::set::{IocSet, IssueKind, LoadIssue, LoadReport};
use kahu_event::parse_timestamp;
use std::sync::Arc;

/// Longest line read from a text feed; longer lines are reported and skipped.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// Guess the type of a bare value (already refanged).
pub fn infer_type(v: &str) -> Option<IocType> {
    let v = v.trim();
    if v.is_empty() || v.len() > 8192 {
        return None;
    }
    if v.contains("://") {
        return normalize::normalize_url(v).map(|_| IocType::Url);
    }
    if normalize::parse_ip(v).is_some() && !v.contains('[') {
        return Some(IocType::Ip);
    }
    if v.contains('/') && v.parse::<ipnet::IpNet>().is_ok() {
        return Some(IocType::Cidr);
    }
    if let Some(alg) = HashAlg::from_hex_len(v.len())
        && v.bytes().all(|c| c.is_ascii_hexdigit())
    {
        return Some(IocType::Hash(alg));
    }
    if normalize::looks_like_email(v) {
        return Some(IocType::Email);
    }
    if normalize::normalize_registry(v).is_some() {
        return Some(IocType::RegistryKey);
    }
    if normalize::has_file_extension(v) && !v.contains(['/', '\\']) {
        return Some(IocType::FileName);
    }
    if normalize::looks_like_domain(v) {
        return Some(IocType::Domain);
    }
    if v.starts_with('/') && !v.contains(char::is_whitespace) {
        return Some(IocType::UriPath);
    }
    if (v.starts_with("AS") || v.starts_with("as")) && parse_asn(v).is_some() {
        return Some(IocType::Asn);
    }
    None
}

/// A type column's value (MISP, STIX, OTX and common spellings).
pub fn type_from_name(name: &str, value: &str) -> Option<IocType> {
    let n = name.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    let by_len = || HashAlg::from_hex_len(value.trim().len()).map(IocType::Hash);
    Some(match n.as_str() {
        "ip" | "ipv4" | "ipv6" | "ip-src" | "ip-dst" | "ipv4-addr" | "ipv6-addr" | "ipaddress"
        | "ip-address" | "ipv4-address" | "ipv6-address" => {
            if value.contains('/') {
                IocType::Cidr
            } else {
                IocType::Ip
            }
        }
        "cidr" | "ip-range" | "netblock" | "network" | "subnet" => IocType::Cidr,
        "domain" | "hostname" | "fqdn" | "domain-name" | "host" | "dns" => IocType::Domain,
        "url" | "link-url" => IocType::Url,
        "uri" | "url-path" | "path" => IocType::UriPath,
        "md5" | "imphash" | "filehash-md5" => IocType::Hash(HashAlg::Md5),
        "sha1" | "sha-1" | "filehash-sha1" => IocType::Hash(HashAlg::Sha1),
        "sha256" | "sha-256" | "filehash-sha256" => IocType::Hash(HashAlg::Sha256),
        "sha512" | "sha-512" | "filehash-sha512" => IocType::Hash(HashAlg::Sha512),
        "hash" | "file-hash" | "filehash" | "checksum" => by_len()?,
        "filename" | "file-name" | "file" => IocType::FileName,
        "email" | "email-src" | "email-dst" | "email-addr" | "e-mail" | "email-address" => {
            IocType::Email
        }
        "user-agent" | "useragent" | "ua" | "http-user-agent" => IocType::UserAgent,
        "regkey" | "registry" | "registry-key" | "windows-registry-key" => IocType::RegistryKey,
        "command-line" | "cmdline" | "commandline" | "process-command-line" => IocType::CommandLine,
        "asn" | "as" | "autonomous-system" => IocType::Asn,
        _ => return None,
    })
}

/// Split one CSV record (RFC 4180 quoting, `""` for a quote).
pub(crate) fn split_csv(line: &str, delim: char) -> Vec<String> {
    // One line of an indicator export, read by the `csv` crate (RFC 4180
    // quoting, `""` inside quotes); cells trimmed. A line the reader cannot
    // take whole (a quote left open at the end) keeps what it read.
    let mut delim_byte = [0u8; 4];
    let delim = match delim.encode_utf8(&mut delim_byte).as_bytes() {
        [b] => *b,
        _ => b',',
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delim)
        .trim(csv::Trim::All)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(str::to_string).collect(),
        _ => vec![line.trim().to_string()],
    }
}

fn content_lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| ((i + 1) as u64, l.trim_start_matches('\u{feff}').trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"))
}

fn delimiter(line: &str) -> char {
    [',', '\t', ';']
        .into_iter()
        .max_by_key(|d| line.matches(*d).count())
        .unwrap_or(',')
}

/// Whether text looks like CSV rather than a plain list.
pub(crate) fn looks_like_csv(text: &str) -> bool {
    let Some((_, first)) = content_lines(text).next() else {
        return false;
    };
    let d = delimiter(first);
    first.contains(d) && infer_type(first).is_none()
}

#[derive(Default)]
struct Columns {
    value: Option<usize>,
    ty: Option<usize>,
    /// Type named by the value column's header (`md5`, `ip`…).
    header_type: Option<String>,
    id: Option<usize>,
    desc: Vec<usize>,
    confidence: Option<usize>,
    valid_from: Option<usize>,
    valid_until: Option<usize>,
    to_ids: Option<usize>,
    tags: Option<usize>,
}

fn header(cells: &[String]) -> Option<Columns> {
    let mut c = Columns::default();
    let mut known = 0;
    for (i, raw) in cells.iter().enumerate() {
        let h = raw.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        let slot = match h.as_str() {
            "value" | "indicator" | "ioc" | "observable" | "ioc_value" | "indicator_value"
            | "data" | "artifact" => &mut c.value,
            "type" | "indicator_type" | "ioc_type" | "kind" | "attribute_type"
            | "observable_type" => &mut c.ty,
            "id" | "uuid" | "indicator_id" | "ioc_id" => &mut c.id,
            "confidence" | "score" => &mut c.confidence,
            "valid_from" | "start" | "valid_since" => &mut c.valid_from,
            "valid_until" | "expiration" | "expires" | "valid_to" => &mut c.valid_until,
            "to_ids" => &mut c.to_ids,
            "tags" | "labels" | "tag" => &mut c.tags,
            "description" | "comment" | "title" | "name" | "info" | "threat" | "malware"
            | "family" | "event_info" => {
                c.desc.push(i);
                known += 1;
                continue;
            }
            other => {
                if (type_from_name(other, "").is_some() || matches!(other, "hash" | "file_hash"))
                    && c.value.is_none()
                {
                    c.value = Some(i);
                    c.header_type = Some(other.to_string());
                    known += 1;
                }
                continue;
            }
        };
        if slot.is_none() {
            *slot = Some(i);
            known += 1;
        }
    }
    (known > 0 && c.value.is_some()).then_some(c)
}

/// Row metadata keyed by its text, so feeds that repeat a description
/// on every row share one allocation. Bounded: cleared when full.
type MetaKey = (String, Option<u8>, String, String, String);
const META_CACHE_MAX: usize = 4096;

/// Load a CSV feed.
pub(crate) fn load_csv(set: &mut IocSet, text: &str, source: &str) -> LoadReport {
    let src: Arc<str> = Arc::from(source);
    let mut report = LoadReport::default();
    let mut lines = content_lines(text).peekable();
    let Some(&(_, first)) = lines.peek() else {
        return report;
    };
    let delim = delimiter(first);
    let cols = header(&split_csv(first, delim));
    if cols.is_some() {
        lines.next();
    }
    let mut metas = MetaCache {
        base: Arc::new(IndicatorMeta {
            source: src.clone(),
            format: Some(FeedFormat::Csv),
            ..Default::default()
        }),
        cache: hashbrown::HashMap::new(),
    };
    for (n, line) in lines {
        let issue = |kind, reason: String| LoadIssue {
            source: src.clone(),
            indicator: None,
            line: Some(n),
            kind,
            reason,
        };
        if line.len() > MAX_LINE {
            report.issues.push(issue(
                IssueKind::Invalid,
                format!("line longer than {MAX_LINE} bytes skipped"),
            ));
            continue;
        }
        let cells = split_csv(line, delim);
        let cell = |i: Option<usize>| {
            i.and_then(|i| cells.get(i))
                .map(String::as_str)
                .filter(|s| !s.is_empty())
        };
        let (value, ty_name, desc, id, conf, vf, vu, to_ids, tags) = match &cols {
            Some(c) => (
                cell(c.value),
                cell(c.ty).or(c.header_type.as_deref()),
                c.desc
                    .iter()
                    .filter_map(|i| cell(Some(*i)))
                    .collect::<Vec<_>>()
                    .join(" | "),
                cell(c.id),
                cell(c.confidence),
                cell(c.valid_from),
                cell(c.valid_until),
                cell(c.to_ids),
                cell(c.tags),
            ),
            None => {
                let (value, desc) = headerless(&cells);
                (value, None, desc, None, None, None, None, None, None)
            }
        };
        let Some(value) = value else {
            report.issues.push(issue(
                IssueKind::Invalid,
                "no indicator value on this line".into(),
            ));
            continue;
        };
        let value = normalize::refang(value);
        let confidence = conf
            .and_then(|c| c.trim().parse::<f64>().ok())
            .map(|c| c.clamp(0.0, 100.0) as u8);
        let (vf, vu) = (vf.unwrap_or(""), vu.unwrap_or(""));
        let tags = tags.unwrap_or("");
        let meta = metas.get(&desc, confidence, vf, vu, tags);
        let detect = to_ids.is_none_or(|v| !matches!(v.trim(), "0" | "false" | "False" | "FALSE"));
        let rid = id.map_or(IdRepr::Line(n), |i| IdRepr::Named(Arc::from(i)));
        // MISP composite types (`ip-dst|port`, `filename|sha256`…) keep
        // their MISP meaning.
        if let Some(kind) = ty_name
            .filter(|t| t.contains('|'))
            .and_then(crate::misp::kind_of)
        {
            match crate::misp::add_attr(set, rid, &kind, &value, detect, &meta) {
                Ok(()) if detect => report.loaded += 1,
                Ok(()) => report.context += 1,
                Err(e) => report.issues.push(issue(IssueKind::Invalid, e.to_string())),
            }
            continue;
        }
        let t = match ty_name {
            Some(tn) => match type_from_name(tn, &value) {
                Some(t) => Some(t),
                None => match infer_type(&value) {
                    Some(t) => Some(t),
                    None => {
                        report.issues.push(issue(
                            IssueKind::Unsupported,
                            format!(
                                "type `{tn}` is not matched and `{}` could not be classified",
                                clip(&value)
                            ),
                        ));
                        continue;
                    }
                },
            },
            None => infer_type(&value),
        };
        let Some(t) = t else {
            report.issues.push(issue(
                IssueKind::Invalid,
                format!("cannot tell what kind of indicator `{}` is", clip(&value)),
            ));
            continue;
        };
        if set.add_simple(rid, t, &value, detect, &meta) {
            if detect {
                report.loaded += 1;
            } else {
                report.context += 1;
            }
        } else {
            report.issues.push(issue(
                IssueKind::Invalid,
                format!("`{}` is not a valid {}", clip(&value), t.as_str()),
            ));
        }
    }
    report
}

/// The metadata of CSV rows: rows carrying the same description,
/// confidence, validity and tags share one value (a large feed with one
/// description holds it once); rows with none of them share `base`.
struct MetaCache {
    base: Arc<IndicatorMeta>,
    cache: hashbrown::HashMap<MetaKey, Arc<IndicatorMeta>>,
}

impl MetaCache {
    /// The metadata for a row with these cells (empty when absent).
    fn get(
        &mut self,
        desc: &str,
        confidence: Option<u8>,
        vf: &str,
        vu: &str,
        tags: &str,
    ) -> Arc<IndicatorMeta> {
        if desc.is_empty()
            && confidence.is_none()
            && vf.is_empty()
            && vu.is_empty()
            && tags.is_empty()
        {
            return self.base.clone();
        }
        let key = (
            desc.to_string(),
            confidence,
            vf.to_string(),
            vu.to_string(),
            tags.to_string(),
        );
        if let Some(m) = self.cache.get(&key) {
            return m.clone();
        }
        let mut m = (*self.base).clone();
        if !desc.is_empty() {
            m.description = Some(Arc::from(desc));
        }
        m.confidence = confidence;
        m.valid_from = parse_timestamp(vf);
        m.valid_until = parse_timestamp(vu);
        m.labels = tags
            .split([';', '|'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Arc::from)
            .collect();
        crate::software::tag_meta(&mut m);
        let m = Arc::new(m);
        if self.cache.len() >= META_CACHE_MAX {
            self.cache.clear();
        }
        self.cache.insert(key, m.clone());
        m
    }
}

/// A row of a CSV without a header: the first cell that reads as an
/// indicator is the value, the other non-empty cells the description.
fn headerless(cells: &[String]) -> (Option<&str>, String) {
    let vi = cells
        .iter()
        .position(|c| infer_type(&normalize::refang(c)).is_some());
    let desc = cells
        .iter()
        .enumerate()
        .filter(|(i, c)| Some(*i) != vi && !c.is_empty())
        .map(|(_, c)| c.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    (vi.map(|i| cells[i].as_str()), desc)
}

/// A quoted value in a message, bounded.
fn clip(s: &str) -> &str {
    kahu_event::text::prefix_within(s, 120)
}

/// Load a plain list: one indicator per line, `#` and `//` comments,
/// defanged values accepted, type inferred from the value.
pub(crate) fn load_list(set: &mut IocSet, text: &str, source: &str) -> LoadReport {
    let src: Arc<str> = Arc::from(source);
    let mut report = LoadReport::default();
    let meta = Arc::new(IndicatorMeta {
        source: src.clone(),
        format: Some(FeedFormat::Text),
        ..Default::default()
    });
    for (n, line) in content_lines(text) {
        let issue = |kind, reason: String| LoadIssue {
            source: src.clone(),
            indicator: None,
            line: Some(n),
            kind,
            reason,
        };
        if line.len() > MAX_LINE {
            report.issues.push(issue(
                IssueKind::Invalid,
                format!("line longer than {MAX_LINE} bytes skipped"),
            ));
            continue;
        }
        // Inline comment after the value.
        let line = line.split(" #").next().unwrap_or(line).trim();
        let whole = normalize::refang(line);
        let (value, t) = match infer_type(&whole) {
            Some(t) => (whole, t),
            None => {
                let first = line.split_whitespace().next().unwrap_or("");
                let v = normalize::refang(first);
                match infer_type(&v) {
                    Some(t) => (v, t),
                    None => {
                        report.issues.push(issue(
                            IssueKind::Invalid,
                            format!("cannot tell what kind of indicator `{}` is", clip(line)),
                        ));
                        continue;
                    }
                }
            }
        };
        if set.add_simple(IdRepr::Line(n), t, &value, true, &meta) {
            report.loaded += 1;
        } else {
            report.issues.push(issue(
                IssueKind::Invalid,
                format!("`{}` is not a valid {}", clip(&value), t.as_str()),
            ));
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inference() {
        assert_eq!(infer_type("10.0.0.1"), Some(IocType::Ip));
        assert_eq!(infer_type("10.0.0.0/8"), Some(IocType::Cidr));
        assert_eq!(infer_type("2001:db8::/32"), Some(IocType::Cidr));
        assert_eq!(infer_type("evil.example"), Some(IocType::Domain));
        assert_eq!(infer_type("shell.aspx"), Some(IocType::FileName));
        assert_eq!(infer_type("https://evil.example/x"), Some(IocType::Url));
        assert_eq!(infer_type("a@evil.example"), Some(IocType::Email));
        assert_eq!(
            infer_type(&"a".repeat(64)),
            Some(IocType::Hash(HashAlg::Sha256))
        );
        assert_eq!(infer_type("AS64500"), Some(IocType::Asn));
        assert_eq!(infer_type("hello world"), None);
    }

    #[test]
    fn csv_split_quotes() {
        assert_eq!(
            split_csv(r#"a,"b,c","d ""q""",  e "#, ','),
            vec!["a", "b,c", "d \"q\"", "e"]
        );
        assert_eq!(split_csv("x", ','), vec!["x"]);
        assert_eq!(
            split_csv("ip\t\"10.0.0.1\tC2\"\t", '\t'),
            vec!["ip", "10.0.0.1\tC2", ""]
        );
        assert_eq!(split_csv("a;\"b;c\";d", ';'), vec!["a", "b;c", "d"]);
        // A quote left open keeps the rest of the line as the cell.
        assert_eq!(split_csv("a,\"b,c", ','), vec!["a", "b,c"]);
    }
}
