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
