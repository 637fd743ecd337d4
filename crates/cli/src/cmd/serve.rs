//! `kahu serve`: the analyst web UI over a case directory.

use anyhow::Context;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `kahu serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Case directory (what `kahu assess --out` wrote; holds case.sqlite).
    pub case_dir: PathBuf,
    /// Address and port to listen on. Anything but loopback requires an
    /// access token, generated and printed once unless --token is given.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Access token to require (also on loopback). Prefer the generated one.
    #[arg(long)]
    pub token: Option<String>,
    /// Analyst name recorded in the audit trail when the browser sets none
    /// (default: the OS user).
    #[arg(long)]
    pub user: Option<String>,
    /// ATT&CK STIX bundle to re-rank disputed evidence with (give the one
    /// `kahu assess --attack` used; default: the embedded v18.1).
    #[arg(long, value_name = "FILE")]
    pub attack: Option<PathBuf>,
    /// Extra actor profile for re-ranking (YAML; repeatable; give the ones
    /// `kahu assess --profile` used).
    #[arg(long = "profile", value_name = "FILE")]
    pub profiles: Vec<PathBuf>,
}

/// Serve until Ctrl-C.
pub fn run(args: Args, global: &super::Global) -> anyhow::Result<ExitCode> {
    let mut cfg = kahu_web::ServeConfig::new(&args.case_dir);
    cfg.bind = args.bind;
    cfg.token = args.token.filter(|t| !t.is_empty());
    if let Some(u) = args.user {
        cfg.default_user = u;
    }
    // Disputing evidence in the UI re-ranks the actors without it.
    let kb = match &args.attack {
        Some(p) => Some(
            kahu_attack::KnowledgeBase::from_stix_bundle(p)
                .with_context(|| format!("cannot load ATT&CK bundle {}", p.display()))?,
        ),
        None => None,
    };
    let profiles = args
        .profiles
        .iter()
        .map(|p| {
            kahu_attack::ActorProfile::load(p)
                .with_context(|| format!("cannot load actor profile {}", p.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    cfg.reattribute = Some(std::sync::Arc::new(crate::reattribute::Reattributor::new(
        kb, profiles,
    )));
    let app =
        kahu_web::build(cfg).with_context(|| format!("serving {}", args.case_dir.display()))?;
    let quiet = global.quiet;
    kahu_web::serve_blocking(app, |addr, token| {
        let mut out = std::io::stdout().lock();
        match token {
            // Printed once: the token is not stored anywhere.
            Some(t) => {
                let _ = writeln!(out, "kahu serve: http://{addr}/?token={t}");
                if !addr.ip().is_loopback() && !quiet {
                    eprintln!(
                        "warning: listening on {addr}, reachable from the network; share the URL only over a trusted channel"
                    );
                }
            }
            None => {
                let _ = writeln!(out, "kahu serve: http://{addr}/");
            }
        }
        let _ = out.flush();
    })?;
    Ok(ExitCode::SUCCESS)
}
