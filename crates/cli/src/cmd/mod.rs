//! One module per subcommand.

pub(crate) mod assess;
pub(crate) mod attribute;
pub(crate) mod case;
pub(crate) mod case_parquet;
pub(crate) mod cluster;
#[cfg(feature = "columnar")]
pub(crate) mod convert;
#[cfg(not(feature = "columnar"))]
pub(crate) mod convert_missing;
pub(crate) mod events;
pub(crate) mod hunt;
pub(crate) mod metrics;
pub(crate) mod rules;
pub(crate) mod rules_download;
pub(crate) mod rules_update;
pub(crate) mod search;
pub(crate) mod serve;

/// Options shared by every subcommand.
pub(crate) struct Global {
    /// Suppress progress bars and colour.
    pub quiet: bool,
}
