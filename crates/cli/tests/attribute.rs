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
