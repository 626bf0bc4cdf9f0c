//! Starting and stopping one simulated cluster: one FE and N BEs on 127.0.0.1.
//!
//! Every port is bound before anything is served, so the topology (which the engine and the
//! Thrift services need) is fixed up front and port clashes fail fast. Two ways to start:
//! - [`SimCluster::start`]: bind, build the engine from the topology, serve;
//! - [`SimCluster::bind`] → [`SimClusterBuilder`]: bind, inspect the topology, attach the FE
//!   and BE Thrift services ([`SimClusterBuilder::serve_fe_rpc`],
//!   [`SimClusterBuilder::serve_be_rpc`]), then [`SimClusterBuilder::start`].
//!
//! Ports that have no service yet (FE rpc and BE be_port until Thrift is attached, FE http,
//! FE edit log, BE brpc and heartbeat) are still bound and held so their numbers are unique
//! and reported truthfully; connections to them are accepted and closed at once, so a client
//! sees a prompt EOF instead of hanging.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::secret::Secret;
use crate::sim::be_http::{self, BackendConfig};
use crate::sim::mysql;
use crate::sim::session::SqlEngine;
use crate::sim::topology::{BackendAddr, ClusterTopology, FrontendAddr};

/// Doris's default FE ports, which the `doris_sim` binary uses unless told otherwise.
pub const DORIS_DEFAULT_QUERY_PORT: u16 = 9030;
pub const DORIS_DEFAULT_RPC_PORT: u16 = 9020;
pub const DORIS_DEFAULT_HTTP_PORT: u16 = 8030;
/// Three BEs: enough for three-replica tablets, the Doris default replication.
pub const DEFAULT_BACKENDS: usize = 3;
/// Doris hands out catalog ids from 10000 upward; the simulator numbers BEs from here.
const FIRST_BACKEND_ID: i64 = 10001;
/// Every simulated node listens on loopback only.
const HOST: &str = "127.0.0.1";
/// Pause after a failed `accept` on a reserved port (e.g. out of file descriptors) so the
/// loop does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);
/// How long `stop` waits for each server task to finish gracefully before aborting it.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the `doris_sim` binary's flags control. Ports set to 0 are picked freely.
#[derive(Debug, Clone)]
pub struct SimClusterOptions {
    /// Number of BEs (`--backends`).
    pub backends: usize,
    /// FE MySQL port (`--query-port`).
    pub query_port: u16,
    /// FE Thrift port (`--rpc-port`).
    pub rpc_port: u16,
    /// FE HTTP port (`--http-port`).
    pub http_port: u16,
    /// Password of `root` (`--root-password`). The cluster does not interpret it: whoever
    /// builds the engine passes it on (the engine answers `user_password`).
    pub root_password: Secret,
    /// `enable_feature_binlog` in every BE's be.conf, as `/api/show_config` reports it.
    pub be_binlog_enabled: bool,
}

impl Default for SimClusterOptions {
    /// Free ports, three BEs, empty root password, binlog feature on.
    fn default() -> Self {
        Self {
            backends: DEFAULT_BACKENDS,
            query_port: 0,
            rpc_port: 0,
            http_port: 0,
            root_password: Secret::default(),
            be_binlog_enabled: true,
        }
    }
}

/// Failures of the simulated cluster's plumbing.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot bind {role} on {HOST}:{port}: {source}")]
    Bind {
        role: String,
        port: u16,
        #[source]
        source: io::Error,
    },
    #[error("a simulated cluster needs at least one backend")]
    NoBackends,
    #[error("cannot set up the simulated cluster: {0}")]
    Setup(String),
}

/// A server task attached to a reserved listener: it must serve until the receiver reads
/// `true` (or its sender is dropped; see [`shutdown_requested`]), then return.
pub type ListenerService = Box<
    dyn FnOnce(TcpListener, watch::Receiver<bool>) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send,
>;

/// Resolves once `shutdown` reads `true` or its sender is gone: the stop condition of every
/// server in the cluster. (The guard `wait_for` returns is dropped here: it is not `Send`
/// and must not be held across a `select!`.)
pub async fn shutdown_requested(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

struct FrontendListeners {
    query: TcpListener,
    rpc: TcpListener,
    http: TcpListener,
    edit_log: TcpListener,
}

struct BackendListeners {
    be_rpc: TcpListener,
    http: TcpListener,
    brpc: TcpListener,
    heartbeat: TcpListener,
}

async fn bind(role: impl Into<String>, port: u16) -> Result<TcpListener, SimError> {
    TcpListener::bind((HOST, port))
        .await
        .map_err(|source| SimError::Bind {
            role: role.into(),
            port,
            source,
        })
}

fn local_port(listener: &TcpListener) -> u16 {
    // A bound TCP listener always has a local address.
    listener
        .local_addr()
        .map(|addr| addr.port())
        .unwrap_or_default()
}

/// A cluster whose ports are bound but not served yet.
pub struct SimClusterBuilder {
    options: SimClusterOptions,
    topology: ClusterTopology,
    frontend: FrontendListeners,
    backends: Vec<BackendListeners>,
    fe_rpc_service: Option<ListenerService>,
    be_rpc_services: Vec<Option<ListenerService>>,
    be_http_routes: Vec<axum::Router>,
}

impl SimClusterBuilder {
    pub fn topology(&self) -> &ClusterTopology {
        &self.topology
    }

    /// Serves the FE `rpc_port` (FrontendService Thrift) with `service`.
    pub fn serve_fe_rpc(mut self, service: ListenerService) -> Self {
        self.fe_rpc_service = Some(service);
        self
    }

    /// Serves every BE's `be_port` (BackendService Thrift) with the service `make` builds for
    /// that BE.
    pub fn serve_be_rpc(mut self, mut make: impl FnMut(&BackendAddr) -> ListenerService) -> Self {
        self.be_rpc_services = self
            .topology
            .backends
            .iter()
            .map(|backend| Some(make(backend)))
            .collect();
        self
    }

    /// Adds the routes `make` builds for each BE to that BE's HTTP port (e.g. the binlog
    /// download API).
    pub fn serve_be_http_routes(mut self, make: impl FnMut(&BackendAddr) -> axum::Router) -> Self {
        self.be_http_routes = self.topology.backends.iter().map(make).collect();
        self
    }

    /// Starts every server. Must run inside a Tokio runtime.
    pub fn start(self, engine: Arc<dyn SqlEngine>) -> SimCluster {
        let (shutdown, _) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut spawn = |role: String, task: Pin<Box<dyn Future<Output = ()> + Send>>| {
            tasks.push(ServerTask {
                role,
                handle: tokio::spawn(task),
            });
        };

        let FrontendListeners {
            query,
            rpc,
            http,
            edit_log,
        } = self.frontend;
        spawn(
            "FE query port".into(),
            Box::pin(mysql::serve(
                query,
                Arc::clone(&engine),
                shutdown.subscribe(),
            )),
        );
        spawn(
            "FE rpc port".into(),
            attach(rpc, self.fe_rpc_service, &shutdown),
        );
        spawn(
            "FE http port".into(),
            Box::pin(refuse_connections(http, shutdown.subscribe())),
        );
        spawn(
            "FE edit log port".into(),
            Box::pin(refuse_connections(edit_log, shutdown.subscribe())),
        );

        let services = self
            .be_rpc_services
            .into_iter()
            .chain(std::iter::repeat_with(|| None));
        let mut http_routes = self.be_http_routes.into_iter();
        for ((listeners, backend), rpc_service) in self
            .backends
            .into_iter()
            .zip(&self.topology.backends)
            .zip(services)
        {
            let extra_routes = http_routes.next().unwrap_or_default();
            let id = backend.id;
            let BackendListeners {
                be_rpc,
                http,
                brpc,
                heartbeat,
            } = listeners;
            let config = BackendConfig::for_backend(backend, self.options.be_binlog_enabled);
            let http_shutdown = shutdown.subscribe();
            spawn(
                format!("BE {id} http port"),
                Box::pin(async move {
                    if let Err(e) = be_http::serve(http, config, extra_routes, http_shutdown).await
                    {
                        tracing::warn!(backend = id, error = %e, "BE http server failed");
                    }
                }),
            );
            spawn(
                format!("BE {id} be_port"),
                attach(be_rpc, rpc_service, &shutdown),
            );
            spawn(
                format!("BE {id} brpc port"),
                Box::pin(refuse_connections(brpc, shutdown.subscribe())),
            );
            spawn(
                format!("BE {id} heartbeat port"),
                Box::pin(refuse_connections(heartbeat, shutdown.subscribe())),
            );
        }

        tracing::info!(
            query_port = self.topology.fe.query_port,
            backends = self.topology.backends.len(),
            "simulated cluster started"
        );
        SimCluster {
            topology: self.topology,
            engine,
            shutdown,
            tasks,
        }
    }
}

/// Runs `service` on `listener`, or holds the port with [`refuse_connections`] if none.
fn attach(
    listener: TcpListener,
    service: Option<ListenerService>,
    shutdown: &watch::Sender<bool>,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    match service {
        Some(service) => service(listener, shutdown.subscribe()),
        None => Box::pin(refuse_connections(listener, shutdown.subscribe())),
    }
}

/// Keeps a reserved port bound, closing every connection as soon as it is accepted.
async fn refuse_connections(listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Err(e) = accepted {
                    tracing::debug!(error = %e, "accept failed on a reserved port");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            }
            () = shutdown_requested(&mut shutdown) => return,
        }
    }
}

struct ServerTask {
    role: String,
    handle: JoinHandle<()>,
}

/// A running simulated cluster. [`SimCluster::stop`] shuts it down and frees every port;
/// dropping it without `stop` signals shutdown and aborts the servers (the ports are freed
/// once the runtime drops the aborted tasks).
pub struct SimCluster {
    topology: ClusterTopology,
    engine: Arc<dyn SqlEngine>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<ServerTask>,
}

impl SimCluster {
    /// Binds every port of the cluster described by `options` without serving anything yet.
    pub async fn bind(options: SimClusterOptions) -> Result<SimClusterBuilder, SimError> {
        if options.backends == 0 {
            return Err(SimError::NoBackends);
        }
        let frontend = FrontendListeners {
            query: bind("FE query port", options.query_port).await?,
            rpc: bind("FE rpc port", options.rpc_port).await?,
            http: bind("FE http port", options.http_port).await?,
            edit_log: bind("FE edit log port", 0).await?,
        };
        let mut backends = Vec::with_capacity(options.backends);
        for index in 0..options.backends {
            backends.push(BackendListeners {
                be_rpc: bind(format!("BE #{index} be_port"), 0).await?,
                http: bind(format!("BE #{index} http port"), 0).await?,
                brpc: bind(format!("BE #{index} brpc port"), 0).await?,
                heartbeat: bind(format!("BE #{index} heartbeat port"), 0).await?,
            });
        }
        let topology = ClusterTopology {
            fe: FrontendAddr {
                host: HOST.to_owned(),
                query_port: local_port(&frontend.query),
                rpc_port: local_port(&frontend.rpc),
                http_port: local_port(&frontend.http),
                edit_log_port: local_port(&frontend.edit_log),
            },
            backends: backends
                .iter()
                .zip(FIRST_BACKEND_ID..)
                .map(|(listeners, id)| BackendAddr {
                    id,
                    host: HOST.to_owned(),
                    be_port: local_port(&listeners.be_rpc),
                    http_port: local_port(&listeners.http),
                    brpc_port: local_port(&listeners.brpc),
                    heartbeat_port: local_port(&listeners.heartbeat),
                })
                .collect(),
        };
        Ok(SimClusterBuilder {
            options,
            topology,
            frontend,
            backends,
            fe_rpc_service: None,
            be_rpc_services: Vec::new(),
            be_http_routes: Vec::new(),
        })
    }

    /// Binds every port, builds the engine for the resulting topology and starts serving
    /// (the Thrift ports stay reserved; use [`SimCluster::bind`] to attach services).
    pub async fn start(
        options: SimClusterOptions,
        make_engine: impl FnOnce(&ClusterTopology) -> Arc<dyn SqlEngine>,
    ) -> Result<SimCluster, SimError> {
        let builder = Self::bind(options).await?;
        let engine = make_engine(builder.topology());
        Ok(builder.start(engine))
    }

    pub fn topology(&self) -> &ClusterTopology {
        &self.topology
    }

    pub fn engine(&self) -> &Arc<dyn SqlEngine> {
        &self.engine
    }

    /// Stops every server and waits until their listeners are closed.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let ServerTask { role, mut handle } = task;
            match tokio::time::timeout(STOP_TIMEOUT, &mut handle).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(%role, error = %e, "server task failed"),
                Err(_) => {
                    tracing::warn!(%role, "server did not stop in time; aborting it");
                    handle.abort();
                    let _ = handle.await;
                }
            }
        }
        tracing::info!(
            query_port = self.topology.fe.query_port,
            "simulated cluster stopped"
        );
    }
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.handle.abort();
        }
    }
}

impl ClusterTopology {
    /// The single JSON line `doris_sim` prints once it accepts connections.
    pub fn to_json_line(&self) -> String {
        // Plain structs of strings and integers always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::session::{SqlError, SqlSession};

    struct NoUsers;

    impl SqlEngine for NoUsers {
        fn user_password(&self, _user: &str) -> Option<String> {
            None
        }

        fn open_session(
            &self,
            _user: &str,
            _database: Option<&str>,
        ) -> Result<Box<dyn SqlSession>, SqlError> {
            Err(SqlError::analysis("no sessions in this test"))
        }
    }

    fn all_ports(topology: &ClusterTopology) -> Vec<u16> {
        let fe = &topology.fe;
        let mut ports = vec![fe.query_port, fe.rpc_port, fe.http_port, fe.edit_log_port];
        for be in &topology.backends {
            ports.extend([be.be_port, be.http_port, be.brpc_port, be.heartbeat_port]);
        }
        ports
    }

    #[tokio::test]
    async fn topology_has_unique_ports_and_doris_like_ids() {
        let options = SimClusterOptions {
            backends: 2,
            ..SimClusterOptions::default()
        };
        let cluster = SimCluster::start(options, |_| Arc::new(NoUsers))
            .await
            .unwrap();
        let topology = cluster.topology().clone();
        let ports = all_ports(&topology);
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len(), "{ports:?}");
        assert!(ports.iter().all(|&p| p != 0));
        assert_eq!(
            topology.backends.iter().map(|b| b.id).collect::<Vec<_>>(),
            [10001, 10002]
        );

        let line = topology.to_json_line();
        assert!(!line.contains('\n'));
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["fe"]["query_port"], topology.fe.query_port);
        assert_eq!(parsed["backends"][1]["id"], 10002);

        cluster.stop().await;
        for port in ports {
            std::net::TcpListener::bind((HOST, port))
                .unwrap_or_else(|e| panic!("port {port} still held: {e}"));
        }
    }

    #[tokio::test]
    async fn reserved_ports_close_connections_immediately() {
        use tokio::io::AsyncReadExt;
        let cluster = SimCluster::start(
            SimClusterOptions {
                backends: 1,
                ..Default::default()
            },
            |_| Arc::new(NoUsers),
        )
        .await
        .unwrap();
        let mut stream = tokio::net::TcpStream::connect((HOST, cluster.topology().fe.rpc_port))
            .await
            .unwrap();
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .unwrap();
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "connection closed by the server: {read:?}"
        );
        cluster.stop().await;
    }

    #[tokio::test]
    async fn attached_services_get_the_reserved_listeners() {
        use tokio::io::AsyncWriteExt;
        let builder = SimCluster::bind(SimClusterOptions {
            backends: 2,
            ..Default::default()
        })
        .await
        .unwrap();
        let service = |greeting: String| -> ListenerService {
            Box::new(
                move |listener: TcpListener, mut shutdown: watch::Receiver<bool>| {
                    Box::pin(async move {
                        loop {
                            tokio::select! {
                                Ok((mut stream, _)) = listener.accept() => {
                                    let _ = stream.write_all(greeting.as_bytes()).await;
                                }
                                () = shutdown_requested(&mut shutdown) => return,
                            }
                        }
                    })
                },
            )
        };
        let cluster = builder
            .serve_fe_rpc(service("fe".into()))
            .serve_be_rpc(|backend| service(format!("be {}", backend.id)))
            .start(Arc::new(NoUsers));

        async fn read_greeting(port: u16) -> String {
            use tokio::io::AsyncReadExt;
            let mut stream = tokio::net::TcpStream::connect((HOST, port)).await.unwrap();
            let mut text = String::new();
            stream.read_to_string(&mut text).await.unwrap();
            text
        }
        assert_eq!(read_greeting(cluster.topology().fe.rpc_port).await, "fe");
        assert_eq!(
            read_greeting(cluster.topology().backends[1].be_port).await,
            "be 10002"
        );
        cluster.stop().await;
    }

    #[tokio::test]
    async fn zero_backends_and_taken_ports_are_errors() {
        let none = SimCluster::bind(SimClusterOptions {
            backends: 0,
            ..Default::default()
        })
        .await;
        assert!(matches!(none, Err(SimError::NoBackends)));

        let taken = std::net::TcpListener::bind((HOST, 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let clash = SimCluster::bind(SimClusterOptions {
            query_port: port,
            backends: 1,
            ..Default::default()
        })
        .await;
        match clash {
            Err(SimError::Bind { role, port: p, .. }) => {
                assert_eq!(role, "FE query port");
                assert_eq!(p, port);
            }
            Err(other) => panic!("unexpected error: {other}"),
            Ok(_) => panic!("binding a taken port succeeded"),
        }
    }
}
