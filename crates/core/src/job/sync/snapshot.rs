//! Full and partial sync: a backup snapshot on the source, restored on the target.
//!
//! One flow serves three scopes: a table job's table (full or partial), a database job's
//! whole database (full: every included table and view), and one table of a database job
//! (partial: the whole table, or some partitions).
//!
//! Sub-states and what is persisted when:
//!
//! | sub-state | action | persisted before acting |
//! |---|---|---|
//! | BeginCreateSnapshot | `BACKUP SNAPSHOT`, then poll `SHOW BACKUP` | snapshot name (and, for a database partial sync, the table's source and target names) |
//! | GetSnapshotInfo / AddExtraInfo | getSnapshot, add BE map and token (memory only) | – |
//! | RestoreSnapshot | restoreSnapshot, then poll `SHOW RESTORE` | restore label, cut-over seqs, snapshot objects |
//! | PersistRestoreInfo | swap aliases in, learn target table ids, switch to incremental | result |
//!
//! After a restart the persisted name or label is looked up on the cluster, so a backup or
//! restore that was already running is waited for instead of started twice.
//!
//! A partial sync restores a whole table under an alias and swaps it in with
//! `REPLACE WITH TABLE`, so the target table stays readable throughout.

use std::collections::BTreeMap;

use super::cache::SyncCache;
use super::disk;
use super::snapshot_queue::{self, label_safe, BackupOutcome, SnapshotJobKind};
use crate::job::context::{JobContext, StepOutcome};
use crate::job::error::JobError;
use crate::job::snapshot_slots::{BackupRequest, BackupTicket};
use crate::job::spec::SyncType;
use crate::progress::{Progress, SnapshotCheckpoint, SnapshotStep};
use ccr_binlog::snapshot::{BackupJobInfo, BeNetworkAddress, ExtraInfo};
use ccr_doris::cluster::{BackupTarget, MismatchedObject, ObjectKind, RestoreRequest, Snapshot};
use ccr_doris::sql::quote_ident;
use ccr_doris::DorisErrorKind;

/// Longest label Doris accepts for snapshots and restores.
const MAX_LABEL_LEN: usize = 128;

/// Which snapshot flow a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Full,
    Partial,
}

impl Flow {
    fn prefix(self) -> &'static str {
        match self {
            Flow::Full => "ccrs",
            Flow::Partial => "ccrp",
        }
    }
}

/// What a snapshot flow covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The table of a table job.
    Table,
    /// Every included table and view of a database job.
    Database,
    /// One table of a database job (`checkpoint.table_id`).
    DatabaseTable,
}

fn scope_of(ctx: &JobContext, flow: Flow) -> Scope {
    match (ctx.info.sync_type, flow) {
        (SyncType::Table, _) => Scope::Table,
        (SyncType::Database, Flow::Full) => Scope::Database,
        (SyncType::Database, Flow::Partial) => Scope::DatabaseTable,
    }
}

pub(crate) async fn full_sync_step(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
) -> Result<StepOutcome, JobError> {
    snapshot_step(ctx, cache, progress, Flow::Full).await
}

pub(crate) async fn partial_sync_step(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
) -> Result<StepOutcome, JobError> {
    snapshot_step(ctx, cache, progress, Flow::Partial).await
}

/// Moves a table job into partial sync of `partitions` (empty = the whole table, restored
/// under an alias and swapped in). Persisted.
pub(crate) async fn start_partial_sync(
    ctx: &JobContext,
    progress: &mut Progress,
    partitions: Vec<String>,
) -> Result<(), JobError> {
    progress.enter_table_partial_sync(partitions);
    ctx.save(progress).await
}

/// Moves a database job into partial sync of source table `table_id` (`partitions` empty
/// = the whole table). The cursor stays where it is: the binlog that asked for the partial
/// sync counts as applied once the snapshot is in. Persisted.
pub(crate) async fn start_db_partial_sync(
    ctx: &JobContext,
    progress: &mut Progress,
    table_id: i64,
    partitions: Vec<String>,
    reason: &str,
) -> Result<(), JobError> {
    tracing::info!(table_id, ?partitions, reason, "starting a partial sync");
    progress.enter_db_partial_sync(table_id, partitions);
    ctx.save(progress).await
}

/// Moves a job into a new full sync. Persisted.
pub(crate) async fn start_full_sync(
    ctx: &JobContext,
    progress: &mut Progress,
    reason: &str,
) -> Result<(), JobError> {
    tracing::warn!(reason, "starting a full sync");
    progress.restart_full_sync(ctx.now_secs(), reason);
    ctx.save(progress).await
}

async fn snapshot_step(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    flow: Flow,
) -> Result<StepOutcome, JobError> {
    let Some(snapshot) = progress.phase().snapshot() else {
        return Err(JobError::CheckFailed(format!(
            "a snapshot step in phase {}",
            progress.phase().state().name()
        )));
    };
    let step = snapshot.step;
    let mut checkpoint = snapshot.checkpoint.clone();
    let scope = scope_of(ctx, flow);
    match step {
        SnapshotStep::BeginCreateSnapshot => {
            backup(ctx, cache, progress, &mut checkpoint, flow, scope).await
        }
        SnapshotStep::GetSnapshotInfo | SnapshotStep::AddExtraInfo => {
            prepare_restore(ctx, cache, progress, &mut checkpoint, scope).await
        }
        SnapshotStep::RestoreSnapshot => {
            restore(ctx, cache, progress, &mut checkpoint, flow, scope).await
        }
        SnapshotStep::PersistRestoreInfo => finish(ctx, cache, progress, &checkpoint, scope).await,
    }
}

/// The name of the table the snapshot is read for (getSnapshot's privilege check); empty
/// for a whole database.
fn snapshot_table(ctx: &JobContext, checkpoint: &SnapshotCheckpoint, scope: Scope) -> String {
    match scope {
        Scope::Table => ctx.info.src.table.clone(),
        Scope::Database => String::new(),
        Scope::DatabaseTable => checkpoint.src_table.clone(),
    }
}

/// Queues the backup at the snapshot coordinator (the job saves the name its batch's
/// backup runs under before that starts), or waits for the backup it saved.
async fn backup(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    checkpoint: &mut SnapshotCheckpoint,
    flow: Flow,
    scope: Scope,
) -> Result<StepOutcome, JobError> {
    let src = &ctx.info.src;
    let slot = ctx.source_slot();
    if !checkpoint.snapshot_name.is_empty() {
        let name = checkpoint.snapshot_name.clone();
        match ctx.source.backup_state(&src.database, &name).await? {
            Some(state) if state.is_finished() => {
                tracing::info!(snapshot = %name, "backup finished");
                ctx.snapshot_slots.finished(&slot, &name);
                progress.set_snapshot_step(SnapshotStep::GetSnapshotInfo);
                return Ok(StepOutcome::Progressed);
            }
            Some(state) if state.is_cancelled() => {
                ctx.snapshot_slots.finished(&slot, &name);
                checkpoint.snapshot_name.clear();
                checkpoint.failed_attempts += 1;
                progress.set_checkpoint(checkpoint);
                ctx.save(progress).await?;
                return Err(JobError::SnapshotFailed {
                    attempts: checkpoint.failed_attempts,
                    message: format!("backup {name} was cancelled: {}", state.status),
                });
            }
            Some(_) => {
                // Running (perhaps started before a restart): the jobs queued on this
                // database wait behind it.
                ctx.snapshot_slots.running(&slot, &name, || {
                    format!("backup {name} of this syncer (job {})", ctx.name)
                });
                return Ok(StepOutcome::Idle);
            }
            None => {
                // The batch that was to start it may still be waiting (the job was paused
                // and resumed): wait with it. Else it never started (a restart before it
                // did, or its batch broke up): queue again under a new name.
                if let Some(ticket) = ctx.snapshot_slots.rejoin_backup(&slot, &name, &ctx.name) {
                    return backup_turn(ctx, cache, progress, checkpoint, scope, ticket).await;
                }
                tracing::info!(snapshot = %name, "the backup recorded never started; queueing again");
                checkpoint.snapshot_name.clear();
                progress.set_checkpoint(checkpoint);
                ctx.save(progress).await?;
                return Ok(StepOutcome::Progressed);
            }
        }
    }
    let mapped = progress
        .table_mapping
        .as_ref()
        .and_then(|mapping| mapping.get(&checkpoint.table_id))
        .copied();
    if scope == Scope::DatabaseTable
        && !resolve_partial_table(ctx, cache, mapped, checkpoint).await?
    {
        return abandon_partial_sync(ctx, progress, checkpoint).await;
    }
    if !checkpoint.partitions.is_empty() {
        let table_id = match scope {
            Scope::Table => src.table_id,
            _ => checkpoint.table_id,
        };
        check_partitions_exist(ctx, table_id, checkpoint).await?;
    }
    let table = match scope {
        Scope::Table => src.table.as_str(),
        Scope::Database => "",
        Scope::DatabaseTable => checkpoint.src_table.as_str(),
    };
    let targets = match scope {
        Scope::Table => vec![BackupTarget {
            table: src.table.clone(),
            partitions: checkpoint.partitions.clone(),
        }],
        Scope::DatabaseTable => vec![BackupTarget {
            table: checkpoint.src_table.clone(),
            partitions: checkpoint.partitions.clone(),
        }],
        Scope::Database => database_backup_targets(ctx).await?,
    };
    let request = BackupRequest {
        // A database's full sync is a backup of its own; a job whose shared backup was
        // refused goes alone once, so one job's bad table cannot fail a batch again.
        alone: scope == Scope::Database || cache.backup_alone,
        own_name: snapshot_name(flow, &src.database, table),
        shared_name: shared_snapshot_name(flow, &src.database),
        targets,
    };
    let ticket = ctx.snapshot_slots.queue_backup(slot, &ctx.name, request);
    backup_turn(ctx, cache, progress, checkpoint, scope, ticket).await
}

/// The job's turn at the backup queue, and what follows from it.
async fn backup_turn(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    checkpoint: &mut SnapshotCheckpoint,
    scope: Scope,
    ticket: BackupTicket,
) -> Result<StepOutcome, JobError> {
    match snapshot_queue::take_backup_turn(ctx, progress, checkpoint, ticket).await? {
        BackupOutcome::Started => {
            cache.backup_alone = false;
            Ok(StepOutcome::Progressed)
        }
        BackupOutcome::Left => Ok(StepOutcome::Idle),
        BackupOutcome::BackUpAlone => {
            cache.backup_alone = true;
            checkpoint.snapshot_name.clear();
            progress.set_checkpoint(checkpoint);
            ctx.save(progress).await?;
            Ok(StepOutcome::Progressed)
        }
        BackupOutcome::Refused(error) => {
            backup_refused(ctx, progress, checkpoint, scope, error).await
        }
    }
}

/// The source refused the job's own backup.
async fn backup_refused(
    ctx: &JobContext,
    progress: &mut Progress,
    checkpoint: &mut SnapshotCheckpoint,
    scope: Scope,
    error: ccr_doris::DorisError,
) -> Result<StepOutcome, JobError> {
    match error {
        // The table (or a partition) was renamed or dropped between resolving its name and
        // the backup: resolve again (a partial sync of a database job follows the table by
        // id, and abandons it once it is gone).
        error
            if error.kind() == DorisErrorKind::ObjectMissing
                && (scope == Scope::DatabaseTable || !checkpoint.partitions.is_empty()) =>
        {
            checkpoint.failed_attempts += 1;
            if checkpoint.failed_attempts > RESOLVE_AGAIN_LIMIT {
                let attempts = checkpoint.failed_attempts;
                progress.set_checkpoint(checkpoint);
                ctx.save(progress).await?;
                return Err(JobError::SnapshotFailed {
                    attempts,
                    message: format!("the backup keeps naming what the source lacks: {error}"),
                });
            }
            tracing::info!(%error, "what the backup names moved on the source; resolving it again");
            checkpoint.snapshot_name.clear();
            checkpoint.src_table.clear();
            checkpoint.dest_table.clear();
            progress.set_checkpoint(checkpoint);
            ctx.save(progress).await?;
            Ok(StepOutcome::Progressed)
        }
        error => Err(error.into()),
    }
}

/// A partial sync of partitions names them as the binlog that asked for it did; by the
/// time the backup runs they may have been dropped or renamed. Only a snapshot of the
/// whole table is then sure to reproduce the source, so the partial sync widens to it.
async fn check_partitions_exist(
    ctx: &JobContext,
    table_id: i64,
    checkpoint: &mut SnapshotCheckpoint,
) -> Result<(), JobError> {
    let meta = ctx
        .source
        .table_meta(ctx.info.src.db_id, &[table_id])
        .await?;
    let Some(table) = meta.tables.get(&table_id) else {
        return Ok(()); // Gone: the backup fails and the caller's checks take over.
    };
    let missing: Vec<&String> = checkpoint
        .partitions
        .iter()
        .filter(|name| {
            !table
                .partitions
                .iter()
                .any(|p| !p.is_temp && &p.name == *name)
        })
        .collect();
    if !missing.is_empty() {
        tracing::info!(
            ?missing,
            "partitions to copy were dropped or renamed since; partial sync of the whole table"
        );
        checkpoint.partitions.clear();
    }
    Ok(())
}

/// Whether source table `table_id` had a binlog other than a load between `after`
/// (exclusive) and `until` (inclusive): then the partitions a partial snapshot copies
/// may not be the ones the binlog that asked for it named.
async fn table_changed_between(
    ctx: &JobContext,
    table_id: i64,
    after: i64,
    until: i64,
) -> Result<bool, JobError> {
    let src = &ctx.info.src;
    let stream =
        (ctx.info.sync_type == SyncType::Table).then_some((src.table.as_str(), src.table_id));
    let mut cursor = after;
    while cursor < until {
        let batch = ctx
            .source
            .get_binlogs(&src.database, stream, cursor, LOOKAHEAD_BATCH)
            .await?;
        let ccr_doris::cluster::BinlogBatch::Binlogs { binlogs, .. } = batch else {
            return Ok(false);
        };
        let Some(last) = binlogs.last().and_then(|b| b.commit_seq) else {
            return Ok(false);
        };
        for wire in &binlogs {
            let seq = wire.commit_seq.unwrap_or_default();
            if seq <= cursor || seq > until {
                continue;
            }
            let binlog = ccr_binlog::Binlog::decode(wire)
                .map_err(|e| JobError::CheckFailed(e.to_string()))?;
            let touches = match &binlog.record {
                ccr_binlog::BinlogRecord::Upsert(_) | ccr_binlog::BinlogRecord::Barrier(_) => false,
                record => record.table_id() == Some(table_id) || stream.is_some(),
            };
            if touches {
                return Ok(true);
            }
        }
        if last <= cursor {
            return Ok(false);
        }
        cursor = last;
    }
    Ok(false)
}

/// Backups refused for naming a table or partition the source lacks, in a row, that are
/// resolved again at once; past it, the failure policy's backoff applies.
const RESOLVE_AGAIN_LIMIT: u32 = 3;

/// Binlogs read per call when looking ahead.
const LOOKAHEAD_BATCH: i64 = 32;

/// What a database full sync backs up: nothing listed (the whole database) without
/// include/exclude lists, else every table and view the lists select.
async fn database_backup_targets(ctx: &JobContext) -> Result<Vec<BackupTarget>, JobError> {
    if !ctx.info.has_table_filter() {
        return Ok(Vec::new());
    }
    let tables = ctx.source.tables(ctx.info.src.db_id).await?;
    let targets: Vec<BackupTarget> = tables
        .into_iter()
        .filter(|t| ctx.info.replicates_table(&t.name))
        .map(|t| BackupTarget {
            table: t.name,
            partitions: Vec::new(),
        })
        .collect();
    if targets.is_empty() {
        return Err(JobError::CheckFailed(format!(
            "include_tables / exclude_tables select no table of source database {}",
            ctx.info.src.database
        )));
    }
    Ok(targets)
}

/// Database partial sync: learns the table's source name (by id) and target name (by the
/// mapping, else the source name). `false` if the source table no longer exists.
async fn resolve_partial_table(
    ctx: &JobContext,
    cache: &mut SyncCache,
    mapped_dest_id: Option<i64>,
    checkpoint: &mut SnapshotCheckpoint,
) -> Result<bool, JobError> {
    let src_tables = ctx.source.tables(ctx.info.src.db_id).await?;
    let Some(src_table) = src_tables.into_iter().find(|t| t.id == checkpoint.table_id) else {
        return Ok(false);
    };
    checkpoint.src_table = src_table.name;
    checkpoint.dest_table = match mapped_dest_id {
        Some(dest_id) => cache
            .dest_table_name(ctx, dest_id)
            .await?
            .unwrap_or_else(|| checkpoint.src_table.clone()),
        None => checkpoint.src_table.clone(),
    };
    Ok(true)
}

/// The table of a database partial sync is gone from the source: its DROP_TABLE binlog
/// follows, so incremental sync simply goes on. Persisted.
async fn abandon_partial_sync(
    ctx: &JobContext,
    progress: &mut Progress,
    checkpoint: &SnapshotCheckpoint,
) -> Result<StepOutcome, JobError> {
    tracing::warn!(
        table_id = checkpoint.table_id,
        "the source table of the partial sync no longer exists; partial sync abandoned"
    );
    progress.finish_db_partial_sync(&BTreeMap::new());
    ctx.save(progress).await?;
    Ok(StepOutcome::Progressed)
}

/// The name of a snapshot shared by several jobs' tables: `<prefix>_<db>_batch_<suffix>`,
/// naming no table (so it is no single job's) and unique by its suffix.
fn shared_snapshot_name(flow: Flow, db: &str) -> String {
    snapshot_name(flow, db, SHARED_SNAPSHOT_MARK)
}

/// Stands where a single job's snapshot name has its table.
const SHARED_SNAPSHOT_MARK: &str = "batch";

fn snapshot_name(flow: Flow, db: &str, table: &str) -> String {
    let suffix = format!("_{}", unique_suffix());
    let mut name = if table.is_empty() {
        format!("{}_{}", flow.prefix(), label_safe(db))
    } else {
        format!("{}_{}_{}", flow.prefix(), label_safe(db), label_safe(table))
    };
    // Keep the unique suffix whole at the end.
    name.truncate(MAX_LABEL_LEN - suffix.len());
    name.push_str(&suffix);
    name
}

/// Milliseconds plus a random part: two snapshots or restores of one job may start within
/// the same second (a partial sync right after another), and a reused name would make the
/// syncer find the earlier, finished job instead of the new one.
fn unique_suffix() -> String {
    format!(
        "{}_{:04x}",
        chrono::Utc::now().timestamp_millis(),
        rand::random::<u16>()
    )
}

/// Fetches the snapshot and adds what target BEs need to download from source BEs.
async fn fetch_snapshot(
    ctx: &JobContext,
    cache: &mut SyncCache,
    name: &str,
    table: &str,
) -> Result<(Snapshot, BackupJobInfo), JobError> {
    let src = &ctx.info.src;
    let mut snapshot = ctx.source.get_snapshot(&src.database, table, name).await?;
    let mut job_info = BackupJobInfo::from_slice(&snapshot.job_info)
        .map_err(|e| JobError::CheckFailed(format!("snapshot {name}: unreadable job info: {e}")))?;
    let backends = ctx.source.backends().await?;
    let token = ctx.source.master_token().await?;
    let be_network_map: BTreeMap<i64, BeNetworkAddress> = backends
        .iter()
        .map(|be| {
            (
                be.id,
                BeNetworkAddress {
                    ip: ctx.source.download_host(&be.host),
                    port: i32::from(be.http_port),
                },
            )
        })
        .collect();
    job_info
        .set_extra_info(&ExtraInfo {
            be_network_map,
            token,
        })
        .map_err(|e| {
            JobError::CheckFailed(format!("snapshot {name}: cannot add extra info: {e}"))
        })?;
    snapshot.job_info = job_info.to_vec();
    cache.snapshot = Some((name.to_owned(), snapshot.clone()));
    Ok((snapshot, job_info))
}

/// getSnapshot + extra info, then checkpoints the restore label and cut-over seqs.
async fn prepare_restore(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    checkpoint: &mut SnapshotCheckpoint,
    scope: Scope,
) -> Result<StepOutcome, JobError> {
    let name = checkpoint.snapshot_name.clone();
    let table = snapshot_table(ctx, checkpoint, scope);
    let (snapshot, job_info) = fetch_snapshot(ctx, cache, &name, &table).await?;
    if scope != Scope::Database {
        let objects = snapshot_objects(&job_info)
            .map_err(|e| JobError::CheckFailed(format!("snapshot {name}: {e}")))?;
        if !objects.contains_key(&table) {
            // A shared backup started without this job's table (the job saved the name
            // but had left its batch): back up again.
            tracing::warn!(snapshot = %name, %table, "the snapshot does not hold the table; backing up again");
            checkpoint.snapshot_name.clear();
            progress.set_snapshot_step(SnapshotStep::BeginCreateSnapshot);
            progress.set_checkpoint(checkpoint);
            ctx.save(progress).await?;
            return Ok(StepOutcome::Progressed);
        }
    }
    let map = job_info
        .table_commit_seq_map()
        .map_err(|e| JobError::CheckFailed(format!("snapshot {name}: {e}")))?;
    let cut_point_of = |table_id: i64| {
        map.get(&table_id).copied().ok_or_else(|| {
            JobError::CheckFailed(format!(
                "snapshot {name} does not cover source table id {table_id}"
            ))
        })
    };
    if !checkpoint.partitions.is_empty() {
        let table_id = match scope {
            Scope::Table => ctx.info.src.table_id,
            _ => checkpoint.table_id,
        };
        let cut = cut_point_of(table_id)?;
        if table_changed_between(ctx, table_id, progress.prev_commit_seq, cut).await? {
            tracing::info!(
                cut,
                "the table changed after its partitions were replaced; partial sync of the whole table"
            );
            checkpoint.partitions.clear();
            checkpoint.snapshot_name.clear();
            progress.set_snapshot_step(SnapshotStep::BeginCreateSnapshot);
            progress.set_checkpoint(checkpoint);
            ctx.save(progress).await?;
            return Ok(StepOutcome::Progressed);
        }
        let table = match scope {
            Scope::Table => ctx.info.src.table.as_str(),
            _ => checkpoint.src_table.as_str(),
        };
        let objects = job_info
            .backup_objects()
            .map_err(|e| JobError::CheckFailed(format!("snapshot {name}: {e}")))?;
        checkpoint.partition_ids = objects
            .get(table)
            .map(|t| {
                t.partitions
                    .iter()
                    .filter(|(p, _)| checkpoint.partitions.contains(p))
                    .map(|(_, partition)| partition.id)
                    .collect()
            })
            .unwrap_or_default();
    }
    match scope {
        Scope::Table => {
            checkpoint.commit_seq = cut_point_of(ctx.info.src.table_id)?;
            if checkpoint.partitions.is_empty() {
                progress.commit_seq = checkpoint.commit_seq;
            }
        }
        Scope::DatabaseTable => {
            // A view has no cut point of its own; the snapshot's does.
            checkpoint.commit_seq = match (cut_point_of(checkpoint.table_id), snapshot.commit_seq) {
                (Ok(seq), _) => seq,
                (Err(_), Some(seq)) => seq,
                (Err(e), None) => return Err(e),
            };
            if checkpoint.partitions.is_empty() {
                checkpoint.table_commit_seq_map =
                    BTreeMap::from([(checkpoint.table_id, checkpoint.commit_seq)]);
            }
        }
        Scope::Database => {
            let objects = snapshot_objects(&job_info)
                .map_err(|e| JobError::CheckFailed(format!("snapshot {name}: {e}")))?;
            let mut cut_points = map.clone();
            if let Some(seq) = snapshot.commit_seq {
                // Views have no barrier of their own: the database's cut point stands in.
                for id in objects.values() {
                    cut_points.entry(*id).or_insert(seq);
                }
            }
            let lowest = cut_points
                .values()
                .copied()
                .chain(snapshot.commit_seq)
                .min();
            checkpoint.commit_seq = lowest.ok_or_else(|| {
                JobError::CheckFailed(format!(
                    "snapshot {name} holds no table and no commit seq; nothing to start from"
                ))
            })?;
            checkpoint.objects = objects;
            checkpoint.table_commit_seq_map = cut_points;
            progress.commit_seq = checkpoint.commit_seq;
        }
    }
    checkpoint.restore_label = restore_label(&name);
    progress.set_snapshot_step(SnapshotStep::RestoreSnapshot);
    progress.set_checkpoint(checkpoint);
    ctx.save(progress).await?;
    Ok(StepOutcome::Progressed)
}

/// Name → source id of every table and view in a snapshot.
fn snapshot_objects(
    job_info: &BackupJobInfo,
) -> Result<BTreeMap<String, i64>, ccr_binlog::BinlogError> {
    let mut objects: BTreeMap<String, i64> = job_info
        .backup_objects()?
        .into_iter()
        .map(|(name, table)| (name, table.id))
        .collect();
    for view in job_info.new_backup_objects()?.views {
        objects.insert(view.name, view.id);
    }
    Ok(objects)
}

fn restore_label(snapshot: &str) -> String {
    let suffix = format!("_r_{}", unique_suffix());
    let mut label = snapshot.to_owned();
    label.truncate(MAX_LABEL_LEN - suffix.len());
    label.push_str(&suffix);
    label
}

/// Starts the restore under the checkpointed label, or waits for it.
async fn restore(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    checkpoint: &mut SnapshotCheckpoint,
    flow: Flow,
    scope: Scope,
) -> Result<StepOutcome, JobError> {
    let dest = &ctx.info.dest;
    let slot = ctx.target_slot();
    let label = checkpoint.restore_label.clone();
    let state = ctx.target.restore_state(&dest.database, &label).await?;
    if state
        .as_ref()
        .is_some_and(|s| s.is_finished() || s.is_cancelled())
    {
        ctx.snapshot_slots.finished(&slot, &label);
    }
    match state {
        Some(state) if state.is_finished() => {
            tracing::info!(label = %checkpoint.restore_label, "restore finished");
            progress.set_snapshot_step(SnapshotStep::PersistRestoreInfo);
            cache.invalidate_metadata();
            return Ok(StepOutcome::Progressed);
        }
        Some(state) if state.is_cancelled() => {
            let mismatched = state.signature_mismatch();
            let mismatch = mismatched.is_some();
            if mismatch && flow == Flow::Partial && !checkpoint.partitions.is_empty() {
                // The partitions cannot go into a table of another schema: take the whole
                // table instead (a new backup), restored under an alias.
                tracing::warn!(status = %state.status, "partition restore refused; partial sync of the whole table instead");
                checkpoint.partitions.clear();
                checkpoint.snapshot_name.clear();
                checkpoint.restore_label.clear();
                progress.set_snapshot_step(SnapshotStep::BeginCreateSnapshot);
                progress.set_checkpoint(checkpoint);
                ctx.save(progress).await?;
                return Ok(StepOutcome::Progressed);
            }
            if mismatch && flow == Flow::Full {
                handle_signature_mismatch(ctx, checkpoint, scope, mismatched, &state.status)
                    .await?;
            }
            checkpoint.restore_label = restore_label(&checkpoint.snapshot_name);
            if !(mismatch && flow == Flow::Full) {
                checkpoint.failed_attempts += 1;
            }
            progress.set_checkpoint(checkpoint);
            ctx.save(progress).await?;
            if mismatch && flow == Flow::Full {
                return Ok(StepOutcome::Progressed);
            }
            return Err(JobError::SnapshotFailed {
                attempts: checkpoint.failed_attempts,
                message: format!("restore was cancelled: {}", state.status),
            });
        }
        Some(_) => {
            // Running (perhaps since before a restart): it holds the target database, so
            // the restores queued there wait behind it, and it is watched closely so the
            // next starts soon after it is done.
            ctx.snapshot_slots.running(&slot, &label, || {
                format!("restore {label} of job {}", ctx.name)
            });
            return snapshot_queue::watch_restore(ctx, &label).await;
        }
        None => {}
    }
    // Not started yet (or lost before the target accepted it): start it, unless the target
    // has no room for it now.
    if !disk::target_has_room(ctx, cache).await? {
        return Ok(StepOutcome::Idle);
    }
    let table = snapshot_table(ctx, checkpoint, scope);
    let snapshot = match cache.snapshot.take() {
        Some((name, snapshot)) if name == checkpoint.snapshot_name => snapshot,
        _ => {
            fetch_snapshot(ctx, cache, &checkpoint.snapshot_name, &table)
                .await?
                .0
        }
    };
    let table_refs = match scope {
        Scope::Table | Scope::DatabaseTable => {
            let (src_table, dest_table) = match scope {
                Scope::Table => (ctx.info.src.table.clone(), dest.table.clone()),
                _ => (checkpoint.src_table.clone(), checkpoint.dest_table.clone()),
            };
            let whole_table_partial = flow == Flow::Partial && checkpoint.partitions.is_empty();
            if whole_table_partial
                && checkpoint.alias.is_none()
                && (scope == Scope::Table
                    || ctx.target.table_exists(&dest.database, &dest_table).await?)
            {
                checkpoint.alias = Some(alias_name(&dest_table));
                progress.set_checkpoint(checkpoint);
                ctx.save(progress).await?;
            }
            // Always listed: a snapshot may hold other jobs' tables too (a shared
            // backup), and listing restores only what is listed.
            let target_name = checkpoint.alias.clone().unwrap_or(dest_table);
            vec![(src_table, Some(target_name))]
        }
        Scope::Database => {
            if checkpoint.aliases.is_empty() {
                Vec::new()
            } else {
                // Listing anything restores only what is listed: list every object.
                checkpoint
                    .objects
                    .keys()
                    .map(|name| (name.clone(), checkpoint.aliases.get(name).cloned()))
                    .collect()
            }
        }
    };
    let features = &ctx.settings.features;
    let request = RestoreRequest {
        db: dest.database.clone(),
        table: match scope {
            Scope::Table => dest.table.clone(),
            _ => table,
        },
        label: checkpoint.restore_label.clone(),
        table_refs,
        clean_tables: flow == Flow::Full && features.clean_table_and_partitions,
        clean_partitions: flow == Flow::Full && features.clean_table_and_partitions,
        atomic_restore: flow == Flow::Full && features.atomic_restore,
    };
    // One restore at a time per target database: wait for this job's turn.
    let mut ticket = ctx
        .snapshot_slots
        .queue_restore(slot.clone(), &ctx.name, &label);
    let started = loop {
        if !snapshot_queue::wait_restore_turn(ctx, &mut ticket).await {
            break Ok(false);
        }
        tracing::info!(label = %request.label, "starting restore");
        match ctx.target.restore_snapshot(&request, &snapshot).await {
            Ok(()) => {
                ticket.started();
                break Ok(true);
            }
            Err(error) if error.kind() == DorisErrorKind::Busy => {
                let behind =
                    snapshot_queue::conflicting(ctx, &slot, SnapshotJobKind::Restore).await;
                tracing::info!(%error, %behind, "the target database is busy; the restore waits");
                ticket.blocked(behind);
            }
            Err(error) => break Err(error),
        }
    };
    cache.snapshot = Some((checkpoint.snapshot_name.clone(), snapshot));
    if !started? {
        return Ok(StepOutcome::Idle);
    }
    snapshot_queue::watch_restore(ctx, &label).await
}

fn alias_name(table: &str) -> String {
    format!("__ccr_{}_{}", label_safe(table), unique_suffix())
}

/// A target table exists with another schema: restore under an alias and swap it in
/// (feature on, tables only), or drop the target object so the restore can create it.
async fn handle_signature_mismatch(
    ctx: &JobContext,
    checkpoint: &mut SnapshotCheckpoint,
    scope: Scope,
    mismatched: Option<MismatchedObject>,
    status: &str,
) -> Result<(), JobError> {
    let dest = &ctx.info.dest;
    let (kind, name) = match (scope, mismatched) {
        (Scope::Table, _) => (ObjectKind::Table, dest.table.clone()),
        (_, Some(object)) if object.kind != ObjectKind::Unknown => (object.kind, object.name),
        _ => {
            return Err(JobError::CheckFailed(format!(
                "restore refused, object unknown: {status}"
            )))
        }
    };
    let alias_feature = ctx.settings.features.replace_not_matched_with_alias;
    if alias_feature && kind == ObjectKind::Table {
        let alias = alias_name(&name);
        tracing::warn!(table = %name, %alias, "target table has another schema; restoring under an alias");
        match scope {
            Scope::Database => {
                checkpoint.aliases.insert(name, alias);
            }
            _ => checkpoint.alias = Some(alias),
        }
    } else {
        tracing::warn!(object = %name, ?kind, "target object has another schema; dropping it");
        let sql = if kind == ObjectKind::View {
            format!(
                "DROP VIEW IF EXISTS {}.{}",
                quote_ident(&dest.database),
                quote_ident(&name)
            )
        } else {
            format!(
                "DROP TABLE {}.{}",
                quote_ident(&dest.database),
                quote_ident(&name)
            )
        };
        ctx.target.exec(&sql).await?;
    }
    Ok(())
}

/// Puts the table restored under `alias` in place of `table` (idempotent: only while the
/// alias still exists).
async fn swap_alias_in(ctx: &JobContext, alias: &str, table: &str) -> Result<(), JobError> {
    let db = &ctx.info.dest.database;
    let sql = ctx.target.as_ref();
    if !sql.table_exists(db, alias).await? {
        return Ok(());
    }
    let statement = if sql.table_exists(db, table).await? {
        format!(
            "ALTER TABLE {}.{} REPLACE WITH TABLE {} PROPERTIES (\"swap\" = \"false\")",
            quote_ident(db),
            quote_ident(table),
            quote_ident(alias)
        )
    } else {
        format!(
            "ALTER TABLE {}.{} RENAME {}",
            quote_ident(db),
            quote_ident(alias),
            quote_ident(table)
        )
    };
    sql.exec(&statement).await?;
    Ok(())
}

/// After a database full sync: drops the target tables and views the job itself had put
/// there (they are in its previous table mapping) that the new snapshot no longer holds,
/// so the target's objects equal the source's. Objects the job never mapped were not made
/// by it and are left alone. Idempotent: what is gone already is skipped.
async fn drop_stale_objects(
    ctx: &JobContext,
    progress: &Progress,
    new_mapping: &BTreeMap<i64, i64>,
    target_ids: &BTreeMap<String, i64>,
    checkpoint: &SnapshotCheckpoint,
) -> Result<(), JobError> {
    let Some(old_mapping) = &progress.table_mapping else {
        return Ok(());
    };
    let kept: std::collections::BTreeSet<i64> = new_mapping.values().copied().collect();
    let db = &ctx.info.dest.database;
    for dest_id in old_mapping.values().filter(|id| !kept.contains(id)) {
        let Some((name, _)) = target_ids.iter().find(|(_, id)| *id == dest_id) else {
            continue;
        };
        if checkpoint.objects.contains_key(name) {
            continue;
        }
        let qualified = format!("{}.{}", quote_ident(db), quote_ident(name));
        tracing::info!(object = %name, "dropping a target object of the job that the source no longer has");
        let sql = ctx.target.as_ref();
        if let Err(error) = sql.exec(&format!("DROP TABLE {qualified} FORCE")).await {
            // A view answers DROP TABLE with an error; anything else is real.
            if let Err(view_error) = sql.exec(&format!("DROP VIEW IF EXISTS {qualified}")).await {
                tracing::warn!(%error, %view_error, object = %name, "cannot drop a stale target object");
                return Err(view_error.into());
            }
        }
    }
    Ok(())
}

/// Swaps aliases in, learns target table ids, and switches to incremental sync.
async fn finish(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    checkpoint: &SnapshotCheckpoint,
    scope: Scope,
) -> Result<StepOutcome, JobError> {
    let dest = &ctx.info.dest;
    let sql = ctx.target.as_ref();
    let dest_tables = match scope {
        Scope::Table => vec![dest.table.clone()],
        Scope::DatabaseTable => vec![checkpoint.dest_table.clone()],
        Scope::Database => checkpoint.objects.keys().cloned().collect(),
    };
    if let (Some(alias), Some(table)) = (&checkpoint.alias, dest_tables.first()) {
        swap_alias_in(ctx, alias, table).await?;
    }
    for (table, alias) in &checkpoint.aliases {
        swap_alias_in(ctx, alias, table).await?;
    }
    cache.invalidate_metadata();
    cache.snapshot = None;
    let db_id = sql.database_id(&dest.database).await?.ok_or_else(|| {
        JobError::CheckFailed(format!("dest database {} not exists", dest.database))
    })?;
    let target_ids: BTreeMap<String, i64> = sql
        .tables(db_id)
        .await?
        .into_iter()
        .map(|t| (t.name, t.id))
        .collect();
    let target_id = |name: &str| {
        target_ids.get(name).copied().ok_or_else(|| {
            JobError::CheckFailed(format!(
                "dest table {}.{name} not exists after restore",
                dest.database
            ))
        })
    };
    match scope {
        Scope::Table => {
            progress.dest_table_id = target_id(&dest.table)?;
            progress.finish_table_snapshot();
            if checkpoint.partitions.is_empty() {
                progress.prev_commit_seq = checkpoint.commit_seq;
                progress.commit_seq = checkpoint.commit_seq;
            } else {
                // Only these partitions are newer on the target: the cursor stays, and
                // their data binlogs up to the cut-over point are filtered.
                for id in &checkpoint.partition_ids {
                    progress
                        .partition_commit_seq_map
                        .insert(*id, checkpoint.commit_seq);
                }
            }
        }
        Scope::Database => {
            let mut mapping = BTreeMap::new();
            for (name, src_id) in &checkpoint.objects {
                mapping.insert(*src_id, target_id(name)?);
            }
            drop_stale_objects(ctx, progress, &mapping, &target_ids, checkpoint).await?;
            progress.table_mapping = Some(mapping);
            progress.finish_db_snapshot(checkpoint.table_commit_seq_map.clone());
            progress.prev_commit_seq = checkpoint.commit_seq;
            progress.commit_seq = checkpoint.commit_seq;
        }
        Scope::DatabaseTable => {
            let dest_id = target_id(&checkpoint.dest_table)?;
            progress
                .table_mapping
                .get_or_insert_with(BTreeMap::new)
                .insert(checkpoint.table_id, dest_id);
            progress.finish_db_partial_sync(&checkpoint.table_commit_seq_map);
            for id in &checkpoint.partition_ids {
                progress
                    .partition_commit_seq_map
                    .insert(*id, checkpoint.commit_seq);
            }
            // The cursor stays: the binlog that asked for this partial sync is done.
        }
    }
    if scope != Scope::DatabaseTable {
        progress.incremental_sync_start_at = ctx.now_secs();
    }
    ctx.save(progress).await?;
    tracing::info!(
        commit_seq = checkpoint.commit_seq,
        tables = dest_tables.len(),
        "snapshot restored; incremental sync from here"
    );
    Ok(StepOutcome::Progressed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_within_doris_label_rules() {
        let name = snapshot_name(Flow::Full, &"d".repeat(200), "t`x");
        assert!(name.len() <= MAX_LABEL_LEN);
        assert!(name.starts_with("ccrs_ddd"));
        assert!(name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        assert!(restore_label(&name).len() <= MAX_LABEL_LEN);
        assert_ne!(
            snapshot_name(Flow::Partial, "d", "t"),
            snapshot_name(Flow::Partial, "d", "t")
        );
        assert_ne!(restore_label("s"), restore_label("s"));
    }

    #[test]
    fn labels_keep_only_safe_characters() {
        assert_eq!(label_safe("my-db.orders`x"), "my-db_orders_x");
        assert_eq!(label_safe("表"), "_");
    }

    #[test]
    fn snapshot_names_start_with_their_flow() {
        assert!(snapshot_name(Flow::Full, "db", "").starts_with("ccrs_db_"));
    }
}
