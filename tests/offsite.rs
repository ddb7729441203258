//! R-O1..R-O5 on the native engine: every vector of fixtures/offsite.json (the same file the
//! worker test runs over HTTP), and hostile links that must never leave the snapshot's URLs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use edge_engage::engine::offsite::{click, location};
use edge_engage::engine::visitor::{Edge, PageView, Visitor};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

fn attributes(link: &url::Url, country: &str) -> Value {
    let page = PageView {
        url: link,
        sections: &[],
        referrer: None,
        authenticated: false,
    };
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
        let dest = location(
            &d,
            "demo",
            link.query_pairs(),
            "0123456789abcdef0123456789abcdef",
        );
        let mut query: BTreeMap<String, String> = dest
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if query.get("ee_context").is_some_and(|c| c.len() == 32) {
            query.insert("ee_context".into(), "*".into());
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
        let dest = location(&d, "demo", link.query_pairs(), "c");
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
