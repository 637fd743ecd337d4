//! The registry of evidence formats, in detection order: the first format
//! whose `detect` accepts a file reads it, so more specific formats come
//! before more general ones.

use crate::Format;

/// Every known format, most specific first.
pub fn all_formats() -> Vec<Box<dyn Format>> {
    vec![
        // Binary and structured formats (kahu-ingest core).
        Box::new(crate::evtx::Evtx),
        // kahu's own Parquet shards (`kahu convert`), when built in.
        #[cfg(feature = "columnar")]
        Box::new(crate::parquet::KahuParquet),
        // Text logs. Zeek JSON must precede the generic JSON reader; the
        // header-driven formats (Zeek TSV, W3C) are unambiguous; auditd
        // lines (`type=… msg=audit(`) are checked before syslog, and the
        // access-log shape before syslog's looser date-then-words shape.
        Box::new(crate::zeek::ZeekJson),
        Box::new(crate::zeek::ZeekTsv),
        Box::new(crate::web::IisW3c),
        Box::new(crate::linux::Auditd),
        Box::new(crate::web::AccessLog),
        Box::new(
            crate::linux::Syslog::default().with_utc_offset(crate::linux::syslog_utc_offset()),
        ),
        // Generic JSON accepts any `{`/`[` file: keep it last.
        Box::new(crate::json::Json),
    ]
}
