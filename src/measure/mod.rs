//! Measurement (SPEC section 7), pure: the funnel's facts a visit counts once each (R-M1,
//! R-M4) and the statistics that compare control against exposed visitors (R-M3). No I/O and
//! no `worker` imports, like the engine.

pub mod funnel;
pub mod stats;
