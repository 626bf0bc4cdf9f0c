//! A job's persisted position: which phase it is in and which binlog it has applied.
//!
//! The JSON (`progresses.progress`) follows the reference syncer's keys, so the
//! `/job_progress` answer looks the same to operators.

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

/// The step inside a phase; serialised as the reference's `{"state":n,"binlog_type":t}`.
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

/// The persisted progress record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub job_name: String,
    pub sync_state: SyncState,
    pub sub_sync_state: SubSyncState,
    /// Last commit seq whose effects are durable on the target.
    pub prev_commit_seq: i64,
    /// Commit seq being handled (equals `prev_commit_seq` when idle).
    pub commit_seq: i64,
    /// Source table id → target table id (database jobs).
    #[serde(default)]
    pub table_mapping: Option<BTreeMap<i64, i64>>,
    /// Source table id → commit seq captured by the last snapshot (database jobs).
    #[serde(default)]
    pub table_commit_seq_map: Option<BTreeMap<i64, i64>>,
    /// Source partition id → commit seq captured by a partial snapshot of some partitions:
    /// data binlogs of those partitions up to it are in the target already (other
    /// partitions of the table are not, so the table-level map cannot say it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partition_commit_seq_map: BTreeMap<i64, i64>,
    /// Checkpoint payload of the current sub-state (snapshot name, restore label, or JSON).
    #[serde(default)]
    pub data: String,
    /// Target table id of a table job, learned after its restore.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dest_table_id: i64,
    /// Shadow index id → origin index id of schema changes running on the source; upserts
    /// into shadow indexes are not replayed (the target has no such index).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shadow_index_map: BTreeMap<i64, i64>,
    /// Record types met and skipped because this build cannot replay them, with the last
    /// commit seq of each: shown in `/job_status` so no divergence is silent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unsupported_binlogs: BTreeMap<String, i64>,
    /// The job record's `fullsync_requests` count this progress has acted on.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub fullsync_requests_done: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub full_sync_start_at: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub incremental_sync_start_at: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ingest_binlog_at: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

impl Progress {
    /// The progress of a job that has never run: a full sync from the beginning.
    pub fn new_full_sync(job_name: &str, table_level: bool, now_unix: i64) -> Self {
        Progress {
            job_name: job_name.to_owned(),
            sync_state: if table_level {
                SyncState::TableFullSync
            } else {
                SyncState::DbFullSync
            },
            sub_sync_state: SubSyncState::BeginCreateSnapshot,
            prev_commit_seq: 0,
            commit_seq: 0,
            table_mapping: None,
            table_commit_seq_map: None,
            partition_commit_seq_map: BTreeMap::new(),
            data: String::new(),
            dest_table_id: 0,
            shadow_index_map: BTreeMap::new(),
            unsupported_binlogs: BTreeMap::new(),
            fullsync_requests_done: 0,
            created_at: now_unix,
            full_sync_start_at: now_unix,
            incremental_sync_start_at: 0,
            ingest_binlog_at: 0,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("progress serialises")
    }

    /// Starts a full sync from scratch (keeping the cursor for the record).
    pub fn restart_full_sync(&mut self, table_level: bool, now_unix: i64) {
        self.sync_state = if table_level {
            SyncState::TableFullSync
        } else {
            SyncState::DbFullSync
        };
        self.sub_sync_state = SubSyncState::BeginCreateSnapshot;
        self.commit_seq = self.prev_commit_seq;
        self.data.clear();
        self.full_sync_start_at = now_unix;
        self.incremental_sync_start_at = 0;
        self.ingest_binlog_at = 0;
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

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_idle_example_parses() {
        let text = r#"{"job_name":"orders_dr","sync_state":501,"sub_sync_state":{"state":-1,"binlog_type":-1},"prev_commit_seq":40348,"commit_seq":40348,"table_mapping":null,"table_commit_seq_map":null,"data":"","created_at":1729750000,"full_sync_start_at":1729750000,"incremental_sync_start_at":1729750123}"#;
        let p = Progress::from_json(text).unwrap();
        assert_eq!(p.sync_state, SyncState::TableIncrementalSync);
        assert_eq!(p.sub_sync_state, SubSyncState::Done);
        assert_eq!(p.prev_commit_seq, 40348);
        assert_eq!(p.to_json(), text);
    }

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
}
