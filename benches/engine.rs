//! Native engine benchmarks (BENCHMARKS.md): decisions for the demo and the scale account,
//! snapshot compile, offsite eligibility, cost growth with engagements, and the same rule in
//! our condition engine and in Unleash's yggdrasil, side by side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use edge_engage::engine::agent::Availability;
use edge_engage::engine::condition::{Condition, SavedGroups};
use edge_engage::engine::offsite::click;
use edge_engage::engine::snapshot::{compile, Snapshot};
use edge_engage::engine::visitor::Visitor;
use edge_engage::engine::zone::Zone;
use edge_engage::scale::{self, bench};
use serde_json::{json, Value};
use std::hint::black_box;

fn visitor(url: &str, sections: &[String], attrs: Value) -> Visitor {
    bench::visitor(url, sections, attrs).unwrap()
}

fn run(snap: &Snapshot, v: &Visitor, zones: &[Zone], avail: &Availability) -> usize {
    bench::decide_count(snap, v, zones, avail)
}

fn demo() -> Snapshot {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/demo/snapshot.json"
    ))
    .unwrap();
    compile(&text, "demo", 1).unwrap()
}

fn benches(c: &mut Criterion) {
    let demo = demo();
    let demo_avail = bench::demo_availability().unwrap();
    let dv = bench::demo_visitor().unwrap();
    let demo_zones = bench::demo_zones();
    assert!(run(&demo, &dv, &demo_zones, &demo_avail) > 0);
    c.bench_function("decide/demo", |b| {
        b.iter(|| run(black_box(&demo), black_box(&dv), &demo_zones, &demo_avail))
    });

    let scale_text = scale::snapshot(7, 2_000);
    let scale_avail = bench::scale_availability().unwrap();
    let snap = compile(&scale_text, "scale", 1).unwrap();
    let sv = bench::scale_visitor().unwrap();
    let zones = bench::scale_zones();
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
    let now = bench::NOW;
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
