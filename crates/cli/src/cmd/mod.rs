//! One module per subcommand.

pub mod assess;
pub mod attribute;
pub mod case;
#[cfg(feature = "columnar")]
pub mod convert;
#[cfg(not(feature = "columnar"))]
pub mod convert_missing;
pub mod events;
pub mod hunt;
pub mod metrics;
pub mod rules;
pub mod rules_download;
pub mod rules_update;
pub mod search;
pub mod serve;

/// Options shared by every subcommand.
pub struct Global {
    /// Suppress progress bars and colour.
    pub quiet: bool,
}
