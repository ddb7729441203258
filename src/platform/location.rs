//! The location's shared copy of each account's view (the Cache API: one cache per data
//! center, shared by the isolates there), so that a location asks an account's object for its
//! view about once per [`VIEW_TTL_MS`](crate::freshness::VIEW_TTL_MS) instead of once per
//! isolate. When to adopt it, claim it or ask the object is [`crate::freshness::at_location`].
//!
//! The cache is a convenience: every failure to read or write it is logged and the isolate
//! asks the object as it would without it. On a `*.workers.dev` route the Cache API keeps
//! nothing, and every isolate asks the object itself.

use super::bindings::{view_cache_key, VIEW_CACHE};
use crate::api::admin::AccountView;
use crate::freshness::{Shared, Stamp};
use serde::{Deserialize, Serialize};
use worker::{Cache, Headers, Response};

/// How long the cache keeps an entry, in real seconds. Whether an entry is still usable is
/// judged by its stamp, never by this: it only bounds how long a stale entry takes room.
const KEEP_S: u64 = 60;

/// An account's view as the location keeps it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// When the account's object was read (by the request clock of the isolate that read it).
    pub fetched_at: u64,
    /// When an isolate claimed its refresh, if none has written a newer view since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<u64>,
    /// The view.
    pub view: AccountView,
}

impl Entry {
    /// What [`crate::freshness::at_location`] weighs.
    pub fn shared(&self) -> Shared {
        Shared {
            stamp: Stamp {
                fetched_at: self.fetched_at,
                revision: self.view.revision,
            },
            claimed_at: self.claimed_at,
        }
    }
}

async fn cache() -> Cache {
    Cache::open(VIEW_CACHE.to_string()).await
}

/// The location's entry for `account`, if it has a readable one.
pub async fn get(account: &str) -> Option<Entry> {
    let found = cache().await.get(view_cache_key(account), false).await;
    let text = match found {
        Ok(Some(mut resp)) => resp.bytes().await,
        Ok(None) => return None,
        Err(e) => Err(e),
    };
    match text.map(|bytes| serde_json::from_slice::<Entry>(&bytes)) {
        Ok(Ok(entry)) => Some(entry),
        Ok(Err(e)) => {
            worker::console_warn!("account {account}: location's view unreadable: {e}");
            None
        }
        Err(e) => {
            worker::console_warn!("account {account}: location's view not read: {e:?}");
            None
        }
    }
}

/// Stores `entry` as the location's view of `account`.
pub async fn put(account: &str, entry: &Entry) {
    let stored = async {
        let headers = Headers::new();
        headers.set("Cache-Control", &format!("max-age={KEEP_S}"))?;
        headers.set("Content-Type", "application/json")?;
        let text = serde_json::to_string(entry).map_err(|e| worker::Error::from(e.to_string()))?;
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
