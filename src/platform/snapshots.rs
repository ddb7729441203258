//! Snapshot and availability loading with an in-isolate cache.
//!
//! Each isolate keeps, per account, the compiled snapshot (rebuilt only when the revision
//! changes) and the last view of the account (live revision, availability, identity secrets).
//! How old that view may be, and when the location's shared copy (`location.rs`) is taken
//! instead of asking the account's Durable Object, is [`crate::freshness`]: fresh for
//! [`VIEW_TTL_MS`]; on the tag routes used up to [`STALE_LIMIT_MS`](crate::freshness::STALE_LIMIT_MS) and refreshed after the
//! answer (`ctx.wait_until`, one refresh per account and isolate at a time, compiling a new
//! revision there too), so the tag's answers rarely wait for the account's object. A publish
//! or an availability push reaches every isolate within [`STALE_LIMIT_MS`](crate::freshness::STALE_LIMIT_MS) (R-P2: under
//! 10 s); the isolate that handled the write sees it at once. Snapshot bodies are immutable per
//! revision in KV, so a reader never sees half a publish and KV's propagation delay cannot
//! serve a stale revision under a new number.

use super::bindings::{self, account_instance, Account};
use super::{location, revisions};
use crate::api::admin::AccountView;
use crate::api::decide::Degraded;
use crate::api::ApiError;
use crate::engine::agent::Availability;
use crate::engine::snapshot::Snapshot;
use crate::faults::Fault;
use crate::freshness::VIEW_TTL_MS;
use crate::freshness::{self, AtLocation, Own, Stamp};
use crate::tenancy::budget::{entry_bytes, evict, CACHE_BUDGET, ENTRY_OVERHEAD};
use crate::tenancy::identity::IdentitySecret;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use worker::{Context, Env};

/// What a decision runs on.
#[derive(Clone)]
pub struct Loaded {
    /// The compiled snapshot.
    pub snapshot: Rc<Snapshot>,
    /// Agent availability.
    pub availability: Rc<Availability>,
    /// The account's identity-token secrets (R-S2).
    pub identity: Rc<Vec<IdentitySecret>>,
    /// Set when the live revision's stored snapshot could not be read or compiled (missing or
    /// hand-edited in KV): `snapshot` is then the last one this isolate compiled, or an empty
    /// one, and routes answer with what it allows instead of failing (a 5xx storm helps
    /// nobody). The reason is logged and retried every [`VIEW_TTL_MS`].
    pub unreadable: Option<Degraded>,
    /// Where this request's view of the account came from.
    pub source: ViewSource,
}

#[derive(Clone)]
struct Entry {
    fetched_at: u64,
    revision: u64,
    availability: Rc<Availability>,
    identity: Rc<Vec<IdentitySecret>>,
    snapshot: Option<Rc<Snapshot>>,
    /// Estimated bytes of the entry (R-S4, [`entry_bytes`]).
    bytes: usize,
    /// Last use by a request (the real clock), for least-recently-used eviction.
    used_at: u64,
    /// The live revision could not be read: (revision, retry after, reason).
    unreadable: Option<(u64, u64, Degraded)>,
    /// A refresh after an answer is under way.
    refreshing: bool,
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Entry>> = RefCell::new(HashMap::new());
}

/// Reads the account's live revision and availability from its Durable Object.
pub async fn fetch_view(env: &Env, account: &str) -> Result<AccountView, ApiError> {
    Ok(bindings::send(env, &account_instance(account), &Account::View, &[], None).await?)
}

/// The live snapshot of `account` for work off the request path (the queue's consumer): the
/// live revision asked from the account's object, compiled once per isolate and revision. The
/// isolate's view and its age (R-P2) are left as they are: this read has no request clock
/// (test builds decide on a test clock, which the consumer does not share).
pub async fn live_snapshot(env: &Env, account: &str) -> Result<Rc<Snapshot>, ApiError> {
    let revision = fetch_view(env, account).await?.revision;
    if revision == 0 {
        return Err(ApiError::UnknownAccount(account.to_string()));
    }
    let cached = CACHE.with(|c| {
        c.borrow()
            .get(account)
            .and_then(|e| e.snapshot.clone())
            .filter(|s| s.revision == revision)
    });
    if let Some(s) = cached {
        return Ok(s);
    }
    let (compiled, len) = revisions::read_snapshot(env, account, revision)
        .await
        .map_err(|reason| ApiError::Unavailable(format!("snapshot {revision}: {reason:?}")))?;
    let compiled = Rc::new(compiled);
    keep_compiled(account, revision, compiled.clone(), len);
    Ok(compiled)
}

/// Changes this isolate's entry of `account`, creating it if needed, and marks it used.
fn with_entry(account: &str, change: impl FnOnce(&mut Entry)) {
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let entry = cache.entry(account.to_string()).or_insert_with(|| Entry {
            fetched_at: 0,
            revision: 0,
            availability: Rc::new(Availability::default()),
            identity: Rc::new(Vec::new()),
            snapshot: None,
            bytes: ENTRY_OVERHEAD,
            used_at: 0,
            unreadable: None,
            refreshing: false,
        });
        entry.used_at = worker::Date::now().as_millis();
        change(entry);
    });
}

/// R-S4: keeps the cache within [`CACHE_BUDGET`] bytes, dropping the accounts used least
/// recently (never `keep`, which the current request needs).
fn within_budget(keep: &str) {
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let victims: Vec<String> = evict(
            cache.iter().map(|(k, e)| (k.as_str(), e.bytes, e.used_at)),
            keep,
            CACHE_BUDGET,
        )
        .into_iter()
        .map(str::to_string)
        .collect();
        for v in victims {
            cache.remove(&v);
        }
    });
}

/// Accounts and estimated bytes in this isolate's cache (test builds report them).
#[cfg(feature = "test-clock")]
pub fn usage() -> (usize, usize) {
    CACHE.with(|c| {
        let c = c.borrow();
        (c.len(), c.values().map(|e| e.bytes).sum())
    })
}

/// Keeps a compiled snapshot of `text_len` bytes of JSON in the entry and the cache in budget.
fn keep_compiled(account: &str, revision: u64, compiled: Rc<Snapshot>, text_len: usize) {
    update(account, revision, |e| {
        e.snapshot = Some(compiled);
        e.bytes = entry_bytes(text_len);
        e.unreadable = None;
    });
    within_budget(account);
}

/// Records a view of an account read from its object at `fetched_at` (by this isolate, by
/// another of its location, or just written by this isolate so that it sees its own writes at
/// once) and returns its availability.
fn remember(account: &str, view: AccountView, fetched_at: u64) -> Rc<Availability> {
    let availability = Rc::new(view.availability);
    let identity = Rc::new(view.identity);
    with_entry(account, |entry| {
        entry.fetched_at = fetched_at;
        entry.revision = view.revision;
        entry.availability = availability.clone();
        entry.identity = identity;
        entry.refreshing = false;
    });
    // An account that was never published still takes an entry: the budget counts those too.
    within_budget(account);
    availability
}

/// Shares a `view` just read from the account's object (at `now_ms`) with the location, and
/// hands it back.
async fn share(env: &Env, account: &str, view: AccountView, now_ms: u64) -> AccountView {
    let entry = location::Entry {
        fetched_at: now_ms,
        claimed_at: None,
        view,
    };
    location::put(env, account, &entry).await;
    entry.view
}

/// After a write to the account's object that answered with its new `view` (availability,
/// identity secrets): this isolate and its location use it at once. Returns its availability.
pub async fn written(env: &Env, account: &str, view: AccountView, now_ms: u64) -> Rc<Availability> {
    let view = share(env, account, view, now_ms).await;
    remember(account, view, now_ms)
}

/// Where a request's view of the account came from (the request log's `view`; test builds also
/// answer it in `X-Edge-View`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewSource {
    /// The isolate's own copy.
    Isolate,
    /// The location's shared copy (`location.rs`).
    Location,
    /// The account's object, read by this request.
    Object,
}

impl ViewSource {
    /// The name in the request log (and, in test builds, in `X-Edge-View`).
    pub fn name(self) -> &'static str {
        match self {
            ViewSource::Isolate => "isolate",
            ViewSource::Location => "location",
            ViewSource::Object => "object",
        }
    }
}

/// Test builds only (`X-Test-Fault`, docs/api.md): faults on the way to the account's view.
#[derive(Debug, Clone, Copy, Default)]
pub struct ViewFaults {
    /// `new-isolate`: this isolate's own copy is ignored, as a new isolate of the location has
    /// none.
    pub new_isolate: bool,
    /// `account-object`: the account's object cannot be reached.
    pub unreachable: bool,
}

impl ViewFaults {
    /// The view faults a request trusted for tests names ([`super::auth::test_faults`]).
    pub fn of(req: &worker::Request, env: &Env) -> ViewFaults {
        let named = super::auth::test_faults(req, env);
        ViewFaults {
            new_isolate: named.has(Fault::NewIsolate),
            unreachable: named.has(Fault::AccountObjectUnreachable),
        }
    }
}

/// R-P2: a newer view for an isolate whose own (`own`) is due at `now`: the location's, or the
/// object's (`freshness::at_location`). `None`: keep the own one while another isolate of the
/// location refreshes it. When the object cannot be reached, the location's view serves if it
/// is not behind the isolate's own, however old: the caller then asks again on its next
/// request, as it does with its own view.
async fn newer_view(
    env: &Env,
    account: &str,
    own: Option<Stamp>,
    now_ms: u64,
    faults: ViewFaults,
) -> Result<Option<(AccountView, u64, ViewSource)>, ApiError> {
    let shared = location::get(env, account).await;
    let choice = freshness::at_location(shared.as_ref().map(location::Entry::shared), own, now_ms);
    let claim = match (choice, shared) {
        (AtLocation::KeepOwn, _) => return Ok(None),
        (AtLocation::Adopt, Some(s)) => {
            return Ok(Some((s.view, s.fetched_at, ViewSource::Location)))
        }
        (AtLocation::Fetch { claim: true }, Some(mut s)) => {
            s.claimed_at = Some(now_ms);
            location::put(env, account, &s).await;
            Some(s)
        }
        (_, shared) => shared,
    };
    let fetched = if cfg!(feature = "test-faults") && faults.unreachable {
        Err(ApiError::Unavailable("account object (test fault)".into()))
    } else {
        fetch_view(env, account).await
    };
    match fetched {
        Ok(view) => Ok(Some((
            share(env, account, view, now_ms).await,
            now_ms,
            ViewSource::Object,
        ))),
        Err(e) => match claim {
            Some(s)
                if freshness::age(s.fetched_at, now_ms).is_some()
                    && freshness::not_behind(s.shared().stamp, own) =>
            {
                worker::console_warn!("account {account}: using the location's view: {e:?}");
                Ok(Some((s.view, s.fetched_at, ViewSource::Location)))
            }
            _ => Err(e),
        },
    }
}

/// The stamp of this isolate's own view of an entry.
fn stamp(e: &Entry) -> Stamp {
    Stamp {
        fetched_at: e.fetched_at,
        revision: e.revision,
    }
}

/// After the answer: a newer view of the account (the location's or the object's) and, when
/// its revision is new, its snapshot read and compiled, so that the next request finds both
/// ready. One at a time per account.
fn refresh_after(ctx: &Context, env: &Env, account: &str, own: Stamp, now_ms: u64) {
    let mut start = false;
    with_entry(account, |entry| {
        start = !entry.refreshing;
        entry.refreshing = true;
    });
    if !start {
        return;
    }
    let (env, account) = (env.clone(), account.to_string());
    ctx.wait_until(async move {
        match newer_view(&env, &account, Some(own), now_ms, ViewFaults::default()).await {
            Ok(Some((view, fetched_at, source))) => {
                let revision = view.revision;
                remember(&account, view, fetched_at);
                let known = CACHE.with(|c| {
                    c.borrow()
                        .get(&account)
                        .and_then(|e| e.snapshot.as_ref().map(|s| s.revision))
                });
                if revision > 0 && known != Some(revision) {
                    if let Ok((compiled, len)) = revisions::read_snapshot(&env, &account, revision).await {
                        keep_compiled(&account, revision, Rc::new(compiled), len);
                    }
                }
                worker::console_log!(
                    "account {account}: view refreshed after the answer from the {} (revision {revision})",
                    source.name()
                );
            }
            Ok(None) => with_entry(&account, |entry| entry.refreshing = false),
            Err(e) => {
                with_entry(&account, |entry| entry.refreshing = false);
                worker::console_warn!("account {account}: refresh after the answer failed: {e:?}");
            }
        }
    });
}

/// Keeps the snapshot a publish just compiled as `revision` (from `text_len` bytes of JSON), so
/// that this isolate does not compile it again. This isolate asks for the account's view again
/// on its next request, and its location drops the view it shared, which named the revision
/// replaced.
pub async fn published(account: &str, mut snapshot: Snapshot, revision: u64, text_len: usize) {
    snapshot.revision = revision;
    with_entry(account, |entry| {
        entry.fetched_at = 0;
        entry.revision = revision;
    });
    keep_compiled(account, revision, Rc::new(snapshot), text_len);
    location::forget(account).await;
}

/// Loads the compiled snapshot and availability for `account`.
pub async fn load(env: &Env, account: &str, now_ms: u64) -> Result<Loaded, ApiError> {
    load_with(env, None, account, now_ms, ViewFaults::default()).await
}

/// [`load`] for the tag routes: a view older than [`VIEW_TTL_MS`] but younger than
/// [`STALE_LIMIT_MS`](crate::freshness::STALE_LIMIT_MS) is used as it is and refreshed after the answer.
pub async fn load_for_tag(
    env: &Env,
    ctx: &Context,
    account: &str,
    now_ms: u64,
    faults: ViewFaults,
) -> Result<Loaded, ApiError> {
    load_with(env, Some(ctx), account, now_ms, faults).await
}

async fn load_with(
    env: &Env,
    ctx: Option<&Context>,
    account: &str,
    now_ms: u64,
    faults: ViewFaults,
) -> Result<Loaded, ApiError> {
    let cached = if faults.new_isolate {
        None
    } else {
        CACHE.with(|c| c.borrow().get(account).cloned())
    };
    let wants = freshness::own(cached.as_ref().map(|e| e.fetched_at), now_ms, ctx.is_some());
    let (entry, source) = match (cached, wants, ctx) {
        (Some(e), Own::Use, _) => (e, ViewSource::Isolate),
        (Some(e), Own::UseThenRefresh, Some(ctx)) => {
            refresh_after(ctx, env, account, stamp(&e), now_ms);
            (e, ViewSource::Isolate)
        }
        (previous, _, _) => {
            let own = previous.as_ref().map(stamp);
            match newer_view(env, account, own, now_ms, faults).await {
                Ok(Some((view, fetched_at, source))) => {
                    let revision = view.revision;
                    let availability = remember(account, view, fetched_at);
                    let (snapshot, unreadable, bytes) = previous
                        .map_or((None, None, ENTRY_OVERHEAD), |p| {
                            (p.snapshot, p.unreadable, p.bytes)
                        });
                    let entry = Entry {
                        fetched_at,
                        revision,
                        availability,
                        identity: CACHE.with(|c| {
                            c.borrow()
                                .get(account)
                                .map(|e| e.identity.clone())
                                .unwrap_or_default()
                        }),
                        snapshot,
                        bytes,
                        used_at: 0,
                        unreadable,
                        refreshing: false,
                    };
                    (entry, source)
                }
                // Another isolate of the location is refreshing it; this one's is under 10 s.
                Ok(None) => match previous {
                    Some(p) => (p, ViewSource::Isolate),
                    None => return Err(ApiError::Unavailable("no view of the account".into())),
                },
                // The object is unreachable: keep deciding on what this isolate last knew.
                Err(e) => match previous {
                    Some(p) => {
                        worker::console_warn!("account {account}: using cached state: {e:?}");
                        (p, ViewSource::Isolate)
                    }
                    None => return Err(e),
                },
            }
        }
    };
    let Entry {
        revision,
        availability,
        identity,
        snapshot,
        unreadable,
        ..
    } = entry;
    CACHE.with(|c| {
        if let Some(e) = c.borrow_mut().get_mut(account) {
            e.used_at = worker::Date::now().as_millis();
        }
    });
    if revision == 0 {
        return Err(ApiError::UnknownAccount(account.to_string()));
    }
    let fallback = |snapshot: Option<Rc<Snapshot>>, reason| Loaded {
        snapshot: snapshot.unwrap_or_else(|| Rc::new(Snapshot::empty(account, revision))),
        availability: availability.clone(),
        identity: identity.clone(),
        unreadable: Some(reason),
        source,
    };
    match (&snapshot, unreadable) {
        (Some(s), _) if s.revision == revision => {
            return Ok(Loaded {
                snapshot: s.clone(),
                availability,
                identity,
                unreadable: None,
                source,
            })
        }
        (_, Some((rev, retry_at, reason))) if rev == revision && now_ms < retry_at => {
            return Ok(fallback(snapshot, reason));
        }
        _ => {}
    }
    match revisions::read_snapshot(env, account, revision).await {
        Ok((compiled, len)) => {
            let compiled = Rc::new(compiled);
            keep_compiled(account, revision, compiled.clone(), len);
            Ok(Loaded {
                snapshot: compiled,
                availability,
                identity,
                unreadable: None,
                source,
            })
        }
        Err(reason) => {
            update(account, revision, |e| {
                e.unreadable = Some((revision, now_ms + VIEW_TTL_MS, reason));
            });
            Ok(fallback(snapshot, reason))
        }
    }
}

/// Changes the cached entry of `account` if its live revision is still `revision`.
fn update(account: &str, revision: u64, change: impl FnOnce(&mut Entry)) {
    CACHE.with(|c| {
        if let Some(e) = c.borrow_mut().get_mut(account) {
            if e.revision == revision {
                change(e);
            }
        }
    });
}

/// Reads the stored text of the live snapshot (admin read-back).
pub async fn read_text(env: &Env, account: &str) -> Result<(u64, String), ApiError> {
    let view = fetch_view(env, account).await?;
    if view.revision == 0 {
        return Err(ApiError::UnknownAccount(account.to_string()));
    }
    Ok((
        view.revision,
        revisions::kv_text(env, account, view.revision).await?,
    ))
}
