//! Host mapping end to end: clusters that advertise private names (`doris_sim
//! --advertise-domain`, names under `.invalid`, which never resolve) while listening on
//! 127.0.0.1, as clusters behind NAT or in Kubernetes do. The syncer reaches them, and the
//! target BEs reach the source BEs, only through `host_mapping` (per job, changed by
//! `/update_host_mapping`) or `--host_mapping_file`.

use crate::support;

use std::process::Command;

use serde_json::{json, Map, Value};
use support::{wait_job_status, wait_synced, Syncer, TestCluster, DB_PROPS, TABLE_PROPS};

const SRC_DOMAIN: &str = "src.private.invalid";
const DEST_DOMAIN: &str = "dst.private.invalid";
/// Loopback, but nothing listens there: the simulated nodes bind 127.0.0.1 only.
const WRONG_HOST: &str = "127.0.0.2";

/// A cluster whose FE and BEs report themselves as `fe.<domain>` / `be-<i>.<domain>`.
fn private_cluster(domain: &str) -> TestCluster {
    let mut config = doris_sim::launch::SimConfig::default();
    config.cluster.advertise_domain = Some(domain.to_owned());
    TestCluster::start_with(config)
}

/// The cluster's advertised hosts, every one mapped to `to`.
fn mapping_to(cluster: &TestCluster, to: &str) -> Map<String, Value> {
    let topology = cluster.doris().topology();
    std::iter::once(&topology.fe.host)
        .chain(topology.backends.iter().map(|be| &be.host))
        .map(|host| (host.clone(), json!(to)))
        .collect()
}

/// The cluster's BE hosts only, mapped to `to`.
fn backends_to(cluster: &TestCluster, to: &str) -> Map<String, Value> {
    cluster
        .doris()
        .topology()
        .backends
        .iter()
        .map(|be| (be.host.clone(), json!(to)))
        .collect()
}

fn source_with_table(table: &str) -> TestCluster {
    let src = private_cluster(SRC_DOMAIN);
    src.sql(&format!(
        "CREATE DATABASE src_db {DB_PROPS};
         CREATE TABLE src_db.{table} (id INT, v INT) UNIQUE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 3 {TABLE_PROPS};
         INSERT INTO src_db.{table} VALUES (1, 1), (2, 2);"
    ));
    src
}

/// `/create_ccr` body; `host_mapping` added to each side where given.
fn body(
    name: &str,
    src: &TestCluster,
    dest: &TestCluster,
    table: &str,
    mappings: Option<(Map<String, Value>, Map<String, Value>)>,
) -> Value {
    let mut body = support::job_body(name, src, table, dest, table);
    if let Some((src_mapping, dest_mapping)) = mappings {
        body["src"]["host_mapping"] = Value::Object(src_mapping);
        body["dest"]["host_mapping"] = Value::Object(dest_mapping);
    }
    body
}

/// `/validate`'s checks by id.
fn validate_checks(syncer: &Syncer, body: &Value) -> Map<String, Value> {
    let (status, answer) = syncer.post("/validate", &body.to_string());
    assert_eq!(status, 200, "{answer}");
    answer["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|check| (check["check"].as_str().unwrap().to_owned(), check.clone()))
        .collect()
}

fn update_host_mapping(syncer: &Syncer, body: Value) -> Value {
    let (status, answer) = syncer.post("/update_host_mapping", &body.to_string());
    assert_eq!(status, 200, "{answer}");
    answer
}

fn wait_failing_with(syncer: &Syncer, job: &str, needle: &str) {
    wait_job_status(
        syncer,
        job,
        &format!("job {job} to fail naming {needle}"),
        |status| {
            status["last_error"]
                .as_str()
                .is_some_and(|error| error.contains(needle))
        },
    );
}

#[test]
fn a_table_job_between_private_clusters_syncs_through_its_host_mapping() {
    let src = source_with_table("t");
    let dest = private_cluster(DEST_DOMAIN);
    let dir = tempfile::tempdir().unwrap();
    let mut syncer = Syncer::start_replicating(dir.path(), &[]);
    let tables = [("src_db.t", "dest_db.t")];

    // Unmapped, the private BE names cannot be reached: the checks say which and why.
    let refused = syncer.try_create_ccr(&body("hm", &src, &dest, "t", None));
    assert_eq!(refused["success"], false, "{refused}");
    let message = refused["error_msg"].as_str().unwrap();
    assert!(
        message.contains(".src.private.invalid") && message.contains("no host_mapping entry"),
        "{message}"
    );
    assert!(syncer.list_jobs().is_empty());

    let mappings = (
        mapping_to(&src, "127.0.0.1"),
        mapping_to(&dest, "127.0.0.1"),
    );
    // /validate says the same before anything is created: unmapped, the advertised names
    // do not resolve and the BEs cannot be reached; mapped, every check passes.
    let failed = validate_checks(&syncer, &body("hm", &src, &dest, "t", None));
    for check in [
        "hosts_resolvable",
        "source_backends_reachable",
        "source_be_binlog",
    ] {
        assert_eq!(failed[check]["ok"], false, "{check}: {}", failed[check]);
    }
    assert!(failed["hosts_resolvable"]["message"]
        .as_str()
        .unwrap()
        .contains(".src.private.invalid"));
    let passed = validate_checks(
        &syncer,
        &body("hm", &src, &dest, "t", Some(mappings.clone())),
    );
    for (check, outcome) in &passed {
        assert_eq!(outcome["ok"], true, "{check}: {outcome}");
    }
    syncer.create_ccr(&body("hm", &src, &dest, "t", Some(mappings.clone())));
    wait_synced(&syncer, "hm", &src, &dest, &tables);
    src.sql("INSERT INTO src_db.t VALUES (3, 3), (1, 10)");
    wait_synced(&syncer, "hm", &src, &dest, &tables);
    let detail = syncer.job_detail("hm");
    assert_eq!(
        detail["src"]["host_mapping"],
        Value::Object(mappings.0.clone())
    );
    assert_eq!(
        detail["dest"]["host_mapping"],
        Value::Object(mappings.1.clone())
    );

    // A wrong address for the target BEs: the running job fails, saying where it dialled.
    let answer = update_host_mapping(
        &syncer,
        json!({"name": "hm", "dest_host_mapping": backends_to(&dest, WRONG_HOST)}),
    );
    assert_eq!(answer, json!({"success": true}));
    src.sql("INSERT INTO src_db.t VALUES (4, 4)");
    wait_failing_with(
        &syncer,
        "hm",
        &format!("dialled as {WRONG_HOST} per host_mapping"),
    );
    assert_ne!(src.rows("src_db.t"), dest.rows("dest_db.t"));
    // Fixed, it recovers without a restart.
    update_host_mapping(
        &syncer,
        json!({"name": "hm", "dest_host_mapping": backends_to(&dest, "127.0.0.1")}),
    );
    wait_synced(&syncer, "hm", &src, &dest, &tables);
    assert_eq!(
        syncer.job_detail("hm")["dest"]["host_mapping"],
        Value::Object(mappings.1.clone())
    );

    // Persisted: after a restart the job still dials through it.
    syncer.stop();
    syncer.restart();
    assert_eq!(
        syncer.job_detail("hm")["src"]["host_mapping"],
        Value::Object(mappings.0.clone())
    );
    src.sql("INSERT INTO src_db.t VALUES (5, 5)");
    wait_synced(&syncer, "hm", &src, &dest, &tables);

    // An empty value deletes an entry.
    let be0 = dest.doris().topology().backends[0].host.clone();
    update_host_mapping(
        &syncer,
        json!({"name": "hm", "dest_host_mapping": {be0.clone(): ""}}),
    );
    let shown = syncer.job_detail("hm")["dest"]["host_mapping"].clone();
    assert!(shown.get(&be0).is_none(), "{shown}");
    assert_eq!(shown.as_object().unwrap().len(), mappings.1.len() - 1);
}

#[test]
fn update_host_mapping_refuses_bad_requests_with_the_error_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let syncer = Syncer::start_replicating(dir.path(), &[]);
    let mapping = json!({"a.private": "10.0.0.1"});
    for (request, expected) in [
        (
            json!({"name": "nope", "src_host_mapping": mapping}),
            "not exist",
        ),
        (json!({"src_host_mapping": mapping}), "name is empty"),
        (json!({"name": "nope"}), "host_mapping is empty"),
    ] {
        let answer = update_host_mapping(&syncer, request.clone());
        assert_eq!(answer["success"], false, "{request}: {answer}");
        let message = answer["error_msg"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{request}: {answer}");
    }
}

#[test]
fn a_database_job_fails_clearly_on_a_wrong_source_mapping_and_recovers() {
    let src = source_with_table("t");
    let dest = private_cluster(DEST_DOMAIN);
    let dir = tempfile::tempdir().unwrap();
    let syncer = Syncer::start_replicating(dir.path(), &[]);
    let tables = [("src_db.t", "dest_db.t")];
    let mappings = (
        mapping_to(&src, "127.0.0.1"),
        mapping_to(&dest, "127.0.0.1"),
    );
    let mut job = body("hmdb", &src, &dest, "", Some(mappings));
    // Even the FEs are given by their private names: SQL and Thrift dial them mapped.
    job["src"]["host"] = json!(src.doris().topology().fe.host);
    job["dest"]["host"] = json!(dest.doris().topology().fe.host);
    syncer.create_ccr(&job);
    wait_synced(&syncer, "hmdb", &src, &dest, &tables);
    src.sql("INSERT INTO src_db.t VALUES (3, 3)");
    wait_synced(&syncer, "hmdb", &src, &dest, &tables);

    // The target BEs are handed the source BEs' mapped address, so a wrong one fails their
    // downloads (the syncer itself never dials source BEs).
    update_host_mapping(
        &syncer,
        json!({"name": "hmdb", "src_host_mapping": backends_to(&src, WRONG_HOST)}),
    );
    src.sql("INSERT INTO src_db.t VALUES (4, 4)");
    wait_failing_with(&syncer, "hmdb", WRONG_HOST);
    update_host_mapping(
        &syncer,
        json!({"name": "hmdb", "src_host_mapping": backends_to(&src, "127.0.0.1")}),
    );
    wait_synced(&syncer, "hmdb", &src, &dest, &tables);
}

#[test]
fn a_host_mapping_file_serves_every_job_and_a_job_mapping_wins_over_it() {
    let src = source_with_table("t");
    let dest = private_cluster(DEST_DOMAIN);
    let dir = tempfile::tempdir().unwrap();
    let mut file = String::from("# hosts.properties: advertised host = host to dial\n\n");
    for (host, _) in mapping_to(&src, "127.0.0.1") {
        file.push_str(&format!("SOURCE_{host}=127.0.0.1\n"));
    }
    // Wrong in the file, right in the job: the job's entry is the one dialled.
    for (host, _) in mapping_to(&dest, WRONG_HOST) {
        file.push_str(&format!("TARGET_{host} = {WRONG_HOST}\n"));
    }
    let path = dir.path().join("hosts.properties");
    std::fs::write(&path, file).unwrap();
    let syncer =
        Syncer::start_replicating(dir.path(), &["--host_mapping_file", path.to_str().unwrap()]);
    let mut job = body("hmfile", &src, &dest, "t", None);
    job["dest"]["host_mapping"] = Value::Object(mapping_to(&dest, "127.0.0.1"));
    syncer.create_ccr(&job);
    let tables = [("src_db.t", "dest_db.t")];
    wait_synced(&syncer, "hmfile", &src, &dest, &tables);
    src.sql("INSERT INTO src_db.t VALUES (3, 3)");
    wait_synced(&syncer, "hmfile", &src, &dest, &tables);
    // The file's entries are not copied into the job.
    assert!(syncer.job_detail("hmfile")["src"]
        .get("host_mapping")
        .is_none());
}

#[test]
fn a_malformed_host_mapping_file_stops_the_start_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hosts.properties");
    std::fs::write(&path, "# ok\nSOURCE_a=10.0.0.1\nfe.private=10.0.0.2\n").unwrap();
    let output = Command::new(ccr_tests::binary("ccr_syncer"))
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &support::free_port().to_string(),
            "--db_dir",
            dir.path().join("ccr.db").to_str().unwrap(),
            "--host_mapping_file",
            path.to_str().unwrap(),
        ])
        .output()
        .expect("run ccr_syncer");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--host_mapping_file") && stderr.contains("line 3"),
        "{stderr}"
    );
}

#[test]
fn in_ha_an_update_reaches_the_owner_and_its_running_job() {
    let src = source_with_table("t");
    let dest = private_cluster(DEST_DOMAIN);
    let database = support::MariaDbDatabase::new();
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let flags = [
        "--idle_poll_interval",
        "100ms",
        "--connect_timeout",
        "2s",
        "--rpc_timeout",
        "5s",
    ];
    let owner = support::mysql_syncer_with(&dirs.0, &database.0, &flags);
    let other = support::mysql_syncer_with(&dirs.1, &database.0, &flags);
    let tables = [("src_db.t", "dest_db.t")];
    let mappings = (
        mapping_to(&src, "127.0.0.1"),
        mapping_to(&dest, "127.0.0.1"),
    );
    // Placed on the syncer asked while loads are equal.
    owner.create_ccr(&body("hmha", &src, &dest, "t", Some(mappings)));
    wait_synced(&owner, "hmha", &src, &dest, &tables);

    let broken = json!({"name": "hmha", "dest_host_mapping": backends_to(&dest, WRONG_HOST)});
    // Not the owner: the reference's redirect, or the owner's own answer when forwarded.
    let (code, _) = other.post_raw("/update_host_mapping", &broken.to_string());
    assert_eq!(code, 303);
    let (code, answer) = other.post_raw("/update_host_mapping?forward=1", &broken.to_string());
    assert_eq!((code, answer.as_str()), (200, r#"{"success":true}"#));
    src.sql("INSERT INTO src_db.t VALUES (3, 3)");
    wait_failing_with(
        &owner,
        "hmha",
        &format!("dialled as {WRONG_HOST} per host_mapping"),
    );
    let fixed = json!({"name": "hmha", "dest_host_mapping": backends_to(&dest, "127.0.0.1")});
    let (code, answer) = other.post_raw("/update_host_mapping?forward=1", &fixed.to_string());
    assert_eq!((code, answer.as_str()), (200, r#"{"success":true}"#));
    wait_synced(&owner, "hmha", &src, &dest, &tables);
}
