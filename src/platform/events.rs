//! `POST /v1/events`: lpTag lifecycle events (R-D9), single or batched, as JSON or as the
//! `text/plain` body `navigator.sendBeacon` sends. Idempotent per (context, event); a batch
//! with any bad event is refused whole and changes nothing.

use super::http::{body, json, require_json, Answer};
use super::visit_do::{EventBatch, EventIn, EventOutcome};
use super::{decide::visit_object, now_ms, objects, snapshots};
use crate::engine::visit::EventName;
use crate::protocol::{check_id, ApiError};
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Method, Request};

/// Largest events body accepted, in bytes.
const MAX_EVENTS_BODY: usize = 32 * 1024;
/// Most events in one batch.
const MAX_EVENTS: usize = 100;

/// The body: `events` for a batch, or one event's fields inline.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventsBody {
    account: String,
    visit_id: String,
    #[serde(default)]
    visitor_id: Option<String>,
    #[serde(default)]
    events: Option<Vec<EventIn>>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    context_id: Option<String>,
    #[serde(default)]
    engagement_id: Option<String>,
}

/// Handles an events request.
pub async fn handle(mut req: Request, env: &Env) -> Answer {
    require_json(&req)?;
    let bytes = body(&mut req, MAX_EVENTS_BODY).await?;
    let b: EventsBody =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    check_id("account", &b.account)?;
    check_id("visitId", &b.visit_id)?;
    if let Some(v) = &b.visitor_id {
        check_id("visitorId", v)?;
    }
    let events = match (b.events, b.event, b.context_id) {
        (Some(list), None, None) => list,
        (None, Some(event), Some(context_id)) => vec![EventIn {
            event,
            context_id,
            engagement_id: b.engagement_id,
        }],
        _ => {
            return Err(ApiError::invalid(
                "events",
                "send either events: [...] or event and contextId",
            ))
        }
    };
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(ApiError::invalid(
            "events",
            format!("1 to {MAX_EVENTS} events per request"),
        ));
    }
    let now = now_ms(&req, env);
    let loaded = snapshots::load(env, &b.account, now).await?;
    for (i, e) in events.iter().enumerate() {
        if EventName::parse(&e.event).is_none() {
            return Err(ApiError::invalid(
                &format!("events[{i}].event"),
                format!(
                    "unknown event \"{}\"; one of {}",
                    e.event.chars().take(40).collect::<String>(),
                    EventName::ALL.join(", ")
                ),
            ));
        }
        check_id(&format!("events[{i}].contextId"), &e.context_id)?;
        if let Some(id) = &e.engagement_id {
            check_id(&format!("events[{i}].engagementId"), id)?;
            if loaded.snapshot.engagement(id).is_none() {
                return Err(ApiError::invalid(
                    &format!("events[{i}].engagementId"),
                    "not an engagement of the live snapshot",
                ));
            }
        }
    }
    let batch = EventBatch {
        now_ms: now,
        events,
    };
    let payload =
        serde_json::to_string(&batch).map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let name = visit_object(&b.account, &b.visit_id);
    let mut resp = objects::call(
        env,
        "VISITS",
        &name,
        Method::Post,
        "/events",
        &[],
        Some(payload),
    )
    .await?;
    let status = resp.status_code();
    let outcome: EventOutcome = resp
        .json()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    if status == 400 {
        return Err(ApiError::invalid("events", outcome.refused.join("; ")));
    }
    if status != 200 {
        return Err(ApiError::Unavailable(format!(
            "visit object answered {status}"
        )));
    }
    json(
        200,
        &json!({ "applied": outcome.applied, "duplicates": outcome.duplicates }),
    )
}
