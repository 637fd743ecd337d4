//! The lateral-movement graph: who authenticated or connected where, from
//! where, over which protocol. Also collects pass-the-hash logons
//! (4624 type 9 via `seclogo`), which are lateral movement's usual prelude.

use super::auth::{Auth, AuthKind};
use crate::classify::{
    AccountClass, IpClass, classify_account, classify_ip, normalize_account, parse_ip,
};
use crate::util::{CappedMap, Samples, Span, clip, text};
use hashbrown::HashMap;
use kahu_event::{Event, Provenance, Timestamp};
use serde::Serialize;
use std::net::IpAddr;

/// How a hop was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// RDP: 4624 logon type 10 or a connection to 3389.
    Rdp,
    /// A connection to 445.
    Smb,
    /// A connection to 5985/5986.
    WinRm,
    /// A connection to 135 (DCOM/WMI/remote services).
    Rpc,
    /// sshd accepted, or a connection to 22.
    Ssh,
    /// 4624 logon type 3: SMB, RPC, WinRM or WMI, which the event does not tell apart.
    NetworkLogon,
    /// 4648 logon with explicit credentials (runas, PsExec `-u`, WMI with creds).
    ExplicitCredentials,
}

impl Protocol {
    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Rdp => "RDP",
            Protocol::Smb => "SMB",
            Protocol::WinRm => "WinRM",
            Protocol::Rpc => "RPC/DCOM",
            Protocol::Ssh => "SSH",
            Protocol::NetworkLogon => "network logon",
            Protocol::ExplicitCredentials => "explicit credentials",
        }
    }

    /// ATT&CK technique this hop is evidence of.
    pub fn technique(self) -> &'static str {
        match self {
            Protocol::Rdp => "T1021.001",
            Protocol::Smb | Protocol::NetworkLogon => "T1021.002",
            Protocol::Rpc => "T1021.003",
            Protocol::Ssh => "T1021.004",
            Protocol::WinRm => "T1021.006",
            Protocol::ExplicitCredentials => "T1078",
        }
    }
}

fn port_protocol(port: i64) -> Option<Protocol> {
    Some(match port {
        445 | 139 => Protocol::Smb,
        3389 => Protocol::Rdp,
        5985 | 5986 => Protocol::WinRm,
        135 => Protocol::Rpc,
        22 => Protocol::Ssh,
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct EdgeKey {
    src: Box<str>,
    dst: Box<str>,
    protocol: Protocol,
    account: Box<str>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct EdgeAcc {
    count: u64,
    span: Span,
    samples: Samples,
    /// When the hops happened (ms, the earliest [`HOP_TIMES`]), to match
    /// each hop with remote execution right after it.
    times: Vec<i64>,
}

/// Hop times kept per edge: bounded memory whatever the evidence; a hop
/// later than the first this many of its edge is not checked for remote
/// execution.
const HOP_TIMES: usize = 128;

fn trim_times(v: &mut Vec<i64>) {
    v.sort_unstable();
    v.dedup();
    v.truncate(HOP_TIMES);
}

impl EdgeAcc {
    fn observe(&mut self, e: &Event) {
        self.count += 1;
        self.span.observe(e.timestamp);
        self.samples.add(e.timestamp, &e.provenance);
        if let Some(t) = e.timestamp.as_ref() {
            self.times.push(crate::util::ms(t));
            if self.times.len() > 2 * HOP_TIMES {
                trim_times(&mut self.times);
            }
        }
    }

    fn merge(&mut self, b: EdgeAcc) {
        self.count += b.count;
        self.span.merge(&b.span);
        self.samples.merge(b.samples);
        self.times.extend(b.times);
        trim_times(&mut self.times);
    }
}

/// (host, subject account, target account).
type PthKey = (Box<str>, Box<str>, Box<str>);

#[derive(Debug, Clone)]
pub(crate) struct Lateral {
    edges: CappedMap<EdgeKey, EdgeAcc>,
    /// Address → host learned from Sysmon network events, to merge IP
    /// nodes into host nodes.
    ip_hosts: CappedMap<IpAddr, Box<str>>,
    pth: CappedMap<PthKey, EdgeAcc>,
    /// What shows that a hop's target ran something for the source.
    remote_exec: super::remote_exec::RemoteExec,
    /// DNS queries (Zeek `dns`) per internal originator, and in all.
    dns_queries: CappedMap<IpAddr, u64>,
    dns_total: u64,
}

/// DNS queries a log must hold before one originator can be called the
/// network's resolver.
const RESOLVER_MIN_QUERIES: u64 = 200;

/// Share of those queries (in tenths) one internal address must have sent
/// to be the resolver: a sensor outside the resolver sees only it.
const RESOLVER_SHARE_TENTHS: u64 = 9;

fn host_node(h: &str) -> Box<str> {
    format!("host:{}", h.to_lowercase()).into()
}

fn short_host(h: &str) -> String {
    // `ws01.corp.local` and `WS01` are the same machine in 4624 vs Computer.
    h.split('.').next().unwrap_or(h).to_lowercase()
}

impl Lateral {
    pub(crate) fn new(cap: usize) -> Self {
        Lateral {
            edges: CappedMap::new(cap),
            ip_hosts: CappedMap::new(cap),
            pth: CappedMap::new(cap),
            remote_exec: super::remote_exec::RemoteExec::new(cap),
            dns_queries: CappedMap::new(cap),
            dns_total: 0,
        }
    }

    fn edge(&mut self, e: &Event, src: Box<str>, dst: Box<str>, protocol: Protocol, account: &str) {
        if src == dst {
            return;
        }
        let key = EdgeKey {
            src,
            dst,
            protocol,
            account: clip(account, 256).into(),
        };
        if let Some(a) = self.edges.slot(&key, || (key.clone(), EdgeAcc::default())) {
            a.observe(e);
        }
    }

    pub(crate) fn observe_auth(&mut self, e: &Event, a: &Auth) {
        if !a.success || classify_account(&a.account) != AccountClass::User {
            return;
        }
        let Some(host) = e.host.as_deref() else {
            return;
        };
        let dst = host_node(&short_host(host));
        let protocol = match (a.kind, a.logon_type) {
            (AuthKind::Rdp, _) => Protocol::Rdp,
            (AuthKind::Logon, Some(3)) => Protocol::NetworkLogon,
            (AuthKind::Ssh, _) => Protocol::Ssh,
            _ => return,
        };
        let src: Box<str> = match a.source_ip {
            // Loopback RDP means a tunnel (plink, Tunna, ngrok): keep it.
            Some(ip) if classify_ip(ip) == IpClass::Loopback && protocol != Protocol::Rdp => return,
            Some(ip) if classify_ip(ip) == IpClass::Special => return,
            Some(ip) => format!("ip:{ip}").into(),
            None if a.source != "local" => host_node(&short_host(&a.source)),
            None => return,
        };
        self.edge(e, src, dst, protocol, &a.account);
    }

    pub(crate) fn observe(&mut self, e: &Event) {
        self.remote_exec.observe(e, short_host);
        match e.event_id {
            Some(4648) if super::auth::is_security(e) => {
                let Some(host) = e.host.as_deref() else {
                    return;
                };
                let Some(target) = text(e, &["TargetServerName"]) else {
                    return;
                };
                let t = short_host(&target);
                if t == "localhost" || t == short_host(host) || t.is_empty() {
                    return;
                }
                let Some(acct) = text(e, &["TargetUserName"]).and_then(|u| normalize_account(&u))
                else {
                    return;
                };
                if classify_account(&acct) != AccountClass::User {
                    return;
                }
                let dst = match parse_ip(&target) {
                    Some(ip) => format!("ip:{ip}").into(),
                    None => host_node(&t),
                };
                self.edge(
                    e,
                    host_node(&short_host(host)),
                    dst,
                    Protocol::ExplicitCredentials,
                    &acct,
                );
            }
            Some(4624) if super::auth::is_security(e) => self.observe_pth(e),
            Some(3) if e.channel.as_deref().is_some_and(|c| c.contains("Sysmon")) => {
                self.observe_conn(e, true)
            }
            _ if e.logsource.product.as_deref() == Some("zeek")
                && e.logsource.service.as_deref() == Some("conn") =>
            {
                self.observe_conn(e, false)
            }
            _ if e.logsource.product.as_deref() == Some("zeek")
                && e.logsource.service.as_deref() == Some("dns") =>
            {
                self.observe_dns(e)
            }
            _ => {}
        }
    }

    fn observe_dns(&mut self, e: &Event) {
        let Some(ip) = text(e, &["id.orig_h"]).and_then(|s| parse_ip(&s)) else {
            return;
        };
        if !classify_ip(ip).is_internal() {
            return;
        }
        self.dns_total += 1;
        // A resolver forwards upstream, to the Internet. A client asking
        // the network's own resolver (a sensor inside the network sees
        // those), even one that asks a great deal — a DNS tunnel — is a
        // client, and its lookups name it.
        let upstream = text(e, &["id.resp_h"])
            .and_then(|s| parse_ip(&s))
            .is_some_and(|d| classify_ip(d) == IpClass::External);
        if upstream && let Some(n) = self.dns_queries.slot(&ip, || (ip, 0)) {
            *n += 1;
        }
    }

    fn observe_conn(&mut self, e: &Event, sysmon: bool) {
        let src_ip = text(e, &["SourceIp", "id.orig_h", "src_ip"]).and_then(|s| parse_ip(&s));
        let dst_ip = text(e, &["DestinationIp", "id.resp_h", "dst_ip"]).and_then(|s| parse_ip(&s));
        let (Some(src_ip), Some(dst_ip)) = (src_ip, dst_ip) else {
            return;
        };
        let initiated = !sysmon
            || e.get("Initiated")
                .and_then(|v| v.as_text())
                .is_none_or(|v| v.eq_ignore_ascii_case("true"));
        if sysmon && let Some(h) = e.host.as_deref() {
            // The host's own address is the source of its outbound connections.
            let own = if initiated { src_ip } else { dst_ip };
            if classify_ip(own).is_internal() {
                let h: Box<str> = short_host(h).into();
                if let Some(slot) = self.ip_hosts.slot(&own, || (own, h.clone()))
                    && h < *slot
                {
                    // The same pick as `merge`, whatever order threads saw
                    // events in (DHCP churn gives one address two hosts).
                    *slot = h;
                }
            }
        }
        if !initiated || !classify_ip(src_ip).is_internal() || !classify_ip(dst_ip).is_internal() {
            return;
        }
        let Some(proto) = crate::util::int(e, &["DestinationPort", "id.resp_p", "dst_port"])
            .and_then(port_protocol)
        else {
            return;
        };
        let account = text(e, &["User"])
            .and_then(|u| normalize_account(&u))
            .unwrap_or_default();
        if !account.is_empty()
            && classify_account(&account) != AccountClass::User
            && proto != Protocol::Smb
        {
            // SYSTEM talking RPC/WinRM is routine; SYSTEM on 445 is how PsExec-style tools move.
            return;
        }
        let src = match (sysmon, e.host.as_deref()) {
            (true, Some(h)) => host_node(&short_host(h)),
            _ => format!("ip:{src_ip}").into(),
        };
        self.edge(e, src, format!("ip:{dst_ip}").into(), proto, &account);
    }

    fn observe_pth(&mut self, e: &Event) {
        if crate::util::int(e, &["LogonType"]) != Some(9) {
            return;
        }
        let Some(lp) = text(e, &["LogonProcessName"]) else {
            return;
        };
        if !lp.trim().eq_ignore_ascii_case("seclogo") {
            return;
        }
        let host: Box<str> = e.host.as_deref().unwrap_or("").into();
        let subject: Box<str> = text(e, &["SubjectUserName"])
            .map(|s| clip(&s, 256))
            .unwrap_or_default()
            .into();
        let target: Box<str> = text(e, &["TargetUserName"])
            .map(|s| clip(&s, 256))
            .unwrap_or_default()
            .into();
        let key = (host, subject, target);
        if let Some(a) = self.pth.slot(&key, || (key.clone(), EdgeAcc::default())) {
            a.observe(e);
        }
    }

    pub(crate) fn merge(&mut self, o: Lateral) {
        let f = |a: &mut EdgeAcc, b: EdgeAcc| a.merge(b);
        self.edges.merge(o.edges, f);
        self.pth.merge(o.pth, f);
        self.dns_queries.merge(o.dns_queries, |a, b| *a += b);
        self.dns_total += o.dns_total;
        self.remote_exec.merge(o.remote_exec);
        self.ip_hosts.merge(o.ip_hosts, |a, b| {
            // Deterministic pick when two hosts claimed one address (DHCP churn).
            if b < *a {
                *a = b;
            }
        });
    }

    pub(crate) fn dropped(&self) -> [(&'static str, u64); 5] {
        [
            ("dns_originators", self.dns_queries.dropped),
            ("lateral_edges", self.edges.dropped),
            ("ip_hosts", self.ip_hosts.dropped),
            ("pass_the_hash", self.pth.dropped),
            ("remote_execution", self.remote_exec.dropped()),
        ]
    }

    pub(crate) fn finish(mut self) -> (LateralGraph, Vec<PassTheHash>) {
        self.remote_exec.finish();
        let mut host_addresses: Vec<HostAddress> = self
            .ip_hosts
            .map
            .iter()
            .map(|(ip, h)| HostAddress {
                address: *ip,
                host: h.to_string(),
            })
            .collect();
        host_addresses.sort_by_key(|a| a.address);
        let mut dns_resolvers: Vec<IpAddr> = if self.dns_total >= RESOLVER_MIN_QUERIES {
            self.dns_queries
                .map
                .iter()
                .filter(|(_, n)| **n * 10 >= self.dns_total * RESOLVER_SHARE_TENTHS)
                .map(|(ip, _)| *ip)
                .collect()
        } else {
            Vec::new()
        };
        dns_resolvers.sort();
        let resolve = |id: &str| -> String {
            if let Some(ip) = id.strip_prefix("ip:").and_then(parse_ip)
                && let Some(h) = self.ip_hosts.map.get(&ip)
            {
                return format!("host:{h}");
            }
            id.to_string()
        };
        let mut merged: HashMap<(String, String, Protocol, Box<str>), EdgeAcc> = HashMap::new();
        for (k, v) in &self.edges.map {
            let (s, d) = (resolve(&k.src), resolve(&k.dst));
            if s == d {
                continue;
            }
            let e = merged
                .entry((s, d, k.protocol, k.account.clone()))
                .or_default();
            e.merge(v.clone());
        }
        let mut nodes: HashMap<String, GraphNode> = HashMap::new();
        let mut accounts: HashMap<Box<str>, u64> = HashMap::new();
        let mut edges: Vec<GraphEdge> = Vec::with_capacity(merged.len());
        for ((s, d, protocol, account), acc) in merged {
            let tunnelled = protocol == Protocol::Rdp
                && s.strip_prefix("ip:")
                    .and_then(parse_ip)
                    .is_some_and(|ip| ip.is_loopback());
            // Each host's loopback is its own: one "127.0.0.1" node with
            // hops to two hosts read as one source that pivoted to both,
            // when they were two tunnels, each ending on its host.
            let s = if tunnelled {
                let on = d.split_once(':').map_or(d.as_str(), |(_, h)| h);
                format!("{s} (tunnel on {on})")
            } else {
                s
            };
            for (id, out) in [(&s, true), (&d, false)] {
                let n = nodes
                    .entry(id.clone())
                    .or_insert_with(|| GraphNode::new(id, &self.ip_hosts.map));
                if out {
                    n.out_edges += 1;
                } else {
                    n.in_edges += 1;
                }
                n.span.merge(&acc.span);
            }
            if !account.is_empty() {
                *accounts.entry(account.clone()).or_default() += acc.count;
            }
            let remote_execution = match (protocol, d.strip_prefix("host:")) {
                (Protocol::Smb | Protocol::Rpc | Protocol::NetworkLogon, Some(h)) => self
                    .remote_exec
                    .corroborate(h, &acc.times, &account, protocol != Protocol::Rpc),
                _ => None,
            };
            edges.push(GraphEdge {
                source: s,
                target: d,
                protocol,
                account: account.to_string(),
                count: acc.count,
                first_seen: acc.span.first_seen,
                last_seen: acc.span.last_seen,
                tunnelled,
                remote_execution,
                samples: acc.samples.provenances().cloned().collect(),
            });
        }
        edges.sort_by(|a, b| {
            (a.first_seen, &a.source, &a.target, a.protocol, &a.account).cmp(&(
                b.first_seen,
                &b.source,
                &b.target,
                b.protocol,
                &b.account,
            ))
        });
        let mut nodes: Vec<GraphNode> = nodes.into_values().collect();
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        let mut accounts: Vec<GraphAccount> = accounts
            .into_iter()
            .map(|(a, n)| GraphAccount {
                account: a.into(),
                hops: n,
            })
            .collect();
        accounts.sort_by(|a, b| (b.hops, &a.account).cmp(&(a.hops, &b.account)));
        let mut pth: Vec<PassTheHash> = self
            .pth
            .map
            .into_iter()
            .map(|((host, subject, target), a)| PassTheHash {
                host: host.into(),
                subject_account: subject.into(),
                target_account: target.into(),
                count: a.count,
                first_seen: a.span.first_seen,
                last_seen: a.span.last_seen,
                samples: a.samples.provenances().cloned().collect(),
            })
            .collect();
        pth.sort_by(|a, b| (a.first_seen, &a.host).cmp(&(b.first_seen, &b.host)));
        (
            LateralGraph {
                nodes,
                edges,
                accounts,
                host_addresses,
                dns_resolvers,
            },
            pth,
        )
    }
}

/// Who moved where: nodes are hosts and addresses, edges are hops.
/// Serialises to JSON directly usable by graph widgets (`nodes[].id`,
/// `edges[].source`/`target`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LateralGraph {
    /// Hosts and addresses.
    pub nodes: Vec<GraphNode>,
    /// Hops, earliest first.
    pub edges: Vec<GraphEdge>,
    /// Accounts used for hops, most hops first.
    pub accounts: Vec<GraphAccount>,
    /// Addresses learned to belong to hosts (from the hosts' own network
    /// records), by address: one host identity for name and address.
    pub host_addresses: Vec<HostAddress>,
    /// Internal addresses that sent (nearly) every DNS query a sensor
    /// logged: the network's resolver forwarding its clients' lookups, so
    /// a lookup it sent is not evidence about the resolver's own host.
    pub dns_resolvers: Vec<IpAddr>,
}

/// An address a host used, as its own network records show.
#[derive(Debug, Clone, Serialize)]
pub struct HostAddress {
    /// The address.
    pub address: IpAddr,
    /// The host's (short) name.
    pub host: String,
}

/// A host or an address in the graph.
#[derive(Debug, Clone, Serialize)]
pub struct GraphNode {
    /// `host:<name>` or `ip:<address>`.
    pub id: String,
    /// `host` or `ip`.
    pub kind: &'static str,
    /// Host name or address.
    pub label: String,
    /// For addresses: internal, external…
    pub ip_class: Option<IpClass>,
    /// Hops leaving this node.
    pub out_edges: u64,
    /// Hops arriving.
    pub in_edges: u64,
    #[serde(flatten)]
    span: Span,
}

impl GraphNode {
    fn new(id: &str, _ip_hosts: &hashbrown::HashMap<IpAddr, Box<str>>) -> Self {
        let (kind, label) = match id.split_once(':') {
            Some(("ip", l)) => ("ip", l),
            Some((_, l)) => ("host", l),
            None => ("host", id),
        };
        GraphNode {
            id: id.to_string(),
            kind,
            label: label.to_string(),
            ip_class: if kind == "ip" {
                parse_ip(label).map(classify_ip)
            } else {
                None
            },
            out_edges: 0,
            in_edges: 0,
            span: Span::default(),
        }
    }

    /// First and last hop touching this node.
    pub fn span(&self) -> Span {
        self.span
    }
}

/// A hop between two nodes by one account over one protocol.
#[derive(Debug, Clone, Serialize)]
pub struct GraphEdge {
    /// Node id the hop came from.
    pub source: String,
    /// Node id the hop went to.
    pub target: String,
    /// How.
    pub protocol: Protocol,
    /// Account used (empty when the record had none).
    pub account: String,
    /// Times seen.
    pub count: u64,
    /// First hop.
    pub first_seen: Option<Timestamp>,
    /// Last hop.
    pub last_seen: Option<Timestamp>,
    /// RDP from a loopback address: tunnelled through a local forwarder.
    pub tunnelled: bool,
    /// For SMB, RPC and network-logon hops: the remote-execution signal on
    /// the target that makes the hop lateral movement (a service installed,
    /// a process started through WMI…) within minutes of it. Without one,
    /// such a hop is ordinary network traffic (a workstation's Kerberos,
    /// LDAP and Group Policy traffic to its domain controller).
    pub remote_execution: Option<&'static str>,
    /// Earliest records.
    pub samples: Vec<Provenance>,
}

/// An account that made hops.
#[derive(Debug, Clone, Serialize)]
pub struct GraphAccount {
    /// Normalised account.
    pub account: String,
    /// Hops made with it.
    pub hops: u64,
}

/// 4624 logon type 9 through `seclogo`: the pattern Mimikatz
/// `sekurlsa::pth` and `runas /netonly` leave.
#[derive(Debug, Clone, Serialize)]
pub struct PassTheHash {
    /// Host.
    pub host: String,
    /// Account that started it.
    pub subject_account: String,
    /// Account whose credentials were injected (as logged: often the subject again).
    pub target_account: String,
    /// Times seen.
    pub count: u64,
    /// First.
    pub first_seen: Option<Timestamp>,
    /// Last.
    pub last_seen: Option<Timestamp>,
    /// Earliest records.
    pub samples: Vec<Provenance>,
}
