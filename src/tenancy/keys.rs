//! R-S1: per-account API keys with scopes. A key reads `eek.{account}.{id}.{secret}`: the
//! account and the 12-hex-digit id say where it is kept (the account's object), the 64-hex-digit
//! secret (256 random bits) is shown once and kept only as its SHA-256. The operator's root
//! token manages keys and nothing else; every other admin, report and brand route takes a key
//! of its account with the route's scope.

use crate::crypto::{same, sha256_hex};
use serde::{Deserialize, Serialize};

/// What a key may do. Each admin, report and brand route needs exactly one
/// ([`crate::api::routes::Route::scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read and publish snapshots, list the offsite links.
    Publish,
    /// Read and push agent availability.
    Availability,
    /// Read the measurement report and click totals.
    Reports,
    /// Report conversions from the brand's server.
    Conversions,
    /// Explain a decision and read a visit.
    Explain,
    /// Erase a visitor, delete a campaign's measurements.
    Erase,
    /// Read a context with its agent note (the agent side).
    Agent,
    /// The click-to-call brand API.
    Calls,
    /// Rotate the account's identity-token secret (R-S2).
    Identity,
}

impl Scope {
    /// Every scope, in the order documentation lists them.
    pub const ALL: [Scope; 9] = [
        Scope::Publish,
        Scope::Availability,
        Scope::Reports,
        Scope::Conversions,
        Scope::Explain,
        Scope::Erase,
        Scope::Agent,
        Scope::Calls,
        Scope::Identity,
    ];

    /// The scope's name in keys' listings and requests.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Publish => "publish",
            Scope::Availability => "availability",
            Scope::Reports => "reports",
            Scope::Conversions => "conversions",
            Scope::Explain => "explain",
            Scope::Erase => "erase",
            Scope::Agent => "agent",
            Scope::Calls => "calls",
            Scope::Identity => "identity",
        }
    }

    /// The scope named `name`.
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A key's text starts with this.
pub const KEY_PREFIX: &str = "eek";
/// Hex digits of a key id.
pub const ID_LEN: usize = 12;
/// Hex digits of a key secret (256 bits).
pub const SECRET_LEN: usize = 64;
/// Keys an account may have that are not revoked.
pub const MAX_ACTIVE_KEYS: usize = 20;
/// How long a revoked key's record (the audit of who had what) is kept: 90 days.
pub const REVOKED_RETENTION_MS: u64 = 90 * 24 * 60 * 60 * 1000;
/// Longest key name, in bytes.
pub const MAX_NAME: usize = 64;

/// A key as presented: which account and key it claims, and its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresentedKey<'a> {
    /// The account the key says it belongs to.
    pub account: &'a str,
    /// The key's id.
    pub id: &'a str,
    /// The secret.
    pub secret: &'a str,
}

fn lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl<'a> PresentedKey<'a> {
    /// Reads `eek.{account}.{id}.{secret}`; `None` when it is not shaped like a key (the
    /// account may itself contain dots, so the id and secret are taken from the right).
    pub fn parse(text: &'a str) -> Option<PresentedKey<'a>> {
        let mut parts = text.rsplitn(3, '.');
        let secret = parts.next()?;
        let id = parts.next()?;
        let account = parts.next()?.strip_prefix(KEY_PREFIX)?.strip_prefix('.')?;
        (lower_hex(secret, SECRET_LEN)
            && lower_hex(id, ID_LEN)
            && crate::engine::snapshot::valid_id(account))
        .then_some(PresentedKey {
            account,
            id,
            secret,
        })
    }

    /// The SHA-256 of the secret, as records keep it.
    pub fn hash(&self) -> String {
        sha256_hex(self.secret.as_bytes())
    }
}

/// The text of a key: `eek.{account}.{id}.{secret}`.
pub fn key_text(account: &str, id: &str, secret: &str) -> String {
    format!("{}.{secret}", key_prefix(account, id))
}

/// The part of a key that is not secret, shown in listings: `eek.{account}.{id}`.
pub fn key_prefix(account: &str, id: &str) -> String {
    format!("{KEY_PREFIX}.{account}.{id}")
}

/// One key as the account's object keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    /// The key's id.
    pub id: String,
    /// A name for people ("contact-center availability").
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// SHA-256 of the secret, hex.
    pub hash: String,
    /// Creation time, ms since the epoch.
    pub created_ms: u64,
    /// Last rotation, if any.
    #[serde(default)]
    pub rotated_ms: Option<u64>,
    /// Revocation, if any.
    #[serde(default)]
    pub revoked_ms: Option<u64>,
    /// Last time an isolate verified it (to within the isolates' 5-second reuse).
    #[serde(default)]
    pub last_used_ms: Option<u64>,
}

impl KeyRecord {
    /// True when the key is not revoked.
    pub fn active(&self) -> bool {
        self.revoked_ms.is_none()
    }

    /// True when `hash` is the hash of this key's current secret and it is not revoked.
    pub fn admits(&self, hash: &str) -> bool {
        self.active() && same(hash.as_bytes(), self.hash.as_bytes())
    }
}

/// Why a key operation is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyError {
    /// The account already has [`MAX_ACTIVE_KEYS`] active keys.
    TooMany,
    /// No key with this id.
    Unknown,
    /// The key is revoked: it cannot be rotated.
    Revoked,
    /// The id is taken (a fresh random id collided; the caller retries).
    IdTaken,
    /// Not the key's current secret, or the key is revoked.
    Refused,
}

/// What the root token asks to create.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyRequest {
    /// A name for people.
    pub name: String,
    /// Scope names ([`Scope::name`]).
    pub scopes: Vec<String>,
}

impl KeyRequest {
    /// Checks the name and scopes.
    pub fn check(&self) -> Result<Vec<Scope>, (&'static str, String)> {
        if self.name.trim().is_empty()
            || self.name.len() > MAX_NAME
            || self.name.chars().any(char::is_control)
        {
            return Err((
                "name",
                format!("1 to {MAX_NAME} bytes, no control characters"),
            ));
        }
        let mut scopes = Vec::with_capacity(self.scopes.len());
        for name in &self.scopes {
            let scope = Scope::parse(name).ok_or_else(|| {
                let all: Vec<_> = Scope::ALL.iter().map(|s| s.name()).collect();
                (
                    "scopes",
                    format!("unknown scope \"{name}\": use {}", all.join(", ")),
                )
            })?;
            if scopes.contains(&scope) {
                return Err(("scopes", format!("\"{name}\" is named twice")));
            }
            scopes.push(scope);
        }
        if scopes.is_empty() {
            return Err(("scopes", "name at least one scope".to_string()));
        }
        scopes.sort();
        Ok(scopes)
    }
}

/// An account's keys, revoked ones included until [`REVOKED_RETENTION_MS`] has passed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRing(pub Vec<KeyRecord>);

impl KeyRing {
    /// The key with `id`.
    pub fn get(&self, id: &str) -> Option<&KeyRecord> {
        self.0.iter().find(|k| k.id == id)
    }

    fn get_mut(&mut self, id: &str) -> Result<&mut KeyRecord, KeyError> {
        self.0
            .iter_mut()
            .find(|k| k.id == id)
            .ok_or(KeyError::Unknown)
    }

    /// Adds a key whose secret hashes to `hash`.
    pub fn create(
        &mut self,
        id: &str,
        name: &str,
        scopes: Vec<Scope>,
        hash: String,
        now_ms: u64,
    ) -> Result<&KeyRecord, KeyError> {
        if self.get(id).is_some() {
            return Err(KeyError::IdTaken);
        }
        if self.0.iter().filter(|k| k.active()).count() >= MAX_ACTIVE_KEYS {
            return Err(KeyError::TooMany);
        }
        self.0.push(KeyRecord {
            id: id.to_string(),
            name: name.trim().to_string(),
            scopes,
            hash,
            created_ms: now_ms,
            rotated_ms: None,
            revoked_ms: None,
            last_used_ms: None,
        });
        self.0.last().ok_or(KeyError::Unknown)
    }

    /// Replaces a key's secret: the old one stops working.
    pub fn rotate(&mut self, id: &str, hash: String, now_ms: u64) -> Result<&KeyRecord, KeyError> {
        let key = self.get_mut(id)?;
        if !key.active() {
            return Err(KeyError::Revoked);
        }
        key.hash = hash;
        key.rotated_ms = Some(now_ms);
        Ok(key)
    }

    /// Revokes a key (again: no change).
    pub fn revoke(&mut self, id: &str, now_ms: u64) -> Result<&KeyRecord, KeyError> {
        let key = self.get_mut(id)?;
        key.revoked_ms.get_or_insert(now_ms);
        Ok(key)
    }

    /// The key `id` when `hash` is its current secret's, recording the use.
    pub fn admit(&mut self, id: &str, hash: &str, now_ms: u64) -> Result<&KeyRecord, KeyError> {
        let key = self.get_mut(id)?;
        if !key.admits(hash) {
            return Err(KeyError::Refused);
        }
        key.last_used_ms = Some(now_ms);
        Ok(key)
    }

    /// Applies one operation at `now_ms` (revoked keys past their retention are forgotten
    /// first): every key for [`KeyOp::List`], the key concerned otherwise.
    pub fn apply(&mut self, op: &KeyOp, now_ms: u64) -> Result<Vec<KeyRecord>, KeyError> {
        self.prune(now_ms);
        let one = |k: &KeyRecord| vec![k.clone()];
        match op {
            KeyOp::List => Ok(self.0.clone()),
            KeyOp::Create {
                id,
                name,
                scopes,
                hash,
            } => self
                .create(id, name, scopes.clone(), hash.clone(), now_ms)
                .map(one),
            KeyOp::Rotate { id, hash } => self.rotate(id, hash.clone(), now_ms).map(one),
            KeyOp::Revoke { id } => self.revoke(id, now_ms).map(one),
            KeyOp::Admit { id, hash } => self.admit(id, hash, now_ms).map(one),
        }
    }

    /// Forgets keys revoked more than [`REVOKED_RETENTION_MS`] ago; true when any was.
    pub fn prune(&mut self, now_ms: u64) -> bool {
        let before = self.0.len();
        self.0.retain(|k| {
            k.revoked_ms
                .is_none_or(|at| now_ms.saturating_sub(at) < REVOKED_RETENTION_MS)
        });
        self.0.len() != before
    }
}

/// An operation on an account's keys, as the worker sends it to the account's object (which
/// holds the ring and applies it with [`KeyRing::apply`]). Secrets never travel: only hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyOp {
    /// Every key.
    List,
    /// Add a key.
    Create {
        /// Its id.
        id: String,
        /// Its name.
        name: String,
        /// Its scopes.
        scopes: Vec<Scope>,
        /// Its secret's hash.
        hash: String,
    },
    /// Give a key a new secret.
    Rotate {
        /// The key.
        id: String,
        /// The new secret's hash.
        hash: String,
    },
    /// Revoke a key.
    Revoke {
        /// The key.
        id: String,
    },
    /// Check a presented secret and record the use.
    Admit {
        /// The key.
        id: String,
        /// The presented secret's hash.
        hash: String,
    },
}

/// What a verified key may do on one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The key's account.
    pub account: String,
    /// Its scopes.
    pub scopes: Vec<Scope>,
}

/// Why a verified key is refused on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The key belongs to another account.
    OtherAccount,
    /// The key lacks the route's scope.
    MissingScope(Scope),
}

impl Grant {
    /// R-S1: a key works only for its account and scopes.
    pub fn allows(&self, account: &str, scope: Scope) -> Result<(), Refusal> {
        if self.account != account {
            return Err(Refusal::OtherAccount);
        }
        if !self.scopes.contains(&scope) {
            return Err(Refusal::MissingScope(scope));
        }
        Ok(())
    }
}
