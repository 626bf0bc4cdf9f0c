//! FrontendService client with master tracking.
//!
//! Every FE call is answered only by the master FE. Per call, like the reference syncer:
//! 1. call the FE believed to be master (initially the first configured one);
//! 2. on a connection-class error, try the next known FE not yet tried in this call;
//!    any other error (timeout included) fails the call at once;
//! 3. on status NOT_MASTER with a `master_address`, switch to that address (learning it if
//!    new), remember it as master and retry; without an address, treat it as a connection
//!    error;
//! 4. any other reply is returned as is: its `TStatus` is the caller's to interpret.
//!
//! Unlike the reference, redirects are capped ([`MAX_MASTER_REDIRECTS`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::connection::{ConnectionPool, FeSyncClient};
use super::{RpcAddress, RpcError, RpcTimeouts};
use crate::host_map::HostMapping;
use ccr_wire::frontend_service::{
    TBeginTxnRequest, TBeginTxnResult, TCommitTxnRequest, TCommitTxnResult,
    TFrontendServiceSyncClient, TGetBackendMetaRequest, TGetBackendMetaResult, TGetBinlogLagResult,
    TGetBinlogRequest, TGetBinlogResult, TGetMasterTokenRequest, TGetMasterTokenResult,
    TGetMetaRequest, TGetMetaResult, TGetSnapshotRequest, TGetSnapshotResult, TLockBinlogRequest,
    TLockBinlogResult, TRestoreSnapshotRequest, TRestoreSnapshotResult, TRollbackTxnRequest,
    TRollbackTxnResult,
};
use ccr_wire::status::{TStatus, TStatusCode};
use ccr_wire::types::TNetworkAddress;

/// NOT_MASTER redirects followed within one call. One is the normal case (a follower names
/// the master); a few more cover a master change during the call. More than this means the
/// FEs disagree about who is master (e.g. mid-election), which retrying cannot fix.
pub const MAX_MASTER_REDIRECTS: usize = 5;

/// Client for the FrontendService of one cluster's FEs. Cheap to clone; clones share the
/// known FEs, the remembered master and the connection pools.
#[derive(Clone)]
pub struct FeClient {
    inner: Arc<FeClientInner>,
}

struct FeClientInner {
    timeouts: RpcTimeouts,
    /// Applied when dialling; known FEs and the master keep their advertised addresses.
    mapping: HostMapping,
    frontends: Mutex<KnownFrontends>,
    pools: Mutex<HashMap<RpcAddress, Arc<ConnectionPool<FeSyncClient>>>>,
}

struct KnownFrontends {
    addresses: Vec<RpcAddress>,
    master: Option<RpcAddress>,
}

impl KnownFrontends {
    fn learn(&mut self, address: &RpcAddress) {
        if !self.addresses.contains(address) {
            self.addresses.push(address.clone());
        }
    }
}

/// What the master handling needs from a reply.
trait FeReply {
    fn status(&self) -> Option<&TStatus>;
    fn master_address(&self) -> Option<&TNetworkAddress>;
}

macro_rules! fe_reply {
    (optional status: $($result:ty),* $(,)?) => {$(
        impl FeReply for $result {
            fn status(&self) -> Option<&TStatus> {
                self.status.as_ref()
            }
            fn master_address(&self) -> Option<&TNetworkAddress> {
                self.master_address.as_ref()
            }
        }
    )*};
    (required status: $($result:ty),* $(,)?) => {$(
        impl FeReply for $result {
            fn status(&self) -> Option<&TStatus> {
                Some(&self.status)
            }
            fn master_address(&self) -> Option<&TNetworkAddress> {
                self.master_address.as_ref()
            }
        }
    )*};
}

fe_reply!(optional status:
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
fe_reply!(required status: TGetMetaResult, TGetBackendMetaResult);

/// How a reply bears on master tracking.
enum MasterVerdict {
    /// Answered by the master (or by an FE that does not report NOT_MASTER).
    Answered,
    RedirectTo(RpcAddress),
    NotMasterUnknownMaster,
}

fn verdict(reply: &impl FeReply) -> MasterVerdict {
    let not_master = reply
        .status()
        .is_some_and(|status| status.status_code == TStatusCode::NOT_MASTER);
    if !not_master {
        return MasterVerdict::Answered;
    }
    match reply
        .master_address()
        .and_then(RpcAddress::from_network_address)
    {
        Some(master) => MasterVerdict::RedirectTo(master),
        None => MasterVerdict::NotMasterUnknownMaster,
    }
}

impl FeClient {
    /// A client for the given FEs (host, rpc_port). The first is tried first.
    pub fn new(frontends: Vec<RpcAddress>, timeouts: RpcTimeouts) -> Self {
        Self::with_host_mapping(frontends, timeouts, HostMapping::default())
    }

    /// A client that dials every FE (configured, listed or named as master) through
    /// `mapping`.
    pub fn with_host_mapping(
        frontends: Vec<RpcAddress>,
        timeouts: RpcTimeouts,
        mapping: HostMapping,
    ) -> Self {
        Self {
            inner: Arc::new(FeClientInner {
                timeouts,
                mapping,
                frontends: Mutex::new(KnownFrontends {
                    addresses: dedup(frontends),
                    master: None,
                }),
                pools: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Replaces the known FEs (e.g. after listing `frontends()`). The remembered master is
    /// kept if it is still listed; pools of FEs no longer listed are closed.
    pub fn set_frontends(&self, frontends: Vec<RpcAddress>) {
        let addresses = dedup(frontends);
        {
            let mut known = self.inner.frontends.lock();
            if known
                .master
                .as_ref()
                .is_some_and(|master| !addresses.contains(master))
            {
                known.master = None;
            }
            known.addresses = addresses.clone();
        }
        self.inner
            .pools
            .lock()
            .retain(|address, _| addresses.contains(address));
    }

    /// The known FEs, including masters learned from redirects.
    pub fn frontends(&self) -> Vec<RpcAddress> {
        self.inner.frontends.lock().addresses.clone()
    }

    /// The FE that last answered as master, if any call succeeded yet.
    pub fn master(&self) -> Option<RpcAddress> {
        self.inner.frontends.lock().master.clone()
    }

    pub fn timeouts(&self) -> RpcTimeouts {
        self.inner.timeouts
    }

    pub async fn begin_txn(&self, request: TBeginTxnRequest) -> Result<TBeginTxnResult, RpcError> {
        self.call_master("beginTxn", self.inner.timeouts.call, request, |c, r| {
            c.begin_txn(r)
        })
        .await
    }

    /// Uses the longer commitTxn timeout: the FE may wait for publish before answering.
    pub async fn commit_txn(
        &self,
        request: TCommitTxnRequest,
    ) -> Result<TCommitTxnResult, RpcError> {
        self.call_master(
            "commitTxn",
            self.inner.timeouts.commit_txn,
            request,
            |c, r| c.commit_txn(r),
        )
        .await
    }

    pub async fn rollback_txn(
        &self,
        request: TRollbackTxnRequest,
    ) -> Result<TRollbackTxnResult, RpcError> {
        self.call_master("rollbackTxn", self.inner.timeouts.call, request, |c, r| {
            c.rollback_txn(r)
        })
        .await
    }

    pub async fn get_binlog(
        &self,
        request: TGetBinlogRequest,
    ) -> Result<TGetBinlogResult, RpcError> {
        self.call_master("getBinlog", self.inner.timeouts.call, request, |c, r| {
            c.get_binlog(r)
        })
        .await
    }

    pub async fn get_binlog_lag(
        &self,
        request: TGetBinlogRequest,
    ) -> Result<TGetBinlogLagResult, RpcError> {
        self.call_master("getBinlogLag", self.inner.timeouts.call, request, |c, r| {
            c.get_binlog_lag(r)
        })
        .await
    }

    /// Older FEs lack this method: they fail it with [`RpcError::UnknownMethod`].
    pub async fn lock_binlog(
        &self,
        request: TLockBinlogRequest,
    ) -> Result<TLockBinlogResult, RpcError> {
        self.call_master("lockBinlog", self.inner.timeouts.call, request, |c, r| {
            c.lock_binlog(r)
        })
        .await
    }

    pub async fn get_snapshot(
        &self,
        request: TGetSnapshotRequest,
    ) -> Result<TGetSnapshotResult, RpcError> {
        self.call_master("getSnapshot", self.inner.timeouts.call, request, |c, r| {
            c.get_snapshot(r)
        })
        .await
    }

    pub async fn restore_snapshot(
        &self,
        request: TRestoreSnapshotRequest,
    ) -> Result<TRestoreSnapshotResult, RpcError> {
        self.call_master(
            "restoreSnapshot",
            self.inner.timeouts.call,
            request,
            |c, r| c.restore_snapshot(r),
        )
        .await
    }

    pub async fn get_master_token(
        &self,
        request: TGetMasterTokenRequest,
    ) -> Result<TGetMasterTokenResult, RpcError> {
        self.call_master(
            "getMasterToken",
            self.inner.timeouts.call,
            request,
            |c, r| c.get_master_token(r),
        )
        .await
    }

    pub async fn get_meta(&self, request: TGetMetaRequest) -> Result<TGetMetaResult, RpcError> {
        self.call_master("getMeta", self.inner.timeouts.call, request, |c, r| {
            c.get_meta(r)
        })
        .await
    }

    pub async fn get_backend_meta(
        &self,
        request: TGetBackendMetaRequest,
    ) -> Result<TGetBackendMetaResult, RpcError> {
        self.call_master(
            "getBackendMeta",
            self.inner.timeouts.call,
            request,
            |c, r| c.get_backend_meta(r),
        )
        .await
    }

    fn pool(&self, address: &RpcAddress) -> Arc<ConnectionPool<FeSyncClient>> {
        let mut pools = self.inner.pools.lock();
        Arc::clone(pools.entry(address.clone()).or_insert_with(|| {
            Arc::new(ConnectionPool::new(
                address.clone(),
                self.inner.mapping.clone(),
                self.inner.timeouts.connect,
            ))
        }))
    }

    /// The FE to call first: the remembered master, else the first known FE.
    fn first_target(&self) -> Option<RpcAddress> {
        let known = self.inner.frontends.lock();
        known
            .master
            .clone()
            .or_else(|| known.addresses.first().cloned())
    }

    /// The next known FE not yet tried in this call.
    fn next_untried(&self, tried: &[RpcAddress]) -> Option<RpcAddress> {
        let known = self.inner.frontends.lock();
        known
            .addresses
            .iter()
            .find(|address| !tried.contains(address))
            .cloned()
    }

    fn remember_master(&self, master: &RpcAddress) {
        let mut known = self.inner.frontends.lock();
        known.learn(master);
        if known.master.as_ref() != Some(master) {
            tracing::info!(master = %master, "FE master changed");
            known.master = Some(master.clone());
        }
    }

    async fn call_master<Req, Res>(
        &self,
        method: &'static str,
        timeout: Duration,
        request: Req,
        invoke: fn(&mut FeSyncClient, Req) -> thrift::Result<Res>,
    ) -> Result<Res, RpcError>
    where
        Req: Clone + Send + 'static,
        Res: FeReply + Send + 'static,
    {
        let mut target = self.first_target().ok_or(RpcError::NoFrontendReachable {
            method,
            tried: Vec::new(),
            last_error: None,
        })?;
        let mut tried: Vec<RpcAddress> = Vec::new();
        let mut redirects = 0;
        loop {
            if !tried.contains(&target) {
                tried.push(target.clone());
            }
            let pool = self.pool(&target);
            let failure = match pool.call(method, timeout, request.clone(), invoke).await {
                Ok(reply) => match verdict(&reply) {
                    MasterVerdict::Answered => {
                        self.remember_master(&target);
                        return Ok(reply);
                    }
                    MasterVerdict::RedirectTo(master) => {
                        redirects += 1;
                        if redirects > MAX_MASTER_REDIRECTS {
                            return Err(RpcError::TooManyRedirects {
                                method,
                                redirects: MAX_MASTER_REDIRECTS,
                                last_address: master,
                            });
                        }
                        tracing::debug!(method, from = %target, to = %master, "NOT_MASTER redirect");
                        self.remember_master(&master);
                        target = master;
                        continue;
                    }
                    MasterVerdict::NotMasterUnknownMaster => RpcError::NotMaster {
                        address: target.clone(),
                        method,
                    },
                },
                Err(error) if error.is_connection_class() => error,
                Err(error) => return Err(error),
            };
            match self.next_untried(&tried) {
                Some(next) => {
                    tracing::warn!(method, failed = %target, next = %next, error = %failure,
                        "FE unusable, trying the next one");
                    target = next;
                }
                None => {
                    return Err(RpcError::NoFrontendReachable {
                        method,
                        tried,
                        last_error: Some(Box::new(failure)),
                    })
                }
            }
        }
    }
}

impl std::fmt::Debug for FeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known = self.inner.frontends.lock();
        f.debug_struct("FeClient")
            .field("frontends", &known.addresses)
            .field("master", &known.master)
            .finish()
    }
}

fn dedup(addresses: Vec<RpcAddress>) -> Vec<RpcAddress> {
    let mut unique = Vec::with_capacity(addresses.len());
    for address in addresses {
        if !unique.contains(&address) {
            unique.push(address);
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener};
    use std::sync::Arc;
    use std::thread;

    use super::*;
    use crate::rpc::test_support::{dead_address, test_timeouts, FeRole, TestBe, TestFe};
    use ccr_wire::frontend_service::{
        FrontendServiceSyncProcessor, TGetMetaDB, TGetMetaTable, TTableRef,
    };
    use ccr_wire::types::{TBinlogType, TSnapshotType, TTabletCommitInfo};
    use doris_sim::thrift_server::ThriftServer;

    fn credentials() -> (Option<String>, Option<String>) {
        (Some("root".to_owned()), Some("pw".to_owned()))
    }

    fn binlog_request(prev_commit_seq: i64) -> TGetBinlogRequest {
        let (user, passwd) = credentials();
        TGetBinlogRequest {
            user,
            passwd,
            db: Some("db1".to_owned()),
            prev_commit_seq: Some(prev_commit_seq),
            ..Default::default()
        }
    }

    fn status_code<R: FeReply>(reply: &R) -> TStatusCode {
        reply.status().expect("status set").status_code
    }

    #[tokio::test]
    async fn every_method_round_trips() {
        let (_server, address, calls) = TestFe::new(FeRole::Master).serve();
        let client = FeClient::new(vec![address.clone()], test_timeouts());
        let (user, passwd) = credentials();

        let begin = client
            .begin_txn(TBeginTxnRequest {
                user: user.clone(),
                passwd: passwd.clone(),
                db: Some("db1".to_owned()),
                table_ids: Some(vec![1, 2]),
                label: Some("ccrj-1:db_sync:1:2:3".to_owned()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(status_code(&begin), TStatusCode::OK);
        assert_eq!(begin.txn_id, Some(1003));
        assert_eq!(begin.db_id, Some(7));
        assert_eq!(begin.job_status.as_deref(), Some("ccrj-1:db_sync:1:2:3"));

        let commit = client
            .commit_txn(TCommitTxnRequest {
                user: user.clone(),
                passwd: passwd.clone(),
                txn_id: Some(1003),
                commit_infos: Some(vec![TTabletCommitInfo::new(11, 22)]),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(status_code(&commit), TStatusCode::PUBLISH_TIMEOUT);
        assert_eq!(
            commit.status.unwrap().error_msgs,
            Some(vec!["txn 1003 with 1 tablets".to_owned()])
        );

        let rollback = client
            .rollback_txn(TRollbackTxnRequest {
                txn_id: Some(5),
                reason: Some("ingest failed".to_owned()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            rollback.status.unwrap().error_msgs,
            Some(vec!["ingest failed".to_owned()])
        );

        let binlog = client.get_binlog(binlog_request(41)).await.unwrap();
        let binlogs = binlog.binlogs.unwrap();
        assert_eq!(binlogs.len(), 1);
        assert_eq!(binlogs[0].commit_seq, Some(42));
        assert_eq!(binlogs[0].type_, Some(TBinlogType::UPSERT));
        assert_eq!(binlogs[0].data.as_deref(), Some("{\"db\":\"db1\"}"));

        let lag = client.get_binlog_lag(binlog_request(40)).await.unwrap();
        assert_eq!(lag.lag, Some(2));

        let lock = client
            .lock_binlog(TLockBinlogRequest {
                job_unique_id: Some("job_abc".to_owned()),
                lock_commit_seq: Some(-1),
                table_id: Some(-1),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(lock.locked_commit_seq, Some(-1));

        let snapshot = client
            .get_snapshot(TGetSnapshotRequest {
                label_name: Some("backup_1".to_owned()),
                snapshot_name: Some(String::new()),
                snapshot_type: Some(TSnapshotType::LOCAL),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(snapshot.meta.as_deref(), Some(&b"backup_1"[..]));
        assert!(snapshot.job_info.is_some());

        let restore = client
            .restore_snapshot(TRestoreSnapshotRequest {
                properties: Some(BTreeMap::from([(
                    "reserve_replica".to_owned(),
                    "true".to_owned(),
                )])),
                table_refs: Some(vec![TTableRef {
                    table: Some("t".to_owned()),
                    alias_name: Some("t2".to_owned()),
                }]),
                meta: Some(vec![1, 2, 3]),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            restore.status.unwrap().error_msgs,
            Some(vec!["true".to_owned()])
        );

        let token = client
            .get_master_token(TGetMasterTokenRequest {
                cluster: Some(String::new()),
                user: user.clone(),
                password: passwd.clone(),
            })
            .await
            .unwrap();
        assert_eq!(token.token.as_deref(), Some("token-for-root"));

        let meta = client
            .get_meta(TGetMetaRequest {
                user: user.clone(),
                passwd: passwd.clone(),
                db: Some(TGetMetaDB {
                    id: Some(9),
                    tables: Some(vec![TGetMetaTable {
                        id: Some(77),
                        name: None,
                    }]),
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
        assert_eq!(meta.status.status_code, TStatusCode::OK);
        let db_meta = meta.db_meta.unwrap();
        assert_eq!(db_meta.id, Some(9));
        assert_eq!(db_meta.tables.unwrap()[0].name.as_deref(), Some("t77"));

        let backends = client
            .get_backend_meta(TGetBackendMetaRequest {
                cluster: None,
                user,
                passwd,
            })
            .await
            .unwrap();
        let backend = &backends.backends.unwrap()[0];
        assert_eq!(
            (backend.host.as_str(), backend.be_port, backend.http_port),
            ("10.0.0.5", 9060, 8040)
        );
        assert_eq!(backend.id, Some(10001));

        assert_eq!(
            *calls.lock(),
            [
                "beginTxn",
                "commitTxn",
                "rollbackTxn",
                "getBinlog",
                "getBinlogLag",
                "lockBinlog",
                "getSnapshot",
                "restoreSnapshot",
                "getMasterToken",
                "getMeta",
                "getBackendMeta"
            ]
        );
        assert_eq!(client.master(), Some(address));
    }

    #[tokio::test]
    async fn not_master_redirects_to_the_named_master() {
        let (_master, master_address, master_calls) = TestFe::new(FeRole::Master).serve();
        let named = TNetworkAddress::new("127.0.0.1".to_owned(), i32::from(master_address.port));
        let (_follower, follower_address, follower_calls) =
            TestFe::new(FeRole::Follower(Some(named))).serve();
        let client = FeClient::new(vec![follower_address.clone()], test_timeouts());

        let reply = client.get_binlog(binlog_request(1)).await.unwrap();
        assert_eq!(status_code(&reply), TStatusCode::OK);
        assert_eq!(client.master(), Some(master_address.clone()));
        assert_eq!(client.frontends(), [follower_address, master_address]);

        // The master is remembered: the next call goes straight there.
        client.get_binlog(binlog_request(2)).await.unwrap();
        assert_eq!(*follower_calls.lock(), ["getBinlog"]);
        assert_eq!(*master_calls.lock(), ["getBinlog", "getBinlog"]);
    }

    #[tokio::test]
    async fn a_master_named_by_its_private_host_is_dialled_through_the_mapping() {
        let (_master, master_address, master_calls) = TestFe::new(FeRole::Master).serve();
        let private = "fe-1.private.invalid";
        let named = TNetworkAddress::new(private.to_owned(), i32::from(master_address.port));
        let (_follower, follower_address, _) = TestFe::new(FeRole::Follower(Some(named))).serve();
        let mapping = HostMapping::default();
        let client = FeClient::with_host_mapping(
            vec![follower_address.clone()],
            test_timeouts(),
            mapping.clone(),
        );

        // Unmapped, the private name is refused without a lookup, and the error says why.
        let error = client.get_binlog(binlog_request(1)).await.unwrap_err();
        assert!(
            error.to_string().contains("has no host_mapping entry"),
            "{error}"
        );

        mapping.replace([(private.to_owned(), "127.0.0.1".to_owned())].into());
        let reply = client.get_binlog(binlog_request(1)).await.unwrap();
        assert_eq!(status_code(&reply), TStatusCode::OK);
        // Known by its advertised address; only dialling is mapped.
        assert_eq!(
            client.master(),
            Some(RpcAddress::new(private, master_address.port))
        );
        assert_eq!(*master_calls.lock(), ["getBinlog"]);
    }

    #[tokio::test]
    async fn a_dead_fe_fails_over_to_a_live_one() {
        let dead = dead_address();
        let (_live, live_address, live_calls) = TestFe::new(FeRole::Master).serve();
        let client = FeClient::new(vec![dead, live_address.clone()], test_timeouts());

        let reply = client.get_binlog_lag(binlog_request(0)).await.unwrap();
        assert_eq!(reply.lag, Some(42));
        assert_eq!(client.master(), Some(live_address));
        assert_eq!(*live_calls.lock(), ["getBinlogLag"]);
    }

    #[tokio::test]
    async fn not_master_without_address_tries_the_next_fe() {
        let (_follower, follower_address, _) = TestFe::new(FeRole::Follower(None)).serve();
        let (_master, master_address, _) = TestFe::new(FeRole::Master).serve();
        let client = FeClient::new(
            vec![follower_address, master_address.clone()],
            test_timeouts(),
        );
        client.get_binlog(binlog_request(0)).await.unwrap();
        assert_eq!(client.master(), Some(master_address));
    }

    #[tokio::test]
    async fn no_reachable_fe_is_reported_with_every_address_tried() {
        let (first, second) = (dead_address(), dead_address());
        let client = FeClient::new(vec![first.clone(), second.clone()], test_timeouts());
        let error = client.get_binlog(binlog_request(0)).await.unwrap_err();
        match error {
            RpcError::NoFrontendReachable {
                method,
                tried,
                last_error,
            } => {
                assert_eq!(method, "getBinlog");
                assert_eq!(tried, [first, second]);
                assert!(last_error.unwrap().is_connection_class());
            }
            other => panic!("unexpected error: {other}"),
        }

        let empty = FeClient::new(Vec::new(), test_timeouts());
        let error = empty.get_binlog(binlog_request(0)).await.unwrap_err();
        assert!(
            matches!(error, RpcError::NoFrontendReachable { ref tried, .. } if tried.is_empty())
        );
    }

    #[tokio::test]
    async fn endless_redirects_are_capped() {
        // Two followers that each name the other as master.
        let first = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let second = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let name = |listener: &TcpListener| {
            Some(TNetworkAddress::new(
                "127.0.0.1".to_owned(),
                i32::from(listener.local_addr().unwrap().port()),
            ))
        };
        let (first_names, second_names) = (name(&second), name(&first));
        let first_address = RpcAddress::new("127.0.0.1", first.local_addr().unwrap().port());
        let _first = ThriftServer::start(
            first,
            Arc::new(FrontendServiceSyncProcessor::new(TestFe::new(
                FeRole::Follower(first_names),
            ))),
        )
        .unwrap();
        let _second = ThriftServer::start(
            second,
            Arc::new(FrontendServiceSyncProcessor::new(TestFe::new(
                FeRole::Follower(second_names),
            ))),
        )
        .unwrap();

        let client = FeClient::new(vec![first_address], test_timeouts());
        let error = client.get_binlog(binlog_request(0)).await.unwrap_err();
        assert!(
            matches!(error, RpcError::TooManyRedirects { redirects, .. } if redirects == MAX_MASTER_REDIRECTS),
            "{error}"
        );
    }

    #[tokio::test]
    async fn connections_are_reused_and_stale_ones_replaced() {
        let (server, address, _) = TestFe::new(FeRole::Master).serve();
        let client = FeClient::new(vec![address], test_timeouts());
        for seq in 0..3 {
            client.get_binlog(binlog_request(seq)).await.unwrap();
        }
        assert_eq!(server.accepted_connections(), 1);

        // The server cuts the idle connection (as on an FE restart): the next call notices
        // and uses a new connection instead of failing.
        assert_eq!(server.drop_connections(), 1);
        client.get_binlog(binlog_request(3)).await.unwrap();
        assert_eq!(server.accepted_connections(), 2);
    }

    #[tokio::test]
    async fn a_slow_fe_times_out_without_failover() {
        let (_slow, slow_address, _) = TestFe::slow(Duration::from_secs(2)).serve();
        let (_other, other_address, other_calls) = TestFe::new(FeRole::Master).serve();
        let timeouts = RpcTimeouts {
            call: Duration::from_millis(200),
            ..test_timeouts()
        };
        let client = FeClient::new(vec![slow_address, other_address], timeouts);
        let error = client.get_binlog(binlog_request(0)).await.unwrap_err();
        assert!(error.is_timeout(), "{error}");
        assert!(other_calls.lock().is_empty());
    }

    #[tokio::test]
    async fn unknown_method_is_distinguishable() {
        // A BE does not implement FrontendService methods.
        let (_be, be_address) = TestBe::serve();
        let client = FeClient::new(vec![be_address], test_timeouts());
        let error = client
            .lock_binlog(TLockBinlogRequest::default())
            .await
            .unwrap_err();
        assert!(error.is_unknown_method(), "{error}");
        assert!(
            error
                .to_string()
                .contains("Invalid method name: 'lockBinlog'"),
            "{error}"
        );
    }

    /// Expected bytes of a getBinlog CALL, per the binary protocol (all big-endian).
    fn expected_get_binlog_call() -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend([0x80, 0x01, 0x00, 0x01]); // strict header, version 1, type CALL
        bytes.extend(9i32.to_be_bytes());
        bytes.extend(b"getBinlog");
        bytes.extend(1i32.to_be_bytes()); // sequence id
        bytes.extend([12, 0, 1]); // args field 1: STRUCT (the request)
        bytes.extend([11, 0, 2]); // user: STRING id 2
        bytes.extend(4i32.to_be_bytes());
        bytes.extend(b"root");
        bytes.extend([11, 0, 3]); // passwd: STRING id 3
        bytes.extend(2i32.to_be_bytes());
        bytes.extend(b"pw");
        bytes.extend([11, 0, 4]); // db: STRING id 4
        bytes.extend(3i32.to_be_bytes());
        bytes.extend(b"db1");
        bytes.extend([10, 0, 9]); // prev_commit_seq: I64 id 9
        bytes.extend(41i64.to_be_bytes());
        bytes.push(0); // STOP (request)
        bytes.push(0); // STOP (args)
        bytes
    }

    /// A hand-built getBinlog REPLY: result field 0 holds a TGetBinlogResult with status
    /// code 999 (unknown to us), a binlog of unknown type 500, and unknown fields (id 99: a
    /// list of structs holding a map; id 98 inside the binlog) that must be skipped.
    fn hand_built_get_binlog_reply() -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend([0x80, 0x01, 0x00, 0x02]); // strict header, type REPLY
        bytes.extend(9i32.to_be_bytes());
        bytes.extend(b"getBinlog");
        bytes.extend(1i32.to_be_bytes());
        bytes.extend([12, 0, 0]); // result field 0 (success): STRUCT
        bytes.extend([12, 0, 1]); //   status: STRUCT id 1
        bytes.extend([8, 0, 1]); //     status_code: I32 id 1
        bytes.extend(999i32.to_be_bytes());
        bytes.extend([15, 0, 2, 11]); //     error_msgs: LIST<STRING> id 2
        bytes.extend(1i32.to_be_bytes());
        bytes.extend(3i32.to_be_bytes());
        bytes.extend(b"new");
        bytes.push(0); //   end status
        bytes.extend([15, 0, 99, 12]); //   unknown id 99: LIST<STRUCT>
        bytes.extend(1i32.to_be_bytes());
        bytes.extend([13, 0, 1, 8, 11]); //     { 1: MAP<I32,STRING>
        bytes.extend(1i32.to_be_bytes());
        bytes.extend(5i32.to_be_bytes());
        bytes.extend(1i32.to_be_bytes());
        bytes.extend(b"x");
        bytes.push(0); //     }
        bytes.extend([15, 0, 3, 12]); //   binlogs: LIST<STRUCT> id 3
        bytes.extend(1i32.to_be_bytes());
        bytes.extend([10, 0, 1]); //     commit_seq: I64 id 1
        bytes.extend(77i64.to_be_bytes());
        bytes.extend([8, 0, 3]); //     type: I32 id 3
        bytes.extend(500i32.to_be_bytes());
        bytes.extend([2, 0, 98, 1]); //     unknown id 98: BOOL
        bytes.push(0); //   end binlog
        bytes.extend([12, 0, 6]); //   master_address: STRUCT id 6
        bytes.extend([11, 0, 1]);
        bytes.extend(2i32.to_be_bytes());
        bytes.extend(b"fe");
        bytes.extend([8, 0, 2]);
        bytes.extend(9020i32.to_be_bytes());
        bytes.push(0); //   end master_address
        bytes.push(0); // end TGetBinlogResult
        bytes.push(0); // end result struct
        bytes
    }

    /// A raw socket FE: reads one CALL of `expected_len` bytes, answers with `reply`,
    /// and hands back what it read.
    fn raw_fe(expected_len: usize, reply: Vec<u8>) -> (RpcAddress, thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let address = RpcAddress::new("127.0.0.1", listener.local_addr().unwrap().port());
        let handle = thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut request = vec![0u8; expected_len];
            socket.read_exact(&mut request).unwrap();
            socket.write_all(&reply).unwrap();
            request
        });
        (address, handle)
    }

    #[tokio::test]
    async fn get_binlog_call_has_the_exact_wire_bytes_and_reply_decodes() {
        let expected = expected_get_binlog_call();
        let (address, server) = raw_fe(expected.len(), hand_built_get_binlog_reply());
        let client = FeClient::new(vec![address], test_timeouts());

        let reply = client.get_binlog(binlog_request(41)).await.unwrap();
        assert_eq!(server.join().unwrap(), expected);

        let status = reply.status.unwrap();
        assert_eq!(status.status_code, TStatusCode::from(999));
        assert_eq!(status.error_msgs, Some(vec!["new".to_owned()]));
        let binlogs = reply.binlogs.unwrap();
        assert_eq!(binlogs[0].commit_seq, Some(77));
        assert_eq!(binlogs[0].type_, Some(TBinlogType::from(500)));
        assert_eq!(
            reply.master_address,
            Some(TNetworkAddress::new("fe".to_owned(), 9020))
        );
    }

    #[tokio::test]
    async fn an_exception_reply_is_surfaced_with_its_type() {
        // EXCEPTION message with TApplicationException { 1: message, 2: type }.
        let mut reply = Vec::new();
        reply.extend([0x80, 0x01, 0x00, 0x03]);
        reply.extend(9i32.to_be_bytes());
        reply.extend(b"getBinlog");
        reply.extend(1i32.to_be_bytes());
        let message = b"Invalid method name: 'getBinlog'";
        reply.extend([11, 0, 1]);
        reply.extend((message.len() as i32).to_be_bytes());
        reply.extend(message);
        reply.extend([8, 0, 2]);
        reply.extend(1i32.to_be_bytes()); // UNKNOWN_METHOD
        reply.push(0);

        let expected = expected_get_binlog_call();
        let (address, server) = raw_fe(expected.len(), reply);
        let client = FeClient::new(vec![address], test_timeouts());
        let error = client.get_binlog(binlog_request(41)).await.unwrap_err();
        server.join().unwrap();
        assert!(error.is_unknown_method(), "{error}");
        assert!(!error.is_connection_class());
    }

    #[tokio::test]
    async fn set_frontends_replaces_the_known_set() {
        let (_master, master_address, _) = TestFe::new(FeRole::Master).serve();
        let client = FeClient::new(vec![dead_address()], test_timeouts());
        client.set_frontends(vec![master_address.clone(), master_address.clone()]);
        assert_eq!(client.frontends(), std::slice::from_ref(&master_address));
        client.get_meta(TGetMetaRequest::default()).await.unwrap();
        assert_eq!(client.master(), Some(master_address));

        // Dropping the master from the list forgets it.
        let other = dead_address();
        client.set_frontends(vec![other.clone()]);
        assert_eq!(client.master(), None);
        assert_eq!(client.frontends(), [other]);
    }

    #[test]
    fn client_debug_shows_addresses_only() {
        let client = FeClient::new(vec![RpcAddress::new("fe1", 9020)], RpcTimeouts::default());
        assert_eq!(
            format!("{client:?}"),
            "FeClient { frontends: [RpcAddress { host: \"fe1\", port: 9020 }], master: None }"
        );
    }
}
