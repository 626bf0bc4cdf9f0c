//! High availability: two syncers share one MariaDB metadata database; when the owner of a
//! job dies, the other adopts the job and replication goes on from the stored progress.

use crate::support;

use std::time::Duration;

use serde_json::json;
use support::{
    mysql_syncer, mysql_syncer_with, wait_synced, wait_until, MariaDbDatabase, TestCluster,
};

#[test]
fn a_dead_syncers_job_is_taken_over_and_keeps_replicating() {
    let src = TestCluster::start();
    src.sql(
        "CREATE DATABASE src_db PROPERTIES (\"binlog.enable\" = \"true\");
         CREATE TABLE src_db.t (id INT, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2
           PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\");
         INSERT INTO src_db.t VALUES (1, 1);",
    );
    let dest = TestCluster::start();
    let database = MariaDbDatabase::new();
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let mut a = mysql_syncer(&dir_a, &database.0);
    let b = mysql_syncer(&dir_b, &database.0);
    let body =
        json!({"name": "ha", "src": src.spec("src_db", "t"), "dest": dest.spec("dest_db", "t")});
    a.create_ccr(&body);
    let dest = &dest;
    let synced = |want: &'static str| {
        move || {
            let (ok, got) = dest.try_sql("SELECT * FROM dest_db.t ORDER BY id");
            if ok && got == want {
                Ok(())
            } else {
                Err(got)
            }
        }
    };
    wait_until(
        "the first row on the target",
        Duration::from_secs(60),
        synced("1\t1\n"),
    );

    // The owner dies without a word; its heartbeat stops.
    a.kill();
    src.sql("INSERT INTO src_db.t VALUES (2, 2)");
    // Dead after 8 s without a heartbeat, noticed within the next 2 s round.
    wait_until(
        "the job to move to the surviving syncer",
        Duration::from_secs(60),
        || {
            // Until then b redirects (303) to the dead owner.
            let (code, body) = b.post_raw("/job_status", r#"{"name":"ha"}"#);
            if code == 200 && body.contains(r#""success":true"#) {
                Ok(())
            } else {
                Err(format!("{code} {body}"))
            }
        },
    );
    wait_until(
        "replication to go on",
        Duration::from_secs(60),
        synced("1\t1\n2\t2\n"),
    );

    // The old owner comes back: the job stays where it is, and calls to the old owner are
    // redirected to the new one.
    a.restart();
    src.sql("INSERT INTO src_db.t VALUES (3, 3)");
    wait_until(
        "replication after the restart",
        Duration::from_secs(60),
        synced("1\t1\n2\t2\n3\t3\n"),
    );
    assert_eq!(
        support::curl_redirect(&a.url("/job_status"), r#"{"name":"ha"}"#),
        format!("303 http://127.0.0.1:{}/job_status", b.port)
    );
}

/// Heartbeat every second, dead after four: the lease of a syncer lasts three seconds.
const FAST_HA: [&str; 4] = ["--heartbeat_interval", "1s", "--dead_after", "4s"];

#[test]
fn a_frozen_owner_that_wakes_after_a_takeover_never_writes_to_the_target_again() {
    let src = TestCluster::start();
    src.sql(
        "CREATE DATABASE src_db PROPERTIES (\"binlog.enable\" = \"true\");
         CREATE TABLE src_db.t (id INT, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2
           PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\");
         INSERT INTO src_db.t VALUES (1, 1);",
    );
    let dest = TestCluster::start();
    let database = MariaDbDatabase::new();
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = mysql_syncer_with(&dir_a, &database.0, &FAST_HA);
    let b = mysql_syncer_with(&dir_b, &database.0, &FAST_HA);
    a.create_ccr(
        &json!({"name": "frozen", "src": src.spec("src_db", "t"), "dest": dest.spec("dest_db", "t")}),
    );
    let tables = [("src_db.t", "dest_db.t")];
    wait_synced(&a, "frozen", &src, &dest, &tables);

    // Loads arrive back to back and the owner freezes while it replays them: it may stop
    // anywhere, between a transaction's ingest and its commit too.
    let loads = |from: i32| {
        (from..from + 20)
            .map(|i| format!("INSERT INTO src_db.t VALUES ({i}, {i});"))
            .collect::<String>()
    };
    src.sql(&loads(100));
    a.freeze();
    src.sql(&loads(200));
    wait_until(
        "the surviving syncer to take the job",
        Duration::from_secs(60),
        || {
            let (code, body) = b.post_raw("/job_status", r#"{"name":"frozen"}"#);
            if code == 200 && body.contains(r#""success":true"#) {
                Ok(())
            } else {
                Err(format!("{code} {body}"))
            }
        },
    );
    wait_synced(&b, "frozen", &src, &dest, &tables);

    // The frozen owner wakes with its lease long lapsed: it must drop the job without one
    // more write, while the new owner goes on.
    a.thaw();
    src.sql(&loads(300));
    wait_until(
        "the woken syncer to let the job go",
        Duration::from_secs(60),
        || match a.metric("ccr_syncer_jobs").as_str() {
            "0" => Ok(()),
            other => Err(format!("it still runs {other} job(s)")),
        },
    );
    src.sql(&loads(400));
    // Equal rows on a DUPLICATE KEY table: every load is there exactly once.
    wait_synced(&b, "frozen", &src, &dest, &tables);
    assert_eq!(
        dest.sql("SELECT COUNT(*) FROM dest_db.t"),
        "81\n",
        "one row per load, none twice"
    );
}
