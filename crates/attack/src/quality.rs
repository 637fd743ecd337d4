//! Evidence quality before scoring: which detections may speak for an
//! actor, and how loudly.
//!
//! A detection rule's ATT&CK software tag is the rule author's note of
//! where the behaviour was once seen, not evidence that the software ran:
//! "Hidden Executable In NTFS Alternate Data Stream" carries S0139
//! PowerDuke and fires on any browser saving a download, and that tag
//! alone once flipped a ranking to APT29. So a software tag counts only
//! when the detection names the software — in the rule's title or in the
//! evidence it matched (the image, the command line…) — or when the
//! detection is itself intelligence (an indicator or YARA hit). Technique
//! tags of broad rules (tagged with many techniques at once, like
//! "Malicious PowerShell Commandlets", which fires on a framework merely
//! loading its functions) count only when a focused detection corroborates
//! them. Findings below medium are not evidence of the intrusion at all.
//! Everything left out is listed with the reason, for the analyst.
//!
//! `kahu assess` and `kahu attribute --findings` both build their evidence
//! here, so the same findings give the same ranking.

use crate::{CaseEvidence, KnowledgeBase};
use kahu_finding::{Finding, FindingKind, Level};
use std::collections::{BTreeMap, BTreeSet};

/// Findings below this level do not count as evidence of the intrusion.
pub const SIGNIFICANT: Level = Level::Medium;

/// A rule tagged with at least this many techniques is broad: its tags
/// describe a family of behaviour, not what happened.
pub const BROAD_RULE_TECHNIQUES: usize = 4;

/// Fields whose values show what ran or was written: a software name in
/// one of them means the detection saw the software.
const EVIDENCE_FIELDS: &[&str] = &[
    "Image",
    "CommandLine",
    "ParentImage",
    "ParentCommandLine",
    "NewProcessName",
    "ProcessCommandLine",
    "OriginalFileName",
    "TargetFilename",
    "ImageLoaded",
    "ServiceName",
    "ImagePath",
    "ServiceFileName",
    "ScriptBlockText",
    "TaskName",
    "PipeName",
    "QueryName",
];

/// `true` when `name` appears in `text` as a word (case-insensitive).
fn names(text: &str, name: &str) -> bool {
    let (t, n) = (text.to_lowercase(), name.to_lowercase());
    // Short aliases (`Rcs`, `at`) occur inside ordinary words.
    if n.chars().count() < 4 {
        return false;
    }
    let is_word = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    t.match_indices(&n).any(|(i, _)| {
        is_word(t[..i].chars().next_back()) && is_word(t[i + n.len()..].chars().next())
    })
}

/// Whether finding `f` names software `id` (its ATT&CK name or an alias).
fn finding_names_software(f: &Finding, id: &str, kb: &KnowledgeBase) -> bool {
    let Some(sw) = kb.software(&kb.resolve(id)) else {
        return false;
    };
    let mut texts: Vec<&str> = vec![&f.title];
    texts.extend(
        f.fields
            .iter()
            .filter(|(k, _)| EVIDENCE_FIELDS.iter().any(|e| k.eq_ignore_ascii_case(e)))
            .map(|(_, v)| v.as_str()),
    );
    std::iter::once(&sw.name)
        .chain(&sw.aliases)
        .any(|n| texts.iter().any(|t| names(t, n)))
}

impl CaseEvidence {
    /// Attribution evidence from detection findings: techniques, software,
    /// attributed indicators and the activity period of findings at
    /// [`SIGNIFICANT`] level and above, with software tags and broad
    /// technique tags kept only as the module documentation explains.
    /// What was left out is in [`CaseEvidence::discounted`].
    pub fn from_detections(findings: &[Finding], kb: &KnowledgeBase) -> CaseEvidence {
        let significant: Vec<&Finding> =
            findings.iter().filter(|f| f.level >= SIGNIFICANT).collect();
        let mut ev = CaseEvidence::from_finding_refs(significant.iter().copied());
        ev.software.clear();
        ev.techniques.clear();

        let mut discounted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut focused: BTreeSet<String> = BTreeSet::new();
        let mut broad: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in &significant {
            let intelligence = matches!(f.kind, FindingKind::Ioc | FindingKind::Yara);
            for s in &f.software {
                if intelligence || finding_names_software(f, s, kb) {
                    ev.add_software(s);
                } else {
                    let name = kb
                        .software(&kb.resolve(s))
                        .map(|x| format!("{s} {}", x.name))
                        .unwrap_or_else(|| s.to_string());
                    discounted
                        .entry(format!(
                            "{name}: software tag of a rule that does not name it"
                        ))
                        .or_default()
                        .insert(f.title.to_string());
                }
            }
            let is_broad =
                f.kind != FindingKind::Ioc && f.techniques.len() >= BROAD_RULE_TECHNIQUES;
            for t in &f.techniques {
                let t = t.trim().to_ascii_uppercase();
                if is_broad {
                    broad.entry(t).or_default().insert(f.title.to_string());
                } else {
                    focused.insert(t);
                }
            }
        }
        for t in &focused {
            ev.add_technique(t);
        }
        for (t, rules) in broad {
            if focused.contains(&t) {
                continue;
            }
            discounted
                .entry(format!(
                    "{t}: only a blanket tag of a broad rule ({BROAD_RULE_TECHNIQUES}+ techniques), not corroborated"
                ))
                .or_default()
                .extend(rules);
        }
        let below = findings.len() - significant.len();
        if below > 0 {
            discounted
                .entry(format!(
                    "{below} finding(s) below {} level: not evidence of the intrusion",
                    SIGNIFICANT.as_str()
                ))
                .or_default();
        }
        ev.discounted = discounted
            .into_iter()
            .map(|(why, rules)| {
                if rules.is_empty() {
                    why
                } else {
                    let list: Vec<String> = rules.into_iter().take(3).collect();
                    format!("{why} ({})", list.join("; "))
                }
            })
            .collect();
        ev
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kahu_event::{Location, Provenance};
    use std::sync::Arc;

    fn finding(
        title: &str,
        level: Level,
        techniques: &[&str],
        software: &[&str],
        fields: &[(&str, &str)],
    ) -> Finding {
        Finding {
            kind: FindingKind::Sigma,
            rule_id: Arc::from(title),
            title: Arc::from(title),
            level,
            techniques: techniques.iter().map(|t| Arc::from(*t)).collect(),
            software: software.iter().map(|s| Arc::from(*s)).collect(),
            groups: Vec::new(),
            timestamp: None,
            host: None,
            channel: None,
            event_id: None,
            fields: fields
                .iter()
                .map(|(k, v)| (Arc::from(*k), v.to_string()))
                .collect(),
            provenance: Provenance::new(Arc::from("x"), Location::Record(1)),
            related: Vec::new(),
        }
    }

    #[test]
    fn a_generic_rules_software_tag_is_not_scored() {
        let kb = KnowledgeBase::embedded();
        let ads = finding(
            "Hidden Executable In NTFS Alternate Data Stream",
            Level::Medium,
            &["T1564.004"],
            &["S0139"],
            &[("Image", "C:\\Program Files\\Mozilla Firefox\\firefox.exe")],
        );
        let ev = CaseEvidence::from_detections(&[ads], kb);
        assert!(ev.software.is_empty(), "{:?}", ev.software);
        assert!(ev.techniques.contains("T1564.004"));
        assert!(
            ev.discounted
                .iter()
                .any(|d| d.contains("S0139") && d.contains("Alternate Data Stream")),
            "{:?}",
            ev.discounted
        );
    }

    #[test]
    fn software_named_by_the_rule_or_the_evidence_counts() {
        let kb = KnowledgeBase::embedded();
        let by_title = finding(
            "HackTool - Mimikatz Execution",
            Level::High,
            &["T1003.001"],
            &["S0002"],
            &[],
        );
        let by_image = finding(
            "Suspicious Child Process",
            Level::High,
            &["T1059"],
            &["S0020"],
            &[("Image", "C:\\inetpub\\China Chopper\\x.aspx")],
        );
        let ev = CaseEvidence::from_detections(&[by_title, by_image], kb);
        assert!(ev.software.contains("S0002"));
        assert!(ev.software.contains("S0020"));
    }

    #[test]
    fn blanket_tags_need_a_focused_detection_and_low_findings_do_not_count() {
        let kb = KnowledgeBase::embedded();
        let broad = finding(
            "Malicious PowerShell Commandlets",
            Level::High,
            &["T1482", "T1087", "T1069", "T1059.001"],
            &[],
            &[],
        );
        let focused = finding(
            "Encoded PowerShell",
            Level::Medium,
            &["T1059.001"],
            &[],
            &[],
        );
        let low = finding("Whoami Run", Level::Low, &["T1033"], &[], &[]);
        let ev = CaseEvidence::from_detections(&[broad, focused, low], kb);
        assert_eq!(ev.techniques.iter().collect::<Vec<_>>(), ["T1059.001"]);
        assert!(ev.discounted.iter().any(|d| d.starts_with("T1482")));
        assert!(ev.discounted.iter().any(|d| d.contains("below medium")));
    }

    #[test]
    fn word_matching_is_on_word_boundaries() {
        assert!(names("C:\\tools\\PsExec.exe -s cmd", "PsExec"));
        assert!(!names("C:\\tools\\mynetwork.exe", "Net"));
        assert!(!names("at", "at"));
        assert!(!names("psexecsvc service", "psexec"));
        assert!(names("psexec-like service", "psexec"));
    }
}

#[cfg(test)]
mod crosswalk_tests {
    use super::*;
    use crate::{ActorProfile, Attribution, RankOptions};

    /// A SigmaHQ rule tagged in ATT&CK v19 (T1685.005 "Clear Windows Event
    /// Logs", T1070.001 in v18.1) counts toward the v18.1 technique.
    #[test]
    fn a_v19_tagged_finding_counts_toward_the_v18_technique() {
        let kb = KnowledgeBase::embedded();
        assert_eq!(kb.resolve("t1685.005"), "T1070.001");
        assert!(
            kb.technique("T1685.005").is_none(),
            "the embedded KB is v18.1"
        );
        let mut v19 = CaseEvidence::default();
        v19.add_technique("T1685.005");
        let mut v18 = CaseEvidence::default();
        v18.add_technique("T1070.001");
        let profiles: Vec<ActorProfile> = Vec::new();
        let a = Attribution::rank(kb, &profiles, &v19, &RankOptions::default());
        let b = Attribution::rank(kb, &profiles, &v18, &RankOptions::default());
        assert_eq!(
            a.evidence.techniques, 1,
            "scored, not ignored: {:?}",
            a.evidence.unknown_ids
        );
        assert!(
            a.evidence
                .remapped
                .contains(&("T1685.005".to_string(), "T1070.001".to_string()))
        );
        let top = |x: &Attribution| {
            x.candidates
                .iter()
                .map(|c| c.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(top(&a), top(&b));
    }
}
