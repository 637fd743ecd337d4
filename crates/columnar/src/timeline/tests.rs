#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use super::*;
use arrow_array::Array;
use kahu_case::synth::{SynthOptions, build};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn small_case(events: u64) -> (tempfile::TempDir, Case) {
    let dir = tempfile::tempdir().unwrap();
    let mut case = Case::create(dir.path()).unwrap();
    let opts = SynthOptions {
        events,
        hosts: 3,
        days: 1,
        seed: 5,
        documents: false,
    };
    build(&mut case, &opts).unwrap();
    case.build_indexes(|_| {}).unwrap();
    (dir, case)
}

/// Every row of the timeline's files, in file order.
fn read_back(dir: &Path, m: &TimelineManifest) -> Vec<TimelineRow> {
    let mut out = Vec::new();
    for f in &m.files {
        let file = File::open(dir.join(&f.name)).unwrap();
        let b = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let kv = b.metadata().file_metadata().key_value_metadata().unwrap();
        assert!(
            kv.iter().any(|k| k.key == crate::schema::FORMAT_KEY
                && k.value.as_deref() == Some(TIMELINE_FORMAT))
        );
        for batch in b.build().unwrap() {
            let batch = batch.unwrap();
            let i64s = |i: usize| {
                batch
                    .column(i)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .clone()
            };
            let strs = |i: usize| {
                batch
                    .column(i)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap()
                    .clone()
            };
            let (t, id, h, c, a, e, x) = (
                i64s(0),
                i64s(1),
                strs(2),
                strs(3),
                strs(4),
                i64s(5),
                strs(6),
            );
            let opt = |s: &StringArray, r: usize| (!s.is_null(r)).then(|| s.value(r).to_string());
            for r in 0..batch.num_rows() {
                out.push(TimelineRow {
                    ts: t.value(r),
                    id: id.value(r),
                    host: opt(&h, r),
                    channel: opt(&c, r),
                    account: opt(&a, r),
                    event_id: (!e.is_null(r)).then(|| e.value(r)),
                    text: x.value(r).to_string(),
                });
            }
        }
    }
    out
}

#[test]
fn files_hold_the_case_timeline_in_order_and_bounded() {
    let (dir, case) = small_case(2500);
    let opts = TimelineOptions {
        max_file_rows: 1000,
        row_group_rows: 300,
        chunk_rows: 700,
        ..Default::default()
    };
    let m = write_timeline(&case, opts, |_| {}).unwrap();
    let (tdir, read) = read_manifest(dir.path()).unwrap();
    assert_eq!(read, m);
    let extent = case.timeline_extent().unwrap();
    assert_eq!((m.events, m.max_id), (extent.events, extent.max_id));
    assert!(m.files.len() >= 3, "{} files", m.files.len());
    assert!(m.files.iter().all(|f| f.rows <= 1000));
    // Expected: the case's own rows, straight from SQLite in timeline order.
    let mut expected = Vec::new();
    case.for_each_timeline_chunk(10_000, |c| {
        expected.extend(c);
        Ok(true)
    })
    .unwrap();
    let got = read_back(&tdir, &m);
    assert_eq!(got.len() as u64, extent.events);
    assert_eq!(got, expected);
    assert!(
        got.windows(2)
            .all(|w| (w[0].ts, w[0].id) < (w[1].ts, w[1].id))
    );
    assert!(
        got.iter()
            .any(|r| r.host.as_deref() == Some("ws01.corp.local"))
    );
    assert!(
        got.iter()
            .any(|r| r.text.contains(" svc_sql ") || r.text.contains(" svc "))
    );
    // Written again: replaced, nothing else left in the case directory.
    write_timeline(&case, opts, |_| {}).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("timeline."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_foreign_timeline_folder_is_not_replaced() {
    let (dir, case) = small_case(50);
    let t = dir.path().join(TIMELINE_DIR);
    std::fs::create_dir(&t).unwrap();
    std::fs::write(t.join("notes.txt"), "mine").unwrap();
    let err = write_timeline(&case, TimelineOptions::default(), |_| {}).unwrap_err();
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert_eq!(
        std::fs::read_to_string(t.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn a_damaged_timeline_is_refused_by_its_manifest() {
    let (dir, case) = small_case(200);
    let m = write_timeline(&case, TimelineOptions::default(), |_| {}).unwrap();
    let part = dir.path().join(TIMELINE_DIR).join(&m.files[0].name);
    let bytes = std::fs::read(&part).unwrap();
    std::fs::write(&part, &bytes[..bytes.len() / 2]).unwrap();
    let err = read_manifest(dir.path()).unwrap_err().to_string();
    assert!(err.contains("damaged"), "{err}");
    let mpath = dir.path().join(TIMELINE_DIR).join(MANIFEST);
    std::fs::write(
        &mpath,
        r#"{"format":"kahu-case-timeline/9","events":1,"max_id":1,"files":[]}"#,
    )
    .unwrap();
    let err = read_manifest(dir.path()).unwrap_err().to_string();
    assert!(err.contains("kahu-case-timeline/9"), "{err}");
    std::fs::write(&mpath, b"\x00garbage").unwrap();
    assert!(read_manifest(dir.path()).is_err());
    std::fs::write(
        &mpath,
        r#"{"format":"kahu-case-timeline/1","events":1,"max_id":1,"files":[{"name":"../case.sqlite","rows":1,"bytes":1,"first":[0,0],"last":[0,0]}]}"#,
    )
    .unwrap();
    let err = read_manifest(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a timeline part"), "{err}");
}
