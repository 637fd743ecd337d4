//! What the analyst observed in the case, in attribution terms.

use crate::KnowledgeBase;
use chrono::NaiveDate;
use kahu_finding::{Finding, FindingKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Evidence from one case. Build it from findings with
/// [`CaseEvidence::from_findings`], then add what detections cannot see
/// (exploited CVEs from patch/vuln triage, attacker infrastructure from
/// network logs, the victim's sector and country) with the `add_*`
/// methods or by setting the public fields directly. Ids are normalised on
/// the way in (upper-case ATT&CK ids and CVE ids, lower-case domains).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CaseEvidence {
    /// ATT&CK technique ids observed (`T1505.003`).
    pub techniques: BTreeSet<String>,
    /// ATT&CK software ids observed (`S0020`).
    pub software: BTreeSet<String>,
    /// Tool or malware names without an ATT&CK id (`Fast Reverse Proxy`).
    pub tools: BTreeSet<String>,
    /// Exploited vulnerabilities (`CVE-2021-44228`).
    pub cves: BTreeSet<String>,
    /// Attacker IP addresses (sources of exploitation, C2, exfiltration).
    pub ips: BTreeSet<IpAddr>,
    /// Attacker domains.
    pub domains: BTreeSet<String>,
    /// Autonomous systems of attacker infrastructure.
    pub asns: BTreeSet<u32>,
    /// Kinds of attacker infrastructure (`soho-router`, `vps`).
    pub infrastructure_kinds: BTreeSet<String>,
    /// Attacker ports of note (C2 listeners, opened firewall ports).
    pub ports: BTreeSet<u16>,
    /// Victim sectors (`government`).
    pub sectors: BTreeSet<String>,
    /// Victim countries as ISO 3166 alpha-2 codes (`NZ`).
    pub regions: BTreeSet<String>,
    /// Earliest attacker activity.
    pub first_seen: Option<NaiveDate>,
    /// Latest attacker activity.
    pub last_seen: Option<NaiveDate>,
    /// Groups named by detection rules: shown to the analyst, never scored.
    pub group_hints: BTreeSet<String>,
    /// Matched threat-intelligence indicators (`ipv4 203.0.113.77 (partner.json)`)
    /// → the groups the intelligence attributes them to (ATT&CK ids or
    /// names). Unlike rule tags these are scored: a hit on infrastructure a
    /// partner attributes to an actor is infrastructure overlap.
    pub attributed_indicators: BTreeMap<String, BTreeSet<String>>,
    /// Tags and findings left out of the evidence, each with the reason
    /// (a generic rule's software tag, a broad rule's blanket technique
    /// tags, findings below medium): shown to the analyst, never scored.
    pub discounted: Vec<String>,
    /// ATT&CK platforms the evidence could show (`Windows`, `IaaS`…), from
    /// the log sources read. The hunting checklists suggest only techniques
    /// of these platforms (no cloud technique for an on-premises case).
    /// Empty: not known, nothing is filtered.
    pub platforms: BTreeSet<String>,
}

/// The ATT&CK platforms a log of this channel can show, as the evidence
/// coverage of a run gives them (`kahu_ingest` `attack_platforms`), so a
/// findings file alone (`kahu attribute --findings`) filters the hunting
/// lists as `assess` does: no resource development (which no victim log
/// records) for a Windows case.
fn platforms_of_channel(channel: &str) -> &'static [&'static str] {
    const NETWORK: &[&str] = &["Windows", "Linux", "macOS", "Network Devices", "PRE"];
    let c = channel.trim().to_ascii_lowercase();
    if c.starts_with("microsoft-windows")
        || matches!(
            c.as_str(),
            "security" | "system" | "application" | "windows powershell" | "forwardedevents"
        )
    {
        &["Windows"]
    } else if c.starts_with("linux")
        || matches!(
            c.as_str(),
            "auth" | "syslog" | "audit" | "auditd" | "kern" | "cron"
        )
    {
        &["Linux"]
    } else if matches!(
        c.as_str(),
        "conn"
            | "dns"
            | "http"
            | "ssl"
            | "files"
            | "x509"
            | "notice"
            | "weird"
            | "smb_files"
            | "smb_mapping"
            | "dce_rpc"
            | "kerberos"
            | "ntlm"
            | "rdp"
            | "ssh"
            | "smtp"
    ) {
        NETWORK
    } else if matches!(c.as_str(), "iis" | "apache" | "nginx" | "access" | "w3c") {
        &["PRE"]
    } else {
        &[]
    }
}

impl CaseEvidence {
    /// Collect techniques, software, group hints and the activity period
    /// from detection findings (informational findings included: a
    /// technique is evidence of behaviour even when benign-looking).
    pub fn from_findings(findings: &[Finding]) -> CaseEvidence {
        Self::from_finding_refs(findings)
    }

    /// [`CaseEvidence::from_findings`] over borrowed findings (a filtered
    /// selection need not be cloned).
    pub(crate) fn from_finding_refs<'a>(
        findings: impl IntoIterator<Item = &'a Finding>,
    ) -> CaseEvidence {
        let mut ev = CaseEvidence::default();
        for f in findings {
            for t in &f.techniques {
                ev.add_technique(t);
            }
            for s in &f.software {
                ev.add_software(s);
            }
            for g in &f.groups {
                ev.group_hints.insert(g.trim().to_ascii_uppercase());
            }
            if f.kind == FindingKind::Ioc && !f.groups.is_empty() {
                let ioc = kahu_finding::field(f, "ioc").unwrap_or(&f.rule_id);
                // The feed's file name, not its path on the analyst's machine
                // (labels end up in reports shared with others).
                let label = match kahu_finding::field(f, "ioc_source") {
                    Some(src) => {
                        let name = src.rsplit(['/', '\\']).next().unwrap_or(src);
                        format!("{ioc} ({name})")
                    }
                    None => ioc.to_string(),
                };
                ev.attributed_indicators
                    .entry(label)
                    .or_default()
                    .extend(f.groups.iter().map(|g| g.trim().to_string()));
            }
            if let Some(ch) = f.channel.as_deref() {
                ev.platforms
                    .extend(platforms_of_channel(ch).iter().map(|p| p.to_string()));
            }
            if let Some(ts) = f.timestamp {
                ev.observe_date(ts.date_naive());
            }
            // A collapsed burst or a beacon runs on to its last instance:
            // the case's span is the headline's, not its first days only.
            if let Some(last) = kahu_finding::field(f, "LastSeen")
                .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
            {
                ev.observe_date(last.with_timezone(&chrono::Utc).date_naive());
            }
        }
        ev
    }

    /// Add a technique id (`t1505.003` is accepted).
    pub fn add_technique(&mut self, id: &str) {
        let id = id.trim().to_ascii_uppercase();
        if !id.is_empty() {
            self.techniques.insert(id);
        }
    }
    /// Add a software id (`S0020`).
    pub fn add_software(&mut self, id: &str) {
        let id = id.trim().to_ascii_uppercase();
        if !id.is_empty() {
            self.software.insert(id);
        }
    }
    /// Add software the analyst named: an ATT&CK software id (`S0020`,
    /// `s0020`) or a name or alias (`China Chopper`) that `kb` resolves to
    /// one; anything else is kept in [`CaseEvidence::tools`] as given
    /// (trimmed), so it is reported rather than silently dropped.
    pub fn add_software_id_or_name(&mut self, kb: &KnowledgeBase, id_or_name: &str) {
        let as_id = id_or_name.trim().to_ascii_uppercase();
        match kb.software_by_name(id_or_name) {
            // A name wins unless the text is itself a known software id.
            Some(sw) if !as_id.starts_with('S') || kb.software(&as_id).is_none() => {
                self.add_software(&sw.id)
            }
            _ if kb.software(&kb.resolve(id_or_name)).is_some() => self.add_software(id_or_name),
            _ => {
                self.tools.insert(id_or_name.trim().to_string());
            }
        }
    }
    /// Add an exploited CVE (`cve-2021-44228` is accepted).
    pub fn add_cve(&mut self, id: &str) {
        let id = id.trim().to_ascii_uppercase();
        if !id.is_empty() {
            self.cves.insert(id);
        }
    }
    /// Add an attacker domain (lower-cased, trailing dot removed).
    pub fn add_domain(&mut self, d: &str) {
        let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
        if !d.is_empty() {
            self.domains.insert(d);
        }
    }
    /// Add a victim sector (lower-cased).
    pub fn add_sector(&mut self, s: &str) {
        let s = s.trim().to_lowercase();
        if !s.is_empty() {
            self.sectors.insert(s);
        }
    }
    /// Add a victim country: an ISO code (`NZ`) or a common English name
    /// (`New Zealand`); unknown names are kept upper-cased as given.
    pub fn add_region(&mut self, r: &str) {
        let code = crate::profile::country_code(r);
        if !code.is_empty() {
            self.regions.insert(code);
        }
    }
    /// Widen the activity period to include `d`.
    pub fn observe_date(&mut self, d: NaiveDate) {
        self.first_seen = Some(self.first_seen.map_or(d, |f| f.min(d)));
        self.last_seen = Some(self.last_seen.map_or(d, |l| l.max(d)));
    }
    /// True when nothing scoreable was observed.
    pub fn is_empty(&self) -> bool {
        self.techniques.is_empty()
            && self.software.is_empty()
            && self.tools.is_empty()
            && self.cves.is_empty()
            && self.ips.is_empty()
            && self.domains.is_empty()
            && self.asns.is_empty()
            && self.infrastructure_kinds.is_empty()
            && self.attributed_indicators.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_is_taken_by_id_or_name_and_unknown_names_are_kept_as_tools() {
        let kb = KnowledgeBase::embedded();
        let mut ev = CaseEvidence::default();
        for given in [
            "s0020",
            "  China Chopper ",
            "mimikatz",
            "Fast Reverse Proxy X",
        ] {
            ev.add_software_id_or_name(kb, given);
        }
        let mimikatz = kb.software_by_name("Mimikatz").unwrap().id.clone();
        let expected: BTreeSet<String> = ["S0020".to_string(), mimikatz].into();
        assert_eq!(ev.software, expected);
        assert_eq!(
            ev.tools,
            BTreeSet::from(["Fast Reverse Proxy X".to_string()])
        );
    }
}
