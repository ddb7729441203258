//! The measurement queue's consumer (R-M1, R-M4, R-M6): each message's change to the
//! account's sums (its own funnel rows, and what the visitor's ledger answers for it) goes to
//! the shard its id names, one call per shard and delivery.
//!
//! Exactness: the ledger applies a message once and answers the same change when it is
//! delivered again; the shard applies each message id once. A message is acknowledged only
//! once its shard has it; anything that fails before is retried, and the retry finds what was
//! done already done.

use super::bindings::{self, ledger_instance, shard_instance, Ledger as LedgerCommand, Totals};
use super::queue::read_message;
use super::snapshots;
#[cfg(feature = "test-faults")]
use crate::faults::Fault;
use crate::measure::ledger::{LedgerRules, ToApply};
use crate::measure::message::Message;
use crate::measure::sums::Deltas;
use crate::measure::totals::{shard_of, ToShard};
use std::collections::BTreeMap;
use worker::{event, Context, Env, MessageBatch, MessageExt, RawMessage};

/// The change `m` makes to its account's sums: its funnel rows, and its ledger's answer.
async fn change(
    env: &Env,
    m: &Message,
    rules: &LedgerRules,
    now_ms: u64,
) -> Result<Deltas, String> {
    let mut deltas = m.funnel();
    if let Some(visitor) = m.visitor() {
        let apply = ToApply {
            message: m.clone(),
            rules: rules.clone(),
            now_ms,
        };
        let instance = ledger_instance(m.account(), visitor);
        let answer: Deltas = bindings::send_json(env, &instance, &LedgerCommand::Apply, &apply)
            .await
            .map_err(|e| format!("ledger: {e:?}"))?;
        deltas.merge(&answer, 1);
    }
    Ok(deltas)
}

/// A delivery's messages with their changes, by (account, shard).
type ByShard = BTreeMap<(String, u32), Vec<(RawMessage, Message, Deltas)>>;

/// R-M4: adds a delivery of measurement messages to the account's sums, each once.
#[event(queue)]
pub async fn consume(batch: MessageBatch<Message>, env: Env, _ctx: Context) -> worker::Result<()> {
    let now = worker::Date::now().as_millis();
    let mut rules: BTreeMap<String, Option<LedgerRules>> = BTreeMap::new();
    // (account, shard) → the messages and their changes
    let mut shards: ByShard = BTreeMap::new();
    let mut read = Vec::new();
    for raw in batch.raw_iter() {
        match read_message(&raw.body()) {
            Ok(m) => read.push((raw, m)),
            Err(e) => {
                // Not ours to count (a message no version of this worker wrote): dropped, said.
                worker::console_error!("measurement: unreadable message dropped: {e:?}");
                raw.ack();
            }
        }
    }
    for (_, m) in &read {
        if !rules.contains_key(m.account()) {
            let live = snapshots::live_snapshot(&env, m.account()).await;
            let of = live.ok().map(|snap| LedgerRules::of(&snap));
            rules.insert(m.account().to_string(), of);
        }
    }
    // The ledgers are asked together: each message's visitor has its own object.
    let changes = super::join_all(
        read.iter()
            .map(|(_, m)| async {
                match rules.get(m.account()) {
                    Some(Some(r)) => change(&env, m, r, now).await,
                    _ => Err(format!("no snapshot for {}", m.account())),
                }
            })
            .collect(),
    )
    .await;
    for ((raw, m), changed) in read.into_iter().zip(changes) {
        match changed {
            Ok(deltas) => {
                let shard = shard_of(&m.id());
                shards
                    .entry((m.account().to_string(), shard))
                    .or_default()
                    .push((raw, m, deltas));
            }
            Err(e) => {
                worker::console_error!("measurement: {e}, retried");
                raw.retry();
            }
        }
    }
    let env = &env;
    let sends = shards.iter().map(|((account, shard), messages)| {
        let to = ToShard {
            account: account.clone(),
            shard: *shard,
            changes: messages
                .iter()
                .map(|(_, m, d)| (m.id(), d.clone()))
                .collect(),
            now_ms: now,
        };
        async move {
            bindings::send_json::<_, _, Vec<String>>(
                env,
                &shard_instance(&to.account, to.shard),
                &Totals::Apply,
                &to,
            )
            .await
        }
    });
    let asked = worker::Date::now().as_millis();
    let sent = super::join_all(sends.collect()).await;
    worker::console_log!(
        "measurement: delivery: ledgers {} ms, shards {} ms",
        asked.saturating_sub(now),
        worker::Date::now().as_millis().saturating_sub(asked)
    );
    for (((account, shard), messages), sent) in shards.iter().zip(sent) {
        match sent {
            Ok(new) => {
                let told = messages
                    .iter()
                    .filter(|(_, m, _)| m.visitor().is_some())
                    .count();
                worker::console_log!(
                    "measurement: {} messages ({told} told to ledgers) to shard {shard} of {account}, {} new",
                    messages.len(),
                    new.len()
                );
                for (raw, m, _) in messages {
                    if retried_after_commit(m, &new) {
                        raw.retry();
                    } else {
                        raw.ack();
                    }
                }
            }
            Err(e) => {
                worker::console_error!("measurement: shard {shard} of {account}: {e:?}, retried");
                for (raw, _, _) in messages {
                    raw.retry();
                }
            }
        }
    }
    Ok(())
}

/// Test builds: true when `m` is a fact batch marked by `X-Test-Fault: consumer` that this
/// delivery applied: it is retried once after its shard has it, as if the consumer had died
/// before acknowledging it. Always false in other builds.
#[cfg(feature = "test-faults")]
fn retried_after_commit(m: &Message, new: &[String]) -> bool {
    let Message::Facts(body) = m else {
        return false;
    };
    let applied_here = new.contains(&body.id);
    if body.fault == Some(Fault::ConsumerRetry) {
        if applied_here {
            worker::console_log!(
                "measurement: batch {} committed, retried (test fault)",
                body.id
            );
        } else {
            worker::console_log!(
                "measurement: batch {} was applied before: acknowledged",
                body.id
            );
        }
        return applied_here;
    }
    false
}

#[cfg(not(feature = "test-faults"))]
fn retried_after_commit(_: &Message, _: &[String]) -> bool {
    false
}
