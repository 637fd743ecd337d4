//! Random bytes into every reader through `Input::Memory`: no panic, no
//! hang, on any input. Runs with every `cargo test`.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;

use common::Count;
use kahu_ingest::{Format, Input, Limits, Origin, Reader, all_formats};
use proptest::prelude::*;
use std::sync::Arc;

fn origin() -> Origin {
    Origin {
        file: Arc::from("fuzz"),
        member: None,
        host_hint: None,
        modified: None,
    }
}

/// Byte strings biased towards the magic numbers and JSON punctuation the
/// readers branch on.
fn evidence_bytes() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        Just(b"".to_vec()),
        Just(b"ElfFile\0".to_vec()),
        Just(b"PK\x03\x04".to_vec()),
        Just(vec![0x1f, 0x8b, 8, 0]),
        Just(b"{\"Event\":{\"System\":{".to_vec()),
        Just(b"{\"winlog\":{\"event_data\":".to_vec()),
        Just(b"[{\"EventID\":".to_vec()),
    ];
    let body = prop::collection::vec(
        prop_oneof![
            any::<u8>(),
            Just(b'{'),
            Just(b'}'),
            Just(b'"'),
            Just(b'\n'),
            Just(b':'),
            Just(b',')
        ],
        0..2048,
    );
    (prefix, body).prop_map(|(mut p, b)| {
        p.extend(b);
        p
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_format_survives_random_bytes(bytes in evidence_bytes()) {
        for f in all_formats() {
            let mut sink = Count::default();
            // Readers may reject the input, but must not panic.
            let _ = f.read(Input::Memory(&bytes), &origin(), &mut sink);
        }
    }

    #[test]
    fn archive_walk_survives_random_bytes(bytes in evidence_bytes()) {
        let limits = Limits { max_member: 1 << 20, max_total: 4 << 20, ..Limits::default() };
        let reader = Reader::new().with_limits(limits);
        let mut sink = Count::default();
        let mut inv = Vec::new();
        reader.read_memory("x.bin", &bytes, &mut sink, &mut inv);
        prop_assert!(!inv.is_empty());
    }

    #[test]
    fn valid_json_lines_are_all_read(values in prop::collection::vec(any::<(u32, String)>(), 0..50)) {
        let mut text = String::new();
        for (n, s) in &values {
            text.push_str(&serde_json::json!({"n": n, "s": s}).to_string());
            text.push('\n');
        }
        let mut sink = Count::default();
        kahu_ingest::json::Json.read(Input::Memory(text.as_bytes()), &origin(), &mut sink).unwrap();
        prop_assert_eq!(sink.events, values.len() as u64);
        prop_assert!(sink.warnings.is_empty());
    }
}
