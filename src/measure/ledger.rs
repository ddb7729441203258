//! A visitor's ledger (R-M2, R-M3, R-M4, R-M5, R-M6): what attribution and the arms need of
//! one visitor (its arms entered, accepted engagements, conversions), kept by one object per
//! (account, visitor) over a [`Store`]. Each message is applied once; the ledger answers it
//! with the change it makes to the account's sums ([`Deltas`]), the same change every time the
//! message is delivered again. The ledger keeps what it has added to the sums, so that a late
//! accept re-attributes a conversion (the change takes the old credit back and adds the new)
//! and an erasure takes everything back: the sums never name the visitor.

use super::conversion::{conversion_rows, AttributionRules, Conversion, Touch};
use super::funnel::Metric;
use super::message::Message;
use super::sums::{key_day, ArmName, Deltas, Row, Sums};
use super::REPORT_DAYS;
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

const DAY_MS: u64 = 86_400_000;

/// How late a message may be delivered after it was written and still change what it
/// belongs to: past the queue's retries (at most 4 days).
pub const LATE_MS: u64 = 7 * DAY_MS;

/// How long a visit id or a call is kept for erasure to reach the visit's or the call's object
/// (visits end within 12 hours, call objects live 6 hours after the call).
pub const LIVE_OBJECTS_MS: u64 = 2 * DAY_MS;

/// Most history entries one ledger keeps (touches, conversions): the oldest go first. A
/// visitor of a person's habits holds a few dozen; a bot's ledger stays bounded.
pub const MAX_ENTRIES: usize = 400;

const STATE: &str = "ledger";
const ERASED: &str = "erased";
const APPLIED: &str = "m:";

/// The account's settings the ledger applies: attribution (R-M2) and the live campaigns (a
/// campaign no longer published gets nothing more; deleting its measurements is final).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerRules {
    /// The cross-session period, the model and each campaign's goal.
    pub attribution: AttributionRules,
    /// Every campaign of the live snapshot.
    pub campaigns: BTreeSet<String>,
}

impl LedgerRules {
    /// The rules of a published snapshot.
    pub fn of(snap: &crate::engine::snapshot::Snapshot) -> LedgerRules {
        LedgerRules {
            attribution: AttributionRules::of(snap),
            campaigns: snap.campaigns.iter().map(|c| c.spec.id.clone()).collect(),
        }
    }

    fn live(&self, campaign: &str) -> bool {
        campaign.is_empty() || self.campaigns.contains(campaign)
    }
}

/// A message for the ledger to apply ([`Ledger::apply`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToApply {
    /// The message.
    pub message: Message,
    /// The account's rules when it is applied.
    pub rules: LedgerRules,
    /// Now, ms.
    pub now_ms: u64,
}

/// An erasure for the ledger to make ([`Ledger::erase`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToErase {
    /// The change's id, if the erasure is new.
    pub id: String,
    /// Now, ms.
    pub now_ms: u64,
}

/// A history entry and the day it counts on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Dated {
    touch: Touch,
    day: String,
}

/// What one ledger holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct LedgerState {
    touches: Vec<Dated>,
    conversions: Vec<Conversion>,
    /// Visits and calls with when they were first seen, for erasure.
    visits: BTreeMap<String, u64>,
    calls: BTreeMap<String, u64>,
    /// What the history above adds to the sums, as last computed.
    live: Deltas,
    /// What history no longer kept added (settled: no late message can change it).
    settled: Deltas,
}

/// A message applied: when, and the change it made.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Applied {
    at_ms: u64,
    deltas: Deltas,
}

/// An erasure: the change that takes the visitor out of the sums (its id makes it apply
/// once), and what was erased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Erasure {
    /// When, ms: messages written before it are not applied.
    pub erased_ms: u64,
    /// The change's id.
    pub id: String,
    /// The change.
    pub deltas: Deltas,
    /// The visits (to empty their objects) and calls (to end them) the ledger knew.
    pub visits: Vec<String>,
    /// Calls.
    pub calls: Vec<String>,
    /// Conversions erased.
    pub conversions: usize,
}

/// The visitor's ledger over its object's storage.
pub struct Ledger<'a, S> {
    store: &'a S,
}

impl<'a, S: Store> Ledger<'a, S> {
    /// The ledger kept in `store`.
    pub fn new(store: &'a S) -> Self {
        Ledger { store }
    }

    /// R-M4: applies message `id` once and returns the change it makes to the account's sums;
    /// a message applied before returns the same change, a message written before the
    /// visitor's erasure changes nothing. Offsite clicks are not a visitor's: no change.
    /// `now_ms` (the clock) dates the record that makes it once.
    pub async fn apply(
        &self,
        id: &str,
        message: &Message,
        rules: &LedgerRules,
        now_ms: u64,
    ) -> Result<Deltas, StoreError> {
        let record = format!("{APPLIED}{id}");
        if let Some(done) = self.store.get::<Applied>(&record).await? {
            return Ok(done.deltas);
        }
        let written_ms = match message {
            Message::Facts(b) => b.at_ms,
            Message::Conversion(c) => c.at_ms,
            Message::Call(c) => c.at_ms,
            Message::Clicks(_) => return Ok(Deltas::default()),
        };
        let erased = self.store.get::<Erasure>(ERASED).await?;
        if erased.is_some_and(|e| written_ms <= e.erased_ms) {
            return Ok(Deltas::default());
        }
        let stored: Option<LedgerState> = self.store.get(STATE).await?;
        // A ledger with state has its alarm set (the alarm sets itself again).
        let new_ledger = stored.is_none();
        let mut state = stored.unwrap_or_default();
        state.take(message);
        // History settles by the visitor's own latest time, never later than the clock: a
        // message is written before it is delivered.
        let latest = state.latest_ms().max(written_ms);
        let deltas = state.recompute(rules, latest);
        let entries = [
            (STATE.to_string(), crate::store::text(&state)?),
            (
                record,
                crate::store::text(&Applied {
                    at_ms: now_ms,
                    deltas: deltas.clone(),
                })?,
            ),
        ];
        self.store.put_all(&entries).await?;
        if new_ledger {
            self.store.set_alarm(LATE_MS).await?;
        }
        Ok(deltas)
    }

    /// R-M5: erases the visitor: its history, and its share of the sums (the returned change,
    /// applied once under `id`). Asked again with nothing recorded since, it returns the same
    /// erasure. Kept: the erasure for [`LATE_MS`], so that messages written before it change
    /// nothing, and the applied messages' records, so that one applied before it and delivered
    /// again still brings its own change (which the erasure took back).
    pub async fn erase(&self, id: &str, now_ms: u64) -> Result<Erasure, StoreError> {
        let state: LedgerState = self.store.get(STATE).await?.unwrap_or_default();
        if let Some(done) = self.store.get::<Erasure>(ERASED).await? {
            if state.is_empty() {
                return Ok(done);
            }
        }
        let mut deltas = Deltas::default();
        deltas.merge(&state.live, -1);
        deltas.merge(&state.settled, -1);
        let erasure = Erasure {
            erased_ms: now_ms,
            id: id.to_string(),
            deltas,
            visits: state.visits.keys().cloned().collect(),
            calls: state.calls.keys().cloned().collect(),
            conversions: state.conversions.len(),
        };
        let entries = [
            (ERASED.to_string(), crate::store::text(&erasure)?),
            (
                STATE.to_string(),
                crate::store::text(&LedgerState::default())?,
            ),
        ];
        self.store.put_all(&entries).await?;
        self.store.set_alarm(LATE_MS).await?;
        Ok(erasure)
    }

    /// The alarm: forgets applied messages and an erasure past [`LATE_MS`] and history past
    /// the report's days, and the whole ledger once nothing is left in it.
    pub async fn alarm(&self, now_ms: u64) -> Result<(), StoreError> {
        let cutoff = now_ms.saturating_sub(LATE_MS);
        for (key, text) in self.store.texts(APPLIED, None).await? {
            if serde_json::from_str::<Applied>(&text)?.at_ms < cutoff {
                self.store.delete(&key).await?;
            }
        }
        if let Some(e) = self.store.get::<Erasure>(ERASED).await? {
            if e.erased_ms < cutoff {
                self.store.delete(ERASED).await?;
            }
        }
        if let Some(mut state) = self.store.get::<LedgerState>(STATE).await? {
            state.forget(now_ms);
            if state.is_empty() {
                self.store.delete(STATE).await?;
            } else {
                self.store.put(STATE, &state).await?;
            }
        }
        if self.store.texts("", Some(1)).await?.is_empty() {
            self.store.delete_all().await
        } else {
            self.store.set_alarm(LATE_MS).await
        }
    }
}

impl LedgerState {
    fn is_empty(&self) -> bool {
        self.touches.is_empty()
            && self.conversions.is_empty()
            && self.visits.is_empty()
            && self.calls.is_empty()
            && self.live.is_empty()
            && self.settled.is_empty()
    }

    /// The latest time in the history, ms.
    fn latest_ms(&self) -> u64 {
        let touches = self.touches.iter().map(|d| d.touch.at_ms);
        let conversions = self.conversions.iter().map(|c| c.at_ms);
        let objects = self.visits.values().chain(self.calls.values()).copied();
        touches.chain(conversions).chain(objects).max().unwrap_or(0)
    }

    /// Adds what `message` tells of the visitor to its history.
    fn take(&mut self, message: &Message) {
        match message {
            Message::Facts(batch) => {
                for fact in batch.facts.iter().filter(|f| f.kept_per_visitor()) {
                    if fact.metric == Metric::Visits {
                        self.visits
                            .entry(batch.visit.clone())
                            .or_insert(batch.at_ms);
                        continue;
                    }
                    let touch = Touch {
                        campaign: fact.campaign.clone(),
                        engagement: fact.engagement.clone(),
                        metric: fact.metric,
                        visit: batch.visit.clone(),
                        at_ms: batch.at_ms,
                    };
                    let same = |d: &Dated| {
                        (
                            d.touch.metric,
                            &d.touch.campaign,
                            &d.touch.engagement,
                            &d.touch.visit,
                        ) == (
                            touch.metric,
                            &touch.campaign,
                            &touch.engagement,
                            &touch.visit,
                        )
                    };
                    match self.touches.iter_mut().find(|d| same(d)) {
                        // First in the visit: the earlier of the two (delivery order is free).
                        Some(d) if d.touch.at_ms > touch.at_ms => {
                            d.touch.at_ms = touch.at_ms;
                        }
                        Some(_) => {}
                        None => self.touches.push(Dated {
                            touch,
                            day: batch.day.clone(),
                        }),
                    }
                }
            }
            Message::Conversion(c) => {
                if !self
                    .conversions
                    .iter()
                    .any(|k| k.reported.id == c.reported.id)
                {
                    self.conversions.push(c.clone());
                }
            }
            Message::Call(call) => {
                self.calls
                    .entry(call.instance.clone())
                    .or_insert(call.at_ms);
            }
            Message::Clicks(_) => {}
        }
        self.touches.sort_by_key(|d| d.touch.at_ms);
        self.conversions.sort_by_key(|c| c.at_ms);
        let over = self.touches.len().saturating_sub(MAX_ENTRIES);
        self.touches.drain(..over);
        let over = self.conversions.len().saturating_sub(MAX_ENTRIES);
        self.conversions.drain(..over);
    }

    /// Recomputes what the history adds to the sums under `rules`, keeps it, settles what is
    /// past change, and returns the difference from what it added before. Rows of campaigns no
    /// longer live are dropped from both, never taken back: deleting a campaign's
    /// measurements removes them from the sums.
    fn recompute(&mut self, rules: &LedgerRules, now_ms: u64) -> Deltas {
        let live = |d: &mut Deltas| d.retain(|key| rules.live(campaign_of(key)));
        live(&mut self.live);
        live(&mut self.settled);
        let now = contribution(&self.touches, &self.conversions, rules);
        let deltas = Deltas::between(&self.live, &now);
        self.live = now;
        self.settle(rules, now_ms);
        deltas
    }

    /// Moves history no late message can change any more out of the ledger, its share of the
    /// sums into `settled`; drops what the report no longer keeps.
    fn settle(&mut self, rules: &LedgerRules, now_ms: u64) {
        let period = rules.attribution.period_ms;
        let past = |at_ms: u64| at_ms + period + LATE_MS < now_ms;
        let episodes = episodes(&self.touches, period);
        let mut keep_touch = vec![true; self.touches.len()];
        for episode in &episodes {
            let last = episode
                .iter()
                .filter_map(|&i| self.touches.get(i))
                .map(|d| d.touch.at_ms)
                .max();
            if last.is_some_and(past) {
                for &i in episode {
                    if let Some(k) = keep_touch.get_mut(i) {
                        *k = false;
                    }
                }
            }
        }
        for (i, d) in self.touches.iter().enumerate() {
            if arm_of(&d.touch).is_none() && past(d.touch.at_ms) {
                if let Some(k) = keep_touch.get_mut(i) {
                    *k = false;
                }
            }
        }
        let mut keep = keep_touch.into_iter();
        self.touches.retain(|_| keep.next().unwrap_or(true));
        self.conversions.retain(|c| !past(c.at_ms));
        let remaining = contribution(&self.touches, &self.conversions, rules);
        let moved = Deltas::between(&remaining, &self.live);
        self.settled.merge(&moved, 1);
        self.live = remaining;
        self.forget(now_ms);
    }

    /// Drops what nothing needs any more, without a change to the sums: visits and calls past
    /// [`LIVE_OBJECTS_MS`], and history and rows older than the report keeps (its store drops
    /// those days itself).
    fn forget(&mut self, now_ms: u64) {
        let objects = now_ms.saturating_sub(LIVE_OBJECTS_MS);
        self.visits.retain(|_, at| *at >= objects);
        self.calls.retain(|_, at| *at >= objects);
        let oldest_ms = now_ms.saturating_sub((REPORT_DAYS + 1) * DAY_MS);
        self.touches.retain(|d| d.touch.at_ms >= oldest_ms);
        self.conversions.retain(|c| c.at_ms >= oldest_ms);
        let oldest = crate::engine::snapshot::day_in(&jiff::tz::TimeZone::UTC, oldest_ms);
        self.settled.retain(|key| key_day(key) >= oldest.as_str());
        self.live.retain(|key| key_day(key) >= oldest.as_str());
    }
}

/// The campaign a row key names (empty at the account level).
fn campaign_of(key: &str) -> &str {
    key.split('|').nth(2).unwrap_or("")
}

/// The arm a touch puts its visitor in, with the scope: the account's or a campaign's
/// control and exposed touches (engagement empty).
fn arm_of(t: &Touch) -> Option<ArmName> {
    if !t.engagement.is_empty() {
        return None;
    }
    match t.metric {
        Metric::Held => Some(ArmName::Held),
        Metric::Exposed => Some(ArmName::Exposed),
        _ => None,
    }
}

/// The visitor's entries into each arm (R-M3), as indexes of `touches` (sorted by time): per
/// scope and arm, the first touch starts an entry that lasts the cross-session period; the
/// first touch after it starts the next.
fn episodes(touches: &[Dated], period_ms: u64) -> Vec<Vec<usize>> {
    let mut open: BTreeMap<(&str, ArmName), (u64, usize)> = BTreeMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, d) in touches.iter().enumerate() {
        let Some(arm) = arm_of(&d.touch) else {
            continue;
        };
        let key = (d.touch.campaign.as_str(), arm);
        match open.get(&key) {
            Some(&(start, at)) if d.touch.at_ms <= start + period_ms => {
                if let Some(e) = out.get_mut(at) {
                    e.push(i);
                }
            }
            _ => {
                open.insert(key, (d.touch.at_ms, out.len()));
                out.push(vec![i]);
            }
        }
    }
    out
}

/// What a visitor's history adds to the account's sums (R-M2, R-M3): each conversion's rows as
/// attributed, and per entry into an arm: one visitor on the entry's day, converted or not (a
/// conversion of the scope's goal, any for the account, within the cross-session period from
/// the entry), and the value of those conversions per currency, in cents.
fn contribution(touches: &[Dated], conversions: &[Conversion], rules: &LedgerRules) -> Deltas {
    let mut out = Deltas::default();
    let history: Vec<Touch> = touches.iter().map(|d| d.touch.clone()).collect();
    let credited: Vec<_> = conversions
        .iter()
        .map(|c| (c.clone(), rules.attribution.attribute(c, &history)))
        .collect();
    for row in conversion_rows(&credited) {
        let cents = row.value.map_or(0, |v| (v * 100.0).round() as i64);
        let key = Row::Conversion {
            day: row.day,
            campaign: row.campaign,
            engagement: row.engagement,
            metric: row.metric,
            currency: row.currency.unwrap_or_default(),
        };
        out.add(
            &key,
            Sums {
                n: row.n as i64,
                sum: cents,
                squares: 0,
            },
        );
    }
    let period = rules.attribution.period_ms;
    for episode in episodes(touches, period) {
        let Some(first) = episode.first().and_then(|&i| touches.get(i)) else {
            continue;
        };
        let Some(arm) = arm_of(&first.touch) else {
            continue;
        };
        let scope = first.touch.campaign.as_str();
        let goal = rules.attribution.goals.get(scope);
        if !scope.is_empty() && goal.is_none() {
            continue; // R-M3 compares the account and the campaigns that name a goal
        }
        let start = first.touch.at_ms;
        let reached: Vec<&Conversion> = conversions
            .iter()
            .filter(|c| c.at_ms >= start && c.at_ms <= start + period)
            .filter(|c| goal.is_none_or(|g| *g == c.reported.goal))
            .collect();
        let row = |currency: &str| Row::Arm {
            day: first.day.clone(),
            scope: scope.to_string(),
            arm,
            currency: currency.to_string(),
        };
        out.add(&row(""), Sums::unit(i64::from(!reached.is_empty())));
        let mut values: BTreeMap<&str, i64> = BTreeMap::new();
        for c in &reached {
            if let (Some(currency), Some(v)) = (c.reported.currency.as_deref(), c.reported.value) {
                *values.entry(currency).or_default() += (v * 100.0).round() as i64;
            }
        }
        for (currency, cents) in values {
            out.add(&row(currency), Sums::unit(cents));
        }
    }
    out
}
