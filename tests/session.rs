//! The visit's object natively (`edge_engage::session` over a `MemoryStore`): every command,
//! the alarm, and the platform interleaving, losing and repeating (R-D9, R-M1, R-M4, R-M5,
//! R-O2, R-C2). tests/worker/ runs the same commands over HTTP on workerd.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::three_zone_request;
use edge_engage::engine::click_to_call::CallVisit;
use edge_engage::engine::events::ContextRecord;
use edge_engage::engine::visit::{Recorded, VisitAnswer, VisitState};
use edge_engage::faults::Faults;
use edge_engage::measure::funnel::FactBatch;
use edge_engage::session::{
    block_on, Command, Failure, MemoryStore, Queue, Reply, Store, StoreError, VisitObject,
    COUNTING, OUTBOX,
};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};

const T0: u64 = 1_800_000_000_000;
const MINUTE: u64 = 60_000;

/// A queue that keeps what it was sent; `fail_first` refuses the first send.
#[derive(Default)]
struct Sent {
    batches: RefCell<Vec<FactBatch>>,
    fail_first: Cell<bool>,
}

impl Queue for Sent {
    async fn send(&self, batch: FactBatch) -> Result<(), StoreError> {
        if self.fail_first.replace(false) {
            return Err(StoreError("queue refused (test)".into()));
        }
        self.batches.borrow_mut().push(batch);
        Ok(())
    }
}

impl Sent {
    fn ids(&self) -> Vec<String> {
        self.batches.borrow().iter().map(|b| b.id.clone()).collect()
    }
}

/// One request or alarm of the visit at real time `real_ms`.
fn object<'a, Q: Queue>(
    store: &'a MemoryStore,
    queue: &'a Q,
    real_ms: u64,
) -> VisitObject<'a, MemoryStore, Q> {
    static NO_FAULTS: std::sync::LazyLock<Faults> = std::sync::LazyLock::new(Faults::default);
    VisitObject {
        store,
        queue,
        real_ms,
        faults: &NO_FAULTS,
    }
}

/// Context ids `ctx-1`, `ctx-2`, … across every command of a test.
struct Ids(Cell<u32>);

impl Ids {
    fn new() -> Ids {
        Ids(Cell::new(0))
    }
}

fn run<Q: Queue>(
    obj: &VisitObject<'_, MemoryStore, Q>,
    command: Command,
    body: &impl serde::Serialize,
    ids: &Ids,
) -> Result<Reply, Failure> {
    let bytes = serde_json::to_vec(body).unwrap();
    let mut new_id = || {
        ids.0.set(ids.0.get() + 1);
        format!("ctx-{}", ids.0.get())
    };
    block_on(obj.handle(&command, &bytes, &mut new_id))
}

fn answer<T: serde::de::DeserializeOwned>(reply: Result<Reply, Failure>) -> T {
    match reply {
        Ok(Reply::Json(text)) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a JSON reply, got {other:?}"),
    }
}

fn decide(store: &MemoryStore, queue: &Sent, page: &str, now_ms: u64, ids: &Ids) -> VisitAnswer {
    let obj = object(store, queue, now_ms);
    answer(run(
        &obj,
        Command::Decide,
        &three_zone_request(page, now_ms),
        ids,
    ))
}

fn context_of(a: &VisitAnswer, zone: &str) -> String {
    a.chosen
        .iter()
        .find(|c| c.zone == zone)
        .map(|c| c.context_id.clone())
        .unwrap()
}

fn events(now_ms: u64, list: &[(&str, &str)]) -> Value {
    json!({
        "account": "acme", "visitId": "visit", "nowMs": now_ms, "day": "2027-01-15",
        "events": list.iter().map(|(e, c)| json!({"event": e, "contextId": c})).collect::<Vec<_>>(),
    })
}

fn outbox(store: &MemoryStore) -> Vec<String> {
    store
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(OUTBOX))
        .collect()
}

fn sequence(store: &MemoryStore) -> u64 {
    let counting: Value = block_on(store.get(COUNTING)).unwrap().unwrap();
    counting["tally"]["sequence"].as_u64().unwrap()
}

#[test]
fn r_m1_a_decision_stores_its_contexts_the_visit_and_one_batch_and_the_alarm_ships_it() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    let a = decide(&store, &queue, "home", T0, &ids);
    assert_eq!(a.chosen.len(), 3, "{a:?}");
    for c in &a.chosen {
        assert!(store.keys().contains(&format!("ctx:{}", c.context_id)));
    }
    assert_eq!(outbox(&store).len(), 1);
    assert_eq!(
        store.alarm(),
        Some(1),
        "facts wait: the alarm fires at once"
    );

    block_on(object(&store, &queue, T0 + 5).alarm()).unwrap();
    assert_eq!(queue.batches.borrow().len(), 1);
    assert!(outbox(&store).is_empty());
    assert_eq!(
        store.alarm(),
        Some(30 * MINUTE - 5),
        "then at the idle timeout"
    );
}

#[test]
fn r_d9_events_apply_once_and_a_repeat_counts_as_duplicates() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    let a = decide(&store, &queue, "home", T0, &ids);
    let chat = context_of(&a, "right");
    let body = events(
        T0 + 1_000,
        &[("OFFER_DISPLAY", &chat), ("OFFER_CLICK", &chat)],
    );
    let obj = object(&store, &queue, T0 + 1_000);
    let first: Value = answer(run(&obj, Command::Events, &body, &ids));
    assert_eq!(
        (first["applied"].as_u64(), first["duplicates"].as_u64()),
        (Some(2), Some(0))
    );
    let again: Value = answer(run(&obj, Command::Events, &body, &ids));
    assert_eq!(
        (again["applied"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(sequence(&store), 2, "the repeat made no batch");
}

#[test]
fn r_d9_a_refused_batch_changes_nothing() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    let a = decide(&store, &queue, "home", T0, &ids);
    let before = store.values();
    let body = events(
        T0 + 1_000,
        &[
            ("OFFER_DISPLAY", &context_of(&a, "right")),
            ("OFFER_CLICK", "nope"),
        ],
    );
    match run(
        &object(&store, &queue, T0 + 1_000),
        Command::Events,
        &body,
        &ids,
    ) {
        Err(Failure::Refused(outcome)) => {
            assert_eq!(outcome.refused.len(), 1);
            assert_eq!(outcome.refused[0].index, 1);
            assert!(outcome.refused[0].unknown_context);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(store.values(), before);
}

/// The queue of the platform as it is: while the object awaits a send, the platform delivers
/// the visit's next request. Here the first send runs `during` on the same store first.
struct Interleaving<'a> {
    sent: Sent,
    during: RefCell<Option<Box<dyn FnOnce() + 'a>>>,
}

impl Queue for Interleaving<'_> {
    async fn send(&self, batch: FactBatch) -> Result<(), StoreError> {
        if let Some(request) = self.during.borrow_mut().take() {
            request();
        }
        self.sent.send(batch).await
    }
}

#[test]
fn r_m4_facts_a_request_adds_while_the_alarm_sends_are_sent_and_counted_once() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    let a = decide(&store, &queue, "home", T0, &ids);
    let chat = context_of(&a, "right");
    let interleaving = Interleaving {
        sent: Sent::default(),
        during: RefCell::new(Some(Box::new(|| {
            decide(&store, &queue, "pricing", T0 + 2_000, &ids);
            let body = events(T0 + 2_100, &[("OFFER_CLICK", &chat)]);
            let reply = run(
                &object(&store, &queue, T0 + 2_100),
                Command::Events,
                &body,
                &ids,
            );
            assert!(reply.is_ok(), "{reply:?}");
        }))),
    };
    block_on(object(&store, &interleaving, T0 + 1_000).alarm()).unwrap();

    let sent = interleaving.sent.ids();
    // The second page view exposes nothing new in this visit; the click is new.
    assert_eq!(
        sent,
        vec!["acme:visit:1800000000000:1", "acme:visit:1800000000000:2"],
        "the decision's batch, then the click's added meanwhile"
    );
    assert!(outbox(&store).is_empty(), "nothing left behind");
    assert_eq!(
        sequence(&store),
        2,
        "the tally the requests wrote is the one kept"
    );
}

#[test]
fn r_m4_a_refused_send_keeps_the_batch_for_the_retry_which_sends_it_once() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    decide(&store, &queue, "home", T0, &ids);
    let refusing = Sent {
        fail_first: Cell::new(true),
        ..Sent::default()
    };
    let failed = block_on(object(&store, &refusing, T0 + 1).alarm());
    assert!(matches!(failed, Err(Failure::Internal(_))), "{failed:?}");
    assert_eq!(outbox(&store).len(), 1, "kept for the retry");
    block_on(object(&store, &refusing, T0 + 2).alarm()).unwrap();
    assert_eq!(refusing.batches.borrow().len(), 1);
    assert!(outbox(&store).is_empty());
}

#[test]
fn r_m4_storage_failing_midway_changes_nothing() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    let a = decide(&store, &queue, "home", T0, &ids);
    let before = store.values();
    store.fail_next_write.set(true);
    let body = events(T0 + 1_000, &[("OFFER_CLICK", &context_of(&a, "right"))]);
    let failed = run(
        &object(&store, &queue, T0 + 1_000),
        Command::Events,
        &body,
        &ids,
    );
    assert!(matches!(failed, Err(Failure::Internal(_))), "{failed:?}");
    assert_eq!(store.values(), before, "one write, so none of it");
    let retried: Value = answer(run(
        &object(&store, &queue, T0 + 1_500),
        Command::Events,
        &body,
        &ids,
    ));
    assert_eq!(retried["applied"].as_u64(), Some(1), "the retry applies it");
}

#[test]
fn r_m4_an_expired_visit_starts_fresh_and_keeps_its_unsent_facts() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    decide(&store, &queue, "home", T0, &ids);
    let unsent = outbox(&store);
    decide(&store, &queue, "home", T0 + 31 * MINUTE, &ids);
    let visit: VisitState = block_on(store.get("visit")).unwrap().unwrap();
    assert_eq!(
        visit.first_activity_ms,
        T0 + 31 * MINUTE,
        "the visit timed out: a new one"
    );
    let now = outbox(&store);
    assert_eq!(now.len(), 2);
    assert!(
        unsent.iter().all(|k| now.contains(k)),
        "{unsent:?} kept in {now:?}"
    );
    assert_eq!(sequence(&store), 1, "the new visit counts anew");
}

#[test]
fn r_m4_the_alarm_deletes_a_visit_idle_past_its_timeout_after_sending() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    decide(&store, &queue, "home", T0, &ids);
    block_on(object(&store, &queue, T0 + 30 * MINUTE).alarm()).unwrap();
    assert_eq!(queue.batches.borrow().len(), 1, "sent first");
    assert!(store.keys().is_empty(), "{:?}", store.keys());
}

#[test]
fn r_d9_a_recorded_decision_is_kept_once_however_often_it_is_sent() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    let request = three_zone_request("home", T0);
    let mut scratch = VisitState::default();
    let decided = scratch.decide(&request, &mut || "carried-1".to_string());
    let rec = Recorded::of(request, &decided);
    let obj = object(&store, &queue, T0);
    assert_eq!(
        run(&obj, Command::Record, &rec, &ids).unwrap(),
        Reply::Empty
    );
    let once = store.values();
    assert!(once.contains_key("ctx:carried-1"), "{:?}", store.keys());
    assert_eq!(
        run(&obj, Command::Record, &rec, &ids).unwrap(),
        Reply::Empty
    );
    assert_eq!(store.values(), once, "sent again: nothing changes");
}

#[test]
fn r_o2_a_landing_is_recorded_once_and_its_context_read_back() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    let record: ContextRecord = {
        let source = MemoryStore::default();
        let a = decide(&source, &queue, "home", T0, &ids);
        block_on(source.get(&format!("ctx:{}", context_of(&a, "left"))))
            .unwrap()
            .unwrap()
    };
    let click = json!({
        "nowMs": T0, "visitorId": "visitor", "timeoutMinutes": 45, "contextId": "land-1",
        "record": record,
    });
    let obj = object(&store, &queue, T0);
    assert_eq!(
        run(&obj, Command::Land, &click, &ids).unwrap(),
        Reply::Empty
    );
    let once = store.values();
    assert_eq!(
        run(&obj, Command::Land, &click, &ids).unwrap(),
        Reply::Empty
    );
    assert_eq!(store.values(), once, "sent again: nothing changes");

    let read: Value = answer(run(&obj, Command::Context("land-1".into()), &(), &ids));
    assert_eq!(read["timeoutMinutes"], 45);
    assert_eq!(
        read["record"]["engagementId"],
        record.engagement_id.as_str()
    );
    let missing = run(&obj, Command::Context("other".into()), &(), &ids);
    assert!(matches!(missing, Err(Failure::NotFound(_))), "{missing:?}");
}

#[test]
fn r_c2_a_call_click_is_checked_against_what_the_visit_was_shown() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    let a = decide(&store, &queue, "home", T0, &ids);
    let click = |context: &str, engagement: &str| {
        json!({
            "account": "acme", "visitId": "visit", "nowMs": T0 + 1_000, "day": "2027-01-15",
            "contextId": context, "engagementId": engagement,
        })
    };
    let obj = object(&store, &queue, T0 + 1_000);
    let chat = context_of(&a, "right");
    let wrong = run(&obj, Command::CallClick, &click(&chat, "msg"), &ids);
    assert!(matches!(wrong, Err(Failure::NotFound(_))), "{wrong:?}");
    let view: CallVisit = answer(run(&obj, Command::CallClick, &click(&chat, "chat"), &ids));
    assert!(view.accepted.contains("chat"));
    assert_eq!(view.visitor_id, "visitor");
    assert_eq!(
        sequence(&store),
        2,
        "the click accepted the engagement: a batch"
    );
}

#[test]
fn r_m5_erase_deletes_everything_the_visit_keeps_and_its_alarm() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    decide(&store, &queue, "home", T0, &ids);
    let obj = object(&store, &queue, T0 + 1);
    let read: VisitState = answer(run(&obj, Command::Read, &(), &ids));
    assert_eq!(read.visitor_id, "visitor");
    assert_eq!(run(&obj, Command::Erase, &(), &ids).unwrap(), Reply::Empty);
    assert!(store.keys().is_empty());
    assert_eq!(store.alarm(), None);
    let gone = run(&obj, Command::Read, &(), &ids);
    assert!(matches!(gone, Err(Failure::NotFound(_))), "{gone:?}");
}

#[test]
fn an_unreadable_command_body_fails_without_a_change() {
    let (store, queue, ids) = (MemoryStore::default(), Sent::default(), Ids::new());
    decide(&store, &queue, "home", T0, &ids);
    let before = store.values();
    let obj = object(&store, &queue, T0 + 1);
    for command in [
        Command::Decide,
        Command::Events,
        Command::Land,
        Command::Record,
    ] {
        let reply = run(&obj, command.clone(), &json!({"nowMs": "soon"}), &ids);
        assert!(
            matches!(reply, Err(Failure::Internal(_))),
            "{command:?}: {reply:?}"
        );
    }
    assert_eq!(store.values(), before);
}
