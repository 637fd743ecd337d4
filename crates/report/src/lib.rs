//! Assessment outputs: the self-contained HTML report, `assessment.json`,
//! the STIX 2.1 bundle, the ATT&CK Navigator layer and containment lists.

pub mod assessment;
pub mod charts;
pub mod containment;
pub mod escape;
pub mod html;
pub mod infra;
pub mod safe;
pub mod sink;
pub mod stix;

pub use assessment::{Assessment, SCHEMA_VERSION};
pub use infra::{InfraNote, InfraNoteError};
pub use sink::{DirSink, MemorySink, OutputSink};
