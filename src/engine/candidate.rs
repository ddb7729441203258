//! Candidates (R-D1, R-D2, R-D3, R-D5): which engagements of a requested zone may be shown to
//! this visitor on this page now. Everything here is stateless; the visit's rules and the zone
//! arbitration come after ([`super::visit`], [`super::arbitrate`]).

use super::agent::{agents_state, engagement_state, AgentState, Availability};
use super::condition::{Condition, Lookups};
use super::lookup::once;
use super::schedule::Local;
use super::snapshot::{Campaign, CampaignStatus, Engagement, Priority, SkillRef, Snapshot};
use super::trace::{explained, Class, ControlGroups, Explained, Rule, Verdict};
use super::visitor::Visitor;
use super::zone::Zone;
use jiff::Timestamp;
use std::borrow::Cow;

/// One tag request's inputs besides the snapshot.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The visitor and page.
    pub visitor: &'a Visitor,
    /// Zones present on the page.
    pub zones: &'a [Zone],
    /// The request time.
    pub now: Timestamp,
    /// Agent availability per skill.
    pub availability: &'a Availability,
    /// Collect verdicts for every engagement (R-P3).
    pub explain: bool,
}

/// Why an engagement is not a candidate. Kept as plain data on the decision path; the words
/// are written only when a decision is explained (R-P3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exclusion {
    Disabled,
    EntryPoint,
    Authenticated,
    Unpublished,
    TimeFrame,
    Audience,
    Control(u8),
    Behavior,
    State(AgentState),
}

impl Exclusion {
    fn explain(self, snap: &Snapshot, now: Timestamp, e: &Engagement) -> (Rule, String) {
        match self {
            Exclusion::Disabled => (Rule::D1, "engagement is disabled".into()),
            Exclusion::EntryPoint => (
                Rule::D1,
                "page is outside the engagement's entry point".into(),
            ),
            Exclusion::Authenticated => (
                Rule::D1,
                "authenticated engagement on an unauthenticated page".into(),
            ),
            Exclusion::Unpublished => (Rule::D1, "campaign is not published".into()),
            Exclusion::TimeFrame => {
                let why = snap
                    .campaign_of(e)
                    .and_then(|c| c.time_frame.check(now).err())
                    .map_or_else(
                        || "outside the campaign's time frame".to_string(),
                        |c| c.to_string(),
                    );
                (Rule::D2, why)
            }
            Exclusion::Audience => (
                Rule::D1,
                "visitor is not in the campaign's target audience".into(),
            ),
            Exclusion::Control(pct) => (
                Rule::D5,
                format!("visitor is in the campaign's {pct}% control group"),
            ),
            Exclusion::Behavior => (Rule::D1, "visitor behaviour does not match".into()),
            Exclusion::State(agents) => (
                Rule::D3,
                format!(
                    "agents are {}, a state this engagement does not show in",
                    agents.name()
                ),
            ),
        }
    }
}

/// Per-request memo of campaign checks, entry-point matches, time frames, agents, conditions
/// and attribute lookups, so each is worked out once per request however many engagements
/// (or campaigns) share it.
struct Memo<'v> {
    checked: Vec<Option<Result<(), Exclusion>>>,
    pages: Vec<Option<bool>>,
    /// Local time of the request per time zone ([`Snapshot::time_zones`]).
    local: Vec<Option<Local>>,
    /// Whether each distinct time frame is open ([`Campaign::time_frame_slot`]).
    time_frames: Vec<Option<bool>>,
    /// Agents' state per skill, and over all skills.
    skills: Vec<Option<AgentState>>,
    all_skills: Option<AgentState>,
    /// Result per distinct condition ([`Condition::slot`]).
    conditions: Vec<Option<bool>>,
    /// The visitor's attributes, each path conditions read looked up once.
    lookups: Lookups<'v>,
}

impl<'v> Memo<'v> {
    fn new(snap: &Snapshot, attributes: &'v serde_json::Value) -> Memo<'v> {
        Memo {
            lookups: Lookups::new(attributes, snap.path_slots),
            checked: vec![None; snap.campaigns.len()],
            pages: vec![None; snap.entry_points.len()],
            local: vec![None; snap.time_zones.len()],
            time_frames: vec![None; snap.time_frame_slots],
            skills: vec![None; snap.skills.len()],
            all_skills: None,
            conditions: vec![None; snap.condition_slots],
        }
    }

    /// Evaluates a condition for this request's visitor, each distinct one once.
    fn holds(&mut self, snap: &Snapshot, condition: &Condition) -> bool {
        let lookups = &mut self.lookups;
        once(
            condition.slot().and_then(|i| self.conditions.get_mut(i)),
            || condition.eval_in(lookups, &snap.saved_groups),
        )
    }

    /// R-D3: the agents' state of an engagement's skill, each skill looked up once.
    fn agents(
        &mut self,
        snap: &Snapshot,
        e: &Engagement,
        availability: &Availability,
    ) -> AgentState {
        let slot = match e.skill {
            SkillRef::One(i) => self.skills.get_mut(i),
            SkillRef::All => Some(&mut self.all_skills),
        };
        once(slot, || agents_state(&snap.skills, e.skill, availability))
    }

    /// R-D1: does entry point `i` match the page? Computed once per request.
    fn page_matches(&mut self, snap: &Snapshot, input: &Inputs<'_>, i: usize) -> bool {
        once(self.pages.get_mut(i), || {
            snap.entry_points
                .get(i)
                .is_some_and(|ep| ep.matches(&input.visitor.page))
        })
    }

    /// R-D2: is the campaign's time frame open? Each distinct time frame is checked once per
    /// request, in its zone's local time, itself worked out once per zone.
    fn time_frame_open(&mut self, c: &Campaign, now: Timestamp) -> bool {
        let (tf, local) = (&c.time_frame, &mut self.local);
        once(self.time_frames.get_mut(c.time_frame_slot), || {
            let local = once(local.get_mut(c.time_zone), || tf.local(now));
            tf.is_open(now, local)
        })
    }

    /// R-D1, R-D2, R-D5 for campaign `index`, once per request. Campaigns whose control
    /// group holds the visitor are added to `control`.
    fn campaign(
        &mut self,
        snap: &Snapshot,
        input: &Inputs<'_>,
        index: usize,
        control: &mut Vec<usize>,
    ) -> Result<(), Exclusion> {
        if let Some(Some(r)) = self.checked.get(index) {
            return *r;
        }
        let result = match snap.campaigns.get(index) {
            None => Err(Exclusion::Unpublished),
            Some(c) if c.spec.status != CampaignStatus::Published => Err(Exclusion::Unpublished),
            Some(c) => {
                if !self.time_frame_open(c, input.now) {
                    Err(Exclusion::TimeFrame)
                } else if !self.holds(snap, &c.audience) {
                    Err(Exclusion::Audience)
                } else if c.control.holds(&input.visitor.visitor_id) {
                    control.push(index);
                    Err(Exclusion::Control(c.control.percent))
                } else {
                    Ok(())
                }
            }
        };
        if let Some(slot) = self.checked.get_mut(index) {
            *slot = Some(result);
        }
        result
    }
}

/// A candidate for a zone: it passed R-D1..R-D3 and R-D5.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Index into [`Snapshot::engagements`].
    pub index: usize,
    /// The state it would show in.
    pub state: AgentState,
    /// Its preference class.
    pub class: Class,
    /// Its campaign's priority.
    pub priority: Priority,
    /// Its position in the snapshot's stable order ([`Snapshot::rank`]).
    pub rank: u32,
}

/// Candidates of one requested zone, in the snapshot's stable order.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneCandidates {
    /// The zone.
    pub zone: Zone,
    /// Its candidates.
    pub candidates: Vec<Candidate>,
}

/// Everything decided before the visit's rules and zone arbitration.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation<'s> {
    /// Control-group membership.
    pub control_groups: ControlGroups<'s>,
    /// Candidates per requested zone (for account-control visitors: what they would have
    /// had, kept only to count them as prospects; nothing is shown).
    pub zones: Vec<ZoneCandidates>,
    /// Verdicts of the engagements already excluded (when explaining).
    pub explanation: Vec<Explained>,
}

/// R-D1..R-D3, R-D5: the candidates of every requested zone.
pub fn evaluate<'s>(snap: &'s Snapshot, input: &Inputs<'_>) -> Evaluation<'s> {
    let account = &snap.account;
    let mut out = Evaluation {
        control_groups: ControlGroups::default(),
        zones: Vec::with_capacity(input.zones.len()),
        explanation: Vec::new(),
    };
    let held_out = account.control.holds(&input.visitor.visitor_id);
    if held_out && input.explain {
        out.control_groups.account = true;
        let reason = format!(
            "visitor is in the account's {}% control group",
            account.control.percent
        );
        out.explanation = snap
            .engagements
            .iter()
            .map(|e| {
                let verdict = Verdict::Excluded {
                    rule: Rule::D5,
                    reason: reason.clone(),
                };
                explained(snap, e, verdict)
            })
            .collect();
        return out;
    }
    let mut walk = Walk {
        memo: Memo::new(snap, &input.visitor.attributes),
        control: Vec::new(),
        explanation: Vec::new(),
    };
    for zone in input.zones {
        if out.zones.iter().any(|z| &z.zone == zone) {
            continue;
        }
        let mut candidates = Vec::new();
        if input.explain {
            for &index in snap.in_zone(zone) {
                candidates.extend(walk.consider(snap, input, index));
            }
        } else {
            // Without an explanation to write, only the engagements of entry points that
            // match the page are visited; the candidates are then put in the stable order.
            // (Sized once for them all: the entry-point matches are memoised.)
            let lists = snap.in_zone_by_entry_point(zone);
            let upper: usize = lists
                .iter()
                .filter(|(ep, _)| walk.memo.page_matches(snap, input, *ep))
                .map(|(_, list)| list.len())
                .sum();
            candidates.reserve(upper);
            for (ep, list) in lists {
                if walk.memo.page_matches(snap, input, *ep) {
                    for &index in list {
                        candidates.extend(walk.consider(snap, input, index));
                    }
                }
            }
            // Each entry point's list is in that order already: a stable sort merges the runs.
            candidates.sort_by_key(|c: &Candidate| c.rank);
        }
        out.zones.push(ZoneCandidates {
            zone: zone.clone(),
            candidates,
        });
    }
    out.explanation = walk.explanation;
    let mut control = walk.control;
    control.sort_unstable();
    control.dedup();
    let mut ids: Vec<Cow<'s, str>> = control
        .iter()
        .filter_map(|&i| {
            snap.campaigns
                .get(i)
                .map(|c| Cow::Borrowed(c.spec.id.as_str()))
        })
        .collect();
    ids.sort();
    if held_out {
        // R-D5: the account's control group holds the visitor from everything; its candidates
        // are kept only so that the visit counts it where it would have been a prospect (R-M3).
        out.control_groups.account = true;
    } else {
        out.control_groups.campaigns = ids;
    }
    out
}

/// What one request gathers while it visits engagements: the memo, the campaigns whose
/// control group holds the visitor, and (when explaining) the verdicts.
struct Walk<'v> {
    memo: Memo<'v>,
    control: Vec<usize>,
    explanation: Vec<Explained>,
}

impl Walk<'_> {
    /// R-D1..R-D3 for engagement `index` of a zone: a candidate, or (when explaining) a verdict.
    fn consider(&mut self, snap: &Snapshot, input: &Inputs<'_>, index: usize) -> Option<Candidate> {
        let e = snap.engagements.get(index)?;
        match self.gate(snap, input, e) {
            Ok((state, class)) => Some(Candidate {
                index,
                rank: snap.rank(index),
                state,
                class,
                priority: snap
                    .campaign_of(e)
                    .map_or(Priority::Low, |c| c.spec.priority),
            }),
            Err(x) => {
                if input.explain {
                    let (rule, reason) = x.explain(snap, input.now, e);
                    self.explanation
                        .push(explained(snap, e, Verdict::Excluded { rule, reason }));
                }
                None
            }
        }
    }

    /// R-D1..R-D3 for one web engagement, in the order the explanation names the first rule
    /// that failed: `Ok` with its state and class when it is a candidate.
    fn gate(
        &mut self,
        snap: &Snapshot,
        input: &Inputs<'_>,
        e: &Engagement,
    ) -> Result<(AgentState, Class), Exclusion> {
        if !e.spec.enabled {
            return Err(Exclusion::Disabled);
        }
        let page_ok = e
            .entry_point
            .is_some_and(|i| self.memo.page_matches(snap, input, i));
        if !page_ok {
            return Err(Exclusion::EntryPoint);
        }
        if e.spec.authenticated && !input.visitor.authenticated {
            return Err(Exclusion::Authenticated);
        }
        self.memo
            .campaign(snap, input, e.campaign, &mut self.control)?;
        if !self.memo.holds(snap, &e.behavior) {
            return Err(Exclusion::Behavior);
        }
        // R-D3: content shows whatever the agents' state; only conversations look it up.
        let agents = if e.spec.channel.is_conversation() {
            self.memo.agents(snap, e, input.availability)
        } else {
            AgentState::Online
        };
        let r = engagement_state(
            e.spec.channel,
            e.spec.states,
            e.spec.ignore_max_wait,
            agents,
        );
        if !r.shown {
            return Err(Exclusion::State(r.agents));
        }
        Ok((r.state, Class::of(e.spec.channel, r.state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::snapshot::compile;
    use crate::engine::visitor::{Edge, PageView};
    use serde_json::json;

    /// R-D2: campaigns with the same time frame in the same zone share one check per request;
    /// the same hours in another zone, or other hours, are checked apart. On a Monday at 11:00
    /// in London (06:00 in New York), the two London campaigns open 09:00-17:00 are candidates,
    /// and neither the New York one with those hours nor the London one open 18:00-20:00 is.
    #[test]
    fn r_d2_campaigns_share_a_time_frame_check_only_when_it_is_the_same() {
        let campaign = |id: &str, zone: &str, from: &str, to: &str| {
            json!({
                "id": id, "name": id, "status": "published", "priority": "high",
                "timeFrame": {"timeZone": zone, "start": "2026-01-01T00:00",
                    "hours": {"kind": "weekly", "days": {"mon": [{"from": from, "to": to}]}}},
                "engagements": [{"id": format!("e-{id}"), "revision": 1, "name": id, "source": "web",
                    "format": "toaster", "channel": "banner", "entryPoint": "all", "window": {"id": "w"}}]
            })
        };
        let doc = json!({
            "schemaVersion": 1,
            "account": {"id": "acme", "timeZone": "UTC",
                        "defaultOfflineSurveyUrl": "https://acme.example/survey"},
            "entryPoints": [{"id": "all"}],
            "campaigns": [
                campaign("london-a", "Europe/London", "09:00", "17:00"),
                campaign("new-york", "America/New_York", "09:00", "17:00"),
                campaign("london-late", "Europe/London", "18:00", "20:00"),
                campaign("london-b", "Europe/London", "09:00", "17:00"),
            ],
        });
        let snap = compile(&doc.to_string(), "acme", 1).unwrap();
        let slots: Vec<usize> = snap.campaigns.iter().map(|c| c.time_frame_slot).collect();
        assert_eq!(slots, [0, 1, 2, 0]);
        assert_eq!(snap.time_frame_slots, 3);

        let url = url::Url::parse("https://acme.example/").unwrap();
        let page = PageView::at(&url);
        let visitor = Visitor::new(
            "visitor",
            "visit",
            &page,
            Default::default(),
            &Edge::default(),
        );
        let input = Inputs {
            visitor: &visitor,
            zones: &[Zone::Proactive],
            now: "2026-06-01T10:00:00Z".parse().unwrap(),
            availability: &Availability::default(),
            explain: false,
        };
        let eval = evaluate(&snap, &input);
        let shown: Vec<&str> = eval
            .zones
            .iter()
            .flat_map(|z| &z.candidates)
            .filter_map(|c| snap.engagements.get(c.index).map(|e| e.spec.id.as_str()))
            .collect();
        assert_eq!(shown, ["e-london-a", "e-london-b"]);
    }
}
