//! Hostile evidence: damaged, truncated, malicious and bomb inputs must
//! never panic, hang or exhaust memory, and every good record must still be
//! read.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;

use common::{Collect, shared};
use kahu_event::Location;
use kahu_ingest::{Format, Input, Limits, Origin, Reader};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn origin() -> Origin {
    Origin {
        file: Arc::from("test"),
        member: None,
        host_hint: None,
        modified: None,
    }
}

fn read_bytes(name: &str, bytes: &[u8]) -> (Collect, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    let mut c = Collect::default();
    Reader::new().read_path(&p, &mut c).unwrap();
    (c, dir)
}

/// A real EVTX file with several chunks from the shared samples.
fn sample_evtx() -> Option<(PathBuf, Vec<u8>, usize)> {
    let dir = shared("evtx/EVTX-ATTACK-SAMPLES")?;
    // The largest sample, so truncation points fall in several chunks.
    let mut best: Option<(u64, PathBuf)> = None;
    for e in walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        if e.path().extension().is_some_and(|x| x == "evtx") {
            let len = e.metadata().unwrap().len();
            if best.as_ref().is_none_or(|b| len > b.0) {
                best = Some((len, e.into_path()));
            }
        }
    }
    let (_, p) = best?;
    let bytes = std::fs::read(&p).unwrap();
    let mut c = Collect::default();
    kahu_ingest::evtx::Evtx
        .read(Input::Memory(&bytes), &origin(), &mut c)
        .unwrap();
    assert!(c.warnings.is_empty());
    Some((p, bytes, c.events.len()))
}

#[test]
fn truncated_evtx_keeps_whole_chunks() {
    let Some((_, bytes, total)) = sample_evtx() else {
        return;
    };
    assert!(
        bytes.len() > 4096 + 2 * 65536,
        "sample too small to cut into chunks"
    );
    let mut last = 0;
    for cut in [
        0,
        7,
        4096,
        4096 + 100,
        4096 + 65536,
        4096 + 65536 + 3000,
        bytes.len() - 1,
    ] {
        let mut c = Collect::default();
        kahu_ingest::evtx::Evtx
            .read(Input::Memory(&bytes[..cut]), &origin(), &mut c)
            .unwrap();
        // Every whole chunk before the cut is read.
        let whole_chunks = cut.saturating_sub(4096) / 65536;
        if whole_chunks > 0 {
            assert!(!c.events.is_empty(), "cut at {cut}: whole chunks lost");
        }
        assert!(c.events.len() <= total);
        assert!(
            c.events.len() >= last || cut == bytes.len() - 1,
            "cut at {cut}: fewer events than a shorter cut"
        );
        last = c.events.len();
        if cut < 4096 {
            assert_eq!(c.events.len(), 0);
            assert_eq!(c.warnings.len(), 1, "cut at {cut}: {:?}", c.warnings);
        }
        // A cut inside a chunk is reported with the chunk's offset.
        if cut > 4096 && (cut - 4096) % 65536 != 0 {
            let partial = (4096 + (cut - 4096) / 65536 * 65536) as u64;
            assert!(
                c.warnings.iter().any(|w| w.reason.contains("truncated")
                    && w.location == Some(kahu_event::Location::Offset(partial))),
                "cut at {cut}: no truncation warning at {partial}: {:?}",
                c.warnings
            );
        }
    }
}

#[test]
fn bit_flipped_evtx_never_panics_and_keeps_most_records() {
    let Some((_, bytes, total)) = sample_evtx() else {
        return;
    };
    // Deterministic pseudo-random flips.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..40 {
        let mut b = bytes.clone();
        for _ in 0..8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = 4096 + (x as usize % (b.len() - 4096));
            b[i] ^= 1 << (x % 8);
        }
        let mut c = Collect::default();
        kahu_ingest::evtx::Evtx
            .read(Input::Memory(&b), &origin(), &mut c)
            .unwrap();
        assert!(c.events.len() <= total + 8, "round {round}");
        for w in &c.warnings {
            assert!(
                w.location.is_some(),
                "round {round}: warning without position: {w}"
            );
        }
    }
}

#[test]
fn empty_and_header_only_evtx() {
    let (c, _d) = read_bytes("empty.evtx", b"");
    assert!(c.events.is_empty());
    let Some((_, bytes, _)) = sample_evtx() else {
        return;
    };
    let (c, _d) = read_bytes("header.evtx", &bytes[..4096]);
    assert!(c.events.is_empty());
    let (c, _d) = read_bytes("magic.evtx", b"ElfFile\0");
    assert!(c.events.is_empty());
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
}

#[test]
fn malformed_json_lines_are_skipped_by_line_number() {
    let text = concat!(
        r#"{"@timestamp":"2024-01-01T00:00:00Z","EventID":1,"Hostname":"a","Channel":"x"}"#,
        "\n",
        r#"{"broken": "#,
        "\n",
        "\n",
        r#"{"ok": 2}"#,
        "\n",
        "not json at all\n",
        "[1,2]\n",
        r#"{"ok": 3}"#,
        "\r\n",
        "{\"ok\": \"\u{00e9}\"}\n",
        r#"{"ok": 5"#,
    );
    let (c, _d) = read_bytes("mixed.jsonl", text.as_bytes());
    assert_eq!(c.events.len(), 4);
    let lines: Vec<_> = c.warnings.iter().map(|w| w.location).collect();
    assert_eq!(
        lines,
        vec![
            Some(Location::Line(2)),
            Some(Location::Line(5)),
            Some(Location::Line(6)),
            Some(Location::Line(9))
        ],
        "{:?}",
        c.warnings
    );
    assert_eq!(c.events[1].provenance.location, Location::Line(4));
    assert_eq!(c.events[2].provenance.location, Location::Line(7));
}

#[test]
fn overlong_json_line_is_skipped_with_a_warning() {
    let mut text = String::from("{\"a\":1}\n{\"big\":\"");
    text.push_str(&"x".repeat(kahu_ingest::json::MAX_LINE + 10));
    text.push_str("\"}\n{\"a\":3}\n");
    let (c, _d) = read_bytes("long.jsonl", text.as_bytes());
    assert_eq!(c.events.len(), 2);
    assert_eq!(c.warnings.len(), 1);
    assert_eq!(c.warnings[0].location, Some(Location::Line(2)));
}

fn zip_with(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in members {
            z.start_file(*name, opts).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

#[test]
fn zip_with_traversal_names_is_reported_and_read_in_memory() {
    let z = zip_with(&[
        ("../../etc/evil.jsonl", b"{\"a\":1}\n"),
        ("/abs/x.jsonl", b"{\"a\":2}\n"),
        ("ok.jsonl", b"{\"a\":3}\n"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.zip");
    std::fs::write(&p, &z).unwrap();
    let mut c = Collect::default();
    let inv = Reader::new().read_path(&p, &mut c).unwrap();
    assert_eq!(c.events.len(), 3);
    let traversal: Vec<_> = c
        .warnings
        .iter()
        .filter(|w| w.reason.contains("path traversal"))
        .collect();
    assert_eq!(traversal.len(), 2, "{:?}", c.warnings);
    assert_eq!(traversal[0].member.as_deref(), Some("../../etc/evil.jsonl"));
    // Nothing was written next to the archive or above it.
    assert!(!dir.path().join("../etc/evil.jsonl").exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert_eq!(inv.len(), 4, "{inv:?}");
}

#[test]
fn zip_bomb_stops_at_the_cap() {
    let zeros = vec![0u8; 8 << 20];
    let z = zip_with(&[("bomb.bin", &zeros), ("after.jsonl", b"{\"a\":1}\n")]);
    assert!(z.len() < 64 << 10, "test bomb should compress well");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.zip");
    std::fs::write(&p, &z).unwrap();
    let limits = Limits {
        max_member: 1 << 20,
        ..Limits::default()
    };
    let mut c = Collect::default();
    Reader::new()
        .with_limits(limits)
        .read_path(&p, &mut c)
        .unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.reason.contains("archive bomb") && w.member.as_deref() == Some("bomb.bin")),
        "{:?}",
        c.warnings
    );
    assert_eq!(c.events.len(), 1, "members after the bomb are still read");

    // The total allowance: two members that fit alone but not together.
    let half = vec![b' '; 600 << 10];
    let z = zip_with(&[("a.txt", &half), ("b.txt", &half)]);
    std::fs::write(&p, &z).unwrap();
    let limits = Limits {
        max_member: 1 << 20,
        max_total: 1 << 20,
        ..Limits::default()
    };
    let mut c = Collect::default();
    Reader::new()
        .with_limits(limits)
        .read_path(&p, &mut c)
        .unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.reason.contains("remaining expansion allowance")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn zip_member_lying_about_its_size_is_capped() {
    // Declare 100 bytes, deliver 4 MiB: patch the sizes in the headers.
    let data = vec![b'a'; 4 << 20];
    let mut z = zip_with(&[("liar.txt", &data)]);
    let real = (4u32 << 20).to_le_bytes();
    let fake = 100u32.to_le_bytes();
    let mut patched = 0;
    let mut i = 0;
    while i + 4 <= z.len() {
        if z[i..i + 4] == real {
            z[i..i + 4].copy_from_slice(&fake);
            patched += 1;
        }
        i += 1;
    }
    assert!(patched >= 2);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("liar.zip");
    std::fs::write(&p, &z).unwrap();
    let limits = Limits {
        max_member: 1 << 20,
        ..Limits::default()
    };
    let mut c = Collect::default();
    Reader::new()
        .with_limits(limits)
        .read_path(&p, &mut c)
        .unwrap();
    assert!(!c.warnings.is_empty());
    assert!(c.events.is_empty());
}

#[test]
fn gz_that_is_not_gzip() {
    let (c, _d) = read_bytes("fake.json.gz", b"{\"a\": 1}\n");
    // Content decides: this is JSON with a misleading name.
    assert_eq!(c.events.len(), 1);
    let (c, _d) = read_bytes(
        "bad.gz",
        &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff],
    );
    assert!(c.events.is_empty());
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].reason.contains("gzip"));
}

#[test]
fn truncated_gzip_keeps_what_decompressed() {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..20_000 {
        writeln!(enc, "{{\"n\":{i},\"pad\":\"{}\"}}", i * 7919).unwrap();
    }
    let gz = enc.finish().unwrap();
    let (c, _d) = read_bytes("t.jsonl.gz", &gz[..gz.len() / 2]);
    assert!(c.events.len() > 1000, "{}", c.events.len());
    assert!(c.warnings.iter().any(|w| w.reason.contains("truncated")));
}

#[test]
fn deeply_nested_archives_stop_at_the_depth_limit() {
    let mut data = zip_with(&[("x.jsonl", b"{\"a\":1}\n")]);
    for i in 0..10 {
        let name = format!("n{i}.zip");
        data = zip_with(&[(&name, &data)]);
    }
    let (c, _d) = read_bytes("deep.zip", &data);
    assert!(c.events.is_empty());
    assert!(
        c.warnings
            .iter()
            .any(|w| w.reason.contains("nested deeper")),
        "{:?}",
        c.warnings
    );

    // Within the limit, the innermost member is read.
    let mut data = zip_with(&[("x.jsonl", b"{\"a\":1}\n")]);
    data = zip_with(&[("in.zip", &data)]);
    let (c, _d) = read_bytes("shallow.zip", &data);
    assert_eq!(c.events.len(), 1);
    assert_eq!(
        c.events[0].provenance.member.as_deref(),
        Some("in.zip!x.jsonl")
    );
}

#[test]
fn tar_gz_and_unknown_files() {
    let mut tar = tar::Builder::new(Vec::new());
    let body = b"{\"a\":1}\n{\"a\":2}\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "dir/log.jsonl", &body[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_cksum();
    tar.append_data(&mut h, "bin.dat", &b"\x00\x01\x02\x03"[..])
        .unwrap();
    let tarball = tar.into_inner().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&tarball).unwrap();
    let tgz = enc.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.tgz");
    std::fs::write(&p, &tgz).unwrap();
    let mut c = Collect::default();
    let inv = Reader::new()
        .with_sha256(true)
        .read_path(&p, &mut c)
        .unwrap();
    assert_eq!(c.events.len(), 2);
    assert_eq!(
        c.events[0].provenance.member.as_deref(),
        Some("c.tar!dir/log.jsonl")
    );
    let unknown: Vec<_> = inv.iter().filter(|e| e.format.is_none()).collect();
    assert_eq!(unknown.len(), 1);
    assert_eq!(
        c.warnings.len(),
        1,
        "one warning per unrecognised file: {:?}",
        c.warnings
    );
    let log = inv
        .iter()
        .find(|e| e.member.as_deref() == Some("c.tar!dir/log.jsonl"))
        .unwrap();
    assert_eq!(log.events, 2);
    assert_eq!(log.format, Some("json"));
    // sha256 of the member's bytes, computed independently.
    use sha2::Digest;
    assert_eq!(
        log.sha256.as_deref(),
        Some(hex::encode(sha2::Sha256::digest(body)).as_str())
    );
}

#[test]
fn host_hint_fills_missing_hosts_only() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("WS7/C/Windows/System32/winevt/Logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("x.jsonl"),
        "{\"a\":1}\n{\"a\":2,\"hostname\":\"other\"}\n",
    )
    .unwrap();
    let mut c = Collect::default();
    Reader::new().read_path(dir.path(), &mut c).unwrap();
    assert_eq!(c.events[0].host.as_deref(), Some("WS7"));
    assert_eq!(c.events[1].host.as_deref(), Some("other"));
}

#[cfg(unix)]
#[test]
fn symlinks_inside_directories_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("a.jsonl"), "{\"a\":1}\n").unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
    std::fs::write(dir.path().join("b.jsonl"), "{\"a\":1}\n").unwrap();
    let mut c = Collect::default();
    Reader::new().read_path(dir.path(), &mut c).unwrap();
    assert_eq!(c.events.len(), 1);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.reason.contains("symbolic link"))
    );
}

#[test]
fn missing_path_is_an_error() {
    let mut c = Collect::default();
    assert!(
        Reader::new()
            .read_path(Path::new("/nonexistent/kahu/x"), &mut c)
            .is_err()
    );
}

#[test]
fn a_line_cut_by_a_truncated_gzip_is_left_out_and_named() {
    // The cut-off last record read as a whole one: "Failed password for
    // invali" still fired an SSH rule.
    let log = "Jan  1 00:00:01 bastion01 sshd[1]: Accepted password for alice from 192.0.2.1 port 1 ssh2\n\
               Jan  1 00:00:03 bastion01 sshd[2]: Failed password for invalid user admin from 192.0.2.9 port 2 ssh2\n";
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    enc.write_all(log.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    // Stored deflate: the bytes are the text; cut inside the second line.
    let at = gz
        .windows(6)
        .position(|w| w == b"invali")
        .expect("stored text")
        + 6;
    let (c, _d) = read_bytes("auth.log.1.gz", &gz[..at]);
    assert_eq!(c.events.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.reason.contains("line 2, cut off after") && w.reason.contains("is left out")),
        "{:?}",
        c.warnings
    );
}
