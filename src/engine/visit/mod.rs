//! Visit rules (R-D4 holding, R-D6 caps, R-D7 declines), applied by the visit's Durable Object
//! to the candidates the worker evaluated, then arbitration (R-D4) over what they leave. Pure:
//! the object stores [`VisitState`] and the contexts ([`super::events::ContextRecord`]). The
//! stateless preview is these rules on an empty visit, so there is one arbitration path.
//!
//! [`wire`] holds what crosses the hop, [`carried`] the decision made without the object.

mod carried;
mod wire;

pub use super::offer::VisitCandidate;
pub use carried::decide_carried;
pub use wire::{Chosen, Recorded, VisitAnswer, VisitPolicy, VisitRequest, VisitZone, MAX_PAGES};

use super::agent::AgentState;
use super::arbitrate::arbitrate;
use super::events::{ContextRecord, EventName};
use super::snapshot::{DeclinePolicy, ProactiveCaps};
use super::trace::{Explained, Rule, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use wire::offered;

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

impl VisitState {
    /// R-D9: applies one event for a context; `false` when (context, event) was seen before.
    /// Impressions, clicks and declines change what the visit shows next (R-D7).
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
            EventName::Start
            | EventName::OfferDisplay
            | EventName::OfferTimeout
            | EventName::OfferRemove => {}
        }
        true
    }
}
