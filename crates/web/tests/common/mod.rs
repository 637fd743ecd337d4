//! Helpers shared by the HTTP tests: send a request through the router,
//! build a request with an allowed Host header, read the page's CSRF token.
// Each test binary uses its own subset of these.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use kahu_web::App;
use tower::ServiceExt;

/// Send `req` through the app's router; status, headers and body as text.
pub(crate) async fn send(
    app: &App,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// A GET with the loopback Host header `kahu serve` accepts.
pub(crate) fn get(uri: &str) -> axum::http::request::Builder {
    Request::get(uri).header(header::HOST, "127.0.0.1:8080")
}

/// The CSRF token the shell page carries.
pub(crate) fn csrf_of(html: &str) -> String {
    let i = html.find("name=\"kahu-csrf\" content=\"").unwrap() + 26;
    html[i..i + 64].to_string()
}
