//! `kahu attribute`: rank candidate threat actors for observed evidence and
//! explain the judgment (ICD 203 likelihood + analytic confidence).

use anyhow::{Context, Result, bail};
use kahu_attack::{
    ActorProfile, Attribution, CaseEvidence, KnowledgeBase, Outcome, RankOptions, actor_profiles,
};
use std::path::PathBuf;
use std::process::ExitCode;

/// Rank ATT&CK groups (and profiled actors) for the evidence of a case.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Observed techniques, comma-separated (`T1190,T1505.003`).
    #[arg(long, value_delimiter = ',')]
    pub techniques: Vec<String>,
    /// Observed ATT&CK software ids or names (`S0020`, `China Chopper`).
    #[arg(long, value_delimiter = ',')]
    pub software: Vec<String>,
    /// Exploited CVEs.
    #[arg(long = "cve", value_delimiter = ',')]
    pub cves: Vec<String>,
    /// Attacker IP addresses.
    #[arg(long = "ip", value_delimiter = ',')]
    pub ips: Vec<std::net::IpAddr>,
    /// Attacker domains.
    #[arg(long = "domain", value_delimiter = ',')]
    pub domains: Vec<String>,
    /// Kinds of attacker infrastructure (`soho-router`, `web-shell`, `tor`).
    #[arg(long = "infra", value_delimiter = ',')]
    pub infra: Vec<String>,
    /// Ports of note (C2 listeners, opened firewall ports).
    #[arg(long = "port", value_delimiter = ',')]
    pub ports: Vec<u16>,
    /// Victim sectors (`government`).
    #[arg(long = "sector", value_delimiter = ',')]
    pub sectors: Vec<String>,
    /// Victim countries (ISO code or name: `NZ`, `New Zealand`).
    #[arg(long = "region", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Earliest attacker activity (YYYY-MM-DD).
    #[arg(long)]
    pub first_seen: Option<chrono::NaiveDate>,
    /// Latest attacker activity (YYYY-MM-DD).
    #[arg(long)]
    pub last_seen: Option<chrono::NaiveDate>,
    /// Findings from `kahu hunt` (JSON lines, or a JSON array of findings).
    #[arg(long)]
    pub findings: Vec<PathBuf>,
    /// An ATT&CK Navigator layer whose techniques are the observations.
    #[arg(long)]
    pub layer: Vec<PathBuf>,
    /// ATT&CK STIX 2.1 bundle to use instead of the embedded v18.1.
    #[arg(long)]
    pub attack: Option<PathBuf>,
    /// ATT&CK release technique ids (and the --navigator-out layer) are
    /// shown in: `auto` (v19 when an observed id is v19-only or the
    /// --attack bundle is v19, else v18.1), `18.1` or `19`. The ranking
    /// itself uses the knowledge base's ids (a v19 bundle's own).
    #[arg(long, value_name = "auto|18.1|19", default_value = "auto")]
    pub attack_version: kahu_attack::AttackVersion,
    /// Extra actor profile (YAML); repeatable.
    #[arg(long)]
    pub profile: Vec<PathBuf>,
    /// Do not load the shipped actor profiles (APT40, APT41, Volt Typhoon, APT31).
    #[arg(long)]
    pub no_default_profiles: bool,
    /// Write the case ∩ leading-candidate ATT&CK Navigator layer here.
    #[arg(long)]
    pub navigator_out: Option<PathBuf>,
    /// Candidates to show.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Run `kahu attribute`. Exit code 0 for any judgement, "unknown" included
/// (a run that judged is a run that worked), 2 on errors.
pub(crate) fn run(args: Args, _global: &super::Global) -> Result<ExitCode> {
    {
        use crate::inputs::{Kind, MAX_ATTACK_BYTES, MAX_INPUT_BYTES, check};
        check("--findings", &args.findings, Kind::File(None))?;
        check("--layer", &args.layer, Kind::File(Some(MAX_INPUT_BYTES)))?;
        check(
            "--profile",
            &args.profile,
            Kind::File(Some(MAX_INPUT_BYTES)),
        )?;
        check("--attack", &args.attack, Kind::File(Some(MAX_ATTACK_BYTES)))?;
    }
    let owned;
    let kb: &KnowledgeBase = match &args.attack {
        Some(p) => {
            owned = KnowledgeBase::from_stix_bundle(p)
                .with_context(|| format!("loading ATT&CK bundle {}", p.display()))?;
            &owned
        }
        None => KnowledgeBase::embedded(),
    };
    let mut profiles = if args.no_default_profiles {
        Vec::new()
    } else {
        actor_profiles()
    };
    for p in &args.profile {
        kahu_attack::add_analyst_profile(&mut profiles, ActorProfile::load(p)?);
    }
    // An `IP=kind` given here (as to `assess --infra`) is checked by its kind.
    let infra_kinds = args
        .infra
        .iter()
        .map(|i| i.split_once('=').map_or(i.as_str(), |(_, k)| k));
    check_enrichment(&args.regions, &args.sectors, infra_kinds, &profiles)?;
    // The layer must never replace a file this run reads (`--navigator-out
    // l.json --layer l.json` would truncate the analyst's layer), checked
    // before any work.
    if let Some(out) = &args.navigator_out {
        let inputs: Vec<PathBuf> = [&args.findings, &args.layer, &args.profile]
            .into_iter()
            .flatten()
            .chain(args.attack.iter())
            .cloned()
            .collect();
        kahu_assess::guard::refuse_outputs_on_evidence(&[out.as_path()], &inputs)?;
    }
    let (ev, tagged) = collect_evidence(&args, kb, &profiles)?;
    let view = kahu_attack::AttackView::select_for_ids(
        kb,
        args.attack_version,
        tagged.iter().map(String::as_str),
    )?;
    // Nothing given is a usage error; evidence given that holds nothing
    // to score (every technique of the findings left out as a broad rule's
    // blanket tag, say) is a result, the one `assess` reaches on it.
    let given = !(args.techniques.is_empty()
        && args.software.is_empty()
        && args.cves.is_empty()
        && args.ips.is_empty()
        && args.domains.is_empty()
        && args.infra.is_empty()
        && args.ports.is_empty()
        && args.findings.is_empty()
        && args.layer.is_empty());
    if ev.is_empty() && !given {
        bail!("no evidence: give --techniques/--software/--cve/…, --findings FILE or --layer FILE");
    }
    let opts = RankOptions {
        top: args.top.max(1),
        ..Default::default()
    };
    let res = Attribution::rank(kb, &profiles, &ev, &opts);
    if let (Some(out), Some(lead)) = (&args.navigator_out, res.candidates.first()) {
        // In the release the run is shown in, as `assess` writes its layer.
        let layer = kahu_attack::navigator_layer_in(&view, &ev, lead);
        write_layer(out, &serde_json::to_string_pretty(&layer)?)?;
    }
    if args.json {
        let mut v = serde_json::to_value(&res)?;
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "attack".into(),
                serde_json::json!({
                    "version": view.release(),
                    "requested": view.requested().as_str(),
                    "note": view.note(),
                }),
            );
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_human(&res, &view);
        if !args.findings.is_empty() {
            let missing: Vec<&str> = [
                (args.sectors.is_empty(), "victim sector (--sector)"),
                (args.regions.is_empty(), "victim country (--region)"),
                (args.cves.is_empty(), "exploited CVEs (--cve)"),
                (args.infra.is_empty(), "infrastructure kinds (--infra)"),
            ]
            .into_iter()
            .filter_map(|(absent, what)| absent.then_some(what))
            .collect();
            if !missing.is_empty() {
                // `assess` on the same evidence scores its case context
                // too, so the two can differ widely without this line.
                println!(
                    "note: a findings file holds no case context; not scored here: {}. `kahu assess` scores what its case gives, so its judgement can differ",
                    missing.join(", ")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuse a `--region` that is no country (a typo would silently weigh
/// nothing) and warn about sectors and infrastructure kinds that no loaded
/// profile lists, since those cannot change a ranking. Shared with `assess`.
pub(crate) fn check_enrichment<'a>(
    regions: &[String],
    sectors: &[String],
    infra_kinds: impl IntoIterator<Item = &'a str>,
    profiles: &[ActorProfile],
) -> Result<()> {
    use kahu_attack::enrichment::{check_infrastructure_kind, check_region, check_sector};
    for r in regions {
        check_region(r)?;
    }
    for s in sectors {
        if let Err(e) = check_sector(s, profiles) {
            eprintln!("warning: {}", crate::output::terminal_safe(&e.to_string()));
        }
    }
    for kind in infra_kinds {
        if let Err(e) = check_infrastructure_kind(kind, profiles) {
            eprintln!("warning: {}", crate::output::terminal_safe(&e.to_string()));
        }
    }
    Ok(())
}

/// The evidence, and every technique id as given or tagged (for the
/// `auto` release).
fn collect_evidence(
    args: &Args,
    kb: &KnowledgeBase,
    profiles: &[ActorProfile],
) -> Result<(CaseEvidence, Vec<String>)> {
    let mut findings = Vec::new();
    for path in &args.findings {
        findings.extend(kahu_finding::read_findings_file(path)?);
    }
    // The same evidence rules as `kahu assess`, so the same findings give
    // the same ranking.
    let mut tagged: Vec<String> = findings
        .iter()
        .flat_map(|f| f.techniques.iter().map(|t| t.to_string()))
        .chain(args.techniques.iter().cloned())
        .collect();
    let mut ev = CaseEvidence::from_detections(&findings, kb);
    args.techniques.iter().for_each(|t| ev.add_technique(t));
    for s in &args.software {
        ev.add_software_id_or_name(kb, s);
    }
    args.cves.iter().for_each(|c| ev.add_cve(c));
    ev.ips.extend(args.ips.iter().copied());
    args.domains.iter().for_each(|d| ev.add_domain(d));
    // Kinds no profile lists were warned about and weigh nothing: keep
    // them out of the evidence count too.
    ev.infrastructure_kinds.extend(
        args.infra
            .iter()
            .filter_map(|k| kahu_attack::enrichment::check_infrastructure_kind(k, profiles).ok()),
    );
    ev.ports.extend(args.ports.iter().copied());
    args.sectors.iter().for_each(|s| ev.add_sector(s));
    args.regions.iter().for_each(|r| ev.add_region(r));
    if let Some(d) = args.first_seen {
        ev.observe_date(d);
    }
    if let Some(d) = args.last_seen {
        ev.observe_date(d);
    }
    for path in &args.layer {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let techs = kahu_attack::techniques_from_layer(&v)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        techs.iter().for_each(|t| ev.add_technique(t));
        tagged.extend(techs);
    }
    Ok((ev, tagged))
}

fn print_human(res: &Attribution, view: &kahu_attack::AttackView<'_>) {
    print_evidence(res, view);
    println!();
    print_judgment(res);
    if res.outcome == Outcome::InsufficientEvidence {
        // A ranking on no evidence is every actor at the same 0 %.
        return;
    }
    println!();
    print_ranking(res);
    for c in res.candidates.iter().take(3) {
        print_candidate(c, res, view);
    }
}

/// The release, what the evidence holds, and ids that were mapped or ignored.
fn print_evidence(res: &Attribution, view: &kahu_attack::AttackView<'_>) {
    // Ids and details can come from a findings file (evidence-derived).
    let safe = crate::output::terminal_safe;
    let e = &res.evidence;
    println!(
        "ATT&CK {} · {} actors ranked · evidence: {} techniques, {} software, {} CVEs, {} infrastructure",
        res.attack_version, res.actors_ranked, e.techniques, e.software, e.cves, e.infrastructure
    );
    if view.release() != res.attack_version {
        println!(
            "technique ids shown in ATT&CK v{} (the ranking uses v{} ids; each v{} id is given beside its v{} one)",
            view.release(),
            res.attack_version,
            res.attack_version,
            view.release()
        );
    }
    if !e.remapped.is_empty() {
        println!(
            "revoked ids mapped: {}",
            e.remapped
                .iter()
                .map(|(a, b)| format!("{a}→{b}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !e.unknown_ids.is_empty() {
        println!(
            "ignored (not in this ATT&CK release): {}",
            safe(&e.unknown_ids.join(", "))
        );
    }
    if !e.group_hints.is_empty() {
        println!(
            "groups named by rules or feeds: {} (rule tags are hints; matched feed indicators score as infrastructure)",
            safe(&e.group_hints.join(", "))
        );
    }
    const SHOWN: usize = 5;
    for d in e.discounted.iter().take(SHOWN) {
        println!("left out before scoring: {}", safe(d));
    }
    if e.discounted.len() > SHOWN {
        println!(
            "left out before scoring: {} more (all in --json, evidence.discounted)",
            e.discounted.len() - SHOWN
        );
    }
}

/// The judgment in estimative language, its confidence basis and caveats.
fn print_judgment(res: &Attribution) {
    let safe = crate::output::terminal_safe;
    match &res.outcome {
        Outcome::Attributed { id, name } => {
            let c = &res.candidates[0];
            println!(
                "JUDGMENT: it is {} ({:.0}%) that {id} {name} is responsible; analytic confidence {:?}.",
                c.likelihood_words.words(),
                c.likelihood * 100.0,
                res.confidence.level
            );
        }
        // "Unknown / new cluster" only when that hypothesis leads; otherwise
        // the wording says no actor was named (issue 12: "unknown cluster"
        // was printed beside P(unknown) = 1 %).
        Outcome::UnknownCluster
            if res
                .candidates
                .first()
                .is_some_and(|c| c.likelihood > res.likelihood_unknown) =>
        {
            println!(
                "JUDGMENT: unknown: {} (unknown hypothesis {:.0}%).",
                res.confidence
                    .reasons
                    .first()
                    .map_or("no actor fits", String::as_str),
                res.likelihood_unknown * 100.0,
            )
        }
        Outcome::UnknownCluster => println!(
            "JUDGMENT: unknown, no actor named: {} (an actor outside the knowledge base — unreported, criminal, red team or a new cluster: {:.0}%, {}).",
            res.confidence
                .reasons
                .first()
                .map_or("no actor fits", String::as_str),
            res.likelihood_unknown * 100.0,
            res.likelihood_unknown_words.words()
        ),
        Outcome::InsufficientEvidence => println!("JUDGMENT: insufficient evidence to attribute."),
    }
    println!("confidence basis: {}", res.confidence.reasons.join("; "));
    for c in &res.caveats {
        println!("caveat: {}", safe(c));
    }
}

/// Every candidate's rank, score and likelihood, and the unknown alternative.
fn print_ranking(res: &Attribution) {
    println!(
        "{:>3}  {:<7} {:<28} {:>7} {:>6}  likelihood (ICD 203)",
        "#", "id", "name", "score", "p"
    );
    for c in &res.candidates {
        let name: String = c.name.chars().take(28).collect();
        println!(
            "{:>3}  {:<7} {:<28} {:>7.2} {:>5.1}%  {}{}",
            c.rank,
            c.id,
            name,
            c.score,
            c.likelihood * 100.0,
            c.likelihood_words,
            if c.profiled { "  [profile]" } else { "" }
        );
    }
    println!(
        "{:>3}  {:<7} {:<28} {:>7} {:>5.1}%  {}",
        "-",
        "unknown",
        "(none of these)",
        "",
        res.likelihood_unknown * 100.0,
        res.likelihood_unknown_words
    );
}

/// A knowledge-base technique id as the view shows it, with the knowledge
/// base's id where it differs.
fn shown(id: &str, res: &Attribution, view: &kahu_attack::AttackView<'_>) -> String {
    let s = view.technique_id(id);
    if s == id {
        s
    } else {
        format!("{s} (v{} {id})", res.attack_version)
    }
}

/// One of the leading candidates: why it fits, what contradicts it, what
/// it leaves unexplained and what to hunt next.
fn print_candidate(
    c: &kahu_attack::Candidate,
    res: &Attribution,
    view: &kahu_attack::AttackView<'_>,
) {
    let safe = crate::output::terminal_safe;
    println!(
        "\n── {} {} ({})",
        c.id,
        c.name,
        c.aliases
            .iter()
            .filter(|a| **a != c.name)
            .take(4)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("   supporting:");
    for i in c.supporting.iter().take(12) {
        let other = match i.kind {
            kahu_attack::EvidenceKind::Technique
            | kahu_attack::EvidenceKind::RelatedTechnique
            | kahu_attack::EvidenceKind::SoftwareImpliedTechnique => {
                let s = view.technique_id(&i.id);
                if s == i.id {
                    String::new()
                } else {
                    format!(" [v{} {s}]", view.release())
                }
            }
            _ => String::new(),
        };
        println!("     +{:<5.2} {}{other}", i.weight, safe(&i.detail));
    }
    if c.supporting.len() > 12 {
        println!("     … {} more", c.supporting.len() - 12);
    }
    if !c.contradicting.is_empty() {
        println!("   contradicting:");
        for i in &c.contradicting {
            println!("     {:<6.2} {}", i.weight, safe(&i.detail));
        }
    }
    if !c.unexplained.is_empty() {
        println!(
            "   not explained by this actor: {}",
            c.unexplained
                .iter()
                .map(|u| if u.starts_with('T') {
                    shown(u, res, view)
                } else {
                    u.clone()
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !c.hunt_next.is_empty() {
        println!("   hunt next (actor techniques not yet observed, most exclusive first):");
        for h in c.hunt_next.iter().take(8) {
            println!(
                "     {} {} [{}] used by {} groups",
                shown(&h.technique, res, view),
                h.name,
                view.tactics(&h.technique)
                    .iter()
                    .map(|t| t.short_name())
                    .collect::<Vec<_>>()
                    .join(","),
                h.groups_using
            );
        }
    }
}

/// Write the Navigator layer without following a link planted at its path.
fn write_layer(out: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut f = kahu_report::safe::create_output_file(out)
        .with_context(|| format!("writing {}", out.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.flush())
        .with_context(|| format!("writing {}", out.display()))
}
