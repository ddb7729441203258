//! `POST /v1/events`: lpTag lifecycle events (R-D9), single or batched, as JSON or as the
//! `text/plain` body `navigator.sendBeacon` sends. Idempotent per (context, event); a batch
//! with any bad event is refused whole and changes nothing. Limited per visit (R-S3).

use super::bindings::{self, visit_instance, Visit};
use super::http::{
    allow_origin, body, check_origin, json, label, label_view, require_json, Answer,
};
use super::{handoff, limits, now_ms, snapshots};
use crate::api::events::{EventBatch, EventOutcome, EventsRequest, MAX_EVENTS_BODY};
use crate::api::{ApiError, MAX_EVENTS_DEPTH};
use crate::tenancy::limits::Limit;
use serde_json::json;
use worker::{Context, Env, Request};

/// Handles an events request.
pub async fn handle(mut req: Request, env: &Env, ctx: &Context) -> Answer {
    require_json(&req)?;
    let bytes = body(&mut req, MAX_EVENTS_BODY, MAX_EVENTS_DEPTH).await?;
    let mut b = EventsRequest::from_json(&bytes)?;
    limits::check(&req, env, Limit::Events, &[&b.account, &b.visit_id]).await?;
    let now = now_ms(&req, env);
    let faults = snapshots::ViewFaults::of(&req, env);
    let loaded = snapshots::load_for_tag(env, ctx, &b.account, now, faults).await?;
    let origin = check_origin(&req, &loaded.snapshot.account.spec)?;
    // While the live snapshot cannot be read, engagement ids are left to the visit, which
    // checks each against the context it issued.
    let unknown = b.events.iter().position(|e| {
        loaded.unreadable.is_none()
            && e.claims
                .engagement_id
                .as_ref()
                .is_some_and(|id| loaded.snapshot.engagement(id).is_none())
    });
    if let Some(i) = unknown {
        return Err(ApiError::invalid(
            &b.field(i, "engagementId"),
            "not an engagement of the live snapshot",
        ));
    }
    let batch = EventBatch {
        account: b.account.clone(),
        visit_id: b.visit_id.clone(),
        now_ms: now,
        day: loaded.snapshot.account.day(now),
        events: std::mem::take(&mut b.events),
    };
    let instance = visit_instance(&b.account, &b.visit_id);
    // R-D9: a decision made without the visit records its contexts after its answer, so a
    // beacon that overtakes that record waits briefly for it (a refused batch changed nothing).
    let apply = || async {
        match bindings::send_json(env, &instance, &Visit::Events, &batch).await {
            Ok(outcome) => Ok::<_, ApiError>((200, outcome)),
            Err(e) => match bindings::refusal::<EventOutcome>(&e) {
                Some(outcome) if e.status() == Some(400) => Ok((400, outcome)),
                _ => Err(e.into()),
            },
        }
    };
    let overtaken = |(status, outcome): &(u16, EventOutcome)| {
        *status == 400
            && !outcome.refused.is_empty()
            && outcome.refused.iter().all(|r| r.unknown_context)
    };
    let (status, outcome) = handoff::awaiting(apply, |got| !overtaken(got)).await?;
    if status == 400 {
        let first = outcome.refused.first();
        return Err(match first {
            Some(r) => ApiError::invalid(&b.field(r.index, &r.field), r.reason.clone()),
            None => ApiError::invalid("events", "refused by the visit"),
        });
    }
    let mut resp = json(
        200,
        &json!({ "applied": outcome.applied, "duplicates": outcome.duplicates }),
    )?;
    allow_origin(&mut resp, origin);
    label(&mut resp, &b.account, loaded.snapshot.revision, "applied");
    label_view(&mut resp, loaded.source.name());
    Ok(resp)
}
