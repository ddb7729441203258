//! The visit's commands, each one step over the [`Store`]: a decision, a recorded decision,
//! events, a click-to-call click, an offsite landing, a context read.

use super::{
    ctx_key, facts_fault, json, text, Failure, Queue, Reply, Store, StoreError, VisitObject, VISIT,
};
use crate::api::click_to_call::CallClick;
use crate::api::events::{EventBatch, EventOutcome, Refusal};
use crate::api::landing::ContextRead;
use crate::engine::events::{ContextRecord, EventName};
use crate::engine::landing::LandingClick;
use crate::engine::visit::{Recorded, VisitAnswer, VisitRequest, VisitState};
use crate::faults::{HandoffFault, HandoffOf};
use crate::measure::funnel::VisitAt;
use std::collections::BTreeMap;

impl<S: Store, Q: Queue> VisitObject<'_, S, Q> {
    pub(super) async fn decide(
        &self,
        req: VisitRequest<'_>,
        new_id: &mut dyn FnMut() -> String,
    ) -> Result<Reply, Failure> {
        let mut visit = self.load(req.now_ms).await?;
        let answer = visit.decide(&req, new_id);
        self.keep(&visit, &req, &answer).await?;
        json(&answer)
    }

    /// Records a decision the worker made without this object, sent after its answer
    /// ([`Recorded`]). The worker sends it again when it got no answer, so a decision recorded
    /// already changes nothing. Test builds: `record-answer-lost` records it, then answers 503.
    pub(super) async fn record(&self, rec: Recorded<'_>) -> Result<Reply, Failure> {
        for shown in &rec.shown {
            if self.holds_context(&shown.context_id).await? {
                return Ok(Reply::Empty);
            }
        }
        let mut visit = self.load(rec.request.now_ms).await?;
        let Some(answer) = visit.record(&rec) else {
            return Ok(Reply::Empty);
        };
        self.keep(&visit, &rec.request, &answer).await?;
        Ok(self.written(HandoffOf::Record))
    }

    /// The answer to a hand-off of `kind` once its writes are stored: empty, or in test builds
    /// with its `answer-lost` a 503, as if the answer were lost. An answer, not an exception,
    /// so that what was written stays written.
    fn written(&self, kind: HandoffOf) -> Reply {
        if self.faults.handoff(kind) == Some(HandoffFault::AnswerLost) {
            return Reply::AnswerLost;
        }
        Reply::Empty
    }

    /// True when the visit holds context `id`: a hand-off sent again finds what it wrote.
    async fn holds_context(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .store
            .get::<ContextRecord>(&ctx_key(id))
            .await?
            .is_some())
    }

    /// Stores what a decision changed: its contexts (R-D9), the facts it made new for the
    /// visit (R-M1) and the visit.
    async fn keep(
        &self,
        visit: &VisitState,
        req: &VisitRequest<'_>,
        answer: &VisitAnswer,
    ) -> Result<(), StoreError> {
        let mut entries = Vec::new();
        for (id, record) in &answer.new_contexts(req) {
            entries.push((ctx_key(id), text(record)?));
        }
        let started = visit.first_activity_ms;
        entries.extend(
            self.count(
                |t| {
                    t.decided(req, answer, started, &req.day)
                        .into_iter()
                        .collect()
                },
                facts_fault(self.faults),
            )
            .await?,
        );
        self.save(visit, entries).await
    }

    /// Applies a batch of events: all of them, or none when one is refused (R-D9: what an
    /// event says must agree with the context the worker issued).
    pub(super) async fn events(&self, batch: EventBatch) -> Result<Reply, Failure> {
        let mut visit = self.load(batch.now_ms).await?;
        let mut records: BTreeMap<String, ContextRecord> = BTreeMap::new();
        let mut outcome = EventOutcome::default();
        for (index, e) in batch.events.iter().enumerate() {
            if !records.contains_key(&e.context_id) {
                match self
                    .store
                    .get::<ContextRecord>(&ctx_key(&e.context_id))
                    .await?
                {
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
            return Err(Failure::Refused(outcome));
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
        let mut entries = Vec::with_capacity(records.len());
        for (id, record) in &records {
            entries.push((ctx_key(id), text(record)?));
        }
        entries.extend(
            self.count(
                |t| {
                    facts
                        .iter()
                        .filter_map(|(record, event)| t.event(at, record, *event))
                        .collect()
                },
                None,
            )
            .await?,
        );
        self.save(&visit, entries).await?;
        json(&outcome)
    }

    /// Confirms the visit was shown this click-to-call display and marks it accepted; answers
    /// the visit as the brand's page may see it.
    pub(super) async fn call_click(&self, click: CallClick) -> Result<Reply, Failure> {
        let mut visit = self.load(click.now_ms).await?;
        let Some(record) = self
            .store
            .get::<ContextRecord>(&ctx_key(&click.context_id))
            .await?
            .filter(|r| r.engagement_id == click.engagement_id)
        else {
            return Err(Failure::NotFound(
                "this visit was not shown that engagement",
            ));
        };
        visit.accepted.insert(click.engagement_id.clone());
        visit.active(click.now_ms);
        // R-M1: the click accepts the engagement, as OFFER_CLICK does for the other channels.
        let at = VisitAt::of(
            &visit,
            &click.account,
            &click.visit_id,
            click.now_ms,
            &click.day,
        );
        let entries = self
            .count(
                |t| {
                    t.event(at, &record, EventName::OfferClick)
                        .into_iter()
                        .collect()
                },
                None,
            )
            .await?;
        self.save(&visit, entries).await?;
        json(&visit.call_view())
    }

    /// R-O2: starts the visit of an eligible offsite click and records the click's context,
    /// so that the landing page can exchange it and report events with it. The worker sends
    /// the message again when it got no answer, so a context already recorded changes nothing.
    /// Test builds: `land-answer-lost` records the click, then answers 503.
    pub(super) async fn land(&self, click: LandingClick) -> Result<Reply, Failure> {
        if self.holds_context(&click.context_id).await? {
            return Ok(Reply::Empty);
        }
        let mut visit = self.load(click.now_ms).await?;
        visit.land(&click);
        let context = (ctx_key(&click.context_id), text(&click.record)?);
        self.save(&visit, vec![context]).await?;
        Ok(self.written(HandoffOf::Land))
    }

    /// One context the visit issued, with the visit's timeout.
    pub(super) async fn context(&self, id: &str) -> Result<Reply, Failure> {
        let Some(record) = self.store.get::<ContextRecord>(&ctx_key(id)).await? else {
            return Err(Failure::NotFound("no such context"));
        };
        let timeout_minutes = self
            .store
            .get::<VisitState>(VISIT)
            .await?
            .map_or(0, |v| v.timeout_minutes);
        json(&ContextRead {
            record,
            timeout_minutes,
        })
    }
}
