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
}

impl CallRecord {
    /// Until when the brand's APIs answer for this call (R-C2): see [`deadline_ms`].
    pub fn deadline_ms(&self) -> u64 {
        deadline_ms(self.issued_ms, self.first_status_ms, self.closed_ms)
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
}
