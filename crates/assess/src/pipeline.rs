//! `assess`: the whole run, from evidence paths to the written outputs.

use crate::assemble::{self, Inputs};
use crate::detect::Progress;
use crate::detection::{self, DetectConfig, FeedLoad};
use crate::warning::RunWarning;
use anyhow::{Context, Result};
use kahu_attack::{ActorProfile, KnowledgeBase};
use kahu_case::DocKind;
use kahu_finding::Finding;
use kahu_reconstruct::AnalyticsReport;
use kahu_report::Assessment;
use kahu_report::assessment::CaseInfo;
use kahu_sigma::LoadOptions;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to assess and where to write it.
#[derive(Debug, Clone)]
pub struct AssessConfig {
    /// Evidence files, directories or archives.
    pub evidence: Vec<PathBuf>,
    /// Sigma rules added to kahu's bundled set.
    pub rules: Vec<PathBuf>,
    /// Leave kahu's bundled rules out.
    pub no_bundled_rules: bool,
    /// IOC feeds (STIX 2.1, MISP, CSV, plain lists).
    pub iocs: Vec<PathBuf>,
    /// The TLP of indicators their feed left unmarked (TLP:RED unless told).
    pub ioc_tlp: crate::UnmarkedTlp,
    /// YARA rule files or directories, run over the evidence files.
    pub yara: Vec<PathBuf>,
    /// Output directory.
    pub out: PathBuf,
    /// Case context (name, victim sector and region…).
    pub case: CaseInfo,
    /// A newer ATT&CK STIX bundle instead of the embedded v18.1.
    pub attack_bundle: Option<PathBuf>,
    /// The ATT&CK release techniques and tactics are shown in
    /// (`--attack-version`; `Auto` decides from the knowledge base and the
    /// evidence).
    pub attack_version: kahu_attack::AttackVersion,
    /// Extra actor profiles.
    pub profiles: Vec<PathBuf>,
    /// Most detections listed in the report's appendix.
    pub appendix_limit: usize,
    /// Values for Sigma `|expand` placeholders (`%name%`).
    pub placeholders: std::collections::HashMap<String, Vec<String>>,
    /// Persist events, findings and documents in `out/case.sqlite` for
    /// `kahu serve` (evidence already in the case is not stored twice).
    pub store_case: bool,
    /// Which events the case store keeps (default: every event).
    pub case_events: crate::store::CaseEvents,
    /// Rules left out or releveled (default: kahu's shipped list of
    /// known-noisy rules).
    pub tuning: kahu_sigma::Tuning,
    /// How bursts of repeats are collapsed into one finding with a count.
    pub repeats: kahu_reconstruct::RepeatConfig,
    /// Which events to assess (time window, hosts, channels, event ids).
    pub filter: kahu_event::EventFilter,
    /// Match indicators only inside their STIX validity window.
    pub ioc_strict_validity: bool,
    /// Rule statuses to load (`None`: stable, test and experimental).
    pub rule_statuses: Option<Vec<kahu_sigma::Status>>,
    /// Run the Sigma detection on this engine (`None`: kahu's own pass);
    /// see [`DetectConfig::engine`].
    pub engine: Option<std::sync::Arc<dyn crate::engine::DetectionEngine>>,
}

impl AssessConfig {
    /// A configuration with defaults for everything but the evidence.
    pub fn new(evidence: Vec<PathBuf>, out: PathBuf) -> Self {
        AssessConfig {
            evidence,
            rules: Vec::new(),
            no_bundled_rules: false,
            iocs: Vec::new(),
            ioc_tlp: Default::default(),
            yara: Vec::new(),
            out,
            case: CaseInfo {
                name: "Unnamed case".into(),
                producer: "kahu user".into(),
                tlp: kahu_intel::Tlp::Amber,
                ..Default::default()
            },
            attack_bundle: None,
            attack_version: Default::default(),
            profiles: Vec::new(),
            appendix_limit: 2000,
            store_case: true,
            case_events: Default::default(),
            placeholders: Default::default(),
            tuning: kahu_sigma::Tuning::shipped(),
            repeats: Default::default(),
            filter: Default::default(),
            ioc_strict_validity: false,
            rule_statuses: None,
            engine: None,
        }
    }
}

/// What a run produced.
pub struct AssessRun {
    /// The assessment (also written as `assessment.json`).
    pub assessment: Assessment,
    /// Every finding, in timeline order.
    pub findings: Vec<Finding>,
    /// The analytics report (logons, lateral movement graph…).
    pub analytics: AnalyticsReport,
    /// Evidence, feed and correlation warnings.
    pub warnings: Vec<RunWarning>,
    /// How each IOC feed loaded.
    pub feeds: Vec<FeedLoad>,
    /// Rules and correlation rules that could not be used, with the reason.
    pub rule_errors: Vec<String>,
    /// Tuning that applied to no loaded rule (`LoadedRules::notes`).
    pub rule_notes: Vec<String>,
    /// Where the rules came from, with counts.
    pub rule_sources: Vec<String>,
    /// Files written.
    pub written: Vec<PathBuf>,
    /// Seconds spent.
    pub elapsed_seconds: f64,
}

impl AssessConfig {
    /// The detection stage of this assessment.
    pub fn detection(&self) -> DetectConfig {
        DetectConfig {
            evidence: self.evidence.clone(),
            rules: self.rules.clone(),
            bundled_rules: !self.no_bundled_rules,
            load: LoadOptions {
                placeholders: self.placeholders.clone(),
                tuning: self.tuning.clone(),
                statuses: self
                    .rule_statuses
                    .clone()
                    .unwrap_or_else(|| LoadOptions::default().statuses),
                ..LoadOptions::default()
            },
            iocs: self.iocs.clone(),
            ioc_strict_validity: self.ioc_strict_validity,
            ioc_tlp: self.ioc_tlp.clone(),
            yara: self.yara.clone(),
            case_dir: self.store_case.then(|| self.out.clone()),
            case_events: self.case_events,
            case_is_this_evidence: true,
            analytics: true,
            repeats: self.repeats,
            filter: self.filter.clone(),
            engine: self.engine.clone(),
        }
    }

    fn knowledge(&self) -> Result<(Option<KnowledgeBase>, Vec<ActorProfile>)> {
        let kb = match &self.attack_bundle {
            Some(p) => Some(
                KnowledgeBase::from_stix_bundle(p)
                    .with_context(|| format!("cannot load ATT&CK bundle {}", p.display()))?,
            ),
            None => None,
        };
        let mut profiles = kahu_attack::actor_profiles();
        for p in &self.profiles {
            kahu_attack::add_analyst_profile(
                &mut profiles,
                ActorProfile::load(p)
                    .with_context(|| format!("cannot load actor profile {}", p.display()))?,
            );
        }
        Ok((kb, profiles))
    }
}

/// Run the assessment and write every output into `cfg.out`.
pub fn run(cfg: &AssessConfig, progress: &dyn Progress) -> Result<AssessRun> {
    let started = Instant::now();
    crate::guard::refuse_output_dir_on_evidence(
        &cfg.out,
        crate::write::OUTPUT_NAMES,
        &cfg.evidence,
    )?;
    // An output named like a partner's feed (`stix-bundle.json`) or a rule
    // must not replace the file this run reads.
    let written: Vec<PathBuf> = crate::write::OUTPUT_NAMES
        .iter()
        .map(|n| cfg.out.join(n))
        .collect();
    let read: Vec<PathBuf> = [&cfg.rules, &cfg.iocs, &cfg.yara, &cfg.profiles]
        .into_iter()
        .flatten()
        .chain(cfg.attack_bundle.iter())
        .cloned()
        .collect();
    crate::guard::refuse_outputs_on_inputs(
        &written.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        &read,
    )?;
    let (kb_owned, profiles) = cfg.knowledge()?;
    let kb = kb_owned
        .as_ref()
        .unwrap_or_else(|| KnowledgeBase::embedded());
    // Refuse a release the knowledge base cannot be shown in before the
    // evidence is read, not after.
    kahu_attack::AttackView::select(kb, cfg.attack_version, [], |_| false)?;
    let det = detection::detect(&cfg.detection(), progress)?;
    progress.phase_done(&format!(
        "{} files, {} events, {} findings",
        det.files.len(),
        det.events,
        det.findings.len()
    ));
    progress.phase_start("reconstruct and attribute");
    let analytics = det
        .analytics
        .unwrap_or_else(|| kahu_reconstruct::Analytics::default().finish());
    let findings = det.findings;
    let warnings = det.warnings;

    let rulesets = det.rules.rule_sets();
    let inputs = Inputs {
        case: cfg.case.clone(),
        scope_limits: crate::detect::scope_limits(&cfg.filter, &det.excluded),
        evidence_paths: cfg
            .evidence
            .iter()
            .map(|p| kahu_event::display_evidence_path(p))
            .collect(),
        files: det.files.len() as u64,
        events: det.events,
        warnings: &warnings,
        coverage: det.coverage,
        rules_loaded: det.rules.count() as u64,
        rules_rejected: det.rules.errors.len() as u64,
        findings: &findings,
        rulesets: &rulesets,
        iocs: &det.iocs,
        kb,
        attack_version: cfg.attack_version,
        profiles: &profiles,
        appendix_limit: cfg.appendix_limit,
        file_hashes: &det.file_hashes,
        policy: crate::Policy::default(),
        host_addresses: &analytics.lateral.host_addresses,
        dns_resolvers: &analytics.lateral.dns_resolvers,
    };
    let built = assemble::build(&inputs);
    tracing::info!(
        incidents = built.assessment.incidents.len(),
        techniques = built.assessment.techniques.len(),
        "assessment assembled"
    );
    progress.phase_done(&format!(
        "{} incidents, {} techniques",
        built.assessment.incidents.len(),
        built.assessment.techniques.len()
    ));
    progress.phase_start("write report");
    let fired = crate::write::FiredRules::of(
        &rulesets,
        &det.rules.correlation_rules(),
        &findings,
        &det.rules.roots,
    );
    let mut written = crate::write::write_outputs(
        &cfg.out,
        &built,
        &findings,
        &analytics,
        &crate::write::RuleFiles::of(&rulesets),
        &fired,
    )
    .with_context(|| format!("cannot write outputs to {}", cfg.out.display()))?;
    progress.phase_done(&format!("{} files", written.len()));
    if let Some(store) = det.case {
        progress.phase_start("write case store");
        let docs = [
            (
                DocKind::Attribution,
                serde_json::to_value(&built.attribution)?,
            ),
            (
                DocKind::CaseEvidence,
                serde_json::to_value(&built.evidence)?,
            ),
            (
                DocKind::Assessment,
                serde_json::to_value(&built.assessment)?,
            ),
            (DocKind::AttackTactics, built.attack_tactics.clone()),
            (DocKind::Analytics, serde_json::to_value(&analytics)?),
            (DocKind::Rules, fired.document()),
        ];
        store
            .finish(
                &findings,
                &docs,
                &warnings,
                &det.formats,
                crate::store::Replace::All,
            )
            .context("cannot write the case store")?;
        let db = cfg.out.join("case.sqlite");
        let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
        progress.phase_done(&format!("case.sqlite {:.1} MB", size as f64 / 1e6));
        written.push(db);
    }
    tracing::info!(out = %cfg.out.display(), files = written.len(), "outputs written");
    Ok(AssessRun {
        assessment: built.assessment,
        findings,
        analytics,
        warnings,
        feeds: det.feeds,
        rule_errors: det.rules.errors.clone(),
        rule_notes: det.rules.notes.clone(),
        rule_sources: det.rules.sources.clone(),
        written,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    })
}

/// The file that marks a folder as a kahu-generated demo case.
pub const DEMO_MARKER: &str = ".kahu-demo";

/// Generate the demonstration case into `out/evidence` and return the
/// configuration that assesses it.
pub fn demo_config(out: &Path) -> Result<AssessConfig> {
    let dir = out.join("demo");
    let marker = dir.join(DEMO_MARKER);
    if std::fs::symlink_metadata(&dir).is_ok() {
        // Only ever delete a demo case kahu generated itself.
        // Demo folders written before the marker existed still carry the
        // generator's ground truth.
        let generated = marker.is_file() || dir.join("ground-truth.json").is_file();
        if !generated || std::fs::symlink_metadata(&dir)?.file_type().is_symlink() {
            anyhow::bail!(
                "{} exists and was not generated by `kahu assess --demo`; refusing to replace it (choose another --out)",
                dir.display()
            );
        }
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        &marker,
        "generated by kahu assess --demo; deleted and regenerated by the next demo run\n",
    )?;
    let truth = kahu_demo::generate(
        &dir,
        kahu_demo::DEFAULT_SEED,
        &kahu_demo::DemoOptions::default(),
    )
    .with_context(|| format!("cannot generate the demo case in {}", dir.display()))?;
    let mut cfg = AssessConfig::new(vec![dir.join(kahu_demo::EVIDENCE_DIR)], out.to_path_buf());
    // The partner CERT's indicators, as a responder would load them with --ioc.
    cfg.iocs.push(dir.join(kahu_demo::INTEL_FILE));
    cfg.case = CaseInfo {
        name: truth.case.name.clone(),
        producer: "kahu demonstration (fictional national CERT)".into(),
        victim: Some(truth.case.organisation.clone()),
        sectors: vec![truth.case.sector.clone()],
        regions: vec![truth.case.country.clone(), truth.case.region.clone()],
        tlp: kahu_intel::Tlp::Clear,
        // What the (fictional) responders established about the exfiltration
        // destination by scanning it: an end-of-life SOHO router. In a real
        // case this is the analyst's enrichment, given with `--infra`.
        infrastructure: truth
            .infrastructure
            .c2_ips
            .iter()
            // The demo's own addresses, which always parse.
            .map(|ip| kahu_report::InfraNote {
                ip: ip.parse().ok(),
                kind: "soho-router".into(),
            })
            .collect(),
    };
    Ok(cfg)
}
