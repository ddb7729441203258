//! Admin API, each route behind a key of its account with the route's scope (R-S1), the key
//! API behind the root token: publish and read back snapshots (R-P1), push and read
//! agent availability (R-P2).

use super::auth;
use super::bindings::{
    self, account_instance, click_instance, visit_instance, Account, Visit, ACCOUNT_HEADER,
    CLICK_SHARDS, IF_MATCH,
};
use super::http::{body, header, json, require_json, Answer};
use super::{internal, now_ms, snapshots};
use crate::api::admin::{
    add_clicks, AccountView, AvailabilityPush, Base, ClickTotals, PublishAnswer,
    MAX_AVAILABILITY_BODY,
};
use crate::api::routes::Route;
use crate::api::{check_id, ApiError, MAX_SMALL_DEPTH, MAX_SNAPSHOT_BODY, MAX_SNAPSHOT_DEPTH};
use crate::engine::agent::{Availability, SkillAvailability};
use crate::engine::snapshot::{compile, Source};
use crate::engine::visit::VisitState;
use serde_json::json;
use worker::{Env, Request, Response};

/// Admin routes `/v1/admin/accounts/{account}/…`; `param` is the route's second parameter
/// (skill or visit id).
pub async fn handle(req: Request, env: &Env, route: Route, account: &str, param: &str) -> Answer {
    check_id("account", account)?;
    auth::require(&req, env, route, account).await?;
    match route {
        Route::KeyCreate | Route::KeyList | Route::KeyRotate | Route::KeyRevoke => {
            if !param.is_empty() {
                check_id("key", param)?;
            }
            super::keys::handle(req, env, route, account, param).await
        }
        Route::IdentitySecret => super::keys::rotate_identity(env, account).await,
        Route::SnapshotRead => read_snapshot(env, account).await,
        Route::SnapshotPublish => publish(req, env, account).await,
        Route::AvailabilityRead => {
            let view = snapshots::fetch_view(env, account).await?;
            availability_answer(account, view.revision, &view.availability)
        }
        Route::VisitRead => {
            check_id("visitId", param)?;
            let instance = visit_instance(account, param);
            let visit: VisitState = bindings::send(env, &instance, &Visit::Read, &[], None)
                .await
                .map_err(|e| match e.status() {
                    Some(404) => ApiError::NotFound("visit".to_string()),
                    _ => e.into(),
                })?;
            json(
                200,
                &json!({ "account": account, "visitId": param, "visit": visit }),
            )
        }
        Route::OffsiteLinks => offsite_links(&req, env, account).await,
        Route::Clicks => json(
            200,
            &json!({ "account": account, "clicks": click_totals(env, account).await? }),
        ),
        Route::Report => super::report::report(req, env, account).await,
        Route::ConversionAdmin => super::conversions::record(req, env, account, false).await,
        Route::EraseVisitor => super::conversions::erase_visitor(&req, env, account, param).await,
        Route::DeleteCampaignMeasurements => {
            super::conversions::delete_campaign(&req, env, account, param).await
        }
        Route::MigrateMeasurements => super::migrate::migrate(req, env, account).await,
        Route::AvailabilityPush => push_availability(req, env, account, None).await,
        Route::SkillAvailabilityPush => push_availability(req, env, account, Some(param)).await,
        _ => Err(ApiError::NotFound("route".to_string())),
    }
}

/// An account's offsite click totals: the sum of its click shards' and of what its own object
/// counted before the shards.
async fn click_totals(env: &Env, account: &str) -> Result<ClickTotals, ApiError> {
    let instances = std::iter::once(account_instance(account))
        .chain((0..CLICK_SHARDS).map(|shard| click_instance(account, shard)));
    let mut totals = ClickTotals::new();
    for instance in instances {
        add_clicks(
            &mut totals,
            bindings::send(env, &instance, &Account::Clicks, &[], None).await?,
        );
    }
    Ok(totals)
}

/// The public link of every offsite engagement of the live snapshot (R-O1).
async fn offsite_links(req: &Request, env: &Env, account: &str) -> Answer {
    let loaded = snapshots::load(env, account, now_ms(req, env)).await?;
    let url = req.url().map_err(internal)?;
    let origin = url.origin().ascii_serialization();
    let snap = &loaded.snapshot;
    let links: Vec<_> = snap
        .engagements
        .iter()
        .filter(|e| e.spec.source == Source::Offsite)
        .map(|e| {
            json!({
                "engagementId": e.spec.id,
                "name": e.spec.name,
                "campaignId": snap.campaign_of(e).map(|c| c.spec.id.as_str()),
                "enabled": e.spec.enabled,
                "channelSource": e.spec.offsite.as_ref().and_then(|o| o.channel_source.as_deref()),
                "url": format!("{origin}/o/{account}/{}", e.spec.id),
            })
        })
        .collect();
    json(
        200,
        &json!({ "account": account, "revision": snap.revision, "links": links }),
    )
}

async fn read_snapshot(env: &Env, account: &str) -> Answer {
    let (revision, text) = snapshots::read_text(env, account).await?;
    let mut resp = Response::ok(text).map_err(internal)?;
    let h = resp.headers_mut();
    h.set("Content-Type", "application/json")
        .map_err(internal)?;
    h.set("ETag", &format!("\"{revision}\""))
        .map_err(internal)?;
    Ok(resp)
}

/// R-P1: validate, then publish under the revision check; a refusal changes nothing.
async fn publish(mut req: Request, env: &Env, account: &str) -> Answer {
    let if_match = header(req.headers(), IF_MATCH).ok_or(ApiError::PreconditionRequired)?;
    let base = Base::parse(&if_match).ok_or_else(|| {
        ApiError::invalid(
            IF_MATCH,
            "must be a revision number, 0 for a first publish, or *",
        )
    })?;
    require_json(&req)?;
    let bytes = body(&mut req, MAX_SNAPSHOT_BODY, MAX_SNAPSHOT_DEPTH).await?;
    let text =
        String::from_utf8(bytes).map_err(|_| ApiError::MalformedJson("not UTF-8".to_string()))?;
    let compiled = compile(&text, account, 0).map_err(ApiError::InvalidSnapshot)?;
    let text_len = text.len();
    let base = base.header();
    let headers = [(ACCOUNT_HEADER, account), (IF_MATCH, base.as_str())];
    let instance = account_instance(account);
    let answer: PublishAnswer =
        bindings::send(env, &instance, &Account::Publish, &headers, Some(&text))
            .await
            .map_err(|e| {
                e.or_refused(ApiError::Unavailable(
                    "publish did not complete; the live snapshot is unchanged".into(),
                ))
            })?;
    if !answer.published {
        return Err(ApiError::RevisionConflict {
            current: answer.revision,
        });
    }
    let body = json!({
        "account": account,
        "revision": answer.revision,
        "campaigns": compiled.campaigns.len(),
        "engagements": compiled.engagements.len(),
        "controlGroups": compiled.control_groups(),
    });
    snapshots::published(account, compiled, answer.revision, text_len).await;
    json(200, &body)
}

/// R-P2: store availability for known skills; this isolate sees it at once, others within
/// the refresh bound.
async fn push_availability(
    mut req: Request,
    env: &Env,
    account: &str,
    skill: Option<&str>,
) -> Answer {
    require_json(&req)?;
    let bytes = body(&mut req, MAX_AVAILABILITY_BODY, MAX_SMALL_DEPTH).await?;
    let now = now_ms(&req, env);
    let loaded = snapshots::load(env, account, now).await?;
    let (command, payload, ids): (Account, String, Vec<String>) = match skill {
        None => {
            let push: AvailabilityPush = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
            let ids = push.skills.keys().cloned().collect();
            (
                Account::Availability,
                serde_json::to_string(&push.skills).map_err(|e| internal(e.into()))?,
                ids,
            )
        }
        Some(id) => {
            let one: SkillAvailability = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
            (
                Account::SkillAvailability(id.to_string()),
                serde_json::to_string(&one).map_err(|e| internal(e.into()))?,
                vec![id.to_string()],
            )
        }
    };
    if let Some(unknown) = ids.iter().find(|id| loaded.snapshot.skill(id).is_none()) {
        return Err(ApiError::invalid(
            "skills",
            format!(
                "no skill \"{unknown}\" in the live snapshot (revision {})",
                loaded.snapshot.revision
            ),
        ));
    }
    let instance = account_instance(account);
    let view: AccountView = bindings::send(env, &instance, &command, &[], Some(&payload))
        .await
        .map_err(|e| e.or_refused(ApiError::Unavailable("availability was not stored".into())))?;
    let revision = view.revision;
    let skills = snapshots::written(env, account, view, now).await;
    availability_answer(account, revision, &skills)
}

/// The availability answer of the GET and PUT routes.
fn availability_answer(account: &str, revision: u64, skills: &Availability) -> Answer {
    json(
        200,
        &json!({ "account": account, "revision": revision, "skills": skills }),
    )
}
