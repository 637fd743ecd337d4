//! Maximum-likelihood fit of the learned ranker's conditional logit
//! (`ranker.rs`): Newton's method on the L2-penalised negative
//! log-likelihood. With a dozen weights the Hessian is tiny and the problem
//! is convex, so Newton with step halving converges in a few iterations
//! and needs no dependency.

use crate::ranker::{N_FEATURES, N_UNKNOWN};

/// Parameters of the fit: the candidate feature weights, then the unknown
/// alternative's weights.
pub const N_PARAMS: usize = N_FEATURES + N_UNKNOWN;

/// One training choice: the alternatives' feature rows and the chosen one.
/// `target == None` means the "unknown" alternative was the right answer.
/// A candidate's utility is w·x over its row; the unknown alternative's is
/// u·z over `unknown` (the two parts of the parameter vector).
#[derive(Debug, Clone)]
pub struct Choice<'a> {
    /// Feature rows of the candidate actors.
    pub rows: &'a [[f64; N_FEATURES]],
    /// Features of the unknown alternative (`ranker::unknown_features` of
    /// the rows without `skip`).
    pub unknown: [f64; N_UNKNOWN],
    /// Row to leave out (the true group, in the open-set version).
    pub skip: Option<usize>,
    /// Index of the right candidate, or None for "unknown".
    pub target: Option<usize>,
    /// Weight of the choice in the likelihood.
    pub weight: f64,
}

/// Alternative `k` (rows, then unknown at index `rows.len()`) as a full
/// parameter-length vector.
fn alternative(c: &Choice<'_>, k: usize) -> [f64; N_PARAMS] {
    let mut x = [0.0; N_PARAMS];
    if k < c.rows.len() {
        x[..N_FEATURES].copy_from_slice(&c.rows[k]);
    } else {
        x[N_FEATURES..].copy_from_slice(&c.unknown);
    }
    x
}

fn dot(a: &[f64; N_PARAMS], b: &[f64; N_PARAMS]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Probabilities of the alternatives of `c` (unknown last; the skipped row 0).
pub fn probabilities(c: &Choice<'_>, w: &[f64; N_PARAMS]) -> Vec<f64> {
    let n = c.rows.len() + 1;
    let u: Vec<f64> = (0..n)
        .map(|k| {
            if Some(k) == c.skip {
                f64::NEG_INFINITY
            } else {
                dot(&alternative(c, k), w)
            }
        })
        .collect();
    let m = u.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = u.iter().map(|x| (x - m).exp()).collect();
    let z: f64 = e.iter().sum();
    e.into_iter().map(|x| x / z).collect()
}

/// Penalised negative log-likelihood, its gradient and Hessian.
fn objective(
    choices: &[Choice<'_>],
    w: &[f64; N_PARAMS],
    l2: f64,
) -> (f64, [f64; N_PARAMS], [[f64; N_PARAMS]; N_PARAMS]) {
    let mut nll = 0.5 * l2 * w.iter().map(|x| x * x).sum::<f64>();
    let mut g = [0.0; N_PARAMS];
    let mut h = [[0.0; N_PARAMS]; N_PARAMS];
    for (i, wi) in w.iter().enumerate() {
        g[i] = l2 * wi;
        h[i][i] = l2;
    }
    for c in choices {
        let p = probabilities(c, w);
        let target = c.target.unwrap_or(c.rows.len());
        nll -= c.weight * p[target].max(1e-300).ln();
        let mut mean = [0.0; N_PARAMS];
        let mut second = [[0.0; N_PARAMS]; N_PARAMS];
        for (k, &pk) in p.iter().enumerate() {
            if pk == 0.0 {
                continue;
            }
            let x = alternative(c, k);
            for i in 0..N_PARAMS {
                mean[i] += pk * x[i];
                for j in 0..N_PARAMS {
                    second[i][j] += pk * x[i] * x[j];
                }
            }
        }
        let xt = alternative(c, target);
        for i in 0..N_PARAMS {
            g[i] += c.weight * (mean[i] - xt[i]);
            for j in 0..N_PARAMS {
                h[i][j] += c.weight * (second[i][j] - mean[i] * mean[j]);
            }
        }
    }
    (nll, g, h)
}

/// Solve `h x = g` (h symmetric positive definite) by Gaussian elimination
/// with partial pivoting.
fn solve(mut h: [[f64; N_PARAMS]; N_PARAMS], mut g: [f64; N_PARAMS]) -> [f64; N_PARAMS] {
    for col in 0..N_PARAMS {
        let piv = (col..N_PARAMS)
            .max_by(|&a, &b| h[a][col].abs().total_cmp(&h[b][col].abs()))
            .unwrap_or(col);
        h.swap(col, piv);
        g.swap(col, piv);
        let d = h[col][col];
        if d.abs() < 1e-300 {
            continue;
        }
        let pivot = h[col];
        for row in col + 1..N_PARAMS {
            let f = h[row][col] / d;
            for (x, p) in h[row][col..].iter_mut().zip(&pivot[col..]) {
                *x -= f * p;
            }
            g[row] -= f * g[col];
        }
    }
    let mut x = [0.0; N_PARAMS];
    for row in (0..N_PARAMS).rev() {
        let s: f64 = (row + 1..N_PARAMS).map(|k| h[row][k] * x[k]).sum();
        x[row] = if h[row][row].abs() < 1e-300 {
            0.0
        } else {
            (g[row] - s) / h[row][row]
        };
    }
    x
}

/// Fit the weights. Features are divided by `scale` (their spread over all
/// rows) so that one L2 penalty treats them alike; the result is on the raw
/// features. A parameter whose `keep` is false is held at 0 (its feature
/// is left out: ablations, and the constant-unknown comparison). Returns
/// the weights and the penalised NLL per unit of weight.
pub fn fit(
    choices: &[Choice<'_>],
    scale: &[f64; N_PARAMS],
    l2: f64,
    keep: &[bool; N_PARAMS],
) -> ([f64; N_PARAMS], f64) {
    // A left-out feature is a column of zeros: its gradient is the L2 term
    // alone, so its weight stays at 0.
    let factor: [f64; N_PARAMS] =
        std::array::from_fn(|i| if keep[i] { 1.0 / scale[i] } else { 0.0 });
    let scaled_rows: Vec<Vec<[f64; N_FEATURES]>> = choices
        .iter()
        .map(|c| {
            c.rows
                .iter()
                .map(|r| std::array::from_fn(|i| r[i] * factor[i]))
                .collect()
        })
        .collect();
    let scaled: Vec<Choice<'_>> = choices
        .iter()
        .zip(&scaled_rows)
        .map(|(c, rows)| Choice {
            rows,
            unknown: std::array::from_fn(|i| c.unknown[i] * factor[N_FEATURES + i]),
            ..c.clone()
        })
        .collect();
    let mut w = [0.0; N_PARAMS];
    let (mut f, mut g, mut h) = objective(&scaled, &w, l2);
    for _ in 0..100 {
        let step = solve(h, g);
        let mut t = 1.0;
        let mut improved = false;
        while t > 1e-6 {
            let cand: [f64; N_PARAMS] = std::array::from_fn(|i| w[i] - t * step[i]);
            let (fc, gc, hc) = objective(&scaled, &cand, l2);
            if fc <= f {
                w = cand;
                (f, g, h) = (fc, gc, hc);
                improved = true;
                break;
            }
            t *= 0.5;
        }
        let size = step.iter().map(|x| x * x).sum::<f64>().sqrt() * t;
        if !improved || size < 1e-9 {
            break;
        }
    }
    let total: f64 = choices.iter().map(|c| c.weight).sum::<f64>().max(1e-300);
    let raw: [f64; N_PARAMS] = std::array::from_fn(|i| w[i] * factor[i]);
    (raw, f / total)
}

/// Spread of each parameter's feature: of the candidate features over every
/// row of `choices`, of the unknown features over the choices (standard
/// deviation; 1 when a feature is constant, as the intercept is).
pub fn feature_scale(choices: &[Choice<'_>]) -> [f64; N_PARAMS] {
    let spread = |n: f64, sum: f64, sq: f64| {
        if n == 0.0 {
            return 1.0;
        }
        let m = sum / n;
        let v = (sq / n - m * m).max(0.0).sqrt();
        if v > 1e-12 { v } else { 1.0 }
    };
    let (mut n, mut nu) = (0.0, 0.0);
    let mut sum = [0.0; N_PARAMS];
    let mut sq = [0.0; N_PARAMS];
    for c in choices {
        for r in c.rows {
            n += 1.0;
            for i in 0..N_FEATURES {
                sum[i] += r[i];
                sq[i] += r[i] * r[i];
            }
        }
        nu += 1.0;
        for (i, z) in c.unknown.iter().enumerate() {
            sum[N_FEATURES + i] += z;
            sq[N_FEATURES + i] += z * z;
        }
    }
    std::array::from_fn(|i| {
        if i < N_FEATURES {
            spread(n, sum[i], sq[i])
        } else {
            spread(nu, sum[i], sq[i])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranker::unknown_features;

    const ALL: [bool; N_PARAMS] = [true; N_PARAMS];

    /// Choices where feature 0 picks the right candidate most of the time:
    /// the fit must give it a positive weight and rank the target first.
    #[test]
    fn newton_fit_recovers_an_informative_feature() {
        let mut rows: Vec<Vec<[f64; N_FEATURES]>> = Vec::new();
        for case in 0..40 {
            let mut r = vec![[0.0; N_FEATURES]; 5];
            for (k, row) in r.iter_mut().enumerate() {
                row[0] = if k == case % 5 { 2.0 } else { 0.5 };
                // Feature 1 is noise.
                row[1] = ((case * 7 + k * 3) % 5) as f64;
            }
            rows.push(r);
        }
        let choices: Vec<Choice<'_>> = rows
            .iter()
            .enumerate()
            .map(|(case, r)| Choice {
                rows: r,
                // Only the intercept: the unknown alternative is constant here.
                unknown: std::array::from_fn(|i| if i == 0 { 1.0 } else { 0.0 }),
                skip: None,
                // One case in eight is a miss: the weight stays finite.
                target: Some(if case % 8 == 0 {
                    (case + 1) % 5
                } else {
                    case % 5
                }),
                weight: 1.0,
            })
            .collect();
        let scale = feature_scale(&choices);
        let (w, nll) = fit(&choices, &scale, 0.1, &ALL);
        assert!(w[0] > 1.0, "{w:?}");
        assert!(w[1].abs() < w[0] / 4.0, "{w:?}");
        assert!(nll < (5.0f64).ln(), "better than uniform: {nll}");
        let p = probabilities(&choices[1], &w);
        assert!(p[1] > 0.5 && (p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        // Open-set choices (true row skipped, unknown right) lift the unknown logit.
        let open: Vec<Choice<'_>> = choices
            .iter()
            .map(|c| Choice {
                skip: c.target,
                target: None,
                ..c.clone()
            })
            .chain(choices.iter().cloned())
            .collect();
        let (w2, _) = fit(&open, &scale, 0.1, &ALL);
        assert!(w2[N_FEATURES] > w[N_FEATURES] + 1.0, "{w2:?} vs {w:?}");
        // A parameter left out stays at zero.
        let mut keep = ALL;
        keep[0] = false;
        let (w3, _) = fit(&choices, &scale, 0.1, &keep);
        assert_eq!(w3[0], 0.0);
    }

    /// When the true candidate matches most of the query and the others
    /// little, the open-set copies (true candidate removed) have a low best
    /// fraction matched: the unknown alternative learns a negative weight
    /// on it, so strong evidence for one candidate takes mass from unknown.
    #[test]
    fn unknown_weight_follows_the_best_candidates_evidence() {
        let mut rows: Vec<Vec<[f64; N_FEATURES]>> = Vec::new();
        for case in 0..60 {
            let mut r = vec![[0.0; N_FEATURES]; 6];
            for (k, row) in r.iter_mut().enumerate() {
                let own = k == case % 6;
                row[7] = if own {
                    0.6 + 0.05 * (case % 5) as f64
                } else {
                    0.1 * ((case + k) % 4) as f64
                };
                row[3] = row[7] * 8.0;
                row[6] = if own { 3.0 } else { 1.0 };
            }
            rows.push(r);
        }
        let mut choices = Vec::new();
        for (case, r) in rows.iter().enumerate() {
            let t = case % 6;
            let closed = Choice {
                rows: r,
                unknown: unknown_features(10, r, None),
                skip: None,
                target: Some(t),
                weight: 1.0,
            };
            let open = Choice {
                unknown: unknown_features(10, r, Some(t)),
                skip: Some(t),
                target: None,
                ..closed.clone()
            };
            choices.push(closed);
            choices.push(open);
        }
        let scale = feature_scale(&choices);
        let mut keep = [false; N_PARAMS];
        keep[7] = true;
        keep[N_FEATURES] = true;
        keep[N_FEATURES + 2] = true;
        let (w, _) = fit(&choices, &scale, 0.1, &keep);
        assert!(w[N_FEATURES + 2] < -1.0, "best fraction matched: {w:?}");
        // The fitted model answers "unknown" in the open copy and the true
        // candidate in the closed one.
        let pc = probabilities(&choices[0], &w);
        let po = probabilities(&choices[1], &w);
        assert!(pc[0] > pc[6], "{pc:?}");
        assert!(po[6] > 0.5, "{po:?}");
    }
}
