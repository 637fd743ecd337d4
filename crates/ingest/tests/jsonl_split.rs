//! A large JSON-lines export read with line splitting on gives the sink
//! exactly what the one-thread reader gives: same events, same warnings,
//! same order, same line numbers. (Own test binary: the switch is
//! process-wide.)
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;

use common::{Collect, shared};
use kahu_ingest::Reader;

fn read_with(pool: &rayon::ThreadPool, path: &std::path::Path) -> Collect {
    pool.install(|| {
        let mut sink = Collect::default();
        Reader::new().read_path(path, &mut sink).unwrap();
        sink
    })
}

fn comparable(c: &Collect) -> Vec<String> {
    c.events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .chain(c.warnings.iter().map(ToString::to_string))
        .collect()
}

#[test]
fn split_reading_of_a_mordor_export_matches_one_thread() {
    // 27 MB of NXLog JSON lines in one zip member (read from memory).
    let Some(zip) =
        shared("mordor/atomic/windows/defense_evasion/host/empire_wmic_add_user_backdoor.zip")
    else {
        return;
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    kahu_ingest::json::set_parallel_lines(None);
    let one = read_with(&pool, &zip);
    kahu_ingest::json::set_parallel_lines(Some(0));
    let split = read_with(&pool, &zip);
    kahu_ingest::json::set_parallel_lines(None);
    // Count from the data: one event per non-blank line of the member.
    let mut a = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let name = a
        .file_names()
        .find(|n| n.ends_with(".json") && !n.contains("__MACOSX"))
        .unwrap()
        .to_string();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut a.by_name(&name).unwrap(), &mut text).unwrap();
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(text.len() > 16 << 20, "member should span many blocks");
    assert_eq!(one.events.len(), lines);
    assert_eq!(comparable(&split), comparable(&one));
    let last = split.events.last().unwrap();
    assert_eq!(
        last.provenance.location,
        kahu_event::Location::Line(text.lines().count() as u64)
    );
}
