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
use super::{internal, now_ms, random_id, snapshots};
use crate::api::report::{comparisons_csv, csv, ReportFormat, ReportQuery, ReportRow};
use crate::api::ApiError;
use crate::engine::snapshot::day_in;
use crate::engine::snapshot::Snapshot;
#[cfg(feature = "test-faults")]
use crate::faults::Fault;
use crate::measure::conversion::{AttributionRules, Conversion, ConversionIn, Credit, Touch};
use crate::measure::funnel::Metric;
use crate::measure::stats::{Arm, ControlVsExposed};
use crate::measure::{offsite_metric, Message, RETENTION};
use serde::de::DeserializeOwned;
use worker::js_sys::JSON;
use worker::wasm_bindgen::JsValue;
use worker::{
    event, Context, D1Database, D1PreparedStatement, Env, MessageBatch, MessageExt,
    QueueContentType, RawMessageBuilder, Request, Response, ScheduleContext, ScheduledEvent,
    SendMessage,
};

/// A JavaScript value read through JSON text: the worker's one set of serde_json readers,
/// instead of a second, JS-value-reading copy of every type's deserializer in the wasm.
fn from_js<T: DeserializeOwned>(v: &JsValue) -> worker::Result<T> {
    let text: String = JSON::stringify(v)
        .map_err(|_| worker::Error::RustError("value is not JSON".into()))?
        .into();
    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// A measurement message as the queue carries it: its JSON text (content type `text`), read
/// back by [`read_message`] with the same serde_json code.
pub(super) fn message(m: &Message) -> worker::Result<SendMessage<JsValue>> {
    let text = serde_json::to_string(m).map_err(|e| worker::Error::RustError(e.to_string()))?;
    Ok(RawMessageBuilder::new(JsValue::from_str(&text))
        .build_with_content_type(QueueContentType::Text))
}

/// Sends one measurement message to the queue.
pub(super) async fn send(env: &Env, m: &Message) -> worker::Result<()> {
    env.queue(bindings::FACTS)?.send_raw(message(m)?).await
}

/// A measurement message from a queue message's body.
fn read_message(body: &JsValue) -> worker::Result<Message> {
    let text = body
        .as_string()
        .ok_or_else(|| worker::Error::RustError("not a text message".into()))?;
    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(e.to_string()))
}

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

/// Most conversions one report attributes; a longer range is refused (narrow it).
const MAX_REPORT_CONVERSIONS: usize = 100_000;

/// Runs a read and returns its rows, each read as `T` (a tuple of the selected columns).
async fn rows<T: DeserializeOwned>(statement: D1PreparedStatement) -> Result<Vec<T>, ApiError> {
    statement
        .raw_js_value()
        .await
        .map_err(internal)?
        .iter()
        .map(from_js::<T>)
        .collect::<worker::Result<Vec<T>>>()
        .map_err(internal)
}

/// The rollup rows of the range (R-M1).
async fn funnel_rows(
    db: &D1Database,
    account: &str,
    q: &ReportQuery,
) -> Result<Vec<ReportRow>, ApiError> {
    let statement = db
        .prepare(
            "SELECT day, campaign, engagement, line_of_business, entry_point, metric, n FROM rollup \
             WHERE account = ?1 AND day BETWEEN ?2 AND ?3",
        )
        .bind(&[account.into(), q.from.as_str().into(), q.to.as_str().into()])
        .map_err(internal)?;
    Ok(
        rows::<(String, String, String, String, String, String, u64)>(statement)
            .await?
            .into_iter()
            .map(
                |(day, campaign, engagement, lob, entry_point, metric, n)| ReportRow {
                    day,
                    campaign,
                    engagement,
                    line_of_business: lob,
                    entry_point,
                    metric,
                    n,
                    currency: None,
                    value: None,
                },
            )
            .collect(),
    )
}

/// A conversion of the range beside one entry of its visitor's history (none: `None`s).
type ConversionLine = (
    String,
    String,
    String,
    String,
    Option<f64>,
    Option<String>,
    u64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<u64>,
);

/// R-M2: the conversions of the range, each with the part of its visitor's history that may
/// take credit (accepted and exposed, before it, in the same visit or the cross-session
/// period), attributed and added up.
async fn conversion_rows(
    db: &D1Database,
    account: &str,
    q: &ReportQuery,
    rules: &AttributionRules,
) -> Result<Vec<ReportRow>, ApiError> {
    let statement = db
        .prepare(
            "SELECT c.id, c.visitor, c.visit, c.goal, c.value_cents, c.currency, c.at_ms, c.day, \
                    t.metric, t.campaign, t.engagement, t.visit, t.at_ms \
             FROM conversion c LEFT JOIN touch t \
               ON t.account = c.account AND t.visitor = c.visitor \
              AND t.metric IN ('accepted', 'exposed') AND t.at_ms <= c.at_ms \
              AND (t.at_ms >= c.at_ms - ?4 OR t.visit = c.visit) \
             WHERE c.account = ?1 AND c.day BETWEEN ?2 AND ?3 \
             ORDER BY c.id",
        )
        .bind(&[
            account.into(),
            q.from.as_str().into(),
            q.to.as_str().into(),
            (rules.period_ms as f64).into(),
        ])
        .map_err(internal)?;
    let lines = rows::<ConversionLine>(statement).await?;
    let mut credited: Vec<(Conversion, Vec<Touch>)> = Vec::new();
    for (
        id,
        visitor,
        visit,
        goal,
        cents,
        currency,
        at_ms,
        day,
        metric,
        campaign,
        engagement,
        t_visit,
        t_at,
    ) in lines
    {
        if credited.last().is_none_or(|(c, _)| c.reported.id != id) {
            if credited.len() >= MAX_REPORT_CONVERSIONS {
                return Err(ApiError::invalid(
                    "to",
                    format!(
                        "the range holds more than {MAX_REPORT_CONVERSIONS} conversions: narrow it"
                    ),
                ));
            }
            let reported = ConversionIn {
                id,
                goal,
                value: cents.map(|c| c / 100.0),
                currency,
                visitor_id: None,
                visit_id: (!visit.is_empty()).then_some(visit),
            };
            let c = Conversion {
                account: account.to_string(),
                visitor,
                at_ms,
                day,
                reported,
            };
            credited.push((c, Vec::new()));
        }
        let touch = (|| {
            Some(Touch {
                metric: Metric::parse(&metric?)?,
                campaign: campaign?,
                engagement: engagement?,
                visit: t_visit?,
                at_ms: t_at?,
            })
        })();
        if let (Some(t), Some((_, history))) = (touch, credited.last_mut()) {
            history.push(t);
        }
    }
    let credited: Vec<(Conversion, Credit)> = credited
        .into_iter()
        .map(|(c, history)| {
            let credit = rules.attribute(&c, &history);
            (c, credit)
        })
        .collect();
    Ok(crate::measure::conversion::conversion_rows(&credited))
}

/// One arm's sums over the range: visitors who entered it (their first `metric` touch for
/// `campaign`, on a day of the range), and per visitor whether they converted (a conversion of
/// `goal`, any when empty, from their entry to the end of the cross-session period) and the
/// value of those conversions in `currency` (none: 0), in cents.
const ARM: &str = "WITH arm AS ( \
       SELECT visitor, MIN(at_ms) AS since FROM touch \
       WHERE account = ?1 AND campaign = ?2 AND engagement = '' AND metric = ?3 AND day BETWEEN ?4 AND ?5 \
       GROUP BY visitor), \
     per AS ( \
       SELECT arm.visitor AS visitor, MAX(c.id IS NOT NULL) AS converted, \
              COALESCE(SUM(CASE WHEN c.currency = ?8 THEN c.value_cents END), 0) AS cents \
       FROM arm LEFT JOIN conversion c \
         ON c.account = ?1 AND c.visitor = arm.visitor AND (?6 = '' OR c.goal = ?6) \
        AND c.at_ms >= arm.since AND c.at_ms <= arm.since + ?7 \
       GROUP BY arm.visitor) \
     SELECT COUNT(*) AS n, COALESCE(SUM(converted), 0) AS converted, \
            COALESCE(SUM(cents), 0) AS cents, \
            COALESCE(SUM(CAST(cents AS REAL) * cents), 0) AS squares FROM per";

/// What [`ARM`] sums.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
struct ArmSums {
    n: f64,
    converted: f64,
    cents: f64,
    squares: f64,
}

/// R-M3: the control-against-exposed table: for the account (any goal) and each published
/// campaign that names a goal, the conversion rate and, per currency of the range's
/// conversions, the value per visitor, in both arms, compared. One D1 round trip.
async fn comparisons(
    db: &D1Database,
    account: &str,
    q: &ReportQuery,
    snap: &Snapshot,
) -> Result<Vec<ControlVsExposed>, ApiError> {
    let statement = db
        .prepare(
            "SELECT DISTINCT currency FROM conversion \
             WHERE account = ?1 AND day BETWEEN ?2 AND ?3 AND currency IS NOT NULL ORDER BY currency",
        )
        .bind(&[account.into(), q.from.as_str().into(), q.to.as_str().into()])
        .map_err(internal)?;
    let currencies: Vec<String> = rows::<(String,)>(statement)
        .await?
        .into_iter()
        .map(|(c,)| c)
        .collect();
    let period = f64::from(snap.account.spec.cross_session_days) * 86_400_000.0;
    let mut scopes: Vec<(String, String)> = vec![(String::new(), String::new())];
    scopes.extend(
        snap.campaigns
            .iter()
            .filter_map(|c| c.spec.goal.as_ref().map(|g| (c.spec.id.clone(), g.clone()))),
    );
    // (scope, currency or none) × (held, exposed)
    let mut lines: Vec<(usize, Option<&str>)> = Vec::new();
    let mut statements = Vec::new();
    for (i, (campaign, goal)) in scopes.iter().enumerate() {
        for currency in std::iter::once(None).chain(currencies.iter().map(|c| Some(c.as_str()))) {
            for metric in [Metric::Held, Metric::Exposed] {
                statements.push(
                    db.prepare(ARM)
                        .bind(&[
                            account.into(),
                            campaign.as_str().into(),
                            metric.name().into(),
                            q.from.as_str().into(),
                            q.to.as_str().into(),
                            goal.as_str().into(),
                            period.into(),
                            currency.unwrap_or("").into(),
                        ])
                        .map_err(internal)?,
                );
            }
            lines.push((i, currency));
        }
    }
    let results = db.batch(statements).await.map_err(internal)?;
    let mut sums = Vec::new();
    for r in &results {
        let first = r.results::<ArmSums>().map_err(internal)?.first().copied();
        sums.push(first.unwrap_or_default());
    }
    let mut table = Vec::new();
    for (k, (scope, currency)) in lines.into_iter().enumerate() {
        let (Some(held), Some(exposed), Some((campaign, goal))) =
            (sums.get(2 * k), sums.get(2 * k + 1), scopes.get(scope))
        else {
            continue;
        };
        let arm = |s: &ArmSums| match currency {
            None => Arm::proportion(s.n as u64, s.converted as u64),
            Some(_) => Arm {
                n: s.n as u64,
                sum: s.cents / 100.0,
                sum_squares: s.squares / 10_000.0,
            },
        };
        let metric = if currency.is_some() {
            "value_per_visitor"
        } else {
            "conversion_rate"
        };
        table.push(ControlVsExposed::new(
            campaign,
            goal,
            metric,
            currency,
            arm(held),
            arm(exposed),
        ));
    }
    Ok(table)
}

/// `GET /v1/admin/accounts/{account}/report?from&to[&format=csv[&table=comparisons]]` (R-M5):
/// the funnel and conversion rows of the range, by day, campaign, engagement and metric, and
/// the control-against-exposed table (R-M3). An admin route: `admin::handle` has checked the
/// token and the account id.
pub async fn report(req: Request, env: &Env, account: &str) -> Answer {
    let q = ReportQuery::from_query(req.url().map_err(internal)?.query_pairs())?;
    let loaded = snapshots::load(env, account, now_ms(&req, env)).await?;
    let snap = &loaded.snapshot;
    let db = env.d1(bindings::MEASURE).map_err(internal)?;
    let rules = AttributionRules::of(snap);
    let mut rows = funnel_rows(&db, account, &q).await?;
    rows.extend(conversion_rows(&db, account, &q, &rules).await?);
    rows.sort_by(|a, b| a.key().cmp(&b.key()));
    let csv_answer = |text: String| {
        let mut resp = Response::ok(text).map_err(internal)?;
        resp.headers_mut()
            .set("Content-Type", "text/csv; charset=utf-8")
            .map_err(internal)?;
        Ok(resp)
    };
    match q.format {
        ReportFormat::Csv => csv_answer(csv(&rows)),
        ReportFormat::ComparisonsCsv => {
            csv_answer(comparisons_csv(&comparisons(&db, account, &q, snap).await?))
        }
        ReportFormat::Json => {
            let table = comparisons(&db, account, &q, snap).await?;
            json(
                200,
                &serde_json::json!({
                    "account": account, "from": q.from, "to": q.to,
                    "timeZone": snap.account.spec.time_zone,
                    "crossSessionDays": snap.account.spec.cross_session_days,
                    "attribution": snap.account.spec.attribution,
                    "campaigns": snap.campaigns.iter().map(|c| serde_json::json!({
                        "id": c.spec.id, "name": c.spec.name, "goal": c.spec.goal,
                        "lineOfBusiness": c.spec.line_of_business,
                        "controlGroupPercent": c.control.percent,
                    })).collect::<Vec<_>>(),
                    "rows": rows,
                    "comparisons": table,
                }),
            )
        }
    }
}
