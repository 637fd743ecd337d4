//! Classification of entity values: accounts (user, machine, built-in),
//! IP addresses (internal vs external) and files (web shells, dropped
//! executables). Noise values are classified, not silently dropped, so an
//! analyst can still see that `SYSTEM` did something.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What kind of account a name denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountClass {
    /// A person or service account.
    User,
    /// A computer account (`WS01$`).
    Machine,
    /// A Windows built-in principal (`SYSTEM`, `LOCAL SERVICE`, `ANONYMOUS LOGON`,
    /// `DWM-1`, `UMFD-0`) or Linux `root`-like system identity is *not* here:
    /// root is a user an attacker wants.
    BuiltIn,
}

/// Normalise an account name for keys: strip a `DOMAIN\` prefix and an
/// `@realm` suffix, lower-case. Returns `None` for placeholders (`-`, empty).
pub fn normalize_account(raw: &str) -> Option<String> {
    let s = raw.trim().trim_matches('"');
    if s.is_empty() || s == "-" || s == "?" {
        return None;
    }
    let s = s.rsplit('\\').next().unwrap_or(s);
    let s = s.split('@').next().unwrap_or(s);
    if s.is_empty() {
        return None;
    }
    Some(s.to_lowercase())
}

/// Windows Security events about a group (created, changed, a member
/// added or removed, enumerated): their `TargetUserName` is the group
/// (`Administrators`), not an account.
pub const GROUP_EVENTS: &[u32] = &[
    4727, 4728, 4729, 4730, 4731, 4732, 4733, 4734, 4735, 4737, 4754, 4755, 4756, 4757, 4758, 4764,
    4799,
];

/// Classify an account name (as given or normalised).
pub fn classify_account(name: &str) -> AccountClass {
    let n = normalize_account(name).unwrap_or_default();
    // A computer account is NAME$; a bare `$` names no computer (it is a
    // user created to look like one: DE_Fake_ComputerAccount_4720).
    if n.len() > 1 && n.ends_with('$') {
        return AccountClass::Machine;
    }
    const BUILTIN: &[&str] = &[
        "system",
        "local service",
        "network service",
        "localservice",
        "networkservice",
        "anonymous logon",
        "anonymous",
        "nt authority",
        "local system",
        "localsystem",
        "iusr",
        "defaultapppool",
    ];
    if BUILTIN.contains(&n.as_str())
        || n.starts_with("dwm-")
        || n.starts_with("umfd-")
        || n.starts_with("font driver host")
        || n.starts_with("window manager")
    {
        return AccountClass::BuiltIn;
    }
    AccountClass::User
}

/// Where an IP address sits relative to the assessed network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpClass {
    /// RFC 1918, RFC 6598 shared space, IPv6 unique-local: inside the network.
    Internal,
    /// Publicly routable: outside.
    External,
    /// 127.0.0.0/8, `::1`: the host itself (noise for lateral movement).
    Loopback,
    /// 169.254.0.0/16, fe80::/10.
    LinkLocal,
    /// 0.0.0.0, `::`, multicast, broadcast and other non-host addresses.
    Special,
}

impl IpClass {
    /// Whether the address is a real host inside the network.
    pub fn is_internal(self) -> bool {
        matches!(self, IpClass::Internal | IpClass::LinkLocal)
    }
}

/// Parse an IP as found in logs: `::ffff:10.0.0.1` (IPv4-mapped, common in
/// 4624/4768), `[fe80::1]`, with or without a `%zone`. Ports are not
/// stripped (an IPv6 address has colons too); readers give ports separately.
pub fn parse_ip(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_start_matches('[').trim_end_matches(']');
    let s = s.split('%').next().unwrap_or(s);
    let ip: IpAddr = s.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    })
}

/// Classify an address.
pub fn classify_ip(ip: IpAddr) -> IpClass {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                IpClass::Loopback
            } else if v4.is_link_local() {
                IpClass::LinkLocal
            } else if v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast() || o[0] == 0 {
                IpClass::Special
            } else if v4.is_private() || (o[0] == 100 && (o[1] & 0xC0) == 64) {
                IpClass::Internal
            } else {
                IpClass::External
            }
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if v6.is_loopback() {
                IpClass::Loopback
            } else if v6.is_unspecified() || v6.is_multicast() {
                IpClass::Special
            } else if seg[0] & 0xffc0 == 0xfe80 {
                IpClass::LinkLocal
            } else if seg[0] & 0xfe00 == 0xfc00 {
                IpClass::Internal
            } else {
                IpClass::External
            }
        }
    }
}

/// What a file written during the intrusion probably is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileClass {
    /// A server-side script under a web root, or one written by a web server process.
    WebShell,
    /// A PE or other directly executable binary (`.exe`, `.dll`, `.sys`, `.scr`…).
    Executable,
    /// A script an interpreter runs (`.ps1`, `.bat`, `.vbs`, `.hta`, `.sh`…).
    Script,
    /// Anything else a finding names.
    Other,
}

const WEB_ROOTS: &[&str] = &[
    "\\inetpub\\",
    "\\wwwroot\\",
    "/htdocs/",
    "\\htdocs\\",
    "/var/www/",
    "/webapps/",
    "\\webapps\\",
    "/usr/share/nginx/",
    "\\exchange server\\v15\\frontend\\",
    "\\owa\\auth\\",
];
const WEB_SCRIPT_EXT: &[&str] = &[
    ".aspx", ".asp", ".ashx", ".asmx", ".asax", ".cshtml", ".php", ".php5", ".phtml", ".jsp",
    ".jspx", ".cfm", ".war", ".pl", ".cgi",
];
const WEB_SERVERS: &[&str] = &[
    "w3wp.exe",
    "httpd",
    "httpd.exe",
    "java",
    "java.exe",
    "javaw.exe",
    "nginx",
    "nginx.exe",
    "php-cgi.exe",
    "php-fpm",
    "tomcat",
    "tomcat9.exe",
    "apache2",
    "umworkerprocess.exe",
    "sqlservr.exe",
];
const EXEC_EXT: &[&str] = &[
    ".exe", ".dll", ".sys", ".scr", ".com", ".cpl", ".ocx", ".msi", ".so", ".elf",
];
const SCRIPT_EXT: &[&str] = &[
    ".ps1", ".psm1", ".bat", ".cmd", ".vbs", ".vbe", ".js", ".jse", ".wsf", ".hta", ".sh", ".py",
];

/// Folders nothing installed runs from, where intruders stage their tools:
/// a temporary or world-writable folder, or the root of ProgramData.
const STAGING: &[&str] = &[
    "\\users\\public\\",
    "\\appdata\\local\\temp\\",
    "\\windows\\temp\\",
    "\\perflogs\\",
    "\\$recycle.bin\\",
    "/tmp/",
    "/var/tmp/",
    "/dev/shm/",
];

/// `true` for a path in a staging folder (see [`STAGING`]), or directly
/// in `C:\ProgramData\` (installed software keeps a folder of its own
/// there), or under a hidden folder (`/tmp/.ICE-unix/kworker`,
/// `/home/x/.cache/.x/miner`) on Linux.
pub fn is_staging_path(path: &str) -> bool {
    let p = path.to_lowercase();
    if STAGING.iter().any(|s| p.contains(s)) {
        return true;
    }
    if let Some(rest) = p.strip_prefix("c:\\programdata\\") {
        return !rest.contains('\\');
    }
    p.starts_with('/')
        && p.split('/')
            .rev()
            .skip(1)
            .any(|d| d.len() > 1 && d.starts_with('.'))
}

/// Whether `path` (a file or a URL path) ends like a script a web server
/// runs on request (`.aspx`, `.php`, `.jsp`, `.cgi`…).
pub fn is_web_script(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    WEB_SCRIPT_EXT.iter().any(|e| p.ends_with(e))
}

/// Classify a file path, optionally knowing the image that wrote it.
pub fn classify_file(path: &str, writer_image: Option<&str>) -> FileClass {
    let p = path.to_lowercase();
    let ext_in = |list: &[&str]| list.iter().any(|e| p.ends_with(e));
    let writer = writer_image.map(|w| {
        let w = w.to_lowercase();
        w.rsplit(['\\', '/']).next().unwrap_or(&w).to_string()
    });
    let by_web_server = writer.as_deref().is_some_and(|w| WEB_SERVERS.contains(&w));
    let under_web_root = WEB_ROOTS.iter().any(|r| p.contains(r));
    if ext_in(WEB_SCRIPT_EXT) && (under_web_root || by_web_server) {
        return FileClass::WebShell;
    }
    if ext_in(EXEC_EXT) {
        return FileClass::Executable;
    }
    if ext_in(SCRIPT_EXT) {
        return FileClass::Script;
    }
    FileClass::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts() {
        assert_eq!(normalize_account("CORP\\Alice").as_deref(), Some("alice"));
        assert_eq!(normalize_account("bob@CORP.LOCAL").as_deref(), Some("bob"));
        assert_eq!(normalize_account("-"), None);
        assert_eq!(classify_account("WS01$"), AccountClass::Machine);
        // A bare `$` is a user dressed as a computer, not a computer.
        assert_eq!(classify_account("$"), AccountClass::User);
        assert_eq!(classify_account("CORP\\$"), AccountClass::User);
        assert_eq!(
            classify_account("NT AUTHORITY\\SYSTEM"),
            AccountClass::BuiltIn
        );
        assert_eq!(classify_account("DWM-3"), AccountClass::BuiltIn);
        assert_eq!(classify_account("ANONYMOUS LOGON"), AccountClass::BuiltIn);
        assert_eq!(classify_account("administrator"), AccountClass::User);
        assert_eq!(classify_account("root"), AccountClass::User);
    }

    #[test]
    fn ips() {
        let c = |s: &str| classify_ip(parse_ip(s).unwrap());
        assert_eq!(c("10.1.2.3"), IpClass::Internal);
        assert_eq!(c("172.16.0.1"), IpClass::Internal);
        assert_eq!(c("172.32.0.1"), IpClass::External);
        assert_eq!(c("192.168.56.10"), IpClass::Internal);
        assert_eq!(c("100.64.0.1"), IpClass::Internal);
        assert_eq!(c("::ffff:10.0.0.5"), IpClass::Internal);
        assert_eq!(c("127.0.0.1"), IpClass::Loopback);
        assert_eq!(c("::1"), IpClass::Loopback);
        assert_eq!(c("169.254.3.4"), IpClass::LinkLocal);
        assert_eq!(c("[fe80::1%12]"), IpClass::LinkLocal);
        assert_eq!(c("fd00::1"), IpClass::Internal);
        assert_eq!(c("8.8.8.8"), IpClass::External);
        assert_eq!(c("2001:4860::8888"), IpClass::External);
        assert_eq!(c("0.0.0.0"), IpClass::Special);
        assert_eq!(c("255.255.255.255"), IpClass::Special);
        assert!(parse_ip("-").is_none());
        assert!(parse_ip("WS01").is_none());
    }

    #[test]
    fn files() {
        assert_eq!(
            classify_file("C:\\inetpub\\wwwroot\\aspnet_client\\x.aspx", None),
            FileClass::WebShell
        );
        assert_eq!(
            classify_file("/var/www/html/up.php", None),
            FileClass::WebShell
        );
        assert_eq!(
            classify_file(
                "C:\\temp\\x.jsp",
                Some("C:\\Program Files\\Java\\bin\\java.exe")
            ),
            FileClass::WebShell
        );
        assert_eq!(
            classify_file("C:\\temp\\x.aspx", Some("C:\\Windows\\explorer.exe")),
            FileClass::Other
        );
        assert_eq!(
            classify_file("C:\\Users\\Public\\beacon.EXE", None),
            FileClass::Executable
        );
        assert_eq!(
            classify_file("C:\\ProgramData\\a.ps1", None),
            FileClass::Script
        );
        assert_eq!(classify_file("C:\\notes.txt", None), FileClass::Other);
    }

    #[test]
    fn staging() {
        for p in [
            "C:\\Users\\Public\\beacon.exe",
            "C:\\Users\\bob\\AppData\\Local\\Temp\\x.exe",
            "C:\\ProgramData\\svc.exe",
            "/tmp/.ICE-unix/kworker",
            "/dev/shm/x",
            "/home/deploy/.cache/.x/miner",
        ] {
            assert!(is_staging_path(p), "{p}");
        }
        for p in [
            "C:\\ProgramData\\Microsoft\\Windows Defender\\MsMpEng.exe",
            "C:\\Windows\\System32\\cmd.exe",
            "/usr/bin/bash",
            "/home/deploy/bin/tool",
            // A dot file itself is not a folder it hides in.
            "/home/deploy/.bashrc",
        ] {
            assert!(!is_staging_path(p), "{p}");
        }
    }
}

impl AccountClass {
    /// The name used in outputs (`user`, `machine`, `built_in`).
    pub fn as_str(self) -> &'static str {
        match self {
            AccountClass::User => "user",
            AccountClass::Machine => "machine",
            AccountClass::BuiltIn => "built_in",
        }
    }
}

impl IpClass {
    /// The name used in outputs (`internal`, `external`…).
    pub fn as_str(self) -> &'static str {
        match self {
            IpClass::Internal => "internal",
            IpClass::External => "external",
            IpClass::Loopback => "loopback",
            IpClass::LinkLocal => "link_local",
            IpClass::Special => "special",
        }
    }
}

impl FileClass {
    /// The name used in outputs (`web_shell`, `executable`…).
    pub fn as_str(self) -> &'static str {
        match self {
            FileClass::WebShell => "web_shell",
            FileClass::Executable => "executable",
            FileClass::Script => "script",
            FileClass::Other => "other",
        }
    }
}

/// What kind of thing a scope entity is, typed; serialised as the same
/// names outputs always used (`host`, `user`, `external`, `web_shell`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityClass {
    /// A host.
    Host,
    /// An account of this kind.
    Account(AccountClass),
    /// An address of this kind.
    Address(IpClass),
    /// A written file of this kind.
    File(FileClass),
}

impl EntityClass {
    /// The name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityClass::Host => "host",
            EntityClass::Account(a) => a.as_str(),
            EntityClass::Address(i) => i.as_str(),
            EntityClass::File(f) => f.as_str(),
        }
    }

    /// `true` for an attacker tool kind of file (web shell, executable, script).
    pub fn is_tool(self) -> bool {
        matches!(
            self,
            EntityClass::File(FileClass::WebShell | FileClass::Executable | FileClass::Script)
        )
    }
}

impl std::fmt::Display for EntityClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EntityClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for EntityClass {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
