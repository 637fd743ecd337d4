//! Fields from authentication messages in `auth.log` / `secure`: sshd
//! logins, sudo, su, PAM sessions and failures, account management
//! (`useradd`, `groupadd`, `usermod`, `userdel`, `passwd`), logind sessions
//! and cron jobs.
//!
//! Field names: `user` (the account acted on or logging in), `src_ip` and
//! its Windows-style twin `IpAddress` (so one IOC or correlation query
//! covers both Windows logons and SSH), `port`, `auth_method`, `outcome`
//! (`success` / `failure`), `action` (what happened, e.g. `ssh_login`,
//! `sudo`, `user_add`), plus sudo's own names `USER` (target user),
//! `COMMAND`, `TTY`, `PWD` as SigmaHQ's sudo rules use them.

use kahu_event::{Fields, Value};
use regex::Regex;
use std::sync::LazyLock;

/// Programs whose messages belong in the `auth` log source.
pub(super) fn is_auth_program(p: &str) -> bool {
    matches!(
        p,
        "sshd"
            | "sshd-session"
            | "sudo"
            | "su"
            | "login"
            | "useradd"
            | "userdel"
            | "usermod"
            | "groupadd"
            | "groupdel"
            | "groupmod"
            | "gpasswd"
            | "passwd"
            | "chpasswd"
            | "chage"
            | "systemd-logind"
            | "polkitd"
            | "pkexec"
            | "unix_chkpwd"
            | "chsh"
            | "chfn"
            | "newgrp"
            | "doas"
    )
}

fn re(s: &str) -> Regex {
    // The patterns are literals in this file; a bad one is a programming
    // error caught by the unit tests.
    Regex::new(s).expect("valid built-in regex")
}

static SSH_ACCEPTED: LazyLock<Regex> =
    LazyLock::new(|| re(r"^Accepted (\S+) for (.*?) from (\S+) port (\d+)"));
static SSH_FAILED: LazyLock<Regex> =
    LazyLock::new(|| re(r"^Failed (\S+) for (invalid user )?(.*?) from (\S+) port (\d+)"));
static SSH_INVALID: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[Ii]nvalid user (.*?) from (\S+)(?: port (\d+))?"));
static SSH_CLOSED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:Connection closed by|Disconnected from|Connection reset by) (?:(authenticating|invalid) user )?(?:user )?(?:(\S+) )?(\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]+:[0-9a-fA-F:]*) port (\d+)",
    )
});
static SSH_MAXAUTH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^error: maximum authentication attempts exceeded for (invalid user )?(.*?) from (\S+) port (\d+)",
    )
});
static SSH_CONN: LazyLock<Regex> =
    LazyLock::new(|| re(r"^Connection from (\S+) port (\d+) on (\S+) port (\d+)"));
static PAM_SESSION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"pam_unix\(([^:)]+):session\): session (opened|closed) for user ([^\s(]+)(?:\(uid=\d+\))?(?: by ([^\s(]*))?",
    )
});
static PAM_AUTHFAIL: LazyLock<Regex> =
    LazyLock::new(|| re(r"pam_unix\(([^:)]+):auth\): authentication failure;(.*)"));
static KV: LazyLock<Regex> = LazyLock::new(|| re(r"(\w+)=(\S*)"));
static NEW_USER: LazyLock<Regex> = LazyLock::new(|| re(r"^new user: (.*)"));
static NEW_GROUP: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:new group|group added to \S+|new group added to \S+): (.*)"));
static USERMOD_ADD: LazyLock<Regex> =
    LazyLock::new(|| re(r"^add '([^']*)' to (?:shadow )?group '([^']*)'"));
static USERDEL: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:delete user|removed group|delete '([^']*)' from group) '?([^']*)'?"));
static PASSWD_CHANGED: LazyLock<Regex> = LazyLock::new(|| re(r"password changed for (\S+)"));
static SU_DEBIAN: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(Successful|FAILED) su for (\S+) by (\S+)"));
static SU_RHEL: LazyLock<Regex> = LazyLock::new(|| re(r"^\(to (\S+)\) (\S+) on (\S+)"));
static LOGIND_NEW: LazyLock<Regex> = LazyLock::new(|| re(r"^New session (\S+) of user (\S+?)\.?$"));
static CRON_CMD: LazyLock<Regex> = LazyLock::new(|| re(r"^\((\S+)\) CMD \((.*)\)$"));

fn s(f: &mut Fields, k: &str, v: &str) {
    f.insert(k, Value::str(v));
}

fn ip(f: &mut Fields, v: &str) {
    s(f, "src_ip", v);
    s(f, "IpAddress", v);
}

fn port(f: &mut Fields, v: &str) {
    f.insert("port", crate::text::num_or_str(v));
}

/// Add fields for an authentication message; `true` if it was one.
pub(super) fn extract(program: &str, msg: &str, f: &mut Fields) -> bool {
    let msg = unfold_repeat(msg, f);
    let prog = program.to_ascii_lowercase();
    if prog.starts_with("sshd") && sshd(msg, f) {
        return true;
    }
    if prog == "sudo"
        && let Some((user, rest)) = msg.split_once(" : ")
    {
        sudo(user, rest, f);
        return true;
    }
    if prog == "su" && su(msg, f) {
        return true;
    }
    if pam(msg, f) {
        return true;
    }
    account(&prog, msg, f)
}

/// rsyslog folds repeats: `message repeated 3 times: [ Failed password …]`.
/// Returns the inner message, the count in `repeat_count`.
fn unfold_repeat<'m>(msg: &'m str, f: &mut Fields) -> &'m str {
    if let Some(rest) = msg.strip_prefix("message repeated ")
        && let Some((count, inner)) = rest.split_once(" times: [ ")
    {
        if let Ok(c) = count.parse::<i64>() {
            f.insert("repeat_count", Value::Int(c));
        }
        return inner.strip_suffix(']').unwrap_or(inner);
    }
    msg
}

/// sshd logins (accepted, failed, invalid user, too many attempts),
/// disconnects and connections; `true` if `msg` was one.
fn sshd(msg: &str, f: &mut Fields) -> bool {
    if let Some(c) = SSH_ACCEPTED.captures(msg) {
        s(f, "action", "ssh_login");
        s(f, "outcome", "success");
        s(f, "auth_method", &c[1]);
        s(f, "user", &c[2]);
        ip(f, &c[3]);
        port(f, &c[4]);
        return true;
    }
    if let Some(c) = SSH_FAILED.captures(msg) {
        s(f, "action", "ssh_login");
        s(f, "outcome", "failure");
        s(f, "auth_method", &c[1]);
        if c.get(2).is_some() {
            f.insert("invalid_user", Value::Bool(true));
        }
        s(f, "user", &c[3]);
        ip(f, &c[4]);
        port(f, &c[5]);
        return true;
    }
    if let Some(c) = SSH_INVALID.captures(msg) {
        s(f, "action", "ssh_login");
        s(f, "outcome", "failure");
        f.insert("invalid_user", Value::Bool(true));
        s(f, "user", &c[1]);
        ip(f, &c[2]);
        if let Some(p) = c.get(3) {
            port(f, p.as_str());
        }
        return true;
    }
    if let Some(c) = SSH_MAXAUTH.captures(msg) {
        s(f, "action", "ssh_login");
        s(f, "outcome", "failure");
        if c.get(1).is_some() {
            f.insert("invalid_user", Value::Bool(true));
        }
        s(f, "user", &c[2]);
        ip(f, &c[3]);
        port(f, &c[4]);
        return true;
    }
    if let Some(c) = SSH_CLOSED.captures(msg) {
        s(f, "action", "ssh_disconnect");
        if let Some(u) = c.get(2) {
            s(f, "user", u.as_str());
        }
        ip(f, &c[3]);
        port(f, &c[4]);
        return true;
    }
    if let Some(c) = SSH_CONN.captures(msg) {
        s(f, "action", "ssh_connect");
        ip(f, &c[1]);
        port(f, &c[2]);
        s(f, "dst_ip", &c[3]);
        f.insert("dst_port", crate::text::num_or_str(&c[4]));
        return true;
    }
    false
}

/// `user : TTY=pts/0 ; PWD=/home/user ; USER=root ; COMMAND=/bin/sh`, or
/// with a failure reason first (`user : 3 incorrect password attempts ; …`).
fn sudo(user: &str, rest: &str, f: &mut Fields) {
    s(f, "user", user.trim());
    let mut failure = None;
    for (i, part) in rest.split(" ; ").enumerate() {
        match part.split_once('=') {
            Some((k, v)) if k.bytes().all(|b| b.is_ascii_uppercase()) && !k.is_empty() => {
                s(f, k, v.trim_end())
            }
            _ if i == 0 => failure = Some(part.trim()),
            _ => {}
        }
    }
    s(f, "action", "sudo");
    match failure {
        Some(reason) => {
            s(f, "outcome", "failure");
            s(f, "reason", reason);
        }
        None => s(f, "outcome", "success"),
    }
}

/// su in its Debian and RHEL wordings; `true` if `msg` was one.
fn su(msg: &str, f: &mut Fields) -> bool {
    if let Some(c) = SU_DEBIAN.captures(msg) {
        s(f, "action", "su");
        s(
            f,
            "outcome",
            if &c[1] == "FAILED" {
                "failure"
            } else {
                "success"
            },
        );
        s(f, "user", &c[3]);
        s(f, "target_user", &c[2]);
        return true;
    }
    if let Some(c) = SU_RHEL.captures(msg) {
        s(f, "action", "su");
        s(f, "outcome", "success");
        s(f, "target_user", &c[1]);
        s(f, "user", &c[2]);
        s(f, "TTY", &c[3]);
        return true;
    }
    false
}

/// pam_unix sessions and authentication failures, from any program;
/// `true` if `msg` was one.
fn pam(msg: &str, f: &mut Fields) -> bool {
    if let Some(c) = PAM_SESSION.captures(msg) {
        s(f, "pam_service", &c[1]);
        s(
            f,
            "action",
            if &c[2] == "opened" {
                "session_open"
            } else {
                "session_close"
            },
        );
        s(f, "user", &c[3]);
        if let Some(by) = c.get(4).filter(|m| !m.as_str().is_empty()) {
            s(f, "by_user", by.as_str());
        }
        return true;
    }
    if let Some(c) = PAM_AUTHFAIL.captures(msg) {
        s(f, "pam_service", &c[1]);
        s(f, "action", "authentication");
        s(f, "outcome", "failure");
        for kv in KV.captures_iter(&c[2]) {
            match &kv[1] {
                "rhost" if !kv[2].is_empty() => ip(f, &kv[2]),
                "user" if !kv[2].is_empty() => s(f, "user", &kv[2]),
                "ruser" if !kv[2].is_empty() => s(f, "ruser", &kv[2]),
                "tty" if !kv[2].is_empty() => s(f, "TTY", &kv[2]),
                "logname" if !kv[2].is_empty() => s(f, "logname", &kv[2]),
                _ => {}
            }
        }
        return true;
    }
    false
}

/// Account and group management, logind sessions and cron jobs, by
/// program; `true` if `msg` was an authentication event (a cron job gets
/// its fields but is not one).
fn account(prog: &str, msg: &str, f: &mut Fields) -> bool {
    match prog {
        "useradd" | "adduser" => {
            if let Some(c) = NEW_USER.captures(msg) {
                s(f, "action", "user_add");
                account_kvs(&c[1], f);
                return true;
            }
            if let Some(c) = NEW_GROUP.captures(msg) {
                s(f, "action", "group_add");
                account_kvs(&c[1], f);
                return true;
            }
            // `useradd -G sudo X` writes the same line as usermod.
            if let Some(c) = USERMOD_ADD.captures(msg) {
                s(f, "action", "group_member_add");
                s(f, "user", &c[1]);
                s(f, "group", &c[2]);
                return true;
            }
        }
        "groupadd" => {
            if let Some(c) = NEW_GROUP.captures(msg) {
                s(f, "action", "group_add");
                account_kvs(&c[1], f);
                return true;
            }
        }
        "usermod" | "gpasswd" => {
            if let Some(c) = USERMOD_ADD.captures(msg) {
                s(f, "action", "group_member_add");
                s(f, "user", &c[1]);
                s(f, "group", &c[2]);
                return true;
            }
            s(f, "action", "user_modify");
            return true;
        }
        "userdel" | "groupdel" => {
            if let Some(c) = USERDEL.captures(msg) {
                s(
                    f,
                    "action",
                    if prog == "userdel" {
                        "user_delete"
                    } else {
                        "group_delete"
                    },
                );
                s(f, "user", c.get(1).map_or(&c[2], |m| m.as_str()));
                return true;
            }
        }
        "passwd" | "chpasswd" => {
            if let Some(c) = PASSWD_CHANGED.captures(msg) {
                s(f, "action", "password_change");
                s(f, "user", &c[1]);
                return true;
            }
        }
        "systemd-logind" => {
            if let Some(c) = LOGIND_NEW.captures(msg) {
                s(f, "action", "session_open");
                s(f, "session", &c[1]);
                s(f, "user", &c[2]);
                return true;
            }
        }
        "cron" | "crond" => {
            if let Some(c) = CRON_CMD.captures(msg) {
                s(f, "action", "cron_job");
                s(f, "user", &c[1]);
                s(f, "COMMAND", &c[2]);
                // A cron job is not an authentication event.
                return false;
            }
        }
        _ => {}
    }
    false
}

/// `name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash`
fn account_kvs(s_: &str, f: &mut Fields) {
    for part in s_.split(", ") {
        if let Some((k, v)) = part.split_once('=') {
            let k = k.trim();
            if k == "name" {
                s(f, "user", v);
                if f.get("action")
                    .and_then(Value::as_text)
                    .is_some_and(|a| a == "group_add")
                {
                    s(f, "group", v);
                }
            }
            if !k.is_empty()
                && k.len() < 32
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                s(f, k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(f: &Fields, k: &str) -> Option<String> {
        f.get(k).and_then(Value::as_text).map(|c| c.into_owned())
    }

    #[test]
    fn sshd_messages() {
        let mut f = Fields::default();
        assert!(extract(
            "sshd",
            "Failed password for invalid user admin from 203.0.113.9 port 51234 ssh2",
            &mut f
        ));
        assert_eq!(get(&f, "user").as_deref(), Some("admin"));
        assert_eq!(get(&f, "src_ip").as_deref(), Some("203.0.113.9"));
        assert_eq!(get(&f, "IpAddress").as_deref(), Some("203.0.113.9"));
        assert_eq!(get(&f, "outcome").as_deref(), Some("failure"));
        assert_eq!(f.get("invalid_user"), Some(&Value::Bool(true)));
        let mut f = Fields::default();
        assert!(extract(
            "sshd",
            "Accepted publickey for root from 10.1.1.1 port 22 ssh2: RSA SHA256:abc",
            &mut f
        ));
        assert_eq!(get(&f, "auth_method").as_deref(), Some("publickey"));
        assert_eq!(f.get("port"), Some(&Value::Int(22)));
        let mut f = Fields::default();
        assert!(extract(
            "sshd",
            "message repeated 3 times: [ Failed password for root from 1.2.3.4 port 4 ssh2]",
            &mut f
        ));
        assert_eq!(f.get("repeat_count"), Some(&Value::Int(3)));
        assert_eq!(get(&f, "user").as_deref(), Some("root"));
    }

    #[test]
    fn sudo_and_accounts() {
        let mut f = Fields::default();
        assert!(extract(
            "sudo",
            "    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/cat /etc/shadow",
            &mut f
        ));
        assert_eq!(get(&f, "user").as_deref(), Some("alice"));
        assert_eq!(get(&f, "USER").as_deref(), Some("root"));
        assert_eq!(get(&f, "COMMAND").as_deref(), Some("/bin/cat /etc/shadow"));
        assert_eq!(get(&f, "outcome").as_deref(), Some("success"));
        let mut f = Fields::default();
        assert!(extract(
            "sudo",
            "eve : user NOT in sudoers ; TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/sh",
            &mut f
        ));
        assert_eq!(get(&f, "outcome").as_deref(), Some("failure"));
        let mut f = Fields::default();
        assert!(extract(
            "useradd",
            "new user: name=backdoor, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/0",
            &mut f
        ));
        assert_eq!(get(&f, "user").as_deref(), Some("backdoor"));
        assert_eq!(get(&f, "UID").as_deref(), Some("0"));
        // `useradd -G sudo sysupd` names the group like usermod does (the
        // line had no fields, so no rule could see the sudo membership).
        for prog in ["useradd", "usermod"] {
            let mut f = Fields::default();
            assert!(extract(prog, "add 'sysupd' to group 'sudo'", &mut f));
            assert_eq!(get(&f, "action").as_deref(), Some("group_member_add"));
            assert_eq!(get(&f, "user").as_deref(), Some("sysupd"));
            assert_eq!(get(&f, "group").as_deref(), Some("sudo"));
        }
        let mut f = Fields::default();
        assert!(extract(
            "CRON",
            "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
            &mut f
        ));
        assert_eq!(get(&f, "action").as_deref(), Some("session_open"));
        assert_eq!(get(&f, "user").as_deref(), Some("root"));
    }
}
