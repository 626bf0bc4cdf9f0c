//! Fault injection through the simulator's real services: clusters started with
//! `sim::launch::launch` (real catalog, SQL engine, FrontendService and BackendService),
//! driven with the syncer's own Thrift clients and the `mariadb` CLI.

use std::process::Output;
use std::time::Duration;

use ccr_doris::rpc::{BeClient, FeClient, RpcAddress};
use ccr_wire::backend_service::{TIngestBinlogRequest, TQueryIngestBinlogRequest};
use ccr_wire::frontend_service::*;
use ccr_wire::status::{TStatus, TStatusCode};
use ccr_wire::types::TIngestBinlogStatus;
use doris_sim::fault::{FaultAction, FaultRule};
use doris_sim::launch::{launch, SimConfig, SimDoris};
use doris_sim::session::StatementResult;
use serde_json::{json, Value};

use crate::support::{self, is_connection_loss, root_sql, stderr, stdout, WAIT_TIMEOUT};

/// Call timeout of the client that must time out against a delayed method.
const SHORT_CALL_TIMEOUT: Duration = Duration::from_millis(300);
/// The injected delay: well above `SHORT_CALL_TIMEOUT`.
const INJECTED_DELAY_MILLIS: u64 = 3_000;

const DB: &str = "ccr";
const TABLE: &str = "orders";

async fn start() -> SimDoris {
    let doris = launch(SimConfig::default())
        .await
        .expect("simulated cluster starts");
    root_sql(&doris, &format!("CREATE DATABASE {DB}"));
    root_sql(
        &doris,
        &format!(
            "CREATE TABLE {DB}.{TABLE} (`id` INT, `amount` BIGINT) DUPLICATE KEY(`id`) \
             DISTRIBUTED BY HASH(`id`) BUCKETS 2 PROPERTIES (\"binlog.enable\" = \"true\")"
        ),
    );
    doris
}

fn fe_client(doris: &SimDoris, call_timeout: Duration) -> FeClient {
    support::fe_client(
        doris.topology().fe.rpc_port,
        support::call_timeouts(call_timeout),
    )
}

fn be_client(doris: &SimDoris, index: usize) -> (i64, BeClient) {
    let backend = &doris.topology().backends[index];
    let client = BeClient::new(
        RpcAddress::new("127.0.0.1", backend.be_port),
        support::call_timeouts(WAIT_TIMEOUT),
    );
    (backend.id, client)
}

fn fail(status_code: TStatusCode, message: &str) -> FaultAction {
    FaultAction::Fail {
        status_code,
        message: message.to_owned(),
    }
}

fn code(status: &Option<TStatus>) -> TStatusCode {
    status.as_ref().expect("status").status_code
}

fn messages(status: &Option<TStatus>) -> Vec<String> {
    status
        .as_ref()
        .and_then(|s| s.error_msgs.clone())
        .unwrap_or_default()
}

fn table_id(doris: &SimDoris) -> i64 {
    doris
        .catalog
        .read()
        .db(DB)
        .and_then(|db| db.table(TABLE))
        .expect("table exists")
        .id
}

fn begin_request(doris: &SimDoris, label: &str) -> TBeginTxnRequest {
    TBeginTxnRequest {
        user: Some("root".into()),
        passwd: Some(String::new()),
        db: Some(DB.into()),
        table_ids: Some(vec![table_id(doris)]),
        label: Some(label.into()),
        ..Default::default()
    }
}

fn get_binlog_request() -> TGetBinlogRequest {
    TGetBinlogRequest {
        user: Some("root".into()),
        passwd: Some(String::new()),
        db: Some(DB.into()),
        prev_commit_seq: Some(0),
        ..Default::default()
    }
}

fn get_meta_request() -> TGetMetaRequest {
    TGetMetaRequest {
        user: Some("root".into()),
        passwd: Some(String::new()),
        db: Some(TGetMetaDB {
            name: Some(DB.into()),
            ..Default::default()
        }),
    }
}

fn transaction_status(doris: &SimDoris, txn_id: i64) -> String {
    match root_sql(
        doris,
        &format!("SHOW TRANSACTION FROM {DB} WHERE id = {txn_id}"),
    ) {
        StatementResult::Rows { columns, rows } => {
            let index = columns
                .iter()
                .position(|c| c.name == "TransactionStatus")
                .expect("TransactionStatus column");
            rows[0][index].clone().unwrap_or_default()
        }
        other => panic!("expected rows, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_rules_answer_their_status_n_times_then_the_methods_work() {
    let doris = start().await;
    let faults = doris.cluster.faults().clone();
    let fe = fe_client(&doris, WAIT_TIMEOUT);

    // getBinlog: two injected BINLOG_TOO_OLD_COMMIT_SEQ answers, then the real stream.
    let normal = fe.get_binlog(get_binlog_request()).await.unwrap();
    assert_eq!(code(&normal.status), TStatusCode::OK, "{normal:?}");
    faults
        .add(
            FaultRule::rpc(
                "getBinlog",
                fail(TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ, "too old"),
            )
            .times(2),
        )
        .unwrap();
    for _ in 0..2 {
        let result = fe.get_binlog(get_binlog_request()).await.unwrap();
        assert_eq!(code(&result.status), TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ);
        assert_eq!(messages(&result.status), vec!["too old".to_owned()]);
        assert_eq!(result.binlogs, None, "an injected failure does no work");
    }
    let after = fe.get_binlog(get_binlog_request()).await.unwrap();
    assert_eq!(after, normal);

    // beginTxn: one INTERNAL_ERROR that opens no transaction, then a real one.
    faults
        .add(FaultRule::rpc(
            "beginTxn",
            fail(TStatusCode::INTERNAL_ERROR, "injected begin"),
        ))
        .unwrap();
    let failed = fe.begin_txn(begin_request(&doris, "l1")).await.unwrap();
    assert_eq!(code(&failed.status), TStatusCode::INTERNAL_ERROR);
    assert_eq!(failed.txn_id, None);
    let begun = fe.begin_txn(begin_request(&doris, "l1")).await.unwrap();
    assert_eq!(code(&begun.status), TStatusCode::OK, "{begun:?}");
    let txn_id = begun.txn_id.expect("txn id");

    // commitTxn: the third call fails (skip 2, times 1); the first two reach the handler.
    faults
        .add(
            FaultRule::rpc(
                "commitTxn",
                fail(TStatusCode::PUBLISH_TIMEOUT, "injected commit"),
            )
            .skip(2)
            .times(1),
        )
        .unwrap();
    let commit = || TCommitTxnRequest {
        user: Some("root".into()),
        passwd: Some(String::new()),
        db: Some(DB.into()),
        txn_id: Some(txn_id),
        commit_infos: Some(Vec::new()),
        ..Default::default()
    };
    let unknown_txn = TCommitTxnRequest {
        txn_id: Some(txn_id + 1000),
        ..commit()
    };
    for _ in 0..2 {
        let result = fe.commit_txn(unknown_txn.clone()).await.unwrap();
        assert_eq!(
            code(&result.status),
            TStatusCode::ANALYSIS_ERROR,
            "{result:?}"
        );
    }
    let injected = fe.commit_txn(commit()).await.unwrap();
    assert_eq!(code(&injected.status), TStatusCode::PUBLISH_TIMEOUT);
    assert_eq!(transaction_status(&doris, txn_id), "PREPARE");
    let committed = fe.commit_txn(commit()).await.unwrap();
    assert_eq!(code(&committed.status), TStatusCode::OK, "{committed:?}");
    assert_eq!(transaction_status(&doris, txn_id), "VISIBLE");

    let hits: Vec<u64> = faults.list().iter().map(|rule| rule.hits).collect();
    assert_eq!(hits, vec![2, 1, 1]);
    doris.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_rules_apply_to_their_backend_only() {
    let doris = start().await;
    let faults = doris.cluster.faults().clone();
    let (first_id, first) = be_client(&doris, 0);
    let (second_id, second) = be_client(&doris, 1);
    // Without a txn the real handler refuses the request: that is the "normal" answer.
    let normal = first
        .ingest_binlog(TIngestBinlogRequest::default())
        .await
        .unwrap();
    assert_eq!(code(&normal.status), TStatusCode::ANALYSIS_ERROR);

    faults
        .add(
            FaultRule::rpc(
                "ingest_binlog",
                fail(TStatusCode::TABLET_MISSING, "injected ingest"),
            )
            .on_backend(second_id)
            .times(2),
        )
        .unwrap();
    for _ in 0..2 {
        let other = first
            .ingest_binlog(TIngestBinlogRequest::default())
            .await
            .unwrap();
        assert_eq!(other, normal, "BE {first_id} is not targeted");
        let result = second
            .ingest_binlog(TIngestBinlogRequest::default())
            .await
            .unwrap();
        assert_eq!(code(&result.status), TStatusCode::TABLET_MISSING);
        assert_eq!(messages(&result.status), vec!["injected ingest".to_owned()]);
        assert_eq!(result.is_async, Some(false));
    }
    let after = second
        .ingest_binlog(TIngestBinlogRequest::default())
        .await
        .unwrap();
    assert_eq!(after, normal);

    // query_ingest_binlog has no TStatus: the rule's code is the TIngestBinlogStatus.
    faults
        .add(
            FaultRule::rpc(
                "query_ingest_binlog",
                fail(TStatusCode(TIngestBinlogStatus::FAILED.0), "injected query"),
            )
            .on_backend(first_id),
        )
        .unwrap();
    let queried = first
        .query_ingest_binlog(TQueryIngestBinlogRequest::default())
        .await
        .unwrap();
    assert_eq!(queried.status, Some(TIngestBinlogStatus::FAILED));
    assert_eq!(queried.err_msg.as_deref(), Some("injected query"));
    let queried = first
        .query_ingest_binlog(TQueryIngestBinlogRequest::default())
        .await
        .unwrap();
    assert_eq!(queried.status, Some(TIngestBinlogStatus::ANALYSIS_ERROR));
    doris.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delays_time_out_the_client_and_dropped_connections_recover() {
    let doris = start().await;
    let faults = doris.cluster.faults().clone();

    faults
        .add(FaultRule::rpc(
            "getMeta",
            FaultAction::Delay {
                millis: INJECTED_DELAY_MILLIS,
            },
        ))
        .unwrap();
    let impatient = fe_client(&doris, SHORT_CALL_TIMEOUT);
    let error = impatient.get_meta(get_meta_request()).await.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    let fe = fe_client(&doris, WAIT_TIMEOUT);
    let meta = fe.get_meta(get_meta_request()).await.unwrap();
    assert_eq!(meta.status.status_code, TStatusCode::OK);
    let tables = meta.db_meta.and_then(|db| db.tables).unwrap_or_default();
    assert_eq!(tables.len(), 1);

    faults
        .add(FaultRule::rpc(
            "getMasterToken",
            FaultAction::DropConnection,
        ))
        .unwrap();
    let token_request = TGetMasterTokenRequest {
        user: Some("root".into()),
        password: Some(String::new()),
        ..Default::default()
    };
    let error = fe
        .get_master_token(token_request.clone())
        .await
        .unwrap_err();
    assert!(is_connection_loss(&error), "{error}");
    let token = fe.get_master_token(token_request).await.unwrap();
    assert_eq!(code(&token.status), TStatusCode::OK);
    assert!(token.token.is_some_and(|t| !t.is_empty()));

    let (backend_id, backend) = be_client(&doris, 0);
    faults
        .add(FaultRule::rpc("ingest_binlog", FaultAction::DropConnection).on_backend(backend_id))
        .unwrap();
    let error = backend
        .ingest_binlog(TIngestBinlogRequest::default())
        .await
        .unwrap_err();
    assert!(error.is_connection_class(), "{error}");
    let normal = backend
        .ingest_binlog(TIngestBinlogRequest::default())
        .await
        .unwrap();
    assert_eq!(code(&normal.status), TStatusCode::ANALYSIS_ERROR);
    doris.stop().await;
}

/// Every FrontendService method of a cluster whose master moved answers NOT_MASTER naming the
/// new master; the client follows the redirect to the second cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_master_redirects_every_method_to_the_named_master() {
    let follower = start().await;
    let master = start().await;
    let master_address = RpcAddress::new("127.0.0.1", master.topology().fe.rpc_port);
    follower
        .cluster
        .set_master_redirect(Some(("127.0.0.1".into(), master_address.port)));

    // A fresh client per method proves that this very method was redirected.
    let fresh = || fe_client(&follower, WAIT_TIMEOUT);
    macro_rules! redirected {
        ($method:ident, $request:expr) => {{
            let client = fresh();
            let reply = client
                .$method($request)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", stringify!($method)));
            assert_eq!(
                client.master(),
                Some(master_address.clone()),
                "{} was not redirected",
                stringify!($method)
            );
            reply
        }};
    }
    redirected!(begin_txn, TBeginTxnRequest::default());
    redirected!(commit_txn, TCommitTxnRequest::default());
    redirected!(rollback_txn, TRollbackTxnRequest::default());
    redirected!(get_binlog, TGetBinlogRequest::default());
    redirected!(get_binlog_lag, TGetBinlogRequest::default());
    redirected!(lock_binlog, TLockBinlogRequest::default());
    redirected!(get_snapshot, TGetSnapshotRequest::default());
    redirected!(restore_snapshot, TRestoreSnapshotRequest::default());
    redirected!(get_master_token, TGetMasterTokenRequest::default());
    redirected!(get_backend_meta, TGetBackendMetaRequest::default());
    // The answer really comes from the master: its own database id.
    let meta = redirected!(get_meta, get_meta_request());
    let master_db_id = master.catalog.read().db(DB).unwrap().id;
    assert_eq!(meta.db_meta.and_then(|db| db.id), Some(master_db_id));

    // Once master again, the follower answers itself.
    follower.cluster.set_master_redirect(None);
    let client = fresh();
    let meta = client.get_meta(get_meta_request()).await.unwrap();
    assert_eq!(meta.status.status_code, TStatusCode::OK);
    assert_eq!(
        client.master(),
        Some(RpcAddress::new(
            "127.0.0.1",
            follower.topology().fe.rpc_port
        ))
    );
    follower.stop().await;
    master.stop().await;
}

/// The `mariadb` CLI as root; --skip-reconnect: a lost connection is an error.
async fn mariadb(doris: &SimDoris, statement: &str) -> Output {
    let port = doris.topology().fe.query_port;
    let args = [
        "--skip-column-names",
        "--skip-reconnect",
        "-uroot",
        "-e",
        statement,
    ];
    support::mariadb(port, &args).await
}

/// Adds a rule through the FE http control API with curl, as an operator would.
async fn curl_add_rule(doris: &SimDoris, rule: Value) -> u64 {
    let url = format!(
        "http://127.0.0.1:{}/api/_sim/faults",
        doris.topology().fe.http_port
    );
    let output = tokio::process::Command::new("curl")
        .args(["-sS", "-X", "POST", "-H", "Content-Type: application/json"])
        .args(["-d", &rule.to_string(), &url])
        .kill_on_drop(true)
        .output()
        .await
        .expect("curl runs");
    assert!(output.status.success(), "{}", stderr(&output));
    let body: Value = serde_json::from_slice(&output.stdout).expect("JSON answer");
    body["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no id: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_faults_reach_the_mariadb_client() {
    let doris = start().await;
    let faults = doris.cluster.faults().clone();

    curl_add_rule(
        &doris,
        json!({"sql": "create table", "action": "sql_error", "code": 1105,
               "message": "errCode = 2, detailMessage = injected create failure"}),
    )
    .await;
    let create = format!(
        "CREATE TABLE {DB}.t2 (`k` INT) DUPLICATE KEY(`k`) DISTRIBUTED BY HASH(`k`) BUCKETS 1"
    );
    let failed = mariadb(&doris, &create).await;
    assert!(!failed.status.success());
    assert!(
        stderr(&failed).contains("ERROR 1105 (HY000)")
            && stderr(&failed).contains("injected create failure"),
        "{}",
        stderr(&failed)
    );
    let created = mariadb(&doris, &create).await;
    assert!(created.status.success(), "{}", stderr(&created));
    let tables = mariadb(&doris, &format!("SHOW TABLES FROM {DB}")).await;
    assert!(stdout(&tables).lines().any(|line| line == "t2"));

    // A dropped connection loses the statement; the next one works.
    faults
        .add(FaultRule::sql("INSERT INTO", FaultAction::DropConnection))
        .unwrap();
    let insert = format!("INSERT INTO {DB}.{TABLE} VALUES (1, 10)");
    let lost = mariadb(&doris, &insert).await;
    assert!(!lost.status.success());
    assert!(
        stderr(&lost).contains("Lost connection"),
        "{}",
        stderr(&lost)
    );
    let count = format!("SELECT COUNT(*) FROM {DB}.{TABLE}");
    assert_eq!(stdout(&mariadb(&doris, &count).await).trim(), "0");
    let inserted = mariadb(&doris, &insert).await;
    assert!(inserted.status.success(), "{}", stderr(&inserted));
    assert_eq!(stdout(&mariadb(&doris, &count).await).trim(), "1");
    doris.stop().await;
}

/// POSTs `body` to the FE http control API path with curl; the HTTP status and the body.
async fn curl_control(doris: &SimDoris, path: &str, body: Value) -> (u16, Value) {
    let url = format!("http://127.0.0.1:{}{path}", doris.topology().fe.http_port);
    let output = tokio::process::Command::new("curl")
        .args(["-sS", "-w", "\n%{http_code}", "-X", "POST"])
        .args(["-H", "Content-Type: application/json"])
        .args(["-d", &body.to_string(), &url])
        .kill_on_drop(true)
        .output()
        .await
        .expect("curl runs");
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let (body, status) = text.rsplit_once('\n').expect("status line");
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (status.parse().expect("numeric status"), json)
}

/// `MaxDiskUsedPct` of every BE, by BE id, as SHOW BACKENDS reports it.
fn max_disk_used(doris: &SimDoris) -> Vec<(String, String)> {
    let StatementResult::Rows { columns, rows } = root_sql(doris, "SHOW BACKENDS") else {
        panic!("SHOW BACKENDS answers rows");
    };
    let column = |name: &str| columns.iter().position(|c| c.name == name).unwrap();
    let (id, pct) = (column("BackendId"), column("MaxDiskUsedPct"));
    let mut usage: Vec<(String, String)> = rows
        .iter()
        .map(|row| (row[id].clone().unwrap(), row[pct].clone().unwrap()))
        .collect();
    usage.sort();
    usage
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_backends_reports_the_disk_usage_set_through_the_control_api() {
    let doris = start().await;
    let ids: Vec<String> = doris
        .topology()
        .backends
        .iter()
        .map(|be| be.id.to_string())
        .collect();
    let computed = max_disk_used(&doris);
    assert!(
        computed.iter().all(|(_, pct)| pct.ends_with(" %")),
        "{computed:?}"
    );

    let (status, answer) =
        curl_control(&doris, "/api/_sim/disk_usage", json!({"percent": 95})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["backends"].as_array().unwrap().len(), ids.len());
    assert!(max_disk_used(&doris)
        .iter()
        .all(|(_, pct)| pct == "95.00 %"));

    let one = doris.topology().backends[1].id;
    let body = json!({"backend_id": one, "percent": 12.345});
    let (status, _) = curl_control(&doris, "/api/_sim/disk_usage", body).await;
    assert_eq!(status, 200);
    for (id, pct) in max_disk_used(&doris) {
        let want = if id == one.to_string() {
            "12.35 %"
        } else {
            "95.00 %"
        };
        assert_eq!(pct, want, "BE {id}");
    }

    let (status, answer) =
        curl_control(&doris, "/api/_sim/disk_usage", json!({"percent": 101})).await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = curl_control(
        &doris,
        "/api/_sim/disk_usage",
        json!({"backend_id": 1, "percent": 5}),
    )
    .await;
    assert_eq!(status, 400);

    let (status, _) = curl_control(&doris, "/api/_sim/disk_usage", json!({"percent": null})).await;
    assert_eq!(status, 200);
    assert_eq!(
        max_disk_used(&doris),
        computed,
        "back to the computed usage"
    );
    doris.stop().await;
}
