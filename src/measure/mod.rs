//! Measurement (SPEC section 7), pure: the statistics that compare control against exposed
//! visitors (R-M3). No I/O and no `worker` imports, like the engine.

pub mod stats;
