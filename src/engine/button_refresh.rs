//! Button refresh (R-D8): the current state of engagements already on a page. It never
//! removes an engagement and never touches the visit: it only reports states.

use super::agent::{reading, Availability};
use super::snapshot::{Snapshot, Source};
use serde::Serialize;

/// One engagement's refreshed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refreshed {
    /// Engagement id.
    pub engagement_id: String,
    /// State code (1 online, 2 offline, 4 busy); absent when the engagement is no longer in
    /// the snapshot (the tag keeps what it shows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<u8>,
    /// State name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_name: Option<&'static str>,
    /// Seconds until the tag should ask again; only for engagements that allow refresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_seconds: Option<u16>,
}

/// R-D8: current states. Refresh intervals are given only to web, non-proactive chat
/// engagements with refresh enabled (the snapshot validator already holds them to that).
/// Content and messaging read as they do in decisions (content always 1).
pub fn refresh(snap: &Snapshot, ids: &[String], availability: &Availability) -> Vec<Refreshed> {
    ids.iter()
        .map(|id| {
            let Some(e) = snap.engagement(id).filter(|e| e.spec.source == Source::Web) else {
                return Refreshed {
                    engagement_id: id.clone(),
                    state: None,
                    state_name: None,
                    refresh_seconds: None,
                };
            };
            // R-D3's state, whether or not it is one the engagement shows in: refresh
            // never removes an engagement, it only changes its state.
            let state = reading(snap, e, availability).state;
            Refreshed {
                engagement_id: id.clone(),
                state: Some(state.code()),
                state_name: Some(state.name()),
                refresh_seconds: e.spec.refresh_seconds,
            }
        })
        .collect()
}
