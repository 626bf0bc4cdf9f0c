//! The job manager: owns every job this syncer runs, answers the API's questions about them,
//! and keeps the set of running jobs equal to the jobs the metadata store gives this syncer.
//!
//! Nothing here ever waits on a running sync step. Each job's task publishes its status into
//! a shared cell that readers copy; operator commands change the persisted job record and
//! then signal the task, which acts on them at its next step.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use serde::Deserialize;
use tokio::sync::{watch, Mutex as AsyncMutex};
use tokio::task::JoinHandle;

use super::clock::{Clock, SystemClock};
use super::cluster_filter::ClusterJobSpec;
use super::context::{JobContext, JobControl};
use super::error::JobError;
use super::first_run::{check_and_complete, check_request_specs, CheckMappings};
use super::host_mapping::{self, HostTable};
use super::lease::{FencedTarget, JobFence, Lease};
use super::record;
use super::runner;
use super::settings::JobSettings;
use super::snapshot_slots::SnapshotSlots;
use super::source_watch::{Interest, SourceWatch, SourceWatches, WatchKey, WatchMetrics};
use super::spec::{
    validate_job_name, ClusterSpec, JobInfo, PartialSyncRequest, RunState, SyncMode, SyncType,
};
use super::status::{
    JobActivity, JobStatus, LastVerification, NeedsOperator, TablesActivity, DONE_STATE,
};
use super::validate::{self, Check, ValidationReport, ValidationRequest};
use super::verify::{self, CatchUp, Outcome, TableCheck, TablePair, VerifyOptions, VerifyReport};
use crate::metrics::Metrics;
use crate::progress::Progress;
use crate::store::progress_codec;
use crate::store::OwnedProgress;
use crate::store::{MetaStore, StoreError};
use ccr_doris::cluster::{BinlogLag, ClientSettings, DorisCluster};
use ccr_doris::rpc::RpcTimeouts;
use ccr_doris::sql::quote_ident;

#[path = "cluster_job.rs"]
mod cluster_job;
pub use cluster_job::DatabaseLag;

/// How often the job summary line is logged (the reference's monitor interval).
pub const SUMMARY_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// How long shutdown waits for running steps to finish before abandoning them (every step
/// checkpoints before it starts, so an abandoned step is resumed after restart).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How long a periodic verification waits for a job to catch up: it only starts on a job
/// that was caught up, so a longer wait means the job fell behind and the next round will do.
const PERIODIC_VERIFY_CATCH_UP: Duration = Duration::from_secs(10);
/// How often a verification asks the source whether the job has caught up.
const CATCH_UP_POLL: Duration = Duration::from_millis(200);

/// What an operator can do about a stored password the syncer cannot decrypt.
const UNREADABLE_PASSWORD_HINT: &str =
    "restart the syncer with the key the password was encrypted under (--secret_key_file, \
     or --old_secret_key_file beside the new key), or delete and re-create the job";

/// The body of `/create_ccr`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CreateJobRequest {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub src: ClusterSpec,
    #[serde(default)]
    pub dest: ClusterSpec,
    #[serde(default)]
    pub skip_error: bool,
    #[serde(default)]
    pub allow_table_exists: bool,
    /// Database jobs: replicate only these source tables and views.
    #[serde(default)]
    pub include_tables: Vec<String>,
    /// Database jobs: never replicate these (applied after `include_tables`).
    #[serde(default)]
    pub exclude_tables: Vec<String>,
    /// Whole-cluster jobs (`database` empty in `src` and `dest`): replicate only these
    /// source databases (`db`) and tables (`db.table`). Empty = every database.
    #[serde(default)]
    pub include: Vec<String>,
    /// Whole-cluster jobs: never replicate these (`db` or `db.table`; applied after
    /// `include`).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Whole-cluster jobs: target database name = this prefix + source name.
    #[serde(default)]
    pub db_prefix: String,
    /// Whole-cluster jobs: source database → target database (wins over `db_prefix`).
    #[serde(default)]
    pub db_mapping: BTreeMap<String, String>,
    /// Whole-cluster jobs: when a source database is dropped, drop its target database and
    /// its database job too (default: only report it).
    #[serde(default)]
    pub drop_target_databases: bool,
    /// `continuous` (the default: replicate until deleted) or `once` (copy the data one
    /// time, then the job is `done`).
    #[serde(default)]
    #[schema(example = "continuous")]
    pub mode: String,
}

impl CreateJobRequest {
    /// A whole-cluster job: no database (and no table) on either side.
    pub fn is_cluster_job(&self) -> bool {
        self.src.database.is_empty()
            && self.dest.database.is_empty()
            && self.src.table.is_empty()
            && self.dest.table.is_empty()
    }

    /// The whole-cluster rules the request gives.
    pub fn cluster_rules(&self) -> ClusterJobSpec {
        ClusterJobSpec {
            include: self.include.clone(),
            exclude: self.exclude.clone(),
            db_prefix: self.db_prefix.clone(),
            db_mapping: self.db_mapping.clone(),
            drop_target_databases: self.drop_target_databases,
        }
    }
}

/// What `/job_skip_binlog` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinlogSkip {
    /// Skip the binlog at `commit_seq`, the one the job is stuck on.
    Silence { commit_seq: i64 },
    /// A new full sync of the job.
    FullSync,
    /// A partial sync of one source table of a database job.
    PartialSync { table: String },
}

/// The answer of `/get_lag`.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct JobLag {
    /// Source binlogs after the last applied one.
    pub lag: i64,
    /// The last source commit seq applied to the target.
    pub prev_commit_seq: i64,
    /// Oldest and newest commit seq the source still keeps (0 when the FE does not say).
    pub first_commit_seq: i64,
    pub last_commit_seq: i64,
    /// Their times, `YYYY-MM-DD HH:MM:SS` UTC (empty when the FE does not say).
    pub first_binlog_timestamp: String,
    pub last_binlog_timestamp: String,
    /// Seconds between the oldest binlog not yet applied and the newest binlog: how far
    /// behind the target is in source time (0 when caught up).
    pub time_interval_secs: i64,
    /// A whole-cluster job: each database job's lag (`lag` is their sum,
    /// `time_interval_secs` the largest; the commit seqs and times are then 0 and empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<DatabaseLag>,
}

impl JobLag {
    fn from_result(prev_commit_seq: i64, result: &BinlogLag) -> Self {
        JobLag {
            lag: result.lag,
            prev_commit_seq,
            first_commit_seq: result.first_commit_seq.unwrap_or(0),
            last_commit_seq: result.last_commit_seq.unwrap_or(0),
            first_binlog_timestamp: format_millis(result.first_binlog_timestamp),
            last_binlog_timestamp: format_millis(result.last_binlog_timestamp),
            time_interval_secs: result.seconds_behind(),
            databases: Vec::new(),
        }
    }
}

fn format_millis(millis: Option<i64>) -> String {
    millis
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A job and the syncer that owns it (`/list_jobs {"detail": true}`).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JobOwner {
    pub name: String,
    pub owner: String,
    /// The ownership epoch: up by one at every change of owner.
    pub epoch: i64,
    /// `running` or `paused` (the operator's setting), or `done` (a one-time job whose copy
    /// is finished).
    pub state: &'static str,
}

/// The answer of `/job_progress`.
#[derive(Debug, Clone)]
pub struct JobProgress {
    /// The stored progress document (the reference's JSON).
    pub job_progress: String,
    /// One line for people: kind, phase, tables, lag, last full sync.
    pub summary: String,
}

/// The figures of one progress report line.
struct ProgressReport {
    jobs: Vec<JobActivity>,
    tables: Vec<(TablesActivity, usize)>,
    lag_binlogs: i64,
    lag_seconds: i64,
    /// `name (N binlogs, S s)` of the job with the most binlogs to apply, or `none`.
    furthest_behind: String,
}

impl ProgressReport {
    fn of(jobs: &[JobStatus]) -> Self {
        let furthest = jobs
            .iter()
            .filter(|s| s.lag_binlogs > 0)
            .max_by_key(|s| (s.lag_binlogs, s.lag_seconds));
        ProgressReport {
            jobs: jobs.iter().map(JobStatus::activity).collect(),
            tables: jobs
                .iter()
                .map(|s| (s.tables_activity(), s.tables))
                .collect(),
            lag_binlogs: jobs.iter().map(|s| s.lag_binlogs).sum(),
            lag_seconds: jobs.iter().map(|s| s.lag_seconds).sum(),
            furthest_behind: furthest.map_or_else(
                || "none".to_owned(),
                |s| {
                    format!(
                        "{} ({} binlogs, {} s)",
                        s.name, s.lag_binlogs, s.lag_seconds
                    )
                },
            ),
        }
    }

    fn jobs(&self, activity: JobActivity) -> usize {
        self.jobs.iter().filter(|a| **a == activity).count()
    }

    fn tables(&self, activity: TablesActivity) -> usize {
        self.tables
            .iter()
            .filter(|(a, _)| *a == activity)
            .map(|(_, n)| n)
            .sum()
    }
}

/// One line of `/view`.
#[derive(Debug, Clone)]
pub struct JobOverview {
    pub name: String,
    /// The syncer that runs the job.
    pub owner: String,
    /// `None` when another syncer runs the job.
    pub sync_type: Option<SyncType>,
    pub status: Option<JobStatus>,
    /// Whether the job dials any cluster address through a host mapping.
    pub host_mapping: bool,
}

/// One syncer of the metadata store (`/syncers`).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SyncerInfo {
    pub host: String,
    /// `YYYY-MM-DD HH:MM:SS` UTC, by the store's clock.
    pub last_heartbeat: String,
    pub heartbeat_age_ms: i64,
    /// Whether its heartbeat is younger than `dead_after` (peers would take its jobs).
    pub alive: bool,
    /// The syncer answering this request.
    pub is_me: bool,
    pub jobs: Vec<String>,
}

/// A job this syncer runs.
struct JobHandle {
    /// The ownership epoch the task writes under.
    epoch: i64,
    /// A whole-cluster job or one of its database jobs: never moved by rebalancing (a
    /// family lives on one syncer).
    pinned: bool,
    /// The task's right to write to the target; revoked when the job is unloaded.
    fence: Arc<JobFence>,
    /// The persisted record; the async mutex orders operator commands on one job.
    info: AsyncMutex<JobInfo>,
    control: watch::Sender<JobControl>,
    status: Arc<parking_lot::Mutex<JobStatus>>,
    task: parking_lot::Mutex<Option<JoinHandle<()>>>,
    /// The task's own cluster clients (cheap clones sharing their pools): API calls that
    /// talk to a cluster reuse the job's connections and its knowledge of the master FE.
    src: DorisCluster,
    dest: DorisCluster,
}

pub struct JobManager {
    store: Arc<dyn MetaStore>,
    settings: Arc<JobSettings>,
    metrics: Arc<Metrics>,
    http: reqwest::Client,
    jobs: RwLock<HashMap<String, Arc<JobHandle>>>,
    /// The lease every job's target writes are fenced by.
    lease: Arc<Lease>,
    /// One watcher per source database stream, shared by the jobs reading it.
    source_watches: Arc<SourceWatches>,
    /// Jobs being handed to another syncer: stopped here, not yet renamed in the store.
    handing_over: parking_lot::Mutex<HashMap<String, String>>,
    /// Since when every heartbeat round has reached the store (`None` after a failure).
    store_up_since: parking_lot::Mutex<Option<Instant>>,
    /// Jobs owned here whose stored password cannot be decrypted, with the time this
    /// syncer found out: not started, shown as needing an operator.
    unreadable: parking_lot::Mutex<HashMap<String, String>>,
    /// Serialises creations so two requests for one name cannot both pass the checks.
    create_lock: AsyncMutex<()>,
    shutting_down: watch::Sender<bool>,
    /// Orders the backups and restores of this syncer's jobs per database.
    snapshot_slots: Arc<SnapshotSlots>,
}

impl JobManager {
    pub fn new(
        store: Arc<dyn MetaStore>,
        settings: JobSettings,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let lease = Lease::new(settings.lease_term());
        let source_watches = SourceWatches::new(
            settings.idle_poll_interval,
            WatchMetrics {
                watchers: metrics.source_watchers.clone(),
                polls: metrics.source_watcher_polls.clone(),
            },
        );
        Arc::new(JobManager {
            store,
            settings: Arc::new(settings),
            metrics,
            http: reqwest::Client::new(),
            jobs: RwLock::new(HashMap::new()),
            lease,
            source_watches,
            handing_over: parking_lot::Mutex::new(Default::default()),
            store_up_since: parking_lot::Mutex::new(None),
            unreadable: parking_lot::Mutex::new(HashMap::new()),
            create_lock: AsyncMutex::new(()),
            shutting_down: watch::channel(false).0,
            snapshot_slots: SnapshotSlots::new(),
        })
    }

    pub fn settings(&self) -> &JobSettings {
        &self.settings
    }

    /// Timeouts and limits of every Doris client.
    fn client_settings(&self) -> ClientSettings {
        ClientSettings {
            timeouts: self.rpc_timeouts(),
            max_ingest_per_backend: self.settings.max_ingest_concurrency_per_backend,
        }
    }

    fn rpc_timeouts(&self) -> RpcTimeouts {
        RpcTimeouts {
            connect: self.settings.connect_timeout,
            call: self.settings.rpc_timeout,
            commit_txn: self.settings.commit_txn_timeout,
        }
    }

    /// Registers this syncer, starts its persisted jobs, and keeps doing both every
    /// heartbeat interval until shutdown.
    pub async fn start(self: &Arc<Self>) -> Result<(), JobError> {
        self.reseal_passwords().await?;
        self.ha_round().await?;
        let manager = Arc::clone(self);
        let mut stop = self.shutting_down.subscribe();
        tokio::spawn(async move {
            let mut last_summary = std::time::Instant::now();
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(manager.settings.heartbeat_interval) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                if let Err(error) = manager.ha_round().await {
                    // Jobs hold (their lease lapses) until the store answers again.
                    *manager.store_up_since.lock() = None;
                    tracing::warn!(%error, "heartbeat round failed; jobs hold until the store answers");
                }
                if last_summary.elapsed() >= SUMMARY_LOG_INTERVAL {
                    last_summary = std::time::Instant::now();
                    manager.log_summary();
                }
            }
        });
        if !self.settings.verify_interval.is_zero() {
            let manager = Arc::clone(self);
            tokio::spawn(async move { manager.verify_periodically().await });
        }
        let interval = self.settings.report_interval;
        if !interval.is_zero() {
            let manager = Arc::clone(self);
            let mut stop = self.shutting_down.subscribe();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(interval) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                    manager.log_progress_report();
                }
            });
        }
        Ok(())
    }

    /// `--verify_interval`: verifies every caught-up job this syncer runs, one after the
    /// other, off the jobs' tasks (verification only reads).
    async fn verify_periodically(self: Arc<Self>) {
        let mut stop = self.shutting_down.subscribe();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.settings.verify_interval) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let jobs: Vec<(String, Arc<JobHandle>)> = self
                .jobs
                .read()
                .iter()
                .map(|(name, handle)| (name.clone(), Arc::clone(handle)))
                .collect();
            for (name, handle) in jobs {
                let ready = {
                    let status = handle.status.lock();
                    status.state == RunState::Running.as_str()
                        && status.progress_state.ends_with("IncrementalSync")
                        && status.lag_binlogs == 0
                        && status.last_error.is_none()
                };
                if !ready {
                    continue;
                }
                let options = VerifyOptions {
                    catch_up_timeout: PERIODIC_VERIFY_CATCH_UP,
                    ..VerifyOptions::default()
                };
                if let Err(error) = self.verify_job(&name, &handle, &options).await {
                    tracing::warn!(job = %name, %error, "periodic verification failed");
                }
            }
        }
    }

    /// Re-encrypts stored passwords that are plain or under the old key (see
    /// [`record::reseal_passwords`]), once at start.
    async fn reseal_passwords(&self) -> Result<(), JobError> {
        let keys = &self.settings.secret_keys;
        let report = record::reseal_passwords(self.store.as_ref(), keys).await?;
        if !report.resealed.is_empty() {
            tracing::info!(jobs = ?report.resealed, key_id = keys.current_id().unwrap_or_default(), "re-encrypted stored passwords under the current secret key");
        }
        for (job, error) in &report.unreadable {
            tracing::error!(%job, %error, "stored job record cannot be read; the job needs an operator");
        }
        Ok(())
    }

    /// Reads a stored record, its passwords decrypted.
    fn decode(&self, name: &str, job_info: &str) -> Result<JobInfo, JobError> {
        record::decode(name, job_info, &self.settings.secret_keys)
    }

    fn encode(&self, info: &JobInfo) -> String {
        record::encode(info, &self.settings.secret_keys)
    }

    /// What every job running here last published.
    fn statuses(&self) -> Vec<JobStatus> {
        self.jobs
            .read()
            .values()
            .map(|handle| handle.status.lock().clone())
            .collect()
    }

    /// The periodic one-line account of every job this syncer runs, by state and phase (as
    /// the reference's monitor logs it).
    fn log_summary(&self) {
        let jobs = self.statuses();
        let count = |f: &dyn Fn(&JobStatus) -> bool| jobs.iter().filter(|s| f(s)).count();
        tracing::info!(
            total = jobs.len(),
            paused = count(&|s| s.state == "paused"),
            full_sync = count(&|s| s.progress_state.contains("FullSync")),
            partial_sync = count(&|s| s.progress_state.contains("PartialSync")),
            incremental = count(&|s| s.progress_state.contains("IncrementalSync")),
            failing = count(&|s| s.last_error.is_some()),
            "job summary"
        );
    }

    /// The `--report_interval` line: every job this syncer runs, by state; their tables
    /// by what they are doing; the total lag and the job furthest behind.
    fn log_progress_report(&self) {
        let jobs = self.statuses();
        let report = ProgressReport::of(&jobs);
        tracing::info!(
            jobs = jobs.len(),
            running = report.jobs(JobActivity::Running),
            paused = report.jobs(JobActivity::Paused),
            done = report.jobs(JobActivity::Done),
            failing = report.jobs(JobActivity::Failing),
            needing_operator = report.jobs(JobActivity::NeedsOperator),
            tables_synced = report.tables(TablesActivity::Synced),
            tables_being_synced = report.tables(TablesActivity::BeingSynced),
            tables_waiting = report.tables(TablesActivity::Waiting),
            tables_copied = report.tables(TablesActivity::Copied),
            lag_binlogs = report.lag_binlogs,
            lag_seconds = report.lag_seconds,
            furthest_behind = %report.furthest_behind,
            "progress report"
        );
    }

    /// One heartbeat round: refresh our heartbeat, adopt the jobs of dead peers, stop the
    /// jobs we run but no longer own (or own under a newer epoch), start the jobs we own but
    /// do not run, and only then renew the lease the running jobs write under.
    ///
    /// Times are the store's clock. Peers are declared dead only once this syncer has
    /// reached the store for a whole `dead_after` without a failed round: after an outage
    /// every heartbeat looks old, and nobody's jobs are taken on that stale picture.
    async fn ha_round(self: &Arc<Self>) -> Result<(), JobError> {
        let me = &self.settings.identity;
        let sent = Instant::now();
        let now = self.store.now_ms().await?;
        self.store.heartbeat(me, now).await?;
        self.metrics.last_heartbeat.set(now_secs());
        let up_since = *self.store_up_since.lock().get_or_insert(sent);
        if up_since.elapsed() >= self.settings.dead_after {
            let dead_before = now - self.settings.dead_after.as_millis() as i64;
            let adopted = self.store.take_over_dead(me, dead_before).await?;
            if !adopted.is_empty() {
                self.metrics.takeovers.inc_by(adopted.len() as u64);
                tracing::info!(jobs = ?adopted, "took over jobs of dead syncers");
            }
        }
        let owned = self.store.list_jobs_owned_by(me).await?;
        let owned_epochs: HashMap<&str, i64> =
            owned.iter().map(|r| (r.name.as_str(), r.epoch)).collect();
        let lost: Vec<(String, bool)> = self
            .jobs
            .read()
            .iter()
            .filter_map(|(name, handle)| match owned_epochs.get(name.as_str()) {
                None => Some((name.clone(), false)),
                Some(epoch) if *epoch != handle.epoch => Some((name.clone(), true)),
                Some(_) => None,
            })
            .collect();
        for (name, came_back) in lost {
            if came_back {
                tracing::warn!(job = %name, "job changed owners and came back; restarting it from its stored progress");
            } else {
                tracing::warn!(job = %name, "job no longer belongs to this syncer; stopping it here");
                // Its series move with it: this syncer's /metrics shows the jobs it runs.
                self.metrics.remove_job(&name);
            }
            self.unload(&name);
        }
        for row in owned {
            if self.jobs.read().contains_key(&row.name)
                || self.handing_over.lock().contains_key(&row.name)
                || *self.shutting_down.borrow()
            {
                continue;
            }
            match self.decode(&row.name, &row.job_info) {
                Ok(info) => {
                    self.unreadable.lock().remove(&row.name);
                    self.launch(info, row.epoch)
                }
                Err(e) => {
                    // Logged and counted once, not every round.
                    let mut unreadable = self.unreadable.lock();
                    if !unreadable.contains_key(&row.name) {
                        unreadable.insert(row.name.clone(), now_utc_text());
                        self.metrics.job(&row.name).needs_operator.set(1);
                        tracing::error!(job = %row.name, error = %e, "stored job record is unreadable; job not started, it needs an operator")
                    }
                }
            }
        }
        self.lease.renew(sent);
        if up_since.elapsed() >= self.settings.dead_after {
            self.rebalance().await?;
        }
        Ok(())
    }

    /// Starts the task of a job and registers it.
    fn launch(self: &Arc<Self>, info: JobInfo, epoch: i64) {
        let name = info.name.clone();
        let (control, control_rx) = watch::channel(JobControl::from_info(&info));
        let mut starting = JobStatus::starting(&info);
        if info.is_cluster_job() {
            starting.progress_state = cluster_job::CLUSTER_PROGRESS_STATE;
            starting.sub_state = cluster_job::CLUSTER_SUB_STATE;
        }
        let status = Arc::new(parking_lot::Mutex::new(starting));
        let metrics = self.metrics.job(&name);
        let wide = &self.settings.host_mapping;
        let src = DorisCluster::new(
            info.src.cluster_access(&wide.source),
            self.client_settings(),
        )
        .with_observer(metrics.source_calls.clone());
        let dest = DorisCluster::new(
            info.dest.cluster_access(&wide.target),
            self.client_settings(),
        )
        .with_observer(metrics.target_calls.clone());
        let fence = JobFence::new(Arc::clone(&self.lease));
        let source_watch = self.source_watch(&info, &src);
        let cluster_job = info.is_cluster_job();
        let pinned = cluster_job || !info.parent_job.is_empty();
        let ctx = JobContext {
            name: name.clone(),
            info: info.clone(),
            source: Arc::new(src.clone()),
            target: Arc::new(FencedTarget::new(
                Arc::new(dest.clone()),
                Arc::clone(&fence),
            )),
            store: Arc::new(OwnedProgress::new(
                Arc::clone(&self.store),
                self.settings.identity.clone(),
                epoch,
            )),
            lease: Arc::clone(&self.lease),
            settings: Arc::clone(&self.settings),
            clock: Arc::new(SystemClock),
            metrics: Arc::clone(&metrics),
            status: Arc::clone(&status),
            control: control_rx,
            source_watch,
            snapshot_slots: Arc::clone(&self.snapshot_slots),
        };
        let handle = Arc::new(JobHandle {
            epoch,
            pinned,
            fence,
            info: AsyncMutex::new(info),
            control,
            status,
            task: parking_lot::Mutex::new(None),
            src,
            dest,
        });
        // Checked and inserted under one lock: the HA round and an API call may both find
        // the job unloaded, and only one task may run it.
        let mut jobs = self.jobs.write();
        if jobs.contains_key(&name) {
            return;
        }
        // A root span: the job outlives the request that created it.
        let span = tracing::info_span!(parent: None, "job", job = %name);
        let join = if cluster_job {
            // Its task watches the source databases; `ctx` (the replication seams) unused.
            let watcher = cluster_job::watch(Arc::clone(self), name.clone(), ctx.control);
            tokio::spawn(tracing::Instrument::instrument(watcher, span))
        } else {
            tokio::spawn(tracing::Instrument::instrument(runner::run(ctx), span))
        };
        *handle.task.lock() = Some(join);
        jobs.insert(name, handle);
    }

    /// The job's handle on the watcher of its source database stream. The watcher reads
    /// through a clone of the job's client whose calls are not the job's (they serve every
    /// job of the database; `ccr_syncer_source_watcher_polls_total` counts them).
    fn source_watch(&self, info: &JobInfo, src: &DorisCluster) -> SourceWatch {
        let key = WatchKey {
            frontend: format!("{}:{}", info.src.host, info.src.thrift_port),
            database: info.src.database.clone(),
            user: info.src.user.clone(),
        };
        let interest = match info.sync_type {
            SyncType::Table => Interest::Table(info.src.table_id),
            SyncType::Database => Interest::Database,
        };
        let client = src
            .clone()
            .with_observer(Arc::new(crate::metrics::CallTime::default()));
        SourceWatch::new(
            Arc::clone(&self.source_watches),
            key,
            Arc::new(client),
            interest,
        )
    }

    /// Stops a job's task (it finishes its current step) and forgets it.
    fn unload(&self, name: &str) -> Option<JoinHandle<()>> {
        let handle = self.jobs.write().remove(name)?;
        // First the fence, so a step in flight cannot write any more; then the stop, which
        // the task sees between steps.
        handle.fence.revoke();
        handle.control.send_modify(|c| c.stop = true);
        let join = handle.task.lock().take();
        join
    }

    /// `/create_ccr`: validate, check both clusters, persist, start.
    pub async fn create(self: &Arc<Self>, mut request: CreateJobRequest) -> Result<(), JobError> {
        if *self.shutting_down.borrow() {
            return Err(JobError::ShuttingDown);
        }
        for (spec, side) in [(&mut request.src, "src"), (&mut request.dest, "dest")] {
            spec.decrypt_given_password(side)
                .map_err(|e| JobError::Invalid(e.to_string()))?;
        }
        validate_job_name(&request.name).map_err(JobError::Invalid)?;
        let mode = SyncMode::parse(&request.mode).map_err(JobError::Invalid)?;
        // An empty value means no mapping, as in /update_host_mapping.
        request.src.host_mapping.retain(|_, to| !to.is_empty());
        request.dest.host_mapping.retain(|_, to| !to.is_empty());
        if request.is_cluster_job() {
            return self.create_cluster_job(request).await;
        }
        if request.cluster_rules() != ClusterJobSpec::default() {
            return Err(JobError::Invalid(
                "include / exclude / db_prefix / db_mapping / drop_target_databases apply to \
                 whole-cluster jobs only (database empty in src and dest)"
                    .into(),
            ));
        }
        let name = request.name.clone();
        check_request_specs(
            &request.src,
            &request.dest,
            &request.include_tables,
            &request.exclude_tables,
        )?;
        let _creating = self.create_lock.lock().await;
        if self.store.get_job(&name).await?.is_some() {
            return Err(JobError::AlreadyExists(name));
        }
        let mappings = CheckMappings::of(&request.src, &request.dest, &self.settings.host_mapping);
        let checked = check_and_complete(
            request.src,
            request.dest,
            mappings,
            request.allow_table_exists,
            self.settings.connect_timeout,
            &self.http,
        )
        .await?;
        let sync_type = if checked.src.is_table_level() {
            SyncType::Table
        } else {
            SyncType::Database
        };
        let info = JobInfo {
            skip_error: request.skip_error,
            allow_table_exists: request.allow_table_exists,
            include_tables: request.include_tables,
            exclude_tables: request.exclude_tables,
            mode,
            ..JobInfo::new(sync_type, name.clone(), checked.src, checked.dest)
        };
        let progress = Progress::new_full_sync(&name, sync_type == SyncType::Table, now_secs());
        let owner = self.register_new_job(info, Some(&progress)).await?;
        tracing::info!(job = %name, %owner, "job created");
        Ok(())
    }

    /// Persists a new job record (with its first progress) on the least-loaded live syncer
    /// and starts it when that is this one (else its owner does at its next heartbeat
    /// round). Gives the owner.
    pub(super) async fn register_new_job(
        self: &Arc<Self>,
        info: JobInfo,
        progress: Option<&Progress>,
    ) -> Result<String, JobError> {
        let name = info.name.clone();
        let owner = self.least_loaded_live_syncer().await?;
        match self
            .store
            .create_job(&name, &self.encode(&info), &owner)
            .await
        {
            Ok(()) => {}
            Err(StoreError::JobExists(_)) => return Err(JobError::AlreadyExists(name)),
            Err(e) => return Err(e.into()),
        }
        if let Some(progress) = progress {
            self.store
                .put_progress(&name, &progress_codec::encode(progress))
                .await?;
        }
        self.metrics.jobs_created.inc();
        tracing::debug!(job = %name, src = ?info.src, dest = ?info.dest, "job record stored");
        if owner == self.settings.identity {
            // A new job record starts at epoch 1.
            self.launch(info, 1);
        }
        Ok(owner)
    }

    /// `/validate`: every check of `/create_ccr` and more, each reported, nothing changed
    /// (no job record, no SQL that writes to either cluster). Fails only when the metadata
    /// store cannot say whether the name is taken.
    pub async fn validate(&self, request: CreateJobRequest) -> Result<ValidationReport, JobError> {
        let job_name = match validate_job_name(&request.name) {
            Err(message) => Check::failed(
                validate::ids::JOB_NAME,
                message,
                "give the job a non-empty name without control characters",
            ),
            Ok(()) if self.store.get_job(&request.name).await?.is_some() => Check::failed(
                validate::ids::JOB_NAME,
                JobError::AlreadyExists(request.name.clone()).to_string(),
                "pick another name, or POST /delete the existing job first",
            ),
            Ok(()) => Check::passed(
                validate::ids::JOB_NAME,
                format!("no job is named {}", request.name),
            ),
        };
        if request.is_cluster_job() {
            return Ok(self.validate_cluster_job(job_name, request).await);
        }
        let request = ValidationRequest {
            src: request.src,
            dest: request.dest,
            src_wide_mapping: self.settings.host_mapping.source.clone(),
            dest_wide_mapping: self.settings.host_mapping.target.clone(),
            allow_table_exists: request.allow_table_exists,
            include_tables: request.include_tables,
            exclude_tables: request.exclude_tables,
            mode: request.mode,
        };
        Ok(validate::validate(job_name, request, self.settings.connect_timeout, &self.http).await)
    }

    /// The live syncers (heartbeat younger than `dead_after` by the store's clock) with
    /// the number of jobs each owns; this syncer is always among them.
    async fn live_load(&self) -> Result<Vec<(String, usize)>, JobError> {
        let now = self.store.now_ms().await?;
        let dead_after = self.settings.dead_after.as_millis() as i64;
        let counts: HashMap<String, usize> = self
            .store
            .jobs_per_owner()
            .await?
            .into_iter()
            .map(|(owner, count)| (owner, usize::try_from(count).unwrap_or(0)))
            .collect();
        let owned = |host: &str| counts.get(host).copied().unwrap_or(0);
        let mut live: Vec<(String, usize)> = self
            .store
            .list_syncers()
            .await?
            .into_iter()
            .filter(|row| now - row.heartbeat_ms <= dead_after)
            .map(|row| {
                let jobs = owned(&row.host_info);
                (row.host_info, jobs)
            })
            .collect();
        let me = &self.settings.identity;
        if !live.iter().any(|(host, _)| host == me) {
            live.push((me.clone(), owned(me)));
        }
        Ok(live)
    }

    /// Where a new job goes: the live syncer with the fewest jobs, this one on a tie.
    async fn least_loaded_live_syncer(&self) -> Result<String, JobError> {
        let me = self.settings.identity.clone();
        let live = self.live_load().await?;
        Ok(live
            .into_iter()
            .min_by_key(|(host, owned)| (*owned, *host != me, host.clone()))
            .map(|(host, _)| host)
            .unwrap_or(me))
    }

    /// Hands jobs away while this syncer owns more than its fair share (the live syncers'
    /// jobs divided evenly, rounded up), one per round, to the least-loaded live syncer:
    /// the job's task is stopped and has finished its step (and saved its progress)
    /// before the store names the new owner.
    async fn rebalance(self: &Arc<Self>) -> Result<(), JobError> {
        let me = self.settings.identity.clone();
        let live = self.live_load().await?;
        let total: usize = live.iter().map(|(_, owned)| owned).sum();
        let fair = total.div_ceil(live.len().max(1));
        let mine = live
            .iter()
            .find(|(host, _)| *host == me)
            .map_or(0, |(_, owned)| *owned);
        let Some((to, their)) = live
            .iter()
            .filter(|(host, _)| *host != me)
            .min_by_key(|(host, owned)| (*owned, host.clone()))
            .cloned()
        else {
            return Ok(());
        };
        // Moving one job must narrow the gap, or the two would trade it back and forth.
        if mine <= fair || mine <= their + 1 {
            return Ok(());
        }
        let Some((name, epoch)) = self
            .jobs
            .read()
            .iter()
            .filter(|(_, handle)| !handle.pinned)
            .map(|(name, handle)| (name.clone(), handle.epoch))
            .max()
        else {
            return Ok(());
        };
        tracing::info!(job = %name, %to, mine, fair, "handing a job to a less loaded syncer");
        // Not relaunched by the next rounds while its last step ends.
        self.handing_over.lock().insert(name.clone(), to.clone());
        let task = self.unload(&name);
        self.metrics.remove_job(&name);
        // The handover waits for the step off the heartbeat round, which must keep renewing
        // the lease of the other jobs.
        let manager = Arc::clone(self);
        tokio::spawn(async move {
            if let Some(task) = task {
                if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                    // Its fence is revoked and the epoch moves on below: it cannot write.
                    tracing::warn!(job = %name, "the job's step did not end in time; handing it over anyway");
                }
            }
            match manager.store.hand_over(&name, &me, epoch, &to).await {
                Ok(true) => tracing::info!(job = %name, %to, "job handed over"),
                Ok(false) => {
                    tracing::warn!(job = %name, "the job changed owners meanwhile; nothing handed over")
                }
                // Still ours in the store: the next round starts it here again.
                Err(error) => tracing::warn!(job = %name, %error, "handover failed"),
            }
            manager.handing_over.lock().remove(&name);
        });
        Ok(())
    }

    /// Finds a job this syncer runs. A job owned by another syncer is reported with its
    /// owner so the API can redirect; a job owned here but not yet running is started.
    async fn local(self: &Arc<Self>, name: &str) -> Result<Arc<JobHandle>, JobError> {
        validate_job_name(name).map_err(JobError::Invalid)?;
        let row = self
            .store
            .get_job(name)
            .await?
            .ok_or_else(|| JobError::NotFound(name.to_owned()))?;
        if row.belong_to != self.settings.identity {
            return Err(JobError::OwnedElsewhere {
                name: name.to_owned(),
                owner: row.belong_to,
            });
        }
        if let Some(handle) = self.jobs.read().get(name) {
            return Ok(Arc::clone(handle));
        }
        if let Some(to) = self.handing_over.lock().get(name) {
            // Stopped here, about to be the other syncer's: send the caller there.
            return Err(JobError::OwnedElsewhere {
                name: name.to_owned(),
                owner: to.clone(),
            });
        }
        let info = self.decode(name, &row.job_info)?;
        if *self.shutting_down.borrow() {
            return Err(JobError::ShuttingDown);
        }
        self.launch(info, row.epoch);
        self.jobs
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| JobError::NotFound(name.to_owned()))
    }

    /// Applies `change` to the persisted record and hands the result to the job's task.
    async fn update(
        self: &Arc<Self>,
        name: &str,
        change: impl FnOnce(&mut JobInfo),
    ) -> Result<(), JobError> {
        let handle = self.local(name).await?;
        let mut info = handle.info.lock().await;
        let mut updated = info.clone();
        change(&mut updated);
        if updated != *info {
            self.store
                .update_job_info(name, &self.encode(&updated))
                .await?;
            *info = updated;
        }
        // The task's clients share these tables: new connections dial the new hosts.
        let wide = &self.settings.host_mapping;
        handle.src.host_mapping().replace(host_mapping::effective(
            &wide.source,
            &info.src.host_mapping,
        ));
        handle.dest.host_mapping().replace(host_mapping::effective(
            &wide.target,
            &info.dest.host_mapping,
        ));
        let control = JobControl::from_info(&info);
        // The run state is the operator's setting, persisted above: status shows it at once,
        // even while the task is still finishing a step.
        handle.status.lock().state = info.state.as_str();
        handle.control.send_modify(|c| c.apply(&control));
        Ok(())
    }

    /// Applies `change` to job `name` and, for a whole-cluster job, to each of its
    /// database jobs.
    async fn update_family(
        self: &Arc<Self>,
        name: &str,
        change: impl Fn(&mut JobInfo) + Clone,
    ) -> Result<(), JobError> {
        self.update(name, change.clone()).await?;
        if self.is_cluster_job(name).await? {
            self.for_each_child(name, |manager, child| {
                let change = change.clone();
                async move { manager.update(&child, change).await }
            })
            .await?;
        }
        Ok(())
    }

    pub async fn pause(self: &Arc<Self>, name: &str) -> Result<(), JobError> {
        self.update_family(name, |info| info.state = RunState::Paused)
            .await
    }

    /// `/resume`. A one-time job that is done has nothing to resume: that is an error
    /// (`/force_fullsync` copies again; a continuous job replicates).
    pub async fn resume(self: &Arc<Self>, name: &str) -> Result<(), JobError> {
        self.local(name).await?;
        if let Some(progress) = self.stored_progress(name).await? {
            if progress.phase().is_done() {
                return Err(JobError::Invalid(format!(
                    "job {name} is done: its one-time copy (mode once) finished at commit seq \
                     {}, so there is nothing to resume; /force_fullsync copies the data again, \
                     /delete removes the job, and a job created with mode continuous keeps \
                     replicating",
                    progress.prev_commit_seq
                )));
            }
        }
        self.update_family(name, |info| info.state = RunState::Running)
            .await
    }

    /// The job's progress as stored (none before its first save).
    async fn stored_progress(&self, name: &str) -> Result<Option<Progress>, JobError> {
        match self.store.get_progress(name).await? {
            Some(text) => progress_codec::decode(&text)
                .map(Some)
                .map_err(|e| JobError::Corrupt {
                    name: name.to_owned(),
                    what: "progress",
                    message: e.to_string(),
                }),
            None => Ok(None),
        }
    }

    pub async fn set_skip_error(
        self: &Arc<Self>,
        name: &str,
        skip_error: bool,
    ) -> Result<(), JobError> {
        self.update_family(name, move |info| info.skip_error = skip_error)
            .await
    }

    /// `/update_host_mapping`: adds or changes the job's host mapping entries (an empty
    /// value deletes one); persisted, and in effect for the running job's next connections.
    pub async fn update_host_mapping(
        self: &Arc<Self>,
        name: &str,
        src_changes: &HostTable,
        dest_changes: &HostTable,
    ) -> Result<(), JobError> {
        if src_changes.is_empty() && dest_changes.is_empty() {
            // The reference's message.
            return Err(JobError::Invalid("host_mapping is empty".into()));
        }
        for (side, changes) in [("src", src_changes), ("dest", dest_changes)] {
            host_mapping::check_request_table(changes)
                .map_err(|e| JobError::Invalid(format!("{side}_host_mapping is invalid: {e}")))?;
        }
        self.update_family(name, |info| {
            host_mapping::apply_changes(&mut info.src.host_mapping, src_changes);
            host_mapping::apply_changes(&mut info.dest.host_mapping, dest_changes);
        })
        .await?;
        tracing::info!(job = %name, src = ?src_changes, dest = ?dest_changes, "host mapping updated");
        Ok(())
    }

    /// Asks for a new full sync; persisted, so it survives a restart.
    /// A whole-cluster job: a new full sync of each of its database jobs.
    pub async fn force_fullsync(self: &Arc<Self>, name: &str) -> Result<(), JobError> {
        if self.is_cluster_job(name).await? {
            self.local(name).await?;
            return self
                .for_each_child(name, |manager, child| async move {
                    manager
                        .update(&child, |info| info.fullsync_requests += 1)
                        .await
                })
                .await;
        }
        self.update(name, |info| info.fullsync_requests += 1).await
    }

    /// `/job_skip_binlog`: gets a job past a binlog it cannot replay. `Silence` skips the
    /// one binlog at that commit seq, and only when it is the one the job fails on (so a
    /// stale or mistyped seq cannot drop data the job would have applied); the others ask
    /// for a new snapshot of the job or of one table. Persisted, so a restart keeps it.
    pub async fn skip_binlog(
        self: &Arc<Self>,
        name: &str,
        skip: BinlogSkip,
    ) -> Result<(), JobError> {
        let handle = self.local(name).await?;
        if handle.info.lock().await.is_cluster_job() {
            return Err(JobError::Invalid(format!(
                "job {name} is a whole-cluster job; skip binlogs on one of its database jobs \
                 (named {name}/<database>, see /job_status)"
            )));
        }
        match skip {
            BinlogSkip::FullSync => self.force_fullsync(name).await,
            BinlogSkip::Silence { commit_seq } => {
                if commit_seq <= 0 {
                    return Err(JobError::Invalid(
                        "skip_commit_seq must be the commit seq of the binlog to skip".into(),
                    ));
                }
                let (failing, prev) = {
                    let status = handle.status.lock();
                    (status.failing_commit_seq, status.prev_commit_seq)
                };
                match failing {
                    Some(seq) if seq == commit_seq => {}
                    Some(seq) => {
                        return Err(JobError::Invalid(format!(
                            "job {name} is stuck on the binlog at commit seq {seq}, not \
                             {commit_seq}; nothing was skipped"
                        )))
                    }
                    None => {
                        return Err(JobError::Invalid(format!(
                            "job {name} is not failing on any binlog (applied up to commit seq \
                             {prev}); only the binlog it is stuck on can be skipped"
                        )))
                    }
                }
                tracing::warn!(job = %name, commit_seq, "the operator skips a binlog");
                self.update(name, |info| info.skip_commit_seq = commit_seq)
                    .await
            }
            BinlogSkip::PartialSync { table } => {
                let info = handle.info.lock().await.clone();
                if info.sync_type == SyncType::Table {
                    return Err(JobError::Invalid(format!(
                        "job {name} replicates one table; use skip_by fullsync to snapshot it again"
                    )));
                }
                if table.is_empty() {
                    return Err(JobError::Invalid(
                        "skip_by partialsync needs the source table name in \"table\"".into(),
                    ));
                }
                let exists = handle
                    .src
                    .sql()
                    .tables(info.src.db_id)
                    .await?
                    .iter()
                    .any(|row| row.name == table && !row.is_view);
                if !info.replicates_table(&table) || !exists {
                    return Err(JobError::Invalid(format!(
                        "job {name} does not replicate table {table:?} (no such table in the \
                         source database, or it is filtered out)"
                    )));
                }
                tracing::warn!(job = %name, table, "the operator asks for a partial sync");
                self.update(name, |info| {
                    let serial = info.partialsync_request.as_ref().map_or(0, |r| r.serial) + 1;
                    info.partialsync_request = Some(PartialSyncRequest { table, serial });
                })
                .await
            }
        }
    }

    /// `/delete`: stop the job and remove its metadata. Target data stays. A whole-cluster
    /// job goes with its database jobs; a database job of an existing whole-cluster job
    /// cannot be deleted alone (the watcher would create it again).
    pub async fn delete(self: &Arc<Self>, name: &str) -> Result<(), JobError> {
        validate_job_name(name).map_err(JobError::Invalid)?;
        let stored = self.stored_info(name).await?;
        if stored.is_cluster_job() {
            return self.delete_cluster_job(name).await;
        }
        if !stored.parent_job.is_empty() && self.store.get_job(&stored.parent_job).await?.is_some()
        {
            return Err(JobError::Invalid(format!(
                "job {name} is a database job of whole-cluster job {}; delete that job, or \
                 re-create it with the database excluded",
                stored.parent_job
            )));
        }
        self.delete_one(name).await
    }

    /// Stops one job and removes its metadata.
    async fn delete_one(self: &Arc<Self>, name: &str) -> Result<(), JobError> {
        let handle = match self.local(name).await {
            Ok(handle) => Some(handle),
            // Owned here but never started: its password cannot be decrypted. Deleting it
            // is one way out for the operator.
            Err(JobError::SecretUnreadable { .. }) => None,
            Err(error) => return Err(error),
        };
        // Hold the record lock so no command persists the job again while it goes away.
        let _info = match &handle {
            Some(handle) => Some(handle.info.lock().await),
            None => None,
        };
        self.unload(name);
        self.unreadable.lock().remove(name);
        if !self.store.delete_job(name).await? {
            return Err(JobError::NotFound(name.to_owned()));
        }
        self.metrics.remove_job(name);
        tracing::info!(job = %name, "job deleted");
        Ok(())
    }

    pub async fn status(self: &Arc<Self>, name: &str) -> Result<JobStatus, JobError> {
        let handle = match self.local(name).await {
            Ok(handle) => handle,
            Err(error @ JobError::SecretUnreadable { .. }) => {
                return self.unreadable_status(name, &error).await
            }
            // The store is out of reach: a job running here still shows what its task
            // published (that it holds for the store, typically).
            Err(JobError::Store(error)) => match self.jobs.read().get(name) {
                Some(handle) => Arc::clone(handle),
                None => return Err(JobError::Store(error)),
            },
            Err(error) => return Err(error),
        };
        let mut status = handle.status.lock().clone();
        if status.cluster.is_some() {
            return self.cluster_status(status).await;
        }
        self.mark_source_dropped(&mut status);
        Ok(status)
    }

    /// The status of a job that cannot start because its password cannot be decrypted.
    async fn unreadable_status(&self, name: &str, error: &JobError) -> Result<JobStatus, JobError> {
        let row = self
            .store
            .get_job(name)
            .await?
            .ok_or_else(|| JobError::NotFound(name.to_owned()))?;
        let info = JobInfo::from_stored_json(&row.job_info).map_err(|e| JobError::Corrupt {
            name: name.to_owned(),
            what: "job_info",
            message: e.to_string(),
        })?;
        let mut status = JobStatus::starting(&info);
        let since = self
            .unreadable
            .lock()
            .entry(name.to_owned())
            .or_insert_with(now_utc_text)
            .clone();
        status.last_error = Some(error.to_string());
        status.last_error_time = Some(since.clone());
        status.needs_operator = Some(NeedsOperator {
            reason: error.to_string(),
            hint: UNREADABLE_PASSWORD_HINT,
            since,
        });
        Ok(status)
    }

    /// `/job_detail`: the persisted record with passwords redacted.
    pub async fn detail(self: &Arc<Self>, name: &str) -> Result<String, JobError> {
        let handle = self.local(name).await?;
        let info = handle.info.lock().await;
        Ok(info.redacted_json())
    }

    /// `/job_progress`: the persisted progress record, and a line saying where the job is.
    pub async fn progress(self: &Arc<Self>, name: &str) -> Result<JobProgress, JobError> {
        let handle = self.local(name).await?;
        let sync_type = handle.info.lock().await.sync_type;
        let summary = handle.status.lock().summary(sync_type);
        Ok(JobProgress {
            job_progress: self.store.get_progress(name).await?.unwrap_or_default(),
            summary,
        })
    }

    /// `/list_jobs`: every job in the store, whichever syncer runs it.
    /// `/list_jobs {"detail": true}`: every job with its owner and ownership epoch.
    pub async fn list_owned(&self) -> Result<Vec<JobOwner>, JobError> {
        let mut jobs = Vec::new();
        for row in self.store.list_jobs().await? {
            // From the store, so every syncer answers the same for every job.
            let done = self
                .stored_progress(&row.name)
                .await
                .ok()
                .flatten()
                .is_some_and(|p| p.phase().is_done());
            let state = if done {
                DONE_STATE
            } else {
                JobInfo::from_stored_json(&row.job_info)
                    .map_or("unknown", |info| info.state.as_str())
            };
            jobs.push(JobOwner {
                name: row.name,
                owner: row.belong_to,
                epoch: row.epoch,
                state,
            });
        }
        Ok(jobs)
    }

    /// `/syncers`: every syncer of the metadata store, its last heartbeat (by the store's
    /// clock), whether peers count it alive, and the jobs it owns.
    pub async fn syncers(&self) -> Result<Vec<SyncerInfo>, JobError> {
        let now = self.store.now_ms().await?;
        let jobs = self.store.list_jobs().await?;
        let dead_after = self.settings.dead_after.as_millis() as i64;
        Ok(self
            .store
            .list_syncers()
            .await?
            .into_iter()
            .map(|row| {
                let mut owned: Vec<String> = jobs
                    .iter()
                    .filter(|job| job.belong_to == row.host_info)
                    .map(|job| job.name.clone())
                    .collect();
                owned.sort();
                let age = (now - row.heartbeat_ms).max(0);
                SyncerInfo {
                    is_me: row.host_info == self.settings.identity,
                    host: row.host_info,
                    last_heartbeat: format_millis(Some(row.heartbeat_ms)),
                    heartbeat_age_ms: age,
                    alive: age <= dead_after,
                    jobs: owned,
                }
            })
            .collect())
    }

    pub async fn list(&self) -> Result<Vec<String>, JobError> {
        Ok(self
            .store
            .list_jobs()
            .await?
            .into_iter()
            .map(|row| row.name)
            .collect())
    }

    /// `/desync`: mark the target table(s) as no longer being synced. Failures are
    /// collected per table; the job keeps running.
    pub async fn desync(self: &Arc<Self>, name: &str) -> Result<(), JobError> {
        let handle = self.local(name).await?;
        if handle.info.lock().await.is_cluster_job() {
            return self
                .for_each_child(name, |manager, child| async move {
                    manager.desync_database_job(&child).await
                })
                .await;
        }
        self.desync_database_job(name).await
    }

    /// [`JobManager::desync`] of a job that replicates (not a whole-cluster job).
    async fn desync_database_job(self: &Arc<Self>, name: &str) -> Result<(), JobError> {
        let handle = self.local(name).await?;
        let dest = handle.info.lock().await.dest.clone();
        let sql = handle.dest.sql();
        let tables: Vec<String> = if dest.is_table_level() {
            vec![dest.table.clone()]
        } else {
            let db_id = sql.database_id(&dest.database).await?.ok_or_else(|| {
                JobError::CheckFailed(format!("dest database {} not exists", dest.database))
            })?;
            sql.tables(db_id)
                .await?
                .into_iter()
                .filter(|t| !t.is_view)
                .map(|t| t.name)
                .collect()
        };
        let mut failed = Vec::new();
        for table in &tables {
            if let Err(error) = sql
                .set_table_property(&dest.database, table, "is_being_synced", "false")
                .await
            {
                tracing::warn!(job = %name, table = %quote_ident(table), %error, "desync failed");
                failed.push(table.clone());
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(JobError::CheckFailed(format!(
                "failed tables: {}",
                failed.join(",")
            )))
        }
    }

    /// Stops every job: each finishes its current step, or is abandoned after
    /// [`SHUTDOWN_GRACE`] (its last checkpoint is resumed after restart).
    pub async fn shutdown(&self) {
        self.shutting_down.send_replace(true);
        let names: Vec<String> = self.jobs.read().keys().cloned().collect();
        let joins: Vec<JoinHandle<()>> =
            names.iter().filter_map(|name| self.unload(name)).collect();
        let count = joins.len();
        let all = futures::future::join_all(joins);
        if tokio::time::timeout(SHUTDOWN_GRACE, all).await.is_err() {
            tracing::warn!("some jobs did not finish their step within {SHUTDOWN_GRACE:?}; they resume from their last checkpoint");
        }
        tracing::info!(jobs = count, "all jobs stopped");
    }

    /// `/get_lag`: how far the target is behind the source.
    ///
    /// Asks the source FE directly (getBinlogLag); never waits for the job's task.
    pub async fn lag(self: &Arc<Self>, name: &str) -> Result<JobLag, JobError> {
        let handle = self.local(name).await?;
        if handle.info.lock().await.is_cluster_job() {
            return self.cluster_lag(name).await;
        }
        self.database_lag(name).await
    }

    /// [`JobManager::lag`] of a job that replicates (not a whole-cluster job).
    async fn database_lag(self: &Arc<Self>, name: &str) -> Result<JobLag, JobError> {
        let handle = self.local(name).await?;
        let src = handle.info.lock().await.src.clone();
        let prev_commit_seq = self
            .stored_progress(name)
            .await?
            .map_or(0, |p| p.prev_commit_seq);
        let table = src
            .is_table_level()
            .then_some((src.table.as_str(), src.table_id));
        let result = handle
            .src
            .binlog_lag(&src.database, table, prev_commit_seq)
            .await?;
        let lag = JobLag::from_result(prev_commit_seq, &result);
        self.metrics
            .job(name)
            .record_lag(result.lag, result.seconds_behind());
        {
            let mut status = handle.status.lock();
            status.lag_binlogs = result.lag.max(0);
            status.lag_seconds = result.seconds_behind().max(0);
        }
        Ok(lag)
    }

    /// `/verify`: compares the job's target with its source, table by table (see
    /// [`verify`]). Only reads; the job keeps running meanwhile.
    pub async fn verify(
        self: &Arc<Self>,
        name: &str,
        options: VerifyOptions,
    ) -> Result<VerifyReport, JobError> {
        let handle = self.local(name).await?;
        self.verify_job(name, &handle, &options).await
    }

    async fn verify_job(
        &self,
        name: &str,
        handle: &Arc<JobHandle>,
        options: &VerifyOptions,
    ) -> Result<VerifyReport, JobError> {
        let info = handle.info.lock().await.clone();
        let pairs = self.verify_pairs(name, handle, &info, options).await?;
        let catch_up = JobCatchUp {
            source: &handle.src,
            status: &handle.status,
            db: &info.src.database,
            table: info
                .src
                .is_table_level()
                .then_some((info.src.table.as_str(), info.src.table_id)),
        };
        let mut checks = Vec::with_capacity(pairs.len());
        for pair in pairs {
            checks.push(match pair {
                Ok(pair) => {
                    verify::verify_table(
                        handle.src.sql(),
                        handle.dest.sql(),
                        &pair,
                        options,
                        &catch_up,
                    )
                    .await
                }
                Err(check) => check,
            });
        }
        let report = VerifyReport::new(checks);
        let mismatched_tables: Vec<String> = report
            .tables
            .iter()
            .filter(|t| t.result == Outcome::Mismatch)
            .map(|t| t.table.clone())
            .collect();
        if mismatched_tables.is_empty() {
            tracing::info!(job = %name, summary = ?report.summary, "verification done");
        } else {
            tracing::warn!(job = %name, tables = ?mismatched_tables, summary = ?report.summary, "verification found the target different from the source");
        }
        // A job deleted or handed over meanwhile keeps no series here; the lock keeps it
        // from going between the look and the update (its series go after it is unloaded).
        let running = self.jobs.read();
        if running.contains_key(name) {
            let metrics = self.metrics.job(name);
            metrics
                .verify_mismatch_tables
                .set(report.summary.mismatch as i64);
            metrics.last_verify_timestamp.set(now_secs());
        }
        drop(running);
        handle.status.lock().last_verification = Some(LastVerification {
            time: now_utc_text(),
            summary: report.summary.clone(),
            mismatched_tables,
        });
        Ok(report)
    }

    /// The tables a verification covers: a table job's table; every table a database job
    /// replicates (its include/exclude lists), each under its target name (the job's table
    /// mapping). A requested table the job does not replicate is an `error` entry.
    async fn verify_pairs(
        &self,
        name: &str,
        handle: &JobHandle,
        info: &JobInfo,
        options: &VerifyOptions,
    ) -> Result<Vec<Result<TablePair, TableCheck>>, JobError> {
        let pair = |source: &str, target: &str| TablePair {
            source_db: info.src.database.clone(),
            source: source.to_owned(),
            target_db: info.dest.database.clone(),
            target: target.to_owned(),
        };
        let mut pairs: Vec<TablePair> = Vec::new();
        if info.sync_type == SyncType::Table {
            pairs.push(pair(&info.src.table, &info.dest.table));
        } else {
            let mapping = match self.store.get_progress(name).await? {
                Some(text) => {
                    progress_codec::decode(&text)
                        .map_err(|e| JobError::Corrupt {
                            name: name.to_owned(),
                            what: "progress",
                            message: e.to_string(),
                        })?
                        .table_mapping
                }
                None => None,
            }
            .unwrap_or_default();
            let dest_tables = match handle.dest.sql().database_id(&info.dest.database).await? {
                Some(db_id) => handle.dest.sql().tables(db_id).await?,
                None => Vec::new(),
            };
            for table in handle.src.sql().tables(info.src.db_id).await? {
                if table.is_view || !info.replicates_table(&table.name) {
                    continue;
                }
                let target = mapping
                    .get(&table.id)
                    .and_then(|id| dest_tables.iter().find(|t| t.id == *id))
                    .map_or(table.name.as_str(), |t| t.name.as_str());
                pairs.push(pair(&table.name, target));
            }
        }
        if options.tables.is_empty() {
            return Ok(pairs.into_iter().map(Ok).collect());
        }
        Ok(options
            .tables
            .iter()
            .map(|wanted| {
                pairs
                    .iter()
                    .find(|p| p.source == *wanted)
                    .cloned()
                    .ok_or_else(|| TableCheck {
                        table: wanted.clone(),
                        target_table: String::new(),
                        result: Outcome::Error,
                        differences: vec![format!(
                            "job {name} does not replicate a table named {wanted:?}"
                        )],
                        attempts: 0,
                        partitions: None,
                    })
            })
            .collect())
    }

    /// `/view`: every job of the metadata store; those running here with their status,
    /// the others with their owner only (their status lives in that syncer).
    pub async fn overview(&self) -> Result<Vec<JobOverview>, JobError> {
        let owners = self.list_owned().await?;
        let local: HashMap<String, Arc<JobHandle>> = self.jobs.read().clone();
        let mut jobs = Vec::with_capacity(owners.len());
        for owned in owners {
            let running_here = local.get(&owned.name);
            let (sync_type, status, host_mapping) = match running_here {
                Some(handle) => {
                    let info = handle.info.lock().await;
                    (
                        Some(info.sync_type),
                        Some(handle.status.lock().clone()),
                        info.src.uses_host_mapping()
                            || info.dest.uses_host_mapping()
                            || !self.settings.host_mapping.source.is_empty()
                            || !self.settings.host_mapping.target.is_empty(),
                    )
                }
                None => (None, None, false),
            };
            jobs.push(JobOverview {
                name: owned.name,
                owner: owned.owner,
                sync_type,
                status,
                host_mapping,
            });
        }
        Ok(jobs)
    }

    /// The names of the jobs running in this process.
    pub fn running_jobs(&self) -> Vec<String> {
        let mut names: Vec<String> = self.jobs.read().keys().cloned().collect();
        names.sort();
        names
    }
}

fn now_secs() -> i64 {
    SystemClock.now_secs()
}

/// The current UTC time as `/job_status` shows times.
fn now_utc_text() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A job has caught up when it replays binlogs and the source has none after the last it
/// applied.
struct JobCatchUp<'a> {
    source: &'a DorisCluster,
    status: &'a parking_lot::Mutex<JobStatus>,
    db: &'a str,
    table: Option<(&'a str, i64)>,
}

#[async_trait::async_trait]
impl CatchUp for JobCatchUp<'_> {
    async fn wait(&self, timeout: Duration) -> Result<bool, JobError> {
        let deadline = Instant::now() + timeout;
        loop {
            let (replaying, applied) = {
                let status = self.status.lock();
                (
                    status.progress_state.ends_with("IncrementalSync"),
                    status.prev_commit_seq,
                )
            };
            if replaying {
                let lag = self.source.binlog_lag(self.db, self.table, applied).await?;
                if lag.lag <= 0 {
                    return Ok(true);
                }
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(CATCH_UP_POLL).await;
        }
    }
}
