//! `--engine`: which engine runs the detection pass.

use anyhow::Result;
use std::sync::Arc;

/// The detection engines `hunt --engine` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Engine {
    /// kahu's own readers and matcher threads (any evidence).
    Embedded,
    /// Apache DataFusion over kahu Parquet shards (feature `datafusion`).
    Datafusion,
}

/// The engine for `kahu_assess::DetectConfig::engine` (`None`: embedded).
#[cfg(feature = "datafusion")]
pub(crate) fn detection_engine(
    engine: Engine,
    partitions: Option<usize>,
) -> Result<Option<Arc<dyn kahu_assess::engine::DetectionEngine>>> {
    match engine {
        Engine::Embedded => {
            if partitions.is_some() {
                anyhow::bail!("--partitions applies to --engine datafusion only");
            }
            Ok(None)
        }
        Engine::Datafusion => Ok(Some(Arc::new(DataFusion {
            partitions: partitions.unwrap_or(0),
        }))),
    }
}

/// The engine for `kahu_assess::DetectConfig::engine` (`None`: embedded).
#[cfg(not(feature = "datafusion"))]
pub(crate) fn detection_engine(
    engine: Engine,
    partitions: Option<usize>,
) -> Result<Option<Arc<dyn kahu_assess::engine::DetectionEngine>>> {
    match engine {
        Engine::Embedded if partitions.is_none() => Ok(None),
        Engine::Embedded => anyhow::bail!("--partitions applies to --engine datafusion only"),
        Engine::Datafusion => anyhow::bail!(
            "--engine datafusion needs kahu built with the `datafusion` feature \
             (cargo install --locked --path crates/cli --features datafusion)"
        ),
    }
}

/// `kahu_distributed::hunt` as a detection engine.
#[cfg(feature = "datafusion")]
#[derive(Debug)]
struct DataFusion {
    partitions: usize,
}

#[cfg(feature = "datafusion")]
impl kahu_assess::engine::DetectionEngine for DataFusion {
    fn name(&self) -> &'static str {
        "datafusion"
    }

    fn run(
        &self,
        job: kahu_assess::engine::EngineJob<'_>,
    ) -> Result<kahu_assess::engine::EngineOutput> {
        let detection = Arc::new(kahu_distributed::Detection {
            rules: job.rules.to_vec(),
            iocs: job.iocs.clone(),
            filter: job.filter.clone(),
        });
        let (files, _) = kahu_assess::detect::list_files(job.evidence);
        job.progress
            .start(files.len() as u64, files.iter().map(|f| f.1).sum());
        let opts = kahu_distributed::HuntOptions {
            partitions: self.partitions,
            routing: true,
            max_objects: crate::remote::max_objects(),
        };
        let progress = job.progress;
        let paths = crate::remote::engine_paths(job.evidence);
        let out =
            kahu_distributed::hunt(&paths, detection, &opts, &|bytes| progress.file_done(bytes))?;
        Ok(engine_output(out))
    }
}

/// A DataFusion hunt's output as the detection stage takes it (the same
/// for the single-node and the cluster engine).
#[cfg(feature = "datafusion")]
pub(crate) fn engine_output(
    out: kahu_distributed::HuntOutput,
) -> kahu_assess::engine::EngineOutput {
    use kahu_assess::detect::ExcludedCounts;
    let warnings = out
        .warnings
        .into_iter()
        .map(|w| kahu_ingest::Warning {
            file: w.file.display().to_string().into(),
            member: None,
            location: w.row.map(kahu_event::Location::Record),
            reason: w.reason,
        })
        .collect();
    kahu_assess::engine::EngineOutput {
        findings: out.findings,
        correlation: out.correlation,
        warnings,
        events: out.events,
        excluded: ExcludedCounts {
            time: out.excluded.time,
            undated: out.excluded.undated,
            selection: out.excluded.selection,
        },
        files: out.files,
    }
}

/// Why `--cluster` (of `hunt` and `assess`) cannot run in this build, and
/// how to get a build that can.
#[cfg(not(feature = "cluster"))]
pub(crate) fn cluster_not_built() -> anyhow::Error {
    anyhow::anyhow!(
        "--cluster needs kahu built with the `cluster` feature \
         (cargo install --locked --path crates/cli --features cluster)"
    )
}
