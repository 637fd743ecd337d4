//! `kahu rules update --from URL`: fetch a rule package over HTTP(S) into
//! a file, bounded in size and time, hashing it on the way so it can be
//! checked against the SHA-256 the analyst gave before anything of it is
//! installed.

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// Largest package downloaded (SigmaHQ's largest release asset is ~20 MB).
pub(crate) const MAX_DOWNLOAD: u64 = 256 << 20;
/// Time allowed for the whole download, connection included.
pub(crate) const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);
/// Time allowed to connect and for each wait for data.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Whether `from` names a URL kahu downloads rather than a local path.
pub(crate) fn is_url(from: &str) -> bool {
    let lower = from.get(..8).unwrap_or(from).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// Largest PEM file read for `--ca-cert` (a CA bundle is well under this).
const MAX_PEM: u64 = 4 << 20;

/// Limits of one download.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DownloadLimits {
    /// Most bytes taken; a larger body is refused.
    pub max_bytes: u64,
    /// Time for the whole download.
    pub timeout: Duration,
}

impl Default for DownloadLimits {
    fn default() -> Self {
        DownloadLimits {
            max_bytes: MAX_DOWNLOAD,
            timeout: DOWNLOAD_TIMEOUT,
        }
    }
}

/// Whom an https download trusts.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum Trust<'a> {
    /// Mozilla's root certificates, built in (not the system store, so a
    /// machine's added roots cannot silently vouch for a rule package).
    #[default]
    WebPki,
    /// Only the CA certificates in this PEM file (`--ca-cert`): an
    /// internal mirror, or a TLS-inspecting proxy the analyst knows of.
    CaFile(&'a Path),
}

/// The CA certificates of a PEM file; an error when it holds none.
fn ca_certs(pem: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let meta = std::fs::metadata(pem).with_context(|| format!("--ca-cert {}", pem.display()))?;
    if !meta.is_file() || meta.len() > MAX_PEM {
        bail!(
            "--ca-cert {}: not a regular PEM file of at most {MAX_PEM} bytes",
            pem.display()
        );
    }
    let bytes = std::fs::read(pem).with_context(|| format!("--ca-cert {}", pem.display()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&bytes) {
        // Keys and other items are not trust anchors: ignored.
        let item = item.with_context(|| format!("--ca-cert {}: bad PEM", pem.display()))?;
        if let ureq::tls::PemItem::Certificate(c) = item {
            certs.push(c.to_owned());
        }
    }
    if certs.is_empty() {
        bail!("--ca-cert {}: no certificate in the file", pem.display());
    }
    Ok(certs)
}

/// Download `url` into `dest` (created, replaced if there); returns the
/// SHA-256 (lower-case hex) of what was written. A body over
/// `limits.max_bytes`, a status other than 2xx, or a download past
/// `limits.timeout` is an error and `dest` is removed.
pub(crate) fn download(
    url: &str,
    dest: &Path,
    limits: DownloadLimits,
    trust: Trust,
) -> Result<String> {
    let result = fetch(url, dest, limits, trust);
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}

fn fetch(url: &str, dest: &Path, limits: DownloadLimits, trust: Trust) -> Result<String> {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(limits.timeout))
        .timeout_connect(Some(CONNECT_TIMEOUT.min(limits.timeout)))
        .user_agent(concat!("kahu/", env!("CARGO_PKG_VERSION")));
    if let Trust::CaFile(pem) = trust {
        let roots = ureq::tls::RootCerts::new_with_certs(&ca_certs(pem)?);
        config = config.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
    }
    let agent: ureq::Agent = config.build().into();
    let mut resp = agent
        .get(url)
        .call()
        .with_context(|| format!("cannot download {url}"))?;
    if let Some(len) = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        && len > limits.max_bytes
    {
        bail!(
            "{url} is {len} bytes, over the {} byte limit for a rule package; refused",
            limits.max_bytes
        );
    }
    // One byte over the limit is enough to know the body is too large.
    let mut body = resp
        .body_mut()
        .with_config()
        .limit(limits.max_bytes + 1)
        .reader();
    let mut file = kahu_report::safe::create_output_file(dest)
        .with_context(|| format!("cannot create {}", dest.display()))?;
    let mut hash = Sha256::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("download of {url} failed")));
            }
        };
        total += n as u64;
        if total > limits.max_bytes {
            bail!(
                "{url} sent more than the {} byte limit for a rule package; refused",
                limits.max_bytes
            );
        }
        hash.update(&buf[..n]);
        file.write_all(&buf[..n])?;
    }
    file.sync_all()?;
    Ok(format!("{:x}", hash.finalize()))
}

/// Check a downloaded package's SHA-256 against the one given.
pub(crate) fn verify(url: &str, got: &str, expected: &str) -> Result<()> {
    let expected = expected.trim().to_ascii_lowercase();
    if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("--sha256 {expected:?} is not a SHA-256 (64 hex digits)");
    }
    if got != expected {
        bail!(
            "{url}: SHA-256 mismatch (expected {expected}, got {got}); nothing installed, the \
             installed rules were left as they were"
        );
    }
    Ok(())
}

/// The extension extraction needs, from the package's first bytes.
pub(crate) fn package_extension(path: &Path) -> Result<&'static str> {
    let mut head = [0u8; 4];
    let mut f = std::fs::File::open(path)?;
    let n = f.read(&mut head)?;
    match &head[..n] {
        [b'P', b'K', 3, 4] | [b'P', b'K', 5, 6] => Ok("zip"),
        [0x1f, 0x8b, ..] => Ok("tar.gz"),
        _ => bail!("the download is neither a zip nor a gzip file; nothing installed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    /// A one-request HTTP server on a local port that answers with
    /// `head` then `body`; returns the URL.
    fn serve_once(head: String, body: Vec<u8>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut s = stream;
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&body);
            }
        });
        format!("http://{addr}/sigma_core.zip")
    }

    #[test]
    fn a_body_over_the_limit_is_refused_even_without_a_length() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("pkg");
        // No Content-Length: the body ends when the server closes.
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".into(),
            vec![b'x'; 5000],
        );
        let limits = DownloadLimits {
            max_bytes: 4096,
            timeout: Duration::from_secs(30),
        };
        let e = format!(
            "{:#}",
            download(&url, &dest, limits, Trust::WebPki).unwrap_err()
        );
        assert!(e.contains("limit"), "{e}");
        assert!(!dest.exists(), "a refused download leaves no file");
        // A declared length over the limit is refused before the body.
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nContent-Length: 999999\r\n\r\n".into(),
            Vec::new(),
        );
        let e = format!(
            "{:#}",
            download(&url, &dest, limits, Trust::WebPki).unwrap_err()
        );
        assert!(e.contains("999999 bytes"), "{e}");
    }

    #[test]
    fn an_error_status_and_a_silent_server_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("pkg");
        let url = serve_once(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into(),
            Vec::new(),
        );
        let e = format!(
            "{:#}",
            download(&url, &dest, DownloadLimits::default(), Trust::WebPki).unwrap_err()
        );
        assert!(e.contains("404"), "{e}");
        // A server that accepts and never answers: the timeout ends it.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x.zip", listener.local_addr().unwrap());
        let held = std::thread::spawn(move || {
            let conn = listener.accept();
            std::thread::sleep(Duration::from_secs(2));
            drop(conn);
        });
        let limits = DownloadLimits {
            max_bytes: 4096,
            timeout: Duration::from_secs(1),
        };
        let e = format!(
            "{:#}",
            download(&url, &dest, limits, Trust::WebPki).unwrap_err()
        );
        assert!(
            e.to_ascii_lowercase().contains("timeout") || e.contains("timed out"),
            "{e}"
        );
        assert!(!dest.exists());
        held.join().unwrap();
    }

    #[test]
    fn urls_and_hashes() {
        assert!(is_url("https://example.org/a.zip") && is_url("HTTP://x/a.zip"));
        assert!(!is_url("./https.zip") && !is_url("/tmp/a.zip") && !is_url("ftp://x"));
        let h = "ab".repeat(32);
        assert!(verify("u", &h, &h.to_uppercase()).is_ok());
        assert!(format!("{}", verify("u", &h, &"cd".repeat(32)).unwrap_err()).contains("mismatch"));
        assert!(format!("{}", verify("u", &h, "abc").unwrap_err()).contains("not a SHA-256"));
    }
}
