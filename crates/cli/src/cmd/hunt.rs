//! `kahu hunt`: detection only.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `kahu hunt`.
#[derive(clap::Args)]
pub struct Args {
    /// Evidence files, directories or archives.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Run the hunt.
pub fn run(_args: Args, _global: &super::Global) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
