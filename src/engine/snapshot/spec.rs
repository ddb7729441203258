//! The snapshot document as published (R-P1): the wire types the compiler reads and the JSON
//! Schema is generated from.

use crate::engine::presentation::PresentationSpec;
use crate::engine::schedule::TimeFrameSpec;
use crate::engine::state::StateSwitches;
use crate::engine::zone::{Channel, Format, Side};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The snapshot format version this engine reads.
pub const SCHEMA_VERSION: u32 = 1;
/// Refresh intervals a button may use (R-D8).
pub const REFRESH_INTERVALS: [u16; 8] = [30, 60, 90, 120, 150, 180, 240, 300];
/// Refresh interval of a snapshot that enables refresh without one (R-D8).
pub const DEFAULT_REFRESH_SECONDS: u16 = 120;
/// Most campaigns one snapshot may hold.
pub const MAX_CAMPAIGNS: usize = 2_000;
/// Most engagements one snapshot may hold.
pub const MAX_ENGAGEMENTS: usize = 10_000;

/// Campaign priority tier (R-D4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, PartialOrd, Ord)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Priority {
    /// Drawn with weight 70 by default.
    High,
    /// Drawn with weight 20 by default.
    Medium,
    /// Drawn with weight 10 by default.
    Low,
}

impl Priority {
    /// The name used in JSON and explanations.
    pub fn name(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }
}

/// Publication status of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum CampaignStatus {
    /// Live (inside its time frame).
    Published,
    /// Kept, never shown.
    Unpublished,
}

/// Where an engagement lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// On the brand's pages, through the tag.
    Web,
    /// A link in an email, ad, QR code, SMS or post (R-O1).
    Offsite,
}

/// Tier weights for the priority draw (R-D4), renormalised over the tiers present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PriorityWeights {
    /// Weight of high-priority campaigns.
    pub high: u32,
    /// Weight of medium-priority campaigns.
    pub medium: u32,
    /// Weight of low-priority campaigns.
    pub low: u32,
}

impl Default for PriorityWeights {
    fn default() -> Self {
        PriorityWeights {
            high: 70,
            medium: 20,
            low: 10,
        }
    }
}

impl PriorityWeights {
    /// The weight of one tier.
    pub fn of(&self, p: Priority) -> u32 {
        match p {
            Priority::High => self.high,
            Priority::Medium => self.medium,
            Priority::Low => self.low,
        }
    }
}

/// Proactive displays allowed per visit (R-D6); `None` is unlimited. Either one `total` across
/// every proactive engagement (the seeds' setting), or separate `conversation` and `content`
/// caps: a snapshot that sets both models is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ProactiveCaps {
    /// Cap on all proactive displays of the visit together (1, 2, 3 or absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u8>,
    /// Cap for proactive conversation engagements (1, 2, 3 or absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<u8>,
    /// Cap for proactive content engagements, click-to-call included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<u8>,
}

/// What may still be shown after a proactive decline (R-D7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclinePolicy {
    /// Other conversation invites after a conversation decline (default no).
    #[serde(default)]
    pub conversation: bool,
    /// Other content after a content decline (default yes).
    #[serde(default = "yes")]
    pub content: bool,
    /// A conversation invite of another line of business after a decline (default no).
    #[serde(default)]
    pub other_line_of_business: bool,
}

impl Default for DeclinePolicy {
    fn default() -> Self {
        DeclinePolicy {
            conversation: false,
            content: true,
            other_line_of_business: false,
        }
    }
}

/// Which accepted engagement a conversion counts for when the visitor accepted several within
/// the cross-session period (R-M2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Attribution {
    /// The first one.
    First,
    /// The last one (default).
    #[default]
    Last,
}

/// Where clicks on inactive offsite engagements go (R-O4).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(tag = "target", rename_all = "camelCase", deny_unknown_fields)]
pub enum InactiveTarget {
    /// The account's default offline survey.
    #[default]
    DefaultSurvey,
    /// A custom survey page.
    Survey {
        /// https URL of the survey.
        url: String,
    },
    /// A landing page of the brand's choice.
    LandingPage {
        /// https URL of the page.
        url: String,
    },
}

fn yes() -> bool {
    true
}
fn five() -> u8 {
    5
}
pub(super) fn fourteen() -> u8 {
    14
}
fn ten() -> u8 {
    10
}
pub(super) fn thirty() -> u16 {
    30
}
fn english() -> String {
    "en-US".to_string()
}

/// Account settings as published.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountSpec {
    /// Account id; must equal the id the snapshot is published under.
    pub id: String,
    /// For people.
    #[serde(default)]
    pub name: String,
    /// Default IANA time zone of campaign time frames.
    pub time_zone: String,
    /// Account control group, any whole percentage 0–25 (default 5).
    #[serde(default = "five")]
    pub control_group_percent: u8,
    /// Priority draw weights (default 70/20/10).
    #[serde(default)]
    pub priority_weights: PriorityWeights,
    /// Proactive display caps per visit (default unlimited).
    #[serde(default)]
    pub proactive_caps: ProactiveCaps,
    /// Invite-after-decline policy.
    #[serde(default)]
    pub invite_after_decline: DeclinePolicy,
    /// Idle minutes after which a visit ends (default 30).
    #[serde(default = "thirty")]
    pub visit_timeout_minutes: u16,
    /// The default offline survey (https).
    pub default_offline_survey_url: String,
    /// Target of clicks on inactive offsite engagements.
    #[serde(default)]
    pub inactive_engagement: InactiveTarget,
    /// Days after an accepted engagement during which a later visit's conversion still counts
    /// for it (R-M2; 1–30, default 14).
    #[serde(default = "fourteen")]
    pub cross_session_days: u8,
    /// Which accepted engagement a conversion counts for (R-M2; default `last`).
    #[serde(default)]
    pub attribution: Attribution,
    /// Web origins whose pages may call the tag routes (`https://www.brand.example`, or
    /// `https://*.brand.example` for every subdomain). Absent: any origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
}

impl AccountSpec {
    /// True when a page of `origin` (the `Origin` header) may call the tag routes.
    pub fn allows_origin(&self, origin: &str) -> bool {
        let Some(list) = &self.allowed_origins else {
            return true;
        };
        list.iter()
            .any(|allowed| match allowed.split_once("://*.") {
                Some((scheme, domain)) => origin
                    .strip_prefix(scheme)
                    .and_then(|o| o.strip_prefix("://"))
                    .and_then(|host| host.strip_suffix(domain))
                    .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.') && !sub.contains('/')),
                None => allowed == origin,
            })
    }
}

/// A skill as published.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Skill {
    /// Skill id, referenced by engagements and availability pushes.
    pub id: String,
    /// For people.
    pub name: String,
    /// Expected waits longer than this make the skill busy; equal is online (R-D3).
    pub max_wait_seconds: u32,
}

/// An engagement window as published.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowSpec {
    /// Window configuration id the tag opens.
    pub id: String,
    /// Offline survey for this window; defaults to the account's.
    #[serde(default)]
    pub offline_survey_url: Option<String>,
}

/// Offsite settings as published (R-O1..R-O3).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OffsiteSpec {
    /// https page carrying the tag, which opens the conversation window.
    pub landing_url: String,
    /// Where the link is published: email, social, ad, qr, sms …
    #[serde(default)]
    pub channel_source: Option<String>,
}

/// Click-to-call settings as published (R-C1, R-C2).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClickToCallSpec {
    /// The brand's https page that places the call; it receives `ee_ctc_token`.
    pub page_url: String,
}

/// An engagement as published.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EngagementSpec {
    /// Unique within the account.
    pub id: String,
    /// Bumped by the publisher on every change.
    pub revision: u32,
    /// For people and the tag.
    pub name: String,
    /// Disabled engagements are never shown (default enabled).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Web or offsite.
    pub source: Source,
    /// Web format; required for web engagements.
    #[serde(default)]
    pub format: Option<Format>,
    /// Chat, messaging, banner or click-to-call.
    pub channel: Channel,
    /// Skill id; absent means all skills.
    #[serde(default)]
    pub skill: Option<String>,
    /// Entry point id; required for web engagements.
    #[serde(default)]
    pub entry_point: Option<String>,
    /// Left or right, for slide-out and sticky.
    #[serde(default)]
    pub side: Option<Side>,
    /// The `<div>` id, for embedded.
    #[serde(default)]
    pub embedded_div_id: Option<String>,
    /// Behavioural conditions (GrowthBook condition language).
    #[serde(default)]
    pub behavior: Option<Value>,
    /// Shown only on authenticated pages.
    #[serde(default)]
    pub authenticated: bool,
    /// Conversation language.
    #[serde(default = "english")]
    pub language: String,
    /// The conversation window.
    pub window: WindowSpec,
    /// States the engagement may show in.
    #[serde(default)]
    pub states: StateSwitches,
    /// Read busy as online.
    #[serde(default)]
    pub ignore_max_wait: bool,
    /// Button refresh (R-D8): `true` enables it at `refreshSeconds`, or at
    /// [`DEFAULT_REFRESH_SECONDS`] when no interval is given. Absent: enabled exactly when
    /// `refreshSeconds` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_enabled: Option<bool>,
    /// Button refresh interval in seconds (R-D8); absent is disabled unless `refreshEnabled`.
    #[serde(default)]
    pub refresh_seconds: Option<u16>,
    /// Offsite settings; required for offsite engagements.
    #[serde(default)]
    pub offsite: Option<OffsiteSpec>,
    /// Click-to-call settings; required for click-to-call engagements.
    #[serde(default)]
    pub click_to_call: Option<ClickToCallSpec>,
    /// Creatives, proactive timing and window mode (R-D10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentation: Option<PresentationSpec>,
    /// For the brand's agents only (R-O2, R-D10): read through the authenticated agent route,
    /// never in a public answer or URL. At most 1,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_note: Option<String>,
}

/// A campaign as published, with its engagements.
// A document with problems has its engagements read one by one, so that one bad engagement
// does not hide the problems of the others; a compiled campaign keeps this list empty (its
// engagements live in `Snapshot::engagements`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CampaignSpec {
    /// Unique within the account.
    pub id: String,
    /// For people.
    pub name: String,
    /// Published or not.
    pub status: CampaignStatus,
    /// Priority tier.
    pub priority: Priority,
    /// Campaign control group, any whole percentage 0–25 (default 10).
    #[serde(default = "ten")]
    pub control_group_percent: u8,
    /// Line of business, for invite-after-decline (R-D7).
    #[serde(default)]
    pub line_of_business: Option<String>,
    /// When the campaign runs.
    pub time_frame: TimeFrameSpec,
    /// Target audience (GrowthBook condition language).
    #[serde(default)]
    pub audience: Option<Value>,
    /// Campaign goal, for reporting.
    #[serde(default)]
    pub goal: Option<String>,
    /// The campaign's engagements.
    #[serde(default)]
    pub engagements: Vec<EngagementSpec>,
}
