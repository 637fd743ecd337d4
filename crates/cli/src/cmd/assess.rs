//! `kahu assess`: the main job — evidence in, assessment out.

use crate::output::Style;
use crate::progress::FileProgress;
use anyhow::{Context, Result};
use kahu_assess::{AssessConfig, demo_config};
use kahu_finding::Level;
use kahu_report::assessment::Verdict;
use std::path::PathBuf;
use std::process::ExitCode;

/// Assess a compromise: read evidence, detect, reconstruct, attribute, and
/// write the report, STIX bundle, Navigator layer and containment lists.
///
///   kahu assess --demo                                  (bundled demonstration case)
///
///   kahu assess ./triage --rules ../sigma/rules --ioc partner.stix.json \
///       --sector government --region NZ --out ./report
///
/// Outputs in --out: report.html, assessment.json (+ its JSON Schema),
/// stix-bundle.json, navigator-layer.json, attribution.json, analytics.json,
/// findings.jsonl and containment/ (block lists, accounts, hosts, files).
///
/// Exit status: 0 when the assessment completed (whatever it found), 1 with
/// --fail-on LEVEL when a detection at or above LEVEL was made, 2 on error.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Evidence files, directories or archives; with kahu built with the
    /// `object-store` feature also `s3://BUCKET/PREFIX/` (credentials,
    /// region and `AWS_ENDPOINT` from the standard AWS environment
    /// variables; an `http://` endpoint needs `AWS_ALLOW_HTTP=true`) and
    /// `file:///ABS/PATH/`, every object under the prefix read as a file.
    #[arg(value_name = "PATH|URL", required_unless_present = "demo")]
    pub paths: Vec<PathBuf>,
    /// Assess the bundled demonstration case (generated deterministically:
    /// a fictional parliamentary network compromised with APT40 tradecraft).
    #[arg(long, conflicts_with = "paths")]
    pub demo: bool,
    /// Sigma rule files or directories, added to kahu's bundled rules (repeatable).
    #[arg(short, long = "rules", value_name = "DIR|FILE")]
    pub rules: Vec<PathBuf>,
    /// Value for a Sigma `|expand` placeholder (repeatable): NAME=VALUE.
    #[arg(long = "placeholder", value_name = "NAME=VALUE")]
    pub placeholders: Vec<String>,
    /// Do not use kahu's bundled rules.
    #[arg(long)]
    pub no_bundled_rules: bool,
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
    /// YARA rules to run over the evidence files (repeatable).
    #[arg(long = "yara", value_name = "DIR|FILE")]
    pub yara: Vec<PathBuf>,
    /// Output directory.
    #[arg(short, long, default_value = "kahu-report", value_name = "DIR")]
    pub out: PathBuf,
    /// Case name shown in the report.
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,
    /// Affected organisation (omit to keep it out of shared outputs).
    #[arg(long, value_name = "TEXT")]
    pub victim: Option<String>,
    /// Who produces the assessment (your CERT/SOC).
    #[arg(long, value_name = "TEXT")]
    pub producer: Option<String>,
    /// Victim sector, for victimology evidence (repeatable): government, defence…
    #[arg(long = "sector", value_name = "SECTOR")]
    pub sectors: Vec<String>,
    /// Victim country, for victimology evidence (repeatable): ISO code or name, NZ, Australia…
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Analyst enrichment of attacker infrastructure (repeatable): `KIND` or
    /// `IP=KIND`, e.g. `--infra 203.0.113.7=soho-router`, `--infra vps`.
    #[arg(long = "infra", value_name = "[IP=]KIND")]
    pub infrastructure: Vec<kahu_report::InfraNote>,
    /// Traffic Light Protocol marking of the report and the STIX bundle;
    /// indicators received under a stricter TLP stay out of the bundle.
    /// Default TLP:AMBER (the demo: TLP:CLEAR).
    #[arg(long, value_name = "LEVEL")]
    pub tlp: Option<kahu_intel::Tlp>,
    /// A newer MITRE ATT&CK STIX bundle (default: embedded v18.1).
    #[arg(long, value_name = "FILE")]
    pub attack: Option<PathBuf>,
    /// ATT&CK release techniques, tactics, the timeline and incidents are
    /// shown in: `auto` (v19 when a rule that fired is tagged in v19 or a
    /// bundle given with --attack is v19, else v18.1), `18.1` or `19`.
    /// Recorded in assessment.json's `attack` object.
    #[arg(long, value_name = "auto|18.1|19", default_value = "auto")]
    pub attack_version: kahu_attack::AttackVersion,
    /// Extra actor profile (YAML; repeatable).
    #[arg(long = "profile", value_name = "FILE")]
    pub profiles: Vec<PathBuf>,
    /// Exit with status 1 when a detection at or above this level was made.
    #[arg(long, value_name = "LEVEL")]
    pub fail_on: Option<Level>,
    /// Print a JSON summary on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Do not store events in `OUT/case.sqlite` (no `kahu serve` on this
    /// output; saves the store's disk space and time on large evidence).
    #[arg(long)]
    pub no_case: bool,
    /// Also write the case's timeline as Parquet (OUT/timeline/, as `kahu
    /// case parquet OUT`) for `kahu serve` built with `--features
    /// datafusion`. Done without the flag for cases of 10M events or more
    /// in a kahu built with `--features columnar`; the flag needs that
    /// feature.
    #[arg(long, conflicts_with = "no_case")]
    pub case_parquet: bool,
    /// Events kept in `OUT/case.sqlite`: `all` (default) or `detected` —
    /// only those a Sigma rule or indicator reported. `detected` writes a
    /// far smaller store faster, but `kahu serve`'s timeline, search and
    /// process trees then miss every other event, including those behind
    /// correlation and analytics findings (docs/benchmarks/case.md).
    #[arg(long, value_name = "WHICH", default_value = "all")]
    pub case_events: CaseEventsArg,
    /// Detection engine: `embedded` (kahu's readers and matcher threads,
    /// any evidence) or `datafusion` (Apache DataFusion over the Parquet
    /// shards `kahu convert` writes; needs kahu built with the
    /// `datafusion` feature). The analytics, file hashes and case store
    /// still come from kahu's readers over the same shards, on this
    /// machine, while the engine runs; YARA is refused with an engine.
    #[arg(long, value_enum, default_value = "embedded")]
    pub engine: crate::engine::Engine,
    /// DataFusion's target partitions: shards scanned in parallel
    /// (default: the number of CPUs). Only with `--engine datafusion` or
    /// `--cluster`.
    #[arg(long, value_name = "N")]
    pub partitions: Option<usize>,
    /// Run the Sigma detection on an Apache DataFusion Ballista cluster of
    /// kahu executors (`kahu cluster scheduler` / `kahu cluster executor`):
    /// the scheduler's HOST:PORT. The evidence is the Parquet shards `kahu
    /// convert` writes, at the same path here and on every executor, or
    /// under an `s3://` URL every executor opens with its own AWS
    /// environment (a kahu built with `object-store` too). The
    /// analytics, file hashes, indicators and case store come from kahu's
    /// readers over the same shards on this machine, while the cluster
    /// runs (docs/scale-out.md). Needs kahu built with the `cluster` feature.
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["engine", "demo"])]
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

/// `--case-events` values (see `kahu_assess::store::CaseEvents`).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum CaseEventsArg {
    /// Every event read.
    All,
    /// Only events a Sigma rule or an indicator reported.
    Detected,
}

/// Run the assessment.
pub(crate) fn run(args: Args, global: &super::Global) -> Result<ExitCode> {
    if args.case_parquet && !cfg!(feature = "columnar") {
        // Before the run, not after it.
        super::case_parquet::write(&args.out, true)?;
    }
    // The analytics always need a local pass beside an engine.
    let reading = crate::remote::reading(args.cluster.is_some(), args.engine, true);
    // `s3://…` and `file://…` arguments become a spool folder of copies,
    // kept until the end of the run.
    // (After the arguments are checked: a mistyped flag costs no download.)
    let mut cfg = config(&args)?;
    let evidence = crate::remote::resolve(&args.paths, reading, global.quiet)?;
    kahu_assess::guard::refuse_output_dir_on_evidence(
        &args.out,
        kahu_assess::write::OUTPUT_NAMES,
        &evidence.local,
    )?;
    if !args.demo {
        cfg.evidence.clone_from(&evidence.paths);
    }
    let progress = FileProgress::new(global.quiet || args.json);
    let run = kahu_assess::run(&cfg, &progress)?;
    progress.finish();
    if cfg.store_case && super::case_parquet::wanted(args.case_parquet, &args.out) {
        super::case_parquet::write(&args.out, global.quiet || args.json)?;
    }
    if !global.quiet && !args.json {
        crate::output::print_load_problems(&run.rule_errors, &run.rule_notes, &run.feeds);
    }
    let a = &run.assessment;
    if args.json {
        print_json_summary(&cfg, &run)?;
    } else {
        print_summary(&cfg, &run, global.quiet)?;
        print_sharing_reminder(&args);
    }
    // With YARA the files themselves were examined, events or not.
    if a.evidence.events == 0 && cfg.yara.is_empty() {
        // A report on nothing must not pass for a clean bill of health in
        // a script: the outputs are written, the status says why they are empty.
        eprintln!(
            "error: no event could be read from the evidence (see the warnings); the report says \"insufficient evidence\""
        );
        return Ok(ExitCode::from(crate::NO_EVIDENCE_EXIT));
    }
    if let Some(level) = args.fail_on
        && run.findings.iter().any(|f| f.level >= level)
    {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The run's configuration from the arguments, all checked before any
/// work (the demo writes files); clap has already refused a --tlp that is
/// no TLP level.
fn config(args: &Args) -> Result<AssessConfig> {
    let placeholders = crate::rules::placeholders(&args.placeholders)?;
    let ioc_tlp = kahu_assess::UnmarkedTlp::parse(&args.ioc_tlp)?;
    ioc_tlp.check_feeds(&args.iocs)?;
    {
        use crate::inputs::{Kind, MAX_ATTACK_BYTES, MAX_INPUT_BYTES, check};
        check("--rules", &args.rules, Kind::FileOrFolder)?;
        check("--yara", &args.yara, Kind::FileOrFolder)?;
        check(
            "--tuning",
            &args.noise.tuning,
            Kind::File(Some(MAX_INPUT_BYTES)),
        )?;
        check(
            "--profile",
            &args.profiles,
            Kind::File(Some(MAX_INPUT_BYTES)),
        )?;
        check("--attack", &args.attack, Kind::File(Some(MAX_ATTACK_BYTES)))?;
    }
    // Tuning files are read here, not by the pipeline, which checks the
    // other inputs: no output may replace one.
    let outputs: Vec<PathBuf> = kahu_assess::write::OUTPUT_NAMES
        .iter()
        .map(|n| args.out.join(n))
        .collect();
    kahu_assess::guard::refuse_outputs_on_inputs(
        &outputs.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        &args.noise.tuning,
    )?;
    {
        let inputs: Vec<PathBuf> = [
            &args.iocs,
            &args.rules,
            &args.yara,
            &args.noise.tuning,
            &args.profiles,
        ]
        .into_iter()
        .flatten()
        .chain(args.attack.iter())
        .cloned()
        .collect();
        kahu_assess::guard::refuse_foreign_outputs(&args.out, &inputs)?;
    }
    let mut cfg = if args.demo {
        demo_config(&args.out)?
    } else {
        AssessConfig::new(args.paths.clone(), args.out.clone())
    };
    cfg.rules = args.rules.clone();
    cfg.no_bundled_rules = args.no_bundled_rules;
    cfg.placeholders = placeholders;
    cfg.iocs.extend(args.iocs.iter().cloned());
    cfg.ioc_tlp = ioc_tlp;
    cfg.yara = args.yara.clone();
    cfg.store_case = !args.no_case;
    cfg.case_events = match args.case_events {
        CaseEventsArg::All => kahu_assess::store::CaseEvents::All,
        CaseEventsArg::Detected => kahu_assess::store::CaseEvents::Detected,
    };
    cfg.attack_bundle = args.attack.clone();
    cfg.attack_version = args.attack_version;
    cfg.profiles = args.profiles.clone();
    cfg.tuning = args.noise.tuning()?;
    cfg.repeats = args.noise.repeats();
    cfg.rule_statuses = args.noise.statuses();
    cfg.filter = args.select.filter()?;
    cfg.ioc_strict_validity = args.ioc_strict_validity;
    cfg.engine = match &args.cluster {
        Some(scheduler) => Some(cluster_engine(args, scheduler)?),
        None => crate::engine::detection_engine(args.engine, args.partitions)?,
    };
    if let Some(n) = &args.name {
        cfg.case.name = n.clone();
    } else if !args.demo {
        cfg.case.name = args
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
    }
    if args.victim.is_some() {
        cfg.case.victim = args.victim.clone();
    }
    if let Some(p) = &args.producer {
        cfg.case.producer = p.clone();
    }
    check_enrichment(args)?;
    cfg.case.sectors.extend(args.sectors.iter().cloned());
    cfg.case.regions.extend(args.regions.iter().cloned());
    cfg.case
        .infrastructure
        .extend(args.infrastructure.iter().cloned());
    if let Some(tlp) = args.tlp {
        cfg.case.tlp = tlp;
    }
    Ok(cfg)
}

/// The `--cluster` engine, given the rules and options as `assess` loads them.
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
            // `assess` has no --min-level: every level is loaded.
            min_level: kahu_sigma::LoadOptions::default().min_level,
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

/// Refuse sectors, regions and infrastructure kinds no actor profile
/// (bundled or `--profile`) knows, as `kahu attribute` does.
fn check_enrichment(args: &Args) -> Result<()> {
    let mut profiles = kahu_attack::actor_profiles();
    for p in &args.profiles {
        kahu_attack::add_analyst_profile(
            &mut profiles,
            kahu_attack::ActorProfile::load(p)
                .with_context(|| format!("loading actor profile {}", p.display()))?,
        );
    }
    super::attribute::check_enrichment(
        &args.regions,
        &args.sectors,
        args.infrastructure.iter().map(|note| note.kind.as_str()),
        &profiles,
    )
}

/// `--json`: the summary of the run on stdout.
fn print_json_summary(cfg: &AssessConfig, run: &kahu_assess::AssessRun) -> Result<()> {
    let a = &run.assessment;
    let summary = serde_json::json!({
        "out": cfg.out,
        "verdict": a.summary.verdict,
        "headline": a.summary.headline,
        "attribution": {
            "outcome": a.attribution.outcome,
            "judgement": a.attribution.judgement,
            "leading": a.attribution.candidates.first().map(|c| serde_json::json!({
                "group_id": c.group_id, "name": c.name, "likelihood": c.likelihood,
                "probability": c.probability, "confidence": c.confidence,
            })),
        },
        "files": a.evidence.files,
        "events": a.evidence.events,
        "scope_limits": a.evidence.scope_limits,
        "warnings": a.evidence.warnings,
        "warning_details": run.warnings.iter().take(1000).collect::<Vec<_>>(),
        "rule_problems": run.rule_errors.iter().take(1000).collect::<Vec<_>>(),
        "rule_sources": run.rule_sources,
        "detections_by_level": a.summary.detections_by_level,
        "techniques": a.techniques.iter().map(|t| &t.id).collect::<Vec<_>>(),
        "incidents": a.incidents.len(),
        "elapsed_seconds": run.elapsed_seconds,
        "written": run.written,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// The text summary: verdict, attribution, incidents, containment and
/// where the outputs are.
fn print_summary(cfg: &AssessConfig, run: &kahu_assess::AssessRun, quiet: bool) -> Result<()> {
    let a = &run.assessment;
    let s = Style::stdout(quiet);
    // Case names, headlines and titles quote evidence (host names, file names).
    let safe = crate::output::terminal_safe;
    let verdict_level = match a.summary.verdict {
        Verdict::CompromiseDetected => Level::High,
        Verdict::SuspiciousActivity => Level::Medium,
        _ => Level::Informational,
    };
    println!(
        "{}  {}  ({} files, {} events, {:.1}s)",
        s.bold("kahu assess"),
        safe(&cfg.case.name),
        a.evidence.files,
        a.evidence.events,
        run.elapsed_seconds
    );
    println!(
        "{} {}",
        s.bold("Rules from:"),
        crate::output::terminal_safe(&run.rule_sources.join("; "))
    );
    for l in &a.evidence.scope_limits {
        println!(
            "{} {}",
            s.bold("Part of the evidence only:"),
            crate::output::terminal_safe(l)
        );
    }
    println!();
    let verdict = serde_json::to_value(a.summary.verdict)?
        .as_str()
        .unwrap_or("")
        .replace('_', " ")
        .to_uppercase();
    println!(
        "{}  {}",
        s.level(verdict_level, &verdict),
        safe(&a.summary.headline)
    );
    println!();
    print_attribution(a, &s);
    print_incidents(a, &s);
    print_containment(a, &s);
    print_outputs(cfg);
    Ok(())
}

/// The attribution judgement and the three leading candidates that have
/// any supporting evidence (names at 0 % with nothing for them, as when
/// the evidence is insufficient, would only invite a question).
fn print_attribution(a: &kahu_report::assessment::Assessment, s: &Style) {
    println!(
        "{} {}",
        s.bold("Attribution:"),
        crate::output::terminal_safe(&a.attribution.judgement)
    );
    for c in a
        .attribution
        .candidates
        .iter()
        .filter(|c| !c.supporting.is_empty())
        .take(3)
    {
        println!(
            "  {}. {:<28} {:>5.1}%  {:<20} supporting {:>2}, contradicting {}",
            c.rank,
            format!("{} ({})", c.name, c.group_id),
            c.probability * 100.0,
            c.likelihood,
            c.supporting.len(),
            c.contradicting.len()
        );
    }
}

/// The most severe incidents (all of them are in the report).
fn print_incidents(a: &kahu_report::assessment::Assessment, s: &Style) {
    const SHOWN: usize = 5;
    if a.incidents.is_empty() {
        return;
    }
    println!();
    println!(
        "{} {}",
        s.bold("Incidents:"),
        if a.incidents.len() > SHOWN {
            format!(
                "{} (the {SHOWN} most severe shown; all in report.html)",
                a.incidents.len()
            )
        } else {
            a.incidents.len().to_string()
        }
    );
    for i in a.incidents.iter().take(SHOWN) {
        println!(
            "  {} {}  {}{}",
            s.level(i.severity, i.severity.as_str()),
            i.id,
            crate::output::terminal_safe(&i.title),
            i.severity_reason
                .as_deref()
                .map(|why| format!(" [{} {why}]", i.severity.as_str()))
                .unwrap_or_default()
        );
    }
}

/// Containment counts, rejected entries and evidence warnings.
fn print_containment(a: &kahu_report::assessment::Assessment, s: &Style) {
    let c = &a.containment;
    println!();
    println!(
        "{} isolate {} host(s), reset {} account(s), block {} IP(s) / {} domain(s), remove {} file(s)",
        s.bold("Containment:"),
        c.hosts.len(),
        c.accounts.len(),
        c.ips.len(),
        c.domains.len(),
        c.files.len()
    );
    let rejected = c.rejected_for_control_characters();
    if rejected > 0 {
        println!(
            "{} {rejected} containment {} control characters (an injection attempt?): left out, listed in containment/excluded.csv",
            s.bold("Rejected:"),
            if rejected == 1 {
                "entry held"
            } else {
                "entries held"
            }
        );
    }
    if a.evidence.warnings > 0 {
        println!(
            "{} {} (see the report's Evidence section)",
            s.bold("Evidence warnings:"),
            a.evidence.warnings
        );
    }
}

/// Where the report, the case store and the other outputs are.
fn print_outputs(cfg: &AssessConfig) {
    println!();
    println!("Report: {}", cfg.out.join("report.html").display());
    let store = cfg.out.join("case.sqlite");
    if cfg.store_case
        && let Ok(m) = std::fs::metadata(&store)
    {
        println!(
            "Case:   {} ({:.1} MB; open with `kahu serve {}`, skip with --no-case)",
            store.display(),
            m.len() as f64 / 1e6,
            cfg.out.display()
        );
    }
    println!(
        "Also:   assessment.json, stix-bundle.json, navigator-layer.json, containment/ in {}",
        cfg.out.display()
    );
}

/// A bundle goes to partners under the producer's name: defaults must not
/// leave unnoticed.
fn print_sharing_reminder(args: &Args) {
    let mut unset = Vec::new();
    if args.producer.is_none() && !args.demo {
        unset.push("--producer (the STIX identity is \"kahu user\")");
    }
    if args.name.is_none() && !args.demo {
        unset.push("--name (the report is named after the evidence paths)");
    }
    if !unset.is_empty() {
        println!(
            "Before sharing the report or the STIX bundle, set {}.",
            unset.join(" and ")
        );
    }
}
