//! IOC load and match throughput at feed scale.
//!
//! `cargo bench -p kahu-intel --bench ioc_match`
//!
//! Builds one million synthetic mixed indicators (IPv4, CIDR, domains,
//! URLs, MD5/SHA-1/SHA-256, file names) as a plain list and as CSV, and a
//! STIX bundle (size from `KAHU_BENCH_STIX_N`, default 200,000), loads
//! each, then matches `KAHU_BENCH_EVENTS` (default 1,000,000) Sysmon-like
//! events cycled from a pool of 20,000 distinct ones, 0.5% of which carry
//! a listed value. Prints load time, resident memory growth and events/s
//! on one thread.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::{Event, Location, Provenance, Value};
use kahu_intel::IocSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64: deterministic and dependency-free.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            write!(s, "{:016x}", self.next()).unwrap();
        }
        s.truncate(n);
        s
    }
    fn word(&mut self) -> String {
        let n = 5 + (self.next() % 8) as usize;
        (0..n)
            .map(|_| (b'a' + (self.next() % 26) as u8) as char)
            .collect()
    }
}

/// Indicator `i` of the synthetic feed (deterministic in `i`).
fn indicator(i: u64) -> (&'static str, String) {
    let mut r = Rng(i.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xabad_cafe);
    match i % 20 {
        0..=5 => {
            let v = r.next();
            (
                "ip",
                format!(
                    "{}.{}.{}.{}",
                    11 + v % 200,
                    (v >> 8) & 255,
                    (v >> 16) & 255,
                    (v >> 24) & 255
                ),
            )
        }
        6 => {
            let v = r.next();
            (
                "cidr",
                format!(
                    "{}.{}.{}.0/24",
                    11 + v % 200,
                    (v >> 8) & 255,
                    (v >> 16) & 255
                ),
            )
        }
        7..=11 => ("domain", format!("{}.{}.example", r.word(), r.word())),
        12 | 13 => (
            "url",
            format!("http://{}.example/{}/{}.php", r.word(), r.word(), r.word()),
        ),
        14 | 15 => ("md5", r.hex(32)),
        16 => ("sha1", r.hex(40)),
        17 | 18 => ("sha256", r.hex(64)),
        _ => ("filename", format!("{}.exe", r.word())),
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn load(name: &str, text: &[u8], n: u64) -> IocSet {
    let before = rss_kib();
    let t = Instant::now();
    let mut set = IocSet::new();
    let r = set.load_bytes(text, name).expect("synthetic feed loads");
    let secs = t.elapsed().as_secs_f64();
    let mib = (rss_kib().saturating_sub(before)) as f64 / 1024.0;
    println!(
        "load {name:<10} {n:>9} indicators ({:>6.1} MiB input): {secs:6.2} s, {:>9.0} indicators/s, loaded {}, issues {}, RSS +{mib:.0} MiB",
        text.len() as f64 / 1048576.0,
        n as f64 / secs,
        r.loaded,
        r.issues.len()
    );
    set
}

fn event(r: &mut Rng, hit: Option<(&str, String)>) -> Event {
    let mut e = Event::new(Provenance::new(
        Arc::from("bench.evtx"),
        Location::Record(r.next() % 1_000_000),
    ));
    e.channel = Some(Arc::from("Microsoft-Windows-Sysmon/Operational"));
    e.event_id = Some(1);
    e.host = Some(Arc::from("WS-0042.corp.example.local"));
    let img = format!(r"C:\Program Files\{}\{}.exe", r.word(), r.word());
    e.fields
        .insert("UtcTime", Value::str("2024-03-01 10:00:00.123"));
    e.fields.insert(
        "ProcessGuid",
        Value::str(&format!("{{{}-{}}}", r.hex(8), r.hex(12))),
    );
    e.fields
        .insert("ProcessId", Value::Int((r.next() % 20000) as i64));
    e.fields.insert("Image", Value::str(&img));
    e.fields.insert(
        "CommandLine",
        Value::str(&format!(
            "\"{img}\" --config C:\\ProgramData\\{}\\{}.json -v /q",
            r.word(),
            r.word()
        )),
    );
    e.fields
        .insert("CurrentDirectory", Value::str(r"C:\Windows\system32\"));
    e.fields.insert("User", Value::str(r"CORP\svc_backup"));
    e.fields.insert("IntegrityLevel", Value::str("High"));
    e.fields.insert(
        "Hashes",
        Value::str(&format!(
            "SHA1={},MD5={},SHA256={},IMPHASH={}",
            r.hex(40),
            r.hex(32),
            r.hex(64),
            r.hex(32)
        )),
    );
    e.fields
        .insert("ParentImage", Value::str(r"C:\Windows\explorer.exe"));
    let v = r.next();
    e.fields.insert(
        "DestinationIp",
        Value::str(&format!(
            "10.{}.{}.{}",
            v & 255,
            (v >> 8) & 255,
            (v >> 16) & 255
        )),
    );
    e.fields.insert("DestinationPort", Value::Int(443));
    e.fields.insert(
        "DestinationHostname",
        Value::str(&format!("{}.corp.example.local", r.word())),
    );
    if let Some((ty, val)) = hit {
        let f = match ty {
            "ip" => "DestinationIp",
            "cidr" => {
                e.fields
                    .insert("DestinationIp", Value::str(&val.replace(".0/24", ".77")));
                return e;
            }
            "domain" => "QueryName",
            "url" => "url",
            "md5" | "sha1" | "sha256" => {
                e.fields.insert(
                    "Hashes",
                    Value::str(&format!(
                        "{}={val},IMPHASH={}",
                        ty.to_uppercase(),
                        r.hex(32)
                    )),
                );
                return e;
            }
            _ => {
                e.fields.insert(
                    "TargetFilename",
                    Value::str(&format!(r"C:\Users\Public\{val}")),
                );
                return e;
            }
        };
        e.fields.insert(f, Value::str(&val));
    }
    e
}

fn list_text(n: u64) -> String {
    let mut list = String::with_capacity(60 * n as usize);
    for i in 0..n {
        list.push_str(&indicator(i).1);
        list.push('\n');
    }
    list
}

fn csv_text(n: u64) -> String {
    let mut csv = String::from("indicator,type,description\n");
    for i in 0..n {
        let (ty, v) = indicator(i);
        writeln!(csv, "{v},{ty},synthetic feed row {}", i % 100).unwrap();
    }
    csv
}

fn stix_text(n: u64) -> String {
    let mut stix = String::from(
        "{\"type\":\"bundle\",\"id\":\"bundle--00000000-0000-4000-8000-000000000000\",\"objects\":[",
    );
    for i in 0..n {
        let (ty, v) = indicator(i);
        let pattern = match ty {
            "ip" | "cidr" => format!("[ipv4-addr:value = '{v}']"),
            "domain" => format!("[domain-name:value = '{v}']"),
            "url" => format!("[url:value = '{v}']"),
            "md5" => format!("[file:hashes.MD5 = '{v}']"),
            "sha1" => format!("[file:hashes.'SHA-1' = '{v}']"),
            "sha256" => format!("[file:hashes.'SHA-256' = '{v}']"),
            _ => format!("[file:name = '{v}']"),
        };
        if i > 0 {
            stix.push(',');
        }
        write!(
            stix,
            "{{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--00000000-0000-4000-8000-{i:012}\",\"created\":\"2024-01-01T00:00:00Z\",\"modified\":\"2024-01-01T00:00:00Z\",\"name\":\"synthetic {ty}\",\"pattern\":\"{pattern}\",\"pattern_type\":\"stix\",\"valid_from\":\"2020-01-01T00:00:00Z\",\"confidence\":70}}"
        )
        .unwrap();
    }
    stix.push_str("]}");
    stix
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Each part runs in its own process so resident-memory growth is
/// measured from a clean heap.
fn main() {
    let n = env_u64("KAHU_BENCH_N", 1_000_000);
    let Ok(part) = std::env::var("KAHU_BENCH_PART") else {
        println!(
            "machine: {} cores; kahu-intel ioc_match bench",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let exe = std::env::current_exe().expect("own path");
        for part in ["list", "csv", "stix", "match"] {
            let ok = std::process::Command::new(&exe)
                .env("KAHU_BENCH_PART", part)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "bench part {part} failed");
        }
        return;
    };
    match part.as_str() {
        "list" => drop(load("list", list_text(n).as_bytes(), n)),
        "csv" => drop(load("csv", csv_text(n).as_bytes(), n)),
        "stix" => {
            let sn = env_u64("KAHU_BENCH_STIX_N", 200_000);
            drop(load("stix", stix_text(sn).as_bytes(), sn));
        }
        _ => run_match(n, env_u64("KAHU_BENCH_EVENTS", 1_000_000)),
    }
}

fn run_match(n: u64, events: u64) {
    let set = load("list", list_text(n).as_bytes(), n);
    // Event pool: 0.5% carry a listed value.
    let mut r = Rng(42);
    let pool: Vec<Event> = (0..20_000u64)
        .map(|k| {
            let hit = (k % 200 == 0).then(|| indicator(r.next() % n));
            event(&mut r, hit)
        })
        .collect();
    let mut out = Vec::new();
    let mut matched = 0usize;
    let t = Instant::now();
    for k in 0..events {
        out.clear();
        set.match_event(&pool[(k % pool.len() as u64) as usize], &mut out);
        matched += out.len();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "match {events} events x {} indicators: {secs:.2} s, {:.0} events/s/thread, {:.2} us/event, {matched} matches",
        set.len(),
        events as f64 / secs,
        secs * 1e6 / events as f64
    );
    assert!(
        matched as u64 >= events / 200 * 9 / 10,
        "expected ~0.5% of events to match"
    );
}
