//! What `/job_status` shows of a job: the snapshot its task publishes after every step.

use serde::Serialize;

use super::spec::{JobInfo, RunState, SyncType};
use super::verify::VerifySummary;
use crate::progress::Phase;

/// What `/job_status` shows as `state` of a one-time job whose copy is finished.
pub const DONE_STATE: &str = "done";

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
    /// Tables (and views) the job replicates: 1 for a table job; for a database job those
    /// its last full sync restored (before that, those of the snapshot under way).
    pub tables: usize,
    /// Source binlogs not yet applied and the seconds of source time they span, as the job
    /// last measured them (every few seconds while it replays; 0 when caught up).
    pub lag_binlogs: i64,
    pub lag_seconds: i64,
    /// When the last full sync started (UTC) and why.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_full_sync_time: String,
    /// The Unix second `last_full_sync_time` shows, so it is formatted only when it moves.
    #[serde(skip)]
    pub last_full_sync_at: i64,
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
            tables: usize::from(info.sync_type == super::spec::SyncType::Table),
            lag_binlogs: 0,
            lag_seconds: 0,
            last_full_sync_time: String::new(),
            last_full_sync_at: 0,
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

/// What a job is doing, as the progress report counts jobs: each job is in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobActivity {
    /// A one-time job whose copy is finished.
    Done,
    Paused,
    /// Cannot go on by itself (`needs_operator`).
    NeedsOperator,
    /// Its last step failed; it retries.
    Failing,
    Running,
}

/// What a job's tables are doing, as the progress report counts tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TablesActivity {
    /// Kept in sync: the job replays binlogs (incremental sync).
    Synced,
    /// Being copied: the job is in a full or partial sync.
    BeingSynced,
    /// Held: the job waits for something other than an operator (room on the target's
    /// disks, the metadata store), or is paused.
    Waiting,
    /// Copied once: a one-time job that is done.
    Copied,
}

impl JobStatus {
    pub fn activity(&self) -> JobActivity {
        if self.state == DONE_STATE {
            JobActivity::Done
        } else if self.state == RunState::Paused.as_str() {
            JobActivity::Paused
        } else if self.needs_operator.is_some() {
            JobActivity::NeedsOperator
        } else if self.last_error.is_some() {
            JobActivity::Failing
        } else {
            JobActivity::Running
        }
    }

    pub fn tables_activity(&self) -> TablesActivity {
        if self.state == DONE_STATE {
            TablesActivity::Copied
        } else if self.waiting_for.is_some() || self.state == RunState::Paused.as_str() {
            TablesActivity::Waiting
        } else if self.progress_state.contains("FullSync")
            || self.progress_state.contains("PartialSync")
        {
            TablesActivity::BeingSynced
        } else {
            TablesActivity::Synced
        }
    }

    /// One human-readable line (`/job_progress` `summary`): `table job, incremental sync,
    /// 1 table synced, lag 0 binlogs (0 s), last full sync 2026-12-03 09:00:00 (the job
    /// was created)`.
    pub fn summary(&self, sync_type: SyncType) -> String {
        let kind = match sync_type {
            SyncType::Table => "table job",
            SyncType::Database => "database job",
        };
        let phase = if self.state == DONE_STATE {
            format!(
                "done (one-time copy up to commit seq {})",
                self.prev_commit_seq
            )
        } else if self.progress_state.contains("FullSync") {
            "full sync".to_owned()
        } else if self.progress_state.contains("PartialSync") {
            "partial sync".to_owned()
        } else {
            "incremental sync".to_owned()
        };
        let noun = if self.tables == 1 { "table" } else { "tables" };
        let doing = match self.tables_activity() {
            TablesActivity::Synced => "synced",
            TablesActivity::BeingSynced => "being synced",
            TablesActivity::Waiting => "waiting",
            TablesActivity::Copied => "copied",
        };
        let mut line = format!("{kind}, {phase}");
        if self.state == RunState::Paused.as_str() {
            line.push_str(", paused");
        }
        line.push_str(&format!(", {} {noun} {doing}", self.tables));
        if self.state != DONE_STATE {
            line.push_str(&format!(
                ", lag {} binlogs ({} s)",
                self.lag_binlogs, self.lag_seconds
            ));
        }
        if !self.last_full_sync_time.is_empty() {
            line.push_str(&format!(", last full sync {}", self.last_full_sync_time));
            if !self.last_full_sync_reason.is_empty() {
                line.push_str(&format!(" ({})", self.last_full_sync_reason));
            }
        }
        if let Some(waiting) = &self.waiting_for {
            line.push_str(&format!(", waiting for {waiting}"));
        }
        match (&self.needs_operator, &self.last_error) {
            (Some(n), _) => line.push_str(&format!(", needs an operator: {}", n.reason)),
            (None, Some(error)) => line.push_str(&format!(", failing: {error}")),
            (None, None) => {}
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> JobStatus {
        let info =
            JobInfo::from_stored_json(r#"{"sync_type":1,"name":"j","src":{},"dest":{},"state":0}"#)
                .unwrap();
        let mut status = JobStatus::starting(&info);
        status.progress_state = "TableIncrementalSync";
        status.last_full_sync_time = "2026-12-03 09:00:00".into();
        status.last_full_sync_reason = "the job was created".into();
        status
    }

    #[test]
    fn the_summary_says_kind_phase_tables_lag_and_last_full_sync() {
        let mut s = status();
        assert_eq!(
            s.summary(SyncType::Table),
            "table job, incremental sync, 1 table synced, lag 0 binlogs (0 s), last full sync \
             2026-12-03 09:00:00 (the job was created)"
        );
        s.tables = 3;
        s.progress_state = "DBFullSync";
        s.waiting_for = Some("disk space on the target".into());
        assert_eq!(
            s.summary(SyncType::Database),
            "database job, full sync, 3 tables waiting, lag 0 binlogs (0 s), last full sync \
             2026-12-03 09:00:00 (the job was created), waiting for disk space on the target"
        );
        assert_eq!(s.activity(), JobActivity::Running);
        s.waiting_for = None;
        assert_eq!(s.tables_activity(), TablesActivity::BeingSynced);
        s.state = DONE_STATE;
        s.prev_commit_seq = 42;
        assert_eq!(
            s.summary(SyncType::Database),
            "database job, done (one-time copy up to commit seq 42), 3 tables copied, last full \
             sync 2026-12-03 09:00:00 (the job was created)"
        );
        assert_eq!(s.activity(), JobActivity::Done);
    }
}
