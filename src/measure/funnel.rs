//! The campaign funnel (R-M1) as facts. A visit counts once per metric and entity, so the
//! visit's object turns each change of its state into the facts that became true for the
//! first time in this visit; each fact is then counted once by the daily rollup (R-M4). Pure:
//! the object keeps [`Tally`] and ships [`FactBatch`]es; the consumer adds them up.

use crate::engine::agent::AgentState;
use crate::engine::events::{ContextRecord, EventName};
use crate::engine::visit::{VisitAnswer, VisitRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A funnel metric (R-M1), named as the report names it ([`Metric::name`], which is also its
/// serde form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    /// Visits (account level).
    Visits,
    /// Visits eligible for at least one engagement (account level).
    Prospects,
    /// Visits offered at least one engagement (account level, and per campaign/engagement).
    Exposed,
    /// Exposures in the online state.
    ExposedOnline,
    /// Exposures in the busy state.
    ExposedBusy,
    /// Exposures in the offline state.
    ExposedOffline,
    /// Exposures of content engagements (banner, click-to-call).
    ExposedContent,
    /// Exposures of messaging engagements.
    ExposedMessaging,
    /// Impressions (OFFER_IMPRESSION).
    Views,
    /// Clicks (OFFER_CLICK).
    Accepted,
    /// Closed by the visitor (OFFER_DECLINED).
    Declines,
    /// Timed out (OFFER_TIMEOUT).
    Timeouts,
    /// Visits with at least one accepted engagement (account level, and per campaign and
    /// engagement).
    Engaged,
    /// Visits held out by a control group where they would have been prospects: by the
    /// account's (account level) or a campaign's (campaign level) (R-D5, R-M3).
    Held,
}

impl Metric {
    /// The name the report uses.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Visits => "visits",
            Metric::Prospects => "prospects",
            Metric::Exposed => "exposed",
            Metric::ExposedOnline => "exposed_online",
            Metric::ExposedBusy => "exposed_busy",
            Metric::ExposedOffline => "exposed_offline",
            Metric::ExposedContent => "exposed_content",
            Metric::ExposedMessaging => "exposed_messaging",
            Metric::Views => "views",
            Metric::Accepted => "accepted",
            Metric::Declines => "declines",
            Metric::Timeouts => "timeouts",
            Metric::Engaged => "engaged",
            Metric::Held => "held",
        }
    }

    /// Every metric.
    pub const ALL: [Metric; 14] = [
        Metric::Visits,
        Metric::Prospects,
        Metric::Exposed,
        Metric::ExposedOnline,
        Metric::ExposedBusy,
        Metric::ExposedOffline,
        Metric::ExposedContent,
        Metric::ExposedMessaging,
        Metric::Views,
        Metric::Accepted,
        Metric::Declines,
        Metric::Timeouts,
        Metric::Engaged,
        Metric::Held,
    ];

    /// The metric the report names `name`.
    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        Metric::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("no metric \"{name}\"")))
    }
}

/// One counted fact: `metric` became true in this visit at one level: the account (every id
/// empty), a campaign, an engagement (campaign and engagement), a line of business or an
/// entry point.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fact {
    /// Campaign id, or empty.
    pub campaign: String,
    /// Engagement id, or empty.
    pub engagement: String,
    /// The metric.
    pub metric: Metric,
    /// Line of business, at that level only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub line_of_business: String,
    /// Entry point id, at that level only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub entry_point: String,
}

impl Fact {
    /// True for the facts a visitor's history keeps (R-M2, R-M3, R-M5): the visit (to find a
    /// visitor's visits when erasing it), the account's and each campaign's control and exposed
    /// arms, and each accepted engagement.
    pub fn kept_per_visitor(&self) -> bool {
        if !self.line_of_business.is_empty() || !self.entry_point.is_empty() {
            return false;
        }
        match self.metric {
            Metric::Visits => self.campaign.is_empty(),
            Metric::Held | Metric::Exposed => self.engagement.is_empty(),
            Metric::Accepted => !self.engagement.is_empty(),
            _ => false,
        }
    }

    /// A fact at account level.
    pub fn account(metric: Metric) -> Fact {
        Fact::engagement("", "", metric)
    }

    /// A fact at campaign level.
    pub fn campaign(campaign: &str, metric: Metric) -> Fact {
        Fact::engagement(campaign, "", metric)
    }

    /// A fact of one engagement.
    pub fn engagement(campaign: &str, engagement: &str, metric: Metric) -> Fact {
        Fact {
            campaign: campaign.to_string(),
            engagement: engagement.to_string(),
            metric,
            line_of_business: String::new(),
            entry_point: String::new(),
        }
    }

    /// The facts at the line-of-business and entry-point levels of an engagement that has
    /// them (R-M1).
    fn dimensions(lob: Option<&str>, entry_point: Option<&str>, metric: Metric) -> Vec<Fact> {
        let mut out = Vec::new();
        if let Some(lob) = lob {
            out.push(Fact {
                line_of_business: lob.to_string(),
                ..Fact::account(metric)
            });
        }
        if let Some(ep) = entry_point {
            out.push(Fact {
                entry_point: ep.to_string(),
                ..Fact::account(metric)
            });
        }
        out
    }
}

/// Facts of one change of one visit, shipped as one queue message. `id` is unique per visit
/// and change: the consumer applies each id once (R-M4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FactBatch {
    /// `{account}:{visit}:{visit start ms}:{sequence}`.
    pub id: String,
    /// Account id.
    pub account: String,
    /// Visitor id.
    #[serde(default)]
    pub visitor: String,
    /// Visit id.
    #[serde(default)]
    pub visit: String,
    /// When the change happened, ms.
    #[serde(default)]
    pub at_ms: u64,
    /// The visit's day (its start, in the account's time zone), `YYYY-MM-DD`.
    pub day: String,
    /// The facts.
    pub facts: Vec<Fact>,
    /// Test builds only: the fault the batch is to meet on its way (`consumer`, `queue`,
    /// `hold-send`; docs/api.md). Builds without `test-faults` have no such field.
    #[cfg(feature = "test-faults")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<crate::faults::Fault>,
}

/// What a visit has counted so far, kept by its object beside the visit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    /// The visit's first activity, ms: part of every batch id, so a visit that ended and
    /// started again under the same id counts anew.
    pub started_ms: u64,
    /// The visit's day.
    pub day: String,
    /// Batches shipped so far.
    pub sequence: u64,
    /// Facts already counted in this visit.
    pub counted: BTreeSet<Fact>,
}

impl Tally {
    /// Keeps the facts not yet counted in this visit and returns them as the next batch, or
    /// `None` when nothing is new.
    fn batch(&mut self, at: VisitAt<'_>, facts: Vec<Fact>) -> Option<FactBatch> {
        let new: Vec<Fact> = facts
            .into_iter()
            .filter(|f| self.counted.insert(f.clone()))
            .collect();
        if new.is_empty() {
            return None;
        }
        self.sequence += 1;
        Some(FactBatch {
            id: format!(
                "{}:{}:{}:{}",
                at.account, at.visit, self.started_ms, self.sequence
            ),
            account: at.account.to_string(),
            visitor: at.visitor.to_string(),
            visit: at.visit.to_string(),
            at_ms: at.now_ms,
            day: self.day.clone(),
            facts: new,
            #[cfg(feature = "test-faults")]
            fault: None,
        })
    }

    /// Starts a fresh tally when the visit is a new one (its first activity changed); the
    /// day is the one of the visit's first counted request.
    fn start(&mut self, started_ms: u64, day: &str) {
        if self.started_ms != started_ms || self.day.is_empty() {
            *self = Tally {
                started_ms,
                day: day.to_string(),
                ..Tally::default()
            };
        }
    }

    /// R-M1, R-M3: the facts of a decision: the visit; a prospect when any engagement was a
    /// candidate (control visitors included); held, for the account's or each campaign's
    /// control group that kept the visitor from a candidate; exposed when any engagement was
    /// shown, with each shown engagement's exposure by state. `started_ms` is the visit's
    /// first activity, `day` the request's day.
    pub fn decided(
        &mut self,
        req: &VisitRequest<'_>,
        answer: &VisitAnswer,
        started_ms: u64,
        day: &str,
    ) -> Option<FactBatch> {
        self.start(started_ms, day);
        let mut facts = vec![Fact::account(Metric::Visits)];
        let prospect = req.zones.iter().any(|z| !z.candidates.is_empty());
        if prospect {
            facts.push(Fact::account(Metric::Prospects));
        }
        for c in req.zones.iter().flat_map(|z| z.candidates.iter()) {
            let (lob, ep) = (c.line_of_business.as_deref(), c.entry_point.as_deref());
            facts.extend(Fact::dimensions(lob, ep, Metric::Prospects));
        }
        if prospect && req.control.account {
            facts.push(Fact::account(Metric::Held));
        }
        for campaign in &req.control.campaigns {
            facts.push(Fact::campaign(campaign, Metric::Held));
        }
        for chosen in answer.chosen.iter().filter(|c| !c.held) {
            let Some(c) = req
                .zones
                .iter()
                .flat_map(|z| z.candidates.iter())
                .find(|c| c.engagement_id == chosen.engagement_id.as_str())
            else {
                continue;
            };
            let state = match (c.conversation, c.class, chosen.state) {
                (false, _, _) => Metric::ExposedContent,
                (true, crate::engine::arbitrate::Class::ContentOrMessaging, _) => {
                    Metric::ExposedMessaging
                }
                (true, _, AgentState::Online) => Metric::ExposedOnline,
                (true, _, AgentState::Busy) => Metric::ExposedBusy,
                (true, _, AgentState::Offline) => Metric::ExposedOffline,
            };
            facts.push(Fact::account(Metric::Exposed));
            facts.push(Fact::campaign(&c.campaign_id, Metric::Exposed));
            let (lob, ep) = (c.line_of_business.as_deref(), c.entry_point.as_deref());
            facts.extend(Fact::dimensions(lob, ep, Metric::Exposed));
            for metric in [Metric::Exposed, state] {
                facts.push(Fact::engagement(&c.campaign_id, &c.engagement_id, metric));
            }
        }
        let at = VisitAt {
            account: &req.account,
            visitor: &req.visitor_id,
            visit: &req.visit_id,
            started_ms,
            now_ms: req.now_ms,
            day,
        };
        self.batch(at, facts)
    }

    /// R-M1: the facts of an event applied for `record`'s engagement (the visit counts too:
    /// an offsite landing visit may report events before any decision).
    pub fn event(
        &mut self,
        at: VisitAt<'_>,
        record: &ContextRecord,
        event: EventName,
    ) -> Option<FactBatch> {
        self.start(at.started_ms, at.day);
        let metric = match event {
            EventName::OfferImpression => Metric::Views,
            EventName::OfferClick => Metric::Accepted,
            EventName::OfferDeclined => Metric::Declines,
            EventName::OfferTimeout => Metric::Timeouts,
            EventName::Start | EventName::OfferDisplay | EventName::OfferRemove => return None,
        };
        let of = |metric| Fact::engagement(&record.campaign_id, &record.engagement_id, metric);
        let dimensions = |metric| {
            Fact::dimensions(
                record.line_of_business.as_deref(),
                record.entry_point.as_deref(),
                metric,
            )
        };
        let mut facts = vec![Fact::account(Metric::Visits), of(metric)];
        facts.extend(dimensions(metric));
        if metric == Metric::Accepted {
            facts.push(of(Metric::Engaged));
            facts.push(Fact::campaign(&record.campaign_id, Metric::Engaged));
            facts.push(Fact::account(Metric::Engaged));
            facts.extend(dimensions(Metric::Engaged));
        }
        self.batch(at, facts)
    }
}

impl<'a> VisitAt<'a> {
    /// The visit `visit` (of `account`, id `visit_id`) at `now_ms` on `day`.
    pub fn of(
        visit: &'a crate::engine::visit::VisitState,
        account: &'a str,
        visit_id: &'a str,
        now_ms: u64,
        day: &'a str,
    ) -> VisitAt<'a> {
        VisitAt {
            account,
            visitor: &visit.visitor_id,
            visit: visit_id,
            started_ms: visit.first_activity_ms,
            now_ms,
            day,
        }
    }
}

/// Where and when a visit is: what an event's facts need.
#[derive(Debug, Clone, Copy)]
pub struct VisitAt<'a> {
    /// Account id.
    pub account: &'a str,
    /// Visitor id.
    pub visitor: &'a str,
    /// Visit id.
    pub visit: &'a str,
    /// The visit's first activity, ms.
    pub started_ms: u64,
    /// The change's time, ms.
    pub now_ms: u64,
    /// The request's day in the account's time zone.
    pub day: &'a str,
}
