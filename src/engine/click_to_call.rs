//! Click-to-call (R-C1, R-C2): what the brand may read about a call and report back. A
//! click-to-call engagement is a content engagement for every decision rule (R-C1); the call
//! record is kept by its own object so that it outlives the visit.

use super::money::check_money;
pub use super::money::{FieldProblem, MAX_VALUE};
use super::snapshot::{valid_id, ID_RULE};
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

/// The kinds of visitor event a brand may report (R-C2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VisitorEventKind {
    /// A purchase: `value` (≥ 0, at most 2 decimals) in `currency` (ISO 4217, e.g. `GBP`).
    Purchase,
    /// A lead, optionally with a `value` and its `currency` (both or neither).
    Lead,
    /// A custom engagement attribute: `name` (an id) and a text `value` of at most 256.
    Attribute,
}

impl VisitorEventKind {
    /// The kind the brand names `name`, if any.
    pub fn parse(name: &str) -> Option<VisitorEventKind> {
        [
            VisitorEventKind::Purchase,
            VisitorEventKind::Lead,
            VisitorEventKind::Attribute,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// The name as the brand sends it.
    pub fn name(self) -> &'static str {
        match self {
            VisitorEventKind::Purchase => "purchase",
            VisitorEventKind::Lead => "lead",
            VisitorEventKind::Attribute => "attribute",
        }
    }
}

/// A visitor event the brand reports for a call (R-C2): what the visitor did because of it.
/// Each carries the brand's own `id`, so a retried report is applied once. Measurement counts
/// purchases and leads as conversions of the click-to-call engagement (R-M2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitorEvent {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: VisitorEventKind,
    /// The brand's id of the event.
    pub id: String,
    /// Purchase or lead: the amount (a number); attribute: the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Purchase or lead: ISO 4217 code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Attribute: its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When the call received it, ms (set by the call, never by the brand).
    #[serde(default)]
    pub at_ms: u64,
}

fn string(v: Option<Value>, field: &'static str) -> Result<Option<String>, FieldProblem> {
    match v {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err((field, "must be a string".into())),
    }
}

impl VisitorEvent {
    /// R-C2: reads and checks one event as the brand sends it (`type`, `id`, and `value`,
    /// `currency` or `name` as its kind needs), naming the field at fault.
    pub fn from_json(v: Value) -> Result<VisitorEvent, FieldProblem> {
        let Value::Object(mut m) = v else {
            return Err(("", "must be an object".into()));
        };
        let kind = string(m.remove("type"), "type")?
            .and_then(|t| VisitorEventKind::parse(&t))
            .ok_or(("type", "one of purchase, lead, attribute".to_string()))?;
        let id = string(m.remove("id"), "id")?.unwrap_or_default();
        if !valid_id(&id) {
            return Err(("id", ID_RULE.into()));
        }
        let value = m.remove("value");
        let currency = string(m.remove("currency"), "currency")?;
        let name = string(m.remove("name"), "name")?;
        if let Some(field) = m.keys().next() {
            let field: String = field.chars().take(40).collect();
            return Err(("", format!("unknown field \"{field}\"")));
        }
        use VisitorEventKind::*;
        match (kind, &value, &currency, &name) {
            (Purchase | Lead, _, _, Some(_)) => return Err(("name", "only for attributes".into())),
            (Purchase | Lead, Some(v), Some(c), None) => {
                check_money(v, c)?;
            }
            (Lead, None, None, None) => {}
            (Purchase | Lead, _, _, None) => {
                return Err(("value", "a value and its currency go together".into()))
            }
            (Attribute, _, Some(_), _) => return Err(("currency", "not for attributes".into())),
            (Attribute, _, None, None) => return Err(("name", "required".into())),
            (Attribute, text, None, Some(n)) => {
                if !valid_id(n) {
                    return Err(("name", ID_RULE.into()));
                }
                let ok = text
                    .as_ref()
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.chars().count() <= 256 && !t.chars().any(char::is_control));
                if !ok {
                    return Err(("value", "a string of at most 256 characters".into()));
                }
            }
        }
        Ok(VisitorEvent {
            kind,
            id,
            value,
            currency,
            name,
            at_ms: 0,
        })
    }
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
    pub visitor_events: Vec<VisitorEvent>,
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
            if kept.iter().any(|k| k.id == e.id) {
                added.duplicates += 1;
            } else {
                kept.push(VisitorEvent { at_ms, ..e.clone() });
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

    fn purchase(id: &str, value: f64) -> VisitorEvent {
        VisitorEvent::from_json(serde_json::json!(
            {"type": "purchase", "id": id, "value": value, "currency": "GBP"}
        ))
        .unwrap()
    }

    /// R-C2: a small documented set of visitor events, each checked, kept once per id.
    #[test]
    fn r_c2_visitor_events_are_checked_and_kept_once() {
        use serde_json::json;
        for ok in [
            json!({"type": "purchase", "id": "o-1", "value": 49.99, "currency": "GBP"}),
            json!({"type": "lead", "id": "l-1"}),
            json!({"type": "lead", "id": "l-2", "value": 5, "currency": "EUR"}),
            json!({"type": "attribute", "id": "a-1", "name": "plan", "value": "gold"}),
        ] {
            assert!(VisitorEvent::from_json(ok.clone()).is_ok(), "{ok}");
        }
        for (bad, field) in [
            (
                json!({"type": "purchase", "id": "o-1", "value": -1, "currency": "GBP"}),
                "value",
            ),
            (
                json!({"type": "purchase", "id": "o-1", "value": 1.234, "currency": "GBP"}),
                "value",
            ),
            (
                json!({"type": "purchase", "id": "o-1", "value": "10", "currency": "GBP"}),
                "value",
            ),
            (
                json!({"type": "purchase", "id": "o-1", "value": 10, "currency": "gbp"}),
                "currency",
            ),
            (
                json!({"type": "purchase", "id": "o 1", "value": 10, "currency": "GBP"}),
                "id",
            ),
            (json!({"type": "purchase", "id": "o-1"}), "value"),
            (json!({"type": "lead", "id": "l-1", "value": 5}), "value"),
            (
                json!({"type": "attribute", "id": "a-1", "name": "plan tier", "value": "x"}),
                "name",
            ),
            (
                json!({"type": "attribute", "id": "a-1", "name": "plan", "value": 3}),
                "value",
            ),
            (json!({"type": "refund", "id": "r-1"}), "type"),
            (json!({"type": "lead", "id": "l-1", "atMs": 5}), ""),
            (json!("lead"), ""),
        ] {
            assert_eq!(
                VisitorEvent::from_json(bad.clone()).map_err(|(f, _)| f),
                Err(field),
                "{bad}"
            );
        }
        let mut call = CallRecord::default();
        let batch = [purchase("o-1", 10.0), purchase("o-2", 5.5)];
        let first = call.add_events(&batch, 1).unwrap();
        assert_eq!((first.applied, first.duplicates), (2, 0));
        let again = call.add_events(&batch, 2).unwrap();
        assert_eq!(
            (again.applied, again.duplicates),
            (0, 2),
            "a retry changes nothing"
        );
        assert_eq!(call.visitor_events.len(), 2);
        assert_eq!(call.visitor_events[0].at_ms, 1);
        let many: Vec<VisitorEvent> = (0..MAX_CALL_EVENTS)
            .map(|i| purchase(&format!("m-{i}"), 1.0))
            .collect();
        assert_eq!(
            call.add_events(&many, 3),
            None,
            "past the bound nothing is kept"
        );
        assert_eq!(call.visitor_events.len(), 2);
    }
}
