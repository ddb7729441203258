//! R-S2: a page is authenticated only when it carries an identity token the brand signed for
//! the account: a JWT (RFC 7519) with HS256 and nothing else (`alg` is fixed: `none`, RS256 and
//! every other value are refused), `aud` naming the account, `exp` in the future and at most
//! [`MAX_LIFETIME_MS`] ahead. The secrets are the account's (kept by its object, at most two so
//! that a rotation has an overlap); a token names one with `kid` or is tried against both.

use crate::crypto::{hex, hmac_sha256, same};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest token accepted, in bytes.
pub const MAX_TOKEN: usize = 2048;
/// Longest a token may still be valid for: 1 hour (identity tokens are short-lived).
pub const MAX_LIFETIME_MS: u64 = 60 * 60 * 1000;
/// Clock difference tolerated between the brand's server and the edge: 60 s.
pub const LEEWAY_MS: u64 = 60 * 1000;
/// Secrets an account keeps: the current one and the one before it.
pub const MAX_SECRETS: usize = 2;

/// One of the account's identity secrets. Its `Debug` form shows the id and the time, never
/// the secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySecret {
    /// Its id: the `kid` a token may name.
    pub kid: String,
    /// The secret, 64 hex digits (the HMAC key is these ASCII bytes, as the brand's JWT library
    /// is given them).
    pub secret: String,
    /// When it was made, ms since the epoch.
    pub created_ms: u64,
}

impl std::fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentitySecret")
            .field("kid", &self.kid)
            .field("secret", &"***")
            .field("created_ms", &self.created_ms)
            .finish()
    }
}

/// Adds a new current secret, keeping the one before it so that tokens signed with it work
/// until they expire; older ones are dropped.
pub fn rotate(secrets: &mut Vec<IdentitySecret>, next: IdentitySecret) {
    secrets.insert(0, next);
    secrets.truncate(MAX_SECRETS);
}

/// Why a token does not make the page authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityError {
    /// Longer than [`MAX_TOKEN`].
    TooLarge,
    /// Not three base64url parts of JSON objects.
    Malformed,
    /// `alg` is not HS256 (or `typ` is not JWT).
    Algorithm,
    /// No secret of the account signed it.
    Signature,
    /// `aud` does not name the account.
    Audience,
    /// No `exp`, or `exp` has passed.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
    /// `exp` is further than [`MAX_LIFETIME_MS`] ahead.
    TooLong,
    /// The account has no identity secret.
    NoSecret,
}

impl IdentityError {
    /// The reason as explanations and logs name it.
    pub fn code(self) -> &'static str {
        match self {
            IdentityError::TooLarge => "identity_too_large",
            IdentityError::Malformed => "identity_malformed",
            IdentityError::Algorithm => "identity_algorithm",
            IdentityError::Signature => "identity_signature",
            IdentityError::Audience => "identity_audience",
            IdentityError::Expired => "identity_expired",
            IdentityError::NotYetValid => "identity_not_yet_valid",
            IdentityError::TooLong => "identity_lifetime",
            IdentityError::NoSecret => "identity_no_secret",
        }
    }
}

/// A verified identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The `sub` claim (the brand's customer id), when present.
    pub subject: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

/// Verifies `token` for `account` at `now_ms` against the account's secrets (R-S2).
///
/// # Errors
///
/// The [`IdentityError`] that makes the page anonymous: the token's form, algorithm,
/// signature, audience or times.
///
/// # Example
///
/// ```
/// use edge_engage::tenancy::identity::{sign, verify, IdentityError, IdentitySecret};
///
/// let secret = IdentitySecret { kid: "k1".into(), secret: "0".repeat(64), created_ms: 0 };
/// let now_ms = 1_800_000_000_000;
/// let claims = serde_json::json!({ "aud": "acme", "sub": "cust-1", "exp": now_ms / 1000 + 600 });
/// let token = sign(&secret, &claims).ok_or("not signed")?;
///
/// let who = verify(&token, "acme", &[secret.clone()], now_ms).map_err(|e| format!("{e:?}"))?;
/// assert_eq!(who.subject.as_deref(), Some("cust-1"));
/// assert_eq!(verify(&token, "other", &[secret], now_ms).err(), Some(IdentityError::Audience));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify(
    token: &str,
    account: &str,
    secrets: &[IdentitySecret],
    now_ms: u64,
) -> Result<Identity, IdentityError> {
    if token.len() > MAX_TOKEN {
        return Err(IdentityError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdentityError::Malformed);
    };
    let header: Header = decode_json(h).ok_or(IdentityError::Malformed)?;
    if header.alg != "HS256" || header.typ.as_deref().is_some_and(|t| t != "JWT") {
        return Err(IdentityError::Algorithm);
    }
    let signature = base64url_decode(s).ok_or(IdentityError::Malformed)?;
    let claims: Value = decode_json(p).ok_or(IdentityError::Malformed)?;
    if secrets.is_empty() {
        return Err(IdentityError::NoSecret);
    }
    let signed = format!("{h}.{p}");
    let verified = secrets
        .iter()
        .filter(|k| header.kid.as_deref().is_none_or(|kid| kid == k.kid))
        .filter_map(|k| hmac_sha256(k.secret.as_bytes(), signed.as_bytes()))
        .any(|mac| same(&mac, &signature));
    if !verified {
        return Err(IdentityError::Signature);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == account,
        Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(account)),
        _ => false,
    };
    if !audience_ok {
        return Err(IdentityError::Audience);
    }
    let seconds = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_f64)
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| (s * 1000.0) as u64)
    };
    let exp = seconds("exp").ok_or(IdentityError::Expired)?;
    if exp.saturating_add(LEEWAY_MS) <= now_ms {
        return Err(IdentityError::Expired);
    }
    if exp > now_ms.saturating_add(MAX_LIFETIME_MS + LEEWAY_MS) {
        return Err(IdentityError::TooLong);
    }
    if seconds("nbf").is_some_and(|nbf| nbf > now_ms.saturating_add(LEEWAY_MS)) {
        return Err(IdentityError::NotYetValid);
    }
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| s.len() <= 256)
        .map(str::to_string);
    Ok(Identity { subject })
}

/// Signs `claims` with HS256 under `secret` (`kid` in the header): what the brand's server
/// does, used by the tests and the documentation's examples.
pub fn sign(secret: &IdentitySecret, claims: &Value) -> Option<String> {
    let header = serde_json::json!({ "alg": "HS256", "typ": "JWT", "kid": secret.kid });
    let signed = format!(
        "{}.{}",
        base64url_encode(serde_json::to_string(&header).ok()?.as_bytes()),
        base64url_encode(serde_json::to_string(claims).ok()?.as_bytes())
    );
    let mac = hmac_sha256(secret.secret.as_bytes(), signed.as_bytes())?;
    Some(format!("{signed}.{}", base64url_encode(&mac)))
}

/// A new secret from 32 random bytes and a 4-byte id.
pub fn new_secret(random: &[u8; 36], now_ms: u64) -> IdentitySecret {
    let (kid, secret) = random.split_at(4);
    IdentitySecret {
        kid: hex(kid),
        secret: hex(secret),
        created_ms: now_ms,
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    serde_json::from_slice(&base64url_decode(part)?).ok()
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 4648 §5), as JWTs use it.
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            let index = (n >> (18 - 6 * i)) & 63;
            if let Some(&c) = ALPHABET.get(index as usize) {
                out.push(char::from(c));
            }
        }
    }
    out
}

/// Decodes base64url without padding; `None` for any other character, padding included, or a
/// length no encoding has.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero, so that each byte string has one encoding.
    (acc == 0).then_some(out)
}
