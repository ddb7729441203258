//! The scale account compiles (R-P1) and decides; the generator is deterministic.
#![allow(clippy::panic)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edge_engage::engine::snapshot::compile;
use edge_engage::scale;

#[test]
fn scale_account_is_valid_deterministic_and_sized() {
    let text = scale::snapshot(7, 2_000);
    assert_eq!(text, scale::snapshot(7, 2_000));
    let snap = compile(&text, "scale", 1).unwrap_or_else(|p| panic!("{:?}", &p[..p.len().min(5)]));
    assert_eq!(snap.campaigns.len(), 500);
    assert_eq!(snap.engagements.len(), 2_000);
}
