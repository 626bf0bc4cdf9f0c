//! Incremental sync: fetch binlogs after the cursor and replay them in commit-seq order,
//! one at a time. The batch loop (cursor, skip_error, full-sync triggers) is shared by
//! table and database jobs; what one binlog does is decided here for a table job and in
//! [`super::db`] for a database job.

use super::cache::SyncCache;
use super::cursor::{advance, applied, skip_binlog, skipped, track_shadow_indexes, Replayed};
use super::ddl::TargetTable;
use super::pipeline::TxnPipeline;
use super::plan::{self, plan_mismatch, Plan};
use super::snapshot::{start_full_sync, start_partial_sync};
use super::upsert::UpsertPlan;
use super::{db, ddl, disk, upsert};
use crate::job::context::{JobContext, JobControl, StepOutcome};
use crate::job::error::{decide, FailureContext, JobError, Remedy};
use crate::job::spec::SyncType;
use crate::progress::Progress;
use ccr_binlog::{Binlog, BinlogRecord};
use ccr_doris::cluster::BinlogBatch;
use ccr_doris::{BinlogUnavailable, DorisError};

/// Binlogs asked for per getBinlog call (FEs that know `num_acquired` return up to this
/// many; older ones return one).
const BINLOG_BATCH: i64 = 64;

pub(crate) async fn step(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    control: &JobControl,
    previous_failures: u32,
) -> Result<StepOutcome, JobError> {
    let outcome = replay_batch(ctx, cache, progress, control, previous_failures).await;
    if outcome.is_err() {
        // A job stuck on a binlog falls behind while it retries: the gauges must show it,
        // or a lag alert would never fire for it.
        measure_lag(ctx, cache, progress).await;
    }
    outcome
}

/// One getBinlog batch replayed.
async fn replay_batch(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    control: &JobControl,
    previous_failures: u32,
) -> Result<StepOutcome, JobError> {
    let src = &ctx.info.src;
    let table_level = ctx.info.sync_type == SyncType::Table;
    let batch = ctx
        .source
        .get_binlogs(
            &src.database,
            table_level.then_some((src.table.as_str(), src.table_id)),
            progress.prev_commit_seq,
            BINLOG_BATCH,
        )
        .await
        .map_err(|error| explain_fetch_error(ctx, error))?;
    let (binlogs, too_old) = match batch {
        BinlogBatch::CaughtUp => {
            ctx.record_lag(0, 0);
            cache.lag_measured_at = None;
            if table_level {
                check_source_table_exists(ctx, cache).await?;
            } else if progress.finish_tables_phase() {
                ctx.save(progress).await?;
                return Ok(StepOutcome::Progressed);
            }
            return Ok(StepOutcome::CaughtUp);
        }
        BinlogBatch::Binlogs { binlogs, too_old } => (binlogs, too_old),
    };
    ctx.metrics.binlog_batch_size.observe(binlogs.len() as f64);
    if too_old {
        // Binlogs after our cursor were purged: only a new snapshot can bring the target
        // back in line.
        start_full_sync(
            ctx,
            progress,
            "binlogs after the applied commit seq were purged on the source",
        )
        .await?;
        return Ok(StepOutcome::Progressed);
    }
    if !disk::target_has_room(ctx, cache).await? {
        // Nothing of the batch is applied: it is fetched again once there is room.
        return Ok(StepOutcome::Idle);
    }
    let mut unsaved_skips = false;
    let mut pipeline = TxnPipeline::new(ctx.settings.txn_pipeline_depth);
    for wire in &binlogs {
        let commit_seq = wire.commit_seq.unwrap_or_default();
        if commit_seq <= progress.prev_commit_seq {
            continue;
        }
        let replayed = if commit_seq == control.skip_commit_seq {
            skip_by_operator(ctx, cache, progress, &mut pipeline, commit_seq).await
        } else {
            match Binlog::decode(wire) {
                Ok(binlog) if table_level => {
                    replay(ctx, cache, progress, &mut pipeline, &binlog).await
                }
                Ok(binlog) => db::replay(ctx, cache, progress, &mut pipeline, &binlog).await,
                // The binlogs before it come first: they commit, or their error wins.
                Err(e) => pipeline
                    .drain(ctx, cache, progress)
                    .await
                    .and(Err(JobError::CheckFailed(e.to_string()))),
            }
        };
        let replayed = match replayed {
            Ok(replayed) => replayed,
            Err(error) => {
                let failed = Failed {
                    error,
                    commit_seq,
                    unsaved: unsaved_skips,
                };
                return settle_failure(ctx, progress, control, previous_failures, pipeline, failed)
                    .await;
            }
        };
        match replayed {
            Replayed::Applied => {
                // Its write carried every cursor move before it, the pipeline's included.
                unsaved_skips = false;
                pipeline.take_unsaved();
                ctx.metrics.binlog_applied();
            }
            Replayed::Submitted => {}
            Replayed::Skipped => unsaved_skips = true,
            Replayed::PhaseChanged => return Ok(StepOutcome::Progressed),
        }
    }
    if let Err(error) = pipeline.drain(ctx, cache, progress).await {
        let failed = Failed {
            error,
            commit_seq: progress.prev_commit_seq,
            unsaved: unsaved_skips,
        };
        return settle_failure(ctx, progress, control, previous_failures, pipeline, failed).await;
    }
    unsaved_skips |= pipeline.take_unsaved();
    if !table_level {
        // Folded into the batch's last write when there are unsaved skips anyway.
        unsaved_skips |= progress.finish_tables_phase();
    }
    if unsaved_skips {
        ctx.save(progress).await?;
    }
    measure_lag(ctx, cache, progress).await;
    Ok(StepOutcome::Progressed)
}

/// `/job_skip_binlog`: the binlog at `commit_seq` is passed over, noted and persisted.
async fn skip_by_operator(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    pipeline: &mut TxnPipeline,
    commit_seq: i64,
) -> Result<Replayed, JobError> {
    pipeline.drain(ctx, cache, progress).await?;
    tracing::warn!(
        commit_seq,
        "binlog skipped by the operator (job_skip_binlog)"
    );
    progress
        .unsupported_binlogs
        .insert(OPERATOR_SKIP_KEY.to_owned(), commit_seq);
    advance(progress, commit_seq);
    ctx.save(progress).await?;
    // Persisted, like a skip noted by the planner.
    Ok(Replayed::Applied)
}

/// A failure met while replaying a batch.
struct Failed {
    error: JobError,
    /// The binlog being replayed when it was met.
    commit_seq: i64,
    /// Cursor moves of the batch not yet written.
    unsaved: bool,
}

/// Carries out the policy's remedy for a failure: that of the pipelined transaction that
/// failed if it came from the pipeline (its later binlogs were planned already), else that
/// of the binlog being replayed. The cursor stands right before that binlog, and every
/// binlog before it is applied.
async fn settle_failure(
    ctx: &JobContext,
    progress: &mut Progress,
    control: &JobControl,
    previous_failures: u32,
    mut pipeline: TxnPipeline,
    failed: Failed,
) -> Result<StepOutcome, JobError> {
    let commit_seq = pipeline.take_failed_seq().unwrap_or(failed.commit_seq);
    let unsaved = failed.unsaved | pipeline.take_unsaved();
    let error = failed.error;
    let context = FailureContext {
        skip_error: control.skip_error,
        replaying_binlog: true,
        previous_failures,
        operator_after: ctx.settings.operator_after_failures,
    };
    match decide(&error, context) {
        Remedy::FullSync => {
            start_full_sync(ctx, progress, &error.to_string()).await?;
            Ok(StepOutcome::Progressed)
        }
        Remedy::PartialSync(table_id) => {
            tracing::warn!(commit_seq, %error, "partial sync of the table instead");
            resync_table(ctx, progress, table_id, &error.to_string()).await?;
            Ok(StepOutcome::Progressed)
        }
        Remedy::Skip => {
            tracing::error!(commit_seq, %error, "binlog failed; skipped because skip_error is set");
            progress
                .unsupported_binlogs
                .insert(format!("skipped after error: {error}"), commit_seq);
            advance(progress, commit_seq);
            ctx.save(progress).await?;
            // The binlogs after it (possibly planned already) are fetched again.
            Ok(StepOutcome::Progressed)
        }
        Remedy::Retry(_) | Remedy::NeedsOperator { .. } | Remedy::Stop => {
            ctx.status.lock().failing_commit_seq = Some(commit_seq);
            if unsaved {
                ctx.save(progress).await?;
            }
            Err(error)
        }
    }
}

/// The `skipped_binlogs` key of binlogs skipped by `/job_skip_binlog`.
pub(crate) const OPERATOR_SKIP_KEY: &str = "skipped by the operator (job_skip_binlog)";

/// How often a replaying job measures its lag for the gauges (one getBinlogLag call).
const LAG_MEASURE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Refreshes the lag gauges while the job is behind (replaying, or failing to), at most
/// every [`LAG_MEASURE_INTERVAL`]; a failure only leaves them as they were.
async fn measure_lag(ctx: &JobContext, cache: &mut SyncCache, progress: &Progress) {
    if cache
        .lag_measured_at
        .is_some_and(|at| at.elapsed() < LAG_MEASURE_INTERVAL)
    {
        return;
    }
    cache.lag_measured_at = Some(std::time::Instant::now());
    let src = &ctx.info.src;
    let table = ctx
        .is_table_job()
        .then_some((src.table.as_str(), src.table_id));
    match ctx
        .source
        .binlog_lag(&src.database, table, progress.prev_commit_seq)
        .await
    {
        Ok(lag) => ctx.record_lag(lag.lag, lag.seconds_behind()),
        Err(error) => tracing::debug!(%error, "lag not measured"),
    }
}

/// A dropped source table's binlog stream stays readable (and silent) until GC, so a
/// caught-up job looks at the table itself: once, then when the source watcher saw its
/// DROP_TABLE (only the database stream has it), and every
/// [`SOURCE_TABLE_CHECK_INTERVAL`] while no watcher reports drops.
async fn check_source_table_exists(
    ctx: &JobContext,
    cache: &mut SyncCache,
) -> Result<(), JobError> {
    let requested = ctx.source_watch.take_table_check();
    let due = match cache.source_checked_at {
        None => true,
        Some(_) if requested => true,
        Some(_) if ctx.source_watch.reports_drops() => false,
        Some(at) => at.elapsed() >= SOURCE_TABLE_CHECK_INTERVAL,
    };
    if !due {
        return Ok(());
    }
    // Until a check passes, every caught-up step checks again.
    cache.source_checked_at = None;
    let src = &ctx.info.src;
    let meta = ctx.source.table_meta(src.db_id, &[src.table_id]).await?;
    if !meta.tables.contains_key(&src.table_id) || meta.dropped_tables.contains(&src.table_id) {
        return Err(JobError::SourceGone(format!(
            "source table {}.{} (id {}) was dropped; the job cannot continue",
            src.database, src.table, src.table_id
        )));
    }
    cache.source_checked_at = Some(std::time::Instant::now());
    Ok(())
}

/// How often a caught-up table job checks that its source table still exists while no
/// source watcher reports drops.
const SOURCE_TABLE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Names the likely cause of the binlog statuses an operator must act on.
fn explain_fetch_error(ctx: &JobContext, error: DorisError) -> JobError {
    let src = &ctx.info.src;
    match error.binlog_unavailable() {
        Some(BinlogUnavailable::TableGone) => JobError::SourceGone(format!(
            "source table {}.{} was dropped or has no binlog any more ({error})",
            src.database, src.table
        )),
        Some(BinlogUnavailable::DatabaseGone) => JobError::SourceGone(format!(
            "source database {} was dropped or has no binlog ({error})",
            src.database
        )),
        Some(BinlogUnavailable::Disabled) => {
            JobError::CheckFailed(format!("binlog is disabled on the source ({error})"))
        }
        None => error.into(),
    }
}

/// A binlog's data no longer matches the target's copy of one table: a snapshot of that
/// table replaces it (a table job's own table: partial sync of the whole table). The
/// binlog counts as applied once the snapshot is in: the snapshot is newer than it.
async fn resync_table(
    ctx: &JobContext,
    progress: &mut Progress,
    table_id: i64,
    reason: &str,
) -> Result<(), JobError> {
    if ctx.info.sync_type == SyncType::Table {
        start_partial_sync(ctx, progress, Vec::new()).await
    } else {
        super::snapshot::start_db_partial_sync(ctx, progress, table_id, Vec::new(), reason).await
    }
}

/// Plans and carries out one binlog of a table job.
async fn replay(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    pipeline: &mut TxnPipeline,
    binlog: &Binlog,
) -> Result<Replayed, JobError> {
    let plan = plan::plan_table_binlog(
        &plan::TableJob {
            info: &ctx.info,
            progress,
            schema_change_partial_sync: ctx.settings.features.schema_change_partial_sync,
        },
        binlog,
    );
    let seq = binlog.commit_seq;
    tracing::debug!(commit_seq = seq, kind = %binlog.record.binlog_type(), ?plan, "planned");
    if !matches!(plan, Plan::Transaction { .. }) {
        pipeline.drain(ctx, cache, progress).await?;
    }
    match plan {
        Plan::Transaction { tables } => {
            let BinlogRecord::Upsert(record) = &binlog.record else {
                return Err(plan_mismatch(binlog, "only an UPSERT plans a transaction"));
            };
            let src = &ctx.info.src;
            let partitions: Vec<i64> = record
                .partitions_of(src.table_id)
                .iter()
                .map(|p| p.partition_id)
                .collect();
            let upsert = UpsertPlan {
                commit_seq: seq,
                record: record.clone(),
                tables,
                label: upsert::table_txn_label(
                    src.db_id,
                    src.table_id,
                    ctx.info.dest.db_id,
                    progress.dest_table_id,
                    seq,
                ),
                shadow_indexes: progress.shadow_index_map.clone(),
                covered_partitions: progress.partitions_covered(&partitions, seq),
            };
            pipeline.submit(ctx, cache, progress, upsert).await?;
            Ok(Replayed::Submitted)
        }
        Plan::TableDdl { .. } => {
            let dest = &ctx.info.dest;
            let target = TargetTable {
                db: &dest.database,
                table: &dest.table,
            };
            if ddl::replay_table_ddl(ctx.target.as_ref(), target, &binlog.record).await? {
                applied(ctx, cache, progress, seq).await
            } else {
                skipped(progress, seq)
            }
        }
        Plan::TrackAlterJob => {
            let BinlogRecord::AlterJob(job) = &binlog.record else {
                return Err(plan_mismatch(binlog, "only an ALTER_JOB plans tracking"));
            };
            track_shadow_indexes(progress, job);
            advance(progress, seq);
            ctx.save(progress).await?;
            Ok(Replayed::Applied)
        }
        Plan::PartialSync {
            partitions, reason, ..
        } => {
            tracing::info!(commit_seq = seq, %reason, ?partitions, "partial sync of the table");
            if matches!(binlog.record, BinlogRecord::AlterJob(_)) {
                progress.shadow_index_map.clear();
            }
            advance(progress, seq);
            start_partial_sync(ctx, progress, partitions).await?;
            Ok(Replayed::PhaseChanged)
        }
        Plan::FullSync { reason } => {
            if matches!(binlog.record, BinlogRecord::AlterJob(_)) {
                progress.shadow_index_map.clear();
            }
            start_full_sync(ctx, progress, &reason).await?;
            Ok(Replayed::PhaseChanged)
        }
        Plan::Skip(skip) => skip_binlog(ctx, progress, seq, skip).await,
        Plan::Fail(reason) => Err(reason.into_error()),
        Plan::CreateObject
        | Plan::DropObject { .. }
        | Plan::RenameObject { .. }
        | Plan::AdoptRenamed { .. }
        | Plan::ReplaceTable { .. }
        | Plan::AlterView { .. } => Err(JobError::CheckFailed(format!(
            "a table job planned a database operation for binlog {seq}: {plan:?}"
        ))),
    }
}
