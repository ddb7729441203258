//! What crosses the hop between the worker and the visit's object: the request with its zones
//! and candidates, the answer, and the record of a decision made without the object.

use crate::engine::agent::AgentState;
use crate::engine::events::ContextRecord;
use crate::engine::offer::VisitCandidate;
use crate::engine::snapshot::{DeclinePolicy, PriorityWeights, ProactiveCaps};
use crate::engine::trace::{ControlGroups, Explained};
use crate::engine::visitor::Visitor;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeSet;

/// One requested zone and its candidates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitZone<'a> {
    /// Zone id.
    pub zone: Cow<'a, str>,
    /// Candidates, in the snapshot's stable order.
    pub candidates: Vec<VisitCandidate<'a>>,
}

/// The account settings visit rules need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitPolicy {
    /// Proactive caps per visit.
    pub caps: ProactiveCaps,
    /// Invite-after-decline policy.
    pub decline: DeclinePolicy,
    /// Priority draw weights.
    pub weights: PriorityWeights,
    /// Idle minutes after which the visit ends.
    pub timeout_minutes: u16,
}

/// What the worker asks the visit object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitRequest<'a> {
    /// Account id.
    pub account: Cow<'a, str>,
    /// Visitor id.
    pub visitor_id: Cow<'a, str>,
    /// Visit id.
    pub visit_id: Cow<'a, str>,
    /// The page view: a new value means the visitor navigated.
    pub page_id: Cow<'a, str>,
    /// Request time, ms since the epoch.
    pub now_ms: u64,
    /// The request's day in the account's time zone (R-M1: a visit counts on its first day).
    #[serde(default)]
    pub day: String,
    /// The page URL, kept in the visit's recent pages (for click-to-call, R-C2).
    #[serde(default)]
    pub page_url: String,
    /// The visitor's condition attributes, the latest kept for click-to-call (R-C2).
    #[serde(default)]
    pub attributes: serde_json::Value,
    /// Account settings.
    pub policy: VisitPolicy,
    /// Requested zones.
    pub zones: Vec<VisitZone<'a>>,
    /// Control groups holding the visitor: an account-control visitor is shown nothing, and
    /// is asked about only to be counted (R-D5, R-M1, R-M3).
    #[serde(default)]
    pub control: ControlGroups<'a>,
    /// Answer with every candidate's verdict (R-P3).
    #[serde(default)]
    pub explain: bool,
}

impl VisitRequest<'_> {
    /// Adds the page URL and attributes the visit keeps for click-to-call (R-C2).
    pub fn keep_page(mut self, visitor: &Visitor) -> Self {
        self.page_url.clone_from(&visitor.page.url);
        self.attributes.clone_from(&visitor.attributes);
        self
    }

    /// The request without the candidates that a visit told of a decision after the
    /// answer does not read: it keeps each engagement `shown` (in its zone, and its first
    /// candidate anywhere, where [`crate::measure::funnel::Tally::decided`] looks it up), the
    /// first candidate of all (the visit was a prospect, R-M1) and the first to name each line
    /// of business and each entry point (R-M1's prospects by dimension). What the visit then
    /// records ([`VisitState::record`]) and counts is what the whole request would have given;
    /// a large account's request shrinks from hundreds of candidates to a few.
    pub fn trimmed(mut self, shown: &[Chosen]) -> Self {
        let mut first = true;
        let (mut found, mut lobs, mut eps) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for zone in &mut self.zones {
            let name = zone.zone.as_ref();
            zone.candidates.retain(|c| {
                let id = c.engagement_id.as_ref();
                let is_shown = |z: Option<&str>| {
                    shown
                        .iter()
                        .any(|s| s.engagement_id == id && z.is_none_or(|z| s.zone == z))
                };
                let keep = [
                    std::mem::take(&mut first),
                    is_shown(Some(name)),
                    is_shown(None) && first_time(&mut found, Some(id)),
                    first_time(&mut lobs, c.line_of_business.as_deref()),
                    first_time(&mut eps, c.entry_point.as_deref()),
                ];
                keep.contains(&true)
            });
        }
        self
    }
}

/// True the first time `value` is seen (a value of `None` never is).
fn first_time(seen: &mut BTreeSet<String>, value: Option<&str>) -> bool {
    value.is_some_and(|v| !seen.contains(v) && seen.insert(v.to_string()))
}

/// Recent pages kept per visit.
pub const MAX_PAGES: usize = 20;

/// One engagement the visit shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chosen {
    /// Zone id.
    pub zone: String,
    /// Engagement id.
    pub engagement_id: String,
    /// State.
    pub state: AgentState,
    /// Context id (the held one when `held`).
    pub context_id: String,
    /// Kept from earlier on this page.
    pub held: bool,
}

/// The visit object's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitAnswer {
    /// What to show.
    pub chosen: Vec<Chosen>,
    /// Verdicts of the visit rules and arbitration (R-P3).
    pub verdicts: Vec<Explained>,
    /// The page view's context id (R-D9).
    pub page_context_id: String,
    /// True when the previous visit had timed out and this one started fresh.
    pub fresh: bool,
}

impl VisitAnswer {
    /// R-D9: the contexts this answer issued, for the visit's object to store: each engagement
    /// shown that its zone did not hold already, as `req` offered it. Built only where they are
    /// stored, so that a decision made without the object does not build them.
    pub fn new_contexts(&self, req: &VisitRequest<'_>) -> Vec<(String, ContextRecord)> {
        self.chosen
            .iter()
            .filter(|shown| !shown.held)
            .filter_map(|shown| {
                let c = offered(req, &shown.zone, &shown.engagement_id)?;
                let record = ContextRecord {
                    engagement_id: c.engagement_id.to_string(),
                    campaign_id: c.campaign_id.to_string(),
                    revision: c.revision,
                    page_context_id: self.page_context_id.clone(),
                    issued_ms: req.now_ms,
                    zone: shown.zone.clone(),
                    proactive: c.proactive,
                    conversation: c.conversation,
                    line_of_business: c.line_of_business.as_deref().map(str::to_string),
                    entry_point: c.entry_point.as_deref().map(str::to_string),
                    events: BTreeSet::new(),
                };
                Some((shown.context_id.clone(), record))
            })
            .collect()
    }
}

/// The candidate `req` offered for engagement `id` in `zone`.
pub(super) fn offered<'r, 'a>(
    req: &'r VisitRequest<'a>,
    zone: &str,
    id: &str,
) -> Option<&'r VisitCandidate<'a>> {
    req.zones
        .iter()
        .filter(|z| z.zone == zone)
        .flat_map(|z| z.candidates.iter())
        .find(|c| c.engagement_id == id)
}

/// A decision the worker made without the visit's object, for the object to record after the
/// answer ([`VisitState::record`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded<'a> {
    /// The request as the object would have been asked it.
    pub request: VisitRequest<'a>,
    /// The page view's context id the answer gave.
    pub page_context_id: String,
    /// What the answer showed, with the contexts it issued.
    pub shown: Vec<Chosen>,
}

impl<'a> Recorded<'a> {
    /// The record of `answer`, decided without the object for `request`, with only the
    /// candidates the visit reads ([`VisitRequest::trimmed`]).
    pub fn of(request: VisitRequest<'a>, answer: &VisitAnswer) -> Self {
        Recorded {
            page_context_id: answer.page_context_id.clone(),
            shown: answer.chosen.clone(),
            request: request.trimmed(&answer.chosen),
        }
    }
}
