//! Rule diagnostics: every rejection names the file, the document, the rule
//! and the construct, so an analyst can fix the rule without a debugger.

use std::fmt;
use std::sync::Arc;

/// Why a rule (or a whole rule file) could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// File (or embedded origin name) the rule came from.
    pub origin: Arc<str>,
    /// 0-based index of the YAML document inside a multi-document file.
    pub document: usize,
    /// The rule's `id`, if it could be read.
    pub rule_id: Option<String>,
    /// The rule's `title`, if it could be read.
    pub title: Option<String>,
    /// The construct at fault, as a dotted path (`detection.selection.Image|foo`).
    pub construct: String,
    /// What is wrong, in words.
    pub reason: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if self.document > 0 {
            write!(f, " (document {})", self.document + 1)?;
        }
        if let Some(id) = &self.rule_id {
            write!(f, " [{id}]")?;
        }
        if !self.construct.is_empty() {
            write!(f, " at `{}`", self.construct)?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for RuleError {}

/// An error without origin yet; the loader adds file and rule identity.
#[derive(Debug, Clone, PartialEq, Eq)]
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
