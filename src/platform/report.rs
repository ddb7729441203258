//! The report route (R-M1..R-M3, R-M5): the account summary's rows of a range (the funnel,
//! offsite clicks, attributed conversions, and the arms the control-against-exposed table
//! compares), one call to the summary whatever the traffic behind them.

use super::bindings::{self, summary_instance, Totals};
use super::http::{json, Answer};
use super::{internal, now_ms, snapshots};
use crate::api::report::{comparisons_csv, csv, ReportFormat, ReportQuery};
use crate::api::ApiError;
use crate::measure::sums::{read, Row, Sums};
use crate::measure::totals::Days;
use worker::{Env, Request, Response};

/// `GET /v1/admin/accounts/{account}/report?from&to[&format=csv[&table=comparisons]]` (R-M5):
/// the funnel and conversion rows of the range, by day, campaign, engagement and metric, and
/// the control-against-exposed table (R-M3). An admin route: `admin::handle` has checked the
/// token and the account id.
pub async fn report(req: Request, env: &Env, account: &str) -> Answer {
    let q = ReportQuery::from_query(req.url().map_err(internal)?.query_pairs())?;
    let loaded = snapshots::load(env, account, now_ms(&req, env)).await?;
    let snap = &loaded.snapshot;
    let days = Days {
        from: q.from.clone(),
        to: q.to.clone(),
    };
    let summary: Vec<(Row, Sums)> =
        bindings::send_json(env, &summary_instance(account), &Totals::Rows, &days)
            .await
            .map_err(ApiError::from)?;
    // R-M3 compares the account (any goal) and each published campaign that names a goal.
    let mut scopes = vec![(String::new(), String::new())];
    scopes.extend(
        snap.campaigns
            .iter()
            .filter_map(|c| c.spec.goal.as_ref().map(|g| (c.spec.id.clone(), g.clone()))),
    );
    let report = read(&summary, &scopes);
    let rows = report.rows;
    let csv_answer = |text: String| {
        let mut resp = Response::ok(text).map_err(internal)?;
        resp.headers_mut()
            .set("Content-Type", "text/csv; charset=utf-8")
            .map_err(internal)?;
        Ok(resp)
    };
    match q.format {
        ReportFormat::Csv => csv_answer(csv(&rows)),
        ReportFormat::ComparisonsCsv => csv_answer(comparisons_csv(&report.comparisons)),
        ReportFormat::Json => {
            let table = report.comparisons;
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
