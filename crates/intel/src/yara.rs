//! YARA on evidence files (web roots, dropped binaries), with the
//! pure-Rust `boreal` engine.
//!
//! Rules compile once; every file is read (never written, never mapped:
//! a file that shrinks under a memory map would crash the process) and
//! scanned with a per-file timeout. A file up to [`DEFAULT_MAX_FILE_SIZE`]
//! is read whole; a larger one is scanned in overlapping windows
//! ([`WINDOW`], [`WINDOW_OVERLAP`]) through boreal's fragmented-memory
//! scan, so memory stays at one window whatever the file's size. Only
//! regular files are scanned and symbolic links are not followed.
//! Archive members are scanned from memory by the caller
//! ([`YaraScanner::scan_member`]), which owns the archive limits.

use crate::set::IntelError;
use crate::software::{push_unique, software_ids_in};
use boreal::memory::{FragmentedMemory, MemoryParams, Region, RegionDescription};
use boreal::scanner::{FragmentedScanMode, ScanParams, ScanResult};
use boreal::{Compiler, MetadataValue, Scanner};
use kahu_event::{Location, Provenance, Timestamp};
use kahu_finding::{Finding, FindingKind, Level};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Default largest file read whole and scanned as one buffer (64 MiB).
/// Larger files are scanned in overlapping windows of [`WINDOW`] bytes.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// Bytes of a large file held and scanned at once (16 MiB).
pub(crate) const WINDOW: usize = 16 * 1024 * 1024;

/// Bytes each window shares with the next (1 MiB). A string occurrence up
/// to this long is wholly inside some window, so it is found wherever it
/// lies; a longer occurrence that crosses a window boundary is missed.
/// Regular expression matches are cut at 256 bytes anyway
/// (`match_max_length`), far below it.
pub(crate) const WINDOW_OVERLAP: usize = 1024 * 1024;

/// Something that stopped one file from being scanned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScanWarning {
    /// The file.
    pub path: String,
    /// Why it was skipped or only partly scanned.
    pub reason: String,
}

impl std::fmt::Display for ScanWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Compiled YARA rules.
pub struct YaraScanner {
    scanner: Scanner,
    /// The same rules set up for windowed scans of large files.
    windowed: Scanner,
    max_file_size: u64,
    window: usize,
    overlap: usize,
    rules: usize,
    warnings: Vec<String>,
}

impl std::fmt::Debug for YaraScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YaraScanner")
            .field("rules", &self.rules)
            .field("max_file_size", &self.max_file_size)
            .finish()
    }
}

fn rule_files(p: &Path) -> Vec<PathBuf> {
    if p.is_dir() {
        let mut v: Vec<PathBuf> = walkdir::WalkDir::new(p)
            .follow_links(false)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .filter(|p| {
                p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    matches!(
                        e.to_ascii_lowercase().as_str(),
                        "yar" | "yara" | "rule" | "rules"
                    )
                })
            })
            .collect();
        v.sort();
        v
    } else {
        vec![p.to_path_buf()]
    }
}

fn new_compiler() -> Compiler {
    Compiler::new()
}

fn finish(compiler: Compiler, warnings: Vec<String>) -> YaraScanner {
    let mut scanner = compiler.finalize();
    let rules = scanner.rules().count();
    let params = ScanParams::default()
        // Offsets of every string are evidence for the analyst.
        .compute_full_matches(true)
        .timeout_duration(Some(Duration::from_secs(30)))
        .string_max_nb_matches(100)
        .match_max_length(256);
    let mut windowed = scanner.clone();
    // Legacy mode: string matches of every window are added up, and a
    // condition reading bytes at an offset (`uint16(0)`, a hash of a
    // range) fetches the window holding them. `filesize` is undefined.
    windowed.set_scan_params(
        params
            .clone()
            .fragmented_scan_mode(FragmentedScanMode::legacy()),
    );
    scanner.set_scan_params(params);
    YaraScanner {
        scanner,
        windowed,
        max_file_size: DEFAULT_MAX_FILE_SIZE,
        window: WINDOW,
        overlap: WINDOW_OVERLAP,
        rules,
        warnings,
    }
}

impl YaraScanner {
    /// Compile rule files; a directory contributes every `.yar`/`.yara`
    /// file below it. Each file gets its own namespace (its file stem) so
    /// rule names from different sources cannot clash.
    pub fn compile<P: AsRef<Path>>(rule_paths: &[P]) -> Result<Self, IntelError> {
        let mut compiler = new_compiler();
        let mut warnings = Vec::new();
        for root in rule_paths {
            for file in rule_files(root.as_ref()) {
                let ns = file
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("default")
                    .to_string();
                let status = compiler
                    .add_rules_file_in_namespace(&file, &ns)
                    .map_err(|e| IntelError::Yara {
                        file: file.display().to_string(),
                        message: e.to_string(),
                    })?;
                warnings.extend(
                    status
                        .warnings()
                        .map(|w| format!("{}: {w}", file.display())),
                );
            }
        }
        Ok(finish(compiler, warnings))
    }

    /// Compile rules from text, in `namespace`.
    pub fn compile_str(source: &str, namespace: &str) -> Result<Self, IntelError> {
        let mut compiler = new_compiler();
        let status = compiler
            .add_rules_str_in_namespace(source, namespace)
            .map_err(|e| IntelError::Yara {
                file: format!("<{namespace}>"),
                message: e.to_string(),
            })?;
        let warnings = status.warnings().map(|w| w.to_string()).collect();
        Ok(finish(compiler, warnings))
    }

    /// Change the size (bytes) above which files are scanned in windows
    /// instead of read whole.
    pub fn with_max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }

    /// Change the window and overlap of windowed scans (tests use small
    /// ones to cross many boundaries cheaply). The overlap is kept below
    /// the window.
    pub fn with_window(mut self, window: usize, overlap: usize) -> Self {
        self.window = window.max(2);
        self.overlap = overlap.min(self.window - 1);
        self
    }

    /// Number of compiled rules.
    pub fn rule_count(&self) -> usize {
        self.rules
    }

    /// Compiler warnings (slow strings and the like).
    pub fn compile_warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Scan a file, or every regular file below a directory; skipped
    /// files are dropped silently (use [`YaraScanner::scan_path_with`] to
    /// see why).
    pub fn scan_path(&self, path: &Path) -> Vec<Finding> {
        self.scan_path_with(path, &mut Vec::new())
    }

    /// Like [`YaraScanner::scan_path`], reporting skipped files.
    pub fn scan_path_with(&self, path: &Path, warnings: &mut Vec<ScanWarning>) -> Vec<Finding> {
        let mut out = Vec::new();
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => {
                warnings.push(warn(path, format!("cannot stat: {e}")));
                return out;
            }
        };
        if meta.is_dir() {
            for e in walkdir::WalkDir::new(path)
                .follow_links(false)
                .sort_by_file_name()
            {
                match e {
                    Ok(e) if e.file_type().is_file() => {
                        self.scan_file(e.path(), &mut out, warnings)
                    }
                    Ok(_) => {}
                    Err(err) => warnings.push(warn(path, format!("cannot walk: {err}"))),
                }
            }
        } else if meta.is_file() {
            self.scan_file(path, &mut out, warnings);
        } else {
            warnings.push(warn(path, "not a regular file; not scanned".into()));
        }
        out
    }

    fn scan_file(&self, path: &Path, out: &mut Vec<Finding>, warnings: &mut Vec<ScanWarning>) {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                warnings.push(warn(path, format!("cannot open: {e}")));
                return;
            }
        };
        let meta = file.metadata().ok();
        let len = meta.as_ref().map_or(0, |m| m.len());
        let mtime: Option<Timestamp> = meta.and_then(|m| m.modified().ok()).map(Timestamp::from);
        // A spooled object store object is named by its URL.
        let name: Arc<str> = Arc::from(kahu_event::display_evidence_path(path));
        if len > self.max_file_size {
            self.scan_large_file(path, file, len, &name, mtime, out, warnings);
            return;
        }
        let mut data = Vec::with_capacity(len as usize);
        // Read at most cap+1 bytes: the file may grow after the stat.
        if let Err(e) = (&file).take(self.max_file_size + 1).read_to_end(&mut data) {
            warnings.push(warn(path, format!("cannot read: {e}")));
            return;
        }
        if data.len() as u64 > self.max_file_size {
            // It grew past the whole-file size while read: scan it in
            // windows like any large file.
            drop(data);
            self.scan_large_file(path, file, len, &name, mtime, out, warnings);
            return;
        }
        let result = match self.scanner.scan_mem(&data) {
            Ok(r) => r,
            Err((e, partial)) => {
                warnings.push(warn(path, format!("scan incomplete: {e:?}")));
                partial
            }
        };
        let scanned = Scanned {
            file: &name,
            member: None,
            mtime,
        };
        self.push_findings(&result, &scanned, || sha256_hex(&data), out);
    }

    /// Scan a file larger than the whole-file size in overlapping windows:
    /// one window is held at a time.
    #[allow(clippy::too_many_arguments)]
    fn scan_large_file(
        &self,
        path: &Path,
        file: std::fs::File,
        len: u64,
        name: &Arc<str>,
        mtime: Option<Timestamp>,
        out: &mut Vec<Finding>,
        warnings: &mut Vec<ScanWarning>,
    ) {
        let windows = FileWindows::new(file, len, self.window, self.overlap);
        let errors = windows.errors.clone();
        let result = match self.windowed.scan_fragmented(windows) {
            Ok(r) => r,
            Err((e, partial)) => {
                warnings.push(warn(path, format!("scan incomplete: {e:?}")));
                partial
            }
        };
        if let Some(e) = errors.lock().ok().and_then(|e| e.clone()) {
            warnings.push(warn(path, format!("scan incomplete: cannot read: {e}")));
        }
        let scanned = Scanned {
            file: name,
            member: None,
            mtime,
        };
        self.push_findings(
            &result,
            &scanned,
            || match std::fs::File::open(path) {
                Ok(mut f) => {
                    let mut h = Sha256::new();
                    match std::io::copy(&mut f, &mut h) {
                        Ok(_) => hex(&h.finalize()),
                        Err(_) => String::new(),
                    }
                }
                Err(_) => String::new(),
            },
            out,
        );
    }

    /// Scan an archive member already read into memory (within the
    /// reader's archive limits). Findings name the archive as their file
    /// and the member path (nested members joined with `!`); they carry
    /// no time, as a member's bytes do not give one.
    pub fn scan_member(
        &self,
        archive: &str,
        member: &str,
        data: &[u8],
        warnings: &mut Vec<ScanWarning>,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        let result = match self.scanner.scan_mem(data) {
            Ok(r) => r,
            Err((e, partial)) => {
                warnings.push(ScanWarning {
                    path: format!("{archive}!{member}"),
                    reason: format!("scan incomplete: {e:?}"),
                });
                partial
            }
        };
        let file: Arc<str> = Arc::from(archive);
        let member: Arc<str> = Arc::from(member);
        let scanned = Scanned {
            file: &file,
            member: Some(&member),
            mtime: None,
        };
        self.push_findings(&result, &scanned, || sha256_hex(data), &mut out);
        out
    }

    fn push_findings(
        &self,
        result: &ScanResult<'_>,
        scanned: &Scanned<'_>,
        sha256: impl FnOnce() -> String,
        out: &mut Vec<Finding>,
    ) {
        if !result.rules.iter().any(|r| r.matched) {
            return;
        }
        let sha256 = sha256();
        for rule in result.rules.iter().filter(|r| r.matched) {
            out.push(self.finding(rule, scanned, &sha256));
        }
    }

    fn finding(
        &self,
        rule: &boreal::scanner::EvaluatedRule<'_>,
        scanned: &Scanned<'_>,
        sha256: &str,
    ) -> Finding {
        let (file, mtime) = (scanned.file, scanned.mtime);
        let s = &self.scanner;
        let tags: Vec<&str> = rule.tags.iter().map(|t| s.get_string_symbol(*t)).collect();
        let mut metas: Vec<(String, String)> = Vec::new();
        for m in rule.metadatas {
            let name = s.get_string_symbol(m.name).to_string();
            let value = match m.value {
                MetadataValue::Bytes(b) => {
                    String::from_utf8_lossy(s.get_bytes_symbol(b)).into_owned()
                }
                MetadataValue::Integer(i) => i.to_string(),
                MetadataValue::Boolean(b) => b.to_string(),
            };
            metas.push((name, value));
        }
        let meta = |keys: &[&str]| {
            metas
                .iter()
                .find(|(k, _)| keys.iter().any(|x| k.eq_ignore_ascii_case(x)))
                .map(|(_, v)| v.as_str())
        };
        let (mut techniques, mut software, mut groups) = (Vec::new(), Vec::new(), Vec::new());
        let mut add = |text: &str| {
            for (k, id) in crate::attack_ids_in(text) {
                let list = match k {
                    'T' => &mut techniques,
                    'S' => &mut software,
                    'G' => &mut groups,
                    _ => continue,
                };
                push_unique(list, &id);
            }
        };
        for t in &tags {
            add(t);
        }
        for (k, v) in &metas {
            let k = k.to_ascii_lowercase();
            if k.contains("att&ck")
                || k.contains("attack")
                || k.contains("mitre")
                || k.contains("technique")
                || k.contains("software")
                || k.contains("actor")
                || k.contains("group")
            {
                add(v);
            }
        }
        let mut family_text = format!("{} {}", rule.name, tags.join(" "));
        for (k, v) in &metas {
            let k = k.to_ascii_lowercase();
            if matches!(
                k.as_str(),
                "software" | "malware" | "family" | "malware_family" | "tool" | "description"
            ) {
                family_text.push(' ');
                family_text.push_str(v);
            }
        }
        for id in software_ids_in(&family_text) {
            push_unique(&mut software, &id);
        }
        let level = meta(&["severity", "level", "threat_level"])
            .and_then(|v| v.parse::<Level>().ok())
            .or_else(|| {
                meta(&["score"])
                    .and_then(|v| v.parse::<u32>().ok())
                    .map(score_level)
            })
            .unwrap_or(Level::High);
        let mut fields: Vec<(Arc<str>, String)> = vec![
            (Arc::from("file"), file.to_string()),
            (Arc::from("sha256"), sha256.to_string()),
            (
                Arc::from("yara_rule"),
                format!("{}:{}", rule.namespace, rule.name),
            ),
        ];
        if let Some(member) = scanned.member {
            fields.push((Arc::from("archive_member"), member.to_string()));
        }
        if !tags.is_empty() {
            fields.push((Arc::from("yara_tags"), tags.join(" ")));
        }
        let strings: Vec<String> = rule
            .matches
            .iter()
            .filter_map(|m| {
                m.matches
                    .first()
                    .map(|x| format!("${}@{}", m.name.trim_start_matches('$'), x.base + x.offset))
            })
            .take(16)
            .collect();
        if !strings.is_empty() {
            fields.push((Arc::from("yara_strings"), strings.join(" ")));
        }
        for k in ["description", "author", "reference", "date"] {
            if let Some(v) = meta(&[k]) {
                fields.push((
                    Arc::from(format!("yara_{k}")),
                    v.chars().take(1024).collect(),
                ));
            }
        }
        if mtime.is_some() {
            fields.push((
                Arc::from("timestamp_source"),
                "file modification time".into(),
            ));
        }
        let title = match meta(&["description"]) {
            Some(d) => format!(
                "YARA {}: {}",
                rule.name,
                d.chars().take(200).collect::<String>()
            ),
            None => format!("YARA {}", rule.name),
        };
        Finding {
            kind: FindingKind::Yara,
            rule_id: Arc::from(format!("{}:{}", rule.namespace, rule.name)),
            title: Arc::from(title),
            level,
            techniques,
            software,
            groups,
            timestamp: mtime,
            host: None,
            channel: None,
            event_id: None,
            fields,
            provenance: Provenance {
                file: file.clone(),
                member: scanned.member.cloned(),
                location: Location::File,
            },
            related: Vec::new(),
        }
    }
}

fn score_level(score: u32) -> Level {
    match score {
        0..=39 => Level::Low,
        40..=69 => Level::Medium,
        70..=89 => Level::High,
        _ => Level::Critical,
    }
}

fn warn(p: &Path, reason: String) -> ScanWarning {
    ScanWarning {
        path: kahu_event::display_evidence_path(p),
        reason,
    }
}

/// What was scanned: a file, or a member of an archive.
struct Scanned<'a> {
    file: &'a Arc<str>,
    member: Option<&'a Arc<str>>,
    mtime: Option<Timestamp>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// A file seen by boreal as fragmented memory: windows of `window` bytes,
/// each starting `window - overlap` bytes after the previous one, read
/// one at a time into one buffer. A window that cannot be read is left
/// out (boreal goes on) and the error kept for a warning; a file that
/// shrank gives a short last window.
#[derive(Debug)]
struct FileWindows {
    file: std::fs::File,
    len: u64,
    window: usize,
    step: u64,
    next_start: Option<u64>,
    current: Option<RegionDescription>,
    buf: Vec<u8>,
    errors: Arc<std::sync::Mutex<Option<String>>>,
}

impl FileWindows {
    fn new(file: std::fs::File, len: u64, window: usize, overlap: usize) -> Self {
        FileWindows {
            file,
            len,
            window,
            step: (window - overlap) as u64,
            next_start: Some(0),
            current: None,
            buf: Vec::new(),
            errors: Arc::default(),
        }
    }

    fn read_window(&mut self, d: RegionDescription) -> std::io::Result<()> {
        self.buf.clear();
        self.file.seek(SeekFrom::Start(d.start as u64))?;
        (&mut self.file)
            .take(d.length as u64)
            .read_to_end(&mut self.buf)?;
        Ok(())
    }
}

impl FragmentedMemory for FileWindows {
    fn next(&mut self, _params: &MemoryParams) -> Option<RegionDescription> {
        let start = self.next_start?;
        if start >= self.len {
            self.next_start = None;
            return None;
        }
        let length = (self.len - start).min(self.window as u64);
        self.next_start = (start + length < self.len).then_some(start + self.step);
        let d = RegionDescription {
            start: usize::try_from(start).ok()?,
            length: length as usize,
        };
        self.current = Some(d);
        Some(d)
    }

    fn fetch(&mut self, _params: &MemoryParams) -> Option<Region<'_>> {
        let d = self.current?;
        if let Err(e) = self.read_window(d) {
            if let Ok(mut slot) = self.errors.lock() {
                slot.get_or_insert_with(|| format!("at offset {}: {e}", d.start));
            }
            return None;
        }
        Some(Region {
            start: d.start,
            mem: &self.buf,
        })
    }

    fn reset(&mut self) {
        self.next_start = Some(0);
        self.current = None;
    }
}
