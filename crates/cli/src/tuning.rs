//! Noise options shared by `hunt` and `assess`: rule tuning and collapsing
//! repeats.

use anyhow::Result;
use kahu_reconstruct::RepeatConfig;
use kahu_sigma::Tuning;
use std::path::PathBuf;

/// Rule tuning and repeat collapsing.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct NoiseArgs {
    /// Leave this rule out (Sigma id, correlation id, indicator id or
    /// `kahu.analytic.<name>`; repeatable).
    #[arg(long = "exclude-rule", value_name = "ID")]
    pub exclude_rules: Vec<String>,
    /// Tuning file (YAML: `rules: [{id, level: <level>|exclude, reason}]`,
    /// or `{id, filter: <Sigma detection>, reason}` to leave out the rule's
    /// routine matches; repeatable, later files win). See
    /// data/tuning/noisy-rules.yaml.
    #[arg(long = "tuning", value_name = "FILE")]
    pub tuning: Vec<PathBuf>,
    /// Do not apply kahu's shipped list of known-noisy rules.
    #[arg(long)]
    pub no_default_tuning: bool,
    /// Join repeats of one rule on one host/account/source no more than
    /// this many seconds apart into one finding with a count (0: keep
    /// every finding).
    #[arg(long, default_value_t = RepeatConfig::default().window_secs, value_name = "SECS")]
    pub collapse_window: u64,
    /// Load only rules of these statuses (comma-separated; default
    /// stable,test,experimental; rules without a status always load).
    #[arg(long = "rule-status", value_name = "STATUS", value_delimiter = ',', value_parser = parse_status)]
    pub rule_status: Vec<kahu_sigma::Status>,
}

fn parse_status(s: &str) -> Result<kahu_sigma::Status, String> {
    kahu_sigma::Status::parse(s).ok_or_else(|| {
        format!("{s:?} is not a Sigma status (stable, test, experimental, deprecated, unsupported)")
    })
}

impl NoiseArgs {
    /// The tuning these options ask for: shipped list, then files, then
    /// `--exclude-rule`.
    pub(crate) fn tuning(&self) -> Result<Tuning> {
        let mut t = if self.no_default_tuning {
            Tuning::new()
        } else {
            Tuning::shipped()
        };
        for p in &self.tuning {
            t.merge(Tuning::load(p)?);
        }
        for id in &self.exclude_rules {
            t.exclude(id, "excluded on the command line", "--exclude-rule");
        }
        Ok(t)
    }

    /// Rule statuses to load, or `None` for the default set.
    pub(crate) fn statuses(&self) -> Option<Vec<kahu_sigma::Status>> {
        (!self.rule_status.is_empty()).then(|| self.rule_status.clone())
    }

    /// The repeat-collapsing configuration.
    pub(crate) fn repeats(&self) -> RepeatConfig {
        RepeatConfig {
            window_secs: self.collapse_window,
        }
    }
}
