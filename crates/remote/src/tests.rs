#![allow(clippy::unwrap_used)]

use super::*;
use object_store::memory::InMemory;
use object_store::{ObjectStoreExt, PutPayload};

fn s3(bucket: &str, prefix: &str) -> Source {
    Source::S3 {
        bucket: bucket.into(),
        prefix: ObjectPath::parse(prefix).unwrap(),
    }
}

/// An in-memory bucket holding `objects` (key, bytes); keys go through
/// `Path::parse`, as keys of an S3 listing do.
fn bucket(objects: &[(&str, &[u8])]) -> Arc<dyn ObjectStore> {
    let store = InMemory::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (key, bytes) in objects {
        let path = ObjectPath::parse(key).unwrap();
        rt.block_on(store.put(&path, PutPayload::from(bytes.to_vec())))
            .unwrap();
    }
    Arc::new(store)
}

fn target(
    store: Arc<dyn ObjectStore>,
    source: Source,
    url: &str,
) -> (Arc<dyn ObjectStore>, Source, String) {
    (store, source, url.to_string())
}

/// Every entry under `dir`, recursively, relative to it.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn hostile_keys_stay_inside_the_spool_and_are_shown_as_the_store_names_them() {
    // Keys an attacker who can write to the bucket might choose: percent
    // encoded traversal, a C1 control (CSI) and a right-to-left override,
    // a dot-dot made legal by object_store's encoding, shell and Windows
    // separators.
    let traversal = ObjectPath::from("../../etc/cron.d/x"); // encoded to %2E%2E
    let keys = [
        "case/..%2F..%2Fescape.jsonl",
        "case/\u{9b}31mred\u{202e}lmth.jsonl",
        "case/a\\..\\..\\b.jsonl",
        "case/$(touch pwned).jsonl",
    ];
    let mut objects: Vec<(&str, &[u8])> = keys.iter().map(|k| (*k, b"{}\n" as &[u8])).collect();
    let traversal_key = format!("case/{traversal}");
    objects.push((&traversal_key, b"{}\n"));
    let store = bucket(&objects);
    let parent = tempfile::tempdir().unwrap();
    let spool = spool_from(
        &[target(store, s3("evidence", "case"), "s3://evidence/case/")],
        Some(parent.path()),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(spool.objects, 5);
    assert!(spool.not_copied.is_empty());
    // Nothing was written beside the spool folder, and inside it only the
    // URL's folder and numbered copies.
    let beside: Vec<_> = std::fs::read_dir(parent.path()).unwrap().collect();
    assert_eq!(beside.len(), 1, "only the spool folder: {beside:?}");
    assert_eq!(
        tree(spool.dir()),
        [
            "001",
            "001/000001",
            "001/000002",
            "001/000003",
            "001/000004",
            "001/000005"
        ]
    );
    assert_eq!(spool.roots, [spool.dir().join("001")]);
    // Each copy is shown by its object's URL, key as listed.
    let mut names: Vec<String> = (1..=5)
        .map(|n| {
            let local = spool.dir().join(format!("001/{n:06}"));
            kahu_event::evidence_name(&local).unwrap().name.to_string()
        })
        .collect();
    names.sort();
    let mut expected: Vec<String> = keys
        .iter()
        .map(|k| format!("s3://evidence/{k}"))
        .chain([format!("s3://evidence/{traversal_key}")])
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    assert!(
        names.iter().any(|n| n.contains("%2E%2E/%2E%2E/etc")),
        "{names:?}"
    );
    let root = kahu_event::evidence_name(&spool.roots[0]).unwrap();
    assert_eq!(&*root.name, "s3://evidence/case/");
    // The copies and the names go with the spool.
    let dir = spool.dir().to_path_buf();
    drop(spool);
    assert!(!dir.exists());
    assert_eq!(kahu_event::evidence_name(&dir.join("001/000001")), None);
}

#[test]
fn an_object_over_a_cap_is_named_with_the_cap_and_the_others_are_copied() {
    let big = vec![b'x'; 100];
    let store = bucket(&[
        ("logs/a.jsonl", b"{\"a\":1}\n"),
        ("logs/big.evtx", &big),
        ("logs/c.jsonl", b"{\"c\":1}\n"),
    ]);
    let limits = Limits {
        max_object_bytes: 64,
        ..Limits::default()
    };
    let spool = spool_from(
        &[target(store.clone(), s3("b", "logs"), "s3://b/logs")],
        None,
        &limits,
    )
    .unwrap();
    assert_eq!(spool.objects, 2);
    assert_eq!(spool.bytes, 16);
    assert_eq!(spool.not_copied.len(), 1);
    assert_eq!(spool.not_copied[0].object, "s3://b/logs/big.evtx");
    assert!(
        spool.not_copied[0].reason.contains("100 bytes")
            && spool.not_copied[0]
                .reason
                .contains("64-byte cap per object"),
        "{}",
        spool.not_copied[0].reason
    );
    // The placeholder is empty and says why, for the readers' warning.
    let local = spool.roots[0].join("000002");
    assert_eq!(std::fs::metadata(&local).unwrap().len(), 0);
    let name = kahu_event::evidence_name(&local).unwrap();
    assert_eq!(&*name.name, "s3://b/logs/big.evtx");
    assert_eq!(name.components, ["b", "logs", "big.evtx"]);
    assert_eq!(name.not_read.as_deref(), Some(&*spool.not_copied[0].reason));
    assert_eq!(
        std::fs::read(spool.roots[0].join("000003")).unwrap(),
        b"{\"c\":1}\n"
    );

    // The total cap: the first object fits, the next would pass it.
    let limits = Limits {
        max_total_bytes: 20,
        ..Limits::default()
    };
    let spool = spool_from(
        &[target(store, s3("b", "logs"), "s3://b/logs")],
        None,
        &limits,
    )
    .unwrap();
    assert_eq!(spool.objects, 2, "{:?}", spool.not_copied);
    assert_eq!(spool.not_copied[0].object, "s3://b/logs/big.evtx");
    assert!(spool.not_copied[0].reason.contains("20-byte total cap"));
}

#[test]
fn listings_are_capped_empty_prefixes_refused_and_one_key_is_one_object() {
    let store = bucket(&[("p/1", b"a"), ("p/2", b"b"), ("p/3", b"c"), ("p2/x", b"d")]);
    let limits = Limits {
        max_objects: 2,
        ..Limits::default()
    };
    let err = spool_from(
        &[target(store.clone(), s3("b", "p"), "s3://b/p/")],
        None,
        &limits,
    )
    .unwrap_err();
    assert!(matches!(err, RemoteError::TooMany { max: 2, .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("s3://b/p/: more than 2 objects"),
        "{err}"
    );

    let err = spool_from(
        &[target(store.clone(), s3("b", "none"), "s3://b/none/")],
        None,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "s3://b/none/: no object under this prefix");

    // `p` is a folder-like prefix: `p2/x` is not under it.
    let spool = spool_from(
        &[target(store.clone(), s3("b", "p"), "s3://b/p")],
        None,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(spool.objects, 3);
    // A key names its object.
    let spool = spool_from(
        &[target(store, s3("b", "p2/x"), "s3://b/p2/x")],
        None,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(spool.objects, 1);
    assert_eq!(std::fs::read(spool.roots[0].join("000001")).unwrap(), b"d");
}

#[test]
fn urls_are_parsed_and_what_is_not_read_says_why() {
    assert_eq!(
        Source::parse("s3://bucket/a/b/").unwrap(),
        s3("bucket", "a/b")
    );
    assert_eq!(Source::parse("s3://bucket").unwrap(), s3("bucket", ""));
    assert_eq!(
        Source::parse("file:///srv/evidence/").unwrap(),
        Source::File {
            prefix: ObjectPath::parse("srv/evidence").unwrap()
        }
    );
    let e = Source::parse("file://server/share")
        .unwrap_err()
        .to_string();
    assert!(e.contains("absolute path"), "{e}");
    let e = Source::parse("gs://bucket/x").unwrap_err().to_string();
    assert!(e.contains("`gs://` is not read"), "{e}");
    let e = Source::parse("s3:///x").unwrap_err().to_string();
    assert!(e.contains("no bucket"), "{e}");
    // URL parsing resolves `..` (as a browser would): never above the bucket.
    assert_eq!(Source::parse("s3://b/a/../../x").unwrap(), s3("b", "x"));
}

#[test]
fn file_urls_read_the_local_file_system_with_the_path_as_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("host1")).unwrap();
    std::fs::write(dir.path().join("host1/a.jsonl"), b"{}\n").unwrap();
    std::fs::write(dir.path().join("b.jsonl"), b"{}\n{}\n").unwrap();
    let url = format!("file://{}/", dir.path().display());
    let spool = spool(std::slice::from_ref(&url), None, &Limits::default()).unwrap();
    assert_eq!(spool.objects, 2);
    assert_eq!(spool.bytes, 9);
    let names: Vec<EvidenceName> = (1..=2)
        .map(|n| kahu_event::evidence_name(&spool.roots[0].join(format!("{n:06}"))).unwrap())
        .collect();
    assert_eq!(
        &*names[0].name,
        format!("file://{}/b.jsonl", dir.path().display())
    );
    assert_eq!(
        &*names[1].name,
        format!("file://{}/host1/a.jsonl", dir.path().display())
    );
    let local: Vec<String> = dir
        .path()
        .join("host1/a.jsonl")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names[1].components, local,
        "the hints a local read would use"
    );
}

/// An in-memory store whose `get` of any key holding `fail` fails, as a
/// dropped connection does once object_store's retries are spent.
#[derive(Debug)]
struct FailingGets(InMemory);

impl std::fmt::Display for FailingGets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FailingGets")
    }
}

#[async_trait::async_trait]
impl ObjectStore for FailingGets {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.0.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.0.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        if location.as_ref().contains("fail") {
            return Err(object_store::Error::Generic {
                store: "test",
                source: "connection reset by peer".into(),
            });
        }
        self.0.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<ObjectPath>> {
        self.0.delete_stream(locations)
    }
    fn list(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.0.list(prefix)
    }
    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> object_store::Result<object_store::ListResult> {
        self.0.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.0.copy_opts(from, to, options).await
    }
}

#[test]
fn an_object_that_cannot_be_fetched_fails_the_spool_naming_it_and_leaves_nothing() {
    let store = InMemory::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for key in ["c/a.jsonl", "c/b-fail.evtx", "c/c.jsonl"] {
        rt.block_on(store.put(
            &ObjectPath::parse(key).unwrap(),
            PutPayload::from_static(b"{}\n"),
        ))
        .unwrap();
    }
    let parent = tempfile::tempdir().unwrap();
    let err = spool_from(
        &[target(
            Arc::new(FailingGets(store)),
            s3("b", "c"),
            "s3://b/c/",
        )],
        Some(parent.path()),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, RemoteError::Fetch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("s3://b/c/b-fail.evtx: cannot fetch the object:")
            && msg.contains("connection reset by peer"),
        "{msg}"
    );
    // The spool folder (with the copy of a.jsonl) is gone with the error.
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
}
