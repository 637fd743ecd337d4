//! Compile MITRE's ATT&CK STIX 2.1 bundle into kahu's compact knowledge base.
//!
//! `cargo run -p kahu-attack --bin kahu-attack-compile -- ../shared/attack/enterprise-attack.json data/attack/enterprise-attack-v18.1.kb.json 18.1`

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || args.len() > 3 {
        eprintln!("usage: kahu-attack-compile BUNDLE.json OUT.kb.json [ATTACK_VERSION]");
        return ExitCode::from(2);
    }
    let input = Path::new(&args[0]);
    let version = args
        .get(2)
        .cloned()
        .or_else(|| kahu_attack::stix::version_from_file_name(input))
        .unwrap_or_else(|| "unknown".into());
    match kahu_attack::stix::compile_file(input, &version) {
        Ok(kb) => {
            if let Err(e) = std::fs::write(&args[1], kb.to_json_lines()) {
                eprintln!("error: writing {}: {e}", args[1]);
                return ExitCode::from(1);
            }
            eprintln!(
                "ATT&CK {version}: {} techniques, {} groups, {} software, {} campaigns, {} relations, {} revoked ids → {}",
                kb.techniques.len(),
                kb.groups.len(),
                kb.software.len(),
                kb.campaigns.len(),
                kb.relations.len(),
                kb.revoked.len(),
                args[1]
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
