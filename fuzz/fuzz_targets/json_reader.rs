#![no_main]
//! Fuzz the JSON / JSON-lines reader (every record shape: EVTX JSON,
//! Winlogbeat, NXLog, generic): arbitrary bytes must never panic or hang.

use kahu_event::Event;
use kahu_ingest::{Format, Input, Origin, Sink, Warning};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

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

fuzz_target!(|data: &[u8]| {
    let origin = Origin {
        file: Arc::from("fuzz.json"),
        member: None,
        host_hint: None,
    };
    let f = kahu_ingest::json::Json;
    let _ = f.detect(&data[..data.len().min(kahu_ingest::SNIFF_LEN)], "fuzz.json");
    let _ = f.read(Input::Memory(data), &origin, &mut Discard);
});
