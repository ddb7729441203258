//! A guard on what a decision allocates (BENCHMARKS.md, "Fewer allocations per decision"):
//! allocations were a third of a demo decision's time, and their number is deterministic
//! where timings are not. The bounds are the measured counts with a little room, so that a
//! change which copies texts per shown engagement again, or grows a list per candidate, fails
//! here rather than only in a benchmark nobody reran.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use edge_engage::engine::agent::Availability;
use edge_engage::scale::{self, bench};
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static CALLS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations and reallocations made by `f`.
fn allocations(f: impl FnOnce() -> usize) -> (usize, usize) {
    let before = CALLS.load(Ordering::Relaxed);
    let shown = f();
    (CALLS.load(Ordering::Relaxed) - before, shown)
}

/// One test, so that no other test allocates while this one counts. R-D1..R-D6 decide these
/// (candidates, arbitration, the visit's rules); the decisions are the timed ones of
/// `engine_timing`.
#[test]
fn a_decision_allocates_no_more_than_measured() {
    let demo = common::demo();
    let demo_availability: Availability = serde_json::from_value(json!({
        "sales": {"onlineAgents": 4, "expectedWaitSeconds": 35},
        "support": {"onlineAgents": 2, "expectedWaitSeconds": 90}
    }))
    .unwrap();
    let visitor = bench::visitor(
        "https://www.demo-outfitters.example/shop/boots",
        &[],
        json!({}),
    )
    .unwrap();
    let zones = bench::zones(&["left", "right", "proactive", "embedded:product-chat"]);
    let (calls, shown) =
        allocations(|| bench::decide_count(&demo, &visitor, &zones, &demo_availability));
    println!("demo decision: {calls} allocations, {shown} shown");
    assert_eq!(shown, 3, "the demo decision shows three engagements");
    assert!(
        calls <= 75,
        "a demo decision made {calls} allocations (measured: 70)"
    );

    let text = scale::snapshot(7, 2_000);
    let snap = edge_engage::engine::snapshot::load(&text, "scale", 1).unwrap();
    let availability: Availability =
        serde_json::from_value(scale::availability()["skills"].clone()).unwrap();
    let visitor = bench::scale_visitor().unwrap();
    let zones = bench::scale_zones();
    let (calls, shown) =
        allocations(|| bench::decide_count(&snap, &visitor, &zones, &availability));
    println!("scale decision: {calls} allocations, {shown} shown");
    assert_eq!(shown, 5, "the scale decision fills its five zones");
    assert!(
        calls <= 140,
        "a scale decision made {calls} allocations (measured: 133)"
    );
}
