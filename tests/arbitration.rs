//! R-D4 and R-D5 as distributions: the priority draw, random ties, stickiness per visit and
//! control groups, over many distinct visits. Ids are fixed, so these are deterministic; the
//! tolerances are about five standard deviations of a truly random draw (n = 10,000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edge_engage::engine::agent::Availability;
use edge_engage::engine::candidate::Inputs;
use edge_engage::engine::decision::Decision;
use edge_engage::engine::draw::ControlGroup;
use edge_engage::engine::plan::decide;
use edge_engage::engine::snapshot::{compile, Snapshot};
use edge_engage::engine::visitor::{Edge, PageView, Visitor};
use edge_engage::engine::zone::Zone;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const N: usize = 10_000;

fn campaign(id: &str, priority: &str, engagements: &[&str]) -> Value {
    json!({
        "id": id, "name": id, "status": "published", "priority": priority, "controlGroupPercent": 0,
        "timeFrame": {"start": "2026-01-01T00:00"},
        "engagements": engagements.iter().map(|e| json!({
            "id": e, "revision": 1, "name": e, "source": "web", "format": "toaster", "channel": "banner",
            "entryPoint": "all", "window": {"id": "w"}
        })).collect::<Vec<_>>()
    })
}

fn snapshot(account_control: u8, campaigns: Vec<Value>) -> Snapshot {
    let doc = json!({
        "schemaVersion": 1,
        "account": {"id": "acme", "timeZone": "UTC", "controlGroupPercent": account_control,
                    "defaultOfflineSurveyUrl": "https://acme.example/survey"},
        "entryPoints": [{"id": "all"}],
        "campaigns": campaigns,
    });
    compile(&doc.to_string(), "acme", 1).expect("compiles")
}

fn visitor(visitor_id: &str, visit_id: &str) -> Visitor {
    let url = url::Url::parse("https://acme.example/").unwrap();
    let page = PageView::at(&url);
    Visitor::new(visitor_id, visit_id, &page, Map::new(), &Edge::default())
}

fn run<'s>(snap: &'s Snapshot, v: &Visitor) -> Decision<'s> {
    let ctx = Inputs {
        visitor: v,
        zones: &[Zone::Proactive],
        now: "2026-06-01T12:00:00Z".parse().unwrap(),
        availability: &Availability::default(),
        explain: false,
    };
    decide(snap, &ctx, &mut || String::new())
}

fn shares(snap: &Snapshot) -> HashMap<String, f64> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for i in 0..N {
        let d = run(snap, &visitor("same-visitor", &format!("visit-{i}")));
        let id = d
            .engagements
            .first()
            .map_or("none".to_string(), |e| e.engagement_id.to_string());
        *counts.entry(id).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(k, c)| (k, c as f64 / N as f64))
        .collect()
}

fn near(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:.4}, want {want} ± {tol}"
    );
}

#[test]
fn r_d4_priority_draw_is_70_20_10_across_visits() {
    let snap = snapshot(
        0,
        vec![
            campaign("hi", "high", &["e-hi"]),
            campaign("mid", "medium", &["e-mid"]),
            campaign("lo", "low", &["e-lo"]),
        ],
    );
    let s = shares(&snap);
    near(s["e-hi"], 0.70, 0.025, "high");
    near(s["e-mid"], 0.20, 0.02, "medium");
    near(s["e-lo"], 0.10, 0.015, "low");
}

#[test]
fn r_d4_weights_renormalise_over_the_tiers_present() {
    let snap = snapshot(
        0,
        vec![
            campaign("mid", "medium", &["e-mid"]),
            campaign("lo", "low", &["e-lo"]),
        ],
    );
    let s = shares(&snap);
    near(s["e-mid"], 2.0 / 3.0, 0.025, "medium of medium+low");
    near(s["e-lo"], 1.0 / 3.0, 0.025, "low of medium+low");
}

#[test]
fn r_d4_ties_in_a_tier_are_uniform() {
    let snap = snapshot(
        0,
        vec![
            campaign("a", "high", &["e-a1", "e-a2"]),
            campaign("b", "high", &["e-b1"]),
        ],
    );
    let s = shares(&snap);
    for id in ["e-a1", "e-a2", "e-b1"] {
        near(s[id], 1.0 / 3.0, 0.025, id);
    }
}

#[test]
fn r_d4_draws_are_sticky_per_visit() {
    let snap = snapshot(
        0,
        vec![
            campaign("hi", "high", &["e-hi", "e-hi2"]),
            campaign("mid", "medium", &["e-mid"]),
            campaign("lo", "low", &["e-lo"]),
        ],
    );
    for i in 0..500 {
        let v = visitor("someone", &format!("visit-{i}"));
        let first = run(&snap, &v).engagements[0].engagement_id;
        for _ in 0..3 {
            assert_eq!(run(&snap, &v).engagements[0].engagement_id, first);
        }
    }
}

#[test]
fn r_d5_control_groups_are_sized_sticky_and_independent() {
    let (mut account, mut campaign, mut both) = (0usize, 0usize, 0usize);
    for i in 0..N {
        let id = format!("visitor-{i}");
        let a = ControlGroup::new("acme", "account", 10).holds(&id);
        let c = ControlGroup::new("acme", "summer", 20).holds(&id);
        assert_eq!(
            a,
            ControlGroup::new("acme", "account", 10).holds(&id),
            "sticky"
        );
        account += usize::from(a);
        campaign += usize::from(c);
        both += usize::from(a && c);
    }
    near(account as f64 / N as f64, 0.10, 0.015, "account 10%");
    near(campaign as f64 / N as f64, 0.20, 0.02, "campaign 20%");
    near(
        both as f64 / N as f64,
        0.02,
        0.007,
        "independent: 10% x 20%",
    );
}

#[test]
fn r_d5_account_control_visitors_see_nothing_and_are_told_so() {
    let snap = snapshot(25, vec![campaign("hi", "high", &["e-hi"])]);
    let mut control = 0;
    for i in 0..2_000 {
        let d = run(&snap, &visitor(&format!("visitor-{i}"), "visit"));
        if d.control_groups.account {
            control += 1;
            assert!(d.engagements.is_empty());
        } else {
            assert_eq!(d.engagements.len(), 1);
        }
    }
    near(f64::from(control) / 2_000.0, 0.25, 0.05, "account 25%");
}
