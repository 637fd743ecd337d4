//! `kahu rules check|list|show`: which rules kahu can use, precisely why
//! not, and what each rule is (file, author, references, false positives).

use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Work with rule sets.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub command: RulesCommand,
}

/// `kahu rules` subcommands.
#[derive(clap::Subcommand)]
pub(crate) enum RulesCommand {
    /// Parse and compile every Sigma rule (and correlation rule) under the
    /// paths, listing each rejected rule with file, rule id, construct and
    /// reason. Without paths, checks kahu's bundled rules.
    ///
    ///   kahu rules check ../sigma/rules ../sigma/rules-emerging-threats
    #[command(verbatim_doc_comment)]
    Check {
        /// Rule files or directories.
        #[arg(value_name = "DIR|FILE")]
        paths: Vec<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Exit with status 1 when any rule is rejected.
        #[arg(long)]
        strict: bool,
        /// Value for an `|expand` placeholder (repeatable): NAME=VALUE.
        #[arg(long = "placeholder", value_name = "NAME=VALUE")]
        placeholders: Vec<String>,
    },
    /// List the rules kahu would use: id, level, status, title and file.
    /// Without paths, kahu's bundled rules.
    List {
        /// Rule files or directories.
        #[arg(value_name = "DIR|FILE")]
        paths: Vec<PathBuf>,
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one rule (by id or title, as findings name it): its file,
    /// metadata, ATT&CK tags, references and false positives, and its text.
    ///
    ///   kahu rules show 5f65a6a3-... ../sigma/rules
    #[command(verbatim_doc_comment)]
    Show {
        /// The rule id (or title) from a finding's `rule_id`.
        id: String,
        /// Rule files or directories (default: the bundled rules).
        #[arg(value_name = "DIR|FILE")]
        paths: Vec<PathBuf>,
        /// Print the rule as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Install a Sigma rule package as the default rule set, used by
    /// `hunt` and `assess` (with kahu's own rules) whenever no `--rules` is
    /// given. From a file or folder (offline), or from an https:// or
    /// http:// URL (a SigmaHQ release asset from
    /// https://github.com/SigmaHQ/sigma/releases), downloaded with a size
    /// cap (256 MiB) and a timeout (5 minutes) and checked against the
    /// SHA-256 given with --sha256 before anything is installed.
    ///
    ///   kahu rules update --from ~/Downloads/sigma_core.zip
    ///   kahu rules update --from https://…/sigma_core.zip --sha256 HEX
    #[command(verbatim_doc_comment)]
    Update {
        /// The package: a .zip, a .tar.gz, a folder, or an https:// or
        /// http:// URL of a .zip or .tar.gz.
        #[arg(long, value_name = "FILE|DIR|URL")]
        from: PathBuf,
        /// SHA-256 the package must have (64 hex digits). Required for a
        /// URL unless --insecure-no-verify; checked for a file too.
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
        /// Install a downloaded package without checking its SHA-256.
        #[arg(long)]
        insecure_no_verify: bool,
        /// For an https URL, trust only the CA certificates in this PEM
        /// file instead of the built-in Mozilla roots (an internal mirror
        /// or a known TLS-inspecting proxy).
        #[arg(long, value_name = "PEM")]
        ca_cert: Option<PathBuf>,
        /// Install here instead of $KAHU_RULES_DIR or ~/.local/share/kahu/rules.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn load_for_listing(paths: &[PathBuf]) -> Result<kahu_sigma::LoadReport> {
    for p in paths {
        if !p.exists() {
            anyhow::bail!("rule path {} does not exist", p.display());
        }
    }
    Ok(if paths.is_empty() {
        kahu_sigma::RuleSet::from_yaml(
            kahu_demo::bundled_rules(),
            &kahu_sigma::LoadOptions::default(),
        )
    } else {
        kahu_sigma::RuleSet::load(paths, &kahu_sigma::corpus::check_options())
    })
}

fn rule_json(r: &kahu_sigma::SigmaRule) -> serde_json::Value {
    serde_json::json!({
        "id": &*r.id,
        "title": &*r.title,
        "level": r.level.as_str(),
        "status": r.status.map(|s| format!("{s:?}").to_lowercase()),
        "file": &*r.origin,
        "author": r.author,
        "date": r.date,
        "modified": r.modified,
        "description": r.description,
        "tags": r.tags.iter().map(|t| &**t).collect::<Vec<_>>(),
        "references": r.references,
        "falsepositives": r.falsepositives,
    })
}

fn list(paths: &[PathBuf], json: bool) -> Result<ExitCode> {
    let report = load_for_listing(paths)?;
    let rules: Vec<&kahu_sigma::SigmaRule> = report.ruleset.rules().map(|(_, r)| r).collect();
    if json {
        let v: Vec<_> = rules.iter().map(|r| rule_json(r)).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for r in &rules {
            println!(
                "{}\t{}\t{}\t{}\t{}",
                crate::output::terminal_safe(&r.id),
                r.level.as_str(),
                r.status
                    .map(|s| format!("{s:?}").to_lowercase())
                    .unwrap_or_default(),
                crate::output::terminal_safe(&r.title),
                crate::output::terminal_safe(&r.origin)
            );
        }
        eprintln!(
            "{} rules ({} rejected: see `kahu rules check`)",
            rules.len(),
            report.errors.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(id: &str, paths: &[PathBuf], json: bool) -> Result<ExitCode> {
    let report = load_for_listing(paths)?;
    let found: Vec<&kahu_sigma::SigmaRule> = report
        .ruleset
        .rules()
        .map(|(_, r)| r)
        .filter(|r| r.id.eq_ignore_ascii_case(id) || (r.id.is_empty() && *r.title == *id))
        .collect();
    let Some(r) = found.first() else {
        anyhow::bail!(
            "no rule with id {id:?} in {} (give the rule directories the findings came from)",
            if paths.is_empty() {
                "kahu's bundled rules".to_string()
            } else {
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    };
    let mut v = rule_json(r);
    let text = std::fs::read_to_string(&*r.origin).ok().or_else(|| {
        // Bundled rules are compiled into the binary, named by file name.
        kahu_demo::bundled_rules()
            .iter()
            .find(|(name, _)| **name == *r.origin)
            .map(|(_, yaml)| yaml.to_string())
    });
    if json {
        v["text"] = serde_json::json!(text);
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let safe = crate::output::terminal_safe;
    println!("{}  {}", safe(&r.id), safe(&r.title));
    println!(
        "level: {}  status: {}",
        r.level.as_str(),
        v["status"].as_str().unwrap_or("-")
    );
    println!("file: {}", safe(&r.origin));
    if let Some(a) = &r.author {
        println!("author: {}", safe(a));
    }
    if !r.tags.is_empty() {
        println!(
            "tags: {}",
            safe(&r.tags.iter().map(|t| &**t).collect::<Vec<_>>().join(", "))
        );
    }
    for x in &r.references {
        println!("reference: {}", safe(x));
    }
    for x in &r.falsepositives {
        println!("false positive: {}", safe(x));
    }
    if found.len() > 1 {
        println!("({} rules share this id; the first is shown)", found.len());
    }
    if let Some(t) = text {
        println!();
        // Rule text printed as is, but never terminal control sequences.
        for line in t.lines() {
            println!("{}", safe(line));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Run.
pub(crate) fn run(args: Args, _global: &super::Global) -> Result<ExitCode> {
    match args.command {
        RulesCommand::List { paths, json } => list(&paths, json),
        RulesCommand::Show { id, paths, json } => show(&id, &paths, json),
        RulesCommand::Update {
            from,
            sha256,
            insecure_no_verify,
            ca_cert,
            dir,
            json,
        } => {
            let dir = dir
                .or_else(kahu_assess::detection::installed_rules_dir)
                .ok_or_else(|| {
                    anyhow::anyhow!("no rules folder: set KAHU_RULES_DIR or give --dir")
                })?;
            let verify = match (sha256, insecure_no_verify) {
                (Some(h), _) => super::rules_update::Verify::Sha256(h),
                (None, true) => super::rules_update::Verify::No,
                (None, false) => super::rules_update::Verify::IfUrlRefuse,
            };
            if ca_cert.is_some()
                && !from
                    .to_string_lossy()
                    .get(..8)
                    .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
            {
                anyhow::bail!("--ca-cert applies to an https:// URL only");
            }
            let trust = match &ca_cert {
                Some(pem) => super::rules_download::Trust::CaFile(pem),
                None => super::rules_download::Trust::WebPki,
            };
            let i = super::rules_update::update_from(&from, &dir, &verify, trust)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&i)?);
            } else {
                println!(
                    "Installed {} rule files from {} into {}: {} compiled, {} rejected (see `kahu rules check {}`){}.",
                    i.files,
                    crate::output::terminal_safe(&i.source),
                    crate::output::terminal_safe(&i.dir),
                    i.compiled,
                    i.rejected,
                    crate::output::terminal_safe(&i.dir),
                    if i.skipped.is_empty() {
                        String::new()
                    } else {
                        format!("; {} entries skipped", i.skipped.len())
                    }
                );
                println!("hunt and assess use them whenever no --rules is given.");
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Check {
            paths,
            json,
            strict,
            placeholders,
        } => {
            let placeholders = crate::rules::placeholders(&placeholders)?;
            for p in &paths {
                if !p.exists() {
                    anyhow::bail!("rule path {} does not exist", p.display());
                }
            }
            let report = if paths.is_empty() {
                kahu_sigma::RuleSet::from_yaml(
                    kahu_demo::bundled_rules(),
                    &kahu_sigma::LoadOptions::default(),
                )
            } else if placeholders.is_empty() {
                kahu_sigma::corpus::check(&paths)
            } else {
                let mut opts = kahu_sigma::corpus::check_options();
                opts.placeholders = placeholders;
                kahu_sigma::RuleSet::load(&paths, &opts)
            };
            let correlations = kahu_correlation::CorrelationSet::from_rules(&report.correlations);
            let mut correlation_rejected: Vec<kahu_correlation::CorrelationError> =
                correlations.errors.clone();
            let usable_correlations = if correlations.correlations.is_empty() {
                0
            } else {
                let (bound, es) = correlations.bind_usable(&report.ruleset);
                correlation_rejected.extend(es);
                bound.map_or(0, |b| b.correlations().len())
            };
            let correlation_errors: Vec<String> =
                correlation_rejected.iter().map(|e| e.to_string()).collect();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "files": report.files,
                        "parsed": report.parsed,
                        "compiled": report.compiled,
                        "skipped": report.skipped,
                        "compile_rate": if report.parsed == 0 { 0.0 } else { report.compiled as f64 / report.parsed as f64 },
                        "correlations": report.correlations.len(),
                        "filters": report.filters.len(),
                        "rejected": report.errors.iter().map(|e| serde_json::json!({
                            "file": e.origin.to_string(),
                            "rule_id": e.rule_id.as_deref(),
                            "construct": e.construct.to_string(),
                            "reason": e.reason.to_string(),
                            "message": e.to_string(),
                        })).collect::<Vec<_>>(),
                        // The same shape as `rejected` (scripts read one
                        // form); the strings are kept for existing readers.
                        "correlation_rejected": correlation_rejected.iter().map(|e| serde_json::json!({
                            "file": e.origin.to_string(),
                            "rule_id": e.rule.as_deref(),
                            "construct": e.construct,
                            "reason": e.reason,
                            "message": e.to_string(),
                        })).collect::<Vec<_>>(),
                        "correlation_errors": correlation_errors,
                        "notes": report.notes.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                    }))?
                );
            } else {
                // The counts line, then each rejection and note on one line of
                // its own: a rule file's name or text cannot write to the
                // terminal or forge a line.
                let safe = crate::output::terminal_safe;
                let rate = if report.parsed == 0 {
                    0.0
                } else {
                    100.0 * report.compiled as f64 / report.parsed as f64
                };
                // Rejected correlations are errors too: "0 errors" beside
                // a rejected correlation read as a clean set.
                println!(
                    "{} files, {} detection rules parsed, {} compiled ({rate:.2}%), {} skipped, {} correlation rules ({} usable, {} rejected), {} filters, {} errors",
                    report.files,
                    report.parsed,
                    report.compiled,
                    report.skipped,
                    report.correlations.len(),
                    usable_correlations,
                    correlation_rejected.len(),
                    report.filters.len(),
                    report.errors.len() + correlation_rejected.len()
                );
                for e in &report.errors {
                    println!("  rejected: {}", safe(&e.to_string()));
                }
                for n in &report.notes {
                    println!("  note: {}", safe(&n.to_string()));
                }
                for e in &correlation_errors {
                    println!("correlation: {}", safe(e));
                }
            }
            let rejected = !report.errors.is_empty() || !correlation_errors.is_empty();
            Ok(if strict && rejected {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
