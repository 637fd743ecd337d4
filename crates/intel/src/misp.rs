//! MISP: event JSON (`{"Event": {...}}`, REST `{"response": [...]}`) and
//! feed directories (`manifest.json` + one `<uuid>.json` per event).

use crate::indicator::{Atom, FeedFormat, IdRepr, IndicatorMeta, IocType};
use crate::normalize::HashAlg;
use crate::set::{IntelError, IocSet, IssueKind, LoadIssue, LoadReport, simple_atom};
use crate::software::{push_unique, tag_meta};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// How a MISP attribute type is matched.
pub(crate) enum Kind {
    /// One value of one type.
    One(IocType),
    /// `a|b`: both halves must hold on the same event.
    Both(IocType, IocType),
    /// `a|b`: either half is an indicator on its own.
    Either(IocType, IocType),
    /// `filename|hash`: the hash is matched; the name is kept as context.
    NameAndHash(HashAlg),
}

pub(crate) fn kind_of(t: &str) -> Option<Kind> {
    use IocType::*;
    Some(match t {
        "ip-src" | "ip-dst" => Kind::One(Ip),
        "ip-dst|port" => Kind::Both(Ip, DstPort),
        "ip-src|port" => Kind::Both(Ip, SrcPort),
        "domain" | "hostname" => Kind::One(Domain),
        "hostname|port" => Kind::Both(Domain, DstPort),
        "domain|ip" => Kind::Either(Domain, Ip),
        "url" => Kind::One(Url),
        "uri" => Kind::One(UriPath),
        "md5" | "imphash" | "x509-fingerprint-md5" | "ja3-fingerprint-md5" | "hassh-md5" => {
            Kind::One(Hash(HashAlg::Md5))
        }
        "sha1" | "x509-fingerprint-sha1" => Kind::One(Hash(HashAlg::Sha1)),
        "sha256" | "x509-fingerprint-sha256" => Kind::One(Hash(HashAlg::Sha256)),
        "sha512" => Kind::One(Hash(HashAlg::Sha512)),
        "filename|md5" | "filename|imphash" => Kind::NameAndHash(HashAlg::Md5),
        "filename|sha1" => Kind::NameAndHash(HashAlg::Sha1),
        "filename|sha256" => Kind::NameAndHash(HashAlg::Sha256),
        "filename|sha512" => Kind::NameAndHash(HashAlg::Sha512),
        "filename" => Kind::One(FileName),
        "email" | "email-src" | "email-dst" | "email-reply-to" => Kind::One(Email),
        "user-agent" => Kind::One(UserAgent),
        "regkey" | "regkey|value" => Kind::One(RegistryKey),
        "AS" => Kind::One(Asn),
        _ => return None,
    })
}

fn as_bool(v: Option<&J>) -> Option<bool> {
    match v? {
        J::Bool(b) => Some(*b),
        J::Number(n) => Some(n.as_i64() != Some(0)),
        J::String(s) => Some(matches!(s.as_str(), "1" | "true" | "True")),
        _ => None,
    }
}

fn text<'a>(v: &'a J, k: &str) -> Option<&'a str> {
    v.get(k).and_then(J::as_str).filter(|s| !s.is_empty())
}

fn tag_names(v: &J) -> impl Iterator<Item = &str> {
    v.get("Tag")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("name").and_then(J::as_str))
}

/// Confidence from MISP taxonomies, where a tag gives one.
fn confidence_of(tag: &str) -> Option<u8> {
    let t = tag.to_ascii_lowercase();
    if !t.contains("confidence") {
        return None;
    }
    let v = t.rsplit('=').next()?.trim_matches('"');
    Some(match v {
        "completely-confident" => 100,
        "usually-confident" | "high" => 85,
        "fairly-confident" | "moderate" | "medium" => 60,
        "rarely-confident" | "low" => 25,
        "unconfident" | "confidence-cannot-be-evaluated" => 10,
        _ => return None,
    })
}

/// Load MISP event JSON: one event, a REST response, or an array of events.
pub(crate) fn load_event(
    set: &mut IocSet,
    bytes: &[u8],
    source: &str,
) -> Result<LoadReport, IntelError> {
    let v: J = serde_json::from_slice(bytes).map_err(|e| IntelError::json(source, e))?;
    let events: Vec<&J> = if let Some(e) = v.get("Event") {
        vec![e]
    } else if let Some(r) = v.get("response").and_then(J::as_array) {
        r.iter().filter_map(|x| x.get("Event")).collect()
    } else if let Some(a) = v.as_array() {
        a.iter().map(|x| x.get("Event").unwrap_or(x)).collect()
    } else if v.get("Attribute").is_some() {
        vec![&v]
    } else {
        return Err(IntelError::Format {
            file: source.into(),
            message: "no MISP `Event` object found".into(),
        });
    };
    let src: Arc<str> = Arc::from(source);
    let mut report = LoadReport::default();
    for e in events {
        load_one(set, e, &src, &mut report);
    }
    Ok(report)
}

fn load_one(set: &mut IocSet, e: &J, src: &Arc<str>, report: &mut LoadReport) {
    let event_id = text(e, "uuid")
        .or_else(|| text(e, "id"))
        .unwrap_or("?")
        .to_string();
    let mut base = IndicatorMeta {
        source: src.clone(),
        format: Some(FeedFormat::Misp),
        name: text(e, "info").map(Arc::from),
        ..Default::default()
    };
    apply_tags(&mut base, tag_names(e));
    // Galaxy clusters carry ATT&CK ids in `meta.external_id`.
    for g in e.get("Galaxy").and_then(J::as_array).into_iter().flatten() {
        for c in g
            .get("GalaxyCluster")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
        {
            let mut names: Vec<String> = Vec::new();
            if let Some(v) = text(c, "value") {
                names.push(v.to_string());
            }
            for x in c
                .pointer("/meta/external_id")
                .and_then(J::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(s) = x.as_str() {
                    names.push(s.to_string());
                }
            }
            apply_tags(&mut base, names.iter().map(String::as_str));
        }
    }
    tag_meta(&mut base);
    let base = Arc::new(base);
    let mut unmatched: BTreeMap<String, usize> = BTreeMap::new();
    let mut attrs: Vec<(&J, Option<&str>)> = Vec::new();
    for a in e
        .get("Attribute")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        attrs.push((a, None));
    }
    for o in e.get("Object").and_then(J::as_array).into_iter().flatten() {
        let oname = text(o, "name");
        for a in o
            .get("Attribute")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
        {
            attrs.push((a, oname));
        }
    }
    for (i, (a, object)) in attrs.into_iter().enumerate() {
        if as_bool(a.get("deleted")) == Some(true) {
            continue;
        }
        let id =
            text(a, "uuid").map_or_else(|| format!("{event_id}/attribute-{i}"), str::to_string);
        let issue = |kind, reason: String| LoadIssue {
            source: src.clone(),
            indicator: Some(id.clone()),
            line: None,
            kind,
            reason,
        };
        let (Some(ty), Some(value)) = (text(a, "type"), text(a, "value")) else {
            report.issues.push(issue(
                IssueKind::Invalid,
                "attribute without type or value".into(),
            ));
            continue;
        };
        let Some(kind) = kind_of(ty) else {
            *unmatched.entry(ty.to_string()).or_default() += 1;
            continue;
        };
        let detect = as_bool(a.get("to_ids")).unwrap_or(true);
        let attr_tags: Vec<&str> = tag_names(a).collect();
        let comment = text(a, "comment");
        let needs_own = !attr_tags.is_empty()
            || comment.is_some()
            || object.is_some()
            || matches!(kind, Kind::NameAndHash(_));
        let meta = if needs_own {
            let mut m = (*base).clone();
            apply_tags(&mut m, attr_tags.iter().copied());
            let mut desc = Vec::new();
            if let Some(o) = object {
                desc.push(format!("MISP object {o}"));
            }
            if let Kind::NameAndHash(_) = kind
                && let Some((name, _)) = value.split_once('|')
            {
                desc.push(format!("file name {name}"));
            }
            if let Some(c) = comment {
                desc.push(c.to_string());
            }
            if !desc.is_empty() {
                m.description = Some(Arc::from(desc.join("; ")));
            }
            tag_meta(&mut m);
            Arc::new(m)
        } else {
            base.clone()
        };
        // Analysts defang network values in MISP too (`hxxp://bad[.]net`);
        // read as given, a URL never matched and said nothing.
        let value: &str = &if is_network_type(ty) {
            crate::normalize::refang(value)
        } else {
            std::borrow::Cow::Borrowed(value)
        };
        let ok = add_attr(
            set,
            IdRepr::Named(Arc::from(id.as_str())),
            &kind,
            value,
            detect,
            &meta,
        );
        match ok {
            Ok(()) if detect => report.loaded += 1,
            Ok(()) => report.context += 1,
            Err(reason) => report.issues.push(issue(
                IssueKind::Invalid,
                format!("{ty} `{}`: {reason}", clip(value)),
            )),
        }
    }
    for (ty, n) in unmatched {
        report.issues.push(LoadIssue {
            source: src.clone(),
            indicator: Some(event_id.clone()),
            line: None,
            kind: IssueKind::Unsupported,
            reason: format!("{n} attribute(s) of type `{ty}` cannot be matched against events"),
        });
    }
}

/// A quoted value in a message, bounded.
fn clip(s: &str) -> &str {
    kahu_event::text::prefix_within(s, 120)
}

/// A MISP attribute (or a CSV value of a MISP composite type) kahu cannot
/// use; the feed reader reports it with the attribute's type and value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AttributeError {
    /// Not a valid value of its observable type.
    #[error("`{value}` is not a valid {}", ioc_type.as_str())]
    Invalid {
        /// The value (clipped to 120 bytes).
        value: String,
        /// The observable type.
        ioc_type: IocType,
    },
    /// A `filename|hash` composite without `|`.
    #[error("expected `name|hash`")]
    NotNameAndHash,
    /// Another composite without `|`.
    #[error("expected `a|b`")]
    NotAPair,
}

/// MISP attribute types holding addresses, names or URLs, which feeds
/// sometimes defang.
fn is_network_type(ty: &str) -> bool {
    ["url", "link", "uri", "domain", "hostname", "ip-", "email"]
        .iter()
        .any(|p| ty.starts_with(p))
}

pub(crate) fn add_attr(
    set: &mut IocSet,
    id: IdRepr,
    kind: &Kind,
    value: &str,
    detect: bool,
    meta: &Arc<IndicatorMeta>,
) -> Result<(), AttributeError> {
    let id = || id.clone();
    let atom = |t: IocType, v: &str| -> Result<Atom, AttributeError> {
        simple_atom(t, v).ok_or_else(|| AttributeError::Invalid {
            value: clip(v).to_string(),
            ioc_type: t,
        })
    };
    match kind {
        Kind::One(t) => {
            let a = atom(*t, value)?;
            let t = a.target;
            set.add_compiled(
                id(),
                t,
                shown(&a).into(),
                None,
                detect,
                meta.clone(),
                vec![vec![a]],
            );
        }
        Kind::NameAndHash(alg) => {
            let (_, h) = value
                .split_once('|')
                .ok_or(AttributeError::NotNameAndHash)?;
            let a = atom(IocType::Hash(*alg), h)?;
            set.add_compiled(
                id(),
                a.target,
                shown(&a).into(),
                None,
                detect,
                meta.clone(),
                vec![vec![a]],
            );
        }
        Kind::Both(t1, t2) | Kind::Either(t1, t2) => {
            let (v1, v2) = value.split_once('|').ok_or(AttributeError::NotAPair)?;
            let (a1, a2) = (atom(*t1, v1)?, atom(*t2, v2)?);
            let shown_v = format!("{}|{}", shown(&a1), shown(&a2));
            let pattern = format!(
                "{} {} {}",
                crate::stix::pattern_for(a1.target, &shown(&a1)).trim_end_matches(']'),
                if matches!(kind, Kind::Both(..)) {
                    "AND"
                } else {
                    "OR"
                },
                crate::stix::pattern_for(a2.target, &shown(&a2)).trim_start_matches('[')
            );
            let alts = if matches!(kind, Kind::Both(..)) {
                vec![vec![a1, a2]]
            } else {
                vec![vec![a1], vec![a2]]
            };
            set.add_compiled(
                id(),
                IocType::Pattern,
                shown_v.into(),
                Some(pattern.into()),
                detect,
                meta.clone(),
                alts,
            );
        }
    }
    Ok(())
}

fn shown(a: &Atom) -> String {
    use crate::indicator::Test;
    match &a.test {
        Test::Eq(k) => k.to_string(),
        Test::Cidr(n) => n.to_string(),
        Test::Num(_, n) => n.to_string(),
        Test::Regex(r) => r.as_str().to_string(),
    }
}

/// Tags → labels, confidence and ATT&CK ids (MISP galaxy tags such as
/// `misp-galaxy:mitre-intrusion-set="APT40 - G0065"`).
fn apply_tags<'a>(m: &mut IndicatorMeta, tags: impl Iterator<Item = &'a str>) {
    for t in tags {
        if let Some(c) = confidence_of(t) {
            m.confidence = Some(c);
        }
        push_unique(&mut m.labels, t);
        let lower = t.to_ascii_lowercase();
        let attackish = lower.contains("mitre") || lower.contains("attack") || !t.contains(':');
        if !attackish {
            continue;
        }
        for (k, id) in crate::attack_ids_in(t) {
            let list = match k {
                'T' => &mut m.techniques,
                'S' => &mut m.software,
                'G' => &mut m.groups,
                _ => continue,
            };
            push_unique(list, &id);
        }
    }
}

/// Load a MISP feed directory: `manifest.json` names the events, each in
/// `<uuid>.json` beside it. (`hashes.csv` holds hashes *of values* for
/// MISP's own caching, not indicators, so it is not read.)
pub(crate) fn load_feed_dir(set: &mut IocSet, dir: &Path) -> Result<LoadReport, IntelError> {
    let manifest_path = dir.join("manifest.json");
    let mfile = manifest_path.display().to_string();
    let bytes = crate::feedfile::read_feed(&manifest_path)?;
    let manifest: J = serde_json::from_slice(&bytes).map_err(|e| IntelError::json(&mfile, e))?;
    let Some(entries) = manifest.as_object() else {
        return Err(IntelError::Format {
            file: mfile,
            message: "manifest is not an object of event uuids".into(),
        });
    };
    let mut report = LoadReport::default();
    for uuid in entries.keys() {
        // Manifest keys come from the feed: never let them leave the directory.
        if uuid.is_empty() || !uuid.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            report.issues.push(LoadIssue {
                source: Arc::from(mfile.as_str()),
                indicator: Some(uuid.clone()),
                line: None,
                kind: IssueKind::Invalid,
                reason: "manifest key is not a uuid".into(),
            });
            continue;
        }
        let p = dir.join(format!("{uuid}.json"));
        let file = p.display().to_string();
        let res = crate::feedfile::read_feed(&p).and_then(|b| load_event(set, &b, &file));
        match res {
            Ok(r) => report.merge(r),
            Err(e) => report.issues.push(LoadIssue {
                source: Arc::from(file.as_str()),
                indicator: Some(uuid.clone()),
                line: None,
                kind: IssueKind::Invalid,
                reason: e.to_string(),
            }),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod attribute_error_tests {
    use super::*;

    #[test]
    fn attribute_errors_keep_the_feed_issue_wording() {
        let long = "x".repeat(300);
        let e = AttributeError::Invalid {
            value: clip(&long).to_string(),
            ioc_type: IocType::Ip,
        };
        assert_eq!(
            e.to_string(),
            format!("`{}` is not a valid ip", "x".repeat(120))
        );
        assert_eq!(
            AttributeError::NotNameAndHash.to_string(),
            "expected `name|hash`"
        );
        assert_eq!(AttributeError::NotAPair.to_string(), "expected `a|b`");
    }
}
