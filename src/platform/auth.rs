//! The admin bearer token: kept as a wrangler secret, hidden from `Debug`, compared in
//! constant time.

use super::bindings;
use super::http::header;
use crate::api::bearer;
use std::fmt;
use subtle::ConstantTimeEq;
use worker::{Env, Request};

/// The configured admin token.
pub struct BearerToken(String);

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

impl BearerToken {
    /// The token from the environment; `None` (admin closed) when unset or shorter than 16.
    pub fn from_env(env: &Env) -> Option<BearerToken> {
        let value = bindings::secret(env, bindings::ADMIN_TOKEN)?;
        (value.len() >= 16).then_some(BearerToken(value))
    }

    /// True when `Authorization: Bearer <token>` carries this token (the scheme in any case).
    pub fn admits(&self, req: &Request) -> bool {
        let given = header(req.headers(), "Authorization").unwrap_or_default();
        let Some(given) = bearer(&given) else {
            return false;
        };
        bool::from(given.as_bytes().ct_eq(self.0.as_bytes()))
    }
}

/// True when the request carries the admin token (fails closed when none is configured).
pub fn is_admin(req: &Request, env: &Env) -> bool {
    BearerToken::from_env(env).is_some_and(|t| t.admits(req))
}
