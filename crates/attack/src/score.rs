//! The attribution model: per-actor behaviour sets built from ATT&CK (and
//! optional analyst profiles), exclusivity weights, and the ranking.
//!
//! Score of an actor = Σ over observed techniques of the credit the actor
//! earns for it (full IDF weight for a technique in its profile, a partial
//! weight when only a parent/sibling sub-technique is, a small weight when
//! only its software implies it) + Σ over observed software it uses (IDF over
//! software users) + profile and intelligence evidence (CVE,
//! infrastructure, victimology, time, attributed indicators:
//! `profile_score.rs`) − a weak penalty for the actor's expected techniques that were not
//! observed − a penalty for software exclusive to other actors. Scores are
//! turned into likelihoods by a softmax with a fitted temperature that also
//! includes an "unknown / new cluster" hypothesis (see `docs/benchmarks`).

use crate::evidence::CaseEvidence;
use crate::kb::{KnowledgeBase, RelKind, parent_of};
use crate::profile::ActorProfile;
use crate::ranker::{ActorItems, FeatureModel};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Tunable weights. Defaults are the values selected by the evaluation
/// (`kahu-attack-eval`, leave-one-campaign-out); see `docs/benchmarks/attribution.md`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Params {
    /// Fraction of the family weight credited when only a parent or sibling
    /// sub-technique is in the actor's profile.
    pub sub_credit: f64,
    /// Fraction of the technique weight credited when only the actor's
    /// software is known to implement it.
    pub software_implied: f64,
    /// Multiplier of a shared software's IDF weight.
    pub software_weight: f64,
    /// Fraction of each expected-but-unobserved technique's weight
    /// subtracted (profiles are incomplete, so this is small).
    pub absent_penalty: f64,
    /// Extra multiple of a shared software's weight when at most two groups
    /// use it: a tool known from one or two actors is near-decisive, while
    /// the IDF of common tools (Mimikatz, PsExec) is already small.
    #[serde(default)]
    pub rare_software_bonus: f64,
    /// Fraction of a software's weight subtracted when it is used by at
    /// most two other actors and not by this one.
    pub foreign_software_penalty: f64,
    /// BM25-style length normalisation of the technique credit (0 = none,
    /// 1 = full): actors with very large profiles match many techniques by
    /// chance, so their technique credit is divided by
    /// `1 - b + b * profile_weight / mean_profile_weight`.
    pub length_norm: f64,
    /// Whether technique exclusivity counts actors whose software (not
    /// the actor itself) implements it.
    pub idf_counts_software: bool,
    /// Softmax temperature turning scores into likelihoods.
    pub temperature: f64,
    /// Scale-free calibration: when > 0, the effective softmax temperature
    /// is `temperature × max(A, 10) / temperature_scale`, where A is the
    /// highest ATT&CK score any actor could reach on this evidence. Scores
    /// are sums over the evidence, so a fixed temperature makes large cases
    /// near-certain and small ones flat; scaling by A fixed that in the
    /// held-out calibration (ECE 0.194 → see `docs/benchmarks`). The floor of
    /// 10 (about two rare techniques) keeps profile-only evidence (a CVE, no
    /// techniques) from turning into certainty. 0 = absolute temperature.
    #[serde(default)]
    pub temperature_scale: f64,
    /// Score of the "unknown / new cluster" hypothesis as a fraction of the
    /// highest ATT&CK score any actor could reach on this evidence.
    pub unknown_fraction: f64,
    /// Weight of an exploited CVE listed in an actor profile.
    pub cve_weight: f64,
    /// Weight of a concrete infrastructure match (IP, domain).
    pub infra_weight: f64,
    /// Weight of a victim sector or region match (and half of it against on mismatch).
    pub victim_weight: f64,
    /// Weight against activity outside the actor's active period.
    pub time_weight: f64,
    /// Scored evidence items (techniques, software, CVEs, attributed
    /// indicators) a case needs before its ranking speaks with full weight.
    /// With fewer, the likelihood of every named actor is scaled by
    /// `items / full_evidence_items` and the rest stays on "unknown": two
    /// techniques can make one actor the best fit, but not a likely author.
    /// 0 turns this off.
    #[serde(default)]
    pub full_evidence_items: f64,
    /// Share of its likelihood that an actor keeps when nothing but ATT&CK
    /// technique overlap supports it (no rare software of its own, no CVE,
    /// infrastructure, tool or intelligence attribution from its profile);
    /// the rest moves to "unknown".
    /// Held out, the leader on techniques alone was the true group in
    /// 18–23 % of campaigns (docs/benchmarks/attribution.md), and a red-team
    /// playbook's generic techniques named APT29 "likely"; at 0.4 technique
    /// overlap alone can make an actor at most "unlikely" (< 45 %), never
    /// the named author. 1 turns this off.
    #[serde(default = "default_techniques_only_weight")]
    pub techniques_only_weight: f64,
    /// Rank with the learned ranker (`ranker.rs`: a conditional logit fitted
    /// on the leave-one-report-out cases, weights in
    /// `crates/attack/data/ranker-weights.json`) instead of the IDF sum
    /// above. The safety layers (unknown, thin evidence, techniques only)
    /// apply to either. `raw_scores` (the campaign tuning grid) always
    /// returns the IDF sum.
    #[serde(default = "default_learned_ranker")]
    pub learned_ranker: bool,
    /// With the learned ranker: logits per unit of the profile evidence
    /// other than CVEs, tools and ports (those have `fact_logit_scale`):
    /// attributed indicators, infrastructure, victims, time. No held-out
    /// case carries these (indicators and infrastructure are not in ATT&CK;
    /// victimology comes from MISP / Tidal without a report to hold out),
    /// so this is a judgment, not a fit: at 0.5 a listed attacker IP
    /// (`infra_weight` 3) multiplies an actor's odds by 4.5.
    #[serde(default = "default_profile_logit_scale")]
    pub profile_logit_scale: f64,
    /// With the learned ranker: logits per unit of the CVE, tool and port
    /// part of the profile score (taken out of `profile_logit_scale`).
    /// Fitted, unlike the rest: on the report-level cases whose report
    /// names CVEs, tools or ports for the group in ATT&CK's descriptions,
    /// those facts added to the query and every profile held out like the
    /// relations (`KAHU_EVAL_PROFILE_SCALE=1 cargo run --release -p
    /// kahu-attack --bin kahu-attack-eval -- --reports-only`,
    /// docs/benchmarks/attribution.md): 2.4 [1.15, 3.40]; shipped at the
    /// interval's lower end, 1.15 (the fit is closed-world, see
    /// `default_fact_logit_scale`). At 1.15 a CVE only this actor's profile
    /// lists (`cve_weight` 1.5) multiplies its odds by about 5.6; a CVE
    /// listed for four actors (each 1.5 / 4) by about 1.5.
    #[serde(default = "default_fact_logit_scale")]
    pub fact_logit_scale: f64,
}

fn default_profile_logit_scale() -> f64 {
    0.5
}

fn default_fact_logit_scale() -> f64 {
    // Fitted 2026-12-06: 2.40 [1.15, 3.40] (95 % bootstrap of groups) on 213
    // cases over 84 groups, by the command in the field's documentation.
    // Shipped at the interval's lower end: the fit is closed-world (every
    // case's true group is one ATT&CK lists, and ATT&CK names CVEs for few
    // of the actors that exploit them), so in the field a listed CVE is
    // weaker evidence than on the held-out reports. A false name costs
    // more than a cautious one.
    1.15
}

fn default_learned_ranker() -> bool {
    true
}

fn default_techniques_only_weight() -> f64 {
    0.4
}

impl Default for Params {
    fn default() -> Self {
        Params {
            sub_credit: 0.75,
            software_implied: 0.15,
            software_weight: 1.0,
            rare_software_bonus: 0.0,
            absent_penalty: 0.01,
            foreign_software_penalty: 0.0,
            length_norm: 0.0,
            idf_counts_software: true,
            temperature: 3.0,
            temperature_scale: 40.0,
            unknown_fraction: 0.6,
            cve_weight: 1.5,
            infra_weight: 3.0,
            victim_weight: 0.5,
            time_weight: 1.0,
            full_evidence_items: 8.0,
            techniques_only_weight: default_techniques_only_weight(),
            learned_ranker: default_learned_ranker(),
            profile_logit_scale: default_profile_logit_scale(),
            fact_logit_scale: default_fact_logit_scale(),
        }
    }
}

/// What to leave out of the model (leakage-free evaluation, or an analyst
/// testing "would we still say X without report Y?").
#[derive(Debug, Clone, Default)]
pub struct Exclusions {
    /// Campaign ids whose relations are ignored entirely.
    pub campaigns: HashSet<String>,
    /// Group ids removed from the candidate set (open-set evaluation).
    pub groups: HashSet<String>,
    /// Citation source names: a group or campaign relation whose every
    /// cited source is in this set is ignored; profile items likewise.
    pub sources: HashSet<String>,
    /// Apply the `sources` filter to relations *from groups* only, keeping
    /// other campaigns' relations (uses, attributed-to) whatever they cite.
    /// This is the evaluation protocol of the attribution issue; the default
    /// (`false`) is stricter and also drops campaign relations citing only
    /// excluded sources.
    pub group_relations_only: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct GroupModel {
    /// Technique → campaign through which it is known (None: group-level).
    pub direct: HashMap<u32, Option<u32>>,
    /// Families (parent technique index) of direct techniques.
    pub families: HashSet<u32>,
    /// Technique → software implementing it (not direct).
    pub implied: HashMap<u32, u32>,
    /// Software → campaign through which it is known.
    pub software: HashMap<u32, Option<u32>>,
    /// Sum of IDF weights of direct techniques.
    pub total_weight: f64,
    /// Item (technique index, or techniques + software index) → the
    /// reports citing it for this actor (learned ranker features).
    pub cited: HashMap<u32, BTreeSet<u32>>,
}

/// One candidate actor in the model.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub model: GroupModel,
    pub profile: Option<usize>,
}

/// The prepared model: build once per knowledge base, profile set and
/// exclusion set, then rank any number of cases.
#[derive(Debug, Clone)]
pub struct Attributor<'a> {
    pub(crate) kb: &'a KnowledgeBase,
    pub(crate) profiles: &'a [ActorProfile],
    pub(crate) actors: Vec<Actor>,
    /// Live ATT&CK groups in the model (denominator of exclusivity).
    pub(crate) n_groups: u32,
    pub(crate) df: Vec<u32>,
    pub(crate) df_fam: Vec<u32>,
    pub(crate) df_sw: Vec<u32>,
    pub(crate) sw_users: Vec<Vec<u32>>,
    pub(crate) parent: Vec<u32>,
    pub(crate) excluded_sources: Vec<String>,
    pub(crate) mean_weight: f64,
    /// Statistics of the learned ranker's features, per actor.
    pub(crate) features: FeatureModel,
}

impl<'a> Attributor<'a> {
    /// Build the model. `params.idf_counts_software` is read here.
    pub fn new(
        kb: &'a KnowledgeBase,
        profiles: &'a [ActorProfile],
        excl: &Exclusions,
        params: &Params,
    ) -> Attributor<'a> {
        let d = kb.data();
        let nt = d.techniques.len();
        let parent = parent_indices(kb);
        let leak = Leak::new(kb, excl);
        let mut actors: Vec<Actor> = d
            .groups
            .iter()
            .map(|g| {
                let (name, aliases) = g.display_names();
                Actor {
                    id: g.id.clone(),
                    name,
                    aliases,
                    model: GroupModel::default(),
                    profile: None,
                }
            })
            .collect();
        let sw_techs = add_uses(kb, &leak, &mut actors);
        // Drop excluded groups after building so campaign bookkeeping stays simple.
        actors.retain(|a| !excl.groups.contains(&a.id));
        let n_groups = actors.len() as u32;
        let f = Frequencies::count(&mut actors, &sw_techs, &parent, nt, params);
        let mut this = Attributor {
            kb,
            profiles,
            actors,
            n_groups,
            df: f.df,
            df_fam: f.df_fam,
            df_sw: f.df_sw,
            sw_users: f.sw_users,
            parent,
            excluded_sources: excl.sources.iter().cloned().collect(),
            mean_weight: 1.0,
            features: FeatureModel::default(),
        };
        this.weigh_profiles();
        this.attach_profiles(excl);
        this.features = this.feature_model();
        this
    }

    /// Each actor's total technique weight, and the mean over actors with
    /// any (the length normalisation's reference).
    fn weigh_profiles(&mut self) {
        for a in 0..self.actors.len() {
            // Summed in technique order: hash-map order would change the
            // last bits of every score, and so the report, between runs.
            let mut techs: Vec<u32> = self.actors[a].model.direct.keys().copied().collect();
            techs.sort_unstable();
            let total: f64 = techs.iter().map(|&t| self.idf(self.df[t as usize])).sum();
            self.actors[a].model.total_weight = total;
        }
        let with: Vec<f64> = self
            .actors
            .iter()
            .map(|a| a.model.total_weight)
            .filter(|&w| w > 0.0)
            .collect();
        self.mean_weight = if with.is_empty() {
            1.0
        } else {
            with.iter().sum::<f64>() / with.len() as f64
        };
    }

    /// Attach profiles; profiles of actors unknown to ATT&CK become actors
    /// of their own (after the ATT&CK groups, outside `n_groups`).
    fn attach_profiles(&mut self, excl: &Exclusions) {
        for (pi, p) in self.profiles.iter().enumerate() {
            if excl.groups.contains(&p.id) {
                continue;
            }
            let resolved = self.kb.resolve(&p.id);
            match self.actors.iter_mut().find(|a| a.id == resolved) {
                Some(a) => a.profile = Some(pi),
                None => {
                    let (name, aliases) = crate::kb::best_known_name(&p.id, &p.name, &p.aliases);
                    self.actors.push(Actor {
                        id: p.id.clone(),
                        name,
                        aliases,
                        model: GroupModel::default(),
                        profile: Some(pi),
                    })
                }
            }
        }
    }

    /// The learned ranker's per-actor statistics, from the reports citing
    /// each actor's items.
    fn feature_model(&self) -> FeatureModel {
        let d = self.kb.data();
        let nt = d.techniques.len();
        let items: Vec<ActorItems> = self
            .actors
            .iter()
            .map(|a| ActorItems {
                items: a
                    .model
                    .cited
                    .iter()
                    .map(|(&i, s)| (i, s.iter().copied().collect()))
                    .collect(),
                implied: a.model.implied.keys().copied().collect(),
                reports: a
                    .model
                    .cited
                    .values()
                    .flatten()
                    .collect::<BTreeSet<_>>()
                    .len(),
            })
            .collect();
        FeatureModel::new(items, nt, nt + d.software.len(), self.n_groups)
    }

    /// The learned ranker's features of every actor (in model order) for
    /// the ATT&CK part of `ev` (evaluation and explanation).
    pub fn ranker_features(
        &self,
        ev: &CaseEvidence,
        p: &Params,
    ) -> Vec<[f64; crate::ranker::N_FEATURES]> {
        let r = self.resolve(ev, p);
        let q = self.query_items(&r);
        (0..self.actors.len())
            .map(|a| self.features.features(a, &q))
            .collect()
    }

    /// Evidence techniques and software as the ranker's item indices.
    pub(crate) fn query_items(&self, r: &Resolved) -> Vec<u32> {
        let nt = self.kb.data().techniques.len() as u32;
        r.techs
            .iter()
            .copied()
            .chain(r.sws.iter().map(|&s| nt + s))
            .collect()
    }

    /// Actor ids in model order (the rows of [`Attributor::ranker_features`]).
    pub fn actor_ids(&self) -> Vec<&str> {
        self.actors.iter().map(|a| a.id.as_str()).collect()
    }

    /// Softmax temperature for evidence whose best attainable ATT&CK score
    /// is `max_attack` (see [`Params::temperature_scale`]).
    pub fn effective_temperature(p: &Params, max_attack: f64) -> f64 {
        if p.temperature_scale > 0.0 && max_attack.is_finite() {
            p.temperature * max_attack.max(10.0) / p.temperature_scale
        } else {
            p.temperature
        }
    }

    /// Exclusivity weight of something used by `df` of the model's groups.
    pub(crate) fn idf(&self, df: u32) -> f64 {
        let n = f64::from(self.n_groups.max(1));
        (n / f64::from(df.max(1))).ln().max(0.0)
    }

    /// Credit for a shared software used by `df` groups.
    pub(crate) fn software_credit(&self, df: u32, p: &Params) -> f64 {
        let bonus = if (1..=2).contains(&df) {
            1.0 + p.rare_software_bonus
        } else {
            1.0
        };
        p.software_weight * bonus * self.idf(df)
    }

    /// Number of ATT&CK groups in the model.
    pub fn group_count(&self) -> u32 {
        self.n_groups
    }

    /// Groups whose profile contains technique `id` (exclusivity numerator).
    pub fn technique_users(&self, id: &str) -> Option<u32> {
        self.kb.technique_index(id).map(|t| self.df[t])
    }

    /// Groups using software `id`.
    pub fn software_users(&self, id: &str) -> Option<u32> {
        self.kb.software_index(id).map(|s| self.df_sw[s])
    }
}

/// Evidence mapped onto the model's dense indices.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolved {
    pub techs: Vec<u32>,
    pub sws: Vec<u32>,
    pub observed: Vec<bool>,
    pub observed_fam: Vec<bool>,
    pub unknown: Vec<String>,
    pub remapped: Vec<(String, String)>,
    pub max_attack: f64,
    /// Matched attributed indicators per actor id: (indicator, share of one
    /// indicator's weight, the groups the intelligence names), best first.
    pub intel: HashMap<String, Vec<(String, f64, String)>>,
}

/// Each technique's parent technique index (itself when it has none).
fn parent_indices(kb: &KnowledgeBase) -> Vec<u32> {
    kb.data()
        .techniques
        .iter()
        .enumerate()
        .map(|(i, t)| {
            parent_of(&t.id)
                .and_then(|p| kb.technique_index(p))
                .unwrap_or(i) as u32
        })
        .collect()
}

/// Which relations [`Exclusions`] leaves out.
struct Leak<'e> {
    excl: &'e Exclusions,
    /// The excluded citation sources, as knowledge-base indices.
    sources: HashSet<u32>,
}

impl<'e> Leak<'e> {
    fn new(kb: &KnowledgeBase, excl: &'e Exclusions) -> Self {
        let sources = excl
            .sources
            .iter()
            .filter_map(|s| kb.source_index(s))
            .collect();
        Leak { excl, sources }
    }

    /// Whether every source a relation cites is excluded.
    fn leaked(&self, srcs: &[u32]) -> bool {
        !srcs.is_empty() && srcs.iter().all(|s| self.sources.contains(s))
    }

    /// Whether a relation from campaign `campaign` citing `srcs` is left out.
    fn campaign_excluded(&self, campaign: &str, srcs: &[u32]) -> bool {
        self.excl.campaigns.contains(campaign)
            || (!self.excl.group_relations_only && self.leaked(srcs))
    }
}

/// Campaign index → the groups it is attributed to (relations left out by
/// `leak` ignored).
fn campaign_groups(kb: &KnowledgeBase, leak: &Leak) -> HashMap<usize, Vec<usize>> {
    let mut camp_groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for r in &kb.data().relations {
        if r.kind == RelKind::AttributedTo
            && !leak.campaign_excluded(&r.from, &r.sources)
            && let (Some(c), Some(g)) = (kb.campaign_index(&r.from), kb.group_index(&r.to))
        {
            camp_groups.entry(c).or_default().push(g);
        }
    }
    camp_groups
}

/// Add every `uses` relation of a group, or of a campaign attributed to
/// groups, to those groups' models (techniques and software, the campaign
/// they are known through, the reports citing them). Returns software
/// index → the techniques it implements.
fn add_uses(kb: &KnowledgeBase, leak: &Leak, actors: &mut [Actor]) -> Vec<Vec<u32>> {
    let d = kb.data();
    let nt = d.techniques.len();
    let camp_groups = campaign_groups(kb, leak);
    let mut sw_techs: Vec<Vec<u32>> = vec![Vec::new(); d.software.len()];
    for r in &d.relations {
        if r.kind != RelKind::Uses {
            continue;
        }
        if let Some(s) = kb.software_index(&r.from) {
            if let Some(t) = kb.technique_index(&r.to) {
                sw_techs[s].push(t as u32);
            }
            continue;
        }
        let (owners, via): (Vec<usize>, Option<u32>) = if let Some(g) = kb.group_index(&r.from) {
            if leak.leaked(&r.sources) {
                continue;
            }
            (vec![g], None)
        } else if let Some(c) = kb.campaign_index(&r.from) {
            if leak.campaign_excluded(&r.from, &r.sources) {
                continue;
            }
            (
                camp_groups.get(&c).cloned().unwrap_or_default(),
                Some(c as u32),
            )
        } else {
            continue;
        };
        for g in owners {
            let m = &mut actors[g].model;
            let item = kb
                .technique_index(&r.to)
                .or_else(|| kb.software_index(&r.to).map(|s| nt + s));
            if let Some(item) = item {
                m.cited
                    .entry(item as u32)
                    .or_default()
                    .extend(r.sources.iter().copied());
            }
            if let Some(t) = kb.technique_index(&r.to) {
                let e = m.direct.entry(t as u32).or_insert(via);
                if via.is_none() {
                    *e = None;
                }
            } else if let Some(s) = kb.software_index(&r.to) {
                let e = m.software.entry(s as u32).or_insert(via);
                if via.is_none() {
                    *e = None;
                }
            }
        }
    }
    sw_techs
}

/// How many actors use each technique, technique family and software.
struct Frequencies {
    df: Vec<u32>,
    df_fam: Vec<u32>,
    df_sw: Vec<u32>,
    sw_users: Vec<Vec<u32>>,
}

impl Frequencies {
    /// Count over `actors`, completing each model's implied techniques and
    /// families on the way.
    fn count(
        actors: &mut [Actor],
        sw_techs: &[Vec<u32>],
        parent: &[u32],
        nt: usize,
        params: &Params,
    ) -> Self {
        let nsw = sw_techs.len();
        let mut f = Frequencies {
            df: vec![0u32; nt],
            df_fam: vec![0u32; nt],
            df_sw: vec![0u32; nsw],
            sw_users: vec![Vec::new(); nsw],
        };
        for (ai, a) in actors.iter_mut().enumerate() {
            let m = &mut a.model;
            for &s in m.software.keys() {
                for &t in &sw_techs[s as usize] {
                    if !m.direct.contains_key(&t) {
                        // `software` is a hash map: keep the lowest index so
                        // the software named in explanations is the same on
                        // every run.
                        m.implied
                            .entry(t)
                            .and_modify(|cur| *cur = (*cur).min(s))
                            .or_insert(s);
                    }
                }
                f.df_sw[s as usize] += 1;
                f.sw_users[s as usize].push(ai as u32);
            }
            m.families = m.direct.keys().map(|&t| parent[t as usize]).collect();
            for &t in m.direct.keys() {
                f.df[t as usize] += 1;
            }
            if params.idf_counts_software {
                for &t in m.implied.keys() {
                    f.df[t as usize] += 1;
                }
            }
            for &fam in &m.families {
                f.df_fam[fam as usize] += 1;
            }
        }
        f
    }
}

impl Attributor<'_> {
    pub(crate) fn resolve(&self, ev: &CaseEvidence, p: &Params) -> Resolved {
        let nt = self.kb.data().techniques.len();
        let mut r = Resolved {
            observed: vec![false; nt],
            observed_fam: vec![false; nt],
            ..Default::default()
        };
        for t in &ev.techniques {
            let live = self.kb.resolve(t);
            if live != *t {
                r.remapped.push((t.clone(), live.clone()));
            }
            match self.kb.technique_index(&live) {
                Some(i) if !r.observed[i] => {
                    r.observed[i] = true;
                    r.observed_fam[self.parent[i] as usize] = true;
                    r.techs.push(i as u32);
                    r.max_attack += self.idf(self.df[i]);
                }
                Some(_) => {}
                None => r.unknown.push(t.clone()),
            }
        }
        // Which actors each attributed indicator names, computed once per
        // distinct group name (a feed can match thousands of indicators).
        let mut by_group: HashMap<&str, Vec<usize>> = HashMap::new();
        for (ioc, groups) in &ev.attributed_indicators {
            let mut who: Vec<usize> = Vec::new();
            for g in groups {
                let v = by_group.entry(g.as_str()).or_insert_with(|| {
                    (0..self.actors.len())
                        .filter(|&i| self.names_actor(&self.actors[i], g))
                        .collect()
                });
                who.extend(v.iter().copied());
            }
            who.sort_unstable();
            who.dedup();
            let share = 1.0 / who.len().max(1) as f64;
            let named = groups.iter().cloned().collect::<Vec<_>>().join(", ");
            for i in who {
                r.intel.entry(self.actors[i].id.clone()).or_default().push((
                    ioc.clone(),
                    share,
                    named.clone(),
                ));
            }
        }
        for v in r.intel.values_mut() {
            // Strongest first; the score is capped at two indicators' worth,
            // so a handful of items explains it.
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(16);
        }
        for s in &ev.software {
            let live = self.kb.resolve(s);
            if live != *s {
                r.remapped.push((s.clone(), live.clone()));
            }
            match self.kb.software_index(&live) {
                Some(i) if !r.sws.contains(&(i as u32)) => {
                    r.sws.push(i as u32);
                    r.max_attack += self.software_credit(self.df_sw[i], p);
                }
                Some(_) => {}
                None => r.unknown.push(s.clone()),
            }
        }
        r
    }

    /// ATT&CK part of an actor's score; `out` receives explanation items when given.
    pub(crate) fn attack_score(
        &self,
        a: &Actor,
        r: &Resolved,
        p: &Params,
        mut out: Option<&mut crate::attribution::Explain>,
    ) -> f64 {
        use crate::attribution::{EvidenceItem, EvidenceKind};
        let m = &a.model;
        let d = self.kb.data();
        let n = self.n_groups;
        let norm = {
            let b = p.length_norm.clamp(0.0, 1.0);
            let f = 1.0 - b + b * m.total_weight / self.mean_weight;
            if f > 1e-6 { 1.0 / f } else { 1.0 }
        };
        let mut s = 0.0;
        for &t in &r.techs {
            let ti = t as usize;
            let tid = &d.techniques[ti].id;
            let fam = self.parent[ti];
            if let Some(via) = m.direct.get(&t) {
                let w = norm * self.idf(self.df[ti]);
                s += w;
                if let Some(o) = out.as_deref_mut() {
                    let via = via
                        .map(|c| format!(", via campaign {}", d.campaigns[c as usize].id))
                        .unwrap_or_default();
                    o.supporting.push(EvidenceItem::new(
                        EvidenceKind::Technique,
                        tid,
                        format!(
                            "{tid} {} used by {}/{n} groups{via}",
                            d.techniques[ti].name, self.df[ti]
                        ),
                        w,
                    ));
                }
            } else if m.families.contains(&fam) {
                let w = norm * p.sub_credit * self.idf(self.df_fam[fam as usize]);
                s += w;
                if let Some(o) = out.as_deref_mut() {
                    let fid = &d.techniques[fam as usize].id;
                    o.supporting.push(EvidenceItem::new(
                        EvidenceKind::RelatedTechnique,
                        tid,
                        format!(
                            "{tid} not in profile, but the {fid} family is (family used by {}/{n} groups; partial credit)",
                            self.df_fam[fam as usize]
                        ),
                        w,
                    ));
                }
            } else if let Some(&sw) = m.implied.get(&t) {
                let w = norm * p.software_implied * self.idf(self.df[ti]);
                s += w;
                if let Some(o) = out.as_deref_mut() {
                    let swo = &d.software[sw as usize];
                    o.supporting.push(EvidenceItem::new(
                        EvidenceKind::SoftwareImpliedTechnique,
                        tid,
                        format!(
                            "{tid} implemented by the actor's software {} {} (weak)",
                            swo.id, swo.name
                        ),
                        w,
                    ));
                }
            } else if let Some(o) = out.as_deref_mut() {
                o.unexplained
                    .push(format!("{tid} {}", d.techniques[ti].name));
            }
        }
        for &sw in &r.sws {
            let si = sw as usize;
            let w = self.idf(self.df_sw[si]);
            let credit = self.software_credit(self.df_sw[si], p);
            let swo = &d.software[si];
            if let Some(via) = m.software.get(&sw) {
                s += credit;
                if let Some(o) = out.as_deref_mut() {
                    let via = via
                        .map(|c| format!(", via campaign {}", d.campaigns[c as usize].id))
                        .unwrap_or_default();
                    o.supporting.push(EvidenceItem::new(
                        EvidenceKind::Software,
                        &swo.id,
                        format!(
                            "{} {} used by {}/{n} groups{via}",
                            swo.id, swo.name, self.df_sw[si]
                        ),
                        credit,
                    ));
                }
            } else if (1..=2).contains(&self.df_sw[si]) {
                s -= p.foreign_software_penalty * w;
                if let Some(o) = out.as_deref_mut() {
                    let users: Vec<&str> = self.sw_users[si]
                        .iter()
                        .map(|&u| self.actors[u as usize].id.as_str())
                        .collect();
                    o.contradicting.push(EvidenceItem::new(
                        EvidenceKind::Software,
                        &swo.id,
                        format!(
                            "{} {} is known only from {}",
                            swo.id,
                            swo.name,
                            users.join(", ")
                        ),
                        -p.foreign_software_penalty * w,
                    ));
                }
            } else if let Some(o) = out.as_deref_mut() {
                o.unexplained.push(format!("{} {}", swo.id, swo.name));
            }
        }
        // Expected but absent: techniques of the profile whose family was not
        // observed at all. Only when techniques were observed: with none (a
        // CVE or an IP alone) there was no technique telemetry, so nothing
        // is "absent", and the penalty would rank actors by profile size.
        if p.absent_penalty > 0.0 && !m.direct.is_empty() && !r.techs.is_empty() {
            let mut seen: Vec<u32> = m
                .direct
                .keys()
                .copied()
                .filter(|&t| r.observed_fam[self.parent[t as usize] as usize])
                .collect();
            seen.sort_unstable();
            let absent = m.total_weight
                - seen
                    .iter()
                    .map(|&t| self.idf(self.df[t as usize]))
                    .sum::<f64>();
            s -= p.absent_penalty * absent.max(0.0);
            if let Some(o) = out {
                o.absent_penalty = p.absent_penalty * absent.max(0.0);
            }
        }
        s
    }
}
