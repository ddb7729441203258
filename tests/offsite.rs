//! R-O1..R-O5 on the native engine: every vector of fixtures/offsite.json (the same file the
//! worker test runs over HTTP), and hostile links that must never leave the snapshot's URLs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use edge_engage::engine::offsite::{click, location, Handoff};
use edge_engage::engine::visitor::{Edge, PageView, Visitor};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

fn attributes(link: &url::Url, country: &str) -> Value {
    let page = PageView::at(link);
    let edge = Edge {
        country: Some(country.to_string()),
        ..Edge::default()
    };
    Visitor::new("v", "offsite", &page, Map::new(), &edge).attributes
}

#[test]
fn offsite_vectors_hold_on_the_native_engine() {
    let vectors: Value = serde_json::from_str(&common::fixture("offsite.json")).unwrap();
    let snap = common::demo();
    let mut failures = Vec::new();
    for case in vectors["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let link = url::Url::parse(&format!(
            "https://edge.test{}",
            case["link"].as_str().unwrap()
        ))
        .unwrap();
        let engagement = link.path_segments().unwrap().nth(2).unwrap().to_string();
        let availability =
            common::availability(&vectors["availability"][case["availability"].as_str().unwrap()]);
        let d = click(
            &snap,
            &engagement,
            case["visitorId"].as_str().unwrap(),
            &attributes(&link, case["country"].as_str().unwrap()),
            case["now"].as_str().unwrap().parse().unwrap(),
            &availability,
        )
        .unwrap();
        let fresh = "0123456789abcdef0123456789abcdef";
        let handoff = Handoff {
            visit_id: fresh,
            context_id: fresh,
        };
        let dest = location(&d, "demo", link.query_pairs(), handoff);
        let mut query: BTreeMap<String, String> = dest
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for fresh_id in ["ee_visit", "ee_context"] {
            if query.get(fresh_id).is_some_and(|c| c.len() == 32) {
                query.insert(fresh_id.into(), "*".into());
            }
        }
        let expect = &case["expect"];
        let want_query: BTreeMap<String, String> =
            serde_json::from_value(expect["query"].clone()).unwrap();
        let mut bare = dest.clone();
        bare.set_query(None);
        bare.set_fragment(None);
        let ok = d.outcome.code() == expect["outcome"]
            && bare.as_str() == expect["url"]
            && query == want_query
            && dest.fragment() == expect["fragment"].as_str();
        if !ok {
            failures.push(format!("{name}: got {} -> {dest}", d.outcome.code()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn r_o5_hostile_engagement_ids_never_leave_the_snapshot() {
    let snap = common::demo();
    let allowed: Vec<String> = snap
        .engagements
        .iter()
        .flat_map(|e| {
            [
                e.offline_survey_url.clone(),
                e.spec
                    .offsite
                    .as_ref()
                    .map(|o| o.landing_url.clone())
                    .unwrap_or_default(),
            ]
        })
        .chain([
            snap.account.spec.default_offline_survey_url.clone(),
            "https://www.demo-outfitters.example/contact".into(),
        ])
        .collect();
    for id in [
        "",
        "//evil.example",
        "https://evil.example",
        "e-offsite-email\r\nLocation: https://evil.example",
        "é",
        "../../x",
    ] {
        let link =
            url::Url::parse("https://edge.test/o/demo/x?utm_source=%0d%0aSet-Cookie:x").unwrap();
        let d = click(
            &snap,
            id,
            "v",
            &attributes(&link, "GB"),
            "2026-11-23T10:00:00Z".parse().unwrap(),
            &Default::default(),
        )
        .unwrap();
        let handoff = Handoff {
            visit_id: "v",
            context_id: "c",
        };
        let dest = location(&d, "demo", link.query_pairs(), handoff);
        assert_eq!(
            dest.host_str(),
            Some("www.demo-outfitters.example"),
            "{id:?}"
        );
        assert!(
            allowed
                .iter()
                .any(|a| dest.as_str().starts_with(a.split('#').next().unwrap())),
            "{id:?} -> {dest}"
        );
        assert!(!dest.as_str().contains('\r') && !dest.as_str().contains('\n'));
    }
}

/// R-O2: an eligible click's context is exchanged for the window data (never the agent note)
/// for the account's visit timeout after the click; events then count in that visit. The
/// agent side reads the note.
#[test]
fn r_o2_click_context_exchanges_for_window_data_until_the_visit_timeout() {
    use edge_engage::engine::events::EventName;
    use edge_engage::engine::landing::{agent_view, window_data, LandingClick, NoWindow};
    use edge_engage::engine::visit::VisitState;
    let snap = common::demo();
    let e = snap.engagement("e-offsite-email").unwrap();
    let campaign = snap.campaign_of(e).unwrap();
    let t0 = 1_800_000_000_000;
    let click = LandingClick::new(&snap, e, campaign, "visitor-1", "ctx-1".into(), t0);
    let mut visit = VisitState::default();
    visit.land(&click);
    assert_eq!(click.timeout_minutes, 30);
    let w = window_data(&snap, &click.record, t0 + 1_000, 30).unwrap();
    assert_eq!(w.engagement_id, "e-offsite-email");
    assert_eq!(w.window_id, e.spec.window.id);
    assert_eq!(w.skill.map(|s| s.id), Some("sales"));
    assert_eq!(w.source, Some("email"));
    assert_eq!(
        w.conf_key.to_string(),
        format!("c-offsite_e-offsite-email_{}", e.spec.revision)
    );
    let public = serde_json::to_string(&w).unwrap();
    let note = e.spec.agent_note.as_deref().unwrap();
    assert!(!public.contains(note), "the agent note is never public");
    // Exactly the visit timeout after the click is still open; a millisecond later it is not.
    assert!(window_data(&snap, &click.record, t0 + 30 * 60_000, 30).is_ok());
    assert_eq!(
        window_data(&snap, &click.record, t0 + 30 * 60_000 + 1, 30),
        Err(NoWindow::Expired)
    );
    // A web display's context is not an offsite click's.
    let mut web = click.record.clone();
    web.zone = "proactive".into();
    assert_eq!(window_data(&snap, &web, t0, 30), Err(NoWindow::NotOffsite));
    let mut gone = click.record.clone();
    gone.engagement_id = "e-deleted".into();
    assert_eq!(
        window_data(&snap, &gone, t0, 30),
        Err(NoWindow::EngagementGone)
    );
    // Events with the click's context count for the offsite engagement in that visit.
    let mut record = click.record.clone();
    assert!(visit.apply_event("ctx-1", &mut record, EventName::OfferClick));
    assert!(visit.accepted.contains("e-offsite-email"));
    let agent = agent_view(&snap, &record);
    assert_eq!(agent.agent_note.as_deref(), Some(note));
    assert_eq!(agent.events, vec!["OFFER_CLICK".to_string()]);
}
