//! Incidents: findings chained by process lineage, logon session, host and
//! account within a time gap (union-find), each ordered by kill-chain
//! phase, with a severity and a title an analyst can triage from.

use crate::classify::{AccountClass, classify_account};
use crate::dedup::{DedupedFinding, dedup};
use crate::host::HostNames;
use crate::incident_title::{Where, title};
use crate::keys::CorrelationKeys;
use crate::repeats::{last_seen, repeat_count};
use crate::tactic::{Tactic, TacticLookup, resolve};
use crate::util::{Span, ms};
use hashbrown::HashMap;
use kahu_event::Timestamp;
use kahu_finding::{Finding, FindingKind, Level};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How findings are linked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IncidentConfig {
    /// Findings on the same host (or by the same account, or the same
    /// process id on a host) at most this far apart are linked. Default
    /// 7,200 s (2 h).
    pub gap_secs: u64,
    /// Findings below this level are left out of incidents (they stay in
    /// the timeline). Default `low`.
    pub min_level: Level,
    /// Link findings on the same host within the gap. Default true.
    pub link_hosts: bool,
    /// Link findings naming the same user account (not machine or built-in
    /// accounts) within the gap, across hosts. Default true.
    pub link_accounts: bool,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        IncidentConfig {
            gap_secs: 7200,
            min_level: Level::Low,
            link_hosts: true,
            link_accounts: true,
        }
    }
}

/// One piece of an incident's evidence.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentEvidence {
    /// Earliest kill-chain phase of the finding's techniques.
    pub phase: Option<Tactic>,
    /// All tactics of its techniques.
    pub tactics: Vec<Tactic>,
    /// The (deduplicated) finding.
    #[serde(flatten)]
    pub finding: DedupedFinding,
}

/// A chain of related findings.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    /// `INC-0001`…, numbered by severity then time.
    pub id: String,
    /// One-line summary.
    pub title: String,
    /// Highest finding level, raised one step for 3+ tactics and one for 3+ hosts.
    pub severity: Level,
    /// Why the severity is above the highest finding level ("raised from
    /// high: 4 tactics"), so a "critical" incident in a case with no
    /// critical detection can be read; `None` when it is not raised.
    pub severity_reason: Option<String>,
    /// Highest finding level.
    pub max_level: Level,
    /// Hosts involved (one entry per host identity, its most specific
    /// name), highest level first, then most distinct rules, then most findings.
    pub hosts: Vec<String>,
    /// Findings whose host is unknown (no host in the record, its file or
    /// an internal originating address).
    pub host_unknown_findings: usize,
    /// User accounts involved, most findings first.
    pub accounts: Vec<String>,
    /// Titles of the rules and indicators that fired, most findings first.
    pub rules: Vec<String>,
    /// Earliest evidence.
    pub first_seen: Option<Timestamp>,
    /// Latest evidence.
    pub last_seen: Option<Timestamp>,
    /// Tactics in kill-chain order.
    pub tactics: Vec<Tactic>,
    /// Technique ids, sorted.
    pub techniques: Vec<String>,
    /// Detections before deduplication (a collapsed repeat counts its
    /// [`repeat_count`](crate::repeat_count)).
    pub finding_count: usize,
    /// Indices into the findings slice, ascending.
    pub finding_ids: Vec<usize>,
    /// Evidence in kill-chain order, then time.
    pub evidence: Vec<IncidentEvidence>,
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            // Smaller root wins, so results do not depend on link order.
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            self.0[hi] = lo;
        }
    }
}

/// Union consecutive members of each group that are within `gap` ms.
fn link_by_time(uf: &mut UnionFind, mut items: Vec<(String, i64, usize)>, gap: i64) {
    items.sort_unstable();
    for w in items.windows(2) {
        if w[0].0 == w[1].0 && w[1].1 - w[0].1 <= gap {
            uf.union(w[0].2, w[1].2);
        }
    }
}

/// Where a record without a host was logged: its file's directory (inside
/// an archive: the member's directory). Records of one log directory
/// (an IIS site's daily files, one sensor's Zeek logs) share a recorder.
fn log_dir(p: &kahu_event::Provenance) -> String {
    let parent = |s: &str| -> String {
        match s.rfind(['/', '\\']) {
            Some(i) => s[..i].to_string(),
            None => String::new(),
        }
    };
    match &p.member {
        Some(m) => format!("{}!{}", p.file, parent(m)),
        None => parent(&p.file),
    }
}

/// The host of each selected finding: its own (see
/// [`HostNames::of_finding`]), else the one host every other finding from
/// the same file names (a Security log's analytic finding carries no
/// host, but the log's records do); `None` when unknown or ambiguous.
fn finding_hosts(
    findings: &[Finding],
    selected: &[usize],
    names: &HostNames,
) -> Vec<Option<String>> {
    let own: Vec<Option<String>> = selected
        .iter()
        .map(|&i| names.of_finding(&findings[i]))
        .collect();
    // File → its only host, or None once two hosts were seen.
    let mut by_file: HashMap<&str, Option<&str>> = HashMap::new();
    for (s, &i) in selected.iter().enumerate() {
        if let Some(h) = own[s].as_deref() {
            by_file
                .entry(&*findings[i].provenance.file)
                .and_modify(|v| {
                    if *v != Some(h) {
                        *v = None;
                    }
                })
                .or_insert(Some(h));
        }
    }
    selected
        .iter()
        .enumerate()
        .map(|(s, &i)| {
            own[s].clone().or_else(|| {
                by_file
                    .get(&*findings[i].provenance.file)
                    .copied()
                    .flatten()
                    .map(str::to_string)
            })
        })
        .collect()
}

/// Chain findings into incidents. `lookup` maps a technique to tactics
/// (for example from `kahu-attack`); the committed ATT&CK map is the
/// fallback. Finding ids in the result are indices into `findings`.
///
/// Findings are linked when they share a process lineage or logon session,
/// when they are hits of the same indicator (a beacon logged a thousand
/// times is one incident), and within the time gap when they share a host
/// (one identity for FQDN, short name and address, see [`HostNames`]), a
/// user account, or, for records without a host, a log directory.
pub fn build_incidents(
    findings: &[Finding],
    config: &IncidentConfig,
    lookup: Option<TacticLookup<'_>>,
) -> Vec<Incident> {
    build_incidents_with_hosts(
        findings,
        config,
        lookup,
        &HostNames::from_findings(findings),
    )
}

/// [`build_incidents`] with host names and addresses learned elsewhere
/// (for example from the events' network records).
pub fn build_incidents_with_hosts(
    findings: &[Finding],
    config: &IncidentConfig,
    lookup: Option<TacticLookup<'_>>,
    names: &HostNames,
) -> Vec<Incident> {
    let selected: Vec<usize> = (0..findings.len())
        .filter(|&i| findings[i].level >= config.min_level)
        .collect();
    let n = selected.len();
    let mut uf = UnionFind((0..n).collect());
    let gap = (config.gap_secs as i64).saturating_mul(1000);
    let hosts = finding_hosts(findings, &selected, names);

    let mut exact: HashMap<String, usize> = HashMap::new();
    let mut timed: Vec<(String, i64, usize)> = Vec::new();
    for (s, &i) in selected.iter().enumerate() {
        let f = &findings[i];
        let k = CorrelationKeys::extract(f);
        let host = hosts[s].as_deref().unwrap_or("");
        let mut exact_keys: Vec<String> = Vec::new();
        for g in [&k.process_guid, &k.parent_guid].into_iter().flatten() {
            exact_keys.push(format!("guid:{g}"));
        }
        for l in &k.logon_ids {
            exact_keys.push(format!("luid:{host}:{l:x}"));
        }
        if f.kind == FindingKind::Ioc {
            exact_keys.push(format!("ioc:{}", f.rule_id));
        }
        for key in exact_keys {
            match exact.get(&key) {
                Some(&other) => uf.union(s, other),
                None => {
                    exact.insert(key, s);
                }
            }
        }
        let Some(t) = f.timestamp.as_ref().map(ms) else {
            continue;
        };
        // Process ids are reused, so they only link within the gap.
        for p in [k.pid, k.parent_pid].into_iter().flatten() {
            if p != 0 && p != 4 {
                timed.push((format!("pid:{host}:{p}"), t, s));
            }
        }
        if config.link_hosts {
            if host.is_empty() {
                timed.push((format!("log:{}", log_dir(&f.provenance)), t, s));
            } else {
                timed.push((format!("host:{host}"), t, s));
            }
            // A hop is recorded on its target; its source is the other end
            // of the same act. Empire's Invoke-PsExec on WORKSTATION5 and
            // the service it installed on WORKSTATION6, in the same
            // second, were two incidents (probe 18).
            if &*f.rule_id == crate::escalate::LATERAL_MOVEMENT_RULE
                && let Some(src) = kahu_finding::field(f, "WorkstationName")
                    .or_else(|| kahu_finding::field(f, "IpAddress"))
                    .and_then(|v| names.key(v))
                && src != host
            {
                timed.push((format!("host:{src}"), t, s));
            }
        }
        // One Internet address acting within the gap is one actor: the
        // web-shell requests and the SSH logon from 203.0.113.50 were
        // separate incidents. Internal addresses are left out (a proxy, a
        // NAT gateway or a scanner stands for many).
        // Behind a reverse proxy `c-ip` is the proxy, which stands for
        // every visitor: the forwarded client is the source then.
        let forwarded = kahu_finding::field(f, "forwarded-client").is_some();
        for ip in crate::scope::SOURCE_IP_FIELDS
            .iter()
            .filter(|k| !(forwarded && **k == "c-ip"))
            .filter_map(|k| kahu_finding::field(f, k))
            .filter_map(crate::classify::parse_ip)
            .filter(|ip| crate::classify::classify_ip(*ip) == crate::classify::IpClass::External)
        {
            timed.push((format!("src:{ip}"), t, s));
        }
        if config.link_accounts {
            for a in &k.accounts {
                timed.push((format!("acct:{a}"), t, s));
            }
        }
    }
    link_by_time(&mut uf, timed, gap);

    let mut groups: HashMap<usize, Vec<(usize, Option<String>)>> = HashMap::new();
    for (s, &i) in selected.iter().enumerate() {
        let root = uf.find(s);
        groups.entry(root).or_default().push((i, hosts[s].clone()));
    }
    let mut incidents: Vec<Incident> = groups
        .into_values()
        .map(|members| make_incident(findings, members, lookup, names))
        .collect();
    incidents.sort_by(|a, b| {
        (
            b.severity,
            a.first_seen.is_none(),
            a.first_seen,
            a.finding_ids[0],
        )
            .cmp(&(
                a.severity,
                b.first_seen.is_none(),
                b.first_seen,
                b.finding_ids[0],
            ))
    });
    for (i, inc) in incidents.iter_mut().enumerate() {
        inc.id = format!("INC-{:04}", i + 1);
    }
    incidents
}

fn finding_tactics(f: &Finding, lookup: Option<TacticLookup<'_>>) -> Vec<Tactic> {
    let mut t: Vec<Tactic> = f
        .techniques
        .iter()
        .flat_map(|x| resolve(x, lookup))
        .collect();
    t.sort();
    t.dedup();
    t
}

fn ranked(counts: HashMap<String, usize>) -> Vec<String> {
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().map(|(k, _)| k).collect()
}

fn bump(l: Level) -> Level {
    match l {
        Level::Informational => Level::Informational,
        Level::Low => Level::Medium,
        Level::Medium => Level::High,
        Level::High | Level::Critical => Level::Critical,
    }
}

fn make_incident(
    findings: &[Finding],
    mut members_hosts: Vec<(usize, Option<String>)>,
    lookup: Option<TacticLookup<'_>>,
    names: &HostNames,
) -> Incident {
    members_hosts.sort_unstable();
    let ids: Vec<usize> = members_hosts.iter().map(|(i, _)| *i).collect();
    let members: Vec<Finding> = ids.iter().map(|&i| findings[i].clone()).collect();
    let mut span = Span::default();
    // Per host: highest level, distinct rules, findings. Hosts are ranked
    // in that order, so a beacon logged a thousand times on one address
    // does not outrank the host with the web shell.
    let mut host_rank: HashMap<String, (Level, hashbrown::HashSet<&str>, usize)> = HashMap::new();
    let mut host_unknown = 0;
    let mut log_dirs: HashMap<String, usize> = HashMap::new();
    let mut rules: HashMap<String, usize> = HashMap::new();
    let mut accounts: HashMap<String, usize> = HashMap::new();
    let mut techniques: Vec<String> = Vec::new();
    let mut tactic_level: HashMap<Tactic, Level> = HashMap::new();
    let mut phase_level: HashMap<Tactic, Level> = HashMap::new();
    let mut max_level = Level::Informational;
    let mut detections = 0;
    for (f, (_, host)) in members.iter().zip(&members_hosts) {
        span.observe(f.timestamp);
        span.observe(last_seen(f));
        detections += repeat_count(f);
        max_level = max_level.max(f.level);
        match host {
            Some(h) => {
                let e = host_rank.entry(names.display(h)).or_default();
                e.0 = e.0.max(f.level);
                e.1.insert(&f.rule_id);
                e.2 += 1;
            }
            None => {
                host_unknown += 1;
                *log_dirs.entry(log_dir(&f.provenance)).or_default() += 1;
            }
        }
        *rules.entry(f.title.to_string()).or_default() += 1;
        for a in CorrelationKeys::extract(f).accounts {
            if classify_account(&a) == AccountClass::User {
                *accounts.entry(a).or_default() += 1;
            }
        }
        for t in &f.techniques {
            if !techniques.iter().any(|x| x == &**t) {
                techniques.push(t.to_string());
            }
        }
        let tactics = finding_tactics(f, lookup);
        for &t in &tactics {
            let e = tactic_level.entry(t).or_insert(f.level);
            *e = (*e).max(f.level);
        }
        // The title names what findings did, each once, by its phase (as
        // the severity raise counts them): T1078 and sudo's T1548.003 are
        // filed under defense evasion too, and an SSH brute force, logon
        // and sudo shell were titled "Defense evasion and credential
        // access".
        // Concealment is how, not what: comsvcs' MiniDump (T1003.001 with
        // rundll32's T1218.011) is credential access, not defense evasion.
        let what = tactics
            .iter()
            .find(|t| !matches!(t, Tactic::DefenseEvasion | Tactic::Stealth))
            .or(tactics.first());
        if let Some(&phase) = what {
            let e = phase_level.entry(phase).or_insert(f.level);
            *e = (*e).max(f.level);
        }
    }
    techniques.sort();
    let mut tactics: Vec<Tactic> = tactic_level.keys().copied().collect();
    tactics.sort();
    let mut hosts: Vec<(String, (Level, usize, usize))> = host_rank
        .into_iter()
        .map(|(h, (l, r, n))| (h, (l, r.len(), n)))
        .collect();
    hosts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let hosts: Vec<String> = hosts.into_iter().map(|(h, _)| h).collect();
    let accounts = ranked(accounts);
    let rules = ranked(rules);
    let log_dirs = ranked(log_dirs);

    let mut evidence: Vec<IncidentEvidence> = dedup(&members)
        .into_iter()
        .map(|mut d| {
            d.ids = d.ids.iter().map(|&j| ids[j]).collect();
            let tactics = finding_tactics(&d.finding, lookup);
            IncidentEvidence {
                phase: tactics.first().copied(),
                tactics,
                finding: d,
            }
        })
        .collect();
    evidence.sort_by(|a, b| {
        let ka = (
            a.phase.is_none(),
            a.phase,
            a.finding.first_seen.is_none(),
            a.finding.first_seen,
            a.finding.ids[0],
        );
        let kb = (
            b.phase.is_none(),
            b.phase,
            b.finding.first_seen.is_none(),
            b.finding.first_seen,
            b.finding.ids[0],
        );
        ka.cmp(&kb)
    });

    let mut severity = max_level;
    let mut raised = Vec::new();
    // Tactics count once per finding (its phase): one technique filed
    // under three tactics (T1053.005: execution, persistence, privilege
    // escalation) is one act, and one scheduled task made an incident
    // "critical" (72 of 162 on EVTX-ATTACK-SAMPLES).
    // Reconnaissance and resource development happen outside the network
    // (a scanner's user agent, a staged domain): an Internet scan landing
    // on the same web server made its incident "critical" (probe 18). They
    // are shown, but do not count toward the raise.
    let phases: BTreeSet<Tactic> = evidence
        .iter()
        .filter_map(|e| e.phase)
        .filter(|t| !matches!(t, Tactic::Reconnaissance | Tactic::ResourceDevelopment))
        .collect();
    if max_level >= Level::Low {
        if phases.len() >= 3 {
            severity = bump(severity);
            raised.push(format!(
                "findings in {} phases ({})",
                phases.len(),
                phases
                    .iter()
                    .map(|t| t.short_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if hosts.len() >= 3 {
            severity = bump(severity);
            raised.push(format!("{} hosts", hosts.len()));
        }
    }
    let severity_reason = (severity > max_level)
        .then(|| format!("raised from {}: {}", max_level.as_str(), raised.join(", ")));
    let where_ = Where {
        hosts: &hosts,
        host_unknown,
        log_dir: log_dirs.first().map(String::as_str),
        accounts: &accounts,
    };
    let title = title(&phase_level, &where_, &members, max_level, detections);
    Incident {
        id: String::new(),
        title,
        severity,
        severity_reason,
        max_level,
        hosts,
        host_unknown_findings: host_unknown,
        accounts,
        rules,
        first_seen: span.first_seen,
        last_seen: span.last_seen,
        tactics,
        techniques,
        finding_count: detections as usize,
        finding_ids: ids,
        evidence,
    }
}
