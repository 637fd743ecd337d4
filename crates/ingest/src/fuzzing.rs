//! Entry points of the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`), one
//! per target, shared with the corpus-replay tests (`tests/fuzz_corpus.rs`)
//! so both drive the readers the same way. Not part of kahu's interface.

use crate::{Format, Input, Limits, Origin, Reader, SNIFF_LEN, Sink, Warning};
use kahu_event::Event;
use std::sync::{Arc, LazyLock};

/// A sink that keeps nothing (the fuzz targets only look for panics,
/// hangs and unbounded memory).
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl Sink for Discard {
    fn event(&mut self, event: Event) -> bool {
        std::hint::black_box(event);
        true
    }
    fn warning(&mut self, warning: Warning) {
        std::hint::black_box(warning);
    }
}

fn origin(file: &str) -> Origin {
    Origin {
        file: Arc::from(file),
        member: None,
        host_hint: None,
        modified: None,
    }
}

/// Detect, then read `data` with each of `formats`. Every format reads
/// every input (a reader must survive bytes it would not claim); only what
/// the formats that claim the input produce reaches `sink`, as in kahu.
fn detect_and_read(formats: &[&dyn Format], file: &str, data: &[u8], sink: &mut dyn Sink) {
    let origin = origin(file);
    for f in formats {
        let claimed = f.detect(&data[..data.len().min(SNIFF_LEN)], file);
        let _ = if claimed {
            f.read(Input::Memory(data), &origin, sink)
        } else {
            f.read(Input::Memory(data), &origin, &mut Discard)
        };
    }
}

/// `json_reader`: the JSON / JSON-lines reader (every record shape).
pub fn json_reader(data: &[u8], sink: &mut dyn Sink) {
    detect_and_read(&[&crate::json::Json], "fuzz.json", data, sink);
}

/// `evtx_reader`: the EVTX reader, without detection (a damaged header
/// must be reported, whatever detection would say).
pub fn evtx_reader(data: &[u8], sink: &mut dyn Sink) {
    let _ = crate::evtx::Evtx.read(Input::Memory(data), &origin("fuzz.evtx"), sink);
}

/// Small caps so archive bombs are cut quickly.
static ARCHIVE_READER: LazyLock<Reader> = LazyLock::new(|| {
    Reader::new().with_limits(Limits {
        max_member: 4 << 20,
        max_total: 16 << 20,
        max_depth: 4,
        max_members: 10_000,
        ..Limits::default()
    })
});

/// `archive_reader`: the archive walk (zip, tar, gzip, nesting) and the
/// format dispatch.
pub fn archive_reader(data: &[u8], sink: &mut dyn Sink) {
    let mut inventory = Vec::new();
    ARCHIVE_READER.read_memory("fuzz.bin", data, sink, &mut inventory);
}

/// `weblog`: the IIS W3C and access-log readers.
pub fn weblog(data: &[u8], sink: &mut dyn Sink) {
    detect_and_read(
        &[&crate::web::IisW3c, &crate::web::AccessLog],
        "fuzz.log",
        data,
        sink,
    );
}

/// `syslog`: the syslog reader (RFC 3164 and 5424).
pub fn syslog(data: &[u8], sink: &mut dyn Sink) {
    detect_and_read(&[&crate::linux::Syslog::default()], "fuzz.log", data, sink);
}

/// `auditd`: the auditd reader.
pub fn auditd(data: &[u8], sink: &mut dyn Sink) {
    detect_and_read(&[&crate::linux::Auditd], "fuzz.log", data, sink);
}

/// `zeek`: the Zeek TSV and JSON readers.
pub fn zeek(data: &[u8], sink: &mut dyn Sink) {
    detect_and_read(
        &[&crate::zeek::ZeekTsv, &crate::zeek::ZeekJson],
        "fuzz.log",
        data,
        sink,
    );
}
