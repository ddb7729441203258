//! Edge decisions for conversational engagements: a Cloudflare Worker in Rust.
//!
//! * [`account_state`] — what an account's Durable Object does, over a storage trait.
//! * [`engine`] — the decision logic as pure Rust over plain data (no I/O, no platform).
//! * [`api`] — the API contract: routes, request and response types, limits, errors; also
//!   platform-free.
//! * [`freshness`] — how old an account's view may be in an isolate and in a location (R-P2).
//! * [`session`] — what a visit's Durable Object does, over a storage trait (natively tested).
//! * [`tenancy`] — keys, identity tokens, rate-limit keys, the memory budget (SPEC §9).
//! * `platform` (wasm only) — routes, KV, Durable Objects, responses.

pub mod account_state;
pub mod api;
pub mod call_token;
mod crypto;
pub mod engine;
pub mod faults;
pub mod freshness;
pub mod measure;
pub mod session;
pub mod shared_view;
pub mod store;
pub mod tenancy;
// Test support, outside the library's surface unless the `testing` feature asks for it.
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod fuzzing;
// The scale fixture also builds for wasm32-wasip1, where scripts/bench-v8.sh times the engine.
#[cfg(all(
    feature = "testing",
    not(all(target_arch = "wasm32", target_os = "unknown"))
))]
pub mod scale;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod schema;

// The Worker: wasm32-unknown-unknown only (the engine alone also builds for wasm32-wasip1).
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod platform;
