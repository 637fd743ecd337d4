//! Turning analytic results into [`Finding`]s (kind `Analytic`) so they
//! join Sigma and IOC findings in incidents, scope and timeline.

use super::persistence::PersistenceEntry;
use super::{AnalyticsReport, Protocol};
use crate::classify::AccountClass;
use kahu_event::{Location, Provenance, Timestamp};
use kahu_finding::{Finding, FindingKind, Level};
use std::sync::Arc;

struct Draft<'a> {
    rule: &'static str,
    title: String,
    level: Level,
    techniques: &'a [&'a str],
    host: Option<&'a str>,
    timestamp: Option<Timestamp>,
    event_id: Option<u32>,
    fields: Vec<(&'static str, String)>,
    samples: &'a [Provenance],
}

fn build(d: Draft<'_>) -> Finding {
    let provenance = d
        .samples
        .first()
        .cloned()
        .unwrap_or_else(|| Provenance::new(Arc::from("<analytics>"), Location::File));
    Finding {
        kind: FindingKind::Analytic,
        rule_id: Arc::from(d.rule),
        title: Arc::from(d.title),
        level: d.level,
        techniques: d.techniques.iter().map(|t| Arc::from(*t)).collect(),
        software: Vec::new(),
        groups: Vec::new(),
        timestamp: d.timestamp,
        host: d.host.filter(|h| !h.is_empty()).map(Arc::from),
        channel: None,
        event_id: d.event_id,
        fields: d
            .fields
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (Arc::from(k), v))
            .collect(),
        provenance,
        related: d.samples.iter().skip(1).cloned().collect(),
    }
}

fn source_field(source: &str) -> (&'static str, String) {
    if crate::classify::parse_ip(source).is_some() {
        ("IpAddress", source.to_string())
    } else {
        ("WorkstationName", source.to_string())
    }
}

fn minutes(a: Option<Timestamp>, b: Option<Timestamp>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => {
            let s = (b - a).num_seconds().max(0);
            if s < 120 {
                format!("{s} s")
            } else {
                format!("{} min", s / 60)
            }
        }
        _ => "unknown time".to_string(),
    }
}

/// The finding for one hop; `plain_logon` for a network logon with no
/// remote execution after it.
fn lateral_finding(e: &super::GraphEdge, plain_logon: bool) -> Finding {
    let one = [e.protocol.technique()];
    // A remote logon from the Internet is not movement inside the network:
    // it is a way in (external remote services, with an account that
    // works), as ATT&CK files it. Still low on its own: administrators log
    // on from home; escalation raises it when the address or the account
    // is the intruder's.
    let from_internet = !e.tunnelled
        && !plain_logon
        && e.source
            .strip_prefix("ip:")
            .and_then(crate::classify::parse_ip)
            .is_some_and(|ip| {
                crate::classify::classify_ip(ip) == crate::classify::IpClass::External
            });
    let (rule, level, techs): (&str, Level, &[&str]) = if e.tunnelled {
        (LATERAL, Level::High, &["T1021.001", "T1572"])
    } else if plain_logon {
        ("kahu.analytic.network_logon", Level::Informational, &[])
    } else if from_internet {
        (LATERAL, Level::Low, &["T1133", "T1078"])
    } else {
        (LATERAL, Level::Low, &one)
    };
    let label = |id: &str| {
        id.split_once(':')
            .map(|(_, l)| l.to_string())
            .unwrap_or_default()
    };
    let (src, dst) = (label(&e.source), label(&e.target));
    let mut fields = vec![("TargetUserName", e.account.clone())];
    fields.push(if e.source.starts_with("ip:") {
        ("IpAddress", src.clone())
    } else {
        ("WorkstationName", src.clone())
    });
    fields.push(if e.target.starts_with("ip:") {
        ("DestinationIp", dst.clone())
    } else {
        ("DestinationHostname", dst.clone())
    });
    fields.push(("Protocol", e.protocol.label().to_string()));
    fields.push(("Count", e.count.to_string()));
    if let Some(why) = e.remote_execution {
        fields.push(("RemoteExecution", why.to_string()));
    }
    let account = if e.account.is_empty() {
        String::new()
    } else {
        format!(" as {}", e.account)
    };
    let title = match (plain_logon, e.remote_execution) {
        (true, _) => {
            format!("Network logon from {src} to {dst}{account} (no remote execution followed)")
        }
        (false, Some(why)) => format!(
            "{} from {src} to {dst}{account}, then {why}",
            capitalised(e.protocol.label())
        ),
        (false, None) if from_internet => format!(
            "{} logon from Internet address {src} to {dst}{account}",
            e.protocol.label()
        ),
        (false, None) => format!(
            "{}{} from {src} to {dst}{account}",
            if e.tunnelled { "Tunnelled " } else { "" },
            e.protocol.label()
        ),
    };
    build(Draft {
        rule,
        title,
        level,
        techniques: techs,
        // The host that recorded a logon is the destination.
        host: Some(if e.target.starts_with("host:") {
            &dst
        } else {
            &src
        }),
        timestamp: e.first_seen,
        event_id: None,
        fields,
        samples: &e.samples,
    })
}

const LATERAL: &str = crate::escalate::LATERAL_MOVEMENT_RULE;
const BEACONING: &str = crate::escalate::BEACONING_RULE;
/// Ports where a beacon is, by convention, web traffic.
const WEB_PORTS: &[u16] = &[80, 443, 8000, 8008, 8080, 8443, 8888];

/// "network logon" → "Network logon" (labels are written for mid-sentence).
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A service installed on at least this many hosts with the same image
/// path is treated as a fleet deployment.
pub(super) const FLEET_HOSTS: usize = 5;

impl AnalyticsReport {
    /// Findings for what is suspicious in the report: brute force,
    /// spraying, Kerberoasting, suspicious or new services and tasks,
    /// lateral hops by user accounts, tunnelled RDP and pass-the-hash.
    /// Rule ids are stable (`kahu.analytic.<name>`).
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        self.brute_force_findings(&mut out);
        self.spray_findings(&mut out);
        self.kerberoast_findings(&mut out);
        self.service_findings(&mut out);
        self.task_findings(&mut out);
        self.lateral_findings(&mut out);
        self.pass_the_hash_findings(&mut out);
        self.beacon_findings(&mut out);
        out
    }

    /// Beacons: low on their own (software updaters poll too); raised to
    /// the significant level in context by `escalate_beacons`.
    fn beacon_findings(&self, out: &mut Vec<Finding>) {
        for b in &self.beacons {
            // A Zeek source is an address, not a host name: name the host
            // when the evidence says which host has that address (a host's
            // own logs), so the beacon joins that host's incident; an
            // address nothing names stays without a host.
            let host = match crate::classify::parse_ip(&b.source) {
                None => Some(b.source.as_str()),
                Some(ip) => self
                    .lateral
                    .host_addresses
                    .iter()
                    .find(|a| a.address == ip)
                    .map(|a| a.host.as_str()),
            };
            let mut fields = vec![
                ("SourceHost", b.source.clone()),
                ("DestinationIp", b.destination.clone()),
                ("DestinationPort", b.port.to_string()),
                ("Contacts", b.contacts.to_string()),
                ("IntervalSeconds", format!("{:.0}", b.interval_secs)),
                ("Regularity", format!("{:.0} %", b.regularity * 100.0)),
                ("FirstSeen", b.first.to_rfc3339()),
                ("LastSeen", b.last.to_rfc3339()),
            ];
            if let Some(p) = &b.process {
                fields.push(("Image", p.clone()));
            }
            // Several processes reached the same destination and port: name
            // them all with their counts, so that `Image` (the most frequent)
            // is not read as the only one.
            if b.processes.len() > 1 || b.other_process_connections > 0 {
                let mut all: Vec<String> = b
                    .processes
                    .iter()
                    .map(|(p, n)| format!("{p} ({n})"))
                    .collect();
                if b.other_process_connections > 0 {
                    all.push(format!("others ({})", b.other_process_connections));
                }
                fields.push(("Images", all.join("; ")));
            }
            out.push(build(Draft {
                rule: BEACONING,
                title: format!(
                    "Regular connections every ~{:.0} s from {} to {}:{} ({} contacts)",
                    b.interval_secs, b.source, b.destination, b.port, b.contacts
                ),
                level: Level::Low,
                // Web ports say T1071.001. The bare parent is what few
                // groups are mapped to in ATT&CK (11 of 172, against 66 for
                // .001), so it would weigh as rare, distinctive evidence in
                // attribution when it is the least specific claim.
                techniques: if WEB_PORTS.contains(&b.port) {
                    &["T1071.001"]
                } else {
                    &["T1071"]
                },
                host,
                timestamp: Some(b.first),
                event_id: None,
                fields,
                samples: &b.samples,
            }));
        }
    }

    /// Brute-force bursts: high when a success followed.
    fn brute_force_findings(&self, out: &mut Vec<Finding>) {
        for b in &self.brute_force {
            let success = b.succeeded_after.is_some();
            let mut level = if success { Level::High } else { Level::Medium };
            if b.account_class != AccountClass::User && !success {
                level = Level::Low;
            }
            let mut fields = vec![
                ("TargetUserName", b.account.clone()),
                source_field(&b.source),
                ("FailureCount", b.failures_in_window.to_string()),
                ("TotalFailures", b.total_failures.to_string()),
            ];
            if let Some(r) = b.failure_reasons.first() {
                fields.push(("FailureReason", r.value.clone()));
            }
            if let Some(t) = b.succeeded_after {
                fields.push(("SucceededAt", t.to_rfc3339()));
            }
            let target = if b.accounts_tried.is_empty() {
                b.account.clone()
            } else {
                fields.push(("AccountsTried", b.accounts_tried.join(", ")));
                if success {
                    format!(
                        "{} accounts (logged on as {})",
                        b.accounts_tried.len(),
                        b.account
                    )
                } else {
                    format!("{} accounts", b.accounts_tried.len())
                }
            };
            out.push(build(Draft {
                rule: "kahu.analytic.brute_force",
                title: format!(
                    "Brute force{} against {} from {} ({} {} failures in {})",
                    if success { " followed by success" } else { "" },
                    target,
                    b.source,
                    b.failures_in_window,
                    b.kind.label(),
                    minutes(b.window_start, b.window_end)
                ),
                level,
                techniques: if success {
                    &["T1110.001", "T1078"]
                } else {
                    &["T1110.001"]
                },
                host: b.target_hosts.first().map(String::as_str),
                timestamp: b.window_start,
                event_id: None,
                fields,
                samples: &b.samples,
            }));
        }
    }

    /// Password-spraying sources: high when a sprayed account then logged on.
    fn spray_findings(&self, out: &mut Vec<Finding>) {
        for s in &self.spraying {
            let hit = !s.compromised.is_empty();
            let mut fields = vec![
                source_field(&s.source),
                ("AccountCount", s.accounts_in_window.to_string()),
                ("FailureCount", s.attempts_in_window.to_string()),
                ("Accounts", s.accounts.join(", ")),
            ];
            if hit {
                fields.push(("TargetUserName", s.compromised.join(", ")));
            }
            if s.target_hosts.len() > 1 {
                fields.push(("TargetHosts", s.target_hosts.join(", ")));
            }
            out.push(build(Draft {
                rule: "kahu.analytic.password_spray",
                title: format!(
                    "Password spraying from {} against {} accounts ({}){}",
                    s.source,
                    s.accounts_in_window,
                    s.kind.label(),
                    if hit {
                        format!(", {} logged on afterwards", s.compromised.len())
                    } else {
                        String::new()
                    }
                ),
                level: if hit { Level::High } else { Level::Medium },
                techniques: if hit {
                    &["T1110.003", "T1078"]
                } else {
                    &["T1110.003"]
                },
                // One host sprayed: the finding is about it (it said "host
                // unknown" on a one-host attack); several are listed.
                host: match s.target_hosts.as_slice() {
                    [one] => Some(one.as_str()),
                    _ => None,
                },
                timestamp: s.window_start,
                event_id: None,
                fields,
                samples: &s.samples,
            }));
        }
    }

    /// RC4 service-ticket requesters: high for many services.
    fn kerberoast_findings(&self, out: &mut Vec<Finding>) {
        for k in &self.kerberoasting {
            out.push(build(Draft {
                rule: "kahu.analytic.kerberoasting",
                title: format!(
                    "RC4 service tickets for {} service account{} requested by {}",
                    k.distinct_services,
                    if k.distinct_services == 1 { "" } else { "s" },
                    k.account
                ),
                level: if k.many_services {
                    Level::High
                } else {
                    Level::Low
                },
                techniques: &["T1558.003"],
                host: None,
                timestamp: k.first_seen,
                event_id: Some(4769),
                fields: vec![
                    ("TargetUserName", k.account.clone()),
                    source_field(&k.source),
                    ("ServiceName", k.services.join(", ")),
                    ("TicketEncryptionType", "0x17".to_string()),
                ],
                samples: &k.samples,
            }));
        }
    }

    /// Services installed: suspicious ones high unless deployed fleet-wide.
    fn service_findings(&self, out: &mut Vec<Finding>) {
        // Fleet prevalence: the same service (name and image) installed on
        // many hosts is a software deployment far more often than an
        // intrusion, so a "suspicious" marker alone (a ProgramData path, say)
        // is not enough to call it high there. Mass deployment by an
        // intruder (ransomware via PsExec) still shows in the rules that
        // see the deployment tool; these entries stay listed at low.
        // Keyed on the image's file name, not its full path: deployments
        // often unpack into per-host folders (GUIDs, version numbers).
        let key = |s: &PersistenceEntry| {
            let image = s.command.trim().trim_start_matches('"');
            let image = image.split('"').next().unwrap_or(image);
            let base = image.rsplit(['\\', '/']).next().unwrap_or(image);
            (s.name.to_lowercase(), base.to_lowercase())
        };
        let mut prevalence: hashbrown::HashMap<(String, String), usize> = hashbrown::HashMap::new();
        for s in &self.services {
            *prevalence.entry(key(s)).or_insert(0) += 1;
        }
        for s in &self.services {
            let hosts = prevalence.get(&key(s)).copied().unwrap_or(1);
            let fleet = hosts >= FLEET_HOSTS;
            let (level, techs): (Level, &[&str]) = match (s.suspicious, fleet) {
                (Some(_), false) => (Level::High, &["T1543.003", "T1569.002"]),
                (Some(_), true) => (Level::Low, &["T1543.003"]),
                (None, _) => (Level::Informational, &["T1543.003"]),
            };
            let mut fields = vec![
                ("ServiceName", s.name.clone()),
                ("ImagePath", s.command.clone()),
                ("SubjectUserName", s.account.clone().unwrap_or_default()),
            ];
            if let Some(why) = s.suspicious {
                let why = if fleet {
                    format!(
                        "{why}; but the same service was installed on {hosts} hosts (likely a software deployment)"
                    )
                } else {
                    why.to_string()
                };
                fields.push(("Reason", why));
            }
            out.push(build(Draft {
                rule: "kahu.analytic.new_service",
                title: format!(
                    "{}ervice {} installed on {}",
                    if s.suspicious.is_some() && !fleet {
                        "Suspicious s"
                    } else {
                        "S"
                    },
                    s.name,
                    s.host
                ),
                level,
                techniques: techs,
                host: Some(&s.host),
                timestamp: s.first_seen,
                event_id: Some(s.event_id),
                fields,
                samples: &s.samples,
            }));
        }
    }

    /// Scheduled tasks: suspicious ones high, other creations informational.
    fn task_findings(&self, out: &mut Vec<Finding>) {
        for t in &self.tasks {
            let level = match (t.suspicious, t.action) {
                (Some(_), _) => Level::High,
                (None, "created" | "registered" | "updated") => Level::Informational,
                (None, _) => continue,
            };
            let mut fields = vec![
                ("TaskName", t.name.clone()),
                ("CommandLine", t.command.clone()),
                ("SubjectUserName", t.account.clone().unwrap_or_default()),
            ];
            if let Some(why) = t.suspicious {
                fields.push(("Reason", why.to_string()));
            }
            out.push(build(Draft {
                rule: "kahu.analytic.scheduled_task",
                title: format!(
                    "{}cheduled task {} {} on {}",
                    if t.suspicious.is_some() {
                        "Suspicious s"
                    } else {
                        "S"
                    },
                    t.name,
                    t.action,
                    t.host
                ),
                level,
                techniques: &["T1053.005"],
                host: Some(&t.host),
                timestamp: t.first_seen,
                event_id: Some(t.event_id),
                fields,
                samples: &t.samples,
            }));
        }
    }

    /// Lateral movement: RDP, SSH, WinRM and explicit-credential hops
    /// (remote logons), tunnelled RDP, and SMB, RPC or network-logon hops
    /// followed by remote execution on the target. A network logon without
    /// remote execution is reported as such (informational, no technique);
    /// a bare SMB or RPC connection is not reported: workstations make
    /// them to their domain controller all day.
    fn lateral_findings(&self, out: &mut Vec<Finding>) {
        for e in &self.lateral.edges {
            if e.account.is_empty() && !e.tunnelled {
                continue;
            }
            let needs_execution = matches!(
                e.protocol,
                Protocol::NetworkLogon | Protocol::Smb | Protocol::Rpc
            );
            if needs_execution
                && e.remote_execution.is_none()
                && e.protocol != Protocol::NetworkLogon
            {
                continue;
            }
            out.push(lateral_finding(
                e,
                needs_execution && e.remote_execution.is_none(),
            ));
        }
    }

    /// Pass-the-hash style logons.
    fn pass_the_hash_findings(&self, out: &mut Vec<Finding>) {
        for p in &self.pass_the_hash {
            out.push(build(Draft {
                rule: "kahu.analytic.pass_the_hash",
                title: format!(
                    "Pass-the-hash style logon (type 9, seclogo) by {} on {}",
                    p.subject_account, p.host
                ),
                level: Level::High,
                techniques: &["T1550.002"],
                host: Some(&p.host),
                timestamp: p.first_seen,
                event_id: Some(4624),
                fields: vec![
                    ("SubjectUserName", p.subject_account.clone()),
                    ("TargetUserName", p.target_account.clone()),
                    ("LogonType", "9".to_string()),
                ],
                samples: &p.samples,
            }));
        }
    }
}
