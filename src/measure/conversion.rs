//! Goals and conversions (R-M2): a conversion as the tag, the brand's server or a click-to-call
//! call reports it, checked against the goals the account's campaigns name; and which
//! engagement it counts for. Pure: the platform stores conversions and visitors' histories
//! and hands them here to be attributed and added up for the report.

use super::funnel::Metric;
use crate::engine::click_to_call::{CallRecord, VisitorEvent, VisitorEventKind};
use crate::engine::money::{check_money, FieldProblem};
use crate::engine::snapshot::{valid_id, Attribution, ID_RULE};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A conversion as reported and checked: the brand's id (a repeated id is the same
/// conversion: R-M4), the goal, and an optional value in a currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversionIn {
    /// The brand's id of the conversion (an order number, say): reported twice, counted once.
    pub id: String,
    /// The goal reached: one a campaign of the account names.
    pub goal: String,
    /// The value, with its currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// ISO 4217 code of the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The visitor (the tag's may come from its cookie instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<String>,
    /// The visit it happened in, when the caller knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_id: Option<String>,
}

fn text(
    m: &mut serde_json::Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, FieldProblem> {
    match m.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err((field, "must be a string".into())),
    }
}

impl ConversionIn {
    /// R-M2: reads and checks a reported conversion, naming the field at fault: `id` and
    /// `visitorId` are ids, `goal` one of `goals` (the goals the account's campaigns name),
    /// `value` money from 0 with at most two decimals and `currency` its ISO 4217 code, both or
    /// neither. Unknown fields are refused.
    pub fn from_json(v: Value, goals: &BTreeSet<&str>) -> Result<ConversionIn, FieldProblem> {
        let Value::Object(mut m) = v else {
            return Err(("", "must be a JSON object".into()));
        };
        let id = text(&mut m, "id")?.unwrap_or_default();
        if !valid_id(&id) {
            return Err(("id", ID_RULE.into()));
        }
        let goal = text(&mut m, "goal")?.ok_or(("goal", "required".to_string()))?;
        if !goals.contains(goal.as_str()) {
            let named: Vec<&str> = goals.iter().copied().collect();
            let reason = if named.is_empty() {
                "no campaign of this account names a goal".to_string()
            } else {
                format!(
                    "unknown goal; the account's campaigns name: {}",
                    named.join(", ")
                )
            };
            return Err(("goal", reason));
        }
        let visitor_id = text(&mut m, "visitorId")?;
        if visitor_id.as_deref().is_some_and(|v| !valid_id(v)) {
            return Err(("visitorId", ID_RULE.into()));
        }
        let visit_id = text(&mut m, "visitId")?;
        if visit_id.as_deref().is_some_and(|v| !valid_id(v)) {
            return Err(("visitId", ID_RULE.into()));
        }
        let value = m.remove("value").filter(|v| !v.is_null());
        let currency = text(&mut m, "currency")?;
        if let Some(field) = m.keys().next() {
            let field: String = field.chars().take(40).collect();
            return Err(("", format!("unknown field \"{field}\"")));
        }
        let value = match (&value, &currency) {
            (Some(v), Some(c)) => Some(check_money(v, c)?),
            (None, None) => None,
            (Some(_), None) => return Err(("currency", "required with a value".into())),
            (None, Some(_)) => return Err(("value", "required with a currency".into())),
        };
        Ok(ConversionIn {
            id,
            goal,
            value,
            currency,
            visitor_id,
            visit_id,
        })
    }
}

/// A stored conversion: what was reported, for whom, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversion {
    /// Account id.
    pub account: String,
    /// Visitor id.
    pub visitor: String,
    /// When it was reported, ms.
    pub at_ms: u64,
    /// Its day in the account's time zone.
    pub day: String,
    /// What was reported.
    #[serde(flatten)]
    pub reported: ConversionIn,
}

/// One entry of a visitor's history (R-M2, R-M3): a metric that held for the visitor in one
/// visit, for a campaign (and, for an accepted engagement, the engagement), first at `at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Touch {
    /// Campaign id ('' for the account).
    pub campaign: String,
    /// Engagement id (accepted engagements only).
    pub engagement: String,
    /// `Accepted`, `Exposed`, `Held` or `Visits`.
    pub metric: Metric,
    /// Visit id.
    pub visit: String,
    /// When, ms.
    pub at_ms: u64,
}

/// What a conversion counts for (R-M2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credit {
    /// After engagement: the accepted engagement it is attributed to.
    Engaged {
        /// Campaign id.
        campaign: String,
        /// Engagement id.
        engagement: String,
    },
    /// After exposure, not engagement: the campaigns that exposed the visitor.
    Exposed(BTreeSet<String>),
    /// Neither.
    None,
}

/// R-M2's window as the report's query selects a conversion `c`'s history `t` (`?4`: the
/// cross-session period in ms): the same condition as [`AttributionRules`]' own check, written
/// here beside it so that the two are read and changed together.
pub const WINDOW_SQL: &str =
    "t.at_ms <= c.at_ms AND (t.at_ms >= c.at_ms - ?4 OR t.visit = c.visit)";

/// The account's attribution settings and its campaigns' goals.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributionRules {
    /// The cross-session period, ms (R-M2: default 14 days).
    pub period_ms: u64,
    /// First or last accepted engagement.
    pub model: Attribution,
    /// Each campaign's goal.
    pub goals: BTreeMap<String, String>,
}

impl AttributionRules {
    /// The rules of a published snapshot: its account's settings and its campaigns' goals.
    pub fn of(snap: &crate::engine::snapshot::Snapshot) -> AttributionRules {
        let account = &snap.account.spec;
        AttributionRules {
            period_ms: u64::from(account.cross_session_days) * 86_400_000,
            model: account.attribution,
            goals: snap
                .campaigns
                .iter()
                .filter_map(|c| Some((c.spec.id.clone(), c.spec.goal.clone()?)))
                .collect(),
        }
    }

    /// True when `t` may take credit for `c`: it happened before, in the same visit or
    /// within the cross-session period ([`WINDOW_SQL`] is the same window for the database),
    /// for a campaign whose goal is the conversion's.
    fn eligible(&self, c: &Conversion, t: &Touch) -> bool {
        let in_time = t.at_ms <= c.at_ms
            && (c.reported.visit_id.as_deref() == Some(t.visit.as_str())
                || c.at_ms - t.at_ms <= self.period_ms);
        in_time && self.goals.get(&t.campaign) == Some(&c.reported.goal)
    }

    /// R-M2: what `c` counts for, given the visitor's history: the first or last accepted
    /// engagement (the account's setting) of a campaign with the conversion's goal, in the same
    /// visit or within the cross-session period; else the campaigns with that goal that
    /// exposed the visitor in that time ("after exposure, not engagement"); else nothing.
    ///
    /// # Example
    ///
    /// ```
    /// use edge_engage::engine::snapshot::Attribution;
    /// use edge_engage::measure::conversion::{AttributionRules, Conversion, ConversionIn, Credit, Touch};
    /// use edge_engage::measure::funnel::Metric;
    ///
    /// const DAY: u64 = 86_400_000;
    /// let rules = AttributionRules {
    ///     period_ms: 14 * DAY,
    ///     model: Attribution::Last,
    ///     goals: [("c-sale".to_string(), "purchase".to_string())].into(),
    /// };
    /// let touch = |metric, engagement: &str, at_ms| Touch {
    ///     campaign: "c-sale".into(),
    ///     engagement: engagement.into(),
    ///     metric,
    ///     visit: "visit-1".into(),
    ///     at_ms,
    /// };
    /// let history = [
    ///     touch(Metric::Accepted, "e-chat", DAY),
    ///     touch(Metric::Accepted, "e-banner", 2 * DAY),
    /// ];
    /// let purchase = |at_ms| Conversion {
    ///     account: "acme".into(),
    ///     visitor: "visitor-1".into(),
    ///     at_ms,
    ///     day: "2027-01-15".into(),
    ///     reported: ConversionIn {
    ///         id: "order-1".into(),
    ///         goal: "purchase".into(),
    ///         value: None,
    ///         currency: None,
    ///         visitor_id: None,
    ///         visit_id: Some("visit-2".into()),
    ///     },
    /// };
    /// // The last accepted engagement within the period takes the credit.
    /// let credit = rules.attribute(&purchase(3 * DAY), &history);
    /// assert_eq!(credit, Credit::Engaged { campaign: "c-sale".into(), engagement: "e-banner".into() });
    /// // Past the period, in another visit, nothing does.
    /// assert_eq!(rules.attribute(&purchase(20 * DAY), &history), Credit::None);
    /// ```
    pub fn attribute(&self, c: &Conversion, history: &[Touch]) -> Credit {
        let mut accepted: Vec<&Touch> = history
            .iter()
            .filter(|t| t.metric == Metric::Accepted && self.eligible(c, t))
            .collect();
        accepted.sort_by(|a, b| {
            (a.at_ms, &a.campaign, &a.engagement).cmp(&(b.at_ms, &b.campaign, &b.engagement))
        });
        let pick = match self.model {
            Attribution::First => accepted.first(),
            Attribution::Last => accepted.last(),
        };
        if let Some(t) = pick {
            return Credit::Engaged {
                campaign: t.campaign.clone(),
                engagement: t.engagement.clone(),
            };
        }
        let exposed: BTreeSet<String> = history
            .iter()
            .filter(|t| t.metric == Metric::Exposed && !t.campaign.is_empty())
            .filter(|t| self.eligible(c, t))
            .map(|t| t.campaign.clone())
            .collect();
        if exposed.is_empty() {
            Credit::None
        } else {
            Credit::Exposed(exposed)
        }
    }
}

/// One report row (R-M1, R-M2): a metric's count on a day for the account (campaign and
/// engagement empty), a campaign (engagement empty) or an engagement; for revenue, the sum of
/// values in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    /// `YYYY-MM-DD`: the visit's first day for the funnel, the conversion's day for
    /// conversions.
    pub day: String,
    /// Campaign id, or empty.
    pub campaign: String,
    /// Engagement id, or empty.
    pub engagement: String,
    /// Line of business, at that level only.
    #[serde(
        default,
        rename = "lineOfBusiness",
        skip_serializing_if = "String::is_empty"
    )]
    pub line_of_business: String,
    /// Entry point id, at that level only.
    #[serde(
        default,
        rename = "entryPoint",
        skip_serializing_if = "String::is_empty"
    )]
    pub entry_point: String,
    /// Metric name (docs/measurement.md).
    pub metric: String,
    /// Distinct visits (funnel) or conversions.
    pub n: u64,
    /// Revenue rows: ISO 4217 code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Revenue rows: the sum of values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

impl ReportRow {
    /// The order the report lists rows in.
    pub fn key(&self) -> (&str, &str, &str, &str, &str, &str, Option<&str>) {
        (
            &self.day,
            &self.campaign,
            &self.engagement,
            &self.line_of_business,
            &self.entry_point,
            &self.metric,
            self.currency.as_deref(),
        )
    }
}

/// Conversion metrics as the report names them.
pub mod metric {
    /// Every conversion (account level).
    pub const CONVERSIONS: &str = "conversions";
    /// Conversions after engagement: attributed to an accepted engagement.
    pub const ENGAGED: &str = "conversions_engaged";
    /// Conversions after exposure, not engagement.
    pub const EXPOSED: &str = "conversions_exposed";
    /// Revenue of every conversion, per currency (account level).
    pub const REVENUE: &str = "revenue";
    /// Revenue of conversions after engagement, per currency.
    pub const REVENUE_ENGAGED: &str = "revenue_engaged";
}

/// (day, campaign, engagement, metric, currency or empty).
type RowKey = (String, String, String, &'static str, String);

/// R-M2: the conversion rows of the report: per conversion day, every conversion and its
/// revenue (account level); conversions after engagement and their revenue for the
/// engagement, its campaign and the account; conversions after exposure, not engagement, for
/// each campaign that exposed the visitor and once for the account.
pub fn conversion_rows(credited: &[(Conversion, Credit)]) -> Vec<ReportRow> {
    // (day, campaign, engagement, metric, currency) -> (n, value)
    let mut sums: BTreeMap<RowKey, (u64, i64)> = BTreeMap::new();
    let mut add = |day: &str,
                   campaign: &str,
                   engagement: &str,
                   metric: &'static str,
                   money: Option<(&str, f64)>| {
        let key = (
            day.to_string(),
            campaign.to_string(),
            engagement.to_string(),
            metric,
            money.map(|m| m.0.to_string()).unwrap_or_default(),
        );
        let slot = sums.entry(key).or_default();
        slot.0 += 1;
        // Values have at most two decimals: summed in cents, exactly.
        slot.1 += money.map_or(0, |m| (m.1 * 100.0).round() as i64);
    };
    for (c, credit) in credited {
        let day = c.day.as_str();
        let money = c.reported.currency.as_deref().zip(c.reported.value);
        add(day, "", "", metric::CONVERSIONS, None);
        if let Some(m) = money {
            add(day, "", "", metric::REVENUE, Some(m));
        }
        match credit {
            Credit::Engaged {
                campaign,
                engagement,
            } => {
                for (cam, eng) in [
                    ("", ""),
                    (campaign.as_str(), ""),
                    (campaign.as_str(), engagement.as_str()),
                ] {
                    add(day, cam, eng, metric::ENGAGED, None);
                    if let Some(m) = money {
                        add(day, cam, eng, metric::REVENUE_ENGAGED, Some(m));
                    }
                }
            }
            Credit::Exposed(campaigns) => {
                add(day, "", "", metric::EXPOSED, None);
                for cam in campaigns {
                    add(day, cam, "", metric::EXPOSED, None);
                }
            }
            Credit::None => {}
        }
    }
    sums.into_iter()
        .map(
            |((day, campaign, engagement, metric, currency), (n, value))| {
                let revenue = !currency.is_empty();
                ReportRow {
                    day,
                    campaign,
                    engagement,
                    line_of_business: String::new(),
                    entry_point: String::new(),
                    metric: metric.to_string(),
                    n,
                    currency: revenue.then_some(currency),
                    value: revenue.then(|| value as f64 / 100.0),
                }
            },
        )
        .collect()
}

impl Conversion {
    /// R-M2: a purchase or lead the brand reported for a click-to-call call, as a conversion
    /// of the call's visitor in the call's visit: the goal of the engagement's campaign (the
    /// kind's name when it names none), the value and currency as reported, the id made of
    /// the call's and the event's so that a repeated report is the same conversion. `None` for
    /// attributes.
    pub fn of_call_event(
        call: &CallRecord,
        call_key: &str,
        event: &VisitorEvent,
        goal: Option<&str>,
        day: String,
    ) -> Option<Conversion> {
        if event.kind == VisitorEventKind::Attribute {
            return None;
        }
        Some(Conversion {
            account: call.account.clone(),
            visitor: call.visit.visitor_id.clone(),
            at_ms: event.at_ms,
            day,
            reported: ConversionIn {
                id: format!("call:{call_key}:{}", event.id),
                goal: goal.unwrap_or(event.kind.name()).to_string(),
                value: event.value.as_ref().and_then(Value::as_f64),
                currency: event.currency.clone(),
                visitor_id: None,
                visit_id: Some(call.visit_id.clone()),
            },
        })
    }
}
