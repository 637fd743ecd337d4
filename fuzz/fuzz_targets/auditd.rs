#![no_main]
//! Fuzz the auditd text-log reader(s): detection and reading of arbitrary bytes
//! must never panic, hang or grow without bound.

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
    let formats: Vec<Box<dyn Format>> = vec![Box::new(kahu_ingest::linux::Auditd)];
    let origin = Origin {
        file: Arc::from("fuzz.log"),
        member: None,
        host_hint: None,
    };
    for f in &formats {
        let _ = f.detect(&data[..data.len().min(kahu_ingest::SNIFF_LEN)], "fuzz.log");
        let _ = f.read(Input::Memory(data), &origin, &mut Discard);
    }
});
