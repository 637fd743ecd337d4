//! Diagnostics: every rejection names the file, the document, the
//! correlation and the construct, like the detection-rule loader does.

use std::fmt;
use std::sync::Arc;

/// Why a correlation rule (or a file holding some) could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationError {
    /// File (or embedded origin name) the document came from.
    pub origin: Arc<str>,
    /// 0-based index of the YAML document inside a multi-document file
    /// (`None` when unknown, e.g. rules handed over by the Sigma loader).
    pub document: Option<usize>,
    /// The correlation's `id` (or `name`, or `title`), if it could be read.
    pub rule: Option<String>,
    /// The construct at fault as a dotted path (`correlation.timespan`).
    pub construct: String,
    /// What is wrong, in words.
    pub reason: String,
}

impl CorrelationError {
    pub(crate) fn new(
        origin: &Arc<str>,
        document: Option<usize>,
        rule: Option<String>,
        construct: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        CorrelationError {
            origin: origin.clone(),
            document,
            rule,
            construct: construct.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for CorrelationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(d) = self.document {
            write!(f, " (document {})", d + 1)?;
        }
        if let Some(r) = &self.rule {
            write!(f, " [{r}]")?;
        }
        if !self.construct.is_empty() {
            write!(f, " at `{}`", self.construct)?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for CorrelationError {}

/// A problem inside one document, before the loader adds where it is.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub construct: String,
    pub reason: String,
}

impl Problem {
    pub(crate) fn new(construct: impl Into<String>, reason: impl Into<String>) -> Self {
        Problem {
            construct: construct.into(),
            reason: reason.into(),
        }
    }
}
