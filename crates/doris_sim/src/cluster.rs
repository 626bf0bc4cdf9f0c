//! Starting, controlling and stopping one simulated cluster: one FE and N BEs on 127.0.0.1.
//!
//! Every port is bound before anything is served, so the topology (which the engine and the
//! Thrift services need) is fixed up front and port clashes fail fast. Two ways to start:
//! - [`SimCluster::start`]: bind, build the engine from the topology, serve;
//! - [`SimCluster::bind`] → [`SimClusterBuilder`]: bind, inspect the topology, attach the FE
//!   and BE Thrift services ([`SimClusterBuilder::serve_fe_rpc`],
//!   [`SimClusterBuilder::serve_be_rpc`]), then [`SimClusterBuilder::start`].
//!
//! Ports that have no service yet (FE rpc and BE be_port until Thrift is attached, FE edit
//! log, BE brpc and heartbeat) are still bound and held so their numbers are unique and
//! reported truthfully; connections to them are accepted and closed at once, so a client
//! sees a prompt EOF instead of hanging. The FE http port serves the fault and cluster
//! control API (`sim::fe_http`, documented in `docs/doris_sim.md`).
//!
//! # Restarts and service factories
//! A node (the FE, or one BE) can be restarted ([`SimClusterHandle::restart_fe`],
//! [`SimClusterHandle::restart_be`]): its servers stop, every connection to it breaks, and
//! they start again on the same port numbers. Everything else is kept: the SQL engine and
//! whatever state the attached services share. That is why a [`ListenerService`] is a
//! factory the cluster may call many times, once per (re)start, each time with a fresh
//! listener for the same port; state meant to survive a restart (catalog, transactions) must
//! live outside the future it returns, e.g. in the handler behind
//! [`crate::thrift_server::listener_service`]. The FE http control port itself is not
//! restarted (it must stay reachable to answer the request).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::be_http::{self, BackendConfig};
use crate::fault::{FaultInjector, FaultNode};
use crate::fe_http;
use crate::mysql;
use crate::session::SqlEngine;
use crate::topology::{BackendAddr, ClusterTopology, FrontendAddr};
use ccr_wire::secret::Secret;

/// Doris's default FE ports, which the `doris_sim` binary uses unless told otherwise.
pub const DORIS_DEFAULT_QUERY_PORT: u16 = 9030;
pub const DORIS_DEFAULT_RPC_PORT: u16 = 9020;
pub const DORIS_DEFAULT_HTTP_PORT: u16 = 8030;
/// Three BEs: enough for three-replica tablets, the Doris default replication.
pub const DEFAULT_BACKENDS: usize = 3;
/// Longest a restarted node may be kept down: longer is surely a unit mistake, and a control
/// request waits for the restart to finish.
pub const MAX_DOWN_TIME: Duration = Duration::from_secs(600);
/// Doris hands out catalog ids from 10000 upward; the simulator numbers BEs from here.
const FIRST_BACKEND_ID: i64 = 10001;
/// Every simulated node listens on loopback only.
const HOST: &str = "127.0.0.1";
/// Pending-connection queue of every listener (the usual Linux default cap).
const LISTEN_BACKLOG: u32 = 1024;
/// Pause after a failed `accept` on a reserved port (e.g. out of file descriptors) so the
/// loop does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);
/// How long `stop` waits for each server task to finish gracefully before aborting it.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a restart keeps trying to bind a port again: the old listener's socket may take
/// a moment to go away (its thread-based Thrift server closes it asynchronously).
const REBIND_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two attempts to bind a port again.
const REBIND_RETRY_INTERVAL: Duration = Duration::from_millis(50);

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
    /// `--advertise-domain`: when set, the nodes report themselves (SHOW FRONTENDS, SHOW
    /// BACKENDS, getBackendMeta, tablet locations, ...) as `fe.<domain>` and
    /// `be-<index>.<domain>` instead of 127.0.0.1, like a cluster behind NAT or in
    /// Kubernetes that knows only its private names. The listeners stay on 127.0.0.1, so a
    /// client must map those names (e.g. under `.invalid`, which never resolves) back to it.
    pub advertise_domain: Option<String>,
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
            advertise_domain: None,
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
    #[error("no backend with id {0}")]
    UnknownBackend(i64),
    #[error("a node may be kept down at most {max:?}, not {requested:?}")]
    DownTimeTooLong { requested: Duration, max: Duration },
    #[error("the simulated cluster is stopping")]
    Stopped,
    #[error("cannot set up the simulated cluster: {0}")]
    Setup(String),
}

/// The future a [`ListenerService`] returns.
pub type ServiceFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A server attached to a reserved port. The cluster calls it with a bound listener each time
/// the node starts (again after every restart); the future it returns must serve until
/// `signals.shutdown` reads `true` (or its sender is dropped; see [`shutdown_requested`]),
/// close every connection and the listener, and return. It should cut its open connections
/// whenever `signals.drop_connections` changes (see [`connections_dropped`]).
pub type ListenerService = Arc<dyn Fn(TcpListener, ServiceSignals) -> ServiceFuture + Send + Sync>;

/// What a running server listens to.
#[derive(Debug, Clone)]
pub struct ServiceSignals {
    /// Becomes `true` when the server must stop.
    pub shutdown: watch::Receiver<bool>,
    /// Changes each time the server must close its open connections (and keep serving).
    pub drop_connections: watch::Receiver<u64>,
}

/// The sending side of [`ServiceSignals`]: one per running node.
#[derive(Debug)]
pub struct ServiceControl {
    shutdown: watch::Sender<bool>,
    drop_connections: watch::Sender<u64>,
}

impl Default for ServiceControl {
    fn default() -> Self {
        Self {
            shutdown: watch::channel(false).0,
            drop_connections: watch::channel(0).0,
        }
    }
}

impl ServiceControl {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn signals(&self) -> ServiceSignals {
        ServiceSignals {
            shutdown: self.shutdown.subscribe(),
            drop_connections: self.drop_connections.subscribe(),
        }
    }

    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn drop_connections(&self) {
        self.drop_connections
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }
}

/// Resolves once `shutdown` reads `true` or its sender is gone: the stop condition of every
/// server in the cluster. (The guard `wait_for` returns is dropped here: it is not `Send`
/// and must not be held across a `select!`.)
pub async fn shutdown_requested(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Resolves at the next request to drop connections. Never resolves once the sender is gone
/// (the server is then being shut down, which [`shutdown_requested`] reports).
pub async fn connections_dropped(drop_connections: &mut watch::Receiver<u64>) {
    if drop_connections.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

struct FrontendListeners {
    query: TcpListener,
    rpc: TcpListener,
    edit_log: TcpListener,
}

struct BackendListeners {
    be_rpc: TcpListener,
    http: TcpListener,
    brpc: TcpListener,
    heartbeat: TcpListener,
}

/// Binds 127.0.0.1:`port` with SO_REUSEADDR, so a restarted node gets its port back even
/// while connections of its previous life linger in TIME_WAIT.
fn bind_reusable(port: u16) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    socket.listen(LISTEN_BACKLOG)
}

fn bind(role: impl Into<String>, port: u16) -> Result<TcpListener, SimError> {
    bind_reusable(port).map_err(|source| SimError::Bind {
        role: role.into(),
        port,
        source,
    })
}

/// Binds `port` again after a restart, retrying while the old socket is still around.
async fn rebind(role: &str, port: u16) -> Result<TcpListener, SimError> {
    let deadline = Instant::now() + REBIND_TIMEOUT;
    loop {
        match bind_reusable(port) {
            Ok(listener) => return Ok(listener),
            Err(source) if Instant::now() >= deadline => {
                return Err(SimError::Bind {
                    role: role.to_owned(),
                    port,
                    source,
                })
            }
            Err(_) => tokio::time::sleep(REBIND_RETRY_INTERVAL).await,
        }
    }
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
    faults: FaultInjector,
    frontend: FrontendListeners,
    fe_http: TcpListener,
    backends: Vec<BackendListeners>,
    fe_rpc_service: Option<ListenerService>,
    be_rpc_services: HashMap<i64, ListenerService>,
    be_http_routes: HashMap<i64, axum::Router>,
    fe_http_routes: axum::Router,
}

impl SimClusterBuilder {
    pub fn topology(&self) -> &ClusterTopology {
        &self.topology
    }

    /// The cluster's fault injector: the FE and BE handlers built for this cluster must
    /// consult it (see [`FaultInjector::before_rpc`]).
    pub fn faults(&self) -> &FaultInjector {
        &self.faults
    }

    /// Serves the FE `rpc_port` (FrontendService Thrift) with `service`, e.g.
    /// `thrift_server::listener_service(Arc::new(FrontendServiceSyncProcessor::new(handler)))`.
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
            .map(|backend| (backend.id, make(backend)))
            .collect();
        self
    }

    /// Adds the routes `make` builds for each BE to that BE's HTTP port (e.g. the binlog
    /// download API).
    pub fn serve_be_http_routes(
        mut self,
        mut make: impl FnMut(&BackendAddr) -> axum::Router,
    ) -> Self {
        self.be_http_routes = self
            .topology
            .backends
            .iter()
            .map(|be| (be.id, make(be)))
            .collect();
        self
    }

    /// Adds `routes` to the FE's HTTP port, beside the control API (e.g. the call counts).
    pub fn serve_fe_http_routes(mut self, routes: axum::Router) -> Self {
        self.fe_http_routes = routes;
        self
    }

    /// Starts every server. Must run inside a Tokio runtime.
    pub fn start(self, engine: Arc<dyn SqlEngine>) -> SimCluster {
        let shared = Arc::new(ClusterShared {
            frontend: NodeSlot::default(),
            backends: self
                .topology
                .backends
                .iter()
                .map(|_| NodeSlot::default())
                .collect(),
            topology: self.topology,
            engine,
            faults: self.faults,
            be_binlog_enabled: self.options.be_binlog_enabled,
            fe_rpc_service: self.fe_rpc_service,
            be_rpc_services: self.be_rpc_services,
            be_http_routes: self.be_http_routes,
            stopped: AtomicBool::new(false),
        });
        *shared.frontend.running.lock() = Some(spawn_frontend(&shared, self.frontend));
        for (index, listeners) in self.backends.into_iter().enumerate() {
            *shared.backends[index].running.lock() = Some(spawn_backend(&shared, index, listeners));
        }
        let handle = SimClusterHandle { shared };
        let mut control_http = RunningNode::default();
        let http_shutdown = control_http.control.signals().shutdown;
        let http_handle = handle.clone();
        let fe_http_listener = self.fe_http;
        let fe_http_routes = self.fe_http_routes;
        control_http.spawn(
            "FE http port".into(),
            Box::pin(async move {
                let served =
                    fe_http::serve(fe_http_listener, http_handle, fe_http_routes, http_shutdown);
                if let Err(e) = served.await {
                    tracing::warn!(error = %e, "FE http server failed");
                }
            }),
        );

        tracing::info!(
            query_port = handle.topology().fe.query_port,
            backends = handle.topology().backends.len(),
            "simulated cluster started"
        );
        SimCluster {
            handle,
            control_http: Some(control_http),
        }
    }
}

/// Starts the FE's query, rpc and edit-log servers on `listeners`.
fn spawn_frontend(shared: &Arc<ClusterShared>, listeners: FrontendListeners) -> RunningNode {
    let FrontendListeners {
        query,
        rpc,
        edit_log,
    } = listeners;
    let mut node = RunningNode::default();
    let signals = node.control.signals();
    node.spawn(
        "FE query port".into(),
        Box::pin(mysql::serve(
            query,
            Arc::clone(&shared.engine),
            shared.faults.clone(),
            signals.clone(),
        )),
    );
    node.spawn(
        "FE rpc port".into(),
        attach(rpc, shared.fe_rpc_service.as_ref(), signals.clone()),
    );
    node.spawn(
        "FE edit log port".into(),
        Box::pin(refuse_connections(edit_log, signals.shutdown)),
    );
    node
}

/// Starts the servers of the `index`-th BE on `listeners`.
fn spawn_backend(
    shared: &Arc<ClusterShared>,
    index: usize,
    listeners: BackendListeners,
) -> RunningNode {
    let backend = &shared.topology.backends[index];
    let id = backend.id;
    let BackendListeners {
        be_rpc,
        http,
        brpc,
        heartbeat,
    } = listeners;
    let mut node = RunningNode::default();
    let signals = node.control.signals();
    let config = BackendConfig::for_backend(backend, shared.be_binlog_enabled);
    let extra_routes = shared
        .be_http_routes
        .get(&backend.id)
        .cloned()
        .unwrap_or_default();
    let http_shutdown = signals.shutdown.clone();
    node.spawn(
        format!("BE {id} http port"),
        Box::pin(async move {
            if let Err(e) = be_http::serve(http, config, extra_routes, http_shutdown).await {
                tracing::warn!(backend = id, error = %e, "BE http server failed");
            }
        }),
    );
    node.spawn(
        format!("BE {id} be_port"),
        attach(be_rpc, shared.be_rpc_services.get(&id), signals.clone()),
    );
    node.spawn(
        format!("BE {id} brpc port"),
        Box::pin(refuse_connections(brpc, signals.shutdown.clone())),
    );
    node.spawn(
        format!("BE {id} heartbeat port"),
        Box::pin(refuse_connections(heartbeat, signals.shutdown)),
    );
    node
}

/// Runs `service` on `listener`, or holds the port with [`refuse_connections`] if none.
fn attach(
    listener: TcpListener,
    service: Option<&ListenerService>,
    signals: ServiceSignals,
) -> ServiceFuture {
    match service {
        Some(service) => service(listener, signals),
        None => Box::pin(refuse_connections(listener, signals.shutdown)),
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

/// The servers of one node (the FE, one BE, or the FE http control port) in one life.
#[derive(Default)]
struct RunningNode {
    control: ServiceControl,
    tasks: Vec<ServerTask>,
}

impl RunningNode {
    fn spawn(&mut self, role: String, task: ServiceFuture) {
        self.tasks.push(ServerTask {
            role,
            handle: tokio::spawn(task),
        });
    }

    /// Waits (bounded) for the servers to return after `control.shutdown()`; aborts those
    /// that do not.
    async fn join(self) {
        for ServerTask { role, mut handle } in self.tasks {
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
    }

    fn abort(&self) {
        self.control.shutdown();
        for task in &self.tasks {
            task.handle.abort();
        }
    }
}

/// A node's current servers (`None` while it is down), and the lock serializing restarts.
#[derive(Default)]
struct NodeSlot {
    running: parking_lot::Mutex<Option<RunningNode>>,
    restarting: tokio::sync::Mutex<()>,
}

impl NodeSlot {
    fn is_up(&self) -> bool {
        self.running.lock().is_some()
    }

    fn drop_connections(&self) {
        if let Some(node) = self.running.lock().as_ref() {
            node.control.drop_connections();
        }
    }

    /// Stops the node's servers (aborting calls paused on it) and waits for them.
    async fn stop(&self, faults: &FaultInjector, node: FaultNode) {
        let running = self.running.lock().take();
        // Paused calls are aborted before and after the shutdown signal, so one that reached
        // its pause point in between cannot hold the stop up.
        faults.abort_paused(Some(node));
        if let Some(running) = running {
            running.control.shutdown();
            faults.abort_paused(Some(node));
            running.join().await;
        }
    }
}

/// State shared by the cluster, its control handle and the FE http control server.
struct ClusterShared {
    topology: ClusterTopology,
    engine: Arc<dyn SqlEngine>,
    faults: FaultInjector,
    be_binlog_enabled: bool,
    fe_rpc_service: Option<ListenerService>,
    be_rpc_services: HashMap<i64, ListenerService>,
    /// Extra HTTP routes of each BE (the binlog download API), served again after a restart.
    be_http_routes: HashMap<i64, axum::Router>,
    frontend: NodeSlot,
    /// In the order of `topology.backends`.
    backends: Vec<NodeSlot>,
    stopped: AtomicBool,
}

impl ClusterShared {
    fn ensure_running(&self) -> Result<(), SimError> {
        if self.stopped.load(Ordering::SeqCst) {
            Err(SimError::Stopped)
        } else {
            Ok(())
        }
    }
}

/// Controls a running cluster: restarts, dropped connections, the master switch and the
/// fault rules. Cheap to clone; the FE http control API uses one.
#[derive(Clone)]
pub struct SimClusterHandle {
    shared: Arc<ClusterShared>,
}

impl SimClusterHandle {
    pub fn topology(&self) -> &ClusterTopology {
        &self.shared.topology
    }

    pub fn engine(&self) -> &Arc<dyn SqlEngine> {
        &self.shared.engine
    }

    pub fn faults(&self) -> &FaultInjector {
        &self.shared.faults
    }

    /// Closes every open MySQL and Thrift connection of the FE, and of every BE if
    /// `include_backends`; the servers keep accepting new ones.
    pub fn drop_connections(&self, include_backends: bool) {
        tracing::info!(include_backends, "dropping connections");
        self.shared.frontend.drop_connections();
        if include_backends {
            for backend in &self.shared.backends {
                backend.drop_connections();
            }
        }
    }

    /// Restarts the FE's query and rpc ports (and its edit-log port): every connection breaks,
    /// calls paused on the FE are dropped, the ports stay closed for `down_for`, then serve
    /// again on the same numbers. The engine and the services' state are kept.
    pub async fn restart_fe(&self, down_for: Duration) -> Result<(), SimError> {
        check_down_time(down_for)?;
        let shared = &self.shared;
        let _restarting = shared.frontend.restarting.lock().await;
        shared.ensure_running()?;
        tracing::info!(?down_for, "restarting the FE");
        shared
            .frontend
            .stop(&shared.faults, FaultNode::Frontend)
            .await;
        tokio::time::sleep(down_for).await;
        let fe = &shared.topology.fe;
        let listeners = FrontendListeners {
            query: rebind("FE query port", fe.query_port).await?,
            rpc: rebind("FE rpc port", fe.rpc_port).await?,
            edit_log: rebind("FE edit log port", fe.edit_log_port).await?,
        };
        shared.ensure_running()?;
        *shared.frontend.running.lock() = Some(spawn_frontend(shared, listeners));
        tracing::info!("FE restarted");
        Ok(())
    }

    /// Restarts every port of BE `backend_id` like [`SimClusterHandle::restart_fe`].
    pub async fn restart_be(&self, backend_id: i64, down_for: Duration) -> Result<(), SimError> {
        check_down_time(down_for)?;
        let shared = &self.shared;
        let index = shared
            .topology
            .backends
            .iter()
            .position(|backend| backend.id == backend_id)
            .ok_or(SimError::UnknownBackend(backend_id))?;
        let slot = &shared.backends[index];
        let _restarting = slot.restarting.lock().await;
        shared.ensure_running()?;
        tracing::info!(backend_id, ?down_for, "restarting a BE");
        slot.stop(&shared.faults, FaultNode::Backend(backend_id))
            .await;
        tokio::time::sleep(down_for).await;
        let backend = &shared.topology.backends[index];
        let listeners = BackendListeners {
            be_rpc: rebind("BE be_port", backend.be_port).await?,
            http: rebind("BE http port", backend.http_port).await?,
            brpc: rebind("BE brpc port", backend.brpc_port).await?,
            heartbeat: rebind("BE heartbeat port", backend.heartbeat_port).await?,
        };
        shared.ensure_running()?;
        *slot.running.lock() = Some(spawn_backend(shared, index, listeners));
        tracing::info!(backend_id, "BE restarted");
        Ok(())
    }

    /// Makes the FE answer every FrontendService call with NOT_MASTER naming
    /// `master` (`host`, `rpc_port`); `None` makes it master again.
    pub fn set_master_redirect(&self, master: Option<(String, u16)>) {
        self.shared.faults.set_master_redirect(master);
    }

    /// BEs currently serving (not in the middle of a restart).
    pub fn backends_online(&self) -> usize {
        self.shared
            .backends
            .iter()
            .filter(|slot| slot.is_up())
            .count()
    }

    /// Stops every node (waiting for restarts in progress to finish first).
    async fn stop_nodes(&self) {
        let shared = &self.shared;
        shared.stopped.store(true, Ordering::SeqCst);
        {
            let _restarting = shared.frontend.restarting.lock().await;
            shared
                .frontend
                .stop(&shared.faults, FaultNode::Frontend)
                .await;
        }
        for (slot, backend) in shared.backends.iter().zip(&shared.topology.backends) {
            let _restarting = slot.restarting.lock().await;
            slot.stop(&shared.faults, FaultNode::Backend(backend.id))
                .await;
        }
        shared.faults.abort_paused(None);
    }

    /// Signals every node to stop and aborts its servers, without waiting.
    fn abort_nodes(&self) {
        let shared = &self.shared;
        shared.stopped.store(true, Ordering::SeqCst);
        for slot in std::iter::once(&shared.frontend).chain(&shared.backends) {
            if let Some(node) = slot.running.lock().take() {
                node.abort();
            }
        }
        shared.faults.abort_paused(None);
    }
}

fn check_down_time(down_for: Duration) -> Result<(), SimError> {
    if down_for > MAX_DOWN_TIME {
        return Err(SimError::DownTimeTooLong {
            requested: down_for,
            max: MAX_DOWN_TIME,
        });
    }
    Ok(())
}

/// A running simulated cluster. [`SimCluster::stop`] shuts it down and frees every port;
/// dropping it without `stop` signals shutdown and aborts the servers (the ports are freed
/// once the runtime drops the aborted tasks).
pub struct SimCluster {
    handle: SimClusterHandle,
    /// The FE http control server, outside the FE's restartable servers.
    control_http: Option<RunningNode>,
}

impl SimCluster {
    /// Binds every port of the cluster described by `options` without serving anything yet.
    // Binding is synchronous today (SO_REUSEADDR needs a TcpSocket); the function stays async
    // so callers, which all run in a runtime, are unaffected if it ever needs to await.
    #[allow(clippy::unused_async)]
    pub async fn bind(options: SimClusterOptions) -> Result<SimClusterBuilder, SimError> {
        if options.backends == 0 {
            return Err(SimError::NoBackends);
        }
        let frontend = FrontendListeners {
            query: bind("FE query port", options.query_port)?,
            rpc: bind("FE rpc port", options.rpc_port)?,
            edit_log: bind("FE edit log port", 0)?,
        };
        let fe_http = bind("FE http port", options.http_port)?;
        let mut backends = Vec::with_capacity(options.backends);
        for index in 0..options.backends {
            backends.push(BackendListeners {
                be_rpc: bind(format!("BE #{index} be_port"), 0)?,
                http: bind(format!("BE #{index} http port"), 0)?,
                brpc: bind(format!("BE #{index} brpc port"), 0)?,
                heartbeat: bind(format!("BE #{index} heartbeat port"), 0)?,
            });
        }
        let advertised = |node: String| match &options.advertise_domain {
            Some(domain) => format!("{node}.{domain}"),
            None => HOST.to_owned(),
        };
        let topology = ClusterTopology {
            fe: FrontendAddr {
                host: advertised("fe".to_owned()),
                query_port: local_port(&frontend.query),
                rpc_port: local_port(&frontend.rpc),
                http_port: local_port(&fe_http),
                edit_log_port: local_port(&frontend.edit_log),
            },
            backends: backends
                .iter()
                .zip(FIRST_BACKEND_ID..)
                .enumerate()
                .map(|(index, (listeners, id))| BackendAddr {
                    id,
                    host: advertised(format!("be-{index}")),
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
            faults: FaultInjector::new(),
            frontend,
            fe_http,
            backends,
            fe_rpc_service: None,
            be_rpc_services: HashMap::new(),
            be_http_routes: HashMap::new(),
            fe_http_routes: axum::Router::new(),
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
        self.handle.topology()
    }

    pub fn engine(&self) -> &Arc<dyn SqlEngine> {
        self.handle.engine()
    }

    pub fn faults(&self) -> &FaultInjector {
        self.handle.faults()
    }

    /// A clonable control handle (e.g. to restart a node from another task).
    pub fn handle(&self) -> &SimClusterHandle {
        &self.handle
    }

    /// See [`SimClusterHandle::drop_connections`].
    pub fn drop_connections(&self, include_backends: bool) {
        self.handle.drop_connections(include_backends);
    }

    /// See [`SimClusterHandle::restart_fe`].
    pub async fn restart_fe(&self, down_for: Duration) -> Result<(), SimError> {
        self.handle.restart_fe(down_for).await
    }

    /// See [`SimClusterHandle::restart_be`].
    pub async fn restart_be(&self, backend_id: i64, down_for: Duration) -> Result<(), SimError> {
        self.handle.restart_be(backend_id, down_for).await
    }

    /// See [`SimClusterHandle::set_master_redirect`].
    pub fn set_master_redirect(&self, master: Option<(String, u16)>) {
        self.handle.set_master_redirect(master);
    }

    /// Stops every server and waits until their listeners are closed.
    pub async fn stop(mut self) {
        if let Some(control_http) = self.control_http.take() {
            control_http.control.shutdown();
            control_http.join().await;
        }
        self.handle.stop_nodes().await;
        tracing::info!(
            query_port = self.topology().fe.query_port,
            "simulated cluster stopped"
        );
    }
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        if let Some(control_http) = self.control_http.take() {
            control_http.abort();
        }
        self.handle.abort_nodes();
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
    use crate::session::{SqlError, SqlSession};

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
    async fn an_advertised_domain_names_the_nodes_but_they_listen_on_loopback() {
        let options = SimClusterOptions {
            backends: 2,
            advertise_domain: Some("c.private.invalid".into()),
            ..SimClusterOptions::default()
        };
        let cluster = SimCluster::start(options, |_| Arc::new(NoUsers))
            .await
            .unwrap();
        let topology = cluster.topology().clone();
        assert_eq!(topology.fe.host, "fe.c.private.invalid");
        assert_eq!(
            topology
                .backends
                .iter()
                .map(|b| b.host.as_str())
                .collect::<Vec<_>>(),
            ["be-0.c.private.invalid", "be-1.c.private.invalid"]
        );
        for port in [topology.fe.query_port, topology.backends[1].http_port] {
            tokio::net::TcpStream::connect((HOST, port))
                .await
                .unwrap_or_else(|e| panic!("127.0.0.1:{port}: {e}"));
        }
        cluster.stop().await;
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
        // Counts how often the factories are called: once per (re)start of a node.
        let starts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let service = |greeting: String| -> ListenerService {
            let starts = Arc::clone(&starts);
            Arc::new(move |listener: TcpListener, signals: ServiceSignals| {
                starts.fetch_add(1, Ordering::SeqCst);
                let greeting = greeting.clone();
                let mut shutdown = signals.shutdown;
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
            })
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
        assert_eq!(starts.load(Ordering::SeqCst), 3);

        // A restart calls the factory again, on the same port.
        cluster.restart_be(10002, Duration::ZERO).await.unwrap();
        assert_eq!(starts.load(Ordering::SeqCst), 4);
        assert_eq!(
            read_greeting(cluster.topology().backends[1].be_port).await,
            "be 10002"
        );
        cluster.restart_fe(Duration::ZERO).await.unwrap();
        assert_eq!(read_greeting(cluster.topology().fe.rpc_port).await, "fe");
        assert_eq!(starts.load(Ordering::SeqCst), 5);
        assert!(matches!(
            cluster.restart_be(1, Duration::ZERO).await,
            Err(SimError::UnknownBackend(1))
        ));
        assert!(matches!(
            cluster.restart_fe(MAX_DOWN_TIME * 2).await,
            Err(SimError::DownTimeTooLong { .. })
        ));
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
