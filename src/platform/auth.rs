//! Who is calling (R-S1). The operator's root token (a wrangler secret, hidden from `Debug`,
//! compared in constant time) manages keys and nothing else; every other admin, report and
//! brand route takes a key of its account with the route's scope ([`Route::access`]). A key
//! is checked by its account's object, which records the use; an isolate reuses a check for
//! [`KEY_REUSE_MS`], so a revoked or rotated key stops working everywhere within that (and at
//! once in the isolate that revoked it). Failed authentications count against the client's
//! limit (R-S3).

use super::bindings::{self, account_instance, Account};
use super::http::header;
use super::limits;
use crate::api::admin::{KeyAnswer, KeyCall};
use crate::api::routes::{Access, Route};
use crate::api::{bearer, ApiError};
use crate::faults::Faults;
use crate::tenancy::keys::{Grant, KeyOp, PresentedKey, Refusal, Scope};
use crate::tenancy::limits::Limit;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use worker::{Env, Request};

/// How long an isolate reuses a key check: a revocation reaches every isolate within this
/// (R-S1 asks for 10 s).
pub const KEY_REUSE_MS: u64 = 5_000;
/// Key checks an isolate remembers before it forgets them all.
const MAX_REMEMBERED: usize = 1_000;

/// The configured root token.
struct RootToken(String);

impl fmt::Debug for RootToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootToken(***)")
    }
}

impl RootToken {
    /// The token from the environment; `None` (key management closed) when unset or shorter
    /// than 16 characters.
    fn from_env(env: &Env) -> Option<RootToken> {
        let value = bindings::secret(env, bindings::ROOT_TOKEN)?;
        (value.len() >= 16).then_some(RootToken(value))
    }

    fn is(&self, given: &str) -> bool {
        crate::crypto::same(given.as_bytes(), self.0.as_bytes())
    }
}

/// The credentials of the request's `Authorization: Bearer …` header.
fn credentials(req: &Request) -> Option<String> {
    let value = header(req.headers(), "Authorization")?;
    bearer(&value).map(str::to_string)
}

/// True when `Authorization` carries the root token.
fn presents_root(req: &Request, env: &Env) -> bool {
    RootToken::from_env(env).is_some_and(|root| credentials(req).is_some_and(|c| root.is(&c)))
}

/// Test builds: true when the request carries the root token, in `Authorization` or in
/// `X-Test-Root` (so that a request can carry a key and still move the test clock or ask for a
/// fault). Always false in deployed builds.
pub fn trusted_for_tests(req: &Request, env: &Env) -> bool {
    #[cfg(any(feature = "test-clock", feature = "test-faults"))]
    {
        let root = RootToken::from_env(env);
        let in_header = header(req.headers(), "X-Test-Root")
            .is_some_and(|t| root.as_ref().is_some_and(|r| r.is(&t)));
        in_header || presents_root(req, env)
    }
    #[cfg(not(any(feature = "test-clock", feature = "test-faults")))]
    {
        let _ = (req, env);
        false
    }
}

/// Test builds: the faults a request trusted for tests names in `X-Test-Fault` (docs/api.md).
/// None for every other request, and always none in builds without `test-faults`.
pub fn test_faults(req: &Request, env: &Env) -> Faults {
    #[cfg(feature = "test-faults")]
    if trusted_for_tests(req, env) {
        if let Some(named) = header(req.headers(), bindings::TEST_FAULT) {
            return Faults::parse(&named);
        }
    }
    let _ = (req, env);
    Faults::default()
}

/// R-S1: admits the request to `route` on `account`, or answers why not: 401 for no or a false
/// credential (counted against the client's failed-authentication limit, 429 past it), 403 for
/// a real key of another account or without the scope, or the root token outside the key API.
pub async fn require(
    req: &Request,
    env: &Env,
    route: Route,
    account: &str,
) -> Result<(), ApiError> {
    match route.access() {
        Access::Public => Ok(()),
        Access::Root => {
            limits::refuse_if_blocked(req)?;
            if presents_root(req, env) {
                return Ok(());
            }
            match grant(req, env).await {
                Ok(_) => Err(ApiError::Forbidden(
                    "only the operator's root token manages keys".into(),
                )),
                Err(e) => Err(failed(req, env, e).await),
            }
        }
        Access::Key(scope) => require_scope(req, env, account, scope).await,
    }
}

/// A key of `account` with `scope` (also used by a decision asking for its explanation).
pub async fn require_scope(
    req: &Request,
    env: &Env,
    account: &str,
    scope: Scope,
) -> Result<(), ApiError> {
    limits::refuse_if_blocked(req)?;
    if presents_root(req, env) {
        return Err(ApiError::Forbidden(format!(
            "the root token only manages keys: use a key of account \"{account}\" with the \"{}\" scope",
            scope.name()
        )));
    }
    let grant = match grant(req, env).await {
        Ok(g) => g,
        Err(e) => return Err(failed(req, env, e).await),
    };
    grant.allows(account, scope).map_err(|r| {
        ApiError::Forbidden(match r {
            Refusal::OtherAccount => format!(
                "this key belongs to account \"{}\", not \"{account}\"",
                grant.account
            ),
            Refusal::MissingScope(s) => format!("this key lacks the \"{}\" scope", s.name()),
        })
    })
}

/// A failed authentication: counted against the client (R-S3), then 401 (or 429 past it).
async fn failed(req: &Request, env: &Env, error: ApiError) -> ApiError {
    match limits::check(req, env, Limit::FailedAuth, &[]).await {
        Err(limited) => limited,
        Ok(()) => error,
    }
}

struct Checked {
    hash: String,
    scopes: Vec<Scope>,
    at_ms: u64,
}

thread_local! {
    static CHECKED: RefCell<HashMap<String, Checked>> = RefCell::new(HashMap::new());
}

/// Forgets this isolate's check of a key (it was just rotated or revoked here).
pub fn forget(account: &str, id: &str) {
    CHECKED.with(|c| c.borrow_mut().remove(&format!("{account}.{id}")));
}

/// The key the request presents, checked (by its account's object at most every
/// [`KEY_REUSE_MS`] per isolate, by the real clock: the test clock does not move keys).
async fn grant(req: &Request, env: &Env) -> Result<Grant, ApiError> {
    let now_ms = worker::Date::now().as_millis();
    let text = credentials(req).ok_or(ApiError::Unauthorized)?;
    let key = PresentedKey::parse(&text).ok_or(ApiError::Unauthorized)?;
    let hash = key.hash();
    let name = format!("{}.{}", key.account, key.id);
    let remembered = CHECKED.with(|c| {
        c.borrow().get(&name).and_then(|k| {
            (now_ms.saturating_sub(k.at_ms) < KEY_REUSE_MS
                && crate::crypto::same(k.hash.as_bytes(), hash.as_bytes()))
            .then(|| k.scopes.clone())
        })
    });
    let scopes = match remembered {
        Some(scopes) => scopes,
        None => {
            let call = KeyCall {
                now_ms,
                op: KeyOp::Admit {
                    id: key.id.to_string(),
                    hash: hash.clone(),
                },
            };
            let answer: KeyAnswer =
                bindings::send_json(env, &account_instance(key.account), &Account::Keys, &call)
                    .await?;
            let Some(record) = answer.ok().and_then(|r| r.into_iter().next()) else {
                forget(key.account, key.id);
                return Err(ApiError::Unauthorized);
            };
            CHECKED.with(|c| {
                let mut c = c.borrow_mut();
                if c.len() >= MAX_REMEMBERED {
                    c.clear();
                }
                c.insert(
                    name,
                    Checked {
                        hash,
                        scopes: record.scopes.clone(),
                        at_ms: now_ms,
                    },
                );
            });
            record.scopes
        }
    };
    Ok(Grant {
        account: key.account.to_string(),
        scopes,
    })
}
