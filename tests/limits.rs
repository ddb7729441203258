//! Request limits the worker applies before deciding anything: JSON depth, body size and
//! attribute count (hostile or careless clients get a 4xx, never a slow decision), and the
//! events body (R-D9) checked whole.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use edge_engage::api::decide::{DecideRequest, MAX_DECLINED};
use edge_engage::api::events::{EventsRequest, MAX_EVENTS};
use edge_engage::api::{check_depth, ApiError, MAX_ATTRIBUTES, MAX_DECIDE_BODY, MAX_DECIDE_DEPTH};
use edge_engage::engine::visitor::Edge;
use serde_json::json;

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn json_depth_is_counted_outside_strings() {
    assert!(check_depth(nested(8).as_bytes(), 8).is_ok());
    let err = check_depth(nested(9).as_bytes(), 8).unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message().contains("nested deeper than 8"));
    // Brackets inside strings, escaped quotes included, are text.
    let text = json!({ "a": "[[[[[[[[[[{{{{{{{{\\\"[[[[[[[" }).to_string();
    assert!(check_depth(text.as_bytes(), 1).is_ok());
    // A million brackets are refused at the limit, not parsed.
    assert!(check_depth(nested(1_000_000).as_bytes(), MAX_DECIDE_DEPTH).is_err());
}

#[test]
fn ten_thousand_attributes_are_refused_not_decided() {
    let attributes: serde_json::Map<String, serde_json::Value> =
        (0..10_000).map(|i| (format!("a{i}"), json!(i))).collect();
    let body = json!({
        "account": "demo", "visitorId": "v1", "visitId": "s1",
        "page": { "url": "https://www.demo-outfitters.example/" },
        "attributes": attributes,
    })
    .to_string();
    assert!(body.len() > MAX_DECIDE_BODY);
    assert_eq!(
        DecideRequest::from_json(body.as_bytes()).unwrap_err(),
        ApiError::TooLarge {
            limit: MAX_DECIDE_BODY
        }
    );
    // Short names fit the body limit; the count limit refuses them.
    let attributes: serde_json::Map<String, serde_json::Value> = (0..MAX_ATTRIBUTES + 1)
        .map(|i| (format!("{i}"), json!(1)))
        .collect();
    let body = json!({
        "account": "demo", "visitorId": "v1", "visitId": "s1",
        "page": { "url": "https://www.demo-outfitters.example/" },
        "attributes": attributes,
    })
    .to_string();
    let err = DecideRequest::from_json(body.as_bytes())
        .unwrap()
        .parse(&Edge::default(), |_| false)
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message().starts_with("attributes:"), "{err:?}");
}

/// R-D7: the closed engagements a decision carries are at most [`MAX_DECLINED`] ids, each
/// an id; the GET form's empty list is none closed, not absent.
#[test]
fn declined_engagements_are_bounded_ids() {
    let parse = |declined: serde_json::Value| {
        let body = json!({
            "account": "demo", "visitorId": "v1", "visitId": "s1",
            "page": { "url": "https://www.demo-outfitters.example/" },
            "declined": declined,
        })
        .to_string();
        DecideRequest::from_json(body.as_bytes())
            .unwrap()
            .parse(&Edge::default(), |_| false)
    };
    let ids = |n: usize| json!((0..n).map(|i| format!("e-{i}")).collect::<Vec<_>>());
    let most = parse(ids(MAX_DECLINED)).unwrap();
    assert_eq!(most.declined.map(|d| d.len()), Some(MAX_DECLINED));
    let err = parse(ids(MAX_DECLINED + 1)).unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message().starts_with("declined:"), "{err:?}");
    let err = parse(json!(["e-1", "not an id"])).unwrap_err();
    assert!(err.message().starts_with("declined:"), "{err:?}");
    let query = |q: &str| {
        let pairs = url::form_urlencoded::parse(q.as_bytes()).into_owned();
        DecideRequest::from_query(pairs)
            .unwrap()
            .parse(&Edge::default(), |_| false)
            .unwrap()
            .declined
    };
    let base = "account=demo&visitorId=v1&visitId=s1&url=https%3A%2F%2Fx.example%2F";
    assert_eq!(
        query(&format!("{base}&declined=")),
        Some(Default::default())
    );
    assert_eq!(query(base), None);
}

fn ok(b: serde_json::Value) -> Result<EventsRequest, ApiError> {
    EventsRequest::from_json(b.to_string().as_bytes())
}

#[test]
fn r_d9_events_are_checked_whole() {
    let one =
        ok(json!({"account": "demo", "visitId": "s1", "event": "OFFER_CLICK", "contextId": "c1"}))
            .unwrap();
    assert_eq!(one.events.len(), 1);
    let batch = ok(json!({"account": "demo", "visitId": "s1", "events": [
        {"event": "OFFER_DISPLAY", "contextId": "c1"},
        {"event": "OFFER_DECLINED", "contextId": "c1", "engagementId": "e1"}]}))
    .unwrap();
    assert_eq!(batch.events.len(), 2);
    for (body, field) in [
        (
            json!({"account": "demo", "visitId": "s1", "events": [
            {"event": "OFFER_CLICK", "contextId": "c1"}, {"event": "CLICKED", "contextId": "c2"}]}),
            "events[1].event",
        ),
        (
            json!({"account": "demo", "visitId": "s1", "events": []}),
            "events",
        ),
        (
            json!({"account": "demo", "visitId": "s 1", "event": "START", "contextId": "c1"}),
            "visitId",
        ),
        (
            json!({"account": "demo", "visitId": "s1", "event": "START"}),
            "contextId",
        ),
        (json!({"account": "demo", "visitId": "s1"}), "events"),
        (
            json!({"account": "demo", "visitId": "s1", "events": [{"event": "START", "contextId": "c/1"}]}),
            "events[0].contextId",
        ),
    ] {
        match ok(body.clone()) {
            Err(ApiError::Invalid { field: f, .. }) => assert_eq!(f, field, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    let many: Vec<_> = (0..=MAX_EVENTS)
        .map(|i| json!({"event": "START", "contextId": format!("c{i}")}))
        .collect();
    assert!(ok(json!({"account": "demo", "visitId": "s1", "events": many})).is_err());
    assert!(matches!(
        ok(json!({"account": "demo", "visitId": "s1", "extra": 1})),
        Err(ApiError::Invalid { .. })
    ));
}

/// R-D9 (seed 004): lpTag's payload is taken as it is; fields the worker reads are checked by
/// type and named when wrong, the others (and unknown ones) ignored.
#[test]
fn r_d9_lptag_payload_is_accepted_as_it_is() {
    let lptag = json!({
        "account": "demo", "visitId": "s1", "eventName": "OFFER_CLICK", "appName": "LP_OFFERS",
        "contexts": [{"EngagementContext": {"id": "ctx-1"}}, {"pageContext": {"id": "page-1"}}],
        "campaignId": "c-sales", "engagementId": "e-overlay", "engagementRevision": 3,
        "engagementType": 1, "zoneId": "proactive", "state": 1, "confKey": "c-sales_e-overlay_3",
        "tglName": "overlay", "done": true, "engagementName": "Need help?", "somethingNew": {"a": 1}
    });
    let r = ok(lptag.clone()).unwrap();
    let e = &r.events[0];
    assert_eq!(e.context_id, "ctx-1");
    assert_eq!(e.claims.page_context_id.as_deref(), Some("page-1"));
    assert_eq!(e.claims.engagement_revision, Some(3));
    assert_eq!(e.claims.conf_key.as_deref(), Some("c-sales_e-overlay_3"));
    // LivePerson's numeric ids are taken as their text.
    let mut numeric = lptag.clone();
    numeric["campaignId"] = json!(2_012_345);
    assert_eq!(
        ok(numeric).unwrap().events[0].claims.campaign_id.as_deref(),
        Some("2012345")
    );
    // The same payload in a batch.
    let batch = ok(json!({"account": "demo", "visitId": "s1", "events": [lptag.clone()]})).unwrap();
    assert_eq!(batch.events[0].context_id, "ctx-1");
    type Edit = fn(&mut serde_json::Value);
    let bad: [(&str, Edit); 8] = [
        ("engagementRevision", |v| {
            v["engagementRevision"] = json!("three")
        }),
        ("campaignId", |v| v["campaignId"] = json!(["c"])),
        ("zoneId", |v| v["zoneId"] = json!(7)),
        ("appName", |v| v["appName"] = json!("lp_sdes")),
        ("contexts", |v| v["contextId"] = json!("ctx-2")),
        ("contexts", |v| v["contexts"] = json!("ctx-1")),
        ("contexts[0].EngagementContext.id", |v| {
            v["contexts"][0]["EngagementContext"] = json!({"id": "a b"})
        }),
        ("confKey", |v| v["confKey"] = json!("x".repeat(300))),
    ];
    for (field, edit) in bad {
        let mut body = lptag.clone();
        edit(&mut body);
        match ok(body.clone()) {
            Err(ApiError::Invalid { field: f, .. }) => assert_eq!(f, field, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
        let mut batch = json!({"account": "demo", "visitId": "s1", "events": [body]});
        batch["events"][0]
            .as_object_mut()
            .unwrap()
            .remove("account");
        match ok(batch) {
            Err(ApiError::Invalid { field: f, .. }) => assert_eq!(f, format!("events[0].{field}")),
            other => panic!("batch {field}: {other:?}"),
        }
    }
}
