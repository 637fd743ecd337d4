//! `kahu hunt`: run detection rules over evidence and write a timeline.

use crate::output::{self, Style, Summary, TimelineFormat};
use crate::progress::FileProgress;
use anyhow::{Context, Result};
use kahu_assess::DetectConfig;
use kahu_finding::Level;
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
pub(crate) struct Args {
    /// Evidence files, directories or archives; with kahu built with the
    /// `object-store` feature also `s3://BUCKET/PREFIX/` (credentials,
    /// region and `AWS_ENDPOINT` from the standard AWS environment
    /// variables; an `http://` endpoint needs `AWS_ALLOW_HTTP=true`) and
    /// `file:///ABS/PATH/`, every object under the prefix read as a file.
    #[arg(required = true, value_name = "PATH|URL")]
    pub paths: Vec<PathBuf>,
    /// Sigma rule files or directories, added to kahu's bundled rules
    /// (repeatable), as in `assess`. Without it, the bundled rules and a
    /// package installed by `kahu rules update` are used.
    #[arg(short, long = "rules", value_name = "DIR|FILE")]
    pub rules: Vec<PathBuf>,
    /// Do not use kahu's bundled rules (with `--rules`: only those rules).
    #[arg(long)]
    pub no_bundled_rules: bool,
    /// Write the detection timeline to this file.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Timeline format (default: from the output file's extension, else csv).
    #[arg(short, long, value_enum)]
    pub format: Option<TimelineFormat>,
    /// How JSON-lines findings carry the event's fields: `pairs`
    /// (`[["Name","value"],…]`, the default, which existing scripts read)
    /// or `object` (`{"Name":"value",…}`; a name that occurs more than once
    /// holds an array of its values, in order). `kahu attribute --findings`
    /// reads both. The Timesketch format always has flat `field_NAME`
    /// attributes.
    #[arg(long, value_enum, default_value = "pairs", value_name = "pairs|object")]
    pub jsonl_fields: output::FieldsForm,
    /// Only report detections at or above this level
    /// (informational, low, medium, high, critical).
    #[arg(long, default_value = "informational", value_name = "LEVEL")]
    pub min_level: Level,
    /// Print the summary as JSON on stdout (for scripts) instead of text;
    /// on stderr when the timeline itself goes to stdout (`-o -`), so
    /// stdout holds only the timeline.
    #[arg(long)]
    pub json: bool,
    /// IOC feed: STIX 2.1 bundle, MISP event/feed, CSV or plain list, or a
    /// folder whose every file is read as a feed (repeatable).
    #[arg(long = "ioc", value_name = "FEED")]
    pub iocs: Vec<PathBuf>,
    /// TLP of indicators a feed leaves unmarked (CSV and plain lists never
    /// mark theirs): `LEVEL` for every feed or `FEED=LEVEL` for one
    /// (repeatable). Unless given, unmarked indicators are TLP:RED: used
    /// for detection, withheld from every shared output.
    #[arg(long = "ioc-tlp", value_name = "[FEED=]LEVEL")]
    pub ioc_tlp: Vec<String>,
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
    /// Show CSV timeline times in this zone: a fixed UTC offset
    /// (`+12:00`, `-05:00`) or an IANA zone name (`Pacific/Auckland`,
    /// daylight saving applied per event); default UTC. JSON-lines and
    /// Timesketch output stay in UTC.
    #[arg(long, value_name = "OFFSET|ZONE", value_parser = crate::timezone::OutputZone::parse)]
    pub tz: Option<crate::timezone::OutputZone>,
    /// Show times in UTC: the default, accepted so scripts can say so
    /// (issue #15 names `--utc` beside `--tz`).
    #[arg(long, conflicts_with = "tz")]
    pub utc: bool,
    /// ATT&CK release the summary's technique ids are shown in: `auto`
    /// (v19 when a rule that fired is tagged in v19, else the embedded
    /// v18.1), `18.1` or `19`. The timeline keeps each rule's own tags.
    #[arg(long, value_name = "auto|18.1|19", default_value = "auto")]
    pub attack_version: kahu_attack::AttackVersion,
    /// Detection engine: `embedded` (kahu's readers and matcher threads,
    /// any evidence) or `datafusion` (Apache DataFusion over the Parquet
    /// shards `kahu convert` writes; needs kahu built with the
    /// `datafusion` feature). Both run the same compiled rules and give
    /// the same findings.
    #[arg(long, value_enum, default_value = "embedded")]
    pub engine: crate::engine::Engine,
    /// DataFusion's target partitions: shards scanned in parallel
    /// (default: the number of CPUs). Only with `--engine datafusion`.
    #[arg(long, value_name = "N")]
    pub partitions: Option<usize>,
    /// Run the detection on an Apache DataFusion Ballista cluster of kahu
    /// executors (`kahu cluster scheduler` / `kahu cluster executor`):
    /// the scheduler's HOST:PORT. The evidence is the Parquet shards
    /// `kahu convert` writes, at the same path here and on every executor
    /// or under an `s3://` URL every executor opens with its own AWS
    /// environment (a kahu built with `object-store` too);
    /// `--partitions` sets how many groups they are scanned in. Needs kahu
    /// built with the `cluster` feature.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "engine")]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub noise: crate::tuning::NoiseArgs,
    #[command(flatten)]
    pub select: crate::filter::FilterArgs,
    /// Match STIX indicators only inside their valid_from/valid_until
    /// window. By default hits outside it are reported with a note (feeds
    /// set valid_from to the publication date, and retro-hunts look at
    /// older logs).
    #[arg(long)]
    pub ioc_strict_validity: bool,
}

/// Run the hunt. Exit code 0 when the run completed (with or without
/// detections); errors (unreadable rules, bad arguments) give 2.
pub(crate) fn run(mut args: Args, global: &super::Global) -> Result<ExitCode> {
    let started = Instant::now();
    check_inputs(&args)?;
    // Checked before any download: a mistyped flag costs no copy.
    detect_config(&args)?;
    // A local pass reads every event here besides the engine: for the case
    // store, and for indicators a cluster's executors do not match.
    let local_pass = args.case.is_some() || (args.cluster.is_some() && !args.iocs.is_empty());
    let reading = crate::remote::reading(args.cluster.is_some(), args.engine, local_pass);
    // `s3://…` and `file://…` arguments become a spool folder of copies
    // (or, for an engine, a folder standing for the URL), kept until the
    // end of the run.
    let evidence = crate::remote::resolve(&args.paths, reading, global.quiet)?;
    refuse_outputs_on_local_objects(&args, &evidence.local)?;
    args.paths.clone_from(&evidence.paths);
    let cfg = detect_config(&args)?;
    refuse_overwrites(&args)?;
    let chatty = !global.quiet && !args.json;
    let progress = FileProgress::new(global.quiet || args.json);
    let mut run = kahu_assess::detect(&cfg, &progress)?;
    progress.finish();
    if chatty {
        output::print_load_problems(&run.rules.errors, &run.rules.notes, &run.feeds);
    }
    if let Some(store) = run.case.take() {
        store
            .finish(
                &run.findings,
                &[],
                &run.warnings,
                &run.formats,
                kahu_assess::store::Replace::Files(&run.files),
            )
            .context("cannot write the case store")?;
    }
    let findings = run.findings;
    let rule_files = output::RuleFiles::of(&run.rules.rule_sets());

    // `-o -`, or no `-o` without `--json`, writes the timeline to stdout
    // (as Hayabusa and Chainsaw do); the summary then goes to stderr.
    let to_stdout = args.output.as_deref() == Some(std::path::Path::new("-"))
        || (args.output.is_none() && !args.json);
    write_timeline(&args, to_stdout, &findings, &rule_files, global.quiet)?;

    let elapsed = started.elapsed().as_secs_f64();
    let view = kahu_assess::assemble::attack_view(
        kahu_attack::KnowledgeBase::embedded(),
        args.attack_version,
        &findings,
        &run.rules.rule_sets(),
    )?;
    let (by_level, top_rules, hosts, techniques) =
        output::tally(&findings, &|t| view.technique_id(t));
    let summary = Summary {
        files: run.files.len(),
        events: run.events,
        events_excluded: run.excluded.total(),
        rule_sources: run.rules.sources.clone(),
        scope_limits: kahu_assess::detect::scope_limits(&cfg.filter, &run.excluded),
        warnings: run.warnings.len(),
        rules_loaded: run.rules.count(),
        rules_rejected: run.rules.errors.len(),
        findings: findings.len(),
        detections: findings.iter().map(kahu_reconstruct::repeat_count).sum(),
        by_level,
        top_rules,
        hosts,
        techniques,
        attack_version: view.release(),
        elapsed_seconds: elapsed,
        events_per_second: run.events as f64 / elapsed.max(1e-9),
        output: args.output.as_ref().map(|p| p.display().to_string()),
        warning_details: run.warnings.iter().take(1000).cloned().collect(),
        rule_problems: run.rules.errors.iter().take(1000).cloned().collect(),
    };
    if args.json {
        let json = serde_json::to_string_pretty(&summary)?;
        if to_stdout {
            eprintln!("{json}");
        } else {
            println!("{json}");
        }
    } else {
        let preview: Vec<String> = run.warnings.iter().take(5).map(|w| w.to_string()).collect();
        if to_stdout {
            output::print_summary(
                &mut std::io::stderr().lock(),
                &summary,
                Style::plain(),
                &preview,
            );
        } else {
            output::print_summary(
                &mut std::io::stdout().lock(),
                &summary,
                Style::stdout(global.quiet),
                &preview,
            );
        }
    }
    // With YARA the files themselves were examined, events or not.
    if run.events == 0 && args.yara.is_empty() {
        eprintln!("error: no event could be read from the evidence (see the warnings)");
        return Ok(ExitCode::from(crate::NO_EVIDENCE_EXIT));
    }
    Ok(ExitCode::SUCCESS)
}

/// The detection run `args` ask for.
fn detect_config(args: &Args) -> Result<DetectConfig> {
    Ok(DetectConfig {
        evidence: args.paths.clone(),
        // `--rules` adds to the bundled set, as in `assess` (one meaning
        // for one flag); `--no-bundled-rules` runs one team's rules alone.
        bundled_rules: !args.no_bundled_rules,
        rules: args.rules.clone(),
        load: kahu_sigma::LoadOptions {
            min_level: args.min_level,
            placeholders: crate::rules::placeholders(&args.placeholders)?,
            tuning: args.noise.tuning()?,
            statuses: args
                .noise
                .statuses()
                .unwrap_or_else(|| kahu_sigma::LoadOptions::default().statuses),
        },
        iocs: args.iocs.clone(),
        ioc_tlp: {
            let t = kahu_assess::UnmarkedTlp::parse(&args.ioc_tlp)?;
            t.check_feeds(&args.iocs)?;
            t
        },
        yara: args.yara.clone(),
        case_dir: args.case.clone(),
        case_events: Default::default(),
        case_is_this_evidence: false,
        analytics: false,
        repeats: args.noise.repeats(),
        filter: args.select.filter()?,
        ioc_strict_validity: args.ioc_strict_validity,
        engine: match &args.cluster {
            Some(scheduler) => Some(cluster_engine(args, scheduler)?),
            None => crate::engine::detection_engine(args.engine, args.partitions)?,
        },
    })
}

/// No output may replace evidence, nor a rule, feed, YARA or tuning file
/// the run reads.
fn refuse_overwrites(args: &Args) -> Result<()> {
    let outputs: Vec<&std::path::Path> = args
        .output
        .iter()
        .chain(args.case.iter())
        .map(PathBuf::as_path)
        .filter(|p| *p != std::path::Path::new("-"))
        .collect();
    kahu_assess::guard::refuse_outputs_on_evidence(&outputs, &args.paths)?;
    // Nor may an output replace a rule, feed, YARA or tuning file the run
    // reads (`-o feed.csv --ioc feed.csv` would truncate the partner's feed).
    let case_file = args.case.as_ref().map(|d| d.join("case.sqlite"));
    let written: Vec<&std::path::Path> = args
        .output
        .iter()
        .filter(|p| *p != std::path::Path::new("-"))
        .chain(case_file.iter())
        .map(PathBuf::as_path)
        .collect();
    let read: Vec<PathBuf> = [&args.rules, &args.iocs, &args.yara, &args.noise.tuning]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    kahu_assess::guard::refuse_outputs_on_inputs(&written, &read)?;
    Ok(())
}

/// No output may go where a `file://` URL's evidence is.
fn refuse_outputs_on_local_objects(args: &Args, local: &[PathBuf]) -> Result<()> {
    let outputs: Vec<&std::path::Path> = args
        .output
        .iter()
        .chain(args.case.iter())
        .map(PathBuf::as_path)
        .filter(|p| *p != std::path::Path::new("-"))
        .collect();
    kahu_assess::guard::refuse_outputs_on_evidence(&outputs, local)
}

/// Write the timeline (CSV, JSON lines or Timesketch) to `-o` or stdout.
fn write_timeline(
    args: &Args,
    to_stdout: bool,
    findings: &[kahu_finding::Finding],
    rule_files: &output::RuleFiles,
    quiet: bool,
) -> Result<()> {
    let tz = args.tz;
    let stdout_path = PathBuf::from("-");
    let timeline = args.output.as_ref().or(to_stdout.then_some(&stdout_path));
    if let Some(path) = timeline {
        let format = args
            .format
            .unwrap_or_else(|| TimelineFormat::from_path(path));
        let w: Box<dyn std::io::Write> = if to_stdout {
            Box::new(BufWriter::new(std::io::stdout().lock()))
        } else {
            let file = kahu_report::safe::create_output_file(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            Box::new(BufWriter::new(file))
        };
        let skipped = match format {
            TimelineFormat::Csv => output::write_csv(w, findings, tz, rule_files).map(|()| 0),
            TimelineFormat::Jsonl => {
                output::write_jsonl(w, findings, rule_files, args.jsonl_fields).map(|()| 0)
            }
            TimelineFormat::Timesketch => {
                output::write_timesketch(w, findings, TimelineFormat::jsonl_name(path))
            }
        }
        .with_context(|| format!("cannot write {}", path.display()))?;
        if skipped > 0 && !quiet {
            eprintln!(
                "warning: {skipped} finding(s) without a time left out of the Timesketch timeline"
            );
        }
    }
    Ok(())
}

/// The `--cluster` engine.
#[cfg(feature = "cluster")]
fn cluster_engine(
    args: &Args,
    scheduler: &str,
) -> Result<std::sync::Arc<dyn kahu_assess::engine::DetectionEngine>> {
    Ok(std::sync::Arc::new(crate::cluster::Cluster {
        request: crate::cluster::Request {
            scheduler: scheduler.to_string(),
            partitions: args.partitions.unwrap_or(0),
            bundled: !args.no_bundled_rules,
            rules: args.rules.clone(),
            min_level: args.min_level,
            statuses: args.noise.statuses(),
            placeholders: args.placeholders.clone(),
            noise: args.noise.clone(),
        },
    }))
}

/// Without the `cluster` feature, `--cluster` says how to get it.
#[cfg(not(feature = "cluster"))]
fn cluster_engine(
    _: &Args,
    _: &str,
) -> Result<std::sync::Arc<dyn kahu_assess::engine::DetectionEngine>> {
    Err(crate::engine::cluster_not_built())
}

/// Rule, YARA and tuning paths are regular files or folders, never a FIFO
/// or a device (see `crate::inputs`).
fn check_inputs(args: &Args) -> Result<()> {
    use crate::inputs::{Kind, MAX_INPUT_BYTES, check};
    check("--rules", &args.rules, Kind::FileOrFolder)?;
    check("--yara", &args.yara, Kind::FileOrFolder)?;
    check(
        "--tuning",
        &args.noise.tuning,
        Kind::File(Some(MAX_INPUT_BYTES)),
    )
}
