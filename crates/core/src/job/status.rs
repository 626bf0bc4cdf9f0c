//! What `/job_status` shows of a job: the snapshot its task publishes after every step.

use serde::Serialize;

use super::spec::JobInfo;
use crate::progress::Phase;

/// What `/job_status` shows: a snapshot the task publishes after every change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobStatus {
    pub name: String,
    /// `running` or `paused`, as the operator set it; `done` once a one-time job
    /// (`mode: once`) has finished its copy.
    pub state: &'static str,
    /// The phase (`TableFullSync`, `DBIncrementalSync`, ...).
    pub progress_state: &'static str,
    /// The step inside the phase.
    pub sub_state: &'static str,
    pub prev_commit_seq: i64,
    pub commit_seq: i64,
    /// Source binlogs not yet applied and the seconds of source time they span, as the job
    /// last measured them (every few seconds while it replays; 0 when caught up).
    pub lag_binlogs: i64,
    pub lag_seconds: i64,
    /// When the last full sync started (UTC) and why.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_full_sync_time: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_full_sync_reason: String,
    /// The last failure, until a step succeeds again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_time: Option<String>,
    /// Failed steps in a row.
    pub consecutive_failures: u32,
    /// The commit seq of the binlog the job fails on, until a step succeeds again: the one
    /// `/job_skip_binlog` with `skip_by: silence` may skip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_commit_seq: Option<i64>,
    /// Binlogs skipped (unsupported, or failed with skip_error), each with the last commit
    /// seq it happened at: the target may differ from the source there.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub skipped_binlogs: std::collections::BTreeMap<String, i64>,
    /// Set while the job cannot go on by itself; cleared by the next successful step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_operator: Option<NeedsOperator>,
    /// Set while the job holds without an error of its own: what it waits for (the
    /// metadata store, or room on the target's disks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
}

/// Why a job waits for an operator, and what the operator can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NeedsOperator {
    pub reason: String,
    pub hint: &'static str,
    /// When the job entered this state (UTC).
    pub since: String,
}

impl JobStatus {
    pub fn starting(info: &JobInfo) -> Self {
        let initial = Phase::first(info.sync_type == super::spec::SyncType::Table);
        JobStatus {
            name: info.name.clone(),
            state: info.state.as_str(),
            progress_state: initial.state().name(),
            sub_state: initial.sub_state().name(),
            prev_commit_seq: 0,
            commit_seq: 0,
            lag_binlogs: 0,
            lag_seconds: 0,
            last_full_sync_time: String::new(),
            last_full_sync_reason: String::new(),
            last_error: None,
            last_error_time: None,
            consecutive_failures: 0,
            failing_commit_seq: None,
            skipped_binlogs: Default::default(),
            needs_operator: None,
            waiting_for: None,
        }
    }
}
