//! Helpers shared by kahu-assess integration tests.

pub mod containment;
