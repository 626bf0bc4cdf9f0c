//! Table-level replication end to end: the real `ccr_syncer` binary between two simulated
//! clusters, driven with curl and the mariadb CLI as an operator would.

use crate::support;

use std::time::Duration;

use serde_json::json;
use support::{
    back_to_back, job_body, wait_converged, wait_job_status, wait_synced, wait_until, Replication,
    Syncer, TestCluster, CATCH_UP, TABLE_PROPS,
};

/// Waits until `job` is caught up and `src_db.<table>` and `dest_db.<table>` hold the
/// same rows.
fn wait_table_synced(
    syncer: &Syncer,
    job: &str,
    src: &TestCluster,
    dest: &TestCluster,
    table: &str,
) {
    let (src_table, dest_table) = (format!("src_db.{table}"), format!("dest_db.{table}"));
    wait_synced(syncer, job, src, dest, &[(&src_table, &dest_table)]);
}

/// `CREATE TABLE src_db.<name> (id INT, v INT) <key>` in `buckets` buckets.
fn id_v_table(name: &str, key: &str, buckets: u32) -> String {
    format!(
        "CREATE TABLE src_db.{name} (id INT, v INT) {key} DISTRIBUTED BY HASH(id) BUCKETS {buckets} {TABLE_PROPS}"
    )
}

/// A [`Replication`] of `setup` whose job `job` replicates `src_db.<table>` into
/// `dest_db.<table>`, synced.
fn synced_job(job: &str, table: &str, setup: &str, syncer_args: &[&str]) -> Replication {
    let replication = Replication::start_with(setup, syncer_args);
    replication.create_job(job, table, table);
    let Replication {
        src, dest, syncer, ..
    } = &replication;
    wait_table_synced(syncer, job, src, dest, table);
    replication
}

#[test]
fn key_models_replicate_full_then_incremental() {
    let (src, dest, syncer, _dir) = Replication::start(&format!(
        "CREATE TABLE src_db.u (id INT, v VARCHAR(20)) UNIQUE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 3 {TABLE_PROPS};
         CREATE TABLE src_db.a (k INT, total BIGINT SUM, hi INT MAX, lo INT MIN, last VARCHAR(10) REPLACE)
           AGGREGATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 2 {TABLE_PROPS};
         CREATE TABLE src_db.d (id INT, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS};"
    ))
    .into_parts();
    // Rows before the job exist: the full sync carries them.
    src.sql(
        "INSERT INTO src_db.u VALUES (1, 'a'), (2, 'b');
         INSERT INTO src_db.a VALUES (1, 10, 5, 5, 'x'), (2, 1, 1, 1, 'y');
         INSERT INTO src_db.d VALUES (1, 1), (1, 1);",
    );
    for table in ["u", "a", "d"] {
        syncer.create_ccr(&job_body(
            &format!("job_{table}"),
            &src,
            table,
            &dest,
            table,
        ));
    }
    for table in ["u", "a", "d"] {
        wait_table_synced(&syncer, &format!("job_{table}"), &src, &dest, table);
    }
    // Incremental: each key model's semantics must survive replay.
    src.sql(
        "INSERT INTO src_db.u VALUES (1, 'a2'), (3, 'c');
         INSERT INTO src_db.a VALUES (1, 5, 9, 2, 'z'), (3, 7, 7, 7, 'w');
         INSERT INTO src_db.d VALUES (1, 1), (2, 2);
         DELETE FROM src_db.u WHERE id = 2;",
    );
    for table in ["u", "a", "d"] {
        wait_table_synced(&syncer, &format!("job_{table}"), &src, &dest, table);
    }
    assert_eq!(dest.rows("dest_db.u"), "1\ta2\n3\tc\n");
    assert_eq!(
        dest.rows("dest_db.a"),
        "1\t15\t9\t2\tz\n2\t1\t1\t1\ty\n3\t7\t7\t7\tw\n"
    );
    assert_eq!(dest.rows("dest_db.d"), "1\t1\n1\t1\n1\t1\n2\t2\n");
    let status = syncer.job_status("job_u");
    assert_eq!(status["progress_state"], "TableIncrementalSync", "{status}");
    assert!(status.get("last_error").is_none(), "{status}");
    // Caught up: nothing left to replicate.
    assert_eq!(syncer.lag("job_u"), 0);
    let ddl = dest.sql("SHOW CREATE TABLE dest_db.u");
    assert!(ddl.contains(r#""is_being_synced" = "true""#), "{ddl}");
}

#[test]
fn alias_partitions_and_table_ddl() {
    let (src, dest, syncer, _dir) = Replication::start(&format!(
        "CREATE TABLE src_db.events (id INT, day INT, note VARCHAR(20)) DUPLICATE KEY(id)
         PARTITION BY RANGE(day) (PARTITION p1 VALUES LESS THAN (10), PARTITION p2 VALUES LESS THAN (20),
                                  PARTITION p3 VALUES LESS THAN (30))
         DISTRIBUTED BY HASH(id) BUCKETS 3 {TABLE_PROPS}"
    )).into_parts();
    src.sql("INSERT INTO src_db.events VALUES (1, 5, 'a'), (2, 15, 'b'), (3, 25, 'c')");
    syncer.create_ccr(&job_body("events_dr", &src, "events", &dest, "events_copy"));
    wait_synced(
        &syncer,
        "events_dr",
        &src,
        &dest,
        &[("src_db.events", "dest_db.events_copy")],
    );

    src.sql(
        "INSERT INTO src_db.events VALUES (4, 6, 'd'), (5, 16, 'e');
         ALTER TABLE src_db.events ADD PARTITION p4 VALUES LESS THAN (40);
         INSERT INTO src_db.events VALUES (6, 35, 'f');
         ALTER TABLE src_db.events DROP PARTITION p1;
         ALTER TABLE src_db.events ADD COLUMN extra INT DEFAULT '7';
         INSERT INTO src_db.events VALUES (7, 17, 'g', 1);",
    );
    wait_synced(
        &syncer,
        "events_dr",
        &src,
        &dest,
        &[("src_db.events", "dest_db.events_copy")],
    );
    let partitions = |cluster: &TestCluster, table: &str| -> Vec<String> {
        cluster
            .sql(&format!("SHOW PARTITIONS FROM {table}"))
            .lines()
            .map(|l| l.split('\t').nth(1).unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        partitions(&dest, "dest_db.events_copy"),
        vec!["p2", "p3", "p4"]
    );
    src.sql("TRUNCATE TABLE src_db.events PARTITION (p2); INSERT INTO src_db.events VALUES (8, 36, 'h', 2);");
    wait_synced(
        &syncer,
        "events_dr",
        &src,
        &dest,
        &[("src_db.events", "dest_db.events_copy")],
    );
    src.sql("TRUNCATE TABLE src_db.events");
    wait_synced(
        &syncer,
        "events_dr",
        &src,
        &dest,
        &[("src_db.events", "dest_db.events_copy")],
    );
    assert_eq!(dest.sql("SELECT count(*) FROM dest_db.events_copy"), "0\n");
}

#[test]
fn pause_resume_desync_delete() {
    let (src, dest, syncer, _dir) = synced_job(
        "j",
        "t",
        &format!(
            "{}; INSERT INTO src_db.t VALUES (1, 1)",
            id_v_table("t", "UNIQUE KEY(id)", 2)
        ),
        &[],
    )
    .into_parts();

    syncer.pause("j");
    assert_eq!(syncer.job_status("j")["state"], "paused");
    src.sql("INSERT INTO src_db.t VALUES (2, 2)");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        dest.rows("dest_db.t"),
        "1\t1\n",
        "nothing moves while paused"
    );
    assert!(syncer.lag("j") >= 1);
    syncer.resume("j");
    wait_table_synced(&syncer, "j", &src, &dest, "t");

    syncer.desync("j");
    assert!(dest
        .sql("SHOW CREATE TABLE dest_db.t")
        .contains(r#""is_being_synced" = "false""#));

    syncer.delete("j");
    src.sql("INSERT INTO src_db.t VALUES (3, 3)");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        dest.rows("dest_db.t"),
        "1\t1\n2\t2\n",
        "a deleted job replicates nothing; target data stays"
    );
}

#[test]
fn restart_mid_stream_and_kill_at_each_transaction_step() {
    let (src, dest, mut syncer, _dir) = synced_job(
        "d",
        "d",
        &format!(
            "{}; INSERT INTO src_db.d VALUES (0, 0)",
            id_v_table("d", "DUPLICATE KEY(id)", 2)
        ),
        &[],
    )
    .into_parts();
    let full_sync_at = syncer.job_progress("d")["full_sync_start_at"].clone();

    // Graceful restart in the middle of a stream of inserts.
    for i in 1..=5 {
        src.sql(&format!("INSERT INTO src_db.d VALUES ({i}, {i})"));
    }
    assert!(syncer.stop().success());
    for i in 6..=8 {
        src.sql(&format!("INSERT INTO src_db.d VALUES ({i}, {i})"));
    }
    syncer.restart();
    wait_table_synced(&syncer, "d", &src, &dest, "d");

    // kill -9 while the target holds each step of a transaction; the held call is then
    // released (so e.g. a commit lands after the crash) or dropped. A duplicate-key table
    // shows any binlog applied twice.
    for (step, release) in [
        ("beginTxn", true),
        ("ingest_binlog", false),
        ("ingest_binlog", true),
        ("commitTxn", true),
        ("commitTxn", false),
    ] {
        let rule = dest.add_fault(json!({"rpc": step, "action": "hang", "max_millis": 60000}));
        src.sql(&format!("INSERT INTO src_db.d VALUES (100, {})", rule));
        dest.wait_fault_held(rule, step);
        syncer.kill();
        if release {
            dest.release_fault(rule);
        }
        dest.clear_faults();
        syncer.restart();
        wait_table_synced(&syncer, "d", &src, &dest, "d");
    }
    assert_eq!(
        syncer.job_progress("d")["full_sync_start_at"],
        full_sync_at,
        "no needless full sync"
    );
}

#[test]
fn kill_in_the_middle_of_a_pipelined_burst_loses_nothing_and_applies_nothing_twice() {
    let (src, dest, mut syncer, _dir) =
        synced_job("d", "d", &id_v_table("d", "DUPLICATE KEY(id)", 3), &[]).into_parts();
    let full_sync_at = syncer.job_progress("d")["full_sync_start_at"].clone();
    // The held commit is let through after the crash (it lands with nobody to write the
    // cursor), or dropped. A duplicate-key table shows any binlog applied twice.
    for (round, release) in [(0, true), (1, false)] {
        // Written while the job is paused, the burst is replayed as one pipelined run.
        syncer.pause("d");
        let burst: String = (1..=120)
            .map(|i| format!("INSERT INTO src_db.d VALUES ({}, {i});", round * 1000 + i))
            .collect();
        src.sql(&burst);
        let begins =
            dest.add_fault(json!({"rpc": "beginTxn", "action": "delay", "millis": 0, "times": 0}));
        let hold = dest.add_fault(json!({"rpc": "commitTxn", "action": "hang", "skip": 40,
            "times": 1, "max_millis": 60000}));
        syncer.resume("d");
        dest.wait_fault_held(hold, "the 41st commit of the burst");
        // Later transactions are opened (and ingest) while that commit is held.
        wait_until("transactions opened past the held commit", CATCH_UP, || {
            let opened = dest.fault_state(begins)["hits"].as_u64().unwrap_or(0);
            if opened > 41 {
                Ok(())
            } else {
                Err(format!("{opened} beginTxn calls"))
            }
        });
        let saved = syncer.job_progress("d")["prev_commit_seq"]
            .as_i64()
            .unwrap();
        syncer.kill();
        if release {
            dest.release_fault(hold);
        }
        dest.clear_faults();
        syncer.restart();
        wait_table_synced(&syncer, "d", &src, &dest, "d");
        assert!(
            syncer.job_progress("d")["prev_commit_seq"]
                .as_i64()
                .unwrap()
                > saved,
            "the burst was replayed past the crash"
        );
    }
    assert_eq!(
        dest.sql("SELECT count(*), count(DISTINCT id) FROM dest_db.d"),
        "240\t240\n"
    );
    assert_eq!(
        syncer.job_progress("d")["full_sync_start_at"],
        full_sync_at,
        "no full sync: the crash was recovered by the labels"
    );
}

#[test]
fn kill_during_full_sync_steps() {
    let (src, dest, mut syncer, _dir) =
        Replication::start(&id_v_table("t", "UNIQUE KEY(id)", 2)).into_parts();
    src.sql("INSERT INTO src_db.t VALUES (1, 1), (2, 2)");
    // Hold each full-sync step in turn, crash the syncer there, and let it resume.
    let holds = [
        (
            &src,
            json!({"sql": "BACKUP SNAPSHOT", "action": "hang", "max_millis": 60000}),
        ),
        (
            &src,
            json!({"rpc": "getSnapshot", "action": "hang", "max_millis": 60000}),
        ),
        (
            &dest,
            json!({"rpc": "restoreSnapshot", "action": "hang", "max_millis": 60000}),
        ),
    ];
    let mut created = false;
    for (cluster, rule) in holds {
        let id = cluster.add_fault(rule.clone());
        if created {
            syncer.force_fullsync("t");
        } else {
            syncer.create_ccr(&job_body("t", &src, "t", &dest, "t"));
            created = true;
        }
        cluster.wait_fault_held(id, &rule.to_string());
        syncer.kill();
        cluster.release_fault(id);
        cluster.clear_faults();
        src.sql(&format!("INSERT INTO src_db.t VALUES ({id}0, {id})"));
        syncer.restart();
        wait_table_synced(&syncer, "t", &src, &dest, "t");
    }
}

#[test]
fn failures_are_retried_and_reported() {
    let (src, dest, syncer, _dir) =
        synced_job("t", "t", &id_v_table("t", "DUPLICATE KEY(id)", 2), &[]).into_parts();
    // Every call a replicated transaction makes, then every call a full sync makes. (Both
    // clusters' metadata is cached between transactions, so getMeta is not per-call.)
    let incremental = [
        (&src, "getBinlog"),
        (&dest, "beginTxn"),
        (&dest, "ingest_binlog"),
        (&dest, "commitTxn"),
    ];
    let full_sync = [
        (&src, "getSnapshot"),
        (&src, "getBackendMeta"),
        (&src, "getMasterToken"),
        (&dest, "restoreSnapshot"),
    ];
    let mut n = 0;
    for (full, (cluster, rpc)) in incremental
        .iter()
        .map(|c| (false, c))
        .chain(full_sync.iter().map(|c| (true, c)))
    {
        n += 1;
        let message = format!("injected {rpc} failure");
        cluster.add_fault(
            json!({"rpc": rpc, "action": "fail", "status_code": 6, "message": message, "times": 0}),
        );
        src.sql(&format!("INSERT INTO src_db.t VALUES ({n}, {n})"));
        if full {
            syncer.force_fullsync("t");
        }
        wait_until(
            &format!("the {rpc} failure in job_status"),
            CATCH_UP,
            || {
                let status = syncer.job_status("t");
                match status["last_error"].as_str() {
                    Some(error) if error.contains(&message) => Ok(()),
                    _ => Err(status.to_string()),
                }
            },
        );
        cluster.clear_faults();
        wait_table_synced(&syncer, "t", &src, &dest, "t");
        wait_job_status(&syncer, "t", "the error to clear", |status| {
            status.get("last_error").is_none() && status["progress_state"] == "TableIncrementalSync"
        });
    }
    assert!(syncer
        .metrics()
        .contains("ccr_syncer_job_errors_total{job=\"t\"}"));
}

#[test]
fn skip_error_skips_a_failing_binlog_and_says_so() {
    let (src, dest, syncer, _dir) =
        synced_job("t", "t", &id_v_table("t", "DUPLICATE KEY(id)", 1), &[]).into_parts();
    dest.add_fault(json!({"rpc": "ingest_binlog", "action": "fail", "status_code": 6, "message": "bad rowset", "times": 0}));
    src.sql("INSERT INTO src_db.t VALUES (1, 1)");
    wait_job_status(&syncer, "t", "the failure to show", |status| {
        status["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("bad rowset"))
    });
    syncer.update_job("t", true);
    wait_job_status(&syncer, "t", "the binlog to be skipped", |status| {
        status["skipped_binlogs"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
    });
    dest.clear_faults();
    src.sql("INSERT INTO src_db.t VALUES (2, 2)");
    wait_until("the next binlog to arrive", CATCH_UP, || {
        let got = dest.rows("dest_db.t");
        if got == "2\t2\n" {
            Ok(())
        } else {
            Err(got)
        }
    });
}

#[test]
fn force_fullsync_survives_a_restart_and_source_loss_is_reported() {
    let (src, dest, mut syncer, _dir) = synced_job(
        "t",
        "t",
        &format!(
            "{}; INSERT INTO src_db.t VALUES (1, 1)",
            id_v_table("t", "UNIQUE KEY(id)", 1)
        ),
        &[],
    )
    .into_parts();
    let first = syncer.job_progress("t")["full_sync_start_at"]
        .as_i64()
        .unwrap();

    syncer.pause("t");
    syncer.force_fullsync("t");
    assert!(syncer.stop().success());
    syncer.restart();
    std::thread::sleep(Duration::from_millis(1100));
    syncer.resume("t");
    wait_until("a second full sync", CATCH_UP, || {
        let p = syncer.job_progress("t");
        if p["full_sync_start_at"].as_i64().unwrap() > first && p["sync_state"] == 501 {
            Ok(())
        } else {
            Err(p.to_string())
        }
    });
    src.sql("INSERT INTO src_db.t VALUES (2, 2)");
    wait_table_synced(&syncer, "t", &src, &dest, "t");

    // The source table goes away: the job reports it and the service stays up.
    src.sql("DROP TABLE src_db.t");
    wait_job_status(&syncer, "t", "the drop to be reported", |status| {
        status["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("dropped"))
    });
    assert_eq!(syncer.list_jobs(), ["t"]);
}

#[test]
fn schema_changes_and_replaced_partitions_resync_the_table() {
    let (src, dest, syncer, _dir) = Replication::start(&format!(
        "CREATE TABLE src_db.t (id INT, day INT, v VARCHAR(10)) UNIQUE KEY(id, day)
         PARTITION BY RANGE(day) (PARTITION p1 VALUES LESS THAN (10), PARTITION p2 VALUES LESS THAN (20))
         DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS}"
    )).into_parts();
    src.sql("INSERT INTO src_db.t VALUES (1, 1, 'a'), (2, 12, 'b')");
    syncer.create_ccr(&job_body("t", &src, "t", &dest, "t_copy"));
    wait_synced(&syncer, "t", &src, &dest, &[("src_db.t", "dest_db.t_copy")]);

    // Light schema changes are replayed as SQL.
    src.sql(
        "ALTER TABLE src_db.t ADD COLUMN note VARCHAR(20) DEFAULT 'n';
         ALTER TABLE src_db.t RENAME COLUMN v val;
         ALTER TABLE src_db.t MODIFY COMMENT 'orders by day';
         ALTER TABLE src_db.t MODIFY COLUMN note COMMENT 'free text';
         INSERT INTO src_db.t VALUES (3, 3, 'c', 'x');",
    );
    wait_synced(&syncer, "t", &src, &dest, &[("src_db.t", "dest_db.t_copy")]);
    let columns = |cluster: &TestCluster, table: &str| {
        cluster.sql(&format!("SHOW FULL COLUMNS FROM {table}"))
    };
    assert_eq!(columns(&src, "src_db.t"), columns(&dest, "dest_db.t_copy"));
    assert!(dest
        .sql("SHOW CREATE TABLE dest_db.t_copy")
        .contains("orders by day"));

    // A heavy schema change (a key column's type) is replicated by a partial sync of the
    // table, restored under an alias and swapped in.
    src.sql("ALTER TABLE src_db.t MODIFY COLUMN day BIGINT KEY; INSERT INTO src_db.t VALUES (4, 14, 'd', 'y');");
    wait_synced(&syncer, "t", &src, &dest, &[("src_db.t", "dest_db.t_copy")]);
    assert_eq!(columns(&src, "src_db.t"), columns(&dest, "dest_db.t_copy"));
    wait_job_status(&syncer, "t", "back to incremental", |status| {
        status["progress_state"] == "TableIncrementalSync"
    });

    // INSERT OVERWRITE replaces partitions (strict range): a partial sync of them.
    src.sql("INSERT OVERWRITE TABLE src_db.t PARTITION (p2) VALUES (9, 19, 'z', 'o')");
    wait_synced(&syncer, "t", &src, &dest, &[("src_db.t", "dest_db.t_copy")]);
    src.sql("INSERT INTO src_db.t VALUES (5, 5, 'e', 'q')");
    wait_synced(&syncer, "t", &src, &dest, &[("src_db.t", "dest_db.t_copy")]);
    let tables = dest.sql("SHOW TABLES FROM dest_db");
    assert_eq!(tables, "t_copy\n", "no alias left behind");
}

#[test]
fn purged_binlogs_bring_a_full_sync_and_a_lost_target_table_a_new_snapshot() {
    let (src, dest, syncer, _dir) = synced_job(
        "t",
        "t",
        &format!(
            "{}; INSERT INTO src_db.t VALUES (1, 1)",
            id_v_table("t", "DUPLICATE KEY(id)", 2)
        ),
        &[],
    )
    .into_parts();
    let full_syncs = || {
        syncer.job_progress("t")["full_sync_start_at"]
            .as_i64()
            .unwrap()
    };
    let first = full_syncs();

    // Binlogs the job still needs are purged while it is paused: TOO_OLD → full sync.
    syncer.pause("t");
    // The database's binlog settings govern GC when the database has binlog on.
    src.sql("ALTER DATABASE src_db SET PROPERTIES (\"binlog.ttl_seconds\" = \"1\"); INSERT INTO src_db.t VALUES (2, 2), (3, 3);");
    std::thread::sleep(Duration::from_millis(2100));
    src.gc_binlogs();
    syncer.resume("t");
    wait_until("a full sync after purged binlogs", CATCH_UP, || {
        let at = full_syncs();
        if at > first {
            Ok(())
        } else {
            Err(format!("full_sync_start_at {at}"))
        }
    });
    wait_table_synced(&syncer, "t", &src, &dest, "t");
    let second = full_syncs();

    assert!(second > first);

    // The target table disappears: the next transaction finds no target tablets, and a
    // snapshot of the table (a partial sync: the job's one table) brings it back.
    src.sql("ALTER DATABASE src_db SET PROPERTIES (\"binlog.ttl_seconds\" = \"86400\")");
    std::thread::sleep(Duration::from_millis(1100));
    dest.sql("DROP TABLE dest_db.t FORCE");
    src.sql("INSERT INTO src_db.t VALUES (4, 4)");
    wait_table_synced(&syncer, "t", &src, &dest, "t");
    assert_eq!(dest.rows("dest_db.t"), "1\t1\n2\t2\n3\t3\n4\t4\n");
}

#[test]
fn an_unreachable_target_is_waited_out() {
    let (src, dest, syncer, _dir) =
        synced_job("t", "t", &id_v_table("t", "DUPLICATE KEY(id)", 2), &[]).into_parts();
    src.sql("INSERT INTO src_db.t VALUES (1, 1)");
    // The target FE goes away for 3 s while the insert is replicated.
    dest.restart_fe(Duration::from_secs(3));
    src.sql("INSERT INTO src_db.t VALUES (2, 2)");
    wait_table_synced(&syncer, "t", &src, &dest, "t");
    assert_eq!(dest.rows("dest_db.t"), "1\t1\n2\t2\n");
    assert_eq!(syncer.list_jobs(), ["t"], "the service stayed up");
}

#[test]
fn no_route_waits_for_a_running_step() {
    let (src, dest, syncer, _dir) =
        synced_job("t", "t", &id_v_table("t", "DUPLICATE KEY(id)", 1), &[]).into_parts();
    // The job's step is stuck inside commitTxn on the target.
    let rule = dest.add_fault(json!({"rpc": "commitTxn", "action": "hang", "max_millis": 120000}));
    src.sql("INSERT INTO src_db.t VALUES (1, 1)");
    dest.wait_fault_held(rule, "commitTxn");
    // Every route answers at once (curl gives each 5 s; the step is held for minutes).
    for route in [
        "/job_status",
        "/get_lag",
        "/job_progress",
        "/job_detail",
        "/pause",
        "/resume",
        "/force_fullsync",
    ] {
        let started = std::time::Instant::now();
        let (code, body) =
            support::curl_post_with_timeout(&syncer.url(route), r#"{"name":"t"}"#, 5)
                .unwrap_or_else(|| panic!("{route} did not answer while the step was held"));
        assert_eq!(code, 200, "{route}: {body}");
        assert!(body.contains(r#""success":true"#), "{route}: {body}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    syncer.update_job("t", false);
    assert_eq!(syncer.job_status("t")["state"], "running");
    dest.release_fault(rule);
    dest.clear_faults();
    wait_table_synced(&syncer, "t", &src, &dest, "t");
}

/// Waits until job "t" is caught up and `dest_db.t` equals `src_db.t` in rows and
/// partitions.
fn wait_t_converged(syncer: &Syncer, src: &TestCluster, dest: &TestCluster) {
    wait_converged(syncer, "t", || {
        let want = (src.rows("src_db.t"), src.partition_names("src_db.t"));
        let got_rows = dest.try_rows("dest_db.t");
        let got_partitions = if got_rows.starts_with("<failed") {
            String::new()
        } else {
            dest.partition_names("dest_db.t")
        };
        let got = (got_rows, got_partitions);
        if want == got {
            Ok(())
        } else {
            Err(format!("source {want:?}\ntarget {got:?}"))
        }
    });
}

fn dated_table() -> String {
    format!(
        "CREATE TABLE src_db.t (id INT, day DATE, v INT) DUPLICATE KEY(id)
         PARTITION BY RANGE(day) (PARTITION p1 VALUES LESS THAN (\"2024-02-01\"),
                                  PARTITION p2 VALUES LESS THAN (\"2024-03-01\"),
                                  PARTITION p3 VALUES LESS THAN (\"2024-04-01\"))
         DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS}"
    )
}

/// A table job "t" over [`dated_table`] holding `rows`, synced.
fn dated_job(rows: &str) -> (TestCluster, TestCluster, Syncer, tempfile::TempDir) {
    let (src, dest, syncer, dir) = Replication::start(&dated_table()).into_parts();
    src.sql(rows);
    syncer.create_ccr(&job_body("t", &src, "t", &dest, "t"));
    wait_t_converged(&syncer, &src, &dest);
    (src, dest, syncer, dir)
}

#[test]
fn replaced_partition_then_dropped_or_renamed_in_a_table_job() {
    // Class C for a table job.
    let (src, dest, syncer, _dir) = dated_job("INSERT INTO src_db.t VALUES (1, '2024-01-05', 1), (2, '2024-02-05', 2), (3, '2024-03-05', 3)");
    back_to_back(
        &syncer,
        "t",
        &src,
        "INSERT OVERWRITE TABLE src_db.t PARTITION (p1) VALUES (7, '2024-01-07', 7);
         ALTER TABLE src_db.t DROP PARTITION p1;",
    );
    wait_t_converged(&syncer, &src, &dest);
    back_to_back(
        &syncer,
        "t",
        &src,
        "INSERT OVERWRITE TABLE src_db.t PARTITION (p2) VALUES (8, '2024-02-08', 8);
         ALTER TABLE src_db.t RENAME PARTITION p2 px;
         INSERT INTO src_db.t VALUES (9, '2024-02-09', 9);",
    );
    wait_t_converged(&syncer, &src, &dest);
    assert_eq!(dest.partition_names("dest_db.t"), "px,p3");
}

#[test]
fn non_strict_replace_with_temporary_names_leaves_exactly_the_source_partitions() {
    // Class H: p2 replaced by tp over another range, keeping tp's name.
    let (src, dest, syncer, _dir) =
        dated_job("INSERT INTO src_db.t VALUES (1, '2024-01-05', 1), (2, '2024-02-05', 2)");
    back_to_back(
        &syncer,
        "t",
        &src,
        "ALTER TABLE src_db.t ADD TEMPORARY PARTITION tp VALUES [(\"2024-02-01\"), (\"2024-03-01\"));
         INSERT INTO src_db.t TEMPORARY PARTITION (tp) VALUES (5, '2024-02-15', 5);
         ALTER TABLE src_db.t REPLACE PARTITION (p2) WITH TEMPORARY PARTITION (tp)
           PROPERTIES (\"strict_range\" = \"false\", \"use_temp_partition_name\" = \"true\");
         INSERT INTO src_db.t VALUES (6, '2024-03-06', 6);",
    );
    wait_t_converged(&syncer, &src, &dest);
    assert_eq!(dest.partition_names("dest_db.t"), "p1,tp,p3");
}

#[test]
fn a_full_sync_into_the_existing_table_leaves_exactly_the_source_partitions() {
    // Found by the random workload (table seed 203): a full sync (here forced; there, a
    // rollup) restored into the existing target table kept a partition the source had
    // renamed and replaced since, overlapping the new one.
    let (src, dest, syncer, _dir) =
        dated_job("INSERT INTO src_db.t VALUES (1, '2024-01-05', 1), (3, '2024-03-05', 3)");
    syncer.pause("t");
    wait_job_status(&syncer, "t", "the job to pause", |s| s["state"] == "paused");
    src.sql(
        "ALTER TABLE src_db.t DROP PARTITION p3;
         ALTER TABLE src_db.t ADD PARTITION p5 VALUES [(\"2024-03-01\"), (\"2024-03-15\"));
         INSERT INTO src_db.t VALUES (5, '2024-03-06', 5);",
    );
    syncer.force_fullsync("t");
    syncer.resume("t");
    wait_t_converged(&syncer, &src, &dest);
    assert_eq!(dest.partition_names("dest_db.t"), "p1,p2,p5");
}

#[test]
fn a_job_that_cannot_go_on_needs_an_operator_and_says_why() {
    let (src, dest, syncer, _dir) = synced_job(
        "t",
        "t",
        &id_v_table("t", "DUPLICATE KEY(id)", 1),
        &["--operator_after_failures", "3"],
    )
    .into_parts();
    assert_eq!(syncer.metric("ccr_syncer_jobs_needing_operator"), "0");

    // A binlog the target keeps refusing: retried with backoff, then loud.
    let rule = dest.add_fault(json!({"rpc": "ingest_binlog", "action": "fail", "status_code": 6, "message": "bad rowset", "times": 0}));
    src.sql("INSERT INTO src_db.t VALUES (1, 1)");
    wait_job_status(&syncer, "t", "the job to need an operator", |status| {
        status["needs_operator"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("bad rowset"))
            && status["needs_operator"]["hint"]
                .as_str()
                .is_some_and(|h| h.contains("skip_error") && h.contains("/force_fullsync"))
    });
    assert!(
        syncer.job_status("t")["consecutive_failures"]
            .as_u64()
            .unwrap()
            >= 3
    );
    assert_eq!(syncer.metric("ccr_syncer_jobs_needing_operator"), "1");
    let log = syncer.log();
    assert_eq!(
        log.matches("needs an operator").count(),
        1,
        "one ERROR line per episode:\n{log}"
    );
    // Repaired: /resume retries at once (else within a minute), and the flag clears.
    dest.clear_faults();
    let _ = rule;
    syncer.resume("t");
    wait_table_synced(&syncer, "t", &src, &dest, "t");
    wait_job_status(&syncer, "t", "the flag to clear", |status| {
        status.get("needs_operator").is_none() && status.get("last_error").is_none()
    });
    assert_eq!(syncer.metric("ccr_syncer_jobs_needing_operator"), "0");

    // The source table is dropped: nothing to retry, an operator must decide at once.
    src.sql("DROP TABLE src_db.t");
    wait_job_status(
        &syncer,
        "t",
        "the dropped source to need an operator",
        |status| {
            status["needs_operator"]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("dropped"))
                && status["needs_operator"]["hint"]
                    .as_str()
                    .is_some_and(|h| h.contains("/delete"))
        },
    );
}

#[test]
fn a_restore_cancelled_again_and_again_backs_off_and_needs_an_operator() {
    // Class F's second fault: a restore the cluster cancels on every try was restarted
    // every ~2 s forever. Here the source BE is down while the target restores from it.
    let (src, dest, syncer, _dir) = Replication::start_with(
        &id_v_table("t", "DUPLICATE KEY(id)", 1),
        &["--operator_after_failures", "3"],
    )
    .into_parts();
    src.sql("INSERT INTO src_db.t VALUES (1, 1)");
    let hold = dest.add_fault(json!({"rpc": "restoreSnapshot", "action": "hang", "times": 1}));
    syncer.create_ccr(&job_body("t", &src, "t", &dest, "t"));
    dest.wait_fault_held(hold, "the restore");
    let restart = src.restart_be_in_background(0, Duration::from_secs(20));
    wait_until(
        "the source BE to go down",
        CATCH_UP,
        || match std::net::TcpStream::connect((
            "127.0.0.1",
            src.doris().topology().backends[0].http_port,
        )) {
            Err(_) => Ok(()),
            Ok(_) => Err("still up".into()),
        },
    );
    dest.release_fault(hold);
    wait_job_status(
        &syncer,
        "t",
        "the cancelled restores to need an operator",
        |status| {
            status["needs_operator"]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("restore was cancelled") && r.contains("(attempt 3)"))
        },
    );
    src.wait_restarted(restart);
    syncer.resume("t");
    wait_table_synced(&syncer, "t", &src, &dest, "t");
    wait_job_status(&syncer, "t", "the flag to clear", |status| {
        status.get("needs_operator").is_none()
    });
}

#[test]
fn a_drop_partition_replayed_after_a_crash_counts_as_done() {
    // Found by the random workload (table seed 9508 with kill -9): the syncer dropped the
    // partition, was killed before recording it, and the replay failed forever with Doris's
    // `Error in list of partitions to p1`. Dropping it on the target first plays that crash.
    let (src, dest, syncer, _dir) = dated_job("INSERT INTO src_db.t VALUES (1, '2024-01-05', 1)");
    syncer.pause("t");
    wait_job_status(&syncer, "t", "the job to pause", |s| s["state"] == "paused");
    src.sql(
        "ALTER TABLE src_db.t DROP PARTITION p1 FORCE;
         INSERT INTO src_db.t VALUES (2, '2024-02-05', 2);",
    );
    dest.sql("ALTER TABLE dest_db.t DROP PARTITION p1 FORCE");
    syncer.resume("t");
    wait_t_converged(&syncer, &src, &dest);
}
