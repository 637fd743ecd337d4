//! A local copy registered under another name (an object store object
//! spooled by `kahu-remote`) is read under that name: events, warnings and
//! the inventory name the object, and the host a collection layout names
//! comes from the object's path; a copy registered as not read is a
//! warning and an inventory entry, never silently absent. (Own test binary:
//! the name table is process-wide.)
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

mod common;

use common::Collect;
use kahu_event::{EvidenceName, register_evidence_name};
use kahu_ingest::Reader;
use std::sync::Arc;

#[test]
fn a_registered_copy_is_read_under_its_object_name() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("001");
    std::fs::create_dir(&spool).unwrap();
    std::fs::write(
        spool.join("000001"),
        "{\"EventID\":4624,\"Channel\":\"Security\",\"TimeCreated\":\"2024-05-01T10:00:00Z\"}\nnot json\n",
    )
    .unwrap();
    std::fs::write(spool.join("000002"), b"").unwrap();
    // A KAPE layout in the key: the host is the folder above the drive.
    let key = [
        "bucket",
        "WKS07",
        "C",
        "Windows",
        "System32",
        "winevt",
        "Logs",
        "sec.jsonl",
    ];
    register_evidence_name(
        spool.join("000001"),
        EvidenceName {
            name: Arc::from("s3://bucket/WKS07/C/Windows/System32/winevt/Logs/sec.jsonl"),
            components: key.iter().map(|s| s.to_string()).collect(),
            not_read: None,
        },
    );
    register_evidence_name(
        spool.join("000002"),
        EvidenceName {
            name: Arc::from("s3://bucket/big.evtx"),
            components: vec!["bucket".into(), "big.evtx".into()],
            not_read: Some("object of 9 bytes is over the 4-byte cap per object".into()),
        },
    );

    let mut sink = Collect::default();
    let inventory = Reader::new().read_path(&spool, &mut sink).unwrap();
    assert_eq!(sink.events.len(), 1);
    let e = &sink.events[0];
    assert_eq!(
        &*e.provenance.file,
        "s3://bucket/WKS07/C/Windows/System32/winevt/Logs/sec.jsonl"
    );
    assert_eq!(e.host.as_deref(), Some("WKS07"), "host hint from the key");
    let names: Vec<String> = sink.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        names
            .iter()
            .any(|w| w
                .starts_with("s3://bucket/WKS07/C/Windows/System32/winevt/Logs/sec.jsonl line 2:")),
        "{names:?}"
    );
    assert!(
        names.contains(
            &"s3://bucket/big.evtx: object of 9 bytes is over the 4-byte cap per object"
                .to_string()
        ),
        "{names:?}"
    );
    let listed: Vec<(&str, u64, u64)> = inventory
        .iter()
        .map(|f| (&*f.path, f.events, f.warnings))
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed.contains(&("s3://bucket/big.evtx", 0, 1)),
        "{listed:?}"
    );
    assert!(
        inventory
            .iter()
            .all(|f| !f.path.contains("000001") && !f.path.contains("000002")),
        "no spool name in the inventory"
    );
}
