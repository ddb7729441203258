//! Visit rules on the native engine: zone holding (R-D4), proactive caps (R-D6), declines and
//! invite-after-decline policies (R-D7), idle timeout, and idempotent events (R-D9).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{candidate as cand, ids, policy, visit_request as req};

use edge_engage::engine::agent::AgentState;
use edge_engage::engine::arbitrate::Class;
use edge_engage::engine::decision::Verdict;
use edge_engage::engine::events::EventName;
use edge_engage::engine::offer::CANDIDATE_FIELDS;
use edge_engage::engine::snapshot::{DeclinePolicy, Priority, ProactiveCaps};
use edge_engage::engine::visit::{
    decide_carried, Recorded, VisitAnswer, VisitCandidate, VisitPolicy, VisitRequest, VisitState,
};
use std::collections::BTreeSet;

fn shown(a: &VisitAnswer, zone: &str) -> Option<String> {
    a.chosen
        .iter()
        .find(|c| c.zone == zone)
        .map(|c| c.engagement_id.clone())
}

fn excluded_by(a: &VisitAnswer, id: &str) -> Option<String> {
    a.verdicts
        .iter()
        .find(|v| v.engagement_id == id)
        .and_then(|v| match &v.verdict {
            Verdict::Excluded { rule, .. } => Some(rule.id().to_string()),
            _ => None,
        })
}

const T0: u64 = 1_800_000_000_000;

#[test]
fn r_d6_proactive_conversation_cap_then_content_still_shows() {
    let p = policy(Some(2), DeclinePolicy::default());
    let zone = || {
        vec![(
            "proactive",
            vec![
                cand("invite", Class::OnlineConversation, true, true, "sales"),
                cand("banner", Class::ContentOrMessaging, true, false, "mkt"),
            ],
        )]
    };
    let mut s = VisitState::default();
    let mut id = ids();
    for page in ["p1", "p2"] {
        let a = s.decide(&req(page, T0, &p, zone()), &mut id);
        assert_eq!(shown(&a, "proactive").as_deref(), Some("invite"), "{page}");
    }
    let a = s.decide(&req("p3", T0, &p, zone()), &mut id);
    assert_eq!(shown(&a, "proactive").as_deref(), Some("banner"));
    assert_eq!(excluded_by(&a, "invite").as_deref(), Some("R-D6"));
    assert_eq!(s.proactive_displays.conversation, 2);
    assert_eq!(s.proactive_displays.content, 1);
}

/// Seed 002: at a total cap of 1, a chat invite already shown keeps the click-to-call (content)
/// invite away, whatever its priority; separate caps would have let it through.
#[test]
fn r_d6_total_cap_counts_every_proactive_display_together() {
    let mut p = policy(None, DeclinePolicy::default());
    p.caps = ProactiveCaps {
        total: Some(1),
        ..ProactiveCaps::default()
    };
    let invite = || cand("invite", Class::OnlineConversation, true, true, "sales");
    let mut call = cand(
        "call-invite",
        Class::ContentOrMessaging,
        true,
        false,
        "sales",
    );
    call.priority = Priority::High;
    let mut s = VisitState::default();
    let mut id = ids();
    let a = s.decide(
        &req("p1", T0, &p, vec![("proactive", vec![invite()])]),
        &mut id,
    );
    assert_eq!(shown(&a, "proactive").as_deref(), Some("invite"));
    let a = s.decide(
        &req(
            "p2",
            T0,
            &p,
            vec![("proactive", vec![call.clone(), invite()])],
        ),
        &mut id,
    );
    assert_eq!(shown(&a, "proactive"), None, "total cap of 1 reached");
    assert_eq!(excluded_by(&a, "call-invite").as_deref(), Some("R-D6"));
    assert_eq!(excluded_by(&a, "invite").as_deref(), Some("R-D6"));
    // A non-proactive engagement is not capped.
    let button = cand("button", Class::OnlineConversation, false, true, "sales");
    let a = s.decide(&req("p3", T0, &p, vec![("right", vec![button])]), &mut id);
    assert_eq!(shown(&a, "right").as_deref(), Some("button"));
    // The same visit under separate caps of 1 each shows the content invite.
    p.caps = ProactiveCaps {
        conversation: Some(1),
        content: Some(1),
        ..ProactiveCaps::default()
    };
    let a = s.decide(
        &req("p4", T0, &p, vec![("proactive", vec![call, invite()])]),
        &mut id,
    );
    assert_eq!(shown(&a, "proactive").as_deref(), Some("call-invite"));
}

#[test]
fn r_d4_zone_held_on_the_same_page_and_online_not_replaced_by_offline() {
    let p = policy(Some(1), DeclinePolicy::default());
    let mut s = VisitState::default();
    let mut id = ids();
    let online = vec![(
        "right",
        vec![cand(
            "sticky",
            Class::OnlineConversation,
            false,
            true,
            "sales",
        )],
    )];
    let first = s.decide(&req("p1", T0, &p, online), &mut id);
    let offline = vec![(
        "right",
        vec![
            cand("sticky", Class::OfflineConversation, false, true, "sales"),
            cand("app", Class::ContentOrMessaging, false, false, "mkt"),
        ],
    )];
    let asked_again = req("p1", T0 + 10_000, &p, offline.clone());
    let again = s.decide(&asked_again, &mut id);
    // R-D9: a held zone's context was issued before; it is not issued (stored) again.
    assert_eq!(again.new_contexts(&asked_again), []);
    assert_eq!(
        again.chosen,
        first
            .chosen
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.held = true;
                c
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(again.chosen[0].state, AgentState::Online);
    let next_page = s.decide(&req("p2", T0 + 20_000, &p, offline), &mut id);
    assert_eq!(shown(&next_page, "right").as_deref(), Some("app"));
}

/// Page views with buttons only (no proactive format): two conversation buttons on the left,
/// a content engagement on the right; not explained, as the tag asks.
fn buttons(page: &str, now_ms: u64, p: &VisitPolicy) -> VisitRequest<'static> {
    let mut r = req(
        page,
        now_ms,
        p,
        vec![
            (
                "left",
                vec![
                    cand("chat-a", Class::OnlineConversation, false, true, "sales"),
                    cand("chat-b", Class::OnlineConversation, false, true, "sales"),
                ],
            ),
            (
                "right",
                vec![cand(
                    "banner",
                    Class::ContentOrMessaging,
                    false,
                    false,
                    "mkt",
                )],
            ),
        ],
    );
    r.explain = false;
    r
}

/// R-D7, R-D4: a page view decided with the declines the tag carried shows what the
/// visit's object shows for that page: the closed engagement stays away, and the draws are the
/// visit's own.
#[test]
fn r_d7_carried_declines_decide_a_new_page_as_the_visit_does() {
    let p = policy(None, DeclinePolicy::default());
    let mut visit = VisitState::default();
    let r1 = buttons("p1", T0, &p);
    let first = visit.decide(&r1, &mut ids());
    let closed = shown(&first, "left").unwrap();
    let (context_id, mut record) = first
        .new_contexts(&r1)
        .iter()
        .find(|(_, r)| r.engagement_id == closed)
        .cloned()
        .unwrap();
    assert!(visit.apply_event(&context_id, &mut record, EventName::OfferDeclined));

    let next = buttons("p2", T0 + 60_000, &p);
    let by_object = visit.clone().decide(&next, &mut ids());
    let carried: BTreeSet<String> = [closed.clone()].into();
    let alone = decide_carried(&next, Some(&carried), &mut ids()).unwrap();
    assert_eq!(alone.chosen, by_object.chosen);
    assert_ne!(shown(&alone, "left"), Some(closed));
    assert!(shown(&alone, "left").is_some() && shown(&alone, "right").is_some());
}

/// The visit's object is asked whenever its state could change the answer: a proactive
/// candidate in play (R-D6 caps, R-D7's decline policy), a tag that carried nothing, the
/// account's control group, or the visit's verdicts asked for (R-P3).
#[test]
fn r_d6_the_visit_is_asked_when_its_state_can_change_the_answer() {
    let p = policy(Some(1), DeclinePolicy::default());
    let none = BTreeSet::new();
    let plain = buttons("p1", T0, &p);
    assert!(decide_carried(&plain, Some(&none), &mut ids()).is_some());
    assert!(decide_carried(&plain, None, &mut ids()).is_none());
    let mut proactive = plain.clone();
    proactive.zones.push(edge_engage::engine::visit::VisitZone {
        zone: "proactive".into(),
        candidates: vec![cand(
            "invite",
            Class::OnlineConversation,
            true,
            true,
            "sales",
        )],
    });
    assert!(decide_carried(&proactive, Some(&none), &mut ids()).is_none());
    let mut explained = plain.clone();
    explained.explain = true;
    assert!(decide_carried(&explained, Some(&none), &mut ids()).is_none());
    let mut control = plain;
    control.control.account = true;
    assert!(decide_carried(&control, Some(&none), &mut ids()).is_none());
}

/// R-D4, R-D9: the visit records a decision made without it: the page holds its zones
/// with the contexts the answer issued (a re-evaluation of the page keeps them), the contexts
/// carry the answer's page context, and the same record sent again changes nothing.
#[test]
fn r_d4_a_recorded_decision_holds_its_zones_and_is_recorded_once() {
    let p = policy(None, DeclinePolicy::default());
    let mut visit = VisitState::default();
    visit.decide(&buttons("p1", T0, &p), &mut ids());
    let r2 = buttons("p2", T0 + 60_000, &p);
    let alone = decide_carried(&r2, Some(&BTreeSet::new()), &mut ids())
        .map(|mut a| {
            // Ids as the worker issues them: distinct, not the object's.
            for (n, c) in a.chosen.iter_mut().enumerate() {
                c.context_id = format!("worker-{n}");
            }
            a.page_context_id = "worker-page".into();
            a
        })
        .unwrap();
    let rec = Recorded {
        request: r2.clone(),
        page_context_id: alone.page_context_id.clone(),
        shown: alone.chosen.clone(),
    };
    let recorded = visit.record(&rec).unwrap();
    assert_eq!(visit.page_id, "p2");
    assert_eq!(visit.page_context_id, "worker-page");
    let issued: Vec<_> = recorded
        .new_contexts(&rec.request)
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(issued, ["worker-0", "worker-1"]);
    assert!(recorded
        .new_contexts(&rec.request)
        .iter()
        .all(|(_, r)| r.page_context_id == "worker-page" && r.issued_ms == T0 + 60_000));
    assert_eq!(visit.contexts_issued, 4);
    assert!(visit.record(&rec).is_none(), "recorded once");
    assert_eq!(visit.contexts_issued, 4);

    let again = visit.decide(&buttons("p2", T0 + 70_000, &p), &mut ids());
    let held: Vec<_> = again
        .chosen
        .iter()
        .map(|c| (c.held, c.context_id.clone()))
        .collect();
    assert_eq!(held, [(true, "worker-0".into()), (true, "worker-1".into())]);
}

/// A record that arrives after a later page view of the visit adds its contexts but
/// leaves the later page and its holding (R-D4).
#[test]
fn r_d4_a_late_record_keeps_the_later_page() {
    let p = policy(None, DeclinePolicy::default());
    let mut visit = VisitState::default();
    let r2 = buttons("p2", T0, &p);
    let alone = decide_carried(&r2, Some(&BTreeSet::new()), &mut ids()).unwrap();
    let later = visit.decide(&buttons("p3", T0 + 5_000, &p), &mut ids());
    let rec = Recorded {
        request: r2,
        page_context_id: "worker-page".into(),
        shown: alone
            .chosen
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.context_id = format!("worker-{}", c.zone);
                c
            })
            .collect(),
    };
    let recorded = visit.record(&rec).unwrap();
    assert_eq!(recorded.new_contexts(&rec.request).len(), 2);
    assert_eq!(
        (visit.page_id.as_str(), visit.last_activity_ms),
        ("p3", T0 + 5_000)
    );
    let again = visit.decide(&buttons("p3", T0 + 6_000, &p), &mut ids());
    let held: Vec<_> = again.chosen.iter().map(|c| c.context_id.clone()).collect();
    let before: Vec<_> = later.chosen.iter().map(|c| c.context_id.clone()).collect();
    assert_eq!(held, before);
}

#[test]
fn r_d7_decline_blocks_conversation_invites_but_not_content_by_default() {
    let p = policy(None, DeclinePolicy::default());
    let mut s = VisitState::default();
    let mut id = ids();
    let zone = || {
        vec![(
            "proactive",
            vec![
                cand("invite", Class::OnlineConversation, true, true, "sales"),
                cand(
                    "other-invite",
                    Class::OnlineConversation,
                    true,
                    true,
                    "sales",
                ),
                cand("banner", Class::ContentOrMessaging, true, false, "mkt"),
            ],
        )]
    };
    let r1 = req("p1", T0, &p, zone());
    let a = s.decide(&r1, &mut id);
    let (ctx, winner) = a.new_contexts(&r1)[0].clone();
    let mut record = winner.clone();
    assert!(s.apply_event(&ctx, &mut record, EventName::OfferDeclined));
    let b = s.decide(&req("p2", T0, &p, zone()), &mut id);
    assert_eq!(shown(&b, "proactive").as_deref(), Some("banner"));
    assert_eq!(
        excluded_by(&b, &winner.engagement_id).as_deref(),
        Some("R-D7")
    );
    // The account allows conversation invites after a decline: the other invite may show.
    let lenient = policy(
        None,
        DeclinePolicy {
            conversation: true,
            ..DeclinePolicy::default()
        },
    );
    let c = s.decide(&req("p3", T0, &lenient, zone()), &mut id);
    assert_ne!(
        shown(&c, "proactive").as_deref(),
        Some(winner.engagement_id.as_str())
    );
    assert!(shown(&c, "proactive").is_some());
}

#[test]
fn r_d7_other_line_of_business_allowed_when_configured() {
    let p = policy(
        None,
        DeclinePolicy {
            other_line_of_business: true,
            ..DeclinePolicy::default()
        },
    );
    let mut s = VisitState::default();
    let mut id = ids();
    let r1 = req(
        "p1",
        T0,
        &p,
        vec![(
            "proactive",
            vec![cand(
                "sales-invite",
                Class::OnlineConversation,
                true,
                true,
                "sales",
            )],
        )],
    );
    let a = s.decide(&r1, &mut id);
    let (ctx, mut rec) = a.new_contexts(&r1)[0].clone();
    s.apply_event(&ctx, &mut rec, EventName::OfferDeclined);
    let zone = vec![(
        "proactive",
        vec![
            cand("sales-2", Class::OnlineConversation, true, true, "sales"),
            cand(
                "support-invite",
                Class::OnlineConversation,
                true,
                true,
                "support",
            ),
        ],
    )];
    let b = s.decide(&req("p2", T0, &p, zone), &mut id);
    assert_eq!(shown(&b, "proactive").as_deref(), Some("support-invite"));
    assert_eq!(excluded_by(&b, "sales-2").as_deref(), Some("R-D7"));
}

#[test]
fn r_d6_idle_visit_starts_fresh() {
    let p = policy(Some(1), DeclinePolicy::default());
    let mut s = VisitState::default();
    let mut id = ids();
    let zone = || {
        vec![(
            "proactive",
            vec![cand(
                "invite",
                Class::OnlineConversation,
                true,
                true,
                "sales",
            )],
        )]
    };
    assert!(shown(&s.decide(&req("p1", T0, &p, zone()), &mut id), "proactive").is_some());
    assert!(shown(
        &s.decide(&req("p2", T0 + 29 * 60_000, &p, zone()), &mut id),
        "proactive"
    )
    .is_none());
    // 30 idle minutes after the last activity: a new visit.
    let later = s.decide(
        &req("p3", T0 + 29 * 60_000 + 30 * 60_000 + 1, &p, zone()),
        &mut id,
    );
    assert!(later.fresh);
    assert!(shown(&later, "proactive").is_some());
}

#[test]
fn r_d9_events_are_idempotent_per_context_and_event() {
    let p = policy(None, DeclinePolicy::default());
    let mut s = VisitState::default();
    let mut id = ids();
    let r1 = req(
        "p1",
        T0,
        &p,
        vec![(
            "left",
            vec![cand(
                "msg",
                Class::ContentOrMessaging,
                false,
                true,
                "support",
            )],
        )],
    );
    let a = s.decide(&r1, &mut id);
    let (ctx, mut rec) = a.new_contexts(&r1)[0].clone();
    for e in EventName::ALL {
        assert!(s.apply_event(&ctx, &mut rec, e));
        assert!(!s.apply_event(&ctx, &mut rec, e), "{e:?} twice");
    }
    assert!(s.events.values().all(|&n| n == 1));
    assert_eq!(s.impressions["msg"], 1);
    assert!(s.accepted.contains("msg") && s.declined.contains("msg"));
    assert_eq!(EventName::parse("OFFER_CLOSED"), None);
}

/// R-D9: the page context is issued per page view; every claim an event makes about its
/// context (lpTag's fields) must agree with what the visit issued.
#[test]
fn r_d9_event_claims_must_agree_with_the_issued_context() {
    use edge_engage::engine::events::Claims;
    let p = policy(None, DeclinePolicy::default());
    let mut s = VisitState::default();
    let mut id = ids();
    let zone = || {
        vec![(
            "proactive",
            vec![cand("invite", Class::OnlineConversation, true, true, "s")],
        )]
    };
    let r1 = req("p1", T0, &p, zone());
    let a = s.decide(&r1, &mut id);
    let again = s.decide(&req("p1", T0, &p, zone()), &mut id);
    assert!(!a.page_context_id.is_empty());
    assert_eq!(
        again.page_context_id, a.page_context_id,
        "same page view, same page context"
    );
    let next = s.decide(&req("p2", T0, &p, zone()), &mut id);
    assert_ne!(
        next.page_context_id, a.page_context_id,
        "navigation issues a new one"
    );
    let (_, rec) = &a.new_contexts(&r1)[0];
    assert_eq!(rec.page_context_id, a.page_context_id);
    let agreeing = Claims {
        engagement_id: Some("invite".into()),
        campaign_id: Some("c-invite".into()),
        engagement_revision: Some(1),
        zone_id: Some("proactive".into()),
        conf_key: Some("c-invite_invite_1".into()),
        page_context_id: Some(a.page_context_id.clone()),
    };
    assert_eq!(rec.disagreement(&agreeing), None);
    assert_eq!(
        rec.disagreement(&Claims::default()),
        None,
        "claims are optional"
    );
    type Edit = fn(&mut Claims);
    let cases: [(&str, Edit); 6] = [
        ("engagementId", |c| c.engagement_id = Some("other".into())),
        ("campaignId", |c| c.campaign_id = Some("c-other".into())),
        ("engagementRevision", |c| c.engagement_revision = Some(2)),
        ("zoneId", |c| c.zone_id = Some("left".into())),
        ("confKey", |c| c.conf_key = Some("c-invite_invite_2".into())),
        ("contexts", |c| {
            c.page_context_id = Some("page-elsewhere".into())
        }),
    ];
    for (field, edit) in cases {
        let mut claims = agreeing.clone();
        edit(&mut claims);
        assert_eq!(rec.disagreement(&claims).map(|d| d.0), Some(field));
    }
}

/// R-C1 / R-D6: a proactive click-to-call counts under the content cap, not the conversation one.
#[test]
fn r_c1_click_to_call_counts_under_the_content_proactive_cap() {
    use edge_engage::engine::agent::Availability;
    use edge_engage::engine::candidate::{evaluate, Inputs};
    use edge_engage::engine::decision::visit_request;
    use edge_engage::engine::snapshot::compile;
    use edge_engage::engine::visitor::{Edge, PageView, Visitor};
    use edge_engage::engine::zone::Zone;

    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/demo/snapshot.json"
    ))
    .unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["account"]["proactiveCaps"] = serde_json::json!({"content": 1});
    for c in doc["campaigns"].as_array_mut().unwrap() {
        for e in c["engagements"].as_array_mut().unwrap() {
            if e["id"] == "e-callback" {
                e["format"] = "toaster".into();
                e.as_object_mut().unwrap().remove("embeddedDivId");
            }
            if e["id"] == "e-uk-peel" {
                e["enabled"] = false.into();
            }
        }
    }
    let snap = compile(&doc.to_string(), "demo", 1).unwrap();
    let url = url::Url::parse("https://www.demo-outfitters.example/about").unwrap();
    let page = PageView::at(&url);
    let edge = Edge {
        country: Some("GB".into()),
        ..Edge::default()
    };
    let visitor = Visitor::new(
        "visitor-0001",
        "visit-ctc",
        &page,
        serde_json::Map::new(),
        &edge,
    );
    let zones = [Zone::Proactive];
    let availability = Availability::default();
    let ctx = Inputs {
        visitor: &visitor,
        zones: &zones,
        now: "2026-11-23T10:00:00Z".parse().unwrap(),
        availability: &availability,
        explain: false,
    };
    let eval = evaluate(&snap, &ctx);
    let mut state = VisitState::default();
    let mut id = ids();
    let first = state.decide(
        &visit_request(&snap, &eval, &visitor, "p1", T0, true),
        &mut id,
    );
    assert_eq!(
        shown(&first, "proactive").as_deref(),
        Some("e-callback"),
        "never availability-checked"
    );
    assert_eq!(
        state.proactive_displays,
        edge_engage::engine::visit::Displays {
            conversation: 0,
            content: 1
        }
    );
    let second = state.decide(
        &visit_request(&snap, &eval, &visitor, "p2", T0, true),
        &mut id,
    );
    assert_eq!(excluded_by(&second, "e-callback").as_deref(), Some("R-D6"));
}

/// The candidates of every zone of a request's JSON.
fn wire_candidates(json: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["zones"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|z| z["candidates"].as_array().unwrap().clone())
        .collect()
}

/// The visit request on the wire: each candidate written as an array of its fields, in the
/// order [`CANDIDATE_FIELDS`] names them, and read back the same from that array or from an
/// object with those names.
#[test]
fn visit_request_candidates_travel_as_arrays_in_the_named_order() {
    let p = policy(None, DeclinePolicy::default());
    let with_entry_point = VisitCandidate {
        entry_point: Some("ep-shop".into()),
        ..cand("chat", Class::OnlineConversation, true, true, "sales")
    };
    let zones = vec![
        (
            "left",
            vec![cand(
                "banner",
                Class::ContentOrMessaging,
                false,
                false,
                None,
            )],
        ),
        ("proactive", vec![with_entry_point]),
    ];
    let request = req("p1", T0, &p, zones);
    let arrays = serde_json::to_string(&request).unwrap();
    let sent = wire_candidates(&arrays);
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|c| c
        .as_array()
        .is_some_and(|a| a.len() == CANDIDATE_FIELDS.len())));
    assert_eq!(
        serde_json::from_str::<VisitRequest>(&arrays).unwrap(),
        request
    );
    // Each array's fields are the named fields, in order.
    for (array, candidate) in sent
        .iter()
        .zip(request.zones.iter().flat_map(|z| &z.candidates))
    {
        let named: serde_json::Map<String, serde_json::Value> = CANDIDATE_FIELDS
            .iter()
            .map(|n| n.to_string())
            .zip(array.as_array().unwrap().iter().cloned())
            .collect();
        let read: VisitCandidate = serde_json::from_value(named.into()).unwrap();
        assert_eq!(&read, candidate);
    }
}

/// R-M1, R-D9: trimming a record keeps a prospect's first candidate when none names a line
/// of business or an entry point, and a shown engagement both in its zone (where the visit
/// records its context) and where it first appears (where the funnel reads how it was
/// exposed), so the visit records and counts what the whole request gives.
#[test]
fn a_trimmed_record_keeps_what_the_visit_reads() {
    let p = policy(None, DeclinePolicy::default());
    let bare = |id: &str, class: Class| VisitCandidate {
        line_of_business: None,
        ..cand(id, class, false, true, "")
    };
    let zones = vec![
        (
            "left",
            vec![
                bare("other", Class::OnlineConversation),
                bare("chat", Class::ContentOrMessaging),
            ],
        ),
        ("right", vec![bare("chat", Class::OnlineConversation)]),
    ];
    let mut request = req("p1", T0, &p, zones);
    request.explain = false;
    let chat = edge_engage::engine::visit::Chosen {
        zone: "right".into(),
        engagement_id: "chat".into(),
        state: AgentState::Online,
        context_id: "ctx-chat".into(),
        held: false,
    };
    for shown in [vec![], vec![chat]] {
        let trimmed = request.clone().trimmed(&shown);
        let kept: Vec<_> = trimmed.zones.iter().map(|z| z.candidates.len()).collect();
        let (whole, by_trimmed) = (
            common::told(request.clone(), &shown),
            common::told(trimmed, &shown),
        );
        assert_eq!(by_trimmed, whole);
        assert_eq!(whole.2.len(), shown.len());
        assert_eq!(kept, if shown.is_empty() { [1, 0] } else { [2, 1] });
    }
}
