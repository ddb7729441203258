//! The engine's share of the worker's wasm (BENCHMARKS.md "Wasm size"): every engine
//! path the worker calls (snapshot compile and load, a decision, the visit's request and record
//! across the hop, the visit's own decision, an offsite click), and nothing of the platform.
//! Built for `wasm32-wasip1` with the deploy profile and measured gzipped; it reads a snapshot
//! on stdin, so that the compiler keeps every path.
//! `cargo build --release --features testing --target wasm32-wasip1 --example engine_size`
#![allow(clippy::unwrap_used)]

use edge_engage::engine::offsite::click;
use edge_engage::engine::snapshot::{compile, load};
use edge_engage::engine::visit::{Recorded, VisitRequest, VisitState};
use edge_engage::scale::bench;

fn main() {
    let text = std::io::read_to_string(std::io::stdin()).unwrap();
    let published = compile(&text, "demo", 1).unwrap();
    let loaded = load(&text, "demo", 1).unwrap();
    let availability = bench::demo_availability().unwrap();
    let visitor = bench::demo_visitor().unwrap();
    let shown = bench::decide_count(&loaded, &visitor, &bench::demo_zones(), &availability);
    let request = bench::scale_visit_request(&published, &visitor, &availability);
    let sent = serde_json::to_string(&request).unwrap();
    let request: VisitRequest = serde_json::from_str(&sent).unwrap();
    let answer = VisitState::default().decide(&request, &mut || String::from("ctx"));
    let record = Recorded::of(request, &answer);
    let told = serde_json::to_string(&record).unwrap();
    let record: Recorded = serde_json::from_str(&told).unwrap();
    let landed = click(
        &published,
        "e-offsite-email",
        "visitor-0001",
        &visitor.attributes,
        bench::NOW,
        &availability,
    )
    .is_some();
    println!("{shown} {} {landed}", record.shown.len());
}
