//! Snapshot revisions in KV: immutable per revision, so they are read with a day's `cacheTtl`
//! and compiled once per isolate (`snapshots.rs`).

use super::bindings::{snapshot_key, SNAPSHOTS};
use crate::api::decide::Degraded;
use crate::api::ApiError;
use crate::engine::snapshot::{self, Snapshot};
use worker::Env;

/// How long a location's KV cache keeps a snapshot revision it has read (`cacheTtl`): the
/// revision keys are written once and never changed, so a day costs nothing in freshness and
/// spares the next isolate in the location a cold KV read.
const REVISION_CACHE_TTL_S: u64 = 86_400;

/// Reads the stored text of one immutable snapshot revision from KV. A miss is read again
/// without `cacheTtl`, so that a revision read in the moment before its write propagated is
/// not remembered as missing for a day.
pub(super) async fn kv_text(env: &Env, account: &str, revision: u64) -> Result<String, ApiError> {
    let kv = env
        .kv(SNAPSHOTS)
        .map_err(|e| ApiError::Unavailable(format!("kv binding: {e}")))?;
    let key = snapshot_key(account, revision);
    let read = |cached: bool| {
        let get = kv.get(&key);
        let get = if cached {
            get.cache_ttl(REVISION_CACHE_TTL_S)
        } else {
            get
        };
        get.text()
    };
    let text = match read(true).await {
        Ok(None) => read(false).await,
        other => other,
    };
    text.map_err(|e| ApiError::Unavailable(format!("kv read: {e}")))?
        .ok_or_else(|| ApiError::NotFound(format!("snapshot {revision} in KV")))
}

/// Reads and compiles one snapshot revision (with its text's length); on failure, logs why and
/// returns a short reason: `snapshot_missing`, `snapshot_corrupt` or `snapshot_unreadable` (KV
/// itself failed).
pub(super) async fn read_snapshot(
    env: &Env,
    account: &str,
    revision: u64,
) -> Result<(Snapshot, usize), Degraded> {
    let (reason, detail) = match kv_text(env, account, revision).await {
        Ok(text) => match snapshot::load(&text, account, revision) {
            Ok(snapshot) => return Ok((snapshot, text.len())),
            Err(problems) => (
                Degraded::SnapshotCorrupt,
                format!(
                    "{} problem(s), first: {}",
                    problems.len(),
                    problems
                        .first()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                ),
            ),
        },
        Err(ApiError::NotFound(what)) => (Degraded::SnapshotMissing, what),
        Err(e) => (Degraded::SnapshotUnreadable, e.message()),
    };
    worker::console_error!(
        "{}",
        serde_json::json!({
            "level": "error",
            "event": reason.code(),
            "account": account,
            "revision": revision,
            "detail": detail,
        })
    );
    Err(reason)
}
