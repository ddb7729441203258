//! Measurement on the platform (R-M1, R-M4, R-M5): the queue consumer that adds the visits'
//! fact batches into the daily rollups in D1, each batch exactly once, and the report route.
//!
//! Exactness: a queue batch is applied in one D1 transaction. Each fact batch first records
//! its id with this delivery's random token (`ON CONFLICT DO NOTHING`), and its increments
//! apply only where that row carries this token; a retried or repeated delivery finds the id
//! recorded with another token and adds nothing. A failure before the commit rolls it all back
//! and the delivery is retried.

use super::auth::is_admin;
use super::bindings;
use super::http::{json, Answer};
use super::{internal, random_id};
use crate::api::report::{csv, ReportFormat, ReportQuery, ReportRow};
use crate::api::{check_id, ApiError};
use crate::measure::funnel::FactBatch;
use worker::{
    event, Context, D1PreparedStatement, Env, MessageBatch, MessageExt, Request, Response,
};

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
    let messages = batch.messages()?;
    let token = random_id();
    let now = worker::Date::now().as_millis() as f64;
    let mut all = Vec::new();
    for m in &messages {
        all.extend(statements(&db, m.body(), &token, now)?);
    }
    if let Err(e) = db.batch(all).await {
        worker::console_error!("measurement: rollup transaction failed, retried: {e:?}");
        batch.retry_all();
        return Ok(());
    }
    for m in &messages {
        // Test builds: a batch marked by `X-Test-Fault: consumer` is retried once after its
        // commit, as if the consumer had died before acknowledging it.
        let owned = m.body().fault.as_deref() == Some("after_commit")
            && db
                .prepare(OWNED)
                .bind(&[m.body().id.as_str().into(), token.as_str().into()])?
                .first::<serde_json::Value>(None)
                .await?
                .is_some();
        if owned {
            m.retry();
        } else {
            m.ack();
        }
    }
    Ok(())
}

/// `GET /v1/admin/accounts/{account}/report?from&to[&format=csv]` (R-M5): the rollup rows of
/// the range, by day, campaign, engagement and metric.
pub async fn report(req: Request, env: &Env, account: &str) -> Answer {
    if !is_admin(&req, env) {
        return Err(ApiError::Unauthorized);
    }
    check_id("account", account)?;
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
        .all()
        .await
        .map_err(internal)?
        .results()
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
