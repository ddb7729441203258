//! Responses and request bodies: every route answers through these, so headers and the error
//! shape are decided in one place.

use crate::protocol::ApiError;
use serde::Serialize;
use worker::{Headers, Request, Response};

/// What a route handler returns.
pub type Answer = std::result::Result<Response, ApiError>;

fn with_common_headers(mut resp: Response, cache: &str) -> Response {
    let h = resp.headers_mut();
    let _ = h.set("Cache-Control", cache);
    let _ = h.set("X-Content-Type-Options", "nosniff");
    resp
}

/// A JSON answer with a status; decisions and admin answers are never cached.
pub fn json<T: Serialize>(status: u16, body: &T) -> Answer {
    let resp = Response::from_json(body)
        .map_err(|e| ApiError::Unavailable(format!("response encoding: {e}")))?
        .with_status(status);
    Ok(with_common_headers(resp, "no-store"))
}

/// The one mapping from [`ApiError`] to HTTP.
pub fn error_response(err: &ApiError) -> worker::Result<Response> {
    let mut resp = Response::ok(err.body().to_string())?.with_status(err.status());
    resp.headers_mut().set("Content-Type", "application/json")?;
    Ok(with_common_headers(resp, "no-store"))
}

/// Adds CORS headers for tag routes: any origin may ask, no credentials are used.
pub fn cors(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    let _ = h.set("Access-Control-Allow-Origin", "*");
    let _ = h.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    let _ = h.set("Access-Control-Allow-Headers", "Content-Type");
    let _ = h.set("Access-Control-Max-Age", "86400");
    resp
}

/// Reads a body of at most `limit` bytes (413 past it), checking Content-Length first.
pub async fn body(req: &mut Request, limit: usize) -> Result<Vec<u8>, ApiError> {
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
    Ok(bytes)
}

/// A cookie's value, when present and a valid id (the only cookies the worker sets).
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    header(req.headers(), "Cookie").and_then(|c| {
        c.split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .filter(|v| crate::protocol::valid_id(v))
    })
}

/// A 302 to `dest`, never cached, sending no referrer. Built by hand: the runtime's redirect
/// responses have immutable headers.
pub fn redirect(dest: &url::Url) -> worker::Result<Response> {
    let mut resp = Response::empty()?.with_status(302);
    let h = resp.headers_mut();
    h.set("Location", dest.as_str())?;
    h.set("Cache-Control", "no-store")?;
    h.set("Referrer-Policy", "no-referrer")?;
    Ok(resp)
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
