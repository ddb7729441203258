//! The decision engine: pure Rust over plain data. No I/O, no `worker` imports; the clock and
//! random seeds are arguments, so every rule is testable and benchmarkable natively.

pub mod condition;
pub mod schedule;
pub mod agent;
pub mod entry_point;
pub mod zone;
pub mod snapshot;
pub mod visitor;
pub mod decide;
