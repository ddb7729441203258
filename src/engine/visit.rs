//! Visit rules (R-D4 holding, R-D6 caps, R-D7 declines), applied by the visit's Durable Object
//! to the candidates the worker evaluated, then arbitration (R-D4) over what they leave. Pure:
//! the object stores [`VisitState`] and the contexts ([`super::events::ContextRecord`]). The
//! stateless preview is these rules on an empty visit, so there is one arbitration path.

use super::agent::AgentState;
use super::arbitrate::{arbitrate, Class};
use super::decision::{ControlGroups, Explained, Rule, Verdict};
use super::events::ContextRecord;
use super::snapshot::{DeclinePolicy, Priority, PriorityWeights, ProactiveCaps};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// A candidate as the visit object sees it. The ids borrow the snapshot's when the request is
/// built in the isolate (no copy per candidate on the decision path); the object reads an
/// owned one (`VisitCandidate<'static>`).
///
/// On the wire it is an array of its fields in this order (a large account's request carries
/// hundreds of them, and the field names were more than half its bytes). It is read from that
/// array or from an object with the fields' names, the form of the previous release
/// ([`object_form`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitCandidate<'a> {
    /// Engagement id.
    pub engagement_id: Cow<'a, str>,
    /// Campaign id.
    pub campaign_id: Cow<'a, str>,
    /// Engagement revision, kept with the context for events to agree with (R-D9).
    #[serde(default)]
    pub revision: u32,
    /// Campaign priority.
    pub priority: Priority,
    /// Preference class.
    pub class: Class,
    /// State it would show in.
    pub state: AgentState,
    /// Proactive format (R-D6).
    pub proactive: bool,
    /// Conversation (chat, messaging) rather than content.
    pub conversation: bool,
    /// The campaign's line of business (R-D7).
    #[serde(default)]
    pub line_of_business: Option<Cow<'a, str>>,
    /// The engagement's entry point (R-M1), if any.
    #[serde(default)]
    pub entry_point: Option<Cow<'a, str>>,
}

/// The names of [`VisitCandidate`]'s fields, in the order of its array form.
const CANDIDATE_FIELDS: [&str; 10] = [
    "engagementId",
    "campaignId",
    "revision",
    "priority",
    "class",
    "state",
    "proactive",
    "conversation",
    "lineOfBusiness",
    "entryPoint",
];

impl Serialize for VisitCandidate<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (
            &self.engagement_id,
            &self.campaign_id,
            self.revision,
            self.priority,
            self.class,
            self.state,
            self.proactive,
            self.conversation,
            &self.line_of_business,
            &self.entry_point,
        )
            .serialize(s)
    }
}

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
    pub fn keep_page(mut self, visitor: &super::visitor::Visitor) -> Self {
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

/// A request written with its candidates as arrays (`array_form`, as [`VisitRequest`]
/// serializes), rewritten with each candidate as an object of named fields: the only form a
/// visit object of the previous release reads, sent to one that does not know the array form
/// while a deploy rolls out. It works on the JSON text, so that this rare path adds no second
/// serializer of the request to the worker.
pub fn object_form(array_form: &str) -> serde_json::Result<String> {
    let mut value: serde_json::Value = serde_json::from_str(array_form)?;
    let zones = value
        .get_mut("zones")
        .and_then(serde_json::Value::as_array_mut);
    for zone in zones.into_iter().flatten() {
        let candidates = zone
            .get_mut("candidates")
            .and_then(serde_json::Value::as_array_mut);
        for c in candidates.into_iter().flatten() {
            if let serde_json::Value::Array(fields) = c.take() {
                *c = CANDIDATE_FIELDS
                    .iter()
                    .map(|name| name.to_string())
                    .zip(fields)
                    .collect();
            }
        }
    }
    serde_json::to_string(&value)
}

/// Proactive displays so far in the visit, per kind (R-D6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Displays {
    /// Proactive conversation displays.
    pub conversation: u32,
    /// Proactive content displays (click-to-call included).
    pub content: u32,
}

/// Proactive declines so far in the visit (R-D7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Declines {
    /// A proactive conversation invite was declined.
    pub conversation: bool,
    /// A proactive content engagement was declined.
    pub content: bool,
    /// Lines of business of declined proactive conversation invites.
    pub lines_of_business: BTreeSet<String>,
}

/// An engagement holding a zone on the current page (R-D4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Held {
    /// Engagement id.
    pub engagement_id: String,
    /// Its state when shown.
    pub state: AgentState,
    /// Its context id.
    pub context_id: String,
}

/// A visit's state, kept by its Durable Object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitState {
    /// Visitor id.
    pub visitor_id: String,
    /// First activity, ms.
    pub first_activity_ms: u64,
    /// Last activity, ms.
    pub last_activity_ms: u64,
    /// Idle timeout in force.
    pub timeout_minutes: u16,
    /// Proactive displays (R-D6).
    pub proactive_displays: Displays,
    /// Engagements closed by the visitor (R-D7).
    pub declined: BTreeSet<String>,
    /// Proactive declines (R-D7).
    pub declined_proactive: Declines,
    /// Engagements the visitor clicked.
    pub accepted: BTreeSet<String>,
    /// Impressions per engagement.
    pub impressions: BTreeMap<String, u64>,
    /// Events applied, per event name as the tag sends it (R-D9).
    pub events: BTreeMap<String, u64>,
    /// Current page view.
    pub page_id: String,
    /// The page context id issued for the current page view (R-D9).
    #[serde(default)]
    pub page_context_id: String,
    /// Zones held on the current page.
    pub held: BTreeMap<String, Held>,
    /// Contexts issued.
    pub contexts_issued: u32,
    /// Recent page URLs, newest last (at most [`MAX_PAGES`]).
    #[serde(default)]
    pub pages: Vec<String>,
    /// The latest visitor attributes.
    #[serde(default)]
    pub attributes: serde_json::Value,
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
fn offered<'r, 'a>(
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

fn excluded(c: &VisitCandidate<'_>, rule: Rule, reason: String) -> Explained {
    Explained {
        campaign_id: c.campaign_id.to_string(),
        engagement_id: c.engagement_id.to_string(),
        verdict: Verdict::Excluded { rule, reason },
    }
}

impl VisitState {
    /// True when the visit has been idle past its timeout at `now_ms` (R-D6: a visit ends
    /// after 30 idle minutes by default).
    pub fn expired(&self, now_ms: u64) -> bool {
        self.last_activity_ms > 0
            && now_ms.saturating_sub(self.last_activity_ms)
                > u64::from(self.timeout_minutes) * 60_000
    }

    /// R-D6: the proactive cap that keeps `c` away, if one is reached: the total across all
    /// proactive displays of the visit, or the separate cap of `c`'s kind.
    fn cap_reached(&self, c: &VisitCandidate<'_>, caps: &ProactiveCaps) -> Option<String> {
        if !c.proactive {
            return None;
        }
        let d = &self.proactive_displays;
        if let Some(cap) = caps.total {
            return (d.conversation.saturating_add(d.content) >= u32::from(cap))
                .then(|| format!("proactive cap of {cap} in total per visit reached"));
        }
        let (kind, cap, shown) = if c.conversation {
            ("conversation", caps.conversation, d.conversation)
        } else {
            ("content", caps.content, d.content)
        };
        let cap = cap.filter(|&cap| shown >= u32::from(cap))?;
        Some(format!("proactive {kind} cap of {cap} per visit reached"))
    }

    /// R-D7: why a decline earlier in the visit keeps `c` away: the visitor closed it, or a
    /// proactive decline and the account's invite-after-decline policy.
    fn declined_rule(
        &self,
        c: &VisitCandidate<'_>,
        policy: &DeclinePolicy,
    ) -> Option<&'static str> {
        if self.declined.contains(c.engagement_id.as_ref()) {
            return Some("the visitor closed it earlier in this visit");
        }
        if !c.proactive {
            return None;
        }
        let d = &self.declined_proactive;
        if c.conversation && d.conversation && !policy.conversation {
            let other_lob = policy.other_line_of_business
                && c.line_of_business
                    .as_ref()
                    .is_some_and(|l| !d.lines_of_business.contains(l.as_ref()));
            if !other_lob {
                return Some("a proactive conversation invite was declined in this visit");
            }
        }
        if !c.conversation && d.content && !policy.content {
            return Some("a proactive content engagement was declined in this visit");
        }
        None
    }

    /// The visit rules for one candidate: `Some` with the rule and why when it is kept away.
    fn visit_rule(&self, c: &VisitCandidate<'_>, policy: &VisitPolicy) -> Option<(Rule, String)> {
        if let Some(why) = self.declined_rule(c, &policy.decline) {
            return Some((Rule::D7, why.to_string()));
        }
        self.cap_reached(c, &policy.caps).map(|why| (Rule::D6, why))
    }

    /// R-D6: counts a proactive display against the visit's caps.
    fn count_display(&mut self, c: &VisitCandidate<'_>) {
        if c.proactive {
            let d = &mut self.proactive_displays;
            let n = if c.conversation {
                &mut d.conversation
            } else {
                &mut d.content
            };
            *n = n.saturating_add(1);
        }
    }

    /// Records activity at `now_ms`: the visit's first activity if it has none, and its last.
    pub fn active(&mut self, now_ms: u64) {
        if self.first_activity_ms == 0 {
            self.first_activity_ms = now_ms;
        }
        self.last_activity_ms = self.last_activity_ms.max(now_ms);
    }

    /// Starts the request: a fresh visit after the idle timeout, activity times, the page
    /// (with a new page context id when the visitor navigated); for a visit that is `kept`,
    /// also the visitor, the recent pages and the attributes that click-to-call reads (R-C2).
    fn touch(
        &mut self,
        req: &VisitRequest<'_>,
        new_id: &mut dyn FnMut() -> String,
        kept: bool,
    ) -> bool {
        let fresh = self.expired(req.now_ms);
        if fresh {
            *self = VisitState::default();
        }
        self.active(req.now_ms);
        self.timeout_minutes = req.policy.timeout_minutes;
        if kept {
            req.visitor_id.as_ref().clone_into(&mut self.visitor_id);
        }
        if self.page_id != req.page_id || self.page_context_id.is_empty() {
            req.page_id.as_ref().clone_into(&mut self.page_id);
            self.page_context_id = new_id();
            self.held.clear();
            if kept && !req.page_url.is_empty() {
                self.pages.push(req.page_url.clone());
                let excess = self.pages.len().saturating_sub(MAX_PAGES);
                self.pages.drain(..excess);
            }
        }
        if kept && !req.attributes.is_null() {
            self.attributes.clone_from(&req.attributes);
        }
        fresh
    }

    /// R-D4: the engagement holding `zone` on this page, unless the visitor closed it since.
    fn holder(&self, zone: &str) -> Option<&Held> {
        self.held
            .get(zone)
            .filter(|h| !self.declined.contains(&h.engagement_id))
    }

    /// Applies the visit rules to a request, arbitrates each zone (R-D4) and reserves
    /// proactive displays. The caller stores the state and the new contexts afterwards, in one
    /// step (the object's input gate makes that atomic).
    pub fn decide(
        &mut self,
        req: &VisitRequest<'_>,
        new_id: &mut dyn FnMut() -> String,
    ) -> VisitAnswer {
        self.decide_kept(req, new_id, true)
    }

    /// [`VisitState::decide`] for a visit that nothing keeps afterwards: the stateless preview
    /// and a decision made without the visit's object. The same answer, without what only
    /// a stored visit reads (the zones it holds, its pages, its attributes).
    pub fn decide_once(
        mut self,
        req: &VisitRequest<'_>,
        new_id: &mut dyn FnMut() -> String,
    ) -> VisitAnswer {
        self.decide_kept(req, new_id, false)
    }

    fn decide_kept(
        &mut self,
        req: &VisitRequest<'_>,
        new_id: &mut dyn FnMut() -> String,
        kept: bool,
    ) -> VisitAnswer {
        let fresh = self.touch(req, new_id, kept);
        let mut answer = VisitAnswer {
            fresh,
            page_context_id: self.page_context_id.clone(),
            chosen: Vec::with_capacity(req.zones.len()),
            ..VisitAnswer::default()
        };
        if req.control.account {
            // R-D5: the account's control group sees nothing; the visit only counts it.
            return answer;
        }
        // One list of the candidates the visit's rules leave, reused by every zone.
        let most = req.zones.iter().map(|z| z.candidates.len()).max();
        let mut open: Vec<&VisitCandidate<'_>> = Vec::with_capacity(most.unwrap_or(0));
        for vz in &req.zones {
            if let Some(h) = self.holder(&vz.zone) {
                answer.chosen.push(Chosen {
                    zone: vz.zone.to_string(),
                    engagement_id: h.engagement_id.clone(),
                    state: h.state,
                    context_id: h.context_id.clone(),
                    held: true,
                });
                if req.explain {
                    for c in vz
                        .candidates
                        .iter()
                        .filter(|c| c.engagement_id != h.engagement_id.as_str())
                    {
                        let reason = format!(
                            "zone is held by {} until the visitor navigates",
                            h.engagement_id
                        );
                        answer.verdicts.push(excluded(c, Rule::D4, reason));
                    }
                }
                continue;
            }
            self.held.remove(vz.zone.as_ref());
            open.clear();
            for c in &vz.candidates {
                match self.visit_rule(c, &req.policy) {
                    Some((rule, why)) if req.explain => {
                        answer.verdicts.push(excluded(c, rule, why));
                    }
                    Some(_) => {}
                    None => open.push(c),
                }
            }
            let verdicts = req.explain.then_some(&mut answer.verdicts);
            let Some(winner) = arbitrate(
                &req.account,
                &req.policy.weights,
                &vz.zone,
                &req.visit_id,
                &open,
                verdicts,
            ) else {
                continue;
            };
            self.issue(&vz.zone, winner, new_id(), kept, &mut answer);
        }
        answer
    }

    /// Shows `c` in `zone` with a new context: counts a proactive display (R-D6), holds the
    /// zone on this page when `hold` (R-D4), and adds it to the answer, whose
    /// [`VisitAnswer::new_contexts`] the object stores (R-D9).
    fn issue(
        &mut self,
        zone: &str,
        c: &VisitCandidate<'_>,
        context_id: String,
        hold: bool,
        answer: &mut VisitAnswer,
    ) {
        self.count_display(c);
        self.contexts_issued = self.contexts_issued.saturating_add(1);
        if hold {
            self.held.insert(
                zone.to_string(),
                Held {
                    engagement_id: c.engagement_id.to_string(),
                    state: c.state,
                    context_id: context_id.clone(),
                },
            );
        }
        answer.chosen.push(Chosen {
            zone: zone.to_string(),
            engagement_id: c.engagement_id.to_string(),
            state: c.state,
            context_id,
            held: false,
        });
    }

    /// Records in the visit a decision the worker made without it
    /// ([`decide_carried`]), sent after the answer: the page view, the zones it holds (R-D4)
    /// and the contexts it issued (R-D9), so that the tag's events find them. `None` when this
    /// page context is recorded already (the worker sends again a message whose answer it did
    /// not get). A record that arrives after a later request of the visit keeps that request's
    /// page and holding, and adds only its contexts.
    pub fn record(&mut self, rec: &Recorded<'_>) -> Option<VisitAnswer> {
        let req = &rec.request;
        let live = !self.expired(req.now_ms);
        if live && self.page_context_id == rec.page_context_id {
            return None;
        }
        let later_seen = live && req.now_ms < self.last_activity_ms;
        let fresh = if later_seen {
            self.active(req.now_ms);
            false
        } else {
            let fresh = self.touch(req, &mut || rec.page_context_id.clone(), true);
            self.page_context_id.clone_from(&rec.page_context_id);
            fresh
        };
        let mut answer = VisitAnswer {
            fresh,
            page_context_id: rec.page_context_id.clone(),
            ..VisitAnswer::default()
        };
        for shown in &rec.shown {
            if let Some(c) = offered(req, &shown.zone, &shown.engagement_id) {
                let context_id = shown.context_id.clone();
                self.issue(&shown.zone, c, context_id, !later_seen, &mut answer);
            }
        }
        Some(answer)
    }
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

/// Decides a tag request without its visit's object, when the object's state cannot
/// change the answer: the tag carried the engagements the visitor closed in this visit
/// (`declined`, R-D7) with a page view's first decision, and no requested zone has a proactive
/// candidate. Then no proactive cap (R-D6) or proactive-decline policy (R-D7) applies, the
/// closed engagements are the ones carried (they can only take engagements away), a new page
/// holds no zone yet (R-D4), and the draws are the visit's own (a hash of its id). `None` when
/// the object must be asked: a proactive candidate is in play, nothing was carried, the visitor
/// is in the account's control group, or the request wants the visit's verdicts (R-P3).
pub fn decide_carried(
    req: &VisitRequest<'_>,
    declined: Option<&BTreeSet<String>>,
    new_id: &mut dyn FnMut() -> String,
) -> Option<VisitAnswer> {
    let declined = declined?;
    let proactive = req
        .zones
        .iter()
        .flat_map(|z| z.candidates.iter())
        .any(|c| c.proactive);
    if proactive || req.explain || req.control.account {
        return None;
    }
    let visit = VisitState {
        declined: declined.clone(),
        ..VisitState::default()
    };
    Some(visit.decide_once(req, new_id))
}
