//! In-memory stand-ins for the two clusters, the progress store and the clock, and the job
//! state machine tested against them: no cluster, no process, milliseconds per test.
//!
//! The fakes keep just enough state to answer as Doris does for one table: binlogs to hand
//! out, a backup that finishes when polled, a restore that creates the target table,
//! transactions found again by label. Every call that changes something is written to a
//! shared [`Journal`], so a test can check what happened in which order (for example that
//! the snapshot name was saved before the backup started).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::watch;

use super::clock::Clock;
use super::cluster::{IngestCall, SourceCluster, TabletCommit, TargetCluster};
use super::context::{JobContext, JobControl};
use super::features::FeatureFlags;
use super::lease::{FencedTarget, JobFence, Lease};
use super::settings::JobSettings;
use super::snapshot_slots::SnapshotSlots;
use super::source_watch::SourceWatch;
use super::spec::{ClusterSpec, JobInfo, SyncType};
use super::status::JobStatus;
use crate::metrics::JobMetrics;
use crate::progress::Progress;
use crate::store::{progress_codec, ProgressStore, StoreError};
use ccr_binlog::{parse, Binlog, BinlogType};
use ccr_doris::cluster::{
    BackupTarget, BeginTxn, BinlogBatch, BinlogLag, CommitOutcome, NamedSnapshotJob,
    RestoreRequest, RollbackOutcome, Snapshot, SnapshotJobState, TxnState,
};
use ccr_doris::meta::{BackendMeta, DbMeta, IndexMeta, PartitionMeta, ReplicaMeta, TableMeta};
use ccr_doris::sql::{BackendRow, TableRow};
use ccr_doris::DorisError;
use ccr_wire::types::TBinlog;
use ccr_wire::Secret;

pub const SRC_DB_ID: i64 = 1;
pub const SRC_TABLE_ID: i64 = 10;
pub const DEST_DB_ID: i64 = 2;
pub const DEST_TABLE_ID: i64 = 20;
/// The commit seq the source's snapshot covers.
pub const SNAPSHOT_SEQ: i64 = 5;

/// What the fakes did, in order: `save <phase>/<sub-state>`, `backup <name>`,
/// `restore <label>`, `begin <label>`, `ingest <n>`, `commit <txn>`, `exec <sql>`.
#[derive(Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn push(&self, entry: String) {
        self.0.lock().push(entry);
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.lock().clone()
    }

    /// Entries starting with `prefix`.
    pub fn matching(&self, prefix: &str) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|e| e.starts_with(prefix))
            .collect()
    }

    /// Index of the first entry starting with `prefix`.
    pub fn position(&self, prefix: &str) -> Option<usize> {
        self.entries().iter().position(|e| e.starts_with(prefix))
    }
}

fn unavailable(what: &str) -> DorisError {
    DorisError::Connect {
        addr: "fake".into(),
        message: format!("{what}: injected failure"),
    }
}

fn backend(id: i64, host: &str) -> BackendMeta {
    BackendMeta {
        id,
        host: host.into(),
        be_port: 9060,
        http_port: 8040,
        alive: true,
    }
}

/// One table with one partition, one index and one tablet on one BE.
fn one_tablet_table(id: i64, name: &str, partition: i64, tablet: i64, be: i64) -> TableMeta {
    TableMeta {
        id,
        name: name.into(),
        partitions: vec![PartitionMeta {
            id: partition,
            name: "p1".into(),
            range: "[types: [INT]; keys: [0]; ..types: [INT]; keys: [100]; )".into(),
            visible_version: 100,
            is_temp: false,
            indexes: vec![IndexMeta {
                id: partition + 1,
                name: name.into(),
                tablets: vec![ccr_doris::meta::TabletMeta {
                    id: tablet,
                    replicas: vec![ReplicaMeta {
                        id: tablet + 1,
                        backend_id: be,
                        version: 100,
                    }],
                }],
            }],
        }],
    }
}

fn db_meta(id: i64, table: TableMeta) -> DbMeta {
    DbMeta {
        id,
        tables: BTreeMap::from([(table.id, table)]),
        ..Default::default()
    }
}

/// A backup the fake source keeps.
struct FakeBackup {
    state: SnapshotJobState,
    /// What it covers (empty: every table).
    targets: Vec<BackupTarget>,
    /// Polls it answers RUNNING before FINISHED.
    polls_left: u32,
    /// Started by someone else than a job (the test): finishes only when told.
    alien: bool,
}

impl FakeBackup {
    fn is_running(&self) -> bool {
        !self.state.is_finished() && !self.state.is_cancelled()
    }
}

struct SourceState {
    binlogs: Vec<TBinlog>,
    /// The source tables by id (one, `t`, unless a test adds or drops some).
    tables: BTreeMap<i64, String>,
    /// getBinlog calls per stream (`None`: the database stream).
    binlog_calls: HashMap<Option<i64>, u64>,
    /// getMeta calls per table asked for.
    meta_calls: HashMap<i64, u64>,
    /// The database stream answers BINLOG_NOT_FOUND_DB while set.
    db_stream_missing: bool,
    /// Binlogs up to this seq were purged.
    purged_through: i64,
    backups: Vec<(String, FakeBackup)>,
    /// Polls each new backup answers RUNNING before FINISHED.
    backup_polls_running: u32,
    /// Backups answer RUNNING while this is set, whatever their polls.
    hold_backups: bool,
    fail_get_binlogs: u32,
}

impl Default for SourceState {
    fn default() -> Self {
        SourceState {
            binlogs: Vec::new(),
            tables: BTreeMap::from([(SRC_TABLE_ID, "t".to_owned())]),
            binlog_calls: HashMap::new(),
            meta_calls: HashMap::new(),
            db_stream_missing: false,
            purged_through: 0,
            backups: Vec::new(),
            backup_polls_running: 0,
            hold_backups: false,
            fail_get_binlogs: 0,
        }
    }
}

impl SourceState {
    fn backup(&mut self, name: &str) -> Option<&mut FakeBackup> {
        self.backups
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
    }
}

/// Doris's refusal of a second backup or restore of one database.
fn busy(addr: &str, sql: &str) -> DorisError {
    DorisError::Sql {
        addr: addr.into(),
        sql: sql.into(),
        message: "errCode = 2, detailMessage = Can only run one backup or restore job of a \
                  database at same time"
            .into(),
    }
}

/// What happens while a getBinlog call is under way (a freeze, a takeover).
type FetchHook = Box<dyn FnOnce() + Send>;

/// A source cluster with one table `src_db.t` (id [`SRC_TABLE_ID`]).
pub struct FakeSource {
    state: Mutex<SourceState>,
    journal: Journal,
    during_next_fetch: Mutex<Option<FetchHook>>,
    /// What [`SourceCluster::download_host`] applies (empty: hosts pass through).
    pub host_mapping: ccr_doris::HostMapping,
}

impl FakeSource {
    pub fn new(journal: Journal) -> Arc<Self> {
        Arc::new(FakeSource {
            state: Mutex::new(SourceState::default()),
            journal,
            during_next_fetch: Mutex::new(None),
            host_mapping: ccr_doris::HostMapping::default(),
        })
    }

    /// Appends a binlog to the source's stream.
    pub fn push(&self, binlog: &Binlog) {
        self.state
            .lock()
            .binlogs
            .push(binlog.to_wire().expect("binlog encodes"));
    }

    /// Purges every binlog up to `seq`.
    pub fn purge_through(&self, seq: i64) {
        let mut state = self.state.lock();
        state.purged_through = seq;
        state.binlogs.retain(|b| b.commit_seq.unwrap_or(0) > seq);
    }

    /// Backups answer RUNNING this many times before FINISHED.
    pub fn backups_take_polls(&self, polls: u32) {
        self.state.lock().backup_polls_running = polls;
    }

    /// While `hold` is set, every backup answers RUNNING.
    pub fn hold_backups(&self, hold: bool) {
        self.state.lock().hold_backups = hold;
    }

    /// Starts a backup as a user (or another syncer) would: it runs until
    /// [`FakeSource::finish_alien_backup`] or a cancel.
    pub fn start_alien_backup(&self, name: &str) {
        self.state.lock().backups.push((
            name.to_owned(),
            FakeBackup {
                state: SnapshotJobState {
                    state: "SNAPSHOTING".into(),
                    status: "[OK]".into(),
                },
                targets: Vec::new(),
                polls_left: 0,
                alien: true,
            },
        ));
    }

    pub fn finish_alien_backup(&self, name: &str) {
        if let Some(backup) = self.state.lock().backup(name) {
            backup.state.state = "FINISHED".into();
        }
    }

    /// The state of backup `name` without polling it.
    pub fn backup_state_now(&self, name: &str) -> Option<String> {
        self.state
            .lock()
            .backup(name)
            .map(|b| b.state.state.clone())
    }

    /// The tables each backup covered, by snapshot name, in the order they started.
    pub fn backups(&self) -> Vec<(String, Vec<String>)> {
        self.state
            .lock()
            .backups
            .iter()
            .filter(|(_, b)| !b.alien)
            .map(|(name, b)| {
                (
                    name.clone(),
                    b.targets.iter().map(|t| t.table.clone()).collect(),
                )
            })
            .collect()
    }

    /// Runs `hook` inside the next getBinlog call, after the binlogs are read: what the
    /// caller meets between reading a binlog and applying it.
    pub fn during_next_fetch(&self, hook: impl FnOnce() + Send + 'static) {
        *self.during_next_fetch.lock() = Some(Box::new(hook));
    }

    /// The next `calls` getBinlog calls fail as if the FE were unreachable.
    pub fn fail_get_binlogs(&self, calls: u32) {
        self.state.lock().fail_get_binlogs = calls;
    }

    /// Adds source table `name` with id `id` (one partition, index and tablet).
    pub fn add_table(&self, id: i64, name: &str) {
        self.state.lock().tables.insert(id, name.to_owned());
    }

    /// Drops source table `id`: gone from the metadata, a DROP_TABLE in the database
    /// stream at `seq`.
    pub fn drop_table(&self, id: i64, seq: i64) {
        self.state.lock().tables.remove(&id);
        self.push(&drop_table(id, seq));
    }

    /// While `missing`, the database stream answers BINLOG_NOT_FOUND_DB (table streams
    /// still answer).
    pub fn set_db_stream_missing(&self, missing: bool) {
        self.state.lock().db_stream_missing = missing;
    }

    /// getBinlog calls so far on the stream of `table` (`None`: the database stream).
    pub fn binlog_calls(&self, table: Option<i64>) -> u64 {
        self.state
            .lock()
            .binlog_calls
            .get(&table)
            .copied()
            .unwrap_or(0)
    }

    /// getMeta calls so far that asked for table `id`.
    pub fn meta_calls(&self, id: i64) -> u64 {
        self.state.lock().meta_calls.get(&id).copied().unwrap_or(0)
    }
}

#[async_trait]
impl SourceCluster for FakeSource {
    async fn get_binlogs(
        &self,
        _db: &str,
        table: Option<(&str, i64)>,
        after: i64,
        max: i64,
    ) -> Result<BinlogBatch, DorisError> {
        let mut state = self.state.lock();
        let stream = table.map(|(_, id)| id);
        *state.binlog_calls.entry(stream).or_default() += 1;
        if state.fail_get_binlogs > 0 {
            state.fail_get_binlogs -= 1;
            return Err(unavailable("getBinlog"));
        }
        if stream.is_none() && state.db_stream_missing {
            return Err(DorisError::Status {
                method: "getBinlog",
                code: ccr_wire::status::TStatusCode::BINLOG_NOT_FOUND_DB.0,
                message: String::new(),
            });
        }
        // A table's stream: the binlogs naming it, but CREATE_TABLE and DROP_TABLE, which
        // only the database stream holds.
        let in_stream = |b: &TBinlog| match stream {
            None => true,
            Some(id) => {
                b.table_ids.as_ref().is_some_and(|ids| ids.contains(&id))
                    && !matches!(
                        b.type_,
                        Some(ccr_wire::types::TBinlogType::CREATE_TABLE)
                            | Some(ccr_wire::types::TBinlogType::DROP_TABLE)
                    )
            }
        };
        let binlogs: Vec<TBinlog> = state
            .binlogs
            .iter()
            .filter(|b| b.commit_seq.unwrap_or(0) > after && in_stream(b))
            .take(max as usize)
            .cloned()
            .collect();
        let too_old = after < state.purged_through;
        drop(state);
        if let Some(hook) = self.during_next_fetch.lock().take() {
            hook();
        }
        if binlogs.is_empty() {
            return Ok(BinlogBatch::CaughtUp);
        }
        Ok(BinlogBatch::Binlogs { binlogs, too_old })
    }

    async fn binlog_lag(
        &self,
        _db: &str,
        _table: Option<(&str, i64)>,
        after: i64,
    ) -> Result<BinlogLag, DorisError> {
        let state = self.state.lock();
        let behind: Vec<&TBinlog> = state
            .binlogs
            .iter()
            .filter(|b| b.commit_seq.unwrap_or(0) > after)
            .collect();
        Ok(BinlogLag {
            lag: behind.len() as i64,
            last_commit_seq: state.binlogs.last().and_then(|b| b.commit_seq),
            next_binlog_timestamp: behind.first().and_then(|b| b.timestamp),
            last_binlog_timestamp: behind.last().and_then(|b| b.timestamp),
            ..Default::default()
        })
    }

    async fn table_meta(&self, _db_id: i64, table_ids: &[i64]) -> Result<DbMeta, DorisError> {
        let mut state = self.state.lock();
        for id in table_ids {
            *state.meta_calls.entry(*id).or_default() += 1;
        }
        // Table `t` keeps the partition ids the tests know; others get their own.
        let tables = state
            .tables
            .iter()
            .filter(|(id, _)| table_ids.is_empty() || table_ids.contains(id))
            .map(|(id, name)| {
                let partition = if *id == SRC_TABLE_ID { 100 } else { id * 100 };
                (
                    *id,
                    one_tablet_table(*id, name, partition, partition + 10, 1),
                )
            })
            .collect();
        Ok(DbMeta {
            id: SRC_DB_ID,
            tables,
            ..Default::default()
        })
    }

    async fn tables(&self, _db_id: i64) -> Result<Vec<TableRow>, DorisError> {
        Ok(self
            .state
            .lock()
            .tables
            .iter()
            .map(|(id, name)| TableRow {
                id: *id,
                name: name.clone(),
                is_view: false,
            })
            .collect())
    }

    async fn backends(&self) -> Result<Vec<BackendMeta>, DorisError> {
        Ok(vec![backend(1, "source-be")])
    }

    async fn master_token(&self) -> Result<Secret, DorisError> {
        Ok(Secret::new("token"))
    }

    fn download_host(&self, host: &str) -> String {
        self.host_mapping.resolve(host)
    }

    async fn backup(
        &self,
        _db: &str,
        snapshot: &str,
        targets: &[BackupTarget],
    ) -> Result<(), DorisError> {
        let mut state = self.state.lock();
        // Doris: one backup or restore per database at a time.
        if state.backups.iter().any(|(_, b)| b.is_running()) {
            self.journal.push(format!("backup refused {snapshot}"));
            return Err(busy("source-fe", "BACKUP"));
        }
        let tables: Vec<&str> = targets.iter().map(|t| t.table.as_str()).collect();
        self.journal
            .push(format!("backup {snapshot} ON ({})", tables.join(", ")));
        let polls_left = state.backup_polls_running;
        state.backups.push((
            snapshot.to_owned(),
            FakeBackup {
                state: SnapshotJobState {
                    state: "PENDING".into(),
                    status: "[OK]".into(),
                },
                targets: targets.to_vec(),
                polls_left,
                alien: false,
            },
        ));
        Ok(())
    }

    async fn backup_state(
        &self,
        _db: &str,
        snapshot: &str,
    ) -> Result<Option<SnapshotJobState>, DorisError> {
        let mut state = self.state.lock();
        let held = state.hold_backups;
        Ok(state.backup(snapshot).map(|job| {
            if held && job.is_running() {
                job.state.state = "RUNNING".into();
            } else if job.is_running() && !job.alien {
                if job.polls_left > 0 {
                    job.polls_left -= 1;
                    job.state.state = "RUNNING".into();
                } else {
                    job.state.state = "FINISHED".into();
                }
            }
            job.state.clone()
        }))
    }

    async fn backup_jobs(&self, _db: &str) -> Result<Vec<NamedSnapshotJob>, DorisError> {
        Ok(self
            .state
            .lock()
            .backups
            .iter()
            .map(|(name, b)| NamedSnapshotJob {
                name: name.clone(),
                state: b.state.clone(),
            })
            .collect())
    }

    async fn cancel_backup(&self, _db: &str) -> Result<(), DorisError> {
        let mut state = self.state.lock();
        let Some((name, backup)) = state.backups.iter_mut().rev().find(|(_, b)| b.is_running())
        else {
            return Err(unavailable("No backup job is currently running"));
        };
        self.journal.push(format!("cancel backup {name}"));
        backup.state.state = "CANCELLED".into();
        backup.state.status = "[CANCELLED, msg: user cancelled]".into();
        Ok(())
    }

    async fn get_snapshot(
        &self,
        _db: &str,
        _table: &str,
        snapshot: &str,
    ) -> Result<Snapshot, DorisError> {
        let mut state = self.state.lock();
        let all_tables = state.tables.clone();
        let Some(backup) = state.backup(snapshot).filter(|b| b.state.is_finished()) else {
            return Err(unavailable("getSnapshot of an unknown snapshot"));
        };
        // The whole snapshot, whatever table the caller names (only its privilege check
        // reads it).
        let covered: Vec<(i64, String)> = all_tables
            .into_iter()
            .filter(|(_, name)| {
                backup.targets.is_empty() || backup.targets.iter().any(|t| &t.table == name)
            })
            .collect();
        let objects: Vec<String> = covered
            .iter()
            .map(|(id, name)| format!(r#""{name}":{{"id":{id},"partitions":{{}}}}"#))
            .collect();
        let cut_points: Vec<String> = covered
            .iter()
            .map(|(id, _)| format!(r#""{id}":{SNAPSHOT_SEQ}"#))
            .collect();
        Ok(Snapshot {
            meta: b"{}".to_vec(),
            job_info: format!(
                r#"{{"backup_objects":{{{}}},"new_backup_objects":{{"views":[]}},"table_commit_seq_map":{{{}}}}}"#,
                objects.join(","),
                cut_points.join(",")
            )
            .into_bytes(),
            expired_at: None,
            commit_seq: Some(SNAPSHOT_SEQ),
        })
    }
}

#[derive(Default)]
struct TargetState {
    /// Target tables by name (the restore creates `t`).
    tables: BTreeMap<String, i64>,
    restores: HashMap<String, RestoreRequest>,
    /// label → (txn id, status).
    txns: HashMap<String, (i64, String)>,
    next_txn: i64,
    /// Tablets ingested into each open transaction.
    ingested: HashMap<i64, usize>,
    /// `source_host:source_http_port` of every ingest call, in order.
    ingest_sources: Vec<String>,
    /// The job info of every snapshot restored, in order.
    restored_job_infos: Vec<Vec<u8>>,
    /// Transactions whose commit took effect: label → tablets committed.
    committed: BTreeMap<String, usize>,
    /// The next commit takes effect but its answer is lost.
    lose_next_commit_answer: bool,
    /// The commit of the transaction under this label is refused, once, and takes no
    /// effect.
    refuse_commit_of: Option<String>,
    /// ingest calls that fail before any succeeds again.
    fail_ingests: u32,
    /// getMeta calls answered.
    meta_calls: usize,
    /// Statements the target refuses until told otherwise.
    refuse_statements: bool,
    /// `MaxDiskUsedPct` of the target BE.
    disk_used_pct: f64,
    /// The restore that holds the database: accepted, not yet seen finished.
    running_restore: Option<String>,
    /// A restore someone else runs on the database, until the test ends it.
    alien_restore: Option<String>,
}

/// A target cluster: database `dest_db` (id [`DEST_DB_ID`]), empty until a restore.
pub struct FakeTarget {
    state: Mutex<TargetState>,
    journal: Journal,
}

impl FakeTarget {
    pub fn new(journal: Journal) -> Arc<Self> {
        Arc::new(FakeTarget {
            state: Mutex::new(TargetState {
                next_txn: 1000,
                ..Default::default()
            }),
            journal,
        })
    }

    /// The labels of the transactions that took effect, with their tablet counts.
    pub fn committed(&self) -> BTreeMap<String, usize> {
        self.state.lock().committed.clone()
    }

    /// `source_host:source_http_port` of every ingest call so far.
    pub fn ingest_sources(&self) -> Vec<String> {
        self.state.lock().ingest_sources.clone()
    }

    /// The job info of every snapshot restored so far (with the extra info the job added).
    pub fn restored_job_infos(&self) -> Vec<String> {
        self.state
            .lock()
            .restored_job_infos
            .iter()
            .map(|info| String::from_utf8_lossy(info).into_owned())
            .collect()
    }

    /// Every restore request accepted, in order.
    pub fn restore_requests(&self) -> Vec<RestoreRequest> {
        let state = self.state.lock();
        let mut requests: Vec<RestoreRequest> = state.restores.values().cloned().collect();
        requests.sort_by(|a, b| a.label.cmp(&b.label));
        requests
    }

    /// Target table names, as restores made them.
    pub fn table_names(&self) -> Vec<String> {
        self.state.lock().tables.keys().cloned().collect()
    }

    /// Starts a restore as someone else would: it holds the database until
    /// [`FakeTarget::finish_alien_restore`] or a cancel.
    pub fn start_alien_restore(&self, label: &str) {
        self.state.lock().alien_restore = Some(label.to_owned());
    }

    pub fn finish_alien_restore(&self) {
        self.state.lock().alien_restore = None;
    }

    /// How full the target BE's fullest disk says it is, in percent.
    pub fn set_disk_used_pct(&self, percent: f64) {
        self.state.lock().disk_used_pct = percent;
    }

    /// The next commit takes effect on the target, but its answer never arrives (a lost
    /// connection).
    pub fn lose_next_commit_answer(&self) {
        self.state.lock().lose_next_commit_answer = true;
    }

    /// The commit of the transaction labelled `label` is refused once (it stays open,
    /// nothing takes effect).
    pub fn refuse_commit_of(&self, label: &str) {
        self.state.lock().refuse_commit_of = Some(label.to_owned());
    }

    /// getMeta calls answered so far.
    pub fn meta_calls(&self) -> usize {
        self.state.lock().meta_calls
    }

    /// The next `calls` ingests fail as a BE does when the source replica lacks the
    /// version.
    pub fn fail_ingests(&self, calls: u32) {
        self.state.lock().fail_ingests = calls;
    }

    /// Every statement is refused (as Doris refuses one it cannot run), until called
    /// with `false`.
    pub fn refuse_statements(&self, refuse: bool) {
        self.state.lock().refuse_statements = refuse;
    }

    fn by_id(&self, txn_id: i64) -> Option<TxnState> {
        let state = self.state.lock();
        state
            .txns
            .iter()
            .find(|(_, (id, _))| *id == txn_id)
            .map(|(label, (id, status))| TxnState {
                txn_id: *id,
                label: label.clone(),
                status: status.clone(),
            })
    }
}

#[async_trait]
impl TargetCluster for FakeTarget {
    async fn exec(&self, sql: &str) -> Result<u64, DorisError> {
        if self.state.lock().refuse_statements {
            self.journal.push(format!("refused {sql}"));
            return Err(DorisError::Sql {
                addr: "target-fe".into(),
                sql: sql.to_owned(),
                message: "errCode = 2, detailMessage = refused by the fake target".into(),
            });
        }
        self.journal.push(format!("exec {sql}"));
        Ok(0)
    }

    async fn database_id(&self, _db: &str) -> Result<Option<i64>, DorisError> {
        Ok(Some(DEST_DB_ID))
    }

    async fn tables(&self, _db_id: i64) -> Result<Vec<TableRow>, DorisError> {
        Ok(self
            .state
            .lock()
            .tables
            .iter()
            .map(|(name, id)| TableRow {
                id: *id,
                name: name.clone(),
                is_view: false,
            })
            .collect())
    }

    async fn table_id(&self, _db_id: i64, table: &str) -> Result<Option<i64>, DorisError> {
        Ok(self.state.lock().tables.get(table).copied())
    }

    async fn table_exists(&self, _db: &str, table: &str) -> Result<bool, DorisError> {
        Ok(self.state.lock().tables.contains_key(table))
    }

    async fn show_create_table(&self, _db: &str, table: &str) -> Result<String, DorisError> {
        Ok(format!("CREATE TABLE `{table}` (`k` int NULL) ENGINE=OLAP"))
    }

    async fn table_meta(&self, _db_id: i64, _table_ids: &[i64]) -> Result<DbMeta, DorisError> {
        self.state.lock().meta_calls += 1;
        Ok(db_meta(
            DEST_DB_ID,
            one_tablet_table(DEST_TABLE_ID, "t", 200, 210, 11),
        ))
    }

    async fn backends(&self) -> Result<Vec<BackendMeta>, DorisError> {
        Ok(vec![backend(11, "target-be")])
    }

    async fn disk_usage(&self) -> Result<Vec<BackendRow>, DorisError> {
        Ok(vec![BackendRow {
            id: 11,
            host: "target-be".into(),
            be_port: 9060,
            http_port: 8040,
            brpc_port: 8060,
            alive: true,
            max_disk_used_pct: Some(self.state.lock().disk_used_pct),
        }])
    }

    async fn begin_txn(
        &self,
        _db: &str,
        _table_ids: Vec<i64>,
        label: &str,
    ) -> Result<BeginTxn, DorisError> {
        self.journal.push(format!("begin {label}"));
        let mut state = self.state.lock();
        if let Some((_, status)) = state.txns.get(label) {
            if status != "ABORTED" {
                return Ok(BeginTxn::LabelExists {
                    job_status: status.clone(),
                });
            }
        }
        state.next_txn += 1;
        let txn_id = state.next_txn;
        state
            .txns
            .insert(label.to_owned(), (txn_id, "PREPARE".into()));
        Ok(BeginTxn::Started { txn_id })
    }

    async fn ingest(&self, calls: &[IngestCall]) -> Result<(), DorisError> {
        self.journal.push(format!("ingest {}", calls.len()));
        let mut state = self.state.lock();
        if state.fail_ingests > 0 {
            state.fail_ingests -= 1;
            return Err(DorisError::Status {
                method: "ingest_binlog",
                code: 6,
                message: "injected: the source replica has no such version".into(),
            });
        }
        for call in calls {
            *state.ingested.entry(call.txn_id).or_default() += 1;
            state
                .ingest_sources
                .push(format!("{}:{}", call.source_host, call.source_http_port));
        }
        Ok(())
    }

    async fn commit_txn(
        &self,
        _db: &str,
        txn_id: i64,
        commit_infos: Vec<TabletCommit>,
    ) -> Result<CommitOutcome, DorisError> {
        self.journal.push(format!("commit {txn_id}"));
        let mut state = self.state.lock();
        let Some(label) = state
            .txns
            .iter()
            .find(|(_, (id, _))| *id == txn_id)
            .map(|(label, _)| label.clone())
        else {
            return Err(unavailable("commit of an unknown transaction"));
        };
        if state.refuse_commit_of.as_ref() == Some(&label) {
            state.refuse_commit_of = None;
            return Err(DorisError::Status {
                method: "commitTxn",
                code: 6,
                message: "injected refusal".into(),
            });
        }
        let ingested = state.ingested.get(&txn_id).copied().unwrap_or(0);
        assert_eq!(
            ingested,
            commit_infos.len(),
            "every committed tablet was ingested first"
        );
        state.txns.get_mut(&label).expect("found above").1 = "VISIBLE".into();
        state.committed.insert(label, commit_infos.len());
        if std::mem::take(&mut state.lose_next_commit_answer) {
            return Err(unavailable("commitTxn answer"));
        }
        Ok(CommitOutcome::Visible)
    }

    async fn rollback_txn(
        &self,
        _db: &str,
        txn_id: i64,
        _reason: &str,
    ) -> Result<RollbackOutcome, DorisError> {
        self.journal.push(format!("rollback {txn_id}"));
        let mut state = self.state.lock();
        for (id, status) in state.txns.values_mut() {
            if *id == txn_id {
                if status == "VISIBLE" {
                    return Ok(RollbackOutcome::AlreadyCommitted);
                }
                *status = "ABORTED".into();
            }
        }
        Ok(RollbackOutcome::RolledBack)
    }

    async fn txn_by_label(&self, _db: &str, label: &str) -> Result<Option<TxnState>, DorisError> {
        Ok(self
            .state
            .lock()
            .txns
            .get(label)
            .map(|(id, status)| TxnState {
                txn_id: *id,
                label: label.to_owned(),
                status: status.clone(),
            }))
    }

    async fn txn_by_id(&self, _db: &str, txn_id: i64) -> Result<Option<TxnState>, DorisError> {
        Ok(self.by_id(txn_id))
    }

    async fn restore_snapshot(
        &self,
        request: &RestoreRequest,
        snapshot: &Snapshot,
    ) -> Result<(), DorisError> {
        let mut state = self.state.lock();
        if state.running_restore.is_some() || state.alien_restore.is_some() {
            self.journal
                .push(format!("restore refused {}", request.label));
            return Err(busy("target-fe", "restoreSnapshot"));
        }
        self.journal.push(format!("restore {}", request.label));
        state.restored_job_infos.push(snapshot.job_info.clone());
        state
            .restores
            .insert(request.label.clone(), request.clone());
        state.running_restore = Some(request.label.clone());
        // Listing tables restores only those; none listed, the whole snapshot. The fake
        // creates each under its source name (aliases are not modelled).
        let names: Vec<String> = if request.table_refs.is_empty() {
            serde_json::from_slice::<serde_json::Value>(&snapshot.job_info)
                .ok()
                .and_then(|info| {
                    info.get("backup_objects")
                        .and_then(|o| o.as_object())
                        .map(|o| o.keys().cloned().collect())
                })
                .unwrap_or_default()
        } else {
            request.table_refs.iter().map(|(t, _)| t.clone()).collect()
        };
        for name in names {
            let next = DEST_TABLE_ID + state.tables.len() as i64;
            let id = if name == "t" {
                DEST_TABLE_ID
            } else {
                next + 100
            };
            state.tables.entry(name).or_insert(id);
        }
        Ok(())
    }

    async fn restore_state(
        &self,
        _db: &str,
        label: &str,
    ) -> Result<Option<SnapshotJobState>, DorisError> {
        let mut state = self.state.lock();
        if state.running_restore.as_deref() == Some(label) {
            // A restore finishes when first polled.
            state.running_restore = None;
        }
        Ok(state
            .restores
            .contains_key(label)
            .then(|| SnapshotJobState {
                state: "FINISHED".into(),
                status: "[OK]".into(),
            }))
    }

    async fn restore_jobs(&self, _db: &str) -> Result<Vec<NamedSnapshotJob>, DorisError> {
        let state = self.state.lock();
        let running = |label: &str| state.running_restore.as_deref() == Some(label);
        let mut jobs: Vec<NamedSnapshotJob> = state
            .restores
            .keys()
            .map(|label| NamedSnapshotJob {
                name: label.clone(),
                state: SnapshotJobState {
                    state: if running(label) {
                        "DOWNLOADING"
                    } else {
                        "FINISHED"
                    }
                    .into(),
                    status: "[OK]".into(),
                },
            })
            .collect();
        if let Some(label) = &state.alien_restore {
            jobs.push(NamedSnapshotJob {
                name: label.clone(),
                state: SnapshotJobState {
                    state: "DOWNLOADING".into(),
                    status: "[OK]".into(),
                },
            });
        }
        Ok(jobs)
    }

    async fn cancel_restore(&self, _db: &str) -> Result<(), DorisError> {
        let mut state = self.state.lock();
        let cancelled = state.alien_restore.take();
        self.journal
            .push(format!("cancel restore {}", cancelled.unwrap_or_default()));
        Ok(())
    }
}

/// A progress store in memory, keeping the stored JSON as the real store would.
#[derive(Default)]
pub struct MemoryProgress {
    stored: Mutex<Option<String>>,
    fail_next_save: Mutex<bool>,
    journal: Journal,
}

impl MemoryProgress {
    pub fn new(journal: Journal) -> Arc<Self> {
        Arc::new(MemoryProgress {
            journal,
            ..Default::default()
        })
    }

    /// The next save fails (the process dies before its write lands).
    pub fn fail_next_save(&self) {
        *self.fail_next_save.lock() = true;
    }

    pub fn stored(&self) -> Option<Progress> {
        self.stored
            .lock()
            .as_deref()
            .map(|text| progress_codec::decode(text).expect("stored progress decodes"))
    }

    fn write(&self, progress: &Progress) -> Result<(), StoreError> {
        if std::mem::take(&mut *self.fail_next_save.lock()) {
            return Err(StoreError::Config(
                "injected: the store write was lost".into(),
            ));
        }
        let phase = progress.phase();
        self.journal.push(format!(
            "save {}/{} seq={}",
            phase.name(),
            phase.sub_state().name(),
            progress.prev_commit_seq
        ));
        *self.stored.lock() = Some(progress_codec::encode(progress));
        Ok(())
    }
}

#[async_trait]
impl ProgressStore for MemoryProgress {
    async fn load(&self, _job: &str) -> Result<Option<Progress>, StoreError> {
        Ok(self.stored())
    }

    async fn save(&self, _job: &str, progress: &Progress) -> Result<(), StoreError> {
        self.write(progress)
    }

    async fn create(&self, _job: &str, progress: &Progress) -> Result<(), StoreError> {
        self.write(progress)
    }
}

/// A clock that stands still.
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_millis(&self) -> i64 {
        self.0
    }
}

/// A job over the fakes, with handles on each of them.
pub struct FakeJob {
    pub ctx: JobContext,
    pub source: Arc<FakeSource>,
    pub target: Arc<FakeTarget>,
    pub store: Arc<MemoryProgress>,
    pub journal: Journal,
    pub control: watch::Sender<JobControl>,
    /// The syncer's lease (held) and the job's fence, which `ctx.target` writes through.
    pub lease: Arc<Lease>,
    pub fence: Arc<JobFence>,
}

impl FakeJob {
    /// A table job `src_db.t → dest_db.t`.
    pub fn table_job() -> Self {
        Self::new(SyncType::Table)
    }

    /// A database job `src_db → dest_db` (the source holds one table, `t`).
    pub fn db_job() -> Self {
        Self::new(SyncType::Database)
    }

    fn new(sync_type: SyncType) -> Self {
        let journal = Journal::default();
        let table = if sync_type == SyncType::Table {
            "t"
        } else {
            ""
        };
        Self::on(
            sync_type,
            "orders_dr",
            (table, SRC_TABLE_ID),
            FakeSource::new(journal.clone()),
            FakeTarget::new(journal.clone()),
            SnapshotSlots::new(),
            journal,
        )
    }

    /// A table job `name` of source table `table` (id `table_id`) of `source`, which
    /// other jobs may share; its target, store, journal and snapshot coordinator are its
    /// own.
    pub fn table_job_on(source: &Arc<FakeSource>, name: &str, table: &str, table_id: i64) -> Self {
        source.add_table(table_id, table);
        let journal = Journal::default();
        Self::on(
            SyncType::Table,
            name,
            (table, table_id),
            Arc::clone(source),
            FakeTarget::new(journal.clone()),
            SnapshotSlots::new(),
            journal,
        )
    }

    /// `count` table jobs `job_<i>` of source tables `t1`, `t2`, ... (added to the source)
    /// of one source database into one target database, sharing the fakes and one
    /// snapshot coordinator, as jobs of one syncer do.
    pub fn table_jobs_of_one_database(count: usize) -> Vec<FakeJob> {
        let journal = Journal::default();
        let source = FakeSource::new(journal.clone());
        let target = FakeTarget::new(journal.clone());
        let slots = SnapshotSlots::new();
        (1..=count)
            .map(|i| {
                let table_id = SRC_TABLE_ID + i as i64;
                let table = format!("t{i}");
                source.add_table(table_id, &table);
                Self::on(
                    SyncType::Table,
                    &format!("job_{i}"),
                    (&table, table_id),
                    source.clone(),
                    target.clone(),
                    Arc::clone(&slots),
                    journal.clone(),
                )
            })
            .collect()
    }

    /// A job named `name` over the given fakes; `table` empty for a database job.
    fn on(
        sync_type: SyncType,
        name: &str,
        (table, table_id): (&str, i64),
        source: Arc<FakeSource>,
        target: Arc<FakeTarget>,
        snapshot_slots: Arc<SnapshotSlots>,
        journal: Journal,
    ) -> Self {
        let store = MemoryProgress::new(journal.clone());
        let spec = |db: &str, db_id: i64, table_id: i64| ClusterSpec {
            host: "127.0.0.1".into(),
            port: if db_id == SRC_DB_ID { "9030" } else { "9031" }.into(),
            database: db.into(),
            db_id,
            table: table.into(),
            table_id: if table.is_empty() { 0 } else { table_id },
            ..Default::default()
        };
        let info = JobInfo::new(
            sync_type,
            name.into(),
            spec("src_db", SRC_DB_ID, table_id),
            spec("dest_db", DEST_DB_ID, 0),
        );
        let (control, control_rx) = watch::channel(JobControl::from_info(&info));
        let lease = Lease::new(std::time::Duration::from_secs(3600));
        lease.renew(std::time::Instant::now());
        let fence = JobFence::new(Arc::clone(&lease));
        let ctx = JobContext {
            name: info.name.clone(),
            status: Arc::new(Mutex::new(JobStatus::starting(&info))),
            info,
            source: source.clone(),
            target: Arc::new(FencedTarget::new(target.clone(), Arc::clone(&fence))),
            store: store.clone(),
            settings: Arc::new(JobSettings {
                identity: "127.0.0.1:9190".into(),
                connect_timeout: std::time::Duration::from_secs(1),
                rpc_timeout: std::time::Duration::from_secs(1),
                commit_txn_timeout: std::time::Duration::from_secs(1),
                idle_poll_interval: std::time::Duration::from_millis(10),
                operator_after_failures: 6,
                target_max_disk_used_percent: 80.0,
                target_disk_check_interval: std::time::Duration::ZERO,
                report_interval: std::time::Duration::ZERO,
                max_ingest_concurrency_per_backend: 4,
                txn_pipeline_depth: 4,
                features: FeatureFlags::default(),
                heartbeat_interval: std::time::Duration::from_secs(2),
                dead_after: std::time::Duration::from_secs(8),
                cluster_watch_interval: std::time::Duration::from_secs(10),
                host_mapping: Default::default(),
                secret_keys: Default::default(),
                verify_interval: std::time::Duration::ZERO,
            }),
            clock: Arc::new(FixedClock(1_700_000_000_000)),
            lease: Arc::clone(&lease),
            metrics: Arc::new(JobMetrics::default()),
            control: control_rx,
            source_watch: SourceWatch::unwatched(),
            snapshot_slots,
        };
        FakeJob {
            ctx,
            source,
            target,
            store,
            journal,
            control,
            lease,
            fence,
        }
    }
}

impl FakeJob {
    /// A context for a task of this job that shares its fakes, store, status and commands
    /// but not its coordinator: `slots` stands for the syncer process the task runs in (a
    /// restarted syncer has a new, empty one).
    pub fn task_context(&self, slots: &Arc<SnapshotSlots>) -> JobContext {
        let ctx = &self.ctx;
        JobContext {
            name: ctx.name.clone(),
            info: ctx.info.clone(),
            source: Arc::clone(&ctx.source),
            target: Arc::clone(&ctx.target),
            store: Arc::clone(&ctx.store),
            settings: Arc::clone(&ctx.settings),
            clock: Arc::clone(&ctx.clock),
            lease: Arc::clone(&ctx.lease),
            metrics: Arc::clone(&ctx.metrics),
            status: Arc::clone(&ctx.status),
            control: self.control.subscribe(),
            source_watch: SourceWatch::unwatched(),
            snapshot_slots: Arc::clone(slots),
        }
    }

    /// The coordinator this job's own context was built with.
    pub fn slots(&self) -> Arc<SnapshotSlots> {
        Arc::clone(&self.ctx.snapshot_slots)
    }

    /// Sets feature flags of this job's settings.
    pub fn set_features(&mut self, change: impl FnOnce(&mut FeatureFlags)) {
        let mut settings = (*self.ctx.settings).clone();
        change(&mut settings.features);
        self.ctx.settings = Arc::new(settings);
    }
}

/// An UPSERT of the fake source table's one partition at `seq`, committed at second `seq`.
pub fn upsert(seq: i64) -> Binlog {
    upsert_of_partition(seq, 100)
}

/// An UPSERT at `seq` of partition `partition_id` of the fake source table (one its
/// getMeta does not know, for any id but 100).
pub fn upsert_of_partition(seq: i64, partition_id: i64) -> Binlog {
    let data = format!(
        r#"{{"commitSeq": {seq}, "tableRecords": {{"{SRC_TABLE_ID}": {{"partitionRecords": [{{"partitionId": {partition_id}, "version": 2}}], "indexIds": [101]}}}}}}"#
    );
    Binlog::new(
        seq,
        seq * 1000,
        SRC_DB_ID,
        vec![SRC_TABLE_ID],
        parse(BinlogType::Upsert, &data).expect("upsert parses"),
    )
}

/// A comment change of the fake source table at `seq` (replayed by SQL).
pub fn modify_comment(seq: i64) -> Binlog {
    modify_comment_of(SRC_TABLE_ID, seq)
}

/// A comment change of source table `table_id` at `seq` (replayed by SQL).
pub fn modify_comment_of(table_id: i64, seq: i64) -> Binlog {
    let data = format!(
        r#"{{"type": "TABLE", "dbId": {SRC_DB_ID}, "tblId": {table_id}, "colToComment": {{}}, "tblComment": "orders of the day"}}"#
    );
    Binlog::new(
        seq,
        0,
        SRC_DB_ID,
        vec![table_id],
        parse(BinlogType::ModifyComment, &data).expect("comment change parses"),
    )
}

/// The DROP_TABLE of source table `table_id` at `seq` (only in the database stream).
pub fn drop_table(table_id: i64, seq: i64) -> Binlog {
    let data = format!(r#"{{"dbId": {SRC_DB_ID}, "tableId": {table_id}}}"#);
    Binlog::new(
        seq,
        0,
        SRC_DB_ID,
        vec![table_id],
        parse(BinlogType::DropTable, &data).expect("drop table parses"),
    )
}
