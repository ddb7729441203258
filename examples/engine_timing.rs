//! Times the engine's hot paths with a plain clock, to run the same code natively and as
//! wasm under V8 (Node's WASI): scripts/bench-v8.sh builds it both ways and prints them side
//! by side. The scale snapshot is generated in the process; the demo one is embedded, since
//! WASI gets no file system here. Prints one JSON line per measurement: the median of
//! `rounds` rounds, each the mean of a batch of runs, in microseconds.
//! `cargo run --release --features testing --example engine_timing -- [rounds]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edge_engage::engine::offsite::click;
use edge_engage::engine::snapshot::{compile, load};
use edge_engage::engine::visit::{Recorded, VisitRequest, VisitState};
use edge_engage::scale::{self, bench};
use serde_json::json;
use std::hint::black_box;
use std::time::Instant;

const DEMO: &str = include_str!("../fixtures/demo/snapshot.json");

/// Warm-up before timing: V8 compiles wasm first with its baseline compiler (Liftoff) and
/// replaces hot functions with optimised code later; with a few calls of warm-up it sometimes
/// timed the baseline code (a scale decision at 38 µs in one run of a build that times 16 µs).
const WARM_UP: std::time::Duration = std::time::Duration::from_secs(1);

/// Median over `rounds` of the mean time of `batch` calls, in µs, after calling `f` for
/// [`WARM_UP`] (at least 10 calls). A second argument runs only the measurements whose name
/// contains it (for a profiler).
fn time(name: &str, rounds: usize, batch: usize, mut f: impl FnMut() -> usize) {
    if std::env::args()
        .nth(2)
        .is_some_and(|only| !name.contains(&only))
    {
        return;
    }
    let mut sink = 0usize;
    let warming = Instant::now();
    let mut calls = 0;
    while calls < 10 || warming.elapsed() < WARM_UP {
        sink = sink.wrapping_add(f());
        calls += 1;
    }
    let mut means: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                sink = sink.wrapping_add(black_box(f()));
            }
            t.elapsed().as_secs_f64() * 1e6 / batch as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let median = means[means.len() / 2];
    println!(
        "{}",
        json!({ "name": name, "us": (median * 100.0).round() / 100.0, "rounds": rounds, "batch": batch, "sink": sink % 2 })
    );
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15);
    let demo = compile(DEMO, "demo", 1).unwrap();
    let demo_avail = bench::demo_availability().unwrap();
    let dv = bench::demo_visitor().unwrap();
    let dz = bench::demo_zones();
    assert!(bench::decide_count(&demo, &dv, &dz, &demo_avail) > 0);
    time("decide/demo", rounds, 2_000, || {
        bench::decide_count(&demo, &dv, &dz, &demo_avail)
    });

    let scale_text = scale::snapshot(7, 2_000);
    let scale_avail = bench::scale_availability().unwrap();
    let snap = compile(&scale_text, "scale", 1).unwrap();
    let sv = bench::scale_visitor().unwrap();
    let sz = bench::scale_zones();
    time("decide/scale-2000", rounds, 200, || {
        bench::decide_count(&snap, &sv, &sz, &scale_avail)
    });
    // The visit's request as the isolate sends it to the visit's object (JSON, page kept): its
    // cost on each side of the hop, for the scale account's candidates.
    let request = bench::scale_visit_request(&snap, &sv, &scale_avail);
    let sent = serde_json::to_string(&request).unwrap();
    time("visit request/write scale-2000", rounds, 50, || {
        serde_json::to_string(black_box(&request)).unwrap().len()
    });
    time("visit request/read scale-2000", rounds, 50, || {
        serde_json::from_str::<VisitRequest>(black_box(&sent))
            .unwrap()
            .zones
            .len()
    });
    // A decision made without the visit's object is told to it after the answer, with
    // only the candidates the visit reads: the same request, trimmed to what it showed.
    let answer = VisitState::default().decide(&request, &mut || String::from("ctx"));
    let record = Recorded::of(request.clone(), &answer);
    let told = serde_json::to_string(&record).unwrap();
    time("visit record/write scale-2000", rounds, 50, || {
        serde_json::to_string(black_box(&record)).unwrap().len()
    });
    time("visit record/read scale-2000", rounds, 50, || {
        serde_json::from_str::<Recorded>(black_box(&told))
            .unwrap()
            .shown
            .len()
    });
    // Publishing checks everything once; each isolate then loads the revision from KV, and
    // the first decision after a publish waits for that load (the budgeted figure).
    time("snapshot/compile scale-2000", rounds.min(9), 3, || {
        compile(black_box(&scale_text), "scale", 1)
            .unwrap()
            .engagements
            .len()
    });
    time("snapshot/load scale-2000", rounds.min(9), 3, || {
        load(black_box(&scale_text), "scale", 1)
            .unwrap()
            .engagements
            .len()
    });
    let link =
        url::Url::parse("https://edge.example/o/demo/e-offsite-email?utm_source=news").unwrap();
    let attrs = bench::visitor(link.as_str(), &[], json!({}))
        .unwrap()
        .attributes;
    let now = bench::NOW;
    time("offsite/click demo", rounds, 5_000, || {
        click(
            &demo,
            "e-offsite-email",
            "visitor-0001",
            &attrs,
            now,
            &demo_avail,
        )
        .map(|c| usize::from(c.window.is_some()))
        .unwrap_or(0)
    });
}
