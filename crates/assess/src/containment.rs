//! Containment policy: which hosts to isolate, accounts to reset,
//! addresses to block or investigate, files to remove and hashes to block —
//! each entry with a reason a responder can check, and nothing that would
//! do harm when pushed to a firewall or an EDR. The rules are documented in
//! `docs/containment.md`; thresholds come from [`Policy`].

use crate::file_hashes::{FileHashes, sha256_of};
use crate::paths;
use crate::policy::Policy;
use crate::signer::{self, Signer};
use chrono::{DateTime, Utc};
use kahu_finding::{Finding, FindingKind};
use kahu_reconstruct::classify::{
    AccountClass, EntityClass, GROUP_EVENTS, IpClass, classify_account, normalize_account,
};
use kahu_reconstruct::{Scope, ScopeEntity};
use kahu_report::containment::{Containment, Item, ItemSet};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Windows events whose `TargetUserName` is a name that was tried, not an
/// account that authenticated (failed logons, failed Kerberos pre-auth).
const FAILED_AUTHENTICATION: &[u32] = &[4625, 4771, 4776];
/// Windows group-management events: `TargetUserName` is the group.
/// Fields naming an account that acted (ran a process, accessed a share,
/// made a change): it was authenticated.
const ACTING_ACCOUNT_FIELDS: &[&str] =
    &["SubjectUserName", "User", "user", "UserName", "user.name"];
/// Ports of the services every Windows client uses towards domain
/// controllers and file servers: an internal address reached on one of
/// these is infrastructure, not a command-and-control candidate.
const INFRASTRUCTURE_PORTS: &[u64] = &[
    53, 67, 68, 88, 123, 135, 137, 138, 139, 389, 445, 464, 636, 3268, 3269, 5985, 5986, 9389,
];

/// One shared-infrastructure range.
struct SharedRange {
    net: ipnet::IpNet,
    owner: &'static str,
    source: &'static str,
}

/// The tab-separated columns of each row of a data file, comments and
/// blank lines left out.
fn data_rows(text: &'static str) -> impl Iterator<Item = std::str::Split<'static, char>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t'))
}

fn shared_ranges() -> &'static [SharedRange] {
    static RANGES: std::sync::OnceLock<Vec<SharedRange>> = std::sync::OnceLock::new();
    RANGES.get_or_init(|| {
        data_rows(include_str!(
            "../../../data/containment/shared-infrastructure.tsv"
        ))
        .filter_map(|mut cols| {
            let net = cols.next()?.trim().parse().ok()?;
            Some(SharedRange {
                net,
                owner: cols.next()?.trim(),
                source: cols.next().unwrap_or("").trim(),
            })
        })
        .collect()
    })
}

/// A domain of a shared service (`data/containment/shared-domains.tsv`).
struct SharedDomain {
    domain: &'static str,
    /// Every name under it is the provider's (`service`), or only the bare
    /// domain is (`hosting`: names under it are its customers').
    service: bool,
    owner: &'static str,
}

fn shared_domains() -> &'static [SharedDomain] {
    static DOMAINS: std::sync::OnceLock<Vec<SharedDomain>> = std::sync::OnceLock::new();
    DOMAINS.get_or_init(|| {
        data_rows(include_str!("../../../data/containment/shared-domains.tsv"))
            .filter_map(|mut cols| {
                Some(SharedDomain {
                    domain: cols.next()?.trim(),
                    service: cols.next()?.trim() == "service",
                    owner: cols.next().unwrap_or("").trim(),
                })
            })
            .collect()
    })
}

/// The owner of the shared service `name` belongs to, when blocking `name`
/// would cut the organisation off it (`login.microsoftonline.com`,
/// `azurewebsites.net`), not when it is a customer's name on a hosting
/// platform (`evil-app.azurewebsites.net`).
pub fn shared_domain(name: &str) -> Option<&'static str> {
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    shared_domains()
        .iter()
        .find(|d| {
            n == d.domain
                || n.strip_prefix("www.") == Some(d.domain)
                || (d.service
                    && n.strip_suffix(d.domain)
                        .is_some_and(|head| head.ends_with('.')))
        })
        .map(|d| d.owner)
}

/// The shared-infrastructure owner of `ip`, with the list it comes from.
pub fn shared_infrastructure(ip: IpAddr) -> Option<(&'static str, &'static str)> {
    shared_ranges()
        .iter()
        .find(|r| r.net.contains(&ip))
        .map(|r| (r.owner, r.source))
}

fn rfc(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339())
}

fn field<'a>(f: &'a Finding, name: &str) -> Option<&'a str> {
    f.fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Add scope entity `e` under `value` with its whole span and finding count.
fn seen(set: &mut ItemSet, e: &ScopeEntity, value: &str, reason: &str) {
    set.add_seen(
        value,
        reason,
        rfc(e.first_seen).as_deref(),
        rfc(e.last_seen).as_deref(),
        e.finding_count,
    );
}

/// The findings behind a scope entity.
fn behind<'a>(e: &'a ScopeEntity, findings: &'a [Finding]) -> impl Iterator<Item = &'a Finding> {
    e.finding_ids.iter().filter_map(|&i| findings.get(i))
}

/// Up to three distinct finding titles, as the entry's reason: the most
/// severe first, and a C2 candidate (an escalated beacon) always among them,
/// as it is what a responder checks first for an address; then the count of
/// the rest.
fn titles<'a>(fs: impl Iterator<Item = &'a Finding>) -> String {
    let mut best: BTreeMap<String, (kahu_finding::Level, bool)> = BTreeMap::new();
    for f in fs {
        let key = (f.level, field(f, "Escalation").is_some());
        let e = best.entry(f.title.to_string()).or_insert(key);
        *e = (*e).max(key);
    }
    let mut v: Vec<(kahu_finding::Level, bool, String)> =
        best.into_iter().map(|(t, (l, c2))| (l, c2, t)).collect();
    v.sort_by(|a, b| (b.0, b.1).cmp(&(a.0, a.1)).then_with(|| a.2.cmp(&b.2)));
    let mut shown: Vec<usize> = (0..v.len().min(3)).collect();
    if !shown.iter().any(|&i| v[i].1)
        && let Some(c2) = v.iter().position(|x| x.1)
    {
        shown.push(c2);
    }
    let more = v.len() - shown.len();
    let mut out = shown
        .iter()
        .map(|&i| v[i].2.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    if more > 0 {
        out.push_str(&format!("; and {more} more"));
    }
    out
}

fn is_windows_security(f: &Finding) -> bool {
    f.channel
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("Security"))
}

/// The role of an account a 4720 shows created. An account the intruder
/// made is closed, not handed a new password: a reset leaves it enabled,
/// in its groups (EVTX-ATTACK-SAMPLES' fake computer account `$` was
/// listed only "to reset").
const CREATED: &str =
    "created (4720): unless a change record owns it, disable and delete it rather than reset it";

/// Whether finding `f` shows account `name` (normalised) authenticating or
/// being changed, and how.
fn account_role(f: &Finding, name: &str) -> Option<&'static str> {
    let is = |field_name: &str| {
        field(f, field_name)
            .into_iter()
            .flat_map(|v| v.split(','))
            .any(|v| normalize_account(v).as_deref() == Some(name))
    };
    if f.kind == FindingKind::Analytic {
        return match &*f.rule_id {
            // A brute force names its target; only a success proves a logon.
            "kahu.analytic.brute_force" => {
                (field(f, "SucceededAt").is_some() && is("TargetUserName")).then_some("logged on")
            }
            "kahu.analytic.password_spray" => None,
            _ if is("TargetUserName") => Some("logged on"),
            _ => None,
        };
    }
    let eid = f.event_id.unwrap_or(0);
    let security = is_windows_security(f);
    if is("TargetUserName") {
        let tried_only = security && FAILED_AUTHENTICATION.contains(&eid);
        let group = security && GROUP_EVENTS.contains(&eid);
        if !tried_only && !group {
            return Some(match eid {
                4720 => CREATED,
                4722..=4726 | 4738 | 4740 | 4765 | 4766 | 4767 | 4781 => "changed",
                _ => "logged on",
            });
        }
    }
    ACTING_ACCOUNT_FIELDS
        .iter()
        .any(|n| is(n))
        .then_some("acted (ran a process or made a change)")
}

/// How many different authorities (domains, hosts) qualify the forms an
/// account was seen as. A domain's NetBIOS name and its DNS name are one
/// authority when the NetBIOS name is the DNS name's first label (`PARL`
/// and `parl.example.nz`, as 4624 and 4769 write them): counting them as
/// two told responders one account was "different accounts".
fn authorities(forms: &[String]) -> usize {
    let mut keys: Vec<String> = forms
        .iter()
        .filter_map(|f| f.split_once('\\'))
        .map(|(d, _)| d.split('.').next().unwrap_or(d).to_lowercase())
        .collect();
    keys.sort();
    keys.dedup();
    keys.len()
}

fn builtin(value: &str) -> bool {
    matches!(
        normalize_account(value).as_deref().unwrap_or(""),
        "localsystem" | "system" | "local service" | "network service" | "anonymous logon" | ""
    )
}

/// Build the containment lists.
pub fn containment(
    scope: &Scope,
    findings: &[Finding],
    hashes: &FileHashes,
    policy: &Policy,
) -> Containment {
    let mut c = Containment::default();
    let mut excluded = ItemSet::default();
    hosts_and_domains(scope, findings, policy, &mut c);
    c.accounts = accounts(scope, findings, policy, &mut excluded);
    addresses(scope, findings, policy, &mut c, &mut excluded);
    let files = files(scope, findings, policy, &mut excluded);
    c.hashes = hashes_to_block(&files, findings, hashes, policy, &mut excluded);
    c.files = files;
    c.urls = urls(findings, policy);
    c.actions = actions(findings, policy);
    web_shells(scope, findings, policy, &mut c.actions);
    c.excluded = excluded.into_items();
    // Evidence decides these values: one with a line break would become
    // two entries of a list a firewall reads line by line.
    c.reject_control_characters();
    c
}

fn hosts_and_domains(scope: &Scope, findings: &[Finding], policy: &Policy, c: &mut Containment) {
    let mut hosts = ItemSet::default();
    let mut domains = DomainLists::default();
    for e in scope
        .hosts
        .iter()
        .filter(|e| e.max_level >= policy.isolate_host)
    {
        let reason = titles(behind(e, findings));
        // Hosts that recorded the evidence or acted as a source are ours to
        // isolate; a name seen only as a destination (a C2 domain in a
        // Sysmon network event) is something to block instead.
        if e.roles.iter().any(|r| *r == "recorder" || *r == "source") || !e.value.contains('.') {
            let reason = match domain_controller(e, findings) {
                Some(why) => format!(
                    "domain controller ({why}): isolating it cuts authentication for the domain — contain it with credential resets and ACL fixes, or isolate it only with a plan for authentication. {reason}"
                ),
                None => reason,
            };
            seen(&mut hosts, e, &e.value, &reason);
        } else {
            domains.add(
                &e.value.to_ascii_lowercase(),
                &reason,
                rfc(e.first_seen).as_deref(),
            );
        }
    }
    for f in findings.iter().filter(|f| f.level >= policy.block_ip) {
        // A domain an indicator names (the C2 domain of a partner's feed).
        if f.kind == FindingKind::Ioc
            && let Some(d) = field(f, "ioc").and_then(|v| v.strip_prefix("domain "))
        {
            domains.add(
                &d.trim().trim_end_matches('.').to_ascii_lowercase(),
                &format!("named by indicator: {}", f.title),
                rfc(f.timestamp).as_deref(),
            );
        }
    }
    for f in findings.iter().filter(|f| f.level >= policy.block_hash) {
        for (k, v) in &f.fields {
            if (k.eq_ignore_ascii_case("QueryName") || &**k == "query")
                && v.contains('.')
                && !v.ends_with(".local")
            {
                domains.add(
                    &v.to_ascii_lowercase(),
                    &format!("DNS query in: {}", f.title),
                    rfc(f.timestamp).as_deref(),
                );
            }
        }
    }
    c.hosts = hosts.into_items();
    c.domains = domains.block.into_items();
    c.shared_infrastructure.extend(domains.shared.into_items());
}

/// Why host `e` is a domain controller, if the evidence says it is: it
/// recorded security events only a KDC or a directory server logs (TGT and
/// service ticket requests and pre-authentication failures,
/// directory-service object access and changes, the DSRM password), or a
/// process on it worked on the live directory database.
fn domain_controller(e: &ScopeEntity, findings: &[Finding]) -> Option<&'static str> {
    const DC_EVENTS: &[u32] = &[4768, 4769, 4771, 4662, 5136, 5137, 5141, 4794];
    let here: Vec<&Finding> = behind(e, findings)
        .filter(|f| {
            f.host.as_deref().is_some_and(|h| {
                kahu_reconstruct::host_key(h) == kahu_reconstruct::host_key(&e.value)
            })
        })
        .collect();
    if here
        .iter()
        .any(|f| is_windows_security(f) && f.event_id.is_some_and(|id| DC_EVENTS.contains(&id)))
    {
        Some("it logged the domain's Kerberos or directory events")
    } else if here.iter().any(|f| runs_directory_database(f)) {
        Some(
            "a process on it worked on the live directory database, which only a domain controller has",
        )
    } else {
        None
    }
}

/// Whether the finding's process is ntdsutil making an install-from-media
/// copy of the live directory database (`ntdsutil … ifm`, or the NTDS.dit
/// it writes), which works only on a domain controller. Mordor's DC01
/// copied its NTDS.dit so and logged no Kerberos event of its own, and was
/// listed to isolate without the domain controller's caveat. The process
/// itself must be ntdsutil: a command line that only names it launches it
/// elsewhere (the demo's `sc \\PCO-DC01 create … ntdsutil … ifm` ran on
/// its web server).
fn runs_directory_database(f: &Finding) -> bool {
    let ntdsutil = ["Image", "NewProcessName"].iter().any(|name| {
        field(f, name)
            .is_some_and(|p| paths::file_name(p.trim()).eq_ignore_ascii_case("ntdsutil.exe"))
    });
    ntdsutil
        && (field(f, "CommandLine").is_some_and(|c| c.to_ascii_lowercase().contains("ifm"))
            || field(f, "TargetFilename")
                .is_some_and(|t| t.to_ascii_lowercase().ends_with("ntds.dit")))
}

/// Domains to block, and those of shared services set apart.
#[derive(Default)]
struct DomainLists {
    block: ItemSet,
    shared: ItemSet,
}

impl DomainLists {
    fn add(&mut self, name: &str, reason: &str, first: Option<&str>) {
        match shared_domain(name) {
            Some(owner) => self.shared.add(
                name,
                &format!(
                    "shared service ({owner}) — do not block the domain: it would cut the organisation off the service; block the URL or the attacker's own name under it. Seen in: {reason}"
                ),
                first,
            ),
            None => self.block.add(name, reason, first),
        }
    }
}

fn accounts(
    scope: &Scope,
    findings: &[Finding],
    policy: &Policy,
    excluded: &mut ItemSet,
) -> Vec<Item> {
    let mut out = ItemSet::default();
    for e in scope
        .accounts
        .iter()
        .filter(|e| e.max_level >= policy.reset_account)
    {
        let Some(name) = normalize_account(&e.value) else {
            continue;
        };
        // A computer-like name (`NAME$`) created as a *user* (4720; a
        // computer account is created by 4741) is a disguised user
        // account, the point of the trick: it is listed as created.
        let disguised = classify_account(&e.value) == AccountClass::Machine
            && behind(e, findings).any(|f| {
                f.level >= policy.reset_account
                    && is_windows_security(f)
                    && f.event_id == Some(4720)
                    && account_role(f, &name) == Some(CREATED)
            });
        if disguised {
            let why = titles(behind(e, findings).filter(|f| f.event_id == Some(4720)));
            seen(
                &mut out,
                e,
                &e.value,
                &format!(
                    "created as a user account (4720) with a name ending in $, so it passes for a computer account; disable and delete it rather than reset it: {why}"
                ),
            );
            continue;
        }
        if classify_account(&e.value) != AccountClass::User || builtin(&e.value) {
            excluded.add(
                &e.value,
                if classify_account(&e.value) == AccountClass::Machine {
                    "account: a computer account (NAME$); reset it by rejoining or resetting the computer object, not as a user"
                } else {
                    "account: a built-in Windows identity (SYSTEM, LOCAL SERVICE, DWM-1…), not an account to reset"
                },
                rfc(e.first_seen).as_deref(),
            );
            continue;
        }
        let proof: Vec<(&Finding, &str)> = behind(e, findings)
            .filter(|f| f.level >= policy.reset_account)
            .filter_map(|f| account_role(f, &name).map(|r| (f, r)))
            .collect();
        match proof.first() {
            Some((_, role)) => {
                let mut reason = format!("{role}: {}", titles(proof.iter().map(|(f, _)| *f)));
                // One name, several authorities: a domain's Administrator
                // and each host's local one are different accounts, and
                // "reset administrator" said which to none of them.
                if authorities(&e.seen_as) > 1 {
                    reason = format!(
                        "seen as {} — different accounts sharing this name: reset each; {reason}",
                        e.seen_as.join(", ")
                    );
                }
                seen(&mut out, e, &e.value, &reason);
            }
            None => excluded.add(
                &e.value,
                "account: named by detections but never seen authenticating or being changed (a group, or a name a tool tried)",
                rfc(e.first_seen).as_deref(),
            ),
        }
    }
    // Service accounts whose tickets were requested for offline cracking
    // (Kerberoasting) need new passwords though no logon of theirs was seen.
    for f in findings.iter().filter(|f| {
        f.level >= policy.reset_account && f.techniques.iter().any(|t| &**t == "T1558.003")
    }) {
        for (k, v) in &f.fields {
            if k.eq_ignore_ascii_case("ServiceName") {
                for name in v.split(',').map(str::trim) {
                    let lower = name.to_ascii_lowercase();
                    if !name.is_empty() && !name.ends_with('$') && lower != "krbtgt" {
                        out.add(
                            name,
                            "service ticket requested with RC4 (Kerberoasting): password crackable offline",
                            rfc(f.timestamp).as_deref(),
                        );
                    }
                }
            }
        }
    }
    out.into_items()
}

fn addresses(
    scope: &Scope,
    findings: &[Finding],
    policy: &Policy,
    c: &mut Containment,
    excluded: &mut ItemSet,
) {
    let mut block = ItemSet::default();
    let mut shared = ItemSet::default();
    let mut internal = ItemSet::default();
    for e in scope.ips.iter().filter(|e| e.max_level >= policy.block_ip) {
        let Ok(ip) = e.value.parse::<IpAddr>() else {
            continue;
        };
        let reason = titles(behind(e, findings));
        let first = rfc(e.first_seen);
        match e.class {
            EntityClass::Address(IpClass::External) => match shared_infrastructure(ip) {
                Some((owner, source)) => shared.add(
                    &e.value,
                    &format!(
                        "shared infrastructure ({owner}, per {source}) — do not block; block the domain or URL instead. Seen in: {reason}"
                    ),
                    first.as_deref(),
                ),
                None if let Some(clients) = only_forwarded(e, findings, policy) => excluded.add(
                    &e.value,
                    &format!(
                        "ip: a reverse proxy, load balancer or WAF in front of the web server (every request these detections are about came through it, from {clients}: X-Forwarded-For) — blocking it cuts off every visitor; block the clients instead. Seen in: {reason}"
                    ),
                    first.as_deref(),
                ),
                None if only_answered_dns(e, findings, policy) => excluded.add(
                    &e.value,
                    &format!(
                        "ip: only the DNS server that answered a query these detections are about (port 53) — blocking it cuts name resolution for the network; block the domain instead. Seen in: {reason}"
                    ),
                    first.as_deref(),
                ),
                None => seen(&mut block, e, &e.value, &reason),
            },
            EntityClass::Address(IpClass::Internal) => {
                if let Some(why) = internal_c2_reason(e, findings, policy) {
                    seen(&mut internal, e, &e.value, &why);
                }
            }
            _ => {}
        }
    }
    c.ips = block.into_items();
    c.shared_infrastructure.extend(shared.into_items());
    c.internal_ips = internal.into_items();
}

/// The clients an address forwarded requests for (`X-Forwarded-For` read
/// as `forwarded-client`), when every detection behind it is a web request
/// that arrived through it, and no indicator names it: it is a proxy in
/// front of the server, not the attacker.
fn only_forwarded(e: &ScopeEntity, findings: &[Finding], policy: &Policy) -> Option<String> {
    let mut clients = std::collections::BTreeSet::new();
    for f in behind(e, findings).filter(|f| f.level >= policy.block_ip) {
        if f.kind == FindingKind::Ioc
            && field(f, "ioc").and_then(|v| v.split_whitespace().nth(1)) == Some(e.value.as_str())
        {
            return None;
        }
        let client = field(f, "forwarded-client")?;
        if field(f, "c-ip") != Some(e.value.as_str()) || client == e.value {
            return None;
        }
        clients.insert(client.to_string());
    }
    let n = clients.len();
    let mut shown: Vec<String> = clients.into_iter().take(5).collect();
    if n > 5 {
        shown.push(format!("{} more", n - 5));
    }
    (!shown.is_empty()).then(|| shown.join(", "))
}

/// Whether every detection behind an address shows it only as the server
/// of a DNS exchange (a resolver asked for a name an indicator or rule is
/// about), not as a party of the activity, unless an indicator names the
/// address itself.
fn only_answered_dns(e: &ScopeEntity, findings: &[Finding], policy: &Policy) -> bool {
    let mut any = false;
    for f in behind(e, findings).filter(|f| f.level >= policy.block_ip) {
        any = true;
        if f.kind == FindingKind::Ioc
            && field(f, "ioc").and_then(|v| v.split_whitespace().nth(1)) == Some(e.value.as_str())
        {
            return false;
        }
        let server = field(f, "id.resp_h").or_else(|| field(f, "DestinationIp"));
        let port = field(f, "id.resp_p")
            .or_else(|| field(f, "DestinationPort"))
            .map(str::trim);
        if server != Some(e.value.as_str()) || port != Some("53") {
            return false;
        }
    }
    any
}

/// Techniques whose source address is where the intruder sits: guessing,
/// spraying, relaying or replaying credentials, roasting tickets, moving
/// laterally, exploiting or using a web shell on a server (a scanner's
/// refused attempts are low by then and do not count).
const AUTH_ATTACKS: &[&str] = &[
    "T1110",
    "T1557",
    "T1550",
    "T1187",
    "T1558",
    "T1021",
    "T1190",
    "T1505.003",
];

/// Fields naming where a logon or request came from.
const SOURCE_FIELDS: &[&str] = &[
    "IpAddress",
    "SourceIp",
    "ClientAddress",
    "src_ip",
    "source.ip",
    "c-ip",
    "forwarded-client",
];

/// Why an internal address looks like command and control or a pivot: a
/// detection shows a process connecting to it on a port that is not one of
/// the domain's ordinary services, or an indicator names it, or it is the
/// source of a credential attack or lateral movement (the NTLM relay of
/// PrivExchange, a Kerberos spray: before session 19 those sources were on
/// no list while the domain controllers they attacked were to be isolated).
fn internal_c2_reason(e: &ScopeEntity, findings: &[Finding], policy: &Policy) -> Option<String> {
    let behind_it = || behind(e, findings).filter(|f| f.level >= policy.block_ip);
    let attack_source = behind_it().find(|f| {
        f.techniques
            .iter()
            .any(|t| AUTH_ATTACKS.iter().any(|a| t.starts_with(a)))
            && SOURCE_FIELDS
                .iter()
                .filter_map(|k| field(f, k))
                .any(|v| v.trim() == e.value)
    });
    if let Some(f) = attack_source {
        return Some(format!(
            "internal address that was the source of {} — the intruder's foothold or own machine on the network; identify the host and investigate before blocking",
            f.title
        ));
    }
    for f in behind_it() {
        if f.kind == FindingKind::Ioc {
            // The indicator must be this address, not another one in the
            // same event.
            let named = field(f, "ioc").and_then(|v| v.split_whitespace().nth(1));
            if named == Some(e.value.as_str()) {
                return Some(format!("named by indicator: {}", f.title));
            }
            continue;
        }
        let dst = field(f, "DestinationIp").or_else(|| field(f, "id.resp_h"));
        if dst != Some(e.value.as_str()) {
            continue;
        }
        // Sysmon's `Initiated: false` is a connection the process accepted:
        // the "destination" is then the remote client and its port an
        // ephemeral one; the service port is the source port.
        let inbound = field(f, "Initiated").is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
        let port = if inbound {
            field(f, "SourcePort")
        } else {
            field(f, "DestinationPort").or_else(|| field(f, "id.resp_p"))
        }
        .and_then(|p| p.trim().parse::<u64>().ok());
        let Some(port) = port else { continue };
        if INFRASTRUCTURE_PORTS.contains(&port) {
            continue;
        }
        if inbound {
            let to = field(f, "Image")
                .map(|i| format!(" {i}"))
                .unwrap_or_default();
            let on = field(f, "SourceIp")
                .map(|ip| format!(" on {ip}"))
                .unwrap_or_default();
            return Some(format!(
                "internal address that connected in to{to}{on} port {port} ({}) — possible lateral movement source; investigate before blocking",
                f.title
            ));
        }
        let who = field(f, "Image")
            .map(|i| format!(" by {i}"))
            .unwrap_or_default();
        return Some(format!(
            "internal address contacted on port {port}{who} ({}) — possible internal command and control or pivot; investigate before blocking",
            f.title
        ));
    }
    None
}

fn files(
    scope: &Scope,
    findings: &[Finding],
    policy: &Policy,
    excluded: &mut ItemSet,
) -> Vec<Item> {
    let mut out = ItemSet::default();
    for e in &scope.files {
        let tool = e.class.is_tool();
        let strong =
            (tool && e.max_level >= policy.remove_tool) || e.max_level >= policy.remove_other_file;
        if !strong {
            continue;
        }
        let first = rfc(e.first_seen);
        if paths::looks_like_folder(&e.value) {
            excluded.add(
                &e.value,
                "file: a folder, not a file to delete (review its contents)",
                first.as_deref(),
            );
            continue;
        }
        // Written by the system (a database a service keeps) and not a
        // tool: removing it breaks Windows or destroys evidence.
        if !tool && paths::is_os_data_file(&e.value) {
            excluded.add(&e.value, "file: a database or log Windows keeps; removing it breaks the system or destroys evidence", first.as_deref());
            continue;
        }
        seen(&mut out, e, &e.value, &titles(behind(e, findings)));
    }
    out.into_items()
}

/// The file a finding's `Hashes` field describes (Sysmon: the process
/// image, the loaded module, or the created file).
fn hashed_file(f: &Finding) -> Option<&str> {
    match f.event_id {
        Some(6 | 7) => field(f, "ImageLoaded"),
        Some(15 | 23 | 26 | 29) => field(f, "TargetFilename"),
        _ => field(f, "Image").or_else(|| field(f, "NewProcessName")),
    }
}

/// Why the file at `path` is a Microsoft program, if an event about it
/// says so: a valid Microsoft signature, or a version resource naming
/// Microsoft on a file renamed from the name the resource gives (which
/// can be forged: the reason says to check).
fn microsoft_program(path: &str, findings: &[Finding]) -> Option<String> {
    findings
        .iter()
        .filter(|f| hashed_file(f).is_some_and(|p| p.eq_ignore_ascii_case(path)))
        .find_map(|f| {
            let get = |k: &str| field(f, k);
            match signer::signer(get) {
                Signer::Microsoft(by) => Some(format!(
                    "signed by Microsoft (\"{by}\", valid): blocking its hash would block a Microsoft program everywhere; remove the copy instead"
                )),
                Signer::Other(_) | Signer::Unsigned => None,
                // Unsigned or unknown, only a *renamed* Microsoft program
                // is taken at its word: the intruder's own tool claiming
                // Microsoft under its own name (the demo's dsync.exe) is
                // a forgery as often as not, and is blocked.
                Signer::Unknown => {
                    let original = get("OriginalFileName")?.trim();
                    let renamed = !original.is_empty()
                        && !paths::file_name(path).eq_ignore_ascii_case(original);
                    renamed
                        .then(|| signer::claims_microsoft(get))
                        .flatten()
                        .map(|name| format!(
                            "the file's version resource says it is {name}, renamed: if genuine (a program copied to side-load a DLL), blocking its hash blocks that program everywhere; remove the copy, and check its signature before blocking"
                        ))
                }
            }
        })
}

/// Why a file's hash must not be blocked, if it must not. What the event
/// says of the file's signer comes first: a path in a system folder does
/// not make an unsigned DLL or a vendor's vulnerable driver Windows' own,
/// and a renamed Microsoft program is still Microsoft's.
fn unblockable(path: &str, f: &Finding) -> Option<String> {
    let get = |k: &str| field(f, k);
    match signer::signer(get) {
        Signer::Microsoft(by) => {
            return Some(format!(
                "signed by Microsoft (\"{by}\", valid): blocking its hash would block a Microsoft program everywhere"
            ));
        }
        Signer::Other(_) | Signer::Unsigned => return None,
        Signer::Unknown => {}
    }
    if paths::is_os_path(path) {
        Some(
            "hash of a file in a Windows system folder: blocking it would block Windows itself"
                .into(),
        )
    } else if paths::is_windows_binary_name(path) {
        Some("hash of a copy of a Windows program: the copy's hash is Windows' own".into())
    } else if let Some(name) = signer::claims_microsoft(get) {
        Some(format!(
            "the file's version resource says it is {name}: if genuine (a program renamed or used to side-load a DLL), blocking its hash blocks that program everywhere; check its signature before blocking"
        ))
    } else if paths::is_installed_path(path) {
        Some(
            "hash of installed software under Program Files: not shown to be the intruder's".into(),
        )
    } else {
        None
    }
}

/// What the reason of a block-listed hash adds about its signer.
fn signer_note(f: &Finding) -> String {
    match signer::signer(|k| field(f, k)) {
        Signer::Other(by) => format!(
            " (signed by \"{by}\": block it in the driver or application block list by hash)"
        ),
        Signer::Unsigned => " (unsigned)".to_string(),
        Signer::Microsoft(_) | Signer::Unknown => String::new(),
    }
}

fn with_dual_use_note(path: &str, reason: String) -> String {
    if paths::is_dual_use(path) {
        format!(
            "{reason} — dual-use tool: blocking its hash also stops legitimate use; confirm first"
        )
    } else {
        reason
    }
}

fn hashes_to_block(
    files: &[Item],
    findings: &[Finding],
    hashes: &FileHashes,
    policy: &Policy,
    excluded: &mut ItemSet,
) -> Vec<Item> {
    let mut out = ItemSet::default();
    // Files the attacker wrote or ran from a staging folder, hashed where
    // Sysmon recorded them. Removing the copy is right; blocking its hash
    // is not when the events say it is a Microsoft program (genuine Word
    // renamed test.exe in Users\Public to side-load wwlib.dll).
    for file in files {
        let Some(s) = hashes.get(&file.value) else {
            continue;
        };
        if let Some(why) = microsoft_program(&file.value, findings) {
            for sha in &s.sha256 {
                excluded.add(
                    sha,
                    &format!("{why} ({})", file.value),
                    file.first_seen.as_deref(),
                );
            }
            continue;
        }
        for sha in &s.sha256 {
            let reason = format!(
                "SHA-256 of {} (a file to remove: {})",
                file.value, file.reason
            );
            out.add(
                sha,
                &with_dual_use_note(&file.value, reason),
                file.first_seen.as_deref(),
            );
        }
    }
    for f in findings.iter().filter(|f| f.level >= policy.block_hash) {
        let t = rfc(f.timestamp);
        match f.kind {
            FindingKind::Ioc => {
                if let Some(v) = field(f, "ioc")
                    && let Some(h) = v
                        .strip_prefix("sha256 ")
                        .or_else(|| v.strip_prefix("md5 "))
                        .or_else(|| v.strip_prefix("sha1 "))
                {
                    out.add(
                        &h.to_ascii_lowercase(),
                        &format!("named by indicator: {}", f.title),
                        t.as_deref(),
                    );
                }
            }
            FindingKind::Yara => {
                if let Some(h) = field(f, "sha256") {
                    let file = field(f, "file").unwrap_or("?");
                    out.add(
                        h,
                        &format!("SHA-256 of {file}, which matched {}", f.title),
                        t.as_deref(),
                    );
                }
            }
            _ => {
                let Some(h) = field(f, "Hashes").and_then(sha256_of) else {
                    continue;
                };
                let Some(path) = hashed_file(f) else { continue };
                match unblockable(path, f) {
                    Some(why) => excluded.add(&h, &format!("{why} ({path})"), t.as_deref()),
                    None => {
                        let reason = format!(
                            "SHA-256 of {path}{}, flagged by rule \"{}\"",
                            signer_note(f),
                            f.title
                        );
                        out.add(&h, &with_dual_use_note(path, reason), t.as_deref());
                    }
                }
            }
        }
    }
    // A file with the same content as a Windows program (cmd.exe copied
    // to C:\program.exe) has Windows' hash: never block it.
    let seen_windows = windows_hashes_in(findings);
    let windows_file = |sha: &str| {
        hashes
            .system_file(sha)
            .or_else(|| seen_windows.get(sha).map(String::as_str))
            .map(str::to_string)
    };
    let mut keep = Vec::new();
    for i in out.into_items() {
        match windows_file(&i.value) {
            None => keep.push(i),
            Some(file) => excluded.add(
                &i.value,
                &format!(
                    "same content as Windows' own {file}: blocking it would block Windows itself (listed for: {})",
                    i.reason
                ),
                i.first_seen.as_deref(),
            ),
        }
    }
    keep
}

/// Hashes the findings show for Windows' own files, with the file. A file
/// the event shows unsigned or signed by someone else is not Windows' own,
/// wherever it lies (the cliconfg UAC bypass plants an unsigned
/// `System32\NTWDBLIB.dll`, whose hash was then "Windows' own").
fn windows_hashes_in(findings: &[Finding]) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    for f in findings {
        if let (Some(h), Some(path)) = (field(f, "Hashes").and_then(sha256_of), hashed_file(f))
            && (paths::is_os_path(path) || paths::is_windows_binary_name(path))
            && matches!(
                signer::signer(|k| field(f, k)),
                Signer::Microsoft(_) | Signer::Unknown
            )
        {
            out.entry(h).or_insert_with(|| path.to_string());
        }
    }
    out
}

fn urls(findings: &[Finding], policy: &Policy) -> Vec<Item> {
    let mut out = ItemSet::default();
    for f in findings
        .iter()
        .filter(|f| f.level >= policy.block_hash && f.kind == FindingKind::Ioc)
    {
        // The URL the indicator names, wherever the event held it (a
        // command line, a script block, a proxy field of another name).
        if let Some(url) = field(f, "ioc")
            .and_then(|v| v.strip_prefix("url "))
            // A clipped value ends in "…": never a partial URL on a list.
            .filter(|u| !u.ends_with('…'))
        {
            out.add(
                url.trim(),
                &format!("named by indicator: {}", f.title),
                rfc(f.timestamp).as_deref(),
            );
        }
        for (k, v) in &f.fields {
            if k.to_ascii_lowercase().contains("url") {
                out.add(
                    v,
                    &format!("in the event an indicator matched: {}", f.title),
                    rfc(f.timestamp).as_deref(),
                );
            }
        }
    }
    out.into_items()
}

/// A web request the server refused or failed (HTTP 4xx/5xx): an attempt,
/// not an exploitation. A scanner's 404s and 400s made kahu call for
/// patching "the exploited application" while the real break-in in the
/// same log had no finding.
fn refused_request(f: &Finding) -> bool {
    field(f, "sc-status")
        .and_then(|s| s.trim().parse::<u16>().ok())
        .is_some_and(|s| (400..600).contains(&s))
}

/// Eradication steps the evidence calls for, each only with its evidence.
fn actions(findings: &[Finding], policy: &Policy) -> Vec<Item> {
    let mut out = ItemSet::default();
    let mut when = |techniques: &[&str], action: &str| {
        for f in findings
            .iter()
            .filter(|f| f.level >= policy.significant && !refused_request(f))
        {
            if f.techniques.iter().any(|t| techniques.contains(&&**t)) {
                out.add(action, &f.title, rfc(f.timestamp).as_deref());
            }
        }
    };
    when(
        &["T1003.003", "T1003.006", "T1558.001", "T1207"],
        "Reset the KRBTGT account password twice, with replication in between (domain credentials were exposed)",
    );
    when(
        &["T1190"],
        "Patch the exploited public-facing application before restoring service",
    );
    when(
        &["T1505.003"],
        "Review every web root for further web shells before restoring service",
    );
    out.into_items()
}

/// One action per web shell a finding shows answering: the URL path of a
/// server script used as a web shell (T1505.003) and answered 2xx/3xx.
/// The file behind it was named by no event (web logs hold URLs, not
/// paths), so files-to-remove missed it and only "review every web root"
/// was said; the responder needs the URL to find it under the site's root
/// or the deployed application.
fn web_shells(scope: &Scope, findings: &[Finding], policy: &Policy, actions: &mut Vec<Item>) {
    let mut out = ItemSet::default();
    for (i, f) in findings.iter().enumerate().filter(|(_, f)| {
        f.level >= policy.significant && f.techniques.iter().any(|t| &**t == "T1505.003")
    }) {
        let answered = field(f, "sc-status")
            .and_then(|s| s.trim().parse::<u16>().ok())
            .is_some_and(|s| (200..400).contains(&s));
        let Some(path) = field(f, "cs-uri-stem").map(str::trim) else {
            continue;
        };
        // An IIS log's host is its server address (`s-ip`); the scope
        // names the host when the evidence ties that address to one.
        let in_scope = scope
            .hosts
            .iter()
            .find(|h| h.finding_ids.contains(&i))
            .map(|h| h.value.as_str());
        let server = in_scope
            .or(f.host.as_deref())
            .or_else(|| field(f, "s-ip"))
            .map(|h| format!("on {h}"))
            .unwrap_or_else(|| format!("on the server that wrote {}", f.provenance.file));
        if answered && is_tomcat_deploy(path) {
            // The upload names no application (the WAR is in the request
            // body): the server's own list says what was deployed.
            let by = field(f, "c-ip")
                .map(|ip| format!(" from {}", ip.trim()))
                .unwrap_or_default();
            out.add(
                &format!(
                    "Undeploy what was deployed through the Tomcat manager{by} {server} unless a change record owns it: list the applications (manager/html/list, or the webapps/ folder), keep each WAR as evidence, then undeploy it"
                ),
                &f.title,
                rfc(f.timestamp).as_deref(),
            );
            continue;
        }
        if !answered || !path.starts_with('/') || !kahu_reconstruct::classify::is_web_script(path) {
            continue;
        }
        out.add(
            &format!(
                "Collect and remove the web shell answering {path} {server}: the script file this URL runs, under the site's web root or the deployed application (then look for others written at the same time)"
            ),
            &f.title,
            rfc(f.timestamp).as_deref(),
        );
    }
    actions.extend(out.into_items());
}

/// Whether `path` is the Tomcat manager's deploy: the HTML upload form,
/// the text interface (`/manager/text/deploy`) or Tomcat 6's `/manager/deploy`.
fn is_tomcat_deploy(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    [
        "/manager/html/upload",
        "/manager/text/deploy",
        "/manager/deploy",
    ]
    .iter()
    .any(|d| p == *d || p.starts_with(&format!("{d}/")) || p.starts_with(&format!("{d}?")))
}

#[cfg(test)]
mod action_tests {
    use super::*;
    use kahu_event::{Location, Provenance};
    use kahu_finding::Level;
    use std::sync::Arc;

    fn finding(technique: &str, level: Level) -> Finding {
        Finding {
            kind: FindingKind::Sigma,
            rule_id: Arc::from("r"),
            title: Arc::from("t"),
            level,
            techniques: vec![Arc::from(technique)],
            software: Vec::new(),
            groups: Vec::new(),
            timestamp: None,
            host: None,
            channel: None,
            event_id: None,
            fields: Vec::new(),
            provenance: Provenance::new(Arc::from("e.json"), Location::Line(1)),
            related: Vec::new(),
        }
    }

    /// Issue #13: "Patch the exploited public-facing application" only with
    /// initial-access evidence on a public-facing service (T1190) at a
    /// significant level, never for an intrusion that came in another way.
    #[test]
    fn patch_action_needs_significant_public_facing_exploitation() {
        let p = Policy::default();
        let patch = |fs: &[Finding]| {
            actions(fs, &p).iter().any(|i| {
                i.value
                    .starts_with("Patch the exploited public-facing application")
            })
        };
        assert!(patch(&[finding("T1190", Level::High)]));
        assert!(!patch(&[
            finding("T1059.001", Level::High),
            finding("T1078", Level::Critical),
            finding("T1566.001", Level::Critical),
        ]));
        assert!(!patch(&[finding("T1190", Level::Low)]));
        // A request the server refused is an attempt, not an exploitation.
        let status = |code: &str| {
            let mut f = finding("T1190", Level::High);
            f.fields.push((Arc::from("sc-status"), code.to_string()));
            f
        };
        assert!(!patch(&[status("404"), status("400"), status("500")]));
        assert!(patch(&[status("404"), status("200")]));
    }

    #[test]
    fn a_domains_netbios_and_dns_names_are_one_authority() {
        let forms = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            authorities(&forms(&["PARL\\adm.jwhite", "parl.example.nz\\adm.jwhite"])),
            1
        );
        assert_eq!(
            authorities(&forms(&["PARL\\Administrator", "PCO-WS001\\Administrator"])),
            2
        );
        assert_eq!(
            authorities(&forms(&[
                "ECORP\\Administrator",
                "WINLAB.LOCAL\\Administrator"
            ])),
            2
        );
    }

    /// A host of the scope holding finding 0.
    fn host(name: &str) -> kahu_reconstruct::ScopeEntity {
        kahu_reconstruct::ScopeEntity {
            value: name.into(),
            class: kahu_reconstruct::classify::EntityClass::Host,
            roles: vec!["recorder"],
            first_seen: None,
            last_seen: None,
            max_level: Level::High,
            finding_count: 1,
            finding_ids: vec![0],
            seen_as: vec![],
        }
    }

    /// Mordor's DC01 copied its directory database with `ntdsutil ifm`
    /// and logged no Kerberos event of its own: it was listed to isolate
    /// without the domain controller's caveat.
    #[test]
    fn a_host_whose_process_works_on_the_directory_database_is_a_domain_controller() {
        let ran = |on: &str, image: &str, cmd: &str| {
            let mut f = finding("T1003.003", Level::High);
            f.host = Some(on.into());
            f.fields = vec![
                ("Image".into(), image.into()),
                ("CommandLine".into(), cmd.into()),
            ];
            f
        };
        let ntdsutil = r"C:\Windows\System32\ntdsutil.exe";
        let ifm = r#"ntdsutil  "ac i ntds" "ifm" "create full C:\Windows\Temp\ntds_T1003" q q"#;
        let dc = |h: &str, f: Finding| domain_controller(&host(h), &[f]).is_some();
        assert!(dc(
            "DC01.pandalab.com",
            ran("DC01.pandalab.com", ntdsutil, ifm)
        ));
        assert!(dc("DC01", ran("DC01.pandalab.com", ntdsutil, ifm)));
        // The demo's web server launched it on the domain controller: the
        // process on the web server is sc.exe, and the web server is no
        // domain controller.
        let remote = r#"sc \\PCO-DC01 create WinSyncSvc binPath= "cmd.exe /c ntdsutil.exe "ac i ntds" ifm "create full C:\ProgramData\ifm" q q" start= demand"#;
        assert!(!dc(
            "PCO-WEB01",
            ran("PCO-WEB01", r"C:\Windows\System32\sc.exe", remote)
        ));
        // Another host's command, or ntdsutil doing something else.
        assert!(!dc("WS01", ran("DC01.pandalab.com", ntdsutil, ifm)));
        assert!(!dc("WS01", ran("WS01", ntdsutil, "ntdsutil /?")));
    }

    /// A web shell used through its URL: the responder is told which URL's
    /// script to remove (web logs name no file, so files-to-remove had
    /// nothing), only for a significant web-shell finding answered by the
    /// server, and only for a server script.
    #[test]
    fn a_web_shell_answering_its_url_is_named_for_removal() {
        let p = Policy::default();
        let shell = |path: &str, status: &str, level: Level| {
            let mut f = finding("T1505.003", level);
            f.host = Some("web01".into());
            f.fields = vec![
                ("cs-uri-stem".into(), path.into()),
                ("sc-status".into(), status.into()),
            ];
            f
        };
        let named = |fs: &[Finding]| -> Vec<String> {
            let mut items = Vec::new();
            web_shells(&Scope::default(), fs, &p, &mut items);
            items
                .into_iter()
                .filter(|i| i.value.starts_with("Collect and remove the web shell"))
                .map(|i| i.value)
                .collect()
        };
        let got = named(&[shell("/uploads/shell.php", "200", Level::High)]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("/uploads/shell.php on web01"), "{got:?}");
        // Refused, not a script, or not significant: nothing to remove.
        assert!(named(&[shell("/uploads/shell.php", "404", Level::High)]).is_empty());
        assert!(named(&[shell("/index.html", "200", Level::High)]).is_empty());
        assert!(named(&[shell("/uploads/shell.php", "200", Level::Low)]).is_empty());
        // An IIS log's finding has its server address as host: the
        // scope's host that holds it is named instead.
        let mut iis = shell("/aspnet_client/supp0rt.aspx", "200", Level::High);
        iis.host = Some("10.20.5.10".into());
        let scope = Scope {
            hosts: vec![host("PCO-WEB01.parl.example.nz")],
            ..Scope::default()
        };
        let mut items = Vec::new();
        web_shells(&scope, std::slice::from_ref(&iis), &p, &mut items);
        assert!(
            items[0]
                .value
                .contains("supp0rt.aspx on PCO-WEB01.parl.example.nz"),
            "{items:?}"
        );
        let mut items = Vec::new();
        web_shells(&Scope::default(), &[iis], &p, &mut items);
        assert!(
            items[0].value.contains("supp0rt.aspx on 10.20.5.10"),
            "{items:?}"
        );
        // Another technique on the same request is not a web shell.
        let mut other = shell("/login.php", "200", Level::High);
        other.techniques = vec![Arc::from("T1190")];
        assert!(named(&[other]).is_empty());
    }

    #[test]
    fn a_war_deployed_through_the_tomcat_manager_is_named_for_undeploying() {
        let p = Policy::default();
        let deploy = |path: &str, status: &str| {
            let mut f = finding("T1505.003", Level::Medium);
            f.fields = vec![
                ("c-ip".into(), "192.168.105.76".into()),
                ("cs-uri-stem".into(), path.into()),
                ("sc-status".into(), status.into()),
            ];
            f
        };
        let undeploy = |fs: &[Finding]| -> Vec<String> {
            let mut items = Vec::new();
            web_shells(&Scope::default(), fs, &p, &mut items);
            items
                .into_iter()
                .filter(|i| i.value.starts_with("Undeploy"))
                .map(|i| i.value)
                .collect()
        };
        // Two uploads from one address are one action.
        let got = undeploy(&[
            deploy("/manager/html/upload", "200"),
            deploy("/manager/html/upload", "200"),
        ]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].contains("Tomcat manager from 192.168.105.76 on the server that wrote e.json"),
            "{got:?}"
        );
        assert_eq!(undeploy(&[deploy("/manager/text/deploy", "200")]).len(), 1);
        // Refused, or a manager page that deploys nothing.
        assert!(undeploy(&[deploy("/manager/html/upload", "401")]).is_empty());
        assert!(undeploy(&[deploy("/manager/html/list", "200")]).is_empty());
        assert!(undeploy(&[deploy("/manager/html/uploads.jsp", "200")]).is_empty());
    }
}

#[cfg(test)]
mod shared_domain_tests {
    use super::shared_domain;

    #[test]
    fn shared_services_are_never_block_listed_but_their_customers_are() {
        // A feed line `microsoftonline.com` went onto the domain block
        // list: pushed to a resolver, it locks everyone out of Microsoft 365.
        assert_eq!(
            shared_domain("microsoftonline.com"),
            Some("Microsoft 365 sign-in")
        );
        assert!(shared_domain("LOGIN.microsoftonline.com.").is_some());
        assert!(shared_domain("azurewebsites.net").is_some());
        assert!(shared_domain("www.azurewebsites.net").is_some());
        // A customer's name on a hosting platform is the attacker's own.
        assert_eq!(shared_domain("evil-app.azurewebsites.net"), None);
        // Look-alikes are not the service.
        assert_eq!(shared_domain("microsoftonline.com.evil.example"), None);
        assert_eq!(shared_domain("notmicrosoftonline.com"), None);
        assert_eq!(shared_domain("sync.msupdate-cdn.example.com"), None);
    }
}
