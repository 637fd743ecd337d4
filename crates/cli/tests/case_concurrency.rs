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
