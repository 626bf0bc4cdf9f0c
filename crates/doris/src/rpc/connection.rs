//! Pooled, blocking Thrift connections to one address, driven from async code.
//!
//! Each connection is an unframed binary-protocol client (strict header, no multiplexing)
//! over a TCP socket. Idle connections are kept per address and reused for later calls; a
//! connection that failed a call is dropped, never returned, since its stream may be out of
//! step. Calls run on tokio's blocking pool.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use thrift::protocol::{TBinaryInputProtocol, TBinaryOutputProtocol};
use thrift::transport::{TBufferedReadTransport, TBufferedWriteTransport};

use super::{RpcAddress, RpcError};
use crate::host_map::{never_resolves, HostMapping};
use ccr_wire::backend_service::BackendServiceSyncClient;
use ccr_wire::frontend_service::FrontendServiceSyncClient;

/// Idle connections kept per address. Above this, a returned connection is closed: the
/// pool only needs to cover the usual concurrency (the BE ingest limit is 48 in flight).
const MAX_IDLE_CONNECTIONS_PER_ADDRESS: usize = 64;

pub(crate) type InputProtocol = TBinaryInputProtocol<TBufferedReadTransport<SocketIo>>;
pub(crate) type OutputProtocol = TBinaryOutputProtocol<TBufferedWriteTransport<SocketIo>>;
pub(crate) type FeSyncClient = FrontendServiceSyncClient<InputProtocol, OutputProtocol>;
pub(crate) type BeSyncClient = BackendServiceSyncClient<InputProtocol, OutputProtocol>;

/// A generated Thrift client that can be built on a connection's protocols.
pub(crate) trait ThriftClient: Send + 'static {
    fn from_protocols(input: InputProtocol, output: OutputProtocol) -> Self;
}

impl ThriftClient for FeSyncClient {
    fn from_protocols(input: InputProtocol, output: OutputProtocol) -> Self {
        Self::new(input, output)
    }
}

impl ThriftClient for BeSyncClient {
    fn from_protocols(input: InputProtocol, output: OutputProtocol) -> Self {
        Self::new(input, output)
    }
}

/// A socket whose read/write timeouts surface as `TimedOut`. On Unix an expired socket
/// timeout is reported as `WouldBlock`, which thrift-rs would turn into an anonymous
/// transport error; `TimedOut` keeps it classifiable as [`RpcError::Timeout`].
pub(crate) struct SocketIo(TcpStream);

fn timeout_as_timed_out(error: io::Error) -> io::Error {
    if error.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "socket timeout expired")
    } else {
        error
    }
}

impl Read for SocketIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(timeout_as_timed_out)
    }
}

impl Write for SocketIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(timeout_as_timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(timeout_as_timed_out)
    }
}

struct Connection<C> {
    client: C,
    /// Another handle on the client's socket, to set timeouts and probe liveness.
    socket: TcpStream,
    /// The host mapping's generation it was dialled under.
    generation: u64,
}

impl<C: ThriftClient> Connection<C> {
    fn open(
        address: &RpcAddress,
        mapping: &HostMapping,
        connect_timeout: Duration,
    ) -> io::Result<Self> {
        let generation = mapping.generation();
        let dialled = RpcAddress::new(mapping.resolve(&address.host), address.port);
        let socket = connect(&dialled, connect_timeout).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("{error} ({})", mapping.dial_note(&address.host)),
            )
        })?;
        // A call is one flushed write; do not let Nagle hold it back.
        socket.set_nodelay(true)?;
        let input = TBinaryInputProtocol::new(
            TBufferedReadTransport::new(SocketIo(socket.try_clone()?)),
            true,
        );
        let output = TBinaryOutputProtocol::new(
            TBufferedWriteTransport::new(SocketIo(socket.try_clone()?)),
            true,
        );
        Ok(Self {
            client: C::from_protocols(input, output),
            socket,
            generation,
        })
    }

    /// Whether an idle connection can still be used: the peer has not closed it (e.g. a
    /// restarted server) and it holds no unexpected bytes.
    fn is_reusable(&self) -> bool {
        if self.socket.set_nonblocking(true).is_err() {
            return false;
        }
        let mut probe = [0u8; 1];
        let reusable = matches!(
            self.socket.peek(&mut probe),
            Err(ref error) if error.kind() == io::ErrorKind::WouldBlock
        );
        reusable && self.socket.set_nonblocking(false).is_ok()
    }

    fn set_call_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.socket.set_read_timeout(Some(timeout))?;
        self.socket.set_write_timeout(Some(timeout))
    }
}

fn connect(address: &RpcAddress, timeout: Duration) -> io::Result<TcpStream> {
    if never_resolves(&address.host) {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} does not resolve", address.host),
        ));
    }
    let mut last_error = None;
    for socket_address in (address.host.as_str(), address.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&socket_address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} resolves to no address", address.host),
        )
    }))
}

/// Connections to one address.
pub(crate) struct ConnectionPool<C> {
    address: RpcAddress,
    /// Applied when dialling: `address` stays the advertised one.
    mapping: HostMapping,
    connect_timeout: Duration,
    idle: Mutex<Vec<Connection<C>>>,
}

impl<C: ThriftClient> ConnectionPool<C> {
    pub(crate) fn new(
        address: RpcAddress,
        mapping: HostMapping,
        connect_timeout: Duration,
    ) -> Self {
        Self {
            address,
            mapping,
            connect_timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn address(&self) -> &RpcAddress {
        &self.address
    }

    /// Runs `invoke` on a pooled (or new) connection on tokio's blocking pool. `timeout`
    /// bounds each socket read/write of the call and, together with the connect timeout,
    /// the call as a whole.
    pub(crate) async fn call<Req, Res>(
        self: &Arc<Self>,
        method: &'static str,
        timeout: Duration,
        request: Req,
        invoke: fn(&mut C, Req) -> thrift::Result<Res>,
    ) -> Result<Res, RpcError>
    where
        Req: Send + 'static,
        Res: Send + 'static,
    {
        let pool = Arc::clone(self);
        let worker = tokio::task::spawn_blocking(move || {
            pool.call_blocking(method, timeout, request, invoke)
        });
        // Backstop for a peer that trickles bytes so that no single read times out.
        let whole_call = self.connect_timeout + timeout;
        match tokio::time::timeout(whole_call, worker).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(join_error)) => Err(RpcError::Internal {
                address: self.address.clone(),
                method,
                message: join_error.to_string(),
            }),
            Err(_elapsed) => Err(RpcError::Timeout {
                address: self.address.clone(),
                method,
                timeout: whole_call,
            }),
        }
    }

    fn call_blocking<Req, Res>(
        &self,
        method: &'static str,
        timeout: Duration,
        request: Req,
        invoke: fn(&mut C, Req) -> thrift::Result<Res>,
    ) -> Result<Res, RpcError> {
        let mut connection = match self.take_idle() {
            Some(connection) => connection,
            None => Connection::open(&self.address, &self.mapping, self.connect_timeout).map_err(
                |source| RpcError::Connect {
                    address: self.address.clone(),
                    method,
                    source,
                },
            )?,
        };
        connection
            .set_call_timeout(timeout)
            .map_err(|error| RpcError::Connection {
                address: self.address.clone(),
                method,
                message: error.to_string(),
            })?;
        tracing::trace!(address = %self.address, method, "thrift call");
        match invoke(&mut connection.client, request) {
            Ok(result) => {
                self.put_idle(connection);
                Ok(result)
            }
            Err(error) => {
                let error = RpcError::from_thrift(error, &self.address, method, timeout);
                tracing::debug!(address = %self.address, method, %error, "thrift call failed");
                Err(error)
            }
        }
    }

    fn take_idle(&self) -> Option<Connection<C>> {
        loop {
            let connection = self.idle.lock().pop()?;
            if connection.generation != self.mapping.generation() {
                tracing::debug!(address = %self.address, "host mapping changed; discarding an idle thrift connection");
                continue;
            }
            if connection.is_reusable() {
                return Some(connection);
            }
            tracing::debug!(address = %self.address, "discarding a closed idle thrift connection");
        }
    }

    fn put_idle(&self, connection: Connection<C>) {
        let mut idle = self.idle.lock();
        if idle.len() < MAX_IDLE_CONNECTIONS_PER_ADDRESS {
            idle.push(connection);
        }
    }
}
