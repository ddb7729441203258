//! The decision engine: pure Rust over plain data. No I/O, no `worker` imports; the clock and
//! random seeds are arguments, so every rule is testable and benchmarkable natively.

pub mod agent;
pub mod condition;
pub mod decide;
pub mod entry_point;
pub mod offsite;
pub mod refresh;
pub mod schedule;
pub mod snapshot;
pub mod visit;
pub mod visitor;
pub mod zone;
