//! Click-to-call (R-C1, R-C2). The click goes through `GET /c/{account}/{engagement}`, which
//! checks the visit was shown that engagement and redirects to the brand's page with a signed,
//! expiring token. The brand's APIs — validate, read the visit, report call status — take a
//! per-account key and answer for 6 hours after the first status or the close, then `410`.

use super::bindings::{self, call_instance, visit_instance, Call, ObjectError, Visit};
use super::http::{body, json, redirect, require_json, Answer};
use super::internal;
use super::offsite::{not_found, page};
use super::queue::send;
use super::{clock, now_ms};
use crate::api::click_to_call::{BrandRequest, CallClick, CallOp, CallOpAnswer, MAX_BRAND_BODY};
use crate::api::routes::Route;
use crate::api::{check_id, valid_id, ApiError, MAX_SMALL_DEPTH};
use crate::call_token::{sign, verify, Claims, TokenError};
use crate::engine::click_to_call::{CallRecord, CallVisit, VisitorEvent, MAX_CALL_EVENTS};
use crate::engine::snapshot::Source;
use crate::engine::zone::Channel;
use crate::measure::conversion::Conversion;
use crate::measure::{CallOfVisitor, Message};
use worker::{Env, Request, Response, Result};

/// The signing key, if configured.
pub fn signing_key(env: &Env) -> Option<Vec<u8>> {
    let key = bindings::secret(env, bindings::CTC_SIGNING_KEY)?;
    (key.len() >= 32).then(|| key.into_bytes())
}

/// `GET /c/{account}/{engagement}?visitId=…&contextId=…`.
pub async fn click(req: Request, env: &Env, account: &str, engagement: &str) -> Result<Response> {
    let url = req.url()?;
    let q = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    let (Some(visit), Some(context)) = (q("visitId"), q("contextId")) else {
        return not_found();
    };
    if ![account, engagement, &visit, &context]
        .iter()
        .all(|id| valid_id(id))
    {
        return not_found();
    }
    let Some(key) = signing_key(env) else {
        worker::console_error!(
            "click-to-call: {} is not configured",
            bindings::CTC_SIGNING_KEY
        );
        return page(503, "Please try again", "Calling is briefly unavailable.");
    };
    let now = now_ms(&req, env);
    let Ok(loaded) = super::snapshots::load(env, account, now).await else {
        return not_found();
    };
    let Some(target) = loaded
        .snapshot
        .engagement(engagement)
        .filter(|e| {
            e.spec.enabled && e.spec.source == Source::Web && e.spec.channel == Channel::ClickToCall
        })
        .and_then(|e| e.spec.click_to_call.as_ref())
        .and_then(|c| url::Url::parse(&c.page_url).ok())
    else {
        return not_found();
    };
    let click = CallClick {
        account: account.to_string(),
        visit_id: visit.clone(),
        now_ms: now,
        day: loaded.snapshot.account.day(now),
        context_id: context.clone(),
        engagement_id: engagement.to_string(),
    };
    let instance = visit_instance(account, &visit);
    let call_visit: CallVisit =
        match bindings::send_json(env, &instance, &Visit::CallClick, &click).await {
            Ok(v) => v,
            Err(ObjectError::Status { .. }) => return not_found(),
            Err(ObjectError::Unavailable(_)) => {
                return page(503, "Please try again", "Calling is briefly unavailable.")
            }
        };
    let claims = Claims {
        account: account.to_string(),
        visit: visit.clone(),
        engagement: engagement.to_string(),
        context,
        issued_ms: now,
    };
    let Some(token) = sign(&key, &claims) else {
        return page(503, "Please try again", "Calling is briefly unavailable.");
    };
    let record = CallRecord {
        account: account.to_string(),
        visit_id: visit,
        engagement_id: engagement.to_string(),
        issued_ms: now,
        visit: call_visit,
        ..CallRecord::default()
    };
    let instance = call_instance(account, &token);
    if bindings::send_json::<_, _, ()>(env, &instance, &Call::Create, &record)
        .await
        .is_err()
    {
        return page(503, "Please try again", "Calling is briefly unavailable.");
    }
    // R-M5: the call is found again when its visitor is erased.
    let indexed = Message::Call(CallOfVisitor {
        account: account.to_string(),
        visitor: record.visit.visitor_id.clone(),
        instance,
        at_ms: now,
    });
    if let Err(e) = send(env, &indexed).await {
        worker::console_error!("click-to-call: call not indexed for erasure: {e:?}");
    }
    let mut dest = target;
    dest.query_pairs_mut().append_pair("ee_ctc_token", &token);
    redirect(&dest)
}

/// `POST /v1/click-to-call/{account}/{validate|visit|status|events}` with the account's brand
/// key with the `calls` scope (R-S1); `route` is one of [`Route::CallValidate`], [`Route::CallVisit`], [`Route::CallStatus`],
/// [`Route::CallEvents`].
pub async fn brand_api(mut req: Request, env: &Env, account: &str, route: Route) -> Answer {
    check_id("account", account)?;
    super::auth::require(&req, env, route, account).await?;
    let key = signing_key(env)
        .ok_or_else(|| ApiError::Unavailable("click-to-call is not configured".into()))?;
    require_json(&req)?;
    let b: BrandRequest =
        serde_json::from_slice(&body(&mut req, MAX_BRAND_BODY, MAX_SMALL_DEPTH).await?)
            .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    let claims = verify(&key, &b.token, account).map_err(|e| match e {
        TokenError::Invalid => ApiError::InvalidToken,
        TokenError::OtherAccount => ApiError::WrongAccount,
    })?;
    let op = CallOp {
        now_ms: clock(&req, || true),
        status: b.status(route == Route::CallStatus)?,
        events: b.events(route == Route::CallEvents)?,
    };
    let CallOpAnswer {
        call: record,
        added,
    } = bindings::send_json(env, &call_instance(account, &b.token), &Call::Op, &op)
        .await
        .map_err(|e| match e.status() {
            Some(404 | 410) => ApiError::Expired,
            Some(422) => ApiError::invalid(
                "events",
                format!("a call keeps at most {MAX_CALL_EVENTS} visitor events"),
            ),
            _ => e.into(),
        })?;
    count_conversions(env, &record, &b.token, &op.events).await?;
    let deadline = record.deadline_ms();
    match route {
        Route::CallEvents => json(
            200,
            &serde_json::json!({
                "applied": added.map_or(0, |a| a.applied),
                "duplicates": added.map_or(0, |a| a.duplicates),
                "answersUntilMs": deadline,
            }),
        ),
        Route::CallValidate => json(
            200,
            &serde_json::json!({
                "valid": true, "account": claims.account, "visitId": claims.visit,
                "engagementId": claims.engagement, "issuedAtMs": claims.issued_ms, "answersUntilMs": deadline,
            }),
        ),
        _ => json(
            200,
            &serde_json::json!({ "call": record, "answersUntilMs": deadline }),
        ),
    }
}

/// R-M2: the purchases and leads of this report, as the call keeps them, become conversions
/// (queued; a repeated report is the same conversion).
async fn count_conversions(
    env: &Env,
    record: &CallRecord,
    token: &str,
    reported: &[VisitorEvent],
) -> std::result::Result<(), ApiError> {
    if reported.is_empty() {
        return Ok(());
    }
    let loaded = super::snapshots::load(env, &record.account, record.issued_ms).await?;
    let snap = &loaded.snapshot;
    let goal = snap
        .engagement(&record.engagement_id)
        .and_then(|e| snap.campaign_of(e))
        .and_then(|c| c.spec.goal.as_deref());
    let key = call_instance(&record.account, token);
    for event in record
        .visitor_events
        .iter()
        .filter(|e| reported.iter().any(|r| r.id == e.id))
    {
        let day = snap.account.day(event.at_ms);
        if let Some(c) = Conversion::of_call_event(record, &key, event, goal, day) {
            send(env, &Message::Conversion(c)).await.map_err(internal)?;
        }
    }
    Ok(())
}
