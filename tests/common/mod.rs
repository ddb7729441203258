//! Shared helpers for native tests over fixtures/.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use edge_engage::engine::agent::Availability;
use edge_engage::engine::snapshot::{compile, Snapshot};
use serde_json::Value;

pub fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("fixtures/{path}: {e}"))
}

pub fn demo() -> Snapshot {
    compile(&fixture("demo/snapshot.json"), "demo", 1).expect("demo snapshot compiles")
}

pub fn availability(v: &Value) -> Availability {
    serde_json::from_value(v.clone()).expect("availability")
}
