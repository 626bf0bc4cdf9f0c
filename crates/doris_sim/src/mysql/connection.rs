//! One client connection: handshake and authentication, then the command loop.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::cluster::shutdown_requested;
use crate::fault::{FaultInjector, PauseOutcome, SqlFault};
use crate::session::{SqlEngine, SqlError, SqlSession, StatementResult};

use super::auth;
use super::message::{self, capability, STATUS_MORE_RESULTS_EXISTS};
use super::packet::PacketStream;
use super::ProtocolError;

/// A client that connects but does not finish authenticating within this time is dropped, so
/// half-open connections cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

mod command {
    pub(super) const QUIT: u8 = 0x01;
    pub(super) const INIT_DB: u8 = 0x02;
    pub(super) const QUERY: u8 = 0x03;
    pub(super) const PING: u8 = 0x0E;
    pub(super) const STMT_PREPARE: u8 = 0x16;
    pub(super) const STMT_SEND_LONG_DATA: u8 = 0x18;
    pub(super) const STMT_CLOSE: u8 = 0x19;

    /// Names Doris prints in its "Unsupported command(...)" error.
    pub(super) fn name(code: u8) -> &'static str {
        const NAMES: [&str; 32] = [
            "COM_SLEEP",
            "COM_QUIT",
            "COM_INIT_DB",
            "COM_QUERY",
            "COM_FIELD_LIST",
            "COM_CREATE_DB",
            "COM_DROP_DB",
            "COM_REFRESH",
            "COM_SHUTDOWN",
            "COM_STATISTICS",
            "COM_PROCESS_INFO",
            "COM_CONNECT",
            "COM_PROCESS_KILL",
            "COM_DEBUG",
            "COM_PING",
            "COM_TIME",
            "COM_DELAYED_INSERT",
            "COM_CHANGE_USER",
            "COM_BINLOG_DUMP",
            "COM_TABLE_DUMP",
            "COM_CONNECT_OUT",
            "COM_REGISTER_SLAVE",
            "COM_STMT_PREPARE",
            "COM_STMT_EXECUTE",
            "COM_STMT_SEND_LONG_DATA",
            "COM_STMT_CLOSE",
            "COM_STMT_RESET",
            "COM_SET_OPTION",
            "COM_STMT_FETCH",
            "COM_DAEMON",
            "COM_BINLOG_DUMP_GTID",
            "COM_RESET_CONNECTION",
        ];
        NAMES
            .get(usize::from(code))
            .copied()
            .unwrap_or("COM_UNKNOWN")
    }
}

/// Doris 2.1's answer to COM_STMT_PREPARE while `enable_server_side_prepared_statement` is off
/// (its default before the 2.1.5-era flip). The missing space is Doris's own.
const PREPARE_REFUSED: &str =
    "errCode = 2, detailMessage = Failed to prepare statementtry to set enable_server_side_prepared_statement = true";

fn unsupported_command(code: u8) -> SqlError {
    SqlError {
        code: 1047,
        sql_state: "08S01".into(),
        message: format!("Unsupported command({})", command::name(code)),
    }
}

fn access_denied(user: &str, peer_ip: IpAddr, used_password: bool) -> SqlError {
    // Doris 2.1 formats the identity as one quoted `user@ip` token.
    SqlError {
        code: 1045,
        sql_state: "28000".into(),
        message: format!(
            "Access denied for user '{user}@{peer_ip}' (using password: {})",
            if used_password { "YES" } else { "NO" }
        ),
    }
}

fn bad_handshake() -> SqlError {
    SqlError {
        code: 1043,
        sql_state: "08S01".into(),
        message: "Bad handshake".into(),
    }
}

fn internal_error(detail: &str) -> SqlError {
    SqlError::analysis(format!("internal error in the simulated FE: {detail}"))
}

/// The per-connection state once authenticated.
pub(crate) struct Connection<R, W> {
    packets: PacketStream<R, W>,
    /// Capabilities the client declared (not intersected with the server's: Doris looks at
    /// the client's own multi-statement flag even though it never advertises it).
    client_capabilities: u32,
    /// `None` only transiently while a statement runs on the blocking pool, or after the
    /// engine panicked (the connection is then closed).
    session: Option<Box<dyn SqlSession>>,
    faults: FaultInjector,
}

/// Serves one accepted socket until the client quits, the socket fails or `shutdown` fires.
pub(crate) async fn run<R, W>(
    reader: R,
    writer: W,
    peer_ip: IpAddr,
    connection_id: u32,
    engine: Arc<dyn SqlEngine>,
    faults: FaultInjector,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ProtocolError>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let mut packets = PacketStream::new(reader, writer);
    let handshake = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        authenticate(&mut packets, peer_ip, connection_id, engine),
    );
    let authenticated = tokio::select! {
        outcome = handshake => outcome.map_err(|_| ProtocolError::HandshakeTimeout)??,
        () = shutdown_requested(&mut shutdown) => return Ok(()),
    };
    let Some((session, client_capabilities)) = authenticated else {
        return Ok(());
    };
    let mut connection = Connection {
        packets,
        client_capabilities,
        session: Some(session),
        faults,
    };
    connection.command_loop(&mut shutdown).await
}

/// Handshake and authentication. Returns `None` when the client was refused (the error
/// packet has been sent).
async fn authenticate<R, W>(
    packets: &mut PacketStream<R, W>,
    peer_ip: IpAddr,
    connection_id: u32,
    engine: Arc<dyn SqlEngine>,
) -> Result<Option<(Box<dyn SqlSession>, u32)>, ProtocolError>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let scramble = auth::new_scramble();
    packets
        .write_packet(&message::handshake_v10(connection_id, &scramble))
        .await?;
    packets.flush().await?;

    let payload = packets.read_packet().await?;
    let response = match message::parse_handshake_response(&payload) {
        Ok(response) => response,
        Err(ProtocolError::Malformed(what)) => {
            tracing::debug!(connection_id, what, "malformed handshake response");
            packets
                .write_packet(&message::err_packet(&bad_handshake()))
                .await?;
            packets.flush().await?;
            return Ok(None);
        }
        Err(other) => return Err(other),
    };

    // Clients defaulting to another plugin (MySQL 8's caching_sha2_password) are asked to
    // switch to mysql_native_password over the same scramble, as Doris does.
    let auth_response = match response.auth_plugin.as_deref() {
        Some(plugin) if plugin != message::NATIVE_PASSWORD_PLUGIN => {
            tracing::debug!(connection_id, plugin, "asking client to switch auth plugin");
            packets
                .write_packet(&message::auth_switch_request(&scramble))
                .await?;
            packets.flush().await?;
            packets.read_packet().await?
        }
        _ => response.auth_response,
    };

    let used_password = !auth_response.is_empty();
    // user_password is a map lookup; it runs inline on the connection task.
    let stored_password = engine.user_password(&response.user);
    let known_user = stored_password.is_some();
    let accepted = stored_password
        .is_some_and(|password| auth::verify_native_password(&password, &scramble, &auth_response));
    if !accepted {
        // Doris reports an unknown user as "using password: YES" whatever was sent.
        let error = access_denied(&response.user, peer_ip, used_password || !known_user);
        tracing::debug!(connection_id, user = %response.user, "authentication failed");
        packets.write_packet(&message::err_packet(&error)).await?;
        packets.flush().await?;
        return Ok(None);
    }

    let user = response.user.clone();
    let database = response.database.clone();
    let opened =
        tokio::task::spawn_blocking(move || engine.open_session(&user, database.as_deref())).await;
    let opened = match opened {
        Ok(opened) => opened,
        Err(join) => {
            let error = internal_error("the engine failed");
            packets.write_packet(&message::err_packet(&error)).await?;
            packets.flush().await?;
            return Err(ProtocolError::EnginePanicked(join.to_string()));
        }
    };
    match opened {
        Ok(session) => {
            packets
                .write_packet(&message::ok_packet(0, 0, None))
                .await?;
            packets.flush().await?;
            tracing::debug!(connection_id, user = %response.user, "client authenticated");
            Ok(Some((session, response.capabilities)))
        }
        Err(error) => {
            packets.write_packet(&message::err_packet(&error)).await?;
            packets.flush().await?;
            Ok(None)
        }
    }
}

impl<R, W> Connection<R, W>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    async fn command_loop(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), ProtocolError> {
        loop {
            self.packets.reset_sequence();
            let payload = tokio::select! {
                read = self.packets.read_packet() => match read {
                    Ok(payload) => payload,
                    // The client hung up between commands: a normal end.
                    Err(ProtocolError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                    Err(e) => return Err(e),
                },
                () = shutdown_requested(shutdown) => return Ok(()),
            };
            let Some((&code, body)) = payload.split_first() else {
                return Err(ProtocolError::Malformed("empty command packet"));
            };
            match code {
                command::QUIT => return Ok(()),
                command::PING => self.send_ok(0, 0, None).await?,
                command::INIT_DB => self.init_db(body).await?,
                command::QUERY => self.query(body).await?,
                command::STMT_PREPARE => {
                    let refused = SqlError {
                        code: 1105,
                        sql_state: "HY000".into(),
                        message: PREPARE_REFUSED.into(),
                    };
                    self.send_error(&refused).await?;
                }
                // These two never get a response in the protocol.
                command::STMT_CLOSE | command::STMT_SEND_LONG_DATA => {}
                other => self.send_error(&unsupported_command(other)).await?,
            }
            self.packets.flush().await?;
        }
    }

    async fn send_ok(
        &mut self,
        affected_rows: u64,
        status: u16,
        info: Option<&str>,
    ) -> Result<(), ProtocolError> {
        self.packets
            .write_packet(&message::ok_packet(affected_rows, status, info))
            .await
    }

    async fn send_error(&mut self, error: &SqlError) -> Result<(), ProtocolError> {
        self.packets.write_packet(&message::err_packet(error)).await
    }

    /// Runs `work` against the session on the blocking pool (the engine is synchronous and
    /// may touch shared catalog locks), so other connections' tasks keep running.
    async fn with_session<T, F>(&mut self, work: F) -> Result<T, ProtocolError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn SqlSession) -> T + Send + 'static,
    {
        let mut session = self
            .session
            .take()
            .ok_or(ProtocolError::EnginePanicked("session lost".into()))?;
        let (session, outcome) = tokio::task::spawn_blocking(move || {
            let outcome = work(session.as_mut());
            (session, outcome)
        })
        .await
        .map_err(|join| ProtocolError::EnginePanicked(join.to_string()))?;
        self.session = Some(session);
        Ok(outcome)
    }

    /// Tells the client the statement failed, then ends the connection (its session was lost
    /// with the panicking task).
    async fn report_engine_failure(&mut self, panic: ProtocolError) -> Result<(), ProtocolError> {
        self.send_error(&internal_error("the engine failed"))
            .await?;
        self.packets.flush().await?;
        Err(panic)
    }

    async fn init_db(&mut self, body: &[u8]) -> Result<(), ProtocolError> {
        let Ok(database) = String::from_utf8(body.to_vec()) else {
            return self
                .send_error(&SqlError::analysis("database name is not valid UTF-8"))
                .await;
        };
        match self
            .with_session(move |session| session.use_database(&database))
            .await
        {
            Ok(Ok(())) => self.send_ok(0, 0, None).await,
            Ok(Err(error)) => self.send_error(&error).await,
            Err(panic) => self.report_engine_failure(panic).await,
        }
    }

    async fn query(&mut self, body: &[u8]) -> Result<(), ProtocolError> {
        let Ok(sql) = String::from_utf8(body.to_vec()) else {
            return self
                .send_error(&SqlError::analysis("statement is not valid UTF-8"))
                .await;
        };
        match self.faults.check_sql(&sql) {
            None => {}
            Some(SqlFault::Error(error)) => return self.send_error(&error).await,
            Some(SqlFault::Delay(delay)) => tokio::time::sleep(delay).await,
            Some(SqlFault::DropConnection) => return Err(ProtocolError::DroppedByFault),
            Some(SqlFault::Pause(pause)) => match pause.wait_async().await {
                PauseOutcome::Released | PauseOutcome::TimedOut => {}
                // The FE restarted while the statement was held: it never runs.
                PauseOutcome::Aborted => return Err(ProtocolError::DroppedByFault),
            },
        }
        let results = match self
            .with_session(move |session| session.execute(&sql))
            .await
        {
            Ok(results) => results,
            Err(panic) => return self.report_engine_failure(panic).await,
        };
        self.send_results(results).await
    }

    /// Sends the outcome of one COM_QUERY. Following Doris: every statement's result goes out,
    /// flagged SERVER_MORE_RESULTS_EXISTS except the last, when the client declared it can
    /// read several results; otherwise all statements still ran but only the final outcome
    /// is sent. Execution already stopped at the first error, which ends the response.
    async fn send_results(
        &mut self,
        results: Vec<Result<StatementResult, SqlError>>,
    ) -> Result<(), ProtocolError> {
        if results.is_empty() {
            // The engine found nothing to run (e.g. only whitespace or comments).
            return self.send_ok(0, 0, None).await;
        }
        let multi_results = self.client_capabilities & capability::MULTI_RESULTS != 0;
        let last = results.len() - 1;
        for (index, result) in results.into_iter().enumerate() {
            let is_last = index == last;
            match result {
                Err(error) => return self.send_error(&error).await,
                Ok(_) if !is_last && !multi_results => {}
                Ok(result) => {
                    let status = if is_last {
                        0
                    } else {
                        STATUS_MORE_RESULTS_EXISTS
                    };
                    self.send_statement_result(result, status).await?;
                }
            }
        }
        Ok(())
    }

    async fn send_statement_result(
        &mut self,
        result: StatementResult,
        status: u16,
    ) -> Result<(), ProtocolError> {
        match result {
            StatementResult::Ok {
                affected_rows,
                info,
            } => self.send_ok(affected_rows, status, info.as_deref()).await,
            StatementResult::Rows { columns, rows } => {
                if let Some(bad) = rows.iter().find(|row| row.len() != columns.len()) {
                    // Sending it would desynchronise the client; report the engine bug instead.
                    let detail = format!(
                        "result row has {} values for {} columns",
                        bad.len(),
                        columns.len()
                    );
                    return self.send_error(&internal_error(&detail)).await;
                }
                // The server always offers DEPRECATE_EOF, so the client's flag decides.
                let deprecate_eof = self.client_capabilities & capability::DEPRECATE_EOF != 0;
                for packet in message::result_set_packets(&columns, &rows, status, deprecate_eof) {
                    self.packets.write_packet(&packet).await?;
                }
                Ok(())
            }
        }
    }
}
