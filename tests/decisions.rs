//! Every decision vector in fixtures/decisions.json, run on the native engine. The same file is
//! run against `wrangler dev` by tests/worker/decisions.test.mjs (R-D1..R-D5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use edge_engage::engine::decide::{decide, Context};
use edge_engage::engine::visitor::Edge;
use edge_engage::protocol::DecideRequest;
use serde_json::{json, Value};

#[test]
fn decision_vectors_hold_on_the_native_engine() {
    let vectors: Value = serde_json::from_str(&common::fixture("decisions.json")).unwrap();
    let snap = common::demo();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let availability =
            common::availability(&vectors["availability"][case["availability"].as_str().unwrap()]);
        let edge = Edge {
            country: case["edge"]["country"].as_str().map(str::to_string),
            user_agent: case["edge"]["userAgent"].as_str().map(str::to_string),
            ..Edge::default()
        };
        let body = serde_json::to_vec(&case["request"]).unwrap();
        let parsed = DecideRequest::from_json(&body)
            .unwrap()
            .parse(&edge)
            .unwrap();
        let ctx = Context {
            visitor: &parsed.visitor,
            zones: &parsed.zones,
            now: case["now"].as_str().unwrap().parse().unwrap(),
            availability: &availability,
            explain: false,
        };
        let mut n = 0;
        let decision = decide(&snap, &ctx, &mut || {
            n += 1;
            format!("ctx-{n}")
        });
        let got: Vec<Value> = decision
            .engagements
            .iter()
            .map(|e| json!({"zoneId": e.zone_id, "engagementId": e.engagement_id, "state": e.state_name}))
            .collect();
        let got = json!({"engagements": got, "controlGroups": decision.control_groups});
        if got != case["expect"] {
            failures.push(format!(
                "{name}\n  expected {}\n  got      {got}",
                case["expect"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
