//! Recomputing the attribution when an analyst disputes evidence in
//! `kahu serve`.
//!
//! The case stores the attribution evidence it was ranked from
//! (`case-evidence` document). A dispute names an item the attribution
//! document shows — a technique, software, CVE, IP, domain, sector or
//! region id — and the ranking is recomputed without the disputed items,
//! with the same knowledge base and actor profiles the analyst gave
//! `kahu assess` (`--attack`, `--profile`).

use kahu_attack::{ActorProfile, Attribution, CaseEvidence, KnowledgeBase, RankOptions};
use kahu_case::{Case, DisputedEvidence};

/// The attribution engine behind `kahu serve`'s dispute button.
pub(crate) struct Reattributor {
    kb: Option<KnowledgeBase>,
    profiles: Vec<ActorProfile>,
}

impl Reattributor {
    /// Rank with `kb` (the embedded ATT&CK when `None`) and the embedded
    /// profiles plus `extra_profiles`.
    pub(crate) fn new(kb: Option<KnowledgeBase>, extra_profiles: Vec<ActorProfile>) -> Self {
        let mut profiles = kahu_attack::actor_profiles();
        for p in extra_profiles {
            kahu_attack::add_analyst_profile(&mut profiles, p);
        }
        Reattributor { kb, profiles }
    }
}

impl kahu_web::Reattribute for Reattributor {
    fn recompute(
        &self,
        case: &Case,
        disputed: &[DisputedEvidence],
    ) -> anyhow::Result<serde_json::Value> {
        let doc = case
            .document(kahu_case::DocKind::CaseEvidence.as_str())?
            .ok_or_else(|| {
                anyhow::anyhow!("the case has no case-evidence document (written by kahu assess)")
            })?;
        let mut ev: CaseEvidence = serde_json::from_value(doc.body)?;
        ev.withdraw(
            disputed
                .iter()
                .filter(|d| d.withdrawn_at.is_none())
                .map(|d| d.target_id.as_str()),
        );
        let kb = self
            .kb
            .as_ref()
            .unwrap_or_else(|| KnowledgeBase::embedded());
        let a = Attribution::rank(kb, &self.profiles, &ev, &RankOptions::default());
        Ok(serde_json::to_value(a)?)
    }
}
