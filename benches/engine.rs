//! Native engine benchmarks (BENCHMARKS.md): decisions for the demo and the scale account,
//! snapshot compile, offsite eligibility, cost growth with engagements, and the same rule in
//! our condition engine and in Unleash's yggdrasil, side by side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use edge_engage::engine::agent::Availability;
use edge_engage::engine::candidate::Inputs;
use edge_engage::engine::condition::{Condition, SavedGroups};
use edge_engage::engine::decision::decide;
use edge_engage::engine::offsite::click;
use edge_engage::engine::snapshot::{compile, Snapshot};
use edge_engage::engine::visitor::{Edge, PageView, Visitor};
use edge_engage::engine::zone::Zone;
use edge_engage::scale;
use serde_json::{json, Map, Value};
use std::hint::black_box;

fn visitor(url: &str, sections: &[String], attrs: Value) -> Visitor {
    let url = url::Url::parse(url).unwrap();
    let page = PageView {
        url: &url,
        sections,
        referrer: None,
        authenticated: false,
    };
    let edge = Edge {
        country: Some("GB".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".into()),
        ..Edge::default()
    };
    let attrs: Map<String, Value> = serde_json::from_value(attrs).unwrap();
    Visitor::new("visitor-0001", "visit-1", &page, attrs, &edge)
}

fn availability(v: Value) -> Availability {
    serde_json::from_value(v).unwrap()
}

fn run(snap: &Snapshot, v: &Visitor, zones: &[Zone], avail: &Availability) -> usize {
    let ctx = Inputs {
        visitor: v,
        zones,
        now: "2026-11-23T10:00:00Z".parse().unwrap(),
        availability: avail,
        explain: false,
    };
    decide(snap, &ctx, &mut || String::from("ctx"))
        .engagements
        .len()
}

fn demo() -> Snapshot {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/demo/snapshot.json"
    ))
    .unwrap();
    compile(&text, "demo", 1).unwrap()
}

fn scale_zones() -> Vec<Zone> {
    [
        "left",
        "right",
        "proactive",
        "embedded:slot-3",
        "embedded:slot-7",
    ]
    .iter()
    .map(|z| Zone::parse(z).unwrap())
    .collect()
}

fn scale_visitor() -> Visitor {
    visitor(
        "https://shop.example/category-7/boots-42",
        &["section-10".to_string()],
        json!({"cartValue": 120, "returning": true}),
    )
}

fn benches(c: &mut Criterion) {
    let demo = demo();
    let demo_avail = availability(
        json!({"sales": {"onlineAgents": 4, "expectedWaitSeconds": 35}, "support": {"onlineAgents": 2, "expectedWaitSeconds": 90}}),
    );
    let dv = visitor(
        "https://www.demo-outfitters.example/shop/boots",
        &[],
        json!({}),
    );
    let demo_zones: Vec<Zone> = ["left", "right", "proactive", "embedded:product-chat"]
        .iter()
        .map(|z| Zone::parse(z).unwrap())
        .collect();
    assert!(run(&demo, &dv, &demo_zones, &demo_avail) > 0);
    c.bench_function("decide/demo", |b| {
        b.iter(|| run(black_box(&demo), black_box(&dv), &demo_zones, &demo_avail))
    });

    let scale_text = scale::snapshot(7, 2_000);
    let scale_avail = availability(scale::availability()["skills"].clone());
    let snap = compile(&scale_text, "scale", 1).unwrap();
    let sv = scale_visitor();
    let zones = scale_zones();
    c.bench_function("decide/scale-2000", |b| {
        b.iter(|| run(black_box(&snap), black_box(&sv), &zones, &scale_avail))
    });
    c.bench_function("snapshot/parse+validate+index scale-2000", |b| {
        b.iter(|| {
            compile(black_box(&scale_text), "scale", 1)
                .unwrap()
                .engagements
                .len()
        })
    });

    let link =
        url::Url::parse("https://edge.example/o/demo/e-offsite-email?utm_source=news").unwrap();
    let attrs = visitor(link.as_str(), &[], json!({})).attributes;
    let now = "2026-11-23T10:00:00Z".parse().unwrap();
    c.bench_function("offsite/click demo", |b| {
        b.iter(|| {
            click(
                black_box(&demo),
                "e-offsite-email",
                "visitor-0001",
                &attrs,
                now,
                &demo_avail,
            )
            .unwrap()
            .outcome
        })
    });

    let mut growth = c.benchmark_group("decide/growth");
    for n in [10usize, 100, 1_000, 2_000] {
        let s = compile(&scale::snapshot(7, n), "scale", 1).unwrap();
        growth.bench_with_input(BenchmarkId::from_parameter(n), &s, |b, s| {
            b.iter(|| run(black_box(s), &sv, &zones, &scale_avail))
        });
    }
    growth.finish();

    peer(c);
}

/// One constraint (country in a list of 5) and two (country and a numeric range), evaluated
/// by our condition engine and by Unleash's yggdrasil on the same inputs.
fn peer(c: &mut Criterion) {
    use unleash_yggdrasil::{Context as UContext, EngineState, UpdateMessage};
    let features: unleash_yggdrasil::ClientFeatures = serde_json::from_value(json!({
        "version": 2,
        "features": [
            {"name": "one", "enabled": true, "strategies": [{"name": "default", "constraints": [
                {"contextName": "country", "operator": "IN", "values": ["GB", "IE", "FR", "DE", "ES"]}]}]},
            {"name": "two", "enabled": true, "strategies": [{"name": "default", "constraints": [
                {"contextName": "country", "operator": "IN", "values": ["GB", "IE", "FR", "DE", "ES"]},
                {"contextName": "cartValue", "operator": "NUM_GTE", "value": "100"},
                {"contextName": "cartValue", "operator": "NUM_LT", "value": "500"}]}]}
        ]
    }))
    .unwrap();
    let engine = EngineState::default();
    engine.take_state(UpdateMessage::FullResponse(features));
    let ctx = UContext {
        properties: Some(
            [
                ("country".to_string(), "FR".to_string()),
                ("cartValue".to_string(), "250".to_string()),
            ]
            .into(),
        ),
        ..UContext::default()
    };
    assert!(engine.is_enabled("one", &ctx, &None) && engine.is_enabled("two", &ctx, &None));

    let mut problems = Vec::new();
    let one = Condition::compile(
        &json!({"country": {"$in": ["GB", "IE", "FR", "DE", "ES"]}}),
        &mut problems,
    );
    let two = Condition::compile(
        &json!({"country": {"$in": ["GB", "IE", "FR", "DE", "ES"]}, "cartValue": {"$gte": 100, "$lt": 500}}),
        &mut problems,
    );
    assert!(problems.is_empty());
    let attrs = json!({"country": "FR", "cartValue": 250});
    let groups = SavedGroups::new();
    assert!(one.eval(&attrs, &groups) && two.eval(&attrs, &groups));

    let mut g = c.benchmark_group("peer");
    g.bench_function("ours/one-constraint", |b| {
        b.iter(|| one.eval(black_box(&attrs), &groups))
    });
    g.bench_function("yggdrasil/one-constraint", |b| {
        b.iter(|| engine.is_enabled("one", black_box(&ctx), &None))
    });
    g.bench_function("ours/two-constraints", |b| {
        b.iter(|| two.eval(black_box(&attrs), &groups))
    });
    g.bench_function("yggdrasil/two-constraints", |b| {
        b.iter(|| engine.is_enabled("two", black_box(&ctx), &None))
    });
    g.finish();
}

criterion_group! {
    name = engine;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(engine);
