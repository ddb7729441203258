//! The vocabulary of a decision's trace (R-P3), which every step of a decision writes and the
//! explanation shows: the rule ([`Rule`]), what happened to an engagement ([`Verdict`],
//! [`Explained`]), the preference class it competed in ([`Class`]) and the control groups
//! that hold the visitor ([`ControlGroups`]). Below every other decision module, so that each
//! imports it and none imports the assembly (`decision.rs`).

use super::snapshot::{Engagement, Priority, Snapshot};
use super::state::AgentState;
use super::zone::Channel;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Preference class inside a zone (R-D4 step 2): lower is preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Class {
    /// A chat engagement whose agents are online.
    OnlineConversation,
    /// Content (banner, click-to-call) and messaging, shown whatever the agents' state.
    ContentOrMessaging,
    /// A chat engagement shown offline or busy.
    OfflineConversation,
}

impl Class {
    /// R-D4 step 2: the class of an engagement of `channel` shown in `state`.
    pub fn of(channel: Channel, state: AgentState) -> Class {
        match (channel, state) {
            (Channel::Chat, AgentState::Online) => Class::OnlineConversation,
            (Channel::Chat, _) => Class::OfflineConversation,
            _ => Class::ContentOrMessaging,
        }
    }
}

/// A SPEC rule, as verdicts name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rule {
    /// Candidates: enabled, web, entry point, audience, behaviour, authentication.
    #[serde(rename = "R-D1")]
    D1,
    /// The campaign's time frame.
    #[serde(rename = "R-D2")]
    D2,
    /// Agent state.
    #[serde(rename = "R-D3")]
    D3,
    /// Zones: holding, arbitration, zone not on the page.
    #[serde(rename = "R-D4")]
    D4,
    /// Control groups.
    #[serde(rename = "R-D5")]
    D5,
    /// Proactive caps.
    #[serde(rename = "R-D6")]
    D6,
    /// Declines.
    #[serde(rename = "R-D7")]
    D7,
}

impl Rule {
    /// The rule id, e.g. `R-D4`.
    pub fn id(self) -> &'static str {
        match self {
            Rule::D1 => "R-D1",
            Rule::D2 => "R-D2",
            Rule::D3 => "R-D3",
            Rule::D4 => "R-D4",
            Rule::D5 => "R-D5",
            Rule::D6 => "R-D6",
            Rule::D7 => "R-D7",
        }
    }
}

/// What happened to one engagement in a decision (R-P3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Verdict {
    /// Excluded by the first rule that failed.
    Excluded {
        /// The SPEC rule.
        rule: Rule,
        /// Why, in words.
        reason: String,
    },
    /// A candidate that another engagement beat in its zone.
    Lost {
        /// The zone.
        zone: String,
        /// Why it lost, e.g. the winner and the step of R-D4 that decided.
        reason: String,
    },
    /// Shown in its zone.
    Won {
        /// The zone.
        zone: String,
        /// Preference class it won in.
        class: Class,
        /// Priority tier drawn.
        tier: Priority,
        /// The tier draw in `[0, 1)` and the tie draw in `[0, 1)`, both sticky per visit.
        draws: [f64; 2],
    },
}

/// An engagement's verdict, for the explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Explained {
    /// Campaign id.
    pub campaign_id: String,
    /// Engagement id.
    pub engagement_id: String,
    /// What happened.
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// Control-group membership of the visitor (R-D5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlGroups<'a> {
    /// In the account control group: no engagement at all.
    pub account: bool,
    /// Campaigns that had a candidate for this page and hold the visitor in their control group
    /// (their ids, borrowed from the snapshot while deciding).
    pub campaigns: Vec<Cow<'a, str>>,
}

/// The verdict of engagement `e`, with its ids.
pub fn explained(snap: &Snapshot, e: &Engagement, verdict: Verdict) -> Explained {
    Explained {
        campaign_id: snap
            .campaign_of(e)
            .map_or(String::new(), |c| c.spec.id.clone()),
        engagement_id: e.spec.id.clone(),
        verdict,
    }
}
