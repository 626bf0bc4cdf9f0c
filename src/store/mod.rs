//! Metadata store: where jobs, their progress and the syncers' heartbeats live.
//!
//! Two backends implement [`MetaStore`]: SQLite (embedded default, one file, WAL) and MySQL
//! (shared by several syncers for high availability). Both keep the reference syncer's table
//! names (`jobs`, `progresses`, `syncers`) so operators recognise them, and both use bound
//! parameters only.

use async_trait::async_trait;

/// One row of the `jobs` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub name: String,
    /// The persisted job description (JSON, see `job::spec::JobInfo`).
    pub job_info: String,
    /// Identity `host:port` of the syncer that runs the job.
    pub belong_to: String,
}

/// One row of the `syncers` table: a syncer's identity and its last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncerRow {
    pub host_info: String,
    /// Unix milliseconds of the last heartbeat, as written by that syncer.
    pub heartbeat_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job {0} already exist")]
    JobExists(String),
    #[error("job {0} not exist")]
    JobNotFound(String),
    #[error("metadata store error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("metadata store migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Config(String),
}

/// The contract every metadata backend keeps.
///
/// - Every method is safe to call concurrently from many tasks (and, for MySQL, from many
///   syncer processes).
/// - A method that returns `Ok` has made its change durable (committed); there is no
///   buffering.
/// - `create_job` is atomic: of two concurrent creations of one name exactly one succeeds,
///   the other gets [`StoreError::JobExists`].
/// - `delete_job` removes the job and its progress in one transaction.
#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    /// Insert a new job owned by `owner`.
    async fn create_job(&self, name: &str, job_info: &str, owner: &str) -> Result<(), StoreError>;
    async fn get_job(&self, name: &str) -> Result<Option<JobRow>, StoreError>;
    /// Replace a job's `job_info`; [`StoreError::JobNotFound`] if there is no such job.
    async fn update_job_info(&self, name: &str, job_info: &str) -> Result<(), StoreError>;
    /// Delete the job and its progress; returns whether the job existed.
    async fn delete_job(&self, name: &str) -> Result<bool, StoreError>;
    /// Every job of every syncer, ordered by name.
    async fn list_jobs(&self) -> Result<Vec<JobRow>, StoreError>;
    /// Jobs whose `belong_to` equals `owner`, ordered by name.
    async fn list_jobs_owned_by(&self, owner: &str) -> Result<Vec<JobRow>, StoreError>;
    async fn get_progress(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Insert or replace the job's progress with one durable write.
    async fn put_progress(&self, name: &str, progress: &str) -> Result<(), StoreError>;

    /// Insert or refresh this syncer's heartbeat.
    async fn heartbeat(&self, host_info: &str, now_ms: i64) -> Result<(), StoreError>;
    async fn list_syncers(&self) -> Result<Vec<SyncerRow>, StoreError>;
    /// High-availability takeover, in one transaction: every syncer other than `me` whose
    /// heartbeat is older than `dead_before_ms` is removed, and its jobs are handed to the
    /// live syncers (including `me`), least loaded first. Returns the names of the jobs
    /// that now belong to `me` and did not before.
    async fn take_over_dead(
        &self,
        me: &str,
        dead_before_ms: i64,
    ) -> Result<Vec<String>, StoreError>;
}
