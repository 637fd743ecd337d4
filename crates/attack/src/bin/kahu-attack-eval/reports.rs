//! The report-level ("leave-one-report-out") tables of `kahu-attack-eval`:
//! plain IDF, BM25 and kahu's shipped scorer on every (group, report) case
//! of the ATT&CK bundle, each report removed everywhere (see
//! `kahu_attack::eval_report`).

use kahu_attack::eval_metrics::{
    CaseResult, Summary, bootstrap, group_draws, interval, observed, summarise, weights,
};
use kahu_attack::eval_report::{
    ReportCase, ReportIndex, case_evidence, compile_report_kb, held_out_kb, rank_in, softmax_top,
};
use kahu_attack::ranker::{
    FEATURES, N_FEATURES, RankerWeights, UNKNOWN_FEATURES, WEIGHTS_FORMAT, unknown_features,
};
use kahu_attack::ranker_fit::{self, Choice, N_PARAMS};
use kahu_attack::{Attributor, Exclusions, KnowledgeBase, Params, RankOptions};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

/// Bootstrap replicates (groups resampled with replacement).
pub(crate) const REPS: usize = 2000;
/// Case sizes reported; the first table is for `MAIN_N`.
const SIZES: [usize; 3] = [3, 5, 8];
pub(crate) const MAIN_N: usize = 5;
const SCORERS: [&str; 4] = [
    "plain IDF overlap",
    "BM25 (tf = sources)",
    "kahu IDF sum (before)",
    "learned ranker (cross-fitted)",
];

/// One case of one evidence variant with the result of every scorer.
pub(crate) struct Scored {
    pub(crate) techniques_only: bool,
    pub(crate) case: ReportCase,
    /// The learned ranker's features of every group (rows in group order).
    pub(crate) features: Vec<[f64; N_FEATURES]>,
    /// Evidence items the ranker saw (the query after resolution).
    pub(crate) query_len: usize,
    pub(crate) results: [CaseResult; 4],
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
pub(crate) const FOLDS: u32 = 5;
/// L2 penalty on the standardised weights.
/// (0.1 and 10 moved held-out top-1 by at most 0.003; training on the
/// closed-set choices alone gave +0.012 top-1 and a worse ECE: within noise.)
pub(crate) const L2: f64 = 1.0;

pub(crate) fn fold_of(source: u32) -> u32 {
    // A multiplicative hash spreads consecutive source indices over folds.
    (source.wrapping_mul(2_654_435_761) >> 16) % FOLDS
}

/// Every case as two choices: closed-set (the true group among all) and
/// open-set (the true group removed, "unknown" right), equal weight: about
/// half of new reports name a group the KB does not have yet (issue 12).
/// The unknown alternative's features are those of the candidates present.
pub(crate) fn choices<'a>(scored: impl Iterator<Item = &'a Scored>) -> Vec<Choice<'a>> {
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
pub(crate) type Keep = [bool; N_PARAMS];

/// Every candidate feature and every unknown feature (what ships).
pub(crate) const ALL: Keep = [true; N_PARAMS];

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
/// (`KAHU_EVAL_NESTED_L2=1`: L2 chosen by nested cross-validation in each
/// outer fold instead of the fixed `L2`; it picked 0.1 in every fold and
/// changed nothing measurable.)
fn apply_cross_fit(scored: &mut [Scored]) {
    let nested = std::env::var_os("KAHU_EVAL_NESTED_L2").is_some();
    let fitted = cross_fit_l2(scored, &ALL, nested);
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
    if std::env::var_os("KAHU_EVAL_PROFILE_SCALE").is_some() {
        crate::diagnostics::print_profile_scale(&scored, &kb, &bytes);
    }
    if std::env::var_os("KAHU_EVAL_ERRORS").is_some() {
        crate::diagnostics::print_errors(&scored, &index, &kb);
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
pub(crate) trait CaseSize {
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
