//! `/validate` through the real binary against simulated clusters: every check passes for a
//! ready table job and a ready database job, each kind of problem fails its own check with
//! a hint, an unreachable target answers at once, and validating changes nothing.

use crate::support;

use std::time::{Duration, Instant};

use doris_sim::launch::SimConfig;
use serde_json::{json, Value};
use support::{free_port, job_body, Syncer, TestCluster, TABLE_PROPS};

/// The check ids of a table job, in the order they are reported.
const TABLE_JOB_CHECKS: &[&str] = &[
    "job_name",
    "spec",
    "source_fe_query",
    "source_fe_rpc",
    "target_fe_query",
    "target_fe_rpc",
    "source_fe_binlog",
    "source_be_binlog",
    "target_fe_binlog",
    "target_be_binlog",
    "source_privileges",
    "target_privileges",
    "version_order",
    "source_database",
    "source_table",
    "target_table",
    "source_backends_reachable",
    "target_backends_reachable",
    "hosts_resolvable",
];

/// How long a /validate against a closed port may take: the checks fail at once, and a
/// few seconds leave room for a busy machine.
const FAST_ANSWER: Duration = Duration::from_secs(3);

/// How long a /validate against a cluster that never answers may take: the checks' own
/// limit (5 s), with room for a busy machine.
const SILENT_ANSWER: Duration = Duration::from_secs(12);

fn source() -> TestCluster {
    TestCluster::source(&format!(
        "CREATE TABLE src_db.orders (id INT, amount BIGINT) UNIQUE KEY(id) \
         DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS};
         CREATE TABLE src_db.items (id INT) DUPLICATE KEY(id) \
         DISTRIBUTED BY HASH(id) BUCKETS 1 {TABLE_PROPS};"
    ))
}

/// A syncer with default flags (a 10 s connect timeout: /validate must not wait for it).
fn syncer(dir: &tempfile::TempDir) -> Syncer {
    let db = dir.path().join("ccr.db");
    Syncer::start(dir.path(), &["--db_dir", db.to_str().unwrap()])
}

/// The `/validate` answer, which must be a successful call whatever the checks found.
fn validate(syncer: &Syncer, body: &Value) -> Value {
    let (status, answer) = syncer.post("/validate", &body.to_string());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["success"], true, "{answer}");
    let checks = answer["checks"].as_array().expect("checks");
    let all_ok = checks.iter().all(|c| c["ok"] == true);
    assert_eq!(answer["ok"], all_ok, "ok is the conjunction: {answer}");
    for check in checks {
        let hint = check["hint"].as_str().expect("hint");
        if check["ok"] == true {
            assert_eq!(hint, "", "{check}");
        } else {
            assert!(!hint.is_empty(), "a failed check says what to do: {check}");
        }
    }
    answer
}

fn ids(answer: &Value) -> Vec<String> {
    answer["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap().to_owned())
        .collect()
}

fn check<'a>(answer: &'a Value, id: &str) -> &'a Value {
    answer["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {answer}"))
}

fn failed(answer: &Value) -> Vec<String> {
    answer["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["check"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn ready_jobs_validate_ok_and_validating_changes_nothing() {
    let src = source();
    src.sql("CREATE DATABASE plain_db");
    let dest = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let syncer = syncer(&dir);

    let table_job = job_body("orders_dr", &src, "orders", &dest, "orders");
    let answer = validate(&syncer, &table_job);
    assert_eq!(answer["ok"], true, "{answer:#}");
    assert_eq!(ids(&answer), TABLE_JOB_CHECKS);
    assert!(
        check(&answer, "version_order")["message"]
            .as_str()
            .unwrap()
            .contains("doris-2.1.7"),
        "{answer}"
    );

    let db_job = job_body("shop_dr", &src, "", &dest, "");
    let answer = validate(&syncer, &db_job);
    assert_eq!(answer["ok"], true, "{answer:#}");
    let expected: Vec<&str> = TABLE_JOB_CHECKS
        .iter()
        .copied()
        .filter(|id| *id != "source_table")
        .collect();
    assert_eq!(ids(&answer), expected);

    // A database without binlog: reported, and left without binlog.
    let mut plain = job_body("plain_dr", &src, "", &dest, "");
    plain["src"]["database"] = json!("plain_db");
    let answer = validate(&syncer, &plain);
    assert_eq!(failed(&answer), ["source_database"], "{answer:#}");
    assert_eq!(
        check(&answer, "source_database")["message"],
        "src database plain_db not enable binlog"
    );
    assert!(!src
        .sql("SHOW CREATE DATABASE plain_db")
        .contains("binlog.enable"));

    // Nothing was created: no job, no target database (create would make one).
    assert!(syncer.list_jobs().is_empty());
    assert!(!dest.sql("SHOW DATABASES").lines().any(|l| l == "dest_db"));

    // A body that does not decode: the same 400 as /create_ccr.
    let (status, answer) = syncer.post("/validate", "{\"name\": 7");
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["success"], false, "{answer}");
    assert!(answer["error_msg"].is_string(), "{answer}");

    // What validated is what create accepts; afterwards the name is taken.
    syncer.create_ccr(&table_job);
    let answer = validate(&syncer, &table_job);
    assert_eq!(
        check(&answer, "job_name")["message"],
        "job orders_dr already exist"
    );
    assert_eq!(check(&answer, "job_name")["ok"], false);
    assert_eq!(syncer.list_jobs(), ["orders_dr"]);
}

#[test]
fn an_unreachable_target_fails_its_checks_at_once() {
    let src = source();
    let dir = tempfile::tempdir().unwrap();
    let syncer = syncer(&dir);
    let mut body = json!({
        "name": "j",
        "src": src.spec("src_db", "orders"),
        "dest": {"host": "127.0.0.1", "port": free_port(), "thrift_port": free_port(),
                 "user": "root", "password": "", "database": "dest_db", "table": "orders"},
    });
    let started = Instant::now();
    let answer = validate(&syncer, &body);
    let took = started.elapsed();
    assert!(took < FAST_ANSWER, "took {took:?}");
    let query = check(&answer, "target_fe_query");
    assert_eq!(query["ok"], false);
    assert!(
        query["message"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{query}"
    );
    assert!(query["hint"].as_str().unwrap().contains("port"), "{query}");
    assert_eq!(check(&answer, "target_fe_rpc")["ok"], false);
    for dependent in [
        "target_fe_binlog",
        "target_be_binlog",
        "target_privileges",
        "version_order",
        "target_table",
        "target_backends_reachable",
    ] {
        let c = check(&answer, dependent);
        assert_eq!(c["ok"], false, "{c}");
        assert_eq!(c["message"], "skipped: target_fe_query failed", "{c}");
    }
    // The source side is checked all the same.
    for ok in ["source_fe_query", "source_fe_rpc", "source_table"] {
        assert_eq!(check(&answer, ok)["ok"], true, "{answer:#}");
    }

    // A target that accepts connections but never answers: every check has a time limit.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    body["dest"]["port"] = json!(silent_port);
    body["dest"]["thrift_port"] = json!(silent_port);
    let started = Instant::now();
    let answer = validate(&syncer, &body);
    let took = started.elapsed();
    assert!(took < SILENT_ANSWER, "took {took:?}");
    let query = check(&answer, "target_fe_query");
    assert_eq!(query["ok"], false, "{query}");
    assert!(
        query["message"]
            .as_str()
            .unwrap()
            .contains("accepted a TCP connection but did not complete the login"),
        "{query}"
    );
    let rpc = check(&answer, "target_fe_rpc");
    assert_eq!(rpc["ok"], false, "{rpc}");
    assert!(
        rpc["message"]
            .as_str()
            .unwrap()
            .contains("no answer within"),
        "{rpc}"
    );
    assert_eq!(check(&answer, "source_table")["ok"], true, "{answer:#}");
    drop(silent);

    // A host name that does not resolve fails the login and the resolution check.
    body["dest"]["host"] = json!("no-such-host.invalid");
    let answer = validate(&syncer, &body);
    assert_eq!(check(&answer, "target_fe_query")["ok"], false);
    let hosts = check(&answer, "hosts_resolvable");
    assert_eq!(hosts["ok"], false, "{hosts}");
    assert!(
        hosts["message"]
            .as_str()
            .unwrap()
            .contains("no-such-host.invalid"),
        "{hosts}"
    );
    assert!(syncer.list_jobs().is_empty());
}

#[test]
fn each_problem_fails_its_own_check() {
    let src = source();
    src.sql(
        "CREATE DATABASE plain_db;
         CREATE TABLE plain_db.plain (id INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) \
         BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\");
         CREATE USER 'reader'@'%' IDENTIFIED BY 'pw';
         GRANT SELECT_PRIV ON src_db.* TO 'reader'@'%';",
    );
    let dest = TestCluster::start();
    dest.sql(
        "CREATE DATABASE dest_db;
         CREATE TABLE dest_db.orders (id INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) \
         BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\");",
    );
    let dir = tempfile::tempdir().unwrap();
    let syncer = syncer(&dir);

    // A source table without binlog (in a database without it: tables of a database with
    // binlog on inherit it).
    let mut body = job_body("j", &src, "plain", &dest, "plain");
    body["src"]["database"] = json!("plain_db");
    let answer = validate(&syncer, &body);
    assert_eq!(failed(&answer), ["source_table"], "{answer:#}");
    assert_eq!(
        check(&answer, "source_table")["message"],
        "src table plain_db.plain not enable binlog"
    );

    // The target table exists: refused unless allow_table_exists.
    let mut body = job_body("j", &src, "orders", &dest, "orders");
    let answer = validate(&syncer, &body);
    assert_eq!(failed(&answer), ["target_table"], "{answer:#}");
    assert_eq!(
        check(&answer, "target_table")["message"],
        "dest table dest_db.orders already exists"
    );
    body["allow_table_exists"] = json!(true);
    assert_eq!(validate(&syncer, &body)["ok"], true);

    // A database job whose target database already holds a replicated table.
    let mut body = job_body("j", &src, "", &dest, "");
    let answer = validate(&syncer, &body);
    assert_eq!(failed(&answer), ["target_table"], "{answer:#}");
    assert_eq!(
        check(&answer, "target_table")["message"],
        "target database dest_db already holds orders"
    );
    body["exclude_tables"] = json!(["orders"]);
    assert_eq!(validate(&syncer, &body)["ok"], true);

    // A source user without ADMIN: its privileges and the statements that need them fail.
    let mut body = job_body("j", &src, "orders", &dest, "new_orders");
    body["src"]["user"] = json!("reader");
    body["src"]["password"] = json!("pw");
    let answer = validate(&syncer, &body);
    let privileges = check(&answer, "source_privileges");
    assert_eq!(privileges["ok"], false, "{privileges}");
    assert!(
        privileges["message"]
            .as_str()
            .unwrap()
            .starts_with("'reader'@'%' lacks Admin_priv"),
        "{privileges}"
    );
    assert!(
        privileges["hint"]
            .as_str()
            .unwrap()
            .contains("GRANT ADMIN_PRIV ON *.*.* TO 'reader'@'%'"),
        "{privileges}"
    );
    assert_eq!(check(&answer, "source_fe_query")["ok"], true);
    let fe_binlog = check(&answer, "source_fe_binlog");
    assert_eq!(fe_binlog["ok"], false);
    assert!(
        fe_binlog["hint"]
            .as_str()
            .unwrap()
            .contains("source_privileges"),
        "a refused statement points at the privileges, not at fe.conf: {fe_binlog}"
    );
    assert!(failed(&answer).iter().all(|id| id.starts_with("source_")));

    // A wrong password is a login failure with its own hint.
    body["src"]["password"] = json!("wrong");
    let answer = validate(&syncer, &body);
    let login = check(&answer, "source_fe_query");
    assert_eq!(login["ok"], false);
    assert!(
        login["hint"].as_str().unwrap().contains("password"),
        "{login}"
    );

    // Binlog switched off on the target's FE, and on the BEs of another target.
    let no_fe_binlog = TestCluster::start_with(SimConfig {
        fe_binlog_enabled: false,
        ..SimConfig::default()
    });
    let answer = validate(
        &syncer,
        &job_body("j", &src, "orders", &no_fe_binlog, "orders"),
    );
    assert_eq!(failed(&answer), ["target_fe_binlog"], "{answer:#}");
    assert_eq!(
        check(&answer, "target_fe_binlog")["message"],
        format!(
            "Fe 127.0.0.1:{} enable_feature_binlog=false, please set it true in fe.conf",
            no_fe_binlog.query_port()
        )
    );
    drop(no_fe_binlog);
    let mut config = SimConfig::default();
    config.cluster.be_binlog_enabled = false;
    let no_be_binlog = TestCluster::start_with(config);
    let answer = validate(
        &syncer,
        &job_body("j", &src, "orders", &no_be_binlog, "orders"),
    );
    assert_eq!(failed(&answer), ["target_be_binlog"], "{answer:#}");
    assert!(check(&answer, "target_be_binlog")["hint"]
        .as_str()
        .unwrap()
        .contains("be.conf"));

    assert!(syncer.list_jobs().is_empty());
}
