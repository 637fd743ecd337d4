//! One large JSON-lines file given alone is parsed on every reader thread
//! (issue #17): the detection pass must still see exactly the events and
//! warnings the one-thread reader produces, with the same provenance
//! (line numbers) — across block boundaries, CRLF, invalid UTF-8, a line
//! over the cap, a malformed line and a last line without its newline.
//! (Own test binary: the splitting switch is process-wide.)
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_event::{Event, Location};
use kahu_finding::Observer;
use std::io::Write;

/// Every event seen, as text with its provenance, in no particular order.
#[derive(Default)]
struct Seen(Vec<String>);

impl Observer for Seen {
    fn observe(&mut self, e: &Event) {
        self.0.push(serde_json::to_string(e).unwrap());
    }
    fn merge(&mut self, other: Self) {
        self.0.extend(other.0);
    }
}

#[derive(Default)]
struct Sequential {
    events: Vec<String>,
    warnings: Vec<String>,
}

impl kahu_ingest::Sink for Sequential {
    fn event(&mut self, e: Event) -> bool {
        self.events.push(serde_json::to_string(&e).unwrap());
        true
    }
    fn warning(&mut self, w: kahu_ingest::Warning) {
        self.warnings.push(w.to_string());
    }
}

#[test]
fn one_large_jsonl_file_gives_the_events_of_the_one_thread_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    // ~40 MB of lines of varying length, so lines straddle the 1 MiB block
    // boundaries at every offset.
    let mut lines = 0u64;
    let mut expected_events = 0u64;
    for i in 0..60_000u64 {
        lines += 1;
        let pad = "p".repeat((i as usize * 37) % 1200);
        match i % 1000 {
            7 => writeln!(f, "{{\"broken\": {i}").unwrap(),
            13 => {
                // Invalid UTF-8: kept, decoded lossily, with a warning.
                f.write_all(b"{\"EventID\":4688,\"CommandLine\":\"cmd \xff\"}\n")
                    .unwrap();
                expected_events += 1;
            }
            _ => {
                let eol = if i % 3 == 0 { "\r\n" } else { "\n" };
                write!(
                    f,
                    "{{\"@timestamp\":\"2024-01-01T00:00:{:02}Z\",\"Hostname\":\"WS{}\",\"EventID\":{},\"Channel\":\"Security\",\"pad\":\"{pad}\"}}{eol}",
                    i % 60,
                    i % 7,
                    4624 + i % 5
                )
                .unwrap();
                expected_events += 1;
            }
        }
    }
    // One line over the 16 MiB line cap, then a last line without newline.
    f.write_all(b"{\"huge\":\"").unwrap();
    f.write_all(&vec![b'x'; kahu_ingest::json::MAX_LINE])
        .unwrap();
    f.write_all(b"\"}\n{\"EventID\":1102,\"Channel\":\"Security\"}")
        .unwrap();
    lines += 2;
    expected_events += 1;
    drop(f);

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    let out =
        pool.install(|| kahu_assess::detect::run(&[(path.clone(), size)], &[], Seen::default, &()));

    kahu_ingest::json::set_parallel_lines(None);
    let mut one = Sequential::default();
    kahu_ingest::read_path(&path, &mut one).unwrap();

    assert_eq!(out.events, expected_events);
    assert_eq!(one.events.len() as u64, expected_events);
    let mut split = out.observer.0;
    let mut want = one.events;
    split.sort();
    want.sort();
    assert!(
        split == want,
        "the pipeline's events differ from one-thread reading"
    );
    let got_warnings: Vec<String> = out.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(got_warnings, one.warnings);
    assert!(got_warnings.iter().any(|w| w.contains("over the")));
    assert!(got_warnings.iter().any(|w| w.contains("malformed JSON")));
    // The last line (no newline) keeps its line number.
    let last: serde_json::Value = serde_json::from_str(
        want.iter()
            .find(|e| e.contains(r#""EventID":1102"#))
            .expect("last line read"),
    )
    .unwrap();
    let line = serde_json::to_value(Location::Line(lines)).unwrap();
    assert_eq!(last["provenance"]["location"], line);
}
