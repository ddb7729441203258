//! What an account's object does, as logic over a [`Store`] and the snapshot revisions in KV
//! ([`Revisions`]): the live snapshot revision, with the revision check that keeps concurrent
//! publishers from overwriting each other (R-P1); the agent availability decisions read (R-P2);
//! the key ring (R-S1); the identity secrets (R-S2); and offsite click totals (R-M1), which the
//! account's click shards, objects of the same class, hold too.
//!
//! Why a Durable Object: KV takes up to 60 s to show a write elsewhere, too slow for the 10 s
//! availability promise, and has no compare-and-set for the revision check. One object per
//! account is a single writer with strongly consistent storage; isolates read it at most every
//! few seconds (`platform/snapshots.rs`), so it is off the per-request path.
//!
//! Every command reads and writes with only storage awaited between, except a publish, whose
//! KV writes are not storage: it reserves its revision before them and stores the revision
//! after them under that reservation, so a publish that arrives meanwhile is refused.
//! `AccountState` (`platform/account_do.rs`) only wires storage, KV and the clock to
//! [`AccountObject`]; tests/account_state.rs runs every command natively.

use crate::api::admin::{
    add_clicks, AccountView, Base, ClickTotals, KeyAnswer, KeyCall, PublishAnswer,
};
use crate::engine::agent::{Availability, SkillAvailability};
use crate::session::{body, json, Failure, Reply, Store, StoreError};
use crate::tenancy::identity::{self, IdentitySecret};
use crate::tenancy::keys::KeyRing;
use serde::de::DeserializeOwned;

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

/// How long a publish may hold its reservation before another may proceed: one left by a
/// publish that died midway expires.
pub const RESERVATION_MS: u64 = 60_000;

/// The commands of an account's object; the platform routes each to a method and a path
/// (`platform/bindings.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Live revision and availability → [`AccountView`].
    View,
    /// Store a revision if the base matches (the account and the base as [`Publish`]; the
    /// snapshot text as body) → [`PublishAnswer`].
    Publish,
    /// Add offsite click counts ([`ClickTotals`]).
    AddClicks,
    /// Read the click counts → [`ClickTotals`].
    Clicks,
    /// Replace all availability ([`Availability`]) → [`AccountView`].
    Availability,
    /// Set one skill's availability ([`SkillAvailability`]) → [`AccountView`].
    SkillAvailability(String),
    /// Apply a key operation ([`KeyCall`]) → [`KeyAnswer`] (R-S1).
    Keys,
    /// Make a new identity secret current ([`IdentitySecret`]), keeping the previous one →
    /// [`AccountView`] (R-S2).
    Identity,
}

/// What a publish names besides its text: the account, and the base revision (`If-Match`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publish {
    /// The account id.
    pub account: String,
    /// The `If-Match` value.
    pub if_match: String,
}

/// The snapshot revisions in KV. Not storage: the platform delivers the object's other
/// requests while a write is awaited.
#[allow(async_fn_in_trait)]
pub trait Revisions {
    /// Stores revision `revision` of `account` and makes it the pointer's.
    async fn write(&self, account: &str, revision: u64, text: String) -> Result<(), StoreError>;
    /// Deletes revision `revision` of `account`. A revision left behind outside the kept
    /// window costs KV space only, so a failure is logged by the platform, not answered.
    async fn delete(&self, account: &str, revision: u64);
}

/// One account's object for one request: its store, KV's revisions and the platform's clock.
pub struct AccountObject<'a, S, R> {
    /// The object's storage.
    pub store: &'a S,
    /// The snapshot revisions in KV.
    pub revisions: &'a R,
    /// Now, ms.
    pub now_ms: u64,
}

impl<S: Store, R: Revisions> AccountObject<'_, S, R> {
    /// Applies `command` with its JSON `body` (a publish: the snapshot text, and `publish`).
    ///
    /// # Errors
    ///
    /// [`Failure::Internal`] when storage or KV fails or the body is not the command's.
    pub async fn handle(
        &self,
        command: &Command,
        body_bytes: &[u8],
        publish: &Publish,
    ) -> Result<Reply, Failure> {
        match command {
            Command::View => json(&self.view().await?),
            Command::Publish => {
                let text = String::from_utf8(body_bytes.to_vec())
                    .map_err(|e| Failure::Internal(format!("snapshot text: {e}")))?;
                json(&self.publish(publish, text).await?)
            }
            Command::AddClicks => {
                // Read and written with nothing else awaited between: no increment is lost.
                let mut totals = self.get::<ClickTotals>(CLICKS).await?;
                add_clicks(&mut totals, body(body_bytes)?);
                self.store.put(CLICKS, &totals).await?;
                Ok(Reply::Empty)
            }
            Command::Clicks => json(&self.get::<ClickTotals>(CLICKS).await?),
            Command::Availability => {
                let all: Availability = body(body_bytes)?;
                self.store.put(AVAILABILITY, &all).await?;
                json(&self.view().await?)
            }
            Command::SkillAvailability(skill) => {
                let one: SkillAvailability = body(body_bytes)?;
                let mut all = self.get::<Availability>(AVAILABILITY).await?;
                all.insert(skill.clone(), one);
                self.store.put(AVAILABILITY, &all).await?;
                json(&self.view().await?)
            }
            Command::Keys => {
                // R-S1: read and written inside the input gate, so concurrent operations never
                // lose one another.
                let call: KeyCall = body(body_bytes)?;
                let mut ring = self.get::<KeyRing>(KEYS).await?;
                let before = ring.clone();
                let answer: KeyAnswer = ring.apply(&call.op, call.now_ms);
                if ring != before {
                    self.store.put(KEYS, &ring).await?;
                }
                json(&answer)
            }
            Command::Identity => {
                // R-S2: the new secret becomes current; the previous one keeps working.
                let next: IdentitySecret = body(body_bytes)?;
                let mut secrets = self.get::<Vec<IdentitySecret>>(IDENTITY).await?;
                identity::rotate(&mut secrets, next);
                self.store.put(IDENTITY, &secrets).await?;
                json(&self.view().await?)
            }
        }
    }

    async fn get<T: DeserializeOwned + Default>(&self, key: &str) -> Result<T, StoreError> {
        Ok(self.store.get::<T>(key).await?.unwrap_or_default())
    }

    async fn view(&self) -> Result<AccountView, StoreError> {
        Ok(AccountView {
            revision: self.get::<u64>(REVISION).await?,
            availability: self.get::<Availability>(AVAILABILITY).await?,
            identity: self.get::<Vec<IdentitySecret>>(IDENTITY).await?,
        })
    }

    /// R-P1: the revision check, then the KV writes. The check and the reservation are made
    /// before the first await that is not storage, so two publishers with the same base cannot
    /// both pass, and a publish arriving during the writes finds the reservation.
    async fn publish(&self, publish: &Publish, text: String) -> Result<PublishAnswer, Failure> {
        let live = self.get::<u64>(REVISION).await?;
        let in_flight = self
            .store
            .get::<(u64, u64)>(RESERVED)
            .await?
            .is_some_and(|(rev, at)| rev > live && self.now_ms.saturating_sub(at) < RESERVATION_MS);
        let base_ok = Base::parse(&publish.if_match).is_some_and(|b| b.admits(live));
        if !base_ok || in_flight {
            return Ok(PublishAnswer {
                revision: live,
                published: false,
            });
        }
        let next = live + 1;
        self.store.put(RESERVED, &(next, self.now_ms)).await?;
        if let Err(e) = self.revisions.write(&publish.account, next, text).await {
            self.store.delete(RESERVED).await?;
            return Err(e.into());
        }
        self.store.put(REVISION, &next).await?;
        if let Some(old) = next.checked_sub(KEPT_REVISIONS).filter(|r| *r > 0) {
            self.revisions.delete(&publish.account, old).await;
        }
        Ok(PublishAnswer {
            revision: next,
            published: true,
        })
    }
}
