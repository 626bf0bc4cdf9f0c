//! A job's position: the phase it is in (with what that phase needs to resume) and the last
//! binlog applied.
//!
//! The phase is a [`Phase`] whose variants carry their own data; only [`transitions`]
//! changes it. The reference-compatible JSON form is the store's business
//! (`crate::store::progress_codec`); the numbered [`SyncState`] and [`SubSyncState`] here
//! are the reference's names and numbers, used by that codec and by `/job_status`.

pub mod transitions;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The phase of a job (numbers and names as in the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "i32", try_from = "i32")]
pub enum SyncState {
    DbFullSync,
    DbTablesIncrementalSync,
    DbSpecificTableFullSync,
    DbIncrementalSync,
    DbPartialSync,
    TableFullSync,
    TableIncrementalSync,
    TablePartialSync,
}

impl SyncState {
    pub fn name(self) -> &'static str {
        match self {
            SyncState::DbFullSync => "DBFullSync",
            SyncState::DbTablesIncrementalSync => "DBTablesIncrementalSync",
            SyncState::DbSpecificTableFullSync => "DBSpecificTableFullSync",
            SyncState::DbIncrementalSync => "DBIncrementalSync",
            SyncState::DbPartialSync => "DBPartialSync",
            SyncState::TableFullSync => "TableFullSync",
            SyncState::TableIncrementalSync => "TableIncrementalSync",
            SyncState::TablePartialSync => "TablePartialSync",
        }
    }

    pub fn is_full_sync(self) -> bool {
        matches!(
            self,
            SyncState::DbFullSync | SyncState::TableFullSync | SyncState::DbSpecificTableFullSync
        )
    }

    pub fn is_partial_sync(self) -> bool {
        matches!(self, SyncState::DbPartialSync | SyncState::TablePartialSync)
    }
}

impl From<SyncState> for i32 {
    fn from(value: SyncState) -> Self {
        match value {
            SyncState::DbFullSync => 0,
            SyncState::DbTablesIncrementalSync => 1,
            SyncState::DbSpecificTableFullSync => 2,
            SyncState::DbIncrementalSync => 3,
            SyncState::DbPartialSync => 4,
            SyncState::TableFullSync => 500,
            SyncState::TableIncrementalSync => 501,
            SyncState::TablePartialSync => 502,
        }
    }
}

impl TryFrom<i32> for SyncState {
    type Error = String;
    fn try_from(value: i32) -> Result<Self, Self::Error> {
        Ok(match value {
            0 => SyncState::DbFullSync,
            1 => SyncState::DbTablesIncrementalSync,
            2 => SyncState::DbSpecificTableFullSync,
            3 => SyncState::DbIncrementalSync,
            4 => SyncState::DbPartialSync,
            500 => SyncState::TableFullSync,
            501 => SyncState::TableIncrementalSync,
            502 => SyncState::TablePartialSync,
            other => return Err(format!("Unknown SyncState: {other}")),
        })
    }
}

/// The step inside a phase, as the reference numbers it; serialised as its
/// `{"state":n,"binlog_type":t}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "SubStateJson", try_from = "SubStateJson")]
pub enum SubSyncState {
    Done,
    BeginCreateSnapshot,
    GetSnapshotInfo,
    AddExtraInfo,
    RestoreSnapshot,
    PersistRestoreInfo,
    BeginTransaction,
    IngestBinlog,
    CommitTransaction,
    RollbackTransaction,
}

#[derive(Serialize, Deserialize)]
struct SubStateJson {
    state: i32,
    binlog_type: i32,
}

impl SubSyncState {
    pub fn name(self) -> &'static str {
        match self {
            SubSyncState::Done => "Done",
            SubSyncState::BeginCreateSnapshot => "BeginCreateSnapshot",
            SubSyncState::GetSnapshotInfo => "GetSnapshotInfo",
            SubSyncState::AddExtraInfo => "AddExtraInfo",
            SubSyncState::RestoreSnapshot => "RestoreSnapshot",
            SubSyncState::PersistRestoreInfo => "PersistRestoreInfo",
            SubSyncState::BeginTransaction => "BeginTransaction",
            SubSyncState::IngestBinlog => "IngestBinlog",
            SubSyncState::CommitTransaction => "CommitTransaction",
            SubSyncState::RollbackTransaction => "RollbackTransaction",
        }
    }

    fn numbers(self) -> (i32, i32) {
        match self {
            SubSyncState::Done => (-1, -1),
            SubSyncState::BeginCreateSnapshot => (0, -1),
            SubSyncState::GetSnapshotInfo => (1, -1),
            SubSyncState::AddExtraInfo => (2, -1),
            SubSyncState::RestoreSnapshot => (3, -1),
            SubSyncState::PersistRestoreInfo => (4, -1),
            SubSyncState::BeginTransaction => (11, 0),
            SubSyncState::IngestBinlog => (12, 0),
            SubSyncState::CommitTransaction => (13, 0),
            SubSyncState::RollbackTransaction => (14, 0),
        }
    }
}

impl From<SubSyncState> for SubStateJson {
    fn from(value: SubSyncState) -> Self {
        let (state, binlog_type) = value.numbers();
        SubStateJson { state, binlog_type }
    }
}

impl TryFrom<SubStateJson> for SubSyncState {
    type Error = String;
    fn try_from(value: SubStateJson) -> Result<Self, Self::Error> {
        Ok(match value.state {
            -1 => SubSyncState::Done,
            0 => SubSyncState::BeginCreateSnapshot,
            1 => SubSyncState::GetSnapshotInfo,
            2 => SubSyncState::AddExtraInfo,
            3 => SubSyncState::RestoreSnapshot,
            4 => SubSyncState::PersistRestoreInfo,
            11 => SubSyncState::BeginTransaction,
            12 => SubSyncState::IngestBinlog,
            13 => SubSyncState::CommitTransaction,
            14 => SubSyncState::RollbackTransaction,
            other => return Err(format!("unknown sub sync state {other}")),
        })
    }
}

/// The steps of a snapshot flow (full or partial sync), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotStep {
    /// Start the backup (its name checkpointed first), then wait for it.
    BeginCreateSnapshot,
    /// Read the snapshot and add the source BEs and token (memory only).
    GetSnapshotInfo,
    AddExtraInfo,
    /// Start the restore (its label checkpointed first), then wait for it.
    RestoreSnapshot,
    /// Swap aliases in, learn the target ids, switch to incremental sync.
    PersistRestoreInfo,
}

impl SnapshotStep {
    pub fn sub_state(self) -> SubSyncState {
        match self {
            SnapshotStep::BeginCreateSnapshot => SubSyncState::BeginCreateSnapshot,
            SnapshotStep::GetSnapshotInfo => SubSyncState::GetSnapshotInfo,
            SnapshotStep::AddExtraInfo => SubSyncState::AddExtraInfo,
            SnapshotStep::RestoreSnapshot => SubSyncState::RestoreSnapshot,
            SnapshotStep::PersistRestoreInfo => SubSyncState::PersistRestoreInfo,
        }
    }

    /// The step a persisted sub-state resumes at. A snapshot phase never persists a binlog
    /// sub-state; one found anyway (another syncer's record) starts the flow over.
    pub fn from_sub_state(sub: SubSyncState) -> Option<Self> {
        Some(match sub {
            SubSyncState::BeginCreateSnapshot => SnapshotStep::BeginCreateSnapshot,
            SubSyncState::GetSnapshotInfo => SnapshotStep::GetSnapshotInfo,
            SubSyncState::AddExtraInfo => SnapshotStep::AddExtraInfo,
            SubSyncState::RestoreSnapshot => SnapshotStep::RestoreSnapshot,
            SubSyncState::PersistRestoreInfo => SnapshotStep::PersistRestoreInfo,
            SubSyncState::Done
            | SubSyncState::BeginTransaction
            | SubSyncState::IngestBinlog
            | SubSyncState::CommitTransaction
            | SubSyncState::RollbackTransaction => return None,
        })
    }
}

/// What a snapshot flow checkpoints (the reference's `data` string holds it as JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotCheckpoint {
    #[serde(default)]
    pub snapshot_name: String,
    #[serde(default)]
    pub restore_label: String,
    /// Source commit seq the snapshot covers (the cut-over point; for a database full
    /// sync the lowest cut-over point of its tables).
    #[serde(default)]
    pub commit_seq: i64,
    /// Target name the table is restored under before being swapped in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Partial sync: the partitions to refresh (empty = the whole table).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<String>,
    /// Database partial sync: the source table's id.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub table_id: i64,
    /// Database partial sync: the table's source name when its backup started.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub src_table: String,
    /// Database partial sync: the table's target name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dest_table: String,
    /// Database full sync: target name → alias of tables restored under an alias because
    /// the target holds them with another schema.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aliases: BTreeMap<String, String>,
    /// Database full sync: name → source id of every table and view in the snapshot.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub objects: BTreeMap<String, i64>,
    /// Database syncs: source table id → cut-over commit seq of that table.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub table_commit_seq_map: BTreeMap<i64, i64>,
    /// Partial sync of some partitions: their source partition ids (the cut-over seq is
    /// `commit_seq`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_ids: Vec<i64>,
    /// Backups and restores of this flow that the cluster cancelled, in a row: the retry
    /// backoff and the needs-operator threshold count them across steps.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub failed_attempts: u32,
}

fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// A snapshot flow in progress: the step it is at and its checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotProgress {
    pub step: SnapshotStep,
    pub checkpoint: SnapshotCheckpoint,
}

impl SnapshotProgress {
    /// A flow about to take its backup.
    pub fn begin(checkpoint: SnapshotCheckpoint) -> Self {
        SnapshotProgress {
            step: SnapshotStep::BeginCreateSnapshot,
            checkpoint,
        }
    }
}

/// The phase of a job, with the data that phase needs to resume after a restart.
///
/// Table jobs: `TableFullSync → TableIncremental ⇄ TablePartialSync`. Database jobs:
/// `DbFullSync → DbTablesIncremental → DbIncremental`, with `DbPartialSync` of one table (or
/// some of its partitions) from either incremental phase, returning to
/// `DbTablesIncremental`. A one-time job (`mode: once`) ends in `Done` once its full sync
/// is restored; only a new full sync leaves it.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    TableFullSync(SnapshotProgress),
    TableIncremental,
    TablePartialSync(SnapshotProgress),
    DbFullSync(SnapshotProgress),
    /// Binlogs a table's snapshot already holds are skipped: `cut_points` maps source table
    /// id → the commit seq its snapshot covers.
    DbTablesIncremental {
        cut_points: BTreeMap<i64, i64>,
    },
    DbIncremental,
    /// `cut_points` are those of the incremental phase it interrupted (empty after
    /// `DbIncremental`); the finished snapshot adds its table's.
    DbPartialSync {
        snapshot: SnapshotProgress,
        cut_points: BTreeMap<i64, i64>,
    },
    /// Terminal: the one-time copy is on the target (up to `prev_commit_seq`) and the job
    /// takes no more steps. The reference has no such phase: the store keeps the
    /// incremental phase of the job's kind with our `done` key.
    Done {
        table_level: bool,
    },
}

/// What `/job_status` shows as `progress_state` of a [`Phase::Done`] job.
pub const DONE_STATE_NAME: &str = "Done";

impl Phase {
    /// The phase a new job starts in.
    pub fn first(table_level: bool) -> Self {
        let snapshot = SnapshotProgress::begin(SnapshotCheckpoint::default());
        if table_level {
            Phase::TableFullSync(snapshot)
        } else {
            Phase::DbFullSync(snapshot)
        }
    }

    /// The reference's number and name for this phase.
    pub fn state(&self) -> SyncState {
        match self {
            Phase::TableFullSync(_) => SyncState::TableFullSync,
            Phase::TableIncremental => SyncState::TableIncrementalSync,
            Phase::TablePartialSync(_) => SyncState::TablePartialSync,
            Phase::DbFullSync(_) => SyncState::DbFullSync,
            Phase::DbTablesIncremental { .. } => SyncState::DbTablesIncrementalSync,
            Phase::DbIncremental => SyncState::DbIncrementalSync,
            Phase::DbPartialSync { .. } => SyncState::DbPartialSync,
            Phase::Done { table_level: true } => SyncState::TableIncrementalSync,
            Phase::Done { table_level: false } => SyncState::DbIncrementalSync,
        }
    }

    /// The phase's name as `/job_status` shows it: the reference's, or `Done`.
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Done { .. } => DONE_STATE_NAME,
            _ => self.state().name(),
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self, Phase::Done { .. })
    }

    /// The reference's sub-state: the snapshot step, or `Done` while replaying binlogs (a
    /// binlog is applied within one step, so no binlog sub-state is ever persisted).
    pub fn sub_state(&self) -> SubSyncState {
        self.snapshot()
            .map_or(SubSyncState::Done, |snapshot| snapshot.step.sub_state())
    }

    pub fn is_table_level(&self) -> bool {
        matches!(
            self,
            Phase::TableFullSync(_)
                | Phase::TableIncremental
                | Phase::TablePartialSync(_)
                | Phase::Done { table_level: true }
        )
    }

    /// The snapshot flow of a full or partial sync phase.
    pub fn snapshot(&self) -> Option<&SnapshotProgress> {
        match self {
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

    /// The snapshot cut-over points binlogs are filtered by (database jobs).
    pub fn cut_points(&self) -> Option<&BTreeMap<i64, i64>> {
        match self {
            Phase::DbTablesIncremental { cut_points } => Some(cut_points),
            _ => None,
        }
    }
}

/// A job's progress: its phase and its cursor, plus what replay has learned.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub job_name: String,
    /// Private: only [`transitions`] changes the phase.
    phase: Phase,
    /// Last commit seq whose effects are durable on the target.
    pub prev_commit_seq: i64,
    /// Commit seq being handled (equals `prev_commit_seq` when idle).
    pub commit_seq: i64,
    /// Source table id → target table id (database jobs). Not phase data: it outlives
    /// phases, and a new full sync uses the old mapping to drop from the target what the job
    /// itself had put there.
    pub table_mapping: Option<BTreeMap<i64, i64>>,
    /// Source partition id → commit seq captured by a partial snapshot of some partitions:
    /// data binlogs of those partitions up to it are in the target already (other
    /// partitions of the table are not, so the table-level cut-over points cannot say it).
    pub partition_commit_seq_map: BTreeMap<i64, i64>,
    /// Target table id of a table job, learned after its restore.
    pub dest_table_id: i64,
    /// Shadow index id → origin index id of schema changes running on the source; upserts
    /// into shadow indexes are not replayed (the target has no such index).
    pub shadow_index_map: BTreeMap<i64, i64>,
    /// Record types met and skipped because this build cannot replay them, with the last
    /// commit seq of each: shown in `/job_status` so no divergence is silent.
    pub unsupported_binlogs: BTreeMap<String, i64>,
    /// The job record's `fullsync_requests` count this progress has acted on.
    pub fullsync_requests_done: u64,
    /// The job record's `partialsync_request` serial this progress has acted on.
    pub partialsync_requests_done: u64,
    pub created_at: i64,
    pub full_sync_start_at: i64,
    /// Why the last full sync started (a new job, the operator, purged binlogs ...): shown
    /// by `/view` beside its time.
    pub full_sync_reason: String,
    pub incremental_sync_start_at: i64,
    pub ingest_binlog_at: i64,
}

impl Progress {
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Source partition ids of `partitions` whose binlog `seq` a partial snapshot already
    /// put on the target.
    pub fn partitions_covered(&self, partitions: &[i64], seq: i64) -> Vec<i64> {
        partitions
            .iter()
            .copied()
            .filter(|id| {
                self.partition_commit_seq_map
                    .get(id)
                    .is_some_and(|cut| seq <= *cut)
            })
            .collect()
    }

    /// Forgets partition cut-over points the cursor has passed.
    pub fn prune_partition_cut_points(&mut self) {
        let cursor = self.prev_commit_seq;
        self.partition_commit_seq_map.retain(|_, cut| *cut > cursor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_numbers_round_trip() {
        for n in [0, 1, 2, 3, 4, 500, 501, 502] {
            let s = SyncState::try_from(n).unwrap();
            assert_eq!(i32::from(s), n);
        }
        assert_eq!(SyncState::try_from(7).unwrap_err(), "Unknown SyncState: 7");
        for s in [
            SubSyncState::Done,
            SubSyncState::IngestBinlog,
            SubSyncState::RestoreSnapshot,
        ] {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<SubSyncState>(&json).unwrap(), s);
        }
        assert_eq!(
            serde_json::to_string(&SubSyncState::IngestBinlog).unwrap(),
            r#"{"state":12,"binlog_type":0}"#
        );
    }

    #[test]
    fn snapshot_steps_map_to_their_sub_states_and_back() {
        for step in [
            SnapshotStep::BeginCreateSnapshot,
            SnapshotStep::GetSnapshotInfo,
            SnapshotStep::AddExtraInfo,
            SnapshotStep::RestoreSnapshot,
            SnapshotStep::PersistRestoreInfo,
        ] {
            assert_eq!(SnapshotStep::from_sub_state(step.sub_state()), Some(step));
        }
        assert_eq!(
            SnapshotStep::from_sub_state(SubSyncState::IngestBinlog),
            None
        );
    }
}
