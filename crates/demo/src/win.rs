//! Windows event builders: Sysmon, Security, System, PowerShell and
//! firewall events with the field sets Windows actually writes, rendered
//! as the `EventData` object of the EVTX JSON form.

// Builders take the fields Windows records for the event; bundling them
// into structs would only move the argument list elsewhere.
#![allow(clippy::too_many_arguments)]

use crate::out::{Label, Out, Provider, WinRec};
use crate::rng::Rng;
use crate::time::sysmon_time;
use crate::world::{DOMAIN, Host, NETBIOS};

/// Sysmon operational channel.
pub(crate) static SYSMON: Provider = Provider {
    name: "Microsoft-Windows-Sysmon",
    guid: Some("5770385F-C22A-43E0-BF4C-06F5698FFBD9"),
    classic: None,
    channel: "Microsoft-Windows-Sysmon/Operational",
};
/// Security log.
pub(crate) static SECURITY: Provider = Provider {
    name: "Microsoft-Windows-Security-Auditing",
    guid: Some("54849625-5478-4994-A5BA-3E3B0328C30D"),
    classic: None,
    channel: "Security",
};
/// Service Control Manager in the System log (a classic provider).
pub(crate) static SCM: Provider = Provider {
    name: "Service Control Manager",
    guid: Some("555908d1-a6d7-4695-8e1e-26931d2012f4"),
    classic: Some(16384),
    channel: "System",
};
/// IIS Windows Process Activation Service in the System log.
pub(crate) static WAS: Provider = Provider {
    name: "Microsoft-Windows-WAS",
    guid: Some("524B5D04-133C-4A62-8362-64E8EDB9CE40"),
    classic: Some(32768),
    channel: "System",
};
/// PowerShell operational log.
pub(crate) static POWERSHELL: Provider = Provider {
    name: "Microsoft-Windows-PowerShell",
    guid: Some("A0C1853B-5C40-4B15-8766-3CF1C58F985A"),
    classic: None,
    channel: "Microsoft-Windows-PowerShell/Operational",
};
/// Windows Defender Firewall log.
pub(crate) static FIREWALL: Provider = Provider {
    name: "Microsoft-Windows-Windows Firewall With Advanced Security",
    guid: Some("D1BC9AFF-2ABF-4D71-9146-ECB2A986EB85"),
    classic: None,
    channel: "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
};

/// Builder of a serialised JSON object with keys in insertion order.
#[derive(Debug, Default)]
pub(crate) struct D(String);

impl D {
    /// An empty object.
    pub(crate) fn new() -> D {
        D(String::with_capacity(512))
    }
    fn key(&mut self, k: &str) {
        self.0.push(if self.0.is_empty() { '{' } else { ',' });
        self.0.push('"');
        self.0.push_str(k);
        self.0.push_str("\":");
    }
    /// A string field.
    pub(crate) fn s(mut self, k: &str, v: &str) -> D {
        self.key(k);
        // serde_json escapes exactly as JSON requires; it cannot fail for a str.
        self.0
            .push_str(&serde_json::to_string(v).unwrap_or_default());
        self
    }
    /// A numeric field.
    pub(crate) fn n(mut self, k: &str, v: u64) -> D {
        self.key(k);
        self.0.push_str(&v.to_string());
        self
    }
    /// The finished object.
    pub(crate) fn done(mut self) -> String {
        if self.0.is_empty() {
            self.0.push('{');
        }
        self.0.push('}');
        self.0
    }
}

/// A running process as Sysmon describes it.
#[derive(Debug, Clone)]
pub(crate) struct Proc {
    /// Full image path.
    pub image: String,
    /// Process id.
    pub pid: u32,
    /// Sysmon process GUID.
    pub guid: String,
    /// Command line.
    pub cmd: String,
    /// `DOMAIN\user`.
    pub user: String,
    /// Logon id of the user's session.
    pub logon_id: String,
}

impl Proc {
    /// A process that was already running before the evidence starts.
    pub(crate) fn existing(rng: &mut Rng, host: &Host, image: &str, cmd: &str, user: &str) -> Proc {
        let pid = 300 + rng.below(3000) as u32 * 4;
        Proc {
            image: image.into(),
            pid,
            guid: guid(rng, host),
            cmd: cmd.into(),
            user: user.into(),
            logon_id: logon_id_for(user, rng),
        }
    }
}

fn logon_id_for(user: &str, rng: &mut Rng) -> String {
    if user.starts_with("NT AUTHORITY\\SYSTEM") {
        "0x3e7".into()
    } else if user.starts_with("NT AUTHORITY\\NETWORK SERVICE") {
        "0x3e4".into()
    } else {
        format!("0x{:x}", 0x20000 + rng.below(0x40_0000))
    }
}

fn guid(rng: &mut Rng, host: &Host) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        host.guid_prefix,
        rng.hex(4),
        rng.hex(4),
        rng.hex(4),
        rng.hex(12)
    )
}

/// Known images with their PE metadata (`Description`, `Product`, `Company`, `OriginalFileName`).
fn pe_meta(image: &str) -> (&'static str, &'static str, &'static str, &'static str) {
    let name = image
        .rsplit('\\')
        .next()
        .unwrap_or(image)
        .to_ascii_lowercase();
    let ms = "Microsoft® Windows® Operating System";
    let msc = "Microsoft Corporation";
    match name.as_str() {
        "cmd.exe" => ("Windows Command Processor", ms, msc, "Cmd.Exe"),
        "powershell.exe" => ("Windows PowerShell", ms, msc, "PowerShell.EXE"),
        "whoami.exe" => (
            "whoami - displays logged on user information",
            ms,
            msc,
            "whoami.exe",
        ),
        "net.exe" => ("Net Command", ms, msc, "net.exe"),
        "net1.exe" => ("Net Command", ms, msc, "net1.exe"),
        "nltest.exe" => (
            "Microsoft® Logon Server Test Utility",
            ms,
            msc,
            "nltestrk.exe",
        ),
        "ipconfig.exe" => ("IP Configuration Utility", ms, msc, "ipconfig.exe"),
        "netstat.exe" => ("TCP/IP Netstat Command", ms, msc, "netstat.exe"),
        "systeminfo.exe" => ("Displays system information", ms, msc, "sysinfo.exe"),
        "tasklist.exe" => ("Lists the current running tasks", ms, msc, "tasklist.exe"),
        "rundll32.exe" => ("Windows host process (Rundll32)", ms, msc, "RUNDLL32.EXE"),
        "netsh.exe" => ("Network Command Shell", ms, msc, "netsh.exe"),
        "schtasks.exe" => ("Task Scheduler Configuration Tool", ms, msc, "schtasks.exe"),
        "sc.exe" => (
            "Service Control Manager Configuration Tool",
            ms,
            msc,
            "sc.exe",
        ),
        "certutil.exe" => ("CertUtil.exe", ms, msc, "CertUtil.exe"),
        "ntdsutil.exe" => ("NT5DS", ms, msc, "ntdsutil.exe"),
        "w3wp.exe" => (
            "IIS Worker Process",
            "Internet Information Services",
            msc,
            "w3wp.exe",
        ),
        "csc.exe" => (
            "Visual C# Command Line Compiler",
            "Microsoft® .NET Framework",
            msc,
            "csc.exe",
        ),
        "svchost.exe" => ("Host Process for Windows Services", ms, msc, "svchost.exe"),
        "7z.exe" => ("7-Zip Console", "7-Zip", "Igor Pavlov", "7z.exe"),
        "rar.exe" => ("Command line RAR", "WinRAR", "Alexander Roshal", "Rar.exe"),
        "java.exe" => (
            "OpenJDK Platform binary",
            "OpenJDK Platform 11.0.11",
            "AdoptOpenJDK",
            "java.exe",
        ),
        "chrome.exe" => ("Google Chrome", "Google Chrome", "Google LLC", "chrome.exe"),
        "msedge.exe" => ("Microsoft Edge", "Microsoft Edge", msc, "msedge.exe"),
        "outlook.exe" => ("Microsoft Outlook", "Microsoft Outlook", msc, "Outlook.exe"),
        "winword.exe" => ("Microsoft Word", "Microsoft Office", msc, "WinWord.exe"),
        "excel.exe" => ("Microsoft Excel", "Microsoft Office", msc, "Excel.exe"),
        "teams.exe" => ("Microsoft Teams", "Microsoft Teams", msc, "Teams.exe"),
        "pd64.exe" => (
            "Sysinternals process dump utility",
            "ProcDump",
            "Sysinternals - www.sysinternals.com",
            "procdump",
        ),
        "dsync.exe" => (
            "Device Sync Host",
            "Device Sync",
            "Microsoft Corporation",
            "dsync.exe",
        ),
        _ => ("-", "-", "-", "-"),
    }
}

/// Context every Windows event builder needs.
pub(crate) struct Win<'a> {
    /// The collector.
    pub out: &'a mut Out,
    /// Randomness for pids, GUIDs, ports.
    pub rng: &'a mut Rng,
}

fn integrity(user: &str) -> &'static str {
    if user.starts_with("NT AUTHORITY\\") {
        "System"
    } else if user.contains("\\adm.") || user.contains("\\svc_") || user.contains("IIS APPPOOL") {
        "High"
    } else {
        "Medium"
    }
}

fn hashes(rng: &mut Rng, image: &str) -> String {
    // Stable per image so a tool keeps its hash across hosts.
    let mut r = Rng::new(image.len() as u64).fork(image);
    let _ = rng;
    format!(
        "SHA1={},MD5={},SHA256={},IMPHASH={}",
        r.hex(40),
        r.hex(32),
        r.hex(64),
        r.hex(32)
    )
}

impl Win<'_> {
    fn emit(
        &mut self,
        host: &Host,
        t: i64,
        p: &'static Provider,
        id: u32,
        data: String,
        label: Option<Label>,
    ) {
        let (pid, tid, sid, task, keywords, level) = if std::ptr::eq(p, &SYSMON) {
            (
                host.sysmon_pid,
                host.sysmon_pid + 4 + self.rng.below(8) as u32 * 4,
                Some("S-1-5-18"),
                id as u16,
                "0x8000000000000000",
                4,
            )
        } else if std::ptr::eq(p, &SECURITY) {
            let kw = if matches!(id, 4625 | 4771 | 4776) && data.contains("\"Status\":\"0xc") {
                "0x8010000000000000"
            } else {
                "0x8020000000000000"
            };
            (
                host.lsass_pid,
                700 + self.rng.below(600) as u32 * 4,
                None,
                12544,
                kw,
                0,
            )
        } else {
            (
                4 + self.rng.below(500) as u32 * 4,
                100 + self.rng.below(2000) as u32 * 4,
                Some("S-1-5-18"),
                0,
                "0x8080000000000000",
                4,
            )
        };
        self.out.win(
            &host.name,
            t,
            WinRec {
                provider: p,
                event_id: id,
                level,
                task,
                keywords,
                pid,
                tid,
                computer: host.fqdn(),
                user_sid: sid,
                data,
            },
            label,
        );
    }

    /// Start a child process: returns it and writes Sysmon 1.
    pub(crate) fn spawn(
        &mut self,
        host: &Host,
        t: i64,
        parent: &Proc,
        image: &str,
        cmd: &str,
        user: &str,
        label: Option<Label>,
    ) -> Proc {
        let child = Proc {
            image: image.into(),
            pid: 300 + self.rng.below(5000) as u32 * 4,
            guid: guid(self.rng, host),
            cmd: cmd.into(),
            user: user.into(),
            logon_id: if user == parent.user {
                parent.logon_id.clone()
            } else {
                logon_id_for(user, self.rng)
            },
        };
        let (desc, product, company, orig) = pe_meta(image);
        let cwd = if user.starts_with("NT AUTHORITY")
            || user.contains("IIS APPPOOL")
            || user.contains("svc_")
        {
            "C:\\Windows\\system32\\".to_string()
        } else {
            format!("C:\\Users\\{}\\", user.rsplit('\\').next().unwrap_or(user))
        };
        let data = D::new()
            .s("RuleName", "-")
            .s("UtcTime", &sysmon_time(t))
            .s("ProcessGuid", &child.guid)
            .n("ProcessId", u64::from(child.pid))
            .s("Image", image)
            .s(
                "FileVersion",
                if desc == "-" {
                    "-"
                } else {
                    "10.0.17763.1 (WinBuild.160101.0800)"
                },
            )
            .s("Description", desc)
            .s("Product", product)
            .s("Company", company)
            .s("OriginalFileName", orig)
            .s("CommandLine", cmd)
            .s("CurrentDirectory", &cwd)
            .s("User", user)
            .s(
                "LogonGuid",
                &format!(
                    "{}-{}-0000-0000-000000000000",
                    host.guid_prefix,
                    self.rng.hex(4)
                ),
            )
            .s("LogonId", &child.logon_id)
            .n(
                "TerminalSessionId",
                if integrity(user) == "System" || user.contains("IIS") {
                    0
                } else {
                    1
                },
            )
            .s("IntegrityLevel", integrity(user))
            .s("Hashes", &hashes(self.rng, image))
            .s("ParentProcessGuid", &parent.guid)
            .n("ParentProcessId", u64::from(parent.pid))
            .s("ParentImage", &parent.image)
            .s("ParentCommandLine", &parent.cmd)
            .s("ParentUser", &parent.user)
            .done();
        self.emit(host, t, &SYSMON, 1, data, label);
        child
    }

    /// Sysmon 3: an outbound TCP connection.
    pub(crate) fn net(
        &mut self,
        host: &Host,
        t: i64,
        p: &Proc,
        dst_ip: &str,
        dst_port: u16,
        dst_host: &str,
        label: Option<Label>,
    ) {
        let sport = 49152 + self.rng.below(16000);
        let data = D::new()
            .s("RuleName", "-")
            .s("UtcTime", &sysmon_time(t))
            .s("ProcessGuid", &p.guid)
            .n("ProcessId", u64::from(p.pid))
            .s("Image", &p.image)
            .s("User", &p.user)
            .s("Protocol", "tcp")
            .s("Initiated", "true")
            .s("SourceIsIpv6", "false")
            .s("SourceIp", &host.ip)
            .s("SourceHostname", &host.fqdn())
            .n("SourcePort", sport)
            .s("SourcePortName", "-")
            .s("DestinationIsIpv6", "false")
            .s("DestinationIp", dst_ip)
            .s("DestinationHostname", dst_host)
            .n("DestinationPort", u64::from(dst_port))
            .s(
                "DestinationPortName",
                match dst_port {
                    443 => "https",
                    80 => "http",
                    445 => "microsoft-ds",
                    22 => "ssh",
                    _ => "-",
                },
            )
            .done();
        self.emit(host, t, &SYSMON, 3, data, label);
    }

    /// Sysmon 10: process access.
    pub(crate) fn access(
        &mut self,
        host: &Host,
        t: i64,
        src: &Proc,
        target: &Proc,
        granted: &str,
        trace: &str,
        label: Option<Label>,
    ) {
        let data = D::new()
            .s("RuleName", "-")
            .s("UtcTime", &sysmon_time(t))
            .s("SourceProcessGUID", &src.guid)
            .n("SourceProcessId", u64::from(src.pid))
            .n(
                "SourceThreadId",
                u64::from(src.pid + 4 + self.rng.below(100) as u32 * 4),
            )
            .s("SourceImage", &src.image)
            .s("TargetProcessGUID", &target.guid)
            .n("TargetProcessId", u64::from(target.pid))
            .s("TargetImage", &target.image)
            .s("GrantedAccess", granted)
            .s("CallTrace", trace)
            .s("SourceUser", &src.user)
            .s("TargetUser", &target.user)
            .done();
        self.emit(host, t, &SYSMON, 10, data, label);
    }

    /// Sysmon 11: file created.
    pub(crate) fn file(
        &mut self,
        host: &Host,
        t: i64,
        p: &Proc,
        target: &str,
        label: Option<Label>,
    ) {
        let st = sysmon_time(t);
        let data = D::new()
            .s("RuleName", "-")
            .s("UtcTime", &st)
            .s("ProcessGuid", &p.guid)
            .n("ProcessId", u64::from(p.pid))
            .s("Image", &p.image)
            .s("TargetFilename", target)
            .s("CreationUtcTime", &st)
            .s("User", &p.user)
            .done();
        self.emit(host, t, &SYSMON, 11, data, label);
    }

    /// Sysmon 22: DNS query.
    pub(crate) fn dns(
        &mut self,
        host: &Host,
        t: i64,
        p: &Proc,
        query: &str,
        answer: &str,
        label: Option<Label>,
    ) {
        let data = D::new()
            .s("RuleName", "-")
            .s("UtcTime", &sysmon_time(t))
            .s("ProcessGuid", &p.guid)
            .n("ProcessId", u64::from(p.pid))
            .s("QueryName", query)
            .s("QueryStatus", "0")
            .s("QueryResults", &format!("::ffff:{answer};"))
            .s("Image", &p.image)
            .s("User", &p.user)
            .done();
        self.emit(host, t, &SYSMON, 22, data, label);
    }

    /// Security 4624: successful logon.
    pub(crate) fn logon(
        &mut self,
        host: &Host,
        t: i64,
        user: &str,
        sid: &str,
        logon_type: u32,
        ip: &str,
        workstation: &str,
        ntlm: bool,
        label: Option<Label>,
    ) -> String {
        let lid = format!("0x{:x}", 0x100000 + self.rng.below(0x4000000));
        let (proc_name, proc_id, lp, ap) = match logon_type {
            2 | 7 | 11 => (
                "C:\\Windows\\System32\\svchost.exe",
                format!("0x{:x}", 0x300 + self.rng.below(0x800)),
                "User32 ",
                "Negotiate",
            ),
            5 => (
                "C:\\Windows\\System32\\services.exe",
                "0x2a4".to_string(),
                "Advapi  ",
                "Negotiate",
            ),
            _ => (
                "-",
                "0x0".to_string(),
                if ntlm { "NtLmSsp " } else { "Kerberos" },
                if ntlm { "NTLM" } else { "Kerberos" },
            ),
        };
        let network = logon_type == 3;
        let machine = format!("{}$", host.name);
        let data = D::new()
            .s(
                "SubjectUserSid",
                if network { "S-1-0-0" } else { "S-1-5-18" },
            )
            .s("SubjectUserName", if network { "-" } else { &machine })
            .s("SubjectDomainName", if network { "-" } else { NETBIOS })
            .s("SubjectLogonId", if network { "0x0" } else { "0x3e7" })
            .s("TargetUserSid", sid)
            .s("TargetUserName", user)
            .s(
                "TargetDomainName",
                if user.ends_with('$') || user.contains('.') || user.starts_with("svc_") {
                    NETBIOS
                } else {
                    "NT AUTHORITY"
                },
            )
            .s("TargetLogonId", &lid)
            .n("LogonType", u64::from(logon_type))
            .s("LogonProcessName", lp)
            .s("AuthenticationPackageName", ap)
            .s("WorkstationName", workstation)
            .s(
                "LogonGuid",
                &format!(
                    "{{{}-{}-{}-{}-{}}}",
                    if ntlm {
                        "00000000".into()
                    } else {
                        self.rng.hex(8)
                    },
                    self.rng.hex(4),
                    self.rng.hex(4),
                    self.rng.hex(4),
                    self.rng.hex(12)
                ),
            )
            .s("TransmittedServices", "-")
            .s(
                "LmPackageName",
                if ntlm && network { "NTLM V2" } else { "-" },
            )
            .n("KeyLength", if ntlm && network { 128 } else { 0 })
            .s("ProcessId", &proc_id)
            .s("ProcessName", proc_name)
            .s("IpAddress", ip)
            .s("IpPort", if ip == "-" { "-" } else { "0" })
            .s("ImpersonationLevel", "%%1833")
            .s("RestrictedAdminMode", "-")
            .s("TargetOutboundUserName", "-")
            .s("TargetOutboundDomainName", "-")
            .s("VirtualAccount", "%%1843")
            .s("TargetLinkedLogonId", "0x0")
            .s(
                "ElevatedToken",
                if user.starts_with("adm.") || user.ends_with('$') {
                    "%%1842"
                } else {
                    "%%1843"
                },
            )
            .done();
        self.emit(host, t, &SECURITY, 4624, data, label);
        lid
    }

    /// Security 4634: logoff.
    pub(crate) fn logoff(
        &mut self,
        host: &Host,
        t: i64,
        user: &str,
        sid: &str,
        lid: &str,
        logon_type: u32,
    ) {
        let data = D::new()
            .s("TargetUserSid", sid)
            .s("TargetUserName", user)
            .s("TargetDomainName", NETBIOS)
            .s("TargetLogonId", lid)
            .n("LogonType", u64::from(logon_type))
            .done();
        self.emit(host, t, &SECURITY, 4634, data, None);
    }

    /// Security 4672: special privileges assigned (admin logons).
    pub(crate) fn special(
        &mut self,
        host: &Host,
        t: i64,
        user: &str,
        sid: &str,
        lid: &str,
        label: Option<Label>,
    ) {
        let data = D::new()
            .s("SubjectUserSid", sid)
            .s("SubjectUserName", user)
            .s("SubjectDomainName", NETBIOS)
            .s("SubjectLogonId", lid)
            .s("PrivilegeList", "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeImpersonatePrivilege\r\n\t\t\tSeDelegateSessionUserImpersonatePrivilege")
            .done();
        self.emit(host, t, &SECURITY, 4672, data, label);
    }

    /// Security 4625: failed logon.
    pub(crate) fn logon_failed(
        &mut self,
        host: &Host,
        t: i64,
        user: &str,
        logon_type: u32,
        ip: &str,
        workstation: &str,
        status: &str,
        label: Option<Label>,
    ) {
        let data = D::new()
            .s("SubjectUserSid", "S-1-0-0")
            .s("SubjectUserName", "-")
            .s("SubjectDomainName", "-")
            .s("SubjectLogonId", "0x0")
            .s("TargetUserSid", "S-1-0-0")
            .s("TargetUserName", user)
            .s("TargetDomainName", NETBIOS)
            .s("Status", "0xc000006d")
            .s("FailureReason", "%%2313")
            .s("SubStatus", status)
            .n("LogonType", u64::from(logon_type))
            .s("LogonProcessName", "NtLmSsp ")
            .s("AuthenticationPackageName", "NTLM")
            .s("WorkstationName", workstation)
            .s("TransmittedServices", "-")
            .s("LmPackageName", "-")
            .n("KeyLength", 0)
            .s("ProcessId", "0x0")
            .s("ProcessName", "-")
            .s("IpAddress", ip)
            .s("IpPort", "0")
            .done();
        self.emit(host, t, &SECURITY, 4625, data, label);
    }

    /// Security 4768: TGT requested (on the DC).
    pub(crate) fn tgt(&mut self, dc: &Host, t: i64, user: &str, sid: &str, ip: &str) {
        let data = D::new()
            .s("TargetUserName", user)
            .s("TargetDomainName", &DOMAIN.to_ascii_uppercase())
            .s("TargetSid", sid)
            .s("ServiceName", "krbtgt")
            .s("ServiceSid", &format!("{}-502", crate::world::DOMAIN_SID))
            .s("TicketOptions", "0x40810010")
            .s("Status", "0x0")
            .s("TicketEncryptionType", "0x12")
            .s("PreAuthType", "2")
            .s("IpAddress", &format!("::ffff:{ip}"))
            .s("IpPort", &(49152 + self.rng.below(16000)).to_string())
            .s("CertIssuerName", "")
            .s("CertSerialNumber", "")
            .s("CertThumbprint", "")
            .done();
        self.emit(dc, t, &SECURITY, 4768, data, None);
    }

    /// Security 4769: service ticket requested (on the DC).
    pub(crate) fn tgs(
        &mut self,
        dc: &Host,
        t: i64,
        user: &str,
        service: &str,
        enc: &str,
        options: &str,
        ip: &str,
        label: Option<Label>,
    ) {
        let data = D::new()
            .s(
                "TargetUserName",
                &format!("{user}@{}", DOMAIN.to_ascii_uppercase()),
            )
            .s("TargetDomainName", &DOMAIN.to_ascii_uppercase())
            .s("ServiceName", service)
            .s("ServiceSid", &crate::world::World::sid_of(service))
            .s("TicketOptions", options)
            .s("TicketEncryptionType", enc)
            .s("IpAddress", &format!("::ffff:{ip}"))
            .s("IpPort", &(49152 + self.rng.below(16000)).to_string())
            .s("Status", "0x0")
            .s(
                "LogonGuid",
                &format!(
                    "{{{}-{}-{}-{}-{}}}",
                    self.rng.hex(8),
                    self.rng.hex(4),
                    self.rng.hex(4),
                    self.rng.hex(4),
                    self.rng.hex(12)
                ),
            )
            .s("TransmittedServices", "-")
            .done();
        self.emit(dc, t, &SECURITY, 4769, data, label);
    }

    /// Security 5140 / 5145: network share access.
    pub(crate) fn share(
        &mut self,
        host: &Host,
        t: i64,
        id: u32,
        user: &str,
        sid: &str,
        ip: &str,
        share: &str,
        local: &str,
        rel: &str,
        label: Option<Label>,
    ) {
        let mut d = D::new()
            .s("SubjectUserSid", sid)
            .s("SubjectUserName", user)
            .s("SubjectDomainName", NETBIOS)
            .s(
                "SubjectLogonId",
                &format!("0x{:x}", 0x100000 + self.rng.below(0x400000)),
            )
            .s("ObjectType", "File")
            .s("IpAddress", ip)
            .s("IpPort", &(49152 + self.rng.below(16000)).to_string())
            .s("ShareName", &format!("\\\\*\\{share}"))
            .s("ShareLocalPath", &format!("\\??\\{local}"));
        if id == 5145 {
            d = d
                .s("RelativeTargetName", rel)
                .s("AccessMask", "0x2")
                .s("AccessList", "%%4417\r\n\t\t\t\t")
                .s("AccessReason", "-");
        } else {
            d = d
                .s("AccessMask", "0x1")
                .s("AccessList", "%%4416\r\n\t\t\t\t");
        }
        self.emit(host, t, &SECURITY, id, d.done(), label);
    }

    /// System 7045 and Security 4697: a service was installed.
    pub(crate) fn service(
        &mut self,
        host: &Host,
        t: i64,
        name: &str,
        image_path: &str,
        account: &str,
        subject: &str,
        label: Option<Label>,
    ) {
        let data = D::new()
            .s("ServiceName", name)
            .s("ImagePath", image_path)
            .s(
                "ServiceType",
                if image_path.ends_with(".sys") {
                    "kernel mode driver"
                } else {
                    "user mode service"
                },
            )
            .s("StartType", "demand start")
            .s("AccountName", account)
            .done();
        self.emit(host, t, &SCM, 7045, data, label);
        let data = D::new()
            .s("SubjectUserSid", &crate::world::World::sid_of(subject))
            .s("SubjectUserName", subject)
            .s("SubjectDomainName", NETBIOS)
            .s(
                "SubjectLogonId",
                &format!("0x{:x}", 0x100000 + self.rng.below(0x400000)),
            )
            .s("ServiceName", name)
            .s("ServiceFileName", image_path)
            .s("ServiceType", "0x10")
            .s("ServiceStartType", "3")
            .s("ServiceAccount", account)
            .done();
        self.emit(host, t + 1000, &SECURITY, 4697, data, label);
    }

    /// System 7036: service state change.
    pub(crate) fn service_state(&mut self, host: &Host, t: i64, name: &str, state: &str) {
        let data = D::new()
            .s("param1", name)
            .s("param2", state)
            .s("Binary", "")
            .done();
        self.emit(host, t, &SCM, 7036, data, None);
    }

    /// WAS 5186 / 5074: app pool worker shut down for idle / recycled.
    pub(crate) fn was(&mut self, host: &Host, t: i64, id: u32, pool: &str, pid: u32) {
        let data = if id == 5186 {
            D::new()
                .s("ProcessID", &pid.to_string())
                .s("AppPoolID", pool)
                .s("Minutes", "20")
                .done()
        } else {
            D::new()
                .s("AppPoolID", pool)
                .s("ProcessID", &pid.to_string())
                .done()
        };
        self.emit(host, t, &WAS, id, data, None);
    }

    /// Security 4698: scheduled task created.
    pub(crate) fn task(
        &mut self,
        host: &Host,
        t: i64,
        user: &str,
        name: &str,
        command: &str,
        args: &str,
        run_as: &str,
        label: Option<Label>,
    ) {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\r\n  <RegistrationInfo>\r\n    <Author>{NETBIOS}\\{user}</Author>\r\n    <URI>{name}</URI>\r\n  </RegistrationInfo>\r\n  <Triggers>\r\n    <BootTrigger>\r\n      <Enabled>true</Enabled>\r\n    </BootTrigger>\r\n  </Triggers>\r\n  <Principals>\r\n    <Principal id=\"Author\">\r\n      <UserId>{run_as}</UserId>\r\n      <RunLevel>HighestAvailable</RunLevel>\r\n    </Principal>\r\n  </Principals>\r\n  <Actions Context=\"Author\">\r\n    <Exec>\r\n      <Command>{command}</Command>\r\n      <Arguments>{args}</Arguments>\r\n    </Exec>\r\n  </Actions>\r\n</Task>"
        );
        let data = D::new()
            .s("SubjectUserSid", &crate::world::World::sid_of(user))
            .s("SubjectUserName", user)
            .s("SubjectDomainName", NETBIOS)
            .s(
                "SubjectLogonId",
                &format!("0x{:x}", 0x100000 + self.rng.below(0x400000)),
            )
            .s("TaskName", name)
            .s("TaskContent", &xml)
            .s(
                "ClientProcessStartKey",
                &(1_000_000 + self.rng.below(9_000_000)).to_string(),
            )
            .s(
                "ClientProcessId",
                &(1000 + self.rng.below(8000)).to_string(),
            )
            .s(
                "ParentProcessId",
                &(1000 + self.rng.below(8000)).to_string(),
            )
            .s("RpcCallClientLocality", "0")
            .s("FQDN", &host.fqdn())
            .done();
        self.emit(host, t, &SECURITY, 4698, data, label);
    }

    /// PowerShell 4104: script block logged.
    pub(crate) fn script(
        &mut self,
        host: &Host,
        t: i64,
        text: &str,
        path: &str,
        label: Option<Label>,
    ) {
        let id = format!(
            "{}-{}-{}-{}-{}",
            self.rng.hex(8),
            self.rng.hex(4),
            self.rng.hex(4),
            self.rng.hex(4),
            self.rng.hex(12)
        )
        .to_ascii_lowercase();
        let data = D::new()
            .n("MessageNumber", 1)
            .n("MessageTotal", 1)
            .s("ScriptBlockText", text)
            .s("ScriptBlockId", &id)
            .s("Path", path)
            .done();
        self.emit(host, t, &POWERSHELL, 4104, data, label);
    }

    /// Firewall 2004: a rule was added.
    pub(crate) fn fw_rule(
        &mut self,
        host: &Host,
        t: i64,
        name: &str,
        app: &str,
        ports: &str,
        modifying_app: &str,
        user_sid: &str,
        label: Option<Label>,
    ) {
        let id = format!(
            "{{{}-{}-{}-{}-{}}}",
            self.rng.hex(8),
            self.rng.hex(4),
            self.rng.hex(4),
            self.rng.hex(4),
            self.rng.hex(12)
        );
        let data = D::new()
            .s("RuleId", &id)
            .s("RuleName", name)
            .s("Origin", "1")
            .s("ApplicationPath", app)
            .s("ServiceName", "")
            .s("Direction", "1")
            .s("Protocol", "6")
            .s("LocalPorts", ports)
            .s("RemotePorts", "*")
            .s("Action", "3")
            .s("Profiles", "2147483647")
            .s("LocalAddresses", "*")
            .s("RemoteAddresses", "*")
            .s("RemoteMachineAuthorizationList", "")
            .s("RemoteUserAuthorizationList", "")
            .s("EmbeddedContext", "")
            .s("Flags", "1")
            .s("Active", "1")
            .s("EdgeTraversal", "0")
            .s("LooseSourceMapped", "0")
            .s("SecurityOptions", "0")
            .s("ModifyingUser", user_sid)
            .s("ModifyingApplication", modifying_app)
            .s("SchemaVersion", "542")
            .s("RuleStatus", "65536")
            .s("LocalOnlyMapped", "0")
            .done();
        self.emit(host, t, &FIREWALL, 2004, data, label);
    }
}
