//! The measurement queue's consumer (R-M1, R-M4, R-M5): adds the visits' fact batches into the
//! daily rollups in D1, each batch exactly once, and applies the store's retention.
//!
//! Exactness: a queue batch is applied in one D1 transaction. Each fact batch first records
//! its id with this delivery's random token (`ON CONFLICT DO NOTHING`), and its increments
//! apply only where that row carries this token; a retried or repeated delivery finds the id
//! recorded with another token and adds nothing. A failure before the commit rolls it all back
//! and the delivery is retried.

use super::bindings;
use super::queue::read_message;
use super::random_id;
use crate::engine::snapshot::day_in;
#[cfg(feature = "test-faults")]
use crate::faults::Fault;
use crate::measure::message::{offsite_metric, Message};
use crate::measure::RETENTION;
use worker::wasm_bindgen::JsValue;
use worker::{
    event, Context, D1Database, D1PreparedStatement, Env, MessageBatch, MessageExt,
    ScheduleContext, ScheduledEvent,
};

const RECORD: &str = "INSERT INTO applied (id, token, applied_ms) VALUES (?1, ?2, ?3) \
     ON CONFLICT (id) DO NOTHING";
const ADD: &str = "INSERT INTO rollup (account, day, campaign, engagement, line_of_business, entry_point, metric, n) \
     SELECT ?1, ?2, ?3, ?4, ?8, ?9, ?5, 1 WHERE EXISTS (SELECT 1 FROM applied WHERE id = ?6 AND token = ?7) \
     ON CONFLICT (account, day, campaign, engagement, line_of_business, entry_point, metric) DO UPDATE SET n = n + 1";
/// Offsite clicks: `n` more, under the batch's guard.
const ADD_N: &str = "INSERT INTO rollup (account, day, campaign, engagement, metric, n) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?8 WHERE EXISTS (SELECT 1 FROM applied WHERE id = ?6 AND token = ?7) \
     ON CONFLICT (account, day, campaign, engagement, line_of_business, entry_point, metric) DO UPDATE SET n = n + excluded.n";
/// A visitor's history entry, under the batch's guard, unless the visitor was erased since.
const TOUCH: &str =
    "INSERT INTO touch (account, visitor, metric, campaign, engagement, visit, at_ms, day) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 \
     WHERE EXISTS (SELECT 1 FROM applied WHERE id = ?9 AND token = ?10) \
     AND NOT EXISTS (SELECT 1 FROM erased WHERE account = ?1 AND visitor = ?2 AND erased_ms >= ?7) \
     ON CONFLICT DO NOTHING";
/// A conversion, once per (account, id), unless its visitor was erased since.
const CONVERT: &str = "INSERT INTO conversion (account, id, visitor, visit, goal, value_cents, currency, at_ms, day) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 \
     WHERE NOT EXISTS (SELECT 1 FROM erased WHERE account = ?1 AND visitor = ?3 AND erased_ms >= ?8) \
     ON CONFLICT DO NOTHING";
const CALL: &str = "INSERT INTO call_index (account, visitor, instance, at_ms) \
     SELECT ?1, ?2, ?3, ?4 \
     WHERE NOT EXISTS (SELECT 1 FROM erased WHERE account = ?1 AND visitor = ?2 AND erased_ms >= ?4) \
     ON CONFLICT DO NOTHING";
/// Test builds: whether this delivery applied a batch ([`Fault::ConsumerRetry`]).
#[cfg(feature = "test-faults")]
const OWNED: &str = "SELECT id FROM applied WHERE id = ?1 AND token = ?2";

/// The statements that apply `m` once, under this delivery's `token`.
fn statements(
    db: &worker::D1Database,
    m: &Message,
    token: &str,
    now_ms: f64,
) -> worker::Result<Vec<D1PreparedStatement>> {
    let batch = match m {
        Message::Facts(batch) => batch,
        Message::Conversion(c) => {
            let r = &c.reported;
            let cents = r.value.map(|v| JsValue::from_f64((v * 100.0).round()));
            return Ok(vec![db.prepare(CONVERT).bind(&[
                c.account.as_str().into(),
                r.id.as_str().into(),
                c.visitor.as_str().into(),
                r.visit_id.as_deref().unwrap_or("").into(),
                r.goal.as_str().into(),
                cents.unwrap_or(JsValue::NULL),
                r.currency
                    .as_deref()
                    .map_or(JsValue::NULL, JsValue::from_str),
                (c.at_ms as f64).into(),
                c.day.as_str().into(),
            ])?]);
        }
        Message::Clicks(clicks) => {
            let mut out = vec![db.prepare(RECORD).bind(&[
                clicks.id.as_str().into(),
                token.into(),
                now_ms.into(),
            ])?];
            for (campaign, engagement, outcome, n) in &clicks.counts {
                out.push(db.prepare(ADD_N).bind(&[
                    clicks.account.as_str().into(),
                    clicks.day.as_str().into(),
                    campaign.as_str().into(),
                    engagement.as_str().into(),
                    offsite_metric(outcome).into(),
                    clicks.id.as_str().into(),
                    token.into(),
                    (*n as f64).into(),
                ])?);
            }
            return Ok(out);
        }
        Message::Call(call) => {
            return Ok(vec![db.prepare(CALL).bind(&[
                call.account.as_str().into(),
                call.visitor.as_str().into(),
                call.instance.as_str().into(),
                (call.at_ms as f64).into(),
            ])?]);
        }
    };
    let mut out =
        vec![db
            .prepare(RECORD)
            .bind(&[batch.id.as_str().into(), token.into(), now_ms.into()])?];
    for f in &batch.facts {
        out.push(db.prepare(ADD).bind(&[
            batch.account.as_str().into(),
            batch.day.as_str().into(),
            f.campaign.as_str().into(),
            f.engagement.as_str().into(),
            f.metric.name().into(),
            batch.id.as_str().into(),
            token.into(),
            f.line_of_business.as_str().into(),
            f.entry_point.as_str().into(),
        ])?);
        if f.kept_per_visitor() && !batch.visitor.is_empty() {
            out.push(db.prepare(TOUCH).bind(&[
                batch.account.as_str().into(),
                batch.visitor.as_str().into(),
                f.metric.name().into(),
                f.campaign.as_str().into(),
                f.engagement.as_str().into(),
                batch.visit.as_str().into(),
                (batch.at_ms as f64).into(),
                batch.day.as_str().into(),
                batch.id.as_str().into(),
                token.into(),
            ])?);
        }
    }
    Ok(out)
}

/// R-M4: adds a delivery of measurement messages to D1, each once: fact batches to the
/// rollups and the visitors' histories, conversions and calls to theirs.
#[event(queue)]
pub async fn consume(batch: MessageBatch<Message>, env: Env, _ctx: Context) -> worker::Result<()> {
    let db = env.d1(bindings::MEASURE)?;
    let token = random_id();
    let now = worker::Date::now().as_millis() as f64;
    let mut messages = Vec::new();
    let mut all = Vec::new();
    for m in batch.raw_iter() {
        match read_message(&m.body()) {
            Ok(body) => {
                all.extend(statements(&db, &body, &token, now)?);
                messages.push((m, body));
            }
            Err(e) => {
                // Not ours to count (a message no version of this worker wrote): dropped, said.
                worker::console_error!("measurement: unreadable message dropped: {e:?}");
                m.ack();
            }
        }
    }
    let statements = all.len();
    let started = worker::Date::now().as_millis();
    let results = match db.batch(all).await {
        Ok(r) => r,
        Err(e) => {
            worker::console_error!("measurement: transaction failed, retried: {e:?}");
            batch.retry_all();
            return Ok(());
        }
    };
    let written: usize = results
        .iter()
        .filter_map(|r| r.meta().ok().flatten().and_then(|m| m.rows_written))
        .sum();
    worker::console_log!(
        "measurement: delivery of {} messages, {statements} statements, {written} rows written in {} ms",
        messages.len(),
        worker::Date::now().as_millis().saturating_sub(started)
    );
    for (m, body) in &messages {
        if retried_after_commit(&db, body, &token).await? {
            m.retry();
        } else {
            m.ack();
        }
    }
    Ok(())
}

/// Test builds: true when `body` is a fact batch marked by `X-Test-Fault: consumer` that this
/// delivery applied: it is retried once after its commit, as if the consumer had died before
/// acknowledging it. Always false in other builds.
#[cfg(feature = "test-faults")]
async fn retried_after_commit(
    db: &D1Database,
    body: &Message,
    token: &str,
) -> worker::Result<bool> {
    let Message::Facts(body) = body else {
        return Ok(false);
    };
    if body.fault != Some(Fault::ConsumerRetry) {
        return Ok(false);
    }
    let rows = db
        .prepare(OWNED)
        .bind(&[body.id.as_str().into(), token.into()])?
        .raw_js_value()
        .await?;
    if rows.is_empty() {
        worker::console_log!(
            "measurement: batch {} was applied before: acknowledged",
            body.id
        );
        return Ok(false);
    }
    worker::console_log!(
        "measurement: batch {} committed, retried (test fault)",
        body.id
    );
    Ok(true)
}

#[cfg(not(feature = "test-faults"))]
async fn retried_after_commit(_: &D1Database, _: &Message, _: &str) -> worker::Result<bool> {
    Ok(false)
}

/// R-M5: deletes what the measurement store keeps past its retention ([`RETENTION`]); daily,
/// by the cron trigger in wrangler.toml.
#[event(scheduled)]
pub async fn prune(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let now = worker::Date::now().as_millis();
    let Ok(db) = env.d1(bindings::MEASURE) else {
        worker::console_error!("retention: no measurement database");
        return;
    };
    for r in RETENTION {
        let cutoff = now.saturating_sub(r.days * 86_400_000);
        let bound: JsValue = if r.by_day {
            day_in(&jiff::tz::TimeZone::UTC, cutoff).into()
        } else {
            (cutoff as f64).into()
        };
        let run = async { db.prepare(r.delete).bind(&[bound])?.run().await };
        match run.await {
            Ok(result) => worker::console_log!(
                "retention: {} rows of {} past {} days deleted",
                result
                    .meta()
                    .ok()
                    .flatten()
                    .and_then(|m| m.changes)
                    .unwrap_or(0),
                r.what,
                r.days
            ),
            Err(e) => worker::console_error!("retention: {} not pruned: {e:?}", r.what),
        }
    }
}
