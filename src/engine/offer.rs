//! A candidate as the visit's rules and arbitration see it: what the worker evaluated, offered
//! to the visit (R-D4, R-D6, R-D7).

use super::snapshot::Priority;
use super::state::AgentState;
use super::trace::Class;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A candidate as the visit object sees it. The ids borrow the snapshot's when the request is
/// built in the isolate (no copy per candidate on the decision path); the object reads an
/// owned one (`VisitCandidate<'static>`).
///
/// On the wire it is an array of its fields in this order (a large account's request carries
/// hundreds of them, and the field names were more than half its bytes).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitCandidate<'a> {
    /// Engagement id.
    pub engagement_id: Cow<'a, str>,
    /// Campaign id.
    pub campaign_id: Cow<'a, str>,
    /// Engagement revision, kept with the context for events to agree with (R-D9).
    #[serde(default)]
    pub revision: u32,
    /// Campaign priority.
    pub priority: Priority,
    /// Preference class.
    pub class: Class,
    /// State it would show in.
    pub state: AgentState,
    /// Proactive format (R-D6).
    pub proactive: bool,
    /// Conversation (chat, messaging) rather than content.
    pub conversation: bool,
    /// The campaign's line of business (R-D7).
    #[serde(default)]
    pub line_of_business: Option<Cow<'a, str>>,
    /// The engagement's entry point (R-M1), if any.
    #[serde(default)]
    pub entry_point: Option<Cow<'a, str>>,
}

/// The names of [`VisitCandidate`]'s fields, in the order of its array form (it reads an
/// object with these names as well).
pub const CANDIDATE_FIELDS: [&str; 10] = [
    "engagementId",
    "campaignId",
    "revision",
    "priority",
    "class",
    "state",
    "proactive",
    "conversation",
    "lineOfBusiness",
    "entryPoint",
];

impl Serialize for VisitCandidate<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (
            &self.engagement_id,
            &self.campaign_id,
            self.revision,
            self.priority,
            self.class,
            self.state,
            self.proactive,
            self.conversation,
            &self.line_of_business,
            &self.entry_point,
        )
            .serialize(s)
    }
}
