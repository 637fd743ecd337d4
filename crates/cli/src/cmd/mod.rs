//! One module per subcommand.

pub mod assess;
pub mod attribute;
pub mod events;
pub mod hunt;

/// Options shared by every subcommand.
pub struct Global {
    /// Suppress progress bars and colour.
    pub quiet: bool,
}
