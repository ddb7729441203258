//! The account's sums (R-M1..R-M4, R-M6), in two tiers of objects over a [`Store`]:
//!
//! * a **shard** ([`Shard`], [`SHARDS`] per account, a message's id choosing one) applies each
//!   message's change once (it remembers the ids for [`LATE_MS`]) and keeps it pending;
//! * its alarm sends what is pending to the account's **summary** ([`Summary`]) as one numbered
//!   flush, sent again until acknowledged; the summary applies each shard's flushes once, in
//!   order, into the rows the report reads.
//!
//! Neither holds anything per visitor. A shard's ids are what bounds its size; the summary
//! holds O(days × rows).

use super::ledger::LATE_MS;
use super::sums::{Deltas, Row, Sums};
use crate::store::{text, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Shards per account: enough that one account at 100 M visits a day stays within a Durable
/// Object's limits with a margin of 2 (`scripts/load-model.mjs`).
pub const SHARDS: u32 = 64;

/// How long after a change a shard flushes it to the summary: the report's freshness.
pub const FLUSH_MS: u64 = 1_000;

/// How long a shard waits before sending a flush again that was not acknowledged.
pub const RETRY_MS: u64 = 5_000;

/// The shard a message's change goes to: FNV-1a of its id, so a repeated message meets the
/// shard that remembers it.
pub fn shard_of(id: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % SHARDS
}

const SEEN: &str = "a:";
/// The ids by when they were applied, for forgetting them in order.
const SEEN_AT: &str = "t:";
const PENDING: &str = "p:";
const INFLIGHT: &str = "inflight";
const NEXT: &str = "next";

/// A shard's flush: its number (from 1, in order) and the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flush {
    /// The shard.
    pub shard: u32,
    /// The flush's number.
    pub seq: u64,
    /// The change.
    pub deltas: Deltas,
}

/// Changes for a shard to apply ([`Shard::apply`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToShard {
    /// The account (the shard's flushes go to its summary).
    pub account: String,
    /// The shard.
    pub shard: u32,
    /// `(message id, change)`.
    pub changes: Vec<(String, Deltas)>,
    /// Now, ms.
    pub now_ms: u64,
}

/// A range of days for the summary to read ([`Summary::rows`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Days {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day.
    pub to: String,
}

/// A campaign for the summary to delete the rows of ([`Summary::delete_campaign`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignGone {
    /// Campaign id.
    pub campaign: String,
    /// Now, ms.
    pub now_ms: u64,
}

/// The flush in flight and the pending keys it took.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Inflight {
    flush: Flush,
    keys: Vec<String>,
}

/// One shard of an account's sums.
pub struct Shard<'a, S> {
    store: &'a S,
    shard: u32,
}

impl<'a, S: Store> Shard<'a, S> {
    /// Shard number `shard`, kept in `store`.
    pub fn new(store: &'a S, shard: u32) -> Self {
        Shard { store, shard }
    }

    /// R-M4: applies each `(id, change)` not applied before and keeps it pending; returns the
    /// ids that were new. Sets the alarm that flushes them.
    pub async fn apply(
        &self,
        changes: &[(String, Deltas)],
        now_ms: u64,
    ) -> Result<Vec<String>, StoreError> {
        let mut entries = Vec::new();
        let mut new: Vec<String> = Vec::new();
        for (id, deltas) in changes {
            let seen = format!("{SEEN}{id}");
            if new.contains(id) || self.store.get::<u64>(&seen).await?.is_some() {
                continue;
            }
            new.push(id.clone());
            entries.push((seen, text(&now_ms)?));
            entries.push((format!("{SEEN_AT}{now_ms:016}:{id}"), String::from("0")));
            if !deltas.is_empty() {
                entries.push((format!("{PENDING}{now_ms:016}:{id}"), text(deltas)?));
            }
        }
        if !entries.is_empty() {
            self.store.put_all(&entries).await?;
            self.store.set_alarm(FLUSH_MS).await?;
        }
        Ok(new)
    }

    /// The flush to send now, if any: the one in flight, else everything pending as the next
    /// one (recorded before it is sent, so that a flush is sent again the same until it is
    /// acknowledged). `None`: nothing to send.
    pub async fn flush(&self) -> Result<Option<Flush>, StoreError> {
        if let Some(inflight) = self.store.get::<Inflight>(INFLIGHT).await? {
            return Ok(Some(inflight.flush));
        }
        let pending = self.store.texts(PENDING, Some(1_000)).await?;
        if pending.is_empty() {
            return Ok(None);
        }
        let mut deltas = Deltas::default();
        for (_, t) in &pending {
            deltas.merge(&serde_json::from_str(t)?, 1);
        }
        let seq = self.store.get::<u64>(NEXT).await?.unwrap_or(1);
        let flush = Flush {
            shard: self.shard,
            seq,
            deltas,
        };
        let inflight = Inflight {
            flush: flush.clone(),
            keys: pending.into_iter().map(|(k, _)| k).collect(),
        };
        self.store
            .put_all(&[
                (INFLIGHT.to_string(), text(&inflight)?),
                (NEXT.to_string(), text(&(seq + 1))?),
            ])
            .await?;
        Ok(Some(flush))
    }

    /// The summary acknowledged flush `seq`: its pending changes are gone; the alarm is set
    /// again when more are pending.
    pub async fn flushed(&self, seq: u64) -> Result<(), StoreError> {
        let Some(inflight) = self.store.get::<Inflight>(INFLIGHT).await? else {
            return Ok(());
        };
        if inflight.flush.seq != seq {
            return Ok(());
        }
        for key in &inflight.keys {
            self.store.delete(key).await?;
        }
        self.store.delete(INFLIGHT).await?;
        if !self.store.texts(PENDING, Some(1)).await?.is_empty() {
            self.store.set_alarm(FLUSH_MS).await?;
        }
        Ok(())
    }

    /// A flush that failed: sent again after [`RETRY_MS`].
    pub async fn failed(&self) -> Result<(), StoreError> {
        self.store.set_alarm(RETRY_MS).await
    }

    /// Forgets the ids applied before [`LATE_MS`] ago, the oldest first, at most `limit`;
    /// returns how many.
    pub async fn forget(&self, now_ms: u64, limit: usize) -> Result<usize, StoreError> {
        let cutoff = now_ms.saturating_sub(LATE_MS);
        let old = self
            .store
            .texts_between(SEEN_AT, &format!("{SEEN_AT}{cutoff:016}"), Some(limit))
            .await?;
        for (key, _) in &old {
            if let Some((_, id)) = key.trim_start_matches(SEEN_AT).split_once(':') {
                self.store.delete(&format!("{SEEN}{id}")).await?;
            }
            self.store.delete(key).await?;
        }
        Ok(old.len())
    }
}

const ROWS: &str = "r:";
const SHARD_SEEN: &str = "s:";
const GONE: &str = "gone:";

/// The account's summary: the rows the report reads.
pub struct Summary<'a, S> {
    store: &'a S,
}

impl<'a, S: Store> Summary<'a, S> {
    /// The summary kept in `store`.
    pub fn new(store: &'a S) -> Self {
        Summary { store }
    }

    /// R-M4: applies `flush` unless its shard's flushes up to its number were applied; a
    /// flush's rows of a campaign whose measurements were deleted are dropped.
    pub async fn apply(&self, flush: &Flush) -> Result<bool, StoreError> {
        let seen = format!("{SHARD_SEEN}{}", flush.shard);
        if self.store.get::<u64>(&seen).await?.unwrap_or(0) >= flush.seq {
            return Ok(false);
        }
        let gone: BTreeSet<String> = self
            .store
            .texts(GONE, None)
            .await?
            .into_iter()
            .map(|(k, _)| k.trim_start_matches(GONE).to_string())
            .collect();
        let mut entries = Vec::new();
        for (key, change) in &flush.deltas.0 {
            let Some(row) = Row::parse(key) else {
                continue;
            };
            if gone.contains(row.campaign()) {
                continue;
            }
            let at = format!("{ROWS}{key}");
            let mut sums: Sums = self.store.get(&at).await?.unwrap_or_default();
            sums.add(change, 1);
            entries.push((at, text(&sums)?));
        }
        entries.push((seen, text(&flush.seq)?));
        self.store.put_all(&entries).await?;
        Ok(true)
    }

    /// The rows of the days `from..=to`, with their sums (rows summing to zero left out).
    pub async fn rows(&self, from: &str, to: &str) -> Result<Vec<(Row, Sums)>, StoreError> {
        let start = format!("{ROWS}{from}");
        let end = format!("{ROWS}{to}|~");
        let mut out = Vec::new();
        for (key, t) in self.store.texts_between(&start, &end, None).await? {
            let sums: Sums = serde_json::from_str(&t)?;
            if let (false, Some(row)) = (sums.is_zero(), Row::parse(key.trim_start_matches(ROWS))) {
                out.push((row, sums));
            }
        }
        Ok(out)
    }

    /// R-M5: deletes the rows of `campaign` and drops what its shards still send of it for
    /// [`LATE_MS`]; returns the rows deleted (funnel, and conversions and arms).
    pub async fn delete_campaign(
        &self,
        campaign: &str,
        now_ms: u64,
    ) -> Result<(usize, usize), StoreError> {
        self.store
            .put(&format!("{GONE}{campaign}"), &now_ms)
            .await?;
        let (mut funnel, mut history) = (0, 0);
        for (key, _) in self.store.texts(ROWS, None).await? {
            match Row::parse(key.trim_start_matches(ROWS)) {
                Some(row) if row.campaign() == campaign => {
                    if matches!(row, Row::Funnel { .. }) {
                        funnel += 1;
                    } else {
                        history += 1;
                    }
                    self.store.delete(&key).await?;
                }
                _ => {}
            }
        }
        Ok((funnel, history))
    }

    /// R-M5: deletes the rows of days before `oldest_day` (at most `limit`, the oldest first)
    /// and forgets deleted campaigns past [`LATE_MS`]; returns the rows deleted.
    pub async fn prune(
        &self,
        oldest_day: &str,
        now_ms: u64,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let old = self
            .store
            .texts_between(ROWS, &format!("{ROWS}{oldest_day}"), Some(limit))
            .await?;
        for (key, _) in &old {
            self.store.delete(key).await?;
        }
        for (key, t) in self.store.texts(GONE, None).await? {
            if serde_json::from_str::<u64>(&t)? < now_ms.saturating_sub(LATE_MS) {
                self.store.delete(&key).await?;
            }
        }
        Ok(old.len())
    }
}
