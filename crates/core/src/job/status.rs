//! What `/job_status` shows of a job: the snapshot its task publishes after every step.

use serde::Serialize;

use super::spec::JobInfo;
use super::verify::VerifySummary;
use crate::progress::Phase;

/// What `/job_status` shows: a snapshot the task publishes after every change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobStatus {
    pub name: String,
    /// `running` or `paused`, as the operator set it.
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
    /// Set while the job holds without an error of its own: what it waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<&'static str>,
    /// The outcome of the last verification (`/verify` or `--verify_interval`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_verification: Option<LastVerification>,
    /// A database job of a whole-cluster job: the name of that job.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub parent_job: String,
    /// A whole-cluster job: its database jobs and what its watcher found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterJobStatus>,
}

/// What `/job_status` shows of a whole-cluster job besides its run state.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ClusterJobStatus {
    pub summary: ClusterSummary,
    /// One entry per database job, by source database.
    pub databases: Vec<DatabaseJobStatus>,
    /// Admitted source databases that have no database job yet, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingDatabase>,
    /// Source databases dropped while the job replicated them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dropped_on_source: Vec<DroppedDatabase>,
    /// Databases the source cluster had at the last look, system ones excluded.
    pub source_databases: usize,
    /// When the watcher last listed the source databases (UTC; empty before its first look).
    pub last_watch_time: String,
    /// Why the last look failed, until one succeeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_watch_error: Option<String>,
}

/// The database jobs of a whole-cluster job, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClusterSummary {
    pub databases: usize,
    /// Running without an error.
    pub running: usize,
    pub paused: usize,
    /// With an error, needing an operator, or with the source database gone.
    pub failing: usize,
    /// Sum over the database jobs.
    pub lag_binlogs: i64,
    /// The largest of the database jobs.
    pub lag_seconds: i64,
}

/// One database job of a whole-cluster job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DatabaseJobStatus {
    pub source_database: String,
    pub target_database: String,
    pub job: String,
    /// The syncer that runs it.
    pub owner: String,
    /// The source database is gone (the job keeps its target database).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub source_dropped: bool,
    pub state: &'static str,
    /// Empty when another syncer runs the job.
    pub progress_state: &'static str,
    pub prev_commit_seq: i64,
    pub lag_binlogs: i64,
    pub lag_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub needs_operator: bool,
}

/// An admitted source database the whole-cluster job could not start a database job for
/// yet (it tries again at every look).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PendingDatabase {
    pub source_database: String,
    pub target_database: String,
    pub reason: String,
}

/// A source database dropped while a whole-cluster job replicated it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DroppedDatabase {
    pub source_database: String,
    pub target_database: String,
    pub job: String,
    /// `drop_target_databases`: the target database and the database job were dropped.
    pub target_dropped: bool,
    /// When the job found out (UTC).
    pub since: String,
}

/// `last_verification` of `/job_status`: the summary of the last verification and when it
/// ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LastVerification {
    /// When it ended (UTC).
    pub time: String,
    #[serde(flatten)]
    pub summary: VerifySummary,
    /// The tables found different (source names).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mismatched_tables: Vec<String>,
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
            last_verification: None,
            parent_job: info.parent_job.clone(),
            cluster: info.is_cluster_job().then(ClusterJobStatus::default),
        }
    }
}
