//! The platform layer: routing, request parsing, loading, Durable Objects and responses.
//! Each handler reads like the rule it implements; the decisions are the engine's.

pub mod account_do;
mod admin;
mod auth;
mod click_to_call;
mod decide;
mod demo;
mod events;
mod http;
mod objects;
mod offsite;
mod refresh;
mod snapshots;
pub mod visit_do;

use crate::protocol::ApiError;
use http::{cors, error_response, json, Answer};
use serde_json::json;
use worker::{event, Context, Env, Method, Request, Response, Result};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let started = worker::Date::now().as_millis();
    let method = req.method();
    let path = req.path();
    let answer = route(req, &env, &ctx).await;
    let status = match &answer {
        Ok(r) => r.status_code(),
        Err(e) => e.status(),
    };
    worker::console_log!(
        "{}",
        json!({
            "method": method.to_string(),
            "route": route_name(&path),
            "status": status,
            "error": answer.as_ref().err().map(ApiError::code),
            "ms": worker::Date::now().as_millis().saturating_sub(started),
        })
    );
    match answer {
        Ok(resp) => Ok(resp),
        Err(e)
            if ["/v1/decide", "/v1/events", "/v1/state"]
                .iter()
                .any(|p| path.starts_with(p)) =>
        {
            error_response(&e).map(cors)
        }
        Err(e) => error_response(&e),
    }
}

/// Route label for logs: the path with ids replaced, so no visitor data is logged.
fn route_name(path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["o", _, _] => "/o/:account/:engagement".to_string(),
        ["demo", ..] => "/demo".to_string(),
        ["c", _, _] => "/c/:account/:engagement".to_string(),
        ["v1", "click-to-call", _, op] => format!("/v1/click-to-call/:account/{op}"),
        ["v1", "admin", "accounts", _, rest @ ..] => format!(
            "/v1/admin/accounts/:account/{}",
            rest.first().copied().unwrap_or("")
        ),
        _ if path.len() <= 32 => path.to_string(),
        _ => "(other)".to_string(),
    }
}

async fn route(req: Request, env: &Env, ctx: &Context) -> Answer {
    let path = req.path();
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (req.method(), segs.as_slice()) {
        (Method::Get, ["v1", "health"]) => json(200, &json!({ "ok": true })),
        (Method::Options, ["v1", "decide" | "events" | "state"]) => {
            Ok(cors(Response::empty().map_err(internal)?.with_status(204)))
        }
        (Method::Get | Method::Post, ["v1", "decide"]) => decide::handle(req, env).await.map(cors),
        (Method::Post, ["v1", "events"]) => events::handle(req, env).await.map(cors),
        (Method::Get | Method::Post, ["v1", "state"]) => refresh::handle(req, env).await.map(cors),
        (_, ["v1", "decide" | "events" | "state"]) => Err(ApiError::MethodNotAllowed),
        (_, ["o", account, engagement]) => {
            let (account, engagement) = ((*account).to_string(), (*engagement).to_string());
            offsite::handle(req, env, ctx, &account, &engagement)
                .await
                .map_err(internal)
        }
        (_, ["o", ..]) => offsite::not_found().map_err(internal),
        (Method::Get, ["demo", ..]) => demo::serve(env, &path).map_err(internal),
        (Method::Get, ["c", account, engagement]) => {
            let (account, engagement) = ((*account).to_string(), (*engagement).to_string());
            click_to_call::click(req, env, &account, &engagement)
                .await
                .map_err(internal)
        }
        (_, ["c", ..]) => offsite::not_found().map_err(internal),
        (Method::Post, ["v1", "click-to-call", account, op]) => {
            let (account, op) = ((*account).to_string(), (*op).to_string());
            click_to_call::brand_api(req, env, &account, &op).await
        }
        (_, ["v1", "admin", "accounts", account, rest @ ..]) => {
            let account = (*account).to_string();
            let rest: Vec<String> = rest.iter().map(|s| (*s).to_string()).collect();
            admin::handle(req, env, &account, &rest).await
        }
        _ => Err(ApiError::NotFound("route".to_string())),
    }
}

/// Maps a platform failure (not the caller's fault) to a 503.
fn internal(e: worker::Error) -> ApiError {
    ApiError::Unavailable(e.to_string())
}

/// The request time. Builds with the `test-clock` feature (never deployed) let an admin-
/// authenticated `X-Test-Now: <RFC 3339>` header move it, so tests can reach any time frame.
fn now_ms(req: &Request, env: &Env) -> u64 {
    clock(req, || auth::is_admin(req, env))
}

/// The request time; in `test-clock` builds `X-Test-Now` applies when `trusted()` holds (the
/// caller's own authentication: the admin token, or a click-to-call brand key).
fn clock(req: &Request, trusted: impl FnOnce() -> bool) -> u64 {
    #[cfg(feature = "test-clock")]
    if let Some(t) = http::header(req.headers(), "X-Test-Now") {
        if let (Some(ts), true) = (crate::engine::schedule::parse_utc(&t), trusted()) {
            return u64::try_from(ts.as_millisecond()).unwrap_or(0);
        }
    }
    #[cfg(not(feature = "test-clock"))]
    let _ = (req, trusted);
    worker::Date::now().as_millis()
}

/// A fresh random id: 128 bits, URL-safe hex.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // The platform's CSPRNG does not fail in practice; fall back to time-based uniqueness.
        let t = worker::Date::now().as_millis();
        bytes[..8].copy_from_slice(&t.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
