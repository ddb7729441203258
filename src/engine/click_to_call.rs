//! Click-to-call (R-C1, R-C2): what the brand may read about a call and report back. A
//! click-to-call engagement is a content engagement for every decision rule (R-C1); the call
//! record is kept by its own object so that it outlives the visit.

use super::visit::VisitState;
use crate::call_token::deadline_ms;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A call status a brand may report (R-C2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Waiting for an agent.
    Queued,
    /// The agent's phone rings.
    Ringing,
    /// Talking.
    Connected,
    /// Held.
    OnHold,
    /// Finished normally (closes the call).
    Ended,
    /// Could not be placed (closes the call).
    Failed,
    /// The visitor hung up waiting (closes the call).
    Abandoned,
    /// Nobody answered (closes the call).
    NoAnswer,
}

impl CallStatus {
    /// Every status, as the brand API documents them.
    pub const ALL: [CallStatus; 8] = [
        CallStatus::Queued,
        CallStatus::Ringing,
        CallStatus::Connected,
        CallStatus::OnHold,
        CallStatus::Ended,
        CallStatus::Failed,
        CallStatus::Abandoned,
        CallStatus::NoAnswer,
    ];

    /// R-C2: a closing status starts the 6-hour window after close.
    pub fn closes(self) -> bool {
        matches!(
            self,
            CallStatus::Ended | CallStatus::Failed | CallStatus::Abandoned | CallStatus::NoAnswer
        )
    }

    /// The status the brand names `name`, if any.
    pub fn parse(name: &str) -> Option<CallStatus> {
        CallStatus::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The name as the brand sends it.
    pub fn name(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Ringing => "ringing",
            CallStatus::Connected => "connected",
            CallStatus::OnHold => "on_hold",
            CallStatus::Ended => "ended",
            CallStatus::Failed => "failed",
            CallStatus::Abandoned => "abandoned",
            CallStatus::NoAnswer => "no_answer",
        }
    }
}

/// One reported call status (R-C2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// The status.
    pub status: CallStatus,
    /// When it was reported, ms.
    pub at_ms: u64,
}

/// Most visitor events one call keeps.
pub const MAX_CALL_EVENTS: usize = 100;
/// Largest purchase or lead value accepted.
pub const MAX_VALUE: f64 = 1e9;

/// A visitor event the brand reports for a call (R-C2): what the visitor did because of it.
/// Each carries the brand's own `id`, so a retried report is applied once. Measurement counts
/// purchases and leads as conversions of the click-to-call engagement (R-M2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum VisitorEvent {
    /// A purchase: `value` (≥ 0, at most 2 decimals) in `currency` (ISO 4217, e.g. `GBP`).
    Purchase {
        /// The brand's id of the event.
        id: String,
        /// Amount.
        value: f64,
        /// ISO 4217 code.
        currency: String,
    },
    /// A lead, optionally with a value and its currency (both or neither).
    Lead {
        /// The brand's id of the event.
        id: String,
        /// Amount.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        /// ISO 4217 code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        currency: Option<String>,
    },
    /// A custom engagement attribute: `name` (an id) and a text `value` of at most 256.
    Attribute {
        /// The brand's id of the event.
        id: String,
        /// Attribute name.
        name: String,
        /// Attribute value.
        value: String,
    },
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn check_money(value: f64, currency: &str) -> Result<(), (&'static str, String)> {
    let cents = value * 100.0;
    if !value.is_finite()
        || !(0.0..=MAX_VALUE).contains(&value)
        || (cents - cents.round()).abs() > 1e-6
    {
        return Err(("value", format!("0 to {MAX_VALUE}, at most 2 decimals")));
    }
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(("currency", "an ISO 4217 code such as GBP".to_string()));
    }
    Ok(())
}

impl VisitorEvent {
    /// The brand's id of the event.
    pub fn id(&self) -> &str {
        match self {
            VisitorEvent::Purchase { id, .. }
            | VisitorEvent::Lead { id, .. }
            | VisitorEvent::Attribute { id, .. } => id,
        }
    }

    /// R-C2: the event's own rules, as the field at fault and what is wrong.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !valid_name(self.id()) {
            return Err(("id", "1-64 characters of A-Z a-z 0-9 - _ .".to_string()));
        }
        match self {
            VisitorEvent::Purchase {
                value, currency, ..
            } => check_money(*value, currency),
            VisitorEvent::Lead {
                value: Some(v),
                currency: Some(c),
                ..
            } => check_money(*v, c),
            VisitorEvent::Lead {
                value: None,
                currency: None,
                ..
            } => Ok(()),
            VisitorEvent::Lead { .. } => Err(("value", "value and currency go together".into())),
            VisitorEvent::Attribute { name, value, .. } => {
                if !valid_name(name) {
                    return Err(("name", "1-64 characters of A-Z a-z 0-9 - _ .".into()));
                }
                if value.chars().count() > 256 || value.chars().any(char::is_control) {
                    return Err((
                        "value",
                        "at most 256 characters, no control characters".into(),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// A visitor event as the call keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedEvent {
    /// The event.
    #[serde(flatten)]
    pub event: VisitorEvent,
    /// When it was reported, ms.
    pub at_ms: u64,
}

/// The visit as a click-to-call page sees it, copied when the visitor clicks (R-C2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallVisit {
    /// Visitor id.
    pub visitor_id: String,
    /// Visit start, ms.
    pub first_activity_ms: u64,
    /// Last activity, ms.
    pub last_activity_ms: u64,
    /// Recent pages, newest last.
    pub pages: Vec<String>,
    /// The latest visitor attributes.
    pub attributes: Value,
    /// Engagements the visitor clicked.
    pub accepted: BTreeSet<String>,
    /// Engagements closed by the visitor.
    pub declined: BTreeSet<String>,
    /// Impressions per engagement.
    pub impressions: BTreeMap<String, u64>,
}

/// A click-to-call call: what the brand may read and report for 6 hours (R-C2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// Account id.
    pub account: String,
    /// Visit id.
    pub visit_id: String,
    /// Engagement id.
    pub engagement_id: String,
    /// Token issue time, ms.
    pub issued_ms: u64,
    /// The visit at click time.
    pub visit: CallVisit,
    /// Statuses in the order reported.
    pub statuses: Vec<StatusReport>,
    /// First status time.
    pub first_status_ms: Option<u64>,
    /// When the brand closed the call.
    pub closed_ms: Option<u64>,
    /// Visitor events the brand reported, in order (R-C2).
    #[serde(default)]
    pub visitor_events: Vec<RecordedEvent>,
}

/// What adding visitor events did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Added {
    /// Events newly kept.
    pub applied: u32,
    /// Events whose id the call already had.
    pub duplicates: u32,
}

impl CallRecord {
    /// Until when the brand's APIs answer for this call (R-C2): see [`deadline_ms`].
    pub fn deadline_ms(&self) -> u64 {
        deadline_ms(self.issued_ms, self.first_status_ms, self.closed_ms)
    }

    /// R-C2: keeps visitor events once per id (a retried report changes nothing); `None`, and
    /// nothing kept, when the call would hold more than [`MAX_CALL_EVENTS`].
    pub fn add_events(&mut self, events: &[VisitorEvent], at_ms: u64) -> Option<Added> {
        let mut added = Added::default();
        let mut kept = self.visitor_events.clone();
        for e in events {
            if kept.iter().any(|k| k.event.id() == e.id()) {
                added.duplicates += 1;
            } else {
                kept.push(RecordedEvent {
                    event: e.clone(),
                    at_ms,
                });
                added.applied += 1;
            }
        }
        if kept.len() > MAX_CALL_EVENTS {
            return None;
        }
        self.visitor_events = kept;
        Some(added)
    }

    /// Records a status; closing statuses close the call (R-C2).
    pub fn report(&mut self, status: CallStatus, at_ms: u64) {
        self.first_status_ms.get_or_insert(at_ms);
        if status.closes() {
            self.closed_ms = Some(at_ms);
        }
        self.statuses.push(StatusReport { status, at_ms });
    }
}

impl VisitState {
    /// What a click-to-call page may read about this visit (R-C2).
    pub fn call_view(&self) -> CallVisit {
        CallVisit {
            visitor_id: self.visitor_id.clone(),
            first_activity_ms: self.first_activity_ms,
            last_activity_ms: self.last_activity_ms,
            pages: self.pages.clone(),
            attributes: self.attributes.clone(),
            accepted: self.accepted.clone(),
            declined: self.declined.clone(),
            impressions: self.impressions.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R-C2: the four closing statuses close the call; the first status starts the window.
    #[test]
    fn r_c2_closing_statuses_close_the_call() {
        let closing: Vec<&str> = CallStatus::ALL
            .iter()
            .filter(|s| s.closes())
            .map(|s| s.name())
            .collect();
        assert_eq!(closing, ["ended", "failed", "abandoned", "no_answer"]);
        let mut r = CallRecord::default();
        r.report(CallStatus::Ringing, 10);
        r.report(CallStatus::Ended, 20);
        assert_eq!((r.first_status_ms, r.closed_ms), (Some(10), Some(20)));
        for s in CallStatus::ALL {
            let text = format!("\"{}\"", s.name());
            assert_eq!(serde_json::from_str::<CallStatus>(&text).ok(), Some(s));
            assert_eq!(CallStatus::parse(s.name()), Some(s));
        }
        assert_eq!(CallStatus::parse("hung_up"), None);
    }

    fn purchase(id: &str, value: f64, currency: &str) -> VisitorEvent {
        VisitorEvent::Purchase {
            id: id.into(),
            value,
            currency: currency.into(),
        }
    }

    /// R-C2: a small documented set of visitor events, each checked, kept once per id.
    #[test]
    fn r_c2_visitor_events_are_checked_and_kept_once() {
        assert_eq!(purchase("o-1", 49.99, "GBP").check(), Ok(()));
        for (e, field) in [
            (purchase("o-1", -1.0, "GBP"), "value"),
            (purchase("o-1", 1.234, "GBP"), "value"),
            (purchase("o-1", f64::NAN, "GBP"), "value"),
            (purchase("o-1", 10.0, "gbp"), "currency"),
            (purchase("o 1", 10.0, "GBP"), "id"),
            (
                VisitorEvent::Lead {
                    id: "l-1".into(),
                    value: Some(5.0),
                    currency: None,
                },
                "value",
            ),
            (
                VisitorEvent::Attribute {
                    id: "a-1".into(),
                    name: "plan tier".into(),
                    value: "gold".into(),
                },
                "name",
            ),
        ] {
            assert_eq!(e.check().map_err(|(f, _)| f), Err(field), "{e:?}");
        }
        let mut call = CallRecord::default();
        let batch = [purchase("o-1", 10.0, "GBP"), purchase("o-2", 5.5, "EUR")];
        let first = call.add_events(&batch, 1).unwrap();
        assert_eq!((first.applied, first.duplicates), (2, 0));
        let again = call.add_events(&batch, 2).unwrap();
        assert_eq!(
            (again.applied, again.duplicates),
            (0, 2),
            "a retry changes nothing"
        );
        assert_eq!(call.visitor_events.len(), 2);
        let many: Vec<VisitorEvent> = (0..MAX_CALL_EVENTS)
            .map(|i| purchase(&format!("m-{i}"), 1.0, "GBP"))
            .collect();
        assert_eq!(
            call.add_events(&many, 3),
            None,
            "past the bound nothing is kept"
        );
        assert_eq!(call.visitor_events.len(), 2);
    }
}
