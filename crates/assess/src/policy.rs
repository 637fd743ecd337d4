//! The judgement thresholds of an assessment, in one place: which finding
//! levels count as evidence of compromise, and how strong the evidence
//! must be before kahu asks a responder to act on something. Every list
//! and sentence the assessment writes reads its threshold from here.

use kahu_finding::Level;

/// Level thresholds of an assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Findings at or above this level are evidence of compromise (the
    /// verdict, the incidents, attribution evidence from indicators).
    pub significant: Level,
    /// Findings at or above this level appear in the timeline, scope and
    /// the report's appendix.
    pub reported: Level,
    /// A verdict of "compromise detected" needs a finding at this level.
    pub compromise: Level,
    /// A host is isolated when a finding of this level implicates it.
    pub isolate_host: Level,
    /// An account that authenticated or was changed is reset at this level.
    pub reset_account: Level,
    /// An external address is blocked, and an internal one investigated,
    /// at this level.
    pub block_ip: Level,
    /// Attacker tools, scripts and web shells are removed at this level.
    pub remove_tool: Level,
    /// Other written files (dumps, copied databases, archives) at this one.
    pub remove_other_file: Level,
    /// A file's hash is blocked when a finding of this level names it.
    pub block_hash: Level,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            significant: crate::SIGNIFICANT,
            reported: Level::Low,
            compromise: Level::High,
            isolate_host: Level::High,
            reset_account: Level::Medium,
            block_ip: Level::Medium,
            remove_tool: Level::Medium,
            remove_other_file: Level::High,
            block_hash: Level::High,
        }
    }
}
