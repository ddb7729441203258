//! `AccountState`, one Durable Object per account: the live snapshot revision (with the revision
//! check that keeps concurrent publishers from overwriting each other, R-P1) and the agent
//! availability that decisions read (R-P2).
//!
//! Why a Durable Object: KV takes up to 60 s to show a write elsewhere, too slow for the 10 s
//! availability promise, and has no compare-and-set for the revision check. One object per
//! account is a single writer with strongly consistent storage; isolates read it at most every
//! few seconds (see `snapshots.rs`), so it is off the per-request path.

use super::bindings::{
    self, pointer_key, snapshot_key, Account, ObjectClass, ACCOUNT_HEADER, IF_MATCH, SNAPSHOTS,
};
use crate::api::admin::{
    add_clicks, AccountView, Base, ClickTotals, KeyAnswer, KeyCall, PublishAnswer,
};
use crate::engine::agent::{Availability, SkillAvailability};
use crate::tenancy::identity::{self, IdentitySecret};
use crate::tenancy::keys::KeyRing;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// Storage keys.
const REVISION: &str = "revision";
const RESERVED: &str = "reserved";
const AVAILABILITY: &str = "availability";
const CLICKS: &str = "clicks";
const KEYS: &str = "keys";
const IDENTITY: &str = "identity";

/// Snapshot revisions kept in KV (R-S4's retention): the live one and the 19 before it, for
/// read-back and for isolates still deciding on a recent one. Each publish deletes the revision
/// that falls out of the window.
pub const KEPT_REVISIONS: u64 = 20;

/// How long a publish may hold its reservation before another may proceed.
const RESERVATION_MS: u64 = 60_000;

/// The per-account Durable Object.
#[durable_object]
pub struct AccountState {
    state: State,
    env: Env,
}

impl AccountState {
    async fn view(&self) -> Result<AccountView> {
        let storage = self.state.storage();
        Ok(AccountView {
            revision: storage.get::<u64>(REVISION).await?.unwrap_or(0),
            availability: storage
                .get::<Availability>(AVAILABILITY)
                .await?
                .unwrap_or_default(),
            identity: storage
                .get::<Vec<IdentitySecret>>(IDENTITY)
                .await?
                .unwrap_or_default(),
        })
    }

    /// R-S1: applies a key operation to the account's ring (read and written inside the
    /// object's input gate, so concurrent operations never lose one another).
    async fn keys(&self, mut req: Request) -> Result<Response> {
        let call: KeyCall = bindings::message(&mut req).await?;
        let storage = self.state.storage();
        let mut ring = storage.get::<KeyRing>(KEYS).await?.unwrap_or_default();
        let before = ring.clone();
        let answer: KeyAnswer = ring.apply(&call.op, call.now_ms);
        if ring != before {
            storage.put(KEYS, &ring).await?;
        }
        Response::from_json(&answer)
    }

    /// R-S2: a new identity secret becomes current; the previous one keeps working.
    async fn rotate_identity(&self, mut req: Request) -> Result<Response> {
        let next: IdentitySecret = bindings::message(&mut req).await?;
        let storage = self.state.storage();
        let mut secrets = storage
            .get::<Vec<IdentitySecret>>(IDENTITY)
            .await?
            .unwrap_or_default();
        identity::rotate(&mut secrets, next);
        storage.put(IDENTITY, &secrets).await?;
        Response::from_json(&self.view().await?)
    }

    /// Revision check and KV write. The check and the reservation happen before the first
    /// non-storage await, so two publishers with the same base cannot both pass (input gates
    /// hold other events while storage operations run).
    async fn publish(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        let account = req.headers().get(ACCOUNT_HEADER)?.unwrap_or_default();
        let if_match = req.headers().get(IF_MATCH)?.unwrap_or_default();
        let live = storage.get::<u64>(REVISION).await?.unwrap_or(0);
        let now = worker::Date::now().as_millis();
        // A reservation is (revision, time); one left by a publish that died mid-way expires.
        let in_flight = storage
            .get::<(u64, u64)>(RESERVED)
            .await?
            .is_some_and(|(rev, at)| rev > live && now.saturating_sub(at) < RESERVATION_MS);
        let base_ok = Base::parse(&if_match).is_some_and(|b| b.admits(live));
        if !base_ok || in_flight {
            return Response::from_json(&PublishAnswer {
                revision: live,
                published: false,
            });
        }
        let next = live + 1;
        storage.put(RESERVED, (next, now)).await?;
        let body = req.text().await?;
        let kv = self.env.kv(SNAPSHOTS)?;
        let written = async {
            kv.put(&snapshot_key(&account, next), body)?
                .execute()
                .await?;
            kv.put(&pointer_key(&account), next.to_string())?
                .execute()
                .await?;
            Ok::<(), worker::Error>(())
        }
        .await;
        match written {
            Ok(()) => {
                storage.put(REVISION, next).await?;
                if let Some(old) = next.checked_sub(KEPT_REVISIONS).filter(|r| *r > 0) {
                    if let Err(e) = kv.delete(&snapshot_key(&account, old)).await {
                        worker::console_warn!("revision {old} of {account} not deleted: {e:?}");
                    }
                }
                Response::from_json(&PublishAnswer {
                    revision: next,
                    published: true,
                })
            }
            Err(e) => {
                storage.delete(RESERVED).await?;
                Err(e)
            }
        }
    }

    async fn put_availability(&self, mut req: Request, skill: Option<&str>) -> Result<Response> {
        let storage = self.state.storage();
        let body = req.bytes().await?;
        let availability = match skill {
            None => serde_json::from_slice::<Availability>(&body)?,
            Some(id) => {
                let one: SkillAvailability = serde_json::from_slice(&body)?;
                let mut all = storage
                    .get::<Availability>(AVAILABILITY)
                    .await?
                    .unwrap_or_default();
                all.insert(id.to_string(), one);
                all
            }
        };
        storage.put(AVAILABILITY, &availability).await?;
        Response::from_json(&self.view().await?)
    }
}

impl AccountState {
    /// Adds a batch of click counts. Get and put run inside the object's input gate, so
    /// concurrent batches never lose an increment.
    async fn count_clicks(&self, mut req: Request) -> Result<Response> {
        let batch: ClickTotals = bindings::message(&mut req).await?;
        let storage = self.state.storage();
        let mut totals = storage
            .get::<ClickTotals>(CLICKS)
            .await?
            .unwrap_or_default();
        add_clicks(&mut totals, batch);
        storage.put(CLICKS, &totals).await?;
        Response::empty()
    }
}

impl DurableObject for AccountState {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match Account::parse(&req.method(), &req.path()) {
            Some(Account::View) => Response::from_json(&self.view().await?),
            Some(Account::Publish) => self.publish(req).await,
            Some(Account::AddClicks) => self.count_clicks(req).await,
            Some(Account::Clicks) => {
                let totals = self.state.storage().get::<ClickTotals>(CLICKS).await?;
                Response::from_json(&totals.unwrap_or_default())
            }
            Some(Account::Availability) => self.put_availability(req, None).await,
            Some(Account::SkillAvailability(skill)) => {
                self.put_availability(req, Some(&skill)).await
            }
            Some(Account::Keys) => self.keys(req).await,
            Some(Account::Identity) => self.rotate_identity(req).await,
            None => Response::error("no such account-state route", 404),
        }
    }
}
