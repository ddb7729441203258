//! The report route (R-M1..R-M3, R-M5): the rollups, the attributed conversions and the
//! control-against-exposed table of a range, read from D1.

use super::bindings;
use super::http::{json, Answer};
use super::{internal, now_ms, snapshots};
use crate::api::report::{comparisons_csv, csv, ReportFormat, ReportQuery, ReportRow};
use crate::api::ApiError;
use crate::engine::snapshot::Snapshot;
use crate::measure::conversion::{
    AttributionRules, Conversion, ConversionIn, Credit, Touch, WINDOW_SQL,
};
use crate::measure::funnel::Metric;
use crate::measure::stats::{Arm, ControlVsExposed};
use serde::de::DeserializeOwned;
use worker::js_sys::JSON;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

/// A JavaScript value read through JSON text: the worker's one set of serde_json readers,
/// instead of a second, JS-value-reading copy of every type's deserializer in the wasm.
fn from_js<T: DeserializeOwned>(v: &JsValue) -> worker::Result<T> {
    let text: String = JSON::stringify(v)
        .map_err(|_| worker::Error::RustError("value is not JSON".into()))?
        .into();
    serde_json::from_str(&text).map_err(|e| worker::Error::RustError(e.to_string()))
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
        .prepare(format!(
            "SELECT c.id, c.visitor, c.visit, c.goal, c.value_cents, c.currency, c.at_ms, c.day, \
                    t.metric, t.campaign, t.engagement, t.visit, t.at_ms \
             FROM conversion c LEFT JOIN touch t \
               ON t.account = c.account AND t.visitor = c.visitor \
              AND t.metric IN ('accepted', 'exposed') AND {WINDOW_SQL} \
             WHERE c.account = ?1 AND c.day BETWEEN ?2 AND ?3 \
             ORDER BY c.id"
        ))
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
    let period = AttributionRules::of(snap).period_ms as f64;
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
