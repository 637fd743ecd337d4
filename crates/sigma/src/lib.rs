//! Sigma detection rules for kahu: parse, compile once, evaluate fast.
//!
//! ```text
//! YAML ──parse──▶ SigmaRule (rule.rs, detection.rs, condition.rs)
//!      ──compile per field mapping──▶ matcher tree (compile.rs, pattern.rs, matcher.rs)
//!      ──index by log source──▶ RuleSet::matches(event) (ruleset.rs, logsource.rs, eval.rs)
//! ```
//!
//! Normative reference: the Sigma specification v2 (rules, modifiers
//! appendix, taxonomy appendix, filters). Windows events are routed to rules
//! by channel and event id; `process_creation`, `network_connection`,
//! `registry_*` and `file_access` rules also run on their Security-log
//! equivalents (4688, 5156, 4657, 4663) through documented field mappings
//! ([`logsource::Mapping`]). Correlation rules are parsed and returned in
//! [`LoadReport::correlations`] for a later stage.

pub mod aggregation;
mod compile;
pub mod condition;
pub mod corpus;
pub mod detection;
mod detector;
mod error;
mod eval;
/// Entry point of the fuzz target and its corpus-replay test.
#[doc(hidden)]
pub mod fuzzing;
mod gate;
pub mod hayabusa;
pub mod logsource;
mod matcher;
pub mod pattern;
pub mod rule;
mod ruleset;
#[cfg(test)]
mod semantics_tests;
mod transform;
pub mod tuning;

pub use compile::{MAX_REGEX_BYTES_PER_RULE, MAX_REGEX_PER_RULE, MAX_REGEX_TOTAL};
pub use error::{RuleError, yaml_reason};
pub use rule::{CorrelationRule, Document, FilterRule, RuleLogSource, SigmaRule, Status};
pub use ruleset::{
    LoadOptions, LoadReport, RuleFileError, RuleIdx, RuleSet, read_rule_file, rule_files,
};
pub use tuning::{Tuning, TuningError};
