//! The decide plan's four branches (account control R-D5, the `?visit=0` preview, carried
//! declines R-D7, asking the visit's object), its fail-safe and the finished decision (R-D4's
//! fields, R-D9's page context, R-C2's click link), natively: what `/v1/decide` does between
//! parsing and responding. The worker tests run the same branches over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edge_engage::engine::agent::Availability;
use edge_engage::engine::candidate::Inputs;
use edge_engage::engine::draw::ControlGroup;
use edge_engage::engine::plan::{decide, fallback, finish, plan, After, Page, Planned, Step};
use edge_engage::engine::snapshot::{compile, Snapshot};
use edge_engage::engine::visit::{VisitAnswer, VisitState};
use edge_engage::engine::visitor::{Edge, PageView, Visitor};
use edge_engage::engine::zone::Zone;
use serde_json::{json, Map};
use std::collections::BTreeSet;

const NOW: &str = "2026-06-01T12:00:00Z";

/// A sticky banner on the right, a proactive toaster and a click-to-call button, with
/// `control` percent of the account's visitors held out.
fn snapshot(control: u8) -> Snapshot {
    let engagement = |id: &str, extra: serde_json::Value| {
        let mut e = json!({
            "id": id, "revision": 1, "name": id, "source": "web", "channel": "banner",
            "entryPoint": "all", "window": {"id": "w"}
        });
        e.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        e
    };
    let doc = json!({
        "schemaVersion": 1,
        "account": {"id": "acme", "timeZone": "Europe/London", "controlGroupPercent": control,
                    "defaultOfflineSurveyUrl": "https://acme.example/survey"},
        "entryPoints": [{"id": "all"}],
        "campaigns": [{
            "id": "c", "name": "c", "status": "published", "priority": "high",
            "controlGroupPercent": 0, "timeFrame": {"start": "2026-01-01T00:00"},
            "engagements": [
                engagement("e-sticky", json!({"format": "sticky", "side": "right"})),
                engagement("e-toaster", json!({"format": "toaster"})),
                engagement("e-call", json!({
                    "format": "embedded", "embeddedDivId": "call-me", "channel": "clickToCall",
                    "clickToCall": {"pageUrl": "https://acme.example/call"}
                })),
            ]
        }]
    });
    compile(&doc.to_string(), "acme", 1).expect("compiles")
}

/// A visitor outside the account's control group, or (`held_out`) in it at 25 %.
fn visitor_of(held_out: bool) -> Visitor {
    let group = ControlGroup::new("acme", "account", 25);
    let id = (0..)
        .map(|i| format!("visitor-{i}"))
        .find(|id| group.holds(id) == held_out)
        .unwrap();
    let url = url::Url::parse("https://acme.example/shop?x=1").unwrap();
    Visitor::new(
        &id,
        "visit-1",
        &PageView::at(&url),
        Map::new(),
        &Edge::default(),
    )
}

fn visitor() -> Visitor {
    visitor_of(false)
}

fn inputs<'a>(
    v: &'a Visitor,
    zones: &'a [Zone],
    agents: &'a Availability,
    explain: bool,
) -> Inputs<'a> {
    Inputs {
        visitor: v,
        zones,
        now: NOW.parse().unwrap(),
        availability: agents,
        explain,
    }
}

fn page<'a>(declined: Option<&'a BTreeSet<String>>, preview: bool) -> Page<'a> {
    Page {
        page_id: "page-1",
        declined,
        preview,
    }
}

fn ids() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("ctx-{n}")
    }
}

fn shown(answer: &VisitAnswer) -> Vec<(&str, &str)> {
    answer
        .chosen
        .iter()
        .map(|c| (c.zone.as_str(), c.engagement_id.as_str()))
        .collect()
}

fn zones(names: &[&str]) -> Vec<Zone> {
    names.iter().map(|z| Zone::parse(z).unwrap()).collect()
}

#[test]
fn r_d5_account_control_answers_now_and_the_visit_counts_the_held_out_page_view() {
    let (snap, v, agents) = (snapshot(25), visitor_of(true), Availability::default());
    let zs = zones(&["right", "proactive"]);
    let input = inputs(&v, &zs, &agents, false);
    let Planned { eval, step } = plan(&snap, &input, &page(None, false), &mut ids());
    let Step::Answer { answer, after } = step else {
        panic!("account control must not wait for the visit");
    };
    assert!(answer.chosen.is_empty());
    let After::CountHeldOut(count) = after else {
        panic!("R-M1: the held-out page view is counted by its visit");
    };
    // What the count reads: the day in the account's zone, the page kept, the first
    // candidate (a prospect, R-M1), and the control membership.
    assert_eq!(count.day, "2026-06-01");
    assert_eq!(count.page_url, "https://acme.example/shop?x=1");
    assert!(count.control.account && !count.explain);
    let candidates: usize = count.zones.iter().map(|z| z.candidates.len()).sum();
    assert!(candidates >= 1);
    let decided = finish(&snap, eval, answer, &input, &mut ids());
    assert!(decided.control_groups.account && decided.engagements.is_empty());
    // R-D9: the page view still gets a context id its events may carry.
    assert_eq!(decided.page_context_id, "ctx-1");
}

#[test]
fn r_p3_an_explained_account_control_request_is_not_counted() {
    let (snap, v, agents) = (snapshot(25), visitor_of(true), Availability::default());
    let zs = zones(&["right"]);
    let planned = plan(
        &snap,
        &inputs(&v, &zs, &agents, true),
        &page(None, false),
        &mut ids(),
    );
    assert!(matches!(
        planned.step,
        Step::Answer {
            after: After::Nothing,
            ..
        }
    ));
}

#[test]
fn preview_decides_on_an_empty_visit_with_proactive_formats_and_tells_no_one() {
    let (snap, v, agents) = (snapshot(25), visitor(), Availability::default());
    let zs = zones(&["right", "proactive"]);
    let input = inputs(&v, &zs, &agents, false);
    // The preview ignores carried declines: it is the answer on an empty visit.
    let declined: BTreeSet<String> = ["e-toaster".to_string()].into();
    let Planned { step, .. } = plan(&snap, &input, &page(Some(&declined), true), &mut ids());
    let Step::Answer { answer, after } = step else {
        panic!("a preview does not ask the visit");
    };
    assert!(matches!(after, After::Nothing));
    assert_eq!(
        shown(&answer),
        [("right", "e-sticky"), ("proactive", "e-toaster")]
    );
    // The same answer as the one-call preview the benches and fuzz targets use.
    let decided = decide(&snap, &input, &mut ids());
    let ids_of: Vec<_> = decided
        .engagements
        .iter()
        .map(|e| e.engagement_id)
        .collect();
    assert_eq!(ids_of, ["e-sticky", "e-toaster"]);
}

#[test]
fn r_d7_carried_declines_without_a_proactive_candidate_answer_here_and_the_visit_records_it() {
    let (snap, v, agents) = (snapshot(25), visitor(), Availability::default());
    let zs = zones(&["right", "embedded:call-me"]);
    let input = inputs(&v, &zs, &agents, false);
    let declined: BTreeSet<String> = ["e-sticky".to_string()].into();
    let Planned { eval, step } = plan(&snap, &input, &page(Some(&declined), false), &mut ids());
    let Step::Answer { answer, after } = step else {
        panic!("carried declines with no proactive candidate answer without the object");
    };
    // R-D7: the closed engagement is not offered again.
    assert_eq!(shown(&answer), [("embedded:call-me", "e-call")]);
    let After::Record(record) = after else {
        panic!("the visit records a decision made without it");
    };
    assert_eq!(record.shown, answer.chosen);
    assert_eq!(record.page_context_id, answer.page_context_id);
    assert_eq!(record.request.visit_id, "visit-1");
    assert_eq!(record.request.day, "2026-06-01");
    // The object, given the same declines, decides the same.
    let mut visit = VisitState {
        declined: declined.clone(),
        ..VisitState::default()
    };
    let Step::Ask(ask) = plan(&snap, &input, &page(None, false), &mut ids()).step else {
        panic!("nothing carried: ask");
    };
    assert_eq!(shown(&visit.decide(&ask, &mut ids())), shown(&answer));
    let decided = finish(&snap, eval, answer, &input, &mut ids());
    assert_eq!(decided.engagements.len(), 1);
}

#[test]
fn the_visit_is_asked_when_nothing_was_carried_a_proactive_candidate_is_in_play_or_explained() {
    let (snap, v, agents) = (snapshot(25), visitor(), Availability::default());
    let none = BTreeSet::new();
    let right = zones(&["right"]);
    let with_proactive = zones(&["right", "proactive"]);
    for (zs, declined, explain) in [
        (&right, None, false),
        (&with_proactive, Some(&none), false),
        (&right, Some(&none), true),
    ] {
        let input = inputs(&v, zs, &agents, explain);
        let step = plan(&snap, &input, &page(declined, false), &mut ids()).step;
        let Step::Ask(ask) = step else {
            panic!("{zs:?} {declined:?} explain={explain}: the object must be asked");
        };
        // The object keeps the page for click-to-call (R-C2) and counts the day (R-M3).
        assert_eq!(ask.page_url, "https://acme.example/shop?x=1");
        assert_eq!(ask.day, "2026-06-01");
        assert_eq!(ask.page_id, "page-1");
        assert_eq!(ask.explain, explain);
    }
}

#[test]
fn r_d6_the_fail_safe_shows_no_proactive_format_when_the_visit_cannot_be_asked() {
    let (snap, v, agents) = (snapshot(25), visitor(), Availability::default());
    let zs = zones(&["right", "proactive"]);
    let input = inputs(&v, &zs, &agents, false);
    let Step::Ask(ask) = plan(&snap, &input, &page(None, false), &mut ids()).step else {
        panic!("ask");
    };
    assert_eq!(shown(&fallback(ask, &mut ids())), [("right", "e-sticky")]);
}

#[test]
fn r_c2_finish_links_each_click_to_call_engagement_through_the_worker() {
    let (snap, v, agents) = (snapshot(25), visitor(), Availability::default());
    let zs = zones(&["embedded:call-me", "right"]);
    let input = inputs(&v, &zs, &agents, false);
    let Planned { eval, step } = plan(&snap, &input, &page(None, true), &mut ids());
    let Step::Answer { answer, .. } = step else {
        panic!("preview");
    };
    let decided = finish(&snap, eval, answer, &input, &mut ids());
    let call = &decided.engagements[0];
    assert_eq!(call.engagement_id, "e-call");
    assert_eq!(
        call.click_url.as_deref(),
        Some(
            format!(
                "/c/acme/e-call?visitId=visit-1&contextId={}",
                call.context_id
            )
            .as_str()
        )
    );
    assert_eq!(decided.engagements[1].click_url, None);
    // A page view the visit answered keeps the visit's page context.
    assert!(!decided.page_context_id.is_empty());
}
