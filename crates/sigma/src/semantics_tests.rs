//! End-to-end semantics: rules as YAML, events as JSON, each case written
//! from the specification's wording (cited per test).

use crate::{LoadOptions, RuleIdx, RuleSet};
use kahu_event::{Event, Location, LogSource, Provenance, Value};

fn set_with(detection: &str, opts: &LoadOptions) -> Result<RuleSet, String> {
    let yaml = format!(
        "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  product: test\ndetection:\n{detection}\n"
    );
    let r = RuleSet::from_yaml(&[("inline", &yaml)], opts);
    if let Some(e) = r.errors.first() {
        return Err(e.to_string());
    }
    Ok(r.ruleset)
}

fn set(detection: &str) -> RuleSet {
    set_with(detection, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn ev(json: serde_json::Value) -> Event {
    let mut e = Event::new(Provenance::new("t".into(), Location::Line(1)));
    e.logsource = LogSource::product("test");
    if let Value::Object(f) = Value::from_json(json) {
        e.fields = f;
    }
    e
}

fn hit(s: &RuleSet, e: &Event) -> bool {
    let mut out = Vec::new();
    s.matches(e, &mut out);
    out == vec![RuleIdx(0)]
}

macro_rules! j {
    ($($t:tt)*) => { ev(serde_json::json!($($t)*)) };
}

// Rules spec "General": values are case-insensitive strings; wildcards `*` `?`.
#[test]
fn default_is_case_insensitive_whole_value() {
    let s = set("  sel:\n    Image: 'C:\\Windows\\\\*\\CMD.exe'\n  condition: sel");
    assert!(hit(&s, &j!({"Image": "c:\\windows\\system32\\cmd.EXE"})));
    assert!(!hit(
        &s,
        &j!({"Image": "c:\\windows\\system32\\cmd.exe.bak"})
    ));
    assert!(!hit(&s, &j!({"Other": "c:\\windows\\system32\\cmd.exe"})));
}

// Modifiers appendix: contains / startswith / endswith; `all` links values with AND.
#[test]
fn contains_startswith_endswith_all() {
    let s = set(
        "  sel:\n    CommandLine|contains|all:\n      - ' -nop '\n      - ' -w hidden '\n  condition: sel",
    );
    assert!(hit(
        &s,
        &j!({"CommandLine": "powershell -NOP -W HIDDEN -enc"})
    ));
    assert!(!hit(&s, &j!({"CommandLine": "powershell -nop -enc"})));
    let s = set(
        "  sel:\n    A|startswith: 'abc'\n    B|endswith:\n      - '.exe'\n      - '.dll'\n  condition: sel",
    );
    assert!(hit(&s, &j!({"A": "ABCdef", "B": "x.DLL"})));
    assert!(!hit(&s, &j!({"A": "xabc", "B": "x.dll"})));
}

// Rules spec "Escape Character": `\*` is a plain star.
#[test]
fn escaped_wildcard() {
    let s = set("  sel:\n    A: 'a\\*b'\n  condition: sel");
    assert!(hit(&s, &j!({"A": "a*b"})));
    assert!(!hit(&s, &j!({"A": "axb"})));
}

// Rules spec "Special Field Values": `''` is empty, `null` is absent/null.
#[test]
fn null_and_empty() {
    let s = set(
        "  sel:\n    A: 'x'\n  empty:\n    B: ''\n  nul:\n    C: null\n  condition: sel and empty and nul",
    );
    assert!(hit(&s, &j!({"A": "x", "B": ""})));
    assert!(hit(&s, &j!({"A": "x", "B": "", "C": null})));
    assert!(!hit(&s, &j!({"A": "x", "B": "", "C": "v"})));
    assert!(!hit(&s, &j!({"A": "x", "B": "y"})));
    assert!(!hit(&s, &j!({"A": "x"})));
}

// Rules spec "Field Existence".
#[test]
fn exists() {
    let s = set("  sel:\n    A|exists: true\n    B|exists: false\n  condition: sel");
    assert!(hit(&s, &j!({"A": ""})));
    assert!(!hit(&s, &j!({"A": "", "B": 1})));
    assert!(!hit(&s, &j!({"B": 1})));
}

// Rules spec "Keywords search": lists of strings search the whole event; `|all` AND-s.
#[test]
fn keywords() {
    let s = set("  keywords:\n    - 'event::clear'\n    - 'event::drop'\n  condition: keywords");
    assert!(hit(&s, &j!({"a": {"b": "mimikatz # EVENT::Clear"}})));
    assert!(!hit(&s, &j!({"a": "event::list"})));
    let s = set(
        "  kw:\n    '|all':\n      - 'OabVirtualDirectory'\n      - ' -ExternalUrl '\n  condition: kw",
    );
    assert!(hit(
        &s,
        &j!({"x": "Set-OabVirtualDirectory", "y": "a -ExternalUrl b"})
    ));
    assert!(!hit(&s, &j!({"x": "Set-OabVirtualDirectory"})));
}

// Rules spec "Lists" and "Maps": list of maps is OR, map items AND.
#[test]
fn list_of_maps() {
    let s = set(
        "  sel:\n    - Image|endswith: '\\example.exe'\n    - Description|contains: 'Test executable'\n  condition: sel",
    );
    assert!(hit(&s, &j!({"Image": "c:\\example.exe"})));
    assert!(hit(&s, &j!({"Description": "a Test executable"})));
    assert!(!hit(&s, &j!({"Image": "c:\\other.exe"})));
}

// Modifiers appendix, windash: `-`, `/`, en dash, em dash, horizontal bar.
#[test]
fn windash_variants() {
    let s = set("  sel:\n    CommandLine|windash|contains: ' -exec bypass'\n  condition: sel");
    for d in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
        assert!(
            hit(
                &s,
                &j!({"CommandLine": format!("powershell {d}exec bypass")})
            ),
            "dash {d}"
        );
    }
    assert!(!hit(&s, &j!({"CommandLine": "powershell +exec bypass"})));
}

// Modifiers appendix, base64offset combined with utf16le as in real PowerShell -enc rules.
#[test]
fn utf16le_base64offset() {
    use base64::Engine as _;
    let s = set("  sel:\n    CommandLine|wide|base64offset|contains: 'IEX'\n  condition: sel");
    for prefix in ["", "a", "ab", "abc"] {
        let text = format!("{prefix}IEX (New-Object Net.WebClient)");
        let utf16: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let enc = base64::engine::general_purpose::STANDARD.encode(utf16);
        assert!(
            hit(&s, &j!({"CommandLine": format!("powershell -enc {enc}")})),
            "prefix {prefix:?}"
        );
    }
    // UTF-16LE base64 of "Get-Date" contains none of the IEX variants.
    assert!(!hit(
        &s,
        &j!({"CommandLine": "powershell -enc RwBlAHQALQBEAGEAdABlAA=="})
    ));
    // Plain (non-UTF-16) base64 of IEX is a different encoding and must not match.
    assert!(!hit(
        &s,
        &j!({"CommandLine": "powershell -enc SUVYIChOZXctT2JqZWN0"})
    ));
    let plain = set("  sel:\n    CommandLine|base64|contains: 'spinstall0.aspx'\n  condition: sel");
    let enc = base64::engine::general_purpose::STANDARD.encode("spinstall0.aspx");
    assert!(hit(&plain, &j!({"CommandLine": format!("x {enc} y")})));
    assert!(!hit(&plain, &j!({"CommandLine": "spinstall0.aspx"})));
}

// Modifiers appendix, `re` with i/m/s; regexes are case-sensitive by default.
#[test]
fn regex_flags() {
    let s = set("  sel:\n    A|re: '^ab.c$'\n  condition: sel");
    assert!(hit(&s, &j!({"A": "abXc"})));
    assert!(!hit(&s, &j!({"A": "ABXC"})));
    let s = set("  sel:\n    A|re|i: '^ab.c$'\n  condition: sel");
    assert!(hit(&s, &j!({"A": "ABXC"})));
    let s = set("  sel:\n    A|re|m: '^second$'\n  condition: sel");
    assert!(hit(&s, &j!({"A": "first\nsecond\nthird"})));
    let s = set("  sel:\n    A|re|s: 'a.b'\n  condition: sel");
    assert!(hit(&s, &j!({"A": "a\nb"})));
    let s = set("  sel:\n    A|re: 'a.b'\n  condition: sel");
    assert!(!hit(&s, &j!({"A": "a\nb"})));
}

// Modifiers appendix, `cased`.
#[test]
fn cased() {
    let s = set("  sel:\n    A|cased: 'CaSe'\n  condition: sel");
    assert!(hit(&s, &j!({"A": "CaSe"})));
    assert!(!hit(&s, &j!({"A": "case"})));
}

// Modifiers appendix, `cidr` v4 and v6.
#[test]
fn cidr() {
    let s =
        set("  sel:\n    Ip|cidr:\n      - '10.0.0.0/8'\n      - 'fe80::/10'\n  condition: sel");
    assert!(hit(&s, &j!({"Ip": "10.1.2.3"})));
    assert!(hit(&s, &j!({"Ip": "FE80::1"})));
    assert!(hit(&s, &j!({"Ip": "::ffff:10.9.9.9"})));
    assert!(!hit(&s, &j!({"Ip": "11.0.0.1"})));
    assert!(!hit(&s, &j!({"Ip": "not an ip"})));
}

// Modifiers appendix, numeric gt/gte/lt/lte; numbers compare to numeric text too.
#[test]
fn numeric() {
    let s = set("  sel:\n    N|gt: 10\n    M|lte: 5\n  condition: sel");
    assert!(hit(&s, &j!({"N": 11, "M": "5"})));
    assert!(!hit(&s, &j!({"N": 10, "M": 5})));
    assert!(!hit(&s, &j!({"N": "abc", "M": 5})));
    let s = set("  sel:\n    EventID: 4688\n    Mask: 0x10\n  condition: sel");
    assert!(hit(&s, &j!({"EventID": "4688", "Mask": 16})));
    assert!(hit(&s, &j!({"EventID": 4688, "Mask": "0x10"})));
    assert!(!hit(&s, &j!({"EventID": 4689, "Mask": 16})));
}

// Modifiers appendix, `neq`.
#[test]
fn neq() {
    let s = set("  sel:\n    A|neq: 'x'\n  condition: sel");
    assert!(hit(&s, &j!({"A": "y"})));
    assert!(!hit(&s, &j!({"A": "X"})));
}

// Modifiers appendix, `fieldref`: compare two fields of the same event.
#[test]
fn fieldref() {
    let s = set("  sel:\n    Image|fieldref: ParentImage\n  condition: sel");
    assert!(hit(
        &s,
        &j!({"Image": "C:\\a.exe", "ParentImage": "c:\\A.exe"})
    ));
    assert!(!hit(
        &s,
        &j!({"Image": "C:\\a.exe", "ParentImage": "c:\\b.exe"})
    ));
    assert!(!hit(&s, &j!({"Image": "C:\\a.exe"})));
}

// Rules spec "Placeholders": `expand` needs a value or the rule is rejected.
#[test]
fn expand_placeholders() {
    let det = "  sel:\n    Host|expand: '%Servers%'\n  condition: sel";
    let err = set_with(det, &LoadOptions::default()).unwrap_err();
    assert!(
        err.contains("%Servers%") && err.contains("Host|expand"),
        "{err}"
    );
    let mut opts = LoadOptions::default();
    opts.placeholders
        .insert("Servers".into(), vec!["srv*".into(), "dc01".into()]);
    let s = set_with(det, &opts).unwrap();
    assert!(hit(&s, &j!({"Host": "SRV42"})));
    assert!(hit(&s, &j!({"Host": "dc01"})));
    assert!(!hit(&s, &j!({"Host": "ws1"})));
}

// Rules spec "Placeholders": a tool that cannot give a placeholder its
// meaning must reject the rule. kahu gives a placeholder without a value the
// meaning of an empty value list (the modifiers appendix's "expand to value
// list", with no values): a field test against it never holds. Where the
// condition negates the search (an allow-list exclusion such as SigmaHQ's
// `filter_main_*`), an empty allow-list excludes nothing, so the rule runs
// and over-reports; where the search selects what the rule looks for, an
// empty list would silence the rule, so it is rejected.
#[test]
fn placeholder_without_value_in_a_negated_search_excludes_nothing() {
    let det = "  sel:\n    EventID: 4624\n  filter_main_admins:\n    User|expand: '%Administrators%'\n  condition: sel and not 1 of filter_main_*";
    let yaml = format!(
        "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  product: test\ndetection:\n{det}\n"
    );
    let r = RuleSet::from_yaml(&[("inline", &yaml)], &LoadOptions::default());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.compiled, 1);
    // One note names the placeholder and the exclusion left empty.
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    let note = r.notes[0].to_string();
    assert!(
        note.contains("%Administrators%") && note.contains("filter_main_admins"),
        "{note}"
    );
    let s = &r.ruleset;
    // Nothing is excluded: the administrator's logon is reported too.
    assert!(hit(s, &j!({"EventID": 4624, "User": "alice"})));
    assert!(hit(s, &j!({"EventID": 4624, "User": "adm_bob"})));
    assert!(!hit(s, &j!({"EventID": 4625, "User": "alice"})));
    // The finding says which exclusion was not applied.
    let f = s.finding(RuleIdx(0), &j!({"EventID": 4624, "User": "adm_bob"}));
    let unapplied = f
        .fields
        .iter()
        .find(|(k, _)| &**k == "UnappliedExclusions")
        .map(|(_, v)| v.to_string());
    assert_eq!(
        unapplied.as_deref(),
        Some("filter_main_admins (%Administrators% has no value)")
    );
    // With a value the exclusion applies, and there is no note.
    let mut opts = LoadOptions::default();
    opts.placeholders
        .insert("Administrators".into(), vec!["adm_*".into()]);
    let r = RuleSet::from_yaml(&[("inline", &yaml)], &opts);
    assert!(r.errors.is_empty() && r.notes.is_empty(), "{:?}", r.notes);
    assert!(hit(&r.ruleset, &j!({"EventID": 4624, "User": "alice"})));
    assert!(!hit(&r.ruleset, &j!({"EventID": 4624, "User": "adm_bob"})));
}

#[test]
fn placeholder_without_value_keeps_the_other_values_of_an_exclusion() {
    // `User|expand: [svc_backup, '%Administrators%']`: the written value
    // still excludes; only the placeholder's part of the list is empty.
    let s = set(
        "  sel:\n    EventID: 4624\n  filter:\n    User|expand:\n      - svc_backup\n      - '%Administrators%'\n  condition: sel and not filter",
    );
    assert!(!hit(&s, &j!({"EventID": 4624, "User": "svc_backup"})));
    assert!(hit(&s, &j!({"EventID": 4624, "User": "adm_bob"})));
    // In an AND with another field the whole alternative can never hold.
    let s = set(
        "  sel:\n    EventID: 4624\n  filter:\n    LogonType: 3\n    IpAddress|expand: '%dc_ip_addresses%'\n  condition: sel and not filter",
    );
    assert!(hit(
        &s,
        &j!({"EventID": 4624, "LogonType": 3, "IpAddress": "10.0.0.1"})
    ));
}

#[test]
fn placeholder_without_value_that_selects_is_rejected() {
    for cond in [
        "sel",
        "1 of sel*",
        "sel and not filter",
        // Two negations make the search select again.
        "filter and not (other and not sel)",
    ] {
        let det = format!(
            "  sel:\n    Computer|expand: '%DomainControllers%'\n  filter:\n    A: 1\n  other:\n    B: 1\n  condition: {cond}"
        );
        let err = set_with(&det, &LoadOptions::default()).unwrap_err();
        assert!(
            err.contains("%DomainControllers%")
                && err.contains("detection.sel.Computer|expand")
                && err.contains("selects"),
            "{cond}: {err}"
        );
    }
    // A condition that only excludes would report every event of the log source.
    let err = set_with(
        "  filter:\n    Location|expand: '%KnownLocations%'\n  condition: not filter",
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.contains("%KnownLocations%") && err.contains("every event"),
        "{err}"
    );
    // `all` needs every value, so an empty list has no meaning there.
    let err = set_with(
        "  sel:\n    A: 1\n  filter:\n    User|all|expand:\n      - x\n      - '%Administrators%'\n  condition: sel and not filter",
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(err.contains("`all`"), "{err}");
}

// Filters specification: a global filter's searches are excluded from the
// rules it names, so a placeholder without a value there excludes nothing.
#[test]
fn placeholder_without_value_in_a_global_filter_excludes_nothing() {
    let yaml = "title: base\nid: 6f3e2987-db24-4c78-a860-b4f4095a7095\nlogsource:\n  product: test\ndetection:\n  sel:\n    Image|endswith: '\\rar.exe'\n  condition: sel\n---\ntitle: Filter admins\nlogsource:\n  product: test\nfilter:\n  rules:\n    - 6f3e2987-db24-4c78-a860-b4f4095a7095\n  selection:\n    User|expand: '%Administrators%'\n  condition: selection\n";
    let r = RuleSet::from_yaml(&[("x", yaml)], &LoadOptions::default());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    assert!(hit(
        &r.ruleset,
        &j!({"Image": "c:\\rar.exe", "User": "adm_bob"})
    ));
}

// Rules spec "Condition": `1 of`, `all of`, `them` excluding `_` names, precedence.
#[test]
fn conditions() {
    let det = "  sel_a:\n    A: 1\n  sel_b:\n    B: 1\n  _aux:\n    C: 1\n  filter:\n    F: 1\n";
    let s = set(&format!("{det}  condition: 1 of sel_* and not filter"));
    assert!(hit(&s, &j!({"B": 1})));
    assert!(!hit(&s, &j!({"B": 1, "F": 1})));
    let s = set(&format!("{det}  condition: all of sel_*"));
    assert!(hit(&s, &j!({"A": 1, "B": 1})));
    assert!(!hit(&s, &j!({"A": 1})));
    let s = set(&format!("{det}  condition: all of them"));
    assert!(hit(&s, &j!({"A": 1, "B": 1, "F": 1})));
    let s = set(&format!("{det}  condition: 2 of them"));
    assert!(hit(&s, &j!({"A": 1, "F": 1})));
    assert!(!hit(&s, &j!({"A": 1, "C": 1})));
    let s = set(&format!("{det}  condition: sel_a or sel_b and filter"));
    assert!(hit(&s, &j!({"A": 1})));
    assert!(!hit(&s, &j!({"B": 1})));
    let s = set(&format!(
        "{det}  condition: (sel_a or sel_b) and not (filter or _aux)"
    ));
    assert!(hit(&s, &j!({"A": 1})));
    assert!(!hit(&s, &j!({"A": 1, "C": 1})));
    let s = set(&format!(
        "{det}  condition:\n    - sel_a and filter\n    - sel_b"
    ));
    assert!(hit(&s, &j!({"B": 1})));
    assert!(!hit(&s, &j!({"A": 1})));
}

#[test]
fn precise_rejections() {
    let e = set_with(
        "  sel:\n    A|frobnicate: 1\n  condition: sel",
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        e.contains("unknown modifier `frobnicate`") && e.contains("detection.sel.A|frobnicate"),
        "{e}"
    );
    let e = set_with(
        "  sel:\n    A: 1\n  condition: sel and nope",
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(e.contains("`nope`"), "{e}");
    let e = set_with(
        "  sel:\n    A|re: '(unclosed'\n  condition: sel",
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(e.contains("invalid regular expression"), "{e}");
    let e = set_with(
        "  sel:\n    A: 1\n  condition: 1 of filter_*",
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(e.contains("matches no search identifier"), "{e}");
}

// Windows routing and the 4688 field mapping.
#[test]
fn process_creation_on_security_4688() {
    let yaml = "title: t\nid: r1\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n    IntegrityLevel: High\n    User|contains: 'CORP\\'\n  condition: sel\n";
    let s = RuleSet::from_yaml(&[("x", yaml)], &LoadOptions::default()).ruleset;
    let mut sec = ev(
        serde_json::json!({"NewProcessName": "C:\\Windows\\System32\\whoami.exe", "MandatoryLabel": "S-1-16-12288", "SubjectUserName": "bob", "SubjectDomainName": "CORP"}),
    );
    sec.logsource = LogSource::default();
    sec.channel = Some("Security".into());
    sec.event_id = Some(4688);
    assert!(hit(&s, &sec));
    let mut sysmon = ev(
        serde_json::json!({"Image": "C:\\Windows\\System32\\whoami.exe", "IntegrityLevel": "High", "User": "CORP\\bob"}),
    );
    sysmon.logsource = LogSource::default();
    sysmon.channel = Some("Microsoft-Windows-Sysmon/Operational".into());
    sysmon.event_id = Some(1);
    assert!(hit(&s, &sysmon));
    sysmon.event_id = Some(3);
    assert!(
        !hit(&s, &sysmon),
        "network events must not reach process_creation rules"
    );
}

#[test]
fn correlations_are_deferred() {
    let yaml = "title: base\nid: b1\nname: base_rule\nlogsource:\n  product: test\ndetection:\n  sel:\n    A: 1\n  condition: sel\n---\ntitle: corr\nid: c1\ncorrelation:\n  type: event_count\n  rules: [base_rule]\n  group-by: [A]\n  timespan: 1h\n  condition:\n    gte: 5\n";
    let r = RuleSet::from_yaml(&[("x", yaml)], &LoadOptions::default());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.ruleset.len(), 1);
    assert_eq!(r.correlations.len(), 1);
    assert_eq!(&*r.correlations[0].id, "c1");
    assert_eq!(r.ruleset.find("base_rule"), Some(RuleIdx(0)));
}

// Filters specification: a global filter excludes events from the named rules.
#[test]
fn global_filter_applies() {
    let yaml = "title: base\nid: 6f3e2987-db24-4c78-a860-b4f4095a7095\nlogsource:\n  product: test\ndetection:\n  sel:\n    Image|endswith: '\\rar.exe'\n  condition: sel\n---\ntitle: Filter admins\nlogsource:\n  product: test\nfilter:\n  rules:\n    - 6f3e2987-db24-4c78-a860-b4f4095a7095\n  selection:\n    User|startswith: 'adm_'\n  condition: selection\n";
    let r = RuleSet::from_yaml(&[("x", yaml)], &LoadOptions::default());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.filters.len(), 1);
    let s = &r.ruleset;
    assert!(hit(s, &j!({"Image": "c:\\rar.exe", "User": "bob"})));
    assert!(!hit(s, &j!({"Image": "c:\\rar.exe", "User": "adm_bob"})));
}

#[test]
fn status_and_level_filters() {
    let yaml = "title: t\nstatus: deprecated\nlevel: high\nlogsource:\n  product: test\ndetection:\n  sel:\n    A: 1\n  condition: sel\n---\ntitle: u\nlevel: low\nlogsource:\n  product: test\ndetection:\n  sel:\n    A: 1\n  condition: sel\n";
    let r = RuleSet::from_yaml(&[("x", yaml)], &LoadOptions::default());
    assert_eq!((r.ruleset.len(), r.skipped), (1, 1));
    let opts = LoadOptions {
        min_level: kahu_finding::Level::Medium,
        ..LoadOptions::default()
    };
    let r = RuleSet::from_yaml(&[("x", yaml)], &opts);
    assert_eq!((r.ruleset.len(), r.skipped), (0, 2));
}

#[test]
fn finding_carries_attack_ids() {
    let yaml = "title: t\nid: r1\nlevel: high\ntags: [attack.execution, attack.t1059.001, attack.g0065]\nlogsource:\n  product: test\ndetection:\n  sel:\n    CommandLine|contains: evil\n  condition: sel\n";
    let s = RuleSet::from_yaml(&[("x", yaml)], &LoadOptions::default()).ruleset;
    let e = j!({"CommandLine": "run evil"});
    assert!(hit(&s, &e));
    let f = s.finding(RuleIdx(0), &e);
    assert_eq!(&*f.rule_id, "r1");
    assert_eq!(f.level, kahu_finding::Level::High);
    assert_eq!(f.techniques, vec![std::sync::Arc::from("T1059.001")]);
    assert_eq!(f.groups, vec![std::sync::Arc::from("G0065")]);
    assert_eq!(kahu_finding::field(&f, "CommandLine"), Some("run evil"));
}

#[test]
fn substring_lists_via_shared_scan() {
    let s = set(
        "  sel:\n    CommandLine|contains:\n      - 'aa'\n      - 'bb'\n      - 'cc'\n      - 'dd'\n  condition: sel",
    );
    assert!(hit(&s, &j!({"CommandLine": "x BB y"})));
    assert!(!hit(&s, &j!({"CommandLine": "x b b y"})));
    let s = set("  sel:\n    CommandLine|contains: 'aa'\n  condition: sel");
    assert!(hit(&s, &j!({"CommandLine": "x aa y"})), "single");
}

// Field names compare exactly first, then ASCII case-insensitively (the
// Bloom filter over names must agree), dotted names also descend into
// objects, and typed members stand in for absent Windows names.
#[test]
fn field_name_lookup() {
    let s = set("  sel:\n    CommandLine|contains: 'x'\n  condition: sel");
    assert!(hit(&s, &j!({"commandline": "axb"})));
    assert!(hit(&s, &j!({"a": 1, "COMMANDLINE": "x", "b": 2})));
    assert!(!hit(&s, &j!({"CommandLin": "x", "CommandLinf": "x"})));
    assert!(!hit(&s, &j!({})));
    let s = set("  sel:\n    process.name: 'x'\n  condition: sel");
    assert!(hit(&s, &j!({"process": {"name": "X"}})));
    assert!(hit(&s, &j!({"process.name": "x"})));
    let s = set("  sel:\n    EventID: 4624\n  condition: sel");
    let mut e = j!({"a": 1});
    e.event_id = Some(4624);
    assert!(hit(&s, &e));
}

// Several rule sets evaluated in turn on the same thread (`hunt` runs the
// bundled set and the analyst's on every event) keep separate scratch: the
// per-event caches of one set (field slots, needle hits) never answer for
// another, also with more sets than a thread keeps scratch for.
#[test]
fn interleaved_rule_sets_match_as_each_alone() {
    let sets = [
        set("  sel:\n    CommandLine|contains: ' -enc '\n  condition: sel"),
        set("  sel:\n    Image|endswith: '\\powershell.exe'\n  condition: sel"),
        set("  sel:\n    CommandLine|contains: 'mimikatz'\n  condition: sel"),
        set("  sel:\n    User|startswith: 'NT AUTHORITY'\n  condition: sel"),
        set("  sel:\n    - 'sekurlsa'\n  condition: sel"),
        set("  sel:\n    Image|contains: 'cmd'\n  condition: sel"),
    ];
    let events = [
        j!({"CommandLine": "powershell -enc AAAA", "Image": "C:\\x\\powershell.exe"}),
        j!({"CommandLine": "mimikatz sekurlsa::logonpasswords", "Image": "C:\\cmd.exe"}),
        j!({"User": "NT AUTHORITY\\SYSTEM", "Image": "C:\\Windows\\explorer.exe"}),
        j!({"Other": "nothing here"}),
    ];
    // Expected, from the rules and events above (each set alone).
    let want = [
        [true, true, false, false, false, false],
        [false, false, true, false, true, true],
        [false, false, false, true, false, false],
        [false, false, false, false, false, false],
    ];
    // Interleaved: every set on each event in turn, twice over, so each set
    // meets events while another set's scratch is the most recent one.
    for _ in 0..2 {
        for (e, row) in events.iter().zip(&want) {
            for (s, expected) in sets.iter().zip(row) {
                assert_eq!(hit(s, e), *expected);
            }
        }
    }
}
