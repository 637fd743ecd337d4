//! Per-case diagnostic for the evaluation.
use kahu_attack::eval::{campaign_cases, rank_of};
use kahu_attack::{Attributor, KnowledgeBase, Params};
fn main() {
    let kb = KnowledgeBase::embedded();
    for c in campaign_cases(kb) {
        let p = Params::default();
        let a = Attributor::new(kb, &[], &c.exclusions(false), &p);
        let n_direct = a.technique_users("T1059").unwrap_or(0);
        let s = a.raw_scores(&c.evidence, &p);
        let mut v = s.scores.clone();
        v.sort_by(|x, y| y.1.total_cmp(&x.1));
        let full = Attributor::new(kb, &[], &Default::default(), &p).raw_scores(&c.evidence, &p);
        println!(
            "{} {} techs={} sw={} srcs={} rank={:?} rank_with_leak={:?} top={:?} {n_direct}",
            c.campaign,
            c.group,
            c.evidence.techniques.len(),
            c.evidence.software.len(),
            c.sources.len(),
            rank_of(&s.scores, &c.group),
            rank_of(&full.scores, &c.group),
            &v[0]
        );
    }
}
