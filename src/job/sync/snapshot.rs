//! Full and partial sync: a backup snapshot on the source, restored on the target.
//!
//! Sub-states and what is persisted when:
//!
//! | sub-state | action | persisted before acting |
//! |---|---|---|
//! | BeginCreateSnapshot | `BACKUP SNAPSHOT`, then poll `SHOW BACKUP` | snapshot name |
//! | GetSnapshotInfo / AddExtraInfo | getSnapshot, add BE map and token (memory only) | – |
//! | RestoreSnapshot | restoreSnapshot, then poll `SHOW RESTORE` | restore label, cut-over seq |
//! | PersistRestoreInfo | swap an alias in, learn the target table id, switch to incremental | result |
//!
//! After a restart the persisted name or label is looked up on the cluster, so a backup or
//! restore that was already running is waited for instead of started twice.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{label_safe, SyncCache};
use crate::binlog::snapshot::{BackupJobInfo, BeNetworkAddress, ExtraInfo};
use crate::doris::cluster::{BackupTarget, RestoreRequest, Snapshot};
use crate::doris::sql::quote_ident;
use crate::job::error::JobError;
use crate::job::manager::now_secs;
use crate::job::progress::{Progress, SubSyncState, SyncState};
use crate::job::runner::{JobTask, StepOutcome};

/// Longest label Doris accepts for snapshots and restores.
const MAX_LABEL_LEN: usize = 128;
/// What Doris says when a restored table exists on the target with another schema.
const SIGNATURE_MISMATCH: &str = "already exist but with different schema";

/// What a snapshot flow persists in `progress.data`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct SnapshotCheckpoint {
    #[serde(default)]
    pub snapshot_name: String,
    #[serde(default)]
    pub restore_label: String,
    /// Source commit seq the snapshot covers (the cut-over point).
    #[serde(default)]
    pub commit_seq: i64,
    /// Target name the table is restored under before being swapped in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Partial sync: the partitions to refresh (empty = the whole table).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<String>,
}

impl SnapshotCheckpoint {
    fn load(progress: &Progress) -> Result<Self, JobError> {
        if progress.data.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(&progress.data).map_err(|e| JobError::Corrupt {
            name: progress.job_name.clone(),
            what: "snapshot checkpoint",
            message: e.to_string(),
        })
    }

    fn store(&self, progress: &mut Progress) {
        progress.data = serde_json::to_string(self).expect("checkpoint serialises");
    }
}

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

pub(crate) async fn full_sync_step(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
) -> Result<StepOutcome, JobError> {
    snapshot_step(task, cache, progress, Flow::Full).await
}

pub(crate) async fn partial_sync_step(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
) -> Result<StepOutcome, JobError> {
    snapshot_step(task, cache, progress, Flow::Partial).await
}

/// Moves a table job into partial sync of `partitions` (empty = the whole table, restored
/// under an alias and swapped in). Persisted.
pub(crate) async fn start_partial_sync(
    task: &JobTask,
    progress: &mut Progress,
    partitions: Vec<String>,
) -> Result<(), JobError> {
    let checkpoint = SnapshotCheckpoint {
        partitions,
        ..Default::default()
    };
    progress.sync_state = SyncState::TablePartialSync;
    progress.sub_sync_state = SubSyncState::BeginCreateSnapshot;
    checkpoint.store(progress);
    task.save(progress).await
}

/// Moves a job into a new full sync. Persisted.
pub(crate) async fn start_full_sync(
    task: &JobTask,
    progress: &mut Progress,
    reason: &str,
) -> Result<(), JobError> {
    tracing::warn!(reason, "starting a full sync");
    progress.restart_full_sync(true, now_secs());
    task.save(progress).await
}

async fn snapshot_step(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
    flow: Flow,
) -> Result<StepOutcome, JobError> {
    let mut checkpoint = SnapshotCheckpoint::load(progress)?;
    match progress.sub_sync_state {
        SubSyncState::BeginCreateSnapshot => backup(task, progress, &mut checkpoint, flow).await,
        SubSyncState::GetSnapshotInfo | SubSyncState::AddExtraInfo => {
            prepare_restore(task, cache, progress, &mut checkpoint).await
        }
        SubSyncState::RestoreSnapshot => {
            restore(task, cache, progress, &mut checkpoint, flow).await
        }
        SubSyncState::PersistRestoreInfo => finish(task, cache, progress, &checkpoint).await,
        // A snapshot flow interrupted between binlog sub-states cannot happen; start over.
        _ => {
            progress.sub_sync_state = SubSyncState::BeginCreateSnapshot;
            progress.data.clear();
            task.save(progress).await?;
            Ok(StepOutcome::Progressed)
        }
    }
}

/// Starts the backup (after checkpointing its name) or waits for it.
async fn backup(
    task: &JobTask,
    progress: &mut Progress,
    checkpoint: &mut SnapshotCheckpoint,
    flow: Flow,
) -> Result<StepOutcome, JobError> {
    let src = &task.info.src;
    if !checkpoint.snapshot_name.is_empty() {
        match task
            .src
            .backup_state(&src.database, &checkpoint.snapshot_name)
            .await?
        {
            Some(state) if state.is_finished() => {
                tracing::info!(snapshot = %checkpoint.snapshot_name, "backup finished");
                progress.sub_sync_state = SubSyncState::GetSnapshotInfo;
                return Ok(StepOutcome::Progressed);
            }
            Some(state) if state.is_cancelled() => {
                let name = std::mem::take(&mut checkpoint.snapshot_name);
                checkpoint.store(progress);
                task.save(progress).await?;
                return Err(JobError::CheckFailed(format!(
                    "backup {name} was cancelled: {}",
                    state.status
                )));
            }
            Some(_) => return Ok(StepOutcome::Idle),
            None => {} // Never started (or lost): start it below under the same name.
        }
    } else {
        checkpoint.snapshot_name = snapshot_name(flow, &src.database, &src.table);
        checkpoint.store(progress);
        task.save(progress).await?;
    }
    let target = BackupTarget {
        table: src.table.clone(),
        partitions: checkpoint.partitions.clone(),
    };
    tracing::info!(snapshot = %checkpoint.snapshot_name, "starting backup");
    task.src
        .backup(&src.database, &checkpoint.snapshot_name, &[target])
        .await?;
    Ok(StepOutcome::Idle)
}

fn snapshot_name(flow: Flow, db: &str, table: &str) -> String {
    let suffix = format!("_{}", unique_suffix());
    let mut name = format!("{}_{}_{}", flow.prefix(), label_safe(db), label_safe(table));
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
        crate::job::manager::now_millis(),
        rand::random::<u16>()
    )
}

/// Fetches the snapshot and adds what target BEs need to download from source BEs.
async fn fetch_snapshot(
    task: &JobTask,
    cache: &mut SyncCache,
    name: &str,
) -> Result<(Snapshot, BackupJobInfo), JobError> {
    let src = &task.info.src;
    let mut snapshot = task
        .src
        .get_snapshot(&src.database, &src.table, name)
        .await?;
    let mut job_info = BackupJobInfo::from_slice(&snapshot.job_info)
        .map_err(|e| JobError::CheckFailed(format!("snapshot {name}: unreadable job info: {e}")))?;
    let backends = task.src.backends().await?;
    let token = task.src.master_token().await?;
    let be_network_map: BTreeMap<i64, BeNetworkAddress> = backends
        .iter()
        .map(|be| {
            (
                be.id,
                BeNetworkAddress {
                    ip: be.host.clone(),
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

/// getSnapshot + extra info, then checkpoints the restore label and cut-over seq.
async fn prepare_restore(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
    checkpoint: &mut SnapshotCheckpoint,
) -> Result<StepOutcome, JobError> {
    let name = checkpoint.snapshot_name.clone();
    let (_, job_info) = fetch_snapshot(task, cache, &name).await?;
    let src_table_id = task.info.src.table_id;
    let map = job_info
        .table_commit_seq_map()
        .map_err(|e| JobError::CheckFailed(format!("snapshot {name}: {e}")))?;
    let commit_seq = *map.get(&src_table_id).ok_or_else(|| {
        JobError::CheckFailed(format!(
            "snapshot {name} does not cover source table id {src_table_id}"
        ))
    })?;
    checkpoint.commit_seq = commit_seq;
    checkpoint.restore_label = restore_label(&name);
    progress.sub_sync_state = SubSyncState::RestoreSnapshot;
    progress.commit_seq = commit_seq;
    checkpoint.store(progress);
    task.save(progress).await?;
    Ok(StepOutcome::Progressed)
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
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
    checkpoint: &mut SnapshotCheckpoint,
    flow: Flow,
) -> Result<StepOutcome, JobError> {
    let dest = &task.info.dest;
    match task
        .dest
        .restore_state(&dest.database, &checkpoint.restore_label)
        .await?
    {
        Some(state) if state.is_finished() => {
            tracing::info!(label = %checkpoint.restore_label, "restore finished");
            progress.sub_sync_state = SubSyncState::PersistRestoreInfo;
            cache.invalidate_target();
            return Ok(StepOutcome::Progressed);
        }
        Some(state) if state.is_cancelled() => {
            let mismatch = state.status.contains(SIGNATURE_MISMATCH);
            if mismatch && flow == Flow::Full {
                handle_signature_mismatch(task, checkpoint).await?;
            }
            checkpoint.restore_label = restore_label(&checkpoint.snapshot_name);
            checkpoint.store(progress);
            task.save(progress).await?;
            if mismatch {
                return Ok(StepOutcome::Progressed);
            }
            return Err(JobError::CheckFailed(format!(
                "restore was cancelled: {}",
                state.status
            )));
        }
        Some(_) => return Ok(StepOutcome::Idle),
        None => {}
    }
    // Not started yet (or lost before the target accepted it): start it.
    let snapshot = match cache.snapshot.take() {
        Some((name, snapshot)) if name == checkpoint.snapshot_name => snapshot,
        _ => {
            fetch_snapshot(task, cache, &checkpoint.snapshot_name)
                .await?
                .0
        }
    };
    let src_table = task.info.src.table.clone();
    let dest_table = dest.table.clone();
    let whole_table_partial = flow == Flow::Partial && checkpoint.partitions.is_empty();
    if whole_table_partial && checkpoint.alias.is_none() {
        checkpoint.alias = Some(alias_name(&dest_table));
        checkpoint.store(progress);
        task.save(progress).await?;
    }
    let target_name = checkpoint
        .alias
        .clone()
        .unwrap_or_else(|| dest_table.clone());
    let table_refs = if target_name != src_table {
        vec![(src_table, Some(target_name))]
    } else {
        Vec::new()
    };
    let features = &task.settings.features;
    let request = RestoreRequest {
        db: dest.database.clone(),
        table: dest.table.clone(),
        label: checkpoint.restore_label.clone(),
        table_refs,
        clean_tables: flow == Flow::Full && features.clean_table_and_partitions,
        clean_partitions: flow == Flow::Full && features.clean_table_and_partitions,
        atomic_restore: flow == Flow::Full && features.atomic_restore,
    };
    tracing::info!(label = %request.label, "starting restore");
    let started = task.dest.restore_snapshot(&request, &snapshot).await;
    cache.snapshot = Some((checkpoint.snapshot_name.clone(), snapshot));
    started?;
    Ok(StepOutcome::Idle)
}

fn alias_name(table: &str) -> String {
    format!("__ccr_{}_{}", label_safe(table), unique_suffix())
}

/// The target table exists with another schema: restore under an alias and swap it in
/// (feature on), or drop the target table so the restore can create it.
async fn handle_signature_mismatch(
    task: &JobTask,
    checkpoint: &mut SnapshotCheckpoint,
) -> Result<(), JobError> {
    let dest = &task.info.dest;
    if task.settings.features.replace_not_matched_with_alias {
        let alias = alias_name(&dest.table);
        tracing::warn!(table = %dest.table, %alias, "target table has another schema; restoring under an alias");
        checkpoint.alias = Some(alias);
    } else {
        tracing::warn!(table = %dest.table, "target table has another schema; dropping it");
        let sql = format!(
            "DROP TABLE {}.{}",
            quote_ident(&dest.database),
            quote_ident(&dest.table)
        );
        task.dest.sql().exec(&sql).await?;
    }
    Ok(())
}

/// Swaps an alias in, learns the target table id, and switches to incremental sync.
async fn finish(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
    checkpoint: &SnapshotCheckpoint,
) -> Result<StepOutcome, JobError> {
    let dest = &task.info.dest;
    let sql = task.dest.sql();
    if let Some(alias) = &checkpoint.alias {
        // Idempotent: only while the alias still exists.
        if sql.table_exists(&dest.database, alias).await? {
            let statement = if sql.table_exists(&dest.database, &dest.table).await? {
                format!(
                    "ALTER TABLE {}.{} REPLACE WITH TABLE {} PROPERTIES (\"swap\" = \"false\")",
                    quote_ident(&dest.database),
                    quote_ident(&dest.table),
                    quote_ident(alias)
                )
            } else {
                format!(
                    "ALTER TABLE {}.{} RENAME {}",
                    quote_ident(&dest.database),
                    quote_ident(alias),
                    quote_ident(&dest.table)
                )
            };
            sql.exec(&statement).await?;
        }
    }
    let db_id = sql.database_id(&dest.database).await?.ok_or_else(|| {
        JobError::CheckFailed(format!("dest database {} not exists", dest.database))
    })?;
    let table_id = sql.table_id(db_id, &dest.table).await?.ok_or_else(|| {
        JobError::CheckFailed(format!(
            "dest table {}.{} not exists after restore",
            dest.database, dest.table
        ))
    })?;
    cache.invalidate_target();
    cache.snapshot = None;
    progress.dest_table_id = table_id;
    progress.sync_state = SyncState::TableIncrementalSync;
    progress.sub_sync_state = SubSyncState::Done;
    progress.prev_commit_seq = checkpoint.commit_seq;
    progress.commit_seq = checkpoint.commit_seq;
    progress.data.clear();
    progress.incremental_sync_start_at = now_secs();
    task.save(progress).await?;
    tracing::info!(
        commit_seq = checkpoint.commit_seq,
        dest_table_id = table_id,
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
    fn checkpoint_round_trips() {
        let mut progress = Progress::new_full_sync("j", true, 1);
        let checkpoint = SnapshotCheckpoint {
            snapshot_name: "s".into(),
            restore_label: "r".into(),
            commit_seq: 7,
            alias: Some("__ccr_t_1".into()),
            partitions: vec!["p1".into()],
        };
        checkpoint.store(&mut progress);
        assert_eq!(SnapshotCheckpoint::load(&progress).unwrap(), checkpoint);
        progress.data.clear();
        assert_eq!(
            SnapshotCheckpoint::load(&progress).unwrap(),
            SnapshotCheckpoint::default()
        );
    }
}
