//! The offsite landing hand-off (R-O2): `GET /v1/landing/{account}?visitId&contextId` for the
//! landing page's tag (public: window data, never the agent note), and
//! `GET /v1/agent/accounts/{account}/contexts?visitId&contextId` for the brand's agent side
//! (authenticated: the context with its agent note).

use super::bindings::{self, visit_instance, Visit};
use super::http::{allow_origin, check_origin, json, label, Answer};
use super::{handoff, now_ms, snapshots};
use crate::api::landing::{ContextRead, ContextRef, LandingAnswer};
use crate::api::routes::Route;
use crate::api::{check_id, ApiError};
use crate::engine::landing::{agent_view, window_data, NoWindow};
use worker::{Env, Request};

/// Reads a context from its visit's object; `None` when the visit has no such context.
async fn read_context(
    env: &Env,
    account: &str,
    at: &ContextRef,
) -> Result<Option<ContextRead>, ApiError> {
    let instance = visit_instance(account, &at.visit_id);
    let command = Visit::Context(at.context_id.clone());
    match bindings::send(env, &instance, &command, &[], None).await {
        Ok(read) => Ok(Some(read)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The landing page's exchange: open the window of an offsite click's context, or say why
/// nothing opens (unknown, expired, or no longer an offsite engagement): 200 either way.
pub async fn exchange(req: Request, env: &Env, account: &str) -> Answer {
    check_id("account", account)?;
    let at = ContextRef::from_query(req.url().map_err(super::internal)?.query_pairs())?;
    let now = now_ms(&req, env);
    let loaded = snapshots::load(env, account, now).await?;
    let origin = check_origin(&req, &loaded.snapshot.account.spec)?;
    // R-O2: the click starts the landing visit after its redirect, so the context may not be
    // recorded yet.
    let context = handoff::awaiting(|| read_context(env, account, &at), Option::is_some).await?;
    let window = match &context {
        Some(c) => window_data(&loaded.snapshot, &c.record, now, c.timeout_minutes),
        None => Err(NoWindow::UnknownContext),
    };
    let outcome = if window.is_ok() { "open" } else { "closed" };
    let mut resp = json(200, &LandingAnswer::new(at, window))?;
    resp.headers_mut()
        .set("Cache-Control", "no-store")
        .map_err(super::internal)?;
    allow_origin(&mut resp, origin);
    label(&mut resp, account, loaded.snapshot.revision, outcome);
    Ok(resp)
}

/// The agent side's read of a context the visit issued (offsite click or web display), with
/// the engagement's agent note, with a key that has the `agent` scope (R-S1).
pub async fn agent_context(req: Request, env: &Env, account: &str) -> Answer {
    check_id("account", account)?;
    super::auth::require(&req, env, Route::AgentContext, account).await?;
    let at = ContextRef::from_query(req.url().map_err(super::internal)?.query_pairs())?;
    let loaded = snapshots::load(env, account, now_ms(&req, env)).await?;
    let Some(c) = read_context(env, account, &at).await? else {
        return Err(ApiError::NotFound("context".to_string()));
    };
    json(200, &agent_view(&loaded.snapshot, &c.record))
}
