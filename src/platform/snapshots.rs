//! Snapshot and availability loading with an in-isolate cache.
//!
//! Each isolate keeps, per account, the compiled snapshot (rebuilt only when the revision
//! changes) and the last availability. It asks the account's Durable Object for the live
//! revision and availability at most every [`REFRESH_MS`], so a publish or an availability push
//! reaches every isolate within that bound plus one round trip (R-P2: under 10 s); the isolate
//! that handled the write sees it at once. Snapshot bodies are immutable per revision in KV, so
//! a reader never sees half a publish and KV's propagation delay cannot serve a stale revision
//! under a new number.

use super::account_do::{snapshot_key, AccountView, KV_BINDING};
use crate::engine::agent::Availability;
use crate::engine::snapshot::{compile, Snapshot};
use crate::protocol::ApiError;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use worker::{Env, Method};

/// Longest an isolate trusts its view of an account before asking again.
pub const REFRESH_MS: u64 = 5_000;
/// Accounts kept per isolate before the cache is cleared.
const MAX_ACCOUNTS: usize = 1_000;

/// What a decision runs on.
#[derive(Clone)]
pub struct Loaded {
    /// The compiled snapshot.
    pub snapshot: Rc<Snapshot>,
    /// Agent availability.
    pub availability: Rc<Availability>,
}

struct Entry {
    fetched_at: u64,
    revision: u64,
    availability: Rc<Availability>,
    snapshot: Option<Rc<Snapshot>>,
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Entry>> = RefCell::new(HashMap::new());
}

/// Internal request to the account's Durable Object.
pub async fn account_call(
    env: &Env,
    account: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Result<worker::Response, ApiError> {
    super::objects::call(env, "ACCOUNTS", account, method, path, headers, body).await
}

/// Reads the account's live revision and availability from its Durable Object.
pub async fn fetch_view(env: &Env, account: &str) -> Result<AccountView, ApiError> {
    let mut resp = account_call(env, account, Method::Get, "/state", &[], None).await?;
    resp.json::<AccountView>()
        .await
        .map_err(|e| ApiError::Unavailable(format!("account state: {e}")))
}

/// Records a view of an account (just fetched, or just written by this isolate so that it sees
/// its own writes at once) and returns its availability. New accounts past [`MAX_ACCOUNTS`]
/// clear the cache first.
pub fn remember(account: &str, view: AccountView, now_ms: u64) -> Rc<Availability> {
    let availability = Rc::new(view.availability);
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= MAX_ACCOUNTS && !cache.contains_key(account) {
            cache.clear();
        }
        let entry = cache.entry(account.to_string()).or_insert_with(|| Entry {
            fetched_at: 0,
            revision: 0,
            availability: availability.clone(),
            snapshot: None,
        });
        entry.fetched_at = now_ms;
        entry.revision = view.revision;
        entry.availability = availability.clone();
    });
    availability
}

/// Loads the compiled snapshot and availability for `account`.
pub async fn load(env: &Env, account: &str, now_ms: u64) -> Result<Loaded, ApiError> {
    let cached = CACHE.with(|c| {
        c.borrow().get(account).map(|e| {
            (
                e.fetched_at,
                e.revision,
                e.availability.clone(),
                e.snapshot.clone(),
            )
        })
    });
    let (revision, availability, snapshot) = match cached {
        Some((at, rev, avail, snap)) if now_ms.saturating_sub(at) < REFRESH_MS => {
            (rev, avail, snap)
        }
        previous => match fetch_view(env, account).await {
            Ok(view) => {
                let snap = previous.and_then(|p| p.3);
                let revision = view.revision;
                (revision, remember(account, view, now_ms), snap)
            }
            // The object is unreachable: keep deciding on what this isolate last knew.
            Err(e) => match previous {
                Some((_, rev, avail, snap)) => {
                    worker::console_warn!("account {account}: using cached state: {e:?}");
                    (rev, avail, snap)
                }
                None => return Err(e),
            },
        },
    };
    if revision == 0 {
        return Err(ApiError::UnknownAccount(account.to_string()));
    }
    if let Some(s) = snapshot.filter(|s| s.revision == revision) {
        return Ok(Loaded {
            snapshot: s,
            availability,
        });
    }
    let snapshot = Rc::new(read_snapshot(env, account, revision).await?);
    CACHE.with(|c| {
        if let Some(e) = c.borrow_mut().get_mut(account) {
            if e.revision == revision {
                e.snapshot = Some(snapshot.clone());
            }
        }
    });
    Ok(Loaded {
        snapshot,
        availability,
    })
}

/// Reads the stored text of one immutable snapshot revision from KV.
async fn kv_text(env: &Env, account: &str, revision: u64) -> Result<String, ApiError> {
    let kv = env
        .kv(KV_BINDING)
        .map_err(|e| ApiError::Unavailable(format!("kv binding: {e}")))?;
    kv.get(&snapshot_key(account, revision))
        .text()
        .await
        .map_err(|e| ApiError::Unavailable(format!("kv read: {e}")))?
        .ok_or_else(|| ApiError::Unavailable(format!("snapshot {revision} not yet readable")))
}

/// Reads and compiles one snapshot revision.
async fn read_snapshot(env: &Env, account: &str, revision: u64) -> Result<Snapshot, ApiError> {
    let text = kv_text(env, account, revision).await?;
    compile(&text, account, revision).map_err(|problems| {
        worker::console_error!(
            "account {account} revision {revision}: stored snapshot does not compile: {} problem(s)",
            problems.len()
        );
        ApiError::Unavailable("stored snapshot is not valid".to_string())
    })
}

/// Reads the stored text of the live snapshot (admin read-back).
pub async fn read_text(env: &Env, account: &str) -> Result<(u64, String), ApiError> {
    let view = fetch_view(env, account).await?;
    if view.revision == 0 {
        return Err(ApiError::UnknownAccount(account.to_string()));
    }
    Ok((view.revision, kv_text(env, account, view.revision).await?))
}

/// Drops this isolate's view of an account so the next request asks its object again.
pub fn forget(account: &str) {
    CACHE.with(|c| {
        if let Some(e) = c.borrow_mut().get_mut(account) {
            e.fetched_at = 0;
        }
    });
}
