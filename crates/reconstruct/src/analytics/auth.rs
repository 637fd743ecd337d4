//! Recognising authentication events (Windows Security logons, Kerberos,
//! NTLM; Linux sshd) and normalising them into one [`Auth`] record.
//!
//! Linux readers are written separately and their field names may vary,
//! so sshd events are recognised by several candidate names and, failing
//! those, by parsing the classic sshd message text.

use crate::classify::normalize_account;
use crate::util::{MAX_TEXT, clip, int, text};
use kahu_event::Event;
use serde::{Deserialize, Serialize};

/// Which authentication mechanism an event records. Kept apart in keys so
/// that the 4625 on a member server and the 4776 on the DC for the same
/// attempt are not counted twice against each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// Security 4624/4625 other than RDP.
    Logon,
    /// Security 4624/4625 with logon type 10 (RemoteInteractive).
    Rdp,
    /// Security 4768 TGT requests and 4771 pre-authentication failures.
    Kerberos,
    /// Security 4769 service-ticket requests.
    KerberosService,
    /// Security 4776 NTLM credential validation.
    Ntlm,
    /// Linux sshd.
    Ssh,
}

impl AuthKind {
    /// Short name used in titles.
    pub fn label(self) -> &'static str {
        match self {
            AuthKind::Logon => "logon",
            AuthKind::Rdp => "RDP",
            AuthKind::Kerberos => "Kerberos",
            AuthKind::KerberosService => "Kerberos service ticket",
            AuthKind::Ntlm => "NTLM",
            AuthKind::Ssh => "SSH",
        }
    }
}

/// One normalised authentication attempt.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub kind: AuthKind,
    pub success: bool,
    /// Normalised account (lower-case, no domain).
    pub account: String,
    pub domain: Option<String>,
    /// Source IP, else workstation name, else `local`.
    pub source: String,
    pub source_ip: Option<std::net::IpAddr>,
    pub logon_type: Option<u32>,
    /// Decoded failure reason.
    pub reason: Option<&'static str>,
    /// Raw status code (4625 SubStatus when Status is generic).
    pub status: Option<u32>,
    /// Attempts the record stands for: rsyslog folds repeats into one
    /// line (`message repeated 5 times: [ Failed password …]`, on by
    /// default on Ubuntu), read as `repeat_count`; 1 otherwise.
    pub count: u32,
}

pub(crate) fn is_security(e: &Event) -> bool {
    match (&e.channel, &e.provider) {
        (Some(c), _) if c.eq_ignore_ascii_case("security") => true,
        (_, Some(p)) if p.contains("Security-Auditing") => true,
        (None, None) => true,
        _ => false,
    }
}

/// Decode NTSTATUS (4625, 4776) and Kerberos (4768, 4771) failure codes.
pub fn failure_reason(code: u32, kerberos: bool) -> Option<&'static str> {
    if kerberos {
        return Some(match code {
            0x6 => "unknown principal (no such user)",
            0x7 => "unknown server principal",
            0xC => "policy restriction (workstation/time)",
            0x12 => "account disabled, expired or locked out",
            0x17 => "password expired",
            0x18 => "bad password (pre-authentication failed)",
            0x1F => "integrity check failed",
            0x20 => "ticket expired",
            0x25 => "clock skew too great",
            0x44 => "wrong realm",
            _ => return None,
        });
    }
    Some(match code {
        0xC000006A => "bad password",
        0xC0000064 => "no such user",
        0xC0000234 => "account locked out",
        0xC0000072 => "account disabled",
        0xC000006F => "outside allowed logon hours",
        0xC0000070 => "workstation restriction",
        0xC0000071 => "password expired",
        0xC0000193 => "account expired",
        0xC0000224 => "password must change",
        0xC000015B => "logon type not granted",
        0xC000006D => "bad user name or password",
        0xC000006E => "account restriction",
        0xC0000133 => "clock skew",
        0xC000005E => "no logon servers",
        0xC0000413 => "authentication firewall",
        0xC000018C => "trust relationship failed",
        0xC0000192 => "netlogon service not started",
        0xC0000371 => "local account store lacks secret",
        _ => return None,
    })
}

const SOURCE_IP: &[&str] = &[
    "IpAddress",
    "src_ip",
    "SourceIp",
    "source.ip",
    "rhost",
    "src",
    "ip",
    "client_ip",
    "SourceAddress",
];
const SSH_USER: &[&str] = &[
    "user",
    "User",
    "TargetUserName",
    "user.name",
    "username",
    "UserName",
];
const OUTCOME: &[&str] = &["outcome", "event.outcome", "action", "Outcome", "result"];

pub(crate) fn parse(e: &Event) -> Option<Auth> {
    match e.event_id {
        Some(4624 | 4625 | 4768 | 4769 | 4771 | 4776) if is_security(e) => windows(e),
        _ if may_be_sshd(e) => ssh(e),
        _ => None,
    }
}

/// Whether `e` can be an sshd record: not when it comes from Windows
/// itself (a `Microsoft-Windows-…` provider or channel, as the Security,
/// Sysmon and PowerShell logs have; OpenSSH for Windows logs as
/// `OpenSSH`). sshd lines inside such a record are attacker-controlled
/// text (a command line that echoes them), not logins. Skipping them also
/// saves the dozen field lookups and the message scan of [`ssh`], which
/// were most of what the analytics cost on Windows evidence.
fn may_be_sshd(e: &Event) -> bool {
    const WINDOWS: &str = "Microsoft-Windows-";
    let windows = |s: &str| {
        s.get(..WINDOWS.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(WINDOWS))
    };
    !(e.provider.as_deref().is_some_and(windows) || e.channel.as_deref().is_some_and(windows))
}

fn windows(e: &Event) -> Option<Auth> {
    let eid = e.event_id?;
    let user = text(e, &["TargetUserName"])?;
    let account = normalize_account(&user)?;
    let domain = text(e, &["TargetDomainName"]).map(|d| clip(&d, 256));
    let ip_raw = text(e, &["IpAddress"]);
    let source_ip = ip_raw.as_deref().and_then(crate::classify::parse_ip);
    let ws = text(e, &["WorkstationName", "Workstation"]);
    let source = match (&source_ip, &ws) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(w)) => clip(&w.to_lowercase(), 256),
        (None, None) => "local".to_string(),
    };
    let logon_type = int(e, &["LogonType"]).and_then(|v| u32::try_from(v).ok());
    let status = int(e, &["Status"]).map(|v| v as u32);
    let sub = int(e, &["SubStatus"]).map(|v| v as u32);
    let (kind, success, code, kerberos) = match eid {
        4624 | 4625 => {
            let kind = if logon_type == Some(10) {
                AuthKind::Rdp
            } else {
                AuthKind::Logon
            };
            // 4625 Status 0xC000006D is generic; SubStatus says why.
            let code = match (status, sub) {
                (Some(0xC000006D), Some(s)) if s != 0 => Some(s),
                (s, None) | (s, Some(0)) => s,
                (Some(s), _) => Some(s),
                (None, s) => s,
            };
            (kind, eid == 4624, code, false)
        }
        4768 | 4771 => (
            AuthKind::Kerberos,
            eid == 4768 && status.unwrap_or(0) == 0,
            status,
            true,
        ),
        4769 => (
            AuthKind::KerberosService,
            status.unwrap_or(0) == 0,
            status,
            true,
        ),
        4776 => (AuthKind::Ntlm, status.unwrap_or(0) == 0, status, false),
        _ => return None,
    };
    let reason = if success {
        None
    } else {
        code.and_then(|c| failure_reason(c, kerberos))
    };
    Some(Auth {
        kind,
        success,
        account: clip(&account, MAX_TEXT),
        domain,
        source,
        source_ip,
        logon_type,
        reason,
        status: if success { None } else { code },
        count: 1,
    })
}

fn is_sshd(e: &Event) -> bool {
    let is = |s: &str| s.eq_ignore_ascii_case("sshd") || s.starts_with("sshd[");
    if e.provider.as_deref().is_some_and(is) {
        return true;
    }
    if text(
        e,
        &[
            "program",
            "process.name",
            "SYSLOG_IDENTIFIER",
            "ident",
            "app",
            "appname",
            "process",
        ],
    )
    .is_some_and(|p| is(&p))
    {
        return true;
    }
    e.logsource
        .service
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("sshd"))
}

fn ssh(e: &Event) -> Option<Auth> {
    let message = text(e, &["message", "msg", "Message", "MESSAGE"]);
    if !is_sshd(e) {
        // Readers that do not split the syslog header leave "sshd[123]:" in the text.
        if !message
            .as_deref()
            .is_some_and(|m| m.contains("sshd[") || m.contains("sshd:"))
        {
            return None;
        }
    }
    // The Linux reader labels sshd logins `action: ssh_login`; PAM and
    // session lines from sshd repeat the same attempt and must not count.
    if text(e, &["action"]).is_some_and(|a| !a.eq_ignore_ascii_case("ssh_login")) {
        return None;
    }
    if message.as_deref().is_some_and(is_repeat_line) {
        return None;
    }
    let from_msg = message.as_deref().and_then(parse_sshd_message);
    let outcome = text(e, OUTCOME).map(|o| o.to_ascii_lowercase());
    let success = match (&outcome, &from_msg) {
        (Some(o), _) if o.contains("success") || o.contains("accept") => true,
        (Some(o), _) if o.contains("fail") || o.contains("invalid") || o.contains("denied") => {
            false
        }
        (_, Some(m)) => m.success,
        _ => return None,
    };
    let user = text(e, SSH_USER)
        .map(|u| u.into_owned())
        .or_else(|| from_msg.as_ref().map(|m| m.user.to_string()))?;
    let account = normalize_account(&user)?;
    let ip_text = text(e, SOURCE_IP)
        .map(|s| s.into_owned())
        .or_else(|| from_msg.as_ref().map(|m| m.ip.to_string()));
    let source_ip = ip_text.as_deref().and_then(crate::classify::parse_ip);
    let source = match (&source_ip, &ip_text) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(t)) => clip(&t.to_lowercase(), 256),
        _ => "local".to_string(),
    };
    let invalid = from_msg.as_ref().is_some_and(|m| m.invalid_user)
        || outcome.as_deref().is_some_and(|o| o.contains("invalid"));
    Some(Auth {
        kind: AuthKind::Ssh,
        success,
        account: clip(&account, MAX_TEXT),
        domain: None,
        source,
        source_ip,
        logon_type: None,
        reason: (!success).then_some(if invalid {
            "no such user"
        } else {
            "bad password"
        }),
        status: None,
        count: e
            .get("repeat_count")
            .and_then(kahu_event::Value::as_i64)
            .map_or(1, |n| n.clamp(1, i64::from(u32::MAX)) as u32),
    })
}

/// sshd lines that restate an attempt already logged as `Failed …`:
/// `Invalid user X from IP` precedes it and `maximum authentication
/// attempts exceeded` closes a series of them. Counting them would double
/// brute-force counts. (Public-key-only scanners that never reach a
/// `Failed` line are therefore not counted.)
fn is_repeat_line(m: &str) -> bool {
    let m = m.trim_start();
    let m = m.split_once("]: ").map_or(m, |(_, r)| r);
    m.starts_with("Invalid user ")
        || m.starts_with("invalid user ")
        || m.contains("maximum authentication attempts exceeded")
}

/// What an sshd authentication message says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SshdMessage<'a> {
    pub success: bool,
    pub invalid_user: bool,
    pub user: &'a str,
    pub ip: &'a str,
}

/// Parse `Accepted <method> for <user> from <ip> port <n>` and
/// `Failed <method> for [invalid user ]<user> from <ip> port <n>`.
/// `Invalid user X from IP` lines are ignored: sshd follows them with a
/// `Failed … invalid user` line and counting both would double the attempt.
pub(crate) fn parse_sshd_message(m: &str) -> Option<SshdMessage<'_>> {
    let (success, rest) = if let Some(i) = m.find("Accepted ") {
        (true, &m[i + "Accepted ".len()..])
    } else if let Some(i) = m.find("Failed ") {
        (false, &m[i + "Failed ".len()..])
    } else {
        return None;
    };
    let rest = &rest[rest.find(" for ")? + 5..];
    let (invalid_user, rest) = match rest.strip_prefix("invalid user ") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    // User names may contain spaces in attacker input; " from " splits reliably.
    let at = rest.rfind(" from ")?;
    let user = rest[..at].trim();
    let ip = rest[at + 6..].split_whitespace().next()?;
    if user.is_empty() {
        return None;
    }
    Some(SshdMessage {
        success,
        invalid_user,
        user,
        ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sshd_messages() {
        let m = parse_sshd_message("Accepted publickey for deploy from 10.0.0.9 port 51234 ssh2")
            .unwrap();
        assert_eq!((m.success, m.user, m.ip), (true, "deploy", "10.0.0.9"));
        let m = parse_sshd_message(
            "sshd[88]: Failed password for invalid user admin from 203.0.113.7 port 4 ssh2",
        )
        .unwrap();
        assert_eq!(
            (m.success, m.invalid_user, m.user, m.ip),
            (false, true, "admin", "203.0.113.7")
        );
        assert!(parse_sshd_message("Invalid user admin from 203.0.113.7 port 4").is_none());
        assert!(parse_sshd_message("Failed password for  from 1.2.3.4").is_none());
        assert!(parse_sshd_message("Failed").is_none());
    }

    #[test]
    fn reasons_decode() {
        assert_eq!(failure_reason(0xC000006A, false), Some("bad password"));
        assert_eq!(failure_reason(0xC0000064, false), Some("no such user"));
        assert_eq!(
            failure_reason(0xC0000234, false),
            Some("account locked out")
        );
        assert_eq!(
            failure_reason(0x18, true),
            Some("bad password (pre-authentication failed)")
        );
        assert_eq!(failure_reason(0x1234, false), None);
    }
}
