//! Correlation keys: the identifiers that tie two pieces of evidence to the
//! same process tree or logon session, read from an [`Event`] or from the
//! fields a [`Finding`] carries (see `kahu_finding::correlation_fields`).

use crate::classify::{AccountClass, classify_account, normalize_account};
use kahu_event::Event;
use kahu_finding::Finding;
use serde::Serialize;
use std::borrow::Cow;

/// Something fields can be read from by name.
pub trait FieldSource {
    /// A field's text value by name (case-insensitive fallback).
    fn field_text(&self, name: &str) -> Option<Cow<'_, str>>;
    /// The Windows event id, if any.
    fn eid(&self) -> Option<u32>;
}

impl FieldSource for Event {
    fn field_text(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get_str(name)
    }
    fn eid(&self) -> Option<u32> {
        self.event_id
    }
}

impl FieldSource for Finding {
    fn field_text(&self, name: &str) -> Option<Cow<'_, str>> {
        kahu_finding::field(self, name).map(Cow::Borrowed)
    }
    fn eid(&self) -> Option<u32> {
        self.event_id
    }
}

/// Fields naming an account, most specific first.
pub(crate) const ACCOUNT_FIELDS: &[&str] = &[
    "TargetUserName",
    "SubjectUserName",
    "User",
    "user",
    "AccountName",
    "UserName",
    "user.name",
    "cs-username",
];

/// Linking identifiers of one piece of evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CorrelationKeys {
    /// The acting process's Sysmon GUID, lower-case without braces.
    pub process_guid: Option<String>,
    /// Its parent's (or, for process access, the target's) GUID.
    pub parent_guid: Option<String>,
    /// The acting process id (for 4688: the new process).
    pub pid: Option<u64>,
    /// The parent process id (for 4688: the creator `ProcessId`).
    pub parent_pid: Option<u64>,
    /// Logon session ids (LUIDs) named by the evidence, except the
    /// well-known SYSTEM/LOCAL SERVICE/NETWORK SERVICE sessions that every
    /// service shares.
    pub logon_ids: Vec<u64>,
    /// Normalised user accounts (machine and built-in accounts excluded).
    pub accounts: Vec<String>,
}

fn guid(s: &str) -> Option<String> {
    let g = s
        .trim()
        .trim_matches(|c| c == '{' || c == '}')
        .to_ascii_lowercase();
    // The all-zero GUID appears when Sysmon could not resolve a process.
    if g.is_empty() || g.len() > 64 || g.bytes().all(|b| b == b'0' || b == b'-') {
        return None;
    }
    Some(g)
}

fn number(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// LUIDs shared by every service on a host; linking through them would
/// merge unrelated activity.
const SHARED_LUIDS: &[u64] = &[0, 0x3e7, 0x3e4, 0x3e5];

impl CorrelationKeys {
    /// Extract keys from an event or a finding.
    pub fn extract<S: FieldSource + ?Sized>(src: &S) -> Self {
        let get = |n: &str| src.field_text(n);
        let mut k = CorrelationKeys {
            process_guid: get("ProcessGuid")
                .or_else(|| get("SourceProcessGUID"))
                .and_then(|g| guid(&g)),
            parent_guid: get("ParentProcessGuid")
                .or_else(|| get("TargetProcessGUID"))
                .and_then(|g| guid(&g)),
            ..Default::default()
        };
        if src.eid() == Some(4688) {
            k.pid = get("NewProcessId").and_then(|v| number(&v));
            k.parent_pid = get("ProcessId").and_then(|v| number(&v));
        } else {
            k.pid = get("ProcessId").and_then(|v| number(&v));
            k.parent_pid = get("ParentProcessId").and_then(|v| number(&v));
        }
        for n in ["TargetLogonId", "SubjectLogonId", "LogonId"] {
            if let Some(id) = get(n).and_then(|v| number(&v))
                && !SHARED_LUIDS.contains(&id)
                && !k.logon_ids.contains(&id)
            {
                k.logon_ids.push(id);
            }
        }
        for n in ACCOUNT_FIELDS {
            if let Some(a) = get(n)
                && classify_account(&a) == AccountClass::User
                && let Some(norm) = normalize_account(&a)
                && !k.accounts.contains(&norm)
            {
                k.accounts.push(norm);
            }
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kahu_event::{Location, Provenance, Value};

    fn ev(eid: u32, f: &[(&str, &str)]) -> Event {
        let mut e = Event::new(Provenance::new("t".into(), Location::Record(1)));
        e.event_id = Some(eid);
        for (k, v) in f {
            e.fields.insert(k, Value::str(v));
        }
        e
    }

    #[test]
    fn security_4688_pids_mean_child_and_creator() {
        let k = CorrelationKeys::extract(&ev(
            4688,
            &[
                ("NewProcessId", "0x1f4"),
                ("ProcessId", "0x64"),
                ("SubjectLogonId", "0x3e7"),
            ],
        ));
        assert_eq!(k.pid, Some(500));
        assert_eq!(k.parent_pid, Some(100));
        assert!(k.logon_ids.is_empty(), "SYSTEM session must not link");
    }

    #[test]
    fn sysmon_guids_normalised_and_accounts_filtered() {
        let k = CorrelationKeys::extract(&ev(
            1,
            &[
                ("ProcessGuid", "{ABC-1}"),
                (
                    "ParentProcessGuid",
                    "{00000000-0000-0000-0000-000000000000}",
                ),
                ("User", "CORP\\Alice"),
                ("SubjectUserName", "WS01$"),
                ("LogonId", "0x5A3F1"),
            ],
        ));
        assert_eq!(k.process_guid.as_deref(), Some("abc-1"));
        assert_eq!(k.parent_guid, None);
        assert_eq!(k.accounts, vec!["alice".to_string()]);
        assert_eq!(k.logon_ids, vec![0x5a3f1]);
    }
}
