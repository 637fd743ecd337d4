//! `kahu cluster scheduler|executor`: the nodes of an Apache DataFusion
//! Ballista cluster that runs `kahu hunt --cluster`. kahu runs its own
//! executor (not Ballista's stock binary) so that the executors know
//! kahu's plan node and rebuild its rules (see docs/scale-out.md).

use anyhow::Result;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run a scheduler or an executor of a kahu Ballista cluster.
///
///   kahu cluster scheduler --bind 0.0.0.0:50050
///
///   kahu cluster executor --scheduler sched.example:50050 --bind 0.0.0.0:50051
///
///   kahu hunt --cluster sched.example:50050 /shared/shards --partitions 8
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(subcommand)]
    node: Node,
}

#[derive(clap::Subcommand)]
#[cfg_attr(
    not(feature = "cluster"),
    allow(
        dead_code,
        reason = "parsed for the message, not run, without the feature"
    )
)]
enum Node {
    /// Take `kahu hunt --cluster` jobs and hand their tasks to executors.
    Scheduler {
        /// Address the scheduler's gRPC service listens on.
        #[arg(long, default_value = "127.0.0.1:50050", value_name = "HOST:PORT")]
        bind: SocketAddr,
        /// Seconds an executor may stay silent before it is taken as lost
        /// and its tasks are run elsewhere (or the job fails).
        #[arg(long, default_value_t = 30, value_name = "SECS")]
        executor_timeout: u64,
    },
    /// Run tasks for a scheduler.
    Executor {
        /// The scheduler's HOST:PORT.
        #[arg(long, value_name = "HOST:PORT")]
        scheduler: String,
        /// Address of the executor's Arrow Flight service (results and
        /// shuffle data are fetched from it); its gRPC service listens on
        /// the next port.
        #[arg(long, default_value = "127.0.0.1:50051", value_name = "HOST:PORT")]
        bind: SocketAddr,
        /// Host name the scheduler and clients reach this executor at
        /// (default: the bind address).
        #[arg(long, value_name = "HOST")]
        external_host: Option<String>,
        /// Tasks run at once (default: one per core).
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        /// Folder for result and shuffle files (default: a temporary folder).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
        /// Seconds between heartbeats to the scheduler.
        #[arg(long, default_value_t = 5, value_name = "SECS")]
        heartbeat: u64,
    },
}

/// Run the node until the process is stopped.
#[cfg(feature = "cluster")]
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kahu-cluster")
        .build()?;
    let codec = crate::cluster::codec();
    let result = match args.node {
        Node::Scheduler {
            bind,
            executor_timeout,
        } => {
            eprintln!("kahu cluster scheduler listening on {bind}");
            runtime.block_on(kahu_distributed::cluster::run_scheduler(
                bind,
                codec,
                executor_timeout.max(1),
            ))
        }
        Node::Executor {
            scheduler,
            bind,
            external_host,
            concurrency,
            work_dir,
            heartbeat,
        } => {
            let (host, port) = scheduler
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                .ok_or_else(|| anyhow::anyhow!("--scheduler {scheduler:?}: give HOST:PORT"))?;
            let concurrency = concurrency
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            eprintln!(
                "kahu cluster executor on {bind} ({concurrency} task slots), scheduler {host}:{port}"
            );
            let opts = kahu_distributed::cluster::ExecutorOptions {
                scheduler: (host, port),
                bind,
                external_host,
                concurrency,
                work_dir,
                heartbeat,
            };
            runtime.block_on(kahu_distributed::cluster::run_executor(opts, codec))
        }
    };
    result.map_err(anyhow::Error::msg)?;
    Ok(ExitCode::SUCCESS)
}

/// Without the `cluster` feature: say how to get it.
#[cfg(not(feature = "cluster"))]
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let _ = args.node;
    anyhow::bail!(
        "this kahu was built without cluster support; build it with \
         `cargo install --locked --path crates/cli --features cluster`"
    )
}
