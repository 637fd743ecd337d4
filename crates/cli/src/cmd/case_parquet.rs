//! The case timeline as Parquet: `kahu case parquet CASE_DIR`, `kahu
//! assess --case-parquet` (and by itself for large cases), and the index
//! `kahu serve` reads it through (built with `datafusion`).

use std::path::Path;

/// `kahu assess` writes the Parquet timeline by itself from this many
/// events on (a kahu built with `columnar`); below it, only with
/// `--case-parquet`. Far above [`kahu_case::INDEX_MIN_EVENTS`], where the
/// Parquet timeline starts to pay, so that `assess` spends the time only
/// on cases that need it; `kahu case parquet` writes it for any case.
pub(crate) const AUTO_EVENTS: u64 = 10_000_000;

/// Write (or rewrite) the Parquet timeline of the case in `case_dir`,
/// building the case's time indexes first when `assess` left them. Progress on stderr unless `quiet`.
#[cfg(feature = "columnar")]
pub(crate) fn write(case_dir: &Path, quiet: bool) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut case = kahu_case::Case::open(case_dir)
        .with_context(|| format!("cannot open the case in {}", case_dir.display()))?;
    // The timeline is read in time order: the time indexes a bulk load
    // leaves out are built first (not the full-text index, which `kahu
    // serve` builds meanwhile; searches go to the Parquet timeline then).
    if case.index_backlog()?.is_some_and(|b| b.timeline) {
        if !quiet {
            eprintln!("indexing… building the case's timeline indexes first");
        }
        case.ensure_timeline_indexes()
            .context("cannot build the case's timeline indexes")?;
    }
    let total = case.summary()?.events;
    let started = std::time::Instant::now();
    let mut shown = std::time::Instant::now();
    let m = kahu_columnar::timeline::write_timeline(
        &case,
        kahu_columnar::timeline::TimelineOptions::default(),
        |n| {
            if !quiet && shown.elapsed().as_secs() >= 5 {
                eprintln!("timeline… {n} of {total} events");
                shown = std::time::Instant::now();
            }
        },
    )
    .context("cannot write the Parquet timeline")?;
    if !quiet {
        let bytes: u64 = m.files.iter().map(|f| f.bytes).sum();
        eprintln!(
            "Parquet timeline: {} events in {} files, {:.1} MiB, {} ({:.1} s)",
            m.events,
            m.files.len(),
            bytes as f64 / (1u64 << 20) as f64,
            case_dir
                .join(kahu_columnar::timeline::TIMELINE_DIR)
                .display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Without `columnar`, say how to get it.
#[cfg(not(feature = "columnar"))]
pub(crate) fn write(_: &Path, _: bool) -> anyhow::Result<()> {
    anyhow::bail!(
        "the Parquet timeline needs kahu built with `--features columnar` (to read it in `kahu serve`: `--features datafusion`)"
    )
}

/// Whether `assess` writes the timeline: asked for, or by itself for a
/// case of [`AUTO_EVENTS`] or more in a build that can.
pub(crate) fn wanted(asked: bool, case_dir: &Path) -> bool {
    asked
        || (cfg!(feature = "columnar")
            && kahu_case::Case::open_read_only(case_dir)
                .and_then(|c| c.summary())
                .is_ok_and(|s| s.events >= AUTO_EVENTS))
}

/// The index `kahu serve` gives the web server: the case's Parquet
/// timeline, read with DataFusion (only in a build with `datafusion`).
#[cfg(feature = "datafusion")]
pub(crate) fn serve_index(case_dir: &Path) -> Option<std::sync::Arc<dyn kahu_case::TimelineIndex>> {
    Some(std::sync::Arc::new(
        kahu_distributed::timeline::ParquetTimeline::open(case_dir),
    ))
}

/// Without DataFusion, SQLite answers every timeline query.
#[cfg(not(feature = "datafusion"))]
pub(crate) fn serve_index(_: &Path) -> Option<std::sync::Arc<dyn kahu_case::TimelineIndex>> {
    None
}
