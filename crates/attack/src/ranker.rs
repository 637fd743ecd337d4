//! The learned ranker (issue 12, item 2): a conditional logit over the
//! candidate actors. P(actor g | evidence) = softmax over the candidates and
//! an "unknown / new cluster" alternative of w·x_g, where x_g are overlap
//! features of the evidence with g's ATT&CK profile ([`FEATURES`]) and w is
//! fitted by maximum likelihood on the leave-one-report-out cases
//! (`kahu-attack-eval --fit`, see `ranker_fit.rs`). The weights are committed
//! in `crates/attack/data/ranker-weights.json` with the command that wrote
//! them.
//!
//! The "unknown" alternative is scored from the amount and quality of the
//! evidence ([`UNKNOWN_FEATURES`]: how many items, how much of the query
//! the best candidate explains, how exclusive its matches are), fitted in
//! the same conditional logit on copies of each case with the true group
//! removed: thin or generic evidence leaves the mass on "unknown", strong
//! evidence for one candidate takes it away.
//!
//! Items are dense indices: techniques first, then software as
//! `techniques.len() + software index`.

pub use crate::ranker_error::WeightsError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

/// Number of overlap features per candidate.
pub const N_FEATURES: usize = 13;

/// Feature names, in weight order (the weight file lists them too, and a
/// file whose names differ is refused).
pub const FEATURES: [&str; N_FEATURES] = [
    "bm25_sources",
    "query_likelihood",
    "naive_bayes",
    "idf_techniques",
    "idf_software",
    "rare_hits",
    "max_idf_hit",
    "fraction_matched",
    "log_profile_size",
    "best_single_report",
    "software_implied_idf",
    "log_hits",
    "log_reports",
];

/// Number of features of the "unknown / new cluster" alternative.
pub const N_UNKNOWN: usize = 6;

/// The unknown alternative's features, in weight order. They describe the
/// query and the best candidates among those ranked (each a maximum over
/// the candidates' [`FEATURES`], so removing the true group, as the
/// open-set training copies do, lowers them):
/// - `intercept`: 1;
/// - `log_items`: ln(1 + evidence items);
/// - `best_fraction_matched`: the largest share of the items one candidate's profile holds;
/// - `best_idf_per_item`: the largest IDF overlap (techniques + software) of one candidate, divided by the items: low when only generic items match;
/// - `best_log_idf_overlap`: ln(1 + that largest IDF overlap);
/// - `best_max_idf_hit`: the most exclusive item any candidate matches.
pub const UNKNOWN_FEATURES: [&str; N_UNKNOWN] = [
    "intercept",
    "log_items",
    "best_fraction_matched",
    "best_idf_per_item",
    "best_log_idf_overlap",
    "best_max_idf_hit",
];

/// The unknown alternative's features for a query of `query_len` items
/// whose candidates have the feature `rows` (row `skip` left out: the
/// open-set training copy without the true group).
pub fn unknown_features(
    query_len: usize,
    rows: &[[f64; N_FEATURES]],
    skip: Option<usize>,
) -> [f64; N_UNKNOWN] {
    let mut best_fraction = 0.0f64;
    let mut best_idf = 0.0f64;
    let mut best_hit = 0.0f64;
    for (k, r) in rows.iter().enumerate() {
        if Some(k) == skip {
            continue;
        }
        best_fraction = best_fraction.max(r[7]);
        best_idf = best_idf.max(r[3] + r[4]);
        best_hit = best_hit.max(r[6]);
    }
    let q = query_len as f64;
    [
        1.0,
        (1.0 + q).ln(),
        best_fraction,
        if q > 0.0 { best_idf / q } else { 0.0 },
        (1.0 + best_idf).ln(),
        best_hit,
    ]
}

/// BM25 term-frequency saturation (as the evaluation's BM25 baseline).
const BM25_K1: f64 = 1.2;
/// BM25 length normalisation.
const BM25_B: f64 = 0.75;
/// An item used by at most this many groups is "rare".
const RARE_DF: u32 = 2;

/// One actor's ATT&CK profile as the features see it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ActorItems {
    /// Item → the distinct reports (source indices) citing it for the actor.
    pub items: HashMap<u32, Vec<u32>>,
    /// Techniques implemented by the actor's software but not in its profile.
    pub implied: HashSet<u32>,
    /// Distinct reports citing any of the actor's items.
    pub reports: usize,
}

impl ActorItems {
    /// Term frequency of an item: its number of independent reports, at
    /// least 1 (an uncited relation still puts the item in the profile).
    fn tf(sources: &[u32]) -> f64 {
        sources.len().max(1) as f64
    }
}

/// Collection statistics shared by every candidate of one model.
#[derive(Debug, Clone, Default)]
pub(crate) struct FeatureModel {
    actors: Vec<ActorItems>,
    lengths: Vec<f64>,
    n_techniques: usize,
    /// Number of ATT&CK groups (IDF denominator).
    n_groups: f64,
    df: Vec<u32>,
    /// Collection frequency of each item (Σ tf over actors).
    cf: Vec<f64>,
    total_length: f64,
    mean_length: f64,
    vocabulary: f64,
}

impl FeatureModel {
    /// Statistics over `actors` (all candidates; profile-only actors have
    /// empty item sets). `n_items` = techniques + software of the KB.
    pub(crate) fn new(
        actors: Vec<ActorItems>,
        n_techniques: usize,
        n_items: usize,
        n_groups: u32,
    ) -> FeatureModel {
        let mut df = vec![0u32; n_items];
        let mut cf = vec![0.0; n_items];
        let mut lengths = Vec::with_capacity(actors.len());
        for a in &actors {
            let mut len = 0.0;
            // Sorted so the sums do not depend on hash order.
            let mut keys: Vec<&u32> = a.items.keys().collect();
            keys.sort_unstable();
            for i in keys {
                let tf = ActorItems::tf(&a.items[i]);
                df[*i as usize] += 1;
                cf[*i as usize] += tf;
                len += tf;
            }
            lengths.push(len);
        }
        let total_length: f64 = lengths.iter().sum();
        let with = lengths.iter().filter(|&&l| l > 0.0).count().max(1) as f64;
        FeatureModel {
            actors,
            mean_length: (total_length / with).max(1.0),
            lengths,
            n_techniques,
            n_groups: f64::from(n_groups.max(1)),
            df,
            cf,
            total_length,
            vocabulary: n_items.max(1) as f64,
        }
    }

    fn idf(&self, item: u32) -> f64 {
        (self.n_groups / f64::from(self.df[item as usize].max(1)))
            .ln()
            .max(0.0)
    }

    /// The features of actor `a` for the (deduplicated) query `items`.
    pub(crate) fn features(&self, a: usize, query: &[u32]) -> [f64; N_FEATURES] {
        let mut f = [0.0; N_FEATURES];
        let Some(actor) = self.actors.get(a) else {
            return f;
        };
        let len = self.lengths[a];
        let n_items = actor.items.len() as f64;
        let norm = 1.0 - BM25_B + BM25_B * len / self.mean_length;
        let mu = self.mean_length;
        let mut hits = 0usize;
        let mut by_report: HashMap<u32, f64> = HashMap::new();
        for &i in query {
            let Some(&df) = self.df.get(i as usize) else {
                continue;
            };
            let idf = self.idf(i);
            let tf = match actor.items.get(&i) {
                Some(sources) => {
                    let tf = ActorItems::tf(sources);
                    hits += 1;
                    let df = f64::from(df);
                    f[0] +=
                        (1.0 + (self.n_groups - df + 0.5) / (df + 0.5)).ln() * tf * (BM25_K1 + 1.0)
                            / (tf + BM25_K1 * norm);
                    if (i as usize) < self.n_techniques {
                        f[3] += idf;
                    } else {
                        f[4] += idf;
                    }
                    if self.df[i as usize] <= RARE_DF {
                        f[5] += 1.0;
                    }
                    f[6] = f[6].max(idf);
                    for s in sources.iter().collect::<BTreeSet<_>>() {
                        *by_report.entry(*s).or_default() += idf;
                    }
                    tf
                }
                None => {
                    if actor.implied.contains(&i) {
                        f[10] += idf;
                    }
                    0.0
                }
            };
            // Dirichlet-smoothed query likelihood, minus the part that is
            // the same for every actor: Σ ln(1 + tf / (μ p(i|C))) + |q| ln(μ / (len + μ)).
            let background =
                (self.cf[i as usize] + 0.5) / (self.total_length + 0.5 * self.vocabulary);
            f[1] += (1.0 + tf / (mu * background)).ln();
            // Multinomial naive Bayes on presence with Laplace smoothing,
            // scaled by the vocabulary so that an empty profile scores 0.
            let present = if tf > 0.0 { 1.0 } else { 0.0 };
            f[2] += ((present + 1.0) * self.vocabulary / (n_items + self.vocabulary)).ln();
        }
        let q = query.len() as f64;
        f[1] += q * (mu / (len + mu)).ln();
        f[7] = if q > 0.0 { hits as f64 / q } else { 0.0 };
        f[8] = (1.0 + n_items).ln();
        f[9] = by_report.values().copied().fold(0.0, f64::max);
        f[11] = (1.0 + hits as f64).ln();
        // How much the actor has been reported on: a prior. A new report is
        // more often about a group many reports describe (held out this
        // helped micro top-1 and techniques-only top-1, macro a little less).
        f[12] = (1.0 + actor.reports as f64).ln();
        f
    }
}

/// The fitted weights, as committed in `crates/attack/data/ranker-weights.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankerWeights {
    /// Format tag.
    pub format: String,
    /// The command that wrote the file.
    pub command: String,
    /// When it was written (UTC).
    pub fitted_at: String,
    /// `modified` of the ATT&CK bundle the cases came from.
    pub bundle_modified: String,
    /// Training cases (closed-set, each also used open-set).
    pub cases: usize,
    /// L2 penalty on the standardised weights.
    pub l2: f64,
    /// Feature names, in the order of `weights`.
    pub features: Vec<String>,
    /// Weight of each raw feature (logit units per unit of the feature).
    pub weights: Vec<f64>,
    /// Names of the "unknown / new cluster" alternative's features
    /// ([`UNKNOWN_FEATURES`]).
    pub unknown_features: Vec<String>,
    /// Their weights, fitted on the same cases with the true group removed
    /// (where "unknown" is the right answer).
    pub unknown_weights: Vec<f64>,
}

/// Format tag of the weight file (2: the unknown logit depends on the
/// evidence; 1 had one constant `unknown_logit`).
pub const WEIGHTS_FORMAT: &str = "kahu-ranker-weights/2";

const SHIPPED: &str = include_str!("../data/ranker-weights.json");

impl RankerWeights {
    /// Parse and check a weight file.
    pub fn from_json(text: &str) -> Result<RankerWeights, WeightsError> {
        let w: RankerWeights = serde_json::from_str(text)?;
        if w.format != WEIGHTS_FORMAT {
            return Err(WeightsError::Format(w.format));
        }
        if w.features != FEATURES || w.weights.len() != N_FEATURES {
            return Err(WeightsError::Features(w.features));
        }
        if w.unknown_features != UNKNOWN_FEATURES || w.unknown_weights.len() != N_UNKNOWN {
            return Err(WeightsError::UnknownFeatures(w.unknown_features));
        }
        if !w
            .weights
            .iter()
            .chain(&w.unknown_weights)
            .all(|x| x.is_finite())
        {
            return Err(WeightsError::NonFinite);
        }
        Ok(w)
    }

    /// The weights compiled into this build.
    pub fn shipped() -> &'static RankerWeights {
        static W: OnceLock<RankerWeights> = OnceLock::new();
        W.get_or_init(|| {
            // The file is part of the source tree and checked by a test.
            RankerWeights::from_json(SHIPPED).expect("crates/attack/data/ranker-weights.json")
        })
    }

    /// w·x.
    pub fn score(&self, x: &[f64; N_FEATURES]) -> f64 {
        self.weights.iter().zip(x).map(|(w, x)| w * x).sum()
    }

    /// Logit of the unknown alternative for its features `z`.
    pub fn unknown_score(&self, z: &[f64; N_UNKNOWN]) -> f64 {
        self.unknown_weights.iter().zip(z).map(|(w, z)| w * z).sum()
    }

    /// The unknown logit, feature by feature (they sum to it).
    pub fn unknown_contributions(&self, z: &[f64; N_UNKNOWN]) -> Vec<Contribution> {
        UNKNOWN_FEATURES
            .iter()
            .zip(&self.unknown_weights)
            .zip(z)
            .map(|((f, &weight), &value)| Contribution {
                feature: f.to_string(),
                value,
                weight,
                contribution: weight * value,
            })
            .collect()
    }
}

/// One feature's part of a candidate's learned score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// Feature name ([`FEATURES`], or `analyst_profile` for profile evidence).
    pub feature: String,
    /// The feature's value for this candidate.
    pub value: f64,
    /// Its weight.
    pub weight: f64,
    /// weight × value: the candidate's score is the sum of these.
    pub contribution: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(items: &[(u32, &[u32])], implied: &[u32]) -> ActorItems {
        let reports: BTreeSet<u32> = items.iter().flat_map(|(_, s)| s.iter().copied()).collect();
        ActorItems {
            items: items.iter().map(|(i, s)| (*i, s.to_vec())).collect(),
            implied: implied.iter().copied().collect(),
            reports: reports.len(),
        }
    }

    #[test]
    fn shipped_weights_parse_and_match_the_features() {
        let w = RankerWeights::shipped();
        assert_eq!(w.features, FEATURES);
        let mut bad = w.clone();
        bad.features.swap(0, 1);
        let text = serde_json::to_string(&bad).unwrap();
        assert!(RankerWeights::from_json(&text).is_err());
        assert_eq!(w.unknown_features, UNKNOWN_FEATURES);
        let mut bad = w.clone();
        bad.unknown_weights.pop();
        let text = serde_json::to_string(&bad).unwrap();
        assert!(RankerWeights::from_json(&text).is_err());
    }

    #[test]
    fn unknown_features_describe_the_best_remaining_candidates() {
        let mut a = [0.0; N_FEATURES];
        a[3] = 4.0;
        a[4] = 2.0;
        a[6] = 3.0;
        a[7] = 0.75;
        let mut b = [0.0; N_FEATURES];
        b[3] = 1.0;
        b[6] = 0.5;
        b[7] = 0.25;
        let rows = [a, b];
        let z = unknown_features(4, &rows, None);
        assert_eq!(z[0], 1.0);
        assert!((z[1] - 5.0f64.ln()).abs() < 1e-12);
        assert_eq!(z[2], 0.75);
        assert!((z[3] - 1.5).abs() < 1e-12, "6 IDF over 4 items: {z:?}");
        assert!((z[4] - 7.0f64.ln()).abs() < 1e-12);
        assert_eq!(z[5], 3.0);
        // Without the first candidate, only the second's evidence is left.
        let open = unknown_features(4, &rows, Some(0));
        assert_eq!(open[2], 0.25);
        assert!((open[3] - 0.25).abs() < 1e-12);
        assert_eq!(open[5], 0.5);
        assert_eq!(
            unknown_features(0, &[], None),
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn features_follow_the_overlap() {
        // Items 0..4 are techniques, 4.. software. Actor 0 has items 0, 1 (two
        // reports) and software 4; actor 1 has item 0 and implies item 2.
        let actors = vec![
            actor(&[(0, &[7]), (1, &[7, 8]), (4, &[8])], &[]),
            actor(&[(0, &[9])], &[2]),
            actor(&[], &[]),
        ];
        let m = FeatureModel::new(actors, 4, 6, 3);
        let q = [0, 1, 2, 4];
        let a = m.features(0, &q);
        let b = m.features(1, &q);
        let empty = m.features(2, &q);
        let idf1 = (3.0f64).ln();
        assert!((a[3] - (idf1 + (1.5f64).ln())).abs() < 1e-12, "{a:?}");
        assert!((a[4] - idf1).abs() < 1e-12);
        assert_eq!(a[5], 3.0, "items 0, 1 and 4 are used by at most two groups");
        assert!((a[7] - 0.75).abs() < 1e-12);
        // Report 7 supports items 0 and 1, report 8 items 1 and 4.
        assert!((a[9] - 2.0 * idf1).abs() < 1e-12);
        assert!((b[10] - idf1).abs() < 1e-12, "implied by software: {b:?}");
        // Two reports (7, 8) against one (9).
        assert!((a[12] - 3.0f64.ln()).abs() < 1e-12);
        assert!((b[12] - 2.0f64.ln()).abs() < 1e-12);

        assert_eq!(b[9], (1.5f64).ln());
        assert!(a[0] > b[0] && b[0] > 0.0);
        // Query likelihood of actor 1 (length 1, mean length 2.5, item 0's
        // collection share (2 + 0.5) / (5 + 0.5 × 6)): the match, minus the
        // smoothing of four query items.
        let ql = (1.0f64 + 1.0 / (2.5 * 2.5 / 8.0)).ln() + 4.0 * (2.5f64 / 3.5).ln();
        assert!((b[1] - ql).abs() < 1e-12, "{b:?}");
        assert_eq!(empty[0], 0.0);
        assert_eq!(empty[1], 0.0);
        assert!(empty[2].abs() < 1e-12);
    }
}
