//! `kahu case`: maintenance of a case directory written by `kahu assess`.

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `kahu case`.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: CaseCommand,
}

#[derive(clap::Subcommand)]
enum CaseCommand {
    /// Build the timeline and full-text indexes `kahu assess` leaves out
    /// (it finishes sooner without them); `kahu serve` otherwise builds
    /// them in the background on first opening the case. Nothing to do
    /// when built.
    Index {
        /// Case directory (holds case.sqlite).
        case_dir: PathBuf,
    },
    /// Write the case's timeline as Parquet (CASE_DIR/timeline/, sorted by
    /// time) for `kahu serve` built with `--features datafusion`, which
    /// answers the timeline queries measured faster there from it (a search
    /// term in 20,000 events or more, in cases of 5M events or more); run
    /// again after the case gains events.
    /// Needs kahu built with `--features columnar`.
    Parquet {
        /// Case directory (holds case.sqlite).
        case_dir: PathBuf,
    },
}

/// Run a case subcommand.
pub(crate) fn run(args: Args, global: &super::Global) -> anyhow::Result<ExitCode> {
    match args.command {
        CaseCommand::Index { case_dir } => {
            let mut case = kahu_case::Case::open(&case_dir)
                .with_context(|| format!("cannot open the case in {}", case_dir.display()))?;
            if let Some(b) = case.index_backlog()?
                && !global.quiet
            {
                if b.timeline {
                    eprintln!("indexing… building the timeline indexes");
                }
                eprintln!("indexing… {} events for full-text search", b.remaining());
            }
            let n = case
                .build_indexes(|b| {
                    if !global.quiet {
                        eprintln!("indexing… {} events to go", b.remaining());
                    }
                })
                .context("cannot build the full-text index")?;
            if !global.quiet {
                eprintln!("full-text index complete ({n} events indexed now)");
            }
            Ok(ExitCode::SUCCESS)
        }
        CaseCommand::Parquet { case_dir } => {
            super::case_parquet::write(&case_dir, global.quiet)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
