//! Serves a thrift-rs sync processor on a TCP listener the way Doris's FE and BE Thrift
//! servers do by default: one thread per connection, unframed binary protocol (strict write,
//! lenient read), persistent connections carrying one call at a time.
//!
//! A [`ThriftServer`] stops when dropped (or on [`ThriftServer::stop`]): it stops accepting,
//! closes the listener, shuts down every open connection and waits (bounded) for the
//! connection threads to finish, so tests do not leak blocked threads. Connections can also be
//! cut on demand ([`ThriftServer::drop_connections`]) to inject faults such as an FE restart,
//! and a handler can have the connection it is serving closed without a reply
//! ([`drop_current_connection`]).
//!
//! [`listener_service`] wraps a processor as a cluster [`ListenerService`], which is how the
//! simulated FE and BE Thrift services are attached to a `SimCluster`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use thrift::protocol::{TBinaryInputProtocol, TBinaryOutputProtocol};
use thrift::server::TProcessor;
use thrift::transport::{TBufferedReadTransport, TBufferedWriteTransport};
use thrift::TransportErrorKind;

use crate::cluster::{connections_dropped, shutdown_requested, ListenerService, ServiceSignals};

/// How long `stop` waits for connection threads after shutting their sockets down. They
/// exit as soon as the handler they are running returns; the bound only guards against a
/// handler that never returns (the thread is then left to finish on its own).
const CONNECTION_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// Bound on the self-connect used to wake the accept thread when stopping.
const WAKE_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Any thrift-rs sync processor, e.g. a generated `FrontendServiceSyncProcessor`.
pub type SharedProcessor = Arc<dyn TProcessor + Send + Sync>;

thread_local! {
    /// The "drop me" flag of the connection this thread serves (each connection has its own
    /// thread, and handlers run on it), so a handler can ask for its connection to be cut.
    static CURRENT_CONNECTION_DROP: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Called from inside a handler: closes the connection serving the current call as soon as
/// the handler returns, without writing any reply (the client sees EOF, not an exception).
/// Returns `false` when the calling thread is not a connection thread of a [`ThriftServer`].
pub fn drop_current_connection() -> bool {
    CURRENT_CONNECTION_DROP.with(|current| match current.borrow().as_ref() {
        Some(flag) => {
            flag.store(true, Ordering::SeqCst);
            true
        }
        None => false,
    })
}

/// The socket's write half, which refuses to write once the handler asked for the connection
/// to be dropped: the processor's reply (an exception for the handler's error) then fails to
/// flush, `process` returns an error and the connection closes with nothing sent.
struct DroppableWriter {
    stream: TcpStream,
    dropped: Arc<AtomicBool>,
}

impl Write for DroppableWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.dropped.load(Ordering::SeqCst) {
            return Err(dropped_by_fault());
        }
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.dropped.load(Ordering::SeqCst) {
            return Err(dropped_by_fault());
        }
        self.stream.flush()
    }
}

fn dropped_by_fault() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection dropped by fault injection",
    )
}

/// A cluster listener service serving `processor` with a [`ThriftServer`]: it cuts every
/// connection when the cluster asks to drop connections, and stops the server (closing the
/// listener, so the port can be bound again on restart) at shutdown. The service can be
/// started any number of times (a restart starts it again on a new listener for the same
/// port); `processor`, and so the handler and its state, is shared by all of them.
pub fn listener_service(processor: SharedProcessor) -> ListenerService {
    Arc::new(move |listener, signals: ServiceSignals| {
        let processor = Arc::clone(&processor);
        Box::pin(async move {
            let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
            let server = match listener
                .into_std()
                .and_then(|listener| {
                    // The accept thread blocks in accept(); tokio left the socket non-blocking.
                    listener.set_nonblocking(false)?;
                    Ok(listener)
                })
                .and_then(|listener| ThriftServer::start(listener, processor))
            {
                Ok(server) => server,
                Err(error) => {
                    tracing::error!(port, %error, "cannot start thrift server");
                    return;
                }
            };
            let ServiceSignals {
                mut shutdown,
                mut drop_connections,
            } = signals;
            loop {
                tokio::select! {
                    () = shutdown_requested(&mut shutdown) => break,
                    () = connections_dropped(&mut drop_connections) => {
                        let dropped = server.drop_connections();
                        tracing::info!(port, dropped, "thrift connections dropped");
                    }
                }
            }
            // Stopping joins threads (bounded): keep it off the async workers.
            if tokio::task::spawn_blocking(move || server.stop())
                .await
                .is_err()
            {
                tracing::warn!(port, "stopping the thrift server failed");
            }
        })
    })
}

/// A running Thrift server. Stops when dropped.
pub struct ThriftServer {
    local_addr: SocketAddr,
    state: Arc<ServerState>,
    accept_thread: Option<JoinHandle<()>>,
}

struct ServerState {
    stopping: AtomicBool,
    accepted: AtomicU64,
    next_connection_id: AtomicU64,
    /// Open connections (a clone of each socket, used to shut it down), keyed by id. A
    /// connection thread removes its entry when it ends and signals `connections_changed`.
    connections: Mutex<HashMap<u64, TcpStream>>,
    connections_changed: Condvar,
}

impl ThriftServer {
    /// Binds 127.0.0.1 on a free port and serves `processor` there.
    pub fn start_local<P>(processor: P) -> io::Result<Self>
    where
        P: TProcessor + Send + Sync + 'static,
    {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        Self::start(listener, Arc::new(processor))
    }

    /// Serves `processor` on an already bound listener.
    pub fn start(listener: TcpListener, processor: SharedProcessor) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let state = Arc::new(ServerState {
            stopping: AtomicBool::new(false),
            accepted: AtomicU64::new(0),
            next_connection_id: AtomicU64::new(0),
            connections: Mutex::new(HashMap::new()),
            connections_changed: Condvar::new(),
        });
        let accept_state = Arc::clone(&state);
        let accept_thread = thread::Builder::new()
            .name(format!("thrift-accept-{}", local_addr.port()))
            .spawn(move || accept_loop(listener, processor, accept_state))?;
        tracing::debug!(%local_addr, "thrift server listening");
        Ok(Self {
            local_addr,
            state,
            accept_thread: Some(accept_thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// Number of connections accepted since start.
    pub fn accepted_connections(&self) -> u64 {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Number of connections currently open.
    pub fn open_connections(&self) -> usize {
        self.state.connections.lock().len()
    }

    /// Fault injection: abruptly closes every open connection (clients see a reset or EOF on
    /// their next call) while the server keeps accepting new ones. Returns how many were cut.
    pub fn drop_connections(&self) -> usize {
        let connections = self.state.connections.lock();
        for stream in connections.values() {
            // Already-closed sockets report an error here; there is nothing left to do then.
            let _ = stream.shutdown(Shutdown::Both);
        }
        connections.len()
    }

    /// Stops accepting, closes the listener and all connections, and waits (bounded) for the
    /// connection threads. Dropping the server does the same.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let Some(accept_thread) = self.accept_thread.take() else {
            return;
        };
        self.state.stopping.store(true, Ordering::SeqCst);
        // The accept thread is blocked in accept(): a connection of our own wakes it up, it
        // sees the flag and returns, which closes the listener.
        match TcpStream::connect_timeout(&self.local_addr, WAKE_CONNECT_TIMEOUT) {
            Ok(_) => {
                if accept_thread.join().is_err() {
                    tracing::warn!(local_addr = %self.local_addr, "thrift accept thread panicked");
                }
            }
            Err(error) => {
                tracing::warn!(local_addr = %self.local_addr, %error,
                    "cannot wake the thrift accept thread; leaving it behind");
            }
        }
        self.drop_connections();
        let deadline = Instant::now() + CONNECTION_DRAIN_TIMEOUT;
        let mut connections = self.state.connections.lock();
        while !connections.is_empty() {
            if self
                .state
                .connections_changed
                .wait_until(&mut connections, deadline)
                .timed_out()
            {
                tracing::warn!(local_addr = %self.local_addr, still_open = connections.len(),
                    "thrift connection threads did not finish in time");
                break;
            }
        }
        tracing::debug!(local_addr = %self.local_addr, "thrift server stopped");
    }
}

impl Drop for ThriftServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

impl std::fmt::Debug for ThriftServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThriftServer")
            .field("local_addr", &self.local_addr)
            .field("open_connections", &self.open_connections())
            .finish()
    }
}

fn accept_loop(listener: TcpListener, processor: SharedProcessor, state: Arc<ServerState>) {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    loop {
        let accepted = listener.accept();
        if state.stopping.load(Ordering::SeqCst) {
            return;
        }
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                tracing::warn!(port, %error, "thrift accept failed");
                thread::sleep(ACCEPT_ERROR_BACKOFF);
                continue;
            }
        };
        // Registered here, before the thread starts, so `stop` sees every connection.
        let id = state.next_connection_id.fetch_add(1, Ordering::SeqCst);
        match stream.try_clone() {
            Ok(handle) => {
                state.connections.lock().insert(id, handle);
            }
            Err(error) => {
                tracing::warn!(port, %error, "cannot register thrift connection");
                continue;
            }
        }
        state.accepted.fetch_add(1, Ordering::SeqCst);
        let connection_state = Arc::clone(&state);
        let connection_processor = Arc::clone(&processor);
        let spawned = thread::Builder::new()
            .name(format!("thrift-conn-{port}"))
            .spawn(move || {
                let _registration = Registration {
                    state: connection_state,
                    id,
                };
                serve_connection(stream, connection_processor.as_ref());
            });
        if let Err(error) = spawned {
            tracing::warn!(port, %error, "cannot start a thrift connection thread");
            state.connections.lock().remove(&id);
        }
    }
}

/// Unregisters a connection when its thread ends, also if a handler panics (the panic
/// ends only that connection's thread, and `stop` must not wait for it).
struct Registration {
    state: Arc<ServerState>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.state.connections.lock().remove(&self.id);
        self.state.connections_changed.notify_all();
    }
}

/// Runs calls on one connection until the peer closes it or it breaks.
fn serve_connection(stream: TcpStream, processor: &(dyn TProcessor + Send + Sync)) {
    // Replies are written in one flush; no need to wait for more data to coalesce.
    let _ = stream.set_nodelay(true);
    let read_half = match stream.try_clone() {
        Ok(read_half) => read_half,
        Err(error) => {
            tracing::warn!(%error, "cannot split thrift connection");
            return;
        }
    };
    let dropped = Arc::new(AtomicBool::new(false));
    CURRENT_CONNECTION_DROP.with(|current| *current.borrow_mut() = Some(Arc::clone(&dropped)));
    let writer = DroppableWriter {
        stream,
        dropped: Arc::clone(&dropped),
    };
    // Lenient read (accepts the old unversioned header), strict write, like Doris servers.
    let mut input = TBinaryInputProtocol::new(TBufferedReadTransport::new(read_half), false);
    let mut output = TBinaryOutputProtocol::new(TBufferedWriteTransport::new(writer), true);
    loop {
        let outcome = processor.process(&mut input, &mut output);
        if dropped.load(Ordering::SeqCst) {
            tracing::debug!("thrift connection dropped by fault injection");
            return;
        }
        match outcome {
            Ok(()) => {}
            Err(thrift::Error::Transport(error)) if error.kind == TransportErrorKind::EndOfFile => {
                return;
            }
            Err(error) => {
                tracing::debug!(%error, "thrift connection closed after an error");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use thrift::protocol::{TBinaryInputProtocol, TBinaryOutputProtocol};
    use thrift::transport::{TBufferedReadTransport, TBufferedWriteTransport};
    use thrift::ApplicationErrorKind;

    use super::*;
    use ccr_wire::backend_service::{
        BackendServiceSyncClient, BackendServiceSyncHandler, BackendServiceSyncProcessor,
        TBackendServiceSyncClient, TIngestBinlogRequest, TIngestBinlogResult,
        TQueryIngestBinlogRequest, TQueryIngestBinlogResult,
    };
    use ccr_wire::frontend_service::{
        FrontendServiceSyncClient, TFrontendServiceSyncClient, TGetBinlogRequest,
    };
    use ccr_wire::status::{TStatus, TStatusCode};
    use ccr_wire::types::TIngestBinlogStatus;

    /// Bound on every blocking read in these tests.
    const TEST_READ_TIMEOUT: Duration = Duration::from_secs(10);

    struct EchoBe;

    impl BackendServiceSyncHandler for EchoBe {
        fn handle_ingest_binlog(
            &self,
            request: TIngestBinlogRequest,
        ) -> thrift::Result<TIngestBinlogResult> {
            Ok(TIngestBinlogResult {
                status: Some(TStatus::new(
                    TStatusCode::OK,
                    vec![format!("txn {}", request.txn_id.unwrap_or_default())],
                )),
                is_async: None,
            })
        }

        fn handle_query_ingest_binlog(
            &self,
            _request: TQueryIngestBinlogRequest,
        ) -> thrift::Result<TQueryIngestBinlogResult> {
            Ok(TQueryIngestBinlogResult {
                status: Some(TIngestBinlogStatus::OK),
                err_msg: None,
            })
        }
    }

    /// Panics in every call, like a buggy simulated handler.
    struct PanickingBe;

    impl BackendServiceSyncHandler for PanickingBe {
        fn handle_ingest_binlog(
            &self,
            _request: TIngestBinlogRequest,
        ) -> thrift::Result<TIngestBinlogResult> {
            panic!("handler bug (expected by the test)");
        }

        fn handle_query_ingest_binlog(
            &self,
            _request: TQueryIngestBinlogRequest,
        ) -> thrift::Result<TQueryIngestBinlogResult> {
            panic!("handler bug (expected by the test)");
        }
    }

    /// Asks for its connection to be dropped in `ingest_binlog`; answers the other call.
    struct DroppingBe;

    impl BackendServiceSyncHandler for DroppingBe {
        fn handle_ingest_binlog(
            &self,
            _request: TIngestBinlogRequest,
        ) -> thrift::Result<TIngestBinlogResult> {
            assert!(drop_current_connection(), "runs on a connection thread");
            Err(thrift::Error::Application(thrift::ApplicationError::new(
                ApplicationErrorKind::InternalError,
                "must never reach the client",
            )))
        }

        fn handle_query_ingest_binlog(
            &self,
            _request: TQueryIngestBinlogRequest,
        ) -> thrift::Result<TQueryIngestBinlogResult> {
            Ok(TQueryIngestBinlogResult {
                status: Some(TIngestBinlogStatus::OK),
                err_msg: None,
            })
        }
    }

    fn connect(server: &ThriftServer) -> TcpStream {
        let stream = TcpStream::connect(server.local_addr()).unwrap();
        stream.set_read_timeout(Some(TEST_READ_TIMEOUT)).unwrap();
        stream
    }

    fn protocols(
        stream: &TcpStream,
    ) -> (
        TBinaryInputProtocol<TBufferedReadTransport<TcpStream>>,
        TBinaryOutputProtocol<TBufferedWriteTransport<TcpStream>>,
    ) {
        (
            TBinaryInputProtocol::new(
                TBufferedReadTransport::new(stream.try_clone().unwrap()),
                true,
            ),
            TBinaryOutputProtocol::new(
                TBufferedWriteTransport::new(stream.try_clone().unwrap()),
                true,
            ),
        )
    }

    #[test]
    fn unknown_method_is_answered_and_the_connection_survives() {
        let server = ThriftServer::start_local(BackendServiceSyncProcessor::new(EchoBe)).unwrap();
        let stream = connect(&server);

        let (input, output) = protocols(&stream);
        let mut fe_client = FrontendServiceSyncClient::new(input, output);
        let error = fe_client
            .get_binlog(TGetBinlogRequest {
                db: Some("db1".to_owned()),
                ..Default::default()
            })
            .unwrap_err();
        match error {
            thrift::Error::Application(application) => {
                assert_eq!(application.kind, ApplicationErrorKind::UnknownMethod);
                assert_eq!(application.message, "Invalid method name: 'getBinlog'");
            }
            other => panic!("unexpected error: {other}"),
        }

        // Same socket: the unknown call's arguments were skipped, so this call is parsed.
        let (input, output) = protocols(&stream);
        let mut be_client = BackendServiceSyncClient::new(input, output);
        let reply = be_client
            .ingest_binlog(TIngestBinlogRequest {
                txn_id: Some(12),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            reply.status.unwrap().error_msgs,
            Some(vec!["txn 12".to_owned()])
        );
        assert_eq!(server.accepted_connections(), 1);
    }

    #[test]
    fn an_unversioned_call_is_accepted_and_answered_with_a_strict_header() {
        let server = ThriftServer::start_local(BackendServiceSyncProcessor::new(EchoBe)).unwrap();
        let mut stream = connect(&server);
        let name = b"query_ingest_binlog";
        let mut call = Vec::new();
        call.extend((name.len() as i32).to_be_bytes()); // old header: name first
        call.extend(name);
        call.push(1); // CALL
        call.extend(7i32.to_be_bytes()); // sequence id
        call.extend([12, 0, 1, 0]); // args field 1: empty request struct
        call.push(0); // STOP (args)
        stream.write_all(&call).unwrap();

        let mut header = [0u8; 4 + 4 + 19 + 4];
        stream.read_exact(&mut header).unwrap();
        assert_eq!(header[..4], [0x80, 0x01, 0x00, 0x02]); // strict, REPLY
        assert_eq!(header[8..27], name[..]);
        assert_eq!(header[27..], 7i32.to_be_bytes()); // sequence id echoed
    }

    #[test]
    fn drop_connections_cuts_clients_and_stop_closes_the_listener() {
        let server = ThriftServer::start_local(BackendServiceSyncProcessor::new(EchoBe)).unwrap();
        let address = server.local_addr();
        let mut stream = connect(&server);
        // Make sure the server registered the connection before cutting it.
        let (input, output) = protocols(&stream);
        BackendServiceSyncClient::new(input, output)
            .query_ingest_binlog(TQueryIngestBinlogRequest::default())
            .unwrap();
        assert_eq!(server.drop_connections(), 1);
        let mut buf = [0u8; 1];
        assert_eq!(
            stream.read(&mut buf).unwrap_or(0),
            0,
            "connection must be closed"
        );

        // An idle open connection does not keep stop from returning.
        let _idle = connect(&server);
        server.stop();
        assert!(
            TcpStream::connect(address).is_err(),
            "listener must be closed"
        );
    }

    #[test]
    fn a_panicking_handler_closes_only_its_connection() {
        let server =
            ThriftServer::start_local(BackendServiceSyncProcessor::new(PanickingBe)).unwrap();
        let stream = connect(&server);
        let (input, output) = protocols(&stream);
        let error = BackendServiceSyncClient::new(input, output)
            .ingest_binlog(TIngestBinlogRequest::default())
            .unwrap_err();
        assert!(matches!(error, thrift::Error::Transport(_)), "{error}");

        // The connection thread unregistered itself while unwinding.
        let deadline = Instant::now() + TEST_READ_TIMEOUT;
        while server.open_connections() > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(server.open_connections(), 0);
        // The server still accepts.
        let _another = connect(&server);
        while server.accepted_connections() < 2 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(server.accepted_connections(), 2);
    }

    #[test]
    fn a_handler_can_drop_its_connection_without_a_reply() {
        assert!(
            !drop_current_connection(),
            "not a connection thread outside the server"
        );
        let server =
            ThriftServer::start_local(BackendServiceSyncProcessor::new(DroppingBe)).unwrap();
        let mut stream = connect(&server);
        let (input, output) = protocols(&stream);
        let mut client = BackendServiceSyncClient::new(input, output);
        client
            .query_ingest_binlog(TQueryIngestBinlogRequest::default())
            .unwrap();
        let error = client
            .ingest_binlog(TIngestBinlogRequest::default())
            .unwrap_err();
        // EOF, not the handler's application exception.
        match error {
            thrift::Error::Transport(transport) => {
                assert_eq!(transport.kind, TransportErrorKind::EndOfFile, "{transport}");
            }
            other => panic!("unexpected error: {other}"),
        }
        let mut buf = [0u8; 1];
        assert_eq!(stream.read(&mut buf).unwrap_or(0), 0, "connection closed");
        // Other connections are unaffected.
        let (input, output) = protocols(&connect(&server));
        BackendServiceSyncClient::new(input, output)
            .query_ingest_binlog(TQueryIngestBinlogRequest::default())
            .unwrap();
    }
}
