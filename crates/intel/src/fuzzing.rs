//! Entry point of the `ioc_feed` cargo-fuzz target
//! (`fuzz/fuzz_targets/ioc_feed.rs`), shared with the corpus-replay test
//! (`tests/fuzz_corpus.rs`) so both drive the feed loader the same way.
//! Not part of kahu's interface.

use crate::{IntelError, IocSet, LoadReport};
use kahu_event::{Event, Location, Provenance, Value, parse_timestamp};
use kahu_finding::Finding;

/// The event every loaded feed is matched against: one value of each kind
/// the matcher indexes (IP, port, domain, URL, path, hash, file name,
/// e-mail, user agent, command line, registry key, ASN), so every index and
/// the scan list are probed.
pub fn probe_event() -> Event {
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

/// What one input produced.
#[derive(Debug)]
pub struct IocFeedOutcome {
    /// The load result of the input read as a feed.
    pub load: Result<LoadReport, IntelError>,
    /// Indicators in the set after loading.
    pub indicators: usize,
    /// Findings on [`probe_event`] (none when the load failed).
    pub findings: Vec<Finding>,
    /// Indicators in the exported STIX bundle (0 when the load failed).
    pub exported: usize,
}

/// `ioc_feed`: load `data` with format sniffing (STIX 2.1, MISP, CSV,
/// plain list), match the loaded indicators against [`probe_event`], turn
/// the matches into findings and export the set back out as a STIX bundle.
pub fn ioc_feed(data: &[u8]) -> IocFeedOutcome {
    let mut set = IocSet::new();
    // Context indicators (MISP to_ids=false, bare STIX observables) are
    // matched too, so their index entries are probed as well.
    set.set_match_context(true);
    let load = set.load_bytes(data, "fuzz");
    let mut out = IocFeedOutcome {
        indicators: set.len(),
        load,
        findings: Vec::new(),
        exported: 0,
    };
    if out.load.is_ok() {
        out.findings = set.findings_for(&probe_event());
        let bundle = set.to_stix_bundle();
        out.exported = bundle["objects"]
            .as_array()
            .map_or(0, |o| o.iter().filter(|o| o["type"] == "indicator").count());
    }
    out
}
