//! The documents kahu itself stores in a case, by kind: one name for the
//! writer (`kahu assess`, `kahu hunt --case`) and every reader (`kahu
//! serve`'s API, the re-attribution hook), instead of string literals
//! repeated across crates.

/// A kind of document kahu writes into a case. [`crate::Case::document`]
/// and [`crate::Case::set_document`] take the kind's name ([`DocKind::as_str`]);
/// analysts' own document kinds are any other lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// The ranked attribution (recomputed by `kahu serve` after a dispute).
    Attribution,
    /// The evidence attribution was computed from (`kahu_attack::CaseEvidence`),
    /// read back to recompute it.
    CaseEvidence,
    /// The whole `assessment.json`.
    Assessment,
    /// Technique → tactics in the ATT&CK release the run is shown in.
    AttackTactics,
    /// The event analytics (logons, lateral movement, persistence).
    Analytics,
    /// The rules behind the case's findings (title, file, tags…).
    Rules,
    /// Incidents (synthetic cases).
    Incidents,
    /// Scope (synthetic cases).
    Scope,
    /// The run's correlation warnings (caps that bit), which belong to no
    /// evidence file.
    CorrelationWarnings,
}

impl DocKind {
    /// Every kind.
    pub const ALL: [DocKind; 9] = [
        DocKind::Attribution,
        DocKind::CaseEvidence,
        DocKind::Assessment,
        DocKind::AttackTactics,
        DocKind::Analytics,
        DocKind::Rules,
        DocKind::Incidents,
        DocKind::Scope,
        DocKind::CorrelationWarnings,
    ];

    /// The name the case stores and `/api/document/{kind}` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Attribution => "attribution",
            DocKind::CaseEvidence => "case-evidence",
            DocKind::Assessment => "assessment",
            DocKind::AttackTactics => "attack-tactics",
            DocKind::Analytics => "analytics",
            DocKind::Rules => "rules",
            DocKind::Incidents => "incidents",
            DocKind::Scope => "scope",
            DocKind::CorrelationWarnings => "correlation-warnings",
        }
    }
}

impl std::fmt::Display for DocKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_lower_case_words() {
        let names: std::collections::HashSet<&str> =
            DocKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), DocKind::ALL.len());
        // The web API refuses other document names.
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        );
        assert_eq!(DocKind::CaseEvidence.to_string(), "case-evidence");
    }
}
