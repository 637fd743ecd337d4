//! Generate the demo case: `cargo run -p kahu-demo --example gen -- <dir> [seed]`.
fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "demo-case".into());
    let seed = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(kahu_demo::DEFAULT_SEED);
    let t = std::time::Instant::now();
    let gt = kahu_demo::generate(
        std::path::Path::new(&dir),
        seed,
        &kahu_demo::DemoOptions::default(),
    )?;
    eprintln!(
        "{} records in {} files, {} malicious, {:?}",
        gt.total_records,
        gt.files.len(),
        gt.malicious.len(),
        t.elapsed()
    );
    Ok(())
}
