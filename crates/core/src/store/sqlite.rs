//! SQLite backend: one local file in WAL mode, for a single syncer (or a few processes on
//! one machine sharing the file).

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::meta_store::{
    distribute, job_insert_error, now_ms, plan_takeover, progress_write_error, JobRow, MetaStore,
    StoreError, SyncerRow,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another connection's (or process's) write lock before it
/// fails with "database is locked". Writes are short (the largest is one multi-MiB progress
/// row), so a wait this long means something is stuck; a bounded wait turns that into an
/// error the caller sees instead of a silent hang.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// WAL lets readers run beside the one writer, so a handful of connections covers the API
/// reads plus one job writing; more would only queue on the write lock.
const MAX_CONNECTIONS: u32 = 4;

/// How long a caller waits for a free pooled connection: longer than [`BUSY_TIMEOUT`] so a
/// caller queued behind a slow writer gets that writer's error, not a vaguer pool timeout.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Takes the write lock at the start, so a transaction that reads before it writes never
/// fails half-way when upgrading its lock (SQLite does not wait for a deferred upgrade).
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

pub(crate) struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the file. Two processes starting on one new
    /// file can collide while SQLite switches it to WAL or while one creates the tables;
    /// such lock errors are retried a few times.
    pub(crate) async fn open(path: &Path) -> Result<Self, StoreError> {
        let mut attempt = 0;
        loop {
            match Self::open_once(path).await {
                Err(err) if attempt < OPEN_ATTEMPTS && is_lock_contention(&err) => {
                    attempt += 1;
                    tracing::debug!(%err, attempt, "SQLite metadata file is busy; retrying");
                    tokio::time::sleep(OPEN_RETRY_PAUSE * attempt).await;
                }
                result => return result,
            }
        }
    }

    async fn open_once(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await.map_err(|err| {
                StoreError::Config(format!(
                    "cannot create directory {} for the SQLite metadata file: {err}",
                    parent.display()
                ))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL keeps the contract that `Ok` means durable, even across a power loss.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // Overwritten and deleted rows are zeroed, not left in free space: a password
            // re-encrypted at start must not linger in the file in plain.
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|err| {
                StoreError::Config(format!(
                    "cannot open SQLite metadata file {}: {err}",
                    path.display()
                ))
            })?;
        if let Err(err) = migrate(&pool).await {
            pool.close().await;
            return Err(err);
        }
        tracing::info!(path = %path.display(), "SQLite metadata store ready");
        Ok(Self { pool })
    }
}

/// How often `open` retries when another process holds the new file's lock.
const OPEN_ATTEMPTS: u32 = 5;
const OPEN_RETRY_PAUSE: Duration = Duration::from_millis(100);

fn is_lock_contention(err: &StoreError) -> bool {
    let text = err.to_string();
    [
        "database is locked",
        "database table is locked",
        "busy",
        "UNIQUE constraint failed",
        "already exists",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// sqlx's SQLite migrator takes no lock, so two processes starting on one new file could
/// both try to create the tables. Running it inside one write transaction serialises them:
/// the second sees the first's migrations as applied (sqlx turns its own per-migration
/// transactions into savepoints of ours).
async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    MIGRATOR.run(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

fn job_row((name, job_info, belong_to, epoch): (String, String, String, i64)) -> JobRow {
    JobRow {
        name,
        job_info,
        belong_to,
        epoch,
    }
}

#[async_trait]
impl MetaStore for SqliteStore {
    async fn create_job(&self, name: &str, job_info: &str, owner: &str) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO jobs (job_name, job_info, belong_to, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(job_info)
        .bind(owner)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|err| job_insert_error(name, err))?;
        Ok(())
    }

    async fn get_job(&self, name: &str) -> Result<Option<JobRow>, StoreError> {
        let row: Option<(String, String, String, i64)> = sqlx::query_as(
            "SELECT job_name, job_info, belong_to, epoch FROM jobs WHERE job_name = ?",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(job_row))
    }

    async fn update_job_info(&self, name: &str, job_info: &str) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE jobs SET job_info = ?, updated_at = ? WHERE job_name = ?")
            .bind(job_info)
            .bind(now_ms())
            .bind(name)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::JobNotFound(name.to_owned()));
        }
        Ok(())
    }

    async fn replace_job_info(
        &self,
        name: &str,
        expected: &str,
        job_info: &str,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET job_info = ?, updated_at = ? WHERE job_name = ? AND job_info = ?",
        )
        .bind(job_info)
        .bind(now_ms())
        .bind(name)
        .bind(expected)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn purge_overwritten(&self) -> Result<(), StoreError> {
        // TRUNCATE: the WAL's old frames hold the pages as they were before the rewrite.
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.pool)
            .await?;
        if busy != 0 {
            tracing::warn!("SQLite WAL checkpoint was blocked by a reader; old pages stay in the WAL until the next checkpoint");
        }
        Ok(())
    }

    async fn delete_job(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let deleted = sqlx::query("DELETE FROM jobs WHERE job_name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        // The foreign key cascades already; deleting explicitly keeps the contract even on a
        // connection where foreign keys were switched off.
        sqlx::query("DELETE FROM progresses WHERE job_name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn list_jobs(&self) -> Result<Vec<JobRow>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT job_name, job_info, belong_to, epoch FROM jobs ORDER BY job_name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(job_row).collect())
    }

    async fn list_jobs_owned_by(&self, owner: &str) -> Result<Vec<JobRow>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT job_name, job_info, belong_to, epoch FROM jobs WHERE belong_to = ? \
             ORDER BY job_name",
        )
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(job_row).collect())
    }

    async fn get_progress(&self, name: &str) -> Result<Option<String>, StoreError> {
        let progress: Option<String> =
            sqlx::query_scalar("SELECT progress FROM progresses WHERE job_name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(progress)
    }

    async fn put_progress(&self, name: &str, progress: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO progresses (job_name, progress, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (job_name) DO UPDATE \
             SET progress = excluded.progress, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(progress)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(|err| progress_write_error(name, err))?;
        Ok(())
    }

    async fn put_progress_owned(
        &self,
        name: &str,
        owner: &str,
        epoch: i64,
        progress: &str,
    ) -> Result<(), StoreError> {
        // One statement: the ownership check and the write cannot be separated by a takeover.
        let written = sqlx::query(
            "INSERT INTO progresses (job_name, progress, updated_at) \
             SELECT job_name, ?, ? FROM jobs WHERE job_name = ? AND belong_to = ? AND epoch = ? \
             ON CONFLICT (job_name) DO UPDATE \
             SET progress = excluded.progress, updated_at = excluded.updated_at",
        )
        .bind(progress)
        .bind(now_ms())
        .bind(name)
        .bind(owner)
        .bind(epoch)
        .execute(&self.pool)
        .await
        .map_err(|err| progress_write_error(name, err))?;
        if written.rows_affected() > 0 {
            return Ok(());
        }
        match self.get_job(name).await? {
            // Defensive: a driver counting an update that changed nothing as no row.
            Some(row) if row.belong_to == owner && row.epoch == epoch => Ok(()),
            Some(row) => Err(StoreError::NotOwner {
                name: name.to_owned(),
                owner: row.belong_to,
                epoch: row.epoch,
            }),
            None => Err(StoreError::JobNotFound(name.to_owned())),
        }
    }

    async fn jobs_per_owner(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT belong_to, COUNT(*) FROM jobs GROUP BY belong_to")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn hand_over(
        &self,
        name: &str,
        from: &str,
        epoch: i64,
        to: &str,
    ) -> Result<bool, StoreError> {
        let moved = sqlx::query(
            "UPDATE jobs SET belong_to = ?, epoch = epoch + 1, updated_at = ? \
             WHERE job_name = ? AND belong_to = ? AND epoch = ?",
        )
        .bind(to)
        .bind(now_ms())
        .bind(name)
        .bind(from)
        .bind(epoch)
        .execute(&self.pool)
        .await?;
        Ok(moved.rows_affected() == 1)
    }

    async fn now_ms(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn heartbeat(&self, host_info: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO syncers (host_info, heartbeat_ms) VALUES (?, ?) \
             ON CONFLICT (host_info) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms",
        )
        .bind(host_info)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_syncers(&self) -> Result<Vec<SyncerRow>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT host_info, heartbeat_ms FROM syncers ORDER BY host_info")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(host_info, heartbeat_ms)| SyncerRow {
                host_info,
                heartbeat_ms,
            })
            .collect())
    }

    async fn take_over_dead(
        &self,
        me: &str,
        dead_before_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        // BEGIN IMMEDIATE holds the database's write lock for the whole transaction, so
        // takeovers (and every other write) are serialised across connections and processes.
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let syncers: Vec<SyncerRow> =
            sqlx::query_as::<_, (String, i64)>("SELECT host_info, heartbeat_ms FROM syncers")
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|(host_info, heartbeat_ms)| SyncerRow {
                    host_info,
                    heartbeat_ms,
                })
                .collect();
        if !syncers.iter().any(|s| s.host_info == me) {
            sqlx::query("INSERT INTO syncers (host_info, heartbeat_ms) VALUES (?, ?)")
                .bind(me)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
        }
        let jobs_per_owner: Vec<(String, i64)> =
            sqlx::query_as("SELECT belong_to, COUNT(*) FROM jobs GROUP BY belong_to")
                .fetch_all(&mut *tx)
                .await?;
        let plan = plan_takeover(me, dead_before_ms, &syncers, &jobs_per_owner);
        if plan.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }

        let mut orphan_jobs = Vec::new();
        for owner in &plan.orphan_owners {
            let names: Vec<String> =
                sqlx::query_scalar("SELECT job_name FROM jobs WHERE belong_to = ?")
                    .bind(owner)
                    .fetch_all(&mut *tx)
                    .await?;
            orphan_jobs.extend(names);
        }
        for dead in &plan.dead_syncers {
            sqlx::query("DELETE FROM syncers WHERE host_info = ?")
                .bind(dead)
                .execute(&mut *tx)
                .await?;
        }
        let assignments = distribute(orphan_jobs, &plan.live, &jobs_per_owner);
        let now = now_ms();
        for (job, owner) in &assignments {
            sqlx::query("UPDATE jobs SET belong_to = ?, epoch = epoch + 1, updated_at = ? WHERE job_name = ?")
                .bind(owner)
                .bind(now)
                .bind(job)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;

        tracing::info!(
            me,
            dead_syncers = ?plan.dead_syncers,
            orphan_owners = ?plan.orphan_owners,
            moved_jobs = assignments.len(),
            "took over jobs of dead syncers"
        );
        Ok(assignments
            .into_iter()
            .filter(|(_, owner)| owner == me)
            .map(|(job, _)| job)
            .collect())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
