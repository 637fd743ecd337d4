#![no_main]
//! Fuzz the EVTX reader (evtx crate + kahu's normaliser). Seed the corpus
//! with real files, e.g. `cp ../../shared/evtx/EVTX-ATTACK-SAMPLES/*/*.evtx corpus/evtx_reader/`.

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
        file: Arc::from("fuzz.evtx"),
        member: None,
        host_hint: None,
    };
    let _ = kahu_ingest::evtx::Evtx.read(Input::Memory(data), &origin, &mut Discard);
});
