//! `assess`: the whole run, from evidence paths to the written outputs.

use crate::assemble::{self, Inputs};
use crate::detect::{self, Detector, Progress};
use crate::sigma::SigmaDetector;
use crate::store::{CaseStore, PipelineObserver};
use anyhow::{Context, Result};
use kahu_attack::{ActorProfile, KnowledgeBase};
use kahu_finding::{Finding, Level};
use kahu_ingest::Warning;
use kahu_intel::IocSet;
use kahu_reconstruct::{Analytics, AnalyticsReport};
use kahu_report::Assessment;
use kahu_report::assessment::CaseInfo;
use kahu_sigma::{LoadOptions, RuleSet};
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
    /// YARA rule files or directories, run over the evidence files.
    pub yara: Vec<PathBuf>,
    /// Output directory.
    pub out: PathBuf,
    /// Case context (name, victim sector and region…).
    pub case: CaseInfo,
    /// A newer ATT&CK STIX bundle instead of the embedded v18.1.
    pub attack_bundle: Option<PathBuf>,
    /// Extra actor profiles.
    pub profiles: Vec<PathBuf>,
    /// Most detections listed in the report's appendix.
    pub appendix_limit: usize,
    /// Values for Sigma `|expand` placeholders (`%name%`).
    pub placeholders: std::collections::HashMap<String, Vec<String>>,
    /// Persist events, findings and documents in `out/case.sqlite` for
    /// `kahu serve` (evidence already in the case is not stored twice).
    pub store_case: bool,
    /// Rules left out or releveled (default: kahu's shipped list of
    /// known-noisy rules).
    pub tuning: kahu_sigma::Tuning,
    /// How bursts of repeats are collapsed into one finding with a count.
    pub repeats: kahu_reconstruct::RepeatConfig,
}

impl AssessConfig {
    /// A configuration with defaults for everything but the evidence.
    pub fn new(evidence: Vec<PathBuf>, out: PathBuf) -> Self {
        AssessConfig {
            evidence,
            rules: Vec::new(),
            no_bundled_rules: false,
            iocs: Vec::new(),
            yara: Vec::new(),
            out,
            case: CaseInfo {
                name: "Unnamed case".into(),
                producer: "kahu user".into(),
                tlp: "TLP:AMBER".into(),
                ..Default::default()
            },
            attack_bundle: None,
            profiles: Vec::new(),
            appendix_limit: 2000,
            store_case: true,
            placeholders: Default::default(),
            tuning: kahu_sigma::Tuning::shipped(),
            repeats: Default::default(),
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
    /// Evidence warnings.
    pub warnings: Vec<Warning>,
    /// Files written.
    pub written: Vec<PathBuf>,
    /// Seconds spent.
    pub elapsed_seconds: f64,
}

/// IOC sets look at every event too.
pub struct IocDetector(pub IocSet);

impl Detector for IocDetector {
    fn inspect(&self, event: &kahu_event::Event, out: &mut Vec<Finding>) {
        if self.0.is_empty() {
            return;
        }
        for mut f in self.0.findings_for(event) {
            f.fields.extend(kahu_finding::correlation_fields(event));
            out.push(f);
        }
    }
}

/// Load kahu's bundled rules and the user's, failing on unusable paths.
pub fn load_rules(cfg: &AssessConfig) -> Result<(Vec<SigmaDetector>, Vec<String>)> {
    let opts = LoadOptions {
        placeholders: cfg.placeholders.clone(),
        tuning: cfg.tuning.clone(),
        ..LoadOptions::default()
    };
    let mut sets = Vec::new();
    let mut errors = Vec::new();
    if !cfg.no_bundled_rules {
        let r = RuleSet::from_yaml(kahu_demo::bundled_rules(), &opts);
        errors.extend(r.errors.iter().map(|e| e.to_string()));
        sets.push(SigmaDetector::new(r));
    }
    for p in &cfg.rules {
        if !p.exists() {
            anyhow::bail!("rule path {} does not exist", p.display());
        }
    }
    if !cfg.rules.is_empty() {
        let r = RuleSet::load(&cfg.rules, &opts);
        if r.ruleset.is_empty() {
            anyhow::bail!(
                "no usable Sigma rules in {} ({} rejected)",
                cfg.rules
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                r.errors.len()
            );
        }
        errors.extend(r.errors.iter().map(|e| e.to_string()));
        sets.push(SigmaDetector::new(r));
    }
    for s in &sets {
        errors.extend(s.correlation_errors.iter().cloned());
    }
    Ok((sets, errors))
}

/// Run the assessment and write every output into `cfg.out`.
pub fn run(cfg: &AssessConfig, progress: &dyn Progress) -> Result<AssessRun> {
    let started = Instant::now();
    for p in &cfg.evidence {
        if !p.exists() {
            anyhow::bail!("evidence path {} does not exist", p.display());
        }
    }
    let kb_owned;
    let kb: &KnowledgeBase = match &cfg.attack_bundle {
        Some(p) => {
            kb_owned = KnowledgeBase::from_stix_bundle(p)
                .with_context(|| format!("cannot load ATT&CK bundle {}", p.display()))?;
            &kb_owned
        }
        None => KnowledgeBase::embedded(),
    };
    let mut profiles = kahu_attack::embedded_profiles();
    for p in &cfg.profiles {
        profiles.push(
            ActorProfile::load(p)
                .with_context(|| format!("cannot load actor profile {}", p.display()))?,
        );
    }

    let (rules, (files, walk_warnings)) =
        rayon::join(|| load_rules(cfg), || detect::list_files(&cfg.evidence));
    let (rulesets, rule_errors) = rules?;
    let mut iocs = IocSet::new();
    let mut ioc_issues = Vec::new();
    for p in &cfg.iocs {
        let report = iocs
            .load_path(p)
            .with_context(|| format!("cannot load IOC feed {}", p.display()))?;
        ioc_issues.extend(
            report
                .issues
                .iter()
                .map(|i| format!("{}: {i:?}", p.display())),
        );
    }
    let ioc = IocDetector(iocs);
    let mut detectors: Vec<&dyn Detector> = rulesets.iter().map(|r| r as &dyn Detector).collect();
    detectors.push(&ioc);

    let store = if cfg.store_case {
        Some(CaseStore::open(&cfg.out, &files)?)
    } else {
        None
    };
    let mut out = detect::run(
        &files,
        &detectors,
        || PipelineObserver {
            analytics: Some(Analytics::default()),
            case: store.as_ref().map(|s| s.sink()),
        },
        progress,
    );
    // Dropping the last handle flushes its batch to the writer.
    out.observer.case = None;
    let analytics = out.observer.analytics.take().unwrap_or_default().finish();
    let mut findings = out.findings;
    findings.extend(analytics.findings());
    let mut warnings = walk_warnings;
    warnings.extend(out.warnings);
    for s in &rulesets {
        let (f, w) = s.finish();
        findings.extend(f);
        warnings.extend(w.into_iter().map(|reason| Warning {
            file: "(correlation)".into(),
            member: None,
            location: None,
            reason,
        }));
    }

    if !cfg.yara.is_empty() {
        let scanner =
            kahu_intel::YaraScanner::compile(&cfg.yara).context("cannot compile YARA rules")?;
        let scanned: Vec<Vec<Finding>> = {
            use rayon::prelude::*;
            files
                .par_iter()
                .map(|(p, _)| scanner.scan_path(p))
                .collect()
        };
        findings.extend(scanned.into_iter().flatten());
    }
    // Analytic, correlation and indicator ids are tuned here; Sigma rules
    // were tuned at load.
    cfg.tuning.apply(&mut findings);
    crate::order_findings(&mut findings);
    // Remote logons out of a host with significant detections are the
    // intruder's next hop: count them as evidence, not as admin noise.
    kahu_reconstruct::escalate_lateral_movement(&mut findings, SIGNIFICANT);
    let findings = kahu_reconstruct::collapse_repeats(findings, &cfg.repeats);

    let rules_loaded: usize = rulesets
        .iter()
        .map(|r| r.rules.len() + r.correlation_count())
        .sum();
    let plain: Vec<&RuleSet> = rulesets.iter().map(|r| &r.rules).collect();
    let inputs = Inputs {
        case: cfg.case.clone(),
        evidence_paths: cfg
            .evidence
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        files: out.files.len() as u64,
        events: out.events,
        warnings: &warnings,
        rules_loaded: rules_loaded as u64,
        rules_rejected: rule_errors.len() as u64,
        findings: &findings,
        rulesets: &plain,
        iocs: &ioc.0,
        kb,
        profiles: &profiles,
        appendix_limit: cfg.appendix_limit,
    };
    let built = assemble::build(&inputs);
    let mut written = crate::write::write_outputs(&cfg.out, &built, &findings, &analytics)
        .with_context(|| format!("cannot write outputs to {}", cfg.out.display()))?;
    if let Some(store) = store {
        let tactics: serde_json::Map<String, serde_json::Value> = built
            .assessment
            .techniques
            .iter()
            .map(|t| (t.id.clone(), serde_json::json!(t.tactics)))
            .collect();
        let docs = [
            ("attribution", serde_json::to_value(&built.attribution)?),
            ("case-evidence", serde_json::to_value(&built.evidence)?),
            ("assessment", serde_json::to_value(&built.assessment)?),
            ("attack-tactics", serde_json::Value::Object(tactics)),
            ("analytics", serde_json::to_value(&analytics)?),
        ];
        store
            .finish(&findings, &docs, &warnings, crate::store::Replace::All)
            .context("cannot write the case store")?;
        written.push(cfg.out.join("case.sqlite"));
    }
    let _ = ioc_issues;
    Ok(AssessRun {
        assessment: built.assessment,
        findings,
        analytics,
        warnings,
        written,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Generate the demonstration case into `out/evidence` and return the
/// configuration that assesses it.
pub fn demo_config(out: &Path) -> Result<AssessConfig> {
    let dir = out.join("demo");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
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
        tlp: "TLP:CLEAR".into(),
        // What the (fictional) responders established about the exfiltration
        // destination by scanning it: an end-of-life SOHO router. In a real
        // case this is the analyst's enrichment, given with `--infra`.
        infrastructure: truth
            .infrastructure
            .c2_ips
            .iter()
            .map(|ip| format!("{ip}=soho-router"))
            .collect(),
    };
    Ok(cfg)
}

/// Findings below this level are kept in files but not used as evidence
/// of compromise in the summary.
pub const SIGNIFICANT: Level = Level::Medium;
