//! The offsite landing hand-off (R-O2). An eligible click starts a visit and records the
//! click's context in it; the landing page's tag exchanges that context (`ee_visit`,
//! `ee_context`) for the engagement's window data, and reports its events with it, so they
//! count for the offsite engagement in that visit. The agent note is for the brand's agent
//! side only ([`AgentView`]); no public answer carries it.

use super::decision::{skill_info, SkillInfo};
use super::events::ContextRecord;
use super::presentation::WindowMode;
use super::snapshot::{Campaign, ConfKey, Engagement, Snapshot};
use super::visit::VisitState;
use super::zone::Channel;
use serde::{Deserialize, Serialize};

/// The zone recorded for an offsite click's context.
pub const OFFSITE_ZONE: &str = "offsite";

/// What an eligible click records in the visit it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LandingClick {
    /// Click time, ms.
    pub now_ms: u64,
    /// The clicking visitor (the worker's `ee_vid` cookie).
    pub visitor_id: String,
    /// The account's visit timeout: also how long the context can be exchanged.
    pub timeout_minutes: u16,
    /// The context id carried as `ee_context`.
    pub context_id: String,
    /// What the context stands for.
    pub record: ContextRecord,
}

impl LandingClick {
    /// The click of `e` (of `campaign`) at `now_ms`.
    pub fn new(
        snap: &Snapshot,
        e: &Engagement,
        campaign: &Campaign,
        visitor_id: &str,
        context_id: String,
        now_ms: u64,
    ) -> LandingClick {
        LandingClick {
            now_ms,
            visitor_id: visitor_id.to_string(),
            timeout_minutes: snap.account.spec.visit_timeout_minutes,
            context_id,
            record: ContextRecord {
                engagement_id: e.spec.id.clone(),
                campaign_id: campaign.spec.id.clone(),
                revision: e.spec.revision,
                zone: OFFSITE_ZONE.to_string(),
                proactive: false,
                conversation: e.spec.channel.is_conversation(),
                line_of_business: campaign.spec.line_of_business.clone(),
                entry_point: None,
                page_context_id: String::new(),
                issued_ms: now_ms,
                events: Default::default(),
            },
        }
    }
}

impl VisitState {
    /// Starts the visit of an offsite click: the visitor, activity and timeout. The caller
    /// stores the click's context with it.
    pub fn land(&mut self, click: &LandingClick) {
        self.active(click.now_ms);
        self.timeout_minutes = click.timeout_minutes;
        self.visitor_id.clone_from(&click.visitor_id);
        self.contexts_issued = self.contexts_issued.saturating_add(1);
    }
}

/// Why a landing page's exchange opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoWindow {
    /// No such context in that visit (never issued, or its visit has ended).
    UnknownContext,
    /// Not an offsite click's context.
    NotOffsite,
    /// Issued longer ago than the account's visit timeout.
    Expired,
    /// The engagement is no longer an offsite engagement of the live snapshot.
    EngagementGone,
}

impl ContextRecord {
    /// R-O2: whether this context can still be exchanged at `now_ms`: an offsite click's, for
    /// the account's visit timeout after the click (30 minutes by default).
    pub fn exchangeable(&self, now_ms: u64, timeout_minutes: u16) -> Result<(), NoWindow> {
        if self.zone != OFFSITE_ZONE {
            return Err(NoWindow::NotOffsite);
        }
        let until = self
            .issued_ms
            .saturating_add(u64::from(timeout_minutes) * 60_000);
        if now_ms > until {
            return Err(NoWindow::Expired);
        }
        Ok(())
    }
}

/// What the landing page's tag needs to open the engagement's window, borrowed from the
/// click's context and the live snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowData<'s> {
    /// Campaign id.
    pub campaign_id: &'s str,
    /// Engagement id.
    pub engagement_id: &'s str,
    /// The revision clicked.
    pub engagement_revision: u32,
    /// Engagement name.
    pub engagement_name: &'s str,
    /// `campaignId_engagementId_revision`.
    pub conf_key: ConfKey<'s>,
    /// Chat or messaging.
    pub channel: Channel,
    /// Window configuration id.
    pub window_id: &'s str,
    /// How the window opens.
    pub window_mode: WindowMode,
    /// The skill, when the engagement follows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill: Option<SkillInfo<'s>>,
    /// Conversation language.
    pub language: &'s str,
    /// Where the link was published (email, qr, ...), if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'s str>,
}

/// R-O2: the window data for a click context, from the live snapshot; `Err` when it opens
/// nothing.
pub fn window_data<'s>(
    snap: &'s Snapshot,
    record: &'s ContextRecord,
    now_ms: u64,
    timeout_minutes: u16,
) -> Result<WindowData<'s>, NoWindow> {
    record.exchangeable(now_ms, timeout_minutes)?;
    let e = snap
        .engagement(&record.engagement_id)
        .filter(|e| e.spec.offsite.is_some())
        .ok_or(NoWindow::EngagementGone)?;
    Ok(WindowData {
        campaign_id: &record.campaign_id,
        engagement_id: &e.spec.id,
        engagement_revision: record.revision,
        engagement_name: &e.spec.name,
        conf_key: record.conf_key(),
        channel: e.spec.channel,
        window_id: &e.spec.window.id,
        window_mode: e
            .spec
            .presentation
            .as_ref()
            .map(|p| p.window_mode)
            .unwrap_or_default(),
        skill: skill_info(snap, e),
        language: &e.spec.language,
        source: e
            .spec
            .offsite
            .as_ref()
            .and_then(|o| o.channel_source.as_deref()),
    })
}

/// What the brand's agent side reads about a context (authenticated only).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentView {
    /// Engagement id.
    pub engagement_id: String,
    /// Engagement name (live snapshot; empty when it is gone).
    pub engagement_name: String,
    /// Campaign id.
    pub campaign_id: String,
    /// The revision shown or clicked.
    pub engagement_revision: u32,
    /// `offsite`, or the web zone it was shown in.
    pub zone: String,
    /// Where the link was published, for offsite clicks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The snapshot's note for agents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_note: Option<String>,
    /// When the context was issued, ms.
    pub issued_ms: u64,
    /// Events the visitor's tag reported for it.
    pub events: Vec<String>,
}

/// The agent side's view of a context of the visit, from the live snapshot.
pub fn agent_view(snap: &Snapshot, record: &ContextRecord) -> AgentView {
    let e = snap.engagement(&record.engagement_id);
    AgentView {
        engagement_id: record.engagement_id.clone(),
        engagement_name: e.map(|e| e.spec.name.clone()).unwrap_or_default(),
        campaign_id: record.campaign_id.clone(),
        engagement_revision: record.revision,
        zone: record.zone.clone(),
        source: e
            .and_then(|e| e.spec.offsite.as_ref())
            .and_then(|o| o.channel_source.clone()),
        agent_note: e.and_then(|e| e.spec.agent_note.clone()),
        issued_ms: record.issued_ms,
        events: record.events.iter().cloned().collect(),
    }
}
