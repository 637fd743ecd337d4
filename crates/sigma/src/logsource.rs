//! Which rules can apply to an event: Windows channels and event ids mapped
//! to Sigma log sources (taxonomy appendix, "Windows Folder"), and the
//! field-mapping pipelines that let `process_creation` and friends match
//! Security-log equivalents of Sysmon events.

use crate::rule::RuleLogSource;
pub use crate::transform::{Transform, transform_value};
use kahu_event::Event;

/// Windows `service` → channels, transcribed from the taxonomy appendix
/// (Service table), plus names the SigmaHQ corpus uses that the table
/// spells differently.
pub const WINDOWS_SERVICES: &[(&str, &[&str])] = &[
    ("application", &["Application"]),
    (
        "application-experience",
        &[
            "Microsoft-Windows-Application-Experience/Program-Telemetry",
            "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant",
        ],
    ),
    (
        "applocker",
        &[
            "Microsoft-Windows-AppLocker/MSI and Script",
            "Microsoft-Windows-AppLocker/EXE and DLL",
            "Microsoft-Windows-AppLocker/Packaged app-Deployment",
            "Microsoft-Windows-AppLocker/Packaged app-Execution",
        ],
    ),
    (
        "appmodel-runtime",
        &["Microsoft-Windows-AppModel-Runtime/Admin"],
    ),
    (
        "appxdeployment-server",
        &["Microsoft-Windows-AppXDeploymentServer/Operational"],
    ),
    (
        "appxpackaging-om",
        &["Microsoft-Windows-AppxPackaging/Operational"],
    ),
    (
        "bitlocker",
        &["Microsoft-Windows-BitLocker/BitLocker Management"],
    ),
    (
        "bits-client",
        &["Microsoft-Windows-Bits-Client/Operational"],
    ),
    ("capi2", &["Microsoft-Windows-CAPI2/Operational"]),
    (
        "certificateservicesclient-lifecycle-system",
        &["Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"],
    ),
    (
        "codeintegrity-operational",
        &["Microsoft-Windows-CodeIntegrity/Operational"],
    ),
    ("dhcp", &["Microsoft-Windows-DHCP-Server/Operational"]),
    (
        "diagnosis-scripted",
        &["Microsoft-Windows-Diagnosis-Scripted/Operational"],
    ),
    (
        "dns-client",
        &["Microsoft-Windows-DNS Client Events/Operational"],
    ),
    ("dns-server", &["DNS Server"]),
    (
        "dns-server-analytic",
        &["Microsoft-Windows-DNS-Server/Analytical"],
    ),
    ("dns-server-audit", &["Microsoft-Windows-DNS-Server/Audit"]),
    (
        "driver-framework",
        &["Microsoft-Windows-DriverFrameworks-UserMode/Operational"],
    ),
    (
        "firewall-as",
        &["Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"],
    ),
    ("hyper-v-worker", &["Microsoft-Windows-Hyper-V-Worker"]),
    (
        "iis-configuration",
        &["Microsoft-IIS-Configuration/Operational"],
    ),
    (
        "kernel-event-tracing",
        &["Microsoft-Windows-Kernel-EventTracing"],
    ),
    (
        "kernel-shimengine",
        &[
            "Microsoft-Windows-Kernel-ShimEngine/Operational",
            "Microsoft-Windows-Kernel-ShimEngine/Diagnostic",
        ],
    ),
    ("ldap", &["Microsoft-Windows-LDAP-Client/Debug"]),
    ("lsa-server", &["Microsoft-Windows-LSA/Operational"]),
    ("msexchange-management", &["MSExchange Management"]),
    ("ntfs", &["Microsoft-Windows-Ntfs/Operational"]),
    ("ntlm", &["Microsoft-Windows-NTLM/Operational"]),
    ("openssh", &["OpenSSH/Operational"]),
    (
        "powershell",
        &[
            "Microsoft-Windows-PowerShell/Operational",
            "PowerShellCore/Operational",
        ],
    ),
    ("powershell-classic", &["Windows PowerShell"]),
    (
        "printservice-admin",
        &["Microsoft-Windows-PrintService/Admin"],
    ),
    (
        "printservice-operational",
        &["Microsoft-Windows-PrintService/Operational"],
    ),
    ("security", &["Security"]),
    (
        "security-mitigations",
        &[
            "Microsoft-Windows-Security-Mitigations/Kernel Mode",
            "Microsoft-Windows-Security-Mitigations/User Mode",
        ],
    ),
    ("sense", &["Microsoft-Windows-SENSE/Operational"]),
    (
        "servicebus-client",
        &[
            "Microsoft-ServiceBus-Client/Operational",
            "Microsoft-ServiceBus-Client/Admin",
        ],
    ),
    (
        "microsoft-servicebus-client",
        &[
            "Microsoft-ServiceBus-Client/Operational",
            "Microsoft-ServiceBus-Client/Admin",
        ],
    ),
    ("shell-core", &["Microsoft-Windows-Shell-Core/Operational"]),
    (
        "smbclient-security",
        &["Microsoft-Windows-SmbClient/Security"],
    ),
    (
        "smbclient-connectivity",
        &["Microsoft-Windows-SmbClient/Connectivity"],
    ),
    (
        "smbserver-connectivity",
        &["Microsoft-Windows-SmbServer/Connectivity"],
    ),
    ("sysmon", &["Microsoft-Windows-Sysmon/Operational"]),
    ("system", &["System"]),
    (
        "taskscheduler",
        &["Microsoft-Windows-TaskScheduler/Operational"],
    ),
    (
        "terminalservices-localsessionmanager",
        &["Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"],
    ),
    // Not in SigmaHQ's taxonomy; kahu's rule pack names these two logs so.
    (
        "terminalservices-remoteconnectionmanager",
        &["Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"],
    ),
    ("vhdmp", &["Microsoft-Windows-VHDMP/Operational"]),
    (
        "windefend",
        &["Microsoft-Windows-Windows Defender/Operational"],
    ),
    ("wmi", &["Microsoft-Windows-WMI-Activity/Operational"]),
    ("winrm", &["Microsoft-Windows-WinRM/Operational"]),
    (
        "remotedesktopservices-rdpcorets",
        &["Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational"],
    ),
];

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

/// Sysmon event id → categories (taxonomy appendix, Windows Category table).
fn sysmon_categories(eid: u32) -> &'static [&'static str] {
    match eid {
        1 => &["process_creation"],
        2 => &["file_change"],
        3 => &["network_connection"],
        4 | 16 => &["sysmon_status"],
        5 => &["process_termination"],
        6 => &["driver_load"],
        7 => &["image_load"],
        8 => &["create_remote_thread"],
        9 => &["raw_access_thread"],
        10 => &["process_access"],
        11 => &["file_event"],
        12 => &["registry_event", "registry_add", "registry_delete"],
        13 => &["registry_event", "registry_set"],
        14 => &["registry_event", "registry_rename"],
        15 => &["create_stream_hash"],
        17 | 18 => &["pipe_created"],
        19..=21 => &["wmi_event"],
        22 => &["dns_query"],
        23 => &["file_delete"],
        24 => &["clipboard_capture"],
        25 => &["process_tampering"],
        26 => &["file_delete_detected"],
        27 => &["file_block_executable"],
        28 => &["file_block_shredding"],
        29 => &["file_executable_detected"],
        255 => &["sysmon_error"],
        _ => &[],
    }
}

/// A field-mapping pipeline: how a rule written for one log source reads
/// an event of an equivalent but differently shaped source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mapping {
    /// Field names as written in the rule (Sysmon shape, taxonomy names).
    Native,
    /// `process_creation` on Security 4688.
    Security4688,
    /// `network_connection` on Security 5156 (Windows Filtering Platform).
    Security5156,
    /// `registry_*` on Security 4657.
    Security4657,
    /// `file_access` on Security 4663.
    Security4663,
}

/// A rule field as read from an event of a given mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedField {
    /// The event's field name.
    pub name: &'static str,
    /// Value derivation.
    pub transform: Transform,
}

const fn f(name: &'static str) -> MappedField {
    MappedField {
        name,
        transform: Transform::None,
    }
}

const fn t(name: &'static str, transform: Transform) -> MappedField {
    MappedField { name, transform }
}

/// Per-mapping renames: Sigma (Sysmon) name → Security-log field. Fields not
/// listed keep their name (`CommandLine`, `EventID`…).
fn renames(m: Mapping) -> &'static [(&'static str, MappedField)] {
    match m {
        Mapping::Native => &[],
        Mapping::Security4688 => SEC4688,
        Mapping::Security5156 => SEC5156,
        Mapping::Security4657 => SEC4657,
        Mapping::Security4663 => SEC4663,
    }
}

// Process ids are hex in Security (`0x1a4`), decimal in Sysmon; numeric
// comparison already reads both.
const SEC4688: &[(&str, MappedField)] = &[
    ("Image", t("NewProcessName", Transform::DevicePath)),
    ("ParentImage", t("ParentProcessName", Transform::DevicePath)),
    ("ProcessId", f("NewProcessId")),
    ("ParentProcessId", f("ProcessId")),
    ("User", t("SubjectUserName", Transform::DomainUser)),
    (
        "IntegrityLevel",
        t("MandatoryLabel", Transform::IntegrityLabel),
    ),
    ("LogonId", t("SubjectLogonId", Transform::ProcessLogonId)),
];
// WFP names the program by its kernel path (`\device\harddiskvolume2\…`)
// and the protocol by IANA number; Sysmon uses `C:\…` and `tcp`/`udp`.
const SEC5156: &[(&str, MappedField)] = &[
    ("Image", t("Application", Transform::DevicePath)),
    ("ProcessId", f("ProcessID")),
    ("SourceIp", t("SourceAddress", Transform::IpAddress)),
    ("DestinationIp", t("DestAddress", Transform::IpAddress)),
    ("DestinationPort", f("DestPort")),
    ("Protocol", t("Protocol", Transform::IpProtocol)),
    ("Initiated", t("Direction", Transform::Direction)),
];
const SEC4657: &[(&str, MappedField)] = &[
    ("Image", t("ProcessName", Transform::DevicePath)),
    ("ProcessId", f("ProcessId")),
    ("TargetObject", t("ObjectName", Transform::RegistryPath)),
    ("Details", t("NewValue", Transform::RegistryDetails)),
];
const SEC4663: &[(&str, MappedField)] = &[
    ("Image", t("ProcessName", Transform::DevicePath)),
    ("ProcessId", f("ProcessId")),
    ("FileName", t("ObjectName", Transform::DevicePath)),
    ("TargetFilename", t("ObjectName", Transform::DevicePath)),
];

/// The event field a rule field reads under `m`.
pub fn map_field(m: Mapping, field: &str) -> Option<MappedField> {
    renames(m)
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .map(|(_, v)| *v)
}

/// Security event id → (category, mapping).
fn security_categories(eid: u32) -> &'static [(&'static str, Mapping)] {
    match eid {
        4688 => &[("process_creation", Mapping::Security4688)],
        5156 => &[("network_connection", Mapping::Security5156)],
        4657 => &[
            ("registry_event", Mapping::Security4657),
            ("registry_set", Mapping::Security4657),
        ],
        4663 => &[("file_access", Mapping::Security4663)],
        _ => &[],
    }
}

/// The log sources an event belongs to, with the mapping each needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSources {
    /// `product`, lower-case.
    pub product: Option<String>,
    /// Services, lower-case.
    pub services: Vec<String>,
    /// Categories, each with the mapping rules of that category need here.
    pub categories: Vec<(String, Mapping)>,
}

fn is_windows_event(e: &Event) -> bool {
    match &e.logsource.product {
        Some(p) => p.eq_ignore_ascii_case("windows"),
        None => e.channel.is_some(),
    }
}

/// Derive an event's log sources: the primary one from the reader's
/// [`Event::logsource`] and, for Windows, from channel and event id; then
/// one per [`Event::alt_logsources`] entry.
pub fn event_sources(e: &Event) -> Vec<EventSources> {
    let mut out = vec![primary_sources(e)];
    for l in &e.alt_logsources {
        out.push(EventSources {
            product: l.product.as_ref().map(|p| p.to_ascii_lowercase()),
            services: l.service.iter().map(|s| s.to_ascii_lowercase()).collect(),
            categories: l
                .category
                .iter()
                .map(|c| (c.to_ascii_lowercase(), Mapping::Native))
                .collect(),
        });
    }
    out
}

/// The first source that a rule's log source applies to, with its mapping.
pub fn applies_any(rule: &RuleLogSource, sources: &[EventSources]) -> Option<Mapping> {
    sources.iter().find_map(|s| applies(rule, s))
}

fn primary_sources(e: &Event) -> EventSources {
    let mut s = EventSources {
        product: e.logsource.product.as_ref().map(|p| p.to_ascii_lowercase()),
        ..Default::default()
    };
    if let Some(svc) = &e.logsource.service {
        s.services.push(svc.to_ascii_lowercase());
    }
    if let Some(cat) = &e.logsource.category {
        s.categories
            .push((cat.to_ascii_lowercase(), Mapping::Native));
    }
    if !is_windows_event(e) {
        return s;
    }
    s.product = Some("windows".into());
    let Some(channel) = e.channel.as_deref() else {
        return s;
    };
    for (svc, chans) in WINDOWS_SERVICES {
        if chans.iter().any(|c| c.eq_ignore_ascii_case(channel))
            && !s.services.iter().any(|x| x == svc)
        {
            s.services.push((*svc).to_string());
        }
    }
    let eid = e.event_id.unwrap_or(u32::MAX);
    let mut add = |c: &str, m: Mapping| {
        if !s.categories.iter().any(|(x, _)| x == c) {
            s.categories.push((c.to_string(), m));
        }
    };
    if channel.eq_ignore_ascii_case(SYSMON) {
        for c in sysmon_categories(eid) {
            add(c, Mapping::Native);
        }
    } else if channel.eq_ignore_ascii_case("Security") {
        for (c, m) in security_categories(eid) {
            add(c, *m);
        }
    } else if channel.eq_ignore_ascii_case("Microsoft-Windows-PowerShell/Operational")
        || channel.eq_ignore_ascii_case("PowerShellCore/Operational")
    {
        match eid {
            4103 => add("ps_module", Mapping::Native),
            4104 => add("ps_script", Mapping::Native),
            _ => {}
        }
    } else if channel.eq_ignore_ascii_case("Windows PowerShell") {
        match eid {
            400 => add("ps_classic_start", Mapping::Native),
            600 => add("ps_classic_provider_start", Mapping::Native),
            800 => add("ps_classic_script", Mapping::Native),
            _ => {}
        }
    }
    s
}

/// Whether a rule's log source applies to an event with these sources, and
/// under which mapping.
pub fn applies(rule: &RuleLogSource, ev: &EventSources) -> Option<Mapping> {
    if let Some(p) = &rule.product
        && ev.product.as_deref() != Some(&**p)
    {
        return None;
    }
    if let Some(svc) = &rule.service
        && !ev.services.iter().any(|s| s == &**svc)
    {
        return None;
    }
    match &rule.category {
        Some(c) => ev
            .categories
            .iter()
            .find(|(x, _)| x == &**c)
            .map(|(_, m)| *m),
        None => {
            // A rule with no constraint at all only applies where the event
            // has no log-source information either: matching every rule
            // against every event floods analysts with cross-source hits.
            if rule.product.is_none() && rule.service.is_none() {
                (ev.product.is_none() && ev.services.is_empty()).then_some(Mapping::Native)
            } else {
                Some(Mapping::Native)
            }
        }
    }
}

/// The mappings a rule may be evaluated under, so it can be compiled once per mapping.
pub fn mappings_for(rule: &RuleLogSource) -> Vec<Mapping> {
    let mut out = vec![Mapping::Native];
    let windows_ok = rule.product.as_deref().is_none_or(|p| p == "windows");
    let service_ok = rule.service.as_deref().is_none_or(|s| s == "security");
    if windows_ok
        && service_ok
        && let Some(c) = rule.category.as_deref()
    {
        for eid in [4688, 5156, 4657, 4663] {
            for (cat, m) in security_categories(eid) {
                if *cat == c && !out.contains(m) {
                    out.push(*m);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kahu_event::{Location, Provenance};

    fn win(channel: &str, eid: u32) -> Event {
        let mut e = Event::new(Provenance::new("t".into(), Location::Record(1)));
        e.channel = Some(channel.into());
        e.event_id = Some(eid);
        e
    }

    fn ls(p: Option<&str>, s: Option<&str>, c: Option<&str>) -> RuleLogSource {
        RuleLogSource {
            product: p.map(Into::into),
            service: s.map(Into::into),
            category: c.map(Into::into),
            definition: None,
        }
    }

    #[test]
    fn sysmon_and_security_process_creation() {
        let rule = ls(Some("windows"), None, Some("process_creation"));
        assert_eq!(
            applies_any(&rule, &event_sources(&win(SYSMON, 1))),
            Some(Mapping::Native)
        );
        assert_eq!(
            applies_any(&rule, &event_sources(&win("Security", 4688))),
            Some(Mapping::Security4688)
        );
        assert_eq!(applies_any(&rule, &event_sources(&win(SYSMON, 3))), None);
        assert_eq!(
            applies_any(&rule, &event_sources(&win("Security", 4624))),
            None
        );
    }

    #[test]
    fn services_map_to_channels() {
        let sec = ls(Some("windows"), Some("security"), None);
        assert!(applies_any(&sec, &event_sources(&win("Security", 4624))).is_some());
        assert!(applies_any(&sec, &event_sources(&win("System", 7045))).is_none());
        let ps = ls(Some("windows"), None, Some("ps_script"));
        assert!(
            applies_any(
                &ps,
                &event_sources(&win("Microsoft-Windows-PowerShell/Operational", 4104))
            )
            .is_some()
        );
        assert!(
            applies_any(
                &ps,
                &event_sources(&win("Microsoft-Windows-PowerShell/Operational", 4103))
            )
            .is_none()
        );
        let reg = ls(Some("windows"), None, Some("registry_set"));
        assert!(applies_any(&reg, &event_sources(&win(SYSMON, 13))).is_some());
        assert!(applies_any(&reg, &event_sources(&win(SYSMON, 12))).is_none());
        let linux = ls(Some("linux"), None, Some("process_creation"));
        assert!(applies_any(&linux, &event_sources(&win(SYSMON, 1))).is_none());
    }
}
