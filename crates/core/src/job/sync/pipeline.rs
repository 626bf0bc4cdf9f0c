//! The transaction pipeline of one job: the UPSERT binlogs of a batch are replayed with
//! several target transactions in flight, committed strictly in source order.
//!
//! Each binlog's transaction goes through two stages. Opening it and ingesting its rowsets
//! (beginTxn, ingest_binlog) runs in a task of its own as soon as the binlog is planned, up
//! to [`JobSettings::txn_pipeline_depth`](crate::job::settings::JobSettings) ahead; the
//! commit runs here, one at a time, in commit-seq order, so the target's versions follow
//! the source's. The cursor moves in memory after each commit and is written once per
//! [`SAVE_EVERY`] commits (and at the end of the batch). A crash loses at most that many
//! cursor moves, never data: on restart those binlogs are met again, their labels are found
//! committed on the target and they are not ingested a second time, and the transactions
//! that were open but not committed are found pending by label and rolled back and redone.
//!
//! Anything that is not a pipelined transaction (DDL, skips, phase changes) first drains
//! the pipeline, so it sees the target as the source had it at that binlog.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::cache::SyncCache;
use super::cursor::advance;
use super::upsert::{self, UpsertPlan};
use crate::job::cluster::{IngestCall, TabletCommit, TargetCluster};
use crate::job::context::JobContext;
use crate::job::error::JobError;
use crate::progress::Progress;
use ccr_doris::DorisError;

/// Commits between two durable writes of the cursor in a burst.
pub(crate) const SAVE_EVERY: usize = 32;

/// What the open-and-ingest stage of one transaction came to.
enum Staged {
    /// An earlier attempt (before a restart) committed it: nothing to do.
    AlreadyApplied,
    /// Open as `txn_id`; the ingest's answer (a failed one is planned again from fresh
    /// metadata before the commit).
    Open {
        txn_id: i64,
        ingested: Result<(), DorisError>,
    },
}

/// One binlog's transaction on its way.
struct InFlight {
    plan: UpsertPlan,
    /// The replicas its commit lists.
    commits: Vec<TabletCommit>,
    /// `None`: the binlog writes nothing on the target; only the cursor moves.
    stage: Option<JoinHandle<Result<Staged, JobError>>>,
}

/// The transactions in flight of one batch.
pub(crate) struct TxnPipeline {
    depth: usize,
    in_flight: VecDeque<InFlight>,
    /// Commits since the cursor was last written.
    unsaved: usize,
    /// The commit seq of the binlog whose failure the last error reports.
    failed_seq: Option<i64>,
}

impl TxnPipeline {
    pub(crate) fn new(depth: usize) -> Self {
        TxnPipeline {
            depth: depth.max(1),
            in_flight: VecDeque::new(),
            unsaved: 0,
            failed_seq: None,
        }
    }

    /// Plans `plan`'s ingest and starts opening and ingesting its transaction; commits the
    /// oldest ones while more than the depth are in flight. An error is that of the binlog
    /// named by [`TxnPipeline::take_failed_seq`], which may be an earlier one.
    pub(crate) async fn submit(
        &mut self,
        ctx: &JobContext,
        cache: &mut SyncCache,
        progress: &mut Progress,
        plan: UpsertPlan,
    ) -> Result<(), JobError> {
        let seq = plan.commit_seq;
        if plan.tables.is_empty() {
            self.in_flight.push_back(InFlight {
                plan,
                commits: Vec::new(),
                stage: None,
            });
        } else {
            let ingest = match upsert::plan_ingest(ctx, cache, &plan).await {
                Ok(ingest) => ingest,
                Err(error) => {
                    // The binlogs before it come first: they commit, or their error wins.
                    self.drain(ctx, cache, progress).await?;
                    self.failed_seq = Some(seq);
                    return Err(error);
                }
            };
            let stage = tokio::spawn(open_and_ingest(
                Arc::clone(&ctx.target),
                Arc::clone(&ctx.metrics),
                ctx.info.dest.database.clone(),
                plan.label.clone(),
                plan.dest_table_ids(),
                ingest.calls,
            ));
            self.in_flight.push_back(InFlight {
                plan,
                commits: ingest.commits,
                stage: Some(stage),
            });
        }
        while self.in_flight.len() > self.depth {
            self.commit_oldest(ctx, cache, progress).await?;
        }
        Ok(())
    }

    /// Commits everything in flight, in order.
    pub(crate) async fn drain(
        &mut self,
        ctx: &JobContext,
        cache: &mut SyncCache,
        progress: &mut Progress,
    ) -> Result<(), JobError> {
        while !self.in_flight.is_empty() {
            self.commit_oldest(ctx, cache, progress).await?;
        }
        Ok(())
    }

    /// Whether cursor moves of commits are not yet written; resets the count (the caller
    /// writes them).
    pub(crate) fn take_unsaved(&mut self) -> bool {
        std::mem::take(&mut self.unsaved) > 0
    }

    /// The commit seq of the binlog the last error came from, if it came from here.
    pub(crate) fn take_failed_seq(&mut self) -> Option<i64> {
        self.failed_seq.take()
    }

    async fn commit_oldest(
        &mut self,
        ctx: &JobContext,
        cache: &mut SyncCache,
        progress: &mut Progress,
    ) -> Result<(), JobError> {
        let Some(entry) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let seq = entry.plan.commit_seq;
        if let Err(error) = commit_one(ctx, cache, entry).await {
            self.failed_seq = Some(seq);
            self.abandon(ctx).await;
            return Err(error);
        }
        advance(progress, seq);
        progress.ingest_binlog_at = ctx.now_secs();
        ctx.metrics.binlog_applied();
        self.unsaved += 1;
        if self.unsaved >= SAVE_EVERY {
            ctx.save(progress).await?;
            self.unsaved = 0;
        }
        Ok(())
    }

    /// After a failure: the later transactions are rolled back (their binlogs are replayed
    /// again from the cursor, which stays before the failed one).
    async fn abandon(&mut self, ctx: &JobContext) {
        for entry in std::mem::take(&mut self.in_flight) {
            let Some(stage) = entry.stage else { continue };
            if let Ok(Ok(Staged::Open { txn_id, .. })) = stage.await {
                let reason = JobError::CheckFailed(format!(
                    "an earlier binlog failed before binlog {}",
                    entry.plan.commit_seq
                ));
                upsert::roll_back(ctx, entry.plan.commit_seq, txn_id, &reason).await;
            }
        }
    }
}

impl Drop for TxnPipeline {
    /// A step abandoned mid-way (the task stopped) must not leave stages running: their
    /// transactions are found by label and rolled back when the binlogs are replayed.
    fn drop(&mut self) {
        for entry in &self.in_flight {
            if let Some(stage) = &entry.stage {
                stage.abort();
            }
        }
    }
}

/// Opens the transaction of a binlog and has the target BEs ingest its rowsets.
async fn open_and_ingest(
    target: Arc<dyn TargetCluster>,
    metrics: Arc<crate::metrics::JobMetrics>,
    db: String,
    label: String,
    dest_table_ids: Vec<i64>,
    calls: Vec<IngestCall>,
) -> Result<Staged, JobError> {
    let Some(txn_id) = upsert::begin(target.as_ref(), &db, &label, dest_table_ids).await? else {
        return Ok(Staged::AlreadyApplied);
    };
    let ingested = upsert::ingest(target.as_ref(), &metrics, calls, txn_id).await;
    Ok(Staged::Open { txn_id, ingested })
}

/// Waits for one transaction's stage and commits it. On `Ok` the binlog's data is
/// committed on the target (now or by an earlier attempt).
async fn commit_one(
    ctx: &JobContext,
    cache: &mut SyncCache,
    entry: InFlight,
) -> Result<(), JobError> {
    let seq = entry.plan.commit_seq;
    let Some(stage) = entry.stage else {
        return Ok(());
    };
    let staged = stage.await.map_err(|e| {
        JobError::CheckFailed(format!("the transaction of binlog {seq} was lost: {e}"))
    })??;
    let (txn_id, ingested) = match staged {
        Staged::AlreadyApplied => {
            tracing::info!(commit_seq = seq, label = %entry.plan.label, "binlog was already applied before a restart");
            return Ok(());
        }
        Staged::Open { txn_id, ingested } => (txn_id, ingested),
    };
    let result = match ingested {
        Ok(()) => upsert::commit(ctx, txn_id, entry.commits).await,
        Err(error) => {
            // Planned from cached metadata: a replica presumed current may not be, or a
            // tablet moved. One fresh plan before the error counts.
            tracing::debug!(commit_seq = seq, %error, "ingest failed; planning it again from fresh metadata");
            reingest_and_commit(ctx, cache, &entry.plan, txn_id).await
        }
    };
    match result {
        Ok(()) => Ok(()),
        Err(error) => {
            if upsert::roll_back(ctx, seq, txn_id, &error).await {
                return Ok(());
            }
            Err(error)
        }
    }
}

async fn reingest_and_commit(
    ctx: &JobContext,
    cache: &mut SyncCache,
    plan: &UpsertPlan,
    txn_id: i64,
) -> Result<(), JobError> {
    let ingest = upsert::plan_fresh(ctx, cache, plan).await?;
    upsert::ingest(ctx.target.as_ref(), &ctx.metrics, ingest.calls, txn_id).await?;
    upsert::commit(ctx, txn_id, ingest.commits).await
}
