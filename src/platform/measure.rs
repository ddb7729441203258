//! Measurement on the platform (R-M1, R-M4, R-M5): the queue consumer that adds the visits'
//! fact batches into the daily rollups in D1, each batch exactly once, and the report route.
//!
//! Exactness: a queue batch is applied in one D1 transaction. Each fact batch first records
//! its id with this delivery's random token (`ON CONFLICT DO NOTHING`), and its increments
//! apply only where that row carries this token; a retried or repeated delivery finds the id
//! recorded with another token and adds nothing. A failure before the commit rolls it all back
//! and the delivery is retried.

use super::bindings;
use super::http::{json, Answer};
use super::{internal, random_id};
use crate::api::report::{csv, ReportFormat, ReportQuery, ReportRow};
use crate::measure::funnel::FactBatch;
use serde::de::DeserializeOwned;
use worker::js_sys::JSON;
use worker::wasm_bindgen::JsValue;
use worker::{
    event, Context, D1PreparedStatement, Env, MessageBatch, MessageExt, QueueContentType,
    RawMessageBuilder, Request, Response, SendMessage,
};

/// A JavaScript value read through JSON text: the worker's one set of serde_json readers,
/// instead of a second, JS-value-reading copy of every type's deserializer in the wasm.
fn from_js<T: DeserializeOwned>(v: &JsValue) -> worker::Result<T> {
    let text: String = JSON::stringify(v)
        .map_err(|_| worker::Error::RustError("value is not JSON".into()))?
        .into();
    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// A fact batch as a queue message: its JSON text (content type `text`), read back by
/// [`read_message`] with the same serde_json code.
pub(super) fn message(batch: &FactBatch) -> worker::Result<SendMessage<JsValue>> {
    let text = serde_json::to_string(batch).map_err(|e| worker::Error::RustError(e.to_string()))?;
    Ok(RawMessageBuilder::new(JsValue::from_str(&text))
        .build_with_content_type(QueueContentType::Text))
}

/// A fact batch from a queue message's body.
fn read_message(body: &JsValue) -> worker::Result<FactBatch> {
    let text = body
        .as_string()
        .ok_or_else(|| worker::Error::RustError("not a text message".into()))?;
    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(e.to_string()))
}

const RECORD: &str = "INSERT INTO applied (id, token, applied_ms) VALUES (?1, ?2, ?3) \
     ON CONFLICT (id) DO NOTHING";
const ADD: &str = "INSERT INTO rollup (account, day, campaign, engagement, metric, n) \
     SELECT ?1, ?2, ?3, ?4, ?5, 1 WHERE EXISTS (SELECT 1 FROM applied WHERE id = ?6 AND token = ?7) \
     ON CONFLICT (account, day, campaign, engagement, metric) DO UPDATE SET n = n + 1";
const OWNED: &str = "SELECT id FROM applied WHERE id = ?1 AND token = ?2";

/// The statements that apply `batch` once, under this delivery's `token`.
fn statements(
    db: &worker::D1Database,
    batch: &FactBatch,
    token: &str,
    now_ms: f64,
) -> worker::Result<Vec<D1PreparedStatement>> {
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
        ])?);
    }
    Ok(out)
}

/// R-M4: adds a delivery of fact batches to the rollups, each batch once.
#[event(queue)]
pub async fn consume(
    batch: MessageBatch<FactBatch>,
    env: Env,
    _ctx: Context,
) -> worker::Result<()> {
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
                worker::console_error!("measurement: unreadable fact batch dropped: {e:?}");
                m.ack();
            }
        }
    }
    if let Err(e) = db.batch(all).await {
        worker::console_error!("measurement: rollup transaction failed, retried: {e:?}");
        batch.retry_all();
        return Ok(());
    }
    for (m, body) in &messages {
        // Test builds: a batch marked by `X-Test-Fault: consumer` is retried once after its
        // commit, as if the consumer had died before acknowledging it.
        if body.fault.as_deref() == Some("after_commit") {
            let rows = db
                .prepare(OWNED)
                .bind(&[body.id.as_str().into(), token.as_str().into()])?
                .raw_js_value()
                .await?;
            if rows.is_empty() {
                worker::console_log!(
                    "measurement: batch {} was applied before: acknowledged",
                    body.id
                );
            } else {
                worker::console_log!(
                    "measurement: batch {} committed, retried (test fault)",
                    body.id
                );
                m.retry();
                continue;
            }
        }
        m.ack();
    }
    Ok(())
}

/// `GET /v1/admin/accounts/{account}/report?from&to[&format=csv]` (R-M5): the rollup rows of
/// the range, by day, campaign, engagement and metric. An admin route: `admin::handle` has
/// checked the token and the account id.
pub async fn report(req: Request, env: &Env, account: &str) -> Answer {
    let q = ReportQuery::from_query(req.url().map_err(internal)?.query_pairs())?;
    let db = env.d1(bindings::MEASURE).map_err(internal)?;
    let rows: Vec<ReportRow> = db
        .prepare(
            "SELECT day, campaign, engagement, metric, n FROM rollup \
             WHERE account = ?1 AND day BETWEEN ?2 AND ?3 \
             ORDER BY day, campaign, engagement, metric",
        )
        .bind(&[account.into(), q.from.as_str().into(), q.to.as_str().into()])
        .map_err(internal)?
        .raw_js_value()
        .await
        .map_err(internal)?
        .iter()
        .map(|r| {
            from_js::<(String, String, String, String, u64)>(r).map(
                |(day, campaign, engagement, metric, n)| ReportRow {
                    day,
                    campaign,
                    engagement,
                    metric,
                    n,
                },
            )
        })
        .collect::<worker::Result<Vec<ReportRow>>>()
        .map_err(internal)?;
    match q.format {
        ReportFormat::Json => json(
            200,
            &serde_json::json!({ "account": account, "from": q.from, "to": q.to, "rows": rows }),
        ),
        ReportFormat::Csv => {
            let mut resp = Response::ok(csv(&rows)).map_err(internal)?;
            resp.headers_mut()
                .set("Content-Type", "text/csv; charset=utf-8")
                .map_err(internal)?;
            Ok(resp)
        }
    }
}
