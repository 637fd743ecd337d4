//! Diagnostics of the report-level evaluation, printed on request:
//! the learned ranker's misses case by case (`KAHU_EVAL_ERRORS=1`) and the
//! fit of `Params::fact_logit_scale` (`KAHU_EVAL_PROFILE_SCALE=1`), the
//! weight of the CVEs, tools and ports an actor's profile lists.

use crate::reports::{ALL, CaseSize, FOLDS, L2, MAIN_N, REPS, Scored, choices, fold_of};
use kahu_attack::eval_metrics::{CaseResult, group_draws, interval, weights};
use kahu_attack::eval_report::{ReportIndex, case_evidence, held_out_kb, rank_in, source_key};
use kahu_attack::ranker::{N_FEATURES, unknown_features};
use kahu_attack::ranker_fit::{self, N_PARAMS};
use kahu_attack::{Attributor, CaseEvidence, Exclusions, KnowledgeBase, Params};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Error analysis (`KAHU_EVAL_ERRORS=1`): N = `MAIN_N` cases the shipped
/// cross-fitted ranker gets wrong, by what the true group still has.
pub(crate) fn print_errors(scored: &[Scored], index: &ReportIndex, kb: &KnowledgeBase) {
    let d = kb.data();
    let fitted = fold_fits(scored);
    let mut rows = Vec::new();
    for s in scored {
        let t = s.techniques_only;
        if s.case.items_for(index, t) < MAIN_N {
            continue;
        }
        let r = s.results[3];
        let g = s.case.group;
        let own = &s.features[g];
        let hits = own[11].exp() - 1.0;
        let profile = own[8].exp() - 1.0;
        let w = &fitted[fold_of(s.case.source) as usize];
        let sc: Vec<f64> = s
            .features
            .iter()
            .map(|x| x.iter().zip(w).map(|(x, w)| x * w).sum())
            .collect();
        let leader = (0..sc.len())
            .filter(|&k| k != g)
            .max_by(|&a, &b| sc[a].total_cmp(&sc[b]))
            .unwrap_or(0);
        rows.push((
            t,
            g,
            r.rank,
            s.query_len,
            hits.round() as usize,
            profile.round() as usize,
            own[7],
            leader,
            s.features[leader][7],
            (s.features[leader][11].exp() - 1.0).round() as usize,
            (s.features[leader][8].exp() - 1.0).round() as usize,
            (own[12].exp() - 1.0).round() as usize,
            (s.features[leader][12].exp() - 1.0).round() as usize,
        ));
    }
    println!("### Error analysis (N = {MAIN_N}, learned ranker cross-fitted)\n");
    println!(
        "ERR\tvariant\tgroup\trank\tquery\ttrue_hits\ttrue_profile\ttrue_fraction\tleader\tleader_fraction\tleader_hits\tleader_profile\ttrue_reports\tleader_reports"
    );
    for (t, g, rank, q, hits, prof, fr, l, lf, lh, lp, tr, lr) in &rows {
        let id = |k: usize| d.groups.get(k).map_or("?", |x| x.id.as_str());
        println!(
            "ERR\t{}\t{}\t{rank}\t{q}\t{hits}\t{prof}\t{fr:.3}\t{}\t{lf:.3}\t{lh}\t{lp}\t{tr}\t{lr}",
            if *t { "tech" } else { "all" },
            id(*g),
            id(*l),
        );
    }
    println!();
}

/// Source key (`eval_report::source_key`) → the ATT&CK citation names
/// (`source_name`) it stands for, from the bundle's external references.
fn citation_names(bytes: &[u8]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return out;
    };
    for o in v["objects"].as_array().into_iter().flatten() {
        for r in o["external_references"].as_array().into_iter().flatten() {
            if let Some(name) = r["source_name"].as_str() {
                out.entry(source_key(name, r["url"].as_str()))
                    .or_default()
                    .insert(name.to_string());
            }
        }
    }
    out
}

/// One report-level case with the profile facts its report names.
struct ProfileCase<'a> {
    scored: &'a Scored,
    /// Each actor's profile score on the facts (the held-out profiles).
    profile: Vec<f64>,
    /// How many CVEs, tools and ports the report names for the group.
    facts: usize,
}

/// Candidate values of `Params::fact_logit_scale`.
fn scale_grid() -> Vec<f64> {
    (0..=120).map(|k| f64::from(k) * 0.05).collect()
}

/// −log-likelihood of a profile case at scale `s` (closed copy: the true
/// group is right; open copy, the group removed: unknown is right).
fn profile_case_nll(c: &ProfileCase<'_>, w: &[f64; N_PARAMS], s: f64) -> (f64, bool) {
    let rows = &c.scored.features;
    let g = c.scored.case.group;
    let logits: Vec<f64> = rows
        .iter()
        .zip(&c.profile)
        .map(|(x, p)| x.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() + s * p)
        .collect();
    let unknown = |skip: Option<usize>| -> f64 {
        unknown_features(c.scored.query_len, rows, skip)
            .iter()
            .zip(&w[N_FEATURES..])
            .map(|(z, u)| z * u)
            .sum()
    };
    let lse = |skip: Option<usize>, extra: f64| -> f64 {
        let m = logits
            .iter()
            .enumerate()
            .filter(|(k, _)| Some(*k) != skip)
            .map(|(_, v)| *v)
            .fold(extra, f64::max);
        m + (logits
            .iter()
            .enumerate()
            .filter(|(k, _)| Some(*k) != skip)
            .map(|(_, v)| (v - m).exp())
            .sum::<f64>()
            + (extra - m).exp())
        .ln()
    };
    let (uc, uo) = (unknown(None), unknown(Some(g)));
    let closed = lse(None, uc) - logits[g];
    let open = lse(Some(g), uo) - uo;
    (closed + open, rank_in(&logits, g) == 1)
}

/// Fit `Params::fact_logit_scale` (`KAHU_EVAL_PROFILE_SCALE=1`): on the
/// report-level cases (techniques + software, N ≥ 3) whose report names
/// CVEs, tools or ports for the group in ATT&CK's descriptions (the
/// generated actor facts), the facts are added to the query and every
/// actor's profile is held out as the ATT&CK relations are (a fact read only
/// from descriptions citing the report is dropped). With the learned weights
/// cross-fitted as in the tables, the scale minimising the −log-likelihood
/// (closed + open copies) is chosen on a grid; 95 % interval from the
/// bootstrap of groups.
pub(crate) fn print_profile_scale(scored: &[Scored], kb: &KnowledgeBase, bytes: &[u8]) {
    let names = citation_names(bytes);
    let d = kb.data();
    let profiles = kahu_attack::actor_profiles();
    let by_id: BTreeMap<&str, &kahu_attack::ActorProfile> =
        profiles.iter().map(|p| (p.id.as_str(), p)).collect();
    let params = Params::default();
    let mut by_source: BTreeMap<u32, Vec<(&Scored, CaseEvidence)>> = BTreeMap::new();
    for s in scored.iter().filter(|s| !s.techniques_only) {
        let Some(prof) = by_id.get(d.groups[s.case.group].id.as_str()) else {
            continue;
        };
        let Some(cited) = d
            .sources
            .get(s.case.source as usize)
            .and_then(|k| names.get(k))
        else {
            continue;
        };
        let named_here = |sources: &[String]| {
            sources.iter().any(|k| {
                prof.sources
                    .get(k)
                    .is_some_and(|src| src.attack_citations.iter().any(|c| cited.contains(c)))
            })
        };
        let mut ev = case_evidence(kb, &s.case.items, false);
        for c in prof.cves.iter().filter(|c| named_here(&c.sources)) {
            ev.cves.insert(c.value.clone());
        }
        for t in prof.tooling.iter().filter(|t| named_here(&t.sources)) {
            ev.tools.insert(t.value.clone());
        }
        for p in prof.ports.iter().filter(|p| named_here(&p.sources)) {
            ev.ports.insert(p.port);
        }
        if ev.cves.len() + ev.tools.len() + ev.ports.len() > 0 {
            by_source.entry(s.case.source).or_default().push((s, ev));
        }
    }
    let cases: Vec<ProfileCase<'_>> = by_source
        .into_par_iter()
        .flat_map_iter(|(source, cases)| {
            let kb_without = held_out_kb(kb, source);
            let excl = Exclusions {
                sources: d
                    .sources
                    .get(source as usize)
                    .and_then(|k| names.get(k))
                    .map(|n| n.iter().cloned().collect())
                    .unwrap_or_default(),
                ..Exclusions::default()
            };
            let att = Attributor::new(&kb_without, &profiles, &excl, &params);
            cases
                .into_iter()
                .map(|(s, ev)| {
                    // The CVE, tool and port part (the evidence has no other
                    // profile kind).
                    let mut profile: Vec<f64> = att
                        .profile_scores(&ev, &params)
                        .iter()
                        .map(|p| p.0)
                        .collect();
                    profile.truncate(s.features.len());
                    ProfileCase {
                        scored: s,
                        profile,
                        facts: ev.cves.len() + ev.tools.len() + ev.ports.len(),
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let fitted = fold_fits(scored);
    let grid = scale_grid();
    // nll[case][grid point], top-1[case][grid point]
    let table: Vec<Vec<(f64, bool)>> = cases
        .iter()
        .map(|c| {
            let w = &fitted[fold_of(c.scored.case.source) as usize];
            grid.iter().map(|&s| profile_case_nll(c, w, s)).collect()
        })
        .collect();
    let results: Vec<CaseResult> = cases
        .iter()
        .map(|c| CaseResult {
            group: c.scored.case.group,
            rank: 1,
            confidence: 0.0,
        })
        .collect();
    let best = |w: &[f64]| -> usize {
        (0..grid.len())
            .min_by(|&a, &b| {
                let f = |k: usize| table.iter().zip(w).map(|(t, w)| t[k].0 * w).sum::<f64>();
                f(a).total_cmp(&f(b))
            })
            .unwrap_or(0)
    };
    let ones = vec![1.0; cases.len()];
    let k = best(&ones);
    let reps: Vec<f64> = group_draws(&results, REPS / 4, 17)
        .iter()
        .map(|dr| grid[best(&weights(&results, dr, false))])
        .collect();
    let (lo, hi) = interval(reps);
    let groups: BTreeSet<usize> = cases.iter().map(|c| c.scored.case.group).collect();
    let true_credit = cases
        .iter()
        .filter(|c| c.profile[c.scored.case.group] > 0.0)
        .count();
    println!(
        "### `fact_logit_scale` (CVE, tool and port part of the profile score) fitted on report-level cases\n"
    );
    println!(
        "{} cases (techniques + software, N ≥ 3) over {} groups whose report names {} CVEs, tools or ports for the group in ATT&CK descriptions; the true group's held-out profile credits them in {} cases. Fitted scale {:.2} [{lo:.2}, {hi:.2}] (−log-likelihood of closed + open copies, weights cross-fitted, {} bootstrap draws of groups).\n",
        cases.len(),
        groups.len(),
        cases.iter().map(|c| c.facts).sum::<usize>(),
        true_credit,
        grid[k],
        REPS / 4,
    );
    println!(
        "| scale | −log-likelihood per case (closed + open) | top-1 of the true group |\n|---|---|---|"
    );
    let n = cases.len().max(1) as f64;
    for s in [0.0, 0.25, 0.5, 1.0, 2.0, grid[k]] {
        let i = grid.iter().position(|&g| (g - s).abs() < 1e-9).unwrap_or(0);
        println!(
            "| {s:.2} | {:.3} | {:.3} |",
            table.iter().map(|t| t[i].0).sum::<f64>() / n,
            table.iter().filter(|t| t[i].1).count() as f64 / n
        );
    }
    println!();
}

/// The shipped ranker fitted once per fold, each without its fold's
/// reports (folds grouped by report, as in the main table).
fn fold_fits(scored: &[Scored]) -> Vec<[f64; N_PARAMS]> {
    (0..FOLDS)
        .into_par_iter()
        .map(|k| {
            let c = choices(scored.iter().filter(|s| fold_of(s.case.source) != k));
            ranker_fit::fit(&c, &ranker_fit::feature_scale(&c), L2, &ALL).0
        })
        .collect()
}
