//! Rule tuning: leave a rule out, or give it another level, each with the
//! reason written down.
//!
//! A few rules drown a case: one that fires on every Sysmon event 28
//! (svchost and SearchIndexer rewriting their databases) was 13–65 % of
//! all findings on public attack datasets, all "high". kahu ships a list
//! of such rules ([`Tuning::shipped`], `data/tuning/noisy-rules.yaml`,
//! measured on EVTX-ATTACK-SAMPLES and Mordor), applied by default; users
//! add their own (`--tuning FILE`, `--exclude-rule ID`). The file format:
//!
//! ```yaml
//! rules:
//!   - id: c3e5c1b1-45e9-4632-b242-27939c170239
//!     title: Sysmon Blocked File Shredding   # for readers; not matched
//!     level: low            # a new level, or `exclude`
//!     reason: why this rule is tuned
//!   - id: 12ba6a38-adb3-4d6b-91ba-a7fb248e3199
//!     filter:               # or: keep the level, leave out a routine shape
//!       local_system:       # (a Sigma detection, applied as a global filter)
//!         SubjectUserSid: S-1-5-18
//!       condition: local_system
//!     reason: why
//! ```
//!
//! Tuning applies at load (a level change is seen by `--min-level`; an
//! excluded rule is not compiled, so a correlation built on it reports it
//! as filtered) and to findings (analytic, correlation and indicator ids,
//! see [`Tuning::apply`]).

use kahu_finding::{Finding, Level};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// What tuning does to one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Load the rule but report its findings at this level.
    Level(Level),
    /// Do not load the rule; drop its findings.
    Exclude,
    /// Load the rule at its own level with an extra exclusion: a Sigma
    /// detection (searches and `condition`) applied to the rule as a
    /// global filter (filters specification), so events it matches are
    /// not reported. For a rule whose own matches are mostly one routine
    /// shape that a field tells apart.
    Filter(serde_json::Value),
}

/// One tuned rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    /// What to do.
    pub action: Action,
    /// Why, for the analyst reading `rules check` or the report.
    pub reason: String,
    /// Where the entry came from (file name, `--exclude-rule`, `shipped`).
    pub origin: String,
}

/// Rule id → adjustment. Later entries override earlier ones, so a user's
/// file can undo a shipped entry (`level: high` for a rule the list lowers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tuning {
    rules: HashMap<String, Adjustment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rules: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    #[serde(default)]
    #[allow(dead_code)] // documentation for readers of the file
    title: Option<String>,
    #[serde(default)]
    level: Option<String>,
    /// A Sigma detection excluding the rule's routine matches.
    #[serde(default)]
    filter: Option<serde_json::Value>,
    #[serde(default)]
    reason: Option<String>,
}

/// The shipped list of known-noisy rules.
const SHIPPED: &str = include_str!("../../../data/tuning/noisy-rules.yaml");

impl Tuning {
    /// No tuning.
    pub fn new() -> Self {
        Tuning::default()
    }

    /// kahu's list of known-noisy rules (`data/tuning/noisy-rules.yaml`).
    pub fn shipped() -> Self {
        // The embedded file is parsed by a unit test
        // (`shipped_list_parses_and_gives_reasons`), so this cannot fail
        // in a build whose tests passed; an empty list is the safe fallback.
        Tuning::from_yaml(SHIPPED, "shipped").unwrap_or_default()
    }

    /// Parse a tuning file's text; `origin` names it in messages.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, TuningError> {
        let file: File = serde_saphyr::from_str(text).map_err(|e| TuningError::NotTuning {
            origin: origin.to_string(),
            // The parser's first line: line, column and what is wrong
            // (the excerpt below it is escaped into one line on a terminal).
            message: e.to_string().lines().next().unwrap_or_default().to_string(),
        })?;
        let mut t = Tuning::default();
        for (n, e) in file.rules.into_iter().enumerate() {
            let id = e.id.trim();
            if id.is_empty() {
                return Err(TuningError::EmptyId {
                    origin: origin.to_string(),
                    entry: n + 1,
                });
            }
            let bad = |message: String| TuningError::BadEntry {
                origin: origin.to_string(),
                entry: n + 1,
                rule_id: id.to_string(),
                message,
            };
            let action = match (e.level, e.filter) {
                (Some(_), Some(_)) => {
                    return Err(bad("give either `level` or `filter`, not both".into()));
                }
                (None, None) => return Err(bad("needs `level` or `filter`".into())),
                (None, Some(filter)) => {
                    let det = crate::rule::parse_detection(&filter, "filter")
                        .map_err(|p| bad(format!("at `{}`: {}", p.construct, p.reason)))?;
                    if det.aggregation.is_some() {
                        return Err(bad("a filter cannot aggregate".into()));
                    }
                    // Compile it once here: a filter that cannot compile
                    // would otherwise take its rule down with it at load.
                    let none = std::collections::HashMap::new();
                    let env = crate::compile::Env {
                        mapping: crate::logsource::Mapping::Native,
                        placeholders: &none,
                    };
                    crate::compile::compile(&det, &[], &env)
                        .map_err(|p| bad(format!("at `{}`: {}", p.construct, p.reason)))?;
                    Action::Filter(filter)
                }
                (Some(level), None) if level.trim().eq_ignore_ascii_case("exclude") => {
                    Action::Exclude
                }
                (Some(level), None) => Action::Level(
                    level
                        .parse()
                        .map_err(|e: kahu_finding::UnknownLevel| bad(e.to_string()))?,
                ),
            };
            t.rules.insert(
                id.to_string(),
                Adjustment {
                    action,
                    reason: e.reason.unwrap_or_default().trim().to_string(),
                    origin: origin.to_string(),
                },
            );
        }
        Ok(t)
    }

    /// Read a tuning file.
    pub fn load(path: &Path) -> Result<Self, TuningError> {
        let text = std::fs::read_to_string(path).map_err(|error| TuningError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Tuning::from_yaml(&text, &path.display().to_string())
    }

    /// Exclude a rule (`--exclude-rule`).
    pub fn exclude(&mut self, id: &str, reason: &str, origin: &str) {
        self.rules.insert(
            id.trim().to_string(),
            Adjustment {
                action: Action::Exclude,
                reason: reason.to_string(),
                origin: origin.to_string(),
            },
        );
    }

    /// Add `other`'s entries, replacing ours for the same rule.
    pub fn merge(&mut self, other: Tuning) {
        self.rules.extend(other.rules);
    }

    /// The adjustment for a rule id, if any.
    pub fn get(&self, rule_id: &str) -> Option<&Adjustment> {
        self.rules.get(rule_id)
    }

    /// Whether nothing is tuned.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Number of tuned rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Tuned rules sorted by id, for listing.
    pub fn entries(&self) -> Vec<(&str, &Adjustment)> {
        let mut v: Vec<(&str, &Adjustment)> =
            self.rules.iter().map(|(k, a)| (k.as_str(), a)).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Drop excluded rules' findings and relevel the others. Returns the
    /// number dropped.
    pub fn apply(&self, findings: &mut Vec<Finding>) -> usize {
        if self.rules.is_empty() {
            return 0;
        }
        let before = findings.len();
        findings.retain_mut(|f| match self.rules.get(&*f.rule_id).map(|a| &a.action) {
            Some(Action::Exclude) => false,
            Some(Action::Level(l)) => {
                f.level = *l;
                true
            }
            // Applied while matching: what reaches here passed the filter.
            Some(Action::Filter(_)) | None => true,
        });
        before - findings.len()
    }
}

/// Why a tuning file was refused; every message names the file, and the
/// entry and rule id when one is at fault.
#[derive(Debug, thiserror::Error)]
pub enum TuningError {
    /// The file could not be read.
    #[error("cannot read tuning file {}: {error}", path.display())]
    Read {
        /// The tuning file.
        path: std::path::PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// Not YAML of a tuning file's shape.
    #[error("{origin}: not a tuning file: {message}")]
    NotTuning {
        /// The file (or embedded origin name).
        origin: String,
        /// What the YAML reader said.
        message: String,
    },
    /// An entry without a rule id.
    #[error("{origin}: entry {entry}: empty rule id")]
    EmptyId {
        /// The file (or embedded origin name).
        origin: String,
        /// 1-based entry number.
        entry: usize,
    },
    /// An entry whose level is neither a Sigma level nor `exclude`, whose
    /// filter is not a Sigma detection, or that has neither or both.
    #[error("{origin}: entry {entry} ({rule_id}): {message}")]
    BadEntry {
        /// The file (or embedded origin name).
        origin: String,
        /// 1-based entry number.
        entry: usize,
        /// The entry's rule id.
        rule_id: String,
        /// Why the entry was refused.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_list_parses_and_gives_reasons() {
        let t = Tuning::from_yaml(SHIPPED, "shipped").unwrap();
        assert!(!t.is_empty());
        for (id, a) in t.entries() {
            assert!(
                a.reason.len() >= 40,
                "shipped entry {id} needs a reason an analyst can check"
            );
        }
        assert_eq!(Tuning::shipped(), t);
    }

    #[test]
    fn levels_exclusions_and_errors() {
        let t = Tuning::from_yaml(
            "rules:\n  - id: a\n    level: low\n    reason: r\n  - id: b\n    level: Exclude\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(t.get("a").unwrap().action, Action::Level(Level::Low));
        assert_eq!(t.get("b").unwrap().action, Action::Exclude);
        assert!(t.get("c").is_none());
        let e = Tuning::from_yaml("rules:\n  - id: a\n    level: loud\n", "t.yaml").unwrap_err();
        assert!(
            matches!(&e, TuningError::BadEntry { entry: 1, rule_id, .. } if rule_id == "a"),
            "{e:?}"
        );
        let e = e.to_string();
        assert!(e.contains("t.yaml") && e.contains("loud"), "{e}");
        assert!(matches!(
            Tuning::from_yaml("rules: 3\n", "t.yaml"),
            Err(TuningError::NotTuning { .. })
        ));
        assert!(matches!(
            Tuning::from_yaml("rules:\n  - id: ''\n    level: low\n", "t"),
            Err(TuningError::EmptyId { entry: 1, .. })
        ));
    }

    #[test]
    fn filter_entries_keep_the_level_and_leave_out_what_the_filter_matches() {
        let t = Tuning::from_yaml(
            "rules:\n  - id: r1\n    filter:\n      system:\n        SubjectUserSid: S-1-5-18\n      condition: system\n    reason: routine\n",
            "t",
        )
        .unwrap();
        assert!(matches!(t.get("r1").unwrap().action, Action::Filter(_)));
        let rule = "title: r\nid: r1\nlevel: medium\nlogsource:\n  product: windows\ndetection:\n  sel:\n    EventID: 4661\n  condition: sel\n";
        let opts = crate::LoadOptions {
            tuning: t,
            ..Default::default()
        };
        let r = crate::RuleSet::from_yaml(&[("r.yml", rule)], &opts);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!((r.compiled, r.releveled, r.excluded), (1, 0, 0));
        let ev = |sid: &str| {
            let mut e = kahu_event::Event::new(kahu_event::Provenance::new(
                "t".into(),
                kahu_event::Location::Line(1),
            ));
            e.logsource = kahu_event::LogSource::product("windows");
            e.fields.insert("EventID", kahu_event::Value::Int(4661));
            e.fields
                .insert("SubjectUserSid", kahu_event::Value::str(sid));
            e
        };
        let hits = |e: &kahu_event::Event| {
            let mut out = Vec::new();
            r.ruleset.matches(e, &mut out);
            out.len()
        };
        assert_eq!(hits(&ev("S-1-5-21-1-2-3-1104")), 1);
        assert_eq!(hits(&ev("S-1-5-18")), 0);
        // An entry needs exactly one of `level` and `filter`, and the
        // filter must be a Sigma detection.
        for bad in [
            "rules:\n  - id: a\n    level: low\n    filter:\n      s:\n        A: 1\n      condition: s\n",
            "rules:\n  - id: a\n    reason: nothing to do\n",
            "rules:\n  - id: a\n    filter:\n      s:\n        A: 1\n      condition: t\n",
        ] {
            let e = Tuning::from_yaml(bad, "t.yaml").unwrap_err();
            assert!(
                matches!(&e, TuningError::BadEntry { entry: 1, rule_id, .. } if rule_id == "a"),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn load_skips_excluded_rules_and_relevels_before_the_level_filter() {
        let rule = |id: &str, level: &str| {
            format!(
                "title: r{id}\nid: {id}\nlogsource:\n  product: windows\ndetection:\n  sel:\n    EventID: 1\n  condition: sel\nlevel: {level}\n"
            )
        };
        let yaml = [rule("a", "low"), rule("b", "high"), rule("c", "high")].join("---\n");
        let mut tuning = Tuning::from_yaml("rules:\n  - id: a\n    level: high\n", "t").unwrap();
        tuning.exclude("b", "noisy", "--exclude-rule");
        let opts = crate::LoadOptions {
            min_level: Level::Medium,
            tuning,
            ..Default::default()
        };
        let r = crate::RuleSet::from_yaml(&[("r.yml", &yaml)], &opts);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!((r.compiled, r.excluded, r.releveled), (2, 1, 1));
        // Without tuning, `a` (low) is filtered by level and `b` loads.
        let plain = crate::RuleSet::from_yaml(
            &[("r.yml", &yaml)],
            &crate::LoadOptions {
                min_level: Level::Medium,
                ..Default::default()
            },
        );
        assert_eq!((plain.compiled, plain.skipped, plain.excluded), (2, 1, 0));
    }

    #[test]
    fn later_entries_override_and_apply_to_findings() {
        let mut t = Tuning::from_yaml("rules:\n  - id: a\n    level: exclude\n", "x").unwrap();
        t.merge(Tuning::from_yaml("rules:\n  - id: a\n    level: high\n", "y").unwrap());
        t.exclude("b", "too many", "--exclude-rule");
        let mk = |id: &str| Finding {
            kind: kahu_finding::FindingKind::Sigma,
            rule_id: id.into(),
            title: id.into(),
            level: Level::Medium,
            techniques: vec![],
            software: vec![],
            groups: vec![],
            timestamp: None,
            host: None,
            channel: None,
            event_id: None,
            fields: vec![],
            provenance: kahu_event::Provenance::new("f".into(), kahu_event::Location::File),
            related: vec![],
        };
        let mut fs = vec![mk("a"), mk("b"), mk("c")];
        assert_eq!(t.apply(&mut fs), 1);
        let got: Vec<(&str, Level)> = fs.iter().map(|f| (&*f.rule_id, f.level)).collect();
        assert_eq!(got, vec![("a", Level::High), ("c", Level::Medium)]);
    }
}
