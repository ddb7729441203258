//! Presentation (R-D10): what the tag needs to render an engagement without another download.
//! The snapshot's creatives per state, the proactive display delay and duration, the window
//! mode; checked at publish, returned with each shown engagement and its taglet name.

use super::https_url::check_https_url;
use super::state::{AgentState, StateSwitches};
use super::zone::{Channel, Format};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Longest creative title, in characters.
pub const MAX_TITLE: usize = 80;
/// Longest creative text, in characters.
pub const MAX_TEXT: usize = 500;
/// Longest call to action, in characters.
pub const MAX_CALL_TO_ACTION: usize = 40;
/// Longest agent note, in characters.
pub const MAX_AGENT_NOTE: usize = 1_000;
/// Longest proactive display delay or duration, in seconds.
pub const MAX_DISPLAY_SECONDS: u16 = 600;

/// How the conversation window opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum WindowMode {
    /// Inside the page (default).
    #[default]
    Embedded,
    /// In a separate browser window.
    Popup,
}

/// What an engagement shows in one state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Creative {
    /// Heading, at most 80 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Body text, at most 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// https image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Button label, at most 40 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_to_action: Option<String>,
}

/// The creative of each state an engagement may show in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Creatives {
    /// Shown while online (state 1); content engagements have only this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<Creative>,
    /// Shown while busy (state 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy: Option<Creative>,
    /// Shown while offline (state 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<Creative>,
}

impl Creatives {
    fn each(&self) -> [(AgentState, Option<&Creative>); 3] {
        [
            (AgentState::Online, self.online.as_ref()),
            (AgentState::Busy, self.busy.as_ref()),
            (AgentState::Offline, self.offline.as_ref()),
        ]
    }
}

/// An engagement's presentation as published.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresentationSpec {
    /// Creative per state; a web engagement needs one for each state it can show in.
    // Shared with every decision that shows the engagement: no copy per decision.
    #[serde(default)]
    pub creatives: Arc<Creatives>,
    /// Proactive formats: seconds on the page before the invite shows (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_delay_seconds: Option<u16>,
    /// Proactive formats: seconds the invite stays before it times out (OFFER_TIMEOUT);
    /// absent: until the visitor acts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_duration_seconds: Option<u16>,
    /// How the conversation window opens (default embedded).
    #[serde(default)]
    pub window_mode: WindowMode,
}

/// The taglet that renders a format, as lpTag names it (`tglName`).
pub fn taglet(format: Format) -> &'static str {
    match format {
        Format::PeelingCorner => "peeling",
        Format::Overlay => "overlay",
        Format::Toaster => "toaster",
        Format::SlideOut => "slider",
        Format::Embedded => "embedded",
        Format::Sticky => "sticky",
    }
}

/// The states an engagement can be shown in (R-D3): a creative for each is required, and for
/// no other. Content shows only as online; messaging in any state of its skill, its creatives
/// beyond online optional.
fn showable(channel: Channel, states: StateSwitches) -> [(AgentState, bool, bool); 3] {
    // (state, allowed, required)
    match channel {
        Channel::Chat => [
            (AgentState::Online, states.online, states.online),
            (AgentState::Busy, states.busy, states.busy),
            (AgentState::Offline, states.offline, states.offline),
        ],
        Channel::Messaging => [
            (AgentState::Online, true, true),
            (AgentState::Busy, true, false),
            (AgentState::Offline, true, false),
        ],
        Channel::Banner | Channel::ClickToCall => [
            (AgentState::Online, true, true),
            (AgentState::Busy, false, false),
            (AgentState::Offline, false, false),
        ],
    }
}

fn check_creative(c: &Creative, at: &str, problems: &mut Vec<String>) {
    let text_fields = [
        ("title", &c.title, MAX_TITLE),
        ("text", &c.text, MAX_TEXT),
        ("callToAction", &c.call_to_action, MAX_CALL_TO_ACTION),
    ];
    for (field, value, max) in text_fields {
        if let Some(v) = value {
            let n = v.chars().count();
            if n == 0 || n > max || v.chars().any(char::is_control) {
                problems.push(format!(
                    "{at}.{field}: 1-{max} characters, no control characters"
                ));
            }
        }
    }
    if c.title.is_none() && c.text.is_none() {
        problems.push(format!("{at}: needs a title or a text"));
    }
    if let Some(url) = &c.image_url {
        if let Err(e) = check_https_url(url) {
            problems.push(format!("{at}.imageUrl: {e}"));
        }
    }
}

/// R-D10 at publish: problems of an engagement's presentation and agent note, as
/// `field: message` relative to the engagement.
pub fn check(
    p: Option<&PresentationSpec>,
    agent_note: Option<&str>,
    offsite: bool,
    format: Option<Format>,
    channel: Channel,
    states: StateSwitches,
) -> Vec<String> {
    let mut problems = Vec::new();
    if agent_note.is_some_and(|n| n.chars().count() > MAX_AGENT_NOTE || n.is_empty()) {
        problems.push(format!("agentNote: 1-{MAX_AGENT_NOTE} characters"));
    }
    let Some(p) = p else {
        return problems;
    };
    let proactive = format.is_some_and(Format::is_proactive);
    for (field, value) in [
        ("displayDelaySeconds", p.display_delay_seconds),
        ("displayDurationSeconds", p.display_duration_seconds),
    ] {
        match value {
            Some(_) if !proactive => problems.push(format!(
                "presentation.{field}: only for proactive formats (overlay, toaster, peeling corner)"
            )),
            Some(s) if s > MAX_DISPLAY_SECONDS || (s == 0 && field == "displayDurationSeconds") => {
                problems.push(format!(
                    "presentation.{field}: 0-{MAX_DISPLAY_SECONDS} seconds (a duration is at least 1)"
                ))
            }
            _ => {}
        }
    }
    let creatives = p.creatives.each();
    if offsite {
        if creatives.iter().any(|(_, c)| c.is_some()) {
            problems.push(
                "presentation.creatives: offsite engagements are not rendered by the tag".into(),
            );
        }
        return problems;
    }
    for ((state, allowed, required), (_, creative)) in
        showable(channel, states).into_iter().zip(creatives)
    {
        let at = format!("presentation.creatives.{}", state.name());
        match creative {
            Some(_) if !allowed => problems.push(format!(
                "{at}: the engagement never shows {} (R-D3)",
                state.name()
            )),
            Some(c) => check_creative(c, &at, &mut problems),
            None if required => problems.push(format!(
                "{at}: required: the engagement can show {}",
                state.name()
            )),
            None => {}
        }
    }
    problems
}

/// R-D10: the presentation returned with a shown engagement (as fields of
/// [`super::decision::Shown`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presentation {
    /// The taglet that renders it (`tglName`).
    pub tgl_name: &'static str,
    /// How the conversation window opens.
    pub window_mode: WindowMode,
    /// The creative for each state it may show in (so a refreshed state needs no download);
    /// absent when the snapshot defines none (the tag shows the engagement name).
    pub creatives: Option<Arc<Creatives>>,
    /// Proactive formats: seconds before the invite shows.
    pub display_delay_seconds: Option<u16>,
    /// Proactive formats: seconds before it times out (OFFER_TIMEOUT); absent: no timeout.
    pub display_duration_seconds: Option<u16>,
}

impl Presentation {
    /// The presentation of a web engagement of `format`.
    pub fn of(spec: Option<&PresentationSpec>, format: Format) -> Presentation {
        let proactive = format.is_proactive();
        Presentation {
            tgl_name: taglet(format),
            window_mode: spec.map(|p| p.window_mode).unwrap_or_default(),
            creatives: spec.map(|p| Arc::clone(&p.creatives)),
            display_delay_seconds: proactive
                .then(|| spec.and_then(|p| p.display_delay_seconds).unwrap_or(0)),
            display_duration_seconds: spec
                .and_then(|p| p.display_duration_seconds)
                .filter(|_| proactive),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creative(title: &str) -> Creative {
        Creative {
            title: Some(title.into()),
            ..Creative::default()
        }
    }

    fn chat(creatives: Creatives) -> Vec<String> {
        let p = PresentationSpec {
            creatives: Arc::new(creatives),
            ..PresentationSpec::default()
        };
        check(
            Some(&p),
            None,
            false,
            Some(Format::Sticky),
            Channel::Chat,
            StateSwitches::default(),
        )
    }

    /// R-D10: a chat button with online and offline states needs both creatives, and no busy one.
    #[test]
    fn r_d10_creatives_follow_the_states_an_engagement_can_show_in() {
        let both = Creatives {
            online: Some(creative("Chat with us")),
            offline: Some(creative("Leave a message")),
            busy: None,
        };
        assert_eq!(chat(both.clone()), Vec::<String>::new());
        let missing = chat(Creatives {
            offline: None,
            ..both.clone()
        });
        assert!(missing[0].starts_with("presentation.creatives.offline: required"));
        let extra = chat(Creatives {
            busy: Some(creative("Busy")),
            ..both
        });
        assert!(extra[0].starts_with("presentation.creatives.busy"));
    }

    /// R-D10: lengths, https images, a title or text, delays only for proactive formats.
    #[test]
    fn r_d10_creative_fields_are_checked() {
        let bad = Creative {
            title: Some("x".repeat(81)),
            text: None,
            image_url: Some("http://cdn.example/a.png".into()),
            call_to_action: Some(String::new()),
        };
        let found = chat(Creatives {
            online: Some(bad),
            offline: Some(Creative::default()),
            busy: None,
        });
        for want in [
            "presentation.creatives.online.title",
            "presentation.creatives.online.callToAction",
            "presentation.creatives.online.imageUrl: URL must use https",
            "presentation.creatives.offline: needs a title or a text",
        ] {
            assert!(
                found.iter().any(|p| p.starts_with(want)),
                "{want}: {found:?}"
            );
        }
        let delayed = PresentationSpec {
            display_delay_seconds: Some(5),
            ..PresentationSpec::default()
        };
        let on_sticky = check(
            Some(&delayed),
            Some(""),
            false,
            Some(Format::Sticky),
            Channel::Banner,
            StateSwitches::default(),
        );
        assert!(on_sticky.iter().any(|p| p.starts_with("agentNote")));
        assert!(on_sticky
            .iter()
            .any(|p| p.starts_with("presentation.displayDelaySeconds: only for proactive")));
    }

    /// R-D10: taglet names as lpTag spells them; delay defaults to 0 for proactive formats only.
    #[test]
    fn r_d10_taglets_and_defaults() {
        assert_eq!(taglet(Format::SlideOut), "slider");
        assert_eq!(taglet(Format::PeelingCorner), "peeling");
        let overlay = Presentation::of(None, Format::Overlay);
        assert_eq!(overlay.display_delay_seconds, Some(0));
        assert_eq!(overlay.display_duration_seconds, None);
        assert_eq!(overlay.window_mode, WindowMode::Embedded);
        assert_eq!(
            Presentation::of(None, Format::Sticky).display_delay_seconds,
            None
        );
    }
}
