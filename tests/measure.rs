//! R-M1 and R-M4 on the native engine: a visit's changes become the funnel's facts, each fact
//! once per visit, shipped in batches whose ids never repeat within a visit and start anew
//! with a new visit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use edge_engage::engine::events::EventName;
use edge_engage::engine::visit::VisitState;
use edge_engage::measure::funnel::{Metric, Tally, VisitAt};

use common::three_zone_request as request;

fn names(batch: &edge_engage::measure::funnel::FactBatch) -> Vec<String> {
    batch
        .facts
        .iter()
        .map(|f| format!("{}/{}/{}", f.campaign, f.engagement, f.metric.name()))
        .collect()
}

const T0: u64 = 1_800_000_000_000;

#[test]
fn r_m1_a_visit_counts_each_metric_once_per_entity() {
    let mut visit = VisitState::default();
    let mut tally = Tally::default();
    let mut n = 0;
    let mut id = || {
        n += 1;
        format!("ctx-{n}")
    };
    let req = request("p1", T0);
    let answer = visit.decide(&req, &mut id);
    let batch = tally
        .decided(&req, &answer, visit.first_activity_ms, &req.day)
        .unwrap();
    assert_eq!(batch.id, format!("acme:visit:{T0}:1"));
    assert_eq!(batch.day, "2027-01-15");
    let mut got = names(&batch);
    got.sort();
    assert_eq!(
        got,
        [
            "//exposed",
            "//prospects",
            "//visits",
            "c-banner//exposed",
            "c-banner/banner/exposed",
            "c-banner/banner/exposed_content",
            "c-chat//exposed",
            "c-chat/chat/exposed",
            "c-chat/chat/exposed_online",
            "c-msg//exposed",
            "c-msg/msg/exposed",
            "c-msg/msg/exposed_messaging",
        ]
    );
    // The same page again (held zones) and another page: nothing new to count.
    let again = visit.decide(&req, &mut id);
    assert_eq!(
        tally.decided(&req, &again, visit.first_activity_ms, &req.day),
        None
    );
    let next = request("p2", T0 + 1_000);
    let other = visit.decide(&next, &mut id);
    assert_eq!(
        tally.decided(&next, &other, visit.first_activity_ms, &next.day),
        None
    );
    // Events: an impression and a click count once each, and make the visit engaged.
    let (_, record) = answer.new_contexts(&req)[0].clone();
    assert_eq!(
        (batch.visitor.as_str(), batch.visit.as_str(), batch.at_ms),
        ("visitor", "visit", T0),
        "R-M2: a batch says whose visit it is and when"
    );
    let at = VisitAt {
        account: "acme",
        visitor: "visitor",
        visit: "visit",
        started_ms: visit.first_activity_ms,
        now_ms: T0 + 2_000,
        day: "2027-01-15",
    };
    let click = tally.event(at, &record, EventName::OfferClick).unwrap();
    assert_eq!(click.id, format!("acme:visit:{T0}:2"));
    let e = &record.engagement_id;
    let c = &record.campaign_id;
    assert_eq!(
        names(&click),
        [
            format!("{c}/{e}/accepted"),
            format!("{c}/{e}/engaged"),
            format!("{c}//engaged"),
            "//engaged".into()
        ]
    );
    assert_eq!(click.at_ms, T0 + 2_000);
    assert_eq!(tally.event(at, &record, EventName::OfferClick), None);
    assert_eq!(
        tally.event(at, &record, EventName::OfferDisplay),
        None,
        "not a funnel metric"
    );
    // A new visit under the same id (after the idle timeout) counts anew, with new batch ids.
    let later = request("p1", T0 + 31 * 60_000);
    let mut fresh = VisitState::default();
    let answer = fresh.decide(&later, &mut id);
    let batch = tally
        .decided(&later, &answer, fresh.first_activity_ms, "2027-01-15")
        .unwrap();
    assert_eq!(batch.id, format!("acme:visit:{}:1", T0 + 31 * 60_000));
    assert!(batch.facts.iter().any(|f| f.metric == Metric::Visits));
}

/// R-M1, R-M3: a visitor held out counts where it would have been a prospect: held at account
/// level by the account's control group (and shown nothing), at campaign level by a campaign's.
#[test]
fn r_m3_held_out_visitors_are_counted_where_they_would_have_been_prospects() {
    let mut id = || "ctx".to_string();
    // The account's control group: the visit decides nothing, and counts visit, prospect, held.
    let mut req = request("p1", T0);
    req.control.account = true;
    let mut visit = VisitState::default();
    let answer = visit.decide(&req, &mut id);
    assert!(answer.chosen.is_empty(), "R-D5: nothing shown");
    let mut tally = Tally::default();
    let batch = tally
        .decided(&req, &answer, visit.first_activity_ms, &req.day)
        .unwrap();
    let mut got = names(&batch);
    got.sort();
    assert_eq!(got, ["//held", "//prospects", "//visits"]);
    // With no candidate on the page, the visitor would not have been a prospect: not held.
    let mut empty = request("p2", T0);
    empty.control.account = true;
    for z in &mut empty.zones {
        z.candidates.clear();
    }
    let mut tally = Tally::default();
    let batch = tally.decided(&empty, &answer, T0, &empty.day).unwrap();
    assert_eq!(names(&batch), ["//visits"]);
    // A campaign's control group: held for that campaign, the others shown.
    let mut req = request("p1", T0);
    req.control.campaigns = vec!["c-held".into()];
    let mut visit = VisitState::default();
    let answer = visit.decide(&req, &mut id);
    let mut tally = Tally::default();
    let batch = tally
        .decided(&req, &answer, visit.first_activity_ms, &req.day)
        .unwrap();
    assert!(names(&batch).contains(&"c-held//held".to_string()));
    assert!(names(&batch).contains(&"c-chat//exposed".to_string()));
}

/// R-M2, R-M3, R-M5: the facts a visitor's history keeps: its visits (account level), the arms
/// (held and exposed, account and campaign level) and accepted engagements.
#[test]
fn r_m2_a_visitors_history_keeps_visits_arms_and_accepts() {
    use edge_engage::measure::funnel::Fact;
    let kept = |f: Fact| f.kept_per_visitor();
    assert!(kept(Fact::account(Metric::Visits)));
    assert!(kept(Fact::account(Metric::Held)));
    assert!(kept(Fact::campaign("c", Metric::Held)));
    assert!(kept(Fact::account(Metric::Exposed)));
    assert!(kept(Fact::campaign("c", Metric::Exposed)));
    assert!(!kept(Fact::engagement("c", "e", Metric::Exposed)));
    assert!(kept(Fact::engagement("c", "e", Metric::Accepted)));
    assert!(!kept(Fact::engagement("c", "e", Metric::Views)));
    assert!(!kept(Fact::account(Metric::Prospects)));
    for m in [
        Metric::Visits,
        Metric::Held,
        Metric::ExposedMessaging,
        Metric::Timeouts,
    ] {
        assert_eq!(Metric::parse(m.name()), Some(m));
    }
}

/// R-M1: the funnel per line of business and per entry point: prospects and exposures from the
/// candidates, views, accepts and engaged visits from the events, each once per visit.
#[test]
fn r_m1_lines_of_business_and_entry_points_are_levels_of_the_funnel() {
    let mut req = request("p1", T0);
    for z in &mut req.zones {
        for c in &mut z.candidates {
            c.line_of_business = Some("sales".into());
            c.entry_point = Some(format!("ep-{}", c.engagement_id).into());
        }
    }
    let mut visit = VisitState::default();
    let mut id = || "ctx".to_string();
    let answer = visit.decide(&req, &mut id);
    let mut tally = Tally::default();
    let batch = tally
        .decided(&req, &answer, visit.first_activity_ms, &req.day)
        .unwrap();
    let level = |f: &edge_engage::measure::funnel::Fact| {
        format!(
            "{}|{}|{}",
            f.line_of_business,
            f.entry_point,
            f.metric.name()
        )
    };
    let mut got: Vec<String> = batch
        .facts
        .iter()
        .filter(|f| !f.line_of_business.is_empty() || !f.entry_point.is_empty())
        .map(level)
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "sales||exposed",
            "sales||prospects",
            "|ep-banner|exposed",
            "|ep-banner|prospects",
            "|ep-chat|exposed",
            "|ep-chat|prospects",
            "|ep-msg|exposed",
            "|ep-msg|prospects",
        ],
        "a visit counts once per line of business, however many of its engagements it saw"
    );
    assert!(
        batch
            .facts
            .iter()
            .all(|f| f.line_of_business.is_empty() || f.entry_point.is_empty()),
        "one level per fact"
    );
    let (_, record) = answer.new_contexts(&req)[0].clone();
    assert_eq!(
        record.entry_point.as_deref(),
        Some(format!("ep-{}", record.engagement_id).as_str())
    );
    let at = VisitAt::of(&visit, "acme", "visit", T0 + 1_000, "2027-01-15");
    let click = tally.event(at, &record, EventName::OfferClick).unwrap();
    let mut got: Vec<String> = click
        .facts
        .iter()
        .filter(|f| !f.line_of_business.is_empty() || !f.entry_point.is_empty())
        .map(level)
        .collect();
    got.sort();
    let ep = format!("ep-{}", record.engagement_id);
    assert_eq!(
        got,
        [
            "sales||accepted".to_string(),
            "sales||engaged".to_string(),
            format!("|{ep}|accepted"),
            format!("|{ep}|engaged"),
        ]
    );
    assert!(
        click
            .facts
            .iter()
            .filter(|f| !f.entry_point.is_empty())
            .all(|f| !f.kept_per_visitor()),
        "levels of the funnel, not a visitor's history"
    );
}

/// R-M1: a metric's serde form is the report's name for it, and every name reads back.
#[test]
fn r_m1_metric_names_are_one_spelling_for_the_report_the_queue_and_serde() {
    let mut names = std::collections::BTreeSet::new();
    for m in Metric::ALL {
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(text, format!("\"{}\"", m.name()));
        assert_eq!(serde_json::from_str::<Metric>(&text).unwrap(), m);
        assert_eq!(Metric::parse(m.name()), Some(m));
        assert!(names.insert(m.name()), "{} twice", m.name());
    }
    assert_eq!(Metric::parse("exposed_online"), Some(Metric::ExposedOnline));
    assert!(serde_json::from_str::<Metric>("\"exposedOnline\"").is_err());
}
