//! `VisitorSession`, one Durable Object per (account, visit): the visit's state, applied
//! atomically — each request reads, decides and writes with only storage awaits in between,
//! so the object's input gate serialises concurrent requests and counters stay exact
//! (R-D6, R-D9). The funnel's facts each change makes new for the visit are kept in the same
//! step (R-M1), each batch under its own outbox key; the alarm ships them to the queue at once
//! (R-M4), deleting each by its key once sent, and deletes the visit once it has been idle
//! past its timeout.
//!
//! The object's one await that is not storage is the alarm's send to the queue: the platform
//! delivers the visit's other requests meanwhile. So nothing read before that await is written
//! after it: a sent batch is deleted by its key, and a batch a request adds meanwhile has a key
//! of its own, sent in the alarm's next round.

use super::bindings::{self, ObjectClass, Visit};
use super::{random_id, stored};
use crate::api::click_to_call::CallClick;
use crate::api::events::{EventBatch, EventOutcome, Refusal};
use crate::api::landing::ContextRead;
use crate::engine::events::{ContextRecord, EventName};
use crate::engine::landing::LandingClick;
use crate::engine::visit::{Recorded, VisitAnswer, VisitRequest, VisitState};
use crate::faults::{Fault, Faults, HandoffFault, HandoffOf};
use crate::measure::funnel::{FactBatch, Tally, VisitAt};
use crate::measure::Message;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// Storage key of the visit's state.
const VISIT: &str = "visit";
/// Storage key of the last real activity time (the alarm's clock).
const LAST_REAL_MS: &str = "lastRealMs";
/// Storage key of what the visit has counted ([`Counting`]).
const COUNTING: &str = "counting";
/// Storage key prefix of the facts not yet on the queue: `out:{batch id}`, one key a batch.
const OUTBOX: &str = "out:";

fn outbox_key(batch: &FactBatch) -> String {
    format!("{OUTBOX}{}", batch.id)
}

/// Test builds: the faults the worker forwarded for a root-authenticated request
/// (`X-Test-Fault`, docs/api.md), read once per request; none in every other build.
fn test_faults(req: &Request) -> Result<Faults> {
    #[cfg(feature = "test-faults")]
    if let Some(named) = req.headers().get(super::bindings::TEST_FAULT)? {
        return Ok(Faults::parse(&named));
    }
    let _ = req;
    Ok(Faults::default())
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

/// The answer to a hand-off of `kind` once its writes are stored: empty, or in test builds
/// with its `answer-lost` a 503, as if the answer were lost. An answer, not an exception, so
/// that what was written stays written.
fn written(faults: &Faults, kind: HandoffOf) -> Result<Response> {
    if faults.handoff(kind) == Some(HandoffFault::AnswerLost) {
        return Response::error("injected: answer lost", 503);
    }
    Response::empty()
}

/// The per-visit Durable Object.
#[durable_object]
pub struct VisitorSession {
    state: State,
    #[allow(dead_code)]
    env: Env,
    /// Test builds: how many times this instance has added facts, for [`Fault::HoldSend`].
    #[cfg(feature = "test-faults")]
    added: std::cell::Cell<u64>,
}

fn ctx_key(id: &str) -> String {
    format!("ctx:{id}")
}

/// What the visit has counted (R-M1). The facts not yet on the queue are not part of it: each
/// batch has its own key ([`OUTBOX`]), written in the same storage call as this value.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Counting {
    tally: Tally,
    /// Batches kept inside this value, as objects stored them before each had its own key:
    /// [`VisitorSession::counting`] moves them to their keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    outbox: Vec<FactBatch>,
}

impl VisitorSession {
    /// The visit at `now_ms`; an expired one is deleted (its facts not yet shipped are kept)
    /// and a fresh one starts.
    async fn load(&self, now_ms: u64) -> Result<VisitState> {
        let storage = self.state.storage();
        let visit = stored::get::<VisitState>(&storage, VISIT)
            .await?
            .unwrap_or_default();
        if visit.expired(now_ms) {
            self.counting().await?;
            let outbox = stored::texts(&storage, OUTBOX, None).await?;
            storage.delete_all().await?;
            if !outbox.is_empty() {
                stored::put_all(&storage, &outbox).await?;
            }
            return Ok(VisitState::default());
        }
        Ok(visit)
    }

    /// Stores the visit; the alarm fires at once when facts wait to be shipped (`pending`),
    /// else when the visit has been idle past its timeout.
    async fn save(&self, visit: &VisitState, pending: bool) -> Result<()> {
        let storage = self.state.storage();
        stored::put(&storage, VISIT, visit).await?;
        storage
            .put(LAST_REAL_MS, worker::Date::now().as_millis())
            .await?;
        let idle = Duration::from_secs(u64::from(visit.timeout_minutes.max(1)) * 60);
        storage
            .set_alarm(if pending {
                Duration::from_millis(1)
            } else {
                idle
            })
            .await
    }

    /// What the visit has counted; batches stored inside it are moved to their own keys.
    async fn counting(&self) -> Result<Counting> {
        let storage = self.state.storage();
        let mut counting = stored::get::<Counting>(&storage, COUNTING)
            .await?
            .unwrap_or_default();
        if !counting.outbox.is_empty() {
            let mut entries = Vec::new();
            for batch in std::mem::take(&mut counting.outbox) {
                entries.push((outbox_key(&batch), stored::text(&batch)?));
            }
            entries.push((COUNTING.to_string(), stored::text(&counting)?));
            stored::put_all(&storage, &entries).await?;
        }
        Ok(counting)
    }

    /// True when facts wait to be shipped.
    async fn pending(&self) -> Result<bool> {
        let first = stored::texts(&self.state.storage(), OUTBOX, Some(1)).await?;
        Ok(!first.is_empty())
    }

    /// R-M1: counts the facts a change made true for the first time in this visit: each new
    /// batch goes to the outbox under its own key, in one storage call with the tally that
    /// counted it (the alarm ships them, off the tag's path). True when facts wait to be
    /// shipped.
    async fn count(
        &self,
        change: impl FnOnce(&mut Tally) -> Vec<FactBatch>,
        fault: Option<Fault>,
    ) -> Result<bool> {
        let mut counting = self.counting().await?;
        let mut batches = change(&mut counting.tally);
        if batches.is_empty() {
            return self.pending().await;
        }
        let mut entries = Vec::with_capacity(batches.len() + 1);
        for b in &mut batches {
            #[cfg(feature = "test-faults")]
            {
                b.fault = fault;
            }
            entries.push((outbox_key(b), stored::text(b)?));
        }
        let _ = fault;
        entries.push((COUNTING.to_string(), stored::text(&counting)?));
        stored::put_all(&self.state.storage(), &entries).await?;
        #[cfg(feature = "test-faults")]
        self.added.set(self.added.get() + 1);
        Ok(true)
    }

    /// R-M4: ships the outbox to the queue, round after round until a read finds it empty;
    /// each batch is deleted by its key once the queue has it. Requests of the visit are
    /// delivered while a send is awaited: what they add has keys of their own, for the next
    /// round, and nothing read before the send is written after it. An error leaves the rest
    /// for the alarm's retry; a batch sent again then is applied once by the consumer.
    async fn ship(&self) -> Result<()> {
        let storage = self.state.storage();
        self.counting().await?;
        loop {
            let outbox = stored::list::<FactBatch>(&storage, OUTBOX).await?;
            if outbox.is_empty() {
                return Ok(());
            }
            for (key, batch) in outbox {
                #[cfg(feature = "test-faults")]
                match batch.fault {
                    Some(Fault::QueueRefuses) => return self.refuse(&key).await,
                    Some(Fault::HoldSend) => self.hold_send().await,
                    _ => {}
                }
                super::measure::send(&self.env, &Message::Facts(batch)).await?;
                storage.delete(&key).await?;
            }
        }
    }

    /// Test builds ([`Fault::QueueRefuses`]): the queue refuses batch `key` once. Its mark is
    /// cleared (read and written with nothing else awaited between) and the alarm fails, to be
    /// retried with the batch still in the outbox.
    #[cfg(feature = "test-faults")]
    async fn refuse(&self, key: &str) -> Result<()> {
        let storage = self.state.storage();
        if let Some(mut batch) = stored::get::<FactBatch>(&storage, key).await? {
            batch.fault = None;
            stored::put(&storage, key, &batch).await?;
        }
        worker::console_error!("measurement: queue refused (test fault), alarm retried");
        Err(worker::Error::RustError(
            "queue refused (test fault)".into(),
        ))
    }

    /// Test builds ([`Fault::HoldSend`]): waits, as a slow send would, until a request of the
    /// visit has added facts (at most 10 s). Other requests are delivered meanwhile: a timer,
    /// like the queue's send, is not storage, so the input gate is open.
    #[cfg(feature = "test-faults")]
    async fn hold_send(&self) {
        let before = self.added.get();
        worker::console_log!("measurement: send held (test fault)");
        for _ in 0..1_000 {
            if self.added.get() != before {
                break;
            }
            worker::Delay::from(Duration::from_millis(10)).await;
        }
    }

    async fn decide(&self, mut req: Request, faults: &Faults) -> Result<Response> {
        let body: VisitRequest = bindings::message(&mut req).await?;
        let mut visit = self.load(body.now_ms).await?;
        let answer = visit.decide(&body, &mut random_id);
        self.keep(&visit, &body, &answer, faults).await?;
        #[cfg(feature = "test-faults")]
        if faults.has(Fault::PreviousStorage) {
            let issued = answer.new_contexts(&body);
            self.store_as_previous_release(issued.iter().map(|(id, _)| id))
                .await?;
        }
        Response::from_json(&answer)
    }

    /// Records a decision the worker made without this object, sent after its answer
    /// ([`Recorded`]). The worker sends it again when it got no answer, so a decision recorded
    /// already changes nothing. Test builds: `record-answer-lost` records it, then answers 503.
    async fn record(&self, mut req: Request, faults: &Faults) -> Result<Response> {
        let rec: Recorded = bindings::message(&mut req).await?;
        for shown in &rec.shown {
            if self.holds_context(&shown.context_id).await? {
                return Response::empty();
            }
        }
        let mut visit = self.load(rec.request.now_ms).await?;
        let Some(answer) = visit.record(&rec) else {
            return Response::empty();
        };
        self.keep(&visit, &rec.request, &answer, faults).await?;
        written(faults, HandoffOf::Record)
    }

    /// True when the visit holds context `id`: a hand-off sent again finds what it wrote.
    async fn holds_context(&self, id: &str) -> Result<bool> {
        let storage = self.state.storage();
        Ok(stored::get::<ContextRecord>(&storage, &ctx_key(id))
            .await?
            .is_some())
    }

    /// Stores what a decision changed in one step: its contexts (R-D9), the facts it made new
    /// for the visit (R-M1) and the visit.
    async fn keep(
        &self,
        visit: &VisitState,
        req: &VisitRequest<'_>,
        answer: &VisitAnswer,
        faults: &Faults,
    ) -> Result<()> {
        let storage = self.state.storage();
        for (id, record) in &answer.new_contexts(req) {
            stored::put(&storage, &ctx_key(id), record).await?;
        }
        let started = visit.first_activity_ms;
        let pending = self
            .count(
                |t| {
                    t.decided(req, answer, started, &req.day)
                        .into_iter()
                        .collect()
                },
                facts_fault(faults),
            )
            .await?;
        self.save(visit, pending).await
    }

    /// Test builds (`X-Test-Fault: previous-storage` on a decision): stores the visit's values
    /// as earlier releases did, structured rather than JSON text and the outbox inside the
    /// tally, so that tests prove a visit in progress during a deploy keeps its state and its
    /// facts.
    #[cfg(feature = "test-faults")]
    async fn store_as_previous_release(
        &self,
        contexts: impl Iterator<Item = &String>,
    ) -> Result<()> {
        let storage = self.state.storage();
        if let Some(visit) = stored::get::<VisitState>(&storage, VISIT).await? {
            storage.put(VISIT, &visit).await?;
        }
        if let Some(mut counting) = stored::get::<Counting>(&storage, COUNTING).await? {
            for (key, batch) in stored::list::<FactBatch>(&storage, OUTBOX).await? {
                storage.delete(&key).await?;
                counting.outbox.push(batch);
            }
            storage.put(COUNTING, &counting).await?;
        }
        for id in contexts {
            let key = ctx_key(id);
            if let Some(record) = stored::get::<ContextRecord>(&storage, &key).await? {
                storage.put(&key, &record).await?;
            }
        }
        Ok(())
    }

    async fn events(&self, mut req: Request) -> Result<Response> {
        let batch: EventBatch = bindings::message(&mut req).await?;
        let mut visit = self.load(batch.now_ms).await?;
        let storage = self.state.storage();
        let mut records: BTreeMap<String, ContextRecord> = BTreeMap::new();
        let mut outcome = EventOutcome::default();
        for (index, e) in batch.events.iter().enumerate() {
            if !records.contains_key(&e.context_id) {
                match stored::get::<ContextRecord>(&storage, &ctx_key(&e.context_id)).await? {
                    Some(r) => {
                        records.insert(e.context_id.clone(), r);
                    }
                    None => outcome.refused.push(Refusal {
                        index,
                        field: "contextId".into(),
                        reason: format!("no context \"{}\" in this visit", e.context_id),
                        unknown_context: true,
                    }),
                }
            }
            // R-D9: what the event says must agree with the context the worker issued.
            let disagreement = records
                .get(&e.context_id)
                .and_then(|r| r.disagreement(&e.claims));
            if let Some((field, reason)) = disagreement {
                outcome.refused.push(Refusal {
                    index,
                    field: field.into(),
                    reason,
                    unknown_context: false,
                });
            }
        }
        if !outcome.refused.is_empty() {
            return Ok(Response::from_json(&outcome)?.with_status(400));
        }
        let mut facts = Vec::new();
        for e in &batch.events {
            let Some(record) = records.get_mut(&e.context_id) else {
                continue;
            };
            if visit.apply_event(&e.context_id, record, e.event) {
                outcome.applied += 1;
                facts.push((record.clone(), e.event));
            } else {
                outcome.duplicates += 1;
            }
        }
        visit.active(batch.now_ms);
        let at = VisitAt::of(
            &visit,
            &batch.account,
            &batch.visit_id,
            batch.now_ms,
            &batch.day,
        );
        let pending = self
            .count(
                |t| {
                    facts
                        .iter()
                        .filter_map(|(record, event)| t.event(at, record, *event))
                        .collect()
                },
                None,
            )
            .await?;
        for (id, record) in &records {
            stored::put(&storage, &ctx_key(id), record).await?;
        }
        self.save(&visit, pending).await?;
        Response::from_json(&outcome)
    }
}

impl VisitorSession {
    /// Confirms the visit was shown this click-to-call display and marks it accepted; answers
    /// the visit as the brand's page may see it.
    async fn call_click(&self, mut req: Request) -> Result<Response> {
        let click: CallClick = bindings::message(&mut req).await?;
        let mut visit = self.load(click.now_ms).await?;
        let storage = self.state.storage();
        let Some(record) = stored::get::<ContextRecord>(&storage, &ctx_key(&click.context_id))
            .await?
            .filter(|r| r.engagement_id == click.engagement_id)
        else {
            return Response::error("this visit was not shown that engagement", 404);
        };
        visit.accepted.insert(click.engagement_id);
        visit.active(click.now_ms);
        // R-M1: the click accepts the engagement, as OFFER_CLICK does for the other channels.
        let at = VisitAt::of(
            &visit,
            &click.account,
            &click.visit_id,
            click.now_ms,
            &click.day,
        );
        let pending = self
            .count(
                |t| {
                    t.event(at, &record, EventName::OfferClick)
                        .into_iter()
                        .collect()
                },
                None,
            )
            .await?;
        self.save(&visit, pending).await?;
        Response::from_json(&visit.call_view())
    }
}

impl VisitorSession {
    /// R-O2: starts the visit of an eligible offsite click and records the click's context,
    /// so that the landing page can exchange it and report events with it. The worker sends
    /// the message again when it got no answer, so a context already recorded changes nothing.
    /// Test builds: `land-answer-lost` records the click, then answers 503, as if the answer were lost.
    async fn land(&self, mut req: Request, faults: &Faults) -> Result<Response> {
        let click: LandingClick = bindings::message(&mut req).await?;
        if self.holds_context(&click.context_id).await? {
            return Response::empty();
        }
        let mut visit = self.load(click.now_ms).await?;
        visit.land(&click);
        let storage = self.state.storage();
        stored::put(&storage, &ctx_key(&click.context_id), &click.record).await?;
        let pending = self.pending().await?;
        self.save(&visit, pending).await?;
        written(faults, HandoffOf::Land)
    }

    /// One context the visit issued, with the visit's timeout; 404 when there is none.
    async fn context(&self, id: &str) -> Result<Response> {
        let storage = self.state.storage();
        let Some(record) = stored::get::<ContextRecord>(&storage, &ctx_key(id)).await? else {
            return Response::error("no such context", 404);
        };
        let timeout_minutes = stored::get::<VisitState>(&storage, VISIT)
            .await?
            .map_or(0, |v| v.timeout_minutes);
        Response::from_json(&ContextRead {
            record,
            timeout_minutes,
        })
    }
}

impl DurableObject for VisitorSession {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            #[cfg(feature = "test-faults")]
            added: std::cell::Cell::new(0),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let faults = test_faults(&req)?;
        let command = Visit::parse(&req.method(), &req.path());
        // Test builds only: this object throws, to prove the worker's fail-safe; or it answers
        // the array form's path as an object of an earlier release would.
        if faults.has(Fault::VisitThrows) {
            return Err(worker::Error::RustError("injected fault".to_string()));
        }
        if faults.has(Fault::PreviousObject) && command == Some(Visit::Decide) {
            return Response::error("no such visit route", 404);
        }
        match command {
            Some(Visit::Decide | Visit::DecideObjectForm) => self.decide(req, &faults).await,
            Some(Visit::Events) => self.events(req).await,
            Some(Visit::CallClick) => self.call_click(req).await,
            Some(Visit::Land) => self.land(req, &faults).await,
            Some(Visit::Record) => self.record(req, &faults).await,
            Some(Visit::Context(id)) => self.context(&id).await,
            Some(Visit::Read) => {
                let visit = stored::get::<VisitState>(&self.state.storage(), VISIT).await?;
                match visit {
                    Some(v) => Response::from_json(&v),
                    None => Response::error("no such visit", 404),
                }
            }
            Some(Visit::Erase) => {
                // R-M5: the visitor is erased; its unshipped facts go too.
                self.state.storage().delete_all().await?;
                self.state.storage().delete_alarm().await?;
                Response::empty()
            }
            None => Response::error("no such visit route", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        // R-M4: ship the visit's facts first; if the queue refuses, the alarm fails and the
        // platform retries it, with the facts still in the outbox. From the read that found the
        // outbox empty to the end, only storage is awaited: no request comes between, so the
        // deletion below cannot take facts that arrived meanwhile.
        self.ship().await?;
        let storage = self.state.storage();
        let visit = stored::get::<VisitState>(&storage, VISIT)
            .await?
            .unwrap_or_default();
        let last = storage.get::<u64>(LAST_REAL_MS).await?.unwrap_or(0);
        let idle_ms = u64::from(visit.timeout_minutes.max(1)) * 60_000;
        let now = worker::Date::now().as_millis();
        if now >= last.saturating_add(idle_ms) || visit == VisitState::default() {
            storage.delete_all().await?;
        } else {
            storage
                .set_alarm(Duration::from_millis(last + idle_ms - now))
                .await?;
        }
        Response::empty()
    }
}
