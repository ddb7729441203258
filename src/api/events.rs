//! `/v1/events` (R-D9): the body lpTag sends, checked; and the batch the visit's object
//! applies, with its outcome.

use super::error::*;
use crate::engine::events::EventName;
use serde::{Deserialize, Serialize};

/// Largest events body accepted, in bytes.
pub const MAX_EVENTS_BODY: usize = 32 * 1024;
/// Most events in one batch.
pub const MAX_EVENTS: usize = 100;

/// One event as the tag sends it, before its name is checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawEvent {
    event: String,
    context_id: String,
    #[serde(default)]
    engagement_id: Option<String>,
}

/// One event as the worker forwards it to the visit (shape and names already checked).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventIn {
    /// lpTag event name.
    pub event: EventName,
    /// Context id from the decision.
    pub context_id: String,
    /// Engagement id, when the tag sends it: must match the context's.
    #[serde(default)]
    pub engagement_id: Option<String>,
}

/// `POST /v1/events` body: `events` for a batch, or one event's fields inline.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventsBody {
    account: String,
    visit_id: String,
    #[serde(default)]
    visitor_id: Option<String>,
    #[serde(default)]
    events: Option<Vec<RawEvent>>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    context_id: Option<String>,
    #[serde(default)]
    engagement_id: Option<String>,
}

/// A checked `POST /v1/events` request: ids valid, 1 to [`MAX_EVENTS`] events, every name one
/// of [`EventName::ALL`]. Whether an engagement id names
/// an engagement of the live snapshot is checked by the route, which has the snapshot.
#[derive(Debug, Clone)]
pub struct EventsRequest {
    /// Account id.
    pub account: String,
    /// Visit id.
    pub visit_id: String,
    /// The events, in request order.
    pub events: Vec<EventIn>,
}

impl EventsRequest {
    /// Parses and checks a JSON body (also sent as `text/plain` by `navigator.sendBeacon`).
    pub fn from_json(body: &[u8]) -> Result<EventsRequest, ApiError> {
        if body.len() > MAX_EVENTS_BODY {
            return Err(ApiError::TooLarge {
                limit: MAX_EVENTS_BODY,
            });
        }
        let b: EventsBody =
            serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        check_id("account", &b.account)?;
        check_id("visitId", &b.visit_id)?;
        if let Some(v) = &b.visitor_id {
            check_id("visitorId", v)?;
        }
        let events = match (b.events, b.event, b.context_id) {
            (Some(list), None, None) => list,
            (None, Some(event), Some(context_id)) => vec![RawEvent {
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
        let mut checked = Vec::with_capacity(events.len());
        for (i, e) in events.into_iter().enumerate() {
            let Some(event) = EventName::parse(&e.event) else {
                let names: Vec<&str> = EventName::ALL.iter().map(|n| n.name()).collect();
                return Err(ApiError::invalid(
                    &format!("events[{i}].event"),
                    format!(
                        "unknown event \"{}\"; one of {}",
                        e.event.chars().take(40).collect::<String>(),
                        names.join(", ")
                    ),
                ));
            };
            check_id(&format!("events[{i}].contextId"), &e.context_id)?;
            if let Some(id) = &e.engagement_id {
                check_id(&format!("events[{i}].engagementId"), id)?;
            }
            checked.push(EventIn {
                event,
                context_id: e.context_id,
                engagement_id: e.engagement_id,
            });
        }
        Ok(EventsRequest {
            account: b.account,
            visit_id: b.visit_id,
            events: checked,
        })
    }
}

/// A batch of events for one visit, as its object receives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventBatch {
    /// Request time, ms.
    pub now_ms: u64,
    /// The events.
    pub events: Vec<EventIn>,
}

/// The object's answer to a batch: applied and duplicate counts, or what was refused.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventOutcome {
    /// Events that changed the visit.
    pub applied: u32,
    /// Events seen before (no change).
    pub duplicates: u32,
    /// Problems that refused the whole batch (nothing applied).
    pub refused: Vec<String>,
}
