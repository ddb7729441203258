//! R-M2 on the native engine: conversions as reported, checked; attributed to the first or
//! last accepted engagement in the same visit or the cross-session period, else counted
//! "after exposure, not engagement"; added up into the report's rows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edge_engage::engine::snapshot::Attribution;
use edge_engage::measure::conversion::{
    conversion_rows, AttributionRules, Conversion, ConversionIn, Credit, Touch,
};
use edge_engage::measure::funnel::Metric;
use serde_json::json;
use std::collections::BTreeSet;

const DAY: u64 = 86_400_000;
const T0: u64 = 1_800_000_000_000;

fn goals() -> BTreeSet<&'static str> {
    ["purchase", "lead"].into_iter().collect()
}

fn field(v: serde_json::Value) -> &'static str {
    ConversionIn::from_json(v, &goals()).unwrap_err().0
}

/// R-M2 (bad input): unknown goal, negative or non-numeric value, an unknown currency, a value
/// without currency, a bad id: refused, naming the field.
#[test]
fn r_m2_conversions_are_checked_field_by_field() {
    let ok = ConversionIn::from_json(
        json!({"id": "order-1", "goal": "purchase", "value": 59.9, "currency": "GBP", "visitorId": "v1"}),
        &goals(),
    )
    .unwrap();
    assert_eq!(
        (ok.value, ok.currency.as_deref()),
        (Some(59.9), Some("GBP"))
    );
    assert!(ConversionIn::from_json(json!({"id": "l-1", "goal": "lead"}), &goals()).is_ok());
    assert_eq!(field(json!({"id": "o", "goal": "signup"})), "goal");
    assert_eq!(field(json!({"id": "o"})), "goal");
    assert_eq!(field(json!({"goal": "purchase"})), "id");
    assert_eq!(field(json!({"id": "bad id", "goal": "purchase"})), "id");
    assert_eq!(
        field(json!({"id": "o", "goal": "purchase", "value": -1, "currency": "GBP"})),
        "value"
    );
    assert_eq!(
        field(json!({"id": "o", "goal": "purchase", "value": "12", "currency": "GBP"})),
        "value"
    );
    assert_eq!(
        field(json!({"id": "o", "goal": "purchase", "value": 12, "currency": "ZZZ"})),
        "currency"
    );
    assert_eq!(
        field(json!({"id": "o", "goal": "purchase", "value": 12})),
        "currency"
    );
    assert_eq!(
        field(json!({"id": "o", "goal": "purchase", "currency": "GBP"})),
        "value"
    );
    assert_eq!(
        field(json!({"id": "o", "goal": "purchase", "visitorId": 7})),
        "visitorId"
    );
    assert_eq!(
        field(json!({"id": "o", "goal": "purchase", "extra": 1})),
        ""
    );
    assert_eq!(field(json!(["o"])), "");
    let none = ConversionIn::from_json(json!({"id": "o", "goal": "purchase"}), &BTreeSet::new());
    assert!(none.unwrap_err().1.contains("no campaign"));
}

fn rules(model: Attribution) -> AttributionRules {
    AttributionRules {
        period_ms: 14 * DAY,
        model,
        goals: [
            ("c-sales", "purchase"),
            ("c-help", "purchase"),
            ("c-leads", "lead"),
        ]
        .into_iter()
        .map(|(c, g)| (c.to_string(), g.to_string()))
        .collect(),
    }
}

fn touch(metric: Metric, campaign: &str, engagement: &str, visit: &str, at_ms: u64) -> Touch {
    Touch {
        campaign: campaign.into(),
        engagement: engagement.into(),
        metric,
        visit: visit.into(),
        at_ms,
    }
}

fn conversion(
    id: &str,
    goal: &str,
    visit: Option<&str>,
    at_ms: u64,
    value: Option<f64>,
) -> Conversion {
    Conversion {
        account: "acme".into(),
        visitor: "v1".into(),
        at_ms,
        day: "2027-01-15".into(),
        reported: ConversionIn {
            id: id.into(),
            goal: goal.into(),
            value,
            currency: value.map(|_| "GBP".to_string()),
            visitor_id: None,
            visit_id: visit.map(str::to_string),
        },
    }
}

fn engaged(campaign: &str, engagement: &str) -> Credit {
    Credit::Engaged {
        campaign: campaign.into(),
        engagement: engagement.into(),
    }
}

/// R-M2: first or last accepted engagement (the account's setting), across visits within the
/// cross-session period; never one accepted after the conversion.
#[test]
fn r_m2_first_or_last_accepted_engagement_within_the_period() {
    let history = [
        touch(Metric::Accepted, "c-sales", "chat", "visit-1", T0),
        touch(Metric::Accepted, "c-help", "ctc", "visit-2", T0 + 3 * DAY),
        touch(
            Metric::Accepted,
            "c-sales",
            "peel",
            "visit-4",
            T0 + 10 * DAY,
        ),
    ];
    let c = conversion("o1", "purchase", Some("visit-3"), T0 + 5 * DAY, None);
    assert_eq!(
        rules(Attribution::First).attribute(&c, &history),
        engaged("c-sales", "chat")
    );
    assert_eq!(
        rules(Attribution::Last).attribute(&c, &history),
        engaged("c-help", "ctc")
    );
    // 14 days after the first accept it still counts; a moment later it does not.
    let edge = conversion("o2", "purchase", None, T0 + 14 * DAY, None);
    assert_eq!(
        rules(Attribution::First).attribute(&edge, &history[..1]),
        engaged("c-sales", "chat")
    );
    let late = conversion("o3", "purchase", None, T0 + 14 * DAY + 1, None);
    assert_eq!(
        rules(Attribution::First).attribute(&late, &history[..1]),
        Credit::None
    );
}

/// R-M2: in the same visit the conversion counts however long the visit lasted; a campaign whose
/// goal is another takes no credit.
#[test]
fn r_m2_same_visit_counts_and_goals_must_match() {
    let history = [touch(Metric::Accepted, "c-sales", "chat", "visit-1", T0)];
    let long = conversion("o1", "purchase", Some("visit-1"), T0 + 20 * DAY, None);
    assert_eq!(
        rules(Attribution::Last).attribute(&long, &history),
        engaged("c-sales", "chat")
    );
    let lead = conversion("o2", "lead", Some("visit-1"), T0 + 1_000, None);
    assert_eq!(
        rules(Attribution::Last).attribute(&lead, &history),
        Credit::None
    );
}

/// R-M2: a visitor exposed but not engaged: counted apart, for each campaign with the goal.
#[test]
fn r_m2_after_exposure_not_engagement() {
    let history = [
        touch(Metric::Exposed, "c-sales", "", "visit-1", T0),
        touch(Metric::Exposed, "c-help", "", "visit-1", T0),
        touch(Metric::Exposed, "c-leads", "", "visit-1", T0),
        touch(Metric::Exposed, "", "", "visit-1", T0),
    ];
    let c = conversion("o1", "purchase", None, T0 + DAY, None);
    let credit = rules(Attribution::Last).attribute(&c, &history);
    assert_eq!(
        credit,
        Credit::Exposed(
            ["c-help", "c-sales"]
                .into_iter()
                .map(String::from)
                .collect()
        )
    );
}

/// R-M2: the rows: every conversion and its revenue, conversions after engagement at three
/// levels, after exposure per campaign and once for the account; values summed in cents.
#[test]
fn r_m2_conversion_rows_add_up() {
    let credited = vec![
        (
            conversion("o1", "purchase", None, T0, Some(0.1)),
            engaged("c-sales", "chat"),
        ),
        (
            conversion("o2", "purchase", None, T0, Some(0.2)),
            engaged("c-sales", "chat"),
        ),
        (
            conversion("o3", "purchase", None, T0, None),
            Credit::Exposed(
                ["c-help", "c-sales"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
            ),
        ),
        (
            conversion("o4", "purchase", None, T0, Some(5.0)),
            Credit::None,
        ),
    ];
    let rows = conversion_rows(&credited);
    let find = |campaign: &str, engagement: &str, metric: &str| {
        rows.iter()
            .find(|r| r.campaign == campaign && r.engagement == engagement && r.metric == metric)
            .map(|r| (r.n, r.value))
    };
    assert_eq!(find("", "", "conversions"), Some((4, None)));
    assert_eq!(find("", "", "revenue"), Some((3, Some(5.3))));
    assert_eq!(find("", "", "conversions_engaged"), Some((2, None)));
    assert_eq!(find("c-sales", "", "conversions_engaged"), Some((2, None)));
    assert_eq!(
        find("c-sales", "chat", "conversions_engaged"),
        Some((2, None))
    );
    assert_eq!(
        find("c-sales", "chat", "revenue_engaged"),
        Some((2, Some(0.3))),
        "exact in cents"
    );
    assert_eq!(find("", "", "conversions_exposed"), Some((1, None)));
    assert_eq!(find("c-help", "", "conversions_exposed"), Some((1, None)));
    assert_eq!(find("c-sales", "", "conversions_exposed"), Some((1, None)));
}

/// R-M2: a click-to-call purchase counts as a conversion of the call's visitor and visit, with
/// the campaign's goal; attributes are not conversions.
#[test]
fn r_m2_click_to_call_purchases_are_conversions() {
    use edge_engage::engine::click_to_call::{CallRecord, VisitorEvent};
    let mut call = CallRecord {
        account: "acme".into(),
        visit_id: "visit-1".into(),
        engagement_id: "ctc".into(),
        ..CallRecord::default()
    };
    call.visit.visitor_id = "v1".into();
    let purchase = VisitorEvent::from_json(
        json!({"type": "purchase", "id": "p1", "value": 20, "currency": "EUR"}),
    )
    .unwrap();
    let c = Conversion::of_call_event(
        &call,
        "acme:call:abc",
        &purchase,
        Some("purchase"),
        "2027-01-15".into(),
    )
    .unwrap();
    assert_eq!(
        (c.visitor.as_str(), c.reported.goal.as_str()),
        ("v1", "purchase")
    );
    assert_eq!(c.reported.id, "call:acme:call:abc:p1");
    assert_eq!(c.reported.visit_id.as_deref(), Some("visit-1"));
    assert_eq!(
        (c.reported.value, c.reported.currency.as_deref()),
        (Some(20.0), Some("EUR"))
    );
    let lead = VisitorEvent::from_json(json!({"type": "lead", "id": "l1"})).unwrap();
    let c = Conversion::of_call_event(&call, "k", &lead, None, "d".into()).unwrap();
    assert_eq!(c.reported.goal, "lead", "no campaign goal: the kind's name");
    let attr = VisitorEvent::from_json(
        json!({"type": "attribute", "id": "a1", "name": "tier", "value": "gold"}),
    )
    .unwrap();
    assert_eq!(
        Conversion::of_call_event(&call, "k", &attr, None, "d".into()),
        None
    );
}
