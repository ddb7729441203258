//! Edge decisions for conversational engagements: a Cloudflare Worker in Rust.
//!
//! * [`engine`] — the decision logic as pure Rust over plain data (no I/O, no platform).
//! * [`protocol`] — the HTTP API's request shapes and errors, also platform-free.
//! * `platform` (wasm only) — routes, KV, Durable Objects, responses.

pub mod call_token;
pub mod engine;
pub mod protocol;
#[cfg(not(target_arch = "wasm32"))]
pub mod scale;

#[cfg(target_arch = "wasm32")]
mod platform;
