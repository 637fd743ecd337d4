//! The kahu pipeline, as a library: read evidence, detect, reconstruct,
//! attribute and write the assessment outputs. The `kahu` binary is a thin
//! layer of arguments over this crate, and the integration tests drive it
//! directly.

pub mod assemble;
pub mod detect;
pub mod pipeline;
pub mod reattribute;
pub mod sigma;
pub mod store;
pub mod write;

pub use pipeline::{AssessConfig, AssessRun, demo_config, run};

use kahu_event::Location;
use kahu_finding::Finding;

/// Sort findings into timeline order (time, rule, provenance) so output is
/// the same whatever the thread scheduling.
pub fn order_findings(findings: &mut [Finding]) {
    fn loc(l: &Location) -> (u8, u64) {
        match *l {
            Location::Record(r) => (0, r),
            Location::Line(n) => (1, n),
            Location::Offset(o) => (2, o),
            Location::File => (3, 0),
        }
    }
    findings.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.provenance.file.cmp(&b.provenance.file))
            .then_with(|| a.provenance.member.cmp(&b.provenance.member))
            .then_with(|| loc(&a.provenance.location).cmp(&loc(&b.provenance.location)))
    });
}
