//! The answer key written next to the evidence (`ground-truth.json`).

use serde::{Deserialize, Serialize};

/// Which kind of kahu detector is expected to surface a malicious record.
///
/// Not every malicious record is suspicious on its own: a successful SSH
/// logon is only damning after forty failures, a network logon only
/// because of where it comes from. Scoring a Sigma rule set against records
/// no single-event rule could recognise would reward over-broad rules, so
/// each record says what should find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// A single-event Sigma rule (kahu's bundled set) should match it.
    Sigma,
    /// An indicator of the attacker's infrastructure (IP, domain) is in it.
    Ioc,
    /// Sequence or aggregation logic (brute force then success, beaconing,
    /// lateral-movement graph, process tree) is needed.
    Correlation,
}

/// One malicious record of the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaliciousEvent {
    /// File path relative to the evidence directory, `/`-separated.
    pub file: String,
    /// 1-based line number in that file.
    pub line: u64,
    /// Storyline step id (see [`Step::id`]).
    pub step: String,
    /// ATT&CK technique ids evidenced by this record.
    pub techniques: Vec<String>,
    /// Which detector should find it.
    pub detector: Detector,
}

/// One step of the intrusion storyline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Short stable id (`exploit`, `webshell`…).
    pub id: String,
    /// What happened, in a sentence.
    pub description: String,
    /// ATT&CK tactic of the step.
    pub tactic: String,
    /// ATT&CK technique ids used in the step.
    pub techniques: Vec<String>,
    /// ATT&CK software ids used in the step.
    pub software: Vec<String>,
}

/// The attacker's infrastructure, as an analyst would list indicators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Infrastructure {
    /// Public IPs used for scanning, exploitation and web-shell access.
    pub access_ips: Vec<String>,
    /// The compromised SOHO router used for command and control and exfiltration.
    pub c2_ips: Vec<String>,
    /// Domains resolving to the C2.
    pub domains: Vec<String>,
    /// Web shell paths on the web server.
    pub webshells: Vec<String>,
    /// File paths of attacker tools dropped on hosts.
    pub tools: Vec<String>,
}

/// Case metadata: who the victim is, for the pipeline's attribution priors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseMeta {
    /// Human name of the case.
    pub name: String,
    /// Victim sector (`government`).
    pub sector: String,
    /// ISO country code of the victim (`NZ`).
    pub country: String,
    /// Region (`Oceania`).
    pub region: String,
    /// The victim organisation (fictional).
    pub organisation: String,
    /// The victim's AD / DNS domain.
    pub domain: String,
    /// First and last day of evidence (UTC, RFC 3339).
    pub start: String,
    /// Last instant covered by the evidence.
    pub end: String,
    /// Time zone of the victim, for display.
    pub timezone: String,
    /// Statement that everything is invented.
    pub note: String,
}

/// Size of one generated evidence file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Path relative to the evidence directory.
    pub file: String,
    /// Number of records (lines that are not headers).
    pub records: u64,
}

/// Everything a test or a demo needs to score kahu on the generated case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Seed the case was generated from.
    pub seed: u64,
    /// Generator version; output for one seed is stable within a version.
    pub generator_version: u32,
    /// The victim.
    pub case: CaseMeta,
    /// The threat actor whose public tradecraft the storyline follows.
    /// This is the answer attribution should reach; it is not in `case.json`.
    pub modelled_actor: String,
    /// ATT&CK group id of that actor.
    pub modelled_actor_attack_id: String,
    /// CVEs exploited.
    pub cves: Vec<String>,
    /// Attacker infrastructure and artefacts.
    pub infrastructure: Infrastructure,
    /// Hosts that the attacker touched.
    pub compromised_hosts: Vec<String>,
    /// Accounts the attacker used or stole.
    pub compromised_accounts: Vec<String>,
    /// The storyline, in order.
    pub steps: Vec<Step>,
    /// Evidence directory relative to the output directory (`evidence`).
    pub evidence_dir: String,
    /// Every generated file with its record count.
    pub files: Vec<FileInfo>,
    /// Total records generated.
    pub total_records: u64,
    /// Every malicious record, ordered by file then line.
    pub malicious: Vec<MaliciousEvent>,
}

impl GroundTruth {
    /// Technique ids across all steps, sorted and deduplicated.
    pub fn techniques(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .steps
            .iter()
            .flat_map(|s| s.techniques.iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}
