//! Edge decisions for conversational engagements: a Cloudflare Worker in Rust.
//!
//! * [`engine`] — the decision logic as pure Rust over plain data (no I/O, no platform).
//! * [`api`] — the API contract: routes, request and response types, limits, errors; also
//!   platform-free.
//! * [`tenancy`] — keys, identity tokens, rate-limit keys, the memory budget (SPEC §9).
//! * `platform` (wasm only) — routes, KV, Durable Objects, responses.

pub mod api;
pub mod call_token;
pub mod engine;
pub mod measure;
pub mod tenancy;
// Test support, outside the library's surface unless the `testing` feature asks for it.
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod fuzzing;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod scale;
#[cfg(all(feature = "testing", not(target_arch = "wasm32")))]
pub mod schema;

#[cfg(target_arch = "wasm32")]
mod platform;
