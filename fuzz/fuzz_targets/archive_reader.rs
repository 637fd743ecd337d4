#![no_main]
//! Fuzz the archive walk (zip, tar, gzip, nesting) and format dispatch,
//! with small caps so bombs are cut quickly.

use kahu_event::Event;
use kahu_ingest::{Limits, Reader, Sink, Warning};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

struct Discard;

impl Sink for Discard {
    fn event(&mut self, event: Event) -> bool {
        std::hint::black_box(event);
        true
    }
    fn warning(&mut self, warning: Warning) {
        std::hint::black_box(warning);
    }
}

static READER: LazyLock<Reader> = LazyLock::new(|| {
    Reader::new().with_limits(Limits {
        max_member: 4 << 20,
        max_total: 16 << 20,
        max_depth: 4,
        max_members: 10_000,
        ..Limits::default()
    })
});

fuzz_target!(|data: &[u8]| {
    let mut inventory = Vec::new();
    READER.read_memory("fuzz.bin", data, &mut Discard, &mut inventory);
});
