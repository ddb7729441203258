//! Edge decisions for conversational engagements: a Cloudflare Worker in Rust.
//!
//! * [`engine`] — the decision logic as pure Rust over plain data (no I/O, no platform).
//! * [`protocol`] — the HTTP API's request shapes and errors, also platform-free.
//! * `platform` (wasm only) — routes, KV, Durable Objects, responses.

pub mod call_token;
pub mod engine;
#[cfg(not(target_arch = "wasm32"))]
pub mod fuzzing;
pub mod protocol;
pub mod routes;
#[cfg(not(target_arch = "wasm32"))]
pub mod scale;
#[cfg(not(target_arch = "wasm32"))]
pub mod schema;

#[cfg(target_arch = "wasm32")]
mod platform;
