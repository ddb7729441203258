//! The key API (R-S1), for the operator's root token only: create, list, rotate and revoke an
//! account's keys. A secret is made here, shown once in the answer, and kept only as its hash
//! by the account's object. Also the account's identity-token secret (R-S2), rotated with a key
//! that has the `identity` scope.

use super::bindings::{self, account_instance, Account, ObjectError};
use super::http::{body, json, require_json, Answer};
use super::{auth, random_id, snapshots};
use crate::api::admin::{AccountView, KeyAnswer, KeyCall};
use crate::api::routes::Route;
use crate::api::{ApiError, MAX_SMALL_DEPTH};
use crate::tenancy::identity;
use crate::tenancy::keys::{key_prefix, key_text, KeyError, KeyOp, KeyRecord, KeyRequest, ID_LEN};
use serde_json::{json, Value};
use worker::{Env, Request};

/// Largest key request body, in bytes.
const MAX_KEY_BODY: usize = 4 * 1024;

/// `…/keys`, `…/keys/{key}/rotate`, `DELETE …/keys/{key}`.
pub async fn handle(mut req: Request, env: &Env, route: Route, account: &str, key: &str) -> Answer {
    let id = key.to_string();
    let (op, secret) = match route {
        Route::KeyList => (KeyOp::List, None),
        Route::KeyCreate => {
            require_json(&req)?;
            let request: KeyRequest =
                serde_json::from_slice(&body(&mut req, MAX_KEY_BODY, MAX_SMALL_DEPTH).await?)
                    .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
            let scopes = request
                .check()
                .map_err(|(field, message)| ApiError::invalid(field, message))?;
            let secret = secret();
            let op = KeyOp::Create {
                id: random_id().chars().take(ID_LEN).collect(),
                name: request.name,
                scopes,
                hash: crate::crypto::sha256_hex(secret.as_bytes()),
            };
            (op, Some(secret))
        }
        Route::KeyRotate => {
            let secret = secret();
            let hash = crate::crypto::sha256_hex(secret.as_bytes());
            (KeyOp::Rotate { id, hash }, Some(secret))
        }
        Route::KeyRevoke => (KeyOp::Revoke { id }, None),
        _ => return Err(ApiError::NotFound("route".into())),
    };
    let records = apply(env, account, op).await?;
    if let Some(record) = records.first().filter(|_| route != Route::KeyList) {
        auth::forget(account, &record.id);
    }
    match (route, secret, records.first()) {
        (Route::KeyList, _, _) => {
            let keys: Vec<Value> = records.iter().map(|k| listed(account, k)).collect();
            json(200, &json!({ "account": account, "keys": keys }))
        }
        (_, Some(secret), Some(record)) => {
            let mut shown = listed(account, record);
            if let Some(o) = shown.as_object_mut() {
                o.insert("key".into(), json!(key_text(account, &record.id, &secret)));
            }
            json(if route == Route::KeyCreate { 201 } else { 200 }, &shown)
        }
        (_, None, Some(record)) => json(200, &listed(account, record)),
        _ => Err(ApiError::NotFound("key".into())),
    }
}

/// Sends a key operation to the account's object; a fresh id that collides is retried once.
async fn apply(env: &Env, account: &str, op: KeyOp) -> Result<Vec<KeyRecord>, ApiError> {
    let now_ms = worker::Date::now().as_millis();
    let send = |op: KeyOp| async move {
        let call = KeyCall { now_ms, op };
        Ok::<KeyAnswer, ApiError>(
            bindings::send_json(env, &account_instance(account), &Account::Keys, &call).await?,
        )
    };
    let answer = match send(op.clone()).await? {
        Err(KeyError::IdTaken) => match op {
            KeyOp::Create {
                name, scopes, hash, ..
            } => {
                send(KeyOp::Create {
                    id: random_id().chars().take(ID_LEN).collect(),
                    name,
                    scopes,
                    hash,
                })
                .await?
            }
            _ => Err(KeyError::IdTaken),
        },
        other => other,
    };
    answer.map_err(|e| match e {
        KeyError::TooMany => ApiError::TooManyKeys,
        KeyError::Revoked => ApiError::KeyRevoked,
        KeyError::Unknown | KeyError::Refused => ApiError::NotFound("key".into()),
        KeyError::IdTaken => ApiError::Unavailable("key id collision; retry".into()),
    })
}

/// A key as listings show it: never its secret or hash.
fn listed(account: &str, k: &KeyRecord) -> Value {
    let at = |ms: Option<u64>| ms.map(crate::tenancy::utc);
    json!({
        "id": k.id,
        "name": k.name,
        "prefix": key_prefix(account, &k.id),
        "scopes": k.scopes,
        "createdAt": at(Some(k.created_ms)),
        "rotatedAt": at(k.rotated_ms),
        "revokedAt": at(k.revoked_ms),
        "lastUsedAt": at(k.last_used_ms),
    })
}

/// 256 random bits, hex.
fn secret() -> String {
    format!("{}{}", random_id(), random_id())
}

/// R-S2: `POST …/identity-secret`: a new current secret, shown once; the previous one keeps
/// verifying until the next rotation.
pub async fn rotate_identity(env: &Env, account: &str) -> Answer {
    let mut random = [0u8; 36];
    getrandom::fill(&mut random).map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let now = worker::Date::now().as_millis();
    let next = identity::new_secret(&random, now);
    let view: AccountView =
        bindings::send_json(env, &account_instance(account), &Account::Identity, &next)
            .await
            .map_err(|e| match e {
                ObjectError::Unavailable(why) => {
                    ApiError::Unavailable(format!("identity secret not stored: {why}"))
                }
                refused => {
                    refused.or_refused(ApiError::Unavailable("identity secret not stored".into()))
                }
            })?;
    snapshots::written(env, account, view, now).await;
    json(
        201,
        &json!({
            "account": account,
            "kid": next.kid,
            "secret": next.secret,
            "algorithm": "HS256",
            "audience": account,
            "createdAt": crate::tenancy::utc(now),
        }),
    )
}
