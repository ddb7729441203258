//! The published campaign snapshot (R-P1): its JSON shape ([`spec`]), how a document is read
//! ([`read`]) and validated ([`validate`]) — which reports every problem, not the first — and
//! the compiled, indexed form that decisions run on (this module).

mod read;
pub mod spec;
mod validate;

pub use super::https_url::check_https_url;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub(crate) use read::TypedDoc;
pub use read::{compile, load};
pub use spec::*;
pub use validate::{valid_id, Problem, ID_RULE};

/// The scope name of the account control group's draw (campaign groups use the campaign id).
pub const ACCOUNT_SCOPE: &str = "account";

use super::condition::{Condition, SavedGroups};
use super::draw::ControlGroup;
use super::entry_point::EntryPoint;
use super::lookup::IdMap;
use super::schedule::TimeFrame;
use super::zone::{Format, Zone};

/// Account settings, compiled.
#[derive(Debug, Clone)]
pub struct Account {
    /// The published settings.
    pub spec: AccountSpec,
    /// The account control group (R-D5).
    pub control: ControlGroup,
    /// The account's time zone: measurement days are its days (R-M1).
    pub time_zone: jiff::tz::TimeZone,
}

impl Account {
    /// R-M1: the account's day at `now_ms`, `YYYY-MM-DD`.
    pub fn day(&self, now_ms: u64) -> String {
        day_in(&self.time_zone, now_ms)
    }
}

/// The day in `time_zone` at `ms`, `YYYY-MM-DD`.
pub fn day_in(time_zone: &jiff::tz::TimeZone, ms: u64) -> String {
    // A civil date-time, not a `Zoned`: the latter brings jiff's formatting into the wasm.
    let at = time_zone.to_datetime(
        jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(0)).unwrap_or_default(),
    );
    format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day())
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
    /// The campaign control group (R-D5).
    pub control: ControlGroup,
    /// Index of its time zone in [`Snapshot::time_zones`].
    pub time_zone: usize,
    /// Its time frame's slot: campaigns with the same time frame (as published, in the same
    /// zone) share one, so that a decision checks each distinct time frame once.
    pub time_frame_slot: usize,
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

/// `campaignId_engagementId_revision`, the key the tag uses (lpTag's `confKey`). Written
/// straight into the JSON it is serialized to, without a string of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfKey<'s> {
    /// Campaign id.
    pub campaign_id: &'s str,
    /// Engagement id.
    pub engagement_id: &'s str,
    /// Engagement revision.
    pub revision: u32,
}

impl std::fmt::Display for ConfKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}_{}_{}",
            self.campaign_id, self.engagement_id, self.revision
        )
    }
}

impl serde::Serialize for ConfKey<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Engagement {
    /// This engagement's [`ConfKey`] at its current revision.
    pub fn conf_key<'s>(&'s self, campaign_id: &'s str) -> ConfKey<'s> {
        ConfKey {
            campaign_id,
            engagement_id: &self.spec.id,
            revision: self.spec.revision,
        }
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
    /// Distinct time frames ([`Campaign::time_frame_slot`]).
    pub time_frame_slots: usize,
    /// Distinct audience and behaviour conditions ([`Condition::slot`]).
    pub condition_slots: usize,
    /// Distinct attribute paths of those conditions ([`Condition::number_paths`]).
    pub path_slots: usize,
    by_zone: IdMap<Zone, Vec<usize>>,
    /// Per zone, its engagements grouped by entry point, so that a decision visits only the
    /// engagements of entry points that match the page; each group in the stable order.
    by_zone_entry_point: IdMap<Zone, Vec<(usize, Vec<usize>)>>,
    /// Each engagement's position in the stable (campaign id, engagement id) order.
    rank: Vec<u32>,
    by_id: IdMap<String, usize>,
    skill_by_id: IdMap<String, usize>,
}

impl Snapshot {
    /// A snapshot with no campaigns: what an account decides on while its stored snapshot
    /// cannot be read (every decision is "no engagements"; the platform says why).
    pub fn empty(account_id: &str, revision: u64) -> Snapshot {
        Snapshot {
            revision,
            account: Account {
                control: ControlGroup::new(account_id, ACCOUNT_SCOPE, 0),
                time_zone: jiff::tz::TimeZone::UTC,
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
                    cross_session_days: fourteen(),
                    attribution: Attribution::default(),
                    allowed_origins: None,
                },
            },
            saved_groups: SavedGroups::new(),
            skills: Vec::new(),
            entry_points: Vec::new(),
            campaigns: Vec::new(),
            engagements: Vec::new(),
            time_zones: Vec::new(),
            time_frame_slots: 0,
            condition_slots: 0,
            path_slots: 0,
            by_zone: IdMap::default(),
            by_zone_entry_point: IdMap::default(),
            rank: Vec::new(),
            by_id: IdMap::default(),
            skill_by_id: IdMap::default(),
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

    /// R-D5: the control groups in force, as percentages: the account's, and each
    /// campaign's that holds anyone out (a publish answer says them, so that a first test
    /// snapshot's defaults, 5 % and 10 %, are no surprise).
    pub fn control_groups(&self) -> ControlGroupsInForce {
        ControlGroupsInForce {
            account: self.account.control.percent,
            campaigns: self
                .campaigns
                .iter()
                .filter(|c| c.control.percent > 0)
                .map(|c| (c.spec.id.clone(), c.control.percent))
                .collect(),
        }
    }

    /// The campaign an engagement belongs to.
    pub fn campaign_of(&self, e: &Engagement) -> Option<&Campaign> {
        self.campaigns.get(e.campaign)
    }
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

/// The control groups a snapshot puts in force (R-D5), in percent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ControlGroupsInForce {
    /// The account's control group.
    pub account: u8,
    /// Campaign id → its control group, for campaigns whose group is above 0.
    pub campaigns: std::collections::BTreeMap<String, u8>,
}
