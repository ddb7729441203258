//! The measurement queue's message format, shared by its producers (the visit's object, the
//! isolates' offsite clicks, conversions, click-to-call calls) and its consumer: one type, one
//! serde encoding (JSON text on the queue).

use super::{conversion, funnel};
use serde::{Deserialize, Serialize};

/// A measurement message on the queue: a visit's facts, or a conversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Message {
    /// Facts of one change of one visit (R-M1).
    Facts(funnel::FactBatch),
    /// A conversion (R-M2).
    Conversion(conversion::Conversion),
    /// A click-to-call call of a visitor, so that erasing the visitor finds it (R-M5).
    Call(CallOfVisitor),
    /// Offsite clicks by outcome, gathered in one isolate (R-M1).
    Clicks(ClickCounts),
}

impl Message {
    /// The message's id, the same every time it is delivered: what the stores apply once.
    pub fn id(&self) -> String {
        match self {
            Message::Facts(b) => b.id.clone(),
            Message::Conversion(c) => format!("conversion:{}", c.reported.id),
            Message::Call(c) => format!("call:{}", c.instance),
            Message::Clicks(c) => c.id.clone(),
        }
    }

    /// The account the message measures.
    pub fn account(&self) -> &str {
        match self {
            Message::Facts(b) => &b.account,
            Message::Conversion(c) => &c.account,
            Message::Call(c) => &c.account,
            Message::Clicks(c) => &c.account,
        }
    }

    /// The visitor whose ledger the message changes, if any: a visit's facts that a visitor's
    /// history keeps (its visits, arms and accepted engagements), a conversion, a call.
    pub fn visitor(&self) -> Option<&str> {
        let visitor = match self {
            Message::Facts(b) if b.facts.iter().any(|f| f.kept_per_visitor()) => &b.visitor,
            Message::Conversion(c) => &c.visitor,
            Message::Call(c) => &c.visitor,
            Message::Facts(_) | Message::Clicks(_) => return None,
        };
        (!visitor.is_empty()).then_some(visitor.as_str())
    }

    /// The account's funnel rows the message adds by itself (R-M1): a visit's facts, one
    /// visit each; offsite clicks, by outcome.
    pub fn funnel(&self) -> super::sums::Deltas {
        use super::sums::{funnel_deltas, Deltas, Row, Sums};
        match self {
            Message::Facts(b) => funnel_deltas(&b.day, &b.facts),
            Message::Clicks(clicks) => {
                let mut out = Deltas::default();
                for (campaign, engagement, outcome, n) in &clicks.counts {
                    let row = Row::Clicks {
                        day: clicks.day.clone(),
                        campaign: campaign.clone(),
                        engagement: engagement.clone(),
                        outcome: outcome.clone(),
                    };
                    out.add(&row, Sums::count(i64::try_from(*n).unwrap_or(i64::MAX)));
                }
                out
            }
            Message::Conversion(_) | Message::Call(_) => Deltas::default(),
        }
    }
}

/// Offsite clicks one isolate gathered for an account (R-M1): per campaign, engagement and
/// outcome, on one day. `id` is unique per batch: the consumer adds each batch once (R-M4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClickCounts {
    /// Batch id.
    pub id: String,
    /// Account id.
    pub account: String,
    /// The clicks' day in the account's time zone.
    pub day: String,
    /// (campaign, engagement, outcome, clicks); an unknown engagement is `(unknown)` with no
    /// campaign.
    pub counts: Vec<(String, String, String, u64)>,
}

/// A call's object and its visitor (R-M5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallOfVisitor {
    /// Account id.
    pub account: String,
    /// Visitor id.
    pub visitor: String,
    /// The call object's instance name.
    pub instance: String,
    /// When the call was made, ms.
    pub at_ms: u64,
}
