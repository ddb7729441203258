//! Snapshot validation (R-P1): every problem is collected with its JSON path, then the parts
//! are compiled into the model decisions run on.

mod engagement;

use super::spec::*;
use super::*;
use crate::engine::condition::ConditionProblem;
use crate::engine::draw::ControlGroup;
use crate::engine::entry_point::EntryPointSpec;
use crate::engine::lookup::{IdHasher, IdMap};
use engagement::compile_engagement;
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault};

/// A part of the document: read, or the reason it could not be.
pub(super) type Part<T> = Result<T, String>;

/// A campaign's part and its engagements' parts.
pub(super) struct CampaignParts {
    pub(super) spec: Part<CampaignSpec>,
    pub(super) engagements: Part<Vec<Part<EngagementSpec>>>,
}

/// The document read into typed parts, by either path.
pub(super) struct Parts {
    pub(super) schema_version: u32,
    pub(super) account: Part<AccountSpec>,
    pub(super) saved_groups: Part<SavedGroups>,
    pub(super) skills: Vec<Part<Skill>>,
    pub(super) entry_points: Vec<Part<EntryPointSpec>>,
    pub(super) campaigns: Vec<CampaignParts>,
}

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

/// A JSON path, written out only when a problem is recorded at it: a snapshot of 2,000
/// engagements has tens of thousands of places and usually no problem (formatting each
/// eagerly was about a tenth of the compile).
#[derive(Clone, Copy)]
enum At<'a> {
    /// The document itself: items under it are written `list[i]`.
    Root,
    /// `parent.field`.
    Field(&'a At<'a>, &'a str),
    /// `parent.list[i]`.
    Item(&'a At<'a>, &'a str, usize),
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Root => Ok(()),
            At::Field(parent, field) => write!(f, "{parent}.{field}"),
            At::Item(At::Root, list, i) => write!(f, "{list}[{i}]"),
            At::Item(parent, list, i) => write!(f, "{parent}.{list}[{i}]"),
        }
    }
}

/// How much of R-P1 a compile checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Checks {
    /// Every rule: a document being published.
    All,
    /// What compiling needs, without the checks that can only find a problem (URLs, id syntax
    /// and uniqueness): a revision the publish route already checked in full, as isolates
    /// load it from KV. Those checks were about a tenth of a large snapshot's compile.
    Published,
}

/// Problems collected while compiling, with the current JSON path.
struct Checker {
    problems: Vec<Problem>,
    checks: Checks,
    /// Distinct conditions seen: each gets one memo slot.
    condition_slots: HashMap<Value, usize>,
    /// The attribute paths conditions read ([`Condition::number_paths`]).
    path_slots: HashMap<Vec<String>, usize>,
}

impl Checker {
    fn add(&mut self, path: impl fmt::Display, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// Adds problems of a nested compiler, given as `field: message` relative to `prefix`.
    fn nested(&mut self, prefix: impl fmt::Display, problems: Vec<String>) {
        for p in problems {
            let (field, message) = p.split_once(": ").unwrap_or(("", p.as_str()));
            self.add(format_args!("{prefix}.{field}"), message);
        }
    }

    /// A part that was read, or its problem recorded at `path`.
    fn part<T>(&mut self, path: impl fmt::Display, part: Part<T>) -> Option<T> {
        part.map_err(|e| self.add(path, e)).ok()
    }

    fn id(&mut self, path: impl fmt::Display + Copy, id: &str, seen: &mut HashSet<String>) {
        if self.checks == Checks::Published {
            return;
        }
        if !valid_id(id) {
            self.add(path, format!("ids are {ID_RULE}"));
        }
        if !seen.insert(id.to_string()) {
            self.add(path, format!("duplicate id \"{id}\""));
        }
    }

    fn percent(&mut self, path: impl fmt::Display, p: u8) {
        if p > 25 {
            self.add(path, "must be a whole percentage from 0 to 25");
        }
    }

    fn url(&mut self, path: impl fmt::Display, text: &str) {
        if self.checks == Checks::Published {
            return;
        }
        if let Err(e) = check_https_url(text) {
            self.add(path, e);
        }
    }

    /// Compiles a condition, taking it out of its spec (only its compiled form is used after
    /// this); equal conditions share a memo slot.
    fn condition(&mut self, path: impl fmt::Display, v: Option<Value>) -> Condition {
        let Some(v) = v else {
            return Condition::always();
        };
        let mut problems: Vec<ConditionProblem> = Vec::new();
        let mut c = Condition::compile(&v, &mut problems);
        c.number_paths(&mut self.path_slots);
        for p in problems {
            self.add(format_args!("{path}.{}", p.at), p.message);
        }
        let next = self.condition_slots.len();
        let slot = *self.condition_slots.entry(v).or_insert(next);
        c.with_slot(slot)
    }
}

/// What an id may be: 1-64 characters of `A-Z a-z 0-9 - _ .` (snapshot ids, request ids,
/// brand event ids and names alike).
pub const ID_RULE: &str = "1-64 characters of A-Z a-z 0-9 - _ .";

/// True for an id by [`ID_RULE`].
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Validates the parts and compiles them into a snapshot.
pub(super) fn build(
    parts: Parts,
    account_id: &str,
    revision: u64,
    checks: Checks,
) -> Result<Snapshot, Vec<Problem>> {
    let mut c = Checker {
        problems: Vec::new(),
        checks,
        condition_slots: HashMap::new(),
        path_slots: HashMap::new(),
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
        let path = At::Item(&At::Root, "skills", i);
        if let Some(s) = c.part(path, part) {
            c.id(At::Field(&path, "id"), &s.id, &mut seen);
            skills.push(s);
        }
    }
    let skill_by_id: IdMap<String, usize> = skills
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();

    let mut seen = HashSet::new();
    let mut entry_points = Vec::new();
    for (i, part) in parts.entry_points.into_iter().enumerate() {
        let path = At::Item(&At::Root, "entryPoints", i);
        if let Some(spec) = c.part(path, part) {
            c.id(At::Field(&path, "id"), &spec.id, &mut seen);
            let mut problems = Vec::new();
            entry_points.push(EntryPoint::compile(&spec, &mut problems));
            c.nested(path, problems);
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
    // A fingerprint of each distinct time frame, and the first campaign that has it.
    let mut time_frames: IdMap<u64, usize> = IdMap::default();
    let mut time_frame_slots = 0;
    let mut engagements = Vec::new();
    let mut campaign_ids = HashSet::new();
    let mut engagement_ids = HashSet::new();
    for (ci, campaign) in parts.campaigns.into_iter().enumerate() {
        let path = At::Item(&At::Root, "campaigns", ci);
        let engagement_parts = c
            .part(At::Field(&path, "engagements"), campaign.engagements)
            .unwrap_or_default();
        let Some(mut spec) = c.part(path, campaign.spec) else {
            continue;
        };
        c.id(At::Field(&path, "id"), &spec.id, &mut campaign_ids);
        c.percent(
            At::Field(&path, "controlGroupPercent"),
            spec.control_group_percent,
        );
        let mut tf_problems = Vec::new();
        let time_frame = TimeFrame::compile(&spec.time_frame, tz, &mut tf_problems);
        c.nested(At::Field(&path, "timeFrame"), tf_problems);
        let audience = c.condition(At::Field(&path, "audience"), spec.audience.take());
        let campaign_index = campaigns.len();
        for (ei, part) in engagement_parts.into_iter().enumerate() {
            let epath = At::Item(&path, "engagements", ei);
            let Some(e) = c.part(epath, part) else {
                continue;
            };
            c.id(At::Field(&epath, "id"), &e.id, &mut engagement_ids);
            if let Some(compiled) = compile_engagement(
                &mut c,
                epath,
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
            let time_zone = match time_zones.iter().position(|z| z == time_frame.zone_name()) {
                Some(i) => i,
                None => {
                    time_zones.push(time_frame.zone_name().to_string());
                    time_zones.len() - 1
                }
            };
            let fingerprint = BuildHasherDefault::<IdHasher>::default()
                .hash_one((time_frame.zone_name(), &spec.time_frame));
            let same = |first: &Campaign| {
                first.time_frame.zone_name() == time_frame.zone_name()
                    && first.spec.time_frame == spec.time_frame
            };
            let shared = time_frames
                .get(&fingerprint)
                .and_then(|&i| campaigns.get(i))
                .filter(|first| same(first));
            let time_frame_slot = match shared {
                Some(first) => first.time_frame_slot,
                None => {
                    time_frames.entry(fingerprint).or_insert(campaigns.len());
                    time_frame_slots += 1;
                    time_frame_slots - 1
                }
            };
            campaigns.push(Campaign {
                control: ControlGroup::new(account_id, &spec.id, spec.control_group_percent),
                time_zone,
                time_frame_slot,
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
        account: Account {
            control: ControlGroup::new(account_id, ACCOUNT_SCOPE, account.control_group_percent),
            time_zone: crate::engine::schedule::time_zone(&account.time_zone)
                .unwrap_or(jiff::tz::TimeZone::UTC),
            spec: account,
        },
        saved_groups,
        skills,
        entry_points,
        campaigns,
        engagements,
        time_zones,
        time_frame_slots,
        condition_slots: c.condition_slots.len(),
        path_slots: c.path_slots.len(),
        by_zone: IdMap::default(),
        by_zone_entry_point: IdMap::default(),
        rank: Vec::new(),
        by_id: IdMap::default(),
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
    if crate::engine::schedule::time_zone(&a.time_zone).is_none() {
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
    let caps = a.proactive_caps;
    if caps.total.is_some() && (caps.conversation.is_some() || caps.content.is_some()) {
        c.add(
            "account.proactiveCaps",
            "set either a total cap or separate conversation/content caps, not both (R-D6)",
        );
    }
    for (name, cap) in [
        ("total", caps.total),
        ("conversation", a.proactive_caps.conversation),
        ("content", a.proactive_caps.content),
    ] {
        if cap.is_some_and(|n| !(1..=3).contains(&n)) {
            c.add(
                format_args!("account.proactiveCaps.{name}"),
                "must be 1, 2, 3 or absent (unlimited)",
            );
        }
    }
    if !(5..=720).contains(&a.visit_timeout_minutes) {
        c.add("account.visitTimeoutMinutes", "must be 5-720");
    }
    if !(1..=30).contains(&a.cross_session_days) {
        c.add("account.crossSessionDays", "must be 1-30");
    }
    c.url(
        "account.defaultOfflineSurveyUrl",
        &a.default_offline_survey_url,
    );
    for (i, origin) in a.allowed_origins.iter().flatten().enumerate() {
        if !valid_origin(origin) {
            c.add(
                format_args!("account.allowedOrigins[{i}]"),
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
