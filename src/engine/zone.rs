//! Formats, channels and zones (R-D4): where on the page an engagement can be shown.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// Web engagement format, with its lpTag `engagementType` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Format {
    /// Code 0, proactive zone.
    PeelingCorner,
    /// Code 1, proactive zone.
    Overlay,
    /// Code 2, proactive zone.
    Toaster,
    /// Code 3, left or right zone.
    SlideOut,
    /// Code 5, an embedded `<div>` zone.
    Embedded,
    /// Code 6, left or right zone.
    Sticky,
}

impl Format {
    /// The lpTag `engagementType` code.
    pub fn code(self) -> u8 {
        match self {
            Format::PeelingCorner => 0,
            Format::Overlay => 1,
            Format::Toaster => 2,
            Format::SlideOut => 3,
            Format::Embedded => 5,
            Format::Sticky => 6,
        }
    }

    /// Proactive formats are shown unasked and count against proactive caps (R-D6).
    pub fn is_proactive(self) -> bool {
        matches!(
            self,
            Format::PeelingCorner | Format::Overlay | Format::Toaster
        )
    }

    /// The name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Format::PeelingCorner => "peelingCorner",
            Format::Overlay => "overlay",
            Format::Toaster => "toaster",
            Format::SlideOut => "slideOut",
            Format::Embedded => "embedded",
            Format::Sticky => "sticky",
        }
    }
}

/// What an engagement offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Channel {
    /// Live chat conversation: gated by agent state (R-D3).
    Chat,
    /// Asynchronous messaging conversation: shown whatever the agents' state.
    Messaging,
    /// Content banner linking to a URL.
    Banner,
    /// Content click-to-call: never availability-checked (R-C1).
    ClickToCall,
}

impl Channel {
    /// Conversation (chat, messaging) as opposed to content (banner, click-to-call).
    pub fn is_conversation(self) -> bool {
        matches!(self, Channel::Chat | Channel::Messaging)
    }

    /// The name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Chat => "chat",
            Channel::Messaging => "messaging",
            Channel::Banner => "banner",
            Channel::ClickToCall => "clickToCall",
        }
    }
}

/// Side of the page for slide-out and sticky engagements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum Side {
    /// The left zone.
    Left,
    /// The right zone.
    Right,
}

/// A zone on a page: at most one engagement is shown in each (R-D4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Zone {
    /// Left zone: one slide-out or sticky.
    Left,
    /// Right zone: one slide-out or sticky.
    Right,
    /// Proactive zone: one overlay, toaster or peeling corner.
    Proactive,
    /// One embedded engagement per distinct `<div>` id.
    Embedded(String),
}

/// Longest embedded div id accepted, in bytes.
pub const MAX_DIV_ID: usize = 64;

/// True for ids the tag can place in the DOM: ASCII letters, digits, `-`, `_`, `:` and `.`.
pub fn valid_div_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_DIV_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'))
}

impl Zone {
    /// Parses a zone id as the tag sends it: `left`, `right`, `proactive`, `embedded:{divId}`.
    pub fn parse(text: &str) -> Option<Zone> {
        match text {
            "left" => Some(Zone::Left),
            "right" => Some(Zone::Right),
            "proactive" => Some(Zone::Proactive),
            _ => text
                .strip_prefix("embedded:")
                .filter(|id| valid_div_id(id))
                .map(|id| Zone::Embedded(id.to_string())),
        }
    }
}

impl Zone {
    /// The zone's id as the tag sends it ([`Zone::parse`]); only an embedded zone's is built.
    pub fn name(&self) -> Cow<'static, str> {
        match self {
            Zone::Left => Cow::Borrowed("left"),
            Zone::Right => Cow::Borrowed("right"),
            Zone::Proactive => Cow::Borrowed("proactive"),
            Zone::Embedded(id) => Cow::Owned(format!("embedded:{id}")),
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_d4_zone_ids_round_trip_and_reject_unknown_types() {
        for z in ["left", "right", "proactive", "embedded:hero-chat"] {
            assert_eq!(Zone::parse(z).unwrap().to_string(), z);
        }
        for bad in ["top", "embedded:", "embedded:a b", "Embedded:x", ""] {
            assert_eq!(Zone::parse(bad), None, "{bad}");
        }
    }
}
