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

/// The report's metric for offsite clicks with `outcome` (R-M1): `offsite_{outcome}`, counting
/// clicks, not distinct visits.
pub fn offsite_metric(outcome: &str) -> String {
    format!("offsite_{outcome}")
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
