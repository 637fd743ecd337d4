//! `kahu rules check`: which rules kahu can use, and precisely why not.

use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Work with rule sets.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: RulesCommand,
}

/// `kahu rules` subcommands.
#[derive(clap::Subcommand)]
pub enum RulesCommand {
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
}

/// Run.
pub fn run(args: Args, _global: &super::Global) -> Result<ExitCode> {
    match args.command {
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
            let mut correlation_errors: Vec<String> =
                correlations.errors.iter().map(|e| e.to_string()).collect();
            if !correlations.correlations.is_empty()
                && let Err(es) = correlations.bind(&report.ruleset)
            {
                correlation_errors.extend(es.iter().map(|e| e.to_string()));
            }
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
                        "correlation_errors": correlation_errors,
                    }))?
                );
            } else {
                print!("{}", kahu_sigma::corpus::render(&report));
                for e in &correlation_errors {
                    println!("correlation: {e}");
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
