//! Every binding the worker uses, declared once: the KV namespace, and each Durable Object
//! class with its binding name, its commands (method and path), the name of an instance, and
//! the typed bodies it takes and answers (in [`crate::api`]). The caller sends a command; the
//! object parses the same command back. No binding name or object path is written elsewhere.

use crate::api::ApiError;
use crate::tenancy::limits::Limit;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::borrow::Cow;
use worker::{Env, Headers, Method, Request, RequestInit};

/// KV namespace of immutable snapshot revisions: `snapshot/{account}/{revision}`.
pub const SNAPSHOTS: &str = "SNAPSHOTS";

/// KV key of an immutable snapshot revision.
pub fn snapshot_key(account: &str, revision: u64) -> String {
    format!("snapshot/{account}/{revision}")
}

/// KV key of the pointer to the live revision (for tooling; decisions ask the account object).
pub fn pointer_key(account: &str) -> String {
    format!("snapshot/{account}/current")
}

/// Cache (the Cache API, one per location) of the accounts' views that the isolates of a
/// location share (`location.rs`, R-P2). A named cache: separate from the cache that `fetch`
/// and the zone's CDN see, so no request from outside reads it.
pub const VIEW_CACHE: &str = "account-views";

/// Key of an account's view in [`VIEW_CACHE`]. The host is not routed anywhere: only the
/// Worker reads this cache.
pub fn view_cache_key(account: &str) -> String {
    format!("https://account-view.invalid/{account}")
}

/// D1 database of the measurement store of earlier releases (schema in `migrations/`), read
/// once by the migration into the measurement objects (`migrate.rs`).
pub const MEASURE: &str = "MEASURE";
/// Queue of measurement messages to the consumer (R-M4).
pub const FACTS: &str = "FACTS";

/// Secret holding the operator's root token, which only manages keys (R-S1; local:
/// `.dev.vars`); see `auth.rs`.
pub const ROOT_TOKEN: &str = "ROOT_TOKEN";
/// Secret that signs click-to-call tokens (at least 32 characters); see `click_to_call.rs`.
pub const CTC_SIGNING_KEY: &str = "CTC_SIGNING_KEY";
/// Var: `true` reads the visitor's geo from `CF-IPCountry` / `CF-Region` / `CF-IPCity`
/// headers (local setups, where `wrangler dev` has no real geo); unset in production.
pub const GEO_FROM_HEADERS: &str = "GEO_FROM_HEADERS";
/// Var: `true` serves the demo site under `/demo`; unset in production.
pub const DEMO_ENABLED: &str = "DEMO_ENABLED";

/// The rate limiter of `limit` (R-S3): its binding is [`Limit::binding`], its limit and period
/// in wrangler.toml.
pub fn limiter(env: &Env, limit: Limit) -> worker::Result<worker::RateLimiter> {
    env.rate_limiter(limit.binding())
}

/// A secret's value, if set.
pub fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().map(|s| s.to_string())
}

/// True when a var is set to `true`.
pub fn flag(env: &Env, name: &str) -> bool {
    env.var(name).is_ok_and(|v| v.to_string() == "true")
}

/// A Durable Object class: where it is bound, and the commands it understands.
pub trait ObjectClass: Sized {
    /// The binding in wrangler.toml.
    const BINDING: &'static str;
    /// Method and path of a command.
    fn route(&self) -> (Method, Cow<'static, str>);
    /// The command a request to the object carries.
    fn parse(method: &Method, path: &str) -> Option<Self>;
}

/// Commands of `AccountState`, one object per account (account_do.rs; what each does and
/// answers: [`crate::account_state::Command`]).
pub use crate::account_state::Command as Account;

/// Header carrying the account id to [`Account::Publish`].
pub const ACCOUNT_HEADER: &str = "X-Account";
/// Header carrying the base revision to [`Account::Publish`].
pub const IF_MATCH: &str = "If-Match";

impl ObjectClass for Account {
    const BINDING: &'static str = "ACCOUNTS";

    fn route(&self) -> (Method, Cow<'static, str>) {
        match self {
            Account::View => (Method::Get, "/state".into()),
            Account::Publish => (Method::Post, "/publish".into()),
            Account::AddClicks => (Method::Post, "/clicks".into()),
            Account::Clicks => (Method::Get, "/clicks".into()),
            Account::Availability => (Method::Put, "/availability".into()),
            Account::SkillAvailability(skill) => {
                (Method::Put, format!("/availability/{skill}").into())
            }
            Account::Keys => (Method::Post, "/keys".into()),
            Account::Identity => (Method::Post, "/identity".into()),
        }
    }

    fn parse(method: &Method, path: &str) -> Option<Account> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        Some(match (method, segments.as_slice()) {
            (Method::Get, ["state"]) => Account::View,
            (Method::Post, ["publish"]) => Account::Publish,
            (Method::Post, ["clicks"]) => Account::AddClicks,
            (Method::Get, ["clicks"]) => Account::Clicks,
            (Method::Put, ["availability"]) => Account::Availability,
            (Method::Put, ["availability", skill]) => Account::SkillAvailability((*skill).into()),
            (Method::Post, ["keys"]) => Account::Keys,
            (Method::Post, ["identity"]) => Account::Identity,
            _ => return None,
        })
    }
}

/// The account object's instance: one per account.
pub fn account_instance(account: &str) -> String {
    account.to_string()
}

/// How many objects an account's offsite click totals are spread over: each isolate adds
/// its batches to one of them, so that a busy account's clicks are not all calls on its own
/// object, and the totals are their sum (with the account object's own, from before).
pub const CLICK_SHARDS: u8 = 8;

/// The instance (of the account objects' class) that holds click totals shard `shard` of
/// `account` ([`CLICK_SHARDS`]); `|` is in no account id.
pub fn click_instance(account: &str, shard: u8) -> String {
    format!("{account}|clicks|{shard}")
}

/// Commands of `VisitorSession`, one object per (account, visit) (visit_do.rs; what each
/// does and answers: [`crate::session::Command`]).
pub use crate::session::Command as Visit;

impl ObjectClass for Visit {
    const BINDING: &'static str = "VISITS";

    fn route(&self) -> (Method, Cow<'static, str>) {
        match self {
            Visit::Decide => (Method::Post, "/decide/2".into()),
            Visit::Events => (Method::Post, "/events".into()),
            Visit::CallClick => (Method::Post, "/call-click".into()),
            Visit::Land => (Method::Post, "/land".into()),
            Visit::Record => (Method::Post, "/record".into()),
            Visit::Context(id) => (Method::Get, format!("/contexts/{id}").into()),
            Visit::Read => (Method::Get, "/state".into()),
            Visit::Erase => (Method::Delete, "/state".into()),
        }
    }

    fn parse(method: &Method, path: &str) -> Option<Visit> {
        if let Some(id) = path.strip_prefix("/contexts/") {
            return (*method == Method::Get).then(|| Visit::Context(id.to_string()));
        }
        [
            Visit::Decide,
            Visit::Events,
            Visit::CallClick,
            Visit::Land,
            Visit::Record,
            Visit::Read,
            Visit::Erase,
        ]
        .into_iter()
        .find(|c| is_route(c, method, path))
    }
}

/// True when a request's method and path are `command`'s.
fn is_route<C: ObjectClass>(command: &C, method: &Method, path: &str) -> bool {
    let (m, p) = command.route();
    m == *method && p == path
}

/// The visit object's instance for (account, visit).
pub fn visit_instance(account: &str, visit_id: &str) -> String {
    format!("{account}:{visit_id}")
}

/// Commands of `CallSession`, one object per click-to-call call (call_do.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Create the record once ([`crate::engine::click_to_call::CallRecord`]).
    Create,
    /// Read it or report a status ([`crate::api::click_to_call::CallOp`]) → `CallRecord`;
    /// 404 when there is none, 410 after its window.
    Op,
    /// Delete the call record (R-M5).
    Erase,
}

impl ObjectClass for Call {
    const BINDING: &'static str = "CALLS";

    fn route(&self) -> (Method, Cow<'static, str>) {
        match self {
            Call::Create => (Method::Put, "/call".into()),
            Call::Op => (Method::Post, "/call".into()),
            Call::Erase => (Method::Delete, "/call".into()),
        }
    }

    fn parse(method: &Method, path: &str) -> Option<Call> {
        [Call::Create, Call::Op, Call::Erase]
            .into_iter()
            .find(|c| is_route(c, method, path))
    }
}

/// The call object's instance: the account and the first 32 characters of the token's
/// signature, so a call is found from its token alone.
pub fn call_instance(account: &str, token: &str) -> String {
    let sig = token.rsplit('.').next().unwrap_or("");
    format!("{account}:call:{}", sig.get(..32).unwrap_or(sig))
}

/// Commands of `VisitorLedger`, one object per (account, visitor) (measure_do.rs; what each
/// does and answers: [`crate::measure::ledger`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ledger {
    /// Apply a message once ([`crate::measure::ledger::ToApply`]) → its change to the sums.
    Apply,
    /// Erase the visitor ([`crate::measure::ledger::ToErase`]) → the erasure.
    Erase,
}

impl ObjectClass for Ledger {
    const BINDING: &'static str = "LEDGERS";

    fn route(&self) -> (Method, Cow<'static, str>) {
        match self {
            Ledger::Apply => (Method::Post, "/apply".into()),
            Ledger::Erase => (Method::Delete, "/ledger".into()),
        }
    }

    fn parse(method: &Method, path: &str) -> Option<Ledger> {
        [Ledger::Apply, Ledger::Erase]
            .into_iter()
            .find(|c| is_route(c, method, path))
    }
}

/// The ledger's instance for (account, visitor); `|` is in no id.
pub fn ledger_instance(account: &str, visitor: &str) -> String {
    format!("{account}|visitor|{visitor}")
}

/// Commands of `MeasureTotals`: an account's shards and its summary, objects of one class
/// (measure_do.rs; what each does and answers: [`crate::measure::totals`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Totals {
    /// A shard: apply changes once ([`crate::measure::totals::ToShard`]) → how many were new.
    Apply,
    /// The summary: apply a shard's flush once ([`crate::measure::totals::Flush`]) → whether
    /// it was new.
    Flush,
    /// The summary: the rows of a range of days ([`crate::measure::totals::Days`]).
    Rows,
    /// The summary: delete a campaign's rows ([`crate::measure::totals::CampaignGone`]) →
    /// (funnel rows, conversion and arm rows).
    DeleteCampaign,
}

impl ObjectClass for Totals {
    const BINDING: &'static str = "TOTALS";

    fn route(&self) -> (Method, Cow<'static, str>) {
        match self {
            Totals::Apply => (Method::Post, "/apply".into()),
            Totals::Flush => (Method::Post, "/flush".into()),
            Totals::Rows => (Method::Post, "/rows".into()),
            Totals::DeleteCampaign => (Method::Post, "/delete-campaign".into()),
        }
    }

    fn parse(method: &Method, path: &str) -> Option<Totals> {
        [
            Totals::Apply,
            Totals::Flush,
            Totals::Rows,
            Totals::DeleteCampaign,
        ]
        .into_iter()
        .find(|c| is_route(c, method, path))
    }
}

/// The instance of shard `shard` of `account`'s sums.
pub fn shard_instance(account: &str, shard: u32) -> String {
    format!("{account}|shard|{shard}")
}

/// The instance of `account`'s summary.
pub fn summary_instance(account: &str) -> String {
    format!("{account}|summary")
}

/// Test builds: the header that makes the visit object throw (docs/api.md).
pub const TEST_FAULT: &str = "X-Test-Fault";

/// A command an object did not carry out as asked.
#[derive(Debug)]
pub enum ObjectError {
    /// The object could not be reached, threw, or answered what its command does not.
    Unavailable(String),
    /// The object answered `status`, not 2xx, with `body`.
    Status {
        /// The class's binding.
        binding: &'static str,
        /// The object's status.
        status: u16,
        /// Its body.
        body: Vec<u8>,
    },
}

impl ObjectError {
    /// The object's status, when it answered one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ObjectError::Status { status, .. } => Some(*status),
            ObjectError::Unavailable(_) => None,
        }
    }

    /// `refused` when the object answered a status; still unavailable when it did not answer.
    pub fn or_refused(self, refused: ApiError) -> ApiError {
        match self {
            ObjectError::Status { .. } => refused,
            ObjectError::Unavailable(why) => ApiError::Unavailable(why),
        }
    }
}

impl From<ObjectError> for ApiError {
    fn from(e: ObjectError) -> ApiError {
        match e {
            ObjectError::Unavailable(why) => ApiError::Unavailable(why),
            ObjectError::Status {
                binding, status, ..
            } => ApiError::Unavailable(format!("{binding} answered {status}")),
        }
    }
}

/// Sends `command` to the object `instance` of its class and reads its answer as `A` (`()`
/// for none). A non-2xx answer is [`ObjectError::Status`]; the platform failing, or an answer
/// that is not an `A`, [`ObjectError::Unavailable`].
pub async fn send<C: ObjectClass, A: DeserializeOwned>(
    env: &Env,
    instance: &str,
    command: &C,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<A, ObjectError> {
    let (method, path) = command.route();
    let (status, bytes) = fetch(env, C::BINDING, instance, method, &path, headers, body).await?;
    if !(200..300).contains(&status) {
        return Err(ObjectError::Status {
            binding: C::BINDING,
            status,
            body: bytes,
        });
    }
    read_answer(C::BINDING, &bytes)
}

/// An object's JSON answer, parsed by `serde_json` in wasm (`Response::json` would parse in
/// JavaScript and cross into wasm once per field); no body reads as `null`, so `()`.
fn read_answer<A: DeserializeOwned>(binding: &str, bytes: &[u8]) -> Result<A, ObjectError> {
    let bytes = if bytes.is_empty() { b"null" } else { bytes };
    serde_json::from_slice(bytes)
        .map_err(|e| ObjectError::Unavailable(format!("{binding} answer: {e}")))
}

/// The request itself, not generic, so the worker carries one copy of it for every class:
/// the object's status and body.
async fn fetch(
    env: &Env,
    binding: &str,
    instance: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<(u16, Vec<u8>), ObjectError> {
    let fail = |e: worker::Error| ObjectError::Unavailable(format!("{binding}: {e}"));
    let stub = env
        .durable_object(binding)
        .and_then(|ns| ns.get_by_name(instance))
        .map_err(fail)?;
    let mut init = RequestInit::new();
    init.with_method(method);
    let h = Headers::new();
    for (k, v) in headers {
        h.set(k, v).map_err(fail)?;
    }
    init.with_headers(h);
    if let Some(b) = body {
        init.with_body(Some(wasm_bindgen::JsValue::from_str(b)));
    }
    let req = Request::new_with_init(&format!("https://object{path}"), &init).map_err(fail)?;
    let mut resp = stub.fetch_with_request(req).await.map_err(fail)?;
    let bytes = resp.bytes().await.map_err(fail)?;
    Ok((resp.status_code(), bytes))
}

/// [`send`] with a JSON body.
pub async fn send_json<C: ObjectClass, B: Serialize, A: DeserializeOwned>(
    env: &Env,
    instance: &str,
    command: &C,
    body: &B,
) -> Result<A, ObjectError> {
    let text = serde_json::to_string(body).map_err(|e| ObjectError::Unavailable(e.to_string()))?;
    send(env, instance, command, &[], Some(&text)).await
}

/// The body of a refused command, read as `A` (the visit's [`crate::api::events::EventOutcome`]).
pub fn refusal<A: DeserializeOwned>(e: &ObjectError) -> Option<A> {
    match e {
        ObjectError::Status { binding, body, .. } => read_answer(binding, body).ok(),
        ObjectError::Unavailable(_) => None,
    }
}

/// Reads a command's JSON body, in the object. The bytes are parsed by `serde_json` in wasm:
/// `Request::json` parses in JavaScript and then crosses into wasm once per field, which for a
/// large account's visit request costs about three times as much under V8 (BENCHMARKS.md,
/// "The visit request across the hop").
pub async fn message<B: DeserializeOwned>(req: &mut Request) -> worker::Result<B> {
    Ok(serde_json::from_slice(&req.bytes().await?)?)
}
