//! One suite for the metadata store, run against both backends: SQLite in a temporary
//! directory and MariaDB/MySQL at 127.0.0.1:3306 (root, empty password). Every MySQL test
//! uses its own fresh database `ccr_test_<pid>_<random>`, dropped afterwards even when the
//! test fails. The MySQL tests fail (they do not skip) when the server is unreachable.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ccr_core::store::{open, MetaStore, StoreConfig, StoreError, SyncerRow};
use ccr_wire::secret::Secret;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{Connection, Executor};

const MYSQL_HOST: &str = "127.0.0.1";
const MYSQL_PORT: u16 = 3306;
const MYSQL_USER: &str = "root";
const MARIADB_START_HINT: &str =
    "start it with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd";

/// Upper bound for one test case, so a lock that never frees fails the test instead of
/// hanging the run. Generous: the machine is small and shared.
const CASE_TIMEOUT: Duration = Duration::from_secs(180);

/// Bound on the cleanup connection's waits for locks held by a failed test's sessions.
const CLEANUP_LOCK_WAIT_SECS: u32 = 10;

/// Size of the large progress row: bigger than any realistic JSON job progress, below the
/// 16 MiB `max_allowed_packet` a default MariaDB accepts.
const LARGE_PROGRESS_BYTES: usize = 8 * 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Test environments

/// A place for one test's metadata, plus the guard that removes it afterwards.
struct TestEnv {
    config: StoreConfig,
    /// Held only for their `Drop`, which removes the test's data.
    _sqlite_dir: Option<tempfile::TempDir>,
    _mysql_database: Option<MysqlDatabaseGuard>,
}

impl TestEnv {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("create temp dir");
        let path = dir.path().join("meta").join("ccr.db");
        Self {
            config: StoreConfig::Sqlite { path },
            _sqlite_dir: Some(dir),
            _mysql_database: None,
        }
    }

    /// A fresh, not yet created database name on the local server; fails loudly if the
    /// server cannot be reached.
    async fn mysql() -> Self {
        let mut conn = MySqlConnection::connect_with(&server_options())
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "MariaDB at {MYSQL_HOST}:{MYSQL_PORT} (user {MYSQL_USER}, empty password) is \
                     unreachable: {err}; {MARIADB_START_HINT}"
                )
            });
        conn.execute("SELECT 1").await.expect("query MariaDB");
        let _ = conn.close().await;
        let database = format!(
            "ccr_test_{}_{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let config = StoreConfig::Mysql {
            host: MYSQL_HOST.to_owned(),
            port: MYSQL_PORT,
            user: MYSQL_USER.to_owned(),
            password: Secret::default(),
            database: database.clone(),
        };
        Self {
            config,
            _sqlite_dir: None,
            _mysql_database: Some(MysqlDatabaseGuard { database }),
        }
    }

    async fn open(&self) -> Arc<dyn MetaStore> {
        open(&self.config)
            .await
            .unwrap_or_else(|err| panic!("open {:?}: {err}", self.config))
    }
}

fn server_options() -> MySqlConnectOptions {
    MySqlConnectOptions::new()
        .host(MYSQL_HOST)
        .port(MYSQL_PORT)
        .username(MYSQL_USER)
}

/// Drops the test database when the test ends, passed or failed. `Drop` cannot await, so
/// the cleanup runs on its own thread with its own runtime.
struct MysqlDatabaseGuard {
    database: String,
}

impl Drop for MysqlDatabaseGuard {
    fn drop(&mut self) {
        let database = self.database.clone();
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            runtime.block_on(drop_database(&database))
        })
        .join();
        let problem = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(err)) => format!("could not drop test database {}: {err}", self.database),
            Err(_) => format!("cleanup of test database {} panicked", self.database),
        };
        // A leftover database must not go unnoticed, but panicking while the test is
        // already panicking would abort the whole run.
        if std::thread::panicking() {
            eprintln!("{problem}");
        } else {
            panic!("{problem}");
        }
    }
}

async fn drop_database(database: &str) -> Result<(), sqlx::Error> {
    let mut conn = MySqlConnection::connect_with(&server_options()).await?;
    conn.execute(format!("SET SESSION lock_wait_timeout = {CLEANUP_LOCK_WAIT_SECS}").as_str())
        .await?;
    // A failed test may leave sessions inside a transaction on the database (its pool is
    // closed in the background); end them so the DROP does not wait on their locks.
    // The id is signed on MariaDB and unsigned on MySQL; the cast gives one type.
    let sessions: Vec<i64> = sqlx::query_scalar(
        "SELECT CAST(id AS SIGNED) FROM information_schema.processlist \
         WHERE db = ? AND id <> CONNECTION_ID()",
    )
    .bind(database)
    .fetch_all(&mut conn)
    .await?;
    for id in sessions {
        // The session may have ended meanwhile; that is fine.
        let _ = conn.execute(format!("KILL {id}").as_str()).await;
    }
    // The name was generated by this suite from digits, letters and '_'.
    conn.execute(format!("DROP DATABASE IF EXISTS `{database}`").as_str())
        .await?;
    let _ = conn.close().await;
    Ok(())
}

/// Runs each listed case once per backend, each in a fresh environment.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let env = super::TestEnv::sqlite();
                    tokio::time::timeout(super::CASE_TIMEOUT, super::cases::$case(&env))
                        .await
                        .expect("test case timed out");
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let env = super::TestEnv::mysql().await;
                    tokio::time::timeout(super::CASE_TIMEOUT, super::cases::$case(&env))
                        .await
                        .expect("test case timed out");
                }
            )*
        }
    };
}

on_both_backends!(
    create_get_list_update_delete,
    duplicate_create_is_rejected,
    concurrent_creates_of_one_name_let_exactly_one_win,
    delete_removes_progress,
    missing_jobs_are_reported,
    progress_put_overwrites,
    large_progress_round_trips,
    hostile_names_and_infos_are_stored_verbatim,
    data_survives_close_and_reopen,
    heartbeats_are_listed,
    the_store_clock_is_the_databases,
    a_handover_moves_a_job_once_and_raises_its_epoch,
    takeover_spreads_jobs_of_two_dead_syncers_over_three_live_ones,
    takeover_adopts_jobs_of_owners_without_a_row,
    concurrent_takeovers_hand_each_job_out_once,
    migrations_are_idempotent_and_survive_concurrent_startups,
    owned_progress_writes_are_fenced_by_ownership,
    replace_job_info_replaces_only_an_unchanged_record,
    passwords_are_re_encrypted_once_at_rest_and_rotate_between_keys,
);

// ---------------------------------------------------------------------------------------
// Helpers shared by the cases; generic over any `MetaStore`.

async fn names_owned_by<S: MetaStore + ?Sized>(store: &S, owner: &str) -> Vec<String> {
    store
        .list_jobs_owned_by(owner)
        .await
        .expect("list_jobs_owned_by")
        .into_iter()
        .map(|row| row.name)
        .collect()
}

async fn load_per_owner<S: MetaStore + ?Sized>(store: &S) -> BTreeMap<String, usize> {
    let mut load = BTreeMap::new();
    for row in store.list_jobs().await.expect("list_jobs") {
        *load.entry(row.belong_to).or_insert(0) += 1;
    }
    load
}

async fn create_jobs<S: MetaStore + ?Sized>(store: &S, owner: &str, names: &[&str]) {
    for name in names {
        store
            .create_job(name, &format!("{{\"name\":\"{name}\"}}"), owner)
            .await
            .unwrap_or_else(|err| panic!("create {name}: {err}"));
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

// ---------------------------------------------------------------------------------------
// The cases

mod cases {
    use super::*;
    use ccr_core::job::record::{decode, reseal_passwords};
    use ccr_core::secrets::{SecretKey, SecretKeys};

    fn keys(current: Option<&str>, old: Option<&str>) -> SecretKeys {
        let key = |text: &str| SecretKey::parse(&Secret::new(text)).unwrap();
        SecretKeys::new(current.map(key), old.map(key)).unwrap()
    }

    /// A job record as `/create_ccr` stores it without a key.
    fn plain_record(name: &str, src_password: &str) -> String {
        format!(
            r#"{{"sync_type":1,"name":"{name}","src":{{"host":"h","port":"1","thrift_port":"2","user":"root","password":"{src_password}","database":"d","table":"t"}},"dest":{{"host":"h","port":"1","thrift_port":"2","user":"root","password":"","database":"d","table":"t"}},"skip_error":false,"state":0}}"#
        )
    }

    pub(super) async fn replace_job_info_replaces_only_an_unchanged_record(env: &TestEnv) {
        let store = env.open().await;
        store.create_job("j", "Abc", "me:1").await.unwrap();
        // Byte for byte: a case-insensitive collation must not let "abc" match "Abc".
        assert!(!store.replace_job_info("j", "abc", "new").await.unwrap());
        assert!(!store
            .replace_job_info("missing", "Abc", "new")
            .await
            .unwrap());
        assert_eq!(store.get_job("j").await.unwrap().unwrap().job_info, "Abc");
        assert!(store.replace_job_info("j", "Abc", "new").await.unwrap());
        assert_eq!(store.get_job("j").await.unwrap().unwrap().job_info, "new");
        store.close().await;
    }

    pub(super) async fn passwords_are_re_encrypted_once_at_rest_and_rotate_between_keys(
        env: &TestEnv,
    ) {
        const KEY_1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
        const KEY_2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
        let store = env.open().await;
        for (name, password) in [("a", "pw-of-a-31f"), ("b", "pw-of-b-77c")] {
            store
                .create_job(name, &plain_record(name, password), "me:1")
                .await
                .unwrap();
        }
        // Without a key nothing changes.
        let report = reseal_passwords(&*store, &SecretKeys::none())
            .await
            .unwrap();
        assert!(report.resealed.is_empty() && report.unreadable.is_empty());

        let first = keys(Some(KEY_1), None);
        let report = reseal_passwords(&*store, &first).await.unwrap();
        assert_eq!(report.resealed, ["a", "b"]);
        let stored = store.get_job("a").await.unwrap().unwrap().job_info;
        assert!(!stored.contains("pw-of-a-31f"), "{stored}");
        assert!(
            stored.contains(&format!(
                "\"password\":\"enc:v1:{}:",
                first.current_id().unwrap()
            )),
            "{stored}"
        );
        // The empty target password stays empty.
        assert!(stored.contains(r#""password":"","cluster""#), "{stored}");
        let info = decode("a", &stored, &first).unwrap();
        assert_eq!(info.src.password.expose(), "pw-of-a-31f");
        // Once: a second run leaves the rows alone.
        let report = reseal_passwords(&*store, &first).await.unwrap();
        assert!(report.resealed.is_empty(), "{:?}", report.resealed);
        assert_eq!(store.get_job("a").await.unwrap().unwrap().job_info, stored);

        // Rotation: the old key decrypts, the new key re-encrypts.
        let rotated = keys(Some(KEY_2), Some(KEY_1));
        let report = reseal_passwords(&*store, &rotated).await.unwrap();
        assert_eq!(report.resealed, ["a", "b"]);
        let only_new = keys(Some(KEY_2), None);
        for (name, password) in [("a", "pw-of-a-31f"), ("b", "pw-of-b-77c")] {
            let stored = store.get_job(name).await.unwrap().unwrap().job_info;
            let info = decode(name, &stored, &only_new).unwrap();
            assert_eq!(info.src.password.expose(), password);
        }

        // A key the store's rows were not written under: reported, the rows untouched.
        let before = store.get_job("b").await.unwrap().unwrap().job_info;
        let report = reseal_passwords(&*store, &first).await.unwrap();
        let unreadable: Vec<&str> = report.unreadable.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(unreadable, ["a", "b"]);
        let message = report.unreadable[0].1.to_string();
        assert!(
            message.contains("cannot decrypt the stored src password")
                && message.contains(only_new.current_id().unwrap()),
            "{message}"
        );
        assert_eq!(store.get_job("b").await.unwrap().unwrap().job_info, before);
        store.close().await;
    }

    pub(super) async fn create_get_list_update_delete(env: &TestEnv) {
        let store = env.open().await;
        store
            .create_job("b_job", "{\"v\":1}", "s1:9190")
            .await
            .unwrap();
        store
            .create_job("a_job", "{\"v\":2}", "s2:9190")
            .await
            .unwrap();

        let a = store.get_job("a_job").await.unwrap().expect("a_job exists");
        assert_eq!(a.name, "a_job");
        assert_eq!(a.job_info, "{\"v\":2}");
        assert_eq!(a.belong_to, "s2:9190");
        assert_eq!(store.get_job("nope").await.unwrap(), None);

        let all: Vec<String> = store
            .list_jobs()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(all, strings(&["a_job", "b_job"]), "ordered by name");
        assert_eq!(
            names_owned_by(&*store, "s1:9190").await,
            strings(&["b_job"])
        );
        assert!(names_owned_by(&*store, "s3:9190").await.is_empty());

        store.update_job_info("a_job", "{\"v\":3}").await.unwrap();
        assert_eq!(
            store.get_job("a_job").await.unwrap().unwrap().job_info,
            "{\"v\":3}"
        );
        // Writing the same value again still finds the row.
        store.update_job_info("a_job", "{\"v\":3}").await.unwrap();

        assert!(store.delete_job("a_job").await.unwrap());
        assert!(
            !store.delete_job("a_job").await.unwrap(),
            "second delete finds nothing"
        );
        assert_eq!(store.get_job("a_job").await.unwrap(), None);
        let all: Vec<String> = store
            .list_jobs()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(all, strings(&["b_job"]));
        // Names compare exactly: case matters.
        store.create_job("B_JOB", "{}", "s1:9190").await.unwrap();
        assert_eq!(store.list_jobs().await.unwrap().len(), 2);
        store.close().await;
    }

    pub(super) async fn duplicate_create_is_rejected(env: &TestEnv) {
        let store = env.open().await;
        store.create_job("dup", "first", "s1:1").await.unwrap();
        match store.create_job("dup", "second", "s2:1").await {
            Err(StoreError::JobExists(name)) => assert_eq!(name, "dup"),
            other => panic!("expected JobExists, got {other:?}"),
        }
        let row = store.get_job("dup").await.unwrap().unwrap();
        assert_eq!(
            (row.job_info.as_str(), row.belong_to.as_str()),
            ("first", "s1:1")
        );
        store.close().await;
    }

    pub(super) async fn concurrent_creates_of_one_name_let_exactly_one_win(env: &TestEnv) {
        const CONTENDERS: usize = 8;
        let store = env.open().await;
        let tasks: Vec<_> = (0..CONTENDERS)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let info = format!("contender {i}");
                    (
                        info.clone(),
                        store.create_job("contested", &info, "s:1").await,
                    )
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (info, result) = task.await.expect("task");
            match result {
                Ok(()) => winners.push(info),
                Err(StoreError::JobExists(name)) => assert_eq!(name, "contested"),
                Err(other) => panic!("unexpected error: {other}"),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "exactly one creation succeeds: {winners:?}"
        );
        let stored = store.get_job("contested").await.unwrap().unwrap();
        assert_eq!(stored.job_info, winners[0]);
        store.close().await;
    }

    pub(super) async fn delete_removes_progress(env: &TestEnv) {
        let store = env.open().await;
        store.create_job("j", "{}", "s:1").await.unwrap();
        store.put_progress("j", "{\"commit_seq\":7}").await.unwrap();
        assert!(store.delete_job("j").await.unwrap());
        assert_eq!(store.get_progress("j").await.unwrap(), None);
        // A new job of the same name starts without the old progress.
        store.create_job("j", "{}", "s:1").await.unwrap();
        assert_eq!(store.get_progress("j").await.unwrap(), None);
        store.close().await;
    }

    pub(super) async fn missing_jobs_are_reported(env: &TestEnv) {
        let store = env.open().await;
        match store.update_job_info("ghost", "{}").await {
            Err(StoreError::JobNotFound(name)) => assert_eq!(name, "ghost"),
            other => panic!("expected JobNotFound, got {other:?}"),
        }
        // Progress cannot outlive (or precede) its job.
        match store.put_progress("ghost", "{}").await {
            Err(StoreError::JobNotFound(name)) => assert_eq!(name, "ghost"),
            other => panic!("expected JobNotFound, got {other:?}"),
        }
        assert_eq!(store.get_progress("ghost").await.unwrap(), None);
        assert!(!store.delete_job("ghost").await.unwrap());
        store.close().await;
    }

    pub(super) async fn progress_put_overwrites(env: &TestEnv) {
        let store = env.open().await;
        store.create_job("p", "{}", "s:1").await.unwrap();
        assert_eq!(store.get_progress("p").await.unwrap(), None);
        store.put_progress("p", "{\"commit_seq\":1}").await.unwrap();
        assert_eq!(
            store.get_progress("p").await.unwrap().as_deref(),
            Some("{\"commit_seq\":1}")
        );
        store.put_progress("p", "{\"commit_seq\":2}").await.unwrap();
        assert_eq!(
            store.get_progress("p").await.unwrap().as_deref(),
            Some("{\"commit_seq\":2}")
        );
        // Writing the same value twice is fine too.
        store.put_progress("p", "{\"commit_seq\":2}").await.unwrap();
        store.close().await;
    }

    pub(super) async fn large_progress_round_trips(env: &TestEnv) {
        let store = env.open().await;
        store.create_job("big", "{}", "s:1").await.unwrap();
        // Varied content (multi-byte characters, quotes, backslashes), not one repeated byte.
        let unit = "{\"table\":\"tbl_ä\\\"q'\",\"id\":12345,\"snap\":\"🚀\"},";
        let mut progress = String::with_capacity(LARGE_PROGRESS_BYTES + unit.len());
        let mut i = 0u64;
        while progress.len() < LARGE_PROGRESS_BYTES {
            progress.push_str(unit);
            progress.push_str(&i.to_string());
            i += 1;
        }
        store.put_progress("big", &progress).await.unwrap();
        let read = store
            .get_progress("big")
            .await
            .unwrap()
            .expect("progress stored");
        assert_eq!(read.len(), progress.len());
        assert!(
            read == progress,
            "large progress differs after the round trip"
        );
        store.close().await;
    }

    pub(super) async fn hostile_names_and_infos_are_stored_verbatim(env: &TestEnv) {
        let store = env.open().await;
        let hostile = [
            "it's",
            "say \"hi\"",
            "back`quote`",
            "x'); DROP TABLE jobs; --",
            "a;b;c",
            "back\\slash\\",
            "100%_like",
            "名前_ジョブ_🚀",
            "line\nbreak\ttab",
        ];
        let owner = "host'with\"quotes`:9190";
        for name in hostile {
            let info = format!("{{\"password\":\"p'\\\"`;--{name}\"}}");
            store
                .create_job(name, &info, owner)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            store
                .put_progress(name, &format!("progress of {name}'\"`"))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for name in hostile {
            let row = store
                .get_job(name)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(row.name, name);
            assert_eq!(
                row.job_info,
                format!("{{\"password\":\"p'\\\"`;--{name}\"}}")
            );
            assert_eq!(row.belong_to, owner);
            assert_eq!(
                store.get_progress(name).await.unwrap().as_deref(),
                Some(format!("progress of {name}'\"`").as_str())
            );
        }
        let mut expected = strings(&hostile);
        expected.sort();
        assert_eq!(names_owned_by(&*store, owner).await, expected);
        // "100%_like" must not act as a pattern.
        assert_eq!(store.get_job("100%_lik_").await.unwrap(), None);
        store.heartbeat(owner, 42).await.unwrap();
        assert_eq!(
            store.list_syncers().await.unwrap(),
            vec![SyncerRow {
                host_info: owner.to_owned(),
                heartbeat_ms: 42
            }]
        );
        for name in hostile {
            store.update_job_info(name, "'; --").await.unwrap();
            assert!(store.delete_job(name).await.unwrap(), "{name}");
        }
        assert!(store.list_jobs().await.unwrap().is_empty());
        store.close().await;
    }

    pub(super) async fn data_survives_close_and_reopen(env: &TestEnv) {
        let store = env.open().await;
        store.create_job("kept", "{\"v\":1}", "s1:1").await.unwrap();
        store
            .put_progress("kept", "{\"commit_seq\":99}")
            .await
            .unwrap();
        store.heartbeat("s1:1", 1_700_000_000_123).await.unwrap();
        store.close().await;
        drop(store);

        let store = env.open().await;
        let row = store
            .get_job("kept")
            .await
            .unwrap()
            .expect("job survives reopen");
        assert_eq!(
            (row.job_info.as_str(), row.belong_to.as_str()),
            ("{\"v\":1}", "s1:1")
        );
        assert_eq!(
            store.get_progress("kept").await.unwrap().as_deref(),
            Some("{\"commit_seq\":99}")
        );
        assert_eq!(
            store.list_syncers().await.unwrap(),
            vec![SyncerRow {
                host_info: "s1:1".into(),
                heartbeat_ms: 1_700_000_000_123
            }]
        );
        store.close().await;
    }

    pub(super) async fn heartbeats_are_listed(env: &TestEnv) {
        let store = env.open().await;
        assert!(store.list_syncers().await.unwrap().is_empty());
        store.heartbeat("b:1", 200).await.unwrap();
        store.heartbeat("a:1", 100).await.unwrap();
        store.heartbeat("a:1", 300).await.unwrap();
        assert_eq!(
            store.list_syncers().await.unwrap(),
            vec![
                SyncerRow {
                    host_info: "a:1".into(),
                    heartbeat_ms: 300
                },
                SyncerRow {
                    host_info: "b:1".into(),
                    heartbeat_ms: 200
                },
            ]
        );
        store.close().await;
    }

    pub(super) async fn takeover_spreads_jobs_of_two_dead_syncers_over_three_live_ones(
        env: &TestEnv,
    ) {
        const DEAD_BEFORE: i64 = 1_000;
        let store = env.open().await;
        store.heartbeat("s1:1", 100).await.unwrap();
        store.heartbeat("s2:1", 200).await.unwrap();
        store.heartbeat("s4:1", 2_000).await.unwrap();
        store.heartbeat("s5:1", 2_000).await.unwrap();
        // `me` = s3, which has no syncers row yet.
        create_jobs(&*store, "s1:1", &["d1a", "d1b", "d1c", "d1d"]).await;
        create_jobs(&*store, "s2:1", &["d2a", "d2b", "d2c"]).await;
        create_jobs(&*store, "s3:1", &["m1"]).await;
        create_jobs(&*store, "s5:1", &["l5a", "l5b"]).await;

        let mut mine = store.take_over_dead("s3:1", DEAD_BEFORE).await.unwrap();
        mine.sort();

        // Loads before: s3=1, s4=0, s5=2; orphans in name order, each to the least loaded
        // (ties by host): d1a→s4, d1b→s3, d1c→s4, d1d→s3, d2a→s4, d2b→s5, d2c→s3.
        assert_eq!(mine, strings(&["d1b", "d1d", "d2c"]));
        let load = load_per_owner(&*store).await;
        let expected: BTreeMap<String, usize> = [
            ("s3:1".to_owned(), 4),
            ("s4:1".to_owned(), 3),
            ("s5:1".to_owned(), 3),
        ]
        .into();
        assert_eq!(load, expected, "balanced over the live syncers only");
        assert_eq!(
            names_owned_by(&*store, "s3:1").await,
            strings(&["d1b", "d1d", "d2c", "m1"])
        );
        assert_eq!(
            names_owned_by(&*store, "s4:1").await,
            strings(&["d1a", "d1c", "d2a"])
        );
        assert_eq!(
            names_owned_by(&*store, "s5:1").await,
            strings(&["d2b", "l5a", "l5b"])
        );

        // Dead rows are gone; `me` got a row; live rows keep their heartbeats.
        let syncers = store.list_syncers().await.unwrap();
        let hosts: Vec<&str> = syncers.iter().map(|s| s.host_info.as_str()).collect();
        assert_eq!(hosts, ["s3:1", "s4:1", "s5:1"]);
        assert_eq!(syncers[1].heartbeat_ms, 2_000);
        assert_eq!(syncers[2].heartbeat_ms, 2_000);

        // Nothing left to do: a second run changes nothing.
        assert!(store
            .take_over_dead("s3:1", DEAD_BEFORE)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(load_per_owner(&*store).await, expected);
        store.close().await;
    }

    pub(super) async fn takeover_adopts_jobs_of_owners_without_a_row(env: &TestEnv) {
        let store = env.open().await;
        store.heartbeat("me:1", 5_000).await.unwrap();
        store.heartbeat("peer:1", 5_000).await.unwrap();
        create_jobs(&*store, "peer:1", &["p1"]).await;
        create_jobs(&*store, "vanished:1", &["v1", "v2", "v3"]).await;
        // A stale `me` still counts as live for its own takeover.
        let mut mine = store.take_over_dead("me:1", 10_000).await.unwrap();
        mine.sort();
        // Loads me=0, peer=1 (peer is stale too, so it is dead and p1 is an orphan as well).
        // Only `me` is live: it gets everything.
        assert_eq!(mine, strings(&["p1", "v1", "v2", "v3"]));
        let hosts: Vec<String> = store
            .list_syncers()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.host_info)
            .collect();
        assert_eq!(hosts, strings(&["me:1"]));

        // With a fresh peer, ownerless jobs are shared.
        store.heartbeat("peer:1", 20_000).await.unwrap();
        create_jobs(&*store, "vanished:2", &["w1", "w2", "w3", "w4"]).await;
        let mine = store.take_over_dead("me:1", 10_000).await.unwrap();
        // me=4, peer=0: peer gets w1..w4.
        assert!(mine.is_empty(), "{mine:?}");
        assert_eq!(
            names_owned_by(&*store, "peer:1").await,
            strings(&["w1", "w2", "w3", "w4"])
        );
        store.close().await;
    }

    pub(super) async fn concurrent_takeovers_hand_each_job_out_once(env: &TestEnv) {
        const JOBS: usize = 12;
        // Two stores = two syncer processes, each with its own pool.
        let a = env.open().await;
        let b = env.open().await;
        a.heartbeat("a:1", 10_000).await.unwrap();
        b.heartbeat("b:1", 10_000).await.unwrap();
        a.heartbeat("dead:1", 1).await.unwrap();
        let names: Vec<String> = (0..JOBS).map(|i| format!("job{i:02}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        create_jobs(&*a, "dead:1", &refs).await;

        let (got_a, got_b) = tokio::join!(
            a.take_over_dead("a:1", 5_000),
            b.take_over_dead("b:1", 5_000)
        );
        let got_a: BTreeSet<String> = got_a.unwrap().into_iter().collect();
        let got_b: BTreeSet<String> = got_b.unwrap().into_iter().collect();
        assert!(got_a.is_disjoint(&got_b), "{got_a:?} / {got_b:?}");

        let owned_a: BTreeSet<String> = names_owned_by(&*a, "a:1").await.into_iter().collect();
        let owned_b: BTreeSet<String> = names_owned_by(&*a, "b:1").await.into_iter().collect();
        assert!(got_a.is_subset(&owned_a), "a reports only jobs it owns");
        assert!(got_b.is_subset(&owned_b), "b reports only jobs it owns");
        assert_eq!(
            owned_a.len() + owned_b.len(),
            JOBS,
            "every job has one live owner"
        );
        // Whichever ran first saw both as live and split the jobs evenly.
        assert_eq!(owned_a.len(), JOBS / 2);
        let hosts: Vec<String> = a
            .list_syncers()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.host_info)
            .collect();
        assert_eq!(hosts, strings(&["a:1", "b:1"]));
        a.close().await;
        b.close().await;
    }

    pub(super) async fn owned_progress_writes_are_fenced_by_ownership(env: &TestEnv) {
        let store = env.open().await;
        store.create_job("f", "{}", "a:1").await.unwrap();
        assert_eq!(store.get_job("f").await.unwrap().unwrap().epoch, 1);
        store.put_progress_owned("f", "a:1", 1, "p1").await.unwrap();
        // The same content twice (MySQL then reports no changed row) is still fine.
        store.put_progress_owned("f", "a:1", 1, "p1").await.unwrap();
        assert_eq!(
            store.get_progress("f").await.unwrap().as_deref(),
            Some("p1")
        );
        // b takes the job over while a still runs it: a's next write is refused.
        store.heartbeat("a:1", 0).await.unwrap();
        store.heartbeat("b:1", 100_000).await.unwrap();
        let adopted = store.take_over_dead("b:1", 50_000).await.unwrap();
        assert_eq!(adopted, strings(&["f"]));
        assert_eq!(store.get_job("f").await.unwrap().unwrap().epoch, 2);
        match store.put_progress_owned("f", "a:1", 1, "stale").await {
            Err(StoreError::NotOwner { owner, epoch, .. }) => {
                assert_eq!((owner.as_str(), epoch), ("b:1", 2))
            }
            other => panic!("expected NotOwner, got {other:?}"),
        }
        assert_eq!(
            store.get_progress("f").await.unwrap().as_deref(),
            Some("p1")
        );
        store.put_progress_owned("f", "b:1", 2, "p2").await.unwrap();
        assert_eq!(
            store.get_progress("f").await.unwrap().as_deref(),
            Some("p2")
        );
        // The job comes back to a (b dies in turn): a's old task, still writing under
        // epoch 1, is refused although a owns the job again.
        store.heartbeat("a:1", 200_000).await.unwrap();
        let adopted = store.take_over_dead("a:1", 150_000).await.unwrap();
        assert_eq!(adopted, strings(&["f"]));
        assert_eq!(store.get_job("f").await.unwrap().unwrap().epoch, 3);
        assert!(matches!(
            store.put_progress_owned("f", "a:1", 1, "stale").await,
            Err(StoreError::NotOwner { .. })
        ));
        store.put_progress_owned("f", "a:1", 3, "p3").await.unwrap();
        assert!(store.delete_job("f").await.unwrap());
        assert!(matches!(
            store.put_progress_owned("f", "a:1", 3, "p4").await,
            Err(StoreError::JobNotFound(_))
        ));
        store.close().await;
    }

    pub(super) async fn a_handover_moves_a_job_once_and_raises_its_epoch(env: &TestEnv) {
        let store = env.open().await;
        for name in ["h1", "h2", "h3"] {
            store.create_job(name, "{}", "a:1").await.unwrap();
        }
        let mut counts = store.jobs_per_owner().await.unwrap();
        counts.sort();
        assert_eq!(counts, vec![("a:1".to_owned(), 3)]);
        assert!(store.hand_over("h2", "a:1", 1, "b:1").await.unwrap());
        let row = store.get_job("h2").await.unwrap().unwrap();
        assert_eq!((row.belong_to.as_str(), row.epoch), ("b:1", 2));
        // A second handover of the same epoch (a retry, or a takeover came first) changes
        // nothing.
        assert!(!store.hand_over("h2", "a:1", 1, "c:1").await.unwrap());
        assert_eq!(store.get_job("h2").await.unwrap().unwrap().belong_to, "b:1");
        let mut counts = store.jobs_per_owner().await.unwrap();
        counts.sort();
        assert_eq!(counts, vec![("a:1".to_owned(), 2), ("b:1".to_owned(), 1)]);
        store.close().await;
    }

    pub(super) async fn the_store_clock_is_the_databases(env: &TestEnv) {
        let store = env.open().await;
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let first = store.now_ms().await.unwrap();
        // The same machine here, so the clocks agree to within a minute; and it moves on.
        assert!(
            (first - system).abs() < 60_000,
            "store {first}, system {system}"
        );
        let second = store.now_ms().await.unwrap();
        assert!(second >= first, "{second} < {first}");
        store.close().await;
    }

    pub(super) async fn migrations_are_idempotent_and_survive_concurrent_startups(env: &TestEnv) {
        // Two syncers starting at once on a store that does not exist yet.
        let (first, second) = tokio::join!(open(&env.config), open(&env.config));
        let first = first.unwrap_or_else(|e| panic!("first concurrent open: {e}"));
        let second = second.unwrap_or_else(|e| panic!("second concurrent open: {e}"));
        first.create_job("m", "{}", "s:1").await.unwrap();
        assert!(second.get_job("m").await.unwrap().is_some());
        first.close().await;
        second.close().await;
        // And again, sequentially: nothing left to apply, data intact.
        for _ in 0..2 {
            let store = env.open().await;
            assert_eq!(store.list_jobs().await.unwrap().len(), 1);
            store.close().await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Backend-specific error reporting

#[tokio::test]
async fn sqlite_open_on_an_unwritable_path_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not_a_dir");
    std::fs::write(&blocker, b"a regular file").unwrap();

    // The parent "directory" is a regular file.
    let path = blocker.join("ccr.db");
    let err = open(&StoreConfig::Sqlite { path: path.clone() })
        .await
        .err()
        .expect("opening under a regular file must fail");
    let message = err.to_string();
    assert!(matches!(err, StoreError::Config(_)), "{err:?}");
    assert!(
        message.contains(&blocker.display().to_string()),
        "{message}"
    );

    // The path is a directory.
    let path = dir.path().join("a_directory.db");
    std::fs::create_dir(&path).unwrap();
    let err = open(&StoreConfig::Sqlite { path: path.clone() })
        .await
        .err()
        .expect("opening a directory must fail");
    let message = err.to_string();
    assert!(matches!(err, StoreError::Config(_)), "{err:?}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("SQLite"), "{message}");
}

#[tokio::test]
async fn mysql_open_on_a_closed_port_fails_clearly() {
    // Bind then release a port so nothing listens on it.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = StoreConfig::Mysql {
        host: "127.0.0.1".into(),
        port,
        user: "root".into(),
        password: Secret::new("not-to-be-shown"),
        database: "ccr".into(),
    };
    let err = open(&config).await.err().expect("nothing listens there");
    let message = err.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(!message.contains("not-to-be-shown"), "{message}");
    assert!(!format!("{config:?}").contains("not-to-be-shown"));
}

#[tokio::test]
async fn mysql_rejects_an_unsafe_database_name() {
    let config = StoreConfig::Mysql {
        host: MYSQL_HOST.into(),
        port: MYSQL_PORT,
        user: MYSQL_USER.into(),
        password: Secret::default(),
        database: "ccr`; DROP DATABASE mysql; --".into(),
    };
    let err = open(&config).await.err().expect("name must be rejected");
    assert!(matches!(err, StoreError::Config(_)), "{err:?}");
}

#[tokio::test]
async fn mysql_rejects_overlong_values_instead_of_truncating_them() {
    let env = TestEnv::mysql().await;
    let store = env.open().await;
    // Two names sharing the first 512 characters (the column's width): truncation would
    // make them collide, or silently store a different name.
    let stem = "n".repeat(512);
    let err = store
        .create_job(&format!("{stem}-a"), "{}", "s:1")
        .await
        .expect_err("a 514-character name does not fit");
    assert!(err.to_string().contains("too long"), "{err}");
    assert!(store.list_jobs().await.unwrap().is_empty());
    store.close().await;
}
