//! Offsite engagements (R-O1..R-O5): eligibility decided when the link is clicked, answered
//! as a destination that a published snapshot names — never one the request chooses.

use super::agent::{reading, AgentState, Availability};
use super::schedule::Closed;
use super::snapshot::{check_https_url, CampaignStatus, InactiveTarget, Snapshot, Source};
use super::zone::Channel;
use jiff::Timestamp;
use serde_json::Value;

/// Why a click is not eligible (R-O3): the visitor goes to the window's offline survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotEligible {
    /// The campaign's time frame has not begun.
    NotBegun,
    /// Outside the campaign's hours (or a closed special occasion).
    OutsideHours,
    /// No agent available for the skill (busy counts only with ignore-max-wait).
    NoAgents,
    /// The visitor is not in the campaign's target audience.
    NotInAudience,
}

/// Why an engagement is inactive (R-O4): the visitor goes to the account's inactive target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inactive {
    /// No offsite engagement with this id in the live snapshot.
    Deleted,
    /// The engagement is disabled.
    Disabled,
    /// The campaign is unpublished.
    Unpublished,
    /// The campaign's time frame has ended.
    Expired,
}

/// The outcome of a click, as counted and as redirected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsiteOutcome {
    /// Eligible: to the landing page with the window parameters (R-O2).
    Eligible,
    /// Eligible, but the visitor is in the account's control group: to the landing page
    /// without the window parameters, so no conversation is offered (R-D5, R-O3).
    Control,
    /// Eligible, but the visitor is in the campaign's control group: the same destination as
    /// [`OffsiteOutcome::Control`], counted apart (R-D5, R-O3).
    CampaignControl,
    /// Not eligible: to the offline survey (R-O3).
    NotEligible(NotEligible),
    /// Inactive: to the account's inactive-engagement target (R-O4).
    Inactive(Inactive),
}

impl OffsiteOutcome {
    /// Stable name for counters and logs.
    pub fn code(self) -> &'static str {
        match self {
            OffsiteOutcome::Eligible => "eligible",
            OffsiteOutcome::Control => "control",
            OffsiteOutcome::CampaignControl => "campaign_control",
            OffsiteOutcome::NotEligible(NotEligible::NotBegun) => "not_begun",
            OffsiteOutcome::NotEligible(NotEligible::OutsideHours) => "outside_hours",
            OffsiteOutcome::NotEligible(NotEligible::NoAgents) => "no_agents",
            OffsiteOutcome::NotEligible(NotEligible::NotInAudience) => "not_in_audience",
            OffsiteOutcome::Inactive(Inactive::Deleted) => "inactive_deleted",
            OffsiteOutcome::Inactive(Inactive::Disabled) => "inactive_disabled",
            OffsiteOutcome::Inactive(Inactive::Unpublished) => "inactive_unpublished",
            OffsiteOutcome::Inactive(Inactive::Expired) => "inactive_expired",
        }
    }

    /// Every outcome code, for reports.
    pub const ALL: [&'static str; 11] = [
        "eligible",
        "control",
        "campaign_control",
        "not_begun",
        "outside_hours",
        "no_agents",
        "not_in_audience",
        "inactive_deleted",
        "inactive_disabled",
        "inactive_unpublished",
        "inactive_expired",
    ];
}

/// What the engagement identifies, for the landing page's tag (R-O2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowParams {
    /// Campaign id.
    pub campaign: String,
    /// Engagement id.
    pub engagement: String,
    /// Engagement revision.
    pub revision: u32,
    /// Where the link was published (email, qr, …), if set.
    pub source: Option<String>,
}

/// A click's decision: the outcome and a destination taken from the snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ClickDecision {
    /// What happened.
    pub outcome: OffsiteOutcome,
    /// Where to send the visitor; always a URL the snapshot names.
    pub destination: url::Url,
    /// Present when the destination is the landing page with the window parameters.
    pub window: Option<WindowParams>,
}

/// The account's inactive-engagement target (R-O4).
pub fn inactive_target(snap: &Snapshot) -> &str {
    let account = &snap.account.spec;
    match &account.inactive_engagement {
        InactiveTarget::DefaultSurvey => &account.default_offline_survey_url,
        InactiveTarget::Survey { url } | InactiveTarget::LandingPage { url } => url,
    }
}

/// Decides a click on `/o/{account}/{engagement_id}` at `now`. `attributes` are what can be
/// known at click time (geo, device, link query); `visitor_id` keys the control group.
/// Returns `None` only if the snapshot's own URLs do not parse, which validation prevents.
pub fn click(
    snap: &Snapshot,
    engagement_id: &str,
    visitor_id: &str,
    attributes: &Value,
    now: Timestamp,
    availability: &Availability,
) -> Option<ClickDecision> {
    let to = |outcome: OffsiteOutcome, url: &str, window: Option<WindowParams>| {
        check_https_url(url).ok().map(|destination| ClickDecision {
            outcome,
            destination,
            window,
        })
    };
    let inactive = |why| to(OffsiteOutcome::Inactive(why), inactive_target(snap), None);
    let Some(e) = snap
        .engagement(engagement_id)
        .filter(|e| e.spec.source == Source::Offsite)
    else {
        return inactive(Inactive::Deleted);
    };
    let Some(campaign) = snap.campaign_of(e) else {
        return inactive(Inactive::Deleted);
    };
    if !e.spec.enabled {
        return inactive(Inactive::Disabled);
    }
    if campaign.spec.status != CampaignStatus::Published {
        return inactive(Inactive::Unpublished);
    }
    let survey = |why| {
        to(
            OffsiteOutcome::NotEligible(why),
            &e.offline_survey_url,
            None,
        )
    };
    match campaign.time_frame.check(now) {
        Err(Closed::Ended) => return inactive(Inactive::Expired),
        Err(Closed::NotStarted { .. }) => return survey(NotEligible::NotBegun),
        Err(Closed::OutsideHours { .. } | Closed::Occasion { .. }) => {
            return survey(NotEligible::OutsideHours)
        }
        Ok(()) => {}
    }
    if !campaign.audience.eval(attributes, &snap.saved_groups) {
        return survey(NotEligible::NotInAudience);
    }
    // R-O3: chat needs an agent online (busy only with ignore-max-wait; busy has no state of
    // its own offsite). Messaging, like on the web, is offered whatever the agents' state.
    if e.spec.channel == Channel::Chat && reading(snap, e, availability).state != AgentState::Online
    {
        return survey(NotEligible::NoAgents);
    }
    let landing = e
        .spec
        .offsite
        .as_ref()
        .map_or("", |o| o.landing_url.as_str());
    // R-D5/R-O3: a control-group visitor (account, then campaign) lands without the window.
    if snap.account.control.holds(visitor_id) {
        return to(OffsiteOutcome::Control, landing, None);
    }
    if campaign.control.holds(visitor_id) {
        return to(OffsiteOutcome::CampaignControl, landing, None);
    }
    let window = WindowParams {
        campaign: campaign.spec.id.clone(),
        engagement: e.spec.id.clone(),
        revision: e.spec.revision,
        source: e
            .spec
            .offsite
            .as_ref()
            .and_then(|o| o.channel_source.clone()),
    };
    to(OffsiteOutcome::Eligible, landing, Some(window))
}

/// Link query parameters passed to the landing page: `utm_*`, at most this many.
const MAX_PASS_THROUGH: usize = 10;

/// The click's hand-off to the landing page (R-O2): the visit it starts and its context.
#[derive(Debug, Clone, Copy)]
pub struct Handoff<'a> {
    /// `ee_visit`: the visit the landing page's tag continues.
    pub visit_id: &'a str,
    /// `ee_context`: the click's context in that visit.
    pub context_id: &'a str,
}

/// R-O2: the redirect target. For the landing page: the window parameters (`ee_account`,
/// `ee_campaign`, `ee_engagement`, `ee_revision`, `ee_visit`, `ee_context`, `ee_source`) and
/// the link's `utm_*` tags are appended, keeping the landing URL's own query and fragment.
/// Other destinations are used exactly as the snapshot names them. Values are encoded by the
/// URL library, so nothing in the link can add a header or change the host.
pub fn location<'a>(
    decision: &ClickDecision,
    account: &str,
    link_query: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    handoff: Handoff<'_>,
) -> url::Url {
    let mut dest = decision.destination.clone();
    if !matches!(
        decision.outcome,
        OffsiteOutcome::Eligible | OffsiteOutcome::Control | OffsiteOutcome::CampaignControl
    ) {
        return dest;
    }
    let utm: Vec<(String, String)> = link_query
        .filter(|(k, v)| k.starts_with("utm_") && k.len() <= 40 && v.len() <= 256)
        .take(MAX_PASS_THROUGH)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if decision.window.is_none() && utm.is_empty() {
        return dest;
    }
    {
        let mut q = dest.query_pairs_mut();
        if let Some(w) = &decision.window {
            q.append_pair("ee_account", account);
            q.append_pair("ee_campaign", &w.campaign);
            q.append_pair("ee_engagement", &w.engagement);
            q.append_pair("ee_revision", &w.revision.to_string());
            q.append_pair("ee_visit", handoff.visit_id);
            q.append_pair("ee_context", handoff.context_id);
            if let Some(s) = &w.source {
                q.append_pair("ee_source", s);
            }
        }
        for (k, v) in &utm {
            q.append_pair(k, v);
        }
    }
    dest
}
