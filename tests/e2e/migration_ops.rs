//! The operator features of a migration: one-time jobs (`mode: once`), the target disk
//! guard, and the progress report.

use crate::support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{job_body, wait_job_status, wait_synced, wait_until, Replication, CATCH_UP};

const TABLE: &str = "DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2";

fn setup(tables: &[&str]) -> String {
    tables
        .iter()
        .map(|t| {
            format!(
                "CREATE TABLE src_db.{t} (id INT, v INT) {TABLE} {};
                 INSERT INTO src_db.{t} VALUES (1, 10), (2, 20);",
                support::TABLE_PROPS
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn once_body(replication: &Replication, name: &str, table: &str) -> Value {
    let mut body = job_body(name, &replication.src, table, &replication.dest, table);
    body["mode"] = json!("once");
    body
}

#[test]
fn a_one_time_job_copies_the_data_leaves_the_target_writable_and_stays_done() {
    let mut replication = Replication::start(&setup(&["t"]));
    let answer = replication.syncer.try_create_ccr(&{
        let mut body = once_body(&replication, "bad_mode", "t");
        body["mode"] = json!("one_time");
        body
    });
    assert_eq!(answer["success"], false, "{answer}");
    let message = answer["error_msg"].as_str().unwrap();
    assert!(message.contains(r#"unknown mode "one_time""#), "{message}");
    let mut bad = once_body(&replication, "bad_mode", "t");
    bad["mode"] = json!("one_time");
    let report = replication.syncer.call("/validate", &bad);
    assert_eq!(report["ok"], false, "{report}");
    let spec = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "spec")
        .unwrap();
    assert!(
        spec["message"].as_str().unwrap().contains("unknown mode"),
        "{report}"
    );
    let good = replication
        .syncer
        .call("/validate", &once_body(&replication, "migrate_t", "t"));
    assert_eq!(good["ok"], true, "{good}");

    let body = once_body(&replication, "migrate_t", "t");
    replication.syncer.create_ccr(&body);
    let syncer = &replication.syncer;
    wait_job_status(syncer, "migrate_t", "the one-time copy to finish", |s| {
        s["state"] == "done"
    });
    let (src, dest) = (&replication.src, &replication.dest);
    assert_eq!(dest.rows("dest_db.t"), src.rows("src_db.t"));
    let status = syncer.job_status("migrate_t");
    assert_eq!(status["progress_state"], "Done", "{status}");
    let copied_at = status["prev_commit_seq"].as_i64().unwrap();
    assert!(copied_at > 0, "the snapshot's commit seq: {status}");
    let ddl = dest.sql("SHOW CREATE TABLE dest_db.t");
    assert!(ddl.contains(r#""is_being_synced" = "false""#), "{ddl}");
    assert_eq!(syncer.job_progress("migrate_t")["done"], true);
    assert_eq!(syncer.job_detail("migrate_t")["mode"], "once");
    let listed = syncer.call("/list_jobs", &json!({"detail": true}));
    assert_eq!(listed["jobs"][0]["state"], "done", "{listed}");
    let summary = syncer.call("/job_progress", &json!({"name": "migrate_t"}))["summary"].clone();
    assert!(
        summary.as_str().unwrap().starts_with(&format!(
            "table job, done (one-time copy up to commit seq {copied_at}), 1 table copied"
        )),
        "{summary}"
    );

    let (status, resumed) = syncer.post("/resume", r#"{"name":"migrate_t"}"#);
    assert_eq!(status, 200);
    assert_eq!(resumed["success"], false, "{resumed}");
    assert!(
        resumed["error_msg"].as_str().unwrap().contains("is done"),
        "{resumed}"
    );

    // New source rows stay on the source, also across a restart: the job is done.
    src.sql("INSERT INTO src_db.t VALUES (3, 30)");
    replication.syncer.stop();
    replication.syncer.restart();
    let syncer = &replication.syncer;
    wait_job_status(syncer, "migrate_t", "the job to load as done", |s| {
        s["state"] == "done" && s["progress_state"] == "Done"
    });
    assert_eq!(dest.rows("dest_db.t"), "1\t10\n2\t20\n");
    assert_eq!(syncer.job_status("migrate_t")["prev_commit_seq"], copied_at);
    syncer.delete("migrate_t");
    assert!(syncer.list_jobs().is_empty());
}

#[test]
fn a_full_target_disk_holds_the_restore_and_the_replay_until_it_drains() {
    let replication = Replication::start_with(
        &setup(&["t"]),
        // Read the usage at every check, so the test sees each change at once.
        &["--target_disk_check_interval", "0s"],
    );
    let (src, dest, syncer) = (&replication.src, &replication.dest, &replication.syncer);
    dest.set_disk_usage(95.0);
    replication.create_job("guarded", "t", "t");
    wait_job_status(
        syncer,
        "guarded",
        "the job to hold before its restore",
        |s| {
            s["waiting_for"]
                .as_str()
                .is_some_and(|w| w.contains("95.00 %") && w.contains("80"))
        },
    );
    let status = syncer.job_status("guarded");
    assert_eq!(status["progress_state"], "TableFullSync", "{status}");
    assert_eq!(status["sub_state"], "RestoreSnapshot", "{status}");
    assert!(
        !dest
            .sql("SHOW TABLES FROM dest_db")
            .lines()
            .any(|l| l == "t"),
        "no restore yet"
    );
    let gauge = r#"ccr_syncer_job_target_disk_full{job="guarded"} 1"#;
    assert!(syncer.metrics().contains(gauge), "{}", syncer.metrics());

    dest.set_disk_usage(10.0);
    wait_synced(syncer, "guarded", src, dest, &[("src_db.t", "dest_db.t")]);
    assert!(syncer.job_status("guarded").get("waiting_for").is_none());
    assert!(syncer
        .metrics()
        .contains(r#"ccr_syncer_job_target_disk_full{job="guarded"} 0"#));

    // During replay: the new rows wait on the source while the disk is full.
    dest.set_disk_usage(95.0);
    src.sql("INSERT INTO src_db.t VALUES (3, 30)");
    wait_job_status(syncer, "guarded", "ingest to hold", |s| {
        s["waiting_for"]
            .as_str()
            .is_some_and(|w| w.contains("95.00 %"))
    });
    let held = dest.rows("dest_db.t");
    assert!(
        syncer.job_status("guarded")["waiting_for"].is_string(),
        "still holding after the target was read"
    );
    assert_eq!(held, "1\t10\n2\t20\n", "nothing applied while holding");
    dest.set_disk_usage(10.0);
    wait_synced(syncer, "guarded", src, dest, &[("src_db.t", "dest_db.t")]);
    assert_eq!(dest.rows("dest_db.t"), "1\t10\n2\t20\n3\t30\n");
    let warnings = syncer
        .log()
        .matches("a target BE's disk is fuller than allowed")
        .count();
    assert_eq!(warnings, 2, "one WARN line per episode");

    syncer.delete("guarded");
    assert!(!syncer
        .metrics()
        .contains("ccr_syncer_job_target_disk_full{"));
}

#[test]
fn the_progress_report_counts_jobs_and_tables_and_job_progress_sums_up() {
    let replication = Replication::start_with(&setup(&["a", "b"]), &["--report_interval", "1"]);
    let syncer = &replication.syncer;
    replication.create_job("continuous_a", "a", "a");
    syncer.create_ccr(&once_body(&replication, "once_b", "b"));
    wait_synced(
        syncer,
        "continuous_a",
        &replication.src,
        &replication.dest,
        &[("src_db.a", "dest_db.a")],
    );
    wait_job_status(syncer, "once_b", "the copy to finish", |s| {
        s["state"] == "done"
    });
    let expected = "jobs=2 running=1 paused=0 done=1 failing=0 needing_operator=0 \
                    tables_synced=1 tables_being_synced=0 tables_waiting=0 tables_copied=1 \
                    lag_binlogs=0 lag_seconds=0 furthest_behind=none";
    wait_until("a progress report with both jobs", CATCH_UP, || {
        let log = syncer.log();
        let reports: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("progress report"))
            .collect();
        if reports.iter().any(|l| l.contains(expected)) {
            Ok(())
        } else {
            Err(format!("{:?}", reports.last()))
        }
    });

    let answer = syncer.call("/job_progress", &json!({"name": "continuous_a"}));
    assert!(answer["job_progress"].is_string(), "{answer}");
    let summary = answer["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(
            "table job, incremental sync, 1 table synced, lag 0 binlogs (0 s), last full sync "
        ) && summary.ends_with("(the job was created)"),
        "{summary}"
    );

    // Pausing shows in the next report.
    syncer.pause("continuous_a");
    wait_until(
        "a report with the job paused",
        Duration::from_secs(30),
        || {
            let log = syncer.log();
            match log.lines().rev().find(|l| l.contains("progress report")) {
                Some(line) if line.contains("running=0 paused=1 done=1") => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    );
}

#[test]
fn a_one_time_database_job_copies_every_table_and_releases_them() {
    let replication = Replication::start(&setup(&["a", "b"]));
    let mut body = job_body("migrate_db", &replication.src, "", &replication.dest, "");
    body["mode"] = json!("once");
    let syncer = &replication.syncer;
    syncer.create_ccr(&body);
    wait_job_status(syncer, "migrate_db", "the one-time copy to finish", |s| {
        s["state"] == "done"
    });
    for table in ["a", "b"] {
        let (src_table, dest_table) = (format!("src_db.{table}"), format!("dest_db.{table}"));
        assert_eq!(
            replication.dest.rows(&dest_table),
            replication.src.rows(&src_table)
        );
        let ddl = replication
            .dest
            .sql(&format!("SHOW CREATE TABLE {dest_table}"));
        assert!(ddl.contains(r#""is_being_synced" = "false""#), "{ddl}");
    }
    let status = syncer.job_status("migrate_db");
    assert_eq!(status["tables"], 2, "{status}");
}
