//! What the simulator tests share: an engine-level catalog (no network), statements run
//! in-process on a launched cluster, the syncer's FE client, the `mariadb` CLI, and the
//! plumbing of the modules' test-double SQL sessions.

use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use ccr_doris::rpc::{FeClient, RpcAddress, RpcError, RpcTimeouts};
use doris_sim::catalog::table::OlapTable;
use doris_sim::catalog::Catalog;
use doris_sim::launch::SimDoris;
use doris_sim::session::{SqlEngine, SqlError, SqlSession, StatementResult};
use doris_sim::sql::FeSqlEngine;
use doris_sim::topology::{BackendAddr, ClusterTopology, FrontendAddr};

/// Root's password in the engine-level catalogs of [`binlog_catalog`].
pub const ROOT_PASSWORD: &str = "rootpw";

/// Generous bound for connecting, one CLI run or one call expected to succeed (debug
/// builds on a busy two-core machine).
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// The topology of an engine-level catalog: one FE and three BEs (ids 20001..), whose
/// hosts `host` names by index. Nothing listens on its ports.
pub fn topology_on(host: impl Fn(usize) -> String) -> ClusterTopology {
    ClusterTopology {
        fe: FrontendAddr {
            host: "127.0.0.1".into(),
            query_port: 19030,
            rpc_port: 19020,
            http_port: 18030,
            edit_log_port: 19010,
        },
        backends: (0..3)
            .map(|i| BackendAddr {
                id: 20001 + i as i64,
                host: host(i),
                be_port: 19060 + i as u16,
                http_port: 18040 + i as u16,
                brpc_port: 18060 + i as u16,
                heartbeat_port: 19050 + i as u16,
            })
            .collect(),
    }
}

/// [`topology_on`] with every BE on 127.0.0.1.
pub fn topology() -> ClusterTopology {
    topology_on(|_| "127.0.0.1".into())
}

/// An engine-level catalog over `topology`, root's password [`ROOT_PASSWORD`], with the
/// FE's `enable_feature_binlog` on.
pub fn binlog_catalog(topology: ClusterTopology) -> Arc<Catalog> {
    let catalog = Catalog::new(topology, ROOT_PASSWORD);
    catalog.set_config("enable_feature_binlog", "true").unwrap();
    catalog
}

/// A root session of the real SQL engine on `catalog` (no network).
pub fn root_session(catalog: &Arc<Catalog>) -> Box<dyn SqlSession> {
    FeSqlEngine::new(catalog.clone())
        .open_session("root", None)
        .unwrap()
}

/// `db.table` of `doris`'s catalog, copied (an OLAP table; panics otherwise).
pub fn olap_table(doris: &SimDoris, db: &str, table: &str) -> OlapTable {
    let state = doris.catalog.read();
    state
        .db(db)
        .unwrap_or_else(|| panic!("no database {db}"))
        .table(table)
        .unwrap_or_else(|| panic!("no table {db}.{table}"))
        .olap()
        .unwrap_or_else(|| panic!("{db}.{table} is not an OLAP table"))
        .clone()
}

/// Runs each statement of `sql` with `run`, stopping after the first error, as Doris
/// answers a multi-statement query: the `execute` of the modules' test-double sessions.
pub fn execute_each(
    sql: &str,
    mut run: impl FnMut(&str) -> Result<StatementResult, SqlError>,
) -> Vec<Result<StatementResult, SqlError>> {
    let mut results = Vec::new();
    for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let result = run(statement);
        let failed = result.is_err();
        results.push(result);
        if failed {
            break;
        }
    }
    results
}

/// Runs `statement` in-process in a new root session of `doris` (set-up and checks, not
/// under test); the last statement's result.
pub fn try_root_sql(doris: &SimDoris, statement: &str) -> Result<StatementResult, SqlError> {
    doris
        .cluster
        .engine()
        .open_session("root", None)
        .expect("root session")
        .execute(statement)
        .pop()
        .expect("one result")
}

/// [`try_root_sql`], panicking on an error.
pub fn root_sql(doris: &SimDoris, statement: &str) -> StatementResult {
    try_root_sql(doris, statement).unwrap_or_else(|e| panic!("{statement}: {}", e.message))
}

/// The rows [`root_sql`] answers; panics if `statement` answers no rows.
pub fn root_rows(doris: &SimDoris, statement: &str) -> Vec<Vec<Option<String>>> {
    match root_sql(doris, statement) {
        StatementResult::Rows { rows, .. } => rows,
        other => panic!("{statement}: expected rows, got {other:?}"),
    }
}

/// The syncer's FE client for the FE at `127.0.0.1:rpc_port`.
pub fn fe_client(rpc_port: u16, timeouts: RpcTimeouts) -> FeClient {
    FeClient::new(vec![RpcAddress::new("127.0.0.1", rpc_port)], timeouts)
}

/// Timeouts that wait [`WAIT_TIMEOUT`] for a connection and `call` for each call.
pub fn call_timeouts(call: Duration) -> RpcTimeouts {
    RpcTimeouts {
        connect: WAIT_TIMEOUT,
        call,
        commit_txn: call,
    }
}

/// A connection the server broke, as the client reports it (with one FE configured, the
/// client gives up after trying it).
pub fn is_connection_loss(error: &RpcError) -> bool {
    match error {
        RpcError::NoFrontendReachable {
            last_error: Some(last),
            ..
        } => last.is_connection_class(),
        other => other.is_connection_class(),
    }
}

/// The `mariadb` CLI against `127.0.0.1:port` with `args` after the connection options;
/// killed if the test drops it.
pub fn mariadb_command(port: u16, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("mariadb");
    // --no-defaults: ignore option files on the machine; --batch: tab-separated output.
    command
        .args([
            "--no-defaults",
            "--batch",
            "-h127.0.0.1",
            &format!("-P{port}"),
        ])
        .args(args)
        .kill_on_drop(true);
    command
}

/// Runs [`mariadb_command`] to its end (within [`WAIT_TIMEOUT`]).
pub async fn mariadb(port: u16, args: &[&str]) -> Output {
    tokio::time::timeout(WAIT_TIMEOUT, mariadb_command(port, args).output())
        .await
        .expect("mariadb finishes in time")
        .expect("mariadb runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
