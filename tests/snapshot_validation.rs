//! R-P1: snapshots are validated before they are stored, and every problem is reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use edge_engage::engine::snapshot::compile;
use serde_json::Value;

fn demo_json() -> Value {
    serde_json::from_str(&common::fixture("demo/snapshot.json")).unwrap()
}

fn problems(doc: &Value) -> Vec<String> {
    match compile(&doc.to_string(), "demo", 1) {
        Ok(_) => Vec::new(),
        Err(p) => p.into_iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn r_p1_demo_snapshot_is_valid_and_indexed() {
    let snap = common::demo();
    assert_eq!(snap.campaigns.len(), 11);
    assert_eq!(snap.engagements.len(), 18);
    assert!(snap.engagement("e-offsite-email").is_some());
}

#[test]
fn r_p1_each_kind_of_problem_is_named_with_its_path() {
    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Edit)> = vec![
        ("account.id", |d| d["account"]["id"] = "other".into()),
        ("account.timeZone", |d| {
            d["account"]["timeZone"] = "Europe/Atlantis".into()
        }),
        // R-D6: one cap model or the other.
        ("account.proactiveCaps", |d| {
            d["account"]["proactiveCaps"] = serde_json::json!({"total": 1, "content": 2})
        }),
        ("account.proactiveCaps.conversation", |d| {
            d["account"]["proactiveCaps"]["conversation"] = 4.into()
        }),
        ("account.proactiveCaps.total", |d| {
            d["account"]["proactiveCaps"]["total"] = 0.into()
        }),
        ("account.defaultOfflineSurveyUrl", |d| {
            d["account"]["defaultOfflineSurveyUrl"] = "javascript:alert(1)".into()
        }),
        ("account.inactiveEngagement.url", |d| {
            d["account"]["inactiveEngagement"]["url"] = "https://user:pw@evil.example/".into()
        }),
        ("skills[1].id", |d| d["skills"][1]["id"] = "sales".into()),
        ("entryPoints[2].include[0]", |d| {
            d["entryPoints"][2]["include"][0]["regex"] = "([a-z".into()
        }),
        ("campaigns[0].engagements[0].entryPoint", |d| {
            d["campaigns"][0]["engagements"][0]["entryPoint"] = "ep-nowhere".into()
        }),
        ("campaigns[0].engagements[0].states.busy", |d| {
            d["campaigns"][0]["engagements"][0]["states"] = serde_json::json!({"busy": true})
        }),
        ("campaigns[0].engagements[1].side", |d| {
            d["campaigns"][0]["engagements"][1]
                .as_object_mut()
                .unwrap()
                .remove("side");
        }),
        ("campaigns[0].engagements[2].embeddedDivId", |d| {
            d["campaigns"][0]["engagements"][2]["embeddedDivId"] = "bad id".into()
        }),
        ("campaigns[0].timeFrame.hours.days.mon[0]", |d| {
            d["campaigns"][0]["timeFrame"]["hours"]["days"]["mon"][0]["from"] = "08:07".into()
        }),
        ("campaigns[1].controlGroupPercent", |d| {
            d["campaigns"][1]["controlGroupPercent"] = 30.into()
        }),
        ("campaigns[1].engagements[1].id", |d| {
            d["campaigns"][1]["engagements"][1]["id"] = "e-support-slideout".into()
        }),
        ("campaigns[2].engagements[0].refreshSeconds", |d| {
            d["campaigns"][2]["engagements"][0]["refreshSeconds"] = 120.into()
        }),
        // R-D8: an interval given while refresh is switched off is a contradiction.
        ("campaigns[6].engagements[0].refreshSeconds", |d| {
            d["campaigns"][6]["engagements"][0]["refreshEnabled"] = false.into();
            d["campaigns"][6]["engagements"][0]["refreshSeconds"] = 60.into()
        }),
        ("campaigns[3].audience.country.$in", |d| {
            d["campaigns"][3]["audience"]["country"]["$in"] = "GB".into()
        }),
        ("campaigns[10].engagements[0].offsite.landingUrl", |d| {
            d["campaigns"][10]["engagements"][0]["offsite"]["landingUrl"] = "//evil.example".into()
        }),
        ("campaigns[10].engagements[1].channel", |d| {
            d["campaigns"][10]["engagements"][1]["channel"] = "banner".into()
        }),
        ("campaigns[5]", |d| {
            d["campaigns"][5]["priority"] = "urgent".into()
        }),
        ("schemaVersion", |d| d["schemaVersion"] = 2.into()),
        ("account.allowedOrigins[1]", |d| {
            d["account"]["allowedOrigins"] =
                serde_json::json!(["https://shop.example", "https://shop.example/path"])
        }),
    ];
    let mut all = demo_json();
    for (path, edit) in &cases {
        let mut one = demo_json();
        edit(&mut one);
        let found = problems(&one);
        assert!(
            found.iter().any(|p| p.starts_with(path)),
            "{path}: got {found:?}"
        );
        edit(&mut all);
    }
    // All edits at once: every problem is still reported, none hides another.
    let found = problems(&all);
    for (path, _) in &cases {
        assert!(
            found.iter().any(|p| p.starts_with(path)),
            "{path} missing when combined: {found:?}"
        );
    }
}

#[test]
fn r_p1_syntax_errors_and_wrong_shapes_are_refused() {
    assert!(compile("{", "demo", 1).is_err());
    assert!(compile("[]", "demo", 1).is_err());
    assert!(compile(r#"{"schemaVersion":1}"#, "demo", 1).is_err());
}

#[test]
fn allowed_origins_are_origins_and_match_exactly_or_by_subdomain() {
    let with = |origins: Value| {
        let mut d = demo_json();
        d["account"]["allowedOrigins"] = origins;
        d
    };
    for bad in [
        "http://shop.example",
        "https://shop.example/",
        "https://shop.example/a",
        "https://shop.example?x=1",
        "shop.example",
        "*",
        "https://*.",
    ] {
        assert!(
            !problems(&with(serde_json::json!([bad]))).is_empty(),
            "{bad} accepted"
        );
    }
    let doc = with(serde_json::json!([
        "https://www.shop.example",
        "https://*.brand.example",
        "http://localhost:8787"
    ]));
    let snap = compile(&doc.to_string(), "demo", 1).unwrap();
    let a = &snap.account.spec;
    assert!(a.allows_origin("https://www.shop.example"));
    assert!(a.allows_origin("https://eu.brand.example"));
    assert!(a.allows_origin("https://a.b.brand.example"));
    assert!(a.allows_origin("http://localhost:8787"));
    for refused in [
        "https://shop.example",
        "https://www.shop.example.evil.example",
        "https://brand.example",
        "https://evilbrand.example",
        "http://eu.brand.example",
        "null",
    ] {
        assert!(!a.allows_origin(refused), "{refused} allowed");
    }
    // Absent: every origin may call.
    assert!(common::demo()
        .account
        .spec
        .allows_origin("https://anyone.example"));
}

/// R-D5: any whole percentage from 0 to 25 at both levels (LivePerson moved to steps of 1).
#[test]
fn r_d5_control_groups_take_any_whole_percentage_to_25() {
    for p in [0, 1, 7, 13, 25] {
        let mut d = demo_json();
        d["account"]["controlGroupPercent"] = p.into();
        d["campaigns"][0]["controlGroupPercent"] = p.into();
        assert_eq!(problems(&d), Vec::<String>::new(), "{p}%");
    }
    let mut d = demo_json();
    d["account"]["controlGroupPercent"] = 26.into();
    assert!(problems(&d)
        .iter()
        .any(|p| p.starts_with("account.controlGroupPercent")));
}

/// R-D8: `refreshEnabled` without an interval refreshes every 120 s; an interval alone
/// enables refresh as before.
#[test]
fn r_d8_refresh_enabled_without_interval_defaults_to_120_seconds() {
    let mut d = demo_json();
    let e = &mut d["campaigns"][0]["engagements"][1];
    assert_eq!(e["id"], "e-sales-sticky", "fixture moved");
    e.as_object_mut().unwrap().remove("refreshSeconds");
    e["refreshEnabled"] = true.into();
    let snap = compile(&d.to_string(), "demo", 1).unwrap();
    let e = snap.engagement("e-sales-sticky").unwrap();
    assert_eq!(e.spec.refresh_seconds, Some(120));
    let plain = common::demo();
    let e = plain.engagement("e-sales-sticky").unwrap();
    assert_eq!(
        e.spec.refresh_seconds,
        Some(60),
        "an interval alone enables refresh"
    );
}

/// R-D5: the control groups in force, as a publish answers them: the account's, and each
/// campaign that holds anyone out.
#[test]
fn r_d5_control_groups_in_force_are_listed() {
    let g = common::demo().control_groups();
    assert_eq!(g.account, 5);
    let campaigns: Vec<(&str, u8)> = g.campaigns.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        campaigns,
        [("c-offsite", 7), ("c-sales-chat", 10), ("c-uk-promo", 10)]
    );
}

/// R-M2: the cross-session period is 1-30 days (default 14) and attribution first or last
/// (default last).
#[test]
fn r_m2_cross_session_period_and_attribution_are_checked() {
    use edge_engage::engine::snapshot::Attribution;
    let snap = common::demo();
    assert_eq!(snap.account.spec.cross_session_days, 14);
    assert_eq!(snap.account.spec.attribution, Attribution::Last);
    for (days, ok) in [(0, false), (1, true), (30, true), (31, false)] {
        let mut doc = demo_json();
        doc["account"]["crossSessionDays"] = serde_json::json!(days);
        let p = problems(&doc);
        assert_eq!(p.is_empty(), ok, "{days}: {p:?}");
        if !ok {
            assert!(
                p.iter().any(|x| x.contains("account.crossSessionDays")),
                "{p:?}"
            );
        }
    }
    let mut doc = demo_json();
    doc["account"]["attribution"] = serde_json::json!("first");
    assert!(problems(&doc).is_empty());
    doc["account"]["attribution"] = serde_json::json!("middle");
    assert!(!problems(&doc).is_empty());
}
