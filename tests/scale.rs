//! The scale account compiles (R-P1) and decides; the generator is deterministic.
#![allow(clippy::panic)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use edge_engage::engine::snapshot::compile;
use edge_engage::engine::visit::{VisitRequest, VisitState};
use edge_engage::scale::{self, bench};

#[test]
fn scale_account_is_valid_deterministic_and_sized() {
    let text = scale::snapshot(7, 2_000);
    assert_eq!(text, scale::snapshot(7, 2_000));
    let snap = compile(&text, "scale", 1).unwrap_or_else(|p| panic!("{:?}", &p[..p.len().min(5)]));
    assert_eq!(snap.campaigns.len(), 500);
    assert_eq!(snap.engagements.len(), 2_000);
}

/// Fifty visits of the scale account, each asking the timed page's request under its own id
/// (so with its own draws and winners).
fn fifty_visits(mut visit: impl FnMut(usize, VisitRequest<'_>)) {
    let snap = compile(&scale::snapshot(7, 2_000), "scale", 1).unwrap();
    let (visitor, avail) = (
        bench::scale_visitor().unwrap(),
        bench::scale_availability().unwrap(),
    );
    let request = bench::scale_visit_request(&snap, &visitor, &avail);
    for i in 0..50 {
        let mut one = request.clone();
        one.visit_id = format!("visit-{i}").into();
        visit(i, one);
    }
}

/// R-M1, R-D9: a decision told to its visit after the answer carries only the candidates
/// the visit reads ([`VisitRequest::trimmed`]); the visit then records the same page, holding
/// and contexts, and counts the same facts, as from the whole request. Fifty visits, the first
/// as the control group's count (nothing shown).
#[test]
fn a_trimmed_record_records_and_counts_what_the_whole_request_gives() {
    let count = |r: &VisitRequest| r.zones.iter().map(|z| z.candidates.len()).sum::<usize>();
    let (mut most, mut total) = (0, 0);
    fifty_visits(|i, request| {
        let shown = if i == 0 {
            Vec::new()
        } else {
            let answer = VisitState::default().decide(&request, &mut common::ids());
            assert!(!answer.chosen.is_empty(), "visit-{i} is shown something");
            answer.chosen
        };
        total = count(&request);
        let trimmed = request.clone().trimmed(&shown);
        most = most.max(count(&trimmed));
        let (by_whole, by_trimmed) = (common::told(request, &shown), common::told(trimmed, &shown));
        assert_eq!(by_trimmed, by_whole, "visit-{i}");
        assert_eq!(by_whole.2.len(), shown.len(), "visit-{i}");
    });
    assert!(total > 100, "{total}");
    assert!(most * 10 < total, "at most {most} of {total} kept");
}

/// R-D4: a visit that nothing keeps (the stateless preview, a decision made without the
/// visit's object) answers as a kept one does: the same engagements, contexts and draws, for
/// fifty visits, explained and not.
#[test]
fn a_visit_nothing_keeps_answers_as_a_kept_one() {
    fifty_visits(|i, mut request| {
        request.explain = i % 2 == 0;
        let kept = VisitState::default().decide(&request, &mut common::ids());
        let once = VisitState::default().decide_once(&request, &mut common::ids());
        assert!(!kept.chosen.is_empty(), "visit-{i}");
        assert_eq!(once, kept, "visit-{i}");
    });
}
