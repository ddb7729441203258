//! The measurement report (R-M1..R-M3, R-M5): `GET /v1/admin/accounts/{account}/report` —
//! its query, checked, and its rows.

use super::error::*;
use crate::engine::schedule::parse_date;
pub use crate::measure::conversion::ReportRow;
use crate::measure::stats::ControlVsExposed;

/// Longest date range one report covers, in days (the rollups' retention).
pub const MAX_REPORT_DAYS: i32 = crate::measure::REPORT_DAYS as i32;

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// `application/json` (default): the rows and the control-against-exposed table.
    Json,
    /// `text/csv`: the rows, one per line.
    Csv,
    /// `text/csv`: the control-against-exposed table (`format=csv&table=comparisons`).
    ComparisonsCsv,
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
        let (mut from, mut to, mut format, mut comparisons) =
            (None, None, ReportFormat::Json, false);
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
                "table" => {
                    comparisons = match v.as_ref() {
                        "rows" => false,
                        "comparisons" => true,
                        _ => return Err(ApiError::invalid("table", "rows or comparisons")),
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
        if day_number(last) - day_number(first) >= i64::from(MAX_REPORT_DAYS) {
            return Err(ApiError::invalid(
                "to",
                format!("at most {MAX_REPORT_DAYS} days after from"),
            ));
        }
        if comparisons && format == ReportFormat::Csv {
            format = ReportFormat::ComparisonsCsv;
        }
        Ok(ReportQuery { from, to, format })
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`): by hand, because jiff's span
/// arithmetic would bring its rounding and formatting machinery into the wasm.
fn day_number(d: jiff::civil::Date) -> i64 {
    let (y, m, day) = (
        i64::from(d.year()),
        i64::from(d.month()),
        i64::from(d.day()),
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The rows as CSV, with a header line; ids and metric names need no quoting (ids are
/// `A-Z a-z 0-9 - _ .`).
pub fn csv(rows: &[ReportRow]) -> String {
    let mut out = String::from(
        "day,campaign,engagement,line_of_business,entry_point,metric,count,currency,value\n",
    );
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            r.day,
            r.campaign,
            r.engagement,
            r.line_of_business,
            r.entry_point,
            r.metric,
            r.n,
            r.currency.as_deref().unwrap_or(""),
            r.value.map(|v| format!("{v:.2}")).unwrap_or_default()
        ));
    }
    out
}

/// The control-against-exposed table as CSV, with a header line (empty cells where there is no
/// comparison; `not_comparable` says why).
pub fn comparisons_csv(table: &[ControlVsExposed]) -> String {
    let mut out = String::from(
        "campaign,goal,metric,currency,control_visitors,control_mean,exposed_visitors,exposed_mean,\
         incremental,lift,ci_low,ci_high,p_value,sequential_ci_low,sequential_ci_high,sequential_p_value,not_comparable\n",
    );
    for c in table {
        let figures = c.result.as_ref().map_or_else(
            || ",,,,,,,".to_string(),
            |r| {
                format!(
                    "{},{},{},{},{},{},{},{}",
                    r.incremental,
                    r.lift,
                    r.ci.0,
                    r.ci.1,
                    r.p_value,
                    r.sequential_ci.0,
                    r.sequential_ci.1,
                    r.sequential_p_value
                )
            },
        );
        let why = c
            .not_comparable
            .and_then(|n| serde_json::to_value(n).ok())
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            c.campaign,
            c.goal,
            c.metric,
            c.currency.as_deref().unwrap_or(""),
            c.control.visitors,
            c.control.mean,
            c.exposed.visitors,
            c.exposed.mean,
            figures,
            why
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_count_calendar_days() {
        let d = |t: &str| day_number(parse_date(t).unwrap_or_default());
        assert_eq!(d("1970-01-01"), 0);
        assert_eq!(d("2000-03-01") - d("2000-02-28"), 2, "leap year");
        assert_eq!(d("2100-03-01") - d("2100-02-28"), 1, "not a leap year");
        assert_eq!(d("2027-01-01") - d("2026-01-01"), 365);
    }

    /// R-M5: the range is checked: dates, order, at most 400 days.
    #[test]
    fn r_m5_report_ranges_are_checked() {
        let q = |s: &str| {
            ReportQuery::from_query(url::form_urlencoded::parse(s.as_bytes())).map_err(
                |e| match e {
                    ApiError::Invalid { field, .. } => field,
                    other => format!("{other:?}"),
                },
            )
        };
        assert!(q("from=2026-01-01&to=2027-02-04").is_ok(), "399 days apart");
        assert_eq!(q("from=2026-01-01&to=2027-02-05"), Err("to".into()));
        assert_eq!(q("from=2026-01-02&to=2026-01-01"), Err("to".into()));
        assert_eq!(q("from=2026-02-30&to=2026-03-01"), Err("from".into()));
        assert_eq!(
            q("from=2026-01-01&to=2026-01-01&format=pdf"),
            Err("format".into())
        );
        assert_eq!(
            q("from=2026-01-01&to=2026-01-01&format=csv").map(|r| r.format),
            Ok(ReportFormat::Csv)
        );
    }
}
