//! What one job's steps work with: its record, both clusters, its progress store, the
//! syncer's settings and clock, its metrics and status cell, and the operator's commands.
//!
//! Everything here is behind a trait or plain data, so the state machine runs the same
//! against Doris and against the in-memory fakes of [`super::fake`].

use std::sync::Arc;

use tokio::sync::watch;

use super::clock::Clock;
use super::cluster::{SourceCluster, TargetCluster};
use super::error::JobError;
use super::lease::Lease;
use super::settings::JobSettings;
use super::snapshot_slots::{SlotKey, SnapshotSlots};
use super::source_watch::SourceWatch;
use super::spec::{JobInfo, RunState, SyncType};
use super::status::JobStatus;
use crate::metrics::JobMetrics;
use crate::progress::Progress;
use crate::store::ProgressStore;
/// What the manager tells a job's task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobControl {
    pub run_state: RunState,
    pub skip_error: bool,
    pub fullsync_requests: u64,
    pub skip_commit_seq: i64,
    pub partialsync_request: Option<super::spec::PartialSyncRequest>,
    /// Set when the job is deleted, handed to another syncer, or the process stops.
    pub stop: bool,
}

impl JobControl {
    pub fn from_info(info: &JobInfo) -> Self {
        JobControl {
            run_state: info.state,
            skip_error: info.skip_error,
            fullsync_requests: info.fullsync_requests,
            skip_commit_seq: info.skip_commit_seq,
            partialsync_request: info.partialsync_request.clone(),
            stop: false,
        }
    }

    /// Takes the operator-controlled fields of `other`, keeping `stop`.
    pub fn apply(&mut self, other: &JobControl) {
        let stop = self.stop;
        *self = other.clone();
        self.stop = stop;
    }
}

/// What a successful step reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Work was done; take the next step at once.
    Progressed,
    /// Nothing to do now (a backup or restore still running, no room on the target): ask
    /// again after the idle poll interval.
    Idle,
    /// The source has nothing after the cursor: wait for news of it (the source watcher's
    /// wake-up; the idle poll interval while no watcher serves the job).
    CaughtUp,
    /// Nothing to do until the operator asks for something (a one-time job that is done):
    /// wait for a command, polling nothing.
    Finished,
}

/// Everything one job's task owns.
pub struct JobContext {
    pub name: String,
    pub info: JobInfo,
    pub source: Arc<dyn SourceCluster>,
    pub target: Arc<dyn TargetCluster>,
    pub store: Arc<dyn ProgressStore>,
    pub settings: Arc<JobSettings>,
    pub clock: Arc<dyn Clock>,
    /// This syncer's lease; `target` withholds writes while it is not held.
    pub lease: Arc<Lease>,
    pub metrics: Arc<JobMetrics>,
    pub status: Arc<parking_lot::Mutex<JobStatus>>,
    pub control: watch::Receiver<JobControl>,
    /// The watcher of the source database that wakes the job when it is caught up.
    pub source_watch: SourceWatch,
    /// The syncer's snapshot coordinator: backups queue (and are batched) per source
    /// database, restores per target database.
    pub snapshot_slots: Arc<SnapshotSlots>,
}

impl JobContext {
    pub fn is_table_job(&self) -> bool {
        self.info.sync_type == SyncType::Table
    }

    /// The source database, as the snapshot coordinator knows it.
    pub fn source_slot(&self) -> SlotKey {
        let src = &self.info.src;
        SlotKey::new(&src.host, &src.port, &src.database)
    }

    /// The target database, as the snapshot coordinator knows it.
    pub fn target_slot(&self) -> SlotKey {
        let dest = &self.info.dest;
        SlotKey::new(&dest.host, &dest.port, &dest.database)
    }

    pub fn now_secs(&self) -> i64 {
        self.clock.now_secs()
    }

    /// Publishes the job's lag as just measured, to its gauges and its status.
    pub fn record_lag(&self, binlogs: i64, seconds: i64) {
        self.metrics.record_lag(binlogs, seconds);
        let mut status = self.status.lock();
        status.lag_binlogs = binlogs.max(0);
        status.lag_seconds = seconds.max(0);
    }

    /// Persists `progress` (one durable, fenced write).
    pub async fn save(&self, progress: &Progress) -> Result<(), JobError> {
        self.store.save(&self.name, progress).await?;
        self.metrics.metadata_writes.inc();
        Ok(())
    }

    /// The saved progress, or the first progress of a job that has never run (saved).
    pub async fn load_progress(&self) -> Result<Progress, JobError> {
        if let Some(progress) = self.store.load(&self.name).await? {
            return Ok(progress);
        }
        let progress = Progress::new_full_sync(&self.name, self.is_table_job(), self.now_secs());
        self.store.create(&self.name, &progress).await?;
        Ok(progress)
    }
}
