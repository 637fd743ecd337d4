//! Per-case diagnostic for the evaluation (issue protocol, default params):
//! `cargo run --release -p kahu-attack --example cases`.
use kahu_attack::eval::{Protocol, campaign_cases, rank_of};
use kahu_attack::{Attributor, KnowledgeBase, Params, RankOptions};
fn main() {
    let kb = KnowledgeBase::embedded();
    let p = Params::default();
    for c in campaign_cases(kb) {
        let a = Attributor::new(kb, &[], &c.exclusions(false, Protocol::Issue), &p);
        let s = a.raw_scores(&c.evidence, &p);
        let res = a.rank(
            &c.evidence,
            &RankOptions {
                top: 400,
                hunt_len: 0,
                params: p,
                ..Default::default()
            },
        );
        let show = |id: &str| {
            res.candidates
                .iter()
                .find(|x| x.id == id)
                .map(|x| {
                    let items: Vec<String> = x
                        .supporting
                        .iter()
                        .map(|i| format!("{}:{:.1}", i.id, i.weight))
                        .collect();
                    format!("{} {:.2} [{}]", x.id, x.score, items.join(" "))
                })
                .unwrap_or_default()
        };
        println!(
            "{} true={} techs={} sw={} rank={:?}\n  true: {}\n  lead: {}",
            c.campaign,
            c.group,
            c.evidence.techniques.len(),
            c.evidence.software.len(),
            rank_of(&s.scores, &c.group),
            show(&c.group),
            show(&res.candidates[0].id),
        );
    }
}
