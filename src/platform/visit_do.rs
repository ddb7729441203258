//! `VisitorSession`, one Durable Object per (account, visit): the visit's state, applied
//! atomically — each request reads, decides and writes with only storage awaits in between,
//! so the object's input gate serialises concurrent requests and counters stay exact
//! (R-D6, R-D9). An alarm deletes the visit once it has been idle past its timeout.

use super::random_id;
use crate::call_token::deadline_ms;
use crate::engine::visit::{CallRecord, ContextRecord, EventName, VisitRequest, VisitState};
use crate::protocol::EventIn;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

/// A batch of events for one visit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventBatch {
    /// Request time, ms.
    pub now_ms: u64,
    /// The events.
    pub events: Vec<EventIn>,
}

/// The object's answer to a batch: applied and duplicate counts, or what was refused.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventOutcome {
    /// Events that changed the visit.
    pub applied: u32,
    /// Events seen before (no change).
    pub duplicates: u32,
    /// Problems that refused the whole batch (nothing applied).
    pub refused: Vec<String>,
}

/// A click on a click-to-call engagement, checked against the visit (R-C2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallClick {
    /// Request time, ms.
    pub now_ms: u64,
    /// The display clicked.
    pub context_id: String,
    /// Its engagement.
    pub engagement_id: String,
}

/// A brand API operation on a call object (R-C2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallOp {
    /// Request time, ms.
    pub now_ms: u64,
    /// A status to report, if any.
    #[serde(default)]
    pub status: Option<String>,
}

/// The per-visit Durable Object (the same class also keeps one click-to-call call per
/// object named `{account}:call:{signature}`, so a call outlives its visit's idle timeout).
#[durable_object]
pub struct VisitorSession {
    state: State,
    #[allow(dead_code)]
    env: Env,
}

fn ctx_key(id: &str) -> String {
    format!("ctx:{id}")
}

impl VisitorSession {
    async fn load(&self, now_ms: u64) -> Result<VisitState> {
        let storage = self.state.storage();
        let visit = storage
            .get::<VisitState>("visit")
            .await?
            .unwrap_or_default();
        if visit.expired(now_ms) {
            storage.delete_all().await?;
            return Ok(VisitState::default());
        }
        Ok(visit)
    }

    async fn save(&self, visit: &VisitState) -> Result<()> {
        let storage = self.state.storage();
        storage.put("visit", visit).await?;
        let idle = Duration::from_secs(u64::from(visit.timeout_minutes.max(1)) * 60);
        storage
            .put("lastRealMs", worker::Date::now().as_millis())
            .await?;
        storage.set_alarm(idle).await
    }

    async fn decide(&self, mut req: Request) -> Result<Response> {
        let body: VisitRequest = req.json().await?;
        let mut visit = self.load(body.now_ms).await?;
        let answer = visit.decide(&body, &mut random_id);
        let storage = self.state.storage();
        for (id, record) in &answer.new_contexts {
            storage.put(&ctx_key(id), record).await?;
        }
        self.save(&visit).await?;
        Response::from_json(&answer)
    }

    async fn events(&self, mut req: Request) -> Result<Response> {
        let batch: EventBatch = req.json().await?;
        let mut visit = self.load(batch.now_ms).await?;
        let storage = self.state.storage();
        let mut records: BTreeMap<String, ContextRecord> = BTreeMap::new();
        let mut outcome = EventOutcome::default();
        for e in &batch.events {
            if !records.contains_key(&e.context_id) {
                match storage
                    .get::<ContextRecord>(&ctx_key(&e.context_id))
                    .await?
                {
                    Some(r) => {
                        records.insert(e.context_id.clone(), r);
                    }
                    None => outcome.refused.push(format!(
                        "unknown contextId \"{}\" in this visit",
                        e.context_id
                    )),
                }
            }
            let mismatch = records
                .get(&e.context_id)
                .zip(e.engagement_id.as_ref())
                .is_some_and(|(r, id)| &r.engagement_id != id);
            if mismatch {
                outcome.refused.push(format!(
                    "engagementId does not match contextId \"{}\"",
                    e.context_id
                ));
            }
            if EventName::parse(&e.event).is_none() {
                outcome
                    .refused
                    .push(format!("unknown event \"{}\"", e.event));
            }
        }
        if !outcome.refused.is_empty() {
            return Ok(Response::from_json(&outcome)?.with_status(400));
        }
        for e in &batch.events {
            let (Some(record), Some(name)) =
                (records.get_mut(&e.context_id), EventName::parse(&e.event))
            else {
                continue;
            };
            if visit.apply_event(&e.context_id, record, name) {
                outcome.applied += 1;
            } else {
                outcome.duplicates += 1;
            }
        }
        for (id, record) in &records {
            storage.put(&ctx_key(id), record).await?;
        }
        visit.last_activity_ms = visit.last_activity_ms.max(batch.now_ms);
        self.save(&visit).await?;
        Response::from_json(&outcome)
    }
}

impl VisitorSession {
    /// Confirms the visit was shown this click-to-call display and marks it accepted; answers
    /// the visit as the brand's page may see it.
    async fn call_click(&self, mut req: Request) -> Result<Response> {
        let click: CallClick = req.json().await?;
        let mut visit = self.load(click.now_ms).await?;
        let storage = self.state.storage();
        let shown = storage
            .get::<ContextRecord>(&ctx_key(&click.context_id))
            .await?
            .is_some_and(|r| r.engagement_id == click.engagement_id);
        if !shown {
            return Response::error("this visit was not shown that engagement", 404);
        }
        visit.accepted.insert(click.engagement_id);
        self.save(&visit).await?;
        Response::from_json(&visit.call_view())
    }

    /// Creates the call record (once) and schedules its deletion after the window.
    async fn call_create(&self, mut req: Request) -> Result<Response> {
        let record: CallRecord = req.json().await?;
        let storage = self.state.storage();
        if storage.get::<CallRecord>("call").await?.is_none() {
            storage.put("call", &record).await?;
            self.call_alarm(&record).await?;
        }
        Response::empty()
    }

    async fn call_alarm(&self, record: &CallRecord) -> Result<()> {
        let deadline = deadline_ms(record.issued_ms, record.first_status_ms, record.closed_ms);
        let wait = deadline
            .saturating_sub(worker::Date::now().as_millis())
            .max(1_000);
        self.state
            .storage()
            .set_alarm(Duration::from_millis(wait))
            .await
    }

    /// Reads the call, or reports a status, while its window is open (410 after).
    async fn call_op(&self, mut req: Request) -> Result<Response> {
        let op: CallOp = req.json().await?;
        let storage = self.state.storage();
        let Some(mut record) = storage.get::<CallRecord>("call").await? else {
            return Response::error("no such call", 404);
        };
        if op.now_ms > deadline_ms(record.issued_ms, record.first_status_ms, record.closed_ms) {
            return Response::error("expired", 410);
        }
        if let Some(status) = &op.status {
            record.report(status, op.now_ms);
            storage.put("call", &record).await?;
            self.call_alarm(&record).await?;
        }
        Response::from_json(&record)
    }
}

impl DurableObject for VisitorSession {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        // Test builds only: the worker forwards an admin-authenticated `X-Test-Fault` so that
        // tests can prove the fail-safe when this object throws (docs/api.md).
        #[cfg(feature = "test-clock")]
        if req.headers().has("X-Test-Fault")? {
            return Err(worker::Error::RustError("injected fault".to_string()));
        }
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/decide") => self.decide(req).await,
            (Method::Post, "/events") => self.events(req).await,
            (Method::Post, "/call-click") => self.call_click(req).await,
            (Method::Put, "/call") => self.call_create(req).await,
            (Method::Post, "/call") => self.call_op(req).await,
            (Method::Get, "/state") => {
                let visit = self.state.storage().get::<VisitState>("visit").await?;
                match visit {
                    Some(v) => Response::from_json(&v),
                    None => Response::error("no such visit", 404),
                }
            }
            _ => Response::error("no such visit route", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        if let Some(call) = storage.get::<CallRecord>("call").await? {
            let deadline = deadline_ms(call.issued_ms, call.first_status_ms, call.closed_ms);
            if worker::Date::now().as_millis() >= deadline {
                storage.delete_all().await?;
            } else {
                self.call_alarm(&call).await?;
            }
            return Response::empty();
        }
        let visit = storage
            .get::<VisitState>("visit")
            .await?
            .unwrap_or_default();
        let last = storage.get::<u64>("lastRealMs").await?.unwrap_or(0);
        let idle_ms = u64::from(visit.timeout_minutes.max(1)) * 60_000;
        let now = worker::Date::now().as_millis();
        if now >= last.saturating_add(idle_ms) {
            storage.delete_all().await?;
        } else {
            storage
                .set_alarm(Duration::from_millis(last + idle_ms - now))
                .await?;
        }
        Response::empty()
    }
}
