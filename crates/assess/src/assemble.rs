//! Turning findings, reconstruction and attribution into the published
//! [`Assessment`] (and the inputs of the STIX bundle and Navigator layer).

use crate::prose::Summary;
use crate::warning::RunWarning;
use chrono::{DateTime, Utc};
use kahu_attack::{
    AttackVersion, AttackView, Attribution, CaseEvidence, KnowledgeBase, Outcome, RankOptions,
};
use kahu_finding::{Finding, FindingKind, Level};
use kahu_intel::IocSet;
use kahu_reconstruct::classify::{EntityClass, FileClass, IpClass};
use kahu_reconstruct::{
    HostNames, IncidentConfig, Scope, ScopeEntity, Tactic, Timeline, build_incidents_with_hosts,
};
use kahu_report::assessment::*;
use kahu_report::stix::{self, BundleInput, CandidateActor, Observable, RuleIndicator, Sighting};
use kahu_sigma::RuleSet;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::OnceLock;

/// Everything the assessment is built from.
pub struct Inputs<'a> {
    /// Case context.
    pub case: CaseInfo,
    /// Analyst limits on the events examined, with what they left out.
    pub scope_limits: Vec<String>,
    /// Evidence paths as given.
    pub evidence_paths: Vec<String>,
    /// Files read.
    pub files: u64,
    /// Events read.
    pub events: u64,
    /// Evidence warnings.
    pub warnings: &'a [RunWarning],
    /// Events without time, host or log source, over all files.
    pub coverage: kahu_ingest::EvidenceCoverage,
    /// Rules used.
    pub rules_loaded: u64,
    /// Rules rejected.
    pub rules_rejected: u64,
    /// All findings, in timeline order.
    pub findings: &'a [Finding],
    /// The rule sets that ran (for rule text and tags).
    pub rulesets: &'a [&'a RuleSet],
    /// The IOC set that ran.
    pub iocs: &'a IocSet,
    /// ATT&CK.
    pub kb: &'a KnowledgeBase,
    /// The ATT&CK release asked for (`--attack-version`).
    pub attack_version: AttackVersion,
    /// Actor profiles.
    pub profiles: &'a [kahu_attack::ActorProfile],
    /// Appendix cap.
    pub appendix_limit: usize,
    /// Hashes of non-system files recorded in the evidence.
    pub file_hashes: &'a crate::file_hashes::FileHashes,
    /// Judgement thresholds.
    pub policy: crate::policy::Policy,
    /// Addresses the analytics learned for hosts (one host identity for
    /// name and address in incidents).
    pub host_addresses: &'a [kahu_reconstruct::analytics::HostAddress],
    /// Internal addresses that forward the network's DNS lookups.
    pub dns_resolvers: &'a [std::net::IpAddr],
}

/// The assessment and the partner-sharing documents derived from it.
pub struct Built {
    /// The assessment.
    pub assessment: Assessment,
    /// The raw attribution (for `kahu serve`'s recomputation and audit).
    pub attribution: Attribution,
    /// The STIX bundle.
    pub stix: serde_json::Value,
    /// The Navigator layer.
    pub layer: serde_json::Value,
    /// The attribution evidence the ranking used (stored for re-attribution).
    pub evidence: CaseEvidence,
    /// The `attack-tactics` case document `kahu serve`'s matrix reads:
    /// `{"attack_version", "techniques": {id: [tactic short names]}}`, for
    /// every technique id as the findings carry it and as the report shows it.
    pub attack_tactics: serde_json::Value,
}

/// The `attack-tactics` document (see [`Built::attack_tactics`]).
fn attack_tactics(
    findings: &[Finding],
    techniques: &[TechniqueView],
    view: &AttackView<'_>,
) -> serde_json::Value {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in findings {
        for t in &f.techniques {
            // Unknown ids stay out, so the reader falls back to the parent.
            if !map.contains_key(&**t) {
                let tactics: Vec<String> = view
                    .tactics(t)
                    .iter()
                    .map(|x| x.short_name().to_string())
                    .collect();
                if !tactics.is_empty() {
                    map.insert(t.to_string(), tactics);
                }
            }
        }
    }
    for t in techniques {
        map.insert(t.id.clone(), t.tactics.clone());
    }
    serde_json::json!({"attack_version": view.release(), "techniques": map})
}

pub(crate) fn significant(f: &Finding) -> bool {
    f.level >= crate::SIGNIFICANT
}

fn tactic_lookup<'a>(view: &'a AttackView<'a>) -> impl Fn(&str) -> Vec<Tactic> + Sync + 'a {
    move |id: &str| view.tactics(id)
}

/// The ATT&CK release the run is shown in: the one `requested`, or with
/// `Auto` (`AttackView::choose`) v19 when the knowledge base predates it
/// and a finding shown in the report (low level or above) carries a
/// v19-only technique id or comes from a rule tagged `attack.stealth` or
/// `attack.defense-impairment`.
pub fn attack_view<'a>(
    kb: &'a KnowledgeBase,
    requested: AttackVersion,
    findings: &[Finding],
    rulesets: &[&RuleSet],
) -> Result<AttackView<'a>, kahu_attack::ViewError> {
    let rules = rule_tags(rulesets);
    AttackView::select(
        kb,
        requested,
        findings.iter().filter(|f| f.level >= Level::Low),
        |f| {
            rules.get(&*f.rule_id).is_some_and(|r| {
                r.tags.iter().any(|t| {
                    t.strip_prefix("attack.")
                        .and_then(Tactic::parse)
                        .is_some_and(Tactic::is_v19_only)
                })
            })
        },
    )
}

fn attack_view_auto<'a>(
    kb: &'a KnowledgeBase,
    findings: &[Finding],
    rulesets: &[&RuleSet],
) -> AttackView<'a> {
    attack_view(kb, AttackVersion::Auto, findings, rulesets)
        .unwrap_or_else(|_| AttackView::native(kb))
}

fn cve_tags(tags: &[std::sync::Arc<str>]) -> impl Iterator<Item = String> + '_ {
    tags.iter().filter_map(|t| {
        let rest = t.strip_prefix("cve.")?;
        Some(format!(
            "CVE-{}",
            rest.to_ascii_uppercase().trim_start_matches("CVE-")
        ))
    })
}

fn rule_tags<'a>(rulesets: &'a [&'a RuleSet]) -> HashMap<&'a str, &'a kahu_sigma::SigmaRule> {
    let mut m = HashMap::new();
    for rs in rulesets {
        for (_, r) in rs.rules() {
            m.insert(&*r.id, r);
        }
    }
    m
}

fn port_regex() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"(?i)localport\s*=\s*([0-9][0-9,\- ]*)").expect("valid regex")
    })
}

/// Attribution evidence from the case: techniques and software of
/// significant findings, CVEs named by the rules that fired, public
/// addresses in scope, ports opened by firewall changes, and the victim
/// context given by the analyst.
pub fn case_evidence(inputs: &Inputs<'_>, scope: &Scope) -> CaseEvidence {
    let mut ev = CaseEvidence::from_detections(inputs.findings, inputs.kb);
    let significant_findings: Vec<&Finding> =
        inputs.findings.iter().filter(|f| significant(f)).collect();
    let rules = rule_tags(inputs.rulesets);
    let mut seen = BTreeSet::new();
    for f in &significant_findings {
        if seen.insert(f.rule_id.clone())
            && let Some(r) = rules.get(&*f.rule_id)
        {
            for cve in cve_tags(&r.tags) {
                ev.add_cve(&cve);
            }
        }
        for (k, v) in &f.fields {
            if k.eq_ignore_ascii_case("CommandLine") {
                for cap in port_regex().captures_iter(v) {
                    for p in cap[1].split(|c: char| c == ',' || c.is_whitespace()) {
                        if let Ok(port) = p.trim().parse::<u16>() {
                            ev.ports.insert(port);
                        }
                    }
                }
            }
        }
    }
    for ip in &scope.ips {
        if ip.class == EntityClass::Address(IpClass::External)
            && ip.max_level >= Level::Medium
            && let Ok(addr) = ip.value.parse::<IpAddr>()
        {
            // A CDN edge serves everyone: it says nothing about who attacked.
            if crate::containment::shared_infrastructure(addr).is_some() {
                ev.discounted.push(format!(
                    "{addr}: shared infrastructure, not attacker-specific"
                ));
                continue;
            }
            ev.ips.insert(addr);
        }
    }
    // Web shells found in scope are infrastructure of the kind actor
    // profiles describe ("web shells on exploited public-facing servers").
    if scope
        .files
        .iter()
        .any(|f| f.class == EntityClass::File(FileClass::WebShell) && f.max_level >= Level::Medium)
    {
        ev.infrastructure_kinds.insert("web-shell".into());
    }
    for note in &inputs.case.infrastructure {
        ev.ips.extend(note.ip);
        ev.infrastructure_kinds
            .insert(note.kind.to_ascii_lowercase());
    }
    for s in &inputs.case.sectors {
        ev.add_sector(s);
    }
    for r in &inputs.case.regions {
        ev.add_region(r);
    }
    // What the evidence could show: hunting suggestions stay on these platforms.
    ev.platforms = inputs
        .coverage
        .attack_platforms()
        .into_iter()
        .map(String::from)
        .collect();
    ev
}

fn entity_views(list: &[ScopeEntity], findings: &[Finding], min: Level) -> Vec<EntityView> {
    list.iter()
        .filter(|e| e.max_level >= min)
        .map(|e| {
            let mut rules: Vec<String> = Vec::new();
            for &i in &e.finding_ids {
                if let Some(f) = findings.get(i)
                    && !rules.iter().any(|r| **r == *f.title)
                {
                    rules.push(f.title.to_string());
                    if rules.len() >= 4 {
                        break;
                    }
                }
            }
            EntityView {
                value: e.value.clone(),
                kind: e.class.to_string(),
                first_seen: e.first_seen,
                last_seen: e.last_seen,
                detections: e.finding_count,
                rules,
            }
        })
        .collect()
}

pub(crate) fn detail(f: &Finding) -> String {
    f.fields
        .iter()
        .filter(|(k, _)| {
            !kahu_finding::CORRELATION_FIELDS
                .iter()
                .any(|c| c.eq_ignore_ascii_case(k))
        })
        .take(3)
        .map(|(k, v)| {
            let v: String = v.chars().take(160).collect();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A time in prose (headline, key points, incident steps): says UTC, as
/// every time in the report does.
pub(crate) fn time_text(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "unknown time".into())
}

/// The evidence kind as it is serialised (`related_technique`, `cve`…).
fn kind_name<T: serde::Serialize + std::fmt::Debug>(k: &T) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{k:?}").to_ascii_lowercase())
}

/// One item for or against a candidate, as the report shows it.
fn evidence_item_view(e: &kahu_attack::EvidenceItem) -> EvidenceItemView {
    EvidenceItemView {
        kind: kind_name(&e.kind),
        value: e.id.clone(),
        detail: e.detail.clone(),
        weight: e.weight,
    }
}

fn candidate_views(a: &Attribution) -> Vec<CandidateView> {
    a.candidates
        .iter()
        .map(|c| CandidateView {
            rank: c.rank as u32,
            group_id: c.id.clone(),
            name: c.name.clone(),
            aliases: c.aliases.clone(),
            score: c.score,
            probability: c.likelihood,
            likelihood: c.likelihood_words.words().to_string(),
            confidence: format!("{:?}", a.confidence.level).to_ascii_lowercase(),
            supporting: c.supporting.iter().map(evidence_item_view).collect(),
            contradicting: c.contradicting.iter().map(evidence_item_view).collect(),
            not_observed: c
                .hunt_next
                .iter()
                .map(|h| TechniqueRef {
                    id: h.technique.clone(),
                    name: h.name.clone(),
                })
                .collect(),
        })
        .collect()
}

fn judgement(a: &Attribution) -> (String, String) {
    let conf = format!("{:?}", a.confidence.level).to_ascii_lowercase();
    let reasons = a.confidence.reasons.join("; ");
    match &a.outcome {
        Outcome::Attributed { id, name } => {
            let lead = &a.candidates[0];
            let (lo, hi) = lead.likelihood_words.band();
            let aka: Vec<&str> = lead
                .aliases
                .iter()
                .filter(|x| **x != lead.name)
                .take(4)
                .map(String::as_str)
                .collect();
            let aka = if aka.is_empty() { String::new() } else { format!(", also known as {}", aka.join(", ")) };
            let runner = a
                .candidates
                .get(1)
                .map(|c| {
                    // The estimative words are a noun phrase ("almost no
                    // chance", "roughly even chance"), so they are not
                    // used as a predicate.
                    format!(
                        " The next candidate is {} ({}): {} ({:.1}%).",
                        c.name,
                        c.id,
                        c.likelihood_words.words(),
                        c.likelihood * 100.0
                    )
                })
                .unwrap_or_default();
            (
                "candidate".into(),
                format!(
                    "We assess that it is {} ({:.0}–{:.0}%) that this intrusion was conducted by {name} ({id}{aka}).{runner} \
                     We hold this judgement with {conf} confidence: {reasons}.",
                    lead.likelihood_words.words(),
                    lo * 100.0,
                    hi * 100.0
                ),
            )
        }
        Outcome::UnknownCluster
            if a
                .candidates
                .first()
                .is_some_and(|c| c.likelihood > a.likelihood_unknown) =>
        {
            let others: Vec<String> = a
                .candidates
                .iter()
                .skip(1)
                .take(2)
                .map(|c| format!("{} ({}, {:.0}%)", c.name, c.id, c.likelihood * 100.0))
                .collect();
            let lead = &a.candidates[0];
            (
                "unknown".into(),
                format!(
                    "No single known actor stands out: the leading candidate, {} ({}), is only {} ({:.0}%), with {} close behind. \
                     We do not attribute this activity on the evidence available. We hold this judgement with {conf} confidence: {reasons}.",
                    lead.name,
                    lead.id,
                    lead.likelihood_words.words(),
                    lead.likelihood * 100.0,
                    if others.is_empty() { "no other candidate".to_string() } else { others.join(" and ") }
                ),
            )
        }
        Outcome::UnknownCluster => (
            "unknown".into(),
            format!(
                "No actor is named: none of the actors ATT&CK describes fits the observed activity well. It is {} that the activity is by an actor outside that knowledge base (an unreported group, a criminal, a red team or a new cluster: the evidence does not say which; generic tradecraft fits no profile){}. \
                 We hold this judgement with {conf} confidence: {reasons}.",
                a.likelihood_unknown_words.words(),
                a.candidates
                    .first()
                    .map(|c| format!(" (closest: {} ({}), {})", c.name, c.id, c.likelihood_words.words()))
                    .unwrap_or_default()
            ),
        ),
        Outcome::InsufficientEvidence => (
            "insufficient_evidence".into(),
            match a.evidence.discounted.as_slice() {
                [] => "Insufficient evidence for attribution: no ATT&CK technique, software, CVE or infrastructure evidence was observed at medium level or above. No actor is named.".into(),
                // Techniques were seen (the summary counts them): say why
                // none of them was scored rather than deny seeing them.
                left => format!(
                    "Insufficient evidence for attribution: what was observed was left out before scoring ({} item(s); first: {}; all in attribution.json, evidence.discounted), and no other ATT&CK technique, software, CVE or infrastructure evidence was observed at medium level or above. No actor is named.",
                    left.len(),
                    left[0]
                ),
            },
        ),
    }
}

/// Build the assessment.
pub fn build(inputs: &Inputs<'_>) -> Built {
    let findings = inputs.findings;
    let kb = inputs.kb;
    // `pipeline::run` refused a release the knowledge base cannot be shown
    // in before reading the evidence; should a caller skip that check, the
    // run is shown as `auto` would, and the note says which release it is.
    let view = attack_view(kb, inputs.attack_version, findings, inputs.rulesets)
        .unwrap_or_else(|_| attack_view_auto(kb, findings, inputs.rulesets));
    let lookup = tactic_lookup(&view);
    let timeline = Timeline::build(findings, Level::Low, Some(&lookup));
    // One host identity for incidents and scope: FQDN, short name and the
    // addresses the evidence ties to a host.
    let mut host_names = HostNames::from_findings_and_addresses(findings, inputs.host_addresses);
    for ip in inputs.dns_resolvers {
        host_names.learn_resolver(*ip);
    }
    let incidents = build_incidents_with_hosts(
        findings,
        &IncidentConfig {
            min_level: Level::Medium,
            ..IncidentConfig::default()
        },
        Some(&lookup),
        &host_names,
    );
    let scope = Scope::from_findings_with_hosts(findings, Level::Low, Some(&host_names));
    let evidence = case_evidence(inputs, &scope);
    let attribution = Attribution::rank(kb, inputs.profiles, &evidence, &RankOptions::default());

    let technique_views = crate::views::techniques(findings, &view);
    let timeline_views = crate::views::timeline(&timeline, &view);
    let incident_views = crate::views::incidents(&incidents, &view);

    let scope_view = ScopeView {
        hosts: entity_views(&scope.hosts, findings, Level::Medium),
        accounts: entity_views(&scope.accounts, findings, Level::Medium),
        ips: entity_views(&scope.ips, findings, Level::Medium),
        files: entity_views(&scope.files, findings, Level::Medium),
    };
    let containment =
        crate::containment::containment(&scope, findings, inputs.file_hashes, &inputs.policy);

    let candidates = candidate_views(&attribution);
    let (outcome, judgement) = judgement(&attribution);
    let hunts = hunt_views(&attribution, &view);

    let Summary {
        by_level,
        first,
        last,
        verdict,
        headline,
        key_points,
    } = crate::prose::summary(
        inputs,
        &technique_views,
        &attribution,
        scope_view.hosts.len(),
        &incident_views,
        &containment,
    );

    let (detections, total) = appendix(findings, inputs.appendix_limit);

    let low_plus: Vec<Finding> = findings
        .iter()
        .filter(|f| f.level >= Level::Low)
        .cloned()
        .collect();
    let assessment = Assessment {
        schema_version: kahu_report::SCHEMA_VERSION.into(),
        generator: Generator {
            name: "kahu".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        generated_at: Utc::now(),
        case: inputs.case.clone(),
        evidence: EvidenceSummary {
            paths: inputs.evidence_paths.clone(),
            files: inputs.files,
            events: inputs.events,
            warnings: inputs.warnings.len() as u64,
            warning_samples: inputs
                .warnings
                .iter()
                .take(50)
                .map(|w| w.to_string())
                .collect(),
            rules_loaded: inputs.rules_loaded,
            rules_rejected: inputs.rules_rejected,
            scope_limits: inputs.scope_limits.clone(),
        },
        summary: ExecutiveSummary {
            verdict,
            headline,
            key_points,
            first_activity: first,
            last_activity: last,
            hosts_affected: scope_view.hosts.len() as u64,
            accounts_affected: scope_view
                .accounts
                .iter()
                .filter(|a| a.kind == "user")
                .count() as u64,
            detections_by_level: by_level,
        },
        attribution: AttributionSection {
            outcome,
            judgement,
            candidates,
            method: ATTRIBUTION_METHOD.to_string()
                + &attribution
                    .caveats
                    .iter()
                    .map(|c| format!(" {c}"))
                    .collect::<String>(),
            attack_version: attribution.attack_version.clone(),
        },
        attack: AttackRelease {
            version: view.release(),
            requested: view.requested().to_string(),
            note: view.note(),
        },
        techniques: technique_views,
        timeline: timeline_views,
        scope: scope_view,
        incidents: incident_views,
        containment,
        hunts,
        activity: activity(&low_plus, 120),
        detections,
        detections_total: total,
    };

    let stix = bundle(inputs, &assessment, &view);
    let layer = navigator_layer(inputs, &assessment, &attribution, &view);
    let attack_tactics = attack_tactics(findings, &assessment.techniques, &view);
    Built {
        assessment,
        attribution,
        stix,
        layer,
        evidence,
        attack_tactics,
    }
}

/// How the attribution is computed, in the report's words (the run's
/// caveats follow it).
const ATTRIBUTION_METHOD: &str = "The observed ATT&CK techniques and software are compared with each of the 172 ATT&CK groups' known use (overlap features such as BM25 over independent sources, exclusivity-weighted overlap, rare and most exclusive hits, best match to a single prior report); a conditional logit with weights fitted on leave-one-report-out cases from ATT&CK's own citations turns them into likelihoods, with an explicit 'unknown actor' option whose weight depends on how much evidence there is and how well the best candidates explain it (held-out accuracy and calibration in docs/benchmarks/attribution.md; each candidate's feature contributions are in attribution.json). CVE, infrastructure, tooling, victim and port evidence matching an actor's profile is added on top, and thin, generic or technique-only evidence is capped. Likelihood words follow ICD 203; analytic confidence reflects quantity and diversity of evidence and the margin over the runner-up. Attribution from behaviour alone is fallible: corroborate with infrastructure and intelligence.";

/// What to hunt for next when an actor is named: its most exclusive
/// techniques not yet observed.
fn hunt_views(attribution: &Attribution, view: &AttackView<'_>) -> Vec<HuntView> {
    match (&attribution.outcome, attribution.candidates.first()) {
        (Outcome::Attributed { .. }, Some(lead)) => lead
            .hunt_next
            .iter()
            .map(|h| HuntView {
                technique_id: view.technique_id(&h.technique),
                name: h.name.clone(),
                tactics: view
                    .tactics(&h.technique)
                    .iter()
                    .map(|t| t.short_name().to_string())
                    .collect(),
                reason: format!(
                    "Known for {} ({}) and used by only {} of {} groups; not observed in this case.",
                    lead.name, lead.id, h.groups_using, attribution.actors_ranked
                ),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The detections appendix: findings of level low and above, the most
/// severe first up to `limit`, shown in time order; with the total before
/// the cut.
fn appendix(findings: &[Finding], limit: usize) -> (Vec<DetectionView>, u64) {
    let mut appendix: Vec<&Finding> = findings.iter().filter(|f| f.level >= Level::Low).collect();
    let total = appendix.len() as u64;
    appendix.sort_by(|a, b| b.level.cmp(&a.level).then(a.timestamp.cmp(&b.timestamp)));
    appendix.truncate(limit);
    appendix.sort_by_key(|f| f.timestamp);
    (
        appendix.into_iter().map(DetectionView::from).collect(),
        total,
    )
}

/// The case's ATT&CK Navigator layer: techniques seen at medium and above,
/// and, when an actor is named, its known techniques for comparison.
fn navigator_layer(
    inputs: &Inputs<'_>,
    assessment: &Assessment,
    attribution: &Attribution,
    view: &AttackView<'_>,
) -> serde_json::Value {
    let layer_techniques: Vec<kahu_attack::ObservedTechnique> = assessment
        .techniques
        .iter()
        .filter(|t| t.max_level >= Level::Medium)
        .map(|t| kahu_attack::ObservedTechnique {
            id: t.id.clone(),
            count: t.detections,
            comment: format!("{} detection(s): {}", t.detections, t.rules.join("; ")),
        })
        .collect();
    let lead_known: Option<(String, String, Vec<String>)> =
        match (&attribution.outcome, attribution.candidates.first()) {
            (Outcome::Attributed { .. }, Some(c)) => {
                let mut known: Vec<String> = c
                    .supporting
                    .iter()
                    .filter(|e| e.id.starts_with('T'))
                    .map(|e| e.id.clone())
                    .collect();
                known.extend(c.hunt_next.iter().map(|h| h.technique.clone()));
                Some((c.id.clone(), c.name.clone(), known))
            }
            _ => None,
        };
    kahu_attack::case_layer(
        view,
        &format!("kahu: {}", inputs.case.name),
        &layer_techniques,
        lead_known
            .as_ref()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_slice())),
    )
}

fn rule_source(rule: &kahu_sigma::SigmaRule) -> String {
    // The STIX indicator carries the whole rule or nothing: a cut rule
    // would be a wrong pattern. Read as the report's appendix reads it
    // (bundled text, else a regular file only: never a FIFO).
    crate::write::rule_text(&rule.origin)
        .map(|text| crate::write::rule_document(&text, &rule.id))
        .filter(|text| text.len() < 256 * 1024)
        .unwrap_or_default()
}

fn observables(f: &Finding, out: &mut BTreeSet<Observable>) {
    for (k, v) in &f.fields {
        let k = k.to_ascii_lowercase();
        if (k.ends_with("ip")
            || k == "c-ip"
            || k.contains("address")
            || k.starts_with("id.") && k.ends_with("_h"))
            // parse_ip maps ::ffff:a.b.c.d (dual-stack peers) to IPv4.
            && let Some(ip) = kahu_reconstruct::classify::parse_ip(v)
            && kahu_reconstruct::classify::classify_ip(ip)
                == kahu_reconstruct::classify::IpClass::External
        {
            out.insert(match ip {
                IpAddr::V4(_) => Observable::Ipv4(ip.to_string()),
                IpAddr::V6(_) => Observable::Ipv6(ip.to_string()),
            });
        }
        // People's accounts only: SYSTEM, LOCAL SERVICE, ANONYMOUS LOGON
        // and computer accounts tell a partner nothing, and a group event's
        // TargetUserName is the group (`Administrators`).
        let group_event = f
            .event_id
            .is_some_and(|id| kahu_reconstruct::classify::GROUP_EVENTS.contains(&id));
        if (k == "targetusername" && !group_event || k == "user" || k == "subjectusername")
            && kahu_reconstruct::classify::normalize_account(v).is_some_and(|n| {
                kahu_reconstruct::classify::classify_account(&n)
                    == kahu_reconstruct::classify::AccountClass::User
            })
        {
            out.insert(Observable::Account(v.clone()));
        }
        if k == "targetfilename" {
            let name = v.rsplit(['\\', '/']).next().unwrap_or(v).to_string();
            if !name.is_empty() {
                out.insert(Observable::File { name, sha256: None });
            }
        }
    }
}

fn bundle(inputs: &Inputs<'_>, a: &Assessment, view: &AttackView<'_>) -> serde_json::Value {
    let rules = rule_tags(inputs.rulesets);
    let mut indicators: BTreeMap<String, RuleIndicator> = BTreeMap::new();
    let mut sightings: BTreeMap<String, (Sighting, BTreeSet<Observable>)> = BTreeMap::new();
    // Intelligence received under a stricter TLP than this product's stays
    // out of the bundle.
    let product_tlp = a.case.tlp;
    let mut withheld: BTreeSet<&str> = BTreeSet::new();
    for f in inputs.findings.iter().filter(|f| significant(f)) {
        let Some(t) = f.timestamp else { continue };
        if f.kind == FindingKind::Ioc
            && kahu_finding::field(f, "ioc_tlp")
                .and_then(kahu_intel::Tlp::parse)
                .is_some_and(|tlp| !tlp.may_share_in(product_tlp))
        {
            withheld.insert(&f.rule_id);
            continue;
        }
        // Every indicator gets a description (STIX best practice {303}):
        // what it detects, where it came from.
        let (pattern_type, pattern, description) = match f.kind {
            FindingKind::Sigma => match rules.get(&*f.rule_id) {
                Some(r) => {
                    let src = rule_source(r);
                    let what = r
                        .description
                        .as_deref()
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                        .map_or_else(|| format!("Detects: {}.", r.title), str::to_string);
                    (
                        "sigma",
                        if src.is_empty() {
                            format!("title: {}\nid: {}\n", r.title, r.id)
                        } else {
                            src
                        },
                        format!(
                            "{what} Sigma rule {} (level {}) that fired in this case.",
                            r.id,
                            r.level.as_str()
                        ),
                    )
                }
                None => continue,
            },
            FindingKind::Ioc => match inputs
                .iocs
                .indicators()
                .iter()
                .find(|i| *i.id() == *f.rule_id)
            {
                Some(i) => (
                    "stix",
                    i.stix_pattern(),
                    match i.meta.description.as_deref() {
                        Some(d) if !d.trim().is_empty() => {
                            format!("{} (indicator from {})", d.trim(), i.meta.source)
                        }
                        _ => format!(
                            "Indicator {} from {} that matched evidence in this case.",
                            i.title(),
                            i.meta.source
                        ),
                    },
                ),
                None => continue,
            },
            _ => continue,
        };
        indicators
            .entry(f.rule_id.to_string())
            .or_insert_with(|| RuleIndicator {
                rule_id: f.rule_id.to_string(),
                title: f.title.to_string(),
                description: Some(description),
                pattern,
                pattern_type,
                techniques: f.techniques.iter().map(|t| view.technique_id(t)).collect(),
                valid_from: None,
            });
        let e = sightings.entry(f.rule_id.to_string()).or_insert_with(|| {
            (
                Sighting {
                    rule_id: f.rule_id.to_string(),
                    first_seen: t,
                    last_seen: t,
                    count: 0,
                    observables: Vec::new(),
                },
                BTreeSet::new(),
            )
        });
        e.0.first_seen = e.0.first_seen.min(t);
        e.0.last_seen = e.0.last_seen.max(t);
        e.0.count += 1;
        if e.1.len() < 10 {
            observables(f, &mut e.1);
        }
    }
    let candidates: Vec<CandidateActor> = a
        .attribution
        .candidates
        .iter()
        .filter(|c| a.attribution.outcome == "candidate" || c.rank == 1 && c.probability >= 0.2)
        .take(3)
        .map(|c| CandidateActor {
            group_id: c.group_id.clone(),
            name: c.name.clone(),
            aliases: c.aliases.clone(),
            likelihood: c.likelihood.clone(),
            confidence: c.confidence.clone(),
            probability: c.probability,
        })
        .collect();
    stix::build_bundle(&BundleInput {
        producer: a.case.producer.clone(),
        victim: a.case.victim.clone(),
        case_name: a.case.name.clone(),
        summary: a.summary.headline.clone(),
        created: a.generated_at,
        indicators: indicators.into_values().collect(),
        sightings: sightings
            .into_values()
            .map(|(mut s, o)| {
                s.observables = o.into_iter().collect();
                s
            })
            .collect(),
        techniques: a
            .techniques
            .iter()
            .filter(|t| t.max_level >= Level::Medium)
            .map(|t| (t.id.clone(), t.name.clone(), t.tactics.clone()))
            .collect(),
        candidates,
        attributed: a.attribution.outcome == "candidate",
        first_seen: a.summary.first_activity,
        last_seen: a.summary.last_activity,
        tlp: Some(a.case.tlp),
        withheld: withheld.len(),
    })
}

#[cfg(test)]
mod tests {
    use kahu_attack::{Attribution, CaseEvidence, KnowledgeBase, Outcome, RankOptions};

    // STIX user-account observables are people's accounts: not SYSTEM,
    // LOCAL SERVICE, a computer account, nor a group a 4732 names.
    #[test]
    fn only_peoples_accounts_become_user_account_observables() {
        use kahu_event::{Location, Provenance};
        use kahu_finding::{Finding, FindingKind, Level};
        use std::sync::Arc;
        let f = |eid: u32, fields: &[(&str, &str)]| Finding {
            kind: FindingKind::Sigma,
            rule_id: Arc::from("r"),
            title: Arc::from("t"),
            level: Level::High,
            techniques: vec![],
            software: vec![],
            groups: vec![],
            timestamp: None,
            host: None,
            channel: Some(Arc::from("Security")),
            event_id: Some(eid),
            fields: fields
                .iter()
                .map(|(k, v)| (Arc::from(*k), v.to_string()))
                .collect(),
            provenance: Provenance::new(Arc::from("e.evtx"), Location::Record(1)),
            related: vec![],
        };
        let mut out = std::collections::BTreeSet::new();
        super::observables(
            &f(
                4732,
                &[
                    ("TargetUserName", "Administrators"),
                    ("SubjectUserName", "CORP\\alice"),
                ],
            ),
            &mut out,
        );
        super::observables(
            &f(
                4688,
                &[
                    ("User", "NT AUTHORITY\\SYSTEM"),
                    ("SubjectUserName", "WS01$"),
                    ("TargetUserName", "LOCAL SERVICE"),
                ],
            ),
            &mut out,
        );
        let accounts: Vec<String> = out
            .iter()
            .filter_map(|o| match o {
                kahu_report::stix::Observable::Account(a) => Some(a.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(accounts, ["CORP\\alice"]);
    }

    // Generic tradecraft (a Unix shell, sudo) fits no actor: the judgement
    // names none and does not call the activity a new cluster (it said "it
    // is almost certain that it belongs to … a new cluster" on a reverse
    // shell and a sudo).
    #[test]
    fn generic_activity_is_unattributed_not_a_new_cluster() {
        let mut e = CaseEvidence::default();
        e.add_technique("T1059.004");
        e.add_technique("T1548.003");
        let a = Attribution::rank(KnowledgeBase::embedded(), &[], &e, &RankOptions::default());
        assert_eq!(a.outcome, Outcome::UnknownCluster);
        let (kind, text) = super::judgement(&a);
        assert_eq!(kind, "unknown");
        assert!(text.starts_with("No actor is named"), "{text}");
        assert!(text.contains("the evidence does not say which"), "{text}");
        assert!(
            !text.contains("belongs to an actor not described"),
            "{text}"
        );
    }
}
