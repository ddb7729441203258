//! Limits, ids and the one error type every route answers with (mapped to HTTP once, in
//! `platform::http`).

use crate::engine::snapshot::Problem;
use serde_json::{json, Map, Value};

/// Largest decide body accepted, in bytes.
pub const MAX_DECIDE_BODY: usize = 32 * 1024;
/// Largest snapshot accepted, in bytes.
pub const MAX_SNAPSHOT_BODY: usize = 5 * 1024 * 1024;
/// Most visitor attributes one request may carry.
pub const MAX_ATTRIBUTES: usize = 100;
/// Most zones one request may list.
pub const MAX_ZONES: usize = 20;
/// Deepest JSON nesting accepted in visitor attributes.
pub const MAX_ATTRIBUTE_DEPTH: usize = 5;
/// Deepest JSON nesting of a decide body (the attributes' depth plus the body and its map).
pub const MAX_DECIDE_DEPTH: usize = MAX_ATTRIBUTE_DEPTH + 3;
/// Deepest JSON nesting of an events body: lpTag's payload in a batch is
/// body → events → event → contexts → entry → `{"id"}` (R-D9).
pub const MAX_EVENTS_DEPTH: usize = 6;
/// Deepest JSON nesting of a snapshot (conditions nest; the demo needs 8).
pub const MAX_SNAPSHOT_DEPTH: usize = 32;
/// Deepest JSON nesting of the small admin and brand bodies (availability, call status).
pub const MAX_SMALL_DEPTH: usize = 4;

/// Refuses JSON nested deeper than `max` objects and arrays, before it is parsed (400), so that
/// no route spends time or stack on a hostile body. Counts brackets outside strings; whether
/// the text is JSON at all is the parser's business.
pub fn check_depth(body: &[u8], max: usize) -> Result<(), ApiError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Err(ApiError::invalid(
                        "(body)",
                        format!("JSON nested deeper than {max} levels"),
                    ));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Every error the API answers with: `{"error": {"code", "message", ...}}` and a status.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 400 `malformed_json`: the body is not JSON of the expected shape.
    MalformedJson(String),
    /// 400 `invalid_request`: a field is missing or has a bad value.
    Invalid {
        /// The field, e.g. `page.url`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// 401 `unauthorized`: no key, or a key (or root token) that is not one (R-S1).
    Unauthorized,
    /// 403 `forbidden`: a real key used on another account's route or without the route's
    /// scope, or the root token on a route it does not manage (R-S1).
    Forbidden(String),
    /// 409 `too_many_keys`: the account has the most active keys it may have (R-S1).
    TooManyKeys,
    /// 409 `key_revoked`: a revoked key cannot be rotated (R-S1).
    KeyRevoked,
    /// 429 `rate_limited`: over a rate limit; nothing was changed (R-S3).
    RateLimited {
        /// Seconds until the limit's period ends (`Retry-After`).
        retry_after_s: u32,
    },
    /// 401 `invalid_token`: a click-to-call token that is not ours or was altered.
    InvalidToken,
    /// 403 `wrong_account`: a click-to-call token signed for another account.
    WrongAccount,
    /// 410 `expired`: the click-to-call APIs no longer answer for this call.
    Expired,
    /// 403 `origin_not_allowed`: the page's origin is not in the account's `allowedOrigins`.
    OriginNotAllowed,
    /// 404 `unknown_account`: no snapshot was ever published for the account.
    UnknownAccount(String),
    /// 404 `not_found`: no such route or resource.
    NotFound(String),
    /// 405 `method_not_allowed`.
    MethodNotAllowed,
    /// 409 `revision_conflict`: the publisher's base revision is not the live one.
    RevisionConflict {
        /// The live revision.
        current: u64,
    },
    /// 409 `still_published`: a campaign's measurements are deleted only once it has left the
    /// live snapshot (R-M5).
    StillPublished(String),
    /// 413 `body_too_large`.
    TooLarge {
        /// The route's limit in bytes.
        limit: usize,
    },
    /// 415 `unsupported_media_type`.
    UnsupportedMediaType,
    /// 422 `invalid_snapshot`: every problem found; the live snapshot is unchanged.
    InvalidSnapshot(Vec<Problem>),
    /// 428 `precondition_required`: publishing needs `If-Match`.
    PreconditionRequired,
    /// 503 `unavailable`: a platform service failed; nothing was changed.
    Unavailable(String),
}

impl ApiError {
    /// Shorthand for [`ApiError::Invalid`].
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::MalformedJson(_) | ApiError::Invalid { .. } => 400,
            ApiError::Unauthorized | ApiError::InvalidToken => 401,
            ApiError::WrongAccount | ApiError::OriginNotAllowed | ApiError::Forbidden(_) => 403,
            ApiError::TooManyKeys | ApiError::KeyRevoked => 409,
            ApiError::RateLimited { .. } => 429,
            ApiError::Expired => 410,
            ApiError::UnknownAccount(_) | ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::RevisionConflict { .. } | ApiError::StillPublished(_) => 409,
            ApiError::TooLarge { .. } => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::InvalidSnapshot(_) => 422,
            ApiError::PreconditionRequired => 428,
            ApiError::Unavailable(_) => 503,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::Invalid { .. } => "invalid_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::TooManyKeys => "too_many_keys",
            ApiError::KeyRevoked => "key_revoked",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::InvalidToken => "invalid_token",
            ApiError::WrongAccount => "wrong_account",
            ApiError::OriginNotAllowed => "origin_not_allowed",
            ApiError::Expired => "expired",
            ApiError::UnknownAccount(_) => "unknown_account",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::RevisionConflict { .. } => "revision_conflict",
            ApiError::StillPublished(_) => "still_published",
            ApiError::TooLarge { .. } => "body_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::InvalidSnapshot(_) => "invalid_snapshot",
            ApiError::PreconditionRequired => "precondition_required",
            ApiError::Unavailable(_) => "unavailable",
        }
    }

    /// The message for people.
    pub fn message(&self) -> String {
        match self {
            ApiError::MalformedJson(m) => format!("request body is not valid: {m}"),
            ApiError::Invalid { field, message } => format!("{field}: {message}"),
            ApiError::Unauthorized => "missing or wrong bearer token".to_string(),
            ApiError::Forbidden(why) => why.clone(),
            ApiError::TooManyKeys => format!(
                "the account has {} active keys: revoke one first",
                crate::tenancy::keys::MAX_ACTIVE_KEYS
            ),
            ApiError::KeyRevoked => "the key is revoked: create a new one".to_string(),
            ApiError::RateLimited { retry_after_s } => {
                format!("too many requests: retry in {retry_after_s} s")
            }
            ApiError::InvalidToken => "the click-to-call token is not valid".to_string(),
            ApiError::WrongAccount => {
                "the click-to-call token belongs to another account".to_string()
            }
            ApiError::Expired => "this call's information has expired (6 hours)".to_string(),
            ApiError::OriginNotAllowed => {
                "this page's origin is not in the account's allowedOrigins".to_string()
            }
            ApiError::UnknownAccount(a) => format!("no snapshot is published for account \"{a}\""),
            ApiError::NotFound(what) => format!("{what} not found"),
            ApiError::MethodNotAllowed => "method not allowed on this route".to_string(),
            ApiError::RevisionConflict { current } => {
                format!("the live revision is {current}; re-read it and publish with If-Match: {current}")
            }
            ApiError::StillPublished(c) => format!(
                "campaign \"{c}\" is in the live snapshot: publish a snapshot without it first"
            ),
            ApiError::TooLarge { limit } => format!("body larger than {limit} bytes"),
            ApiError::UnsupportedMediaType => "send application/json".to_string(),
            ApiError::InvalidSnapshot(p) => {
                format!(
                    "snapshot refused with {} problem(s); the live snapshot is unchanged",
                    p.len()
                )
            }
            ApiError::PreconditionRequired => {
                "publishing needs If-Match: <live revision> (0 for a first publish, * to overwrite)"
                    .to_string()
            }
            ApiError::Unavailable(m) => format!("temporarily unavailable: {m}"),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code()));
        error.insert("message".into(), json!(self.message()));
        match self {
            ApiError::InvalidSnapshot(problems) => error.insert("problems".into(), json!(problems)),
            ApiError::RevisionConflict { current } => {
                error.insert("currentRevision".into(), json!(current))
            }
            ApiError::Invalid { field, .. } => error.insert("field".into(), json!(field)),
            ApiError::RateLimited { retry_after_s } => {
                error.insert("retryAfter".into(), json!(retry_after_s))
            }
            _ => None,
        };
        json!({ "error": error })
    }
}

pub use crate::engine::snapshot::valid_id;

/// [`valid_id`] as a 400 naming `field`.
pub fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!("ids are {}", crate::engine::snapshot::ID_RULE),
        ))
    }
}
