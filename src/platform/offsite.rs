//! `GET /o/{account}/{engagement}`: an offsite engagement link (R-O1). Eligibility is decided
//! at the click and answered with a 302 to a URL the live snapshot names (R-O2..R-O5); an
//! unknown account gets a small page that names no internals. Clicks are counted per
//! engagement and outcome in the account's click shards, after the answer is sent.

use super::bindings::{self, click_instance, visit_instance, Account, Visit, CLICK_SHARDS};
use super::decide::edge;
use super::http::{cookie, header, label, redirect, VISITOR_COOKIE};
use super::queue::send;
use super::{auth, handoff, now_ms, pause, random_id, snapshots};
use crate::api::admin::ClickTotals;
use crate::api::{valid_id, ApiError};
use crate::engine::landing::LandingClick;
use crate::engine::offsite::{click, location, Handoff};
use crate::engine::snapshot::Snapshot;
use crate::engine::visitor::{PageView, Visitor};
use crate::faults::{Fault, HandoffOf};
use crate::measure::{ClickCounts, Message};
use serde_json::Map;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use worker::{Context, Env, Request, Response, Result};

/// How long clicks gather in the isolate before they are added to the account's totals.
const FLUSH_MS: u64 = 2_000;

/// Clicks of one account gathered in this isolate: the totals for the account's object and
/// the day's counts per campaign, engagement and outcome for the report (R-M1).
#[derive(Default)]
struct Pending {
    totals: ClickTotals,
    day: String,
    counts: BTreeMap<(String, String, String), u64>,
}

thread_local! {
    /// Clicks not yet sent, per account and click shard (an entry exists while a send is
    /// scheduled).
    static PENDING: RefCell<HashMap<(String, u8), Pending>> = RefCell::new(HashMap::new());
    /// The click shard this isolate adds its batches to ([`CLICK_SHARDS`]), drawn once.
    static SHARD: u8 = rand_byte() % CLICK_SHARDS;
}

/// A random byte (0 if the platform's randomness fails, which only narrows the spread).
fn rand_byte() -> u8 {
    let mut b = [0u8; 1];
    getrandom::fill(&mut b).map_or(0, |()| b[0])
}

/// The click shard a click is added to: this isolate's, or in test builds the one a
/// `click-shard-N` fault names (as another isolate's would be).
fn shard(req: &Request, env: &Env) -> u8 {
    auth::test_faults(req, env)
        .find(|f| match f {
            Fault::ClickShard(n) if n < CLICK_SHARDS => Some(n),
            _ => None,
        })
        .unwrap_or_else(|| SHARD.with(|s| *s))
}

/// Counts a click after the redirect has gone out: the first click of a quiet spell schedules
/// one send to the isolate's click shard and one queue message [`FLUSH_MS`] later with every
/// click gathered meanwhile (on the first click's day). A busy link then costs one object call
/// and one message per isolate every two seconds, not one per click, and the isolates' calls
/// are spread over the account's [`CLICK_SHARDS`] objects.
fn count_click(
    env: &Env,
    ctx: &Context,
    snap: &Snapshot,
    (engagement, outcome): (&str, &str),
    shard: u8,
    now: u64,
) {
    let account = snap.account.spec.id.as_str();
    let campaign = snap
        .engagement(engagement)
        .and_then(|e| snap.campaign_of(e))
        .map_or("", |c| c.spec.id.as_str());
    let key = (account.to_string(), shard);
    let first = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        let first = !p.contains_key(&key);
        let pending = p.entry(key.clone()).or_default();
        if first {
            pending.day = snap.account.day(now);
        }
        *pending
            .totals
            .entry(engagement.to_string())
            .or_default()
            .entry(outcome.to_string())
            .or_default() += 1;
        let key = (
            campaign.to_string(),
            engagement.to_string(),
            outcome.to_string(),
        );
        *pending.counts.entry(key).or_default() += 1;
        first
    });
    if !first {
        return;
    }
    let env = env.clone();
    ctx.wait_until(async move {
        pause(FLUSH_MS).await;
        let batch = PENDING
            .with(|p| p.borrow_mut().remove(&key))
            .unwrap_or_default();
        let (account, shard) = key;
        let instance = click_instance(&account, shard);
        if let Err(e) =
            bindings::send_json::<_, _, ()>(&env, &instance, &Account::AddClicks, &batch.totals)
                .await
        {
            worker::console_warn!("click counts for {account} lost: {e:?}");
        }
        let counts = Message::Clicks(ClickCounts {
            id: format!("{account}:clicks:{}", random_id()),
            account: account.clone(),
            day: batch.day,
            counts: batch
                .counts
                .into_iter()
                .map(|((c, e, o), n)| (c, e, o, n))
                .collect(),
        });
        if let Err(e) = send(&env, &counts).await {
            worker::console_warn!("click counts for {account} not measured: {e:?}");
        }
    });
}

/// A small HTML page for links that lead nowhere.
pub fn page(status: u16, title: &str, text: &str) -> Result<Response> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><body style=\"font-family:sans-serif;max-width:32rem;margin:4rem auto\">\
         <h1>{title}</h1><p>{text}</p></body></html>"
    );
    let mut resp = Response::from_html(html)?.with_status(status);
    resp.headers_mut().set(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    )?;
    Ok(resp)
}

/// The safe page for a link that cannot be decided now (the account's snapshot or object is
/// unavailable): 200, never cached, naming no internals; the reason goes to the log.
fn unavailable(account: &str, revision: u64, reason: &str) -> Result<Response> {
    let mut resp = page(
        200,
        "Please try again",
        "This link is briefly unavailable. Please try again in a minute.",
    )?;
    label(&mut resp, account, revision, reason);
    Ok(resp)
}

/// The page for links that match nothing.
pub fn not_found() -> Result<Response> {
    page(
        404,
        "Link not available",
        "This link is not active. Please visit the brand's website to contact them.",
    )
}

fn visitor_id(req: &Request) -> (String, bool) {
    match cookie(req, VISITOR_COOKIE) {
        Some(v) => (v, false),
        None => (random_id(), true),
    }
}

/// Handles a click.
pub async fn handle(
    req: Request,
    env: &Env,
    ctx: &Context,
    account: &str,
    engagement: &str,
) -> Result<Response> {
    if !valid_id(account) {
        return not_found();
    }
    let now = now_ms(&req, env);
    let loaded = match snapshots::load(env, account, now).await {
        Ok(l) => l,
        Err(ApiError::UnknownAccount(_)) => return not_found(),
        Err(e) => {
            worker::console_error!("offsite {account}: {e:?}");
            return unavailable(account, 0, "unavailable");
        }
    };
    // The live snapshot cannot be read and this isolate knows no earlier one with the link:
    // no snapshot URL can be trusted, so the visitor gets the worker's own page.
    if let Some(reason) = loaded.unreadable {
        if loaded.snapshot.engagement(engagement).is_none() {
            return unavailable(account, loaded.snapshot.revision, reason.code());
        }
    }
    let link = req.url()?;
    let (vid, new_visitor) = visitor_id(&req);
    let referrer = header(req.headers(), "Referer");
    let view = PageView {
        referrer: referrer.as_deref(),
        ..PageView::at(&link)
    };
    let visitor = Visitor::new(&vid, "offsite", &view, Map::new(), &edge(&req, env));
    let when =
        jiff::Timestamp::from_millisecond(i64::try_from(now).unwrap_or(0)).unwrap_or_default();
    let engagement_id = if valid_id(engagement) { engagement } else { "" };
    let Some(decision) = click(
        &loaded.snapshot,
        engagement_id,
        &vid,
        &visitor.attributes,
        when,
        &loaded.availability,
    ) else {
        return unavailable(account, loaded.snapshot.revision, "no_destination");
    };
    let counted = if loaded.snapshot.engagement(engagement_id).is_some() {
        engagement_id
    } else {
        "(unknown)"
    };
    let outcome = (counted, decision.outcome.code());
    count_click(env, ctx, &loaded.snapshot, outcome, shard(&req, env), now);
    let (visit_id, context_id) = (random_id(), random_id());
    let clicked = loaded
        .snapshot
        .engagement(engagement_id)
        .and_then(|e| Some((e, loaded.snapshot.campaign_of(e)?)));
    if let (Some(_), Some((e, campaign))) = (&decision.window, clicked) {
        let click = LandingClick::new(&loaded.snapshot, e, campaign, &vid, context_id.clone(), now);
        let instance = visit_instance(&loaded.snapshot.account.spec.id, &visit_id);
        // R-O2: the landing visit starts after the redirect; the landing page's exchange waits
        // briefly for the context (`engine::events::CONTEXT_WAIT_MS`).
        if let Ok(text) = serde_json::to_string(&click) {
            let fault = auth::test_faults(&req, env).handoff(HandoffOf::Land);
            let what = "offsite context";
            let kind = (Visit::Land, HandoffOf::Land);
            handoff::after_answer(env, ctx, instance, kind, text, what, fault);
        }
    }
    let handoff = Handoff {
        visit_id: &visit_id,
        context_id: &context_id,
    };
    let dest = location(&decision, account, link.query_pairs(), handoff);
    let mut resp = redirect(&dest)?;
    label(
        &mut resp,
        account,
        loaded.snapshot.revision,
        decision.outcome.code(),
    );
    if new_visitor {
        resp.headers_mut().set(
            "Set-Cookie",
            &format!("{VISITOR_COOKIE}={vid}; Max-Age=34560000; Path=/o/; Secure; HttpOnly; SameSite=Lax"),
        )?;
    }
    Ok(resp)
}
