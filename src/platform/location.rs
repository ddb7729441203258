//! The location's shared copy of each account's view (the Cache API: one cache per data
//! center, shared by the isolates there), so that a location asks an account's object for its
//! view about once per [`VIEW_TTL_MS`](crate::freshness::VIEW_TTL_MS) instead of once per
//! isolate. When to adopt it, claim it or ask the object is [`crate::freshness::at_location`].
//!
//! The cache is a convenience: every failure to read or write it is logged and the isolate
//! asks the object as it would without it. On a `*.workers.dev` route the Cache API keeps
//! nothing, and every isolate asks the object itself. The identity secrets in an entry are
//! sealed under a key from the worker's root token (`shared_view`); a worker without one shares
//! no view.

use super::bindings::{self, view_cache_key, ROOT_TOKEN, VIEW_CACHE};
use crate::shared_view::seal_key;
pub use crate::shared_view::Entry;
use worker::{Cache, Env, Headers, Response};

/// How long the cache keeps an entry, in real seconds. Whether an entry is still usable is
/// judged by its stamp, never by this: it only bounds how long a stale entry takes room.
const KEEP_S: u64 = 60;

/// The key that seals the entries' secrets ([`seal_key`]); none without a root token.
fn key(env: &Env) -> Option<[u8; 32]> {
    seal_key(&bindings::secret(env, ROOT_TOKEN)?)
}

async fn cache() -> Cache {
    Cache::open(VIEW_CACHE.to_string()).await
}

/// The location's entry for `account`, if it has a readable one.
pub async fn get(env: &Env, account: &str) -> Option<Entry> {
    let key = key(env)?;
    let found = cache().await.get(view_cache_key(account), false).await;
    let text = match found {
        Ok(Some(mut resp)) => resp.bytes().await,
        Ok(None) => return None,
        Err(e) => Err(e),
    };
    match text.map(|bytes| Entry::open(account, &key, &bytes)) {
        Ok(Ok(entry)) => Some(entry),
        Ok(Err(e)) => {
            worker::console_warn!("account {account}: location's view unreadable: {e:?}");
            None
        }
        Err(e) => {
            worker::console_warn!("account {account}: location's view not read: {e:?}");
            None
        }
    }
}

/// Stores `entry` as the location's view of `account`, its secrets sealed with a fresh nonce.
pub async fn put(env: &Env, account: &str, entry: &Entry) {
    let Some(key) = key(env) else {
        return;
    };
    let stored = async {
        let mut nonce = [0; crate::crypto::NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| worker::Error::from(e.to_string()))?;
        let text = entry
            .seal(account, &key, nonce)
            .ok_or_else(|| worker::Error::from("view not sealed"))?;
        let headers = Headers::new();
        headers.set("Cache-Control", &format!("max-age={KEEP_S}"))?;
        headers.set("Content-Type", "application/json")?;
        let resp = Response::ok(text)?.with_headers(headers);
        cache().await.put(view_cache_key(account), resp).await
    };
    if let Err(e) = stored.await {
        worker::console_warn!("account {account}: location's view not stored: {e:?}");
    }
}

/// Drops the location's view of `account` (after a publish, so that the location's isolates
/// ask the object at their next refresh rather than adopt the revision it replaced).
pub async fn forget(account: &str) {
    if let Err(e) = cache().await.delete(view_cache_key(account), false).await {
        worker::console_warn!("account {account}: location's view not dropped: {e:?}");
    }
}
