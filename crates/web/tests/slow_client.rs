//! A connection that never finishes its request headers is closed after
//! the header read timeout, over a real socket (`kahu_web::serve`), while
//! complete requests are still answered. Before, `axum::serve` set no
//! timer and such a connection stayed open for good.
#![allow(clippy::unwrap_used, reason = "test code may unwrap")]

use kahu_case::Case;
use kahu_web::ServeConfig;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

#[test]
fn a_client_that_never_finishes_its_headers_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    drop(Case::create(dir.path()).unwrap());
    let mut cfg = ServeConfig::new(dir.path());
    cfg.bind = "127.0.0.1:0".parse().unwrap();
    cfg.header_read_timeout = Duration::from_secs(1);
    let app = kahu_web::build(cfg).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
        kahu_web::serve_blocking(app, |addr, _| tx.send(addr).unwrap()).unwrap();
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();

    // Half a request, then silence.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    slow.write_all(format!("GET /api/case HTTP/1.1\r\nHost: {addr}\r\n").as_bytes())
        .unwrap();
    let mut buf = Vec::new();
    // The server ends the connection (EOF, perhaps after a 408); a read
    // that times out instead means it was kept.
    let closed = slow.read_to_end(&mut buf);
    let waited = started.elapsed();
    assert!(
        closed.is_ok(),
        "connection still open after {waited:?}: {closed:?}"
    );
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(15),
        "closed after {waited:?}"
    );
    let answer = String::from_utf8_lossy(&buf);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // A whole request on a new connection is answered.
    let mut ok = TcpStream::connect(addr).unwrap();
    ok.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    ok.write_all(
        format!("GET /api/case HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let mut reply = String::new();
    ok.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}
