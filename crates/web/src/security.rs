//! Request guard and response hardening.
//!
//! * **Exposure**: loopback by default. Without a token, the `Host` header
//!   must name a loopback address, which defeats DNS rebinding (a hostile
//!   page resolving its own name to 127.0.0.1).
//! * **Access token** (required off loopback): `Authorization: Bearer T`, or
//!   a `kahu_token_PORT` cookie (HttpOnly, SameSite=Strict) set when the
//!   user first opens `/?token=T`. Cookies are scoped to a host, not a
//!   port: the port in the name keeps two servers on one host (or another
//!   service on another port) from replacing each other's token.
//! * **Audit author**: each token may be bound to an analyst (a
//!   `--token-file` line `TOKEN NAME`); without a name the token is the
//!   server's analyst (`--user`, default the OS user). What a browser says
//!   (`X-Kahu-User`, the name typed in the UI) is recorded only beside that
//!   identity, never instead of it.
//! * **CSRF**: a request that changes state must carry `X-CSRF-Token` equal
//!   to the per-process token the page was served with (a cross-site page
//!   cannot read it), and must not come from another site by `Origin` or
//!   `Sec-Fetch-Site`. Requests authenticated by an `Authorization` header
//!   are exempt from the token check: browsers never add that header on
//!   their own, so they cannot be forged cross-site.
//! * **Headers**: strict CSP without inline script, nosniff, no referrer,
//!   no framing, no caching of case data.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The UI's Content-Security-Policy.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Prefix of the cookie carrying the access token after a `?token=`
/// visit; the full name ends with the port the browser used.
pub const TOKEN_COOKIE: &str = "kahu_token";

/// The token cookie's name for a request's `Host` header (`kahu_token_8080`).
pub fn token_cookie_name(host: &str) -> String {
    let port = host
        .rsplit_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("80");
    format!("{TOKEN_COOKIE}_{port}")
}

/// The analyst a request's access token is bound to (a request extension
/// set by [`guard`]); `None` when the token names no analyst or there is
/// no token.
#[derive(Clone, Debug, Default)]
pub struct BoundAnalyst(pub Option<String>);
/// Header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Per-process secrets and policy.
pub struct Security {
    /// Access tokens, each with the analyst it is bound to (if any).
    tokens: Vec<(String, Option<String>)>,
    csrf: String,
    loopback: bool,
}

impl Security {
    /// `tokens`: the access tokens (none: no token required), each with
    /// the analyst it is bound to.
    pub fn new(tokens: Vec<(String, Option<String>)>, loopback: bool) -> Self {
        Security {
            tokens,
            csrf: random_token(),
            loopback,
        }
    }

    /// The analyst bound to `t`, if `t` is one of the tokens (constant
    /// time per token).
    fn check(&self, t: &str) -> Option<BoundAnalyst> {
        let mut found = None;
        for (token, who) in &self.tokens {
            if ct_eq(t.trim(), token) && found.is_none() {
                found = Some(BoundAnalyst(who.clone()));
            }
        }
        found
    }

    /// The CSRF token embedded in the page.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// 32 random bytes as hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    // No OS randomness means no safe token: refuse rather than guess.
    getrandom::fill(&mut b).expect("operating system random number generator failed");
    hex::encode(b)
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

fn deny(status: StatusCode, why: &str) -> Response {
    let mut r = (status, axum::Json(serde_json::json!({ "error": why }))).into_response();
    harden(r.headers_mut());
    r
}

fn host_is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    matches!(name.to_ascii_lowercase().as_str(), "localhost" | "::1")
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The middleware.
pub async fn guard(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let sec = &state.security;
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    let host = host.as_str();
    if sec.tokens.is_empty() && sec.loopback && !host_is_loopback(host) {
        return deny(
            StatusCode::FORBIDDEN,
            "unexpected Host header: this server only answers to a loopback name",
        );
    }
    let mut bearer_auth = false;
    let mut bound = BoundAnalyst::default();
    if !sec.tokens.is_empty() {
        let cookie_name = token_cookie_name(host);
        let from_header = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|t| sec.check(t));
        let from_cookie = cookie(headers, &cookie_name).and_then(|t| sec.check(t));
        let from_query = req.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("token="))
                .map(|t| (t.to_string(), sec.check(t).is_some()))
        });
        match from_query {
            Some((token, true)) if req.method() == Method::GET => {
                // Trade the URL token for a cookie and drop it from the
                // address bar (and from history and logs).
                let path = req.uri().path().to_string();
                let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, path)]).into_response();
                let c = format!("{cookie_name}={token}; HttpOnly; SameSite=Strict; Path=/");
                if let Ok(v) = HeaderValue::from_str(&c) {
                    r.headers_mut().insert(header::SET_COOKIE, v);
                }
                harden(r.headers_mut());
                return r;
            }
            Some((_, false)) => return deny(StatusCode::UNAUTHORIZED, "wrong access token"),
            // A right token on a non-GET is no redirect; the checks below apply.
            Some((_, true)) | None => {}
        }
        bearer_auth = from_header.is_some();
        match from_header.or(from_cookie) {
            Some(who) => bound = who,
            None => {
                return deny(
                    StatusCode::UNAUTHORIZED,
                    "access token required: open the URL kahu serve printed (…/?token=…) or send Authorization: Bearer",
                );
            }
        }
    }
    req.extensions_mut().insert(bound);
    let headers = req.headers();
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
            && site != "same-origin"
            && site != "none"
        {
            return deny(StatusCode::FORBIDDEN, "cross-site request refused");
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let ok = origin.to_str().ok().is_some_and(|o| {
                o.strip_prefix("http://")
                    .or_else(|| o.strip_prefix("https://"))
                    == Some(host)
            });
            if !ok {
                return deny(StatusCode::FORBIDDEN, "cross-origin request refused");
            }
        }
        let csrf_ok = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| ct_eq(t, &sec.csrf));
        if !csrf_ok && !bearer_auth {
            return deny(StatusCode::FORBIDDEN, "missing or wrong CSRF token");
        }
    }
    let mut resp = next.run(req).await;
    harden(resp.headers_mut());
    resp
}

/// Add the security headers (keeping a stricter CSP a handler set).
pub fn harden(h: &mut HeaderMap) {
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}
