//! Findings: the output of every detector and the input of reconstruction
//! and attribution.
//!
//! A [`Finding`] is one detector firing on one piece of evidence (an event,
//! a group of events for correlations, a file for YARA). It carries what the
//! analyst needs to judge it (rule, level, ATT&CK ids, key fields) and where
//! it came from ([`Provenance`]), never a reference back into the detector.

pub mod detect;
pub mod file;
pub mod tactic;
pub mod tlp;

pub use detect::{Detector, NoObserver, Observer};
pub use file::{FindingsFileError, read_findings_file};
pub use tactic::Tactic;
pub use tlp::Tlp;

use kahu_event::{Event, Provenance, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Severity, in Sigma's order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Level {
    /// Context only, not suspicious by itself.
    #[default]
    Informational,
    /// Worth a look when something else points here.
    Low,
    /// Suspicious.
    Medium,
    /// Likely malicious.
    High,
    /// Malicious with high certainty.
    Critical,
}

impl Level {
    /// All levels from lowest to highest.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    /// Sigma's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that is no detection level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown level `{0}` (expected informational, low, medium, high or critical)")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Ok(Level::Informational),
            "low" => Ok(Level::Low),
            "medium" | "med" => Ok(Level::Medium),
            "high" => Ok(Level::High),
            "critical" | "crit" => Ok(Level::Critical),
            other => Err(UnknownLevel(other.to_string())),
        }
    }
}

/// Which detector produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A Sigma detection rule matched one event.
    Sigma,
    /// A Sigma correlation rule matched a group of events.
    Correlation,
    /// An indicator of compromise matched a field value.
    Ioc,
    /// A YARA rule matched a file.
    Yara,
    /// A built-in analytic (brute force, lateral movement…).
    Analytic,
}

impl FindingKind {
    /// Every kind.
    pub const ALL: [FindingKind; 5] = [
        FindingKind::Sigma,
        FindingKind::Correlation,
        FindingKind::Ioc,
        FindingKind::Yara,
        FindingKind::Analytic,
    ];

    /// The name JSON outputs and the case store use (`"ioc"`), as serde
    /// writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Sigma => "sigma",
            FindingKind::Correlation => "correlation",
            FindingKind::Ioc => "ioc",
            FindingKind::Yara => "yara",
            FindingKind::Analytic => "analytic",
        }
    }
}

/// One detector firing on one piece of evidence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Which detector produced this.
    pub kind: FindingKind,
    /// Rule, indicator or analytic identifier (Sigma `id`, STIX indicator id…).
    pub rule_id: Arc<str>,
    /// Human title of the rule or indicator.
    pub title: Arc<str>,
    /// Severity.
    pub level: Level,
    /// ATT&CK technique ids (`T1059.001`), upper-case.
    pub techniques: Vec<Arc<str>>,
    /// ATT&CK software ids (`S0002`) and other attribution hints.
    pub software: Vec<Arc<str>>,
    /// ATT&CK group ids named by the rule (`G0065`); a hint, never proof.
    #[serde(default)]
    pub groups: Vec<Arc<str>>,
    /// When the evidence happened.
    pub timestamp: Option<Timestamp>,
    /// Host of the evidence.
    pub host: Option<Arc<str>>,
    /// Channel of the evidence.
    pub channel: Option<Arc<str>>,
    /// Windows event id of the evidence.
    pub event_id: Option<u32>,
    /// The matched event's most telling fields (command line, user, IPs…).
    /// Written as `[["Name", "value"], …]`; also read from the object form
    /// `kahu hunt --jsonl-fields object` writes (`{"Name": "value", …}`, a
    /// repeated name holding an array of its values).
    #[serde(deserialize_with = "fields_pairs_or_object")]
    pub fields: Vec<(Arc<str>, String)>,
    /// Where the evidence is.
    pub provenance: Provenance,
    /// Other records that contributed (correlation members), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Provenance>,
}

/// [`Finding::fields`] from an array of pairs or from an object, in the
/// order given (a repeated name's array becomes one pair per value).
fn fields_pairs_or_object<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<(Arc<str>, String)>, D::Error> {
    use serde::de::{MapAccess, SeqAccess, Visitor};

    /// One value of the object form: a string, or a repeated name's values.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Values {
        One(String),
        Many(Vec<String>),
    }

    struct Fields;
    impl<'de> Visitor<'de> for Fields {
        type Value = Vec<(Arc<str>, String)>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of [name, value] pairs or an object of name: value")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(256));
            while let Some(pair) = seq.next_element::<(Arc<str>, String)>()? {
                out.push(pair);
            }
            Ok(out)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<Arc<str>, Values>()? {
                match v {
                    Values::One(v) => out.push((k, v)),
                    Values::Many(vs) => out.extend(vs.into_iter().map(|v| (k.clone(), v))),
                }
            }
            Ok(out)
        }
    }
    d.deserialize_any(Fields)
}

/// Field names worth showing in a finding, in display order. The first
/// ones present on the event are copied into [`Finding::fields`].
pub const KEY_FIELDS: &[&str] = &[
    "CommandLine",
    "Image",
    "ParentImage",
    "ParentCommandLine",
    "NewProcessName",
    "ParentProcessName",
    "ProcessCommandLine",
    "TargetFilename",
    "TargetObject",
    "Details",
    "ImageLoaded",
    "ScriptBlockText",
    "ServiceName",
    "ImagePath",
    "TaskName",
    "User",
    "SubjectUserName",
    "TargetUserName",
    "TargetDomainName",
    "LogonType",
    "IpAddress",
    "SourceIp",
    "DestinationIp",
    "DestinationPort",
    "DestinationHostname",
    "QueryName",
    "ServiceFileName",
    "Hashes",
    "c-ip",
    "forwarded-client",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "sc-status",
    "cs-user-agent",
    "id.orig_h",
    "id.resp_h",
    "id.resp_p",
    "query",
    "uri",
    "host",
    "exe",
    "comm",
    "proctitle",
    "type",
    "msg",
    "message",
];

/// " on HOST" to follow a finding's title, or nothing when the title
/// already says where ("Service X installed on ws01" read "… installed on
/// ws01 on ws01").
pub fn on_host(title: &str, host: &str) -> String {
    let t = title.to_ascii_lowercase();
    let h = host.to_ascii_lowercase();
    if t.ends_with(&format!(" on {h}")) || t.contains(&format!(" on {h} ")) {
        String::new()
    } else {
        format!(" on {host}")
    }
}

/// Pick the key fields of an event for display (at most `max`).
pub fn key_fields(event: &Event, max: usize) -> Vec<(Arc<str>, String)> {
    let mut out = Vec::new();
    for name in KEY_FIELDS {
        if out.len() >= max {
            break;
        }
        if let Some(t) = event.fields.get(name).and_then(|v| v.as_text())
            && !t.is_empty()
            && t != "-"
        {
            out.push((Arc::from(*name), kahu_event::text::clip_marked(&t, 2048)));
        }
    }
    // Who made the hashed file (Sysmon 6/7 signature, 1/7 version
    // resource): containment reads them before it block-lists a hash or
    // refuses to (a System32 path does not make a file Windows' own).
    // Kept beyond `max`, as `Hashes` is judged by them.
    if out.iter().any(|(k, _)| &**k == "Hashes") {
        for name in [
            "Signed",
            "Signature",
            "SignatureStatus",
            "Company",
            "OriginalFileName",
        ] {
            if let Some(t) = event.fields.get(name).and_then(|v| v.as_text())
                && !t.is_empty()
                && !out.iter().any(|(k, _)| &**k == name)
            {
                out.push((Arc::from(name), kahu_event::text::clip_marked(&t, 256)));
            }
        }
    }
    // A connection the process accepted (Sysmon `Initiated: false`) reads
    // backwards without it: its "destination" is the remote client and the
    // service port is the source port. Kept beyond `max`, as it changes
    // what the other fields mean.
    if event
        .fields
        .get("Initiated")
        .and_then(|v| v.as_text())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("false"))
    {
        out.push((Arc::from("Initiated"), "false".to_string()));
        if let Some(p) = event.fields.get("SourcePort").and_then(|v| v.as_text()) {
            out.push((Arc::from("SourcePort"), p.to_string()));
        }
    }
    out
}

/// Field names that link findings to each other (process lineage, logon
/// sessions) without being worth displaying. Detectors append them to
/// [`Finding::fields`] with [`correlation_fields`] so reconstruction can
/// chain findings into incidents.
pub const CORRELATION_FIELDS: &[&str] = &[
    "ProcessGuid",
    "ParentProcessGuid",
    "SourceProcessGUID",
    "TargetProcessGUID",
    "ProcessId",
    "ParentProcessId",
    "NewProcessId",
    "SubjectLogonId",
    "TargetLogonId",
    "LogonId",
];

/// The correlation fields present on an event (see [`CORRELATION_FIELDS`]),
/// for appending to [`Finding::fields`] after [`key_fields`].
pub fn correlation_fields(event: &Event) -> Vec<(Arc<str>, String)> {
    let mut out = Vec::new();
    for name in CORRELATION_FIELDS {
        if let Some(t) = event.fields.get(name).and_then(|v| v.as_text()) {
            let t = t.trim();
            if !t.is_empty() && t != "-" && t.len() <= 128 {
                out.push((Arc::from(*name), t.to_string()));
            }
        }
    }
    out
}

/// ATT&CK ids named by Sigma-style tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttackTags {
    /// Technique ids, upper-case (`T1003.001`).
    pub techniques: Vec<Arc<str>>,
    /// Software ids (`S0002`).
    pub software: Vec<Arc<str>>,
    /// Group ids (`G0065`).
    pub groups: Vec<Arc<str>>,
}

/// Extract ATT&CK ids from tags such as `attack.t1003.001`, `attack.s0002`,
/// `attack.g0065`; tactic names and other namespaces are ignored.
pub fn attack_tags<'a, I: IntoIterator<Item = &'a str>>(tags: I) -> AttackTags {
    let mut out = AttackTags::default();
    for tag in tags {
        let Some(rest) = tag.trim().strip_prefix("attack.") else {
            continue;
        };
        let upper = rest.to_ascii_uppercase();
        let bytes = upper.as_bytes();
        if bytes.len() < 5 || !bytes[1..5].iter().all(u8::is_ascii_digit) {
            continue;
        }
        let list = match bytes[0] {
            b'T' => {
                let valid = upper.len() == 5
                    || (upper.len() == 9
                        && bytes[5] == b'.'
                        && bytes[6..9].iter().all(u8::is_ascii_digit));
                if !valid {
                    continue;
                }
                &mut out.techniques
            }
            b'S' if upper.len() == 5 => &mut out.software,
            b'G' if upper.len() == 5 => &mut out.groups,
            _ => continue,
        };
        if !list.iter().any(|x| **x == *upper) {
            list.push(Arc::from(upper));
        }
    }
    out
}

/// A value in a finding's key fields, for code that wants typed access.
pub fn field<'a>(finding: &'a Finding, name: &str) -> Option<&'a str> {
    finding
        .fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod on_host_tests {
    use super::on_host;

    #[test]
    fn a_title_that_names_its_host_is_not_followed_by_it_again() {
        assert_eq!(
            on_host("Suspicious service spoolfool installed on WIN-77", "win-77"),
            ""
        );
        assert_eq!(on_host("Mimikatz Use", "WS01"), " on WS01");
        // A longer name that starts like the host is another host.
        assert_eq!(on_host("Logon on ws011", "ws01"), " on ws01");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_as_pairs_or_as_an_object() {
        let line = |fields: &str| {
            format!(
                r#"{{"kind":"sigma","rule_id":"r","title":"t","level":"high","techniques":[],"software":[],"timestamp":null,"host":null,"channel":null,"event_id":null,"fields":{fields},"provenance":{{"file":"f","location":{{"kind":"line","value":1}}}}}}"#
            )
        };
        let want: Vec<(Arc<str>, String)> = vec![
            (Arc::from("User"), "bob".into()),
            (Arc::from("Data"), "a".into()),
            (Arc::from("Data"), "b".into()),
        ];
        let pairs: Finding =
            serde_json::from_str(&line(r#"[["User","bob"],["Data","a"],["Data","b"]]"#))
                .unwrap_or_else(|e| panic!("pairs: {e}"));
        assert_eq!(pairs.fields, want);
        let object: Finding = serde_json::from_str(&line(r#"{"User":"bob","Data":["a","b"]}"#))
            .unwrap_or_else(|e| panic!("object: {e}"));
        assert_eq!(object.fields, want);
        // Neither form: an error naming what is expected.
        let err = serde_json::from_str::<Finding>(&line("7"))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("pairs")));
        // Written as pairs, as before.
        let v = serde_json::to_value(&object).unwrap_or_default();
        assert!(v["fields"].is_array(), "{v}");
    }

    #[test]
    fn kind_names_are_the_serialised_names() {
        for k in FindingKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str(), "{k:?}");
        }
        assert_eq!(FindingKind::Ioc.as_str(), "ioc");
    }

    #[test]
    fn tags_yield_attack_ids_only() {
        let t = attack_tags([
            "attack.execution",
            "attack.t1059.001",
            "attack.T1003",
            "attack.s0002",
            "attack.g0065",
            "cve.2021-44228",
            "attack.t1059.001",
            "attack.t10",
            "attack.t1003.01",
        ]);
        assert_eq!(
            t.techniques,
            vec![Arc::from("T1059.001"), Arc::from("T1003")]
        );
        assert_eq!(t.software, vec![Arc::from("S0002")]);
        assert_eq!(t.groups, vec![Arc::from("G0065")]);
    }

    #[test]
    fn correlation_fields_pick_lineage_and_sessions() {
        let mut e = Event::new(Provenance::new(
            Arc::from("f"),
            kahu_event::Location::Record(1),
        ));
        e.fields
            .insert("ProcessGuid", kahu_event::Value::str("{A}"));
        e.fields
            .insert("TargetLogonId", kahu_event::Value::str("0x3e7"));
        e.fields
            .insert("ParentProcessId", kahu_event::Value::str("-"));
        e.fields
            .insert("CommandLine", kahu_event::Value::str("cmd"));
        let got = correlation_fields(&e);
        assert_eq!(
            got,
            vec![
                (Arc::from("ProcessGuid"), "{A}".to_string()),
                (Arc::from("TargetLogonId"), "0x3e7".to_string())
            ]
        );
    }

    #[test]
    fn levels_order_and_parse() {
        assert!(Level::Critical > Level::High);
        assert_eq!("High".parse::<Level>().unwrap(), Level::High);
        let e = "severe".parse::<Level>().unwrap_err();
        assert_eq!(e, UnknownLevel("severe".into()));
        assert!(e.to_string().contains("expected informational"), "{e}");
    }
}
