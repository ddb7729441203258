//! `GET|POST /v1/decide`: what a tag request shows (R-D1..R-D5), explained with the admin
//! token and `?explain=1` (R-P3).

use super::auth::is_admin;
use super::http::{body, header, json, require_json, Answer};
use super::{now_ms, random_id, snapshots};
use crate::engine::decide::{decide, Context};
use crate::engine::visitor::Edge;
use crate::protocol::{ApiError, DecideRequest, DecideResponse, MAX_DECIDE_BODY};
use worker::{Env, Method, Request};

/// Geo from the edge: `request.cf` (country, region, city), which Cloudflare fills and clients
/// cannot change. `wrangler dev` has no real geo (its placeholder says Austin, US), so local
/// setups set `GEO_FROM_HEADERS=true` and pass `CF-IPCountry` / `CF-Region` / `CF-IPCity`
/// headers instead; production leaves it unset.
pub(super) fn edge(req: &Request, env: &Env) -> Edge {
    let h = req.headers();
    let cf = req.cf();
    let from_headers = env
        .var("GEO_FROM_HEADERS")
        .is_ok_and(|v| v.to_string() == "true");
    let pick = |name: &str, from_cf: Option<String>| {
        if from_headers {
            header(h, name)
        } else {
            from_cf
        }
    };
    Edge {
        country: pick("CF-IPCountry", cf.and_then(|c| c.country())),
        region: pick("CF-Region", cf.and_then(|c| c.region())),
        city: pick("CF-IPCity", cf.and_then(|c| c.city())),
        user_agent: header(h, "User-Agent"),
    }
}

/// Handles a decision request.
pub async fn handle(mut req: Request, env: &Env) -> Answer {
    let url = req
        .url()
        .map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let explain = url.query_pairs().any(|(k, v)| k == "explain" && v == "1") && is_admin(&req, env);
    let request = if req.method() == Method::Get {
        DecideRequest::from_query(
            url.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        )?
    } else {
        require_json(&req)?;
        DecideRequest::from_json(&body(&mut req, MAX_DECIDE_BODY).await?)?
    };
    let parsed = request.parse(&edge(&req, env))?;
    let now = now_ms(&req, env);
    let loaded = snapshots::load(env, &parsed.account, now).await?;
    let ctx = Context {
        visitor: &parsed.visitor,
        zones: &parsed.zones,
        now: jiff::Timestamp::from_millisecond(i64::try_from(now).unwrap_or(0)).unwrap_or_default(),
        availability: &loaded.availability,
        explain,
    };
    let decision = decide(&loaded.snapshot, &ctx, &mut random_id);
    json(
        200,
        &DecideResponse {
            account: &parsed.account,
            visitor_id: &parsed.visitor.visitor_id,
            visit_id: &parsed.visitor.visit_id,
            decision: &decision,
        },
    )
}
