//! The platform layer: routing, request parsing, loading, Durable Objects and responses.
//! Each handler reads like the rule it implements; the decisions are the engine's.

pub mod account_do;
mod admin;
mod auth;
mod bindings;
pub mod call_do;
mod click_to_call;
mod consumer;
mod conversions;
mod decide;
mod demo;
mod events;
mod handoff;
mod http;
mod keys;
mod landing;
mod limits;
mod location;
pub mod measure_do;
mod migrate;
mod offsite;
mod queue;
mod refresh;
mod report;
mod report_page;
mod revisions;
mod snapshots;
mod stored;
pub mod visit_do;

use crate::api::routes::{resolve, Resolved, Route};
use crate::api::{valid_id, ApiError};
use crate::tenancy::limits::Limit;
use http::{cors, error_response, json, Answer};
use serde_json::json;
use worker::{event, Context, Env, Method, Request, Response, Result};

/// The snapshot's JSON Schema (generated from the engine's types, tests/schema.rs).
/// The API's OpenAPI document (kept true to the router by tests/openapi.rs).

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let started = worker::Date::now().as_millis();
    let method = req.method();
    let path = req.path();
    let resolved = resolve(method.as_ref(), &path);
    let client = limits::client_of(&req);
    let tag_route = resolved.route().is_some_and(Route::is_tag);
    let answer = match limits::refuse_client_if_blocked(&client) {
        Err(e) if tag_route => Err(e),
        _ => route(req, &env, &ctx, &path, &resolved).await,
    };
    // R-S3, R-S4: a tag request for an account that does not exist counts as a failed
    // authentication of its client, so made-up account ids are bounded per client.
    let answer = match answer {
        Err(ApiError::UnknownAccount(a)) if tag_route => {
            match limits::check_client(&env, &client, Limit::FailedAuth, &[]).await {
                Err(limited) => Err(limited),
                Ok(()) => Err(ApiError::UnknownAccount(a)),
            }
        }
        other => other,
    };
    let (mut resp, error) = match answer {
        Ok(r) => (r, None),
        Err(e) => (error_response(&e)?, Some(e)),
    };
    if tag_route || resolved.route() == Some(Route::Preflight) {
        resp = cors(resp);
    }
    log(&method, &resolved, &resp, error.as_ref(), started);
    let _ = resp.headers_mut().delete(http::LOG_ACCOUNT);
    #[cfg(not(feature = "test-clock"))]
    let _ = resp.headers_mut().delete(http::LOG_VIEW);
    Ok(http::secure(resp))
}

/// The request's one log line, as JSON for `wrangler tail` and Logpush: route template,
/// account, status, outcome, revision, error code and duration. No visitor data beyond ids.
fn log(
    method: &Method,
    resolved: &Resolved<'_>,
    resp: &Response,
    error: Option<&ApiError>,
    started: u64,
) {
    let h = resp.headers();
    let status = resp.status_code();
    let (template, path_account) = match resolved {
        Resolved::Found {
            template, params, ..
        } => (
            *template,
            params
                .first()
                .filter(|a| valid_id(a))
                .map(|a| (*a).to_string()),
        ),
        Resolved::MethodNotAllowed { template } => (*template, None),
        Resolved::NotFound => ("(none)", None),
    };
    let line = json!({
        "level": if status >= 500 { "error" } else { "info" },
        "method": method.to_string(),
        "route": template,
        "account": http::header(h, http::LOG_ACCOUNT).or(path_account),
        "status": status,
        "outcome": http::header(h, http::OUTCOME).or_else(|| error.map(|e| e.code().to_string())),
        "revision": http::header(h, http::REVISION).and_then(|r| r.parse::<u64>().ok()),
        "view": http::header(h, http::LOG_VIEW),
        "error": error.map(ApiError::code),
        "detail": error.filter(|e| e.status() >= 500).map(ApiError::message),
        "ms": worker::Date::now().as_millis().saturating_sub(started),
    });
    if status >= 500 {
        worker::console_error!("{line}");
    } else {
        worker::console_log!("{line}");
    }
}

/// Dispatches a resolved request to its handler. Links (`/o/…`, `/c/…`) that match nothing get
/// the small HTML page, since people open them in a browser; API paths get JSON errors.
async fn route(
    req: Request,
    env: &Env,
    ctx: &Context,
    path: &str,
    resolved: &Resolved<'_>,
) -> Answer {
    let link = path.starts_with("/o/") || path.starts_with("/c/");
    let (route, params) = match resolved {
        Resolved::Found { route, params, .. } => (*route, params.as_slice()),
        Resolved::MethodNotAllowed { .. } if link => {
            return offsite::page(405, "Link not available", "Open this link in a browser.")
                .map_err(internal)
        }
        Resolved::MethodNotAllowed { .. } => return Err(ApiError::MethodNotAllowed),
        Resolved::NotFound if link => return offsite::not_found().map_err(internal),
        Resolved::NotFound => return Err(ApiError::NotFound("route".to_string())),
    };
    let account = params.first().copied().unwrap_or_default();
    let second = params.get(1).copied().unwrap_or_default();
    // R-S3 on the routes whose client and account the path tells; decide, state and events
    // count in their handlers, once the body has said the account or visit.
    match route {
        Route::Offsite | Route::ClickToCall => {
            if let Err(ApiError::RateLimited { retry_after_s }) =
                limits::check(&req, env, Limit::Link, &[]).await
            {
                let mut resp = offsite::page(
                    429,
                    "Too many clicks",
                    "Too many links were opened from this network. Please try again shortly.",
                )
                .map_err(internal)?;
                resp.headers_mut()
                    .set("Retry-After", &retry_after_s.to_string())
                    .map_err(internal)?;
                return Ok(resp);
            }
        }
        Route::Landing | Route::Conversion if valid_id(account) => {
            limits::check(&req, env, Limit::Tag, &[account]).await?;
        }
        _ => {}
    }
    match route {
        Route::Health => json(200, &json!({ "ok": true })),
        Route::Preflight => Ok(Response::empty().map_err(internal)?.with_status(204)),
        Route::Decide => decide::handle(req, env, ctx).await,
        Route::Events => events::handle(req, env, ctx).await,
        Route::State => refresh::handle(req, env, ctx).await,
        Route::Offsite => offsite::handle(req, env, ctx, account, second)
            .await
            .map_err(internal),
        Route::Landing => landing::exchange(req, env, account).await,
        Route::Conversion => conversions::record(req, env, account, true).await,
        Route::ReportPage => report_page::serve(account),
        Route::AgentContext => landing::agent_context(req, env, account).await,
        Route::ClickToCall => click_to_call::click(req, env, account, second)
            .await
            .map_err(internal),
        Route::CallValidate | Route::CallVisit | Route::CallStatus | Route::CallEvents => {
            click_to_call::brand_api(req, env, account, route).await
        }
        Route::Demo => demo::serve(env, path).map_err(internal),
        Route::SnapshotRead
        | Route::SnapshotPublish
        | Route::AvailabilityRead
        | Route::AvailabilityPush
        | Route::SkillAvailabilityPush
        | Route::VisitRead
        | Route::KeyCreate
        | Route::KeyList
        | Route::KeyRotate
        | Route::KeyRevoke
        | Route::IdentitySecret
        | Route::OffsiteLinks
        | Route::Clicks
        | Route::Report
        | Route::ConversionAdmin
        | Route::EraseVisitor
        | Route::DeleteCampaignMeasurements
        | Route::MigrateMeasurements => admin::handle(req, env, route, account, second).await,
    }
}

/// Runs `futures` together and returns their outputs in order: each is polled in the same
/// turn as the others, so their requests are in flight at once (and an object's writes issued
/// so are committed together).
pub(crate) async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut out: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut left = false;
        for (slot, done) in pending.iter_mut().zip(out.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        *done = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => left = true,
                }
            }
        }
        if left {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// Maps a platform failure (not the caller's fault) to a 503.
fn internal(e: worker::Error) -> ApiError {
    ApiError::Unavailable(e.to_string())
}

/// The request time. Builds with the `test-clock` feature (never deployed) let an admin-
/// authenticated `X-Test-Now: <RFC 3339>` header move it, so tests can reach any time frame.
fn now_ms(req: &Request, env: &Env) -> u64 {
    clock(req, || auth::trusted_for_tests(req, env))
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

/// Waits `ms` milliseconds (a timer; 0 yields one turn of the event loop).
async fn pause(ms: u64) {
    worker::Delay::from(std::time::Duration::from_millis(ms)).await;
}

/// A fresh random id: 128 bits, URL-safe hex.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // The platform's CSPRNG does not fail in practice; fall back to time-based uniqueness.
        let t = worker::Date::now().as_millis();
        bytes[..8].copy_from_slice(&t.to_le_bytes());
    }
    crate::crypto::hex(&bytes)
}
