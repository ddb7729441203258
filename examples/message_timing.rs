//! What the visit's object pays under V8 to read its request, and the worker to write it (#16).
//! `Request::json` parses in JavaScript and then reads the value with serde-wasm-bindgen, one
//! call across the boundary per field; the objects now parse the body's bytes with
//! `serde_json` in wasm (`bindings::message`), and its candidates are arrays, not objects. Built for wasm32-unknown-unknown by
//! scripts/bench-messages.sh and driven from Node through wasm-bindgen; empty elsewhere.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use edge_engage::engine::visit::VisitRequest;
use wasm_bindgen::prelude::*;

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

/// The request of `bytes` with its candidates as objects (the previous release's form).
#[wasm_bindgen]
pub fn object_form(bytes: &[u8]) -> String {
    serde_json::from_slice::<VisitRequest>(bytes)
        .and_then(|r| r.object_form())
        .unwrap_or_default()
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
