//! The simulated FE's FrontendService (Thrift, `rpc_port`): transactions (beginTxn,
//! commitTxn, rollbackTxn) and metadata (getMeta, getBackendMeta, getMasterToken), with
//! Doris' argument checks, authentication and status codes.
//!
//! Failures are reported the way Doris' FrontendServiceImpl does: argument, lookup and
//! password errors are UserExceptions, so the status is ANALYSIS_ERROR with the message
//! `errCode = 2, detailMessage = <text>`; getMasterToken and getBackendMeta answer a bad
//! password with NOT_AUTHORIZED; a taken label is LABEL_ALREADY_EXISTS with `job_status`.
//! The simulator has a single FE; it answers NOT_MASTER (with `master_address`) only while
//! the fault injector says the master moved.
//!
//! Every method first consults the cluster's [`FaultInjector`] (injected statuses, delays,
//! pause points, dropped connections, the NOT_MASTER switch; see `docs/doris_sim.md`).
//!
//! The binlog methods (getBinlog, getBinlogLag, lockBinlog) are answered by
//! [`crate::binlog_service`], the snapshot methods (getSnapshot, restoreSnapshot) by
//! [`crate::backup::service`].

use std::sync::Arc;

use crate::backup::service as backup_service;
use crate::binlog_service;
use crate::call_counts::NO_DATABASE;
use crate::catalog::table::Table;
use crate::catalog::user::{Privilege, User};
use crate::catalog::{Catalog, CatalogState};
use crate::fault::{FaultInjector, FaultReply};
use crate::txn::{BeginTxn, LoadJobSourceType, TxnError, STREAM_LOAD_DEFAULT_TIMEOUT_SECOND};
use ccr_wire::frontend_service::{
    FrontendServiceSyncHandler, TBeginTxnRequest, TBeginTxnResult, TCommitTxnRequest,
    TCommitTxnResult, TGetBackendMetaRequest, TGetBackendMetaResult, TGetBinlogLagResult,
    TGetBinlogRequest, TGetBinlogResult, TGetMasterTokenRequest, TGetMasterTokenResult,
    TGetMetaDBMeta, TGetMetaIndexMeta, TGetMetaPartitionMeta, TGetMetaReplicaMeta, TGetMetaRequest,
    TGetMetaResult, TGetMetaTableMeta, TGetMetaTabletMeta, TGetSnapshotRequest, TGetSnapshotResult,
    TLockBinlogRequest, TLockBinlogResult, TRestoreSnapshotRequest, TRestoreSnapshotResult,
    TRollbackTxnRequest, TRollbackTxnResult,
};
use ccr_wire::status::{TStatus, TStatusCode};
use ccr_wire::types::TBackend;

/// The client address the FE puts into access-denied messages and txn coordinators. The
/// simulator only listens on loopback, so every client connects from there (thrift-rs does
/// not hand the peer address to handlers).
const CLIENT_HOST: &str = "127.0.0.1";

/// Reason Doris records when rollbackTxn does not give one.
const DEFAULT_ROLLBACK_REASON: &str = "system cancel";

/// A failed FE call, in the shape Doris reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeCallError {
    /// A Doris UserException: ANALYSIS_ERROR.
    #[error("{0}")]
    Analysis(String),
    /// Bad credentials where Doris answers NOT_AUTHORIZED.
    #[error("{0}")]
    NotAuthorized(String),
    #[error("{message}")]
    LabelAlreadyExists { message: String, job_status: String },
}

impl FeCallError {
    fn not_set(field: &str) -> Self {
        FeCallError::Analysis(format!("{field} is not set"))
    }

    /// The TStatus Doris sends: UserException messages carry Doris' `errCode = 2,
    /// detailMessage = ` prefix.
    pub fn status(&self) -> TStatus {
        let (code, detail) = match self {
            FeCallError::Analysis(m) => (TStatusCode::ANALYSIS_ERROR, m),
            FeCallError::NotAuthorized(m) => (TStatusCode::NOT_AUTHORIZED, m),
            FeCallError::LabelAlreadyExists { message, .. } => {
                (TStatusCode::LABEL_ALREADY_EXISTS, message)
            }
        };
        TStatus::new(
            code,
            Some(vec![format!("errCode = 2, detailMessage = {detail}")]),
        )
    }
}

impl From<TxnError> for FeCallError {
    fn from(e: TxnError) -> Self {
        match &e {
            TxnError::LabelAlreadyUsed { status, .. } => FeCallError::LabelAlreadyExists {
                job_status: status.name().to_owned(),
                message: e.to_string(),
            },
            _ => FeCallError::Analysis(e.to_string()),
        }
    }
}

fn ok_status() -> TStatus {
    TStatus::new(TStatusCode::OK, None)
}

fn required<'a, T>(value: &'a Option<T>, field: &str) -> Result<&'a T, FeCallError> {
    value.as_ref().ok_or_else(|| FeCallError::not_set(field))
}

fn access_denied(user: &str, password: &str) -> String {
    format!(
        "Access denied for user '{user}@{CLIENT_HOST}' (using password: {})",
        if password.is_empty() { "NO" } else { "YES" }
    )
}

/// Checks a plain password like Doris' `checkPlainPassword`; returns the account.
fn check_password(state: &CatalogState, user: &str, password: &str) -> Result<User, String> {
    match state.user(user) {
        Some(account) if account.password.expose() == password => Ok(account.clone()),
        _ => Err(access_denied(user, password)),
    }
}

fn privilege_denied(privilege: Privilege) -> FeCallError {
    FeCallError::Analysis(format!(
        "Access denied; you need (at least one of) the ({}) privilege(s) for this operation",
        privilege.name()
    ))
}

/// A FrontendService result that can carry an injected fault: its status plus, for
/// NOT_MASTER, the master's address.
trait FromFaultReply {
    fn from_fault_reply(reply: FaultReply) -> Self;
}

macro_rules! from_fault_reply {
    (optional status: $($result:ty),* $(,)?) => {$(
        impl FromFaultReply for $result {
            // Some results have no fields besides these two; the update covers the rest.
            #[allow(clippy::needless_update)]
            fn from_fault_reply(reply: FaultReply) -> Self {
                Self {
                    status: Some(reply.status),
                    master_address: reply.master_address,
                    ..Default::default()
                }
            }
        }
    )*};
    (required status: $($result:ty),* $(,)?) => {$(
        impl FromFaultReply for $result {
            fn from_fault_reply(reply: FaultReply) -> Self {
                Self::new(reply.status, None, reply.master_address)
            }
        }
    )*};
}

from_fault_reply!(optional status:
    TBeginTxnResult,
    TCommitTxnResult,
    TRollbackTxnResult,
    TGetBinlogResult,
    TGetBinlogLagResult,
    TLockBinlogResult,
    TGetSnapshotResult,
    TRestoreSnapshotResult,
    TGetMasterTokenResult,
);
from_fault_reply!(required status: TGetMetaResult, TGetBackendMetaResult);

/// The FrontendService of one simulated cluster.
#[derive(Debug, Clone)]
pub struct SimFrontendService {
    catalog: Arc<Catalog>,
    faults: FaultInjector,
}

impl SimFrontendService {
    /// The service over `catalog`, consulting `faults` (the cluster's injector) first in
    /// every method.
    pub fn new(catalog: Arc<Catalog>, faults: FaultInjector) -> Self {
        Self { catalog, faults }
    }

    /// The fault hook every method calls first (wire method name `method`): `Ok(Some(..))`
    /// is the result to answer instead of doing the work (injected status or NOT_MASTER),
    /// `Err` drops the connection without a reply. Delays and pause points happen inside.
    fn injected_fault<R: FromFaultReply>(&self, method: &str) -> thrift::Result<Option<R>> {
        match self.faults.before_rpc(method, None) {
            Ok(()) => Ok(None),
            Err(fault) => Ok(Some(R::from_fault_reply(fault.into_reply()?))),
        }
    }

    /// Counts one call of `method` naming database `db` (before any fault: an injected
    /// failure is still a call the client sent).
    fn count(&self, method: &str, db: Option<&String>) {
        self.catalog
            .calls()
            .count_fe(method, db.map_or(NO_DATABASE, String::as_str));
    }

    /// Password plus `privilege` on every named table (Doris' checkPasswordAndPrivs).
    fn check_table_privileges(
        state: &CatalogState,
        user: &str,
        password: &str,
        db: &str,
        tables: &[String],
        privilege: Privilege,
    ) -> Result<(), FeCallError> {
        let account = check_password(state, user, password).map_err(FeCallError::Analysis)?;
        let allowed = if tables.is_empty() {
            account.has_db_privilege(db, privilege)
        } else {
            tables
                .iter()
                .all(|t| account.has_table_privilege(db, t, privilege))
        };
        if allowed {
            Ok(())
        } else {
            Err(privilege_denied(privilege))
        }
    }

    fn begin_txn(&self, request: &TBeginTxnRequest) -> Result<TBeginTxnResult, FeCallError> {
        let user = required(&request.user, "user")?;
        let passwd = required(&request.passwd, "passwd")?;
        let db_name = required(&request.db, "db")?;
        let table_ids = required(&request.table_ids, "table ids")?;
        let label = required(&request.label, "label")?;
        let mut state = self.catalog.write();
        // Table ids are resolved to names for the privilege check first, as in Doris.
        let db = state
            .db(db_name)
            .ok_or_else(|| FeCallError::Analysis(format!("can't find db named: {db_name}")))?;
        let table_names = table_ids
            .iter()
            .map(|id| {
                db.tables.get(id).map(|t| t.name.clone()).ok_or_else(|| {
                    FeCallError::Analysis(format!("can't find table id: {id} in db: {db_name}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::check_table_privileges(&state, user, passwd, db_name, &table_names, Privilege::Load)?;
        if label.is_empty() {
            return Err(FeCallError::Analysis(
                "empty label in begin request".to_owned(),
            ));
        }
        let db_id = db.id;
        let timeout_seconds = request
            .timeout
            .unwrap_or(STREAM_LOAD_DEFAULT_TIMEOUT_SECOND);
        let txn_id = state.begin_txn(BeginTxn {
            db_id,
            label: Some(label.clone()),
            default_label_prefix: "insert",
            table_ids: table_ids.clone(),
            coordinator: format!("BE: {CLIENT_HOST}"),
            source_type: LoadJobSourceType::BackendStreaming,
            timeout_ms: timeout_seconds.saturating_mul(1000),
        })?;
        Ok(TBeginTxnResult {
            status: Some(ok_status()),
            txn_id: Some(txn_id),
            db_id: Some(db_id),
            ..Default::default()
        })
    }

    /// The database of a commit/rollback and the names of the transaction's tables
    /// (all of which must still exist).
    fn txn_tables(
        state: &mut CatalogState,
        db_name: &str,
        txn_id: i64,
    ) -> Result<(i64, Vec<String>), FeCallError> {
        let db_id = state
            .db(db_name)
            .ok_or_else(|| FeCallError::Analysis(format!("unknown database, database={db_name}")))?
            .id;
        let table_ids = state.txn_in_db(db_id, txn_id)?.table_ids.clone();
        let db = state.databases.get(&db_id).expect("database found above");
        let names = table_ids
            .iter()
            .map(|id| {
                db.tables
                    .get(id)
                    .map(|t| t.name.clone())
                    .ok_or(FeCallError::from(TxnError::TableDropped(*id)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((db_id, names))
    }

    fn commit_txn(&self, request: &TCommitTxnRequest) -> Result<TCommitTxnResult, FeCallError> {
        let user = required(&request.user, "user")?;
        let passwd = required(&request.passwd, "passwd")?;
        let db_name = required(&request.db, "db")?;
        let txn_id = *required(&request.txn_id, "txn_id")?;
        let commit_infos = required(&request.commit_infos, "commit_infos")?;
        let mut state = self.catalog.write();
        let (db_id, tables) = Self::txn_tables(&mut state, db_name, txn_id)?;
        Self::check_table_privileges(&state, user, passwd, db_name, &tables, Privilege::Load)?;
        let infos: Vec<(i64, i64)> = commit_infos
            .iter()
            .map(|info| (info.tablet_id, info.backend_id))
            .collect();
        state.commit_txn(db_id, txn_id, &infos)?;
        Ok(TCommitTxnResult {
            status: Some(ok_status()),
            master_address: None,
        })
    }

    fn rollback_txn(
        &self,
        request: &TRollbackTxnRequest,
    ) -> Result<TRollbackTxnResult, FeCallError> {
        let user = required(&request.user, "user")?;
        let passwd = required(&request.passwd, "passwd")?;
        let db_name = required(&request.db, "db")?;
        let txn_id = *required(&request.txn_id, "txn_id")?;
        let mut state = self.catalog.write();
        let (db_id, tables) = Self::txn_tables(&mut state, db_name, txn_id)?;
        Self::check_table_privileges(&state, user, passwd, db_name, &tables, Privilege::Load)?;
        let reason = request.reason.as_deref().unwrap_or(DEFAULT_ROLLBACK_REASON);
        state.abort_txn(db_id, txn_id, reason)?;
        Ok(TRollbackTxnResult {
            status: Some(ok_status()),
            master_address: None,
        })
    }

    fn get_master_token(
        &self,
        request: &TGetMasterTokenRequest,
    ) -> Result<TGetMasterTokenResult, FeCallError> {
        let user = required(&request.user, "user")?;
        let password = required(&request.password, "password")?;
        check_password(&self.catalog.read(), user, password).map_err(FeCallError::NotAuthorized)?;
        Ok(TGetMasterTokenResult {
            status: Some(ok_status()),
            token: Some(self.catalog.cluster_token().expose().to_owned()),
            master_address: None,
        })
    }

    fn get_backend_meta(
        &self,
        request: &TGetBackendMetaRequest,
    ) -> Result<TGetBackendMetaResult, FeCallError> {
        let user = required(&request.user, "user")?;
        let passwd = required(&request.passwd, "passwd")?;
        check_password(&self.catalog.read(), user, passwd).map_err(FeCallError::NotAuthorized)?;
        let backends = self
            .catalog
            .topology()
            .backends
            .iter()
            .map(|be| TBackend {
                host: be.host.clone(),
                be_port: be.be_port.into(),
                http_port: be.http_port.into(),
                brpc_port: Some(be.brpc_port.into()),
                is_alive: Some(true),
                id: Some(be.id),
            })
            .collect();
        Ok(TGetBackendMetaResult {
            status: ok_status(),
            backends: Some(backends),
            master_address: None,
        })
    }

    /// The database a getMeta request names, by name or by id.
    fn meta_db_name(&self, request: &TGetMetaRequest) -> Option<String> {
        let db = request.db.as_ref()?;
        match (&db.name, db.id) {
            (Some(name), _) => Some(name.clone()),
            (None, Some(id)) => self
                .catalog
                .read()
                .databases
                .get(&id)
                .map(|db| db.name.clone()),
            (None, None) => None,
        }
    }

    fn get_meta(&self, request: &TGetMetaRequest) -> Result<TGetMetaResult, FeCallError> {
        let user = required(&request.user, "user")?;
        let passwd = required(&request.passwd, "passwd")?;
        let wanted = required(&request.db, "db")?;
        let state = self.catalog.read();
        let account = check_password(&state, user, passwd).map_err(FeCallError::Analysis)?;
        let db = match (wanted.id, wanted.name.as_deref()) {
            (Some(id), _) => state.databases.get(&id),
            (None, Some(name)) => state.db(name),
            (None, None) => return Err(FeCallError::not_set("db id or name")),
        };
        // An unknown database is not an error: the answer just has no db_meta.
        let Some(db) = db else {
            return Ok(TGetMetaResult {
                status: ok_status(),
                db_meta: None,
                master_address: None,
            });
        };
        if !account.has_db_privilege(&db.name, Privilege::Select) {
            return Err(privilege_denied(Privilege::Select));
        }
        let tables: Vec<&Table> = match &wanted.tables {
            // Unknown tables are skipped silently.
            Some(list) => list
                .iter()
                .filter_map(|t| match (t.id, t.name.as_deref()) {
                    (Some(id), _) => db.tables.get(&id),
                    (None, Some(name)) => db.table(name),
                    (None, None) => None,
                })
                .collect(),
            None => db.tables.values().collect(),
        };
        Ok(TGetMetaResult {
            status: ok_status(),
            db_meta: Some(TGetMetaDBMeta {
                id: Some(db.id),
                name: Some(db.name.clone()),
                tables: Some(tables.into_iter().map(table_meta).collect()),
                dropped_partitions: Some(Vec::new()),
                dropped_tables: Some(Vec::new()),
                dropped_indexes: Some(Vec::new()),
                ..Default::default()
            }),
            master_address: None,
        })
    }
}

/// getMeta's view of one table: partitions (regular and temporary) → indexes → tablets in
/// bucket order (= ascending id order) → replicas with their versions.
fn table_meta(table: &Table) -> TGetMetaTableMeta {
    let partitions = table.olap().map(|olap| {
        let types = olap.partition_column_types();
        olap.partitions
            .values()
            .map(|p| TGetMetaPartitionMeta {
                id: Some(p.id),
                name: Some(p.name.clone()),
                key: None,
                range: Some(p.item.describe(&types)),
                visible_version: Some(p.visible_version),
                is_temp: Some(p.is_temp),
                indexes: Some(
                    p.indexes
                        .values()
                        .map(|index| TGetMetaIndexMeta {
                            id: Some(index.id),
                            name: Some(
                                std::iter::once(&olap.base_index)
                                    .chain(&olap.rollups)
                                    .find(|meta| meta.id == index.id)
                                    .map(|meta| meta.name.clone())
                                    .unwrap_or_default(),
                            ),
                            tablets: Some(
                                index
                                    .tablets
                                    .iter()
                                    .map(|tablet| TGetMetaTabletMeta {
                                        id: Some(tablet.id),
                                        replicas: Some(
                                            tablet
                                                .replicas
                                                .iter()
                                                .map(|r| TGetMetaReplicaMeta {
                                                    id: Some(r.id),
                                                    backend_id: Some(r.backend_id),
                                                    version: Some(r.version),
                                                })
                                                .collect(),
                                        ),
                                    })
                                    .collect(),
                            ),
                        })
                        .collect(),
                ),
            })
            .collect()
    });
    TGetMetaTableMeta {
        id: Some(table.id),
        name: Some(table.name.clone()),
        in_trash: Some(false),
        partitions: Some(partitions.unwrap_or_default()),
        type_: Some(table.type_name().to_owned()),
    }
}

// Binlog and snapshot methods: each is one small method so the binlog journal and
// backup/restore can replace it without touching the rest of the service.
impl SimFrontendService {
    fn get_binlog(&self, request: &TGetBinlogRequest) -> TGetBinlogResult {
        binlog_service::get_binlog(&self.catalog, request)
    }

    fn get_binlog_lag(&self, request: &TGetBinlogRequest) -> TGetBinlogLagResult {
        binlog_service::get_binlog_lag(&self.catalog, request)
    }

    /// A 2.1-flavored FE does not know lockBinlog: the call fails as UNKNOWN_METHOD.
    /// The fault hook runs after the flavor check: a 2.1 FE's Thrift server refuses the
    /// unknown method before any handler (and so any fault) is reached.
    fn lock_binlog(&self, request: &TLockBinlogRequest) -> thrift::Result<TLockBinlogResult> {
        self.count("lockBinlog", request.db.as_ref());
        if !binlog_service::lock_binlog_supported(&self.catalog) {
            return Err(thrift::Error::Application(thrift::ApplicationError::new(
                thrift::ApplicationErrorKind::UnknownMethod,
                "Invalid method name: 'lockBinlog'",
            )));
        }
        if let Some(reply) = self.injected_fault("lockBinlog")? {
            return Ok(reply);
        }
        Ok(binlog_service::lock_binlog(&self.catalog, request))
    }

    // Fault hook point: when the FE methods consult `FaultInjector::before_rpc`, these two
    // call it first like the others.
    fn get_snapshot(&self, request: &TGetSnapshotRequest) -> TGetSnapshotResult {
        backup_service::get_snapshot(&self.catalog, request)
    }

    fn restore_snapshot(&self, request: &TRestoreSnapshotRequest) -> TRestoreSnapshotResult {
        backup_service::restore_snapshot(&self.catalog, request)
    }
}

impl FrontendServiceSyncHandler for SimFrontendService {
    fn handle_begin_txn(&self, request: TBeginTxnRequest) -> thrift::Result<TBeginTxnResult> {
        self.count("beginTxn", request.db.as_ref());
        if let Some(reply) = self.injected_fault("beginTxn")? {
            return Ok(reply);
        }
        Ok(self.begin_txn(&request).unwrap_or_else(|e| {
            let job_status = match &e {
                FeCallError::LabelAlreadyExists { job_status, .. } => Some(job_status.clone()),
                _ => None,
            };
            TBeginTxnResult {
                status: Some(e.status()),
                job_status,
                ..Default::default()
            }
        }))
    }

    fn handle_commit_txn(&self, request: TCommitTxnRequest) -> thrift::Result<TCommitTxnResult> {
        self.count("commitTxn", request.db.as_ref());
        if let Some(reply) = self.injected_fault("commitTxn")? {
            return Ok(reply);
        }
        Ok(self
            .commit_txn(&request)
            .unwrap_or_else(|e| TCommitTxnResult {
                status: Some(e.status()),
                master_address: None,
            }))
    }

    fn handle_rollback_txn(
        &self,
        request: TRollbackTxnRequest,
    ) -> thrift::Result<TRollbackTxnResult> {
        self.count("rollbackTxn", request.db.as_ref());
        if let Some(reply) = self.injected_fault("rollbackTxn")? {
            return Ok(reply);
        }
        Ok(self
            .rollback_txn(&request)
            .unwrap_or_else(|e| TRollbackTxnResult {
                status: Some(e.status()),
                master_address: None,
            }))
    }

    fn handle_get_binlog(&self, request: TGetBinlogRequest) -> thrift::Result<TGetBinlogResult> {
        self.count("getBinlog", request.db.as_ref());
        if let Some(reply) = self.injected_fault("getBinlog")? {
            return Ok(reply);
        }
        Ok(self.get_binlog(&request))
    }

    fn handle_get_binlog_lag(
        &self,
        request: TGetBinlogRequest,
    ) -> thrift::Result<TGetBinlogLagResult> {
        self.count("getBinlogLag", request.db.as_ref());
        if let Some(reply) = self.injected_fault("getBinlogLag")? {
            return Ok(reply);
        }
        Ok(self.get_binlog_lag(&request))
    }

    fn handle_lock_binlog(&self, request: TLockBinlogRequest) -> thrift::Result<TLockBinlogResult> {
        self.lock_binlog(&request)
    }

    fn handle_get_snapshot(
        &self,
        request: TGetSnapshotRequest,
    ) -> thrift::Result<TGetSnapshotResult> {
        self.count("getSnapshot", request.db.as_ref());
        if let Some(reply) = self.injected_fault("getSnapshot")? {
            return Ok(reply);
        }
        Ok(self.get_snapshot(&request))
    }

    fn handle_restore_snapshot(
        &self,
        request: TRestoreSnapshotRequest,
    ) -> thrift::Result<TRestoreSnapshotResult> {
        self.count("restoreSnapshot", request.db.as_ref());
        if let Some(reply) = self.injected_fault("restoreSnapshot")? {
            return Ok(reply);
        }
        Ok(self.restore_snapshot(&request))
    }

    fn handle_get_master_token(
        &self,
        request: TGetMasterTokenRequest,
    ) -> thrift::Result<TGetMasterTokenResult> {
        self.count("getMasterToken", None);
        if let Some(reply) = self.injected_fault("getMasterToken")? {
            return Ok(reply);
        }
        Ok(self
            .get_master_token(&request)
            .unwrap_or_else(|e| TGetMasterTokenResult {
                status: Some(e.status()),
                ..Default::default()
            }))
    }

    fn handle_get_meta(&self, request: TGetMetaRequest) -> thrift::Result<TGetMetaResult> {
        self.count("getMeta", self.meta_db_name(&request).as_ref());
        if let Some(reply) = self.injected_fault("getMeta")? {
            return Ok(reply);
        }
        Ok(self.get_meta(&request).unwrap_or_else(|e| TGetMetaResult {
            status: e.status(),
            db_meta: None,
            master_address: None,
        }))
    }

    fn handle_get_backend_meta(
        &self,
        request: TGetBackendMetaRequest,
    ) -> thrift::Result<TGetBackendMetaResult> {
        self.count("getBackendMeta", None);
        if let Some(reply) = self.injected_fault("getBackendMeta")? {
            return Ok(reply);
        }
        Ok(self
            .get_backend_meta(&request)
            .unwrap_or_else(|e| TGetBackendMetaResult {
                status: e.status(),
                backends: None,
                master_address: None,
            }))
    }
}
