//! Entry points shared by the `cargo fuzz` targets (fuzz/) and the native test that replays
//! their committed corpus (tests/fuzz_corpus.rs). Each takes arbitrary bytes, runs the same
//! parsing the worker runs on a request, and checks the properties that must hold for any
//! input: no panic, and for offsite links, a destination the snapshot names. Native only.
#![allow(clippy::panic)]

use crate::api::decide::DecideRequest;
use crate::api::events::{EventsRequest, MAX_EVENTS};
use crate::api::{check_depth, MAX_DECIDE_DEPTH, MAX_EVENTS_DEPTH};
use crate::engine::agent::Availability;
use crate::engine::candidate::Inputs;
use crate::engine::offsite::{click, location, Handoff};
use crate::engine::plan::decide;
use crate::engine::snapshot::{compile, load, Snapshot};
use crate::engine::visitor::{Edge, PageView, Visitor};
use serde_json::Map;
use std::sync::OnceLock;

const DEMO: &str = include_str!("../fixtures/demo/snapshot.json");
const AVAILABILITY: &str = include_str!("../fixtures/demo/availability.json");
/// A fixed instant inside the demo's London opening hours (Wednesday 2026-11-18, 11:06 UTC).
const NOW_MS: i64 = 1_795_000_000_000;

struct Demo {
    snapshot: Snapshot,
    availability: Availability,
    /// Every URL the demo snapshot names, without query or fragment.
    urls: Vec<String>,
}

fn demo() -> &'static Demo {
    static DEMO_ONCE: OnceLock<Demo> = OnceLock::new();
    DEMO_ONCE.get_or_init(|| {
        let snapshot = compile(DEMO, "demo", 1).unwrap_or_else(|p| panic!("demo: {p:?}"));
        let availability = serde_json::from_str::<serde_json::Value>(AVAILABILITY)
            .ok()
            .and_then(|v| serde_json::from_value(v.get("skills")?.clone()).ok())
            .unwrap_or_default();
        let mut urls = Vec::new();
        collect_urls(&serde_json::from_str(DEMO).unwrap_or_default(), &mut urls);
        Demo {
            snapshot,
            availability,
            urls,
        }
    })
}

fn collect_urls(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if s.starts_with("https://") => {
            if let Ok(u) = url::Url::parse(s) {
                out.push(without_query(&u));
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_urls(i, out)),
        serde_json::Value::Object(map) => map.values().for_each(|i| collect_urls(i, out)),
        _ => {}
    }
}

fn without_query(u: &url::Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(NOW_MS).unwrap_or_default()
}

/// Snapshot publish (R-P1): any text either compiles or is refused with problems; a snapshot
/// that compiles also loads (as isolates read it) and can be decided on. Loading any other
/// text refuses it or not, and never panics.
pub fn snapshot(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let loaded = load(text, "demo", 7);
    match compile(text, "demo", 7) {
        Ok(_) => {
            // Decided on as the worker decides: on the snapshot an isolate loads.
            let Ok(snap) = loaded else {
                panic!("a published snapshot loads");
            };
            let edge = Edge::default();
            if let Ok(parsed) = DecideRequest::from_json(
                br#"{"account":"demo","visitorId":"v1","visitId":"s1","page":{"url":"https://www.demo-outfitters.example/shop"}}"#,
            )
            .and_then(|r| r.parse(&edge, |_| false))
            {
                run_decision(&snap, &parsed.visitor, &parsed.zones);
            }
        }
        Err(problems) => assert!(!problems.is_empty(), "refused without a problem"),
    }
}

/// `/v1/decide`: the body parsed and checked as the worker does, then decided on the demo
/// snapshot.
pub fn decide_request(data: &[u8]) {
    let edge = Edge {
        country: Some("GB".into()),
        ..Edge::default()
    };
    let parsed = check_depth(data, MAX_DECIDE_DEPTH)
        .and_then(|()| DecideRequest::from_json(data))
        .and_then(|r| r.parse(&edge, |_| false));
    if let Ok(parsed) = parsed {
        run_decision(&demo().snapshot, &parsed.visitor, &parsed.zones);
    }
}

fn run_decision(snap: &Snapshot, visitor: &Visitor, zones: &[crate::engine::zone::Zone]) {
    let ctx = Inputs {
        visitor,
        zones,
        now: now(),
        availability: &demo().availability,
        explain: true,
    };
    let mut n = 0;
    let d = decide(snap, &ctx, &mut || {
        n += 1;
        format!("c{n}")
    });
    assert!(
        d.engagements.len() <= zones.len(),
        "more engagements than zones"
    );
}

/// `/v1/events`: any body is either a checked request or an error with a 4xx status.
pub fn events(data: &[u8]) {
    match check_depth(data, MAX_EVENTS_DEPTH).and_then(|()| EventsRequest::from_json(data)) {
        Ok(r) => assert!(!r.events.is_empty() && r.events.len() <= MAX_EVENTS),
        Err(e) => assert!((400..500).contains(&e.status()), "{e:?}"),
    }
}

/// `/o/{account}/{engagement}?…` (R-O2, R-O5): whatever follows `/o/demo/`, the redirect goes to
/// a URL the snapshot names (only the window parameters and `utm_*` tags are added).
pub fn offsite_link(data: &[u8]) {
    let Ok(tail) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(link) = url::Url::parse(&format!("https://edge.example/o/demo/{tail}")) else {
        return;
    };
    let engagement = link
        .path_segments()
        .and_then(|mut s| s.nth(2))
        .unwrap_or("")
        .to_string();
    let d = demo();
    let view = PageView::at(&link);
    let visitor = Visitor::new(
        "visitor-0001",
        "offsite",
        &view,
        Map::new(),
        &Edge::default(),
    );
    let Some(decision) = click(
        &d.snapshot,
        &engagement,
        "visitor-0001",
        &visitor.attributes,
        now(),
        &d.availability,
    ) else {
        panic!("no destination for {link}");
    };
    let handoff = Handoff {
        visit_id: "visit",
        context_id: "ctx",
    };
    let dest = location(&decision, "demo", link.query_pairs(), handoff);
    assert!(
        d.urls.contains(&without_query(&dest)),
        "{link} redirected to {dest}, which the snapshot does not name"
    );
    assert!(!dest.as_str().contains(['\r', '\n']));
}

/// `/v1/conversions/{account}` and the measurement queue's messages (R-M2, R-M4): any body is
/// either a checked conversion (a valid id, a goal the demo's campaigns name, money with its
/// currency) or a field error, and any message either reads back to itself or is refused.
pub fn measurement(data: &[u8]) {
    use crate::api::MAX_SMALL_DEPTH;
    use crate::measure::conversion::ConversionIn;
    use crate::measure::Message;
    if let Ok(m) = serde_json::from_slice::<Message>(data) {
        let text = serde_json::to_string(&m).unwrap_or_default();
        let again: Option<Message> = serde_json::from_str(&text).ok();
        assert_eq!(again.as_ref(), Some(&m), "a message reads back to itself");
    }
    if check_depth(data, MAX_SMALL_DEPTH).is_err() {
        return;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let d = demo();
    let goals = d
        .snapshot
        .campaigns
        .iter()
        .filter_map(|c| c.spec.goal.as_deref())
        .collect();
    if let Ok(c) = ConversionIn::from_json(value, &goals) {
        assert!(crate::engine::snapshot::valid_id(&c.id));
        assert!(goals.contains(c.goal.as_str()));
        assert_eq!(c.value.is_some(), c.currency.is_some());
        assert!(c.value.is_none_or(|v| v >= 0.0 && v.is_finite()));
    }
}
