//! R-S4: measures what a compiled snapshot takes in memory, with a counting allocator, and holds
//! the cache's estimate (`tenancy::budget::entry_bytes`) to it: never below what compiling
//! really keeps, and not wildly above (the budget would then hold too few accounts).

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

mod common;

use edge_engage::engine::snapshot::compile;
use edge_engage::tenancy::budget::{entry_bytes, BYTES_PER_TEXT_BYTE};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes a compiled snapshot keeps alive once its text is dropped.
fn kept(text: &str, account: &str) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    let compiled = compile(text, account, 1).unwrap();
    let after = LIVE.load(Ordering::Relaxed);
    drop(compiled);
    after.saturating_sub(before)
}

/// One test, so that no other test allocates while this one counts.
#[test]
fn r_s4_the_cache_estimate_covers_what_compiled_snapshots_keep() {
    let demo = common::fixture("demo/snapshot.json");
    let mut cases = vec![("demo", demo)];
    for engagements in [50, 200, 1_000, 2_000, 5_000] {
        cases.push(("scale", edge_engage::scale::snapshot(7, engagements)));
    }
    for (account, text) in &cases {
        let bytes = kept(text, account);
        let estimate = entry_bytes(text.len());
        println!(
            "{account}: text {} B, compiled {bytes} B ({:.2} per text byte), estimate {estimate} B",
            text.len(),
            bytes as f64 / text.len() as f64
        );
        assert!(
            estimate >= bytes,
            "{account}: estimate {estimate} < {bytes}"
        );
        assert!(
            estimate <= bytes * 3,
            "{account}: estimate {estimate} more than 3x {bytes} (factor {BYTES_PER_TEXT_BYTE})"
        );
    }
}
