//! Lifecycle events (R-D9): the lpTag event names and what each does to the visit. Idempotent
//! per (context, event): the context remembers the events it has applied.

use super::snapshot::ConfKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How long a reader waits for a context its visit does not hold yet, as pauses in ms between
/// reads (one second in all): the landing page's exchange (R-O2) and events (R-D9). The
/// messages that record contexts without holding up an answer (an offsite click's landing
/// visit, a decision made without the visit) leave after the answer, while the browser
/// follows the redirect or draws the engagements; a reader normally finds the context at its
/// first read, and these pauses cover a slow or repeated message.
pub const CONTEXT_WAIT_MS: [u64; 3] = [100, 300, 600];

/// Most contexts one visit keeps for events; past it the oldest page's are no longer needed.
pub const MAX_CONTEXTS: u32 = 10_000;

/// The lpTag lifecycle events (R-D9), named as the tag sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventName {
    /// Display flow started.
    Start,
    /// Rendered, about to display.
    OfferDisplay,
    /// Displayed.
    OfferImpression,
    /// Accepted.
    OfferClick,
    /// Display duration ran out.
    OfferTimeout,
    /// Closed by the visitor.
    OfferDeclined,
    /// Removed from the page.
    OfferRemove,
}

impl EventName {
    /// Every event, in lifecycle order.
    pub const ALL: [EventName; 7] = [
        EventName::Start,
        EventName::OfferDisplay,
        EventName::OfferImpression,
        EventName::OfferClick,
        EventName::OfferTimeout,
        EventName::OfferDeclined,
        EventName::OfferRemove,
    ];

    /// The event the tag names `name`, if any.
    pub fn parse(name: &str) -> Option<EventName> {
        EventName::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The name as the tag sends it.
    pub fn name(self) -> &'static str {
        match self {
            EventName::Start => "START",
            EventName::OfferDisplay => "OFFER_DISPLAY",
            EventName::OfferImpression => "OFFER_IMPRESSION",
            EventName::OfferClick => "OFFER_CLICK",
            EventName::OfferTimeout => "OFFER_TIMEOUT",
            EventName::OfferDeclined => "OFFER_DECLINED",
            EventName::OfferRemove => "OFFER_REMOVE",
        }
    }
}

/// What one context id stands for, kept for events (R-D9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextRecord {
    /// Engagement id.
    pub engagement_id: String,
    /// Campaign id.
    #[serde(default)]
    pub campaign_id: String,
    /// Engagement revision when issued.
    #[serde(default)]
    pub revision: u32,
    /// The page context the engagement was shown in.
    #[serde(default)]
    pub page_context_id: String,
    /// When it was issued, ms.
    #[serde(default)]
    pub issued_ms: u64,
    /// Zone.
    pub zone: String,
    /// Proactive format.
    pub proactive: bool,
    /// Conversation rather than content.
    pub conversation: bool,
    /// Line of business.
    #[serde(default)]
    pub line_of_business: Option<String>,
    /// The engagement's entry point (R-M1), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    /// Names of the events applied for this context (strings, as stored: one set type for
    /// the whole worker keeps the wasm smaller).
    #[serde(default)]
    pub events: BTreeSet<String>,
}

/// What an event says about its context (the fields of lpTag's payload the worker checks,
/// R-D9); each one sent must agree with the context the worker issued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    /// `engagementId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement_id: Option<String>,
    /// `campaignId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// `engagementRevision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement_revision: Option<u32>,
    /// `zoneId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    /// `confKey`: `campaignId_engagementId_revision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conf_key: Option<String>,
    /// The page context id (from `contexts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_context_id: Option<String>,
}

impl ContextRecord {
    /// The [`ConfKey`] of the engagement at the revision this context was issued for.
    pub fn conf_key(&self) -> ConfKey<'_> {
        ConfKey {
            campaign_id: &self.campaign_id,
            engagement_id: &self.engagement_id,
            revision: self.revision,
        }
    }

    /// R-D9: the first claim of an event that disagrees with this context, as the payload's
    /// field name and what the context says instead; `None` when every claim agrees.
    pub fn disagreement(&self, claims: &Claims) -> Option<(&'static str, String)> {
        let differs = |claim: &Option<String>, issued: &str| {
            claim
                .as_deref()
                .is_some_and(|c| !issued.is_empty() && c != issued)
        };
        if differs(&claims.engagement_id, &self.engagement_id) {
            return Some((
                "engagementId",
                format!("the context is engagement \"{}\"", self.engagement_id),
            ));
        }
        if differs(&claims.campaign_id, &self.campaign_id) {
            return Some((
                "campaignId",
                format!("the context is campaign \"{}\"", self.campaign_id),
            ));
        }
        if self.revision > 0
            && claims
                .engagement_revision
                .is_some_and(|r| r != self.revision)
        {
            return Some((
                "engagementRevision",
                format!("the context is revision {}", self.revision),
            ));
        }
        if differs(&claims.zone_id, &self.zone) {
            return Some(("zoneId", format!("the context is zone \"{}\"", self.zone)));
        }
        let key = self.conf_key().to_string();
        if self.revision > 0 && differs(&claims.conf_key, &key) {
            return Some(("confKey", format!("the context is \"{key}\"")));
        }
        if differs(&claims.page_context_id, &self.page_context_id) {
            return Some((
                "contexts",
                "the page context is not the one this engagement was shown in".to_string(),
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R-D9: names read and write exactly as lpTag sends them; anything else is refused.
    #[test]
    fn r_d9_event_names_round_trip() {
        for e in EventName::ALL {
            let text = format!("\"{}\"", e.name());
            assert_eq!(
                serde_json::to_string(&e).ok().as_deref(),
                Some(text.as_str())
            );
            assert_eq!(serde_json::from_str::<EventName>(&text).ok(), Some(e));
        }
        assert!(serde_json::from_str::<EventName>("\"offer_click\"").is_err());
        assert_eq!(EventName::parse("OFFER_CLICK"), Some(EventName::OfferClick));
        assert_eq!(EventName::parse("offer_click"), None);
        assert!(serde_json::from_str::<EventName>("\"OFFER_HOVER\"").is_err());
    }
}
