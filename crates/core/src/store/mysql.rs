//! MySQL / MariaDB backend: one database shared by every syncer of an HA group.

use std::time::Duration;

use async_trait::async_trait;
use sha1::{Digest, Sha1};
use sqlx::error::BoxDynError;
use sqlx::migrate::Migrator;
use sqlx::mysql::{
    MySql, MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlPool, MySqlPoolOptions,
    MySqlTypeInfo, MySqlValueRef,
};
use sqlx::{Connection, Decode, Executor, Type};

use super::meta_store::{
    distribute, job_insert_error, now_ms, plan_takeover, progress_write_error, JobRow, MetaStore,
    StoreError, SyncerRow,
};
use ccr_wire::secret::Secret;

/// The embedded migrations, with sqlx's own lock switched off: it calls
/// `GET_LOCK(name, -1)`, which MariaDB answers with NULL at once (no lock taken) instead
/// of waiting forever, and sqlx ignores the answer. [`migrate`] takes a working lock itself.
fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations/mysql");
    migrator.set_locking(false);
    migrator
}

/// How long a starting syncer waits for another one that is migrating the same database.
/// Our migrations take well under a second; the margin covers a slow or busy server.
const MIGRATION_LOCK_TIMEOUT_SECS: u32 = 300;

/// Each job writes its progress through the pool; beyond this many connections writers only
/// queue inside the server. Kept small because several syncers share one server.
const MAX_CONNECTIONS: u32 = 8;

/// How long a caller waits for a pooled connection (which includes connecting, when the
/// pool has to open a new one) before it gets an error instead of hanging.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bound on the first connections made by `open`, so an unreachable server is reported
/// within seconds rather than after the OS's TCP timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest database name MySQL accepts.
const MAX_DATABASE_NAME_LEN: usize = 64;

/// Progress rows can carry a whole snapshot's metadata; a server whose `max_allowed_packet`
/// is below this is likely to reject such writes, so `open` warns about it.
const RECOMMENDED_MAX_ALLOWED_PACKET: u64 = 64 * 1024 * 1024;

/// Attempts of one takeover when InnoDB picks it as a deadlock victim (the whole
/// transaction is rolled back, so retrying is safe). Takeovers lock in one order and should
/// not deadlock with each other; this covers rarer interleavings with other writers.
const TAKEOVER_ATTEMPTS: u32 = 3;

/// MySQL error number of "Deadlock found when trying to get lock".
const ER_LOCK_DEADLOCK: u16 = 1213;

/// Makes every session strict, whatever the server default: a value too long for its column
/// (say a 600-character job name) must fail rather than be truncated into another key.
const STRICT_SESSION_SQL: &str =
    "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'STRICT_ALL_TABLES')";

pub(crate) struct MysqlStore {
    pool: MySqlPool,
}

impl MysqlStore {
    pub(crate) async fn open(
        host: &str,
        port: u16,
        user: &str,
        password: &Secret,
        database: &str,
    ) -> Result<Self, StoreError> {
        check_database_name(database)?;
        let mut server = MySqlConnectOptions::new()
            .host(host)
            .port(port)
            .username(user);
        // sqlx treats an empty password as "a password was given", which a passwordless
        // account (MariaDB's default root) rejects.
        if !password.is_empty() {
            server = server.password(password.expose());
        }
        let unreachable = |err: String| {
            StoreError::Config(format!(
                "cannot connect to MySQL metadata server {user}@{host}:{port}: {err}"
            ))
        };

        // Connect without a database first: it may not exist yet.
        let mut conn = connect(&server).await.map_err(unreachable)?;
        // An identifier cannot be a bound parameter; the name was checked above and is
        // quoted, so this is the one statement built from text.
        let create = format!(
            "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            quote_identifier(database)
        );
        let created = conn.execute(create.as_str()).await;
        let _ = conn.close().await;
        created?;

        let options = server.database(database);
        // Migrate on a dedicated connection: sqlx's MySQL migrator holds a named lock
        // (GET_LOCK) per database for the whole run, which serialises syncers starting at
        // once; closing the connection afterwards releases the lock even when a migration
        // failed (the pool would otherwise keep it alive in an idle connection).
        let mut conn = connect(&options).await.map_err(unreachable)?;
        let migrated = migrate(&mut conn, database).await;
        let _ = conn.close().await;
        migrated?;

        let pool = MySqlPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(STRICT_SESSION_SQL).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let max_packet: u64 = sqlx::query_scalar("SELECT @@max_allowed_packet")
            .fetch_one(&pool)
            .await?;
        if max_packet < RECOMMENDED_MAX_ALLOWED_PACKET {
            tracing::warn!(
                max_allowed_packet = max_packet,
                recommended = RECOMMENDED_MAX_ALLOWED_PACKET,
                "MySQL max_allowed_packet is small; large job progress rows may be rejected"
            );
        }
        tracing::info!(host, port, database, "MySQL metadata store ready");
        Ok(Self { pool })
    }
}

/// Applies pending migrations while holding a server-wide named lock for this database, so
/// syncers starting at once apply each migration exactly once, one after the other. The
/// lock belongs to the session; closing the connection releases it, even after a failure.
async fn migrate(conn: &mut MySqlConnection, database: &str) -> Result<(), StoreError> {
    conn.execute(STRICT_SESSION_SQL).await?;
    let lock = migration_lock_name(database);
    let granted: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
        .bind(&lock)
        .bind(MIGRATION_LOCK_TIMEOUT_SECS)
        .fetch_one(&mut *conn)
        .await?;
    if granted != Some(1) {
        return Err(StoreError::Config(format!(
            "could not take lock {lock} to migrate MySQL database {database} within \
             {MIGRATION_LOCK_TIMEOUT_SECS} s; another syncer may be stuck migrating it"
        )));
    }
    migrator().run(&mut *conn).await?;
    Ok(())
}

/// Lock names are server-wide and at most 64 characters, so the database name is hashed.
fn migration_lock_name(database: &str) -> String {
    let digest = Sha1::digest(database.as_bytes());
    format!("ccr_syncer.migrate.{}", hex::encode(digest))
}

/// A text column decoded from a `utf8mb4_bin` column. The server flags columns of binary
/// collations BINARY, and sqlx then refuses to decode them as `String`; this accepts them
/// and still checks the bytes are UTF-8.
struct Text(String);

impl Type<MySql> for Text {
    fn type_info() -> MySqlTypeInfo {
        <str as Type<MySql>>::type_info()
    }

    fn compatible(ty: &MySqlTypeInfo) -> bool {
        <[u8] as Type<MySql>>::compatible(ty)
    }
}

impl<'r> Decode<'r, MySql> for Text {
    fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        let bytes = <&[u8] as Decode<MySql>>::decode(value)?;
        Ok(Self(std::str::from_utf8(bytes)?.to_owned()))
    }
}

async fn connect(options: &MySqlConnectOptions) -> Result<MySqlConnection, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, MySqlConnection::connect_with(options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    }
}

/// Accepts the names an operator would type (letters, digits, `_`, `$`, `-`), so the name
/// needs no escaping beyond the backquotes and cannot smuggle SQL.
fn check_database_name(name: &str) -> Result<(), StoreError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_DATABASE_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '-'));
    if valid {
        Ok(())
    } else {
        Err(StoreError::Config(format!(
            "invalid MySQL database name {name:?}: use 1 to {MAX_DATABASE_NAME_LEN} letters, \
             digits, '_', '$' or '-'"
        )))
    }
}

fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn is_deadlock(err: &StoreError) -> bool {
    match err {
        StoreError::Database(sqlx::Error::Database(db)) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|e| e.number() == ER_LOCK_DEADLOCK),
        _ => false,
    }
}

fn job_row((name, job_info, belong_to, epoch): (Text, Text, Text, i64)) -> JobRow {
    JobRow {
        name: name.0,
        job_info: job_info.0,
        belong_to: belong_to.0,
        epoch,
    }
}

fn syncer_row((host_info, heartbeat_ms): (Text, i64)) -> SyncerRow {
    SyncerRow {
        host_info: host_info.0,
        heartbeat_ms,
    }
}

impl MysqlStore {
    /// One attempt of [`MetaStore::take_over_dead`]; see there for the guarantees.
    async fn take_over_once(
        &self,
        me: &str,
        dead_before_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Locking every syncer row first is what serialises concurrent takeovers: a second
        // one blocks here until the first commits, then reads the committed result (a
        // locking read sees the latest rows, and the consistent reads below take their
        // snapshot only after this returns). `me`'s row exists (ensured by the caller), so
        // two takeovers always meet on a row lock rather than on compatible gap locks.
        let syncers: Vec<SyncerRow> = sqlx::query_as::<_, (Text, i64)>(
            "SELECT host_info, heartbeat_ms FROM syncers ORDER BY host_info FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(syncer_row)
        .collect();
        if !syncers.iter().any(|s| s.host_info == me) {
            // Removed by another syncer's takeover since the caller ensured it.
            sqlx::query("INSERT INTO syncers (host_info, heartbeat_ms) VALUES (?, ?)")
                .bind(me)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
        }
        // Counts only steer the balance, so a consistent (non-locking) read is enough.
        let jobs_per_owner: Vec<(String, i64)> = sqlx::query_as::<_, (Text, i64)>(
            "SELECT belong_to, COUNT(*) FROM jobs GROUP BY belong_to",
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(owner, count)| (owner.0, count))
        .collect();
        let plan = plan_takeover(me, dead_before_ms, &syncers, &jobs_per_owner);
        if plan.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }

        let mut orphan_jobs = Vec::new();
        for owner in &plan.orphan_owners {
            // Locking read: the rows we are about to reassign, as they are now.
            let names: Vec<Text> =
                sqlx::query_scalar("SELECT job_name FROM jobs WHERE belong_to = ? FOR UPDATE")
                    .bind(owner)
                    .fetch_all(&mut *tx)
                    .await?;
            orphan_jobs.extend(names.into_iter().map(|name| name.0));
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
}

#[async_trait]
impl MetaStore for MysqlStore {
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
        let row: Option<(Text, Text, Text, i64)> = sqlx::query_as(
            "SELECT job_name, job_info, belong_to, epoch FROM jobs WHERE job_name = ?",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(job_row))
    }

    async fn update_job_info(&self, name: &str, job_info: &str) -> Result<(), StoreError> {
        // sqlx connects with CLIENT_FOUND_ROWS, so rows_affected counts matched rows even
        // when the new value equals the old one.
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
        // Compared as bytes: the column's collation may ignore case, and base64 does not.
        let result = sqlx::query(
            "UPDATE jobs SET job_info = ?, updated_at = ? WHERE job_name = ? AND job_info = CAST(? AS BINARY)",
        )
        .bind(job_info)
        .bind(now_ms())
        .bind(name)
        .bind(expected)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn delete_job(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Parent row first: the same lock order as a progress write's foreign-key check.
        let deleted = sqlx::query("DELETE FROM jobs WHERE job_name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM progresses WHERE job_name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn list_jobs(&self) -> Result<Vec<JobRow>, StoreError> {
        let rows: Vec<(Text, Text, Text, i64)> = sqlx::query_as(
            "SELECT job_name, job_info, belong_to, epoch FROM jobs ORDER BY job_name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(job_row).collect())
    }

    async fn list_jobs_owned_by(&self, owner: &str) -> Result<Vec<JobRow>, StoreError> {
        let rows: Vec<(Text, Text, Text, i64)> = sqlx::query_as(
            "SELECT job_name, job_info, belong_to, epoch FROM jobs WHERE belong_to = ? \
             ORDER BY job_name",
        )
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(job_row).collect())
    }

    async fn get_progress(&self, name: &str) -> Result<Option<String>, StoreError> {
        let progress: Option<Text> =
            sqlx::query_scalar("SELECT progress FROM progresses WHERE job_name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(progress.map(|text| text.0))
    }

    async fn put_progress(&self, name: &str, progress: &str) -> Result<(), StoreError> {
        // VALUES(col) rather than the newer row alias: MariaDB only knows the former.
        sqlx::query(
            "INSERT INTO progresses (job_name, progress, updated_at) VALUES (?, ?, ?) \
             ON DUPLICATE KEY UPDATE progress = VALUES(progress), updated_at = VALUES(updated_at)",
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
             ON DUPLICATE KEY UPDATE progress = VALUES(progress), updated_at = VALUES(updated_at)",
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
        Ok(sqlx::query_as::<_, (Text, i64)>(
            "SELECT belong_to, COUNT(*) FROM jobs GROUP BY belong_to",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|(owner, count)| (owner.0, count))
        .collect())
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
            sqlx::query_scalar("SELECT CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn heartbeat(&self, host_info: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO syncers (host_info, heartbeat_ms) VALUES (?, ?) \
             ON DUPLICATE KEY UPDATE heartbeat_ms = VALUES(heartbeat_ms)",
        )
        .bind(host_info)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_syncers(&self) -> Result<Vec<SyncerRow>, StoreError> {
        let rows: Vec<(Text, i64)> =
            sqlx::query_as("SELECT host_info, heartbeat_ms FROM syncers ORDER BY host_info")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(syncer_row).collect())
    }

    async fn take_over_dead(
        &self,
        me: &str,
        dead_before_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        // Ensure `me` has a row before the transaction (an existing row is left as it is),
        // so concurrent takeovers conflict on row locks; see `take_over_once`.
        sqlx::query(
            "INSERT INTO syncers (host_info, heartbeat_ms) VALUES (?, ?) \
             ON DUPLICATE KEY UPDATE host_info = host_info",
        )
        .bind(me)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        let mut attempt = 1;
        loop {
            match self.take_over_once(me, dead_before_ms).await {
                Err(err) if attempt < TAKEOVER_ATTEMPTS && is_deadlock(&err) => {
                    tracing::warn!(me, attempt, "takeover chosen as deadlock victim, retrying");
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_checked() {
        assert!(check_database_name("ccr").is_ok());
        assert!(check_database_name("ccr_test_12_ab-c$").is_ok());
        assert!(check_database_name("").is_err());
        assert!(check_database_name("a`; DROP DATABASE x; --").is_err());
        assert!(check_database_name(&"x".repeat(MAX_DATABASE_NAME_LEN + 1)).is_err());
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("ccr"), "`ccr`");
        assert_eq!(quote_identifier("a`b"), "`a``b`");
    }
}
