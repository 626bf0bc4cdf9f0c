//! The FE's MySQL protocol server: handshake v10 with `mysql_native_password`, the text
//! protocol (COM_QUERY, COM_INIT_DB, COM_PING, COM_QUIT) and Doris's refusal of server-side
//! prepared statements. Statements are handed to a [`SqlEngine`] through the
//! `sim::session` seam; this module only frames packets.
//!
//! Behaviour copied from Doris's FE (see `doris-sql-surface.md` §4):
//! - greeting version `5.7.99`, charset 33, status 0, capabilities without SSL and without
//!   CLIENT_MULTI_STATEMENTS;
//! - a client asking for another auth plugin gets an AuthSwitchRequest to
//!   `mysql_native_password`;
//! - a multi-statement COM_QUERY runs every statement in order; each result is sent (with
//!   SERVER_MORE_RESULTS_EXISTS between them) only to clients that declared
//!   CLIENT_MULTI_RESULTS, other clients get the last outcome only;
//! - result sets end with an OK packet for CLIENT_DEPRECATE_EOF clients, an EOF otherwise.
//!
//! Fault injection: every COM_QUERY is first shown to the cluster's [`FaultInjector`]
//! (`check_sql`), which may answer it with an error, delay it, hold it at a pause point or
//! drop the connection; and the cluster can drop every open connection at once.

mod auth;
mod connection;
mod message;
mod packet;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::cluster::{connections_dropped, shutdown_requested, ServiceSignals};
use crate::fault::FaultInjector;
use crate::session::SqlEngine;

/// How long `serve` waits, after shutdown is signalled, for connections to finish the command
/// they are running before aborting them.
const CONNECTION_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Why one connection ended abnormally. Never leaves the module except in logs.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProtocolError {
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    #[error("packet sequence id {received}, expected {expected}")]
    Sequence { expected: u8, received: u8 },
    #[error("client packet larger than {limit} bytes")]
    PacketTooLarge { limit: usize },
    #[error("malformed client packet: {0}")]
    Malformed(&'static str),
    #[error("client did not complete the handshake in time")]
    HandshakeTimeout,
    #[error("the SQL engine panicked: {0}")]
    EnginePanicked(String),
    #[error("connection dropped by fault injection")]
    DroppedByFault,
}

/// Serves MySQL clients on `listener` until `signals.shutdown` becomes `true` (or its sender
/// is dropped). Each connection runs in its own task; statements run on the blocking pool.
/// Every change of `signals.drop_connections` closes all open connections at once (a
/// statement already running finishes, but its answer is never sent). Returns once the
/// listener is closed and every connection has ended (connections still busy after
/// [`CONNECTION_DRAIN_TIMEOUT`] are aborted).
pub async fn serve(
    listener: TcpListener,
    engine: Arc<dyn SqlEngine>,
    faults: FaultInjector,
    signals: ServiceSignals,
) {
    let ServiceSignals {
        mut shutdown,
        mut drop_connections,
    } = signals;
    // Connection ids are per FE and start at 1, like MySQL's thread ids.
    let next_connection_id = AtomicU32::new(1);
    let mut connections = JoinSet::new();
    let local = listener.local_addr().ok();
    // Each connection watches its own copy; `shutdown` itself is borrowed by the select.
    let connection_shutdown = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let connection_id = next_connection_id.fetch_add(1, Ordering::Relaxed);
                    let engine = Arc::clone(&engine);
                    let faults = faults.clone();
                    let shutdown = connection_shutdown.clone();
                    // Result rows are written in many small packets; batching is done in
                    // PacketStream, so Nagle would only add latency.
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(connection_id, error = %e, "could not set TCP_NODELAY");
                    }
                    connections.spawn(async move {
                        let (reader, writer) = stream.into_split();
                        let outcome =
                            connection::run(reader, writer, peer.ip(), connection_id, engine, faults, shutdown).await;
                        match outcome {
                            Ok(()) => tracing::debug!(connection_id, %peer, "mysql connection closed"),
                            Err(e) => tracing::debug!(connection_id, %peer, error = %e, "mysql connection ended"),
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(listener = ?local, error = %e, "mysql accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            },
            // Reap finished connections so the set does not grow with every client.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = connections_dropped(&mut drop_connections) => {
                // Aborting a connection's task drops its socket: the client sees the
                // connection close, like when Doris's FE loses it.
                tracing::info!(listener = ?local, open = connections.len(), "dropping mysql connections");
                connections.abort_all();
            }
            () = shutdown_requested(&mut shutdown) => break,
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(CONNECTION_DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(listener = ?local, remaining = connections.len(), "aborting busy mysql connections");
        connections.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    //! Raw-protocol checks for paths the real clients in `tests/sim_mysql_protocol.rs` do not
    //! take: AuthSwitch, classic EOF framing with several results, and refused commands.

    use super::message::capability;
    use super::packet::PacketStream;
    use super::*;
    use crate::cluster::ServiceControl;
    use crate::session::{ColumnType, ResultColumn, SqlError, SqlSession, StatementResult};
    use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
    use tokio::net::TcpStream;

    struct FixedEngine;

    struct FixedSession;

    impl SqlEngine for FixedEngine {
        fn user_password(&self, user: &str) -> Option<String> {
            (user == "u").then(|| "pw".to_owned())
        }

        fn open_session(
            &self,
            _user: &str,
            database: Option<&str>,
        ) -> Result<Box<dyn SqlSession>, SqlError> {
            match database {
                None | Some("d") => Ok(Box::new(FixedSession)),
                Some(other) => Err(SqlError {
                    code: 1049,
                    sql_state: "42000".into(),
                    message: format!("Unknown database '{other}'"),
                }),
            }
        }
    }

    impl SqlSession for FixedSession {
        /// `a;b` → a one-row result set for each `;`-separated part named by its text.
        fn execute(&mut self, sql: &str) -> Vec<Result<StatementResult, SqlError>> {
            sql.split(';')
                .map(|part| {
                    assert_ne!(part, "panic", "engine bug simulated by the test");
                    if part == "fail" {
                        Err(SqlError::analysis("failed"))
                    } else {
                        Ok(StatementResult::Rows {
                            columns: vec![ResultColumn {
                                name: part.to_owned(),
                                column_type: ColumnType::Int,
                            }],
                            rows: vec![vec![Some("1".to_owned())]],
                        })
                    }
                })
                .collect()
        }

        fn use_database(&mut self, _database: &str) -> Result<(), SqlError> {
            Ok(())
        }
    }

    struct RawClient {
        packets: PacketStream<OwnedReadHalf, OwnedWriteHalf>,
    }

    impl RawClient {
        async fn send(&mut self, payload: &[u8]) {
            self.packets.write_packet(payload).await.unwrap();
            self.packets.flush().await.unwrap();
        }

        async fn recv(&mut self) -> Vec<u8> {
            self.packets.read_packet().await.unwrap()
        }

        /// Starts a new command exchange.
        async fn command(&mut self, payload: &[u8]) {
            self.packets.reset_sequence();
            self.send(payload).await;
        }
    }

    fn handshake_response(capabilities: u32, user: &str, auth: &[u8], plugin: &str) -> Vec<u8> {
        let mut payload = Vec::new();
        payload.extend_from_slice(&capabilities.to_le_bytes());
        payload.extend_from_slice(&(16u32 << 20).to_le_bytes());
        payload.push(33);
        payload.extend_from_slice(&[0; 23]);
        payload.extend_from_slice(user.as_bytes());
        payload.push(0);
        payload.push(auth.len() as u8);
        payload.extend_from_slice(auth);
        payload.extend_from_slice(plugin.as_bytes());
        payload.push(0);
        payload
    }

    /// Starts a server on a free port; returns its address and the shutdown sender.
    async fn start() -> (
        std::net::SocketAddr,
        ServiceControl,
        tokio::task::JoinHandle<()>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let control = ServiceControl::new();
        let server = tokio::spawn(serve(
            listener,
            Arc::new(FixedEngine),
            FaultInjector::new(),
            control.signals(),
        ));
        (addr, control, server)
    }

    /// Connects and authenticates as `u`/`pw`, announcing `plugin`. Returns the client and the
    /// server's greeting scramble.
    async fn login(
        addr: std::net::SocketAddr,
        capabilities: u32,
        plugin: &str,
    ) -> (RawClient, Vec<u8>) {
        let (reader, writer) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut client = RawClient {
            packets: PacketStream::new(reader, writer),
        };
        let greeting = client.recv().await;
        let mut scramble = greeting[12..20].to_vec();
        scramble.extend_from_slice(&greeting[39..51]);
        let proof = auth::native_password_response("pw", &scramble);
        client
            .send(&handshake_response(capabilities, "u", &proof, plugin))
            .await;
        (client, scramble)
    }

    const BASE_CAPS: u32 =
        capability::PROTOCOL_41 | capability::SECURE_CONNECTION | capability::PLUGIN_AUTH;

    #[tokio::test]
    async fn caching_sha2_client_is_switched_to_native_password() {
        let (addr, stop, server) = start().await;
        let (mut client, scramble) = login(addr, BASE_CAPS, "caching_sha2_password").await;
        let switch = client.recv().await;
        assert_eq!(switch[0], 0xFE);
        let mut expected = b"\xFEmysql_native_password\0".to_vec();
        expected.extend_from_slice(&scramble);
        expected.push(0);
        assert_eq!(switch, expected);
        client
            .send(&auth::native_password_response("pw", &scramble))
            .await;
        assert_eq!(client.recv().await[0], 0x00, "OK after the switch");

        client.command(&[command_code::PING]).await;
        assert_eq!(client.recv().await[0], 0x00);
        stop.shutdown();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn multi_results_client_gets_every_result_with_classic_eof() {
        let (addr, stop, server) = start().await;
        let (mut client, _) = login(
            addr,
            BASE_CAPS | capability::MULTI_RESULTS,
            "mysql_native_password",
        )
        .await;
        assert_eq!(client.recv().await[0], 0x00);

        client.command(b"\x03a;b;fail;c").await;
        for name in ["a", "b"] {
            assert_eq!(client.recv().await, vec![1], "column count");
            let definition = client.recv().await;
            assert!(definition
                .windows(name.len() + 1)
                .any(|w| w[0] == 1 && &w[1..] == name.as_bytes()));
            let more = [0xFE, 0, 0, 0x08, 0];
            assert_eq!(client.recv().await, more, "EOF after column definitions");
            assert_eq!(client.recv().await, vec![1, b'1']);
            assert_eq!(
                client.recv().await,
                more,
                "EOF ending the rows, more results follow"
            );
        }
        let error = client.recv().await;
        assert_eq!(error[0], 0xFF);
        assert_eq!(&error[3..9], b"#HY000");

        // The connection is still in sync: the next command gets its own answer.
        client.command(&[command_code::PING]).await;
        assert_eq!(client.recv().await, vec![0, 0, 0, 0, 0, 0, 0]);
        stop.shutdown();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn client_without_multi_results_gets_only_the_last_result() {
        let (addr, stop, server) = start().await;
        let caps = BASE_CAPS | capability::DEPRECATE_EOF;
        let (mut client, _) = login(addr, caps, "mysql_native_password").await;
        assert_eq!(client.recv().await[0], 0x00);

        client.command(b"\x03a;b").await;
        assert_eq!(client.recv().await, vec![1]);
        let definition = client.recv().await;
        assert!(definition.ends_with(&[0x0C, 63, 0, 11, 0, 0, 0, 3, 0, 0, 0, 0, 0]));
        assert!(
            definition.windows(2).any(|w| w == [1, b'b']),
            "only the last statement's result"
        );
        assert_eq!(client.recv().await, vec![1, b'1']);
        assert_eq!(
            client.recv().await,
            vec![0xFE, 0, 0, 0, 0, 0, 0],
            "OK-style end, no more results"
        );
        stop.shutdown();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn prepare_is_refused_and_unknown_commands_are_errors() {
        let (addr, stop, server) = start().await;
        let (mut client, _) = login(addr, BASE_CAPS, "mysql_native_password").await;
        assert_eq!(client.recv().await[0], 0x00);

        client.command(b"\x16select 1").await;
        let refused = client.recv().await;
        assert_eq!(u16::from_le_bytes([refused[1], refused[2]]), 1105);
        assert_eq!(
            std::str::from_utf8(&refused[9..]).unwrap(),
            "errCode = 2, detailMessage = Failed to prepare statementtry to set enable_server_side_prepared_statement = true"
        );

        // COM_STMT_CLOSE has no response; the following ping's answer must come next.
        client.command(&[0x19, 1, 0, 0, 0]).await;
        client.command(&[0x04, b't', 0]).await;
        let unsupported = client.recv().await;
        assert_eq!(u16::from_le_bytes([unsupported[1], unsupported[2]]), 1047);
        assert_eq!(
            std::str::from_utf8(&unsupported[9..]).unwrap(),
            "Unsupported command(COM_FIELD_LIST)"
        );

        client.command(&[command_code::QUIT]).await;
        stop.shutdown();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn wrong_password_and_unknown_user_are_denied() {
        let (addr, stop, server) = start().await;
        for (user, auth, expected) in [
            (
                "u",
                vec![9u8; 20],
                "Access denied for user 'u@127.0.0.1' (using password: YES)",
            ),
            (
                "u",
                vec![],
                "Access denied for user 'u@127.0.0.1' (using password: NO)",
            ),
            (
                "nobody",
                vec![],
                "Access denied for user 'nobody@127.0.0.1' (using password: YES)",
            ),
        ] {
            let (reader, writer) = TcpStream::connect(addr).await.unwrap().into_split();
            let mut client = RawClient {
                packets: PacketStream::new(reader, writer),
            };
            client.recv().await;
            client
                .send(&handshake_response(
                    BASE_CAPS,
                    user,
                    &auth,
                    "mysql_native_password",
                ))
                .await;
            let denied = client.recv().await;
            assert_eq!(u16::from_le_bytes([denied[1], denied[2]]), 1045);
            assert_eq!(&denied[3..9], b"#28000");
            assert_eq!(std::str::from_utf8(&denied[9..]).unwrap(), expected);
        }
        stop.shutdown();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn engine_panic_ends_only_that_connection() {
        let (addr, stop, server) = start().await;
        let (mut broken, _) = login(addr, BASE_CAPS, "mysql_native_password").await;
        assert_eq!(broken.recv().await[0], 0x00);
        broken.command(b"\x03panic").await;
        let error = broken.recv().await;
        assert_eq!(error[0], 0xFF);
        assert!(
            broken.packets.read_packet().await.is_err(),
            "connection closed after the panic"
        );

        let (mut healthy, _) = login(addr, BASE_CAPS, "mysql_native_password").await;
        assert_eq!(
            healthy.recv().await[0],
            0x00,
            "server still accepts clients"
        );
        stop.shutdown();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_closes_idle_connections() {
        let (addr, stop, server) = start().await;
        let (mut client, _) = login(addr, BASE_CAPS, "mysql_native_password").await;
        assert_eq!(client.recv().await[0], 0x00);
        stop.shutdown();
        server.await.unwrap();
        let err = client.packets.read_packet().await.unwrap_err();
        assert!(matches!(err, ProtocolError::Io(_)), "{err}");
        assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
    }

    mod command_code {
        pub(super) const QUIT: u8 = 0x01;
        pub(super) const PING: u8 = 0x0E;
    }
}
