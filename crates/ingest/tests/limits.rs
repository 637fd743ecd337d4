//! Resource limits and evidence coverage: hostile inputs generated here
//! must stay inside the stated memory budgets, and evidence that used to be
//! dropped silently is read or reported.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;

use common::{Collect, shared};
use kahu_ingest::{Limits, Reader};
use std::io::Write;
use std::path::PathBuf;

fn zip_with(members: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(true);
        for (name, data) in members {
            z.start_file(*name, opts).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// A deflated zip whose one member is `size` zero bytes (ratio ~1000:1).
fn zip_bomb(size: usize) -> Vec<u8> {
    zip_with(
        &[
            ("bomb.bin", &vec![0u8; size]),
            ("after.jsonl", b"{\"a\":1}\n"),
        ],
        zip::CompressionMethod::Deflated,
    )
}

const MIB: u64 = 1 << 20;

#[test]
fn zip_bomb_is_stopped_by_the_ratio_check_long_before_the_member_cap() {
    let z = zip_bomb(32 << 20);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.zip");
    std::fs::write(&p, &z).unwrap();
    // The per-member cap alone would let all 32 MiB in.
    let limits = Limits {
        max_member: 64 * MIB,
        ratio_floor: MIB,
        ..Limits::default()
    };
    let reader = Reader::new().with_limits(limits);
    let mut c = Collect::default();
    reader.read_path(&p, &mut c).unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.member.as_deref() == Some("bomb.bin")
                && w.reason.contains("likely archive bomb")
                && w.reason.contains("250:1")),
        "{:?}",
        c.warnings
    );
    assert_eq!(c.events.len(), 1, "the member after the bomb is read");
    // Stopped a few MiB past the floor (the compressed input is read
    // ahead in blocks): the buffer never grew to the member.
    let peak = reader.peak_archive_memory();
    assert!(peak <= 8 * MIB, "peak {peak}");
}

#[test]
fn nested_stored_zips_stay_within_the_memory_budget() {
    let log = b"{\"a\":1}\n".repeat(400_000); // 3.2 MB
    let inner2 = zip_with(&[("x.jsonl", &log)], zip::CompressionMethod::Stored);
    let inner = zip_with(&[("inner2.zip", &inner2)], zip::CompressionMethod::Stored);
    let outer = zip_with(&[("inner.zip", &inner)], zip::CompressionMethod::Stored);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nested.zip");
    std::fs::write(&p, &outer).unwrap();
    let budget = 8 * MIB;
    let reader = Reader::new().with_limits(Limits {
        max_in_memory: budget,
        ..Limits::default()
    });
    let mut c = Collect::default();
    reader.read_path(&p, &mut c).unwrap();
    // inner.zip and inner2.zip fit (about 6.4 MB); x.jsonl does not.
    assert!(
        c.warnings.iter().any(
            |w| w.member.as_deref() == Some("inner.zip!inner2.zip!x.jsonl")
                && w.reason.contains("budget for archive members")
        ),
        "{:?}",
        c.warnings
    );
    let peak = reader.peak_archive_memory();
    assert!(peak <= budget, "peak {peak}");
    assert!(peak > 4 * MIB, "the two outer levels were held: {peak}");
}

#[test]
fn bombs_read_in_parallel_share_one_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    // Stored members: no ratio to catch, only the shared budget bounds them.
    let member = vec![b'x'; 6 << 20];
    let z = zip_with(&[("big.log", &member)], zip::CompressionMethod::Stored);
    let paths: Vec<PathBuf> = (0..6)
        .map(|i| {
            let p = dir.path().join(format!("b{i}.zip"));
            std::fs::write(&p, &z).unwrap();
            p
        })
        .collect();
    let budget = 10 * MIB;
    let reader = Reader::new().with_limits(Limits {
        max_in_memory: budget,
        ..Limits::default()
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let read = pool.install(|| reader.read_paths_parallel(&paths, Collect::default));
    let peak = reader.peak_archive_memory();
    assert!(peak <= budget, "peak {peak} over the budget {budget}");
    assert!(peak >= 6 * MIB, "members were read: {peak}");
    // Every member was either read (no reader knows `x…`) or skipped with a reason.
    let reported = read
        .sinks
        .iter()
        .flat_map(|s| &s.warnings)
        .filter(|w| w.member.as_deref() == Some("big.log"))
        .count();
    assert_eq!(reported, 6, "one warning per member");
}

fn read_file(name: &str, bytes: &[u8]) -> Collect {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    let mut c = Collect::default();
    Reader::new().read_path(&p, &mut c).unwrap();
    c
}

#[test]
fn an_overlong_first_json_line_is_held_to_the_line_cap() {
    // Too long for format sniffing to see its end, so it is not recognised
    // as JSON lines; it must still not be read whole.
    let mut text = String::from("{\"big\":\"");
    text.push_str(&"x".repeat(kahu_ingest::json::MAX_LINE + 10));
    text.push_str("\"}\n{\"a\":2}\n{\"a\":3}\n");
    let c = read_file("first.jsonl", text.as_bytes());
    assert_eq!(c.events.len(), 2, "{:?}", c.warnings);
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert_eq!(c.warnings[0].location, Some(kahu_event::Location::Line(1)));
    assert!(c.warnings[0].reason.contains("-byte limit"));
}

#[test]
fn invalid_utf8_in_a_json_record_keeps_the_record_with_a_warning() {
    // nginx `escape=json` passes Latin-1 bytes through.
    let line = b"{\"EventID\":1,\"request\":\"GET /caf\xe9\"}\n";
    let mut jsonl = b"{\"EventID\":0}\n".to_vec();
    jsonl.extend_from_slice(line);
    let mut doc = b"[\n".to_vec();
    doc.extend_from_slice(&line[..line.len() - 1]);
    doc.extend_from_slice(b"\n]\n");
    for (name, bytes, events, line_no) in [("n.jsonl", jsonl, 2, 2), ("n.json", doc, 1, 2)] {
        let c = read_file(name, &bytes);
        assert_eq!(c.events.len(), events, "{name}: {:?}", c.warnings);
        let ev = c.events.last().unwrap();
        let got = ev
            .fields
            .get("request")
            .and_then(|v| v.as_text())
            .map(|t| t.into_owned());
        assert_eq!(got.as_deref(), Some("GET /caf\u{fffd}"), "{name}");
        assert_eq!(c.warnings.len(), 1, "{name}: {:?}", c.warnings);
        assert_eq!(
            c.warnings[0].location,
            Some(kahu_event::Location::Line(line_no))
        );
        assert!(c.warnings[0].reason.contains("invalid UTF-8"), "{name}");
    }
}

#[cfg(unix)]
#[test]
fn a_link_given_as_the_evidence_path_is_followed_but_links_inside_directories_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join("a.jsonl"), "{\"a\":1}\n{\"a\":2}\n").unwrap();
    let top = dir.path().join("given.jsonl");
    std::os::unix::fs::symlink(real.join("a.jsonl"), &top).unwrap();
    let mut c = Collect::default();
    let inv = Reader::new().read_path(&top, &mut c).unwrap();
    assert_eq!(c.events.len(), 2, "{:?}", c.warnings);
    assert_eq!(inv.len(), 1);
    assert_eq!(&*inv[0].path, top.to_string_lossy());
    // Inside a directory, a link is still reported and not read.
    let col = dir.path().join("collection");
    std::fs::create_dir(&col).unwrap();
    std::os::unix::fs::symlink(real.join("a.jsonl"), col.join("inner.jsonl")).unwrap();
    let mut c = Collect::default();
    Reader::new().read_path(&col, &mut c).unwrap();
    assert_eq!(c.events.len(), 0);
    assert!(c.warnings[0].reason.contains("symbolic link not followed"));
}

#[cfg(unix)]
#[test]
fn a_named_pipe_or_a_device_in_the_evidence_is_reported_and_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let col = dir.path().join("collection");
    std::fs::create_dir(&col).unwrap();
    std::fs::write(col.join("a.jsonl"), "{\"a\":1}\n").unwrap();
    // Opening a named pipe for reading blocks until a writer comes.
    let fifo = col.join("pipe.jsonl");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let mut c = Collect::default();
    Reader::new().read_path(&col, &mut c).unwrap();
    assert_eq!(c.events.len(), 1, "{:?}", c.warnings);
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert_eq!(&*c.warnings[0].file, fifo.to_string_lossy());
    assert!(
        c.warnings[0].reason.contains("named pipe"),
        "{:?}",
        c.warnings
    );
    // The pipe named as the evidence path, and a device: reported too.
    for special in [fifo.as_path(), std::path::Path::new("/dev/zero")] {
        let mut c = Collect::default();
        Reader::new().read_path(special, &mut c).unwrap();
        assert_eq!(c.events.len(), 0);
        assert_eq!(c.warnings.len(), 1, "{special:?}: {:?}", c.warnings);
        assert!(
            c.warnings[0].reason.contains("not a regular file"),
            "{:?}",
            c.warnings
        );
    }
}

#[test]
fn a_syslog_file_starting_with_a_nul_run_is_read_after_it() {
    // copytruncate: the writer's next line lands at its old offset, so the
    // file starts with as many NUL bytes as the rotated file held.
    let text = "Mar  3 10:00:01 web1 sshd[811]: Accepted password for root from 203.0.113.9 port 50022 ssh2\n\
                Mar  3 10:00:02 web1 sshd[811]: pam_unix(sshd:session): session opened for user root\n\
                Mar  3 10:00:03 web1 CRON[900]: (root) CMD (run-parts /etc/cron.hourly)\n";
    let mut bytes = vec![0u8; 300_000];
    bytes.extend_from_slice(text.as_bytes());
    let on_disk = read_file("auth.log", &bytes);
    let zipped = zip_with(&[("auth.log", &bytes)], zip::CompressionMethod::Deflated);
    let in_zip = read_file("logs.zip", &zipped);
    for (what, c) in [("file", on_disk), ("zip member", in_zip)] {
        assert_eq!(c.events.len(), 3, "{what}: {:?}", c.warnings);
        assert_eq!(
            c.events[0].provenance.location,
            kahu_event::Location::Line(1)
        );
        assert_eq!(c.warnings.len(), 1, "{what}: {:?}", c.warnings);
        assert!(
            c.warnings[0]
                .reason
                .starts_with("300000 leading NUL bytes skipped"),
            "{what}: {}",
            c.warnings[0]
        );
    }
}

/// The largest EVTX sample with more than one chunk, from the shared data.
fn multi_chunk_evtx() -> Option<Vec<u8>> {
    let dir = shared("evtx/EVTX-ATTACK-SAMPLES")?;
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
    let bytes = std::fs::read(best?.1).unwrap();
    assert!(bytes.len() > 4096 + 2 * 65536, "sample has several chunks");
    Some(bytes)
}

#[test]
fn an_evtx_with_a_zeroed_file_header_is_read_by_its_chunks() {
    let Some(bytes) = multi_chunk_evtx() else {
        return;
    };
    let intact = read_file("intact.evtx", &bytes);
    assert!(intact.events.len() > 100);
    let mut zeroed = bytes.clone();
    zeroed[..4096].fill(0);
    let c = read_file("zeroed.evtx", &zeroed);
    assert_eq!(c.events.len(), intact.events.len(), "{:?}", c.warnings);
    let recovered = c
        .warnings
        .iter()
        .filter(|w| {
            w.reason
                .contains("chunks recovered by their ElfChnk signature")
        })
        .count();
    assert_eq!(recovered, 1, "{:?}", c.warnings);
    // Carved from disk: the chunks alone, with no header block at all.
    let carved = read_file("carved.bin", &bytes[4096..]);
    assert_eq!(
        carved.events.len(),
        intact.events.len(),
        "{:?}",
        carved.warnings
    );
}

/// Bytes inserted before a chunk (a damaged copy, a carved file with
/// slack) push it and every later chunk off the 64 KiB grid the parser
/// reads; they are found by signature and every record is still read.
#[test]
fn an_evtx_with_chunks_shifted_off_the_grid_is_read_by_their_signatures() {
    let Some(bytes) = multi_chunk_evtx() else {
        return;
    };
    let intact = read_file("intact.evtx", &bytes);
    let first_chunk_end = 4096 + 65536;
    let mut shifted = bytes[..first_chunk_end].to_vec();
    // Slack that holds a stray signature too: it must not be taken for a
    // chunk (its checksums fail) nor hide the real ones.
    let mut slack = vec![0xAAu8; 1000];
    slack[100..108].copy_from_slice(b"ElfChnk\0");
    shifted.extend_from_slice(&slack);
    shifted.extend_from_slice(&bytes[first_chunk_end..]);
    let c = read_file("shifted.evtx", &shifted);
    let ids = |c: &common::Collect| {
        let mut v: Vec<String> = c
            .events
            .iter()
            .map(|e| format!("{:?}", e.provenance.location))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&c), ids(&intact), "{:?}", c.warnings);
    let off_grid: Vec<_> = c
        .warnings
        .iter()
        .filter(|w| w.reason.contains("off the 65536-byte grid"))
        .collect();
    assert_eq!(off_grid.len(), 1, "{:?}", c.warnings);
    assert_eq!(
        off_grid[0].location,
        Some(kahu_event::Location::Offset(first_chunk_end as u64 + 1000))
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.reason.contains("is not a valid chunk")
                && w.location == Some(kahu_event::Location::Offset(first_chunk_end as u64 + 100))),
        "the stray signature is reported: {:?}",
        c.warnings
    );
}

fn tar_gz(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, body) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, *body).unwrap();
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&tar.into_inner().unwrap()).unwrap();
    enc.finish().unwrap()
}

#[test]
fn a_tar_gz_larger_than_the_memory_budget_is_streamed_member_by_member() {
    let log = b"{\"a\":1}\n".repeat(400_000); // 3.2 MB a member, 12.8 MB in all
    let tgz = tar_gz(&[
        ("a.jsonl", &log),
        ("b.jsonl", &log),
        ("c.jsonl", &log),
        ("d.jsonl", &log),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("triage.tar.gz");
    std::fs::write(&p, &tgz).unwrap();
    let reader = Reader::new().with_limits(Limits {
        max_in_memory: 6 * MIB,
        ..Limits::default()
    });
    let mut c = Collect::default();
    let inv = reader.read_path(&p, &mut c).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.events.len(), 1_600_000);
    // Only one member at a time was held, never the 12.8 MB tar.
    let peak = reader.peak_archive_memory();
    assert!(peak <= 6 * MIB, "peak {peak}");
    let tar_entry = inv
        .iter()
        .find(|e| e.member.as_deref() == Some("triage.tar"))
        .unwrap();
    assert_eq!(tar_entry.format, Some("tar"));
    assert!(tar_entry.size > 4 * log.len() as u64);
}

#[test]
fn a_bomb_inside_a_tar_gz_is_caught_by_the_ratio_of_the_gzip() {
    let zeros = vec![0u8; 32 << 20];
    let tgz = tar_gz(&[("bomb.bin", &zeros), ("after.jsonl", b"{\"a\":1}\n")]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.tgz");
    std::fs::write(&p, &tgz).unwrap();
    let reader = Reader::new().with_limits(Limits {
        ratio_floor: MIB,
        ..Limits::default()
    });
    let mut c = Collect::default();
    reader.read_path(&p, &mut c).unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.member.as_deref() == Some("x.tar!bomb.bin")
                && w.reason.contains("likely archive bomb")),
        "{:?}",
        c.warnings
    );
    assert_eq!(c.events.len(), 1, "the member after the bomb is read");
    let peak = reader.peak_archive_memory();
    assert!(peak <= 8 * MIB, "peak {peak}");
}

/// Records what `Sink::member` is handed.
#[derive(Default)]
struct Members {
    seen: Vec<(String, Vec<u8>)>,
    events: usize,
}

impl kahu_ingest::Sink for Members {
    fn event(&mut self, _: kahu_event::Event) -> bool {
        self.events += 1;
        true
    }
    fn warning(&mut self, _: kahu_ingest::Warning) {}
    fn member(&mut self, origin: &kahu_ingest::Origin, data: &[u8]) {
        self.seen.push((
            origin.member.as_deref().unwrap_or("").to_string(),
            data.to_vec(),
        ));
    }
}

#[test]
fn every_leaf_member_is_handed_to_the_sink_once_with_its_bytes() {
    // A zip holding a log, an unrecognised file and a nested gzip; the
    // containers themselves are not handed over, only what they hold.
    let log = b"{\"EventID\":1,\"Image\":\"a.exe\"}\n".to_vec();
    let blob = b"MZ not a log".to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&log).unwrap();
    let gz = gz.finish().unwrap();
    let z = zip_with(
        &[
            ("logs/a.jsonl", &log),
            ("tools/x.bin", &blob),
            ("more/b.jsonl.gz", &gz),
        ],
        zip::CompressionMethod::Deflated,
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.zip");
    std::fs::write(&p, &z).unwrap();
    // A plain file is not a member.
    std::fs::write(dir.path().join("plain.jsonl"), &log).unwrap();
    let mut m = Members::default();
    Reader::new().read_path(dir.path(), &mut m).unwrap();
    m.seen.sort();
    assert_eq!(
        m.seen,
        vec![
            ("logs/a.jsonl".to_string(), log.clone()),
            ("more/b.jsonl.gz!b.jsonl".to_string(), log.clone()),
            ("tools/x.bin".to_string(), blob),
        ]
    );
    assert_eq!(m.events, 3, "the members are still read for events");
}

#[test]
fn a_utf16_member_is_handed_over_as_stored_and_hashed_as_stored() {
    // The member hook (YARA) got the decoded UTF-8 copy of a UTF-16
    // member, and a UTF-16 file was hashed twice (the copy, then the
    // stored bytes).
    let text = "{\"EventID\":1,\"Image\":\"a.exe\"}\r\n";
    let mut stored = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        stored.extend(u.to_le_bytes());
    }
    let z = zip_with(
        &[("ps/out.json", &stored)],
        zip::CompressionMethod::Deflated,
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.zip");
    std::fs::write(&p, &z).unwrap();
    let mut m = Members::default();
    Reader::new().read_path(&p, &mut m).unwrap();
    assert_eq!(m.seen, vec![("ps/out.json".to_string(), stored.clone())]);
    assert_eq!(m.events, 1, "the decoded text is still read for events");
    // The inventory's hash is the stored bytes' (of the member and of a
    // plain file alike).
    let plain = dir.path().join("out.json");
    std::fs::write(&plain, &stored).unwrap();
    let mut c = Collect::default();
    let inventory = Reader::new()
        .with_sha256(true)
        .read_path(dir.path(), &mut c)
        .unwrap();
    use sha2::Digest as _;
    let want = hex::encode(sha2::Sha256::digest(&stored));
    for (path, member) in [("c.zip", Some("ps/out.json")), ("out.json", None)] {
        let e = inventory
            .iter()
            .find(|e| e.path.ends_with(path) && e.member.as_deref() == member)
            .unwrap_or_else(|| panic!("{path} {member:?}: {inventory:?}"));
        assert_eq!(
            e.sha256.as_deref(),
            Some(want.as_str()),
            "{path} {member:?}"
        );
    }
}

#[test]
fn placeholder_times_are_read_as_no_time_and_reported() {
    // An unset time field reads as the zero of its clock or as a far
    // "never"; taken as real it stretches the case over centuries.
    let line = |ts: &str| {
        format!(
            "{{\"Event\":{{\"System\":{{\"Provider\":{{\"#attributes\":{{\"Name\":\"Microsoft-Windows-Sysmon\"}}}},\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Computer\":\"WS1\",\"TimeCreated\":{{\"#attributes\":{{\"SystemTime\":\"{ts}\"}}}}}},\"EventData\":{{\"Image\":\"C:\\\\x.exe\"}}}}}}\n"
        )
    };
    let text: String = [
        "1601-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2024-05-01T10:00:00Z",
        "1980-01-01T00:00:00Z",
    ]
    .iter()
    .map(|t| line(t))
    .collect();
    let c = read_file("sysmon.jsonl", text.as_bytes());
    assert_eq!(c.events.len(), 5, "{:?}", c.warnings);
    let times: Vec<Option<String>> = c
        .events
        .iter()
        .map(|e| e.timestamp.map(|t| t.to_rfc3339()))
        .collect();
    assert_eq!(
        times,
        [
            None,
            None,
            None,
            Some("2024-05-01T10:00:00+00:00".to_string()),
            Some("1980-01-01T00:00:00+00:00".to_string()),
        ]
    );
    // The record itself is kept as read.
    let fields = format!("{:?}", c.events[0].fields);
    assert!(fields.contains("1601-01-01"), "{fields}");
    let notes: Vec<&str> = c.coverage.iter().map(|w| w.reason.as_str()).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("3 of 5 events carry a placeholder time")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("3 of 5 events have no timestamp")),
        "{notes:?}"
    );
}

/// One record forged with `2999-12-31T23:59:59.999Z` stretched the case to
/// the year 3000 and put every other event of the histogram in one bar
/// (probe 18). A time more than two days after the reading is no time
/// anything happened: read as none, said in a coverage note; a time of
/// yesterday is kept.
#[test]
fn a_time_far_in_the_future_is_read_as_no_time_and_reported() {
    let line = |ts: &str| {
        format!(
            "{{\"Event\":{{\"System\":{{\"Provider\":{{\"#attributes\":{{\"Name\":\"Microsoft-Windows-Sysmon\"}}}},\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Computer\":\"HOST-BADTIME\",\"TimeCreated\":{{\"#attributes\":{{\"SystemTime\":\"{ts}\"}}}}}},\"EventData\":{{\"Image\":\"C:\\\\x.exe\"}}}}}}\n"
        )
    };
    let yesterday = (chrono::Utc::now() - chrono::TimeDelta::days(1)).to_rfc3339();
    let text = [line("2999-12-31T23:59:59.999Z"), line(&yesterday)].concat();
    let c = read_file("sysmon.jsonl", text.as_bytes());
    assert_eq!(c.events.len(), 2, "{:?}", c.warnings);
    assert_eq!(c.events[0].timestamp, None);
    assert!(c.events[1].timestamp.is_some());
    assert!(format!("{:?}", c.events[0].fields).contains("2999-12-31"));
    assert!(
        c.coverage.iter().any(|w| w
            .reason
            .contains("1 of 2 events carry a time more than two days after kahu read them")),
        "{:?}",
        c.coverage
    );
}

#[test]
fn year_less_syslog_in_an_archive_is_dated_by_the_members_time_not_today() {
    // A rotated auth.log written on 2024-01-05, as a tar, a zip and a
    // logrotate gzip. Dated against today, both lines moved by years.
    let log = b"Dec 30 22:14:07 db01 sshd[811]: Accepted password for postgres from 203.0.113.44 port 40022 ssh2\n\
Jan  4 03:02:11 db01 sshd[902]: Accepted password for postgres from 203.0.113.44 port 40100 ssh2\n";
    let written = 1_704_412_800u64; // 2024-01-05T00:00:00Z
    let want = ["2023-12-30T22:14:07+00:00", "2024-01-04T03:02:11+00:00"];

    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(log.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(written);
    h.set_cksum();
    tar.append_data(&mut h, "var/log/auth.log", &log[..])
        .unwrap();
    let tar = tar.into_inner().unwrap();

    let mut z = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut z);
        let t = zip::DateTime::from_date_and_time(2024, 1, 5, 0, 0, 0).unwrap();
        let opts = zip::write::SimpleFileOptions::default().last_modified_time(t);
        w.start_file("var/log/auth.log", opts).unwrap();
        w.write_all(log).unwrap();
        w.finish().unwrap();
    }

    let mut gz = flate2::GzBuilder::new()
        .mtime(written as u32)
        .write(Vec::new(), flate2::Compression::fast());
    gz.write_all(log).unwrap();
    let gz = gz.finish().unwrap();

    for (name, bytes) in [
        ("triage.tar", tar),
        ("triage.zip", z.into_inner()),
        ("auth.log.2.gz", gz),
    ] {
        let c = read_file(name, &bytes);
        let times: Vec<String> = c
            .events
            .iter()
            .map(|e| e.timestamp.unwrap().to_rfc3339())
            .collect();
        assert_eq!(times, want, "{name}: {:?}", c.warnings);
        assert!(
            !c.warnings.iter().any(|w| w.reason.contains("current date")),
            "{name}: {:?}",
            c.warnings
        );
    }
}

#[test]
fn year_less_syslog_with_no_recorded_time_says_the_year_was_guessed() {
    // Bytes handed over in memory carry no time at all.
    let log = b"Dec 30 22:14:07 db01 sshd[811]: Accepted password for postgres from 203.0.113.44 port 40022 ssh2\n";
    let mut c = Collect::default();
    Reader::new().read_memory("auth.log", log, &mut c, &mut Vec::new());
    assert_eq!(c.events.len(), 1);
    let guessed: Vec<_> = c
        .warnings
        .iter()
        .filter(|w| w.reason.contains("dated against the current date"))
        .collect();
    assert_eq!(guessed.len(), 1, "{:?}", c.warnings);
}

#[test]
fn a_zip_member_with_a_bad_checksum_is_read_with_a_warning_not_dropped() {
    // One changed byte (a bad copy) in a stored member: every record was
    // lost, while a damaged gzip keeps what it could read.
    let jsonl: &[u8] = b"{\"@timestamp\":\"2024-01-01T10:00:00Z\",\"host\":{\"name\":\"WS01\"},\"message\":\"a\"}\n\
{\"@timestamp\":\"2024-01-01T10:00:01Z\",\"host\":{\"name\":\"WS01\"},\"message\":\"b\"}\n\
{\"@timestamp\":\"2024-01-01T10:00:02Z\",\"host\":{\"name\":\"WS01\"},\"message\":\"c\"}\n";
    let mut zip = zip_with(
        &[("winlogbeat.json", jsonl)],
        zip::CompressionMethod::Stored,
    );
    let at = zip
        .windows(4)
        .position(|w| w == b"WS01")
        .expect("stored bytes");
    zip[at] = b'X';
    let c = read_file("crc.zip", &zip);
    assert_eq!(c.events.len(), 3, "{:?}", c.warnings);
    let w: Vec<&str> = c.warnings.iter().map(|w| w.reason.as_str()).collect();
    assert!(
        w.iter()
            .any(|r| r.contains("failed its checksum") && r.contains("read as it is")),
        "{w:?}"
    );
}

#[test]
fn an_encrypted_zip_member_is_named_in_its_warning() {
    let mut zip = zip_with(
        &[("winlogbeat.json", b"{}\n"), ("auth.log", b"x\n")],
        zip::CompressionMethod::Stored,
    );
    // Mark the second member encrypted (general purpose flag bit 0) in its
    // local and central headers, as `zip -P` does.
    let mut mark = |sig: &[u8], flag_at: usize| {
        let at: Vec<usize> = zip
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == sig)
            .map(|(i, _)| i)
            .collect();
        zip[at[1] + flag_at] |= 1;
    };
    mark(b"PK\x03\x04", 6);
    mark(b"PK\x01\x02", 8);
    let c = read_file("mixed.zip", &zip);
    let w: Vec<String> = c
        .warnings
        .iter()
        .map(|w| format!("{:?}: {}", w.member, w.reason))
        .collect();
    assert!(
        w.iter()
            .any(|r| r.contains("auth.log") && r.contains("encrypted zip member")),
        "{w:?}"
    );
}

/// An EVTX cut at the end of its header (a copy stopped at a chunk
/// boundary) and an empty .evtx read as "0 events, 0 warnings": now each
/// says what is missing.
#[test]
fn a_header_only_or_empty_evtx_says_what_is_missing() {
    let Some(bytes) = multi_chunk_evtx() else {
        return;
    };
    let c = read_file("cut.evtx", &bytes[..4096]);
    assert!(c.events.is_empty());
    assert!(
        c.warnings.iter().any(|w| w
            .reason
            .starts_with("file ends after its header: the header declares")),
        "{:?}",
        c.warnings
    );
    let c = read_file("empty.evtx", b"");
    assert!(
        c.coverage
            .iter()
            .chain(c.warnings.iter())
            .any(|w| w.reason.contains("empty file (0 bytes)")),
        "{:?} {:?}",
        c.warnings,
        c.coverage
    );
}

/// UTF-16 with a byte-order mark (what Windows PowerShell 5.1's `>` and
/// `Out-File` write) was "no reader recognises this file's format"; it is
/// decoded and read, and the inventory keeps the stored file's size.
#[test]
fn utf16_text_with_a_bom_is_decoded_and_read() {
    let jsonl = "{\"@timestamp\":\"2026-03-01T10:00:00Z\",\"winlog\":{\"channel\":\"Security\",\"event_id\":4624,\"computer_name\":\"WS01\"}}\r\n\
{\"@timestamp\":\"2026-03-01T10:00:01Z\",\"winlog\":{\"channel\":\"Security\",\"event_id\":4625,\"computer_name\":\"WS01\"}}\r\n";
    for le in [true, false] {
        let mut bytes: Vec<u8> = if le {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for u in jsonl.encode_utf16() {
            bytes.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("export.json");
        std::fs::write(&p, &bytes).unwrap();
        let mut c = Collect::default();
        let inventory = Reader::new().read_path(&p, &mut c).unwrap();
        let ids: Vec<_> = c.events.iter().map(|e| e.event_id).collect();
        assert_eq!(ids, [Some(4624), Some(4625)], "{:?}", c.warnings);
        let notes: Vec<&str> = c
            .warnings
            .iter()
            .chain(c.coverage.iter())
            .map(|w| w.reason.as_str())
            .collect();
        assert!(notes.iter().any(|n| n.contains("UTF-16 text")), "{notes:?}");
        assert_eq!(inventory.len(), 1);
        assert_eq!(inventory[0].size, bytes.len() as u64);
    }
}

#[test]
fn a_container_kahu_does_not_open_is_named_not_called_unknown() {
    for (bytes, kind) in [
        (
            &b"\xFD7zXZ\x00\x00\x04\xE6\xD6\xB4\x46"[..],
            "xz-compressed",
        ),
        (&b"7z\xBC\xAF\x27\x1C\x00\x04"[..], "7-Zip archive"),
    ] {
        let c = read_file("collection.bin", bytes);
        assert!(
            c.warnings
                .iter()
                .any(|w| w.reason.contains(kind)
                    && w.reason.contains("extract or decompress it first")),
            "{:?}",
            c.warnings
        );
    }
}
