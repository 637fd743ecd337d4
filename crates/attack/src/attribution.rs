//! Ranked, explained attribution results.

use crate::evidence::CaseEvidence;
use crate::kb::KnowledgeBase;
use crate::likelihood::{Confidence, Likelihood};
use crate::profile::ActorProfile;
use crate::ranker::{Contribution, FEATURES, N_FEATURES, RankerWeights, unknown_features};
use crate::score::{Attributor, Exclusions, Params};
use serde::Serialize;

/// Kind of an evidence item in an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// Technique in the actor's ATT&CK profile.
    Technique,
    /// Parent or sibling sub-technique in the profile.
    RelatedTechnique,
    /// Technique implemented by the actor's software.
    SoftwareImpliedTechnique,
    /// ATT&CK software.
    Software,
    /// Exploited CVE.
    Cve,
    /// Infrastructure indicator or kind.
    Infrastructure,
    /// Tool name from a profile.
    Tooling,
    /// Victim sector.
    Sector,
    /// Victim country.
    Region,
    /// Port of note.
    Port,
    /// Activity period.
    Time,
}

impl EvidenceKind {
    /// Coarse evidence type for diversity counting.
    pub fn family(self) -> &'static str {
        match self {
            EvidenceKind::Technique
            | EvidenceKind::RelatedTechnique
            | EvidenceKind::SoftwareImpliedTechnique => "technique",
            EvidenceKind::Software | EvidenceKind::Tooling => "software",
            EvidenceKind::Cve => "vulnerability",
            EvidenceKind::Infrastructure | EvidenceKind::Port => "infrastructure",
            EvidenceKind::Sector | EvidenceKind::Region => "victimology",
            EvidenceKind::Time => "time",
        }
    }
}

/// One piece of evidence for or against a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceItem {
    /// Kind.
    pub kind: EvidenceKind,
    /// The observed value (`T1505.003`, `S0020`, `CVE-2021-44228`).
    pub id: String,
    /// Explanation with exclusivity (`… used by 23/172 groups`).
    pub detail: String,
    /// Contribution to the score (negative when against).
    pub weight: f64,
}

impl EvidenceItem {
    pub(crate) fn new(kind: EvidenceKind, id: &str, detail: String, weight: f64) -> EvidenceItem {
        EvidenceItem {
            kind,
            id: id.to_string(),
            detail,
            weight: (weight * 1000.0).round() / 1000.0,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Explain {
    pub supporting: Vec<EvidenceItem>,
    pub contradicting: Vec<EvidenceItem>,
    pub unexplained: Vec<String>,
    pub absent_penalty: f64,
}

/// A technique to hunt for next.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HuntItem {
    /// Technique id.
    pub technique: String,
    /// Name.
    pub name: String,
    /// Tactics.
    pub tactics: Vec<String>,
    /// How many groups use it (fewer = more telling if found).
    pub groups_using: u32,
}

/// A ranked candidate actor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// 1-based rank.
    pub rank: usize,
    /// ATT&CK group id (or a profile's local id).
    pub id: String,
    /// Name.
    pub name: String,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Ranking score: with the learned ranker (the default) its logit, the
    /// sum of `contributions`; with `Params::learned_ranker` off the IDF sum
    /// of the evidence weights.
    pub score: f64,
    /// The learned ranker's score, feature by feature (weight × value),
    /// plus the analyst-profile evidence; they sum to `score`. Empty when
    /// the learned ranker is off.
    pub contributions: Vec<crate::ranker::Contribution>,
    /// Calibrated probability that this actor is responsible.
    pub likelihood: f64,
    /// ICD 203 expression of `likelihood`.
    pub likelihood_words: Likelihood,
    /// Whether an analyst profile contributed.
    pub profiled: bool,
    /// Evidence for, strongest first.
    pub supporting: Vec<EvidenceItem>,
    /// Evidence against.
    pub contradicting: Vec<EvidenceItem>,
    /// Observed techniques/software this actor does not explain.
    pub unexplained: Vec<String>,
    /// Score subtracted for expected techniques not observed.
    pub absent_penalty: f64,
    /// The actor's techniques not yet observed, most exclusive first: a hunting checklist.
    pub hunt_next: Vec<HuntItem>,
    /// Whether any observed item counts for this actor (a learned score can
    /// be positive or negative, so its sign does not say).
    #[serde(skip)]
    pub has_support: bool,
}

/// Overall judgment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// The leading candidate is more likely than "unknown".
    Attributed {
        /// Group id.
        id: String,
        /// Group name.
        name: String,
    },
    /// No known actor fits better than an unknown / new cluster.
    UnknownCluster,
    /// Nothing scoreable was observed.
    InsufficientEvidence,
}

/// Below this likelihood the leader is not named even when it beats the
/// unknown hypothesis: it is one of many near-ties (ICD 203 "very
/// unlikely" band ends at 20 %).
pub const MIN_ATTRIBUTION: f64 = 0.20;

/// Options for a ranking.
#[derive(Debug, Clone)]
pub struct RankOptions {
    /// Candidates to return (with full explanations).
    pub top: usize,
    /// Hunting checklist length per candidate.
    pub hunt_len: usize,
    /// Model parameters.
    pub params: Params,
    /// What to leave out of the model.
    pub exclusions: Exclusions,
}

impl Default for RankOptions {
    fn default() -> Self {
        RankOptions {
            top: 5,
            hunt_len: 15,
            params: Params::default(),
            exclusions: Exclusions::default(),
        }
    }
}

/// Summary of what was scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceSummary {
    /// Known techniques scored.
    pub techniques: usize,
    /// Known software scored.
    pub software: usize,
    /// CVEs, IPs, domains given.
    pub cves: usize,
    /// Infrastructure items given, attributed indicators matched included.
    pub infrastructure: usize,
    /// Ids not in this ATT&CK release (ignored).
    pub unknown_ids: Vec<String>,
    /// Revoked ids mapped to their replacements.
    pub remapped: Vec<(String, String)>,
    /// Groups named by detection rules (not scored).
    pub group_hints: Vec<String>,
    /// Tags and findings left out before scoring, with the reason.
    #[serde(default)]
    pub discounted: Vec<String>,
}

/// The result of ranking candidate actors for one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribution {
    /// ATT&CK release used.
    pub attack_version: String,
    /// Overall judgment.
    pub outcome: Outcome,
    /// Likelihood that the actor is none of the candidates (unknown / new cluster).
    pub likelihood_unknown: f64,
    /// ICD 203 expression of `likelihood_unknown`.
    pub likelihood_unknown_words: Likelihood,
    /// With the learned ranker: the unknown alternative's logit, feature by
    /// feature (the number of evidence items and how well the best
    /// candidates explain them; they sum to the logit before the safety
    /// layers). Empty when the learned ranker is off.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_contributions: Vec<Contribution>,
    /// Analytic confidence in the outcome.
    pub confidence: Confidence,
    /// Top candidates, best first.
    pub candidates: Vec<Candidate>,
    /// What was scored.
    pub evidence: EvidenceSummary,
    /// Number of actors ranked.
    pub actors_ranked: usize,
    /// What the reader must keep in mind about this ranking (profile
    /// coverage, intelligence-based evidence), in plain words.
    pub caveats: Vec<String>,
}

impl Attribution {
    /// Build the model and rank once (convenience; reuse an [`Attributor`] for many cases).
    pub fn rank(
        kb: &KnowledgeBase,
        profiles: &[ActorProfile],
        evidence: &CaseEvidence,
        opts: &RankOptions,
    ) -> Attribution {
        Attributor::new(kb, profiles, &opts.exclusions, &opts.params).rank(evidence, opts)
    }
}

/// Raw scores of every actor (ids and scores, unsorted) and the unknown hypothesis score.
#[derive(Debug, Clone)]
pub struct RawScores {
    /// (actor id, score).
    pub scores: Vec<(String, f64)>,
    /// Score of "unknown".
    pub unknown: f64,
}

/// How much a ranking on `items` scored evidence items may say (0–1).
pub fn evidence_weight(items: usize, full: f64) -> f64 {
    if full > 0.0 {
        (items as f64 / full).min(1.0)
    } else {
        1.0
    }
}

/// Softmax over actor scores plus the unknown hypothesis; returns
/// (likelihood per actor, likelihood of unknown).
pub fn likelihoods(scores: &[f64], unknown: f64, temperature: f64) -> (Vec<f64>, f64) {
    let t = if temperature.is_finite() && temperature > 1e-6 {
        temperature
    } else {
        1.0
    };
    let m = scores.iter().copied().fold(unknown, f64::max);
    let e: Vec<f64> = scores.iter().map(|s| ((s - m) / t).exp()).collect();
    let eu = ((unknown - m) / t).exp();
    let z: f64 = e.iter().sum::<f64>() + eu;
    (e.iter().map(|x| x / z).collect(), eu / z)
}

impl Attributor<'_> {
    /// Each actor's profile score for `ev` in model order, in two parts:
    /// (CVEs, tools and ports; attributed indicators, infrastructure,
    /// victims and time), as `Params::fact_logit_scale` and
    /// `Params::profile_logit_scale` multiply them in the learned ranker's
    /// logit (the first scale's fit is in `kahu-attack-eval`).
    pub fn profile_scores(&self, ev: &CaseEvidence, p: &Params) -> Vec<(f64, f64)> {
        let r = self.resolve(ev, p);
        let l = self.listing(ev);
        self.actors
            .iter()
            .map(|a| self.profile_score_parts(a, ev, &r, &l, p, None))
            .collect()
    }

    /// Scores of every actor for `ev` without explanations (fast path for evaluation).
    pub fn raw_scores(&self, ev: &CaseEvidence, p: &Params) -> RawScores {
        let r = self.resolve(ev, p);
        let l = self.listing(ev);
        let scores = self
            .actors
            .iter()
            .map(|a| {
                (
                    a.id.clone(),
                    self.attack_score(a, &r, p, None) + self.profile_score(a, ev, &r, &l, p, None),
                )
            })
            .collect();
        RawScores {
            scores,
            unknown: p.unknown_fraction * r.max_attack,
        }
    }

    /// Rank all actors for `ev` and explain the top ones.
    pub fn rank(&self, ev: &CaseEvidence, opts: &RankOptions) -> Attribution {
        let p = &opts.params;
        let r = self.resolve(ev, p);
        let l = self.listing(ev);
        let t = Attributor::effective_temperature(p, r.max_attack);
        let learned = p.learned_ranker.then(RankerWeights::shipped);
        let query = self.query_items(&r);
        let parts: Vec<(f64, f64)> = self
            .actors
            .iter()
            .map(|a| self.profile_score_parts(a, ev, &r, &l, p, None))
            .collect();
        let profile: Vec<f64> = parts.iter().map(|(f, o)| o + f).collect();
        let rows: Vec<[f64; N_FEATURES]> = match learned {
            Some(_) => (0..self.actors.len())
                .map(|a| self.features.features(a, &query))
                .collect(),
            None => Vec::new(),
        };
        // The unknown alternative's features: how much evidence there is and
        // how well the best candidates explain it (ranker.rs).
        let z = unknown_features(query.len(), &rows, None);
        let (scores, unknown, softmax_t): (Vec<f64>, f64, f64) = match learned {
            // Profile evidence is added as a log-likelihood ratio: CVEs,
            // tools and ports at the fitted `Params::fact_logit_scale`, the
            // rest (infrastructure, indicators, victims…) at
            // `Params::profile_logit_scale`.
            Some(w) => (
                rows.iter()
                    .zip(&parts)
                    .map(|(x, (f, o))| {
                        w.score(x) + f * p.fact_logit_scale + o * p.profile_logit_scale
                    })
                    .collect(),
                w.unknown_score(&z),
                1.0,
            ),
            None => (
                self.actors
                    .iter()
                    .zip(&profile)
                    .map(|(a, ps)| self.attack_score(a, &r, p, None) + ps)
                    .collect(),
                p.unknown_fraction * r.max_attack,
                t,
            ),
        };
        let (mut lik, mut lik_unknown) = likelihoods(&scores, unknown, softmax_t);
        let items = r.techs.len() + r.sws.len() + ev.cves.len() + ev.attributed_indicators.len();
        let thin = evidence_weight(items, p.full_evidence_items);
        if thin < 1.0 {
            let named: f64 = lik.iter().sum();
            lik.iter_mut().for_each(|l| *l *= thin);
            lik_unknown += named * (1.0 - thin);
        }
        // An actor supported by technique overlap alone keeps only part of
        // its likelihood; the rest moves to "unknown" (Params doc).
        let lone_share = p.techniques_only_weight.clamp(0.0, 1.0);
        let corroborated = self.corroborated(ev, &r, &l, p);
        if lone_share < 1.0 {
            for (l, &c) in lik.iter_mut().zip(&corroborated) {
                if !c {
                    lik_unknown += *l * (1.0 - lone_share);
                    *l *= lone_share;
                }
            }
        }
        // Candidates are listed by the likelihood they are shown with: an
        // actor corroborated by a CVE or rare software keeps its full share
        // and may pass one with a higher overlap score that does not, and a
        // list whose first line is less likely than its fifth reads wrong.
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| {
            lik[b]
                .total_cmp(&lik[a])
                .then_with(|| scores[b].total_cmp(&scores[a]))
                .then_with(|| self.actors[a].id.cmp(&self.actors[b].id))
        });
        let candidates: Vec<Candidate> = order
            .iter()
            .take(opts.top)
            .enumerate()
            .map(|(rank, &ai)| {
                let a = &self.actors[ai];
                let mut ex = Explain::default();
                self.attack_score(a, &r, p, Some(&mut ex));
                self.profile_score(a, ev, &r, &l, p, Some(&mut ex));
                ex.supporting.sort_by(|x, y| y.weight.total_cmp(&x.weight));
                let hunt = self.hunt_next(a, &r, ev, opts.hunt_len);
                let contributions = learned
                    .map(|w| contributions(w, &rows[ai], parts[ai], p))
                    .unwrap_or_default();
                let has_support = ex.supporting.iter().any(|i| i.weight > 0.0);
                Candidate {
                    rank: rank + 1,
                    id: a.id.clone(),
                    name: a.name.clone(),
                    aliases: a.aliases.clone(),
                    score: (scores[ai] * 1000.0).round() / 1000.0,
                    contributions,
                    has_support,
                    likelihood: lik[ai],
                    likelihood_words: Likelihood::from_probability(lik[ai]),
                    profiled: a.profile.is_some(),
                    supporting: ex.supporting,
                    contradicting: ex.contradicting,
                    unexplained: ex.unexplained,
                    absent_penalty: (ex.absent_penalty * 1000.0).round() / 1000.0,
                    hunt_next: hunt,
                }
            })
            .collect();
        let empty = r.techs.is_empty() && r.sws.is_empty() && !ev_has_profile_evidence(ev);
        let (outcome, confidence) = judge(&candidates, lik_unknown, empty);
        let mut confidence = confidence;
        let lead_alone = order.first().is_some_and(|&i| !corroborated[i]);
        if lead_alone && lone_share < 1.0 && !r.techs.is_empty() {
            confidence.reasons.push(format!(
                "the leading candidate is supported by ATT&CK techniques alone: technique overlap cannot name an author (held out, the leader on techniques alone was right about one time in five), so {:.0} % of its weight stays on an unknown actor until its software, a CVE it exploits, its infrastructure or an intelligence attribution corroborates it",
                (1.0 - lone_share) * 100.0
            ));
        }
        if thin < 1.0 {
            confidence.reasons.push(format!(
                "only {items} scored evidence item(s): {:.0} % of the weight stays on an unknown actor until more evidence is found",
                (1.0 - thin) * 100.0
            ));
        }
        Attribution {
            attack_version: self.kb.version().to_string(),
            outcome,
            likelihood_unknown: lik_unknown,
            likelihood_unknown_words: Likelihood::from_probability(lik_unknown),
            unknown_contributions: learned
                .map(|w| w.unknown_contributions(&z))
                .unwrap_or_default(),
            confidence,
            candidates,
            evidence: EvidenceSummary {
                techniques: r.techs.len(),
                software: r.sws.len(),
                cves: ev.cves.len(),
                // Indicators a partner attributes are infrastructure
                // evidence too: scored as such, so counted as such.
                infrastructure: ev.ips.len()
                    + ev.domains.len()
                    + ev.asns.len()
                    + ev.infrastructure_kinds.len()
                    + ev.attributed_indicators.len(),
                unknown_ids: r.unknown.clone(),
                remapped: r.remapped.clone(),
                group_hints: ev.group_hints.iter().cloned().collect(),
                discounted: ev.discounted.clone(),
            },
            actors_ranked: self.actors.len(),
            caveats: self.caveats(ev, &r),
        }
    }

    /// Techniques `a` is known for that the case has not shown (no member
    /// of their family observed, visible on the case's platforms), rarest
    /// first: where to look next if the hypothesis is right.
    fn hunt_next(
        &self,
        a: &crate::score::Actor,
        r: &crate::score::Resolved,
        ev: &CaseEvidence,
        len: usize,
    ) -> Vec<HuntItem> {
        let d = self.kb.data();
        let mut hunt: Vec<HuntItem> = a
            .model
            .direct
            .keys()
            .filter(|&&t| !r.observed_fam[self.parent[t as usize] as usize])
            .filter(|&&t| visible(&d.techniques[t as usize], &ev.platforms))
            .map(|&t| {
                let te = &d.techniques[t as usize];
                HuntItem {
                    technique: te.id.clone(),
                    name: te.name.clone(),
                    tactics: te.tactics.clone(),
                    groups_using: self.df[t as usize],
                }
            })
            .collect();
        hunt.sort_by(|x, y| {
            x.groups_using
                .cmp(&y.groups_using)
                .then_with(|| x.technique.cmp(&y.technique))
        });
        hunt.truncate(len);
        hunt
    }

    /// Per actor: is it supported by more than technique overlap — its own
    /// rare software (used by at most 5 % of groups: Mimikatz or PsExec,
    /// used by dozens, says no more than a technique), or profile evidence other than victimology, time or ports
    /// (a CVE it exploits, its infrastructure, its tools, an intelligence
    /// attribution)? Victimology fits many actors and is scored as such.
    fn corroborated(
        &self,
        ev: &CaseEvidence,
        r: &crate::score::Resolved,
        l: &crate::profile_score::Listing,
        p: &Params,
    ) -> Vec<bool> {
        let strong = Params {
            victim_weight: 0.0,
            time_weight: 0.0,
            ..*p
        };
        let rare_software = (self.n_groups / 20).max(3);
        self.actors
            .iter()
            .map(|a| {
                r.sws.iter().any(|&sw| {
                    a.model.software.contains_key(&sw) && self.df_sw[sw as usize] <= rare_software
                }) || self.profile_score(a, ev, r, l, &strong, None) > 0.0
            })
            .collect()
    }

    fn caveats(&self, ev: &CaseEvidence, r: &crate::score::Resolved) -> Vec<String> {
        let mut out = Vec::new();
        let profile_evidence = !(ev.cves.is_empty()
            && ev.ips.is_empty()
            && ev.domains.is_empty()
            && ev.asns.is_empty()
            && ev.infrastructure_kinds.is_empty()
            && ev.tools.is_empty()
            && ev.sectors.is_empty()
            && ev.regions.is_empty()
            && ev.ports.is_empty());
        let profiled = self.actors.iter().filter(|a| a.profile.is_some()).count();
        let analyst: Vec<String> = self
            .actors
            .iter()
            .filter(|a| a.profile.is_some_and(|pi| self.profiles[pi].analyst))
            .map(|a| format!("{} {}", a.id, a.name))
            .collect();
        if profile_evidence && profiled > 0 {
            let unprofiled = self.actors.len() - profiled;
            out.push(format!(
                "CVE, infrastructure, tooling, victim and port evidence can only be credited to the {profiled} actor(s) with a profile{}. Profiles of {} actor(s) were written by analysts ({}); the others hold generated facts (CVEs, ports and tools named in ATT&CK descriptions, victimology from the MISP galaxy and Tidal), which are incomplete and name no infrastructure. Load profiles for other hypotheses (--profile) to test them on the same footing.",
                if unprofiled > 0 {
                    format!("; the other {unprofiled} are scored on ATT&CK techniques and software alone")
                } else {
                    String::new()
                },
                analyst.len(),
                if analyst.is_empty() {
                    "none".to_string()
                } else {
                    analyst.join(", ")
                }
            ));
        }
        if !r.intel.is_empty() {
            out.push(
                "Indicators attributed to actors by an intelligence feed count as infrastructure overlap; the attribution is only as good as the feed's own.".into(),
            );
        }
        out
    }
}

/// Could evidence from `platforms` show technique `t`? Yes when either is
/// unknown (empty), else when they share a platform: a hunt for a cloud
/// technique (T1078.004 Cloud Accounts, T1530 Data from Cloud Storage) in
/// Windows, web and Zeek logs cannot succeed. Of ATT&CK's `PRE` techniques
/// only reconnaissance against the victim (scanning, searching its sites)
/// can leave traces in its logs; resource development (buying domains,
/// developing exploits) happens on the attacker's side and is never
/// suggested once the evidence's platforms are known.
fn visible(t: &crate::kb::Technique, platforms: &std::collections::BTreeSet<String>) -> bool {
    if platforms.is_empty() || t.platforms.is_empty() {
        return true;
    }
    t.platforms.iter().any(|p| {
        platforms.contains(p) && (p != "PRE" || t.tactics.iter().any(|x| x == "reconnaissance"))
    })
}

/// The outcome the ranked candidates support (a name only when the leader
/// beats "unknown", reaches `MIN_ATTRIBUTION` and has support) and the
/// basis of the confidence in it. `empty`: no evidence to rank on.
fn judge(candidates: &[Candidate], lik_unknown: f64, empty: bool) -> (Outcome, Confidence) {
    let top = candidates.first();
    let outcome = match top {
        _ if empty => Outcome::InsufficientEvidence,
        Some(c)
            if c.likelihood > lik_unknown && c.likelihood >= MIN_ATTRIBUTION && c.has_support =>
        {
            Outcome::Attributed {
                id: c.id.clone(),
                name: c.name.clone(),
            }
        }
        _ => Outcome::UnknownCluster,
    };
    let confidence = match (&outcome, top) {
        (Outcome::Attributed { .. }, Some(c)) => {
            let runner_up = candidates.get(1).map_or(0.0, |c| c.likelihood);
            let second = runner_up.max(lik_unknown);
            // The margin is read against what the reader is shown next, so
            // say which hypothesis it is (an unknown actor often leads the
            // named runner-up).
            let next = match candidates.get(1) {
                Some(r) if runner_up >= lik_unknown => format!("{} ({})", r.name, r.id),
                _ => "an actor not in the knowledge base".to_string(),
            };
            let items = c.supporting.iter().filter(|i| i.weight > 0.0).count();
            let mut types: Vec<&str> = c
                .supporting
                .iter()
                .filter(|i| i.weight > 0.0)
                .map(|i| i.kind.family())
                .collect();
            types.sort_unstable();
            types.dedup();
            let mut conf = Confidence::assess(items, types.len(), c.likelihood - second);
            if let Some(r) = conf
                .reasons
                .iter_mut()
                .find(|r| r.starts_with("likelihood margin over the next hypothesis"))
            {
                *r = format!(
                    "likelihood margin over the next hypothesis, {next} at {:.1}%, {:.0} points",
                    second * 100.0,
                    (c.likelihood - second) * 100.0
                );
            }
            // Items listed as support but not scored (an activity period
            // most actors share): counted apart, so the basis and the
            // supporting list printed beside it add up.
            let context = c.supporting.len() - items;
            if context > 0 {
                conf.reasons.insert(
                    1,
                    format!("{context} further supporting item(s) listed as context, not scored"),
                );
            }
            conf
        }
        _ => {
            let mut c = Confidence::assess(0, 0, 0.0);
            let why = match top {
                Some(c) if c.likelihood > lik_unknown && c.has_support => format!(
                    "no actor stands out: the leader, {} {}, is at {:.0} %, below the {:.0} % needed to name one",
                    c.id,
                    c.name,
                    c.likelihood * 100.0,
                    MIN_ATTRIBUTION * 100.0
                ),
                _ => "no actor fits better than an unknown cluster".into(),
            };
            // Only the reason: the counts of a judgment not made ("0
            // matching evidence items") contradicted the candidates'
            // own supporting lists printed beside them.
            c.reasons = vec![why];
            c
        }
    };
    (outcome, confidence)
}

fn ev_has_profile_evidence(ev: &CaseEvidence) -> bool {
    !(ev.cves.is_empty()
        && ev.ips.is_empty()
        && ev.domains.is_empty()
        && ev.asns.is_empty()
        && ev.infrastructure_kinds.is_empty()
        && ev.tools.is_empty())
}

/// Each learned feature's part of a candidate's score, then the two profile
/// parts (CVE / tool / port at the fitted scale, the rest at the judged
/// one): they sum to the score.
fn contributions(
    w: &RankerWeights,
    row: &[f64; N_FEATURES],
    (facts, other): (f64, f64),
    p: &Params,
) -> Vec<Contribution> {
    let mut c: Vec<Contribution> = FEATURES
        .iter()
        .zip(&w.weights)
        .zip(row)
        .map(|((f, &weight), &value)| Contribution {
            feature: f.to_string(),
            value,
            weight,
            contribution: weight * value,
        })
        .collect();
    c.push(Contribution {
        feature: "profile_cve_tool_port".into(),
        value: facts,
        weight: p.fact_logit_scale,
        contribution: facts * p.fact_logit_scale,
    });
    c.push(Contribution {
        feature: "analyst_profile".into(),
        value: other,
        weight: p.profile_logit_scale,
        contribution: other * p.profile_logit_scale,
    });
    c
}
