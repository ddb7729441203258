//! `GET|POST /v1/state`: button refresh (R-D8). A cheap answer from the isolate's cached
//! snapshot and availability: no visit call, no caps touched, nothing removed.

use super::http::{
    allow_origin, body, check_origin, json, label, label_view, require_json, Answer,
};
use super::{limits, now_ms, snapshots};
use crate::api::refresh::{RefreshRequest, MAX_REFRESH_BODY};
use crate::api::{ApiError, MAX_SMALL_DEPTH};
use crate::engine::button_refresh::refresh;
use crate::tenancy::limits::Limit;
use serde_json::json;
use worker::{Context, Env, Method, Request};

/// Handles a refresh: `?account=…&engagements=a,b` or the same as a JSON body.
pub async fn handle(mut req: Request, env: &Env, ctx: &Context) -> Answer {
    let url = req
        .url()
        .map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let b = if req.method() == Method::Get {
        let get = |k: &str| {
            url.query_pairs()
                .find(|(q, _)| q == k)
                .map(|(_, v)| v.into_owned())
        };
        RefreshRequest {
            account: get("account").ok_or_else(|| ApiError::invalid("account", "is required"))?,
            engagements: get("engagements")
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            visit_id: get("visitId"),
        }
    } else {
        require_json(&req)?;
        serde_json::from_slice(&body(&mut req, MAX_REFRESH_BODY, MAX_SMALL_DEPTH).await?)
            .map_err(|e| ApiError::MalformedJson(e.to_string()))?
    };
    let b = b.check()?;
    limits::check(&req, env, Limit::Tag, &[&b.account]).await?;
    let faults = snapshots::ViewFaults::of(&req, env);
    let loaded = snapshots::load_for_tag(env, ctx, &b.account, now_ms(&req, env), faults).await?;
    let origin = check_origin(&req, &loaded.snapshot.account.spec)?;
    let states = refresh(&loaded.snapshot, &b.engagements, &loaded.availability);
    let mut resp = json(
        200,
        &json!({ "account": b.account, "revision": loaded.snapshot.revision, "engagements": states }),
    )?;
    let outcome = loaded.unreadable.map_or("ok", |d| d.code());
    allow_origin(&mut resp, origin);
    label(&mut resp, &b.account, loaded.snapshot.revision, outcome);
    label_view(&mut resp, loaded.source.name());
    Ok(resp)
}
