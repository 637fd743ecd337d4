//! Shards are evidence too: a Parquet file kahu did not write, a damaged
//! or truncated shard, or bytes that only start like Parquet are read
//! errors, never panics, and never misread as events.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use kahu_columnar::{ReadError, ShardWriter, WriterOptions, read_shard, schema};
use kahu_event::{Event, Location, Provenance, Value};
use parquet::arrow::ArrowWriter;
use std::sync::Arc;

fn read(bytes: Vec<u8>) -> (u64, Result<u64, ReadError>) {
    let mut ok = 0;
    let r = read_shard(bytes::Bytes::from(bytes), |item| {
        ok += u64::from(item.is_ok());
        true
    });
    (ok, r)
}

fn good_shard() -> Vec<u8> {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut w = ShardWriter::new(tmp.path(), WriterOptions::default()).expect("writer");
    for i in 0..500u64 {
        let mut e = Event::new(Provenance::new(Arc::from("a.evtx"), Location::Record(i)));
        e.fields
            .insert("CommandLine", Value::str(&format!("cmd /c echo {i}")));
        w.write(&e).expect("written");
    }
    let s = w.finish().expect("finished");
    std::fs::read(tmp.path().join(&s.shards[0].path)).expect("shard")
}

#[test]
fn a_parquet_file_kahu_did_not_write_is_refused() {
    let batch = RecordBatch::try_from_iter(vec![
        (
            "host",
            Arc::new(StringArray::from(vec!["ws1", "ws2"])) as ArrayRef,
        ),
        ("n", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
    ])
    .expect("batch");
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let (events, r) = read(buf);
    assert_eq!(events, 0);
    assert!(matches!(r, Err(ReadError::NotKahu(_))), "{r:?}");
}

#[test]
fn a_foreign_file_claiming_the_kahu_layout_is_checked_column_by_column() {
    let batch = RecordBatch::try_from_iter(vec![(
        "host",
        Arc::new(StringArray::from(vec!["ws1"])) as ArrayRef,
    )])
    .expect("batch");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
            schema::FORMAT_KEY.to_string(),
            schema::FORMAT_VERSION.to_string(),
        )]))
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let (events, r) = read(buf);
    assert_eq!(events, 0);
    assert!(matches!(r, Err(ReadError::Layout(_))), "{r:?}");
}

#[test]
fn truncated_and_corrupted_shards_are_errors_not_panics() {
    let good = good_shard();
    let (events, r) = read(good.clone());
    assert_eq!((events, r.expect("the whole shard")), (500, 500));
    // Every truncation point in steps, and a few bytes flipped at a time
    // across the whole file: an error or fewer events, never a panic,
    // never more events than were written.
    let step = (good.len() / 97).max(1);
    for cut in (0..good.len()).step_by(step) {
        let (events, r) = read(good[..cut].to_vec());
        assert!(r.is_err(), "truncated at {cut} read as complete");
        assert!(events <= 500);
    }
    for at in (0..good.len()).step_by(step) {
        let mut bad = good.clone();
        for b in bad.iter_mut().skip(at).take(4) {
            *b ^= 0x5a;
        }
        let (events, _) = read(bad);
        assert!(events <= 500, "flip at {at}");
    }
    let (events, r) = read(b"PAR1 not really".to_vec());
    assert_eq!(events, 0);
    assert!(r.is_err());
}
