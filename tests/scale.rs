//! The scale account compiles (R-P1) and decides; the generator is deterministic.
#![allow(clippy::panic)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

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

/// #16, R-M1, R-D9: a decision told to its visit after the answer carries only the candidates
/// the visit reads ([`VisitRequest::trimmed`]); the visit then records the same page, holding
/// and contexts, and counts the same facts, as from the whole request. Fifty visits of the
/// scale account (each with its own draws, so its own winners), and the control group's count
/// (nothing shown).
#[test]
fn a_trimmed_record_records_and_counts_what_the_whole_request_gives() {
    use edge_engage::engine::visit::{VisitRequest, VisitState};
    use edge_engage::scale::bench;

    let snap = compile(&scale::snapshot(7, 2_000), "scale", 1).unwrap();
    let (visitor, avail) = (
        bench::scale_visitor().unwrap(),
        bench::scale_availability().unwrap(),
    );
    let whole = bench::scale_visit_request(&snap, &visitor, &avail);
    let count = |r: &VisitRequest| r.zones.iter().map(|z| z.candidates.len()).sum::<usize>();
    let mut most = 0;
    for i in 0..50 {
        let mut request = whole.clone();
        request.visit_id = format!("visit-{i}");
        let mut n = 0;
        let shown = if i == 0 {
            Vec::new()
        } else {
            let answer = VisitState::default().decide(&request, &mut || {
                n += 1;
                format!("ctx-{n}")
            });
            assert!(!answer.chosen.is_empty(), "visit-{i} is shown something");
            answer.chosen
        };
        let trimmed = request.clone().trimmed(&shown);
        most = most.max(count(&trimmed));
        let (by_whole, by_trimmed) = (common::told(request, &shown), common::told(trimmed, &shown));
        assert_eq!(by_trimmed, by_whole, "visit-{i}");
        assert_eq!(by_whole.2.len(), shown.len(), "visit-{i}");
    }
    assert!(count(&whole) > 100, "{}", count(&whole));
    assert!(
        most * 10 < count(&whole),
        "at most {most} of {} kept",
        count(&whole)
    );
}

/// #16, R-D4: a visit that nothing keeps (the stateless preview, a decision made without the
/// visit's object) answers as a kept one does: the same engagements, contexts and draws, for
/// fifty visits of the scale account, explained and not.
#[test]
fn a_visit_nothing_keeps_answers_as_a_kept_one() {
    use edge_engage::engine::visit::VisitState;
    use edge_engage::scale::bench;

    let snap = compile(&scale::snapshot(7, 2_000), "scale", 1).unwrap();
    let (visitor, avail) = (
        bench::scale_visitor().unwrap(),
        bench::scale_availability().unwrap(),
    );
    let whole = bench::scale_visit_request(&snap, &visitor, &avail);
    for i in 0..50 {
        let mut request = whole.clone();
        request.visit_id = format!("visit-{i}");
        request.explain = i % 2 == 0;
        let ids = || {
            let mut n = 0;
            move || {
                n += 1;
                format!("ctx-{n}")
            }
        };
        let kept = VisitState::default().decide(&request, &mut ids());
        let once = VisitState::default().decide_once(&request, &mut ids());
        assert!(!kept.chosen.is_empty(), "visit-{i}");
        assert_eq!(once, kept, "visit-{i}");
    }
}
