//! Ordinary activity of the organisation: logons, office work, admin work,
//! backups, patching, public web traffic, cron, DNS. It deliberately
//! contains near-misses of the attacker's behaviour (admins enumerating
//! groups with PowerShell, ASP.NET compiling with csc.exe under w3wp, web
//! deployments writing .aspx files, Defender opening LSASS, backups
//! creating archives, RC4 tickets for a legacy NAS computer account,
//! mistyped passwords) so that precision is meaningful.

use crate::out::Out;
use crate::rng::Rng;
use crate::story::{auth_file, iis_line, zeek_conn};
use crate::time::{DAY, HOUR, MIN, SEC, hour_weekday, iis_date, syslog_time};
use crate::win::{Proc, Win};
use crate::world::{ADMIN_WS, DC, DOMAIN, FS, Host, NETBIOS, Role, WEB, World};
use crate::zeek::{DNS, HTTP, dns_line, http_line};

/// Sizes of the background.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    /// Public web sessions per weekday.
    pub web_sessions: u32,
}

const SYSTEM: &str = "NT AUTHORITY\\SYSTEM";
const UAS: &[&str] = &[
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/93.0.4577.63+Safari/537.36",
    "Mozilla/5.0+(Macintosh;+Intel+Mac+OS+X+10_15_7)+AppleWebKit/605.1.15+(KHTML,+like+Gecko)+Version/14.1.2+Safari/605.1.15",
    "Mozilla/5.0+(iPhone;+CPU+iPhone+OS+14_7_1+like+Mac+OS+X)+AppleWebKit/605.1.15+(KHTML,+like+Gecko)+Version/14.1.2+Mobile/15E148+Safari/604.1",
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64;+rv:92.0)+Gecko/20100101+Firefox/92.0",
    "Mozilla/5.0+(Linux;+Android+11;+SM-G991B)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/93.0.4577.62+Mobile+Safari/537.36",
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/93.0.4577.63+Safari/537.36+Edg/93.0.961.47",
];
const BOTS: &[&str] = &[
    "Mozilla/5.0+(compatible;+Googlebot/2.1;++http://www.google.com/bot.html)",
    "Mozilla/5.0+(compatible;+bingbot/2.0;++http://www.bing.com/bingbot.htm)",
];
const PAGES: &[&str] = &[
    "/",
    "/en/",
    "/en/bills/",
    "/en/hansard/",
    "/en/mps/",
    "/en/visit/",
    "/en/get-involved/submissions/",
    "/en/news/",
    "/en/bills/bill/2021/59",
    "/en/bills/bill/2021/61",
    "/en/bills/bill/2021/64",
    "/en/hansard/2021/09/08",
    "/en/news/select-committee-report-released",
    "/en/mps/list/",
    "/en/visit/tours/",
    "/en/search",
];
const SEARCHES: &[&str] = &[
    "q=covid+response+bill",
    "q=select+committee",
    "q=hansard+question+time",
    "q=petition",
    "q=java+runtime+class+library+licence",
    "q=budget+2021",
    "q=submissions+close",
    "q=whoami+select+committee",
    "q=cmd+line+interface+petition",
];
const ASSETS: &[(&str, &str)] = &[
    ("/static/css/site.min.css", "v=3.2.1"),
    ("/static/js/app.min.js", "v=3.2.1"),
    ("/static/img/logo.svg", ""),
    ("/static/img/crest.png", ""),
    ("/favicon.ico", ""),
    ("/static/fonts/inter.woff2", ""),
];
const WIKI: &[&str] = &[
    "/wiki/display/LEG/Drafting+Guidelines",
    "/wiki/display/LEG/Style+Manual",
    "/wiki/display/IT/Service+Desk",
    "/wiki/rest/api/content/98412",
    "/wiki/rest/mywork/latest/status/notification/count",
    "/wiki/dashboard.action",
    "/wiki/dosearchsite.action",
    "/wiki/pages/createpage-entervariables.action",
    "/wiki/display/HR/Leave+Policy",
];
const PUBLIC_DST: &[(&str, &str)] = &[
    ("142.250.71.78", "www.google.com"),
    ("52.97.186.114", "outlook.office365.com"),
    ("13.107.42.14", "teams.microsoft.com"),
    ("104.18.32.47", "www.stuff.co.nz"),
    ("151.101.2.133", "www.nzherald.co.nz"),
    ("20.190.151.7", "login.microsoftonline.com"),
    ("13.107.6.158", "www.office.com"),
    ("23.45.108.90", "www.govt.nz"),
    ("52.114.128.43", "config.teams.microsoft.com"),
];

/// Generate the background for `days` days starting at local midnight `start` (UTC micros).
pub(crate) fn generate(
    out: &mut Out,
    rng: &mut Rng,
    world: &World,
    start: i64,
    days: i64,
    scale: Scale,
) {
    let mut w = Win { out, rng };
    let hosts = &world.hosts;
    let procs = HostProcs::start(&mut w, hosts);
    let web = &hosts[WEB];
    let mut w3wp = Proc::existing(
        w.rng,
        web,
        "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
        "c:\\windows\\system32\\inetsrv\\w3wp.exe -ap \"PCOPublic\" -v \"v4.0\" -l \"webengine4.dll\" -a \\\\.\\pipe\\iisipm5c3c1e24-1b39-4a8a-9b3c-2d3b1f0f6c1a -h \"C:\\inetpub\\temp\\apppools\\PCOPublic\\PCOPublic.config\" -w \"\" -m 0",
        SYSTEM,
    );
    let mut admin_typos = 0;
    let mut admin_c_share = 0;

    for d in 0..days {
        let day = start + d * DAY;
        let (_, wd) = hour_weekday(day + 12 * HOUR);
        let workday = wd < 5;

        // --- users ---
        if workday {
            for u in &world.users {
                if !w.rng.chance(0.92) {
                    continue;
                }
                user_day(&mut w, world, u, day);
            }
        }

        // --- admins ---
        if workday {
            for u in world.users.iter().filter(|u| u.admin) {
                admin_day(&mut w, world, u, day, &mut admin_typos, &mut admin_c_share);
            }
        }

        servers_day(&mut w, hosts, &procs, &mut w3wp, day, d);

        // Patch night (Wednesday after Patch Tuesday, local): driver and service installs, firewall rules for updated apps.
        if d % 7 == 0 && d > 0 {
            patch_night(&mut w, hosts, &procs, day);
        }

        public_web_day(&mut w, web, day, workday, scale);
        linux_day(&mut w, world, day, workday, d);
        // Plain HTTP from the network: Windows Update and CRL fetches.
        update_downloads(&mut w, hosts, day);
    }
}

/// The long-running processes of every host, in `World::hosts` order.
struct HostProcs {
    services: Vec<Proc>,
    svchost: Vec<Proc>,
    lsass: Vec<Proc>,
    defender: Vec<Proc>,
}

impl HostProcs {
    /// Draws from the generator in a fixed order (the demo is
    /// byte-for-byte reproducible from its seed).
    fn start(w: &mut Win, hosts: &[Host]) -> HostProcs {
        let services: Vec<Proc> = hosts
            .iter()
            .map(|h| {
                Proc::existing(
                    w.rng,
                    h,
                    "C:\\Windows\\System32\\services.exe",
                    "C:\\Windows\\system32\\services.exe",
                    SYSTEM,
                )
            })
            .collect();
        let svchost: Vec<Proc> = hosts
            .iter()
            .map(|h| {
                Proc::existing(
                    w.rng,
                    h,
                    "C:\\Windows\\System32\\svchost.exe",
                    "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
                    SYSTEM,
                )
            })
            .collect();
        let lsass: Vec<Proc> = hosts
            .iter()
            .map(|h| Proc {
                pid: h.lsass_pid,
                ..Proc::existing(
                    w.rng,
                    h,
                    "C:\\Windows\\system32\\lsass.exe",
                    "C:\\Windows\\system32\\lsass.exe",
                    SYSTEM,
                )
            })
            .collect();
        let defender: Vec<Proc> = hosts.iter().map(|h| Proc::existing(w.rng, h, "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.2108.7-0\\MsMpEng.exe", "\"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.2108.7-0\\MsMpEng.exe\"", SYSTEM)).collect();
        HostProcs {
            services,
            svchost,
            lsass,
            defender,
        }
    }
}

/// Server routine of one day: Defender and svchost opening LSASS, service
/// state changes, and each role's own work (web, backups, domain controller).
fn servers_day(w: &mut Win, hosts: &[Host], procs: &HostProcs, w3wp: &mut Proc, day: i64, d: i64) {
    for (i, h) in hosts.iter().enumerate() {
        if h.role == Role::Workstation || h.role == Role::AdminWorkstation {
            if w.rng.chance(0.15) {
                let t = day + w.rng.range(9, 17) * HOUR + w.rng.below(3600) as i64 * SEC;
                w.access(h, t, &procs.defender[i], &procs.lsass[i], "0x1fffff", "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.2108.7-0\\mpengine.dll+4ff41b", None);
            }
            continue;
        }
        for _ in 0..w.rng.range(1, 3) {
            let t = day + w.rng.below(DAY as u64 / SEC as u64) as i64 * SEC;
            let (src, access) = if w.rng.chance(0.5) {
                (&procs.defender[i], "0x1fffff")
            } else {
                (&procs.svchost[i], "0x1000")
            };
            w.access(h, t, src, &procs.lsass[i], access, "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|C:\\Windows\\system32\\lsasrv.dll+1a2b3", None);
        }
        for _ in 0..w.rng.range(2, 5) {
            let t = day + w.rng.below(86_400) as i64 * SEC;
            let on = w.rng.chance(0.5);
            let svc = if w.rng.chance(0.5) {
                "Windows Update"
            } else {
                "Background Intelligent Transfer Service"
            };
            w.service_state(h, t, svc, if on { "running" } else { "stopped" });
        }
        match h.role {
            Role::Web => *w3wp = web_server_day(w, h, day, w3wp, &procs.svchost[i], d),
            Role::FileServer => nightly_backup(w, h, day, &procs.svchost[i]),
            Role::Dc => dc_routine(w, hosts, h, day),
            _ => {}
        }
    }
}

/// The file server's nightly 7-Zip backup of the shares.
fn nightly_backup(w: &mut Win, h: &Host, day: i64, svchost: &Proc) {
    let t = day + 2 * HOUR + w.rng.below(600) as i64 * SEC;
    let lid = w.logon(
        h,
        t,
        "svc_backup",
        &World::sid_of("svc_backup"),
        4,
        "-",
        "-",
        false,
        None,
    );
    let date = &iis_date(t);
    let cmd = format!(
        "\"C:\\Program Files\\7-Zip\\7z.exe\" a -t7z -mx1 E:\\Backup\\Shares-20{date}.7z D:\\Shares\\"
    );
    let bproc = Proc {
        user: format!("{NETBIOS}\\svc_backup"),
        ..svchost.clone()
    };
    let p = w.spawn(
        h,
        t + SEC,
        &bproc,
        "C:\\Program Files\\7-Zip\\7z.exe",
        &cmd,
        &format!("{NETBIOS}\\svc_backup"),
        None,
    );
    w.file(
        h,
        t + 40 * MIN,
        &p,
        &format!("E:\\Backup\\Shares-20{date}.7z"),
        None,
    );
    w.logoff(
        h,
        t + 41 * MIN,
        "svc_backup",
        &World::sid_of("svc_backup"),
        &lid,
        4,
    );
}

/// The domain controller's routine: RC4 tickets for the legacy NAS and
/// computer-account logons from every workstation.
fn dc_routine(w: &mut Win, hosts: &[Host], h: &Host, day: i64) {
    for k in 0..2 {
        let t = day + (3 + 10 * k) * HOUR + w.rng.below(3600) as i64 * SEC;
        w.tgs(
            h,
            t,
            "PS-NAS01$",
            "PS-NAS01$",
            "0x17",
            "0x40810000",
            "10.20.1.40",
            None,
        );
    }
    for ws in hosts
        .iter()
        .filter(|x| matches!(x.role, Role::Workstation | Role::AdminWorkstation))
    {
        let t = day + w.rng.below(86_400) as i64 * SEC;
        let acct = format!("{}$", ws.name);
        let lid = w.logon(
            h,
            t,
            &acct,
            &World::sid_of(&acct),
            3,
            &ws.ip,
            "-",
            false,
            None,
        );
        w.logoff(h, t + 2 * SEC, &acct, &World::sid_of(&acct), &lid, 3);
    }
}

/// Patch night on every host.
fn patch_night(w: &mut Win, hosts: &[Host], procs: &HostProcs, day: i64) {
    for (i, h) in hosts.iter().enumerate() {
        let t = day + 3 * HOUR + w.rng.below(3600) as i64 * SEC;
        let g = w.rng.hex(8);
        w.service(h, t, "MpKslDrv", &format!("\\??\\C:\\ProgramData\\Microsoft\\Windows Defender\\Definition Updates\\{{{g}-7A1E-4C3B-9B5F-2D1C0E8F6A11}}\\MpKslDrv.sys"), "", &format!("{}$", h.name), None);
        if w.rng.chance(0.5) {
            w.service(h, t + MIN, "MicrosoftEdgeElevationService", "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\93.0.961.47\\elevation_service.exe\"", "LocalSystem", &format!("{}$", h.name), None);
            w.fw_rule(
                h,
                t + 2 * MIN,
                "Microsoft Edge (mDNS-In)",
                "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
                "5353",
                "C:\\Windows\\System32\\svchost.exe",
                "S-1-5-80-3088073201-1464728630-1879813800-1107566885-823218052",
                None,
            );
        }
        let tw = Proc::existing(
            w.rng,
            h,
            "C:\\Windows\\servicing\\TrustedInstaller.exe",
            "C:\\Windows\\servicing\\TrustedInstaller.exe",
            SYSTEM,
        );
        w.spawn(
            h,
            t + 5 * MIN,
            &procs.services[i],
            "C:\\Windows\\servicing\\TrustedInstaller.exe",
            "C:\\Windows\\servicing\\TrustedInstaller.exe",
            SYSTEM,
            None,
        );
        w.spawn(h, t + 6 * MIN, &tw, "C:\\Windows\\WinSxS\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.17763.2110_none_7e4e9c9c0d1d0c6b\\TiWorker.exe", "C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.17763.2110_none_7e4e9c9c0d1d0c6b\\TiWorker.exe -Embedding", SYSTEM, None);
    }
}

/// Windows Update and CRL fetches over plain HTTP, as the sensor sees them.
fn update_downloads(w: &mut Win, hosts: &[Host], day: i64) {
    for _ in 0..w.rng.range(8, 25) {
        let h = &hosts[w.rng.below(hosts.len() as u64) as usize];
        let t = day + w.rng.below(86_400) as i64 * SEC;
        let (host, uri, ip, mime, len) = if w.rng.chance(0.5) {
            (
                "ctldl.windowsupdate.com",
                "/msdownload/update/v3/static/trustedr/en/disallowedcertstl.cab",
                "13.107.4.50",
                "application/vnd.ms-cab-compressed",
                9_802,
            )
        } else {
            (
                "crl.microsoft.com",
                "/pki/crl/products/MicRooCerAut2011_2011_03_22.crl",
                "23.45.108.11",
                "application/pkix-crl",
                1_078,
            )
        };
        let line = http_line(
            w.rng,
            t,
            &h.ip,
            ip,
            80,
            host,
            uri,
            "Microsoft-CryptoAPI/10.0",
            len,
            mime,
        );
        w.out.zeek("sensor01/zeek/http.log", HTTP, t, line, None);
        zeek_conn(w.out, w.rng, t, &h.ip, ip, 80, "http", 220, len + 300, None);
    }
}

fn rand_time(w: &mut Win, day: i64, from_h: i64, to_h: i64) -> i64 {
    day + from_h * HOUR
        + w.rng.below(((to_h - from_h) * 3600) as u64) as i64 * SEC
        + w.rng.below(1_000_000) as i64
}

fn user_day(w: &mut Win, world: &World, u: &crate::world::User, day: i64) {
    let ws = &world.hosts[u.ws];
    let dc = &world.hosts[DC];
    let fs = &world.hosts[FS];
    let user = format!("{NETBIOS}\\{}", u.sam);
    let mut t = rand_time(w, day, 7, 9) + 30 * MIN;
    if w.rng.chance(0.03) {
        w.logon_failed(
            ws,
            t - 20 * SEC,
            &u.sam,
            2,
            "127.0.0.1",
            &ws.name,
            "0xc000006a",
            None,
        );
    }
    w.tgt(dc, t - 2 * SEC, &u.sam, &u.sid, &ws.ip);
    let lid = w.logon(ws, t, &u.sam, &u.sid, 2, "127.0.0.1", &ws.name, false, None);
    let dlid = w.logon(dc, t + SEC, &u.sam, &u.sid, 3, &ws.ip, "-", false, None);
    w.logoff(dc, t + 3 * SEC, &u.sam, &u.sid, &dlid, 3);
    for svc in ["PS-FS01$", "PCO-DC01$", "svc_confluence", "svc_sharepoint"] {
        if w.rng.chance(0.8) {
            let tt = t + w.rng.below(600) as i64 * SEC;
            w.tgs(dc, tt, &u.sam, svc, "0x12", "0x40810000", &ws.ip, None);
        }
    }
    let userinit = Proc::existing(
        w.rng,
        ws,
        "C:\\Windows\\System32\\userinit.exe",
        "C:\\Windows\\system32\\userinit.exe",
        &user,
    );
    let explorer = w.spawn(
        ws,
        t + 5 * SEC,
        &userinit,
        "C:\\Windows\\explorer.exe",
        "C:\\Windows\\Explorer.EXE",
        &user,
        None,
    );
    let apps: &[(&str, &str)] = &[
        (
            "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
            "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\"",
        ),
        (
            "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
            "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE\"",
        ),
        (
            "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
            "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE\" /n",
        ),
        (
            "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
            "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE\"",
        ),
        (
            "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
            "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe\" --single-argument https://intranet.parl.example.nz/",
        ),
    ];
    let n_apps = w.rng.range(2, 6);
    for _ in 0..n_apps {
        let (img, cmd) = *w.rng.pick(apps);
        let at = t + w.rng.below(8 * 3600) as i64 * SEC;
        let p = w.spawn(ws, at, &explorer, img, cmd, &user, None);
        for _ in 0..w.rng.range(0, 3) {
            let (ip, name) = *w.rng.pick(PUBLIC_DST);
            let ct = at + w.rng.below(1800) as i64 * SEC;
            w.dns(ws, ct, &p, name, ip, None);
            w.net(ws, ct + 50_000, &p, ip, 443, name, None);
            let (ob, rb) = (1200 + w.rng.below(40_000), 5000 + w.rng.below(900_000));
            zeek_conn(
                w.out,
                w.rng,
                ct + 60_000,
                &ws.ip,
                ip,
                443,
                "ssl",
                ob,
                rb,
                None,
            );
            let dl = dns_line(w.rng, ct, name, ip);
            w.out.zeek("sensor01/zeek/dns.log", DNS, ct, dl, None);
        }
        if img.ends_with("WINWORD.EXE") || img.ends_with("EXCEL.EXE") {
            let ext = if img.ends_with("WINWORD.EXE") {
                "docx"
            } else {
                "xlsx"
            };
            let f = format!(
                "C:\\Users\\{}\\Documents\\Drafts\\{}-{}.{ext}",
                u.sam,
                ["notes", "briefing", "submission", "budget"][w.rng.below(4) as usize],
                w.rng.below(90)
            );
            w.file(ws, at + 10 * MIN, &p, &f, None);
        }
    }
    // File server session.
    let ft = t + w.rng.below(3 * 3600) as i64 * SEC;
    let flid = w.logon(fs, ft, &u.sam, &u.sid, 3, &ws.ip, "-", false, None);
    w.share(
        fs,
        ft + SEC,
        5140,
        &u.sam,
        &u.sid,
        &ws.ip,
        "Shares",
        "D:\\Shares",
        "",
        None,
    );
    for _ in 0..w.rng.range(1, 4) {
        let f = format!(
            "Legislation\\Drafts\\{}-2021-{:03}.docx",
            ["bill", "amendment", "sop", "regs"][w.rng.below(4) as usize],
            w.rng.below(200)
        );
        let st = ft + w.rng.below(600) as i64 * SEC;
        w.share(
            fs,
            st,
            5145,
            &u.sam,
            &u.sid,
            &ws.ip,
            "Shares",
            "D:\\Shares",
            &f,
            None,
        );
    }
    w.logoff(fs, ft + 4 * HOUR, &u.sam, &u.sid, &flid, 3);
    // Confluence through the IIS proxy.
    for _ in 0..w.rng.range(2, 10) {
        let wt = t + w.rng.below(8 * 3600) as i64 * SEC;
        let page = *w.rng.pick(WIKI);
        let q = match page {
            "/wiki/dosearchsite.action" => format!(
                "queryString={}",
                [
                    "ProcessBuilder+java+example",
                    "leave+form",
                    "drafting+%27style%27+guide",
                    "Runtime.exec"
                ][w.rng.below(4) as usize]
            ),
            "/wiki/pages/createpage-entervariables.action" => {
                "spaceKey=LEG&templateId=98305".to_string()
            }
            _ => String::new(),
        };
        let line = iis_line(
            wt,
            "GET",
            page,
            &q,
            443,
            &ws.ip,
            UAS[0],
            "-",
            200,
            40 + w.rng.below(600),
        );
        w.out.iis("PCO-WEB01", wt, line, None);
    }
    t += 8 * HOUR + w.rng.below(7200) as i64 * SEC;
    w.logoff(ws, t, &u.sam, &u.sid, &lid, 2);
}

fn admin_day(
    w: &mut Win,
    world: &World,
    u: &crate::world::User,
    day: i64,
    typos: &mut u32,
    c_share: &mut u32,
) {
    let ws = &world.hosts[ADMIN_WS];
    let adm = World::adm(u);
    let adm_sid = World::sid_of(&adm);
    let user = format!("{NETBIOS}\\{adm}");
    let t = rand_time(w, day, 8, 16);
    if *typos < 3 && w.rng.chance(0.05) {
        *typos += 1;
        w.logon_failed(
            ws,
            t - 15 * SEC,
            &adm,
            2,
            "127.0.0.1",
            &ws.name,
            "0xc000006a",
            None,
        );
    }
    let lid = w.logon(ws, t, &adm, &adm_sid, 2, "127.0.0.1", &ws.name, false, None);
    w.special(ws, t, &adm, &adm_sid, &lid, None);
    let explorer = Proc::existing(
        w.rng,
        ws,
        "C:\\Windows\\explorer.exe",
        "C:\\Windows\\Explorer.EXE",
        &format!("{NETBIOS}\\{}", u.sam),
    );
    let cmd = w.spawn(
        ws,
        t + 10 * SEC,
        &explorer,
        "C:\\Windows\\System32\\cmd.exe",
        "\"C:\\Windows\\system32\\cmd.exe\"",
        &user,
        None,
    );
    let cmds: &[(&str, String)] = &[
        (
            "net.exe",
            format!(
                "net user {} /domain",
                world.users[3 + (day / DAY) as usize % (world.users.len() - 3)].sam
            ),
        ),
        ("net.exe", "net localgroup administrators".into()),
        ("ipconfig.exe", "ipconfig /all".into()),
        ("nltest.exe", format!("nltest /sc_query:{NETBIOS}")),
        ("whoami.exe", "whoami".into()),
        ("whoami.exe", "whoami /upn".into()),
        ("netsh.exe", "netsh advfirewall show allprofiles".into()),
        (
            "netsh.exe",
            "netsh advfirewall firewall show rule name=all dir=in".into(),
        ),
        ("schtasks.exe", "schtasks /query /fo LIST /v".into()),
        ("sc.exe", "sc query wuauserv".into()),
        (
            "sc.exe",
            "sc \\\\PS-FS01 query BackupExecAgentAccelerator".into(),
        ),
        ("gpupdate.exe", "gpupdate /force".into()),
        ("certutil.exe", "certutil -store my".into()),
        ("tasklist.exe", "tasklist".into()),
        (
            "net.exe",
            "net use S: \\\\PS-FS01\\Shares /persistent:yes".into(),
        ),
        ("ping.exe", "ping -n 2 PCO-WEB01".into()),
    ];
    let mut ct = t + 30 * SEC;
    for _ in 0..w.rng.range(2, 6) {
        ct += w.rng.below(900) as i64 * SEC;
        let (img, c) = &cmds[w.rng.below(cmds.len() as u64) as usize];
        let p = w.spawn(
            ws,
            ct,
            &cmd,
            &format!("C:\\Windows\\System32\\{img}"),
            c,
            &user,
            None,
        );
        if *img == "net.exe" && !c.starts_with("net use") {
            let sub = c.trim_start_matches("net ");
            w.spawn(
                ws,
                ct + 100_000,
                &p,
                "C:\\Windows\\System32\\net1.exe",
                &format!("C:\\Windows\\system32\\net1 {sub}"),
                &user,
                None,
            );
        }
    }
    let ps = w.spawn(
        ws,
        ct + MIN,
        &explorer,
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\"",
        &user,
        None,
    );
    let scripts = [
        "Get-ADUser -Filter {Enabled -eq $false} -Properties LastLogonDate | Sort-Object LastLogonDate | Select-Object -First 20",
        "Get-ADGroupMember -Identity 'Domain Admins' | Select-Object Name,SamAccountName",
        "Invoke-Command -ComputerName PCO-WEB01 -ScriptBlock { Import-Module WebAdministration; Restart-WebAppPool -Name PCOPublic }",
        "Get-Service -ComputerName PS-FS01 | Where-Object { $_.Status -ne 'Running' -and $_.StartType -eq 'Automatic' }",
        "Test-NetConnection -ComputerName pco-lnx01 -Port 22",
        "Get-WinEvent -LogName Security -MaxEvents 50 -ComputerName PCO-DC01 | Where-Object Id -eq 4740",
        "Get-ChildItem D:\\Shares\\Legislation -Recurse -Include *.docx | Measure-Object -Property Length -Sum",
    ];
    for _ in 0..w.rng.range(1, 3) {
        let st = ct + MIN + w.rng.below(1200) as i64 * SEC;
        let s = *w.rng.pick(&scripts);
        w.script(ws, st, s, "", None);
    }
    let _ = ps;
    if *c_share < 2 && w.rng.chance(0.06) {
        *c_share += 1;
        let fs = &world.hosts[FS];
        let l2 = w.logon(
            fs,
            ct + 2 * MIN,
            &adm,
            &adm_sid,
            3,
            &ws.ip,
            "-",
            false,
            None,
        );
        w.special(fs, ct + 2 * MIN, &adm, &adm_sid, &l2, None);
        w.share(
            fs,
            ct + 2 * MIN + SEC,
            5140,
            &adm,
            &adm_sid,
            &ws.ip,
            "C$",
            "C:\\",
            "",
            None,
        );
        w.logoff(fs, ct + 9 * MIN, &adm, &adm_sid, &l2, 3);
    }
    w.logoff(ws, ct + 2 * HOUR, &adm, &adm_sid, &lid, 2);
}

fn web_server_day(w: &mut Win, h: &Host, day: i64, w3wp: &Proc, svchost: &Proc, d: i64) -> Proc {
    // Idle shutdowns and the nightly recycle each start a new worker.
    let mut cur = w3wp.clone();
    let mut events: Vec<(i64, u32)> = (0..w.rng.range(0, 2))
        .map(|_| (rand_time(w, day, 0, 6), 5186))
        .collect();
    events.push((day + 3 * HOUR + 29 * MIN, 5074));
    events.sort();
    for (t, id) in events {
        w.was(h, t, id, "PCOPublic", cur.pid);
        cur = w.spawn(
            h,
            t + 5 * MIN,
            svchost,
            "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
            &w3wp.cmd,
            SYSTEM,
            None,
        );
        // ASP.NET compiles pages on first hit after a restart.
        if w.rng.chance(0.6) {
            let dir = format!(
                "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\Temporary ASP.NET Files\\root\\{}\\{}",
                w.rng.hex(8).to_ascii_lowercase(),
                w.rng.hex(8).to_ascii_lowercase()
            );
            let (h1, h2) = (
                w.rng.hex(8).to_ascii_lowercase(),
                w.rng.hex(8).to_ascii_lowercase(),
            );
            let csc_cmd = format!(
                "\"C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\csc.exe\" /t:library /utf8output /nostdlib+ /R:\"C:\\Windows\\Microsoft.Net\\assembly\\GAC_MSIL\\System.Web\\v4.0_4.0.0.0__b03f5f7f11d50a3a\\System.Web.dll\" /out:\"{dir}\\App_Web_{h1}.dll\" /debug- /optimize+ /w:4 /nowarn:1659;1699;1701 /warnaserror- \"{dir}\\App_Web_{h2}.0.cs\""
            );
            let csc = w.spawn(
                h,
                t + 6 * MIN,
                &cur,
                "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\csc.exe",
                &csc_cmd,
                SYSTEM,
                None,
            );
            let f = format!("{dir}\\App_Web_{}.dll", w.rng.hex(8).to_ascii_lowercase());
            w.file(h, t + 6 * MIN + 2 * SEC, &csc, &f, None);
            w.file(
                h,
                t + 6 * MIN + 3 * SEC,
                &cur,
                &format!("{dir}\\hash\\hash.web"),
                None,
            );
        }
    }
    // Weekly content deployment with Web Deploy.
    if d % 7 == 5 {
        let t = day + 21 * HOUR;
        let md = Proc::existing(
            w.rng,
            h,
            "C:\\Program Files\\IIS\\Microsoft Web Deploy V3\\msdeploy.exe",
            "\"C:\\Program Files\\IIS\\Microsoft Web Deploy V3\\msdeploy.exe\" -verb:sync -source:package=D:\\Deploy\\site.zip -dest:auto",
            &format!("{NETBIOS}\\svc_web"),
        );
        for p in [
            "Default.aspx",
            "en\\Default.aspx",
            "en\\bills\\Default.aspx",
            "en\\search.aspx",
            "web.config",
        ] {
            let ft = t + w.rng.below(60) as i64 * SEC;
            w.file(h, ft, &md, &format!("C:\\inetpub\\wwwroot\\{p}"), None);
        }
    }
    cur
}

fn public_web_day(w: &mut Win, web: &Host, day: i64, workday: bool, scale: Scale) {
    let sessions = if workday {
        scale.web_sessions
    } else {
        scale.web_sessions * 6 / 10
    };
    for _ in 0..sessions {
        // Visits peak in local business hours.
        let hour = if w.rng.chance(0.75) {
            w.rng.range(8, 21)
        } else {
            w.rng.range(0, 23)
        };
        let mut t = day + hour * HOUR + w.rng.below(3600) as i64 * SEC;
        let ip = format!(
            "{}.{}.{}.{}",
            [49, 60, 101, 110, 115, 122, 125, 202, 203, 210, 222][w.rng.below(11) as usize],
            w.rng.below(256),
            w.rng.below(256),
            1 + w.rng.below(254)
        );
        let ip = if ip.starts_with("203.0.113.") {
            "203.1.113.9".to_string()
        } else {
            ip
        };
        let ua = *w.rng.pick(UAS);
        for pi in 0..w.rng.range(1, 4) {
            let page = *w.rng.pick(PAGES);
            let q = if page == "/en/search" {
                w.rng.pick(SEARCHES).to_string()
            } else {
                String::new()
            };
            let referer = if pi == 0 {
                "https://www.google.com/".to_string()
            } else {
                "https://www.parliament.example.nz/en/".to_string()
            };
            w.out.iis(
                &web.name,
                t,
                iis_line(
                    t,
                    "GET",
                    page,
                    &q,
                    443,
                    &ip,
                    ua,
                    &referer,
                    200,
                    30 + w.rng.below(500),
                ),
                None,
            );
            for _ in 0..w.rng.range(0, 4) {
                let (a, v) = *w.rng.pick(ASSETS);
                let st = if w.rng.chance(0.4) { 304 } else { 200 };
                t += w.rng.below(400_000) as i64;
                w.out.iis(
                    &web.name,
                    t,
                    iis_line(
                        t,
                        "GET",
                        a,
                        v,
                        443,
                        &ip,
                        ua,
                        &format!("https://www.parliament.example.nz{page}"),
                        st,
                        1 + w.rng.below(40),
                    ),
                    None,
                );
            }
            t += 10 * SEC + w.rng.below(120) as i64 * SEC;
        }
    }
    for _ in 0..w.rng.range(20, 40) {
        let t = day + w.rng.below(86_400) as i64 * SEC;
        let bot = *w.rng.pick(BOTS);
        let ip = if bot.contains("Google") {
            "66.249.66.1"
        } else {
            "157.55.39.12"
        };
        let page = if w.rng.chance(0.2) {
            "/robots.txt"
        } else {
            *w.rng.pick(PAGES)
        };
        w.out.iis(
            &web.name,
            t,
            iis_line(
                t,
                "GET",
                page,
                "",
                443,
                ip,
                bot,
                "-",
                200,
                20 + w.rng.below(200),
            ),
            None,
        );
    }
    // Internet background noise: opportunistic probes with ordinary user agents.
    for _ in 0..w.rng.range(4, 15) {
        let t = day + w.rng.below(86_400) as i64 * SEC;
        let ip = format!(
            "{}.{}.{}.{}",
            [45, 89, 185, 193, 194][w.rng.below(5) as usize],
            w.rng.below(256),
            w.rng.below(256),
            1 + w.rng.below(254)
        );
        let p = [
            "/wp-login.php",
            "/.env",
            "/xmlrpc.php",
            "/phpmyadmin/index.php",
            "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
            "/boaform/admin/formLogin",
        ][w.rng.below(6) as usize];
        w.out.iis(
            &web.name,
            t,
            iis_line(
                t,
                if p.contains("formLogin") {
                    "POST"
                } else {
                    "GET"
                },
                p,
                "",
                443,
                &ip,
                UAS[0],
                "-",
                404,
                2 + w.rng.below(20),
            ),
            None,
        );
    }
}

fn linux_day(w: &mut Win, world: &World, day: i64, workday: bool, d: i64) {
    let (lnx, _) = (&world.linux.0, &world.linux.1);
    let file = auth_file(lnx);
    let mut pid = 10_000 + (d as u32) * 3000;
    let mut t = day;
    while t < day + DAY {
        pid += 7;
        let a = t + 17 * SEC / 10;
        w.out.text(&file, a, format!("{} {lnx} CRON[{pid}]: pam_unix(cron:session): session opened for user root by (uid=0)", syslog_time(a)), None);
        w.out.text(
            &file,
            a + SEC,
            format!(
                "{} {lnx} CRON[{pid}]: pam_unix(cron:session): session closed for user root",
                syslog_time(a + SEC)
            ),
            None,
        );
        t += 15 * MIN;
    }
    if !workday {
        return;
    }
    let admin_ip = &world.hosts[ADMIN_WS].ip;
    for u in world.users.iter().filter(|u| u.admin) {
        if !w.rng.chance(0.5) {
            continue;
        }
        let name = u.sam.replace('.', "");
        let t = rand_time(w, day, 8, 17);
        pid += 13;
        let port = 50000 + w.rng.below(15000);
        if w.rng.chance(0.04) {
            w.out.text(&file, t - 8 * SEC, format!("{} {lnx} sshd[{pid}]: Failed password for {name} from {admin_ip} port {port} ssh2", syslog_time(t - 8 * SEC)), None);
        }
        w.out.text(&file, t, format!("{} {lnx} sshd[{pid}]: Accepted publickey for {name} from {admin_ip} port {port} ssh2: RSA SHA256:{}", syslog_time(t), w.rng.hex(43)), None);
        w.out.text(&file, t + 50_000, format!("{} {lnx} sshd[{pid}]: pam_unix(sshd:session): session opened for user {name} by (uid=0)", syslog_time(t + 50_000)), None);
        let (ob, rb) = (20_000 + w.rng.below(90_000), 40_000 + w.rng.below(400_000));
        zeek_conn(
            w.out,
            w.rng,
            t,
            admin_ip,
            &world.linux.1,
            22,
            "ssh",
            ob,
            rb,
            None,
        );
        let sudo = [
            "/usr/bin/apt-get update",
            "/usr/bin/systemctl restart nginx",
            "/usr/bin/journalctl -u nginx --since today",
            "/usr/bin/tail -n 200 /var/log/nginx/error.log",
            "/usr/bin/apt-get -y upgrade",
        ];
        for k in 0..w.rng.range(1, 3) {
            let st = t + (k + 1) * 3 * MIN;
            let c = *w.rng.pick(&sudo);
            w.out.text(&file, st, format!("{} {lnx} sudo: {name} : TTY=pts/0 ; PWD=/home/{name} ; USER=root ; COMMAND={c}", syslog_time(st)), None);
            w.out.text(&file, st + 5000, format!("{} {lnx} sudo: pam_unix(sudo:session): session opened for user root by {name}(uid={})", syslog_time(st + 5000), 1000 + u.sid.len()), None);
            w.out.text(
                &file,
                st + 2 * SEC,
                format!(
                    "{} {lnx} sudo: pam_unix(sudo:session): session closed for user root",
                    syslog_time(st + 2 * SEC)
                ),
                None,
            );
        }
        let et = t + 40 * MIN;
        w.out.text(
            &file,
            et,
            format!(
                "{} {lnx} sshd[{pid}]: pam_unix(sshd:session): session closed for user {name}",
                syslog_time(et)
            ),
            None,
        );
    }
    let _ = DOMAIN;
}
