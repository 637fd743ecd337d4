//! Context escalation of lateral movement. The lateral-movement analytic
//! reports every remote logon edge at a low level, because most are
//! administrators at work. An edge *leaving a host that already had
//! significant detections* is different: that host is compromised, and a
//! logon from it onwards is the intruder's next hop until shown otherwise
//! (this is how a responder reads the graph). Such edges are raised to the
//! significant level, with the reason recorded in the finding's fields.

use kahu_event::Timestamp;
use kahu_finding::{Finding, Level};
use std::collections::HashMap;

/// Rule id of the lateral-movement analytic's findings.
pub const LATERAL_MOVEMENT_RULE: &str = "kahu.analytic.lateral_movement";

/// Field added to an escalated finding, naming why.
pub const ESCALATION_FIELD: &str = "Escalation";

use crate::host::host_key;

fn field<'a>(f: &'a Finding, name: &str) -> Option<&'a str> {
    f.fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Raise lateral-movement findings below `significant` whose source host
/// had a finding at or above `significant` no later than the movement.
/// Returns how many findings were raised.
pub fn escalate_lateral_movement(findings: &mut [Finding], significant: Level) -> usize {
    // Earliest significant detection per host (other than lateral movement
    // itself, so escalation does not feed on its own output).
    let mut first_bad: HashMap<String, Option<Timestamp>> = HashMap::new();
    for f in findings.iter() {
        if f.level < significant || &*f.rule_id == LATERAL_MOVEMENT_RULE {
            continue;
        }
        let Some(h) = f.host.as_deref().and_then(host_key) else {
            continue;
        };
        let e = first_bad.entry(h).or_insert(f.timestamp);
        *e = match (*e, f.timestamp) {
            (Some(a), Some(b)) => Some(a.min(b)),
            // An undated detection cannot be ordered: do not let it
            // escalate anything (it might come after the movement).
            (a, None) => a,
            (None, b) => b,
        };
    }
    let mut raised = 0;
    for f in findings.iter_mut() {
        if &*f.rule_id != LATERAL_MOVEMENT_RULE || f.level >= significant {
            continue;
        }
        let Some(src) = field(f, "WorkstationName")
            .or_else(|| field(f, "IpAddress"))
            .map(str::to_string)
        else {
            continue;
        };
        let Some(key) = host_key(&src) else { continue };
        let Some(Some(bad)) = first_bad.get(&key) else {
            continue;
        };
        if f.timestamp.is_some_and(|t| t >= *bad) {
            f.level = significant;
            f.fields.push((
                ESCALATION_FIELD.into(),
                format!(
                    "source host {src} had significant detections from {} before this logon",
                    bad.format("%Y-%m-%d %H:%M:%SZ")
                ),
            ));
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
