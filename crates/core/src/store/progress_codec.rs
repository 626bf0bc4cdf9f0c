//! The one place a job's [`Progress`] becomes JSON and back.
//!
//! The JSON (`progresses.progress`, answered by `/job_progress`) keeps the reference
//! syncer's keys and numbers — `sync_state`, `sub_sync_state`, `data` (the snapshot
//! checkpoint as a JSON string), `table_commit_seq_map` — so operators and tools see the
//! same document. The [`Phase`] with its data is spread over those keys here and gathered
//! again on reading.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::progress::{
    Phase, Progress, SnapshotCheckpoint, SnapshotProgress, SnapshotStep, SubSyncState, SyncState,
};

/// A stored progress that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ProgressDecodeError {
    #[error("invalid progress JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid snapshot checkpoint in `data`: {0}")]
    Checkpoint(serde_json::Error),
}

/// The reference's document, key for key and in its order.
#[derive(Serialize, Deserialize)]
struct ProgressJson {
    job_name: String,
    sync_state: SyncState,
    sub_sync_state: SubSyncState,
    prev_commit_seq: i64,
    commit_seq: i64,
    #[serde(default)]
    table_mapping: Option<BTreeMap<i64, i64>>,
    #[serde(default)]
    table_commit_seq_map: Option<BTreeMap<i64, i64>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    partition_commit_seq_map: BTreeMap<i64, i64>,
    #[serde(default)]
    data: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    dest_table_id: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    shadow_index_map: BTreeMap<i64, i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    unsupported_binlogs: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    fullsync_requests_done: u64,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    partialsync_requests_done: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    created_at: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    full_sync_start_at: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    full_sync_reason: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    incremental_sync_start_at: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    ingest_binlog_at: i64,
    /// Ours: a one-time job whose copy is finished (`sync_state` is then the incremental
    /// phase of its kind, so a reference syncer reading it would replicate on from there).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    done: bool,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

/// The stored JSON of `progress`.
pub fn encode(progress: &Progress) -> String {
    let phase = progress.phase();
    let data = match phase.snapshot() {
        Some(snapshot) if snapshot.checkpoint != SnapshotCheckpoint::default() => {
            serde_json::to_string(&snapshot.checkpoint).expect("checkpoint serialises")
        }
        _ => String::new(),
    };
    let table_commit_seq_map = match phase {
        Phase::DbTablesIncremental { cut_points } => Some(cut_points.clone()),
        Phase::DbPartialSync { cut_points, .. } if !cut_points.is_empty() => {
            Some(cut_points.clone())
        }
        _ => None,
    };
    let json = ProgressJson {
        job_name: progress.job_name.clone(),
        sync_state: phase.state(),
        sub_sync_state: phase.sub_state(),
        prev_commit_seq: progress.prev_commit_seq,
        commit_seq: progress.commit_seq,
        table_mapping: progress.table_mapping.clone(),
        table_commit_seq_map,
        partition_commit_seq_map: progress.partition_commit_seq_map.clone(),
        data,
        dest_table_id: progress.dest_table_id,
        shadow_index_map: progress.shadow_index_map.clone(),
        unsupported_binlogs: progress.unsupported_binlogs.clone(),
        fullsync_requests_done: progress.fullsync_requests_done,
        partialsync_requests_done: progress.partialsync_requests_done,
        created_at: progress.created_at,
        full_sync_start_at: progress.full_sync_start_at,
        full_sync_reason: progress.full_sync_reason.clone(),
        incremental_sync_start_at: progress.incremental_sync_start_at,
        ingest_binlog_at: progress.ingest_binlog_at,
        done: phase.is_done(),
    };
    serde_json::to_string(&json).expect("progress serialises")
}

/// Reads a stored progress (ours, or the reference syncer's).
pub fn decode(text: &str) -> Result<Progress, ProgressDecodeError> {
    let json: ProgressJson = serde_json::from_str(text)?;
    let snapshot = || -> Result<SnapshotProgress, ProgressDecodeError> {
        let mut checkpoint: SnapshotCheckpoint = if json.data.trim().is_empty() {
            SnapshotCheckpoint::default()
        } else {
            serde_json::from_str(&json.data).map_err(ProgressDecodeError::Checkpoint)?
        };
        let step = match SnapshotStep::from_sub_state(json.sub_sync_state) {
            Some(step) => step,
            None => {
                // A binlog sub-state in a snapshot phase: start the flow over.
                checkpoint.snapshot_name.clear();
                checkpoint.restore_label.clear();
                SnapshotStep::BeginCreateSnapshot
            }
        };
        Ok(SnapshotProgress { step, checkpoint })
    };
    let cut_points = || json.table_commit_seq_map.clone().unwrap_or_default();
    let phase = match json.sync_state {
        state if json.done => Phase::Done {
            table_level: matches!(
                state,
                SyncState::TableFullSync
                    | SyncState::TableIncrementalSync
                    | SyncState::TablePartialSync
            ),
        },
        SyncState::TableFullSync => Phase::TableFullSync(snapshot()?),
        SyncState::TableIncrementalSync => Phase::TableIncremental,
        SyncState::TablePartialSync => Phase::TablePartialSync(snapshot()?),
        SyncState::DbFullSync => Phase::DbFullSync(snapshot()?),
        // The reference's full sync of one table of a database: this syncer never enters
        // it; a full sync of the database gives a defined starting point.
        SyncState::DbSpecificTableFullSync => Phase::first(false),
        SyncState::DbTablesIncrementalSync => Phase::DbTablesIncremental {
            cut_points: cut_points(),
        },
        SyncState::DbIncrementalSync => Phase::DbIncremental,
        SyncState::DbPartialSync => Phase::DbPartialSync {
            snapshot: snapshot()?,
            cut_points: cut_points(),
        },
    };
    let mut progress = Progress::new_full_sync(&json.job_name, true, 0).with_phase(phase);
    progress.prev_commit_seq = json.prev_commit_seq;
    progress.commit_seq = json.commit_seq;
    progress.table_mapping = json.table_mapping;
    progress.partition_commit_seq_map = json.partition_commit_seq_map;
    progress.dest_table_id = json.dest_table_id;
    progress.shadow_index_map = json.shadow_index_map;
    progress.unsupported_binlogs = json.unsupported_binlogs;
    progress.fullsync_requests_done = json.fullsync_requests_done;
    progress.partialsync_requests_done = json.partialsync_requests_done;
    progress.created_at = json.created_at;
    progress.full_sync_start_at = json.full_sync_start_at;
    progress.full_sync_reason = json.full_sync_reason;
    progress.incremental_sync_start_at = json.incremental_sync_start_at;
    progress.ingest_binlog_at = json.ingest_binlog_at;
    Ok(progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_idle_example_round_trips_byte_for_byte() {
        let text = r#"{"job_name":"orders_dr","sync_state":501,"sub_sync_state":{"state":-1,"binlog_type":-1},"prev_commit_seq":40348,"commit_seq":40348,"table_mapping":null,"table_commit_seq_map":null,"data":"","created_at":1729750000,"full_sync_start_at":1729750000,"incremental_sync_start_at":1729750123}"#;
        let progress = decode(text).unwrap();
        assert_eq!(progress.phase(), &Phase::TableIncremental);
        assert_eq!(progress.prev_commit_seq, 40348);
        assert_eq!(encode(&progress), text);
    }

    #[test]
    fn a_done_job_is_stored_as_its_incremental_phase_with_the_done_key() {
        let progress =
            Progress::new_full_sync("j", true, 1).with_phase(Phase::Done { table_level: true });
        let text = encode(&progress);
        assert!(text.contains(r#""sync_state":501"#), "{text}");
        assert!(text.ends_with(r#""done":true}"#), "{text}");
    }

    #[test]
    fn a_new_job_stores_an_empty_checkpoint() {
        let text = encode(&Progress::new_full_sync("j", false, 5));
        assert!(text.contains(r#""sync_state":0"#), "{text}");
        assert!(text.contains(r#""sub_sync_state":{"state":0,"binlog_type":-1}"#));
        assert!(text.contains(r#""data":"""#), "{text}");
    }

    #[test]
    fn phases_with_data_round_trip() {
        let checkpoint = SnapshotCheckpoint {
            snapshot_name: "ccrp_db_t_1".into(),
            table_id: 7,
            partitions: vec!["p1".into()],
            ..Default::default()
        };
        let phases = [
            Phase::TableFullSync(SnapshotProgress {
                step: SnapshotStep::RestoreSnapshot,
                checkpoint: checkpoint.clone(),
            }),
            Phase::TablePartialSync(SnapshotProgress::begin(checkpoint.clone())),
            Phase::DbFullSync(SnapshotProgress {
                step: SnapshotStep::PersistRestoreInfo,
                checkpoint: checkpoint.clone(),
            }),
            Phase::DbTablesIncremental {
                cut_points: BTreeMap::from([(1, 10)]),
            },
            Phase::DbIncremental,
            Phase::DbPartialSync {
                snapshot: SnapshotProgress::begin(checkpoint.clone()),
                cut_points: BTreeMap::from([(3, 30)]),
            },
            Phase::DbPartialSync {
                snapshot: SnapshotProgress::begin(checkpoint),
                cut_points: BTreeMap::new(),
            },
            Phase::Done { table_level: true },
            Phase::Done { table_level: false },
        ];
        for phase in phases {
            let progress = Progress::new_full_sync("j", false, 1).with_phase(phase.clone());
            assert_eq!(decode(&encode(&progress)).unwrap().phase(), &phase);
        }
    }

    #[test]
    fn a_binlog_sub_state_in_a_snapshot_phase_starts_the_flow_over() {
        let text = r#"{"job_name":"j","sync_state":500,"sub_sync_state":{"state":12,"binlog_type":0},"prev_commit_seq":3,"commit_seq":3,"data":"{\"snapshot_name\":\"s\",\"restore_label\":\"r\",\"commit_seq\":3}"}"#;
        let progress = decode(text).unwrap();
        let snapshot = progress.phase().snapshot().unwrap();
        assert_eq!(snapshot.step, SnapshotStep::BeginCreateSnapshot);
        assert!(snapshot.checkpoint.snapshot_name.is_empty());
        assert_eq!(snapshot.checkpoint.commit_seq, 3);
    }

    #[test]
    fn an_unreadable_checkpoint_is_an_error() {
        let text = r#"{"job_name":"j","sync_state":500,"sub_sync_state":{"state":0,"binlog_type":-1},"prev_commit_seq":0,"commit_seq":0,"data":"{oops"}"#;
        assert!(matches!(
            decode(text),
            Err(ProgressDecodeError::Checkpoint(_))
        ));
    }
}
