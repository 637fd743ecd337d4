//! Words of estimative probability (ICD 203) and analytic confidence, kept
//! apart: likelihood says how probable the judgment is, confidence says how
//! much the evidence base supports making it at all.

use serde::{Deserialize, Serialize};

/// ICD 203 likelihood expressions with their numeric bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    /// 1–5 %.
    AlmostNoChance,
    /// 5–20 %.
    VeryUnlikely,
    /// 20–45 %.
    Unlikely,
    /// 45–55 %.
    RoughlyEvenChance,
    /// 55–80 %.
    Likely,
    /// 80–95 %.
    VeryLikely,
    /// 95–99 %.
    AlmostCertain,
}

impl Likelihood {
    /// All expressions, lowest first.
    pub const ALL: [Likelihood; 7] = [
        Likelihood::AlmostNoChance,
        Likelihood::VeryUnlikely,
        Likelihood::Unlikely,
        Likelihood::RoughlyEvenChance,
        Likelihood::Likely,
        Likelihood::VeryLikely,
        Likelihood::AlmostCertain,
    ];

    /// The expression whose band contains `p` (0–1). Band edges belong to
    /// the upper band except at 0.55, which ICD 203 keeps in "roughly even
    /// chance"; values outside 1–99 % clamp to the end bands, because ICD 203
    /// has no words for certainty.
    pub fn from_probability(p: f64) -> Likelihood {
        let p = if p.is_nan() { 0.0 } else { p };
        match p {
            p if p < 0.05 => Likelihood::AlmostNoChance,
            p if p < 0.20 => Likelihood::VeryUnlikely,
            p if p < 0.45 => Likelihood::Unlikely,
            p if p <= 0.55 => Likelihood::RoughlyEvenChance,
            p if p < 0.80 => Likelihood::Likely,
            p if p < 0.95 => Likelihood::VeryLikely,
            _ => Likelihood::AlmostCertain,
        }
    }

    /// Numeric band (low, high) as probabilities.
    pub fn band(self) -> (f64, f64) {
        match self {
            Likelihood::AlmostNoChance => (0.01, 0.05),
            Likelihood::VeryUnlikely => (0.05, 0.20),
            Likelihood::Unlikely => (0.20, 0.45),
            Likelihood::RoughlyEvenChance => (0.45, 0.55),
            Likelihood::Likely => (0.55, 0.80),
            Likelihood::VeryLikely => (0.80, 0.95),
            Likelihood::AlmostCertain => (0.95, 0.99),
        }
    }

    /// The words, as an analyst writes them.
    pub fn words(self) -> &'static str {
        match self {
            Likelihood::AlmostNoChance => "almost no chance",
            Likelihood::VeryUnlikely => "very unlikely",
            Likelihood::Unlikely => "unlikely",
            Likelihood::RoughlyEvenChance => "roughly even chance",
            Likelihood::Likely => "likely",
            Likelihood::VeryLikely => "very likely",
            Likelihood::AlmostCertain => "almost certain",
        }
    }
}

impl std::fmt::Display for Likelihood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (lo, hi) = self.band();
        write!(f, "{} ({:.0}–{:.0}%)", self.words(), lo * 100.0, hi * 100.0)
    }
}

/// Analytic confidence in the leading judgment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfidenceLevel {
    /// Scant, single-type or ambiguous evidence.
    Low,
    /// Credible evidence of more than one kind with a clear lead.
    Moderate,
    /// Plenty of evidence of several kinds and a wide margin.
    High,
}

/// Analytic confidence with the reasons that set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confidence {
    /// Level.
    pub level: ConfidenceLevel,
    /// Why (evidence quantity, diversity, margin).
    pub reasons: Vec<String>,
}

impl Confidence {
    /// Judge confidence from the number of matched evidence items, the
    /// number of distinct evidence types among them (technique, software,
    /// CVE, infrastructure, victimology, time) and the likelihood margin of
    /// the leader over the runner-up (or over "unknown"). Thresholds are
    /// deliberately conservative: ATT&CK-only evidence (one or two types)
    /// never reaches high confidence, matching analytic practice that
    /// TTP overlap alone does not make a firm attribution.
    pub fn assess(items: usize, types: usize, margin: f64) -> Confidence {
        let level = if items >= 10 && types >= 3 && margin >= 0.3 {
            ConfidenceLevel::High
        } else if items >= 5 && types >= 2 && margin >= 0.1 {
            ConfidenceLevel::Moderate
        } else {
            ConfidenceLevel::Low
        };
        let reasons = vec![
            format!("{items} scored evidence item(s)"),
            format!("{types} evidence type(s)"),
            format!(
                "likelihood margin over the next hypothesis {:.0} points",
                margin * 100.0
            ),
        ];
        Confidence { level, reasons }
    }
}
