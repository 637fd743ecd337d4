//! Load IOC feeds (STIX, MISP, CSV, lists, directories) and print them as
//! one STIX 2.1 bundle; load issues go to stderr.
//!
//! `cargo run -p kahu-intel --example intel_convert -- FEED... > bundle.json`

use kahu_intel::IocSet;
use std::path::Path;

fn main() {
    let mut set = IocSet::new();
    let mut failed = false;
    for arg in std::env::args().skip(1) {
        match set.load_path(Path::new(&arg)) {
            Ok(r) => {
                eprintln!("{arg}: {} indicators, {} context", r.loaded, r.context);
                for i in &r.issues {
                    eprintln!("  {i}");
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    match serde_json::to_string_pretty(&set.to_stix_bundle()) {
        Ok(s) => println!("{s}"),
        Err(e) => {
            eprintln!("error: {e}");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
