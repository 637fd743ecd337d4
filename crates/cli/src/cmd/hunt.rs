//! `kahu hunt`: run detection rules over evidence and write a timeline.

use crate::output::{self, Style, Summary, TimelineFormat};
use crate::progress::FileProgress;
use anyhow::{Context, Result};
use kahu_assess::detect::{self, Detector};
use kahu_finding::Level;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Run Sigma rules over evidence and write the detection timeline.
///
/// Evidence may be files, directories (walked recursively) or archives; the
/// format of each file is recognised from its content. Examples:
///
///   kahu hunt ./triage --rules ../sigma/rules --output timeline.csv
///
///   kahu hunt Security.evtx --rules rules/ --min-level high --json
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Evidence files, directories or archives.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Sigma rule files or directories (repeatable). Without it, kahu's own
    /// bundled rule set is used.
    #[arg(short, long = "rules", value_name = "DIR|FILE")]
    pub rules: Vec<PathBuf>,
    /// Write the detection timeline to this file.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Timeline format (default: from the output file's extension, else csv).
    #[arg(short, long, value_enum)]
    pub format: Option<TimelineFormat>,
    /// Only report detections at or above this level
    /// (informational, low, medium, high, critical).
    #[arg(long, default_value = "informational", value_name = "LEVEL")]
    pub min_level: Level,
    /// Print the summary as JSON on stdout (for scripts) instead of text.
    #[arg(long)]
    pub json: bool,
    /// IOC feed: STIX 2.1 bundle, MISP event/feed, CSV or plain list (repeatable).
    #[arg(long = "ioc", value_name = "FILE")]
    pub iocs: Vec<PathBuf>,
    /// Value for a Sigma `|expand` placeholder (repeatable; several values
    /// for one name are ORed): `--placeholder Admins_Workstations=ADM-PC01`.
    #[arg(long = "placeholder", value_name = "NAME=VALUE")]
    pub placeholders: Vec<String>,
    /// YARA rule files or directories, run over the evidence files (repeatable).
    #[arg(long = "yara", value_name = "DIR|FILE")]
    pub yara: Vec<PathBuf>,
    /// Also store events and detections in this case directory (created if
    /// needed; evidence already in the case, by SHA-256, is not stored again)
    /// for `kahu serve`.
    #[arg(long, value_name = "DIR")]
    pub case: Option<PathBuf>,
    #[command(flatten)]
    pub noise: crate::tuning::NoiseArgs,
}

/// Run the hunt. Exit code 0 when the run completed (with or without
/// detections); errors (unreadable rules, bad arguments) give 2.
pub fn run(args: Args, global: &super::Global) -> Result<ExitCode> {
    let started = Instant::now();
    for p in &args.paths {
        if !p.exists() {
            anyhow::bail!("evidence path {} does not exist", p.display());
        }
    }
    let opts = kahu_sigma::LoadOptions {
        min_level: args.min_level,
        placeholders: crate::rules::placeholders(&args.placeholders)?,
        tuning: args.noise.tuning()?,
        ..Default::default()
    };
    let (rules, (files, walk_warnings)) = rayon::join(
        || crate::rules::load(&args.rules, &opts),
        || detect::list_files(&args.paths),
    );
    let rules = rules?;
    if !global.quiet && !args.json {
        for e in rules.errors.iter().take(5) {
            eprintln!("warning: rule rejected: {e}");
        }
        if rules.errors.len() > 5 {
            eprintln!(
                "warning: {} more rules rejected (see `kahu rules check`)",
                rules.errors.len() - 5
            );
        }
    }
    let total_bytes = files.iter().map(|f| f.1).sum();
    let progress = FileProgress::new(files.len() as u64, total_bytes, global.quiet || args.json);
    let mut iocs = kahu_intel::IocSet::new();
    for p in &args.iocs {
        let report = iocs
            .load_path(p)
            .with_context(|| format!("cannot load IOC feed {}", p.display()))?;
        if !global.quiet && !args.json && !report.issues.is_empty() {
            eprintln!(
                "warning: {}: {} indicator(s) loaded, {} problem(s) (first: {:?})",
                p.display(),
                report.loaded,
                report.issues.len(),
                report.issues.first()
            );
        }
    }
    let rules_loaded = rules.ruleset.len();
    let rules_rejected = rules.errors.len();
    let sigma = kahu_assess::sigma::SigmaDetector::new(rules);
    if !global.quiet && !args.json {
        for e in sigma.correlation_errors.iter().take(5) {
            eprintln!("warning: correlation rule rejected: {e}");
        }
    }
    let ioc = kahu_assess::pipeline::IocDetector(iocs);
    let detectors: Vec<&dyn Detector> = vec![&sigma, &ioc];
    let store = match &args.case {
        Some(dir) => Some(kahu_assess::store::CaseStore::open(dir, &files)?),
        None => None,
    };
    let mut out = detect::run(
        &files,
        &detectors,
        || kahu_assess::store::PipelineObserver {
            analytics: None,
            case: store.as_ref().map(|s| s.sink()),
        },
        &progress,
    );
    // Dropping the last handle flushes its batch to the case writer.
    out.observer.case = None;
    progress.finish();
    out.warnings.splice(0..0, walk_warnings);
    let (correlated, correlation_warnings) = sigma.finish();
    out.findings.extend(correlated);
    for reason in correlation_warnings {
        out.warnings.push(kahu_ingest::Warning {
            file: "(correlation)".into(),
            member: None,
            location: None,
            reason,
        });
    }

    let mut findings = out.findings;
    if !args.yara.is_empty() {
        let scanner =
            kahu_intel::YaraScanner::compile(&args.yara).context("cannot compile YARA rules")?;
        let scanned: Vec<Vec<kahu_finding::Finding>> = {
            use rayon::prelude::*;
            files
                .par_iter()
                .map(|(p, _)| scanner.scan_path(p))
                .collect()
        };
        findings.extend(scanned.into_iter().flatten());
    }
    opts.tuning.apply(&mut findings);
    findings.retain(|f| f.level >= args.min_level);
    kahu_assess::order_findings(&mut findings);
    let findings = kahu_reconstruct::collapse_repeats(findings, &args.noise.repeats());
    if let Some(store) = store {
        store
            .finish(
                &findings,
                &[],
                &out.warnings,
                kahu_assess::store::Replace::Files(&files),
            )
            .context("cannot write the case store")?;
    }

    if let Some(path) = &args.output {
        let format = args
            .format
            .unwrap_or_else(|| TimelineFormat::from_path(path));
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let w = BufWriter::new(file);
        match format {
            TimelineFormat::Csv => output::write_csv(w, &findings),
            TimelineFormat::Jsonl => output::write_jsonl(w, &findings),
        }
        .with_context(|| format!("cannot write {}", path.display()))?;
    }

    let elapsed = started.elapsed().as_secs_f64();
    let (by_level, top_rules, hosts, techniques) = output::tally(&findings);
    let summary = Summary {
        files: out.files.len(),
        events: out.events,
        warnings: out.warnings.len(),
        rules_loaded: rules_loaded + sigma.correlation_count(),
        rules_rejected: rules_rejected + sigma.correlation_errors.len(),
        findings: findings.len(),
        by_level,
        top_rules,
        hosts,
        techniques,
        elapsed_seconds: elapsed,
        events_per_second: out.events as f64 / elapsed.max(1e-9),
        output: args.output.as_ref().map(|p| p.display().to_string()),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        let preview: Vec<String> = out.warnings.iter().take(5).map(|w| w.to_string()).collect();
        output::print_summary(&summary, Style::stdout(global.quiet), &preview);
    }
    Ok(ExitCode::SUCCESS)
}
