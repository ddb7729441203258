//! Tag-request decisions: candidates (R-D1, R-D2, R-D3), control groups (R-D5) and zone
//! arbitration (R-D4). Every engagement considered gets a [`Verdict`]; the explain mode (R-P3)
//! shows the same verdicts that decided, so the two cannot drift apart.

use super::agent::{engagement_state, skill_state, AgentState, Availability};
use super::condition::{hash_v2_parts, hash_v2_seeded, Condition};
use super::snapshot::{CampaignStatus, Engagement, Priority, PriorityWeights, SkillRef, Snapshot};
use super::visitor::Visitor;
use super::zone::{Channel, Zone};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Preference class inside a zone (R-D4 step 2): lower is preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Verdict {
    /// Excluded by the first rule that failed.
    Excluded {
        /// The SPEC rule, e.g. `R-D2`.
        rule: String,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Click-to-call: the worker link the click goes through (R-C2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub click_url: Option<String>,
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
/// The seed is `{account}|{purpose}|`; `purpose` may come in parts (joined as written).
pub fn draw(account: &str, purpose: &[&str], unit: &str) -> f64 {
    let mut seed: [&str; 6] = [account, "|", "", "", "", ""];
    for (slot, p) in seed.iter_mut().skip(2).zip(purpose.iter().take(3)) {
        *slot = p;
    }
    let used = 2 + purpose.len().min(3);
    if let Some(slot) = seed.get_mut(used) {
        *slot = "|";
    }
    hash_v2_parts(seed.get(..=used).unwrap_or(&seed), unit)
}

/// R-D5: is this visitor in a control group of `percent`% for `scope`?
pub fn in_control_group(account: &str, scope: &str, visitor_id: &str, percent: u8) -> bool {
    percent > 0 && draw(account, &["control|", scope], visitor_id) < f64::from(percent) / 100.0
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

/// R-D3: the state to show an engagement in and its class; `Err` with the agents' state
/// when the engagement does not show in it.
pub fn shown_state(
    snap: &Snapshot,
    e: &Engagement,
    availability: &Availability,
) -> Result<(AgentState, Class), AgentState> {
    state_and_class(e, raw_state(snap, e, availability))
}

fn state_and_class(e: &Engagement, raw: AgentState) -> Result<(AgentState, Class), AgentState> {
    match e.spec.channel {
        Channel::Banner | Channel::ClickToCall => {
            Ok((AgentState::Online, Class::ContentOrMessaging))
        }
        Channel::Messaging => Ok((raw, Class::ContentOrMessaging)),
        Channel::Chat => match engagement_state(raw, e.spec.states, e.spec.ignore_max_wait) {
            Some(AgentState::Online) => Ok((AgentState::Online, Class::OnlineConversation)),
            Some(s) => Ok((s, Class::OfflineConversation)),
            None => Err(raw),
        },
    }
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
    fn explain(self, snap: &Snapshot, ctx: &Context<'_>, e: &Engagement) -> (&'static str, String) {
        match self {
            Exclusion::Disabled => ("R-D1", "engagement is disabled".into()),
            Exclusion::EntryPoint => (
                "R-D1",
                "page is outside the engagement's entry point".into(),
            ),
            Exclusion::Authenticated => (
                "R-D1",
                "authenticated engagement on an unauthenticated page".into(),
            ),
            Exclusion::Unpublished => ("R-D1", "campaign is not published".into()),
            Exclusion::TimeFrame => {
                let why = snap
                    .campaign_of(e)
                    .and_then(|c| c.time_frame.check(ctx.now).err())
                    .map_or_else(
                        || "outside the campaign's time frame".to_string(),
                        |c| c.to_string(),
                    );
                ("R-D2", why)
            }
            Exclusion::Audience => (
                "R-D1",
                "visitor is not in the campaign's target audience".into(),
            ),
            Exclusion::Control(pct) => (
                "R-D5",
                format!("visitor is in the campaign's {pct}% control group"),
            ),
            Exclusion::Behavior => ("R-D1", "visitor behaviour does not match".into()),
            Exclusion::State(raw) => (
                "R-D3",
                format!(
                    "agents are {}, a state this engagement does not show in",
                    raw.name()
                ),
            ),
        }
    }
}

/// Per-request memo of campaign checks and entry-point matches, so each campaign and each
/// entry point is evaluated once per request however many engagements share it.
struct CampaignMemo {
    checked: Vec<Option<Result<(), Exclusion>>>,
    pages: Vec<Option<bool>>,
    /// Local time of the request per time zone ([`Snapshot::time_zones`]).
    local: Vec<Option<super::schedule::Local>>,
    /// Agent state per skill, and over all skills.
    skills: Vec<Option<AgentState>>,
    all_skills: Option<AgentState>,
    /// Result per distinct condition ([`Condition::slot`]).
    conditions: Vec<Option<bool>>,
}

impl CampaignMemo {
    fn new(snap: &Snapshot) -> CampaignMemo {
        CampaignMemo {
            checked: vec![None; snap.campaigns.len()],
            pages: vec![None; snap.entry_points.len()],
            local: vec![None; snap.time_zones.len()],
            skills: vec![None; snap.skills.len()],
            all_skills: None,
            conditions: vec![None; snap.condition_slots],
        }
    }

    /// Evaluates a condition for this request's visitor, each distinct one once.
    fn holds(&mut self, snap: &Snapshot, ctx: &Context<'_>, condition: &Condition) -> bool {
        let eval = || condition.eval(&ctx.visitor.attributes, &snap.saved_groups);
        match condition.slot().and_then(|i| self.conditions.get_mut(i)) {
            Some(Some(known)) => *known,
            Some(slot) => *slot.insert(eval()),
            None => eval(),
        }
    }

    /// [`raw_state`], each skill looked up once per request.
    fn raw_state(
        &mut self,
        snap: &Snapshot,
        e: &Engagement,
        availability: &Availability,
    ) -> AgentState {
        let slot = match e.skill {
            SkillRef::One(i) => self.skills.get_mut(i),
            SkillRef::All => Some(&mut self.all_skills),
        };
        match slot {
            Some(Some(s)) => *s,
            Some(slot) => *slot.insert(raw_state(snap, e, availability)),
            None => raw_state(snap, e, availability),
        }
    }
}

fn campaign_check(
    snap: &Snapshot,
    ctx: &Context<'_>,
    index: usize,
    memo: &mut CampaignMemo,
    control: &mut Vec<usize>,
) -> Result<(), Exclusion> {
    if let Some(Some(r)) = memo.checked.get(index) {
        return *r;
    }
    let result = match snap.campaigns.get(index) {
        None => Err(Exclusion::Unpublished),
        Some(c) if c.spec.status != CampaignStatus::Published => Err(Exclusion::Unpublished),
        Some(c) => {
            let tf = &c.time_frame;
            let local = match memo.local.get_mut(c.zone_index) {
                Some(Some(l)) => *l,
                Some(slot) => *slot.insert(tf.local(ctx.now)),
                None => tf.local(ctx.now),
            };
            let pct = c.spec.control_group_percent;
            if !tf.is_open(ctx.now, local) {
                Err(Exclusion::TimeFrame)
            } else if !memo.holds(snap, ctx, &c.audience) {
                Err(Exclusion::Audience)
            } else if pct > 0
                && hash_v2_seeded(c.control_seed, &ctx.visitor.visitor_id) < f64::from(pct) / 100.0
            {
                control.push(index);
                Err(Exclusion::Control(pct))
            } else {
                Ok(())
            }
        }
    };
    if let Some(slot) = memo.checked.get_mut(index) {
        *slot = Some(result);
    }
    result
}

/// R-D1: does entry point `i` match the page? Computed once per request.
fn page_matches(snap: &Snapshot, ctx: &Context<'_>, i: usize, memo: &mut CampaignMemo) -> bool {
    match memo.pages.get(i).copied().flatten() {
        Some(known) => known,
        None => {
            let m = snap
                .entry_points
                .get(i)
                .is_some_and(|ep| ep.matches(&ctx.visitor.page));
            if let Some(slot) = memo.pages.get_mut(i) {
                *slot = Some(m);
            }
            m
        }
    }
}

/// R-D1..R-D3 for one web engagement: `Ok` with its state and class when it is a candidate.
fn candidate(
    snap: &Snapshot,
    ctx: &Context<'_>,
    e: &Engagement,
    memo: &mut CampaignMemo,
    control: &mut Vec<usize>,
) -> Result<(AgentState, Class), Exclusion> {
    if !e.spec.enabled {
        return Err(Exclusion::Disabled);
    }
    let page_ok = e
        .entry_point
        .is_some_and(|i| page_matches(snap, ctx, i, memo));
    if !page_ok {
        return Err(Exclusion::EntryPoint);
    }
    if e.spec.authenticated && !ctx.visitor.authenticated {
        return Err(Exclusion::Authenticated);
    }
    campaign_check(snap, ctx, e.campaign, memo, control)?;
    if !memo.holds(snap, ctx, &e.behavior) {
        return Err(Exclusion::Behavior);
    }
    let raw = memo.raw_state(snap, e, ctx.availability);
    state_and_class(e, raw).map_err(Exclusion::State)
}

/// The outcome of arbitration in one zone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Choice {
    /// Index of the winner in the list given.
    pub index: usize,
    /// The best class present.
    pub class: Class,
    /// The tier drawn.
    pub tier: Priority,
    /// Tier draw and tie draw, each in `[0, 1)`.
    pub draws: [f64; 2],
}

/// R-D4 steps 2-4 over one zone's candidates, given as (class, priority): keep the best class,
/// draw a tier with the account's weights renormalised over the tiers present (uniform if
/// they are all 0), then one candidate of that tier uniformly. Both draws hash the visit id,
/// so they are sticky per visit. The engine and the visit object both call this.
pub fn choose(
    account: &str,
    weights: &PriorityWeights,
    zone: &str,
    visit_id: &str,
    items: &[(Class, Priority)],
) -> Option<Choice> {
    let class = items.iter().map(|i| i.0).min()?;
    let tiers: Vec<Priority> = [Priority::High, Priority::Medium, Priority::Low]
        .into_iter()
        .filter(|t| items.iter().any(|&(c, p)| c == class && p == *t))
        .collect();
    let total: u32 = tiers.iter().map(|t| weights.of(*t)).sum();
    let tier_draw = draw(account, &[zone, "|tier"], visit_id);
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
    let in_tier: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, &(c, p))| c == class && p == tier)
        .map(|(i, _)| i)
        .collect();
    let tie_draw = draw(account, &[zone, "|tie"], visit_id);
    let pick = (tie_draw * in_tier.len() as f64) as usize;
    let index = in_tier.get(pick).or(in_tier.last()).copied()?;
    Some(Choice {
        index,
        class,
        tier,
        draws: [tier_draw, tie_draw],
    })
}

/// Why a candidate lost its zone to `winner_id` (R-P3).
pub fn lost_reason(class: Class, priority: Priority, choice: &Choice, winner_id: &str) -> String {
    if class != choice.class {
        format!(
            "class {class:?} loses to {:?} ({winner_id} shown)",
            choice.class
        )
    } else if priority != choice.tier {
        format!(
            "{} priority; the draw chose {} ({winner_id} shown)",
            priority.name(),
            choice.tier.name()
        )
    } else {
        format!("random tie-break chose {winner_id}")
    }
}

/// The fields the tag needs for one shown engagement (R-D4).
pub fn shown(
    snap: &Snapshot,
    e: &Engagement,
    zone: &str,
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
        click_url: None,
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
}

/// Candidates of one requested zone, in the snapshot's stable order.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneCandidates {
    /// The zone.
    pub zone: Zone,
    /// Its candidates.
    pub candidates: Vec<Candidate>,
}

/// Everything decided before zone arbitration: the part a visit does not change.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Control-group membership.
    pub control_groups: ControlGroups,
    /// Candidates per requested zone (empty for account-control visitors).
    pub zones: Vec<ZoneCandidates>,
    /// Verdicts of the engagements already excluded (when explaining).
    pub explanation: Vec<Explained>,
}

fn explained(snap: &Snapshot, e: &Engagement, verdict: Verdict) -> Explained {
    Explained {
        campaign_id: snap
            .campaign_of(e)
            .map_or(String::new(), |c| c.spec.id.clone()),
        engagement_id: e.spec.id.clone(),
        verdict,
    }
}

/// R-D1..R-D3, R-D5: the candidates of every requested zone.
pub fn evaluate(snap: &Snapshot, ctx: &Context<'_>) -> Evaluation {
    let account = &snap.account.spec;
    let mut out = Evaluation {
        control_groups: ControlGroups::default(),
        zones: Vec::new(),
        explanation: Vec::new(),
    };
    if in_control_group(
        &account.id,
        "account",
        &ctx.visitor.visitor_id,
        account.control_group_percent,
    ) {
        out.control_groups.account = true;
        if ctx.explain {
            let reason = format!(
                "visitor is in the account's {}% control group",
                account.control_group_percent
            );
            out.explanation = snap
                .engagements
                .iter()
                .map(|e| {
                    let rule = "R-D5".to_string();
                    explained(
                        snap,
                        e,
                        Verdict::Excluded {
                            rule,
                            reason: reason.clone(),
                        },
                    )
                })
                .collect();
        }
        return out;
    }
    let mut walk = Walk {
        memo: CampaignMemo::new(snap),
        control: Vec::new(),
        explanation: Vec::new(),
    };
    for zone in ctx.zones {
        if out.zones.iter().any(|z| &z.zone == zone) {
            continue;
        }
        let mut candidates = Vec::new();
        if ctx.explain {
            for &index in snap.in_zone(zone) {
                candidates.extend(walk.consider(snap, ctx, index));
            }
        } else {
            // Without an explanation to write, only the engagements of entry points that
            // match the page are visited; the candidates are then put in the stable order.
            for (ep, list) in snap.in_zone_by_entry_point(zone) {
                if page_matches(snap, ctx, *ep, &mut walk.memo) {
                    for &index in list {
                        candidates.extend(walk.consider(snap, ctx, index));
                    }
                }
            }
            candidates.sort_unstable_by_key(|c: &Candidate| snap.rank(c.index));
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
    let mut ids: Vec<String> = control
        .iter()
        .filter_map(|&i| snap.campaigns.get(i).map(|c| c.spec.id.clone()))
        .collect();
    ids.sort();
    out.control_groups.campaigns = ids;
    out
}

/// What one request gathers while it visits engagements: the memo, the campaigns whose
/// control group holds the visitor, and (when explaining) the verdicts.
struct Walk {
    memo: CampaignMemo,
    control: Vec<usize>,
    explanation: Vec<Explained>,
}

impl Walk {
    /// R-D1..R-D3 for engagement `index` of a zone: a candidate, or (when explaining) a verdict.
    fn consider(&mut self, snap: &Snapshot, ctx: &Context<'_>, index: usize) -> Option<Candidate> {
        let e = snap.engagements.get(index)?;
        match candidate(snap, ctx, e, &mut self.memo, &mut self.control) {
            Ok((state, class)) => Some(Candidate {
                index,
                state,
                class,
                priority: snap
                    .campaign_of(e)
                    .map_or(Priority::Low, |c| c.spec.priority),
            }),
            Err(x) => {
                if ctx.explain {
                    let (rule, reason) = x.explain(snap, ctx, e);
                    let rule = rule.to_string();
                    self.explanation
                        .push(explained(snap, e, Verdict::Excluded { rule, reason }));
                }
                None
            }
        }
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
                "R-D1",
                "offsite engagement: decided at click time (R-O1)".to_string(),
            ),
            Some(z) => ("R-D4", format!("zone {z} is not on this page")),
        };
        let rule = rule.to_string();
        explanation.push(explained(snap, e, Verdict::Excluded { rule, reason }));
    }
}

/// Decides a tag request without visit state: at most one engagement per requested zone.
/// `new_context_id` makes a fresh id for each shown engagement.
pub fn decide(
    snap: &Snapshot,
    ctx: &Context<'_>,
    new_context_id: &mut dyn FnMut() -> String,
) -> Decision {
    let account = &snap.account.spec;
    let eval = evaluate(snap, ctx);
    let mut decision = Decision {
        revision: snap.revision,
        control_groups: eval.control_groups,
        engagements: Vec::new(),
        explanation: eval.explanation,
    };
    for zc in &eval.zones {
        let zone = zc.zone.to_string();
        let items: Vec<(Class, Priority)> = zc
            .candidates
            .iter()
            .map(|c| (c.class, c.priority))
            .collect();
        let Some(choice) = choose(
            &account.id,
            &account.priority_weights,
            &zone,
            &ctx.visitor.visit_id,
            &items,
        ) else {
            continue;
        };
        let winner_id = zc
            .candidates
            .get(choice.index)
            .and_then(|c| snap.engagements.get(c.index))
            .map_or(String::new(), |e| e.spec.id.clone());
        for (i, c) in zc.candidates.iter().enumerate() {
            let Some(e) = snap.engagements.get(c.index) else {
                continue;
            };
            if i == choice.index {
                decision
                    .engagements
                    .push(shown(snap, e, &zone, c.state, new_context_id()));
            }
            if ctx.explain {
                let verdict = if i == choice.index {
                    Verdict::Won {
                        zone: zone.clone(),
                        class: choice.class,
                        tier: choice.tier,
                        draws: choice.draws,
                    }
                } else {
                    Verdict::Lost {
                        zone: zone.clone(),
                        reason: lost_reason(c.class, c.priority, &choice, &winner_id),
                    }
                };
                decision.explanation.push(explained(snap, e, verdict));
            }
        }
    }
    if ctx.explain {
        explain_rest(snap, &mut decision.explanation);
    }
    decision
}
