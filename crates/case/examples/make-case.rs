//! Write a synthetic case: `cargo run -p kahu-case --example make-case -- DIR [EVENTS]`.

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: make-case DIR [EVENTS]");
        std::process::exit(2);
    };
    let events = args.next().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let opts = kahu_case::synth::SynthOptions {
        events,
        ..Default::default()
    };
    let run = || -> kahu_case::Result<kahu_case::IngestStats> {
        let mut case = kahu_case::Case::create(&dir)?;
        kahu_case::synth::build(&mut case, &opts)
    };
    match run() {
        Ok(s) => println!(
            "{dir}: {} events, {} findings, {} evidence files ({} skipped)",
            s.events, s.findings, s.evidence, s.skipped
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
