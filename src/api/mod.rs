//! The API contract, platform-free: every route ([`routes`]), its request and response types
//! and limits, the bodies the worker sends its Durable Objects, and the one error type
//! ([`ApiError`]). Native tests and the worker read requests identically through it.

pub mod admin;
pub mod click_to_call;
pub mod decide;
mod error;
pub mod events;
pub mod landing;
pub mod refresh;
pub mod report;
pub mod routes;

pub use error::*;
