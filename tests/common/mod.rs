//! Shared helpers for native tests over fixtures/.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use edge_engage::engine::agent::Availability;
use edge_engage::engine::snapshot::{compile, load, Snapshot};
use serde_json::Value;

pub fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("fixtures/{path}: {e}"))
}

/// The demo snapshot as the worker decides with it: published (compiled with every check),
/// then loaded as an isolate reads it from KV.
pub fn demo() -> Snapshot {
    let text = fixture("demo/snapshot.json");
    compile(&text, "demo", 1).expect("demo snapshot publishes");
    load(&text, "demo", 1).expect("demo snapshot loads")
}

pub fn availability(v: &Value) -> Availability {
    serde_json::from_value(v.clone()).expect("availability")
}

/// A candidate `id` of campaign `c-{id}`, revision 1, high priority; an offline conversation is
/// offline, any other online.
pub fn candidate<'a>(
    id: &str,
    class: edge_engage::engine::arbitrate::Class,
    proactive: bool,
    conversation: bool,
    line_of_business: impl Into<Option<&'a str>>,
) -> edge_engage::engine::visit::VisitCandidate<'static> {
    use edge_engage::engine::agent::AgentState;
    use edge_engage::engine::arbitrate::Class;
    edge_engage::engine::visit::VisitCandidate {
        engagement_id: id.to_string().into(),
        campaign_id: format!("c-{id}").into(),
        revision: 1,
        priority: edge_engage::engine::snapshot::Priority::High,
        class,
        state: if class == Class::OfflineConversation {
            AgentState::Offline
        } else {
            AgentState::Online
        },
        proactive,
        conversation,
        line_of_business: line_of_business.into().map(|l| l.to_string().into()),
        entry_point: None,
    }
}

/// Visit settings: a 30-minute timeout, default weights, the proactive conversation cap and
/// the decline policy given.
pub fn policy(
    conversation_cap: Option<u8>,
    decline: edge_engage::engine::snapshot::DeclinePolicy,
) -> edge_engage::engine::visit::VisitPolicy {
    edge_engage::engine::visit::VisitPolicy {
        caps: edge_engage::engine::snapshot::ProactiveCaps {
            conversation: conversation_cap,
            ..Default::default()
        },
        decline,
        weights: Default::default(),
        timeout_minutes: 30,
    }
}

/// A visit request on `page` with three zones: `right` (a chat), `left` (a messaging
/// engagement) and `embedded:banner` (content, not a conversation), none proactive.
pub fn three_zone_request(
    page: &str,
    now_ms: u64,
) -> edge_engage::engine::visit::VisitRequest<'static> {
    use edge_engage::engine::arbitrate::Class;
    visit_request(
        page,
        now_ms,
        &policy(None, Default::default()),
        vec![
            (
                "right",
                vec![candidate(
                    "chat",
                    Class::OnlineConversation,
                    false,
                    true,
                    None,
                )],
            ),
            (
                "left",
                vec![candidate(
                    "msg",
                    Class::ContentOrMessaging,
                    false,
                    true,
                    None,
                )],
            ),
            (
                "embedded:banner",
                vec![candidate(
                    "banner",
                    Class::ContentOrMessaging,
                    false,
                    false,
                    None,
                )],
            ),
        ],
    )
}

/// A visit request of account `acme`, visitor `visitor`, visit `visit` on page `page` of
/// `https://acme.example/`, explaining, with `zones` and their candidates.
pub fn visit_request(
    page: &str,
    now_ms: u64,
    policy: &edge_engage::engine::visit::VisitPolicy,
    zones: Vec<(
        &str,
        Vec<edge_engage::engine::visit::VisitCandidate<'static>>,
    )>,
) -> edge_engage::engine::visit::VisitRequest<'static> {
    edge_engage::engine::visit::VisitRequest {
        account: "acme".into(),
        visitor_id: "visitor".into(),
        visit_id: "visit".into(),
        page_id: page.to_string().into(),
        now_ms,
        day: "2027-01-15".into(),
        page_url: format!("https://acme.example/{page}"),
        attributes: Value::Null,
        policy: policy.clone(),
        control: Default::default(),
        explain: true,
        zones: zones
            .into_iter()
            .map(|(z, c)| edge_engage::engine::visit::VisitZone {
                zone: z.to_string().into(),
                candidates: c,
            })
            .collect(),
    }
}

/// The identity secret the native vectors' account has (the worker tests rotate a real one).
pub fn identity_secret() -> edge_engage::tenancy::identity::IdentitySecret {
    edge_engage::tenancy::identity::IdentitySecret {
        kid: "k1".into(),
        secret: "0".repeat(64),
        created_ms: 0,
    }
}

/// The token a vector's page `identity` names (fixtures/decisions.json's comment), minted at
/// `now_s` for `account` with `secret`.
pub fn identity_token(
    kind: &str,
    account: &str,
    now_s: i64,
    secret: &edge_engage::tenancy::identity::IdentitySecret,
) -> String {
    use edge_engage::tenancy::identity::{base64url_encode, sign, IdentitySecret};
    let claims =
        |aud: &str, exp: i64| serde_json::json!({ "aud": aud, "exp": exp, "sub": "cust-1" });
    match kind {
        "signed" => sign(secret, &claims(account, now_s + 600)).unwrap(),
        "forged" => {
            let other = IdentitySecret {
                secret: "1".repeat(64),
                ..secret.clone()
            };
            sign(&other, &claims(account, now_s + 600)).unwrap()
        }
        "expired" => sign(secret, &claims(account, now_s - 3600)).unwrap(),
        "other-account" => sign(secret, &claims("other", now_s + 600)).unwrap(),
        "alg-none" => format!(
            "{}.{}.",
            base64url_encode(br#"{"alg":"none","typ":"JWT"}"#),
            base64url_encode(claims(account, now_s + 600).to_string().as_bytes())
        ),
        other => panic!("unknown identity kind {other}"),
    }
}

/// What a fresh visit holds, stores and counts after being told of a decision made without it:
/// `request` with what the answer `shown` (context ids as given), page context
/// `page-ctx`. The visit, the record's answer, the contexts stored, the facts, the tally.
pub fn told(
    request: edge_engage::engine::visit::VisitRequest<'_>,
    shown: &[edge_engage::engine::visit::Chosen],
) -> (
    edge_engage::engine::visit::VisitState,
    edge_engage::engine::visit::VisitAnswer,
    Vec<(String, edge_engage::engine::events::ContextRecord)>,
    Option<edge_engage::measure::funnel::FactBatch>,
    edge_engage::measure::funnel::Tally,
) {
    let rec = edge_engage::engine::visit::Recorded {
        request,
        page_context_id: "page-ctx".into(),
        shown: shown.to_vec(),
    };
    let mut visit = edge_engage::engine::visit::VisitState::default();
    let answer = visit.record(&rec).unwrap();
    let mut tally = edge_engage::measure::funnel::Tally::default();
    let batch = tally.decided(
        &rec.request,
        &answer,
        visit.first_activity_ms,
        &rec.request.day,
    );
    let contexts = answer.new_contexts(&rec.request);
    (visit, answer, contexts, batch, tally)
}

/// Context ids as a visit's object would issue them, numbered: `ctx-1`, `ctx-2`, …
pub fn ids() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("ctx-{n}")
    }
}
