//! Tenancy and abuse (SPEC section 9), platform-free so that every rule is tested natively:
//! per-account API keys with scopes ([`keys`], R-S1), identity tokens the brand signs for a
//! logged-in visitor ([`identity`], R-S2), the rate limits' keys and answers ([`limits`], R-S3)
//! and the isolate's memory budget ([`budget`], R-S4).

pub mod budget;
pub mod identity;
pub mod keys;
pub mod limits;

/// `ms` since the epoch as RFC 3339 in UTC, to the second (`2026-11-22T13:05:00Z`). Formatted
/// by hand: jiff's own formatting would add to the wasm.
pub fn utc(ms: u64) -> String {
    let at = jiff::tz::TimeZone::UTC.to_datetime(
        jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap_or(0)).unwrap_or_default(),
    );
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}
