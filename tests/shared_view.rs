//! R-P2, R-S2: the location's shared copy of an account's view keeps the identity secrets
//! sealed. The times, revision and availability the isolates weigh stay readable; the secrets
//! open only under the worker's key, for the account and revision they were sealed for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edge_engage::api::admin::AccountView;
use edge_engage::shared_view::{seal_key, Entry, Unreadable};
use edge_engage::tenancy::identity::IdentitySecret;
use serde_json::{json, Value};

const SECRET: &str = "5f1d3c0a9b8e7d6c5f1d3c0a9b8e7d6c5f1d3c0a9b8e7d6c5f1d3c0a9b8e7d6c";

fn entry() -> Entry {
    Entry {
        fetched_at: 1_795_428_000_000,
        claimed_at: Some(1_795_428_001_000),
        view: AccountView {
            revision: 7,
            availability: serde_json::from_value(
                json!({"sales": {"onlineAgents": 3, "expectedWaitSeconds": 40}}),
            )
            .unwrap(),
            identity: vec![IdentitySecret {
                kid: "k2".into(),
                secret: SECRET.into(),
                created_ms: 1_795_000_000_000,
            }],
        },
    }
}

fn key(root: &str) -> [u8; 32] {
    seal_key(root).unwrap()
}

#[test]
fn r_s2_the_stored_entry_holds_no_secret_and_opens_to_the_same_view() {
    let stored = entry().seal("acme", &key("root-1"), [7; 12]).unwrap();
    assert!(!stored.contains(SECRET), "{stored}");
    // What the isolates weigh is readable without the key.
    let plain: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(plain["fetchedAt"], 1_795_428_000_000_u64);
    assert_eq!(plain["claimedAt"], 1_795_428_001_000_u64);
    assert_eq!(plain["revision"], 7);
    assert_eq!(plain["availability"]["sales"]["onlineAgents"], 3);

    let opened = Entry::open("acme", &key("root-1"), stored.as_bytes()).unwrap();
    assert_eq!(opened.fetched_at, entry().fetched_at);
    assert_eq!(opened.claimed_at, entry().claimed_at);
    assert_eq!(opened.view.revision, 7);
    assert_eq!(opened.view.identity, entry().view.identity);
    assert_eq!(
        serde_json::to_value(&opened.view.availability).unwrap(),
        serde_json::to_value(&entry().view.availability).unwrap()
    );
}

#[test]
fn r_s2_a_fresh_nonce_seals_the_same_secrets_differently() {
    let a = entry().seal("acme", &key("root-1"), [1; 12]).unwrap();
    let b = entry().seal("acme", &key("root-1"), [2; 12]).unwrap();
    let sealed = |s: &str| serde_json::from_str::<Value>(s).unwrap()["identity"].clone();
    assert_ne!(sealed(&a), sealed(&b));
}

#[test]
fn r_s2_secrets_open_only_under_the_key_for_their_account_and_revision() {
    let stored = entry().seal("acme", &key("root-1"), [7; 12]).unwrap();
    // A rotated root token, another account's key in the cache.
    for (account, root) in [("acme", "root-2"), ("other", "root-1")] {
        assert_eq!(
            Entry::open(account, &key(root), stored.as_bytes()).unwrap_err(),
            Unreadable::Seal,
            "{account} {root}"
        );
    }
    // The revision in the clear is bound to the secrets: an entry cannot claim a newer one.
    let mut moved: Value = serde_json::from_str(&stored).unwrap();
    moved["revision"] = json!(8);
    assert_eq!(
        Entry::open("acme", &key("root-1"), moved.to_string().as_bytes()).unwrap_err(),
        Unreadable::Seal
    );
    // A changed byte of the sealed secrets.
    let mut changed: Value = serde_json::from_str(&stored).unwrap();
    let hex = changed["identity"].as_str().unwrap().to_string();
    let flipped = if hex.ends_with('0') { "1" } else { "0" };
    changed["identity"] = json!(format!("{}{flipped}", &hex[..hex.len() - 1]));
    assert_eq!(
        Entry::open("acme", &key("root-1"), changed.to_string().as_bytes()).unwrap_err(),
        Unreadable::Seal
    );
}

#[test]
fn an_entry_that_is_not_one_is_unreadable_not_a_panic() {
    for text in [
        "",
        "{",
        "[]",
        r#"{"fetchedAt": 1}"#,
        r#"{"fetchedAt":1,"revision":1,"availability":{},"identity":"zz"}"#,
    ] {
        let opened = Entry::open("acme", &key("root-1"), text.as_bytes());
        assert!(opened.is_err(), "{text}");
    }
    // The form the location kept before the secrets were sealed (identity in the clear).
    let clear =
        json!({"fetchedAt": 1, "view": {"revision": 1, "availability": {}, "identity": []}});
    assert!(matches!(
        Entry::open("acme", &key("root-1"), clear.to_string().as_bytes()),
        Err(Unreadable::Shape(_))
    ));
}
