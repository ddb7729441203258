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

pub use message::{offsite_metric, CallOfVisitor, ClickCounts, Message};

/// How long the measurement store keeps one kind of row, and the statement that deletes what
/// is older (bound to the cutoff: ms since the epoch, or a `YYYY-MM-DD` day where `by_day`).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// What the rows are, for people.
    pub what: &'static str,
    /// Days kept.
    pub days: u64,
    /// The cutoff is a day (else ms).
    pub by_day: bool,
    /// `DELETE … < ?1`.
    pub delete: &'static str,
}

/// Days a report may reach back: the rollups, visitors' arms and accepted engagements, and
/// conversions are kept this long.
pub const REPORT_DAYS: u64 = 400;

/// The measurement store's retention, applied daily by the worker's scheduled handler
/// (docs/architecture.md has the reasons).
pub const RETENTION: &[Retention] = &[
    Retention {
        what: "fact batches applied (the exactly-once record; the queue retries for at most 4 days)",
        days: 7,
        by_day: false,
        delete: "DELETE FROM applied WHERE applied_ms < ?1",
    },
    Retention {
        what: "erased visitors (until every message written before the erasure is delivered)",
        days: 7,
        by_day: false,
        delete: "DELETE FROM erased WHERE erased_ms < ?1",
    },
    Retention {
        what: "a visitor's visits (to reach live visit objects when erasing; visits end within 12 hours)",
        days: 2,
        by_day: false,
        delete: "DELETE FROM touch WHERE metric = 'visits' AND at_ms < ?1",
    },
    Retention {
        what: "a visitor's click-to-call calls (call objects live 6 hours after the call)",
        days: 2,
        by_day: false,
        delete: "DELETE FROM call_index WHERE at_ms < ?1",
    },
    Retention {
        what: "visitors' arms and accepted engagements (R-M2, R-M3)",
        days: REPORT_DAYS,
        by_day: false,
        delete: "DELETE FROM touch WHERE at_ms < ?1",
    },
    Retention {
        what: "conversions (R-M2)",
        days: REPORT_DAYS,
        by_day: false,
        delete: "DELETE FROM conversion WHERE at_ms < ?1",
    },
    Retention {
        what: "daily rollups (R-M1)",
        days: REPORT_DAYS,
        by_day: true,
        delete: "DELETE FROM rollup WHERE day < ?1",
    },
];
