//! Sigma correlation rules for kahu (specification v2.1.0: `event_count`,
//! `value_count`, `temporal`, `temporal_ordered`, `value_sum`, `value_avg`,
//! `value_percentile`).
//!
//! ```text
//! YAML ──CorrelationSet::{load, from_yaml, from_rules}──▶ Correlation
//!      ──bind(&RuleSet)──▶ BoundCorrelations (references → RuleIdx, aliases, chains)
//!      ──engine()──▶ CorrelationEngine ◀── observe(rule match, &Event) per match
//!      ──finish()──▶ Vec<Finding> (FindingKind::Correlation)
//! ```
//!
//! # Out-of-order input
//! Evidence files are read in parallel, so matches arrive unordered across
//! files (and sometimes within one). The engine therefore does not window
//! while streaming: each match of a consumed rule becomes a 48-byte record
//! (time, group-key id, value, origin id, location), and `finish` sorts
//! each correlation's records by (group, time) and slides the window over
//! every group. Only matches of referenced rules are buffered — a small
//! share of all events — and [`Limits`] caps records and distinct groups
//! (records beyond a cap are counted and reported as a warning, never
//! silently lost). A watermark scheme would bound memory by the reorder
//! horizon instead, but needs every reader to report its progress in
//! time, and archives of several hosts' logs are not time-ordered at all;
//! sort-at-finish is exact for any arrival order. Ties are broken by file,
//! member and record position, so a shuffled stream gives the same findings.
//!
//! # Semantics
//! * **Window**: anchored on each event, it holds the events up to
//!   `timespan` after it, inclusive (two events exactly `timespan` apart
//!   are "within" it). The condition is checked on every window that
//!   reaches an event the previous one did not; after a match the scan
//!   resumes after the matched window, so a burst yields one finding whose
//!   time and host are those of the window's last event.
//! * **fields** (top level, as in a detection rule; at most 16): their
//!   values in the window's last event are put in the finding after the
//!   group-by values (left out when that event lacks one), so a finding can
//!   name what its group-by values do not, such as the URL a web shell
//!   answered. Each kept record holds them: memory grows with them.
//! * **group-by**: values are compared as text; a match lacking any
//!   group-by field is not grouped (counted in [`Stats::missing_group_field`]),
//!   like a SIEM's `stats … by` drops null keys. No `group-by` = one group.
//!   An absent `ComputerName`/`Computer`/`Hostname`/`host.name`, `Channel`,
//!   `Provider_Name` or `EventID` falls back to the event's typed member
//!   (Windows events carry `Computer`, SigmaHQ correlations say `ComputerName`).
//! * **aliases**: a `group-by` (or `condition.field`) name that is an alias
//!   reads, for each referenced rule, the field the alias gives for that
//!   rule (by the rule's `name`, `id`, or the reference as written).
//! * **temporal**: the aggregate is the number of distinct referenced rules
//!   in the window; without a condition all rules must match.
//!   **temporal_ordered** additionally needs the matches in the listed
//!   order (equal timestamps count as in order); out-of-order windows count
//!   at most `rules − 1`.
//! * **value_count**: distinct values (tuples, when `field` is a list);
//!   **value_sum** / **value_avg**: sum / mean of the numeric field (text
//!   is parsed; non-numeric values are skipped and counted);
//!   **value_percentile**: the share in percent of the window's events
//!   carrying a value; the rule fires when some value's share meets the
//!   condition (`lte: 1` = a value seen in at most 1 % of the events).
//! * **generate** (default `false`): matches of referenced rules and
//!   findings of referenced correlations are not reported on their own
//!   unless a correlation referring to them says `generate: true`
//!   ([`BoundCorrelations::suppressed`]).
//! * **chaining**: a correlation may reference correlations; inner hits
//!   act as events of the outer one, carrying the inner group-by values and
//!   any other fields the outer correlation needs (taken from the inner
//!   window's last event).
//! * **level**: the rule's `level`, else the highest level of the rules it
//!   references; ATT&CK ids from its `tags`, else from the referenced rules.
//!
//! # Threads
//! [`CorrelationEngine`] is `Send`. Either give each worker its own engine
//! and [`CorrelationEngine::merge`] them before `finish`, or send matches
//! to one collector thread; the result is the same.

mod bind;
mod engine;
mod error;
mod intern;
mod rule;
mod scan;
mod set;
mod state;
mod window;

pub use engine::{CorrelationEngine, CorrelationWarning, Limits, Outcome, Stats};
pub use error::CorrelationError;
pub use rule::{
    Alias, Condition, Correlation, CorrelationType, TimespanError, TimespanProblem, parse_timespan,
};
pub use scan::{SigmaRules, SigmaScan};
pub use set::{BoundCorrelation, BoundCorrelations, CorrelationSet, Source};
pub use state::{EngineState, StateError};

#[cfg(test)]
mod send_check {
    fn is_send<T: Send>() {}
    #[test]
    fn engine_and_bound_set_cross_threads() {
        is_send::<super::CorrelationEngine>();
        is_send::<super::BoundCorrelations>();
    }
}
