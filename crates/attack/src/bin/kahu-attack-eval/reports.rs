//! The report-level ("leave-one-report-out") tables of `kahu-attack-eval`:
//! plain IDF, BM25 and kahu's shipped scorer on every (group, report) case
//! of the ATT&CK bundle, each report removed everywhere (see
//! `kahu_attack::eval_report`).

use kahu_attack::eval_metrics::{
    CaseResult, Summary, bootstrap, group_draws, interval, observed, summarise, weights,
};
use kahu_attack::eval_report::{
    ReportCase, ReportIndex, case_evidence, compile_report_kb, held_out_kb, rank_in, softmax_top,
    source_key,
};
use kahu_attack::ranker::{
    FEATURES, N_FEATURES, RankerWeights, UNKNOWN_FEATURES, WEIGHTS_FORMAT, unknown_features,
};
use kahu_attack::ranker_fit::{self, Choice, N_PARAMS};
use kahu_attack::{Attributor, CaseEvidence, Exclusions, KnowledgeBase, Params, RankOptions};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

/// Bootstrap replicates (groups resampled with replacement).
const REPS: usize = 2000;
/// Case sizes reported; the first table is for `MAIN_N`.
const SIZES: [usize; 3] = [3, 5, 8];
const MAIN_N: usize = 5;
const SCORERS: [&str; 4] = [
    "plain IDF overlap",
    "BM25 (tf = sources)",
    "kahu IDF sum (before)",
    "learned ranker (cross-fitted)",
];

/// One case of one evidence variant with the result of every scorer.
struct Scored {
    techniques_only: bool,
    case: ReportCase,
    /// The learned ranker's features of every group (rows in group order).
    features: Vec<[f64; N_FEATURES]>,
    /// Evidence items the ranker saw (the query after resolution).
    query_len: usize,
    results: [CaseResult; 4],
    /// The learned ranker's open-set view (filled by `cross_fit`).
    open: OpenSet,
}

/// One case under the cross-fitted learned ranker with its "unknown"
/// alternative: twice, with the true group among the candidates (closed)
/// and removed (open, where "unknown" is the right answer).
#[derive(Debug, Clone, Copy, Default)]
struct OpenSet {
    /// P(true group), closed copy.
    p_true: f64,
    /// P(unknown), closed and open copies.
    p_unknown_closed: f64,
    p_unknown_open: f64,
    /// Is the most probable alternative the right one (closed: the true
    /// group; open: unknown)?
    right_closed: bool,
    right_open: bool,
    /// Its probability.
    p_top_closed: f64,
    p_top_open: f64,
}

/// Run every scorer on every case (smallest size; larger sizes are subsets).
fn score(kb: &KnowledgeBase, index: &ReportIndex) -> Vec<Scored> {
    let mut by_source: BTreeMap<u32, Vec<(bool, ReportCase)>> = BTreeMap::new();
    for techniques_only in [false, true] {
        for c in index.cases(SIZES[0], techniques_only) {
            by_source
                .entry(c.source)
                .or_default()
                .push((techniques_only, c));
        }
    }
    // The IDF sum kahu shipped before the learned ranker, as the reference.
    let params = Params {
        learned_ranker: false,
        ..Params::default()
    };
    let opts = RankOptions {
        top: 1,
        hunt_len: 0,
        params,
        exclusions: Exclusions::default(),
    };
    let mut out: Vec<Scored> = by_source
        .into_par_iter()
        .flat_map_iter(|(source, cases)| {
            let held = index.held_out(source);
            let kb_without = held_out_kb(kb, source);
            let kahu = Attributor::new(&kb_without, &[], &Exclusions::default(), &params);
            cases
                .into_iter()
                .map(|(techniques_only, case)| {
                    let query: Vec<u32> = case
                        .items
                        .iter()
                        .copied()
                        .filter(|&i| !techniques_only || index.is_technique(i))
                        .collect();
                    let g = case.group;
                    let result = |scores: &[f64], confidence: f64| CaseResult {
                        group: g,
                        rank: rank_in(scores, g),
                        confidence,
                    };
                    let idf = held.idf_scores(&query);
                    let bm25 = held.bm25_scores(&query);
                    let ev = case_evidence(&kb_without, &query, techniques_only);
                    let raw: Vec<f64> = kahu
                        .raw_scores(&ev, &params)
                        .scores
                        .iter()
                        .map(|s| s.1)
                        .collect();
                    let lead = kahu
                        .rank(&ev, &opts)
                        .candidates
                        .first()
                        .map_or(0.0, |c| c.likelihood);
                    let features = kahu.ranker_features(&ev, &params);
                    Scored {
                        techniques_only,
                        query_len: ev.techniques.len() + ev.software.len(),
                        open: OpenSet::default(),
                        results: [
                            result(&idf, softmax_top(&idf)),
                            result(&bm25, softmax_top(&bm25)),
                            result(&raw, lead),
                            // Filled in by `cross_fit`.
                            result(&idf, 0.0),
                        ],
                        features,
                        case,
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort_by_key(|s| (s.techniques_only, s.case.group, s.case.source));
    out
}

/// Folds of the cross-fitting, grouped by report: every case citing one
/// report (both evidence variants, every group) is in the same fold.
const FOLDS: u32 = 5;
/// L2 penalty on the standardised weights.
/// (0.1 and 10 moved held-out top-1 by at most 0.003; training on the
/// closed-set choices alone gave +0.012 top-1 and a worse ECE: within noise.)
const L2: f64 = 1.0;

fn fold_of(source: u32) -> u32 {
    // A multiplicative hash spreads consecutive source indices over folds.
    (source.wrapping_mul(2_654_435_761) >> 16) % FOLDS
}

/// Every case as two choices: closed-set (the true group among all) and
/// open-set (the true group removed, "unknown" right), equal weight: about
/// half of new reports name a group the KB does not have yet (issue 12).
/// The unknown alternative's features are those of the candidates present.
fn choices<'a>(scored: impl Iterator<Item = &'a Scored>) -> Vec<Choice<'a>> {
    scored
        .flat_map(|s| {
            let closed = Choice {
                rows: &s.features,
                unknown: unknown_features(s.query_len, &s.features, None),
                skip: None,
                target: Some(s.case.group),
                weight: 1.0,
            };
            let open = Choice {
                unknown: unknown_features(s.query_len, &s.features, Some(s.case.group)),
                skip: Some(s.case.group),
                target: None,
                ..closed.clone()
            };
            [closed, open]
        })
        .collect()
}

/// Which parameters a fit uses.
type Keep = [bool; N_PARAMS];

/// Every candidate feature and every unknown feature (what ships).
const ALL: Keep = [true; N_PARAMS];

/// The unknown alternative reduced to its intercept: the constant unknown
/// logit shipped before (issue 12 item 1 compares against it).
fn constant_unknown() -> Keep {
    std::array::from_fn(|i| i <= N_FEATURES)
}

/// Fit on all cases: the shipped weights.
fn fit_all(scored: &[Scored]) -> ([f64; N_PARAMS], usize) {
    let c = choices(scored.iter());
    let (w, _) = ranker_fit::fit(&c, &ranker_fit::feature_scale(&c), L2, &ALL);
    (w, scored.len())
}

/// The cross-fitted learned ranker's result for each case (in `scored`
/// order): weights fitted without the case's fold; rank by w·x among the
/// candidates, confidence = the leader's closed-set softmax probability;
/// and the open-set view with the unknown alternative.
fn cross_fit(scored: &[Scored], keep: &Keep) -> Vec<(CaseResult, OpenSet)> {
    cross_fit_l2(scored, keep, false)
}

/// L2 strengths the nested selection chooses from.
const L2_GRID: [f64; 4] = [0.1, 1.0, 10.0, 100.0];

/// The L2 strength with the lowest held-out −log-likelihood (closed + open
/// choices) over inner folds of the cases outside `outer` (folds grouped by
/// report, as the outer ones).
fn nested_l2(scored: &[Scored], keep: &Keep, outer: u32) -> f64 {
    let inner: Vec<u32> = (0..FOLDS).filter(|&k| k != outer).collect();
    let mut best = (f64::INFINITY, L2);
    for l2 in L2_GRID {
        let nll: f64 = inner
            .iter()
            .map(|&k| {
                let train = choices(scored.iter().filter(|s| {
                    let f = fold_of(s.case.source);
                    f != outer && f != k
                }));
                let w = ranker_fit::fit(&train, &ranker_fit::feature_scale(&train), l2, keep).0;
                choices(scored.iter().filter(|s| fold_of(s.case.source) == k))
                    .iter()
                    .map(|c| {
                        let p = ranker_fit::probabilities(c, &w);
                        -p[c.target.unwrap_or(c.rows.len())].max(1e-300).ln()
                    })
                    .sum::<f64>()
            })
            .sum();
        eprintln!("outer fold {outer}: L2 {l2}: inner NLL {nll:.1}");
        if nll < best.0 {
            best = (nll, l2);
        }
    }
    best.1
}

/// `cross_fit` with the L2 strength fixed (`L2`), or chosen by nested
/// cross-validation inside each outer fold.
fn cross_fit_l2(scored: &[Scored], keep: &Keep, nested: bool) -> Vec<(CaseResult, OpenSet)> {
    let fitted: Vec<[f64; N_PARAMS]> = (0..FOLDS)
        .into_par_iter()
        .map(|k| {
            let l2 = if nested {
                nested_l2(scored, keep, k)
            } else {
                L2
            };
            let c = choices(scored.iter().filter(|s| fold_of(s.case.source) != k));
            ranker_fit::fit(&c, &ranker_fit::feature_scale(&c), l2, keep).0
        })
        .collect();
    scored
        .iter()
        .map(|s| {
            let w = &fitted[fold_of(s.case.source) as usize];
            let scores: Vec<f64> = s
                .features
                .iter()
                .map(|x| x.iter().zip(w).map(|(x, w)| x * w).sum())
                .collect();
            let result = CaseResult {
                group: s.case.group,
                rank: rank_in(&scores, s.case.group),
                confidence: softmax_top(&scores),
            };
            let mut both = choices(std::iter::once(s)).into_iter();
            let (Some(closed), Some(open)) = (both.next(), both.next()) else {
                return (result, OpenSet::default());
            };
            let pc = ranker_fit::probabilities(&closed, w);
            let po = ranker_fit::probabilities(&open, w);
            let top = |p: &[f64]| {
                p.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
                    .map_or((0, 0.0), |(k, &v)| (k, v))
            };
            let (kc, tc) = top(&pc);
            let (ko, to) = top(&po);
            let unknown = s.features.len();
            (
                result,
                OpenSet {
                    p_true: pc[s.case.group],
                    p_unknown_closed: pc[unknown],
                    p_unknown_open: po[unknown],
                    right_closed: kc == s.case.group,
                    right_open: ko == unknown,
                    p_top_closed: tc,
                    p_top_open: to,
                },
            )
        })
        .collect()
}

/// Fill in the learned ranker's held-out row (all features).
fn apply_cross_fit(scored: &mut [Scored]) {
    let fitted = cross_fit(scored, &ALL);
    for (s, (r, o)) in scored.iter_mut().zip(fitted) {
        s.results[3] = r;
        s.open = o;
    }
}

/// Open-set metrics of one fitted variant on `cases`: per copy (closed and
/// open), a `CaseResult` whose rank is 1 when the most probable
/// alternative is the right one (accuracy, ECE of its probability), one
/// whose rank is 1 when the truth is "unknown" with P(unknown) as the
/// confidence (calibration of P(unknown)), and −ln P(right answer).
fn open_results(cases: &[(usize, OpenSet)]) -> (Vec<CaseResult>, Vec<CaseResult>, Vec<f64>) {
    let mut decision = Vec::new();
    let mut unknown = Vec::new();
    let mut nll = Vec::new();
    for &(g, o) in cases {
        let r = |right: bool, confidence: f64| CaseResult {
            group: g,
            rank: if right { 1 } else { 2 },
            confidence,
        };
        decision.push(r(o.right_closed, o.p_top_closed));
        decision.push(r(o.right_open, o.p_top_open));
        unknown.push(r(false, o.p_unknown_closed));
        unknown.push(r(true, o.p_unknown_open));
        nll.push(-o.p_true.max(1e-300).ln());
        nll.push(-o.p_unknown_open.max(1e-300).ln());
    }
    (decision, unknown, nll)
}

/// Mean of `values` (one per result) under bootstrap case weights.
fn weighted_mean(values: &[f64], w: &[f64]) -> f64 {
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    values.iter().zip(w).map(|(v, w)| v * w).sum::<f64>() / total
}

/// The "unknown" table (issue 12 item 1): constant unknown logit against
/// the unknown learned from the evidence, cross-fitted, N = `MAIN_N`.
fn print_unknown_table(scored: &[Scored], index: &ReportIndex) {
    let constant = cross_fit(scored, &constant_unknown());
    println!(
        "### N = {MAIN_N}: the unknown alternative, constant against learned from the evidence (cross-fitted; each case twice: closed, its group present, and open, its group removed so \"unknown\" is right; 95 % intervals from {REPS} bootstrap draws of groups, differences paired)\n"
    );
    println!(
        "| unknown logit | evidence | predictions | most probable is right | ECE of its probability | ECE of P(unknown) | mean P(unknown), closed / open | −log-likelihood per prediction |\n|---|---|---|---|---|---|---|---|"
    );
    let mut diffs = Vec::new();
    for t in [false, true] {
        let idx: Vec<usize> = (0..scored.len())
            .filter(|&k| {
                scored[k].techniques_only == t && scored[k].case.items_for(index, t) >= MAIN_N
            })
            .collect();
        let variants = [
            (
                "constant (intercept only)",
                idx.iter()
                    .map(|&k| (scored[k].case.group, constant[k].1))
                    .collect::<Vec<_>>(),
            ),
            (
                "learned from the evidence (shipped)",
                idx.iter()
                    .map(|&k| (scored[k].case.group, scored[k].open))
                    .collect(),
            ),
        ];
        let mut per_variant = Vec::new();
        for (name, cases) in &variants {
            let (decision, unknown, nll) = open_results(cases);
            let draws = group_draws(&decision, REPS, 13);
            let (dp, dr) = bootstrap(&decision, &draws, false);
            let (up, ur) = bootstrap(&unknown, &draws, false);
            let nll_reps: Vec<f64> = draws
                .iter()
                .map(|d| weighted_mean(&nll, &weights(&decision, d, false)))
                .collect();
            let nll_point = weighted_mean(&nll, &weights(&decision, &observed(&decision), false));
            let mean_u = |open: bool| {
                let v: Vec<f64> = cases
                    .iter()
                    .map(|(_, o)| {
                        if open {
                            o.p_unknown_open
                        } else {
                            o.p_unknown_closed
                        }
                    })
                    .collect();
                v.iter().sum::<f64>() / v.len().max(1) as f64
            };
            println!(
                "| {name} | {} | {} | {} | {} | {} | {:.3} / {:.3} | {} |",
                label(t),
                decision.len(),
                cell(dp.top1, &dr.iter().map(|r| r.top1).collect::<Vec<_>>()),
                cell(dp.ece, &dr.iter().map(|r| r.ece).collect::<Vec<_>>()),
                cell(up.ece, &ur.iter().map(|r| r.ece).collect::<Vec<_>>()),
                mean_u(false),
                mean_u(true),
                cell(nll_point, &nll_reps),
            );
            per_variant.push((dp.top1, dr, nll_point, nll_reps));
        }
        let (a, b) = (&per_variant[1], &per_variant[0]);
        let acc: Vec<f64> = a.1.iter().zip(&b.1).map(|(x, y)| x.top1 - y.top1).collect();
        let nll: Vec<f64> = a.3.iter().zip(&b.3).map(|(x, y)| x - y).collect();
        diffs.push(format!(
            "| {} | most probable is right | {} |\n| {} | −log-likelihood | {} |",
            label(t),
            cell(a.0 - b.0, &acc),
            label(t),
            cell(a.2 - b.2, &nll)
        ));
    }
    println!("\n| learned − constant | metric | difference [95 % interval] |\n|---|---|---|");
    for d in diffs {
        println!("{d}");
    }
    println!();
}

/// Ablation (`KAHU_EVAL_ABLATE=1`): the cross-fitted learned ranker without
/// each candidate feature in turn, against all features, at N = `MAIN_N`
/// (micro top-1 difference paired on the same bootstrap draws).
fn print_ablation(scored: &[Scored], index: &ReportIndex) {
    println!(
        "### N = {MAIN_N}: ablation of the learned ranker's features (cross-fitted; difference = without − with, paired, 95 % interval)\n"
    );
    println!(
        "| left out | top-1 | top-5 | macro top-1 | ECE | techniques-only top-1 | top-1 without − with |\n|---|---|---|---|---|---|---|"
    );
    let pick = |res: &[(CaseResult, OpenSet)], t: bool| -> Vec<CaseResult> {
        scored
            .iter()
            .zip(res)
            .filter(|(s, _)| s.techniques_only == t && s.case.items_for(index, t) >= MAIN_N)
            .map(|(_, r)| r.0)
            .collect()
    };
    let base = cross_fit(scored, &ALL);
    let base_main = pick(&base, false);
    let draws = group_draws(&base_main, REPS, 12);
    let (_, base_reps) = bootstrap(&base_main, &draws, false);
    let row = |name: &str, res: &[(CaseResult, OpenSet)]| {
        let main = pick(res, false);
        let (micro, reps) = bootstrap(&main, &draws, false);
        let (macro_s, _) = bootstrap(&main, &[], true);
        let (tech, _) = bootstrap(&pick(res, true), &[], false);
        let d: Vec<f64> = reps
            .iter()
            .zip(&base_reps)
            .map(|(a, b)| a.top1 - b.top1)
            .collect();
        let point = micro.top1 - summarise(&base_main, &vec![1.0; base_main.len()]).top1;
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} |",
            micro.top1,
            micro.top5,
            macro_s.top1,
            micro.ece,
            tech.top1,
            cell(point, &d)
        );
    };
    row("(nothing: all features)", &base);
    for (i, f) in FEATURES.iter().enumerate() {
        let mut keep = ALL;
        keep[i] = false;
        row(f, &cross_fit(scored, &keep));
    }
    println!();
}

/// Feature tries (`KAHU_EVAL_TRY=1`): the cross-fitted learned ranker with
/// candidate features added to the first 13, against the 13 alone.
fn print_tries(scored: &[Scored], index: &ReportIndex) {
    println!(
        "### N = {MAIN_N}: feature tries (cross-fitted; difference = with − base, paired, 95 % interval)\n"
    );
    println!(
        "| features | top-1 | top-5 | macro top-1 | ECE | techniques-only top-1 | top-1 − base | macro top-1 − base | tech-only top-1 − base |\n|---|---|---|---|---|---|---|---|---|"
    );
    let pick = |res: &[(CaseResult, OpenSet)], t: bool| -> Vec<CaseResult> {
        scored
            .iter()
            .zip(res)
            .filter(|(s, _)| s.techniques_only == t && s.case.items_for(index, t) >= MAIN_N)
            .map(|(_, r)| r.0)
            .collect()
    };
    let mask = |extra: &[usize]| -> Keep {
        std::array::from_fn(|i| i < 13 || i >= N_FEATURES || extra.contains(&i))
    };
    let nested = std::env::var_os("KAHU_EVAL_NESTED_L2").is_some();
    let base = cross_fit_l2(scored, &mask(&[]), nested);
    let base_main = pick(&base, false);
    let base_tech = pick(&base, true);
    let draws = group_draws(&base_main, REPS, 12);
    let draws_t = group_draws(&base_tech, REPS, 12);
    let (bm, base_reps) = bootstrap(&base_main, &draws, false);
    let (bma, base_mreps) = bootstrap(&base_main, &draws, true);
    let (bt, base_treps) = bootstrap(&base_tech, &draws_t, false);
    let mut tries: Vec<Vec<usize>> = vec![vec![]];
    let spec = std::env::var("KAHU_EVAL_TRY").unwrap_or_default();
    for part in spec
        .split(';')
        .filter(|p| !p.trim().is_empty() && p.trim() != "1")
    {
        tries.push(
            part.split(',')
                .filter_map(|x| FEATURES.iter().position(|f| *f == x.trim()))
                .collect(),
        );
    }
    if tries.len() == 1 {
        tries.extend((13..N_FEATURES).map(|i| vec![i]));
        tries.push((13..N_FEATURES).collect());
    }
    for extra in &tries {
        let res = if extra.is_empty() {
            base.clone()
        } else {
            cross_fit_l2(scored, &mask(extra), nested)
        };
        let main = pick(&res, false);
        let tech = pick(&res, true);
        let (micro, reps) = bootstrap(&main, &draws, false);
        let (macro_s, mreps) = bootstrap(&main, &draws, true);
        let (t, treps) = bootstrap(&tech, &draws_t, false);
        let diff = |a: &[Summary], b: &[Summary]| -> Vec<f64> {
            a.iter().zip(b).map(|(x, y)| x.top1 - y.top1).collect()
        };
        let name = if extra.is_empty() {
            "base (13)".to_string()
        } else {
            format!(
                "+ {}",
                extra
                    .iter()
                    .map(|&i| FEATURES[i])
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let c = choices(scored.iter());
        let (w, _) = ranker_fit::fit(&c, &ranker_fit::feature_scale(&c), L2, &mask(extra));
        eprintln!(
            "try {name}: weights {:?}",
            extra
                .iter()
                .map(|&i| (FEATURES[i], w[i]))
                .collect::<Vec<_>>()
        );
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} | {} |",
            micro.top1,
            micro.top5,
            macro_s.top1,
            micro.ece,
            t.top1,
            cell(micro.top1 - bm.top1, &diff(&reps, &base_reps)),
            cell(macro_s.top1 - bma.top1, &diff(&mreps, &base_mreps)),
            cell(t.top1 - bt.top1, &diff(&treps, &base_treps)),
        );
    }
    println!();
}

/// Error analysis (`KAHU_EVAL_ERRORS=1`): N = `MAIN_N` cases the shipped
/// cross-fitted ranker gets wrong, by what the true group still has.
fn print_errors(scored: &[Scored], index: &ReportIndex, kb: &KnowledgeBase) {
    let d = kb.data();
    let base: Keep = std::array::from_fn(|i| i < 13 || i >= N_FEATURES);
    let fitted: Vec<[f64; N_PARAMS]> = (0..FOLDS)
        .into_par_iter()
        .map(|k| {
            let c = choices(scored.iter().filter(|s| fold_of(s.case.source) != k));
            ranker_fit::fit(&c, &ranker_fit::feature_scale(&c), L2, &base).0
        })
        .collect();
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

/// Candidate values of `profile_logit_scale`.
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

/// Fit `Params::profile_logit_scale` (`KAHU_EVAL_PROFILE_SCALE=1`): on the
/// report-level cases (techniques + software, N ≥ 3) whose report names
/// CVEs, tools or ports for the group in ATT&CK's descriptions (the
/// generated actor facts), the facts are added to the query and every
/// actor's profile is held out as the ATT&CK relations are (a fact read only
/// from descriptions citing the report is dropped). With the learned weights
/// cross-fitted as in the tables, the scale minimising the −log-likelihood
/// (closed + open copies) is chosen on a grid; 95 % interval from the
/// bootstrap of groups.
fn print_profile_scale(scored: &[Scored], kb: &KnowledgeBase, bytes: &[u8]) {
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
                    let mut profile = att.profile_scores(&ev, &params);
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
    let fitted: Vec<[f64; N_PARAMS]> = (0..FOLDS)
        .into_par_iter()
        .map(|k| {
            let c = choices(scored.iter().filter(|s| fold_of(s.case.source) != k));
            ranker_fit::fit(&c, &ranker_fit::feature_scale(&c), L2, &ALL).0
        })
        .collect();
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
    println!("### profile_logit_scale fitted on report-level cases with profile facts\n");
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

/// Write the weights fitted on every case to the committed weight file.
fn write_weights(scored: &[Scored], bundle_modified: &str) {
    let (w, cases) = fit_all(scored);
    let out = RankerWeights {
        format: WEIGHTS_FORMAT.into(),
        command:
            "cargo run --release -p kahu-attack --bin kahu-attack-eval -- --reports-only --fit"
                .into(),
        fitted_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        bundle_modified: bundle_modified.into(),
        cases,
        l2: L2,
        features: FEATURES.iter().map(|f| f.to_string()).collect(),
        weights: w[..N_FEATURES].to_vec(),
        unknown_features: UNKNOWN_FEATURES.iter().map(|f| f.to_string()).collect(),
        unknown_weights: w[N_FEATURES..].to_vec(),
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/ranker-weights.json");
    let text = serde_json::to_string_pretty(&out).expect("weights serialise") + "\n";
    match std::fs::write(&path, text) {
        Ok(()) => eprintln!("wrote {}", path.display()),
        Err(e) => eprintln!("writing {}: {e}", path.display()),
    }
    println!(
        "Weights fitted on all {cases} cases (closed + open set, L2 {}), written to `crates/attack/data/ranker-weights.json`:\n",
        L2
    );
    println!("| feature | weight |\n|---|---|");
    for (f, w) in FEATURES.iter().zip(&out.weights) {
        println!("| {f} | {w:.4} |");
    }
    for (f, w) in UNKNOWN_FEATURES.iter().zip(&out.unknown_weights) {
        println!("| unknown: {f} | {w:.4} |");
    }
    println!();
}

fn cell(point: f64, reps: &[f64]) -> String {
    let (lo, hi) = interval(reps.to_vec());
    format!("{point:.3} [{lo:.3}, {hi:.3}]")
}

fn label(techniques_only: bool) -> &'static str {
    if techniques_only {
        "techniques only"
    } else {
        "techniques + software"
    }
}

/// Print the report-level section (Markdown).
pub(crate) fn run(bundle: &Path, fit: bool) {
    let t0 = Instant::now();
    let bytes = match std::fs::read(bundle) {
        Ok(b) => b,
        Err(e) => {
            println!("SKIP report-level evaluation: {}: {e}\n", bundle.display());
            return;
        }
    };
    let kb = match compile_report_kb(&bytes, "bundle") {
        Ok(kb) => kb,
        Err(e) => {
            println!("SKIP report-level evaluation: {}: {e}\n", bundle.display());
            return;
        }
    };
    let index = ReportIndex::new(&kb);
    let mut scored = score(&kb, &index);
    apply_cross_fit(&mut scored);
    let secs = t0.elapsed().as_secs_f64();
    let d = kb.data();
    println!(
        "## Report-level evaluation (leave-one-report-out)\n\nBundle `{}` (modified {}): {} live groups (all candidates), {} techniques, {} software, {} distinct cited reports (normalised URL, else source name). {} rayon threads, {secs:.1} s for all scorers, sizes and variants.\n",
        bundle.file_name().map_or_else(
            || bundle.display().to_string(),
            |n| n.to_string_lossy().into()
        ),
        d.bundle_modified.as_deref().unwrap_or("?"),
        d.groups.len(),
        d.techniques.len(),
        d.software.len(),
        d.sources.len(),
        rayon::current_num_threads(),
    );
    let subset = |n: usize, techniques_only: bool| -> Vec<&Scored> {
        scored
            .iter()
            .filter(|s| {
                s.techniques_only == techniques_only
                    && s.case.items_for(&index, techniques_only) >= n
            })
            .collect()
    };
    println!(
        "| N (items the report supports) | evidence | cases | groups | reports |\n|---|---|---|---|---|"
    );
    for n in SIZES {
        for t in [false, true] {
            let s = subset(n, t);
            let groups: BTreeSet<usize> = s.iter().map(|x| x.case.group).collect();
            let reports: BTreeSet<u32> = s.iter().map(|x| x.case.source).collect();
            println!(
                "| {n} | {} | {} | {} | {} |",
                label(t),
                s.len(),
                groups.len(),
                reports.len()
            );
        }
    }
    println!();
    println!(
        "### N = {MAIN_N}: micro (each case once) and macro (each group once), 95 % intervals from {REPS} bootstrap draws of groups\n"
    );
    println!(
        "| scorer | evidence | average | top-1 | top-3 | top-5 | MRR | ECE |\n|---|---|---|---|---|---|---|---|"
    );
    let mut diffs = Vec::new();
    for t in [false, true] {
        let s = subset(MAIN_N, t);
        let per_scorer: Vec<Vec<CaseResult>> = (0..SCORERS.len())
            .map(|k| s.iter().map(|x| x.results[k]).collect())
            .collect();
        let draws = group_draws(&per_scorer[0], REPS, 12);
        for macro_avg in [false, true] {
            let boots: Vec<(Summary, Vec<Summary>)> = per_scorer
                .iter()
                .map(|r| bootstrap(r, &draws, macro_avg))
                .collect();
            for (k, (point, reps)) in boots.iter().enumerate() {
                let cells: Vec<String> = (0..5)
                    .map(|m| {
                        let v: Vec<f64> = reps.iter().map(|r| r.values()[m]).collect();
                        cell(point.values()[m], &v)
                    })
                    .collect();
                println!(
                    "| {} | {} | {} | {} |",
                    SCORERS[k],
                    label(t),
                    if macro_avg { "macro" } else { "micro" },
                    cells.join(" | ")
                );
            }
            // Every scorer against plain IDF, and the learned ranker against
            // the IDF sum kahu shipped before it.
            let pairs = (1..SCORERS.len()).map(|k| (k, 0)).chain([(3, 2)]);
            for (k, base) in pairs {
                for (m, name) in [(0, "top-1"), (3, "MRR")] {
                    let v: Vec<f64> = boots[k]
                        .1
                        .iter()
                        .zip(&boots[base].1)
                        .map(|(a, b)| a.values()[m] - b.values()[m])
                        .collect();
                    let p = boots[k].0.values()[m] - boots[base].0.values()[m];
                    diffs.push(format!(
                        "| {} − {} | {} | {} | {name} | {} |",
                        SCORERS[k],
                        SCORERS[base],
                        label(t),
                        if macro_avg { "macro" } else { "micro" },
                        cell(p, &v)
                    ));
                }
            }
        }
    }
    println!();
    println!(
        "### N = {MAIN_N}: gain over plain IDF, and of the learned ranker over kahu's IDF sum (paired: the same bootstrap draws)\n"
    );
    println!(
        "| difference | evidence | average | metric | value [95 % interval] |\n|---|---|---|---|---|"
    );
    for d in diffs {
        println!("{d}");
    }
    println!();
    println!("### All sizes (point estimates; micro unless marked)\n");
    println!(
        "| N | evidence | scorer | cases | top-1 | top-3 | top-5 | MRR | ECE | macro top-1 |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for n in SIZES {
        for t in [false, true] {
            let s = subset(n, t);
            for (k, name) in SCORERS.iter().enumerate() {
                let r: Vec<CaseResult> = s.iter().map(|x| x.results[k]).collect();
                let (micro, _) = bootstrap(&r, &[], false);
                let (macro_s, _) = bootstrap(&r, &[], true);
                println!(
                    "| {n} | {} | {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
                    label(t),
                    r.len(),
                    micro.top1,
                    micro.top3,
                    micro.top5,
                    micro.mrr,
                    micro.ece,
                    macro_s.top1
                );
            }
        }
    }
    println!();
    print_unknown_table(&scored, &index);
    if std::env::var_os("KAHU_EVAL_ABLATE").is_some() {
        print_ablation(&scored, &index);
    }
    if std::env::var_os("KAHU_EVAL_TRY").is_some() {
        print_tries(&scored, &index);
    }
    if std::env::var_os("KAHU_EVAL_PROFILE_SCALE").is_some() {
        print_profile_scale(&scored, &kb, &bytes);
    }
    if std::env::var_os("KAHU_EVAL_ERRORS").is_some() {
        print_errors(&scored, &index, &kb);
    }
    if fit {
        write_weights(&scored, d.bundle_modified.as_deref().unwrap_or("?"));
    }
    eprintln!(
        "report-level evaluation took {:.1}s",
        t0.elapsed().as_secs_f64()
    );
}

/// Size of a case in a variant.
trait CaseSize {
    fn items_for(&self, index: &ReportIndex, techniques_only: bool) -> usize;
}

impl CaseSize for ReportCase {
    fn items_for(&self, index: &ReportIndex, techniques_only: bool) -> usize {
        self.items
            .iter()
            .filter(|&&i| !techniques_only || index.is_technique(i))
            .count()
    }
}
