//! Context escalation of lateral movement. The lateral-movement analytic
//! reports every remote logon edge at a low level, because most are
//! administrators at work. Three kinds of edge are different, and are
//! raised to the significant level with the reason in the finding's
//! fields (this is how a responder reads the graph):
//!
//! - the edge *leaves a host that already had significant detections*:
//!   that host is compromised, and a logon from it is the intruder's next
//!   hop until shown otherwise;
//! - its *account* had acted in a significant detection before (the
//!   account the brute force guessed, the one that ran the sudo shell, a
//!   backdoor account just added to sudo): the intruder holds it;
//! - its *source address* is one the intruder used (the source of a
//!   significant detection, or where a detected command line connected
//!   to). An Internet address counts whenever it appears; an internal one
//!   only after the detection, since internal addresses are reassigned.

use crate::classify::{AccountClass, classify_account, classify_ip, normalize_account, parse_ip};
use crate::host::host_key;
use crate::scope::{SOURCE_IP_FIELDS, addresses_in};
use kahu_event::Timestamp;
use kahu_finding::{Finding, Level};
use std::collections::HashMap;
use std::net::IpAddr;

/// Rule id of the lateral-movement analytic's findings.
pub const LATERAL_MOVEMENT_RULE: &str = "kahu.analytic.lateral_movement";

/// Field added to an escalated finding, naming why.
pub const ESCALATION_FIELD: &str = "Escalation";

fn field<'a>(f: &'a Finding, name: &str) -> Option<&'a str> {
    f.fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The first significant detection that involved something.
#[derive(Clone)]
struct FirstSeen {
    at: Option<Timestamp>,
    title: String,
}

fn note(map: &mut HashMap<String, FirstSeen>, key: String, f: &Finding) {
    let e = map.entry(key).or_insert_with(|| FirstSeen {
        at: f.timestamp,
        title: f.title.to_string(),
    });
    // An undated detection cannot be ordered: it never moves a dated one
    // (it might come after the movement).
    if let Some(t) = f.timestamp
        && e.at.is_none_or(|a| t < a)
    {
        *e = FirstSeen {
            at: Some(t),
            title: f.title.to_string(),
        };
    }
}

/// Events whose `TargetUserName` is an account that authenticated or was
/// created or changed (not a failure's victim, not a group: a group
/// event's target is the group).
const TARGET_ACCOUNT_EVENTS: &[u32] = &[4624, 4648, 4720, 4722, 4724, 4738, 4781];

/// The user accounts a significant finding shows acting (or created,
/// changed, or logged on with): not the victims of failed guesses.
fn acting_accounts(f: &Finding) -> Vec<String> {
    if field(f, "outcome").is_some_and(|o| o.eq_ignore_ascii_case("failure")) {
        return Vec::new();
    }
    let mut names: Vec<&str> = ["SubjectUserName", "User", "user", "user.name"]
        .iter()
        .filter_map(|k| field(f, k))
        .collect();
    let target_is_actor = f.event_id.is_some_and(|id| TARGET_ACCOUNT_EVENTS.contains(&id))
        || (&*f.rule_id == "kahu.analytic.brute_force" && field(f, "SucceededAt").is_some())
        // The spray finding names accounts in TargetUserName only when
        // they logged on afterwards.
        || &*f.rule_id == "kahu.analytic.password_spray";
    if target_is_actor && let Some(t) = field(f, "TargetUserName") {
        names.extend(t.split(", "));
    }
    names
        .into_iter()
        .filter(|n| classify_account(n) == AccountClass::User)
        .filter_map(normalize_account)
        .collect()
}

/// Addresses a significant finding shows the intruder at: its source, and
/// where its command line connects.
fn intruder_addresses(f: &Finding) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = SOURCE_IP_FIELDS
        .iter()
        .filter_map(|k| field(f, k))
        .filter_map(parse_ip)
        .collect();
    if let Some(cmd) = field(f, "CommandLine") {
        out.extend(addresses_in(cmd).into_iter().take(8));
    }
    out.retain(|ip| !(ip.is_loopback() || ip.is_unspecified()));
    out
}

fn when(t: Option<Timestamp>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "an undated record".into())
}

/// Raise lateral-movement findings below `significant` whose source host
/// had a finding at or above `significant` no later than the movement,
/// whose account had acted in one before it, or whose source address the
/// intruder used (see the module notes). Returns how many were raised.
pub fn escalate_lateral_movement(findings: &mut [Finding], significant: Level) -> usize {
    // Earliest significant detection per host, account and address (other
    // than lateral movement itself, so escalation does not feed on its own
    // output).
    let mut hosts: HashMap<String, FirstSeen> = HashMap::new();
    let mut accounts: HashMap<String, FirstSeen> = HashMap::new();
    let mut addresses: HashMap<String, FirstSeen> = HashMap::new();
    for f in findings.iter() {
        if f.level < significant || &*f.rule_id == LATERAL_MOVEMENT_RULE {
            continue;
        }
        if let Some(h) = f.host.as_deref().and_then(host_key) {
            note(&mut hosts, h, f);
        }
        for a in acting_accounts(f) {
            note(&mut accounts, a, f);
        }
        for ip in intruder_addresses(f) {
            note(&mut addresses, ip.to_string(), f);
        }
    }
    let after = |t: Option<Timestamp>, first: &FirstSeen| match (t, first.at) {
        (Some(t), Some(bad)) => t >= bad,
        _ => false,
    };
    let mut raised = 0;
    for f in findings.iter_mut() {
        if &*f.rule_id != LATERAL_MOVEMENT_RULE || f.level >= significant {
            continue;
        }
        let src = field(f, "WorkstationName")
            .or_else(|| field(f, "IpAddress"))
            .map(str::to_string);
        let from_bad_host = src.as_deref().and_then(|s| {
            let first = hosts.get(&host_key(s)?)?;
            after(f.timestamp, first).then(|| {
                format!(
                    "source host {s} had significant detections from {} before this logon",
                    when(first.at)
                )
            })
        });
        let by_bad_account = || {
            let account = field(f, "TargetUserName").and_then(normalize_account)?;
            let first = accounts.get(&account)?;
            after(f.timestamp, first).then(|| {
                format!(
                    "account {account} had acted in a significant detection before this logon ({}, {})",
                    first.title,
                    when(first.at)
                )
            })
        };
        let from_bad_address = || {
            let ip = field(f, "IpAddress").and_then(parse_ip)?;
            let first = addresses.get(&ip.to_string())?;
            let external = !classify_ip(ip).is_internal();
            (external || after(f.timestamp, first)).then(|| {
                format!(
                    "source address {ip} is the intruder's: {} ({})",
                    first.title,
                    when(first.at)
                )
            })
        };
        if let Some(why) = from_bad_host
            .or_else(by_bad_account)
            .or_else(from_bad_address)
        {
            f.level = significant;
            f.fields.push((ESCALATION_FIELD.into(), why));
            raised += 1;
        }
    }
    raised
}

/// Rule id of the beaconing analytic's findings.
pub const BEACONING_RULE: &str = "kahu.analytic.beaconing";

/// Raise beaconing findings below `significant` to it when the beacon is
/// tied to the intrusion: its source host had significant detections, or
/// its destination address appears in a significant finding (an indicator
/// hit, a detection naming it). That is how a responder tells an implant's
/// C2 from a software updater that also polls. Returns how many were raised.
pub fn escalate_beacons(findings: &mut [Finding], significant: Level) -> usize {
    let mut bad_hosts: HashMap<String, ()> = HashMap::new();
    let mut bad_values: std::collections::HashSet<String> = std::collections::HashSet::new();
    for f in findings.iter() {
        if f.level < significant || &*f.rule_id == BEACONING_RULE {
            continue;
        }
        if let Some(h) = f.host.as_deref().and_then(host_key) {
            bad_hosts.insert(h, ());
        }
        for (_, v) in &f.fields {
            if v.len() <= 45 {
                bad_values.insert(v.trim().to_ascii_lowercase());
            }
        }
    }
    let mut raised = 0;
    for f in findings.iter_mut() {
        if &*f.rule_id != BEACONING_RULE || f.level >= significant {
            continue;
        }
        let src = field(f, "SourceHost").unwrap_or("").to_string();
        let dst = field(f, "DestinationIp").unwrap_or("").to_string();
        let why = if host_key(&src).is_some_and(|k| bad_hosts.contains_key(&k)) {
            Some(format!(
                "C2 candidate: the polling host {src} had significant detections"
            ))
        } else if !dst.is_empty() && bad_values.contains(&dst.to_ascii_lowercase()) {
            Some(format!(
                "C2 candidate: the destination {dst} appears in a significant detection"
            ))
        } else {
            None
        };
        if let Some(why) = why {
            f.level = significant;
            f.fields.push((ESCALATION_FIELD.into(), why));
            raised += 1;
        }
    }
    raised
}

/// Field added to a web finding lowered as a refused attempt, naming why.
pub const ATTEMPT_FIELD: &str = "Attempt";

/// Techniques of exploiting a web application or using a web shell: on a
/// request the server refused (4xx), the target never ran.
const WEB_EXPLOITATION: &[&str] = &["T1190", "T1189", "T1505.003"];

/// Lower to `low` the web-exploitation findings (path traversal, XSS, SQL
/// injection, web-shell requests) on requests the server answered with a
/// 4xx status: a scanner that got 404s and 400s is not initial access,
/// and made "Initial access" incidents and a drive-by compromise of a
/// scan (probe 18). Kept as they are: a Log4j lookup anywhere in the
/// request (`${jndi:` is logged, and so runs, whatever the status) and
/// Shellshock headers; 5xx answers (an exploit often breaks the request it
/// rides).
/// Returns how many were lowered.
pub fn lower_refused_web_attempts(findings: &mut [Finding]) -> usize {
    let mut lowered = 0;
    for f in findings.iter_mut() {
        if f.level <= Level::Low
            || !f
                .techniques
                .iter()
                .any(|t| WEB_EXPLOITATION.contains(&&**t))
        {
            continue;
        }
        let Some(status) = field(f, "sc-status").and_then(|s| s.trim().parse::<u16>().ok()) else {
            continue;
        };
        if !(400..500).contains(&status) {
            continue;
        }
        // A lookup (`${jndi:…}`) runs when Log4j logs the value, wherever
        // it is and whatever the answer; Shellshock's `() {` in a header
        // reaches a CGI before it answers.
        let runs_anyway = [
            "cs-user-agent",
            "cs-referer",
            "x-forwarded-for",
            "cs-uri-query",
            "cs-uri-stem",
            "cs-uri",
        ]
        .iter()
        .filter_map(|k| field(f, k))
        .any(|v| {
            v.contains("${") || v.contains("%24%7B") || v.contains("%24%7b") || v.contains("() {")
        });
        if runs_anyway {
            continue;
        }
        let was = f.level;
        f.level = Level::Low;
        f.fields.push((
            ATTEMPT_FIELD.into(),
            format!(
                "HTTP {status}: the server refused or did not find the request, so the attempt failed (lowered from {})",
                was.as_str()
            ),
        ));
        lowered += 1;
    }
    lowered
}
