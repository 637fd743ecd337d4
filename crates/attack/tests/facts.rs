//! Actor facts for every ATT&CK group (`scripts/actor-facts.py` →
//! `data/attack/actor-facts.json`): the committed file is what the script
//! makes from `../shared`, the script maps galaxy clusters by ATT&CK link
//! before names, and the facts reach the ranking under the analysts'
//! hand-written profiles.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_attack::facts::{FactsFile, overlay};
use kahu_attack::profile::Sourced;
use kahu_attack::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/actor-facts.py");
const COMMITTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/attack/actor-facts.json"
);
const COMMITTED_REVIEW: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/attack/actor-facts-review.tsv"
);

fn shared() -> PathBuf {
    kahu_test_support::shared_dir()
}

fn python() -> bool {
    Command::new("python3").arg("--version").output().is_ok()
}

/// Run the script with `args`; panics with its stderr on failure.
fn run_script(args: &[&std::ffi::OsStr]) {
    let out = Command::new("python3")
        .arg(SCRIPT)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "actor-facts.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn committed_facts_are_what_the_script_makes_from_shared() {
    let shared = shared();
    if !shared.join("attack/enterprise-attack.json").exists()
        || !shared.join("intel/misp-galaxy/threat-actor.json").exists()
    {
        eprintln!(
            "SKIP: ATT&CK bundle or MISP galaxy not found under {}",
            shared.display()
        );
        return;
    }
    if !python() {
        eprintln!("SKIP: python3 not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (out, review) = (dir.path().join("facts.json"), dir.path().join("review.tsv"));
    run_script(&[
        "--shared".as_ref(),
        shared.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--review".as_ref(),
        review.as_os_str(),
    ]);
    let regenerated = std::fs::read_to_string(&out).unwrap();
    assert!(
        regenerated == std::fs::read_to_string(COMMITTED).unwrap(),
        "data/attack/actor-facts.json is stale: run scripts/actor-facts.py"
    );
    assert!(
        std::fs::read_to_string(&review).unwrap()
            == std::fs::read_to_string(COMMITTED_REVIEW).unwrap(),
        "data/attack/actor-facts-review.tsv is stale: run scripts/actor-facts.py"
    );
}

/// A tiny ATT&CK bundle, galaxy and KEV catalogue written into `dir`.
fn fixtures(dir: &Path) {
    let ext = |id: &str| serde_json::json!([{"source_name": "mitre-attack", "external_id": id}]);
    let bundle = serde_json::json!({"type": "bundle", "objects": [
        {"type": "intrusion-set", "id": "intrusion-set--a", "name": "Alpha",
         "aliases": ["Alpha", "Shared Name"], "external_references": ext("G9001"),
         "description": "Alpha exploited CVE-2099-0001 and listened on port 4444.(Citation: Report A)"},
        {"type": "intrusion-set", "id": "intrusion-set--b", "name": "Beta",
         "aliases": ["Beta"], "external_references": ext("G9002"), "description": "Beta."},
        {"type": "campaign", "id": "campaign--c", "name": "Op C", "external_references": ext("C9001"),
         "description": "Op C used ports 8443 and 9443 and CVE-2099-0002."},
        {"type": "relationship", "id": "relationship--1", "relationship_type": "attributed-to",
         "source_ref": "campaign--c", "target_ref": "intrusion-set--b"},
    ]});
    // X links to G9001 by ATT&CK id although its name is Beta's: the link wins.
    // Y is named like G9001, which X already links: ignored, listed for review.
    // Z matches Beta by a synonym only and the reviewed decisions accept it:
    // used, listed. R matches Beta too but is rejected: not used, listed.
    // U matches Beta and nobody decided: not used, listed as unreviewed.
    let galaxy = serde_json::json!({"values": [
        {"uuid": "x", "value": "Beta", "meta": {"synonyms": ["G9001"],
         "cfr-suspected-victims": ["New Zealand"], "cfr-target-category": ["Government"],
         "cfr-suspected-state-sponsor": "Atlantis"}},
        {"uuid": "y", "value": "Alpha", "meta": {"cfr-suspected-victims": ["Brazil"]}},
        {"uuid": "z", "value": "Gamma Team", "meta": {"synonyms": ["Beta"],
         "cfr-target-category": ["Energy"]}},
        {"uuid": "r", "value": "Rho Team", "meta": {"synonyms": ["Beta"],
         "cfr-suspected-victims": ["Chile"]}},
        {"uuid": "u", "value": "Upsilon Team", "meta": {"synonyms": ["Beta"],
         "cfr-target-category": ["Aviation"]}},
    ]});
    std::fs::write(
        dir.join("decisions.tsv"),
        "# source, G-id, cluster, decision, reason\n\
         misp-galaxy threat-actor\tG9002\tGamma Team\taccept\tnames agree\n\
         misp-galaxy threat-actor\tG9002\tRho Team\treject\tanother actor of the same name\n",
    )
    .unwrap();
    let tidal = serde_json::json!({"values": [
        {"uuid": "t", "value": "Beta", "meta": {"group_attack_id": "G9002",
         "observed_countries": ["AU"], "target_categories": ["Mining"]}},
    ]});
    let kev = serde_json::json!({"catalogVersion": "test", "vulnerabilities": [
        {"cveID": "CVE-2099-0001", "dateAdded": "2099-01-02"},
    ]});
    for (name, v) in [
        ("bundle.json", bundle),
        ("ta.json", galaxy),
        ("tidal.json", tidal),
        ("kev.json", kev),
    ] {
        std::fs::write(dir.join(name), v.to_string()).unwrap();
    }
}

fn run_on_fixtures(dir: &Path, n: usize) -> (String, String) {
    let (out, review) = (
        dir.join(format!("out{n}.json")),
        dir.join(format!("review{n}.tsv")),
    );
    let p = |s: &str| dir.join(s).into_os_string();
    run_script(&[
        "--attack".as_ref(),
        &p("bundle.json"),
        "--threat-actor".as_ref(),
        &p("ta.json"),
        "--tidal".as_ref(),
        &p("tidal.json"),
        "--kev".as_ref(),
        &p("kev.json"),
        "--out".as_ref(),
        out.as_os_str(),
        "--review".as_ref(),
        review.as_os_str(),
        "--decisions".as_ref(),
        &p("decisions.tsv"),
    ]);
    (
        std::fs::read_to_string(out).unwrap(),
        std::fs::read_to_string(review).unwrap(),
    )
}

#[test]
fn script_maps_by_attack_link_before_names_and_is_deterministic() {
    if !python() {
        eprintln!("SKIP: python3 not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fixtures(dir.path());
    let (facts, review) = run_on_fixtures(dir.path(), 1);
    assert_eq!(
        (facts.clone(), review.clone()),
        run_on_fixtures(dir.path(), 2),
        "two runs differ"
    );
    let f = FactsFile::parse(&facts).unwrap();
    let actor = |id: &str| f.actors.iter().find(|a| a.id == id).unwrap();
    let values = |v: &[kahu_attack::facts::Fact<String>]| -> Vec<String> {
        v.iter().map(|x| x.value.clone()).collect()
    };
    let (alpha, beta) = (actor("G9001"), actor("G9002"));
    // Cluster X (named Beta, linked to G9001) goes to G9001 only.
    assert_eq!(values(&alpha.countries), ["NZ"]);
    assert_eq!(values(&alpha.sponsor), ["Atlantis"]);
    assert!(alpha.sectors.iter().all(|s| s.sources == ["misp:x"]));
    assert!(!beta.countries.iter().any(|c| c.value == "NZ"));
    // Y's name match is ignored (Brazil never reaches G9001) and listed.
    assert!(!alpha.countries.iter().any(|c| c.value == "BR"));
    assert!(
        review.contains("name-ignored-link-exists\tG9001\tAlpha"),
        "{review}"
    );
    // Z maps to Beta by synonym, accepted: used, and listed.
    assert!(beta.sectors.iter().any(|s| s.value == "energy"));
    assert!(
        review.contains("name-accepted\tG9002\tGamma Team"),
        "{review}"
    );
    // R rejected, U undecided: neither gives Beta a fact; both listed.
    assert!(!beta.countries.iter().any(|c| c.value == "CL"));
    assert!(!beta.sectors.iter().any(|s| s.value == "aviation"));
    assert!(
        review.contains("name-rejected\tG9002\tRho Team"),
        "{review}"
    );
    assert!(
        review.contains("name-unreviewed\tG9002\tUpsilon Team"),
        "{review}"
    );
    assert!(
        beta.countries
            .iter()
            .any(|c| c.value == "AU" && c.sources == ["tidal:t"])
    );
    // Facts from descriptions, with where they were named and KEV dates.
    let cve = &alpha.cves[0];
    assert_eq!(cve.value, "CVE-2099-0001");
    assert_eq!(
        cve.kev_added.map(|d| d.to_string()).as_deref(),
        Some("2099-01-02")
    );
    assert_eq!(
        alpha.ports.iter().map(|p| p.value).collect::<Vec<_>>(),
        [4444]
    );
    let src = &f.sources[&cve.sources[0]];
    assert_eq!(src.kind, "attack-description");
    assert!(src.title.contains("ATT&CK group G9001 description"));
    assert_eq!(src.citations, ["Report A"]);
    assert_eq!(values(&beta.cves), ["CVE-2099-0002"]);
    assert_eq!(
        beta.ports.iter().map(|p| p.value).collect::<Vec<_>>(),
        [8443, 9443]
    );
    assert!(
        f.sources[&beta.cves[0].sources[0]]
            .title
            .contains("campaign C9001")
    );
}

#[test]
fn embedded_facts_cover_every_attack_group() {
    let kb = KnowledgeBase::embedded();
    let facts = FactsFile::embedded();
    assert_eq!(facts.actors.len(), kb.data().groups.len());
    let profiles = actor_profiles();
    for g in &kb.data().groups {
        assert!(
            profiles.iter().any(|p| p.id == g.id),
            "{} has no profile",
            g.id
        );
    }
    // Every source key a fact cites is defined.
    for a in &facts.actors {
        for f in a.cves.iter().chain(&a.countries).chain(&a.sectors) {
            assert!(f.sources.iter().all(|k| facts.sources.contains_key(k)));
        }
    }
}

/// A CVE named for exactly one group that has no hand-written profile.
fn unprofiled_cve() -> (String, String) {
    let facts = FactsFile::embedded();
    let analysts: Vec<String> = embedded_profiles().into_iter().map(|p| p.id).collect();
    let mut listed = std::collections::BTreeMap::<&str, Vec<&str>>::new();
    for a in &facts.actors {
        for c in &a.cves {
            listed.entry(&c.value).or_default().push(&a.id);
        }
    }
    listed
        .into_iter()
        .find(|(_, ids)| ids.len() == 1 && !analysts.iter().any(|a| a == ids[0]))
        .map(|(c, ids)| (ids[0].to_string(), c.to_string()))
        .expect("some CVE is named for one unprofiled group")
}

#[test]
fn an_actor_without_a_handwritten_profile_gets_credit_for_a_cve_fact() {
    let (gid, cve) = unprofiled_cve();
    let mut e = CaseEvidence::default();
    e.add_technique("T1190");
    e.add_cve(&cve);
    let find = |res: &Attribution| {
        res.candidates.iter().find(|c| c.id == gid).and_then(|c| {
            c.supporting
                .iter()
                .find(|i| i.kind == EvidenceKind::Cve)
                .cloned()
        })
    };
    let opts = RankOptions {
        top: 200,
        ..RankOptions::default()
    };
    // Before: only the 7 hand-written profiles, no credit.
    let kb = KnowledgeBase::embedded();
    assert!(find(&Attribution::rank(kb, &embedded_profiles(), &e, &opts)).is_none());
    let res = Attribution::rank(kb, &actor_profiles(), &e, &opts);
    let item = find(&res).unwrap_or_else(|| panic!("{gid} not credited for {cve}"));
    assert!(item.weight > 0.0);
    // The explanation says where the fact comes from.
    assert!(item.detail.contains("named in ATT&CK"), "{}", item.detail);
    assert!(!item.detail.contains("per profile"), "{}", item.detail);
    // The CVE lifts its actor: against the same technique without it, it
    // ranks higher and is more likely. (It no longer leads outright: on one
    // technique every candidate is below 1 % and the learned prior for
    // groups many reports describe outweighs 0.5 × 1.5 logits; the outcome
    // is "unknown" either way.)
    let mut t_only = CaseEvidence::default();
    t_only.add_technique("T1190");
    let without = Attribution::rank(kb, &actor_profiles(), &t_only, &opts);
    let at = |res: &Attribution| {
        res.candidates
            .iter()
            .find(|c| c.id == gid)
            .map(|c| (c.rank, c.likelihood))
            .unwrap_or((usize::MAX, 0.0))
    };
    let (rank_with, p_with) = at(&res);
    let (rank_without, p_without) = at(&without);
    assert!(
        rank_with < rank_without && p_with > p_without,
        "{gid}: rank {rank_without} → {rank_with}, likelihood {p_without} → {p_with}"
    );
    assert_eq!(res.outcome, Outcome::UnknownCluster);
}

#[test]
fn a_handwritten_field_overrides_the_generated_one() {
    let kb = KnowledgeBase::embedded();
    let facts = FactsFile::embedded();
    // An analyst-profiled actor for which ATT&CK names a CVE its analyst did not list.
    let (analyst, generated, generated_only) = embedded_profiles()
        .into_iter()
        .find_map(|analyst| {
            let generated = facts.profile(facts.actors.iter().find(|a| a.id == analyst.id)?, kb);
            let extra: Sourced = generated
                .cves
                .iter()
                .find(|c| !analyst.cves.iter().any(|a| a.value == c.value))?
                .clone();
            Some((analyst, generated, extra))
        })
        .expect("a generated CVE no analyst listed");
    let merged = overlay(analyst.clone(), generated.clone());
    assert_eq!(merged.cves, analyst.cves, "the analyst's CVE list wins");
    assert_eq!(merged.regions, analyst.regions);
    assert!(merged.analyst);
    // A field the analyst left empty comes from the facts.
    let mut partial = analyst.clone();
    partial.sectors.clear();
    assert_eq!(
        overlay(partial, generated.clone()).sectors,
        generated.sectors
    );
    // And in the ranking: the generated-only CVE gives G0065 nothing.
    let mut e = CaseEvidence::default();
    e.add_technique("T1190");
    e.add_cve(&generated_only.value);
    let res = Attribution::rank(
        kb,
        &actor_profiles(),
        &e,
        &RankOptions {
            top: 200,
            ..RankOptions::default()
        },
    );
    let actor = res.candidates.iter().find(|c| c.id == analyst.id).unwrap();
    assert!(!actor.supporting.iter().any(|i| i.kind == EvidenceKind::Cve));
}

#[test]
fn victimology_facts_alone_name_no_actor() {
    // Every fact actor with a victim country and sector matching, but no
    // CVE, tool or infrastructure: victimology fits many actors and must
    // not corroborate technique overlap into a name.
    let mut e = CaseEvidence::default();
    for t in ["T1190", "T1505.003", "T1003.001", "T1021.002", "T1560.001"] {
        e.add_technique(t);
    }
    e.add_region("US");
    e.add_sector("government");
    e.ports.insert(443);
    let res = Attribution::rank(
        KnowledgeBase::embedded(),
        &actor_profiles(),
        &e,
        &RankOptions::default(),
    );
    assert_eq!(res.outcome, Outcome::UnknownCluster, "{:?}", res.outcome);
    assert!(res.candidates[0].likelihood < 0.45);
}

#[test]
fn an_analyst_profile_given_at_run_time_is_laid_over_the_facts() {
    let mut profiles = actor_profiles();
    let before = profiles.iter().find(|p| p.id == "G0034").unwrap().clone();
    assert!(!before.regions.is_empty() && !before.analyst);
    let mine = ActorProfile::parse(
        "id: G0034\nname: Sandworm\ncves:\n  - {value: CVE-2099-1234}\n",
        "test.yaml",
    )
    .unwrap();
    add_analyst_profile(&mut profiles, mine);
    let after: Vec<&ActorProfile> = profiles.iter().filter(|p| p.id == "G0034").collect();
    assert_eq!(after.len(), 1, "one profile per actor");
    assert_eq!(after[0].cves.len(), 1);
    assert_eq!(after[0].cves[0].value, "CVE-2099-1234");
    assert_eq!(
        after[0].regions, before.regions,
        "facts the analyst did not rewrite are kept"
    );
    assert!(after[0].analyst);
}

/// A facts file of another format, or not JSON, is refused with a typed
/// reason (the format tag found is kept for the message).
#[test]
fn a_facts_file_of_another_format_is_refused() {
    use kahu_attack::facts::{FACTS_FORMAT, FactsError};
    let e = FactsFile::parse(
        r#"{"format": "kahu-actor-facts/0", "attack_version": "18.1", "kev": "x",
        "rare_tool_groups": 5, "sources": {}, "actors": []}"#,
    )
    .expect_err("old format");
    assert!(matches!(&e, FactsError::Format { found } if found == "kahu-actor-facts/0"));
    assert_eq!(
        e.to_string(),
        format!("format `kahu-actor-facts/0`, expected `{FACTS_FORMAT}`")
    );
    assert!(matches!(FactsFile::parse("[1]"), Err(FactsError::Json(_))));
}

/// "Documented active since" comes from ATT&CK campaigns only: the day
/// CISA listed a CVE is not a day the actor was seen (2021-11-03, the
/// catalogue's launch, was shown as ToddyCat's and Wizard Spider's first
/// documented day, both active a year before).
#[test]
fn documented_since_never_comes_from_a_kev_listing() {
    let profiles = actor_profiles();
    let dated: Vec<_> = profiles
        .iter()
        .filter_map(|p| p.documented_since.as_ref().map(|d| (&p.id, d)))
        .collect();
    assert!(
        dated.iter().any(|(_, (_, why))| why.contains("campaign")),
        "no actor dated by a campaign: the check below would be empty"
    );
    for (id, (day, why)) in dated {
        assert!(!why.contains("KEV"), "{id}: {day} from {why}");
    }
}
