//! `GET|POST /v1/decide`: what a tag request shows (R-D1..R-D5), explained with `?explain=1`
//! and a key with the `explain` scope (R-P3), authenticated only by a verified identity token
//! (R-S2), rate-limited per client and account before anything changes (R-S3).

use super::auth;
use super::bindings::{self, visit_instance, Visit, TEST_FAULT};
use super::http::{
    allow_origin, body, check_origin, cookie, header, json, label, label_view, require_json,
    Answer, VISITOR_COOKIE,
};
use super::{handoff, limits, now_ms, random_id, snapshots};
use crate::api::decide::{DecideRequest, DecideResponse, Degraded};
use crate::api::{check_id, ApiError, MAX_DECIDE_BODY, MAX_DECIDE_DEPTH};
use crate::engine::candidate::Inputs;
use crate::engine::plan::{fallback, finish, plan, After, Page, Planned, Step};
use crate::engine::visit::{VisitAnswer, VisitRequest};
use crate::engine::visitor::Edge;
use crate::faults::{Fault, Faults, HandoffOf};
use crate::tenancy::identity;
use crate::tenancy::keys::Scope;
use crate::tenancy::limits::Limit;
use worker::{Context, Env, Method, Request};

/// Geo from the edge: `request.cf` (country, region, city), which Cloudflare fills and clients
/// cannot change. `wrangler dev` has no real geo (its placeholder says Austin, US), so local
/// setups set `GEO_FROM_HEADERS=true` and pass `CF-IPCountry` / `CF-Region` / `CF-IPCity`
/// headers instead; production leaves it unset.
pub(super) fn edge(req: &Request, env: &Env) -> Edge {
    let h = req.headers();
    let cf = req.cf();
    let from_headers = bindings::flag(env, bindings::GEO_FROM_HEADERS);
    let pick = |name: &str, from_cf: Option<String>| {
        if from_headers {
            header(h, name)
        } else {
            from_cf
        }
    };
    Edge {
        country: pick("CF-IPCountry", cf.and_then(|c| c.country())),
        region: pick("CF-Region", cf.and_then(|c| c.region())),
        city: pick("CF-IPCity", cf.and_then(|c| c.city())),
        user_agent: header(h, "User-Agent"),
    }
}

/// Cookies that keep the ids where the worker serves the brand's own host (first party).
const VISIT_COOKIE: &str = "ee_sid";

/// Handles a decision request: parse, [`plan`], at most one call to the visit's object (which
/// applies the visit rules and reserves proactive displays, R-D4, R-D6, R-D7), then
/// [`finish`] and respond.
pub async fn handle(mut req: Request, env: &Env, ctx: &Context) -> Answer {
    let url = req
        .url()
        .map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let explain = url.query_pairs().any(|(k, v)| k == "explain" && v == "1");
    let mut request = if req.method() == Method::Get {
        DecideRequest::from_query(
            url.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        )?
    } else {
        require_json(&req)?;
        DecideRequest::from_json(&body(&mut req, MAX_DECIDE_BODY, MAX_DECIDE_DEPTH).await?)?
    };
    // Ids the tag did not send come from the first-party cookies, else are issued here.
    let mut issued = false;
    for (slot, name) in [
        (&mut request.visitor_id, VISITOR_COOKIE),
        (&mut request.visit_id, VISIT_COOKIE),
    ] {
        if slot.is_none() {
            *slot = cookie(&req, name).or_else(|| {
                issued = true;
                Some(random_id())
            });
        }
    }
    check_id("account", &request.account)?;
    if explain {
        auth::require_scope(&req, env, &request.account, Scope::Explain).await?;
    }
    limits::check(&req, env, Limit::Tag, &[&request.account]).await?;
    let now = now_ms(&req, env);
    let faults = snapshots::ViewFaults::of(&req, env);
    let loaded = snapshots::load_for_tag(env, ctx, &request.account, now, faults).await?;
    let account = request.account.clone();
    let parsed = request.parse(&edge(&req, env), |token| {
        identity::verify(token, &account, &loaded.identity, now).is_ok()
    })?;
    let origin = check_origin(&req, &loaded.snapshot.account.spec)?;
    let snap = &loaded.snapshot;
    let input = Inputs {
        visitor: &parsed.visitor,
        zones: &parsed.zones,
        now: jiff::Timestamp::from_millisecond(i64::try_from(now).unwrap_or(0)).unwrap_or_default(),
        availability: &loaded.availability,
        explain,
    };
    let page = Page {
        page_id: &parsed.page_id,
        declined: parsed.declined.as_ref(),
        preview: url.query_pairs().any(|(k, v)| k == "visit" && v == "0"),
    };
    let (vid, sid) = (&parsed.visitor.visitor_id, &parsed.visitor.visit_id);
    let mut degraded = loaded.unreadable;
    let Planned { eval, step } = plan(snap, &input, &page, &mut random_id);
    let answer = match step {
        Step::Answer { answer, after } => {
            tell_after(&req, env, ctx, &parsed.account, after);
            answer
        }
        Step::Ask(vreq) => match ask_visit(env, &parsed.account, &vreq, fault(&req, env)).await {
            Ok(answer) => answer,
            Err(e) => {
                worker::console_error!("visit object unavailable, no proactive engagements: {e:?}");
                degraded = Some(Degraded::VisitUnavailable);
                fallback(vreq, &mut random_id)
            }
        },
    };
    let decision = finish(snap, eval, answer, &input, &mut random_id);
    let body = DecideResponse {
        account: &parsed.account,
        visitor_id: vid,
        visit_id: sid,
        visit_timeout_minutes: snap.account.spec.visit_timeout_minutes,
        decision: &decision,
        degraded,
    };
    let mut resp = json(200, &body)?;
    let outcome = match (degraded, decision.engagements.is_empty()) {
        (Some(reason), _) => reason.code(),
        (None, _) if decision.control_groups.account => "control",
        (None, true) => "none",
        (None, false) => "shown",
    };
    allow_origin(&mut resp, origin);
    label(&mut resp, &parsed.account, snap.revision, outcome);
    label_view(&mut resp, loaded.source.name());
    #[cfg(feature = "test-clock")]
    {
        // R-S4's tests read this isolate's cache and memory: accounts, estimated bytes, and
        // the wasm memory's size.
        let (accounts, bytes) = snapshots::usage();
        let memory = core::arch::wasm32::memory_size(0) * 65_536;
        resp.headers_mut()
            .set("X-Test-Cache", &format!("{accounts} {bytes} {memory}"))
            .map_err(super::internal)?;
    }
    if issued {
        let timeout = u32::from(snap.account.spec.visit_timeout_minutes) * 60;
        let h = resp.headers_mut();
        for c in [
            format!("{VISITOR_COOKIE}={vid}; Max-Age=34560000; Path=/; Secure; SameSite=Lax"),
            format!("{VISIT_COOKIE}={sid}; Max-Age={timeout}; Path=/; Secure; SameSite=Lax"),
        ] {
            h.append("Set-Cookie", &c)
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        }
    }
    Ok(resp)
}

/// Tells a visit's object, after the answer (`wait_until`), of a decision it was not asked
/// for ([`After`]): a held-out visitor's page view to count, or a decision made on the carried
/// declines to record, with only the candidates it reads ([`VisitRequest::trimmed`]). A lost
/// count loses only itself and says so in the log; a record goes through [`handoff`], whose
/// faults are `record-*` (docs/api.md).
fn tell_after(req: &Request, env: &Env, ctx: &Context, account: &str, after: After<'_>) {
    match after {
        After::Nothing => {}
        After::CountHeldOut(vreq) => {
            count_held_out(ctx, env, account, &vreq, fault(req, env));
        }
        After::Record(record) => {
            if let Ok(text) = serde_json::to_string(&record) {
                let instance = visit_instance(account, &record.request.visit_id);
                let fault = auth::test_faults(req, env).handoff(HandoffOf::Record);
                let kind = (Visit::Record, HandoffOf::Record);
                handoff::after_answer(env, ctx, instance, kind, text, "decision", fault);
            }
        }
    }
}

/// Test builds only: the fault a decision forwards to its visit's object, if any (the first
/// of those an object acts on that the request names; docs/api.md).
fn fault(req: &Request, env: &Env) -> Option<Fault> {
    auth::test_faults(req, env).find(|f| {
        matches!(
            f,
            Fault::VisitThrows | Fault::ConsumerRetry | Fault::QueueRefuses | Fault::HoldSend
        )
        .then_some(f)
    })
}

/// R-M1, R-M3: an account-control visitor's page view, counted by its visit after the answer.
fn count_held_out(
    ctx: &Context,
    env: &Env,
    account: &str,
    vreq: &VisitRequest<'_>,
    fault: Option<Fault>,
) {
    let Ok(body) = serde_json::to_string(vreq) else {
        return;
    };
    let (env, instance) = (env.clone(), visit_instance(account, &vreq.visit_id));
    ctx.wait_until(async move {
        if let Err(e) = send_decide(&env, &instance, body, fault).await {
            worker::console_error!("control visit not counted: {e:?}");
        }
    });
}

/// Sends a decide request (`body`) to a visit's object.
async fn send_decide(
    env: &Env,
    instance: &str,
    body: String,
    fault: Option<Fault>,
) -> Result<VisitAnswer, ApiError> {
    let forwarded = fault.and_then(|f| Faults::from(f).header());
    let headers = forwarded.as_deref().map(|f| [(TEST_FAULT, f)]);
    let headers: &[(&str, &str)] = headers.as_ref().map_or(&[], |h| h);
    Ok(bindings::send(env, instance, &Visit::Decide, headers, Some(&body)).await?)
}

async fn ask_visit(
    env: &Env,
    account: &str,
    vreq: &VisitRequest<'_>,
    fault: Option<Fault>,
) -> Result<VisitAnswer, ApiError> {
    let body = serde_json::to_string(vreq).map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let instance = visit_instance(account, &vreq.visit_id);
    send_decide(env, &instance, body, fault).await
}
