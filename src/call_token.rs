//! Click-to-call hand-off tokens (R-C2): HMAC-SHA256 over account, visit, engagement and
//! issue time, verified in constant time. Platform-free, so it is tested natively.

use crate::crypto::{hex, hmac_sha256, same, unhex};
use serde::{Deserialize, Serialize};

/// How long the brand's APIs answer for a call: 6 hours (R-C2).
pub const CALL_WINDOW_MS: u64 = 6 * 60 * 60 * 1000;
/// Longest token accepted, in bytes.
pub const MAX_TOKEN: usize = 1024;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Account id.
    #[serde(rename = "a")]
    pub account: String,
    /// Visit id.
    #[serde(rename = "v")]
    pub visit: String,
    /// Engagement id.
    #[serde(rename = "e")]
    pub engagement: String,
    /// Context id of the display that was clicked.
    #[serde(rename = "c")]
    pub context: String,
    /// Issue time, ms since the epoch.
    #[serde(rename = "t")]
    pub issued_ms: u64,
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token of ours: bad shape or signature.
    Invalid,
    /// Signed for another account.
    OtherAccount,
}

/// Signs claims: `hex(json) "." hex(hmac)`.
pub fn sign(key: &[u8], claims: &Claims) -> Option<String> {
    let payload = serde_json::to_vec(claims).ok()?;
    let sig = hmac_sha256(key, &payload)?;
    Some(format!("{}.{}", hex(&payload), hex(&sig)))
}

/// Verifies a token for `account` (signature compared in constant time).
pub fn verify(key: &[u8], token: &str, account: &str) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN {
        return Err(TokenError::Invalid);
    }
    let (payload, sig) = token.split_once('.').ok_or(TokenError::Invalid)?;
    let payload = unhex(payload).ok_or(TokenError::Invalid)?;
    let sig = unhex(sig).ok_or(TokenError::Invalid)?;
    let expected = hmac_sha256(key, &payload).ok_or(TokenError::Invalid)?;
    if !same(&expected, &sig) {
        return Err(TokenError::Invalid);
    }
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Invalid)?;
    if claims.account != account {
        return Err(TokenError::OtherAccount);
    }
    Ok(claims)
}

/// Until when the call's APIs answer: 6 hours after the latest of issue, first reported
/// status and the brand closing the call (R-C2).
pub fn deadline_ms(issued_ms: u64, first_status_ms: Option<u64>, closed_ms: Option<u64>) -> u64 {
    closed_ms
        .or(first_status_ms)
        .unwrap_or(issued_ms)
        .max(issued_ms)
        .saturating_add(CALL_WINDOW_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn claims() -> Claims {
        Claims {
            account: "demo".into(),
            visit: "visit-1".into(),
            engagement: "e-callback".into(),
            context: "ctx".into(),
            issued_ms: 1_800_000_000_000,
        }
    }

    #[test]
    fn r_c2_token_round_trips_and_every_tampered_byte_is_refused() {
        let token = sign(KEY, &claims()).unwrap();
        assert_eq!(verify(KEY, &token, "demo"), Ok(claims()));
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = match bytes[i] {
                b'0' => b'1',
                b'a'..=b'f' => bytes[i].to_ascii_uppercase(),
                _ => b'0',
            };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered != token {
                assert!(verify(KEY, &tampered, "demo").is_err(), "byte {i}");
            }
        }
        assert_eq!(verify(KEY, &token, "other"), Err(TokenError::OtherAccount));
        assert_eq!(
            verify(b"another key, also 32 bytes long!", &token, "demo"),
            Err(TokenError::Invalid)
        );
        for junk in ["", ".", "zz.zz", "abc", &"a".repeat(2000)] {
            assert_eq!(verify(KEY, junk, "demo"), Err(TokenError::Invalid));
        }
    }

    #[test]
    fn r_c2_window_is_six_hours_after_first_status_or_close() {
        let t = 1_000;
        assert_eq!(deadline_ms(t, None, None), t + CALL_WINDOW_MS);
        assert_eq!(deadline_ms(t, Some(t + 50), None), t + 50 + CALL_WINDOW_MS);
        assert_eq!(
            deadline_ms(t, Some(t + 50), Some(t + 90)),
            t + 90 + CALL_WINDOW_MS
        );
    }
}
