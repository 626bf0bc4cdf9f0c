//! `/verify` and `--verify_interval` end to end: the real `ccr_syncer` binary between two
//! simulated clusters, each computing its own row counts and checksums in SQL.

use crate::support;

use serde_json::{json, Value};
use support::{
    job_body, wait_job_status, wait_synced, wait_until, Replication, Syncer, CATCH_UP, TABLE_PROPS,
};

/// A unique key table in three range partitions and three buckets, with a nullable string.
fn partitioned_table(name: &str) -> String {
    format!(
        "CREATE TABLE src_db.{name} (id INT, name VARCHAR(32), amount DECIMAL(10,2), note STRING)
           UNIQUE KEY(id)
           PARTITION BY RANGE(id) (PARTITION p1 VALUES LESS THAN (\"100\"),
             PARTITION p2 VALUES LESS THAN (\"200\"), PARTITION p3 VALUES LESS THAN (\"300\"))
           DISTRIBUTED BY HASH(id) BUCKETS 3 {TABLE_PROPS}"
    )
}

/// `/verify` of `job` with the `extra` keys; the whole answer (asserted `success`).
fn verify(syncer: &Syncer, job: &str, extra: Value) -> Value {
    let mut body = json!({ "name": job });
    for (key, value) in extra.as_object().into_iter().flatten() {
        body[key] = value.clone();
    }
    let (status, answer) = syncer.post("/verify", &body.to_string());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["success"], true, "{answer}");
    answer
}

/// The entry of source table `table` in a `/verify` answer.
fn table_entry<'a>(answer: &'a Value, table: &str) -> &'a Value {
    answer["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == table)
        .unwrap_or_else(|| panic!("no entry for {table}: {answer}"))
}

fn differences(entry: &Value) -> Vec<String> {
    entry["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect()
}

/// Asserts one table verified `ok` in `answer`.
fn assert_all_ok(answer: &Value, tables: usize) {
    assert_eq!(
        answer["summary"],
        json!({"tables": tables, "ok": tables, "mismatch": 0, "unstable": 0, "error": 0}),
        "{answer}"
    );
}

#[test]
fn a_table_job_verifies_ok_then_names_each_change_made_on_the_target() {
    let replication = Replication::start(&partitioned_table("t"));
    let Replication {
        src, dest, syncer, ..
    } = &replication;
    src.sql(
        "INSERT INTO src_db.t VALUES (1, 'añb', 1.50, NULL), (2, NULL, NULL, ''), (3, '', 0.00, 'n'),
           (150, '日本語', 99.99, 'v'), (151, 'x', -1.25, NULL), (250, 'émoji 🎉', 3.00, 'z');",
    );
    replication.create_job("tj", "t", "t");
    wait_synced(syncer, "tj", src, dest, &[("src_db.t", "dest_db.t")]);
    let answer = verify(syncer, "tj", json!({"partitions": true}));
    assert_all_ok(&answer, 1);
    let entry = table_entry(&answer, "t");
    assert_eq!(entry["target_table"], "t");
    assert_eq!(
        entry["partitions"],
        json!([
            {"name": "p1", "result": "ok", "source_rows": 3, "target_rows": 3},
            {"name": "p2", "result": "ok", "source_rows": 2, "target_rows": 2},
            {"name": "p3", "result": "ok", "source_rows": 1, "target_rows": 1},
        ]),
        "{answer}"
    );

    // Incremental loads, an upsert and a delete replayed: still equal.
    src.sql(
        "INSERT INTO src_db.t VALUES (4, 'ü', 2.00, NULL), (152, NULL, 7.00, 'w');
         INSERT INTO src_db.t VALUES (1, 'añb2', 1.50, 'changed');
         DELETE FROM src_db.t WHERE id = 3;",
    );
    wait_synced(syncer, "tj", src, dest, &[("src_db.t", "dest_db.t")]);
    assert_all_ok(&verify(syncer, "tj", json!({})), 1);

    // A row inserted on the target alone.
    dest.sql("INSERT INTO dest_db.t VALUES (5, 'stray', 1.00, NULL);");
    let answer = verify(syncer, "tj", json!({"partitions": true}));
    assert_eq!(answer["summary"]["mismatch"], 1, "{answer}");
    let entry = table_entry(&answer, "t");
    assert_eq!(entry["result"], "mismatch");
    assert_eq!(
        differences(entry),
        vec![
            "row count 7 vs 8",
            "row count differs in partition p1: 3 vs 4"
        ],
        "{answer}"
    );
    assert_eq!(entry["partitions"][0]["result"], "mismatch");
    assert_eq!(entry["partitions"][1]["result"], "ok");
    dest.sql("DELETE FROM dest_db.t WHERE id = 5;");
    assert_all_ok(&verify(syncer, "tj", json!({})), 1);

    // A row changed on the target: same count, other checksum.
    dest.sql("UPDATE dest_db.t SET amount = 99.98 WHERE id = 150;");
    let answer = verify(syncer, "tj", json!({}));
    assert_eq!(
        differences(table_entry(&answer, "t")),
        vec!["checksum differs in partition p2"],
        "{answer}"
    );
    // NULL and the empty string are different values.
    dest.sql(
        "INSERT INTO dest_db.t VALUES (150, '日本語', 99.99, 'v');
         INSERT INTO dest_db.t VALUES (2, NULL, NULL, NULL);",
    );
    let answer = verify(syncer, "tj", json!({}));
    assert_eq!(
        differences(table_entry(&answer, "t")),
        vec!["checksum differs in partition p1"],
        "{answer}"
    );
    dest.sql("INSERT INTO dest_db.t VALUES (2, NULL, NULL, '');");
    assert_all_ok(&verify(syncer, "tj", json!({})), 1);

    // A partition dropped on the target.
    dest.sql("ALTER TABLE dest_db.t DROP PARTITION p3 FORCE;");
    let answer = verify(syncer, "tj", json!({}));
    assert_eq!(
        differences(table_entry(&answer, "t")),
        vec!["row count 7 vs 6", "partition p3 missing on target"],
        "{answer}"
    );
    assert_eq!(answer["summary"]["mismatch"], 1);
}

#[test]
fn a_db_job_verifies_every_replicated_table_under_its_filters() {
    let replication = Replication::start(&format!(
        "{}; CREATE TABLE src_db.`select` (`key` INT, `from` VARCHAR(8)) DUPLICATE KEY(`key`)
           DISTRIBUTED BY HASH(`key`) BUCKETS 2 {TABLE_PROPS};
         CREATE TABLE src_db.skipped (id INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1 {TABLE_PROPS};
         INSERT INTO src_db.orders VALUES (1, 'a', 1.00, NULL), (120, 'ß', 2.00, 'x');
         INSERT INTO src_db.`select` VALUES (1, 'é'), (1, 'é'), (2, NULL);
         INSERT INTO src_db.skipped VALUES (1);",
        partitioned_table("orders")
    ));
    let Replication {
        src, dest, syncer, ..
    } = &replication;
    let mut body = job_body("dbj", src, "", dest, "");
    body["exclude_tables"] = json!(["skipped"]);
    syncer.create_ccr(&body);
    let tables = [
        ("src_db.orders", "dest_db.orders"),
        ("src_db.`select`", "dest_db.`select`"),
    ];
    wait_synced(syncer, "dbj", src, dest, &tables);
    let answer = verify(syncer, "dbj", json!({}));
    assert_all_ok(&answer, 2);
    assert_eq!(table_entry(&answer, "select")["target_table"], "select");

    src.sql(
        "INSERT INTO src_db.orders VALUES (260, 'new', 5.00, NULL);
         INSERT INTO src_db.`select` VALUES (3, 'ü');",
    );
    wait_synced(syncer, "dbj", src, dest, &tables);
    assert_all_ok(&verify(syncer, "dbj", json!({})), 2);

    // A duplicate row on the target of a duplicate key table: only that table differs.
    dest.sql("INSERT INTO dest_db.`select` VALUES (3, 'ü');");
    let answer = verify(syncer, "dbj", json!({}));
    assert_eq!(
        answer["summary"],
        json!({"tables": 2, "ok": 1, "mismatch": 1, "unstable": 0, "error": 0}),
        "{answer}"
    );
    assert_eq!(
        differences(table_entry(&answer, "select")),
        vec!["row count 4 vs 5"]
    );
    assert_eq!(table_entry(&answer, "orders")["result"], "ok");

    // A chosen table only; a table the job does not replicate is an error entry.
    let answer = verify(syncer, "dbj", json!({"tables": ["orders", "skipped"]}));
    assert_eq!(
        answer["summary"],
        json!({"tables": 2, "ok": 1, "mismatch": 0, "unstable": 0, "error": 1}),
        "{answer}"
    );
    assert_eq!(table_entry(&answer, "skipped")["result"], "error");
}

#[test]
fn writes_during_verification_mean_a_re_check_or_unstable_never_a_false_mismatch() {
    let replication = Replication::start(&format!(
        "CREATE TABLE src_db.t (id INT, v VARCHAR(8)) UNIQUE KEY(id)
           DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS};
         INSERT INTO src_db.t VALUES (1, 'a'), (2, NULL);"
    ));
    let Replication {
        src, dest, syncer, ..
    } = &replication;
    replication.create_job("wj", "t", "t");
    wait_synced(syncer, "wj", src, dest, &[("src_db.t", "dest_db.t")]);

    // The target holds the job's next commit: it lags behind a source write.
    let held = dest.add_fault(json!({"rpc": "commitTxn", "action": "hang", "max_millis": 60000}));
    src.sql("INSERT INTO src_db.t VALUES (3, 'c');");
    dest.wait_fault_held(held, "the job's commitTxn");
    let answer = verify(syncer, "wj", json!({"catch_up_timeout_secs": 1}));
    let entry = table_entry(&answer, "t");
    assert_eq!(entry["result"], "unstable", "{answer}");
    assert_eq!(
        differences(entry),
        vec!["the job did not catch up with the source within 1s"]
    );
    assert_eq!(answer["summary"]["mismatch"], 0);
    dest.release_fault(held);

    // The source changes between the two reads of its versions (its checksum query is held
    // while a row arrives): the table is read again once the job caught up, and is equal.
    let checksum =
        src.add_fault(json!({"sql": "murmur_hash3_64", "action": "hang", "max_millis": 60000}));
    let url = syncer.url("/verify");
    let verifying = std::thread::spawn(move || {
        support::curl_post_with_timeout(&url, r#"{"name":"wj"}"#, 120).expect("/verify answers")
    });
    src.wait_fault_held(checksum, "the source checksum");
    src.sql("INSERT INTO src_db.t VALUES (4, 'd');");
    src.release_fault(checksum);
    let (status, text) = verifying.join().unwrap();
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let entry = table_entry(&answer, "t");
    assert_eq!(entry["result"], "ok", "{answer}");
    assert_eq!(entry["attempts"], 2, "{answer}");
}

#[test]
fn verify_interval_sets_the_metrics_and_the_status_line() {
    let replication = Replication::start_with(
        &format!(
            "CREATE TABLE src_db.t (id INT, v VARCHAR(8)) UNIQUE KEY(id)
               DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS};
             INSERT INTO src_db.t VALUES (1, 'a');"
        ),
        &["--verify_interval", "1"],
    );
    let Replication {
        src, dest, syncer, ..
    } = &replication;
    replication.create_job("ij", "t", "t");
    wait_synced(syncer, "ij", src, dest, &[("src_db.t", "dest_db.t")]);
    let series = |name: &str| -> Option<f64> {
        let prefix = format!("{name}{{job=\"ij\"}} ");
        syncer
            .metrics()
            .lines()
            .find_map(|line| line.strip_prefix(&prefix).map(|v| v.parse().unwrap()))
    };
    wait_job_status(syncer, "ij", "a periodic verification", |s| {
        s["last_verification"]["ok"] == 1
    });
    wait_until("the verification metrics", CATCH_UP, || {
        match (
            series("ccr_syncer_job_verify_mismatch_tables"),
            series("ccr_syncer_job_last_verify_timestamp_seconds"),
        ) {
            (Some(mismatch), Some(at)) if mismatch == 0.0 && at > 0.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });

    dest.sql("INSERT INTO dest_db.t VALUES (9, 'stray');");
    wait_job_status(
        syncer,
        "ij",
        "a verification that finds the stray row",
        |s| {
            s["last_verification"]["mismatch"] == 1
                && s["last_verification"]["mismatched_tables"] == json!(["t"])
        },
    );
    wait_until("the mismatch gauge", CATCH_UP, || {
        match series("ccr_syncer_job_verify_mismatch_tables") {
            Some(1.0) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    assert!(syncer.job_status("ij")["last_verification"]["time"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));

    // A deleted job's series go with it.
    syncer.delete("ij");
    assert_eq!(series("ccr_syncer_job_verify_mismatch_tables"), None);
    assert_eq!(series("ccr_syncer_job_last_verify_timestamp_seconds"), None);
}
