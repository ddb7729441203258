//! `CallSession`, one Durable Object per click-to-call call (R-C2): the call record the brand
//! reads and reports statuses to for 6 hours after the first status or the close, then gone.
//! Its own class, so that a call outlives its visit's idle deletion.

use super::bindings::{self, Call, ObjectClass};
use crate::api::click_to_call::{CallOp, CallOpAnswer};
use crate::engine::click_to_call::CallRecord;
use std::time::Duration;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

const RECORD: &str = "call";

/// The per-call Durable Object.
#[durable_object]
pub struct CallSession {
    state: State,
    #[allow(dead_code)]
    env: Env,
}

impl CallSession {
    /// Creates the record (once) and schedules its deletion after the window.
    async fn create(&self, mut req: Request) -> Result<Response> {
        let record: CallRecord = bindings::message(&mut req).await?;
        let storage = self.state.storage();
        if storage.get::<CallRecord>(RECORD).await?.is_none() {
            storage.put(RECORD, &record).await?;
            self.schedule(&record).await?;
        }
        Response::empty()
    }

    async fn schedule(&self, record: &CallRecord) -> Result<()> {
        let wait = record
            .deadline_ms()
            .saturating_sub(worker::Date::now().as_millis())
            .max(1_000);
        self.state
            .storage()
            .set_alarm(Duration::from_millis(wait))
            .await
    }

    /// Reads the call, reports a status or adds visitor events, while its window is open (410
    /// after; 422 when the events would pass [`crate::engine::click_to_call::MAX_CALL_EVENTS`]).
    async fn op(&self, mut req: Request) -> Result<Response> {
        let op: CallOp = bindings::message(&mut req).await?;
        let storage = self.state.storage();
        let Some(mut record) = storage.get::<CallRecord>(RECORD).await? else {
            return Response::error("no such call", 404);
        };
        if op.now_ms > record.deadline_ms() {
            return Response::error("expired", 410);
        }
        let mut added = None;
        if !op.events.is_empty() {
            let Some(a) = record.add_events(&op.events, op.now_ms) else {
                return Response::error("the call holds its most visitor events", 422);
            };
            added = Some(a);
            storage.put(RECORD, &record).await?;
        }
        if let Some(status) = op.status {
            record.report(status, op.now_ms);
            storage.put(RECORD, &record).await?;
            self.schedule(&record).await?;
        }
        Response::from_json(&CallOpAnswer {
            call: record,
            added,
        })
    }
}

impl DurableObject for CallSession {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match Call::parse(&req.method(), &req.path()) {
            Some(Call::Create) => self.create(req).await,
            Some(Call::Op) => self.op(req).await,
            Some(Call::Erase) => {
                self.state.storage().delete_all().await?;
                self.state.storage().delete_alarm().await?;
                Response::empty()
            }
            None => Response::error("no such call route", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        match storage.get::<CallRecord>(RECORD).await? {
            Some(call) if worker::Date::now().as_millis() < call.deadline_ms() => {
                self.schedule(&call).await?;
            }
            _ => storage.delete_all().await?,
        }
        Response::empty()
    }
}
