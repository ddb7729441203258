//! The measurement report (R-M5, first part): `GET /v1/admin/accounts/{account}/report` —
//! its query, checked, and its rows.

use super::error::*;
use crate::engine::schedule::parse_date;
use serde::{Deserialize, Serialize};

/// Longest date range one report covers, in days (the rollups' retention).
pub const MAX_REPORT_DAYS: i32 = 400;

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// `application/json` (default).
    Json,
    /// `text/csv`, one row per line.
    Csv,
}

/// A checked report query: `from` and `to` (`YYYY-MM-DD`, inclusive, by visit start in the
/// account's time zone), at most [`MAX_REPORT_DAYS`] apart, and the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Format.
    pub format: ReportFormat,
}

impl ReportQuery {
    /// Reads and checks the query pairs.
    pub fn from_query<'a>(
        pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Result<ReportQuery, ApiError> {
        let (mut from, mut to, mut format) = (None, None, ReportFormat::Json);
        for (k, v) in pairs {
            match k.as_ref() {
                "from" => from = Some(v.into_owned()),
                "to" => to = Some(v.into_owned()),
                "format" => {
                    format = match v.as_ref() {
                        "json" => ReportFormat::Json,
                        "csv" => ReportFormat::Csv,
                        _ => return Err(ApiError::invalid("format", "json or csv")),
                    }
                }
                _ => {}
            }
        }
        let day = |field: &str, v: Option<String>| {
            let v = v.ok_or_else(|| ApiError::invalid(field, "required: YYYY-MM-DD"))?;
            let d = parse_date(&v).ok_or_else(|| ApiError::invalid(field, "a date YYYY-MM-DD"))?;
            Ok::<_, ApiError>((v, d))
        };
        let (from, first) = day("from", from)?;
        let (to, last) = day("to", to)?;
        if last < first {
            return Err(ApiError::invalid("to", "before from"));
        }
        let span = first.until(last).map(|s| s.get_days()).unwrap_or(i32::MAX);
        if span >= MAX_REPORT_DAYS {
            return Err(ApiError::invalid(
                "to",
                format!("at most {MAX_REPORT_DAYS} days after from"),
            ));
        }
        Ok(ReportQuery { from, to, format })
    }
}

/// One rollup row: how many visits `metric` held for on `day`, for the campaign and engagement
/// (empty: the account level).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Campaign id, or empty.
    pub campaign: String,
    /// Engagement id, or empty.
    pub engagement: String,
    /// Metric name (docs/measurement.md).
    pub metric: String,
    /// Distinct visits.
    pub n: u64,
}

/// The rows as CSV, with a header line; ids and metric names need no quoting (ids are
/// `A-Z a-z 0-9 - _ .`).
pub fn csv(rows: &[ReportRow]) -> String {
    let mut out = String::from("day,campaign,engagement,metric,visits\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            r.day, r.campaign, r.engagement, r.metric, r.n
        ));
    }
    out
}
