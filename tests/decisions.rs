//! Every decision vector in fixtures/decisions.json, run natively through the path production
//! takes: the request parsed by the API contract, planned ([`plan`]: candidates evaluated, the
//! visit asked), the visit's rules and arbitration applied to the case's visit (fresh, or after its `history` of earlier page views
//! and events), and the decision finished ([`finish`]). Each case states the engagements shown and, for the
//! engagements it names, the verdict (the rule that excluded it, or won/lost): the trace that
//! explain (R-P3) returns. tests/worker/decisions.test.mjs runs the same cases over HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use edge_engage::api::decide::DecideRequest;
use edge_engage::engine::agent::Availability;
use edge_engage::engine::candidate::Inputs;
use edge_engage::engine::decision::{Decision, Verdict};
use edge_engage::engine::events::{ContextRecord, EventName};
use edge_engage::engine::plan::{finish, plan, After, Page, Planned, Step};
use edge_engage::engine::snapshot::Snapshot;
use edge_engage::engine::visit::VisitState;
use edge_engage::engine::visitor::Edge;
use edge_engage::tenancy::identity;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// fixtures/decisions.json.
#[derive(Debug, Deserialize)]
struct Vectors {
    availability: HashMap<String, Availability>,
    cases: Vec<Case>,
}

/// One vector.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Case {
    name: String,
    rules: Vec<String>,
    now: String,
    availability: String,
    edge: EdgeIn,
    request: Value,
    /// Earlier page views of the same visit, each with the events the tag reported.
    #[serde(default)]
    history: Vec<PageStep>,
    expect: Expect,
    /// Engagement id → `won`, `lost`, or the rule that excluded it (e.g. `R-D6`).
    trace: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EdgeIn {
    country: Option<String>,
    user_agent: Option<String>,
}

/// An earlier page view: its page id, and events for engagements it showed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PageStep {
    page_id: String,
    #[serde(default)]
    events: Vec<StepEvent>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StepEvent {
    event: EventName,
    engagement_id: String,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Expect {
    engagements: Vec<ExpectShown>,
    control_groups: Value,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExpectShown {
    zone_id: String,
    engagement_id: String,
    state: String,
    /// R-D10: when a case states it, the presentation as the decision returns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    presentation: Option<Value>,
}

/// A visit as its object keeps it: the state and the contexts it issued.
#[derive(Default)]
struct Visit {
    state: VisitState,
    contexts: HashMap<String, ContextRecord>,
    issued: u32,
}

impl Visit {
    /// One page view through the production path, with explain on.
    fn decide<'s>(
        &mut self,
        snap: &'s Snapshot,
        case: &Case,
        avail: &Availability,
        page: &str,
    ) -> Decision<'s> {
        let mut request = case.request.clone();
        request["page"]["id"] = Value::from(page);
        let edge = Edge {
            country: case.edge.country.clone(),
            user_agent: case.edge.user_agent.clone(),
            ..Edge::default()
        };
        let now: jiff::Timestamp = case.now.parse().unwrap();
        // R-S2: the page's identity is a token minted for the case, verified as the worker does.
        let secret = common::identity_secret();
        let account = request["account"].as_str().unwrap().to_string();
        if let Some(kind) = request["page"]["identity"].as_str().map(str::to_string) {
            request["page"]["identity"] = Value::from(common::identity_token(
                &kind,
                &account,
                now.as_second(),
                &secret,
            ));
        }
        let now_ms = u64::try_from(now.as_millisecond()).unwrap();
        let body = serde_json::to_vec(&request).unwrap();
        let parsed = DecideRequest::from_json(&body)
            .unwrap()
            .parse(&edge, |token| {
                identity::verify(token, &account, std::slice::from_ref(&secret), now_ms).is_ok()
            })
            .unwrap();
        let input = Inputs {
            visitor: &parsed.visitor,
            zones: &parsed.zones,
            now,
            availability: avail,
            explain: true,
        };
        let page = Page {
            page_id: &parsed.page_id,
            declined: parsed.declined.as_ref(),
            preview: false,
        };
        let issued = &mut self.issued;
        let mut new_id = || {
            *issued += 1;
            format!("ctx-{issued}")
        };
        let Planned { eval, step } = plan(snap, &input, &page, &mut new_id);
        let answer = match step {
            Step::Answer { answer, after } => {
                // Explained requests are always asked; only account control answers here.
                assert!(matches!(after, After::Nothing), "{}", case.name);
                answer
            }
            Step::Ask(req) => {
                // The visit's object: its rules on this visit, and the contexts it keeps.
                let answer = self.state.decide(&req, &mut new_id);
                self.contexts.extend(answer.new_contexts(&req));
                answer
            }
        };
        finish(snap, eval, answer, &input, &mut new_id)
    }

    /// The events of a history step, on the contexts that step's decision issued.
    fn report(&mut self, shown: &Decision, events: &[StepEvent]) {
        for e in events {
            let context = shown
                .engagements
                .iter()
                .find(|s| s.engagement_id == e.engagement_id)
                .map(|s| s.context_id.clone())
                .unwrap_or_else(|| panic!("history: {} was not shown", e.engagement_id));
            let record = self.contexts.get_mut(&context).unwrap();
            assert!(self.state.apply_event(&context, record, e.event));
        }
    }
}

/// R-D10: the presentation fields of a shown engagement, as the answer has them.
fn presentation(e: &edge_engage::engine::decision::Shown) -> Value {
    let all = serde_json::to_value(e).unwrap();
    let keys = [
        "tglName",
        "windowMode",
        "creatives",
        "displayDelaySeconds",
        "displayDurationSeconds",
    ];
    keys.iter()
        .filter_map(|k| Some((k.to_string(), all.get(*k)?.clone())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The verdict of each engagement a case names, as the vectors write it.
fn trace(d: &Decision, names: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    d.explanation
        .iter()
        .filter(|x| names.contains_key(&x.engagement_id))
        .map(|x| {
            let v = match &x.verdict {
                Verdict::Won { .. } => "won".to_string(),
                Verdict::Lost { .. } => "lost".to_string(),
                Verdict::Excluded { rule, .. } => rule.id().to_string(),
            };
            (x.engagement_id.clone(), v)
        })
        .collect()
}

#[test]
fn decision_vectors_hold_through_the_visit_path_with_their_traces() {
    let vectors: Vectors = serde_json::from_str(&common::fixture("decisions.json")).unwrap();
    let snap = common::demo();
    assert!(vectors.cases.len() >= 25);
    let mut failures = Vec::new();
    let mut rules_traced = BTreeSet::new();
    for case in &vectors.cases {
        let avail = &vectors.availability[&case.availability];
        let mut visit = Visit::default();
        for (i, step) in case.history.iter().enumerate() {
            let shown = visit.decide(&snap, case, avail, &step.page_id);
            assert!(
                shown.explanation.len() >= shown.engagements.len(),
                "step {i}"
            );
            visit.report(&shown, &step.events);
        }
        let page = case.request["page"]["id"].as_str().unwrap_or("vector-page");
        let d = visit.decide(&snap, case, avail, page);
        let stated = |id: &str| {
            case.expect
                .engagements
                .iter()
                .any(|x| x.engagement_id == id && x.presentation.is_some())
        };
        let got = Expect {
            engagements: d
                .engagements
                .iter()
                .map(|e| ExpectShown {
                    zone_id: e.zone_id.clone(),
                    engagement_id: e.engagement_id.to_string(),
                    state: e.state_name.to_string(),
                    presentation: stated(e.engagement_id).then(|| presentation(e)),
                })
                .collect(),
            control_groups: serde_json::to_value(&d.control_groups).unwrap(),
        };
        let got_trace = trace(&d, &case.trace);
        if got != case.expect || got_trace != case.trace {
            failures.push(format!(
                "{}\n  expected {:?}\n           {:?}\n  got      {got:?}\n           {got_trace:?}",
                case.name, case.expect, case.trace
            ));
        }
        assert!(!case.rules.is_empty(), "{}: names its rules", case.name);
        rules_traced.extend(case.trace.values().filter(|v| v.starts_with("R-")).cloned());
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        vectors.cases.len(),
        failures.join("\n")
    );
    // Every exclusion rule of a tag decision appears in at least one trace.
    for rule in ["R-D1", "R-D2", "R-D3", "R-D4", "R-D5", "R-D6", "R-D7"] {
        assert!(rules_traced.contains(rule), "no vector traces {rule}");
    }
}
