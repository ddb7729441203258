//! The location's shared copy of an account's view as the Cache API keeps it (R-P2): when the
//! account's object was read, the live revision and the agents' availability in the clear, for
//! the isolates to weigh and use; the identity-token secrets (R-S2) sealed. The Cache API is
//! storage outside the account's object, so what it holds of a secret is useless without a key
//! that only the worker's own secrets give ([`seal_key`]).

use crate::api::admin::AccountView;
use crate::crypto::{self, NONCE_BYTES};
use crate::engine::agent::Availability;
use crate::freshness::{Shared, Stamp};
use crate::tenancy::identity::IdentitySecret;
use serde::{Deserialize, Serialize};

/// An account's view as the location shares it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// When the account's object was read (by the request clock of the isolate that read it).
    pub fetched_at: u64,
    /// When an isolate claimed its refresh, if none has written a newer view since.
    pub claimed_at: Option<u64>,
    /// The view.
    pub view: AccountView,
}

/// What the cache stores: [`Entry`] with the identity secrets sealed, as JSON text.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Stored {
    fetched_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claimed_at: Option<u64>,
    revision: u64,
    availability: Availability,
    /// Hex of the nonce, the ChaCha20-Poly1305 ciphertext of the secrets' JSON and its tag,
    /// bound to the account and revision ([`context`]).
    identity: String,
}

/// Why a stored entry is not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Not an entry's JSON.
    Shape(String),
    /// Its secrets do not open under this worker's key for this account and revision: sealed
    /// under another key (a rotated root token), changed, or copied from another account.
    Seal,
}

/// The worker's key for the entries' secrets, from its root token (`ROOT_TOKEN`); without one
/// the location shares no view.
pub fn seal_key(root_token: &str) -> Option<[u8; 32]> {
    crypto::derive_key(root_token.as_bytes(), "edge-engage/location-view/v1")
}

/// What the sealed secrets are bound to: an entry opens only for its own account and revision.
fn context(account: &str, revision: u64) -> Vec<u8> {
    format!("{account}\n{revision}").into_bytes()
}

impl Entry {
    /// What [`crate::freshness::at_location`] weighs.
    pub fn shared(&self) -> Shared {
        Shared {
            stamp: Stamp {
                fetched_at: self.fetched_at,
                revision: self.view.revision,
            },
            claimed_at: self.claimed_at,
        }
    }

    /// The entry of `account` as the cache stores it, its secrets sealed under `key` with
    /// `nonce` (fresh for every write). `None` only if the secrets cannot be written.
    pub fn seal(&self, account: &str, key: &[u8; 32], nonce: [u8; NONCE_BYTES]) -> Option<String> {
        let secrets = serde_json::to_vec(&self.view.identity).ok()?;
        let sealed = crypto::seal(key, nonce, &context(account, self.view.revision), &secrets)?;
        serde_json::to_string(&Stored {
            fetched_at: self.fetched_at,
            claimed_at: self.claimed_at,
            revision: self.view.revision,
            availability: self.view.availability.clone(),
            identity: crypto::hex(&sealed),
        })
        .ok()
    }

    /// Reads what [`Entry::seal`] stored for `account` under `key`.
    ///
    /// # Errors
    ///
    /// [`Unreadable`]: the text is not an entry, or its secrets do not open.
    pub fn open(account: &str, key: &[u8; 32], text: &[u8]) -> Result<Entry, Unreadable> {
        let stored: Stored =
            serde_json::from_slice(text).map_err(|e| Unreadable::Shape(e.to_string()))?;
        let sealed = crypto::unhex(&stored.identity).ok_or(Unreadable::Seal)?;
        let secrets = crypto::open(key, &context(account, stored.revision), &sealed)
            .ok_or(Unreadable::Seal)?;
        let identity: Vec<IdentitySecret> =
            serde_json::from_slice(&secrets).map_err(|_| Unreadable::Seal)?;
        Ok(Entry {
            fetched_at: stored.fetched_at,
            claimed_at: stored.claimed_at,
            view: AccountView {
                revision: stored.revision,
                availability: stored.availability,
                identity,
            },
        })
    }
}
