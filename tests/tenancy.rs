//! SPEC section 9 natively: keys and scopes (R-S1), identity tokens (R-S2), rate-limit keys
//! and periods (R-S3), the cache's byte budget (R-S4). The same rules run against
//! `wrangler dev` in tests/worker/tenancy.test.mjs.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

mod common;

use edge_engage::api::routes::{Access, Route, ROUTES};
use edge_engage::tenancy::budget::{entry_bytes, evict};
use edge_engage::tenancy::identity::{
    self, base64url_decode, base64url_encode, sign, IdentityError, IdentitySecret, MAX_TOKEN,
};
use edge_engage::tenancy::keys::{
    key_text, Grant, KeyError, KeyOp, KeyRequest, KeyRing, PresentedKey, Refusal, Scope,
    MAX_ACTIVE_KEYS, REVOKED_RETENTION_MS,
};
use edge_engage::tenancy::limits::{client, Limit};
use serde_json::json;

const ID: &str = "0123456789ab";
const SECRET: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn ring_with_key() -> KeyRing {
    let mut ring = KeyRing::default();
    let key = PresentedKey::parse(&key_text("demo", ID, SECRET))
        .unwrap()
        .hash();
    ring.create(
        ID,
        "availability pusher",
        vec![Scope::Availability],
        key,
        1_000,
    )
    .unwrap();
    ring
}

#[test]
fn r_s1_a_key_names_its_account_and_id_and_only_its_exact_text_parses() {
    let text = key_text("demo.eu", ID, SECRET);
    let k = PresentedKey::parse(&text).unwrap();
    assert_eq!((k.account, k.id, k.secret), ("demo.eu", ID, SECRET));
    for bad in [
        format!("eek.demo.{ID}.{}", &SECRET[1..]),
        format!("eek.demo.{ID}.{}", SECRET.to_uppercase()),
        format!("xek.demo.{ID}.{SECRET}"),
        format!("eek..{ID}.{SECRET}"),
        format!("eek.demo.{ID}{SECRET}"),
        format!("eek.de mo.{ID}.{SECRET}"),
        String::new(),
    ] {
        assert_eq!(PresentedKey::parse(&bad), None, "{bad}");
    }
}

#[test]
fn r_s1_keys_are_stored_hashed_and_admitted_only_with_their_current_secret() {
    let mut ring = ring_with_key();
    let stored = serde_json::to_string(&ring).unwrap();
    assert!(!stored.contains(SECRET), "the secret itself is never kept");
    let text = key_text("demo", ID, SECRET);
    let key = PresentedKey::parse(&text).unwrap();
    let record = ring.admit(ID, &key.hash(), 5_000).unwrap();
    assert_eq!(record.last_used_ms, Some(5_000), "the use is recorded");
    // One byte changed in the secret: refused, and the last use does not move.
    let mut changed = SECRET.to_string();
    changed.replace_range(10..11, "f");
    let wrong_text = key_text("demo", ID, &changed);
    let wrong = PresentedKey::parse(&wrong_text).unwrap();
    assert_eq!(ring.admit(ID, &wrong.hash(), 6_000), Err(KeyError::Refused));
    assert_eq!(ring.get(ID).unwrap().last_used_ms, Some(5_000));
    assert_eq!(
        ring.admit("ffffffffffff", &key.hash(), 6_000),
        Err(KeyError::Unknown)
    );
}

#[test]
fn r_s1_rotation_replaces_the_secret_and_revocation_stops_the_key() {
    let mut ring = ring_with_key();
    let old = PresentedKey::parse(&key_text("demo", ID, SECRET))
        .unwrap()
        .hash();
    let new_secret = "f".repeat(64);
    let new = PresentedKey::parse(&key_text("demo", ID, &new_secret))
        .unwrap()
        .hash();
    ring.apply(
        &KeyOp::Rotate {
            id: ID.into(),
            hash: new.clone(),
        },
        2_000,
    )
    .unwrap();
    assert_eq!(ring.admit(ID, &old, 3_000), Err(KeyError::Refused));
    assert!(ring.admit(ID, &new, 3_000).is_ok());
    ring.apply(&KeyOp::Revoke { id: ID.into() }, 4_000).unwrap();
    assert_eq!(ring.admit(ID, &new, 5_000), Err(KeyError::Refused));
    assert_eq!(
        ring.apply(
            &KeyOp::Rotate {
                id: ID.into(),
                hash: old
            },
            6_000
        ),
        Err(KeyError::Revoked)
    );
    // Revoking again changes nothing; the record stays for the audit, then is forgotten.
    let again = ring.apply(&KeyOp::Revoke { id: ID.into() }, 7_000).unwrap();
    assert_eq!(again[0].revoked_ms, Some(4_000));
    let listed = ring
        .apply(&KeyOp::List, 4_000 + REVOKED_RETENTION_MS - 1)
        .unwrap();
    assert_eq!(listed.len(), 1);
    let listed = ring
        .apply(&KeyOp::List, 4_000 + REVOKED_RETENTION_MS)
        .unwrap();
    assert!(
        listed.is_empty(),
        "kept {REVOKED_RETENTION_MS} ms after revocation"
    );
}

#[test]
fn r_s1_an_account_has_a_bounded_number_of_active_keys() {
    let mut ring = KeyRing::default();
    for i in 0..MAX_ACTIVE_KEYS {
        ring.create(
            &format!("{i:012x}"),
            "k",
            vec![Scope::Reports],
            "h".into(),
            0,
        )
        .unwrap();
    }
    assert_eq!(
        ring.create("ffffffffffff", "k", vec![Scope::Reports], "h".into(), 0)
            .unwrap_err(),
        KeyError::TooMany
    );
    ring.revoke("000000000000", 1).unwrap();
    assert!(ring
        .create("ffffffffffff", "k", vec![Scope::Reports], "h".into(), 0)
        .is_ok());
    assert_eq!(
        ring.create("ffffffffffff", "k", vec![Scope::Reports], "h".into(), 0)
            .unwrap_err(),
        KeyError::IdTaken
    );
}

#[test]
fn r_s1_key_requests_name_known_scopes_once() {
    let req = |name: &str, scopes: &[&str]| KeyRequest {
        name: name.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(
        req("ops", &["reports", "publish"]).check().unwrap(),
        vec![Scope::Publish, Scope::Reports]
    );
    assert_eq!(req("ops", &["admin"]).check().unwrap_err().0, "scopes");
    assert_eq!(req("ops", &[]).check().unwrap_err().0, "scopes");
    assert_eq!(
        req("ops", &["reports", "reports"]).check().unwrap_err().0,
        "scopes"
    );
    assert_eq!(req(" ", &["reports"]).check().unwrap_err().0, "name");
    assert_eq!(req("a\nb", &["reports"]).check().unwrap_err().0, "name");
}

#[test]
fn r_s1_a_key_works_only_for_its_account_and_scopes() {
    let grant = Grant {
        account: "demo".into(),
        scopes: vec![Scope::Availability],
    };
    assert_eq!(grant.allows("demo", Scope::Availability), Ok(()));
    assert_eq!(
        grant.allows("demo", Scope::Publish),
        Err(Refusal::MissingScope(Scope::Publish))
    );
    assert_eq!(
        grant.allows("other", Scope::Availability),
        Err(Refusal::OtherAccount)
    );
}

/// R-S1: the key API is the root token's alone, every admin and brand route needs a scope,
/// and the tag's routes need none.
#[test]
fn r_s1_every_route_says_who_may_call_it() {
    for &(method, template, route) in ROUTES {
        let access = route.access();
        if template.starts_with("/v1/admin/") && template.contains("/keys") {
            assert_eq!(access, Access::Root, "{method} {template}");
        } else if template.starts_with("/v1/admin/")
            || template.starts_with("/v1/agent/")
            || (template.starts_with("/v1/click-to-call/"))
        {
            assert!(
                matches!(access, Access::Key(_)),
                "{method} {template}: {access:?}"
            );
        } else {
            assert_eq!(access, Access::Public, "{method} {template}");
        }
    }
    assert_eq!(Route::Report.access(), Access::Key(Scope::Reports));
    assert_eq!(Route::EraseVisitor.access(), Access::Key(Scope::Erase));
    assert_eq!(Route::AgentContext.access(), Access::Key(Scope::Agent));
}

fn secret(kid: &str, fill: char) -> IdentitySecret {
    IdentitySecret {
        kid: kid.into(),
        secret: fill.to_string().repeat(64),
        created_ms: 0,
    }
}

const NOW_S: i64 = 1_795_000_000;
const NOW_MS: u64 = NOW_S as u64 * 1000;

fn verify(token: &str, secrets: &[IdentitySecret]) -> Result<(), IdentityError> {
    identity::verify(token, "demo", secrets, NOW_MS).map(|_| ())
}

#[test]
fn r_s2_a_token_signed_for_the_account_authenticates_and_names_its_subject() {
    let k = secret("k1", 'a');
    let token = sign(
        &k,
        &json!({ "aud": "demo", "exp": NOW_S + 300, "sub": "cust-7" }),
    )
    .unwrap();
    let id = identity::verify(&token, "demo", std::slice::from_ref(&k), NOW_MS).unwrap();
    assert_eq!(id.subject.as_deref(), Some("cust-7"));
    // An audience list naming the account also does.
    let token = sign(&k, &json!({ "aud": ["x", "demo"], "exp": NOW_S + 300 })).unwrap();
    assert_eq!(verify(&token, &[k]), Ok(()));
}

#[test]
fn r_s2_tampered_expired_foreign_or_unsigned_tokens_do_not_authenticate() {
    let k = secret("k1", 'a');
    let good = sign(&k, &json!({ "aud": "demo", "exp": NOW_S + 300 })).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let enc = |v: serde_json::Value| base64url_encode(v.to_string().as_bytes());
    let cases = [
        // The payload changed after signing (another audience).
        (
            format!(
                "{}.{}.{}",
                parts[0],
                enc(json!({ "aud": "demo", "exp": NOW_S + 3000 })),
                parts[2]
            ),
            IdentityError::Signature,
        ),
        (
            sign(
                &secret("k1", 'b'),
                &json!({ "aud": "demo", "exp": NOW_S + 300 }),
            )
            .unwrap(),
            IdentityError::Signature,
        ),
        (
            sign(&k, &json!({ "aud": "demo", "exp": NOW_S - 120 })).unwrap(),
            IdentityError::Expired,
        ),
        (
            sign(&k, &json!({ "aud": "demo" })).unwrap(),
            IdentityError::Expired,
        ),
        (
            sign(&k, &json!({ "aud": "other", "exp": NOW_S + 300 })).unwrap(),
            IdentityError::Audience,
        ),
        (
            sign(&k, &json!({ "exp": NOW_S + 300 })).unwrap(),
            IdentityError::Audience,
        ),
        (
            sign(&k, &json!({ "aud": "demo", "exp": NOW_S + 7200 })).unwrap(),
            IdentityError::TooLong,
        ),
        (
            sign(
                &k,
                &json!({ "aud": "demo", "exp": NOW_S + 300, "nbf": NOW_S + 600 }),
            )
            .unwrap(),
            IdentityError::NotYetValid,
        ),
        // alg none, with and without a signature; another algorithm with a valid HS256 MAC.
        (
            format!("{}.{}.", enc(json!({ "alg": "none" })), parts[1]),
            IdentityError::Algorithm,
        ),
        (
            format!(
                "{}.{}.{}",
                enc(json!({ "alg": "none" })),
                parts[1],
                parts[2]
            ),
            IdentityError::Algorithm,
        ),
        (
            format!(
                "{}.{}.{}",
                enc(json!({ "alg": "RS256" })),
                parts[1],
                parts[2]
            ),
            IdentityError::Algorithm,
        ),
        (
            format!(
                "{}.{}.{}",
                enc(json!({ "alg": "hs256" })),
                parts[1],
                parts[2]
            ),
            IdentityError::Algorithm,
        ),
        (
            format!("{}.{}", parts[0], parts[1]),
            IdentityError::Malformed,
        ),
        (format!("{good}.x"), IdentityError::Malformed),
        (
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            IdentityError::Malformed,
        ),
        ("a".repeat(MAX_TOKEN + 1), IdentityError::TooLarge),
    ];
    for (token, want) in cases {
        assert_eq!(
            verify(&token, std::slice::from_ref(&k)),
            Err(want),
            "{token}"
        );
    }
    assert_eq!(verify(&good, &[]), Err(IdentityError::NoSecret));
}

#[test]
fn r_s2_a_rotation_keeps_the_previous_secret_until_the_next() {
    let (k1, k2, k3) = (secret("k1", 'a'), secret("k2", 'b'), secret("k3", 'c'));
    let mut secrets = vec![k1.clone()];
    identity::rotate(&mut secrets, k2.clone());
    let by = |k: &IdentitySecret| sign(k, &json!({ "aud": "demo", "exp": NOW_S + 300 })).unwrap();
    assert_eq!(verify(&by(&k1), &secrets), Ok(()));
    assert_eq!(verify(&by(&k2), &secrets), Ok(()));
    identity::rotate(&mut secrets, k3.clone());
    assert_eq!(verify(&by(&k1), &secrets), Err(IdentityError::Signature));
    assert_eq!(verify(&by(&k3), &secrets), Ok(()));
    // A token naming k3's id but signed with k2's secret is not accepted through k2.
    let mislabelled = sign(
        &IdentitySecret {
            kid: "k3".into(),
            ..k2.clone()
        },
        &json!({ "aud": "demo", "exp": NOW_S + 300 }),
    )
    .unwrap();
    assert_eq!(
        verify(&mislabelled, &secrets),
        Err(IdentityError::Signature)
    );
}

#[test]
fn r_s2_base64url_round_trips_and_has_one_spelling() {
    for n in 0..40u8 {
        let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
        assert_eq!(base64url_decode(&base64url_encode(&bytes)).unwrap(), bytes);
    }
    assert_eq!(base64url_encode(b"\xfb\xff"), "-_8");
    assert_eq!(base64url_decode("-_9"), None, "non-zero leftover bits");
    assert_eq!(base64url_decode("a"), None);
    assert_eq!(base64url_decode("ab+/"), None);
}

#[test]
fn r_s3_clients_are_addresses_and_ipv6_counts_per_64() {
    assert_eq!(client(Some("203.0.113.9")), "203.0.113.9");
    assert_eq!(
        client(Some("2001:db8:1:2:aaaa::1")),
        client(Some("2001:db8:1:2:ffff::9"))
    );
    assert_ne!(
        client(Some("2001:db8:1:2::1")),
        client(Some("2001:db8:1:3::1"))
    );
    assert_eq!(client(Some("::ffff:203.0.113.9")), "203.0.113.9");
    assert_eq!(client(None), "unknown");
    assert_eq!(client(Some("not an address")), "unknown");
    assert_eq!(
        Limit::Tag.key(&["203.0.113.9", "demo"]),
        "tag|203.0.113.9|demo"
    );
}

/// R-S3: each limit's binding is in wrangler.toml with the period the 429s announce.
#[test]
fn r_s3_wrangler_declares_every_limit_with_its_period() {
    let toml = common::fixture("../wrangler.toml");
    for limit in Limit::ALL {
        let at = toml
            .find(&format!("name = \"{}\"", limit.binding()))
            .unwrap_or_else(|| panic!("{} not in wrangler.toml", limit.binding()));
        let rest = &toml[at..];
        let block = &rest[..rest.find("[[").unwrap_or(rest.len())];
        assert!(
            block.contains(&format!("period = {} }}", limit.period_s())),
            "{}: {block}",
            limit.binding()
        );
    }
}

#[test]
fn r_s4_the_cache_drops_the_least_recently_used_until_it_fits() {
    let entries = [("a", 40, 1), ("b", 40, 3), ("c", 40, 2), ("d", 40, 4)];
    assert_eq!(evict(entries, "d", 100), vec!["a", "c"]);
    assert!(evict(entries, "d", 160).is_empty());
    // The entry in use is kept even when it is the oldest.
    assert_eq!(evict(entries, "a", 100), vec!["c", "b"]);
    assert!(entry_bytes(1_000) > 1_000);
}

#[test]
fn r_s2_an_identity_secrets_debug_form_names_it_without_its_secret() {
    let secret = identity::new_secret(&[7u8; 36], 1_700_000_000_000);
    let shown = format!("{secret:?} {:?}", vec![secret.clone()]);
    assert!(shown.contains(&secret.kid), "{shown}");
    assert!(!shown.contains(&secret.secret), "{shown}");
    assert!(!secret.secret.is_empty());
}
