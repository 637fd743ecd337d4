//! Deterministic synthetic cases for demos, benchmarks and browser tests,
//! until real assessments fill cases (`kahu assess --demo`).
//!
//! Events imitate Windows Security, Sysmon and PowerShell logs on a set of
//! hosts over a time span, each (host, channel) as its own evidence file
//! with record numbers in time order. A small intrusion is planted on the
//! first workstation (an Office → PowerShell → credential dumping chain and
//! a web shell), with findings, plus one event whose fields hold HTML/JS
//! payloads to test that the UI renders evidence inert.

use crate::{Case, EvidenceInfo, IngestStats, Result};
use kahu_event::{Event, Location, Provenance, Value};
use kahu_finding::{Finding, FindingKind, Level};
use std::sync::Arc;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// Background events (the planted ones come on top).
    pub events: u64,
    /// Number of hosts.
    pub hosts: u32,
    /// Time span in days, from 2021-03-01T00:00:00Z.
    pub days: u32,
    /// PRNG seed.
    pub seed: u64,
    /// Also store attribution, incidents, scope and tactic documents.
    pub documents: bool,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            events: 20_000,
            hosts: 8,
            days: 14,
            seed: 7,
            documents: true,
        }
    }
}

/// Start of the synthetic time span (2021-03-01T00:00:00Z), µs.
pub const START_US: i64 = 1_614_556_800_000_000;

/// The XSS payloads planted in one event's fields.
pub const XSS_PAYLOADS: [&str; 3] = [
    "<script>alert('kahu-xss')</script>",
    "<img src=x onerror=alert('kahu-xss')>",
    "\"><svg onload=alert('kahu-xss')>",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic and dependency-free.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const SEC: &str = "Security";
const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const PS: &str = "Microsoft-Windows-PowerShell/Operational";
const USERS: &[&str] = &[
    "alice",
    "bob",
    "carol",
    "dave",
    "svc_backup",
    "svc_sql",
    "SYSTEM",
    "admin.jones",
];
const IMAGES: &[&str] = &[
    r"C:\Windows\System32\svchost.exe",
    r"C:\Windows\explorer.exe",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
    r"C:\Windows\System32\taskhostw.exe",
    r"C:\Windows\System32\conhost.exe",
    r"C:\Windows\System32\backgroundTaskHost.exe",
];

fn ts_of(us: i64) -> kahu_event::Timestamp {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default()
}

struct Gen {
    rng: Rng,
}

impl Gen {
    fn event(&mut self, host: &str, channel: &str, file: &Arc<str>, record: u64, us: i64) -> Event {
        let mut e = Event::new(Provenance::new(file.clone(), Location::Record(record)));
        e.timestamp = Some(ts_of(us));
        e.host = Some(Arc::from(host));
        e.channel = Some(Arc::from(channel));
        let user = USERS[self.rng.below(USERS.len() as u64) as usize];
        let f = &mut e.fields;
        match channel {
            SEC => {
                let eid = [4624u32, 4624, 4634, 4672, 4688, 4625][self.rng.below(6) as usize];
                e.provider = Some(Arc::from("Microsoft-Windows-Security-Auditing"));
                e.event_id = Some(eid);
                f.insert("EventID", Value::Int(eid.into()));
                f.insert("Computer", Value::str(host));
                f.insert("SubjectUserName", Value::str(&format!("{}$", host)));
                f.insert("TargetUserName", Value::str(user));
                f.insert("TargetDomainName", Value::str("CORP"));
                match eid {
                    4624 | 4625 => {
                        f.insert(
                            "LogonType",
                            Value::Int([2, 3, 3, 10][self.rng.below(4) as usize]),
                        );
                        f.insert(
                            "IpAddress",
                            Value::str(&format!(
                                "10.1.{}.{}",
                                self.rng.below(8),
                                self.rng.below(250) + 2
                            )),
                        );
                        f.insert("WorkstationName", Value::str(host));
                    }
                    4688 => {
                        let img = IMAGES[self.rng.below(IMAGES.len() as u64) as usize];
                        f.insert(
                            "NewProcessId",
                            Value::str(&format!("0x{:x}", 0x400 + self.rng.below(0x4000))),
                        );
                        f.insert(
                            "ProcessId",
                            Value::str(&format!("0x{:x}", 0x400 + self.rng.below(0x4000))),
                        );
                        f.insert("NewProcessName", Value::str(img));
                        f.insert(
                            "CommandLine",
                            Value::str(&format!("\"{img}\" -k netsvcs -p {}", self.rng.below(100))),
                        );
                    }
                    _ => {}
                }
            }
            SYSMON => {
                let eid = [1u32, 3, 3, 11][self.rng.below(4) as usize];
                e.provider = Some(Arc::from("Microsoft-Windows-Sysmon"));
                e.event_id = Some(eid);
                f.insert("EventID", Value::Int(eid.into()));
                f.insert("Computer", Value::str(host));
                let img = IMAGES[self.rng.below(IMAGES.len() as u64) as usize];
                f.insert(
                    "UtcTime",
                    Value::str(&ts_of(us).format("%Y-%m-%d %H:%M:%S%.3f").to_string()),
                );
                f.insert(
                    "ProcessGuid",
                    Value::str(&format!(
                        "{{{:08x}-1111-2222-3333-{:012x}}}",
                        self.rng.next() as u32,
                        record
                    )),
                );
                f.insert("ProcessId", Value::Int((self.rng.below(60_000) + 4) as i64));
                f.insert("Image", Value::str(img));
                f.insert("User", Value::str(&format!("CORP\\{user}")));
                match eid {
                    1 => {
                        f.insert(
                            "CommandLine",
                            Value::str(&format!("\"{img}\" /task {}", self.rng.below(1000))),
                        );
                        f.insert(
                            "ParentImage",
                            Value::str(r"C:\Windows\System32\services.exe"),
                        );
                        f.insert(
                            "ParentProcessGuid",
                            Value::str("{00000000-0000-0000-0000-000000000001}"),
                        );
                        f.insert(
                            "Hashes",
                            Value::str(&format!(
                                "SHA256={:016X}{:016X}",
                                self.rng.next(),
                                self.rng.next()
                            )),
                        );
                    }
                    3 => {
                        f.insert("Protocol", Value::str("tcp"));
                        f.insert(
                            "DestinationIp",
                            Value::str(&format!(
                                "52.{}.{}.{}",
                                self.rng.below(255),
                                self.rng.below(255),
                                self.rng.below(255)
                            )),
                        );
                        f.insert(
                            "DestinationPort",
                            Value::Int([443, 443, 80, 53][self.rng.below(4) as usize]),
                        );
                        f.insert(
                            "DestinationHostname",
                            Value::str(
                                [
                                    "login.microsoftonline.com",
                                    "www.google.com",
                                    "update.example.org",
                                ][self.rng.below(3) as usize],
                            ),
                        );
                    }
                    _ => {
                        f.insert(
                            "TargetFilename",
                            Value::str(&format!(
                                r"C:\Users\{user}\AppData\Local\Temp\tmp{:x}.tmp",
                                self.rng.below(1 << 20)
                            )),
                        );
                    }
                }
            }
            _ => {
                e.provider = Some(Arc::from("Microsoft-Windows-PowerShell"));
                e.event_id = Some(4104);
                f.insert("EventID", Value::Int(4104));
                f.insert("Computer", Value::str(host));
                f.insert(
                    "ScriptBlockText",
                    Value::str(&format!(
                        "Get-ChildItem -Path C:\\Users\\{user} | Measure-Object # {}",
                        self.rng.below(1000)
                    )),
                );
            }
        }
        e
    }
}

fn finding(e: &Event, rule: &str, title: &str, level: Level, techniques: &[&str]) -> Finding {
    Finding {
        kind: FindingKind::Sigma,
        rule_id: Arc::from(rule),
        title: Arc::from(title),
        level,
        techniques: techniques.iter().map(|t| Arc::from(*t)).collect(),
        software: Vec::new(),
        groups: Vec::new(),
        timestamp: e.timestamp,
        host: e.host.clone(),
        channel: e.channel.clone(),
        event_id: e.event_id,
        fields: kahu_finding::key_fields(e, 6),
        provenance: e.provenance.clone(),
        related: Vec::new(),
    }
}

/// Fill `case` with a synthetic assessment.
pub fn build(case: &mut Case, o: &SynthOptions) -> Result<IngestStats> {
    let mut g = Gen {
        rng: Rng(o.seed.max(1)),
    };
    let hosts: Vec<String> = (0..o.hosts.max(1))
        .map(|i| {
            if i == 0 {
                "WS01.corp.local".to_string()
            } else if i == 1 {
                "DC01.corp.local".to_string()
            } else {
                format!("WS{:02}.corp.local", i)
            }
        })
        .collect();
    let span_us = o.days.max(1) as i64 * 86_400_000_000;
    let channels = [SEC, SYSMON, PS];
    // Channel shares: Security 45 %, Sysmon 45 %, PowerShell 10 %.
    let share = [45u64, 45, 10];
    let mut w = case.writer()?;
    for (hi, host) in hosts.iter().enumerate() {
        for (ci, ch) in channels.iter().enumerate() {
            let n = o.events * share[ci] / 100 / hosts.len() as u64;
            let name = ch.rsplit('/').next().unwrap_or(ch).replace('-', "_");
            let path = format!(
                "evidence/{}/{}.evtx",
                host.split('.').next().unwrap_or(host),
                name
            );
            let info = EvidenceInfo {
                path: path.clone(),
                member: None,
                size: Some(n * 1200),
                sha256: Some(format!("{:016x}{:016x}{:032x}", o.seed, hi * 16 + ci, n)),
                format: Some("evtx".into()),
            };
            if w.begin_evidence(&info)?.is_none() {
                continue;
            }
            let file: Arc<str> = Arc::from(path.as_str());
            let gap = (span_us / n.max(1) as i64).max(1);
            let mut us = START_US + g.rng.below(gap as u64) as i64;
            for rec in 1..=n {
                let ev = g.event(host, ch, &file, rec, us);
                w.add_event(&ev)?;
                us += 1 + g.rng.below(2 * gap as u64) as i64;
            }
        }
    }
    plant(&mut w, &hosts[0])?;
    let stats = w.finish()?;
    if o.documents && stats.events > 0 {
        documents(case)?;
    }
    Ok(stats)
}

/// The planted intrusion on the first host, with findings.
fn plant(w: &mut crate::CaseWriter<'_>, host: &str) -> Result<()> {
    let path = "evidence/WS01/intrusion-sysmon.evtx";
    if w.begin_evidence(&EvidenceInfo {
        path: path.into(),
        size: Some(69_632),
        sha256: Some("feedfacecafebeef".repeat(4)),
        format: Some("evtx".into()),
        ..Default::default()
    })?
    .is_none()
    {
        return Ok(());
    }
    let file: Arc<str> = Arc::from(path);
    let t0 = START_US + 3 * 86_400_000_000 + 9 * 3_600_000_000;
    let procs: &[(&str, &str, &str, &str)] = &[
        (
            "{aaaaaaaa-0001-0000-0000-000000000001}",
            "{00000000-0000-0000-0000-0000000000ff}",
            r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
            r#""WINWORD.EXE" /n "C:\Users\alice\Downloads\Invoice-0321.docm""#,
        ),
        (
            "{aaaaaaaa-0002-0000-0000-000000000002}",
            "{aaaaaaaa-0001-0000-0000-000000000001}",
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
            "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=",
        ),
        (
            "{aaaaaaaa-0003-0000-0000-000000000003}",
            "{aaaaaaaa-0002-0000-0000-000000000002}",
            r"C:\Users\alice\AppData\Local\Temp\m.exe",
            r#"m.exe "privilege::debug" "sekurlsa::logonpasswords" exit"#,
        ),
        (
            "{aaaaaaaa-0004-0000-0000-000000000004}",
            "{aaaaaaaa-0002-0000-0000-000000000002}",
            r"C:\Windows\System32\reg.exe",
            r"reg.exe save HKLM\SAM C:\Users\Public\sam.hiv",
        ),
        (
            "{aaaaaaaa-0005-0000-0000-000000000005}",
            "{aaaaaaaa-0002-0000-0000-000000000002}",
            r"C:\Windows\System32\net.exe",
            "net.exe group \"Domain Admins\" /domain",
        ),
    ];
    let rules: &[(&str, &str, Level, &[&str])] = &[
        (
            "sigma-office-child",
            "Office Application Spawning Script Interpreter",
            Level::High,
            &["T1566.001", "T1204.002"],
        ),
        (
            "sigma-ps-enc",
            "Suspicious Encoded PowerShell Command Line",
            Level::High,
            &["T1059.001", "T1027"],
        ),
        (
            "sigma-mimikatz",
            "Mimikatz Command Line",
            Level::Critical,
            &["T1003.001"],
        ),
        (
            "sigma-reg-save-sam",
            "SAM Registry Hive Dump",
            Level::High,
            &["T1003.002"],
        ),
        (
            "sigma-net-group-domain",
            "Domain Group Discovery With Net",
            Level::Medium,
            &["T1069.002"],
        ),
    ];
    for (i, ((guid, parent, image, cmd), (rule, title, level, techs))) in
        procs.iter().zip(rules).enumerate()
    {
        let mut e = Event::new(Provenance::new(
            file.clone(),
            Location::Record(i as u64 + 1),
        ));
        e.timestamp = Some(ts_of(t0 + i as i64 * 7_000_000));
        e.host = Some(Arc::from(host));
        e.channel = Some(Arc::from(SYSMON));
        e.provider = Some(Arc::from("Microsoft-Windows-Sysmon"));
        e.event_id = Some(1);
        let f = &mut e.fields;
        f.insert("EventID", Value::Int(1));
        f.insert("Computer", Value::str(host));
        f.insert("ProcessGuid", Value::str(guid));
        f.insert("ParentProcessGuid", Value::str(parent));
        f.insert("ProcessId", Value::Int(4000 + i as i64));
        f.insert("Image", Value::str(image));
        f.insert("CommandLine", Value::str(cmd));
        f.insert("User", Value::str(r"CORP\alice"));
        if i == 0 {
            f.insert("ParentImage", Value::str(r"C:\Windows\explorer.exe"));
        }
        let id = w.add_event(&e)?;
        w.add_finding(&finding(&e, rule, title, *level, techs), Some(id))?;
    }
    // Attacker-controlled text that must render inert.
    let mut e = Event::new(Provenance::new(file.clone(), Location::Record(100)));
    e.timestamp = Some(ts_of(t0 + 3_600_000_000));
    e.host = Some(Arc::from(host));
    e.channel = Some(Arc::from(SYSMON));
    e.provider = Some(Arc::from("Microsoft-Windows-Sysmon"));
    e.event_id = Some(1);
    e.fields.insert("EventID", Value::Int(1));
    e.fields.insert("Computer", Value::str(host));
    e.fields.insert(
        "ProcessGuid",
        Value::str("{aaaaaaaa-0066-0000-0000-000000000066}"),
    );
    e.fields.insert(
        "ParentProcessGuid",
        Value::str("{aaaaaaaa-0002-0000-0000-000000000002}"),
    );
    e.fields.insert("CommandLine", Value::str(XSS_PAYLOADS[0]));
    e.fields.insert("Image", Value::str(XSS_PAYLOADS[1]));
    e.fields.insert("User", Value::str(XSS_PAYLOADS[2]));
    e.fields.insert("Description", Value::str("kahuxssmarker"));
    let id = w.add_event(&e)?;
    w.add_finding(
        &finding(
            &e,
            "sigma-xss-probe",
            "Script Tag In Command Line",
            Level::Low,
            &["T1059"],
        ),
        Some(id),
    )?;
    Ok(())
}

fn documents(case: &mut Case) -> Result<()> {
    let attribution = serde_json::json!({
        "method": "ATT&CK technique overlap with corroboration weighting (synthetic)",
        "candidates": [
            {
                "id": "G0065", "name": "APT40", "rank": 1, "score": 0.71, "likelihood": "likely", "confidence": "moderate",
                "supporting": [
                    {"technique": "T1003.001", "name": "LSASS Memory", "weight": 0.3, "detail": "mimikatz sekurlsa::logonpasswords on WS01"},
                    {"technique": "T1059.001", "name": "PowerShell", "weight": 0.2, "detail": "encoded command from WINWORD"},
                    {"technique": "T1566.001", "name": "Spearphishing Attachment", "weight": 0.2, "detail": "macro document Invoice-0321.docm"}
                ],
                "contradicting": [
                    {"technique": "T1069.002", "name": "Domain Groups", "weight": -0.05, "detail": "not in APT40's reported discovery tooling"}
                ],
                "missing": [
                    {"technique": "T1505.003", "name": "Web Shell", "detail": "APT40 favours web shells on internet-facing servers; none observed"}
                ]
            },
            {
                "id": "G0007", "name": "APT28", "rank": 2, "score": 0.38, "likelihood": "unlikely", "confidence": "low",
                "supporting": [
                    {"technique": "T1003.001", "name": "LSASS Memory", "weight": 0.2}
                ],
                "contradicting": [],
                "missing": [
                    {"technique": "T1071.001", "name": "Web Protocols", "detail": "no X-Agent style beaconing"}
                ]
            }
        ]
    });
    case.set_document("attribution", 1, &attribution, "kahu")?;
    let tactics = serde_json::json!({
        "T1566.001": ["initial-access"], "T1204.002": ["execution"], "T1059.001": ["execution"], "T1059": ["execution"],
        "T1027": ["defense-evasion"], "T1003.001": ["credential-access"], "T1003.002": ["credential-access"],
        "T1069.002": ["discovery"]
    });
    case.set_document("attack-tactics", 1, &tactics, "kahu")?;
    let incidents = serde_json::json!([
        {"id": "INC-1", "title": "Macro document to credential dumping on WS01", "hosts": ["WS01.corp.local"],
         "first": "2021-03-04T09:00:00Z", "last": "2021-03-04T09:00:28Z", "techniques": ["T1566.001", "T1059.001", "T1003.001", "T1003.002", "T1069.002"],
         "severity": "critical"}
    ]);
    case.set_document("incidents", 1, &incidents, "kahu")?;
    let scope = serde_json::json!({"hosts": [{"host": "WS01.corp.local", "status": "compromised"}], "accounts": [{"account": "CORP\\alice", "status": "credentials exposed"}]});
    case.set_document("scope", 1, &scope, "kahu")?;
    Ok(())
}
