//! Tag-request decisions: candidates (R-D1, R-D2, R-D3), control groups (R-D5) and zone
//! arbitration (R-D4). Every engagement considered gets a [`Verdict`]; the explain mode (R-P3)
//! shows the same verdicts that decided, so the two cannot drift apart.

use super::agent::{engagement_state, skill_state, AgentState, Availability};
use super::condition::hash;
use super::snapshot::{CampaignStatus, Engagement, Priority, SkillRef, Snapshot};
use super::visitor::Visitor;
use super::zone::{Channel, Zone};
use jiff::Timestamp;
use serde::Serialize;

/// Preference class inside a zone (R-D4 step 2): lower is preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Class {
    /// A chat engagement whose agents are online.
    OnlineConversation,
    /// Content (banner, click-to-call) and messaging, shown whatever the agents' state.
    ContentOrMessaging,
    /// A chat engagement shown offline or busy.
    OfflineConversation,
}

/// What happened to one engagement in a decision (R-P3).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Verdict {
    /// Excluded by the first rule that failed.
    Excluded {
        /// The SPEC rule, e.g. `R-D2`.
        rule: &'static str,
        /// Why, in words.
        reason: String,
    },
    /// A candidate that another engagement beat in its zone.
    Lost {
        /// The zone.
        zone: String,
        /// Why it lost, e.g. the winner and the step of R-D4 that decided.
        reason: String,
    },
    /// Shown in its zone.
    Won {
        /// The zone.
        zone: String,
        /// Preference class it won in.
        class: Class,
        /// Priority tier drawn.
        tier: Priority,
        /// The tier draw in `[0, 1)` and the tie draw in `[0, 1)`, both sticky per visit.
        draws: [f64; 2],
    },
}

/// An engagement's verdict, for the explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explained {
    /// Campaign id.
    pub campaign_id: String,
    /// Engagement id.
    pub engagement_id: String,
    /// What happened.
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// Control-group membership of the visitor (R-D5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlGroups {
    /// In the account control group: no engagement at all.
    pub account: bool,
    /// Campaigns that had a candidate for this page and hold the visitor in their control group.
    pub campaigns: Vec<String>,
}

/// The skill data the tag needs to open a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillInfo {
    /// Skill id.
    pub id: String,
    /// Skill name.
    pub name: String,
}

/// One engagement to show (R-D4's field list).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shown {
    /// Zone id: `left`, `right`, `proactive`, `embedded:{div}`.
    pub zone_id: String,
    /// Campaign id.
    pub campaign_id: String,
    /// Engagement id.
    pub engagement_id: String,
    /// Engagement revision.
    pub engagement_revision: u32,
    /// Engagement name.
    pub engagement_name: String,
    /// lpTag engagementType code.
    pub engagement_type: u8,
    /// Format name.
    pub format: &'static str,
    /// Channel name.
    pub channel: &'static str,
    /// lpTag conversationType: 0 chat, 1 messaging; absent for content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_type: Option<u8>,
    /// State code: 1 online, 2 offline, 4 busy.
    pub state: u8,
    /// State name.
    pub state_name: &'static str,
    /// `campaignId_engagementId_revision`.
    pub conf_key: String,
    /// Fresh id of this display, for events (R-D9).
    pub context_id: String,
    /// Skill, when the engagement follows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill: Option<SkillInfo>,
    /// Conversation language.
    pub language: String,
    /// Window configuration id.
    pub window_id: String,
    /// Where the window sends visitors when no agent can take them.
    pub offline_survey_url: String,
    /// Button refresh interval (R-D8), when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_seconds: Option<u16>,
    /// Proactive format (counts against caps, R-D6).
    pub proactive: bool,
}

/// A decision for one tag request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Snapshot revision decided on.
    pub revision: u64,
    /// Control-group membership.
    pub control_groups: ControlGroups,
    /// At most one engagement per zone, in the order the zones were asked for.
    pub engagements: Vec<Shown>,
    /// Per-engagement verdicts; filled only when asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explanation: Vec<Explained>,
}

/// One request's inputs besides the snapshot.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
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

/// A uniform draw in `[0, 1)` for this visit, independent per `purpose` (R-D4, R-D5).
pub fn draw(account: &str, purpose: &str, unit: &str) -> f64 {
    hash(&format!("{account}|{purpose}|"), unit, 2).unwrap_or(0.0)
}

/// R-D5: is this visitor in a control group of `percent`% for `scope`?
pub fn in_control_group(account: &str, scope: &str, visitor_id: &str, percent: u8) -> bool {
    draw(account, &format!("control|{scope}"), visitor_id) < f64::from(percent) / 100.0
}

/// R-D3: the raw agent state of an engagement's skill (all skills: the best of them).
pub fn raw_state(snap: &Snapshot, e: &Engagement, availability: &Availability) -> AgentState {
    let state_of =
        |s: &super::snapshot::Skill| skill_state(availability.get(&s.id), s.max_wait_seconds);
    match e.skill {
        SkillRef::One(i) => snap.skills.get(i).map_or(AgentState::Offline, state_of),
        SkillRef::All => snap
            .skills
            .iter()
            .map(state_of)
            .min_by_key(|s| match s {
                AgentState::Online => 0,
                AgentState::Busy => 1,
                AgentState::Offline => 2,
            })
            .unwrap_or(AgentState::Offline),
    }
}

/// R-D3: the state to show an engagement in and its class, or why it cannot show.
pub fn shown_state(
    snap: &Snapshot,
    e: &Engagement,
    availability: &Availability,
) -> Result<(AgentState, Class), String> {
    match e.spec.channel {
        Channel::Banner | Channel::ClickToCall => {
            Ok((AgentState::Online, Class::ContentOrMessaging))
        }
        Channel::Messaging => Ok((raw_state(snap, e, availability), Class::ContentOrMessaging)),
        Channel::Chat => {
            let raw = raw_state(snap, e, availability);
            match engagement_state(raw, e.spec.states, e.spec.ignore_max_wait) {
                Some(AgentState::Online) => Ok((AgentState::Online, Class::OnlineConversation)),
                Some(s) => Ok((s, Class::OfflineConversation)),
                None => Err(format!(
                    "agents are {}, a state this engagement does not show in",
                    raw.name()
                )),
            }
        }
    }
}

/// Per-request memo of campaign-level checks, so each campaign is evaluated once.
struct CampaignMemo {
    checked: Vec<Option<Result<(), (&'static str, String)>>>,
}

fn campaign_check(
    snap: &Snapshot,
    ctx: &Context<'_>,
    index: usize,
    memo: &mut CampaignMemo,
    control: &mut Vec<String>,
) -> Result<(), (&'static str, String)> {
    if let Some(Some(r)) = memo.checked.get(index) {
        return r.clone();
    }
    let account = &snap.account.spec.id;
    let result = match snap.campaigns.get(index) {
        None => Err(("R-D1", "campaign missing".to_string())),
        Some(c) if c.spec.status != CampaignStatus::Published => {
            Err(("R-D1", "campaign is not published".to_string()))
        }
        Some(c) => c
            .time_frame
            .check(ctx.now)
            .map_err(|closed| ("R-D2", closed.to_string()))
            .and_then(|()| {
                if c.audience.eval(&ctx.visitor.attributes, &snap.saved_groups) {
                    Ok(())
                } else {
                    Err((
                        "R-D1",
                        "visitor is not in the campaign's target audience".to_string(),
                    ))
                }
            })
            .and_then(|()| {
                let pct = c.spec.control_group_percent;
                if in_control_group(account, &c.spec.id, &ctx.visitor.visitor_id, pct) {
                    control.push(c.spec.id.clone());
                    Err((
                        "R-D5",
                        format!("visitor is in the campaign's {pct}% control group"),
                    ))
                } else {
                    Ok(())
                }
            }),
    };
    if let Some(slot) = memo.checked.get_mut(index) {
        *slot = Some(result.clone());
    }
    result
}

/// R-D1..R-D3 for one web engagement: `Ok` with its state and class when it is a candidate.
fn candidate(
    snap: &Snapshot,
    ctx: &Context<'_>,
    e: &Engagement,
    memo: &mut CampaignMemo,
    control: &mut Vec<String>,
) -> Result<(AgentState, Class), (&'static str, String)> {
    if !e.spec.enabled {
        return Err(("R-D1", "engagement is disabled".to_string()));
    }
    let page_ok = e
        .entry_point
        .and_then(|i| snap.entry_points.get(i))
        .is_some_and(|ep| ep.matches(&ctx.visitor.page));
    if !page_ok {
        return Err((
            "R-D1",
            "page is outside the engagement's entry point".to_string(),
        ));
    }
    if e.spec.authenticated && !ctx.visitor.authenticated {
        return Err((
            "R-D1",
            "authenticated engagement on an unauthenticated page".to_string(),
        ));
    }
    campaign_check(snap, ctx, e.campaign, memo, control)?;
    if !e.behavior.eval(&ctx.visitor.attributes, &snap.saved_groups) {
        return Err(("R-D1", "visitor behaviour does not match".to_string()));
    }
    shown_state(snap, e, ctx.availability).map_err(|why| ("R-D3", why))
}

/// R-D4 steps 3-4: pick one of the best-class candidates by priority draw, then uniformly.
/// Returns the index into `best` with the tier and the two draws.
fn arbitrate(
    snap: &Snapshot,
    zone: &Zone,
    visit_id: &str,
    best: &[(usize, Priority)],
) -> Option<(usize, Priority, [f64; 2])> {
    let account = &snap.account.spec.id;
    let weights = snap.account.spec.priority_weights;
    let tiers: Vec<Priority> = [Priority::High, Priority::Medium, Priority::Low]
        .into_iter()
        .filter(|t| best.iter().any(|(_, p)| p == t))
        .collect();
    let total: u32 = tiers.iter().map(|t| weights.of(*t)).sum();
    let tier_draw = draw(account, &format!("{zone}|tier"), visit_id);
    let tier = if total == 0 {
        let i = (tier_draw * tiers.len() as f64) as usize;
        tiers.get(i).or(tiers.last()).copied()?
    } else {
        let target = tier_draw * f64::from(total);
        let mut acc = 0.0;
        let mut chosen = tiers.last().copied()?;
        for t in &tiers {
            acc += f64::from(weights.of(*t));
            if target < acc {
                chosen = *t;
                break;
            }
        }
        chosen
    };
    let in_tier: Vec<usize> = best
        .iter()
        .enumerate()
        .filter(|(_, (_, p))| *p == tier)
        .map(|(i, _)| i)
        .collect();
    let tie_draw = draw(account, &format!("{zone}|tie"), visit_id);
    let pick = (tie_draw * in_tier.len() as f64) as usize;
    let chosen = in_tier.get(pick).or(in_tier.last()).copied()?;
    Some((chosen, tier, [tier_draw, tie_draw]))
}

fn shown(
    snap: &Snapshot,
    e: &Engagement,
    zone: &Zone,
    state: AgentState,
    context_id: String,
) -> Shown {
    let campaign_id = snap.campaign_of(e).map_or("", |c| c.spec.id.as_str());
    let skill = match e.skill {
        SkillRef::One(i) if e.spec.channel.is_conversation() => {
            snap.skills.get(i).map(|s| SkillInfo {
                id: s.id.clone(),
                name: s.name.clone(),
            })
        }
        _ => None,
    };
    let format = e.spec.format;
    Shown {
        zone_id: zone.to_string(),
        campaign_id: campaign_id.to_string(),
        engagement_id: e.spec.id.clone(),
        engagement_revision: e.spec.revision,
        engagement_name: e.spec.name.clone(),
        engagement_type: format.map_or(0, |f| f.code()),
        format: format.map_or("", |f| f.name()),
        channel: e.spec.channel.name(),
        conversation_type: match e.spec.channel {
            Channel::Chat => Some(0),
            Channel::Messaging => Some(1),
            _ => None,
        },
        state: state.code(),
        state_name: state.name(),
        conf_key: e.conf_key(campaign_id),
        context_id,
        skill,
        language: e.spec.language.clone(),
        window_id: e.spec.window.id.clone(),
        offline_survey_url: e.offline_survey_url.clone(),
        refresh_seconds: e.spec.refresh_seconds,
        proactive: e.is_proactive(),
    }
}

/// Decides what a tag request shows: at most one engagement per requested zone.
/// `new_context_id` makes a fresh id for each shown engagement.
pub fn decide(
    snap: &Snapshot,
    ctx: &Context<'_>,
    new_context_id: &mut dyn FnMut() -> String,
) -> Decision {
    let account = &snap.account.spec;
    let mut decision = Decision {
        revision: snap.revision,
        control_groups: ControlGroups::default(),
        engagements: Vec::new(),
        explanation: Vec::new(),
    };
    let explain = |e: &Engagement, verdict: Verdict, out: &mut Vec<Explained>| {
        if ctx.explain {
            out.push(Explained {
                campaign_id: snap
                    .campaign_of(e)
                    .map_or(String::new(), |c| c.spec.id.clone()),
                engagement_id: e.spec.id.clone(),
                verdict,
            });
        }
    };
    if in_control_group(
        &account.id,
        "account",
        &ctx.visitor.visitor_id,
        account.control_group_percent,
    ) {
        decision.control_groups.account = true;
        for e in &snap.engagements {
            let reason = format!(
                "visitor is in the account's {}% control group",
                account.control_group_percent
            );
            explain(
                e,
                Verdict::Excluded {
                    rule: "R-D5",
                    reason,
                },
                &mut decision.explanation,
            );
        }
        return decision;
    }
    let mut memo = CampaignMemo {
        checked: vec![None; snap.campaigns.len()],
    };
    let mut control = Vec::new();
    let mut seen_zones: Vec<&Zone> = Vec::new();
    for zone in ctx.zones {
        if seen_zones.contains(&zone) {
            continue;
        }
        seen_zones.push(zone);
        let mut candidates: Vec<(usize, AgentState, Class, Priority)> = Vec::new();
        for &i in snap.in_zone(zone) {
            let Some(e) = snap.engagements.get(i) else {
                continue;
            };
            match candidate(snap, ctx, e, &mut memo, &mut control) {
                Ok((state, class)) => {
                    let prio = snap
                        .campaign_of(e)
                        .map_or(Priority::Low, |c| c.spec.priority);
                    candidates.push((i, state, class, prio));
                }
                Err((rule, reason)) => explain(
                    e,
                    Verdict::Excluded { rule, reason },
                    &mut decision.explanation,
                ),
            }
        }
        let Some(best_class) = candidates.iter().map(|c| c.2).min() else {
            continue;
        };
        let best: Vec<(usize, Priority)> = candidates
            .iter()
            .filter(|c| c.2 == best_class)
            .map(|c| (c.0, c.3))
            .collect();
        let Some((pick, tier, draws)) = arbitrate(snap, zone, &ctx.visitor.visit_id, &best) else {
            continue;
        };
        let winner = best.get(pick).map(|b| b.0);
        for &(i, state, class, prio) in &candidates {
            let Some(e) = snap.engagements.get(i) else {
                continue;
            };
            if Some(i) == winner {
                decision
                    .engagements
                    .push(shown(snap, e, zone, state, new_context_id()));
                explain(
                    e,
                    Verdict::Won {
                        zone: zone.to_string(),
                        class,
                        tier,
                        draws,
                    },
                    &mut decision.explanation,
                );
            } else {
                let winner_id = winner
                    .and_then(|w| snap.engagements.get(w))
                    .map_or("", |w| w.spec.id.as_str());
                let reason = if class != best_class {
                    format!("class {class:?} loses to {best_class:?} ({winner_id} shown)")
                } else if prio != tier {
                    format!(
                        "{} priority; the draw chose {} ({winner_id} shown)",
                        prio.name(),
                        tier.name()
                    )
                } else {
                    format!("random tie-break chose {winner_id}")
                };
                explain(
                    e,
                    Verdict::Lost {
                        zone: zone.to_string(),
                        reason,
                    },
                    &mut decision.explanation,
                );
            }
        }
    }
    if ctx.explain {
        for e in &snap.engagements {
            if decision
                .explanation
                .iter()
                .any(|x| x.engagement_id == e.spec.id)
            {
                continue;
            }
            let reason = match &e.zone {
                None => "offsite engagement: decided at click time (R-O1)".to_string(),
                Some(z) => format!("zone {z} is not on this page"),
            };
            let rule = if e.zone.is_none() { "R-D1" } else { "R-D4" };
            explain(
                e,
                Verdict::Excluded { rule, reason },
                &mut decision.explanation,
            );
        }
    }
    control.sort();
    control.dedup();
    decision.control_groups.campaigns = control;
    decision
}
