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

mod db;
mod ddl;
mod incremental;
mod plan;
mod snapshot;
mod upsert;

use std::collections::HashMap;

use super::error::JobError;
use super::manager::now_secs;
use super::progress::{Progress, SyncState};
use super::runner::{JobControl, JobTask, StepOutcome};
use super::spec::SyncType;
use ccr_doris::cluster::Snapshot;
use ccr_doris::meta::{BackendMeta, DbMeta};

/// What a job keeps in memory between steps: caches that can always be rebuilt.
pub(crate) struct SyncCache {
    /// Target tables' partition/tablet trees; dropped after every DDL and restore.
    pub dest_meta: Option<DbMeta>,
    pub src_backends: Option<HashMap<i64, BackendMeta>>,
    pub dest_backends: Option<HashMap<i64, BackendMeta>>,
    /// The snapshot being restored (by name), with extra info added.
    pub snapshot: Option<(String, Snapshot)>,
    /// When the source table was last seen to exist (table jobs, while caught up).
    pub source_checked_at: Option<std::time::Instant>,
    /// Target table id → name (database jobs); dropped after every DDL and restore.
    pub dest_tables: Option<HashMap<i64, String>>,
}

impl SyncCache {
    pub fn new() -> Self {
        SyncCache {
            dest_meta: None,
            src_backends: None,
            dest_backends: None,
            snapshot: None,
            source_checked_at: None,
            dest_tables: None,
        }
    }

    /// Forgets everything that a DDL or a restore may have changed.
    pub fn invalidate_target(&mut self) {
        self.dest_meta = None;
        self.dest_tables = None;
    }
}

/// Takes one step. On success, everything the step changed on the target is durable and
/// `progress` says so (persisted); on error nothing was recorded as done.
pub(crate) async fn step(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
    control: &JobControl,
    previous_failures: u32,
) -> Result<StepOutcome, JobError> {
    let table_level = task.info.sync_type == SyncType::Table;
    if control.fullsync_requests > progress.fullsync_requests_done {
        tracing::info!("full sync requested by the operator");
        progress.fullsync_requests_done = control.fullsync_requests;
        progress.restart_full_sync(table_level, now_secs());
        task.save(progress).await?;
        return Ok(StepOutcome::Progressed);
    }
    match (table_level, progress.sync_state) {
        (true, SyncState::TableFullSync) | (false, SyncState::DbFullSync) => {
            snapshot::full_sync_step(task, cache, progress).await
        }
        (true, SyncState::TablePartialSync) | (false, SyncState::DbPartialSync) => {
            snapshot::partial_sync_step(task, cache, progress).await
        }
        (true, SyncState::TableIncrementalSync)
        | (false, SyncState::DbTablesIncrementalSync | SyncState::DbIncrementalSync) => {
            incremental::step(task, cache, progress, control, previous_failures).await
        }
        (_, other) => {
            // A state of the other job kind (or one this build never enters): only a new
            // full sync gives a defined starting point.
            tracing::warn!(
                state = other.name(),
                "persisted state does not fit this job; starting a full sync"
            );
            snapshot::start_full_sync(task, progress, "unexpected persisted state").await?;
            Ok(StepOutcome::Progressed)
        }
    }
}

/// Characters Doris accepts in labels and snapshot names; anything else becomes `_`.
pub(crate) fn label_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_keep_only_safe_characters() {
        assert_eq!(label_safe("my-db.orders`x"), "my-db_orders_x");
        assert_eq!(label_safe("表"), "_");
    }
}
