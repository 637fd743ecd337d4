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

/// The reason for a rule file that is not valid YAML: the parser's first
/// line (line, column and what is wrong). The source excerpt it adds below
/// would reach the terminal as one long line of escaped newlines.
pub fn yaml_reason(e: &dyn fmt::Display) -> String {
    let text = e.to_string();
    format!(
        "YAML: {}",
        text.lines().next().unwrap_or_default().trim_end()
    )
}

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

#[cfg(test)]
mod tests {
    use super::yaml_reason;

    #[test]
    fn a_yaml_reason_keeps_the_parsers_first_line_only() {
        let text = "title: x\ndetection:\n  sel:\n    Image|endswith: [\n  condition: sel\n";
        let e = serde_saphyr::from_str::<serde_json::Value>(text).unwrap_err();
        assert!(e.to_string().contains('\n'), "the parser's message: {e}");
        let r = yaml_reason(&e);
        assert!(!r.contains('\n'), "{r}");
        assert!(r.starts_with("YAML: ") && r.contains("line 4"), "{r}");
    }
}
