//! The offsite landing hand-off's public exchange (`GET /v1/landing/{account}`) and the
//! agent side's context read (R-O2): their queries, answers and what the visit object answers.

use super::error::*;
use crate::engine::events::ContextRecord;
use crate::engine::landing::{NoWindow, WindowData};
use serde::{Deserialize, Serialize};

/// A context as the visit object answers [`crate::platform`]'s context read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextRead {
    /// The record the visit keeps.
    pub record: ContextRecord,
    /// The visit's timeout, minutes: how long an offsite click's context can be exchanged.
    pub timeout_minutes: u16,
}

/// The ids of a context: `visitId` and `contextId` (query parameters; `ee_visit` and
/// `ee_context` on the landing page's URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextRef {
    /// Visit id.
    pub visit_id: String,
    /// Context id.
    pub context_id: String,
}

impl ContextRef {
    /// Reads and checks the two ids from query pairs.
    pub fn from_query<'a>(
        pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Result<ContextRef, ApiError> {
        let (mut visit_id, mut context_id) = (None, None);
        for (k, v) in pairs {
            match k.as_ref() {
                "visitId" => visit_id = Some(v.into_owned()),
                "contextId" => context_id = Some(v.into_owned()),
                _ => {}
            }
        }
        let visit_id = visit_id.ok_or_else(|| ApiError::invalid("visitId", "required"))?;
        let context_id = context_id.ok_or_else(|| ApiError::invalid("contextId", "required"))?;
        check_id("visitId", &visit_id)?;
        check_id("contextId", &context_id)?;
        Ok(ContextRef {
            visit_id,
            context_id,
        })
    }
}

/// `GET /v1/landing/{account}` answer: the window to open, or why none opens.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LandingAnswer<'s> {
    /// True when the tag should open the window.
    pub open: bool,
    /// Why not, when `open` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<NoWindow>,
    /// The visit the landing page continues (events carry it as `visitId`).
    pub visit_id: String,
    /// The click's context (events carry it as `contextId`).
    pub context_id: String,
    /// The window data, when `open`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowData<'s>>,
}

impl<'s> LandingAnswer<'s> {
    /// The answer for a context: open with its window data, or closed with the reason.
    pub fn new(at: ContextRef, window: Result<WindowData<'s>, NoWindow>) -> LandingAnswer<'s> {
        let (window, reason) = match window {
            Ok(w) => (Some(w), None),
            Err(r) => (None, Some(r)),
        };
        LandingAnswer {
            open: window.is_some(),
            reason,
            visit_id: at.visit_id,
            context_id: at.context_id,
            window,
        }
    }
}
