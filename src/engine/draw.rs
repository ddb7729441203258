//! Draws (R-D4, R-D5): GrowthBook's bucketing hash, the sticky per-visit draws of arbitration
//! and the control groups. Every random choice of a decision is one of these functions of an id,
//! so the same visit (or visitor) gets the same answer, and different ones are independent.

/// FNV-1a's offset basis: the state before any input.
const FNV_OFFSET: u32 = 0x811c_9dc5;

/// One FNV-1a step: the state after one more code unit.
const fn fnv_step(h: u32, unit: u32) -> u32 {
    (h ^ unit).wrapping_mul(0x0100_0193)
}

/// FNV-1a 32-bit over UTF-16 code units, as GrowthBook's SDKs compute it.
fn fnv1a32(s: &str) -> u32 {
    fnv_continue(FNV_OFFSET, s)
}

/// The FNV-1a state after the concatenation of `parts`: a seed hashed once (per campaign, at
/// compile time) and continued per request by [`hash_v2_seeded`].
pub fn fnv_seed(parts: &[&str]) -> u32 {
    parts
        .iter()
        .fold(FNV_OFFSET, |h, part| fnv_continue(h, part))
}

/// Folds `step` over `value`'s UTF-16 code units, as GrowthBook hashes text; an ASCII string's
/// code units are its bytes, read without decoding.
fn fold_units<S>(value: &str, init: S, step: impl Fn(S, u32) -> S) -> S {
    if value.is_ascii() {
        value.bytes().fold(init, |s, b| step(s, u32::from(b)))
    } else {
        value
            .encode_utf16()
            .fold(init, |s, u| step(s, u32::from(u)))
    }
}

/// FNV-1a continued from `state` over `value`'s UTF-16 code units.
fn fnv_continue(state: u32, value: &str) -> u32 {
    fold_units(value, state, fnv_step)
}

/// [`hash`] version 2 of (seed, value) given the seed's [`fnv_seed`] state, without allocating.
pub fn hash_v2_seeded(seed_state: u32, value: &str) -> f64 {
    scaled(bucket_v2(fnv_continue(seed_state, value)))
}

/// A bucket of [`bucket_v2`] as GrowthBook's number in `[0, 1)`.
fn scaled(bucket: u32) -> f64 {
    f64::from(bucket) / 10_000.0
}

/// FNV-1a's state after the text of each two-digit number `10`..`99`, by that number: the
/// first two steps of the second round for every number of two digits or more, read instead of
/// computed (the round is ten dependent multiplications for most numbers).
#[allow(clippy::indexing_slicing)] // a constant: `i` runs over the table's own indices.
const FIRST_TWO: [u32; 100] = {
    let mut table = [0u32; 100];
    let mut i = 0;
    while i < 100 {
        let first = fnv_step(FNV_OFFSET, b'0' as u32 + (i / 10) as u32);
        table[i] = fnv_step(first, b'0' as u32 + (i % 10) as u32);
        i += 1;
    }
    table
};

/// The second round of version 2: FNV-1a of `inner`'s decimal digits, as `inner.to_string()`
/// would give them (built on the stack), modulo 10,000: the hash is this bucket / 10,000.
fn bucket_v2(inner: u32) -> u32 {
    // Ten digits, zero-padded, each its own division (no chain of divisions from the last
    // digit up); the leading zeros are then skipped, keeping the last digit of 0.
    let (high, low) = (inner / 100_000, inner % 100_000);
    let five = |n: u32| {
        [
            n / 10_000,
            n / 1_000 % 10,
            n / 100 % 10,
            n / 10 % 10,
            n % 10,
        ]
    };
    let [a, b, c, d, e] = five(high);
    let [f, g, h, i, j] = five(low);
    let digits = [a, b, c, d, e, f, g, h, i, j];
    let start = digits
        .iter()
        .position(|&d| d != 0)
        .unwrap_or(digits.len() - 1);
    // ASCII digits: hashing the bytes is hashing the string; two or more start from the table.
    let (state, rest) = match digits.get(start..).unwrap_or(&[]) {
        [first, second, rest @ ..] => {
            let two = FIRST_TWO.get((first * 10 + second) as usize);
            (two.copied().unwrap_or(FNV_OFFSET), rest)
        }
        one => (FNV_OFFSET, one),
    };
    let outer = rest
        .iter()
        .fold(state, |h, &d| fnv_step(h, u32::from(b'0') + d));
    outer % 10_000
}

/// [`hash_v2_seeded`] of one value under two seeds, in one pass over it: the two hash chains
/// are independent, so the processor runs their multiplications side by side.
fn hash_v2_seeded_pair(seeds: [u32; 2], value: &str) -> [f64; 2] {
    let [a, b] = fold_units(value, seeds, |[a, b], unit| {
        [fnv_step(a, unit), fnv_step(b, unit)]
    });
    [scaled(bucket_v2(a)), scaled(bucket_v2(b))]
}

/// [`hash`] version 2 of (seed, value) where the seed is the concatenation of `seed_parts`.
pub fn hash_v2_parts(seed_parts: &[&str], value: &str) -> f64 {
    hash_v2_seeded(fnv_seed(seed_parts), value)
}

/// GrowthBook's bucketing hash: a uniform number in `[0, 1)` for (seed, value).
/// Version 2 is the default; version 1 is kept for the specification's vectors.
pub fn hash(seed: &str, value: &str, version: u8) -> Option<f64> {
    match version {
        2 => {
            let inner = fnv1a32(&format!("{seed}{value}"));
            Some(f64::from(fnv1a32(&inner.to_string()) % 10_000) / 10_000.0)
        }
        1 => Some(f64::from(fnv1a32(&format!("{value}{seed}")) % 1_000) / 1_000.0),
        _ => None,
    }
}

/// A uniform draw in `[0, 1)` for `unit`, independent per `purpose` (R-D4, R-D5). The seed
/// is `{account}|{purpose}|`; `purpose` may come in parts (joined as written, at most three).
pub fn draw(account: &str, purpose: &[&str], unit: &str) -> f64 {
    let mut seed: [&str; 6] = [account, "|", "", "", "", ""];
    for (slot, p) in seed.iter_mut().skip(2).zip(purpose.iter().take(3)) {
        *slot = p;
    }
    let used = 2 + purpose.len().min(3);
    if let Some(slot) = seed.get_mut(used) {
        *slot = "|";
    }
    hash_v2_parts(seed.get(..=used).unwrap_or(&seed), unit)
}

/// The two draws of R-D4 for one zone of one visit: the priority tier, then the tie.
/// Their seeds share `{account}|{zone}`, hashed once.
pub fn zone_draws(account: &str, zone: &str, visit_id: &str) -> [f64; 2] {
    let shared = fnv_seed(&[account, "|", zone]);
    let seeds = [
        fnv_continue(shared, "|tier|"),
        fnv_continue(shared, "|tie|"),
    ];
    hash_v2_seeded_pair(seeds, visit_id)
}

/// A control group (R-D5): `percent`% of visitors, drawn from the visitor id with a seed per
/// scope (`account`, or a campaign id), so membership is sticky across visits and the account
/// and campaign draws are independent. The seed is hashed once, when the snapshot compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlGroup {
    seed: u32,
    /// Share of visitors held out, 0-100.
    pub percent: u8,
}

impl ControlGroup {
    /// The group of `scope` in `account`.
    pub fn new(account: &str, scope: &str, percent: u8) -> ControlGroup {
        ControlGroup {
            seed: fnv_seed(&[account, "|control|", scope, "|"]),
            percent,
        }
    }

    /// R-D5: is this visitor held out?
    pub fn holds(&self, visitor_id: &str) -> bool {
        // bucket / 10,000 < percent / 100 in integers: the two sides are never closer than
        // 1 / 10,000 unless equal, so the quotients' rounding cannot turn the comparison.
        self.percent > 0
            && bucket_v2(fnv_continue(self.seed, visitor_id)) < 100 * u32::from(self.percent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GrowthBook hashes UTF-16 code units: the ASCII fast path and seeds hashed in parts give
    /// what hashing the whole string's code units gives, for text beyond ASCII too (a
    /// character outside the BMP is two code units).
    #[test]
    fn fnv_is_over_utf16_code_units_whatever_the_parts() {
        let reference = |s: &str| {
            s.encode_utf16().fold(FNV_OFFSET, |h, unit| {
                (h ^ u32::from(unit)).wrapping_mul(0x0100_0193)
            })
        };
        for (parts, value) in [
            (["acme", "|control|", "summer", "|"], "visitor-1"),
            (["café", "|", "zone-ü", "|tier|"], "visit-日本"),
            (["a", "", "😀", "é"], "😀x"),
        ] {
            let whole = format!("{}{value}", parts.concat());
            assert_eq!(fnv1a32(&whole), reference(&whole), "{whole}");
            assert_eq!(
                fnv_continue(fnv_seed(&parts), value),
                reference(&whole),
                "{whole}"
            );
        }
    }

    /// R-D5: the precomputed seed draws exactly what the general draw does for that scope.
    #[test]
    fn r_d5_control_group_is_the_scoped_draw() {
        for percent in [0, 1, 5, 20, 33, 50, 99, 100] {
            let g = ControlGroup::new("acme", "summer", percent);
            for i in 0..5_000 {
                let id = format!("visitor-{i}");
                let draw = draw("acme", &["control|", "summer"], &id);
                let by_draw = draw < f64::from(percent) / 100.0;
                assert_eq!(g.holds(&id), by_draw, "{id} at {percent} %");
            }
        }
    }

    /// Version 2's second round hashes `inner.to_string()`, at every number of digits.
    #[test]
    fn the_second_round_hashes_the_decimal_text() {
        let mut values = vec![
            0,
            1,
            9,
            10,
            99,
            100,
            99_999,
            100_000,
            100_001,
            1 << 30,
            u32::MAX,
        ];
        values.extend((0..5_000u32).map(|i| i.wrapping_mul(2_654_435_761)));
        values.extend((0..5_000u32).map(|i| i.wrapping_mul(2_654_435_761) >> (i % 32)));
        for n in values {
            let expected = f64::from(fnv1a32(&n.to_string()) % 10_000) / 10_000.0;
            assert_eq!(scaled(bucket_v2(n)), expected, "{n}");
        }
    }

    /// R-D4: a zone's two draws, with their shared seed hashed once, are the general draws of
    /// `{zone}|tier` and `{zone}|tie`.
    #[test]
    fn r_d4_zone_draws_are_the_general_draws() {
        let zones = ["left", "right", "proactive", "embedded:hero-é"];
        for (i, zone) in zones.iter().enumerate() {
            for visit in [format!("visit-{i}"), format!("visit-{i}-ü")] {
                let expected = [
                    draw("acme", &[zone, "|tier"], &visit),
                    draw("acme", &[zone, "|tie"], &visit),
                ];
                assert_eq!(zone_draws("acme", zone, &visit), expected, "{zone} {visit}");
            }
        }
    }
}
