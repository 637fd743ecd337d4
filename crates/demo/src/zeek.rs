//! Zeek TSV log layouts (conn, dns, http) as written by Zeek 4.x.

use crate::out::FileKind;
use crate::rng::Rng;
use crate::time::{SEC, zeek_ts};

/// `conn.log`.
pub(crate) const CONN: FileKind = FileKind::Zeek {
    path: "conn",
    fields: &[
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "proto",
        "service",
        "duration",
        "orig_bytes",
        "resp_bytes",
        "conn_state",
        "local_orig",
        "local_resp",
        "missed_bytes",
        "history",
        "orig_pkts",
        "orig_ip_bytes",
        "resp_pkts",
        "resp_ip_bytes",
        "tunnel_parents",
    ],
    types: &[
        "time",
        "string",
        "addr",
        "port",
        "addr",
        "port",
        "enum",
        "string",
        "interval",
        "count",
        "count",
        "string",
        "bool",
        "bool",
        "count",
        "string",
        "count",
        "count",
        "count",
        "count",
        "set[string]",
    ],
};

/// `dns.log`.
pub(crate) const DNS: FileKind = FileKind::Zeek {
    path: "dns",
    fields: &[
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "proto",
        "trans_id",
        "rtt",
        "query",
        "qclass",
        "qclass_name",
        "qtype",
        "qtype_name",
        "rcode",
        "rcode_name",
        "AA",
        "TC",
        "RD",
        "RA",
        "Z",
        "answers",
        "TTLs",
        "rejected",
    ],
    types: &[
        "time",
        "string",
        "addr",
        "port",
        "addr",
        "port",
        "enum",
        "count",
        "interval",
        "string",
        "count",
        "string",
        "count",
        "string",
        "count",
        "string",
        "bool",
        "bool",
        "bool",
        "bool",
        "count",
        "vector[string]",
        "vector[interval]",
        "bool",
    ],
};

/// `http.log`.
pub(crate) const HTTP: FileKind = FileKind::Zeek {
    path: "http",
    fields: &[
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "trans_depth",
        "method",
        "host",
        "uri",
        "referrer",
        "version",
        "user_agent",
        "origin",
        "request_body_len",
        "response_body_len",
        "status_code",
        "status_msg",
        "info_code",
        "info_msg",
        "tags",
        "username",
        "password",
        "proxied",
        "orig_fuids",
        "orig_filenames",
        "orig_mime_types",
        "resp_fuids",
        "resp_filenames",
        "resp_mime_types",
    ],
    types: &[
        "time",
        "string",
        "addr",
        "port",
        "addr",
        "port",
        "count",
        "string",
        "string",
        "string",
        "string",
        "string",
        "string",
        "string",
        "count",
        "count",
        "count",
        "string",
        "count",
        "string",
        "set[enum]",
        "string",
        "string",
        "set[string]",
        "vector[string]",
        "vector[string]",
        "vector[string]",
        "vector[string]",
        "vector[string]",
        "vector[string]",
    ],
};

fn uid(rng: &mut Rng) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut s = String::from("C");
    for _ in 0..17 {
        s.push(A[rng.below(A.len() as u64) as usize] as char);
    }
    s
}

/// A TCP connection record.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conn_line(
    rng: &mut Rng,
    t: i64,
    src: &str,
    dst: &str,
    port: u16,
    service: &str,
    orig: u64,
    resp: u64,
) -> String {
    let dur = (orig + resp) as f64 / 2_000_000.0 + rng.below(3000) as f64 / 1000.0;
    let opk = orig / 1400 + 3 + rng.below(4);
    let rpk = resp / 1400 + 2 + rng.below(4);
    let local_resp = if dst.starts_with("10.") { "T" } else { "F" };
    format!(
        "{}\t{}\t{src}\t{}\t{dst}\t{port}\ttcp\t{service}\t{dur:.6}\t{orig}\t{resp}\tSF\tT\t{local_resp}\t0\tShADadfF\t{opk}\t{}\t{rpk}\t{}\t-",
        zeek_ts(t),
        uid(rng),
        49152 + rng.below(16000),
        orig + opk * 40,
        resp + rpk * 40
    )
}

/// A DNS query forwarded by the DC to the ISP resolver.
pub(crate) fn dns_line(rng: &mut Rng, t: i64, query: &str, answer: &str) -> String {
    format!(
        "{}\t{}\t10.20.1.10\t{}\t192.0.2.53\t53\tudp\t{}\t0.0{:02}{}\t{query}\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t{answer}\t300.000000\tF",
        zeek_ts(t),
        uid(rng),
        49152 + rng.below(16000),
        rng.below(65535),
        10 + rng.below(80),
        rng.below(10_000)
    )
}

/// A plain-HTTP request/response pair.
#[allow(clippy::too_many_arguments)]
pub(crate) fn http_line(
    rng: &mut Rng,
    t: i64,
    src: &str,
    dst: &str,
    port: u16,
    host: &str,
    uri: &str,
    ua: &str,
    resp_len: u64,
    mime: &str,
) -> String {
    format!(
        "{}\t{}\t{src}\t{}\t{dst}\t{port}\t1\tGET\t{host}\t{uri}\t-\t1.1\t{ua}\t-\t0\t{resp_len}\t200\tOK\t-\t-\t(empty)\t-\t-\t-\t-\t-\t-\tF{}\t-\t{mime}",
        zeek_ts(t + SEC / 10),
        uid(rng),
        49152 + rng.below(16000),
        rng.hex(16)
    )
}
