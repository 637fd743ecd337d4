//! The kahu pipeline, as a library: read evidence, detect, reconstruct,
//! attribute and write the assessment outputs. The `kahu` binary is a thin
//! layer of arguments over this crate, and the integration tests drive it
//! directly.

pub mod detect;
