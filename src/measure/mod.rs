//! Measurement (SPEC section 7), pure: the funnel's facts a visit counts once each (R-M1,
//! R-M4), conversions and their attribution (R-M2) and the statistics that compare control against exposed visitors (R-M3). No I/O and
//! no `worker` imports, like the engine.

pub mod conversion;
pub mod funnel;
pub mod stats;

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
