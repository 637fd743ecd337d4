//! The kahu pipeline, as a library: read evidence, detect, reconstruct,
//! attribute and write the assessment outputs. The `kahu` binary is a thin
//! layer of arguments over this crate, and the integration tests drive it
//! directly.

pub mod assemble;
pub mod containment;
pub mod detect;
pub mod detection;
pub mod engine;
pub mod file_hashes;
pub mod guard;
pub mod paths;
pub mod pipeline;
pub mod policy;
pub mod prose;
pub mod report_view;
pub mod signer;
pub mod store;
pub mod views;
pub mod warning;
pub mod write;
pub mod yara_scan;

pub use detection::{DetectConfig, DetectionRun, SIGNIFICANT, UnmarkedTlp, detect};
/// The UTC offset of zone-less syslog times for every reader from now on
/// (`kahu --syslog-offset`).
pub use kahu_ingest::linux::set_syslog_utc_offset;
pub use pipeline::{AssessConfig, AssessRun, demo_config, run};
pub use policy::Policy;
pub use warning::{RunWarning, WarningOrigin};

use kahu_finding::Finding;

/// Sort findings into timeline order (time, rule, provenance) so output is
/// the same whatever the thread scheduling.
pub fn order_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.provenance.cmp(&b.provenance))
    });
}
