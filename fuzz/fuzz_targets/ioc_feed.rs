//! Fuzz the threat-intelligence feed loader: `IocSet::load_bytes` detects
//! and reads STIX 2.1 bundles (patterns, marking definitions, relationships),
//! MISP events, CSV and plain lists. Whatever loads is matched against one
//! fixed synthetic event, turned into findings, and exported back out as a
//! STIX bundle. Nothing may panic, hang or allocate without bound.
#![no_main]

use kahu_event::{Event, Location, Provenance, Value, parse_timestamp};
use kahu_intel::IocSet;
use libfuzzer_sys::fuzz_target;

/// The event every loaded feed is matched against: one value of each kind
/// the matcher indexes (IP, port, domain, URL, path, hash, file name,
/// e-mail, user agent, command line, registry key, ASN), so every index and
/// the scan list are probed. Keep in step with
/// `crates/intel/tests/fuzz_corpus.rs`.
fn event() -> Event {
    let mut e = Event::new(Provenance::new("fuzz.evtx".into(), Location::Record(1)));
    e.timestamp = parse_timestamp("2024-03-01T10:00:00Z");
    e.host = Some("WEB01".into());
    for (k, v) in [
        ("DestinationIp", "203.0.113.10"),
        ("DestinationPort", "8443"),
        ("SourceIp", "2001:db8::bad"),
        ("QueryName", "c2.evil.example"),
        ("url", "https://evil.example/gate.php?id=1"),
        ("cs-uri-stem", "/owa/auth/errorEE.aspx"),
        (
            "Hashes",
            "MD5=098F6BCD4621D373CADE4E832627B4F6,SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
        ),
        ("Image", r"C:\inetpub\wwwroot\shell.aspx"),
        ("CommandLine", "powershell.exe -nop -enc SQBFAFgA"),
        (
            "TargetObject",
            r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\updater",
        ),
        ("sender", "phish@bad.example"),
        ("cs(User-Agent)", "Mozilla/5.0+(kahu-fuzz)"),
        ("asn", "AS64500"),
    ] {
        e.fields.insert(k, Value::str(v));
    }
    e
}

fuzz_target!(|data: &[u8]| {
    let mut set = IocSet::new();
    // Context indicators (MISP to_ids=false, bare STIX observables) are
    // matched too, so their index entries are probed as well.
    set.set_match_context(true);
    if set.load_bytes(data, "fuzz").is_err() {
        return;
    }
    let _ = set.findings_for(&event());
    let _ = set.to_stix_bundle();
});
