//! Print every event of a case as one JSON line (its row without the
//! case-local id, and its fields), for comparing the stores of two builds:
//! `cargo run --release -p kahu-case --example dump_events -- CASE_DIR | sort | sha256sum`.
//! Event ids depend on the order the matcher threads handed events to the
//! writer, so they are left out and the lines are meant to be sorted.
//! Opens the case read-write (an older case is upgraded in place).
#![allow(clippy::print_stdout, reason = "a command-line tool")]

use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: dump_events CASE_DIR")?;
    let case = kahu_case::Case::open(&dir)?;
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    let mut failed = None;
    case.for_each_event(&kahu_case::EventQuery::default(), |row, fields| {
        let mut row = match serde_json::to_value(row) {
            Ok(v) => v,
            Err(e) => {
                failed = Some(e.to_string());
                return false;
            }
        };
        if let Some(o) = row.as_object_mut() {
            o.remove("id");
        }
        let line = serde_json::json!({"row": row, "fields": fields});
        if let Err(e) = writeln!(out, "{line}") {
            failed = Some(e.to_string());
            return false;
        }
        true
    })?;
    out.flush()?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
