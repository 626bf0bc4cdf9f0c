//! One Doris cluster as the syncer uses it: credentials, SQL, FE and BE Thrift, with typed
//! answers. Status codes are interpreted here so callers deal in outcomes, not `TStatus`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::error::{check_status, DorisError};
use super::host_map::HostMapping;
use super::meta::{BackendMeta, DbMeta};
use super::rpc::{BackendPool, BeClient, FeClient, RpcAddress, RpcTimeouts};
use super::sql::{quote_ident, quote_str, SqlClient};
use ccr_wire::frontend_service::{
    TBeginTxnRequest, TCommitTxnRequest, TGetBackendMetaRequest, TGetBinlogLagResult,
    TGetBinlogRequest, TGetMasterTokenRequest, TGetMetaDB, TGetMetaRequest, TGetMetaTable,
    TGetSnapshotRequest, TRestoreSnapshotRequest, TRollbackTxnRequest, TTableRef,
};
use ccr_wire::secret::Secret;
use ccr_wire::status::TStatusCode;
use ccr_wire::types::{TBinlog, TSnapshotType, TTabletCommitInfo};

/// The repository name Doris reserves for snapshots kept on the source BEs.
pub const LOCAL_REPOSITORY: &str = "__keep_on_local__";

/// How to reach and log in to one cluster.
#[derive(Debug, Clone)]
pub struct ClusterAccess {
    pub host: String,
    pub query_port: u16,
    pub user: String,
    pub password: Secret,
    /// FE Thrift addresses, the one to try first leading.
    pub frontends: Vec<RpcAddress>,
    /// Passed to getMasterToken / getBackendMeta (usually empty).
    pub cluster: String,
    /// Applied to every FE and BE address dialled; shared with whoever may change it.
    pub host_mapping: HostMapping,
}

/// Connection settings shared by every cluster client.
#[derive(Debug, Clone, Copy)]
pub struct ClientSettings {
    pub timeouts: RpcTimeouts,
    pub max_ingest_per_backend: usize,
}

/// A batch of binlogs from getBinlog.
#[derive(Debug)]
pub enum BinlogBatch {
    /// Binlogs after the requested seq. `too_old` means binlogs between the requested seq and
    /// the first returned one were purged.
    Binlogs {
        binlogs: Vec<TBinlog>,
        too_old: bool,
    },
    /// Nothing newer than the requested seq.
    CaughtUp,
}

/// How far a binlog stream is ahead of a commit seq (getBinlogLag). Times are Unix
/// milliseconds; `None` where the FE does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BinlogLag {
    /// Binlogs after the given commit seq.
    pub lag: i64,
    pub first_commit_seq: Option<i64>,
    pub last_commit_seq: Option<i64>,
    pub first_binlog_timestamp: Option<i64>,
    /// The oldest binlog after the given commit seq.
    pub next_binlog_timestamp: Option<i64>,
    pub last_binlog_timestamp: Option<i64>,
}

impl BinlogLag {
    fn from_wire(result: &TGetBinlogLagResult) -> Self {
        BinlogLag {
            lag: result.lag.unwrap_or(0),
            first_commit_seq: result.first_commit_seq,
            last_commit_seq: result.last_commit_seq,
            first_binlog_timestamp: result.first_binlog_timestamp,
            next_binlog_timestamp: result.next_binlog_timestamp,
            last_binlog_timestamp: result.last_binlog_timestamp,
        }
    }

    /// Seconds between the oldest binlog not yet applied and the newest one: how far behind
    /// the target is in source time (0 when caught up or when the FE does not say).
    pub fn seconds_behind(&self) -> i64 {
        match (
            self.lag,
            self.next_binlog_timestamp,
            self.last_binlog_timestamp,
        ) {
            (0, _, _) => 0,
            (_, Some(next), Some(last)) if last >= next => (last - next) / 1000,
            _ => 0,
        }
    }
}

/// Told of every finished call to a cluster and how long it took (the syncer's metrics
/// implement it; the clients know nothing of metrics).
pub trait CallObserver: Send + Sync {
    fn call_finished(&self, elapsed: std::time::Duration);
}

/// Observes nothing.
struct NoObserver;

impl CallObserver for NoObserver {
    fn call_finished(&self, _elapsed: std::time::Duration) {}
}

/// The outcome of beginTxn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginTxn {
    Started {
        txn_id: i64,
    },
    /// The label is held by a transaction that is not aborted.
    LabelExists {
        job_status: String,
    },
}

/// The outcome of commitTxn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Visible,
    /// Committed; becomes visible later (PUBLISH_TIMEOUT).
    CommittedNotVisible,
}

/// The outcome of rollbackTxn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackOutcome {
    /// Aborted now, already aborted, or unknown to the FE.
    RolledBack,
    /// The transaction had committed: its data is in.
    AlreadyCommitted,
}

/// A transaction row of `SHOW TRANSACTION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnState {
    pub txn_id: i64,
    pub label: String,
    /// `PREPARE`, `PRECOMMITTED`, `COMMITTED`, `VISIBLE`, `ABORTED` or `UNKNOWN`.
    pub status: String,
}

impl TxnState {
    pub fn is_committed(&self) -> bool {
        matches!(self.status.as_str(), "COMMITTED" | "VISIBLE")
    }
}

/// A backup or restore job as `SHOW BACKUP` / `SHOW RESTORE` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotJobState {
    pub state: String,
    pub status: String,
}

impl SnapshotJobState {
    pub fn is_finished(&self) -> bool {
        self.state == "FINISHED"
    }

    pub fn is_cancelled(&self) -> bool {
        self.state == "CANCELLED"
    }

    /// A restore refused because an object exists on the target with another schema:
    /// which kind of object and its name, as the status names them.
    pub fn signature_mismatch(&self) -> Option<MismatchedObject> {
        let status = self.status.as_str();
        let end = status.find(SIGNATURE_MISMATCH)?;
        let head = status[..end].trim_end();
        for (marker, kind) in [("Table ", ObjectKind::Table), ("View ", ObjectKind::View)] {
            if let Some(start) = head.rfind(marker) {
                return Some(MismatchedObject {
                    kind,
                    name: head[start + marker.len()..].to_owned(),
                });
            }
        }
        Some(MismatchedObject {
            kind: ObjectKind::Unknown,
            name: String::new(),
        })
    }
}

/// A backup (by snapshot name) or restore (by label) as `SHOW BACKUP` / `SHOW RESTORE`
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedSnapshotJob {
    pub name: String,
    pub state: SnapshotJobState,
}

impl NamedSnapshotJob {
    /// Neither finished nor cancelled: it holds its database.
    pub fn is_running(&self) -> bool {
        !self.state.is_finished() && !self.state.is_cancelled()
    }
}

/// What Doris says when a restored object exists on the target with another schema.
const SIGNATURE_MISMATCH: &str = "already exist but with different schema";

/// The kind of a target object a restore status names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Table,
    View,
    /// The status did not say.
    Unknown,
}

/// An object a restore refused to overwrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MismatchedObject {
    pub kind: ObjectKind,
    pub name: String,
}

/// What getSnapshot returns.
#[derive(Clone)]
pub struct Snapshot {
    pub meta: Vec<u8>,
    pub job_info: Vec<u8>,
    pub expired_at: Option<i64>,
    pub commit_seq: Option<i64>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("meta_bytes", &self.meta.len())
            .field("job_info_bytes", &self.job_info.len())
            .field("expired_at", &self.expired_at)
            .finish()
    }
}

/// One table (optionally some partitions) of a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupTarget {
    pub table: String,
    pub partitions: Vec<String>,
}

/// What restoreSnapshot needs besides the snapshot.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    pub db: String,
    pub table: String,
    pub label: String,
    /// Source table name → name on the target (alias), for tables restored under another
    /// name. Empty = restore everything under its own name.
    pub table_refs: Vec<(String, Option<String>)>,
    pub clean_tables: bool,
    pub clean_partitions: bool,
    pub atomic_restore: bool,
}

/// Clients for one cluster.
#[derive(Clone)]
pub struct DorisCluster {
    observer: Arc<dyn CallObserver>,
    access: ClusterAccess,
    sql: SqlClient,
    fe: FeClient,
    backends: Arc<BackendPool>,
}

impl std::fmt::Debug for DorisCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DorisCluster")
            .field("fe", &self.sql.addr())
            .finish()
    }
}

impl DorisCluster {
    pub fn new(access: ClusterAccess, settings: ClientSettings) -> Self {
        let sql = SqlClient::with_host_mapping(
            &access.host,
            access.query_port,
            &access.user,
            &access.password,
            settings.timeouts.connect,
            access.host_mapping.clone(),
        );
        let fe = FeClient::with_host_mapping(
            access.frontends.clone(),
            settings.timeouts,
            access.host_mapping.clone(),
        );
        let backends = Arc::new(
            BackendPool::with_ingest_limit(settings.timeouts, settings.max_ingest_per_backend)
                .with_host_mapping(access.host_mapping.clone()),
        );
        DorisCluster {
            observer: Arc::new(NoObserver),
            access,
            sql,
            fe,
            backends,
        }
    }

    /// Counts this cluster's calls into `stats` (shared with the job's metrics).
    /// Reports every call and its duration to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// Runs `call` and reports its duration to the observer.
    pub async fn timed<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        let started = std::time::Instant::now();
        let result = call.await;
        self.observer.call_finished(started.elapsed());
        result
    }

    pub fn sql(&self) -> &SqlClient {
        &self.sql
    }

    /// `host:query_port`, for messages.
    pub fn addr(&self) -> &str {
        self.sql.addr()
    }

    /// The host mapping every client of this cluster dials through; replacing its table
    /// reaches them all.
    pub fn host_mapping(&self) -> &HostMapping {
        &self.access.host_mapping
    }

    pub fn backend(&self, address: &RpcAddress) -> BeClient {
        self.backends.client(address)
    }

    fn user(&self) -> Option<String> {
        Some(self.access.user.clone())
    }

    fn passwd(&self) -> Option<String> {
        Some(self.access.password.expose().to_owned())
    }

    /// Releases pooled connections.
    pub async fn close(&self) {
        self.sql.close().await;
    }

    // ---- binlog ---------------------------------------------------------------------

    /// Binlogs after `prev_commit_seq` of database `db` (or of one table).
    /// What getBinlog and getBinlogLag both ask: the stream of `db` (or of one table)
    /// after `prev_commit_seq`.
    fn binlog_request(
        &self,
        db: &str,
        table: Option<(&str, i64)>,
        prev_commit_seq: i64,
    ) -> TGetBinlogRequest {
        TGetBinlogRequest {
            user: self.user(),
            passwd: self.passwd(),
            db: Some(db.to_owned()),
            table: table.map(|(name, _)| name.to_owned()),
            table_id: table.map(|(_, id)| id).filter(|id| *id > 0),
            prev_commit_seq: Some(prev_commit_seq),
            num_acquired: None,
        }
    }

    /// getBinlogLag: how many binlogs of the stream follow `prev_commit_seq`, with the
    /// stream's first and last seqs and times where the FE reports them.
    pub async fn binlog_lag(
        &self,
        db: &str,
        table: Option<(&str, i64)>,
        prev_commit_seq: i64,
    ) -> Result<BinlogLag, DorisError> {
        let request = self.binlog_request(db, table, prev_commit_seq);
        let result = self.timed(self.fe.get_binlog_lag(request)).await?;
        check_status("getBinlogLag", result.status.as_ref())?;
        Ok(BinlogLag::from_wire(&result))
    }

    pub async fn get_binlogs(
        &self,
        db: &str,
        table: Option<(&str, i64)>,
        prev_commit_seq: i64,
        batch: i64,
    ) -> Result<BinlogBatch, DorisError> {
        let request = TGetBinlogRequest {
            num_acquired: Some(batch),
            ..self.binlog_request(db, table, prev_commit_seq)
        };
        let result = self.timed(self.fe.get_binlog(request)).await?;
        let status = result.status.ok_or_else(|| {
            DorisError::UnexpectedResult("getBinlog answered without a status".into())
        })?;
        let message = status.error_msgs.clone().unwrap_or_default().join("; ");
        match status.status_code {
            TStatusCode::OK | TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ => {
                let binlogs = result.binlogs.unwrap_or_default();
                if binlogs.is_empty() {
                    return Err(DorisError::UnexpectedResult(format!(
                        "getBinlog after {prev_commit_seq} answered {} without binlogs",
                        status.status_code.0
                    )));
                }
                Ok(BinlogBatch::Binlogs {
                    binlogs,
                    too_old: status.status_code == TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ,
                })
            }
            TStatusCode::BINLOG_TOO_NEW_COMMIT_SEQ => Ok(BinlogBatch::CaughtUp),
            code => Err(DorisError::Status {
                method: "getBinlog",
                code: code.0,
                message,
            }),
        }
    }

    // ---- transactions ---------------------------------------------------------------

    pub async fn begin_txn(
        &self,
        db: &str,
        table_ids: Vec<i64>,
        label: &str,
    ) -> Result<BeginTxn, DorisError> {
        let request = TBeginTxnRequest {
            user: self.user(),
            passwd: self.passwd(),
            db: Some(db.to_owned()),
            table_ids: Some(table_ids),
            label: Some(label.to_owned()),
            ..Default::default()
        };
        let result = self.timed(self.fe.begin_txn(request)).await?;
        if let Some(status) = &result.status {
            if status.status_code == TStatusCode::LABEL_ALREADY_EXISTS {
                return Ok(BeginTxn::LabelExists {
                    job_status: result.job_status.clone().unwrap_or_default(),
                });
            }
        }
        check_status("beginTxn", result.status.as_ref())?;
        let txn_id = result.txn_id.ok_or_else(|| {
            DorisError::UnexpectedResult("beginTxn answered OK without txn_id".into())
        })?;
        Ok(BeginTxn::Started { txn_id })
    }

    pub async fn commit_txn(
        &self,
        db: &str,
        txn_id: i64,
        commit_infos: Vec<TTabletCommitInfo>,
    ) -> Result<CommitOutcome, DorisError> {
        let request = TCommitTxnRequest {
            user: self.user(),
            passwd: self.passwd(),
            db: Some(db.to_owned()),
            txn_id: Some(txn_id),
            commit_infos: Some(commit_infos),
            ..Default::default()
        };
        let result = self.timed(self.fe.commit_txn(request)).await?;
        if let Some(status) = &result.status {
            if status.status_code == TStatusCode::PUBLISH_TIMEOUT {
                return Ok(CommitOutcome::CommittedNotVisible);
            }
        }
        check_status("commitTxn", result.status.as_ref())?;
        Ok(CommitOutcome::Visible)
    }

    pub async fn rollback_txn(
        &self,
        db: &str,
        txn_id: i64,
        reason: &str,
    ) -> Result<RollbackOutcome, DorisError> {
        let request = TRollbackTxnRequest {
            user: self.user(),
            passwd: self.passwd(),
            db: Some(db.to_owned()),
            txn_id: Some(txn_id),
            reason: Some(reason.to_owned()),
        };
        let result = self.timed(self.fe.rollback_txn(request)).await?;
        match check_status("rollbackTxn", result.status.as_ref()) {
            Ok(()) => Ok(RollbackOutcome::RolledBack),
            Err(DorisError::Status { message, .. })
                if message.contains("not found") || message.contains("is already aborted") =>
            {
                Ok(RollbackOutcome::RolledBack)
            }
            Err(DorisError::Status { message, .. })
                if message.contains("is already COMMITTED")
                    || message.contains("is already VISIBLE") =>
            {
                Ok(RollbackOutcome::AlreadyCommitted)
            }
            Err(e) => Err(e),
        }
    }

    /// The transaction holding `label` in `db`, if any (`SHOW TRANSACTION`).
    pub async fn txn_by_label(
        &self,
        db: &str,
        label: &str,
    ) -> Result<Option<TxnState>, DorisError> {
        let sql = format!(
            "SHOW TRANSACTION FROM {} WHERE label = {}",
            quote_ident(db),
            quote_str(label)
        );
        self.txn_rows(&sql).await
    }

    /// The transaction with id `txn_id` in `db`, if the FE still knows it.
    pub async fn txn_by_id(&self, db: &str, txn_id: i64) -> Result<Option<TxnState>, DorisError> {
        let sql = format!(
            "SHOW TRANSACTION FROM {} WHERE id = {txn_id}",
            quote_ident(db)
        );
        self.txn_rows(&sql).await
    }

    async fn txn_rows(&self, sql: &str) -> Result<Option<TxnState>, DorisError> {
        let rows = match self.timed(self.sql.query(sql)).await {
            Ok(rows) => rows,
            // Doris answers an unknown id or label with an error rather than no rows.
            Err(DorisError::Sql { message, .. })
                if message.contains("not found") || message.contains("not exist") =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        // Several rows can share a label when earlier attempts were aborted; a live or
        // committed one wins.
        let mut best: Option<TxnState> = None;
        for row in &rows {
            let state = TxnState {
                txn_id: row.int("TransactionId")?,
                label: row.text("Label")?,
                status: row.text("TransactionStatus")?,
            };
            let better = match &best {
                None => true,
                Some(current) => current.status == "ABORTED" && state.status != "ABORTED",
            };
            if better {
                best = Some(state);
            }
        }
        Ok(best)
    }

    // ---- metadata -------------------------------------------------------------------

    /// Partition/index/tablet/replica trees of `table_ids` in database `db_id`.
    pub async fn table_meta(&self, db_id: i64, table_ids: &[i64]) -> Result<DbMeta, DorisError> {
        let request = TGetMetaRequest {
            user: self.user(),
            passwd: self.passwd(),
            db: Some(TGetMetaDB {
                id: Some(db_id),
                name: None,
                tables: Some(
                    table_ids
                        .iter()
                        .map(|id| TGetMetaTable {
                            id: Some(*id),
                            name: None,
                        })
                        .collect(),
                ),
            }),
        };
        let result = self.timed(self.fe.get_meta(request)).await?;
        check_status("getMeta", Some(&result.status))?;
        let db = result.db_meta.ok_or_else(|| {
            DorisError::UnexpectedResult(format!("getMeta: database {db_id} not found"))
        })?;
        Ok(DbMeta::from_wire(&db))
    }

    pub async fn backends(&self) -> Result<Vec<BackendMeta>, DorisError> {
        let request = TGetBackendMetaRequest {
            cluster: Some(self.access.cluster.clone()),
            user: self.user(),
            passwd: self.passwd(),
        };
        let result = self.timed(self.fe.get_backend_meta(request)).await?;
        check_status("getBackendMeta", Some(&result.status))?;
        Ok(result
            .backends
            .unwrap_or_default()
            .into_iter()
            .map(|be| BackendMeta {
                id: be.id.unwrap_or_default(),
                host: be.host,
                be_port: u16::try_from(be.be_port).unwrap_or_default(),
                http_port: u16::try_from(be.http_port).unwrap_or_default(),
                alive: be.is_alive.unwrap_or(true),
            })
            .collect())
    }

    /// The cluster token target BEs present when downloading from this cluster's BEs.
    pub async fn master_token(&self) -> Result<Secret, DorisError> {
        let request = TGetMasterTokenRequest {
            cluster: Some(self.access.cluster.clone()),
            user: self.user(),
            password: self.passwd(),
        };
        let result = self.timed(self.fe.get_master_token(request)).await?;
        check_status("getMasterToken", result.status.as_ref())?;
        Ok(Secret::new(result.token.unwrap_or_default()))
    }

    // ---- backup and restore -----------------------------------------------------------

    /// Starts `BACKUP SNAPSHOT` of `targets` in `db` into the local repository.
    pub async fn backup(
        &self,
        db: &str,
        snapshot: &str,
        targets: &[BackupTarget],
    ) -> Result<(), DorisError> {
        let objects: Vec<String> = targets
            .iter()
            .map(|t| {
                if t.partitions.is_empty() {
                    quote_ident(&t.table)
                } else {
                    let parts: Vec<String> = t.partitions.iter().map(|p| quote_ident(p)).collect();
                    format!("{} PARTITION ({})", quote_ident(&t.table), parts.join(", "))
                }
            })
            .collect();
        let on = if objects.is_empty() {
            String::new()
        } else {
            format!(" ON ({})", objects.join(", "))
        };
        let sql = format!(
            "BACKUP SNAPSHOT {}.{} TO {}{on} PROPERTIES (\"type\" = \"full\")",
            quote_ident(db),
            quote_ident(snapshot),
            quote_ident(LOCAL_REPOSITORY)
        );
        self.timed(self.sql.exec(&sql)).await?;
        Ok(())
    }

    /// The state of backup `snapshot` in `db`, if it exists.
    pub async fn backup_state(
        &self,
        db: &str,
        snapshot: &str,
    ) -> Result<Option<SnapshotJobState>, DorisError> {
        let sql = format!(
            "SHOW BACKUP FROM {} WHERE SnapshotName = {}",
            quote_ident(db),
            quote_str(snapshot)
        );
        self.snapshot_job_state(&sql).await
    }

    /// Every backup job `SHOW BACKUP` keeps for `db`, oldest first.
    pub async fn backup_jobs(&self, db: &str) -> Result<Vec<NamedSnapshotJob>, DorisError> {
        let sql = format!("SHOW BACKUP FROM {}", quote_ident(db));
        self.snapshot_jobs(&sql, "SnapshotName").await
    }

    /// Every restore job `SHOW RESTORE` keeps for `db`, oldest first.
    pub async fn restore_jobs(&self, db: &str) -> Result<Vec<NamedSnapshotJob>, DorisError> {
        let sql = format!("SHOW RESTORE FROM {}", quote_ident(db));
        self.snapshot_jobs(&sql, "Label").await
    }

    async fn snapshot_jobs(
        &self,
        sql: &str,
        name_column: &str,
    ) -> Result<Vec<NamedSnapshotJob>, DorisError> {
        let rows = self.timed(self.sql.query(sql)).await?;
        rows.iter()
            .map(|row| {
                Ok(NamedSnapshotJob {
                    name: row.text(name_column)?,
                    state: SnapshotJobState {
                        state: row.text("State")?,
                        status: row.text("Status")?,
                    },
                })
            })
            .collect()
    }

    pub async fn cancel_backup(&self, db: &str) -> Result<(), DorisError> {
        let sql = format!("CANCEL BACKUP FROM {}", quote_ident(db));
        self.timed(self.sql.exec(&sql)).await?;
        Ok(())
    }

    pub async fn get_snapshot(
        &self,
        db: &str,
        table: &str,
        snapshot: &str,
    ) -> Result<Snapshot, DorisError> {
        let request = TGetSnapshotRequest {
            user: self.user(),
            passwd: self.passwd(),
            db: Some(db.to_owned()),
            table: Some(table.to_owned()),
            label_name: Some(snapshot.to_owned()),
            snapshot_name: Some(String::new()),
            snapshot_type: Some(TSnapshotType::LOCAL),
            enable_compress: None,
        };
        let result = self.timed(self.fe.get_snapshot(request)).await?;
        check_status("getSnapshot", result.status.as_ref())?;
        let mut meta = result.meta.unwrap_or_default();
        let mut job_info = result.job_info.ok_or_else(|| {
            DorisError::UnexpectedResult("getSnapshot answered without job_info".into())
        })?;
        if result.compressed == Some(true) {
            meta = gunzip(&meta)?;
            job_info = gunzip(&job_info)?;
        }
        Ok(Snapshot {
            meta,
            job_info,
            expired_at: result.expired_at,
            commit_seq: result.commit_seq,
        })
    }

    pub async fn restore_snapshot(
        &self,
        request: &RestoreRequest,
        snapshot: &Snapshot,
    ) -> Result<(), DorisError> {
        let table_refs: Vec<TTableRef> = request
            .table_refs
            .iter()
            .map(|(table, alias)| TTableRef {
                table: Some(table.clone()),
                alias_name: alias.clone(),
            })
            .collect();
        let mut properties = BTreeMap::new();
        properties.insert("reserve_replica".to_owned(), "true".to_owned());
        let wire = TRestoreSnapshotRequest {
            user: self.user(),
            passwd: self.passwd(),
            db: Some(request.db.clone()),
            table: Some(request.table.clone()),
            label_name: Some(request.label.clone()),
            repo_name: Some(LOCAL_REPOSITORY.to_owned()),
            table_refs: (!table_refs.is_empty()).then_some(table_refs),
            properties: Some(properties),
            meta: Some(snapshot.meta.clone()),
            job_info: Some(snapshot.job_info.clone()),
            clean_tables: Some(request.clean_tables),
            clean_partitions: Some(request.clean_partitions),
            atomic_restore: Some(request.atomic_restore),
            compressed: None,
            force_replace: None,
        };
        let result = self.timed(self.fe.restore_snapshot(wire)).await?;
        check_status("restoreSnapshot", result.status.as_ref())
    }

    /// The state of restore `label` in `db`, if it exists.
    pub async fn restore_state(
        &self,
        db: &str,
        label: &str,
    ) -> Result<Option<SnapshotJobState>, DorisError> {
        let sql = format!(
            "SHOW RESTORE FROM {} WHERE Label = {}",
            quote_ident(db),
            quote_str(label)
        );
        self.snapshot_job_state(&sql).await
    }

    /// The last row of a `SHOW BACKUP` / `SHOW RESTORE` answer (the newest job).
    async fn snapshot_job_state(&self, sql: &str) -> Result<Option<SnapshotJobState>, DorisError> {
        let rows = self.timed(self.sql.query(sql)).await?;
        rows.last()
            .map(|row| {
                Ok(SnapshotJobState {
                    state: row.text("State")?,
                    status: row.text("Status")?,
                })
            })
            .transpose()
    }

    pub async fn cancel_restore(&self, db: &str) -> Result<(), DorisError> {
        let sql = format!("CANCEL RESTORE FROM {}", quote_ident(db));
        self.timed(self.sql.exec(&sql)).await?;
        Ok(())
    }
}

/// Largest decompressed snapshot accepted, far above any real catalog.
const MAX_DECOMPRESSED_SNAPSHOT_BYTES: u64 = 4 * 1024 * 1024 * 1024;

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, DorisError> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED_SNAPSHOT_BYTES)
        .read_to_end(&mut out)
        .map_err(|e| DorisError::UnexpectedResult(format!("cannot gunzip snapshot: {e}")))?;
    Ok(out)
}

/// How long to wait between polls of a backup or restore.
pub const SNAPSHOT_POLL_INTERVAL: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: &str) -> SnapshotJobState {
        SnapshotJobState {
            state: "CANCELLED".into(),
            status: status.into(),
        }
    }

    #[test]
    fn a_signature_mismatch_names_the_object() {
        assert_eq!(
            state("[COMMON_ERROR, msg: Table t-1 x already exist but with different schema]")
                .signature_mismatch(),
            Some(MismatchedObject {
                kind: ObjectKind::Table,
                name: "t-1 x".into()
            })
        );
        assert_eq!(
            state("View v already exist but with different schema").signature_mismatch(),
            Some(MismatchedObject {
                kind: ObjectKind::View,
                name: "v".into()
            })
        );
        assert_eq!(state("other failure").signature_mismatch(), None);
    }
}
