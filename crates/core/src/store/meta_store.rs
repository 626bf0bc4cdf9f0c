//! The metadata store's contract ([`MetaStore`]), its rows and errors, and the helpers both
//! backends share.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::path::PathBuf;

use async_trait::async_trait;

use ccr_wire::secret::Secret;

/// One row of the `jobs` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub name: String,
    /// The persisted job description (JSON, see `job::spec::JobInfo`).
    pub job_info: String,
    /// Identity `host:port` of the syncer that runs the job.
    pub belong_to: String,
    /// The ownership's fencing token: up by one whenever the job changes owner.
    pub epoch: i64,
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
    #[error("job {name} now belongs to syncer {owner} (epoch {epoch})")]
    NotOwner {
        name: String,
        owner: String,
        epoch: i64,
    },
    #[error("metadata store error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("metadata store migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Config(String),
    #[error("stored progress of job {name} is unreadable: {source}")]
    CorruptProgress {
        name: String,
        #[source]
        source: super::progress_codec::ProgressDecodeError,
    },
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
    /// Replace a job's `job_info` only if it is still exactly `expected` (byte for byte);
    /// returns whether it was replaced. For rewrites that must not undo a concurrent
    /// update (re-encrypting passwords at start, while a peer may change the record).
    async fn replace_job_info(
        &self,
        name: &str,
        expected: &str,
        job_info: &str,
    ) -> Result<bool, StoreError>;
    /// Makes overwritten values unreadable from the store's files, after plaintext
    /// passwords were re-encrypted. SQLite zeroes freed space (`secure_delete`) and here
    /// checkpoints and truncates its WAL, which still holds the old pages; MySQL has
    /// nothing to do here (its undo log and binlog are the server's, see the README).
    async fn purge_overwritten(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Delete the job and its progress; returns whether the job existed.
    async fn delete_job(&self, name: &str) -> Result<bool, StoreError>;
    /// Every job of every syncer, ordered by name.
    async fn list_jobs(&self) -> Result<Vec<JobRow>, StoreError>;
    /// Jobs whose `belong_to` equals `owner`, ordered by name.
    async fn list_jobs_owned_by(&self, owner: &str) -> Result<Vec<JobRow>, StoreError>;
    async fn get_progress(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Insert or replace the job's progress with one durable write; [`StoreError::JobNotFound`]
    /// if the job does not exist (a foreign key), so the loop of a job deleted under it
    /// cannot leave a stray progress row behind.
    async fn put_progress(&self, name: &str, progress: &str) -> Result<(), StoreError>;
    /// Like [`MetaStore::put_progress`], but only while the job still belongs to `owner`
    /// under `epoch`: the write is fenced, so a syncer that was declared dead and lost the
    /// job cannot overwrite the new owner's progress, even if the job came back to it since.
    /// [`StoreError::NotOwner`] when the owner or the epoch differ, [`StoreError::JobNotFound`]
    /// when the job is gone.
    async fn put_progress_owned(
        &self,
        name: &str,
        owner: &str,
        epoch: i64,
        progress: &str,
    ) -> Result<(), StoreError>;

    /// How many jobs each syncer owns (owners without jobs are absent): what placement and
    /// balancing need, without reading every job record.
    async fn jobs_per_owner(&self) -> Result<Vec<(String, i64)>, StoreError>;

    /// Moves job `name` from `from` (under `epoch`) to `to`, raising the epoch: a graceful
    /// handover, after `from` has stopped the job. `false` if the job is no longer `from`'s
    /// under that epoch (a takeover came first), and then nothing changes.
    async fn hand_over(
        &self,
        name: &str,
        from: &str,
        epoch: i64,
        to: &str,
    ) -> Result<bool, StoreError>;

    /// The store's clock, Unix milliseconds: heartbeats and takeover decisions use it, never
    /// a syncer's own clock, so clock skew between hosts cannot declare a live syncer dead.
    async fn now_ms(&self) -> Result<i64, StoreError>;

    /// Insert or refresh this syncer's heartbeat.
    async fn heartbeat(&self, host_info: &str, now_ms: i64) -> Result<(), StoreError>;
    async fn list_syncers(&self) -> Result<Vec<SyncerRow>, StoreError>;
    /// High-availability takeover, in one transaction: every syncer other than `me` whose
    /// heartbeat is older than `dead_before_ms` is removed, and its jobs are handed to the
    /// live syncers (including `me`), least loaded first, each with its epoch raised by one.
    /// Returns the names of the jobs that now belong to `me` and did not before.
    ///
    /// Details both backends keep:
    /// - Jobs whose `belong_to` names no `syncers` row at all (removed by an earlier takeover
    ///   or by hand) are orphans too, so no job is stranded forever.
    /// - Orphans are handed out in name order, each to the live syncer with the fewest jobs
    ///   at that moment, ties broken by `host_info`.
    /// - If `me` has no row yet, one is inserted with the current time; an existing row of
    ///   `me` is left alone (refreshing it is [`MetaStore::heartbeat`]'s job, and a caller
    ///   may compare the stored value with the one it wrote last).
    /// - Other receivers' heartbeats are not touched; they learn about their new jobs from
    ///   [`MetaStore::list_jobs_owned_by`]. Only the jobs this call gave to `me` are returned.
    /// - Concurrent takeovers (several syncers on one MySQL database, or several processes on
    ///   one SQLite file) are serialised: SQLite by `BEGIN IMMEDIATE`, MySQL by locking every
    ///   `syncers` row (`SELECT ... FOR UPDATE`) before reading anything else. So each dead
    ///   syncer's jobs are handed out by exactly one transaction, from a view no other
    ///   takeover is changing; a later takeover sees the result and finds nothing to do.
    async fn take_over_dead(
        &self,
        me: &str,
        dead_before_ms: i64,
    ) -> Result<Vec<String>, StoreError>;

    /// Close the connection pool, waiting for in-flight statements to finish. Later calls on
    /// this store fail. Called on graceful shutdown so that SQLite checkpoints its WAL and
    /// MySQL sessions end cleanly instead of being cut. The default does nothing, for test
    /// doubles that hold no connections.
    async fn close(&self) {}
}

/// Where the metadata lives. `Debug` never shows the MySQL password ([`Secret`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// One local file, created (with its parent directories) on first start.
    Sqlite { path: PathBuf },
    /// A MySQL-compatible server shared by several syncers; `database` is created if missing.
    Mysql {
        host: String,
        port: u16,
        user: String,
        password: Secret,
        database: String,
    },
}

/// Wall-clock Unix milliseconds, for the `created_at` / `updated_at` bookkeeping columns and
/// for the heartbeat of a syncer row that `take_over_dead` has to create.
pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Maps a database error raised by an INSERT of job `name` into the store's vocabulary.
pub(super) fn job_insert_error(name: &str, err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::JobExists(name.to_owned())
        }
        _ => StoreError::Database(err),
    }
}

/// Maps a database error raised by writing a progress row: the foreign key to `jobs` fails
/// when the job does not exist (for instance deleted while its loop was still running).
pub(super) fn progress_write_error(name: &str, err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::JobNotFound(name.to_owned())
        }
        _ => StoreError::Database(err),
    }
}

/// What one takeover changes, computed from a consistent (locked) view of `syncers` and of
/// the job counts; both backends execute it the same way.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct TakeoverPlan {
    /// Syncers that receive orphaned jobs, sorted: `me` plus every syncer with a fresh
    /// heartbeat.
    pub(super) live: Vec<String>,
    /// `syncers` rows to delete: every syncer other than `me` with a stale heartbeat.
    pub(super) dead_syncers: Vec<String>,
    /// Owners whose jobs are orphaned: the dead syncers plus owners that have no `syncers`
    /// row at all (their row was removed by an earlier takeover or by hand), so no job can
    /// stay stranded on an owner nobody will ever declare dead.
    pub(super) orphan_owners: Vec<String>,
}

/// Splits syncers into live (`me` always counts as live) and dead, and finds the orphaned
/// owners among the owners of jobs.
pub(super) fn plan_takeover(
    me: &str,
    dead_before_ms: i64,
    syncers: &[SyncerRow],
    jobs_per_owner: &[(String, i64)],
) -> TakeoverPlan {
    let mut live: BTreeSet<String> = BTreeSet::new();
    live.insert(me.to_owned());
    let mut dead_syncers = Vec::new();
    for syncer in syncers {
        if syncer.host_info == me || syncer.heartbeat_ms >= dead_before_ms {
            live.insert(syncer.host_info.clone());
        } else {
            dead_syncers.push(syncer.host_info.clone());
        }
    }
    let mut orphan_owners: Vec<String> = jobs_per_owner
        .iter()
        .filter(|(owner, _)| !live.contains(owner))
        .map(|(owner, _)| owner.clone())
        .collect();
    orphan_owners.sort();
    dead_syncers.sort();
    TakeoverPlan {
        live: live.into_iter().collect(),
        dead_syncers,
        orphan_owners,
    }
}

impl TakeoverPlan {
    pub(super) fn is_empty(&self) -> bool {
        self.dead_syncers.is_empty() && self.orphan_owners.is_empty()
    }
}

/// Hands each orphaned job (taken in name order) to the live syncer with the fewest jobs at
/// that moment, ties broken by `host_info`. Returns `(job_name, new_owner)` pairs.
///
/// Jobs whose names agree up to the first `/` go together, as one unit counted by its size:
/// a whole-cluster job `dr` and its database jobs `dr/<db>` must live on one syncer (other
/// names with a `/` are merely kept together too).
pub(super) fn distribute(
    mut orphan_jobs: Vec<String>,
    live: &[String],
    jobs_per_owner: &[(String, i64)],
) -> Vec<(String, String)> {
    let load: HashMap<&str, i64> = jobs_per_owner
        .iter()
        .map(|(owner, count)| (owner.as_str(), *count))
        .collect();
    let mut heap: BinaryHeap<Reverse<(i64, &str)>> = live
        .iter()
        .map(|host| Reverse((load.get(host.as_str()).copied().unwrap_or(0), host.as_str())))
        .collect();
    orphan_jobs.sort();
    let mut families: Vec<Vec<String>> = Vec::new();
    for job in orphan_jobs {
        let family = |name: &str| name.split('/').next().unwrap_or_default().to_owned();
        match families.iter_mut().find(|f| family(&f[0]) == family(&job)) {
            Some(members) => members.push(job),
            None => families.push(vec![job]),
        }
    }
    let mut assignments = Vec::new();
    for members in families {
        let Some(Reverse((count, host))) = heap.pop() else {
            // `live` always contains `me`, so the heap is never empty.
            break;
        };
        let size = members.len() as i64;
        assignments.extend(members.into_iter().map(|job| (job, host.to_owned())));
        heap.push(Reverse((count + size, host)));
    }
    assignments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syncer(host: &str, heartbeat_ms: i64) -> SyncerRow {
        SyncerRow {
            host_info: host.to_owned(),
            heartbeat_ms,
        }
    }

    #[test]
    fn debug_of_config_hides_the_password() {
        let config = StoreConfig::Mysql {
            host: "127.0.0.1".into(),
            port: 3306,
            user: "root".into(),
            password: Secret::new("hunter2"),
            database: "ccr".into(),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }

    #[test]
    fn plan_separates_dead_live_and_ownerless() {
        let syncers = [syncer("a:1", 100), syncer("b:1", 5), syncer("me:1", 1)];
        let jobs = [
            ("a:1".to_owned(), 2),
            ("b:1".to_owned(), 3),
            ("gone:1".to_owned(), 1),
            ("me:1".to_owned(), 1),
        ];
        let plan = plan_takeover("me:1", 50, &syncers, &jobs);
        assert_eq!(plan.dead_syncers, vec!["b:1".to_owned()]);
        assert_eq!(
            plan.orphan_owners,
            vec!["b:1".to_owned(), "gone:1".to_owned()]
        );
        // `me` is live even with a stale heartbeat.
        assert_eq!(plan.live, vec!["a:1".to_owned(), "me:1".to_owned()]);
    }

    #[test]
    fn plan_counts_me_live_without_a_row() {
        let plan = plan_takeover("me:1", 50, &[], &[("x:1".to_owned(), 1)]);
        assert!(plan.dead_syncers.is_empty());
        assert_eq!(plan.orphan_owners, vec!["x:1".to_owned()]);
        assert_eq!(plan.live, vec!["me:1".to_owned()]);
    }

    #[test]
    fn distribution_fills_the_least_loaded_first() {
        let live = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let loads = [("a".to_owned(), 3), ("b".to_owned(), 0)];
        let jobs = ["j5", "j1", "j2", "j3", "j4"].map(String::from).to_vec();
        let got = distribute(jobs, &live, &loads);
        let expected = [
            ("j1", "b"),
            ("j2", "c"),
            ("j3", "b"),
            ("j4", "c"),
            ("j5", "b"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(j, h)| ((*j).to_owned(), (*h).to_owned()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn a_whole_cluster_job_moves_with_its_database_jobs() {
        let live = vec!["a".to_owned(), "b".to_owned()];
        let jobs = ["dr/db2", "solo", "dr", "dr-x", "dr/db1"]
            .map(String::from)
            .to_vec();
        let got: HashMap<String, String> = distribute(jobs, &live, &[]).into_iter().collect();
        assert_eq!(got["dr"], got["dr/db1"]);
        assert_eq!(got["dr"], got["dr/db2"]);
        // The family counts three: the other jobs go to the other syncer.
        assert_ne!(got["dr"], got["solo"]);
        assert_ne!(got["dr"], got["dr-x"]);
    }

    #[test]
    fn distribution_breaks_ties_by_host() {
        let live = vec!["b".to_owned(), "a".to_owned()];
        let got = distribute(vec!["j".to_owned()], &live, &[]);
        assert_eq!(got, vec![("j".to_owned(), "a".to_owned())]);
    }
}
