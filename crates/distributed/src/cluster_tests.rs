//! The Ballista path in Ballista's in-process standalone mode (a scheduler
//! and an executor on loopback, in this process, both with [`KahuCodec`]):
//! every plan crosses the codec and gRPC as in a real cluster. Findings
//! must be the embedded detector's (`SigmaScan` over the same events) and
//! the single-node DataFusion engine's, correlations and a damaged shard
//! included.

use crate::cluster::{KahuCodec, hunt_cluster};
use crate::tests::{BURST, LINUX, WHOAMI, convert, events, key, rules, run, temp, truth};
use crate::{Detection, HuntOptions, HuntOutput};
use kahu_intel::IocSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The test's spec: rule documents as JSON `[[name, text], …]`, loaded
/// with default options.
fn spec(docs: &[(&str, &str)]) -> Arc<[u8]> {
    Arc::from(serde_json::to_vec(docs).expect("spec"))
}

fn compile(spec: &[u8]) -> Result<Detection, String> {
    let docs: Vec<(String, String)> = serde_json::from_slice(spec).map_err(|e| e.to_string())?;
    let refs: Vec<(&str, &str)> = docs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    Ok(detection(&refs))
}

fn detection(docs: &[(&str, &str)]) -> Detection {
    Detection {
        rules: vec![rules(docs)],
        iocs: Arc::new(IocSet::new()),
        filter: Default::default(),
    }
}

/// A standalone scheduler and one executor (2 task slots) on loopback,
/// alive as long as the returned runtime; the scheduler's `HOST:PORT`.
fn standalone() -> (tokio::runtime::Runtime, String) {
    use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
    use ballista_core::serde::{BallistaCodec, BallistaLogicalExtensionCodec};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let codec = BallistaCodec::new(
        Arc::new(BallistaLogicalExtensionCodec::default()),
        Arc::new(KahuCodec::new(Arc::new(compile))),
    );
    let port = rt.block_on(async {
        let addr = ballista_scheduler::standalone::new_standalone_scheduler_with_builder(
            Arc::new(ballista_core::utils::default_session_builder),
            Arc::new(ballista_core::utils::default_config_producer),
            codec.clone(),
        )
        .await
        .expect("scheduler");
        let url = format!("http://localhost:{}", addr.port());
        let mut client = None;
        for _ in 0..100 {
            if let Ok(c) = SchedulerGrpcClient::connect(url.clone()).await {
                client = Some(c);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        ballista_executor::new_standalone_executor(client.expect("scheduler reachable"), 2, codec)
            .await
            .expect("executor");
        addr.port()
    });
    (rt, format!("localhost:{port}"))
}

fn cluster_run(
    scheduler: &str,
    docs: &[(&str, &str)],
    dir: &Path,
    partitions: usize,
) -> (Vec<String>, HuntOutput) {
    let opts = HuntOptions {
        partitions,
        ..HuntOptions::default()
    };
    let mut out = hunt_cluster(
        scheduler,
        &[dir.to_path_buf()],
        Arc::new(detection(docs)),
        spec(docs),
        &opts,
        &|_| {},
    )
    .expect("cluster hunt");
    let mut all = std::mem::take(&mut out.findings);
    for c in &mut out.correlation {
        all.append(&mut c.findings);
    }
    let mut keys: Vec<String> = all.iter().map(key).collect();
    keys.sort();
    (keys, out)
}

#[test]
fn the_cluster_finds_what_the_embedded_detector_finds_and_survives_a_damaged_shard() {
    let (_rt, scheduler) = standalone();
    let evs = events();
    let dir = temp("cluster");
    convert(&evs, &dir);
    let docs = [
        ("whoami.yml", WHOAMI),
        ("burst.yml", BURST),
        ("linux.yml", LINUX),
    ];
    let set = rules(&docs);
    let want = truth(&set, &evs);
    assert!(
        want.iter().any(|k| k.contains("0000000000a2")),
        "a correlation finding"
    );
    for partitions in [1, 3] {
        let (got, out) = cluster_run(&scheduler, &docs, &dir, partitions);
        assert_eq!(out.partitions, partitions);
        assert_eq!(out.events, evs.len() as u64);
        assert_eq!(out.reread, 0, "{:?}", out.failed_partitions);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert!(got == want, "{partitions} partitions: findings differ");
    }

    // A damaged shard: as on one node, its partition fails on the
    // executor, the client reads its shards again and names the shard.
    let set = rules(&[("whoami.yml", WHOAMI)]);
    let mut shards: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.to_string_lossy().contains("host=WS2"))
        .collect();
    shards.sort();
    let victim = shards[0].clone();
    let mut bytes = std::fs::read(&victim).expect("read");
    let n = bytes.len();
    let footer_len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().expect("4 bytes")) as usize;
    for b in &mut bytes[4..n - 8 - footer_len] {
        *b = 0xA5;
    }
    std::fs::write(&victim, &bytes).expect("write");
    let (local, local_out) = run(&set, &dir, 3, true);
    let (got, out) = cluster_run(&scheduler, &[("whoami.yml", WHOAMI)], &dir, 3);
    assert!(out.reread > 0, "the victim's partition was read again");
    assert!(
        out.warnings.iter().any(|w| w.file == victim),
        "{:?}",
        out.warnings
    );
    assert_eq!(out.warnings, local_out.warnings);
    assert!(got == local, "cluster and single-node findings differ");
    assert!(
        got.len() < truth(&set, &evs).len(),
        "the victim's whoami are lost"
    );
    std::fs::remove_dir_all(&dir).ok();
}
