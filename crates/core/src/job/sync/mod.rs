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
//! A one-time job (`mode: once`) goes from its restored full sync to `Done` and stays
//! there (a new full sync, asked for by the operator, copies again).

//! Modules depend one way: `mod.rs` (the step) → `incremental` (the batch loop) → `db`
//! (database replay) → `snapshot`, `upsert`, `ddl` → `snapshot_queue` (a job's turn at the
//! snapshot coordinator), `disk` (the target disk guard) →
//! `cursor`, `cache`, `plan` (pure).

mod cache;
mod cursor;
mod db;
mod ddl;
mod disk;
mod incremental;
mod pipeline;
mod plan;
mod snapshot;
mod snapshot_queue;
mod upsert;

pub(crate) use cache::SyncCache;
#[cfg(test)]
pub(crate) use incremental::OPERATOR_SKIP_KEY;

use super::context::{JobContext, JobControl, StepOutcome};
use super::error::JobError;
use super::spec::SyncMode;
use crate::progress::{Phase, Progress};
use ccr_doris::sql::set_table_property_sql;

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
        progress.restart_full_sync(ctx.now_secs(), "requested by the operator");
        ctx.save(progress).await?;
        return Ok(StepOutcome::Progressed);
    }
    if let Some(request) = &control.partialsync_request {
        if request.serial > progress.partialsync_requests_done
            && operator_partial_sync(ctx, progress, request).await?
        {
            return Ok(StepOutcome::Progressed);
        }
    }
    if progress.phase().is_table_level() != table_level {
        // A phase of the other job kind (a foreign record): only a new full sync gives a
        // defined starting point.
        tracing::warn!(
            state = progress.phase().state().name(),
            "persisted state does not fit this job; starting a full sync"
        );
        progress.restart_full_sync_as(
            table_level,
            ctx.now_secs(),
            "the persisted state did not fit the job kind",
        );
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
        Phase::TableIncremental | Phase::DbTablesIncremental { .. } | Phase::DbIncremental
            if ctx.info.mode == SyncMode::Once =>
        {
            finish_one_time_copy(ctx, cache, progress).await
        }
        Phase::TableIncremental | Phase::DbTablesIncremental { .. } | Phase::DbIncremental => {
            incremental::step(ctx, cache, progress, control, previous_failures).await
        }
        Phase::Done { .. } => Ok(StepOutcome::Finished),
    }
}

/// A one-time job's full sync is restored: the target tables are released for writes
/// (`is_being_synced` off, as `/desync` does; idempotent, so a crash before the save only
/// repeats it) and the job is done.
async fn finish_one_time_copy(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
) -> Result<StepOutcome, JobError> {
    let dest = &ctx.info.dest;
    let tables: Vec<String> = if ctx.is_table_job() {
        vec![dest.table.clone()]
    } else {
        let db_id = ctx
            .target
            .database_id(&dest.database)
            .await?
            .ok_or_else(|| {
                JobError::CheckFailed(format!("dest database {} not exists", dest.database))
            })?;
        let mapped: Vec<i64> = progress
            .table_mapping
            .iter()
            .flat_map(|mapping| mapping.values().copied())
            .collect();
        ctx.target
            .tables(db_id)
            .await?
            .into_iter()
            .filter(|t| !t.is_view && mapped.contains(&t.id))
            .map(|t| t.name)
            .collect()
    };
    for table in &tables {
        ctx.target
            .exec(&set_table_property_sql(
                &dest.database,
                table,
                "is_being_synced",
                "false",
            ))
            .await?;
    }
    progress.finish_one_time_copy();
    ctx.save(progress).await?;
    *cache = SyncCache::new();
    tracing::info!(
        commit_seq = progress.prev_commit_seq,
        tables = tables.len(),
        "one-time copy finished; the job is done and its target tables are writable"
    );
    Ok(StepOutcome::Progressed)
}

/// Honours `/job_skip_binlog` `partialsync` of one table of a database job. A full sync
/// under way covers the table, so the request counts as honoured; a partial sync under way
/// finishes first. Returns whether the progress changed (persisted).
async fn operator_partial_sync(
    ctx: &JobContext,
    progress: &mut Progress,
    request: &super::spec::PartialSyncRequest,
) -> Result<bool, JobError> {
    match progress.phase() {
        Phase::DbTablesIncremental { .. } | Phase::DbIncremental => {}
        Phase::DbFullSync(_) => {
            progress.partialsync_requests_done = request.serial;
            ctx.save(progress).await?;
            return Ok(true);
        }
        // A partial sync running, or a table job (the manager refuses those): wait.
        _ => return Ok(false),
    }
    let table_id = ctx
        .source
        .tables(ctx.info.src.db_id)
        .await?
        .into_iter()
        .find(|row| row.name == request.table && !row.is_view)
        .map(|row| row.id);
    let Some(table_id) = table_id else {
        // Dropped since the operator asked (the manager checked it then): its DROP_TABLE
        // binlog removes the target table too, so there is nothing to snapshot. Retrying
        // would hold the job forever.
        tracing::warn!(
            table = request.table,
            "the partial sync the operator asked for is void: the source table is gone"
        );
        progress.partialsync_requests_done = request.serial;
        ctx.save(progress).await?;
        return Ok(true);
    };
    progress.partialsync_requests_done = request.serial;
    snapshot::start_db_partial_sync(
        ctx,
        progress,
        table_id,
        Vec::new(),
        "requested by the operator",
    )
    .await?;
    Ok(true)
}
