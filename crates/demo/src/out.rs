//! Collects generated records per evidence file, orders them by time and
//! writes them, remembering the line number of every malicious record for
//! the ground truth.
//!
//! Records are produced out of order (the benign background and the attack
//! are generated separately), so nothing is written until everything has
//! been generated; EVTX record ids are assigned after sorting so that they
//! grow with time as they do on a real host.

use crate::rng::Rng;
use crate::time::{iis_date, system_time};
use crate::truth::{Detector, MaliciousEvent};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Why a record is in the case: the storyline step and how kahu is
/// expected to find it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Label {
    /// Index into [`crate::story::STEPS`].
    pub step: usize,
    /// ATT&CK technique ids this record evidences.
    pub techniques: &'static [&'static str],
    /// Which kind of detector should surface it.
    pub detector: Detector,
}

/// A Windows event waiting for its record id.
#[derive(Debug, Clone)]
pub(crate) struct WinRec {
    pub provider: &'static Provider,
    pub event_id: u32,
    pub level: u8,
    pub task: u16,
    pub keywords: &'static str,
    pub pid: u32,
    pub tid: u32,
    pub computer: String,
    pub user_sid: Option<&'static str>,
    /// The `EventData` object, already serialised.
    pub data: String,
}

/// An event provider as rendered in `System.Provider`.
#[derive(Debug)]
pub(crate) struct Provider {
    pub name: &'static str,
    pub guid: Option<&'static str>,
    /// Classic providers carry `EventSourceName` and a `Qualifiers` attribute on `EventID`.
    pub classic: Option<u32>,
    pub channel: &'static str,
}

#[derive(Debug)]
enum Body {
    Win(Box<WinRec>),
    Text(String),
}

#[derive(Debug)]
struct Rec {
    t: i64,
    seq: u64,
    body: Body,
    label: Option<Label>,
}

/// The kind of file, which decides headers and rendering.
#[derive(Debug, Clone)]
pub(crate) enum FileKind {
    /// JSON lines in the EVTX JSON rendering.
    Evtx,
    /// IIS W3C extended log (one file per UTC day).
    Iis,
    /// Plain text lines (syslog).
    Text,
    /// Zeek TSV log with the given path, field names and types.
    Zeek {
        path: &'static str,
        fields: &'static [&'static str],
        types: &'static [&'static str],
    },
}

#[derive(Debug)]
struct FileBuf {
    kind: FileKind,
    recs: Vec<Rec>,
}

/// The collector.
#[derive(Debug, Default)]
pub(crate) struct Out {
    files: BTreeMap<String, FileBuf>,
    seq: u64,
}

/// What [`Out::write`] returns: malicious records with line numbers, and
/// record counts per file.
pub(crate) type Written = (Vec<MaliciousEvent>, Vec<(String, u64)>);

/// Fields of an IIS log line, in `#Fields` order.
pub(crate) const IIS_FIELDS: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";

impl Out {
    fn push(&mut self, file: String, kind: FileKind, t: i64, body: Body, label: Option<Label>) {
        self.seq += 1;
        let seq = self.seq;
        self.files
            .entry(file)
            .or_insert_with(|| FileBuf {
                kind,
                recs: Vec::new(),
            })
            .recs
            .push(Rec {
                t,
                seq,
                body,
                label,
            });
    }

    /// A Windows event on `host` (short name, used as the folder).
    pub(crate) fn win(&mut self, host: &str, t: i64, rec: WinRec, label: Option<Label>) {
        let file = format!("{host}/{}.jsonl", rec.provider.channel.replace('/', "%4"));
        self.push(file, FileKind::Evtx, t, Body::Win(Box::new(rec)), label);
    }

    /// An IIS log line for site `W3SVC<n>` on `host`; the daily file is picked from `t`.
    pub(crate) fn iis(&mut self, host: &str, t: i64, line: String, label: Option<Label>) {
        let d = iis_date(t);
        let file = format!("{host}/inetpub/logs/LogFiles/W3SVC1/u_ex{d}.log");
        self.push(file, FileKind::Iis, t, Body::Text(line), label);
    }

    /// A plain text line in `file`.
    pub(crate) fn text(&mut self, file: &str, t: i64, line: String, label: Option<Label>) {
        self.push(file.to_string(), FileKind::Text, t, Body::Text(line), label);
    }

    /// A Zeek record (already tab-joined) in `file`.
    pub(crate) fn zeek(
        &mut self,
        file: &str,
        kind: FileKind,
        t: i64,
        line: String,
        label: Option<Label>,
    ) {
        self.push(file.to_string(), kind, t, Body::Text(line), label);
    }

    /// Total number of records.
    pub(crate) fn len(&self) -> usize {
        self.files.values().map(|f| f.recs.len()).sum()
    }

    /// Sort, number and write every file under `evidence`. Returns the
    /// malicious records with their 1-based line numbers, and per-file
    /// record counts.
    pub(crate) fn write(mut self, evidence: &Path, rng: &Rng) -> std::io::Result<Written> {
        let mut malicious = Vec::new();
        let mut counts = Vec::new();
        for (rel, buf) in &mut self.files {
            buf.recs.sort_by_key(|r| (r.t, r.seq));
            let path = evidence.join(rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
            let mut line_no: u64 = 0;
            let header = |w: &mut dyn Write, line_no: &mut u64, s: &str| -> std::io::Result<()> {
                *line_no += 1;
                writeln!(w, "{s}")
            };
            match &buf.kind {
                FileKind::Iis => {
                    let first = buf.recs.first().map_or(0, |r| r.t);
                    header(
                        &mut w,
                        &mut line_no,
                        "#Software: Microsoft Internet Information Services 10.0",
                    )?;
                    header(&mut w, &mut line_no, "#Version: 1.0")?;
                    let date = &system_time(first - first.rem_euclid(86_400_000_000))[..10];
                    header(&mut w, &mut line_no, &format!("#Date: {date} 00:00:00"))?;
                    header(&mut w, &mut line_no, &format!("#Fields: {IIS_FIELDS}"))?;
                }
                FileKind::Zeek {
                    path: zpath,
                    fields,
                    types,
                } => {
                    let open = buf.recs.first().map_or(0, |r| r.t);
                    for h in [
                        "#separator \\x09".to_string(),
                        "#set_separator\t,".to_string(),
                        "#empty_field\t(empty)".to_string(),
                        "#unset_field\t-".to_string(),
                        format!("#path\t{zpath}"),
                        format!("#open\t{}", zeek_stamp(open)),
                        format!("#fields\t{}", fields.join("\t")),
                        format!("#types\t{}", types.join("\t")),
                    ] {
                        header(&mut w, &mut line_no, &h)?;
                    }
                }
                FileKind::Evtx | FileKind::Text => {}
            }
            // Record ids continue an older log, as on a host that has been
            // running for a while.
            let mut record_id = 40_000 + rng.fork(rel).below(2_000_000);
            for r in &buf.recs {
                line_no += 1;
                match &r.body {
                    Body::Text(s) => writeln!(w, "{s}")?,
                    Body::Win(rec) => {
                        record_id += 1;
                        render_win(&mut w, rec, r.t, record_id)?;
                    }
                }
                if let Some(l) = r.label {
                    malicious.push(MaliciousEvent {
                        file: rel.clone(),
                        line: line_no,
                        step: crate::story::STEPS[l.step].id.to_string(),
                        techniques: l.techniques.iter().map(|s| s.to_string()).collect(),
                        detector: l.detector,
                    });
                }
            }
            if let FileKind::Zeek { .. } = buf.kind {
                let close = buf.recs.last().map_or(0, |r| r.t) + 3_600_000_000;
                header(
                    &mut w,
                    &mut line_no,
                    &format!("#close\t{}", zeek_stamp(close)),
                )?;
            }
            w.flush()?;
            // A collected log's modification time is its last write. Readers
            // use it to place year-less syslog stamps, so set it as a real
            // collection would have it rather than leaving "now".
            let last = buf.recs.last().map_or(0, |r| r.t).max(0) as u64;
            let file = w.into_inner().map_err(|e| e.into_error())?;
            file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_micros(last))?;
            counts.push((rel.clone(), buf.recs.len() as u64));
        }
        Ok((malicious, counts))
    }
}

fn zeek_stamp(t: i64) -> String {
    let s = system_time(t);
    // 2021-09-06-02-13-45
    format!("{}-{}-{}-{}", &s[..10], &s[11..13], &s[14..16], &s[17..19])
}

fn render_win(w: &mut dyn Write, r: &WinRec, t: i64, record_id: u64) -> std::io::Result<()> {
    let p = r.provider;
    write!(
        w,
        "{{\"Event\":{{\"System\":{{\"Provider\":{{\"#attributes\":{{\"Name\":\"{}\"",
        p.name
    )?;
    if let Some(g) = p.guid {
        write!(w, ",\"Guid\":\"{g}\"")?;
    }
    if p.classic.is_some() {
        write!(w, ",\"EventSourceName\":\"{}\"", p.name)?;
    }
    write!(w, "}}}},")?;
    match p.classic {
        Some(q) => write!(
            w,
            "\"EventID\":{{\"#attributes\":{{\"Qualifiers\":{q}}},\"#text\":{}}},",
            r.event_id
        )?,
        None => write!(w, "\"EventID\":{},", r.event_id)?,
    }
    write!(
        w,
        "\"Version\":{},\"Level\":{},\"Task\":{},\"Opcode\":0,\"Keywords\":\"{}\",\
         \"TimeCreated\":{{\"#attributes\":{{\"SystemTime\":\"{}\"}}}},\"EventRecordID\":{record_id},\
         \"Correlation\":null,\"Execution\":{{\"#attributes\":{{\"ProcessID\":{},\"ThreadID\":{}}}}},\
         \"Channel\":\"{}\",\"Computer\":\"{}\",\"Security\":",
        if p.name == "Microsoft-Windows-Sysmon" {
            5
        } else {
            0
        },
        r.level,
        r.task,
        r.keywords,
        system_time(t),
        r.pid,
        r.tid,
        p.channel,
        r.computer,
    )?;
    match r.user_sid {
        Some(s) => write!(w, "{{\"#attributes\":{{\"UserID\":\"{s}\"}}}}")?,
        None => write!(w, "null")?,
    }
    writeln!(w, "}},\"EventData\":{}}}}}", r.data)
}
