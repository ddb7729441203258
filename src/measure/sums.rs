//! The account's measurement as sums (R-M1..R-M3, R-M6): every figure the report shows is a
//! sum of small per-visit or per-visitor contributions, kept per day under a [`Row`]. The
//! stores add [`Deltas`] and never hold a row per visitor, so a report reads O(days × rows),
//! whatever the traffic behind them.

use super::conversion::ReportRow;
use super::funnel::{Fact, Metric};
use super::stats::{Arm, ControlVsExposed};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Which arm of a comparison (R-M3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ArmName {
    /// Held out by a control group.
    Held,
    /// Exposed.
    Exposed,
}

impl ArmName {
    /// The funnel metric whose touches put a visitor in this arm.
    pub fn metric(self) -> Metric {
        match self {
            ArmName::Held => Metric::Held,
            ArmName::Exposed => Metric::Exposed,
        }
    }

    fn code(self) -> &'static str {
        match self {
            ArmName::Held => "held",
            ArmName::Exposed => "exposed",
        }
    }
}

/// One row of the sums, on one day (`YYYY-MM-DD` in the account's time zone).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Row {
    /// R-M1: a funnel metric's distinct visits (offsite clicks: clicks) at one level, by the
    /// visit's first day.
    Funnel {
        /// Day.
        day: String,
        /// The level and metric.
        fact: Fact,
    },
    /// R-M1: offsite clicks (not distinct visits) with one outcome, by the clicks' day.
    Clicks {
        /// Day.
        day: String,
        /// Campaign id, or empty for a link of no known engagement.
        campaign: String,
        /// Engagement id, or `(unknown)`.
        engagement: String,
        /// The outcome's code (`eligible`, `outside_hours`, …).
        outcome: String,
    },
    /// R-M2: conversions (`n`) and their value in `currency` (`sum`, cents) by the
    /// conversion's day, at the account, a campaign or an engagement.
    Conversion {
        /// Day.
        day: String,
        /// Campaign id, or empty.
        campaign: String,
        /// Engagement id, or empty.
        engagement: String,
        /// `conversions`, `conversions_engaged`, … (`conversion::metric`).
        metric: String,
        /// ISO 4217 code for revenue rows, else empty.
        currency: String,
    },
    /// R-M3: one arm of a scope (the account: `scope` empty, or a campaign), by the day its
    /// visitors entered it. With `currency` empty: `n` visitors, `sum` and `squares` those who
    /// converted; with a currency: the value per visitor in cents (`sum`, `squares`), `n`
    /// the visitors with a value.
    Arm {
        /// Day.
        day: String,
        /// Campaign id, or empty for the account.
        scope: String,
        /// The arm.
        arm: ArmName,
        /// ISO 4217 code, or empty for the conversion rate.
        currency: String,
    },
}

/// `|` separates a key's parts; ids cannot hold it (`ID_RULE`), free text (a line of
/// business) has it and `%` escaped.
fn escape(s: &str) -> String {
    s.replace('%', "%25").replace('|', "%7C")
}

fn unescape(s: &str) -> String {
    s.replace("%7C", "|").replace("%25", "%")
}

impl Row {
    /// The row's day.
    pub fn day(&self) -> &str {
        match self {
            Row::Funnel { day, .. }
            | Row::Clicks { day, .. }
            | Row::Conversion { day, .. }
            | Row::Arm { day, .. } => day,
        }
    }

    /// The row's campaign (empty at the account level).
    pub fn campaign(&self) -> &str {
        match self {
            Row::Funnel { fact, .. } => &fact.campaign,
            Row::Clicks { campaign, .. } | Row::Conversion { campaign, .. } => campaign,
            Row::Arm { scope, .. } => scope,
        }
    }

    /// The storage key: the day first, so that a range of days is a range of keys.
    pub fn key(&self) -> String {
        match self {
            Row::Funnel { day, fact } => format!(
                "{day}|f|{}|{}|{}|{}|{}",
                escape(&fact.campaign),
                escape(&fact.engagement),
                escape(&fact.line_of_business),
                escape(&fact.entry_point),
                fact.metric.name()
            ),
            Row::Clicks {
                day,
                campaign,
                engagement,
                outcome,
            } => format!(
                "{day}|o|{}|{}|{}",
                escape(campaign),
                escape(engagement),
                escape(outcome)
            ),
            Row::Conversion {
                day,
                campaign,
                engagement,
                metric,
                currency,
            } => format!(
                "{day}|c|{}|{}|{}|{}",
                escape(campaign),
                escape(engagement),
                escape(metric),
                escape(currency)
            ),
            Row::Arm {
                day,
                scope,
                arm,
                currency,
            } => format!(
                "{day}|a|{}|{}|{}",
                escape(scope),
                arm.code(),
                escape(currency)
            ),
        }
    }

    /// The row a [`Row::key`] names; `None` for text no key has.
    pub fn parse(key: &str) -> Option<Row> {
        let parts: Vec<String> = key.split('|').map(unescape).collect();
        match parts.as_slice() {
            [day, kind, campaign, engagement, lob, ep, metric] if kind == "f" => {
                Some(Row::Funnel {
                    day: day.clone(),
                    fact: Fact {
                        campaign: campaign.clone(),
                        engagement: engagement.clone(),
                        metric: Metric::parse(metric)?,
                        line_of_business: lob.clone(),
                        entry_point: ep.clone(),
                    },
                })
            }
            [day, kind, campaign, engagement, outcome] if kind == "o" => Some(Row::Clicks {
                day: day.clone(),
                campaign: campaign.clone(),
                engagement: engagement.clone(),
                outcome: outcome.clone(),
            }),
            [day, kind, campaign, engagement, metric, currency] if kind == "c" => {
                Some(Row::Conversion {
                    day: day.clone(),
                    campaign: campaign.clone(),
                    engagement: engagement.clone(),
                    metric: metric.clone(),
                    currency: currency.clone(),
                })
            }
            [day, kind, scope, arm, currency] if kind == "a" => Some(Row::Arm {
                day: day.clone(),
                scope: scope.clone(),
                arm: match arm.as_str() {
                    "held" => ArmName::Held,
                    "exposed" => ArmName::Exposed,
                    _ => return None,
                },
                currency: currency.clone(),
            }),
            _ => None,
        }
    }
}

/// A row travels as its key.
impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let key = std::borrow::Cow::<str>::deserialize(d)?;
        Row::parse(&key).ok_or_else(|| serde::de::Error::custom("not a row key"))
    }
}

/// What a row adds up: a count, a sum and a sum of squares, exactly (values in cents).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sums {
    /// Count.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub n: i64,
    /// Sum (cents, or conversions).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sum: i64,
    /// Sum of squares (cents², or conversions): i128, since one large order's square in
    /// cents passes 2^53 and a few thousand pass i64.
    #[serde(default, skip_serializing_if = "is_zero_wide")]
    pub squares: i128,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_zero_wide(v: &i128) -> bool {
    *v == 0
}

impl Sums {
    /// A count of `n`.
    pub fn count(n: i64) -> Sums {
        Sums {
            n,
            ..Sums::default()
        }
    }

    /// One unit with value `x`: n 1, sum x, squares x².
    pub fn unit(x: i64) -> Sums {
        Sums {
            n: 1,
            sum: x,
            squares: i128::from(x) * i128::from(x),
        }
    }

    /// True when every part is 0.
    pub fn is_zero(&self) -> bool {
        *self == Sums::default()
    }

    /// Adds `other` (`sign` 1) or takes it away (`sign` -1).
    pub fn add(&mut self, other: &Sums, sign: i64) {
        self.n += sign * other.n;
        self.sum += sign * other.sum;
        self.squares += i128::from(sign) * other.squares;
    }
}

/// Changes to the sums, by row key ([`Row::key`]); no zero entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Deltas(pub BTreeMap<String, Sums>);

impl Deltas {
    /// Adds `sums` to `row`.
    pub fn add(&mut self, row: &Row, sums: Sums) {
        self.add_key(row.key(), &sums, 1);
    }

    fn add_key(&mut self, key: String, sums: &Sums, sign: i64) {
        let zero = {
            let slot = self.0.entry(key.clone()).or_default();
            slot.add(sums, sign);
            slot.is_zero()
        };
        if zero {
            self.0.remove(&key);
        }
    }

    /// Adds every change of `other` (`sign` 1), or takes it away (`sign` -1).
    pub fn merge(&mut self, other: &Deltas, sign: i64) {
        for (key, sums) in &other.0 {
            self.add_key(key.clone(), sums, sign);
        }
    }

    /// What turns `from` into `to`: `to − from`.
    pub fn between(from: &Deltas, to: &Deltas) -> Deltas {
        let mut out = to.clone();
        out.merge(from, -1);
        out
    }

    /// True when nothing changes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keeps the rows `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.0.retain(|key, _| keep(key));
    }
}

/// The rows of the funnel facts of one visit's change on `day`: one visit each (R-M1).
pub fn funnel_deltas(day: &str, facts: &[Fact]) -> Deltas {
    let mut out = Deltas::default();
    for fact in facts {
        let row = Row::Funnel {
            day: day.to_string(),
            fact: fact.clone(),
        };
        out.add(&row, Sums::count(1));
    }
    out
}

/// The report's metric for offsite clicks with `outcome` (R-M1): `offsite_{outcome}`, counting
/// clicks, not distinct visits.
pub fn offsite_metric(outcome: &str) -> String {
    format!("offsite_{outcome}")
}

/// The day of a row key: its first part.
pub fn key_day(key: &str) -> &str {
    key.split('|').next().unwrap_or("")
}

/// What the report shows of a range of rows (R-M1..R-M3).
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// The funnel and conversion rows, in the report's order.
    pub rows: Vec<ReportRow>,
    /// The control-against-exposed table.
    pub comparisons: Vec<ControlVsExposed>,
}

/// R-M1..R-M3: the report of `rows` (a range of days of the summary): its funnel and
/// conversion rows as they are, and the control-against-exposed table for each scope of
/// `scopes` (`("", "")` for the account, then each campaign with its goal): the conversion
/// rate, and the value per visitor in each currency the range's revenue rows name, each arm's
/// visitors and sums added over the days its visitors entered it.
pub fn read(rows: &[(Row, Sums)], scopes: &[(String, String)]) -> Read {
    let mut out = Vec::new();
    let mut currencies = BTreeSet::new();
    // (scope, arm, currency) → sums over the range
    let mut arms: BTreeMap<(&str, ArmName, &str), Sums> = BTreeMap::new();
    for (row, sums) in rows {
        match row {
            Row::Funnel { day, fact } => out.push(ReportRow {
                day: day.clone(),
                campaign: fact.campaign.clone(),
                engagement: fact.engagement.clone(),
                line_of_business: fact.line_of_business.clone(),
                entry_point: fact.entry_point.clone(),
                metric: fact.metric.name().to_string(),
                n: u64::try_from(sums.n).unwrap_or(0),
                currency: None,
                value: None,
            }),
            Row::Clicks {
                day,
                campaign,
                engagement,
                outcome,
            } => out.push(ReportRow {
                day: day.clone(),
                campaign: campaign.clone(),
                engagement: engagement.clone(),
                line_of_business: String::new(),
                entry_point: String::new(),
                metric: offsite_metric(outcome),
                n: u64::try_from(sums.n).unwrap_or(0),
                currency: None,
                value: None,
            }),
            Row::Conversion {
                day,
                campaign,
                engagement,
                metric,
                currency,
            } => {
                let revenue = !currency.is_empty();
                if revenue {
                    currencies.insert(currency.as_str());
                }
                out.push(ReportRow {
                    day: day.clone(),
                    campaign: campaign.clone(),
                    engagement: engagement.clone(),
                    line_of_business: String::new(),
                    entry_point: String::new(),
                    metric: metric.clone(),
                    n: u64::try_from(sums.n).unwrap_or(0),
                    currency: revenue.then(|| currency.clone()),
                    value: revenue.then(|| sums.sum as f64 / 100.0),
                });
            }
            Row::Arm {
                scope,
                arm,
                currency,
                ..
            } => arms
                .entry((scope.as_str(), *arm, currency.as_str()))
                .or_default()
                .add(sums, 1),
        }
    }
    out.sort_by(|a, b| a.key().cmp(&b.key()));
    let mut comparisons = Vec::new();
    for (campaign, goal) in scopes {
        let sums = |arm: ArmName, currency: &str| {
            arms.get(&(campaign.as_str(), arm, currency))
                .copied()
                .unwrap_or_default()
        };
        for currency in std::iter::once(None).chain(currencies.iter().map(|c| Some(*c))) {
            let arm = |name: ArmName| {
                let visitors = sums(name, "");
                let n = u64::try_from(visitors.n).unwrap_or(0);
                match currency {
                    None => Arm::proportion(n, u64::try_from(visitors.sum).unwrap_or(0)),
                    Some(c) => {
                        let value = sums(name, c);
                        Arm {
                            n,
                            sum: value.sum as f64 / 100.0,
                            sum_squares: value.squares as f64 / 10_000.0,
                        }
                    }
                }
            };
            let metric = if currency.is_some() {
                "value_per_visitor"
            } else {
                "conversion_rate"
            };
            comparisons.push(ControlVsExposed::new(
                campaign,
                goal,
                metric,
                currency,
                arm(ArmName::Held),
                arm(ArmName::Exposed),
            ));
        }
    }
    Read {
        rows: out,
        comparisons,
    }
}
