//! What the HTML report draws beyond the assessment: the lateral-movement
//! hops and logons of the analytics, and detections per host per UTC day
//! from every finding (not only the detections listed in the report).

use kahu_finding::Finding;
use kahu_reconstruct::analytics::{GraphEdge, Protocol};
use kahu_reconstruct::{AnalyticsReport, host_key};
use kahu_report::charts::{HopView, HostDayCount, LogonView, ReportAnalytics};
use std::collections::BTreeMap;

/// A hop the report draws: one that moves an operator to another host.
/// SMB, RPC and network-logon hops without a remote-execution signal on the
/// target are ordinary traffic (a workstation talking to its domain
/// controller) and would bury the real hops in a hub of spokes.
fn is_lateral_movement(e: &GraphEdge) -> bool {
    e.remote_execution.is_some()
        || e.tunnelled
        || matches!(
            e.protocol,
            Protocol::Rdp | Protocol::Ssh | Protocol::WinRm | Protocol::ExplicitCredentials
        )
}

/// Build the report's analytics view. Bounded by the analytics' own caps
/// and by the number of distinct (host, day) pairs in the findings.
pub fn report_analytics(analytics: &AnalyticsReport, findings: &[Finding]) -> ReportAnalytics {
    let label = |id: &str| -> String {
        analytics
            .lateral
            .nodes
            .iter()
            .find(|n| n.id == id)
            .map(|n| n.label.clone())
            .unwrap_or_else(|| id.split_once(':').map_or(id, |(_, l)| l).to_string())
    };
    let hops = analytics
        .lateral
        .edges
        .iter()
        .filter(|e| is_lateral_movement(e))
        .map(|e| HopView {
            source: label(&e.source),
            target: label(&e.target),
            protocol: e.protocol.label().to_string(),
            account: e.account.clone(),
            count: e.count,
            first_seen: e.first_seen,
        })
        .collect();
    let logons = analytics
        .logons
        .iter()
        .map(|l| LogonView {
            account: l.account.clone(),
            host: l.target_host.clone(),
            logon_type: l.logon_type,
            successes: l.successes,
            failures: l.failures,
            first_seen: l.first_seen,
            last_seen: l.last_seen,
        })
        .collect();
    let mut per_host_day: BTreeMap<(String, chrono::NaiveDate), u64> = BTreeMap::new();
    for f in findings {
        let (Some(host), Some(t)) = (f.host.as_deref().and_then(host_key), f.timestamp) else {
            continue;
        };
        *per_host_day.entry((host, t.date_naive())).or_default() += 1;
    }
    let host_days = per_host_day
        .into_iter()
        .map(|((host, day), detections)| HostDayCount {
            host,
            day,
            detections,
        })
        .collect();
    ReportAnalytics {
        hops,
        logons,
        host_days,
        // The rules' texts come from the rule sets: `write_outputs` adds them.
        rules: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(protocol: Protocol, remote_execution: Option<&'static str>) -> GraphEdge {
        GraphEdge {
            source: "host:ws1".into(),
            target: "host:dc01".into(),
            protocol,
            account: "bob".into(),
            count: 1,
            first_seen: None,
            last_seen: None,
            tunnelled: false,
            remote_execution,
            samples: vec![],
        }
    }

    #[test]
    fn only_hops_that_move_an_operator_are_drawn() {
        assert!(!is_lateral_movement(&edge(Protocol::NetworkLogon, None)));
        assert!(!is_lateral_movement(&edge(Protocol::Smb, None)));
        assert!(is_lateral_movement(&edge(
            Protocol::Smb,
            Some("service installed")
        )));
        assert!(is_lateral_movement(&edge(Protocol::Rdp, None)));
    }
}
