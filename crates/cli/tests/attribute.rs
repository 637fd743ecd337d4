//! Attribution end to end on public red-team datasets (Mordor atomic sets,
//! in `../shared`): generic tooling must not name an actor, and
//! `kahu attribute --findings` ranks a case's findings as `kahu assess` did.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use std::path::PathBuf;
use std::process::Command;

const KAHU: &str = env!("CARGO_BIN_EXE_kahu");

/// Red-team tooling datasets nobody here wrote: Mimikatz, PsExec-style
/// service execution, an LSASS dump with comsvcs.
const SETS: &[&str] = &[
    // A purple-team playbook of eleven generic techniques once named APT29
    // "likely" on technique overlap alone.
    "windows/lateral_movement/host/purplesharp_ad_playbook_I.zip",
    "windows/credential_access/host/empire_mimikatz_logonpasswords.zip",
    "windows/lateral_movement/host/empire_psexec_dcerpc_tcp_svcctl.zip",
    "windows/credential_access/host/psh_lsass_memory_dump_comsvcs.zip",
];

fn shared() -> PathBuf {
    kahu_test_support::shared_dir()
}

fn json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read json");
    serde_json::from_str(&text).expect("parse json")
}

/// (id, likelihood) of the first five candidates.
fn top5(attribution: &serde_json::Value) -> Vec<(String, f64)> {
    attribution["candidates"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .take(5)
                .map(|c| {
                    (
                        c["id"].as_str().unwrap_or_default().to_string(),
                        c["likelihood"].as_f64().unwrap_or(f64::NAN),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn red_team_tooling_names_no_actor_and_attribute_agrees_with_assess() {
    let atomic = shared().join("mordor/atomic");
    for set in SETS {
        let src = atomic.join(set);
        if !src.is_file() {
            eprintln!("SKIP: Mordor atomic set not found at {}", src.display());
            continue;
        }
        let out = std::env::temp_dir().join(format!(
            "kahu-attr-{}-{}",
            std::process::id(),
            src.file_stem().and_then(|s| s.to_str()).unwrap_or("set")
        ));
        let run = Command::new(KAHU)
            .arg("assess")
            .arg(&src)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run kahu assess");
        assert!(
            run.status.success(),
            "{set}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let assessed = json(&out.join("attribution.json"));
        // ICD 203 "roughly even chance" starts at 45 %.
        for (id, p) in top5(&assessed) {
            assert!(p < 0.45, "{set}: {id} at {p}");
        }
        assert_ne!(assessed["outcome"]["kind"], "attributed", "{set}");
        let again = Command::new(KAHU)
            .arg("attribute")
            .arg("--findings")
            .arg(out.join("findings.jsonl"))
            .arg("--json")
            .output()
            .expect("run kahu attribute");
        let ranked: serde_json::Value =
            serde_json::from_slice(&again.stdout).expect("attribute --json output");
        let ids = |v: &[(String, f64)]| v.iter().map(|c| c.0.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(&top5(&ranked)),
            ids(&top5(&assessed)),
            "{set}: attribute --findings ranks differently from assess"
        );
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn enrichment_flags_are_checked_and_unknown_is_a_successful_judgement() {
    let run = |args: &[&str]| {
        Command::new(KAHU)
            .arg("attribute")
            .args(args)
            .output()
            .expect("run kahu")
    };
    // A region that is no country is refused before any ranking.
    let bad = run(&["--techniques", "T1190", "--region", "Atlantis"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Atlantis"));
    // A known country name is accepted; an unknown sector or infrastructure
    // kind is named in a warning and kept out of the evidence.
    let ok = run(&[
        "--techniques",
        "T1190",
        "--region",
        "New Zealand",
        "--sector",
        "basketry",
        "--infra",
        "zeppelin",
        "--json",
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let err = String::from_utf8_lossy(&ok.stderr);
    assert!(
        err.contains("basketry") && err.contains("zeppelin"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(v["evidence"]["infrastructure"], 0, "{}", v["evidence"]);
    // One technique names nobody, and that judgement exits 0.
    assert_ne!(v["outcome"]["kind"], "attributed");
}

/// `--navigator-out` onto one of the run's inputs (the analyst's layer or
/// findings file) is refused before anything is written, and a link planted
/// at the output path is replaced, not written through.
#[test]
fn the_navigator_layer_never_replaces_an_input_or_follows_a_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layer = dir.path().join("analyst-layer.json");
    let original = r#"{"name":"analyst","domain":"enterprise-attack","versions":{"layer":"4.5"},"techniques":[{"techniqueID":"T1190"},{"techniqueID":"T1505.003"}]}"#;
    std::fs::write(&layer, original).expect("write layer");
    let run = |args: &[&std::ffi::OsStr]| {
        Command::new(KAHU)
            .arg("attribute")
            .args(args)
            .output()
            .expect("run kahu")
    };
    let out = run(&[
        "--layer".as_ref(),
        layer.as_os_str(),
        "--navigator-out".as_ref(),
        layer.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to write"));
    assert_eq!(std::fs::read_to_string(&layer).unwrap(), original);
    // The same file reached through a link is the same input.
    let alias = dir.path().join("alias.json");
    std::os::unix::fs::symlink(&layer, &alias).unwrap();
    let out = run(&[
        "--layer".as_ref(),
        layer.as_os_str(),
        "--navigator-out".as_ref(),
        alias.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(std::fs::read_to_string(&layer).unwrap(), original);
    // A link at the output path to a file the run does not read is replaced.
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep").unwrap();
    let planted = dir.path().join("out-layer.json");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let out = run(&[
        "--techniques".as_ref(),
        "T1190,T1505.003".as_ref(),
        "--navigator-out".as_ref(),
        planted.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert!(!std::fs::symlink_metadata(&planted).unwrap().is_symlink());
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&planted).unwrap()).unwrap();
    assert_eq!(written["versions"]["layer"], "4.5");
}

/// `--attack-version`: the release asked for is recorded, ids given in the
/// other release are ranked the same, and a release kahu does not know is
/// refused. Expected ids from the shared v18.1 → v19 crosswalk.
#[test]
fn attack_version_is_recorded_and_ids_of_either_release_rank_alike() {
    let Some(cw) = kahu_test_support::shared("attack/attack-v18.1-to-v19-crosswalk.json") else {
        return;
    };
    let cw = json(&cw);
    let new = cw["revoked_by_v18_live"]["T1070.001"]
        .as_str()
        .expect("v19 id of T1070.001");
    let run = |techniques: &str, version: &str| {
        let out = Command::new(KAHU)
            .args(["attribute", "--json", "--techniques", techniques])
            .args(["--attack-version", version])
            .output()
            .expect("run kahu");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")
    };
    let v18 = run(&format!("{new},T1059.001"), "18.1");
    assert_eq!(v18["attack"]["version"], "18.1");
    assert_eq!(v18["attack"]["requested"], "18.1");
    let auto = run(&format!("{new},T1059.001"), "auto");
    assert_eq!(auto["attack"]["version"], "19", "a v19 id makes auto v19");
    assert_eq!(auto["attack"]["requested"], "auto");
    let old = run("T1070.001,T1059.001", "19");
    assert_eq!(old["attack"]["version"], "19");
    assert_eq!(
        top5(&v18),
        top5(&old),
        "the same ranking whichever release the ids are in"
    );
    let bad = Command::new(KAHU)
        .args([
            "attribute",
            "--techniques",
            "T1190",
            "--attack-version",
            "17",
        ])
        .output()
        .expect("run kahu");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("17"));
}

/// `attribute --navigator-out` writes its layer in the release the run is
/// shown in (it wrote the knowledge base's v18.1 whatever was shown): a
/// v19-tagged observation makes an ATT&CK 19 layer with the v19 id under its
/// v19 tactic; `--attack-version 18.1` keeps the v18.1 layer. Expected ids and
/// tactics from the shared v18.1 → v19 crosswalk.
#[test]
fn navigator_out_names_the_release_its_ids_are_in() {
    let Some(cw) = kahu_test_support::shared("attack/attack-v18.1-to-v19-crosswalk.json") else {
        return;
    };
    let cw = json(&cw);
    let new = cw["revoked_by_v18_live"]["T1070.001"]
        .as_str()
        .expect("v19 id of T1070.001");
    let tactic = cw["v19_tactics_of_v18_technique"]["T1070.001"][0]
        .as_str()
        .expect("v19 tactic of T1070.001");
    let dir = tempfile::tempdir().unwrap();
    let layer = |version: &str| {
        let out_path = dir.path().join(format!("layer-{version}.json"));
        let out = Command::new(KAHU)
            .args(["attribute", "--json", "--techniques"])
            .arg(format!("{new},T1059.001,T1021.002,T1003.001"))
            .args(["--attack-version", version, "--navigator-out"])
            .arg(&out_path)
            .output()
            .expect("run kahu");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cells: Vec<(String, String)> = json(&out_path)["techniques"]
            .as_array()
            .expect("techniques")
            .iter()
            .map(|t| {
                (
                    t["techniqueID"].as_str().unwrap_or_default().to_string(),
                    t["tactic"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        (json(&out_path)["versions"]["attack"].clone(), cells)
    };
    let (release, cells) = layer("auto");
    assert_eq!(release, "19", "a v19 id makes the run and its layer v19");
    assert!(
        cells.contains(&(new.to_string(), tactic.to_string())),
        "{cells:?}"
    );
    assert!(
        !cells
            .iter()
            .any(|(id, t)| id == "T1070.001" || t == "defense-evasion"),
        "no v18.1 id or tactic in a v19 layer: {cells:?}"
    );
    let (release, cells) = layer("18.1");
    assert_eq!(release, "18");
    assert!(
        cells.contains(&("T1070.001".to_string(), "defense-evasion".to_string())),
        "{cells:?}"
    );
}

/// Findings whose only techniques are a broad rule's blanket tags hold
/// nothing to score: `attribute` gives the judgement `assess` gives on
/// them (insufficient evidence, what was left out and why), not the usage
/// error for a run given no evidence at all, and lists no 0 % ranking.
#[test]
fn findings_with_nothing_to_score_are_insufficient_evidence_not_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let findings = dir.path().join("findings.jsonl");
    std::fs::write(
        &findings,
        r#"{"kind":"sigma","rule_id":"a642964e-bead-4bed-8910-1bb4d63e3b4d","title":"HackTool - Mimikatz Execution","level":"high","techniques":["T1003.001","T1003.002","T1003.004","T1003.005","T1003.006"],"software":[],"groups":[],"timestamp":"2024-05-01T10:00:00Z","host":"WS1","channel":"Microsoft-Windows-Sysmon/Operational","event_id":1,"fields":[["CommandLine","mimikatz.exe sekurlsa::logonpasswords"]],"provenance":{"file":"ev.jsonl","location":{"kind":"line","value":1}}}
"#,
    )
    .unwrap();
    let out = Command::new(KAHU)
        .arg("attribute")
        .arg("--findings")
        .arg(&findings)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout.contains("JUDGMENT: insufficient evidence"),
        "{stdout}"
    );
    assert!(
        stdout.contains("left out before scoring: T1003.001: only a blanket tag"),
        "{stdout}"
    );
    assert!(!stdout.contains("likelihood (ICD 203)"), "{stdout}");
    // Given nothing at all, it is still a usage error.
    let none = Command::new(KAHU).arg("attribute").output().unwrap();
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no evidence: give"));
}

/// A findings file with a feed indicator a partner attributes: the header
/// counts it as infrastructure (it said "0 infrastructure" beside two
/// scored infrastructure matches), and the output says which case context
/// a findings file cannot carry, so a judgement that differs from
/// `assess` on the same findings is explained.
#[test]
fn findings_count_attributed_indicators_and_say_what_case_context_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let findings = dir.path().join("findings.jsonl");
    std::fs::write(
        &findings,
        r#"{"kind":"ioc","rule_id":"indicator--00000000-0000-4000-8000-000000000001","title":"APT40 redirector","level":"high","techniques":[],"software":[],"groups":["G0065"],"timestamp":"2024-05-01T10:00:00Z","host":"WS1","channel":"conn","event_id":null,"fields":[["id.resp_h","203.0.113.77"],["ioc","ip 203.0.113.77"],["ioc_source","partner.json"]],"provenance":{"file":"conn.log","location":{"kind":"line","value":1}}}
"#,
    )
    .unwrap();
    let out = Command::new(KAHU)
        .args(["attribute", "--region", "NZ", "--findings"])
        .arg(&findings)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout.contains(", 1 infrastructure"), "{stdout}");
    assert!(
        stdout.contains("note: a findings file holds no case context; not scored here: victim sector (--sector), exploited CVEs (--cve), infrastructure kinds (--infra)."),
        "{stdout}"
    );
}
