//! Serve a case without the `kahu` binary (used by the e2e tests until
//! `kahu serve` is wired in): `cargo run -p kahu-web --example serve -- DIR [ADDR:PORT]`.

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: serve CASE_DIR [ADDR:PORT]"))?;
    let mut cfg = kahu_web::ServeConfig::new(dir);
    if let Some(b) = args.next() {
        cfg.bind = b.parse()?;
    }
    let app = kahu_web::build(cfg)?;
    kahu_web::serve_blocking(app, |addr, token| {
        match token {
            Some(t) => println!("kahu serve: http://{addr}/?token={t}"),
            None => println!("kahu serve: http://{addr}/"),
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
    })
}
