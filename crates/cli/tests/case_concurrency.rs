//! Two `kahu hunt --case` processes on one case at once: the second waits
//! for the first's write lock instead of aborting with "database is
//! locked", and both evidence sets end up in the case.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use std::path::Path;
use std::process::{Command, Stdio};

fn events(file: &Path, host: &str, n: u32) {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon"}}}},"EventID":1,"TimeCreated":{{"#attributes":{{"SystemTime":"2021-09-07T03:{:02}:{:02}.000000Z"}}}},"EventRecordID":{i},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"{host}"}},"EventData":{{"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami {i}"}}}}}}"##,
            (i / 60) % 60,
            i % 60
        ));
        s.push('\n');
    }
    std::fs::write(file, s).unwrap();
}

fn count(db: &Path, sql: &str) -> i64 {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])",
        ])
        .arg(db)
        .arg(sql)
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("a count: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn two_hunts_into_one_case_at_once_both_store_everything() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    const N: u32 = 20_000;
    let hunts: Vec<_> = ["WS1", "WS2", "WS3"]
        .iter()
        .map(|host| {
            let file = dir.path().join(format!("{host}.jsonl"));
            events(&file, host, N);
            Command::new(env!("CARGO_BIN_EXE_kahu"))
                .arg("hunt")
                .arg(&file)
                .arg("--case")
                .arg(&case)
                .arg("--json")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn kahu")
        })
        .collect();
    for h in hunts {
        let out = h.wait_with_output().expect("kahu ran");
        assert!(
            out.status.success(),
            "a concurrent hunt failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let db = case.join("case.sqlite");
    assert_eq!(count(&db, "select count(*) from evidence"), 3);
    assert_eq!(count(&db, "select count(*) from events"), 3 * i64::from(N));
}

/// One request to `kahu serve` over a fresh connection; the status code.
fn post_note(addr: &str, token: &str, i: u32) -> u16 {
    use std::io::{Read, Write};
    let body = format!(r#"{{"target_kind":"event","target_id":"{i}","body":"note {i}"}}"#);
    let req = format!(
        "POST /api/notes HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = std::net::TcpStream::connect(addr).expect("connect to kahu serve");
    s.set_read_timeout(Some(std::time::Duration::from_secs(120)))
        .unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// The issue's reproduction: analysts' notes posted to `kahu serve` while a
/// `kahu hunt --case` process loads evidence into the same case. Every note
/// is accepted (201, never a 500 "database is locked") and stored, and the
/// hunt stores all its events.
#[test]
fn notes_through_serve_while_a_hunt_loads_the_case_are_all_kept() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let first = dir.path().join("first.jsonl");
    events(&first, "WS1", 100);
    let made = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .arg("hunt")
        .arg(&first)
        .arg("--case")
        .arg(&case)
        .arg("-q")
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    const TOKEN: &str = "concurrency-test-token-0123456789";
    let mut serve = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .arg("serve")
        .arg(&case)
        .args(["--bind", "127.0.0.1:0"])
        .env("KAHU_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kahu serve");
    let mut line = String::new();
    std::io::BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let second = dir.path().join("second.jsonl");
    const N: u32 = 60_000;
    events(&second, "WS2", N);
    let hunt = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .arg("hunt")
        .arg(&second)
        .arg("--case")
        .arg(&case)
        .arg("-q")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kahu hunt");
    // Four analysts post notes until the hunt has ended (at least 80 each),
    // so the writers overlap whatever the machine's speed.
    let hunt_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4u32)
        .map(|w| {
            let addr = addr.clone();
            let done = hunt_done.clone();
            std::thread::spawn(move || {
                let (mut sent, mut refused) = (0u32, Vec::new());
                while sent < 80 || !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let code = post_note(&addr, TOKEN, w * 1_000_000 + sent);
                    if code != 201 {
                        refused.push(code);
                    }
                    sent += 1;
                }
                (sent, refused)
            })
        })
        .collect();
    let hunt = hunt.wait_with_output().unwrap();
    hunt_done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut notes = 0u32;
    let mut refused = Vec::new();
    for w in writers {
        let (sent, r) = w.join().expect("writer");
        notes += sent;
        refused.extend(r);
    }
    serve.kill().ok();
    serve.wait().ok();
    assert!(refused.is_empty(), "notes not accepted: {refused:?}");
    assert!(
        hunt.status.success(),
        "the hunt failed: {}",
        String::from_utf8_lossy(&hunt.stderr)
    );
    let db = case.join("case.sqlite");
    assert_eq!(count(&db, "select count(*) from notes"), i64::from(notes));
    assert_eq!(
        count(&db, "select count(*) from events"),
        100 + i64::from(N)
    );
}
