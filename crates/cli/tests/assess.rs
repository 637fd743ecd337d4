//! `kahu assess` argument checks that fail before any work is done.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use std::process::Command;

#[test]
fn unknown_tlp_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args(["assess", "--demo", "--tlp", "TLP:PURPLE", "--out"])
        .arg(std::env::temp_dir().join("kahu-cli-tlp-test"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TLP:PURPLE") && err.contains("TLP:AMBER+STRICT"),
        "{err}"
    );
}

#[test]
fn infra_with_an_address_that_is_no_ip_is_refused_before_any_work() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args([
            "assess",
            "--demo",
            "--infra",
            "203.0.113=soho-router",
            "--out",
        ])
        .arg(out_dir.path().join("out"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"203.0.113\" is not an IP address"), "{err}");
    // Refused at argument parsing: the demo was not generated.
    assert!(!out_dir.path().join("out").exists());
}
