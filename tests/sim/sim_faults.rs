//! Fault injection and cluster control of the simulated cluster, driven the way tests and
//! operators drive it: rules added with curl on the FE http port, statements run with the
//! `mariadb` CLI and sqlx, Thrift calls made with the syncer's own `FeClient`. The SQL engine
//! and the FrontendService handler here are small test doubles; the real ones live in
//! `sim::sql` and the FE handler.

use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ccr_doris::rpc::{FeClient, RpcAddress, RpcError};
use ccr_wire::frontend_service::*;
use ccr_wire::status::{TStatus, TStatusCode};
use doris_sim::cluster::{SimCluster, SimClusterOptions};
use doris_sim::fault::{FaultAction, FaultInjector, FaultRule};
use doris_sim::session::{
    ColumnType, ResultColumn, SqlEngine, SqlError, SqlSession, StatementResult,
};
use doris_sim::thrift_server::{listener_service, ThriftServer};
use serde_json::{json, Value};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{Connection, Executor, MySqlConnection};
use tokio::io::AsyncWriteExt;

use crate::support::{self, is_connection_loss, stderr, stdout, WAIT_TIMEOUT};

/// Poll interval while waiting for a condition.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

// ---- test-only SQL engine: a counter that survives restarts ---------------------------------

#[derive(Default)]
struct CountingEngine {
    /// Rows "inserted" so far: the state an FE restart must keep.
    rows: AtomicU64,
    /// Statements executed so far (to know when a client's statement reached the FE).
    statements: AtomicU64,
}

struct CountingSession {
    engine: Arc<CountingEngine>,
}

/// The engine handle given to the cluster (the trait wants `'static` sessions).
struct SharedEngine(Arc<CountingEngine>);

impl SqlEngine for SharedEngine {
    fn user_password(&self, user: &str) -> Option<String> {
        (user == "root").then(String::new)
    }

    fn open_session(
        &self,
        _user: &str,
        _database: Option<&str>,
    ) -> Result<Box<dyn SqlSession>, SqlError> {
        Ok(Box::new(CountingSession {
            engine: Arc::clone(&self.0),
        }))
    }
}

fn ok(affected_rows: u64) -> StatementResult {
    StatementResult::Ok {
        affected_rows,
        info: None,
    }
}

impl CountingSession {
    fn run(&mut self, statement: &str) -> Result<StatementResult, SqlError> {
        self.engine.statements.fetch_add(1, Ordering::SeqCst);
        match statement.to_ascii_lowercase().as_str() {
            "insert one" => {
                self.engine.rows.fetch_add(1, Ordering::SeqCst);
                Ok(ok(1))
            }
            "select count" => Ok(StatementResult::Rows {
                columns: vec![ResultColumn {
                    name: "count".into(),
                    column_type: ColumnType::BigInt,
                }],
                rows: vec![vec![Some(
                    self.engine.rows.load(Ordering::SeqCst).to_string(),
                )]],
            }),
            lower if lower.starts_with("set ") || lower.starts_with("backup snapshot") => Ok(ok(0)),
            _ => Err(SqlError::analysis(format!(
                "Syntax error near '{statement}'"
            ))),
        }
    }
}

impl SqlSession for CountingSession {
    fn execute(&mut self, sql: &str) -> Vec<Result<StatementResult, SqlError>> {
        support::execute_each(sql, |statement| self.run(statement))
    }

    fn use_database(&mut self, _database: &str) -> Result<(), SqlError> {
        Ok(())
    }
}

// ---- test-only FrontendService handler honouring the fault injector -------------------------

/// Implements getBinlog (answering with the number of getBinlog calls it has served in
/// `next_commit_seq`); the other methods are not needed here.
struct TestFe {
    faults: FaultInjector,
    served: AtomicU64,
}

fn not_needed<T>(method: &str) -> thrift::Result<T> {
    Err(thrift::Error::Application(thrift::ApplicationError::new(
        thrift::ApplicationErrorKind::UnknownMethod,
        format!("{method} is not implemented by the test FE"),
    )))
}

impl FrontendServiceSyncHandler for TestFe {
    fn handle_get_binlog(&self, _request: TGetBinlogRequest) -> thrift::Result<TGetBinlogResult> {
        // What every simulated handler does first.
        if let Err(fault) = self.faults.before_rpc("getBinlog", None) {
            let reply = fault.into_reply()?;
            return Ok(TGetBinlogResult {
                status: Some(reply.status),
                master_address: reply.master_address,
                ..Default::default()
            });
        }
        let served = self.served.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(TGetBinlogResult {
            status: Some(TStatus::new(TStatusCode::OK, None)),
            next_commit_seq: Some(served as i64),
            ..Default::default()
        })
    }

    fn handle_begin_txn(&self, _: TBeginTxnRequest) -> thrift::Result<TBeginTxnResult> {
        not_needed("beginTxn")
    }
    fn handle_commit_txn(&self, _: TCommitTxnRequest) -> thrift::Result<TCommitTxnResult> {
        not_needed("commitTxn")
    }
    fn handle_rollback_txn(&self, _: TRollbackTxnRequest) -> thrift::Result<TRollbackTxnResult> {
        not_needed("rollbackTxn")
    }
    fn handle_get_binlog_lag(&self, _: TGetBinlogRequest) -> thrift::Result<TGetBinlogLagResult> {
        not_needed("getBinlogLag")
    }
    fn handle_lock_binlog(&self, _: TLockBinlogRequest) -> thrift::Result<TLockBinlogResult> {
        not_needed("lockBinlog")
    }
    fn handle_get_snapshot(&self, _: TGetSnapshotRequest) -> thrift::Result<TGetSnapshotResult> {
        not_needed("getSnapshot")
    }
    fn handle_restore_snapshot(
        &self,
        _: TRestoreSnapshotRequest,
    ) -> thrift::Result<TRestoreSnapshotResult> {
        not_needed("restoreSnapshot")
    }
    fn handle_get_master_token(
        &self,
        _: TGetMasterTokenRequest,
    ) -> thrift::Result<TGetMasterTokenResult> {
        not_needed("getMasterToken")
    }
    fn handle_get_meta(&self, _: TGetMetaRequest) -> thrift::Result<TGetMetaResult> {
        not_needed("getMeta")
    }
    fn handle_get_backend_meta(
        &self,
        _: TGetBackendMetaRequest,
    ) -> thrift::Result<TGetBackendMetaResult> {
        not_needed("getBackendMeta")
    }
}

// ---- cluster and client helpers --------------------------------------------------------------

struct TestCluster {
    cluster: SimCluster,
    engine: Arc<CountingEngine>,
}

/// A one-BE cluster with the counting engine and the test FE on the rpc port.
async fn start_cluster() -> TestCluster {
    let builder = SimCluster::bind(SimClusterOptions {
        backends: 1,
        ..SimClusterOptions::default()
    })
    .await
    .expect("ports bind");
    let fe = TestFe {
        faults: builder.faults().clone(),
        served: AtomicU64::new(0),
    };
    let engine = Arc::new(CountingEngine::default());
    let cluster = builder
        .serve_fe_rpc(listener_service(Arc::new(
            FrontendServiceSyncProcessor::new(fe),
        )))
        .start(Arc::new(SharedEngine(Arc::clone(&engine))));
    TestCluster { cluster, engine }
}

fn http_url(cluster: &SimCluster, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", cluster.topology().fe.http_port)
}

/// Runs curl like an operator would; returns the HTTP status and the JSON body.
async fn curl(cluster: &SimCluster, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut command = tokio::process::Command::new("curl");
    command
        .args(["-sS", "-X", method, "-w", "\n%{http_code}"])
        .kill_on_drop(true);
    if let Some(body) = body {
        command.args([
            "-H",
            "Content-Type: application/json",
            "-d",
            &body.to_string(),
        ]);
    }
    command.arg(http_url(cluster, path));
    let output = tokio::time::timeout(WAIT_TIMEOUT, command.output())
        .await
        .expect("curl finishes in time")
        .expect("curl runs");
    assert!(output.status.success(), "curl failed: {}", stderr(&output));
    let text = stdout(&output);
    let (body, status) = text.rsplit_once('\n').expect("status line");
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (status.parse().expect("numeric status"), json)
}

/// The `mariadb` CLI as root; --skip-reconnect: a lost connection is an error instead of
/// a silent reconnect.
fn mariadb_command(port: u16) -> tokio::process::Command {
    support::mariadb_command(port, &["--skip-reconnect", "-uroot"])
}

async fn mariadb(port: u16, sql: &str) -> Output {
    support::mariadb(port, &["--skip-reconnect", "-uroot", "-e", sql]).await
}

/// Waits (bounded) until `condition` holds.
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Waits (bounded) until the rule `id` holds `expected` calls at its pause point.
async fn wait_for_waiting(faults: &FaultInjector, id: u64, expected: usize) {
    wait_until("the call reaches the pause point", || {
        faults
            .list()
            .iter()
            .any(|rule| rule.id == id && rule.waiting == expected)
    })
    .await;
}

fn fe_client(cluster: &SimCluster, call_timeout: Duration) -> FeClient {
    support::fe_client(
        cluster.topology().fe.rpc_port,
        support::call_timeouts(call_timeout),
    )
}

async fn get_binlog(client: &FeClient) -> Result<TGetBinlogResult, RpcError> {
    client.get_binlog(TGetBinlogRequest::default()).await
}

fn status_code(result: &TGetBinlogResult) -> TStatusCode {
    result.status.as_ref().expect("status").status_code
}

// ---- Thrift ----------------------------------------------------------------------------------

#[tokio::test]
async fn thrift_faults_reach_the_client_over_the_wire() {
    let TestCluster { cluster, .. } = start_cluster().await;
    let faults = cluster.faults().clone();
    let client = fe_client(&cluster, WAIT_TIMEOUT);
    assert_eq!(
        status_code(&get_binlog(&client).await.unwrap()),
        TStatusCode::OK
    );

    // Fail: the chosen status, for the next two calls only.
    let fail = faults
        .add(
            FaultRule::rpc(
                "getBinlog",
                FaultAction::Fail {
                    status_code: TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ,
                    message: "injected".into(),
                },
            )
            .times(2),
        )
        .unwrap();
    for _ in 0..2 {
        let reply = get_binlog(&client).await.unwrap();
        let status = reply.status.unwrap();
        assert_eq!(status.status_code, TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ);
        assert_eq!(status.error_msgs, Some(vec!["injected".to_owned()]));
    }
    let reply = get_binlog(&client).await.unwrap();
    assert_eq!(status_code(&reply), TStatusCode::OK);
    assert_eq!(reply.next_commit_seq, Some(2), "failed calls did no work");
    assert_eq!(faults.list()[0].hits, 2);
    faults.remove(fail).unwrap();

    // DropConnection: the client sees the connection break, not an exception.
    faults
        .add(FaultRule::rpc("getBinlog", FaultAction::DropConnection))
        .unwrap();
    let error = get_binlog(&client).await.unwrap_err();
    assert!(is_connection_loss(&error), "{error}");
    assert_eq!(
        status_code(&get_binlog(&client).await.unwrap()),
        TStatusCode::OK
    );

    // Delay: longer than the client's call timeout.
    faults
        .add(FaultRule::rpc(
            "getBinlog",
            FaultAction::Delay { millis: 2_000 },
        ))
        .unwrap();
    let impatient = fe_client(&cluster, Duration::from_millis(200));
    let error = get_binlog(&impatient).await.unwrap_err();
    assert!(error.is_timeout(), "{error}");

    // Hang: held until released, then served normally.
    let hang = faults
        .add(FaultRule::rpc(
            "getBinlog",
            FaultAction::Hang { max_millis: 60_000 },
        ))
        .unwrap();
    let held = tokio::spawn({
        let client = client.clone();
        async move { get_binlog(&client).await }
    });
    wait_for_waiting(&faults, hang, 1).await;
    assert!(!held.is_finished());
    assert_eq!(faults.release(hang), Ok(1));
    let reply = held.await.unwrap().unwrap();
    assert_eq!(status_code(&reply), TStatusCode::OK);

    cluster.stop().await;
}

#[tokio::test]
async fn master_switch_redirects_the_client_and_restart_keeps_the_handler() {
    let TestCluster { cluster, .. } = start_cluster().await;
    let client = fe_client(&cluster, WAIT_TIMEOUT);
    let fe_address = RpcAddress::new("127.0.0.1", cluster.topology().fe.rpc_port);
    assert_eq!(get_binlog(&client).await.unwrap().next_commit_seq, Some(1));

    // Another FE that is master.
    let other = ThriftServer::start_local(FrontendServiceSyncProcessor::new(TestFe {
        faults: FaultInjector::new(),
        served: AtomicU64::new(100),
    }))
    .unwrap();
    let (status, _) = curl(
        &cluster,
        "POST",
        "/api/_sim/master",
        Some(json!({"host": "127.0.0.1", "rpc_port": other.port()})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, listed) = curl(&cluster, "GET", "/api/_sim/faults", None).await;
    assert_eq!(listed["master_redirect"]["rpc_port"], other.port());

    let reply = get_binlog(&client).await.unwrap();
    assert_eq!(
        reply.next_commit_seq,
        Some(101),
        "answered by the new master"
    );
    assert_eq!(
        client.master(),
        Some(RpcAddress::new("127.0.0.1", other.port()))
    );

    // Back to master; a client that still calls the simulated FE gets answers again.
    let (status, _) = curl(&cluster, "DELETE", "/api/_sim/master", None).await;
    assert_eq!(status, 200);
    let direct = fe_client(&cluster, WAIT_TIMEOUT);
    assert_eq!(get_binlog(&direct).await.unwrap().next_commit_seq, Some(2));

    // Restart: same port, the open connection breaks, the handler's state is kept.
    let (status, _) = curl(&cluster, "POST", "/api/_sim/restart_fe", None).await;
    assert_eq!(status, 200);
    let mut attempts = 0;
    let reply = loop {
        attempts += 1;
        match get_binlog(&direct).await {
            Ok(reply) => break reply,
            // The pooled connection from before the restart is dead.
            Err(error) if attempts < 3 && is_connection_loss(&error) => continue,
            Err(error) => panic!("no answer after the restart: {error}"),
        }
    };
    assert_eq!(reply.next_commit_seq, Some(3));
    assert_eq!(direct.master(), Some(fe_address));

    other.stop();
    cluster.stop().await;
}

// ---- SQL -------------------------------------------------------------------------------------

#[tokio::test]
async fn sql_faults_are_controlled_over_http() {
    let TestCluster { cluster, .. } = start_cluster().await;
    let port = cluster.topology().fe.query_port;

    let (status, body) = curl(
        &cluster,
        "POST",
        "/api/_sim/faults",
        Some(json!({
            "sql": "backup snapshot",
            "action": "sql_error",
            "code": 1105,
            "message": "errCode = 2, detailMessage = injected backup failure",
            "times": 2,
        })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_u64().expect("rule id");

    for _ in 0..2 {
        let failed = mariadb(port, "BACKUP SNAPSHOT db1.snap TO `__keep_on_local__`").await;
        assert!(!failed.status.success());
        assert!(
            stderr(&failed).contains(
                "ERROR 1105 (HY000) at line 1: errCode = 2, detailMessage = injected backup failure"
            ),
            "{}",
            stderr(&failed)
        );
    }
    let passed = mariadb(port, "BACKUP SNAPSHOT db1.snap TO `__keep_on_local__`").await;
    assert!(passed.status.success(), "{}", stderr(&passed));
    // Other statements were never affected.
    assert!(mariadb(port, "insert one").await.status.success());

    let (_, listed) = curl(&cluster, "GET", "/api/_sim/faults", None).await;
    let rule = &listed["rules"][0];
    assert_eq!(rule["id"], id);
    assert_eq!(rule["sql"], "backup snapshot");
    assert_eq!(rule["action"], "sql_error");
    assert_eq!(rule["hits"], 2);
    assert_eq!(rule["remaining"], 0);
    assert_eq!(listed["master_redirect"], Value::Null);

    // DropConnection on a statement: the client loses the connection.
    curl(
        &cluster,
        "POST",
        "/api/_sim/faults",
        Some(json!({"sql": "insert one", "action": "drop_connection"})),
    )
    .await;
    let dropped = mariadb(port, "insert one").await;
    assert!(!dropped.status.success());
    assert!(
        stderr(&dropped).contains("ERROR 2013"),
        "{}",
        stderr(&dropped)
    );

    // Mistakes are reported.
    let (status, body) = curl(
        &cluster,
        "POST",
        "/api/_sim/faults",
        Some(json!({"sql": "x", "action": "fail", "status_code": 6})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("sql_error"),
        "{body}"
    );
    let (status, _) = curl(&cluster, "POST", "/api/_sim/faults/999/release", None).await;
    assert_eq!(status, 404);
    let (status, _) = curl(&cluster, "POST", "/api/_sim/restart_be/1", None).await;
    assert_eq!(status, 404);

    let (status, _) = curl(&cluster, "DELETE", &format!("/api/_sim/faults/{id}"), None).await;
    assert_eq!(status, 200);
    let (_, cleared) = curl(&cluster, "DELETE", "/api/_sim/faults", None).await;
    assert_eq!(cleared["removed"], 1);

    let (status, health) = curl(&cluster, "GET", "/api/health", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        health,
        json!({"msg": "success", "code": 0, "count": 0,
               "data": {"online_backend_num": 1, "total_backend_num": 1}})
    );
    cluster.stop().await;
}

#[tokio::test]
async fn dropped_connections_break_sessions_and_reconnecting_works() {
    let TestCluster { cluster, engine } = start_cluster().await;
    let port = cluster.topology().fe.query_port;

    // An interactive session fed through stdin.
    let mut session = mariadb_command(port)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mariadb starts");
    let mut input = session.stdin.take().unwrap();
    input.write_all(b"insert one;\n").await.unwrap();
    input.flush().await.unwrap();
    wait_until("the first statement ran", || {
        engine.statements.load(Ordering::SeqCst) >= 1
    })
    .await;

    let (status, _) = curl(&cluster, "POST", "/api/_sim/drop_connections", None).await;
    assert_eq!(status, 200);
    input.write_all(b"insert one;\n").await.unwrap();
    drop(input);
    let output = tokio::time::timeout(WAIT_TIMEOUT, session.wait_with_output())
        .await
        .expect("mariadb ends")
        .unwrap();
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(
        error.contains("ERROR 2006") || error.contains("ERROR 2013"),
        "{error}"
    );
    assert_eq!(
        engine.rows.load(Ordering::SeqCst),
        1,
        "second insert never ran"
    );

    // A new connection works.
    let count = mariadb(port, "select count").await;
    assert!(count.status.success(), "{}", stderr(&count));
    assert_eq!(stdout(&count), "count\n1\n");
    cluster.stop().await;
}

#[tokio::test]
async fn fe_restart_keeps_state_and_ports() {
    let TestCluster { cluster, engine } = start_cluster().await;
    let topology = cluster.topology().clone();
    let port = topology.fe.query_port;
    for _ in 0..2 {
        assert!(mariadb(port, "insert one").await.status.success());
    }
    let mut open = MySqlConnection::connect_with(
        &MySqlConnectOptions::new()
            .host("127.0.0.1")
            .port(port)
            .username("root"),
    )
    .await
    .expect("connect");
    open.execute("select count").await.expect("works before");

    let (status, _) = curl(
        &cluster,
        "POST",
        "/api/_sim/restart_fe",
        Some(json!({"down_millis": 100})),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        open.execute("select count").await.is_err(),
        "the old connection is gone"
    );
    let count = mariadb(port, "select count").await;
    assert!(count.status.success(), "{}", stderr(&count));
    assert_eq!(stdout(&count), "count\n2\n");
    assert_eq!(cluster.topology().fe.query_port, port);

    // A BE restart brings its http port back on the same number.
    let (status, _) = curl(
        &cluster,
        "POST",
        &format!("/api/_sim/restart_be/{}", topology.backends[0].id),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let be_health = reqwest::get(format!(
        "http://127.0.0.1:{}/api/health",
        topology.backends[0].http_port
    ))
    .await
    .expect("BE http answers after its restart");
    assert!(be_health.status().is_success());
    assert_eq!(engine.rows.load(Ordering::SeqCst), 2);
    cluster.stop().await;
}

#[tokio::test]
async fn a_paused_statement_waits_for_release_or_dies_with_a_restart() {
    let TestCluster { cluster, engine } = start_cluster().await;
    let port = cluster.topology().fe.query_port;
    let faults = cluster.faults().clone();

    let (_, body) = curl(
        &cluster,
        "POST",
        "/api/_sim/faults",
        Some(json!({"sql": "insert one", "action": "hang", "times": 0})),
    )
    .await;
    let id = body["id"].as_u64().unwrap();

    let mut held = mariadb_command(port)
        .args(["-e", "insert one"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_waiting(&faults, id, 1).await;
    assert!(held.try_wait().unwrap().is_none(), "still held");
    assert_eq!(engine.rows.load(Ordering::SeqCst), 0);
    let (status, released) = curl(
        &cluster,
        "POST",
        &format!("/api/_sim/faults/{id}/release"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(released["released"], 1);
    let output = tokio::time::timeout(WAIT_TIMEOUT, held.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(engine.rows.load(Ordering::SeqCst), 1);

    // A crash at the pause point: the statement never runs, the client loses its connection.
    let held = mariadb_command(port)
        .args(["-e", "insert one"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_waiting(&faults, id, 1).await;
    cluster.restart_fe(Duration::ZERO).await.unwrap();
    let output = tokio::time::timeout(WAIT_TIMEOUT, held.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("ERROR 2013"),
        "{}",
        stderr(&output)
    );
    assert_eq!(engine.rows.load(Ordering::SeqCst), 1);
    cluster.stop().await;
}
