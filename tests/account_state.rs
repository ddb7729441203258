//! The account's object natively (`edge_engage::account_state` over a `MemoryStore`): the
//! revision check with KV's writes interleaved and failing (R-P1), the kept revisions (R-S4),
//! availability (R-P2), keys (R-S1), identity secrets (R-S2) and click totals (R-M1).
//! tests/worker/ runs the same commands over HTTP on workerd.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use edge_engage::account_state::{
    AccountObject, Command, Publish, Revisions, KEPT_REVISIONS, RESERVATION_MS,
};
use edge_engage::api::admin::{AccountView, ClickTotals, KeyAnswer, KeyCall, PublishAnswer};
use edge_engage::session::{block_on, Failure, MemoryStore, Reply, Store, StoreError};
use edge_engage::tenancy::identity::IdentitySecret;
use edge_engage::tenancy::keys::{KeyOp, Scope};
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

const T0: u64 = 1_800_000_000_000;

/// KV as a map of (account, revision) → text; `fail_next` fails the next write, and `during`
/// runs once inside the next write, as a request the platform delivers meanwhile.
#[derive(Default)]
struct Kv<'a> {
    revisions: RefCell<BTreeMap<(String, u64), String>>,
    fail_next: Cell<bool>,
    during: RefCell<Option<Box<dyn FnOnce() + 'a>>>,
}

impl Revisions for Kv<'_> {
    async fn write(&self, account: &str, revision: u64, text: String) -> Result<(), StoreError> {
        if let Some(request) = self.during.borrow_mut().take() {
            request();
        }
        if self.fail_next.replace(false) {
            return Err(StoreError("kv failed (test)".into()));
        }
        self.revisions
            .borrow_mut()
            .insert((account.to_string(), revision), text);
        Ok(())
    }
    async fn delete(&self, account: &str, revision: u64) {
        self.revisions
            .borrow_mut()
            .remove(&(account.to_string(), revision));
    }
}

fn run<R: Revisions>(
    store: &MemoryStore,
    kv: &R,
    now_ms: u64,
    command: Command,
    body: &[u8],
    if_match: &str,
) -> Result<Reply, Failure> {
    let object = AccountObject {
        store,
        revisions: kv,
        now_ms,
    };
    let publish = Publish {
        account: "acme".into(),
        if_match: if_match.into(),
    };
    block_on(object.handle(&command, body, &publish))
}

fn answer<T: serde::de::DeserializeOwned>(reply: Result<Reply, Failure>) -> T {
    match reply {
        Ok(Reply::Json(text)) => serde_json::from_str(&text).unwrap(),
        other => panic!("expected a JSON reply, got {other:?}"),
    }
}

fn publish<R: Revisions>(store: &MemoryStore, kv: &R, now: u64, base: &str) -> PublishAnswer {
    answer(run(
        store,
        kv,
        now,
        Command::Publish,
        b"{\"snapshot\":1}",
        base,
    ))
}

fn revision<R: Revisions>(store: &MemoryStore, kv: &R) -> u64 {
    let view: AccountView = answer(run(store, kv, T0, Command::View, b"", ""));
    view.revision
}

#[test]
fn r_p1_a_publish_on_the_live_base_stores_the_next_revision_and_a_stale_base_is_refused() {
    let (store, kv) = (MemoryStore::default(), Kv::default());
    let first = publish(&store, &kv, T0, "*");
    assert_eq!((first.revision, first.published), (1, true));
    assert!(kv.revisions.borrow().contains_key(&("acme".into(), 1)));
    let second = publish(&store, &kv, T0 + 1, "\"1\"");
    assert_eq!((second.revision, second.published), (2, true));
    let stale = publish(&store, &kv, T0 + 2, "\"1\"");
    assert_eq!((stale.revision, stale.published), (2, false));
    assert_eq!(revision(&store, &kv), 2);
}

#[test]
fn r_p1_a_publish_arriving_while_another_writes_kv_is_refused() {
    let store = MemoryStore::default();
    let inner = RefCell::new(None);
    let kv = Kv::default();
    *kv.during.borrow_mut() = Some(Box::new(|| {
        // The same base, delivered while the first publish awaits KV.
        let other = Kv::default();
        *inner.borrow_mut() = Some(publish(&store, &other, T0 + 10, "*"));
    }));
    let outer = publish(&store, &kv, T0, "*");
    assert_eq!((outer.revision, outer.published), (1, true));
    let inner = inner.borrow().clone().unwrap();
    assert_eq!(
        (inner.revision, inner.published),
        (0, false),
        "the reservation held"
    );
    assert_eq!(revision(&store, &kv), 1);
}

#[test]
fn r_p1_a_failed_kv_write_leaves_the_revision_and_frees_the_reservation() {
    let (store, kv) = (MemoryStore::default(), Kv::default());
    kv.fail_next.set(true);
    let failed = run(&store, &kv, T0, Command::Publish, b"{}", "*");
    assert!(matches!(failed, Err(Failure::Internal(_))), "{failed:?}");
    assert_eq!(revision(&store, &kv), 0);
    let next = publish(&store, &kv, T0 + 1, "*");
    assert_eq!((next.revision, next.published), (1, true));
}

#[test]
fn r_p1_a_reservation_left_by_a_publish_that_died_expires() {
    let (store, kv) = (MemoryStore::default(), Kv::default());
    block_on(store.put("reserved", &(1u64, T0))).unwrap();
    let held = publish(&store, &kv, T0 + RESERVATION_MS - 1, "*");
    assert!(!held.published, "still held");
    let expired = publish(&store, &kv, T0 + RESERVATION_MS, "*");
    assert_eq!((expired.revision, expired.published), (1, true));
}

#[test]
fn r_s4_kv_keeps_the_live_revision_and_the_ones_before_it_in_the_window() {
    let (store, kv) = (MemoryStore::default(), Kv::default());
    for n in 0..=KEPT_REVISIONS {
        assert!(publish(&store, &kv, T0 + n, "*").published);
    }
    let kept: Vec<u64> = kv.revisions.borrow().keys().map(|(_, r)| *r).collect();
    assert_eq!(kept, (2..=KEPT_REVISIONS + 1).collect::<Vec<_>>());
}

#[test]
fn r_p2_availability_replaced_whole_or_one_skill_at_a_time() {
    let (store, kv) = (MemoryStore::default(), Kv::default());
    let all = json!({ "sales": { "onlineAgents": 3 }, "support": { "onlineAgents": 1 } });
    let view: AccountView = answer(run(
        &store,
        &kv,
        T0,
        Command::Availability,
        all.to_string().as_bytes(),
        "",
    ));
    assert_eq!(view.availability.len(), 2);
    let one = json!({ "onlineAgents": 0 });
    let view: AccountView = answer(run(
        &store,
        &kv,
        T0,
        Command::SkillAvailability("sales".into()),
        one.to_string().as_bytes(),
        "",
    ));
    assert_eq!(
        view.availability.get("sales").map(|s| s.online_agents),
        Some(0)
    );
    assert_eq!(
        view.availability.get("support").map(|s| s.online_agents),
        Some(1)
    );
}

#[test]
fn r_m1_click_batches_add_up() {
    let (store, kv) = (MemoryStore::default(), Kv::default());
    let batch = json!({ "e-offsite-email": { "landing_page": 2, "survey": 1 } }).to_string();
    for _ in 0..3 {
        let added = run(&store, &kv, T0, Command::AddClicks, batch.as_bytes(), "");
        assert_eq!(added.unwrap(), Reply::Empty);
    }
    let totals: ClickTotals = answer(run(&store, &kv, T0, Command::Clicks, b"", ""));
    assert_eq!(totals["e-offsite-email"]["landing_page"], 6);
    assert_eq!(totals["e-offsite-email"]["survey"], 3);
}

#[test]
fn r_s1_key_operations_apply_to_the_accounts_ring() {
    let (store, kv) = (MemoryStore::default(), Kv::default());
    let call = |op: KeyOp| serde_json::to_vec(&KeyCall { now_ms: T0, op }).unwrap();
    let created: KeyAnswer = answer(run(
        &store,
        &kv,
        T0,
        Command::Keys,
        &call(KeyOp::Create {
            id: "k1".into(),
            name: "publisher".into(),
            scopes: vec![Scope::Publish],
            hash: "0".repeat(64),
        }),
        "",
    ));
    assert_eq!(created.unwrap().len(), 1);
    let listed: KeyAnswer = answer(run(&store, &kv, T0, Command::Keys, &call(KeyOp::List), ""));
    assert_eq!(listed.unwrap().len(), 1, "the ring was stored");
}

#[test]
fn r_s2_a_new_identity_secret_becomes_current_and_the_previous_one_stays() {
    let (store, kv) = (MemoryStore::default(), Kv::default());
    let secret = |kid: &str| IdentitySecret {
        kid: kid.into(),
        secret: "0".repeat(64),
        created_ms: T0,
    };
    for kid in ["a", "b"] {
        let body = serde_json::to_vec(&secret(kid)).unwrap();
        run(&store, &kv, T0, Command::Identity, &body, "").unwrap();
    }
    let view: AccountView = answer(run(&store, &kv, T0, Command::View, b"", ""));
    let kids: Vec<&str> = view.identity.iter().map(|s| s.kid.as_str()).collect();
    assert_eq!(kids, ["b", "a"]);
}

#[test]
fn an_unreadable_command_body_changes_nothing() {
    let (store, kv) = (MemoryStore::default(), Kv::default());
    for command in [
        Command::AddClicks,
        Command::Availability,
        Command::SkillAvailability("sales".into()),
        Command::Keys,
        Command::Identity,
    ] {
        let reply = run(&store, &kv, T0, command.clone(), b"{\"no\":", "");
        assert!(
            matches!(reply, Err(Failure::Internal(_))),
            "{command:?}: {reply:?}"
        );
    }
    assert!(store.keys().is_empty());
}
