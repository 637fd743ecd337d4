//! The report-level ("leave-one-report-out") tables of `kahu-attack-eval`:
//! plain IDF, BM25 and kahu's shipped scorer on every (group, report) case
//! of the ATT&CK bundle, each report removed everywhere (see
//! `kahu_attack::eval_report`).

use kahu_attack::eval_metrics::{CaseResult, Summary, bootstrap, group_draws, interval};
use kahu_attack::eval_report::{
    ReportCase, ReportIndex, case_evidence, compile_report_kb, held_out_kb, rank_in, softmax_top,
};
use kahu_attack::{Attributor, Exclusions, KnowledgeBase, Params, RankOptions};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

/// Bootstrap replicates (groups resampled with replacement).
const REPS: usize = 2000;
/// Case sizes reported; the first table is for `MAIN_N`.
const SIZES: [usize; 3] = [3, 5, 8];
const MAIN_N: usize = 5;
const SCORERS: [&str; 3] = [
    "plain IDF overlap",
    "BM25 (tf = sources)",
    "kahu (Params::default())",
];

/// One case of one evidence variant with the result of every scorer.
struct Scored {
    techniques_only: bool,
    case: ReportCase,
    results: [CaseResult; 3],
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
    let params = Params::default();
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
                    Scored {
                        techniques_only,
                        results: [
                            result(&idf, softmax_top(&idf)),
                            result(&bm25, softmax_top(&bm25)),
                            result(&raw, lead),
                        ],
                        case,
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort_by_key(|s| (s.techniques_only, s.case.group, s.case.source));
    out
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
pub fn run(bundle: &Path) {
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
    drop(bytes);
    let index = ReportIndex::new(&kb);
    let scored = score(&kb, &index);
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
        let per_scorer: Vec<Vec<CaseResult>> = (0..3)
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
            for k in [1, 2] {
                for (m, name) in [(0, "top-1"), (3, "MRR")] {
                    let v: Vec<f64> = boots[k]
                        .1
                        .iter()
                        .zip(&boots[0].1)
                        .map(|(a, b)| a.values()[m] - b.values()[m])
                        .collect();
                    let p = boots[k].0.values()[m] - boots[0].0.values()[m];
                    diffs.push(format!(
                        "| {} − plain IDF | {} | {} | {name} | {} |",
                        SCORERS[k],
                        label(t),
                        if macro_avg { "macro" } else { "micro" },
                        cell(p, &v)
                    ));
                }
            }
        }
    }
    println!();
    println!("### N = {MAIN_N}: gain over plain IDF (paired: the same bootstrap draws)\n");
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
