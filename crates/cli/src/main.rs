//! The `kahu` command line: argument parsing and wiring only. Each
//! subcommand lives in its own module under `cmd/`.

#[cfg(feature = "cluster")]
mod cluster;
mod cmd;
mod engine;
mod filter;
mod inputs;

/// Readers and matchers allocate and free many small values on different
/// threads; mimalloc's thread-local free lists make that markedly cheaper
/// than glibc malloc (measured in BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
mod output;
mod progress;
mod reattribute;
mod remote;
mod rules;
mod timezone;
mod tuning;

use clap::{Parser, Subcommand};

/// Exit status of `hunt`, `assess`, `convert`, `events` and `metrics` when
/// not one event could be read from the evidence (outputs are still
/// written; 2 stays "error"): a script cannot tell "nothing read" from
/// success by the output alone.
pub const NO_EVIDENCE_EXIT: u8 = 3;
use std::process::ExitCode;

/// kahu — from raw evidence of a breached network to an explained attribution.
///
/// Typical flow: `kahu assess EVIDENCE_DIR --rules SIGMA_DIR` reads every
/// evidence file (EVTX, JSON/JSONL exports, web/Linux/Zeek logs, archives),
/// runs Sigma rules and IOCs, reconstructs the intrusion, ranks candidate
/// threat actors and writes a report. `kahu hunt` stops after detection.
#[derive(Parser)]
#[command(name = "kahu", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Log more (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// No progress bars or colours (also when stderr is not a terminal).
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Worker threads for reading and matching (default: one per core).
    /// Reading and matching use this many threads each, so `--threads 1`
    /// is the gentlest setting on a shared machine.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    /// UTC offset of syslog times that carry no zone (BSD `Nov 29 02:50:05`,
    /// ISO without an offset), e.g. `+13:00` for a host logging in New
    /// Zealand summer time; they are read as UTC without it. Times with a
    /// zone (RFC 5424, journald, auditd epochs, web logs) are unaffected.
    #[arg(long, global = true, value_name = "±HH:MM", value_parser = parse_utc_offset, allow_hyphen_values = true)]
    syslog_offset: Option<i32>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assess a compromise end to end: detect, reconstruct, attribute, report.
    Assess(cmd::assess::Args),
    /// Run Sigma rules (and IOCs) over evidence and write a detection timeline.
    Hunt(cmd::hunt::Args),
    /// Rank candidate threat actors from techniques, software, CVEs, infrastructure
    /// and victimology (flags, a `kahu hunt` findings file, or a Navigator layer).
    Attribute(cmd::attribute::Args),
    /// Open the analyst web UI over a case directory written by `kahu assess`.
    Serve(cmd::serve::Args),
    /// Case directory maintenance (`kahu case index DIR`: build the full-text index now).
    Case(cmd::case::Args),
    /// Rule sets: check what compiles (and why the rest does not), list, show, install a package.
    Rules(cmd::rules::Args),
    /// Print the normalised events kahu reads from evidence (JSON-lines).
    Events(cmd::events::Args),
    /// Events per channel and event id, per computer, and a logon summary.
    Metrics(cmd::metrics::Args),
    /// Find events by keyword or regular expression (JSON-lines).
    Search(cmd::search::Args),
    /// Convert evidence into Parquet event shards partitioned by day and host
    /// (`kahu convert EVIDENCE... --to parquet DIR`), for query engines and
    /// for kahu itself (`kahu hunt DIR`).
    #[cfg(feature = "columnar")]
    Convert(cmd::convert::Args),
    /// Convert evidence into Parquet (needs a kahu built with `--features columnar`).
    #[cfg(not(feature = "columnar"))]
    Convert(cmd::convert_missing::Args),
    /// Run a node of an Apache DataFusion Ballista cluster for
    /// `kahu hunt --cluster` (`kahu cluster scheduler`, `kahu cluster
    /// executor --scheduler HOST:PORT`; needs kahu built with `--features cluster`).
    Cluster(cmd::cluster::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Not where kahu talks to a cluster: tokio writes sockets with writev,
    // which raises SIGPIPE when the peer has gone (a client or executor
    // that closed a connection), and the default action would kill a
    // scheduler or executor, or end `hunt --cluster` without an error.
    let on_cluster = match &cli.command {
        Command::Cluster(_) => true,
        Command::Hunt(args) => args.cluster.is_some(),
        _ => false,
    };
    if !on_cluster {
        restore_sigpipe();
    }
    let filter = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KAHU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(!cli.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Some(secs) = cli.syslog_offset {
        kahu_assess::set_syslog_utc_offset(secs);
    }
    if let Some(n) = cli.threads {
        if n == 0 {
            eprintln!("error: --threads must be at least 1");
            return ExitCode::from(2);
        }
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            eprintln!("error: cannot set up {n} threads: {e}");
            return ExitCode::from(2);
        }
    }
    let global = cmd::Global { quiet: cli.quiet };
    let result = match cli.command {
        Command::Assess(args) => cmd::assess::run(args, &global),
        Command::Hunt(args) => cmd::hunt::run(args, &global),
        Command::Events(args) => cmd::events::run(args, &global),
        Command::Metrics(args) => cmd::metrics::run(args, &global),
        Command::Search(args) => cmd::search::run(args, &global),
        Command::Rules(args) => cmd::rules::run(args, &global),
        Command::Serve(args) => cmd::serve::run(args, &global),
        Command::Case(args) => cmd::case::run(args, &global),
        Command::Attribute(args) => cmd::attribute::run(args, &global),
        #[cfg(feature = "columnar")]
        Command::Convert(args) => cmd::convert::run(args, &global),
        #[cfg(not(feature = "columnar"))]
        Command::Convert(args) => cmd::convert_missing::run(args),
        Command::Cluster(args) => cmd::cluster::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Errors name evidence files and quote evidence: never raw.
            eprintln!("error: {}", output::terminal_safe(&output::error_chain(&e)));
            ExitCode::from(2)
        }
    }
}

/// Rust ignores SIGPIPE, so `kahu hunt … --json | head -1` would panic in
/// `println!` once the reader has gone. Like other Unix filters, die
/// quietly from the signal instead.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called in main right after parsing the arguments, before any
    // other thread exists;
    // setting a signal disposition to its default has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `+13:00`, `-05:30`, `+1300`, `UTC` or `0` as seconds east of UTC, within
/// ±14 hours (the widest zones in use).
fn parse_utc_offset(s: &str) -> Result<i32, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") || t == "0" {
        return Ok(0);
    }
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => {
            return Err(format!(
                "`{s}`: write the offset as +HH:MM or -HH:MM (e.g. +13:00)"
            ));
        }
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let (Ok(h), Ok(m)) = (h.parse::<i32>(), m.parse::<i32>()) else {
        return Err(format!(
            "`{s}`: write the offset as +HH:MM or -HH:MM (e.g. +13:00)"
        ));
    };
    if !(0..60).contains(&m) || h * 60 + m > 14 * 60 || h < 0 {
        return Err(format!("`{s}`: an offset is at most 14 hours from UTC"));
    }
    Ok(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod offset_tests {
    use super::parse_utc_offset;

    #[test]
    fn offsets_parse_as_seconds_east_of_utc() {
        assert_eq!(parse_utc_offset("+13:00"), Ok(13 * 3600));
        assert_eq!(parse_utc_offset("-05:30"), Ok(-(5 * 3600 + 30 * 60)));
        assert_eq!(parse_utc_offset("+1345"), Ok(13 * 3600 + 45 * 60));
        assert_eq!(parse_utc_offset("UTC"), Ok(0));
        assert!(parse_utc_offset("13:00").is_err());
        assert!(parse_utc_offset("+15:00").is_err());
        assert!(parse_utc_offset("+12:60").is_err());
    }
}
