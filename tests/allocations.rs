//! A guard on what a decision allocates (docs/benchmarks-history.md, "Fewer allocations per decision"):
//! allocations were a third of a demo decision's time, and their number is deterministic
//! where timings are not. The bounds are the measured counts with a little room, so that a
//! change which copies texts per shown engagement again, or grows a list per candidate, fails
//! here rather than only in a benchmark nobody reran.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use edge_engage::engine::agent::Availability;
use edge_engage::engine::snapshot::{load, Snapshot};
use edge_engage::engine::visitor::Visitor;
use edge_engage::engine::zone::Zone;
use edge_engage::scale::{self, bench};
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

/// Decides once, as the timed decisions do, and checks what it showed and that it made at
/// most `bound` allocations and reallocations.
fn check(
    name: &str,
    snap: &Snapshot,
    (visitor, zones, availability): (&Visitor, &[Zone], &Availability),
    shown: usize,
    bound: usize,
) {
    let before = CALLS.load(Ordering::Relaxed);
    let got = bench::decide_count(snap, visitor, zones, availability);
    let calls = CALLS.load(Ordering::Relaxed) - before;
    println!("{name} decision: {calls} allocations, {got} shown");
    assert_eq!(got, shown, "{name}: engagements shown");
    assert!(
        calls <= bound,
        "a {name} decision made {calls} allocations (at most {bound})"
    );
}

/// One test, so that no other test allocates while this one counts. R-D1..R-D6 decide these
/// (candidates, arbitration, the visit's rules); the decisions are the timed ones of
/// `engine_timing`. Measured when written: 70 (demo) and 133 (scale); 37 and 79 since contexts
/// are built only where the visit's object stores them, and a visit that nothing keeps holds
/// no zones, pages or attributes; 31 and 47 since the visit's request borrows its ids,
/// zone names and control groups, and the lists a decision fills are sized once; 33 and 49 with
/// the per-request memos of time frames and attribute paths.
#[test]
fn a_decision_allocates_no_more_than_measured() {
    let demo = common::demo();
    let availability = bench::demo_availability().unwrap();
    let visitor = bench::demo_visitor().unwrap();
    check(
        "demo",
        &demo,
        (&visitor, &bench::demo_zones(), &availability),
        3,
        36,
    );

    let text = scale::snapshot(7, 2_000);
    let snap = load(&text, "scale", 1).unwrap();
    let availability = bench::scale_availability().unwrap();
    let visitor = bench::scale_visitor().unwrap();
    check(
        "scale",
        &snap,
        (&visitor, &bench::scale_zones(), &availability),
        5,
        54,
    );
}
