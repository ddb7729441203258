//! The decision a tag request gets (R-D4's field list) and its trace (R-P3): every engagement
//! considered gets a [`Verdict`], and explain shows the same verdicts that decided, so the two
//! cannot drift apart. Also what the visit is asked ([`visit_request`]) and the decision made
//! from its answer ([`decision`]); [`super::plan`] puts them together.

use super::agent::AgentState;
use super::candidate::Evaluation;
use super::presentation::{Creatives, Presentation, WindowMode};
use super::snapshot::{ConfKey, Engagement, SkillRef, Snapshot};
use super::trace::explained;
pub use super::trace::{ControlGroups, Explained, Rule, Verdict};
use super::visit::{VisitAnswer, VisitCandidate, VisitPolicy, VisitRequest, VisitZone};
use super::visitor::Visitor;
use super::zone::{Channel, Format};
use serde::Serialize;
use std::borrow::Cow;

/// The skill data the tag needs to open a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SkillInfo<'s> {
    /// Skill id.
    pub id: &'s str,
    /// Skill name.
    pub name: &'s str,
}

/// One engagement to show (R-D4's field list). Its texts are borrowed from the snapshot it
/// was decided on, so a decision copies none of them before it is serialized.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shown<'s> {
    /// Zone id: `left`, `right`, `proactive`, `embedded:{div}`.
    pub zone_id: String,
    /// Campaign id.
    pub campaign_id: &'s str,
    /// Engagement id.
    pub engagement_id: &'s str,
    /// Engagement revision.
    pub engagement_revision: u32,
    /// Engagement name.
    pub engagement_name: &'s str,
    /// lpTag engagementType code.
    pub engagement_type: u8,
    /// Format name.
    pub format: &'static str,
    /// Channel.
    pub channel: Channel,
    /// lpTag conversationType: 0 chat, 1 messaging; absent for content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_type: Option<u8>,
    /// State code: 1 online, 2 offline, 4 busy.
    pub state: u8,
    /// State name.
    pub state_name: &'static str,
    /// `campaignId_engagementId_revision`.
    pub conf_key: ConfKey<'s>,
    /// Fresh id of this display, for events (R-D9).
    pub context_id: String,
    /// Skill, when the engagement follows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill: Option<SkillInfo<'s>>,
    /// Conversation language.
    pub language: &'s str,
    /// Window configuration id.
    pub window_id: &'s str,
    /// Where the window sends visitors when no agent can take them.
    pub offline_survey_url: &'s str,
    /// Button refresh interval (R-D8), when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_seconds: Option<u16>,
    /// Proactive format (counts against caps, R-D6).
    pub proactive: bool,
    /// Click-to-call: the worker link the click goes through (R-C2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub click_url: Option<String>,
    /// R-D10: the taglet that renders it (`tglName`).
    pub tgl_name: &'static str,
    /// R-D10: how the conversation window opens.
    pub window_mode: WindowMode,
    /// R-D10: the creative of each state it may show in; absent when the snapshot defines
    /// none (the tag shows the engagement name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creatives: Option<std::sync::Arc<Creatives>>,
    /// R-D10, proactive formats: seconds before the invite shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_delay_seconds: Option<u16>,
    /// R-D10, proactive formats: seconds before it times out (OFFER_TIMEOUT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_duration_seconds: Option<u16>,
}

/// A decision for one tag request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision<'s> {
    /// Snapshot revision decided on.
    pub revision: u64,
    /// Control-group membership.
    pub control_groups: ControlGroups<'s>,
    /// The page view's context id, which events may carry (R-D9).
    pub page_context_id: String,
    /// At most one engagement per zone, in the order the zones were asked for.
    pub engagements: Vec<Shown<'s>>,
    /// Per-engagement verdicts; filled only when asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explanation: Vec<Explained>,
}

/// The skill a conversation engagement follows, as the tag opens the window with it.
pub fn skill_info<'s>(snap: &'s Snapshot, e: &Engagement) -> Option<SkillInfo<'s>> {
    match e.skill {
        SkillRef::One(i) if e.spec.channel.is_conversation() => {
            snap.skills.get(i).map(|s| SkillInfo {
                id: &s.id,
                name: &s.name,
            })
        }
        _ => None,
    }
}

/// The fields the tag needs for one shown engagement (R-D4).
pub fn shown<'s>(
    snap: &'s Snapshot,
    e: &'s Engagement,
    zone: String,
    state: AgentState,
    context_id: String,
) -> Shown<'s> {
    let campaign_id = snap.campaign_of(e).map_or("", |c| c.spec.id.as_str());
    let skill = skill_info(snap, e);
    let format = e.spec.format;
    let p = Presentation::of(
        e.spec.presentation.as_ref(),
        format.unwrap_or(Format::Embedded),
    );
    Shown {
        zone_id: zone,
        campaign_id,
        engagement_id: &e.spec.id,
        engagement_revision: e.spec.revision,
        engagement_name: &e.spec.name,
        engagement_type: format.map_or(0, |f| f.code()),
        format: format.map_or("", |f| f.name()),
        channel: e.spec.channel,
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
        language: &e.spec.language,
        window_id: &e.spec.window.id,
        offline_survey_url: &e.offline_survey_url,
        refresh_seconds: e.spec.refresh_seconds,
        proactive: e.is_proactive(),
        click_url: None,
        tgl_name: p.tgl_name,
        window_mode: p.window_mode,
        creatives: p.creatives,
        display_delay_seconds: p.display_delay_seconds,
        display_duration_seconds: p.display_duration_seconds,
    }
}

/// Adds a verdict for every engagement not yet explained: offsite ones, and web ones whose
/// zone is not on the page (R-P3).
pub fn explain_rest(snap: &Snapshot, explanation: &mut Vec<Explained>) {
    for e in &snap.engagements {
        if explanation.iter().any(|x| x.engagement_id == e.spec.id) {
            continue;
        }
        let (rule, reason) = match &e.zone {
            None => (
                Rule::D1,
                "offsite engagement: decided at click time (R-O1)".to_string(),
            ),
            Some(z) => (Rule::D4, format!("zone {z} is not on this page")),
        };
        explanation.push(explained(snap, e, Verdict::Excluded { rule, reason }));
    }
}

/// What the visit is asked: the evaluation's candidates with what the visit rules need. The
/// page and attributes the visit keeps for click-to-call are added by [`VisitRequest::keep_page`].
pub fn visit_request<'a>(
    snap: &'a Snapshot,
    eval: &Evaluation<'a>,
    visitor: &'a Visitor,
    page_id: &'a str,
    now_ms: u64,
    explain: bool,
) -> VisitRequest<'a> {
    let account = &snap.account.spec;
    let zones = eval
        .zones
        .iter()
        .map(|zc| {
            let mut candidates = Vec::with_capacity(zc.candidates.len());
            candidates.extend(zc.candidates.iter().filter_map(|c| {
                let e = snap.engagements.get(c.index)?;
                let campaign = snap.campaign_of(e)?;
                let entry_point = e
                    .entry_point
                    .and_then(|i| snap.entry_points.get(i))
                    .map(|ep| Cow::Borrowed(ep.id.as_str()));
                Some(VisitCandidate {
                    engagement_id: Cow::Borrowed(&e.spec.id),
                    campaign_id: Cow::Borrowed(&campaign.spec.id),
                    revision: e.spec.revision,
                    priority: c.priority,
                    class: c.class,
                    state: c.state,
                    proactive: e.is_proactive(),
                    conversation: e.spec.channel.is_conversation(),
                    line_of_business: campaign.spec.line_of_business.as_deref().map(Cow::Borrowed),
                    entry_point,
                })
            }));
            VisitZone {
                zone: zc.zone.name(),
                candidates,
            }
        })
        .collect();
    VisitRequest {
        account: Cow::Borrowed(&account.id),
        visitor_id: Cow::Borrowed(&visitor.visitor_id),
        visit_id: Cow::Borrowed(&visitor.visit_id),
        page_id: Cow::Borrowed(page_id),
        now_ms,
        day: String::new(),
        page_url: String::new(),
        attributes: serde_json::Value::Null,
        policy: VisitPolicy {
            caps: account.proactive_caps,
            decline: account.invite_after_decline,
            weights: account.priority_weights,
            timeout_minutes: account.visit_timeout_minutes,
        },
        zones,
        control: eval.control_groups.clone(),
        explain,
    }
}

/// The decision from the visit's answer; engagements no longer in the snapshot are dropped.
/// When explaining, the evaluation's and the visit's verdicts are merged (R-P3).
pub fn decision<'s>(
    snap: &'s Snapshot,
    eval: Evaluation<'s>,
    answer: VisitAnswer,
    explain: bool,
) -> Decision<'s> {
    let mut engagements = Vec::with_capacity(answer.chosen.len());
    engagements.extend(answer.chosen.into_iter().filter_map(|c| {
        let e = snap.engagement(&c.engagement_id)?;
        Some(shown(snap, e, c.zone, c.state, c.context_id))
    }));
    let mut explanation = Vec::new();
    if explain {
        explanation = eval.explanation;
        explanation.extend(answer.verdicts);
        explain_rest(snap, &mut explanation);
    }
    Decision {
        revision: snap.revision,
        control_groups: eval.control_groups,
        page_context_id: answer.page_context_id,
        engagements,
        explanation,
    }
}
