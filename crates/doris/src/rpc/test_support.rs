//! In-process FE and BE Thrift servers for the client tests.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::{RpcAddress, RpcTimeouts};
use ccr_wire::backend_service::{
    BackendServiceSyncHandler, BackendServiceSyncProcessor, TIngestBinlogRequest,
    TIngestBinlogResult, TQueryIngestBinlogRequest, TQueryIngestBinlogResult,
};
use ccr_wire::frontend_service::*;
use ccr_wire::status::{TStatus, TStatusCode};
use ccr_wire::types::{TBackend, TBinlog, TBinlogType, TIngestBinlogStatus, TNetworkAddress};
use doris_sim::thrift_server::ThriftServer;

/// How a test FE answers.
#[derive(Clone, Debug)]
pub(crate) enum FeRole {
    /// Answers every call.
    Master,
    /// Answers NOT_MASTER, naming this master (or none).
    Follower(Option<TNetworkAddress>),
}

/// A FrontendService handler with recognizable answers derived from the requests.
pub(crate) struct TestFe {
    role: FeRole,
    /// Sleep before answering, to provoke client timeouts.
    delay: Duration,
    calls: CallLog,
}

/// The FE methods a test FE was called with, in order.
pub(crate) type CallLog = Arc<Mutex<Vec<&'static str>>>;

impl TestFe {
    pub(crate) fn new(role: FeRole) -> Self {
        Self {
            role,
            delay: Duration::ZERO,
            calls: CallLog::default(),
        }
    }

    pub(crate) fn slow(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::new(FeRole::Master)
        }
    }

    /// Starts a server for this FE; the returned log records the calls it receives.
    pub(crate) fn serve(self) -> (ThriftServer, RpcAddress, CallLog) {
        let calls = Arc::clone(&self.calls);
        let server = ThriftServer::start_local(FrontendServiceSyncProcessor::new(self))
            .expect("start test FE");
        let address = RpcAddress::new("127.0.0.1", server.port());
        (server, address, calls)
    }

    /// Records the call; for a follower returns the NOT_MASTER status and master address.
    fn enter(&self, method: &'static str) -> Option<(TStatus, Option<TNetworkAddress>)> {
        self.calls.lock().push(method);
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        match &self.role {
            FeRole::Master => None,
            FeRole::Follower(master) => Some((
                TStatus::new(TStatusCode::NOT_MASTER, vec!["FE is not master".to_owned()]),
                master.clone(),
            )),
        }
    }
}

pub(crate) fn ok_status() -> TStatus {
    TStatus::new(TStatusCode::OK, None)
}

impl FrontendServiceSyncHandler for TestFe {
    fn handle_begin_txn(&self, request: TBeginTxnRequest) -> thrift::Result<TBeginTxnResult> {
        if let Some((status, master_address)) = self.enter("beginTxn") {
            return Ok(TBeginTxnResult {
                status: Some(status),
                master_address,
                ..Default::default()
            });
        }
        Ok(TBeginTxnResult {
            status: Some(ok_status()),
            txn_id: Some(1000 + request.table_ids.unwrap_or_default().iter().sum::<i64>()),
            job_status: request.label,
            db_id: Some(7),
            ..Default::default()
        })
    }

    fn handle_commit_txn(&self, request: TCommitTxnRequest) -> thrift::Result<TCommitTxnResult> {
        if let Some((status, master_address)) = self.enter("commitTxn") {
            return Ok(TCommitTxnResult {
                status: Some(status),
                master_address,
            });
        }
        let tablets = request.commit_infos.unwrap_or_default().len();
        Ok(TCommitTxnResult {
            status: Some(TStatus::new(
                TStatusCode::PUBLISH_TIMEOUT,
                vec![format!(
                    "txn {} with {tablets} tablets",
                    request.txn_id.unwrap_or(-1)
                )],
            )),
            master_address: None,
        })
    }

    fn handle_rollback_txn(
        &self,
        request: TRollbackTxnRequest,
    ) -> thrift::Result<TRollbackTxnResult> {
        if let Some((status, master_address)) = self.enter("rollbackTxn") {
            return Ok(TRollbackTxnResult {
                status: Some(status),
                master_address,
            });
        }
        Ok(TRollbackTxnResult {
            status: Some(TStatus::new(
                TStatusCode::OK,
                vec![request.reason.unwrap_or_default()],
            )),
            master_address: None,
        })
    }

    fn handle_get_binlog(&self, request: TGetBinlogRequest) -> thrift::Result<TGetBinlogResult> {
        if let Some((status, master_address)) = self.enter("getBinlog") {
            return Ok(TGetBinlogResult {
                status: Some(status),
                master_address,
                ..Default::default()
            });
        }
        let next = request.prev_commit_seq.unwrap_or(0) + 1;
        Ok(TGetBinlogResult {
            status: Some(ok_status()),
            next_commit_seq: Some(next),
            binlogs: Some(vec![TBinlog {
                commit_seq: Some(next),
                type_: Some(TBinlogType::UPSERT),
                data: Some(format!("{{\"db\":\"{}\"}}", request.db.unwrap_or_default())),
                ..Default::default()
            }]),
            ..Default::default()
        })
    }

    fn handle_get_binlog_lag(
        &self,
        request: TGetBinlogRequest,
    ) -> thrift::Result<TGetBinlogLagResult> {
        if let Some((status, master_address)) = self.enter("getBinlogLag") {
            return Ok(TGetBinlogLagResult {
                status: Some(status),
                master_address,
                ..Default::default()
            });
        }
        Ok(TGetBinlogLagResult {
            status: Some(ok_status()),
            lag: Some(42 - request.prev_commit_seq.unwrap_or(0)),
            ..Default::default()
        })
    }

    fn handle_lock_binlog(&self, request: TLockBinlogRequest) -> thrift::Result<TLockBinlogResult> {
        if let Some((status, master_address)) = self.enter("lockBinlog") {
            return Ok(TLockBinlogResult {
                status: Some(status),
                master_address,
                ..Default::default()
            });
        }
        Ok(TLockBinlogResult {
            status: Some(ok_status()),
            locked_commit_seq: request.lock_commit_seq,
            master_address: None,
        })
    }

    fn handle_get_snapshot(
        &self,
        request: TGetSnapshotRequest,
    ) -> thrift::Result<TGetSnapshotResult> {
        if let Some((status, master_address)) = self.enter("getSnapshot") {
            return Ok(TGetSnapshotResult {
                status: Some(status),
                master_address,
                ..Default::default()
            });
        }
        Ok(TGetSnapshotResult {
            status: Some(ok_status()),
            meta: request.label_name.map(String::into_bytes),
            job_info: Some(b"{\"table_commit_seq_map\":{}}".to_vec()),
            ..Default::default()
        })
    }

    fn handle_restore_snapshot(
        &self,
        request: TRestoreSnapshotRequest,
    ) -> thrift::Result<TRestoreSnapshotResult> {
        if let Some((status, master_address)) = self.enter("restoreSnapshot") {
            return Ok(TRestoreSnapshotResult {
                status: Some(status),
                master_address,
            });
        }
        let reserve = request
            .properties
            .unwrap_or_default()
            .get("reserve_replica")
            .cloned()
            .unwrap_or_default();
        Ok(TRestoreSnapshotResult {
            status: Some(TStatus::new(TStatusCode::OK, vec![reserve])),
            master_address: None,
        })
    }

    fn handle_get_master_token(
        &self,
        request: TGetMasterTokenRequest,
    ) -> thrift::Result<TGetMasterTokenResult> {
        if let Some((status, master_address)) = self.enter("getMasterToken") {
            return Ok(TGetMasterTokenResult {
                status: Some(status),
                master_address,
                ..Default::default()
            });
        }
        if request.password.as_deref() != Some("pw") {
            return Ok(TGetMasterTokenResult {
                status: Some(TStatus::new(TStatusCode::NOT_AUTHORIZED, None)),
                ..Default::default()
            });
        }
        Ok(TGetMasterTokenResult {
            status: Some(ok_status()),
            token: Some(format!("token-for-{}", request.user.unwrap_or_default())),
            master_address: None,
        })
    }

    fn handle_get_meta(&self, request: TGetMetaRequest) -> thrift::Result<TGetMetaResult> {
        if let Some((status, master_address)) = self.enter("getMeta") {
            return Ok(TGetMetaResult::new(status, None, master_address));
        }
        let db = request.db.unwrap_or_default();
        let tables = db
            .tables
            .unwrap_or_default()
            .into_iter()
            .map(|table| TGetMetaTableMeta {
                id: table.id,
                name: Some(format!("t{}", table.id.unwrap_or_default())),
                ..Default::default()
            })
            .collect::<Vec<_>>();
        Ok(TGetMetaResult::new(
            ok_status(),
            TGetMetaDBMeta {
                id: db.id,
                tables: Some(tables),
                ..Default::default()
            },
            None,
        ))
    }

    fn handle_get_backend_meta(
        &self,
        _request: TGetBackendMetaRequest,
    ) -> thrift::Result<TGetBackendMetaResult> {
        if let Some((status, master_address)) = self.enter("getBackendMeta") {
            return Ok(TGetBackendMetaResult::new(status, None, master_address));
        }
        Ok(TGetBackendMetaResult::new(
            ok_status(),
            vec![TBackend::new(
                "10.0.0.5".to_owned(),
                9060,
                8040,
                8060,
                true,
                10001,
            )],
            None,
        ))
    }
}

/// A BackendService handler: ingest succeeds for positive tablet ids.
pub(crate) struct TestBe;

impl TestBe {
    pub(crate) fn serve() -> (ThriftServer, RpcAddress) {
        let server = ThriftServer::start_local(BackendServiceSyncProcessor::new(TestBe))
            .expect("start test BE");
        let address = RpcAddress::new("127.0.0.1", server.port());
        (server, address)
    }
}

impl BackendServiceSyncHandler for TestBe {
    fn handle_ingest_binlog(
        &self,
        request: TIngestBinlogRequest,
    ) -> thrift::Result<TIngestBinlogResult> {
        let status = match request.local_tablet_id {
            Some(tablet) if tablet > 0 => ok_status(),
            tablet => TStatus::new(
                TStatusCode::TABLET_MISSING,
                vec![format!("tablet {} not found", tablet.unwrap_or_default())],
            ),
        };
        Ok(TIngestBinlogResult {
            status: Some(status),
            is_async: Some(false),
        })
    }

    fn handle_query_ingest_binlog(
        &self,
        request: TQueryIngestBinlogRequest,
    ) -> thrift::Result<TQueryIngestBinlogResult> {
        Ok(TQueryIngestBinlogResult {
            status: Some(TIngestBinlogStatus::DOING),
            err_msg: Some(format!("txn {}", request.txn_id.unwrap_or_default())),
        })
    }
}

/// An address nothing listens on: bound, then released.
pub(crate) fn dead_address() -> RpcAddress {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    RpcAddress::new("127.0.0.1", port)
}

/// Short timeouts so failing tests fail fast; generous enough for a loaded machine.
pub(crate) fn test_timeouts() -> RpcTimeouts {
    RpcTimeouts {
        connect: Duration::from_secs(5),
        call: Duration::from_secs(10),
        commit_txn: Duration::from_secs(10),
    }
}
