//! What the visit's object pays under V8 to read its request, and the worker to write it.
//! `Request::json` parses in JavaScript and then reads the value with serde-wasm-bindgen, one
//! call across the boundary per field; the objects now parse the body's bytes with
//! `serde_json` in wasm (`bindings::message`), and its candidates are arrays, not objects.
//! Likewise for the values the visit's object stores (`stored.rs`). Built for wasm32-unknown-unknown by
//! scripts/bench-messages.sh and driven from Node through wasm-bindgen; empty elsewhere.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use edge_engage::engine::offer::CANDIDATE_FIELDS;
use edge_engage::engine::visit::{VisitRequest, VisitState};
use edge_engage::measure::funnel::Tally;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

/// What the visit's object stores (scale_fixture --visit-values).
#[derive(Deserialize)]
struct Values {
    visit: VisitState,
    tally: Tally,
}

/// `Request::json`'s path after the runtime's `JSON.parse`: the number of zones read.
#[wasm_bindgen]
pub fn read_parsed(value: JsValue) -> usize {
    serde_wasm_bindgen::from_value::<VisitRequest>(value).map_or(0, |r| r.zones.len())
}

/// The objects' path: the body's bytes parsed in wasm. The number of zones read.
#[wasm_bindgen]
pub fn read_bytes(bytes: &[u8]) -> usize {
    serde_json::from_slice::<VisitRequest>(bytes).map_or(0, |r| r.zones.len())
}

/// The request of `bytes` with each candidate as an object of named fields
/// ([`CANDIDATE_FIELDS`]) rather than an array: the form the arrays are measured against.
#[wasm_bindgen]
pub fn object_form(bytes: &[u8]) -> String {
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return String::new();
    };
    let zones = value.get_mut("zones").and_then(|z| z.as_array_mut());
    for zone in zones.into_iter().flatten() {
        let candidates = zone.get_mut("candidates").and_then(|c| c.as_array_mut());
        for c in candidates.into_iter().flatten() {
            if let serde_json::Value::Array(fields) = c.take() {
                *c = CANDIDATE_FIELDS
                    .iter()
                    .map(|n| n.to_string())
                    .zip(fields)
                    .collect();
            }
        }
    }
    value.to_string()
}

/// The worker's side: the request (parsed once from `bytes`) written `times` times, as the
/// worker sends it (candidates as arrays). The bytes written in all.
#[wasm_bindgen]
pub fn write(bytes: &[u8], times: usize) -> usize {
    let Ok(request) = serde_json::from_slice::<VisitRequest>(bytes) else {
        return 0;
    };
    (0..times)
        .map(|_| serde_json::to_string(&request).map_or(0, |s| s.len()))
        .sum()
}

/// `round_trip` of the visit's values (parsed once from `bytes`) `times` times: the number of
/// pages and facts read back in all.
fn values(bytes: &[u8], times: usize, round_trip: impl Fn(&Values) -> Option<usize>) -> usize {
    let Ok(v) = serde_json::from_slice::<Values>(bytes) else {
        return 0;
    };
    (0..times).map(|_| round_trip(&v).unwrap_or(0)).sum()
}

/// The visit's values written and read back as workers-rs's `Storage::put` and `get` convert
/// them, with serde-wasm-bindgen.
#[wasm_bindgen]
pub fn values_structured(bytes: &[u8], times: usize) -> usize {
    use serde_wasm_bindgen::{from_value, to_value};
    values(bytes, times, |v| {
        let visit: VisitState = from_value(to_value(&v.visit).ok()?).ok()?;
        let tally: Tally = from_value(to_value(&v.tally).ok()?).ok()?;
        Some(visit.pages.len() + tally.counted.len())
    })
}

/// The same as JSON text (`stored::put` and `get`).
#[wasm_bindgen]
pub fn values_text(bytes: &[u8], times: usize) -> usize {
    use serde_json::{from_slice, to_string};
    values(bytes, times, |v| {
        let visit: VisitState = from_slice(to_string(&v.visit).ok()?.as_bytes()).ok()?;
        let tally: Tally = from_slice(to_string(&v.tally).ok()?.as_bytes()).ok()?;
        Some(visit.pages.len() + tally.counted.len())
    })
}
