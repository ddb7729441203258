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

/// The credentials of an `Authorization: Bearer <credentials>` header. The scheme is
/// case-insensitive (RFC 7235 §2.1: `bearer` and `BEARER` are the same scheme); spaces around
/// the credentials are ignored. `None` for another scheme or no credentials.
pub fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, rest) = authorization.trim_start().split_once(' ')?;
    let credentials = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credentials.is_empty()).then_some(credentials)
}

#[cfg(test)]
mod bearer_tests {
    use super::bearer;

    /// RFC 7235: the scheme is case-insensitive; other schemes and empty credentials are none.
    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for h in [
            "Bearer abc",
            "bearer abc",
            "BEARER abc",
            "Bearer   abc  ",
            " Bearer abc",
        ] {
            assert_eq!(bearer(h), Some("abc"), "{h:?}");
        }
        for h in ["Basic abc", "Bearer", "Bearer ", "Bearerabc", "", "abc"] {
            assert_eq!(bearer(h), None, "{h:?}");
        }
    }
}
