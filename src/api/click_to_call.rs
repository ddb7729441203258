//! Click-to-call (R-C2): the brand API's body, and what the call and visit objects are sent.

use super::ApiError;
use crate::engine::click_to_call::{Added, CallRecord, CallStatus, VisitorEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest brand API body accepted, in bytes.
pub const MAX_BRAND_BODY: usize = 4096;

/// Body of the brand's `validate`, `visit`, `status` and `events` calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandRequest {
    /// The token the brand's page received.
    pub token: String,
    /// A status to report (`status` route only); checked by [`BrandRequest::status`].
    #[serde(default)]
    pub status: Option<String>,
    /// Visitor events to report (`events` route only); checked by [`BrandRequest::events`].
    #[serde(default)]
    pub events: Option<Vec<Value>>,
}

impl BrandRequest {
    /// The status to report: required and known on the `status` route, refused elsewhere.
    pub fn status(&self, status_route: bool) -> Result<Option<CallStatus>, ApiError> {
        match (status_route, self.status.as_deref()) {
            (false, None) => Ok(None),
            (false, Some(_)) => Err(ApiError::invalid("status", "only for /status")),
            (true, given) => given.and_then(CallStatus::parse).map(Some).ok_or_else(|| {
                let names: Vec<&str> = CallStatus::ALL.iter().map(|c| c.name()).collect();
                ApiError::invalid("status", format!("one of {}", names.join(", ")))
            }),
        }
    }
}

impl BrandRequest {
    /// The visitor events to report: 1 to [`MAX_EVENTS_PER_REPORT`] valid events on the
    /// `events` route, refused elsewhere. A bad event is named by its index and field.
    pub fn events(&self, events_route: bool) -> Result<Vec<VisitorEvent>, ApiError> {
        let list = match (events_route, &self.events) {
            (false, None) => return Ok(Vec::new()),
            (false, Some(_)) => return Err(ApiError::invalid("events", "only for /events")),
            (true, None) => return Err(ApiError::invalid("events", "required")),
            (true, Some(list)) => list,
        };
        if list.is_empty() || list.len() > MAX_EVENTS_PER_REPORT {
            return Err(ApiError::invalid(
                "events",
                format!("1 to {MAX_EVENTS_PER_REPORT} events"),
            ));
        }
        let mut events = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            let e = VisitorEvent::from_json(v.clone()).map_err(|(field, why)| {
                let at = match field {
                    "" => format!("events[{i}]"),
                    f => format!("events[{i}].{f}"),
                };
                ApiError::invalid(&at, why)
            })?;
            events.push(e);
        }
        Ok(events)
    }
}

/// Most visitor events in one report.
pub const MAX_EVENTS_PER_REPORT: usize = 20;

/// A click on a click-to-call engagement, checked against the visit (R-C2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallClick {
    /// Account id.
    pub account: String,
    /// Visit id.
    pub visit_id: String,
    /// Request time, ms.
    pub now_ms: u64,
    /// The request's day in the account's time zone (R-M1).
    pub day: String,
    /// The display clicked.
    pub context_id: String,
    /// Its engagement.
    pub engagement_id: String,
}

/// A brand API operation on a call's object: read it, or report a status.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallOp {
    /// Request time, ms.
    pub now_ms: u64,
    /// A status to report, if any.
    #[serde(default)]
    pub status: Option<CallStatus>,
    /// Visitor events to add (R-C2).
    #[serde(default)]
    pub events: Vec<VisitorEvent>,
}

/// The call object's answer to a [`CallOp`]: the record, and what adding events did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallOpAnswer {
    /// The call.
    pub call: CallRecord,
    /// Present when the op added visitor events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added: Option<Added>,
}
