//! `kahu convert` in a kahu built without the `columnar` feature: says how
//! to get it instead of "unrecognized subcommand".

use anyhow::{Result, bail};
use std::process::ExitCode;

/// Convert evidence into Parquet (not built in).
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The arguments `kahu convert` takes (ignored here).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

/// Fail with the way to build it.
pub(crate) fn run(_: Args) -> Result<ExitCode> {
    bail!(
        "this kahu was built without columnar support; build it with \
         `cargo install --locked --path crates/cli --features columnar` \
         (or `cargo run --release --features columnar -- convert …`)"
    )
}
