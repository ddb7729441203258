//! The published campaign snapshot (R-P1): its JSON shape, its validation — which reports every
//! problem, not the first — and its compiled, indexed form that decisions run on.

use super::agent::StateSwitches;
use super::condition::{Condition, ConditionProblem, SavedGroups};
use super::entry_point::{EntryPoint, EntryPointSpec};
use super::schedule::{TimeFrame, TimeFrameSpec};
use super::zone::{valid_div_id, Channel, Format, Side, Zone};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// The snapshot format version this engine reads.
pub const SCHEMA_VERSION: u32 = 1;
/// Refresh intervals a button may use (R-D8).
pub const REFRESH_INTERVALS: [u16; 8] = [30, 60, 90, 120, 150, 180, 240, 300];
/// Most campaigns one snapshot may hold.
pub const MAX_CAMPAIGNS: usize = 2_000;
/// Most engagements one snapshot may hold.
pub const MAX_ENGAGEMENTS: usize = 10_000;

/// One thing wrong with a snapshot, located by a JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where, e.g. `campaigns[2].engagements[0].skill`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

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

/// Proactive displays allowed per visit (R-D6); `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ProactiveCaps {
    /// Cap for proactive conversation engagements (1, 2, 3 or absent).
    #[serde(default)]
    pub conversation: Option<u8>,
    /// Cap for proactive content engagements, click-to-call included.
    #[serde(default)]
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
fn ten() -> u8 {
    10
}
fn thirty() -> u16 {
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
    /// Account control group, 0–25 in steps of 5 (default 5).
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
    /// Expected waits at or above this make the skill busy (R-D3).
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
    /// Button refresh interval in seconds (R-D8); absent is disabled.
    #[serde(default)]
    pub refresh_seconds: Option<u16>,
    /// Offsite settings; required for offsite engagements.
    #[serde(default)]
    pub offsite: Option<OffsiteSpec>,
    /// Click-to-call settings; required for click-to-call engagements.
    #[serde(default)]
    pub click_to_call: Option<ClickToCallSpec>,
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
    /// Campaign control group, 0–25 in steps of 5 (default 10).
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

/// The document `PUT /v1/admin/accounts/{account}/snapshot` accepts. Publishing checks more
/// than a schema can say (references, time zones, URLs, condition syntax) and reports every
/// problem with its path (R-P1); this schema catches shape errors first.
// The compiler reads a document straight into this type (the fast path, taken by every
// document without shape problems); the JSON Schema is generated from it (`crate::schema`).
#[derive(Debug, Deserialize)]
#[cfg_attr(
    not(target_arch = "wasm32"),
    derive(schemars::JsonSchema),
    schemars(title = "Edge engagement snapshot")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TypedDoc {
    /// Always 1.
    #[cfg_attr(not(target_arch = "wasm32"), schemars(range(min = 1, max = 1)))]
    schema_version: u32,
    /// Account settings.
    account: AccountSpec,
    /// Saved groups for `$inGroup`: name → list of values.
    #[serde(default)]
    saved_groups: Option<SavedGroups>,
    /// Skills that engagements route to.
    #[serde(default)]
    skills: Vec<Skill>,
    /// Entry points (pages and sections).
    #[serde(default)]
    entry_points: Vec<EntryPointSpec>,
    /// Campaigns with their engagements.
    #[serde(default)]
    campaigns: Vec<CampaignSpec>,
}

/// The whole published document with its parts left as text, so that each part can be read on
/// its own and every shape problem reported with its path: the path of a document the fast
/// path refused. Parts are read with the same deserializers as the fast path, so the worker
/// carries one set of them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawDoc {
    schema_version: u32,
    account: Box<RawValue>,
    #[serde(default)]
    saved_groups: Option<Box<RawValue>>,
    #[serde(default)]
    skills: Vec<Box<RawValue>>,
    #[serde(default)]
    entry_points: Vec<Box<RawValue>>,
    #[serde(default)]
    campaigns: Vec<Box<RawValue>>,
}

/// A part of the document: read, or the reason it could not be.
type Part<T> = Result<T, String>;

/// A campaign's part and its engagements' parts.
struct CampaignParts {
    spec: Part<CampaignSpec>,
    engagements: Part<Vec<Part<EngagementSpec>>>,
}

/// The document read into typed parts, by either path.
struct Parts {
    schema_version: u32,
    account: Part<AccountSpec>,
    saved_groups: Part<SavedGroups>,
    skills: Vec<Part<Skill>>,
    entry_points: Vec<Part<EntryPointSpec>>,
    campaigns: Vec<CampaignParts>,
}

impl Parts {
    fn typed(doc: TypedDoc) -> Parts {
        Parts {
            schema_version: doc.schema_version,
            account: Ok(doc.account),
            saved_groups: Ok(doc.saved_groups.unwrap_or_default()),
            skills: doc.skills.into_iter().map(Ok).collect(),
            entry_points: doc.entry_points.into_iter().map(Ok).collect(),
            campaigns: doc
                .campaigns
                .into_iter()
                .map(|mut spec| {
                    let engagements = std::mem::take(&mut spec.engagements);
                    CampaignParts {
                        spec: Ok(spec),
                        engagements: Ok(engagements.into_iter().map(Ok).collect()),
                    }
                })
                .collect(),
        }
    }

    fn raw(doc: RawDoc) -> Parts {
        fn read<T: DeserializeOwned>(raw: &RawValue) -> Part<T> {
            read_text(raw.get())
        }
        // A part's position inside its own text would mislead: the path says where it is.
        fn read_text<T: DeserializeOwned>(text: &str) -> Part<T> {
            serde_json::from_str(text).map_err(|e| {
                let message = e.to_string();
                match message.rfind(" at line ") {
                    Some(i) => message.get(..i).unwrap_or(&message).to_string(),
                    None => message,
                }
            })
        }
        let campaign = |raw: &RawValue| {
            // Engagements are taken out and read one by one; the rest is the campaign.
            let mut fields: BTreeMap<String, Box<RawValue>> = match read(raw) {
                Ok(fields) => fields,
                Err(e) => {
                    return CampaignParts {
                        spec: Err(e),
                        engagements: Ok(Vec::new()),
                    }
                }
            };
            let engagements = match fields.remove("engagements") {
                Some(list) => read::<Vec<Box<RawValue>>>(&list)
                    .map(|list| list.iter().map(|e| read(e)).collect())
                    .map_err(|_| "must be an array of engagements".to_string()),
                None => Ok(Vec::new()),
            };
            let spec = serde_json::to_string(&fields)
                .map_err(|e| e.to_string())
                .and_then(|text| read_text(&text));
            CampaignParts { spec, engagements }
        };
        Parts {
            schema_version: doc.schema_version,
            account: read(&doc.account),
            saved_groups: doc
                .saved_groups
                .map_or(Ok(SavedGroups::new()), |g| read(&g)),
            skills: doc.skills.iter().map(|s| read(s)).collect(),
            entry_points: doc.entry_points.iter().map(|e| read(e)).collect(),
            campaigns: doc.campaigns.iter().map(|c| campaign(c)).collect(),
        }
    }
}

/// Account settings, compiled.
#[derive(Debug, Clone)]
pub struct Account {
    /// The published settings.
    pub spec: AccountSpec,
}

/// Which skill a conversation engagement follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkillRef {
    /// The best state over all skills.
    All,
    /// One skill, by index into [`Snapshot::skills`].
    One(usize),
}

/// A compiled campaign.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// The published fields (engagements excluded).
    pub spec: CampaignSpec,
    /// Compiled time frame.
    pub time_frame: TimeFrame,
    /// Compiled target audience.
    pub audience: Condition,
    /// Hash state of this campaign's control-group seed (R-D5), computed once.
    pub control_seed: u32,
    /// Index of its time zone in [`Snapshot::time_zones`].
    pub zone_index: usize,
}

/// A compiled engagement.
#[derive(Debug, Clone)]
pub struct Engagement {
    /// The published fields.
    pub spec: EngagementSpec,
    /// Index into [`Snapshot::campaigns`].
    pub campaign: usize,
    /// Skill followed.
    pub skill: SkillRef,
    /// Index into [`Snapshot::entry_points`] (web only).
    pub entry_point: Option<usize>,
    /// The zone it shows in (web only).
    pub zone: Option<Zone>,
    /// Compiled behavioural conditions.
    pub behavior: Condition,
    /// Window offline survey, with the account default applied.
    pub offline_survey_url: String,
}

impl Engagement {
    /// `campaignId_engagementId_revision`, the key the tag uses.
    pub fn conf_key(&self, campaign_id: &str) -> String {
        format!("{campaign_id}_{}_{}", self.spec.id, self.spec.revision)
    }

    /// Proactive web formats count against proactive caps.
    pub fn is_proactive(&self) -> bool {
        self.spec.format.is_some_and(Format::is_proactive)
    }
}

/// A validated, compiled, indexed snapshot: parsed once per revision, then shared by requests.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Revision assigned at publish time.
    pub revision: u64,
    /// Account settings.
    pub account: Account,
    /// Saved groups for `$inGroup`.
    pub saved_groups: SavedGroups,
    /// Skills.
    pub skills: Vec<Skill>,
    /// Entry points.
    pub entry_points: Vec<EntryPoint>,
    /// Campaigns.
    pub campaigns: Vec<Campaign>,
    /// All engagements of all campaigns.
    pub engagements: Vec<Engagement>,
    /// Distinct time zones of the campaigns' time frames.
    pub time_zones: Vec<String>,
    /// Distinct audience and behaviour conditions ([`Condition::slot`]).
    pub condition_slots: usize,
    by_zone: HashMap<Zone, Vec<usize>>,
    /// Per zone, its engagements grouped by entry point, so that a decision visits only the
    /// engagements of entry points that match the page.
    by_zone_entry_point: HashMap<Zone, Vec<(usize, Vec<usize>)>>,
    /// Each engagement's position in the stable (campaign id, engagement id) order.
    rank: Vec<u32>,
    by_id: HashMap<String, usize>,
    skill_by_id: HashMap<String, usize>,
}

impl Snapshot {
    /// A snapshot with no campaigns: what an account decides on while its stored snapshot
    /// cannot be read (every decision is "no engagements"; the platform says why).
    pub fn empty(account_id: &str, revision: u64) -> Snapshot {
        Snapshot {
            revision,
            account: Account {
                spec: AccountSpec {
                    id: account_id.to_string(),
                    name: String::new(),
                    time_zone: "UTC".to_string(),
                    control_group_percent: 0,
                    priority_weights: PriorityWeights::default(),
                    proactive_caps: ProactiveCaps::default(),
                    invite_after_decline: DeclinePolicy::default(),
                    visit_timeout_minutes: thirty(),
                    default_offline_survey_url: String::new(),
                    inactive_engagement: InactiveTarget::default(),
                    allowed_origins: None,
                },
            },
            saved_groups: SavedGroups::new(),
            skills: Vec::new(),
            entry_points: Vec::new(),
            campaigns: Vec::new(),
            engagements: Vec::new(),
            time_zones: Vec::new(),
            condition_slots: 0,
            by_zone: HashMap::new(),
            by_zone_entry_point: HashMap::new(),
            rank: Vec::new(),
            by_id: HashMap::new(),
            skill_by_id: HashMap::new(),
        }
    }

    /// Web engagements that show in a zone, in a stable order (campaign id, engagement id).
    pub fn in_zone(&self, zone: &Zone) -> &[usize] {
        self.by_zone.get(zone).map_or(&[], Vec::as_slice)
    }

    /// A zone's web engagements grouped by entry point index.
    pub fn in_zone_by_entry_point(&self, zone: &Zone) -> &[(usize, Vec<usize>)] {
        self.by_zone_entry_point
            .get(zone)
            .map_or(&[], Vec::as_slice)
    }

    /// An engagement's position in the stable (campaign id, engagement id) order.
    pub fn rank(&self, index: usize) -> u32 {
        self.rank.get(index).copied().unwrap_or(u32::MAX)
    }

    /// An engagement by id.
    pub fn engagement(&self, id: &str) -> Option<&Engagement> {
        self.by_id.get(id).and_then(|&i| self.engagements.get(i))
    }

    /// A skill by id.
    pub fn skill(&self, id: &str) -> Option<&Skill> {
        self.skill_by_id.get(id).and_then(|&i| self.skills.get(i))
    }

    /// The campaign an engagement belongs to.
    pub fn campaign_of(&self, e: &Engagement) -> Option<&Campaign> {
        self.campaigns.get(e.campaign)
    }
}

/// Problems collected while compiling, with the current JSON path.
struct Checker {
    problems: Vec<Problem>,
    /// Distinct conditions seen, by their JSON text: each gets one memo slot.
    condition_slots: HashMap<String, usize>,
}

impl Checker {
    fn add(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// Adds problems of a nested compiler, given as `field: message` relative to `prefix`.
    fn nested(&mut self, prefix: &str, problems: Vec<String>) {
        for p in problems {
            let (field, message) = p.split_once(": ").unwrap_or(("", p.as_str()));
            self.add(&format!("{prefix}.{field}"), message);
        }
    }

    /// A part that was read, or its problem recorded at `path`.
    fn part<T>(&mut self, path: &str, part: Part<T>) -> Option<T> {
        part.map_err(|e| self.add(path, e)).ok()
    }

    fn id(&mut self, path: &str, id: &str, seen: &mut HashSet<String>) {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !ok {
            self.add(path, "ids are 1-64 characters of A-Z a-z 0-9 - _ .");
        }
        if !seen.insert(id.to_string()) {
            self.add(path, format!("duplicate id \"{id}\""));
        }
    }

    fn percent(&mut self, path: &str, p: u8) {
        if p > 25 || !p.is_multiple_of(5) {
            self.add(path, "must be 0, 5, 10, 15, 20 or 25");
        }
    }

    fn url(&mut self, path: &str, text: &str) {
        if let Err(e) = check_https_url(text) {
            self.add(path, e);
        }
    }

    fn condition(&mut self, path: &str, v: Option<&Value>) -> Condition {
        let Some(v) = v else {
            return Condition::always();
        };
        let mut problems: Vec<ConditionProblem> = Vec::new();
        let c = Condition::compile(v, &mut problems);
        for p in problems {
            self.add(&format!("{path}.{}", p.at), p.message);
        }
        // Object keys are ordered, so identical conditions have identical text.
        let next = self.condition_slots.len();
        let slot = *self.condition_slots.entry(v.to_string()).or_insert(next);
        c.with_slot(slot)
    }
}

/// R-O5 / R-P1: a URL the worker may redirect to must be absolute https, with a host, no
/// credentials and no control characters, at most 2,048 bytes.
pub fn check_https_url(text: &str) -> Result<url::Url, String> {
    if text.len() > 2048 {
        return Err("URL longer than 2048 bytes".to_string());
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("URL contains whitespace or control characters".to_string());
    }
    let u = url::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if u.scheme() != "https" {
        return Err("URL must use https".to_string());
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("URL must name a host".to_string());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("URL must not carry credentials".to_string());
    }
    Ok(u)
}

/// R-P1: validates and compiles a snapshot document for `account_id`. On refusal, every problem
/// found is returned (syntax errors stop at the first, as JSON cannot be read past them).
pub fn compile(text: &str, account_id: &str, revision: u64) -> Result<Snapshot, Vec<Problem>> {
    // A document without shape problems is read straight into its types (no intermediate
    // `Value` tree, most of the cost of a large snapshot); any other is read again part by
    // part so that every problem is reported with its path.
    let parts = match serde_json::from_str::<TypedDoc>(text) {
        Ok(doc) => Parts::typed(doc),
        Err(_) => {
            let doc: RawDoc = serde_json::from_str(text).map_err(|e| {
                let message = if e.is_syntax() || e.is_eof() {
                    format!("invalid JSON: {e}")
                } else {
                    e.to_string()
                };
                vec![Problem {
                    path: "(document)".to_string(),
                    message,
                }]
            })?;
            Parts::raw(doc)
        }
    };
    build(parts, account_id, revision)
}

/// Validates the parts and compiles them into a snapshot.
fn build(parts: Parts, account_id: &str, revision: u64) -> Result<Snapshot, Vec<Problem>> {
    let mut c = Checker {
        problems: Vec::new(),
        condition_slots: HashMap::new(),
    };
    if parts.schema_version != SCHEMA_VERSION {
        c.add("schemaVersion", format!("must be {SCHEMA_VERSION}"));
    }
    let account: Option<AccountSpec> = c.part("account", parts.account);
    if let Some(a) = &account {
        check_account(&mut c, a, account_id);
    }
    let saved_groups: SavedGroups = c
        .part("savedGroups", parts.saved_groups)
        .unwrap_or_default();

    let mut seen = HashSet::new();
    let mut skills = Vec::new();
    for (i, part) in parts.skills.into_iter().enumerate() {
        let path = format!("skills[{i}]");
        if let Some(s) = c.part(&path, part) {
            c.id(&format!("{path}.id"), &s.id, &mut seen);
            skills.push(s);
        }
    }
    let skill_by_id: HashMap<String, usize> = skills
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();

    let mut seen = HashSet::new();
    let mut entry_points = Vec::new();
    for (i, part) in parts.entry_points.into_iter().enumerate() {
        let path = format!("entryPoints[{i}]");
        if let Some(spec) = c.part(&path, part) {
            c.id(&format!("{path}.id"), &spec.id, &mut seen);
            let mut problems = Vec::new();
            entry_points.push(EntryPoint::compile(&spec, &mut problems));
            c.nested(&path, problems);
        }
    }
    let ep_by_id: HashMap<&str, usize> = entry_points
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i))
        .collect();

    if parts.campaigns.len() > MAX_CAMPAIGNS {
        c.add("campaigns", format!("more than {MAX_CAMPAIGNS} campaigns"));
    }
    let tz = account.as_ref().map_or("UTC", |a| a.time_zone.as_str());
    let mut campaigns = Vec::new();
    let mut time_zones: Vec<String> = Vec::new();
    let mut engagements = Vec::new();
    let mut campaign_ids = HashSet::new();
    let mut engagement_ids = HashSet::new();
    for (ci, campaign) in parts.campaigns.into_iter().enumerate() {
        let path = format!("campaigns[{ci}]");
        let engagement_parts = c
            .part(&format!("{path}.engagements"), campaign.engagements)
            .unwrap_or_default();
        let Some(spec) = c.part(&path, campaign.spec) else {
            continue;
        };
        c.id(&format!("{path}.id"), &spec.id, &mut campaign_ids);
        c.percent(
            &format!("{path}.controlGroupPercent"),
            spec.control_group_percent,
        );
        let mut tf_problems = Vec::new();
        let time_frame = TimeFrame::compile(&spec.time_frame, tz, &mut tf_problems);
        c.nested(&format!("{path}.timeFrame"), tf_problems);
        let audience = c.condition(&format!("{path}.audience"), spec.audience.as_ref());
        let campaign_index = campaigns.len();
        for (ei, part) in engagement_parts.into_iter().enumerate() {
            let epath = format!("{path}.engagements[{ei}]");
            let Some(e) = c.part(&epath, part) else {
                continue;
            };
            c.id(&format!("{epath}.id"), &e.id, &mut engagement_ids);
            if let Some(compiled) = compile_engagement(
                &mut c,
                &epath,
                e,
                campaign_index,
                &skill_by_id,
                &ep_by_id,
                account.as_ref(),
            ) {
                engagements.push(compiled);
            }
        }
        if let Some(time_frame) = time_frame {
            let zone_index = match time_zones.iter().position(|z| z == time_frame.zone_name()) {
                Some(i) => i,
                None => {
                    time_zones.push(time_frame.zone_name().to_string());
                    time_zones.len() - 1
                }
            };
            campaigns.push(Campaign {
                control_seed: super::condition::fnv_seed(&[account_id, "|control|", &spec.id, "|"]),
                zone_index,
                spec,
                time_frame,
                audience,
            });
        }
    }
    if engagements.len() > MAX_ENGAGEMENTS {
        c.add(
            "campaigns",
            format!("more than {MAX_ENGAGEMENTS} engagements"),
        );
    }
    let (Some(account), true) = (account, c.problems.is_empty()) else {
        return Err(c.problems);
    };
    Ok(index(Snapshot {
        revision,
        account: Account { spec: account },
        saved_groups,
        skills,
        entry_points,
        campaigns,
        engagements,
        time_zones,
        condition_slots: c.condition_slots.len(),
        by_zone: HashMap::new(),
        by_zone_entry_point: HashMap::new(),
        rank: Vec::new(),
        by_id: HashMap::new(),
        skill_by_id,
    }))
}

/// An origin as browsers send it (`scheme://host[:port]`, no path), or a `*.` subdomain pattern.
fn valid_origin(origin: &str) -> bool {
    let concrete = origin.replacen("://*.", "://wildcard.", 1);
    let Ok(u) = url::Url::parse(&concrete) else {
        return false;
    };
    let local = matches!(u.host_str(), Some("localhost" | "127.0.0.1"));
    let scheme_ok = u.scheme() == "https" || (u.scheme() == "http" && local);
    // The URL library adds a "/" path to an origin; anything more is not an origin.
    scheme_ok
        && u.host_str().is_some_and(|h| !h.ends_with('.'))
        && format!("{}/", concrete.trim_end_matches('/')) == u.as_str()
        && !concrete.ends_with('/')
}

fn check_account(c: &mut Checker, a: &AccountSpec, account_id: &str) {
    if a.id != account_id {
        c.add(
            "account.id",
            format!("must be \"{account_id}\", the account published to"),
        );
    }
    if jiff::tz::TimeZone::get(&a.time_zone).is_err() {
        c.add(
            "account.timeZone",
            format!("unknown time zone \"{}\"", a.time_zone),
        );
    }
    c.percent("account.controlGroupPercent", a.control_group_percent);
    let w = a.priority_weights;
    if w.high > 100 || w.medium > 100 || w.low > 100 || w.high + w.medium + w.low == 0 {
        c.add("account.priorityWeights", "weights are 0-100 and not all 0");
    }
    for (name, cap) in [
        ("conversation", a.proactive_caps.conversation),
        ("content", a.proactive_caps.content),
    ] {
        if cap.is_some_and(|n| !(1..=3).contains(&n)) {
            c.add(
                &format!("account.proactiveCaps.{name}"),
                "must be 1, 2, 3 or absent (unlimited)",
            );
        }
    }
    if !(5..=720).contains(&a.visit_timeout_minutes) {
        c.add("account.visitTimeoutMinutes", "must be 5-720");
    }
    c.url(
        "account.defaultOfflineSurveyUrl",
        &a.default_offline_survey_url,
    );
    for (i, origin) in a.allowed_origins.iter().flatten().enumerate() {
        if !valid_origin(origin) {
            c.add(
                &format!("account.allowedOrigins[{i}]"),
                "must be an origin: https://host[:port] or https://*.domain (http only for localhost)",
            );
        }
    }
    if a.allowed_origins.as_ref().is_some_and(|l| l.len() > 50) {
        c.add("account.allowedOrigins", "at most 50 origins");
    }
    match &a.inactive_engagement {
        InactiveTarget::Survey { url } | InactiveTarget::LandingPage { url } => {
            c.url("account.inactiveEngagement.url", url)
        }
        InactiveTarget::DefaultSurvey => {}
    }
}

fn compile_engagement(
    c: &mut Checker,
    path: &str,
    spec: EngagementSpec,
    campaign: usize,
    skills: &HashMap<String, usize>,
    entry_points: &HashMap<&str, usize>,
    account: Option<&AccountSpec>,
) -> Option<Engagement> {
    let before = c.problems.len();
    let at = |field: &str| format!("{path}.{field}");
    if spec.revision == 0 {
        c.add(&at("revision"), "must be 1 or more");
    }
    let skill = match &spec.skill {
        None => SkillRef::All,
        Some(id) => match skills.get(id) {
            Some(&i) => SkillRef::One(i),
            None => {
                c.add(&at("skill"), format!("no skill \"{id}\" in skills"));
                SkillRef::All
            }
        },
    };
    let format = spec.format;
    let busy_allowed = spec.source == Source::Web
        && spec.channel == Channel::Chat
        && format != Some(Format::Overlay);
    if spec.states.busy && !busy_allowed {
        c.add(
            &at("states.busy"),
            "busy state is not available for overlay, offsite or messaging engagements",
        );
    }
    if let Some(secs) = spec.refresh_seconds {
        if !REFRESH_INTERVALS.contains(&secs) {
            c.add(
                &at("refreshSeconds"),
                format!("must be one of {REFRESH_INTERVALS:?}"),
            );
        }
        let refreshable = spec.source == Source::Web
            && spec.channel == Channel::Chat
            && !format.is_some_and(Format::is_proactive)
            && (spec.states.offline || spec.states.busy);
        if !refreshable {
            c.add(
                &at("refreshSeconds"),
                "refresh is only for web, non-proactive chat engagements with an offline or busy state",
            );
        }
    }
    match (&spec.click_to_call, spec.channel) {
        (Some(ctc), Channel::ClickToCall) => c.url(&at("clickToCall.pageUrl"), &ctc.page_url),
        (None, Channel::ClickToCall) => c.add(
            &at("clickToCall"),
            "click-to-call engagements need clickToCall.pageUrl",
        ),
        (Some(_), _) => c.add(
            &at("clickToCall"),
            "only click-to-call engagements have clickToCall settings",
        ),
        (None, _) => {}
    }
    if let Some(u) = &spec.window.offline_survey_url {
        c.url(&at("window.offlineSurveyUrl"), u);
    }
    let mut entry_point = None;
    let mut zone = None;
    match spec.source {
        Source::Web => {
            if spec.offsite.is_some() {
                c.add(
                    &at("offsite"),
                    "only offsite engagements have offsite settings",
                );
            }
            match spec.entry_point.as_deref() {
                None => c.add(&at("entryPoint"), "web engagements need an entry point"),
                Some(id) => match entry_points.get(id) {
                    Some(&i) => entry_point = Some(i),
                    None => c.add(&at("entryPoint"), format!("no entry point \"{id}\"")),
                },
            }
            zone = match (format, spec.side, spec.embedded_div_id.as_deref()) {
                (None, _, _) => {
                    c.add(&at("format"), "web engagements need a format");
                    None
                }
                (Some(Format::SlideOut | Format::Sticky), Some(side), None) => Some(match side {
                    Side::Left => Zone::Left,
                    Side::Right => Zone::Right,
                }),
                (Some(Format::SlideOut | Format::Sticky), _, _) => {
                    c.add(
                        &at("side"),
                        "slide-out and sticky need a side and no embeddedDivId",
                    );
                    None
                }
                (Some(Format::Embedded), None, Some(div)) if valid_div_id(div) => {
                    Some(Zone::Embedded(div.to_string()))
                }
                (Some(Format::Embedded), _, _) => {
                    c.add(
                        &at("embeddedDivId"),
                        "embedded needs a div id (1-64 of A-Z a-z 0-9 - _ : .) and no side",
                    );
                    None
                }
                (Some(_), None, None) => Some(Zone::Proactive),
                (Some(_), _, _) => {
                    c.add(
                        &at("format"),
                        "proactive formats take no side or embeddedDivId",
                    );
                    None
                }
            };
        }
        Source::Offsite => {
            match &spec.offsite {
                None => c.add(
                    &at("offsite"),
                    "offsite engagements need offsite.landingUrl",
                ),
                Some(o) => c.url(&at("offsite.landingUrl"), &o.landing_url),
            }
            if !spec.channel.is_conversation() {
                c.add(&at("channel"), "offsite engagements are chat or messaging");
            }
            if format.is_some() || spec.side.is_some() || spec.embedded_div_id.is_some() {
                c.add(
                    &at("format"),
                    "offsite engagements have no format, side or div",
                );
            }
        }
    }
    let behavior = c.condition(&at("behavior"), spec.behavior.as_ref());
    if c.problems.len() > before {
        return None;
    }
    let offline_survey_url = spec
        .window
        .offline_survey_url
        .clone()
        .or_else(|| account.map(|a| a.default_offline_survey_url.clone()))
        .unwrap_or_default();
    Some(Engagement {
        spec,
        campaign,
        skill,
        entry_point,
        zone,
        behavior,
        offline_survey_url,
    })
}

fn index(mut s: Snapshot) -> Snapshot {
    let mut order: Vec<usize> = (0..s.engagements.len()).collect();
    let key = |i: &usize| {
        s.engagements.get(*i).map(|e| {
            let campaign = s
                .campaigns
                .get(e.campaign)
                .map_or("", |c| c.spec.id.as_str());
            (campaign, e.spec.id.as_str())
        })
    };
    order.sort_by(|a, b| key(a).cmp(&key(b)));
    s.rank = vec![0; s.engagements.len()];
    for (rank, i) in order.into_iter().enumerate() {
        if let Some(r) = s.rank.get_mut(i) {
            *r = u32::try_from(rank).unwrap_or(u32::MAX);
        }
        let Some(e) = s.engagements.get(i) else {
            continue;
        };
        s.by_id.insert(e.spec.id.clone(), i);
        if let (Source::Web, Some(zone), Some(ep)) = (e.spec.source, &e.zone, e.entry_point) {
            s.by_zone.entry(zone.clone()).or_default().push(i);
            let groups = s.by_zone_entry_point.entry(zone.clone()).or_default();
            match groups.iter_mut().find(|(g, _)| *g == ep) {
                Some((_, list)) => list.push(i),
                None => groups.push((ep, vec![i])),
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R-P1: the typed fast path and the part-by-part path compile the same snapshot.
    #[test]
    fn both_read_paths_compile_the_same_snapshot() {
        let text = include_str!("../../fixtures/demo/snapshot.json");
        let typed = serde_json::from_str::<TypedDoc>(text).map(Parts::typed);
        let values = serde_json::from_str::<RawDoc>(text).map(Parts::raw);
        let (Ok(typed), Ok(values)) = (typed, values) else {
            panic!("the demo document reads both ways");
        };
        let (Ok(a), Ok(b)) = (build(typed, "demo", 3), build(values, "demo", 3)) else {
            panic!("the demo document compiles both ways");
        };
        // Compiled conditions hold hash maps (no stable Debug order): compare what was read.
        let specs = |s: &Snapshot| {
            let campaigns: Vec<_> = s.campaigns.iter().map(|c| &c.spec).collect();
            let engagements: Vec<_> = s.engagements.iter().map(|e| &e.spec).collect();
            serde_json::to_string(&(&s.account.spec, campaigns, engagements, &s.skills))
                .unwrap_or_default()
        };
        assert_eq!(specs(&a), specs(&b));
        assert_eq!(a.rank, b.rank);
        assert_eq!(a.time_zones, b.time_zones);
        for zone in a.by_zone.keys() {
            assert_eq!(a.in_zone(zone), b.in_zone(zone));
        }
        assert!(a.campaigns.iter().all(|c| c.spec.engagements.is_empty()));
    }
}
