//! Every change of a job's phase. The phase is private to [`super`], so this module is the
//! one place that moves a job between full sync, incremental sync and partial sync; each
//! function names one edge of the state machine.
//!
//! Nothing here is persisted: the caller saves the progress once the change is complete.

use std::collections::BTreeMap;

use super::{Phase, Progress, SnapshotCheckpoint, SnapshotProgress, SnapshotStep};

/// The full-sync reason of a job that has never run.
pub const FIRST_FULL_SYNC_REASON: &str = "the job was created";

impl Progress {
    /// The progress of a job that has never run: a full sync from the beginning.
    pub fn new_full_sync(job_name: &str, table_level: bool, now_unix: i64) -> Self {
        Progress {
            job_name: job_name.to_owned(),
            phase: Phase::first(table_level),
            prev_commit_seq: 0,
            commit_seq: 0,
            table_mapping: None,
            partition_commit_seq_map: BTreeMap::new(),
            dest_table_id: 0,
            shadow_index_map: BTreeMap::new(),
            unsupported_binlogs: BTreeMap::new(),
            fullsync_requests_done: 0,
            partialsync_requests_done: 0,
            created_at: now_unix,
            full_sync_start_at: now_unix,
            full_sync_reason: FIRST_FULL_SYNC_REASON.to_owned(),
            incremental_sync_start_at: 0,
            ingest_binlog_at: 0,
        }
    }

    /// This progress in `phase`: one read back from the store (the codec), or built by a
    /// test.
    pub fn with_phase(mut self, phase: Phase) -> Self {
        self.phase = phase;
        self
    }

    /// Any phase → a new full sync from scratch (the cursor is kept for the record).
    pub fn restart_full_sync(&mut self, now_unix: i64, reason: &str) {
        self.phase = Phase::first(self.phase.is_table_level());
        self.commit_seq = self.prev_commit_seq;
        self.full_sync_start_at = now_unix;
        reason.clone_into(&mut self.full_sync_reason);
        self.incremental_sync_start_at = 0;
        self.ingest_binlog_at = 0;
    }

    /// A full sync for a job of the other kind than its phase says (a foreign record).
    pub fn restart_full_sync_as(&mut self, table_level: bool, now_unix: i64, reason: &str) {
        self.phase = Phase::first(table_level);
        self.restart_full_sync(now_unix, reason);
    }

    /// Incremental sync → partial sync of `partitions` (empty = the whole table) of the
    /// table job's table.
    pub fn enter_table_partial_sync(&mut self, partitions: Vec<String>) {
        self.phase = Phase::TablePartialSync(SnapshotProgress::begin(SnapshotCheckpoint {
            partitions,
            ..Default::default()
        }));
    }

    /// Incremental sync → partial sync of source table `table_id` of a database job; the
    /// cut-over points of the phase it leaves come back when it is done.
    pub fn enter_db_partial_sync(&mut self, table_id: i64, partitions: Vec<String>) {
        let cut_points = match &mut self.phase {
            Phase::DbTablesIncremental { cut_points } => std::mem::take(cut_points),
            Phase::DbPartialSync { cut_points, .. } => std::mem::take(cut_points),
            _ => BTreeMap::new(),
        };
        self.phase = Phase::DbPartialSync {
            snapshot: SnapshotProgress::begin(SnapshotCheckpoint {
                partitions,
                table_id,
                ..Default::default()
            }),
            cut_points,
        };
    }

    /// The snapshot flow moves to `step`. No-op outside a snapshot phase.
    pub fn set_snapshot_step(&mut self, step: SnapshotStep) {
        if let Some(snapshot) = self.snapshot_mut() {
            snapshot.step = step;
        }
    }

    /// Records the snapshot flow's checkpoint. No-op outside a snapshot phase.
    pub fn set_checkpoint(&mut self, checkpoint: &SnapshotCheckpoint) {
        if let Some(snapshot) = self.snapshot_mut() {
            snapshot.checkpoint.clone_from(checkpoint);
        }
    }

    fn snapshot_mut(&mut self) -> Option<&mut SnapshotProgress> {
        match &mut self.phase {
            Phase::TableFullSync(snapshot)
            | Phase::TablePartialSync(snapshot)
            | Phase::DbFullSync(snapshot)
            | Phase::DbPartialSync { snapshot, .. } => Some(snapshot),
            Phase::TableIncremental
            | Phase::DbTablesIncremental { .. }
            | Phase::DbIncremental
            | Phase::Done { .. } => None,
        }
    }

    /// Table full or partial sync restored → incremental sync.
    pub fn finish_table_snapshot(&mut self) {
        self.phase = Phase::TableIncremental;
    }

    /// Database full sync restored → incremental sync filtered by each table's cut-over
    /// point.
    pub fn finish_db_snapshot(&mut self, cut_points: BTreeMap<i64, i64>) {
        self.phase = Phase::DbTablesIncremental { cut_points };
    }

    /// Database partial sync restored, or abandoned (`table_cut_points` empty) → the
    /// filtered incremental phase, with this table's cut-over points added.
    pub fn finish_db_partial_sync(&mut self, table_cut_points: &BTreeMap<i64, i64>) {
        let mut cut_points = match &mut self.phase {
            Phase::DbPartialSync { cut_points, .. } => std::mem::take(cut_points),
            _ => BTreeMap::new(),
        };
        cut_points.extend(table_cut_points);
        self.phase = Phase::DbTablesIncremental { cut_points };
    }

    /// Incremental sync of a one-time job, right after its full sync → done. The cursor
    /// stays at the snapshot's commit seq: what the copy holds.
    pub fn finish_one_time_copy(&mut self) {
        let table_level = self.phase.is_table_level();
        self.phase = Phase::Done { table_level };
        self.commit_seq = self.prev_commit_seq;
    }

    /// Filtered → plain incremental sync once the cursor has passed every table's cut-over
    /// point. Returns whether the phase changed.
    pub fn finish_tables_phase(&mut self) -> bool {
        let Phase::DbTablesIncremental { cut_points } = &self.phase else {
            return false;
        };
        let cursor = self.prev_commit_seq;
        let passed = cut_points.values().all(|cut| *cut <= cursor);
        if passed {
            tracing::info!(
                commit_seq = cursor,
                "every table is past its snapshot; plain incremental sync"
            );
            self.phase = Phase::DbIncremental;
        }
        passed
    }

    /// Forgets source table `table_id`: its target table and its cut-over point.
    pub fn unmap_table(&mut self, table_id: i64) {
        if let Some(mapping) = self.table_mapping.as_mut() {
            mapping.remove(&table_id);
        }
        match &mut self.phase {
            Phase::DbTablesIncremental { cut_points } | Phase::DbPartialSync { cut_points, .. } => {
                cut_points.remove(&table_id);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::SyncState;

    #[test]
    fn a_database_job_leaves_the_filtered_phase_once_past_every_cut_point() {
        let mut progress =
            Progress::new_full_sync("j", false, 1).with_phase(Phase::DbTablesIncremental {
                cut_points: BTreeMap::from([(1, 10), (2, 20)]),
            });
        progress.prev_commit_seq = 15;
        assert!(!progress.finish_tables_phase());
        progress.prev_commit_seq = 20;
        assert!(progress.finish_tables_phase());
        assert_eq!(progress.phase(), &Phase::DbIncremental);
    }

    #[test]
    fn a_partial_sync_returns_to_the_cut_points_it_interrupted_plus_its_own() {
        let mut progress =
            Progress::new_full_sync("j", false, 1).with_phase(Phase::DbTablesIncremental {
                cut_points: BTreeMap::from([(1, 10)]),
            });
        progress.enter_db_partial_sync(2, vec!["p1".into()]);
        assert_eq!(progress.phase().state(), SyncState::DbPartialSync);
        let snapshot = progress.phase().snapshot().unwrap();
        assert_eq!(snapshot.step, SnapshotStep::BeginCreateSnapshot);
        assert_eq!(snapshot.checkpoint.table_id, 2);
        progress.finish_db_partial_sync(&BTreeMap::from([(2, 30)]));
        assert_eq!(
            progress.phase().cut_points(),
            Some(&BTreeMap::from([(1, 10), (2, 30)]))
        );
    }

    #[test]
    fn a_finished_one_time_copy_is_done_and_only_a_full_sync_leaves_it() {
        let mut progress =
            Progress::new_full_sync("j", false, 1).with_phase(Phase::DbTablesIncremental {
                cut_points: BTreeMap::from([(1, 10)]),
            });
        progress.prev_commit_seq = 10;
        progress.finish_one_time_copy();
        assert_eq!(progress.phase(), &Phase::Done { table_level: false });
        assert!(!progress.phase().is_table_level());
        assert_eq!(progress.phase().name(), "Done");
        assert_eq!(progress.phase().state(), SyncState::DbIncrementalSync);
        assert!(!progress.finish_tables_phase());
        progress.restart_full_sync(7, "requested by the operator");
        assert_eq!(progress.phase().state(), SyncState::DbFullSync);
    }

    #[test]
    fn a_full_sync_restart_keeps_the_job_kind_and_the_cursor() {
        let mut progress =
            Progress::new_full_sync("j", true, 1).with_phase(Phase::TableIncremental);
        progress.prev_commit_seq = 42;
        progress.restart_full_sync(7, "binlogs purged");
        assert_eq!(progress.phase().state(), SyncState::TableFullSync);
        assert_eq!(progress.commit_seq, 42);
        assert_eq!(progress.full_sync_start_at, 7);
        assert_eq!(progress.full_sync_reason, "binlogs purged");
    }
}
