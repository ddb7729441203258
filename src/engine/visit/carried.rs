//! A decision made in the worker without the visit's object, when the object's state cannot
//! change the answer (the declines the tag carried, R-D7).

use super::wire::{VisitAnswer, VisitRequest};
use super::VisitState;
use std::collections::BTreeSet;

/// Decides a tag request without its visit's object, when the object's state cannot
/// change the answer: the tag carried the engagements the visitor closed in this visit
/// (`declined`, R-D7) with a page view's first decision, and no requested zone has a proactive
/// candidate. Then no proactive cap (R-D6) or proactive-decline policy (R-D7) applies, the
/// closed engagements are the ones carried (they can only take engagements away), a new page
/// holds no zone yet (R-D4), and the draws are the visit's own (a hash of its id). `None` when
/// the object must be asked: a proactive candidate is in play, nothing was carried, the visitor
/// is in the account's control group, or the request wants the visit's verdicts (R-P3).
pub fn decide_carried(
    req: &VisitRequest<'_>,
    declined: Option<&BTreeSet<String>>,
    new_id: &mut dyn FnMut() -> String,
) -> Option<VisitAnswer> {
    let declined = declined?;
    let proactive = req
        .zones
        .iter()
        .flat_map(|z| z.candidates.iter())
        .any(|c| c.proactive);
    if proactive || req.explain || req.control.account {
        return None;
    }
    let visit = VisitState {
        declined: declined.clone(),
        ..VisitState::default()
    };
    Some(visit.decide_once(req, new_id))
}
