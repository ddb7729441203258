//! `/v1/events` (R-D9): the body lpTag sends, checked; and the batch the visit's object
//! applies, with its outcome.

use super::error::*;
use crate::engine::events::{Claims, EventName};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Largest events body accepted, in bytes.
pub const MAX_EVENTS_BODY: usize = 32 * 1024;
/// Most events in one batch.
pub const MAX_EVENTS: usize = 100;

/// The app name of lpTag's engagement events (seed 004).
pub const LP_OFFERS: &str = "LP_OFFERS";

/// One event as the tag sends it: the compact form (`event`, `contextId`, `engagementId`) or
/// lpTag's payload as it is (seed 004). The fields the worker reads are taken from the JSON
/// object by hand, so that a wrong type is refused naming its field; the fields it does not
/// read (`engagementType`, `state`, `tglName`, `done`, `engagementName`, and anything unknown)
/// are ignored.
#[derive(Debug)]
struct RawEvent {
    event: Option<Value>,
    app_name: Option<Value>,
    context_id: Option<Value>,
    contexts: Option<Value>,
    engagement_id: Option<Value>,
    campaign_id: Option<Value>,
    engagement_revision: Option<Value>,
    zone_id: Option<Value>,
    conf_key: Option<Value>,
}

impl RawEvent {
    /// Takes the event's fields out of its JSON object (`event`, or lpTag's `eventName`).
    fn take(m: &mut Map<String, Value>) -> RawEvent {
        RawEvent {
            event: m.remove("event").or_else(|| m.remove("eventName")),
            app_name: m.remove("appName"),
            context_id: m.remove("contextId"),
            contexts: m.remove("contexts"),
            engagement_id: m.remove("engagementId"),
            campaign_id: m.remove("campaignId"),
            engagement_revision: m.remove("engagementRevision"),
            zone_id: m.remove("zoneId"),
            conf_key: m.remove("confKey"),
        }
    }
}

/// One event as the worker forwards it to the visit (shape and names already checked).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventIn {
    /// lpTag event name.
    pub event: EventName,
    /// The engagement context id from the decision.
    pub context_id: String,
    /// What the event says about its context; each must agree with it.
    #[serde(default)]
    pub claims: Claims,
}

/// A checked `POST /v1/events` request: ids valid, 1 to [`MAX_EVENTS`] events, every name one
/// of [`EventName::ALL`]. Whether an engagement id names an engagement of the live snapshot is
/// checked by the route, which has the snapshot; whether the claims agree with the context, by
/// the visit, which has the context.
#[derive(Debug, Clone)]
pub struct EventsRequest {
    /// Account id.
    pub account: String,
    /// Visit id.
    pub visit_id: String,
    /// The events, in request order.
    pub events: Vec<EventIn>,
    /// One event sent inline rather than as `events: [...]`: field paths have no prefix.
    pub inline: bool,
}

impl EventsRequest {
    /// Parses and checks a JSON body (also sent as `text/plain` by `navigator.sendBeacon`).
    pub fn from_json(body: &[u8]) -> Result<EventsRequest, ApiError> {
        if body.len() > MAX_EVENTS_BODY {
            return Err(ApiError::TooLarge {
                limit: MAX_EVENTS_BODY,
            });
        }
        // Unknown fields are ignored on this route only, so lpTag's payload is taken as it is.
        let mut b: Map<String, Value> =
            serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        let id = |b: &mut Map<String, Value>, field: &str| -> Result<Option<String>, ApiError> {
            let v = text(b.remove(field), field)?;
            if let Some(v) = &v {
                check_id(field, v)?;
            }
            Ok(v)
        };
        let account =
            id(&mut b, "account")?.ok_or_else(|| ApiError::invalid("account", "required"))?;
        let visit_id =
            id(&mut b, "visitId")?.ok_or_else(|| ApiError::invalid("visitId", "required"))?;
        id(&mut b, "visitorId")?;
        let batch = b.remove("events");
        let inline = RawEvent::take(&mut b);
        let (events, inline) = match (batch, inline.event.is_some()) {
            (Some(Value::Array(list)), false) => {
                let mut events = Vec::with_capacity(list.len());
                for (i, v) in list.into_iter().enumerate() {
                    let Value::Object(mut m) = v else {
                        return Err(ApiError::invalid(
                            &format!("events[{i}]"),
                            "must be an object",
                        ));
                    };
                    events.push(RawEvent::take(&mut m));
                }
                (events, false)
            }
            (None, true) => (vec![inline], true),
            (Some(_), false) => return Err(ApiError::invalid("events", "must be a list")),
            _ => {
                return Err(ApiError::invalid(
                    "events",
                    "send either events: [...] or one event's fields (event, contextId)",
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
            let at = |field: &str| event_field(inline, i, field);
            checked.push(check_event(e, &at)?);
        }
        Ok(EventsRequest {
            account,
            visit_id,
            events: checked,
            inline,
        })
    }

    /// The path of `field` of event `index`, as the request wrote it.
    pub fn field(&self, index: usize, field: &str) -> String {
        event_field(self.inline, index, field)
    }
}

fn event_field(inline: bool, index: usize, field: &str) -> String {
    if inline {
        field.to_string()
    } else {
        format!("events[{index}].{field}")
    }
}

/// A string field, or `None` when absent or null.
fn text(v: Option<Value>, field: &str) -> Result<Option<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= 256 => Ok(Some(s)),
        Some(Value::String(_)) => Err(ApiError::invalid(field, "at most 256 characters")),
        Some(_) => Err(ApiError::invalid(field, "must be a string")),
    }
}

/// An id: our ids are strings; LivePerson's tag sends numbers, taken as their decimal text.
fn loose_id(v: Option<Value>, field: &str) -> Result<Option<String>, ApiError> {
    let id = match v {
        Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
        Some(Value::Number(_)) => {
            return Err(ApiError::invalid(field, "must be an id or a whole number"))
        }
        other => text(other, field)?,
    };
    if let Some(id) = &id {
        check_id(field, id)?;
    }
    Ok(id)
}

/// lpTag's `contexts`: `[{"EngagementContext": {"id"}}, {"pageContext": {"id"}}]` (either
/// capitalisation; other entries ignored) → (engagement context, page context).
type ContextIds = (Option<String>, Option<String>);
fn contexts(v: Option<Value>, field: &str) -> Result<ContextIds, ApiError> {
    let list = match v {
        None | Some(Value::Null) => return Ok((None, None)),
        Some(Value::Array(list)) if list.len() <= 8 => list,
        Some(_) => {
            return Err(ApiError::invalid(
                field,
                "must be a list of at most 8 {\"EngagementContext\"|\"pageContext\": {\"id\"}}",
            ))
        }
    };
    let (mut engagement, mut page) = (None, None);
    for (i, entry) in list.into_iter().enumerate() {
        let Value::Object(map) = entry else {
            return Err(ApiError::invalid(
                &format!("{field}[{i}]"),
                "must be an object",
            ));
        };
        for (kind, inner) in map {
            let slot = match kind.as_str() {
                "EngagementContext" | "engagementContext" => &mut engagement,
                "PageContext" | "pageContext" => &mut page,
                _ => continue,
            };
            let at = format!("{field}[{i}].{kind}.id");
            let id = match inner {
                Value::Object(mut o) => loose_id(o.remove("id"), &at)?,
                _ => None,
            };
            *slot = Some(id.ok_or_else(|| ApiError::invalid(&at, "required"))?);
        }
    }
    Ok((engagement, page))
}

/// Checks one event: a known name, an `LP_OFFERS` app (when named), one engagement context id
/// (`contextId` and `contexts` agree when both are sent), and well-formed ids.
fn check_event(e: RawEvent, at: &dyn Fn(&str) -> String) -> Result<EventIn, ApiError> {
    let name = text(e.event, &at("event"))?.unwrap_or_default();
    let Some(event) = EventName::parse(&name) else {
        let names: Vec<&str> = EventName::ALL.iter().map(|n| n.name()).collect();
        return Err(ApiError::invalid(
            &at("event"),
            format!(
                "unknown event \"{}\"; one of {}",
                name.chars().take(40).collect::<String>(),
                names.join(", ")
            ),
        ));
    };
    if text(e.app_name, &at("appName"))?.is_some_and(|a| a != LP_OFFERS) {
        return Err(ApiError::invalid(
            &at("appName"),
            format!("only {LP_OFFERS} events are taken"),
        ));
    }
    let (engagement_context, page_context_id) = contexts(e.contexts, &at("contexts"))?;
    let context_id = match (
        loose_id(e.context_id, &at("contextId"))?,
        engagement_context,
    ) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::invalid(
                &at("contexts"),
                "the engagement context differs from contextId",
            ))
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => {
            return Err(ApiError::invalid(
                &at("contextId"),
                "required: the engagement context id from the decision",
            ))
        }
    };
    let engagement_revision = match e.engagement_revision {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    ApiError::invalid(&at("engagementRevision"), "must be a whole number")
                })?,
        ),
    };
    Ok(EventIn {
        event,
        context_id,
        claims: Claims {
            engagement_id: loose_id(e.engagement_id, &at("engagementId"))?,
            campaign_id: loose_id(e.campaign_id, &at("campaignId"))?,
            engagement_revision,
            zone_id: text(e.zone_id, &at("zoneId"))?,
            conf_key: text(e.conf_key, &at("confKey"))?,
            page_context_id,
        },
    })
}

/// A batch of events for one visit, as its object receives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventBatch {
    /// Account id.
    pub account: String,
    /// Visit id.
    pub visit_id: String,
    /// Request time, ms.
    pub now_ms: u64,
    /// The request's day in the account's time zone (R-M1).
    #[serde(default)]
    pub day: String,
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
    pub refused: Vec<Refusal>,
}

/// Why the visit refused one event of a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    /// The event's index in the batch.
    pub index: usize,
    /// The payload field at fault.
    pub field: String,
    /// What is wrong.
    pub reason: String,
    /// The event's context is not in the visit, perhaps not yet: a decision made without the
    /// visit is recorded after its answer, so the route reads again before it refuses.
    #[serde(default)]
    pub unknown_context: bool,
}
