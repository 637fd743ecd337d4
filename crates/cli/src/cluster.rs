//! `kahu hunt --cluster` and `kahu assess --cluster`: the Sigma detection pass on an Apache DataFusion
//! Ballista cluster of kahu executors (feature `cluster`).
//!
//! The plan carries a [`Spec`]: the rule texts (read here, so executors
//! need no rules folder), the load options as the command line gave them,
//! the tuning files' texts and the event filter. Executors and this
//! client rebuild the detectors from the same spec with the same function
//! ([`compile`]), so the correlation state executors send back fits the
//! client's engines by construction; the rule counts are also checked
//! against what `hunt` itself loaded.

use anyhow::{Context, Result};
use kahu_assess::engine::{DetectionEngine, EngineJob, EngineOutput};
use kahu_correlation::SigmaRules;
use kahu_distributed::Detection;
use kahu_event::EventFilter;
use kahu_sigma::{LoadOptions, RuleSet, Tuning};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// The rules and options executors rebuild the detectors from.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Spec {
    /// The kahu version that wrote it: executors of another refuse it (the
    /// compiled semantics must be the client's).
    kahu: String,
    /// Rule sets in the order `hunt` loads them: `(origin, text)` per file.
    sets: Vec<Vec<(String, String)>>,
    min_level: kahu_finding::Level,
    statuses: Vec<String>,
    placeholders: Vec<String>,
    /// Shipped noisy-rule list on, then tuning files `(origin, text)`, then
    /// `--exclude-rule` ids.
    shipped_tuning: bool,
    tuning: Vec<(String, String)>,
    exclude: Vec<String>,
    filter: FilterSpec,
}

/// [`EventFilter`] as data (times as seconds and nanoseconds, exact).
#[derive(Debug, Serialize, Deserialize)]
struct FilterSpec {
    from: Option<(i64, u32)>,
    to: Option<(i64, u32)>,
    hosts: Vec<String>,
    exclude_hosts: Vec<String>,
    channels: Vec<String>,
    exclude_channels: Vec<String>,
    event_ids: Vec<u32>,
    exclude_event_ids: Vec<u32>,
}

/// What `hunt` was asked for, to write a [`Spec`] from when it runs.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The scheduler's `HOST:PORT`.
    pub scheduler: String,
    /// `--partitions` (0: as many as this machine has CPUs).
    pub partitions: usize,
    pub bundled: bool,
    pub rules: Vec<PathBuf>,
    pub min_level: kahu_finding::Level,
    pub statuses: Option<Vec<kahu_sigma::Status>>,
    pub placeholders: Vec<String>,
    pub noise: crate::tuning::NoiseArgs,
}

fn docs_of(paths: &[PathBuf]) -> Result<Vec<(String, String)>> {
    // The files `RuleSet::load` reads, named as it names them; a file it
    // cannot read is left out here as it is rejected there.
    let (files, _) = kahu_sigma::rule_files(paths);
    Ok(files
        .iter()
        .filter_map(|f| {
            kahu_sigma::read_rule_file(f)
                .ok()
                .map(|t| (f.display().to_string(), t))
        })
        .collect())
}

impl Request {
    /// The spec for a run with `filter`, rule sets in `load_rules`' order.
    fn spec(&self, filter: &EventFilter) -> Result<Spec> {
        let mut sets = Vec::new();
        if self.bundled {
            sets.push(
                kahu_demo::bundled_rules()
                    .iter()
                    .map(|(n, t)| (n.to_string(), t.to_string()))
                    .collect(),
            );
            if self.rules.is_empty()
                && let Some(installed) = kahu_assess::detection::installed_rules()
            {
                sets.push(docs_of(&[installed])?);
            }
        }
        if !self.rules.is_empty() {
            sets.push(docs_of(&self.rules)?);
        }
        let mut tuning = Vec::new();
        for p in &self.noise.tuning {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read tuning file {}", p.display()))?;
            tuning.push((p.display().to_string(), text));
        }
        let time = |t: &kahu_event::Timestamp| (t.timestamp(), t.timestamp_subsec_nanos());
        Ok(Spec {
            kahu: env!("CARGO_PKG_VERSION").to_string(),
            sets,
            min_level: self.min_level,
            statuses: self
                .statuses
                .iter()
                .flatten()
                .map(|s| s.as_str().to_string())
                .collect(),
            placeholders: self.placeholders.clone(),
            shipped_tuning: !self.noise.no_default_tuning,
            tuning,
            exclude: self.noise.exclude_rules.clone(),
            filter: FilterSpec {
                from: filter.from.as_ref().map(time),
                to: filter.to.as_ref().map(time),
                hosts: filter.hosts.clone(),
                exclude_hosts: filter.exclude_hosts.clone(),
                channels: filter.channels.clone(),
                exclude_channels: filter.exclude_channels.clone(),
                event_ids: filter.event_ids.clone(),
                exclude_event_ids: filter.exclude_event_ids.clone(),
            },
        })
    }
}

/// Rebuild the detectors from a spec's bytes (the codec's compile step, on
/// executors and on the client).
pub(crate) fn compile(bytes: &[u8]) -> std::result::Result<Detection, String> {
    let spec: Spec = serde_json::from_slice(bytes).map_err(|e| format!("unreadable spec: {e}"))?;
    if spec.kahu != env!("CARGO_PKG_VERSION") {
        return Err(format!(
            "the client is kahu {}, this executor kahu {}: run the same version on both",
            spec.kahu,
            env!("CARGO_PKG_VERSION")
        ));
    }
    let mut tuning = if spec.shipped_tuning {
        Tuning::shipped()
    } else {
        Tuning::new()
    };
    for (origin, text) in &spec.tuning {
        tuning.merge(Tuning::from_yaml(text, origin).map_err(|e| e.to_string())?);
    }
    for id in &spec.exclude {
        tuning.exclude(id, "excluded on the command line", "--exclude-rule");
    }
    let statuses = if spec.statuses.is_empty() {
        LoadOptions::default().statuses
    } else {
        spec.statuses
            .iter()
            .map(|s| kahu_sigma::Status::parse(s).ok_or_else(|| format!("status {s:?}")))
            .collect::<std::result::Result<_, _>>()?
    };
    let opts = LoadOptions {
        min_level: spec.min_level,
        placeholders: crate::rules::placeholders(&spec.placeholders).map_err(|e| e.to_string())?,
        tuning,
        statuses,
    };
    let rules = spec
        .sets
        .iter()
        .map(|docs| {
            let refs: Vec<(&str, &str)> =
                docs.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
            Arc::new(SigmaRules::new(RuleSet::from_yaml(&refs, &opts)))
        })
        .collect();
    let time = |t: Option<(i64, u32)>| t.and_then(|(s, n)| chrono::DateTime::from_timestamp(s, n));
    let f = spec.filter;
    Ok(Detection {
        rules,
        iocs: Arc::new(kahu_intel::IocSet::new()),
        filter: EventFilter {
            from: time(f.from),
            to: time(f.to),
            hosts: f.hosts,
            exclude_hosts: f.exclude_hosts,
            channels: f.channels,
            exclude_channels: f.exclude_channels,
            event_ids: f.event_ids,
            exclude_event_ids: f.exclude_event_ids,
        },
    })
}

/// The codec kahu's scheduler and executors run with.
pub(crate) fn codec() -> Arc<kahu_distributed::cluster::KahuCodec> {
    Arc::new(kahu_distributed::cluster::KahuCodec::new(Arc::new(compile)))
}

/// `kahu_distributed::cluster::hunt_cluster` as a detection engine.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub request: Request,
}

impl DetectionEngine for Cluster {
    fn name(&self) -> &'static str {
        "cluster"
    }

    /// Executors do not have the IOC feeds: the detection stage matches
    /// the indicators in its local pass over the same shards.
    fn runs_iocs(&self) -> bool {
        false
    }

    fn run(&self, job: EngineJob<'_>) -> Result<EngineOutput> {
        if !job.iocs.is_empty() {
            // `runs_iocs` is false: the stage never hands indicators here.
            anyhow::bail!("internal error: indicators given to the cluster engine");
        }
        let spec = self.request.spec(job.filter)?;
        let bytes: Arc<[u8]> = Arc::from(serde_json::to_vec(&spec)?);
        let detection = compile(&bytes).map_err(anyhow::Error::msg)?;
        // The client's own load and the spec's must agree, set by set.
        let counts = |sets: &[Arc<SigmaRules>]| -> Vec<(usize, usize)> {
            sets.iter()
                .map(|s| (s.rules.len(), s.correlation_count()))
                .collect()
        };
        if counts(&detection.rules) != counts(job.rules) {
            anyhow::bail!(
                "the rules sent to the cluster compile to {:?} (rules, correlations) per set, \
                 `hunt` loaded {:?}: did the rule files change during the run?",
                counts(&detection.rules),
                counts(job.rules)
            );
        }
        let (files, _) = kahu_assess::detect::list_files(job.evidence);
        job.progress
            .start(files.len() as u64, files.iter().map(|f| f.1).sum());
        let opts = kahu_distributed::HuntOptions {
            partitions: self.request.partitions,
            routing: true,
            max_objects: crate::remote::max_objects(),
        };
        let progress = job.progress;
        let out = kahu_distributed::cluster::hunt_cluster(
            &self.request.scheduler,
            &crate::remote::engine_paths(job.evidence),
            Arc::new(detection),
            bytes,
            &opts,
            &|bytes| progress.file_done(bytes),
        )?;
        Ok(crate::engine::engine_output(out))
    }
}
