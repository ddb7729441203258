//! `VisitorSession`, one Durable Object per (account, visit): the visit's state, applied
//! atomically — each request reads, decides and writes with only storage awaits in between,
//! so the object's input gate serialises concurrent requests and counters stay exact
//! (R-D6, R-D9). An alarm deletes the visit once it has been idle past its timeout.

use super::random_id;
use crate::engine::visit::{ContextRecord, EventName, VisitRequest, VisitState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

/// One event as the worker forwards it (already validated for shape).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventIn {
    /// lpTag event name.
    pub event: String,
    /// Context id from the decision.
    pub context_id: String,
    /// Engagement id, when the tag sends it: must match the context's.
    #[serde(default)]
    pub engagement_id: Option<String>,
}

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

/// The per-visit Durable Object.
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

impl DurableObject for VisitorSession {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/decide") => self.decide(req).await,
            (Method::Post, "/events") => self.events(req).await,
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
