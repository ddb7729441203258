//! One engagement checked and compiled (R-P1, R-D10): its ids, zone, channel and format, entry
//! points, states and presentation.

use super::super::spec::*;
use super::super::*;
use super::{At, Checker};
use crate::engine::presentation;
use crate::engine::zone::{valid_div_id, Channel, Side};
use std::collections::HashMap;
pub(super) fn compile_engagement(
    c: &mut Checker,
    path: At<'_>,
    mut spec: EngagementSpec,
    campaign: usize,
    skills: &IdMap<String, usize>,
    entry_points: &HashMap<&str, usize>,
    account: Option<&AccountSpec>,
) -> Option<Engagement> {
    let before = c.problems.len();
    let at = |field| At::Field(&path, field);
    if spec.revision == 0 {
        c.add(at("revision"), "must be 1 or more");
    }
    let skill = match &spec.skill {
        None => SkillRef::All,
        Some(id) => match skills.get(id) {
            Some(&i) => SkillRef::One(i),
            None => {
                c.add(at("skill"), format!("no skill \"{id}\" in skills"));
                SkillRef::All
            }
        },
    };
    let format = spec.format;
    let busy_allowed = spec.source == Source::Web
        && spec.channel == Channel::Chat
        && format != Some(Format::Overlay);
    if spec.states.busy && !busy_allowed {
        c.add(
            at("states.busy"),
            "busy state is not available for overlay, offsite or messaging engagements",
        );
    }
    match (spec.refresh_enabled, spec.refresh_seconds) {
        (Some(true), None) => spec.refresh_seconds = Some(DEFAULT_REFRESH_SECONDS),
        (Some(false), Some(_)) => c.add(
            at("refreshSeconds"),
            "set while refreshEnabled is false: drop one of them",
        ),
        _ => {}
    }
    if let Some(secs) = spec.refresh_seconds {
        if !REFRESH_INTERVALS.contains(&secs) {
            c.add(
                at("refreshSeconds"),
                format!("must be one of {REFRESH_INTERVALS:?}"),
            );
        }
        let refreshable = spec.source == Source::Web
            && spec.channel == Channel::Chat
            && !format.is_some_and(Format::is_proactive)
            && (spec.states.offline || spec.states.busy);
        if !refreshable {
            c.add(
                at("refreshSeconds"),
                "refresh is only for web, non-proactive chat engagements with an offline or busy state",
            );
        }
    }
    c.nested(
        path,
        presentation::check(
            spec.presentation.as_ref(),
            spec.agent_note.as_deref(),
            spec.source == Source::Offsite,
            format,
            spec.channel,
            spec.states,
        ),
    );
    match (&spec.click_to_call, spec.channel) {
        (Some(ctc), Channel::ClickToCall) => c.url(at("clickToCall.pageUrl"), &ctc.page_url),
        (None, Channel::ClickToCall) => c.add(
            at("clickToCall"),
            "click-to-call engagements need clickToCall.pageUrl",
        ),
        (Some(_), _) => c.add(
            at("clickToCall"),
            "only click-to-call engagements have clickToCall settings",
        ),
        (None, _) => {}
    }
    if let Some(u) = &spec.window.offline_survey_url {
        c.url(at("window.offlineSurveyUrl"), u);
    }
    let mut entry_point = None;
    let mut zone = None;
    match spec.source {
        Source::Web => {
            if spec.offsite.is_some() {
                c.add(
                    at("offsite"),
                    "only offsite engagements have offsite settings",
                );
            }
            match spec.entry_point.as_deref() {
                None => c.add(at("entryPoint"), "web engagements need an entry point"),
                Some(id) => match entry_points.get(id) {
                    Some(&i) => entry_point = Some(i),
                    None => c.add(at("entryPoint"), format!("no entry point \"{id}\"")),
                },
            }
            zone = match (format, spec.side, spec.embedded_div_id.as_deref()) {
                (None, _, _) => {
                    c.add(at("format"), "web engagements need a format");
                    None
                }
                (Some(Format::SlideOut | Format::Sticky), Some(side), None) => Some(match side {
                    Side::Left => Zone::Left,
                    Side::Right => Zone::Right,
                }),
                (Some(Format::SlideOut | Format::Sticky), _, _) => {
                    c.add(
                        at("side"),
                        "slide-out and sticky need a side and no embeddedDivId",
                    );
                    None
                }
                (Some(Format::Embedded), None, Some(div)) if valid_div_id(div) => {
                    Some(Zone::Embedded(div.to_string()))
                }
                (Some(Format::Embedded), _, _) => {
                    c.add(
                        at("embeddedDivId"),
                        "embedded needs a div id (1-64 of A-Z a-z 0-9 - _ : .) and no side",
                    );
                    None
                }
                (Some(_), None, None) => Some(Zone::Proactive),
                (Some(_), _, _) => {
                    c.add(
                        at("format"),
                        "proactive formats take no side or embeddedDivId",
                    );
                    None
                }
            };
        }
        Source::Offsite => {
            match &spec.offsite {
                None => c.add(at("offsite"), "offsite engagements need offsite.landingUrl"),
                Some(o) => c.url(at("offsite.landingUrl"), &o.landing_url),
            }
            if !spec.channel.is_conversation() {
                c.add(at("channel"), "offsite engagements are chat or messaging");
            }
            if format.is_some() || spec.side.is_some() || spec.embedded_div_id.is_some() {
                c.add(
                    at("format"),
                    "offsite engagements have no format, side or div",
                );
            }
        }
    }
    let behavior = c.condition(at("behavior"), spec.behavior.take());
    if c.problems.len() > before {
        return None;
    }
    let offline_survey_url = spec
        .window
        .offline_survey_url
        .clone()
        .or_else(|| account.map(|a| a.default_offline_survey_url.clone()))
        .unwrap_or_default();
    Some(Engagement {
        spec,
        campaign,
        skill,
        entry_point,
        zone,
        behavior,
        offline_survey_url,
    })
}
