//! Helpers shared by kahu-assess integration tests.

pub(crate) mod containment;
