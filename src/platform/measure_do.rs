//! The measurement objects (R-M4, R-M6): `VisitorLedger`, one per (account, visitor), and
//! `MeasureTotals`, an account's shards and its summary. Each wires its storage and the clock
//! to the logic in [`crate::measure::ledger`] and [`crate::measure::totals`], where what each
//! command does and why it is exact is written.

use super::bindings::{self, summary_instance, Ledger as LedgerCommand, ObjectClass, Totals};
use super::http::respond;
use super::stored::ObjectStore;
use crate::engine::snapshot::day_in;
use crate::measure::ledger::{Ledger, ToApply, ToErase};
use crate::measure::totals::{CampaignGone, Days, Flush, Shard, Summary, ToShard};
use crate::measure::REPORT_DAYS;
use crate::session::{body, json, Failure, Reply};
use crate::store::Store;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// A visitor's ledger.
#[durable_object]
pub struct VisitorLedger {
    state: State,
    #[allow(dead_code)]
    env: Env,
}

impl VisitorLedger {
    async fn handle(
        &self,
        command: LedgerCommand,
        bytes: &[u8],
    ) -> std::result::Result<Reply, Failure> {
        let store = ObjectStore(self.state.storage());
        let ledger = Ledger::new(&store);
        match command {
            LedgerCommand::Apply => {
                let m: ToApply = body(bytes)?;
                json(
                    &ledger
                        .apply(&m.message.id(), &m.message, &m.rules, m.now_ms)
                        .await?,
                )
            }
            LedgerCommand::Erase => {
                let e: ToErase = body(bytes)?;
                json(&ledger.erase(&e.id, e.now_ms).await?)
            }
        }
    }
}

impl DurableObject for VisitorLedger {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let Some(command) = LedgerCommand::parse(&req.method(), &req.path()) else {
            return Response::error("no such ledger route", 404);
        };
        let bytes = req.bytes().await?;
        respond(self.handle(command, &bytes).await)
    }

    async fn alarm(&self) -> Result<Response> {
        let store = ObjectStore(self.state.storage());
        let now = worker::Date::now().as_millis();
        respond(
            Ledger::new(&store)
                .alarm(now)
                .await
                .map(|()| Reply::Empty)
                .map_err(Failure::from),
        )
    }
}

/// Which shard of which account an instance of `MeasureTotals` is, kept by a shard.
const SHARD_OF: &str = "shard-of";

/// Flushes one alarm sends at most before it sets the next.
const FLUSHES_PER_ALARM: usize = 8;

/// Ids a shard forgets per alarm, at most (the oldest first).
const FORGET_PER_ALARM: usize = 2_000;

/// Rows of past days a summary deletes per flush, at most.
const PRUNE_PER_FLUSH: usize = 500;

/// An account's shard or summary.
#[durable_object]
pub struct MeasureTotals {
    state: State,
    env: Env,
}

impl MeasureTotals {
    async fn handle(&self, command: Totals, bytes: &[u8]) -> std::result::Result<Reply, Failure> {
        let store = ObjectStore(self.state.storage());
        let now = worker::Date::now().as_millis();
        match command {
            Totals::Apply => {
                let to: ToShard = body(bytes)?;
                if store.get::<(String, u32)>(SHARD_OF).await?.is_none() {
                    store
                        .put(SHARD_OF, &(to.account.as_str(), to.shard))
                        .await?;
                }
                json(
                    &Shard::new(&store, to.shard)
                        .apply(&to.changes, to.now_ms)
                        .await?,
                )
            }
            Totals::Flush => {
                let flush: Flush = body(bytes)?;
                let summary = Summary::new(&store);
                let new = summary.apply(&flush).await?;
                let oldest = day_in(
                    &jiff::tz::TimeZone::UTC,
                    now.saturating_sub(REPORT_DAYS * 86_400_000),
                );
                summary.prune(&oldest, now, PRUNE_PER_FLUSH).await?;
                json(&new)
            }
            Totals::Rows => {
                let days: Days = body(bytes)?;
                json(&Summary::new(&store).rows(&days.from, &days.to).await?)
            }
            Totals::DeleteCampaign => {
                let gone: CampaignGone = body(bytes)?;
                json(
                    &Summary::new(&store)
                        .delete_campaign(&gone.campaign, gone.now_ms)
                        .await?,
                )
            }
        }
    }

    /// A shard's alarm: sends its flushes to the summary, each until acknowledged, and forgets
    /// old ids.
    async fn flush(&self) -> std::result::Result<(), Failure> {
        let store = ObjectStore(self.state.storage());
        let Some((account, n)) = store.get::<(String, u32)>(SHARD_OF).await? else {
            return Ok(());
        };
        let shard = Shard::new(&store, n);
        for _ in 0..FLUSHES_PER_ALARM {
            let Some(flush) = shard.flush().await? else {
                break;
            };
            let sent = bindings::send_json::<_, _, bool>(
                &self.env,
                &summary_instance(&account),
                &Totals::Flush,
                &flush,
            )
            .await;
            match sent {
                Ok(_) => {
                    worker::console_log!(
                        "measurement: shard {n} of {account} flushed {} rows",
                        flush.deltas.0.len()
                    );
                    shard.flushed(flush.seq).await?
                }
                Err(e) => {
                    worker::console_error!(
                        "measurement: flush {} of shard {n} not sent, retried: {e:?}",
                        flush.seq
                    );
                    return Ok(shard.failed().await?);
                }
            }
        }
        shard
            .forget(worker::Date::now().as_millis(), FORGET_PER_ALARM)
            .await?;
        Ok(())
    }
}

impl DurableObject for MeasureTotals {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let Some(command) = Totals::parse(&req.method(), &req.path()) else {
            return Response::error("no such totals route", 404);
        };
        let bytes = req.bytes().await?;
        respond(self.handle(command, &bytes).await)
    }

    async fn alarm(&self) -> Result<Response> {
        respond(self.flush().await.map(|()| Reply::Empty))
    }
}
