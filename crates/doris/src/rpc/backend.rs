//! BackendService clients: one cached client per BE address, no redirects or retries.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Semaphore;

use super::connection::{BeSyncClient, ConnectionPool};
use super::{RpcAddress, RpcError, RpcTimeouts};
use crate::host_map::HostMapping;
use ccr_wire::backend_service::{
    TBackendServiceSyncClient, TIngestBinlogRequest, TIngestBinlogResult,
    TQueryIngestBinlogRequest, TQueryIngestBinlogResult,
};

/// ingest_binlog calls in flight per BE, the reference syncer's
/// `--max_ingest_concurrency_per_backend` default: each call makes the BE download a rowset,
/// so an unbounded fan-out would overload the BE's download threads.
pub const DEFAULT_MAX_INGEST_IN_FLIGHT_PER_BACKEND: usize = 48;

/// Client for one BE's BackendService (host, be_port). Cheap to clone.
#[derive(Clone)]
pub struct BeClient {
    pool: Arc<ConnectionPool<BeSyncClient>>,
    timeouts: RpcTimeouts,
    ingest_permits: Arc<Semaphore>,
}

impl BeClient {
    pub fn new(address: RpcAddress, timeouts: RpcTimeouts) -> Self {
        Self::with_ingest_limit(address, timeouts, DEFAULT_MAX_INGEST_IN_FLIGHT_PER_BACKEND)
    }

    /// `max_ingest_in_flight` bounds concurrent `ingest_binlog` calls (at least 1).
    pub fn with_ingest_limit(
        address: RpcAddress,
        timeouts: RpcTimeouts,
        max_ingest_in_flight: usize,
    ) -> Self {
        Self::mapped(
            address,
            HostMapping::default(),
            timeouts,
            max_ingest_in_flight,
        )
    }

    /// A client that dials `address` through `mapping`.
    fn mapped(
        address: RpcAddress,
        mapping: HostMapping,
        timeouts: RpcTimeouts,
        max_ingest_in_flight: usize,
    ) -> Self {
        Self {
            pool: Arc::new(ConnectionPool::new(address, mapping, timeouts.connect)),
            timeouts,
            ingest_permits: Arc::new(Semaphore::new(max_ingest_in_flight.max(1))),
        }
    }

    pub fn address(&self) -> &RpcAddress {
        self.pool.address()
    }

    /// Waits for one of the BE's ingest slots, then calls `ingest_binlog`.
    pub async fn ingest_binlog(
        &self,
        request: TIngestBinlogRequest,
    ) -> Result<TIngestBinlogResult, RpcError> {
        let _permit = self
            .ingest_permits
            .acquire()
            .await
            .map_err(|closed| RpcError::Internal {
                address: self.address().clone(),
                method: "ingest_binlog",
                message: closed.to_string(),
            })?;
        self.pool
            .call("ingest_binlog", self.timeouts.call, request, |c, r| {
                c.ingest_binlog(r)
            })
            .await
    }

    pub async fn query_ingest_binlog(
        &self,
        request: TQueryIngestBinlogRequest,
    ) -> Result<TQueryIngestBinlogResult, RpcError> {
        self.pool
            .call(
                "query_ingest_binlog",
                self.timeouts.call,
                request,
                |c, r| c.query_ingest_binlog(r),
            )
            .await
    }
}

impl std::fmt::Debug for BeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BeClient")
            .field("address", self.address())
            .finish()
    }
}

/// The BE clients of one cluster, created on first use and cached by address.
pub struct BackendPool {
    timeouts: RpcTimeouts,
    max_ingest_in_flight: usize,
    mapping: HostMapping,
    clients: Mutex<HashMap<RpcAddress, BeClient>>,
}

impl BackendPool {
    pub fn new(timeouts: RpcTimeouts) -> Self {
        Self::with_ingest_limit(timeouts, DEFAULT_MAX_INGEST_IN_FLIGHT_PER_BACKEND)
    }

    pub fn with_ingest_limit(
        timeouts: RpcTimeouts,
        max_ingest_in_flight_per_backend: usize,
    ) -> Self {
        Self {
            timeouts,
            max_ingest_in_flight: max_ingest_in_flight_per_backend,
            mapping: HostMapping::default(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Dials every BE through `mapping` (clients stay keyed by the advertised address).
    pub fn with_host_mapping(mut self, mapping: HostMapping) -> Self {
        self.mapping = mapping;
        self
    }

    /// The client for the BE at `address` (host, be_port).
    pub fn client(&self, address: &RpcAddress) -> BeClient {
        self.clients
            .lock()
            .entry(address.clone())
            .or_insert_with(|| {
                BeClient::mapped(
                    address.clone(),
                    self.mapping.clone(),
                    self.timeouts,
                    self.max_ingest_in_flight,
                )
            })
            .clone()
    }

    /// Forgets clients (and their idle connections) of BEs for which `keep` is false, e.g.
    /// decommissioned ones.
    pub fn retain(&self, keep: impl Fn(&RpcAddress) -> bool) {
        self.clients.lock().retain(|address, _| keep(address));
    }
}

impl std::fmt::Debug for BackendPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let clients = self.clients.lock();
        f.debug_struct("BackendPool")
            .field("backends", &clients.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::test_support::{dead_address, test_timeouts, TestBe};
    use ccr_wire::status::TStatusCode;
    use ccr_wire::types::{TIngestBinlogStatus, TUniqueId};

    fn ingest_request(local_tablet_id: i64) -> TIngestBinlogRequest {
        TIngestBinlogRequest {
            txn_id: Some(5),
            remote_tablet_id: Some(100),
            binlog_version: Some(3),
            remote_host: Some("10.0.0.1".to_owned()),
            remote_port: Some("8040".to_owned()),
            partition_id: Some(9),
            local_tablet_id: Some(local_tablet_id),
            load_id: Some(TUniqueId::new(-1, -1)),
        }
    }

    #[tokio::test]
    async fn backend_calls_round_trip_over_one_cached_connection() {
        let (server, address) = TestBe::serve();
        let pool = BackendPool::new(test_timeouts());

        let ok = pool
            .client(&address)
            .ingest_binlog(ingest_request(7))
            .await
            .unwrap();
        assert_eq!(ok.status.unwrap().status_code, TStatusCode::OK);
        assert_eq!(ok.is_async, Some(false));

        let missing = pool
            .client(&address)
            .ingest_binlog(ingest_request(0))
            .await
            .unwrap();
        let status = missing.status.unwrap();
        assert_eq!(status.status_code, TStatusCode::TABLET_MISSING);
        assert_eq!(
            status.error_msgs,
            Some(vec!["tablet 0 not found".to_owned()])
        );

        let query = pool
            .client(&address)
            .query_ingest_binlog(TQueryIngestBinlogRequest {
                txn_id: Some(5),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(query.status, Some(TIngestBinlogStatus::DOING));
        assert_eq!(query.err_msg.as_deref(), Some("txn 5"));

        assert_eq!(server.accepted_connections(), 1);
        pool.retain(|_| false);
        assert_eq!(format!("{pool:?}"), "BackendPool { backends: [] }");
    }

    #[tokio::test]
    async fn concurrent_ingests_respect_the_limit_and_all_complete() {
        let (_server, address) = TestBe::serve();
        let client = BeClient::with_ingest_limit(address, test_timeouts(), 2);
        let calls = (1..=6).map(|tablet| {
            let client = client.clone();
            async move { client.ingest_binlog(ingest_request(tablet)).await }
        });
        for reply in futures::future::join_all(calls).await {
            assert_eq!(reply.unwrap().status.unwrap().status_code, TStatusCode::OK);
        }
    }

    #[tokio::test]
    async fn a_mapping_change_reaches_cached_clients_and_their_idle_connections() {
        let (first, first_address) = TestBe::serve();
        // It listens on 127.0.0.1 and is advertised under a private name, same port.
        let advertised = RpcAddress::new("be-0.private.invalid", first_address.port);
        let mapping = HostMapping::default();
        mapping.replace([(advertised.host.clone(), "127.0.0.1".to_owned())].into());
        let pool = BackendPool::new(test_timeouts()).with_host_mapping(mapping.clone());
        let client = pool.client(&advertised);
        client.ingest_binlog(ingest_request(7)).await.unwrap();
        assert_eq!(first.accepted_connections(), 1);

        // A wrong address fails the next call, naming both hosts...
        mapping.replace([(advertised.host.clone(), "127.0.0.2".to_owned())].into());
        let error = pool
            .client(&advertised)
            .ingest_binlog(ingest_request(7))
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("be-0.private.invalid dialled as 127.0.0.2 per host_mapping"),
            "{error}"
        );
        // ...and a fixed one is dialled anew, though the client is the cached one.
        mapping.replace([(advertised.host.clone(), "127.0.0.1".to_owned())].into());
        client.ingest_binlog(ingest_request(7)).await.unwrap();
        assert_eq!(first.accepted_connections(), 2);
    }

    #[tokio::test]
    async fn an_unreachable_backend_is_a_connect_error() {
        let client = BeClient::new(dead_address(), test_timeouts());
        let error = client.ingest_binlog(ingest_request(1)).await.unwrap_err();
        assert!(
            matches!(
                error,
                RpcError::Connect {
                    method: "ingest_binlog",
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.is_connection_class());
    }
}
