//! Memory and throughput of `Analytics` on a long synthetic stream with many
//! distinct keys: `N` logon events (4625/4624 mix, 4769, Sysmon 1) over `A`
//! accounts and 4,096 sources, arriving out of order within 1-hour blocks.
//!
//! Run: `cargo bench -p kahu-reconstruct --bench stream -- [events] [accounts]`
//! (defaults 5,000,000 and 1,000,000). Peak memory: run the built binary
//! under `/usr/bin/time -v`.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::{Event, Location, Provenance, Value};
use kahu_reconstruct::Analytics;
use std::sync::Arc;
use std::time::Instant;

/// Deterministic xorshift so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn make(i: u64, rng: &mut Rng, accounts: u64, file: &Arc<str>, hosts: &[Arc<str>]) -> Event {
    let r = rng.next();
    let mut e = Event::new(Provenance::new(file.clone(), Location::Record(i)));
    // Out of order: shuffle within one-hour blocks.
    let block = (i / 100_000) as i64 * 3600;
    e.timestamp = chrono::DateTime::from_timestamp(1_700_000_000 + block + (r % 3600) as i64, 0);
    e.host = Some(hosts[(r >> 12) as usize % hosts.len()].clone());
    let acct = format!("user{}", (r >> 20) % accounts);
    let ip = format!(
        "10.{}.{}.{}",
        (r >> 40) % 16,
        (r >> 44) % 16,
        (r >> 48) % 16
    );
    match r % 10 {
        0..=5 => {
            e.channel = Some("Security".into());
            e.event_id = Some(if r % 10 < 4 { 4625 } else { 4624 });
            e.fields.insert("TargetUserName", Value::from(acct));
            e.fields.insert("IpAddress", Value::from(ip));
            e.fields.insert(
                "LogonType",
                Value::Int(if r.is_multiple_of(3) { 10 } else { 3 }),
            );
            e.fields.insert("SubStatus", Value::str("0xC000006A"));
        }
        6 => {
            e.channel = Some("Security".into());
            e.event_id = Some(4769);
            e.fields.insert("TargetUserName", Value::from(acct));
            e.fields
                .insert("ServiceName", Value::from(format!("svc{}", (r >> 30) % 64)));
            e.fields.insert("TicketEncryptionType", Value::str("0x17"));
            e.fields.insert("IpAddress", Value::from(ip));
            e.fields.insert("Status", Value::str("0x0"));
        }
        _ => {
            e.channel = Some("Microsoft-Windows-Sysmon/Operational".into());
            e.event_id = Some(1);
            e.fields.insert(
                "Image",
                Value::from(format!("C:\\Tools\\t{}.exe", (r >> 24) % 200_000)),
            );
            e.fields.insert("CommandLine", Value::str("tool.exe --run"));
            e.fields.insert("User", Value::from(acct));
        }
    }
    e
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(5_000_000);
    let accounts = args.get(1).copied().unwrap_or(1_000_000);
    let file: Arc<str> = Arc::from("synthetic.evtx");
    let hosts: Vec<Arc<str>> = (0..500).map(|h| Arc::from(format!("WS{h:04}"))).collect();

    // Generation alone, to subtract from the total.
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let t = Instant::now();
    let mut sink = 0usize;
    for i in 0..n {
        sink += make(i, &mut rng, accounts, &file, &hosts).fields.len();
    }
    let gen_secs = t.elapsed().as_secs_f64();

    let mut rng = Rng(0x9E3779B97F4A7C15);
    let mut a = Analytics::default();
    let t = Instant::now();
    for i in 0..n {
        a.observe(&make(i, &mut rng, accounts, &file, &hosts));
    }
    let total = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let r = a.finish();
    let finish = t.elapsed().as_secs_f64();
    let observe = (total - gen_secs).max(1e-9);
    println!(
        "events={n} accounts={accounts} generate={gen_secs:.2}s generate+observe={total:.2}s observe≈{observe:.2}s ({:.0} events/s) finish={finish:.2}s",
        n as f64 / observe
    );
    println!(
        "logon_rows={} account_rows={} brute_force={} spraying={} kerberoast={} stack_images={} dropped={:?} (check={sink})",
        r.logons.len(),
        r.accounts.len(),
        r.brute_force.len(),
        r.spraying.len(),
        r.kerberoasting.len(),
        r.process_stacks.distinct_images,
        r.dropped
    );
}
