//! One identity per host. The same machine is `MKT01.pandalab.com` in
//! Sysmon's `Computer`, `mkt01` in a Linux syslog header, `\\MKT01` in a
//! 4624 `WorkstationName` and `10.0.1.5` in a Zeek connection. Counting
//! those as four hosts doubles every headline and splits incidents, so
//! reconstruction keys hosts by [`host_key`] and shows the most specific
//! name seen ([`HostNames::display`]).

use crate::classify::{classify_ip, parse_ip};
use hashbrown::HashMap;
use kahu_finding::Finding;
use std::net::IpAddr;

/// Fields whose internal address is the host a host-less record is about
/// (the originator of a Zeek connection, the source of a flow record).
const ORIGIN_IP_FIELDS: &[&str] = &["id.orig_h", "src_ip", "source.ip"];

/// The identity of a host name: an address as written (canonical form),
/// otherwise the first DNS label, lower-case, without UNC backslashes.
/// Returns `None` for placeholders (`-`, empty, `localhost`).
///
/// Short names are unique inside one Windows domain (NetBIOS), which is the
/// scope of one assessment; two forests with the same short name in one
/// case would be merged, which an analyst sees in the FQDN shown.
pub fn host_key(name: &str) -> Option<String> {
    let n = name.trim().trim_start_matches('\\').trim_end_matches('.');
    if n.is_empty() || n == "-" || n.eq_ignore_ascii_case("localhost") {
        return None;
    }
    if let Some(ip) = parse_ip(n) {
        return Some(ip.to_string());
    }
    let short = n.split('.').next().unwrap_or(n);
    (!short.is_empty()).then(|| short.to_lowercase())
}

/// Names seen for each host identity, and addresses known to belong to a
/// host.
#[derive(Debug, Clone, Default)]
pub struct HostNames {
    /// Key → the most specific name seen (longest, then smallest, so the
    /// pick does not depend on input order).
    names: HashMap<String, String>,
    /// Address → host key.
    addresses: HashMap<IpAddr, String>,
    /// The network's DNS resolvers (see [`HostNames::learn_resolver`]).
    resolvers: Vec<IpAddr>,
}

impl HostNames {
    /// Host names from findings' `host`.
    pub fn from_findings(findings: &[Finding]) -> Self {
        let mut h = HostNames::default();
        for f in findings {
            if let Some(n) = f.host.as_deref() {
                h.observe(n);
            }
        }
        h
    }

    /// Host names from findings, and the addresses the analytics learned
    /// for hosts.
    pub fn from_findings_and_addresses(
        findings: &[Finding],
        addresses: &[crate::analytics::HostAddress],
    ) -> Self {
        let mut h = HostNames::from_findings(findings);
        for a in addresses {
            h.learn_address(a.address, &a.host);
        }
        h
    }

    /// Remember a name for its host.
    pub fn observe(&mut self, name: &str) {
        let Some(key) = host_key(name) else { return };
        let name = name.trim().trim_start_matches('\\').trim_end_matches('.');
        match self.names.get_mut(&key) {
            Some(best) => {
                if (name.len(), std::cmp::Reverse(name)) > (best.len(), std::cmp::Reverse(&**best))
                {
                    *best = name.to_string();
                }
            }
            None => {
                self.names.insert(key, name.to_string());
            }
        }
    }

    /// Record that `ip` belongs to host `name` (learned, for example, from
    /// a Sysmon network event the host logged about itself).
    pub fn learn_address(&mut self, ip: IpAddr, name: &str) {
        if let Some(key) = host_key(name) {
            self.observe(name);
            self.addresses.insert(ip, key);
        }
    }

    /// Record that `ip` is a DNS resolver forwarding its clients' lookups:
    /// a lookup it sent names no host (the client that asked is not in the
    /// log). The demo's domain controller, which forwards every lookup of
    /// the network, was an incident host of its own as "10.20.1.10" for a
    /// workstation's query of the C2 domain.
    pub fn learn_resolver(&mut self, ip: IpAddr) {
        if !self.resolvers.contains(&ip) {
            self.resolvers.push(ip);
        }
    }

    /// The identity of a name or address, resolving addresses to the host
    /// known to own them.
    pub fn key(&self, name: &str) -> Option<String> {
        let key = host_key(name)?;
        if let Some(ip) = parse_ip(&key)
            && let Some(h) = self.addresses.get(&ip)
        {
            return Some(h.clone());
        }
        Some(key)
    }

    /// What to call a host identity: its most specific name.
    pub fn display(&self, key: &str) -> String {
        self.names
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }

    /// The host a finding is about: its `host`, else (for network sensor
    /// records, which have no host) the internal address that originated
    /// the traffic.
    pub fn of_finding(&self, f: &Finding) -> Option<String> {
        if let Some(k) = f.host.as_deref().and_then(|h| self.key(h)) {
            return Some(k);
        }
        ORIGIN_IP_FIELDS.iter().find_map(|name| {
            let v = kahu_finding::field(f, name)?;
            let ip = parse_ip(v)?;
            let forwarded =
                self.resolvers.contains(&ip) && kahu_finding::field(f, "query").is_some();
            (classify_ip(ip).is_internal() && !forwarded)
                .then(|| self.key(&ip.to_string()))
                .flatten()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqdn_short_and_unc_names_are_one_host() {
        assert_eq!(host_key("MKT01.pandalab.com").as_deref(), Some("mkt01"));
        assert_eq!(host_key("mkt01").as_deref(), Some("mkt01"));
        assert_eq!(host_key("\\\\MKT01").as_deref(), Some("mkt01"));
        assert_eq!(host_key("10.0.1.5").as_deref(), Some("10.0.1.5"));
        assert_eq!(host_key("-"), None);
        assert_eq!(host_key("localhost"), None);
    }

    #[test]
    fn display_prefers_the_fqdn_whatever_the_order() {
        for order in [
            ["mkt01", "MKT01.pandalab.com"],
            ["MKT01.pandalab.com", "mkt01"],
        ] {
            let mut h = HostNames::default();
            for n in order {
                h.observe(n);
            }
            assert_eq!(h.display("mkt01"), "MKT01.pandalab.com");
        }
    }

    #[test]
    fn known_addresses_resolve_to_their_host() {
        let mut h = HostNames::default();
        let ip: IpAddr = "10.0.1.5".parse().unwrap();
        h.learn_address(ip, "MKT01.pandalab.com");
        assert_eq!(h.key("10.0.1.5").as_deref(), Some("mkt01"));
        assert_eq!(h.key("10.0.1.6").as_deref(), Some("10.0.1.6"));
    }
}
