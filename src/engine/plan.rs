//! One plan for a decision: from the request, the compiled snapshot and the clock, what a tag
//! request needs ([`plan`]): an answer now (account control, the `?visit=0` preview, or the
//! declines the tag carried), with what the visit is told after it, or one question to the
//! visit's object. [`finish`] turns the answer into the decision the tag gets. The worker, the
//! native vectors, the benches and the fuzz targets all decide through these two functions.

use super::candidate::{evaluate, Evaluation, Inputs};
use super::decision::{decision, visit_request, Decision};
use super::snapshot::Snapshot;
use super::visit::{decide_carried, Recorded, VisitAnswer, VisitRequest, VisitState};
use super::zone::Channel;
use std::collections::BTreeSet;

/// What a decision request brings beyond the candidates' [`Inputs`].
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// The page view's key for zone holding (R-D4).
    pub page_id: &'a str,
    /// The engagements the tag carried as closed in this visit (R-D7), if it did.
    pub declined: Option<&'a BTreeSet<String>>,
    /// `?visit=0`: a preview on an empty visit (no caps, holding or declines so far), for
    /// server-side rendering and measurements; the tag does not use it.
    pub preview: bool,
}

/// What to do for one decision request.
#[derive(Debug)]
pub enum Step<'a> {
    /// The answer is known without the visit's object; the object is told `after` it.
    Answer {
        /// The visit's part of the decision.
        answer: VisitAnswer,
        /// What the visit's object is sent once the answer has gone.
        after: After<'a>,
    },
    /// Ask the visit's object this request (R-D4 holding, R-D6, R-D7). When the object cannot
    /// be reached, [`fallback`] answers instead.
    Ask(VisitRequest<'a>),
}

/// What a visit's object is told after an answer it was not asked for.
#[derive(Debug)]
pub enum After<'a> {
    /// Nothing: a preview, or an explained account-control request.
    Nothing,
    /// R-D5, R-M1, R-M3: an account-control visitor's page view, counted by its visit from the
    /// candidates its count reads ([`VisitRequest::trimmed`]).
    CountHeldOut(VisitRequest<'a>),
    /// The decision made on the declines the tag carried ([`decide_carried`]), which the visit
    /// records: the page view, its held zones and its contexts.
    Record(Recorded<'a>),
}

/// A planned decision: the candidates (borrowing the snapshot, `'s`) and what to do with them
/// (borrowing the snapshot and the request, `'a`).
#[derive(Debug)]
pub struct Planned<'s, 'a> {
    /// R-D1..R-D3, R-D5: the candidates of every requested zone.
    pub eval: Evaluation<'s>,
    /// What to do next.
    pub step: Step<'a>,
}

/// Plans a decision: the candidates ([`evaluate`]), then which of four branches answers.
///
/// * **Account control** (R-D5): nothing to show, so the answer does not wait for the visit;
///   the visit counts the visitor afterwards (R-M1, R-M3), unless the request is explained.
/// * **Preview** (`?visit=0`): the visit rules on an empty visit, proactive formats included.
/// * **Carried**: the tag carried the visit's declines and no proactive candidate is in play,
///   so the visit's state cannot change the answer ([`decide_carried`]); the visit records it
///   afterwards.
/// * **Ask**: everything else goes to the visit's object, with the page kept for click-to-call.
///
/// `now_ms` is the request time as milliseconds since the epoch; `new_id` makes each context id.
///
/// # Example
///
/// ```
/// use edge_engage::engine::plan::{finish, plan, After, Page, Step};
/// use edge_engage::engine::snapshot::compile;
/// use edge_engage::scale::bench;
/// use std::collections::BTreeSet;
///
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/snapshot.json");
/// let snap = compile(&std::fs::read_to_string(path)?, "demo", 1).map_err(|p| format!("{p:?}"))?;
/// let visitor = bench::demo_visitor().ok_or("visitor")?;
/// let agents = bench::demo_availability().ok_or("agents")?;
/// let mut ids = (0..).map(|n| format!("ctx-{n}"));
/// let mut new_id = || ids.next().unwrap_or_default();
/// let declined = BTreeSet::new();
/// let page = Page { page_id: "page-1", declined: Some(&declined), preview: false };
///
/// // A proactive zone is on the page: its caps are the visit's, so the object is asked.
/// let zones = bench::zones(&["right", "proactive"]);
/// let inputs = bench::inputs(&visitor, &zones, &agents);
/// assert!(matches!(plan(&snap, &inputs, &page, &mut new_id).step, Step::Ask(_)));
///
/// // Without one, the carried declines decide here and the visit records the answer after it.
/// let zones = bench::zones(&["right"]);
/// let inputs = bench::inputs(&visitor, &zones, &agents);
/// let planned = plan(&snap, &inputs, &page, &mut new_id);
/// let Step::Answer { answer, after: After::Record(_) } = planned.step else {
///     return Err("expected a carried answer".into());
/// };
/// let decision = finish(&snap, planned.eval, answer, &inputs, &mut new_id);
/// assert_eq!(decision.engagements[0].engagement_id, "e-sales-sticky");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan<'s: 'a, 'a>(
    snap: &'s Snapshot,
    inputs: &Inputs<'a>,
    page: &Page<'a>,
    new_id: &mut dyn FnMut() -> String,
) -> Planned<'s, 'a> {
    let eval = evaluate(snap, inputs);
    let now_ms = u64::try_from(inputs.now.as_millisecond()).unwrap_or(0);
    let request =
        |explain| visit_request(snap, &eval, inputs.visitor, page.page_id, now_ms, explain);
    let step = if eval.control_groups.account {
        let after = if inputs.explain {
            After::Nothing
        } else {
            let mut count = request(false).keep_page(inputs.visitor).trimmed(&[]);
            count.day = snap.account.day(now_ms);
            After::CountHeldOut(count)
        };
        Step::Answer {
            answer: VisitAnswer::default(),
            after,
        }
    } else if page.preview {
        Step::Answer {
            answer: on_empty_visit(request(inputs.explain), true, new_id),
            after: After::Nothing,
        }
    } else {
        let mut ask = request(inputs.explain).keep_page(inputs.visitor);
        ask.day = snap.account.day(now_ms);
        match decide_carried(&ask, page.declined, new_id) {
            Some(answer) => Step::Answer {
                after: After::Record(Recorded::of(ask, &answer)),
                answer,
            },
            None => Step::Ask(ask),
        }
    };
    Planned { eval, step }
}

/// The fail-safe when the visit's object cannot be reached: the visit rules on an empty visit
/// without proactive formats, since caps and declines cannot be checked (R-D6, R-D7).
pub fn fallback(request: VisitRequest<'_>, new_id: &mut dyn FnMut() -> String) -> VisitAnswer {
    on_empty_visit(request, false, new_id)
}

/// The visit rules on a visit that holds nothing yet, with or without proactive candidates.
fn on_empty_visit(
    mut request: VisitRequest<'_>,
    proactive: bool,
    new_id: &mut dyn FnMut() -> String,
) -> VisitAnswer {
    if !proactive {
        for z in &mut request.zones {
            z.candidates.retain(|c| !c.proactive);
        }
    }
    VisitState::default().decide_once(&request, new_id)
}

/// The decision the tag gets from the visit's answer (R-D4's fields, R-P3's trace when
/// explained): an account-control page view still gets a page context id (R-D9), and each
/// click-to-call engagement the worker link its click goes through (R-C2).
pub fn finish<'s>(
    snap: &'s Snapshot,
    eval: Evaluation<'s>,
    answer: VisitAnswer,
    inputs: &Inputs<'_>,
    new_id: &mut dyn FnMut() -> String,
) -> Decision<'s> {
    let mut decided = decision(snap, eval, answer, inputs.explain);
    if decided.page_context_id.is_empty() {
        decided.page_context_id = new_id();
    }
    let (account, visit) = (&snap.account.spec.id, &inputs.visitor.visit_id);
    for e in decided
        .engagements
        .iter_mut()
        .filter(|e| e.channel == Channel::ClickToCall)
    {
        e.click_url = Some(format!(
            "/c/{account}/{}?visitId={visit}&contextId={}",
            e.engagement_id, e.context_id
        ));
    }
    decided
}

/// Decides a tag request on an empty visit, as the `?visit=0` preview does: [`plan`], then
/// [`finish`]. `new_id` makes each context id.
pub fn decide<'s>(
    snap: &'s Snapshot,
    inputs: &Inputs<'_>,
    new_id: &mut dyn FnMut() -> String,
) -> Decision<'s> {
    let page = Page {
        page_id: "",
        declined: None,
        preview: true,
    };
    let Planned { eval, step } = plan(snap, inputs, &page, new_id);
    let answer = match step {
        Step::Answer { answer, .. } => answer,
        Step::Ask(request) => on_empty_visit(request, true, new_id),
    };
    finish(snap, eval, answer, inputs, new_id)
}
