//! `/v1/state` (R-D8): the button refresh request.

use super::error::{check_id, valid_id, ApiError};
use serde::Deserialize;

/// Most engagements one refresh may ask about.
pub const MAX_IDS: usize = 20;
/// Largest refresh body accepted, in bytes.
pub const MAX_REFRESH_BODY: usize = 8 * 1024;

/// `POST /v1/state` body (the GET form carries the same fields as query parameters).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    /// Account id.
    pub account: String,
    /// Engagement ids on the page.
    pub engagements: Vec<String>,
    /// Visit id (accepted, not used: refresh never touches the visit).
    #[serde(default)]
    pub visit_id: Option<String>,
}

impl RefreshRequest {
    /// Checks ids and the number of engagements.
    pub fn check(self) -> Result<RefreshRequest, ApiError> {
        check_id("account", &self.account)?;
        if let Some(v) = &self.visit_id {
            check_id("visitId", v)?;
        }
        if self.engagements.is_empty()
            || self.engagements.len() > MAX_IDS
            || !self.engagements.iter().all(|e| valid_id(e))
        {
            return Err(ApiError::invalid(
                "engagements",
                format!("1 to {MAX_IDS} engagement ids"),
            ));
        }
        Ok(self)
    }
}
