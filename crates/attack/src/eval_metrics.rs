//! Ranking and calibration metrics of the report-level evaluation, micro
//! (every case counts once) and macro (every group counts once), with 95 %
//! intervals from a bootstrap that resamples groups: a group's cases share
//! its profile, so they are not independent draws.

use std::collections::BTreeMap;

/// Result of one case for one scorer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseResult {
    /// True group (cluster of the bootstrap).
    pub group: usize,
    /// 1-based rank of the true group.
    pub rank: usize,
    /// The scorer's probability for its leader.
    pub confidence: f64,
}

/// Ranking and calibration summary.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Top-1 hit rate.
    pub top1: f64,
    /// Top-3 hit rate.
    pub top3: f64,
    /// Top-5 hit rate.
    pub top5: f64,
    /// Mean reciprocal rank.
    pub mrr: f64,
    /// Expected calibration error of the leader's probability against
    /// "the leader is the true group", 10 equal-width bins.
    pub ece: f64,
}

impl Summary {
    /// The five values in display order.
    pub fn values(&self) -> [f64; 5] {
        [self.top1, self.top3, self.top5, self.mrr, self.ece]
    }
}

/// Weighted summary: `weight[i]` is the weight of case i (0 leaves it out).
pub fn summarise(results: &[CaseResult], weight: &[f64]) -> Summary {
    let total: f64 = weight.iter().sum();
    if total <= 0.0 {
        return Summary::default();
    }
    let mut s = Summary::default();
    let mut bins = [(0.0f64, 0.0f64, 0.0f64); 10];
    for (r, &w) in results.iter().zip(weight) {
        let hit = |k: usize| if r.rank <= k { w } else { 0.0 };
        s.top1 += hit(1);
        s.top3 += hit(3);
        s.top5 += hit(5);
        s.mrr += w / r.rank as f64;
        let b = ((r.confidence.clamp(0.0, 1.0) * 10.0) as usize).min(9);
        bins[b].0 += w;
        bins[b].1 += w * r.confidence;
        bins[b].2 += hit(1);
    }
    s.top1 /= total;
    s.top3 /= total;
    s.top5 /= total;
    s.mrr /= total;
    s.ece = bins.iter().map(|(_, c, a)| (a - c).abs()).sum::<f64>() / total;
    s
}

/// Case weights for a multiset of groups: `draws[g]` copies of group g;
/// in macro mode each copy of a group weighs 1 in total.
pub fn weights(results: &[CaseResult], draws: &BTreeMap<usize, f64>, macro_avg: bool) -> Vec<f64> {
    let mut per_group: BTreeMap<usize, f64> = BTreeMap::new();
    for r in results {
        *per_group.entry(r.group).or_default() += 1.0;
    }
    results
        .iter()
        .map(|r| {
            let d = draws.get(&r.group).copied().unwrap_or(0.0);
            if macro_avg {
                d / per_group[&r.group]
            } else {
                d
            }
        })
        .collect()
}

/// Groups of the results, each drawn once (the observed sample).
pub fn observed(results: &[CaseResult]) -> BTreeMap<usize, f64> {
    results.iter().map(|r| (r.group, 1.0)).collect()
}

/// Deterministic bootstrap draws of groups (with replacement), the same for
/// every scorer evaluated on the same cases so differences are paired.
pub fn group_draws(results: &[CaseResult], reps: usize, seed: u64) -> Vec<BTreeMap<usize, f64>> {
    let groups: Vec<usize> = observed(results).into_keys().collect();
    let mut rng = SplitMix64(seed);
    (0..reps)
        .map(|_| {
            let mut d = BTreeMap::new();
            for _ in 0..groups.len() {
                let g = groups[(rng.next() % groups.len().max(1) as u64) as usize];
                *d.entry(g).or_default() += 1.0;
            }
            d
        })
        .collect()
}

/// 2.5th and 97.5th percentiles of `values`.
pub fn interval(mut values: Vec<f64>) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    (at(0.025), at(0.975))
}

/// Point estimate and per-draw summaries of one scorer.
pub fn bootstrap(
    results: &[CaseResult],
    draws: &[BTreeMap<usize, f64>],
    macro_avg: bool,
) -> (Summary, Vec<Summary>) {
    let point = summarise(results, &weights(results, &observed(results), macro_avg));
    let reps = draws
        .iter()
        .map(|d| summarise(results, &weights(results, d, macro_avg)))
        .collect();
    (point, reps)
}

/// Small, fixed-seed generator: the report must be reproducible and the
/// crate has no random-number dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn r(group: usize, rank: usize, confidence: f64) -> CaseResult {
        CaseResult {
            group,
            rank,
            confidence,
        }
    }

    #[test]
    fn macro_average_weighs_each_group_once() {
        // Group 0: three hits; group 1: one miss at rank 4.
        let res = [r(0, 1, 0.95), r(0, 1, 0.95), r(0, 1, 0.95), r(1, 4, 0.95)];
        let micro = summarise(&res, &weights(&res, &observed(&res), false));
        let macro_s = summarise(&res, &weights(&res, &observed(&res), true));
        assert!((micro.top1 - 0.75).abs() < 1e-12);
        assert!((macro_s.top1 - 0.5).abs() < 1e-12);
        assert!((macro_s.top5 - 1.0).abs() < 1e-12);
        assert!((macro_s.mrr - 0.625).abs() < 1e-12);
        // One bin at 0.95 confidence, accuracy 0.75 (micro) / 0.5 (macro).
        assert!((micro.ece - 0.2).abs() < 1e-12);
        assert!((macro_s.ece - 0.45).abs() < 1e-12);
    }

    #[test]
    fn bootstrap_resamples_whole_groups() {
        let res = [r(0, 1, 0.5), r(0, 1, 0.5), r(1, 9, 0.5)];
        let draws = group_draws(&res, 200, 7);
        assert!(draws.iter().all(|d| d.values().sum::<f64>() == 2.0));
        let (point, reps) = bootstrap(&res, &draws, false);
        assert!((point.top1 - 2.0 / 3.0).abs() < 1e-12);
        // A draw holds group 0 twice (1.0), group 1 twice (0.0) or one each (2/3).
        let seen: BTreeSet<u64> = reps.iter().map(|s| (s.top1 * 1e6).round() as u64).collect();
        assert_eq!(seen, BTreeSet::from([0, 666_667, 1_000_000]));
        let (lo, hi) = interval(reps.iter().map(|s| s.top1).collect());
        assert!(lo == 0.0 && hi == 1.0);
    }
}
