//! Responses and request bodies: every route answers through these, so headers and the error
//! shape are decided in one place.

use crate::api::ApiError;
use crate::engine::snapshot::AccountSpec;
use serde::Serialize;
use worker::{Headers, Request, Response};

/// What a route handler returns.
pub type Answer = std::result::Result<Response, ApiError>;

/// Headers every response leaves with: `nosniff`, HSTS, a CSP that allows nothing unless the
/// route set its own (HTML pages do), no framing, no referrer from pages and redirects, and
/// `Cache-Control: no-store` unless the route chose a cache policy (only static documents do:
/// decisions, redirects and admin answers are never cached).
pub fn secure(mut resp: Response) -> Response {
    let html = header(resp.headers(), "Content-Type").is_some_and(|t| t.starts_with("text/html"));
    let redirect = (300..400).contains(&resp.status_code());
    let h = resp.headers_mut();
    let default = |name: &str, value: &str| {
        if !h.has(name).unwrap_or(false) {
            let _ = h.set(name, value);
        }
    };
    default("Cache-Control", "no-store");
    default(
        "Content-Security-Policy",
        "default-src 'none'; frame-ancestors 'none'",
    );
    default("X-Content-Type-Options", "nosniff");
    default("Strict-Transport-Security", "max-age=31536000");
    if html || redirect {
        default("X-Frame-Options", "DENY");
        default("Referrer-Policy", "no-referrer");
    }
    resp
}

/// A JSON answer with a status.
pub fn json<T: Serialize>(status: u16, body: &T) -> Answer {
    Ok(Response::from_json(body)
        .map_err(|e| ApiError::Unavailable(format!("response encoding: {e}")))?
        .with_status(status))
}

/// The one mapping from [`ApiError`] to HTTP.
pub fn error_response(err: &ApiError) -> worker::Result<Response> {
    let mut resp = Response::ok(err.body().to_string())?.with_status(err.status());
    resp.headers_mut().set("Content-Type", "application/json")?;
    if let ApiError::RateLimited { retry_after_s } = err {
        resp.headers_mut()
            .set("Retry-After", &retry_after_s.to_string())?;
    }
    Ok(resp)
}

/// Adds CORS headers for tag routes. A route that checked the caller's origin against the
/// account's `allowedOrigins` has already set `Access-Control-Allow-Origin` to it; otherwise
/// any origin may ask (no credentials are used).
pub fn cors(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    if !h.has("Access-Control-Allow-Origin").unwrap_or(false) {
        let _ = h.set("Access-Control-Allow-Origin", "*");
    }
    let _ = h.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    let _ = h.set("Access-Control-Allow-Headers", "Content-Type");
    let _ = h.set("Access-Control-Max-Age", "86400");
    resp
}

/// Checks the page's `Origin` against the account's `allowedOrigins` (docs/api.md): `Ok(None)`
/// when the account allows any origin or the caller is not a browser page (no `Origin`),
/// `Ok(Some(origin))` to echo in `Access-Control-Allow-Origin`, 403 otherwise, before anything
/// changes.
pub fn check_origin(req: &Request, account: &AccountSpec) -> Result<Option<String>, ApiError> {
    match (&account.allowed_origins, header(req.headers(), "Origin")) {
        (Some(_), Some(origin)) if account.allows_origin(&origin) => Ok(Some(origin)),
        (Some(_), Some(_)) => Err(ApiError::OriginNotAllowed),
        _ => Ok(None),
    }
}

/// Echoes an allowed origin ([`check_origin`]) so that the page may read the answer.
pub fn allow_origin(resp: &mut Response, origin: Option<String>) {
    if let Some(origin) = origin {
        let h = resp.headers_mut();
        let _ = h.set("Access-Control-Allow-Origin", &origin);
        let _ = h.append("Vary", "Origin");
    }
}

/// Reads a body of at most `limit` bytes (413 past it, checking Content-Length first) and JSON
/// nesting of at most `depth` (400 past it).
pub async fn body(req: &mut Request, limit: usize, depth: usize) -> Result<Vec<u8>, ApiError> {
    let declared = header(req.headers(), "Content-Length").and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::TooLarge { limit });
    }
    let bytes = req
        .bytes()
        .await
        .map_err(|e| ApiError::MalformedJson(format!("unreadable body: {e}")))?;
    if bytes.len() > limit {
        return Err(ApiError::TooLarge { limit });
    }
    crate::api::check_depth(&bytes, depth)?;
    Ok(bytes)
}

/// A cookie's value, when present and a valid id (the only cookies the worker sets).
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    header(req.headers(), "Cookie").and_then(|c| {
        c.split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .filter(|v| crate::api::valid_id(v))
    })
}

/// A 302 to `dest` ([`secure`] adds no-store and no-referrer). Built by hand: the runtime's
/// redirect responses have immutable headers.
pub fn redirect(dest: &url::Url) -> worker::Result<Response> {
    let mut resp = Response::empty()?.with_status(302);
    resp.headers_mut().set("Location", dest.as_str())?;
    Ok(resp)
}

/// The first-party cookie that keeps the visitor id (the tag routes and offsite links).
pub const VISITOR_COOKIE: &str = "ee_vid";

/// Internal response header naming the account, read by the request log and then removed.
pub const LOG_ACCOUNT: &str = "X-Edge-Account";
/// Public response header: the snapshot revision an answer was decided on.
pub const REVISION: &str = "X-Edge-Revision";
/// Public response header: what the route did (`shown`, `none`, `eligible`, …; docs/api.md).
pub const OUTCOME: &str = "X-Edge-Outcome";

/// Internal response header naming where the account's view came from (`isolate`, `location`
/// or `object`), read by the request log and then removed (test builds keep it: R-P2's tests
/// read it).
pub const LOG_VIEW: &str = "X-Edge-View";

/// Labels an answer for the request log with where its account's view came from.
pub fn label_view(resp: &mut Response, source: &str) {
    let _ = resp.headers_mut().set(LOG_VIEW, source);
}

/// Labels an answer for the request log (and the client): account, revision, outcome.
pub fn label(resp: &mut Response, account: &str, revision: u64, outcome: &str) {
    let h = resp.headers_mut();
    let _ = h.set(LOG_ACCOUNT, account);
    let _ = h.set(REVISION, &revision.to_string());
    let _ = h.set(OUTCOME, outcome);
}

/// A header's value, if present and readable.
pub fn header(headers: &Headers, name: &str) -> Option<String> {
    headers.get(name).ok().flatten()
}

/// Requires a JSON (or, for beacons, text/plain) content type when a body is sent.
pub fn require_json(req: &Request) -> Result<(), ApiError> {
    match header(req.headers(), "Content-Type") {
        Some(ct) if ct.starts_with("application/json") || ct.starts_with("text/plain") => Ok(()),
        None => Ok(()),
        Some(_) => Err(ApiError::UnsupportedMediaType),
    }
}

/// A Durable Object's answer to the worker: a reply, or a failure as its status.
pub(super) fn respond(
    answer: std::result::Result<crate::session::Reply, crate::session::Failure>,
) -> worker::Result<Response> {
    use crate::session::{Failure, Reply};
    match answer {
        Ok(Reply::Json(text)) => Ok(Response::ok(text)?.with_headers(json_headers()?)),
        Ok(Reply::Empty) => Response::empty(),
        Ok(Reply::AnswerLost) => Response::error("injected: answer lost", 503),
        Err(Failure::Internal(e)) => Err(worker::Error::RustError(e)),
        Err(Failure::Refused(outcome)) => Ok(Response::from_json(&outcome)?.with_status(400)),
        Err(Failure::NotFound(reason)) => Response::error(reason, 404),
    }
}

fn json_headers() -> worker::Result<worker::Headers> {
    let headers = worker::Headers::new();
    headers.set("Content-Type", "application/json")?;
    Ok(headers)
}
