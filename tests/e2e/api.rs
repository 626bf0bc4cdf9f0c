//! The HTTP API of the real binary, for everything that needs no Doris cluster: envelopes,
//! error paths, bad input, process behaviour.

use crate::support;

use std::process::Command;

use serde_json::{json, Value};
use support::{free_port, Syncer};

fn start() -> (tempfile::TempDir, Syncer) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ccr.db");
    let syncer = Syncer::start(
        dir.path(),
        &["--db_dir", db.to_str().unwrap(), "--connect_timeout", "1s"],
    );
    (dir, syncer)
}

fn spec(port: u16, table: &str) -> Value {
    json!({"host": "127.0.0.1", "port": port.to_string(), "thrift_port": "9020", "user": "root",
           "password": "", "database": "db", "table": table})
}

#[test]
fn version_features_metrics_and_list() {
    let (_dir, syncer) = start();

    let (status, version) = syncer.post("/version", "");
    assert_eq!(status, 200);
    let text = version["version"].as_str().unwrap();
    assert!(
        text.starts_with(env!("CARGO_PKG_VERSION")) && text.contains(':'),
        "{version}"
    );
    assert!(
        version.get("success").is_none(),
        "reference /version has no success key"
    );

    let (_, features) = syncer.post("/features", "");
    assert_eq!(features["success"], true);
    let flags = features["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 7);
    let atomic = flags
        .iter()
        .find(|f| f["feature"] == "feature_atomic_restore")
        .unwrap();
    assert_eq!(atomic["value"], true);
    assert_eq!(atomic["default"], "true");
    let names: Vec<&str> = flags
        .iter()
        .map(|f| f["feature"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    let (_, list) = syncer.post("/list_jobs", "");
    assert_eq!(list, json!({"success": true, "jobs": []}));

    let (status, metrics) = syncer.post_raw("/metrics", "");
    assert_eq!(status, 200);
    assert!(
        metrics.contains(
            "# TYPE ccr_syncer_jobs_created_total counter\nccr_syncer_jobs_created_total 0\n"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("ccr_syncer_http_requests_total "),
        "{metrics}"
    );
}

#[test]
fn feature_flags_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ccr.db");
    let syncer = Syncer::start(
        dir.path(),
        &[
            "--db_dir",
            db.to_str().unwrap(),
            "-feature_atomic_restore=false",
            "--feature_clean_table_and_partitions",
        ],
    );
    let (_, features) = syncer.post("/features", "");
    let flag = |name: &str| {
        features["flags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["feature"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        flag("feature_atomic_restore"),
        json!({"feature": "feature_atomic_restore", "value": false, "default": "true"})
    );
    assert_eq!(flag("feature_clean_table_and_partitions")["value"], true);
}

#[test]
fn unknown_jobs_and_empty_names() {
    let (_dir, syncer) = start();
    for route in [
        "/pause",
        "/resume",
        "/delete",
        "/job_status",
        "/desync",
        "/update_job",
        "/force_fullsync",
        "/verify",
    ] {
        let json = syncer.post_name(route, "nope");
        assert_eq!(
            json,
            json!({"success": false, "error_msg": "job nope not exist"}),
            "{route}"
        );
    }
    assert_eq!(
        syncer.post_name("/get_lag", "nope"),
        json!({"success": false, "error_msg": "job nope not exist", "lag": 0})
    );
    assert_eq!(
        syncer.post_name("/job_detail", "nope"),
        json!({"success": false, "error_msg": "job nope not exist", "job_detail": ""})
    );
    assert_eq!(
        syncer.post_name("/job_progress", "nope"),
        json!({"success": false, "error_msg": "job nope not exist", "job_progress": ""})
    );
    for route in [
        "/pause",
        "/resume",
        "/delete",
        "/job_status",
        "/get_lag",
        "/job_detail",
        "/verify",
    ] {
        let json = syncer.post_name(route, "");
        assert_eq!(json["error_msg"], "name is empty", "{route}");
        assert_eq!(json["success"], false);
    }
    assert_eq!(
        syncer.post_name("/force_fullsync", "")["error_msg"],
        "job name is empty"
    );
    // A missing name is an empty name, as in the reference.
    let (_, json) = syncer.post("/pause", "{}");
    assert_eq!(json["error_msg"], "name is empty");
}

#[test]
fn malformed_bodies_are_rejected_clearly() {
    let (_dir, syncer) = start();

    let (status, json) = syncer.post("/pause", "{\"name\": ");
    assert_eq!(status, 200);
    assert_eq!(json["success"], false);
    assert!(
        json["error_msg"].as_str().unwrap().contains("EOF"),
        "{json}"
    );

    let (status, json) = syncer.post("/job_status", "");
    assert_eq!(status, 200);
    assert!(
        json["error_msg"].as_str().unwrap().contains("EOF"),
        "{json}"
    );

    let (status, json) = syncer.post("/pause", r#"{"name": 5}"#);
    assert_eq!(status, 200);
    assert!(
        json["error_msg"]
            .as_str()
            .unwrap()
            .contains("invalid type: integer `5`"),
        "{json}"
    );

    let (status, json) = syncer.post("/update_job", r#"{"name": "j", "skip_error": "yes"}"#);
    assert_eq!(status, 200);
    assert!(
        json["error_msg"].as_str().unwrap().contains("invalid type"),
        "{json}"
    );

    // /create_ccr answers undecodable bodies with 400, like the reference.
    let (status, json) = syncer.post("/create_ccr", "not json");
    assert_eq!(status, 400);
    assert_eq!(json["success"], false);
    let (status, json) = syncer.post("/create_ccr", r#"{"name": "j", "src": {"port": true}}"#);
    assert_eq!(status, 400, "{json}");
    assert!(
        json["error_msg"].as_str().unwrap().contains("port"),
        "{json}"
    );

    let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let (status, json) = syncer.post("/pause", &huge);
    assert_eq!(status, 413);
    assert_eq!(json["success"], false);
    assert!(
        json["error_msg"].as_str().unwrap().contains("larger than"),
        "{json}"
    );

    let (status, json) = syncer.post("/no_such_route", "{}");
    assert_eq!(status, 404);
    assert_eq!(json["success"], false);

    // The service is still healthy after all of that.
    assert_eq!(syncer.post("/list_jobs", "").0, 200);
}

#[test]
fn create_ccr_validates_specs() {
    let (_dir, syncer) = start();
    let closed = free_port();
    let create = |body: Value| syncer.post("/create_ccr", &body.to_string()).1;

    let json = create(json!({"name": "", "src": spec(closed, "t"), "dest": spec(closed, "t")}));
    assert_eq!(json["error_msg"], "name is empty");

    let mut src = spec(closed, "t");
    src["host"] = json!("");
    let json = create(json!({"name": "j", "src": src, "dest": spec(closed, "t")}));
    assert_eq!(json["error_msg"], "src spec is invalid: host is empty");

    let mut dest = spec(closed, "t");
    dest["port"] = json!("port");
    let json = create(json!({"name": "j", "src": spec(closed, "t"), "dest": dest}));
    assert_eq!(
        json["error_msg"],
        "dest spec is invalid: port is invalid: \"port\""
    );

    let mut dest = spec(closed, "t");
    dest["user"] = json!("");
    let json = create(json!({"name": "j", "src": spec(closed, "t"), "dest": dest}));
    assert_eq!(json["error_msg"], "dest spec is invalid: user is empty");

    let json = create(json!({"name": "j", "src": spec(closed, "t"), "dest": spec(closed, "")}));
    assert_eq!(json["error_msg"], "src/dest are not both db or table sync");

    // Ports as JSON numbers are accepted; the unreachable cluster is reported clearly.
    let mut src = spec(closed, "t");
    src["port"] = json!(closed);
    src["thrift_port"] = json!(9020);
    let json = create(json!({"name": "j", "src": src, "dest": spec(closed, "t")}));
    assert_eq!(json["success"], false);
    let message = json["error_msg"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("cannot connect to Doris FE 127.0.0.1:{closed}")),
        "{message}"
    );

    // Nothing was stored by the failed attempts.
    assert_eq!(
        syncer.post("/list_jobs", "").1,
        json!({"success": true, "jobs": []})
    );
}

#[test]
fn get_and_put_reach_the_same_routes() {
    let (_dir, syncer) = start();
    let output = Command::new("curl")
        .args(["-s", &syncer.url("/version")])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["version"].is_string());
    let output = Command::new("curl")
        .args([
            "-s",
            "-X",
            "PUT",
            "-d",
            r#"{"name":"x"}"#,
            &syncer.url("/job_status"),
        ])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["error_msg"], "job x not exist");
}

#[test]
fn process_lifecycle() {
    let (dir, mut syncer) = start();

    // A second syncer on the same port is refused with a clear message.
    let db = dir.path().join("other.db");
    let output = Command::new(ccr_tests::binary("ccr_syncer"))
        .args([
            "--port",
            &syncer.port.to_string(),
            "--db_dir",
            db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{}", syncer.port)),
        "{stderr}"
    );

    // SIGTERM: a clean exit, logged.
    let status = syncer.stop();
    assert!(status.success(), "{status}");
    assert!(
        syncer.log().contains("ccr_syncer stopped"),
        "{}",
        syncer.log()
    );
}

#[test]
fn a_corrupt_sqlite_file_or_bad_ha_timings_stop_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ccr.db");
    std::fs::write(&db, "this is no SQLite database, it only has its name").unwrap();
    let port = free_port().to_string();
    let output = Command::new(ccr_tests::binary("ccr_syncer"))
        .args(["--port", &port, "--db_dir", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot open the metadata store") && stderr.contains("not a database"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The file is left as it was, for the operator to look at.
    assert_eq!(
        std::fs::read_to_string(&db).unwrap(),
        "this is no SQLite database, it only has its name"
    );

    let output = Command::new(ccr_tests::binary("ccr_syncer"))
        .args([
            "--port",
            &port,
            "--heartbeat_interval",
            "5s",
            "--dead_after",
            "8s",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--dead_after (8s) must be more than twice --heartbeat_interval (5s)"),
        "{stderr}"
    );
}

#[test]
fn command_line_errors() {
    let output = Command::new(ccr_tests::binary("ccr_syncer"))
        .args(["--db_type", "oracle"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("oracle"));

    let output = Command::new(ccr_tests::binary("ccr_syncer"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with(env!("CARGO_PKG_VERSION")));

    let output = Command::new(ccr_tests::binary("ccr_syncer"))
        .args(["-version"])
        .output()
        .unwrap();
    assert!(output.status.success(), "Go-style -version works too");

    // A metadata path below a regular file can never be created.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blocker"), "").unwrap();
    let output = Command::new(ccr_tests::binary("ccr_syncer"))
        .args([
            "--port",
            &free_port().to_string(),
            "--db_dir",
            dir.path().join("blocker/x.db").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot open the metadata store"));
}
