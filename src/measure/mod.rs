//! Measurement (SPEC section 7), pure: the funnel's facts a visit counts once each (R-M1,
//! R-M4), conversions and their attribution (R-M2) and the statistics that compare control against exposed visitors (R-M3). No I/O and
//! no `worker` imports, like the engine.

pub mod conversion;
pub mod funnel;
pub mod ledger;
pub mod message;
pub mod stats;
pub mod sums;
pub mod totals;

pub use message::{CallOfVisitor, ClickCounts, Message};
pub use sums::offsite_metric;

/// How long a measurement store keeps one kind of entry, and what removes it.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// What the entries are, for people.
    pub what: &'static str,
    /// Days kept.
    pub days: u64,
    /// Where they are kept and what deletes them.
    pub by: &'static str,
}

/// Days a report may reach back: the summary's rows are kept this long.
pub const REPORT_DAYS: u64 = 400;

/// The measurement stores' retention (docs/architecture.md has the reasons).
pub const RETENTION: &[Retention] = &[
    Retention {
        what: "daily rows: funnel, offsite clicks, conversions, arms (R-M1..R-M3)",
        days: REPORT_DAYS,
        by: "the account's summary, on each flush it applies (`totals::Summary::prune`)",
    },
    Retention {
        what: "message ids a shard applied (the exactly-once record; the queue retries for at most 4 days)",
        days: ledger::LATE_MS / 86_400_000,
        by: "the shard's alarm (`totals::Shard::forget`)",
    },
    Retention {
        what: "messages a ledger applied, and an erasure (messages written before it change nothing)",
        days: ledger::LATE_MS / 86_400_000,
        by: "the ledger's alarm",
    },
    Retention {
        what: "a visitor's history (arms entered, accepted engagements, conversions) while a late message can change what it adds",
        days: 14 + ledger::LATE_MS / 86_400_000,
        by: "the ledger, as it applies messages (cross-session period + 7 days; settled into its sums after)",
    },
    Retention {
        what: "what a visitor's settled history added to the sums (so that erasure takes it back)",
        days: REPORT_DAYS,
        by: "the ledger, as it applies messages and on its alarm",
    },
    Retention {
        what: "a visitor's visits and calls (to reach live visit and call objects when erasing)",
        days: ledger::LIVE_OBJECTS_MS / 86_400_000,
        by: "the ledger",
    },
];
