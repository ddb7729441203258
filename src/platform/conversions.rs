//! Conversions in (R-M2) and measurements out (R-M5): the tag's and the brand server's
//! conversion reports, a visitor's erasure and a deleted campaign's measurements.

use super::bindings::{self, visit_instance, Call, Visit};
use super::http::{
    allow_origin, body, check_origin, cookie, json, require_json, Answer, VISITOR_COOKIE,
};
use super::queue::send;
use super::{internal, now_ms, snapshots};
use crate::api::{check_id, ApiError, MAX_SMALL_DEPTH};
use crate::engine::snapshot::Snapshot;
use crate::measure::conversion::{Conversion, ConversionIn};
use crate::measure::Message;
use serde_json::json;
use std::collections::BTreeSet;
use worker::{D1Database, Env, Request};

/// Largest conversion body, bytes.
const MAX_CONVERSION_BODY: usize = 4 * 1024;

/// The goals the account's published campaigns name.
fn goals(snap: &Snapshot) -> BTreeSet<&str> {
    snap.campaigns
        .iter()
        .filter_map(|c| c.spec.goal.as_deref())
        .collect()
}

/// R-M2: `POST /v1/conversions/{account}` (the tag: the visitor from `visitorId` or the
/// first-party cookie) and `POST /v1/admin/accounts/{account}/conversions` (the brand's server,
/// admin token: `visitorId` required). Checked, then queued: 202, counted once per id.
pub async fn record(mut req: Request, env: &Env, account: &str, from_tag: bool) -> Answer {
    check_id("account", account)?;
    require_json(&req)?;
    let bytes = body(&mut req, MAX_CONVERSION_BODY, MAX_SMALL_DEPTH).await?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    let now = now_ms(&req, env);
    let loaded = snapshots::load(env, account, now).await?;
    let snap = &loaded.snapshot;
    let origin = if from_tag {
        check_origin(&req, &snap.account.spec)?
    } else {
        None
    };
    let reported = ConversionIn::from_json(value, &goals(snap))
        .map_err(|(field, reason)| ApiError::invalid(field, reason))?;
    let visitor = match (&reported.visitor_id, from_tag) {
        (Some(v), _) => v.clone(),
        (None, true) => cookie(&req, VISITOR_COOKIE)
            .filter(|v| crate::api::valid_id(v))
            .ok_or_else(|| ApiError::invalid("visitorId", "required (no visitor cookie)"))?,
        (None, false) => return Err(ApiError::invalid("visitorId", "required")),
    };
    let id = reported.id.clone();
    let conversion = Conversion {
        account: account.to_string(),
        visitor,
        at_ms: now,
        day: snap.account.day(now),
        reported,
    };
    send(env, &Message::Conversion(conversion))
        .await
        .map_err(internal)?;
    let mut resp = json(202, &json!({ "accepted": true, "id": id }))?;
    allow_origin(&mut resp, origin);
    Ok(resp)
}

/// Deletes the account's rows whose `column` is `value` from each of `tables`, in one
/// transaction; the rows deleted per table.
async fn delete(
    db: &D1Database,
    tables: &[&str],
    column: &str,
    account: &str,
    value: &str,
) -> Result<Vec<usize>, ApiError> {
    let statements = tables
        .iter()
        .map(|table| {
            db.prepare(format!(
                "DELETE FROM {table} WHERE account = ?1 AND {column} = ?2"
            ))
            .bind(&[account.into(), value.into()])
        })
        .collect::<worker::Result<Vec<_>>>()
        .map_err(internal)?;
    let results = db.batch(statements).await.map_err(internal)?;
    Ok(results
        .iter()
        .map(|r| r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0))
        .collect())
}

/// Reads one text column.
async fn texts(statement: worker::D1PreparedStatement) -> Result<Vec<String>, ApiError> {
    let rows: Vec<Vec<String>> = statement.raw().await.map_err(internal)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.into_iter().next())
        .collect())
}

/// R-M5: `DELETE /v1/admin/accounts/{account}/visitors/{visitor}`: erases a visitor: its live
/// visits' and calls' objects, its history, its conversions; and marks it erased, so that a
/// message written before the erasure and delivered after stores nothing.
pub async fn erase_visitor(req: &Request, env: &Env, account: &str, visitor: &str) -> Answer {
    check_id("visitorId", visitor)?;
    let now = now_ms(req, env) as f64;
    let db = env.d1(bindings::MEASURE).map_err(internal)?;
    let args = [account.into(), visitor.into()];
    db.prepare(
        "INSERT INTO erased (account, visitor, erased_ms) VALUES (?1, ?2, ?3) \
         ON CONFLICT DO UPDATE SET erased_ms = max(erased_ms, excluded.erased_ms)",
    )
    .bind(&[account.into(), visitor.into(), now.into()])
    .map_err(internal)?
    .run()
    .await
    .map_err(internal)?;
    let visits = texts(
        db.prepare(
            "SELECT DISTINCT visit FROM touch WHERE account = ?1 AND visitor = ?2 AND metric = 'visits'",
        )
        .bind(&args)
        .map_err(internal)?,
    )
    .await?;
    let calls = texts(
        db.prepare("SELECT instance FROM call_index WHERE account = ?1 AND visitor = ?2")
            .bind(&args)
            .map_err(internal)?,
    )
    .await?;
    for visit in &visits {
        bindings::send::<_, ()>(
            env,
            &visit_instance(account, visit),
            &Visit::Erase,
            &[],
            None,
        )
        .await?;
    }
    for call in &calls {
        bindings::send::<_, ()>(env, call, &Call::Erase, &[], None).await?;
    }
    let deleted = delete(
        &db,
        &["touch", "conversion", "call_index"],
        "visitor",
        account,
        visitor,
    )
    .await?;
    json(
        200,
        &json!({
            "account": account, "visitorId": visitor,
            "visits": visits.len(), "calls": calls.len(),
            "historyRows": deleted.first(), "conversions": deleted.get(1),
        }),
    )
}

/// R-M5: `DELETE /v1/admin/accounts/{account}/campaigns/{campaign}/measurements`: a campaign
/// that has left the live snapshot loses its rollups and its place in visitors' histories
/// (409 while it is still published).
pub async fn delete_campaign(req: &Request, env: &Env, account: &str, campaign: &str) -> Answer {
    check_id("campaignId", campaign)?;
    let loaded = snapshots::load(env, account, now_ms(req, env)).await?;
    if loaded
        .snapshot
        .campaigns
        .iter()
        .any(|c| c.spec.id == campaign)
    {
        return Err(ApiError::StillPublished(campaign.to_string()));
    }
    let db = env.d1(bindings::MEASURE).map_err(internal)?;
    let deleted = delete(&db, &["rollup", "touch"], "campaign", account, campaign).await?;
    json(
        200,
        &json!({
            "account": account, "campaignId": campaign,
            "rollupRows": deleted.first(), "historyRows": deleted.get(1),
        }),
    )
}
