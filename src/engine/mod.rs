//! The decision engine: pure Rust over plain data. No I/O, no `worker` imports; the clock and
//! random seeds are arguments, so every rule is testable and benchmarkable natively.
//!
//! One rule family per module (docs/architecture.md maps each SPEC rule to its function):
//! [`snapshot`] (R-P1), [`candidate`] (R-D1, R-D2), [`schedule`] (R-D2), [`agent`] (R-D3),
//! [`arbitrate`] (R-D4), [`draw`] (R-D4, R-D5 draws), [`visit`] (R-D4 holding, R-D6, R-D7),
//! [`button_refresh`] (R-D8), [`events`] (R-D9), [`presentation`] (R-D10),
//! [`decision`] (output and trace, R-P3), [`plan`] (the four ways a decision is made),
//! [`offsite`] (R-O1..R-O5), [`landing`] (R-O2 hand-off), [`click_to_call`] (R-C1, R-C2).

pub mod agent;
pub mod arbitrate;
pub mod button_refresh;
pub mod candidate;
pub mod click_to_call;
pub mod condition;
pub mod decision;
pub mod draw;
pub mod entry_point;
pub mod events;
pub mod https_url;
pub mod landing;
pub mod lookup;
pub mod money;
pub mod offer;
pub mod offsite;
pub mod plan;
pub mod presentation;
pub mod schedule;
pub mod snapshot;
pub mod state;
pub mod trace;
pub mod visit;
pub mod visitor;
pub mod zone;
