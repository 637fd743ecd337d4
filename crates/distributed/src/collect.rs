//! The client's side of [`crate::wire`]: rows from the cluster, sorted
//! into the partitions the client planned, and a verdict per partition.
//!
//! Rows are buffered per partition (by their `group` digest) and per run
//! (one execution on an executor), whatever order they arrive in. A run is
//! complete only when its closing row is there and the finding rows
//! numbered `0 .. n` are all there, `n` and their digest being what the
//! closing row says. A row delivered twice is read once; two complete runs
//! of one partition (a retried task) are read once if they agree and fail
//! the hunt if they do not. A partition without a complete run, and
//! without a `failed` closing row (which sends its shards to kahu's own
//! reader), fails the hunt: nothing incomplete is reported as complete.

use crate::detect::{Detection, Excluded};
use crate::exec::PartitionReport;
use crate::wire::{FAILED, FINDING, REPORT, RowDigest, WireReport};
use datafusion_common::arrow::array::AsArray;
use datafusion_common::arrow::datatypes::UInt64Type;
use datafusion_common::arrow::record_batch::RecordBatch;
use kahu_finding::Finding;
use std::collections::{BTreeMap, HashMap};

type Res<T> = std::result::Result<T, String>;

/// A partition's verdict: its findings and report, or why it failed on
/// the executor (its shards are read again); an `Err` outside that fails
/// the hunt.
pub(crate) type Settled = Res<Res<(Vec<Finding>, PartitionReport)>>;

/// The closing row of a run as it arrived: `seq`, failed or not, `json`.
type Closing = (u64, bool, String);

/// One execution of one partition, as it arrived.
#[derive(Default)]
struct Run {
    /// Finding rows by `seq`: the row's hash and the finding.
    rows: BTreeMap<u64, ([u8; 32], Finding)>,
    closing: Option<Closing>,
    /// Rows that arrived more than once (read once).
    repeated: u64,
}

impl Run {
    /// Is every row the closing row announces here, and only those?
    fn check(&self, seq: u64, r: &WireReport) -> Res<()> {
        let n = self.rows.len() as u64;
        if seq != r.findings || n != r.findings {
            return Err(format!(
                "its closing row announces {} findings, {n} arrived",
                r.findings
            ));
        }
        if self
            .rows
            .keys()
            .next_back()
            .is_some_and(|&last| last + 1 != n)
        {
            return Err("its finding rows are not numbered 0 .. n".into());
        }
        let mut digest = RowDigest::default();
        for (h, _) in self.rows.values() {
            digest.add(h);
        }
        if digest.hex() != r.digest {
            return Err("its finding rows do not match the closing row's digest".into());
        }
        Ok(())
    }
}

/// The rows gathered so far.
pub(crate) struct Collector {
    /// Group digest → planned partition.
    groups: HashMap<String, usize>,
    /// Per planned partition, its runs by run name.
    runs: Vec<BTreeMap<String, Run>>,
}

impl Collector {
    /// A collector for partitions whose group digests are `keys`, in plan order.
    pub fn new(keys: Vec<String>) -> Res<Self> {
        let mut groups = HashMap::with_capacity(keys.len());
        for (p, k) in keys.into_iter().enumerate() {
            if let Some(q) = groups.insert(k, p) {
                return Err(format!("partitions {q} and {p} read the same files"));
            }
        }
        let runs = (0..groups.len()).map(|_| BTreeMap::new()).collect();
        Ok(Collector { groups, runs })
    }

    /// Sort `batch`'s rows into their partitions and runs. A row of a file
    /// group that was not planned, two different rows under one number,
    /// an unknown kind or an unreadable finding is an error.
    pub fn add(&mut self, batch: &RecordBatch) -> Res<()> {
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| format!("result without its {name} column"))
        };
        let text = |name: &str| {
            col(name)?
                .as_string_opt::<i32>()
                .ok_or_else(|| format!("{name} column of another type"))
        };
        let (group, run, kind, json) = (text("group")?, text("run")?, text("kind")?, text("json")?);
        let seq = col("seq")?
            .as_primitive_opt::<UInt64Type>()
            .ok_or("seq column of another type")?;
        for i in 0..batch.num_rows() {
            let (g, k, t, s) = (group.value(i), kind.value(i), json.value(i), seq.value(i));
            let Some(&p) = self.groups.get(g) else {
                if g.is_empty() && k == FAILED {
                    return Err(t.to_string());
                }
                return Err(format!(
                    "a result row for files the client did not plan (group {g})"
                ));
            };
            let id = run.value(i);
            let run = self.runs[p].entry(id.to_string()).or_default();
            match k {
                FINDING => {
                    let h = RowDigest::row(s, t);
                    match run.rows.get(&s) {
                        Some((old, _)) if *old == h => run.repeated += 1,
                        Some(_) => {
                            return Err(format!("partition {p}, run {id}: two different rows {s}"));
                        }
                        None => {
                            let f = serde_json::from_str(t)
                                .map_err(|e| format!("partition {p}: finding: {e}"))?;
                            run.rows.insert(s, (h, f));
                        }
                    }
                }
                REPORT | FAILED => {
                    let c = (s, k == FAILED, t.to_string());
                    match &run.closing {
                        Some(old) if *old == c => run.repeated += 1,
                        Some(_) => {
                            return Err(format!(
                                "partition {p}, run {id}: two different closing rows"
                            ));
                        }
                        None => run.closing = Some(c),
                    }
                }
                other => return Err(format!("partition {p}: unknown row kind {other:?}")),
            }
        }
        Ok(())
    }

    /// Every planned partition's verdict, in plan order.
    pub fn finish(self, detection: &Detection) -> Vec<Settled> {
        self.runs
            .into_iter()
            .enumerate()
            .map(|(p, runs)| settle(p, runs, detection))
            .collect()
    }
}

/// One partition's verdict from its runs (see the module's text).
fn settle(p: usize, runs: BTreeMap<String, Run>, detection: &Detection) -> Settled {
    let mut complete: Vec<(Run, WireReport)> = Vec::new();
    let mut failed = None;
    let mut problems = Vec::new();
    for (id, mut run) in runs {
        if run.repeated > 0 {
            tracing::info!(partition = p, run = %id, rows = run.repeated, "cluster rows delivered twice, read once");
        }
        match run.closing.take() {
            None => problems.push(format!(
                "run {id}: {} finding rows, no closing row",
                run.rows.len()
            )),
            Some((_, true, reason)) => failed = Some(reason),
            Some((seq, false, text)) => {
                let r: WireReport =
                    serde_json::from_str(&text).map_err(|e| format!("run {id}: report: {e}"))?;
                match run.check(seq, &r) {
                    Ok(()) => complete.push((run, r)),
                    Err(e) => problems.push(format!("run {id}: {e}")),
                }
            }
        }
    }
    let mut complete = complete.into_iter();
    if let Some((run, r)) = complete.next() {
        for (_, other) in complete {
            if other.digest != r.digest || other.findings != r.findings {
                return Err(format!(
                    "two complete runs that differ ({} and {} findings)",
                    r.findings, other.findings
                ));
            }
            tracing::info!(
                partition = p,
                "a partition ran twice with the same output, read once"
            );
        }
        let findings = run.rows.into_values().map(|(_, f)| f).collect();
        return Ok(Ok((findings, report(r, detection)?)));
    }
    if let Some(reason) = failed {
        return Ok(Err(reason));
    }
    if problems.is_empty() {
        return Err("no row arrived".into());
    }
    Err(format!("incomplete output: {}", problems.join("; ")))
}

/// A wire report as the local gather step's [`PartitionReport`]; the
/// correlation state is merged into engines of `detection`'s rule sets.
fn report(r: WireReport, detection: &Detection) -> Res<PartitionReport> {
    if r.engines.len() != detection.rules.len() {
        return Err(format!(
            "{} rule sets in the report, {} here",
            r.engines.len(),
            detection.rules.len()
        ));
    }
    let mut engines = Vec::with_capacity(r.engines.len());
    for (set, state) in detection.rules.iter().zip(r.engines) {
        engines.push(match (set.partition_engine(), state) {
            (Some(mut e), Some(s)) => {
                e.merge_state(s).map_err(|e| e.to_string())?;
                Some(e)
            }
            (None, None) => None,
            _ => return Err("correlation rules differ between executor and client".into()),
        });
    }
    Ok(PartitionReport {
        engines,
        events: r.events,
        excluded: Excluded {
            time: r.excluded[0],
            undated: r.excluded[1],
            selection: r.excluded[2],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{WHOAMI, events, rules, truth};
    use crate::wire::cluster_schema;
    use datafusion_common::arrow::array::{ArrayRef, StringArray, UInt64Array};
    use kahu_intel::IocSet;
    use std::sync::Arc;

    /// (group, run, seq, kind, json) rows as one batch.
    fn batch(rows: &[(&str, &str, u64, &str, String)]) -> RecordBatch {
        let s = |f: fn(&(&str, &str, u64, &str, String)) -> String| -> ArrayRef {
            Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
        };
        let seq: ArrayRef = Arc::new(UInt64Array::from(
            rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        ));
        let columns = vec![
            s(|r| r.0.to_string()),
            s(|r| r.1.to_string()),
            seq,
            s(|r| r.3.to_string()),
            s(|r| r.4.clone()),
        ];
        RecordBatch::try_new(cluster_schema(), columns).expect("batch")
    }

    fn detection() -> Detection {
        Detection {
            rules: vec![rules(&[("whoami.yml", WHOAMI)])],
            iocs: Arc::new(IocSet::new()),
            filter: Default::default(),
        }
    }

    /// Real finding texts (the embedded detector's), at least `n`.
    fn texts(n: usize) -> Vec<String> {
        let t = truth(&rules(&[("whoami.yml", WHOAMI)]), &events());
        assert!(t.len() >= n, "{} findings in the test events", t.len());
        t.into_iter().take(n).collect()
    }

    /// The closing row a run that sent `texts` sends.
    fn report(texts: &[String]) -> String {
        let mut digest = RowDigest::default();
        for (i, t) in texts.iter().enumerate() {
            digest.add(&RowDigest::row(i as u64, t));
        }
        let r = WireReport {
            findings: texts.len() as u64,
            digest: digest.hex(),
            events: 10,
            excluded: [0; 3],
            engines: vec![None],
        };
        serde_json::to_string(&r).expect("report")
    }

    fn settled(c: Collector) -> Settled {
        let mut all = c.finish(&detection());
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    fn found(s: Settled) -> Vec<String> {
        let (findings, report) = s.expect("partition complete").expect("not failed");
        assert_eq!(report.events, 10);
        findings.iter().map(crate::tests::key).collect()
    }

    #[test]
    fn a_run_is_complete_whatever_the_order_and_repeats_of_its_rows() {
        let t = texts(3);
        let mut c = Collector::new(vec!["g".into()]).expect("collector");
        c.add(&batch(&[("g", "r", 3, REPORT, report(&t))]))
            .expect("add");
        c.add(&batch(&[
            ("g", "r", 2, FINDING, t[2].clone()),
            ("g", "r", 0, FINDING, t[0].clone()),
        ]))
        .expect("add");
        c.add(&batch(&[("g", "r", 1, FINDING, t[1].clone())]))
            .expect("add");
        // Delivered twice: read once.
        c.add(&batch(&[
            ("g", "r", 0, FINDING, t[0].clone()),
            ("g", "r", 3, REPORT, report(&t)),
        ]))
        .expect("add");
        assert_eq!(found(settled(c)), t, "seq order, each once");
    }

    #[test]
    fn a_missing_row_or_closing_row_fails_the_partition() {
        let t = texts(3);
        let mut c = Collector::new(vec!["g".into()]).expect("collector");
        c.add(&batch(&[
            ("g", "r", 0, FINDING, t[0].clone()),
            ("g", "r", 2, FINDING, t[2].clone()),
            ("g", "r", 3, REPORT, report(&t)),
        ]))
        .expect("add");
        let e = settled(c).err().expect("incomplete");
        assert!(e.contains("announces 3 findings, 2 arrived"), "{e}");

        let mut c = Collector::new(vec!["g".into()]).expect("collector");
        c.add(&batch(&[("g", "r", 0, FINDING, t[0].clone())]))
            .expect("add");
        let e = settled(c).err().expect("no closing row");
        assert!(e.contains("no closing row"), "{e}");

        // A row replaced by another one (same number, other finding).
        let mut c = Collector::new(vec!["g".into()]).expect("collector");
        c.add(&batch(&[
            ("g", "r", 0, FINDING, t[0].clone()),
            ("g", "r", 1, FINDING, t[0].clone()),
            ("g", "r", 2, FINDING, t[2].clone()),
            ("g", "r", 3, REPORT, report(&t)),
        ]))
        .expect("add");
        let e = settled(c).err().expect("digest");
        assert!(e.contains("digest"), "{e}");

        let c = Collector::new(vec!["g".into()]).expect("collector");
        assert_eq!(settled(c).err().as_deref(), Some("no row arrived"));
    }

    #[test]
    fn retried_runs_are_read_once_if_they_agree_and_fail_if_they_differ() {
        let t = texts(2);
        let run = |id: &'static str, t: &[String]| {
            let mut rows: Vec<_> = t
                .iter()
                .enumerate()
                .map(|(i, x)| ("g", id, i as u64, FINDING, x.clone()))
                .collect();
            rows.push(("g", id, t.len() as u64, REPORT, report(t)));
            batch(&rows)
        };
        let mut c = Collector::new(vec!["g".into()]).expect("collector");
        c.add(&run("a", &t)).expect("add");
        c.add(&run("b", &t)).expect("add");
        assert_eq!(found(settled(c)), t);

        let mut c = Collector::new(vec!["g".into()]).expect("collector");
        c.add(&run("a", &t)).expect("add");
        c.add(&run("b", &t[..1])).expect("add");
        let e = settled(c).err().expect("differ");
        assert!(e.contains("differ"), "{e}");

        // A failed attempt and a complete one: the complete one counts;
        // a failed one alone sends the shards to kahu's reader.
        let mut c = Collector::new(vec!["g".into()]).expect("collector");
        c.add(&batch(&[("g", "x", 0, FAILED, "damaged".into())]))
            .expect("add");
        c.add(&run("a", &t)).expect("add");
        assert_eq!(found(settled(c)), t);
        let mut c = Collector::new(vec!["g".into()]).expect("collector");
        c.add(&batch(&[("g", "x", 0, FAILED, "damaged".into())]))
            .expect("add");
        assert_eq!(
            settled(c).expect("settled").err().as_deref(),
            Some("damaged")
        );
    }

    #[test]
    fn rows_of_files_not_planned_fail_the_hunt() {
        let mut c = Collector::new(vec!["g".into(), "h".into()]).expect("collector");
        let e = c
            .add(&batch(&[("other", "r", 0, FINDING, texts(1)[0].clone())]))
            .expect_err("unknown group");
        assert!(e.contains("did not plan"), "{e}");
        let e = c
            .add(&batch(&[("", "r", 0, FAILED, "cannot name".into())]))
            .expect_err("unnamed");
        assert_eq!(e, "cannot name");
        assert!(Collector::new(vec!["g".into(), "g".into()]).is_err());
    }
}
