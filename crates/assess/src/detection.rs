//! The detection stage shared by `kahu hunt` and `kahu assess`: load rules
//! and indicators, read the evidence once with every detector, add the
//! correlation, YARA and (for assessments) analytics findings, and put the
//! findings in timeline order. One function, so both commands load, warn
//! and order the same way.

use crate::detect::{self, Progress};
use crate::file_hashes::FileHashes;
use crate::store::{CaseStore, PipelineObserver};
use anyhow::{Context, Result};
use kahu_correlation::SigmaRules;
use kahu_event::Location;
use kahu_finding::{Detector, Finding, Level};
use kahu_ingest::Warning;
use kahu_intel::{IocSet, IssueKind, Tlp};
use kahu_reconstruct::{Analytics, AnalyticsReport};
use kahu_sigma::{LoadOptions, RuleSet};
use std::path::PathBuf;

use crate::warning::RunWarning;

/// What to detect on and with.
#[derive(Debug, Clone, Default)]
pub struct DetectConfig {
    /// Evidence files, directories or archives.
    pub evidence: Vec<PathBuf>,
    /// Sigma rule files or directories given by the user.
    pub rules: Vec<PathBuf>,
    /// Also use kahu's bundled rule set.
    pub bundled_rules: bool,
    /// Rule loading options (placeholders, minimum level, status filter).
    pub load: LoadOptions,
    /// IOC feeds (STIX 2.1, MISP, CSV, plain lists).
    pub iocs: Vec<PathBuf>,
    /// Match indicators only inside their validity window (else hits
    /// outside it are kept with a note).
    pub ioc_strict_validity: bool,
    /// The TLP of indicators their feed left unmarked (TLP:RED unless told).
    pub ioc_tlp: UnmarkedTlp,
    /// YARA rule files or directories, run over the evidence files.
    pub yara: Vec<PathBuf>,
    /// Persist events in a case store in this directory while reading.
    pub case_dir: Option<PathBuf>,
    /// Which events the case store keeps (every one unless told).
    pub case_events: crate::store::CaseEvents,
    /// The evidence is the whole case (`assess`): a case store already
    /// bound to other evidence is refused rather than mixed with it.
    /// `hunt --case` adds evidence to a case, so it leaves this off.
    pub case_is_this_evidence: bool,
    /// Run the event analytics (logons, lateral movement) as well.
    pub analytics: bool,
    /// Bursts of repeats become one finding with a count (window 0: off).
    pub repeats: kahu_reconstruct::RepeatConfig,
    /// Which events to look at (time window, hosts, channels, event ids).
    pub filter: kahu_event::EventFilter,
    /// Run the detection pass on this engine instead of kahu's readers
    /// and matcher threads (`None`: the embedded engine). An engine returns
    /// findings only: the analytics, file hashes, coverage, a case store
    /// and (when the engine does not match them) indicators then come from
    /// a local pass over the same evidence without Sigma detectors
    /// (`engine::detect_on_engine`); YARA, which scans the files
    /// themselves, is refused.
    pub engine: Option<std::sync::Arc<dyn crate::engine::DetectionEngine>>,
}

/// The TLP level kahu gives indicators their feed did not mark (`--ioc-tlp`).
/// Nothing says an unmarked CSV or plain list may be shared, so unless the
/// analyst says otherwise it is TLP:RED: used for detection, never passed on.
#[derive(Debug, Clone, Default)]
pub struct UnmarkedTlp {
    /// Level for every feed not named in `per_feed` (`None`: TLP:RED).
    pub default: Option<Tlp>,
    /// Level for one feed, by the path as given to `--ioc`.
    pub per_feed: Vec<(PathBuf, Tlp)>,
}

impl UnmarkedTlp {
    /// Parse `--ioc-tlp` values: `LEVEL` (every unmarked feed) or
    /// `FEED=LEVEL` (that feed).
    pub fn parse(specs: &[String]) -> Result<UnmarkedTlp> {
        let mut out = UnmarkedTlp::default();
        for spec in specs {
            let (feed, level) = match spec.rsplit_once('=') {
                Some((f, l)) => (Some(f), l),
                None => (None, spec.as_str()),
            };
            let tlp = Tlp::parse(level).with_context(|| {
                format!("--ioc-tlp {spec:?}: {level:?} is not a TLP level (TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT, TLP:RED)")
            })?;
            match feed {
                Some(f) => out.per_feed.push((PathBuf::from(f), tlp)),
                None => out.default = Some(tlp),
            }
        }
        Ok(out)
    }

    /// Refuse a `FEED=LEVEL` whose feed is not one of `feeds` (the paths
    /// given to `--ioc`): a typo would leave that feed's indicators at
    /// TLP:RED while the analyst believes them marked.
    pub fn check_feeds(&self, feeds: &[PathBuf]) -> Result<()> {
        for (f, _) in &self.per_feed {
            if !feeds.iter().any(|g| g == f) {
                let given: Vec<String> = feeds.iter().map(|g| g.display().to_string()).collect();
                anyhow::bail!(
                    "--ioc-tlp names the feed {}, which is not given with --ioc ({})",
                    f.display(),
                    if given.is_empty() {
                        "no --ioc given".to_string()
                    } else {
                        format!("feeds: {}", given.join(", "))
                    }
                );
            }
        }
        Ok(())
    }

    /// The level unmarked indicators of `feed` get.
    pub fn for_feed(&self, feed: &std::path::Path) -> Tlp {
        self.per_feed
            .iter()
            .rev()
            .find(|(f, _)| f == feed)
            .map(|(_, t)| *t)
            .or(self.default)
            .unwrap_or(Tlp::Red)
    }
}

/// How one IOC feed loaded.
#[derive(Debug, Clone)]
pub struct FeedLoad {
    /// The feed file as given.
    pub path: PathBuf,
    /// Detection indicators loaded.
    pub loaded: usize,
    /// Problems, downgrades and notes.
    pub issues: Vec<kahu_intel::LoadIssue>,
}

/// Rules loaded for a run.
pub struct LoadedRules {
    /// Compiled rule sets (bundled first, then the user's); shared, so an
    /// engine running on other threads can hold them.
    pub sets: Vec<std::sync::Arc<SigmaRules>>,
    /// Rules and correlation rules that could not be used, with the reason.
    pub errors: Vec<String>,
    /// Tuning the analyst asked for that applied to no loaded rule
    /// (`--exclude-rule` with a mistyped id), with what it means.
    pub notes: Vec<String>,
    /// Where each set came from, with its rule count, for the summary.
    pub sources: Vec<String>,
    /// The rule files and folders the sets were loaded from (the user's
    /// and an installed package; not the bundled rules), so a rule file
    /// can be named relative to its folder.
    pub roots: Vec<PathBuf>,
}

impl LoadedRules {
    /// Detection plus correlation rules in use.
    pub fn count(&self) -> usize {
        self.sets
            .iter()
            .map(|s| s.rules.len() + s.correlation_count())
            .sum()
    }

    /// The correlation rules in use, over every set.
    pub fn correlation_rules(&self) -> Vec<&kahu_correlation::Correlation> {
        self.sets
            .iter()
            .flat_map(|s| s.correlation_rules())
            .collect()
    }

    /// The detection rule sets (rule metadata for reports).
    pub fn rule_sets(&self) -> Vec<&RuleSet> {
        self.sets.iter().map(|s| &s.rules).collect()
    }
}

/// What the detection stage produced.
pub struct DetectionRun {
    /// Every finding at or above the minimum level, in timeline order.
    pub findings: Vec<Finding>,
    /// Problems with the evidence, the feeds and the correlation windows
    /// that did not stop the run.
    pub warnings: Vec<RunWarning>,
    /// Events read.
    pub events: u64,
    /// Events read but left out by [`DetectConfig::filter`].
    pub excluded: detect::ExcludedCounts,
    /// Files read, with their sizes.
    pub files: Vec<(PathBuf, u64)>,
    /// The rules used.
    pub rules: LoadedRules,
    /// The indicators used.
    pub iocs: std::sync::Arc<IocSet>,
    /// How each IOC feed loaded.
    pub feeds: Vec<FeedLoad>,
    /// Event analytics, when asked for.
    pub analytics: Option<AnalyticsReport>,
    /// Hashes of non-system files (collected with the analytics).
    pub file_hashes: FileHashes,
    /// Events without time, host or log source, over all files.
    pub coverage: kahu_ingest::EvidenceCoverage,
    /// The case store, events written; the caller stores findings and
    /// documents with [`CaseStore::finish`].
    pub case: Option<CaseStore>,
    /// The format each file and member was read as (for the case store).
    pub formats: Vec<crate::detect::EvidenceFormat>,
}

/// The folder `kahu rules update` installs a rule package into:
/// `$KAHU_RULES_DIR`, else `$XDG_DATA_HOME/kahu/rules`, else
/// `~/.local/share/kahu/rules`.
pub fn installed_rules_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("KAHU_RULES_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("kahu/rules"))
}

/// The installed rule package, when `kahu rules update` has put one there
/// (its manifest is present).
pub fn installed_rules() -> Option<PathBuf> {
    let d = installed_rules_dir()?;
    (d.join(INSTALLED_MANIFEST).is_file() && d.join("rules").is_dir()).then(|| d.join("rules"))
}

/// Manifest `kahu rules update` writes beside the installed rules.
pub const INSTALLED_MANIFEST: &str = "manifest.json";

/// Load kahu's bundled rules and/or the user's. With the bundled set and no
/// user paths, a package installed by `kahu rules update` is used too.
/// Fails on a path that does not exist, or when a rule source yields no
/// usable rule.
pub fn load_rules(paths: &[PathBuf], bundled: bool, opts: &LoadOptions) -> Result<LoadedRules> {
    for p in paths {
        if !p.exists() {
            anyhow::bail!("rule path {} does not exist", p.display());
        }
    }
    let installed: Vec<PathBuf> = if bundled && paths.is_empty() {
        installed_rules().into_iter().collect()
    } else {
        Vec::new()
    };
    let mut reports = Vec::new();
    if bundled {
        reports.push((None, RuleSet::from_yaml(kahu_demo::bundled_rules(), opts)));
    }
    if !installed.is_empty() {
        reports.push((Some(installed.as_slice()), RuleSet::load(&installed, opts)));
    }
    if !paths.is_empty() {
        reports.push((Some(paths), RuleSet::load(paths, opts)));
    }
    if reports.is_empty() {
        anyhow::bail!("no rules: give --rules or use the bundled set");
    }
    // An id given to exclude that no loaded rule has (a typo) leaves the
    // noisy rule running: said, not silent.
    let tuned: std::collections::BTreeSet<&str> = reports
        .iter()
        .flat_map(|(_, r)| r.tuned.iter().map(String::as_str))
        .collect();
    let unmatched: Vec<String> = opts
        .tuning
        .entries()
        .into_iter()
        .filter(|(id, a)| a.origin == "--exclude-rule" && !tuned.contains(id))
        .map(|(id, _)| format!("--exclude-rule {id}: no loaded rule has this id; nothing excluded"))
        .collect();
    let mut sets = Vec::new();
    let mut errors = Vec::new();
    let mut sources = Vec::new();
    for (source, report) in reports {
        if report.ruleset.is_empty() {
            let from = match source {
                Some(ps) => ps
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                None => "kahu's bundled rule set".to_string(),
            };
            anyhow::bail!(
                "no usable Sigma rules in {from} ({} rejected, {} skipped by --min-level or status, {} excluded by tuning{})",
                report.errors.len(),
                report.skipped,
                report.excluded,
                report
                    .errors
                    .first()
                    .map(|e| format!("; first: {e}"))
                    .unwrap_or_default()
            );
        }
        tracing::info!(
            source = %source.map_or("bundled".to_string(), |ps| format!("{} path(s)", ps.len())),
            files = report.files,
            compiled = report.compiled,
            rejected = report.errors.len(),
            skipped = report.skipped,
            correlations = report.correlations.len(),
            "rules loaded"
        );
        for e in &report.errors {
            tracing::debug!(error = ?e.to_string(), "rule rejected");
        }
        errors.extend(report.errors.iter().map(|e| e.to_string()));
        let name = source.map_or("kahu's bundled rules".to_string(), |ps| {
            ps.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        });
        let set = SigmaRules::new(report);
        // The same count as the summary's total (detection plus
        // correlation rules in use): "132 rules" beside "(122 rules)" for
        // the only source read as two rule sets.
        let (detection, correlation) = (set.rules.len(), set.correlation_count());
        sources.push(if correlation == 0 {
            format!("{name} ({detection} rules)")
        } else {
            format!(
                "{name} ({} rules: {detection} detection, {correlation} correlation)",
                detection + correlation
            )
        });
        for e in &set.correlation_errors {
            tracing::debug!(error = ?e, "correlation rule rejected");
        }
        errors.extend(set.correlation_errors.iter().cloned());
        sets.push(std::sync::Arc::new(set));
    }
    Ok(LoadedRules {
        sets,
        errors,
        notes: unmatched,
        sources,
        roots: installed.iter().chain(paths).cloned().collect(),
    })
}

/// Load the IOC feeds; a feed that cannot be read at all is an error.
pub fn load_iocs(paths: &[PathBuf], unmarked: &UnmarkedTlp) -> Result<(IocSet, Vec<FeedLoad>)> {
    let mut iocs = IocSet::new();
    let mut feeds = Vec::new();
    for p in paths {
        let from = iocs.len();
        let mut report = iocs
            .load_path(p)
            .with_context(|| format!("cannot load IOC feed {}", p.display()))?;
        let tlp = unmarked.for_feed(p);
        let marked = iocs.mark_unmarked(from, tlp);
        if marked > 0 {
            report.issues.push(kahu_intel::LoadIssue {
                source: std::sync::Arc::from(p.display().to_string()),
                indicator: None,
                line: None,
                kind: IssueKind::Note,
                reason: format!(
                    "{marked} indicator(s) carry no TLP marking: treated as {tlp} (set with --ioc-tlp)"
                ),
            });
        }
        tracing::info!(feed = ?p, loaded = report.loaded, issues = report.issues.len(), "IOC feed loaded");
        feeds.push(FeedLoad {
            path: p.clone(),
            loaded: report.loaded,
            issues: report.issues,
        });
    }
    Ok((iocs, feeds))
}

/// Feed problems that change what kahu can detect, as warnings (notes are
/// information only and stay in [`FeedLoad::issues`]).
pub(crate) fn feed_warnings(feeds: &[FeedLoad]) -> impl Iterator<Item = Warning> + '_ {
    feeds
        .iter()
        .flat_map(|f| f.issues.iter())
        .filter(|i| i.kind != IssueKind::Note)
        .map(|i| Warning {
            file: i.source.clone(),
            member: None,
            location: i.line.map(Location::Line),
            reason: match &i.indicator {
                Some(id) => format!("indicator {id}: {:?}: {}", i.kind, i.reason),
                None => format!("{:?}: {}", i.kind, i.reason),
            },
        })
}

/// Run the detection stage.
pub fn detect(cfg: &DetectConfig, progress: &dyn Progress) -> Result<DetectionRun> {
    for p in &cfg.evidence {
        if !p.exists() {
            anyhow::bail!("evidence path {} does not exist", p.display());
        }
    }
    let (rules, (files, walk_warnings)) = rayon::join(
        || load_rules(&cfg.rules, cfg.bundled_rules, &cfg.load),
        || detect::list_files(&cfg.evidence),
    );
    let rules = rules?;
    tracing::info!(
        files = files.len(),
        bytes = files.iter().map(|f| f.1).sum::<u64>(),
        unreadable = walk_warnings.len(),
        "evidence listed"
    );
    let (mut iocs, feeds) = load_iocs(&cfg.iocs, &cfg.ioc_tlp)?;
    iocs.set_strict_validity(cfg.ioc_strict_validity);
    let iocs = std::sync::Arc::new(iocs);
    if let Some(engine) = &cfg.engine {
        let listed = (files, walk_warnings);
        return crate::engine::detect_on_engine(
            cfg,
            engine.as_ref(),
            rules,
            iocs,
            feeds,
            listed,
            progress,
        );
    }
    let yara = if cfg.yara.is_empty() {
        None
    } else {
        Some(std::sync::Arc::new(
            kahu_intel::YaraScanner::compile(&cfg.yara).context("cannot compile YARA rules")?,
        ))
    };

    let scans: Vec<_> = rules.sets.iter().map(|s| s.scan()).collect();
    let mut detectors: Vec<&dyn Detector> = scans.iter().map(|s| s as &dyn Detector).collect();
    detectors.push(iocs.as_ref());
    let case = open_case(cfg, &files)?;
    // Archive members are scanned with YARA as the readers decompress
    // them for events (once), not in a second walk of the archives.
    let member_scan = yara
        .as_ref()
        .map(|s| crate::yara_scan::MemberScan::new(s.clone()));
    let scan_member = |o: &kahu_ingest::Origin, d: &[u8]| {
        if let Some(m) = &member_scan {
            m.scan(o, d);
        }
    };
    let mut out = detect::run_with_members(
        &files,
        &detectors,
        &cfg.filter,
        member_scan
            .as_ref()
            .map(|_| &scan_member as detect::MemberHook<'_>),
        || PipelineObserver {
            analytics: cfg.analytics.then(Analytics::default),
            case: case.as_ref().map(|s| s.sink()),
            file_hashes: cfg.analytics.then(FileHashes::default),
        },
        progress,
    );
    // Dropping the last handle flushes its batch to the case writer.
    out.observer.case = None;
    let analytics = out.observer.analytics.take().map(|a| a.finish());
    let file_hashes = out.observer.file_hashes.take().unwrap_or_default();

    let mut findings = out.findings;
    let mut warnings: Vec<RunWarning> = walk_warnings.into_iter().map(RunWarning::from).collect();
    warnings.extend(out.warnings.into_iter().map(RunWarning::from));
    warnings.extend(feed_warnings(&feeds).map(RunWarning::from));
    drop(detectors);
    for scan in scans {
        let outcome = scan.finish();
        findings.extend(outcome.findings);
        warnings.extend(outcome.warnings.into_iter().map(RunWarning::correlation));
    }
    if let (Some(scanner), Some(members)) = (&yara, member_scan) {
        tracing::info!(files = files.len(), "YARA scan");
        let (found, skipped) = crate::yara_scan::scan(scanner, &files, members);
        findings.extend(found);
        warnings.extend(skipped.into_iter().map(RunWarning::from));
    }
    // Files finish in a different order on every run: sort, so reports
    // and tests see the same list each time.
    warnings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    tracing::info!(
        events = out.events,
        findings = findings.len(),
        warnings = warnings.len(),
        "detection pass done"
    );
    for w in warnings.iter().filter(|w| w.is_correlation()) {
        tracing::warn!(rule = ?w.rule_id(), reason = ?w.reason, "correlation cap hit");
    }
    if let Some(a) = &analytics {
        findings.extend(a.findings());
    }
    let findings = finish_findings(cfg, findings, analytics.is_some());
    Ok(DetectionRun {
        findings,
        warnings,
        events: out.events,
        excluded: out.excluded,
        files,
        rules,
        iocs,
        feeds,
        analytics,
        file_hashes,
        coverage: out.coverage,
        case,
        formats: out.formats,
    })
}

/// The case store `cfg` asks for, opened on `files` (`None`: no store).
pub(crate) fn open_case(cfg: &DetectConfig, files: &[(PathBuf, u64)]) -> Result<Option<CaseStore>> {
    let Some(dir) = &cfg.case_dir else {
        return Ok(None);
    };
    let claim = cfg
        .case_is_this_evidence
        .then(|| kahu_case::evidence_fingerprint(&cfg.evidence));
    Ok(Some(CaseStore::open(
        dir,
        files,
        claim.as_ref(),
        cfg.case_events,
    )?))
}

/// The shared end of the detection stage: tuning, minimum level, timeline
/// order, escalation (with the analytics) and repeats.
pub(crate) fn finish_findings(
    cfg: &DetectConfig,
    mut findings: Vec<Finding>,
    escalate: bool,
) -> Vec<Finding> {
    // Analytic, correlation and indicator ids are tuned here; Sigma rules
    // were tuned at load (so `--min-level` saw the tuned level).
    cfg.load.tuning.apply(&mut findings);
    // Before the level filter: a refused attempt is low, like any other.
    kahu_reconstruct::lower_refused_web_attempts(&mut findings);
    findings.retain(|f| f.level >= cfg.load.min_level);
    crate::order_findings(&mut findings);
    if escalate {
        // Remote logons out of a host with significant detections are the
        // intruder's next hop: count them as evidence, not as admin noise.
        kahu_reconstruct::escalate_lateral_movement(&mut findings, SIGNIFICANT);
        kahu_reconstruct::escalate_beacons(&mut findings, SIGNIFICANT);
    }
    kahu_reconstruct::collapse_repeats(findings, &cfg.repeats)
}

/// Findings below this level are kept in files but are not evidence of
/// compromise — in the summary, escalation or attribution (one threshold,
/// shared with `kahu_attack::quality`).
pub const SIGNIFICANT: Level = kahu_attack::quality::SIGNIFICANT;
