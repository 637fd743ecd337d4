//! `kahu assess` argument checks that fail before any work is done.

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
