//! Click-to-call (R-C2): the brand API's body, and what the call and visit objects are sent.

use super::ApiError;
use crate::engine::click_to_call::CallStatus;
use serde::{Deserialize, Serialize};

/// Largest brand API body accepted, in bytes.
pub const MAX_BRAND_BODY: usize = 4096;

/// Body of the brand's `validate`, `visit` and `status` calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandRequest {
    /// The token the brand's page received.
    pub token: String,
    /// A status to report (`status` route only); checked by [`BrandRequest::status`].
    #[serde(default)]
    pub status: Option<String>,
}

impl BrandRequest {
    /// The status to report: required and known on the `status` route, refused elsewhere.
    pub fn status(&self, status_route: bool) -> Result<Option<CallStatus>, ApiError> {
        match (status_route, self.status.as_deref()) {
            (false, None) => Ok(None),
            (false, Some(_)) => Err(ApiError::invalid("status", "only for /status")),
            (true, given) => given.and_then(CallStatus::parse).map(Some).ok_or_else(|| {
                let names: Vec<&str> = CallStatus::ALL.iter().map(|c| c.name()).collect();
                ApiError::invalid("status", format!("one of {}", names.join(", ")))
            }),
        }
    }
}

/// A click on a click-to-call engagement, checked against the visit (R-C2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallClick {
    /// Request time, ms.
    pub now_ms: u64,
    /// The display clicked.
    pub context_id: String,
    /// Its engagement.
    pub engagement_id: String,
}

/// A brand API operation on a call's object: read it, or report a status.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallOp {
    /// Request time, ms.
    pub now_ms: u64,
    /// A status to report, if any.
    #[serde(default)]
    pub status: Option<CallStatus>,
}
