//! `kahu rules list` and `kahu rules show`: a finding's rule id leads to
//! the rule's file, metadata and text.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use std::process::Command;

fn kahu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args(args)
        .output()
        .expect("run kahu")
}

#[test]
fn list_and_show_trace_a_rule_to_its_file_and_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rule = dir.path().join("proc_creation_test.yml");
    std::fs::write(
        &rule,
        "title: Whoami Run\nid: 0a1b2c3d-0000-4000-8000-000000000001\nstatus: test\nlevel: low\nauthor: someone\nreferences:\n  - https://example.invalid/whoami\nfalsepositives:\n  - Admins\ntags: [attack.discovery, attack.t1033]\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n",
    )
    .expect("write rule");
    let dir_arg = dir.path().to_str().expect("utf-8 path");
    let out = kahu(&["rules", "list", dir_arg, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json list");
    let first = &list[0];
    assert_eq!(first["id"], "0a1b2c3d-0000-4000-8000-000000000001");
    assert!(
        first["file"]
            .as_str()
            .expect("file")
            .ends_with("proc_creation_test.yml")
    );

    let out = kahu(&[
        "rules",
        "show",
        "0a1b2c3d-0000-4000-8000-000000000001",
        dir_arg,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "Whoami Run",
        "proc_creation_test.yml",
        "https://example.invalid/whoami",
        "Admins",
        "attack.t1033",
        "Image|endswith",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }

    let out = kahu(&["rules", "show", "no-such-id", dir_arg]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-id"));
}

#[test]
fn bundled_rules_show_their_text() {
    let out = kahu(&["rules", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json list");
    let id = list[0]["id"].as_str().expect("id").to_string();
    let out = kahu(&["rules", "show", &id]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("detection:"));
}

/// `kahu rules update` installs a package built here (no network), refuses
/// paths that leave its folder, keeps the old set when a package has no
/// usable rule, and hunt uses the installed set when no --rules is given.
#[test]
fn rules_update_installs_a_package_that_hunt_then_uses() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("temp dir");
    let rule = "title: Whoami Run By Package\nid: 0a1b2c3d-0000-4000-8000-0000000000aa\nstatus: test\nlevel: high\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n";
    let pkg = dir.path().join("sigma_core.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&pkg).unwrap());
        let o = zip::write::SimpleFileOptions::default();
        z.start_file("sigma/rules/windows/whoami.yml", o).unwrap();
        z.write_all(rule.as_bytes()).unwrap();
        z.start_file("../escape.yml", o).unwrap();
        z.write_all(rule.as_bytes()).unwrap();
        z.start_file("sigma/README.md", o).unwrap();
        z.write_all(b"not a rule").unwrap();
        z.finish().unwrap();
    }
    let home = dir.path().join("rules-home");
    let h = home.to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args(["rules", "update", "--from", pkg.to_str().unwrap(), "--json"])
        .env("KAHU_RULES_DIR", h)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"], 1);
    assert_eq!(v["compiled"], 1);
    assert!(v["skipped"][0].as_str().unwrap().contains("unsafe path"));
    assert!(home.join("rules/sigma/rules/windows/whoami.yml").is_file());
    assert!(!dir.path().join("escape.yml").exists() && !home.join("escape.yml").exists());
    assert!(home.join("manifest.json").is_file());

    // A package with no usable rule leaves the installed set alone.
    let bad = dir.path().join("empty.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&bad).unwrap());
        z.start_file("x.yml", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(b"title: broken\n").unwrap();
        z.finish().unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args(["rules", "update", "--from", bad.to_str().unwrap()])
        .env("KAHU_RULES_DIR", h)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(home.join("rules/sigma/rules/windows/whoami.yml").is_file());

    // hunt without --rules: the bundled set plus the installed package.
    let ev = dir.path().join("ev.jsonl");
    std::fs::write(&ev, r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"EventRecordID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS1","TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:00:00Z"}}},"EventData":{"Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami"}}}"##).unwrap();
    let hunt = |rules_dir: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
            .args(["hunt", ev.to_str().unwrap(), "--json", "-q"])
            .env("KAHU_RULES_DIR", rules_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let with = hunt(h);
    let without = hunt(dir.path().join("nothing-here").to_str().unwrap());
    assert!(
        with["top_rules"]
            .to_string()
            .contains("Whoami Run By Package"),
        "{}",
        with["top_rules"]
    );
    assert!(
        !without["top_rules"]
            .to_string()
            .contains("Whoami Run By Package")
    );
    assert_eq!(
        with["rules_loaded"].as_u64().unwrap(),
        without["rules_loaded"].as_u64().unwrap() + 1
    );
}

/// A package built here, served once per request by a local HTTP server
/// (std only; no internet): `(url, requests served)`.
fn serve_package(body: Vec<u8>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    serve(body, None)
}

/// As `serve_package`, over TLS with the test certificate for 127.0.0.1
/// (`tests/data/tls`, signed by the test CA `ca.pem`). A connection whose
/// handshake fails (the client refused the certificate) is not counted.
fn serve_package_tls(body: Vec<u8>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let tls = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let pem = |name: &str| std::fs::read(tls.join(name)).unwrap();
    let server_pem = pem("server.pem");
    let certs: Vec<rustls::pki_types::CertificateDer<'static>> = ureq::tls::parse_pem(&server_pem)
        .filter_map(|i| match i.unwrap() {
            ureq::tls::PemItem::Certificate(c) => Some(c.der().to_vec().into()),
            _ => None,
        })
        .collect();
    let key_pem = pem("server.key");
    let key = ureq::tls::parse_pem(&key_pem)
        .find_map(|i| match i.unwrap() {
            ureq::tls::PemItem::PrivateKey(k) => Some(k.der().to_vec()),
            _ => None,
        })
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.into());
    // ring is rustls' only provider in this build, as in ureq's.
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    serve(body, Some(std::sync::Arc::new(config)))
}

fn serve(
    body: Vec<u8>,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::atomic::Ordering;
    fn answer(stream: impl Read + Write, body: &[u8]) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? <= 2 {
                break;
            }
        }
        let mut s = reader.into_inner();
        write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )?;
        s.write_all(body)?;
        s.flush()
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    let scheme = if tls.is_some() { "https" } else { "http" };
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let done = match &tls {
                None => answer(stream, &body),
                Some(config) => {
                    let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                    let mut tls = rustls::StreamOwned::new(conn, stream);
                    answer(&mut tls, &body).map(|()| tls.conn.send_close_notify())
                }
            };
            if done.is_ok() {
                count.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (format!("{scheme}://{addr}/releases/sigma_core.zip"), served)
}

/// A one-rule package: `(zip bytes, lower-case SHA-256)`.
fn whoami_package() -> (Vec<u8>, String) {
    use sha2::{Digest, Sha256};
    use std::io::Write;
    let rule = "title: Whoami From Url\nid: 0a1b2c3d-0000-4000-8000-0000000000ab\nstatus: test\nlevel: high\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n";
    let mut zip_bytes = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut zip_bytes);
        let o = zip::write::SimpleFileOptions::default();
        z.start_file("sigma/rules/windows/whoami_url.yml", o)
            .unwrap();
        z.write_all(rule.as_bytes()).unwrap();
        z.finish().unwrap();
    }
    let zip_bytes = zip_bytes.into_inner();
    let sha = format!("{:x}", Sha256::digest(&zip_bytes));
    (zip_bytes, sha)
}

/// `kahu rules update --from URL` downloads, checks the SHA-256 given with
/// `--sha256` and installs as from a file; a wrong hash installs nothing
/// and keeps the installed set; no hash is refused before any download
/// unless `--insecure-no-verify`.
#[test]
fn rules_update_from_a_url_checks_the_sha256_before_installing() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().expect("temp dir");
    let (zip_bytes, sha) = whoami_package();
    let (url, served) = serve_package(zip_bytes);
    let home = dir.path().join("rules-home");
    let update = |extra: &[&str]| {
        let mut args = vec!["rules", "update", "--from", url.as_str(), "--json"];
        args.extend(extra);
        Command::new(env!("CARGO_BIN_EXE_kahu"))
            .args(&args)
            .env("KAHU_RULES_DIR", &home)
            .output()
            .unwrap()
    };
    let installed = home.join("rules/sigma/rules/windows/whoami_url.yml");

    // No hash, no --insecure-no-verify: refused, nothing downloaded.
    let out = update(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sha256"));
    assert_eq!(served.load(Ordering::SeqCst), 0);

    // A wrong hash: downloaded, refused, nothing installed or left behind.
    let out = update(&["--sha256", &"0".repeat(64)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("SHA-256 mismatch") && err.contains(&sha),
        "{err}"
    );
    assert!(!installed.exists());
    let leftovers: Vec<_> = std::fs::read_dir(&home)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The right hash: installed, the manifest names the URL.
    let out = update(&["--sha256", &sha.to_uppercase()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], url.as_str());
    assert_eq!(v["sha256"], sha.as_str());
    assert_eq!(v["verified"], true);
    assert_eq!(v["compiled"], 1);
    assert!(installed.is_file());
    let manifest = std::fs::read_to_string(home.join("manifest.json")).unwrap();
    assert!(manifest.contains(&url), "{manifest}");

    // --insecure-no-verify installs without a hash, and says so.
    let out = update(&["--insecure-no-verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(served.load(Ordering::SeqCst), 3);
}

/// Over https, the server's certificate is checked: a server whose CA is
/// not trusted is refused before any byte of the package is taken, and
/// `--ca-cert` trusts exactly the CA given (an internal mirror).
#[test]
fn rules_update_over_https_checks_the_certificate() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().expect("temp dir");
    let (zip_bytes, sha) = whoami_package();
    let (url, served) = serve_package_tls(zip_bytes);
    let home = dir.path().join("rules-home");
    let installed = home.join("rules/sigma/rules/windows/whoami_url.yml");
    let update = |extra: &[&str]| {
        let mut args = vec!["rules", "update", "--from", url.as_str(), "--sha256", &sha];
        args.extend(extra);
        args.push("--json");
        Command::new(env!("CARGO_BIN_EXE_kahu"))
            .args(&args)
            .env("KAHU_RULES_DIR", &home)
            .output()
            .unwrap()
    };

    // The test CA is not among Mozilla's roots: refused, nothing served.
    let out = update(&[]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot download") && err.to_lowercase().contains("cert"),
        "{err}"
    );
    assert_eq!(served.load(Ordering::SeqCst), 0);
    assert!(!installed.exists());

    // A PEM with no certificate in it is an error, not "trust nothing".
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let out = update(&["--ca-cert", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no certificate"));

    // Trusting the test CA: downloaded over TLS, checked, installed.
    let ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/ca.pem");
    let out = update(&["--ca-cert", ca.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], url.as_str());
    assert_eq!(v["verified"], true);
    assert!(installed.is_file());
    assert_eq!(served.load(Ordering::SeqCst), 1);

    // --ca-cert means nothing for a plain-http URL or a file: refused.
    let out = Command::new(env!("CARGO_BIN_EXE_kahu"))
        .args(["rules", "update", "--from", "http://127.0.0.1:9/x.zip"])
        .args(["--insecure-no-verify", "--ca-cert", ca.to_str().unwrap()])
        .env("KAHU_RULES_DIR", &home)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("https://"));
}
