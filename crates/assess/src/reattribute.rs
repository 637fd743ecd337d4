//! Recomputing the attribution when an analyst disputes evidence in
//! `kahu serve`.
//!
//! The case stores the attribution evidence it was ranked from
//! (`case-evidence` document). A dispute names an item the attribution
//! document shows — a technique, software, CVE, IP, domain, sector or
//! region id — and the ranking is recomputed without the disputed items.

use kahu_attack::{Attribution, CaseEvidence, KnowledgeBase, RankOptions};
use kahu_case::{Case, DisputedEvidence};

/// The attribution engine behind `kahu serve`'s dispute button.
pub struct Reattributor {
    profiles: Vec<kahu_attack::ActorProfile>,
}

impl Default for Reattributor {
    fn default() -> Self {
        Reattributor {
            profiles: kahu_attack::embedded_profiles(),
        }
    }
}

/// Remove disputed items from the evidence; returns how many matched.
pub fn without_disputed(ev: &mut CaseEvidence, disputed: &[DisputedEvidence]) -> usize {
    let mut removed = 0;
    for d in disputed.iter().filter(|d| d.withdrawn_at.is_none()) {
        let id = d.target_id.trim();
        let upper = id.to_ascii_uppercase();
        let before = ev.techniques.len()
            + ev.software.len()
            + ev.cves.len()
            + ev.ips.len()
            + ev.domains.len()
            + ev.sectors.len()
            + ev.regions.len()
            + ev.infrastructure_kinds.len()
            + ev.ports.len();
        ev.techniques.retain(|t| *t != upper);
        ev.software.retain(|s| *s != upper);
        ev.cves.retain(|c| *c != upper);
        ev.ips.retain(|ip| ip.to_string() != id);
        ev.domains.retain(|x| !x.eq_ignore_ascii_case(id));
        ev.sectors.retain(|x| !x.eq_ignore_ascii_case(id));
        ev.regions.retain(|x| !x.eq_ignore_ascii_case(id));
        ev.infrastructure_kinds
            .retain(|x| !x.eq_ignore_ascii_case(id));
        ev.ports.retain(|p| p.to_string() != id);
        let after = ev.techniques.len()
            + ev.software.len()
            + ev.cves.len()
            + ev.ips.len()
            + ev.domains.len()
            + ev.sectors.len()
            + ev.regions.len()
            + ev.infrastructure_kinds.len()
            + ev.ports.len();
        removed += before - after;
    }
    removed
}

impl kahu_web::Reattribute for Reattributor {
    fn recompute(
        &self,
        case: &Case,
        disputed: &[DisputedEvidence],
    ) -> anyhow::Result<serde_json::Value> {
        let doc = case.document("case-evidence")?.ok_or_else(|| {
            anyhow::anyhow!("the case has no case-evidence document (written by kahu assess)")
        })?;
        let mut ev: CaseEvidence = serde_json::from_value(doc.body)?;
        without_disputed(&mut ev, disputed);
        let a = Attribution::rank(
            KnowledgeBase::embedded(),
            &self.profiles,
            &ev,
            &RankOptions::default(),
        );
        Ok(serde_json::to_value(a)?)
    }
}
