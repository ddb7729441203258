//! R-S3: the platform's rate-limiting bindings, one per [`Limit`] (wrangler.toml). A refused
//! request is a 429 with `Retry-After` before anything changes state. A client refused for
//! failed authentications is also refused at once by this isolate for the rest of the period,
//! before its credentials are looked at, so that guessing stops rather than slows. An account id
//! that names no account counts as a failed authentication too: the tag limit counts per
//! account, so without this one client could ask about (and wake an object for) any number of
//! made-up accounts.

use super::bindings::limiter;
use super::http::header;
use crate::api::ApiError;
use crate::tenancy::limits::{client, Limit};
use std::cell::RefCell;
use std::collections::HashMap;
use worker::{Env, Request};

/// Clients this isolate refuses authentication to, with the time it stops (ms).
const MAX_BLOCKED: usize = 10_000;

thread_local! {
    static BLOCKED: RefCell<HashMap<String, u64>> = RefCell::new(HashMap::new());
}

/// The client a request counts against (`CF-Connecting-IP`, set by Cloudflare's edge).
pub fn client_of(req: &Request) -> String {
    client(header(req.headers(), "CF-Connecting-IP").as_deref())
}

/// Counts the request against `limit` for its client and `parts` (account, visit); a 429 past
/// the limit. A binding that fails lets the request through (and logs): a rate limiter outage
/// must not take the tag down.
pub async fn check(req: &Request, env: &Env, limit: Limit, parts: &[&str]) -> Result<(), ApiError> {
    check_client(env, &client_of(req), limit, parts).await
}

/// [`check`] for a client already read from its request.
pub async fn check_client(
    env: &Env,
    who: &str,
    limit: Limit,
    parts: &[&str],
) -> Result<(), ApiError> {
    let mut key_parts = Vec::with_capacity(parts.len() + 1);
    if limit.per_client() {
        key_parts.push(who);
    }
    key_parts.extend_from_slice(parts);
    let outcome = match limiter(env, limit) {
        Ok(l) => l.limit(limit.key(&key_parts)).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(o) if o.success => Ok(()),
        Ok(_) => {
            if limit == Limit::FailedAuth {
                let until = worker::Date::now().as_millis() + u64::from(limit.period_s()) * 1000;
                BLOCKED.with(|b| {
                    let mut b = b.borrow_mut();
                    if b.len() >= MAX_BLOCKED {
                        b.clear();
                    }
                    b.insert(who.to_string(), until);
                });
            }
            Err(ApiError::RateLimited {
                retry_after_s: limit.period_s(),
            })
        }
        Err(e) => {
            worker::console_error!("rate limiter {}: {e:?}", limit.binding());
            Ok(())
        }
    }
}

/// 429 when this isolate refused the client's authentication in the current period.
pub fn refuse_if_blocked(req: &Request) -> Result<(), ApiError> {
    refuse_client_if_blocked(&client_of(req))
}

/// [`refuse_if_blocked`] for a client already read from its request.
pub fn refuse_client_if_blocked(who: &str) -> Result<(), ApiError> {
    let now = worker::Date::now().as_millis();
    let until = BLOCKED.with(|b| b.borrow().get(who).copied());
    match until {
        Some(t) if t > now => Err(ApiError::RateLimited {
            retry_after_s: u32::try_from((t - now).div_ceil(1000)).unwrap_or(60),
        }),
        _ => Ok(()),
    }
}
