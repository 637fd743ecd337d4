//! `Assessment`: the whole result of a run, as written to `assessment.json`
//! and rendered into `report.html`.
//!
//! These types are the published contract (see `SCHEMA_VERSION` and the
//! JSON Schema in `crates/report/assessment.schema.json`); they are deliberately
//! separate from the engine's internal types so that refactoring the
//! engine never changes the file partners parse.

use crate::containment::Containment;
use chrono::{DateTime, Utc};
use kahu_finding::{Finding, Level, Tlp};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the `assessment.json` schema. Bump the major part on any
/// incompatible change.
pub const SCHEMA_VERSION: &str = "1.5.0";

/// The assessment of one case.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Assessment {
    /// Schema version of this document ([`SCHEMA_VERSION`]).
    pub schema_version: String,
    /// The tool that produced it.
    pub generator: Generator,
    /// When it was produced.
    pub generated_at: DateTime<Utc>,
    /// The case and its context.
    pub case: CaseInfo,
    /// What evidence was read.
    pub evidence: EvidenceSummary,
    /// The bottom line.
    pub summary: ExecutiveSummary,
    /// Who is likely behind it, and why.
    pub attribution: AttributionSection,
    /// The ATT&CK release the techniques, tactics, timeline phases and
    /// incidents are shown in (added in 1.3.0; absent in older files,
    /// which are v18.1).
    #[serde(default)]
    pub attack: AttackRelease,
    /// ATT&CK techniques observed, with the evidence behind each.
    pub techniques: Vec<TechniqueView>,
    /// Deduplicated detections in kill-chain order.
    pub timeline: Vec<TimelineEntry>,
    /// Hosts, accounts, addresses and files involved.
    pub scope: ScopeView,
    /// Detections chained into incidents.
    pub incidents: Vec<IncidentView>,
    /// What to block, reset, isolate and remove.
    pub containment: Containment,
    /// Hunts recommended from the leading candidate's unobserved techniques.
    pub hunts: Vec<HuntView>,
    /// Detections per time bucket, for the timeline chart.
    pub activity: Vec<ActivityBucket>,
    /// Detections (appendix), at most [`Assessment::detections_total`].
    pub detections: Vec<DetectionView>,
    /// Number of detections before the appendix was capped.
    pub detections_total: u64,
}

fn auto() -> String {
    "auto".into()
}

/// The ATT&CK release a run is shown in (one per run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AttackRelease {
    /// `18.1` or `19`.
    pub version: String,
    /// What was asked with `--attack-version`: `auto` (decided from the
    /// knowledge base and the evidence), `18.1` or `19` (added in 1.4.0;
    /// absent in older files, which were `auto`).
    #[serde(default = "auto")]
    pub requested: String,
    /// Why this release, and how the knowledge base's techniques were
    /// mapped to it.
    pub note: String,
}

impl AttackRelease {
    /// Whether it is ATT&CK v19 or later (Stealth and Defense Impairment
    /// instead of Defense Evasion).
    pub fn is_v19(&self) -> bool {
        self.version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .is_some_and(|m| m >= 19)
    }

    /// Tactic short names to show, in kill-chain order: the release's
    /// matrix, plus any tactic of the other release that `present` still
    /// names (so nothing observed is hidden).
    pub fn tactics<'a>(&self, present: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
        let present: Vec<&str> = present.into_iter().collect();
        let matrix = kahu_finding::Tactic::matrix(self.is_v19());
        kahu_finding::Tactic::ALL
            .into_iter()
            .filter(|t| matrix.contains(t) || present.contains(&t.short_name()))
            .map(|t| t.short_name())
            .collect()
    }
}

/// Producer software.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Generator {
    /// `kahu`.
    pub name: String,
    /// Version.
    pub version: String,
}

/// The case and its context.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CaseInfo {
    /// Case name.
    pub name: String,
    /// Who produced the assessment.
    pub producer: String,
    /// Affected organisation, if it may be named.
    pub victim: Option<String>,
    /// Victim sectors (for victimology evidence).
    pub sectors: Vec<String>,
    /// Victim countries/regions.
    pub regions: Vec<String>,
    /// Traffic Light Protocol marking of the report.
    // Written as its label (`TLP:AMBER`), the contract's form; the doc line
    // above is the schema's description, so it stays as it was.
    #[serde(with = "kahu_finding::tlp::as_label")]
    #[schemars(with = "String")]
    pub tlp: Tlp,
    /// Analyst enrichment of infrastructure, as `KIND` or `IP=KIND`
    /// (e.g. `203.0.113.7=soho-router`): used as attribution evidence and
    /// shown in the report as analyst input.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub infrastructure: Vec<crate::InfraNote>,
}

/// Everything empty, marked TLP:AMBER (the default of `kahu assess --tlp`).
impl Default for CaseInfo {
    fn default() -> Self {
        CaseInfo {
            name: String::new(),
            producer: String::new(),
            victim: None,
            sectors: Vec::new(),
            regions: Vec::new(),
            tlp: Tlp::Amber,
            infrastructure: Vec::new(),
        }
    }
}

/// What was read.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
pub struct EvidenceSummary {
    /// Paths given.
    pub paths: Vec<String>,
    /// Files read.
    pub files: u64,
    /// Events read.
    pub events: u64,
    /// Problems reported while reading.
    pub warnings: u64,
    /// The first warnings, as text (file, position, reason).
    pub warning_samples: Vec<String>,
    /// Rules used, and rules rejected.
    pub rules_loaded: u64,
    /// Rules that could not be used.
    pub rules_rejected: u64,
    /// Limits the analyst put on what was examined (`--from/--to`, hosts,
    /// channels, event ids), each with the number of events it left out.
    /// A report on part of the evidence must say so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope_limits: Vec<String>,
}

/// Overall verdict.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// High or critical detections: treat as a compromise.
    CompromiseDetected,
    /// Only low/medium detections: investigate.
    SuspiciousActivity,
    /// Evidence was read and nothing fired.
    NoDetections,
    /// Too little evidence was readable to conclude anything.
    InsufficientEvidence,
}

/// The bottom line for executives.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExecutiveSummary {
    /// Verdict.
    pub verdict: Verdict,
    /// One-sentence headline.
    pub headline: String,
    /// Short key points.
    pub key_points: Vec<String>,
    /// Earliest malicious activity.
    pub first_activity: Option<DateTime<Utc>>,
    /// Latest malicious activity.
    pub last_activity: Option<DateTime<Utc>>,
    /// Hosts with detections.
    pub hosts_affected: u64,
    /// Accounts implicated.
    pub accounts_affected: u64,
    /// Detections per level.
    pub detections_by_level: BTreeMap<String, u64>,
}

/// One evidence item for or against a candidate.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EvidenceItemView {
    /// `technique`, `software`, `cve`, `infrastructure`, `victimology`, `time`…
    pub kind: String,
    /// The item (`T1505.003`, `CVE-2021-26084`…).
    pub value: String,
    /// Explanation (e.g. "used by 23 of 172 groups").
    pub detail: String,
    /// Contribution to the score.
    pub weight: f64,
}

/// A technique reference.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TechniqueRef {
    /// ATT&CK id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A candidate threat actor.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CandidateView {
    /// 1 = leading candidate.
    pub rank: u32,
    /// ATT&CK group id.
    pub group_id: String,
    /// Name.
    pub name: String,
    /// Aliases (APT40, TEMP.Periscope…).
    pub aliases: Vec<String>,
    /// Raw score.
    pub score: f64,
    /// Calibrated probability (0–1).
    pub probability: f64,
    /// ICD 203 likelihood words for the probability.
    pub likelihood: String,
    /// Analytic confidence: low, moderate or high.
    pub confidence: String,
    /// Evidence supporting the hypothesis.
    pub supporting: Vec<EvidenceItemView>,
    /// Evidence against it.
    pub contradicting: Vec<EvidenceItemView>,
    /// The candidate's known techniques not observed (hunting checklist).
    pub not_observed: Vec<TechniqueRef>,
}

/// Attribution judgement.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AttributionSection {
    /// `candidate` (a leading candidate), `unknown` (nothing fits: possibly
    /// a new cluster) or `insufficient_evidence`.
    pub outcome: String,
    /// The judgement in estimative language.
    pub judgement: String,
    /// Ranked candidates.
    pub candidates: Vec<CandidateView>,
    /// How the ranking was computed and its known limits.
    pub method: String,
    /// ATT&CK version of the knowledge base.
    pub attack_version: String,
}

/// An observed technique.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TechniqueView {
    /// ATT&CK id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Tactics (kill-chain phases).
    pub tactics: Vec<String>,
    /// Detections carrying it.
    pub detections: u64,
    /// Highest level of those detections; the blanket tags of a broad rule
    /// (four techniques or more) count as low. Techniques seen only below
    /// medium are listed for the analyst but are not counted in the
    /// headline, the STIX bundle or the Navigator layer.
    #[serde(default)]
    pub max_level: Level,
    /// Hosts involved.
    pub hosts: Vec<String>,
    /// Rule titles.
    pub rules: Vec<String>,
    /// First detection.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last detection.
    pub last_seen: Option<DateTime<Utc>>,
    /// Provenance of sample evidence.
    pub evidence: Vec<String>,
    /// Named at medium or above only by broad rules' blanket tags (hence
    /// `max_level` low): listed, said in the headline, not counted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub blanket_only: bool,
}

/// One line of the timeline (a deduplicated detection).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TimelineEntry {
    /// Kill-chain phase (ATT&CK tactic) or `unclassified`.
    pub phase: String,
    /// First time.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last time.
    pub last_seen: Option<DateTime<Utc>>,
    /// Occurrences merged into this line.
    pub count: u64,
    /// Rule title.
    pub title: String,
    /// Rule id.
    pub rule_id: String,
    /// Level.
    pub level: Level,
    /// Host.
    pub host: Option<String>,
    /// Techniques, in the release of [`Assessment::attack`] (since 1.4.0;
    /// before, as the rule tagged them).
    pub techniques: Vec<String>,
    /// The techniques as the rule tagged them, when these differ from
    /// `techniques` (another ATT&CK release); empty otherwise (added in
    /// 1.4.0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub techniques_tagged: Vec<String>,
    /// Key field summary.
    pub detail: String,
    /// Provenance of the first occurrence.
    pub provenance: String,
}

/// An entity in scope.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EntityView {
    /// The host name, account, IP or path.
    pub value: String,
    /// Sub-kind: `internal`/`external` for IPs, `machine`/`service`/`user` for accounts, `webshell`/`tool` for files…
    pub kind: String,
    /// First seen.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last seen.
    pub last_seen: Option<DateTime<Utc>>,
    /// Detections implicating it.
    pub detections: u64,
    /// Rule titles implicating it (a few).
    pub rules: Vec<String>,
}

/// Scope of the compromise.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Default)]
pub struct ScopeView {
    /// Hosts.
    pub hosts: Vec<EntityView>,
    /// Accounts.
    pub accounts: Vec<EntityView>,
    /// Source and destination addresses.
    pub ips: Vec<EntityView>,
    /// Files (web shells, tools, archives).
    pub files: Vec<EntityView>,
}

/// An incident: related detections chained together.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct IncidentView {
    /// Stable id within the case.
    pub id: String,
    /// Title.
    pub title: String,
    /// Severity: the highest detection level, raised one step for 3+
    /// tactics and one for 3+ hosts.
    pub severity: Level,
    /// Why the severity is above the highest detection level ("raised from
    /// high: 4 tactics"); absent when it is not (since schema 1.5.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_reason: Option<String>,
    /// Hosts.
    pub hosts: Vec<String>,
    /// Accounts.
    pub accounts: Vec<String>,
    /// Start.
    pub first_seen: Option<DateTime<Utc>>,
    /// End.
    pub last_seen: Option<DateTime<Utc>>,
    /// Kill-chain phases covered, in order.
    pub phases: Vec<String>,
    /// Techniques, in the release of [`Assessment::attack`] (since 1.4.0;
    /// before, as the rules tagged them).
    pub techniques: Vec<String>,
    /// The techniques as the rules tagged them, when these differ from
    /// `techniques` (another ATT&CK release); empty otherwise (added in
    /// 1.4.0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub techniques_tagged: Vec<String>,
    /// Evidence lines (time, rule, host), in kill-chain order.
    pub evidence: Vec<String>,
}

/// A recommended hunt.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HuntView {
    /// Technique to hunt for.
    pub technique_id: String,
    /// Its name.
    pub name: String,
    /// Its tactics.
    pub tactics: Vec<String>,
    /// Why.
    pub reason: String,
}

impl Assessment {
    /// The JSON Schema of `assessment.json`.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Assessment)).unwrap_or_default()
    }
}

/// One detection in the appendix.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DetectionView {
    /// When.
    pub timestamp: Option<DateTime<Utc>>,
    /// Level.
    pub level: Level,
    /// `sigma`, `correlation`, `ioc`, `yara`, `analytic`.
    pub kind: String,
    /// Rule or indicator id.
    pub rule_id: String,
    /// Title.
    pub title: String,
    /// ATT&CK techniques.
    pub techniques: Vec<String>,
    /// Host.
    pub host: Option<String>,
    /// Channel.
    pub channel: Option<String>,
    /// Windows event id.
    pub event_id: Option<u32>,
    /// Key fields of the matched event.
    pub fields: Vec<(String, String)>,
    /// File, archive member and record/line.
    pub provenance: String,
}

impl From<&Finding> for DetectionView {
    fn from(f: &Finding) -> Self {
        DetectionView {
            timestamp: f.timestamp,
            level: f.level,
            kind: f.kind.as_str().to_string(),
            rule_id: f.rule_id.to_string(),
            title: f.title.to_string(),
            techniques: f.techniques.iter().map(|t| t.to_string()).collect(),
            host: f.host.as_deref().map(str::to_string),
            channel: f.channel.as_deref().map(str::to_string),
            event_id: f.event_id,
            fields: f
                .fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            provenance: f.provenance.to_string(),
        }
    }
}

/// Detections in one time bucket.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ActivityBucket {
    /// Bucket start.
    pub start: DateTime<Utc>,
    /// Bucket length in seconds.
    pub seconds: u64,
    /// Detections per level in the bucket.
    pub counts: BTreeMap<String, u64>,
}

/// Bucket findings over their time span into at most `max_buckets` equal
/// buckets (whole hours or days, whichever fits).
pub fn activity(findings: &[Finding], max_buckets: usize) -> Vec<ActivityBucket> {
    let times: Vec<DateTime<Utc>> = findings.iter().filter_map(|f| f.timestamp).collect();
    let (Some(min), Some(max)) = (times.iter().min(), times.iter().max()) else {
        return Vec::new();
    };
    let span = (*max - *min).num_seconds().max(1) as u64;
    let mut size = 3600u64;
    for candidate in [
        3600u64,
        3 * 3600,
        6 * 3600,
        12 * 3600,
        86_400,
        7 * 86_400,
        30 * 86_400,
    ] {
        size = candidate;
        if span / candidate < max_buckets.max(1) as u64 {
            break;
        }
    }
    let start = min.timestamp() - min.timestamp().rem_euclid(size as i64);
    let n = (((max.timestamp() - start) as u64) / size + 1) as usize;
    let mut buckets: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); n];
    for f in findings {
        if let Some(t) = f.timestamp {
            let i = ((t.timestamp() - start) as u64 / size) as usize;
            if let Some(b) = buckets.get_mut(i) {
                *b.entry(f.level.as_str().to_string()).or_insert(0) += 1;
            }
        }
    }
    buckets
        .into_iter()
        .enumerate()
        .map(|(i, counts)| ActivityBucket {
            start: DateTime::from_timestamp(start + (i as i64) * size as i64, 0).unwrap_or(*min),
            seconds: size,
            counts,
        })
        .collect()
}
