//! R-S4: the isolate's snapshot cache is bounded in bytes, not entries. A compiled snapshot's
//! size is estimated from its JSON text (the factor measured natively by tests/memory.rs and
//! documented in docs/tenancy.md); past [`CACHE_BUDGET`], the accounts used least recently
//! are dropped from the cache (and compiled again from KV if they come back).

/// Bytes of compiled snapshots one isolate keeps (its whole memory is 128 MB).
pub const CACHE_BUDGET: usize = 40 * 1024 * 1024;

/// A compiled snapshot takes at most this many times its JSON text. Measured natively on
/// x86-64 (tests/memory.rs, which holds the estimate to it, and to no more than three times
/// what is kept): 3.7 for the demo account, 5.2 to 7.3 for generated accounts of 50 to 5,000
/// engagements, time zones being kept as rules. wasm32's pointers are half as wide, so in the worker the estimate errs high.
pub const BYTES_PER_TEXT_BYTE: usize = 9;
/// Fixed cost of an account's entry (the maps, the availability, the entry itself).
pub const ENTRY_OVERHEAD: usize = 16 * 1024;

/// Estimated bytes of an account's entry whose snapshot text is `text_len` bytes.
pub fn entry_bytes(text_len: usize) -> usize {
    text_len
        .saturating_mul(BYTES_PER_TEXT_BYTE)
        .saturating_add(ENTRY_OVERHEAD)
}

/// Which entries to drop so that the rest fit `budget`: least recently used first, never
/// `keep` (the entry the current request needs). `entries` are (key, bytes, last use).
pub fn evict<'a>(
    entries: impl IntoIterator<Item = (&'a str, usize, u64)>,
    keep: &str,
    budget: usize,
) -> Vec<&'a str> {
    let mut all: Vec<_> = entries.into_iter().collect();
    let mut total: usize = all.iter().map(|e| e.1).sum();
    all.sort_by_key(|e| e.2);
    let mut dropped = Vec::new();
    for (key, bytes, _) in all {
        if total <= budget {
            break;
        }
        if key != keep {
            total = total.saturating_sub(bytes);
            dropped.push(key);
        }
    }
    dropped
}
