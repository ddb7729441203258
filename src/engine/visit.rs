//! Visit rules, applied by the visit's Durable Object to the candidates the worker evaluated:
//! zone holding and sticky answers (R-D4), proactive caps (R-D6), declines (R-D7) and
//! lifecycle events (R-D9). Pure: the object stores [`VisitState`] and [`ContextRecord`]s.

use super::agent::AgentState;
use super::decide::{
    choose, explain_rest, lost_reason, shown, Class, Decision, Evaluation, Explained, Verdict,
};
use super::snapshot::{DeclinePolicy, Priority, PriorityWeights, ProactiveCaps, Snapshot};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Most contexts one visit keeps for events; past it the oldest page's are no longer needed.
pub const MAX_CONTEXTS: u32 = 10_000;

/// A candidate as the visit object sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitCandidate {
    /// Engagement id.
    pub engagement_id: String,
    /// Campaign id.
    pub campaign_id: String,
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
    pub line_of_business: Option<String>,
}

/// One requested zone and its candidates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitZone {
    /// Zone id.
    pub zone: String,
    /// Candidates, in the snapshot's stable order.
    pub candidates: Vec<VisitCandidate>,
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
pub struct VisitRequest {
    /// Account id.
    pub account: String,
    /// Visitor id.
    pub visitor_id: String,
    /// Visit id.
    pub visit_id: String,
    /// The page view: a new value means the visitor navigated.
    pub page_id: String,
    /// Request time, ms since the epoch.
    pub now_ms: u64,
    /// The page URL, kept in the visit's recent pages (for click-to-call, R-C2).
    #[serde(default)]
    pub page_url: String,
    /// The visitor's condition attributes, the latest kept for click-to-call (R-C2).
    #[serde(default)]
    pub attributes: serde_json::Value,
    /// Account settings.
    pub policy: VisitPolicy,
    /// Requested zones.
    pub zones: Vec<VisitZone>,
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
    /// Events applied, per event name (R-D9).
    pub events: BTreeMap<String, u64>,
    /// Current page view.
    pub page_id: String,
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

/// One reported call status (R-C2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallStatus {
    /// queued, ringing, connected, on_hold, ended, failed, abandoned, no_answer.
    pub status: String,
    /// When it was reported, ms.
    pub at_ms: u64,
}

/// The visit as a click-to-call page sees it, copied when the visitor clicks (R-C2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallVisit {
    /// Visitor id.
    pub visitor_id: String,
    /// Visit start and last activity, ms.
    pub first_activity_ms: u64,
    /// Last activity, ms.
    pub last_activity_ms: u64,
    /// Recent pages, newest last.
    pub pages: Vec<String>,
    /// The latest visitor attributes.
    pub attributes: serde_json::Value,
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
    pub statuses: Vec<CallStatus>,
    /// First status time.
    pub first_status_ms: Option<u64>,
    /// When the brand closed the call.
    pub closed_ms: Option<u64>,
}

/// Call statuses a brand may report; the last four close the call.
pub const CALL_STATUSES: [&str; 8] = [
    "queued",
    "ringing",
    "connected",
    "on_hold",
    "ended",
    "failed",
    "abandoned",
    "no_answer",
];

/// What one context id stands for, kept for events (R-D9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextRecord {
    /// Engagement id.
    pub engagement_id: String,
    /// Zone.
    pub zone: String,
    /// Proactive format.
    pub proactive: bool,
    /// Conversation rather than content.
    pub conversation: bool,
    /// Line of business.
    #[serde(default)]
    pub line_of_business: Option<String>,
    /// Events applied for this context.
    #[serde(default)]
    pub events: BTreeSet<String>,
}

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
    /// Contexts issued by this answer, for the object to store.
    #[serde(skip)]
    pub new_contexts: Vec<(String, ContextRecord)>,
    /// True when the previous visit had timed out and this one started fresh.
    pub fresh: bool,
}

/// The lpTag lifecycle events (R-D9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventName {
    /// Display flow started.
    Start,
    /// Rendered, about to display.
    OfferDisplay,
    /// Displayed.
    OfferImpression,
    /// Accepted.
    OfferClick,
    /// Display duration ran out.
    OfferTimeout,
    /// Closed by the visitor.
    OfferDeclined,
    /// Removed from the page.
    OfferRemove,
}

impl EventName {
    /// Every name, as the tag sends it.
    pub const ALL: [&'static str; 7] = [
        "START",
        "OFFER_DISPLAY",
        "OFFER_IMPRESSION",
        "OFFER_CLICK",
        "OFFER_TIMEOUT",
        "OFFER_DECLINED",
        "OFFER_REMOVE",
    ];

    /// Parses a name; `None` for anything else.
    pub fn parse(name: &str) -> Option<EventName> {
        Some(match name {
            "START" => EventName::Start,
            "OFFER_DISPLAY" => EventName::OfferDisplay,
            "OFFER_IMPRESSION" => EventName::OfferImpression,
            "OFFER_CLICK" => EventName::OfferClick,
            "OFFER_TIMEOUT" => EventName::OfferTimeout,
            "OFFER_DECLINED" => EventName::OfferDeclined,
            "OFFER_REMOVE" => EventName::OfferRemove,
            _ => return None,
        })
    }

    /// The name as the tag sends it.
    pub fn name(self) -> &'static str {
        match self {
            EventName::Start => "START",
            EventName::OfferDisplay => "OFFER_DISPLAY",
            EventName::OfferImpression => "OFFER_IMPRESSION",
            EventName::OfferClick => "OFFER_CLICK",
            EventName::OfferTimeout => "OFFER_TIMEOUT",
            EventName::OfferDeclined => "OFFER_DECLINED",
            EventName::OfferRemove => "OFFER_REMOVE",
        }
    }
}

fn excluded(c: &VisitCandidate, rule: &str, reason: String) -> Explained {
    Explained {
        campaign_id: c.campaign_id.clone(),
        engagement_id: c.engagement_id.clone(),
        verdict: Verdict::Excluded {
            rule: rule.to_string(),
            reason,
        },
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

    /// R-D6 and R-D7 for one proactive or closed candidate: `Some((rule, why))` to exclude it.
    fn visit_rule(
        &self,
        c: &VisitCandidate,
        policy: &VisitPolicy,
    ) -> Option<(&'static str, String)> {
        if self.declined.contains(&c.engagement_id) {
            return Some((
                "R-D7",
                "the visitor closed it earlier in this visit".to_string(),
            ));
        }
        if !c.proactive {
            return None;
        }
        let (kind, cap, shown) = if c.conversation {
            (
                "conversation",
                policy.caps.conversation,
                self.proactive_displays.conversation,
            )
        } else {
            (
                "content",
                policy.caps.content,
                self.proactive_displays.content,
            )
        };
        if let Some(cap) = cap.filter(|&cap| shown >= u32::from(cap)) {
            return Some((
                "R-D6",
                format!("proactive {kind} cap of {cap} per visit reached"),
            ));
        }
        let d = &self.declined_proactive;
        if c.conversation && d.conversation && !policy.decline.conversation {
            let other_lob = policy.decline.other_line_of_business
                && c.line_of_business
                    .as_ref()
                    .is_some_and(|l| !d.lines_of_business.contains(l));
            if !other_lob {
                return Some((
                    "R-D7",
                    "a proactive conversation invite was declined in this visit".to_string(),
                ));
            }
        }
        if !c.conversation && d.content && !policy.decline.content {
            return Some((
                "R-D7",
                "a proactive content engagement was declined in this visit".to_string(),
            ));
        }
        None
    }

    /// Applies the visit rules to a request and reserves proactive displays. The caller
    /// stores the state and the new contexts afterwards, in one step.
    pub fn decide(
        &mut self,
        req: &VisitRequest,
        new_id: &mut dyn FnMut() -> String,
    ) -> VisitAnswer {
        let fresh = self.expired(req.now_ms);
        if fresh {
            *self = VisitState::default();
        }
        if self.first_activity_ms == 0 {
            self.first_activity_ms = req.now_ms;
        }
        self.last_activity_ms = self.last_activity_ms.max(req.now_ms);
        self.timeout_minutes = req.policy.timeout_minutes;
        self.visitor_id.clone_from(&req.visitor_id);
        if self.page_id != req.page_id {
            self.page_id.clone_from(&req.page_id);
            self.held.clear();
            if !req.page_url.is_empty() {
                self.pages.push(req.page_url.clone());
                let excess = self.pages.len().saturating_sub(MAX_PAGES);
                self.pages.drain(..excess);
            }
        }
        if !req.attributes.is_null() {
            self.attributes.clone_from(&req.attributes);
        }
        let mut answer = VisitAnswer {
            chosen: Vec::new(),
            verdicts: Vec::new(),
            new_contexts: Vec::new(),
            fresh,
        };
        for vz in &req.zones {
            if let Some(h) = self.held.get(&vz.zone) {
                if !self.declined.contains(&h.engagement_id) {
                    answer.chosen.push(Chosen {
                        zone: vz.zone.clone(),
                        engagement_id: h.engagement_id.clone(),
                        state: h.state,
                        context_id: h.context_id.clone(),
                        held: true,
                    });
                    for c in vz
                        .candidates
                        .iter()
                        .filter(|c| c.engagement_id != h.engagement_id)
                    {
                        let reason = format!(
                            "zone is held by {} until the visitor navigates",
                            h.engagement_id
                        );
                        answer.verdicts.push(excluded(c, "R-D4", reason));
                    }
                    continue;
                }
            }
            self.held.remove(&vz.zone);
            let mut open: Vec<&VisitCandidate> = Vec::new();
            for c in &vz.candidates {
                match self.visit_rule(c, &req.policy) {
                    Some((rule, why)) => answer.verdicts.push(excluded(c, rule, why)),
                    None => open.push(c),
                }
            }
            let items: Vec<(Class, Priority)> =
                open.iter().map(|c| (c.class, c.priority)).collect();
            let Some(choice) = choose(
                &req.account,
                &req.policy.weights,
                &vz.zone,
                &req.visit_id,
                &items,
            ) else {
                continue;
            };
            let Some(winner) = open.get(choice.index).copied() else {
                continue;
            };
            for (i, c) in open.iter().enumerate() {
                let verdict = if i == choice.index {
                    Verdict::Won {
                        zone: vz.zone.clone(),
                        class: choice.class,
                        tier: choice.tier,
                        draws: choice.draws,
                    }
                } else {
                    Verdict::Lost {
                        zone: vz.zone.clone(),
                        reason: lost_reason(c.class, c.priority, &choice, &winner.engagement_id),
                    }
                };
                answer.verdicts.push(Explained {
                    campaign_id: c.campaign_id.clone(),
                    engagement_id: c.engagement_id.clone(),
                    verdict,
                });
            }
            if winner.proactive {
                let d = &mut self.proactive_displays;
                let n = if winner.conversation {
                    &mut d.conversation
                } else {
                    &mut d.content
                };
                *n = n.saturating_add(1);
            }
            let context_id = new_id();
            self.contexts_issued = self.contexts_issued.saturating_add(1);
            self.held.insert(
                vz.zone.clone(),
                Held {
                    engagement_id: winner.engagement_id.clone(),
                    state: winner.state,
                    context_id: context_id.clone(),
                },
            );
            answer.new_contexts.push((
                context_id.clone(),
                ContextRecord {
                    engagement_id: winner.engagement_id.clone(),
                    zone: vz.zone.clone(),
                    proactive: winner.proactive,
                    conversation: winner.conversation,
                    line_of_business: winner.line_of_business.clone(),
                    events: BTreeSet::new(),
                },
            ));
            answer.chosen.push(Chosen {
                zone: vz.zone.clone(),
                engagement_id: winner.engagement_id.clone(),
                state: winner.state,
                context_id,
                held: false,
            });
        }
        answer
    }

    /// R-D9: applies one event for a context; `false` when (context, event) was seen before.
    pub fn apply_event(
        &mut self,
        context_id: &str,
        record: &mut ContextRecord,
        event: EventName,
    ) -> bool {
        if !record.events.insert(event.name().to_string()) {
            return false;
        }
        *self.events.entry(event.name().to_string()).or_default() += 1;
        let id = &record.engagement_id;
        match event {
            EventName::OfferImpression => *self.impressions.entry(id.clone()).or_default() += 1,
            EventName::OfferClick => {
                self.accepted.insert(id.clone());
            }
            EventName::OfferDeclined => {
                self.declined.insert(id.clone());
                if record.proactive {
                    let d = &mut self.declined_proactive;
                    if record.conversation {
                        d.conversation = true;
                        if let Some(lob) = &record.line_of_business {
                            d.lines_of_business.insert(lob.clone());
                        }
                    } else {
                        d.content = true;
                    }
                }
                self.held.retain(|_, h| h.context_id != context_id);
            }
            _ => {}
        }
        true
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

impl CallRecord {
    /// Records a status; closing statuses close the call (R-C2).
    pub fn report(&mut self, status: &str, at_ms: u64) {
        self.first_status_ms.get_or_insert(at_ms);
        if CALL_STATUSES.iter().skip(4).any(|s| *s == status) {
            self.closed_ms = Some(at_ms);
        }
        self.statuses.push(CallStatus {
            status: status.to_string(),
            at_ms,
        });
    }
}

/// Builds the visit object's request from the worker's evaluation.
pub fn request(
    snap: &Snapshot,
    eval: &Evaluation,
    visitor: &super::visitor::Visitor,
    page_id: &str,
    now_ms: u64,
) -> VisitRequest {
    let account = &snap.account.spec;
    let zones = eval
        .zones
        .iter()
        .map(|zc| VisitZone {
            zone: zc.zone.to_string(),
            candidates: zc
                .candidates
                .iter()
                .filter_map(|c| {
                    let e = snap.engagements.get(c.index)?;
                    let campaign = snap.campaign_of(e)?;
                    Some(VisitCandidate {
                        engagement_id: e.spec.id.clone(),
                        campaign_id: campaign.spec.id.clone(),
                        priority: c.priority,
                        class: c.class,
                        state: c.state,
                        proactive: e.is_proactive(),
                        conversation: e.spec.channel.is_conversation(),
                        line_of_business: campaign.spec.line_of_business.clone(),
                    })
                })
                .collect(),
        })
        .collect();
    VisitRequest {
        account: account.id.clone(),
        visitor_id: visitor.visitor_id.clone(),
        visit_id: visitor.visit_id.clone(),
        page_id: page_id.to_string(),
        now_ms,
        page_url: visitor.page.url.clone(),
        attributes: visitor.attributes.clone(),
        policy: VisitPolicy {
            caps: account.proactive_caps,
            decline: account.invite_after_decline,
            weights: account.priority_weights,
            timeout_minutes: account.visit_timeout_minutes,
        },
        zones,
    }
}

/// The decision from the visit object's answer; engagements no longer in the snapshot are
/// dropped. `explain` merges the evaluation's and the visit's verdicts (R-P3).
pub fn decision(snap: &Snapshot, eval: Evaluation, answer: VisitAnswer, explain: bool) -> Decision {
    let engagements = answer
        .chosen
        .into_iter()
        .filter_map(|c| {
            let e = snap.engagement(&c.engagement_id)?;
            Some(shown(snap, e, &c.zone, c.state, c.context_id))
        })
        .collect();
    let mut explanation = Vec::new();
    if explain {
        explanation = eval.explanation;
        explanation.extend(answer.verdicts);
        explain_rest(snap, &mut explanation);
    }
    Decision {
        revision: snap.revision,
        control_groups: eval.control_groups,
        engagements,
        explanation,
    }
}

/// Fail-safe when the visit object cannot be reached: no proactive engagement (caps and
/// declines cannot be checked), the others arbitrated as usual.
pub fn without_visit(
    snap: &Snapshot,
    mut eval: Evaluation,
    req: &VisitRequest,
    explain: bool,
    new_id: &mut dyn FnMut() -> String,
) -> Decision {
    let mut state = VisitState::default();
    let mut stripped = req.clone();
    for z in &mut stripped.zones {
        z.candidates.retain(|c| !c.proactive);
    }
    let answer = state.decide(&stripped, new_id);
    if !explain {
        eval.explanation.clear();
    }
    decision(snap, eval, answer, explain)
}
