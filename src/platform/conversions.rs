//! Conversions in (R-M2) and measurements out (R-M5): the tag's and the brand server's
//! conversion reports, a visitor's erasure and a deleted campaign's measurements.

use super::bindings::{
    self, ledger_instance, shard_instance, summary_instance, visit_instance, Call, Ledger, Totals,
    Visit,
};
use super::http::{
    allow_origin, body, check_origin, cookie, json, require_json, Answer, VISITOR_COOKIE,
};
use super::queue::send;
use super::{internal, now_ms, random_id, snapshots};
use crate::api::{check_id, ApiError, MAX_SMALL_DEPTH};
use crate::engine::snapshot::Snapshot;
use crate::measure::conversion::{Conversion, ConversionIn};
use crate::measure::ledger::{Erasure, ToErase};
use crate::measure::totals::{shard_of, CampaignGone, ToShard};
use crate::measure::Message;
use serde_json::json;
use std::collections::BTreeSet;
use worker::{Env, Request};

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

/// R-M5: `DELETE /v1/admin/accounts/{account}/visitors/{visitor}`: erases a visitor: its
/// ledger (history, conversions) and its share of the account's sums, then its live visits'
/// and calls' objects. The ledger keeps the erasure for a week, so that a message written
/// before it and delivered after changes nothing.
pub async fn erase_visitor(req: &Request, env: &Env, account: &str, visitor: &str) -> Answer {
    check_id("visitorId", visitor)?;
    let now = now_ms(req, env);
    let erase = ToErase {
        id: format!("erase:{account}:{visitor}:{now}:{}", random_id()),
        now_ms: now,
    };
    let ledger = ledger_instance(account, visitor);
    let erasure: Erasure = bindings::send_json(env, &ledger, &Ledger::Erase, &erase).await?;
    let shard = shard_of(&erasure.id);
    let to = ToShard {
        account: account.to_string(),
        shard,
        changes: vec![(erasure.id.clone(), erasure.deltas.clone())],
        now_ms: worker::Date::now().as_millis(),
    };
    bindings::send_json::<_, _, Vec<String>>(
        env,
        &shard_instance(account, shard),
        &Totals::Apply,
        &to,
    )
    .await?;
    for visit in &erasure.visits {
        bindings::send::<_, ()>(
            env,
            &visit_instance(account, visit),
            &Visit::Erase,
            &[],
            None,
        )
        .await?;
    }
    for call in &erasure.calls {
        bindings::send::<_, ()>(env, call, &Call::Erase, &[], None).await?;
    }
    json(
        200,
        &json!({
            "account": account, "visitorId": visitor,
            "visits": erasure.visits.len(), "calls": erasure.calls.len(),
            "conversions": erasure.conversions, "rowsChanged": erasure.deltas.0.len(),
        }),
    )
}

/// R-M5: `DELETE /v1/admin/accounts/{account}/campaigns/{campaign}/measurements`: a campaign
/// that has left the live snapshot loses its rows in the account's sums (409 while it is
/// still published); what is still on its way of it is dropped when it arrives.
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
    let gone = CampaignGone {
        campaign: campaign.to_string(),
        now_ms: worker::Date::now().as_millis(),
    };
    let (funnel, history): (usize, usize) = bindings::send_json(
        env,
        &summary_instance(account),
        &Totals::DeleteCampaign,
        &gone,
    )
    .await?;
    json(
        200,
        &json!({
            "account": account, "campaignId": campaign,
            "rollupRows": funnel, "historyRows": history,
        }),
    )
}
