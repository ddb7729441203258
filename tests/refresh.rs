//! R-D8 on the native engine: refresh reports states, intervals only where allowed, and keeps
//! every engagement asked about.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use edge_engage::engine::button_refresh::refresh;
use serde_json::json;

#[test]
fn r_d8_refresh_states_and_intervals() {
    let snap = common::demo();
    let ids: Vec<String> = [
        "e-sales-sticky",
        "e-support-slideout",
        "e-uk-peel",
        "e-returning-slideout",
        "e-gone",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let busy =
        common::availability(&json!({"sales": {"onlineAgents": 1, "expectedWaitSeconds": 500}}));
    let r = refresh(&snap, &ids, &busy);
    assert_eq!(r.len(), 5);
    assert_eq!(
        (r[0].state, r[0].refresh_seconds),
        (Some(4), Some(60)),
        "busy state enabled"
    );
    assert_eq!(
        (r[1].state, r[1].refresh_seconds),
        (Some(2), None),
        "messaging: support offline, no refresh"
    );
    assert_eq!(r[2].state, Some(1));
    assert_eq!(
        r[3].state,
        Some(2),
        "online-only button reads offline, still listed"
    );
    assert_eq!(r[4].state, None);
}
