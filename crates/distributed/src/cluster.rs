//! kahu on an Apache DataFusion Ballista cluster (feature `cluster`).
//!
//! The client plans the same scan as the single-node engine — shards in
//! groups, one partition per group, [`SigmaExec`] on top — and submits the
//! physical plan to the scheduler. [`KahuCodec`] carries `SigmaExec` across
//! processes as a *spec*: bytes that say how to rebuild the detectors (the
//! rule texts and load options, written by the caller, e.g. kahu's CLI).
//! Each executor compiles a spec once and keeps it (keyed by its bytes).
//! Each partition sends back its findings and a closing row (its counters
//! and correlation state, or why it failed); the client checks that every
//! planned partition closed, reads a failed partition's shards again with
//! kahu's reader as the single-node engine does, and finishes correlation
//! in one place ([`crate::hunt`]'s gather step). A job the cluster cannot
//! finish (an executor lost and Ballista's retries spent) is an error:
//! nothing is reported as complete that was not.

use crate::collect::Collector;
use crate::detect::Detection;
use crate::exec::SigmaExec;
use crate::run::{Error, HuntOptions, HuntOutput, Scanned, Scanner, hunt_with, plan_input};
use crate::store::{KahuStores, Stores};
use crate::wire::group_key;
use ballista_core::config::BALLISTA_CLIENT_GRPC_MAX_MESSAGE_SIZE;
use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion_common::{DataFusionError, Result};
use datafusion_execution::TaskContext;
use datafusion_execution::config::SessionConfig;
use datafusion_physical_plan::ExecutionPlan;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use futures::StreamExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What starts a `SigmaExec` in [`KahuCodec`]'s encoding (Ballista's own
/// nodes are protobuf messages, which never start with these bytes).
const MAGIC: &[u8] = b"KAHU-SIGMA/1\n";

/// The largest spec a codec accepts (the rule texts travel in every plan;
/// SigmaHQ's Windows rules are ≈ 4.3 MiB).
pub const MAX_SPEC_BYTES: usize = 48 << 20;

/// gRPC message size for plans and results (Ballista's default is 16 MiB;
/// a plan carries the rule texts, a partition's closing row its
/// correlation state).
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// Rebuilds the detectors from a spec.
pub type Compile = dyn Fn(&[u8]) -> std::result::Result<Detection, String> + Send + Sync;

/// Specs compiled in this process kept at most (a new one evicts all).
const CACHE: usize = 8;

/// Ballista's physical codec plus [`SigmaExec`]. Give the same codec to the
/// scheduler and every executor (kahu's `cluster` commands do).
pub struct KahuCodec {
    inner: BallistaPhysicalExtensionCodec,
    compile: Arc<Compile>,
    cache: Mutex<Vec<Compiled>>,
}

/// A spec and the detectors compiled from it.
type Compiled = (Arc<[u8]>, Arc<Detection>);

impl std::fmt::Debug for KahuCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KahuCodec")
    }
}

impl KahuCodec {
    /// A codec that rebuilds detectors with `compile`.
    pub fn new(compile: Arc<Compile>) -> Self {
        KahuCodec {
            inner: BallistaPhysicalExtensionCodec::default(),
            compile,
            cache: Mutex::default(),
        }
    }

    /// The detectors of `spec`, compiled once per process.
    fn detection(&self, spec: &[u8]) -> Result<Arc<Detection>> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, d)) = cache.iter().find(|(s, _)| &**s == spec) {
            return Ok(d.clone());
        }
        let d = Arc::new((self.compile)(spec).map_err(|e| {
            DataFusionError::Execution(format!("kahu executor cannot rebuild the rules: {e}"))
        })?);
        if cache.len() >= CACHE {
            cache.clear();
        }
        cache.push((Arc::from(spec), d.clone()));
        Ok(d)
    }
}

impl PhysicalExtensionCodec for KahuCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(spec) = buf.strip_prefix(MAGIC) else {
            return self.inner.try_decode(buf, inputs, ctx, proto_converter);
        };
        if spec.len() > MAX_SPEC_BYTES {
            return Err(DataFusionError::Execution(format!(
                "SigmaExec spec of {} bytes, over the {MAX_SPEC_BYTES} a kahu executor accepts",
                spec.len()
            )));
        }
        let [input] = inputs else {
            return Err(DataFusionError::Internal(format!(
                "SigmaExec takes one input, given {}",
                inputs.len()
            )));
        };
        let detection = self.detection(spec)?;
        Ok(Arc::new(SigmaExec::for_cluster(
            input.clone(),
            detection,
            Arc::from(spec),
        )))
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        match node.downcast_ref::<SigmaExec>() {
            Some(exec) => {
                let spec = exec.spec().ok_or_else(|| {
                    DataFusionError::Internal(
                        "a SigmaExec without a spec cannot leave this process".into(),
                    )
                })?;
                buf.extend_from_slice(MAGIC);
                buf.extend_from_slice(spec);
                Ok(())
            }
            None => self.inner.try_encode(node, buf, proto_converter),
        }
    }
}

/// [`crate::hunt`] on a Ballista cluster: `scheduler` is its `HOST:PORT`,
/// `spec` what executors rebuild `detection` from (the caller's encoding,
/// which executors' [`KahuCodec`] must read to the same rules). The shards
/// must be readable at the same paths on the executors (a shared file
/// system) and here (footers, routing, re-reads), or in an object store
/// both reach (`s3://` or `file://` URLs in `paths`, see [`crate::hunt`];
/// executors open the store from their own AWS environment, see
/// [`KahuStores`]).
pub fn hunt_cluster(
    scheduler: &str,
    paths: &[PathBuf],
    detection: Arc<Detection>,
    spec: Arc<[u8]>,
    opts: &HuntOptions,
    done: &(dyn Fn(u64) + Sync),
) -> std::result::Result<HuntOutput, Error> {
    if spec.len() > MAX_SPEC_BYTES {
        return Err(Error::Cluster(format!(
            "the rules take {} bytes, over the {MAX_SPEC_BYTES} a plan may carry",
            spec.len()
        )));
    }
    let scanner = Scanner::Cluster {
        scheduler: scheduler.to_string(),
        spec,
    };
    hunt_with(paths, detection, opts, done, scanner)
}

/// Run the scan on the cluster and sort the results by partition.
pub(crate) async fn scan(
    scheduler: &str,
    spec: Arc<[u8]>,
    stores: &Stores,
    shards: &[(PathBuf, u64)],
    detection: Arc<Detection>,
    partitions: usize,
    done: &(dyn Fn(u64) + Sync),
) -> std::result::Result<Scanned, Error> {
    let (grouped, input) = plan_input(stores, shards, partitions)?;
    // Each partition's identity as the executors will compute it (the
    // partition number an executor sees is local to its task).
    let keys = (0..grouped.len())
        .map(|p| group_key(&input, p))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::Cluster)?;
    let exec: Arc<dyn ExecutionPlan> =
        Arc::new(SigmaExec::for_cluster(input, detection.clone(), spec));
    let mut config = SessionConfig::new_with_ballista().with_target_partitions(partitions);
    // As on one node: a partition's shards stay its own (re-read on failure).
    config
        .options_mut()
        .execution
        .enable_file_stream_work_stealing = false;
    config
        .options_mut()
        .set(
            BALLISTA_CLIENT_GRPC_MAX_MESSAGE_SIZE,
            &MAX_MESSAGE_BYTES.to_string(),
        )
        .map_err(|e| Error::Cluster(e.to_string()))?;
    let ballista = config.ballista_config();
    let codec = KahuCodec::new(Arc::new(client_compile));
    let session = format!(
        "kahu-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let url = if scheduler.contains("://") {
        scheduler.to_string()
    } else {
        format!("http://{scheduler}")
    };
    let cluster = |e: DataFusionError| Error::Cluster(e.to_string());
    let mut stream = ballista_core::execution_plans::execute_physical_plan::<
        datafusion_proto::protobuf::PhysicalPlanNode,
    >(url, &ballista, exec, &codec, session, config)
    .await
    .map_err(cluster)?;
    let mut collector = Collector::new(keys).map_err(Error::Cluster)?;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(cluster)?;
        collector.add(&batch).map_err(Error::Cluster)?;
    }
    let mut results = Vec::with_capacity(grouped.len());
    for (p, (settled, group)) in collector
        .finish(&detection)
        .into_iter()
        .zip(&grouped)
        .enumerate()
    {
        let outcome = settled.map_err(|e| {
            Error::Cluster(format!(
                "partition {p} ({} shards, first {}): {e}; its results are incomplete",
                group.len(),
                group
                    .first()
                    .map_or_else(String::new, |f| f.0.display().to_string())
            ))
        })?;
        results.push(outcome);
        done(group.iter().map(|f| f.1).sum());
    }
    Ok(Scanned {
        groups: grouped,
        results,
    })
}

/// The client encodes plans only; it never rebuilds a node from a spec.
fn client_compile(_: &[u8]) -> std::result::Result<Detection, String> {
    Err("the client does not decode plans".to_string())
}

/// Run a Ballista scheduler with `codec` on `bind` until the process ends.
/// `executor_timeout` is how long an executor may stay silent before its
/// tasks are given to others (Ballista's default is 180 s).
pub async fn run_scheduler(
    bind: std::net::SocketAddr,
    codec: Arc<KahuCodec>,
    executor_timeout: u64,
) -> std::result::Result<(), String> {
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::SchedulerConfig;
    let mut config = SchedulerConfig {
        bind_host: bind.ip().to_string(),
        bind_port: bind.port(),
        external_host: bind.ip().to_string(),
        ..SchedulerConfig::default()
    };
    config.override_physical_codec = Some(codec);
    config.override_session_builder = Some(scheduler_session());
    config.grpc_server_max_decoding_message_size = MAX_MESSAGE_BYTES as u32;
    config.grpc_server_max_encoding_message_size = MAX_MESSAGE_BYTES as u32;
    config.grpc_client_max_message_size = MAX_MESSAGE_BYTES as u32;
    config.executor_timeout_seconds = executor_timeout;
    config.no_executors_grace_period_seconds = executor_timeout;
    config.expire_dead_executor_interval_seconds = (executor_timeout / 2).clamp(1, 15);
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| e.to_string())?;
    ballista_scheduler::scheduler_process::start_server(cluster, bind, Arc::new(config))
        .await
        .map_err(|e| e.to_string())
}

/// Ballista's default scheduler session with [`KahuStores`] as its object
/// store registry: the scheduler parses each plan, and parsing a scan
/// asks the runtime for the store its URL names (an `s3://` bucket too).
fn scheduler_session() -> ballista_scheduler::scheduler_server::SessionBuilder {
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion_execution::runtime_env::RuntimeEnvBuilder;
    let stores = Arc::new(KahuStores::default());
    Arc::new(move |config| {
        let state = ballista_core::utils::default_session_builder(config)?;
        let env = RuntimeEnvBuilder::new()
            .with_object_store_registry(stores.clone())
            .build()?;
        Ok(SessionStateBuilder::new_from_existing(state)
            .with_runtime_env(Arc::new(env))
            .build())
    })
}

/// How to run an executor.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's host and port.
    pub scheduler: (String, u16),
    /// Address the executor's Arrow Flight service binds (results and
    /// shuffle data are fetched from it); its gRPC service takes the next port.
    pub bind: std::net::SocketAddr,
    /// Host the scheduler and clients reach this executor at (default: the
    /// bind address).
    pub external_host: Option<String>,
    /// Tasks run at once.
    pub concurrency: usize,
    /// Where shuffle and result files go (default: a temporary folder).
    pub work_dir: Option<PathBuf>,
    /// Seconds between heartbeats to the scheduler.
    pub heartbeat: u64,
}

/// The executor's DataFusion runtime for each session: Ballista's default
/// (temporary files in the work folder) with [`KahuStores`] as its object
/// store registry, so shards in `s3://` buckets are read too.
fn runtime_producer(work_dir: Option<PathBuf>) -> ballista_core::RuntimeProducer {
    use datafusion_execution::runtime_env::RuntimeEnvBuilder;
    let stores = Arc::new(KahuStores::default());
    Arc::new(move |_| {
        let mut b = RuntimeEnvBuilder::new().with_object_store_registry(stores.clone());
        if let Some(dir) = &work_dir {
            b = b.with_temp_file_path(dir.clone());
        }
        Ok(Arc::new(b.build()?))
    })
}

/// Run a Ballista executor with `codec` until the process ends.
pub async fn run_executor(
    opts: ExecutorOptions,
    codec: Arc<KahuCodec>,
) -> std::result::Result<(), String> {
    use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
    let grpc_port = opts
        .bind
        .port()
        .checked_add(1)
        .ok_or("the executor's port must leave room for its gRPC port (port + 1)")?;
    let config = ExecutorProcessConfig {
        bind_host: opts.bind.ip().to_string(),
        external_host: opts
            .external_host
            .or_else(|| Some(opts.bind.ip().to_string())),
        port: opts.bind.port(),
        grpc_port,
        scheduler_host: opts.scheduler.0,
        scheduler_port: opts.scheduler.1,
        scheduler_connect_timeout_seconds: 30,
        vcores: opts.concurrency.max(1),
        work_dir: opts.work_dir.as_ref().map(|p| p.display().to_string()),
        grpc_max_decoding_message_size: MAX_MESSAGE_BYTES as u32,
        grpc_max_encoding_message_size: MAX_MESSAGE_BYTES as u32,
        executor_heartbeat_interval_seconds: opts.heartbeat.max(1),
        print_thread_info: false,
        override_physical_codec: Some(codec),
        override_runtime_producer: Some(runtime_producer(opts.work_dir.clone())),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| e.to_string())
}
