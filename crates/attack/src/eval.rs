//! Leakage-free evaluation on ATT&CK campaigns (used by `kahu-attack-eval`
//! and the tests): for each campaign attributed to exactly one group, the
//! group's profile is rebuilt without the campaign and without every group
//! relation whose only cited sources are among the campaign's sources.

use crate::evidence::CaseEvidence;
use crate::kb::{KnowledgeBase, RelKind};
use crate::score::Exclusions;
use std::collections::{BTreeSet, HashSet};

/// Which relations the leakage filter removes besides the campaign's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The issue's protocol, exactly: every *group* relation whose cited
    /// sources are all among the campaign's sources is dropped; other
    /// campaigns' relations are kept.
    Issue,
    /// Stricter: other campaigns' relations (uses and attributed-to)
    /// citing only the campaign's sources are dropped too.
    Strict,
    /// Not leakage-free: only the campaign's own relations are removed and
    /// every group relation is kept, whatever it cites. An upper bound on
    /// what the issue protocol can reach (the reports describing the
    /// campaign stay in the group's profile), reported for that reason only.
    CampaignOnly,
}

impl Protocol {
    /// Both protocols, primary first.
    pub const ALL: [Protocol; 2] = [Protocol::Issue, Protocol::Strict];

    /// Label used in reports.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Issue => "issue protocol (group relations filtered)",
            Protocol::Strict => "strict protocol (group and campaign relations filtered)",
            Protocol::CampaignOnly => "upper bound (campaign removed, no source filtering; leaks)",
        }
    }
}

/// One evaluation case.
#[derive(Debug, Clone)]
pub struct EvalCase {
    /// Campaign id.
    pub campaign: String,
    /// The group it is attributed to.
    pub group: String,
    /// Techniques and software of the campaign.
    pub evidence: CaseEvidence,
    /// Citation sources of the campaign (its object and all its relations).
    pub sources: BTreeSet<String>,
}

impl EvalCase {
    /// Same case with techniques only.
    pub fn techniques_only(&self) -> CaseEvidence {
        CaseEvidence {
            techniques: self.evidence.techniques.clone(),
            ..Default::default()
        }
    }

    /// Model exclusions for this case under `protocol`; `open_set` also
    /// removes the true group (the right answer is then "unknown").
    pub fn exclusions(&self, open_set: bool, protocol: Protocol) -> Exclusions {
        let mut e = Exclusions {
            campaigns: HashSet::from([self.campaign.clone()]),
            sources: if protocol == Protocol::CampaignOnly {
                HashSet::new()
            } else {
                self.sources.iter().cloned().collect()
            },
            group_relations_only: protocol == Protocol::Issue,
            ..Default::default()
        };
        if open_set {
            e.groups.insert(self.group.clone());
        }
        e
    }
}

/// Campaigns attributed to exactly one live group, with at least one technique.
pub fn campaign_cases(kb: &KnowledgeBase) -> Vec<EvalCase> {
    let d = kb.data();
    let mut out = Vec::new();
    for c in &d.campaigns {
        let groups: Vec<&str> = d
            .relations
            .iter()
            .filter(|r| {
                r.kind == RelKind::AttributedTo && r.from == c.id && kb.group(&r.to).is_some()
            })
            .map(|r| r.to.as_str())
            .collect();
        if groups.len() != 1 {
            continue;
        }
        let mut ev = CaseEvidence::default();
        let mut sources: BTreeSet<String> = c
            .sources
            .iter()
            .filter_map(|&i| d.sources.get(i as usize).cloned())
            .collect();
        for r in d.relations.iter().filter(|r| r.from == c.id) {
            sources.extend(kb.source_names(r).map(str::to_string));
            if r.kind != RelKind::Uses {
                continue;
            }
            if kb.technique(&r.to).is_some() {
                ev.add_technique(&r.to);
            } else if kb.software(&r.to).is_some() {
                ev.add_software(&r.to);
            }
        }
        if ev.techniques.is_empty() {
            continue;
        }
        out.push(EvalCase {
            campaign: c.id.clone(),
            group: groups[0].to_string(),
            evidence: ev,
            sources,
        });
    }
    out
}

/// 1-based rank of `target` among `scores` (ties count against the target:
/// a tie is ranked below every actor with the same score).
pub fn rank_of(scores: &[(String, f64)], target: &str) -> Option<usize> {
    let s = scores.iter().find(|(id, _)| id == target)?.1;
    Some(
        scores
            .iter()
            .filter(|(id, x)| id != target && *x >= s)
            .count()
            + 1,
    )
}

/// Top-k hit rates and mean reciprocal rank over ranks (None = target absent).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct RankMetrics {
    /// Cases.
    pub n: usize,
    /// Top-1 accuracy.
    pub top1: f64,
    /// Top-3.
    pub top3: f64,
    /// Top-5.
    pub top5: f64,
    /// Mean reciprocal rank.
    pub mrr: f64,
}

impl RankMetrics {
    /// Compute from 1-based ranks.
    pub fn from_ranks(ranks: &[usize]) -> RankMetrics {
        let n = ranks.len().max(1) as f64;
        let at = |k: usize| ranks.iter().filter(|&&r| r <= k).count() as f64 / n;
        RankMetrics {
            n: ranks.len(),
            top1: at(1),
            top3: at(3),
            top5: at(5),
            mrr: ranks.iter().map(|&r| 1.0 / r as f64).sum::<f64>() / n,
        }
    }
}

/// Expected calibration error over (confidence, correct) pairs, binned by
/// the ICD 203 bands; returns (ECE, per-bin (label, count, mean confidence, accuracy)).
pub fn calibration(pairs: &[(f64, bool)]) -> (f64, Vec<(&'static str, usize, f64, f64)>) {
    use crate::likelihood::Likelihood;
    let mut bins = Vec::new();
    let mut ece = 0.0;
    let n = pairs.len().max(1) as f64;
    for l in Likelihood::ALL {
        let inb: Vec<&(f64, bool)> = pairs
            .iter()
            .filter(|(p, _)| Likelihood::from_probability(*p) == l)
            .collect();
        if inb.is_empty() {
            bins.push((l.words(), 0, 0.0, 0.0));
            continue;
        }
        let k = inb.len() as f64;
        let conf = inb.iter().map(|(p, _)| p).sum::<f64>() / k;
        let acc = inb.iter().filter(|(_, c)| *c).count() as f64 / k;
        ece += k / n * (acc - conf).abs();
        bins.push((l.words(), inb.len(), conf, acc));
    }
    (ece, bins)
}
