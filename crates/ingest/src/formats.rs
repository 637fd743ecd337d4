//! The registry of evidence formats, in detection order: the first format
//! whose `detect` accepts a file reads it, so more specific formats come
//! before more general ones.

use crate::Format;

/// Every known format, most specific first.
pub fn all_formats() -> Vec<Box<dyn Format>> {
    vec![
        // Binary and structured formats (kahu-ingest core).
        // Text log formats (web, linux, zeek) register here too.
    ]
}
