//! One job's task: load its progress, then take sync steps until told to stop.
//!
//! Operator commands arrive through a `watch` channel and are honoured between steps, never
//! in the middle of one. Failures are retried with capped exponential backoff and shown in
//! the job's status; the task never exits on an error.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::error::{decide, FailureContext, JobError, Remedy, RETRY_BACKOFF_MAX};
use super::manager::{now_secs, JobSettings};
use super::progress::Progress;
use super::spec::{JobInfo, RunState, SyncType};
use super::sync::{self, SyncCache};
use crate::metrics::JobMetrics;
use crate::store::MetaStore;
use ccr_doris::cluster::DorisCluster;

/// The first idle wait after a step that did work; it doubles up to the configured idle
/// poll interval while nothing new arrives.
const IDLE_POLL_FIRST: Duration = Duration::from_millis(20);

/// What the manager tells a job's task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobControl {
    pub run_state: RunState,
    pub skip_error: bool,
    pub fullsync_requests: u64,
    /// Set when the job is deleted, handed to another syncer, or the process stops.
    pub stop: bool,
}

impl JobControl {
    pub fn from_info(info: &JobInfo) -> Self {
        JobControl {
            run_state: info.state,
            skip_error: info.skip_error,
            fullsync_requests: info.fullsync_requests,
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

/// What `/job_status` shows: a snapshot the task publishes after every change.
#[derive(Debug, Clone, Serialize)]
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
    /// The last failure, until a step succeeds again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_time: Option<String>,
    /// Failed steps in a row.
    pub consecutive_failures: u32,
    /// Binlogs skipped (unsupported, or failed with skip_error), each with the last commit
    /// seq it happened at: the target may differ from the source there.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub skipped_binlogs: std::collections::BTreeMap<String, i64>,
    /// Set while the job cannot go on by itself; cleared by the next successful step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_operator: Option<NeedsOperator>,
}

/// Why a job waits for an operator, and what the operator can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeedsOperator {
    pub reason: String,
    pub hint: &'static str,
    /// When the job entered this state (UTC).
    pub since: String,
}

impl JobStatus {
    pub fn starting(info: &JobInfo) -> Self {
        let initial = Progress::new_full_sync(&info.name, info.sync_type == SyncType::Table, 0);
        JobStatus {
            name: info.name.clone(),
            state: info.state.as_str(),
            progress_state: initial.sync_state.name(),
            sub_state: initial.sub_sync_state.name(),
            prev_commit_seq: 0,
            commit_seq: 0,
            last_error: None,
            last_error_time: None,
            consecutive_failures: 0,
            skipped_binlogs: Default::default(),
            needs_operator: None,
        }
    }
}

/// Everything one job's task owns.
pub struct JobTask {
    pub name: String,
    pub info: JobInfo,
    pub store: Arc<dyn MetaStore>,
    pub settings: Arc<JobSettings>,
    pub metrics: Arc<JobMetrics>,
    pub status: Arc<parking_lot::Mutex<JobStatus>>,
    pub control: watch::Receiver<JobControl>,
    pub src: DorisCluster,
    pub dest: DorisCluster,
}

/// What a successful step reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Work was done; take the next step at once.
    Progressed,
    /// Nothing to do now (caught up); wait for the idle poll interval.
    Idle,
}

impl JobTask {
    /// Publishes the status after a step: `error` is the step's failure (none after a
    /// success), `operator_hint` set when the policy says the job needs an operator.
    fn publish(
        &self,
        progress: Option<&Progress>,
        control: &JobControl,
        error: Option<&JobError>,
        operator_hint: Option<&'static str>,
    ) {
        let mut status = self.status.lock();
        // The newest operator setting, not the one this step started with: a /pause that
        // arrived during the step must not be shown as running again.
        status.state = self.control.borrow().run_state.as_str();
        if let Some(p) = progress {
            status.progress_state = p.sync_state.name();
            status.sub_state = p.sub_sync_state.name();
            status.prev_commit_seq = p.prev_commit_seq;
            status.commit_seq = p.commit_seq;
            status.skipped_binlogs.clone_from(&p.unsupported_binlogs);
            self.metrics
                .prev_commit_seq
                .store(p.prev_commit_seq.max(0) as u64, Ordering::Relaxed);
        }
        match error {
            Some(e) => {
                status.last_error = Some(e.to_string());
                status.last_error_time =
                    Some(chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string());
                status.consecutive_failures += 1;
            }
            None => {
                status.last_error = None;
                status.last_error_time = None;
                status.consecutive_failures = 0;
            }
        }
        match (error, operator_hint) {
            (Some(e), Some(hint)) => {
                if status.needs_operator.is_none() {
                    // The one ERROR line of this episode: an operator must act.
                    tracing::error!(error = %e, hint, "the job cannot go on by itself and needs an operator");
                }
                status.needs_operator = Some(NeedsOperator {
                    reason: e.to_string(),
                    hint,
                    since: status
                        .needs_operator
                        .as_ref()
                        .map(|n| n.since.clone())
                        .unwrap_or_else(|| {
                            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
                        }),
                });
            }
            (Some(_), None) => {}
            (None, _) => status.needs_operator = None,
        }
        self.metrics.needs_operator.store(
            u64::from(status.needs_operator.is_some()),
            Ordering::Relaxed,
        );
        self.metrics.paused.store(
            u64::from(control.run_state == RunState::Paused),
            Ordering::Relaxed,
        );
    }

    /// Sleeps for `delay`, returning early (with `true`) if the control changes.
    async fn wait(&mut self, delay: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(delay) => false,
            changed = self.control.changed() => changed.is_ok(),
        }
    }

    /// Persists `progress` (one durable write).
    pub async fn save(&self, progress: &Progress) -> Result<(), JobError> {
        self.store
            .put_progress_owned(&self.name, &self.settings.identity, &progress.to_json())
            .await?;
        self.metrics.metadata_writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn load_progress(&self) -> Result<Progress, JobError> {
        match self.store.get_progress(&self.name).await? {
            Some(text) => Progress::from_json(&text).map_err(|e| JobError::Corrupt {
                name: self.name.clone(),
                what: "progress",
                message: e.to_string(),
            }),
            None => {
                let progress = Progress::new_full_sync(
                    &self.name,
                    self.info.sync_type == SyncType::Table,
                    now_secs(),
                );
                self.store
                    .put_progress(&self.name, &progress.to_json())
                    .await?;
                Ok(progress)
            }
        }
    }
}

/// The task body. Returns only when the job is stopped.
pub async fn run(mut task: JobTask) {
    let mut failures: u32 = 0;
    let mut idle_wait = IDLE_POLL_FIRST;
    let mut progress: Option<Progress> = None;
    let mut cache = SyncCache::new();
    loop {
        let control = task.control.borrow_and_update().clone();
        if control.stop {
            tracing::info!("job task stopped");
            return;
        }
        let loaded = match progress.as_mut() {
            Some(p) => Ok(p),
            None => match task.load_progress().await {
                Ok(p) => Ok(progress.insert(p)),
                Err(e) => Err(e),
            },
        };
        let (current, outcome) = match loaded {
            Ok(current) => {
                if control.run_state == RunState::Paused {
                    task.publish(Some(current), &control, None, None);
                    // Wake only for a new command; a pause holds no resources.
                    if task.control.changed().await.is_err() {
                        return;
                    }
                    continue;
                }
                let outcome = sync::step(&task, &mut cache, current, &control, failures).await;
                (Some(&*current), outcome)
            }
            Err(error) => (None, Err(error)),
        };
        match outcome {
            Ok(StepOutcome::Progressed) => {
                failures = 0;
                idle_wait = IDLE_POLL_FIRST;
                task.publish(current, &control, None, None);
            }
            Ok(StepOutcome::Idle) => {
                failures = 0;
                task.publish(current, &control, None, None);
                // Right after activity more is likely: ask again soon, then back off to
                // the configured idle interval.
                let wait = idle_wait.min(task.settings.idle_poll_interval);
                idle_wait = (idle_wait * 2).min(task.settings.idle_poll_interval);
                task.wait(wait).await;
            }
            Err(error) => {
                let context = FailureContext {
                    skip_error: control.skip_error,
                    replaying_binlog: false,
                    previous_failures: failures,
                    operator_after: task.settings.operator_after_failures,
                };
                let (delay, hint) = match decide(&error, context) {
                    Remedy::Stop => {
                        // Fenced or deleted: another syncer resumes from the last progress
                        // this one wrote; stop without writing again.
                        tracing::warn!(%error, "the job is no longer this syncer's; stopping it here");
                        return;
                    }
                    Remedy::NeedsOperator { hint } => (RETRY_BACKOFF_MAX, Some(hint)),
                    Remedy::Retry(delay) => (delay, None),
                    // Binlog remedies are taken by the batch loop; anything else here is
                    // retried.
                    Remedy::FullSync | Remedy::PartialSync(_) | Remedy::Skip => {
                        (super::error::backoff(failures + 1), None)
                    }
                };
                failures = failures.saturating_add(1);
                task.metrics.errors.fetch_add(1, Ordering::Relaxed);
                let state = current.map(|p| p.sync_state.name()).unwrap_or("loading");
                tracing::warn!(%error, state, "sync step failed; retrying in {delay:?}");
                task.publish(current, &control, Some(&error), hint);
                task.wait(delay).await;
            }
        }
    }
}
