//! `kahu rules update --from PACKAGE`: install a Sigma rule package (a
//! SigmaHQ release zip, a .tar.gz, or a folder, on disk or at an
//! http(s) URL) as the default rule set.
//!
//! A URL is downloaded into the rules folder (size cap, timeout, see
//! `rules_download.rs`) and must match the SHA-256 given with `--sha256`
//! (or the analyst says `--insecure-no-verify`) before it is extracted;
//! from there it is installed as a local package is.
//!
//! The package is untrusted input: only `.yml`/`.yaml` files are taken,
//! paths are rebuilt from their normal components (no `..`, no absolute
//! paths, no links), each file and the whole are size-capped, and the new
//! set replaces the old one only after it loaded with at least one rule.

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Largest rule file taken (SigmaHQ's largest is under 100 KB).
const MAX_FILE: u64 = 1 << 20;
/// Largest package content taken.
const MAX_TOTAL: u64 = 512 << 20;
/// Most rule files taken.
const MAX_FILES: usize = 100_000;

/// What an update installed.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Installed {
    /// Package as given.
    pub source: String,
    /// SHA-256 of the package file (empty for a folder).
    pub sha256: String,
    /// Whether the SHA-256 was checked against one the analyst gave.
    pub verified: bool,
    /// When installed (UTC, RFC 3339).
    pub installed_at: String,
    /// Rule files taken.
    pub files: usize,
    /// Rules that compiled.
    pub compiled: usize,
    /// Rules rejected (see `kahu rules check DIR/rules`).
    pub rejected: usize,
    /// Entries skipped (not YAML, unsafe path, too large), with why.
    pub skipped: Vec<String>,
    /// Where the rules are.
    pub dir: String,
}

/// A package entry's path made safe, or `None`.
fn safe_relative(name: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

fn is_rule_file(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

struct Extract<'a> {
    dest: &'a Path,
    files: usize,
    total: u64,
    skipped: Vec<String>,
}

impl Extract<'_> {
    fn take(&mut self, name: &str, size_hint: u64, r: &mut dyn Read) -> Result<()> {
        let Some(rel) = safe_relative(name) else {
            self.skipped.push(format!("{name}: unsafe path"));
            return Ok(());
        };
        if !is_rule_file(&rel) {
            return Ok(());
        }
        if self.files >= MAX_FILES {
            self.skipped.push(format!("{name}: over {MAX_FILES} files"));
            return Ok(());
        }
        if size_hint > MAX_FILE {
            self.skipped
                .push(format!("{name}: larger than {MAX_FILE} bytes"));
            return Ok(());
        }
        let mut buf = Vec::new();
        r.take(MAX_FILE + 1).read_to_end(&mut buf)?;
        if buf.len() as u64 > MAX_FILE {
            self.skipped
                .push(format!("{name}: larger than {MAX_FILE} bytes"));
            return Ok(());
        }
        self.total += buf.len() as u64;
        if self.total > MAX_TOTAL {
            bail!("package holds more than {MAX_TOTAL} bytes of rules; refused");
        }
        let path = self.dest.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))?;
        self.files += 1;
        Ok(())
    }
}

fn extract<'a>(from: &Path, dest: &'a Path) -> Result<Extract<'a>> {
    let mut x = Extract {
        dest,
        files: 0,
        total: 0,
        skipped: Vec::new(),
    };
    let meta = std::fs::symlink_metadata(from)
        .with_context(|| format!("cannot read {}", from.display()))?;
    let name = from.to_string_lossy().to_ascii_lowercase();
    if meta.is_dir() {
        let mut stack = vec![from.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d)? {
                let e = e?;
                let t = e.file_type()?;
                let p = e.path();
                if t.is_dir() {
                    stack.push(p);
                } else if t.is_file() {
                    let rel = p
                        .strip_prefix(from)
                        .unwrap_or(&p)
                        .to_string_lossy()
                        .to_string();
                    let mut f = std::fs::File::open(&p)?;
                    x.take(&rel, e.metadata()?.len(), &mut f)?;
                }
            }
        }
    } else if !meta.is_file() {
        bail!("{} is not a file or a folder", from.display());
    } else if name.ends_with(".zip") {
        let mut z = zip::ZipArchive::new(std::fs::File::open(from)?)
            .with_context(|| format!("{} is not a readable zip", from.display()))?;
        for i in 0..z.len() {
            let mut f = z.by_index(i)?;
            if !f.is_file() {
                continue;
            }
            let n = f.name().to_string();
            let size = f.size();
            x.take(&n, size, &mut f)?;
        }
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(from)?);
        let mut t = tar::Archive::new(gz);
        for e in t.entries()? {
            let mut e = e?;
            if !e.header().entry_type().is_file() {
                continue;
            }
            let n = e.path()?.to_string_lossy().to_string();
            let size = e.header().size().unwrap_or(0);
            x.take(&n, size, &mut e)?;
        }
    } else {
        bail!(
            "{}: give a .zip or .tar.gz rule package (a SigmaHQ release asset) or a folder",
            from.display()
        );
    }
    Ok(x)
}

fn sha256_file(p: &Path) -> Result<String> {
    let mut f = std::fs::File::open(p)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(format!("{:x}", h.finalize()))
}

/// How a package is checked before it is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Its SHA-256 must be this (lower- or upper-case hex).
    Sha256(String),
    /// No check (`--insecure-no-verify`).
    No,
    /// A local package is taken as it is; a URL is refused.
    IfUrlRefuse,
}

/// Install `from`, a path or an http(s) URL, into `dir` after `verify`.
pub(crate) fn update_from(
    from: &Path,
    dir: &Path,
    verify: &Verify,
    trust: super::rules_download::Trust,
) -> Result<Installed> {
    let from_text = from.to_string_lossy();
    if !super::rules_download::is_url(&from_text) {
        if let Verify::Sha256(expected) = verify {
            if !from.is_file() {
                bail!(
                    "--sha256 checks a package file; {} is not one",
                    from.display()
                );
            }
            super::rules_download::verify(&from_text, &sha256_file(from)?, expected)?;
        }
        let mut i = update(from, dir)?;
        if matches!(verify, Verify::Sha256(_)) {
            i.verified = true;
            write_manifest(dir, &i)?;
        }
        return Ok(i);
    }
    let url = from_text.into_owned();
    if *verify == Verify::IfUrlRefuse {
        bail!(
            "a downloaded rule package must be checked: give --sha256 HEX (from the release \
             page) or, knowingly, --insecure-no-verify"
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let part = dir.join(format!(".download-{}", std::process::id()));
    let sha256 = super::rules_download::download(&url, &part, Default::default(), trust)?;
    let installed = (|| -> Result<Installed> {
        if let Verify::Sha256(expected) = verify {
            super::rules_download::verify(&url, &sha256, expected)?;
        }
        // Extraction goes by the name: give the file the one its bytes say.
        let named = dir.join(format!(
            ".download-{}.{}",
            std::process::id(),
            super::rules_download::package_extension(&part)?
        ));
        std::fs::rename(&part, &named)?;
        let result = update(&named, dir);
        let _ = std::fs::remove_file(&named);
        let mut i = result?;
        i.source = url.clone();
        i.verified = matches!(verify, Verify::Sha256(_));
        Ok(i)
    })();
    let _ = std::fs::remove_file(&part);
    if let Ok(i) = &installed {
        // The manifest was written with the temporary name: say the URL.
        write_manifest(dir, i)?;
    }
    installed
}

fn write_manifest(dir: &Path, installed: &Installed) -> Result<()> {
    std::fs::write(
        dir.join(kahu_assess::detection::INSTALLED_MANIFEST),
        serde_json::to_string_pretty(installed)? + "\n",
    )?;
    Ok(())
}

/// Install `from` into `dir` (replacing what was there once it loads).
pub(crate) fn update(from: &Path, dir: &Path) -> Result<Installed> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let staging = dir.join(format!(".staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = (|| -> Result<Installed> {
        let x = extract(from, &staging)?;
        if x.files == 0 {
            bail!("{} holds no .yml rule files", from.display());
        }
        let report = kahu_sigma::RuleSet::load(
            std::slice::from_ref(&staging),
            &kahu_sigma::corpus::check_options(),
        );
        if report.compiled == 0 {
            bail!(
                "no rule in {} compiled ({} rejected); the installed rules were left as they were",
                from.display(),
                report.errors.len()
            );
        }
        let sha256 = if from.is_file() {
            sha256_file(from)?
        } else {
            String::new()
        };
        Ok(Installed {
            source: from.display().to_string(),
            sha256,
            verified: false,
            installed_at: chrono::Utc::now().to_rfc3339(),
            files: x.files,
            compiled: report.compiled,
            rejected: report.errors.len(),
            skipped: x.skipped,
            dir: dir.join("rules").display().to_string(),
        })
    })();
    let installed = match result {
        Ok(i) => i,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let rules = dir.join("rules");
    let old = dir.join(format!(".old-{}", std::process::id()));
    if rules.exists() {
        std::fs::rename(&rules, &old)?;
    }
    std::fs::rename(&staging, &rules)?;
    let _ = std::fs::remove_dir_all(&old);
    write_manifest(dir, &installed)?;
    Ok(installed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_paths_cannot_leave_the_folder() {
        assert_eq!(
            safe_relative("rules/windows/a.yml"),
            Some(PathBuf::from("rules/windows/a.yml"))
        );
        assert_eq!(safe_relative("./a.yml"), Some(PathBuf::from("a.yml")));
        assert_eq!(safe_relative("../evil.yml"), None);
        assert_eq!(safe_relative("rules/../../evil.yml"), None);
        assert_eq!(safe_relative("/etc/evil.yml"), None);
    }
}
