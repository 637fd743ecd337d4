//! Hayabusa's rule dialect: Sigma with a `details:` summary template
//! (`User: %TargetUserName% ¦ IP: %IpAddress%`) and field aliases for
//! `UserData` members.
//!
//! Hayabusa names some `UserData` fields by the element that holds them
//! (`LogFileClearedChannel` = `UserData/LogFileCleared/Channel`,
//! `UserDataSessionID`, `RdsGtwUsername` = the TerminalServices-Gateway
//! `EventInfo/Username`). kahu's EVTX reader flattens `UserData` to the
//! member names themselves (`Channel`, `SessionID`, `Username`), so these
//! aliases are rewritten to the member name in rules that say
//! `ruletype: Hayabusa`, and resolved the same way in `details`.

use kahu_event::{Event, Value};
use serde_json::{Map, Value as J};

/// Prefixes Hayabusa puts before a `UserData` member's name.
const USERDATA_PREFIXES: &[&str] = &["LogFileCleared", "UserData", "RdsGtw"];

/// Longest rendered `details` summary; longer ones end in `…`.
const MAX_SUMMARY: usize = 2048;

/// Longest value copied into a summary.
const MAX_VALUE: usize = 512;

/// Whether a rule document says it is written in Hayabusa's dialect.
pub(crate) fn is_hayabusa(doc: &J) -> bool {
    doc.get("ruletype")
        .and_then(J::as_str)
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("hayabusa"))
}

/// The field kahu's reader gives a Hayabusa alias, or `None` when `name`
/// is not one (`LogFileClearedChannel` → `Channel`).
pub fn alias(name: &str) -> Option<&str> {
    USERDATA_PREFIXES.iter().find_map(|p| {
        let rest = name.strip_prefix(p)?;
        rest.starts_with(|c: char| c.is_ascii_uppercase())
            .then_some(rest)
    })
}

/// A `field|modifiers` key with the field's alias resolved.
fn rewrite_key(key: &str) -> String {
    let (field, mods) = match key.split_once('|') {
        Some((f, m)) => (f, Some(m)),
        None => (key, None),
    };
    match (alias(field), mods) {
        (Some(f), Some(m)) => format!("{f}|{m}"),
        (Some(f), None) => f.to_string(),
        (None, _) => key.to_string(),
    }
}

fn rewrite_search(v: &J) -> J {
    match v {
        J::Object(m) => J::Object(
            m.iter()
                .map(|(k, v)| (rewrite_key(k), v.clone()))
                .collect::<Map<_, _>>(),
        ),
        J::Array(a) => J::Array(a.iter().map(rewrite_search).collect()),
        other => other.clone(),
    }
}

/// The `detection` map with Hayabusa's field aliases resolved in every
/// search (the condition and `timeframe` are left as they are).
pub(crate) fn rewrite_detection(det: &J) -> J {
    match det {
        J::Object(m) => J::Object(
            m.iter()
                .map(|(k, v)| match k.as_str() {
                    "condition" | "timeframe" => (k.clone(), v.clone()),
                    _ => (k.clone(), rewrite_search(v)),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The text of one placeholder: a field (alias resolved), or `Data[N]`,
/// the N-th (1-based) unnamed `Data` value.
fn placeholder(event: &Event, name: &str) -> Option<String> {
    if let Some(n) = name
        .strip_prefix("Data[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|n| n.parse::<usize>().ok())
    {
        return match event.get("Data")? {
            Value::Array(a) => a.get(n.checked_sub(1)?)?.as_text().map(|t| t.into_owned()),
            v if n == 1 => v.as_text().map(|t| t.into_owned()),
            _ => None,
        };
    }
    let field = alias(name).unwrap_or(name);
    event
        .get(field)
        .and_then(Value::as_text)
        .map(|t| t.into_owned())
        .or_else(|| match field {
            "Channel" => event.channel.as_deref().map(str::to_string),
            "Computer" => event.host.as_deref().map(str::to_string),
            "EventID" => event.event_id.map(|i| i.to_string()),
            _ => None,
        })
}

fn push_bounded(out: &mut String, s: &str, max: usize) {
    for c in s.chars() {
        if out.len() + c.len_utf8() > max {
            out.push('…');
            return;
        }
        // One line: evidence text never breaks the summary's layout.
        out.push(if c.is_control() { ' ' } else { c });
    }
}

/// Render a `details` template: each `%Field%` becomes the event's value
/// (`n/a` when absent, as Hayabusa prints), values and the whole summary
/// bounded in length and kept on one line.
pub fn render_details(template: &str, event: &Event) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('%') {
        push_bounded(&mut out, &rest[..start], MAX_SUMMARY);
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end) if end > 0 && !after[..end].contains(char::is_whitespace) => {
                let value = placeholder(event, &after[..end]).unwrap_or_else(|| "n/a".into());
                let mut v = String::new();
                push_bounded(&mut v, &value, MAX_VALUE);
                push_bounded(&mut out, &v, MAX_SUMMARY);
                rest = &after[end + 1..];
            }
            _ => {
                push_bounded(&mut out, "%", MAX_SUMMARY);
                rest = after;
            }
        }
        if out.len() >= MAX_SUMMARY {
            return out;
        }
    }
    push_bounded(&mut out, rest, MAX_SUMMARY);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kahu_event::{Location, Provenance};
    use std::sync::Arc;

    fn event() -> Event {
        let mut e = Event::new(Provenance::new(Arc::from("f"), Location::Record(1)));
        e.channel = Some(Arc::from("Security"));
        e.fields.insert("TargetUserName", Value::str("bob"));
        e.fields.insert("Username", Value::str("CORP\\eve"));
        e.fields.insert(
            "Data",
            Value::Array(vec![Value::str("one"), Value::str("two\r\nthree")]),
        );
        e
    }

    #[test]
    fn aliases_name_the_userdata_member() {
        assert_eq!(alias("LogFileClearedChannel"), Some("Channel"));
        assert_eq!(alias("UserDataSessionID"), Some("SessionID"));
        assert_eq!(alias("RdsGtwUsername"), Some("Username"));
        assert_eq!(alias("UserData"), None);
        assert_eq!(alias("Userdata"), None);
        assert_eq!(alias("TargetUserName"), None);
        assert_eq!(
            rewrite_key("RdsGtwErrorCode|contains"),
            "ErrorCode|contains"
        );
    }

    #[test]
    fn details_render_fields_aliases_and_data_items() {
        let e = event();
        assert_eq!(
            render_details(
                "User: %TargetUserName% ¦ Gw: %RdsGtwUsername% ¦ Ch: %Channel% ¦ D2: %Data[2]% ¦ X: %Nope% ¦ 100%",
                &e
            ),
            "User: bob ¦ Gw: CORP\\eve ¦ Ch: Security ¦ D2: two  three ¦ X: n/a ¦ 100%"
        );
        assert_eq!(render_details("%Data[0]% %Data[9]%", &e), "n/a n/a");
    }

    #[test]
    fn hostile_values_are_bounded() {
        let mut e = event();
        e.fields
            .insert("TargetUserName", Value::str(&"x".repeat(100_000)));
        let s = render_details(&"%TargetUserName%".repeat(50), &e);
        assert!(s.len() <= MAX_SUMMARY + '…'.len_utf8(), "{}", s.len());
        assert!(s.ends_with('…'));
    }

    #[test]
    fn a_hayabusa_rule_matches_through_aliases_and_summarises() {
        let yaml = "title: Log cleared\nid: h1\nruletype: Hayabusa\nlevel: high\n\
details: 'Log: %LogFileClearedChannel% ¦ User: %LogFileClearedSubjectUserName%'\n\
logsource:\n  product: windows\n  service: system\ndetection:\n  selection:\n    \
EventID: 104\n    LogFileClearedChannel: Security\n  condition: selection\n";
        let report = crate::RuleSet::from_yaml(&[("h.yml", yaml)], &Default::default());
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let mut e = Event::new(Provenance::new(Arc::from("f"), Location::Record(1)));
        e.channel = Some(Arc::from("System"));
        e.event_id = Some(104);
        e.fields.insert("EventID", Value::Int(104));
        e.fields.insert("Channel", Value::str("Security"));
        e.fields.insert("SubjectUserName", Value::str("eve"));
        let mut m = Vec::new();
        report.ruleset.matches(&e, &mut m);
        assert_eq!(m.len(), 1, "the alias names the UserData member");
        let f = report.ruleset.finding(m[0], &e);
        assert_eq!(&*f.fields[0].0, "Summary");
        assert_eq!(f.fields[0].1, "Log: Security ¦ User: eve");
        // Without `ruletype: Hayabusa` the name is taken as written.
        let plain = yaml.replace("ruletype: Hayabusa\n", "");
        let report = crate::RuleSet::from_yaml(&[("h.yml", &plain)], &Default::default());
        let mut m = Vec::new();
        report.ruleset.matches(&e, &mut m);
        assert!(m.is_empty());
    }
}
