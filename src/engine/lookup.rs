//! Maps a decision looks up on every request (engagements by id, zones, skills, the agents'
//! availability), hashed with FxHash instead of the standard library's SipHash: a few
//! multiplications per key instead of a keyed permutation, which profiling showed at about 7 %
//! of a demo decision under V8. Their keys are the account's own ids, written by its
//! publisher and bounded by the snapshot's limits; a request only looks keys up. SipHash's
//! keyed defence against chosen collisions guards maps that untrusted input fills, which
//! these are not. Also the slots of a request's memos ([`once`]).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map keyed by the account's ids ([`IdHasher`]).
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A request's memo slot: the value it holds, else `work`'s, kept in the slot. Without a slot
/// (an index past the memo) the value is worked out and not kept.
// Inlined: under opt-level "s" a call per memo probe measured about 1 µs more per scale decision.
#[inline(always)]
pub fn once<T: Copy>(slot: Option<&mut Option<T>>, work: impl FnOnce() -> T) -> T {
    match slot {
        Some(Some(known)) => *known,
        Some(empty) => *empty.insert(work()),
        None => work(),
    }
}

/// FxHash, as rustc hashes its own tables: per word, rotate, xor, multiply.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher {
    hash: u64,
}

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(26) ^ word).wrapping_mul(K);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.add(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            if let Some(head) = b.get_mut(..rest.len()) {
                head.copy_from_slice(rest);
            }
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // The table takes its bucket from the low bits, which a multiplication mixes least.
        self.hash.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    fn hash(s: &str) -> u64 {
        BuildHasherDefault::<IdHasher>::default().hash_one(s)
    }

    /// Ids that differ only in a trailing byte, their length or a shared prefix hash apart, and
    /// the low bits a table indexes by spread over its buckets.
    #[test]
    fn ids_hash_apart_and_spread_over_buckets() {
        let ids: Vec<String> = (0..2_000)
            .map(|i| format!("camp-{}-eng-{i}", i / 4))
            .chain(["a", "a\0", "ab", "abcdefgh", "abcdefgh\0", "abcdefghi"].map(String::from))
            .collect();
        let hashes: HashSet<u64> = ids.iter().map(|s| hash(s)).collect();
        assert_eq!(hashes.len(), ids.len());
        let buckets: HashSet<u64> = ids.iter().map(|s| hash(s) & 4095).collect();
        assert!(buckets.len() > 1_500, "{} of 4096 buckets", buckets.len());
    }

    /// A memo slot works its value out once and keeps it; past the memo, nothing is kept.
    #[test]
    fn a_slot_is_worked_out_once() {
        let mut memo = vec![None; 2];
        let mut calls = 0;
        for _ in 0..3 {
            let got = once(memo.get_mut(1), || {
                calls += 1;
                7
            });
            assert_eq!(got, 7);
        }
        assert_eq!((calls, memo.as_slice()), (1, [None, Some(7)].as_slice()));
        assert_eq!(once(memo.get_mut(5), || 9), 9);
        assert_eq!(memo.len(), 2);
    }

    #[test]
    fn an_id_map_finds_what_it_holds() {
        let mut m: IdMap<String, usize> = IdMap::default();
        for i in 0..100 {
            m.insert(format!("eng-{i}"), i);
        }
        assert_eq!(m.get("eng-42"), Some(&42));
        assert_eq!(m.get("eng-100"), None);
    }
}
