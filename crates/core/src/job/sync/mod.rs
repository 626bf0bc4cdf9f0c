//! The sync state machine: one call takes one step of the job's current phase.
//!
//! A step is short (one backup poll, one batch of binlogs, one restore poll), so pause,
//! delete and shutdown take effect quickly, and every step leaves the persisted progress
//! describing what is durable on the target:
//!
//! * full and partial sync checkpoint the snapshot name before the backup starts and the
//!   restore label before the restore starts, so a restart resumes the same jobs;
//! * a data binlog is applied in a target transaction whose label is derived from the
//!   binlog's commit seq and the table ids, so after a crash the target itself says whether
//!   the binlog was applied — progress is written once, after the commit;
//! * a DDL binlog is replayed by SQL that tolerates being run twice.
//!
//! Table jobs: TableFullSync → TableIncrementalSync ⇄ TablePartialSync. Database jobs:
//! DbFullSync → DbTablesIncrementalSync (binlogs a restored table already holds are
//! filtered per table) → DbIncrementalSync, with DbPartialSync of one table (or some of
//! its partitions) in between when a binlog cannot be replayed by SQL or transaction.

//! Modules depend one way: `mod.rs` (the step) → `incremental` (the batch loop) → `db`
//! (database replay) → `snapshot`, `upsert`, `ddl` → `cursor`, `cache`, `plan` (pure).

mod cache;
mod cursor;
mod db;
mod ddl;
mod incremental;
mod plan;
mod snapshot;
mod upsert;

pub(crate) use cache::SyncCache;

use super::context::{JobContext, JobControl, StepOutcome};
use super::error::JobError;
use crate::progress::{Phase, Progress};

/// Takes one step. On success, everything the step changed on the target is durable and
/// `progress` says so (persisted); on error nothing was recorded as done.
pub(crate) async fn step(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    control: &JobControl,
    previous_failures: u32,
) -> Result<StepOutcome, JobError> {
    let table_level = ctx.is_table_job();
    if control.fullsync_requests > progress.fullsync_requests_done {
        tracing::info!("full sync requested by the operator");
        progress.fullsync_requests_done = control.fullsync_requests;
        progress.restart_full_sync(ctx.now_secs());
        ctx.save(progress).await?;
        return Ok(StepOutcome::Progressed);
    }
    if progress.phase().is_table_level() != table_level {
        // A phase of the other job kind (a foreign record): only a new full sync gives a
        // defined starting point.
        tracing::warn!(
            state = progress.phase().state().name(),
            "persisted state does not fit this job; starting a full sync"
        );
        progress.restart_full_sync_as(table_level, ctx.now_secs());
        ctx.save(progress).await?;
        return Ok(StepOutcome::Progressed);
    }
    match progress.phase() {
        Phase::TableFullSync(_) | Phase::DbFullSync(_) => {
            snapshot::full_sync_step(ctx, cache, progress).await
        }
        Phase::TablePartialSync(_) | Phase::DbPartialSync { .. } => {
            snapshot::partial_sync_step(ctx, cache, progress).await
        }
        Phase::TableIncremental | Phase::DbTablesIncremental { .. } | Phase::DbIncremental => {
            incremental::step(ctx, cache, progress, control, previous_failures).await
        }
    }
}
