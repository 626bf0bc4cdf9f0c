//! Jobs through the HTTP API of the real binary against simulated Doris clusters: creation
//! and its pre-flight checks, every job route, persistence across restarts on SQLite and
//! MariaDB, and redirects to the owning syncer.

use crate::support;

use std::process::Command;

use doris_sim::launch::SimConfig;
use serde_json::{json, Value};
use support::{mysql_syncer, MariaDbDatabase, Syncer, TestCluster};

const SOURCE_SETUP: &str = "CREATE DATABASE src_db PROPERTIES (\"binlog.enable\" = \"true\");
    CREATE TABLE src_db.orders (id INT, amount BIGINT) UNIQUE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2
        PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\");
    CREATE USER 'ccr'@'%' IDENTIFIED BY 's3cret-pw';
    GRANT ADMIN_PRIV ON *.*.* TO 'ccr'@'%';";

fn source() -> TestCluster {
    let cluster = TestCluster::start();
    cluster.sql(SOURCE_SETUP);
    cluster
}

fn sqlite_syncer(dir: &tempfile::TempDir) -> Syncer {
    let db = dir.path().join("ccr.db");
    Syncer::start(
        dir.path(),
        &["--db_dir", db.to_str().unwrap(), "--connect_timeout", "2s"],
    )
}

fn create_body(name: &str, src: &TestCluster, dest: &TestCluster, table: &str) -> Value {
    let mut src_spec = src.spec("src_db", table);
    src_spec["user"] = json!("ccr");
    src_spec["password"] = json!("s3cret-pw");
    json!({"name": name, "src": src_spec, "dest": dest.spec("dest_db", table)})
}

#[test]
fn table_job_lifecycle_through_every_route() {
    let src = source();
    let dest = TestCluster::start();
    // The routes are checked while the job is in its full sync: the target refuses every
    // restore, so the full sync cannot end before the test does (no race with the job).
    dest.add_fault(json!({"rpc": "restoreSnapshot", "action": "fail", "status_code": 6, "message": "held by the test", "times": 0}));
    let dir = tempfile::tempdir().unwrap();
    let mut syncer = sqlite_syncer(&dir);

    let body = create_body("orders_dr", &src, &dest, "orders");
    syncer.create_ccr(&body);
    // The target database was created by the pre-flight checks.
    assert!(dest.sql("SHOW DATABASES").lines().any(|l| l == "dest_db"));

    assert_eq!(
        syncer.try_create_ccr(&body)["error_msg"],
        "job orders_dr already exist"
    );
    assert_eq!(syncer.list_jobs(), ["orders_dr"]);

    let status = syncer.job_status("orders_dr");
    assert_eq!(status["name"], "orders_dr");
    assert_eq!(status["state"], "running");
    assert_eq!(status["progress_state"], "TableFullSync");

    // The detail is the reference's job_info with ids filled in and passwords redacted.
    let info = syncer.job_detail("orders_dr");
    assert_eq!(info["sync_type"], 1);
    assert_eq!(info["src"]["database"], "src_db");
    assert!(info["src"]["db_id"].as_i64().unwrap() > 0);
    assert!(info["src"]["table_id"].as_i64().unwrap() > 0);
    assert!(info["dest"]["db_id"].as_i64().unwrap() > 0);
    assert_eq!(info["src"]["frontends"][0]["is_master"], true);
    assert_eq!(info["src"]["password"], "******");
    assert!(!info.to_string().contains("s3cret-pw"));

    let progress = syncer.job_progress("orders_dr");
    assert_eq!(progress["job_name"], "orders_dr");
    assert_eq!(progress["sync_state"], 500);

    // Pause survives a restart; resume too.
    syncer.pause("orders_dr");
    assert_eq!(syncer.job_status("orders_dr")["state"], "paused");
    // Pause is idempotent.
    syncer.pause("orders_dr");
    assert!(syncer.stop().success());
    syncer.restart();
    assert_eq!(syncer.job_status("orders_dr")["state"], "paused");
    syncer.resume("orders_dr");
    assert_eq!(syncer.job_status("orders_dr")["state"], "running");

    syncer.update_job("orders_dr", true);
    assert!(syncer
        .job_detail("orders_dr")
        .to_string()
        .contains("\"skip_error\":true"));

    syncer.force_fullsync("orders_dr");

    // The target table does not exist before the full sync; desync names it.
    let desync = syncer.post_name("/desync", "orders_dr");
    assert_eq!(desync["success"], false);
    assert_eq!(desync["error_msg"], "failed tables: orders");

    let metrics = syncer.metrics();
    assert!(
        metrics.contains("ccr_syncer_job_paused{job=\"orders_dr\"} 0"),
        "{metrics}"
    );

    syncer.delete("orders_dr");
    assert!(syncer.list_jobs().is_empty());
    assert_eq!(
        syncer.post_name("/job_status", "orders_dr")["error_msg"],
        "job orders_dr not exist"
    );
    // Deleted jobs stay deleted after a restart.
    assert!(syncer.stop().success());
    syncer.restart();
    assert!(syncer.list_jobs().is_empty());

    assert!(
        !syncer.log().contains("s3cret-pw"),
        "the password reached the log"
    );
}

#[test]
fn desync_marks_an_adopted_target_table() {
    let src = source();
    let dest = TestCluster::start();
    dest.sql(
        "CREATE DATABASE dest_db; CREATE TABLE dest_db.orders (id INT, amount BIGINT) UNIQUE KEY(id)
         DISTRIBUTED BY HASH(id) BUCKETS 2 PROPERTIES (\"replication_num\" = \"1\", \"is_being_synced\" = \"true\")",
    );
    let dir = tempfile::tempdir().unwrap();
    let syncer = sqlite_syncer(&dir);
    let mut body = create_body("adopt", &src, &dest, "orders");
    assert_eq!(
        syncer.try_create_ccr(&body)["error_msg"],
        "dest table dest_db.orders already exists"
    );
    body["allow_table_exists"] = json!(true);
    syncer.create_ccr(&body);
    let ddl = dest.sql("SHOW CREATE TABLE dest_db.orders");
    assert!(ddl.contains(r#""is_being_synced" = "true""#), "{ddl}");
    syncer.desync("adopt");
    let ddl = dest.sql("SHOW CREATE TABLE dest_db.orders");
    assert!(ddl.contains(r#""is_being_synced" = "false""#), "{ddl}");
}

#[test]
fn create_checks_report_what_is_wrong() {
    let src = source();
    let dest = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let syncer = sqlite_syncer(&dir);

    let mut body = create_body("j", &src, &dest, "orders");
    body["src"]["database"] = json!("missing_db");
    assert_eq!(
        syncer.try_create_ccr(&body)["error_msg"],
        "src database missing_db not exists"
    );

    src.sql("CREATE DATABASE plain_db; CREATE TABLE plain_db.t (id INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    let mut body = create_body("j", &src, &dest, "");
    body["src"]["database"] = json!("plain_db");
    assert_eq!(
        syncer.try_create_ccr(&body)["error_msg"],
        "src database plain_db not enable binlog"
    );

    let mut body = create_body("j", &src, &dest, "t");
    body["src"]["database"] = json!("plain_db");
    assert_eq!(
        syncer.try_create_ccr(&body)["error_msg"],
        "src table plain_db.t not enable binlog"
    );

    let body = create_body("j", &src, &dest, "no_such_table");
    assert_eq!(
        syncer.try_create_ccr(&body)["error_msg"],
        "src table src_db.no_such_table not exists"
    );

    let mut body = create_body("j", &src, &dest, "orders");
    body["src"]["password"] = json!("wrong");
    let message = syncer.try_create_ccr(&body)["error_msg"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("rejected the login") && message.contains("Access denied"),
        "{message}"
    );
    assert!(!message.contains("wrong\""), "{message}");

    let no_fe_binlog = TestCluster::start_with(SimConfig {
        fe_binlog_enabled: false,
        ..SimConfig::default()
    });
    let body = create_body("j", &src, &no_fe_binlog, "orders");
    let expected = format!(
        "Fe 127.0.0.1:{} enable_feature_binlog=false, please set it true in fe.conf",
        no_fe_binlog.query_port()
    );
    assert_eq!(syncer.try_create_ccr(&body)["error_msg"], expected);

    let mut config = SimConfig::default();
    config.cluster.be_binlog_enabled = false;
    let no_be_binlog = TestCluster::start_with(config);
    let body = create_body("j", &src, &no_be_binlog, "orders");
    let message = syncer.try_create_ccr(&body)["error_msg"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.starts_with("Be: [127.0.0.1:")
            && message.ends_with("enable_feature_binlog=false, please set it true in be.conf"),
        "{message}"
    );

    assert!(syncer.list_jobs().is_empty());
}

#[test]
fn identifiers_with_keywords_dashes_and_backquotes() {
    let src = TestCluster::start();
    src.sql(
        "CREATE DATABASE `my-db` PROPERTIES (\"binlog.enable\" = \"true\");
         CREATE TABLE `my-db`.`select` (id INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1
            PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\");",
    );
    let dest = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let syncer = sqlite_syncer(&dir);
    let body = json!({"name": "kw", "src": src.spec("my-db", "select"), "dest": dest.spec("dest`db", "select")});
    syncer.create_ccr(&body);
    assert!(dest.sql("SHOW DATABASES").lines().any(|l| l == "dest`db"));
}

#[test]
fn jobs_and_pause_survive_restart_on_mariadb_and_redirect_to_their_owner() {
    let src = source();
    let dest = TestCluster::start();
    let database = MariaDbDatabase::new();
    let dir_a = tempfile::tempdir().unwrap();
    let mut owner = mysql_syncer(&dir_a, &database.0);

    owner.create_ccr(&create_body("ha_job", &src, &dest, "orders"));
    owner.pause("ha_job");
    assert!(owner.stop().success());
    owner.restart();
    assert_eq!(owner.job_status("ha_job")["state"], "paused");

    // A second syncer on the same metadata database lists the job and sends job calls to
    // the owner with a 303, which curl follows with -L --post303.
    let dir_b = tempfile::tempdir().unwrap();
    let other = mysql_syncer(&dir_b, &database.0);
    assert_eq!(other.list_jobs(), ["ha_job"]);
    assert_eq!(
        support::curl_redirect(&other.url("/job_status"), r#"{"name":"ha_job"}"#),
        format!("303 http://127.0.0.1:{}/job_status", owner.port)
    );
    let output = Command::new("curl")
        .args([
            "-s",
            "-L",
            "--post303",
            "-X",
            "POST",
            "-d",
            r#"{"name":"ha_job"}"#,
        ])
        .arg(other.url("/job_status"))
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["status"]["state"], "paused", "{json}");

    owner.delete("ha_job");
    assert_eq!(
        other.post_name("/job_status", "ha_job")["error_msg"],
        "job ha_job not exist"
    );
}

#[test]
fn get_lag_counts_source_binlogs_after_the_applied_seq() {
    let src = source();
    src.sql("INSERT INTO src_db.orders VALUES (1, 10), (2, 20); INSERT INTO src_db.orders VALUES (3, 30);");
    let dest = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let syncer = sqlite_syncer(&dir);
    // Paused at once so the numbers are stable: the job has applied nothing yet.
    syncer.create_ccr(&create_body("lagging", &src, &dest, "orders"));
    syncer.pause("lagging");
    let lag = syncer.get_lag("lagging");
    // Until the full sync lands, both inserts are in the table's stream after the cursor.
    if lag["prev_commit_seq"] == 0 {
        assert!(lag["lag"].as_i64().unwrap() >= 2, "{lag}");
    }
    assert!(lag["last_commit_seq"].as_i64().unwrap() >= lag["first_commit_seq"].as_i64().unwrap());
    assert_eq!(
        lag["last_binlog_timestamp"].as_str().unwrap().len(),
        "2026-01-01 00:00:00".len(),
        "{lag}"
    );
}

#[test]
fn enable_db_binlog_script_against_the_simulator() {
    let cluster = TestCluster::start();
    cluster.sql(
        "CREATE DATABASE shop;
         CREATE TABLE shop.a (id INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\");
         CREATE TABLE shop.`b-2` (id INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\");
         CREATE VIEW shop.v AS SELECT id FROM shop.a;",
    );
    let script = ccr_tests::repo_root().join("scripts/enable_db_binlog.sh");
    let output = Command::new("bash")
        .arg(script)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &cluster.query_port().to_string(),
            "-u",
            "root",
            "-d",
            "shop",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(cluster
        .sql("SHOW CREATE DATABASE shop")
        .contains(r#""binlog.enable" = "true""#));
    for table in ["a", "`b-2`"] {
        let ddl = cluster.sql(&format!("SHOW CREATE TABLE shop.{table}"));
        assert!(
            ddl.contains(r#""binlog.enable" = "true""#),
            "{table}: {ddl}"
        );
    }
    // A job can now be created on that database.
    let dest = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let syncer = sqlite_syncer(&dir);
    let body = json!({"name": "shop_dr", "src": cluster.spec("shop", ""), "dest": dest.spec("shop_dr", "")});
    syncer.create_ccr(&body);
}
