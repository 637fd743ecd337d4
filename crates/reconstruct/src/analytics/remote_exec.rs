//! Remote-execution signals: what, on a host, shows that someone on
//! another machine ran something there (a service installed, a task
//! registered, a process started by the WMI, WinRM or PsExec service, the
//! service-control or task-scheduler pipe opened over SMB).
//!
//! A network logon or an SMB/RPC connection alone is what every
//! workstation does to its domain controller all day (Kerberos, LDAP, Group
//! Policy over SMB, `lsarpc`/`samr`/`ProtectedStorage` endpoints); it
//! becomes lateral movement when one of these follows it on the target.

use crate::classify::normalize_account;
use crate::util::{CappedMap, clip, ms, text};
use kahu_event::Event;

/// Signals kept per host (the earliest; enough to corroborate any hop,
/// bounded whatever the evidence).
const PER_HOST: usize = 256;

/// How long after a hop a signal on its target still corroborates it (ms).
pub(crate) const AFTER_MS: i64 = 10 * 60 * 1000;
/// How long before a hop's first record a signal may be (clock skew
/// between hosts, a hop logged after the process it started) (ms).
pub(crate) const BEFORE_MS: i64 = 60 * 1000;

/// Parent images whose children were started from another machine.
const REMOTE_PARENTS: &[(&str, &str)] = &[
    ("\\wmiprvse.exe", "process started through WMI"),
    ("\\wsmprovhost.exe", "process started through WinRM"),
    ("\\winrshost.exe", "process started through WinRS"),
    ("\\psexesvc.exe", "process started by the PsExec service"),
];

/// Named pipes opened over `IPC$` that drive remote execution.
const REMOTE_PIPES: &[(&str, &str)] = &[
    ("svcctl", "service control pipe opened over SMB"),
    ("atsvc", "task scheduler pipe opened over SMB"),
    ("psexesvc", "PsExec pipe opened over SMB"),
];

/// One signal: when (ms), what, and the account that did it when the
/// record names one (normalised; empty for System 7045, which names only
/// the service's own account).
type Signal = (i64, &'static str, Box<str>);

/// Per host key (short name): signals sorted by time, earliest kept.
#[derive(Debug, Clone)]
pub(crate) struct RemoteExec {
    by_host: CappedMap<Box<str>, Vec<Signal>>,
}

fn ends_with_ci(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.is_char_boundary(s.len() - suffix.len())
        && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// A process whose parent is a remote-execution host process.
fn remote_child(e: &Event) -> Option<&'static str> {
    let parent = text(e, &["ParentImage", "ParentProcessName"])?;
    let image = text(e, &["Image", "NewProcessName"]).unwrap_or_default();
    if ends_with_ci(&image, "\\psexesvc.exe") {
        return Some("PsExec service started");
    }
    REMOTE_PARENTS
        .iter()
        .find(|(p, _)| ends_with_ci(&parent, p))
        .map(|(_, why)| *why)
}

/// The remote-execution signal an event is, if any.
fn signal(e: &Event) -> Option<&'static str> {
    let channel = e.channel.as_deref().unwrap_or("");
    let sysmon = channel.contains("Sysmon");
    match e.event_id? {
        7045 if !sysmon => Some("service installed"),
        4697 if !sysmon => Some("service installed"),
        4698 if !sysmon => Some("scheduled task registered"),
        1 if sysmon => remote_child(e),
        4688 => remote_child(e),
        5145 if !sysmon => {
            let share = text(e, &["ShareName"])?;
            if !ends_with_ci(&share, "\\IPC$") && !share.eq_ignore_ascii_case("IPC$") {
                return None;
            }
            let target = text(e, &["RelativeTargetName"])?;
            REMOTE_PIPES
                .iter()
                .find(|(p, _)| target.trim().eq_ignore_ascii_case(p))
                .map(|(_, why)| *why)
        }
        _ => None,
    }
}

impl RemoteExec {
    pub(crate) fn new(cap: usize) -> Self {
        RemoteExec {
            by_host: CappedMap::new(cap),
        }
    }

    pub(crate) fn observe(&mut self, e: &Event, host_key: impl FnOnce(&str) -> String) {
        let Some(why) = signal(e) else { return };
        let (Some(host), Some(t)) = (e.host.as_deref(), e.timestamp.as_ref()) else {
            return;
        };
        let account: Box<str> = if e.event_id == Some(7045) {
            "".into()
        } else {
            text(e, &["SubjectUserName", "User", "AccountName"])
                .and_then(|a| normalize_account(&a))
                .map(|a| clip(&a, 256))
                .unwrap_or_default()
                .into()
        };
        let key: Box<str> = host_key(host).into();
        if let Some(v) = self.by_host.slot(&key, || (key.clone(), Vec::new())) {
            v.push((ms(t), why, account));
            if v.len() > 2 * PER_HOST {
                trim(v);
            }
        }
    }

    pub(crate) fn merge(&mut self, other: RemoteExec) {
        self.by_host.merge(other.by_host, |a, b| {
            a.extend(b);
            trim(a);
        });
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.by_host.dropped
    }

    /// The first signal on `host` from `BEFORE_MS` before to `AFTER_MS`
    /// after one of the hop `times`, by the hop's `account` when the signal
    /// names one; with `smb_signals` false, pipe opens over SMB do not
    /// count (they corroborate SMB hops, not RPC/DCOM ones).
    pub(crate) fn corroborate(
        &self,
        host: &str,
        times: &[i64],
        account: &str,
        smb_signals: bool,
    ) -> Option<&'static str> {
        let v = self.by_host.map.get(host)?;
        times.iter().find_map(|&t| {
            let lo = t.saturating_sub(BEFORE_MS);
            let hi = t.saturating_add(AFTER_MS);
            let start = v.partition_point(|(s, _, _)| *s < lo);
            v[start..]
                .iter()
                .take_while(|(s, _, _)| *s <= hi)
                .find(|(_, why, who)| {
                    (smb_signals || !REMOTE_PIPES.iter().any(|(_, w)| w == why))
                        && (who.is_empty() || account.is_empty() || **who == *account)
                })
                .map(|(_, why, _)| *why)
        })
    }

    /// Sort every host's list (call before [`Self::corroborate`]).
    pub(crate) fn finish(&mut self) {
        for v in self.by_host.map.values_mut() {
            trim(v);
        }
    }
}

/// Sort, deduplicate and keep the earliest [`PER_HOST`]: the same result
/// whatever the order signals arrived in.
fn trim(v: &mut Vec<Signal>) {
    v.sort_unstable();
    v.dedup();
    v.truncate(PER_HOST);
}
