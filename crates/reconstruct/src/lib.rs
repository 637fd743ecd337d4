//! Reconstruction: built-in analytics, incidents, deduplication, scope and
//! timeline.
//!
//! Detection produces thousands of single-event findings; an intrusion is a
//! sequence. This crate turns `Event` streams and `Finding`s into the views
//! an incident responder works from:
//!
//! - [`Analytics`]: streaming, mergeable, bounded-memory analytics over
//!   events (logon summaries, brute force, spraying, Kerberoasting, new
//!   services and tasks, process stacking, lateral-movement graph), with
//!   [`AnalyticsReport::findings`] turning what is suspicious into findings.
//! - [`dedup`]: collapse the same rule firing on the same thing;
//!   [`collapse_repeats`]: bursts of it become one finding with a count.
//! - [`build_incidents`]: chain findings by process lineage, logon session,
//!   host and account within a time gap, ordered by kill-chain phase.
//! - [`Scope`] and [`Timeline`]: what is compromised, and when.
//!
//! Inputs may arrive in any order (files are read in parallel); every
//! result is sorted deterministically.

pub mod analytics;
pub mod classify;
mod dedup;
mod escalate;
pub mod host;
mod incident;
mod incident_title;
pub mod keys;
mod repeats;
mod scope;
pub mod tactic;
mod tactic_map;
mod timeline;
mod util;

pub use analytics::{Analytics, AnalyticsConfig, AnalyticsReport};
pub use dedup::{DedupedFinding, dedup, dedup_key};
pub use escalate::{
    ATTEMPT_FIELD, BEACONING_RULE, ESCALATION_FIELD, LATERAL_MOVEMENT_RULE, escalate_beacons,
    escalate_lateral_movement, lower_refused_web_attempts,
};
pub use host::{HostNames, host_key};
pub use incident::{Incident, IncidentConfig, build_incidents, build_incidents_with_hosts};
pub use keys::CorrelationKeys;
pub use repeats::{
    FIRST_SEEN_FIELD, LAST_SEEN_FIELD, MAX_RELATED, REPEAT_COUNT_FIELD, RepeatConfig,
    collapse_repeats, last_seen, repeat_count,
};
pub use scope::{Scope, ScopeBuilder, ScopeEntity};
pub use tactic::{Tactic, TacticLookup, tactics_of};
pub use timeline::{Timeline, TimelineEntry, TimelinePhase};
pub use util::Span;
