//! Load transactions of one simulated FE, modelled on Doris' `DatabaseTransactionMgr`.
//!
//! A transaction is begun with a label that is unique per database among transactions that
//! were not aborted, goes PREPARE → COMMITTED → VISIBLE (or → ABORTED), and collects the
//! rowsets BEs stage for it per (tablet, backend). Committing checks the commit infos
//! against the staged tablets and the replicas of every touched partition, then publishes at
//! once: each touched partition's visible version goes up by one and the staged rowsets
//! become readable at that version.
//!
//! The table lives inside [`CatalogState`] so a transaction and the catalog change it
//! publishes happen under one lock. SQL loads (INSERT, DELETE, UPDATE, INSERT OVERWRITE) are
//! transactions too, begun and published in the same critical section.
//!
//! Divergences from Doris: publish is synchronous (commit never answers PUBLISH_TIMEOUT),
//! finished transactions are never expired (no `label_keep_max_second` cleaner), and every
//! replica of a published tablet reports the new version.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::binlog_journal::PublishedTxn;
use super::catalog::table::{DeletePredicate, Rowset};
use super::catalog::types::Value;
use super::catalog::{format_time_ms, now_ms, CatalogState};

/// `stream_load_default_timeout_second` in Doris' fe.conf (3 days): the timeout of a
/// `beginTxn` that does not set one.
pub const STREAM_LOAD_DEFAULT_TIMEOUT_SECOND: i64 = 259_200;

/// Reason Doris records when a PREPARE transaction outlives its timeout.
const TIMEOUT_REASON: &str = "timeout by txn manager";

/// `TransactionStatus` as SHOW TRANSACTION prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnStatus {
    Prepare,
    Committed,
    Visible,
    Aborted,
}

impl TxnStatus {
    pub fn name(self) -> &'static str {
        match self {
            TxnStatus::Prepare => "PREPARE",
            TxnStatus::Committed => "COMMITTED",
            TxnStatus::Visible => "VISIBLE",
            TxnStatus::Aborted => "ABORTED",
        }
    }
}

/// `LoadJobSourceType`: who started the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadJobSourceType {
    /// `beginTxn` over Thrift (the CCR syncer, stream load).
    BackendStreaming,
    /// INSERT / DELETE / UPDATE over SQL.
    InsertStreaming,
}

impl LoadJobSourceType {
    pub fn name(self) -> &'static str {
        match self {
            LoadJobSourceType::BackendStreaming => "BACKEND_STREAMING",
            LoadJobSourceType::InsertStreaming => "INSERT_STREAMING",
        }
    }
}

/// The rows one BE ingested into one local tablet for a transaction, already in the local
/// table's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedRowset {
    pub table_id: i64,
    pub partition_id: i64,
    pub index_id: i64,
    /// Column unique ids matching the value order of every row.
    pub schema: Vec<i32>,
    pub rows: Vec<Vec<Value>>,
    pub delete_predicate: Option<DeletePredicate>,
}

impl StagedRowset {
    fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.delete_predicate.is_none()
    }
}

/// One transaction.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub id: i64,
    pub db_id: i64,
    pub label: String,
    pub table_ids: Vec<i64>,
    /// `FE: <host>` or `BE: <host>`, as SHOW TRANSACTION prints it.
    pub coordinator: String,
    pub source_type: LoadJobSourceType,
    pub status: TxnStatus,
    pub prepare_time_ms: i64,
    pub commit_time_ms: i64,
    pub publish_time_ms: i64,
    pub finish_time_ms: i64,
    pub reason: String,
    pub timeout_ms: i64,
    /// Staged rowsets by (local tablet id, backend id).
    staged: BTreeMap<(i64, i64), StagedRowset>,
}

impl Transaction {
    /// Whether `backend` staged data for `tablet` in this transaction.
    pub fn has_staged(&self, tablet_id: i64, backend_id: i64) -> bool {
        self.staged.contains_key(&(tablet_id, backend_id))
    }

    /// The SHOW TRANSACTION row (columns [`SHOW_TRANSACTION_COLUMNS`]).
    pub fn show_row(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.label.clone(),
            self.coordinator.clone(),
            self.status.name().to_owned(),
            self.source_type.name().to_owned(),
            format_time_ms(self.prepare_time_ms),
            // Pre-commit (two-phase stream load) never happens in the simulator.
            format_time_ms(0),
            format_time_ms(self.commit_time_ms),
            format_time_ms(self.publish_time_ms),
            format_time_ms(self.finish_time_ms),
            self.reason.clone(),
            "0".to_owned(),
            "-1".to_owned(),
            self.timeout_ms.to_string(),
            String::new(),
        ]
    }
}

/// SHOW TRANSACTION's columns (Doris TransProcDir).
pub const SHOW_TRANSACTION_COLUMNS: [&str; 15] = [
    "TransactionId",
    "Label",
    "Coordinator",
    "TransactionStatus",
    "LoadJobSourceType",
    "PrepareTime",
    "PreCommitTime",
    "CommitTime",
    "PublishTime",
    "FinishTime",
    "Reason",
    "ErrorReplicasCount",
    "ListenerId",
    "TimeoutMs",
    "ErrMsg",
];

/// Failures of transaction operations. `Display` is Doris' detail message (without the
/// `errCode = 2, detailMessage = ` prefix its UserException adds).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnError {
    #[error("Label [{label}] has already been used, relate to txn [{txn_id}]")]
    LabelAlreadyUsed {
        label: String,
        txn_id: i64,
        /// Status of the transaction holding the label (`job_status` in beginTxn).
        status: TxnStatus,
    },
    #[error("transaction [{0}] not found")]
    NotFound(i64),
    #[error("transaction [{txn_id}] is already aborted, abort reason: {reason}")]
    AlreadyAborted { txn_id: i64, reason: String },
    #[error("transaction [{txn_id}] is already {}, could not abort.", status.name())]
    AlreadyFinished { txn_id: i64, status: TxnStatus },
    #[error("transaction [{txn_id}] is {}, not PREPARE", status.name())]
    NotPrepared { txn_id: i64, status: TxnStatus },
    #[error("unknown database, database={0}")]
    UnknownDatabase(String),
    #[error("can't find table id: {table_id} in db: {db}")]
    UnknownTableId { table_id: i64, db: String },
    #[error("table not found, tableId={0}")]
    TableDropped(i64),
    #[error("tablet {tablet_id} does not belong to the tables of transaction [{txn_id}]")]
    ForeignTablet { tablet_id: i64, txn_id: i64 },
    #[error("backend {backend_id} has no replica of tablet {tablet_id}")]
    NotAReplica { tablet_id: i64, backend_id: i64 },
    #[error(
        "Failed to commit txn [{txn_id}]. Tablet [{tablet_id}] success replica num {success} is less than quorum replica num {quorum}"
    )]
    QuorumNotMet {
        txn_id: i64,
        tablet_id: i64,
        success: usize,
        quorum: usize,
    },
    #[error("{0}")]
    Catalog(String),
}

/// What `beginTxn` (or a SQL load) asks for.
#[derive(Debug, Clone)]
pub struct BeginTxn {
    pub db_id: i64,
    /// `None`: SQL load without `WITH LABEL`; the label becomes
    /// `<default_label_prefix>_<txn id hex>`.
    pub label: Option<String>,
    /// `insert` or `delete`, like the labels Doris generates for SQL loads.
    pub default_label_prefix: &'static str,
    pub table_ids: Vec<i64>,
    pub coordinator: String,
    pub source_type: LoadJobSourceType,
    pub timeout_ms: i64,
}

/// All transactions of one FE by id.
#[derive(Debug, Default)]
pub struct TxnTable {
    txns: BTreeMap<i64, Transaction>,
    /// (db id, label) → ids of the transactions begun with that label, oldest first, so a
    /// label check does not walk every transaction ever begun.
    label_index: HashMap<(i64, String), Vec<i64>>,
    /// Transactions that were PREPARE when last looked at: the only ones [`Self::expire`]
    /// must visit (others may have left PREPARE since; they are dropped from the set then).
    maybe_preparing: BTreeSet<i64>,
}

impl TxnTable {
    pub fn get(&self, txn_id: i64) -> Option<&Transaction> {
        self.txns.get(&txn_id)
    }

    /// The transaction of `db_id` that holds `label`: the one with that label that was not
    /// aborted (aborting releases a label).
    pub fn by_label(&self, db_id: i64, label: &str) -> Option<&Transaction> {
        self.label_index
            .get(&(db_id, label.to_owned()))?
            .iter()
            .filter_map(|id| self.txns.get(id))
            .find(|t| t.status != TxnStatus::Aborted)
    }

    fn insert(&mut self, txn: Transaction) {
        self.label_index
            .entry((txn.db_id, txn.label.clone()))
            .or_default()
            .push(txn.id);
        if txn.status == TxnStatus::Prepare {
            self.maybe_preparing.insert(txn.id);
        }
        self.txns.insert(txn.id, txn);
    }

    /// Aborts PREPARE transactions whose timeout has passed, as Doris' cleaner does.
    fn expire(&mut self, now: i64) {
        let txns = &mut self.txns;
        self.maybe_preparing.retain(|id| {
            let Some(txn) = txns.get_mut(id) else {
                return false;
            };
            if txn.status != TxnStatus::Prepare {
                return false;
            }
            if now > txn.prepare_time_ms + txn.timeout_ms {
                txn.status = TxnStatus::Aborted;
                txn.reason = TIMEOUT_REASON.to_owned();
                txn.finish_time_ms = now;
                txn.staged.clear();
                return false;
            }
            true
        });
    }
}

impl CatalogState {
    /// Begins a transaction in PREPARE. Checks that the database and every table exist and
    /// that the label is free (aborted transactions release their label).
    pub fn begin_txn(&mut self, request: BeginTxn) -> Result<i64, TxnError> {
        let now = now_ms();
        self.txns.expire(now);
        let db = self
            .databases
            .get(&request.db_id)
            .ok_or_else(|| TxnError::UnknownDatabase(request.db_id.to_string()))?;
        for &table_id in &request.table_ids {
            if !db.tables.contains_key(&table_id) {
                return Err(TxnError::UnknownTableId {
                    table_id,
                    db: db.name.clone(),
                });
            }
        }
        if let Some(label) = &request.label {
            if let Some(holder) = self.txns.by_label(request.db_id, label) {
                return Err(TxnError::LabelAlreadyUsed {
                    label: label.clone(),
                    txn_id: holder.id,
                    status: holder.status,
                });
            }
        }
        let id = self.next_id();
        let label = request
            .label
            .unwrap_or_else(|| format!("{}_{id:x}", request.default_label_prefix));
        self.txns.insert(Transaction {
            id,
            db_id: request.db_id,
            label,
            table_ids: request.table_ids,
            coordinator: request.coordinator,
            source_type: request.source_type,
            status: TxnStatus::Prepare,
            prepare_time_ms: now,
            commit_time_ms: 0,
            publish_time_ms: 0,
            finish_time_ms: 0,
            reason: String::new(),
            timeout_ms: request.timeout_ms,
            staged: BTreeMap::new(),
        });
        Ok(id)
    }

    /// The transaction `txn_id` of database `db_id` (Doris looks transactions up per
    /// database: an id from another database is "not found").
    pub fn txn_in_db(&mut self, db_id: i64, txn_id: i64) -> Result<&Transaction, TxnError> {
        self.txns.expire(now_ms());
        self.txns
            .get(txn_id)
            .filter(|t| t.db_id == db_id)
            .ok_or(TxnError::NotFound(txn_id))
    }

    /// Stages a BE's ingested rowset for `(tablet_id, backend_id)`; a repeated ingest
    /// replaces the earlier one (Doris tolerates re-ingesting into the same txn).
    pub fn stage_rowset(
        &mut self,
        txn_id: i64,
        tablet_id: i64,
        backend_id: i64,
        rowset: StagedRowset,
    ) -> Result<(), TxnError> {
        self.txns.expire(now_ms());
        let txn = self
            .txns
            .txns
            .get_mut(&txn_id)
            .ok_or(TxnError::NotFound(txn_id))?;
        if txn.status != TxnStatus::Prepare {
            return Err(TxnError::NotPrepared {
                txn_id,
                status: txn.status,
            });
        }
        if !txn.table_ids.contains(&rowset.table_id) {
            return Err(TxnError::ForeignTablet { tablet_id, txn_id });
        }
        txn.staged.insert((tablet_id, backend_id), rowset);
        Ok(())
    }

    /// Commits and publishes a transaction begun over Thrift with the replicas that
    /// ingested data (`commit_infos`: (tablet id, backend id)). Committing an already
    /// committed or visible transaction succeeds again, like Doris.
    pub fn commit_txn(
        &mut self,
        db_id: i64,
        txn_id: i64,
        commit_infos: &[(i64, i64)],
    ) -> Result<(), TxnError> {
        let txn = self.txn_in_db(db_id, txn_id)?.clone();
        match txn.status {
            TxnStatus::Committed | TxnStatus::Visible => return Ok(()),
            TxnStatus::Aborted => {
                return Err(TxnError::AlreadyAborted {
                    txn_id,
                    reason: txn.reason,
                })
            }
            TxnStatus::Prepare => {}
        }
        let db = self
            .databases
            .get(&db_id)
            .ok_or_else(|| TxnError::UnknownDatabase(db_id.to_string()))?;
        for table_id in &txn.table_ids {
            if !db.tables.contains_key(table_id) {
                return Err(TxnError::TableDropped(*table_id));
            }
        }

        // Every commit info must name a replica of a tablet of the transaction's tables.
        let mut committed: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
        let mut touched: BTreeSet<(i64, i64)> = BTreeSet::new();
        for &(tablet_id, backend_id) in commit_infos {
            let location = self
                .locate_tablet(tablet_id)
                .filter(|l| l.db_id == db_id && txn.table_ids.contains(&l.table_id))
                .ok_or(TxnError::ForeignTablet { tablet_id, txn_id })?;
            let tablet = self.tablet(location).expect("located tablet exists");
            if !tablet.replicas.iter().any(|r| r.backend_id == backend_id) {
                return Err(TxnError::NotAReplica {
                    tablet_id,
                    backend_id,
                });
            }
            committed.entry(tablet_id).or_default().insert(backend_id);
            touched.insert((location.table_id, location.partition_id));
        }
        for staged in txn.staged.values() {
            touched.insert((staged.table_id, staged.partition_id));
        }

        // Every tablet of every touched partition needs a quorum of successful replicas
        // (replicas that both ingested and are named in the commit infos).
        for &(table_id, partition_id) in &touched {
            let Some(partition) = db
                .tables
                .get(&table_id)
                .and_then(|t| t.olap())
                .and_then(|o| o.partitions.get(&partition_id))
            else {
                return Err(TxnError::Catalog(format!(
                    "partition {partition_id} of table {table_id} does not exist"
                )));
            };
            for index in partition.indexes.values() {
                for tablet in &index.tablets {
                    let quorum = tablet.replicas.len() / 2 + 1;
                    let success = committed
                        .get(&tablet.id)
                        .map(|backends| {
                            backends
                                .iter()
                                .filter(|b| txn.has_staged(tablet.id, **b))
                                .count()
                        })
                        .unwrap_or(0);
                    if success < quorum {
                        return Err(TxnError::QuorumNotMet {
                            txn_id,
                            tablet_id: tablet.id,
                            success,
                            quorum,
                        });
                    }
                }
            }
        }

        // Publish: one new version per touched partition, one rowset per tablet from a
        // replica that ingested it.
        let now = now_ms();
        let mut per_partition: BTreeMap<(i64, i64), Vec<(i64, StagedRowset)>> = BTreeMap::new();
        for (tablet_id, backends) in &committed {
            let Some(staged) = backends
                .iter()
                .find_map(|b| txn.staged.get(&(*tablet_id, *b)))
            else {
                continue;
            };
            per_partition
                .entry((staged.table_id, staged.partition_id))
                .or_default()
                .push((*tablet_id, staged.clone()));
        }
        for &(table_id, partition_id) in &touched {
            let rowsets = per_partition
                .remove(&(table_id, partition_id))
                .unwrap_or_default();
            self.publish_partition(table_id, partition_id, txn_id, rowsets, now)?;
        }
        let txn = self
            .txns
            .txns
            .get_mut(&txn_id)
            .expect("transaction checked above");
        txn.status = TxnStatus::Visible;
        txn.commit_time_ms = now;
        txn.publish_time_ms = now;
        txn.finish_time_ms = now;
        txn.staged.clear();
        let label = txn.label.clone();
        self.record_ingested_upsert(db_id, txn_id, label, &touched, now);
        Ok(())
    }

    /// The binlog side of a Thrift commit: COMMITTED is journaled (an edit-log id without
    /// binlog), then one UPSERT naming every partition published, at its new version.
    fn record_ingested_upsert(
        &mut self,
        db_id: i64,
        txn_id: i64,
        label: String,
        touched: &BTreeSet<(i64, i64)>,
        finish_time_ms: i64,
    ) {
        let mut tables: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
        for &(table_id, partition_id) in touched {
            let version = self
                .table_by_id(table_id)
                .and_then(|(_, t)| t.olap())
                .and_then(|o| o.partitions.get(&partition_id))
                .map(|p| p.visible_version);
            if let Some(version) = version {
                tables
                    .entry(table_id)
                    .or_default()
                    .push((partition_id, version));
            }
        }
        self.journal_op();
        self.record_upsert(&PublishedTxn {
            db_id,
            txn_id,
            label,
            finish_time_ms,
            tables,
        });
    }

    /// One new visible version of a partition carrying `rowsets` (tablet id, rows).
    fn publish_partition(
        &mut self,
        table_id: i64,
        partition_id: i64,
        txn_id: i64,
        rowsets: Vec<(i64, StagedRowset)>,
        now: i64,
    ) -> Result<(), TxnError> {
        let ids: Vec<i64> = rowsets.iter().map(|_| self.next_id()).collect();
        let table = self
            .table_by_id_mut(table_id)
            .ok_or(TxnError::TableDropped(table_id))?;
        let olap = table
            .olap_mut()
            .ok_or_else(|| TxnError::Catalog(format!("table {table_id} is not an OLAP table")))?;
        let partition = olap
            .partitions
            .get_mut(&partition_id)
            .ok_or_else(|| TxnError::Catalog(format!("partition {partition_id} does not exist")))?;
        let version = partition.visible_version + 1;
        for ((tablet_id, staged), rowset_id) in rowsets.into_iter().zip(ids) {
            if staged.is_empty() {
                continue;
            }
            let Some(tablet) = partition
                .indexes
                .get_mut(&staged.index_id)
                .and_then(|i| i.tablets.iter_mut().find(|t| t.id == tablet_id))
            else {
                continue;
            };
            tablet.rowsets.push(Rowset {
                id: rowset_id,
                version,
                txn_id,
                schema: staged.schema,
                rows: staged.rows,
                delete_predicate: staged.delete_predicate,
            });
        }
        partition.visible_version = version;
        partition.visible_version_time_ms = now;
        for index in partition.indexes.values_mut() {
            for tablet in &mut index.tablets {
                for replica in &mut tablet.replicas {
                    replica.version = version;
                }
            }
        }
        olap.visible_version += 1;
        olap.visible_version_time_ms = now;
        table.update_time_ms = now;
        Ok(())
    }

    /// Marks a SQL load transaction VISIBLE after its data was published through the
    /// catalog's load path ([`CatalogState::commit_load`] / `commit_delete`).
    pub fn finish_sql_txn(&mut self, txn_id: i64) {
        if let Some(txn) = self.txns.txns.get_mut(&txn_id) {
            let now = now_ms();
            txn.status = TxnStatus::Visible;
            txn.commit_time_ms = now;
            txn.publish_time_ms = now;
            txn.finish_time_ms = now;
        }
    }

    /// Aborts a PREPARE transaction (`reason` as given, Doris' default is "system cancel").
    pub fn abort_txn(&mut self, db_id: i64, txn_id: i64, reason: &str) -> Result<(), TxnError> {
        let txn = self.txn_in_db(db_id, txn_id)?;
        match txn.status {
            TxnStatus::Aborted => Err(TxnError::AlreadyAborted {
                txn_id,
                reason: txn.reason.clone(),
            }),
            status @ (TxnStatus::Committed | TxnStatus::Visible) => {
                Err(TxnError::AlreadyFinished { txn_id, status })
            }
            TxnStatus::Prepare => {
                let txn = self
                    .txns
                    .txns
                    .get_mut(&txn_id)
                    .expect("transaction checked above");
                txn.status = TxnStatus::Aborted;
                txn.reason = reason.to_owned();
                txn.finish_time_ms = now_ms();
                txn.staged.clear();
                Ok(())
            }
        }
    }

    /// SHOW TRANSACTION rows: transactions of `db_id` matching `id` or `label`.
    pub fn show_transactions(&mut self, db_id: i64, filter: &TxnFilter) -> Vec<Vec<String>> {
        self.txns.expire(now_ms());
        self.txns
            .txns
            .values()
            .filter(|t| t.db_id == db_id)
            .filter(|t| match filter {
                TxnFilter::Id(id) => t.id == *id,
                TxnFilter::Label(label) => t.label == *label,
            })
            .map(Transaction::show_row)
            .collect()
    }
}

/// The WHERE clause of SHOW TRANSACTION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnFilter {
    Id(i64),
    Label(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::table::Properties;
    use crate::catalog::Catalog;
    use crate::topology::ClusterTopology;

    fn catalog() -> std::sync::Arc<Catalog> {
        let topology = ClusterTopology::for_unit_tests();
        Catalog::new(topology, "")
    }

    fn begin(state: &mut CatalogState, db_id: i64, label: &str) -> Result<i64, TxnError> {
        state.begin_txn(BeginTxn {
            db_id,
            label: Some(label.to_owned()),
            default_label_prefix: "insert",
            table_ids: Vec::new(),
            coordinator: "BE: 127.0.0.1".into(),
            source_type: LoadJobSourceType::BackendStreaming,
            timeout_ms: 60_000,
        })
    }

    #[test]
    fn labels_are_unique_until_aborted() {
        let catalog = catalog();
        let mut state = catalog.write();
        let db = state.create_database("d", Properties::default()).unwrap();
        let first = begin(&mut state, db, "l1").unwrap();
        let err = begin(&mut state, db, "l1").unwrap_err();
        assert_eq!(
            err,
            TxnError::LabelAlreadyUsed {
                label: "l1".into(),
                txn_id: first,
                status: TxnStatus::Prepare
            }
        );
        assert_eq!(
            err.to_string(),
            format!("Label [l1] has already been used, relate to txn [{first}]")
        );
        state.abort_txn(db, first, "system cancel").unwrap();
        let again = begin(&mut state, db, "l1").unwrap();
        assert_ne!(again, first);
        assert_eq!(
            state.abort_txn(db, first, "x").unwrap_err().to_string(),
            format!("transaction [{first}] is already aborted, abort reason: system cancel")
        );
        assert_eq!(
            state.abort_txn(db, 999_999, "x").unwrap_err().to_string(),
            "transaction [999999] not found"
        );
    }

    #[test]
    fn empty_commit_is_visible_and_cannot_be_aborted() {
        let catalog = catalog();
        let mut state = catalog.write();
        let db = state.create_database("d", Properties::default()).unwrap();
        let txn = begin(&mut state, db, "l").unwrap();
        state.commit_txn(db, txn, &[]).unwrap();
        assert_eq!(state.txns.get(txn).unwrap().status, TxnStatus::Visible);
        // Committing again is fine; aborting is refused with Doris' text.
        state.commit_txn(db, txn, &[]).unwrap();
        assert_eq!(
            state.abort_txn(db, txn, "x").unwrap_err().to_string(),
            format!("transaction [{txn}] is already VISIBLE, could not abort.")
        );
        let rows = state.show_transactions(db, &TxnFilter::Label("l".into()));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][3], "VISIBLE");
        assert_eq!(rows[0].len(), SHOW_TRANSACTION_COLUMNS.len());
    }

    #[test]
    fn expired_transactions_are_aborted() {
        let catalog = catalog();
        let mut state = catalog.write();
        let db = state.create_database("d", Properties::default()).unwrap();
        let txn = state
            .begin_txn(BeginTxn {
                db_id: db,
                label: None,
                default_label_prefix: "insert",
                table_ids: Vec::new(),
                coordinator: "FE: 127.0.0.1".into(),
                source_type: LoadJobSourceType::InsertStreaming,
                timeout_ms: -1,
            })
            .unwrap();
        assert_eq!(
            state.txns.get(txn).unwrap().label,
            format!("insert_{txn:x}")
        );
        let found = state.txn_in_db(db, txn).unwrap();
        assert_eq!(found.status, TxnStatus::Aborted);
        assert_eq!(found.reason, TIMEOUT_REASON);
    }
}
