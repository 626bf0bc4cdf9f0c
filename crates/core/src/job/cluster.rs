//! The two clusters as a job sees them: what it reads from the source and what it does to
//! the target. Job logic holds these traits, never concrete clients, so the state machine
//! runs against in-memory fakes in tests ([`super::fake`]) and against Doris
//! ([`DorisCluster`]) in production.
//!
//! What the traits promise, and what the job builds on:
//! * Reads are side-effect free and may be repeated at will.
//! * Nothing a job does to either cluster is remembered by the job until its progress is
//!   saved; every action is therefore either idempotent or found again by name after a
//!   crash: backups by snapshot name ([`SourceCluster::backup_state`]), restores by label
//!   ([`TargetCluster::restore_state`]), transactions by label
//!   ([`TargetCluster::txn_by_label`]).
//! * A committed transaction ([`CommitOutcome`]) is durable on the target: the job saves
//!   its cursor only after it.
//! * Concurrency: one job's task calls its clusters one step at a time, except
//!   [`TargetCluster::ingest`], which runs its calls concurrently; the API may read a
//!   job's clusters while a step runs, and several jobs may share a cluster, so every
//!   method takes `&self` and must be safe to call from many tasks at once.

use async_trait::async_trait;
use ccr_doris::cluster::{
    BackupTarget, BeginTxn, BinlogBatch, BinlogLag, CallObserver, CommitOutcome, DorisCluster,
    NamedSnapshotJob, RestoreRequest, RollbackOutcome, Snapshot, SnapshotJobState, TxnState,
};
use ccr_doris::error::check_status;
use ccr_doris::meta::{BackendMeta, DbMeta};
use ccr_doris::rpc::RpcAddress;
use ccr_doris::sql::{BackendRow, TableRow};
use ccr_doris::DorisError;
use ccr_wire::backend_service::TIngestBinlogRequest;
use ccr_wire::types::{TTabletCommitInfo, TUniqueId};
use ccr_wire::Secret;

use crate::metrics::CallTime;

/// The source cluster: binlogs, metadata and snapshots.
#[async_trait]
pub trait SourceCluster: Send + Sync {
    /// Up to `max` binlogs after commit seq `after` of database `db` (or of one table).
    async fn get_binlogs(
        &self,
        db: &str,
        table: Option<(&str, i64)>,
        after: i64,
        max: i64,
    ) -> Result<BinlogBatch, DorisError>;

    /// How far the stream is ahead of commit seq `after`.
    async fn binlog_lag(
        &self,
        db: &str,
        table: Option<(&str, i64)>,
        after: i64,
    ) -> Result<BinlogLag, DorisError>;

    /// Partition, index and tablet trees of `table_ids` in database `db_id`.
    async fn table_meta(&self, db_id: i64, table_ids: &[i64]) -> Result<DbMeta, DorisError>;

    /// The tables and views of database `db_id`.
    async fn tables(&self, db_id: i64) -> Result<Vec<TableRow>, DorisError>;

    /// The source BEs, for the target BEs to download from.
    async fn backends(&self) -> Result<Vec<BackendMeta>, DorisError>;

    /// The host target BEs must dial to reach the source BE advertised as `host`: the
    /// source's host mapping applied (as it is at this call: it may change while the job
    /// runs). Pure; no call to the cluster.
    fn download_host(&self, host: &str) -> String;

    /// The token target BEs present to the source BEs.
    async fn master_token(&self) -> Result<Secret, DorisError>;

    /// Starts a backup named `snapshot`. Not idempotent: the cluster refuses a second
    /// backup of that name, so the caller saves the name first and, after a restart, asks
    /// [`SourceCluster::backup_state`] before starting it again.
    async fn backup(
        &self,
        db: &str,
        snapshot: &str,
        targets: &[BackupTarget],
    ) -> Result<(), DorisError>;

    /// The backup named `snapshot`, if the cluster knows it.
    async fn backup_state(
        &self,
        db: &str,
        snapshot: &str,
    ) -> Result<Option<SnapshotJobState>, DorisError>;

    /// Every backup the cluster keeps for `db` (read-only): what holds the database when a
    /// backup is refused as busy.
    async fn backup_jobs(&self, db: &str) -> Result<Vec<NamedSnapshotJob>, DorisError>;

    /// Cancels the running backup of `db` (`feature_cancel_conflict_backup_restore_job`).
    async fn cancel_backup(&self, db: &str) -> Result<(), DorisError>;

    /// A finished backup's meta and job info (read-only).
    async fn get_snapshot(
        &self,
        db: &str,
        table: &str,
        snapshot: &str,
    ) -> Result<Snapshot, DorisError>;
}

/// One ingest into an open target transaction: the target BE at `backend` downloads the
/// rowset of `binlog_version` of source tablet `source_tablet` from the source BE at
/// `source_host:source_http_port` into its tablet `target_tablet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestCall {
    pub backend: RpcAddress,
    pub txn_id: i64,
    pub source_tablet: i64,
    pub binlog_version: i64,
    pub source_host: String,
    pub source_http_port: u16,
    pub target_partition: i64,
    pub target_tablet: i64,
}

impl IngestCall {
    fn to_wire(&self) -> TIngestBinlogRequest {
        TIngestBinlogRequest {
            txn_id: Some(self.txn_id),
            remote_tablet_id: Some(self.source_tablet),
            binlog_version: Some(self.binlog_version),
            remote_host: Some(self.source_host.clone()),
            remote_port: Some(self.source_http_port.to_string()),
            partition_id: Some(self.target_partition),
            local_tablet_id: Some(self.target_tablet),
            // Doris's syncer sends no load id of its own; the BE makes one.
            load_id: Some(TUniqueId { hi: -1, lo: -1 }),
        }
    }
}

/// A target tablet replica a transaction wrote, as its commit lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TabletCommit {
    pub tablet_id: i64,
    pub backend_id: i64,
}

/// The target cluster: SQL, transactions that ingest source rowsets, and restores.
#[async_trait]
pub trait TargetCluster: Send + Sync {
    /// Runs one statement. Not idempotent in general: DDL replay phrases statements so a
    /// second run is harmless or recognised (`IF NOT EXISTS`, "already exists").
    async fn exec(&self, sql: &str) -> Result<u64, DorisError>;

    async fn database_id(&self, db: &str) -> Result<Option<i64>, DorisError>;
    async fn tables(&self, db_id: i64) -> Result<Vec<TableRow>, DorisError>;
    async fn table_id(&self, db_id: i64, table: &str) -> Result<Option<i64>, DorisError>;
    async fn table_exists(&self, db: &str, table: &str) -> Result<bool, DorisError>;
    async fn show_create_table(&self, db: &str, table: &str) -> Result<String, DorisError>;
    async fn table_meta(&self, db_id: i64, table_ids: &[i64]) -> Result<DbMeta, DorisError>;
    async fn backends(&self) -> Result<Vec<BackendMeta>, DorisError>;
    /// `SHOW BACKENDS`: every BE with how full its fullest disk is. Read-only.
    async fn disk_usage(&self) -> Result<Vec<BackendRow>, DorisError>;

    /// Opens a transaction under `label`. Idempotent by label: while a transaction holds
    /// the label, a second begin answers [`BeginTxn::LabelExists`].
    async fn begin_txn(
        &self,
        db: &str,
        table_ids: Vec<i64>,
        label: &str,
    ) -> Result<BeginTxn, DorisError>;

    /// Has the target BEs ingest the rowsets into the open transaction, concurrently; the
    /// first failure in `calls` order is returned once all have finished. Repeatable
    /// until commit.
    async fn ingest(&self, calls: &[IngestCall]) -> Result<(), DorisError>;

    /// Commits; once it answers, the data is durable.
    async fn commit_txn(
        &self,
        db: &str,
        txn_id: i64,
        commit_infos: Vec<TabletCommit>,
    ) -> Result<CommitOutcome, DorisError>;

    /// Aborts; says so if the transaction had committed instead.
    async fn rollback_txn(
        &self,
        db: &str,
        txn_id: i64,
        reason: &str,
    ) -> Result<RollbackOutcome, DorisError>;

    async fn txn_by_label(&self, db: &str, label: &str) -> Result<Option<TxnState>, DorisError>;
    async fn txn_by_id(&self, db: &str, txn_id: i64) -> Result<Option<TxnState>, DorisError>;

    /// Starts restoring `snapshot` under `request.label`. Not idempotent: the caller saves
    /// the label first and asks [`TargetCluster::restore_state`] after a restart.
    async fn restore_snapshot(
        &self,
        request: &RestoreRequest,
        snapshot: &Snapshot,
    ) -> Result<(), DorisError>;

    /// The restore labelled `label`, if the cluster knows it.
    async fn restore_state(
        &self,
        db: &str,
        label: &str,
    ) -> Result<Option<SnapshotJobState>, DorisError>;

    /// Every restore the cluster keeps for `db` (read-only).
    async fn restore_jobs(&self, db: &str) -> Result<Vec<NamedSnapshotJob>, DorisError>;

    /// Cancels the running restore of `db` (`feature_cancel_conflict_backup_restore_job`).
    async fn cancel_restore(&self, db: &str) -> Result<(), DorisError>;
}

#[async_trait]
impl SourceCluster for DorisCluster {
    async fn get_binlogs(
        &self,
        db: &str,
        table: Option<(&str, i64)>,
        after: i64,
        max: i64,
    ) -> Result<BinlogBatch, DorisError> {
        DorisCluster::get_binlogs(self, db, table, after, max).await
    }

    async fn binlog_lag(
        &self,
        db: &str,
        table: Option<(&str, i64)>,
        after: i64,
    ) -> Result<BinlogLag, DorisError> {
        DorisCluster::binlog_lag(self, db, table, after).await
    }

    async fn table_meta(&self, db_id: i64, table_ids: &[i64]) -> Result<DbMeta, DorisError> {
        DorisCluster::table_meta(self, db_id, table_ids).await
    }

    async fn tables(&self, db_id: i64) -> Result<Vec<TableRow>, DorisError> {
        self.sql().tables(db_id).await
    }

    async fn backends(&self) -> Result<Vec<BackendMeta>, DorisError> {
        DorisCluster::backends(self).await
    }

    async fn master_token(&self) -> Result<Secret, DorisError> {
        DorisCluster::master_token(self).await
    }

    fn download_host(&self, host: &str) -> String {
        self.host_mapping().resolve(host)
    }

    async fn backup(
        &self,
        db: &str,
        snapshot: &str,
        targets: &[BackupTarget],
    ) -> Result<(), DorisError> {
        DorisCluster::backup(self, db, snapshot, targets).await
    }

    async fn backup_state(
        &self,
        db: &str,
        snapshot: &str,
    ) -> Result<Option<SnapshotJobState>, DorisError> {
        DorisCluster::backup_state(self, db, snapshot).await
    }

    async fn backup_jobs(&self, db: &str) -> Result<Vec<NamedSnapshotJob>, DorisError> {
        DorisCluster::backup_jobs(self, db).await
    }

    async fn cancel_backup(&self, db: &str) -> Result<(), DorisError> {
        DorisCluster::cancel_backup(self, db).await
    }

    async fn get_snapshot(
        &self,
        db: &str,
        table: &str,
        snapshot: &str,
    ) -> Result<Snapshot, DorisError> {
        DorisCluster::get_snapshot(self, db, table, snapshot).await
    }
}

#[async_trait]
impl TargetCluster for DorisCluster {
    async fn exec(&self, sql: &str) -> Result<u64, DorisError> {
        self.sql().exec(sql).await
    }

    async fn disk_usage(&self) -> Result<Vec<BackendRow>, DorisError> {
        self.sql().backends().await
    }

    async fn tables(&self, db_id: i64) -> Result<Vec<TableRow>, DorisError> {
        self.sql().tables(db_id).await
    }

    async fn database_id(&self, db: &str) -> Result<Option<i64>, DorisError> {
        self.sql().database_id(db).await
    }

    async fn table_id(&self, db_id: i64, table: &str) -> Result<Option<i64>, DorisError> {
        self.sql().table_id(db_id, table).await
    }

    async fn table_exists(&self, db: &str, table: &str) -> Result<bool, DorisError> {
        self.sql().table_exists(db, table).await
    }

    async fn show_create_table(&self, db: &str, table: &str) -> Result<String, DorisError> {
        self.sql().show_create_table(db, table).await
    }

    async fn table_meta(&self, db_id: i64, table_ids: &[i64]) -> Result<DbMeta, DorisError> {
        DorisCluster::table_meta(self, db_id, table_ids).await
    }

    async fn backends(&self) -> Result<Vec<BackendMeta>, DorisError> {
        DorisCluster::backends(self).await
    }

    async fn begin_txn(
        &self,
        db: &str,
        table_ids: Vec<i64>,
        label: &str,
    ) -> Result<BeginTxn, DorisError> {
        DorisCluster::begin_txn(self, db, table_ids, label).await
    }

    async fn ingest(&self, calls: &[IngestCall]) -> Result<(), DorisError> {
        let requests = calls.iter().map(|call| {
            let client = self.backend(&call.backend);
            async move {
                let result = client
                    .ingest_binlog(call.to_wire())
                    .await
                    .map_err(DorisError::from)?;
                check_status("ingest_binlog", result.status.as_ref())
            }
        });
        // Timed as one wait: the calls run concurrently, and the figure is wall time.
        self.timed(futures::future::join_all(requests))
            .await
            .into_iter()
            .collect()
    }

    async fn commit_txn(
        &self,
        db: &str,
        txn_id: i64,
        commit_infos: Vec<TabletCommit>,
    ) -> Result<CommitOutcome, DorisError> {
        let commit_infos = commit_infos
            .into_iter()
            .map(|c| TTabletCommitInfo {
                tablet_id: c.tablet_id,
                backend_id: c.backend_id,
            })
            .collect();
        DorisCluster::commit_txn(self, db, txn_id, commit_infos).await
    }

    async fn rollback_txn(
        &self,
        db: &str,
        txn_id: i64,
        reason: &str,
    ) -> Result<RollbackOutcome, DorisError> {
        DorisCluster::rollback_txn(self, db, txn_id, reason).await
    }

    async fn txn_by_label(&self, db: &str, label: &str) -> Result<Option<TxnState>, DorisError> {
        DorisCluster::txn_by_label(self, db, label).await
    }

    async fn txn_by_id(&self, db: &str, txn_id: i64) -> Result<Option<TxnState>, DorisError> {
        DorisCluster::txn_by_id(self, db, txn_id).await
    }

    async fn restore_snapshot(
        &self,
        request: &RestoreRequest,
        snapshot: &Snapshot,
    ) -> Result<(), DorisError> {
        DorisCluster::restore_snapshot(self, request, snapshot).await
    }

    async fn restore_state(
        &self,
        db: &str,
        label: &str,
    ) -> Result<Option<SnapshotJobState>, DorisError> {
        DorisCluster::restore_state(self, db, label).await
    }

    async fn restore_jobs(&self, db: &str) -> Result<Vec<NamedSnapshotJob>, DorisError> {
        DorisCluster::restore_jobs(self, db).await
    }

    async fn cancel_restore(&self, db: &str) -> Result<(), DorisError> {
        DorisCluster::cancel_restore(self, db).await
    }
}

/// A job's call counters observe its cluster clients.
impl CallObserver for CallTime {
    fn call_finished(&self, elapsed: std::time::Duration) {
        self.record(elapsed);
    }
}
