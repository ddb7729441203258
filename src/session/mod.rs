//! What a visit's object does, as logic over a [`Store`] and a [`Queue`]: one object per
//! (account, visit) holds the visit's state, its contexts and what it has counted, and applies
//! each command atomically, reading, deciding and writing with only storage awaited between,
//! so that the platform's input gate serialises the visit's requests and counters stay exact
//! (R-D6, R-D9). The funnel's facts each change makes new for the visit are kept in the same
//! storage call (R-M1), each batch under its own outbox key; the alarm ships them to the queue
//! at once (R-M4), deleting each by its key once sent, and deletes the visit once it has been
//! idle past its timeout.
//!
//! The one await that is not storage is the alarm's send to the queue, while which the
//! platform delivers the visit's other requests. So nothing read before that await is written
//! after it: a sent batch is deleted by its key, and a batch a request adds meanwhile has a key
//! of its own, sent in the alarm's next round.
//!
//! The Durable Object class (`VisitorSession`) only wires its storage, the queue binding and
//! the clock to [`VisitObject`]; tests/session.rs runs every command natively over a
//! [`MemoryStore`].

mod commands;

#[cfg(any(test, feature = "testing"))]
pub use crate::store::{block_on, MemoryStore};
pub use crate::store::{text, Store, StoreError};

/// The measurement queue. Not storage: the platform delivers the object's other requests
/// while a send is awaited.
#[allow(async_fn_in_trait)]
pub trait Queue {
    /// Sends one visit's batch of facts.
    async fn send(&self, batch: FactBatch) -> Result<(), StoreError>;
}

use crate::api::events::EventOutcome;
use crate::engine::visit::VisitState;
use crate::faults::{Fault, Faults};
use crate::measure::funnel::{FactBatch, Tally};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Storage key of the visit's state.
pub const VISIT: &str = "visit";
/// Storage key of the last real activity time (the alarm's clock).
pub const LAST_REAL_MS: &str = "lastRealMs";
/// Storage key of what the visit has counted ([`Counting`]).
pub const COUNTING: &str = "counting";
/// Storage key prefix of the facts not yet on the queue: `out:{batch id}`, one key a batch.
pub const OUTBOX: &str = "out:";
/// Storage key prefix of the contexts the visit issued: `ctx:{context id}`.
pub const CONTEXTS: &str = "ctx:";

fn outbox_key(batch: &FactBatch) -> String {
    format!("{OUTBOX}{}", batch.id)
}

fn ctx_key(id: &str) -> String {
    format!("{CONTEXTS}{id}")
}

/// The commands of a visit's object; the platform routes each to a method and a path
/// (`platform/bindings.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Apply the visit rules ([`crate::engine::visit::VisitRequest`]) →
    /// [`crate::engine::visit::VisitAnswer`].
    Decide,
    /// Apply events ([`crate::api::events::EventBatch`]) → [`EventOutcome`]; 400 with the outcome when refused.
    Events,
    /// Check a click-to-call click ([`crate::api::click_to_call::CallClick`]) →
    /// [`crate::engine::click_to_call::CallVisit`]; 404 when the visit was not shown it.
    CallClick,
    /// Start the visit of an eligible offsite click and record its context ([`crate::engine::landing::LandingClick`])
    /// (R-O2).
    Land,
    /// Record a decision the worker made without the object ([`crate::engine::visit::Recorded`]) after its answer.
    Record,
    /// Read one context the visit issued → [`crate::api::landing::ContextRead`]; 404 when there is none.
    Context(String),
    /// Read the visit → [`VisitState`]; 404 when there is none.
    Read,
    /// Delete everything the visit keeps, its unshipped facts included (R-M5).
    Erase,
}

/// What the object answers a command that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A JSON body.
    Json(String),
    /// No body.
    Empty,
    /// Test builds (`{land|record}-answer-lost`): the writes are stored and the answer is a
    /// 503, as if it were lost on its way.
    AnswerLost,
}

/// What the object answers a command that failed.
#[derive(Debug, Clone)]
pub enum Failure {
    /// Storage, the queue or the command's body failed: the object throws, and the platform
    /// retries an alarm.
    Internal(String),
    /// Events refused, nothing applied: a 400 with the [`EventOutcome`].
    Refused(EventOutcome),
    /// Nothing of that kind in this visit: a 404 with the reason.
    NotFound(&'static str),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Internal(e.0)
    }
}

/// What the visit has counted (R-M1). The facts not yet on the queue are not part of it: each
/// batch has its own key ([`OUTBOX`]), written in the same storage call as this value.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Counting {
    /// The facts counted so far.
    tally: Tally,
}

/// The mark a decision's facts carry for R-M4's fault tests: `consumer` makes the consumer
/// fail once after committing them, `queue` makes the queue refuse them once, `hold-send`
/// holds their send until the visit has added more facts.
fn facts_fault(faults: &Faults) -> Option<Fault> {
    faults.find(|f| {
        matches!(
            f,
            Fault::ConsumerRetry | Fault::QueueRefuses | Fault::HoldSend
        )
        .then_some(f)
    })
}

/// A command's JSON body, read as `T`; a body that is not one fails the command.
///
/// # Errors
///
/// [`Failure::Internal`] when `bytes` are not a `T`.
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(bytes).map_err(|e| Failure::Internal(format!("command body: {e}")))
}

/// `value` as an object's JSON reply.
///
/// # Errors
///
/// [`Failure::Internal`] when `value` does not serialise.
pub fn json<T: Serialize>(value: &T) -> Result<Reply, Failure> {
    Ok(Reply::Json(text(value)?))
}

/// One visit's object for one request or alarm: its store, the queue, the real clock (ms) and
/// the faults the request names (none outside test builds).
pub struct VisitObject<'a, S, Q> {
    /// The object's storage.
    pub store: &'a S,
    /// The measurement queue.
    pub queue: &'a Q,
    /// Now, by the platform's clock: the alarm's clock (requests carry their own `nowMs`).
    pub real_ms: u64,
    /// The faults the request names.
    pub faults: &'a Faults,
}

impl<S: Store, Q: Queue> VisitObject<'_, S, Q> {
    /// Applies `command` with its JSON `body`; `new_id` makes the ids of new contexts.
    ///
    /// # Errors
    ///
    /// [`Failure`]: what the platform answers instead of a [`Reply`].
    pub async fn handle(
        &self,
        command: &Command,
        body_bytes: &[u8],
        new_id: &mut dyn FnMut() -> String,
    ) -> Result<Reply, Failure> {
        // Test builds only: this object throws, to prove the worker's fail-safe.
        if self.faults.has(Fault::VisitThrows) {
            return Err(Failure::Internal("injected fault".into()));
        }
        match command {
            Command::Decide => self.decide(body(body_bytes)?, new_id).await,
            Command::Events => self.events(body(body_bytes)?).await,
            Command::CallClick => self.call_click(body(body_bytes)?).await,
            Command::Land => self.land(body(body_bytes)?).await,
            Command::Record => self.record(body(body_bytes)?).await,
            Command::Context(id) => self.context(id).await,
            Command::Read => match self.store.get::<VisitState>(VISIT).await? {
                Some(v) => json(&v),
                None => Err(Failure::NotFound("no such visit")),
            },
            Command::Erase => {
                // R-M5: the visitor is erased; its unshipped facts go too.
                self.store.delete_all().await?;
                self.store.delete_alarm().await?;
                Ok(Reply::Empty)
            }
        }
    }

    /// The visit at `now_ms`; an expired one is deleted (its facts not yet shipped are kept)
    /// and a fresh one starts.
    async fn load(&self, now_ms: u64) -> Result<VisitState, StoreError> {
        let visit = self
            .store
            .get::<VisitState>(VISIT)
            .await?
            .unwrap_or_default();
        if visit.expired(now_ms) {
            let outbox = self.store.texts(OUTBOX, None).await?;
            self.store.delete_all().await?;
            if !outbox.is_empty() {
                self.store.put_all(&outbox).await?;
            }
            return Ok(VisitState::default());
        }
        Ok(visit)
    }

    /// Stores what a change wrote (`entries`: contexts, new fact batches, the tally) with the
    /// visit, together. The alarm fires at once when facts wait to be
    /// shipped, else when the visit has been idle past its timeout.
    async fn save(
        &self,
        visit: &VisitState,
        mut entries: Vec<(String, String)>,
    ) -> Result<(), StoreError> {
        let counted = entries.iter().any(|(k, _)| k.starts_with(OUTBOX));
        entries.push((VISIT.to_string(), text(visit)?));
        entries.push((LAST_REAL_MS.to_string(), self.real_ms.to_string()));
        self.store.put_all(&entries).await?;
        let pending = counted || self.pending().await?;
        let idle_ms = u64::from(visit.timeout_minutes.max(1)) * 60_000;
        self.store
            .set_alarm(if pending { 1 } else { idle_ms })
            .await
    }

    /// What the visit has counted.
    async fn counting(&self) -> Result<Counting, StoreError> {
        Ok(self
            .store
            .get::<Counting>(COUNTING)
            .await?
            .unwrap_or_default())
    }

    /// True when facts wait to be shipped.
    async fn pending(&self) -> Result<bool, StoreError> {
        Ok(!self.store.texts(OUTBOX, Some(1)).await?.is_empty())
    }

    /// R-M1: counts the facts a change made true for the first time in this visit: the
    /// entries to store with the change, each new batch under its own outbox key and the tally
    /// that counted it (the alarm ships them, off the tag's path); none when nothing is new.
    async fn count(
        &self,
        change: impl FnOnce(&mut Tally) -> Vec<FactBatch>,
        fault: Option<Fault>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut counting = self.counting().await?;
        let mut batches = change(&mut counting.tally);
        let mut entries = Vec::with_capacity(batches.len() + 1);
        if batches.is_empty() {
            return Ok(entries);
        }
        for b in &mut batches {
            #[cfg(feature = "test-faults")]
            {
                b.fault = fault;
            }
            entries.push((outbox_key(b), text(b)?));
        }
        let _ = fault;
        entries.push((COUNTING.to_string(), text(&counting)?));
        Ok(entries)
    }

    /// R-M4, the alarm: ships the visit's facts first, round after round until a read finds the
    /// outbox empty, each batch deleted by its key once the queue has it. Then, with only
    /// storage awaited from that read to the end (no request comes between), deletes the visit
    /// once it has been idle past its timeout, or sets the alarm for when it will have been.
    ///
    /// # Errors
    ///
    /// When the store or the queue fails: the rest of the outbox stays for the alarm's retry,
    /// and a batch sent again then is applied once by the consumer.
    pub async fn alarm(&self) -> Result<(), Failure> {
        self.ship().await?;
        let visit = self
            .store
            .get::<VisitState>(VISIT)
            .await?
            .unwrap_or_default();
        let last = self.store.get::<u64>(LAST_REAL_MS).await?.unwrap_or(0);
        let idle_ms = u64::from(visit.timeout_minutes.max(1)) * 60_000;
        let until = last.saturating_add(idle_ms);
        if self.real_ms >= until || visit == VisitState::default() {
            self.store.delete_all().await?;
        } else {
            self.store.set_alarm(until - self.real_ms).await?;
        }
        Ok(())
    }

    /// Sends the outbox. Requests of the visit are delivered while a send is awaited: what they
    /// add has keys of their own, for the next round, and nothing read before the send is
    /// written after it.
    async fn ship(&self) -> Result<(), Failure> {
        loop {
            let outbox = self.store.list::<FactBatch>(OUTBOX).await?;
            if outbox.is_empty() {
                return Ok(());
            }
            for (key, batch) in outbox {
                #[cfg(feature = "test-faults")]
                if batch.fault == Some(Fault::QueueRefuses) {
                    return self.refuse(&key, batch).await;
                }
                self.queue.send(batch).await?;
                self.store.delete(&key).await?;
            }
        }
    }

    /// Test builds ([`Fault::QueueRefuses`]): the queue refuses batch `key` once. Its mark is
    /// cleared (read and written with nothing else awaited between) and the alarm fails, to be
    /// retried with the batch still in the outbox.
    #[cfg(feature = "test-faults")]
    async fn refuse(&self, key: &str, mut batch: FactBatch) -> Result<(), Failure> {
        batch.fault = None;
        self.store.put(key, &batch).await?;
        Err(Failure::Internal("queue refused (test fault)".into()))
    }
}
