//! R-M6: `POST /v1/admin/accounts/{account}/measurements/migrate`: moves an account's
//! measurements from the D1 database earlier releases kept (`migrations/`) into the stores that
//! hold them now, one page per call, resumable from the `cursor` each call answers and
//! idempotent: run again, it changes nothing.
//!
//! * The funnel's daily rollups go to the account's summary as numbered flushes of a lane of
//!   their own ([`MIGRATION_LANE`]): the summary applies each page number once, ever.
//! * Each visitor's history (arms, accepts, visits) and conversions are told to its ledger, as
//!   the queue would have told them; the ledger's change goes to a shard under one id per
//!   visitor. A ledger told again what it holds answers no change, so a second run adds
//!   nothing even after the shard has forgotten the id.

use super::bindings::{
    self, ledger_instance, shard_instance, summary_instance, Ledger as LedgerCommand, Totals,
};
use super::http::{body, json, require_json, Answer};
use super::{internal, now_ms, snapshots};
use crate::api::{ApiError, MAX_SMALL_DEPTH};
use crate::measure::conversion::{Conversion, ConversionIn};
use crate::measure::funnel::{Fact, FactBatch, Metric};
use crate::measure::ledger::{LedgerRules, ToApply};
use crate::measure::message::Message;
use crate::measure::sums::{Deltas, Row, Sums};
use crate::measure::totals::{shard_of, Flush, ToShard};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use worker::js_sys::JSON;
use worker::{D1Database, D1PreparedStatement, Env, Request};

/// The summary's lane for the migrated rollups: a shard number no shard has.
pub const MIGRATION_LANE: u32 = 1_000_000;

/// Rollup rows per call.
const ROLLUP_PAGE: usize = 500;

/// Visitors per call.
const VISITOR_PAGE: usize = 25;

/// Where a migration is: `{"phase": "rollup", "page": n}` (rollup page n, from 0) or
/// `{"phase": "visitors", "after": id}` (the visitors after `id`). A plain struct rather than
/// a tagged enum: serde's tagged enums buffer their input through generic code that costs the
/// wasm tens of KB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cursor {
    phase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
}

impl Cursor {
    fn rollup(page: usize) -> Cursor {
        Cursor {
            phase: "rollup".into(),
            page: Some(page),
            after: None,
        }
    }

    fn visitors(after: &str) -> Cursor {
        Cursor {
            phase: "visitors".into(),
            page: None,
            after: Some(after.to_string()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ask {
    #[serde(default)]
    cursor: Option<Cursor>,
}

/// Runs a read and returns its rows as `T` (a tuple of the selected columns), read through
/// JSON text.
async fn rows<T: DeserializeOwned>(statement: D1PreparedStatement) -> Result<Vec<T>, ApiError> {
    let mut out = Vec::new();
    for v in statement.raw_js_value().await.map_err(internal)? {
        let text: String = JSON::stringify(&v)
            .map_err(|_| ApiError::Unavailable("a D1 row is not JSON".into()))?
            .into();
        out.push(serde_json::from_str(&text).map_err(|e| ApiError::Unavailable(e.to_string()))?);
    }
    Ok(out)
}

/// Page `page` of the rollups as a flush of the migration lane, and how many rows it held.
async fn rollup_page(
    db: &D1Database,
    account: &str,
    page: usize,
) -> Result<(Flush, usize), ApiError> {
    let statement = db
        .prepare(
            "SELECT day, campaign, engagement, line_of_business, entry_point, metric, n FROM rollup \
             WHERE account = ?1 ORDER BY day, campaign, engagement, line_of_business, entry_point, metric \
             LIMIT ?2 OFFSET ?3",
        )
        .bind(&[
            account.into(),
            (ROLLUP_PAGE as f64).into(),
            ((page * ROLLUP_PAGE) as f64).into(),
        ])
        .map_err(internal)?;
    let found = rows::<(String, String, String, String, String, String, i64)>(statement).await?;
    let mut deltas = Deltas::default();
    for (day, campaign, engagement, lob, entry_point, metric, n) in &found {
        let row = match (Metric::parse(metric), metric.strip_prefix("offsite_")) {
            (Some(metric), _) => Row::Funnel {
                day: day.clone(),
                fact: Fact {
                    campaign: campaign.clone(),
                    engagement: engagement.clone(),
                    metric,
                    line_of_business: lob.clone(),
                    entry_point: entry_point.clone(),
                },
            },
            (None, Some(outcome)) => Row::Clicks {
                day: day.clone(),
                campaign: campaign.clone(),
                engagement: engagement.clone(),
                outcome: outcome.to_string(),
            },
            (None, None) => continue,
        };
        deltas.add(&row, Sums::count(*n));
    }
    let flush = Flush {
        shard: MIGRATION_LANE,
        seq: page as u64 + 1,
        deltas,
    };
    Ok((flush, found.len()))
}

/// A visitor's history and conversions in D1, as the messages that told them.
async fn visitor_messages(
    db: &D1Database,
    account: &str,
    visitor: &str,
) -> Result<Vec<Message>, ApiError> {
    let touches = db
        .prepare(
            "SELECT metric, campaign, engagement, visit, at_ms, day FROM touch \
             WHERE account = ?1 AND visitor = ?2 ORDER BY visit, at_ms",
        )
        .bind(&[account.into(), visitor.into()])
        .map_err(internal)?;
    // (visit, at_ms, day) → the facts first true then
    let mut batches: BTreeMap<(String, u64, String), Vec<Fact>> = BTreeMap::new();
    for (metric, campaign, engagement, visit, at_ms, day) in
        rows::<(String, String, String, String, u64, String)>(touches).await?
    {
        let Some(metric) = Metric::parse(&metric) else {
            continue;
        };
        batches
            .entry((visit, at_ms, day))
            .or_default()
            .push(Fact::engagement(&campaign, &engagement, metric));
    }
    let mut out: Vec<Message> = batches
        .into_iter()
        .map(|((visit, at_ms, day), facts)| {
            Message::Facts(FactBatch {
                id: format!("migrate:{account}:{visitor}:{visit}:{at_ms}"),
                account: account.to_string(),
                visitor: visitor.to_string(),
                visit,
                at_ms,
                day,
                facts,
                #[cfg(feature = "test-faults")]
                fault: None,
            })
        })
        .collect();
    let conversions = db
        .prepare(
            "SELECT id, visit, goal, value_cents, currency, at_ms, day FROM conversion \
             WHERE account = ?1 AND visitor = ?2 ORDER BY at_ms, id",
        )
        .bind(&[account.into(), visitor.into()])
        .map_err(internal)?;
    for (id, visit, goal, cents, currency, at_ms, day) in rows::<(
        String,
        String,
        String,
        Option<f64>,
        Option<String>,
        u64,
        String,
    )>(conversions)
    .await?
    {
        out.push(Message::Conversion(Conversion {
            account: account.to_string(),
            visitor: visitor.to_string(),
            at_ms,
            day,
            reported: ConversionIn {
                id,
                goal,
                value: cents.map(|c| c / 100.0),
                currency,
                visitor_id: None,
                visit_id: (!visit.is_empty()).then_some(visit),
            },
        }));
    }
    Ok(out)
}

/// Tells a visitor's ledger its history and sends the change to the visitor's shard.
async fn migrate_visitor(
    env: &Env,
    db: &D1Database,
    account: &str,
    visitor: &str,
    rules: &LedgerRules,
) -> Result<usize, ApiError> {
    let messages = visitor_messages(db, account, visitor).await?;
    let now = worker::Date::now().as_millis();
    let ledger = ledger_instance(account, visitor);
    let mut deltas = Deltas::default();
    for message in &messages {
        let apply = ToApply {
            message: message.clone(),
            rules: rules.clone(),
            now_ms: now,
        };
        let change: Deltas =
            bindings::send_json(env, &ledger, &LedgerCommand::Apply, &apply).await?;
        deltas.merge(&change, 1);
    }
    let id = format!("migrate:{account}:{visitor}");
    let shard = shard_of(&id);
    let to = ToShard {
        account: account.to_string(),
        shard,
        changes: vec![(id, deltas)],
        now_ms: now,
    };
    bindings::send_json::<_, _, Vec<String>>(
        env,
        &shard_instance(account, shard),
        &Totals::Apply,
        &to,
    )
    .await?;
    Ok(messages.len())
}

/// R-M6: one step of the migration: `{"cursor": …}` from the previous answer (none: from the
/// start) → `{done, cursor, rollupRows, visitors, messages}`.
pub async fn migrate(mut req: Request, env: &Env, account: &str) -> Answer {
    let ask: Ask = if req
        .headers()
        .get("Content-Type")
        .map_err(internal)?
        .is_some()
    {
        require_json(&req)?;
        let bytes = body(&mut req, 4 * 1024, MAX_SMALL_DEPTH).await?;
        if bytes.is_empty() {
            Ask::default()
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::invalid("cursor", e.to_string()))?
        }
    } else {
        Ask::default()
    };
    let db = env.d1(bindings::MEASURE).map_err(internal)?;
    let (mut rollup_rows, mut visitors, mut messages) = (0, 0, 0);
    let cursor = ask.cursor.unwrap_or(Cursor::rollup(0));
    let next = match (cursor.phase.as_str(), cursor.page, cursor.after) {
        ("rollup", Some(page), None) => {
            let (flush, found) = rollup_page(&db, account, page).await?;
            rollup_rows = found;
            if !flush.deltas.is_empty() {
                bindings::send_json::<_, _, bool>(
                    env,
                    &summary_instance(account),
                    &Totals::Flush,
                    &flush,
                )
                .await?;
            }
            Some(if found == ROLLUP_PAGE {
                Cursor::rollup(page + 1)
            } else {
                Cursor::visitors("")
            })
        }
        ("visitors", None, Some(after)) => {
            let rules = LedgerRules::of(
                &snapshots::load(env, account, now_ms(&req, env))
                    .await?
                    .snapshot,
            );
            let statement = db
                .prepare(
                    "SELECT visitor FROM (SELECT visitor FROM touch WHERE account = ?1 AND visitor > ?2 \
                     UNION SELECT visitor FROM conversion WHERE account = ?1 AND visitor > ?2) \
                     ORDER BY visitor LIMIT ?3",
                )
                .bind(&[account.into(), after.as_str().into(), (VISITOR_PAGE as f64).into()])
                .map_err(internal)?;
            let page: Vec<(String,)> = rows(statement).await?;
            for (visitor,) in &page {
                messages += migrate_visitor(env, &db, account, visitor, &rules).await?;
            }
            visitors = page.len();
            match page.last() {
                Some((last,)) if page.len() == VISITOR_PAGE => Some(Cursor::visitors(last)),
                _ => None,
            }
        }
        _ => {
            return Err(ApiError::invalid(
                "cursor",
                "{\"phase\": \"rollup\", \"page\": n} or {\"phase\": \"visitors\", \"after\": id}",
            ))
        }
    };
    json(
        200,
        &serde_json::json!({
            "account": account, "done": next.is_none(), "cursor": next,
            "rollupRows": rollup_rows, "visitors": visitors, "messages": messages,
        }),
    )
}
