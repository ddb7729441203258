//! `AccountState`, one Durable Object per account (and per click shard of an account): wires
//! the object's storage, the snapshot revisions in KV and the clock to the account's logic
//! ([`crate::account_state`], where what each command does and why it is exact is written).

use super::bindings::{pointer_key, snapshot_key, Account, ObjectClass, ACCOUNT_HEADER, IF_MATCH};
use super::http::respond;
use super::stored::ObjectStore;
use crate::account_state::{AccountObject, Publish, Revisions};
use crate::session::{Failure, StoreError};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// The per-account Durable Object.
#[durable_object]
pub struct AccountState {
    state: State,
    env: Env,
}

/// The snapshot revisions in the KV namespace [`super::bindings::SNAPSHOTS`].
struct KvRevisions<'a>(&'a Env);

impl Revisions for KvRevisions<'_> {
    async fn write(
        &self,
        account: &str,
        revision: u64,
        text: String,
    ) -> std::result::Result<(), StoreError> {
        let failed = |e: worker::Error| StoreError(format!("kv: {e}"));
        let kv = self.0.kv(super::bindings::SNAPSHOTS).map_err(failed)?;
        kv.put(&snapshot_key(account, revision), text)
            .map_err(|e| StoreError(format!("kv: {e:?}")))?
            .execute()
            .await
            .map_err(|e| StoreError(format!("kv: {e:?}")))?;
        kv.put(&pointer_key(account), revision.to_string())
            .map_err(|e| StoreError(format!("kv: {e:?}")))?
            .execute()
            .await
            .map_err(|e| StoreError(format!("kv: {e:?}")))
    }

    async fn delete(&self, account: &str, revision: u64) {
        let deleted = match self.0.kv(super::bindings::SNAPSHOTS) {
            Ok(kv) => kv
                .delete(&snapshot_key(account, revision))
                .await
                .map_err(|e| format!("{e:?}")),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = deleted {
            worker::console_warn!("revision {revision} of {account} not deleted: {e}");
        }
    }
}

impl DurableObject for AccountState {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let Some(command) = Account::parse(&req.method(), &req.path()) else {
            return respond(Err(Failure::NotFound("no such account-state route")));
        };
        let publish = Publish {
            account: req.headers().get(ACCOUNT_HEADER)?.unwrap_or_default(),
            if_match: req.headers().get(IF_MATCH)?.unwrap_or_default(),
        };
        let body = req.bytes().await?;
        let object = AccountObject {
            store: &ObjectStore(self.state.storage()),
            revisions: &KvRevisions(&self.env),
            now_ms: worker::Date::now().as_millis(),
        };
        respond(object.handle(&command, &body, &publish).await)
    }
}
