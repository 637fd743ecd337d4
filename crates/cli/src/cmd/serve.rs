//! `kahu serve`: the analyst web UI over a case directory.

use anyhow::Context;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `kahu serve`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Case directory (what `kahu assess --out` wrote; holds case.sqlite).
    pub case_dir: PathBuf,
    /// Address and port to listen on. Anything but loopback requires an
    /// access token, generated and printed once unless --token is given.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Access token to require (also on loopback). Visible to every local
    /// user in `ps`: prefer the environment variable KAHU_TOKEN,
    /// --token-file, or the generated one.
    #[arg(long)]
    pub token: Option<String>,
    /// File of access tokens, one a line: `TOKEN` (the server's analyst,
    /// --user) or `TOKEN NAME` (an analyst of that name: the audit trail
    /// records NAME for what is done with it). `#` starts a comment.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
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
pub(crate) fn run(args: Args, global: &super::Global) -> anyhow::Result<ExitCode> {
    {
        use crate::inputs::{Kind, MAX_ATTACK_BYTES, MAX_INPUT_BYTES, check};
        check(
            "--token-file",
            &args.token_file,
            Kind::File(Some(MAX_INPUT_BYTES)),
        )?;
        check(
            "--profile",
            &args.profiles,
            Kind::File(Some(MAX_INPUT_BYTES)),
        )?;
        check("--attack", &args.attack, Kind::File(Some(MAX_ATTACK_BYTES)))?;
    }
    let mut cfg = kahu_web::ServeConfig::new(&args.case_dir);
    cfg.bind = args.bind;
    let tokens = access_tokens(
        args.token.as_deref(),
        std::env::var("KAHU_TOKEN").ok().as_deref(),
        args.token_file.as_deref(),
    )?;
    if args.token.is_some() && !global.quiet {
        eprintln!(
            "warning: --token is visible to every user of this machine (ps, /proc); set KAHU_TOKEN or use --token-file instead"
        );
    }
    cfg.token = tokens.server;
    cfg.analyst_tokens = tokens.analysts;
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
    cfg.timeline_index = super::case_parquet::serve_index(&args.case_dir);
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
                        "warning: listening on {addr}, reachable from the network over plain HTTP: the token, its cookie and the case data cross the network unencrypted. Put a TLS reverse proxy in front (or bind 127.0.0.1 and use an SSH tunnel), and share the URL only over a trusted channel"
                    );
                    if addr.ip().is_unspecified() {
                        eprintln!(
                            "note: {} means every interface of this host; open the URL with one of its addresses or names",
                            addr.ip()
                        );
                    }
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

/// The access tokens `kahu serve` requires.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct AccessTokens {
    /// The server analyst's token (the audit author is --user).
    pub server: Option<String>,
    /// Tokens bound to named analysts.
    pub analysts: Vec<(String, String)>,
}

/// Tokens from `--token`, `KAHU_TOKEN` and `--token-file` (all may be
/// given; a token must be at least 16 characters of no white space).
pub(crate) fn access_tokens(
    flag: Option<&str>,
    env: Option<&str>,
    file: Option<&std::path::Path>,
) -> anyhow::Result<AccessTokens> {
    let mut out = AccessTokens::default();
    let mut server = |t: &str, from: &str| -> anyhow::Result<()> {
        let t = checked_token(t, from)?;
        if out.server.as_deref().is_some_and(|s| s != t) {
            anyhow::bail!("{from}: a different server token was already given");
        }
        out.server = Some(t);
        Ok(())
    };
    if let Some(t) = flag.filter(|t| !t.is_empty()) {
        server(t, "--token")?;
    }
    if let Some(t) = env.filter(|t| !t.trim().is_empty()) {
        server(t.trim(), "KAHU_TOKEN")?;
    }
    let mut analysts = Vec::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --token-file {}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let from = format!("{} line {}", path.display(), i + 1);
            match line.split_once(char::is_whitespace) {
                None => server(line, &from)?,
                Some((t, name)) => {
                    let name = name.trim();
                    if name.len() > 64 || name.chars().any(char::is_control) {
                        anyhow::bail!("{from}: analyst names are 1-64 printable characters");
                    }
                    analysts.push((checked_token(t, &from)?, name.to_string()));
                }
            }
        }
    }
    out.analysts = analysts;
    Ok(out)
}

fn checked_token(t: &str, from: &str) -> anyhow::Result<String> {
    if t.len() < 16 || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        anyhow::bail!("{from}: an access token is at least 16 characters without spaces");
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_the_environment_and_a_file_with_bound_analysts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(
            &file,
            "# kahu serve tokens\nSERVERTOKEN-0123456789\nALICETOKEN-0123456789 alice\n",
        )
        .unwrap();
        let t = access_tokens(None, Some("SERVERTOKEN-0123456789"), Some(&file)).unwrap();
        assert_eq!(t.server.as_deref(), Some("SERVERTOKEN-0123456789"));
        assert_eq!(
            t.analysts,
            vec![("ALICETOKEN-0123456789".to_string(), "alice".to_string())]
        );
        let env_only = access_tokens(None, Some("ENVTOKEN-0123456789ab"), None).unwrap();
        assert_eq!(env_only.server.as_deref(), Some("ENVTOKEN-0123456789ab"));
        assert!(access_tokens(None, Some("short"), None).is_err());
        assert!(
            access_tokens(
                Some("FLAGTOKEN-0123456789"),
                Some("ENVTOKEN-0123456789ab"),
                None
            )
            .is_err(),
            "two different server tokens"
        );
    }
}
